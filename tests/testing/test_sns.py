"""SNS subscriptions of Lambda functions in the local cloud, and the sns_event factory."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from aws_cdk import App, DefaultStackSynthesizer, Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs

from lambda_blueprints.testing import Clock, DeployedStack, Invocation, LocalCloud, sns_event
from lambda_blueprints.testing.events import (
    DEFAULT_SNS_SUBSCRIPTION_ID,
    DEFAULT_SNS_TOPIC_ARN,
    SNS_MAX_MESSAGE_BYTES,
)
from lambda_blueprints.testing.filtering import FilterError
from lambda_blueprints.testing.sns import (
    INTERNAL_QUEUE_PREFIX,
    THROTTLE_ATTEMPTS,
    notification_body,
    validate_filter_policy,
)
from tests.conftest import CDK_CONTEXT

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
MISSING_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:gone"

# Returns its event; fails on "fail"; relays "echo:<text>" to the Echo topic.
RECORDER = textwrap.dedent(
    """
    import os

    import boto3


    def handler(event, context):
        message = event["Records"][0]["Sns"]["Message"]
        if message == "fail":
            raise ValueError("cannot handle " + message)
        if message.startswith("echo:"):
            boto3.client("sns").publish(TopicArn=os.environ["ECHO_TOPIC"], Message=message[5:])
        return event
    """
)
# Answers "ping" on the Echo topic with "pong" on the Alerts topic.
ECHOED = textwrap.dedent(
    """
    import os

    import boto3


    def handler(event, context):
        if event["Records"][0]["Sns"]["Message"] == "ping":
            boto3.client("sns").publish(
                TopicArn=os.environ["ALERTS_TOPIC"],
                Message="pong",
                MessageAttributes={"kind": {"DataType": "String", "StringValue": "zombie"}},
            )
        return event
    """
)
# Fails on "fail", otherwise returns nothing.
COUNTER = textwrap.dedent(
    """
    def handler(event, context):
        if event["Records"][0]["Sns"]["Message"] == "fail":
            raise RuntimeError("counter failed")
    """
)
PASSTHROUGH = "def handler(event, context):\n    return event\n"


def _function(stack: Stack, name: str, code: str) -> lambda_.Function:
    return lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(code),
    )


def _build_stack() -> Stack:
    """Every subscription the tests use, in one stack (synthesized once)."""
    stack = Stack(
        App(context=CDK_CONTEXT),
        "Outbreak",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    failures = sqs.Queue(stack, "Failures")
    undelivered = sqs.Queue(stack, "Undelivered")
    alerts = sns.Topic(stack, "Alerts")
    echo = sns.Topic(stack, "Echo")

    recorder = _function(stack, "Recorder", RECORDER)
    recorder.add_environment("ECHO_TOPIC", echo.topic_arn)
    recorder.configure_async_invoke(
        retry_attempts=1,
        max_event_age=Duration.minutes(1),
        on_failure=destinations.SqsDestination(failures),
    )
    alerts.add_subscription(
        subscriptions.LambdaSubscription(
            recorder,
            filter_policy={
                "kind": sns.SubscriptionFilter.string_filter(allowlist=["zombie", "horde"])
            },
            dead_letter_queue=undelivered,
        )
    )
    counter = _function(stack, "Counter", COUNTER)
    counter.configure_async_invoke(
        retry_attempts=0, on_failure=destinations.SqsDestination(failures)
    )
    alerts.add_subscription(subscriptions.LambdaSubscription(counter))

    echoed = _function(stack, "Echoed", ECHOED)
    echoed.add_environment("ALERTS_TOPIC", alerts.topic_arn)
    echo.add_subscription(subscriptions.LambdaSubscription(echoed))

    sightings = sns.Topic(stack, "Sightings")
    reader = _function(stack, "BodyReader", PASSTHROUGH)
    by_body = sns.Subscription(
        stack,
        "ByBody",
        topic=sightings,
        protocol=sns.SubscriptionProtocol.LAMBDA,
        endpoint=reader.function_arn,
    )
    cfn = by_body.node.default_child
    assert isinstance(cfn, sns.CfnSubscription)
    # $or inside a MessageBody policy: the case moto's own matcher fails on.
    cfn.filter_policy = {
        "$or": [
            {"sensor": {"zone": [{"prefix": "north"}]}},
            {"priority": [{"numeric": [">=", 5]}]},
        ]
    }
    cfn.filter_policy_scope = "MessageBody"

    orphans = sns.Topic(stack, "Orphans")
    lost = sqs.Queue(stack, "Lost")
    sns.Subscription(
        stack,
        "ToGone",
        topic=orphans,
        protocol=sns.SubscriptionProtocol.LAMBDA,
        endpoint=MISSING_FUNCTION,
        dead_letter_queue=lost,
    )
    sns.Subscription(
        stack,
        "ToVanished",
        topic=orphans,
        protocol=sns.SubscriptionProtocol.LAMBDA,
        endpoint="arn:aws:lambda:us-east-1:123456789012:function:vanished",
    )
    return stack


@pytest.fixture(scope="module")
def outbreak() -> Stack:
    return _build_stack()


@pytest.fixture
def deployed(outbreak: Stack) -> Iterator[tuple[LocalCloud, DeployedStack]]:
    with LocalCloud(clock=Clock(start=START)) as cloud:
        yield cloud, cloud.deploy(outbreak)


def publish(stack: DeployedStack, topic: str, message: str, **attributes: dict[str, Any]) -> str:
    response = boto3.client("sns").publish(
        TopicArn=stack.physical_id(f"Outbreak/{topic}"),
        Message=message,
        **attributes,  # type: ignore[arg-type]
    )
    return str(response["MessageId"])


def zombie(stack: DeployedStack, message: str, **extra: Any) -> str:
    """Publish to Alerts with the attribute the Recorder's filter policy wants."""
    attributes = {"kind": {"DataType": "String", "StringValue": "zombie"}}
    attributes.update(extra.pop("MessageAttributes", {}))
    return publish(stack, "Alerts", message, MessageAttributes=attributes, **extra)


def invocations(cloud: LocalCloud, stack: DeployedStack, function: str) -> list[Invocation]:
    return cloud.log.invocations(function=stack.physical_id(function))


def messages_of(cloud: LocalCloud, stack: DeployedStack, function: str) -> list[str]:
    return [i.event["Records"][0]["Sns"]["Message"] for i in invocations(cloud, stack, function)]


def receive(stack: DeployedStack, queue: str) -> list[dict[str, Any]]:
    found = boto3.client("sqs").receive_message(
        QueueUrl=stack.physical_id(queue), MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )
    return list(found.get("Messages", []))


def subscription_of(stack: DeployedStack, function: str) -> str:
    """The ARN of the one subscription whose construct path is under ``function``."""
    (arn,) = [
        r.ref
        for r in stack.resources.values()
        if r.type == "AWS::SNS::Subscription" and f"/{function}/" in r.path
    ]
    return arn


def keys(value: Any) -> Any:
    """The key structure of a JSON value: objects' keys (in order) and their structures."""
    if isinstance(value, dict):
        return [(k, keys(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [keys(v) for v in value]
    return type(value).__name__


# --- delivery ------------------------------------------------------------------------------


def test_a_published_message_reaches_the_function_once_in_the_sns_event_shape(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    message_id = zombie(
        stack,
        "sighting at the mall",
        MessageAttributes={
            "count": {"DataType": "Number", "StringValue": "12"},
            "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
            "tags": {"DataType": "String.Array", "StringValue": '["fast", 3]'},
        },
    )

    cloud.run_until_idle()
    cloud.run_until_idle()

    (invocation,) = invocations(cloud, stack, "Recorder")
    event = invocation.event
    # What the handler received is what was logged.
    assert invocation.result.payload == event
    arn = subscription_of(stack, "Recorder")
    topic = stack.physical_id("Outbreak/Alerts")
    expected = sns_event(
        "sighting at the mall",
        topic_arn=topic,
        message_attributes=event["Records"][0]["Sns"]["MessageAttributes"],
        subscription_arn=arn,
    )
    # The factory's keys, in the factory's order, all the way down.
    assert keys(event) == keys(expected)
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == arn
    notification = record["Sns"]
    assert notification["Type"] == "Notification"
    assert notification["MessageId"] == message_id
    assert notification["TopicArn"] == topic
    assert notification["Message"] == "sighting at the mall"
    assert notification["Timestamp"] == "2026-01-01T00:00:00.000Z"
    assert notification["SignatureVersion"] == "1"
    assert notification["UnsubscribeUrl"].endswith(f"SubscriptionArn={arn}")
    assert notification["SigningCertUrl"].startswith("https://sns.us-east-1.amazonaws.com/")
    assert "SigningCertURL" not in notification and "UnsubscribeURL" not in notification
    assert notification["MessageAttributes"] == {
        "kind": {"Type": "String", "Value": "zombie"},
        "count": {"Type": "Number", "Value": "12"},
        "raw": {"Type": "Binary", "Value": "AAE="},
        "tags": {"Type": "String.Array", "Value": '["fast", 3]'},
    }


def test_the_activity_log_records_each_delivery_with_source_sns(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    message_id = zombie(stack, "one")

    cloud.run_until_idle()

    (invocation,) = invocations(cloud, stack, "Recorder")
    assert invocation.source == "sns"
    assert invocation.mapping_id == subscription_of(stack, "Recorder")
    assert invocation.items == (message_id,)
    assert (invocation.outcome, invocation.attempt) == ("success", 0)
    assert invocation.at == START


def test_the_subject_is_null_without_one_and_the_subject_when_given(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    zombie(stack, "no subject")
    zombie(stack, "with subject", Subject="Outbreak")

    cloud.run_until_idle()

    subjects = {
        i.event["Records"][0]["Sns"]["Message"]: i.event["Records"][0]["Sns"]["Subject"]
        for i in invocations(cloud, stack, "Recorder")
    }
    assert subjects == {"no subject": None, "with subject": "Outbreak"}


def test_a_filter_policy_on_attributes_passes_matching_messages_only(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    publish(stack, "Alerts", "a horde", MessageAttributes={"kind": _string("horde")})
    publish(stack, "Alerts", "a human", MessageAttributes={"kind": _string("human")})
    publish(stack, "Alerts", "no attributes")

    cloud.run_until_idle(advance_clock=False)

    assert messages_of(cloud, stack, "Recorder") == ["a horde"]
    # The Counter's subscription has no policy: it gets all three.
    assert sorted(messages_of(cloud, stack, "Counter")) == ["a horde", "a human", "no attributes"]


def test_a_filter_policy_on_the_message_body_with_or_passes_matching_messages_only(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    for body in (
        {"sensor": {"zone": "north-3"}},
        {"sensor": {"zone": "south-1"}},
        {"priority": 7, "sensor": {"zone": "east"}},
        {"priority": 2},
    ):
        publish(stack, "Sightings", json.dumps(body))
    publish(stack, "Sightings", "north, but not JSON")
    # The scope is the body: an attribute that would match changes nothing.
    publish(stack, "Sightings", '{"priority": 1}', MessageAttributes={"priority": _number("9")})

    cloud.run_until_idle()

    assert [json.loads(m) for m in messages_of(cloud, stack, "BodyReader")] == [
        {"sensor": {"zone": "north-3"}},
        {"priority": 7, "sensor": {"zone": "east"}},
    ]


def test_two_subscriptions_of_one_topic_both_deliver_the_message(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    message_id = zombie(stack, "everyone")

    cloud.run_until_idle()

    (recorded,) = invocations(cloud, stack, "Recorder")
    (counted,) = invocations(cloud, stack, "Counter")
    for invocation, function in ((recorded, "Recorder"), (counted, "Counter")):
        (record,) = invocation.event["Records"]
        assert record["Sns"]["MessageId"] == message_id
        assert record["EventSubscriptionArn"] == subscription_of(stack, function)
    assert subscription_of(stack, "Recorder") != subscription_of(stack, "Counter")


def test_a_handler_that_publishes_is_delivered_in_the_same_run_until_idle(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    zombie(stack, "echo:ping")

    cloud.run_until_idle()

    # Alerts -> Recorder -> Echo -> Echoed -> Alerts -> Recorder: one hop of the chain goes
    # back to a queue already drained, so it takes another turn of run_until_idle.
    assert messages_of(cloud, stack, "Echoed") == ["ping"]
    assert messages_of(cloud, stack, "Recorder") == ["echo:ping", "pong"]


def test_publishing_to_topics_with_function_subscriptions_never_raises(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    ids = [
        zombie(stack, "filtered in"),
        publish(stack, "Alerts", "filtered out", MessageAttributes={"kind": _string("x")}),
        publish(stack, "Sightings", json.dumps({"sensor": {"zone": "north"}})),
        publish(stack, "Sightings", "not JSON for a MessageBody policy"),
        publish(stack, "Orphans", "to functions that are not deployed"),
        publish(stack, "Echo", "pong"),
    ]
    assert all(ids)

    cloud.run_until_idle()

    assert messages_of(cloud, stack, "BodyReader") == [json.dumps({"sensor": {"zone": "north"}})]


def test_the_internal_queues_are_no_resources_of_the_stack(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    urls = list(cloud.sns.function_subscriptions)
    assert len(urls) == 6
    assert all(url.rsplit("/", 1)[-1].startswith(INTERNAL_QUEUE_PREFIX) for url in urls)
    physical = {r.ref for r in stack.resources.values()}
    assert not physical & set(urls)
    assert not [s for s in cloud.skipped if s[2] == "AWS::SNS::Subscription"]


# --- retries and the on-failure destination ------------------------------------------------


def test_a_function_error_is_retried_then_sent_to_the_on_failure_queue_with_the_error(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    message_id = zombie(stack, "fail")

    cloud.run_until_idle()

    attempts = invocations(cloud, stack, "Recorder")
    assert [(i.attempt, i.outcome) for i in attempts] == [(0, "failure"), (1, "failure")]
    records = [json.loads(m["Body"]) for m in receive(stack, "Failures")]
    (record,) = [
        r
        for r in records
        if ":function:" + stack.physical_id("Recorder") in r["requestContext"]["functionArn"]
    ]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"].endswith(":$LATEST")
    assert record["requestPayload"] == attempts[0].event
    assert record["requestPayload"]["Records"][0]["Sns"]["MessageId"] == message_id
    assert record["responsePayload"] == {
        "errorMessage": "cannot handle fail",
        "errorType": "ValueError",
    }
    (failure,) = [
        f for f in cloud.log.failures() if f.mapping_id == subscription_of(stack, "Recorder")
    ]
    assert (failure.source, failure.condition) == ("sns", "RetriesExhausted")
    assert failure.destination == stack.attribute("Failures", "Arn")
    assert failure.items == (message_id,)


def test_maximum_retry_attempts_zero_invokes_once_then_reports_the_failure(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    zombie(stack, "fail")

    cloud.run_until_idle()

    assert [(i.attempt, i.outcome) for i in invocations(cloud, stack, "Counter")] == [
        (0, "failure")
    ]
    records = [json.loads(m["Body"]) for m in receive(stack, "Failures")]
    (record,) = [
        r
        for r in records
        if ":function:" + stack.physical_id("Counter") in r["requestContext"]["functionArn"]
    ]
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responsePayload"]["errorType"] == "RuntimeError"


def test_retries_wait_on_the_shared_retry_delay_and_stop_at_the_event_age(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    # The one retry-delay hook of Lambda's asynchronous invocation, which EventBridge and
    # IoT use too. The Recorder keeps events 60 seconds.
    cloud._async_invocations.retry_delay = lambda retry: 61.0
    zombie(stack, "fail")

    cloud.run_until_idle()

    assert [i.attempt for i in invocations(cloud, stack, "Recorder")] == [0]
    assert cloud.clock.now() == START + 61
    (failure,) = [
        f for f in cloud.log.failures() if f.mapping_id == subscription_of(stack, "Recorder")
    ]
    assert failure.condition == "EventAgeExceeded"


def test_a_success_after_a_retry_sends_nothing_to_the_on_failure_queue(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    cloud.faults.inject(stack.physical_id("Recorder"), fail=1)
    zombie(stack, "second time lucky")

    cloud.run_until_idle()

    assert [i.outcome for i in invocations(cloud, stack, "Recorder")] == ["failure", "success"]
    assert receive(stack, "Failures") == []
    assert receive(stack, "Undelivered") == []


# --- the subscription's dead-letter queue --------------------------------------------------


def test_a_throttle_beyond_snss_retries_sends_the_notification_to_the_dead_letter_queue(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    cloud.faults.inject(stack.physical_id("Recorder"), throttle=THROTTLE_ATTEMPTS)
    message_id = zombie(stack, "throttled", Subject="Busy")

    cloud.run_until_idle()

    assert invocations(cloud, stack, "Recorder") == []
    (message,) = receive(stack, "Undelivered")
    body = json.loads(message["Body"])
    arn = subscription_of(stack, "Recorder")
    assert body["Type"] == "Notification"
    assert body["MessageId"] == message_id
    assert body["TopicArn"] == stack.physical_id("Outbreak/Alerts")
    assert body["Message"] == "throttled"
    assert body["Subject"] == "Busy"
    assert body["MessageAttributes"] == {"kind": {"Type": "String", "Value": "zombie"}}
    assert body["UnsubscribeURL"].endswith(f"SubscriptionArn={arn}")
    assert "SigningCertURL" in body and "SigningCertUrl" not in body
    attributes = message["MessageAttributes"]
    assert attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "429"}
    assert attributes["ErrorMessage"] == {"DataType": "String", "StringValue": "Rate Exceeded."}
    assert attributes["RequestID"]["DataType"] == "String"
    assert re.fullmatch(r"[0-9a-f-]{36}", attributes["RequestID"]["StringValue"])
    (failure,) = cloud.log.failures(mapping_id=arn)
    assert (failure.source, failure.condition) == ("sns", "TooManyRequestsException")
    assert failure.destination == stack.attribute("Undelivered", "Arn")
    assert failure.body == body
    # A throttle is SNS's to retry: Lambda never accepted the event, so no on-failure record.
    assert receive(stack, "Failures") == []


def test_a_throttle_within_snss_retries_is_delivered(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    cloud.faults.inject(stack.physical_id("Recorder"), throttle=THROTTLE_ATTEMPTS - 1)
    zombie(stack, "eventually")

    cloud.run_until_idle()

    assert [i.outcome for i in invocations(cloud, stack, "Recorder")] == ["success"]
    assert receive(stack, "Undelivered") == []


def test_a_subscription_of_no_deployed_function_dead_letters_or_drops_the_message(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    message_id = publish(stack, "Orphans", "anyone there?")

    cloud.run_until_idle()

    (message,) = receive(stack, "Lost")
    assert json.loads(message["Body"])["MessageId"] == message_id
    assert message["MessageAttributes"]["ErrorCode"]["StringValue"] == "404"
    assert message["MessageAttributes"]["ErrorMessage"]["StringValue"] == (
        f"Function not found: {MISSING_FUNCTION}"
    )
    failures = {f.destination: f for f in cloud.log.failures()}
    assert set(failures) == {stack.attribute("Lost", "Arn"), ""}
    assert {f.condition for f in failures.values()} == {"ResourceNotFoundException"}
    assert all(f.items == (message_id,) for f in failures.values())


# --- deploy-time checks --------------------------------------------------------------------


def _one_subscription_stack(name: str, **topic: Any) -> tuple[Stack, sns.CfnSubscription]:
    stack = Stack(
        App(context=CDK_CONTEXT),
        name,
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    function = _function(stack, "Handler", PASSTHROUGH)
    subscription = sns.Subscription(
        stack,
        "Subscription",
        topic=sns.Topic(stack, "Topic", **topic),
        protocol=sns.SubscriptionProtocol.LAMBDA,
        endpoint=function.function_arn,
    )
    cfn = subscription.node.default_child
    assert isinstance(cfn, sns.CfnSubscription)
    return stack, cfn


def test_a_function_subscription_with_raw_message_delivery_fails_to_deploy() -> None:
    stack, cfn = _one_subscription_stack("Raw")
    cfn.raw_message_delivery = True
    with LocalCloud() as cloud, pytest.raises(ValueError, match="raw message delivery"):
        cloud.deploy(stack)


def test_a_function_subscription_of_a_fifo_topic_fails_to_deploy() -> None:
    stack, _ = _one_subscription_stack("Fifo", fifo=True)
    with LocalCloud() as cloud, pytest.raises(ValueError, match="FIFO topic"):
        cloud.deploy(stack)


@pytest.mark.parametrize(
    ("policy", "scope", "match"),
    [
        ({"a": {"b": ["x"]}}, "MessageAttributes", "nests only with"),
        ({"a": [{"wildcard": "x*"}]}, "MessageAttributes", "no 'wildcard'"),
        ({"a": [{"anything-but": {"wildcard": "x*"}}]}, "MessageBody", "no 'wildcard'"),
        ({f"k{i}": ["v"] for i in range(6)}, "MessageAttributes", "at most 5"),
        ({"a": list(range(10)), "b": list(range(10)), "c": ["x", "y"]}, "MessageBody", "200"),
        # Nested arrays count times their depth: 4 x 3 x 2 x 3 = 72 fits, 3 x 3 x 3 x 6 not.
        ({"a": {"b": {"c": ["1", "2", "3"]}}, "d": {"e": list("abcdefghi")}}, "MessageBody", "162"),
        ({}, "MessageAttributes", "may not be empty"),
        ({"a": ["x"]}, "Attributes", "FilterPolicyScope"),
    ],
)
def test_filter_policies_that_sns_refuses_are_refused(
    policy: dict[str, Any], scope: str, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        validate_filter_policy(policy, scope)


def test_filter_policies_within_snss_limits_are_accepted() -> None:
    validate_filter_policy(
        {"a": {"b": {"c": ["1", "2", "3", "4"]}}, "d": {"e": ["x", "y", "z"]}}, "MessageBody"
    )
    validate_filter_policy(
        {"$or": [{"a": [{"prefix": "x"}]}, {"b": [{"numeric": [">", 1]}]}]}, "MessageAttributes"
    )
    with pytest.raises(FilterError):
        validate_filter_policy({"a": [{"numeric": [">", "one"]}]}, "MessageAttributes")


# --- the event factory ---------------------------------------------------------------------


def test_sns_event_defaults() -> None:
    event = sns_event("hello", timestamp=START + 0.25)

    assert json.loads(json.dumps(event)) == event
    (record,) = event["Records"]
    assert list(record) == ["EventSource", "EventVersion", "EventSubscriptionArn", "Sns"]
    assert (
        record["EventSubscriptionArn"] == f"{DEFAULT_SNS_TOPIC_ARN}:{DEFAULT_SNS_SUBSCRIPTION_ID}"
    )
    notification = record["Sns"]
    assert list(notification) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertUrl",
        "UnsubscribeUrl",
        "MessageAttributes",
    ]
    assert notification["Subject"] is None
    assert notification["MessageAttributes"] == {}
    assert notification["Timestamp"] == "2026-01-01T00:00:00.250Z"
    assert notification["TopicArn"] == DEFAULT_SNS_TOPIC_ARN
    assert re.fullmatch(r"[0-9a-f-]{36}", notification["MessageId"])
    assert len(notification["Signature"]) == 344  # base64 of 256 bytes
    assert notification["UnsubscribeUrl"] == (
        "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
        f"{record['EventSubscriptionArn']}"
    )


def test_sns_event_types_message_attributes() -> None:
    attributes = sns_event(
        {"a": 1},
        message_attributes={
            "text": "x",
            "whole": 3,
            "fraction": 2.5,
            "exact": Decimal("1.10"),
            "blob": b"\xff",
            "list": ["a", 1, True, None],
            "labelled": {"Type": "Number.float", "Value": "1.5"},
            "bytes": {"Type": "Binary", "Value": b"\x00"},
        },
    )["Records"][0]["Sns"]["MessageAttributes"]
    assert attributes == {
        "text": {"Type": "String", "Value": "x"},
        "whole": {"Type": "Number", "Value": "3"},
        "fraction": {"Type": "Number", "Value": "2.5"},
        "exact": {"Type": "Number", "Value": "1.10"},
        "blob": {"Type": "Binary", "Value": "/w=="},
        "list": {"Type": "String.Array", "Value": '["a", 1, true, null]'},
        "labelled": {"Type": "Number.float", "Value": "1.5"},
        "bytes": {"Type": "Binary", "Value": "AA=="},
    }


def test_sns_event_sends_a_mapping_as_json_and_keeps_the_given_ids() -> None:
    topic = "arn:aws:sns:eu-west-1:111122223333:orders"
    event = sns_event(
        {"order": 7},
        subject="New order",
        topic_arn=topic,
        message_id="m-1",
        subscription_arn=f"{topic}:abc",
    )
    (record,) = event["Records"]
    assert json.loads(record["Sns"]["Message"]) == {"order": 7}
    assert record["Sns"]["Subject"] == "New order"
    assert record["Sns"]["MessageId"] == "m-1"
    assert record["EventSubscriptionArn"] == f"{topic}:abc"
    assert record["Sns"]["SigningCertUrl"].startswith("https://sns.eu-west-1.amazonaws.com/")


def test_the_dead_letter_body_spells_the_links_as_an_sqs_body_does() -> None:
    notification = sns_event("m")["Records"][0]["Sns"]
    body = notification_body(notification)
    assert "Subject" not in body and "MessageAttributes" not in body
    assert body["SigningCertURL"] == notification["SigningCertUrl"]
    assert body["UnsubscribeURL"] == notification["UnsubscribeUrl"]
    with_subject = notification_body(
        sns_event("m", subject="s", message_attributes={"a": "b"})["Records"][0]["Sns"]
    )
    assert with_subject["Subject"] == "s"
    assert with_subject["MessageAttributes"] == {"a": {"Type": "String", "Value": "b"}}


@pytest.mark.parametrize(
    ("arguments", "error", "match"),
    [
        ({"message": ""}, ValueError, "message cannot be empty"),
        ({"message": 5}, TypeError, "message is a str"),
        ({"message": "x" * (SNS_MAX_MESSAGE_BYTES + 1)}, ValueError, "256 KiB"),
        (
            {"message": "x" * (SNS_MAX_MESSAGE_BYTES - 4), "message_attributes": {"a": "b"}},
            ValueError,
            "256 KiB",
        ),
        ({"subject": ""}, ValueError, "subject"),
        ({"subject": "s" * 101}, ValueError, "subject"),
        ({"subject": "two\nlines"}, ValueError, "subject"),
        ({"subject": 1}, TypeError, "subject"),
        ({"topic_arn": "arn:aws:sqs:us-east-1:123456789012:queue"}, ValueError, "topic_arn"),
        ({"topic_arn": "arn:aws:sns:us-east-1:123456789012:a b"}, ValueError, "topic_arn"),
        (
            {"subscription_arn": "arn:aws:sns:us-east-1:123456789012:other:abc"},
            ValueError,
            "subscription_arn",
        ),
        ({"subscription_arn": DEFAULT_SNS_TOPIC_ARN}, ValueError, "subscription_arn"),
        ({"subscription_arn": f"{DEFAULT_SNS_TOPIC_ARN}:"}, ValueError, "subscription_arn"),
        ({"message_id": ""}, ValueError, "message_id"),
        ({"timestamp": "now"}, TypeError, "timestamp"),
        ({"timestamp": float("nan")}, ValueError, "timestamp"),
        ({"message_attributes": ["a"]}, TypeError, "message_attributes"),
        ({"message_attributes": {"AWS.reserved": "x"}}, ValueError, "message_attributes"),
        ({"message_attributes": {"a..b": "x"}}, ValueError, "message_attributes"),
        ({"message_attributes": {"a": True}}, TypeError, r"message_attributes\['a'\]"),
        ({"message_attributes": {"a": ""}}, ValueError, r"message_attributes\['a'\]"),
        ({"message_attributes": {"a": object()}}, TypeError, r"message_attributes\['a'\]"),
        ({"message_attributes": {"a": [["nested"]]}}, ValueError, r"message_attributes\['a'\]"),
        ({"message_attributes": {"a": float("inf")}}, ValueError, r"message_attributes\['a'\]"),
        (
            {"message_attributes": {"a": {"Type": "Float", "Value": "1"}}},
            ValueError,
            r"message_attributes\['a'\]",
        ),
        (
            {"message_attributes": {"a": {"Type": "Number", "Value": "one"}}},
            ValueError,
            r"message_attributes\['a'\]",
        ),
        (
            {"message_attributes": {"a": {"Type": "String.Array", "Value": "x"}}},
            ValueError,
            r"message_attributes\['a'\]",
        ),
        (
            {"message_attributes": {"a": {"Type": "Binary", "Value": "not base64!"}}},
            ValueError,
            r"message_attributes\['a'\]",
        ),
        (
            {"message_attributes": {"a": {"Type": "String"}}},
            ValueError,
            r"message_attributes\['a'\]",
        ),
        (
            {"message_attributes": {"a": {"Type": "String", "Value": 1}}},
            TypeError,
            r"message_attributes\['a'\]",
        ),
    ],
)
def test_sns_event_refuses_what_sns_refuses_naming_the_argument(
    arguments: dict[str, Any], error: type[Exception], match: str
) -> None:
    options = {"message": "m", **arguments}
    message = options.pop("message")
    with pytest.raises(error, match=match):
        sns_event(message, **options)


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def _number(value: str) -> dict[str, str]:
    return {"DataType": "Number", "StringValue": value}
