"""DynamoDB's limits on an item, measured the way DynamoDB measures them.

DynamoDB refuses a ``PutItem`` (``ValidationException``) whose item is over 400 KB, whose
partition key is over 2,048 bytes or sort key over 1,024 bytes, or whose values nest more
than 32 levels deep. No retry changes that, so the audit trail checks its items against
these limits before writing them, with sizes computed as DynamoDB documents them (not as
JSON, which spells out types and escapes every non-ASCII character):

* a name or string: its UTF-8 bytes; a binary value: its raw bytes (not its base64);
* a number: about one byte per two significant digits, plus one;
* a boolean or null: one byte;
* a list or map: three bytes, plus one byte and the size of each element (a map element
  counts its key too); a set: the sizes of its members;
* an item: the names and values of its attributes.

Nesting counts levels as DynamoDB does: a scalar or set is one level, a list or map one
more than its deepest element, so a map of a string is two levels deep.

Every function here takes values as the low-level client sends them (``{"B": b"..."}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..shared.failures import PoisonRecordError

#: DynamoDB's largest item: 400 KB, names and values together.
MAX_ITEM_BYTES = 400 * 1024
#: DynamoDB's longest partition key value.
MAX_PARTITION_KEY_BYTES = 2048
#: DynamoDB's longest sort key value.
MAX_SORT_KEY_BYTES = 1024
#: DynamoDB's deepest nesting of lists and maps, the top-level value counted as level 1.
MAX_NESTING_LEVELS = 32
#: DynamoDB's longest attribute name (64 KB, less one byte: the Streams API's bound).
MAX_ATTRIBUTE_NAME_BYTES = 65_535
#: DynamoDB's longest name of a key attribute.
MAX_KEY_NAME_BYTES = 255

#: The reason of a change whose audit item DynamoDB cannot store.
AUDIT_ITEM_REJECTED = "AUDIT_ITEM_REJECTED"


def utf8_length(text: str) -> int:
    """The number of bytes of ``text`` in UTF-8.

    Raises:
        UnicodeEncodeError: When ``text`` holds a lone surrogate (no UTF-8 form exists).
    """
    return len(text.encode("utf-8"))


def number_size(text: str) -> int:
    """DynamoDB's size of the number spelled ``text``, in bytes.

    One byte per two significant digits, plus one; leading and trailing zeros do not
    count, and zero takes two bytes.
    """
    mantissa = text.lstrip("+-").split("e")[0].split("E")[0].replace(".", "")
    significant = len(mantissa.strip("0")) or 1
    return (significant + 1) // 2 + 1


def value_size(value: Mapping[str, Any]) -> int:
    """DynamoDB's size of one typed value in the low-level client's form."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return utf8_length(raw)
    if kind == "N":
        return number_size(raw)
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(utf8_length(member) for member in raw)
    if kind == "NS":
        return sum(number_size(member) for member in raw)
    if kind == "BS":
        return sum(len(member) for member in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in raw)
    if kind == "M":
        return 3 + sum(1 + utf8_length(k) + value_size(v) for k, v in raw.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """DynamoDB's size of an item: the UTF-8 names and the sizes of its values."""
    return sum(utf8_length(name) + value_size(value) for name, value in item.items())


def nesting_levels(value: Mapping[str, Any]) -> int:
    """How many levels deep a typed value nests: 1 for a scalar or a set."""
    ((kind, raw),) = value.items()
    if kind == "M":
        return 1 + max((nesting_levels(v) for v in raw.values()), default=0)
    if kind == "L":
        return 1 + max((nesting_levels(v) for v in raw), default=0)
    return 1


def check_item(item: Mapping[str, Mapping[str, Any]], *, max_bytes: int = MAX_ITEM_BYTES) -> int:
    """Check an audit item (keys ``pk`` and ``sk``) against DynamoDB's limits; return its size.

    Raises:
        PoisonRecordError: ``AUDIT_ITEM_REJECTED``, naming the limit the item is over.
    """
    where = f"audit item {str(item.get('sk', {}).get('S', '?'))[:80]!r}"
    for name, limit in (("pk", MAX_PARTITION_KEY_BYTES), ("sk", MAX_SORT_KEY_BYTES)):
        length = utf8_length(item[name]["S"])
        if not 1 <= length <= limit:
            raise PoisonRecordError(
                AUDIT_ITEM_REJECTED,
                f"{where}: {name} is {length:,} bytes, DynamoDB takes 1-{limit:,}",
            )
    for name, value in item.items():
        levels = nesting_levels(value)
        if levels > MAX_NESTING_LEVELS:
            raise PoisonRecordError(
                AUDIT_ITEM_REJECTED,
                f"{where}: attribute {name[:80]!r} nests {levels} levels, DynamoDB takes "
                f"{MAX_NESTING_LEVELS}",
            )
    size = item_size(item)
    if size > max_bytes:
        raise PoisonRecordError(
            AUDIT_ITEM_REJECTED, f"{where}: {size:,} bytes, DynamoDB takes {max_bytes:,}"
        )
    return size
