"""Paid revenue per currency over tumbling windows, with the library's window helper.

The helper (``lambda_blueprints.runtime.shared.windows``, from the library's runtime
layer) runs Lambda's tumbling-window protocol: this module is only a reducer and a writer.

Environment:
    RESULTS_TABLE_NAME: Set by the aggregator; one item per window part and shard.
    FAILURE_QUEUE_URL: Set by the stream trigger; unreadable events go there.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import boto3
from shop_events import amount_of, currency_of, parse_event

from lambda_blueprints.runtime.shared.failures import PoisonRecordError, send_to_failure_queue
from lambda_blueprints.runtime.shared.windows import Window, handle_window_event


class PaidRevenue:
    """State: ``{currency: total}``, totals as decimal strings (JSON carries them exactly)."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def initial(self) -> dict[str, str]:
        """No revenue yet."""
        return {}

    def add(self, state: dict[str, str], record: Mapping[str, Any]) -> dict[str, str]:
        """Add a paid order's amount to its currency (other events leave the state as is)."""
        order_event = parse_event(base64.b64decode(record["kinesis"]["data"]))
        if order_event["status"] != "PAID":
            return state
        currency = currency_of(order_event.get("currency"))
        amount = amount_of(order_event.get("amount"))
        total = Decimal(state.get(currency, "0")) + amount
        return {**state, currency: str(total)}

    def emit(self, state: dict[str, str], window: Window) -> None:
        """Write the window's totals; the same item again on a retry."""
        boto3.resource("dynamodb").Table(self.table_name).put_item(
            Item={
                "pk": f"revenue#{window.shard_id}",
                "sk": f"{window.start}#{window.part}",
                "windowStart": window.start,
                "windowEnd": window.end,
                "totals": {currency: Decimal(total) for currency, total in state.items()},
            }
        )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One tumbling-window invocation."""

    def park(record: Mapping[str, Any], error: PoisonRecordError) -> None:
        send_to_failure_queue(
            boto3.client("sqs"),
            record,
            error,
            function_name=context.function_name,
            request_id=context.aws_request_id,
        )

    return handle_window_event(event, PaidRevenue(os.environ["RESULTS_TABLE_NAME"]), on_poison=park)
