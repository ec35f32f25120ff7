"""The order event format the shop's functions share (a module of the code folder)."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from ulid import ULID

from lambda_blueprints.runtime.shared.failures import PoisonRecordError

#: Currencies the shop sells in.
CURRENCIES = frozenset({"EUR", "USD", "GBP"})
#: Largest order amount the shop accepts (the tables store it exactly).
MAX_AMOUNT = Decimal("1000000")


def event_id(created_at_seconds: float, sequence_number: str) -> str:
    """A ULID for a stream record: sortable by time, the same on every retry of the record.

    The 48-bit timestamp is the change's time; the 80 random bits come from the record's
    sequence number, so a retried batch puts events with the ids it put the first time.
    """
    millis = int(created_at_seconds * 1000)
    entropy = hashlib.sha256(sequence_number.encode()).digest()[:10]
    return str(ULID.from_bytes(millis.to_bytes(6, "big") + entropy))


def amount_of(value: Any) -> Decimal:
    """An order amount: a decimal string or number, 0 < amount <= MAX_AMOUNT, cents at most."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as error:
        raise PoisonRecordError("INVALID_AMOUNT", f"amount {value!r} is not a number") from error
    if (
        not amount.is_finite()
        or not 0 < amount <= MAX_AMOUNT
        or amount != amount.quantize(Decimal("0.01"))
    ):
        raise PoisonRecordError(
            "INVALID_AMOUNT", f"amount {value!r} is not in (0, {MAX_AMOUNT}] with cents at most"
        )
    return amount


def currency_of(value: Any) -> str:
    """An order currency, one of :data:`CURRENCIES`."""
    if value not in CURRENCIES:
        raise PoisonRecordError(
            "INVALID_CURRENCY", f"currency {value!r} is not one of {sorted(CURRENCIES)}"
        )
    return str(value)


def parse_event(data: bytes) -> dict[str, Any]:
    """An order event as put on the stream; anything else is a poison record."""
    try:
        event = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise PoisonRecordError("MALFORMED_RECORD", f"not JSON: {error}") from error
    if not isinstance(event, dict) or not {"eventId", "orderId", "status"} <= event.keys():
        raise PoisonRecordError("MALFORMED_RECORD", "not an order event (eventId, orderId, status)")
    return event
