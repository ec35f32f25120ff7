"""The leaderboard query API behind API Gateway (REST, Lambda proxy integration).

Routes:
    ``GET /races/{raceId}/standings?limit=``: the live standings of a race, all shards
    merged, best total first.
    ``GET /races/{raceId}/results?limit=&next=``: the final results of a race from the
    ``ByScore`` index, highest score first, a page at a time (``next`` is the opaque token
    of the previous page).

``limit`` is 1-1000 (default 100). Bad parameters, including a ``next`` token that is not
one this API returned for the same race, answer 400 with the reason; a race without data
answers 404.

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
from botocore.exceptions import ClientError

from ..publisher.handler import race_standings
from ..race import MAX_RACE_ID, ranked

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger()
app = APIGatewayRestResolver()

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: The attributes of a ``ByScore`` page's last key: the table's keys and the index's.
_PAGE_KEY = {"pk": "S", "sk": "S", "raceKey": "S", "score": "N"}
#: Longer than any token this API returns (keys of at most a few hundred bytes).
_MAX_TOKEN_CHARS = 2048


@cache
def dynamodb_client() -> DynamoDBClient:
    """Return the DynamoDB client, created on first use."""
    return boto3.client("dynamodb")


def _whole_number(text: str, low: int, high: int) -> int | None:
    # isdecimal alone takes other scripts' digits; 16 digits bound int()'s work.
    if not (text.isascii() and text.isdecimal() and len(text) <= 16):
        return None
    value = int(text)
    return value if low <= value <= high else None


def _race_id(text: str) -> int:
    race = _whole_number(text, 1, MAX_RACE_ID)
    if race is None:
        raise BadRequestError(f"raceId={text[:32]!r} is not an integer in 1-{MAX_RACE_ID}")
    return race


def _limit() -> int:
    text = app.current_event.get_query_string_value("limit", str(DEFAULT_LIMIT)) or ""
    limit = _whole_number(text, 1, MAX_LIMIT)
    if limit is None:
        raise BadRequestError(f"limit={text[:32]!r} is not an integer in 1-{MAX_LIMIT}")
    return limit


def _page_start(token: str, race: int) -> tuple[dict[str, Any], int]:
    """The start key and rank offset in a ``next`` token; 400 unless it is one of ours."""
    if len(token) > _MAX_TOKEN_CHARS:
        raise BadRequestError("next is not a token this API returned")
    try:
        cursor = json.loads(base64.urlsafe_b64decode(token.encode()))
        key, offset = cursor["key"], cursor["offset"]
    except (ValueError, KeyError, TypeError, RecursionError, binascii.Error) as error:
        raise BadRequestError("next is not a token this API returned") from error
    valid = (
        isinstance(offset, int)
        and not isinstance(offset, bool)
        and offset >= 0
        and isinstance(key, dict)
        and set(key) == set(_PAGE_KEY)
        and all(
            isinstance(key[name], dict)
            and set(key[name]) == {kind}
            and isinstance(key[name][kind], str)
            for name, kind in _PAGE_KEY.items()
        )
        and key["pk"]["S"] == key["raceKey"]["S"] == f"race#{race}"
    )
    if not valid:
        raise BadRequestError("next is not a token this API returned for this race")
    return key, offset


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
        request["ExclusiveStartKey"], offset = _page_start(token, race)
    try:
        page = dynamodb_client().query(**request)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ValidationException" or not token:
            raise
        # Only the start key comes from the client: DynamoDB refused it.
        raise BadRequestError("next is not a token this API returned for this race") from error
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
