"""A CloudFront distribution answering from its S3 bucket and its REST API origin."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import boto3
import pytest
from aws_cdk import App, DefaultStackSynthesizer, Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

from lambda_blueprints.testing import Clock, DeployedStack, LocalCloud
from tests.conftest import CDK_CONTEXT

ECHO = textwrap.dedent(
    """
    import json

    def handler(event, context):
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json", "X-Frame-Options": "SAMEORIGIN"},
            "body": json.dumps({
                "path": event["path"],
                "stage": event["requestContext"]["stage"],
                "query": event["multiValueQueryStringParameters"],
                "host": event["headers"].get("Host"),
                "auth": event["headers"].get("Authorization"),
                "body": event["body"],
            }),
        }
    """
)


def build_stack() -> Stack:
    stack = Stack(
        App(context=CDK_CONTEXT),
        "Site",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    bucket = s3.Bucket(stack, "Pages")
    function = lambda_.Function(
        stack,
        "Echo",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(ECHO),
    )
    api = apigateway.RestApi(
        stack, "Api", deploy_options=apigateway.StageOptions(stage_name="live")
    )
    api.root.add_resource("notes").add_method("ANY", apigateway.LambdaIntegration(function))
    headers = cloudfront.ResponseHeadersPolicy(
        stack,
        "Headers",
        security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
            content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                content_security_policy="default-src 'self'", override=True
            ),
            strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                access_control_max_age=Duration.days(365), include_subdomains=True, override=True
            ),
            content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
            frame_options=cloudfront.ResponseHeadersFrameOptions(
                frame_option=cloudfront.HeadersFrameOption.DENY, override=False
            ),
        ),
        custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
            custom_headers=[
                cloudfront.ResponseCustomHeader(header="X-Survivors", value="yes", override=True)
            ]
        ),
    )
    cloudfront.Distribution(
        stack,
        "Cdn",
        default_root_object="index.html",
        default_behavior=cloudfront.BehaviorOptions(
            origin=origins.S3BucketOrigin.with_origin_access_control(bucket),
            response_headers_policy=headers,
        ),
        additional_behaviors={
            "/notes*": cloudfront.BehaviorOptions(
                origin=origins.RestApiOrigin(api),
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=(
                    cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER
                ),
                response_headers_policy=headers,
            )
        },
    )
    return stack


@pytest.fixture(scope="module")
def site_stack() -> Stack:
    return build_stack()


@pytest.fixture
def deployed(site_stack: Stack) -> Iterator[tuple[LocalCloud, DeployedStack]]:
    with LocalCloud(clock=Clock(1_700_000_000.0)) as cloud:
        stack = cloud.deploy(site_stack)
        s3_client = boto3.client("s3")
        bucket = stack.physical_id("Pages")
        s3_client.put_object(
            Bucket=bucket, Key="index.html", Body=b"<h1>chat</h1>", ContentType="text/html"
        )
        s3_client.put_object(
            Bucket=bucket, Key="app.js", Body=b"start()", ContentType="text/javascript"
        )
        yield cloud, stack


def test_the_root_answers_the_default_root_object_with_the_policys_headers(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed
    distribution = cloud.cloudfront.find()

    page = cloud.cloudfront.request(distribution, "GET", "/")
    script = cloud.cloudfront.request(distribution, "GET", "/app.js")

    assert (page.status, page.body) == (200, "<h1>chat</h1>")
    assert page.header("Content-Type") == "text/html"
    assert page.header("Content-Security-Policy") == "default-src 'self'"
    assert page.header("Strict-Transport-Security") == "max-age=31536000; includeSubDomains"
    assert page.header("X-Content-Type-Options") == "nosniff"
    assert page.header("X-Frame-Options") == "DENY"
    assert page.header("X-Survivors") == "yes"
    assert (script.status, script.header("Content-Type")) == (200, "text/javascript")


def test_a_missing_object_is_access_denied_as_behind_origin_access_control(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed
    distribution = cloud.cloudfront.find()

    missing = cloud.cloudfront.request(distribution, "GET", "/nothing.html")

    assert missing.status == 403
    assert "<Code>AccessDenied</Code>" in missing.body


def test_a_method_the_behavior_does_not_allow_is_403(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed
    distribution = cloud.cloudfront.find()

    assert cloud.cloudfront.request(distribution, "POST", "/index.html").status == 403


def test_api_paths_reach_the_stage_of_the_origin_path_without_the_host(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    distribution = cloud.cloudfront.find()

    response = cloud.cloudfront.request(
        distribution,
        "POST",
        "/notes",
        query={"tag": ["a", "b"]},
        headers={"Host": "d123.cloudfront.net", "Authorization": "token"},
        body=b'{"text": "hi"}',
    )

    assert response.status == 200
    assert response.json() == {
        "path": "/notes",
        "stage": "live",
        "query": {"tag": ["a", "b"]},
        # CloudFront sends the origin's own host, not the viewer's.
        "host": f"{stack.physical_id('Api')}.execute-api.us-east-1.amazonaws.com",
        "auth": "token",
        "body": '{"text": "hi"}',
    }
    # The origin's own X-Frame-Options stays: the policy does not override it.
    assert response.header("X-Frame-Options") == "SAMEORIGIN"
    assert response.header("Content-Security-Policy") == "default-src 'self'"


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_the_distribution_is_served_over_http(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    import urllib.request

    cloud, _ = deployed
    with cloud.serve_distribution() as server:
        with urllib.request.urlopen(server.url) as page:  # noqa: S310 - the local server
            body, csp = page.read(), page.headers["Content-Security-Policy"]
        with urllib.request.urlopen(server.url + "notes?tag=x") as api:  # noqa: S310
            answer = api.read()

    assert body == b"<h1>chat</h1>"
    assert csp == "default-src 'self'"
    assert b'"stage": "live"' in answer
