"""API Gateway REST APIs: route HTTP requests to Lambda (proxy or mapped) and mock integrations.

:class:`ApiGateway` keeps the REST APIs a template deploys (``AWS::ApiGateway::RestApi``
with its ``Resource``, ``Method``, ``Deployment``, ``Stage``, ``RequestValidator``,
``Model`` and ``GatewayResponse`` resources; ``Account``, ``UsagePlan``, ``UsagePlanKey``,
``ApiKey`` and ``Authorizer`` are recorded only) and answers requests made with
:meth:`ApiGateway.request` (``LocalCloud.http``) as the stage's invoke URL would:

* The path (after the stage) is routed over the resource tree: a literal part beats a
  ``{param}``, which beats a greedy ``{proxy+}``; the most specific resource that matches
  the whole path wins, and then its method or its ``ANY`` method answers. No matching
  resource, or a resource without that method, is ``403 {"message": "Missing
  Authentication Token"}``.
* When the method's request validator validates request parameters, a missing required
  query string or header is ``400 {"message": "Missing required request parameters:
  [...]"}``.
* An ``AWS_PROXY`` integration with a Lambda function invokes it synchronously with a
  REST (payload 1.0) proxy event
  (:func:`~lambda_blueprints.testing.events.api_gateway_rest_event`: resource template,
  path parameters, stage, stage variables, multi-value query strings and headers) and maps
  its result (``statusCode``, ``headers``, ``multiValueHeaders``, ``body``,
  ``isBase64Encoded``). A function error, a throttle or a malformed result is ``502
  {"message": "Internal server error"}``; a function slower than the integration's
  ``TimeoutInMillis`` is ``504``. Each invocation is logged with source ``apigateway``.
* ``MOCK`` and non-proxy Lambda (``AWS``) integrations go through their mapping
  templates (:mod:`~lambda_blueprints.testing.mapping_templates`, rendered by a Velocity
  engine). The request template is chosen by the request's ``Content-Type``
  (``application/json`` without one); with none for it, ``PassthroughBehavior`` passes the
  body through (``WHEN_NO_MATCH``, or ``WHEN_NO_TEMPLATES`` when the method has none) or
  answers ``415`` (``NEVER``). A mock's rendered ``statusCode`` (200 without one) is
  matched against the ``SelectionPattern`` of its integration responses; a Lambda
  function is invoked with the rendered payload (a payload that is not JSON is a
  ``500``), and a function error's ``errorMessage`` is matched against them, a success
  taking the default response. The chosen response's template (by ``Accept``, else
  ``application/json``, else its first) renders the body, its ``ResponseParameters`` set
  static and ``integration.response.body`` headers, and ``$context.responseOverride``
  may change the status and headers. No matching response and no default is a ``500``.
* Request and response bodies follow the API's ``BinaryMediaTypes``: a request whose
  ``Content-Type`` matches one reaches the function base64-encoded; a base64 result is
  decoded when the request's ``Accept`` matches one, and passed on as text otherwise.
* ``GatewayResponse`` resources replace the status, ``application/json`` template
  (``$context.error.messageString``, ``$context.error.message`` and
  ``$context.requestId`` are filled in) and static headers of the gateway's own errors
  (``MISSING_AUTHENTICATION_TOKEN``, ``BAD_REQUEST_PARAMETERS``, then ``DEFAULT_4XX`` or
  ``DEFAULT_5XX``).

* A method behind a Cognito user pool authorizer reads its token's claims into
  ``requestContext.authorizer.claims`` (strings); a missing or malformed token is ``401
  Unauthorized``, an expired one ``401 The incoming token has expired``, a token of the
  wrong use or without one of the method's scopes ``401``. The signature is not checked.

Left out: signatures and policies (Cognito token signatures, ``AWS_IAM``, Lambda
authorizers, API keys and usage plans are never checked: those requests are let
through), request body validation against models, ``HTTP`` and ``HTTP_PROXY``
integrations and ``AWS`` integrations with other services (a request reaching one raises
``NotImplementedError``), ``ContentHandling`` conversions, request parameter mappings of
non-proxy integrations, OpenAPI ``Body`` imports, CORS preflight handling beyond the
methods the template defines, throttling, caching, custom domain names, and stages
serving older deployments (every stage serves the deployed tree).
Path parameters are passed as they appear in the request path.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import re
import secrets
import string
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import parse_qsl

from lambda_blueprints.testing import _json
from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys
from lambda_blueprints.testing.activity import Invocation, InvocationThrottled
from lambda_blueprints.testing.events import api_gateway_rest_event
from lambda_blueprints.testing.mapping_templates import (
    MappingTemplateError,
    render_template,
    select,
)

if TYPE_CHECKING:
    from lambda_blueprints.testing._core import ServiceContext
    from lambda_blueprints.testing.activity import InvokeResult

#: Resource types of API Gateway REST APIs that the local cloud deploys.
APIGATEWAY_TYPES = frozenset(
    {
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Resource",
        "AWS::ApiGateway::Method",
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Stage",
        "AWS::ApiGateway::RequestValidator",
        "AWS::ApiGateway::Model",
        "AWS::ApiGateway::Account",
        "AWS::ApiGateway::GatewayResponse",
        "AWS::ApiGateway::UsagePlan",
        "AWS::ApiGateway::UsagePlanKey",
        "AWS::ApiGateway::ApiKey",
        "AWS::ApiGateway::Authorizer",
    }
)
#: The integration timeout when a method sets none (29 seconds).
DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000
_LAMBDA_URI = re.compile(
    r"^arn:[^:]+:apigateway:[^:]+:lambda:path/2015-03-31/functions/(.+)/invocations$"
)
_PROXY_RESULT_KEYS = frozenset(
    {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
)
_ID_CHARACTERS = string.ascii_lowercase + string.digits
_STATIC_VALUE = re.compile(r"^'(.*)'$", re.DOTALL)


@dataclass(frozen=True)
class HttpResponse:
    """What a client receives from a REST API.

    Attributes:
        status: The HTTP status code.
        headers: The response headers, several values of one header joined by ``, ``.
        body: The body as text (binary bodies decoded as UTF-8, bad bytes replaced).
        multi_value_headers: Every value of every header.
        content: The body bytes.
    """

    status: int
    headers: dict[str, str]
    body: str
    multi_value_headers: dict[str, list[str]] = field(default_factory=dict)
    content: bytes = b""

    @classmethod
    def of(cls, status: int, headers: Mapping[str, Sequence[str]], content: bytes) -> HttpResponse:
        """A response from every value of every header and the body bytes."""
        multi = {name: list(values) for name, values in headers.items()}
        return cls(
            status=status,
            headers={name: ", ".join(values) for name, values in multi.items()},
            body=content.decode("utf-8", errors="replace"),
            multi_value_headers=multi,
            content=content,
        )

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """A header's value, by case-insensitive name; None when absent."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class ApiMethod:
    """A method of a resource (``AWS::ApiGateway::Method``)."""

    id: str
    http_method: str
    integration: Mapping[str, Any]
    request_parameters: Mapping[str, Any] = field(default_factory=dict)
    request_validator_id: str | None = None
    authorization_type: str = "NONE"
    authorizer_id: str | None = None
    authorization_scopes: tuple[str, ...] = ()


@dataclass
class ApiResource:
    """A resource of the tree (``AWS::ApiGateway::Resource``, or the root)."""

    id: str
    parent_id: str | None
    path_part: str
    methods: dict[str, ApiMethod] = field(default_factory=dict)


@dataclass
class RestApi:
    """A deployed REST API and everything that belongs to it."""

    id: str
    name: str
    logical_id: str
    root_id: str
    binary_media_types: tuple[str, ...] = ()
    resources: dict[str, ApiResource] = field(default_factory=dict)
    validators: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    stages: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    models: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    gateway_responses: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    deployments: list[str] = field(default_factory=list)

    def path_of(self, resource: ApiResource) -> str:
        """The resource's path template, such as ``/items/{id}``."""
        parts: list[str] = []
        node: ApiResource | None = resource
        while node is not None and node.parent_id is not None:
            parts.append(node.path_part)
            node = self.resources.get(node.parent_id)
        return "/" + "/".join(reversed(parts))

    def children(self, resource_id: str) -> list[ApiResource]:
        """The resources directly under ``resource_id``."""
        return [r for r in self.resources.values() if r.parent_id == resource_id]


class _Reply(Exception):  # noqa: N818 - control flow, never escapes this module
    """A gateway error response, raised to stop handling a request."""

    def __init__(self, response_type: str, status: int, message: str, error_type: str) -> None:
        super().__init__(message)
        self.response_type = response_type
        self.status = status
        self.message = message
        self.error_type = error_type


class ApiGateway:
    """The local cloud's API Gateway for REST APIs.

    Args:
        context: The local cloud's Lambda invoker, activity log, clock, account and region.
    """

    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        #: REST APIs by id.
        self.apis: dict[str, RestApi] = {}
        #: Records of ``Account``, ``UsagePlan``, ``UsagePlanKey`` and ``ApiKey`` resources.
        self.records: dict[str, tuple[str, Mapping[str, Any]]] = {}
        #: ``Authorizer`` resources by id.
        self.authorizers: dict[str, Mapping[str, Any]] = {}

    # -- deploy ----------------------------------------------------------------------

    def deploy(
        self, kind: str, logical_id: str, props: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]]:
        """Deploy one API Gateway resource from its resolved properties.

        Returns:
            Its physical id (what ``Ref`` returns) and its ``Fn::GetAtt`` attributes.

        Raises:
            NotImplementedError: An OpenAPI ``Body`` or a ``CloneFrom``.
            KeyError: A reference to an API or resource that does not exist.
        """
        short = kind.rsplit("::", 1)[-1]
        if short == "RestApi":
            return self._rest_api(logical_id, props)
        if short == "Resource":
            api = self._api(props["RestApiId"])
            resource_id = _new_id(6)
            if str(props["ParentId"]) not in api.resources:
                raise KeyError(f"{logical_id}: no parent resource {props['ParentId']!r}")
            api.resources[resource_id] = ApiResource(
                resource_id, str(props["ParentId"]), str(props["PathPart"])
            )
            return resource_id, {"ResourceId": resource_id}
        if short == "Method":
            return self._method(logical_id, props)
        if short == "RequestValidator":
            validator_id = _new_id(6)
            self._api(props["RestApiId"]).validators[validator_id] = dict(props)
            return validator_id, {"RequestValidatorId": validator_id}
        if short == "Model":
            name = str(props.get("Name") or re.sub(r"[^A-Za-z0-9]", "", logical_id))
            self._api(props["RestApiId"]).models[name] = dict(props)
            return name, {}
        if short == "Deployment":
            api = self._api(props["RestApiId"])
            deployment_id = _new_id(6)
            api.deployments.append(deployment_id)
            if props.get("StageName"):
                api.stages[str(props["StageName"])] = _stage_record(deployment_id, props)
            return deployment_id, {"DeploymentId": deployment_id}
        if short == "Stage":
            api = self._api(props["RestApiId"])
            name = str(props.get("StageName") or _new_id(6))
            api.stages[name] = _stage_record(str(props.get("DeploymentId", "")), props)
            return name, {}
        if short == "GatewayResponse":
            api = self._api(props["RestApiId"])
            api.gateway_responses[str(props["ResponseType"])] = dict(props)
            return _new_id(6), {}
        # Account, UsagePlan, UsagePlanKey, ApiKey, Authorizer: recorded, never enforced.
        record_id = _new_id(10)
        self.records[record_id] = (kind, dict(props))
        attributes = {"Id": record_id}
        if short == "ApiKey":
            attributes["APIKeyId"] = record_id
        if short == "Authorizer":
            attributes["AuthorizerId"] = record_id
            self.authorizers[record_id] = dict(props)
        return record_id, attributes

    def _rest_api(self, logical_id: str, props: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
        for unsupported in ("Body", "BodyS3Location", "CloneFrom"):
            if props.get(unsupported):
                raise NotImplementedError(
                    f"{logical_id}: REST APIs from {unsupported} are not emulated; define "
                    "resources and methods in the template"
                )
        api_id, root_id = _new_id(10), _new_id(10)
        api = RestApi(
            id=api_id,
            name=str(props.get("Name") or logical_id),
            logical_id=logical_id,
            root_id=root_id,
            binary_media_types=tuple(str(t) for t in props.get("BinaryMediaTypes", [])),
        )
        api.resources[root_id] = ApiResource(root_id, None, "")
        self.apis[api_id] = api
        return api_id, {"RestApiId": api_id, "RootResourceId": root_id}

    def _method(self, logical_id: str, props: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
        api = self._api(props["RestApiId"])
        resource = api.resources.get(str(props["ResourceId"]))
        if resource is None:
            raise KeyError(f"{logical_id}: no resource {props['ResourceId']!r}")
        http_method = str(props["HttpMethod"]).upper()
        method_id = f"{api.id}-{resource.id}-{http_method}"
        resource.methods[http_method] = ApiMethod(
            id=method_id,
            http_method=http_method,
            integration=dict(props.get("Integration", {})),
            request_parameters=dict(props.get("RequestParameters", {})),
            request_validator_id=(
                str(props["RequestValidatorId"]) if props.get("RequestValidatorId") else None
            ),
            authorization_type=str(props.get("AuthorizationType", "NONE")),
            authorizer_id=str(props["AuthorizerId"]) if props.get("AuthorizerId") else None,
            authorization_scopes=tuple(str(s) for s in props.get("AuthorizationScopes") or ()),
        )
        return method_id, {}

    def _api(self, api_id: Any) -> RestApi:
        api = self.apis.get(str(api_id))
        if api is None:
            raise KeyError(f"no REST API {api_id!r} is deployed")
        return api

    # -- requests --------------------------------------------------------------------

    def find_api(self, api: str | None = None) -> RestApi:
        """The API by id, name or logical id; the only one when ``api`` is None.

        Raises:
            ValueError: No API matches, or several do.
        """
        return pick_api(self.apis.values(), api, "REST API")

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
        """Send a request to a stage of a REST API, as its invoke URL would receive it.

        Args:
            method: The HTTP method.
            path: The path after the stage, starting with ``/``; a query string after
                ``?`` is added to ``query``.
            query: Query string parameters, each one value or several.
            headers: Request headers.
            body: The request body.
            api: The API's id, name or logical id; needed when several are deployed.
            stage: The stage name; needed when the API has several.

        Returns:
            The response.

        Raises:
            ValueError: No such API or stage, or a path without a leading ``/``.
            NotImplementedError: The route's integration is not emulated.
        """
        rest_api = self.find_api(api)
        stage_name, stage_record = self._stage(rest_api, stage)
        if not path.startswith("/"):
            raise ValueError(f"a request path starts with '/': {path!r}")
        path, _, query_text = path.partition("?")
        parameters = _merge_query(query, query_text)
        request_headers = dict(headers or {})
        request_id = str(uuid.uuid4())
        try:
            resource, path_parameters = self._route(rest_api, path)
            api_method = resource.methods.get(method.upper()) or resource.methods.get("ANY")
            if api_method is None:
                raise _Reply(
                    "MISSING_AUTHENTICATION_TOKEN",
                    403,
                    "Missing Authentication Token",
                    "MissingAuthenticationTokenException",
                )
            authorizer = self._authorize(api_method, request_headers)
            self._validate(rest_api, api_method, parameters, request_headers)
            integration_type = str(api_method.integration.get("Type", ""))
            lambda_uri = _LAMBDA_URI.match(str(api_method.integration.get("Uri", "")))
            if integration_type in ("MOCK", "AWS") and (
                integration_type == "MOCK" or lambda_uri is not None
            ):
                request = _MappedRequest(
                    method=method.upper(),
                    path=path,
                    path_parameters=path_parameters,
                    query=parameters,
                    headers=request_headers,
                    body=body,
                    stage=stage_name,
                    stage_variables=stage_record.get("variables") or {},
                    request_id=request_id,
                    authorizer=authorizer,
                )
                return self._mapped(rest_api, resource, api_method, request)
            if integration_type != "AWS_PROXY" or lambda_uri is None:
                raise NotImplementedError(
                    f"{method.upper()} {rest_api.path_of(resource)} of {rest_api.name}: "
                    f"{integration_type or 'no'} integrations are not emulated (only Lambda "
                    "AWS_PROXY and AWS, and MOCK)"
                )
            return self._proxy(
                rest_api,
                resource,
                api_method,
                method=method.upper(),
                path=path,
                path_parameters=path_parameters,
                query=parameters,
                headers=request_headers,
                body=body,
                stage=stage_name,
                stage_variables=stage_record.get("variables") or {},
                request_id=request_id,
                authorizer=authorizer,
            )
        except _Reply as reply:
            return self._error(rest_api, reply, request_id)

    def _stage(self, api: RestApi, stage: str | None) -> tuple[str, Mapping[str, Any]]:
        if stage is not None:
            if stage not in api.stages:
                raise ValueError(f"{api.name} has no stage {stage!r}: {sorted(api.stages)}")
            return stage, api.stages[stage]
        if len(api.stages) != 1:
            raise ValueError(f"{api.name} has stages {sorted(api.stages)}: pass stage=")
        ((name, record),) = api.stages.items()
        return name, record

    def _route(self, api: RestApi, path: str) -> tuple[ApiResource, dict[str, str]]:
        trimmed = path.strip("/")
        segments = trimmed.split("/") if trimmed else []
        found = _match(api, api.resources[api.root_id], segments, 0)
        if found is None:
            raise _Reply(
                "MISSING_AUTHENTICATION_TOKEN",
                403,
                "Missing Authentication Token",
                "MissingAuthenticationTokenException",
            )
        return found

    def _authorize(
        self, api_method: ApiMethod, headers: Mapping[str, str]
    ) -> dict[str, Any] | None:
        """``requestContext.authorizer`` of a Cognito user pool method, None for others.

        The token's claims are read, not verified: its signature is not checked, but its
        expiry, its use (an ID token, or an access token carrying one of the method's
        scopes) and its issuer (when the pool's id is known) are.

        Raises:
            _Reply: 401, as API Gateway answers a missing, malformed, expired or
                unfitting token.
        """
        if api_method.authorization_type != "COGNITO_USER_POOLS":
            return None
        authorizer = self.authorizers.get(api_method.authorizer_id or "", {})
        source = str(authorizer.get("IdentitySource") or "method.request.header.Authorization")
        header = source.rsplit(".", 1)[-1]
        token = _header(headers, header)
        unauthorized = _Reply("UNAUTHORIZED", 401, "Unauthorized", "UnauthorizedException")
        claims = _jwt_claims(token or "")
        if claims is None:
            raise unauthorized
        expiry = claims.get("exp")
        if not isinstance(expiry, int | float) or expiry <= self._context.clock.now():
            raise _Reply(
                "EXPIRED_TOKEN", 401, "The incoming token has expired", "UnauthorizedException"
            )
        if api_method.authorization_scopes:
            granted = str(claims.get("scope") or "").split()
            if claims.get("token_use") != "access" or not set(granted) & set(
                api_method.authorization_scopes
            ):
                raise unauthorized
        elif claims.get("token_use") != "id":
            raise unauthorized
        issuers = {
            f"https://cognito-idp.{arn.split(':')[3]}.amazonaws.com/{arn.rsplit('/', 1)[-1]}"
            for arn in (str(a) for a in authorizer.get("ProviderARNs") or ())
            if arn.startswith("arn:") and ":userpool/" in arn
        }
        if issuers and claims.get("iss") not in issuers:
            raise unauthorized
        return {"claims": {name: _claim_text(value) for name, value in claims.items()}}

    def _validate(
        self,
        api: RestApi,
        method: ApiMethod,
        query: Sequence[tuple[str, list[str]]],
        headers: Mapping[str, str],
    ) -> None:
        validator = api.validators.get(method.request_validator_id or "")
        if not validator or not _truthy(validator.get("ValidateRequestParameters")):
            return
        query_names = {name for name, _ in query}
        header_names = {name.lower() for name in headers}
        missing: list[str] = []
        for key, required in method.request_parameters.items():
            if not _truthy(required):
                continue
            _, _, where, name = key.split(".", 3)
            if (where == "querystring" and name not in query_names) or (
                where == "header" and name.lower() not in header_names
            ):
                missing.append(name)
        if missing:
            raise _Reply(
                "BAD_REQUEST_PARAMETERS",
                400,
                f"Missing required request parameters: [{', '.join(missing)}]",
                "BadRequestException",
            )

    def _mapped(
        self, api: RestApi, resource: ApiResource, api_method: ApiMethod, request: _MappedRequest
    ) -> HttpResponse:
        """A MOCK or non-proxy Lambda (``AWS``) integration: mapping templates both ways."""
        integration = api_method.integration
        text = _body_text(request.body)
        template_context = self._template_context(api, resource, request)
        single_query = {name: values[-1] for name, values in request.query if values}
        variables = {
            "path_parameters": request.path_parameters,
            "query": single_query,
            "headers": request.headers,
            "stage_variables": request.stage_variables,
        }
        template = _request_template(integration, request.headers)
        if template is not None:
            try:
                payload = render_template(
                    template, body=text, context=template_context, **variables
                ).text
            except MappingTemplateError as error:
                raise _Reply(
                    "DEFAULT_5XX", 500, "Internal server error", "InternalServerErrorException"
                ) from error
        else:
            payload = text
        if str(integration.get("Type")) == "MOCK":
            status, result_body, error_message = _mock_status(payload), "", None
        else:
            status, result_body, error_message = self._invoke_mapped(
                api, api_method, payload, request.request_id
            )
        chosen = _integration_response(integration, status, error_message)
        if chosen is None:
            # No integration response for the outcome: a configuration error (500).
            raise _Reply(
                "DEFAULT_5XX", 500, "Internal server error", "InternalServerErrorException"
            )
        content_type, response_template = _response_template(chosen, request.headers)
        status_code = int(chosen["StatusCode"])
        headers = {"Content-Type": content_type, "x-amzn-RequestId": request.request_id}
        headers.update(_mapped_headers(chosen.get("ResponseParameters") or {}, result_body))
        if response_template is None:
            out = result_body
        else:
            try:
                rendered = render_template(
                    response_template, body=result_body, context=template_context, **variables
                )
            except MappingTemplateError as error:
                raise _Reply(
                    "DEFAULT_5XX", 500, "Internal server error", "InternalServerErrorException"
                ) from error
            out = rendered.text
            status_code = rendered.status or status_code
            headers.update(rendered.headers)
        return _response(status_code, headers, {}, out.encode())

    def _invoke_mapped(
        self, api: RestApi, api_method: ApiMethod, payload: str, request_id: str
    ) -> tuple[int, str, str | None]:
        """Invoke a non-proxy Lambda integration: (200, response body, error message or None)."""
        uri = _LAMBDA_URI.match(str(api_method.integration["Uri"]))
        assert uri is not None  # noqa: S101 - checked by the caller
        try:
            event = json.loads(payload) if payload.strip() else {}
        except ValueError as error:
            # Lambda refuses a payload that is not JSON; API Gateway answers 500.
            raise _Reply(
                "DEFAULT_5XX", 500, "Internal server error", "InternalServerErrorException"
            ) from error
        try:
            function = self._context.function(uri.group(1))
        except KeyError as error:
            raise _Reply(
                "DEFAULT_5XX", 500, "Internal server error", "InternalServerErrorException"
            ) from error
        try:
            result: InvokeResult = self._context.invoke(function.name, event)
        except InvocationThrottled as error:
            raise _Reply(
                "DEFAULT_5XX", 500, "Internal server error", "InternalServerErrorException"
            ) from error
        self._context.log.add(
            Invocation(
                source="apigateway",
                mapping_id=api.id,
                function=function.name,
                items=(request_id,),
                event=event,
                result=result,
                outcome="success" if result.ok else "failure",
                at=self._context.clock.now(),
            )
        )
        timeout = int(api_method.integration.get("TimeoutInMillis") or 0)
        if result.duration_ms > (timeout or DEFAULT_INTEGRATION_TIMEOUT_MS):
            raise _Reply("DEFAULT_5XX", 504, "Endpoint request timed out", "TimeoutException")
        if result.ok:
            return 200, json.dumps(result.payload), None
        message = result.error_message or ""
        error_body: dict[str, Any] = {
            "errorMessage": message,
            "errorType": result.error_type,
            "stackTrace": [],
        }
        return 200, json.dumps(error_body), message

    def _template_context(
        self, api: RestApi, resource: ApiResource, request: _MappedRequest
    ) -> dict[str, Any]:
        """``$context`` of a mapping template: the request context a proxy event carries."""
        event = api_gateway_rest_event(
            request.method,
            request.path,
            resource=api.path_of(resource),
            path_parameters=request.path_parameters,
            query=dict(request.query),
            headers=request.headers,
            stage=request.stage,
            api_id=api.id,
            account=self._context.account_id,
            region=self._context.region,
            request_id=request.request_id,
            request_time=self._context.clock.now(),
            authorizer=request.authorizer,
        )
        context: dict[str, Any] = dict(event["requestContext"])
        context["resourceId"] = resource.id
        return context

    def _proxy(
        self,
        api: RestApi,
        resource: ApiResource,
        api_method: ApiMethod,
        *,
        method: str,
        path: str,
        path_parameters: Mapping[str, str],
        query: Sequence[tuple[str, list[str]]],
        headers: Mapping[str, str],
        body: str | bytes | None,
        stage: str,
        stage_variables: Mapping[str, str],
        request_id: str,
        authorizer: Mapping[str, Any] | None = None,
    ) -> HttpResponse:
        uri = _LAMBDA_URI.match(str(api_method.integration["Uri"]))
        assert uri is not None  # noqa: S101 - checked by the caller
        content_type = _header(headers, "Content-Type")
        binary = _matches_media_type(content_type, api.binary_media_types)
        event_body: str | bytes | None = body
        if isinstance(body, bytes) and not binary:
            # Without a binary media type, API Gateway hands the body over as text.
            event_body = body.decode("utf-8", errors="replace")
        elif isinstance(body, str) and binary:
            event_body = body.encode()
        event = api_gateway_rest_event(
            method,
            path,
            resource=api.path_of(resource),
            path_parameters=path_parameters,
            query=dict(query),
            headers=headers,
            body=event_body,
            stage=stage,
            stage_variables=stage_variables or None,
            api_id=api.id,
            account=self._context.account_id,
            region=self._context.region,
            request_id=request_id,
            request_time=self._context.clock.now(),
            authorizer=authorizer,
        )
        event["requestContext"]["resourceId"] = resource.id
        try:
            function = self._context.function(uri.group(1))
        except KeyError as error:
            raise _Reply(
                "DEFAULT_5XX", 500, "Internal server error", "InternalServerErrorException"
            ) from error
        try:
            result: InvokeResult | None = self._context.invoke(function.name, event)
        except InvocationThrottled:
            result = None
        timed_out: _Reply | None = None
        try:
            response = self._proxy_response(api_method, result, headers, api, request_id)
        except _Reply as reply:
            response, timed_out = None, reply
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
        if timed_out is not None:
            raise timed_out
        if response is None:
            raise _Reply(
                "DEFAULT_5XX", 502, "Internal server error", "InternalServerErrorException"
            )
        return response

    def _proxy_response(
        self,
        api_method: ApiMethod,
        result: InvokeResult | None,
        request_headers: Mapping[str, str],
        api: RestApi,
        request_id: str,
    ) -> HttpResponse | None:
        """Map a function's result to the response; None when it cannot be mapped (502)."""
        if result is None or not result.ok:
            return None
        timeout = int(api_method.integration.get("TimeoutInMillis") or 0)
        if result.duration_ms > (timeout or DEFAULT_INTEGRATION_TIMEOUT_MS):
            raise _Reply("DEFAULT_5XX", 504, "Endpoint request timed out", "TimeoutException")
        parsed = _proxy_result(result.payload)
        if parsed is None:
            return None
        status, single, multi, text, is_base64 = parsed
        content = text.encode()
        if is_base64:
            accept = _header(request_headers, "Accept")
            if _matches_media_type(accept, api.binary_media_types):
                try:
                    content = base64.b64decode(text, validate=True)
                except (binascii.Error, ValueError):
                    return None
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id}
        merged: dict[str, list[str]] = {name: [value] for name, value in headers.items()}
        for name in [*single, *multi]:
            values = list(multi.get(name, []))
            if name in single and single[name] not in values:
                values.insert(0, single[name])
            existing = [key for key in merged if key.lower() == name.lower()]
            for key in existing:
                del merged[key]
            merged[name] = values
        return _response(status, {}, merged, content)

    def _error(self, api: RestApi, reply: _Reply, request_id: str) -> HttpResponse:
        family = "DEFAULT_4XX" if reply.status < 500 else "DEFAULT_5XX"
        custom = api.gateway_responses.get(reply.response_type) or api.gateway_responses.get(family)
        status = reply.status
        template = '{"message":$context.error.messageString}'
        headers = {
            "Content-Type": "application/json",
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": reply.error_type,
        }
        if custom is not None:
            status = int(custom.get("StatusCode") or status)
            template = str(
                (custom.get("ResponseTemplates") or {}).get("application/json", template)
            )
            headers.update(
                _static_headers(custom.get("ResponseParameters") or {}, "gatewayresponse.header.")
            )
        text = (
            template.replace("$context.error.messageString", json.dumps(reply.message))
            .replace("$context.error.message", reply.message)
            .replace("$context.requestId", request_id)
        )
        return _response(status, headers, {}, text.encode())


@dataclass(frozen=True)
class _MappedRequest:
    """A request on its way through a MOCK or non-proxy integration."""

    method: str
    path: str
    path_parameters: Mapping[str, str]
    query: Sequence[tuple[str, list[str]]]
    headers: Mapping[str, str]
    body: str | bytes | None
    stage: str
    stage_variables: Mapping[str, str]
    request_id: str
    authorizer: Mapping[str, Any] | None = None


class _NamedApi(Protocol):
    id: str
    name: str
    logical_id: str


_A = TypeVar("_A", bound=_NamedApi)


def pick_api(apis: Iterable[_A], api: str | None, kind: str) -> _A:
    """The API of an id, name or logical id among ``apis``; the only one for None.

    Raises:
        ValueError: No API matches, or several do (the message names them all).
    """
    known = list(apis)
    candidates = [a for a in known if api is None or api in (a.id, a.name, a.logical_id)]
    if len(candidates) != 1:
        names = ", ".join(sorted(f"{a.name} ({a.id})" for a in known))
        wanted = f"{kind} {api!r}" if api is not None else f"a single {kind}"
        raise ValueError(f"cannot pick {wanted} among: {names or 'none deployed'}")
    return candidates[0]


def _jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT (``Bearer`` prefix allowed), None when it is not one."""
    token = token.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        return None
    return payload if isinstance(payload, dict) else None


def _claim_text(value: Any) -> str:
    """A claim as API Gateway passes it to a REST API integration: as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _body_text(body: str | bytes | None) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return body


def _media_type(value: str | None) -> str:
    """The media type of a ``Content-Type`` or ``Accept`` value, ``application/json`` if none."""
    if not value:
        return "application/json"
    return value.split(",", 1)[0].split(";", 1)[0].strip().lower() or "application/json"


def _request_template(integration: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """The request template for the request's content type; None to pass the body through.

    Raises:
        _Reply: 415 when the passthrough behaviour refuses an unmapped content type.
    """
    templates = {
        str(k).lower(): str(v) for k, v in (integration.get("RequestTemplates") or {}).items()
    }
    wanted = _media_type(_header(headers, "Content-Type"))
    if wanted in templates:
        return templates[wanted]
    behaviour = str(integration.get("PassthroughBehavior") or "WHEN_NO_MATCH").upper()
    if behaviour == "WHEN_NO_MATCH" or (behaviour == "WHEN_NO_TEMPLATES" and not templates):
        return None
    raise _Reply(
        "UNSUPPORTED_MEDIA_TYPE", 415, "Unsupported Media Type", "UnsupportedMediaTypeException"
    )


def _mock_status(payload: str) -> int:
    """The status a mock integration's request template asks for (200 without one)."""
    try:
        requested = _json.loads(payload) if payload.strip() else None
    except ValueError:
        requested = None
    status = requested.get("statusCode") if isinstance(requested, dict) else None
    if isinstance(status, int) and not isinstance(status, bool):
        return status
    return 200


def _integration_response(
    integration: Mapping[str, Any], status: int, error_message: str | None
) -> Mapping[str, Any] | None:
    """The integration response for an outcome: by ``SelectionPattern``, else the default.

    A Lambda integration's patterns match the error message of a function error (a
    function that returned gets the default response); a mock's match the status code.
    """
    if str(integration.get("Type")) == "MOCK":
        subject: str | None = str(status)
    else:
        subject = error_message
    default: Mapping[str, Any] | None = None
    responses: Sequence[Mapping[str, Any]] = integration.get("IntegrationResponses") or []
    for response in responses:
        pattern = response.get("SelectionPattern")
        if not pattern:
            default = default or response
        elif subject is not None and re.fullmatch(str(pattern), subject, re.DOTALL):
            return response
    return default


def _response_template(
    response: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[str, str | None]:
    """The content type and template of a response: by ``Accept``, else JSON, else the first."""
    templates = {str(k): v for k, v in (response.get("ResponseTemplates") or {}).items()}
    if not templates:
        return "application/json", None
    wanted = _media_type(_header(headers, "Accept"))
    chosen = next(iter(templates))
    for key in (wanted, "application/json"):
        found = [content_type for content_type in templates if content_type.lower() == key]
        if found:
            chosen = found[0]
            break
    template = templates[chosen]
    return chosen, None if template is None else str(template)


def _mapped_headers(parameters: Mapping[str, Any], body: str) -> dict[str, str]:
    """Response headers from static values and ``integration.response.body`` selections."""
    found = _static_headers(parameters)
    document: Any = None
    for key, value in parameters.items():
        source = str(value)
        if not key.startswith("method.response.header.") or not source.startswith(
            "integration.response.body"
        ):
            continue
        if document is None:
            try:
                document = json.loads(body) if body.strip() else {}
            except ValueError:
                document = {}
        expression = "$" + source[len("integration.response.body") :]
        try:
            selected = select(document, expression)
        except ValueError:
            continue
        if selected is not None:
            found[key[len("method.response.header.") :]] = (
                selected if isinstance(selected, str) else json.dumps(selected)
            )
    return found


def _match(
    api: RestApi, node: ApiResource, segments: Sequence[str], position: int
) -> tuple[ApiResource, dict[str, str]] | None:
    """The most specific resource under ``node`` for ``segments[position:]``, with parameters."""
    if position == len(segments):
        return node, {}
    segment = segments[position]
    children = api.children(node.id)
    for child in children:
        if child.path_part == segment:
            found = _match(api, child, segments, position + 1)
            if found is not None:
                return found
    for child in children:
        name = _parameter_name(child.path_part)
        if name is not None and not name.endswith("+") and segment:
            found = _match(api, child, segments, position + 1)
            if found is not None:
                return found[0], {name: segment, **found[1]}
    for child in children:
        name = _parameter_name(child.path_part)
        if name is not None and name.endswith("+"):
            return child, {name[:-1]: "/".join(segments[position:])}
    return None


def _parameter_name(path_part: str) -> str | None:
    if path_part.startswith("{") and path_part.endswith("}"):
        return path_part[1:-1]
    return None


def _proxy_result(
    payload: Any,
) -> tuple[int, dict[str, str], dict[str, list[str]], str, bool] | None:
    """Read a proxy integration result; None when API Gateway would call it malformed."""
    if not isinstance(payload, dict) or not set(payload) <= _PROXY_RESULT_KEYS:
        return None
    status = payload.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return None
    headers = payload.get("headers") or {}
    multi = payload.get("multiValueHeaders") or {}
    body = payload.get("body")
    is_base64 = payload.get("isBase64Encoded", False)
    if not isinstance(headers, dict) or not isinstance(multi, dict):
        return None
    if body is not None and not isinstance(body, str):
        return None
    if not isinstance(is_base64, bool):
        return None
    if not all(_scalar(v) for v in headers.values()):
        return None
    if not all(isinstance(v, list) and all(_scalar(i) for i in v) for v in multi.values()):
        return None
    return (
        status,
        {str(k): _text(v) for k, v in headers.items()},
        {str(k): [_text(i) for i in v] for k, v in multi.items()},
        body or "",
        is_base64,
    )


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _response(
    status: int,
    headers: Mapping[str, str],
    multi: Mapping[str, Sequence[str]],
    content: bytes,
) -> HttpResponse:
    merged: dict[str, Sequence[str]] = {name: [value] for name, value in headers.items()}
    merged.update(multi)
    return HttpResponse.of(status, merged, content)


def _static_headers(
    parameters: Mapping[str, Any], head: str = "method.response.header."
) -> dict[str, str]:
    """The headers a ``ResponseParameters`` map sets to quoted static values."""
    found: dict[str, str] = {}
    for key, value in parameters.items():
        static = _STATIC_VALUE.match(str(value))
        if key.startswith(head) and static is not None:
            found[key[len(head) :]] = static.group(1)
    return found


def _merge_query(
    query: Mapping[str, str | Sequence[str]] | None, query_text: str
) -> list[tuple[str, list[str]]]:
    merged: dict[str, list[str]] = {}
    for name, value in parse_qsl(query_text, keep_blank_values=True):
        merged.setdefault(name, []).append(value)
    for name, values in (query or {}).items():
        merged.setdefault(name, []).extend([values] if isinstance(values, str) else values)
    return list(merged.items())


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _matches_media_type(value: str | None, media_types: Sequence[str]) -> bool:
    if not value or not media_types:
        return False
    # The first media type of the header counts; parameters (charset) do not.
    wanted = value.split(",", 1)[0].split(";", 1)[0].strip().lower()
    # CloudFormation escapes "/" as "~1" in BinaryMediaTypes.
    return any(fnmatch.fnmatchcase(wanted, t.replace("~1", "/").lower()) for t in media_types)


def _stage_record(deployment_id: str, props: Mapping[str, Any]) -> dict[str, Any]:
    variables = props.get("Variables") or props.get("StageDescription", {}).get("Variables")
    return {"deployment": deployment_id, "variables": dict(variables or {})}


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _new_id(length: int) -> str:
    return "".join(secrets.choice(_ID_CHARACTERS) for _ in range(length))


@deploys(*APIGATEWAY_TYPES)
def _apigateway(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    # API Gateway REST API resources all go to the local API Gateway.
    ref, attributes = stack.service(ApiGateway).deploy(kind, logical_id, props)
    return Resource(logical_id, kind, "", ref, attributes)


__all__ = [
    "APIGATEWAY_TYPES",
    "DEFAULT_INTEGRATION_TIMEOUT_MS",
    "ApiGateway",
    "ApiMethod",
    "ApiResource",
    "HttpResponse",
    "RestApi",
]
