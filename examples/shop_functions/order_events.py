"""Orders table stream -> order events on Kinesis: one event per status change of an order.

Environment:
    EVENTS_STREAM_NAME: The Kinesis stream of order events.
    FAILURE_QUEUE_URL: Set by the stream trigger; records that can never become an event
        (no order id, an invalid amount) go there with their reason.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from boto3.dynamodb.types import TypeDeserializer
from shop_events import amount_of, currency_of, event_id

from lambda_blueprints.runtime.shared.failures import (
    PoisonRecordError,
    as_poison,
    send_to_failure_queue,
)

logger = Logger()
_deserialize = TypeDeserializer().deserialize


def to_event(record: dict[str, Any]) -> dict[str, Any] | None:
    """The order event of one stream record, or None when the status did not change."""
    change = record["dynamodb"]
    new = {k: _deserialize(v) for k, v in change.get("NewImage", {}).items()}
    old = {k: _deserialize(v) for k, v in change.get("OldImage", {}).items()}
    if record["eventName"] == "REMOVE" or new.get("status") == old.get("status"):
        return None
    if not isinstance(new.get("orderId"), str) or not isinstance(new.get("status"), str):
        raise PoisonRecordError("MALFORMED_RECORD", "the order has no string orderId and status")
    return {
        "eventId": event_id(
            float(change.get("ApproximateCreationDateTime", 0)), change["SequenceNumber"]
        ),
        "orderId": new["orderId"],
        "status": new["status"],
        "amount": str(amount_of(new.get("amount"))),
        "currency": currency_of(new.get("currency")),
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Put the events of a batch in order; stop at the first record that may succeed later."""
    kinesis = boto3.client("kinesis")
    for record in event["Records"]:
        sequence_number = record["dynamodb"]["SequenceNumber"]
        try:
            order_event = to_event(record)
            if order_event is not None:
                kinesis.put_record(
                    StreamName=os.environ["EVENTS_STREAM_NAME"],
                    PartitionKey=order_event["orderId"],
                    Data=json.dumps(order_event).encode(),
                )
        except Exception as error:
            poison = as_poison(error)
            if poison is None:
                logger.exception("order event not put; the batch is retried from here")
                return {"batchItemFailures": [{"itemIdentifier": sequence_number}]}
            send_to_failure_queue(
                boto3.client("sqs"),
                record,
                poison,
                function_name=context.function_name,
                request_id=context.aws_request_id,
            )
    return {"batchItemFailures": []}
