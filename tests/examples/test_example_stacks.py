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
from lambda_blueprints import BlueprintFunction
from lambda_blueprints.testing.lambda_imports import import_in_lambda
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
    assert names == {
        "Alleycat",
        "DatabaseTrigger",
        "DynamicDns",
        "Shop",
        "StreamingAnalytics",
        "SurvivorChat",
    }
    assert {a.stack_name for a in synthesized.assembly.stacks} == names


@pytest.mark.parametrize("pack", [AwsSolutionsChecks, ServerlessChecks])
def test_examples_have_no_unacknowledged_nag_findings(synthesized: Synthesized, pack: type) -> None:
    for stack in synthesized.stacks:
        report = pack().validate_scope(stack)
        assert [v.rule_name for v in report.violations] == [], stack.stack_name


def test_templates_pass_cfn_lint(synthesized: Synthesized) -> None:
    for stack in synthesized.stacks:
        assert cfn_lint_findings(synthesized.outdir / stack.template_file) == [], stack.stack_name


def test_the_library_asset_holds_its_runtime_only(synthesized: Synthesized) -> None:
    library_assets = [
        p for p in synthesized.outdir.glob("asset.*") if (p / "lambda_blueprints").is_dir()
    ]
    assert library_assets, "no asset of the library's handlers was staged"
    for asset in library_assets:
        assert sorted(p.name for p in asset.iterdir()) == ["lambda_blueprints"], asset
        package = asset / "lambda_blueprints"
        assert sorted(p.name for p in package.iterdir()) == ["__init__.py", "runtime"]
        files = [p for p in asset.rglob("*") if p.is_file()]
        assert all(p.suffix == ".py" for p in files), files
        assert (package / "runtime" / "audit_trail" / "handler.py").is_file()


def test_every_function_imports_with_only_its_code_its_layers_and_the_runtime(
    synthesized: Synthesized,
) -> None:
    for stack in synthesized.stacks:
        results = import_in_lambda(synthesized.outdir, stack.artifact_id)
        assert results, stack.stack_name
        assert results == dict.fromkeys(results), stack.stack_name


def test_the_shop_functions_run_your_code_with_its_dependency_and_the_runtime_layer(
    synthesized: Synthesized,
) -> None:
    shop = next(s for s in synthesized.stacks if s.stack_name == "Shop")
    template = synthesized.template(shop)
    functions = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    ]
    assert sorted(f["Handler"] for f in functions) == [
        "order_events.handler",
        "revenue.handler",
        "shipping.handler",
    ]
    layers = [
        k for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::LayerVersion"
    ]
    assert len(layers) == 1
    for function in functions:
        assert {"Ref": layers[0]} in function["Layers"]
    staged = {
        p.name
        for asset in synthesized.outdir.glob("asset.*")
        if (asset / "order_events.py").is_file()
        for p in asset.iterdir()
    }
    assert {"order_events.py", "shop_events.py", "ulid"} <= staged


def test_the_import_check_names_what_lambda_would_not_find(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative cdk.out, as `cdk synth` leaves it
    app = App(context=CDK_CONTEXT, outdir=str(tmp_path / "out"))
    stack = Stack(app, "Imports")
    code = tmp_path / "fn"
    code.mkdir()
    (code / "handler.py").write_text(
        "import hypothesis\n\ndef main(event, context):\n    return 1\n"
    )
    (code / "ok.py").write_text("import boto3, json\n\ndef main(event, context):\n    return 1\n")
    BlueprintFunction(stack, "Broken", code=str(code), handler="handler.main")
    BlueprintFunction(stack, "Fine", code=str(code), handler="ok.main")
    app.synth()
    results = import_in_lambda("out", "Imports")
    assert sorted(results.values(), key=str) == [
        "ModuleNotFoundError: No module named 'hypothesis'",
        None,
    ]


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


def test_dynamic_dns_names_the_instances_of_its_vpc_in_the_zones_of_its_dhcp_domain(
    synthesized: Synthesized,
) -> None:
    (stack,) = [s for s in synthesized.stacks if s.stack_name == "DynamicDns"]
    raw = synthesized.template(stack)
    template = Template.from_json(raw)

    template.resource_count_is("AWS::EC2::VPC", 1)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::FlowLog", 1)
    template.resource_count_is("AWS::Route53::HostedZone", 2)
    template.resource_count_is("AWS::Events::Rule", 1)
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.resource_count_is("AWS::SQS::Queue", 2)
    template.resource_count_is("AWS::CloudWatch::Alarm", 5)
    template.has_resource_properties(
        "AWS::EC2::VPC",
        {"CidrBlock": "10.20.0.0/16", "EnableDnsHostnames": True, "EnableDnsSupport": True},
    )
    template.has_resource_properties(
        "AWS::EC2::DHCPOptions",
        {"DomainName": "corp.internal", "DomainNameServers": ["AmazonProvidedDNS"]},
    )
    vpc = next(k for k, r in raw["Resources"].items() if r["Type"] == "AWS::EC2::VPC")
    dhcp = next(k for k, r in raw["Resources"].items() if r["Type"] == "AWS::EC2::DHCPOptions")
    template.has_resource_properties(
        "AWS::EC2::VPCDHCPOptionsAssociation",
        {"VpcId": {"Ref": vpc}, "DhcpOptionsId": {"Ref": dhcp}},
    )
    zones = {
        r["Properties"]["Name"]: r["Properties"]
        for r in raw["Resources"].values()
        if r["Type"] == "AWS::Route53::HostedZone"
    }
    assert sorted(zones) == ["20.10.in-addr.arpa.", "corp.internal."]
    for zone in zones.values():
        assert [v["VPCId"] for v in zone["VPCs"]] == [{"Ref": vpc}]
    subnets = [r for r in raw["Resources"].values() if r["Type"] == "AWS::EC2::Subnet"]
    assert len(subnets) == 2
    assert not any(s["Properties"].get("MapPublicIpOnLaunch") for s in subnets)
    for output in ("PrivateZoneId", "ReverseZoneId", "DeadLetterQueueUrl", "FailureQueueUrl"):
        template.has_output(output, {})
