"""Architecture diagrams drawn from synthesized templates (``scripts/architecture_diagrams.py``).

Small stacks are built in-process with the library's constructs and synthesized with
construct path metadata, as the docs build does; each is drawn once, and the tests read
the SVG Graphviz laid out: its nodes (``<g class="node">``, titled by logical id), its
clusters (titled ``cluster_<construct path>``) and its edges (titled ``<source>-><target>``,
with their label and style class).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Size, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3_notifications
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from aws_cdk.aws_lambda_event_sources import SqsEventSource
from constructs import Construct

from lambda_blueprints import FirehoseArchive, IotTopicToKinesis, KinesisFanOut, StreamTrigger
from tests.conftest import CDK_CONTEXT, ROOT, inline_function

sys.path.insert(0, str(ROOT / "scripts"))
import architecture_diagrams

HANDLER = "lambda_blueprints.runtime.audit_trail.handler.lambda_handler"
PROCESSOR = "lambda_blueprints.runtime.alleycat.history.handler.lambda_handler"
NS = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}href"


@pytest.fixture(scope="module", autouse=True)
def _graphviz() -> None:
    # The docs need the diagrams: a missing Graphviz fails every test here, never skips.
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's `dot` is not installed: `make setup` installs graphviz")


@dataclass(frozen=True)
class DrawnEdge:
    source: str
    target: str
    label: str
    style: str


class Drawing:
    """The parts of a drawn SVG the tests look at."""

    def __init__(self, svg: str) -> None:
        self.svg = svg
        # Our own output, not untrusted input.
        self.root = ET.fromstring(svg.encode())  # noqa: S314
        self.nodes: dict[str, ET.Element] = {}
        self.clusters: dict[str, ET.Element] = {}
        self.edges: list[DrawnEdge] = []
        for group in self.root.iter(f"{NS}g"):
            classes = (group.get("class") or "").split()
            title = group.findtext(f"{NS}title") or ""
            if "node" in classes:
                self.nodes[title] = group
            elif "cluster" in classes:
                self.clusters[title.removeprefix("cluster_")] = group
            elif "edge" in classes:
                source, target = title.split("->")
                label = " ".join(t.text or "" for t in group.iter(f"{NS}text"))
                self.edges.append(DrawnEdge(source, target, label, classes[1]))

    def label(self, node: str) -> str:
        return " ".join(t.text or "" for t in self.nodes[node].iter(f"{NS}text"))

    def edge(self, source: str, target: str) -> DrawnEdge:
        found = [e for e in self.edges if (e.source, e.target) == (source, target)]
        assert len(found) == 1, (source, target, self.edges)
        return found[0]

    def connected(self, one: str, other: str) -> list[DrawnEdge]:
        return [e for e in self.edges if {e.source, e.target} == {one, other}]

    def position(self, node: str) -> tuple[float, float]:
        icon = self.nodes[node].find(f"{NS}use")
        assert icon is not None, node
        return float(icon.get("x", "nan")), float(icon.get("y", "nan"))

    def bounds(self, cluster: str) -> tuple[float, float, float, float]:
        outline = self.clusters[cluster].find(f"{NS}path")
        assert outline is not None, cluster
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", outline.get("d", ""))]
        xs, ys = numbers[0::2], numbers[1::2]
        return min(xs), min(ys), max(xs), max(ys)

    def inside(self, node_or_cluster: str, cluster: str) -> bool:
        left, top, right, bottom = self.bounds(cluster)
        if node_or_cluster in self.nodes:
            x, y = self.position(node_or_cluster)
            return left <= x <= right and top <= y <= bottom
        inner = self.bounds(node_or_cluster)
        return left <= inner[0] and top <= inner[1] and inner[2] <= right and inner[3] <= bottom


def synthesize(build: Callable[[Stack], None]) -> dict[str, Any]:
    app = App(context={**CDK_CONTEXT, "aws:cdk:enable-path-metadata": True})
    stack = Stack(app, "Drawn")
    build(stack)
    return Template.from_stack(stack).to_json()


def logical_ids(template: dict[str, Any], kind: str, path: str = "") -> list[str]:
    return [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == kind and path in resource.get("Metadata", {}).get("aws:cdk:path", "")
    ]


def one(template: dict[str, Any], kind: str, path: str = "") -> str:
    (found,) = logical_ids(template, kind, path)
    return found


def _trigger_stack(stack: Stack) -> None:
    key = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
    orders = dynamodb.Table(
        stack, "Orders", partition_key=key, stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES
    )
    history = dynamodb.Table(stack, "History", partition_key=key)
    trigger = StreamTrigger(stack, "OnChange", table=orders, handler=HANDLER)
    history.grant_write_data(trigger.function)
    # Five levels deep: drawn as three nested clusters, the rest in the label.
    deep = Construct(Construct(Construct(Construct(stack, "A"), "B"), "C"), "D")
    sqs.Queue(deep, "Parked", enforce_ssl=True)


def _ingest_stack(stack: Stack) -> None:
    race = KinesisFanOut(
        stack, "Race", records_per_second=1_000, average_record_size=Size.bytes(170)
    )
    race.add_consumer("Leaderboard", enhanced_fan_out=True, handler=HANDLER)
    IotTopicToKinesis(stack, "Ingest", stream=race.stream, topic_filter="bikes/+")
    FirehoseArchive(stack, "Archive", stream=race.stream, processor_handler=PROCESSOR)


def _worker_stack(stack: Stack) -> None:
    worker = inline_function(stack, "Worker")
    live = lambda_.Alias(stack, "Live", alias_name="live", version=worker.current_version)
    jobs = sqs.Queue(stack, "Jobs", enforce_ssl=True)
    live.add_event_source(SqsEventSource(jobs))
    sns.Topic(stack, "News").add_subscription(subscriptions.LambdaSubscription(worker))
    uploads = s3.Bucket(stack, "Uploads")
    uploads.add_event_notification(
        s3.EventType.OBJECT_CREATED, s3_notifications.SqsDestination(jobs)
    )


@pytest.fixture(scope="module")
def trigger() -> tuple[dict[str, Any], Drawing]:
    template = synthesize(_trigger_stack)
    return template, Drawing(architecture_diagrams.draw(template, title="Drawn"))


@pytest.fixture(scope="module")
def ingest() -> tuple[dict[str, Any], Drawing]:
    template = synthesize(_ingest_stack)
    return template, Drawing(architecture_diagrams.draw(template, title="Drawn"))


@pytest.fixture(scope="module")
def worker() -> tuple[dict[str, Any], Drawing]:
    template = synthesize(_worker_stack)
    return template, Drawing(architecture_diagrams.draw(template, title="Drawn"))


@pytest.fixture(scope="module")
def examples() -> dict[str, tuple[dict[str, Any], Drawing, float]]:
    from examples import add_example_stacks

    app = App(context={**CDK_CONTEXT, "aws:cdk:enable-path-metadata": True})
    drawn = {}
    for stack in add_example_stacks(app):
        template = Template.from_stack(stack).to_json()
        started = time.perf_counter()
        svg = architecture_diagrams.draw(template, title=stack.stack_name)
        drawn[stack.stack_name] = (template, Drawing(svg), time.perf_counter() - started)
    return drawn


def test_the_svg_stands_alone(trigger: tuple[dict[str, Any], Drawing]) -> None:
    _, drawing = trigger
    assert drawing.root.tag == f"{NS}svg"
    symbols = {s.get("id") for s in drawing.root.iter(f"{NS}symbol")}
    images = list(drawing.root.iter(f"{NS}image"))
    assert images and len(images) == len(symbols), "each icon is embedded once"
    for image in images:
        assert (image.get(XLINK) or "").startswith("data:image/png;base64,"), image.attrib
    for use in drawing.root.iter(f"{NS}use"):
        assert (use.get(XLINK) or "").removeprefix("#") in symbols, use.attrib
    assert ".png" not in drawing.svg.replace("data:image/png", "")
    assert str(ROOT) not in drawing.svg and "site-packages" not in drawing.svg
    assert "Drawn" in (drawing.root.findtext(f"{NS}g/{NS}title") or "")


def test_the_same_template_gives_the_same_bytes(trigger: tuple[dict[str, Any], Drawing]) -> None:
    template, drawing = trigger
    again = json.loads(json.dumps(template))
    assert architecture_diagrams.draw(again, title="Drawn") == drawing.svg


def test_a_stream_mapping_is_an_edge_from_the_stream_to_the_function(
    trigger: tuple[dict[str, Any], Drawing],
) -> None:
    template, drawing = trigger
    orders = one(template, "AWS::DynamoDB::Table", "/Orders/")
    function = one(template, "AWS::Lambda::Function")
    assert drawing.edge(orders, function) == DrawnEdge(orders, function, "stream", "flow")


def test_the_failure_destination_is_a_dashed_edge(trigger: tuple[dict[str, Any], Drawing]) -> None:
    template, drawing = trigger
    function = one(template, "AWS::Lambda::Function")
    queue = one(template, "AWS::SQS::Queue", "/OnChange/")
    assert drawing.edge(function, queue) == DrawnEdge(function, queue, "on failure", "failure")
    for edge in drawing.root.iter(f"{NS}g"):
        if edge.findtext(f"{NS}title") == f"{function}->{queue}":
            assert edge.find(f"{NS}path[@stroke-dasharray]") is not None


def test_a_grant_is_a_dotted_edge_but_not_beside_the_mapping_it_serves(
    trigger: tuple[dict[str, Any], Drawing],
) -> None:
    template, drawing = trigger
    function = one(template, "AWS::Lambda::Function")
    history = one(template, "AWS::DynamoDB::Table", "/History/")
    orders = one(template, "AWS::DynamoDB::Table", "/Orders/")
    assert drawing.edge(function, history) == DrawnEdge(function, history, "write", "grant")
    # The function's role may read the orders stream: that is the mapping's edge already.
    assert [e.style for e in drawing.connected(function, orders)] == ["flow"]


def test_only_the_resources_a_reader_cares_about_are_drawn(
    trigger: tuple[dict[str, Any], Drawing],
) -> None:
    template, drawing = trigger
    shown = {
        one(template, "AWS::DynamoDB::Table", "/Orders/"),
        one(template, "AWS::DynamoDB::Table", "/History/"),
        one(template, "AWS::Lambda::Function"),
        one(template, "AWS::SQS::Queue", "/OnChange/"),
        one(template, "AWS::SQS::Queue", "/Parked/"),
    }
    alarm_nodes = {n for n in drawing.nodes if n not in template["Resources"]}
    assert set(drawing.nodes) == shown | alarm_nodes
    hidden = {r["Type"] for i, r in template["Resources"].items() if i not in drawing.nodes}
    assert {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::Logs::LogGroup"} <= hidden
    assert {"AWS::Lambda::EventSourceMapping", "AWS::SQS::QueuePolicy"} <= hidden


def test_the_alarms_of_a_construct_are_one_node(trigger: tuple[dict[str, Any], Drawing]) -> None:
    template, drawing = trigger
    alarms = logical_ids(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) >= 2
    (node,) = [n for n in drawing.nodes if "alarms" in (drawing.nodes[n].get("class") or "")]
    assert drawing.label(node) == f"{len(alarms)} alarms"
    assert drawing.inside(node, "OnChange")


def test_nodes_are_clustered_by_construct_path(trigger: tuple[dict[str, Any], Drawing]) -> None:
    template, drawing = trigger
    function = one(template, "AWS::Lambda::Function")
    assert drawing.label(function) == "Function"
    assert "OnChange" in drawing.clusters and drawing.inside(function, "OnChange")
    orders = one(template, "AWS::DynamoDB::Table", "/Orders/")
    assert drawing.label(orders) == "Orders"
    assert not any(drawing.inside(orders, cluster) for cluster in drawing.clusters)


def test_deep_constructs_nest_three_clusters_deep(trigger: tuple[dict[str, Any], Drawing]) -> None:
    template, drawing = trigger
    parked = one(template, "AWS::SQS::Queue", "/Parked/")
    assert {"A", "A/B", "A/B/C"} <= set(drawing.clusters)
    assert not any(c.startswith("A/B/C/") for c in drawing.clusters)
    assert drawing.inside("A/B", "A") and drawing.inside("A/B/C", "A/B")
    assert drawing.inside(parked, "A/B/C")
    assert drawing.label(parked) == "D/Parked"


def test_an_enhanced_fan_out_consumer_sits_between_stream_and_function(
    ingest: tuple[dict[str, Any], Drawing],
) -> None:
    template, drawing = ingest
    stream = one(template, "AWS::Kinesis::Stream")
    consumer = one(template, "AWS::Kinesis::StreamConsumer")
    function = one(template, "AWS::Lambda::Function", "/Leaderboard/")
    assert drawing.edge(stream, consumer).label == "fan-out"
    assert drawing.edge(consumer, function) == DrawnEdge(consumer, function, "stream", "flow")
    # The function's read of the stream itself is the consumer's.
    assert drawing.connected(function, stream) == []
    assert drawing.inside("Race/Leaderboard", "Race") and drawing.inside(
        function, "Race/Leaderboard"
    )


def test_the_iot_rule_puts_on_the_stream_and_errors_into_a_bucket(
    ingest: tuple[dict[str, Any], Drawing],
) -> None:
    template, drawing = ingest
    rule = one(template, "AWS::IoT::TopicRule")
    stream = one(template, "AWS::Kinesis::Stream")
    errors = one(template, "AWS::S3::Bucket", "/Ingest/")
    assert drawing.edge(rule, stream) == DrawnEdge(rule, stream, "put", "flow")
    assert drawing.edge(rule, errors) == DrawnEdge(rule, errors, "on error", "failure")
    assert "bikes/+" in drawing.label(rule)


def test_firehose_reads_the_stream_transforms_and_delivers_to_the_bucket(
    ingest: tuple[dict[str, Any], Drawing],
) -> None:
    template, drawing = ingest
    stream = one(template, "AWS::Kinesis::Stream")
    delivery = one(template, "AWS::KinesisFirehose::DeliveryStream")
    bucket = one(template, "AWS::S3::Bucket", "/Archive/Bucket/")
    transform = one(template, "AWS::Lambda::Function", "/Transform/")
    assert drawing.edge(stream, delivery) == DrawnEdge(stream, delivery, "records", "flow")
    assert drawing.edge(delivery, bucket) == DrawnEdge(delivery, bucket, "deliver", "flow")
    assert drawing.edge(delivery, transform).label == "transform"


def test_the_processor_rule_follows_the_bucket_and_has_a_dead_letter_queue(
    ingest: tuple[dict[str, Any], Drawing],
) -> None:
    template, drawing = ingest
    bucket = one(template, "AWS::S3::Bucket", "/Archive/Bucket/")
    rule = one(template, "AWS::Events::Rule")
    processor = one(template, "AWS::Lambda::Function", "/Processor/")
    queue = one(template, "AWS::SQS::Queue", "/Archive/DeadLetterQueue/")
    assert drawing.edge(bucket, rule) == DrawnEdge(bucket, rule, "events", "flow")
    assert drawing.edge(rule, processor) == DrawnEdge(rule, processor, "invoke", "flow")
    assert drawing.edge(rule, queue) == DrawnEdge(rule, queue, "DLQ", "failure")
    # The processor's own asynchronous invocations fail into the same queue.
    assert drawing.edge(processor, queue) == DrawnEdge(processor, queue, "on failure", "failure")
    assert drawing.edge(processor, bucket) == DrawnEdge(processor, bucket, "read", "grant")


def test_a_queue_mapping_on_an_alias_is_an_edge_to_its_function(
    worker: tuple[dict[str, Any], Drawing],
) -> None:
    template, drawing = worker
    jobs = one(template, "AWS::SQS::Queue")
    function = one(template, "AWS::Lambda::Function", "/Worker/")
    assert drawing.edge(jobs, function) == DrawnEdge(jobs, function, "queue", "flow")


def test_subscriptions_and_bucket_notifications_are_edges(
    worker: tuple[dict[str, Any], Drawing],
) -> None:
    template, drawing = worker
    topic = one(template, "AWS::SNS::Topic")
    function = one(template, "AWS::Lambda::Function", "/Worker/")
    uploads = one(template, "AWS::S3::Bucket")
    jobs = one(template, "AWS::SQS::Queue")
    assert drawing.edge(topic, function) == DrawnEdge(topic, function, "subscription", "flow")
    assert drawing.edge(uploads, jobs) == DrawnEdge(uploads, jobs, "events", "flow")
    # The notifications' custom resource and its provider function are CDK's plumbing.
    assert set(drawing.nodes) == {topic, function, uploads, jobs}
    assert len(logical_ids(template, "AWS::Lambda::Function")) == 2


@pytest.mark.parametrize(
    ("actions", "access"),
    [
        (["dynamodb:GetItem", "dynamodb:Query", "dynamodb:DescribeTable"], "read"),
        (["kinesis:DescribeStream", "kinesis:ListShards"], "read"),
        (["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], "read"),
        (["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], "write"),
        (["kinesis:PutRecords", "kinesis:ListShards"], "write"),
        (["s3:GetObject", "s3:PutObject"], "read/write"),
        (["dynamodb:*"], "read/write"),
        (["execute-api:Invoke"], "invoke"),
    ],
)
def test_a_grant_is_labelled_by_its_actions(actions: list[str], access: str) -> None:
    assert architecture_diagrams.access(actions) == access


def test_a_template_without_path_metadata_is_refused(
    trigger: tuple[dict[str, Any], Drawing],
) -> None:
    template = json.loads(json.dumps(trigger[0]))
    for resource in template["Resources"].values():
        resource.pop("Metadata")
    with pytest.raises(ValueError, match=r"aws:cdk:enable-path-metadata"):
        architecture_diagrams.draw(template, title="Drawn")


def _assembly(folder: Path, template: dict[str, Any]) -> Path:
    folder.mkdir()
    (folder / "Drawn.template.json").write_text(json.dumps(template))
    artifact = {"type": "aws:cloudformation:stack", "properties": {}}
    artifact["properties"] = {"templateFile": "Drawn.template.json", "stackName": "Drawn"}
    manifest = {"version": "48.0.0", "artifacts": {"Tree": {"type": "cdk:tree"}}}
    manifest["artifacts"]["Drawn"] = artifact
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_the_command_line_draws_each_stack_of_an_assembly(
    trigger: tuple[dict[str, Any], Drawing], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template, drawing = trigger
    assembly = _assembly(tmp_path / "cdk.out", template)
    out = tmp_path / "svg"
    assert architecture_diagrams.main(["--assembly", str(assembly), "--out", str(out)]) == 0
    assert (out / "Drawn.svg").read_text() == drawing.svg
    (line,) = capsys.readouterr().out.splitlines()
    assert f"{len(drawing.nodes)} nodes, {len(drawing.edges)} edges" in line


def test_the_command_line_refuses_a_stack_without_path_metadata(
    trigger: tuple[dict[str, Any], Drawing], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = json.loads(json.dumps(trigger[0]))
    for resource in template["Resources"].values():
        resource.pop("Metadata")
    assembly = _assembly(tmp_path / "cdk.out", template)
    out = tmp_path / "svg"
    assert architecture_diagrams.main(["--assembly", str(assembly), "--out", str(out)]) != 0
    assert "Drawn has no aws:cdk:path metadata" in capsys.readouterr().err
    assert not out.exists()


#: At least this many nodes and edges in each example stack's picture.
EXAMPLE_MINIMUMS = {
    "DatabaseTrigger": (6, 4),
    "StreamingAnalytics": (8, 5),
    "Shop": (14, 10),
    "Alleycat": (28, 22),
}


@pytest.mark.parametrize("name", sorted(EXAMPLE_MINIMUMS))
def test_every_example_stack_is_drawn_with_all_its_functions(
    examples: dict[str, tuple[dict[str, Any], Drawing, float]], name: str
) -> None:
    template, drawing, seconds = examples[name]
    nodes, edges = EXAMPLE_MINIMUMS[name]
    assert len(drawing.nodes) >= nodes and len(drawing.edges) >= edges
    functions = logical_ids(template, "AWS::Lambda::Function")
    assert functions and set(functions) <= set(drawing.nodes)
    for function in functions:
        assert any(function in (e.source, e.target) for e in drawing.edges), function
    assert seconds < 5, f"drawing {name} took {seconds:.1f} s"


def test_the_alleycat_api_invokes_its_function(
    examples: dict[str, tuple[dict[str, Any], Drawing, float]],
) -> None:
    template, drawing, _ = examples["Alleycat"]
    api = one(template, "AWS::ApiGateway::RestApi")
    function = one(template, "AWS::Lambda::Function", "/Api/")
    assert drawing.edge(api, function) == DrawnEdge(api, function, "invoke", "flow")
    folded = {"AWS::ApiGateway::Method", "AWS::ApiGateway::Stage", "AWS::ApiGateway::Resource"}
    assert not any(
        template["Resources"][n]["Type"] in folded
        for n in drawing.nodes
        if n in template["Resources"]
    )


def test_the_dynamic_dns_function_writes_its_zones_which_are_private_to_the_vpc(
    examples: dict[str, tuple[dict[str, Any], Drawing, float]],
) -> None:
    template, drawing, seconds = examples["DynamicDns"]
    function = one(template, "AWS::Lambda::Function", "/Dns/")
    rule = one(template, "AWS::Events::Rule")
    vpc = one(template, "AWS::EC2::VPC")
    zones = logical_ids(template, "AWS::Route53::HostedZone")
    assert len(zones) == 2
    assert drawing.edge(rule, function) == DrawnEdge(rule, function, "invoke", "flow")
    dead_letters = one(template, "AWS::SQS::Queue", "/DeadLetterQueue/")
    assert drawing.edge(rule, dead_letters).style == "failure"
    for zone in zones:
        assert drawing.edge(function, zone) == DrawnEdge(function, zone, "read/write", "grant")
        assert drawing.edge(zone, vpc) == DrawnEdge(zone, vpc, "private to", "aux")
    assert seconds < 5, f"drawing DynamicDns took {seconds:.1f} s"
