"""HTTP APIs (API Gateway v2): routes, JWT authorizers and Lambda proxy payloads 2.0/1.0."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import App, DefaultStackSynthesizer, Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_

from lambda_blueprints.testing import Clock, DeployedStack, LocalCloud, cognito_token
from lambda_blueprints.testing.apigateway import HttpResponse
from tests.conftest import CDK_CONTEXT

NOW = 1_700_000_000.0
POOL = "us-east-1_Example1"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"
CLIENT = "my-client"

HANDLERS = textwrap.dedent(
    """
    import json
    import time

    def echo(event, context):
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json", "x-route": event["routeKey"]},
            "body": json.dumps(event),
        }

    def simple(event, context):
        if event["rawPath"].endswith("/text"):
            return "plain words"
        return {"survivors": 3}

    def cookies(event, context):
        return {
            "statusCode": 201,
            "cookies": ["session=abc; Path=/", "theme=dark"],
            "headers": {"x-made": "yes"},
            "body": "made",
        }

    def boom(event, context):
        raise RuntimeError("the handler broke")

    def slow(event, context):
        time.sleep(0.3)
        return {"statusCode": 200, "body": "late"}

    def legacy(event, context):
        return {
            "statusCode": 202,
            "multiValueHeaders": {"x-v": ["1", "2"]},
            "body": json.dumps({"version": event.get("version"), "path": event["path"],
                                "resource": event["resource"]}),
        }
    """
)


def build_stack() -> Stack:
    stack = Stack(
        App(context=CDK_CONTEXT),
        "Http",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )

    def function(name: str) -> lambda_.Function:
        return lambda_.Function(
            stack,
            name.capitalize(),
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler=f"index.{name}",
            code=lambda_.Code.from_inline(HANDLERS),
        )

    echo_function = function("echo")
    echo = integrations.HttpLambdaIntegration("Echo", echo_function)
    api = apigwv2.HttpApi(stack, "Api", api_name="survivors")
    get = [apigwv2.HttpMethod.GET]
    # Added least specific first: the order of the template must not decide.
    api.add_routes(path="/files/{proxy+}", methods=get, integration=echo)
    api.add_routes(path="/files/{name}", methods=get, integration=echo)
    api.add_routes(path="/items/special", methods=[apigwv2.HttpMethod.ANY], integration=echo)
    api.add_routes(path="/items/{id}", methods=get, integration=echo)
    api.add_routes(path="/items/special", methods=get, integration=echo)
    simple = integrations.HttpLambdaIntegration("Simple", function("simple"))
    api.add_routes(path="/simple", methods=get, integration=simple)
    api.add_routes(path="/text", methods=get, integration=simple)
    api.add_routes(
        path="/cookies",
        methods=[apigwv2.HttpMethod.POST],
        integration=integrations.HttpLambdaIntegration("Cookies", function("cookies")),
    )
    api.add_routes(
        path="/boom",
        methods=get,
        integration=integrations.HttpLambdaIntegration("Boom", function("boom")),
    )
    api.add_routes(
        path="/slow",
        methods=get,
        integration=integrations.HttpLambdaIntegration(
            "Slow", function("slow"), timeout=Duration.millis(100)
        ),
    )
    api.add_routes(
        path="/legacy/{name}",
        methods=get,
        integration=integrations.HttpLambdaIntegration(
            "Legacy",
            function("legacy"),
            payload_format_version=apigwv2.PayloadFormatVersion.VERSION_1_0,
        ),
    )
    jwt = authorizers.HttpJwtAuthorizer("Jwt", ISSUER, jwt_audience=[CLIENT])
    api.add_routes(path="/private", methods=get, integration=echo, authorizer=jwt)
    api.add_routes(
        path="/admin",
        methods=get,
        integration=echo,
        authorizer=jwt,
        authorization_scopes=["survivors/admin"],
    )
    live = apigwv2.HttpStage(stack, "Live", http_api=api, stage_name="live", auto_deploy=True)
    child = live.node.default_child
    assert isinstance(child, apigwv2.CfnStage)
    child.add_property_override("StageVariables", {"color": "blue"})

    apigwv2.HttpApi(
        stack,
        "Catchall",
        api_name="catchall",
        default_integration=integrations.HttpLambdaIntegration("Caught", echo_function),
    )
    return stack


@pytest.fixture(scope="module")
def http_stack() -> Stack:
    return build_stack()


@pytest.fixture
def deployed(http_stack: Stack) -> Iterator[tuple[LocalCloud, DeployedStack]]:
    with LocalCloud(clock=Clock(NOW)) as cloud:
        yield cloud, cloud.deploy(http_stack)


def get(cloud: LocalCloud, path: str, **kwargs: Any) -> HttpResponse:
    kwargs.setdefault("api", "survivors")
    response: HttpResponse = cloud.http_api("GET", path, **kwargs)  # type: ignore[attr-defined]
    return response


def event_of(response: HttpResponse) -> dict[str, Any]:
    assert response.status == 200, response.body
    event: dict[str, Any] = response.json()
    return event


def test_resources_get_ids_and_attributes_shaped_like_cloudformations(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    api = stack.resource("Api")

    assert api.type == "AWS::ApiGatewayV2::Api"
    assert api.attributes == {
        "ApiId": api.ref,
        "ApiEndpoint": f"https://{api.ref}.execute-api.{cloud.region}.amazonaws.com",
    }
    assert stack.physical_id("Api/DefaultStage") == "$default"
    assert stack.physical_id("Live") == "live"
    routes = [r for r in stack.resources.values() if r.type == "AWS::ApiGatewayV2::Route"]
    assert all(r.attributes == {"RouteId": r.ref} for r in routes)
    assert len(cloud.http_apis.find_api("survivors").routes) == len(routes) - 1  # type: ignore[attr-defined]


def test_the_most_specific_route_wins(deployed: tuple[LocalCloud, DeployedStack]) -> None:
    cloud, _ = deployed

    literal = get(cloud, "/items/special")
    any_method = cloud.http_api("DELETE", "/items/special", api="survivors")  # type: ignore[attr-defined]
    param = get(cloud, "/items/ada")
    greedy = get(cloud, "/files/a/b/c.txt")
    one_segment = get(cloud, "/files/readme")

    assert literal.header("x-route") == "GET /items/special"
    assert any_method.header("x-route") == "ANY /items/special"
    assert param.header("x-route") == "GET /items/{id}"
    assert event_of(param)["pathParameters"] == {"id": "ada"}
    assert event_of(one_segment)["routeKey"] == "GET /files/{name}"
    assert event_of(greedy)["routeKey"] == "GET /files/{proxy+}"
    assert event_of(greedy)["pathParameters"] == {"proxy": "a/b/c.txt"}


def test_no_route_is_404_and_the_default_route_catches_everything(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    missing = get(cloud, "/nothing/here")
    wrong_method = cloud.http_api("POST", "/items/42", api="survivors")  # type: ignore[attr-defined]
    caught = get(cloud, "/anything/at/all", api="catchall")

    assert (missing.status, missing.json()) == (404, {"message": "Not Found"})
    assert wrong_method.status == 404
    assert event_of(caught)["routeKey"] == "$default"
    assert event_of(caught)["rawPath"] == "/anything/at/all"
    assert "pathParameters" not in event_of(caught)


def test_the_event_carries_query_cookies_headers_and_the_request_context(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    response = get(
        cloud,
        "/items/7?tag=a&tag=b",
        query={"q": "x"},
        headers={"Cookie": "session=abc; theme=dark", "X-Survivor": "Ada"},
    )

    event = event_of(response)
    api_id = cloud.http_apis.find_api("survivors").id  # type: ignore[attr-defined]
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/items/7"
    assert event["rawQueryString"] == "tag=a&tag=b&q=x"
    assert event["queryStringParameters"] == {"tag": "a,b", "q": "x"}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["headers"]["x-survivor"] == "Ada"
    assert "cookie" not in event["headers"]
    context = event["requestContext"]
    assert context["apiId"] == api_id
    assert context["domainName"] == f"{api_id}.execute-api.{cloud.region}.amazonaws.com"
    assert context["http"]["method"] == "GET"
    assert context["http"]["path"] == "/items/7"
    assert context["stage"] == "$default"
    assert context["timeEpoch"] == int(NOW * 1000)
    assert response.header("apigw-requestid") == context["requestId"]
    (invocation,) = cloud.log.invocations()
    assert (invocation.source, invocation.mapping_id) == ("apigateway", api_id)


def test_a_named_stage_serves_under_its_name_with_its_variables(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    event = event_of(get(cloud, "/items/9", stage="live"))

    assert event["rawPath"] == "/live/items/9"
    assert event["requestContext"]["stage"] == "live"
    assert event["stageVariables"] == {"color": "blue"}
    assert "stageVariables" not in event_of(get(cloud, "/items/9"))


def test_a_result_without_status_code_is_a_200_json_body(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    mapping = get(cloud, "/simple")
    text = get(cloud, "/text")

    assert (mapping.status, mapping.json()) == (200, {"survivors": 3})
    assert mapping.header("content-type") == "application/json"
    assert (text.status, text.body) == (200, '"plain words"')
    assert text.header("content-type") == "application/json"


def test_a_full_response_sets_its_status_headers_and_cookies(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    response = cloud.http_api("POST", "/cookies", api="survivors")  # type: ignore[attr-defined]

    assert (response.status, response.body) == (201, "made")
    assert response.header("x-made") == "yes"
    assert response.multi_value_headers["set-cookie"] == ["session=abc; Path=/", "theme=dark"]


def test_a_function_error_is_500_and_a_slow_function_503(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    broken = get(cloud, "/boom")
    late = get(cloud, "/slow")

    assert (broken.status, broken.json()) == (500, {"message": "Internal Server Error"})
    assert (late.status, late.json()) == (503, {"message": "Service Unavailable"})
    assert [i.outcome for i in cloud.log.invocations()] == ["failure", "failure"]


def test_payload_format_1_0_sends_a_rest_style_event(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    response = get(cloud, "/legacy/ada")

    assert response.status == 202
    assert response.json() == {
        "version": "1.0",
        "path": "/legacy/ada",
        "resource": "/legacy/{name}",
    }
    assert response.multi_value_headers["x-v"] == ["1", "2"]


def test_a_jwt_route_needs_a_valid_token_of_its_issuer_and_audience(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    def with_token(token: str) -> HttpResponse:
        return get(cloud, "/private", headers={"Authorization": f"Bearer {token}"})

    valid = cognito_token(user_pool_id=POOL, client_id=CLIENT, groups=["a", "b"], issued_at=NOW)
    responses = {
        "none": get(cloud, "/private"),
        "garbage": with_token("not-a-jwt"),
        "issuer": with_token(cognito_token(user_pool_id="us-east-1_Other", client_id=CLIENT)),
        "audience": with_token(cognito_token(user_pool_id=POOL, client_id="someone-else")),
        "expired": with_token(
            cognito_token(user_pool_id=POOL, client_id=CLIENT, issued_at=NOW - 7200)
        ),
    }

    for name, response in responses.items():
        assert (name, response.status, response.json()) == (name, 401, {"message": "Unauthorized"})
    claims = event_of(with_token(valid))["requestContext"]["authorizer"]["jwt"]
    assert claims["claims"]["aud"] == CLIENT
    assert claims["claims"]["iss"] == ISSUER
    assert claims["claims"]["exp"] == str(int(NOW) + 3600)
    assert claims["claims"]["cognito:groups"] == "[a b]"
    assert claims["scopes"] is None


def test_a_jwt_route_with_scopes_needs_one_of_them(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    def admin(scopes: list[str]) -> HttpResponse:
        token = cognito_token(
            user_pool_id=POOL, client_id=CLIENT, token_use="access", scopes=scopes, issued_at=NOW
        )
        return get(cloud, "/admin", headers={"Authorization": token})

    refused = admin(["survivors/read"])
    allowed = admin(["survivors/read", "survivors/admin"])

    assert (refused.status, refused.json()) == (403, {"message": "Forbidden"})
    jwt = event_of(allowed)["requestContext"]["authorizer"]["jwt"]
    assert jwt["scopes"] == ["survivors/read", "survivors/admin"]
    assert jwt["claims"]["client_id"] == CLIENT


def test_websocket_apis_are_refused_at_deploy() -> None:
    stack = Stack(
        App(context=CDK_CONTEXT),
        "Sockets",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    apigwv2.CfnApi(
        stack, "Chat", name="chat", protocol_type="WEBSOCKET", route_selection_expression="$x"
    )
    with LocalCloud() as cloud, pytest.raises(NotImplementedError, match="WEBSOCKET"):
        cloud.deploy(stack)


def test_invoke_url_paths_pick_the_stage_by_their_first_segment(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed
    request = cloud.http_apis.url_request("survivors")  # type: ignore[attr-defined]

    live = event_of(request("GET", "/live/items/1"))
    default = event_of(request("GET", "/items/1"))

    assert (live["requestContext"]["stage"], live["rawPath"]) == ("live", "/live/items/1")
    assert (default["requestContext"]["stage"], default["rawPath"]) == ("$default", "/items/1")
