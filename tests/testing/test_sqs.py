"""The SQS event source mapping of the local cloud, against moto."""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import SQSEvent
from moto import mock_aws

from lambda_blueprints.testing.activity import ActivityLog, FailureRecord, InvokeResult
from lambda_blueprints.testing.clock import Clock
from lambda_blueprints.testing.sqs import (
    MAX_PAYLOAD_BYTES,
    SqsEventSourceMapping,
    batch_item_failures,
    failed_message_visible_at,
    fifo_messages_to_retry,
)

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

START = 1_800_000_000.0
_request_ids = itertools.count(1)


class FakeFunction:
    """An in-process function: records every event and answers with ``respond(event)``."""

    def __init__(self, respond: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.respond = respond or (lambda event: None)

    def __call__(self, function_name: str, event: dict[str, Any]) -> InvokeResult:
        self.events.append(copy.deepcopy(event))
        request_id = f"req-{next(_request_ids)}"
        try:
            payload = self.respond(event)
        except Exception as error:
            return InvokeResult(
                request_id=request_id,
                function_error="Unhandled",
                error_type=type(error).__name__,
                error_message=str(error),
            )
        return InvokeResult(request_id=request_id, payload=payload)

    def bodies(self) -> list[list[str]]:
        return [[r["body"] for r in event["Records"]] for event in self.events]


def always_fail(event: dict[str, Any]) -> Any:
    raise RuntimeError("boom")


@dataclass
class Env:
    sqs: SQSClient
    clock: Clock = field(default_factory=lambda: Clock(START))
    log: ActivityLog = field(default_factory=ActivityLog)

    def queue(self, name: str, **attributes: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        return url, arn

    def send(self, url: str, *bodies: str, group: str | None = None) -> list[str]:
        ids = []
        for body in bodies:
            extra: dict[str, Any] = {}
            if group is not None:
                digest = hashlib.sha256(f"{group}-{body}".encode()).hexdigest()
                extra = {"MessageGroupId": group, "MessageDeduplicationId": digest}
            ids.append(self.sqs.send_message(QueueUrl=url, MessageBody=body, **extra)["MessageId"])
        return ids

    def counts(self, url: str) -> tuple[int, int]:
        """(visible, in flight) messages of the queue."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )

    def mapping(
        self, url: str, arn: str, function: FakeFunction, **options: Any
    ) -> SqsEventSourceMapping:
        return SqsEventSourceMapping(
            uuid="esm-1",
            queue_arn=arn,
            queue_url=url,
            function_name="worker",
            invoke=function,
            log=self.log,
            clock=self.clock,
            sqs_client=self.sqs,
            **options,
        )


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws():
        yield Env(boto3.client("sqs", region_name="us-east-1"))


# --- batching -----------------------------------------------------------------------------


def test_a_batch_is_filled_by_several_receive_calls_of_at_most_ten(env: Env) -> None:
    url, arn = env.queue("jobs")
    env.send(url, *[f"m{i}" for i in range(25)])
    asked: list[int] = []
    env.sqs.meta.events.register(
        "provide-client-params.sqs.ReceiveMessage",
        lambda params, **_: asked.append(params["MaxNumberOfMessages"]),
    )
    function = FakeFunction()
    mapping = env.mapping(url, arn, function, batch_size=25, max_batching_window_seconds=1)

    assert mapping.poll() == 25

    assert len(function.events) == 1
    assert sorted(function.bodies()[0]) == sorted(f"m{i}" for i in range(25))
    assert len(asked) >= 3
    assert max(asked) <= 10
    assert env.counts(url) == (0, 0)


def test_a_queue_drains_in_batches_of_batch_size(env: Env) -> None:
    url, arn = env.queue("jobs")
    env.send(url, *[f"m{i}" for i in range(23)])
    function = FakeFunction()

    env.mapping(url, arn, function, batch_size=10).run_until_empty()

    assert [len(b) for b in function.bodies()] == [10, 10, 3]
    assert sorted(itertools.chain(*function.bodies())) == sorted(f"m{i}" for i in range(23))
    assert env.counts(url) == (0, 0)


def test_the_batching_window_runs_on_the_virtual_clock(env: Env) -> None:
    url, arn = env.queue("jobs")
    function = FakeFunction()
    mapping = env.mapping(url, arn, function, batch_size=10, max_batching_window_seconds=5)
    env.send(url, "a", "b", "c")

    assert mapping.poll() == 0  # starts the window
    env.clock.advance(4)
    assert mapping.poll() == 0
    assert function.events == []
    assert env.counts(url) == (0, 3)  # held by the mapping meanwhile

    env.send(url, "d", "e")
    env.clock.advance(1)
    assert mapping.poll() == 5

    assert [sorted(b) for b in function.bodies()] == [["a", "b", "c", "d", "e"]]
    assert env.log.invocations()[0].at == START + 5
    assert env.counts(url) == (0, 0)


def test_a_full_batch_does_not_wait_for_the_window(env: Env) -> None:
    url, arn = env.queue("jobs")
    function = FakeFunction()
    mapping = env.mapping(url, arn, function, batch_size=3, max_batching_window_seconds=60)
    env.send(url, "a", "b")
    assert mapping.poll() == 0

    env.send(url, "c")

    assert mapping.poll() == 3
    assert env.clock.now() == START


def test_run_until_empty_advances_the_clock_to_the_end_of_the_window(env: Env) -> None:
    url, arn = env.queue("jobs")
    function = FakeFunction()
    env.send(url, "a", "b")

    env.mapping(url, arn, function, batch_size=20, max_batching_window_seconds=7).run_until_empty()

    assert [sorted(b) for b in function.bodies()] == [["a", "b"]]
    assert env.clock.now() == START + 7


def test_the_event_stays_under_the_6_mb_payload_limit(env: Env) -> None:
    url, arn = env.queue("big")
    env.send(url, *[str(i) * 1_000_000 for i in range(7)])
    function = FakeFunction()
    mapping = env.mapping(url, arn, function, batch_size=10, max_batching_window_seconds=1)

    assert mapping.poll() == 6  # the 7th would not fit: the batch is sent at once
    assert mapping.poll() == 0  # the 7th starts the next window
    env.clock.advance(1)
    assert mapping.poll() == 1

    first = json.dumps(function.events[0], separators=(",", ":")).encode()
    assert len(first) <= MAX_PAYLOAD_BYTES
    assert len(first) + 1_000_000 > MAX_PAYLOAD_BYTES
    assert env.counts(url) == (0, 0)


# --- event shape --------------------------------------------------------------------------


def test_records_have_the_lambda_sqs_shape(env: Env) -> None:
    url, arn = env.queue("shapes")
    body = json.dumps({"order": 7})
    env.sqs.send_message(
        QueueUrl=url,
        MessageBody=body,
        MessageAttributes={
            "tenant": {"DataType": "String", "StringValue": "acme"},
            "count": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
        },
    )
    function = FakeFunction()

    env.mapping(url, arn, function).poll()

    (record,) = function.events[0]["Records"]
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["body"] == body
    assert record["md5OfBody"] == hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn == "arn:aws:sqs:us-east-1:123456789012:shapes"
    assert record["awsRegion"] == "us-east-1"
    assert isinstance(record["receiptHandle"], str)
    assert record["receiptHandle"]
    attributes = record["attributes"]
    assert set(attributes) == {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    }
    assert attributes["ApproximateReceiveCount"] == "1"
    assert attributes["SentTimestamp"].isdigit()
    assert attributes["ApproximateFirstReceiveTimestamp"].isdigit()
    assert record["messageAttributes"] == {
        "tenant": {
            "stringValue": "acme",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "count": {
            "stringValue": "3",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number",
        },
        "blob": {
            "binaryValue": base64.b64encode(b"\x00\xff").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    (parsed,) = SQSEvent(function.events[0]).records
    assert parsed.json_body == {"order": 7}
    tenant = parsed.message_attributes["tenant"]
    assert tenant is not None
    assert tenant.string_value == "acme"
    assert parsed.attributes.approximate_receive_count == "1"


def test_fifo_records_carry_sequence_group_and_deduplication_id(env: Env) -> None:
    url, arn = env.queue("orders.fifo", FifoQueue="true")
    env.sqs.send_message(
        QueueUrl=url, MessageBody="x", MessageGroupId="g1", MessageDeduplicationId="d1"
    )
    function = FakeFunction()

    env.mapping(url, arn, function).poll()

    (record,) = function.events[0]["Records"]
    attributes = record["attributes"]
    assert set(attributes) == {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
        "SequenceNumber",
        "MessageGroupId",
        "MessageDeduplicationId",
    }
    assert attributes["MessageGroupId"] == "g1"
    assert attributes["MessageDeduplicationId"] == "d1"
    assert attributes["SequenceNumber"].isdigit()


def test_fifo_records_get_a_sequence_number_when_moto_leaves_it_out(env: Env) -> None:
    # moto omits SequenceNumber on queues that deduplicate by content.
    url, arn = env.queue("orders.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    for body in ("a", "b"):
        env.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    function = FakeFunction()

    env.mapping(url, arn, function).poll()

    numbers = [r["attributes"]["SequenceNumber"] for r in function.events[0]["Records"]]
    assert all(len(n) == 20 and n.isdigit() for n in numbers)
    assert int(numbers[0]) < int(numbers[1])
    assert function.events[0]["Records"][0]["attributes"]["MessageDeduplicationId"]


def test_each_invocation_is_logged(env: Env) -> None:
    url, arn = env.queue("jobs")
    ids = env.send(url, "a", "b")
    function = FakeFunction()

    env.mapping(url, arn, function).poll()

    (invocation,) = env.log.invocations(mapping_id="esm-1")
    assert invocation.source == "sqs"
    assert invocation.function == "worker"
    assert invocation.items == tuple(ids)
    assert invocation.event == function.events[0]
    assert invocation.result.ok
    assert invocation.outcome == "success"
    assert invocation.attempt == 0
    assert invocation.at == START


def test_the_default_client_is_made_for_the_queues_region() -> None:
    with mock_aws():
        client = boto3.client("sqs", region_name="eu-west-1")
        url = client.create_queue(QueueName="far")["QueueUrl"]
        client.send_message(QueueUrl=url, MessageBody="hi")
        function = FakeFunction()
        mapping = SqsEventSourceMapping(
            uuid="esm-eu",
            queue_arn="arn:aws:sqs:eu-west-1:123456789012:far",
            queue_url=url,
            function_name="worker",
            invoke=function,
            log=ActivityLog(),
            clock=Clock(START),
        )

        assert mapping.poll() == 1

    assert function.events[0]["Records"][0]["awsRegion"] == "eu-west-1"


# --- success, errors, redelivery --------------------------------------------------------------


def test_a_successful_batch_is_deleted(env: Env) -> None:
    url, arn = env.queue("jobs")
    env.send(url, "a", "b", "c")

    assert env.mapping(url, arn, FakeFunction()).poll() == 3

    assert env.counts(url) == (0, 0)


def test_a_function_error_keeps_the_batch_until_the_visibility_timeout_ends(env: Env) -> None:
    url, arn = env.queue("jobs", VisibilityTimeout="30")
    env.send(url, "a", "b")
    answers = iter([always_fail, lambda event: None])
    function = FakeFunction(lambda event: next(answers)(event))
    mapping = env.mapping(url, arn, function)

    assert mapping.poll() == 2
    assert env.log.invocations()[0].outcome == "failure"
    assert env.counts(url) == (0, 2)
    assert mapping.poll() == 0
    env.clock.advance(29)
    assert mapping.poll() == 0

    env.clock.advance(1)
    assert mapping.poll() == 2

    retry = function.events[1]["Records"]
    assert sorted(r["body"] for r in retry) == ["a", "b"]
    assert {r["attributes"]["ApproximateReceiveCount"] for r in retry} == {"2"}
    assert env.log.invocations()[1].attempt == 1
    assert env.log.invocations()[1].outcome == "success"
    assert env.counts(url) == (0, 0)


def test_run_until_empty_retries_without_sleeping(env: Env) -> None:
    url, arn = env.queue("jobs", VisibilityTimeout="45")
    env.send(url, "a")
    answers = iter([always_fail, always_fail, lambda event: None])
    function = FakeFunction(lambda event: next(answers)(event))

    env.mapping(url, arn, function).run_until_empty()

    assert [i.at for i in env.log.invocations()] == [START, START + 45, START + 90]
    assert [i.outcome for i in env.log.invocations()] == ["failure", "failure", "success"]
    assert env.counts(url) == (0, 0)


def test_run_until_empty_gives_up_after_max_rounds(env: Env) -> None:
    url, arn = env.queue("jobs")
    env.send(url, "poison")
    mapping = env.mapping(url, arn, FakeFunction(always_fail))

    with pytest.raises(RuntimeError, match="max_rounds=6"):
        mapping.run_until_empty(max_rounds=6)


def test_run_until_empty_on_an_empty_queue_does_nothing(env: Env) -> None:
    url, arn = env.queue("jobs")
    function = FakeFunction()

    env.mapping(url, arn, function).run_until_empty()

    assert function.events == []
    assert env.clock.now() == START


def test_a_disabled_mapping_does_not_poll(env: Env) -> None:
    url, arn = env.queue("jobs")
    env.send(url, "a")
    function = FakeFunction()
    mapping = env.mapping(url, arn, function, enabled=False)

    assert mapping.poll() == 0
    mapping.run_until_empty()
    assert function.events == []
    assert env.counts(url) == (1, 0)

    mapping.enabled = True
    assert mapping.poll() == 1


# --- partial batch responses --------------------------------------------------------------


def test_a_partial_batch_response_deletes_only_the_successes(env: Env) -> None:
    url, arn = env.queue("jobs", VisibilityTimeout="30")
    ids = env.send(url, "a", "b", "c")
    answers = iter([{"batchItemFailures": [{"itemIdentifier": ids[1]}]}, None])
    function = FakeFunction(lambda event: next(answers))
    mapping = env.mapping(url, arn, function, report_batch_item_failures=True)

    assert mapping.poll() == 3
    assert env.log.invocations()[0].outcome == "partial"
    assert env.counts(url) == (0, 1)

    env.clock.advance(30)
    assert mapping.poll() == 1

    (retried,) = function.events[1]["Records"]
    assert retried["messageId"] == ids[1]
    assert retried["attributes"]["ApproximateReceiveCount"] == "2"
    assert env.counts(url) == (0, 0)


def _listing(make: Callable[[list[str]], Any]) -> Callable[[dict[str, Any]], Any]:
    return lambda event: make([r["messageId"] for r in event["Records"]])


INVALID_RESPONSES: dict[str, Callable[[list[str]], Any]] = {
    "invalid JSON": lambda ids: b'{"batchItemFailures": [',
    "raw JSON nested too deeply to parse": lambda ids: b"[" * 1100 + b"]" * 1100,
    "empty itemIdentifier": lambda ids: {"batchItemFailures": [{"itemIdentifier": ""}]},
    "null itemIdentifier": lambda ids: {"batchItemFailures": [{"itemIdentifier": None}]},
    "bad key name": lambda ids: {"batchItemFailures": [{"itemId": ids[0]}]},
    "id not in the batch": lambda ids: {"batchItemFailures": [{"itemIdentifier": "other"}]},
    "id of the batch plus an unknown one": lambda ids: {
        "batchItemFailures": [{"itemIdentifier": ids[0]}, {"itemIdentifier": "other"}]
    },
    "string response": lambda ids: "failed",
    "number response": lambda ids: 1,
    "list response": lambda ids: [{"itemIdentifier": ids[0]}],
    "boolean response": lambda ids: False,
    "batchItemFailures not a list": lambda ids: {"batchItemFailures": ids[0]},
    "item not an object": lambda ids: {"batchItemFailures": [ids[0]]},
    "itemIdentifier not a string": lambda ids: {"batchItemFailures": [{"itemIdentifier": 1}]},
}


@pytest.mark.parametrize("make", INVALID_RESPONSES.values(), ids=INVALID_RESPONSES.keys())
def test_an_invalid_partial_response_fails_the_whole_batch(
    env: Env, make: Callable[[list[str]], Any]
) -> None:
    url, arn = env.queue("jobs", VisibilityTimeout="30")
    env.send(url, "a", "b")
    function = FakeFunction(_listing(make))
    mapping = env.mapping(url, arn, function, report_batch_item_failures=True)

    mapping.poll()

    assert env.log.invocations()[0].outcome == "failure"
    assert env.counts(url) == (0, 2)
    env.clock.advance(30)
    assert mapping.poll() == 2


COMPLETE_SUCCESSES: dict[str, Any] = {
    "null response": None,
    "empty bytes": b"",
    "empty object": {},
    "empty list": {"batchItemFailures": []},
    "null list": {"batchItemFailures": None},
    "no batchItemFailures key": {"ok": True},
    "empty list as raw JSON": b'{"batchItemFailures": []}',
}


@pytest.mark.parametrize("payload", COMPLETE_SUCCESSES.values(), ids=COMPLETE_SUCCESSES.keys())
def test_these_partial_responses_are_complete_successes(env: Env, payload: Any) -> None:
    url, arn = env.queue("jobs")
    env.send(url, "a", "b")
    function = FakeFunction(lambda event: payload)

    env.mapping(url, arn, function, report_batch_item_failures=True).poll()

    assert env.log.invocations()[0].outcome == "success"
    assert env.counts(url) == (0, 0)


def test_the_response_is_ignored_without_report_batch_item_failures(env: Env) -> None:
    url, arn = env.queue("jobs")
    env.send(url, "a", "b")
    function = FakeFunction(
        _listing(lambda ids: {"batchItemFailures": [{"itemIdentifier": ids[0]}]})
    )

    env.mapping(url, arn, function).poll()

    assert env.log.invocations()[0].outcome == "success"
    assert env.counts(url) == (0, 0)


def test_a_function_error_fails_the_batch_even_with_report_batch_item_failures(env: Env) -> None:
    url, arn = env.queue("jobs")
    env.send(url, "a", "b")

    env.mapping(url, arn, FakeFunction(always_fail), report_batch_item_failures=True).poll()

    assert env.log.invocations()[0].outcome == "failure"
    assert env.counts(url) == (0, 2)


def test_batch_item_failures_reads_raw_json_and_rejects_unknown_ids() -> None:
    ids = ["m1", "m2"]
    raw = json.dumps({"batchItemFailures": [{"itemIdentifier": "m2"}]}).encode()

    assert batch_item_failures(raw, ids) == frozenset({"m2"})
    assert batch_item_failures({"batchItemFailures": [{"itemIdentifier": "m3"}]}, ids) is None


# --- dead-letter queue ----------------------------------------------------------------------


def test_a_message_received_more_than_max_receive_count_goes_to_the_dlq(env: Env) -> None:
    dlq_url, dlq_arn = env.queue("jobs-dlq")
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url, arn = env.queue("jobs", VisibilityTimeout="30", RedrivePolicy=policy)
    (message_id,) = env.send(url, json.dumps({"order": 1}))
    function = FakeFunction(always_fail)

    env.mapping(url, arn, function).run_until_empty()

    assert [
        i.event["Records"][0]["attributes"]["ApproximateReceiveCount"]
        for i in env.log.invocations()
    ] == ["1", "2"]
    assert env.log.failures(mapping_id="esm-1") == [
        FailureRecord(
            source="sqs",
            mapping_id="esm-1",
            destination=dlq_arn,
            condition="maxReceiveCount",
            body={"order": 1},
            items=(message_id,),
            at=START + 60,
        )
    ]
    assert env.counts(url) == (0, 0)
    (moved,) = env.sqs.receive_message(QueueUrl=dlq_url)["Messages"]
    assert moved["MessageId"] == message_id
    assert moved["Body"] == json.dumps({"order": 1})


def test_a_dead_lettered_body_too_deeply_nested_to_parse_is_recorded_as_text(env: Env) -> None:
    _, dlq_arn = env.queue("jobs-dlq")
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url, arn = env.queue("jobs", VisibilityTimeout="30", RedrivePolicy=policy)
    body = "[" * 1100 + "]" * 1100
    env.send(url, body)

    env.mapping(url, arn, FakeFunction(always_fail)).run_until_empty()

    (failure,) = env.log.failures()
    assert failure.body == body


def test_a_message_under_max_receive_count_stays_in_the_source_queue(env: Env) -> None:
    _, dlq_arn = env.queue("jobs-dlq")
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    url, arn = env.queue("jobs", VisibilityTimeout="30", RedrivePolicy=policy)
    env.send(url, "a")
    answers = iter([always_fail, always_fail, lambda event: None])
    function = FakeFunction(lambda event: next(answers)(event))

    env.mapping(url, arn, function).run_until_empty()

    assert [i.outcome for i in env.log.invocations()] == ["failure", "failure", "success"]
    assert env.log.failures() == []


def test_a_move_made_by_another_consumers_receive_is_noticed(env: Env) -> None:
    dlq_url, dlq_arn = env.queue("jobs-dlq")
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url, arn = env.queue("jobs", VisibilityTimeout="30", RedrivePolicy=policy)
    (message_id,) = env.send(url, "plain text")
    function = FakeFunction(always_fail)
    mapping = env.mapping(url, arn, function)
    mapping.poll()
    (record,) = function.events[0]["Records"]
    # Someone else makes it visible and receives it: moto moves it on that receive.
    env.sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
    )
    assert "Messages" not in env.sqs.receive_message(QueueUrl=url)

    env.clock.advance(30)
    assert mapping.poll() == 0

    (failure,) = env.log.failures()
    assert (failure.body, failure.items, failure.destination) == (
        "plain text",
        (message_id,),
        dlq_arn,
    )
    assert env.sqs.receive_message(QueueUrl=dlq_url)["Messages"][0]["MessageId"] == message_id


# --- FIFO -------------------------------------------------------------------------------------


def test_a_fifo_failure_blocks_its_group_only_and_keeps_the_order(env: Env) -> None:
    url, arn = env.queue("orders.fifo", FifoQueue="true", VisibilityTimeout="30")
    for body, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b"), ("a3", "a")]:
        env.send(url, body, group=group)

    def respond(event: dict[str, Any]) -> Any:
        # Reports a2 only, not the a3 after it: the mapping must keep a3 anyway.
        failed = [r["messageId"] for r in event["Records"] if r["body"] == "a2"]
        if failed and len(event["Records"]) == 5:
            return {"batchItemFailures": [{"itemIdentifier": failed[0]}]}
        return None

    function = FakeFunction(respond)
    mapping = env.mapping(url, arn, function, report_batch_item_failures=True)

    assert mapping.poll() == 5
    assert function.bodies()[0] == ["a1", "b1", "a2", "b2", "a3"]
    assert env.counts(url) == (0, 2)

    env.send(url, "a4", group="a")
    env.send(url, "b3", group="b")
    assert mapping.poll() == 1
    assert function.bodies()[1] == ["b3"]
    assert mapping.poll() == 0

    env.clock.advance(30)
    assert mapping.poll() == 3

    retry = function.events[2]["Records"]
    assert [r["body"] for r in retry] == ["a2", "a3", "a4"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in retry] == ["2", "2", "1"]
    assert env.counts(url) == (0, 0)


def test_a_fifo_function_error_retries_the_group_before_newer_messages(env: Env) -> None:
    url, arn = env.queue("orders.fifo", FifoQueue="true", VisibilityTimeout="30")
    env.send(url, "x1", "x2", group="x")
    answers = iter([always_fail, lambda event: None])
    function = FakeFunction(lambda event: next(answers)(event))
    mapping = env.mapping(url, arn, function)
    mapping.poll()
    env.send(url, "x3", group="x")

    mapping.run_until_empty()

    assert function.bodies() == [["x1", "x2"], ["x1", "x2", "x3"]]


def test_a_fifo_message_left_over_by_the_payload_limit_waits_for_its_failed_group(
    env: Env,
) -> None:
    url, arn = env.queue("big.fifo", FifoQueue="true", VisibilityTimeout="30")
    bodies = [str(i) * 1_000_000 for i in range(7)]
    env.send(url, *bodies, group="g")
    answers = iter([always_fail, lambda event: None, lambda event: None])
    function = FakeFunction(lambda event: next(answers)(event))
    mapping = env.mapping(url, arn, function)

    assert mapping.poll() == 6  # the 7th does not fit and stays buffered
    assert mapping.poll() == 0  # ... and must not overtake the 6 failed ones

    env.clock.advance(30)
    mapping.run_until_empty()

    assert [[b[0] for b in batch] for batch in function.bodies()] == [
        list("012345"),
        list("012345"),
        ["6"],
    ]
    assert env.counts(url) == (0, 0)


def test_fifo_retry_covers_the_rest_of_a_failed_group() -> None:
    batch = [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b"), ("a3", "a")]

    assert fifo_messages_to_retry(batch, {"a2"}) == {"a2", "a3"}
    assert fifo_messages_to_retry(batch, {"b1"}) == {"b1", "b2"}
    assert fifo_messages_to_retry(batch, set()) == frozenset()


# --- filtering ------------------------------------------------------------------------------


@dataclass
class KeepFilter:
    """Stands in for FilterCriteria: keeps JSON bodies with ``"keep": true``."""

    seen: list[str] = field(default_factory=list)

    def matches(self, record: dict[str, Any]) -> bool:
        self.seen.append(record["body"])
        return bool(json.loads(record["body"]).get("keep"))


def test_messages_the_filter_rejects_are_deleted_without_invoking(env: Env) -> None:
    url, arn = env.queue("jobs")
    bodies = [json.dumps({"n": n, "keep": n % 2 == 0}) for n in range(4)]
    env.send(url, *bodies)
    record_filter = KeepFilter()
    function = FakeFunction()

    assert env.mapping(url, arn, function, record_filter=record_filter).poll() == 2

    assert sorted(record_filter.seen) == sorted(bodies)
    assert sorted(function.bodies()[0]) == sorted([bodies[0], bodies[2]])
    assert env.counts(url) == (0, 0)


def test_no_invocation_when_the_filter_rejects_everything(env: Env) -> None:
    url, arn = env.queue("jobs")
    env.send(url, json.dumps({"keep": False}), json.dumps({"keep": False}))
    function = FakeFunction()

    env.mapping(url, arn, function, record_filter=KeepFilter()).run_until_empty()

    assert function.events == []
    assert env.log.invocations() == []
    assert env.counts(url) == (0, 0)


# --- validation -----------------------------------------------------------------------------

STANDARD_ARN = "arn:aws:sqs:us-east-1:123456789012:jobs"
FIFO_ARN = "arn:aws:sqs:us-east-1:123456789012:jobs.fifo"


@pytest.mark.parametrize(
    ("arn", "options", "message"),
    [
        (STANDARD_ARN, {"batch_size": 0}, r"batch_size=0 .*1-10000"),
        (
            STANDARD_ARN,
            {"batch_size": 10_001, "max_batching_window_seconds": 1},
            r"batch_size=10001 .*1-10000",
        ),
        (FIFO_ARN, {"batch_size": 11}, r"batch_size=11 .*1-10 for a FIFO"),
        (
            STANDARD_ARN,
            {"max_batching_window_seconds": -1},
            r"max_batching_window_seconds=-1 .*0-300",
        ),
        (
            STANDARD_ARN,
            {"max_batching_window_seconds": 301},
            r"max_batching_window_seconds=301 .*0-300",
        ),
        (
            STANDARD_ARN,
            {"batch_size": 11},
            r"batch_size=11 needs max_batching_window_seconds >= 1.*1-10",
        ),
        (FIFO_ARN, {"max_batching_window_seconds": 1}, r"max_batching_window_seconds=1 .*FIFO"),
        ("arn:aws:sns:us-east-1:123456789012:topic", {}, r"queue_arn="),
    ],
)
def test_invalid_settings_are_refused(arn: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SqsEventSourceMapping(
            uuid="esm",
            queue_arn=arn,
            queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
            function_name="worker",
            invoke=FakeFunction(),
            log=ActivityLog(),
            clock=Clock(START),
            **options,
        )


@pytest.mark.parametrize(
    ("arn", "options"),
    [
        (STANDARD_ARN, {"batch_size": 1}),
        (STANDARD_ARN, {"batch_size": 10}),
        (STANDARD_ARN, {"batch_size": 10_000, "max_batching_window_seconds": 1}),
        (STANDARD_ARN, {"max_batching_window_seconds": 300}),
        (FIFO_ARN, {"batch_size": 10}),
    ],
)
def test_settings_at_the_limits_are_accepted(arn: str, options: dict[str, Any]) -> None:
    mapping = SqsEventSourceMapping(
        uuid="esm",
        queue_arn=arn,
        queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
        function_name="worker",
        invoke=FakeFunction(),
        log=ActivityLog(),
        clock=Clock(START),
        **options,
    )

    assert mapping.fifo is arn.endswith(".fifo")


def test_a_window_longer_than_the_visibility_timeout_extends_it() -> None:
    assert failed_message_visible_at(100.0, 30, 0) == 130.0
    assert failed_message_visible_at(100.0, 30, 10) == 130.0
    assert failed_message_visible_at(100.0, 30, 60) == 100.0 + 60 + 30
