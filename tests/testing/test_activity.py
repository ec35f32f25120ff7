"""The activity log: invocations kept compactly, read back as the events that were sent."""

from __future__ import annotations

import dataclasses
import gc
import json
import tracemalloc
from decimal import Decimal
from typing import Any

import pytest

from lambda_blueprints.testing.activity import (
    ActivityLog,
    Invocation,
    InvokeResult,
    remember_text,
)
from lambda_blueprints.testing.events import kinesis_event, kinesis_record


def _invocation(event: Any, payload: Any = None, **fields: Any) -> Invocation:
    return Invocation(
        source="kinesis",
        mapping_id="m",
        function="fn",
        items=("1",),
        event=event,
        result=InvokeResult("request", payload),
        outcome="success",
        **fields,
    )


def test_the_logged_event_is_what_was_sent_even_if_the_sender_changes_it_later() -> None:
    event = {"Records": [{"n": 1}]}
    logged = _invocation(event)
    event["Records"].append({"n": 2})

    assert logged.event == {"Records": [{"n": 1}]}


def test_each_read_of_a_logged_event_is_a_fresh_copy() -> None:
    logged = _invocation({"Records": [{"n": 1}]})
    logged.event["Records"].clear()

    assert logged.event == {"Records": [{"n": 1}]}


def test_the_result_payload_comes_back_and_a_missing_payload_stays_none() -> None:
    logged = _invocation({}, payload={"batchItemFailures": [{"itemIdentifier": "7"}]})
    failed = Invocation(
        "sqs", "m", "fn", (), {}, InvokeResult("r", None, "Unhandled", "E", "boom"), "failure"
    )

    assert logged.result == InvokeResult(
        "request", {"batchItemFailures": [{"itemIdentifier": "7"}]}
    )
    assert failed.result == InvokeResult("r", None, "Unhandled", "E", "boom")
    assert failed.result.ok is False


def test_an_event_that_is_not_json_is_kept_as_it_is() -> None:
    event = {"amount": Decimal("1.5")}

    assert _invocation(event).event is event


def test_the_text_the_runtime_sent_is_the_one_logged() -> None:
    event = {"Records": [{"n": 1}]}
    remember_text(event, json.dumps(event))
    event["Records"][0]["n"] = 2  # changed after it was sent

    assert _invocation(event).event == {"Records": [{"n": 1}]}


def test_invocations_are_frozen_and_compare_by_value() -> None:
    first = _invocation({"a": 1}, shard_id="shardId-000000000000", at=3.0)
    second = _invocation({"a": 1}, shard_id="shardId-000000000000", at=3.0)

    assert first == second
    assert first != _invocation({"a": 2}, shard_id="shardId-000000000000", at=3.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.outcome = "failure"  # type: ignore[misc]
    assert "shardId-000000000000" in repr(first)
    assert first.at == 3.0 and first.lane == 0 and first.window is None


def test_the_log_holds_a_large_event_in_less_memory_than_its_json_text() -> None:
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
    records = [
        kinesis_record(json.dumps({"racer": n % 100, "watts": n}).encode(), stream_arn=arn)
        for n in range(2000)
    ]
    event = kinesis_event(*records)
    text_bytes = len(json.dumps(event))
    log = ActivityLog()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        log.add(_invocation(event))
        del event, records
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()

    assert kept < text_bytes / 4
    assert len(log.invocations()[0].event["Records"]) == 2000
