"""Live race standings from the bike stream, aggregated over tumbling windows.

A Kinesis consumer with a tumbling window: within a window the state keeps, per race, each
racer's best total (see :mod:`..race`); at the end of the window each race's standings are
merged into the races table, in pages of at most :data:`~..race.PAGE_RACERS` racers per
race and shard. Without a window configured (``event`` has no ``window``) every invocation
writes at once, as the Alleycat sample does; the benchmark compares the two.

Environment:
    RESULTS_TABLE_NAME: The races table (string keys ``pk`` and ``sk``).
    FAILURE_QUEUE_URL: Where invalid messages go, whole, with the reason.

Items: ``pk`` = ``race#<raceId>``, ``sk`` = ``standings#<shardId>#<page>`` (the page number
zero-padded to five digits), with ``raceId``, ``classId``, ``page``, ``standings``
(binary: gzip of the compact UTF-8 JSON ``{racerId: [second, total, name]}``, see
:func:`..race.encode_standings`), ``racers``, ``updatedAt`` (the window end) and
``version``. Readers (the publisher, the API) query every ``standings#`` item of a race
and merge them by maximum, so a racer on two pages (two shards, or two writers that both
placed a new racer) counts once with its best total, and an item of the one-item-per-shard
layout of earlier versions (``standings#<shardId>``) is still read.

Writes: a window reads its race's pages for the shard (one consistent query), merges each
racer into the page that has it and each new racer into the first page with room (see
:func:`..race.place_in_pages`), and writes only the pages that changed, each only if nobody
wrote it in between (its ``version``; a conflict reads the pages again). A race of 1,000
racers takes one page per shard, so a window costs one write per race and shard.
Replays, retries and duplicates find every racer where it was placed and write nothing:
the merge is idempotent.

Size: a page holds at most 1,000 racers, and 1,000 of the largest entries a valid message
can make (64-character names of 4-byte characters, 45-character totals) take under 390 KB even
uncompressed, so no number of racers, however many a flood of fake racers adds, can make
a race's standings too large to store: the honest racers' pages are written every window.
A page DynamoDB still refuses is parked in the failure queue (with the window, shard and
first sequence number) and the race's other pages are written: Lambda holds a shard until
its window's final invocation succeeds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from ...shared.failures import PoisonRecordError, as_poison, send_to_failure_queue
from ...shared.windows import Window, emit_part, fold, handle_window_event, sequence_number
from ..race import (
    MAX_STANDINGS_BYTES,
    Standings,
    add_to_standings,
    decode_standings,
    encode_standings,
    kinesis_message,
    place_in_pages,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

logger = Logger()

#: Attempts to write a race's pages before the invocation fails and Lambda retries it.
MAX_WRITE_ATTEMPTS = 5


@cache
def dynamodb_client() -> DynamoDBClient:
    """Return the DynamoDB client, created on first use."""
    return boto3.client("dynamodb")


@cache
def sqs_client() -> SQSClient:
    """Return the SQS client, created on first use."""
    return boto3.client("sqs")


@dataclass
class _Page:
    number: int
    version: int
    standings: Standings


class _ConflictError(Exception):
    """Another writer changed a page between the read and the write."""


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
        """Merge each race's standings into its pages for this shard.

        Raises:
            PoisonRecordError: Once every other page is written, when a page can never be
                stored.
        """
        refused: list[PoisonRecordError] = []
        for race_id, race in state.items():
            refused += self._merge(int(race_id), int(race["classId"]), race["standings"], window)
        if refused:
            raise PoisonRecordError(refused[0].reason, "; ".join(e.detail for e in refused))

    def _merge(
        self, race_id: int, class_id: int, standings: Standings, window: Window
    ) -> list[PoisonRecordError]:
        """Write the pages ``standings`` change; return the pages DynamoDB refused."""
        for _ in range(MAX_WRITE_ATTEMPTS):
            stored = self._pages(race_id, window.shard_id)
            pages = [page.standings for page in stored]
            changed = place_in_pages(pages, standings)
            refused: list[PoisonRecordError] = []
            try:
                for index in changed:
                    if index < len(stored):
                        number, version = stored[index].number, stored[index].version
                    else:  # a new page, numbered after the last stored one
                        number = (stored[-1].number + 1 if stored else 0) + index - len(stored)
                        version = 0
                    error = self._write(race_id, class_id, number, version, pages[index], window)
                    if error is not None:
                        refused.append(error)
            except _ConflictError:
                continue  # written in between: merge into the newer pages
            return refused
        raise RuntimeError(
            f"race {race_id}: standings kept changing during {MAX_WRITE_ATTEMPTS} writes"
        )

    def _pages(self, race_id: int, shard_id: str) -> list[_Page]:
        """The race's stored pages for the shard, in page order (one consistent query)."""
        pages: list[_Page] = []
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"race#{race_id}"},
                ":prefix": {"S": f"standings#{shard_id}#"},
            },
            "ConsistentRead": True,
        }
        while True:
            page = dynamodb_client().query(**request)
            pages += [
                _Page(
                    int(item["page"]["N"]),
                    int(item["version"]["N"]),
                    decode_standings(item["standings"]["B"]),
                )
                for item in page.get("Items", [])
            ]
            if "LastEvaluatedKey" not in page:
                return sorted(pages, key=lambda stored: stored.number)
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _write(
        self,
        race_id: int,
        class_id: int,
        number: int,
        version: int,
        standings: Standings,
        window: Window,
    ) -> PoisonRecordError | None:
        """Write one page unless another writer did since ``version``.

        Returns:
            The reason the page can never be stored, or None when it was written.

        Raises:
            _ConflictError: When the page changed since it was read.
        """
        encoded = encode_standings(standings)
        if len(encoded) > MAX_STANDINGS_BYTES:
            # Not for valid messages (see the module docstring): kept as a last guard.
            return PoisonRecordError(
                "STANDINGS_TOO_LARGE",
                f"race {race_id} page {number}: {len(standings):,} racers take "
                f"{len(encoded):,} bytes compressed; a DynamoDB item holds 400 KB",
            )
        key = {
            "pk": {"S": f"race#{race_id}"},
            "sk": {"S": f"standings#{window.shard_id}#{number:05d}"},
        }
        try:
            dynamodb_client().put_item(
                TableName=self.table_name,
                Item={
                    **key,
                    "raceId": {"N": str(race_id)},
                    "classId": {"N": str(class_id)},
                    "page": {"N": str(number)},
                    "standings": {"B": encoded},
                    "racers": {"N": str(len(standings))},
                    "updatedAt": {"S": window.end or window.start},
                    "version": {"N": str(version + 1)},
                },
                ConditionExpression="attribute_not_exists(pk) OR version = :version",
                ExpressionAttributeValues={":version": {"N": str(version)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise _ConflictError from error
            poison = as_poison(error)
            if poison is None:
                raise
            # No retry can make DynamoDB take this page; the race's other pages go on.
            return PoisonRecordError(
                "STANDINGS_REJECTED", f"race {race_id} page {number}: {poison.detail}"
            )
        self.writes += 1
        return None


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
