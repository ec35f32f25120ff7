"""Classic EventBridge rules: routing, input transformation, retries and dead letters."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from lambda_blueprints.testing.activity import (
    ActivityLog,
    InvocationThrottled,
    InvokeResult,
)
from lambda_blueprints.testing.clock import Clock
from lambda_blueprints.testing.eventbridge import (
    ASYNC_THROTTLE_LIMIT,
    EventBridge,
    Rule,
    RuleTarget,
)
from lambda_blueprints.testing.filtering import FilterError

START = 1_700_000_000.0  # 2023-11-14T22:13:20Z
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:on-state-change"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:state-changes"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:state-changes"
DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:rule-dlq"
ON_FAILURE_ARN = "arn:aws:sqs:us-east-1:123456789012:async-failures"

EC2_PATTERN: dict[str, Any] = {
    "source": ["aws.ec2"],
    "detail-type": ["EC2 Instance State-change Notification"],
    "detail": {"state": ["running", "shutting-down", "stopped"]},
}


def ec2_event(state: str = "running") -> dict[str, Any]:
    """The EC2 Instance State-change Notification event of the spec (9.2)."""
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "123456789012",
        "time": "2021-11-11T21:29:54Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0"],
        "detail": {"instance-id": "i-1234567890abcdef0", "state": state},
    }


def returns_nothing(event: Any) -> Any:
    return None


def deeply_nested(depth: int) -> dict[str, Any]:
    """``{"a": {"a": ...}}``, ``depth`` objects deep, built without recursion."""
    top: dict[str, Any] = {}
    inner = top
    for _ in range(depth - 1):
        inner["a"] = {}
        inner = inner["a"]
    return top


@dataclass
class FakeFunctions:
    """An in-process invoker: handlers by function name; a raised error is a function error."""

    handlers: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def __call__(self, function_name: str, event: Any) -> InvokeResult:
        self.calls.append((function_name, event))
        request_id = f"request-{len(self.calls)}"
        try:
            payload = self.handlers.get(function_name, returns_nothing)(event)
        except InvocationThrottled:
            raise
        except Exception as error:
            return InvokeResult(
                request_id,
                function_error="Unhandled",
                error_type=type(error).__name__,
                error_message=str(error),
            )
        return InvokeResult(request_id, payload=payload)

    def events(self, function_name: str = "on-state-change") -> list[Any]:
        return [event for name, event in self.calls if name == function_name]


@dataclass
class FakeSend:
    messages: list[tuple[str, str, dict[str, dict[str, str]]]] = field(default_factory=list)

    def __call__(self, arn: str, body: str, attributes: Any) -> None:
        self.messages.append((arn, body, {k: dict(v) for k, v in attributes.items()}))

    def to(self, arn: str) -> list[tuple[str, dict[str, dict[str, str]]]]:
        return [(body, attributes) for dest, body, attributes in self.messages if dest == arn]


@dataclass
class Harness:
    bridge: EventBridge
    functions: FakeFunctions
    send: FakeSend
    log: ActivityLog
    clock: Clock


def make_harness(**options: Any) -> Harness:
    functions, send, log, clock = FakeFunctions(), FakeSend(), ActivityLog(), Clock(START)
    bridge = EventBridge(invoke=functions, log=log, clock=clock, send=send, **options)
    return Harness(bridge, functions, send, log, clock)


@pytest.fixture
def h() -> Harness:
    return make_harness()


def lambda_target(**settings: Any) -> RuleTarget:
    return RuleTarget(id="fn", arn=FUNCTION_ARN, function_name="on-state-change", **settings)


def add_ec2_rule(h: Harness, *targets: RuleTarget, **settings: Any) -> Rule:
    rule = Rule("ec2-state", EC2_PATTERN, list(targets) or [lambda_target()], **settings)
    h.bridge.add_rule(rule)
    return rule


def always_fails(event: Any) -> Any:
    raise RuntimeError("boom")


# --------------------------------------------------------------------------- routing


@pytest.mark.parametrize(
    ("state", "delivered"),
    [
        ("pending", False),
        ("running", True),
        ("stopping", False),
        ("stopped", True),
        ("shutting-down", True),
        ("terminated", False),
    ],
)
def test_rules_route_ec2_state_changes_by_pattern(h: Harness, state: str, delivered: bool) -> None:
    add_ec2_rule(h)

    (event_id,) = h.bridge.put_events([ec2_event(state)])

    assert event_id == "7bf73129-1428-4cd3-a780-95db273d1602"
    assert h.functions.events() == ([ec2_event(state)] if delivered else [])


def test_put_events_entries_become_full_events(h: Harness) -> None:
    add_ec2_rule(h)

    ids = h.bridge.put_events(
        [
            {
                "Source": "aws.ec2",
                "DetailType": "EC2 Instance State-change Notification",
                "Detail": json.dumps({"instance-id": "i-0abc", "state": "stopped"}),
                "Resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"],
            }
        ]
    )

    (event,) = h.functions.events()
    assert event == {
        "version": "0",
        "id": ids[0],
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "123456789012",
        "time": "2023-11-14T22:13:20Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"],
        "detail": {"instance-id": "i-0abc", "state": "stopped"},
    }
    assert uuid.UUID(ids[0]).version == 4


@pytest.mark.parametrize(
    ("when", "spelled"),
    [
        (datetime(2024, 5, 1, 12, 30, tzinfo=UTC), "2024-05-01T12:30:00Z"),
        (datetime(2024, 5, 1, 12, 30), "2024-05-01T12:30:00Z"),  # noqa: DTZ001 - naive is UTC
        (1_714_566_600, "2024-05-01T12:30:00Z"),
        ("2024-05-01T12:30:00Z", "2024-05-01T12:30:00Z"),
    ],
)
def test_entry_times_are_kept(h: Harness, when: Any, spelled: str) -> None:
    add_ec2_rule(h)
    entry = {"Source": "aws.ec2", "DetailType": EC2_PATTERN["detail-type"][0], "Time": when}

    h.bridge.put_events([{**entry, "Detail": '{"state": "running"}'}])

    assert h.functions.events()[0]["time"] == spelled


def test_each_event_gets_its_own_id(h: Harness) -> None:
    entry = {"Source": "app", "DetailType": "t", "Detail": "{}"}
    ids = h.bridge.put_events([entry, entry, {"detail-type": "t", "source": "app"}])
    assert len(set(ids)) == 3


def test_rules_only_see_events_of_their_bus(h: Harness) -> None:
    h.bridge.add_rule(Rule("orders", {"source": ["shop"]}, [lambda_target()], event_bus="orders"))
    entry = {"Source": "shop", "DetailType": "OrderPlaced", "Detail": '{"id": 1}'}
    bus_arn = "arn:aws:events:us-east-1:123456789012:event-bus/orders"

    h.bridge.put_events([entry])
    assert h.functions.calls == []

    h.bridge.put_events([{**entry, "EventBusName": "orders"}, {**entry, "EventBusName": bus_arn}])
    assert len(h.functions.calls) == 2


def test_disabled_rules_deliver_nothing(h: Harness) -> None:
    rule = add_ec2_rule(h, enabled=False)

    h.bridge.put_events([ec2_event()])
    assert h.functions.calls == []

    rule.enabled = True
    h.bridge.put_events([ec2_event()])
    assert len(h.functions.calls) == 1


def test_rules_without_a_pattern_match_no_event(h: Harness) -> None:
    h.bridge.add_rule(Rule("nightly", None, [lambda_target()]))
    h.bridge.put_events([ec2_event()])
    assert h.functions.calls == []


def test_plain_numbers_in_detail_match_by_value(h: Harness) -> None:
    h.bridge.add_rule(Rule("exact", {"detail": {"price": [300.0]}}, [lambda_target()]))
    entry = {"Source": "shop", "DetailType": "Priced"}

    for spelling in ("300.0", "3.0e2", "300", "300.5", '"300"'):
        h.bridge.put_events(
            [{**entry, "Detail": f'{{"price": {spelling}, "as": {json.dumps(spelling)}}}'}]
        )

    assert [e["detail"]["as"] for e in h.functions.events()] == ["300.0", "3.0e2", "300"]


def test_every_matching_rule_and_target_receives_the_event(h: Harness) -> None:
    add_ec2_rule(h, lambda_target(), RuleTarget("queue", QUEUE_ARN), RuleTarget("topic", TOPIC_ARN))
    h.bridge.add_rule(Rule("all-ec2", {"source": ["aws.ec2"]}, [RuleTarget("q", QUEUE_ARN)]))

    h.bridge.put_events([ec2_event()])

    assert h.functions.events() == [ec2_event()]
    assert h.send.to(TOPIC_ARN) == [(json.dumps(ec2_event()), {})]
    assert [json.loads(body) for body, _ in h.send.to(QUEUE_ARN)] == [ec2_event()] * 2


def test_invocations_are_logged(h: Harness) -> None:
    h.functions.handlers["on-state-change"] = lambda event: {"seen": event["id"]}
    add_ec2_rule(h)

    (event_id,) = h.bridge.put_events([ec2_event()])

    (invocation,) = h.log.invocations(function="on-state-change")
    assert invocation.source == "eventbridge"
    assert invocation.mapping_id == "ec2-state"
    assert invocation.items == (event_id,)
    assert invocation.event == ec2_event()
    assert invocation.result.payload == {"seen": event_id}
    assert (invocation.outcome, invocation.attempt, invocation.at) == ("success", 0, START)


def test_lambda_targets_can_be_named_by_arn_alone(h: Harness) -> None:
    add_ec2_rule(h, RuleTarget("fn", FUNCTION_ARN))
    h.bridge.put_events([ec2_event()])
    assert h.functions.calls == [("on-state-change", ec2_event())]


# --------------------------------------------------------------------------- input


def test_constant_input_replaces_the_event(h: Harness) -> None:
    add_ec2_rule(
        h,
        lambda_target(input='{"action": "audit"}'),
        RuleTarget("queue", QUEUE_ARN, input='{"action": "audit"}'),
    )

    h.bridge.put_events([ec2_event()])

    assert h.functions.events() == [{"action": "audit"}]
    assert h.send.to(QUEUE_ARN) == [('{"action": "audit"}', {})]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", ec2_event()),
        ("$.detail", {"instance-id": "i-1234567890abcdef0", "state": "running"}),
        ("$.detail.state", "running"),
        ("$.resources[0]", "arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0"),
        ("$.detail['instance-id']", "i-1234567890abcdef0"),
        ("$.detail.missing", None),
    ],
)
def test_input_path_selects_part_of_the_event(h: Harness, path: str, expected: Any) -> None:
    add_ec2_rule(h, lambda_target(input_path=path), RuleTarget("q", QUEUE_ARN, input_path=path))

    h.bridge.put_events([ec2_event()])

    assert h.functions.events() == [expected]
    assert h.send.to(QUEUE_ARN) == [(json.dumps(expected), {})]


def test_input_transformer_fills_a_json_template(h: Harness) -> None:
    transformer = {
        "InputPathsMap": {
            "instance": "$.detail.instance-id",
            "state": "$.detail.state",
            "gone": "$.detail.missing",
        },
        "InputTemplate": (
            '{"instance": <instance>, "state": <state>, "rule": <aws.events.rule-name>,'
            ' "summary": "<instance> is <state>", "gone": <gone>}'
        ),
    }
    add_ec2_rule(h, lambda_target(input_transformer=transformer))

    h.bridge.put_events([ec2_event()])

    assert h.functions.events() == [
        {
            "instance": "i-1234567890abcdef0",
            "state": "running",
            "rule": "ec2-state",
            "summary": "i-1234567890abcdef0 is running",
            "gone": None,
        }
    ]


def test_input_transformer_keeps_json_valid_inside_strings(h: Harness) -> None:
    transformer = {
        "InputPathsMap": {"note": "$.detail.note", "detail": "$.detail"},
        "InputTemplate": '{"text": "note: <note>", "raw": "<detail>"}',
    }
    h.bridge.add_rule(
        Rule("notes", {"source": ["app"]}, [lambda_target(input_transformer=transformer)])
    )

    h.bridge.put_events(
        [{"Source": "app", "DetailType": "t", "Detail": '{"note": "say \\"hi\\""}'}]
    )

    assert h.functions.events() == [{"text": 'note: say "hi"', "raw": '{"note": "say \\"hi\\""}'}]


@pytest.mark.parametrize(
    ("template", "body"),
    [
        ('"<instance> is in state <state>"', '"i-1234567890abcdef0 is in state running"'),
        ("Instance <instance> is <state>", "Instance i-1234567890abcdef0 is running"),
        ("<b><instance></b>", "<b>i-1234567890abcdef0</b>"),  # unknown names stay as written
    ],
)
def test_input_transformer_fills_text_templates(h: Harness, template: str, body: str) -> None:
    transformer = {
        "InputPathsMap": {"instance": "$.detail.instance-id", "state": "$.detail.state"},
        "InputTemplate": template,
    }
    add_ec2_rule(h, RuleTarget("topic", TOPIC_ARN, input_transformer=transformer))

    h.bridge.put_events([ec2_event()])

    assert h.send.to(TOPIC_ARN) == [(body, {})]


def test_input_transformer_offers_the_predefined_variables(h: Harness) -> None:
    transformer = {
        "InputTemplate": (
            '{"arn": <aws.events.rule-arn>, "at": <aws.events.event.ingestion-time>,'
            ' "event": <aws.events.event.json>}'
        )
    }
    add_ec2_rule(h, lambda_target(input_transformer=transformer))

    h.bridge.put_events([ec2_event()])

    assert h.functions.events() == [
        {
            "arn": "arn:aws:events:us-east-1:123456789012:rule/ec2-state",
            "at": "2023-11-14T22:13:20Z",
            "event": ec2_event(),
        }
    ]


# --------------------------------------------------------------------------- Lambda async


def test_async_invocations_retry_a_failing_function_twice(h: Harness) -> None:
    h.functions.handlers["on-state-change"] = always_fails
    h.bridge.set_async_config("on-state-change", on_failure_arn=ON_FAILURE_ARN)
    add_ec2_rule(h)

    (event_id,) = h.bridge.put_events([ec2_event()])

    invocations = h.log.invocations(function="on-state-change")
    assert [(i.attempt, i.outcome) for i in invocations] == [(i, "failure") for i in range(3)]
    assert h.functions.events() == [ec2_event()] * 3
    ((body, attributes),) = h.send.to(ON_FAILURE_ARN)
    assert attributes == {}
    assert json.loads(body) == {
        "version": "1.0",
        "timestamp": "2023-11-14T22:13:20.000Z",
        "requestContext": {
            "requestId": "request-1",
            "functionArn": f"{FUNCTION_ARN}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": ec2_event(),
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {"errorMessage": "boom", "errorType": "RuntimeError"},
    }
    (failure,) = h.log.failures(mapping_id="ec2-state")
    assert (failure.source, failure.destination) == ("eventbridge", ON_FAILURE_ARN)
    assert (failure.condition, failure.items) == ("RetriesExhausted", (event_id,))
    assert failure.body == json.loads(body)


@pytest.mark.parametrize(("retries", "invocations"), [(0, 1), (1, 2), (2, 3)])
def test_async_retries_follow_the_function_config(
    h: Harness, retries: int, invocations: int
) -> None:
    h.functions.handlers["on-state-change"] = always_fails
    h.bridge.set_async_config("on-state-change", maximum_retry_attempts=retries)
    add_ec2_rule(h)

    h.bridge.put_events([ec2_event()])

    assert len(h.functions.calls) == invocations
    assert h.send.messages == []  # no on-failure destination: the event is discarded


def test_async_retries_stop_when_the_function_recovers(h: Harness) -> None:
    outcomes = iter([RuntimeError("flaky"), None])

    def flaky(event: Any) -> Any:
        error = next(outcomes)
        if error is not None:
            raise error
        return "done"

    h.functions.handlers["on-state-change"] = flaky
    h.bridge.set_async_config("on-state-change", on_failure_arn=ON_FAILURE_ARN)
    add_ec2_rule(h)

    h.bridge.put_events([ec2_event()])

    invocations = h.log.invocations()
    assert [(i.attempt, i.outcome) for i in invocations] == [(0, "failure"), (1, "success")]
    assert h.send.messages == []
    assert h.log.failures() == []


def test_async_event_age_ends_retries(h: Harness) -> None:
    h = make_harness(async_retry_delay=lambda retry: 60.0 * retry)
    h.functions.handlers["on-state-change"] = always_fails
    h.bridge.set_async_config(
        "on-state-change", maximum_event_age_seconds=120, on_failure_arn=ON_FAILURE_ARN
    )
    add_ec2_rule(h)

    h.bridge.put_events([ec2_event()])

    # Invoked at 0 s and 60 s; the next retry would be at 180 s, past the 120 s age.
    assert [i.at - START for i in h.log.invocations()] == [0.0, 60.0]
    ((body, _),) = h.send.to(ON_FAILURE_ARN)
    context = json.loads(body)["requestContext"]
    assert (context["condition"], context["approximateInvokeCount"]) == ("EventAgeExceeded", 2)
    assert h.log.failures()[0].condition == "EventAgeExceeded"


def test_throttled_async_invocations_do_not_count_as_retries(h: Harness) -> None:
    throttles = iter([True, True, False])

    def throttled_twice(event: Any) -> Any:
        if next(throttles):
            raise InvocationThrottled("on-state-change")
        return "ok"

    h.functions.handlers["on-state-change"] = throttled_twice
    h.bridge.set_async_config("on-state-change", maximum_retry_attempts=0)
    add_ec2_rule(h)

    h.bridge.put_events([ec2_event()])

    assert len(h.functions.calls) == 3
    assert [(i.attempt, i.outcome) for i in h.log.invocations()] == [(0, "success")]


def test_endless_throttling_discards_the_event_as_too_old(h: Harness) -> None:
    def throttled(event: Any) -> Any:
        raise InvocationThrottled("on-state-change")

    h.functions.handlers["on-state-change"] = throttled
    h.bridge.set_async_config("on-state-change", on_failure_arn=ON_FAILURE_ARN)
    add_ec2_rule(h)

    h.bridge.put_events([ec2_event()])

    assert len(h.functions.calls) == ASYNC_THROTTLE_LIMIT
    ((body, _),) = h.send.to(ON_FAILURE_ARN)
    record = json.loads(body)
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in record


def test_function_errors_never_reach_the_rule_dead_letter_queue(h: Harness) -> None:
    h.functions.handlers["on-state-change"] = always_fails
    add_ec2_rule(h, lambda_target(dead_letter_arn=DLQ_ARN))

    h.bridge.put_events([ec2_event()])

    assert len(h.functions.calls) == 3
    assert h.send.to(DLQ_ARN) == []


# --------------------------------------------------------------------------- target errors


@pytest.mark.parametrize("code", ["THROTTLING", "INTERNAL_ERROR", "TIMEOUT"])
def test_retriable_target_errors_are_retried(h: Harness, code: str) -> None:
    add_ec2_rule(h, lambda_target(dead_letter_arn=DLQ_ARN))
    h.bridge.fail_target(FUNCTION_ARN, code, times=3)

    h.bridge.put_events([ec2_event()])

    assert h.functions.events() == [ec2_event()]
    assert h.send.messages == []


def test_exhausted_retries_send_the_original_event_to_the_dlq(h: Harness) -> None:
    transformer = {"InputPathsMap": {"s": "$.detail.state"}, "InputTemplate": '"<s>"'}
    target = RuleTarget(
        "queue",
        QUEUE_ARN,
        input_transformer=transformer,
        max_retry_attempts=2,
        dead_letter_arn=DLQ_ARN,
    )
    add_ec2_rule(h, target)
    h.bridge.fail_target(QUEUE_ARN, "THROTTLING", times=5, error_message="Rate exceeded")

    (event_id,) = h.bridge.put_events([ec2_event()])

    assert h.send.to(QUEUE_ARN) == []
    ((body, attributes),) = h.send.to(DLQ_ARN)
    assert json.loads(body) == ec2_event()  # before the input transformer
    assert attributes == {
        "RULE_ARN": {
            "DataType": "String",
            "StringValue": "arn:aws:events:us-east-1:123456789012:rule/ec2-state",
        },
        "TARGET_ARN": {"DataType": "String", "StringValue": QUEUE_ARN},
        "ERROR_CODE": {"DataType": "String", "StringValue": "THROTTLING"},
        "ERROR_MESSAGE": {"DataType": "String", "StringValue": "Rate exceeded"},
        "EXHAUSTED_RETRY_CONDITION": {"DataType": "String", "StringValue": "MaximumRetryAttempts"},
        "RETRY_ATTEMPTS": {"DataType": "String", "StringValue": "2"},
    }
    (failure,) = h.log.failures()
    assert (failure.source, failure.mapping_id, failure.destination) == (
        "eventbridge",
        "ec2-state",
        DLQ_ARN,
    )
    assert (failure.condition, failure.items, failure.body) == (
        "MaximumRetryAttempts",
        (event_id,),
        ec2_event(),
    )
    # Three attempts used three of the five simulated failures: the next event is retried
    # twice more, then delivered.
    h.bridge.put_events([ec2_event("stopped")])
    assert h.send.to(QUEUE_ARN) == [('"stopped"', {})]


@pytest.mark.parametrize("code", ["NO_PERMISSIONS", "NO_RESOURCE", "INVALID_PARAMETER"])
def test_non_retriable_target_errors_go_straight_to_the_dlq(h: Harness, code: str) -> None:
    add_ec2_rule(h, lambda_target(dead_letter_arn=DLQ_ARN))
    h.bridge.fail_target(FUNCTION_ARN, code)

    h.bridge.put_events([ec2_event()])

    assert h.functions.calls == []
    ((body, attributes),) = h.send.to(DLQ_ARN)
    assert json.loads(body) == ec2_event()
    assert attributes["ERROR_CODE"]["StringValue"] == code
    assert attributes["RETRY_ATTEMPTS"]["StringValue"] == "0"
    assert attributes["TARGET_ARN"]["StringValue"] == FUNCTION_ARN
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes
    assert h.log.failures()[0].condition == code

    h.bridge.put_events([ec2_event()])
    assert len(h.functions.calls) == 1  # the failure was used up


def test_retries_made_before_a_non_retriable_error_are_counted(h: Harness) -> None:
    add_ec2_rule(h, lambda_target(dead_letter_arn=DLQ_ARN))
    h.bridge.fail_target(FUNCTION_ARN, "THROTTLING", times=2)
    h.bridge.fail_target(FUNCTION_ARN, "NO_PERMISSIONS")

    h.bridge.put_events([ec2_event()])

    ((_, attributes),) = h.send.to(DLQ_ARN)
    assert attributes["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
    assert attributes["RETRY_ATTEMPTS"]["StringValue"] == "2"


def test_without_a_dlq_a_failed_event_is_dropped(h: Harness) -> None:
    add_ec2_rule(h, lambda_target(max_retry_attempts=0))
    h.bridge.fail_target(FUNCTION_ARN, "THROTTLING")

    h.bridge.put_events([ec2_event()])

    assert h.functions.calls == []
    assert h.send.messages == []
    assert h.log.entries == []


def test_maximum_event_age_ends_retries_on_the_clock() -> None:
    h = make_harness(retry_delay=lambda retry: 30.0)
    add_ec2_rule(h, lambda_target(max_event_age_seconds=60, dead_letter_arn=DLQ_ARN))
    h.bridge.fail_target(FUNCTION_ARN, "TIMEOUT", times=10)

    h.bridge.put_events([ec2_event()])

    # Attempts at 0, 30 and 60 s; a retry at 90 s would exceed the 60 s age.
    assert h.clock.now() == START + 90
    ((_, attributes),) = h.send.to(DLQ_ARN)
    assert attributes["EXHAUSTED_RETRY_CONDITION"]["StringValue"] == "MaximumEventAgeInSeconds"
    assert attributes["RETRY_ATTEMPTS"]["StringValue"] == "2"
    assert h.functions.calls == []


def test_delivery_succeeds_when_retries_fit_in_the_event_age() -> None:
    h = make_harness(retry_delay=lambda retry: 30.0)
    add_ec2_rule(h, lambda_target(max_event_age_seconds=60, dead_letter_arn=DLQ_ARN))
    h.bridge.fail_target(FUNCTION_ARN, "TIMEOUT", times=2)

    h.bridge.put_events([ec2_event()])

    assert h.functions.events() == [ec2_event()]
    assert h.send.messages == []


def test_rule_arns_name_custom_buses(h: Harness) -> None:
    assert h.bridge.rule_arn(Rule("r")) == "arn:aws:events:us-east-1:123456789012:rule/r"
    assert (
        h.bridge.rule_arn(Rule("r", event_bus="orders"))
        == "arn:aws:events:us-east-1:123456789012:rule/orders/r"
    )


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("settings", "accepted"),
    [
        ({"max_retry_attempts": 0}, True),
        ({"max_retry_attempts": 185}, True),
        ({"max_retry_attempts": -1}, False),
        ({"max_retry_attempts": 186}, False),
        ({"max_event_age_seconds": 60}, True),
        ({"max_event_age_seconds": 86_400}, True),
        ({"max_event_age_seconds": 59}, False),
        ({"max_event_age_seconds": 86_401}, False),
    ],
)
def test_target_retry_policy_ranges(h: Harness, settings: dict[str, Any], accepted: bool) -> None:
    rule = Rule("r", {"source": ["x"]}, [lambda_target(**settings)])
    if accepted:
        h.bridge.add_rule(rule)
        assert h.bridge.rules == [rule]
    else:
        with pytest.raises(ValueError, match="outside"):
            h.bridge.add_rule(rule)
        assert h.bridge.rules == []


@pytest.mark.parametrize(
    ("settings", "accepted"),
    [
        ({"maximum_retry_attempts": 0}, True),
        ({"maximum_retry_attempts": 2}, True),
        ({"maximum_retry_attempts": 3}, False),
        ({"maximum_retry_attempts": -1}, False),
        ({"maximum_event_age_seconds": 60}, True),
        ({"maximum_event_age_seconds": 21_600}, True),
        ({"maximum_event_age_seconds": 59}, False),
        ({"maximum_event_age_seconds": 21_601}, False),
    ],
)
def test_async_config_ranges(h: Harness, settings: dict[str, Any], accepted: bool) -> None:
    if accepted:
        h.bridge.set_async_config("fn", **settings)
    else:
        with pytest.raises(ValueError, match="outside"):
            h.bridge.set_async_config("fn", **settings)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (lambda_target(input="{}", input_path="$"), "exclusive"),
        (lambda_target(input="{not json"), "not valid JSON"),
        (lambda_target(input_path="detail"), "must start with"),
        (lambda_target(input_path="$.detail[x]"), "cannot read"),
        (lambda_target(input_transformer={"InputPathsMap": {}}), "InputTemplate"),
        (
            lambda_target(
                input_transformer={"InputPathsMap": {"aws.x": "$"}, "InputTemplate": "<aws.x>"}
            ),
            "reserved",
        ),
        (
            lambda_target(input_transformer={"InputPathsMap": {"a b": "$"}, "InputTemplate": "x"}),
            "not a valid InputPathsMap name",
        ),
        (RuleTarget("bucket", "arn:aws:s3:::bucket"), "not a Lambda, SQS or SNS ARN"),
    ],
)
def test_invalid_targets_are_refused(h: Harness, target: RuleTarget, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        h.bridge.add_rule(Rule("r", {"source": ["x"]}, [target]))


def test_rules_have_at_most_five_targets_with_unique_ids(h: Harness) -> None:
    targets = [RuleTarget(f"t{i}", QUEUE_ARN) for i in range(6)]
    with pytest.raises(ValueError, match="at most 5"):
        h.bridge.add_rule(Rule("r", {"source": ["x"]}, targets))
    with pytest.raises(ValueError, match="duplicate target ids"):
        h.bridge.add_rule(Rule("r", {"source": ["x"]}, [targets[0], targets[0]]))


def test_invalid_event_patterns_are_refused(h: Harness) -> None:
    with pytest.raises(FilterError, match="must be an array"):
        h.bridge.add_rule(Rule("r", {"source": "aws.ec2"}, [lambda_target()]))


def test_adding_a_rule_again_replaces_it(h: Harness) -> None:
    add_ec2_rule(h)
    h.bridge.add_rule(Rule("ec2-state", {"source": ["aws.s3"]}, [lambda_target()]))

    h.bridge.put_events([ec2_event()])

    assert len(h.bridge.rules) == 1
    assert h.functions.calls == []


def test_messages_need_a_send_function() -> None:
    bridge = EventBridge(invoke=FakeFunctions(), log=ActivityLog(), clock=Clock(START))
    with pytest.raises(ValueError, match="needs EventBridge"):
        bridge.add_rule(Rule("r", {"source": ["x"]}, [RuleTarget("q", QUEUE_ARN)]))
    with pytest.raises(ValueError, match="needs EventBridge"):
        bridge.add_rule(Rule("r", {"source": ["x"]}, [lambda_target(dead_letter_arn=DLQ_ARN)]))
    with pytest.raises(ValueError, match="needs EventBridge"):
        bridge.set_async_config("fn", on_failure_arn=ON_FAILURE_ARN)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"error_code": "TEAPOT"}, "unknown EventBridge error code"), ({"times": 0}, "at least 1")],
)
def test_fail_target_checks_its_arguments(
    h: Harness, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        h.bridge.fail_target(FUNCTION_ARN, **arguments)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"Source": "a", "DetailType": "b", "Detail": "{}"}] * 11, "at most 10"),
        ([{"Source": "a", "DetailType": "b"}], "lacks Detail"),
        ([{"Detail": "{}"}], "lacks Source, DetailType"),
        ([{"Source": "a", "DetailType": "b", "Detail": "{oops"}], "not valid JSON"),
        ([{"Source": "a", "DetailType": "b", "Detail": "[1]"}], "must be a JSON object"),
        ([{"detail-type": "b"}], "has no source"),
        ([{"Source": "a", "DetailType": "b", "Detail": "{}", "Time": [1]}], "Time must be"),
        # About 2 KB nested past the parser's depth: as malformed as any Detail.
        (
            [
                {
                    "Source": "a",
                    "DetailType": "b",
                    "Detail": '{"a": ' + "[" * 1100 + "]" * 1100 + "}",
                }
            ],
            "not valid JSON",
        ),
        ([{"detail-type": "b", "source": "a", "detail": deeply_nested(1100)}], "nests deeper"),
        ([{"Source": "a", "DetailType": "b", "Detail": deeply_nested(1100)}], "nests too deeply"),
    ],
)
def test_invalid_entries_deliver_nothing(
    h: Harness, entries: list[dict[str, Any]], message: str
) -> None:
    h.bridge.add_rule(Rule("everything", {"source": ["a"]}, [lambda_target()]))
    good = {"Source": "a", "DetailType": "b", "Detail": "{}"}
    with pytest.raises(ValueError, match=message):
        h.bridge.put_events([good, *entries])
    assert h.functions.calls == []
