"""An HTTP API (API Gateway v2) whose routes are each served by a function of their own."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import jsii
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
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
from lambda_blueprints.constructs.service_api import _path_parts, _route_function

__all__ = ["HttpApiAuthorization", "HttpServiceApi"]

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
#: What an HTTP API access log line holds: the request, the caller, the outcome.
_ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"requestTime":"$context.requestTime","httpMethod":"$context.httpMethod",'
    '"routeKey":"$context.routeKey","status":"$context.status",'
    '"protocol":"$context.protocol","responseLength":"$context.responseLength",'
    '"integrationError":"$context.integrationErrorMessage",'
    '"authorizerError":"$context.authorizer.error"}'
)


class HttpApiAuthorization:
    """How the routes of an :class:`HttpServiceApi` authenticate their callers.

    Use :meth:`jwt`, :meth:`cognito`, :meth:`iam` or :meth:`anonymous`.
    """

    def __init__(
        self,
        kind: str,
        *,
        issuer: str = "",
        audience: Sequence[str] = (),
        user_pool: cognito.IUserPool | None = None,
        clients: Sequence[cognito.IUserPoolClient] = (),
        scopes: Sequence[str] = (),
        reason: str = "",
    ) -> None:
        self.kind = kind
        self.issuer = issuer
        self.audience = tuple(audience)
        self.user_pool = user_pool
        self.clients = tuple(clients)
        self.scopes = tuple(scopes)
        self.reason = reason

    @classmethod
    def jwt(
        cls, issuer: str, audience: Sequence[str], *, scopes: Sequence[str] = ()
    ) -> HttpApiAuthorization:
        """A JWT authorizer: tokens of any OpenID Connect issuer (``Authorization`` header).

        Args:
            issuer: The issuer URL, e.g. ``https://example.auth0.com/``.
            audience: Accepted ``aud`` (or, for access tokens, ``client_id``) values.
            scopes: Scopes a token must carry one of; none for any.
        """
        if not audience:
            raise ValueError(
                "HttpApiAuthorization.jwt(): give the audience the tokens are for, e.g. "
                "audience=['my-client-id']; a JWT authorizer checks it."
            )
        return cls("jwt", issuer=issuer, audience=audience, scopes=scopes)

    @classmethod
    def cognito(
        cls,
        user_pool: cognito.IUserPool,
        clients: Sequence[cognito.IUserPoolClient],
        *,
        scopes: Sequence[str] = (),
    ) -> HttpApiAuthorization:
        """A Cognito user pool as the JWT issuer, its app ``clients`` as the audience."""
        if not clients:
            raise ValueError(
                "HttpApiAuthorization.cognito(): give the user pool's app clients whose "
                "tokens are accepted, e.g. [user_pool.add_client('Web')]."
            )
        return cls("cognito", user_pool=user_pool, clients=clients, scopes=scopes)

    @classmethod
    def iam(cls) -> HttpApiAuthorization:
        """SigV4-signed requests (``AWS_IAM``); grant with :meth:`HttpServiceApi.grant_invoke`."""
        return cls("iam")

    @classmethod
    def anonymous(cls, reason: str) -> HttpApiAuthorization:
        """No authentication; anyone may call every route. Say why, in 20 characters or more."""
        if len(reason.strip()) < 20:
            raise ValueError(
                f"HttpApiAuthorization.anonymous(reason={reason!r}): say, in at least 20 "
                "characters, why anyone may call this API; it is recorded with the cdk-nag "
                "acknowledgments of its public routes."
            )
        return cls("anonymous", reason=reason.strip())


class HttpServiceApi(Construct):
    """An HTTP API whose routes are each served by a function of their own.

    HTTP APIs cost less per request than REST APIs and validate JWTs (Cognito or any
    OpenID Connect issuer) without a function of their own; they have no mapping
    templates, request validation, API keys or WAF. Choose :class:`ServiceApi` when you
    need those.

    Each :meth:`add_route` creates one :class:`BlueprintFunction` with its own role, an
    alias named ``live``, a Lambda proxy integration (payload format 2.0) and one invoke
    permission limited to this API and the route's path.

    Resources defined: ``HttpApi`` and its ``$default`` stage (auto-deployed, throttled,
    JSON access logs in ``AccessLogs``), ``Authorizer`` for JWT or Cognito authorization,
    one :class:`BlueprintFunction` per route, and the ``ClientErrorsAlarm``,
    ``ServerErrorsAlarm`` and ``LatencyAlarm`` (unless ``alarms=False``).

    Args:
        scope: The parent construct.
        construct_id: The construct id.
        authorization: How callers authenticate. Required: :meth:`HttpApiAuthorization.jwt`,
            ``cognito``, ``iam`` or ``anonymous``.
        throttling_rate_limit: Steady requests per second of the stage, 1-10,000.
            Defaults to 100.
        throttling_burst_limit: Burst of the stage, 0-5,000. Defaults to 200.
        cors_allow_origins: Origins browsers may call the API from; None for none.
        encryption_key: Customer managed key for the access logs and the functions.
        alarm_topic: SNS topic for the alarms' notifications.
        alarms: Create the alarms. Defaults to True.
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
        authorization: HttpApiAuthorization,
        throttling_rate_limit: int = 100,
        throttling_burst_limit: int = 200,
        cors_allow_origins: Sequence[str] | None = None,
        encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
        alarms: bool = True,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_types(
            ("authorization", authorization, HttpApiAuthorization),
            ("encryption_key", encryption_key, kms.IKey),
            ("alarm_topic", alarm_topic, sns.ITopic),
        )
        check_int_range("throttling_rate_limit", throttling_rate_limit, 1, 10_000)
        check_int_range("throttling_burst_limit", throttling_burst_limit, 0, 5_000)
        self._authorization = authorization
        self._encryption_key = encryption_key
        self._alarm_topic = alarm_topic
        self._alarms_enabled = alarms
        #: The route functions, by route id.
        self.routes: dict[str, BlueprintFunction] = {}
        if encryption_key is not None:
            _defaults.allow_logs_to_use(encryption_key)
        #: The stage's access log group.
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=_defaults.LOG_RETENTION,
            encryption_key=encryption_key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        #: The HTTP API.
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description=description or f"{construct_id} service API",
            create_default_stage=False,
            cors_preflight=(
                apigwv2.CorsPreflightOptions(
                    allow_origins=list(cors_allow_origins),
                    allow_headers=["Content-Type", "Authorization"],
                    allow_methods=[apigwv2.CorsHttpMethod.ANY],
                    max_age=Duration.hours(1),
                )
                if cors_allow_origins
                else None
            ),
        )
        #: The ``$default`` stage.
        self.stage = apigwv2.HttpStage(
            self,
            "Stage",
            http_api=self.http_api,
            auto_deploy=True,
            detailed_metrics_enabled=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=throttling_rate_limit, burst_limit=throttling_burst_limit
            ),
            access_log_settings=_AccessLogs(self.access_logs),
        )
        self._authorizer = self._make_authorizer()
        #: The API's alarms: ``client_errors``, ``server_errors``, ``latency``.
        self.alarms: dict[str, cloudwatch.Alarm] = self._alarms() if alarms else {}

    def _make_authorizer(self) -> apigwv2.IHttpRouteAuthorizer | None:
        auth = self._authorization
        if auth.kind == "jwt":
            return authorizers.HttpJwtAuthorizer(
                "Authorizer", auth.issuer, jwt_audience=list(auth.audience)
            )
        if auth.kind == "cognito":
            assert auth.user_pool is not None  # noqa: S101 - set by the classmethod
            return authorizers.HttpUserPoolAuthorizer(
                "Authorizer", auth.user_pool, user_pool_clients=list(auth.clients)
            )
        if auth.kind == "iam":
            return authorizers.HttpIamAuthorizer()
        _defaults.acknowledge(
            self.http_api,
            "AwsSolutions-APIG4",
            f"Public by an explicit choice: {auth.reason}",
        )
        return None

    def add_route(
        self,
        method: str,
        path: str,
        *,
        handler: str,
        code: lambda_.Code | str | os.PathLike[str] | None = None,
        route_id: str | None = None,
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
        """Serve ``method path`` with a function of its own (payload format 2.0).

        Args:
            method: ``GET``, ``POST``, ``PUT``, ``PATCH``, ``DELETE``, ``HEAD``,
                ``OPTIONS`` or ``ANY``.
            path: ``/items/{id}``, or a greedy ``{proxy+}`` last.
            handler: ``<module>.<function>`` of ``code``, or one of the library's handlers.
            code: Your code: a folder path or any ``lambda_.Code``.
            route_id: The construct id of the route's function.
            service_name: ``POWERTOOLS_SERVICE_NAME``. Defaults to the route id.
            environment: Environment variables of the function.
            memory_size: Memory in MiB, 128-10240.
            timeout: 1-30 seconds (an HTTP API's integration timeout). Defaults to 10 s.
            log_retention: Retention of the function's log group.
            log_level: ``DEBUG``, ``INFO``, ``WARN`` or ``ERROR``.
            layers: Layers of your own.
            runtime_helpers: Add the library's runtime layer.
            architecture: ``ARM_64`` (default) or ``X86_64``.
            reserved_concurrent_executions: Reserved concurrency of the function.

        Returns:
            The route's function.
        """
        check_choice("method", method.upper(), _METHODS)
        check_types(("timeout", timeout, Duration))
        check_function_options(memory_size=memory_size, timeout=timeout, log_level=log_level)
        if timeout is not None:
            check_int_range(
                "timeout",
                int(timeout.to_seconds()),
                1,
                30,
                fix="HTTP APIs stop waiting for an integration after 30 seconds.",
            )
        parts = _path_parts(path)
        route_id, route, alias = _route_function(
            self,
            self.routes,
            method,
            path,
            parts,
            route_id=route_id,
            alias_name="live",
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
        self.http_api.add_routes(
            path="/" + "/".join(parts),
            methods=[apigwv2.HttpMethod(method.upper())],
            integration=integrations.HttpLambdaIntegration(f"{route_id}Integration", alias),
            authorizer=self._authorizer,
            authorization_scopes=list(self._authorization.scopes) or None,
        )
        self.routes[route_id] = route
        return route

    def grant_invoke(
        self, grantee: iam.IGrantable, method: str = "*", path: str = "/*"
    ) -> iam.Grant:
        """Let ``grantee`` call routes with SigV4 (``execute-api:Invoke``), for ``iam()``."""
        resource = self.http_api.arn_for_execute_api(method, path, "$default")
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["execute-api:Invoke"], resource_arns=[resource]
        )

    def metric_client_errors(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """``4xx`` as an average: the share of requests answered 4XX, 5-minute periods."""
        return self.http_api.metric_client_error(
            period=period or Duration.minutes(5), statistic="Average"
        )

    def metric_server_errors(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """``5xx``: requests answered 5XX, 1-minute sums."""
        return self.http_api.metric_server_error(
            period=period or Duration.minutes(1), statistic="Sum"
        )

    def metric_latency(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """``Latency`` in milliseconds, 5-minute p90."""
        return self.http_api.metric_latency(period=period or Duration.minutes(5), statistic="p90")

    def metric_count(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """``Count``: requests, 1-minute sums."""
        return self.http_api.metric_count(period=period or Duration.minutes(1), statistic="Sum")

    def _alarms(self) -> dict[str, cloudwatch.Alarm]:
        return _defaults.api_alarms(
            self,
            self.node.id,
            client_errors=self.metric_client_errors(),
            server_errors=self.metric_server_errors(),
            latency=self.metric_latency(),
            topic=self._alarm_topic,
        )

    @property
    def url(self) -> str:
        """The ``$default`` stage's URL, ending in ``/``."""
        return f"{self.http_api.api_endpoint}/"


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    """The stage's access log settings: its log group, one JSON line per request."""

    def __init__(self, group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return apigateway.AccessLogFormat.custom(_ACCESS_LOG_FORMAT)
