r"""SMS messages from a Twilio webhook, posted into the survivor chat.

Invoked by a non-proxy (mapped) API Gateway Lambda integration: the request mapping
template turns Twilio's form post into the event ``{"from": "+1...", "text": "...",
"sid": "SM...", "signature": <X-Twilio-Signature header>, "url": <the public webhook URL>,
"params": {<every form field>: <its value>}}``, all strings. The handler answers
``{"reply": <text to send back>, "id": <stored message id>}``, which the response template
turns into TwiML (it must XML-escape the reply).

Errors are raised, their message starting with a fixed prefix for the integration
responses' ``SelectionPattern``:
    ``BadRequest: ...`` (400): the event is not an object; ``params`` is not an object of
    strings; ``from``, ``text`` or ``sid`` is missing or not a string; when signatures are
    checked, ``url`` is not a string of 1-2048 characters or ``signature`` is there but not
    a string; ``from`` is not E.164 (``^\+[1-9]\d{1,14}$``); ``text`` is not 1-1000
    characters once stripped, or over 4,000 UTF-8 bytes; ``sid`` is not a Twilio message
    SID (two capital letters and 32 hex digits, e.g. ``SM...``).
    ``Forbidden: ...`` (403): the signature is missing or does not match, or ``from``, ``text`` or
    ``sid`` differ from the signed form fields ``From``, ``Body`` and ``MessageSid``.
Anything else (DynamoDB or SSM failing) is raised as it is (a 5XX).

Signature: when ``TWILIO_AUTH_TOKEN_PARAMETER`` names an SSM SecureString parameter holding
the account's auth token (read with decryption, cached 5 minutes), the signature must be
Twilio's: base64(HMAC-SHA1(auth token, ``url`` followed by each form field's name and
value, sorted by name)), compared in constant time; the shape of ``params``, ``url`` and
``signature`` is checked before it, the other fields after it, and last that ``from``,
``text`` and ``sid`` are the signed ``From``, ``Body`` and ``MessageSid``. ``url`` must be
the URL exactly as Twilio called it (scheme, host, any port and query string). Without
the variable nothing is checked: for development only, since anyone who knows the
webhook's URL can then post into the chat under any number.

Storage: the SMS becomes a chat message (see :func:`..messages.handler.store_message`) in
channel ``SMS_CHANNEL``, author ``SMS …<last 4 digits>``, author id ``sms:<sender key>``
(the first 16 hex digits of the SHA-256 of ``from``: every reader of the channel sees author
ids, so the number itself is not one), source
``sms``, idempotent by ``sid``: Twilio's retry of one SMS stores it once and answers the
same id.

Environment:
    MESSAGES_TABLE_NAME: The messages table.
    SMS_CHANNEL: The channel SMS messages go to; default ``general``.
    SMS_REPLY: The reply text; default ``Message received.``.
    TWILIO_AUTH_TOKEN_PARAMETER: The SSM SecureString parameter holding the Twilio auth
        token; unset, signatures are not checked (development only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from aws_lambda_powertools.utilities import parameters

from ..messages.handler import DEFAULT_CHANNEL, message_text, store_message

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()

DEFAULT_REPLY = "Message received."
#: Seconds the auth token is cached.
AUTH_TOKEN_MAX_AGE = 300
MAX_URL_CHARS = 2048
_E164 = re.compile(r"\+[1-9]\d{1,14}")
_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
#: The event's fields and the signed form fields they must equal.
_SIGNED_FIELDS = (("from", "From"), ("text", "Body"), ("sid", "MessageSid"))


class SmsBadRequestError(Exception):
    """The request is invalid (400); the message starts with ``BadRequest: ``."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"BadRequest: {detail}")


class SmsForbiddenError(Exception):
    """The request is not Twilio's (403); the message starts with ``Forbidden: ``."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"Forbidden: {detail}")


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Return Twilio's signature of a form post to ``url`` with ``params``.

    base64(HMAC-SHA1(``auth_token``, ``url`` + each name and value, sorted by name)).
    """
    data = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def masked_number(number: str) -> str:
    """Return the display name of an SMS author: ``SMS …`` and the last 4 digits."""
    return f"SMS \u2026{number.removeprefix('+')[-4:]}"


def _string(event: Mapping[str, Any], field: str, *, required: bool = True) -> str:
    value = event.get(field, None if required else "")
    if not isinstance(value, str):
        raise SmsBadRequestError(f"{field} must be a string")
    return value


def _params(event: Mapping[str, Any]) -> dict[str, str]:
    params = event.get("params")
    if not isinstance(params, Mapping) or not all(
        isinstance(name, str) and isinstance(value, str) for name, value in params.items()
    ):
        raise SmsBadRequestError("params must be an object of the form fields, all strings")
    return dict(params)


def _check_signature(event: Mapping[str, Any], parameter: str) -> None:
    params = _params(event)
    url = _string(event, "url")
    if not 1 <= len(url) <= MAX_URL_CHARS:
        raise SmsBadRequestError(f"url must be 1-{MAX_URL_CHARS} characters")
    signature = _string(event, "signature", required=False)
    auth_token = parameters.get_parameter(parameter, decrypt=True, max_age=AUTH_TOKEN_MAX_AGE)
    try:
        expected = twilio_signature(auth_token, url, params)
        matches = hmac.compare_digest(signature.encode(), expected.encode())
    except UnicodeEncodeError as error:  # a lone surrogate: nothing Twilio signed
        raise SmsForbiddenError("the Twilio signature does not match") from error
    if not matches:
        raise SmsForbiddenError("the Twilio signature does not match")


def _check_signed_fields(event: Mapping[str, Any]) -> None:
    params = _params(event)
    for field, signed in _SIGNED_FIELDS:
        if event.get(field) != params.get(signed):
            raise SmsForbiddenError(f"{field} is not the signed form field {signed}")


def _sms(event: Mapping[str, Any]) -> tuple[str, str, str]:
    """(from, text, sid) of the event, checked."""
    number = _string(event, "from")
    if not _E164.fullmatch(number):
        raise SmsBadRequestError("from must be an E.164 number: ^\\+[1-9]\\d{1,14}$")
    try:
        text = message_text(event.get("text"))
    except BadRequestError as error:
        raise SmsBadRequestError(str(error.msg)) from error
    sid = _string(event, "sid")
    if not _SID.fullmatch(sid):
        raise SmsBadRequestError("sid must be a Twilio message SID: 2 capitals and 32 hex digits")
    return number, text, sid


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    """Post one SMS into the chat; return the reply and the message id.

    Raises:
        SmsBadRequestError: On an invalid request (``BadRequest: ...``).
        SmsForbiddenError: On a bad signature (``Forbidden: ...``).
    """
    if not isinstance(event, Mapping):
        raise SmsBadRequestError("the event must be an object")
    parameter = os.environ.get("TWILIO_AUTH_TOKEN_PARAMETER")
    if parameter:
        _check_signature(event, parameter)
    else:
        _params(event)
        logger.debug("Twilio signature not checked: TWILIO_AUTH_TOKEN_PARAMETER is not set")
    number, text, sid = _sms(event)
    if parameter:
        _check_signed_fields(event)
    message = store_message(
        os.environ["MESSAGES_TABLE_NAME"],
        channel=os.environ.get("SMS_CHANNEL", DEFAULT_CHANNEL),
        author=masked_number(number),
        author_id=sms_author_id(number),
        text=text,
        source="sms",
        anonymous=False,
        client_message_id=sid,
    )
    logger.info("sms stored", extra={"sid": sid, "message_id": message["id"], "chars": len(text)})
    return {"reply": os.environ.get("SMS_REPLY", DEFAULT_REPLY), "id": message["id"]}


def sms_author_id(number: str) -> str:
    """The author id of an SMS sender: stable per number, without showing the number."""
    return "sms:" + hashlib.sha256(number.encode()).hexdigest()[:16]
