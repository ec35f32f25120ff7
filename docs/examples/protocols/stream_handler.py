"""Save each order of a Kinesis stream to a table; park the records no retry can fix.

Environment:
    ORDERS_TABLE_NAME: The table of orders (string partition key ``orderId``).
    FAILURE_QUEUE_URL: The failure queue; a StreamTrigger sets it for its function.
"""

from __future__ import annotations

import base64
import json
import os
from decimal import Decimal
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from lambda_blueprints.runtime.shared.failures import (
    PoisonRecordError,
    as_poison,
    send_to_failure_queue,
)

logger = Logger()


@cache
def orders_table() -> Any:
    return boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE_NAME"])


@cache
def sqs_client() -> Any:
    return boto3.client("sqs")


def save_order(record: dict[str, Any]) -> None:
    """Write the order a Kinesis record holds (a JSON object with an ``orderId``).

    Every error a retry cannot fix is one ``as_poison`` recognises: invalid base64 or JSON
    (``ValueError``), JSON nested too deep (``RecursionError``), a number DynamoDB cannot
    hold (``decimal.Inexact``), an item DynamoDB refuses (``ValidationException``), or
    the ``PoisonRecordError`` raised here.
    """
    data = base64.b64decode(record["kinesis"]["data"], validate=True)
    order = json.loads(data, parse_float=Decimal)
    if not isinstance(order, dict) or not isinstance(order.get("orderId"), str):
        raise PoisonRecordError("MISSING_ORDER_ID", "the record holds no orderId string")
    orders_table().put_item(Item=order)


def handle(record: dict[str, Any], context: Any) -> bool:
    """Save or park one record; False when it must be retried."""
    try:
        save_order(record)
    except Exception as error:
        poison = as_poison(error)
        if poison is None:
            logger.warning("record failed; Lambda retries it", extra={"error": repr(error)})
            return False
        try:
            send_to_failure_queue(
                sqs_client(),
                record,
                poison,
                function_name=context.function_name,
                request_id=context.aws_request_id,
            )
        except Exception:
            logger.exception("could not park the record; Lambda retries it")
            return False
        logger.warning("record parked", extra={"reason": poison.reason})
    return True


def main(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Handle one batch; name the first record that must be retried."""
    for record in event["Records"]:
        if not handle(record, context):
            # Lambda keeps every record before this one and retries from this one: the
            # records after it come again, so processing them now would only repeat work.
            sequence_number = record["kinesis"]["sequenceNumber"]
            return {"batchItemFailures": [{"itemIdentifier": sequence_number}]}
    return {"batchItemFailures": []}
