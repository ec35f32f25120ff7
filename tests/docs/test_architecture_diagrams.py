"""Architecture diagrams drawn from synthesized templates (``scripts/architecture_diagrams.py``).

Small stacks built in-process with the library's constructs, synthesized with construct path
metadata as ``make docs`` does, are drawn; the tests read the nodes, clusters and edges the
template gives, and the SVG that Graphviz lays out.
"""

from __future__ import annotations

import shutil
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import App, Size, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk.assertions import Template

from lambda_blueprints import (
    FirehoseArchive,
    IotTopicToKinesis,
    KinesisFanOut,
    StreamTrigger,
)
from tests.conftest import CDK_CONTEXT, ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import architecture_diagrams as diagrams

HANDLER = "lambda_blueprints.runtime.audit_trail.handler.lambda_handler"
SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def template_of(build: Callable[[Stack], None]) -> dict[str, Any]:
    app = App(context={**CDK_CONTEXT, "aws:cdk:enable-path-metadata": True})
    stack = Stack(app, "Drawn")
    build(stack)
    return Template.from_stack(stack).to_json()


def by_label(diagram: diagrams.Diagram, label: str, kind: str | None = None) -> str:
    found = [
        n.id
        for n in diagram.nodes.values()
        if n.label == label and (kind is None or n.kind == kind)
    ]
    assert len(found) == 1, (label, [(n.label, n.kind) for n in diagram.nodes.values()])
    return found[0]


def edges(diagram: diagrams.Diagram) -> set[tuple[str, str, str, str]]:
    return {(e.source, e.target, e.label, e.style) for e in diagram.edges}


def _trigger(stack: Stack) -> None:
    table = dynamodb.Table(
        stack,
        "Orders",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    )
    history = dynamodb.Table(
        stack,
        "History",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
    )
    trigger = StreamTrigger(stack, "OnChange", table=table, handler=HANDLER)
    history.grant_write_data(trigger.function)


def _ingest(stack: Stack) -> None:
    race = KinesisFanOut(
        stack, "Race", records_per_second=1_000, average_record_size=Size.bytes(170)
    )
    IotTopicToKinesis(stack, "Ingest", stream=race.stream, topic_filter="bikes/+")
    FirehoseArchive(stack, "Archive", stream=race.stream)


@pytest.fixture(scope="module")
def trigger_template() -> dict[str, Any]:
    return template_of(_trigger)


@pytest.fixture(scope="module")
def ingest_template() -> dict[str, Any]:
    return template_of(_ingest)


def test_graphviz_is_installed() -> None:
    assert shutil.which("dot"), "Graphviz's dot is missing: `make setup` installs graphviz"


def test_a_stream_mapping_is_an_edge_from_the_stream_to_the_function(
    trigger_template: dict[str, Any],
) -> None:
    diagram = diagrams.build(trigger_template)
    table = by_label(diagram, "Orders")
    function = by_label(diagram, "Function", "function")
    queue = by_label(diagram, "DeadLetterQueue")
    drawn = edges(diagram)
    assert any(s == table and t == function and style == "flow" for s, t, _, style in drawn)
    assert any(t == queue and label == "on failure" for _, t, label, _ in drawn), drawn


def test_a_grant_is_a_dotted_edge_from_the_function_to_the_store(
    trigger_template: dict[str, Any],
) -> None:
    diagram = diagrams.build(trigger_template)
    function = by_label(diagram, "Function", "function")
    history = by_label(diagram, "History")
    assert (function, history, "write", "grant") in edges(diagram)
    # The stream read is the mapping's edge, not a second grant edge.
    table = by_label(diagram, "Orders")
    assert not any(
        style == "grant" and {s, t} == {function, table} for s, t, _, style in edges(diagram)
    )


def test_plumbing_is_left_out_and_alarms_are_one_node_per_construct(
    trigger_template: dict[str, Any],
) -> None:
    diagram = diagrams.build(trigger_template)
    kinds = {n.kind for n in diagram.nodes.values()}
    for hidden in ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::Logs::LogGroup"):
        assert not any(hidden == n.kind for n in diagram.nodes.values()), hidden
    assert "role" not in kinds and "policy" not in kinds
    alarm_nodes = [n for n in diagram.nodes.values() if n.kind == "alarms"]
    alarms = [r for r in trigger_template["Resources"].values() if r["Type"] == diagrams.ALARM_TYPE]
    assert len(alarm_nodes) == 1, [n.label for n in alarm_nodes]
    assert alarm_nodes[0].label == f"{len(alarms)} alarms"


def test_nodes_are_grouped_by_construct_path(trigger_template: dict[str, Any]) -> None:
    diagram = diagrams.build(trigger_template)
    function = diagram.nodes[by_label(diagram, "Function", "function")]
    assert function.cluster == ("OnChange",)
    assert diagram.nodes[by_label(diagram, "Orders")].cluster == ()


def test_iot_and_firehose_edges(ingest_template: dict[str, Any]) -> None:
    diagram = diagrams.build(ingest_template)
    rule = next(n.id for n in diagram.nodes.values() if n.kind == "iot-rule")
    stream = by_label(diagram, "Stream")
    delivery = next(n.id for n in diagram.nodes.values() if n.kind == "delivery-stream")
    buckets = [n.id for n in diagram.nodes.values() if n.kind == "bucket"]
    drawn = edges(diagram)
    assert any(s == rule and t == stream for s, t, _, _ in drawn), drawn
    assert any(s == rule and t in buckets and style == "failure" for s, t, _, style in drawn)
    assert any(s == stream and t == delivery for s, t, _, _ in drawn)
    assert any(s == delivery and t in buckets and style == "flow" for s, t, _, style in drawn)


def test_the_svg_stands_alone_and_is_deterministic(trigger_template: dict[str, Any]) -> None:
    svg = diagrams.draw(trigger_template, title="Drawn")
    assert svg == diagrams.draw(trigger_template, title="Drawn")
    # Our own output, not untrusted input.
    root = ET.fromstring(svg.split("?>", 1)[-1] if svg.startswith("<?xml") else svg)  # noqa: S314
    assert root.tag == f"{SVG}svg"
    images = list(root.iter(f"{SVG}image"))
    assert images
    for image in images:
        href = image.get(XLINK_HREF) or image.get("href") or ""
        assert href.startswith("data:image/png;base64,"), href[:80]
    assert str(ROOT) not in svg and "site-packages" not in svg
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert any(t and t.startswith("cluster") for t in titles), "no construct cluster drawn"


def test_a_template_without_path_metadata_is_refused() -> None:
    app = App(context=CDK_CONTEXT)
    stack = Stack(app, "NoPaths")
    kinesis.Stream(stack, "S")
    template = Template.from_stack(stack).to_json()
    for resource in template["Resources"].values():
        resource.pop("Metadata", None)
    with pytest.raises(ValueError, match="aws:cdk:path"):
        diagrams.build(template)


def test_every_function_of_the_example_stacks_is_drawn() -> None:
    from examples import add_example_stacks

    app = App(context={**CDK_CONTEXT, "aws:cdk:enable-path-metadata": True})
    for stack in add_example_stacks(app):
        template = Template.from_stack(stack).to_json()
        diagram = diagrams.build(template)
        functions = {
            logical_id
            for logical_id, r in template["Resources"].items()
            if r["Type"] == "AWS::Lambda::Function"
            and "/Custom::" not in r.get("Metadata", {}).get("aws:cdk:path", "")
            and "Provider" not in r.get("Metadata", {}).get("aws:cdk:path", "")
        }
        drawn = {n.id for n in diagram.nodes.values() if n.kind == "function"}
        assert functions and functions <= drawn, (stack.stack_name, functions - drawn)
        assert len(diagram.edges) >= len(functions), stack.stack_name
