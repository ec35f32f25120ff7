"""FirehoseArchive: delivery stream, exact grants, processor wiring, alarms, validation, nag."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, RemovalPolicy, Size, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from syrupy.assertion import SnapshotAssertion

from lambda_blueprints import FirehoseArchive
from tests.conftest import normalize_template

NewStack = Callable[..., Stack]
PROCESSOR = "lambda_blueprints.runtime.alleycat.history.handler.lambda_handler"
TRANSFORM_ARN = {"Fn::GetAtt": [Match.string_like_regexp("ArchiveTransformFunction"), "Arn"]}


def archive(
    stack: Stack, *, stream: kinesis.IStream | None = None, **props: Any
) -> FirehoseArchive:
    source = stream or kinesis.Stream(
        stack, "Stream", shard_count=1, encryption=kinesis.StreamEncryption.MANAGED
    )
    return FirehoseArchive(stack, "Archive", stream=source, **props)


def inline(stack: Stack, name: str) -> lambda_.Function:
    return lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(
            textwrap.dedent(
                """
                def handler(event, context):
                    return {"records": []}
                """
            )
        ),
    )


def logical_id(stack: Stack, construct: Any) -> str:
    element = construct.node.default_child or construct
    return str(stack.resolve(element.logical_id))


def role_statements(template: Template, role_id: str) -> list[dict[str, Any]]:
    """The statements of the policies attached to one role, by action list."""
    statements = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def by_actions(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    def key(action: str | list[str]) -> str:
        return ",".join(sorted([action] if isinstance(action, str) else action))

    return {key(s["Action"]): s for s in statements}


def test_the_stream_is_archived_through_the_transform_to_compressed_objects(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    built = archive(stack)
    template = Template.from_stack(stack)

    template.has_resource_properties(
        "AWS::KinesisFirehose::DeliveryStream",
        {
            "DeliveryStreamType": "KinesisStreamAsSource",
            "DeliveryStreamEncryptionConfigurationInput": Match.absent(),
            "KinesisStreamSourceConfiguration": {
                "KinesisStreamARN": {"Fn::GetAtt": [Match.string_like_regexp("Stream"), "Arn"]},
                "RoleARN": {"Fn::GetAtt": [logical_id(stack, built.role), "Arn"]},
            },
            "ExtendedS3DestinationConfiguration": {
                "BucketARN": {"Fn::GetAtt": [Match.string_like_regexp("ArchiveBucket"), "Arn"]},
                "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 5},
                "CompressionFormat": "GZIP",
                "Prefix": "data/!{timestamp:yyyy/MM/dd/HH}/",
                "ErrorOutputPrefix": (
                    "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
                ),
                "EncryptionConfiguration": Match.absent(),
                "S3BackupMode": "Disabled",
                "CloudWatchLoggingOptions": {
                    "Enabled": True,
                    "LogGroupName": {"Ref": Match.string_like_regexp("ArchiveDeliveryLogGroup")},
                    "LogStreamName": {"Ref": Match.string_like_regexp("ArchiveDeliveryLogStream")},
                },
                "ProcessingConfiguration": {
                    "Enabled": True,
                    "Processors": [
                        {
                            "Type": "Lambda",
                            "Parameters": [
                                {"ParameterName": "LambdaArn", "ParameterValue": TRANSFORM_ARN},
                                {"ParameterName": "NumberOfRetries", "ParameterValue": "3"},
                                {"ParameterName": "BufferSizeInMBs", "ParameterValue": "1"},
                                {
                                    "ParameterName": "BufferIntervalInSeconds",
                                    "ParameterValue": "60",
                                },
                            ],
                        }
                    ],
                },
            },
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "lambda_blueprints.runtime.json_lines.handler.lambda_handler",
            "Architectures": ["arm64"],
            "TracingConfig": {"Mode": "Active"},
        },
    )
    template.has_resource_properties("AWS::Logs::LogStream", {"LogStreamName": "S3Delivery"})
    template.resource_count_is("AWS::Events::Rule", 0)
    assert built.data_prefix == "data/"
    # !{firehose:error-output-type} can only be processing-failed here.
    assert built.error_prefix == "errors/processing-failed/"
    assert built.processor_function is None
    assert built.processor_rule is None
    assert built.dead_letter_queue is None


def test_buffering_and_processor_parameters_follow_the_props(new_stack: NewStack) -> None:
    stack = new_stack()
    archive(
        stack,
        buffering_interval=Duration.seconds(0),
        buffering_size=Size.mebibytes(128),
        processor_buffer_size=Size.kibibytes(256),
        processor_buffer_interval=Duration.seconds(900),
        transform_retries=0,
        compression=firehose.Compression.SNAPPY,
        delivery_stream_name="race-archive",
        prefix="raw/",
        error_output_prefix=None,
    )

    Template.from_stack(stack).has_resource_properties(
        "AWS::KinesisFirehose::DeliveryStream",
        {
            "DeliveryStreamName": "race-archive",
            "ExtendedS3DestinationConfiguration": Match.object_like(
                {
                    "BufferingHints": {"IntervalInSeconds": 0, "SizeInMBs": 128},
                    "CompressionFormat": "Snappy",
                    "Prefix": "raw/",
                    "ErrorOutputPrefix": Match.absent(),
                    "ProcessingConfiguration": {
                        "Enabled": True,
                        "Processors": [
                            {
                                "Type": "Lambda",
                                "Parameters": [
                                    Match.object_like({"ParameterName": "LambdaArn"}),
                                    {"ParameterName": "NumberOfRetries", "ParameterValue": "0"},
                                    {"ParameterName": "BufferSizeInMBs", "ParameterValue": "0.25"},
                                    {
                                        "ParameterName": "BufferIntervalInSeconds",
                                        "ParameterValue": "900",
                                    },
                                ],
                            }
                        ],
                    },
                }
            ),
        },
    )


def test_the_firehose_role_holds_exact_actions_on_exact_resources(new_stack: NewStack) -> None:
    stack = new_stack()
    built = archive(stack)
    template = Template.from_stack(stack)
    bucket_arn = {"Fn::GetAtt": [logical_id(stack, built.bucket), "Arn"]}
    function_arn = {"Fn::GetAtt": [logical_id(stack, built.transform_function), "Arn"]}

    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "firehose.amazonaws.com"},
                    }
                ],
                "Version": "2012-10-17",
            },
            "ManagedPolicyArns": Match.absent(),
        },
    )
    statements = by_actions(role_statements(template, logical_id(stack, built.role)))
    assert set(statements) == {
        "kinesis:DescribeStream,kinesis:DescribeStreamSummary,kinesis:GetRecords,"
        "kinesis:GetShardIterator,kinesis:ListShards",
        "s3:GetBucketLocation,s3:ListBucket,s3:ListBucketMultipartUploads",
        "s3:AbortMultipartUpload,s3:GetObject,s3:PutObject",
        "lambda:GetFunctionConfiguration,lambda:InvokeFunction",
        "logs:PutLogEvents",
    }
    assert (
        statements["s3:GetBucketLocation,s3:ListBucket,s3:ListBucketMultipartUploads"]["Resource"]
        == bucket_arn
    )
    assert statements["s3:AbortMultipartUpload,s3:GetObject,s3:PutObject"]["Resource"] == [
        {"Fn::Join": ["", [bucket_arn, "/data/*"]]},
        {"Fn::Join": ["", [bucket_arn, "/errors/processing-failed/*"]]},
    ]
    assert statements["lambda:GetFunctionConfiguration,lambda:InvokeFunction"]["Resource"] == [
        function_arn,
        {"Fn::Join": ["", [function_arn, ":$LATEST"]]},
    ]
    put_log_events = statements["logs:PutLogEvents"]["Resource"]["Fn::Join"][1]
    assert put_log_events[-4:] == [
        ":log-group:",
        {"Ref": logical_id(stack, built.node.find_child("DeliveryLogGroup"))},
        ":log-stream:",
        {"Ref": logical_id(stack, built.node.find_child("DeliveryLogStream"))},
    ]


def test_customer_managed_keys_are_used_through_their_services_only(new_stack: NewStack) -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    stream = kinesis.Stream(
        stack,
        "Stream",
        shard_count=1,
        encryption=kinesis.StreamEncryption.KMS,
        encryption_key=key,
    )
    built = archive(stack, stream=stream, encryption_key=key)
    template = Template.from_stack(stack)
    key_arn = {"Fn::GetAtt": [logical_id(stack, key), "Arn"]}

    def via(service: str) -> dict[str, Any]:
        return {
            "StringEquals": {
                "kms:ViaService": {
                    "Fn::Join": ["", [f"{service}.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]
                }
            }
        }

    template.has_resource_properties(
        "AWS::KinesisFirehose::DeliveryStream",
        {
            "ExtendedS3DestinationConfiguration": Match.object_like(
                {"EncryptionConfiguration": {"KMSEncryptionConfig": {"AWSKMSKeyARN": key_arn}}}
            )
        },
    )
    statements = by_actions(role_statements(template, logical_id(stack, built.role)))
    assert statements["kms:Decrypt"] == {
        "Action": "kms:Decrypt",
        "Effect": "Allow",
        "Resource": key_arn,
        "Condition": via("kinesis"),
    }
    assert statements["kms:Decrypt,kms:GenerateDataKey"] == {
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Effect": "Allow",
        "Resource": key_arn,
        "Condition": via("s3"),
    }
    template.has_resource_properties(
        "AWS::Logs::LogGroup", {"KmsKeyId": key_arn, "RetentionInDays": 30}
    )
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "BucketKeyEnabled": True,
                        "ServerSideEncryptionByDefault": {
                            "KMSMasterKeyID": key_arn,
                            "SSEAlgorithm": "aws:kms",
                        },
                    }
                ]
            }
        },
    )


def test_each_data_object_invokes_the_processor_through_event_bridge(new_stack: NewStack) -> None:
    stack = new_stack()
    built = archive(stack, processor_handler=PROCESSOR)
    template = Template.from_stack(stack)
    queue_arn = {"Fn::GetAtt": [logical_id(stack, built.dead_letter_queue), "Arn"]}
    processor_arn = {"Fn::GetAtt": [logical_id(stack, built.processor_function), "Arn"]}

    template.has_resource_properties(
        "AWS::S3::Bucket",
        {"NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}},
    )
    template.resource_count_is("Custom::S3BucketNotifications", 0)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {"name": [{"Ref": logical_id(stack, built.bucket)}]},
                    "object": {"key": [{"prefix": "data/"}]},
                },
            },
            "Targets": [
                {
                    "Arn": processor_arn,
                    "Id": Match.any_value(),
                    "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
                    "DeadLetterConfig": {"Arn": queue_arn},
                }
            ],
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": logical_id(stack, built.processor_function)},
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 21600,
            "DestinationConfig": {"OnFailure": {"Destination": queue_arn}},
        },
    )
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "sqs:SendMessage",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Condition": {"ArnEquals": {"aws:SourceArn": Match.any_value()}},
                            }
                        )
                    ]
                )
            }
        },
    )
    assert built.processor_rule is not None


def test_the_processor_reads_data_objects_and_sends_failures_exactly(new_stack: NewStack) -> None:
    stack = new_stack()
    built = archive(stack, processor_handler=PROCESSOR)
    template = Template.from_stack(stack)
    assert isinstance(built.processor_function, lambda_.Function)
    role_id = logical_id(stack, built.processor_function.role)
    bucket_arn = {"Fn::GetAtt": [logical_id(stack, built.bucket), "Arn"]}
    queue_key = stack.node.find_child("Archive").node.find_child("DeadLetterQueueKey")

    statements = by_actions(role_statements(template, role_id))

    assert statements["s3:GetObject"]["Resource"] == {"Fn::Join": ["", [bucket_arn, "/data/*"]]}
    assert statements["sqs:SendMessage"]["Resource"] == {
        "Fn::GetAtt": [logical_id(stack, built.dead_letter_queue), "Arn"]
    }
    assert statements["kms:Decrypt,kms:GenerateDataKey"]["Resource"] == {
        "Fn::GetAtt": [logical_id(stack, queue_key), "Arn"]
    }
    assert not any("s3:PutObject" in str(s["Action"]) for s in statements.values())


def test_the_dead_letter_queue_key_admits_event_bridge(new_stack: NewStack) -> None:
    stack = new_stack()
    built = archive(stack, processor_handler=PROCESSOR)
    template = Template.from_stack(stack)
    queue_key = stack.node.find_child("Archive").node.find_child("DeadLetterQueueKey")

    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "KmsMasterKeyId": {"Fn::GetAtt": [logical_id(stack, queue_key), "Arn"]},
            "MessageRetentionPeriod": 1209600,
        },
    )
    template.has_resource(
        "AWS::KMS::Key",
        {
            "Properties": {
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Sid": "AllowEventBridgeDeadLetters",
                                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                                    "Principal": {"Service": "events.amazonaws.com"},
                                    "Condition": {
                                        "StringEquals": {
                                            "aws:SourceAccount": {"Ref": "AWS::AccountId"}
                                        },
                                        "ArnLike": {"aws:SourceArn": Match.any_value()},
                                    },
                                }
                            )
                        ]
                    ),
                    "Version": "2012-10-17",
                },
                "Description": Match.any_value(),
            },
            "DeletionPolicy": "Retain",
        },
    )
    assert built.dead_letter_queue is not None


def test_a_given_key_encrypts_the_dead_letter_queue(new_stack: NewStack) -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    archive(stack, processor_handler=PROCESSOR, encryption_key=key)
    template = Template.from_stack(stack)

    template.resource_count_is("AWS::KMS::Key", 1)
    template.has_resource_properties(
        "AWS::SQS::Queue", {"KmsMasterKeyId": {"Fn::GetAtt": [logical_id(stack, key), "Arn"]}}
    )


def test_alarms_watch_delivery_transform_and_processor(new_stack: NewStack) -> None:
    stack = new_stack()
    built = archive(stack, processor_handler=PROCESSOR)
    template = Template.from_stack(stack)
    stream_dimension = [
        {"Name": "DeliveryStreamName", "Value": {"Ref": logical_id(stack, built.delivery_stream)}}
    ]

    assert set(built.alarms) == {
        "data_freshness",
        "delivery_failures",
        "transform_failures",
        "transform_errors",
        "transform_throttles",
        "processor_errors",
        "processor_throttles",
        "dead_letter_queue_depth",
    }
    for metric, comparison, threshold in (
        ("DeliveryToS3.DataFreshness", "GreaterThanOrEqualToThreshold", 300),
        ("DeliveryToS3.Success", "LessThanThreshold", 1),
        ("ExecuteProcessing.Success", "LessThanThreshold", 1),
    ):
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "Namespace": "AWS/Firehose",
                "MetricName": metric,
                "ComparisonOperator": comparison,
                "Threshold": threshold,
                "Dimensions": stream_dimension,
            },
        )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "Errors",
            "Dimensions": [
                {
                    "Name": "FunctionName",
                    "Value": {"Ref": logical_id(stack, built.processor_function)},
                }
            ],
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [
                {
                    "Name": "QueueName",
                    "Value": {
                        "Fn::GetAtt": [logical_id(stack, built.dead_letter_queue), "QueueName"]
                    },
                }
            ],
        },
    )


def test_data_freshness_threshold_follows_the_buffering(new_stack: NewStack) -> None:
    stack = new_stack()
    archive(
        stack,
        buffering_interval=Duration.minutes(10),
        processor_buffer_interval=Duration.minutes(5),
    )

    Template.from_stack(stack).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "DeliveryToS3.DataFreshness", "Threshold": 2 * (600 + 300)},
    )


def test_alarm_actions_go_to_the_topic(new_stack: NewStack) -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "Alarms")
    built = archive(stack, processor_handler=PROCESSOR, alarm_topic=topic)
    template = Template.from_stack(stack)

    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == len(built.alarms) == 8
    topic_ref = {"Ref": logical_id(stack, topic)}
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [topic_ref]
        assert alarm["Properties"]["OKActions"] == [topic_ref]


def test_existing_bucket_and_functions_are_wired_in(new_stack: NewStack) -> None:
    stack = new_stack()
    bucket = s3.Bucket(stack, "Existing", enforce_ssl=True)
    transform = inline(stack, "MyTransform")
    processor = inline(stack, "MyProcessor")
    built = archive(
        stack, bucket=bucket, transform_function=transform, processor_function=processor
    )
    template = Template.from_stack(stack)

    template.resource_count_is("AWS::S3::Bucket", 1)
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {"NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}},
    )
    template.resource_count_is("AWS::Lambda::Function", 2)
    template.resource_count_is("AWS::Lambda::EventInvokeConfig", 0)
    template.has_resource_properties(
        "AWS::KinesisFirehose::DeliveryStream",
        {
            "ExtendedS3DestinationConfiguration": Match.object_like(
                {
                    "BucketARN": {"Fn::GetAtt": [logical_id(stack, bucket), "Arn"]},
                    "ProcessingConfiguration": {
                        "Enabled": True,
                        "Processors": [
                            {
                                "Type": "Lambda",
                                "Parameters": Match.array_with(
                                    [
                                        {
                                            "ParameterName": "LambdaArn",
                                            "ParameterValue": {
                                                "Fn::GetAtt": [
                                                    logical_id(stack, transform),
                                                    "Arn",
                                                ]
                                            },
                                        }
                                    ]
                                ),
                            }
                        ],
                    },
                }
            )
        },
    )
    processor_role = logical_id(stack, processor.role)
    assert "s3:GetObject" in by_actions(role_statements(template, processor_role))
    assert built.bucket is bucket
    assert built.transform_function is transform
    assert built.processor_function is processor
    assert set(built.log_groups) == {"delivery"}


def test_an_imported_bucket_gets_a_warning_about_event_bridge(new_stack: NewStack) -> None:
    stack = new_stack()
    archive(
        stack,
        bucket=s3.Bucket.from_bucket_name(stack, "Imported", "race-archive"),
        processor_handler=PROCESSOR,
    )

    Annotations.from_stack(stack).has_warning(
        "/TestStack/Archive", Match.string_like_regexp("EventBridge notifications cannot be")
    )


def test_grant_read_covers_the_delivered_objects_only(new_stack: NewStack) -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    built = archive(stack, encryption_key=key)
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    built.grant_read(reader)
    template = Template.from_stack(stack)
    bucket_arn = {"Fn::GetAtt": [logical_id(stack, built.bucket), "Arn"]}

    statements = by_actions(role_statements(template, logical_id(stack, reader)))
    assert set(statements) == {"s3:GetObject", "s3:ListBucket", "kms:Decrypt"}
    assert statements["s3:GetObject"]["Resource"] == {"Fn::Join": ["", [bucket_arn, "/data/*"]]}
    assert statements["s3:ListBucket"]["Condition"] == {"StringLike": {"s3:prefix": ["data/*"]}}


def test_snapshot(new_stack: NewStack, snapshot_json: SnapshotAssertion) -> None:
    stack = new_stack()
    archive(stack, processor_handler=PROCESSOR, removal_policy=RemovalPolicy.DESTROY)
    assert normalize_template(dict(Template.from_stack(stack).to_json())) == snapshot_json


@pytest.mark.parametrize("keyed", [False, True], ids=["aws-managed-keys", "customer-key"])
def test_nag_clean(new_stack: NewStack, keyed: bool) -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True) if keyed else None
    archive(stack, processor_handler=PROCESSOR, encryption_key=key)
    findings = [
        (v.rule_name, v.severity)
        for pack in (AwsSolutionsChecks(), ServerlessChecks())
        for v in pack.validate_scope(stack).violations
    ]
    assert findings == []


def test_server_access_logs_go_to_the_given_bucket_for_this_bucket_only(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    logs_bucket = s3.Bucket(stack, "Logs", enforce_ssl=True)
    built = archive(stack, server_access_logs_bucket=logs_bucket, server_access_logs_prefix="a/")
    template = Template.from_stack(stack)

    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LoggingConfiguration": {
                "DestinationBucketName": {"Ref": logical_id(stack, logs_bucket)},
                "LogFilePrefix": "a/",
            }
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": logical_id(stack, logs_bucket)},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "logging.s3.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": {
                                "Fn::Join": ["", [Match.any_value(), "/a/*"]],
                            },
                            "Condition": {
                                "ArnLike": {
                                    "aws:SourceArn": {
                                        "Fn::GetAtt": [logical_id(stack, built.bucket), "Arn"]
                                    }
                                },
                                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                            },
                        }
                    ]
                )
            },
        },
    )


def test_with_server_access_logs_the_bucket_needs_no_logging_acknowledgment(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    built = archive(stack, server_access_logs_bucket=s3.Bucket(stack, "Logs"))

    # Checked on the archive only: the bare log bucket of this test has findings of its own.
    findings = [v.rule_name for v in AwsSolutionsChecks().validate_scope(built).violations]
    assert findings == []
    acknowledged = [
        rule
        for entry in built.bucket.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule in entry.data
    ]
    assert not any("AwsSolutions-S1" in rule for rule in acknowledged)


@pytest.mark.parametrize(
    "props",
    [
        {"server_access_logs_bucket": "logs"},
        {"server_access_logs_prefix": "a/"},
    ],
)
def test_fails_when_server_access_logs_come_with_an_existing_bucket(
    new_stack: NewStack, props: dict[str, Any]
) -> None:
    stack = new_stack()
    if props.get("server_access_logs_bucket") == "logs":
        props["server_access_logs_bucket"] = s3.Bucket(stack, "Logs")
    with pytest.raises(ValueError, match=r"server_access_logs_bucket .* but bucket was given"):
        archive(stack, bucket=s3.Bucket(stack, "Mine"), **props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"buffering_interval": Duration.seconds(901)}, r"buffering_interval=.*0 to 900"),
        ({"buffering_interval": Duration.millis(1500)}, r"buffering_interval=.*whole seconds"),
        ({"buffering_size": Size.mebibytes(129)}, r"buffering_size=135,266,304 bytes.*1 to 128"),
        ({"buffering_size": Size.kibibytes(512)}, r"buffering_size=524,288 bytes.*whole MiB"),
        (
            {"processor_buffer_size": Size.kibibytes(200)},
            r"processor_buffer_size=204,800.*0.2 to 3",
        ),
        (
            {"processor_buffer_size": Size.mebibytes(4)},
            r"processor_buffer_size=4,194,304.*0.2 to 3",
        ),
        ({"processor_buffer_interval": Duration.minutes(16)}, r"processor_buffer_interval=.*900"),
        ({"transform_retries": 301}, r"transform_retries=301 .*0 to 300"),
        ({"transform_retries": -1}, r"transform_retries=-1 "),
        ({"memory_size": 64}, r"memory_size=64 .*128 to 10,240"),
        ({"timeout": Duration.minutes(6)}, r"timeout=6 minutes .*1 to 300.*5 minutes"),
        ({"compression": firehose.Compression.of("BZIP2")}, r"compression='BZIP2'.*GZIP"),
        ({"delivery_stream_name": "race archive"}, r"delivery_stream_name='race archive'"),
        ({"delivery_stream_name": "x" * 65}, r"delivery_stream_name=.*1 to 64"),
        ({"prefix": "/data/"}, r"prefix='/data/' starts with '/'"),
        ({"prefix": "d/" + "x" * 1030}, r"prefix has 1,032 characters.*1,024"),
        ({"prefix": "d/" + "x" * 600 + "/!{timestamp:yyyy}/"}, r"prefix has 6\d\d fixed .*512"),
        ({"prefix": "data/!{timestamp:yyyy/"}, r"prefix=.*outside a complete"),
        ({"prefix": "data/!{timestamp:}/"}, r"has no format"),
        ({"prefix": "data/!{firehose:error-output-type}/"}, r"error_output_prefix only"),
        ({"prefix": "data/!{firehose:uuid}/"}, r"not a firehose expression"),
        ({"prefix": "data/!{partitionKeyFromQuery:id}/"}, r"dynamic partitioning"),
        ({"prefix": "data/!{env:stage}/"}, r"unknown namespace 'env'"),
        ({"error_output_prefix": None}, r"prefix=.*has expressions, so Firehose needs"),
        (
            {"error_output_prefix": "errors/!{timestamp:yyyy}/"},
            r"error_output_prefix=.*no !\{firehose:error-output-type\}",
        ),
        ({"error_output_prefix": "/errors/"}, r"error_output_prefix='/errors/' starts with"),
    ],
)
def test_fails_when_a_prop_is_outside_its_limit(
    new_stack: NewStack, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        archive(new_stack(), **props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"prefix": "!{timestamp:yyyy}/data/"},
            r"prefix='!\{timestamp:yyyy\}/data/' has no fixed leading folder.*could not\s+tell",
        ),
        (
            {"prefix": "archive/", "error_output_prefix": "archive/failed/"},
            r"error_output_prefix='archive/failed/' lies under the data prefix 'archive/'",
        ),
        (
            {"prefix": "raw/", "error_output_prefix": None},
            r"error_output_prefix=None puts failed records under the data prefix",
        ),
        ({"processor_handler": ""}, r"processor_handler='' is not a handler path"),
        ({"timeout": Duration.minutes(16)}, r"timeout=16 minutes"),
    ],
)
def test_fails_when_the_processor_would_see_failed_records(
    new_stack: NewStack, props: dict[str, Any], message: str
) -> None:
    options = {"processor_handler": PROCESSOR, **props}
    with pytest.raises(ValueError, match=message):
        archive(new_stack(), **options)


def test_fails_when_handler_and_function_are_both_given(new_stack: NewStack) -> None:
    def given(name: str) -> dict[str, Any]:
        stack = new_stack()
        return {"stack": stack, "function": inline(stack, name)}

    one = given("T")
    with pytest.raises(
        ValueError,
        match=r"transform_handler='lambda_blueprints.runtime.x.h' and transform_function",
    ):
        archive(
            one["stack"],
            transform_handler="lambda_blueprints.runtime.x.h",
            transform_function=one["function"],
        )
    two = given("P")
    with pytest.raises(ValueError, match=r"processor_handler=.* and processor_function"):
        archive(two["stack"], processor_handler=PROCESSOR, processor_function=two["function"])
    with pytest.raises(ValueError, match=r"transform_handler=None and no transform_function"):
        archive(new_stack(), transform_handler=None)
    three = given("T")
    with pytest.raises(ValueError, match=r"memory_size, timeout configure the functions"):
        archive(
            three["stack"],
            transform_function=three["function"],
            memory_size=512,
            timeout=Duration.seconds(10),
        )


def test_a_processor_timeout_may_exceed_five_minutes_when_the_transform_is_given(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    built = archive(
        stack,
        transform_function=inline(stack, "T"),
        processor_handler=PROCESSOR,
        timeout=Duration.minutes(10),
    )

    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function", {"Handler": PROCESSOR, "Timeout": 600}
    )
    assert built.processor_function is not None


def test_the_timeout_of_a_built_processor_beside_a_given_transform_stops_at_15_minutes(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    with pytest.raises(
        ValueError,
        match=r"timeout=16 minutes \(960 s\) is out of range: allowed is 1 to 900 whole "
        r"seconds\. Lambda functions run for at most 15 minutes",
    ):
        archive(
            stack,
            transform_function=inline(stack, "T"),
            processor_handler=PROCESSOR,
            timeout=Duration.minutes(16),
        )


def test_fails_when_the_processor_buffer_interval_is_not_whole_seconds(
    new_stack: NewStack,
) -> None:
    with pytest.raises(
        ValueError,
        match=r"processor_buffer_interval=1 second 500 millis \(1\.5 s\) is out of range: "
        r"allowed is 0 to 900 whole seconds",
    ):
        archive(new_stack(), processor_buffer_interval=Duration.millis(1500))


def test_sizes_from_parameters_in_mebibytes_render_as_the_parameters(new_stack: NewStack) -> None:
    stack = new_stack()
    delivery = CfnParameter(stack, "DeliveryMiB", type="Number", default=5)
    processor = CfnParameter(stack, "ProcessorMiB", type="Number", default=1)
    retries = CfnParameter(stack, "Retries", type="Number", default=3)
    archive(
        stack,
        buffering_size=Size.mebibytes(delivery.value_as_number),
        processor_buffer_size=Size.mebibytes(processor.value_as_number),
        transform_retries=retries.value_as_number,
    )

    Template.from_stack(stack).has_resource_properties(
        "AWS::KinesisFirehose::DeliveryStream",
        {
            "ExtendedS3DestinationConfiguration": Match.object_like(
                {
                    "BufferingHints": {
                        "IntervalInSeconds": 60,
                        "SizeInMBs": {"Ref": "DeliveryMiB"},
                    },
                    "ProcessingConfiguration": {
                        "Enabled": True,
                        "Processors": [
                            {
                                "Type": "Lambda",
                                "Parameters": [
                                    Match.object_like({"ParameterName": "LambdaArn"}),
                                    {
                                        "ParameterName": "NumberOfRetries",
                                        "ParameterValue": {"Ref": "Retries"},
                                    },
                                    {
                                        "ParameterName": "BufferSizeInMBs",
                                        "ParameterValue": {"Ref": "ProcessorMiB"},
                                    },
                                    {
                                        "ParameterName": "BufferIntervalInSeconds",
                                        "ParameterValue": "60",
                                    },
                                ],
                            }
                        ],
                    },
                }
            )
        },
    )


@pytest.mark.parametrize("prop", ["buffering_size", "processor_buffer_size"])
@pytest.mark.parametrize("unit", ["bytes", "kibibytes"])
def test_fails_when_a_size_from_a_parameter_is_not_in_mebibytes(
    new_stack: NewStack, prop: str, unit: str
) -> None:
    stack = new_stack()
    parameter = CfnParameter(stack, "Size", type="Number", default=1048576)
    size = getattr(Size, unit)(parameter.value_as_number)

    with pytest.raises(
        ValueError,
        match=rf"{prop} is a deploy-time value \(a token\) given in a unit other than MiB.*"
        r"allowed in MiB only.*Size\.mebibytes\(<token>\)",
    ):
        archive(stack, **{prop: size})


def test_an_error_prefix_that_starts_with_the_error_output_type_gets_a_bounded_grant(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    built = archive(
        stack,
        processor_handler=PROCESSOR,
        error_output_prefix="!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/",
    )
    template = Template.from_stack(stack)
    bucket_arn = {"Fn::GetAtt": [logical_id(stack, built.bucket), "Arn"]}

    statements = by_actions(role_statements(template, logical_id(stack, built.role)))
    assert statements["s3:AbortMultipartUpload,s3:GetObject,s3:PutObject"]["Resource"] == [
        {"Fn::Join": ["", [bucket_arn, "/data/*"]]},
        {"Fn::Join": ["", [bucket_arn, "/processing-failed/*"]]},
    ]
    assert built.error_prefix == "processing-failed/"
    findings = [v.rule_name for v in AwsSolutionsChecks().validate_scope(stack).violations]
    assert findings == []


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"error_output_prefix": "!{timestamp:yyyy}/!{firehose:error-output-type}/"},
            r"error_output_prefix='!\{timestamp:yyyy\}/!\{firehose:error-output-type\}/' has "
            r"no fixed leading folder.*allowed is a prefix that starts with a folder or with "
            r"!\{firehose:error-output-type\}",
        ),
        ({"error_output_prefix": ""}, r"error_output_prefix='' has no fixed leading folder"),
        ({"prefix": "", "error_output_prefix": None}, r"prefix='' has no fixed leading folder"),
        (
            {"prefix": "!{firehose:random-string}/data/"},
            r"prefix='!\{firehose:random-string\}/data/' has no fixed leading folder, so "
            r"Firehose's write access could not be limited to the archive's objects: allowed",
        ),
    ],
)
def test_fails_when_a_prefix_would_grant_the_whole_bucket(
    new_stack: NewStack, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        archive(new_stack(), **props)


def test_the_transform_failures_alarm_says_when_records_are_lost(new_stack: NewStack) -> None:
    stack = new_stack()
    built = archive(stack)
    alarm = built.alarms["transform_failures"].node.default_child

    description = stack.resolve(alarm.alarm_description)  # type: ignore[union-attr]
    assert "invocation attempt failed" in description
    assert "if a retry succeeds nothing is lost" in description
    assert "only when every retry fails" in description
    Template.from_stack(stack).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ExecuteProcessing.Success",
            "Statistic": "Minimum",
            "EvaluationPeriods": 1,
            "AlarmDescription": description,
        },
    )


# --- metrics and the alarms switch --------------------------------------------------------


def synthesized_metric(template: Template, stack: Stack, alarm: Any) -> dict[str, Any]:
    """The metric one alarm watches, as the template has it."""
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    props = alarms[stack.get_logical_id(alarm.node.default_child)]["Properties"]
    return {
        "namespace": props["Namespace"],
        "name": props["MetricName"],
        "dimensions": {d["Name"]: d["Value"] for d in props["Dimensions"]},
        "statistic": props.get("Statistic", props.get("ExtendedStatistic")),
        "period": props["Period"],
        "unit": props.get("Unit"),
    }


def metric_fields(stack: Stack, metric: cloudwatch.Metric) -> dict[str, Any]:
    """The same fields of a metric method's metric."""
    return {
        "namespace": metric.namespace,
        "name": metric.metric_name,
        "dimensions": stack.resolve(metric.dimensions),
        "statistic": metric.statistic,
        "period": metric.period.to_seconds(),
        "unit": metric.unit.value if metric.unit else None,
    }


#: Alarm role, metric method, and what the alarm watches: namespace, name, statistic.
ARCHIVE_METRICS = [
    ("data_freshness", "data_freshness", "AWS/Firehose", "DeliveryToS3.DataFreshness", "Maximum"),
    ("delivery_failures", "delivery_success", "AWS/Firehose", "DeliveryToS3.Success", "Minimum"),
    (
        "transform_failures",
        "transform_success",
        "AWS/Firehose",
        "ExecuteProcessing.Success",
        "Minimum",
    ),
    ("transform_errors", "transform_errors", "AWS/Lambda", "Errors", "Sum"),
    ("transform_throttles", "transform_throttles", "AWS/Lambda", "Throttles", "Sum"),
    ("processor_errors", "processor_errors", "AWS/Lambda", "Errors", "Sum"),
    ("processor_throttles", "processor_throttles", "AWS/Lambda", "Throttles", "Sum"),
    (
        "dead_letter_queue_depth",
        "dead_letter_queue_depth",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
    ),
]


def test_the_metric_methods_give_the_metrics_the_alarms_watch(new_stack: NewStack) -> None:
    stack = new_stack()
    built = archive(stack, processor_handler=PROCESSOR)
    template = Template.from_stack(stack)
    dimensions = {
        "AWS/Firehose": {"DeliveryStreamName": {"Ref": logical_id(stack, built.delivery_stream)}},
        "AWS/SQS": {
            "QueueName": {"Fn::GetAtt": [logical_id(stack, built.dead_letter_queue), "QueueName"]}
        },
    }

    assert {role for role, *_ in ARCHIVE_METRICS} == set(built.alarms)
    for role, method, namespace, name, statistic in ARCHIVE_METRICS:
        function = built.processor_function if "processor" in role else built.transform_function
        expected = {
            "namespace": namespace,
            "name": name,
            "dimensions": dimensions.get(
                namespace, {"FunctionName": {"Ref": logical_id(stack, function)}}
            ),
            "statistic": statistic,
            "period": 60,
            "unit": None,
        }
        metric = getattr(built, f"metric_{method}")()
        assert synthesized_metric(template, stack, built.alarms[role]) == expected, role
        assert metric_fields(stack, metric) == expected, method
        other = getattr(built, f"metric_{method}")(period=Duration.minutes(5), statistic="Average")
        assert (other.period.to_seconds(), other.statistic) == (300, "Average"), method


def test_alarms_can_be_left_out(new_stack: NewStack) -> None:
    stack = new_stack()
    built = archive(stack, processor_handler=PROCESSOR, alarms=False)

    Template.from_stack(stack).resource_count_is("AWS::CloudWatch::Alarm", 0)
    assert built.alarms == {}
    for _, method, namespace, name, _ in ARCHIVE_METRICS:
        metric = getattr(built, f"metric_{method}")()
        assert (metric.namespace, metric.metric_name) == (namespace, name), method


@pytest.mark.parametrize(
    "method", ["processor_errors", "processor_throttles", "dead_letter_queue_depth"]
)
def test_processor_metrics_need_a_processor(new_stack: NewStack, method: str) -> None:
    built = archive(new_stack())

    with pytest.raises(ValueError, match=rf"metric_{method}\(\): this archive has no processor"):
        getattr(built, f"metric_{method}")()


def test_the_default_child_is_the_delivery_stream(new_stack: NewStack) -> None:
    stack = new_stack()
    built = archive(stack)

    child = built.node.default_child
    assert isinstance(child, firehose.CfnDeliveryStream)
    assert child.node.path == built.delivery_stream.node.path == "TestStack/Archive/DeliveryStream"
