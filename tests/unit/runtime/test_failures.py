"""Failure queue messages for poison records."""

from __future__ import annotations

import json

from lambda_blueprints.runtime.shared.failures import (
    MAX_MESSAGE_BYTES,
    PoisonRecordError,
    failure_message,
)
from lambda_blueprints.testing import dynamodb_stream_record


def test_message_carries_reason_position_and_record() -> None:
    record = dynamodb_stream_record("INSERT", {"id": "1"}, new_image={"id": "1", "x": 2})
    body = failure_message(
        record, PoisonRecordError("MALFORMED_RECORD", "bad x"), function_name="f", request_id="r"
    )

    assert body["reason"] == "MALFORMED_RECORD"
    assert body["detail"] == "bad x"
    assert body["eventSourceARN"] == record["eventSourceARN"]
    assert body["sequenceNumber"] == record["dynamodb"]["SequenceNumber"]
    assert body["record"] == record
    assert body["recordTruncated"] is False


def test_record_too_large_for_sqs_keeps_its_position_and_keys() -> None:
    record = dynamodb_stream_record(
        "MODIFY",
        {"id": "1"},
        old_image={"id": "1", "blob": "o" * 200_000},
        new_image={"id": "1", "blob": "n" * 200_000},
    )
    body = failure_message(
        record, PoisonRecordError("MALFORMED_RECORD", "x"), function_name="f", request_id="r"
    )

    assert body["recordTruncated"] is True
    assert body["record"]["keys"] == {"id": {"S": "1"}}
    assert body["sequenceNumber"] == record["dynamodb"]["SequenceNumber"]
    assert len(json.dumps(body).encode()) < MAX_MESSAGE_BYTES


def test_a_window_aggregate_too_large_for_sqs_keeps_where_its_records_are() -> None:
    window_record = {
        "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s",
        "eventID": "shardId-000000000000:42",
        "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:15Z"},
        "shardId": "shardId-000000000000",
        "part": "final",
        "firstSequenceNumber": "42",
        "aggregate": {"blob": "x" * 300_000},
    }
    body = failure_message(
        window_record,
        PoisonRecordError("STANDINGS_TOO_LARGE", "x"),
        function_name="f",
        request_id="r",
    )

    assert body["recordTruncated"] is True
    assert {key: body["record"][key] for key in ("window", "shardId", "part")} == {
        "window": window_record["window"],
        "shardId": "shardId-000000000000",
        "part": "final",
    }
    assert body["record"]["firstSequenceNumber"] == "42"
    assert "aggregate" not in body["record"]
    assert len(json.dumps(body).encode()) < MAX_MESSAGE_BYTES
