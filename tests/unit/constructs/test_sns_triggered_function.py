"""SnsTriggeredFunction: a topic's messages invoke a function; nothing is lost on the way."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion

from lambda_blueprints import SnsTriggeredFunction
from tests.conftest import cfn_lint_template, nag_findings, normalize_template

NewStack = Callable[..., Stack]


@pytest.fixture
def code(tmp_path: Path) -> str:
    folder = tmp_path / "alerts"
    folder.mkdir()
    (folder / "handler.py").write_text("def main(event, context):\n    return None\n")
    return str(folder)


def only(stack: Stack, kind: str) -> dict[str, Any]:
    found = Template.from_stack(stack).find_resources(kind)
    assert len(found) == 1, f"{len(found)} {kind}"
    return next(iter(found.values()))  # type: ignore[no-any-return]


def test_the_function_is_subscribed_with_a_dead_letter_queue(
    new_stack: NewStack, code: str
) -> None:
    stack = new_stack()
    alerts = SnsTriggeredFunction(stack, "Alerts", code=code, handler="handler.main")
    resolve = stack.resolve

    subscription = only(stack, "AWS::SNS::Subscription")["Properties"]
    assert subscription["Protocol"] == "lambda"
    assert subscription["Endpoint"] == resolve(alerts.function.function_arn)
    assert subscription["TopicArn"] == resolve(alerts.topic.topic_arn)
    assert subscription["RedrivePolicy"] == {
        "deadLetterTargetArn": resolve(alerts.dead_letter_queue.queue_arn)
    }
    permission = only(stack, "AWS::Lambda::Permission")["Properties"]
    assert permission["Principal"] == "sns.amazonaws.com"
    assert permission["SourceArn"] == resolve(alerts.topic.topic_arn)


def test_failed_invocations_go_to_the_failure_queue_after_bounded_retries(
    new_stack: NewStack, code: str
) -> None:
    stack = new_stack()
    alerts = SnsTriggeredFunction(
        stack,
        "Alerts",
        code=code,
        handler="handler.main",
        retry_attempts=1,
        max_event_age=Duration.minutes(30),
    )

    config = only(stack, "AWS::Lambda::EventInvokeConfig")["Properties"]
    assert config["MaximumRetryAttempts"] == 1
    assert config["MaximumEventAgeInSeconds"] == 1800
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == stack.resolve(
        alerts.failure_queue.queue_arn
    )
    function = only(stack, "AWS::Lambda::Function")["Properties"]
    assert function["Environment"]["Variables"]["FAILURE_QUEUE_URL"] == stack.resolve(
        alerts.failure_queue.queue_url
    )
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    ]
    sends = [s for s in policy if s["Action"] == "sqs:SendMessage"]
    assert [s["Resource"] for s in sends] == [stack.resolve(alerts.failure_queue.queue_arn)]


def test_the_topic_and_queues_are_encrypted_and_sns_may_use_the_key_for_this_topic_only(
    new_stack: NewStack, code: str
) -> None:
    stack = new_stack()
    alerts = SnsTriggeredFunction(stack, "Alerts", code=code, handler="handler.main")

    topic = only(stack, "AWS::SNS::Topic")["Properties"]
    keys = Template.from_stack(stack).find_resources("AWS::KMS::Key")
    assert len(keys) == 2
    assert all(k["Properties"]["EnableKeyRotation"] is True for k in keys.values())
    (topic_key,) = [k for k in keys if k.startswith("AlertsTopicKey")]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [topic_key, "Arn"]}
    key = keys[stack.resolve(alerts.queue_key.key_id)["Ref"]]
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (sns_statement,) = [s for s in statements if s["Principal"] == {"Service": "sns.amazonaws.com"}]
    assert sns_statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": stack.resolve(alerts.topic.topic_arn)}
    }
    for queue in Template.from_stack(stack).find_resources("AWS::SQS::Queue").values():
        assert queue["Properties"]["KmsMasterKeyId"] == stack.resolve(alerts.queue_key.key_arn)


def test_an_existing_topic_is_subscribed_with_a_filter_policy(
    new_stack: NewStack, code: str
) -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "Sensors", enforce_ssl=True)
    SnsTriggeredFunction(
        stack,
        "Alerts",
        code=code,
        handler="handler.main",
        topic=topic,
        filter_policy={"type": ["panic", "motion"], "zone": [{"prefix": "north-"}]},
        filter_policy_scope="MessageBody",
    )

    subscription = only(stack, "AWS::SNS::Subscription")["Properties"]
    assert subscription["TopicArn"] == stack.resolve(topic.topic_arn)
    assert subscription["FilterPolicy"] == {
        "type": ["panic", "motion"],
        "zone": [{"prefix": "north-"}],
    }
    assert subscription["FilterPolicyScope"] == "MessageBody"


def test_alarms_watch_the_function_and_both_queues(new_stack: NewStack, code: str) -> None:
    stack = new_stack()
    alerts = SnsTriggeredFunction(stack, "Alerts", code=code, handler="handler.main")

    assert set(alerts.alarms) == {
        "errors",
        "throttles",
        "dead_letter_queue_depth",
        "failure_queue_depth",
    }
    assert alerts.metric_failure_queue_depth().metric_name == ("ApproximateNumberOfMessagesVisible")
    quiet = SnsTriggeredFunction(
        new_stack(), "Alerts", code=code, handler="handler.main", alarms=False
    )
    assert quiet.alarms == {}


def test_nag_and_cfn_lint_clean(new_stack: NewStack, code: str, tmp_path: Path) -> None:
    stack = new_stack()
    SnsTriggeredFunction(stack, "Alerts", code=code, handler="handler.main")

    assert nag_findings(stack) == []
    assert cfn_lint_template(Template.from_stack(stack).to_json(), tmp_path) == []


def test_snapshot(new_stack: NewStack, code: str, snapshot_json: SnapshotAssertion) -> None:
    stack = new_stack()
    SnsTriggeredFunction(stack, "Alerts", code=code, handler="handler.main")

    assert normalize_template(Template.from_stack(stack).to_json()) == snapshot_json


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"retry_attempts": 3}, "retry_attempts"),
        ({"max_event_age": Duration.seconds(30)}, "max_event_age"),
        ({"max_event_age": Duration.hours(7)}, "max_event_age"),
        ({"filter_policy_scope": "Body"}, "filter_policy_scope"),
        ({"filter_policy": {}}, "empty policy"),
        ({"filter_policy": {"type": []}}, "empty list"),
        ({"filter_policy": {"type": "panic"}}, "list of values"),
        ({"filter_policy": {f"k{i}": ["v"] for i in range(6)}}, "6 keys"),
        (
            {"filter_policy": {"a": list(range(10)), "b": list(range(10)), "c": ["x", "y"]}},
            "200 combinations",
        ),
        ({"filter_policy": {"zone": {"name": ["n"]}}}, "MessageBody"),
        ({"memory_size": 100}, "memory_size"),
    ],
)
def test_invalid_props_fail_naming_the_prop(
    new_stack: NewStack, code: str, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SnsTriggeredFunction(new_stack(), "Alerts", code=code, handler="handler.main", **props)


def test_nested_body_policies_count_their_leaves(new_stack: NewStack, code: str) -> None:
    stack = new_stack()
    SnsTriggeredFunction(
        stack,
        "Alerts",
        code=code,
        handler="handler.main",
        filter_policy={"sensor": {"zone": ["north", "south"], "kind": ["door"]}},
        filter_policy_scope="MessageBody",
    )
    subscription = only(stack, "AWS::SNS::Subscription")["Properties"]
    assert json.loads(json.dumps(subscription["FilterPolicy"]))["sensor"]["kind"] == ["door"]
