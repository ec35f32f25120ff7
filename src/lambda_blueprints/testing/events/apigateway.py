"""API Gateway REST (payload 1.0) and HTTP API (payload 2.0) events."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import urlencode

from lambda_blueprints.testing.events._shared import (
    DEFAULT_ACCOUNT,
    DEFAULT_API_ID,
    DEFAULT_REGION,
    DEFAULT_SOURCE_IP,
    DEFAULT_USER_AGENT,
    MultiValues,
    _b64,
    _certificate_time,
    _now,
    _payload_bytes,
    _plain_dict,
    _request_time,
)

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
HttpBody = str | bytes | bytearray | Mapping[str, Any] | list[Any]


def client_certificate(
    *,
    subject_dn: str = "CN=client.example.com,O=Example",
    issuer_dn: str = "CN=Example Test CA,O=Example",
    serial_number: str | None = None,
    not_before: float = 1_735_689_600.0,
    not_after: float = 2_051_222_400.0,
    pem: str | None = None,
) -> dict[str, Any]:
    """Build the mutual TLS ``clientCert`` object API Gateway passes to a function.

    Args:
        subject_dn: ``subjectDN``.
        issuer_dn: ``issuerDN``.
        serial_number: ``serialNumber``, colon-separated hex bytes; default random.
        not_before: Start of validity, epoch seconds (default 2025-01-01).
        not_after: End of validity, epoch seconds (default 2035-01-01).
        pem: ``clientCertPem``; default a placeholder PEM block (not a parseable
            certificate).

    Returns:
        The object for ``client_cert=`` of :func:`api_gateway_rest_event` and
        :func:`api_gateway_http_event`; validity times are written as OpenSSL prints them
        (``May 28 12:30:02 2019 GMT``).
    """
    serial = serial_number or ":".join(f"{b:02x}" for b in uuid.uuid4().bytes)
    if pem is None:
        body = _b64(hashlib.sha512(f"{subject_dn}|{issuer_dn}|{serial}".encode()).digest())
        pem = f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
    return {
        "clientCertPem": pem,
        "subjectDN": subject_dn,
        "issuerDN": issuer_dn,
        "serialNumber": serial,
        "validity": {
            "notBefore": _certificate_time(not_before),
            "notAfter": _certificate_time(not_after),
        },
    }


def _checked_client_cert(client_cert: Mapping[str, Any]) -> dict[str, Any]:
    cert = _plain_dict(client_cert, "client_cert")
    missing = {"clientCertPem", "subjectDN", "issuerDN", "serialNumber", "validity"} - set(cert)
    validity = cert.get("validity")
    if missing or not isinstance(validity, dict) or not {"notBefore", "notAfter"} <= set(validity):
        raise ValueError(
            "client_cert needs clientCertPem, subjectDN, issuerDN, serialNumber and "
            "validity.notBefore/notAfter (see client_certificate)"
        )
    return cert


def _multi(values: MultiValues | None, what: str) -> list[tuple[str, list[str]]]:
    """(name, values) pairs from a mapping of one string or a sequence of strings."""
    pairs: list[tuple[str, list[str]]] = []
    for name, value in (values or {}).items():
        listed = [value] if isinstance(value, str) else list(value)
        if not listed or not all(isinstance(v, str) for v in listed):
            raise TypeError(f"{what} {name!r}: give a string or a non-empty list of strings")
        pairs.append((str(name), listed))
    return pairs


def _http_body(body: HttpBody | None) -> tuple[str | None, bool, bool]:
    """(body, isBase64Encoded, is JSON) as API Gateway passes a request body."""
    if body is None:
        return None, False, False
    if isinstance(body, bytes | bytearray):
        return _b64(bytes(body)), True, False
    if isinstance(body, str):
        return body, False, False
    return _payload_bytes(body, "body").decode(), False, True


def _method(method: str) -> str:
    upper = method.upper()
    if upper not in _HTTP_METHODS:
        raise ValueError(f"HTTP methods are {', '.join(_HTTP_METHODS)}: {method!r}")
    return upper


def _route_template(path: str, path_parameters: Mapping[str, str]) -> str:
    """The resource path a request matched: parameter values replaced by ``{name}``.

    A value spanning several segments, or the parameter ``proxy``, is greedy (``{name+}``).
    """
    segments = path.split("/")
    for name, value in path_parameters.items():
        parts = value.split("/")
        for i in range(len(segments) - len(parts) + 1):
            if segments[i : i + len(parts)] == parts:
                greedy = len(parts) > 1 or name == "proxy"
                segments[i : i + len(parts)] = ["{" + name + ("+}" if greedy else "}")]
                break
        else:
            raise ValueError(f"path parameter {name}={value!r} does not appear in {path!r}")
    return "/".join(segments)


def _request_ids() -> tuple[str, str]:
    """(a UUID request id, a short extended request id as API Gateway writes them)."""
    request_id = uuid.uuid4()
    return str(request_id), _b64(request_id.bytes[:10])


def _with_default_headers(
    pairs: list[tuple[str, list[str]]], defaults: Mapping[str, str]
) -> list[tuple[str, list[str]]]:
    given = {name.lower() for name, _ in pairs}
    extra = [(name, [value]) for name, value in defaults.items() if name.lower() not in given]
    return extra + pairs


#: The caller fields of a REST event's ``requestContext.identity`` (see ``identity=``).
_REST_CALLER_FIELDS = (
    "accessKey",
    "accountId",
    "apiKey",
    "apiKeyId",
    "caller",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "user",
    "userArn",
)


def _caller_identity(identity: Mapping[str, str | None] | None) -> dict[str, str | None]:
    """The ``identity=`` fields of :func:`api_gateway_rest_event`, checked."""
    fields = dict(identity or {})
    unknown = sorted(set(fields) - set(_REST_CALLER_FIELDS))
    if unknown:
        raise ValueError(
            f"identity takes the caller fields {', '.join(_REST_CALLER_FIELDS)}, not "
            f"{', '.join(map(repr, unknown))} (sourceIp, userAgent and clientCert have "
            "their own arguments)"
        )
    wrong = [
        name for name, value in fields.items() if value is not None and not isinstance(value, str)
    ]
    if wrong:
        raise TypeError(f"identity fields are strings or None: {', '.join(wrong)}")
    return fields


def api_gateway_rest_event(
    method: HttpMethod | str,
    path: str,
    *,
    resource: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: MultiValues | None = None,
    headers: MultiValues | None = None,
    body: HttpBody | None = None,
    stage: str = "prod",
    stage_variables: Mapping[str, str] | None = None,
    client_cert: Mapping[str, Any] | None = None,
    authorizer: Mapping[str, Any] | None = None,
    identity: Mapping[str, str | None] | None = None,
    source_ip: str = DEFAULT_SOURCE_IP,
    user_agent: str = DEFAULT_USER_AGENT,
    api_id: str = DEFAULT_API_ID,
    account: str = DEFAULT_ACCOUNT,
    region: str = DEFAULT_REGION,
    request_id: str | None = None,
    request_time: float | None = None,
) -> dict[str, Any]:
    """Build a REST API Lambda proxy integration event (payload format 1.0).

    Args:
        method: The request method.
        path: The request path after the stage, starting with ``/``.
        resource: The matched resource, such as ``/items/{id}``; by default the path with
            the ``path_parameters`` values replaced by their ``{name}``.
        path_parameters: ``pathParameters``; ``null`` when none.
        query: Query string parameters, each a string or a list of strings.
            ``queryStringParameters`` holds each one's last value,
            ``multiValueQueryStringParameters`` all of them; both ``null`` when none.
        headers: Request headers, each a string or a list of strings, names as sent.
            ``Host``, ``User-Agent``, ``X-Forwarded-For``, ``X-Forwarded-Port`` and
            ``X-Forwarded-Proto`` are added unless given, and ``Content-Type:
            application/json`` for a mapping or list body. ``headers`` holds each last
            value, ``multiValueHeaders`` all.
        body: Text as it is; bytes base64-encoded with ``isBase64Encoded`` true; a mapping
            or list as JSON.
        stage: The deployment stage; ``requestContext.path`` is ``/<stage><path>``.
        stage_variables: ``stageVariables``; ``null`` when none.
        client_cert: The mutual TLS certificate (see :func:`client_certificate`), put in
            ``requestContext.identity.clientCert``.
        authorizer: ``requestContext.authorizer`` as an authorizer leaves it, for example
            ``{"claims": {...}}`` (Cognito) or ``{"principalId": ..., ...}`` (Lambda).
        identity: Caller fields of ``requestContext.identity``, all ``null`` by default
            (an anonymous caller), which IAM authorization, Cognito identities or an API
            key fill in: ``accessKey``, ``accountId``, ``apiKey``, ``apiKeyId``,
            ``caller``, ``cognitoAuthenticationProvider``, ``cognitoAuthenticationType``,
            ``cognitoIdentityId``, ``cognitoIdentityPoolId``, ``principalOrgId``,
            ``user`` and ``userArn``; each a string or ``None``.
        source_ip: ``requestContext.identity.sourceIp``.
        user_agent: ``requestContext.identity.userAgent`` and the default ``User-Agent``.
        api_id: The REST API id; the domain is ``<api_id>.execute-api.<region>.amazonaws.com``.
        account: ``requestContext.accountId``.
        region: The API's region.
        request_id: ``requestContext.requestId``; default a new UUID.
        request_time: Epoch seconds; default now.

    Returns:
        The event.

    Raises:
        ValueError: On an unknown method, a path without a leading ``/``, a path parameter
            absent from the path, an incomplete client certificate or an ``identity``
            field that is not a caller field.
        TypeError: On header or query values, or ``identity`` values, that are not
            strings.
    """
    http_method = _method(method)
    if not path.startswith("/"):
        raise ValueError(f"a request path starts with '/': {path!r}")
    parameters = dict(path_parameters or {})
    resource_path = resource or _route_template(path, parameters)
    caller = _caller_identity(identity)
    text, is_base64, is_json = _http_body(body)
    domain = f"{api_id}.execute-api.{region}.amazonaws.com"
    defaults = {
        "Host": domain,
        "User-Agent": user_agent,
        "X-Forwarded-For": source_ip,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if is_json:
        defaults["Content-Type"] = "application/json"
    header_pairs = _with_default_headers(_multi(headers, "header"), defaults)
    query_pairs = _multi(query, "query parameter")
    when = _now() if request_time is None else request_time
    generated_id, extended_id = _request_ids()
    fields: dict[str, Any] = {
        "accessKey": None,
        "accountId": None,
        "apiKey": None,
        "apiKeyId": None,
        "caller": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "sourceIp": source_ip,
        "user": None,
        "userAgent": user_agent,
        "userArn": None,
    }
    fields.update(caller)
    if client_cert is not None:
        fields["clientCert"] = _checked_client_cert(client_cert)
    context: dict[str, Any] = {
        "accountId": account,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": api_id,
        "extendedRequestId": extended_id,
        "httpMethod": http_method,
        "identity": fields,
        "path": f"/{stage}{path}",
        "protocol": "HTTP/1.1",
        "requestId": request_id or generated_id,
        "requestTime": _request_time(when),
        "requestTimeEpoch": int(when * 1000),
        "resourceId": hashlib.sha256(resource_path.encode()).hexdigest()[:6],
        "resourcePath": resource_path,
        "stage": stage,
    }
    if authorizer is not None:
        context["authorizer"] = _plain_dict(authorizer, "authorizer")
    return {
        "resource": resource_path,
        "path": path,
        "httpMethod": http_method,
        "headers": {name: values[-1] for name, values in header_pairs},
        "multiValueHeaders": dict(header_pairs),
        "queryStringParameters": (
            {name: values[-1] for name, values in query_pairs} if query_pairs else None
        ),
        "multiValueQueryStringParameters": (dict(query_pairs) if query_pairs else None),
        "pathParameters": parameters or None,
        "stageVariables": dict(stage_variables) if stage_variables else None,
        "requestContext": context,
        "body": text,
        "isBase64Encoded": is_base64,
    }


def api_gateway_http_event(
    method: HttpMethod | str,
    path: str,
    *,
    route_key: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: MultiValues | None = None,
    headers: MultiValues | None = None,
    cookies: Sequence[str] | Mapping[str, str] | None = None,
    body: HttpBody | None = None,
    stage: str = "$default",
    stage_variables: Mapping[str, str] | None = None,
    client_cert: Mapping[str, Any] | None = None,
    authorizer: Mapping[str, Any] | None = None,
    source_ip: str = DEFAULT_SOURCE_IP,
    user_agent: str = DEFAULT_USER_AGENT,
    api_id: str = DEFAULT_API_ID,
    account: str = DEFAULT_ACCOUNT,
    region: str = DEFAULT_REGION,
    request_id: str | None = None,
    request_time: float | None = None,
) -> dict[str, Any]:
    """Build an HTTP API Lambda proxy integration event (payload format 2.0).

    Args:
        method: The request method.
        path: The request path, starting with ``/``. A stage other than ``$default`` is
            served under ``/<stage>``, and ``rawPath`` and ``requestContext.http.path``
            carry that prefix.
        route_key: The matched route, such as ``GET /items/{id}`` or ``$default``; by
            default the method and the path with ``path_parameters`` values replaced.
        path_parameters: ``pathParameters``; left out when none.
        query: Query parameters, each a string or a list of strings: ``rawQueryString``
            encodes them all, ``queryStringParameters`` joins repeated values with commas.
        headers: Request headers, each a string or a list of strings. Names are lower
            case and repeated values joined with commas. ``host``, ``user-agent``,
            ``x-forwarded-for``, ``x-forwarded-port`` and ``x-forwarded-proto`` are added
            unless given, and ``content-type: application/json`` for a mapping or list body.
            Pass cookies with ``cookies``.
        cookies: ``cookies``: ``name=value`` strings or a mapping of names to values.
        body: Text as it is; bytes base64-encoded with ``isBase64Encoded`` true; a mapping
            or list as JSON. Left out when ``None``.
        stage: The stage, ``$default`` by default.
        stage_variables: ``stageVariables``; left out when none.
        client_cert: The mutual TLS certificate (see :func:`client_certificate`), put in
            ``requestContext.authentication.clientCert``.
        authorizer: ``requestContext.authorizer``, for example ``{"jwt": {"claims": {...},
            "scopes": [...]}}``, ``{"lambda": {...}}`` or ``{"iam": {...}}``.
        source_ip: ``requestContext.http.sourceIp``.
        user_agent: ``requestContext.http.userAgent`` and the default ``user-agent``.
        api_id: The HTTP API id.
        account: ``requestContext.accountId``.
        region: The API's region.
        request_id: ``requestContext.requestId``; default generated.
        request_time: Epoch seconds; default now.

    Returns:
        The event, ``"version": "2.0"``.

    Raises:
        ValueError: On an unknown method, a path without a leading ``/``, a path parameter
            absent from the path, a ``cookie`` header or an incomplete client certificate.
        TypeError: On header, query or cookie values that are not strings.
    """
    http_method = _method(method)
    if not path.startswith("/"):
        raise ValueError(f"a request path starts with '/': {path!r}")
    parameters = dict(path_parameters or {})
    route = route_key or f"{http_method} {_route_template(path, parameters)}"
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    text, is_base64, is_json = _http_body(body)
    domain = f"{api_id}.execute-api.{region}.amazonaws.com"
    defaults = {
        "host": domain,
        "user-agent": user_agent,
        "x-forwarded-for": source_ip,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if is_json:
        defaults["content-type"] = "application/json"
    merged: dict[str, list[str]] = {}
    for name, values in _with_default_headers(_multi(headers, "header"), defaults):
        merged.setdefault(name.lower(), []).extend(values)
    if "cookie" in merged:
        raise ValueError("payload 2.0 carries cookies in the cookies field: pass cookies=")
    query_pairs = _multi(query, "query parameter")
    if isinstance(cookies, Mapping):
        cookie_list = [f"{name}={value}" for name, value in cookies.items()]
    else:
        cookie_list = list(cookies or [])
    if not all(isinstance(c, str) for c in cookie_list):
        raise TypeError("cookies are strings")
    when = _now() if request_time is None else request_time
    _, short_id = _request_ids()
    context: dict[str, Any] = {"accountId": account, "apiId": api_id}
    if client_cert is not None:
        context["authentication"] = {"clientCert": _checked_client_cert(client_cert)}
    if authorizer is not None:
        context["authorizer"] = _plain_dict(authorizer, "authorizer")
    context.update(
        {
            "domainName": domain,
            "domainPrefix": api_id,
            "http": {
                "method": http_method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": user_agent,
            },
            "requestId": request_id or short_id,
            "routeKey": route,
            "stage": stage,
            "time": _request_time(when),
            "timeEpoch": int(when * 1000),
        }
    )
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": raw_path,
        "rawQueryString": urlencode(
            [(name, value) for name, values in query_pairs for value in values]
        ),
    }
    if cookie_list:
        event["cookies"] = cookie_list
    event["headers"] = {name: ",".join(values) for name, values in merged.items()}
    if query_pairs:
        event["queryStringParameters"] = {name: ",".join(values) for name, values in query_pairs}
    event["requestContext"] = context
    if text is not None:
        event["body"] = text
    if parameters:
        event["pathParameters"] = parameters
    event["isBase64Encoded"] = is_base64
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    return event


def cognito_token(
    *,
    sub: str = "0f5c1a3e-7d2b-4c8e-9a61-2b7e4d9c1f00",
    username: str = "survivor",
    email: str | None = None,
    groups: Sequence[str] = (),
    token_use: Literal["id", "access"] = "id",  # noqa: S107 - a claim's name, not a secret
    scopes: Sequence[str] = (),
    user_pool_id: str = "us-east-1_Example1",
    client_id: str = "exampleclientid0123456789",
    region: str = DEFAULT_REGION,
    issued_at: float | None = None,
    expires_in: int = 3600,
) -> str:
    """Build a Cognito user pool token (a JWT) shaped as Cognito issues it, unsigned.

    For tests of methods behind a Cognito user pool authorizer: the local cloud reads the
    claims of the ``Authorization`` header's token into ``requestContext.authorizer``
    without checking a signature, so this token carries none that AWS would accept.

    Args:
        sub: The user's ``sub``.
        username: ``cognito:username`` (an ID token) or ``username`` (an access token).
        email: The ``email`` claim (ID tokens), with ``email_verified``; None for none.
        groups: ``cognito:groups``.
        token_use: ``id`` (the default) or ``access``.
        scopes: The ``scope`` claim of an access token.
        user_pool_id: The pool, which makes ``iss``.
        client_id: The app client: ``aud`` of an ID token, ``client_id`` of an access token.
        region: The pool's Region.
        issued_at: ``iat`` and ``auth_time``, epoch seconds. Defaults to now.
        expires_in: Seconds from ``iat`` to ``exp``; negative for an expired token.

    Returns:
        ``<header>.<payload>.<signature>``, base64url without padding.
    """
    issued = int(_now() if issued_at is None else issued_at)
    claims: dict[str, Any] = {
        "sub": sub,
        "iss": f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}",
        "token_use": token_use,
        "auth_time": issued,
        "iat": issued,
        "exp": issued + expires_in,
        "jti": str(uuid.uuid4()),
        "origin_jti": str(uuid.uuid4()),
        "event_id": str(uuid.uuid4()),
    }
    if groups:
        claims["cognito:groups"] = list(groups)
    if token_use == "id":  # noqa: S105 - a claim's value, not a secret
        claims.update({"aud": client_id, "cognito:username": username})
        if email is not None:
            claims.update({"email": email, "email_verified": True})
    else:
        claims.update({"client_id": client_id, "username": username})
        claims["scope"] = " ".join(scopes) or "aws.cognito.signin.user.admin"
    header = {"kid": "local-test-key", "alg": "RS256"}

    def part(value: Mapping[str, Any]) -> str:
        text = json.dumps(value, separators=(",", ":")).encode()
        return _b64url(text)

    signature = _b64url(hashlib.sha256(part(header).encode() + part(claims).encode()).digest())
    return f"{part(header)}.{part(claims)}.{signature}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
