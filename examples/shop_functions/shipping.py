"""Order events -> shipments: a paid order gets one shipment (enhanced fan-out consumer).

Environment:
    SHIPMENTS_TABLE_NAME: Table of shipments (partition key ``orderId``).
    FAILURE_QUEUE_URL: Set by the stream trigger; unreadable events go there.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from shop_events import parse_event

from lambda_blueprints.runtime.shared.failures import as_poison, send_to_failure_queue

logger = Logger()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Create the shipment of each paid order once, however often its event arrives."""
    table = boto3.resource("dynamodb").Table(os.environ["SHIPMENTS_TABLE_NAME"])
    for record in event["Records"]:
        sequence_number = record["kinesis"]["sequenceNumber"]
        try:
            order_event = parse_event(base64.b64decode(record["kinesis"]["data"]))
            if order_event["status"] != "PAID":
                continue
            table.put_item(
                Item={
                    "orderId": order_event["orderId"],
                    "eventId": order_event["eventId"],
                    "status": "READY_TO_SHIP",
                },
                ConditionExpression="attribute_not_exists(orderId)",
            )
        except Exception as error:
            if _already_shipped(error):
                continue  # the event was delivered again
            poison = as_poison(error)
            if poison is None:
                logger.exception("shipment not written; the batch is retried from here")
                return {"batchItemFailures": [{"itemIdentifier": sequence_number}]}
            send_to_failure_queue(
                boto3.client("sqs"),
                record,
                poison,
                function_name=context.function_name,
                request_id=context.aws_request_id,
            )
    return {"batchItemFailures": []}


def _already_shipped(error: Exception) -> bool:
    return (
        isinstance(error, ClientError)
        and error.response["Error"]["Code"] == "ConditionalCheckFailedException"
    )
