"""Failure queue messages for poison records."""

from __future__ import annotations

import binascii
import decimal
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambda_blueprints.runtime.shared import failures
from lambda_blueprints.runtime.shared.failures import (
    MAX_MESSAGE_BYTES,
    PoisonRecordError,
    as_poison,
    failure_message,
)
from lambda_blueprints.testing import dynamodb_stream_record, kinesis_event, kinesis_record


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


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (PoisonRecordError("OWN_REASON", "x"), "OWN_REASON"),
        (RecursionError("maximum recursion depth exceeded"), "NESTING_TOO_DEEP"),
        (json.JSONDecodeError("Expecting value", "x", 0), "MALFORMED_RECORD"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "MALFORMED_RECORD"),
        (binascii.Error("Incorrect padding"), "MALFORMED_RECORD"),
        (decimal.InvalidOperation(), "INVALID_NUMBER"),
        (decimal.Overflow(), "INVALID_NUMBER"),
        (OverflowError("int too large"), "INVALID_NUMBER"),
        (ClientError({"Error": {"Code": "ValidationException"}}, "PutItem"), "WRITE_REJECTED"),
    ],
)
def test_errors_no_retry_can_fix_are_poison(error: Exception, reason: str) -> None:
    poison = as_poison(error)

    assert poison is not None
    assert poison.reason == reason
    # The detail names what went wrong, for whoever reads the failure queue.
    if isinstance(error, ClientError):
        assert poison.detail.startswith("ValidationException: ")
    elif not isinstance(error, PoisonRecordError | RecursionError):
        assert poison.detail.startswith(f"{type(error).__name__}: ")


@pytest.mark.parametrize(
    "error",
    [
        ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem"),
        ClientError({"Error": {"Code": "ThrottlingException"}}, "SendMessage"),
        ClientError({"Error": {"Code": "InternalServerError"}}, "PutItem"),
        TimeoutError("read timed out"),
        ConnectionError("reset"),
        KeyError("a bug, fixed by a deployment, not by a parked record"),
        ClientError({}, "PutItem"),
    ],
)
def test_errors_a_retry_may_fix_are_not_poison(error: Exception) -> None:
    assert as_poison(error) is None


def test_message_names_the_invocation_and_when_it_failed() -> None:
    record = dynamodb_stream_record("INSERT", {"id": "1"}, new_image={"id": "1"})
    before = datetime.now(UTC)
    body = failure_message(
        record, PoisonRecordError("MALFORMED_RECORD", "x"), function_name="f", request_id="r-1"
    )

    assert body["functionName"] == "f"
    assert body["requestId"] == "r-1"
    assert body["eventID"] == record["eventID"]
    failed_at = datetime.fromisoformat(body["failedAt"])
    assert failed_at.utcoffset() is not None
    assert failed_at.utcoffset().total_seconds() == 0
    assert before <= failed_at <= datetime.now(UTC)


def test_a_truncated_stream_record_keeps_its_event_id_and_name() -> None:
    record = dynamodb_stream_record(
        "INSERT", {"id": "1"}, new_image={"id": "1", "blob": "n" * 300_000}
    )
    body = failure_message(
        record, PoisonRecordError("MALFORMED_RECORD", "x"), function_name="f", request_id="r"
    )

    assert body["recordTruncated"] is True
    assert body["record"] == {
        "eventID": record["eventID"],
        "eventName": "INSERT",
        "keys": {"id": {"S": "1"}},
        "partitionKey": None,
    }


def test_a_kinesis_record_too_large_for_sqs_keeps_its_position_and_partition_key() -> None:
    (record,) = kinesis_event(kinesis_record("k" * 300_000, partition_key="rider-7"))["Records"]
    body = failure_message(
        record, PoisonRecordError("MALFORMED_RECORD", "x"), function_name="f", request_id="r"
    )

    assert body["recordTruncated"] is True
    assert body["sequenceNumber"] == record["kinesis"]["sequenceNumber"]
    assert body["record"] == {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "keys": None,
        "partitionKey": "rider-7",
    }


@pytest.mark.parametrize("body_field", ["dynamodb", "kinesis"])
def test_a_record_whose_body_is_not_an_object_still_gets_a_message(body_field: str) -> None:
    record = dynamodb_stream_record("INSERT", {"id": "1"}, new_image={"id": "1"})
    del record["dynamodb"]
    record[body_field] = "not-an-object"

    body = failure_message(
        record, PoisonRecordError("MALFORMED_RECORD", "x"), function_name="f", request_id="r"
    )

    assert body["sequenceNumber"] is None
    assert body["record"] == record


def test_a_record_with_values_json_cannot_write_gets_a_message() -> None:
    record = {"eventID": "e-1", "aggregate": {"total": decimal.Decimal("1.5"), "raw": b"\x00"}}

    body = failure_message(
        record, PoisonRecordError("INVALID_NUMBER", "x"), function_name="f", request_id="r"
    )

    assert body["recordTruncated"] is False
    assert json.loads(failures._encode(body))["record"]["aggregate"]["total"] == "1.5"


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=tz)


@pytest.mark.parametrize(("extra", "truncated"), [(0, False), (1, True)])
def test_a_record_is_kept_whole_up_to_the_message_size_limit(
    monkeypatch: pytest.MonkeyPatch, extra: int, truncated: bool
) -> None:
    monkeypatch.setattr(failures, "datetime", _FrozenDatetime)
    limit = MAX_MESSAGE_BYTES - 4 * 1024
    error = PoisonRecordError("MALFORMED_RECORD", "x")

    record = dynamodb_stream_record("INSERT", {"id": "1"}, new_image={"id": "1"})

    def message_for(blob: str) -> dict[str, Any]:
        record["dynamodb"]["NewImage"]["b"] = {"S": blob}
        return failure_message(record, error, function_name="f", request_id="r")

    empty = len(json.dumps(message_for(""), separators=(",", ":")).encode())
    body = message_for("x" * (limit - empty + extra))

    assert body["recordTruncated"] is truncated
    if not truncated:
        assert len(json.dumps(body, separators=(",", ":")).encode()) == limit
