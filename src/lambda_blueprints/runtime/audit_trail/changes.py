"""Turn one DynamoDB stream record into the audit item that describes its change.

Pure functions over the record's typed attribute values (``{"S": "x"}``): nothing here
talks to AWS, so every rule is testable on plain dictionaries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from ..shared.failures import PoisonRecordError

AttributeValue = Mapping[str, Any]
ChangeKind = Literal["added", "removed", "modified"]

#: DynamoDB items hold at most 400 KB; keep the audit item safely below that.
MAX_AUDIT_ITEM_BYTES = 350 * 1024
_SCALAR_TYPES = frozenset({"S", "N", "B", "BOOL", "NULL"})
_SET_TYPES = frozenset({"SS", "NS", "BS"})
_EVENT_NAMES = frozenset({"INSERT", "MODIFY", "REMOVE"})
#: Deletions made by DynamoDB's time to live carry this service principal.
_TTL_PRINCIPAL = "dynamodb.amazonaws.com"


@dataclass(frozen=True)
class AttributeChange:
    """How one attribute changed: ``old`` and ``new`` are typed values or None."""

    name: str
    kind: ChangeKind
    old: AttributeValue | None
    new: AttributeValue | None


@dataclass(frozen=True)
class Change:
    """The change one stream record describes."""

    table: str
    entity: str
    event_id: str
    event_name: str
    sequence_number: str
    changed_at: datetime
    actor: str
    attributes: tuple[AttributeChange, ...]


def canonical(value: AttributeValue, path: str = "") -> Any:
    """Return a hashable canonical form of a typed value, for equality.

    Numbers compare by value (``1`` equals ``1.0``) and sets ignore order, as DynamoDB does.

    Raises:
        PoisonRecordError: When the value is not a well-formed DynamoDB attribute value.
    """
    if not isinstance(value, Mapping) or len(value) != 1:
        raise PoisonRecordError(
            "MALFORMED_RECORD", f"attribute {path or '?'} is not a typed value: {value!r}"
        )
    ((kind, raw),) = value.items()
    try:
        if kind == "N":
            if not isinstance(raw, str):
                raise TypeError("N must be a string")
            return ("N", Decimal(raw))
        if kind in _SET_TYPES:
            if not isinstance(raw, list) or not raw or not all(isinstance(i, str) for i in raw):
                raise TypeError(f"{kind} must be a non-empty list of strings")
            if kind == "NS":
                return ("NS", frozenset(Decimal(item) for item in raw))
            return (kind, frozenset(raw))
        if kind == "L":
            if not isinstance(raw, list):
                raise TypeError("L must be a list")
            return ("L", tuple(canonical(item, f"{path}[{i}]") for i, item in enumerate(raw)))
        if kind == "M":
            if not isinstance(raw, Mapping):
                raise TypeError("M must be a map")
            return (
                "M",
                frozenset((k, canonical(v, f"{path}.{k}")) for k, v in raw.items()),
            )
        if kind in _SCALAR_TYPES:
            if kind == "NULL" and raw is not True:
                raise TypeError("NULL must be true")
            if kind == "BOOL" and not isinstance(raw, bool):
                raise TypeError("BOOL must be a boolean")
            if kind in ("S", "B") and not isinstance(raw, str):
                raise TypeError(f"{kind} must be a string")
            return (kind, raw)
    except (InvalidOperation, TypeError, AttributeError) as error:
        raise PoisonRecordError(
            "MALFORMED_RECORD", f"attribute {path or '?'} has an invalid {kind} value: {error}"
        ) from error
    raise PoisonRecordError(
        "MALFORMED_RECORD", f"attribute {path or '?'} has unknown type {kind!r}"
    )


def diff_images(
    old: Mapping[str, AttributeValue] | None,
    new: Mapping[str, AttributeValue] | None,
) -> tuple[AttributeChange, ...]:
    """List the attributes that differ between two images, sorted by name."""
    old = old or {}
    new = new or {}
    changes = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before is None and after is not None:
            canonical(after, name)
            changes.append(AttributeChange(name, "added", None, after))
        elif after is None and before is not None:
            canonical(before, name)
            changes.append(AttributeChange(name, "removed", before, None))
        elif (
            before is not None
            and after is not None
            and canonical(before, name) != canonical(after, name)
        ):
            changes.append(AttributeChange(name, "modified", before, after))
    return tuple(changes)


def entity_key(table: str, keys: Mapping[str, AttributeValue]) -> str:
    """Return the audit partition key of an item: its table and its key, as JSON.

    ``entity_key("users", {"userId": {"S": "u-1"}})`` is ``users#{"userId":"u-1"}``; use
    it to query the audit history of one item.
    """
    plain = {}
    for name, value in keys.items():
        canonical(value, name)
        ((kind, raw),) = value.items()
        if kind not in ("S", "N", "B"):
            raise PoisonRecordError(
                "MALFORMED_RECORD", f"key attribute {name} has non-key type {kind!r}"
            )
        plain[name] = raw
    return f"{table}#{json.dumps(plain, sort_keys=True, separators=(',', ':'))}"


def parse_change(record: Mapping[str, Any]) -> Change:
    """Read the change a DynamoDB stream record (as Lambda delivers it) describes.

    Raises:
        PoisonRecordError: When the record can never be audited: missing fields, an
            unknown event name, a stream view type without the needed images, or malformed
            attribute values.
    """
    event_name = record.get("eventName")
    if event_name not in _EVENT_NAMES:
        raise PoisonRecordError("MALFORMED_RECORD", f"unknown eventName {event_name!r}")
    event_id = record.get("eventID")
    data = record.get("dynamodb")
    if not isinstance(event_id, str) or not event_id or not isinstance(data, Mapping):
        raise PoisonRecordError("MALFORMED_RECORD", "record has no eventID or no dynamodb body")
    keys = data.get("Keys")
    sequence_number = data.get("SequenceNumber")
    if not isinstance(keys, Mapping) or not keys:
        raise PoisonRecordError("MALFORMED_RECORD", "record has no Keys")
    if not isinstance(sequence_number, str) or not sequence_number.isdigit():
        raise PoisonRecordError("MALFORMED_RECORD", f"invalid SequenceNumber {sequence_number!r}")
    old, new = data.get("OldImage"), data.get("NewImage")
    needs_old = event_name in ("MODIFY", "REMOVE")
    needs_new = event_name in ("MODIFY", "INSERT")
    if (needs_old and old is None) or (needs_new and new is None):
        raise PoisonRecordError(
            "MISSING_IMAGE",
            f"{event_name} record without {'OldImage' if needs_old and old is None else 'NewImage'}"
            f" (stream view type {data.get('StreamViewType', 'unknown')}); auditing needs "
            "NEW_AND_OLD_IMAGES",
        )
    for image in (old, new):
        if image is not None and not isinstance(image, Mapping):
            raise PoisonRecordError("MALFORMED_RECORD", "an image is not a map of attributes")
    table = _table_name(record.get("eventSourceARN"))
    identity = record.get("userIdentity")
    actor = (
        "ttl"
        if isinstance(identity, Mapping) and identity.get("principalId") == _TTL_PRINCIPAL
        else "application"
    )
    return Change(
        table=table,
        entity=entity_key(table, keys),
        event_id=event_id,
        event_name=event_name,
        sequence_number=sequence_number,
        changed_at=_changed_at(data.get("ApproximateCreationDateTime")),
        actor=actor,
        attributes=diff_images(old, new),
    )


def audit_item(change: Change, *, expires_at: int | None = None) -> dict[str, Any]:
    """Build the audit item (typed values, for the low-level client's ``put_item``).

    The sort key starts with the zero-padded sequence number, so one item's history sorts
    in the order its changes happened, and ends with the event id, which makes a redelivered
    record write the same key (the caller writes it only if it is absent). Values too large
    for one item are replaced by their SHA-256 digest, flagged by ``valuesOmitted``.
    """
    item: dict[str, Any] = {
        "pk": {"S": change.entity},
        "sk": {"S": f"{change.sequence_number.zfill(40)}#{change.event_id}"},
        "eventId": {"S": change.event_id},
        "eventName": {"S": change.event_name},
        "sequenceNumber": {"S": change.sequence_number},
        "sourceTable": {"S": change.table},
        "changedAt": {"S": change.changed_at.isoformat()},
        "actor": {"S": change.actor},
        "changedAttributes": {"L": [{"S": c.name} for c in change.attributes]},
        "changes": {"M": {c.name: {"M": _describe(c, digest=False)} for c in change.attributes}},
        "valuesOmitted": {"BOOL": False},
    }
    if expires_at is not None:
        item["expiresAt"] = {"N": str(expires_at)}
    if _size(item) > MAX_AUDIT_ITEM_BYTES:
        item["changes"] = {
            "M": {c.name: {"M": _describe(c, digest=True)} for c in change.attributes}
        }
        item["valuesOmitted"] = {"BOOL": True}
    return item


def to_client_value(value: AttributeValue) -> dict[str, Any]:
    """Convert a typed value from a Lambda event (binary as base64) to the client's form.

    Lambda delivers ``B`` and ``BS`` values base64-encoded in JSON; boto3's low-level client
    expects bytes and does the encoding itself.
    """
    ((kind, raw),) = value.items()
    try:
        if kind == "B":
            return {"B": base64.b64decode(raw, validate=True)}
        if kind == "BS":
            return {"BS": [base64.b64decode(item, validate=True) for item in raw]}
    except (binascii.Error, TypeError) as error:
        raise PoisonRecordError(
            "MALFORMED_RECORD", f"invalid base64 binary value: {error}"
        ) from error
    if kind == "L":
        return {"L": [to_client_value(item) for item in raw]}
    if kind == "M":
        return {"M": {k: to_client_value(v) for k, v in raw.items()}}
    return {kind: raw}


def _describe(change: AttributeChange, *, digest: bool) -> dict[str, Any]:
    described: dict[str, Any] = {"change": {"S": change.kind}}
    for label, value in (("old", change.old), ("new", change.new)):
        if value is None:
            continue
        if digest:
            encoded = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
            described[label] = {
                "M": {
                    "sha256": {"S": hashlib.sha256(encoded).hexdigest()},
                    "bytes": {"N": str(len(encoded))},
                }
            }
        else:
            described[label] = to_client_value(value)
    return described


def _size(item: Mapping[str, Any]) -> int:
    # An upper bound of DynamoDB's item size: JSON spells out types and punctuation.
    return len(json.dumps(item, default=lambda b: base64.b64encode(b).decode()).encode())


def _table_name(arn: object) -> str:
    # arn:aws:dynamodb:region:account:table/NAME/stream/LABEL
    if isinstance(arn, str) and ":table/" in arn:
        return arn.split(":table/", 1)[1].split("/", 1)[0]
    raise PoisonRecordError("MALFORMED_RECORD", f"eventSourceARN {arn!r} is not a table stream")


def _changed_at(value: object) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise PoisonRecordError(
            "MALFORMED_RECORD", f"invalid ApproximateCreationDateTime {value!r}"
        )
    try:
        seconds = float(value)
    except ValueError as error:
        raise PoisonRecordError(
            "MALFORMED_RECORD", f"invalid ApproximateCreationDateTime {value!r}"
        ) from error
    # Some producers give milliseconds; DynamoDB gives seconds since the epoch.
    if seconds > 1e11:
        seconds /= 1000
    return datetime.fromtimestamp(seconds, UTC)
