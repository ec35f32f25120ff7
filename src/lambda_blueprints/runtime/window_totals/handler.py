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

Numbers are exact: values are parsed as decimals (never binary floats) and summed with
DynamoDB's number limits, 38 significant digits and magnitudes from 1E-130 to below
1E+126. A value outside them, or one that would take the window's total outside them, is
parked with its reason rather than failing the final write, which would stop the shard.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from decimal import Decimal, DecimalException, InvalidOperation
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger

from ..shared.failures import PoisonRecordError, send_to_failure_queue
from ..shared.numbers import DYNAMODB_NUMBERS, dynamodb_number
from ..shared.windows import Window, handle_window_event

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

logger = Logger()


@cache
def dynamodb_client() -> DynamoDBClient:
    """Return the DynamoDB client, created on first use."""
    return boto3.client("dynamodb")


@cache
def sqs_client() -> SQSClient:
    """Return the SQS client, created on first use."""
    return boto3.client("sqs")


def record_value(record: Mapping[str, Any], attribute: str) -> Decimal | None:
    """The value a record adds, or None when the record does not count.

    Raises:
        PoisonRecordError: When a record that should count has no usable value.
    """
    if "dynamodb" in record:
        if record.get("eventName") != "INSERT":
            return None
        typed = (record["dynamodb"].get("NewImage") or {}).get(attribute)
        if not isinstance(typed, dict) or not isinstance(typed.get("N"), str):
            raise PoisonRecordError("MISSING_VALUE", f"NewImage has no number {attribute!r}")
        return _number(typed["N"], attribute)
    try:
        payload = json.loads(
            base64.b64decode(record["kinesis"]["data"], validate=True),
            parse_float=Decimal,
            parse_constant=_no_constant,
        )
    except (KeyError, TypeError, ValueError, binascii.Error) as error:
        raise PoisonRecordError("MALFORMED_RECORD", f"data is not base64 JSON: {error}") from error
    item = payload.get("Item", payload) if isinstance(payload, dict) else None
    value = item.get(attribute) if isinstance(item, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise PoisonRecordError("MISSING_VALUE", f"payload has no number {attribute!r}")
    return _number(str(value), attribute)


def _no_constant(name: str) -> Decimal:
    raise ValueError(f"{name} is not a JSON number")


def _number(text: str, attribute: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise PoisonRecordError("MISSING_VALUE", f"{attribute}={text!r} is not a number") from error
    if not value.is_finite():
        raise PoisonRecordError("MISSING_VALUE", f"{attribute}={text!r} is not finite")
    try:
        return dynamodb_number(value)
    except DecimalException as error:
        raise PoisonRecordError(
            "VALUE_OUT_OF_RANGE",
            f"{attribute}={text!r} does not fit a DynamoDB number (38 significant digits, "
            "magnitude 1E-130 to 9.99E+125)",
        ) from error


class WindowTotals:
    """Sums of one attribute per window: the state is ``{"total": "<decimal>", "count": n}``."""

    def __init__(self, attribute: str, source_name: str, table_name: str) -> None:
        self.attribute = attribute
        self.source_name = source_name
        self.table_name = table_name

    def initial(self) -> dict[str, Any]:
        """No records yet."""
        return {"total": "0", "count": 0}

    def add(self, state: dict[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
        """Add the record's value (exact decimal arithmetic; the state carries strings)."""
        value = record_value(record, self.attribute)
        if value is None:
            return state
        try:
            total = DYNAMODB_NUMBERS.add(Decimal(state["total"]), value)
        except DecimalException as error:
            raise PoisonRecordError(
                "TOTAL_OUT_OF_RANGE",
                f"adding {self.attribute}={value} to the window's total {state['total']} "
                "leaves DynamoDB's number range (38 significant digits)",
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
