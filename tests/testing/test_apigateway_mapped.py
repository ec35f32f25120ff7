"""Mapped (non-proxy) Lambda and MOCK integrations: Velocity templates both ways."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from aws_cdk import App, DefaultStackSynthesizer, Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_

from lambda_blueprints.testing import Clock, DeployedStack, LocalCloud
from tests.conftest import CDK_CONTEXT

SMS = textwrap.dedent(
    """
    import time

    def handler(event, context):
        text = event.get("text", "")
        if not text:
            raise ValueError("BadRequest: the message is empty")
        if text == "crash":
            raise RuntimeError("the messages table is unavailable")
        if text == "slow":
            time.sleep(0.3)
        return {"reply": "Received: " + text, "id": event.get("sid", "")}
    """
)

#: Twilio posts the SMS as a form; this template turns the form into a JSON event.
FORM_TO_JSON = textwrap.dedent(
    """\
    #set($fields = {})
    #foreach($pair in $input.body.split('&'))
    #set($kv = $pair.split('=', 2))
    #if($kv.size() > 1)#set($value = $util.urlDecode($kv[1]))#else#set($value = '')#end
    #set($ignored = $fields.put($util.urlDecode($kv[0]), $value))
    #end
    {
      "from": "$util.escapeJavaScript($fields.From)",
      "text": "$util.escapeJavaScript($fields.Body)",
      "sid": "$util.escapeJavaScript($fields.MessageSid)",
      "stage": "$context.stage",
      "channel": "$stageVariables.channel"
    }
    """
)

#: The function's answer as TwiML, XML-escaped.
TWIML = textwrap.dedent(
    """\
    <?xml version="1.0" encoding="UTF-8"?>
    #set($answer = $input.path('$'))
    <Response><Message>$answer.reply.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")</Message></Response>"""  # noqa: E501
)

ERROR_JSON = '{"error": "$util.escapeJavaScript($input.path(\'$.errorMessage\'))"}'

#: A real Twilio inbound-SMS form post (identifiers replaced).
TWILIO_FORM = {
    "ToCountry": "US",
    "ToState": "WA",
    "SmsMessageSid": "SM0123456789abcdef0123456789abcdef",
    "NumMedia": "0",
    "ToCity": "SEATTLE",
    "FromZip": "",
    "SmsSid": "SM0123456789abcdef0123456789abcdef",
    "FromState": "WA",
    "SmsStatus": "received",
    "FromCity": "SEATTLE",
    "Body": 'Zombies at the "north" gate & <fence>!',
    "FromCountry": "US",
    "To": "+12065550100",
    "ToZip": "",
    "NumSegments": "1",
    "MessageSid": "SM0123456789abcdef0123456789abcdef",
    "AccountSid": "AC0123456789abcdef0123456789abcdef",
    "From": "+12065550199",
    "ApiVersion": "2010-04-01",
}

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*"}


def build_stack() -> Stack:
    stack = Stack(
        App(context=CDK_CONTEXT),
        "Chat",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    function = lambda_.Function(
        stack,
        "Sms",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(SMS),
    )
    api = apigateway.RestApi(
        stack,
        "Api",
        rest_api_name="chat",
        deploy_options=apigateway.StageOptions(stage_name="prod", variables={"channel": "sms"}),
    )
    responses = [
        apigateway.IntegrationResponse(
            status_code="200",
            response_templates={"application/xml": TWIML},
            response_parameters={
                "method.response.header.X-Message-Id": "integration.response.body.id"
            },
        ),
        apigateway.IntegrationResponse(
            status_code="400",
            selection_pattern="BadRequest:.*",
            response_templates={"application/json": ERROR_JSON},
        ),
    ]
    method_responses = [
        apigateway.MethodResponse(
            status_code="200",
            response_parameters={"method.response.header.X-Message-Id": True},
        ),
        apigateway.MethodResponse(status_code="400"),
    ]
    api.root.add_resource("sms").add_method(
        "POST",
        apigateway.LambdaIntegration(
            function,
            proxy=False,
            passthrough_behavior=apigateway.PassthroughBehavior.NEVER,
            request_templates={"application/x-www-form-urlencoded": FORM_TO_JSON},
            integration_responses=responses,
            timeout=Duration.millis(200),
        ),
        method_responses=method_responses,
    )
    api.root.add_resource("relay").add_method(
        "POST",
        apigateway.LambdaIntegration(
            function,
            proxy=False,
            passthrough_behavior=apigateway.PassthroughBehavior.WHEN_NO_MATCH,
            request_templates={"application/json": "{\"text\": $input.json('$.message')}"},
            integration_responses=[
                apigateway.IntegrationResponse(
                    status_code="201",
                    response_templates={
                        "application/xml": "<reply>$input.path('$.reply')</reply>",
                        "application/json": "$input.json('$')",
                    },
                )
            ],
        ),
        method_responses=[apigateway.MethodResponse(status_code="201")],
    )
    api.root.add_resource("health").add_method(
        "GET",
        apigateway.MockIntegration(
            request_templates={
                "application/json": (
                    "{\"statusCode\": #if($input.params('fail') == 'yes')503#{else}200#end}"
                )
            },
            integration_responses=[
                apigateway.IntegrationResponse(
                    status_code="200",
                    response_templates={
                        "application/json": (
                            "#if($input.params('brew') == 'tea')"
                            "#set($context.responseOverride.status = 418)#end"
                            '{"stage": "$context.stage", "request": "$context.requestId", '
                            '"who": "$util.escapeJavaScript($input.params(\'who\'))"}'
                        )
                    },
                ),
                apigateway.IntegrationResponse(
                    status_code="503",
                    selection_pattern="5\\d\\d",
                    response_templates={
                        "application/json": (
                            "#set($headers = $context.responseOverride.header)"
                            "#set($ignored = $headers.put('Retry-After', '30'))"
                            '{"status": "degraded"}'
                        )
                    },
                ),
            ],
        ),
        method_responses=[
            apigateway.MethodResponse(status_code="200"),
            apigateway.MethodResponse(status_code="503"),
        ],
    )
    return stack


@pytest.fixture(scope="module")
def chat_stack() -> Stack:
    return build_stack()


@pytest.fixture
def deployed(chat_stack: Stack) -> Iterator[tuple[LocalCloud, DeployedStack]]:
    with LocalCloud(clock=Clock(1_700_000_000.0)) as cloud:
        yield cloud, cloud.deploy(chat_stack)


def post_sms(cloud: LocalCloud, **changes: str) -> tuple[int, str, dict[str, str]]:
    response = cloud.http("POST", "/sms", headers=FORM, body=urlencode({**TWILIO_FORM, **changes}))
    return response.status, response.body, response.headers


def test_a_twilio_form_post_reaches_the_function_as_the_template_maps_it(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed

    post_sms(cloud)

    (invocation,) = cloud.log.invocations(function=stack.physical_id("Sms"))
    assert invocation.source == "apigateway"
    assert invocation.event == {
        "from": "+12065550199",
        "text": 'Zombies at the "north" gate & <fence>!',
        "sid": "SM0123456789abcdef0123456789abcdef",
        "stage": "prod",
        "channel": "sms",
    }


def test_the_function_result_is_answered_as_twiml(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    status, body, headers = post_sms(cloud)

    assert status == 200
    assert headers["Content-Type"] == "application/xml"
    assert headers["X-Message-Id"] == "SM0123456789abcdef0123456789abcdef"
    document = ElementTree.fromstring(body)  # noqa: S314 - our own template's output
    assert document.tag == "Response"
    assert [child.tag for child in document] == ["Message"]
    assert document.findtext("Message") == 'Received: Zombies at the "north" gate & <fence>!'


def test_a_function_error_is_selected_by_its_message(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    status, body, headers = post_sms(cloud, Body="")

    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"error": "BadRequest: the message is empty"}


def test_an_error_no_pattern_selects_takes_the_default_response(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    # API Gateway does this too: an unselected function error is mapped by the default
    # integration response, so the error body goes through the success template.
    cloud, _ = deployed

    status, body, _ = post_sms(cloud, Body="crash")

    assert status == 200
    assert ElementTree.fromstring(body)  # noqa: S314 - our own template's output.findtext("Message") is None


def test_a_function_slower_than_the_integration_timeout_is_a_504(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    status, body, _ = post_sms(cloud, Body="slow")

    assert status == 504
    assert json.loads(body) == {"message": "Endpoint request timed out"}


def test_passthrough_never_refuses_an_unmapped_content_type(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    response = cloud.http(
        "POST", "/sms", headers={"Content-Type": "application/json"}, body='{"text": "hi"}'
    )

    assert response.status == 415
    assert response.json() == {"message": "Unsupported Media Type"}
    assert cloud.log.invocations() == []


def test_a_matching_template_maps_the_json_body(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed

    response = cloud.http(
        "POST",
        "/relay",
        headers={"Content-Type": "application/json; charset=utf-8"},
        body='{"message": "over the wall"}',
    )

    assert response.status == 201
    assert response.json() == {"reply": "Received: over the wall", "id": ""}
    (invocation,) = cloud.log.invocations(function=stack.physical_id("Sms"))
    assert invocation.event == {"text": "over the wall"}


def test_when_no_match_passes_an_unmapped_body_through(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed

    response = cloud.http(
        "POST", "/relay", headers={"Content-Type": "text/plain"}, body='{"text": "raw"}'
    )

    assert response.status == 201
    (invocation,) = cloud.log.invocations(function=stack.physical_id("Sms"))
    assert invocation.event == {"text": "raw"}


def test_a_passed_through_body_that_is_not_json_is_a_500(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    # Lambda takes only a JSON payload, so API Gateway cannot invoke the function.
    cloud, _ = deployed

    response = cloud.http("POST", "/relay", headers={"Content-Type": "text/plain"}, body="hi")

    assert response.status == 500
    assert response.json() == {"message": "Internal server error"}
    assert cloud.log.invocations() == []


def test_a_mock_renders_its_templates_with_the_request(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    response = cloud.http("GET", "/health", query={"who": 'o"neil'})

    assert response.status == 200
    assert response.json() == {
        "stage": "prod",
        "request": response.header("x-amzn-RequestId"),
        "who": 'o"neil',
    }


def test_a_mock_status_from_the_request_selects_the_response_and_its_overrides(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    response = cloud.http("GET", "/health", query={"fail": "yes"})

    assert response.status == 503
    assert response.json() == {"status": "degraded"}
    assert response.header("Retry-After") == "30"


def test_the_response_template_follows_the_accept_header(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed
    body = '{"message": "north gate"}'

    as_xml = cloud.http(
        "POST",
        "/relay",
        headers={"Content-Type": "application/json", "Accept": "application/xml"},
        body=body,
    )
    as_default = cloud.http(
        "POST", "/relay", headers={"Content-Type": "application/json", "Accept": "*/*"}, body=body
    )

    assert as_xml.header("Content-Type") == "application/xml"
    assert as_xml.body == "<reply>Received: north gate</reply>"
    assert as_default.header("Content-Type") == "application/json"
    assert as_default.json() == {"reply": "Received: north gate", "id": ""}


def test_a_template_may_override_the_status(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    response = cloud.http("GET", "/health", query={"brew": "tea"})

    assert response.status == 418
    assert response.json()["stage"] == "prod"
