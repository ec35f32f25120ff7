"""Event factories with the exact shapes Lambda delivers to handlers.

Every factory returns a plain, JSON-compatible ``dict`` (``json.dumps`` succeeds), copied
from its inputs, so a test may change it freely. Identifiers the caller does not pass are
generated: sequence numbers from increasing counters, request and message ids from
``uuid4``. Times are epoch seconds (``float``) and default to the current time.

Available:

- DynamoDB Streams: :func:`to_attribute_value`, :func:`dynamodb_stream_record`,
  :func:`dynamodb_stream_event`.
- Kinesis Data Streams: :func:`kinesis_record`, :func:`kinesis_event`.
- Tumbling windows (Kinesis or DynamoDB records): :func:`tumbling_window_event`.
- SQS: :func:`sqs_message`, :func:`sqs_event`.
- EventBridge: :func:`eventbridge_event`, :func:`ec2_state_change_event`.
- API Gateway: :func:`api_gateway_rest_event` (REST API, payload 1.0),
  :func:`api_gateway_http_event` (HTTP API, payload 2.0) and :func:`client_certificate`
  (the mutual TLS client certificate both carry).
- Amazon Data Firehose: :func:`firehose_transformation_event` and
  :func:`validate_firehose_response`, which checks a transformation function's answer.
- S3: :func:`s3_event` (event notifications), :func:`s3_event_for` (several records in one
  event) and :func:`s3_object_lambda_event` (S3 Object Lambda ``GetObject``).
- CloudFormation: :func:`cloudformation_custom_resource_event`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import math
import re
import struct
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, DecimalException
from typing import Any, Literal, cast
from urllib.parse import quote_plus, urlencode, urlsplit

from lambda_blueprints.runtime.shared.numbers import dynamodb_number

StreamViewType = Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]

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


# --- shared helpers -----------------------------------------------------------------------

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_KINESIS_STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/events"
DEFAULT_KINESIS_SHARD_ID = "shardId-000000000000"
DEFAULT_DYNAMODB_SHARD_ID = "shardId-00000000000000000000-00000000"
DEFAULT_LAMBDA_ROLE_ARN = "arn:aws:iam::123456789012:role/lambda-role"
DEFAULT_SQS_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:queue"
DEFAULT_SQS_FIFO_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:queue.fifo"
DEFAULT_FIREHOSE_STREAM_ARN = "arn:aws:firehose:us-east-1:123456789012:deliverystream/delivery"
DEFAULT_OBJECT_LAMBDA_ACCESS_POINT_ARN = (
    "arn:aws:s3-object-lambda:us-east-1:123456789012:accesspoint/transform"
)
DEFAULT_SUPPORTING_ACCESS_POINT_ARN = "arn:aws:s3:us-east-1:123456789012:accesspoint/supporting"
DEFAULT_S3_PRINCIPAL_ID = "AIDAEXAMPLEPRINCIPAL01"
DEFAULT_STACK_ID = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/stack/00000000-0000-4000-8000-000000000000"
)
# A function ARN, not a secret.
DEFAULT_SERVICE_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:custom-resource"  # noqa: S105
DEFAULT_RESPONSE_URL = (
    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/response"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200&X-Amz-Signature=0000"
)
DEFAULT_API_ID = "a1b2c3d4e5"
DEFAULT_SOURCE_IP = "198.51.100.7"
DEFAULT_USER_AGENT = "lambda-blueprints-test/1.0"

#: Largest Kinesis record: data blob plus partition key (Kinesis PutRecord).
KINESIS_MAX_RECORD_BYTES = 1024 * 1024
#: Largest SQS message: body and message attributes together.
SQS_MAX_MESSAGE_BYTES = 1024 * 1024
#: Largest Firehose record before base64 encoding (1,000 KiB, Firehose ``Record``).
FIREHOSE_MAX_RECORD_BYTES = 1000 * 1024
#: Largest response of a synchronous Lambda invocation, as Firehose invokes transformations.
FIREHOSE_MAX_RESPONSE_BYTES = 6 * 1024 * 1024

_kinesis_sequence = itertools.count(496 * 10**53)  # 56 digits, like Kinesis'
_firehose_record_ids = itertools.count(497 * 10**53)
_sqs_sequence = itertools.count(18_000_000_000_000_000_000)
_s3_sequencer = itertools.count(0x0065A0B0C0D0E0F000)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

JsonPayload = bytes | bytearray | str | Mapping[str, Any] | list[Any]
MultiValues = Mapping[str, str | Sequence[str]]


def _now() -> float:
    return time.time()


def _utc(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC)


def _iso_seconds(epoch_seconds: float) -> str:
    return _utc(epoch_seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_millis(epoch_seconds: float) -> str:
    moment = _utc(epoch_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}Z"


def _request_time(epoch_seconds: float) -> str:
    """API Gateway's request time: ``12/Mar/2020:19:03:58 +0000`` (English month names)."""
    moment = _utc(epoch_seconds)
    return f"{moment:%d}/{_MONTHS[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000"


def _certificate_time(epoch_seconds: float) -> str:
    """A certificate validity time as OpenSSL prints it: ``Aug  5 09:36:04 2021 GMT``."""
    moment = _utc(epoch_seconds)
    return f"{_MONTHS[moment.month - 1]} {moment.day:>2} {moment:%H:%M:%S %Y} GMT"


def _plain(value: Any, what: str) -> Any:
    """A deep copy of ``value`` made of JSON types only; TypeError if it is not JSON."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as error:
        raise TypeError(f"{what} must be JSON-serializable: {error}") from error


def _plain_dict(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a mapping, not {type(value).__name__}")
    return cast(dict[str, Any], _plain(dict(value), what))


def _payload_bytes(data: JsonPayload, what: str) -> bytes:
    """Bytes as they are; text as UTF-8; mappings and lists as compact JSON."""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, Mapping | list):
        try:
            return json.dumps(data, separators=(",", ":")).encode()
        except (TypeError, ValueError) as error:
            raise TypeError(f"{what} must be JSON-serializable: {error}") from error
    raise TypeError(f"{what} must be bytes, str, a mapping or a list, not {type(data).__name__}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _arn(arn: str, service: str, what: str, resource_prefix: str = "") -> tuple[str, str, str]:
    """Split an ARN into (region, account, resource), checking its service and resource."""
    parts = arn.split(":", 5)
    if (
        len(parts) != 6
        or parts[0] != "arn"
        or parts[2] != service
        or not parts[3]
        or not parts[4]
        or not parts[5].startswith(resource_prefix)
        or len(parts[5]) == len(resource_prefix)
    ):
        raise ValueError(f"{what} is not a {service} {resource_prefix or 'resource'} ARN: {arn!r}")
    return parts[3], parts[4], parts[5]


def _decimal_string(value: str | int, what: str) -> str:
    text = str(value)
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"{what} must be a decimal number string: {value!r}")
    return text


# --- Kinesis ------------------------------------------------------------------------------


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


# --- tumbling windows ---------------------------------------------------------------------


def _record_time_and_source(record: Mapping[str, Any]) -> tuple[float, str]:
    if "kinesis" in record:
        return float(record["kinesis"]["approximateArrivalTimestamp"]), "aws:kinesis"
    if "dynamodb" in record:
        return float(record["dynamodb"]["ApproximateCreationDateTime"]), "aws:dynamodb"
    raise ValueError("tumbling windows hold Kinesis or DynamoDB stream records only")


def tumbling_window_event(
    records: Sequence[Mapping[str, Any]],
    *,
    window_start: float,
    window_seconds: int,
    state: Mapping[str, Any] | None = None,
    shard_id: str | None = None,
    event_source_arn: str | None = None,
    is_final: bool = False,
    terminated_early: bool = False,
) -> dict[str, Any]:
    """Build the event of one invocation in a tumbling window (Kinesis or DynamoDB Streams).

    The window is ``[window_start, window_start + window_seconds)``; both ends are written
    ``YYYY-MM-DDTHH:MM:SSZ``. Windows align to the Unix epoch, as the local cloud's stream
    mappings do, so ``window_start`` must be a whole multiple of ``window_seconds``.

    Args:
        records: Records of :func:`kinesis_record` or :func:`dynamodb_stream_record`, all of
            one source, each arriving inside the window. Empty for a final invocation.
        window_start: Epoch seconds.
        window_seconds: ``TumblingWindowInSeconds``, 1 to 900.
        state: The state the previous invocation of the window returned; ``{}`` (the first
            invocation's) by default.
        shard_id: By default the shard of the Kinesis records' ``eventID``, otherwise a
            placeholder shard id.
        event_source_arn: By default the records' ``eventSourceARN`` (the default Kinesis
            stream when there are no records).
        is_final: ``isFinalInvokeForWindow``: the last invocation of the window.
        terminated_early: ``isWindowTerminatedEarly``: the state grew too large.

    Returns:
        The event, with ``Records``, ``window``, ``state``, ``shardId``,
        ``eventSourceARN``, ``isFinalInvokeForWindow`` and ``isWindowTerminatedEarly``.

    Raises:
        ValueError: On a window length outside 1-900 s, an unaligned start, records from
            mixed sources, streams or shards, a record outside the window, or both flags set.
    """
    if not 1 <= window_seconds <= 900:
        raise ValueError(f"TumblingWindowInSeconds is 1-900, not {window_seconds}")
    if window_start != math.floor(window_start / window_seconds) * window_seconds:
        raise ValueError(
            f"window_start {window_start} is not aligned to {window_seconds} s windows"
        )
    if is_final and terminated_early:
        raise ValueError("an early-terminated window's invocation is not its final one")
    window_end = window_start + window_seconds
    plain = [_plain_dict(r, "a stream record") for r in records]
    sources = set()
    for record in plain:
        arrival, source = _record_time_and_source(record)
        sources.add(source)
        if not window_start <= arrival < window_end:
            raise ValueError(f"a record of {arrival} lies outside the window")
    if len(sources) > 1:
        raise ValueError("a window's records come from one stream")
    arns = {r["eventSourceARN"] for r in plain}
    if event_source_arn is None:
        if len(arns) > 1:
            raise ValueError("a window's records come from one stream")
        event_source_arn = arns.pop() if arns else DEFAULT_KINESIS_STREAM_ARN
    elif arns - {event_source_arn}:
        raise ValueError("the records come from another stream than event_source_arn")
    shards = {r["eventID"].split(":", 1)[0] for r in plain if "kinesis" in r}
    if shard_id is None:
        if len(shards) > 1:
            raise ValueError("a window's records come from one shard")
        if shards:
            shard_id = shards.pop()
        elif sources == {"aws:dynamodb"}:
            shard_id = DEFAULT_DYNAMODB_SHARD_ID
        else:
            shard_id = DEFAULT_KINESIS_SHARD_ID
    elif shards - {shard_id}:
        raise ValueError("the records come from another shard than shard_id")
    return {
        "Records": plain,
        "window": {"start": _iso_seconds(window_start), "end": _iso_seconds(window_end)},
        "state": {} if state is None else _plain_dict(state, "state"),
        "shardId": shard_id,
        "eventSourceARN": event_source_arn,
        "isFinalInvokeForWindow": is_final,
        "isWindowTerminatedEarly": terminated_early,
    }


# --- SQS ----------------------------------------------------------------------------------

SqsAttributeValue = str | int | float | Decimal | bytes | Mapping[str, Any]

_SQS_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,256}")
# SendMessage refuses a body with any character outside #x9, #xA, #xD, #x20-#xD7FF,
# #xE000-#xFFFD and #x10000-#x10FFFF (NUL, other control characters, lone surrogates).
_SQS_FORBIDDEN_CHARACTER = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _sqs_attribute(name: str, value: SqsAttributeValue) -> dict[str, Any]:
    """One message attribute as Lambda spells it (lower camel case, empty list values)."""
    if (
        not _SQS_ATTRIBUTE_NAME.fullmatch(name)
        or name.startswith(".")
        or name.endswith(".")
        or ".." in name
        or name.lower().startswith(("aws.", "amazon."))
    ):
        raise ValueError(f"invalid SQS message attribute name: {name!r}")
    if isinstance(value, bool):
        raise TypeError(f"SQS has no boolean attributes; pass {name!r} as a string")
    attribute: dict[str, Any]
    if isinstance(value, str):
        attribute = {"stringValue": value, "dataType": "String"}
    elif isinstance(value, int | float | Decimal):
        attribute = {"stringValue": str(value), "dataType": "Number"}
    elif isinstance(value, bytes | bytearray):
        attribute = {"binaryValue": _b64(bytes(value)), "dataType": "Binary"}
    elif isinstance(value, Mapping):
        data_type = value.get("dataType")
        if not isinstance(data_type, str):
            raise ValueError(f"attribute {name!r} needs a dataType")
        attribute = {"dataType": data_type}
        if "stringValue" in value:
            attribute["stringValue"] = str(value["stringValue"])
        elif "binaryValue" in value:
            binary = value["binaryValue"]
            attribute["binaryValue"] = (
                _b64(bytes(binary)) if isinstance(binary, bytes | bytearray) else str(binary)
            )
        else:
            raise ValueError(f"attribute {name!r} needs a stringValue or binaryValue")
    else:
        raise TypeError(f"no SQS attribute type for {type(value).__name__}: {value!r}")
    transport = attribute["dataType"].split(".", 1)[0]
    if transport not in ("String", "Number", "Binary"):
        raise ValueError(f"attribute {name!r}: dataType starts with String, Number or Binary")
    if (transport == "Binary") != ("binaryValue" in attribute):
        raise ValueError(f"attribute {name!r}: Binary types carry binaryValue, others stringValue")
    attribute.setdefault("stringListValues", [])
    attribute.setdefault("binaryListValues", [])
    return attribute


def _md5_of_message_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """SQS's digest: per attribute in name order, length-prefixed name, type and value."""

    def field(raw: bytes) -> bytes:
        return struct.pack(">I", len(raw)) + raw

    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        attribute = attributes[name]
        digest.update(field(name.encode()) + field(attribute["dataType"].encode()))
        if "binaryValue" in attribute:
            digest.update(b"\x02" + field(base64.b64decode(attribute["binaryValue"])))
        else:
            digest.update(b"\x01" + field(attribute["stringValue"].encode()))
    return digest.hexdigest()


def sqs_message(
    body: str | Mapping[str, Any],
    *,
    message_id: str | None = None,
    queue_arn: str | None = None,
    attributes: Mapping[str, str] | None = None,
    message_attributes: Mapping[str, SqsAttributeValue] | None = None,
    receive_count: int = 1,
    sent_timestamp: float | None = None,
    fifo_group_id: str | None = None,
    deduplication_id: str | None = None,
    sequence_number: str | int | None = None,
) -> dict[str, Any]:
    """Build one SQS message as the SQS event source mapping delivers it to Lambda.

    Args:
        body: The message body; a mapping is sent as JSON.
        message_id: Default a new UUID.
        queue_arn: Default a standard queue, or a ``.fifo`` queue when ``fifo_group_id`` is
            given. ``awsRegion`` comes from it.
        attributes: Further system attributes (``AWSTraceHeader``,
            ``DeadLetterQueueSourceArn``, ...), added to or overriding the generated ones.
        message_attributes: Custom attributes. Strings become ``String``, numbers
            ``Number`` and bytes ``Binary`` attributes; a mapping with ``dataType`` and
            ``stringValue`` or ``binaryValue`` is used as it is (custom type labels such as
            ``Number.float`` allowed). At most 10; ``md5OfMessageAttributes`` is computed.
        receive_count: ``ApproximateReceiveCount``, at least 1.
        sent_timestamp: ``SentTimestamp`` in epoch seconds (the event carries milliseconds);
            default now. The first receive is one millisecond later.
        fifo_group_id: ``MessageGroupId``; makes this a FIFO message, which also carries
            ``MessageDeduplicationId`` and ``SequenceNumber``.
        deduplication_id: FIFO only; default the SHA-256 of the body, as content-based
            deduplication computes it.
        sequence_number: FIFO only; default the next of an increasing counter.

    Returns:
        The message record, with ``md5OfBody`` the MD5 of the UTF-8 body.

    Raises:
        ValueError: On an empty or oversized (over 1 MiB with attributes) message, a body
            with a character SQS refuses (NUL and other control characters), a receive
            count below 1, FIFO options on a standard queue or the reverse,
            invalid attribute names or types, or a malformed queue ARN.
        TypeError: On a body or attribute value of an unsupported type.
    """
    if isinstance(body, Mapping):
        text = json.dumps(_plain_dict(body, "body"))
    elif isinstance(body, str):
        text = body
    else:
        raise TypeError(f"an SQS body is a str or a mapping, not {type(body).__name__}")
    if not text:
        raise ValueError("an SQS message body cannot be empty")
    forbidden = _SQS_FORBIDDEN_CHARACTER.search(text)
    if forbidden is not None:
        raise ValueError(
            f"an SQS message body cannot hold the character U+{ord(forbidden.group()):04X} "
            f"(at {forbidden.start()}): SQS takes only #x9, #xA, #xD, #x20-#xD7FF, "
            "#xE000-#xFFFD and #x10000-#x10FFFF"
        )
    if receive_count < 1:
        raise ValueError(f"ApproximateReceiveCount is at least 1, not {receive_count}")
    fifo = fifo_group_id is not None
    if queue_arn is None:
        queue_arn = DEFAULT_SQS_FIFO_QUEUE_ARN if fifo else DEFAULT_SQS_QUEUE_ARN
    region, _, queue_name = _arn(queue_arn, "sqs", "queue_arn")
    if queue_name.endswith(".fifo") != fifo:
        raise ValueError(
            "FIFO queues (names ending in .fifo) deliver messages with a fifo_group_id, "
            "standard queues without one"
        )
    if not fifo and (deduplication_id is not None or sequence_number is not None):
        raise ValueError("deduplication_id and sequence_number belong to FIFO messages")
    message_id = message_id or str(uuid.uuid4())
    sent_ms = int((_now() if sent_timestamp is None else sent_timestamp) * 1000)
    system: dict[str, str] = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": str(sent_ms),
        "SenderId": "AIDAEXAMPLESENDER0001",
        "ApproximateFirstReceiveTimestamp": str(sent_ms + 1),
    }
    if fifo_group_id is not None:
        for what, value in (
            ("fifo_group_id", fifo_group_id),
            ("deduplication_id", deduplication_id),
        ):
            if value is not None and not 1 <= len(value) <= 128:
                raise ValueError(f"{what} has 1-128 characters")
        system["SequenceNumber"] = _decimal_string(
            next(_sqs_sequence) if sequence_number is None else sequence_number,
            "sequence_number",
        )
        system["MessageGroupId"] = fifo_group_id
        system["MessageDeduplicationId"] = (
            deduplication_id or hashlib.sha256(text.encode()).hexdigest()
        )
    system.update({str(k): str(v) for k, v in (attributes or {}).items()})
    custom = {name: _sqs_attribute(name, v) for name, v in (message_attributes or {}).items()}
    if len(custom) > 10:
        raise ValueError(f"an SQS message has at most 10 message attributes, not {len(custom)}")
    size = len(text.encode()) + sum(
        len(name.encode()) + len(json.dumps(attribute).encode())
        for name, attribute in custom.items()
    )
    if size > SQS_MAX_MESSAGE_BYTES:
        raise ValueError("an SQS message (body and attributes) holds at most 1 MiB")
    handle = hashlib.sha256(f"{queue_arn}/{message_id}".encode()).digest()
    record: dict[str, Any] = {
        "messageId": message_id,
        "receiptHandle": "AQEB" + _b64(handle * 3),
        "body": text,
        "attributes": system,
        "messageAttributes": custom,
        "md5OfBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
    }
    if custom:
        record["md5OfMessageAttributes"] = _md5_of_message_attributes(custom)
    record.update({"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region})
    return record


def sqs_event(*messages: Mapping[str, Any]) -> dict[str, Any]:
    """Wrap SQS messages (see :func:`sqs_message`) in the event Lambda sends."""
    return {"Records": [_plain_dict(m, "an SQS message") for m in messages]}


# --- EventBridge --------------------------------------------------------------------------

Ec2InstanceState = Literal[
    "pending", "running", "stopping", "stopped", "shutting-down", "terminated"
]
EC2_INSTANCE_STATES: tuple[str, ...] = (
    "pending",
    "running",
    "stopping",
    "stopped",
    "shutting-down",
    "terminated",
)
_EC2_INSTANCE_ID = re.compile(r"i-(?:[0-9a-f]{8}|[0-9a-f]{17})")


def eventbridge_event(
    detail_type: str,
    source: str,
    detail: Mapping[str, Any],
    *,
    resources: Iterable[str] = (),
    time: float | None = None,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
    event_id: str | None = None,
    replay_name: str | None = None,
) -> dict[str, Any]:
    """Build an EventBridge event as a rule delivers it to a Lambda target.

    Args:
        detail_type: ``detail-type``.
        source: ``source``, for example ``"aws.ec2"`` or ``"com.example.orders"``.
        detail: The JSON object in ``detail``.
        resources: ARNs of the resources involved.
        time: Epoch seconds, written ``YYYY-MM-DDTHH:MM:SSZ``; default now.
        region: ``region``.
        account: ``account``, 12 digits.
        event_id: ``id``; default a new UUID.
        replay_name: For an event replayed from an archive: the replay's name, which
            EventBridge adds as ``replay-name``. Live events carry no such key.

    Returns:
        The event, with the envelope's ``"version": "0"``.

    Raises:
        ValueError: On an empty detail type, source or replay name, or an account that is
            not 12 digits.
        TypeError: When ``detail`` is not a JSON-serializable mapping.
    """
    if not detail_type or not source:
        raise ValueError("an EventBridge event has a detail-type and a source")
    if not (len(account) == 12 and account.isdigit()):
        raise ValueError(f"an AWS account id has 12 digits: {account!r}")
    if replay_name is not None and not replay_name:
        raise ValueError("a replay has a name: pass None for a live event")
    event: dict[str, Any] = {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": _iso_seconds(_now() if time is None else time),
        "region": region,
        "resources": [str(r) for r in resources],
        "detail": _plain_dict(detail, "detail"),
    }
    if replay_name is not None:
        event["replay-name"] = replay_name
    return event


def ec2_state_change_event(
    instance_id: str,
    state: Ec2InstanceState,
    *,
    time: float | None = None,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Build the ``EC2 Instance State-change Notification`` event of EventBridge.

    Args:
        instance_id: ``i-`` and 8 or 17 lowercase hex digits.
        state: One of ``pending``, ``running``, ``stopping``, ``stopped``,
            ``shutting-down`` and ``terminated``.
        time: Epoch seconds; default now.
        region: The instance's region.
        account: The instance's account.
        event_id: Default a new UUID.

    Returns:
        The event; ``resources`` holds the instance ARN.

    Raises:
        ValueError: On an unknown state or a malformed instance id.
    """
    if state not in EC2_INSTANCE_STATES:
        raise ValueError(f"EC2 instance states are {', '.join(EC2_INSTANCE_STATES)}: {state!r}")
    if not _EC2_INSTANCE_ID.fullmatch(instance_id):
        raise ValueError(f"not an EC2 instance id: {instance_id!r}")
    return eventbridge_event(
        "EC2 Instance State-change Notification",
        "aws.ec2",
        {"instance-id": instance_id, "state": state},
        resources=[f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"],
        time=time,
        region=region,
        account=account,
        event_id=event_id,
    )


# --- API Gateway --------------------------------------------------------------------------

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
HttpBody = str | bytes | bytearray | Mapping[str, Any] | list[Any]


def client_certificate(
    *,
    subject_dn: str = "CN=client.example.com,O=Example",
    issuer_dn: str = "CN=Example Test CA,O=Example",
    serial_number: str | None = None,
    not_before: float = 1_735_689_600.0,
    not_after: float = 2_051_222_400.0,
    pem: str | None = None,
) -> dict[str, Any]:
    """Build the mutual TLS ``clientCert`` object API Gateway passes to a function.

    Args:
        subject_dn: ``subjectDN``.
        issuer_dn: ``issuerDN``.
        serial_number: ``serialNumber``, colon-separated hex bytes; default random.
        not_before: Start of validity, epoch seconds (default 2025-01-01).
        not_after: End of validity, epoch seconds (default 2035-01-01).
        pem: ``clientCertPem``; default a placeholder PEM block (not a parseable
            certificate).

    Returns:
        The object for ``client_cert=`` of :func:`api_gateway_rest_event` and
        :func:`api_gateway_http_event`; validity times are written as OpenSSL prints them
        (``May 28 12:30:02 2019 GMT``).
    """
    serial = serial_number or ":".join(f"{b:02x}" for b in uuid.uuid4().bytes)
    if pem is None:
        body = _b64(hashlib.sha512(f"{subject_dn}|{issuer_dn}|{serial}".encode()).digest())
        pem = f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
    return {
        "clientCertPem": pem,
        "subjectDN": subject_dn,
        "issuerDN": issuer_dn,
        "serialNumber": serial,
        "validity": {
            "notBefore": _certificate_time(not_before),
            "notAfter": _certificate_time(not_after),
        },
    }


def _checked_client_cert(client_cert: Mapping[str, Any]) -> dict[str, Any]:
    cert = _plain_dict(client_cert, "client_cert")
    missing = {"clientCertPem", "subjectDN", "issuerDN", "serialNumber", "validity"} - set(cert)
    validity = cert.get("validity")
    if missing or not isinstance(validity, dict) or not {"notBefore", "notAfter"} <= set(validity):
        raise ValueError(
            "client_cert needs clientCertPem, subjectDN, issuerDN, serialNumber and "
            "validity.notBefore/notAfter (see client_certificate)"
        )
    return cert


def _multi(values: MultiValues | None, what: str) -> list[tuple[str, list[str]]]:
    """(name, values) pairs from a mapping of one string or a sequence of strings."""
    pairs: list[tuple[str, list[str]]] = []
    for name, value in (values or {}).items():
        listed = [value] if isinstance(value, str) else list(value)
        if not listed or not all(isinstance(v, str) for v in listed):
            raise TypeError(f"{what} {name!r}: give a string or a non-empty list of strings")
        pairs.append((str(name), listed))
    return pairs


def _http_body(body: HttpBody | None) -> tuple[str | None, bool, bool]:
    """(body, isBase64Encoded, is JSON) as API Gateway passes a request body."""
    if body is None:
        return None, False, False
    if isinstance(body, bytes | bytearray):
        return _b64(bytes(body)), True, False
    if isinstance(body, str):
        return body, False, False
    return _payload_bytes(body, "body").decode(), False, True


def _method(method: str) -> str:
    upper = method.upper()
    if upper not in _HTTP_METHODS:
        raise ValueError(f"HTTP methods are {', '.join(_HTTP_METHODS)}: {method!r}")
    return upper


def _route_template(path: str, path_parameters: Mapping[str, str]) -> str:
    """The resource path a request matched: parameter values replaced by ``{name}``.

    A value spanning several segments, or the parameter ``proxy``, is greedy (``{name+}``).
    """
    segments = path.split("/")
    for name, value in path_parameters.items():
        parts = value.split("/")
        for i in range(len(segments) - len(parts) + 1):
            if segments[i : i + len(parts)] == parts:
                greedy = len(parts) > 1 or name == "proxy"
                segments[i : i + len(parts)] = ["{" + name + ("+}" if greedy else "}")]
                break
        else:
            raise ValueError(f"path parameter {name}={value!r} does not appear in {path!r}")
    return "/".join(segments)


def _request_ids() -> tuple[str, str]:
    """(a UUID request id, a short extended request id as API Gateway writes them)."""
    request_id = uuid.uuid4()
    return str(request_id), _b64(request_id.bytes[:10])


def _with_default_headers(
    pairs: list[tuple[str, list[str]]], defaults: Mapping[str, str]
) -> list[tuple[str, list[str]]]:
    given = {name.lower() for name, _ in pairs}
    extra = [(name, [value]) for name, value in defaults.items() if name.lower() not in given]
    return extra + pairs


#: The caller fields of a REST event's ``requestContext.identity`` (see ``identity=``).
_REST_CALLER_FIELDS = (
    "accessKey",
    "accountId",
    "apiKey",
    "apiKeyId",
    "caller",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "user",
    "userArn",
)


def _caller_identity(identity: Mapping[str, str | None] | None) -> dict[str, str | None]:
    """The ``identity=`` fields of :func:`api_gateway_rest_event`, checked."""
    fields = dict(identity or {})
    unknown = sorted(set(fields) - set(_REST_CALLER_FIELDS))
    if unknown:
        raise ValueError(
            f"identity takes the caller fields {', '.join(_REST_CALLER_FIELDS)}, not "
            f"{', '.join(map(repr, unknown))} (sourceIp, userAgent and clientCert have "
            "their own arguments)"
        )
    wrong = [
        name for name, value in fields.items() if value is not None and not isinstance(value, str)
    ]
    if wrong:
        raise TypeError(f"identity fields are strings or None: {', '.join(wrong)}")
    return fields


def api_gateway_rest_event(
    method: HttpMethod | str,
    path: str,
    *,
    resource: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: MultiValues | None = None,
    headers: MultiValues | None = None,
    body: HttpBody | None = None,
    stage: str = "prod",
    stage_variables: Mapping[str, str] | None = None,
    client_cert: Mapping[str, Any] | None = None,
    authorizer: Mapping[str, Any] | None = None,
    identity: Mapping[str, str | None] | None = None,
    source_ip: str = DEFAULT_SOURCE_IP,
    user_agent: str = DEFAULT_USER_AGENT,
    api_id: str = DEFAULT_API_ID,
    account: str = DEFAULT_ACCOUNT,
    region: str = DEFAULT_REGION,
    request_id: str | None = None,
    request_time: float | None = None,
) -> dict[str, Any]:
    """Build a REST API Lambda proxy integration event (payload format 1.0).

    Args:
        method: The request method.
        path: The request path after the stage, starting with ``/``.
        resource: The matched resource, such as ``/items/{id}``; by default the path with
            the ``path_parameters`` values replaced by their ``{name}``.
        path_parameters: ``pathParameters``; ``null`` when none.
        query: Query string parameters, each a string or a list of strings.
            ``queryStringParameters`` holds each one's last value,
            ``multiValueQueryStringParameters`` all of them; both ``null`` when none.
        headers: Request headers, each a string or a list of strings, names as sent.
            ``Host``, ``User-Agent``, ``X-Forwarded-For``, ``X-Forwarded-Port`` and
            ``X-Forwarded-Proto`` are added unless given, and ``Content-Type:
            application/json`` for a mapping or list body. ``headers`` holds each last
            value, ``multiValueHeaders`` all.
        body: Text as it is; bytes base64-encoded with ``isBase64Encoded`` true; a mapping
            or list as JSON.
        stage: The deployment stage; ``requestContext.path`` is ``/<stage><path>``.
        stage_variables: ``stageVariables``; ``null`` when none.
        client_cert: The mutual TLS certificate (see :func:`client_certificate`), put in
            ``requestContext.identity.clientCert``.
        authorizer: ``requestContext.authorizer`` as an authorizer leaves it, for example
            ``{"claims": {...}}`` (Cognito) or ``{"principalId": ..., ...}`` (Lambda).
        identity: Caller fields of ``requestContext.identity``, all ``null`` by default
            (an anonymous caller), which IAM authorization, Cognito identities or an API
            key fill in: ``accessKey``, ``accountId``, ``apiKey``, ``apiKeyId``,
            ``caller``, ``cognitoAuthenticationProvider``, ``cognitoAuthenticationType``,
            ``cognitoIdentityId``, ``cognitoIdentityPoolId``, ``principalOrgId``,
            ``user`` and ``userArn``; each a string or ``None``.
        source_ip: ``requestContext.identity.sourceIp``.
        user_agent: ``requestContext.identity.userAgent`` and the default ``User-Agent``.
        api_id: The REST API id; the domain is ``<api_id>.execute-api.<region>.amazonaws.com``.
        account: ``requestContext.accountId``.
        region: The API's region.
        request_id: ``requestContext.requestId``; default a new UUID.
        request_time: Epoch seconds; default now.

    Returns:
        The event.

    Raises:
        ValueError: On an unknown method, a path without a leading ``/``, a path parameter
            absent from the path, an incomplete client certificate or an ``identity``
            field that is not a caller field.
        TypeError: On header or query values, or ``identity`` values, that are not
            strings.
    """
    http_method = _method(method)
    if not path.startswith("/"):
        raise ValueError(f"a request path starts with '/': {path!r}")
    parameters = dict(path_parameters or {})
    resource_path = resource or _route_template(path, parameters)
    caller = _caller_identity(identity)
    text, is_base64, is_json = _http_body(body)
    domain = f"{api_id}.execute-api.{region}.amazonaws.com"
    defaults = {
        "Host": domain,
        "User-Agent": user_agent,
        "X-Forwarded-For": source_ip,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if is_json:
        defaults["Content-Type"] = "application/json"
    header_pairs = _with_default_headers(_multi(headers, "header"), defaults)
    query_pairs = _multi(query, "query parameter")
    when = _now() if request_time is None else request_time
    generated_id, extended_id = _request_ids()
    fields: dict[str, Any] = {
        "accessKey": None,
        "accountId": None,
        "apiKey": None,
        "apiKeyId": None,
        "caller": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "sourceIp": source_ip,
        "user": None,
        "userAgent": user_agent,
        "userArn": None,
    }
    fields.update(caller)
    if client_cert is not None:
        fields["clientCert"] = _checked_client_cert(client_cert)
    context: dict[str, Any] = {
        "accountId": account,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": api_id,
        "extendedRequestId": extended_id,
        "httpMethod": http_method,
        "identity": fields,
        "path": f"/{stage}{path}",
        "protocol": "HTTP/1.1",
        "requestId": request_id or generated_id,
        "requestTime": _request_time(when),
        "requestTimeEpoch": int(when * 1000),
        "resourceId": hashlib.sha256(resource_path.encode()).hexdigest()[:6],
        "resourcePath": resource_path,
        "stage": stage,
    }
    if authorizer is not None:
        context["authorizer"] = _plain_dict(authorizer, "authorizer")
    return {
        "resource": resource_path,
        "path": path,
        "httpMethod": http_method,
        "headers": {name: values[-1] for name, values in header_pairs},
        "multiValueHeaders": dict(header_pairs),
        "queryStringParameters": (
            {name: values[-1] for name, values in query_pairs} if query_pairs else None
        ),
        "multiValueQueryStringParameters": (dict(query_pairs) if query_pairs else None),
        "pathParameters": parameters or None,
        "stageVariables": dict(stage_variables) if stage_variables else None,
        "requestContext": context,
        "body": text,
        "isBase64Encoded": is_base64,
    }


def api_gateway_http_event(
    method: HttpMethod | str,
    path: str,
    *,
    route_key: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: MultiValues | None = None,
    headers: MultiValues | None = None,
    cookies: Sequence[str] | Mapping[str, str] | None = None,
    body: HttpBody | None = None,
    stage: str = "$default",
    stage_variables: Mapping[str, str] | None = None,
    client_cert: Mapping[str, Any] | None = None,
    authorizer: Mapping[str, Any] | None = None,
    source_ip: str = DEFAULT_SOURCE_IP,
    user_agent: str = DEFAULT_USER_AGENT,
    api_id: str = DEFAULT_API_ID,
    account: str = DEFAULT_ACCOUNT,
    region: str = DEFAULT_REGION,
    request_id: str | None = None,
    request_time: float | None = None,
) -> dict[str, Any]:
    """Build an HTTP API Lambda proxy integration event (payload format 2.0).

    Args:
        method: The request method.
        path: The request path, starting with ``/``. A stage other than ``$default`` is
            served under ``/<stage>``, and ``rawPath`` and ``requestContext.http.path``
            carry that prefix.
        route_key: The matched route, such as ``GET /items/{id}`` or ``$default``; by
            default the method and the path with ``path_parameters`` values replaced.
        path_parameters: ``pathParameters``; left out when none.
        query: Query parameters, each a string or a list of strings: ``rawQueryString``
            encodes them all, ``queryStringParameters`` joins repeated values with commas.
        headers: Request headers, each a string or a list of strings. Names are lower
            case and repeated values joined with commas. ``host``, ``user-agent``,
            ``x-forwarded-for``, ``x-forwarded-port`` and ``x-forwarded-proto`` are added
            unless given, and ``content-type: application/json`` for a mapping or list body.
            Pass cookies with ``cookies``.
        cookies: ``cookies``: ``name=value`` strings or a mapping of names to values.
        body: Text as it is; bytes base64-encoded with ``isBase64Encoded`` true; a mapping
            or list as JSON. Left out when ``None``.
        stage: The stage, ``$default`` by default.
        stage_variables: ``stageVariables``; left out when none.
        client_cert: The mutual TLS certificate (see :func:`client_certificate`), put in
            ``requestContext.authentication.clientCert``.
        authorizer: ``requestContext.authorizer``, for example ``{"jwt": {"claims": {...},
            "scopes": [...]}}``, ``{"lambda": {...}}`` or ``{"iam": {...}}``.
        source_ip: ``requestContext.http.sourceIp``.
        user_agent: ``requestContext.http.userAgent`` and the default ``user-agent``.
        api_id: The HTTP API id.
        account: ``requestContext.accountId``.
        region: The API's region.
        request_id: ``requestContext.requestId``; default generated.
        request_time: Epoch seconds; default now.

    Returns:
        The event, ``"version": "2.0"``.

    Raises:
        ValueError: On an unknown method, a path without a leading ``/``, a path parameter
            absent from the path, a ``cookie`` header or an incomplete client certificate.
        TypeError: On header, query or cookie values that are not strings.
    """
    http_method = _method(method)
    if not path.startswith("/"):
        raise ValueError(f"a request path starts with '/': {path!r}")
    parameters = dict(path_parameters or {})
    route = route_key or f"{http_method} {_route_template(path, parameters)}"
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    text, is_base64, is_json = _http_body(body)
    domain = f"{api_id}.execute-api.{region}.amazonaws.com"
    defaults = {
        "host": domain,
        "user-agent": user_agent,
        "x-forwarded-for": source_ip,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if is_json:
        defaults["content-type"] = "application/json"
    merged: dict[str, list[str]] = {}
    for name, values in _with_default_headers(_multi(headers, "header"), defaults):
        merged.setdefault(name.lower(), []).extend(values)
    if "cookie" in merged:
        raise ValueError("payload 2.0 carries cookies in the cookies field: pass cookies=")
    query_pairs = _multi(query, "query parameter")
    if isinstance(cookies, Mapping):
        cookie_list = [f"{name}={value}" for name, value in cookies.items()]
    else:
        cookie_list = list(cookies or [])
    if not all(isinstance(c, str) for c in cookie_list):
        raise TypeError("cookies are strings")
    when = _now() if request_time is None else request_time
    _, short_id = _request_ids()
    context: dict[str, Any] = {"accountId": account, "apiId": api_id}
    if client_cert is not None:
        context["authentication"] = {"clientCert": _checked_client_cert(client_cert)}
    if authorizer is not None:
        context["authorizer"] = _plain_dict(authorizer, "authorizer")
    context.update(
        {
            "domainName": domain,
            "domainPrefix": api_id,
            "http": {
                "method": http_method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": user_agent,
            },
            "requestId": request_id or short_id,
            "routeKey": route,
            "stage": stage,
            "time": _request_time(when),
            "timeEpoch": int(when * 1000),
        }
    )
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": raw_path,
        "rawQueryString": urlencode(
            [(name, value) for name, values in query_pairs for value in values]
        ),
    }
    if cookie_list:
        event["cookies"] = cookie_list
    event["headers"] = {name: ",".join(values) for name, values in merged.items()}
    if query_pairs:
        event["queryStringParameters"] = {name: ",".join(values) for name, values in query_pairs}
    event["requestContext"] = context
    if text is not None:
        event["body"] = text
    if parameters:
        event["pathParameters"] = parameters
    event["isBase64Encoded"] = is_base64
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    return event


# --- Amazon Data Firehose -----------------------------------------------------------------

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
    optional ``metadata`` holds ``partitionKeys`` (dynamic partitioning), a mapping of
    strings. The whole response must fit the 6 MB (6,291,456 bytes) of a synchronous
    invocation as Lambda's Python runtime serializes it: ``json.dumps(response)``, whose
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
            keys = metadata.get("partitionKeys") if isinstance(metadata, Mapping) else None
            if not isinstance(keys, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in keys.items()
            ):
                raise ValueError(f"{where} metadata.partitionKeys must map strings to strings")
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


# --- S3 -----------------------------------------------------------------------------------

_S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")


def s3_event(
    bucket: str,
    key: str,
    *,
    event_name: str = "ObjectCreated:Put",
    size: int = 0,
    etag: str | None = None,
    version_id: str | None = None,
    sequencer: str | None = None,
    region: str = DEFAULT_REGION,
    event_time: float | None = None,
    event_version: str = "2.1",
    principal_id: str = DEFAULT_S3_PRINCIPAL_ID,
    source_ip: str = DEFAULT_SOURCE_IP,
    configuration_id: str = "notification",
) -> dict[str, Any]:
    """Build an S3 event notification with one record, as S3 invokes a function.

    Args:
        bucket: The bucket name (3-63 lowercase letters, digits, dots and hyphens).
        key: The object key. The event carries it URL-encoded as S3 does: spaces as ``+``,
            other reserved characters percent-encoded, ``/`` kept.
        event_name: The event type without the ``s3:`` prefix, for example
            ``ObjectCreated:Put`` or ``ObjectRemoved:Delete``.
        size: Object size in bytes. ``ObjectRemoved`` records carry no size or ETag.
        etag: ``eTag``; default a digest of bucket, key and size.
        version_id: ``versionId``, for versioned buckets only; left out when ``None``.
        sequencer: Hex string ordering events on one key; generated for ``ObjectCreated``
            and ``ObjectRemoved`` events, left out of others unless given.
        region: ``awsRegion``.
        event_time: Epoch seconds, written with milliseconds; default now.
        event_version: ``eventVersion``; ``2.1`` for most event types.
        principal_id: The requester, ``userIdentity.principalId`` (``AWS:`` prefixed).
        source_ip: ``requestParameters.sourceIPAddress``.
        configuration_id: The notification configuration's id.

    Returns:
        ``{"Records": [record]}``. Combine several with :func:`s3_event_for`.

    Raises:
        ValueError: On an invalid bucket name, an empty or over-long key, a negative size,
            or an event name with the ``s3:`` prefix.
    """
    if not _S3_BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ValueError(f"invalid S3 bucket name: {bucket!r}")
    if not key or len(key.encode()) > 1024:
        raise ValueError("an S3 key has 1-1024 bytes of UTF-8")
    if not event_name or event_name.startswith("s3:"):
        raise ValueError(f"S3 event names come without the 's3:' prefix: {event_name!r}")
    if size < 0:
        raise ValueError("an object size is not negative")
    created = event_name.startswith("ObjectCreated:")
    removed = event_name.startswith("ObjectRemoved:")
    s3_object: dict[str, Any] = {"key": quote_plus(key, safe="/")}
    if not removed:
        s3_object["size"] = size
        s3_object["eTag"] = (
            etag
            or hashlib.md5(f"{bucket}/{key}/{size}".encode(), usedforsecurity=False).hexdigest()
        )
    if version_id is not None:
        s3_object["versionId"] = version_id
    if sequencer is None and (created or removed):
        sequencer = f"{next(_s3_sequencer):018X}"
    if sequencer is not None:
        s3_object["sequencer"] = sequencer
    request = uuid.uuid4()
    record = {
        "eventVersion": event_version,
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": _iso_millis(_now() if event_time is None else event_time),
        "eventName": event_name,
        "userIdentity": {"principalId": f"AWS:{principal_id}"},
        "requestParameters": {"sourceIPAddress": source_ip},
        "responseElements": {
            "x-amz-request-id": request.hex[:16].upper(),
            "x-amz-id-2": _b64(hashlib.sha384(request.bytes).digest()),
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A1EXAMPLEOWNER"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": s3_object,
        },
    }
    return {"Records": [record]}


def s3_event_for(*events_or_records: Mapping[str, Any]) -> dict[str, Any]:
    """Combine S3 notifications into one event.

    Args:
        *events_or_records: Events of :func:`s3_event` (their records are taken) or single
            records.

    Returns:
        ``{"Records": [...]}`` with every record, in order.
    """
    combined: list[dict[str, Any]] = []
    for item in events_or_records:
        plain = _plain_dict(item, "an S3 event or record")
        combined.extend(plain.get("Records", [plain]))
    return {"Records": combined}


def s3_object_lambda_event(
    *,
    input_s3_url: str,
    output_route: str,
    output_token: str,
    user_request_url: str,
    user_request_headers: Mapping[str, str] | None = None,
    supporting_access_point_arn: str = DEFAULT_SUPPORTING_ACCESS_POINT_ARN,
    access_point_arn: str = DEFAULT_OBJECT_LAMBDA_ACCESS_POINT_ARN,
    payload: str | Mapping[str, Any] | None = None,
    principal_id: str = DEFAULT_S3_PRINCIPAL_ID,
    user_arn: str = "arn:aws:iam::123456789012:user/tester",
    user_name: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Build the event S3 Object Lambda sends for a ``GetObject`` request.

    Args:
        input_s3_url: ``getObjectContext.inputS3Url``, the presigned URL of the original
            object (https).
        output_route: ``outputRoute``, the ``RequestRoute`` of ``WriteGetObjectResponse``.
        output_token: ``outputToken``, the ``RequestToken`` of ``WriteGetObjectResponse``.
        user_request_url: ``userRequest.url``, the URL the caller requested (https).
        user_request_headers: The caller's headers; ``Host`` (from the URL) is added
            unless given.
        supporting_access_point_arn: ``configuration.supportingAccessPointArn``.
        access_point_arn: ``configuration.accessPointArn``, an ``s3-object-lambda`` ARN.
        payload: ``configuration.payload``, the access point's opaque string; a mapping is
            sent as JSON; ``""`` when ``None``.
        principal_id: ``userIdentity.principalId``.
        user_arn: ``userIdentity.arn``; its account is ``userIdentity.accountId``.
        user_name: ``userIdentity.userName``, the IAM user's friendly name, which the
            event may carry for an IAM user caller (CloudTrail's ``userIdentity``);
            left out when ``None``.
        request_id: ``xAmzRequestId``; default generated.

    Returns:
        The event, ``"protocolVersion": "1.00"``.

    Raises:
        ValueError: On URLs that are not https or access point ARNs of the wrong service.
    """
    for what, url in (("input_s3_url", input_s3_url), ("user_request_url", user_request_url)):
        if urlsplit(url).scheme != "https" or not urlsplit(url).netloc:
            raise ValueError(f"{what} is an https URL: {url!r}")
    _arn(access_point_arn, "s3-object-lambda", "access_point_arn", "accesspoint/")
    _arn(supporting_access_point_arn, "s3", "supporting_access_point_arn", "accesspoint/")
    user_account = user_arn.split(":")[4] if user_arn.count(":") >= 5 else DEFAULT_ACCOUNT
    headers = {"Host": urlsplit(user_request_url).netloc}
    for name, value in (user_request_headers or {}).items():
        headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        headers[name] = value
    if payload is None:
        payload_text = ""
    elif isinstance(payload, str):
        payload_text = payload
    else:
        payload_text = json.dumps(_plain_dict(payload, "payload"))
    event: dict[str, Any] = {
        "xAmzRequestId": request_id or uuid.uuid4().hex[:16].upper(),
        "getObjectContext": {
            "inputS3Url": input_s3_url,
            "outputRoute": output_route,
            "outputToken": output_token,
        },
        "configuration": {
            "accessPointArn": access_point_arn,
            "supportingAccessPointArn": supporting_access_point_arn,
            "payload": payload_text,
        },
        "userRequest": {"url": user_request_url, "headers": headers},
        "userIdentity": {
            "type": "IAMUser",
            "principalId": principal_id,
            "arn": user_arn,
            "accountId": user_account,
            "accessKeyId": "AKIAEXAMPLEACCESSKEY",
        },
        "protocolVersion": "1.00",
    }
    if user_name is not None:
        event["userIdentity"]["userName"] = user_name
    return event


# --- CloudFormation -----------------------------------------------------------------------

CustomResourceRequestType = Literal["Create", "Update", "Delete"]
_CUSTOM_RESOURCE_TYPE = re.compile(r"Custom::[A-Za-z0-9_@\-]+")


def _stringified(value: Any) -> Any:
    """Property values as CloudFormation passes them: numbers and booleans as strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _stringified(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_stringified(v) for v in value]
    return value


def _resource_properties(
    properties: Mapping[str, Any] | None, service_token: str, stringify: bool, what: str
) -> dict[str, Any]:
    plain = _plain_dict(properties or {}, what)
    if plain.pop("ServiceToken", service_token) != service_token:
        raise ValueError(f"{what} has a ServiceToken other than service_token")
    plain = {"ServiceToken": service_token, **plain}
    return cast(dict[str, Any], _stringified(plain)) if stringify else plain


def cloudformation_custom_resource_event(
    request_type: CustomResourceRequestType,
    resource_properties: Mapping[str, Any] | None = None,
    *,
    old_resource_properties: Mapping[str, Any] | None = None,
    physical_resource_id: str | None = None,
    logical_resource_id: str = "Resource",
    resource_type: str = "Custom::Resource",
    response_url: str = DEFAULT_RESPONSE_URL,
    stack_id: str = DEFAULT_STACK_ID,
    request_id: str | None = None,
    service_token: str = DEFAULT_SERVICE_TOKEN,
    stringify_values: bool = True,
) -> dict[str, Any]:
    """Build a CloudFormation custom resource request as a Lambda-backed resource gets it.

    Args:
        request_type: ``Create``, ``Update`` or ``Delete``.
        resource_properties: The template's ``Properties``; ``ServiceToken`` is added to
            them, as CloudFormation sends it.
        old_resource_properties: The properties before the update; required for
            ``Update``, refused otherwise.
        physical_resource_id: Required for ``Update`` and ``Delete``; ``Create`` requests
            never carry one.
        logical_resource_id: The resource's logical id in the template.
        resource_type: ``Custom::<name>`` (up to 60 characters) or
            ``AWS::CloudFormation::CustomResource``.
        response_url: The presigned S3 URL for the response (never requested here).
        stack_id: The stack ARN.
        request_id: Default a new UUID.
        service_token: The function ARN, ``ServiceToken`` of the request and of the
            properties.
        stringify_values: CloudFormation passes numbers and booleans in properties as
            strings (``"5"``, ``"true"``); set False to keep the given types.

    Returns:
        The request event.

    Raises:
        ValueError: On an unknown request type, a missing or misplaced physical id or old
            properties, an invalid resource type or a conflicting ``ServiceToken``.
        TypeError: When properties are not JSON-serializable mappings.
    """
    if request_type not in ("Create", "Update", "Delete"):
        raise ValueError(f"RequestType is Create, Update or Delete: {request_type!r}")
    if request_type == "Create" and physical_resource_id is not None:
        raise ValueError("Create requests carry no PhysicalResourceId")
    if request_type != "Create" and not physical_resource_id:
        raise ValueError(f"{request_type} requests carry the PhysicalResourceId")
    if request_type == "Update" and old_resource_properties is None:
        raise ValueError("Update requests carry OldResourceProperties")
    if request_type != "Update" and old_resource_properties is not None:
        raise ValueError("only Update requests carry OldResourceProperties")
    if len(resource_type) > 60 or not (
        resource_type == "AWS::CloudFormation::CustomResource"
        or _CUSTOM_RESOURCE_TYPE.fullmatch(resource_type)
    ):
        raise ValueError(f"invalid custom resource type: {resource_type!r}")
    _arn(stack_id, "cloudformation", "stack_id", "stack/")
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": response_url,
        "StackId": stack_id,
        "RequestId": request_id or str(uuid.uuid4()),
        "LogicalResourceId": logical_resource_id,
    }
    if physical_resource_id is not None:
        event["PhysicalResourceId"] = physical_resource_id
    event["ResourceType"] = resource_type
    event["ResourceProperties"] = _resource_properties(
        resource_properties, service_token, stringify_values, "resource_properties"
    )
    if old_resource_properties is not None:
        event["OldResourceProperties"] = _resource_properties(
            old_resource_properties, service_token, stringify_values, "old_resource_properties"
        )
    return event
