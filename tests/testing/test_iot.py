"""LocalCloud running AWS IoT Core topic rules from a deployed stack."""

from __future__ import annotations

import base64
import json
import textwrap
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_cdk import App, DefaultStackSynthesizer, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_iot as iot
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from botocore.exceptions import ClientError

from lambda_blueprints import IotTopicToKinesis, KinesisFanOut
from lambda_blueprints.testing import Clock, DeployedStack, LocalCloud, topic_matches
from lambda_blueprints.testing.iot import (
    MAX_MESSAGE_BYTES,
    MAX_PARTITION_KEY_CHARS,
    MAX_REPUBLISH_HOPS,
    IotMessage,
    MessageTooLargeError,
    UnsupportedSql,
    parse_sql,
    render,
    select,
)
from tests.conftest import CDK_CONTEXT

CONSUMER = textwrap.dedent(
    """
    import base64, json

    def handler(event, context):
        return {
            "readings": [
                json.loads(base64.b64decode(r["kinesis"]["data"])) for r in event["Records"]
            ]
        }
    """
)

RESPONDER = textwrap.dedent(
    """
    import json
    import boto3

    def handler(event, context):
        if event["action"] == "fail":
            raise RuntimeError("cannot " + event["action"])
        boto3.client("iot-data").publish(
            topic="replies/" + event["device"],
            qos=1,
            payload=json.dumps({"pong": event["action"]}),
        )
        return {"answered": event["device"]}
    """
)

RULE_ROLE = "arn:aws:iam::123456789012:role/iot-rules"
READINGS_RULE = "readings_to_kinesis"
ARCHIVE_RULE = "archive_everything"
ALARM_RULE = "alarm_relay"
COMMAND_RULE = "device_commands"
DIRECT_RULE = "direct_to_lambda"
LOOP_RULE = "echo_loop"
MISSING_RULE = "to_missing_stream"
DISABLED_RULE = "switched_off"
BASE64_RULE = "queue_base64"
FIREHOSE_RULE = "to_firehose"


def _sqs(url: str, role: iam.IRole, *, base64_body: bool = False) -> Any:
    return iot.CfnTopicRule.ActionProperty(
        sqs=iot.CfnTopicRule.SqsActionProperty(
            queue_url=url, role_arn=role.role_arn, use_base64=base64_body
        )
    )


def _stack(name: str) -> Stack:
    return Stack(
        App(context=CDK_CONTEXT),
        name,
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )


def _rule(
    stack: Stack, construct_id: str, name: str, sql: str, *actions: Any, **extra: Any
) -> None:
    iot.CfnTopicRule(
        stack,
        construct_id,
        rule_name=name,
        topic_rule_payload=iot.CfnTopicRule.TopicRulePayloadProperty(
            sql=sql, actions=list(actions), aws_iot_sql_version="2016-03-23", **extra
        ),
    )


def build_stack() -> Stack:
    stack = _stack("Telemetry")
    role = iam.Role(stack, "RuleRole", assumed_by=iam.ServicePrincipal("iot.amazonaws.com"))
    stream = kinesis.Stream(stack, "Readings", shard_count=1)
    errors = sqs.Queue(stack, "RuleErrors")
    encoded = sqs.Queue(stack, "Encoded")
    async_failures = sqs.Queue(stack, "AsyncFailures")
    archive = s3.Bucket(stack, "Archive")
    consumer = lambda_.Function(
        stack,
        "Consumer",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(CONSUMER),
    )
    consumer.add_event_source(
        event_sources.KinesisEventSource(
            stream, starting_position=lambda_.StartingPosition.TRIM_HORIZON
        )
    )
    responder = lambda_.Function(
        stack,
        "Responder",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(RESPONDER),
    )
    responder.configure_async_invoke(
        retry_attempts=1, on_failure=destinations.SqsDestination(async_failures)
    )
    _rule(
        stack,
        "ReadingsRule",
        READINGS_RULE,
        "SELECT device, reading.temperature AS temp, topic(2) AS site "
        "FROM 'sensors/+/telemetry' WHERE reading.temperature > 20 AND NOT (status = 'test')",
        iot.CfnTopicRule.ActionProperty(
            kinesis=iot.CfnTopicRule.KinesisActionProperty(
                stream_name=stream.stream_name,
                partition_key="${device}-${topic(2)}",
                role_arn=role.role_arn,
            )
        ),
        error_action=_sqs(errors.queue_url, role),
    )
    _rule(
        stack,
        "ArchiveRule",
        ARCHIVE_RULE,
        "SELECT * FROM 'sensors/#'",
        iot.CfnTopicRule.ActionProperty(
            s3=iot.CfnTopicRule.S3ActionProperty(
                bucket_name=archive.bucket_name,
                key="${topic()}/${timestamp()}.bin",
                role_arn=role.role_arn,
            )
        ),
    )
    _rule(
        stack,
        "AlarmRule",
        ALARM_RULE,
        "SELECT *, clientid() AS client FROM 'alarms/raw'",
        iot.CfnTopicRule.ActionProperty(
            republish=iot.CfnTopicRule.RepublishActionProperty(
                topic="alarms/${severity}", role_arn=role.role_arn
            )
        ),
    )
    _rule(
        stack,
        "CommandRule",
        COMMAND_RULE,
        "SELECT *, topic(2) AS device FROM 'commands/+'",
        iot.CfnTopicRule.ActionProperty(
            lambda_=iot.CfnTopicRule.LambdaActionProperty(function_arn=responder.function_arn)
        ),
    )
    _rule(
        stack,
        "DirectRule",
        DIRECT_RULE,
        "SELECT * FROM 'direct/+'",
        iot.CfnTopicRule.ActionProperty(
            lambda_=iot.CfnTopicRule.LambdaActionProperty(function_arn=responder.function_arn)
        ),
    )
    _rule(
        stack,
        "LoopRule",
        LOOP_RULE,
        "SELECT * FROM 'loop/#'",
        iot.CfnTopicRule.ActionProperty(
            republish=iot.CfnTopicRule.RepublishActionProperty(
                topic="loop/again", role_arn=role.role_arn
            )
        ),
    )
    _rule(
        stack,
        "MissingRule",
        MISSING_RULE,
        "SELECT * FROM 'orphans/+'",
        iot.CfnTopicRule.ActionProperty(
            kinesis=iot.CfnTopicRule.KinesisActionProperty(
                stream_name="no-such-stream", role_arn=role.role_arn
            )
        ),
        _sqs(encoded.queue_url, role),
        error_action=iot.CfnTopicRule.ActionProperty(
            s3=iot.CfnTopicRule.S3ActionProperty(
                bucket_name=archive.bucket_name,
                key="errors/${topic(2)}.json",
                role_arn=role.role_arn,
            )
        ),
    )
    _rule(
        stack,
        "DisabledRule",
        DISABLED_RULE,
        "SELECT * FROM 'orphans/+'",
        _sqs(errors.queue_url, role),
        rule_disabled=True,
    )
    _rule(
        stack,
        "Base64Rule",
        BASE64_RULE,
        "SELECT * FROM 'raw/+'",
        _sqs(encoded.queue_url, role, base64_body=True),
    )
    _rule(
        stack,
        "FirehoseRule",
        FIREHOSE_RULE,
        "SELECT device FROM 'fleet/+'",
        iot.CfnTopicRule.ActionProperty(
            firehose=iot.CfnTopicRule.FirehoseActionProperty(
                delivery_stream_name="fleet-readings", separator="\n", role_arn=role.role_arn
            )
        ),
    )
    return stack


@pytest.fixture(scope="module")
def telemetry_stack() -> Stack:
    return build_stack()


@pytest.fixture
def deployed(telemetry_stack: Stack) -> Iterator[tuple[LocalCloud, DeployedStack]]:
    with LocalCloud(clock=Clock(1_700_000_000.0)) as cloud:
        yield cloud, cloud.deploy(telemetry_stack)


def stream_records(stream_name: str) -> list[Any]:
    client = boto3.client("kinesis")
    shard = client.list_shards(StreamName=stream_name)["Shards"][0]["ShardId"]
    iterator = client.get_shard_iterator(
        StreamName=stream_name, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return list(client.get_records(ShardIterator=iterator)["Records"])


def queue_bodies(queue_url: str) -> list[str]:
    found = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [m["Body"] for m in found.get("Messages", [])]


def runs_of(cloud: LocalCloud, rule: str) -> int:
    return sum(1 for run in cloud.iot_rule_runs if run.rule == rule)


READING = {"device": "d-1", "reading": {"temperature": 25.5, "humidity": 40}, "status": "ok"}


# --------------------------------------------------------------------------- deploy


def test_topic_rules_deploy_with_their_names_and_arns(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed

    assert stack.physical_id("ReadingsRule") == READINGS_RULE
    assert stack.attribute("ReadingsRule", "Arn") == (
        f"arn:aws:iot:us-east-1:123456789012:rule/{READINGS_RULE}"
    )
    assert not [s for s in cloud.skipped if s[2] == "AWS::IoT::TopicRule"]


def test_a_rule_without_a_name_gets_a_valid_generated_one() -> None:
    stack = _stack("Name-With-Hyphens")
    iot.CfnTopicRule(
        stack,
        "Unnamed",
        topic_rule_payload=iot.CfnTopicRule.TopicRulePayloadProperty(
            sql="SELECT * FROM 'a/b'",
            actions=[
                iot.CfnTopicRule.ActionProperty(
                    republish=iot.CfnTopicRule.RepublishActionProperty(
                        topic="c/d", role_arn=RULE_ROLE
                    )
                )
            ],
        ),
    )
    with LocalCloud() as cloud:
        name = cloud.deploy(stack).physical_id("Unnamed")

        assert name.startswith("Name_With_Hyphens_Unnamed_")
        assert name.replace("_", "").isalnum()
        cloud.iot_publish("a/b", "hi")
        assert cloud.iot_messages("c/d") == [("c/d", b"hi")]


def test_unsupported_sql_fails_the_deployment_naming_the_rule_and_the_sql() -> None:
    stack = _stack("Unsupported")
    iot.CfnTopicRule(
        stack,
        "Upper",
        topic_rule_payload=iot.CfnTopicRule.TopicRulePayloadProperty(
            sql="SELECT upper(device) AS d FROM 'a/b'",
            actions=[
                iot.CfnTopicRule.ActionProperty(
                    republish=iot.CfnTopicRule.RepublishActionProperty(
                        topic="c", role_arn=RULE_ROLE
                    )
                )
            ],
        ),
    )
    with LocalCloud() as cloud, pytest.raises(NotImplementedError) as raised:
        cloud.deploy(stack)

    assert "Unsupported/Upper" in str(raised.value)
    assert "SELECT upper(device) AS d FROM 'a/b'" in str(raised.value)
    assert "upper()" in str(raised.value)


# --------------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("sensors/+/telemetry", "sensors/site1/telemetry", True),
        ("sensors/+/telemetry", "sensors/site1/other", False),
        ("sensors/+/telemetry", "sensors/a/b/telemetry", False),
        ("sensors/#", "sensors", True),
        ("sensors/#", "sensors/a/b/c", True),
        ("sensors/#", "sensorsx/a", False),
        ("+/+", "a/b", True),
        ("+", "a/b", False),
        ("#", "$aws/things/t/shadow/update", False),
        ("$aws/things/+/shadow/update", "$aws/things/t/shadow/update", True),
    ],
)
def test_topic_filters_follow_mqtt_wildcards(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


def test_a_matching_message_lands_projected_in_kinesis_with_the_templated_partition_key(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed

    cloud.iot_publish("sensors/site1/telemetry", READING)

    (record,) = stream_records(stack.physical_id("Readings"))
    assert json.loads(record["Data"]) == {"device": "d-1", "temp": 25.5, "site": "site1"}
    assert record["PartitionKey"] == "d-1-site1"
    cloud.run_until_idle()
    (invocation,) = cloud.log.invocations(function=stack.physical_id("Consumer"))
    assert invocation.result.payload == {
        "readings": [{"device": "d-1", "temp": 25.5, "site": "site1"}]
    }


@pytest.mark.parametrize(
    "payload",
    [
        {"device": "d-1", "reading": {"temperature": 20}, "status": "ok"},
        {"device": "d-1", "reading": {"temperature": 30}, "status": "test"},
        {"device": "d-1", "status": "ok"},
        {"device": "d-1", "reading": {"temperature": "hot"}, "status": "ok"},
    ],
    ids=["not-above-20", "test-status", "missing-field", "string-vs-number"],
)
def test_where_keeps_out_messages_it_does_not_hold_for(
    deployed: tuple[LocalCloud, DeployedStack], payload: dict[str, Any]
) -> None:
    cloud, stack = deployed

    cloud.iot_publish("sensors/site1/telemetry", payload)

    assert stream_records(stack.physical_id("Readings")) == []
    assert runs_of(cloud, READINGS_RULE) == 0
    assert runs_of(cloud, ARCHIVE_RULE) == 1


def test_a_multi_level_wildcard_rule_archives_every_payload_as_published(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    raw = b"\x00\x01binary frame\xff"

    cloud.iot_publish("sensors/site2/frames", raw)
    cloud.iot_publish("sensors/site1/telemetry", READING)

    bucket = stack.physical_id("Archive")
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [
        "sensors/site1/telemetry/1700000000000.bin",
        "sensors/site2/frames/1700000000000.bin",
    ]
    frame = s3.get_object(Bucket=bucket, Key="sensors/site2/frames/1700000000000.bin")
    assert frame["Body"].read() == raw
    assert runs_of(cloud, READINGS_RULE) == 1


def test_a_non_json_payload_only_matches_select_star(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    cloud.iot_publish("sensors/site1/telemetry", b"not json")

    assert runs_of(cloud, READINGS_RULE) == 0
    assert runs_of(cloud, ARCHIVE_RULE) == 1


def test_a_payload_too_deeply_nested_to_parse_only_matches_select_star(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    # About 2 KB; the rules engine takes a payload it cannot parse as binary.
    deep = ("[" * 1100 + "]" * 1100).encode()

    cloud.iot_publish("sensors/site1/telemetry", deep)

    assert runs_of(cloud, READINGS_RULE) == 0
    assert runs_of(cloud, ARCHIVE_RULE) == 1
    archived = boto3.client("s3").get_object(
        Bucket=stack.physical_id("Archive"), Key="sensors/site1/telemetry/1700000000000.bin"
    )
    assert archived["Body"].read() == deep


def test_a_payload_too_deeply_nested_to_parse_cannot_go_to_a_lambda_action(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed

    cloud.iot_publish("direct/d-7", "[" * 1100 + "]" * 1100)

    assert cloud.log.invocations(function=stack.physical_id("Responder")) == []
    (run,) = [r for r in cloud.iot_rule_runs if r.rule == DIRECT_RULE]
    assert run.failures[0]["failedAction"] == "LambdaAction"
    assert "not JSON" in run.failures[0]["errorMessage"]


def test_a_payload_over_128_kb_is_refused_and_runs_no_rule(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    with pytest.raises(MessageTooLargeError, match="exceeds size limit") as refused:
        cloud.iot_publish("sensors/site1/telemetry", b"x" * (MAX_MESSAGE_BYTES + 1))

    assert refused.value.reason == "PAYLOAD_LIMIT_EXCEEDED"
    assert cloud.iot_rule_runs == []
    assert cloud.iot_messages() == []


def test_a_payload_of_exactly_128_kb_is_published(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    cloud.iot_publish("sensors/site1/telemetry", b"x" * MAX_MESSAGE_BYTES)

    assert runs_of(cloud, ARCHIVE_RULE) == 1
    assert len(cloud.iot_messages("sensors/#")) == 1


def test_a_disabled_rule_never_runs(deployed: tuple[LocalCloud, DeployedStack]) -> None:
    cloud, stack = deployed

    cloud.iot_publish("orphans/o1", {"x": 1})

    assert runs_of(cloud, DISABLED_RULE) == 0
    assert queue_bodies(stack.physical_id("RuleErrors")) == []


# --------------------------------------------------------------------------- failures


def test_an_injected_failure_sends_the_error_message_to_the_error_action(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    cloud.iot_faults.fail(READINGS_RULE, "Kinesis")

    cloud.iot_publish("sensors/site1/telemetry", READING, client_id="thing-7")

    assert stream_records(stack.physical_id("Readings")) == []
    (body,) = queue_bodies(stack.physical_id("RuleErrors"))
    message = json.loads(body)
    assert set(message) == {
        "ruleName",
        "topic",
        "cloudwatchTraceId",
        "clientId",
        "base64OriginalPayload",
        "failures",
    }
    assert message["ruleName"] == READINGS_RULE
    assert message["topic"] == "sensors/site1/telemetry"
    assert message["clientId"] == "thing-7"
    assert json.loads(base64.b64decode(message["base64OriginalPayload"])) == READING
    assert message["failures"] == [
        {
            "failedAction": "KinesisAction",
            "failedResource": stack.physical_id("Readings"),
            "errorMessage": "Injected failure",
        }
    ]
    (record,) = cloud.log.failures(mapping_id=READINGS_RULE)
    assert record.source == "iot"
    assert record.condition == "KinesisAction"
    assert record.items == (message["cloudwatchTraceId"],)


def test_an_injected_failure_is_used_up(deployed: tuple[LocalCloud, DeployedStack]) -> None:
    cloud, stack = deployed
    cloud.iot_faults.fail(READINGS_RULE, "kinesis", times=1)

    cloud.iot_publish("sensors/site1/telemetry", READING)
    cloud.iot_publish("sensors/site1/telemetry", READING)

    assert len(stream_records(stack.physical_id("Readings"))) == 1
    assert [bool(run.failures) for run in cloud.iot_rule_runs if run.rule == READINGS_RULE] == [
        True,
        False,
    ]


def test_a_missing_stream_fails_its_action_only_and_runs_the_error_action(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed

    cloud.iot_publish("orphans/o1", {"x": 1})

    # The rule's other action (SQS) still delivers.
    assert queue_bodies(stack.physical_id("Encoded")) == ['{"x": 1}']
    error = boto3.client("s3").get_object(Bucket=stack.physical_id("Archive"), Key="errors/o1.json")
    message = json.loads(error["Body"].read())
    (failure,) = message["failures"]
    assert failure["failedAction"] == "KinesisAction"
    assert failure["failedResource"] == "no-such-stream"
    assert "ResourceNotFoundException" in failure["errorMessage"]
    (run,) = [r for r in cloud.iot_rule_runs if r.rule == MISSING_RULE]
    assert run.actions == ("Kinesis", "Sqs")
    assert run.error_action_failed is None


RACE_RULE = "race_positions"
UNKEYED_RULE = "unkeyed_positions"


@pytest.fixture(scope="module")
def race_stack() -> Stack:
    """The Alleycat ingestion: messages keyed by their raceId, plus a rule with no key."""
    stack = _stack("RaceIngest")
    race = KinesisFanOut(stack, "Race", shard_count=2)
    IotTopicToKinesis(
        stack,
        "Ingest",
        stream=race.stream,
        topic_filter="bikes/+/position",
        partition_key="${raceId}",
        rule_name=RACE_RULE,
    )
    role = iam.Role(stack, "UnkeyedRole", assumed_by=iam.ServicePrincipal("iot.amazonaws.com"))
    _rule(
        stack,
        "UnkeyedRule",
        UNKEYED_RULE,
        "SELECT * FROM 'bikes/+/unkeyed'",
        iot.CfnTopicRule.ActionProperty(
            kinesis=iot.CfnTopicRule.KinesisActionProperty(
                stream_name=race.stream.stream_name, role_arn=role.role_arn
            )
        ),
    )
    return stack


def all_stream_records(stream_name: str) -> list[Any]:
    client = boto3.client("kinesis")
    records: list[Any] = []
    for shard in client.list_shards(StreamName=stream_name)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records.extend(client.get_records(ShardIterator=iterator)["Records"])
    return records


def error_documents(bucket: str) -> list[dict[str, Any]]:
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return [json.loads(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()) for o in listed]


def test_a_templated_partition_key_keys_the_record(race_stack: Stack) -> None:
    with LocalCloud() as cloud:
        deployed = cloud.deploy(race_stack)

        cloud.iot_publish("bikes/7/position", {"raceId": "race-42", "km": 3.5})

        (record,) = all_stream_records(deployed.physical_id("Race/Stream"))
        assert record["PartitionKey"] == "race-42"


@pytest.mark.parametrize(
    ("payload", "rendered"),
    [
        ({"km": 3.5}, ""),
        ({"raceId": "r" * (MAX_PARTITION_KEY_CHARS + 1), "km": 3.5}, "r" * 257),
    ],
    ids=["field-missing", "longer-than-256"],
)
def test_a_partition_key_putrecord_rejects_fails_the_action_into_the_error_action(
    race_stack: Stack, payload: dict[str, Any], rendered: str
) -> None:
    with LocalCloud() as cloud:
        deployed = cloud.deploy(race_stack)

        cloud.iot_publish("bikes/7/position", payload)

        # Not a record under a random key: the message is kept by the error action only.
        assert all_stream_records(deployed.physical_id("Race/Stream")) == []
        (run,) = [r for r in cloud.iot_rule_runs if r.rule == RACE_RULE]
        (failure,) = run.failures
        assert failure["failedAction"] == "KinesisAction"
        assert failure["failedResource"] == deployed.physical_id("Race/Stream")
        assert f"Value {rendered!r} at 'partitionKey'" in failure["errorMessage"]
        assert "length between 1 and 256" in failure["errorMessage"]
        assert run.error_action_failed is None
        (document,) = error_documents(deployed.physical_id("Ingest/ErrorBucket"))
        assert document["ruleName"] == RACE_RULE
        assert json.loads(base64.b64decode(document["base64OriginalPayload"])) == payload
        assert document["failures"] == [failure]


def test_an_absent_partition_key_is_a_new_uuid_per_message(race_stack: Stack) -> None:
    with LocalCloud() as cloud:
        deployed = cloud.deploy(race_stack)

        cloud.iot_publish("bikes/7/unkeyed", {"km": 1})
        cloud.iot_publish("bikes/7/unkeyed", {"km": 2})

        keys = [r["PartitionKey"] for r in all_stream_records(deployed.physical_id("Race/Stream"))]
        assert len(keys) == 2
        assert len(set(keys)) == 2
        assert all(len(key) == 36 for key in keys)
        assert not [r.failures for r in cloud.iot_rule_runs if r.failures]


def test_unknown_action_kinds_cannot_be_injected(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    with pytest.raises(ValueError, match="DynamoDB"):
        cloud.iot_faults.fail(READINGS_RULE, "DynamoDB")


# --------------------------------------------------------------------------- actions


def test_republish_fills_the_topic_template_and_keeps_the_client_id(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    cloud.iot_publish("alarms/raw", {"severity": "high", "text": "overheat"}, client_id="dev-9")

    ((raw_topic, _), (topic, payload)) = cloud.iot_messages("alarms/+")
    assert raw_topic == "alarms/raw"
    assert topic == "alarms/high"
    assert json.loads(payload) == {"severity": "high", "text": "overheat", "client": "dev-9"}


def test_a_republished_result_over_128_kb_fails_the_action(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed
    payload = {"severity": "high", "text": ""}
    # The rule adds "client": the payload fits, the result does not.
    payload["text"] = "x" * (MAX_MESSAGE_BYTES - len(json.dumps(payload, separators=(",", ":"))))
    text = json.dumps(payload, separators=(",", ":"))
    assert len(text) == MAX_MESSAGE_BYTES

    cloud.iot_publish("alarms/raw", text)

    (run,) = [r for r in cloud.iot_rule_runs if r.rule == ALARM_RULE]
    assert run.failures[0]["failedAction"] == "RepublishAction"
    assert "exceeds size limit" in run.failures[0]["errorMessage"]
    assert cloud.iot_messages("alarms/high") == []


def test_a_republish_loop_is_stopped_and_reported(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    cloud.iot_publish("loop/start", "ping")

    runs = [run for run in cloud.iot_rule_runs if run.rule == LOOP_RULE]
    assert len(runs) == MAX_REPUBLISH_HOPS + 1
    assert [bool(run.failures) for run in runs].count(True) == 1
    (failed,) = [run for run in runs if run.failures]
    assert failed.failures[0]["failedAction"] == "RepublishAction"
    assert "loop" in failed.failures[0]["errorMessage"]
    assert len(cloud.iot_messages("loop/again")) == MAX_REPUBLISH_HOPS


def test_the_lambda_action_invokes_the_function_which_publishes_through_iot_data(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed

    cloud.iot_publish("commands/d-4", {"action": "ping"})

    (invocation,) = cloud.log.invocations(function=stack.physical_id("Responder"))
    assert invocation.source == "iot"
    assert invocation.mapping_id == COMMAND_RULE
    assert invocation.event == {"action": "ping", "device": "d-4"}
    assert cloud.iot_messages("replies/#") == [("replies/d-4", b'{"pong": "ping"}')]
    assert [topic for topic, _ in cloud.iot_messages()] == ["commands/d-4", "replies/d-4"]


def test_the_lambda_action_follows_the_functions_async_retries_and_destination(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed

    cloud.iot_publish("commands/d-5", {"action": "fail"})

    invocations = cloud.log.invocations(function=stack.physical_id("Responder"))
    assert [(i.attempt, i.outcome) for i in invocations] == [(0, "failure"), (1, "failure")]
    (body,) = queue_bodies(stack.physical_id("AsyncFailures"))
    record = json.loads(body)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"action": "fail", "device": "d-5"}
    # A function error is Lambda's to retry: the rule action itself succeeded.
    (run,) = [r for r in cloud.iot_rule_runs if r.rule == COMMAND_RULE]
    assert run.failures == ()


def test_a_non_json_payload_cannot_go_to_a_lambda_action(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed

    cloud.iot_publish("direct/d-6", b"\x01\x02")

    assert cloud.log.invocations(function=stack.physical_id("Responder")) == []
    (run,) = [r for r in cloud.iot_rule_runs if r.rule == DIRECT_RULE]
    assert run.failures[0]["failedAction"] == "LambdaAction"


def test_the_sqs_action_can_base64_encode_the_body(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed

    cloud.iot_publish("raw/r1", b"\x00\xffpayload")

    (body,) = queue_bodies(stack.physical_id("Encoded"))
    assert base64.b64decode(body) == b"\x00\xffpayload"


def test_the_firehose_action_puts_one_record_with_its_separator(
    deployed: tuple[LocalCloud, DeployedStack], monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud, _ = deployed
    received: list[tuple[str, list[bytes]]] = []
    monkeypatch.setattr(
        cloud,
        "put_firehose_records",
        lambda name, records: received.append((name, records)),
        raising=False,
    )

    cloud.iot_publish("fleet/truck-1", {"device": "truck-1", "speed": 80})

    assert received == [("fleet-readings", [b'{"device":"truck-1"}\n'])]


def test_a_firehose_delivery_error_fails_the_action(
    deployed: tuple[LocalCloud, DeployedStack], monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud, _ = deployed

    def missing(name: str, records: list[bytes]) -> None:
        raise KeyError(f"no Firehose delivery stream {name!r} is deployed")

    monkeypatch.setattr(cloud, "put_firehose_records", missing, raising=False)

    cloud.iot_publish("fleet/truck-2", {"device": "truck-2"})

    (run,) = [r for r in cloud.iot_rule_runs if r.rule == FIREHOSE_RULE]
    (failure,) = run.failures
    assert failure["failedAction"] == "FirehoseAction"
    assert failure["failedResource"] == "fleet-readings"
    assert "no Firehose delivery stream" in failure["errorMessage"]
    # The rule has no error action: the failure is only recorded.
    assert run.error_message is not None
    assert cloud.log.failures() == []


def test_the_firehose_action_needs_a_cloud_that_emulates_firehose(
    deployed: tuple[LocalCloud, DeployedStack], monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud, _ = deployed
    monkeypatch.delattr(LocalCloud, "put_firehose_records", raising=False)

    with pytest.raises(NotImplementedError, match="Firehose"):
        cloud.iot_publish("fleet/truck-1", {"device": "truck-1"})


def test_a_handler_cannot_publish_more_than_128_kb_through_iot_data(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed
    iot_data = boto3.client("iot-data")

    with pytest.raises(ClientError) as refused:
        iot_data.publish(topic="status/big", payload=b"x" * (MAX_MESSAGE_BYTES + 1))
    iot_data.publish(topic="status/fits", payload=b"x" * MAX_MESSAGE_BYTES)

    assert refused.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert [topic for topic, _ in cloud.iot_messages("status/+")] == ["status/fits"]


def test_iot_messages_filters_by_topic_and_rejects_bad_filters(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed
    boto3.client("iot-data").publish(topic="status/a", payload=b"first")
    cloud.iot_publish("status/b", "second")

    assert cloud.iot_messages("status/+") == [("status/a", b"first"), ("status/b", b"second")]
    assert cloud.iot_messages("status/a") == [("status/a", b"first")]
    with pytest.raises(ValueError, match="'#'"):
        cloud.iot_messages("status/#/x")
    with pytest.raises(ValueError, match="wildcard"):
        cloud.iot_publish("status/+", "x")


# --------------------------------------------------------------------------- SQL


def message(payload: Any, topic: str = "a/b/c", **fields: Any) -> IotMessage:
    return IotMessage(topic=topic, payload=json.dumps(payload).encode(), **fields)


@pytest.mark.parametrize(
    ("sql", "payload", "expected"),
    [
        ("SELECT * FROM 'a/#'", {"x": 1}, {"x": 1}),
        ("SELECT x, y.z FROM 'a/#'", {"x": 1, "y": {"z": 2}}, {"x": 1, "z": 2}),
        ("SELECT x AS renamed, missing FROM 'a/#'", {"x": 1}, {"renamed": 1}),
        ("SELECT topic() AS t, topic(3) AS last FROM 'a/#'", {}, {"t": "a/b/c", "last": "c"}),
        ("SELECT topic(9) AS none FROM 'a/#'", {}, {}),
        ("SELECT timestamp() AS ts, clientid() AS c FROM 'a/#'", {}, {"ts": 5000, "c": "cli"}),
        ("SELECT *, 'x' AS tag FROM 'a/#' WHERE ok = true", {"ok": True}, {"ok": True, "tag": "x"}),
        ("SELECT * FROM 'a/#' WHERE n >= -1.5 OR missing = 1", {"n": -1.5}, {"n": -1.5}),
        (
            "SELECT * FROM 'a/#' WHERE s <> 'x' AND (n < 2 OR n > 9)",
            {"s": "y", "n": 10},
            {"s": "y", "n": 10},
        ),
    ],
)
def test_select_projects_and_where_filters(sql: str, payload: Any, expected: Any) -> None:
    query = parse_sql(sql)

    result = select(query, message(payload, client_id="cli", timestamp_ms=5000))

    assert result is not None
    assert json.loads(result) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM 'a/#' WHERE missing = 1",
        "SELECT * FROM 'a/#' WHERE NOT missing = 1",
        "SELECT * FROM 'a/#' WHERE n = '1'",
        "SELECT * FROM 'a/#' WHERE flag > false",
        "SELECT * FROM 'a/#' WHERE n = 1 AND missing = 2",
        "SELECT * FROM 'a/#' WHERE NOT (n = 1)",
    ],
)
def test_where_is_false_unless_it_is_true(sql: str) -> None:
    query = parse_sql(sql)

    assert select(query, message({"n": 1, "flag": True})) is None


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a + 1 AS b FROM 'x'",
        "SELECT upper(a) AS b FROM 'x'",
        "SELECT topic() FROM 'x'",
        "SELECT a FROM 'x' WHERE a IN (1, 2)",
        "SELECT a[0] AS b FROM 'x'",
        "SELECT a FROM x",
    ],
)
def test_sql_outside_the_subset_is_not_implemented(sql: str) -> None:
    with pytest.raises(UnsupportedSql):
        parse_sql(sql)
    assert issubclass(UnsupportedSql, NotImplementedError)


def test_an_invalid_topic_filter_is_rejected() -> None:
    with pytest.raises(ValueError, match="whole level"):
        parse_sql("SELECT * FROM 'a/b+'")


def test_substitution_templates_read_the_original_message() -> None:
    original = message({"device": "d", "nested": {"n": 2}, "on": True}, topic="x/y")

    text = render("${device}/${nested.n}/${topic(2)}/${on}/${missing}/${nested}", original)

    assert text == 'd/2/y/true//{"n":2}'
    assert len(render("${newuuid()}", original)) == 36
