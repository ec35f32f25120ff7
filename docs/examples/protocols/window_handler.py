"""The fastest speed of each rider per tumbling window and shard, from a Kinesis stream.

Records hold JSON objects such as ``{"rider": "r-1", "speed": 41.5}``. Each window's
peaks are written to the results table as one item: ``pk`` is the shard, ``sk`` the
window start and the part (``final``, or ``early-<sequence number>``).

Environment:
    RESULTS_TABLE_NAME: The results table (string keys ``pk`` and ``sk``); a
        TumblingWindowAggregator sets it for its function.
    FAILURE_QUEUE_URL: The failure queue, for readings that can never count.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any

import boto3

from lambda_blueprints.runtime.shared.failures import PoisonRecordError, send_to_failure_queue
from lambda_blueprints.runtime.shared.numbers import dynamodb_number
from lambda_blueprints.runtime.shared.windows import Window, handle_window_event


@cache
def results_table() -> Any:
    return boto3.resource("dynamodb").Table(os.environ["RESULTS_TABLE_NAME"])


@cache
def sqs_client() -> Any:
    return boto3.client("sqs")


class PeakSpeeds:
    """An aggregation: its state is ``{"peaks": {"<rider>": "<speed>"}}``.

    Speeds are kept as decimal strings: the state travels as JSON between invocations,
    and a string keeps every digit.
    """

    def initial(self) -> dict[str, Any]:
        return {"peaks": {}}

    def add(self, state: dict[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
        # Invalid base64 or JSON raises ValueError: the reading is parked as MALFORMED_RECORD.
        data = base64.b64decode(record["kinesis"]["data"], validate=True)
        reading = json.loads(data, parse_float=Decimal)
        if not isinstance(reading, dict) or not isinstance(reading.get("rider"), str):
            raise PoisonRecordError("MISSING_RIDER", "the reading names no rider")
        speed = reading.get("speed")
        if isinstance(speed, bool) or not isinstance(speed, int | Decimal) or speed < 0:
            raise PoisonRecordError("INVALID_SPEED", f"speed={speed!r} is not a speed")
        # A number DynamoDB could not store raises decimal.Inexact: INVALID_NUMBER.
        speed = dynamodb_number(Decimal(speed))
        rider, peaks = reading["rider"], state["peaks"]
        if rider in peaks and Decimal(peaks[rider]) >= speed:
            return state
        # A new state: the one given is never changed, so a failure leaves it as it was.
        return {"peaks": {**peaks, rider: str(speed)}}

    def emit(self, state: dict[str, Any], window: Window) -> None:
        # The same key on every retry of this part, another key for every other part.
        results_table().put_item(
            Item={
                "pk": window.shard_id,
                "sk": f"{window.start}#{window.part}",
                "windowEnd": window.end,
                "peaks": {rider: Decimal(speed) for rider, speed in state["peaks"].items()},
            }
        )


def main(event: dict[str, Any], context: Any) -> dict[str, Any]:
    def park(record: Mapping[str, Any], error: PoisonRecordError) -> None:
        send_to_failure_queue(
            sqs_client(),
            record,
            error,
            function_name=context.function_name,
            request_id=context.aws_request_id,
        )

    return handle_window_event(event, PeakSpeeds(), on_poison=park)
