"""LocalCloud delivering EventBridge events from a deployed rule."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator

import boto3
import pytest
from aws_cdk import App, DefaultStackSynthesizer, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs

from lambda_blueprints.testing import DeployedStack, LocalCloud, ec2_state_change_event
from tests.conftest import CDK_CONTEXT

RECORDER = textwrap.dedent(
    """
    def handler(event, context):
        if event["detail"]["instance-id"] == "i-0badbadbadbadbad0":
            raise ValueError("cannot handle " + event["detail"]["instance-id"])
        return {"seen": event["detail"]["instance-id"]}
    """
)


@pytest.fixture
def deployed() -> Iterator[tuple[LocalCloud, DeployedStack]]:
    stack = Stack(
        App(context=CDK_CONTEXT),
        "Dns",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    failed = sqs.Queue(stack, "AsyncFailures")
    audit = sqs.Queue(stack, "StateChanges")
    function = lambda_.Function(
        stack,
        "Recorder",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(RECORDER),
    )
    function.configure_async_invoke(
        retry_attempts=1, on_failure=destinations.SqsDestination(failed)
    )
    rule = events.Rule(
        stack,
        "InstanceStates",
        event_pattern=events.EventPattern(
            source=["aws.ec2"],
            detail_type=["EC2 Instance State-change Notification"],
            detail={"state": ["running", "shutting-down", "stopped"]},
        ),
    )
    rule.add_target(targets.LambdaFunction(function, max_event_age=Duration.hours(1)))
    rule.add_target(targets.SqsQueue(audit))
    with LocalCloud() as cloud:
        yield cloud, cloud.deploy(stack)


def messages(queue_url: str) -> list[dict[str, object]]:
    found = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in found.get("Messages", [])]


def test_matching_events_reach_every_target(deployed: tuple[LocalCloud, DeployedStack]) -> None:
    cloud, stack = deployed

    cloud.put_events([ec2_state_change_event("i-0123456789abcdef0", "running")])
    cloud.put_events([ec2_state_change_event("i-0fedcba9876543210", "pending")])

    (invocation,) = cloud.log.invocations()
    assert invocation.source == "eventbridge"
    assert invocation.result.payload == {"seen": "i-0123456789abcdef0"}
    (queued,) = messages(stack.physical_id("StateChanges"))
    assert queued["detail"] == {"instance-id": "i-0123456789abcdef0", "state": "running"}  # type: ignore[comparison-overlap]


def test_failing_async_invocations_are_retried_then_sent_to_the_destination(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed

    cloud.put_events([ec2_state_change_event("i-0badbadbadbadbad0", "stopped")])

    assert [i.outcome for i in cloud.log.invocations()] == ["failure", "failure"]
    (record,) = messages(stack.physical_id("AsyncFailures"))
    assert record["requestContext"]["condition"] == "RetriesExhausted"  # type: ignore[index]
    assert record["requestContext"]["approximateInvokeCount"] == 2  # type: ignore[index]
    assert record["requestPayload"]["detail"]["instance-id"] == "i-0badbadbadbadbad0"  # type: ignore[index]
