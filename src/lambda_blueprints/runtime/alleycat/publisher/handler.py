"""Publish each race's leaderboard to an IoT topic when its standings change.

Triggered by the races table's stream (filtered to standings items). For each race changed
in the batch, all its standings pages (of every shard, see :mod:`..standings.handler`)
are read back and merged by maximum, and the top racers are published once to
``<LEADERBOARD_TOPIC_PREFIX>/<raceId>/leaderboard`` (QoS 1), the topic the Alleycat
frontend subscribes to::

    {"raceId": 1700000000, "classId": 3, "updatedAt": "2026-11-23T10:00:15Z",
     "racers": 1000, "leaders": [{"rank": 1, "racerId": 17, "name": "...", "total": 5321.4,
     "second": 42}, ...]}

Environment:
    RESULTS_TABLE_NAME: The races table.
    LEADERBOARD_TOPIC_PREFIX: Topic prefix. Defaults to ``alleycat/races``.
    LEADERBOARD_SIZE: Racers published per update, 1-1000. Defaults to 10.
    IOT_DATA_ENDPOINT: Optional ``https://`` endpoint of the account's IoT data plane;
        the SDK's regional endpoint otherwise.

A race whose publish fails reports all of its records in ``batchItemFailures``: Lambda
retries from the earliest, and a later publish carries the newest standings anyway.

The IoT message broker refuses payloads over 128 KB: a leaderboard that would be larger
(many leaders with long names) is published with as many leaders as fit, rather than
failing the same way on every retry.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger

from ..race import Standings, decode_standings, merge_standings, ranked

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger()

#: IoT Core's message payload limit, 128 KB, counted in thousands to stay clear of it.
MAX_PAYLOAD_BYTES = 128_000


@cache
def dynamodb_client() -> DynamoDBClient:
    """Return the DynamoDB client, created on first use."""
    return boto3.client("dynamodb")


@cache
def iot_data_client() -> Any:
    """Return the IoT data plane client, created on first use."""
    endpoint = os.environ.get("IOT_DATA_ENDPOINT") or None
    return boto3.client("iot-data", endpoint_url=endpoint)


def race_standings(table_name: str, race_id: int) -> tuple[Standings, int, str]:
    """All standings pages of a race merged: (standings, class id, latest update).

    A racer on more than one page (each shard keeps its own pages) counts once, with the
    best total of all of them.
    """
    merged: Standings = {}
    class_id, updated = 0, ""
    paginator = dynamodb_client().get_paginator("query")
    for page in paginator.paginate(
        TableName=table_name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": {"S": f"race#{race_id}"}, ":prefix": {"S": "standings#"}},
        ConsistentRead=True,
    ):
        for item in page["Items"]:
            merge_standings(merged, decode_standings(item["standings"]["B"]))
            class_id = int(item["classId"]["N"])
            updated = max(updated, item.get("updatedAt", {}).get("S", ""))
    return merged, class_id, updated


def leaderboard_message(race_id: int, table_name: str, size: int) -> dict[str, Any]:
    """The message published for a race."""
    standings, class_id, updated = race_standings(table_name, race_id)
    return {
        "raceId": race_id,
        "classId": class_id,
        "updatedAt": updated,
        "racers": len(standings),
        "leaders": [standing.as_json() for standing in ranked(standings, size)],
    }


def encode_leaderboard(message: dict[str, Any]) -> bytes:
    """The payload of ``message``, its ``leaders`` cut to what IoT Core accepts."""
    leaders = message["leaders"]
    payload = _encode({**message, "leaders": leaders})
    if len(payload) <= MAX_PAYLOAD_BYTES:
        return payload
    fits, too_many = 0, len(leaders)  # the most leaders that fit lie in [fits, too_many)
    while too_many - fits > 1:
        middle = (fits + too_many) // 2
        if len(_encode({**message, "leaders": leaders[:middle]})) <= MAX_PAYLOAD_BYTES:
            fits = middle
        else:
            too_many = middle
    logger.warning(
        "leaderboard cut to fit IoT Core's payload limit",
        extra={"raceId": message["raceId"], "leaders": fits, "wanted": len(leaders)},
    )
    return _encode({**message, "leaders": leaders[:fits]})


def _encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _race_of(record: Mapping[str, Any]) -> int | None:
    keys = record.get("dynamodb", {}).get("Keys", {})
    pk, sk = keys.get("pk", {}).get("S", ""), keys.get("sk", {}).get("S", "")
    if not pk.startswith("race#") or not sk.startswith("standings#"):
        return None
    try:
        return int(pk.removeprefix("race#"))
    except ValueError:
        return None


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Publish the leaderboard of every race changed in the batch."""
    table_name = os.environ["RESULTS_TABLE_NAME"]
    prefix = os.environ.get("LEADERBOARD_TOPIC_PREFIX", "alleycat/races").rstrip("/")
    size = min(max(int(os.environ.get("LEADERBOARD_SIZE", "10")), 1), 1000)
    records_by_race: dict[int, list[str]] = {}
    for record in event.get("Records", []):
        race_id = _race_of(record)
        if race_id is not None and record.get("eventName") != "REMOVE":
            records_by_race.setdefault(race_id, []).append(record["dynamodb"]["SequenceNumber"])
    failures: list[dict[str, str]] = []
    for race_id, sequence_numbers in records_by_race.items():
        try:
            message = leaderboard_message(race_id, table_name, size)
            iot_data_client().publish(
                topic=f"{prefix}/{race_id}/leaderboard",
                qos=1,
                payload=encode_leaderboard(message),
            )
        except Exception:
            logger.exception("leaderboard not published", extra={"raceId": race_id})
            failures.extend({"itemIdentifier": number} for number in sequence_numbers)
    return {"batchItemFailures": failures}
