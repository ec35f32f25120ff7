"""SurvivorChat: one function per capability, one table per service, least privilege."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aws_cdk import Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion

from lambda_blueprints import SurvivorChat
from lambda_blueprints.patterns.survivor_chat import (
    SITE_DIRECTORY,
    SMS_REQUEST_TEMPLATE,
    SMS_RESPONSE_TEMPLATE,
)
from lambda_blueprints.testing import render_template
from tests.conftest import cfn_lint_template, nag_findings, normalize_template

NewStack = Callable[..., Stack]

TWILIO_FORM = {
    "ToCountry": "US",
    "ToState": "WA",
    "SmsMessageSid": "SM0123456789abcdef0123456789abcdef",
    "NumMedia": "0",
    "ToCity": "SEATTLE",
    "FromZip": "98101",
    "SmsSid": "SM0123456789abcdef0123456789abcdef",
    "FromState": "WA",
    "SmsStatus": "received",
    "FromCity": "SEATTLE",
    "Body": "Zombies at the 'north' gate & <fence>! Über-\"fast\"",
    "FromCountry": "US",
    "To": "+12065550100",
    "ToZip": "98101",
    "NumSegments": "1",
    "MessageSid": "SM0123456789abcdef0123456789abcdef",
    "AccountSid": "AC0123456789abcdef0123456789abcdef",
    "From": "+12065550199",
    "ApiVersion": "2010-04-01",
}


def chat(stack: Stack, **props: Any) -> SurvivorChat:
    props.setdefault("cloud_watch_role", False)
    props.setdefault("twilio_auth_token_parameter", "/survivor-chat/twilio-auth-token")
    return SurvivorChat(stack, "Chat", **props)


def resources(stack: Stack, kind: str) -> dict[str, Any]:
    return Template.from_stack(stack).find_resources(kind)  # type: ignore[no-any-return]


def grants(stack: Stack, function: Any) -> dict[str, set[str]]:
    """Every action the function's role may take, with the resources, in resolved form."""
    role = stack.resolve(function.role.role_name)["Ref"]
    allowed: dict[str, set[str]] = {}
    for policy in resources(stack, "AWS::IAM::Policy").values():
        if {"Ref": role} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"]
            targets = statement["Resource"]
            for action in actions if isinstance(actions, list) else [actions]:
                for target in targets if isinstance(targets, list) else [targets]:
                    allowed.setdefault(action, set()).add(json.dumps(target, sort_keys=True))
    return allowed


# --- least privilege --------------------------------------------------------------------------


def test_every_function_reaches_only_its_own_table_and_actions(new_stack: NewStack) -> None:
    stack = new_stack()
    app = chat(stack)
    ref = lambda value: json.dumps(stack.resolve(value), sort_keys=True)  # noqa: E731
    messages, activity = ref(app.messages_table.table_arn), ref(app.activity_table.table_arn)
    token_key = ref(app.token_key.key_arn)
    parameter = ref(
        stack.format_arn(
            service="ssm", resource="parameter", resource_name="survivor-chat/twilio-auth-token"
        )
    )
    writer = {
        a: {messages} for a in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
    }
    expected = {
        app.read_messages: {
            "dynamodb:Query": {messages},
            "kms:GenerateMac": {token_key},
            "kms:VerifyMac": {token_key},
        },
        app.write_messages: writer,
        app.set_typing: {"dynamodb:PutItem": {activity}},
        app.get_typing: {"dynamodb:Query": {activity}},
        app.sms: {**writer, "ssm:GetParameter": {parameter}},
        app.alerts.blueprint: writer,
    }
    for function, wanted in expected.items():
        found = grants(stack, function.function)
        data = {
            action: targets
            for action, targets in found.items()
            if action.split(":")[0] in ("dynamodb", "kms", "ssm", "s3", "sns")
        }
        if function is app.alerts.blueprint:
            # The failure queue's key, for the on-failure destination and parked records.
            queue_key = ref(app.alerts.queue_key.key_arn)
            assert data.pop("kms:GenerateDataKey") == {queue_key}
            assert data.pop("kms:Decrypt") == {queue_key}
        assert data == wanted, function.node.path
        # Logs and traces only besides: no other service, no wildcard but X-Ray's.
        others = set(found) - set(data) - {"kms:GenerateDataKey", "kms:Decrypt"}
        assert others <= {
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "sqs:SendMessage",
        }, (function.node.path, others)


def test_each_method_may_invoke_only_its_own_function(new_stack: NewStack) -> None:
    stack = new_stack()
    app = chat(stack)

    permissions = [
        p["Properties"]
        for p in resources(stack, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    by_route = {}
    for permission in permissions:
        source = stack.resolve(permission["SourceArn"])["Fn::Join"][1]
        route = source[-1].lstrip("/")
        assert route.split("/", 1)[0] in ("GET", "POST", "PUT"), route
        by_route[route] = json.dumps(permission["FunctionName"])
    routes = {
        "GET/messages": app.read_messages,
        "POST/messages": app.write_messages,
        "PUT/typing": app.set_typing,
        "GET/typing": app.get_typing,
        "POST/sms": app.sms,
    }
    assert set(by_route) == set(routes)
    for route, function in routes.items():
        alias = function.node.find_child("Alias")
        assert by_route[route] == json.dumps(stack.resolve(alias.function_arn)), route  # type: ignore[attr-defined]


def test_the_chat_methods_need_a_cognito_token_and_only_the_webhook_is_public(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    chat(stack)

    kinds = {
        m["Properties"]["HttpMethod"] + " " + json.dumps(m["Properties"]["ResourceId"]): m[
            "Properties"
        ]["AuthorizationType"]
        for m in resources(stack, "AWS::ApiGateway::Method").values()
    }
    public = [route for route, kind in kinds.items() if kind == "NONE"]
    assert len(public) == 1 and public[0].startswith("POST")
    assert sorted(kinds.values()).count("COGNITO_USER_POOLS") == 4
    (pool,) = resources(stack, "AWS::Cognito::UserPool").values()
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["Properties"]["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    (client,) = resources(stack, "AWS::Cognito::UserPoolClient").values()
    assert (
        "GenerateSecret" not in client["Properties"] or not client["Properties"]["GenerateSecret"]
    )
    assert "ALLOW_USER_PASSWORD_AUTH" in client["Properties"]["ExplicitAuthFlows"]


def test_the_functions_know_how_callers_are_identified(new_stack: NewStack) -> None:
    signed_in, anonymous = new_stack("SignedIn"), new_stack("Open")
    chat(signed_in)
    chat(anonymous, anonymous=True)

    def modes(stack: Stack) -> set[str]:
        return {
            f["Properties"]["Environment"]["Variables"].get("CHAT_AUTH", "-")
            for f in resources(stack, "AWS::Lambda::Function").values()
            if "survivor_chat" in f["Properties"].get("Handler", "")
            and (
                "messages" in f["Properties"]["Handler"] or "activity" in f["Properties"]["Handler"]
            )
        }

    assert modes(signed_in) == {"cognito"}
    assert modes(anonymous) == {"anonymous"}
    assert resources(anonymous, "AWS::Cognito::UserPool") == {}
    kinds = {
        m["Properties"]["AuthorizationType"]
        for m in resources(anonymous, "AWS::ApiGateway::Method").values()
    }
    assert kinds == {"NONE"}
    assert nag_findings(anonymous) == []


def test_an_existing_user_pool_is_used_and_anonymous_refuses_one(new_stack: NewStack) -> None:
    stack = new_stack()
    pool = cognito.UserPool(stack, "Mine")
    app = chat(stack, user_pool=pool)
    assert app.user_pool is pool
    assert len(resources(stack, "AWS::Cognito::UserPool")) == 1

    with pytest.raises(ValueError, match="anonymous chat has no sign-in"):
        chat(new_stack("Other"), user_pool=pool, anonymous=True)


# --- the tables --------------------------------------------------------------------------------


def test_each_service_has_its_own_table_with_time_to_live(new_stack: NewStack) -> None:
    stack = new_stack()
    app = chat(stack)

    tables = resources(stack, "AWS::DynamoDB::Table")
    assert len(tables) == 2
    for table in tables.values():
        props = table["Properties"]
        assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
        assert [k["AttributeName"] for k in props["KeySchema"]] == ["pk", "sk"]
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    (key,) = [
        k["Properties"]
        for k in resources(stack, "AWS::KMS::Key").values()
        if k["Properties"].get("KeySpec") == "HMAC_256"
    ]
    assert key["KeyUsage"] == "GENERATE_VERIFY_MAC"
    env = resources(stack, "AWS::Lambda::Function")
    token_env = [
        f["Properties"]["Environment"]["Variables"]["TOKEN_KEY_ID"]
        for f in env.values()
        if "TOKEN_KEY_ID" in f["Properties"].get("Environment", {}).get("Variables", {})
    ]
    assert token_env == [stack.resolve(app.token_key.key_arn)]


# --- the SMS webhook ---------------------------------------------------------------------------


def sms_method(stack: Stack) -> dict[str, Any]:
    (method,) = [
        m["Properties"]
        for m in resources(stack, "AWS::ApiGateway::Method").values()
        if m["Properties"]["Integration"].get("Type") == "AWS"
    ]
    return method


def test_the_webhook_maps_twilios_form_to_json_and_answers_twiml(new_stack: NewStack) -> None:
    stack = new_stack()
    chat(stack)
    integration = sms_method(stack)["Integration"]

    assert integration["PassthroughBehavior"] == "NEVER"
    request = integration["RequestTemplates"]["application/x-www-form-urlencoded"]
    assert request == SMS_REQUEST_TEMPLATE
    event = json.loads(
        render_template(
            request,
            body=urlencode(TWILIO_FORM),
            headers={"X-Twilio-Signature": "c2lnbmF0dXJl+/="},
            context={"domainName": "abc.execute-api.us-east-1.amazonaws.com", "path": "/prod/sms"},
        ).text
    )
    assert event == {
        "from": "+12065550199",
        "text": TWILIO_FORM["Body"],
        "sid": TWILIO_FORM["MessageSid"],
        "signature": "c2lnbmF0dXJl+/=",
        "url": "https://abc.execute-api.us-east-1.amazonaws.com/prod/sms",
        "params": TWILIO_FORM,
    }
    responses = {r["StatusCode"]: r for r in integration["IntegrationResponses"]}
    assert responses["400"]["SelectionPattern"] == "BadRequest:.*"
    assert responses["403"]["SelectionPattern"] == "Forbidden:.*"
    twiml = responses["200"]["ResponseTemplates"]["application/xml"]
    assert twiml == SMS_RESPONSE_TEMPLATE
    answer = render_template(twiml, body='{"reply": "Stay <inside> & safe", "id": "1"}').text
    document = ElementTree.fromstring(answer)  # noqa: S314 - our own template's output
    assert document.tag == "Response"
    assert document.findtext("Message") == "Stay <inside> & safe"
    for status in ("400", "403"):
        refused = responses[status]["ResponseTemplates"]["application/xml"]
        assert list(ElementTree.fromstring(refused)) == []  # noqa: S314


# --- the site ---------------------------------------------------------------------------------


def test_the_page_is_served_from_a_private_bucket_with_security_headers(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    app = chat(stack)

    (bucket,) = resources(stack, "AWS::S3::Bucket").values()
    assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert len(resources(stack, "AWS::CloudFront::OriginAccessControl")) == 1
    (distribution,) = resources(stack, "AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    behaviors = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert set(behaviors) == {"/messages*", "/typing*"}
    for behavior in behaviors.values():
        # Managed policies: CachingDisabled and AllViewerExceptHostHeader.
        assert behavior["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
        assert behavior["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    (headers,) = resources(stack, "AWS::CloudFront::ResponseHeadersPolicy").values()
    security = headers["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = json.dumps(security["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert app.url is not None
    assert sorted(p.name for p in SITE_DIRECTORY.iterdir()) == [
        "chat.css",
        "chat.js",
        "favicon.svg",
        "index.html",
    ]


def test_without_a_site_no_bucket_or_distribution_is_made(new_stack: NewStack) -> None:
    stack = new_stack()
    app = chat(stack, site=False)

    assert resources(stack, "AWS::CloudFront::Distribution") == {}
    assert app.url is None and app.site_bucket is None


# --- nag, lint, snapshot, props -------------------------------------------------------------------


def test_nag_and_cfn_lint_clean(new_stack: NewStack, tmp_path: Path) -> None:
    stack = new_stack()
    chat(stack)

    assert nag_findings(stack) == []
    assert cfn_lint_template(Template.from_stack(stack).to_json(), tmp_path) == []


def test_snapshot(new_stack: NewStack, snapshot_json: SnapshotAssertion) -> None:
    stack = new_stack()
    chat(stack)

    assert normalize_template(Template.from_stack(stack).to_json()) == snapshot_json


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"rate_limit_per_minute": 601}, "rate_limit_per_minute"),
        ({"twilio_auth_token_parameter": "has space"}, "not an SSM parameter name"),
        ({"throttling_rate_limit": 0}, "throttling_rate_limit"),
    ],
)
def test_invalid_props_fail_naming_the_prop(
    new_stack: NewStack, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        chat(new_stack(), **props)
