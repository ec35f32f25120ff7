"""Amazon Data Firehose transformation events and the check of their responses."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from typing import Any, Literal

from lambda_blueprints.testing.events._shared import (
    DEFAULT_FIREHOSE_STREAM_ARN,
    DEFAULT_KINESIS_SHARD_ID,
    FIREHOSE_MAX_RECORD_BYTES,
    FIREHOSE_MAX_RESPONSE_BYTES,
    _arn,
    _b64,
    _firehose_record_ids,
    _kinesis_sequence,
    _now,
    _payload_bytes,
)

FirehoseResult = Literal["Ok", "Dropped", "ProcessingFailed"]
FIREHOSE_RESULTS: tuple[str, ...] = ("Ok", "Dropped", "ProcessingFailed")


def firehose_transformation_event(
    *records: bytes | bytearray | str | Mapping[str, Any],
    delivery_stream_arn: str = DEFAULT_FIREHOSE_STREAM_ARN,
    source_kinesis_stream_arn: str | None = None,
    arrival_time: float | None = None,
    invocation_id: str | None = None,
) -> dict[str, Any]:
    """Build the event Firehose sends to a data transformation function.

    Args:
        *records: Record payloads: bytes as they are, text as UTF-8, mappings as compact
            JSON; at most 1,000 KiB each. The event carries them base64-encoded.
        delivery_stream_arn: ``deliveryStreamArn``; ``region`` comes from it.
        source_kinesis_stream_arn: When the Firehose stream reads a Kinesis data stream:
            ``sourceKinesisStreamArn``, and each record gets ``kinesisRecordMetadata``.
        arrival_time: ``approximateArrivalTimestamp`` in epoch seconds (the event carries
            milliseconds); default now.
        invocation_id: ``invocationId``; default a new UUID.

    Returns:
        The event. Record ids are unique decimal strings.

    Raises:
        ValueError: Without records, on a record over 1,000 KiB or on a malformed ARN.
        TypeError: On a record of another type.
    """
    if not records:
        raise ValueError("Firehose invokes a transformation with at least one record")
    region, _, _ = _arn(delivery_stream_arn, "firehose", "delivery_stream_arn", "deliverystream/")
    if source_kinesis_stream_arn is not None:
        _arn(source_kinesis_stream_arn, "kinesis", "source_kinesis_stream_arn", "stream/")
    arrival_ms = int((_now() if arrival_time is None else arrival_time) * 1000)
    built: list[dict[str, Any]] = []
    for data in records:
        payload = _payload_bytes(data, "a Firehose record")
        if len(payload) > FIREHOSE_MAX_RECORD_BYTES:
            raise ValueError("a Firehose record holds at most 1,000 KiB before base64 encoding")
        record: dict[str, Any] = {
            "recordId": str(next(_firehose_record_ids)),
            "approximateArrivalTimestamp": arrival_ms,
            "data": _b64(payload),
        }
        if source_kinesis_stream_arn is not None:
            record["kinesisRecordMetadata"] = {
                "shardId": DEFAULT_KINESIS_SHARD_ID,
                "partitionKey": str(uuid.uuid4()),
                "approximateArrivalTimestamp": arrival_ms,
                "sequenceNumber": str(next(_kinesis_sequence)),
                "subsequenceNumber": 0,
            }
        built.append(record)
    event: dict[str, Any] = {"invocationId": invocation_id or str(uuid.uuid4())}
    if source_kinesis_stream_arn is not None:
        event["sourceKinesisStreamArn"] = source_kinesis_stream_arn
    event.update({"deliveryStreamArn": delivery_stream_arn, "region": region, "records": built})
    return event


def validate_firehose_response(event: Mapping[str, Any], response: Any) -> None:
    """Check a transformation function's response against Firehose's contract.

    The response must be a JSON object whose ``records`` answer every input record exactly
    once, each with its ``recordId``, a ``result`` of ``Ok``, ``Dropped`` or
    ``ProcessingFailed`` and ``data``, a base64 string decoding to at most 1,000 KiB. An
    optional ``metadata`` object may hold ``partitionKeys`` (dynamic partitioning) and
    ``otfMetadata`` (routing to Apache Iceberg tables: ``destinationDatabaseName``,
    ``destinationTableName``, ``operation``), each a mapping of strings to strings. The
    whole response must fit the 6 MB (6,291,456 bytes) of a synchronous invocation as
    Lambda's Python runtime serializes it: ``json.dumps(response)``, whose
    default separators ``", "`` and ``": "`` make it longer than compact JSON.

    Args:
        event: The event the function received (see :func:`firehose_transformation_event`).
        response: What the function returned.

    Raises:
        ValueError: Describing the first breach found.
    """
    if not isinstance(response, Mapping) or not isinstance(response.get("records"), list):
        raise ValueError("a Firehose transformation returns an object with a records list")
    expected = [r["recordId"] for r in event["records"]]
    known = set(expected)
    seen: set[str] = set()
    for index, record in enumerate(response["records"]):
        where = f"records[{index}]"
        if not isinstance(record, Mapping):
            raise ValueError(f"{where} is not an object")
        record_id = record.get("recordId")
        if not isinstance(record_id, str) or record_id not in known:
            raise ValueError(f"{where} has a recordId that is not in the event: {record_id!r}")
        if record_id in seen:
            raise ValueError(f"{where} answers record {record_id} a second time")
        seen.add(record_id)
        if record.get("result") not in FIREHOSE_RESULTS:
            raise ValueError(
                f"{where} result is {record.get('result')!r}, not one of "
                + ", ".join(FIREHOSE_RESULTS)
            )
        data = record.get("data")
        if not isinstance(data, str):
            raise ValueError(f"{where} has no base64 data string")
        try:
            decoded = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValueError(f"{where} data is not valid base64") from error
        if len(decoded) > FIREHOSE_MAX_RECORD_BYTES:
            raise ValueError(f"{where} data exceeds 1,000 KiB")
        metadata = record.get("metadata")
        if metadata is not None:
            _check_metadata(where, metadata)
    missing = [record_id for record_id in expected if record_id not in seen]
    if missing:
        raise ValueError(f"the response leaves out records {', '.join(missing)}")
    try:
        # The runtime's own serialization (json defaults), not compact JSON: that is what
        # Lambda measures against its limit.
        size = len(json.dumps(response).encode())
    except (TypeError, ValueError) as error:
        raise ValueError(f"the response is not JSON-serializable: {error}") from error
    if size > FIREHOSE_MAX_RESPONSE_BYTES:
        raise ValueError(
            f"the response is {size:,} bytes as the Lambda runtime serializes it "
            f"(json.dumps defaults); Lambda returns at most 6 MB "
            f"({FIREHOSE_MAX_RESPONSE_BYTES:,} bytes)"
        )


def _check_metadata(where: str, metadata: Any) -> None:
    """Refuse a record's ``metadata`` whose keys Firehose could not read as strings."""
    if not isinstance(metadata, Mapping):
        raise ValueError(f"{where} metadata is not an object")
    for key in ("partitionKeys", "otfMetadata"):
        if key not in metadata:
            continue
        values = metadata[key]
        if not isinstance(values, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in values.items()
        ):
            raise ValueError(f"{where} metadata.{key} must map strings to strings")
