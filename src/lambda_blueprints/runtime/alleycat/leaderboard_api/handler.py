"""The leaderboard query API behind API Gateway (REST, Lambda proxy integration).

Routes:
    ``GET /races/{raceId}/standings?limit=``: the live standings of a race, all shards
    merged, best total first.
    ``GET /races/{raceId}/results?limit=&next=``: the final results of a race from the
    ``ByScore`` index, highest score first, a page at a time (``next`` is the opaque token
    of the previous page).

``limit`` is 1-1000 (default 100). Bad parameters answer 400 with the reason; a race
without data answers 404.

Environment:
    RESULTS_TABLE_NAME: The races table.
    RESULTS_INDEX_NAME: The index of final results by score. Defaults to ``ByScore``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError

from ..publisher.handler import race_standings
from ..race import ranked

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger()
app = APIGatewayRestResolver()

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@cache
def dynamodb_client() -> DynamoDBClient:
    """Return the DynamoDB client, created on first use."""
    return boto3.client("dynamodb")


def _race_id(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 2**53:
        raise BadRequestError(f"raceId={text!r} is not a positive integer")
    return int(text)


def _limit() -> int:
    text = app.current_event.get_query_string_value("limit", str(DEFAULT_LIMIT)) or ""
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise BadRequestError(f"limit={text!r} is not an integer in 1-{MAX_LIMIT}")
    return int(text)


@app.get("/races/<race_id>/standings")
def standings(race_id: str) -> dict[str, Any]:
    """Live standings of a race."""
    race = _race_id(race_id)
    limit = _limit()
    merged, class_id, updated = race_standings(os.environ["RESULTS_TABLE_NAME"], race)
    if not merged:
        raise NotFoundError(f"race {race} has no standings")
    return {
        "raceId": race,
        "classId": class_id,
        "updatedAt": updated,
        "racers": len(merged),
        "standings": [standing.as_json() for standing in ranked(merged, limit)],
    }


@app.get("/races/<race_id>/results")
def results(race_id: str) -> dict[str, Any]:
    """Final results of a race, a page at a time."""
    race = _race_id(race_id)
    limit = _limit()
    request: dict[str, Any] = {
        "TableName": os.environ["RESULTS_TABLE_NAME"],
        "IndexName": os.environ.get("RESULTS_INDEX_NAME", "ByScore"),
        "KeyConditionExpression": "raceKey = :race",
        "ExpressionAttributeValues": {":race": {"S": f"race#{race}"}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    token = app.current_event.get_query_string_value("next")
    offset = 0
    if token:
        try:
            start = json.loads(base64.urlsafe_b64decode(token.encode()))
            request["ExclusiveStartKey"] = start["key"]
            offset = int(start["offset"])
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            raise BadRequestError("next is not a token this API returned") from error
    page = dynamodb_client().query(**request)
    items = page.get("Items", [])
    if not items and not token:
        raise NotFoundError(f"race {race} has no final results")
    body: dict[str, Any] = {
        "raceId": race,
        "results": [
            {
                "rank": offset + index,
                "racerId": int(item["racerId"]["N"]),
                "name": item.get("name", {}).get("S", ""),
                "total": float(item["score"]["N"]),
                "classId": int(item["classId"]["N"]),
            }
            for index, item in enumerate(items, start=1)
        ],
    }
    if "LastEvaluatedKey" in page:
        cursor = {"key": page["LastEvaluatedKey"], "offset": offset + len(items)}
        body["next"] = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()
    return body


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route one API Gateway request."""
    return app.resolve(event, context)
