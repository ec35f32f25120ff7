"""Lambda's asynchronous invocation: one retry loop, used by EventBridge and IoT alike."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from lambda_blueprints.testing import ActivityLog, Clock, InvokeResult, LocalCloud
from lambda_blueprints.testing._core import ServiceContext
from lambda_blueprints.testing.eventbridge import EventBridge, Rule, RuleTarget
from lambda_blueprints.testing.iot import IotCore
from lambda_blueprints.testing.lambda_ import AsyncInvocations

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"
ON_FAILURE_ARN = "arn:aws:sqs:us-east-1:123456789012:on-failure"


class _Function:
    name = "fn"
    arn = FUNCTION_ARN
    role_arn = ""


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as local:
        yield local


def failing(function_name: str, event: dict[str, Any]) -> InvokeResult:
    return InvokeResult("req-1", None, "Unhandled", "RuntimeError", "boom")


def harness(delays: list[float]) -> tuple[Clock, ActivityLog, list[Any], AsyncInvocations]:
    clock, log, sent = Clock(start=1_000.0), ActivityLog(), []
    shared = AsyncInvocations(
        invoke=failing,
        log=log,
        clock=clock,
        send=lambda arn, body, attributes: sent.append((arn, json.loads(body))),
        retry_delay=lambda retry: delays[retry - 1],
    )
    shared.configure("fn", on_failure_arn=ON_FAILURE_ARN)
    return clock, log, sent, shared


def test_the_local_cloud_gives_eventbridge_and_iot_one_async_invoker(cloud: LocalCloud) -> None:
    assert cloud.events._async is cloud.iot._async_invocations


def test_eventbridge_and_iot_retry_through_the_same_loop_and_delay_hook(
    cloud: LocalCloud,
) -> None:
    clock, log, sent, shared = harness([60.0, 120.0, 60.0, 120.0])
    bridge = EventBridge(invoke=failing, log=log, clock=clock, async_invocations=shared)
    bridge.add_rule(
        Rule(name="r", event_pattern={"source": ["s"]}, targets=[RuleTarget("t", FUNCTION_ARN)])
    )
    context = ServiceContext(
        region="us-east-1",
        account_id="123456789012",
        clock=clock,
        log=log,
        client=cloud.client,
        invoke=failing,
        function=lambda name: _Function(),
    )
    iot = IotCore(context, async_invocations=shared)
    iot.deploy_rule(
        "Rule",
        {
            "RuleName": "to_fn",
            "TopicRulePayload": {
                "Sql": "SELECT * FROM 'devices/+'",
                "Actions": [{"Lambda": {"FunctionArn": FUNCTION_ARN}}],
            },
        },
        stack_name="S",
    )

    bridge.put_events([{"Source": "s", "DetailType": "d", "Detail": "{}"}])
    assert clock.now() == 1_180.0
    iot.publish("devices/d1", {"x": 1})

    # IoT now honours the retry-delay hook: two retries of 60 and 120 seconds.
    assert clock.now() == 1_360.0
    attempts = [(i.source, i.attempt) for i in log.invocations()]
    assert attempts == [
        ("eventbridge", 0),
        ("eventbridge", 1),
        ("eventbridge", 2),
        ("iot", 0),
        ("iot", 1),
        ("iot", 2),
    ]
    assert [(arn, body["requestContext"]["condition"]) for arn, body in sent] == [
        (ON_FAILURE_ARN, "RetriesExhausted")
    ] * 2
    assert {body["requestContext"]["functionArn"] for _, body in sent} == {
        f"{FUNCTION_ARN}:$LATEST"
    }
    assert [(f.source, f.mapping_id) for f in log.failures()] == [
        ("eventbridge", "r"),
        ("iot", "to_fn"),
    ]
