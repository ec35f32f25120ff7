"""Exact decimal arithmetic within what a DynamoDB number can hold.

DynamoDB numbers have up to 38 significant digits and magnitudes from 1E-130 to
9.99...E+125; it rejects a write with anything else. A handler that finds out only when it
writes may be stuck on a record forever (a tumbling window's final invocation is retried
until it succeeds), so values are checked, and sums computed, under this context, where
every rounding, overflow or underflow raises instead of changing the number silently.
"""

from __future__ import annotations

from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow, Subnormal, Underflow

DYNAMODB_NUMBERS = Context(
    prec=38,
    Emax=125,
    Emin=-130,
    traps=[InvalidOperation, Inexact, Overflow, Underflow, Subnormal],
)


def dynamodb_number(value: Decimal) -> Decimal:
    """``value`` as DynamoDB stores it (trailing digits past 38 must be zeros).

    Raises:
        decimal.DecimalException: When DynamoDB cannot store ``value`` exactly (NaN and
            the infinities included: ``plus`` would pass them through unchanged).
    """
    if not value.is_finite():
        raise InvalidOperation(f"{value} is not a number DynamoDB can store")
    return DYNAMODB_NUMBERS.plus(value)
