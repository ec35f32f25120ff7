"""ServiceApi: a REST API whose routes each have a function, a role and an alias of their own."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from lambda_blueprints.constructs.service_api import (
    ApiAuthorization,
    MappedIntegration,
    MappedResponse,
    ServiceApi,
)
from lambda_blueprints.testing import Clock, LocalCloud
from tests.conftest import cfn_lint_template, nag_findings, normalize_template

NewStack = Callable[..., Stack]

HANDLERS = textwrap.dedent(
    """
    import json

    def listing(event, context):
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"route": "listing", "query": event["queryStringParameters"]}),
        }

    def sms(event, context):
        if not event.get("text"):
            raise ValueError("BadRequest: empty")
        return {"reply": "got " + event["text"]}
    """
)

SMS_TEMPLATE = (
    "#set($kv = $input.body.split('=', 2))"
    '{"text": "$util.escapeJavaScript($util.urlDecode($kv[1]))"}'
)


@pytest.fixture
def code(tmp_path: Path) -> str:
    folder = tmp_path / "chat"
    folder.mkdir()
    (folder / "routes.py").write_text(HANDLERS)
    return str(folder)


def chat_api(stack: Stack, code: str, **props: Any) -> ServiceApi:
    props.setdefault("cloud_watch_role", False)
    api = ServiceApi(stack, "Chat", **props)
    api.add_route("GET", "/messages", handler="routes.listing", code=code)
    api.add_route(
        "POST",
        "/sms",
        handler="routes.sms",
        code=code,
        integration=MappedIntegration(
            request_templates={"application/x-www-form-urlencoded": SMS_TEMPLATE},
            responses=[
                MappedResponse(
                    "200",
                    templates={
                        "application/xml": (
                            "<Response><Message>$input.path('$.reply')</Message></Response>"
                        )
                    },
                    headers={"Cache-Control": "'no-store'"},
                ),
                MappedResponse(
                    "400", "BadRequest:.*", templates={"application/json": '{"error": "bad"}'}
                ),
            ],
        ),
    )
    api.add_mock_route("GET", "/health", response_body='{"healthy": true}')
    return api


def resources(stack: Stack, kind: str) -> dict[str, Any]:
    return Template.from_stack(stack).find_resources(kind)  # type: ignore[no-any-return]


# --- one function, role and alias per route -------------------------------------------------


def test_each_route_gets_its_own_function_role_and_stage_alias(
    new_stack: NewStack, code: str
) -> None:
    stack = new_stack()
    api = chat_api(stack, code)

    assert set(api.routes) == {"GetMessages", "PostSms"}
    functions = resources(stack, "AWS::Lambda::Function")
    roles = {json.dumps(f["Properties"]["Role"]) for f in functions.values()}
    assert len(functions) == 2 and len(roles) == 2
    aliases = resources(stack, "AWS::Lambda::Alias")
    assert sorted(a["Properties"]["Name"] for a in aliases.values()) == ["prod", "prod"]
    methods = resources(stack, "AWS::ApiGateway::Method")
    uris = [
        json.dumps(m["Properties"]["Integration"]["Uri"])
        for m in methods.values()
        if m["Properties"]["Integration"]["Type"] in ("AWS", "AWS_PROXY")
    ]
    alias_ids = set(aliases)
    assert len(uris) == 2
    assert all(any(alias_id in uri for alias_id in alias_ids) for uri in uris)


def test_a_function_may_be_invoked_only_by_its_own_method_and_stage(
    new_stack: NewStack, code: str
) -> None:
    stack = new_stack()
    chat_api(stack, code)

    permissions = resources(stack, "AWS::Lambda::Permission")
    targets = {}
    for permission in permissions.values():
        props = permission["Properties"]
        assert props["Principal"] == "apigateway.amazonaws.com"
        source = json.dumps(props["SourceArn"])
        assert '"/", {"Ref": "ChatRestApiDeploymentStageprod' in source
        targets[source.rsplit("/", 2)[-2] + "/" + source.rsplit("/", 1)[-1]] = json.dumps(
            props["FunctionName"]
        )
    # No test-invoke permission (stage "*"), one permission per method.
    assert sorted(targets) == ['GET/messages"]]}', 'POST/sms"]]}']
    assert len(set(targets.values())) == 2


def test_the_stage_is_throttled_traced_and_logged_without_bodies(
    new_stack: NewStack, code: str
) -> None:
    stack = new_stack()
    chat_api(stack, code, stage_variables={"channel": "general"})
    template = Template.from_stack(stack)

    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "prod",
            "TracingEnabled": True,
            "Variables": {"channel": "general"},
            "MethodSettings": [
                Match.object_like(
                    {
                        "DataTraceEnabled": False,
                        "LoggingLevel": "ERROR",
                        "MetricsEnabled": True,
                        "ThrottlingRateLimit": 100,
                        "ThrottlingBurstLimit": 200,
                    }
                )
            ],
            "AccessLogSetting": Match.object_like({"Format": Match.string_like_regexp("caller")}),
        },
    )
    groups = resources(stack, "AWS::Logs::LogGroup")
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {30}
    names = [json.dumps(g["Properties"].get("LogGroupName")) for g in groups.values()]
    assert any("API-Gateway-Execution-Logs_" in name and "/prod" in name for name in names)


def test_the_cloud_watch_role_must_be_chosen_and_is_retained_when_created(
    new_stack: NewStack, code: str
) -> None:
    with pytest.raises(TypeError, match="cloud_watch_role"):
        ServiceApi(new_stack(), "Chat")  # type: ignore[call-arg]
    without = new_stack()
    chat_api(without, code, cloud_watch_role=False)
    assert resources(without, "AWS::ApiGateway::Account") == {}

    created = new_stack()
    chat_api(created, code, cloud_watch_role=True)
    (account,) = resources(created, "AWS::ApiGateway::Account").values()
    assert account["DeletionPolicy"] == "Retain"
    roles = resources(created, "AWS::IAM::Role")
    assert any(
        "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["Properties"])
        and role["DeletionPolicy"] == "Retain"
        for role in roles.values()
    )


# --- authorization ----------------------------------------------------------------------------


def authorization_types(stack: Stack) -> dict[str, str]:
    return {
        m["Properties"]["HttpMethod"]: m["Properties"]["AuthorizationType"]
        for m in resources(stack, "AWS::ApiGateway::Method").values()
    }


def test_methods_require_iam_by_default(new_stack: NewStack, code: str) -> None:
    stack = new_stack()
    chat_api(stack, code)

    assert set(authorization_types(stack).values()) == {"AWS_IAM"}


def test_a_cognito_user_pool_authorizes_every_method(new_stack: NewStack, code: str) -> None:
    stack = new_stack()
    pool = cognito.UserPool(stack, "Pool")
    chat_api(stack, code, authorization=ApiAuthorization.cognito(pool))

    assert set(authorization_types(stack).values()) == {"COGNITO_USER_POOLS"}
    (authorizer,) = resources(stack, "AWS::ApiGateway::Authorizer").values()
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    for method in resources(stack, "AWS::ApiGateway::Method").values():
        assert "AuthorizerId" in method["Properties"]


def test_a_public_api_must_say_why(new_stack: NewStack, code: str) -> None:
    with pytest.raises(ValueError, match="at least 20"):
        ApiAuthorization.anonymous("because")
    with pytest.raises(ValueError, match="at least one user pool"):
        ApiAuthorization.cognito()
    stack = new_stack()
    chat_api(
        stack,
        code,
        authorization=ApiAuthorization.anonymous("A public status page that anyone may read."),
    )

    assert set(authorization_types(stack).values()) == {"NONE"}
    assert nag_findings(stack) == []


def test_grant_invoke_names_the_stage_method_and_path(new_stack: NewStack, code: str) -> None:
    stack = new_stack()
    api = chat_api(stack, code)
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())

    api.grant_invoke(reader, "GET", "/messages")

    policies = [
        p["Properties"]
        for p in resources(stack, "AWS::IAM::Policy").values()
        if "Reader" in json.dumps(p["Properties"]["Roles"])
    ]
    (statement,) = policies[0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert json.dumps(statement["Resource"]).endswith('"/prod/GET/messages"]]}')


# --- options ------------------------------------------------------------------------------


def test_api_keys_come_with_a_usage_plan_on_the_stage(new_stack: NewStack, code: str) -> None:
    stack = new_stack()
    api = chat_api(stack, code, api_key=True, quota_per_day=5000)

    assert api.api_key is not None and api.usage_plan is not None
    for method in resources(stack, "AWS::ApiGateway::Method").values():
        assert method["Properties"]["ApiKeyRequired"] is True
    Template.from_stack(stack).has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "Quota": {"Limit": 5000, "Period": "DAY"},
            "Throttle": {"RateLimit": 100, "BurstLimit": 200},
            "ApiStages": [Match.object_like({"Stage": Match.any_value()})],
        },
    )
    assert len(resources(stack, "AWS::ApiGateway::UsagePlanKey")) == 1


def test_cors_adds_preflight_methods_and_stays_nag_clean(new_stack: NewStack, code: str) -> None:
    stack = new_stack()
    chat_api(stack, code, cors_allow_origins=["https://chat.example.com"])

    options = [
        m["Properties"]
        for m in resources(stack, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    ]
    assert len(options) == 4  # the root, /messages, /sms, /health
    assert {o["AuthorizationType"] for o in options} == {"NONE"}
    assert "https://chat.example.com" in json.dumps(options[0]["Integration"])
    assert nag_findings(stack) == []


def test_a_request_schema_becomes_a_model_the_method_validates(
    new_stack: NewStack, code: str
) -> None:
    stack = new_stack()
    api = ServiceApi(stack, "Chat", cloud_watch_role=False)
    api.add_route(
        "POST",
        "/messages",
        handler="routes.listing",
        code=code,
        request_schema={
            "type": "object",
            "required": ["text"],
            "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 1000}},
            "additionalProperties": False,
        },
        request_parameters={"method.request.header.X-Chat-Name": True},
    )

    (model,) = resources(stack, "AWS::ApiGateway::Model").values()
    schema = model["Properties"]["Schema"]
    assert schema["required"] == ["text"]
    assert schema["properties"]["text"] == {"type": "string", "minLength": 1, "maxLength": 1000}
    assert schema["additionalProperties"] is False
    (validator,) = resources(stack, "AWS::ApiGateway::RequestValidator").values()
    assert validator["Properties"]["ValidateRequestBody"] is True
    (method,) = [
        m["Properties"]
        for m in resources(stack, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "POST"
    ]
    assert method["RequestParameters"] == {"method.request.header.X-Chat-Name": True}
    assert "RequestValidatorId" in method and "application/json" in method["RequestModels"]


def test_a_mapped_route_has_its_templates_and_method_responses(
    new_stack: NewStack, code: str
) -> None:
    stack = new_stack()
    chat_api(stack, code)

    (sms,) = [
        m["Properties"]
        for m in resources(stack, "AWS::ApiGateway::Method").values()
        if m["Properties"]["Integration"].get("Type") == "AWS"
    ]
    integration = sms["Integration"]
    assert integration["PassthroughBehavior"] == "NEVER"
    assert integration["RequestTemplates"] == {"application/x-www-form-urlencoded": SMS_TEMPLATE}
    assert [r["StatusCode"] for r in integration["IntegrationResponses"]] == ["200", "400"]
    assert integration["IntegrationResponses"][1]["SelectionPattern"] == "BadRequest:.*"
    assert integration["IntegrationResponses"][0]["ResponseParameters"] == {
        "method.response.header.Cache-Control": "'no-store'"
    }
    assert sms["MethodResponses"][0] == {
        "StatusCode": "200",
        "ResponseParameters": {"method.response.header.Cache-Control": True},
    }


def test_a_web_acl_is_associated_with_the_stage(new_stack: NewStack, code: str) -> None:
    stack = new_stack()
    acl = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/chat/abc"
    chat_api(stack, code, web_acl_arn=acl)

    (association,) = resources(stack, "AWS::WAFv2::WebACLAssociation").values()
    assert association["Properties"]["WebACLArn"] == acl


def test_alarms_watch_the_api_metrics(new_stack: NewStack, code: str) -> None:
    stack = new_stack()
    api = chat_api(stack, code)

    assert set(api.alarms) == {"client_errors", "server_errors", "latency"}
    alarms = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in resources(stack, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/ApiGateway"
    }
    assert alarms["4XXError"]["Threshold"] == 0.05
    assert alarms["4XXError"]["Statistic"] == "Average"
    assert alarms["5XXError"]["Threshold"] == 1
    assert alarms["Latency"]["ExtendedStatistic"] == "p90"
    assert api.metric_count().metric_name == "Count"
    assert chat_api(new_stack(), code, alarms=False).alarms == {}


def test_nag_and_cfn_lint_clean(new_stack: NewStack, code: str, tmp_path: Path) -> None:
    stack = new_stack()
    chat_api(stack, code, cloud_watch_role=True)

    assert nag_findings(stack) == []
    assert cfn_lint_template(Template.from_stack(stack).to_json(), tmp_path) == []


def test_snapshot(new_stack: NewStack, code: str, snapshot_json: SnapshotAssertion) -> None:
    stack = new_stack()
    chat_api(stack, code)

    assert normalize_template(Template.from_stack(stack).to_json()) == snapshot_json


# --- invalid props ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"stage_name": "prod-1"}, "stage_name='prod-1'"),
        ({"stage_variables": {"bad-name": "x"}}, "bad-name"),
        ({"stage_variables": {"ok": "has space"}}, "at most 512"),
        ({"throttling_rate_limit": 0}, "throttling_rate_limit"),
        ({"throttling_burst_limit": 6000}, "throttling_burst_limit"),
        ({"quota_per_day": 10}, "api_key=True"),
        ({"cors_allow_origins": ["chat.example.com"]}, "not an origin"),
    ],
)
def test_invalid_api_props_fail_naming_the_prop(
    new_stack: NewStack, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ServiceApi(new_stack(), "Chat", cloud_watch_role=False, **props)


@pytest.mark.parametrize(
    ("method", "path", "options", "message"),
    [
        ("FETCH", "/messages", {}, "method"),
        ("GET", "messages", {}, "starts with '/'"),
        ("GET", "/messages/", {}, "does not end"),
        ("GET", "/a//b", {}, "empty parts"),
        ("GET", "/a b", {}, "not a path part"),
        ("GET", "/{proxy+}/x", {}, "must be the last"),
        ("GET", "/x", {"timeout": Duration.seconds(30)}, "29 seconds"),
        ("GET", "/x", {"memory_size": 64}, "memory_size"),
        ("GET", "/x", {"request_parameters": {"querystring.limit": True}}, "not a request"),
        ("GET", "/x", {"request_schema": {"oneOf": []}}, "'oneOf' is not supported"),
    ],
)
def test_invalid_routes_fail_naming_the_prop(
    new_stack: NewStack, code: str, method: str, path: str, options: dict[str, Any], message: str
) -> None:
    api = ServiceApi(new_stack(), "Chat", cloud_watch_role=False)
    with pytest.raises(ValueError, match=message):
        api.add_route(method, path, handler="routes.listing", code=code, **options)


def test_a_route_added_twice_and_a_mapping_without_one_default_fail(
    new_stack: NewStack, code: str
) -> None:
    api = ServiceApi(new_stack(), "Chat", cloud_watch_role=False)
    api.add_route("GET", "/messages", handler="routes.listing", code=code)
    with pytest.raises(ValueError, match="route id 'GetMessages' is taken"):
        api.add_route("GET", "/messages", handler="routes.listing", code=code)
    with pytest.raises(ValueError, match="0 responses without a selection_pattern"):
        api.add_route(
            "POST",
            "/sms",
            handler="routes.sms",
            code=code,
            integration=MappedIntegration(
                request_templates={}, responses=[MappedResponse("400", "Bad.*")]
            ),
        )


def test_a_wrong_type_fails_naming_the_prop(new_stack: NewStack) -> None:
    with pytest.raises(TypeError, match="authorization"):
        ServiceApi(
            new_stack(),
            "Chat",
            cloud_watch_role=False,
            authorization="iam",  # type: ignore[arg-type]
        )


# --- in the local cloud ---------------------------------------------------------------------


def test_the_routes_answer_in_the_local_cloud_through_their_aliases(
    new_stack: NewStack, code: str
) -> None:
    stack = new_stack()
    chat_api(stack, code)

    with LocalCloud(clock=Clock(1_700_000_000.0)) as cloud:
        deployed = cloud.deploy(stack)
        listing = cloud.http("GET", "/messages", query={"limit": "5"})
        sms = cloud.http(
            "POST",
            "/sms",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body="Body=north+gate",
        )
        refused = cloud.http(
            "POST",
            "/sms",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body="Body=",
        )
        health = cloud.http("GET", "/health")

    assert listing.status == 200
    assert listing.json() == {"route": "listing", "query": {"limit": "5"}}
    assert (sms.status, sms.header("Content-Type")) == (200, "application/xml")
    assert sms.body == "<Response><Message>got north gate</Message></Response>"
    assert sms.header("Cache-Control") == "no-store"
    assert (refused.status, refused.json()) == (400, {"error": "bad"})
    assert (health.status, health.json()) == (200, {"healthy": True})
    alias = deployed.resource("Chat/GetMessages/Alias")
    assert alias.ref.endswith(":prod")


def test_a_route_may_authorize_differently_and_stays_nag_clean(
    new_stack: NewStack, code: str
) -> None:
    stack = new_stack()
    pool = cognito.UserPool(stack, "Pool")
    api = ServiceApi(
        stack, "Chat", cloud_watch_role=False, authorization=ApiAuthorization.cognito(pool)
    )
    api.add_route("GET", "/messages", handler="routes.listing", code=code)
    api.add_route(
        "POST",
        "/sms",
        handler="routes.sms",
        code=code,
        authorization=ApiAuthorization.anonymous(
            "The SMS provider cannot sign in; the function checks its request signature."
        ),
    )
    api.add_route("GET", "/audit", handler="routes.listing", code=code,
                  authorization=ApiAuthorization.iam())  # fmt: skip

    types = {
        m["Properties"]["HttpMethod"] + " " + json.dumps(m["Properties"]["ResourceId"]): m[
            "Properties"
        ]["AuthorizationType"]
        for m in resources(stack, "AWS::ApiGateway::Method").values()
    }
    assert sorted(types.values()) == ["AWS_IAM", "COGNITO_USER_POOLS", "NONE"]
    assert len(resources(stack, "AWS::ApiGateway::Authorizer")) == 1
    # The test's user pool has findings of its own (MFA, password policy); nothing else.
    assert [f for f in nag_findings(stack) if "/Pool/" not in f] == []
