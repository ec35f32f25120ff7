"""HttpServiceApi: an HTTP API whose routes each have a function, a role and an alias."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion

from lambda_blueprints import HttpApiAuthorization, HttpServiceApi
from tests.conftest import cfn_lint_template, nag_findings, normalize_template

NewStack = Callable[..., Stack]
ISSUER = "https://issuer.example.com/"


@pytest.fixture
def code(tmp_path: Path) -> str:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "routes.py").write_text("def main(event, context):\n    return {'ok': True}\n")
    return str(folder)


def notes_api(stack: Stack, code: str, **props: Any) -> HttpServiceApi:
    props.setdefault("authorization", HttpApiAuthorization.jwt(ISSUER, ["web-client"]))
    api = HttpServiceApi(stack, "Notes", **props)
    api.add_route("GET", "/notes/{id}", handler="routes.main", code=code)
    api.add_route("POST", "/notes", handler="routes.main", code=code)
    return api


def resources(stack: Stack, kind: str) -> dict[str, Any]:
    return Template.from_stack(stack).find_resources(kind)  # type: ignore[no-any-return]


def test_each_route_has_its_own_function_alias_and_payload_2_integration(
    new_stack: NewStack, code: str
) -> None:
    stack = new_stack()
    api = notes_api(stack, code)

    assert set(api.routes) == {"GetNotesId", "PostNotes"}
    roles = {
        json.dumps(f["Properties"]["Role"])
        for f in resources(stack, "AWS::Lambda::Function").values()
    }
    assert len(roles) == 2
    aliases = resources(stack, "AWS::Lambda::Alias")
    assert [a["Properties"]["Name"] for a in aliases.values()] == ["live", "live"]
    integrations = resources(stack, "AWS::ApiGatewayV2::Integration")
    for integration in integrations.values():
        props = integration["Properties"]
        assert (props["IntegrationType"], props["PayloadFormatVersion"]) == ("AWS_PROXY", "2.0")
        assert any(alias in json.dumps(props["IntegrationUri"]) for alias in aliases)
    keys = sorted(
        r["Properties"]["RouteKey"] for r in resources(stack, "AWS::ApiGatewayV2::Route").values()
    )
    assert keys == ["GET /notes/{id}", "POST /notes"]
    permissions = [
        json.dumps(p["Properties"]["SourceArn"])
        for p in resources(stack, "AWS::Lambda::Permission").values()
    ]
    assert sorted(p.rsplit("/", 1)[-1] for p in permissions) == ['notes"]]}', '{id}"]]}']


def test_the_stage_is_throttled_auto_deployed_and_logs_each_request(
    new_stack: NewStack, code: str
) -> None:
    stack = new_stack()
    notes_api(stack, code, throttling_rate_limit=20, throttling_burst_limit=40)

    (stage,) = resources(stack, "AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "$default" and props["AutoDeploy"] is True
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] == 20
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 40
    assert props["DefaultRouteSettings"]["DetailedMetricsEnabled"] is True
    line = json.loads(props["AccessLogSettings"]["Format"])
    assert {"requestId", "ip", "routeKey", "status", "authorizerError"} <= set(line)


@pytest.mark.parametrize("kind", ["jwt", "cognito", "iam", "anonymous"])
def test_every_authorization_is_applied_to_every_route_and_nag_clean(
    new_stack: NewStack, code: str, kind: str, tmp_path: Path
) -> None:
    stack = new_stack()
    if kind == "jwt":
        authorization = HttpApiAuthorization.jwt(ISSUER, ["web-client"], scopes=["notes/read"])
    elif kind == "cognito":
        pool = cognito.UserPool(stack, "Pool")
        authorization = HttpApiAuthorization.cognito(pool, [pool.add_client("Web")])
    elif kind == "iam":
        authorization = HttpApiAuthorization.iam()
    else:
        authorization = HttpApiAuthorization.anonymous("A public status page for the survivors.")
    notes_api(stack, code, authorization=authorization)

    routes = [r["Properties"] for r in resources(stack, "AWS::ApiGatewayV2::Route").values()]
    expected = {"jwt": "JWT", "cognito": "JWT", "iam": "AWS_IAM", "anonymous": "NONE"}[kind]
    assert {r.get("AuthorizationType", "NONE") for r in routes} == {expected}
    if kind == "jwt":
        (authorizer,) = resources(stack, "AWS::ApiGatewayV2::Authorizer").values()
        assert authorizer["Properties"]["JwtConfiguration"] == {
            "Audience": ["web-client"],
            "Issuer": ISSUER,
        }
        assert {tuple(r["AuthorizationScopes"]) for r in routes} == {("notes/read",)}
    assert [f for f in nag_findings(stack) if "/Pool/" not in f] == []
    assert cfn_lint_template(Template.from_stack(stack).to_json(), tmp_path) == []


def test_alarms_watch_the_api(new_stack: NewStack, code: str) -> None:
    stack = new_stack()
    api = notes_api(stack, code)

    assert set(api.alarms) == {"client_errors", "server_errors", "latency"}
    names = {
        a["Properties"]["MetricName"]
        for a in resources(stack, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/ApiGateway"
    }
    assert names == {"4xx", "5xx", "Latency"}
    assert api.metric_count().metric_name == "Count"


def test_snapshot(new_stack: NewStack, code: str, snapshot_json: SnapshotAssertion) -> None:
    stack = new_stack()
    notes_api(stack, code)

    assert normalize_template(Template.from_stack(stack).to_json()) == snapshot_json


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: HttpApiAuthorization.jwt(ISSUER, []), "audience"),
        (lambda: HttpApiAuthorization.anonymous("short"), "at least 20"),
    ],
)
def test_authorization_needs_what_it_checks(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("method", "path", "options", "message"),
    [
        ("FETCH", "/x", {}, "method"),
        ("GET", "x", {}, "starts with '/'"),
        ("GET", "/x", {"timeout": Duration.seconds(31)}, "30 seconds"),
    ],
)
def test_invalid_routes_fail_naming_the_prop(
    new_stack: NewStack, code: str, method: str, path: str, options: dict[str, Any], message: str
) -> None:
    api = HttpServiceApi(
        new_stack(), "Notes", authorization=HttpApiAuthorization.jwt(ISSUER, ["web-client"])
    )
    with pytest.raises(ValueError, match=message):
        api.add_route(method, path, handler="routes.main", code=code, **options)


def test_invalid_api_props_fail_naming_the_prop(new_stack: NewStack) -> None:
    with pytest.raises(ValueError, match="throttling_rate_limit"):
        HttpServiceApi(
            new_stack(),
            "Notes",
            authorization=HttpApiAuthorization.iam(),
            throttling_rate_limit=0,
        )


def test_a_signed_in_user_reaches_the_route_in_the_local_cloud(
    new_stack: NewStack, tmp_path: Path
) -> None:
    import boto3

    from lambda_blueprints.testing import LocalCloud

    folder = tmp_path / "whoami"
    folder.mkdir()
    (folder / "routes.py").write_text(
        "def main(event, context):\n"
        "    claims = event['requestContext']['authorizer']['jwt']['claims']\n"
        "    return {'user': claims['cognito:username'], 'id': event['pathParameters']['id']}\n"
    )
    stack = new_stack()
    pool = cognito.UserPool(stack, "Users")
    client = pool.add_client("Web", auth_flows=cognito.AuthFlow(user_password=True))
    api = HttpServiceApi(stack, "Notes", authorization=HttpApiAuthorization.cognito(pool, [client]))
    api.add_route("GET", "/notes/{id}", handler="routes.main", code=str(folder))

    with LocalCloud() as cloud:
        deployed = cloud.deploy(stack)
        idp = boto3.client("cognito-idp")
        pool_id, client_id = deployed.physical_id("Users"), deployed.physical_id("Users/Web")
        idp.admin_create_user(UserPoolId=pool_id, Username="ana", MessageAction="SUPPRESS")
        idp.admin_set_user_password(
            UserPoolId=pool_id, Username="ana", Password="Survive-42-nights!", Permanent=True
        )
        tokens = idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "ana", "PASSWORD": "Survive-42-nights!"},
        )["AuthenticationResult"]
        answer = cloud.http_api(
            "GET", "/notes/7", headers={"Authorization": f"Bearer {tokens['IdToken']}"}
        )
        refused = cloud.http_api("GET", "/notes/7")

    assert answer.status == 200, answer.body
    assert answer.json() == {"user": "ana", "id": "7"}
    assert refused.status == 401
