"""Deliver the messages of an SQS queue to a function, as Lambda's SQS event source mapping does.

:class:`SqsEventSourceMapping` reads a real SQS API (moto in tests): it receives messages,
builds the Lambda SQS event, invokes the function through an :class:`Invoker`, deletes what
succeeded and leaves the rest in the queue, where it comes back after the visibility timeout.

Virtual time
    Visibility timeouts, batching windows and redelivery are measured on the local cloud's
    :class:`Clock`, never on the wall clock, so tests do not sleep. moto, however, keeps its own
    visibility timers in real time. The mapping therefore remembers, for every message it
    received and did not delete, the virtual time at which the message becomes visible again
    (``clock.now()`` at the receive plus the queue's ``VisibilityTimeout`` attribute, see
    :func:`failed_message_visible_at`). At the start of each poll it releases every message whose
    virtual time has come with ``ChangeMessageVisibility(VisibilityTimeout=0)``; moto then hands
    it out again with ``ApproximateReceiveCount`` incremented. Lambda itself never changes the
    visibility of a failed message (it waits for the original timeout), so releasing a message at
    its virtual expiry is exactly that behaviour on the virtual clock.
    :meth:`SqsEventSourceMapping.run_until_empty` advances the clock itself to the next moment
    something can happen (a message becoming visible again, a batching window closing) instead
    of sleeping.

Dead-letter queues
    A redrive policy on the source queue moves a message to its dead-letter queue on the receive
    that would push its receive count over ``maxReceiveCount``. moto 5 does this itself inside
    ``ReceiveMessage`` and keeps the message id; the mapping relies on that and only notices the
    move: a released message that is due to move and that a later receive does not return is
    probed with ``ChangeMessageVisibility`` on its last receipt handle, which fails with
    ``ReceiptHandleIsInvalid`` once the message has left the queue. Each move is logged as a
    :class:`FailureRecord` with condition ``maxReceiveCount``.

Batches
    A poll receives up to ``batch_size`` messages, at most 10 per ``ReceiveMessage`` call. With a
    batching window, the first poll that buffers a message starts the window; the batch is sent
    when the window has passed on the clock, when it holds ``batch_size`` messages, or when the
    next message would push the serialized event (compact UTF-8 JSON) over 6 MB
    (:data:`MAX_PAYLOAD_BYTES`). A message is never split: one that does not fit waits in the
    buffer for the next batch, which it starts.

FIFO queues
    moto already refuses to hand out messages of a message group while another message of that
    group is in flight, which gives one batch per group at a time. After a failure, the failed
    messages stay in flight until their virtual visibility timeout ends, so later messages of
    their group wait; other groups go on.

Not emulated: ``DelaySeconds`` and message retention run on moto's real-time clock, messages
other consumers hold in flight are invisible to :meth:`SqsEventSourceMapping.run_until_empty`,
and there is no concurrency: one poll invokes the function at most once.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from lambda_blueprints.testing import _json
from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys
from lambda_blueprints.testing._core import FunctionRef
from lambda_blueprints.testing.activity import (
    ActivityLog,
    FailureRecord,
    Invocation,
    InvocationThrottled,
    Invoker,
    InvokeResult,
    Outcome,
)
from lambda_blueprints.testing.clock import Clock
from lambda_blueprints.testing.lambda_ import record_filter
from lambda_blueprints.testing.streams import InvalidParameterValueError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "SqsEventSourceMapping",
    "batch_item_failures",
    "failed_message_visible_at",
    "fifo_messages_to_retry",
    "moves_to_dead_letter_queue",
    "sqs_event_record",
]

#: Lambda's synchronous invocation payload limit, measured on the serialized event.
MAX_PAYLOAD_BYTES = 6_291_456
#: ``ReceiveMessage`` returns at most this many messages per call.
MAX_MESSAGES_PER_RECEIVE = 10
#: BatchSize range of an SQS mapping (standard queues).
BATCH_SIZE_RANGE = (1, 10_000)
#: BatchSize maximum for a FIFO queue.
FIFO_MAX_BATCH_SIZE = 10
#: MaximumBatchingWindowInSeconds range.
BATCHING_WINDOW_RANGE = (0, 300)
#: Emulator choice (section 10, row 2): "BatchSize > 10 requires a batching window of at least
#: 1 s" is enforced for SQS mappings, which this is.
MAX_BATCH_SIZE_WITHOUT_WINDOW = 10
#: AWS lengthens the visibility timeout to window + function timeout + this many seconds when
#: window + function timeout exceeds the queue's own timeout.
VISIBILITY_EXTENSION_SECONDS = 30
#: Emulator choice: the function timeout in that rule, which the mapping cannot know.
ASSUMED_FUNCTION_TIMEOUT_SECONDS = 0

#: The system attributes every record carries, and those only FIFO records carry.
STANDARD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
)
FIFO_ATTRIBUTES = ("SequenceNumber", "MessageGroupId", "MessageDeduplicationId")
#: Passed on when the message has it (X-Ray trace header).
OPTIONAL_ATTRIBUTES = ("AWSTraceHeader",)

_EMPTY_EVENT_BYTES = len(b'{"Records":[]}')
# Stands in for the SequenceNumber moto leaves out of FIFO messages that are deduplicated by
# content: 20 digits, increasing in the order mappings first see messages.
_synthetic_sequence = itertools.count(10**19)


def failed_message_visible_at(
    received_at: float, visibility_timeout: int, batching_window: int
) -> float:
    """Virtual time at which a received, undeleted message becomes visible again.

    Emulator choice (section 8, UNSPECIFIED; section 10, row 19): Lambda leaves a failed
    message's visibility alone, so it reappears when the visibility timeout that started at its
    receive ends. AWS lengthens that timeout to window + function timeout + 30 s when window +
    function timeout exceeds it; the function timeout is taken as
    :data:`ASSUMED_FUNCTION_TIMEOUT_SECONDS`.

    Args:
        received_at: Clock time of the receive.
        visibility_timeout: The queue's ``VisibilityTimeout`` attribute, seconds.
        batching_window: The mapping's ``MaximumBatchingWindowInSeconds``.
    """
    busy = batching_window + ASSUMED_FUNCTION_TIMEOUT_SECONDS
    if batching_window > 0 and busy > visibility_timeout:
        return received_at + busy + VISIBILITY_EXTENSION_SECONDS
    return received_at + visibility_timeout


def moves_to_dead_letter_queue(receive_count: int, max_receive_count: int) -> bool:
    """Whether the next receive of a message moves it to the dead-letter queue.

    Emulator choice (section 8, UNSPECIFIED; section 10, row 19): every receive counts, and the
    move happens on the receive that would push the count over ``maxReceiveCount`` (moto's rule
    too). The message is not delivered on that receive.

    Args:
        receive_count: ``ApproximateReceiveCount`` after the latest receive.
        max_receive_count: ``maxReceiveCount`` of the source queue's redrive policy.
    """
    return receive_count >= max_receive_count


def batch_item_failures(payload: Any, message_ids: Sequence[str]) -> frozenset[str] | None:
    """Read a partial batch response (``ReportBatchItemFailures``).

    Complete success (empty set): no payload, ``null``, ``{}``, an object without
    ``batchItemFailures``, or a null or empty list. Complete failure (None): invalid JSON, an
    ``itemIdentifier`` that is missing, null or empty, or a message id not in the batch. Emulator
    choice (section 4.2 applied to SQS): a top-level value that is not an object, a
    ``batchItemFailures`` that is not a list, an item that is not an object and an
    ``itemIdentifier`` that is not a string are complete failures too.

    Args:
        payload: What the function returned; bytes are read as the raw JSON response.
        message_ids: The message ids of the batch.

    Returns:
        The ids of the failed messages, or None when the whole batch failed.
    """
    if isinstance(payload, bytes | bytearray):
        if not payload.strip():
            return frozenset()
        try:
            payload = _json.loads(payload)
        except ValueError:
            return None
    if payload is None:
        return frozenset()
    if not isinstance(payload, Mapping):
        return None
    failures = payload.get("batchItemFailures")
    if failures is None:
        return frozenset()
    if not isinstance(failures, list):
        return None
    known = set(message_ids)
    failed: set[str] = set()
    for item in failures:
        if not isinstance(item, Mapping):
            return None
        identifier = item.get("itemIdentifier")
        if not isinstance(identifier, str) or identifier not in known:
            return None
        failed.add(identifier)
    return frozenset(failed)


def fifo_messages_to_retry(
    batch: Sequence[tuple[str, str | None]], failed: AbstractSet[str]
) -> frozenset[str]:
    """Which messages of a FIFO batch stay in the queue after a partial batch response.

    AWS asks a FIFO function to stop at its first failure and report that message and every
    later one. Emulator choice (UNSPECIFIED for a function that reports fewer): every message
    of a group from the group's first reported failure on is retried, so no message of a group
    is deleted before the failed ones earlier in the group have succeeded.

    Args:
        batch: ``(message_id, message_group_id)`` in delivery order.
        failed: The ids the function reported.
    """
    blocked: set[str | None] = set()
    retried: set[str] = set()
    for message_id, group in batch:
        if group in blocked or message_id in failed:
            blocked.add(group)
            retried.add(message_id)
    return frozenset(retried)


def _event_attribute_value(value: Mapping[str, Any]) -> dict[str, Any]:
    # ReceiveMessage's MessageAttributeValue -> the lowercase shape of a Lambda SQS record,
    # binary values base64-encoded.
    converted: dict[str, Any] = {}
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(bytes(value["BinaryValue"])).decode("ascii")
    converted["stringListValues"] = list(value.get("StringListValues", []))
    converted["binaryListValues"] = [
        base64.b64encode(bytes(item)).decode("ascii") for item in value.get("BinaryListValues", [])
    ]
    converted["dataType"] = value["DataType"]
    return converted


def sqs_event_record(message: Mapping[str, Any], *, queue_arn: str) -> dict[str, Any]:
    """Turn one ``ReceiveMessage`` message into a record of the Lambda SQS event.

    Args:
        message: A message as ``ReceiveMessage`` returns it, received with
            ``MessageSystemAttributeNames=["All"]`` and ``MessageAttributeNames=["All"]``.
        queue_arn: The queue's ARN (``eventSourceARN``; its region is ``awsRegion``).
    """
    received = message.get("Attributes", {})
    names = STANDARD_ATTRIBUTES + FIFO_ATTRIBUTES + OPTIONAL_ATTRIBUTES
    attributes = {name: str(received[name]) for name in names if name in received}
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": {
            name: _event_attribute_value(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


def _record_bytes(record: Mapping[str, Any]) -> int:
    return len(json.dumps(record, separators=(",", ":")).encode("utf-8"))


def _parse_body(body: str) -> Any:
    try:
        return _json.loads(body)
    except ValueError:
        return body


@dataclass
class _Message:
    """A message the mapping received and has not deleted."""

    message_id: str
    receipt_handle: str
    body: str
    group_id: str | None
    receive_count: int
    received_at: float
    record: dict[str, Any]
    size: int
    visible_at: float = 0.0


@dataclass(frozen=True)
class _QueueSettings:
    visibility_timeout: int
    dead_letter_arn: str | None
    max_receive_count: int | None


class SqsEventSourceMapping:
    """An SQS event source mapping: polls a queue and invokes a function with its messages.

    Args:
        uuid: The mapping's UUID (``Invocation.mapping_id``).
        queue_arn: ARN of the source queue; a name ending in ``.fifo`` makes it a FIFO queue.
        queue_url: URL of the source queue.
        function_name: The function to invoke.
        invoke: Invokes the function synchronously.
        log: Where invocations and dead-letter moves are recorded.
        clock: The virtual clock of visibility timeouts and batching windows.
        batch_size: ``BatchSize``: 1-10000, at most 10 for FIFO queues and at most 10 without a
            batching window.
        max_batching_window_seconds: ``MaximumBatchingWindowInSeconds``: 0-300; not supported
            for FIFO queues.
        report_batch_item_failures: ``FunctionResponseTypes: ["ReportBatchItemFailures"]``.
        record_filter: ``FilterCriteria``: any object with ``matches(record) -> bool``, given
            the Lambda record. Messages it rejects are deleted without invoking the function.
        enabled: ``Enabled``; a disabled mapping does not poll.
        sqs_client: The SQS client; by default one for the queue's region.

    Raises:
        ValueError: A parameter is out of range.
    """

    def __init__(
        self,
        *,
        uuid: str,
        queue_arn: str,
        queue_url: str,
        function_name: str,
        invoke: Invoker,
        log: ActivityLog,
        clock: Clock,
        batch_size: int = 10,
        max_batching_window_seconds: int = 0,
        report_batch_item_failures: bool = False,
        record_filter: Any | None = None,
        enabled: bool = True,
        sqs_client: Any | None = None,
    ) -> None:
        parts = queue_arn.split(":")
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"] or not parts[5]:
            raise ValueError(f"queue_arn={queue_arn!r} is not an SQS queue ARN")
        fifo = parts[5].endswith(".fifo")
        _validate(batch_size, max_batching_window_seconds, fifo=fifo)
        self.uuid = uuid
        self.queue_arn = queue_arn
        self.queue_url = queue_url
        self.function_name = function_name
        self.invoke = invoke
        self.log = log
        self.clock = clock
        self.batch_size = batch_size
        self.max_batching_window_seconds = max_batching_window_seconds
        self.report_batch_item_failures = report_batch_item_failures
        self.record_filter = record_filter
        self.enabled = enabled
        self.fifo = fifo
        self.region = parts[3]
        self._client: SQSClient | None = sqs_client
        self._buffer: list[_Message] = []
        self._window_started_at: float | None = None
        self._in_flight: dict[str, _Message] = {}
        self._redrive_watch: dict[str, _Message] = {}
        self._sequence_numbers: dict[str, str] = {}
        self._received = 0

    @property
    def sqs(self) -> SQSClient:
        """The SQS client (created on first use, so a test can start moto first)."""
        if self._client is None:
            self._client = boto3.client("sqs", region_name=self.region)
        return self._client

    @property
    def in_flight(self) -> int:
        """Messages received and neither deleted nor released: buffered or failed."""
        return len(self._buffer) + len(self._in_flight)

    def poll(self) -> int:
        """Run one polling round; invoke the function at most once.

        Releases failed messages whose visibility timeout has passed on the clock, receives up
        to ``batch_size`` messages, drops those the filter rejects, and invokes the function
        unless a batching window is still open.

        Returns:
            The number of messages sent to the function in this round (a throttled batch
            counts: it was received, and comes back after its visibility timeout).
        """
        if not self.enabled:
            return 0
        settings = self._settings()
        self._release_expired(settings)
        received = self._fill_buffer(settings)
        self._notice_redrives(received, settings)
        if not self._buffer:
            self._window_started_at = None
            return 0
        now = self.clock.now()
        if self._window_started_at is None:
            self._window_started_at = now
        batch = self._take_batch()
        full = len(batch) < len(self._buffer) or len(batch) >= self.batch_size
        window_end = self._window_started_at + self.max_batching_window_seconds
        if not full and now < window_end:
            return 0
        del self._buffer[: len(batch)]
        self._window_started_at = now if self._buffer else None
        self._deliver(batch)
        return len(batch)

    def run_until_empty(self, *, max_rounds: int = 1000) -> None:
        """Poll until no message of the queue is visible, buffered or waiting to reappear.

        When nothing can be received, the clock is advanced (never slept) to the next moment
        something changes: a failed message's visibility timeout ending or a batching window
        closing. A disabled mapping returns at once.

        Args:
            max_rounds: The most polls to make.

        Raises:
            RuntimeError: Messages are still there after ``max_rounds`` polls (for instance a
                function that always fails on a queue without a dead-letter queue).
        """
        if not self.enabled:
            return
        for _ in range(max_rounds):
            received_before = self._received
            if self.poll() or self._received != received_before:
                continue
            wake_up = self._next_change()
            if wake_up is None:
                return
            self.clock.advance_to(wake_up)
        raise RuntimeError(
            f"{self.queue_arn} still had messages for {self.function_name} after "
            f"max_rounds={max_rounds} polls"
        )

    def _next_change(self) -> float | None:
        moments = [m.visible_at for m in self._in_flight.values()]
        if self._buffer and self._window_started_at is not None:
            moments.append(self._window_started_at + self.max_batching_window_seconds)
        return min(moments, default=None)

    def _settings(self) -> _QueueSettings:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
        ).get("Attributes", {})
        redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
        target = redrive.get("deadLetterTargetArn")
        limit = redrive.get("maxReceiveCount")
        return _QueueSettings(
            visibility_timeout=int(attributes.get("VisibilityTimeout", 30)),
            dead_letter_arn=target if target and limit is not None else None,
            max_receive_count=int(limit) if target and limit is not None else None,
        )

    def _release_expired(self, settings: _QueueSettings) -> None:
        now = self.clock.now()
        for message in [m for m in self._in_flight.values() if m.visible_at <= now]:
            del self._in_flight[message.message_id]
            try:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message.receipt_handle,
                    VisibilityTimeout=0,
                )
            except ClientError as error:
                # Gone already: moved to the dead-letter queue by a receive that found it
                # visible in moto's real time, or deleted by someone else.
                if _error_code(error) == "ReceiptHandleIsInvalid" and self._due_to_move(
                    message, settings
                ):
                    self._record_redrive(message, settings)
                continue
            if self._due_to_move(message, settings):
                self._redrive_watch[message.message_id] = message

    def _due_to_move(self, message: _Message, settings: _QueueSettings) -> bool:
        return settings.max_receive_count is not None and moves_to_dead_letter_queue(
            message.receive_count, settings.max_receive_count
        )

    def _fill_buffer(self, settings: _QueueSettings) -> set[str]:
        received: set[str] = set()
        while len(self._buffer) < self.batch_size and self._buffered_bytes() <= MAX_PAYLOAD_BYTES:
            wanted = min(MAX_MESSAGES_PER_RECEIVE, self.batch_size - len(self._buffer))
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=wanted,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                break
            for raw in messages:
                self._received += 1
                message = self._accept(raw, settings)
                received.add(message.message_id)
                self._in_flight.pop(message.message_id, None)
                self._redrive_watch.pop(message.message_id, None)
                if self.record_filter is not None and not self.record_filter.matches(
                    message.record
                ):
                    self._delete([message])
                    continue
                self._buffer = [m for m in self._buffer if m.message_id != message.message_id]
                self._buffer.append(message)
        return received

    def _accept(self, raw: Mapping[str, Any], settings: _QueueSettings) -> _Message:
        record = sqs_event_record(raw, queue_arn=self.queue_arn)
        attributes = record["attributes"]
        if self.fifo and "SequenceNumber" not in attributes:
            if record["messageId"] not in self._sequence_numbers:
                self._sequence_numbers[record["messageId"]] = str(next(_synthetic_sequence))
            attributes["SequenceNumber"] = self._sequence_numbers[record["messageId"]]
        now = self.clock.now()
        return _Message(
            message_id=record["messageId"],
            receipt_handle=record["receiptHandle"],
            body=record["body"],
            group_id=attributes.get("MessageGroupId"),
            receive_count=int(attributes.get("ApproximateReceiveCount", "1")),
            received_at=now,
            record=record,
            size=_record_bytes(record),
            visible_at=failed_message_visible_at(
                now, settings.visibility_timeout, self.max_batching_window_seconds
            ),
        )

    def _notice_redrives(self, received: set[str], settings: _QueueSettings) -> None:
        for message_id, message in list(self._redrive_watch.items()):
            if message_id in received:
                continue
            try:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message.receipt_handle,
                    VisibilityTimeout=0,
                )
            except ClientError as error:
                if _error_code(error) != "ReceiptHandleIsInvalid":
                    continue  # still in the queue (real SQS: MessageNotInflight)
                del self._redrive_watch[message_id]
                self._record_redrive(message, settings)

    def _record_redrive(self, message: _Message, settings: _QueueSettings) -> None:
        self.log.add(
            FailureRecord(
                source="sqs",
                mapping_id=self.uuid,
                destination=settings.dead_letter_arn or "",
                condition="maxReceiveCount",
                body=_parse_body(message.body),
                items=(message.message_id,),
                at=self.clock.now(),
            )
        )

    def _buffered_bytes(self) -> int:
        return _EMPTY_EVENT_BYTES + sum(m.size + 1 for m in self._buffer)

    def _take_batch(self) -> list[_Message]:
        batch: list[_Message] = []
        size = _EMPTY_EVENT_BYTES
        for message in self._buffer[: self.batch_size]:
            extra = message.size + (1 if batch else 0)
            if batch and size + extra > MAX_PAYLOAD_BYTES:
                break
            batch.append(message)
            size += extra
        return batch

    def _deliver(self, batch: list[_Message]) -> None:
        ids = [m.message_id for m in batch]
        event = {"Records": [m.record for m in batch]}
        at = self.clock.now()
        try:
            result = self.invoke(self.function_name, event)
        except InvocationThrottled:
            # The function was never reached, so nothing is logged or deleted: Lambda's
            # poller leaves the batch to come back after its visibility timeout, its receive
            # counted (a throttle too can take a message to the dead-letter queue).
            self._keep(batch)
            return
        failed, outcome = self._judge(result, ids)
        if self.fifo and failed:
            failed = fifo_messages_to_retry([(m.message_id, m.group_id) for m in batch], failed)
        self.log.add(
            Invocation(
                source="sqs",
                mapping_id=self.uuid,
                function=self.function_name,
                items=tuple(ids),
                event=event,
                result=result,
                outcome=outcome,
                attempt=max(m.receive_count for m in batch) - 1,
                at=at,
            )
        )
        self._delete([m for m in batch if m.message_id not in failed])
        self._keep([m for m in batch if m.message_id in failed])

    def _keep(self, kept: list[_Message]) -> None:
        """Leave messages in flight until their visibility timeout ends on the clock."""
        if self.fifo and kept:
            # Buffered messages of a group that just failed must not overtake the failed ones:
            # they wait in flight with them.
            blocked = {m.group_id for m in kept}
            kept = [*kept, *(m for m in self._buffer if m.group_id in blocked)]
            self._buffer = [m for m in self._buffer if m.group_id not in blocked]
        for message in kept:
            self._in_flight[message.message_id] = message

    def _judge(self, result: InvokeResult, ids: Sequence[str]) -> tuple[frozenset[str], Outcome]:
        everything = frozenset(ids)
        if not result.ok:
            return everything, "failure"
        if not self.report_batch_item_failures:
            return frozenset(), "success"
        failed = batch_item_failures(result.payload, ids)
        if failed is None:
            return everything, "failure"
        return failed, ("partial" if failed else "success")

    def _delete(self, messages: Sequence[_Message]) -> None:
        for start in range(0, len(messages), MAX_MESSAGES_PER_RECEIVE):
            chunk = messages[start : start + MAX_MESSAGES_PER_RECEIVE]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": m.receipt_handle}
                    for index, m in enumerate(chunk)
                ],
            )


def _validate(batch_size: int, window: int, *, fifo: bool) -> None:
    low, high = BATCH_SIZE_RANGE
    if fifo:
        high = FIFO_MAX_BATCH_SIZE
    if not low <= batch_size <= high:
        kind = "a FIFO queue" if fifo else "a standard queue"
        raise ValueError(f"batch_size={batch_size} is out of range {low}-{high} for {kind}")
    w_low, w_high = BATCHING_WINDOW_RANGE
    if not w_low <= window <= w_high:
        raise ValueError(f"max_batching_window_seconds={window} is out of range {w_low}-{w_high}")
    if fifo and window:
        raise ValueError(
            f"max_batching_window_seconds={window} is out of range 0-0 for a FIFO queue: "
            "FIFO queues do not support a batching window"
        )
    if batch_size > MAX_BATCH_SIZE_WITHOUT_WINDOW and window < 1:
        raise ValueError(
            f"batch_size={batch_size} needs max_batching_window_seconds >= 1 (got {window}): "
            f"without a batching window batch_size is limited to 1-{MAX_BATCH_SIZE_WITHOUT_WINDOW}"
        )


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@deploys("AWS::SQS::Queue")
def _queue(stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
    fifo = bool(props.get("FifoQueue"))
    name = props.get("QueueName") or stack.name(logical_id, 80 - (5 if fifo else 0))
    if fifo and not name.endswith(".fifo"):
        name += ".fifo"
    attributes: dict[str, str] = {}
    for key in (
        "DelaySeconds",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout",
        "FifoQueue",
        "ContentBasedDeduplication",
    ):
        if key in props:
            attributes[key] = (
                str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
            )
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
    url = stack.context.client("sqs").create_queue(QueueName=name, Attributes=attributes)[
        "QueueUrl"
    ]
    arn = stack.arn("sqs", name)
    return Resource(
        logical_id, "AWS::SQS::Queue", "", url, {"Arn": arn, "QueueName": name, "QueueUrl": url}
    )


class QueueMappings(dict[str, SqsEventSourceMapping]):
    """The local cloud's SQS event source mappings, by UUID."""


_STREAM_ONLY_PROPERTIES = frozenset(
    {
        "BisectBatchOnFunctionError",
        "DestinationConfig",
        "MaximumRecordAgeInSeconds",
        "MaximumRetryAttempts",
        "ParallelizationFactor",
        "StartingPosition",
        "StartingPositionTimestamp",
        "TumblingWindowInSeconds",
    }
)


def deploy_queue_mapping(
    stack: Deployment,
    logical_id: str,
    mapping_id: str,
    function: FunctionRef,
    queue_arn: str,
    props: Mapping[str, Any],
) -> Resource:
    """Deploy an ``AWS::Lambda::EventSourceMapping`` from an SQS queue."""
    stream_only = sorted(set(props) & _STREAM_ONLY_PROPERTIES)
    if stream_only:
        raise InvalidParameterValueError(
            f"{logical_id}: {', '.join(stream_only)} apply to stream sources, not SQS"
        )
    sqs = stack.context.client("sqs")
    mapping = SqsEventSourceMapping(
        uuid=mapping_id,
        queue_arn=queue_arn,
        queue_url=sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"],
        function_name=function.name,
        invoke=stack.context.invoke,
        log=stack.context.log,
        clock=stack.context.clock,
        batch_size=int(props.get("BatchSize", 10)),
        max_batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
        report_batch_item_failures="ReportBatchItemFailures"
        in props.get("FunctionResponseTypes", []),
        record_filter=record_filter(props.get("FilterCriteria"), "sqs"),
        enabled=bool(props.get("Enabled", True)),
        sqs_client=sqs,
    )
    stack.service(QueueMappings)[mapping_id] = mapping
    return Resource(logical_id, "AWS::Lambda::EventSourceMapping", "", mapping_id)
