"""Turn one DynamoDB stream record into the audit items that describe its change.

Pure functions over the record's typed attribute values (``{"S": "x"}``): nothing here
talks to AWS, so every rule is testable on plain dictionaries.

Every item the source table can hold is audited, within DynamoDB's limits on the audit
item (see :mod:`.limits`):

* Keys: ``pk`` is the item's table and key as JSON while that fits DynamoDB's 2,048-byte
  partition key, else the table and the SHA-256 of the key JSON. :func:`entity_key` gives
  either; ``sourceKey`` always holds the key itself.
* Depth: a value becomes ``changes.<name>.old`` (or ``new``), two levels below the top of
  the audit item, so a value nested deeper than 30 levels is replaced by its digest.
* Size: a change too large for one audit item is split into parts, in attribute name
  order, each a whole audit item; a single attribute too large even for a part alone has
  its largest values replaced by digests until it fits. The split depends on the record
  alone, so a redelivered record writes the same parts under the same keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, DecimalException
from typing import Any, Literal

from ..shared.failures import PoisonRecordError
from ..shared.numbers import dynamodb_number
from .limits import (
    AUDIT_ITEM_REJECTED,
    MAX_ATTRIBUTE_NAME_BYTES,
    MAX_ITEM_BYTES,
    MAX_KEY_NAME_BYTES,
    MAX_NESTING_LEVELS,
    MAX_PARTITION_KEY_BYTES,
    MAX_SORT_KEY_BYTES,
    item_size,
    nesting_levels,
    utf8_length,
    value_size,
)

AttributeValue = Mapping[str, Any]
ChangeKind = Literal["added", "removed", "modified"]

#: What one audit item may take: DynamoDB's 400 KB, less room for the sizes DynamoDB
#: documents only approximately (numbers).
MAX_AUDIT_ITEM_BYTES = MAX_ITEM_BYTES - 8 * 1024
#: The deepest value an audit item carries whole: ``changes`` and the attribute's entry
#: are the two levels above it.
MAX_VALUE_LEVELS = MAX_NESTING_LEVELS - 2
#: The Streams API's longest sequence number; longer ones would not sort by zero padding.
MAX_SEQUENCE_NUMBER_DIGITS = 40
#: Longest event id taken; real ones are 32 hex digits, and the sort key holds it.
MAX_EVENT_ID_BYTES = 512
#: Part numbers in sort keys are zero-padded to this width, so parts sort in order.
_PART_DIGITS = 4

_SCALAR_TYPES = frozenset({"S", "N", "B", "BOOL", "NULL"})
_SET_TYPES = frozenset({"SS", "NS", "BS"})
_KEY_TYPES = frozenset({"S", "N", "B"})
_EVENT_NAMES = frozenset({"INSERT", "MODIFY", "REMOVE"})
#: Deletions made by DynamoDB's time to live carry this service principal.
_TTL_PRINCIPAL = "dynamodb.amazonaws.com"
#: DynamoDB's number syntax (``Decimal`` alone would also take spaces, ``_`` and ``NaN``).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
#: DynamoDB's table names.
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}", re.ASCII)


@dataclass(frozen=True)
class AttributeChange:
    """How one attribute changed: ``old`` and ``new`` are typed values or None."""

    name: str
    kind: ChangeKind
    old: AttributeValue | None
    new: AttributeValue | None


@dataclass(frozen=True)
class Change:
    """The change one stream record describes.

    ``changed_at`` is None when the record has no ``ApproximateCreationDateTime`` (the
    Streams API marks it optional).
    """

    table: str
    keys: Mapping[str, AttributeValue]
    entity: str
    event_id: str
    event_name: str
    sequence_number: str
    changed_at: datetime | None
    actor: str
    attributes: tuple[AttributeChange, ...]


def canonical(value: AttributeValue, path: str = "", *, level: int = 1) -> Any:
    """Return a hashable canonical form of a typed value, for equality.

    Numbers compare by value (``1`` equals ``1.0``) and sets ignore order, as DynamoDB does.
    The value must be one DynamoDB can store: numbers within its range and precision,
    sets without duplicates, valid UTF-8 and base64, map keys of 1 byte to 64 KB, at
    most 32 levels deep (``level`` is
    the level of ``value`` itself).

    Raises:
        PoisonRecordError: ``MALFORMED_RECORD`` when the value is not a well-formed
            DynamoDB attribute value, ``NESTING_TOO_DEEP`` when it nests deeper than
            DynamoDB allows.
    """
    where = path or "?"
    if level > MAX_NESTING_LEVELS:
        raise PoisonRecordError(
            "NESTING_TOO_DEEP",
            f"attribute {where[:200]} nests deeper than DynamoDB's {MAX_NESTING_LEVELS} levels",
        )
    if not isinstance(value, Mapping) or len(value) != 1:
        raise PoisonRecordError(
            "MALFORMED_RECORD", f"attribute {where[:200]} is not a typed value: {value!r:.200}"
        )
    ((kind, raw),) = value.items()
    try:
        if kind == "N":
            return ("N", _number(raw))
        if kind in _SET_TYPES:
            if not isinstance(raw, list) or not raw or not all(isinstance(i, str) for i in raw):
                raise TypeError(f"{kind} must be a non-empty list of strings")
            members: frozenset[Any]
            if kind == "NS":
                members = frozenset(_number(item) for item in raw)
            elif kind == "BS":
                members = frozenset(_binary(item) for item in raw)
            else:
                members = frozenset(raw)
                for item in raw:
                    utf8_length(item)
            if len(members) != len(raw):
                raise TypeError(f"{kind} holds the same member twice")
            return (kind, members)
        if kind == "L":
            if not isinstance(raw, list):
                raise TypeError("L must be a list")
            return (
                "L",
                tuple(
                    canonical(item, f"{path}[{i}]", level=level + 1) for i, item in enumerate(raw)
                ),
            )
        if kind == "M":
            if not isinstance(raw, Mapping):
                raise TypeError("M must be a map")
            entries = []
            for k, v in raw.items():
                # Keys inside maps are attribute names too: 1 byte to 64 KB of UTF-8.
                if not isinstance(k, str) or not 0 < utf8_length(k) <= MAX_ATTRIBUTE_NAME_BYTES:
                    raise TypeError(f"M keys must be names of 1-{MAX_ATTRIBUTE_NAME_BYTES:,} bytes")
                entries.append((k, canonical(v, f"{path}.{k}", level=level + 1)))
            return ("M", frozenset(entries))
        if kind in _SCALAR_TYPES:
            if kind == "NULL" and raw is not True:
                raise TypeError("NULL must be true")
            if kind == "BOOL" and not isinstance(raw, bool):
                raise TypeError("BOOL must be a boolean")
            if kind == "S":
                if not isinstance(raw, str):
                    raise TypeError("S must be a string")
                utf8_length(raw)
            if kind == "B":
                return ("B", _binary(raw))
            return (kind, raw)
    except (DecimalException, TypeError, ValueError, AttributeError) as error:
        # ValueError covers invalid base64 and strings with no UTF-8 form.
        raise PoisonRecordError(
            "MALFORMED_RECORD", f"attribute {where[:200]} has an invalid {kind} value: {error}"
        ) from error
    raise PoisonRecordError(
        "MALFORMED_RECORD", f"attribute {where[:200]} has unknown type {kind!r:.40}"
    )


def diff_images(
    old: Mapping[str, AttributeValue] | None,
    new: Mapping[str, AttributeValue] | None,
) -> tuple[AttributeChange, ...]:
    """List the attributes that differ between two images, sorted by name.

    Raises:
        PoisonRecordError: When an attribute name or value is not one DynamoDB can hold.
    """
    old = old or {}
    new = new or {}
    changes = []
    for name in sorted(set(old) | set(new)):
        _check_name(name, MAX_ATTRIBUTE_NAME_BYTES, "attribute")
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
    """Return the audit partition key (``pk``) of a source item; query it for its history.

    ``entity_key("users", {"userId": {"S": "u-1"}})`` is ``users#{"userId":"u-1"}``: the
    table, ``#`` and the key as JSON (names sorted, no spaces, non-ASCII escaped, numbers
    as their string, binary as base64). Where that is longer than DynamoDB's 2,048-byte
    partition key, the pk is ``<table>#sha256:<hex SHA-256 of the key JSON>`` instead.

    Raises:
        PoisonRecordError: When the key is not a DynamoDB key (types S, N, B).
    """
    plain = {}
    for name, value in keys.items():
        canonical(value, name)
        ((kind, raw),) = value.items()
        if kind not in _KEY_TYPES:
            raise PoisonRecordError(
                "MALFORMED_RECORD", f"key attribute {name[:200]} has non-key type {kind!r}"
            )
        plain[name] = raw
    key_json = json.dumps(plain, sort_keys=True, separators=(",", ":"))
    readable = f"{table}#{key_json}"
    if utf8_length(readable) <= MAX_PARTITION_KEY_BYTES:
        return readable
    return f"{table}#sha256:{hashlib.sha256(key_json.encode('utf-8')).hexdigest()}"


def parse_change(record: Mapping[str, Any]) -> Change:
    """Read the change a DynamoDB stream record (as Lambda delivers it) describes.

    Raises:
        PoisonRecordError: When the record can never be audited: missing fields, an
            unknown event name, a stream view type without the needed images, or names,
            keys or values DynamoDB could not hold.
    """
    if not isinstance(record, Mapping):
        raise PoisonRecordError("MALFORMED_RECORD", "record is not a map")
    event_name = record.get("eventName")
    if event_name not in _EVENT_NAMES:
        raise PoisonRecordError("MALFORMED_RECORD", f"unknown eventName {event_name!r:.80}")
    event_id = record.get("eventID")
    data = record.get("dynamodb")
    if not isinstance(event_id, str) or not event_id or not isinstance(data, Mapping):
        raise PoisonRecordError("MALFORMED_RECORD", "record has no eventID or no dynamodb body")
    _check_name(event_id, MAX_EVENT_ID_BYTES, "eventID")
    keys = data.get("Keys")
    sequence_number = data.get("SequenceNumber")
    if not isinstance(keys, Mapping) or not keys:
        raise PoisonRecordError("MALFORMED_RECORD", "record has no Keys")
    if not (
        isinstance(sequence_number, str)
        and 0 < len(sequence_number) <= MAX_SEQUENCE_NUMBER_DIGITS
        and sequence_number.isascii()
        and sequence_number.isdigit()
    ):
        raise PoisonRecordError(
            "MALFORMED_RECORD", f"invalid SequenceNumber {sequence_number!r:.80}"
        )
    _check_keys(keys)
    old, new = data.get("OldImage"), data.get("NewImage")
    needs_old = event_name in ("MODIFY", "REMOVE")
    needs_new = event_name in ("MODIFY", "INSERT")
    if (needs_old and old is None) or (needs_new and new is None):
        raise PoisonRecordError(
            "MISSING_IMAGE",
            f"{event_name} record without {'OldImage' if needs_old and old is None else 'NewImage'}"
            f" (stream view type {data.get('StreamViewType', 'unknown')!s:.40}); auditing needs "
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
        keys=keys,
        entity=entity_key(table, keys),
        event_id=event_id,
        event_name=event_name,
        sequence_number=sequence_number,
        changed_at=_changed_at(data.get("ApproximateCreationDateTime")),
        actor=actor,
        attributes=diff_images(old, new),
    )


def audit_items(
    change: Change,
    *,
    expires_at: int | None = None,
    max_item_bytes: int = MAX_AUDIT_ITEM_BYTES,
) -> list[dict[str, Any]]:
    """Build the audit items of a change (typed values, for the low-level ``put_item``).

    One item, unless the change is too large for one: then several parts, each an item
    with the same record fields, its share of ``changedAttributes`` and ``changes``, and
    ``part`` (1, 2, ...) and ``parts`` (how many). The sort key starts with the zero-padded
    sequence number, so one item's history sorts in the order its changes happened, and
    goes on with the event id (and, for parts, the zero-padded part number), which makes a
    redelivered record write the same keys (the caller writes each only if it is absent).
    A value that does not fit (too deep for the audit item, or too large even for a part
    of its own) is replaced by its digest (:func:`value_digest`); ``valuesOmitted`` flags
    the items that hold one.

    Raises:
        PoisonRecordError: ``AUDIT_ITEM_REJECTED`` when even digests do not fit (a record
            DynamoDB would not produce).
    """
    base: dict[str, Any] = {
        "pk": {"S": change.entity},
        "sk": {"S": _sort_key(change)},
        "eventId": {"S": change.event_id},
        "eventName": {"S": change.event_name},
        "sequenceNumber": {"S": change.sequence_number},
        "sourceTable": {"S": change.table},
        "sourceKey": {"M": {k: to_client_value(v) for k, v in change.keys.items()}},
        "actor": {"S": change.actor},
        "changedAtUnknown": {"BOOL": change.changed_at is None},
    }
    if change.changed_at is not None:
        base["changedAt"] = {"S": change.changed_at.isoformat()}
    if expires_at is not None:
        base["expiresAt"] = {"N": str(expires_at)}
    entries = [_Entry.of(attribute) for attribute in change.attributes]

    whole = _shell(base)
    if item_size(whole) + sum(e.size for e in entries) <= max_item_bytes:
        return [_item(whole, entries)]

    widest = 10**_PART_DIGITS - 1
    room = max_item_bytes - item_size(_shell(base, part=widest, parts=widest))
    for entry in entries:
        entry.shrink_to(room)
    if item_size(whole) + sum(e.size for e in entries) <= max_item_bytes:
        return [_item(whole, entries)]

    groups: list[list[_Entry]] = [[]]
    used = 0
    for entry in entries:
        if groups[-1] and used + entry.size > room:
            groups.append([])
            used = 0
        groups[-1].append(entry)
        used += entry.size
    if len(groups) > widest:
        raise PoisonRecordError(
            AUDIT_ITEM_REJECTED, f"the change needs {len(groups):,} audit items"
        )
    return [
        _item(_shell(base, part=number, parts=len(groups)), group)
        for number, group in enumerate(groups, start=1)
    ]


def value_digest(value: AttributeValue) -> dict[str, Any]:
    """The digest that stands for a value an audit item cannot carry whole.

    A map of ``sha256`` (hex digest) and ``bytes`` (length) of the value's JSON as Lambda
    delivers it, with sorted keys and no spaces, e.g. ``{"S":"..."}``.
    """
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return {
        "M": {
            "sha256": {"S": hashlib.sha256(encoded).hexdigest()},
            "bytes": {"N": str(len(encoded))},
        }
    }


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


@dataclass
class _Entry:
    """One attribute's share of an audit item, and the size it adds to the item.

    The share is the attribute's name in ``changedAttributes`` and its entry in ``changes``.
    """

    change: AttributeChange
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    omitted: bool = False
    size: int = 0

    @classmethod
    def of(cls, change: AttributeChange) -> _Entry:
        entry = cls(change)
        for label, value in (("old", change.old), ("new", change.new)):
            if value is None:
                continue
            if nesting_levels(value) > MAX_VALUE_LEVELS:
                entry.values[label] = value_digest(value)
                entry.omitted = True
            else:
                entry.values[label] = to_client_value(value)
        entry.size = entry.measure()
        return entry

    def described(self) -> dict[str, Any]:
        return {"change": {"S": self.change.kind}, **self.values}

    def measure(self) -> int:
        name = utf8_length(self.change.name)
        # A list element and a map element each take one byte besides their content.
        return (1 + name) + (1 + name + value_size({"M": self.described()}))

    def shrink_to(self, room: int) -> None:
        """Replace values by digests, largest first (old before new), until within room."""
        candidates = sorted(
            (
                (value_size(self.values[label]), label)
                for label in ("old", "new")
                if label in self.values
            ),
            key=lambda pair: (-pair[0], pair[1] != "old"),
        )
        for _, label in candidates:
            if self.size <= room:
                return
            original = self.change.old if label == "old" else self.change.new
            if original is None:
                continue
            digest = value_digest(original)
            if value_size(digest) < value_size(self.values[label]):
                self.values[label] = digest
                self.omitted = True
                self.size = self.measure()
        if self.size > room:
            raise PoisonRecordError(
                AUDIT_ITEM_REJECTED,
                f"attribute {self.change.name[:80]!r} does not fit an audit item even as digests",
            )


def _shell(base: Mapping[str, Any], *, part: int = 0, parts: int = 1) -> dict[str, Any]:
    # An audit item without entries: the entries' sizes add up to the rest of its size.
    shell = {
        **base,
        "changedAttributes": {"L": []},
        "changes": {"M": {}},
        "valuesOmitted": {"BOOL": False},
    }
    if parts > 1:
        shell["sk"] = {"S": f"{base['sk']['S']}#{part:0{_PART_DIGITS}d}"}
        shell["part"] = {"N": str(part)}
        shell["parts"] = {"N": str(parts)}
    return shell


def _item(shell: Mapping[str, Any], entries: list[_Entry]) -> dict[str, Any]:
    item = dict(shell)
    item["changedAttributes"] = {"L": [{"S": e.change.name} for e in entries]}
    item["changes"] = {"M": {e.change.name: {"M": e.described()} for e in entries}}
    item["valuesOmitted"] = {"BOOL": any(e.omitted for e in entries)}
    return item


def _sort_key(change: Change) -> str:
    sort_key = f"{change.sequence_number.zfill(MAX_SEQUENCE_NUMBER_DIGITS)}#{change.event_id}"
    if utf8_length(sort_key) + 1 + _PART_DIGITS > MAX_SORT_KEY_BYTES:
        raise PoisonRecordError("MALFORMED_RECORD", "eventID is too long for the audit sort key")
    return sort_key


def _number(raw: object) -> Decimal:
    if not isinstance(raw, str) or not _NUMBER.fullmatch(raw):
        raise TypeError(f"N must be a number as a string, not {raw!r:.80}")
    # Raises a DecimalException past DynamoDB's 38 digits or its range.
    return dynamodb_number(Decimal(raw))


def _binary(raw: object) -> bytes:
    if not isinstance(raw, str):
        raise TypeError("binary values must be base64 strings")
    return base64.b64decode(raw, validate=True)


def _check_name(name: object, limit: int, what: str) -> None:
    if not isinstance(name, str) or not name:
        raise PoisonRecordError("MALFORMED_RECORD", f"{what} {name!r:.80} is not a name")
    try:
        length = utf8_length(name)
    except UnicodeEncodeError as error:
        raise PoisonRecordError(
            "MALFORMED_RECORD", f"{what} {name[:80]!r} has no UTF-8 form"
        ) from error
    if length > limit:
        raise PoisonRecordError(
            "MALFORMED_RECORD", f"{what} {name[:80]!r}... is {length:,} bytes, over {limit:,}"
        )


def _check_keys(keys: Mapping[str, Any]) -> None:
    # A source key is a partition key and at most a sort key, each S, N or B and 1-2,048
    # bytes (sort keys 1,024, but a record does not say which key is which).
    if len(keys) > 2:
        raise PoisonRecordError("MALFORMED_RECORD", f"record has {len(keys)} key attributes")
    for name, value in keys.items():
        _check_name(name, MAX_KEY_NAME_BYTES, "key attribute")
        canonical(value, name)
        if next(iter(value)) not in _KEY_TYPES:
            raise PoisonRecordError(
                "MALFORMED_RECORD",
                f"key attribute {name[:200]} has non-key type {next(iter(value))!r}",
            )
        length = value_size(to_client_value(value))
        if not 1 <= length <= MAX_PARTITION_KEY_BYTES:
            raise PoisonRecordError(
                "MALFORMED_RECORD",
                f"key attribute {name[:200]} is {length:,} bytes; DynamoDB keys take 1-"
                f"{MAX_PARTITION_KEY_BYTES:,}",
            )


def _table_name(arn: object) -> str:
    # arn:aws:dynamodb:region:account:table/NAME/stream/LABEL
    if isinstance(arn, str) and ":table/" in arn:
        name = arn.split(":table/", 1)[1].split("/", 1)[0]
        if _TABLE_NAME.fullmatch(name):
            return name
    raise PoisonRecordError(
        "MALFORMED_RECORD", f"eventSourceARN {arn!r:.300} is not a table stream"
    )


def _changed_at(value: object) -> datetime | None:
    if value is None:
        # Optional in the Streams API: the audit item says the time is unknown.
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise PoisonRecordError(
            "MALFORMED_RECORD", f"invalid ApproximateCreationDateTime {value!r:.80}"
        )
    try:
        seconds = float(value)
        # Some producers give milliseconds; DynamoDB gives seconds since the epoch.
        if seconds > 1e11:
            seconds /= 1000
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError) as error:
        raise PoisonRecordError(
            "MALFORMED_RECORD", f"invalid ApproximateCreationDateTime {value!r:.80}"
        ) from error
