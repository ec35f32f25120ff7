"""Who is typing in the survivor chat, behind API Gateway (REST, Lambda proxy integration).

Routes (every one identifies the caller first, see :mod:`..identity`):
    ``PUT /typing`` body ``{"channel"?}`` (a missing or empty body is ``{}``): the caller
    is typing in the channel (default ``general``) for the next ``TYPING_SECONDS``.
    204, no body.
    ``GET /typing?channel=``: 200 ``{"typing": [{"author": <display name>, "authorId":
    <user id>}, ...]}``, the users typing in the channel now, the caller left out, sorted
    by name (case-insensitively, then by id), at most 50.

Limits: ``channel`` matches ``^[a-z0-9][a-z0-9-]{0,31}$``; the body is a JSON object of at
most 16 KiB without other fields. A GET reads at most 10 query pages (1 MB each) of a
channel's entries.

Errors are JSON ``{"statusCode": <status>, "message": "<reason>"}``, naming the field: 400
a malformed body, an unknown field, an invalid ``channel`` or ``X-Chat-Name``; 401 no
caller identity; 404 an unknown route; 405 another method on ``/typing`` (with
``Allow``); 413 a body over 16 KiB. No client input answers 5XX.

Table (``ACTIVITY_TABLE_NAME``, string keys ``pk`` and ``sk``, time to live attribute
``expiresAt``): one item per user and channel, ``pk`` = ``channel#<channel>``, ``sk`` =
``user#<userId>``, with ``authorId``, ``displayName``, ``typingUntil`` (epoch
milliseconds) and ``expiresAt`` (epoch seconds, ``typingUntil`` + 60 s). Time to live
deletes expired items lazily (up to days late), so a GET filters on ``typingUntil``.

Environment:
    ACTIVITY_TABLE_NAME: The activity table.
    TYPING_SECONDS: How long one ``PUT /typing`` counts, 1-300 seconds; default 5.
    CHAT_AUTH: How callers are identified (see :mod:`..identity`).
"""

from __future__ import annotations

import os
import time
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from ..identity import caller
from ..messages.handler import DEFAULT_CHANNEL, channel_name, error_response, request_object

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger()
app = APIGatewayRestResolver()

DEFAULT_TYPING_SECONDS = 5
MAX_TYPING_SECONDS = 300
#: How long an entry outlives its ``typingUntil`` before time to live may delete it.
EXPIRY_GRACE_SECONDS = 60
MAX_TYPING = 50
MAX_QUERY_PAGES = 10
_ALLOWED_FIELDS = ("channel",)


@cache
def dynamodb_client() -> DynamoDBClient:
    """Return the DynamoDB client, created on first use."""
    return boto3.client("dynamodb")


def now_millis() -> int:
    """Return the current time in epoch milliseconds; tests replace it."""
    return time.time_ns() // 1_000_000


def typing_seconds() -> int:
    """Return ``TYPING_SECONDS`` (default 5); ValueError unless an integer in 1-300."""
    text = os.environ.get("TYPING_SECONDS", str(DEFAULT_TYPING_SECONDS))
    if not (text.isascii() and text.isdecimal() and 1 <= int(text) <= MAX_TYPING_SECONDS):
        raise ValueError(f"TYPING_SECONDS={text[:32]!r} is not an integer in 1-300")
    return int(text)


@app.put("/typing")
def put_typing() -> Response[Any]:
    """Mark the caller as typing in a channel."""
    who = caller(app.current_event.raw_event)
    body = request_object(app.current_event.raw_event, _ALLOWED_FIELDS, empty_is_object=True)
    channel = channel_name(body.get("channel", DEFAULT_CHANNEL))
    typing_until = now_millis() + typing_seconds() * 1000
    dynamodb_client().put_item(
        TableName=os.environ["ACTIVITY_TABLE_NAME"],
        Item={
            "pk": {"S": f"channel#{channel}"},
            "sk": {"S": f"user#{who.user_id}"},
            "authorId": {"S": who.user_id},
            "displayName": {"S": who.display_name},
            "typingUntil": {"N": str(typing_until)},
            "expiresAt": {"N": str(typing_until // 1000 + EXPIRY_GRACE_SECONDS)},
        },
    )
    logger.debug("typing", extra={"author_id": who.user_id, "channel": channel})
    return Response(status_code=204, body="")


@app.get("/typing")
def get_typing() -> dict[str, Any]:
    """The users typing in a channel now, the caller left out."""
    who = caller(app.current_event.raw_event)
    channel = channel_name(app.current_event.get_query_string_value("channel", DEFAULT_CHANNEL))
    request: dict[str, Any] = {
        "TableName": os.environ["ACTIVITY_TABLE_NAME"],
        "KeyConditionExpression": "pk = :pk",
        "FilterExpression": "typingUntil > :now AND sk <> :me",
        "ProjectionExpression": "sk, authorId, displayName",
        "ExpressionAttributeValues": {
            ":pk": {"S": f"channel#{channel}"},
            ":now": {"N": str(now_millis())},
            ":me": {"S": f"user#{who.user_id}"},
        },
    }
    typing: list[dict[str, str]] = []
    for _ in range(MAX_QUERY_PAGES):
        page = dynamodb_client().query(**request)
        for item in page.get("Items", []):
            author_id = item["sk"]["S"].removeprefix("user#")
            typing.append({"author": item["displayName"]["S"], "authorId": author_id})
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    typing.sort(key=lambda entry: (entry["author"].casefold(), entry["author"], entry["authorId"]))
    return {"typing": typing[:MAX_TYPING]}


@app.route("/typing", method=["POST", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def other_methods() -> Response[Any]:
    """Methods ``/typing`` does not take."""
    method = app.current_event.http_method
    return error_response(
        405, f"{method} is not allowed on /typing: use GET or PUT", {"Allow": "GET, PUT"}
    )


@app.not_found
def unknown_route(_: Exception) -> Response[Any]:
    """Routes this API does not have."""
    event = app.current_event
    return error_response(
        404, f"no route {event.http_method} {event.path[:100]}: the routes are GET and PUT /typing"
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route one API Gateway request."""
    return app.resolve(event, context)
