"""Sum a numeric attribute per tumbling window and shard; store each window's total.

This is the sales aggregator of the AWS Compute blog post on streaming analytics, for both
of its sources:

* DynamoDB Streams: INSERT records add ``NewImage.<attribute>``; other changes are
  ignored (an order is counted when it is created).
* Kinesis: records add ``<attribute>`` of their JSON payload, or of its ``Item`` object
  (the post's producer writes ``{"Item": {...}}``).

Environment:
    RESULTS_TABLE_NAME: Table of the totals (string keys ``pk`` and ``sk``).
    VALUE_ATTRIBUTE: The attribute to sum. Defaults to ``sales``.
    SOURCE_NAME: Names the source in result keys. Defaults to the stream's name.
    FAILURE_QUEUE_URL: Where records without a usable value go, with the reason.

Result items: ``pk`` = ``<source>#<attribute>#<shardId>``, ``sk`` = ``<window start>#<part>``
(``final``, or ``early-<sequence number>`` for parts of a window that ended early because
its state passed 1 MB), with ``windowStart``, ``windowEnd``, ``shardId``, ``attribute``,
``total`` (exact decimal), ``count`` and ``part``. Retried final invocations write the same
item again; aggregators of other attributes sharing the table write other items.

Numbers are exact: values are parsed as decimals (never binary floats) and summed on a
fixed grid, so that every total fits a DynamoDB number (38 significant digits) whatever
the values and whatever their order. A value counts when it has at most
``VALUE_DECIMAL_PLACES`` digits after the point (default 6) and a magnitude below
``10 ** (31 - VALUE_DECIMAL_PLACES)`` (default ``1E+25``): any sum of up to 10,000,000 such
values has at most 38 significant digits, and a shard delivers at most 900,000 records to
one 900-second window. A value off the grid (``1E+100``, ``1E-20`` with the default) is
parked with the reason ``VALUE_OUT_OF_RANGE`` and the window's other values are still
summed: the outcome does not depend on which value came first. Rounding is never done,
since a total that silently changed would be worse than a parked value. Past 10,000,000
values in one part of a window, a value that would take the total beyond 38 digits is
parked as ``TOTAL_OUT_OF_RANGE``.

Environment (numbers):
    VALUE_DECIMAL_PLACES: Digits after the point a value may have, 0-31. Defaults to 6.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from decimal import Decimal, DecimalException, InvalidOperation
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger

from ..shared.failures import PoisonRecordError, send_to_failure_queue
from ..shared.numbers import DYNAMODB_NUMBERS
from ..shared.windows import Window, handle_window_event

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

logger = Logger()

#: Significant digits of the grid values live on; the other 7 of DynamoDB's 38 are room
#: for the sum of up to 10,000,000 values.
GRID_DIGITS = 31
DEFAULT_DECIMAL_PLACES = 6


@dataclass(frozen=True)
class Grid:
    """The values a total holds exactly, whatever their order.

    At most ``decimal_places`` digits after the point and a magnitude below
    ``10 ** (GRID_DIGITS - decimal_places)``.
    """

    decimal_places: int = DEFAULT_DECIMAL_PLACES

    @property
    def limit(self) -> Decimal:
        """Values must be smaller than this in magnitude."""
        return Decimal(10) ** (GRID_DIGITS - self.decimal_places)

    def check(self, value: Decimal, attribute: str, text: str) -> Decimal:
        """``value`` if it lies on the grid.

        Raises:
            PoisonRecordError: ``VALUE_OUT_OF_RANGE`` when it does not.
        """
        # copy_abs, not abs(): abs() rounds to the context's 28 digits.
        if _decimal_places(value) > self.decimal_places or value.copy_abs() >= self.limit:
            raise PoisonRecordError(
                "VALUE_OUT_OF_RANGE",
                f"{attribute}={text[:64]!r} is not a number with at most "
                f"{self.decimal_places} decimal places and a magnitude below "
                f"1E+{GRID_DIGITS - self.decimal_places} (VALUE_DECIMAL_PLACES); such values "
                "add up exactly within the 38 digits of a DynamoDB number",
            )
        return value


def _decimal_places(value: Decimal) -> int:
    # From the digits, not normalize(): that rounds to the context's 28 digits.
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN and infinities: _number refuses them first
        return 0
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing_zeros)) if any(digits) else 0


def grid_from_environment() -> Grid:
    """The grid ``VALUE_DECIMAL_PLACES`` asks for.

    Raises:
        ValueError: When the variable is not a whole number in 0-31.
    """
    text = os.environ.get("VALUE_DECIMAL_PLACES", "") or str(DEFAULT_DECIMAL_PLACES)
    if not (text.isascii() and text.isdecimal() and 0 <= int(text) <= GRID_DIGITS):
        raise ValueError(f"VALUE_DECIMAL_PLACES={text!r} must be a whole number in 0-{GRID_DIGITS}")
    return Grid(int(text))


@cache
def dynamodb_client() -> DynamoDBClient:
    """Return the DynamoDB client, created on first use."""
    return boto3.client("dynamodb")


@cache
def sqs_client() -> SQSClient:
    """Return the SQS client, created on first use."""
    return boto3.client("sqs")


def record_value(
    record: Mapping[str, Any], attribute: str, grid: Grid | None = None
) -> Decimal | None:
    """The value a record adds, or None when the record does not count.

    Raises:
        PoisonRecordError: When a record that should count has no usable value.
    """
    grid = grid or Grid()
    if "dynamodb" in record:
        if record.get("eventName") != "INSERT":
            return None
        typed = (record["dynamodb"].get("NewImage") or {}).get(attribute)
        if not isinstance(typed, dict) or not isinstance(typed.get("N"), str):
            raise PoisonRecordError("MISSING_VALUE", f"NewImage has no number {attribute!r}")
        return grid.check(_number(typed["N"], attribute), attribute, typed["N"])
    try:
        payload = json.loads(
            base64.b64decode(record["kinesis"]["data"], validate=True),
            parse_float=Decimal,
            parse_constant=_no_constant,
        )
    except (KeyError, TypeError, ValueError, binascii.Error) as error:
        raise PoisonRecordError("MALFORMED_RECORD", f"data is not base64 JSON: {error}") from error
    except RecursionError as error:
        # A few KB of brackets exhaust the parser's stack; no retry reads them either.
        raise PoisonRecordError("MALFORMED_RECORD", "data nests too deep to parse") from error
    item = payload.get("Item", payload) if isinstance(payload, dict) else None
    value = item.get(attribute) if isinstance(item, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise PoisonRecordError("MISSING_VALUE", f"payload has no number {attribute!r}")
    return grid.check(_number(str(value), attribute), attribute, str(value))


def _no_constant(name: str) -> Decimal:
    raise ValueError(f"{name} is not a JSON number")


def _number(text: str, attribute: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise PoisonRecordError(
            "MISSING_VALUE", f"{attribute}={text[:64]!r} is not a number"
        ) from error
    if not value.is_finite():
        raise PoisonRecordError("MISSING_VALUE", f"{attribute}={text[:64]!r} is not finite")
    return value


class WindowTotals:
    """Sums of one attribute per window: the state is ``{"total": "<decimal>", "count": n}``."""

    def __init__(
        self, attribute: str, source_name: str, table_name: str, grid: Grid | None = None
    ) -> None:
        self.attribute = attribute
        self.source_name = source_name
        self.table_name = table_name
        self.grid = grid or Grid()

    def initial(self) -> dict[str, Any]:
        """No records yet."""
        return {"total": "0", "count": 0}

    def add(self, state: dict[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
        """Add the record's value (exact decimal arithmetic; the state carries strings)."""
        value = record_value(record, self.attribute, self.grid)
        if value is None:
            return state
        try:
            total = DYNAMODB_NUMBERS.add(Decimal(state["total"]), value)
        except DecimalException as error:
            raise PoisonRecordError(
                "TOTAL_OUT_OF_RANGE",
                f"adding {self.attribute}={value} to the window's total {state['total']} "
                "leaves DynamoDB's number range (38 significant digits): more than "
                "10,000,000 values in one part of a window",
            ) from error
        return {"total": str(total), "count": state["count"] + 1}

    def emit(self, state: dict[str, Any], window: Window) -> None:
        """Write the window's total; the key makes a retried write land on the same item."""
        dynamodb_client().put_item(
            TableName=self.table_name,
            Item={
                "pk": {"S": f"{self.source_name}#{self.attribute}#{window.shard_id}"},
                "sk": {"S": f"{window.start}#{window.part}"},
                "windowStart": {"S": window.start},
                "windowEnd": {"S": window.end},
                "shardId": {"S": window.shard_id},
                "attribute": {"S": self.attribute},
                "total": {"N": state["total"]},
                "count": {"N": str(state["count"])},
                "part": {"S": window.part},
            },
        )


def _source_name(event: Mapping[str, Any]) -> str:
    configured = os.environ.get("SOURCE_NAME")
    if configured:
        return configured
    arn = str(event.get("eventSourceARN", ""))
    # ...:stream/<name> for Kinesis, ...:table/<name>/stream/<label> for DynamoDB.
    if ":table/" in arn:
        return arn.split(":table/", 1)[1].split("/", 1)[0]
    return arn.rsplit("/", 1)[-1]


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Handle one tumbling-window invocation."""
    totals = WindowTotals(
        os.environ.get("VALUE_ATTRIBUTE", "sales"),
        _source_name(event),
        os.environ["RESULTS_TABLE_NAME"],
        grid_from_environment(),
    )

    def park(record: Mapping[str, Any], error: PoisonRecordError) -> None:
        send_to_failure_queue(
            sqs_client(),
            record,
            error,
            function_name=context.function_name,
            request_id=context.aws_request_id,
        )
        logger.warning("record without a usable value parked", extra={"reason": error.reason})

    return handle_window_event(event, totals, on_poison=park)
