"""Who is calling the survivor chat's REST APIs (Lambda proxy integration, payload 1.0).

:func:`caller` reads the caller from the event the way ``CHAT_AUTH`` says the API
authorizes its requests:

``cognito`` (the default): a Cognito user pool authorizer. The caller is the token's
    claims in ``requestContext.authorizer.claims``: ``sub`` is the user id, and the display
    name is ``cognito:username``, else ``email``, else ``sub``. No claims (or no ``sub``)
    answers 401.
``iam``: IAM authorization (``AWS_IAM``), for example with Cognito identity pool
    credentials. The user id is ``requestContext.identity.cognitoIdentityId``, else
    ``requestContext.identity.userArn``; neither answers 401. The display name is the
    ``X-Chat-Name`` header (checked as below; an invalid one answers 400), else the last
    part of the ARN (after its last ``/`` or ``:``), else the user id.
``anonymous``: no authorization. The display name is the ``X-Chat-Name`` header, the user
    id ``anon:<name in lower case>`` and the caller is anonymous. A missing or invalid
    header answers 400.

A display name from ``X-Chat-Name`` is stripped of surrounding whitespace and then must be
1-32 characters, each an ASCII letter or digit, a space, ``-``, ``_`` or ``.``. A user id
longer than 512 characters answers 401. Error answers are Powertools' JSON errors,
``{"statusCode": 400|401, "message": "<reason>"}``.

Any other ``CHAT_AUTH`` is a deployment error, not a client's: :func:`auth_mode` (called
by :func:`caller`) raises :class:`ChatAuthConfigurationError` on every request until the
function's configuration is fixed, and the API answers 5XX.

Environment:
    CHAT_AUTH: ``cognito`` (default), ``iam`` or ``anonymous``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler.exceptions import BadRequestError, UnauthorizedError

#: The values ``CHAT_AUTH`` may take.
AUTH_MODES = ("cognito", "iam", "anonymous")
DEFAULT_AUTH_MODE = "cognito"
#: The header that names an anonymous (or IAM) caller.
NAME_HEADER = "X-Chat-Name"
MAX_NAME_CHARS = 32
#: User ids longer than this are refused (they become parts of DynamoDB keys).
MAX_USER_ID_CHARS = 512
_NAME = re.compile(r"[A-Za-z0-9 _.-]{1,32}")


class ChatAuthConfigurationError(RuntimeError):
    """``CHAT_AUTH`` names no known way of authorizing: the deployment is wrong."""


@dataclass(frozen=True)
class Caller:
    """The caller of a chat API request.

    Attributes:
        user_id: The stable id of the user (``authorId`` of what they post).
        display_name: The name the chat shows (``author``).
        anonymous: True when nobody vouches for the name (``CHAT_AUTH=anonymous``).
    """

    user_id: str
    display_name: str
    anonymous: bool


def auth_mode() -> str:
    """Return ``CHAT_AUTH`` (default ``cognito``).

    Raises:
        ChatAuthConfigurationError: When it is none of ``cognito``, ``iam``, ``anonymous``.
    """
    mode = os.environ.get("CHAT_AUTH", DEFAULT_AUTH_MODE)
    if mode not in AUTH_MODES:
        raise ChatAuthConfigurationError(
            f"CHAT_AUTH={mode[:40]!r} is not one of {', '.join(AUTH_MODES)}: fix the "
            "function's environment"
        )
    return mode


def display_name(value: object, field: str = NAME_HEADER) -> str:
    """Return a display name, stripped, or answer 400 naming ``field`` and the rules."""
    if isinstance(value, str):
        name = value.strip()
        if _NAME.fullmatch(name):
            return name
    raise BadRequestError(
        f"{field} must be 1-{MAX_NAME_CHARS} characters: letters, digits, space, '-', '_' or '.'"
    )


def header(event: Mapping[str, Any], name: str) -> str | None:
    """Return the value of request header ``name`` (any case), or None."""
    headers = event.get("headers")
    if not isinstance(headers, Mapping):
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted and isinstance(value, str):
            return value
    return None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _user_id(value: str) -> str:
    if len(value) > MAX_USER_ID_CHARS:
        raise UnauthorizedError(f"the caller's id is longer than {MAX_USER_ID_CHARS} characters")
    return value


def _cognito(event: Mapping[str, Any]) -> Caller:
    context = _mapping(event.get("requestContext"))
    claims = _mapping(_mapping(context.get("authorizer")).get("claims"))
    sub = _text(claims.get("sub"))
    if sub is None:
        raise UnauthorizedError("the request carries no Cognito user pool claims (sub)")
    name = _text(claims.get("cognito:username")) or _text(claims.get("email")) or sub
    return Caller(user_id=_user_id(sub), display_name=name, anonymous=False)


def _iam(event: Mapping[str, Any]) -> Caller:
    identity = _mapping(_mapping(event.get("requestContext")).get("identity"))
    arn = _text(identity.get("userArn"))
    user_id = _text(identity.get("cognitoIdentityId")) or arn
    if user_id is None:
        raise UnauthorizedError("the request carries no IAM identity (cognitoIdentityId, userArn)")
    given = header(event, NAME_HEADER)
    if given is not None:
        name = display_name(given)
    elif arn is not None:
        name = re.split(r"[/:]", arn)[-1] or user_id
    else:
        name = user_id
    return Caller(user_id=_user_id(user_id), display_name=name, anonymous=False)


def _anonymous(event: Mapping[str, Any]) -> Caller:
    given = header(event, NAME_HEADER)
    if given is None:
        raise BadRequestError(
            f"{NAME_HEADER} is required: 1-{MAX_NAME_CHARS} characters: letters, digits, "
            "space, '-', '_' or '.'"
        )
    name = display_name(given)
    return Caller(user_id=f"anon:{name.lower()}", display_name=name, anonymous=True)


def caller(event: Mapping[str, Any]) -> Caller:
    """Return the caller of a REST (payload 1.0) proxy event, by ``CHAT_AUTH``.

    Args:
        event: The Lambda proxy integration event.

    Returns:
        The caller.

    Raises:
        UnauthorizedError: (401) Without the identity the mode needs.
        BadRequestError: (400) On a missing (anonymous) or invalid ``X-Chat-Name``.
        ChatAuthConfigurationError: When ``CHAT_AUTH`` is no known mode.
    """
    mode = auth_mode()
    if mode == "cognito":
        return _cognito(event)
    if mode == "iam":
        return _iam(event)
    return _anonymous(event)
