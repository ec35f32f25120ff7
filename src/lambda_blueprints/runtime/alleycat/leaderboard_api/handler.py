"""The leaderboard query API behind API Gateway (REST, Lambda proxy integration).

Routes:
    ``GET /races/{raceId}/standings?limit=``: the live standings of a race, all shards
    merged, best total first.
    ``GET /races/{raceId}/results?limit=&next=``: the final results of a race from the
    ``ByScore`` index, highest score first, a page at a time (``next`` is the opaque token
    of the previous page).

``limit`` is 1-1000 (default 100). Bad parameters answer 400 with the reason, and a race
without data 404; no input answers 5XX.

Page tokens: ``next`` is the URL-safe base64 of ``<rank offset>:<racer id>:<score>``, the
position of the previous page's last result. The API rebuilds the ``ByScore`` start key
from it (``pk`` = ``raceKey`` = ``race#<raceId>`` of the request, ``sk`` =
``racer#<racer id>``, ``score``) after checking every part: the offset an integer in
0-1,000,000,000, the racer id an integer in the range of racer ids, the score a decimal in
the range of totals with at most 38 significant digits, each written the one way this API
writes it. A token that fails any check answers 400 before any query. Tokens are not
secret and need not be: the one a client forges can only start a page of this race's
public results at another position (and number the ranks of that page from another
offset), never reach another race or make the query fail.

Environment:
    RESULTS_TABLE_NAME: The races table.
    RESULTS_INDEX_NAME: The index of final results by score. Defaults to ``ByScore``.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from decimal import Decimal, DecimalException
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from botocore.exceptions import ClientError

from ...shared.numbers import dynamodb_number
from ..publisher.handler import race_standings
from ..race import MAX_RACE_ID, MAX_RACER_ID, ranked

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger()
app = APIGatewayRestResolver()

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: The largest rank offset a token may carry: far more results than a race can have.
MAX_OFFSET = 10**9
#: The highest score (the validator's highest total).
MAX_SCORE = Decimal(10**9)
#: ``<offset>:<racer id>:<score>``, each a plain decimal without a sign or leading zeros
#: (a score may have up to 169 digits after the point: 38 digits at DynamoDB's 1E-130).
_TOKEN_TEXT = re.compile(
    r"(0|[1-9][0-9]{0,9}):(0|[1-9][0-9]{0,15}):((?:0|[1-9][0-9]{0,9})(?:\.[0-9]{1,169})?)"
)
#: Longer than any token this API returns (the text above, in base64).
_MAX_TOKEN_CHARS = 400
_NOT_OURS = "next is not a token this API returned for this race"


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
    """The start key and rank offset in a ``next`` token; 400 unless every part is valid."""
    if len(token) > _MAX_TOKEN_CHARS:
        raise BadRequestError(_NOT_OURS)
    try:
        text = base64.b64decode(token, altchars=b"-_", validate=True).decode("ascii")
    except (ValueError, binascii.Error) as error:  # UnicodeDecodeError is a ValueError
        raise BadRequestError(_NOT_OURS) from error
    match = _TOKEN_TEXT.fullmatch(text)
    if match is None:
        raise BadRequestError(_NOT_OURS)
    offset, racer = int(match[1]), int(match[2])
    try:
        score = dynamodb_number(Decimal(match[3]))
    except DecimalException as error:  # over 38 significant digits
        raise BadRequestError(_NOT_OURS) from error
    if offset > MAX_OFFSET or racer > MAX_RACER_ID or score > MAX_SCORE:
        raise BadRequestError(_NOT_OURS)
    race_key = {"S": f"race#{race}"}
    key = {
        "pk": race_key,
        "sk": {"S": f"racer#{racer}"},
        "raceKey": race_key,
        "score": {"N": match[3]},
    }
    return key, offset


def _next_token(last_key: dict[str, Any], offset: int) -> str:
    """The token of the page after the one that ended at ``last_key``."""
    racer = int(last_key["sk"]["S"].removeprefix("racer#"))
    # Plain notation: DynamoDB may return a number in the form it was written (1E+2).
    score = format(Decimal(last_key["score"]["N"]), "f")
    return base64.urlsafe_b64encode(f"{offset}:{racer}:{score}".encode()).decode("ascii")


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
        raise BadRequestError(_NOT_OURS) from error
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
        body["next"] = _next_token(page["LastEvaluatedKey"], offset + len(items))
    return body


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route one API Gateway request."""
    return app.resolve(event, context)
