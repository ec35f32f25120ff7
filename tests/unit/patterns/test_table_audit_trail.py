"""TableAuditTrail: template, grants, validation, nag."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from syrupy.assertion import SnapshotAssertion

from lambda_blueprints import TableAuditTrail
from tests.conftest import normalize_template

NewStack = Callable[..., Stack]


def users_table(stack: Stack, **props: Any) -> dynamodb.Table:
    return dynamodb.Table(
        stack,
        "Users",
        partition_key=dynamodb.Attribute(name="userId", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        **props,
    )


def nag_findings(stack: Stack) -> list[str]:
    findings = []
    for pack in (AwsSolutionsChecks(), ServerlessChecks()):
        findings += [v.rule_name for v in pack.validate_scope(stack).violations]
    return findings


def test_audit_table_has_string_keys_ttl_and_recovery(new_stack: NewStack) -> None:
    stack = new_stack()
    TableAuditTrail(stack, "Audit", table=users_table(stack))

    Template.from_stack(stack).has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": Match.object_like(
                {
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "SSESpecification": {"SSEEnabled": True},
                    "StreamSpecification": Match.absent(),
                }
            ),
            "DeletionPolicy": "Retain",
        },
    )


def test_function_may_only_put_audit_items(new_stack: NewStack) -> None:
    stack = new_stack()
    trail = TableAuditTrail(stack, "Audit", table=users_table(stack))
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    (policy,) = [p for name, p in policies.items() if "ListStreams" not in name]
    audit_id = stack.get_logical_id(trail.audit_table.node.default_child)  # type: ignore[arg-type]
    on_audit_table = [
        s["Action"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Resource"] == {"Fn::GetAtt": [audit_id, "Arn"]}
    ]

    assert on_audit_table == ["dynamodb:PutItem"]


def test_function_environment_names_the_audit_table_and_retention(new_stack: NewStack) -> None:
    stack = new_stack()
    TableAuditTrail(stack, "Audit", table=users_table(stack), audit_retention=Duration.days(90))

    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "lambda_blueprints.runtime.audit_trail.handler.lambda_handler",
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "AUDIT_TABLE_NAME": {"Ref": Match.string_like_regexp("AuditAuditTable")},
                        "AUDIT_RETENTION_DAYS": "90",
                        "FAILURE_QUEUE_URL": Match.any_value(),
                    }
                )
            },
        },
    )


def test_existing_audit_table_is_used_and_readers_can_be_granted(new_stack: NewStack) -> None:
    stack = new_stack()
    audit = dynamodb.Table.from_table_name(stack, "Existing", "audit-history")
    trail = TableAuditTrail(stack, "Audit", table=users_table(stack), audit_table=audit)
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    trail.grant_read_audit(reader)
    template = Template.from_stack(stack)

    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": Match.string_like_regexp("Reader")}],
            "PolicyDocument": {
                "Statement": [Match.object_like({"Action": Match.array_with(["dynamodb:Query"])})]
            },
        },
    )


def test_exposes_the_trigger_resources(new_stack: NewStack) -> None:
    stack = new_stack()
    trail = TableAuditTrail(stack, "Audit", table=users_table(stack))

    assert trail.function is trail.trigger.function
    assert trail.dead_letter_queue is trail.trigger.dead_letter_queue
    assert set(trail.alarms) == {"errors", "throttles", "iterator_age", "dead_letter_queue_depth"}


def test_snapshot(new_stack: NewStack, snapshot_json: SnapshotAssertion) -> None:
    stack = new_stack()
    TableAuditTrail(stack, "Audit", table=users_table(stack), audit_retention=Duration.days(30))

    assert normalize_template(Template.from_stack(stack).to_json()) == snapshot_json


def test_nag_clean(new_stack: NewStack) -> None:
    stack = new_stack()
    TableAuditTrail(stack, "Audit", table=users_table(stack))
    assert nag_findings(stack) == []


def test_nag_clean_with_a_customer_managed_key(new_stack: NewStack) -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    TableAuditTrail(
        stack,
        "Audit",
        table=users_table(
            stack, encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED, encryption_key=key
        ),
        encryption_key=key,
    )
    assert nag_findings(stack) == []


def test_fails_when_the_audit_table_is_the_audited_table(new_stack: NewStack) -> None:
    stack = new_stack()
    users = users_table(stack)
    with pytest.raises(ValueError, match=r"audit_table is the audited table"):
        TableAuditTrail(stack, "Audit", table=users, audit_table=users)


@pytest.mark.parametrize(
    ("retention", "message"),
    [
        (Duration.hours(23), r"audit_retention=23 hours .*86,400 to 3,153,600,000"),
        (Duration.days(36_501), r"audit_retention=36501 days"),
        (Duration.hours(36), r"audit_retention=1 day 12 hours is not a whole number of days"),
    ],
)
def test_fails_when_audit_retention_is_out_of_range(
    new_stack: NewStack, retention: Duration, message: str
) -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=message):
        TableAuditTrail(stack, "Audit", table=users_table(stack), audit_retention=retention)


def test_fails_when_trigger_props_are_out_of_range(new_stack: NewStack) -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=r"batch_size=0 is out of range"):
        TableAuditTrail(stack, "Audit", table=users_table(stack), batch_size=0)


# --- metrics and the alarms switch --------------------------------------------------------

#: Alarm role (and metric method), and what the alarm watches: namespace, name, statistic.
TRAIL_METRICS = [
    ("errors", "AWS/Lambda", "Errors", "Sum"),
    ("throttles", "AWS/Lambda", "Throttles", "Sum"),
    ("iterator_age", "AWS/Lambda", "IteratorAge", "Maximum"),
    ("dead_letter_queue_depth", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum"),
]


def test_the_metric_methods_give_the_metrics_the_alarms_watch(new_stack: NewStack) -> None:
    stack = new_stack()
    trail = TableAuditTrail(stack, "Audit", table=users_table(stack))
    alarms = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")

    assert {role for role, *_ in TRAIL_METRICS} == set(trail.alarms)
    for role, namespace, name, statistic in TRAIL_METRICS:
        metric = getattr(trail, f"metric_{role}")()
        watched = alarms[stack.get_logical_id(trail.alarms[role].node.default_child)]  # type: ignore[arg-type]
        props = watched["Properties"]
        dimensions = {d["Name"]: d["Value"] for d in props["Dimensions"]}
        assert (props["Namespace"], props["MetricName"], props["Statistic"], props["Period"]) == (
            namespace,
            name,
            statistic,
            60,
        ), role
        assert (metric.namespace, metric.metric_name, metric.statistic) == (
            namespace,
            name,
            statistic,
        ), role
        assert metric.period.to_seconds() == 60, role
        assert stack.resolve(metric.dimensions) == dimensions, role
        assert props.get("Unit") is None and metric.unit is None, role
        other = getattr(trail, f"metric_{role}")(period=Duration.minutes(5), statistic="Average")
        assert (other.period.to_seconds(), other.statistic) == (300, "Average"), role


def test_alarms_can_be_left_out(new_stack: NewStack) -> None:
    stack = new_stack()
    trail = TableAuditTrail(stack, "Audit", table=users_table(stack), alarms=False)

    Template.from_stack(stack).resource_count_is("AWS::CloudWatch::Alarm", 0)
    assert trail.alarms == trail.trigger.alarms == {}
    for role, namespace, name, _ in TRAIL_METRICS:
        metric = getattr(trail, f"metric_{role}")()
        assert (metric.namespace, metric.metric_name) == (namespace, name), role
