"""LocalCloud answering HTTP requests with a deployed API Gateway REST API."""

from __future__ import annotations

import base64
import re
import textwrap
from collections.abc import Iterator

import pytest
from aws_cdk import App, DefaultStackSynthesizer, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_

from lambda_blueprints.testing import Clock, DeployedStack, HttpResponse, LocalCloud
from tests.conftest import CDK_CONTEXT

ITEMS = textwrap.dedent(
    """
    import base64, json

    def handler(event, context):
        item = (event["pathParameters"] or {}).get("id")
        if item == "boom":
            raise ValueError("no such item")
        if item == "object-body":
            return {"statusCode": 200, "body": {"not": "a string"}}
        if item == "extra-key":
            return {"statusCode": 200, "body": "", "unexpected": True}
        if item == "no-status":
            return {"body": "hello"}
        if event["resource"] == "/upload":
            data = base64.b64decode(event["body"]) if event["isBase64Encoded"] else b""
            return {
                "statusCode": 201,
                "headers": {"Content-Type": "image/png"},
                "body": base64.b64encode(data[::-1]).decode(),
                "isBase64Encoded": True,
            }
        return {
            "statusCode": 200,
            "headers": {"X-Item": item or "none", "Content-Type": "application/json"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": json.dumps(
                {
                    "resource": event["resource"],
                    "path": event["path"],
                    "method": event["httpMethod"],
                    "pathParameters": event["pathParameters"],
                    "query": event["queryStringParameters"],
                    "multiQuery": event["multiValueQueryStringParameters"],
                    "trace": event["headers"].get("X-Trace"),
                    "stage": event["requestContext"]["stage"],
                    "stageVariables": event["stageVariables"],
                    "apiId": event["requestContext"]["apiId"],
                    "resourceId": event["requestContext"]["resourceId"],
                    "body": event["body"],
                    "isBase64Encoded": event["isBase64Encoded"],
                }
            ),
        }
    """
)


def build_stack() -> Stack:
    stack = Stack(
        App(context=CDK_CONTEXT),
        "Shop",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    function = lambda_.Function(
        stack,
        "Items",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(ITEMS),
    )
    api = apigateway.RestApi(
        stack,
        "Api",
        rest_api_name="shop",
        binary_media_types=["image/png"],
        deploy_options=apigateway.StageOptions(stage_name="v1", variables={"env": "test"}),
    )
    integration = apigateway.LambdaIntegration(function)
    validator = api.add_request_validator("Parameters", validate_request_parameters=True)
    items = api.root.add_resource("items")
    items.add_method("GET", integration)
    item = items.add_resource("{id}")
    item.add_method(
        "GET",
        integration,
        request_validator=validator,
        request_parameters={
            "method.request.querystring.view": True,
            "method.request.header.X-Trace": True,
            "method.request.querystring.optional": False,
        },
    )
    item.add_method("DELETE", integration)
    items.add_resource("special").add_method(
        "GET",
        apigateway.MockIntegration(
            request_templates={"application/json": '{"statusCode": 200}'},
            integration_responses=[
                apigateway.IntegrationResponse(
                    status_code="200",
                    response_templates={"application/json": '{"special": true}'},
                    response_parameters={"method.response.header.X-Mock": "'yes'"},
                ),
                apigateway.IntegrationResponse(
                    status_code="418",
                    selection_pattern="418",
                    response_templates={"application/json": '{"teapot": true}'},
                ),
            ],
        ),
        method_responses=[
            apigateway.MethodResponse(
                status_code="200", response_parameters={"method.response.header.X-Mock": True}
            ),
            apigateway.MethodResponse(status_code="418"),
        ],
    )
    api.root.add_resource("teapot").add_method(
        "GET",
        apigateway.MockIntegration(
            request_templates={"application/json": '{"statusCode": 418}'},
            integration_responses=[
                apigateway.IntegrationResponse(status_code="200"),
                apigateway.IntegrationResponse(
                    status_code="418",
                    selection_pattern="4\\d\\d",
                    response_templates={"application/json": '{"teapot": true}'},
                ),
            ],
        ),
        method_responses=[apigateway.MethodResponse(status_code="418")],
    )
    api.root.add_resource("files").add_resource("{proxy+}").add_method("ANY", integration)
    api.root.add_resource("upload").add_method("POST", integration)
    api.root.add_resource("outside").add_method(
        "GET", apigateway.HttpIntegration("https://example.com/")
    )
    api.add_gateway_response(
        "NotFound",
        type=apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN,
        status_code="404",
        templates={"application/json": '{"error": $context.error.messageString}'},
        response_headers={"Access-Control-Allow-Origin": "'*'"},
    )
    return stack


@pytest.fixture(scope="module")
def shop_stack() -> Stack:
    return build_stack()


@pytest.fixture
def deployed(shop_stack: Stack) -> Iterator[tuple[LocalCloud, DeployedStack]]:
    with LocalCloud(clock=Clock(1_700_000_000.0)) as cloud:
        yield cloud, cloud.deploy(shop_stack)


def get_item(cloud: LocalCloud, item: str) -> HttpResponse:
    return cloud.http("GET", f"/items/{item}", query={"view": "full"}, headers={"X-Trace": "t"})


# --------------------------------------------------------------------------- deploy


def test_the_api_deploys_with_aws_shaped_ids(deployed: tuple[LocalCloud, DeployedStack]) -> None:
    cloud, stack = deployed

    api_id = stack.physical_id("Api")
    assert re.fullmatch(r"[a-z0-9]{10}", api_id)
    assert re.fullmatch(r"[a-z0-9]{10}", stack.attribute("Api", "RootResourceId"))
    assert stack.physical_id("Api/Default/items") != stack.attribute("Api", "RootResourceId")
    assert stack.physical_id("Api/DeploymentStage.v1") == "v1"
    (endpoint,) = [v for k, v in stack.outputs.items() if k.startswith("ApiEndpoint")]
    assert endpoint == f"https://{api_id}.execute-api.us-east-1.amazonaws.com/v1/"
    assert not [s for s in cloud.skipped if s[2].startswith("AWS::ApiGateway::")]


# --------------------------------------------------------------------------- routing


def test_a_lambda_proxy_route_sees_the_rest_proxy_event(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed

    response = cloud.http(
        "GET",
        "/items/42?tag=a",
        query={"view": "full", "tag": ["b"]},
        headers={"X-Trace": "t-1"},
    )

    assert response.status == 200
    seen = response.json()
    assert seen["resource"] == "/items/{id}"
    assert seen["path"] == "/items/42"
    assert seen["method"] == "GET"
    assert seen["pathParameters"] == {"id": "42"}
    assert seen["query"] == {"view": "full", "tag": "b"}
    assert seen["multiQuery"] == {"tag": ["a", "b"], "view": ["full"]}
    assert seen["trace"] == "t-1"
    assert seen["stage"] == "v1"
    assert seen["stageVariables"] == {"env": "test"}
    assert seen["apiId"] == stack.physical_id("Api")
    assert seen["resourceId"] == stack.physical_id("Api/Default/items/{id}")
    assert response.headers["X-Item"] == "42"
    assert response.multi_value_headers["Set-Cookie"] == ["a=1", "b=2"]
    (invocation,) = cloud.log.invocations(function=stack.physical_id("Items"))
    assert invocation.source == "apigateway"
    assert invocation.mapping_id == stack.physical_id("Api")
    assert invocation.outcome == "success"


def test_a_literal_resource_beats_a_path_parameter(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    response = cloud.http("GET", "/items/special")

    assert response.status == 200
    assert response.json() == {"special": True}
    assert response.headers["X-Mock"] == "yes"
    assert cloud.log.invocations() == []


def test_a_greedy_proxy_takes_the_rest_of_the_path_for_any_method(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    response = cloud.http("DELETE", "/files/reports/2024/q1.csv")

    seen = response.json()
    assert seen["resource"] == "/files/{proxy+}"
    assert seen["pathParameters"] == {"proxy": "reports/2024/q1.csv"}
    assert seen["method"] == "DELETE"
    assert seen["query"] is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nowhere"),
        ("GET", "/items/42/parts"),
        ("POST", "/items/42"),
        ("GET", "/files"),
        ("GET", "/"),
    ],
    ids=["no-resource", "too-deep", "no-such-method", "resource-without-methods", "root"],
)
def test_unrouted_requests_get_the_missing_authentication_token_response(
    deployed: tuple[LocalCloud, DeployedStack], method: str, path: str
) -> None:
    cloud, _ = deployed

    response = cloud.http(method, path)

    # The API's gateway response turns AWS's 403 into a 404 with its own template.
    assert response.status == 404
    assert response.json() == {"error": "Missing Authentication Token"}
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert cloud.log.invocations() == []


def test_without_a_gateway_response_an_unrouted_request_is_a_403() -> None:
    stack = Stack(
        App(context=CDK_CONTEXT),
        "Bare",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    api = apigateway.RestApi(stack, "Api")
    api.root.add_method(
        "GET",
        apigateway.MockIntegration(
            integration_responses=[apigateway.IntegrationResponse(status_code="204")]
        ),
        method_responses=[apigateway.MethodResponse(status_code="204")],
    )
    with LocalCloud() as cloud:
        cloud.deploy(stack)

        missing = cloud.http("GET", "/missing")
        root = cloud.http("GET", "/")

    assert missing.status == 403
    assert missing.json() == {"message": "Missing Authentication Token"}
    assert root.status == 204
    assert root.body == ""


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("query", "headers", "missing"),
    [
        ({}, {"X-Trace": "t"}, "[view]"),
        ({"view": "full"}, {}, "[X-Trace]"),
        ({}, {}, "[view, X-Trace]"),
    ],
)
def test_required_request_parameters_are_validated(
    deployed: tuple[LocalCloud, DeployedStack],
    query: dict[str, str],
    headers: dict[str, str],
    missing: str,
) -> None:
    cloud, _ = deployed

    response = cloud.http("GET", "/items/42", query=query, headers=headers)

    assert response.status == 400
    assert response.json() == {"message": f"Missing required request parameters: {missing}"}
    assert cloud.log.invocations() == []


def test_header_names_are_matched_without_case_and_empty_values_count(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    response = cloud.http("GET", "/items/42?view=", headers={"x-trace": "t"})

    assert response.status == 200


def test_methods_without_a_validator_take_any_request(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    assert cloud.http("DELETE", "/items/42").status == 200


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("item", ["boom", "object-body", "extra-key", "no-status"])
def test_function_errors_and_malformed_results_are_502(
    deployed: tuple[LocalCloud, DeployedStack], item: str
) -> None:
    cloud, stack = deployed

    response = get_item(cloud, item)

    assert response.status == 502
    assert response.json() == {"message": "Internal server error"}
    (invocation,) = cloud.log.invocations(function=stack.physical_id("Items"))
    assert invocation.outcome == "failure"


def test_a_throttled_function_is_a_502(deployed: tuple[LocalCloud, DeployedStack]) -> None:
    cloud, stack = deployed
    cloud.faults.inject(stack.physical_id("Items"), throttle=1)

    assert get_item(cloud, "42").status == 502
    assert get_item(cloud, "42").status == 200


def test_a_mock_integration_selects_its_response_by_status_code(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    response = cloud.http("GET", "/teapot")

    assert response.status == 418
    assert response.json() == {"teapot": True}


def test_integrations_that_are_not_emulated_raise(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    with pytest.raises(NotImplementedError, match="HTTP_PROXY integrations"):
        cloud.http("GET", "/outside")


def test_requests_name_an_existing_api_and_stage(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed

    assert get_item(cloud, "1").status == 200
    assert cloud.http("GET", "/items/special", api="shop", stage="v1").status == 200
    assert cloud.http("GET", "/items/special", api=stack.physical_id("Api")).status == 200
    with pytest.raises(ValueError, match="shop"):
        cloud.http("GET", "/items/special", api="other")
    with pytest.raises(ValueError, match="no stage 'prod'"):
        cloud.http("GET", "/items/special", stage="prod")


# --------------------------------------------------------------------------- bodies


def test_text_bodies_reach_the_function_as_text(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    response = cloud.http(
        "GET",
        "/items/7",
        query={"view": "v"},
        headers={"X-Trace": "t", "Content-Type": "application/json"},
        body=b'{"name": "lamp"}',
    )

    seen = response.json()
    assert seen["body"] == '{"name": "lamp"}'
    assert seen["isBase64Encoded"] is False


def test_binary_bodies_are_base64_encoded_both_ways(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed
    image = b"\x89PNG\r\n\x1a\n\x00\xff"

    as_binary = cloud.http(
        "POST",
        "/upload",
        headers={"Content-Type": "image/png", "Accept": "image/png"},
        body=image,
    )
    as_text = cloud.http("POST", "/upload", headers={"Content-Type": "image/png"}, body=image)

    assert as_binary.status == 201
    assert as_binary.content == image[::-1]
    assert as_binary.headers["Content-Type"] == "image/png"
    # Without a binary Accept header, API Gateway passes the base64 text on.
    assert base64.b64decode(as_text.body) == image[::-1]
