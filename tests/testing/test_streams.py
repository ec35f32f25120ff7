"""The stream event source mapping engine, semantic by semantic.

Each test replays documented AWS behaviour (the ESM semantics reference) on an in-memory
stream with a scripted function.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_blueprints.testing import streams
from lambda_blueprints.testing.activity import ActivityLog, InvocationThrottled, InvokeResult
from lambda_blueprints.testing.clock import Clock
from lambda_blueprints.testing.events import dynamodb_stream_record
from lambda_blueprints.testing.streams import (
    InvalidParameterValueError,
    MemoryStream,
    StreamEventSourceMapping,
    StreamRecord,
    kinesis_stream_record,
    run_mappings,
)

STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
TABLE_STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:failures"
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a multiple of every window length used


class Function:
    """A scripted function: ``behaviour(event)`` returns the response or raises."""

    def __init__(self, behaviour: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.behaviour = behaviour or (lambda event: None)
        self.events: list[dict[str, Any]] = []

    def __call__(self, name: str, event: dict[str, Any]) -> InvokeResult:
        self.events.append(json.loads(json.dumps(event)))
        request_id = str(uuid.uuid4())
        try:
            payload = self.behaviour(event)
        except InvocationThrottled:
            raise
        except Exception as error:
            return InvokeResult(request_id, None, "Unhandled", type(error).__name__, str(error))
        return InvokeResult(request_id, payload)

    def batches(self) -> list[list[int]]:
        """The `n` values (1-based record numbers) of each invocation's records."""
        return [[_n(r) for r in e["Records"]] for e in self.events]


def _n(record: dict[str, Any]) -> int:
    if "kinesis" in record:
        return int(json.loads(base64.b64decode(record["kinesis"]["data"]))["n"])
    return int(record["dynamodb"]["NewImage"]["n"]["N"])


class World:
    def __init__(self, kind: str = "kinesis", shards: int = 1) -> None:
        self.clock = Clock(start=T0)
        self.log = ActivityLog()
        self.sent: list[tuple[str, dict[str, Any]]] = []
        arn = STREAM_ARN if kind == "kinesis" else TABLE_STREAM_ARN
        self.stream = MemoryStream(kind, arn, shard_count=shards, clock=self.clock)  # type: ignore[arg-type]

    def put(self, count: int, *, key: str = "k", start: int = 1) -> None:
        for n in range(start, start + count):
            if self.stream.kind == "kinesis":
                self.stream.put({"n": n}, partition_key=key)
            else:
                self.stream.put_change(
                    dynamodb_stream_record("INSERT", {"id": key}, new_image={"id": key, "n": n})
                )

    def mapping(self, function: Function, **options: Any) -> StreamEventSourceMapping:
        options.setdefault("on_failure_destination", QUEUE_ARN)
        return StreamEventSourceMapping(
            source=self.stream,
            function_name="fn",
            function_arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
            invoke=function,
            log=self.log,
            clock=self.clock,
            send_failure=lambda arn, body: self.sent.append((arn, body)),
            **options,
        )

    def run(self, *mappings: StreamEventSourceMapping, advance: bool = True) -> None:
        run_mappings(mappings, self.clock, advance_clock=advance)


def fail_at_position(position: int) -> Callable[[dict[str, Any]], Any]:
    """The seed post's function: the record at 1-based `position` in the batch throws."""

    def behaviour(event: dict[str, Any]) -> Any:
        if len(event["Records"]) >= position:
            raise RuntimeError("kaboom")
        return None

    return behaviour


def fail_record(n: int) -> Callable[[dict[str, Any]], Any]:
    def behaviour(event: dict[str, Any]) -> Any:
        if any(_n(r) == n for r in event["Records"]):
            raise RuntimeError(f"record {n} fails")
        return None

    return behaviour


# --- batching and positions ---------------------------------------------------------------


def test_batches_hold_at_most_batch_size_records_in_order() -> None:
    world = World()
    world.put(25)
    function = Function()
    world.run(world.mapping(function, batch_size=10))

    assert function.batches() == [list(range(1, 11)), list(range(11, 21)), list(range(21, 26))]
    assert [c.sequence_number for c in world.log.checkpoints()] == [
        e["Records"][-1]["kinesis"]["sequenceNumber"] for e in function.events
    ]


def test_batching_window_waits_for_the_clock_unless_the_batch_is_full() -> None:
    world = World()
    function = Function()
    mapping = world.mapping(function, batch_size=5, maximum_batching_window_seconds=10)
    world.put(3)

    world.run(mapping, advance=False)
    assert function.events == []
    world.clock.advance(9)
    world.run(mapping, advance=False)
    assert function.events == []
    world.clock.advance(1)
    world.run(mapping, advance=False)
    assert function.batches() == [[1, 2, 3]]

    world.put(5, start=4)
    world.run(mapping, advance=False)
    assert function.batches()[1] == [4, 5, 6, 7, 8]


def test_a_batch_never_exceeds_the_6_mb_payload_limit() -> None:
    world = World()
    for n in range(1, 10):
        world.stream.put(json.dumps({"n": n, "pad": "x" * 1_000_000}), partition_key="k")
    function = Function()
    world.run(world.mapping(function, batch_size=100))

    assert [len(b) for b in function.batches()] == [4, 4, 1]
    assert all(len(json.dumps(e).encode()) <= 6 * 1024 * 1024 for e in function.events)


def test_batches_hold_records_of_one_shard() -> None:
    world = World(shards=4)
    for n in range(1, 41):
        world.stream.put({"n": n}, partition_key=f"key-{n}")
    function = Function()
    world.run(world.mapping(function, batch_size=100))

    for event in function.events:
        shards = {r["eventID"].split(":")[0] for r in event["Records"]}
        assert len(shards) == 1
    assert sorted(n for b in function.batches() for n in b) == list(range(1, 41))


def test_latest_skips_what_was_written_before_the_mapping_was_enabled() -> None:
    world = World()
    world.put(3)
    function = Function()
    mapping = world.mapping(function, starting_position="LATEST")
    world.put(2, start=4)
    world.run(mapping)

    assert function.batches() == [[4, 5]]


def test_at_timestamp_starts_at_the_first_record_at_or_after_it() -> None:
    world = World()
    world.put(2)
    world.clock.advance(60)
    world.put(2, start=3)
    function = Function()
    world.run(
        world.mapping(
            function, starting_position="AT_TIMESTAMP", starting_position_timestamp=T0 + 30
        )
    )

    assert function.batches() == [[3, 4]]


def test_disabled_mapping_resumes_after_its_last_committed_record() -> None:
    world = World()
    function = Function()
    mapping = world.mapping(function)
    world.put(2)
    world.run(mapping)
    mapping.disable()
    world.put(2, start=3)
    world.run(mapping)
    assert function.batches() == [[1, 2]]

    mapping.enable()
    world.run(mapping)
    assert function.batches() == [[1, 2], [3, 4]]


# --- filters ------------------------------------------------------------------------------


class OddOnly:
    def matches(self, record: dict[str, Any]) -> bool:
        return _n(record) % 2 == 1


def test_filtered_records_are_never_delivered_but_are_checkpointed() -> None:
    world = World()
    world.put(6)
    function = Function()
    mapping = world.mapping(function, record_filter=OddOnly())
    world.run(mapping)

    assert function.batches() == [[1, 3, 5]]
    last = world.stream.read("shardId-000000000000")[-1].sequence_number
    assert world.log.checkpoints()[-1].sequence_number == str(last)


def test_a_batch_filtered_out_entirely_invokes_nothing() -> None:
    world = World()
    world.stream.put({"n": 2}, partition_key="k")
    world.stream.put({"n": 4}, partition_key="k")
    function = Function()
    world.run(world.mapping(function, record_filter=OddOnly()))

    assert function.events == []
    assert len(world.log.checkpoints()) == 1


# --- errors, retries, destinations --------------------------------------------------------


def test_failing_batch_is_retried_then_discarded_to_the_destination() -> None:
    world = World()
    world.put(3)
    function = Function(fail_record(2))
    world.run(world.mapping(function, maximum_retry_attempts=2))

    assert function.batches() == [[1, 2, 3]] * 3
    ((arn, body),) = world.sent
    assert arn == QUEUE_ARN
    records = world.stream.read("shardId-000000000000")
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["requestContext"]["approximateInvokeCount"] == 3
    assert body["requestContext"]["functionArn"].endswith(":function:fn")
    assert body["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert body["version"] == "1.0"
    assert body["timestamp"].endswith("Z")
    info = body["KinesisBatchInfo"]
    assert info == {
        "shardId": "shardId-000000000000",
        "startSequenceNumber": str(records[0].sequence_number),
        "endSequenceNumber": str(records[2].sequence_number),
        "approximateArrivalOfFirstRecord": "2026-01-01T00:00:00.000Z",
        "approximateArrivalOfLastRecord": "2026-01-01T00:00:00.000Z",
        "batchSize": 3,
        "streamArn": STREAM_ARN,
    }


def test_after_a_discard_the_shard_goes_on_with_the_next_records() -> None:
    world = World()
    world.put(4)
    function = Function(fail_record(1))
    world.run(world.mapping(function, batch_size=2, maximum_retry_attempts=0))

    assert function.batches() == [[1, 2], [3, 4]]
    assert len(world.sent) == 1


def test_dynamodb_failure_record_uses_its_own_key_and_whole_seconds() -> None:
    world = World("dynamodb")
    world.put(1)
    world.run(world.mapping(Function(fail_record(1)), maximum_retry_attempts=0))

    ((_, body),) = world.sent
    info = body["DDBStreamBatchInfo"]
    assert "KinesisBatchInfo" not in body
    assert info["approximateArrivalOfFirstRecord"] == "2026-01-01T00:00:00Z"
    assert info["streamArn"] == TABLE_STREAM_ARN


def test_records_past_maximum_age_leave_as_record_age_exceeded() -> None:
    world = World()
    world.put(2)
    function = Function(fail_record(1))
    mapping = world.mapping(
        function, maximum_record_age_seconds=60, retry_delay=lambda attempt: 25.0
    )
    world.run(mapping)

    # Invoked at 0 s, 25 s, 50 s; at 75 s the records are older than 60 s.
    assert len(function.events) == 3
    ((_, body),) = world.sent
    assert body["requestContext"]["condition"] == "RecordAgeExceeded"
    assert body["requestContext"]["approximateInvokeCount"] == 3


def test_expired_prefix_is_discarded_before_the_first_invocation() -> None:
    world = World()
    world.put(2)
    world.clock.advance(120)
    world.put(1, start=3)
    function = Function()
    world.run(world.mapping(function, maximum_record_age_seconds=60))

    assert function.batches() == [[3]]
    ((_, body),) = world.sent
    assert body["requestContext"]["condition"] == "RecordAgeExceeded"
    assert body["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in body
    assert body["KinesisBatchInfo"]["batchSize"] == 2


def test_throttled_invocations_do_not_use_up_retries() -> None:
    world = World()
    world.put(1)
    throttles = iter([True, True, False])

    def behaviour(event: dict[str, Any]) -> Any:
        if next(throttles):
            raise InvocationThrottled()
        return None

    function = Function(behaviour)
    world.run(world.mapping(function, maximum_retry_attempts=0))

    assert len(function.events) == 3
    assert world.sent == []


def test_endless_retries_on_a_frozen_clock_stall_with_a_clear_error() -> None:
    world = World()
    world.put(1)
    mapping = world.mapping(Function(fail_record(1)))

    with pytest.raises(RuntimeError, match=r"stalled: .*invoked 1000 times"):
        world.run(mapping)


def test_discards_without_a_destination_are_logged_not_sent() -> None:
    world = World()
    world.put(1)
    world.run(
        world.mapping(
            Function(fail_record(1)), maximum_retry_attempts=0, on_failure_destination=None
        )
    )

    assert world.sent == []
    (failure,) = world.log.failures()
    assert failure.destination == ""
    assert failure.condition == "RetryAttemptsExhausted"


# --- bisection: the custom checkpoints post, replayed -------------------------------------


def test_bisect_splits_a_failing_batch_whose_halves_then_succeed() -> None:
    # The post's second run: record 6 of a 10-record batch throws; bisected halves of 5 pass.
    world = World()
    world.put(10)
    function = Function(fail_at_position(6))
    world.run(world.mapping(function, batch_size=10, bisect_batch_on_function_error=True))

    assert function.batches() == [list(range(1, 11)), [1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    assert world.sent == []


def test_bisect_recurses_down_to_the_failing_record() -> None:
    # The post's bisection figure: batches 1-7, the failing message processed four times.
    world = World()
    world.put(10)
    function = Function(fail_record(4))
    world.run(
        world.mapping(
            function,
            batch_size=10,
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=0,
        )
    )

    assert function.batches() == [
        list(range(1, 11)),
        [1, 2, 3, 4, 5],
        [1, 2, 3],
        [4, 5],
        [4],
        [5],
        [6, 7, 8, 9, 10],
    ]
    assert sum(4 in batch for batch in function.batches()) == 4
    ((_, body),) = world.sent
    assert body["KinesisBatchInfo"]["batchSize"] == 1
    assert body["requestContext"]["approximateInvokeCount"] == 1


def test_bisection_does_not_use_up_retries() -> None:
    world = World()
    world.put(4)
    function = Function(fail_record(2))
    world.run(
        world.mapping(
            function, batch_size=4, bisect_batch_on_function_error=True, maximum_retry_attempts=2
        )
    )

    assert function.batches() == [[1, 2, 3, 4], [1, 2], [1], [2], [2], [2], [3, 4]]
    ((_, body),) = world.sent
    assert body["requestContext"]["approximateInvokeCount"] == 3


# --- partial batch responses --------------------------------------------------------------


def report_from_position(position: int) -> Callable[[dict[str, Any]], Any]:
    """The post's checkpointing function: stop at the record in `position`, report it."""

    def behaviour(event: dict[str, Any]) -> Any:
        records = event["Records"]
        if len(records) >= position:
            failed = records[position - 1]["kinesis"]["sequenceNumber"]
            return {"batchItemFailures": [{"itemIdentifier": failed}]}
        return {"batchItemFailures": []}

    return behaviour


def test_custom_checkpoint_walkthrough_replays_exactly() -> None:
    # The post's walkthrough: the fourth message of every batch fails.
    world = World()
    world.put(10)
    function = Function(report_from_position(4))
    world.run(world.mapping(function, batch_size=10, report_batch_item_failures=True))

    assert function.batches() == [list(range(1, 11)), list(range(4, 11)), [7, 8, 9, 10], [10]]
    assert [i.outcome for i in world.log.invocations()] == [
        "partial",
        "partial",
        "partial",
        "success",
    ]
    assert world.sent == []


def test_the_lowest_failed_sequence_number_is_the_checkpoint_compared_as_numbers() -> None:
    class Source:
        kind = "kinesis"
        arn = STREAM_ARN
        retention_seconds = 86400.0

        def __init__(self) -> None:
            self.records = [
                kinesis_stream_record(
                    data=json.dumps({"n": n}).encode(),
                    partition_key="k",
                    sequence_number=seq,
                    arrival=T0,
                    shard_id="shardId-000000000000",
                    stream_arn=STREAM_ARN,
                )
                for n, seq in ((1, 9), (2, 10), (3, 11))
            ]

        def shard_ids(self) -> list[str]:
            return ["shardId-000000000000"]

        def read(self, shard_id: str) -> Sequence[StreamRecord]:
            return self.records

    world = World()
    calls: list[list[int]] = []

    def behaviour(event: dict[str, Any]) -> Any:
        calls.append([_n(r) for r in event["Records"]])
        if len(calls) == 1:  # "10" < "9" as text, but 9 is the lower sequence number
            return {"batchItemFailures": [{"itemIdentifier": "10"}, {"itemIdentifier": "9"}]}
        return None

    mapping = StreamEventSourceMapping(
        source=Source(),
        function_name="fn",
        function_arn="arn",
        invoke=Function(behaviour),
        log=world.log,
        clock=world.clock,
        report_batch_item_failures=True,
    )
    world.run(mapping)

    assert calls == [[1, 2, 3], [1, 2, 3]]


@pytest.mark.parametrize(
    "response",
    [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}, {"ok": True}],
    ids=["null", "empty-object", "empty-list", "null-list", "no-key"],
)
def test_responses_that_mean_complete_success(response: Any) -> None:
    world = World()
    world.put(3)
    function = Function(lambda event: response)
    world.run(world.mapping(function, report_batch_item_failures=True))

    assert function.batches() == [[1, 2, 3]]


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"sequence": "1"}]},
        {"batchItemFailures": [{"itemIdentifier": "12345"}]},
        {"batchItemFailures": "all"},
        {"batchItemFailures": [{"itemIdentifier": 5}]},
        "failed",
        [1],
    ],
    ids=[
        "empty-id",
        "null-id",
        "bad-key",
        "unknown-id",
        "not-a-list",
        "id-not-a-string",
        "string",
        "array",
    ],
)
def test_invalid_partial_responses_are_complete_failures(response: Any) -> None:
    world = World()
    world.put(2)
    function = Function(lambda event: response)
    world.run(
        world.mapping(
            function,
            report_batch_item_failures=True,
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=0,
        )
    )

    # Treated like a function error: bisected, then each record discarded.
    assert function.batches() == [[1, 2], [1], [2]]
    assert [body["requestContext"]["condition"] for _, body in world.sent] == [
        "RetryAttemptsExhausted"
    ] * 2
    assert all(body["responseContext"]["functionError"] is None for _, body in world.sent)


def test_partial_failures_count_as_retries() -> None:
    world = World()
    world.put(3)
    function = Function(report_from_position(2))
    world.run(world.mapping(function, report_batch_item_failures=True, maximum_retry_attempts=1))

    assert function.batches() == [[1, 2, 3], [2, 3]]
    ((_, body),) = world.sent
    assert body["requestContext"]["approximateInvokeCount"] == 2
    assert body["responseContext"]["functionError"] is None
    assert body["KinesisBatchInfo"]["batchSize"] == 1
    assert (
        body["KinesisBatchInfo"]["startSequenceNumber"]
        == function.events[1]["Records"][1]["kinesis"]["sequenceNumber"]
    )


class CappedFunction(Function):
    """A scripted function that stops a runaway mapping instead of letting it spin."""

    def __init__(self, behaviour: Callable[[dict[str, Any]], Any], cap: int = 50) -> None:
        super().__init__(behaviour)
        self.cap = cap

    def __call__(self, name: str, event: dict[str, Any]) -> InvokeResult:
        if len(self.events) >= self.cap:
            # Raised outside the function's own error handling: it ends the test's run.
            raise AssertionError(f"the mapping invoked the function more than {self.cap} times")
        return super().__call__(name, event)


def test_reset_on_progress_runs_out_of_retries_when_the_first_record_keeps_failing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(streams, "RESET_RETRIES_ON_PROGRESS", True)
    world = World()
    world.put(3)
    # Naming the batch's first record moves the checkpoint nowhere: no progress to reward.
    function = CappedFunction(report_from_position(1))
    world.run(world.mapping(function, report_batch_item_failures=True, maximum_retry_attempts=2))

    assert function.batches() == [[1, 2, 3]] * 3
    ((_, body),) = world.sent
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["requestContext"]["approximateInvokeCount"] == 3
    assert body["KinesisBatchInfo"]["batchSize"] == 3


def test_reset_on_progress_restarts_the_retry_count_when_the_checkpoint_advances(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def run(*, reset: bool) -> list[list[int]]:
        monkeypatch.setattr(streams, "RESET_RETRIES_ON_PROGRESS", reset)
        # Record 2 fails first (progress past record 1), then the remainder's first record.
        answers = iter([report_from_position(2)] + [report_from_position(1)] * 10)
        world = World()
        world.put(3)
        function = CappedFunction(lambda event: next(answers)(event))
        mapping = world.mapping(function, report_batch_item_failures=True, maximum_retry_attempts=1)
        world.run(mapping)
        assert len(world.sent) == 1
        return function.batches()

    # With the switch on, the one retry allowed is granted again to the remainder.
    assert run(reset=True) == [[1, 2, 3], [2, 3], [2, 3]]
    assert run(reset=False) == [[1, 2, 3], [2, 3]]


def test_item_failures_are_ignored_unless_the_mapping_reports_them() -> None:
    world = World()
    world.put(3)
    function = Function(report_from_position(1))
    world.run(world.mapping(function))

    assert function.batches() == [[1, 2, 3]]


# --- parallelization ----------------------------------------------------------------------


def test_parallelization_keeps_order_per_key_and_a_failing_lane_blocks_only_itself() -> None:
    world = World()
    keys = [f"key-{i}" for i in range(6)]
    for n in range(1, 31):
        world.stream.put({"n": n, "key": keys[n % 6]}, partition_key=keys[n % 6])
    poison = 7  # its key's lane retries, the other lanes go on

    function = Function(fail_record(poison))
    world.run(
        world.mapping(function, batch_size=3, parallelization_factor=3, maximum_retry_attempts=1)
    )

    lanes = {i.lane for i in world.log.invocations()}
    assert len(lanes) > 1
    delivered: dict[str, list[int]] = {}
    for event in function.events:
        for record in event["Records"]:
            key = record["kinesis"]["partitionKey"]
            delivered.setdefault(key, []).append(_n(record))
    for key, ns in delivered.items():
        first_time = list(dict.fromkeys(ns))
        assert first_time == sorted(first_time), key
    assert sorted({n for ns in delivered.values() for n in ns}) == list(range(1, 31))


# --- tumbling windows ---------------------------------------------------------------------


def summing(event: dict[str, Any]) -> Any:
    if event["isFinalInvokeForWindow"]:
        return None
    total = event["state"].get("total", 0) + sum(_n(r) for r in event["Records"])
    return {"state": {"total": total}}


def test_tumbling_window_threads_state_and_ends_with_a_final_invocation() -> None:
    world = World()
    function = Function(summing)
    mapping = world.mapping(function, batch_size=2, tumbling_window_seconds=30)
    world.put(3)  # t = 0 s
    world.clock.advance(10)
    world.put(1, start=4)  # t = 10 s
    world.clock.advance(25)
    world.put(1, start=5)  # t = 35 s: the next window
    world.run(mapping)

    events = function.events
    assert [e["Records"] and [_n(r) for r in e["Records"]] for e in events] == [
        [1, 2],
        [3, 4],
        [],
        [5],
        [],
    ]
    assert [e["state"] for e in events] == [{}, {"total": 3}, {"total": 10}, {}, {"total": 5}]
    assert [e["isFinalInvokeForWindow"] for e in events] == [False, False, True, False, True]
    assert events[0]["window"] == {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:30Z"}
    assert events[3]["window"] == {"start": "2026-01-01T00:00:30Z", "end": "2026-01-01T00:01:00Z"}
    assert events[2]["shardId"] == "shardId-000000000000"
    assert events[2]["eventSourceARN"] == STREAM_ARN


def test_a_batch_never_spans_two_windows() -> None:
    world = World()
    world.put(2)
    world.clock.advance(30)
    world.put(2, start=3)
    function = Function(summing)
    world.run(world.mapping(function, batch_size=100, tumbling_window_seconds=30))

    assert [[_n(r) for r in e["Records"]] for e in function.events] == [[1, 2], [], [3, 4], []]


def test_response_without_state_fails_except_on_the_final_invocation() -> None:
    world = World()
    world.put(1)
    function = Function(lambda event: None)
    world.run(world.mapping(function, tumbling_window_seconds=30, maximum_retry_attempts=0))

    outcomes = [(i.is_final_invoke_for_window, i.outcome) for i in world.log.invocations()]
    assert outcomes == [(False, "failure"), (True, "success")]
    ((_, body),) = world.sent
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"


def test_failed_batch_is_retried_with_the_last_good_state() -> None:
    world = World()
    world.put(2)
    attempts = iter([RuntimeError("once"), None])

    def behaviour(event: dict[str, Any]) -> Any:
        if event["Records"] and _n(event["Records"][0]) == 2:
            error = next(attempts)
            if error:
                raise error
        return summing(event)

    function = Function(behaviour)
    world.run(world.mapping(function, batch_size=1, tumbling_window_seconds=30))

    assert [e["state"] for e in function.events] == [{}, {"total": 1}, {"total": 1}, {"total": 3}]


def test_final_invocation_is_retried_until_it_succeeds() -> None:
    world = World()
    world.put(1)
    finals = iter([RuntimeError("1"), RuntimeError("2"), None])

    def behaviour(event: dict[str, Any]) -> Any:
        if event["isFinalInvokeForWindow"]:
            error = next(finals)
            if error:
                raise error
        return summing(event)

    function = Function(behaviour)
    world.run(world.mapping(function, tumbling_window_seconds=30, maximum_retry_attempts=0))

    finals_made = [i for i in world.log.invocations() if i.is_final_invoke_for_window]
    assert [i.outcome for i in finals_made] == ["failure", "failure", "success"]


def test_state_over_1_mb_terminates_the_window_early() -> None:
    world = World()
    world.put(2)
    big = "x" * (1024 * 1024 + 1)

    def behaviour(event: dict[str, Any]) -> Any:
        if event["isWindowTerminatedEarly"] or event["isFinalInvokeForWindow"]:
            return None
        return {"state": {"blob": big} if _n(event["Records"][0]) == 1 else {"n": 2}}

    function = Function(behaviour)
    world.run(world.mapping(function, batch_size=1, tumbling_window_seconds=30))

    events = function.events
    assert [(bool(e["Records"]), e["isWindowTerminatedEarly"]) for e in events][:3] == [
        (True, False),
        (False, True),
        (True, False),
    ]
    assert events[1]["state"] == {"blob": big}
    assert events[2]["state"] == {}
    assert events[2]["window"] == events[0]["window"]
    assert events[-1]["isFinalInvokeForWindow"] is True


def test_a_memory_dynamodb_stream_has_dynamodb_shaped_shard_ids_and_sequence_numbers() -> None:
    world = World("dynamodb", shards=3)
    world.put(4)
    world.put(2, key="other")

    shard_ids = world.stream.shard_ids()
    assert len(set(shard_ids)) == 3
    # As DynamoDB Streams names shards: shardId-00000001573689847184-864758bb.
    assert all(re.fullmatch(r"shardId-\d{20}-[0-9a-f]{8}", shard) for shard in shard_ids)
    assert all(shard[8:28] == f"{int(T0 * 1000):020d}" for shard in shard_ids)
    numbers = [r.sequence_number for shard in shard_ids for r in world.stream.read(shard)]
    assert len(numbers) == 6
    assert all(21 <= len(str(n)) <= 40 for n in numbers)
    # Stable: the same stream made again at the same time names its shards the same.
    again = MemoryStream("dynamodb", TABLE_STREAM_ARN, shard_count=3, clock=world.clock)
    assert again.shard_ids() == shard_ids


def test_a_dynamodb_failure_record_names_the_dynamodb_shard() -> None:
    world = World("dynamodb")
    world.put(1)
    world.run(world.mapping(Function(fail_record(1)), maximum_retry_attempts=0))

    ((_, body),) = world.sent
    info = body["DDBStreamBatchInfo"]
    assert info["shardId"] == world.stream.shard_ids()[0]
    assert re.fullmatch(r"shardId-\d{20}-[0-9a-f]{8}", info["shardId"])
    assert 21 <= len(info["startSequenceNumber"]) <= 40


def test_a_memory_kinesis_stream_keeps_kinesis_shaped_ids() -> None:
    world = World(shards=2)
    world.put(1)

    assert world.stream.shard_ids() == ["shardId-000000000000", "shardId-000000000001"]
    (record,) = [r for shard in world.stream.shard_ids() for r in world.stream.read(shard)]
    assert len(str(record.sequence_number)) > 40


def test_dynamodb_streams_support_tumbling_windows() -> None:
    world = World("dynamodb")
    world.put(3)
    function = Function(summing)
    world.run(world.mapping(function, tumbling_window_seconds=60))

    assert function.events[-1]["isFinalInvokeForWindow"] is True
    assert function.events[-1]["state"] == {"total": 6}


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"batch_size": 0}, "BatchSize=0"),
        ({"batch_size": 10_001}, "BatchSize=10001"),
        ({"maximum_batching_window_seconds": 301}, "MaximumBatchingWindowInSeconds=301"),
        ({"maximum_retry_attempts": -2}, "MaximumRetryAttempts=-2"),
        ({"maximum_retry_attempts": 10_001}, "MaximumRetryAttempts=10001"),
        ({"maximum_record_age_seconds": 59}, "MaximumRecordAgeInSeconds=59"),
        ({"maximum_record_age_seconds": 604_801}, "MaximumRecordAgeInSeconds=604801"),
        ({"parallelization_factor": 11}, "ParallelizationFactor=11"),
        ({"tumbling_window_seconds": 901}, "TumblingWindowInSeconds=901"),
        (
            {"tumbling_window_seconds": 30, "parallelization_factor": 2},
            "requires ParallelizationFactor 1",
        ),
        ({"starting_position": "AT_TIMESTAMP"}, "StartingPositionTimestamp is required"),
        ({"starting_position_timestamp": T0}, "StartingPositionTimestamp is required"),
        ({"on_failure_destination": "arn:aws:lambda:x"}, "must be an SQS queue, SNS"),
    ],
)
def test_invalid_parameters_are_rejected(options: dict[str, Any], message: str) -> None:
    world = World()
    with pytest.raises(InvalidParameterValueError, match=message):
        world.mapping(Function(), **options)


def test_at_timestamp_is_rejected_for_dynamodb() -> None:
    world = World("dynamodb")
    with pytest.raises(InvalidParameterValueError, match="not supported for dynamodb"):
        world.mapping(Function(), starting_position="AT_TIMESTAMP", starting_position_timestamp=T0)


# --- regressions ------------------------------------------------------------------------


class ListSource:
    """A one-shard (or more) source whose records the test lays out exactly."""

    kind = "kinesis"
    arn = STREAM_ARN
    retention_seconds = 86400.0

    def __init__(self, **shards: list[StreamRecord]) -> None:
        self.shards = dict(shards)

    def shard_ids(self) -> list[str]:
        return list(self.shards)

    def read(self, shard_id: str) -> Sequence[StreamRecord]:
        return self.shards[shard_id]


def _record(
    data: bytes, sequence: int, *, key: str = "k", shard: str = "shardId-0"
) -> StreamRecord:
    return kinesis_stream_record(
        data=data,
        partition_key=key,
        sequence_number=sequence,
        arrival=T0,
        shard_id=shard,
        stream_arn=STREAM_ARN,
    )


def _mapping(source: Any, function: Function, world: World, **options: Any) -> Any:
    return StreamEventSourceMapping(
        source=source,
        function_name="fn",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
        invoke=function,
        log=world.log,
        clock=world.clock,
        send_failure=lambda arn, body: world.sent.append((arn, body)),
        **options,
    )


def test_finite_retries_beyond_the_stall_guard_still_end_in_a_discard() -> None:
    world = World()
    world.put(1)
    function = Function(fail_record(1))
    world.run(world.mapping(function, maximum_retry_attempts=1500))

    assert len(function.events) == 1501
    ((_, body),) = world.sent
    assert body["requestContext"]["approximateInvokeCount"] == 1501


def test_an_event_of_exactly_6_mb_is_sent_as_one_batch() -> None:
    def size(records: list[StreamRecord]) -> int:
        return len(json.dumps({"Records": [r.record for r in records]}, separators=(",", ":")))

    first = _record(b"a" * 3_000_000, 1)
    missing = 6 * 1024 * 1024 - size([first, _record(b"", 2)])
    data_bytes = (missing // 4) * 3
    second = _record(b"b" * data_bytes, 2, key="k" + "z" * (missing - data_bytes // 3 * 4))
    assert size([first, second]) == 6 * 1024 * 1024
    world = World()
    function = Function()
    world.run(_mapping(ListSource(**{"shardId-0": [first, second]}), function, world))

    assert [len(e["Records"]) for e in function.events] == [2]


def test_s3_destinations_get_the_last_event_sent_as_payload() -> None:
    world = World()
    world.put(3)
    function = Function(report_from_position(3))
    world.run(
        world.mapping(
            function,
            report_batch_item_failures=True,
            maximum_retry_attempts=0,
            on_failure_destination="arn:aws:s3:::failures",
        )
    )

    ((_, body),) = world.sent
    assert body["payload"] == function.events[-1]
    assert body["KinesisBatchInfo"]["batchSize"] == 1


def test_the_end_of_a_tumbling_window_flushes_a_buffered_batch() -> None:
    world = World()
    function = Function(summing)
    mapping = world.mapping(
        function, tumbling_window_seconds=30, maximum_batching_window_seconds=20
    )
    world.put(1)
    world.run(mapping, advance=False)  # t = 0: buffered, the batching window starts
    world.clock.advance(20)
    world.run(mapping, advance=False)  # t = 20: sent, the tumbling window [0, 30) is open
    world.clock.advance(5)
    world.put(1, start=2)  # same window, buffered by the batching window

    world.run(mapping)

    assert [
        ([_n(r) for r in e["Records"]], e["isFinalInvokeForWindow"]) for e in function.events
    ] == [
        ([1], False),
        ([2], False),
        ([], True),
    ]


def test_shards_that_appear_after_enable_are_read_from_their_start() -> None:
    world = World()
    source = ListSource(**{"shardId-0": []})
    function = Function()
    mapping = _mapping(source, function, world, starting_position="LATEST")
    source.shards["shardId-1"] = [
        _record(json.dumps({"n": n}).encode(), 100 + n, shard="shardId-1") for n in (1, 2)
    ]

    world.run(mapping)

    assert function.batches() == [[1, 2]]


def test_a_closed_shard_is_read_once() -> None:
    from datetime import datetime

    from lambda_blueprints.testing.streams import DynamoDBStreamSource

    class ClosedShardClient:
        calls = 0

        def get_shard_iterator(self, **_: Any) -> dict[str, str]:
            return {"ShardIterator": "it-0"}

        def get_records(self, **_: Any) -> dict[str, Any]:
            self.calls += 1
            record = {
                "eventID": "a" * 32,
                "eventName": "INSERT",
                "dynamodb": {
                    "Keys": {"id": {"S": "1"}},
                    "SequenceNumber": "100",
                    "ApproximateCreationDateTime": datetime(2026, 1, 1),  # noqa: DTZ001
                },
            }
            return {"Records": [record]}  # no NextShardIterator: the shard is closed

    client = ClosedShardClient()
    source = DynamoDBStreamSource(TABLE_STREAM_ARN, client=client)  # type: ignore[arg-type]

    assert len(source.read("shardId-1")) == 1
    assert len(source.read("shardId-1")) == 1
    assert client.calls == 1


# --- more semantics ------------------------------------------------------------------------


def test_mappings_on_one_stream_keep_their_own_positions() -> None:
    world = World()
    world.put(3)
    healthy, failing = Function(), Function(fail_record(2))
    first = world.mapping(healthy)
    second = world.mapping(failing, maximum_retry_attempts=1, on_failure_destination=None)

    world.run(first, second)

    assert healthy.batches() == [[1, 2, 3]]
    assert failing.batches() == [[1, 2, 3], [1, 2, 3]]
    assert {c.mapping_id for c in world.log.checkpoints()} == {first.uuid, second.uuid}


def test_failure_record_names_the_last_invocation_request() -> None:
    world = World()
    world.put(1)
    world.run(world.mapping(Function(fail_record(1)), maximum_retry_attempts=2))

    ((_, body),) = world.sent
    last = world.log.invocations()[-1]
    assert body["requestContext"]["requestId"] == last.result.request_id
    assert body["timestamp"] == "2026-01-01T00:00:00.000Z"


def test_partial_response_inside_a_window_commits_state_for_the_prefix() -> None:
    world = World()
    world.put(3)
    failures = iter([True, False])

    def behaviour(event: dict[str, Any]) -> Any:
        if event["isFinalInvokeForWindow"]:
            return None
        records = event["Records"]
        state = event["state"].get("total", 0)
        if len(records) == 3 and next(failures):
            third = records[2]["kinesis"]["sequenceNumber"]
            summed = state + sum(_n(r) for r in records[:2])
            return {"state": {"total": summed}, "batchItemFailures": [{"itemIdentifier": third}]}
        return {"state": {"total": state + sum(_n(r) for r in records)}}

    function = Function(behaviour)
    world.run(world.mapping(function, tumbling_window_seconds=30, report_batch_item_failures=True))

    assert [[_n(r) for r in e["Records"]] for e in function.events] == [[1, 2, 3], [3], []]
    assert [e["state"] for e in function.events] == [{}, {"total": 3}, {"total": 6}]


def test_bisection_inside_a_window_threads_state_through_the_halves() -> None:
    world = World()
    world.put(4)

    def behaviour(event: dict[str, Any]) -> Any:
        if event["isFinalInvokeForWindow"]:
            return None
        if len(event["Records"]) > 2:
            raise RuntimeError("too many at once")
        return summing(event)

    function = Function(behaviour)
    world.run(
        world.mapping(function, tumbling_window_seconds=30, bisect_batch_on_function_error=True)
    )

    assert [[_n(r) for r in e["Records"]] for e in function.events] == [
        [1, 2, 3, 4],
        [1, 2],
        [3, 4],
        [],
    ]
    assert [e["state"] for e in function.events] == [{}, {}, {"total": 3}, {"total": 10}]


def test_only_the_failing_lane_retries() -> None:
    import hashlib

    def lane(key: str) -> int:  # the lane formula of the specification
        return int(hashlib.md5(key.encode(), usedforsecurity=False).hexdigest(), 16) % 2

    keys = [f"key-{i}" for i in range(10)]
    failing_key = keys[0]
    other_key = next(k for k in keys if lane(k) != lane(failing_key))
    world = World()
    for n, key in enumerate([failing_key, other_key, failing_key, other_key], start=1):
        world.stream.put({"n": n}, partition_key=key)
    function = Function(fail_record(1))

    world.run(world.mapping(function, parallelization_factor=2, maximum_retry_attempts=2))

    invocations = world.log.invocations()
    assert {i.lane for i in invocations if i.attempt > 0} == {lane(failing_key)}
    other = [i for i in invocations if i.lane == lane(other_key)]
    assert [[_n(r) for r in i.event["Records"]] for i in other] == [[2, 4]]
    assert all(i.outcome == "success" for i in other)


def test_windows_align_to_the_epoch_as_in_the_aws_example() -> None:
    # The Lambda guide's example event: a 120 s window from 07:04 to 07:06.
    world = World()
    world.clock = Clock(start=1_607_497_510.0)  # 2020-12-09T07:05:10Z
    world.stream = MemoryStream("kinesis", STREAM_ARN, clock=world.clock)
    world.put(1)
    function = Function(summing)
    world.run(world.mapping(function, tumbling_window_seconds=120))

    assert function.events[0]["window"] == {
        "start": "2020-12-09T07:04:00Z",
        "end": "2020-12-09T07:06:00Z",
    }


def test_filters_apply_before_batching_windows_and_tumbling_windows() -> None:
    world = World()
    world.put(4)  # 1..4 at t = 0; only odd records pass the filter
    world.clock.advance(30)
    world.put(2, start=5)  # 5, 6 in the next window
    function = Function(summing)
    mapping = world.mapping(
        function,
        record_filter=OddOnly(),
        tumbling_window_seconds=30,
        maximum_batching_window_seconds=5,
    )

    world.run(mapping)

    assert [[_n(r) for r in e["Records"]] for e in function.events] == [[1, 3], [], [5], []]
    assert [e["state"] for e in function.events if e["isFinalInvokeForWindow"]] == [
        {"total": 4},
        {"total": 5},
    ]
    last = world.stream.read("shardId-000000000000")[-1].sequence_number
    assert world.log.checkpoints()[-1].sequence_number == str(last)


def test_records_that_age_out_inside_a_window_leave_the_window_state_as_it_was() -> None:
    world = World()
    world.put(1)
    failures = iter([True, True, False])

    def behaviour(event: dict[str, Any]) -> Any:
        if event["Records"] and _n(event["Records"][0]) == 1 and next(failures):
            raise RuntimeError("slow dependency")
        return summing(event)

    function = Function(behaviour)
    mapping = world.mapping(
        function,
        tumbling_window_seconds=900,
        maximum_record_age_seconds=60,
        retry_delay=lambda attempt: 45.0,
    )
    world.run(mapping)

    (failure,) = world.log.failures()
    assert failure.condition == "RecordAgeExceeded"
    final = function.events[-1]
    assert final["isFinalInvokeForWindow"] is True
    assert final["state"] == {}


@given(
    data=st.binary(max_size=300),
    partition_key=st.text(min_size=1, max_size=40),
    sequence_number=st.integers(min_value=0, max_value=10**45),
    arrival=st.floats(min_value=0, max_value=4e9, allow_nan=False),
    shard_id=st.sampled_from(["shardId-000000000000", 'shard"Id\\-1', "shardId-é"]),
    stream=st.sampled_from(["orders", "a.b_c-d"]),
)
@settings(max_examples=300, deadline=None)
def test_a_kinesis_records_size_is_its_serialized_length(
    data: bytes,
    partition_key: str,
    sequence_number: int,
    arrival: float,
    shard_id: str,
    stream: str,
) -> None:
    record = kinesis_stream_record(
        data=data,
        partition_key=partition_key,
        sequence_number=sequence_number,
        arrival=arrival,
        shard_id=shard_id,
        stream_arn=f"arn:aws:kinesis:eu-west-1:123456789012:stream/{stream}",
    )

    assert record.size == len(json.dumps(record.record, separators=(",", ":")).encode()) + 1
