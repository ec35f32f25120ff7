"""KinesisFanOut: sizing, consumers, alarms, validation, nag, and a local-cloud run."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk import App, DefaultStackSynthesizer, Duration, Environment, Size, Stack
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from syrupy.assertion import SnapshotAssertion

from lambda_blueprints import KinesisFanOut
from lambda_blueprints.constructs.kinesis_fan_out import shards_for
from lambda_blueprints.testing import LocalCloud
from tests.conftest import CDK_CONTEXT, cfn_lint_template, normalize_template

NewStack = Callable[..., Stack]
HANDLER = "lambda_blueprints.runtime.window_totals.handler.lambda_handler"


def stack_in(region: str) -> Stack:
    return Stack(
        App(context=CDK_CONTEXT),
        "RegionalStack",
        env=Environment(account="123456789012", region=region),
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )


def warnings(stack: Stack) -> list[str]:
    return [
        str(m.entry.data)
        for m in Annotations.from_stack(stack).find_warning("*", Match.any_value())
    ]


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
    assert fan_out.capacity.describe().splitlines()[0] == (
        "on-demand: a new stream writes up to 4 MiB/s, then takes up to double its peak of "
        "the previous 30 days, to at most 10 GiB/s of writes in us-east-1, us-west-2, "
        "eu-west-1 (200 MiB/s by default elsewhere)"
    )
    assert warnings(stack) == []


def test_on_demand_load_within_the_initial_capacity_is_not_warned_about(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(
        stack,
        "Events",
        on_demand=True,
        records_per_second=4_096,
        average_record_size=Size.kibibytes(1),
    )

    assert warnings(stack) == []
    assert "share of the initial on-demand write capacity: 100%" in fan_out.capacity.describe()


def test_on_demand_load_above_the_initial_capacity_is_warned_about(new_stack: NewStack) -> None:
    stack = new_stack()
    KinesisFanOut(
        stack,
        "Events",
        on_demand=True,
        records_per_second=10_000,
        average_record_size=Size.kibibytes(1),
    )

    (warning,) = warnings(stack)
    assert warning.startswith(
        "on_demand=True with records_per_second=10,000 x average_record_size=1,024 bytes "
        "(9.77 MiB/s): a new on-demand stream starts with 4 MiB/s of write capacity"
    )
    assert "shard_count=10" in warning


@pytest.mark.parametrize(("region", "warned"), [("eu-central-1", True), ("us-east-1", False)])
def test_on_demand_load_above_200_mib_is_warned_about_outside_the_large_regions(
    region: str, warned: bool
) -> None:
    stack = stack_in(region)
    KinesisFanOut(
        stack,
        "Events",
        on_demand=True,
        records_per_second=300_000,
        average_record_size=Size.kibibytes(1),
    )

    regional = [w for w in warnings(stack) if "at most 200 MiB/s of writes" in w]
    assert bool(regional) is warned
    assert any("starts with 4 MiB/s" in w for w in warnings(stack))


def test_the_largest_on_demand_load_is_accepted(new_stack: NewStack) -> None:
    stack = new_stack()
    KinesisFanOut(
        stack,
        "Events",
        on_demand=True,
        records_per_second=10 * 1024,
        average_record_size=Size.mebibytes(1),
    )

    Template.from_stack(stack).has_resource_properties(
        "AWS::Kinesis::Stream", {"StreamModeDetails": {"StreamMode": "ON_DEMAND"}}
    )


def test_explicit_shard_counts_up_to_the_cloudformation_maximum_are_accepted(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    KinesisFanOut(stack, "Race", shard_count=100_000)

    Template.from_stack(stack).has_resource_properties(
        "AWS::Kinesis::Stream", {"ShardCount": 100_000}
    )


@pytest.mark.parametrize(
    ("region", "shards", "warned"),
    [
        (None, 1_000, False),
        (None, 1_001, True),
        ("eu-central-1", 1_001, True),
        ("us-east-1", 20_000, False),
        ("us-east-1", 20_001, True),
    ],
)
def test_shards_above_the_default_account_quota_are_warned_about(
    new_stack: NewStack, region: str | None, shards: int, warned: bool
) -> None:
    stack = new_stack() if region is None else stack_in(region)
    KinesisFanOut(stack, "Race", shard_count=shards)

    quota = [w for w in warnings(stack) if "default Kinesis shard quota" in w]
    assert bool(quota) is warned
    if warned:
        assert quota[0].startswith(f"shard_count={shards:,} is above the default Kinesis")
        assert "Raise the quota" in quota[0]


def test_a_derived_shard_count_above_the_quota_is_warned_about(new_stack: NewStack) -> None:
    stack = new_stack()
    KinesisFanOut(stack, "Race", records_per_second=2_000_000, average_record_size=Size.bytes(100))

    assert any(w.startswith("shard_count=2,000 is above the default") for w in warnings(stack))


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


def test_enhanced_fan_out_registrations_are_created_five_at_a_time(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(stack, "Race", shard_count=1)
    consumers = [fan_out.reserve(f"Reader{n}", enhanced_fan_out=True) for n in range(7)]
    template = Template.from_stack(stack).to_json()["Resources"]

    def logical_id(n: int) -> str:
        consumer = consumers[n]
        assert consumer is not None
        return stack.get_logical_id(consumer.node.default_child)  # type: ignore[arg-type]

    depends_on = [template[logical_id(n)].get("DependsOn") for n in range(7)]
    assert depends_on == [None] * 5 + [[logical_id(0)], [logical_id(1)]]
    assert fan_out.capacity.enhanced_consumers == 7


def test_enhanced_fan_out_consumers_alarm_on_their_lag(new_stack: NewStack) -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "Alarms", enforce_ssl=True)
    fan_out = KinesisFanOut(
        stack, "Race", shard_count=1, retention=Duration.hours(48), alarm_topic=topic
    )
    fan_out.add_consumer("Leaderboard", enhanced_fan_out=True, handler=HANDLER)
    fan_out.reserve("Standings", enhanced_fan_out=True)
    fan_out.reserve("Archive")
    template = Template.from_stack(stack)
    resources = template.to_json()["Resources"]
    names = {
        logical_id: r["Properties"]["ConsumerName"]
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Kinesis::StreamConsumer"
    }

    assert {k for k in fan_out.alarms if k.startswith("consumer_lag:")} == {
        "consumer_lag:Leaderboard",
        "consumer_lag:Standings",
    }
    for key, construct_id in (("Leaderboard", "Leaderboard"), ("Standings", "Standings")):
        alarm = fan_out.alarms[f"consumer_lag:{key}"]
        assert alarm.node.path == f"TestStack/Race/{construct_id}Registration/LagAlarm"
        (name,) = [n for logical_id, n in names.items() if construct_id in logical_id]
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "Namespace": "AWS/Kinesis",
                "MetricName": "SubscribeToShardEvent.MillisBehindLatest",
                "Dimensions": [
                    {"Name": "ConsumerName", "Value": name},
                    {
                        "Name": "StreamName",
                        "Value": {"Ref": Match.string_like_regexp("^RaceStream")},
                    },
                ],
                "Statistic": "Maximum",
                "Period": 60,
                "Threshold": 24 * 3600 * 1000,
                "EvaluationPeriods": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": Match.string_like_regexp("^Alarms")}],
                "OKActions": [{"Ref": Match.string_like_regexp("^Alarms")}],
            },
        )


def test_many_consumers_lint_clean(new_stack: NewStack, tmp_path: Path) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(stack, "Race", shard_count=2)
    for n in range(7):
        fan_out.reserve(f"Reader{n}", enhanced_fan_out=True)
    fan_out.add_consumer("Archive", handler=HANDLER)
    assert cfn_lint_template(Template.from_stack(stack).to_json(), tmp_path) == []


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
    assert normalize_template(dict(Template.from_stack(stack).to_json())) == snapshot_json


def test_nag_clean_with_both_kinds_of_consumer(new_stack: NewStack) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(stack, "Race", shard_count=2)
    fan_out.add_consumer("Leaderboard", enhanced_fan_out=True, handler=HANDLER)
    fan_out.reserve("Standings", enhanced_fan_out=True)
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
        ({"shard_count": 0}, r"^shard_count=0 is out of range: .* from 1 to 100,000 .*Give a"),
        (
            {"shard_count": 100_001},
            r"^shard_count=100001 is out of range: .* from 1 to 100,000 \(CloudFormation",
        ),
        (
            {"records_per_second": 10_000_000, "average_record_size": Size.mebibytes(1)},
            r"^records_per_second=10,000,000 of average_record_size=1,048,576 bytes .*need "
            r"shard_count=10,000,000, which is out of range: .* from 1 to 100,000 .*Split",
        ),
        (
            {"shard_count": 1, "retention": Duration.hours(12)},
            r"^retention=12 hours \(12 hours\) is out of range: .* from 24 to 8,760 .*"
            r"Duration.hours\(24\)",
        ),
        (
            {"shard_count": 1, "retention": Duration.days(366)},
            r"^retention=366 days \(8784 hours\) is out of range: .* from 24 to 8,760",
        ),
        (
            {"shard_count": 1, "retention": Duration.minutes(1470)},
            r"^retention=1 day 30 minutes \(24.5 hours\) is out of range: .*whole number of "
            r"hours from 24 to 8,760 .*Duration.hours\(25\)",
        ),
        (
            {"shard_count": 1, "retention": Duration.seconds(86_401)},
            r"^retention=1 day 1 second \(24.0003 hours\) is out of range",
        ),
        (
            {"records_per_second": 0, "average_record_size": Size.bytes(10)},
            r"^records_per_second=0 is out of range: .* from 1 to 10,000,000",
        ),
        (
            {
                "on_demand": True,
                "records_per_second": 10 * 1024 + 1,
                "average_record_size": Size.mebibytes(1),
            },
            r"^on_demand=True with records_per_second=10,241 x average_record_size=1,048,576 "
            r"bytes \(10,241.00 MiB/s\): an on-demand stream writes at most 10 GiB/s "
            r"\(10,240 MiB/s\)\. .*shard_count=10,241",
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


def test_an_existing_stream_gets_consumers_checks_and_alarms_but_no_new_stream(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    existing = kinesis.Stream.from_stream_arn(
        stack, "Orders", "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
    )
    fan_out = KinesisFanOut(
        stack,
        "Fan",
        stream=existing,
        shard_count=1,
        records_per_second=700,
        average_record_size=Size.kibibytes(1),
        retention=Duration.hours(48),
    )
    fan_out.add_consumer("Live", enhanced_fan_out=True, handler=HANDLER)
    fan_out.add_consumer("Audit", handler=HANDLER)
    template = Template.from_stack(stack)

    assert fan_out.stream is existing
    template.resource_count_is("AWS::Kinesis::Stream", 0)
    template.has_resource_properties(
        "AWS::Kinesis::StreamConsumer",
        {"StreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/orders"},
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"EventSourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/orders"},
    )
    assert {"iterator_age", "write_throttles", "read_throttles", "consumer_lag:Live"} <= set(
        fan_out.alarms
    )
    # The declared shards still bound the shared reads: 2 x 700 KiB/s fit 2 MiB/s, 3 do not.
    fan_out.add_consumer("Two", handler=HANDLER)
    with pytest.raises(ValueError, match=r"add_consumer\('Three'\) would make 3 standard"):
        fan_out.add_consumer("Three", handler=HANDLER)


def test_an_existing_stream_keeps_its_own_encryption(new_stack: NewStack) -> None:
    stack = new_stack()
    existing = kinesis.Stream(stack, "Orders")
    with pytest.raises(ValueError, match=r"encryption_key applies to the stream this construct"):
        KinesisFanOut(
            stack,
            "Fan",
            stream=existing,
            encryption_key=kms.Key(stack, "Key", enable_key_rotation=True),
        )


def test_an_existing_stream_without_its_shards_skips_the_read_capacity_check(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(stack, "Fan", stream=kinesis.Stream(stack, "Orders"))
    for name in ("One", "Two", "Three"):
        fan_out.add_consumer(name, handler=HANDLER)
    assert fan_out.capacity.shards is None


def test_a_misspelt_consumer_option_is_a_type_error_naming_it(new_stack: NewStack) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(stack, "Race", shard_count=1)
    with pytest.raises(TypeError, match=r"add_consumer\('Live'\) got batchsize, which"):
        fan_out.add_consumer("Live", handler=HANDLER, batchsize=10)  # type: ignore[call-arg]
    assert fan_out.capacity.shared_consumers == 0


def test_the_metric_methods_give_the_metrics_the_alarms_watch(new_stack: NewStack) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(stack, "Race", shard_count=1)
    fan_out.add_consumer("Live", enhanced_fan_out=True, handler=HANDLER)

    for role, metric in (
        ("iterator_age", fan_out.metric_iterator_age()),
        ("write_throttles", fan_out.metric_write_throttles()),
        ("read_throttles", fan_out.metric_read_throttles()),
        ("consumer_lag:Live", fan_out.metric_consumer_lag("Live")),
    ):
        watched = fan_out.alarms[role].metric
        assert (metric.metric_name, metric.statistic, stack.resolve(metric.dimensions)) == (
            watched.metric_name,  # type: ignore[attr-defined]
            watched.statistic,  # type: ignore[attr-defined]
            stack.resolve(watched.dimensions),  # type: ignore[attr-defined]
        )
    with pytest.raises(KeyError, match="no enhanced fan-out consumer 'Other'"):
        fan_out.metric_consumer_lag("Other")


def test_alarms_false_leaves_out_the_stream_consumer_and_lag_alarms(new_stack: NewStack) -> None:
    stack = new_stack()
    fan_out = KinesisFanOut(stack, "Race", shard_count=1, alarms=False)
    consumer = fan_out.add_consumer("Leaderboard", enhanced_fan_out=True, handler=HANDLER)
    loud = fan_out.add_consumer("Loud", handler=HANDLER, alarms=True)

    assert fan_out.alarms == {}
    assert consumer.alarms == {}
    assert sorted(loud.alarms) == ["dead_letter_queue_depth", "errors", "iterator_age", "throttles"]
    alarms = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == 4
    assert fan_out.metric_iterator_age().metric_name == "GetRecords.IteratorAgeMilliseconds"


def test_the_default_child_is_the_stream_it_created(new_stack: NewStack) -> None:
    stack = new_stack()
    created = KinesisFanOut(stack, "Race", shard_count=1)
    assert created.node.default_child is created.stream
    given = KinesisFanOut(stack, "Given", stream=created.stream, shard_count=1)
    assert given.node.default_child is None
