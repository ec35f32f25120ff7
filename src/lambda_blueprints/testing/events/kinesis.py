"""Kinesis Data Streams records and events, as Lambda delivers them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambda_blueprints.testing.events._shared import (
    DEFAULT_KINESIS_SHARD_ID,
    DEFAULT_KINESIS_STREAM_ARN,
    DEFAULT_LAMBDA_ROLE_ARN,
    KINESIS_MAX_RECORD_BYTES,
    JsonPayload,
    _arn,
    _b64,
    _decimal_string,
    _kinesis_sequence,
    _now,
    _payload_bytes,
    _plain_dict,
)


def kinesis_record(
    data: JsonPayload,
    *,
    partition_key: str = "1",
    sequence_number: str | int | None = None,
    shard_id: str = DEFAULT_KINESIS_SHARD_ID,
    stream_arn: str = DEFAULT_KINESIS_STREAM_ARN,
    arrival_time: float | None = None,
    role_arn: str = DEFAULT_LAMBDA_ROLE_ARN,
) -> dict[str, Any]:
    """Build one Kinesis record as Lambda delivers it (``kinesisSchemaVersion`` 1.0).

    Args:
        data: The record payload. Bytes are sent as they are, text as UTF-8, mappings and
            lists as compact JSON; the event carries it base64-encoded.
        partition_key: 1 to 256 characters.
        sequence_number: A decimal string; by default the next of an increasing counter
            of 56-digit numbers, like the ones Kinesis assigns.
        shard_id: The shard the record was read from; ``eventID`` is
            ``"<shardId>:<sequenceNumber>"``.
        stream_arn: The stream; ``awsRegion`` comes from it.
        arrival_time: ``approximateArrivalTimestamp`` in epoch seconds, kept to the
            millisecond; default now.
        role_arn: ``invokeIdentityArn``, the function's execution role.

    Returns:
        The record, for :func:`kinesis_event` or :func:`tumbling_window_event`.

    Raises:
        ValueError: On a partition key of the wrong length, a record over 1 MiB (data and
            partition key), a sequence number that is not decimal or a malformed ARN.
        TypeError: When ``data`` is of another type or not JSON-serializable.
    """
    payload = _payload_bytes(data, "Kinesis data")
    if not 1 <= len(partition_key) <= 256:
        raise ValueError(f"a partition key has 1-256 characters, not {len(partition_key)}")
    if len(payload) + len(partition_key.encode()) > KINESIS_MAX_RECORD_BYTES:
        raise ValueError("a Kinesis record (data and partition key) holds at most 1 MiB")
    region, _, _ = _arn(stream_arn, "kinesis", "stream_arn", "stream/")
    sequence = _decimal_string(
        next(_kinesis_sequence) if sequence_number is None else sequence_number,
        "sequence_number",
    )
    arrival = round(_now() if arrival_time is None else arrival_time, 3)
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence,
            "data": _b64(payload),
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


def kinesis_event(*records: Mapping[str, Any]) -> dict[str, Any]:
    """Wrap Kinesis records (see :func:`kinesis_record`) in the event Lambda sends."""
    return {"Records": [_plain_dict(r, "a Kinesis record") for r in records]}
