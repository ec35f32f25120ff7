"""LocalCloud announcing new S3 objects: EventBridge ``Object Created`` events, SQS records."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator

import boto3
import pytest
from aws_cdk import App, DefaultStackSynthesizer, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs

from lambda_blueprints.testing import Clock, DeployedStack, LocalCloud
from tests.conftest import CDK_CONTEXT

#: 2023-11-14T22:13:20Z
START = 1_700_000_000.0

RECORDER = textwrap.dedent(
    """
    def handler(event, context):
        return {"key": event["detail"]["object"]["key"]}
    """
)


def new_stack(name: str) -> Stack:
    return Stack(
        App(context=CDK_CONTEXT),
        name,
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )


def uploads_stack() -> Stack:
    """Two buckets, one with EventBridge on; a rule sends every Object Created to a function.

    The other bucket notifies a queue only: watched, but not announced on EventBridge.
    """
    stack = new_stack("Uploads")
    announced = s3.Bucket(stack, "Announced", event_bridge_enabled=True)
    s3.Bucket(stack, "Quiet").add_event_notification(
        s3.EventType.OBJECT_CREATED, s3n.SqsDestination(sqs.Queue(stack, "QuietArrivals"))
    )
    recorder = lambda_.Function(
        stack,
        "Recorder",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(RECORDER),
    )
    # No bucket filter: an announcement from the quiet bucket would reach the function too.
    rule = events.Rule(
        stack,
        "ObjectCreated",
        event_pattern=events.EventPattern(source=["aws.s3"], detail_type=["Object Created"]),
    )
    rule.add_target(targets.LambdaFunction(recorder))
    firehose.DeliveryStream(stack, "Delivery", destination=firehose.S3Bucket(announced))
    return stack


@pytest.fixture
def uploads() -> Iterator[tuple[LocalCloud, DeployedStack]]:
    with LocalCloud(clock=Clock(START)) as cloud:
        yield cloud, cloud.deploy(uploads_stack())


def put(bucket: str, key: str, body: bytes) -> str:
    """Write an object; return its ETag (without quotes)."""
    return str(boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body)["ETag"]).strip('"')


def announced_keys(cloud: LocalCloud) -> list[str]:
    return [
        i.event["detail"]["object"]["key"]
        for i in cloud.log.invocations()
        if i.source == "eventbridge"
    ]


def test_a_new_object_reaches_the_rule_target_as_an_object_created_event(
    uploads: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = uploads
    bucket = stack.physical_id("Announced")
    etag = put(bucket, "in/report.csv", b"a,b\n1,2\n")

    cloud.run_until_idle()

    (invocation,) = cloud.log.invocations()
    assert (invocation.source, invocation.outcome) == ("eventbridge", "success")
    event = invocation.event
    assert {k: event[k] for k in ("version", "detail-type", "source", "account", "region")} == {
        "version": "0",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "region": "us-east-1",
    }
    assert (event["time"], event["resources"]) == (
        "2023-11-14T22:13:20Z",
        [f"arn:aws:s3:::{bucket}"],
    )
    detail = event["detail"]
    assert detail["object"] == {
        "key": "in/report.csv",
        "size": 8,
        "etag": etag,
        "sequencer": detail["object"]["sequencer"],
    }
    assert (detail["version"], detail["bucket"], detail["reason"]) == (
        "0",
        {"name": bucket},
        "PutObject",
    )
    assert detail["requester"] == "123456789012"
    assert len(detail["request-id"]) == 16


def test_an_overwritten_object_is_announced_again_and_an_unchanged_one_is_not(
    uploads: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = uploads
    bucket = stack.physical_id("Announced")
    put(bucket, "state.json", b'{"v": 1}')
    cloud.run_until_idle()
    cloud.run_until_idle()
    assert announced_keys(cloud) == ["state.json"]

    put(bucket, "state.json", b'{"v": 2}')
    cloud.run_until_idle()

    first, second = (i.event["detail"]["object"] for i in cloud.log.invocations())
    assert (second["key"], second["etag"] != first["etag"]) == ("state.json", True)
    assert second["sequencer"] > first["sequencer"]


def test_a_deleted_then_recreated_object_is_announced_again(
    uploads: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = uploads
    bucket = stack.physical_id("Announced")
    put(bucket, "again.txt", b"same")
    cloud.run_until_idle()
    boto3.client("s3").delete_object(Bucket=bucket, Key="again.txt")
    cloud.run_until_idle()

    put(bucket, "again.txt", b"same")
    cloud.run_until_idle()

    assert announced_keys(cloud) == ["again.txt", "again.txt"]


def test_a_bucket_without_eventbridge_sends_no_events(
    uploads: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = uploads
    put(stack.physical_id("Quiet"), "queued.txt", b"x")
    put(stack.physical_id("Announced"), "seen.txt", b"y")

    cloud.run_until_idle()

    assert announced_keys(cloud) == ["seen.txt"]
    received = boto3.client("sqs").receive_message(QueueUrl=stack.physical_id("QuietArrivals"))
    (message,) = received["Messages"]
    assert json.loads(message["Body"])["Records"][0]["s3"]["object"]["key"] == "queued.txt"


def test_objects_that_firehose_writes_are_announced(
    uploads: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = uploads
    name = stack.physical_id("Delivery")
    cloud.put_firehose_records(name, ["one\n", "two\n"])

    cloud.run_until_idle()

    (key,) = announced_keys(cloud)
    assert key.startswith(f"2023/11/14/22/{name}-1-2023-11-14-22-13-20-")
    # The announcement happens after the flush, at the buffering deadline.
    assert cloud.log.invocations()[0].event["time"] == "2023-11-14T22:18:20Z"


def test_a_handler_writing_an_object_is_announced(
    uploads: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = uploads
    bucket = stack.physical_id("Announced")
    writer = textwrap.dedent(
        f"""
        import boto3

        def handler(event, context):
            boto3.client("s3").put_object(Bucket="{bucket}", Key="from-handler", Body=b"z")
        """
    )
    stack2 = new_stack("Writer")
    lambda_.Function(
        stack2,
        "Writer",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(writer),
    )
    writer_name = cloud.deploy(stack2).physical_id("Writer")

    assert cloud.invoke(writer_name, {}).ok
    cloud.run_until_idle()

    assert announced_keys(cloud) == ["from-handler"]


# --- queue notifications and the CloudFormation form -------------------------------------------


def queue_stack() -> Stack:
    stack = new_stack("Inbox")
    queue = sqs.Queue(stack, "Arrivals")
    bucket = s3.Bucket(stack, "Inbox")
    bucket.add_event_notification(
        s3.EventType.OBJECT_CREATED,
        s3n.SqsDestination(queue),
        s3.NotificationKeyFilter(prefix="in/", suffix=".csv"),
    )
    return stack


def test_queue_notifications_receive_s3_event_records_for_matching_keys() -> None:
    with LocalCloud(clock=Clock(START)) as cloud:
        stack = cloud.deploy(queue_stack())
        bucket = stack.physical_id("Inbox")
        put(bucket, "in/a b.csv", b"1,2")
        put(bucket, "in/skipped.txt", b"x")
        put(bucket, "out/skipped.csv", b"x")

        cloud.run_until_idle()

        received = boto3.client("sqs").receive_message(
            QueueUrl=stack.physical_id("Arrivals"), MaxNumberOfMessages=10
        )
    (message,) = received["Messages"]
    (record,) = json.loads(message["Body"])["Records"]
    assert (record["eventSource"], record["eventName"]) == ("aws:s3", "ObjectCreated:Put")
    assert record["eventTime"] == "2023-11-14T22:13:20.000Z"
    assert record["s3"]["bucket"]["name"] == bucket
    assert (record["s3"]["object"]["key"], record["s3"]["object"]["size"]) == ("in/a+b.csv", 3)


def test_a_cloudformation_bucket_with_eventbridge_enabled_is_announced() -> None:
    stack = new_stack("Raw")
    bucket = s3.CfnBucket(
        stack,
        "Raw",
        notification_configuration=s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                event_bridge_enabled=True
            )
        ),
    )
    queue = sqs.Queue(stack, "Events")
    events.Rule(
        stack,
        "All",
        event_pattern=events.EventPattern(source=["aws.s3"]),
        targets=[targets.SqsQueue(queue)],
    )
    del bucket
    with LocalCloud(clock=Clock(START)) as cloud:
        deployed = cloud.deploy(stack)
        put(deployed.physical_id("Raw"), "k", b"v")

        cloud.run_until_idle()

        received = boto3.client("sqs").receive_message(QueueUrl=deployed.physical_id("Events"))
    (message,) = received["Messages"]
    assert json.loads(message["Body"])["detail"]["object"]["key"] == "k"


def test_fails_when_a_bucket_notifies_a_function_directly() -> None:
    stack = new_stack("Direct")
    function = lambda_.Function(
        stack,
        "Handler",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(RECORDER),
    )
    s3.Bucket(stack, "Bucket").add_event_notification(
        s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(function)
    )

    with LocalCloud() as cloud, pytest.raises(NotImplementedError, match="straight to Lambda"):
        cloud.deploy(stack)
