"""DynamoDB Streams records and events, as Lambda delivers them."""

from __future__ import annotations

import base64
import hashlib
import itertools
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal, DecimalException
from typing import Any, Literal

from lambda_blueprints.runtime.shared.numbers import dynamodb_number
from lambda_blueprints.testing.events._shared import (
    StreamViewType,
)

DEFAULT_TABLE_STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2026-01-01T00:00:00.000"
)
_sequence = itertools.count(100_000_000_000_000_000_000)


#: DynamoDB nests documents up to 32 levels, the item's attribute being level 1: an
#: attribute value holds at most 31 maps and lists one inside the other.
DYNAMODB_MAX_NESTING_LEVELS = 32
#: A table's key: a partition key and at most a sort key, each a string, number or binary.
DYNAMODB_MAX_KEY_ATTRIBUTES = 2
_KEY_TYPES = ("S", "N", "B")


def to_attribute_value(value: Any) -> dict[str, Any]:
    """Convert a Python value to a typed DynamoDB value as a Lambda event spells it.

    Strings, numbers (int, float, Decimal), booleans, None, bytes (base64 in the event),
    lists, dicts and non-empty sets of strings, numbers or bytes.

    Raises:
        ValueError: For a value DynamoDB refuses, which no stream record can carry: a
            number it cannot hold (NaN, an infinity, more than 38 significant digits, a
            magnitude outside 1E-130 to 9.99...E+125), an empty set or one that mixes
            types, an empty attribute name (map key), or maps and lists nested deeper than
            :data:`DYNAMODB_MAX_NESTING_LEVELS`.
        TypeError: For a value of no DynamoDB type.
    """
    return _attribute_value(value, level=1)


def _attribute_value(value: Any, *, level: int) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float | Decimal):
        return {"N": _dynamodb_number(value)}
    if isinstance(value, bytes | bytearray):
        return {"B": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, set | frozenset):
        return _set_value(value)
    if isinstance(value, Mapping | Sequence):
        # Refused before descending, so a runaway structure cannot exhaust the stack.
        if level >= DYNAMODB_MAX_NESTING_LEVELS:
            raise ValueError(
                f"DynamoDB nests maps and lists at most {DYNAMODB_MAX_NESTING_LEVELS} levels "
                "deep (the attribute is level 1): this value nests them deeper"
            )
        if isinstance(value, Mapping):
            return {
                "M": {
                    _attribute_name(k): _attribute_value(v, level=level + 1)
                    for k, v in value.items()
                }
            }
        return {"L": [_attribute_value(v, level=level + 1) for v in value]}
    raise TypeError(f"no DynamoDB type for {type(value).__name__}: {value!r}")


def _set_value(value: set[Any] | frozenset[Any]) -> dict[str, Any]:
    items = sorted(value, key=repr)
    if not items:
        raise ValueError("DynamoDB sets cannot be empty")
    if all(isinstance(i, str) for i in items):
        return {"SS": items}
    if all(isinstance(i, int | float | Decimal) and not isinstance(i, bool) for i in items):
        return {"NS": [_dynamodb_number(i) for i in items]}
    if all(isinstance(i, bytes) for i in items):
        return {"BS": [base64.b64encode(i).decode("ascii") for i in items]}
    raise ValueError(f"a DynamoDB set holds one type of string, number or bytes: {value!r}")


def _dynamodb_number(value: int | float | Decimal) -> str:
    """The ``N`` text of a number DynamoDB can store; ValueError for one it refuses."""
    # str() of a float is its shortest round-trip spelling: 0.1 stays 0.1.
    text = str(value)
    number = value if isinstance(value, Decimal) else Decimal(text)
    try:
        # NaN and the infinities pass the context quietly: DynamoDB refuses them too.
        if not number.is_finite():
            raise DecimalException
        dynamodb_number(number)
    except DecimalException as error:
        raise ValueError(
            f"DynamoDB cannot hold the number {value!r}: a DynamoDB number is 0 or has at "
            "most 38 significant digits and a magnitude from 1E-130 to 9.99...E+125 "
            "(9.9999999999999999999999999999999999999E+125)"
        ) from error
    return text


def _attribute_name(name: Any) -> str:
    text = str(name)
    if not text:
        raise ValueError("a DynamoDB attribute name (map key) is at least one character long")
    return text


def _image(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {_attribute_name(name): to_attribute_value(v) for name, v in values.items()}


def _key(keys: Mapping[str, Any]) -> dict[str, Any]:
    """A record's ``Keys``: DynamoDB refuses any other shape of primary key."""
    typed = _image(keys) or {}
    if not 1 <= len(typed) <= DYNAMODB_MAX_KEY_ATTRIBUTES:
        raise ValueError(
            f"a DynamoDB key is a partition key and at most a sort key, not {len(typed)} "
            f"attributes: {dict(keys)!r}"
        )
    for name, value in typed.items():
        ((kind, text),) = value.items()
        if kind not in _KEY_TYPES:
            raise ValueError(
                f"key attribute {name!r} is of type {kind}: DynamoDB keys are strings (S), "
                "numbers (N) or binary (B)"
            )
        if text == "":
            raise ValueError(
                f"key attribute {name!r} is empty: DynamoDB refuses empty string and binary "
                "key values"
            )
    return typed


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
        "Keys": _key(keys),
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
