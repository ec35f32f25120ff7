"""Methods behind a Cognito user pool authorizer: the token's claims reach the function."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest
from aws_cdk import App, DefaultStackSynthesizer, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_

from lambda_blueprints.testing import Clock, LocalCloud, cognito_token
from tests.conftest import CDK_CONTEXT

NOW = 1_700_000_000.0

ECHO = textwrap.dedent(
    """
    import json

    def handler(event, context):
        return {"statusCode": 200, "body": json.dumps(event["requestContext"].get("authorizer"))}

    def mapped(event, context):
        return event
    """
)


def build_stack() -> Stack:
    stack = Stack(
        App(context=CDK_CONTEXT),
        "Chat",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    pool = cognito.UserPool(stack, "Pool")
    function = lambda_.Function(
        stack,
        "Echo",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(ECHO),
    )
    mapped = lambda_.Function(
        stack,
        "Mapped",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.mapped",
        code=lambda_.Code.from_inline(ECHO),
    )
    authorizer = apigateway.CognitoUserPoolsAuthorizer(
        stack, "Authorizer", cognito_user_pools=[pool]
    )
    api = apigateway.RestApi(stack, "Api", rest_api_name="chat")
    signed_in = {
        "authorizer": authorizer,
        "authorization_type": apigateway.AuthorizationType.COGNITO,
    }
    api.root.add_resource("me").add_method(
        "GET", apigateway.LambdaIntegration(function), **signed_in
    )
    api.root.add_resource("admin").add_method(
        "GET",
        apigateway.LambdaIntegration(function),
        authorization_scopes=["chat/admin"],
        **signed_in,
    )
    api.root.add_resource("whoami").add_method(
        "GET",
        apigateway.LambdaIntegration(
            mapped,
            proxy=False,
            request_templates={"application/json": '{"sub": "$context.authorizer.claims.sub"}'},
            integration_responses=[apigateway.IntegrationResponse(status_code="200")],
        ),
        method_responses=[apigateway.MethodResponse(status_code="200")],
        **signed_in,
    )
    api.root.add_resource("open").add_method("GET", apigateway.LambdaIntegration(function))
    return stack


@pytest.fixture(scope="module")
def chat_stack() -> Stack:
    return build_stack()


POOL: dict[str, str] = {}


@pytest.fixture
def cloud(chat_stack: Stack) -> Iterator[LocalCloud]:
    with LocalCloud(clock=Clock(NOW)) as local:
        deployed = local.deploy(chat_stack)
        # Tokens must come from the deployed pool: the authorizer checks their issuer.
        POOL["id"] = deployed.physical_id("Pool")
        yield local


def pool_token(**claims: object) -> str:
    return cognito_token(user_pool_id=POOL["id"], **claims)  # type: ignore[arg-type]


def test_the_claims_of_an_id_token_reach_the_function_as_strings(cloud: LocalCloud) -> None:
    token = pool_token(sub="u-1", username="ana", email="ana@example.com", issued_at=NOW)

    response = cloud.http("GET", "/me", headers={"Authorization": token})

    assert response.status == 200
    claims = response.json()["claims"]
    assert claims["sub"] == "u-1"
    assert claims["cognito:username"] == "ana"
    assert claims["email_verified"] == "true"
    assert claims["exp"] == str(int(NOW) + 3600)


def test_a_bearer_prefix_is_accepted(cloud: LocalCloud) -> None:
    token = pool_token(sub="u-2", issued_at=NOW)

    response = cloud.http("GET", "/me", headers={"authorization": f"Bearer {token}"})

    assert response.json()["claims"]["sub"] == "u-2"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "not-a-token"}, {"Authorization": "a.b"}],
    ids=["missing", "empty", "not-a-jwt", "two-parts"],
)
def test_a_missing_or_malformed_token_is_401(cloud: LocalCloud, headers: dict[str, str]) -> None:
    response = cloud.http("GET", "/me", headers=headers)

    assert response.status == 401
    assert response.json() == {"message": "Unauthorized"}
    assert cloud.log.invocations() == []


def test_an_expired_token_is_401_with_api_gateways_message(cloud: LocalCloud) -> None:
    token = pool_token(issued_at=NOW - 7200, expires_in=3600)

    response = cloud.http("GET", "/me", headers={"Authorization": token})

    assert response.status == 401
    assert response.json() == {"message": "The incoming token has expired"}


def test_an_access_token_is_refused_where_an_id_token_is_expected(cloud: LocalCloud) -> None:
    token = pool_token(token_use="access", issued_at=NOW)

    assert cloud.http("GET", "/me", headers={"Authorization": token}).status == 401


def test_a_scoped_method_needs_an_access_token_with_one_of_its_scopes(
    cloud: LocalCloud,
) -> None:
    def call(token: str) -> int:
        return cloud.http("GET", "/admin", headers={"Authorization": token}).status

    assert call(pool_token(token_use="access", scopes=["chat/admin"], issued_at=NOW)) == 200
    assert call(pool_token(token_use="access", scopes=["chat/read"], issued_at=NOW)) == 401
    assert call(pool_token(issued_at=NOW)) == 401


def test_a_mapping_template_reads_the_claims_from_its_context(cloud: LocalCloud) -> None:
    token = pool_token(sub="u-3", issued_at=NOW)

    response = cloud.http("GET", "/whoami", headers={"Authorization": token})

    assert response.json() == {"sub": "u-3"}


def test_a_token_of_another_pool_is_401(cloud: LocalCloud) -> None:
    stranger = cognito_token(user_pool_id="us-east-1_Elsewhere", issued_at=NOW)

    assert cloud.http("GET", "/me", headers={"Authorization": stranger}).status == 401


def test_a_method_without_an_authorizer_takes_no_token(cloud: LocalCloud) -> None:
    response = cloud.http("GET", "/open")

    assert response.status == 200
    assert response.json() is None
