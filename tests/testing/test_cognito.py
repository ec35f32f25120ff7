"""Cognito user pools in the local cloud: sign in with boto3, call the API with the token."""

from __future__ import annotations

import base64
import json
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import App, DefaultStackSynthesizer, Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_

# The LocalCloud front registers the service modules it imports; until it imports this one,
# importing it here registers its resource types.
import lambda_blueprints.testing.cognito  # noqa: F401
from lambda_blueprints.testing import DeployedStack, LocalCloud
from tests.conftest import CDK_CONTEXT

PASSWORD = "Correct-Horse-9-Battery"

ECHO = textwrap.dedent(
    """
    import json

    def handler(event, context):
        claims = event["requestContext"]["authorizer"]["claims"]
        return {"statusCode": 200, "body": json.dumps(claims)}
    """
)


def pools_stack() -> Stack:
    """A pool with a password client behind an API; a second pool, whose tokens it refuses."""
    stack = Stack(
        App(context=CDK_CONTEXT),
        "Pools",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    pool = cognito.UserPool(
        stack,
        "Users",
        sign_in_aliases=cognito.SignInAliases(username=True, email=True),
        password_policy=cognito.PasswordPolicy(min_length=12, require_symbols=True),
        mfa=cognito.Mfa.OPTIONAL,
        mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
    )
    pool.add_client(
        "Web",
        auth_flows=cognito.AuthFlow(user_password=True),
        id_token_validity=Duration.hours(1),
        read_attributes=cognito.ClientAttributes().with_standard_attributes(email=True),
    )
    pool.add_client(
        "Backend", generate_secret=True, auth_flows=cognito.AuthFlow(user_password=True)
    )
    pool.add_domain("Domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix="pools"))
    others = cognito.UserPool(stack, "Others", user_pool_name="others")
    others_web = others.add_client("OthersWeb", auth_flows=cognito.AuthFlow(user_password=True))
    # Templates may give booleans and numbers as strings, as CloudFormation takes them.
    pool_resource = others.node.default_child
    assert isinstance(pool_resource, cognito.CfnUserPool)
    pool_resource.add_property_override("Policies.PasswordPolicy.MinimumLength", "10")
    client_resource = others_web.node.default_child
    assert isinstance(client_resource, cognito.CfnUserPoolClient)
    client_resource.add_property_override("GenerateSecret", "false")
    function = lambda_.Function(
        stack,
        "Echo",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(ECHO),
    )
    authorizer = apigateway.CognitoUserPoolsAuthorizer(
        stack, "Authorizer", cognito_user_pools=[pool]
    )
    api = apigateway.RestApi(stack, "Api", rest_api_name="pools")
    api.root.add_resource("me").add_method(
        "GET",
        apigateway.LambdaIntegration(function),
        authorizer=authorizer,
        authorization_type=apigateway.AuthorizationType.COGNITO,
    )
    return stack


@pytest.fixture(scope="module")
def stack() -> Stack:
    return pools_stack()


@pytest.fixture
def cloud(stack: Stack) -> Iterator[tuple[LocalCloud, DeployedStack]]:
    with LocalCloud() as local:
        yield local, local.deploy(stack)


def sign_in(cloud: LocalCloud, pool_id: str, client_id: str, username: str) -> dict[str, Any]:
    idp = cloud.client("cognito-idp")
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True
    )
    answer = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )
    result: dict[str, Any] = answer["AuthenticationResult"]
    return result


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def test_the_pool_and_its_clients_are_created_in_moto_with_cloudformations_ids(
    cloud: tuple[LocalCloud, DeployedStack],
) -> None:
    local, deployed = cloud
    idp = local.client("cognito-idp")
    pool_id = deployed.physical_id("Users")

    pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    web = idp.describe_user_pool_client(
        UserPoolId=pool_id, ClientId=deployed.physical_id("Users/Web")
    )["UserPoolClient"]

    provider = f"cognito-idp.us-east-1.amazonaws.com/{pool_id}"
    assert pool_id.startswith("us-east-1_")
    assert deployed.resource("Users").attributes == {
        "Arn": f"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{pool_id}",
        "ProviderName": provider,
        "ProviderURL": f"https://{provider}",
        "UserPoolId": pool_id,
    }
    assert pool["Name"].startswith("Pools-Users")
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert pool["AliasAttributes"] == ["email"]
    assert pool["MfaConfiguration"] == "OPTIONAL"
    assert idp.get_user_pool_mfa_config(UserPoolId=pool_id)["SoftwareTokenMfaConfiguration"] == {
        "Enabled": True
    }
    others = idp.describe_user_pool(UserPoolId=deployed.physical_id("Others"))["UserPool"]
    assert others["Name"] == "others"
    assert others["Policies"]["PasswordPolicy"]["MinimumLength"] == 10
    assert web["ExplicitAuthFlows"] == ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert web["IdTokenValidity"] == 60 and web["TokenValidityUnits"]["IdToken"] == "minutes"
    assert deployed.attribute("Users/Web", "ClientId") == web["ClientId"]
    assert "ClientSecret" not in deployed.resource("Users/Web").attributes


def test_a_client_with_a_generated_secret_has_it_as_an_attribute(
    cloud: tuple[LocalCloud, DeployedStack],
) -> None:
    local, deployed = cloud
    backend = local.client("cognito-idp").describe_user_pool_client(
        UserPoolId=deployed.physical_id("Users"), ClientId=deployed.physical_id("Users/Backend")
    )["UserPoolClient"]

    assert deployed.attribute("Users/Backend", "ClientSecret") == backend["ClientSecret"]


def test_the_domain_is_the_pools(cloud: tuple[LocalCloud, DeployedStack]) -> None:
    local, deployed = cloud

    domain = local.client("cognito-idp").describe_user_pool_domain(Domain="pools")

    assert deployed.physical_id("Users/Domain") == "pools"
    assert domain["DomainDescription"]["UserPoolId"] == deployed.physical_id("Users")


def test_signing_in_with_a_password_gives_an_id_token_of_the_pool(
    cloud: tuple[LocalCloud, DeployedStack],
) -> None:
    local, deployed = cloud
    pool_id = deployed.physical_id("Users")

    tokens = sign_in(local, pool_id, deployed.physical_id("Users/Web"), "ana")

    id_claims = claims(tokens["IdToken"])
    assert id_claims["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"
    assert id_claims["token_use"] == "id"
    assert id_claims["cognito:username"] == "ana"
    assert id_claims["aud"] == deployed.physical_id("Users/Web")
    assert id_claims["email"] == "ana@example.com"
    assert id_claims["sub"]
    assert id_claims["exp"] > id_claims["iat"]
    assert claims(tokens["AccessToken"])["token_use"] == "access"


def test_the_api_takes_the_pools_id_token_and_passes_its_claims(
    cloud: tuple[LocalCloud, DeployedStack],
) -> None:
    local, deployed = cloud
    tokens = sign_in(local, deployed.physical_id("Users"), deployed.physical_id("Users/Web"), "ana")

    response = local.http("GET", "/me", headers={"Authorization": tokens["IdToken"]})

    assert response.status == 200, response.body
    passed = response.json()
    assert passed["cognito:username"] == "ana"
    assert passed["sub"] == claims(tokens["IdToken"])["sub"]
    assert passed["iss"] == deployed.attribute("Users", "ProviderURL")


def test_the_api_refuses_a_token_of_another_pool(
    cloud: tuple[LocalCloud, DeployedStack],
) -> None:
    local, deployed = cloud
    tokens = sign_in(
        local, deployed.physical_id("Others"), deployed.physical_id("Others/OthersWeb"), "ben"
    )

    response = local.http("GET", "/me", headers={"Authorization": tokens["IdToken"]})

    assert response.status == 401
    assert response.json() == {"message": "Unauthorized"}
    assert local.log.invocations() == []


def test_the_api_refuses_an_access_token(cloud: tuple[LocalCloud, DeployedStack]) -> None:
    local, deployed = cloud
    tokens = sign_in(local, deployed.physical_id("Users"), deployed.physical_id("Users/Web"), "ana")

    response = local.http("GET", "/me", headers={"Authorization": tokens["AccessToken"]})

    assert response.status == 401
