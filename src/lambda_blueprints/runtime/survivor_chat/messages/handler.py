"""The survivor chat's messages API behind API Gateway (REST, Lambda proxy integration).

Routes (every one identifies the caller first, see :mod:`..identity`):
    ``GET /messages?channel=&limit=&next=``: a channel's messages, newest first, a page at a
    time. 200 ``{"messages": [<message>, ...], "next": <token> | null}``; ``next`` is null
    on the last page (a page may end exactly at the last message: the next page is then
    empty, with ``next`` null).
    ``POST /messages`` body ``{"channel"?, "text", "clientMessageId"}``: post a message.
    201 with the stored message; 200 with the message first stored when the caller posted
    the same ``clientMessageId`` within the last 24 hours (whatever the repeat's channel
    and text).

A message is ``{"id", "channel", "author", "authorId", "text", "sentAt", "source",
"anonymous"}``: ``sentAt`` is ISO 8601 UTC with milliseconds (``2026-01-01T12:00:00.000Z``),
``source`` is ``web`` (this API), ``sms`` or ``alert``, ``anonymous`` a boolean. ``id`` is
a ULID: 26 characters of Crockford's base32, the 48-bit millisecond time of ``sentAt``
followed by 80 random bits, so ids sort by time.

Limits:
    ``channel``: ``^[a-z0-9][a-z0-9-]{0,31}$``; default ``general``.
    ``limit``: an integer 1-100 (ASCII digits); default 50.
    ``text``: a string of 1-1000 characters once stripped of surrounding whitespace, and
    at most 4,000 UTF-8 bytes (which 1,000 characters never exceed: the bound stands on
    its own should the character limit change); it is stored stripped.
    ``clientMessageId``: ``^[A-Za-z0-9_-]{8,64}$``.
    The POST body: a JSON object of at most 16 KiB with no other fields.
    Rate: at most ``RATE_LIMIT_PER_MINUTE`` messages per author per UTC minute.

Order of a POST: the caller, the body (400/413), then the idempotency check (a repeat
answers 200 and is not counted), then the rate (429), then the write. A repeat that
arrives while its first request is still being written is recognised by the write itself;
it answers 200 and its count is given back.

Errors are JSON ``{"statusCode": <status>, "message": "<reason>"}`` (Powertools' error
shape); the reason names the field and its allowed values. No client input answers 5XX:
    400: a malformed body (not JSON, not an object, bad base64), a missing or invalid
    field, an unknown field, a bad query parameter, a ``next`` token that fails any check
    (answered before any query), an invalid ``X-Chat-Name``.
    401: no caller identity (see :mod:`..identity`).
    404: an unknown route. 405: another method on ``/messages`` (with ``Allow``).
    409: another request with the same ``clientMessageId`` is being written (retry), or
    the message an earlier request stored with it is gone (use a new one).
    413: a body over 16 KiB.
    429: over the rate limit; ``Retry-After`` gives the seconds to the next UTC minute.
    503: DynamoDB cancelled the write for a reason a retry may fix (with ``Retry-After``).

Table (``MESSAGES_TABLE_NAME``, string keys ``pk`` and ``sk``, time to live attribute
``expiresAt``):
    A message: ``pk`` = ``channel#<channel>``, ``sk`` = ``<sentAt>#<id>``; queried with
    ``ScanIndexForward=False``. Attributes as in the JSON above (``anonymous`` a BOOL),
    and ``clientMessageId`` when the writer gave one.
    An idempotency marker: ``pk`` = ``dedup#<authorId>#<clientMessageId>``, ``sk`` =
    ``dedup``, ``messagePk`` and ``messageSk`` (the keys of the message), ``expiresAt`` =
    its write time + 24 h (epoch seconds). It is written in one ``TransactWriteItems``
    with the message, on condition that no live marker exists (none, or one whose
    ``expiresAt`` has passed: time to live deletes lazily).
    A rate counter: ``pk`` = ``rate#<authorId>``, ``sk`` = the UTC minute
    (``yyyy-mm-ddThh:mm``), ``count`` (``ADD`` 1 on condition that it is below the limit),
    ``expiresAt`` = the start of the minute + 2 minutes.

Page tokens: ``<payload>.<mac>``, both base64url without padding. The payload is the JSON
``{"c": <channel>, "k": <sort key of the page's last message>}``; the mac is AWS KMS
``GenerateMac`` (HMAC_SHA_256, key ``TOKEN_KEY_ID``) of a fixed context string followed by
the payload. A token is refused (400) unless it is at most 400 characters, both parts are
canonical base64url, the mac is 32 bytes, the payload is that JSON object exactly, its
channel is the request's, its sort key has the form above, and ``VerifyMac`` accepts the
mac; the mac is checked last, so a malformed token costs no KMS request. A client cannot
forge or edit a token, nor move one to another channel. Tokens hold nothing secret (the
sort key of a message any reader of the channel sees) and do not expire.

Environment:
    MESSAGES_TABLE_NAME: The messages table.
    TOKEN_KEY_ID: The KMS HMAC key (``HMAC_256``, ``GENERATE_VERIFY_MAC``) of page tokens;
        read by ``GET`` only.
    RATE_LIMIT_PER_MINUTE: Messages per author per UTC minute, a positive integer; default
        20; read by ``POST`` only.
    CHAT_AUTH: How callers are identified (see :mod:`..identity`).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, ServiceError
from botocore.exceptions import ClientError

from ..identity import caller

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger()
app = APIGatewayRestResolver()

DEFAULT_CHANNEL = "general"
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_TEXT_CHARS = 1000
MAX_TEXT_BYTES = 4000
MAX_BODY_BYTES = 16 * 1024
DEFAULT_RATE_LIMIT = 20
#: How long a ``clientMessageId`` is remembered.
DEDUP_SECONDS = 24 * 3600
#: How long after the start of its minute a rate counter expires.
RATE_COUNTER_SECONDS = 120
SOURCES = ("web", "sms", "alert")
MAC_ALGORITHM = "HMAC_SHA_256"
#: Prefixed to a token's payload before it is signed: a mac of this key made for anything
#: else is never a valid page token.
MAC_CONTEXT = b"survivor-chat/messages/page-token/v1\n"
_MAC_BYTES = 32
_MAX_TOKEN_CHARS = 400
_NOT_OURS = "next is not a token this API returned for this channel"
_ALLOWED_FIELDS = ("channel", "text", "clientMessageId")
_CHANNEL = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_CLIENT_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
_SORT_KEY = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-9A-HJKMNP-TV-Z]{26}")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CONFLICT_REASONS = frozenset({"TransactionConflict", "ConditionalCheckFailed", "MessageMissing"})


class MessageNotStoredError(Exception):
    """DynamoDB cancelled the write of a message for a reason a retry may fix.

    Args:
        reasons: The cancellation reason codes, message first, marker second.
    """

    def __init__(self, reasons: tuple[str, ...]) -> None:
        super().__init__(f"the message was not stored: {', '.join(reasons) or 'no reason'}")
        self.reasons = reasons

    @property
    def conflict(self) -> bool:
        """True when the items are in another state than expected, not for lack of capacity.

        Another request was writing them at the same time (``TransactionConflict``, a
        condition that failed though no live repeat was found), or a live idempotency
        marker names a message that is gone (``MessageMissing``).
        """
        return bool(set(self.reasons) & _CONFLICT_REASONS)


@cache
def dynamodb_client() -> DynamoDBClient:
    """Return the DynamoDB client, created on first use."""
    return boto3.client("dynamodb")


@cache
def kms_client() -> Any:
    """Return the KMS client, created on first use."""
    return boto3.client("kms")


def utc_now() -> datetime:
    """Return the current time (UTC); tests replace it."""
    return datetime.now(UTC)


def _millis(moment: datetime) -> datetime:
    """``moment`` in UTC, cut to whole milliseconds (the precision of ``sentAt``)."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def iso_millis(moment: datetime) -> str:
    """Return ``moment`` as ISO 8601 UTC with milliseconds: ``2026-01-01T12:00:00.000Z``."""
    moment = _millis(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}Z"


def new_message_id(moment: datetime) -> str:
    """Return a new ULID: ``moment``'s epoch milliseconds (48 bits), then 80 random bits."""
    millis = (_millis(moment) - _EPOCH) // timedelta(milliseconds=1)
    value = (millis << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -5, -5))


# -- validation ------------------------------------------------------------------------


def channel_name(value: object, field: str = "channel") -> str:
    """Return a valid channel name, or answer 400 naming ``field``."""
    if isinstance(value, str) and _CHANNEL.fullmatch(value):
        return value
    shown = f"={value[:40]!r}" if isinstance(value, str) else f" ({type(value).__name__})"
    raise BadRequestError(
        f"{field}{shown} must match ^[a-z0-9][a-z0-9-]{{0,31}}$: 1-32 lower-case letters, "
        "digits or '-', starting with a letter or digit"
    )


def message_text(value: object, field: str = "text") -> str:
    """Return ``value`` stripped if it is valid message text, or answer 400 naming ``field``.

    Valid text is a string of 1-1000 characters once stripped, at most 4,000 UTF-8 bytes.
    """
    rule = (
        f"{field} must be a string of 1-{MAX_TEXT_CHARS} characters (after stripping "
        f"whitespace) and at most {MAX_TEXT_BYTES} UTF-8 bytes"
    )
    if not isinstance(value, str):
        raise BadRequestError(f"{rule}, not {type(value).__name__}")
    text = value.strip()
    if not 1 <= len(text) <= MAX_TEXT_CHARS:
        raise BadRequestError(f"{rule}: it has {len(text)} characters")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as error:  # a lone surrogate, as JSON's \ud800 gives
        raise BadRequestError(f"{rule}: it is not valid Unicode") from error
    if size > MAX_TEXT_BYTES:
        raise BadRequestError(f"{rule}: it has {size} bytes")
    return text


def client_message_id(value: object, field: str = "clientMessageId") -> str:
    """Return a valid ``clientMessageId``, or answer 400 naming ``field``."""
    if isinstance(value, str) and _CLIENT_MESSAGE_ID.fullmatch(value):
        return value
    raise BadRequestError(
        f"{field} must match ^[A-Za-z0-9_-]{{8,64}}$: 8-64 letters, digits, '-' or '_'"
    )


def request_object(
    event: Mapping[str, Any], allowed: tuple[str, ...], *, empty_is_object: bool = False
) -> dict[str, Any]:
    """Return the JSON object in the body of proxy event ``event``.

    Args:
        event: The proxy integration event.
        allowed: The fields the object may have.
        empty_is_object: Whether a missing or empty body stands for ``{}``.

    Raises:
        BadRequestError: (400) Unless the body is a JSON object with only ``allowed`` fields.
        ServiceError: (413) When the body is over 16 KiB.
    """
    raw = event.get("body")
    if raw is None or raw == "":
        if empty_is_object:
            return {}
        raise BadRequestError("the body must be a JSON object")
    if not isinstance(raw, str):
        raise BadRequestError("the body must be a JSON object")
    # Base64 takes 4 characters for 3 bytes: a longer text is over the limit either way.
    if len(raw) > MAX_BODY_BYTES * 4 // 3 + 4:
        raise ServiceError(413, f"the body must be at most {MAX_BODY_BYTES} bytes")
    data: bytes | str = raw
    if event.get("isBase64Encoded") is True:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as error:
            raise BadRequestError("the body is not valid base64") from error
    size = len(data) if isinstance(data, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise ServiceError(413, f"the body must be at most {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(data)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
        raise BadRequestError("the body is not valid JSON") from error
    if not isinstance(body, dict):
        raise BadRequestError(f"the body must be a JSON object, not {type(body).__name__}")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        names = ", ".join(repr(name[:32]) for name in unknown[:5])
        raise BadRequestError(
            f"unknown field(s) {names}{', ...' if len(unknown) > 5 else ''}; the fields are "
            f"{', '.join(allowed)}"
        )
    return body


def _whole_number(text: str, low: int, high: int) -> int | None:
    # isdecimal alone takes other scripts' digits; 16 digits bound int()'s work.
    if not (text.isascii() and text.isdecimal() and len(text) <= 16):
        return None
    value = int(text)
    return value if low <= value <= high else None


def _limit() -> int:
    text = app.current_event.get_query_string_value("limit", str(DEFAULT_LIMIT)) or ""
    limit = _whole_number(text, 1, MAX_LIMIT)
    if limit is None:
        raise BadRequestError(f"limit={text[:32]!r} is not an integer in 1-{MAX_LIMIT}")
    return limit


def rate_limit() -> int:
    """Return ``RATE_LIMIT_PER_MINUTE`` (default 20); ValueError unless a positive integer."""
    text = os.environ.get("RATE_LIMIT_PER_MINUTE", str(DEFAULT_RATE_LIMIT))
    limit = _whole_number(text, 1, 10**9)
    if limit is None:
        raise ValueError(f"RATE_LIMIT_PER_MINUTE={text[:32]!r} is not a positive integer")
    return limit


# -- page tokens -------------------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """The bytes of canonical unpadded base64url ``text``, or None."""
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        return None
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # The last character may carry unused bits: only the one way this API writes counts.
    return data if _b64encode(data) == text else None


def _token_payload(channel: str, sort_key: str) -> bytes:
    return json.dumps({"c": channel, "k": sort_key}, separators=(",", ":")).encode()


def page_token(channel: str, sort_key: str) -> str:
    """Return the ``next`` token of the page after the message with ``sort_key``."""
    payload = _token_payload(channel, sort_key)
    response = kms_client().generate_mac(
        KeyId=os.environ["TOKEN_KEY_ID"], Message=MAC_CONTEXT + payload, MacAlgorithm=MAC_ALGORITHM
    )
    return f"{_b64encode(payload)}.{_b64encode(response['Mac'])}"


def page_start(token: str, channel: str) -> dict[str, Any]:
    """Return the start key in a ``next`` token of ``channel``; 400 unless every check passes."""
    if len(token) > _MAX_TOKEN_CHARS or token.count(".") != 1:
        raise BadRequestError(_NOT_OURS)
    encoded_payload, encoded_mac = token.split(".")
    payload, mac = _b64decode(encoded_payload), _b64decode(encoded_mac)
    if payload is None or mac is None or len(mac) != _MAC_BYTES:
        raise BadRequestError(_NOT_OURS)
    try:
        fields = json.loads(payload)
    except (ValueError, RecursionError) as error:
        raise BadRequestError(_NOT_OURS) from error
    if not (
        isinstance(fields, dict)
        and set(fields) == {"c", "k"}
        and isinstance(fields["c"], str)
        and isinstance(fields["k"], str)
        # Written the one way this API writes it (no other spacing, order or escapes).
        and payload == _token_payload(fields["c"], fields["k"])
        and fields["c"] == channel
        and _SORT_KEY.fullmatch(fields["k"])
    ):
        raise BadRequestError(_NOT_OURS)
    try:
        verified = kms_client().verify_mac(
            KeyId=os.environ["TOKEN_KEY_ID"],
            Message=MAC_CONTEXT + payload,
            MacAlgorithm=MAC_ALGORITHM,
            Mac=mac,
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "KMSInvalidMacException":
            raise
        raise BadRequestError(_NOT_OURS) from error
    if verified.get("MacValid") is not True:
        raise BadRequestError(_NOT_OURS)
    return {"pk": {"S": f"channel#{channel}"}, "sk": {"S": fields["k"]}}


# -- storage -----------------------------------------------------------------------------


def message_json(item: Mapping[str, Any]) -> dict[str, Any]:
    """Return the API's JSON of a stored message item."""
    return {
        "id": item["id"]["S"],
        "channel": item["channel"]["S"],
        "author": item["author"]["S"],
        "authorId": item["authorId"]["S"],
        "text": item["text"]["S"],
        "sentAt": item["sentAt"]["S"],
        "source": item["source"]["S"],
        "anonymous": item["anonymous"]["BOOL"],
    }


def _marker_key(author_id: str, client_message_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"dedup#{author_id}#{client_message_id}"}, "sk": {"S": "dedup"}}


def _epoch_seconds(moment: datetime) -> int:
    return int((moment - _EPOCH) // timedelta(seconds=1))


def find_repeat(
    table_name: str, author_id: str, client_message_id: str, now: datetime | None = None
) -> dict[str, Any] | None:
    """Return the message ``author_id`` stored with ``client_message_id``, or None.

    Only a live marker counts (its ``expiresAt`` not passed). Both reads are strongly
    consistent.

    Raises:
        MessageNotStoredError: (``MessageMissing``) When a live marker names no message.
    """
    moment = now or utc_now()
    client = dynamodb_client()
    marker = client.get_item(
        TableName=table_name,
        Key=_marker_key(author_id, client_message_id),
        ConsistentRead=True,
    ).get("Item")
    if marker is None or int(marker["expiresAt"]["N"]) < _epoch_seconds(moment):
        return None
    message = client.get_item(
        TableName=table_name,
        Key={"pk": marker["messagePk"], "sk": marker["messageSk"]},
        ConsistentRead=True,
    ).get("Item")
    if message is None:
        raise MessageNotStoredError(("MessageMissing",))
    return message_json(message)


def save_message(
    table_name: str,
    *,
    channel: str,
    author: str,
    author_id: str,
    text: str,
    source: str,
    anonymous: bool,
    client_message_id: str | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """Store a message; return its JSON and whether this call stored it.

    With ``client_message_id``, the message and its idempotency marker are written in one
    transaction; if ``author_id`` stored that id in the last 24 hours, nothing is written
    and the message first stored is returned (False).

    Args:
        table_name: The messages table.
        channel: The channel, a valid channel name.
        author: The display name.
        author_id: The author's stable id.
        text: The text, as it is to be stored.
        source: ``web``, ``sms`` or ``alert``.
        anonymous: Whether nobody vouches for the author.
        client_message_id: The author's id of this message, for idempotency.
        now: ``sentAt``; default the current time.

    Returns:
        (the message's JSON, True if written by this call).

    Raises:
        ValueError: On an invalid channel or source (a caller's bug or configuration).
        MessageNotStoredError: When DynamoDB cancelled the transaction for another reason
            than a stored repeat (a concurrent writer, throttling).
        ClientError: Whatever else DynamoDB raises.
    """
    if not _CHANNEL.fullmatch(channel):
        raise ValueError(f"channel {channel[:40]!r} is no valid channel name")
    if source not in SOURCES:
        raise ValueError(f"source {source!r} is none of {', '.join(SOURCES)}")
    moment = _millis(now or utc_now())
    message_id = new_message_id(moment)
    sent_at = iso_millis(moment)
    item: dict[str, Any] = {
        "pk": {"S": f"channel#{channel}"},
        "sk": {"S": f"{sent_at}#{message_id}"},
        "id": {"S": message_id},
        "channel": {"S": channel},
        "author": {"S": author},
        "authorId": {"S": author_id},
        "text": {"S": text},
        "sentAt": {"S": sent_at},
        "source": {"S": source},
        "anonymous": {"BOOL": anonymous},
    }
    client = dynamodb_client()
    if client_message_id is None:
        client.put_item(
            TableName=table_name, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )
        return message_json(item), True
    item["clientMessageId"] = {"S": client_message_id}
    written = utc_now()
    marker = {
        **_marker_key(author_id, client_message_id),
        "messagePk": item["pk"],
        "messageSk": item["sk"],
        "expiresAt": {"N": str(_epoch_seconds(written) + DEDUP_SECONDS)},
    }
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table_name,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": table_name,
                        "Item": marker,
                        "ConditionExpression": "attribute_not_exists(pk) OR expiresAt < :now",
                        "ExpressionAttributeValues": {":now": {"N": str(_epoch_seconds(written))}},
                    }
                },
            ]
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        reasons = tuple(
            str(reason.get("Code", "None"))
            for reason in error.response.get("CancellationReasons", [])
        )
        if reasons[1:2] == ("ConditionalCheckFailed",):
            repeat = find_repeat(table_name, author_id, client_message_id, written)
            if repeat is not None:
                return repeat, False
        raise MessageNotStoredError(reasons) from error
    return message_json(item), True


def store_message(
    table_name: str,
    *,
    channel: str,
    author: str,
    author_id: str,
    text: str,
    source: str,
    anonymous: bool,
    client_message_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store a message and return its JSON: :func:`save_message` without the flag.

    The one writer of message items: the API, the SMS intake and the alert intake all
    write through it, so every message has the same shape.
    """
    message, _ = save_message(
        table_name,
        channel=channel,
        author=author,
        author_id=author_id,
        text=text,
        source=source,
        anonymous=anonymous,
        client_message_id=client_message_id,
        now=now,
    )
    return message


def _rate_key(author_id: str, moment: datetime) -> dict[str, Any]:
    return {"pk": {"S": f"rate#{author_id}"}, "sk": {"S": moment.strftime("%Y-%m-%dT%H:%M")}}


def count_message(table_name: str, author_id: str, now: datetime, limit: int) -> int | None:
    """Count a message of ``author_id`` in the UTC minute of ``now``.

    Returns:
        None when counted; when the author already posted ``limit`` messages this minute,
        the seconds to the next minute (1-60), and nothing is counted.
    """
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    try:
        dynamodb_client().update_item(
            TableName=table_name,
            Key=_rate_key(author_id, minute),
            UpdateExpression="ADD #count :one SET expiresAt = :expires",
            ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":limit": {"N": str(limit)},
                ":expires": {"N": str(_epoch_seconds(minute) + RATE_COUNTER_SECONDS)},
            },
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        wait = (minute + timedelta(minutes=1) - now).total_seconds()
        return min(60, max(1, math.ceil(wait)))
    return None


def uncount_message(table_name: str, author_id: str, now: datetime) -> None:
    """Give back a count taken by :func:`count_message` for a message not written."""
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    try:
        dynamodb_client().update_item(
            TableName=table_name,
            Key=_rate_key(author_id, minute),
            UpdateExpression="ADD #count :minus",
            # Never create a counter (without expiresAt, it would stay forever).
            ConditionExpression="attribute_exists(pk) AND #count > :zero",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues={":minus": {"N": "-1"}, ":zero": {"N": "0"}},
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise


# -- routes ------------------------------------------------------------------------------


def json_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> Response[Any]:
    """Return a JSON response."""
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers=dict(headers or {}),
    )


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response[Any]:
    """Return an error in Powertools' shape, ``{"statusCode", "message"}``."""
    return json_response(status, {"statusCode": status, "message": message}, headers)


def _not_stored(error: MessageNotStoredError) -> Response[Any]:
    if "MessageMissing" in error.reasons:
        return error_response(
            409, "clientMessageId names a message that no longer exists: use a new one"
        )
    if error.conflict:
        return error_response(
            409, "another request with this clientMessageId is being stored: retry"
        )
    return error_response(503, "the message could not be stored: retry", {"Retry-After": "1"})


@app.get("/messages")
def list_messages() -> dict[str, Any]:
    """A page of a channel's messages, newest first."""
    caller(app.current_event.raw_event)
    event = app.current_event
    channel = channel_name(event.get_query_string_value("channel", DEFAULT_CHANNEL))
    limit = _limit()
    request: dict[str, Any] = {
        "TableName": os.environ["MESSAGES_TABLE_NAME"],
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"channel#{channel}"}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    token = event.get_query_string_value("next")
    if token:
        request["ExclusiveStartKey"] = page_start(token, channel)
    page = dynamodb_client().query(**request)
    last = page.get("LastEvaluatedKey")
    return {
        "messages": [message_json(item) for item in page.get("Items", [])],
        "next": page_token(channel, last["sk"]["S"]) if last else None,
    }


@app.post("/messages")
def post_message() -> Response[Any]:
    """Post a message, once per ``clientMessageId``."""
    who = caller(app.current_event.raw_event)
    body = request_object(app.current_event.raw_event, _ALLOWED_FIELDS)
    channel = channel_name(body.get("channel", DEFAULT_CHANNEL))
    if "text" not in body:
        raise BadRequestError(
            f"text is required: a string of 1-{MAX_TEXT_CHARS} characters (after stripping "
            f"whitespace) and at most {MAX_TEXT_BYTES} UTF-8 bytes"
        )
    text = message_text(body["text"])
    if "clientMessageId" not in body:
        raise BadRequestError(
            "clientMessageId is required: ^[A-Za-z0-9_-]{8,64}$, 8-64 letters, digits, '-' or '_'"
        )
    message_key = client_message_id(body["clientMessageId"])
    table_name = os.environ["MESSAGES_TABLE_NAME"]
    limit = rate_limit()
    now = utc_now()
    log = {"author_id": who.user_id, "client_message_id": message_key, "text_chars": len(text)}
    try:
        repeat = find_repeat(table_name, who.user_id, message_key, now)
    except MessageNotStoredError as error:
        logger.warning("message not stored", extra={**log, "reasons": list(error.reasons)})
        return _not_stored(error)
    if repeat is not None:
        logger.info("message repeated", extra={**log, "message_id": repeat["id"]})
        return json_response(200, repeat)
    wait = count_message(table_name, who.user_id, now, limit)
    if wait is not None:
        logger.info("message over the rate limit", extra={**log, "retry_after": wait})
        return error_response(
            429,
            f"at most {limit} messages a minute per author: retry in {wait} s",
            {"Retry-After": str(wait)},
        )
    try:
        message, created = save_message(
            table_name,
            channel=channel,
            author=who.display_name,
            author_id=who.user_id,
            text=text,
            source="web",
            anonymous=who.anonymous,
            client_message_id=message_key,
            now=now,
        )
    except MessageNotStoredError as error:
        uncount_message(table_name, who.user_id, now)
        logger.warning("message not stored", extra={**log, "reasons": list(error.reasons)})
        return _not_stored(error)
    if not created:
        # A repeat that raced its first request: it does not count either.
        uncount_message(table_name, who.user_id, now)
        logger.info("message repeated", extra={**log, "message_id": message["id"]})
        return json_response(200, message)
    logger.info("message stored", extra={**log, "message_id": message["id"]})
    return json_response(201, message)


@app.route("/messages", method=["PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def other_methods() -> Response[Any]:
    """Methods ``/messages`` does not take."""
    method = app.current_event.http_method
    return error_response(
        405, f"{method} is not allowed on /messages: use GET or POST", {"Allow": "GET, POST"}
    )


@app.not_found
def unknown_route(_: Exception) -> Response[Any]:
    """Routes this API does not have."""
    event = app.current_event
    return error_response(
        404,
        f"no route {event.http_method} {event.path[:100]}: the routes are GET and POST /messages",
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route one API Gateway request."""
    return app.resolve(event, context)
