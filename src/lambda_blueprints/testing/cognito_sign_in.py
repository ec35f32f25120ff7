"""Cognito's sign-in API over HTTP, for a web page signing in against the local cloud.

A page signs in by posting to Cognito's JSON API (``https://cognito-idp.<region>.
amazonaws.com/``, header ``X-Amz-Target: AWSCognitoIdentityProviderService.<action>``).
Served under a path of a local distribution (``LocalCloud.serve_distribution(sign_in_path=
...)``), :func:`answer_sign_in` answers those requests from the user pools in moto, so a
page configured with that path as its Cognito endpoint signs in offline. Only the actions
a page needs to sign in are answered: ``InitiateAuth``, ``RespondToAuthChallenge``,
``GetUser`` and ``GlobalSignOut``; any other is ``400 UnknownOperationException``. The
tokens are moto's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError

from lambda_blueprints.testing.apigateway import HttpResponse

#: The Cognito actions a sign-in page calls, with their boto3 method names.
SIGN_IN_ACTIONS = {
    "InitiateAuth": "initiate_auth",
    "RespondToAuthChallenge": "respond_to_auth_challenge",
    "GetUser": "get_user",
    "GlobalSignOut": "global_sign_out",
}
_TARGET = re.compile(r"^AWSCognitoIdentityProviderService\.(?P<action>[A-Za-z]+)$")
_CONTENT_TYPE = "application/x-amz-json-1.1"


def answer_sign_in(
    client: Callable[[str], Any], headers: Mapping[str, str], body: bytes | None
) -> HttpResponse:
    """Answer one Cognito JSON API request (see the module) from moto's user pools.

    Args:
        client: The local cloud's client factory (``client("cognito-idp")``).
        headers: The request headers (``X-Amz-Target`` names the action).
        body: The JSON request body.

    Returns:
        200 with the action's JSON answer, or 400 with ``{"__type", "message"}`` as
        Cognito answers errors.
    """
    target = next((v for k, v in headers.items() if k.lower() == "x-amz-target"), "")
    match = _TARGET.match(target.strip())
    action = match.group("action") if match else ""
    if action not in SIGN_IN_ACTIONS:
        return _reply(400, {"__type": "UnknownOperationException", "message": target})
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        request = None
    if not isinstance(request, dict):
        return _reply(
            400, {"__type": "SerializationException", "message": "the body is not a JSON object"}
        )
    try:
        answer = getattr(client("cognito-idp"), SIGN_IN_ACTIONS[action])(**request)
    except ClientError as error:
        details = error.response.get("Error", {})
        return _reply(
            400, {"__type": details.get("Code", "Unknown"), "message": details.get("Message", "")}
        )
    except (ParamValidationError, TypeError) as error:
        return _reply(400, {"__type": "InvalidParameterException", "message": str(error)})
    answer.pop("ResponseMetadata", None)
    return _reply(200, answer)


def _reply(status: int, document: Mapping[str, Any]) -> HttpResponse:
    content = json.dumps(document, default=str).encode()
    return HttpResponse.of(status, {"Content-Type": [_CONTENT_TYPE]}, content)
