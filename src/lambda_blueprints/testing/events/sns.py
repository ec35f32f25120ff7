"""SNS notifications, as SNS delivers them to a subscribed Lambda function."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from lambda_blueprints.testing.events._shared import (
    DEFAULT_SNS_SUBSCRIPTION_ID,
    DEFAULT_SNS_TOPIC_ARN,
    SNS_MAX_MESSAGE_BYTES,
    _arn,
    _b64,
    _iso_millis,
    _now,
    _plain_dict,
)

#: A message attribute: a string, a number, bytes, a list (``String.Array``), or the
#: attribute as SNS writes it, ``{"Type": ..., "Value": ...}``.
SnsAttributeValue = (
    str | int | float | Decimal | bytes | bytearray | Sequence[Any] | Mapping[str, Any]
)

#: The data types of SNS message attributes. ``String``, ``Number`` and ``Binary`` may carry
#: a custom type label (``Number.float``); ``String.Array`` is a JSON array of strings,
#: numbers, ``true``, ``false`` and ``null``.
SNS_ATTRIBUTE_TYPES: tuple[str, ...] = ("String", "String.Array", "Number", "Binary")
#: Characters of a subject (``Publish``): at most 100.
SNS_MAX_SUBJECT_CHARS = 100

_SNS_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,256}")
_SNS_ATTRIBUTE_TYPE = re.compile(r"(String|Number|Binary)(\.[A-Za-z0-9_.\-]+)?")
_SNS_TOPIC_NAME = re.compile(r"[A-Za-z0-9_\-]+")


def _attribute_name(name: Any) -> str:
    if (
        not isinstance(name, str)
        or not _SNS_ATTRIBUTE_NAME.fullmatch(name)
        or name.startswith(".")
        or name.endswith(".")
        or ".." in name
        or name.lower().startswith(("aws.", "amazon."))
    ):
        raise ValueError(f"message_attributes: invalid SNS message attribute name: {name!r}")
    return name


def _number_text(name: str, value: Any) -> str:
    text = str(value)
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise ValueError(f"message_attributes[{name!r}]: {value!r} is not a finite number")
    return text


def _array_text(name: str, values: Sequence[Any]) -> str:
    for value in values:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"message_attributes[{name!r}]: {value!r} is not a JSON number")
        if not (value is None or isinstance(value, str | bool | int | float)):
            raise ValueError(
                f"message_attributes[{name!r}]: a String.Array holds strings, numbers, true, "
                f"false and null, not {type(value).__name__}"
            )
    return json.dumps(list(values))


def attribute_kind(data_type: str) -> str:
    """The base type of an SNS attribute type: ``String.Array`` or the part before a label.

    ``Number.float`` is a ``Number``; ``String.Array`` is an array, not a labelled string.
    """
    return data_type if data_type == "String.Array" else data_type.split(".", 1)[0]


def _checked_value(name: str, data_type: str, value: Any) -> str:
    """The ``Value`` of an attribute given as ``{"Type": data_type, "Value": value}``."""
    kind = attribute_kind(data_type)
    if kind == "Binary" and isinstance(value, bytes | bytearray):
        return _b64(bytes(value))
    if not isinstance(value, str):
        raise TypeError(f"message_attributes[{name!r}]: Value is a str, not {type(value).__name__}")
    if kind == "Number":
        return _number_text(name, value)
    if kind == "String.Array":
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, list):
            raise ValueError(f"message_attributes[{name!r}]: a String.Array is a JSON array")
        _array_text(name, parsed)
    if kind == "Binary":
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error as error:
            raise ValueError(f"message_attributes[{name!r}]: a Binary Value is base64") from error
    return value


def _sns_attribute(name: str, value: SnsAttributeValue) -> dict[str, str]:
    """One message attribute as SNS spells it: ``{"Type": ..., "Value": ...}``."""
    _attribute_name(name)
    if isinstance(value, bool):
        raise TypeError(
            f"message_attributes[{name!r}]: SNS has no boolean attributes; pass a string"
        )
    if isinstance(value, str):
        attribute = {"Type": "String", "Value": value}
    elif isinstance(value, int | float | Decimal):
        attribute = {"Type": "Number", "Value": _number_text(name, value)}
    elif isinstance(value, bytes | bytearray):
        attribute = {"Type": "Binary", "Value": _b64(bytes(value))}
    elif isinstance(value, Mapping):
        if set(value) != {"Type", "Value"}:
            raise ValueError(
                f"message_attributes[{name!r}]: an attribute mapping has Type and Value, "
                f"not {sorted(map(str, value))}"
            )
        data_type = value["Type"]
        if not isinstance(data_type, str) or not _SNS_ATTRIBUTE_TYPE.fullmatch(data_type):
            raise ValueError(
                f"message_attributes[{name!r}]: Type is String, String.Array, Number or "
                f"Binary, optionally with a custom label (Number.float), not {data_type!r}"
            )
        attribute = {"Type": data_type, "Value": _checked_value(name, data_type, value["Value"])}
    elif isinstance(value, list | tuple):
        attribute = {"Type": "String.Array", "Value": _array_text(name, value)}
    else:
        raise TypeError(
            f"message_attributes[{name!r}]: no SNS attribute type for {type(value).__name__}"
        )
    if not attribute["Value"]:
        raise ValueError(f"message_attributes[{name!r}]: an attribute value cannot be empty")
    return attribute


def _subject(subject: Any) -> str | None:
    if subject is None:
        return None
    if not isinstance(subject, str):
        raise TypeError(f"subject is a str or None, not {type(subject).__name__}")
    if not subject:
        raise ValueError("subject cannot be empty; pass None for a message without one")
    if len(subject) > SNS_MAX_SUBJECT_CHARS:
        raise ValueError(f"subject has at most {SNS_MAX_SUBJECT_CHARS} characters")
    if any(unicodedata.category(character) == "Cc" for character in subject):
        raise ValueError("subject cannot hold line breaks or other control characters")
    return subject


def _signature(fields: Sequence[tuple[str, str]]) -> str:
    """A stand-in signature: 256 bytes (an RSA-2048 signature's length) from the fields.

    It has the shape of SNS's ``Signature`` and changes with what SNS signs, but no
    certificate verifies it.
    """
    string_to_sign = "".join(f"{key}\n{value}\n" for key, value in fields)
    return _b64(hashlib.shake_256(string_to_sign.encode()).digest(256))


def sns_event(
    message: str | Mapping[str, Any],
    *,
    subject: str | None = None,
    topic_arn: str = DEFAULT_SNS_TOPIC_ARN,
    message_attributes: Mapping[str, SnsAttributeValue] | None = None,
    message_id: str | None = None,
    timestamp: float | None = None,
    subscription_arn: str | None = None,
) -> dict[str, Any]:
    """Build the event SNS sends to a subscribed Lambda function for one message.

    Args:
        message: The message; a mapping is sent as JSON.
        subject: ``Subject``; None (the default) gives ``"Subject": null``, as SNS writes it
            for a message published without one. At most 100 characters, no line breaks
            or other control characters.
        topic_arn: ``TopicArn``; its region names the signing certificate's and the
            unsubscribe URL's endpoint.
        message_attributes: Message attributes by name. Strings become ``String``, numbers
            ``Number``, bytes ``Binary`` (base64) and lists ``String.Array`` (JSON text)
            attributes; a mapping with ``Type`` and ``Value`` is used as it is (``Value``
            text, or bytes for ``Binary``; custom type labels such as ``Number.float``
            allowed).
        message_id: ``MessageId``; default a new UUID.
        timestamp: The publish time in epoch seconds, written ISO 8601 with milliseconds
            (``2026-01-01T00:00:00.000Z``); default now.
        subscription_arn: ``EventSubscriptionArn``: the topic's ARN, a colon and the
            subscription's id. Default the topic's ARN with
            :data:`~lambda_blueprints.testing.events.DEFAULT_SNS_SUBSCRIPTION_ID`.

    Returns:
        ``{"Records": [record]}`` with one record: ``EventSource`` ``aws:sns``,
        ``EventVersion`` ``1.0`` and the notification in ``Sns``, whose certificate and
        unsubscribe links Lambda spells ``SigningCertUrl`` and ``UnsubscribeUrl``.
        ``Signature`` is a stand-in that no certificate verifies.

    Raises:
        ValueError: On an empty message, a message over 256 KiB with its attributes, an
            empty, long or multi-line subject, a malformed topic ARN, a subscription ARN
            that is not of the topic, an empty message id, or invalid attribute names,
            types or values.
        TypeError: On a message, subject, timestamp or attribute value of an unsupported
            type.
    """
    if isinstance(message, Mapping):
        text = json.dumps(_plain_dict(message, "message"))
    elif isinstance(message, str):
        text = message
    else:
        raise TypeError(f"message is a str or a mapping, not {type(message).__name__}")
    if not text:
        raise ValueError("message cannot be empty: SNS refuses an empty message")
    checked_subject = _subject(subject)
    region, _, topic_name = _arn(topic_arn, "sns", "topic_arn")
    if len(topic_name) > 256 or not _SNS_TOPIC_NAME.fullmatch(topic_name.removesuffix(".fifo")):
        raise ValueError(f"topic_arn does not name a topic: {topic_arn!r}")
    if subscription_arn is None:
        subscription_arn = f"{topic_arn}:{DEFAULT_SNS_SUBSCRIPTION_ID}"
    subscription_id = (
        subscription_arn.removeprefix(f"{topic_arn}:") if isinstance(subscription_arn, str) else ""
    )
    if (
        not isinstance(subscription_arn, str)
        or subscription_id == subscription_arn
        or not subscription_id
        or ":" in subscription_id
    ):
        raise ValueError(
            f"subscription_arn is the topic's ARN, a colon and an id: {subscription_arn!r}"
        )
    if message_id is None:
        message_id = str(uuid.uuid4())
    elif not isinstance(message_id, str) or not message_id:
        raise ValueError(f"message_id is a non-empty str, not {message_id!r}")
    if timestamp is None:
        timestamp = _now()
    elif isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise TypeError(f"timestamp is epoch seconds, not {type(timestamp).__name__}")
    elif not math.isfinite(timestamp):
        raise ValueError(f"timestamp is a finite number of epoch seconds, not {timestamp!r}")
    if message_attributes is not None and not isinstance(message_attributes, Mapping):
        raise TypeError(f"message_attributes is a mapping, not {type(message_attributes).__name__}")
    attributes = {
        name: _sns_attribute(name, value) for name, value in (message_attributes or {}).items()
    }
    size = len(text.encode()) + sum(
        len(name.encode()) + len(a["Type"].encode()) + len(a["Value"].encode())
        for name, a in attributes.items()
    )
    if size > SNS_MAX_MESSAGE_BYTES:
        raise ValueError("an SNS message (message and attributes) holds at most 256 KiB")
    published = _iso_millis(timestamp)
    signed = [("Message", text), ("MessageId", message_id)]
    if checked_subject is not None:
        signed.append(("Subject", checked_subject))
    signed += [("Timestamp", published), ("TopicArn", topic_arn), ("Type", "Notification")]
    certificate = hashlib.md5(f"{region}/{topic_arn}".encode(), usedforsecurity=False)
    notification: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic_arn,
        "Subject": checked_subject,
        "Message": text,
        "Timestamp": published,
        "SignatureVersion": "1",
        "Signature": _signature(signed),
        "SigningCertUrl": (
            f"https://sns.{region}.amazonaws.com/"
            f"SimpleNotificationService-{certificate.hexdigest()}.pem"
        ),
        "UnsubscribeUrl": (
            f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
            f"&SubscriptionArn={subscription_arn}"
        ),
        "MessageAttributes": attributes,
    }
    record = {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": notification,
    }
    return {"Records": [record]}
