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
