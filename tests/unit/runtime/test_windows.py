"""The tumbling-window state protocol helper."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

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
        import base64
        import json

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


def test_first_invocation_starts_from_the_initial_state() -> None:
    assert handle_window_event(event([1, 2]), Counting()) == {
        "state": {"sum": 3},
        "batchItemFailures": [],
    }


def test_later_invocations_continue_from_the_state_they_are_given() -> None:
    response = handle_window_event(event([4], state={"sum": 3}), Counting())
    assert response["state"] == {"sum": 7}


def test_final_invocation_emits_once_with_the_state_and_needs_no_state_back() -> None:
    aggregation = Counting()
    final = tumbling_window_event(
        [], window_start=START, window_seconds=30, state={"sum": 7}, is_final=True
    )

    assert handle_window_event(final, aggregation) == {"state": {}}
    ((state, window),) = aggregation.emitted
    assert state == {"sum": 7}
    assert (window.start, window.end, window.part) == (
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:30Z",
        "final",
    )
    assert window.terminated_early is False


def test_final_invocation_of_a_window_without_state_writes_nothing() -> None:
    aggregation = Counting()
    final = tumbling_window_event([], window_start=START, window_seconds=30, is_final=True)

    handle_window_event(final, aggregation)

    assert aggregation.emitted == []


def test_early_termination_emits_a_part_with_a_stable_id() -> None:
    aggregation = Counting()
    early = tumbling_window_event(
        [], window_start=START, window_seconds=30, state={"sum": 99}, terminated_early=True
    )

    assert handle_window_event(early, aggregation) == {"state": {}}
    handle_window_event(early, aggregation)  # a retry of the same invocation

    parts = [window.part for _, window in aggregation.emitted]
    assert parts[0] == parts[1]
    assert parts[0].startswith("early-")
    assert aggregation.emitted[0][1].terminated_early is True


def test_a_retryable_failure_reports_the_record_with_the_state_before_it() -> None:
    batch = event([1, 2, 13, 5])

    response = handle_window_event(batch, Counting())

    failed = batch["Records"][2]["kinesis"]["sequenceNumber"]
    assert response == {"state": {"sum": 3}, "batchItemFailures": [{"itemIdentifier": failed}]}


def test_poison_records_are_parked_and_the_window_goes_on() -> None:
    parked: list[tuple[str, str]] = []

    def park(record: Mapping[str, Any], error: PoisonRecordError) -> None:
        parked.append((record["kinesis"]["sequenceNumber"], error.reason))

    batch = event([1, -5, 2])
    response = handle_window_event(batch, Counting(), on_poison=park)

    assert response == {"state": {"sum": 3}, "batchItemFailures": []}
    assert parked == [(batch["Records"][1]["kinesis"]["sequenceNumber"], "NEGATIVE")]


def test_a_poison_record_that_cannot_be_parked_is_retried() -> None:
    def broken_park(record: Mapping[str, Any], error: PoisonRecordError) -> None:
        raise ConnectionError("queue unreachable")

    batch = event([1, -5, 2])
    response = handle_window_event(batch, Counting(), on_poison=broken_park)

    assert response["batchItemFailures"] == [
        {"itemIdentifier": batch["Records"][1]["kinesis"]["sequenceNumber"]}
    ]
    assert response["state"] == {"sum": 1}


def test_without_a_parking_place_poison_fails_at_its_record() -> None:
    batch = event([1, -5])
    response = handle_window_event(batch, Counting())

    assert (
        response["batchItemFailures"][0]["itemIdentifier"]
        == batch["Records"][1]["kinesis"]["sequenceNumber"]
    )


def test_errors_while_emitting_fail_the_invocation_so_lambda_retries_it() -> None:
    class Failing(Counting):
        def emit(self, state: dict[str, Any], window: Window) -> None:
            raise ConnectionError("table unavailable")

    final = tumbling_window_event(
        [], window_start=START, window_seconds=30, state={"sum": 1}, is_final=True
    )
    with pytest.raises(ConnectionError):
        handle_window_event(final, Failing())
