"""API Gateway HTTP APIs (v2): route HTTP requests to Lambda proxy integrations.

:class:`HttpApis` keeps the HTTP APIs a template deploys (``AWS::ApiGatewayV2::Api`` with
its ``Integration``, ``Route``, ``Stage`` and ``Authorizer`` resources; ``Deployment`` is
recorded only) and answers requests made with :meth:`HttpApis.request` as the stage's
invoke URL would (the ``$default`` stage from the root, a named stage under
``/<stage>``):

* Routing picks the most specific route: path segments are compared from the left, a
  literal beating a ``{param}``, which beats a greedy ``{proxy+}`` (last segment only);
  with equal paths the request's own method beats ``ANY``. ``$default`` catches every
  request no route matches; without it the answer is ``404 {"message":"Not Found"}``.
* A route with ``JWT`` authorization reads its authorizer's identity source (the
  ``Authorization`` header, a ``Bearer`` prefix allowed) and decodes the token's
  payload **without checking its signature**. A missing or malformed token, an ``iss``
  other than the authorizer's ``Issuer``, an ``aud`` (or, without ``aud``,
  ``client_id``) outside its ``Audience``, an ``exp`` at or before the cloud's clock or
  an ``nbf`` after it is ``401 {"message":"Unauthorized"}``; a route with
  ``AuthorizationScopes`` needs one of them in the token's ``scope`` (or ``scp``) claim,
  else ``403 {"message":"Forbidden"}``. The claims reach the function as
  ``requestContext.authorizer.jwt.claims``, every value a string (arrays as ``[a b]``),
  and the token's scopes as ``requestContext.authorizer.jwt.scopes`` (null when the
  route asks for none). ``AWS_IAM`` and Lambda (``REQUEST``) authorizers are not run:
  those requests are let through.
* An ``AWS_PROXY`` integration with a Lambda function (or alias) ARN invokes it
  synchronously, logged with source ``apigateway``. Payload format 2.0 builds the event
  with :func:`~lambda_blueprints.testing.events.api_gateway_http_event` (cookies from the
  ``Cookie`` header, lower-case headers and repeated query values joined by commas) and
  maps the result: a JSON object with ``statusCode`` is the response (``headers``,
  ``cookies`` as ``Set-Cookie`` lines, ``body``, ``isBase64Encoded``); any other JSON
  value is ``200`` with ``content-type: application/json`` and the value as the body.
  Payload format 1.0 sends a REST-style event and reads the result as REST APIs do.
  A function error, a throttle or a malformed result is ``500 {"message":"Internal
  Server Error"}``; a function slower than the integration's ``TimeoutInMillis``
  (30,000 by default) is ``503 {"message":"Service Unavailable"}``.

Left out: WebSocket APIs and OpenAPI ``Body`` imports (a deploy raises
``NotImplementedError``), integrations other than Lambda ``AWS_PROXY`` (a request reaching
one raises ``NotImplementedError``), signatures and IAM policies, Lambda authorizers,
CORS preflight handling, parameter mappings, throttling, custom domain names, mutual TLS
and stages serving older deployments (every stage serves the deployed routes).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys
from lambda_blueprints.testing.activity import Invocation, InvocationThrottled
from lambda_blueprints.testing.apigateway import (
    HttpResponse,
    _header,
    _jwt_claims,
    _merge_query,
    _new_id,
    _proxy_result,
    _truthy,
    pick_api,
)
from lambda_blueprints.testing.events import api_gateway_http_event, api_gateway_rest_event

if TYPE_CHECKING:
    from lambda_blueprints.testing._core import ServiceContext
    from lambda_blueprints.testing.activity import InvokeResult

#: Resource types of API Gateway HTTP APIs that the local cloud deploys.
APIGATEWAYV2_TYPES = frozenset(
    {
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Integration",
        "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::Stage",
        "AWS::ApiGatewayV2::Authorizer",
        "AWS::ApiGatewayV2::Deployment",
    }
)
#: The integration timeout of an HTTP API when an integration sets none (30 seconds).
DEFAULT_HTTP_INTEGRATION_TIMEOUT_MS = 30_000
_LAMBDA_URI = re.compile(
    r"^arn:[^:]+:apigateway:[^:]+:lambda:path/2015-03-31/functions/(.+)/invocations$"
)
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(.*\+)?(json|xml|javascript|x-www-form-urlencoded))$"
)
_NOT_FOUND = (404, "Not Found")
_UNAUTHORIZED = (401, "Unauthorized")
_FORBIDDEN = (403, "Forbidden")
_INTERNAL = (500, "Internal Server Error")
_UNAVAILABLE = (503, "Service Unavailable")


@dataclass
class HttpIntegration:
    """An integration of an HTTP API (``AWS::ApiGatewayV2::Integration``)."""

    id: str
    integration_type: str
    uri: str
    payload_format_version: str = "2.0"
    timeout_ms: int = DEFAULT_HTTP_INTEGRATION_TIMEOUT_MS
    subtype: str | None = None


@dataclass
class HttpRoute:
    """A route of an HTTP API (``AWS::ApiGatewayV2::Route``).

    Attributes:
        id: The route id.
        route_key: ``GET /items/{id}``, ``ANY /{proxy+}`` or ``$default``.
        target: ``integrations/<id>``, or empty.
        authorization_type: ``NONE``, ``JWT``, ``AWS_IAM`` or ``CUSTOM``.
        authorizer_id: The authorizer of ``JWT`` or ``CUSTOM`` routes.
        authorization_scopes: Scopes one of which a JWT must carry.
    """

    id: str
    route_key: str
    target: str = ""
    authorization_type: str = "NONE"
    authorizer_id: str | None = None
    authorization_scopes: tuple[str, ...] = ()

    @property
    def method(self) -> str | None:
        """The route's method (``ANY`` included); None for ``$default``."""
        return None if self.route_key == "$default" else self.route_key.split(" ", 1)[0]

    @property
    def segments(self) -> list[str]:
        """The route path's segments; empty for ``$default`` and ``/``."""
        if self.route_key == "$default":
            return []
        trimmed = self.route_key.split(" ", 1)[-1].strip("/")
        return trimmed.split("/") if trimmed else []


@dataclass
class HttpStage:
    """A stage of an HTTP API (``AWS::ApiGatewayV2::Stage``)."""

    name: str
    variables: dict[str, str] = field(default_factory=dict)
    auto_deploy: bool = False


@dataclass
class HttpApi:
    """A deployed HTTP API and everything that belongs to it."""

    id: str
    name: str
    logical_id: str
    endpoint: str
    integrations: dict[str, HttpIntegration] = field(default_factory=dict)
    routes: dict[str, HttpRoute] = field(default_factory=dict)
    stages: dict[str, HttpStage] = field(default_factory=dict)
    authorizers: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    deployments: list[str] = field(default_factory=list)


class _Reply(Exception):  # noqa: N818 - control flow, never escapes this module
    """A gateway error response, raised to stop handling a request."""

    def __init__(self, reply: tuple[int, str]) -> None:
        super().__init__(reply[1])
        self.status, self.message = reply


class HttpApis:
    """The local cloud's API Gateway for HTTP APIs.

    Args:
        context: The local cloud's Lambda invoker, activity log, clock, account and region.
    """

    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        #: HTTP APIs by id.
        self.apis: dict[str, HttpApi] = {}

    # -- deploy ----------------------------------------------------------------------

    def deploy(
        self, kind: str, logical_id: str, props: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]]:
        """Deploy one HTTP API resource from its resolved properties.

        Returns:
            Its physical id (what ``Ref`` returns) and its ``Fn::GetAtt`` attributes.

        Raises:
            NotImplementedError: A WebSocket API, or an API from an OpenAPI definition.
            KeyError: A reference to an API that does not exist.
        """
        short = kind.rsplit("::", 1)[-1]
        if short == "Api":
            return self._api_resource(logical_id, props)
        api = self._api(props["ApiId"])
        if short == "Integration":
            integration = HttpIntegration(
                id=_new_id(7),
                integration_type=str(props.get("IntegrationType", "")).upper(),
                uri=str(props.get("IntegrationUri") or ""),
                payload_format_version=str(props.get("PayloadFormatVersion") or "2.0"),
                timeout_ms=int(props.get("TimeoutInMillis") or DEFAULT_HTTP_INTEGRATION_TIMEOUT_MS),
                subtype=str(props["IntegrationSubtype"])
                if props.get("IntegrationSubtype")
                else None,
            )
            api.integrations[integration.id] = integration
            return integration.id, {"IntegrationId": integration.id}
        if short == "Route":
            route = HttpRoute(
                id=_new_id(7),
                route_key=str(props["RouteKey"]),
                target=str(props.get("Target") or ""),
                authorization_type=str(props.get("AuthorizationType") or "NONE").upper(),
                authorizer_id=str(props["AuthorizerId"]) if props.get("AuthorizerId") else None,
                authorization_scopes=tuple(str(s) for s in props.get("AuthorizationScopes") or ()),
            )
            api.routes[route.id] = route
            return route.id, {"RouteId": route.id}
        if short == "Stage":
            name = str(props.get("StageName") or "$default")
            api.stages[name] = HttpStage(
                name=name,
                variables={str(k): str(v) for k, v in (props.get("StageVariables") or {}).items()},
                auto_deploy=_truthy(props.get("AutoDeploy")),
            )
            return name, {}
        if short == "Authorizer":
            authorizer_id = _new_id(6)
            api.authorizers[authorizer_id] = dict(props)
            return authorizer_id, {"AuthorizerId": authorizer_id}
        # Deployment: recorded; every stage serves the routes deployed.
        deployment_id = _new_id(6)
        api.deployments.append(deployment_id)
        if props.get("StageName") and str(props["StageName"]) not in api.stages:
            api.stages[str(props["StageName"])] = HttpStage(str(props["StageName"]))
        return deployment_id, {"DeploymentId": deployment_id}

    def _api_resource(
        self, logical_id: str, props: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]]:
        protocol = str(props.get("ProtocolType") or "HTTP").upper()
        for unsupported in ("Body", "BodyS3Location"):
            if props.get(unsupported):
                raise NotImplementedError(
                    f"{logical_id}: HTTP APIs from an OpenAPI {unsupported} are not emulated; "
                    "define routes and integrations in the template"
                )
        if protocol != "HTTP":
            raise NotImplementedError(
                f"{logical_id}: {protocol} APIs (AWS::ApiGatewayV2::Api) are not emulated; "
                "only HTTP APIs are"
            )
        api_id = _new_id(10)
        api = HttpApi(
            id=api_id,
            name=str(props.get("Name") or logical_id),
            logical_id=logical_id,
            endpoint=f"https://{api_id}.execute-api.{self._context.region}.amazonaws.com",
        )
        if props.get("Target"):
            # Quick create: a $default route to a Lambda proxy integration, $default stage.
            integration = HttpIntegration(_new_id(7), "AWS_PROXY", str(props["Target"]))
            api.integrations[integration.id] = integration
            route = HttpRoute(
                _new_id(7),
                str(props.get("RouteKey") or "$default"),
                f"integrations/{integration.id}",
            )
            api.routes[route.id] = route
            api.stages["$default"] = HttpStage("$default", auto_deploy=True)
        self.apis[api_id] = api
        return api_id, {"ApiId": api_id, "ApiEndpoint": api.endpoint}

    def _api(self, api_id: Any) -> HttpApi:
        api = self.apis.get(str(api_id))
        if api is None:
            raise KeyError(f"no HTTP API {api_id!r} is deployed")
        return api

    # -- requests --------------------------------------------------------------------

    def find_api(self, api: str | None = None) -> HttpApi:
        """The API by id, name or logical id; the only one when ``api`` is None.

        Raises:
            ValueError: No API matches, or several do.
        """
        return pick_api(self.apis.values(), api, "HTTP API")

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        body: str | bytes | None = None,
        api: str | None = None,
        stage: str | None = None,
    ) -> HttpResponse:
        """Send a request to a stage of an HTTP API, as its invoke URL would receive it.

        Args:
            method: The HTTP method.
            path: The path after the stage (from the root for ``$default``), starting
                with ``/``; a query string after ``?`` is added to ``query``.
            query: Query string parameters, each one value or several.
            headers: Request headers; a ``Cookie`` header becomes the event's ``cookies``.
            body: The request body.
            api: The API's id, name or logical id; needed when several are deployed.
            stage: The stage name; by default ``$default``, or the API's only stage.

        Returns:
            The response.

        Raises:
            ValueError: No such API or stage, or a path without a leading ``/``.
            NotImplementedError: The route's integration is not emulated.
        """
        http_api = self.find_api(api)
        chosen = self._stage(http_api, stage)
        if not path.startswith("/"):
            raise ValueError(f"a request path starts with '/': {path!r}")
        path, _, query_text = path.partition("?")
        parameters = _merge_query(query, query_text)
        request_headers = dict(headers or {})
        try:
            route, path_parameters = _route(http_api, method.upper(), path)
            authorizer = self._authorize(http_api, route, request_headers)
            integration = http_api.integrations.get(route.target.removeprefix("integrations/"))
            if integration is None:
                raise _Reply(_NOT_FOUND)
            return self._integrate(
                http_api,
                route,
                integration,
                _Request(
                    method=method.upper(),
                    path=path,
                    path_parameters=path_parameters,
                    query=parameters,
                    headers=request_headers,
                    body=body,
                    stage=chosen,
                    authorizer=authorizer,
                ),
            )
        except _Reply as reply:
            return _message(reply.status, reply.message)

    def url_request(self, api: str | None = None) -> Callable[..., HttpResponse]:
        """A request function answering full invoke URL paths of one API, for a server.

        ``/<stage>/<path>`` goes to a named stage, every other path to ``$default`` (a
        path for no stage is ``404 {"message":"Not Found"}``). The function takes
        ``(method, path, *, query=None, headers=None, body=None)``.

        Raises:
            ValueError: No API matches ``api``, or several do.
        """
        api_id = self.find_api(api).id

        def request(
            method: str,
            path: str,
            *,
            query: Mapping[str, str | Sequence[str]] | None = None,
            headers: Mapping[str, str] | None = None,
            body: str | bytes | None = None,
        ) -> HttpResponse:
            stages = self.apis[api_id].stages
            first, slash, rest = path.lstrip("/").partition("/")
            if first in stages and first != "$default":
                stage, path = first, slash + rest or "/"
            elif "$default" in stages:
                stage = "$default"
            else:
                return _message(*_NOT_FOUND)
            return self.request(
                method, path, query=query, headers=headers, body=body, api=api_id, stage=stage
            )

        return request

    def _stage(self, api: HttpApi, stage: str | None) -> HttpStage:
        if stage is not None:
            if stage not in api.stages:
                raise ValueError(f"{api.name} has no stage {stage!r}: {sorted(api.stages)}")
            return api.stages[stage]
        if "$default" in api.stages:
            return api.stages["$default"]
        if len(api.stages) != 1:
            raise ValueError(f"{api.name} has stages {sorted(api.stages)}: pass stage=")
        return next(iter(api.stages.values()))

    def _authorize(
        self, api: HttpApi, route: HttpRoute, headers: Mapping[str, str]
    ) -> dict[str, Any] | None:
        """``requestContext.authorizer`` of a JWT route; None for other routes.

        Raises:
            _Reply: 401 for a missing, malformed, expired or foreign token; 403 for a
                token without one of the route's scopes.
        """
        if route.authorization_type != "JWT":
            return None
        authorizer = api.authorizers.get(route.authorizer_id or "", {})
        sources = authorizer.get("IdentitySource") or ["$request.header.Authorization"]
        source = str(sources[0] if isinstance(sources, list) else sources)
        token = _header(headers, source.rsplit(".", 1)[-1])
        claims = _jwt_claims(token or "")
        if claims is None:
            raise _Reply(_UNAUTHORIZED)
        config = authorizer.get("JwtConfiguration") or {}
        issuer = config.get("Issuer")
        if issuer and claims.get("iss") != issuer:
            raise _Reply(_UNAUTHORIZED)
        audiences = {str(a) for a in config.get("Audience") or ()}
        audience = claims.get("aud") if "aud" in claims else claims.get("client_id")
        presented = set(audience) if isinstance(audience, list) else {audience}
        if audiences and not {str(a) for a in presented} & audiences:
            raise _Reply(_UNAUTHORIZED)
        now = self._context.clock.now()
        expiry = claims.get("exp")
        if not isinstance(expiry, int | float) or isinstance(expiry, bool) or expiry <= now:
            raise _Reply(_UNAUTHORIZED)
        not_before = claims.get("nbf")
        if isinstance(not_before, int | float) and not_before > now:
            raise _Reply(_UNAUTHORIZED)
        granted = _scopes(claims)
        if route.authorization_scopes and not set(granted) & set(route.authorization_scopes):
            raise _Reply(_FORBIDDEN)
        return {
            "jwt": {
                "claims": {name: _claim_text(value) for name, value in claims.items()},
                "scopes": granted if route.authorization_scopes else None,
            }
        }

    def _integrate(
        self, api: HttpApi, route: HttpRoute, integration: HttpIntegration, request: _Request
    ) -> HttpResponse:
        uri = _LAMBDA_URI.match(integration.uri)
        function_arn = uri.group(1) if uri is not None else integration.uri
        if (
            integration.integration_type != "AWS_PROXY"
            or integration.subtype is not None
            or ":function:" not in function_arn
        ):
            kind = integration.subtype or integration.integration_type or "no"
            raise NotImplementedError(
                f"{route.route_key} of {api.name}: {kind} integrations are not emulated "
                "(only AWS_PROXY to a Lambda function)"
            )
        event, request_id = self._event(api, route, integration, request)
        try:
            function = self._context.function(function_arn)
        except KeyError as error:
            raise _Reply(_INTERNAL) from error
        try:
            result: InvokeResult | None = self._context.invoke(function.name, event)
        except InvocationThrottled:
            result = None
        response: HttpResponse | None = None
        failure: _Reply | None = None
        if result is None or not result.ok:
            failure = _Reply(_INTERNAL)
        elif result.duration_ms > integration.timeout_ms:
            failure = _Reply(_UNAVAILABLE)
        else:
            response = _result_response(
                result.payload, integration.payload_format_version, request_id
            )
            if response is None:
                failure = _Reply(_INTERNAL)
        if result is not None:
            self._context.log.add(
                Invocation(
                    source="apigateway",
                    mapping_id=api.id,
                    function=function.name,
                    items=(request_id,),
                    event=event,
                    result=result,
                    outcome="success" if response is not None else "failure",
                    at=self._context.clock.now(),
                )
            )
        if response is None:
            raise failure or _Reply(_INTERNAL)
        return response

    def _event(
        self, api: HttpApi, route: HttpRoute, integration: HttpIntegration, request: _Request
    ) -> tuple[dict[str, Any], str]:
        """The proxy event of the integration's payload format, and the request id."""
        content_type = _header(request.headers, "Content-Type") or ""
        body: str | bytes | None = request.body
        if isinstance(body, bytes) and _TEXT_TYPES.match(content_type.split(";")[0].strip()):
            with contextlib.suppress(UnicodeDecodeError):
                body = body.decode("utf-8")
        now = self._context.clock.now()
        if integration.payload_format_version == "1.0":
            event = api_gateway_rest_event(
                request.method,
                request.path,
                resource=route.route_key.split(" ", 1)[-1],
                path_parameters=request.path_parameters,
                query=dict(request.query),
                headers=request.headers,
                body=body,
                stage=request.stage.name,
                stage_variables=request.stage.variables or None,
                api_id=api.id,
                account=self._context.account_id,
                region=self._context.region,
                request_time=now,
                authorizer=request.authorizer,
            )
            event = {"version": "1.0", **event}
            if request.stage.name == "$default":
                event["requestContext"]["path"] = request.path
            event["requestContext"]["routeKey"] = route.route_key
            return event, str(event["requestContext"]["requestId"])
        cookies: list[str] = []
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            if name.lower() == "cookie":
                cookies.extend(c.strip() for c in value.split(";") if c.strip())
            else:
                headers[name] = value
        event = api_gateway_http_event(
            request.method,
            request.path,
            route_key=route.route_key,
            path_parameters=request.path_parameters,
            query=dict(request.query),
            headers=headers,
            cookies=cookies,
            body=body,
            stage=request.stage.name,
            stage_variables=request.stage.variables or None,
            authorizer=request.authorizer,
            api_id=api.id,
            account=self._context.account_id,
            region=self._context.region,
            request_time=now,
        )
        return event, str(event["requestContext"]["requestId"])


@dataclass(frozen=True)
class _Request:
    """A request on its way to an integration."""

    method: str
    path: str
    path_parameters: Mapping[str, str]
    query: Sequence[tuple[str, list[str]]]
    headers: Mapping[str, str]
    body: str | bytes | None
    stage: HttpStage
    authorizer: Mapping[str, Any] | None = None


def _route(api: HttpApi, method: str, path: str) -> tuple[HttpRoute, dict[str, str]]:
    """The most specific route of a request, with its path parameters.

    Raises:
        _Reply: 404 when no route matches and there is no ``$default`` route.
    """
    trimmed = path.strip("/")
    segments = trimmed.split("/") if trimmed else []
    best: tuple[tuple[int, ...], HttpRoute, dict[str, str]] | None = None
    fallback: HttpRoute | None = None
    for route in api.routes.values():
        if route.method is None:
            fallback = route
            continue
        if route.method not in (method, "ANY"):
            continue
        matched = _match(route.segments, segments)
        if matched is None:
            continue
        ranks, parameters = matched
        key = (*ranks, 1 if route.method == method else 0)
        if best is None or key > best[0]:
            best = (key, route, parameters)
    if best is not None:
        return best[1], best[2]
    if fallback is not None:
        return fallback, {}
    raise _Reply(_NOT_FOUND)


def _match(
    template: Sequence[str], segments: Sequence[str]
) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """Match a route path to request segments: (a rank per segment, parameters) or None.

    A literal segment ranks 3, a ``{param}`` 2, a greedy ``{proxy+}`` 1; comparing the
    ranks from the left orders routes by specificity.
    """
    ranks: list[int] = []
    parameters: dict[str, str] = {}
    for position, part in enumerate(template):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[position:]
            if position != len(template) - 1 or not rest or not all(rest):
                return None
            parameters[part[1:-2]] = "/".join(rest)
            return (*ranks, 1), parameters
        if position >= len(segments):
            return None
        segment = segments[position]
        if part.startswith("{") and part.endswith("}"):
            if not segment:
                return None
            parameters[part[1:-1]] = segment
            ranks.append(2)
        elif part == segment:
            ranks.append(3)
        else:
            return None
    if len(template) != len(segments):
        return None
    # A longer exact route is never compared with a shorter one of equal prefix: both
    # cannot match the same request unless one ends greedy (ranked 1, lower).
    return (*ranks, 4), parameters


def _result_response(payload: Any, version: str, request_id: str) -> HttpResponse | None:
    """Map a function's result to the response; None when it is malformed (500)."""
    base = {"apigw-requestid": request_id}
    if version == "1.0":
        parsed = _proxy_result(payload)
        if parsed is None:
            return None
        status, single, multi, text, is_base64 = parsed
        merged: dict[str, list[str]] = {"Content-Type": ["application/json"]}
        merged.update({name: [value] for name, value in base.items()})
        for name in [*single, *multi]:
            values = list(multi.get(name, []))
            if name in single and single[name] not in values:
                values.insert(0, single[name])
            for key in [k for k in merged if k.lower() == name.lower()]:
                del merged[key]
            merged[name] = values
        return _decoded(status, merged, text, is_base64)
    if not isinstance(payload, dict) or "statusCode" not in payload:
        # Any JSON value without a statusCode is the body of a 200 JSON response.
        merged = {"content-type": ["application/json"], "apigw-requestid": [request_id]}
        return _response(200, merged, json.dumps(payload).encode())
    code: Any = payload.get("statusCode")
    headers = payload.get("headers") or {}
    cookies = payload.get("cookies") or []
    body = payload.get("body")
    is_base64 = payload.get("isBase64Encoded", False)
    if (
        isinstance(code, bool)
        or not isinstance(code, int)
        or not 100 <= code <= 599
        or not isinstance(headers, dict)
        or not isinstance(cookies, list)
        or not all(isinstance(c, str) for c in cookies)
        or not isinstance(is_base64, bool)
        or not all(isinstance(v, str | int | float | bool) for v in headers.values())
    ):
        return None
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    merged = {name: [value] for name, value in base.items()}
    for name, value in headers.items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        merged[str(name)] = [text]
    if cookies:
        merged["set-cookie"] = list(cookies)
    return _decoded(code, merged, body or "", is_base64)


def _decoded(
    status: int, headers: dict[str, list[str]], text: str, is_base64: bool
) -> HttpResponse | None:
    content = text.encode()
    if is_base64:
        try:
            content = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return None
    return _response(status, headers, content)


def _response(status: int, headers: Mapping[str, Sequence[str]], content: bytes) -> HttpResponse:
    return HttpResponse.of(status, headers, content)


def _message(status: int, message: str) -> HttpResponse:
    """A gateway error: ``{"message": ...}`` as HTTP APIs write it."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return _response(status, {"content-type": ["application/json"]}, body)


def _scopes(claims: Mapping[str, Any]) -> list[str]:
    """The token's scopes: its ``scope`` claim (space-separated) or ``scp`` (a list)."""
    value = claims.get("scope", claims.get("scp"))
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def _claim_text(value: Any) -> str:
    """A claim as an HTTP API passes it in payload 2.0: a string, arrays as ``[a b]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_claim_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@deploys(*APIGATEWAYV2_TYPES)
def _apigatewayv2(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    # HTTP API resources all go to the local HTTP API service.
    ref, attributes = stack.service(HttpApis).deploy(kind, logical_id, props)
    return Resource(logical_id, kind, "", ref, attributes)


__all__ = [
    "APIGATEWAYV2_TYPES",
    "DEFAULT_HTTP_INTEGRATION_TIMEOUT_MS",
    "HttpApi",
    "HttpApis",
    "HttpIntegration",
    "HttpRoute",
    "HttpStage",
]
