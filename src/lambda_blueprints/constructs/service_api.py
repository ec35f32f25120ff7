"""A REST API whose routes are each served by a function of their own."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Token
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from lambda_blueprints import _defaults
from lambda_blueprints._validation import check_choice, check_int_range, check_types
from lambda_blueprints.constructs.function import BlueprintFunction, check_function_options

__all__ = ["ApiAuthorization", "MappedIntegration", "MappedResponse", "ServiceApi"]

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
_PATH_PART = re.compile(r"^(?:[A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\+?\})$")
_STAGE_NAME = re.compile(r"^[A-Za-z0-9_]{1,128}$")
_STAGE_VARIABLE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_STAGE_VARIABLE_VALUE = re.compile(r"^[A-Za-z0-9\-._~:/?#&=,]{0,512}$")
_PASSTHROUGH = {
    "NEVER": apigateway.PassthroughBehavior.NEVER,
    "WHEN_NO_MATCH": apigateway.PassthroughBehavior.WHEN_NO_MATCH,
    "WHEN_NO_TEMPLATES": apigateway.PassthroughBehavior.WHEN_NO_TEMPLATES,
}


class ApiAuthorization:
    """How the methods of a :class:`ServiceApi` authenticate their callers.

    Use one of :meth:`iam`, :meth:`cognito` or :meth:`anonymous`; :meth:`iam` is the
    default.
    """

    def __init__(
        self,
        kind: str,
        *,
        user_pools: Sequence[cognito.IUserPool] = (),
        scopes: Sequence[str] = (),
        reason: str = "",
    ) -> None:
        self.kind = kind
        self.user_pools = tuple(user_pools)
        self.scopes = tuple(scopes)
        self.reason = reason

    @classmethod
    def iam(cls) -> ApiAuthorization:
        """SigV4-signed requests (``AWS_IAM``); grant with :meth:`ServiceApi.grant_invoke`."""
        return cls("iam")

    @classmethod
    def cognito(
        cls, *user_pools: cognito.IUserPool, scopes: Sequence[str] = ()
    ) -> ApiAuthorization:
        """A Cognito user pool authorizer: an ID token (or, with ``scopes``, an access token).

        Args:
            user_pools: The user pools whose tokens are accepted (at least one).
            scopes: OAuth scopes an access token must carry; without them, the
                ``Authorization`` header takes an ID token.
        """
        if not user_pools:
            raise ValueError(
                "ApiAuthorization.cognito(): give at least one user pool, e.g. "
                "ApiAuthorization.cognito(user_pool)."
            )
        return cls("cognito", user_pools=user_pools, scopes=scopes)

    @classmethod
    def anonymous(cls, reason: str) -> ApiAuthorization:
        """No authentication at all: anyone on the internet may call every method.

        Only for APIs public by design. The reason is recorded where cdk-nag's
        ``AwsSolutions-APIG4`` and ``AwsSolutions-COG4`` findings are acknowledged, so the
        choice is visible in review.

        Args:
            reason: Why the API is public, at least 20 characters.
        """
        if len(reason.strip()) < 20:
            raise ValueError(
                f"ApiAuthorization.anonymous(reason={reason!r}): say, in at least 20 "
                "characters, why anyone may call this API; it is recorded with the cdk-nag "
                "acknowledgments of its public methods."
            )
        return cls("anonymous", reason=reason.strip())


@dataclass(frozen=True)
class MappedResponse:
    """One integration response of a :class:`MappedIntegration`.

    Attributes:
        status_code: The method's status code, e.g. ``"200"``.
        selection_pattern: A regular expression matched against a function error's
            message (``"BadRequest:.*"``); None for the default response, which a function
            that returned (and an error no pattern selects) takes. At most one response
            has none.
        templates: Response templates by content type.
        headers: Response headers: header name to a mapping expression, either a quoted
            static value (``"'no-store'"``) or ``integration.response.body.<path>``.
    """

    status_code: str
    selection_pattern: str | None = None
    templates: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MappedIntegration:
    """A non-proxy Lambda integration: API Gateway maps the request and the response.

    Attributes:
        request_templates: Request templates (Velocity) by content type, e.g. a form post
            turned into a JSON event.
        responses: The integration responses; one of them without a selection pattern.
        passthrough_behavior: ``NEVER`` (default: a content type without a template is
            refused with 415), ``WHEN_NO_MATCH`` or ``WHEN_NO_TEMPLATES``.
    """

    request_templates: Mapping[str, str]
    responses: Sequence[MappedResponse]
    passthrough_behavior: str = "NEVER"


class ServiceApi(Construct):
    """A REST API whose routes are each served by a function of their own.

    Each :meth:`add_route` creates one :class:`BlueprintFunction` (your code, or one of the
    library's handlers) with its own role, an alias named after the stage, and a method
    whose integration invokes that alias and nothing else: a function may be invoked only
    by its own method (``execute-api`` source ARN of that method and stage). Grant each
    function what it needs and no more (``table.grant_read_data(route.function)``).

    Resources defined:
        * ``RestApi``: the API (regional endpoint) and its stage (``stage_name``).
        * ``AccessLogs``: the stage's JSON access logs; ``ExecutionLogs``: the stage's
          ``ERROR`` execution logs (the group API Gateway writes, created with retention).
        * For each route: ``<RouteId>`` (a :class:`BlueprintFunction`) and
          ``<RouteId>/Alias``.
        * ``Authorizer`` with :meth:`ApiAuthorization.cognito`.
        * ``RequestValidator`` (parameters and bodies) and a model for each route with a
          ``request_schema``.
        * ``UsagePlan`` and ``ApiKey`` with ``api_key=True``; ``WebAclAssociation`` with
          ``web_acl_arn``.
        * ``ClientErrorsAlarm``, ``ServerErrorsAlarm``, ``LatencyAlarm`` (unless
          ``alarms=False``).

    Default settings:
        * Every method requires SigV4 (IAM) unless ``authorization`` says otherwise; a
          public API must say why (:meth:`ApiAuthorization.anonymous`).
        * Stage: throttled (100 requests/s, burst 200), X-Ray tracing, detailed metrics,
          JSON access logs with the caller, and ``ERROR`` execution logs without request
          or response bodies; both log groups kept one month, encrypted with
          ``encryption_key`` when given.
        * Alarms: ``5XXError`` >= 1 in a minute; ``4XXError`` above 5% of requests for 5
          minutes; p90 ``Latency`` over 1 second for 15 minutes.

    The CloudWatch Logs role: API Gateway writes both logs with one role per account and
    Region, set in the account's API Gateway settings. ``cloud_watch_role`` has no
    default, so a stack never takes that setting over unnoticed: ``True`` creates the role
    and sets it (the role is retained when the stack is deleted, as other APIs may use
    it); ``False`` relies on the role the account already has (a stage with logging fails
    to deploy without one).

    Args:
        scope: The parent construct.
        construct_id: The construct id.
        cloud_watch_role: Create and set the account's API Gateway CloudWatch Logs role
            (True), or rely on the existing one (False). Required.
        authorization: How callers authenticate. Defaults to :meth:`ApiAuthorization.iam`.
        stage_name: The stage, 1-128 letters, digits or ``_``. Defaults to ``prod``.
        stage_variables: The stage's variables (names 1-64 of ``[A-Za-z0-9_]``, values of
            at most 512 of ``[A-Za-z0-9-._~:/?#&=,]``), which mapping templates read as
            ``$stageVariables``.
        throttling_rate_limit: Steady requests per second of the stage, 1-10,000.
            Defaults to 100.
        throttling_burst_limit: Burst of the stage, 0-5,000. Defaults to 200.
        cors_allow_origins: Origins that browsers may call the API from (adds ``OPTIONS``
            preflight methods that need no authorization); None for none. Proxy
            functions still add ``Access-Control-Allow-Origin`` to their own responses.
        api_key: Require an API key on every method, with a usage plan (the stage's
            throttle, and ``quota_per_day``) and one key. Defaults to False.
        quota_per_day: Requests per day of the usage plan (with ``api_key``), or None.
        web_acl_arn: A regional WAF web ACL to associate with the stage.
        encryption_key: Customer managed key for the log groups and the functions'
            environments.
        alarm_topic: SNS topic for the alarms' notifications.
        alarms: Create the API's alarms (and each route function's). Defaults to True.
        description: The API's description.

    Raises:
        ValueError: A prop outside its limit.
        TypeError: A prop of the wrong type.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cloud_watch_role: bool,
        authorization: ApiAuthorization | None = None,
        stage_name: str = "prod",
        stage_variables: Mapping[str, str] | None = None,
        throttling_rate_limit: int = 100,
        throttling_burst_limit: int = 200,
        cors_allow_origins: Sequence[str] | None = None,
        api_key: bool = False,
        quota_per_day: int | None = None,
        web_acl_arn: str | None = None,
        encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
        alarms: bool = True,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_types(
            ("cloud_watch_role", cloud_watch_role, bool),
            ("authorization", authorization, ApiAuthorization),
            ("encryption_key", encryption_key, kms.IKey),
            ("alarm_topic", alarm_topic, sns.ITopic),
        )
        _check_stage(stage_name, stage_variables or {})
        check_int_range(
            "throttling_rate_limit",
            throttling_rate_limit,
            1,
            10_000,
            fix="The default account quota is 10,000 requests per second.",
        )
        check_int_range(
            "throttling_burst_limit",
            throttling_burst_limit,
            0,
            5_000,
            fix="The default account burst quota is 5,000 requests.",
        )
        if quota_per_day is not None:
            if not api_key:
                raise ValueError(
                    f"quota_per_day={quota_per_day}: a quota belongs to a usage plan, which "
                    "needs api_key=True. Set api_key=True, or leave quota_per_day out."
                )
            check_int_range("quota_per_day", quota_per_day, 1, 2_000_000_000)
        for origin in cors_allow_origins or ():
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(
                    f"cors_allow_origins: {origin!r} is not an origin: give scheme and host "
                    "(and port) only, e.g. 'https://chat.example.com', or '*'."
                )
        self._authorization = authorization or ApiAuthorization.iam()
        self._encryption_key = encryption_key
        self._alarm_topic = alarm_topic
        self._alarms_enabled = alarms
        self._api_key_required = api_key
        self._stage_name = stage_name
        #: The route functions, by route id (``GetMessages``).
        self.routes: dict[str, BlueprintFunction] = {}

        if encryption_key is not None:
            _defaults.allow_logs_to_use(encryption_key)
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=_defaults.LOG_RETENTION,
            encryption_key=encryption_key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        #: The access log group of the stage.
        self.access_logs = access_logs
        #: The REST API.
        self.rest_api = apigateway.RestApi(
            self,
            "RestApi",
            description=description or f"{construct_id} service API",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=cloud_watch_role,
            # The role is account-wide: deleting this stack must not take it from other APIs.
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if cloud_watch_role else None,
            deploy_options=apigateway.StageOptions(
                stage_name=stage_name,
                variables=dict(stage_variables or {}) or None,
                # Errors only, never request or response bodies (data trace).
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=_defaults.api_access_log_format(),
                tracing_enabled=True,
                metrics_enabled=True,
                throttling_rate_limit=throttling_rate_limit,
                throttling_burst_limit=throttling_burst_limit,
            ),
            default_cors_preflight_options=(
                apigateway.CorsOptions(
                    allow_origins=list(cors_allow_origins),
                    allow_headers=[
                        "Content-Type",
                        "Authorization",
                        "X-Amz-Date",
                        "X-Amz-Security-Token",
                        "X-Api-Key",
                    ],
                    max_age=Duration.hours(1),
                )
                if cors_allow_origins
                else None
            ),
        )
        _defaults.api_execution_logs(self, self.rest_api, stage_name, encryption_key)
        if cloud_watch_role:
            _defaults.acknowledge(
                self.rest_api,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                "The account's API Gateway logging role takes the managed policy API Gateway "
                "documents for it; API Gateway names the log groups it writes at run time.",
            )
        #: The request validator of every method: declared parameters and bodies with a
        #: schema are checked before any function runs.
        self.request_validator = self.rest_api.add_request_validator(
            "RequestValidator", validate_request_parameters=True, validate_request_body=True
        )
        self._authorizers: dict[tuple[str, ...], apigateway.IAuthorizer] = {}
        self._acknowledge_authorization(self.rest_api, self._authorization)
        _defaults.associate_web_acl(
            self,
            self.rest_api,
            web_acl_arn,
            "The stage is throttled and every method authenticates its callers unless "
            "the API is public by an explicit choice; give web_acl_arn to put a WAF web "
            "ACL in front as well.",
        )
        #: The usage plan and API key (with ``api_key=True``), else None.
        self.usage_plan: apigateway.UsagePlan | None = None
        self.api_key: apigateway.IApiKey | None = None
        if api_key:
            self.usage_plan = self.rest_api.add_usage_plan(
                "UsagePlan",
                throttle=apigateway.ThrottleSettings(
                    rate_limit=throttling_rate_limit, burst_limit=throttling_burst_limit
                ),
                quota=(
                    apigateway.QuotaSettings(limit=quota_per_day, period=apigateway.Period.DAY)
                    if quota_per_day is not None
                    else None
                ),
                api_stages=[apigateway.UsagePlanPerApiStage(stage=self.rest_api.deployment_stage)],
            )
            self.api_key = self.rest_api.add_api_key("ApiKey")
            self.usage_plan.add_api_key(self.api_key)
        #: The API's alarms: ``client_errors``, ``server_errors``, ``latency``.
        self.alarms: dict[str, cloudwatch.Alarm] = self._alarms() if alarms else {}

    # -- routes ---------------------------------------------------------------------------

    def add_route(
        self,
        method: str,
        path: str,
        *,
        handler: str,
        code: lambda_.Code | str | os.PathLike[str] | None = None,
        route_id: str | None = None,
        integration: MappedIntegration | None = None,
        request_parameters: Mapping[str, bool] | None = None,
        request_schema: Mapping[str, Any] | None = None,
        authorization: ApiAuthorization | None = None,
        service_name: str | None = None,
        environment: Mapping[str, str] | None = None,
        memory_size: int | None = None,
        timeout: Duration | None = None,
        log_retention: logs.RetentionDays | None = None,
        log_level: str | None = None,
        layers: Sequence[lambda_.ILayerVersion] | None = None,
        runtime_helpers: bool | None = None,
        architecture: lambda_.Architecture | None = None,
        reserved_concurrent_executions: int | None = None,
    ) -> BlueprintFunction:
        """Serve ``method path`` with a function of its own.

        The function is invoked through its alias (named after the stage) with a Lambda
        proxy event, or, with ``integration``, with the event its request templates
        build. Its permission names this method and stage only.

        Args:
            method: ``GET``, ``POST``, ``PUT``, ``PATCH``, ``DELETE``, ``HEAD``,
                ``OPTIONS`` or ``ANY``.
            path: The resource path, ``/`` or ``/messages/{id}`` (a greedy ``{proxy+}``
                last only).
            handler: ``<module>.<function>`` of ``code``, or one of the library's handlers.
            code: Your code: a folder path or any ``lambda_.Code``.
            route_id: The construct id of the route's function. Defaults to the method
                and path in CamelCase (``GET /messages/{id}`` is ``GetMessagesId``).
            integration: A non-proxy integration with mapping templates; None for a
                Lambda proxy integration.
            request_parameters: Query strings, headers and path parameters of the request
                (``method.request.querystring.limit``), True when required; API Gateway
                refuses a request without a required one (400).
            request_schema: A JSON Schema (draft 4) the request body must match; API
                Gateway refuses a request that does not (400).
            authorization: This route's authorization, when it differs from the API's
                (a webhook that signs its requests in its own way, say).
            service_name: ``POWERTOOLS_SERVICE_NAME``. Defaults to the route id.
            environment: Environment variables of the function.
            memory_size: Memory in MiB, 128-10240.
            timeout: 1-29 seconds (API Gateway's integration timeout). Defaults to 10 s.
            log_retention: Retention of the function's log group.
            log_level: ``DEBUG``, ``INFO``, ``WARN`` or ``ERROR``.
            layers: Layers of your own.
            runtime_helpers: Add the library's runtime layer.
            architecture: ``ARM_64`` (default) or ``X86_64``.
            reserved_concurrent_executions: Reserved concurrency of the function.

        Returns:
            The route's function.

        Raises:
            ValueError: A method, path or option outside its limits, or a route added twice.
        """
        check_choice("method", method.upper(), _METHODS)
        check_types(
            ("integration", integration, MappedIntegration),
            ("timeout", timeout, Duration),
            ("authorization", authorization, ApiAuthorization),
        )
        check_function_options(memory_size=memory_size, timeout=timeout, log_level=log_level)
        if timeout is not None and not Token.is_unresolved(timeout.to_seconds()):
            check_int_range(
                "timeout",
                int(timeout.to_seconds()),
                1,
                29,
                fix="API Gateway stops waiting for an integration after 29 seconds.",
            )
        parts = _path_parts(path)
        route_id, route, alias = _route_function(
            self,
            self.routes,
            method,
            path,
            parts,
            route_id=route_id,
            alias_name=self._stage_name,
            encryption_key=self._encryption_key,
            alarm_topic=self._alarm_topic,
            alarms=self._alarms_enabled,
            handler=handler,
            code=code,
            service_name=service_name,
            environment=environment,
            timeout=timeout,
            runtime_helpers=runtime_helpers,
            reserved_concurrent_executions=reserved_concurrent_executions,
            memory_size=memory_size,
            log_retention=log_retention,
            log_level=log_level,
            layers=layers,
            architecture=architecture,
        )
        resource = self._resource(parts)
        lambda_integration = self._integration(alias, integration)
        self._method(
            resource,
            method.upper(),
            lambda_integration,
            route_id=route_id,
            request_parameters=request_parameters,
            request_schema=request_schema,
            route_authorization=authorization,
            method_responses=(
                [
                    apigateway.MethodResponse(
                        status_code=response.status_code,
                        response_parameters={
                            f"method.response.header.{name}": True for name in response.headers
                        }
                        or None,
                    )
                    for response in integration.responses
                ]
                if integration is not None
                else None
            ),
        )
        self.routes[route_id] = route
        return route

    def add_mock_route(
        self,
        method: str,
        path: str,
        *,
        response_body: str,
        status_code: int = 200,
        content_type: str = "application/json",
        route_id: str | None = None,
        authorization: ApiAuthorization | None = None,
    ) -> apigateway.Method:
        """Answer ``method path`` from API Gateway itself, for a route under development.

        Args:
            method: The HTTP method.
            path: The resource path.
            response_body: The response template (Velocity; ``$input.params('id')`` and
                ``$context`` are available).
            status_code: The response status, 200-599. Defaults to 200.
            content_type: The response's content type. Defaults to ``application/json``.
            route_id: An id for the route, used in error messages.
            authorization: This route's authorization, when it differs from the API's.

        Returns:
            The method.
        """
        check_choice("method", method.upper(), _METHODS)
        check_int_range("status_code", status_code, 200, 599)
        parts = _path_parts(path)
        integration = apigateway.MockIntegration(
            request_templates={"application/json": f'{{"statusCode": {status_code}}}'},
            passthrough_behavior=apigateway.PassthroughBehavior.NEVER,
            integration_responses=[
                apigateway.IntegrationResponse(
                    status_code=str(status_code),
                    response_templates={content_type: response_body},
                )
            ],
        )
        return self._method(
            self._resource(parts),
            method.upper(),
            integration,
            route_id=route_id or _route_id(method, parts),
            request_parameters=None,
            request_schema=None,
            method_responses=[apigateway.MethodResponse(status_code=str(status_code))],
            route_authorization=authorization,
        )

    def _resource(self, parts: Sequence[str]) -> apigateway.IResource:
        resource: apigateway.IResource = self.rest_api.root
        for part in parts:
            resource = resource.get_resource(part) or resource.add_resource(part)
        return resource

    def _integration(
        self, alias: lambda_.Alias, mapped: MappedIntegration | None
    ) -> apigateway.LambdaIntegration:
        if mapped is None:
            return apigateway.LambdaIntegration(alias, allow_test_invoke=False)
        check_choice("passthrough_behavior", mapped.passthrough_behavior, tuple(_PASSTHROUGH))
        defaults = [r for r in mapped.responses if r.selection_pattern is None]
        if len(defaults) != 1:
            raise ValueError(
                f"MappedIntegration.responses: {len(defaults)} responses without a "
                "selection_pattern; exactly one is the default response (the one a function "
                "that returned takes)."
            )
        return apigateway.LambdaIntegration(
            alias,
            proxy=False,
            allow_test_invoke=False,
            request_templates=dict(mapped.request_templates),
            passthrough_behavior=_PASSTHROUGH[mapped.passthrough_behavior],
            integration_responses=[
                apigateway.IntegrationResponse(
                    status_code=response.status_code,
                    selection_pattern=response.selection_pattern,
                    response_templates=dict(response.templates) or None,
                    response_parameters={
                        f"method.response.header.{name}": value
                        for name, value in response.headers.items()
                    }
                    or None,
                )
                for response in mapped.responses
            ],
        )

    def _method(
        self,
        resource: apigateway.IResource,
        method: str,
        integration: apigateway.Integration,
        *,
        route_id: str,
        request_parameters: Mapping[str, bool] | None,
        request_schema: Mapping[str, Any] | None,
        method_responses: Sequence[apigateway.MethodResponse] | None,
        route_authorization: ApiAuthorization | None = None,
    ) -> apigateway.Method:
        for name in request_parameters or {}:
            if not re.fullmatch(r"method\.request\.(querystring|header|path)\.[^\s.]+", name):
                raise ValueError(
                    f"request_parameters: {name!r} is not a request parameter: write "
                    "method.request.querystring.<name>, method.request.header.<name> or "
                    "method.request.path.<name>."
                )
        models = None
        if request_schema is not None:
            model = self.rest_api.add_model(
                f"{route_id}Model",
                content_type="application/json",
                schema=_json_schema(dict(request_schema)),
            )
            models = {"application/json": model}
        authorization = route_authorization or self._authorization
        created = resource.add_method(
            method,
            integration,
            authorization_type={
                "iam": apigateway.AuthorizationType.IAM,
                "cognito": apigateway.AuthorizationType.COGNITO,
                "anonymous": apigateway.AuthorizationType.NONE,
            }[authorization.kind],
            authorizer=self._authorizer(authorization),
            authorization_scopes=list(authorization.scopes) or None,
            api_key_required=self._api_key_required or None,
            request_parameters=dict(request_parameters or {}) or None,
            request_validator=self.request_validator,
            request_models=models,
            method_responses=list(method_responses) if method_responses else None,
        )
        if route_authorization is not None and route_authorization.kind != (
            self._authorization.kind
        ):
            self._acknowledge_authorization(created, route_authorization)
        return created

    def _authorizer(self, authorization: ApiAuthorization) -> apigateway.IAuthorizer | None:
        """The Cognito authorizer of a set of user pools (one per set), None for others."""
        if authorization.kind != "cognito":
            return None
        key = tuple(sorted(pool.node.path for pool in authorization.user_pools))
        if key not in self._authorizers:
            self._authorizers[key] = apigateway.CognitoUserPoolsAuthorizer(
                self,
                "Authorizer"
                if not self._authorizers
                else f"Authorizer{len(self._authorizers) + 1}",
                cognito_user_pools=list(authorization.user_pools),
            )
        return self._authorizers[key]

    @staticmethod
    def _acknowledge_authorization(construct: Construct, authorization: ApiAuthorization) -> None:
        """Acknowledge what cdk-nag finds in a choice of authorization, on ``construct``."""
        kind = authorization.kind
        if kind == "anonymous":
            reason = f"Public by an explicit choice: {authorization.reason}"
            _defaults.acknowledge(construct, "AwsSolutions-APIG4", reason)
            _defaults.acknowledge(construct, "AwsSolutions-COG4", reason)
            return
        if kind == "iam":
            _defaults.acknowledge(
                construct,
                "AwsSolutions-COG4",
                "Every method uses AWS_IAM authorization (SigV4), granted with "
                "grant_invoke (e.g. to a Cognito identity pool role); a method has one "
                "authorization type, so a user pool authorizer cannot be added to it.",
            )
        # CORS preflight methods (OPTIONS) need no acknowledgment: cdk-nag's APIG4 and
        # COG4 rules leave OPTIONS methods out, as browsers send them without credentials.

    # -- grants, metrics, alarms ----------------------------------------------------------

    def grant_invoke(
        self, grantee: iam.IGrantable, method: str = "*", path: str = "/*"
    ) -> iam.Grant:
        """Let ``grantee`` call the API's methods (``execute-api:Invoke``) with SigV4.

        Args:
            grantee: The principal (``iam.IGrantable``), e.g. an identity pool's role.
            method: One method, or ``*`` for all.
            path: One resource path (``/messages``), or ``/*`` for all.
        """
        resource = self.rest_api.arn_for_execute_api(method, path, self._stage_name)
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["execute-api:Invoke"], resource_arns=[resource]
        )

    def metric_client_errors(
        self, *, period: Duration | None = None, statistic: str = "Average"
    ) -> cloudwatch.Metric:
        """``4XXError``: as an average, the share of requests answered 4XX (0-1).

        5-minute averages unless told otherwise (the ``client_errors`` alarm's metric).
        """
        return self.rest_api.metric_client_error(
            period=period or Duration.minutes(5), statistic=statistic
        )

    def metric_server_errors(
        self, *, period: Duration | None = None, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """``5XXError``: requests answered 5XX, 1-minute sums (the ``server_errors`` alarm)."""
        return self.rest_api.metric_server_error(
            period=period or Duration.minutes(1), statistic=statistic
        )

    def metric_latency(
        self, *, period: Duration | None = None, statistic: str = "p90"
    ) -> cloudwatch.Metric:
        """``Latency`` in milliseconds, 5-minute p90 (the ``latency`` alarm's metric)."""
        return self.rest_api.metric_latency(
            period=period or Duration.minutes(5), statistic=statistic
        )

    def metric_count(
        self, *, period: Duration | None = None, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """``Count``: requests, 1-minute sums."""
        return self.rest_api.metric_count(period=period or Duration.minutes(1), statistic=statistic)

    def _alarms(self) -> dict[str, cloudwatch.Alarm]:
        return _defaults.api_alarms(
            self,
            self.node.id,
            client_errors=self.metric_client_errors(),
            server_errors=self.metric_server_errors(),
            latency=self.metric_latency(),
            topic=self._alarm_topic,
        )

    # -- properties -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The stage's invoke URL, ending in ``/``."""
        return self.rest_api.url

    @property
    def stage(self) -> apigateway.Stage:
        """The stage."""
        return self.rest_api.deployment_stage

    @property
    def stage_name(self) -> str:
        """The stage's name (also the name of every route function's alias)."""
        return self._stage_name

    @property
    def api_id(self) -> str:
        """The REST API's id."""
        return self.rest_api.rest_api_id

    def execute_api_arn(self, method: str = "*", path: str = "/*") -> str:
        """The ``execute-api`` ARN of a method and path of the stage."""
        return self.rest_api.arn_for_execute_api(method, path, self._stage_name)


def _route_function(
    api: Construct,
    routes: Mapping[str, BlueprintFunction],
    method: str,
    path: str,
    parts: Sequence[str],
    *,
    route_id: str | None,
    alias_name: str,
    encryption_key: kms.IKey | None,
    alarm_topic: sns.ITopic | None,
    alarms: bool,
    handler: str,
    code: lambda_.Code | str | os.PathLike[str] | None,
    service_name: str | None,
    environment: Mapping[str, str] | None,
    timeout: Duration | None,
    runtime_helpers: bool | None,
    reserved_concurrent_executions: int | None,
    **options: Any,
) -> tuple[str, BlueprintFunction, lambda_.Alias]:
    """A route's own function under ``api`` and its alias: (route id, function, alias).

    ``options`` are the function options the route was given (None for a default).

    Raises:
        ValueError: The route id is taken.
    """
    route_id = route_id or _route_id(method, parts)
    if route_id in routes:
        raise ValueError(
            f"add_route({method!r}, {path!r}): the route id {route_id!r} is taken; give "
            "route_id= to name this route."
        )
    route = BlueprintFunction(
        api,
        route_id,
        handler=handler,
        code=code,
        service_name=service_name or route_id,
        description=f"{method.upper()} {path} of {api.node.id}",
        environment=environment,
        timeout=timeout or Duration.seconds(10),
        encryption_key=encryption_key,
        runtime_helpers=runtime_helpers,
        reserved_concurrent_executions=reserved_concurrent_executions,
        alarm_topic=alarm_topic,
        alarms=alarms,
        **{key: value for key, value in options.items() if value is not None},
    )
    alias = lambda_.Alias(
        route, "Alias", alias_name=alias_name, version=route.function.current_version
    )
    return route_id, route, alias


def _path_parts(path: str) -> list[str]:
    if not path.startswith("/") or (len(path) > 1 and path.endswith("/")):
        raise ValueError(
            f"path={path!r}: a resource path starts with '/' and does not end with one, "
            "e.g. '/messages' or '/messages/{id}'."
        )
    parts = [part for part in path.split("/")[1:] if part]
    if len(parts) != len(path.split("/")[1:]) and path != "/":
        raise ValueError(f"path={path!r}: a resource path has no empty parts ('//').")
    for index, part in enumerate(parts):
        if not _PATH_PART.fullmatch(part):
            raise ValueError(
                f"path={path!r}: {part!r} is not a path part: letters, digits and . _ ~ -, "
                "or a parameter {name} (a greedy {name+} last only)."
            )
        if part.endswith("+}") and index != len(parts) - 1:
            raise ValueError(f"path={path!r}: a greedy {part} must be the last part.")
    return parts


def _route_id(method: str, parts: Sequence[str]) -> str:
    words = [method.capitalize()]
    for part in parts:
        words += [w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", part) if w]
    return "".join(words) if len(words) > 1 else f"{method.capitalize()}Root"


def _check_stage(stage_name: str, variables: Mapping[str, str]) -> None:
    if not Token.is_unresolved(stage_name) and not _STAGE_NAME.fullmatch(stage_name):
        raise ValueError(
            f"stage_name={stage_name!r}: a stage name is 1-128 letters, digits or '_', e.g. 'prod'."
        )
    for name, value in variables.items():
        if not _STAGE_VARIABLE_NAME.fullmatch(name):
            raise ValueError(
                f"stage_variables: the name {name!r} must be 1-64 letters, digits or '_'."
            )
        if not Token.is_unresolved(value) and not _STAGE_VARIABLE_VALUE.fullmatch(value):
            raise ValueError(
                f"stage_variables[{name!r}]={value!r}: a value has at most 512 characters "
                "of letters, digits and - . _ ~ : / ? # & = ,"
            )


_SCHEMA_KEYS = {
    "type": "type",
    "properties": "properties",
    "required": "required",
    "additionalProperties": "additional_properties",
    "items": "items",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minimum": "minimum",
    "maximum": "maximum",
    "minItems": "min_items",
    "maxItems": "max_items",
    "pattern": "pattern",
    "enum": "enum",
    "title": "title",
    "description": "description",
    "format": "format",
    "$schema": "schema",
}
_SCHEMA_TYPES = {
    "object": apigateway.JsonSchemaType.OBJECT,
    "string": apigateway.JsonSchemaType.STRING,
    "integer": apigateway.JsonSchemaType.INTEGER,
    "number": apigateway.JsonSchemaType.NUMBER,
    "boolean": apigateway.JsonSchemaType.BOOLEAN,
    "array": apigateway.JsonSchemaType.ARRAY,
    "null": apigateway.JsonSchemaType.NULL,
}


def _json_schema(schema: Mapping[str, Any], *, root: bool = True) -> apigateway.JsonSchema:
    """A JSON Schema document (as JSON) as CDK's ``JsonSchema``."""
    props: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in _SCHEMA_KEYS:
            raise ValueError(
                f"request_schema: {key!r} is not supported here; use "
                f"{', '.join(sorted(_SCHEMA_KEYS))}."
            )
        name = _SCHEMA_KEYS[key]
        if key == "type":
            if value not in _SCHEMA_TYPES:
                raise ValueError(f"request_schema: type {value!r} is not a JSON Schema type.")
            props[name] = _SCHEMA_TYPES[value]
        elif key == "$schema":
            props[name] = apigateway.JsonSchemaVersion.DRAFT4
        elif key == "properties":
            props[name] = {k: _json_schema(v, root=False) for k, v in value.items()}
        elif key == "items" or (key == "additionalProperties" and isinstance(value, dict)):
            props[name] = _json_schema(value, root=False)
        else:
            props[name] = value
    if root:
        # API Gateway models are JSON Schema draft 4.
        props.setdefault("schema", apigateway.JsonSchemaVersion.DRAFT4)
    return apigateway.JsonSchema(**props)
