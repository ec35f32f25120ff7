"""The README's StreamTrigger example runs as written."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_cdk import Stack
from aws_cdk.assertions import Match, Template

from tests.conftest import ROOT


def test_stream_trigger_example_builds_a_mapping_on_the_table() -> None:
    readme = (ROOT / "README.md").read_text()
    (example,) = [
        block
        for block in re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
        if "class OrdersStack" in block
    ]
    namespace: dict[str, Any] = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 - our own README

    (stack,) = [c for c in namespace["app"].node.children if isinstance(c, Stack)]
    (mapping,) = (
        Template.from_stack(stack)
        .find_resources(
            "AWS::Lambda::EventSourceMapping",
            {
                "Properties": {
                    "EventSourceArn": {
                        "Fn::GetAtt": [Match.string_like_regexp("Orders"), "StreamArn"]
                    },
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                }
            },
        )
        .values()
    )
    assert "order-events" in json.dumps(mapping["Properties"]["FunctionName"])


def test_local_cloud_example_runs_as_written() -> None:
    readme = (ROOT / "README.md").read_text()
    (example,) = [
        block
        for block in re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
        if "def test_changes_are_audited" in block
    ]
    body = example.split("def test_changes_are_audited():\n", 1)[1]
    assert len([line for line in body.splitlines() if line.strip()]) < 10
    namespace: dict[str, Any] = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 - our own README

    namespace["test_changes_are_audited"]()
