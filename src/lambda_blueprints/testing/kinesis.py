"""Kinesis in the local cloud: data streams and enhanced fan-out consumers, in moto.

Event source mappings and Firehose read streams through :class:`KinesisReads`: records
fetched once per shard and shared by every reader, served by moto's models directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambda_blueprints.testing import _moto_limits
from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys


@dataclass(frozen=True)
class KinesisReads:
    """How the local cloud's readers of Kinesis streams get records.

    Attributes:
        reader: The client that reads (``get_records`` and friends).
        shared_reads: Records fetched once per shard, shared by every reader of a stream.
    """

    reader: Any
    shared_reads: dict[str, Any]


@deploys("AWS::Kinesis::Stream")
def _stream(stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
    name = props.get("Name") or stack.name(logical_id, 128)
    kinesis = stack.context.client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=int(props.get("ShardCount") or 1))
    retention = props.get("RetentionPeriodHours")
    if retention and int(retention) > 24:
        kinesis.increase_stream_retention_period(
            StreamName=name, RetentionPeriodHours=int(retention)
        )
    arn = stack.arn("kinesis", f"stream/{name}")
    max_record_size = props.get("MaxRecordSizeInKiB")
    if max_record_size is not None:
        # moto keeps no maximum record size: the local cloud's write checks read this
        # (from moto's stream, whose ARN holds moto's own account).
        summary = kinesis.describe_stream_summary(StreamName=name)
        _moto_limits.set_kinesis_max_record_size(
            summary["StreamDescriptionSummary"]["StreamARN"], int(max_record_size)
        )
    hours = int(retention) if retention else 24
    return Resource(
        logical_id,
        "AWS::Kinesis::Stream",
        "",
        name,
        {"Arn": arn, "RetentionSeconds": str(hours * 3600)},
    )


@deploys("AWS::Kinesis::StreamConsumer")
def _stream_consumer(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    consumer = stack.context.client("kinesis").register_stream_consumer(
        StreamARN=props["StreamARN"], ConsumerName=props["ConsumerName"]
    )["Consumer"]
    arn = consumer["ConsumerARN"]
    return Resource(
        logical_id,
        "AWS::Kinesis::StreamConsumer",
        "",
        arn,
        {
            "ConsumerARN": arn,
            "ConsumerName": consumer["ConsumerName"],
            "ConsumerStatus": "ACTIVE",
            "StreamARN": props["StreamARN"],
            "ConsumerCreationTimestamp": str(consumer["ConsumerCreationTimestamp"]),
        },
    )


def kinesis_retention(stack: Deployment, stream_arn: str) -> float:
    """The retention of a stream of the stack, in seconds (24 hours if not found)."""
    for resource in stack.resources.values():
        if resource.attributes.get("Arn") == stream_arn and "RetentionSeconds" in (
            resource.attributes
        ):
            return float(resource.attributes["RetentionSeconds"])
    return 24 * 3600.0
