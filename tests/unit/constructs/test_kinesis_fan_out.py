"""KinesisFanOut: sizing, consumers, alarms, validation, nag, and a local-cloud run."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from aws_cdk import App, DefaultStackSynthesizer, Duration, Size, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from syrupy.assertion import SnapshotAssertion

from lambda_blueprints import KinesisFanOut
from lambda_blueprints.constructs.kinesis_fan_out import shards_for
from lambda_blueprints.testing import LocalCloud
from tests.conftest import CDK_CONTEXT, normalize_template

NewStack = Callable[..., Stack]
HANDLER = "runtime.window_totals.handler.lambda_handler"


def inline(stack: Stack, name: str) -> lambda_.Function:
    return lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(
            textwrap.dedent(
                """
                def handler(event, context):
                    return {"batchItemFailures": []}
                """
            )
        ),
    )


@pytest.mark.parametrize(
    ("records", "size", "shards"),
    [(5_000, 170, 5), (1_000, 2048, 2), (100, 100, 1), (1_500, 1024, 2), (10, 1024 * 1024, 10)],
)
def test_shards_follow_the_per_shard_write_limits(records: int, size: int, shards: int) -> None:
    assert shards_for(records, size) == shards


def test_stream_is_sized_for_the_declared_load(new_stack: NewStack) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(
        stack, "Race", records_per_second=5_000, average_record_size=Size.bytes(170)
    )

    Template.from_stack(stack).has_resource(
        "AWS::Kinesis::Stream",
        {
            "Properties": Match.object_like(
                {
                    "ShardCount": 5,
                    "RetentionPeriodHours": 24,
                    "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
                    "StreamModeDetails": {"StreamMode": "PROVISIONED"},
                }
            ),
            "DeletionPolicy": "Retain",
        },
    )
    capacity = fan_out.capacity
    assert capacity.shards == 5
    assert capacity.write_utilization == pytest.approx(1.0)
    assert "5 shard(s): writes up to 5,000 records/s or 5 MiB/s" in capacity.describe()


def test_on_demand_streams_have_no_shard_count(new_stack: NewStack) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(stack, "Events", on_demand=True, retention=Duration.days(7))

    Template.from_stack(stack).has_resource_properties(
        "AWS::Kinesis::Stream",
        {
            "ShardCount": Match.absent(),
            "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
            "RetentionPeriodHours": 168,
        },
    )
    assert fan_out.capacity.shards is None
    assert "on-demand" in fan_out.capacity.describe()


def test_enhanced_fan_out_consumers_read_through_their_registration(new_stack: NewStack) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(stack, "Race", shard_count=2)
    fan_out.add_consumer("Leaderboard", enhanced_fan_out=True, handler=HANDLER)
    fan_out.add_consumer("Archive", function=inline(stack, "Archiver"))
    template = Template.from_stack(stack)

    template.resource_count_is("AWS::Kinesis::StreamConsumer", 1)
    mappings = template.find_resources("AWS::Lambda::EventSourceMapping")
    sources = sorted(json.dumps(m["Properties"]["EventSourceArn"]) for m in mappings.values())
    assert any("ConsumerARN" in s for s in sources)
    assert any('"Arn"' in s and "Stream" in s for s in sources)
    assert fan_out.capacity.enhanced_consumers == 1
    assert fan_out.capacity.shared_consumers == 1
    assert set(fan_out.consumers) == {"Leaderboard", "Archive"}


def test_stream_alarms_watch_age_and_throttling(new_stack: NewStack) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(stack, "Race", shard_count=1, retention=Duration.hours(48))
    template = Template.from_stack(stack)
    stream_dimension = [{"Name": "StreamName", "Value": {"Ref": Match.any_value()}}]

    assert set(fan_out.alarms) == {"iterator_age", "write_throttles", "read_throttles"}
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "GetRecords.IteratorAgeMilliseconds",
            "Threshold": 24 * 3600 * 1000,
            "Dimensions": stream_dimension,
        },
    )
    for metric in ("WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded"):
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "MetricName": metric,
                "EvaluationPeriods": 5,
                "DatapointsToAlarm": 5,
                "Dimensions": stream_dimension,
            },
        )


def test_snapshot(new_stack: NewStack, snapshot_json: SnapshotAssertion) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(
        stack, "Race", records_per_second=1_000, average_record_size=Size.kibibytes(1)
    )
    fan_out.add_consumer("Leaderboard", enhanced_fan_out=True, handler=HANDLER)
    assert normalize_template(Template.from_stack(stack).to_json()) == snapshot_json


def test_nag_clean_with_both_kinds_of_consumer(new_stack: NewStack) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(stack, "Race", shard_count=2)
    fan_out.add_consumer("Leaderboard", enhanced_fan_out=True, handler=HANDLER)
    fan_out.add_consumer("Archive", handler=HANDLER)
    findings = [
        v.rule_name
        for pack in (AwsSolutionsChecks(), ServerlessChecks())
        for v in pack.validate_scope(stack).violations
    ]
    assert findings == []


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"shard_count": 2, "records_per_second": 5_000, "average_record_size": Size.bytes(170)},
            r"shard_count=2 cannot carry 5,000 records/s of 170 bytes .*shard_count=5",
        ),
        ({"records_per_second": 100}, r"give both or neither"),
        ({}, r"shard_count=None with no declared load"),
        ({"shard_count": 1, "on_demand": True}, r"on-demand stream has no fixed shard count"),
        (
            {"records_per_second": 10, "average_record_size": Size.mebibytes(2)},
            r"average_record_size=2,097,152 bytes .*1 to 1,048,576",
        ),
        ({"shard_count": 0}, r"shard_count=0 is out of range"),
        ({"shard_count": 1, "retention": Duration.hours(12)}, r"retention=12 hours"),
        ({"shard_count": 1, "retention": Duration.days(366)}, r"retention=366 days"),
        (
            {"records_per_second": 0, "average_record_size": Size.bytes(10)},
            r"records_per_second=0",
        ),
    ],
)
def test_fails_when_the_stream_cannot_be_what_is_asked(
    new_stack: NewStack, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        KinesisFanOut(new_stack(), "Race", **props)


def test_fails_when_shared_consumers_outgrow_the_shared_reads(new_stack: NewStack) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(
        stack, "Race", records_per_second=1_000, average_record_size=Size.kibibytes(1)
    )
    fan_out.add_consumer("One", handler=HANDLER)
    fan_out.add_consumer("Two", handler=HANDLER)

    with pytest.raises(
        ValueError, match=r"add_consumer\('Three'\) would make 3 standard .*shard_count=2"
    ):
        fan_out.add_consumer("Three", handler=HANDLER)
    fan_out.add_consumer("Three", enhanced_fan_out=True, handler=HANDLER)


def test_fails_past_five_standard_or_twenty_enhanced_consumers(new_stack: NewStack) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(stack, "Race", shard_count=1)
    for n in range(5):
        fan_out.add_consumer(f"Shared{n}", function=inline(stack, f"S{n}"))
    with pytest.raises(ValueError, match=r"6 standard consumers; .* at most 5"):
        fan_out.add_consumer("Shared5", function=inline(stack, "S5"))
    for n in range(20):
        fan_out.add_consumer(f"Enhanced{n}", enhanced_fan_out=True, function=inline(stack, f"E{n}"))
    with pytest.raises(ValueError, match=r"21 enhanced fan-out consumers; .* at most 20"):
        fan_out.add_consumer("Enhanced20", enhanced_fan_out=True, function=inline(stack, "E20"))


def test_both_kinds_of_consumer_get_every_record_on_the_local_cloud() -> None:
    stack = Stack(
        App(context=CDK_CONTEXT),
        "FanOut",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    fan_out = KinesisFanOut(stack, "Race", shard_count=2)
    fan_out.add_consumer("Pushed", enhanced_fan_out=True, function=inline(stack, "PushedFn"))
    fan_out.add_consumer("Polled", function=inline(stack, "PolledFn"))

    with LocalCloud() as cloud:
        deployed = cloud.deploy(stack)
        boto3.client("kinesis").put_records(
            StreamName=deployed.physical_id("Race/Stream"),
            Records=[{"Data": b"{}", "PartitionKey": f"racer-{n}"} for n in range(40)],
        )
        cloud.run_until_idle()

        stream_arn = deployed.attribute("Race/Stream", "Arn")
        for name in ("PushedFn", "PolledFn"):
            function = deployed.physical_id(name)
            records = [
                r for i in cloud.log.invocations(function=function) for r in i.event["Records"]
            ]
            assert len(records) == 40
            assert {r["eventSourceARN"] for r in records} == {stream_arn}
