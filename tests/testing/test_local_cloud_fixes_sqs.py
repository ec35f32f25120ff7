"""A throttled function fed by SQS: its messages come back after the visibility timeout."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator

import boto3
import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs

from lambda_blueprints.testing import DeployedStack, LocalCloud

NewStack = Callable[..., Stack]
VISIBILITY_TIMEOUT = 60
MAX_RECEIVE_COUNT = 3

HANDLER = textwrap.dedent(
    """
    def handler(event, context):
        return None
    """
)


@pytest.fixture(params=["standard", "fifo"])
def queue_stack(
    new_stack: NewStack, request: pytest.FixtureRequest
) -> Iterator[tuple[LocalCloud, DeployedStack]]:
    fifo = request.param == "fifo"
    stack = new_stack("Throttled")
    dead_letters = sqs.Queue(stack, "DeadLetters", fifo=fifo or None)
    queue = sqs.Queue(
        stack,
        "Inbox",
        fifo=fifo or None,
        content_based_deduplication=fifo or None,
        visibility_timeout=Duration.seconds(VISIBILITY_TIMEOUT),
        dead_letter_queue=sqs.DeadLetterQueue(
            queue=dead_letters, max_receive_count=MAX_RECEIVE_COUNT
        ),
    )
    function = lambda_.Function(
        stack,
        "Consumer",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(HANDLER),
    )
    function.add_event_source(event_sources.SqsEventSource(queue))
    with LocalCloud() as cloud:
        yield cloud, cloud.deploy(stack)


def _send(deployed: DeployedStack, body: str) -> None:
    url = deployed.physical_id("Inbox")
    extra = {"MessageGroupId": "g"} if url.endswith(".fifo") else {}
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody=body, **extra)  # type: ignore[arg-type]


def _visible(deployed: DeployedStack, queue: str) -> list[str]:
    received = boto3.client("sqs").receive_message(
        QueueUrl=deployed.physical_id(queue), MaxNumberOfMessages=10
    )
    return [m["Body"] for m in received.get("Messages", [])]


def test_a_throttled_batch_is_delivered_when_its_visibility_timeout_ends(
    queue_stack: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, deployed = queue_stack
    cloud.faults.inject(deployed.physical_id("Consumer"), throttle=MAX_RECEIVE_COUNT - 1)
    _send(deployed, json.dumps({"order": 1}))
    started = cloud.clock.now()

    cloud.run_until_idle()

    invocations = [i for i in cloud.log.invocations() if i.source == "sqs"]
    # The throttled receives never reached the function; the last receive did.
    assert [(i.outcome, i.attempt) for i in invocations] == [("success", MAX_RECEIVE_COUNT - 1)]
    records = invocations[0].event["Records"]
    assert records[0]["attributes"]["ApproximateReceiveCount"] == str(MAX_RECEIVE_COUNT)
    assert invocations[0].at == started + (MAX_RECEIVE_COUNT - 1) * VISIBILITY_TIMEOUT
    assert cloud.log.failures() == []
    assert _visible(deployed, "Inbox") == []
    assert _visible(deployed, "DeadLetters") == []


def test_a_batch_throttled_past_max_receive_count_moves_to_the_dead_letter_queue(
    queue_stack: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, deployed = queue_stack
    cloud.faults.inject(deployed.physical_id("Consumer"), throttle=MAX_RECEIVE_COUNT)
    _send(deployed, json.dumps({"order": 2}))

    cloud.run_until_idle()

    assert [i for i in cloud.log.invocations() if i.source == "sqs"] == []
    (moved,) = cloud.log.failures()
    assert moved.condition == "maxReceiveCount"
    assert moved.body == {"order": 2}
    assert _visible(deployed, "Inbox") == []
    assert _visible(deployed, "DeadLetters") == [json.dumps({"order": 2})]
