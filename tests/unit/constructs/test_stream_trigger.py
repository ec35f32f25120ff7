"""StreamTrigger: template, defaults, validation, nag."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from syrupy.assertion import SnapshotAssertion

from lambda_blueprints import StreamTrigger
from tests.conftest import inline_function, normalize_template

HANDLER = "lambda_blueprints.runtime.audit_trail.handler.lambda_handler"
NewStack = Callable[..., Stack]


def template_of(stack: Stack) -> Template:
    return Template.from_stack(stack)


def nag_findings(stack: Stack) -> list[str]:
    findings = []
    for pack in (AwsSolutionsChecks(), ServerlessChecks()):
        report = pack.validate_scope(stack)
        findings += [f"{v.rule_name} ({v.severity})" for v in report.violations]
    return findings


def kinesis_stream(stack: Stack) -> kinesis.Stream:
    return kinesis.Stream(stack, "Source", encryption=kinesis.StreamEncryption.MANAGED)


# --- defaults -----------------------------------------------------------------------------


def test_default_builds_a_table_a_function_and_a_guarded_mapping(new_stack: NewStack) -> None:
    stack = new_stack()
    StreamTrigger(stack, "Trigger", handler=HANDLER)
    template = template_of(stack)

    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "BatchSize": 100,
            "BisectBatchOnFunctionError": True,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "MaximumRetryAttempts": 3,
            "MaximumRecordAgeInSeconds": 86400,
            "ParallelizationFactor": 1,
            "StartingPosition": "TRIM_HORIZON",
            "Enabled": True,
            "EventSourceArn": {
                "Fn::GetAtt": [Match.string_like_regexp("TriggerTable"), "StreamArn"]
            },
            "DestinationConfig": {
                "OnFailure": {
                    "Destination": {
                        "Fn::GetAtt": [Match.string_like_regexp("TriggerDeadLetterQueue"), "Arn"]
                    }
                }
            },
        },
    )
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": Match.object_like(
                {
                    "BillingMode": "PAY_PER_REQUEST",
                    "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                    "SSESpecification": {"SSEEnabled": True},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                }
            ),
            "DeletionPolicy": "Retain",
        },
    )


def test_function_has_the_library_baseline(new_stack: NewStack) -> None:
    stack = new_stack()
    StreamTrigger(stack, "Trigger", handler=HANDLER, service_name="audit")
    template = template_of(stack)

    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "Handler": HANDLER,
            "MemorySize": 256,
            "Timeout": 30,
            "TracingConfig": {"Mode": "Active"},
            "RecursiveLoop": "Terminate",
            "LoggingConfig": Match.object_like({"LogFormat": "JSON"}),
            "Layers": [
                {
                    "Fn::Join": [
                        "",
                        Match.array_with(
                            [
                                Match.string_like_regexp(
                                    "layer:AWSLambdaPowertoolsPythonV3-python314-arm64:\\d+$"
                                )
                            ]
                        ),
                    ]
                }
            ],
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "POWERTOOLS_SERVICE_NAME": "audit",
                        "FAILURE_QUEUE_URL": {"Ref": Match.string_like_regexp("DeadLetterQueue")},
                    }
                )
            },
        },
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})
    # No managed policies: the role holds only inline least-privilege statements.
    template.has_resource_properties("AWS::IAM::Role", {"ManagedPolicyArns": Match.absent()})


def test_role_reads_only_its_stream_and_sends_only_to_its_queue(new_stack: NewStack) -> None:
    stack = new_stack()
    StreamTrigger(stack, "Trigger", handler=HANDLER)
    policies = template_of(stack).find_resources("AWS::IAM::Policy")
    (policy,) = [p for name, p in policies.items() if not name.startswith("TriggerListStreams")]
    # ListStreams, which names no resource, sits alone in a policy of its own.
    (list_streams,) = [p for name, p in policies.items() if name.startswith("TriggerListStreams")]
    assert list_streams["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": "dynamodb:ListStreams", "Effect": "Allow", "Resource": "*"}
    ]
    resource_of: dict[str, Any] = {}
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        actions = statement["Action"]
        for action in actions if isinstance(actions, list) else [actions]:
            resource_of[action] = statement["Resource"]

    for action in ("DescribeStream", "GetRecords", "GetShardIterator"):
        assert resource_of[f"dynamodb:{action}"]["Fn::GetAtt"][1] == "StreamArn"
    for action in ("SendMessage", "GetQueueAttributes", "GetQueueUrl"):
        assert resource_of[f"sqs:{action}"]["Fn::GetAtt"][0].startswith("TriggerDeadLetterQueue")
    # Only actions without resource-level permissions may name every resource.
    assert sorted(a for a, r in resource_of.items() if r == "*") == [
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ]
    assert len(resource_of) == 10


def test_your_own_function_gets_the_queue_and_no_wildcard_it_did_not_ask_for(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    table = dynamodb.Table(
        stack,
        "Orders",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    )
    mine = inline_function(stack)
    trigger = StreamTrigger(stack, "Trigger", table=table, function=mine)
    template = template_of(stack)

    variables = template.find_resources("AWS::Lambda::Function")[
        stack.get_logical_id(mine.node.default_child)  # type: ignore[arg-type]
    ]["Properties"]["Environment"]["Variables"]
    assert variables["FAILURE_QUEUE_URL"] == {
        "Ref": stack.get_logical_id(trigger.dead_letter_queue.node.default_child)  # type: ignore[arg-type]
    }
    # The role's own policy names the stream; ListStreams sits in the construct's policy,
    # whose acknowledgment covers nothing of the user's.
    (own,) = [
        p
        for name, p in template.find_resources("AWS::IAM::Policy").items()
        if name.startswith("MineServiceRoleDefaultPolicy")
    ]
    assert "*" not in [s["Resource"] for s in own["Properties"]["PolicyDocument"]["Statement"]]
    assert trigger.list_streams_policy is not None
    # The user's function has findings of its own (managed policy, runtime, ...), but no
    # wildcard: the library added none without an acknowledgment of its own.
    assert not [f for f in nag_findings(stack) if f.startswith("AwsSolutions-IAM5")]


def test_failure_queue_is_encrypted_tls_only_and_kept(new_stack: NewStack) -> None:
    stack = new_stack()
    StreamTrigger(stack, "Trigger", handler=HANDLER)
    template = template_of(stack)

    template.has_resource(
        "AWS::SQS::Queue",
        {
            "Properties": {"KmsMasterKeyId": "alias/aws/sqs", "MessageRetentionPeriod": 1209600},
            "DeletionPolicy": "Retain",
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
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_alarms_are_dimensioned_and_iterator_age_is_half_the_horizon(new_stack: NewStack) -> None:
    stack = new_stack()
    trigger = StreamTrigger(stack, "Trigger", handler=HANDLER)
    template = template_of(stack)

    assert set(trigger.alarms) == {"errors", "throttles", "iterator_age", "dead_letter_queue_depth"}
    function_dimension = [{"Name": "FunctionName", "Value": {"Ref": Match.any_value()}}]
    for metric in ("Errors", "Throttles"):
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {"MetricName": metric, "Namespace": "AWS/Lambda", "Dimensions": function_dimension},
        )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "IteratorAge",
            "Statistic": "Maximum",
            "Threshold": 12 * 3600 * 1000,
            "Dimensions": function_dimension,
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Namespace": "AWS/SQS",
            "Threshold": 1,
            "Dimensions": [{"Name": "QueueName", "Value": Match.any_value()}],
        },
    )


def test_iterator_age_alarm_follows_a_shorter_max_record_age(new_stack: NewStack) -> None:
    stack = new_stack()
    StreamTrigger(stack, "Trigger", handler=HANDLER, max_record_age=Duration.hours(1))

    template_of(stack).has_resource_properties(
        "AWS::CloudWatch::Alarm", {"MetricName": "IteratorAge", "Threshold": 1800 * 1000}
    )


def test_alarm_topic_receives_alarm_and_ok_notifications(new_stack: NewStack) -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "Alarms")
    trigger = StreamTrigger(stack, "Trigger", handler=HANDLER, alarm_topic=topic)
    template = template_of(stack)

    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    topic_ref = {"Ref": stack.get_logical_id(topic.node.default_child)}  # type: ignore[arg-type]
    assert len(alarms) == len(trigger.alarms) == 4
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [topic_ref]
        assert alarm["Properties"]["OKActions"] == [topic_ref]


def test_every_mapping_option_reaches_the_template(new_stack: NewStack) -> None:
    stack = new_stack()
    stream = kinesis_stream(stack)
    start = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    StreamTrigger(
        stack,
        "Trigger",
        stream=stream,
        handler=HANDLER,
        batch_size=500,
        max_batching_window=Duration.seconds(5),
        starting_position=lambda_.StartingPosition.AT_TIMESTAMP,
        starting_position_timestamp=start,
        filters=[lambda_.FilterCriteria.filter({"data": {"kind": ["order"]}})],
        bisect_batch_on_error=False,
        report_batch_item_failures=False,
        retry_attempts=10,
        max_record_age=Duration.hours(2),
        parallelization_factor=4,
        tumbling_window=Duration.seconds(30),
        metrics=True,
        enabled=False,
    )

    template_of(stack).has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [Match.string_like_regexp("Source"), "Arn"]},
            "BatchSize": 500,
            "MaximumBatchingWindowInSeconds": 5,
            "StartingPosition": "AT_TIMESTAMP",
            "StartingPositionTimestamp": start.timestamp(),
            "FilterCriteria": {"Filters": [{"Pattern": '{"data":{"kind":["order"]}}'}]},
            "BisectBatchOnFunctionError": False,
            "FunctionResponseTypes": Match.absent(),
            "MaximumRetryAttempts": 10,
            "MaximumRecordAgeInSeconds": 7200,
            "ParallelizationFactor": 4,
            "TumblingWindowInSeconds": 30,
            "MetricsConfig": {"Metrics": ["EventCount"]},
            "Enabled": False,
        },
    )


def test_kinesis_source_alarm_uses_the_stream_retention(new_stack: NewStack) -> None:
    stack = new_stack()
    StreamTrigger(
        stack,
        "Trigger",
        stream=kinesis_stream(stack),
        handler=HANDLER,
        max_record_age=None,
        stream_retention=Duration.days(7),
    )
    template = template_of(stack)

    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "IteratorAge", "Threshold": 7 * 24 * 3600 * 1000 // 2},
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping", {"MaximumRecordAgeInSeconds": Match.absent()}
    )
    template.resource_count_is("AWS::DynamoDB::Table", 0)


def test_existing_function_is_triggered_and_granted_but_not_rebuilt(new_stack: NewStack) -> None:
    stack = new_stack()
    function = inline_function(stack)
    table = dynamodb.TableV2(
        stack,
        "Orders",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        dynamo_stream=dynamodb.StreamViewType.NEW_IMAGE,
    )
    trigger = StreamTrigger(stack, "Trigger", table=table, function=function)
    template = template_of(stack)

    assert trigger.function is function
    assert trigger.log_group is None
    template.resource_count_is("AWS::Lambda::Function", 1)
    template.resource_count_is("AWS::DynamoDB::GlobalTable", 1)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": Match.array_with(["dynamodb:GetRecords"])})]
                )
            },
            "Roles": [{"Ref": Match.string_like_regexp("MineServiceRole")}],
        },
    )


def test_mapping_waits_for_its_permissions(new_stack: NewStack) -> None:
    stack = new_stack()
    StreamTrigger(stack, "Trigger", handler=HANDLER)
    (mapping,) = template_of(stack).find_resources("AWS::Lambda::EventSourceMapping").values()

    assert any(d.startswith("TriggerRoleDefaultPolicy") for d in mapping["DependsOn"])


def test_customer_managed_key_encrypts_table_queue_and_logs(new_stack: NewStack) -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    StreamTrigger(stack, "Trigger", handler=HANDLER, encryption_key=key)
    template = template_of(stack)
    key_arn = {"Fn::GetAtt": [Match.string_like_regexp("Key"), "Arn"]}

    template.has_resource_properties("AWS::SQS::Queue", {"KmsMasterKeyId": key_arn})
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn}},
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"KmsKeyId": key_arn})
    template.has_resource_properties("AWS::Lambda::Function", {"KmsKeyArn": key_arn})
    assert nag_findings(stack) == []


def test_snapshot(new_stack: NewStack, snapshot_json: SnapshotAssertion) -> None:
    stack = new_stack()
    StreamTrigger(stack, "Trigger", handler=HANDLER)

    assert normalize_template(template_of(stack).to_json()) == snapshot_json


# --- nag ----------------------------------------------------------------------------------


def test_nag_clean_with_a_dynamodb_source(new_stack: NewStack) -> None:
    stack = new_stack()
    StreamTrigger(stack, "Trigger", handler=HANDLER)
    assert nag_findings(stack) == []


def test_nag_clean_with_a_kinesis_source(new_stack: NewStack) -> None:
    stack = new_stack()
    StreamTrigger(stack, "Trigger", stream=kinesis_stream(stack), handler=HANDLER)
    assert nag_findings(stack) == []


def test_nag_still_reports_what_the_construct_does_not_own(new_stack: NewStack) -> None:
    stack = new_stack()
    role = iam.Role(stack, "Loose", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    StreamTrigger(stack, "Trigger", handler=HANDLER)
    assert any(f.startswith("AwsSolutions-IAM5") for f in nag_findings(stack))


# --- validation ---------------------------------------------------------------------------


def build(new_stack: NewStack, **props: Any) -> StreamTrigger:
    stack = new_stack()
    if props.pop("kinesis", False):
        props["stream"] = kinesis_stream(stack)
    props.setdefault("handler", HANDLER)
    return StreamTrigger(stack, "Trigger", **props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"batch_size": 0},
            r"batch_size=0 is out of range: allowed is a whole number from 1 to 10,000",
        ),
        ({"batch_size": 10_001}, r"batch_size=10001 is out of range"),
        ({"max_batching_window": Duration.seconds(301)}, r"max_batching_window=5 minutes 1 second"),
        ({"max_batching_window": Duration.millis(1500)}, r"max_batching_window=.*whole seconds"),
        ({"retry_attempts": -1}, r"retry_attempts=-1 .*0 to 10,000.*None to retry"),
        ({"retry_attempts": 10_001}, r"retry_attempts=10001"),
        ({"max_record_age": Duration.seconds(59)}, r"max_record_age=59 seconds .*60 to 604,800"),
        ({"max_record_age": Duration.days(8)}, r"max_record_age=8 days"),
        ({"parallelization_factor": 0}, r"parallelization_factor=0 .*1 to 10"),
        ({"parallelization_factor": 11}, r"parallelization_factor=11"),
        (
            {"tumbling_window": Duration.seconds(901)},
            r"tumbling_window=15 minutes 1 second .*0 to 900",
        ),
        ({"memory_size": 127}, r"memory_size=127 .*128 to 10,240"),
        ({"memory_size": 10_241}, r"memory_size=10241"),
        ({"timeout": Duration.seconds(0)}, r"timeout=0 seconds .*1 to 900"),
        ({"timeout": Duration.minutes(16)}, r"timeout=16 minutes"),
    ],
)
def test_fails_when_a_number_is_outside_its_aws_limit(
    new_stack: NewStack, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build(new_stack, **props)


def test_fails_when_at_timestamp_is_used_on_a_dynamodb_stream(new_stack: NewStack) -> None:
    with pytest.raises(ValueError, match=r"starting_position='AT_TIMESTAMP'.*DynamoDB"):
        build(
            new_stack,
            starting_position=lambda_.StartingPosition.AT_TIMESTAMP,
            starting_position_timestamp=datetime.now(UTC),
        )


def test_fails_when_at_timestamp_has_no_timestamp(new_stack: NewStack) -> None:
    with pytest.raises(ValueError, match=r"AT_TIMESTAMP needs starting_position_timestamp"):
        build(new_stack, kinesis=True, starting_position=lambda_.StartingPosition.AT_TIMESTAMP)


def test_fails_when_the_timestamp_is_naive(new_stack: NewStack) -> None:
    with pytest.raises(
        ValueError, match=r"starting_position_timestamp=2026-01-01T00:00:00 has no time zone"
    ):
        build(
            new_stack,
            kinesis=True,
            starting_position=lambda_.StartingPosition.AT_TIMESTAMP,
            starting_position_timestamp=datetime(2026, 1, 1),  # noqa: DTZ001
        )


@pytest.mark.parametrize("timestamp", [1_767_225_600, "2026-01-01T00:00:00Z"])
def test_fails_with_a_type_error_when_the_timestamp_is_not_a_datetime(
    new_stack: NewStack, timestamp: object
) -> None:
    with pytest.raises(
        TypeError, match=r"starting_position_timestamp=.* is a (int|str), not a datetime"
    ):
        build(
            new_stack,
            kinesis=True,
            starting_position=lambda_.StartingPosition.AT_TIMESTAMP,
            starting_position_timestamp=timestamp,
        )


def test_fails_with_a_type_error_when_a_duration_is_a_bare_number(new_stack: NewStack) -> None:
    with pytest.raises(TypeError, match=r"max_record_age=3600 is a int, not a Duration"):
        build(new_stack, max_record_age=3600)


def test_fails_when_a_timestamp_comes_without_at_timestamp(new_stack: NewStack) -> None:
    with pytest.raises(
        ValueError, match=r"only with starting_position=AT_TIMESTAMP, not TRIM_HORIZON"
    ):
        build(new_stack, starting_position_timestamp=datetime.now(UTC))


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (
            [lambda_.FilterCriteria.filter({"eventName": [str(n)]}) for n in range(11)],
            r"filters has 11 patterns",
        ),
        ([{"Pattern": "{}"}], r"filters\[0\].*has no 'pattern'"),
        (
            [{"pattern": "{" + '"a":["' + "x" * 4100 + '"]}'}],
            r"filters\[0\] pattern has 4,110 characters; allowed is at most 4,096",
        ),
        ([{"pattern": "{not json"}], r"filters\[0\] pattern .* is not valid JSON"),
        ([{"pattern": "[1]"}], r"must be a non-empty JSON object"),
    ],
)
def test_fails_when_filters_break_lambda_limits(
    new_stack: NewStack, filters: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build(new_stack, filters=filters)


def test_warns_above_the_default_filter_quota(new_stack: NewStack) -> None:
    from aws_cdk.assertions import Annotations

    trigger = build(
        new_stack,
        filters=[lambda_.FilterCriteria.filter({"eventName": [str(n)]}) for n in range(6)],
    )
    Annotations.from_stack(Stack.of(trigger)).has_warning(
        "*", Match.string_like_regexp("default quota is 5")
    )


def test_fails_when_table_and_stream_are_both_given(new_stack: NewStack) -> None:
    stack = new_stack()
    table = dynamodb.TableV2(
        stack,
        "T",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        dynamo_stream=dynamodb.StreamViewType.NEW_IMAGE,
    )
    with pytest.raises(ValueError, match=r"table and stream were both given"):
        StreamTrigger(stack, "Trigger", table=table, stream=kinesis_stream(stack), handler=HANDLER)


@pytest.mark.parametrize(
    "prop",
    [
        {"stream_view_type": dynamodb.StreamViewType.KEYS_ONLY},
        {"partition_key": dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING)},
        {"sort_key": dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING)},
    ],
)
def test_fails_when_table_props_come_with_an_existing_source(
    new_stack: NewStack, prop: dict[str, Any]
) -> None:
    (name,) = prop
    with pytest.raises(
        ValueError, match=rf"{name} applies only to the table this construct creates"
    ):
        build(new_stack, kinesis=True, **prop)


def test_fails_when_the_table_has_no_stream(new_stack: NewStack) -> None:
    stack = new_stack()
    table = dynamodb.Table.from_table_name(stack, "Plain", "plain")
    with pytest.raises(ValueError, match=r"table has no stream") as caught:
        StreamTrigger(stack, "Trigger", table=table, handler=HANDLER)
    # The prop of each table class: stream= for Table, dynamo_stream= for TableV2.
    assert "dynamodb.Table(..., stream=StreamViewType" in str(caught.value)
    assert "dynamodb.TableV2(..., dynamo_stream=StreamViewType" in str(caught.value)


def test_a_kinesis_stream_given_as_the_table_is_a_type_error(new_stack: NewStack) -> None:
    stack = new_stack()
    stream = kinesis.Stream(stack, "Orders")
    with pytest.raises(TypeError, match=r"table=.* is a Stream, not a ITable\. Pass e\.g\. "):
        StreamTrigger(stack, "Trigger", table=stream, handler=HANDLER)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("prop", "value", "expected"),
    [
        ("stream", "orders", "IStream"),
        ("function", "orders-fn", "IFunction"),
        ("timeout", 30, "Duration"),
        ("tumbling_window", 60, "Duration"),
        ("on_failure_queue", "arn:aws:sqs:us-east-1:123456789012:q", "IQueue"),
        ("encryption_key", "alias/mine", "IKey"),
        ("alarm_topic", "arn:aws:sns:us-east-1:123456789012:t", "ITopic"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_prop_and_the_type(
    new_stack: NewStack, prop: str, value: object, expected: str
) -> None:
    stack = new_stack()
    with pytest.raises(TypeError, match=rf"^{prop}=.* is a \w+, not a {expected}\. Pass e\.g\."):
        StreamTrigger(stack, "Trigger", handler=HANDLER, **{prop: value})


def test_imported_resources_pass_the_type_checks(new_stack: NewStack) -> None:
    stack = new_stack()
    StreamTrigger(
        stack,
        "Trigger",
        stream=kinesis.Stream.from_stream_arn(
            stack, "Orders", "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
        ),
        function=lambda_.Function.from_function_arn(
            stack, "Fn", "arn:aws:lambda:us-east-1:123456789012:function:orders"
        ),
        alarm_topic=sns.Topic.from_topic_arn(
            stack, "Alarms", "arn:aws:sns:us-east-1:123456789012:alarms"
        ),
        encryption_key=kms.Key.from_key_arn(
            stack,
            "Key",
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
    )


def test_fails_when_stream_retention_is_given_for_dynamodb(new_stack: NewStack) -> None:
    with pytest.raises(ValueError, match=r"stream_retention applies only to Kinesis"):
        build(new_stack, stream_retention=Duration.days(2))


@pytest.mark.parametrize("retention", [Duration.hours(23), Duration.days(366)])
def test_fails_when_stream_retention_is_outside_kinesis_limits(
    new_stack: NewStack, retention: Duration
) -> None:
    with pytest.raises(ValueError, match=r"stream_retention=.*86,400 to 31,536,000"):
        build(new_stack, kinesis=True, stream_retention=retention)


def test_fails_when_function_and_function_props_are_both_given(new_stack: NewStack) -> None:
    stack = new_stack()
    function = lambda_.Function.from_function_name(stack, "F", "existing")
    with pytest.raises(
        ValueError, match=r"handler, memory_size configure the function this construct builds"
    ):
        StreamTrigger(stack, "Trigger", function=function, handler=HANDLER, memory_size=512)


def test_fails_when_neither_function_nor_handler_is_given(new_stack: NewStack) -> None:
    with pytest.raises(
        ValueError, match=r"handler=None: give the handler of the function to build"
    ):
        build(new_stack, handler=None)


@pytest.mark.parametrize("threshold", [Duration.seconds(30), Duration.hours(24)])
def test_fails_when_the_iterator_age_threshold_cannot_fire_in_time(
    new_stack: NewStack, threshold: Duration
) -> None:
    with pytest.raises(ValueError, match=r"iterator_age_alarm_threshold=.*60 to 86,399"):
        build(new_stack, iterator_age_alarm_threshold=threshold)


def test_function_imported_without_a_role_gets_a_warning_not_a_crash(new_stack: NewStack) -> None:
    from aws_cdk.assertions import Annotations

    stack = new_stack()
    function = lambda_.Function.from_function_name(stack, "Imported", "order-events")
    StreamTrigger(stack, "Trigger", function=function)
    template = template_of(stack)

    (mapping,) = template.find_resources("AWS::Lambda::EventSourceMapping").values()
    assert "order-events" in json.dumps(mapping["Properties"]["FunctionName"])
    template.resource_count_is("AWS::IAM::Policy", 0)
    Annotations.from_stack(stack).has_warning(
        "*", Match.string_like_regexp("imported without a role")
    )


def test_function_imported_with_its_role_is_granted(new_stack: NewStack) -> None:
    stack = new_stack()
    role = iam.Role.from_role_arn(
        stack, "Role", "arn:aws:iam::123456789012:role/order-events", mutable=True
    )
    function = lambda_.Function.from_function_attributes(
        stack,
        "Imported",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:order-events",
        role=role,
    )
    StreamTrigger(stack, "Trigger", function=function)

    template_of(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": ["order-events"],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": Match.array_with(["sqs:SendMessage"])})]
                )
            },
        },
    )


def test_the_metric_methods_give_the_metrics_the_alarms_watch(new_stack: NewStack) -> None:
    stack = new_stack()
    trigger = StreamTrigger(stack, "Trigger", handler=HANDLER)

    for role, metric in (
        ("errors", trigger.metric_errors()),
        ("throttles", trigger.metric_throttles()),
        ("iterator_age", trigger.metric_iterator_age()),
        ("dead_letter_queue_depth", trigger.metric_dead_letter_queue_depth()),
    ):
        watched = trigger.alarms[role].metric
        assert isinstance(watched, cloudwatch.Metric)
        assert (metric.namespace, metric.metric_name, metric.statistic) == (
            watched.namespace,
            watched.metric_name,
            watched.statistic,
        )
        assert stack.resolve(metric.dimensions) == stack.resolve(watched.dimensions)
    assert trigger.metric_iterator_age().metric_name == "IteratorAge"
    assert trigger.metric_errors(period=Duration.minutes(5)).period.to_minutes() == 5


def test_alarms_can_be_left_out(new_stack: NewStack) -> None:
    stack = new_stack()
    trigger = StreamTrigger(stack, "Trigger", handler=HANDLER, alarms=False)

    template_of(stack).resource_count_is("AWS::CloudWatch::Alarm", 0)
    assert trigger.alarms == {}
    assert trigger.metric_errors().metric_name == "Errors"


def test_the_default_child_is_the_event_source_mapping(new_stack: NewStack) -> None:
    trigger = StreamTrigger(new_stack(), "Trigger", handler=HANDLER)
    assert trigger.node.default_child is trigger.event_source_mapping
