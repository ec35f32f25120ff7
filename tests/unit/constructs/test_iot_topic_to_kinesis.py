"""IotTopicToKinesis: rule, role, error bucket, alarms, grants, validation and nag."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_iot as iot
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from syrupy.assertion import SnapshotAssertion

from lambda_blueprints import IotTopicToKinesis, KinesisFanOut
from lambda_blueprints.constructs.iot_topic_to_kinesis import topic_matches
from lambda_blueprints.testing import topic_matches as local_topic_matches
from tests.conftest import cfn_lint_template, normalize_template
from tests.testing.test_mqtt_topics import MQTT_CASES

NewStack = Callable[..., Stack]
TOPIC = "alleycat-publish"


def managed_stream(stack: Stack) -> kinesis.Stream:
    return kinesis.Stream(
        stack, "Stream", shard_count=1, encryption=kinesis.StreamEncryption.MANAGED
    )


def ingest(stack: Stack, **props: Any) -> IotTopicToKinesis:
    if "stream" not in props:
        props["stream"] = managed_stream(stack)
    props.setdefault("topic_filter", TOPIC)
    return IotTopicToKinesis(stack, "Ingest", **props)


def policy_statements(template: Template) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::IAM::Policy")
    assert len(policies) == 1
    statements: list[dict[str, Any]] = next(iter(policies.values()))["Properties"][
        "PolicyDocument"
    ]["Statement"]
    return statements


def test_rule_puts_every_message_of_the_topic_into_the_stream(new_stack: NewStack) -> None:
    stack = new_stack()
    construct = ingest(stack)
    template = Template.from_stack(stack)

    template.has_resource_properties(
        "AWS::IoT::TopicRule",
        {
            "RuleName": construct.rule_name,
            "TopicRulePayload": {
                "Sql": "SELECT * FROM 'alleycat-publish'",
                "AwsIotSqlVersion": "2016-03-23",
                "RuleDisabled": False,
                "Actions": [
                    {
                        "Kinesis": {
                            "StreamName": {"Ref": Match.string_like_regexp("^Stream")},
                            "PartitionKey": "${newuuid()}",
                            "RoleArn": {
                                "Fn::GetAtt": [Match.string_like_regexp("^IngestRole"), "Arn"]
                            },
                        }
                    }
                ],
                "ErrorAction": {
                    "S3": {
                        "BucketName": {"Ref": Match.string_like_regexp("^IngestErrorBucket")},
                        "Key": "${topic()}/${timestamp()}-${newuuid()}.json",
                        "RoleArn": {"Fn::GetAtt": [Match.string_like_regexp("^IngestRole"), "Arn"]},
                    }
                },
            },
        },
    )
    assert construct.rule_name == "TestStack_Ingest_8E20C486"
    assert construct.topic_filter == TOPIC


def test_rule_takes_the_given_sql_key_name_and_state(new_stack: NewStack) -> None:
    stack = new_stack()
    ingest(
        stack,
        topic_filter="bikes/+/telemetry",
        sql="SELECT *, topic(2) AS racerId FROM 'bikes/+/telemetry' WHERE cadence > 0",
        sql_version="2015-10-08",
        partition_key="${racerId}",
        rule_name="alleycatIngest",
        description="Bike telemetry into the race stream",
        enabled=False,
    )

    Template.from_stack(stack).has_resource_properties(
        "AWS::IoT::TopicRule",
        {
            "RuleName": "alleycatIngest",
            "TopicRulePayload": Match.object_like(
                {
                    "Sql": "SELECT *, topic(2) AS racerId FROM 'bikes/+/telemetry' "
                    "WHERE cadence > 0",
                    "AwsIotSqlVersion": "2015-10-08",
                    "Description": "Bike telemetry into the race stream",
                    "RuleDisabled": True,
                    "Actions": [{"Kinesis": Match.object_like({"PartitionKey": "${racerId}"})}],
                }
            ),
        },
    )


def test_role_is_assumable_by_this_rule_of_this_account_only(new_stack: NewStack) -> None:
    stack = new_stack()
    ingest(stack, rule_name="alleycatIngest")

    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "iot.amazonaws.com"},
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                            "ArnLike": {
                                "aws:SourceArn": {
                                    "Fn::Join": [
                                        "",
                                        [
                                            "arn:",
                                            {"Ref": "AWS::Partition"},
                                            ":iot:",
                                            {"Ref": "AWS::Region"},
                                            ":",
                                            {"Ref": "AWS::AccountId"},
                                            ":rule/alleycatIngest",
                                        ],
                                    ]
                                }
                            },
                        },
                    }
                ],
                "Version": "2012-10-17",
            },
            "ManagedPolicyArns": Match.absent(),
        },
    )


def test_role_may_only_put_records_and_keep_failed_messages(new_stack: NewStack) -> None:
    stack = new_stack()
    ingest(stack)
    template = Template.from_stack(stack)
    stream_id = next(iter(template.find_resources("AWS::Kinesis::Stream")))
    bucket_id = next(iter(template.find_resources("AWS::S3::Bucket")))

    assert policy_statements(template) == [
        {
            "Action": "kinesis:PutRecord",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [stream_id, "Arn"]},
        },
        {
            "Action": "s3:PutObject",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/*"]]},
        },
    ]


def test_error_bucket_is_private_encrypted_tls_only_and_retained(new_stack: NewStack) -> None:
    stack = new_stack()
    ingest(stack)
    template = Template.from_stack(stack)

    template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "BucketKeyEnabled": False,
                            "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                        }
                    ]
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Action": "s3:*",
                            "Effect": "Deny",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    )
                ],
                "Version": "2012-10-17",
            }
        },
    )


def test_alarms_sum_action_and_error_action_failures_over_every_action_type(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "Alarms", enforce_ssl=True)
    construct = ingest(stack, rule_name="alleycatIngest", alarm_topic=topic)
    template = Template.from_stack(stack)
    rule_id = stack.get_logical_id(construct.rule)

    assert set(construct.alarms) == {"action_failures", "error_action_failures"}
    template.resource_count_is("AWS::CloudWatch::Alarm", 2)
    for metric in ("Failure", "ErrorActionFailure"):
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                # A Metrics Insights query, not one dimension set: AWS publishes these
                # metrics per RuleName and ActionType.
                "Metrics": [
                    {
                        "Expression": {
                            "Fn::Join": [
                                "",
                                [
                                    f'SELECT SUM({metric}) FROM "AWS/IoT" WHERE RuleName = \'',  # noqa: S608
                                    {"Ref": rule_id},
                                    "'",
                                ],
                            ]
                        },
                        "Id": "expr_1",
                        "Period": 60,
                        "ReturnData": True,
                    }
                ],
                "MetricName": Match.absent(),
                "Dimensions": Match.absent(),
                "Threshold": 1,
                "EvaluationPeriods": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": Match.string_like_regexp("^Alarms")}],
                "OKActions": [{"Ref": Match.string_like_regexp("^Alarms")}],
            },
        )
    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())


def test_lint_clean(new_stack: NewStack, tmp_path: Path) -> None:
    stack = new_stack()
    race = KinesisFanOut(stack, "Race", shard_count=1)
    IotTopicToKinesis(stack, "Ingest", stream=race.stream, topic_filter=TOPIC)
    assert cfn_lint_template(Template.from_stack(stack).to_json(), tmp_path) == []


def test_customer_managed_keys_grant_generate_data_key(new_stack: NewStack) -> None:
    stack = new_stack()
    stream_key = kms.Key(stack, "StreamKey", enable_key_rotation=True)
    bucket_key = kms.Key(stack, "BucketKey", enable_key_rotation=True)
    stream = kinesis.Stream(
        stack,
        "Stream",
        shard_count=1,
        encryption=kinesis.StreamEncryption.KMS,
        encryption_key=stream_key,
    )
    ingest(stack, stream=stream, encryption_key=bucket_key)
    template = Template.from_stack(stack)
    stream_key_id = stack.get_logical_id(stream_key.node.default_child)  # type: ignore[arg-type]
    bucket_key_id = stack.get_logical_id(bucket_key.node.default_child)  # type: ignore[arg-type]

    # The two grants share one statement once the policy is minimized.
    assert policy_statements(template)[2:] == [
        {
            "Action": "kms:GenerateDataKey",
            "Effect": "Allow",
            "Resource": [
                {"Fn::GetAtt": [bucket_key_id, "Arn"]},
                {"Fn::GetAtt": [stream_key_id, "Arn"]},
            ],
        }
    ]
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "BucketKeyEnabled": True,
                        "ServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": {"Fn::GetAtt": [bucket_key_id, "Arn"]},
                        },
                    }
                ]
            }
        },
    )


def test_a_given_error_bucket_is_used_with_its_own_key(new_stack: NewStack) -> None:
    stack = new_stack()
    key = kms.Key(stack, "ArchiveKey", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Archive", encryption=s3.BucketEncryption.KMS, encryption_key=key)
    construct = ingest(stack, error_bucket=bucket)
    template = Template.from_stack(stack)
    bucket_id = stack.get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
    key_id = stack.get_logical_id(key.node.default_child)  # type: ignore[arg-type]

    assert construct.error_bucket is bucket
    template.resource_count_is("AWS::S3::Bucket", 1)
    template.has_resource_properties(
        "AWS::IoT::TopicRule",
        {
            "TopicRulePayload": Match.object_like(
                {"ErrorAction": {"S3": Match.object_like({"BucketName": {"Ref": bucket_id}})}}
            )
        },
    )
    assert policy_statements(template)[1:] == [
        {
            "Action": "s3:PutObject",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/*"]]},
        },
        {
            "Action": "kms:GenerateDataKey",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [key_id, "Arn"]},
        },
    ]


def test_grant_publish_allows_one_topic_the_rule_reads(new_stack: NewStack) -> None:
    stack = new_stack()
    stream = managed_stream(stack)
    fixed = ingest(stack, stream=stream)
    wildcard = IotTopicToKinesis(
        stack, "Telemetry", stream=stream, topic_filter="bikes/+/telemetry"
    )
    frontend = iam.Role(stack, "Frontend", assumed_by=iam.AccountRootPrincipal())
    fixed.grant_publish(frontend)
    wildcard.grant_publish(frontend, "bikes/42/telemetry")

    def topic_arn(topic: str) -> dict[str, Any]:
        return {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":iot:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Ref": "AWS::AccountId"},
                    f":topic/{topic}",
                ],
            ]
        }

    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": Match.string_like_regexp("^Frontend")}],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "iot:Publish",
                        "Effect": "Allow",
                        "Resource": [topic_arn(TOPIC), topic_arn("bikes/42/telemetry")],
                    }
                ],
                "Version": "2012-10-17",
            },
        },
    )


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        (None, r"grant_publish\(topic=None\) with topic_filter='bikes/\+/telemetry'"),
        ("bikes/+/telemetry", r"topic='bikes/\+/telemetry' contains a wildcard"),
        ("bikes/42/status", r"topic='bikes/42/status' does not match"),
        ("bikes//telemetry/x", r"does not match topic_filter"),
    ],
)
def test_fails_when_grant_publish_has_no_topic_the_rule_reads(
    new_stack: NewStack, topic: str | None, message: str
) -> None:
    stack = new_stack()
    construct = ingest(stack, topic_filter="bikes/+/telemetry")
    grantee = iam.Role(stack, "Frontend", assumed_by=iam.AccountRootPrincipal())

    with pytest.raises(ValueError, match=message):
        construct.grant_publish(grantee, topic)


@pytest.mark.parametrize(
    ("topic_filter", "topic", "matches"),
    [
        ("alleycat-publish", "alleycat-publish", True),
        ("alleycat-publish", "alleycat-publish/x", False),
        ("bikes/+/telemetry", "bikes/42/telemetry", True),
        ("bikes/+/telemetry", "bikes/42/cadence", False),
        ("bikes/+/telemetry", "bikes/telemetry", False),
        ("bikes/#", "bikes/42/telemetry", True),
        ("bikes/#", "bikes", True),
        ("bikes/#", "cars/1", False),
        ("#", "anything/at/all", True),
    ],
)
def test_topic_filters_match_as_in_mqtt(topic_filter: str, topic: str, matches: bool) -> None:
    assert topic_matches(topic_filter, topic) is matches


@pytest.mark.parametrize(("topic_filter", "topic", "expected"), MQTT_CASES)
def test_grants_match_topics_as_the_local_rules_engine_does(
    topic_filter: str, topic: str, expected: bool
) -> None:
    assert topic_matches(topic_filter, topic) is expected
    assert local_topic_matches(topic_filter, topic) is expected


def test_fails_when_grant_publish_names_a_reserved_topic_a_wildcard_filter_skips(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    construct = ingest(stack, topic_filter="#")
    grantee = iam.Role(stack, "Frontend", assumed_by=iam.AccountRootPrincipal())

    # MQTT: a filter that starts with a wildcard never matches a topic that starts with $.
    with pytest.raises(ValueError, match="does not match topic_filter='#'"):
        construct.grant_publish(grantee, "$aws/things/bike-1/shadow/update")
    construct.grant_publish(grantee, "bikes/1/telemetry")


def test_a_constant_partition_key_is_warned_about(new_stack: NewStack) -> None:
    stack = new_stack()
    ingest(stack, partition_key="race-1")

    Annotations.from_stack(stack).has_warning(
        "/TestStack/Ingest", Match.string_like_regexp("every message goes to the same shard")
    )


def test_a_template_partition_key_is_not_warned_about(new_stack: NewStack) -> None:
    stack = new_stack()
    ingest(stack, partition_key="${timestamp()}")

    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())


def test_reserved_aws_topics_can_be_read(new_stack: NewStack) -> None:
    stack = new_stack()
    ingest(stack, topic_filter="$aws/things/+/shadow/update/accepted")

    Template.from_stack(stack).has_resource_properties(
        "AWS::IoT::TopicRule",
        {
            "TopicRulePayload": Match.object_like(
                {"Sql": "SELECT * FROM '$aws/things/+/shadow/update/accepted'"}
            )
        },
    )


def test_snapshot(new_stack: NewStack, snapshot_json: SnapshotAssertion) -> None:
    stack = new_stack()
    race = KinesisFanOut(stack, "Race", shard_count=1)
    IotTopicToKinesis(stack, "Ingest", stream=race.stream, topic_filter=TOPIC)
    assert normalize_template(dict(Template.from_stack(stack).to_json())) == snapshot_json


@pytest.mark.parametrize("bring_your_own_bucket", [False, True])
def test_nag_clean(new_stack: NewStack, bring_your_own_bucket: bool) -> None:
    stack = new_stack()
    race = KinesisFanOut(stack, "Race", shard_count=1)
    bucket = (
        s3.Bucket.from_bucket_name(stack, "Archive", "alleycat-archive")
        if bring_your_own_bucket
        else None
    )
    IotTopicToKinesis(stack, "Ingest", stream=race.stream, topic_filter=TOPIC, error_bucket=bucket)
    findings = [
        v.rule_name
        for pack in (AwsSolutionsChecks(), ServerlessChecks())
        for v in pack.validate_scope(stack).violations
    ]
    assert findings == []


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"topic_filter": ""}, r"topic_filter='' is 0 bytes: .*1 to 256 bytes"),
        ({"topic_filter": "a" * 257}, r"is 257 bytes: a topic filter is 1 to 256"),
        ({"topic_filter": "a/b/c/d/e/f/g/h/i"}, r"has 8 slashes: .*at most 7"),
        ({"topic_filter": "bikes/4+/telemetry"}, r"must fill a whole level"),
        ({"topic_filter": "bikes/all#"}, r"must fill a whole level"),
        ({"topic_filter": "bikes/#/telemetry"}, r"# must be the last level"),
        ({"topic_filter": "it's"}, r"contains a quote"),
        ({"topic_filter": "$aws/rules/ingest/bikes"}, r"is a Basic Ingest topic"),
        ({"topic_filter": "$SYS/broker"}, r"topics that start with \$ are reserved"),
        ({"sql": "DELETE FROM 'alleycat-publish'"}, r"sql=.DELETE .* is not a rule query"),
        ({"sql": "SELECT * FROM alleycat-publish"}, r"is not a rule query"),
        ({"sql": "SELECT * FROM 'other'"}, r"sql reads FROM 'other' but topic_filter="),
        ({"sql_version": "2020-01-01"}, r"sql_version='2020-01-01' is not allowed"),
        ({"partition_key": ""}, r"partition_key='' is empty"),
        ({"partition_key": "${newuuid()"}, r"unclosed or empty substitution template"),
        ({"partition_key": "race-${}"}, r"unclosed or empty substitution template"),
        ({"partition_key": "k" * 257}, r"has 257 fixed characters: .*at most 256"),
        ({"rule_name": "alleycat-ingest"}, r"rule_name='alleycat-ingest' is not a rule name"),
        ({"rule_name": "r" * 129}, r"1 to 128 letters"),
        ({"rule_name": ""}, r"rule_name='' is not a rule name"),
        (
            {"error_key": "${topic()}/${timestamp()}"},
            r"error_key='\$\{topic\(\)\}/\$\{timestamp\(\)\}' does not contain "
            r"\$\{newuuid\(\)\} as a substitution template",
        ),
        (
            {"error_key": "failed/newuuid().json"},
            r"^error_key='failed/newuuid\(\)\.json' does not contain \$\{newuuid\(\)\} as a "
            r"substitution template: .*e\.g\. '\$\{topic\(\)\}/\$\{timestamp\(\)\}-\$\{newuuid",
        ),
        (
            {"error_key": "failed/${newuuid}.json"},
            r"^error_key='failed/\$\{newuuid\}\.json' does not contain \$\{newuuid\(\)\}",
        ),
        ({"error_key": ""}, r"error_key='': an S3 object key is 1 to 1,024 bytes"),
        ({"error_key": "k" * 1025 + "${newuuid()}"}, r"1 to 1,024 bytes"),
        ({"error_key": "${topic()/${newuuid()}"}, r"unclosed or empty substitution"),
    ],
)
def test_fails_when_a_prop_is_outside_its_aws_limit(
    new_stack: NewStack, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ingest(new_stack(), **props)


def test_fails_when_encryption_key_comes_with_a_given_bucket(new_stack: NewStack) -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Archive")

    with pytest.raises(ValueError, match=r"encryption_key applies to the error bucket"):
        ingest(stack, error_bucket=bucket, encryption_key=key)


def test_server_access_logs_of_the_error_bucket_go_to_the_given_bucket(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    logs_bucket = s3.Bucket(stack, "Logs", enforce_ssl=True)
    built = ingest(stack, server_access_logs_bucket=logs_bucket)
    template = Template.from_stack(stack)
    logs_id = stack.resolve(logs_bucket.node.default_child.logical_id)  # type: ignore[union-attr]
    error_id = stack.resolve(built.error_bucket.node.default_child.logical_id)  # type: ignore[union-attr]

    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LoggingConfiguration": {
                "DestinationBucketName": {"Ref": logs_id},
                "LogFilePrefix": Match.string_like_regexp(r"IngestErrorBucket[0-9A-F]{8}/$"),
            }
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": logs_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "logging.s3.amazonaws.com"},
                                "Condition": {
                                    "ArnLike": {"aws:SourceArn": {"Fn::GetAtt": [error_id, "Arn"]}},
                                    "StringEquals": {
                                        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
                                    },
                                },
                            }
                        )
                    ]
                )
            },
        },
    )
    findings = [v.rule_name for v in AwsSolutionsChecks().validate_scope(built).violations]
    assert findings == []


def test_fails_when_server_access_logs_come_with_an_error_bucket(new_stack: NewStack) -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=r"server_access_logs_bucket .* but error_bucket was"):
        ingest(
            stack,
            error_bucket=s3.Bucket(stack, "Mine"),
            server_access_logs_bucket=s3.Bucket(stack, "Logs"),
        )


# --- metrics and the alarms switch --------------------------------------------------------


def test_the_metric_methods_give_the_queries_the_alarms_watch(new_stack: NewStack) -> None:
    stack = new_stack()
    construct = ingest(stack)
    template = Template.from_stack(stack)
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    rule_id = stack.get_logical_id(construct.rule)

    for role, metric, name in (
        ("action_failures", construct.metric_action_failures(), "Failure"),
        ("error_action_failures", construct.metric_error_action_failures(), "ErrorActionFailure"),
    ):
        alarm_id = stack.get_logical_id(construct.alarms[role].node.default_child)  # type: ignore[arg-type]
        (watched,) = alarms[alarm_id]["Properties"]["Metrics"]
        query = {
            "Fn::Join": [
                "",
                [f'SELECT SUM({name}) FROM "AWS/IoT" WHERE RuleName = \'', {"Ref": rule_id}, "'"],  # noqa: S608
            ]
        }
        assert (watched["Expression"], watched["Period"]) == (query, 60), role
        assert (stack.resolve(metric.expression), metric.period.to_seconds()) == (query, 60), role
        assert metric.using_metrics == {}, role
    assert construct.metric_action_failures(period=Duration.minutes(5)).period.to_minutes() == 5
    assert (
        construct.metric_error_action_failures(period=Duration.minutes(5)).period.to_minutes() == 5
    )


def test_alarms_can_be_left_out(new_stack: NewStack) -> None:
    stack = new_stack()
    construct = ingest(stack, alarms=False)

    Template.from_stack(stack).resource_count_is("AWS::CloudWatch::Alarm", 0)
    assert construct.alarms == {}
    for metric, name in (
        (construct.metric_action_failures(), "Failure"),
        (construct.metric_error_action_failures(), "ErrorActionFailure"),
    ):
        assert f"SELECT SUM({name}) FROM" in metric.expression


def test_the_default_child_is_the_rule(new_stack: NewStack) -> None:
    stack = new_stack()
    construct = ingest(stack)

    child = construct.node.default_child
    assert isinstance(child, iot.CfnTopicRule)
    assert child.node.path == construct.rule.node.path == "TestStack/Ingest/Rule"
