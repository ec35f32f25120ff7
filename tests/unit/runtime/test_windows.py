"""The tumbling-window state protocol helper."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambda_blueprints.runtime.shared.failures import PoisonRecordError
from lambda_blueprints.runtime.shared.windows import Window, handle_window_event
from lambda_blueprints.testing import kinesis_record, tumbling_window_event

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class Counting:
    """Sums `n`; records with `n` < 0 are poison, `n` == 13 fails (retryable)."""

    def __init__(self) -> None:
        self.emitted: list[tuple[dict[str, Any], Window]] = []

    def initial(self) -> dict[str, Any]:
        return {"sum": 0}

    def add(self, state: dict[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
        n = json.loads(base64.b64decode(record["kinesis"]["data"]))["n"]
        if n < 0:
            raise PoisonRecordError("NEGATIVE", f"n={n}")
        if n == 13:
            raise TimeoutError("dependency timed out")
        return {"sum": state["sum"] + n}

    def emit(self, state: dict[str, Any], window: Window) -> None:
        self.emitted.append((state, window))


def records(*values: int) -> list[dict[str, Any]]:
    return [kinesis_record({"n": v}, arrival_time=START + 1) for v in values]


def event(values: list[int], **options: Any) -> dict[str, Any]:
    return tumbling_window_event(records(*values), window_start=START, window_seconds=30, **options)


def seq(record: Mapping[str, Any]) -> str:
    return str(record["kinesis"]["sequenceNumber"])


def envelope(total: int, first: Mapping[str, Any], last: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "aggregate": {"sum": total},
        "firstSequenceNumber": seq(first),
        "lastSequenceNumber": seq(last),
    }


def closing(state: Mapping[str, Any], **flags: bool) -> dict[str, Any]:
    return tumbling_window_event([], window_start=START, window_seconds=30, state=state, **flags)


def test_first_invocation_starts_from_the_initial_state() -> None:
    batch = event([1, 2])
    assert handle_window_event(batch, Counting()) == {
        "state": envelope(3, batch["Records"][0], batch["Records"][1]),
        "batchItemFailures": [],
    }


def test_later_invocations_continue_from_the_state_they_are_given() -> None:
    first = event([3])
    state = handle_window_event(first, Counting())["state"]

    later = event([4], state=state)
    response = handle_window_event(later, Counting())

    # The part still starts at the window's first record.
    assert response["state"] == envelope(7, first["Records"][0], later["Records"][0])


def test_final_invocation_emits_once_with_the_state_and_needs_no_state_back() -> None:
    aggregation = Counting()
    state = handle_window_event(event([7]), aggregation)["state"]

    assert handle_window_event(closing(state, is_final=True), aggregation) == {"state": {}}
    ((aggregate, window),) = aggregation.emitted
    assert aggregate == {"sum": 7}
    assert (window.start, window.end, window.part) == (
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:30Z",
        "final",
    )
    assert window.terminated_early is False


def test_final_invocation_of_a_window_without_state_writes_nothing() -> None:
    aggregation = Counting()

    handle_window_event(closing({}, is_final=True), aggregation)

    assert aggregation.emitted == []


def test_a_window_of_poison_records_only_still_emits_its_initial_aggregate() -> None:
    # The window saw records, all parked: its aggregate is the empty one, written once.
    aggregation = Counting()
    state = handle_window_event(event([-1]), aggregation, on_poison=lambda r, e: None)["state"]

    handle_window_event(closing(state, is_final=True), aggregation)

    assert [aggregate for aggregate, _ in aggregation.emitted] == [{"sum": 0}]


def test_records_delivered_with_the_final_invocation_are_counted_before_the_write() -> None:
    aggregation = Counting()
    state = handle_window_event(event([1]), aggregation)["state"]
    final = event([5], state=state, is_final=True)

    handle_window_event(final, aggregation)

    assert [aggregate for aggregate, _ in aggregation.emitted] == [{"sum": 6}]


def test_poison_delivered_with_the_final_invocation_is_parked_and_the_rest_written() -> None:
    aggregation = Counting()
    parked: list[str] = []
    state = handle_window_event(event([1]), aggregation)["state"]
    final = event([-5, 2], state=state, is_final=True)

    response = handle_window_event(
        final, aggregation, on_poison=lambda record, error: parked.append(error.reason)
    )

    assert response == {"state": {}}
    assert parked == ["NEGATIVE"]
    assert [aggregate for aggregate, _ in aggregation.emitted] == [{"sum": 3}]


def test_a_failing_record_in_the_final_invocation_fails_it_whole() -> None:
    aggregation = Counting()
    final = event([1, 13], is_final=True)

    with pytest.raises(RuntimeError, match=seq(final["Records"][1])):
        handle_window_event(final, aggregation)
    assert aggregation.emitted == []


def test_early_termination_emits_a_part_named_by_its_first_record_the_same_on_retries() -> None:
    aggregation = Counting()
    batch = event([99])
    state = handle_window_event(batch, aggregation)["state"]
    early = closing(state, terminated_early=True)

    assert handle_window_event(early, aggregation) == {"state": {}}
    handle_window_event(early, aggregation)  # a retry of the same invocation

    parts = [window.part for _, window in aggregation.emitted]
    assert parts == [f"early-{seq(batch['Records'][0])}"] * 2
    assert aggregation.emitted[0][1].terminated_early is True


def test_parts_with_equal_aggregates_get_different_ids() -> None:
    aggregation = Counting()
    for batch in (event([5]), event([5])):
        state = handle_window_event(batch, aggregation)["state"]
        handle_window_event(closing(state, terminated_early=True), aggregation)

    (first, window_a), (second, window_b) = aggregation.emitted
    assert first == second == {"sum": 5}
    assert window_a.part != window_b.part


def test_a_retryable_failure_reports_the_record_with_the_state_before_it() -> None:
    batch = event([1, 2, 13, 5])

    response = handle_window_event(batch, Counting())

    assert response == {
        "state": envelope(3, batch["Records"][0], batch["Records"][1]),
        "batchItemFailures": [{"itemIdentifier": seq(batch["Records"][2])}],
    }


def test_a_retryable_failure_on_the_first_record_returns_the_state_it_was_given() -> None:
    batch = event([13, 1])

    response = handle_window_event(batch, Counting())

    assert response == {
        "state": {},
        "batchItemFailures": [{"itemIdentifier": seq(batch["Records"][0])}],
    }


def test_poison_records_are_parked_and_the_window_goes_on() -> None:
    parked: list[tuple[str, str]] = []

    def park(record: Mapping[str, Any], error: PoisonRecordError) -> None:
        parked.append((seq(record), error.reason))

    batch = event([1, -5, 2])
    response = handle_window_event(batch, Counting(), on_poison=park)

    assert response == {
        "state": envelope(3, batch["Records"][0], batch["Records"][2]),
        "batchItemFailures": [],
    }
    assert parked == [(seq(batch["Records"][1]), "NEGATIVE")]


def test_a_poison_record_that_cannot_be_parked_is_retried() -> None:
    def broken_park(record: Mapping[str, Any], error: PoisonRecordError) -> None:
        raise ConnectionError("queue unreachable")

    batch = event([1, -5, 2])
    response = handle_window_event(batch, Counting(), on_poison=broken_park)

    assert response["batchItemFailures"] == [{"itemIdentifier": seq(batch["Records"][1])}]
    assert response["state"] == envelope(1, batch["Records"][0], batch["Records"][0])


def test_without_a_parking_place_poison_fails_at_its_record() -> None:
    batch = event([1, -5])
    response = handle_window_event(batch, Counting())

    assert response["batchItemFailures"][0]["itemIdentifier"] == seq(batch["Records"][1])


def test_errors_while_emitting_fail_the_invocation_so_lambda_retries_it() -> None:
    class Failing(Counting):
        def emit(self, state: dict[str, Any], window: Window) -> None:
            raise ConnectionError("table unavailable")

    state = handle_window_event(event([1]), Counting())["state"]
    with pytest.raises(ConnectionError):
        handle_window_event(closing(state, is_final=True), Failing())


class Refused(Counting):
    def emit(self, state: dict[str, Any], window: Window) -> None:
        raise PoisonRecordError("RESULT_REJECTED", "item too large")


def test_an_aggregate_that_can_never_be_written_is_parked_with_its_window() -> None:
    parked: list[tuple[Mapping[str, Any], str]] = []
    batch = event([4, 5])
    state = handle_window_event(batch, Counting())["state"]

    response = handle_window_event(
        closing(state, is_final=True),
        Refused(),
        on_poison=lambda record, error: parked.append((record, error.reason)),
    )

    assert response == {"state": {}}
    ((record, reason),) = parked
    assert reason == "RESULT_REJECTED"
    assert record["window"] == {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:30Z"}
    assert record["part"] == "final"
    assert record["firstSequenceNumber"] == seq(batch["Records"][0])
    assert record["lastSequenceNumber"] == seq(batch["Records"][1])
    assert record["eventID"] == f"{batch['shardId']}:{seq(batch['Records'][0])}"
    assert record["aggregate"] == {"sum": 9}
    assert record["shardId"] == batch["shardId"]
    assert record["eventSourceARN"] == batch["eventSourceARN"]


def test_without_a_parking_place_a_refused_aggregate_fails_the_invocation() -> None:
    state = handle_window_event(event([1]), Counting())["state"]

    with pytest.raises(PoisonRecordError):
        handle_window_event(closing(state, is_final=True), Refused())


def raw_records(*payloads: bytes) -> list[dict[str, Any]]:
    return [kinesis_record(p, arrival_time=START + 1) for p in payloads]


DEEP = b"[" * 1_100 + b"]" * 1_100


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"n": ' + DEEP + b"}", "NESTING_TOO_DEEP"),
        (b"not json", "MALFORMED_RECORD"),
        (b'{"n": "1"}', "MALFORMED_RECORD"),
    ],
    ids=["deeply-nested", "not-json", "not-a-number"],
)
def test_records_no_retry_can_fix_are_parked_even_without_a_poison_error(
    payload: bytes, reason: str
) -> None:
    class Parsing(Counting):
        def add(self, state: dict[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
            n = json.loads(base64.b64decode(record["kinesis"]["data"]))["n"]
            if not isinstance(n, int):
                raise ValueError(f"n={n!r} is not an integer")
            return {"sum": state["sum"] + n}

    parked: list[tuple[str, str]] = []
    batch = tumbling_window_event(
        raw_records(b'{"n": 1}', payload, b'{"n": 2}'), window_start=START, window_seconds=30
    )

    response = handle_window_event(
        batch, Parsing(), on_poison=lambda record, error: parked.append((seq(record), error.reason))
    )

    # The records after the bad one still count: the batch does not stop at it.
    assert response["batchItemFailures"] == []
    assert response["state"]["aggregate"] == {"sum": 3}
    assert parked == [(seq(batch["Records"][1]), reason)]


def test_errors_a_retry_may_fix_still_stop_the_batch_at_their_record() -> None:
    class Buggy(Counting):
        def add(self, state: dict[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
            raise KeyError("missing")

    parked: list[str] = []
    batch = event([1, 2])

    response = handle_window_event(
        batch, Buggy(), on_poison=lambda record, error: parked.append(error.reason)
    )

    assert response["batchItemFailures"] == [{"itemIdentifier": seq(batch["Records"][0])}]
    assert parked == []


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "refused"}}, "PutItem")


def test_an_aggregate_the_table_refuses_as_invalid_is_parked() -> None:
    class Invalid(Counting):
        def emit(self, state: dict[str, Any], window: Window) -> None:
            raise client_error("ValidationException")

    parked: list[str] = []
    state = handle_window_event(event([1]), Counting())["state"]

    response = handle_window_event(
        closing(state, is_final=True),
        Invalid(),
        on_poison=lambda record, error: parked.append(error.reason),
    )

    assert response == {"state": {}}
    assert parked == ["WRITE_REJECTED"]


def test_a_throttled_write_of_the_aggregate_is_retried_not_parked() -> None:
    class Throttled(Counting):
        def emit(self, state: dict[str, Any], window: Window) -> None:
            raise client_error("ProvisionedThroughputExceededException")

    parked: list[str] = []
    state = handle_window_event(event([1]), Counting())["state"]

    with pytest.raises(ClientError):
        handle_window_event(
            closing(state, is_final=True),
            Throttled(),
            on_poison=lambda record, error: parked.append(error.reason),
        )
    assert parked == []


# --- the helper driven by the local cloud's stream engine -----------------------------------


class Collecting:
    """Keeps each record's `n` with a 300 KB pad, so four records pass Lambda's 1 MB."""

    def __init__(self) -> None:
        self.parts: dict[str, list[int]] = {}
        self.failed_once: set[int] = set()

    def initial(self) -> dict[str, Any]:
        return {"ns": [], "pad": []}

    def add(self, state: dict[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
        n = json.loads(base64.b64decode(record["kinesis"]["data"]))["n"]
        if n == 7:
            raise PoisonRecordError("SEVEN", "n=7 never counts")
        if n == 5 and n not in self.failed_once:
            self.failed_once.add(n)
            raise TimeoutError("transient")
        return {"ns": [*state["ns"], n], "pad": [*state["pad"], "x" * 300_000]}

    def emit(self, state: dict[str, Any], window: Window) -> None:
        self.parts[f"{window.start}#{window.part}"] = state["ns"]


def test_on_the_engine_every_record_lands_in_exactly_one_part() -> None:
    from tests.testing.test_streams import Function, World

    world = World()
    world.put(12)
    aggregation = Collecting()
    parked: list[int] = []

    def behaviour(event: dict[str, Any]) -> Any:
        return handle_window_event(
            event,
            aggregation,
            on_poison=lambda record, error: parked.append(
                json.loads(base64.b64decode(record["kinesis"]["data"]))["n"]
            ),
        )

    function = Function(behaviour)
    world.run(
        world.mapping(
            function,
            batch_size=3,
            tumbling_window_seconds=30,
            report_batch_item_failures=True,
        )
    )

    early = [part for part in aggregation.parts if "#early-" in part]
    assert len(early) >= 2, aggregation.parts  # the state passed 1 MB more than once
    assert sum(part.endswith("#final") for part in aggregation.parts) == 1
    counted = sorted(n for ns in aggregation.parts.values() for n in ns)
    assert counted == [n for n in range(1, 13) if n != 7]
    assert parked == [7]
    assert world.sent == []
