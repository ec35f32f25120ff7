"""Exact numbers within DynamoDB's limits."""

from __future__ import annotations

from decimal import Decimal, DecimalException

import pytest

from lambda_blueprints.runtime.shared.numbers import dynamodb_number


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "-1.5",
        "1E-130",
        "9.9999999999999999999999999999999999999E+125",
        "12345678901234567890123456789012345678",
        "1.2300000000000000000000000000000000000000000",  # trailing zeros past 38 digits
    ],
)
def test_numbers_dynamodb_stores_are_kept_exactly(text: str) -> None:
    assert dynamodb_number(Decimal(text)) == Decimal(text)


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "-NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "1E+126",
        "1E-131",
        "123456789012345678901234567890123456789",
    ],
)
def test_numbers_dynamodb_refuses_raise(text: str) -> None:
    with pytest.raises(DecimalException):
        dynamodb_number(Decimal(text))
