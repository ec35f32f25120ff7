"""Stream event source mappings (Kinesis, DynamoDB Streams) with Lambda's semantics.

:class:`StreamEventSourceMapping` reads a :class:`StreamSource` shard by shard and invokes a
function the way Lambda's poller does: batches by size, batching window and the 6 MB
payload limit; starting positions; filter criteria; errors retried, bisected and finally
sent to the on-failure destination; partial batch responses checkpointing at the lowest
failed sequence number; maximum record age; parallelization lanes that keep per-key order;
tumbling windows with state, final invocations and early termination.

The specification is the project's ESM semantics reference. Where AWS leaves a point open,
the choice made is one named constant or function below (``# UNSPECIFIED`` marks them).
Time is the local cloud's :class:`~lambda_blueprints.testing.clock.Clock`: nothing here
sleeps, so windows and ages expire exactly when a test advances the clock.
"""

from __future__ import annotations

import base64
import bisect
import functools
import hashlib
import itertools
import json
import math
import re
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from lambda_blueprints.testing.activity import (
    ActivityLog,
    Checkpoint,
    FailureRecord,
    Invocation,
    InvocationThrottled,
    Invoker,
    InvokeResult,
    Outcome,
)
from lambda_blueprints.testing.clock import Clock, iso8601
from lambda_blueprints.testing.dynamodb_streams import lambda_record

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

StreamKind = Literal["kinesis", "dynamodb"]
StartingPosition = Literal["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"]

#: Lambda's synchronous invocation payload limit, in bytes of the serialized event.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
#: Tumbling window state above this many bytes (compact JSON) ends the window early.
MAX_WINDOW_STATE_BYTES = 1024 * 1024
# UNSPECIFIED: bisection puts ceil(n/2) records in the first half and resolves it first.
BISECT_FIRST_HALF: Callable[[int], int] = lambda n: math.ceil(n / 2)  # noqa: E731
# UNSPECIFIED: condition of an age discard (AWS documents only RetryAttemptsExhausted).
AGE_CONDITION = "RecordAgeExceeded"
RETRY_CONDITION = "RetryAttemptsExhausted"
# UNSPECIFIED: a partial failure counts as a retry, and the count is not reset on progress
# (spec 4.4). With this switch on, a partial response that moves the checkpoint forward
# (names a record after the batch's first) starts the retry count again; one that names the
# first record has made no progress and counts as a retry, so retries still run out.
RESET_RETRIES_ON_PROGRESS = False
#: The emulator's guard against endless retries on a frozen clock (infinite retries, a
#: failing final window invocation, endless throttling): after this many invocations of one
#: batch the lane stops and the mapping reports itself stalled.
STALL_LIMIT = 1000


class InvalidParameterValueError(ValueError):
    """A mapping parameter Lambda would reject (``InvalidParameterValueException``)."""


@dataclass(frozen=True)
class StreamRecord:
    """One stream record: its position, arrival time, ordering key and Lambda form.

    Attributes:
        sequence_number: The sequence number as an integer (compare numerically).
        arrival: ``approximateArrivalTimestamp`` / ``ApproximateCreationDateTime``, epoch s.
        ordering_key: Partition key (Kinesis) or canonical item key JSON (DynamoDB): the
            records of one key keep their order across parallelization lanes.
        record: The record exactly as Lambda puts it into an event.
        size: Bytes the record adds to a serialized event.
    """

    sequence_number: int
    arrival: float
    ordering_key: str
    record: dict[str, Any]
    size: int


class StreamSource(Protocol):
    """A stream the mapping reads: shards of records ordered by sequence number."""

    kind: StreamKind
    arn: str
    retention_seconds: float

    def shard_ids(self) -> list[str]:
        """The shards, in a stable order."""
        ...

    def read(self, shard_id: str) -> Sequence[StreamRecord]:
        """All records of the shard so far, ordered by sequence number."""
        ...


# --- record builders ----------------------------------------------------------------------


def _record_size(record: Mapping[str, Any]) -> int:
    return len(json.dumps(record, separators=(",", ":")).encode()) + 1


def kinesis_stream_record(
    *,
    data: bytes,
    partition_key: str,
    sequence_number: int,
    arrival: float,
    shard_id: str,
    stream_arn: str,
    role_arn: str = "arn:aws:iam::123456789012:role/lambda-role",
) -> StreamRecord:
    """Build a Kinesis record as Lambda delivers it."""
    region = stream_arn.split(":")[3]
    arrival = round(arrival, 3)
    encoded = base64.b64encode(data).decode("ascii")
    sequence = str(sequence_number)
    record = {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence,
            "data": encoded,
            "approximateArrivalTimestamp": arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role_arn,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }
    size = (
        _kinesis_record_frame(shard_id, stream_arn, role_arn, region)
        + _json_string_length(partition_key)
        + 2 * len(sequence)
        + len(encoded)
        + len(repr(arrival))
    )
    return StreamRecord(sequence_number, arrival, partition_key, record, size)


@functools.lru_cache(maxsize=1024)
def _kinesis_record_frame(shard_id: str, stream_arn: str, role_arn: str, region: str) -> int:
    """The serialized size of a Kinesis record whose varying fields are all empty.

    A record's size is this frame plus the lengths of its partition key (as a JSON string
    body), its sequence number (twice: in ``sequenceNumber`` and ``eventID``), its base64
    data and its arrival time, which is how ``json.dumps`` writes them: the same number as
    serializing each record, without serializing each record.
    """
    empty = {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "",
            "sequenceNumber": "",
            "data": "",
            "approximateArrivalTimestamp": 0,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role_arn,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }
    return _record_size(empty) - len("0")


_PLAIN_JSON_STRING = re.compile(r"[ !#-\[\]-~]*")


def _json_string_length(text: str) -> int:
    """The length of ``json.dumps(text)`` without its quotes."""
    if _PLAIN_JSON_STRING.fullmatch(text):
        return len(text)  # printable ASCII without quote or backslash: written as it is
    return len(json.dumps(text)) - 2


def dynamodb_ordering_key(keys: Mapping[str, Any]) -> str:
    """The ordering key of a DynamoDB record: its item key as canonical JSON."""
    return json.dumps(keys, sort_keys=True, separators=(",", ":"))


def dynamodb_stream_record_from(record: Mapping[str, Any]) -> StreamRecord:
    """Wrap a DynamoDB stream record (Lambda form) with its position and ordering key."""
    body = record["dynamodb"]
    return StreamRecord(
        int(body["SequenceNumber"]),
        float(body["ApproximateCreationDateTime"]),
        dynamodb_ordering_key(body["Keys"]),
        dict(record),
        _record_size(record),
    )


# --- sources ------------------------------------------------------------------------------


#: Where a Kinesis shard's sequence numbers start: 44 digits, longer than any DynamoDB
#: Streams number, as Kinesis's are.
KINESIS_FIRST_SEQUENCE_NUMBER = 49_000_000_000_000_000_000_000_000_000_000_000_000_000_000
#: Where a DynamoDB stream's sequence numbers start: DynamoDB Streams assigns 21 to 40
#: digits; the local ones have 27 and stay far below 40.
DYNAMODB_FIRST_SEQUENCE_NUMBER = 400_000_000_000_000_000_000_000_000


def kinesis_shard_id(index: int) -> str:
    """A Kinesis shard id, ``shardId-`` and 12 digits: ``shardId-000000000003``."""
    return f"shardId-{index:012d}"


def dynamodb_shard_id(stream_arn: str, index: int, created: float) -> str:
    """A DynamoDB Streams shard id: ``shardId-00000001573689847184-864758bb``.

    Its shape: ``shardId-``, the shard's creation time in epoch milliseconds as 20 digits,
    ``-`` and 8 hex digits (here derived from the stream and the shard's index, so ids are
    stable for a stream and distinct between its shards).
    """
    seed = f"{stream_arn}#{index}".encode()
    suffix = hashlib.md5(seed, usedforsecurity=False).hexdigest()[:8]
    return f"shardId-{int(created * 1000):020d}-{suffix}"


class MemoryStream:
    """An in-memory Kinesis or DynamoDB stream: fast, and fully under the test's control.

    Shard ids and sequence numbers have the shapes of the stream kind: Kinesis's
    ``shardId-000000000000`` and 44-digit numbers, DynamoDB Streams'
    ``shardId-<20 digits>-<8 hex>`` and numbers of 21 to 40 digits.

    Args:
        kind: ``kinesis`` or ``dynamodb``.
        arn: The stream ARN put into records.
        shard_count: Number of shards; records go to shards by the MD5 of their ordering
            key over equal hash-key ranges, as Kinesis assigns partition keys.
        clock: Arrival times come from this clock; a DynamoDB shard id carries the time
            the stream was made.
        retention_seconds: Records older than this are trimmed (invisible to readers).
    """

    def __init__(
        self,
        kind: StreamKind,
        arn: str,
        *,
        shard_count: int = 1,
        clock: Clock,
        retention_seconds: float = 24 * 3600,
    ) -> None:
        if shard_count < 1:
            raise ValueError(f"shard_count={shard_count} must be at least 1")
        self.kind: StreamKind = kind
        self.arn = arn
        self.retention_seconds = retention_seconds
        self._clock = clock
        if kind == "dynamodb":
            created = clock.now()
            ids = [dynamodb_shard_id(arn, n, created) for n in range(shard_count)]
            first = DYNAMODB_FIRST_SEQUENCE_NUMBER
        else:
            ids = [kinesis_shard_id(n) for n in range(shard_count)]
            first = KINESIS_FIRST_SEQUENCE_NUMBER
        self._shards: dict[str, list[StreamRecord]] = {shard_id: [] for shard_id in ids}
        self._ids = ids
        self._sequence = itertools.count(first)

    def shard_ids(self) -> list[str]:
        """The shard ids."""
        return list(self._ids)

    def read(self, shard_id: str) -> Sequence[StreamRecord]:
        """All records of a shard."""
        return self._shards[shard_id]

    def shard_for(self, ordering_key: str) -> str:
        """The shard that receives records with this partition or item key."""
        digest = int(hashlib.md5(ordering_key.encode(), usedforsecurity=False).hexdigest(), 16)
        return self._ids[digest * len(self._ids) >> 128]

    def put(
        self, data: bytes | str | Mapping[str, Any] | list[Any], *, partition_key: str
    ) -> StreamRecord:
        """Append a Kinesis record (dicts and lists are JSON-encoded)."""
        if self.kind != "kinesis":
            raise TypeError("put() writes Kinesis records; use put_change() on DynamoDB streams")
        if isinstance(data, Mapping | list):
            data = json.dumps(data, separators=(",", ":"))
        payload = data.encode() if isinstance(data, str) else data
        shard = self.shard_for(partition_key)
        record = kinesis_stream_record(
            data=payload,
            partition_key=partition_key,
            sequence_number=next(self._sequence),
            arrival=self._clock.now(),
            shard_id=shard,
            stream_arn=self.arn,
        )
        self._shards[shard].append(record)
        return record

    def put_change(self, record: Mapping[str, Any]) -> StreamRecord:
        """Append a DynamoDB stream record (e.g. from ``dynamodb_stream_record``).

        Its sequence number and creation time are replaced by the stream's, so that order
        and age follow this stream and clock.
        """
        if self.kind != "dynamodb":
            raise TypeError("put_change() writes DynamoDB records; use put() on Kinesis streams")
        change = json.loads(json.dumps(record))
        change["dynamodb"]["SequenceNumber"] = str(next(self._sequence))
        change["dynamodb"]["ApproximateCreationDateTime"] = float(int(self._clock.now()))
        change["eventSourceARN"] = self.arn
        wrapped = dynamodb_stream_record_from(change)
        self._shards[self.shard_for(wrapped.ordering_key)].append(wrapped)
        return wrapped


class _ShardCursor:
    """Records read from one shard of a service stream and not yet released.

    ``released`` counts the records read and then released (dropped from the front of
    ``records``); ``iterator`` is where reading continues.
    """

    def __init__(self) -> None:
        self.records: list[StreamRecord] = []
        self.released = 0
        self.iterator: str | None = None
        self.started = False

    @property
    def read_count(self) -> int:
        """How many records of the shard this cursor has read, released ones included."""
        return self.released + len(self.records)


class _SharedShard:
    """Raw records fetched from one shard, with the clock time each was first read.

    ``dropped`` counts the records dropped from the front of ``raw`` because every reader
    had converted them.
    """

    def __init__(self) -> None:
        self.raw: list[tuple[dict[str, Any], float | None]] = []
        self.dropped = 0
        self.iterator: str | None = None
        self.started = False


class SharedStream:
    """What the readers of one stream share: the raw records fetched from each shard.

    Readers register when they are made; a raw record is dropped once every registered
    reader has converted it, so a long run holds each record once. A reader made after
    records were dropped reads the service on its own, from the oldest record. Readers
    that are gone (their mapping deleted) no longer hold records back.
    """

    def __init__(self) -> None:
        self.shards: dict[str, _SharedShard] = {}
        self.readers: weakref.WeakSet[_ServiceStreamSource] = weakref.WeakSet()

    @property
    def dropped_any(self) -> bool:
        """Whether some shard has dropped records."""
        return any(pages.dropped for pages in self.shards.values())

    def drop_converted(self, shard_id: str) -> None:
        """Drop the shard's raw records that every reader has converted."""
        pages = self.shards[shard_id]
        done = min(reader.read_count(shard_id) for reader in self.readers) - pages.dropped
        if done > 0:
            del pages.raw[:done]
            pages.dropped += done


class _ServiceStreamSource:
    """A stream read incrementally through a service API: each shard's iterator is kept.

    With a ``clock``, a record's arrival time is the clock's time when it is first read, so
    record ages and tumbling windows follow the local cloud's virtual time rather than the
    wall clock of the service that stored it. The local cloud reads streams whenever it
    delivers: write records, then run.
    """

    kind: StreamKind
    _page_limit = 1000

    def __init__(
        self, stream_arn: str, *, retention_seconds: float, clock: Clock | None = None
    ) -> None:
        self.arn = stream_arn
        self.retention_seconds = retention_seconds
        self._clock = clock
        self._cursors: dict[str, _ShardCursor] = {}

    def read(self, shard_id: str) -> Sequence[StreamRecord]:
        """All records of the shard, fetching what arrived since the last read."""
        cursor = self._cursors.setdefault(shard_id, _ShardCursor())
        shared = self._shared
        if shared is not None:
            # Readers of one stream share what was fetched: the service is read (and its
            # responses parsed) once per record, and every reader sees the same arrival.
            pages = shared.shards.setdefault(shard_id, _SharedShard())
            self._fetch_shared(pages, shard_id)
            for raw, arrival in pages.raw[cursor.read_count - pages.dropped :]:
                cursor.records.append(self._convert_at(raw, shard_id, arrival))
            shared.drop_converted(shard_id)
            return cursor.records
        if not cursor.started:
            cursor.iterator = self._trim_horizon(shard_id)
            cursor.started = True
        while cursor.iterator:
            page = self._client.get_records(ShardIterator=cursor.iterator, Limit=self._page_limit)
            cursor.records.extend(self._convert(dict(raw), shard_id) for raw in page["Records"])
            # No next iterator: the shard is closed and fully read.
            cursor.iterator = page.get("NextShardIterator")
            if not page["Records"]:
                break
        return cursor.records

    def release(self, shard_id: str, sequence_number: int) -> None:
        """Forget the records up to ``sequence_number``: this reader is done with them.

        Later reads return only the records after it, so a long run does not keep every
        record it delivered.
        """
        cursor = self._cursors.get(shard_id)
        if cursor is None:
            return
        done = bisect.bisect_right(cursor.records, sequence_number, key=lambda r: r.sequence_number)
        if done:
            del cursor.records[:done]
            cursor.released += done

    def read_count(self, shard_id: str) -> int:
        """How many records of the shard this reader has read (released ones included)."""
        cursor = self._cursors.get(shard_id)
        return 0 if cursor is None else cursor.read_count

    _client: Any
    _shared: SharedStream | None = None

    def _fetch_shared(self, pages: _SharedShard, shard_id: str) -> None:
        if not pages.started:
            pages.iterator = self._trim_horizon(shard_id)
            pages.started = True
        while pages.iterator:
            page = self._client.get_records(ShardIterator=pages.iterator, Limit=self._page_limit)
            now = self._clock.now() if self._clock is not None else None
            pages.raw.extend((dict(raw), now) for raw in page["Records"])
            pages.iterator = page.get("NextShardIterator")
            if not page["Records"]:
                break

    def _convert_at(
        self, raw: dict[str, Any], shard_id: str, arrival: float | None
    ) -> StreamRecord:
        return self._convert(raw, shard_id)

    def _trim_horizon(self, shard_id: str) -> str | None:
        raise NotImplementedError

    def _convert(self, raw: dict[str, Any], shard_id: str) -> StreamRecord:
        raise NotImplementedError


class DynamoDBStreamSource(_ServiceStreamSource):
    """A DynamoDB stream read through the DynamoDB Streams API (moto or real).

    Records are converted to the form Lambda delivers: ``eventVersion`` 1.1, 32-hex
    ``eventID``, whole-second ``ApproximateCreationDateTime``, base64 binary values,
    ``eventSourceARN`` added.
    """

    kind: StreamKind = "dynamodb"

    def __init__(
        self,
        stream_arn: str,
        *,
        client: DynamoDBStreamsClient,
        retention_seconds: float = 24 * 3600,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(stream_arn, retention_seconds=retention_seconds, clock=clock)
        self._client = client

    def shard_ids(self) -> list[str]:
        """The stream's shards."""
        description = self._client.describe_stream(StreamArn=self.arn)["StreamDescription"]
        return [shard["ShardId"] for shard in description.get("Shards", [])]

    def _trim_horizon(self, shard_id: str) -> str | None:
        return self._client.get_shard_iterator(  # type: ignore[no-any-return]
            StreamArn=self.arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
        ).get("ShardIterator")

    def _convert(self, raw: dict[str, Any], shard_id: str) -> StreamRecord:
        record = lambda_record(raw, self.arn)
        if self._clock is not None:
            record["dynamodb"]["ApproximateCreationDateTime"] = float(int(self._clock.now()))
        return dynamodb_stream_record_from(record)


class KinesisStreamSource(_ServiceStreamSource):
    """A Kinesis data stream read through the Kinesis API (moto or real).

    Readers given the same ``shared_reads`` dict fetch each record from the service once
    and share it (see :class:`SharedStream`).
    """

    kind: StreamKind = "kinesis"
    _page_limit = 10000

    def __init__(
        self,
        stream_arn: str,
        *,
        client: Any,
        retention_seconds: float = 24 * 3600,
        role_arn: str = "arn:aws:iam::123456789012:role/lambda-role",
        clock: Clock | None = None,
        shared_reads: dict[str, SharedStream] | None = None,
    ) -> None:
        super().__init__(stream_arn, retention_seconds=retention_seconds, clock=clock)
        self._client = client
        self._role_arn = role_arn
        if shared_reads is not None:
            shared = shared_reads.setdefault(stream_arn, SharedStream())
            # A reader that comes after records were dropped reads on its own.
            if not shared.dropped_any:
                shared.readers.add(self)
                self._shared = shared
        self._name = stream_arn.rsplit("/", 1)[-1]

    def shard_ids(self) -> list[str]:
        """The stream's open and closed shards."""
        shards = self._client.list_shards(StreamName=self._name).get("Shards", [])
        return [shard["ShardId"] for shard in shards]

    def _trim_horizon(self, shard_id: str) -> str | None:
        return self._client.get_shard_iterator(  # type: ignore[no-any-return]
            StreamName=self._name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
        ).get("ShardIterator")

    def _convert(self, raw: dict[str, Any], shard_id: str) -> StreamRecord:
        return self._convert_at(
            raw, shard_id, self._clock.now() if self._clock is not None else None
        )

    def _convert_at(self, raw: dict[str, Any], shard_id: str, arrival: Any) -> StreamRecord:
        if arrival is None:
            arrival = raw["ApproximateArrivalTimestamp"]
        return kinesis_stream_record(
            data=raw["Data"],
            partition_key=raw["PartitionKey"],
            sequence_number=int(raw["SequenceNumber"]),
            arrival=arrival.timestamp() if hasattr(arrival, "timestamp") else arrival,
            shard_id=shard_id,
            stream_arn=self.arn,
            role_arn=self._role_arn,
        )


# --- the mapping --------------------------------------------------------------------------


@dataclass
class _Window:
    start: float
    end: float
    state: Any = field(default_factory=dict)


@dataclass
class _Lane:
    position: int = -1  # last sequence number committed; -1: nothing yet
    pending_since: float | None = None
    window: _Window | None = None
    stalled: str | None = None


@dataclass
class _Attempt:
    """The running account of one batch read from the stream."""

    invocations: int = 0
    throttles: int = 0
    last_result: InvokeResult | None = None
    last_event: dict[str, Any] | None = None
    function_error: bool = False


SendFailure = Callable[[str, dict[str, Any]], None]


class StreamEventSourceMapping:
    """One event source mapping from a Kinesis or DynamoDB stream to a function.

    Args:
        source: The stream.
        function_name: The function to invoke.
        function_arn: Its ARN, used in on-failure records.
        invoke: Calls the function synchronously.
        log: Receives every invocation, checkpoint and failure record.
        clock: The local cloud's clock.
        send_failure: Delivers an on-failure record ``(destination_arn, body)``; the body
            of an S3 destination also carries ``payload``.
        uuid: The mapping's id. Defaults to a new UUID.
        batch_size: 1-10000.
        maximum_batching_window_seconds: 0-300.
        starting_position: ``TRIM_HORIZON``, ``LATEST`` or ``AT_TIMESTAMP`` (Kinesis only).
        starting_position_timestamp: Epoch seconds, with ``AT_TIMESTAMP`` only.
        bisect_batch_on_function_error: Split failing batches.
        report_batch_item_failures: Honour ``batchItemFailures`` in responses.
        maximum_retry_attempts: -1 (until expiry) or 0-10000.
        maximum_record_age_seconds: -1 (until expiry) or 60-604800.
        parallelization_factor: 1-10.
        tumbling_window_seconds: 0 (off) to 900.
        on_failure_destination: ARN of an SQS queue, SNS topic or S3 bucket.
        record_filter: Object with ``matches(record) -> bool`` (FilterCriteria), or None.
        enabled: Whether the mapping polls.
        retry_delay: Seconds to advance the clock before retry ``n`` (default 0).

    Raises:
        InvalidParameterValueError: For parameters Lambda would reject.
    """

    def __init__(
        self,
        *,
        source: StreamSource,
        function_name: str,
        function_arn: str,
        invoke: Invoker,
        log: ActivityLog,
        clock: Clock,
        send_failure: SendFailure | None = None,
        uuid: str | None = None,
        batch_size: int = 100,
        maximum_batching_window_seconds: int = 0,
        starting_position: StartingPosition = "TRIM_HORIZON",
        starting_position_timestamp: float | None = None,
        bisect_batch_on_function_error: bool = False,
        report_batch_item_failures: bool = False,
        maximum_retry_attempts: int = -1,
        maximum_record_age_seconds: int = -1,
        parallelization_factor: int = 1,
        tumbling_window_seconds: int = 0,
        on_failure_destination: str | None = None,
        record_filter: Any | None = None,
        enabled: bool = True,
        retry_delay: Callable[[int], float] | None = None,
    ) -> None:
        self.source = source
        self.function_name = function_name
        self.function_arn = function_arn
        self.uuid = uuid or str(_new_uuid())
        self.batch_size = batch_size
        self.window_seconds = maximum_batching_window_seconds
        self.starting_position = starting_position
        self.starting_position_timestamp = starting_position_timestamp
        self.bisect = bisect_batch_on_function_error
        self.report_failures = report_batch_item_failures
        self.max_retries = maximum_retry_attempts
        self.max_age = maximum_record_age_seconds
        self.parallelization = parallelization_factor
        self.tumbling = tumbling_window_seconds
        self.on_failure = on_failure_destination
        self.record_filter = record_filter
        self._invoke = invoke
        self._log = log
        self._clock = clock
        self._send_failure = send_failure
        self._retry_delay = retry_delay or (lambda _attempt: 0.0)
        self._lanes: dict[tuple[str, int], _Lane] = {}
        self._validate()
        self.enabled = False
        if enabled:
            self.enable()

    # -- configuration -------------------------------------------------------------------

    def _validate(self) -> None:
        kinesis = self.source.kind == "kinesis"
        _check("BatchSize", self.batch_size, 1, 10000)
        _check("MaximumBatchingWindowInSeconds", self.window_seconds, 0, 300)
        if self.max_retries != -1:
            _check("MaximumRetryAttempts", self.max_retries, 0, 10000)
        if self.max_age != -1:
            _check("MaximumRecordAgeInSeconds", self.max_age, 60, 604800)
        _check("ParallelizationFactor", self.parallelization, 1, 10)
        _check("TumblingWindowInSeconds", self.tumbling, 0, 900)
        allowed = (
            ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP") if kinesis else ("TRIM_HORIZON", "LATEST")
        )
        if self.starting_position not in allowed:
            raise InvalidParameterValueError(
                f"StartingPosition {self.starting_position!r} is not supported for "
                f"{self.source.kind} streams; use one of {', '.join(allowed)}"
            )
        if (self.starting_position == "AT_TIMESTAMP") != (
            self.starting_position_timestamp is not None
        ):
            raise InvalidParameterValueError(
                "StartingPositionTimestamp is required with AT_TIMESTAMP and allowed only with it"
            )
        # UNSPECIFIED: tumbling windows with parallelization are rejected.
        if self.tumbling and self.parallelization > 1:
            raise InvalidParameterValueError(
                "TumblingWindowInSeconds requires ParallelizationFactor 1"
            )
        if self.on_failure is not None and not self.on_failure.startswith(
            ("arn:aws:sqs:", "arn:aws:sns:", "arn:aws:s3:")
        ):
            raise InvalidParameterValueError(
                f"DestinationConfig.OnFailure {self.on_failure!r} must be an SQS queue, SNS "
                "topic or S3 bucket ARN"
            )

    def enable(self) -> None:
        """Start polling; a new mapping's lanes start at its starting position."""
        if self.enabled:
            return
        self.enabled = True
        for shard_id in self.source.shard_ids():
            for lane in range(self.parallelization):
                if (shard_id, lane) not in self._lanes:
                    self._lanes[(shard_id, lane)] = _Lane(position=self._start_position(shard_id))

    def disable(self) -> None:
        """Stop polling; enabling again resumes after the last committed records."""
        self.enabled = False

    def _start_position(self, shard_id: str) -> int:
        records = self.source.read(shard_id)
        if self.starting_position == "LATEST":
            # The tip at the moment the mapping is enabled.
            return records[-1].sequence_number if records else -1
        if self.starting_position == "AT_TIMESTAMP":
            earlier = [r for r in records if r.arrival < (self.starting_position_timestamp or 0)]
            return earlier[-1].sequence_number if earlier else -1
        return -1

    # -- status ----------------------------------------------------------------------------

    @property
    def stalled(self) -> list[str]:
        """Why lanes stopped (empty when the mapping is healthy)."""
        return [lane.stalled for lane in self._lanes.values() if lane.stalled]

    def next_deadline(self) -> float | None:
        """The earliest clock time at which a waiting batch or window becomes due."""
        deadlines = []
        for lane in self._lanes.values():
            if lane.pending_since is not None:
                deadlines.append(lane.pending_since + self.window_seconds)
            if lane.window is not None:
                deadlines.append(lane.window.end)
        return min(deadlines) if deadlines else None

    # -- polling ---------------------------------------------------------------------------

    def poll(self) -> bool:
        """Deliver what is due on every shard and lane; return True if anything moved."""
        if not self.enabled:
            return False
        moved = False
        for shard_id in self.source.shard_ids():
            records = self.source.read(shard_id)
            done = None
            for lane_id in range(self.parallelization):
                # A shard that appears after the mapping was enabled (resharding) is read
                # from its start: the LATEST tip was taken when the mapping was enabled.
                lane = self._lanes.setdefault((shard_id, lane_id), _Lane())
                if lane.stalled is None:
                    moved |= self._step(shard_id, lane_id, lane, records)
                done = lane.position if done is None else min(done, lane.position)
            release = getattr(self.source, "release", None)
            if release is not None and done is not None and done >= 0:
                # Every lane has committed up to ``done``: those records are never read
                # again (retries and windows hold records after the position).
                release(shard_id, done)
        return moved

    def _lane_of(self, record: StreamRecord) -> int:
        if self.parallelization == 1:
            return 0
        digest = hashlib.md5(record.ordering_key.encode(), usedforsecurity=False).hexdigest()
        return int(digest, 16) % self.parallelization

    def _window_start(self, record: StreamRecord) -> float:
        # UNSPECIFIED: windows align to the Unix epoch.
        return math.floor(record.arrival / self.tumbling) * self.tumbling

    def _scan(
        self, shard_id: str, lane_id: int, lane: _Lane, records: Sequence[StreamRecord]
    ) -> tuple[list[StreamRecord], int, bool]:
        """Read the lane's next batch: (records, last scanned sequence number, closed).

        ``closed`` is True when the batch cannot grow: it is full, at the payload limit,
        or the next record belongs to a later tumbling window.
        """
        start = bisect.bisect_right(records, lane.position, key=lambda r: r.sequence_number)
        batch: list[StreamRecord] = []
        payload = len(b'{"Records":[]}') - 1  # record sizes include a separating comma
        if self.tumbling and lane.window is not None:
            payload += len(
                json.dumps(self._window_fields(shard_id, lane.window, lane.window.state)).encode()
            )
        scanned = lane.position
        trim_before = self._clock.now() - self.source.retention_seconds
        window = None
        for record in itertools.islice(records, start, None):
            if self.parallelization > 1 and self._lane_of(record) != lane_id:
                continue
            if record.arrival < trim_before:
                scanned = record.sequence_number  # trimmed by retention: gone, silently
                continue
            if self.record_filter is not None and not self.record_filter.matches(record.record):
                scanned = record.sequence_number  # filtered out: processed, never delivered
                continue
            if self.tumbling:
                record_window = self._window_start(record)
                if window is None:
                    window = record_window
                elif record_window != window:
                    return batch, scanned, True
            if payload + record.size > MAX_PAYLOAD_BYTES and batch:
                return batch, scanned, True
            batch.append(record)
            payload += record.size
            scanned = record.sequence_number
            if len(batch) >= self.batch_size:
                return batch, scanned, True
        return batch, scanned, False

    def _step(
        self, shard_id: str, lane_id: int, lane: _Lane, records: Sequence[StreamRecord]
    ) -> bool:
        batch, scanned, closed = self._scan(shard_id, lane_id, lane, records)
        now = self._clock.now()
        # A record of a later window, or the window's end on the clock, closes the window.
        closing = lane.window is not None and (
            (bool(batch) and self._window_start(batch[0]) != lane.window.start)
            or (not batch and now >= lane.window.end)
        )
        if closing and not self._final_invocation(shard_id, lane_id, lane):
            return True
        if not batch:
            if scanned != lane.position:
                self._commit(shard_id, lane_id, lane, scanned)
                return True
            return closing
        if lane.window is not None and now >= lane.window.end:
            closed = True  # the tumbling window is over: what it buffered goes now
        if self.window_seconds and not closed:
            # UNSPECIFIED: the batching window starts when a new batch's first record is seen.
            if lane.pending_since is None:
                lane.pending_since = now
            if now < lane.pending_since + self.window_seconds:
                return False
        lane.pending_since = None
        if self.tumbling and lane.window is None:
            start = self._window_start(batch[0])
            lane.window = _Window(start, start + self.tumbling)
        self._process(shard_id, lane_id, lane, batch, _Attempt(), retries=0)
        if lane.stalled is None:
            self._commit(shard_id, lane_id, lane, scanned)
        return True

    def _commit(self, shard_id: str, lane_id: int, lane: _Lane, sequence_number: int) -> None:
        lane.position = sequence_number
        self._log.add(
            Checkpoint(self.uuid, shard_id, lane_id, str(sequence_number), self._clock.now())
        )

    # -- processing ------------------------------------------------------------------------

    def _process(
        self,
        shard_id: str,
        lane_id: int,
        lane: _Lane,
        batch: list[StreamRecord],
        attempt: _Attempt,
        retries: int,
    ) -> None:
        """Deliver ``batch`` until it succeeds or is discarded (section 11's process())."""
        while batch and lane.stalled is None:
            batch = self._discard_expired(shard_id, batch, attempt)
            if not batch:
                return
            if self.max_retries == -1 and attempt.invocations >= STALL_LIMIT:
                lane.stalled = (
                    f"{shard_id} lane {lane_id}: a batch was invoked {STALL_LIMIT} times without "
                    "succeeding or being discarded (set MaximumRetryAttempts or advance the clock)"
                )
                return
            event: dict[str, Any] = {"Records": [r.record for r in batch]}
            if lane.window is not None:
                event.update(self._window_fields(shard_id, lane.window, lane.window.state))
            try:
                result = self._invoke(self.function_name, event)
            except InvocationThrottled:
                attempt.throttles += 1
                if attempt.throttles >= STALL_LIMIT:
                    lane.stalled = f"{shard_id} lane {lane_id}: throttled {STALL_LIMIT} times"
                continue  # never reached the function: not a retry (age rules still apply)
            attempt.invocations += 1
            attempt.last_result = result
            attempt.last_event = event
            outcome, failed_from, new_state = self._judge(result, batch, final=False)
            self._log.add(self._entry(shard_id, lane_id, batch, event, result, outcome, retries))
            if outcome == "success":
                self._accept_state(shard_id, lane_id, lane, new_state)
                return
            attempt.function_error = result.function_error is not None
            if outcome == "partial":
                assert failed_from is not None  # noqa: S101 - partial always names a record
                self._accept_state(shard_id, lane_id, lane, new_state)
                batch = batch[failed_from:]
            elif self.bisect and len(batch) > 1:
                half = BISECT_FIRST_HALF(len(batch))
                # UNSPECIFIED: depth-first; each half starts with no retries used.
                self._process(shard_id, lane_id, lane, batch[:half], _Attempt(), 0)
                self._process(shard_id, lane_id, lane, batch[half:], _Attempt(), 0)
                return
            if self.max_retries != -1 and retries >= self.max_retries:
                self._discard(shard_id, batch, RETRY_CONDITION, attempt)
                return
            progressed = outcome == "partial" and failed_from is not None and failed_from > 0
            retries = 0 if (progressed and RESET_RETRIES_ON_PROGRESS) else retries + 1
            self._clock.advance(self._retry_delay(retries))

    def _window_fields(
        self,
        shard_id: str,
        window: _Window,
        state: Any,
        *,
        final: bool = False,
        early: bool = False,
    ) -> dict[str, Any]:
        return {
            "window": {
                "start": iso8601(window.start, milliseconds=False),
                "end": iso8601(window.end, milliseconds=False),
            },
            "state": state if state is not None else {},
            "shardId": shard_id,
            "eventSourceARN": self.source.arn,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": early,
        }

    def _judge(
        self, result: InvokeResult, batch: Sequence[StreamRecord], *, final: bool
    ) -> tuple[Outcome, int | None, Any]:
        """Classify a result: (outcome, index of the first record to retry, returned state)."""
        if result.function_error is not None:
            return "failure", None, None
        payload = result.payload
        state = None
        if self.tumbling:
            if not isinstance(payload, dict):
                # UNSPECIFIED: the final invocation may return nothing.
                return (
                    ("success", None, None)
                    if final and payload is None
                    else ("failure", None, None)
                )
            if "state" not in payload and not final:
                return "failure", None, None
            state = payload.get("state")
        if not self.report_failures or payload is None:
            return "success", None, state
        if not isinstance(payload, dict):
            return "failure", None, None
        items = payload.get("batchItemFailures")
        if items is None or items == []:
            return "success", None, state
        if not isinstance(items, list):
            return "failure", None, None
        positions = {str(r.sequence_number): index for index, r in enumerate(batch)}
        failed: list[int] = []
        for item in items:
            identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
            # UNSPECIFIED: an identifier that is not a sequence number of the batch fails it.
            if not isinstance(identifier, str) or identifier not in positions:
                return "failure", None, None
            failed.append(positions[identifier])
        return "partial", min(failed), state

    def _accept_state(self, shard_id: str, lane_id: int, lane: _Lane, state: Any) -> None:
        if lane.window is None:
            return
        lane.window.state = state
        size = len(json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode())
        if size > MAX_WINDOW_STATE_BYTES:
            # UNSPECIFIED: an early-termination invocation with the oversized state, whose
            # response is ignored; the same window then goes on with fresh state.
            self._window_invocation(shard_id, lane_id, lane, early=True)
            if lane.window is not None:
                lane.window.state = {}

    def _final_invocation(self, shard_id: str, lane_id: int, lane: _Lane) -> bool:
        """Close the lane's window; return False if the lane stalled on it."""
        self._window_invocation(shard_id, lane_id, lane, early=False)
        if lane.stalled is not None:
            return False
        lane.window = None
        return True

    def _window_invocation(self, shard_id: str, lane_id: int, lane: _Lane, *, early: bool) -> None:
        assert lane.window is not None  # noqa: S101 - only called with an open window
        window = lane.window
        fields = self._window_fields(shard_id, window, window.state, final=not early, early=early)
        # UNSPECIFIED: these invocations are retried until they succeed (AWS suspends the
        # shard); the stall guard stops a function that never succeeds.
        for attempt in range(STALL_LIMIT):
            try:
                result = self._invoke(self.function_name, {"Records": [], **fields})
            except InvocationThrottled:
                continue
            outcome: Outcome = "success" if result.function_error is None else "failure"
            if outcome == "success" and not early:
                outcome = self._judge(result, [], final=True)[0]
            self._log.add(
                Invocation(
                    source=self.source.kind,
                    mapping_id=self.uuid,
                    function=self.function_name,
                    items=(),
                    event={"Records": [], **fields},
                    result=result,
                    outcome=outcome,
                    attempt=attempt,
                    shard_id=shard_id,
                    lane=lane_id,
                    window=(fields["window"]["start"], fields["window"]["end"]),
                    is_final_invoke_for_window=not early,
                    is_window_terminated_early=early,
                    at=self._clock.now(),
                )
            )
            if outcome == "success":
                return
        lane.stalled = (
            f"{shard_id} lane {lane_id}: the {'early-termination' if early else 'final'} "
            f"invocation of window {fields['window']['start']} failed {STALL_LIMIT} times"
        )

    def _entry(
        self,
        shard_id: str,
        lane_id: int,
        batch: Sequence[StreamRecord],
        event: dict[str, Any],
        result: InvokeResult,
        outcome: Outcome,
        retries: int,
    ) -> Invocation:
        window = event.get("window")
        return Invocation(
            source=self.source.kind,
            mapping_id=self.uuid,
            function=self.function_name,
            items=tuple(str(r.sequence_number) for r in batch),
            event=event,
            result=result,
            outcome=outcome,
            attempt=retries,
            shard_id=shard_id,
            lane=lane_id,
            window=(window["start"], window["end"]) if window else None,
            at=self._clock.now(),
        )

    # -- discards --------------------------------------------------------------------------

    def _discard_expired(
        self, shard_id: str, batch: list[StreamRecord], attempt: _Attempt
    ) -> list[StreamRecord]:
        now = self._clock.now()
        trim_before = now - self.source.retention_seconds
        # UNSPECIFIED: records trimmed while being retried vanish without a failure record.
        batch = [r for r in batch if r.arrival >= trim_before]
        if self.max_age == -1:
            return batch
        # UNSPECIFIED: age is checked before every invocation; the expired records are a
        # prefix (records arrive in order) and leave in one failure record.
        expired = 0
        while expired < len(batch) and now - batch[expired].arrival > self.max_age:
            expired += 1
        if expired:
            self._discard(shard_id, batch[:expired], AGE_CONDITION, attempt)
        return batch[expired:]

    def _discard(
        self, shard_id: str, records: Sequence[StreamRecord], condition: str, attempt: _Attempt
    ) -> None:
        body = self._failure_body(shard_id, records, condition, attempt)
        # Without a destination the records are dropped; the log still shows the discard.
        self._log.add(
            FailureRecord(
                source=self.source.kind,
                mapping_id=self.uuid,
                destination=self.on_failure or "",
                condition=condition,
                body=body,
                items=tuple(str(r.sequence_number) for r in records),
                at=self._clock.now(),
            )
        )
        if self.on_failure is not None and self._send_failure is not None:
            self._send_failure(self.on_failure, body)

    def _failure_body(
        self, shard_id: str, records: Sequence[StreamRecord], condition: str, attempt: _Attempt
    ) -> dict[str, Any]:
        kinesis = self.source.kind == "kinesis"
        result = attempt.last_result
        body: dict[str, Any] = {
            "requestContext": {
                "requestId": result.request_id if result else str(_new_uuid()),
                "functionArn": self.function_arn,
                "condition": condition,
                "approximateInvokeCount": attempt.invocations,
            },
        }
        if attempt.invocations:
            # UNSPECIFIED: functionError is null when the last response was a (partial or
            # invalid) response rather than a function error.
            body["responseContext"] = {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled" if attempt.function_error else None,
            }
        body["version"] = "1.0"
        body["timestamp"] = iso8601(self._clock.now())
        body["KinesisBatchInfo" if kinesis else "DDBStreamBatchInfo"] = {
            "shardId": shard_id,
            "startSequenceNumber": str(records[0].sequence_number),
            "endSequenceNumber": str(records[-1].sequence_number),
            "approximateArrivalOfFirstRecord": iso8601(records[0].arrival, milliseconds=kinesis),
            "approximateArrivalOfLastRecord": iso8601(records[-1].arrival, milliseconds=kinesis),
            "batchSize": len(records),
            "streamArn": self.source.arn,
        }
        if self.on_failure is not None and self.on_failure.startswith("arn:aws:s3:"):
            # UNSPECIFIED: S3 destinations also get the event that was (or would be) sent.
            body["payload"] = attempt.last_event or {"Records": [r.record for r in records]}
        return body


def _check(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidParameterValueError(f"{name}={value!r} is out of range: allowed {low}-{high}")


def _new_uuid() -> uuid.UUID:
    return uuid.uuid4()


def run_mappings(
    mappings: Iterable[StreamEventSourceMapping],
    clock: Clock,
    *,
    advance_clock: bool = True,
    max_rounds: int = 100_000,
) -> int:
    """Poll ``mappings`` until nothing is left to deliver; return the rounds made.

    With ``advance_clock``, when nothing can move at the current time the clock jumps to
    the next batching-window or tumbling-window deadline, so every buffered batch is sent
    and every open window closes with its final invocation.

    Raises:
        RuntimeError: When a mapping stalls, or ``max_rounds`` is reached.
    """
    mappings = list(mappings)
    for rounds in range(1, max_rounds + 1):
        moved = False
        for mapping in mappings:
            moved |= mapping.poll()
            if mapping.stalled:
                raise RuntimeError(f"mapping {mapping.uuid} stalled: {'; '.join(mapping.stalled)}")
        if moved:
            continue
        deadlines = [d for m in mappings if m.enabled and (d := m.next_deadline()) is not None]
        if not advance_clock or not deadlines or min(deadlines) <= clock.now():
            return rounds
        clock.advance_to(min(deadlines))
    raise RuntimeError(f"mappings still busy after {max_rounds} polling rounds")
