"""Event factories with the exact shapes Lambda delivers to handlers."""

from __future__ import annotations

import base64
import hashlib
import itertools
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

StreamViewType = Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]

DEFAULT_TABLE_STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2026-01-01T00:00:00.000"
)
_sequence = itertools.count(100_000_000_000_000_000_000)


def to_attribute_value(value: Any) -> dict[str, Any]:
    """Convert a Python value to a typed DynamoDB value as a Lambda event spells it.

    Strings, numbers (int, float, Decimal), booleans, None, bytes (base64 in the event),
    lists, dicts and non-empty sets of strings, numbers or bytes.
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float | Decimal):
        return {"N": str(value)}
    if isinstance(value, bytes | bytearray):
        return {"B": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attribute_value(v) for k, v in value.items()}}
    if isinstance(value, set | frozenset):
        items = sorted(value, key=repr)
        if not items:
            raise ValueError("DynamoDB sets cannot be empty")
        if all(isinstance(i, str) for i in items):
            return {"SS": items}
        if all(isinstance(i, int | float | Decimal) and not isinstance(i, bool) for i in items):
            return {"NS": [str(i) for i in items]}
        if all(isinstance(i, bytes) for i in items):
            return {"BS": [base64.b64encode(i).decode("ascii") for i in items]}
        raise ValueError(f"a DynamoDB set holds one type of string, number or bytes: {value!r}")
    if isinstance(value, Sequence):
        return {"L": [to_attribute_value(v) for v in value]}
    raise TypeError(f"no DynamoDB type for {type(value).__name__}: {value!r}")


def _image(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {name: to_attribute_value(v) for name, v in values.items()}


def dynamodb_stream_record(
    event_name: Literal["INSERT", "MODIFY", "REMOVE"],
    keys: Mapping[str, Any],
    *,
    new_image: Mapping[str, Any] | None = None,
    old_image: Mapping[str, Any] | None = None,
    view_type: StreamViewType = "NEW_AND_OLD_IMAGES",
    stream_arn: str = DEFAULT_TABLE_STREAM_ARN,
    sequence_number: str | None = None,
    event_id: str | None = None,
    approximate_creation_time: float | None = None,
    ttl_delete: bool = False,
) -> dict[str, Any]:
    """Build one DynamoDB stream record as Lambda delivers it (event version 1.1).

    Images are given as plain Python values and converted to typed values; which images
    the record carries follows ``view_type``. ``ttl_delete`` marks a REMOVE made by time to
    live (``userIdentity`` of the DynamoDB service).
    """
    sequence = sequence_number or str(next(_sequence))
    new = _image(new_image) if view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") else None
    old = _image(old_image) if view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") else None
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": approximate_creation_time or float(int(time.time())),
        "Keys": _image(keys),
        "SequenceNumber": sequence,
        "StreamViewType": view_type,
    }
    if new is not None and event_name != "REMOVE":
        body["NewImage"] = new
    if old is not None and event_name != "INSERT":
        body["OldImage"] = old
    body["SizeBytes"] = len(repr(body).encode())
    record: dict[str, Any] = {
        "eventID": event_id or hashlib.md5(sequence.encode(), usedforsecurity=False).hexdigest(),
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": stream_arn.split(":")[3],
        "dynamodb": body,
        "eventSourceARN": stream_arn,
    }
    if ttl_delete:
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record


def dynamodb_stream_event(*records: Mapping[str, Any]) -> dict[str, Any]:
    """Wrap DynamoDB stream records in the event Lambda sends to a function."""
    return {"Records": [dict(r) for r in records]}
