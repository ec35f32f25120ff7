"""The survivor chat: microservices behind API Gateway, a static site, SMS and alerts."""

from __future__ import annotations

import re
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from aws_cdk import aws_sns as sns
from constructs import Construct

from lambda_blueprints import _defaults
from lambda_blueprints._validation import check_int_range, check_types
from lambda_blueprints.constructs.function import BlueprintFunction
from lambda_blueprints.constructs.service_api import (
    ApiAuthorization,
    MappedIntegration,
    MappedResponse,
    ServiceApi,
)
from lambda_blueprints.constructs.sns_triggered_function import SnsTriggeredFunction

__all__ = ["SurvivorChat"]

_RUNTIME = "lambda_blueprints.runtime.survivor_chat"
#: The chat page: HTML, JavaScript and CSS, no build step.
SITE_DIRECTORY = Path(__file__).parent / "survivor_chat_site"
#: Time to live attribute of both tables.
TTL_ATTRIBUTE = "expiresAt"


def _json_text(reference: str) -> str:
    r"""A template expression writing ``reference`` as the body of a JSON string.

    ``$util.escapeJavaScript`` escapes an apostrophe as ``\'``, which JSON refuses; the
    ``replaceAll`` turns it back. Quiet (``$!``): a missing field writes nothing.
    """
    return f'$!util.escapeJavaScript({reference}).replaceAll("\\\\\'", "\'")'


_SIGNATURE_HEADER = "$input.params('X-Twilio-Signature')"

#: Twilio's form post as the SMS function's event: every field, the signature and the URL
#: Twilio called (which the signature covers).
SMS_REQUEST_TEMPLATE = "\n".join(
    [
        "#set($fields = {})",
        "#foreach($pair in $input.body.split('&'))",
        "#set($kv = $pair.split('=', 2))",
        "#if($kv.size() > 1)#set($value = $util.urlDecode($kv[1]))#else#set($value = '')#end",
        "#set($ignored = $fields.put($util.urlDecode($kv[0]), $value))",
        "#end",
        "{",
        f'  "from": "{_json_text("$fields.From")}",',
        f'  "text": "{_json_text("$fields.Body")}",',
        f'  "sid": "{_json_text("$fields.MessageSid")}",',
        f'  "signature": "{_json_text(_SIGNATURE_HEADER)}",',
        '  "url": "https://$context.domainName$context.path",',
        '  "params": {',
        "#foreach($name in $fields.keySet())",
        f'    "{_json_text("$name")}": "{_json_text("$fields.get($name)")}"'
        "#if($foreach.hasNext),#end",
        "#end",
        "  }",
        "}",
    ]
)

#: The function's answer as TwiML, the reply XML-escaped.
SMS_RESPONSE_TEMPLATE = "\n".join(
    [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "#set($answer = $input.path('$'))",
        "<Response><Message>"
        '$!answer.reply.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")'
        "</Message></Response>",
    ]
)

#: A refused SMS: TwiML without a reply (Twilio then sends nothing back).
SMS_REFUSED_TEMPLATE = '<?xml version="1.0" encoding="UTF-8"?>\n<Response></Response>'


class SurvivorChat(Construct):
    """The survivor chat of "Surviving the Zombie Apocalypse with Serverless Microservices".

    One function per capability and one data store per service, authenticated by default:

    * **Messages** (``Messages`` table): ``GET /messages`` (a page at a time, with tokens
      no client can forge, made and checked with a KMS HMAC key) and ``POST /messages``
      (idempotent by the client's message id, rate limited per author).
    * **Typing indicator** (``Activity`` table, with time to live): ``PUT /typing`` and
      ``GET /typing``.
    * **SMS webhook**: ``POST /sms`` takes Twilio's form post, which a request template
      turns into JSON; a response template answers TwiML. Twilio cannot sign in, so the
      route is public and the function checks Twilio's request signature with the auth
      token in the SSM SecureString parameter ``twilio_auth_token_parameter``.
    * **Alerts**: each message of an SNS topic (panic buttons, motion sensors) is posted
      into the chat by an :class:`SnsTriggeredFunction`.
    * **The chat page**: a private bucket behind CloudFront (origin access control,
      security headers). CloudFront sends ``/messages*`` and ``/typing*`` to the API, so
      the page calls its own origin.

    Least privilege: every route's function has its own role; the reader may only
    ``Query`` the messages table and use the token key, the writer only ``GetItem``,
    ``PutItem`` and ``UpdateItem`` it, neither touches the activity table, and each
    method may invoke only its own function.

    Authentication: a Cognito user pool (``user_pool``, or one created here with sign-up
    by administrators only) authorizes every chat method; the page signs in with the
    pool's ``USER_PASSWORD_AUTH`` flow and sends the ID token. ``anonymous=True`` opens
    the chat to anyone, who posts under any name they type: only for a chat that is
    public by design.

    Args:
        scope: The parent construct.
        construct_id: The construct id.
        cloud_watch_role: Create and set the account's API Gateway CloudWatch Logs role
            (see :class:`ServiceApi`). Required.
        user_pool: The user pool whose users may chat. Defaults to a new pool.
        anonymous: No sign-in at all; anyone may read and post. Defaults to False.
        twilio_auth_token_parameter: Name of the SSM SecureString parameter holding the
            Twilio auth token. Without it, SMS signatures are not checked: development
            only, since anyone who knows the webhook URL can then post.
        alert_topic: The topic of alerts to post. Defaults to a new topic.
        rate_limit_per_minute: Messages per author per minute, 1-600. Defaults to 20.
        throttling_rate_limit: Requests per second of the API stage. Defaults to 50.
        throttling_burst_limit: Burst of the API stage. Defaults to 100.
        web_acl_arn: A regional WAF web ACL for the API stage.
        encryption_key: Customer managed key for the tables, logs and environments.
        alarm_topic: SNS topic for every alarm's notifications.
        alarms: Create the alarms. Defaults to True.
        site: Create the chat page's bucket and distribution. Defaults to True.

    Raises:
        ValueError: A prop outside its limit, or ``user_pool`` with ``anonymous=True``.
        TypeError: A prop of the wrong type.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cloud_watch_role: bool,
        user_pool: cognito.IUserPool | None = None,
        anonymous: bool = False,
        twilio_auth_token_parameter: str | None = None,
        alert_topic: sns.ITopic | None = None,
        rate_limit_per_minute: int = 20,
        throttling_rate_limit: int = 50,
        throttling_burst_limit: int = 100,
        web_acl_arn: str | None = None,
        encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
        alarms: bool = True,
        site: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        check_types(
            ("user_pool", user_pool, cognito.IUserPool),
            ("alert_topic", alert_topic, sns.ITopic),
            ("encryption_key", encryption_key, kms.IKey),
            ("alarm_topic", alarm_topic, sns.ITopic),
        )
        check_int_range(
            "rate_limit_per_minute",
            rate_limit_per_minute,
            1,
            600,
            fix="Messages per author per minute; a person types fewer than 600.",
        )
        if anonymous and user_pool is not None:
            raise ValueError(
                "user_pool with anonymous=True: an anonymous chat has no sign-in. Leave "
                "user_pool out, or set anonymous=False."
            )
        if twilio_auth_token_parameter is not None and not Token.is_unresolved(
            twilio_auth_token_parameter
        ):
            _check_parameter_name(twilio_auth_token_parameter)
        stack = Stack.of(self)
        auth_mode = "anonymous" if anonymous else "cognito"

        #: The messages service's table.
        self.messages_table: dynamodb.Table = _defaults.pk_sk_table(
            self, "Messages", time_to_live_attribute=TTL_ATTRIBUTE, encryption_key=encryption_key
        )
        #: The typing indicator's table.
        self.activity_table: dynamodb.Table = _defaults.pk_sk_table(
            self,
            "Activity",
            time_to_live_attribute=TTL_ATTRIBUTE,
            encryption_key=encryption_key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        #: The HMAC key that makes and checks page tokens.
        self.token_key = kms.Key(
            self,
            "TokenKey",
            description=f"Signs the page tokens of {self.node.path}",
            key_spec=kms.KeySpec.HMAC_256,
            key_usage=kms.KeyUsage.GENERATE_VERIFY_MAC,
            removal_policy=RemovalPolicy.DESTROY,
        )
        #: The user pool (None for an anonymous chat).
        self.user_pool: cognito.IUserPool | None = None
        #: The page's app client (None for an anonymous chat).
        self.user_pool_client: cognito.IUserPoolClient | None = None
        if not anonymous:
            self.user_pool = user_pool or self._user_pool()
            self.user_pool_client = self.user_pool.add_client(
                "WebClient",
                auth_flows=cognito.AuthFlow(user_password=True, user_srp=True),
                generate_secret=False,
                prevent_user_existence_errors=True,
                id_token_validity=Duration.hours(1),
                access_token_validity=Duration.hours(1),
                refresh_token_validity=Duration.days(1),
            )
        authorization = (
            ApiAuthorization.anonymous(
                "The chat was made anonymous by an explicit choice (anonymous=True): anyone "
                "may read it and post under any name."
            )
            if anonymous
            else ApiAuthorization.cognito(self.user_pool)  # type: ignore[arg-type]
        )
        #: The chat's REST API.
        self.api = ServiceApi(
            self,
            "Api",
            cloud_watch_role=cloud_watch_role,
            authorization=authorization,
            throttling_rate_limit=throttling_rate_limit,
            throttling_burst_limit=throttling_burst_limit,
            web_acl_arn=web_acl_arn,
            encryption_key=encryption_key,
            alarm_topic=alarm_topic,
            alarms=alarms,
            description="The survivor chat: messages, typing indicator and SMS",
        )
        common = {"CHAT_AUTH": auth_mode}
        table_env = {"MESSAGES_TABLE_NAME": self.messages_table.table_name}
        #: ``GET /messages``: reads messages.
        self.read_messages: BlueprintFunction = self.api.add_route(
            "GET",
            "/messages",
            handler=f"{_RUNTIME}.messages.handler.lambda_handler",
            service_name="chat-messages",
            environment={
                **common,
                **table_env,
                "TOKEN_KEY_ID": self.token_key.key_arn,
            },
            request_parameters={
                "method.request.querystring.channel": False,
                "method.request.querystring.limit": False,
                "method.request.querystring.next": False,
            },
        )
        #: ``POST /messages``: writes messages.
        self.write_messages: BlueprintFunction = self.api.add_route(
            "POST",
            "/messages",
            handler=f"{_RUNTIME}.messages.handler.lambda_handler",
            service_name="chat-messages",
            environment={
                **common,
                **table_env,
                "RATE_LIMIT_PER_MINUTE": str(rate_limit_per_minute),
            },
        )
        #: ``PUT /typing``: marks the caller as typing.
        self.set_typing: BlueprintFunction = self.api.add_route(
            "PUT",
            "/typing",
            handler=f"{_RUNTIME}.activity.handler.lambda_handler",
            service_name="chat-activity",
            environment={**common, "ACTIVITY_TABLE_NAME": self.activity_table.table_name},
        )
        #: ``GET /typing``: who is typing.
        self.get_typing: BlueprintFunction = self.api.add_route(
            "GET",
            "/typing",
            handler=f"{_RUNTIME}.activity.handler.lambda_handler",
            service_name="chat-activity",
            environment={**common, "ACTIVITY_TABLE_NAME": self.activity_table.table_name},
            request_parameters={"method.request.querystring.channel": False},
        )
        sms_env = dict(table_env)
        if twilio_auth_token_parameter is not None:
            sms_env["TWILIO_AUTH_TOKEN_PARAMETER"] = twilio_auth_token_parameter
        #: ``POST /sms``: Twilio's webhook.
        self.sms: BlueprintFunction = self.api.add_route(
            "POST",
            "/sms",
            handler=f"{_RUNTIME}.sms.handler.lambda_handler",
            service_name="chat-sms",
            environment=sms_env,
            authorization=ApiAuthorization.anonymous(
                "Twilio posts SMS webhooks without AWS credentials or tokens; the function "
                "checks Twilio's X-Twilio-Signature against the account's auth token."
            ),
            integration=MappedIntegration(
                request_templates={"application/x-www-form-urlencoded": SMS_REQUEST_TEMPLATE},
                responses=[
                    MappedResponse(
                        "200",
                        templates={"application/xml": SMS_RESPONSE_TEMPLATE},
                        headers={"Cache-Control": "'no-store'"},
                    ),
                    MappedResponse(
                        "400",
                        "BadRequest:.*",
                        templates={"application/xml": SMS_REFUSED_TEMPLATE},
                    ),
                    MappedResponse(
                        "403",
                        "Forbidden:.*",
                        templates={"application/xml": SMS_REFUSED_TEMPLATE},
                    ),
                ],
            ),
        )
        #: Alerts posted into the chat.
        self.alerts = SnsTriggeredFunction(
            self,
            "Alerts",
            handler=f"{_RUNTIME}.alerts.handler.lambda_handler",
            service_name="chat-alerts",
            topic=alert_topic,
            environment=table_env,
            encryption_key=encryption_key,
            alarm_topic=alarm_topic,
            alarms=alarms,
        )
        self._grant(stack, twilio_auth_token_parameter)

        #: The site's bucket and distribution (None with ``site=False``).
        self.site_bucket: s3.Bucket | None = None
        self.distribution: cloudfront.Distribution | None = None
        if site:
            self._site(stack, auth_mode)

    # -- least privilege ------------------------------------------------------------------

    def _grant(self, stack: Stack, twilio_parameter: str | None) -> None:
        messages = self.messages_table
        activity = self.activity_table
        _allow(self.read_messages, ["dynamodb:Query"], [messages.table_arn])
        self.token_key.grant(self.read_messages.function, "kms:GenerateMac", "kms:VerifyMac")
        writers = (self.write_messages, self.sms, self.alerts.blueprint)
        for writer in writers:
            _allow(
                writer,
                ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                [messages.table_arn],
            )
        _allow(self.set_typing, ["dynamodb:PutItem"], [activity.table_arn])
        _allow(self.get_typing, ["dynamodb:Query"], [activity.table_arn])
        key = messages.encryption_key
        if key is not None:
            for function in (self.read_messages, *writers):
                key.grant(function.function, "kms:Decrypt", "kms:GenerateDataKey")
        activity_key = activity.encryption_key
        if activity_key is not None:
            for function in (self.set_typing, self.get_typing):
                activity_key.grant(function.function, "kms:Decrypt", "kms:GenerateDataKey")
        if twilio_parameter is not None:
            name = twilio_parameter.lstrip("/")
            _allow(
                self.sms,
                ["ssm:GetParameter"],
                [stack.format_arn(service="ssm", resource="parameter", resource_name=name)],
            )

    # -- the user pool ----------------------------------------------------------------------

    def _user_pool(self) -> cognito.UserPool:
        pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        _defaults.acknowledge(
            pool,
            "AwsSolutions-COG2",
            "MFA is optional (TOTP), so survivors can sign in from any device they find; "
            "pass a user_pool of your own with MFA required where that is not so.",
        )
        reason = (
            "Threat protection needs the Plus feature plan, billed per monthly active "
            "user; administrators create every account (no self sign-up). Pass a "
            "user_pool of your own on the Plus plan to enable it."
        )
        _defaults.acknowledge(pool, "AwsSolutions-COG8", reason)
        return pool

    # -- the site ---------------------------------------------------------------------------

    def _site(self, stack: Stack, auth_mode: str) -> None:
        bucket = s3.Bucket(
            self,
            "Site",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            # CloudFront's origin access control cannot read objects under the AWS managed
            # aws/s3 key; the page holds nothing secret.
            encryption=s3.BucketEncryption.S3_MANAGED,
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=False,
        )
        _defaults.acknowledge(
            bucket,
            "AwsSolutions-S1",
            "The bucket holds only the public chat page, which CloudFront serves; its "
            "requests are in the distribution's metrics.",
        )
        self.site_bucket = bucket
        cognito_host = f"https://cognito-idp.{stack.region}.amazonaws.com"
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="The survivor chat page: strict CSP and security headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=(
                        "default-src 'none'; script-src 'self'; style-src 'self'; "
                        f"img-src 'self'; connect-src 'self' {cognito_host}; "
                        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
                    ),
                    override=True,
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365),
                    include_subdomains=True,
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
            ),
        )
        api_origin = origins.RestApiOrigin(self.api.rest_api)
        api_behavior = cloudfront.BehaviorOptions(
            origin=api_origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            response_headers_policy=headers,
        )
        distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="The survivor chat",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
            ),
            additional_behaviors={"/messages*": api_behavior, "/typing*": api_behavior},
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
        )
        self.distribution = distribution
        for rule, reason in (
            (
                "AwsSolutions-CFR1",
                "The chat is for survivors anywhere; there is no country to block.",
            ),
            (
                "AwsSolutions-CFR2",
                "The page is static and the API behind it is throttled and authenticated "
                "(and may have its own web ACL, web_acl_arn); a CloudFront web ACL must "
                "live in us-east-1, outside this stack's Region.",
            ),
            (
                "AwsSolutions-CFR3",
                "Standard access logs need a bucket with ACLs enabled; the API's own access "
                "logs record every chat request, and the page is static.",
            ),
            (
                "AwsSolutions-CFR4",
                "The distribution uses CloudFront's default certificate, which always "
                "negotiates TLS 1.2 or later with modern clients; give it a domain and an "
                "ACM certificate to pin TLSv1.2_2021.",
            ),
        ):
            _defaults.acknowledge(distribution, rule, reason)
        config: dict[str, object] = {"auth": auth_mode, "apiPath": "", "region": stack.region}
        if self.user_pool is not None and self.user_pool_client is not None:
            config["userPoolId"] = self.user_pool.user_pool_id
            config["clientId"] = self.user_pool_client.user_pool_client_id
        deployment = s3_deployment.BucketDeployment(
            self,
            "Page",
            destination_bucket=bucket,
            sources=[
                s3_deployment.Source.asset(str(SITE_DIRECTORY)),
                s3_deployment.Source.json_data("config.json", config),
            ],
            distribution=distribution,
            distribution_paths=["/*"],
            memory_limit=256,
            prune=True,
        )
        _acknowledge_page_deployment(deployment, stack)

    # -- properties ----------------------------------------------------------------------------

    @property
    def url(self) -> str | None:
        """The chat page's URL (None with ``site=False``)."""
        if self.distribution is None:
            return None
        return f"https://{self.distribution.distribution_domain_name}/"

    @property
    def sms_webhook_url(self) -> str:
        """The URL to give Twilio as the number's messaging webhook (HTTP POST)."""
        return f"{self.api.url}sms"

    @property
    def alert_topic(self) -> sns.ITopic:
        """The topic whose messages are posted into the chat."""
        return self.alerts.topic


def _allow(function: BlueprintFunction, actions: list[str], resources: list[str]) -> None:
    """Exact grants: aws-cdk-lib's table grants add every index and more actions."""
    function.function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=resources))


def _check_parameter_name(name: str) -> None:
    if not re.fullmatch(r"/?[A-Za-z0-9_.\-/]{1,1011}", name) or "//" in name:
        raise ValueError(
            f"twilio_auth_token_parameter={name!r} is not an SSM parameter name: letters, "
            "digits and _ . - /, e.g. '/chat/twilio/auth-token'."
        )


def _acknowledge_page_deployment(deployment: Construct, stack: Stack) -> None:
    """cdk-nag's findings on CDK's own bucket deployment function, with their reasons."""
    handler = next(
        (
            child
            for child in stack.node.children
            if child.node.id.startswith("Custom::CDKBucketDeployment")
        ),
        None,
    )
    targets = [deployment] + ([handler] if handler is not None else [])
    reasons = {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]": "CDK's bucket deployment function writes its logs "
        "with the basic execution role; it runs only during deployments.",
        "AwsSolutions-IAM5[Action::s3:GetBucket*]": "CDK's bucket deployment copies the "
        "page from the assets bucket into the site bucket; CDK grants read and write on "
        "those two buckets only.",
        "AwsSolutions-IAM5[Action::s3:GetObject*]": "As above: the two buckets only.",
        "AwsSolutions-IAM5[Action::s3:List*]": "As above: the two buckets only.",
        "AwsSolutions-IAM5[Action::s3:DeleteObject*]": "Pruning removes old files of the "
        "page from the site bucket only.",
        "AwsSolutions-IAM5[Action::s3:Abort*]": "As above: the site bucket only.",
        "AwsSolutions-L1": "CDK's bucket deployment function pins its own runtime.",
        "Serverless-LambdaDLQ": "CloudFormation invokes the deployment function "
        "synchronously and fails the deployment on its error.",
        "Serverless-LambdaLatestVersion": "CDK's bucket deployment function pins its own runtime.",
        "Serverless-LambdaTracing": "The deployment function runs only during deployments.",
    }
    for target in targets:
        for rule, reason in reasons.items():
            _defaults.acknowledge(target, rule, reason)
    if handler is None:
        return
    # The object ARNs of the assets bucket and the site bucket (read the page, write it),
    # and CloudFront's invalidation actions, which take no resource.
    policy = handler.node.try_find_child("ServiceRole")
    policy = policy.node.try_find_child("DefaultPolicy") if policy is not None else None
    if not isinstance(policy, iam.Policy):
        return
    document = stack.resolve(policy.document.to_json())
    for statement in document.get("Statement", []):
        resources = statement.get("Resource", [])
        for resource in resources if isinstance(resources, list) else [resources]:
            form = _defaults.nag_form(resource)
            if "*" in form:
                _defaults.acknowledge(
                    handler,
                    f"AwsSolutions-IAM5[Resource::{form}]",
                    "CDK's bucket deployment reads the page asset's objects and writes the "
                    "site bucket's (object ARNs end in /*), and creates CloudFront "
                    "invalidations, which support no resource-level permissions.",
                )
