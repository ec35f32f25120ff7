"""Every example stack synthesizes with the nag packs on, lints clean, ships only runtime code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from examples import add_example_stacks
from tests.conftest import CDK_CONTEXT, cfn_lint_findings


class Synthesized:
    def __init__(self, outdir: Path) -> None:
        self.app = App(context=CDK_CONTEXT, outdir=str(outdir))
        self.stacks = add_example_stacks(self.app)
        # As in app.py: any unacknowledged finding makes synth raise.
        Validations.of(self.app).add_plugins(
            AwsSolutionsChecks(self.app), ServerlessChecks(self.app)
        )
        self.assembly = self.app.synth()
        self.outdir = outdir

    def template(self, stack: Stack) -> dict[str, Any]:
        return json.loads((self.outdir / stack.template_file).read_text())


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return Synthesized(tmp_path_factory.mktemp("cdk.out"))


def test_every_example_stack_is_synthesized(synthesized: Synthesized) -> None:
    names = {s.stack_name for s in synthesized.stacks}
    assert names == {"Alleycat", "DatabaseTrigger", "StreamingAnalytics"}
    assert {a.stack_name for a in synthesized.assembly.stacks} == names


@pytest.mark.parametrize("pack", [AwsSolutionsChecks, ServerlessChecks])
def test_examples_have_no_unacknowledged_nag_findings(synthesized: Synthesized, pack: type) -> None:
    for stack in synthesized.stacks:
        report = pack().validate_scope(stack)
        assert [v.rule_name for v in report.violations] == [], stack.stack_name


def test_templates_pass_cfn_lint(synthesized: Synthesized) -> None:
    for stack in synthesized.stacks:
        assert cfn_lint_findings(synthesized.outdir / stack.template_file) == [], stack.stack_name


def test_function_asset_holds_runtime_code_only(synthesized: Synthesized) -> None:
    asset_dirs = [p for p in synthesized.outdir.glob("asset.*") if p.is_dir()]
    assert asset_dirs, "no Lambda asset was staged"
    for asset in asset_dirs:
        top = sorted(p.name for p in asset.iterdir())
        assert top == ["runtime"], asset
        files = [p for p in asset.rglob("*") if p.is_file()]
        assert files and all(p.suffix == ".py" for p in files), files
        assert (asset / "runtime" / "audit_trail" / "handler.py").is_file()


def test_database_trigger_wires_the_users_table_to_its_audit_trail(
    synthesized: Synthesized,
) -> None:
    (stack,) = [s for s in synthesized.stacks if s.stack_name == "DatabaseTrigger"]
    template = Template.from_json(synthesized.template(stack))

    template.resource_count_is("AWS::DynamoDB::Table", 2)
    template.resource_count_is("AWS::Lambda::Function", 1)
    template.resource_count_is("AWS::Lambda::EventSourceMapping", 1)
    template.resource_count_is("AWS::CloudWatch::Alarm", 4)
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"}],
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        },
    )
    template.has_output("FailureQueueUrl", {})
    template.has_output("AuditTableName", {})
