"""Draw a synthesized CloudFormation template as a standalone SVG architecture diagram.

The docs site shows each stack as a picture drawn from its template, so the picture cannot
drift from the code::

    python scripts/architecture_diagrams.py --assembly cdk.out --out docs/diagrams [STACK ...]

reads the stacks of a cloud assembly (synthesized with the context
``aws:cdk:enable-path-metadata: true``, which records each resource's construct path in
its ``aws:cdk:path`` metadata) and writes ``<stack>.svg`` for each; ``draw(template,
title=...)`` does the same for one template in-process.

What is drawn:

- **Nodes**: functions, tables, streams and their enhanced fan-out consumers, queues,
  topics, buckets, delivery streams, EventBridge and IoT rules, hosted zones, VPCs, APIs
  (their stages, deployments, methods and resources are folded into them), KMS keys and
  layers, each with its AWS icon from the ``diagrams`` package. All the alarms of one
  construct are one node, "N alarms". Roles, policies, log groups, permissions, metadata and custom
  resources (with their provider functions) are left out; event source mappings,
  subscriptions, targets and destinations become edges.
- **Clusters**: the construct tree (``aws:cdk:path``, without the stack's own name and a
  trailing ``Resource``/``Default``), at most ``MAX_CLUSTER_DEPTH`` levels deep.
- **Edges**: solid for events and data (mappings, rule targets and actions, Firehose
  sources, destinations and transforms, subscriptions, API integrations, notifications),
  dashed for failure paths (on-failure destinations, dead-letter queues, error actions),
  dotted for IAM grants from a function to a data store ("read", "write", "read/write"),
  light dotted for encryption keys, access logs, layers, alarm actions and the VPCs of
  private hosted zones.

The SVG needs no other file: every icon is embedded once as a ``data:image/png;base64,``
URI (a ``<symbol>`` that each node uses), and the same template always gives the
same bytes. Graphviz's ``dot`` lays it out.
"""

from __future__ import annotations

import argparse
import base64
import html
import importlib.util
import json
import re
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

#: Clusters nest at most this deep; deeper constructs fold into their node's label.
MAX_CLUSTER_DEPTH = 3

#: Resource types drawn as nodes: type -> (kind, icon under the diagrams package's aws/).
NODE_TYPES: dict[str, tuple[str, str]] = {
    "AWS::Lambda::Function": ("function", "compute/lambda.png"),
    "AWS::DynamoDB::Table": ("table", "database/dynamodb.png"),
    "AWS::DynamoDB::GlobalTable": ("table", "database/dynamodb.png"),
    "AWS::Kinesis::Stream": ("stream", "analytics/kinesis-data-streams.png"),
    "AWS::Kinesis::StreamConsumer": ("consumer", "analytics/kinesis.png"),
    "AWS::SQS::Queue": ("queue", "integration/simple-queue-service-sqs.png"),
    "AWS::SNS::Topic": ("topic", "integration/simple-notification-service-sns.png"),
    "AWS::S3::Bucket": ("bucket", "storage/simple-storage-service-s3.png"),
    "AWS::KinesisFirehose::DeliveryStream": (
        "delivery-stream",
        "analytics/kinesis-data-firehose.png",
    ),
    "AWS::Events::Rule": ("event-rule", "integration/eventbridge-rule.png"),
    "AWS::IoT::TopicRule": ("iot-rule", "iot/iot-rule.png"),
    "AWS::ApiGateway::RestApi": ("api", "network/api-gateway.png"),
    "AWS::ApiGatewayV2::Api": ("api", "network/api-gateway.png"),
    "AWS::KMS::Key": ("key", "security/key-management-service.png"),
    "AWS::Lambda::LayerVersion": ("layer", "compute/lambda-function.png"),
    "AWS::Route53::HostedZone": ("hosted-zone", "network/route-53-hosted-zone.png"),
    "AWS::EC2::VPC": ("vpc", "network/vpc.png"),
}
ALARM_TYPE = "AWS::CloudWatch::Alarm"
ALARMS_ICON = "management/cloudwatch-alarm.png"

#: What a grant may point at: the data stores (and APIs) of the picture.
STORE_KINDS = frozenset(
    {
        "table",
        "stream",
        "consumer",
        "queue",
        "topic",
        "bucket",
        "delivery-stream",
        "api",
        "hosted-zone",
    }
)

#: Hidden resources that stand for a drawn one: type -> the property naming it.
_FOLDED_INTO: dict[str, str] = {
    "AWS::ApiGateway::Deployment": "RestApiId",
    "AWS::ApiGateway::Stage": "RestApiId",
    "AWS::ApiGateway::Method": "RestApiId",
    "AWS::ApiGateway::Resource": "RestApiId",
    "AWS::ApiGateway::Authorizer": "RestApiId",
    "AWS::ApiGateway::RequestValidator": "RestApiId",
    "AWS::ApiGatewayV2::Stage": "ApiId",
    "AWS::ApiGatewayV2::Route": "ApiId",
    "AWS::ApiGatewayV2::Integration": "ApiId",
    "AWS::Lambda::Alias": "FunctionName",
    "AWS::Lambda::Version": "FunctionName",
}

#: Edge styles: DOT attributes of each class of edge.
EDGE_STYLES: dict[str, str] = {
    "flow": 'style=solid, color="#2f3b47", fontcolor="#2f3b47"',
    "failure": 'style=dashed, color="#c0392b", fontcolor="#c0392b"',
    "grant": 'style=dotted, color="#4f6d8a", fontcolor="#4f6d8a", penwidth=1.3',
    "aux": 'style=dotted, color="#a0aab4", fontcolor="#7b8794"',
}
_CLUSTER_FILLS = ("#f3f5f8", "#e9edf2", "#dfe5ec")
_LEGEND = (
    "solid: events and data \u00b7 dashed: failures \u00b7 dotted: IAM grants "
    "\u00b7 light: keys, logs, layers, alarm actions, zone VPCs"
)

_PLUMBING_SEGMENT = re.compile(r"^Custom::|[0-9a-f]{32}$")
_SUB_REFERENCE = re.compile(r"\$\{([^!}][^}]*)\}")
_IOT_TOPIC = re.compile(r"\bFROM\s+'([^']+)'", re.IGNORECASE)
_CAMEL_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

_READ_ACTIONS = (
    "get",
    "query",
    "scan",
    "batchget",
    "describe",
    "list",
    "subscribetoshard",
    "receivemessage",
    "conditioncheck",
    "select",
)
_WRITE_ACTIONS = (
    "put",
    "update",
    "delete",
    "batchwrite",
    "sendmessage",
    "publish",
    "abort",
    "create",
    "restore",
    "write",
    # Route 53: ChangeResourceRecordSets, AssociateVPCWithHostedZone.
    "change",
    "associate",
)
#: Taking a message off a queue is part of reading it.
_CONSUME_ACTIONS = frozenset({"sqs:deletemessage", "sqs:deletemessagebatch"})
_CONSUME_ACTIONS |= {"sqs:changemessagevisibility", "sqs:changemessagevisibilitybatch"}
#: Looked up beside reads and writes alike; they make neither.
_METADATA_ACTIONS = frozenset(
    {
        "sqs:getqueueattributes",
        "sqs:getqueueurl",
        "sns:gettopicattributes",
        "kinesis:describestream",
        "kinesis:describestreamsummary",
        "kinesis:listshards",
        "kinesis:liststreams",
        "dynamodb:describetable",
        "dynamodb:liststreams",
        "s3:getbucketlocation",
        "firehose:describedeliverystream",
    }
)


@dataclass
class Node:
    """One box of the picture."""

    id: str
    kind: str
    icon: str
    label: str
    cluster: tuple[str, ...]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Edge:
    """One arrow: ``style`` is a key of ``EDGE_STYLES``; ``both`` draws two heads."""

    source: str
    target: str
    label: str
    style: str = "flow"
    both: bool = False


@dataclass
class Diagram:
    """What a template is drawn as: nodes (in template order) and edges."""

    nodes: dict[str, Node]
    edges: list[Edge]


def draw(template: Mapping[str, Any], *, title: str) -> str:
    """The architecture of a synthesized template as a standalone SVG document.

    Args:
        template: The CloudFormation template, synthesized with construct path metadata.
        title: The heading drawn above the picture (the stack's name, say).

    Returns:
        The SVG text.

    Raises:
        ValueError: If no resource of the template has ``aws:cdk:path`` metadata.
    """
    return render(build(template), title=title)


def build(template: Mapping[str, Any]) -> Diagram:
    """The nodes and edges a template is drawn as.

    Args:
        template: The CloudFormation template, synthesized with construct path metadata.

    Returns:
        The diagram, ready for ``render``.

    Raises:
        ValueError: If no resource of the template has ``aws:cdk:path`` metadata.
    """
    return _Builder(template).diagram()


def render(diagram: Diagram, *, title: str) -> str:
    """Lay a diagram out with Graphviz's ``dot`` and embed its icons.

    Args:
        diagram: What to draw (from ``build``).
        title: The heading drawn above the picture.

    Returns:
        The SVG text.

    Raises:
        RuntimeError: If ``dot`` is missing or fails, or an icon is not in the
            ``diagrams`` package.
    """
    icons = _icon_directory()
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError("Graphviz's `dot` is not on PATH: install graphviz (make setup)")
    completed = subprocess.run(
        [dot, "-Tsvg"],
        input=_dot_source(diagram, title, icons).encode(),
        capture_output=True,
        check=False,
        timeout=120,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"dot failed: {completed.stderr.decode(errors='replace').strip()}")
    return _embed_icons(completed.stdout.decode(), icons)


def has_path_metadata(template: Mapping[str, Any]) -> bool:
    """Whether any resource of the template records its construct path."""
    return any(
        isinstance(resource, Mapping)
        and isinstance(resource.get("Metadata"), Mapping)
        and isinstance(resource["Metadata"].get("aws:cdk:path"), str)
        for resource in (template.get("Resources") or {}).values()
    )


# --- the template as nodes and edges --------------------------------------------------


def _dig(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...``, or None where a level is missing or not a mapping."""
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _items(value: Any) -> list[Any]:
    """A property that CloudFormation takes as one item or a list, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _references(value: Any) -> Iterator[str]:
    """The logical ids that ``Ref``, ``Fn::GetAtt`` and ``Fn::Sub`` name anywhere in a value."""
    if isinstance(value, list):
        for item in value:
            yield from _references(item)
        return
    if not isinstance(value, Mapping):
        return
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str):
            yield argument
            return
        if key == "Fn::GetAtt":
            if isinstance(argument, list) and argument and isinstance(argument[0], str):
                yield argument[0]
            elif isinstance(argument, str):
                yield argument.split(".", 1)[0]
            return
        if key == "Fn::Sub":
            text: Any = argument if isinstance(argument, str) else None
            variables: Any = None
            if isinstance(argument, list) and argument:
                text, variables = argument[0], argument[1:]
            if isinstance(text, str):
                for match in _SUB_REFERENCE.finditer(text):
                    yield match.group(1).split(".", 1)[0]
            yield from _references(variables)
            return
    for item in value.values():
        yield from _references(item)


def _segments(path: str, prefix: Sequence[str]) -> tuple[str, ...]:
    """A construct path without the stack's own path and trailing ``Resource``/``Default``."""
    parts = path.split("/")
    if parts[: len(prefix)] == list(prefix) and len(parts) > len(prefix):
        parts = parts[len(prefix) :]
    while len(parts) > 1 and parts[-1] in ("Resource", "Default"):
        parts.pop()
    return tuple(parts)


def _place(segments: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """The cluster a construct path lands in and the label of its node."""
    parents, name = segments[:-1], segments[-1]
    if len(parents) > MAX_CLUSTER_DEPTH:
        return parents[:MAX_CLUSTER_DEPTH], "/".join((*parents[MAX_CLUSTER_DEPTH:], name))
    return parents, name


def access(actions: Iterable[str]) -> str:
    """What IAM actions let a function do: "read", "write", "read/write" or "invoke"."""
    read = write = invoke = False
    for action in actions:
        lowered = action.lower()
        _, _, name = lowered.partition(":")
        if name in ("", "*"):
            read = write = True
        elif lowered in _CONSUME_ACTIONS:
            read = True
        elif lowered in _METADATA_ACTIONS:
            continue
        elif name.startswith("invoke"):
            invoke = True
        elif name.startswith(_WRITE_ACTIONS):
            write = True
        elif name.startswith(_READ_ACTIONS):
            read = True
    if read and write:
        return "read/write"
    if write:
        return "write"
    if invoke and not read:
        return "invoke"
    return "read"


_VERBS = {
    "function": "invoke",
    "queue": "send",
    "topic": "publish",
    "stream": "put",
    "delivery-stream": "put",
    "table": "put",
    "bucket": "put",
}


class _Builder:
    """Reads one template into a ``Diagram``."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        if not has_path_metadata(template):
            raise ValueError(
                "the template has no aws:cdk:path metadata: synthesize it with the context "
                '"aws:cdk:enable-path-metadata": true'
            )
        resources = template.get("Resources") or {}
        self.resources: dict[str, Mapping[str, Any]] = {
            logical_id: resource
            for logical_id, resource in resources.items()
            if isinstance(resource, Mapping)
        }
        self.paths = self._construct_paths()
        self.nodes: dict[str, Node] = {}
        self.alias: dict[str, str] = {}
        self.edges: list[Edge] = []
        self._edge_keys: set[tuple[str, str, str]] = set()
        # Pairs a grant between would repeat what another edge already says.
        self._covered: set[frozenset[str]] = set()

    def _construct_paths(self) -> dict[str, tuple[str, ...]]:
        raw = {
            logical_id: path
            for logical_id, resource in self.resources.items()
            if isinstance(path := _dig(resource, "Metadata", "aws:cdk:path"), str)
        }
        metadata = [p for p in raw.values() if p.endswith("/CDKMetadata/Default")]
        if metadata:
            prefix = metadata[0].split("/")[:-2]
        else:
            prefix = next(iter(raw.values())).split("/")[:1]
        return {logical_id: _segments(path, prefix) for logical_id, path in raw.items()}

    def _type(self, logical_id: str) -> str:
        kind = self.resources[logical_id].get("Type")
        return kind if isinstance(kind, str) else ""

    def _properties(self, logical_id: str) -> Mapping[str, Any]:
        properties = self.resources[logical_id].get("Properties")
        return properties if isinstance(properties, Mapping) else {}

    def diagram(self) -> Diagram:
        self._add_nodes()
        for logical_id in self.resources:
            handler = _HANDLERS.get(self._type(logical_id))
            if handler is not None:
                handler(self, logical_id, self._properties(logical_id))
        self._add_encryption_edges()
        self._add_grants()
        return Diagram(nodes=self.nodes, edges=self.edges)

    # nodes

    def _add_nodes(self) -> None:
        alarm_groups: dict[tuple[str, ...], Node] = {}
        alarm_counts: dict[str, int] = {}
        for logical_id in self.resources:
            kind_icon = NODE_TYPES.get(self._type(logical_id))
            segments = self.paths.get(logical_id, (logical_id,))
            if kind_icon is not None:
                if any(_PLUMBING_SEGMENT.search(segment) for segment in segments):
                    continue  # a custom resource provider, not the user's architecture
                cluster, label = _place(segments)
                kind, icon = kind_icon
                self.nodes[logical_id] = Node(logical_id, kind, icon, label, cluster)
            elif self._type(logical_id) == ALARM_TYPE:
                cluster, _ = _place(segments)
                group = alarm_groups.get(cluster)
                if group is None:
                    group = Node(f"alarms_{len(alarm_groups)}", "alarms", ALARMS_ICON, "", cluster)
                    alarm_groups[cluster] = group
                    self.nodes[group.id] = group
                alarm_counts[group.id] = alarm_counts.get(group.id, 0) + 1
                self.alias[logical_id] = group.id
        for group in alarm_groups.values():
            count = alarm_counts[group.id]
            group.label = f"{count} alarm" if count == 1 else f"{count} alarms"
        for logical_id in self.resources:
            prop = _FOLDED_INTO.get(self._type(logical_id))
            if prop is not None:
                target = self.node_id(self._properties(logical_id).get(prop))
                if target is not None:
                    self.alias[logical_id] = target

    def node_ids(self, value: Any) -> list[str]:
        """The drawn nodes a property value refers to, in order, once each."""
        found: list[str] = []
        for logical_id in _references(value):
            node = logical_id if logical_id in self.nodes else self.alias.get(logical_id)
            if node is not None and node not in found:
                found.append(node)
        return found

    def node_id(self, value: Any) -> str | None:
        """The first drawn node a property value refers to."""
        found = self.node_ids(value)
        return found[0] if found else None

    def kind(self, node: str | None) -> str:
        """The kind of a node ("" for none)."""
        return self.nodes[node].kind if node is not None and node in self.nodes else ""

    def edge(
        self,
        source: str | None,
        target: str | None,
        label: str,
        style: str = "flow",
        *,
        both: bool = False,
    ) -> None:
        """Add an edge between two drawn nodes, once."""
        if source is None or target is None or source == target:
            return
        key = (source, target, label)
        if key in self._edge_keys:
            return
        self._edge_keys.add(key)
        self.edges.append(Edge(source, target, label, style, both))

    def note(self, node: str, text: str) -> None:
        """Add a line of small print under a node's label."""
        if node in self.nodes and text not in self.nodes[node].notes:
            self.nodes[node].notes.append(text)

    # edges, by resource type

    def _event_source_mapping(self, _: str, properties: Mapping[str, Any]) -> None:
        function = self.node_id(properties.get("FunctionName"))
        source = self.node_id(properties.get("EventSourceArn"))
        label = {"queue": "queue", "consumer": "stream", "stream": "stream", "table": "stream"}
        self.edge(source, function, label.get(self.kind(source), "events"))
        if function is not None and self.kind(source) == "consumer" and source is not None:
            # An enhanced fan-out consumer reads its stream for the function.
            consumer = self._properties(source).get("StreamARN")
            for stream in self.node_ids(consumer):
                self._covered.add(frozenset((function, stream)))
        failure = _dig(properties, "DestinationConfig", "OnFailure", "Destination")
        self.edge(function, self.node_id(failure), "on failure", "failure")

    def _function(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        dead_letters = self.node_id(_dig(properties, "DeadLetterConfig", "TargetArn"))
        self.edge(logical_id, dead_letters, "DLQ", "failure")
        for layer in self.node_ids(properties.get("Layers")):
            self.edge(layer, logical_id, "layer", "aux")

    def _event_invoke_config(self, _: str, properties: Mapping[str, Any]) -> None:
        function = self.node_id(properties.get("FunctionName"))
        config = properties.get("DestinationConfig")
        success = self.node_id(_dig(config, "OnSuccess", "Destination"))
        self.edge(function, success, "on success")
        failure = self.node_id(_dig(config, "OnFailure", "Destination"))
        self.edge(function, failure, "on failure", "failure")

    def _event_rule(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        for target in _items(properties.get("Targets")):
            destination = self.node_id(_dig(target, "Arn"))
            self.edge(logical_id, destination, _VERBS.get(self.kind(destination), "target"))
            dead_letters = self.node_id(_dig(target, "DeadLetterConfig", "Arn"))
            self.edge(logical_id, dead_letters, "DLQ", "failure")
        pattern = properties.get("EventPattern")
        for bucket in self.node_ids(_dig(pattern, "detail", "bucket", "name")):
            if self.kind(bucket) == "bucket":
                self.edge(bucket, logical_id, "events")
        schedule = properties.get("ScheduleExpression")
        if isinstance(schedule, str):
            self.note(logical_id, schedule)
        detail_types = [t for t in _items(_dig(pattern, "detail-type")) if isinstance(t, str)]
        if detail_types:
            self.note(logical_id, ", ".join(detail_types))

    def _topic_rule(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        payload = properties.get("TopicRulePayload")
        sql = _dig(payload, "Sql")
        topic = _IOT_TOPIC.search(sql) if isinstance(sql, str) else None
        if topic is not None:
            self.note(logical_id, topic.group(1))
        for action in _items(_dig(payload, "Actions")):
            self._iot_action(logical_id, action, failure=False)
        error_action = _dig(payload, "ErrorAction")
        if error_action is not None:
            self._iot_action(logical_id, error_action, failure=True)

    def _iot_action(self, rule: str, action: Any, *, failure: bool) -> None:
        if not isinstance(action, Mapping):
            return
        for name, config in action.items():
            if name == "Republish":
                topic = _dig(config, "Topic")
                if isinstance(topic, str):
                    self.note(rule, f"{'on error: ' if failure else ''}republish {topic}")
                continue
            for target in self.node_ids(config):
                if failure:
                    self.edge(rule, target, "on error", "failure")
                else:
                    self.edge(rule, target, _VERBS.get(self.kind(target), "action"))

    def _delivery_stream(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        source = _dig(properties, "KinesisStreamSourceConfiguration", "KinesisStreamARN")
        self.edge(self.node_id(source), logical_id, "records")
        for key, destination in properties.items():
            if not key.endswith("DestinationConfiguration") or not isinstance(destination, Mapping):
                continue
            bucket = self.node_id(destination.get("BucketARN"))
            self.edge(logical_id, bucket, "deliver")
            for nested in ("S3Configuration", "S3BackupConfiguration"):
                backup = self.node_id(_dig(destination, nested, "BucketARN"))
                self.edge(logical_id, backup, "backup" if bucket is not None else "deliver")
            processors = _dig(destination, "ProcessingConfiguration", "Processors")
            for processor in _items(processors):
                for parameter in _items(_dig(processor, "Parameters")):
                    if _dig(parameter, "ParameterName") == "LambdaArn":
                        function = self.node_id(_dig(parameter, "ParameterValue"))
                        self.edge(logical_id, function, "transform", both=True)

    def _stream_consumer(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        self.edge(self.node_id(properties.get("StreamARN")), logical_id, "fan-out")

    def _table(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        stream = self.node_id(_dig(properties, "KinesisStreamSpecification", "StreamArn"))
        self.edge(logical_id, stream, "changes")

    def _subscription(self, _: str, properties: Mapping[str, Any]) -> None:
        topic = self.node_id(properties.get("TopicArn"))
        self.edge(topic, self.node_id(properties.get("Endpoint")), "subscription")

    def _topic(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        for subscription in _items(properties.get("Subscription")):
            endpoint = self.node_id(_dig(subscription, "Endpoint"))
            self.edge(logical_id, endpoint, "subscription")

    def _rest_api_method(self, _: str, properties: Mapping[str, Any]) -> None:
        api = self.node_id(properties.get("RestApiId"))
        for target in self.node_ids(_dig(properties, "Integration", "Uri")):
            if target != api:
                self.edge(api, target, _VERBS.get(self.kind(target), "integration"))

    def _http_api_integration(self, _: str, properties: Mapping[str, Any]) -> None:
        api = self.node_id(properties.get("ApiId"))
        for target in self.node_ids(properties.get("IntegrationUri")):
            if target != api:
                self.edge(api, target, _VERBS.get(self.kind(target), "integration"))

    def _bucket(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        self._notifications(logical_id, properties.get("NotificationConfiguration"))
        logs = self.node_id(_dig(properties, "LoggingConfiguration", "DestinationBucketName"))
        self.edge(logical_id, logs, "access logs", "aux")

    def _bucket_notifications(self, _: str, properties: Mapping[str, Any]) -> None:
        bucket = self.node_id(properties.get("BucketName"))
        if bucket is not None:
            self._notifications(bucket, properties.get("NotificationConfiguration"))

    def _notifications(self, bucket: str, configuration: Any) -> None:
        for key, arn in (
            ("LambdaFunctionConfigurations", "LambdaFunctionArn"),
            ("QueueConfigurations", "QueueArn"),
            ("TopicConfigurations", "TopicArn"),
        ):
            for entry in _items(_dig(configuration, key)):
                self.edge(bucket, self.node_id(_dig(entry, arn)), "events")

    def _hosted_zone(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        for association in _items(properties.get("VPCs")):
            self.edge(logical_id, self.node_id(_dig(association, "VPCId")), "private to", "aux")

    def _alarm(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        actions = [properties.get(k) for k in ("AlarmActions", "OKActions")]
        for topic in self.node_ids(actions):
            self.edge(self.alias.get(logical_id), topic, "notify", "aux")

    def _add_encryption_edges(self) -> None:
        for node in list(self.nodes.values()):
            if node.id not in self.resources or node.kind == "key":
                continue
            for key in self.node_ids(self._properties(node.id)):
                if self.kind(key) == "key":
                    self.edge(key, node.id, "encrypts", "aux")

    # grants

    def _role_functions(self) -> dict[str, list[str]]:
        functions: dict[str, list[str]] = {}
        for node in self.nodes.values():
            if node.kind == "function":
                for role in _references(self._properties(node.id).get("Role")):
                    functions.setdefault(role, []).append(node.id)
        return functions

    def _policy_documents(self) -> Iterator[tuple[list[str], Any]]:
        """``(role logical ids, policy document)`` of every identity policy of the template."""
        for logical_id in self.resources:
            kind, properties = self._type(logical_id), self._properties(logical_id)
            if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                yield list(_references(properties.get("Roles"))), properties.get("PolicyDocument")
            elif kind == "AWS::IAM::Role":
                for policy in _items(properties.get("Policies")):
                    yield [logical_id], _dig(policy, "PolicyDocument")

    def _add_grants(self) -> None:
        role_functions = self._role_functions()
        granted: dict[tuple[str, str], list[str]] = {}
        for roles, document in self._policy_documents():
            functions = [f for role in roles for f in role_functions.get(role, [])]
            if not functions:
                continue
            for statement in _items(_dig(document, "Statement")):
                if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
                    continue
                actions = [a for a in _items(statement.get("Action")) if isinstance(a, str)]
                stores = [
                    node
                    for node in self.node_ids(statement.get("Resource"))
                    if self.kind(node) in STORE_KINDS
                ]
                for function in functions:
                    for store in stores:
                        granted.setdefault((function, store), []).extend(actions)
        covered = self._covered | {frozenset((e.source, e.target)) for e in self.edges}
        for (function, store), actions in granted.items():
            if frozenset((function, store)) not in covered:
                self.edge(function, store, access(actions), "grant")


_HANDLERS = {
    "AWS::Lambda::EventSourceMapping": _Builder._event_source_mapping,
    "AWS::Lambda::Function": _Builder._function,
    "AWS::Lambda::EventInvokeConfig": _Builder._event_invoke_config,
    "AWS::Events::Rule": _Builder._event_rule,
    "AWS::IoT::TopicRule": _Builder._topic_rule,
    "AWS::KinesisFirehose::DeliveryStream": _Builder._delivery_stream,
    "AWS::Kinesis::StreamConsumer": _Builder._stream_consumer,
    "AWS::DynamoDB::Table": _Builder._table,
    "AWS::SNS::Subscription": _Builder._subscription,
    "AWS::SNS::Topic": _Builder._topic,
    "AWS::ApiGateway::Method": _Builder._rest_api_method,
    "AWS::ApiGatewayV2::Integration": _Builder._http_api_integration,
    "AWS::S3::Bucket": _Builder._bucket,
    "Custom::S3BucketNotifications": _Builder._bucket_notifications,
    "AWS::Route53::HostedZone": _Builder._hosted_zone,
    ALARM_TYPE: _Builder._alarm,
}


# --- the picture ------------------------------------------------------------------------


def _quote(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrap(label: str, width: int = 16) -> list[str]:
    """A long construct id broken into lines at its camel-case words."""
    if len(label) <= width:
        return [label]
    lines: list[str] = []
    for word in _CAMEL_BREAK.split(label):
        if lines and len(lines[-1]) + len(word) <= width:
            lines[-1] += word
        else:
            lines.append(word)
    return lines


def _node_label(node: Node) -> str:
    rows = [
        '<TR><TD FIXEDSIZE="TRUE" WIDTH="40" HEIGHT="40">'
        f'<IMG SRC="{node.icon}" SCALE="TRUE"/></TD></TR>'
    ]
    text = "<BR/>".join(html.escape(line, quote=False) for line in _wrap(node.label))
    rows.append(f"<TR><TD>{text}</TD></TR>")
    for note in node.notes:
        small = html.escape(note, quote=False)
        rows.append(f'<TR><TD><FONT POINT-SIZE="7" COLOR="#5f6b76">{small}</FONT></TD></TR>')
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
    return f"<{table}{''.join(rows)}</TABLE>>"


def _dot_source(diagram: Diagram, title: str, icons: Path) -> str:
    heading = (
        f'<<FONT POINT-SIZE="14"><B>{html.escape(title, quote=False)}</B></FONT>'
        f'<BR ALIGN="LEFT"/><FONT POINT-SIZE="8" COLOR="#5f6b76">{_LEGEND}</FONT>'
        '<BR ALIGN="LEFT"/>>'
    )
    lines = [
        f"digraph {_quote(title)} {{",
        f"  graph [rankdir=LR, label={heading}, labelloc=t, labeljust=l, "
        'fontname="Helvetica", fontsize=10, nodesep=0.25, ranksep=0.55, pad=0.25, '
        f'bgcolor="white", imagepath={_quote(str(icons))}];',
        '  node [shape=plain, fontname="Helvetica", fontsize=9, fontcolor="#1f2933"];',
        '  edge [fontname="Helvetica", fontsize=8, arrowsize=0.6];',
    ]
    members: dict[tuple[str, ...], list[Node]] = {(): []}
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {(): []}
    for node in diagram.nodes.values():
        for depth in range(1, len(node.cluster) + 1):
            cluster = node.cluster[:depth]
            if cluster not in children:
                children[cluster], members[cluster] = [], []
                children[cluster[:-1]].append(cluster)
        members[node.cluster].append(node)

    def emit(cluster: tuple[str, ...], indent: str) -> None:
        for node in members[cluster]:
            lines.append(
                f"{indent}{_quote(node.id)} [id={_quote(node.id)}, class={_quote(node.kind)}, "
                f"label={_node_label(node)}];"
            )
        for child in children[cluster]:
            fill = _CLUSTER_FILLS[min(len(child), len(_CLUSTER_FILLS)) - 1]
            lines.append(f"{indent}subgraph {_quote('cluster_' + '/'.join(child))} {{")
            lines.append(
                f"{indent}  graph [label={_quote(child[-1])}, labeljust=l, fontsize=10, "
                f'fontcolor="#3e4c59", style="rounded,filled", fillcolor="{fill}", '
                'color="#c3ccd5", margin=10];'
            )
            emit(child, indent + "  ")
            lines.append(f"{indent}}}")

    emit((), "  ")
    for edge in diagram.edges:
        attributes = [f"label={_quote(edge.label)}", f"class={_quote(edge.style)}"]
        attributes.append(EDGE_STYLES[edge.style])
        if edge.both:
            attributes.append("dir=both")
        lines.append(f"  {_quote(edge.source)} -> {_quote(edge.target)} [{', '.join(attributes)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


@cache
def _icon_directory() -> Path:
    """The AWS icons of the ``diagrams`` package (its ``resources/aws`` folder)."""
    spec = importlib.util.find_spec("diagrams")
    if spec is None or spec.origin is None:
        raise RuntimeError("the `diagrams` package (its AWS icons) is not installed")
    folder = Path(spec.origin).resolve().parent.parent / "resources" / "aws"
    if not folder.is_dir():
        raise RuntimeError(f"the `diagrams` package has no AWS icons under {folder}")
    return folder


@cache
def _icon_symbol(icons: Path, icon: str) -> str:
    """An icon as an SVG ``<symbol>`` holding the PNG as a data URI."""
    data = (icons / icon).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise RuntimeError(f"icon {icon} is not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<symbol id="{_symbol_id(icon)}" viewBox="0 0 {width} {height}">'
        f'<image width="{width}" height="{height}" '
        f'xlink:href="data:image/png;base64,{encoded}"/></symbol>'
    )


def _symbol_id(icon: str) -> str:
    return "icon-" + re.sub(r"[^a-z0-9]+", "-", icon.removesuffix(".png").lower())


_IMAGE = re.compile(r"<image\b([^>]*?)/?>(?:</image>)?")
_ATTRIBUTE = re.compile(r'([\w:-]+)="([^"]*)"')


def _embed_icons(svg: str, icons: Path) -> str:
    """Point every ``<image>`` of dot's output at one embedded ``<symbol>`` per icon."""
    used: list[str] = []

    def use(match: re.Match[str]) -> str:
        attributes: dict[str, str] = dict(_ATTRIBUTE.findall(match.group(1)))
        icon = attributes.get("xlink:href") or attributes.get("href") or ""
        if not (icons / icon).is_file() or Path(icon).is_absolute():
            raise RuntimeError(f"dot drew an image that is not one of the icons: {icon!r}")
        if icon not in used:
            used.append(icon)
        place = " ".join(
            f'{name}="{attributes[name]}"'
            for name in ("x", "y", "width", "height")
            if name in attributes
        )
        return f'<use xlink:href="#{_symbol_id(icon)}" {place}/>'

    body = _IMAGE.sub(use, svg)
    svg_tag = re.search(r"<svg\b[^>]*>", body)
    if svg_tag is None:
        raise RuntimeError("dot's output has no <svg> element")
    defs = (
        "\n<defs>\n" + "\n".join(_icon_symbol(icons, icon) for icon in sorted(used)) + "\n</defs>"
    )
    document = body[: svg_tag.end()] + defs + body[svg_tag.end() :]
    if str(icons) in document:
        raise RuntimeError("the SVG names the icon folder: it would not render elsewhere")
    return document


# --- the command line ------------------------------------------------------------------


def assembly_stacks(assembly: Path) -> dict[str, Path]:
    """Stack name -> template file of every stack of a cloud assembly (nested ones too).

    Args:
        assembly: The cloud assembly folder (``cdk.out``).

    Returns:
        The stacks in manifest order.

    Raises:
        ValueError: If the folder holds no cloud assembly manifest.
    """
    manifest_file = assembly / "manifest.json"
    if not manifest_file.is_file():
        raise ValueError(f"{assembly} has no manifest.json: is it a cloud assembly (cdk.out)?")
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    stacks: dict[str, Path] = {}
    for artifact_id, artifact in (manifest.get("artifacts") or {}).items():
        properties = artifact.get("properties") or {}
        if artifact.get("type") == "aws:cloudformation:stack":
            name = properties.get("stackName") or artifact_id
            stacks[name] = assembly / properties["templateFile"]
        elif artifact.get("type") == "cdk:cloud-assembly" and "directoryName" in properties:
            stacks.update(assembly_stacks(assembly / properties["directoryName"]))
    return stacks


def main(argv: Sequence[str] | None = None) -> int:
    """Draw the stacks of a cloud assembly; one line per diagram written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assembly", type=Path, required=True, help="the cloud assembly (cdk.out)")
    parser.add_argument("--out", type=Path, required=True, help="folder for <stack>.svg")
    parser.add_argument("stacks", nargs="*", metavar="STACK", help="stacks to draw (default: all)")
    args = parser.parse_args(argv)
    try:
        stacks = assembly_stacks(args.assembly)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    unknown = [name for name in args.stacks if name not in stacks]
    if unknown:
        print(
            f"error: no stack {', '.join(unknown)} in {args.assembly}; it holds: "
            f"{', '.join(stacks) or 'no stack'}",
            file=sys.stderr,
        )
        return 2
    chosen = args.stacks or list(stacks)
    templates = {name: json.loads(stacks[name].read_text(encoding="utf-8")) for name in chosen}
    missing = [name for name, template in templates.items() if not has_path_metadata(template)]
    if missing:
        print(
            f"error: stack {', '.join(missing)} has no aws:cdk:path metadata: synthesize with "
            'the context "aws:cdk:enable-path-metadata": true (cdk synth -c '
            "aws:cdk:enable-path-metadata=true)",
            file=sys.stderr,
        )
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for name, template in templates.items():
        started = time.perf_counter()
        diagram = build(template)
        svg = render(diagram, title=name)
        target = args.out / f"{name}.svg"
        target.write_text(svg, encoding="utf-8")
        print(
            f"{target}: {len(diagram.nodes)} nodes, {len(diagram.edges)} edges "
            f"({time.perf_counter() - started:.2f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
