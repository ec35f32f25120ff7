"""AlarmTopic: an encrypted topic the account's alarms can publish to, and nothing else can."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from syrupy.assertion import SnapshotAssertion

from lambda_blueprints import AlarmTopic
from tests.conftest import cfn_lint_template, normalize_template

NewStack = Callable[..., Stack]

ALARMS_OF_THIS_ACCOUNT = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":cloudwatch:",
            {"Ref": "AWS::Region"},
            ":",
            {"Ref": "AWS::AccountId"},
            ":alarm:*",
        ],
    ]
}
ON_BEHALF_OF_THIS_ACCOUNT = {
    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    "ArnLike": {"aws:SourceArn": ALARMS_OF_THIS_ACCOUNT},
}


def statements_for(template: Template, resource_type: str, principal: str) -> list[dict[str, Any]]:
    found = []
    for resource in template.find_resources(resource_type).values():
        document = resource["Properties"].get("KeyPolicy") or resource["Properties"].get(
            "PolicyDocument"
        )
        for statement in document["Statement"]:
            if statement.get("Principal") == {"Service": principal}:
                found.append(statement)
    return found


def test_the_topic_is_encrypted_with_its_own_rotating_key(new_stack: NewStack) -> None:
    stack = new_stack()
    alarm_topic = AlarmTopic(stack, "Alarms", display_name="Orders alarms")
    template = Template.from_stack(stack)

    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Retain"})
    key_id = stack.resolve(alarm_topic.encryption_key.node.default_child.logical_id)  # type: ignore[union-attr]
    template.has_resource_properties(
        "AWS::SNS::Topic",
        {"DisplayName": "Orders alarms", "KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}},
    )


def test_cloudwatch_may_use_the_key_only_for_alarms_of_this_account(new_stack: NewStack) -> None:
    stack = new_stack()
    AlarmTopic(stack, "Alarms")
    template = Template.from_stack(stack)

    (statement,) = statements_for(template, "AWS::KMS::Key", "cloudwatch.amazonaws.com")
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Resource"] == "*"
    assert statement["Condition"] == ON_BEHALF_OF_THIS_ACCOUNT


def test_cloudwatch_may_publish_only_for_alarms_of_this_account_and_only_over_tls(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    alarm_topic = AlarmTopic(stack, "Alarms")
    template = Template.from_stack(stack)

    (statement,) = statements_for(template, "AWS::SNS::TopicPolicy", "cloudwatch.amazonaws.com")
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sns:Publish"
    assert statement["Resource"] == stack.resolve(alarm_topic.topic_arn)
    assert statement["Condition"] == ON_BEHALF_OF_THIS_ACCOUNT
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_a_given_key_gets_the_cloudwatch_statement_and_no_key_is_created(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    key = kms.Key(stack, "MyKey", enable_key_rotation=True)
    AlarmTopic(stack, "Alarms", encryption_key=key)
    template = Template.from_stack(stack)

    template.resource_count_is("AWS::KMS::Key", 1)
    assert statements_for(template, "AWS::KMS::Key", "cloudwatch.amazonaws.com")


def test_key_removal_policy_applies_to_the_created_key(new_stack: NewStack) -> None:
    stack = new_stack()
    AlarmTopic(stack, "Alarms", key_removal_policy=RemovalPolicy.DESTROY)
    Template.from_stack(stack).has_resource("AWS::KMS::Key", {"DeletionPolicy": "Delete"})


def test_fails_with_a_type_error_when_the_key_is_not_a_key(new_stack: NewStack) -> None:
    with pytest.raises(TypeError, match=r"encryption_key='alias/aws/sns' is a str, not a IKey"):
        AlarmTopic(new_stack(), "Alarms", encryption_key="alias/aws/sns")  # type: ignore[arg-type]


def test_alarms_can_send_to_it(new_stack: NewStack) -> None:
    stack = new_stack()
    alarm_topic = AlarmTopic(stack, "Alarms")
    alarm = cloudwatch.Alarm(
        stack,
        "Alarm",
        metric=cloudwatch.Metric(namespace="N", metric_name="M", period=Duration.minutes(1)),
        threshold=1,
        evaluation_periods=1,
    )
    alarm.add_alarm_action(actions.SnsAction(alarm_topic.topic))
    Template.from_stack(stack).has_resource_properties(
        "AWS::CloudWatch::Alarm", {"AlarmActions": [{"Ref": Match.string_like_regexp("Topic")}]}
    )


def test_nag_and_cfn_lint_clean(new_stack: NewStack, tmp_path: Path) -> None:
    stack = new_stack()
    AlarmTopic(stack, "Alarms")
    findings = [
        (v.rule_name, v.severity)
        for pack in (AwsSolutionsChecks(), ServerlessChecks())
        for v in pack.validate_scope(stack).violations
    ]
    assert findings == []
    assert cfn_lint_template(dict(Template.from_stack(stack).to_json()), tmp_path) == []


def test_snapshot(new_stack: NewStack, snapshot_json: SnapshotAssertion) -> None:
    stack = new_stack()
    AlarmTopic(stack, "Alarms")
    assert normalize_template(dict(Template.from_stack(stack).to_json())) == snapshot_json
