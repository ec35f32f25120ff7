"""SQS messages and events, as Lambda delivers them."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lambda_blueprints.testing.events._shared import (
    DEFAULT_SQS_FIFO_QUEUE_ARN,
    DEFAULT_SQS_QUEUE_ARN,
    SQS_MAX_MESSAGE_BYTES,
    _arn,
    _b64,
    _decimal_string,
    _now,
    _plain_dict,
    _sqs_sequence,
)

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
