"""Live race standings from the bike stream, aggregated over tumbling windows.

A Kinesis consumer with a tumbling window: within a window the state keeps, per race, each
racer's best total (see :mod:`..race`); at the end of the window each race's standings are
merged into the races table, one item per race and shard. Without a window configured
(``event`` has no ``window``) every invocation writes at once, as the Alleycat sample does;
the benchmark compares the two.

Environment:
    RESULTS_TABLE_NAME: The races table (string keys ``pk`` and ``sk``).
    FAILURE_QUEUE_URL: Where invalid messages go, whole, with the reason.

Items: ``pk`` = ``race#<raceId>``, ``sk`` = ``standings#<shardId>``, with ``raceId``,
``classId``, ``standings`` (binary: gzip of the compact UTF-8 JSON
``{racerId: [second, total, name]}``, see :func:`..race.encode_standings`), ``racers``,
``updatedAt`` (the window end) and ``version``. A write reads the item, merges by maximum
and writes it back only if nobody wrote in between (the version), so replays, retries and
duplicates leave the same item: the merge is idempotent.

Size: a DynamoDB item holds 400 KB. Compressed, a race's standings take about 12 bytes per
racer with names like ``Rider 123`` and up to about 160 bytes with 64-character CJK names:
roughly 30,000 and 2,400 racers per race. Standings that would not fit, or an item
DynamoDB refuses, are parked in the failure queue (with the window, shard and first
sequence number) instead of being retried forever: Lambda holds a shard until its
window's final invocation succeeds.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from ...shared.failures import PoisonRecordError, send_to_failure_queue
from ...shared.windows import Window, emit_part, fold, handle_window_event, sequence_number
from ..race import (
    Standings,
    add_to_standings,
    decode_standings,
    encode_standings,
    kinesis_message,
    merge_standings,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

logger = Logger()

#: Conditional write attempts before the invocation fails and Lambda retries it.
MAX_WRITE_ATTEMPTS = 5
#: Largest compressed standings written: DynamoDB's 400 KB item less room for the keys
#: and the other attributes.
MAX_STANDINGS_BYTES = 390 * 1024


@cache
def dynamodb_client() -> DynamoDBClient:
    """Return the DynamoDB client, created on first use."""
    return boto3.client("dynamodb")


@cache
def sqs_client() -> SQSClient:
    """Return the SQS client, created on first use."""
    return boto3.client("sqs")


class RaceStandings:
    """Window state: ``{raceId: {"classId": n, "standings": {...}}}``."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        #: Items written by this invocation (the benchmark counts them).
        self.writes = 0

    def initial(self) -> dict[str, Any]:
        """No race seen yet."""
        return {}

    def add(self, state: dict[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
        """Keep the message if it is its racer's best so far."""
        message = kinesis_message(record)
        race = state.setdefault(
            str(message.race_id), {"classId": message.class_id, "standings": {}}
        )
        add_to_standings(race["standings"], message)
        return state

    def emit(self, state: dict[str, Any], window: Window) -> None:
        """Merge each race's standings into its item for this shard.

        Raises:
            PoisonRecordError: Once every other race is written, when a race's standings
                can never be stored.
        """
        refused = []
        for race_id, race in state.items():
            try:
                self._merge(int(race_id), int(race["classId"]), race["standings"], window)
            except PoisonRecordError as error:
                refused.append(error)
        if refused:
            raise PoisonRecordError(refused[0].reason, "; ".join(e.detail for e in refused))

    def _merge(self, race_id: int, class_id: int, standings: Standings, window: Window) -> None:
        client = dynamodb_client()
        key = {"pk": {"S": f"race#{race_id}"}, "sk": {"S": f"standings#{window.shard_id}"}}
        for _ in range(MAX_WRITE_ATTEMPTS):
            item = client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get(
                "Item"
            )
            merged: Standings = decode_standings(item["standings"]["B"]) if item else {}
            if item is not None and not merge_standings(merged, standings):
                return  # a replay: everything in this window is already in the item
            if item is None:
                merge_standings(merged, standings)
            version = int(item["version"]["N"]) if item else 0
            encoded = encode_standings(merged)
            if len(encoded) > MAX_STANDINGS_BYTES:
                raise PoisonRecordError(
                    "STANDINGS_TOO_LARGE",
                    f"race {race_id}: the standings of {len(merged):,} racers take "
                    f"{len(encoded):,} bytes compressed; a DynamoDB item holds 400 KB",
                )
            try:
                client.put_item(
                    TableName=self.table_name,
                    Item={
                        **key,
                        "raceId": {"N": str(race_id)},
                        "classId": {"N": str(class_id)},
                        "standings": {"B": encoded},
                        "racers": {"N": str(len(merged))},
                        "updatedAt": {"S": window.end or window.start},
                        "version": {"N": str(version + 1)},
                    },
                    ConditionExpression="attribute_not_exists(pk) OR version = :version",
                    ExpressionAttributeValues={":version": {"N": str(version)}},
                )
            except ClientError as error:
                code = error.response["Error"]["Code"]
                if code == "ValidationException":
                    # No retry can make DynamoDB take this item.
                    raise PoisonRecordError("STANDINGS_REJECTED", str(error)) from error
                if code != "ConditionalCheckFailedException":
                    raise
                continue  # written in between: merge into the newer item
            self.writes += 1
            return
        raise RuntimeError(
            f"race {race_id}: standings kept changing during {MAX_WRITE_ATTEMPTS} writes"
        )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Handle one invocation of the standings consumer."""
    standings = RaceStandings(os.environ["RESULTS_TABLE_NAME"])

    def park(record: Mapping[str, Any], error: PoisonRecordError) -> None:
        send_to_failure_queue(
            sqs_client(),
            record,
            error,
            function_name=context.function_name,
            request_id=context.aws_request_id,
        )
        logger.warning("invalid race message parked", extra={"reason": error.reason})

    if "window" not in event:
        # No tumbling window: aggregate this batch and write it now. Records before a
        # failed one are written; Lambda retries from the failed one.
        envelope, failed = fold(event.get("Records") or [], standings, {}, on_poison=park)
        if envelope:
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            arn = str((event.get("Records") or [{}])[0].get("eventSourceARN", ""))
            window = Window(now, now, _shard(event), arn, "batch")
            emit_part(standings, envelope, window, on_poison=park)
        failures = [] if failed is None else [{"itemIdentifier": sequence_number(failed)}]
        return {"batchItemFailures": failures}
    return handle_window_event(event, standings, on_poison=park)


def _shard(event: Mapping[str, Any]) -> str:
    # Kinesis event ids are "<shardId>:<sequenceNumber>".
    records = event.get("Records") or [{}]
    return str(records[0].get("eventID", "shardId-000000000000:")).split(":", 1)[0]
