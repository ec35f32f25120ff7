"""TumblingWindowAggregator: template, grants, validation, nag."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from syrupy.assertion import SnapshotAssertion

from lambda_blueprints import TumblingWindowAggregator
from tests.conftest import inline_function, normalize_template

HANDLER = "lambda_blueprints.runtime.window_totals.handler.lambda_handler"
NewStack = Callable[..., Stack]


def source(stack: Stack) -> kinesis.Stream:
    return kinesis.Stream(stack, "Orders", encryption=kinesis.StreamEncryption.MANAGED)


def nag_findings(stack: Stack) -> list[str]:
    return [
        v.rule_name
        for pack in (AwsSolutionsChecks(), ServerlessChecks())
        for v in pack.validate_scope(stack).violations
    ]


def test_mapping_has_the_window_and_partial_failures(new_stack: NewStack) -> None:
    stack = new_stack()
    TumblingWindowAggregator(
        stack, "Totals", stream=source(stack), window=Duration.seconds(30), handler=HANDLER
    )

    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "TumblingWindowInSeconds": 30,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BisectBatchOnFunctionError": True,
            "ParallelizationFactor": 1,
            "MaximumRetryAttempts": 3,
            "StartingPosition": "TRIM_HORIZON",
        },
    )


def test_results_table_is_written_with_put_item_only(new_stack: NewStack) -> None:
    stack = new_stack()
    aggregator = TumblingWindowAggregator(
        stack,
        "Totals",
        stream=source(stack),
        window=Duration.minutes(15),
        handler=HANDLER,
        environment={"VALUE_ATTRIBUTE": "amount"},
    )
    template = Template.from_stack(stack)
    results_id = stack.get_logical_id(aggregator.results_table.node.default_child)  # type: ignore[arg-type]

    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": Match.object_like(
                {
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "SSESpecification": {"SSEEnabled": True},
                }
            ),
            "DeletionPolicy": "Retain",
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {"RESULTS_TABLE_NAME": {"Ref": results_id}, "VALUE_ATTRIBUTE": "amount"}
                )
            }
        },
    )
    (policy,) = template.find_resources("AWS::IAM::Policy").values()
    on_results = [
        s["Action"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Resource"] == {"Fn::GetAtt": [results_id, "Arn"]}
    ]
    assert on_results == ["dynamodb:PutItem"]


def test_existing_function_and_results_table(new_stack: NewStack) -> None:
    stack = new_stack()
    table = dynamodb.Table(
        stack,
        "Orders",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_IMAGE,
    )
    results = dynamodb.Table.from_table_name(stack, "Results", "results")
    function = inline_function(stack, returns="{'state': {}}")
    aggregator = TumblingWindowAggregator(
        stack,
        "Totals",
        table=table,
        window=Duration.seconds(60),
        function=function,
        results_table=results,
    )
    template = Template.from_stack(stack)

    assert aggregator.function is function
    template.resource_count_is("AWS::Lambda::Function", 1)
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping", {"TumblingWindowInSeconds": 60}
    )
    # The user's function gets exactly what the aggregate needs: PutItem on the results.
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "dynamodb:PutItem",
                                "Effect": "Allow",
                                "Resource": {
                                    "Fn::Join": [
                                        "",
                                        Match.array_with(
                                            [Match.string_like_regexp(":table/results$")]
                                        ),
                                    ]
                                },
                            }
                        )
                    ]
                )
            },
            "Roles": [{"Ref": Match.string_like_regexp("^MineServiceRole")}],
        },
    )


def test_a_kinesis_source_can_start_at_a_timestamp(new_stack: NewStack) -> None:
    stack = new_stack()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    TumblingWindowAggregator(
        stack,
        "Totals",
        stream=source(stack),
        window=Duration.seconds(30),
        handler=HANDLER,
        starting_position=lambda_.StartingPosition.AT_TIMESTAMP,
        starting_position_timestamp=start,
    )

    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": start.timestamp()},
    )


def test_snapshot(new_stack: NewStack, snapshot_json: SnapshotAssertion) -> None:
    stack = new_stack()
    TumblingWindowAggregator(
        stack, "Totals", stream=source(stack), window=Duration.seconds(30), handler=HANDLER
    )
    assert normalize_template(Template.from_stack(stack).to_json()) == snapshot_json


def test_nag_clean(new_stack: NewStack) -> None:
    stack = new_stack()
    TumblingWindowAggregator(
        stack, "Totals", stream=source(stack), window=Duration.seconds(30), handler=HANDLER
    )
    assert nag_findings(stack) == []


def test_nag_clean_with_a_customer_managed_key(new_stack: NewStack) -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    TumblingWindowAggregator(
        stack,
        "Totals",
        stream=source(stack),
        window=Duration.seconds(30),
        handler=HANDLER,
        encryption_key=key,
    )
    assert nag_findings(stack) == []


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (Duration.seconds(0), r"window=0 seconds .*1 to 900"),
        (Duration.seconds(901), r"window=15 minutes 1 second"),
        (Duration.millis(1500), r"window=.*whole seconds"),
    ],
)
def test_fails_when_the_window_is_outside_lambda_limits(
    new_stack: NewStack, window: Duration, message: str
) -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=message):
        TumblingWindowAggregator(
            stack, "Totals", stream=source(stack), window=window, handler=HANDLER
        )


def test_a_consumer_alone_is_a_source(new_stack: NewStack) -> None:
    stack = new_stack()
    consumer = kinesis.StreamConsumer(
        stack, "Consumer", stream=source(stack), stream_consumer_name="totals"
    )
    TumblingWindowAggregator(
        stack, "Totals", consumer=consumer, window=Duration.seconds(30), handler=HANDLER
    )

    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [Match.string_like_regexp("Consumer"), "ConsumerARN"]},
            "TumblingWindowInSeconds": 30,
        },
    )


def test_a_window_that_is_a_bare_number_is_a_type_error(new_stack: NewStack) -> None:
    stack = new_stack()
    with pytest.raises(TypeError, match=r"^window=60 is a int, not a Duration\. Pass e\.g\."):
        TumblingWindowAggregator(
            stack,
            "Totals",
            stream=source(stack),
            window=60,
            handler=HANDLER,  # type: ignore[arg-type]
        )


def test_your_own_function_finds_the_results_table_and_failure_queue(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    mine = inline_function(stack)
    totals = TumblingWindowAggregator(
        stack, "Totals", stream=source(stack), window=Duration.seconds(30), function=mine
    )

    variables = Template.from_stack(stack).find_resources("AWS::Lambda::Function")[
        stack.get_logical_id(mine.node.default_child)  # type: ignore[arg-type]
    ]["Properties"]["Environment"]["Variables"]
    assert variables == {
        "RESULTS_TABLE_NAME": {
            "Ref": stack.get_logical_id(totals.results_table.node.default_child)  # type: ignore[arg-type]
        },
        "FAILURE_QUEUE_URL": {
            "Ref": stack.get_logical_id(totals.dead_letter_queue.node.default_child)  # type: ignore[arg-type]
        },
    }


def test_fails_without_a_source(new_stack: NewStack) -> None:
    with pytest.raises(ValueError, match=r"table=None and stream=None"):
        TumblingWindowAggregator(
            new_stack(), "Totals", window=Duration.seconds(30), handler=HANDLER
        )


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"batch_size": 0}, r"batch_size=0"),
        ({"retry_attempts": 10_001}, r"retry_attempts=10001"),
        ({"max_record_age": Duration.seconds(30)}, r"max_record_age=30 seconds"),
        ({"memory_size": 64}, r"memory_size=64"),
    ],
)
def test_fails_when_trigger_props_are_out_of_range(
    new_stack: NewStack, props: dict[str, Any], message: str
) -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=message):
        TumblingWindowAggregator(
            stack,
            "Totals",
            stream=source(stack),
            window=Duration.seconds(30),
            handler=HANDLER,
            **props,
        )


def test_metrics_and_alarms_are_the_triggers(new_stack: NewStack) -> None:
    stack = new_stack()
    totals = TumblingWindowAggregator(
        stack,
        "Totals",
        stream=source(stack),
        window=Duration.seconds(30),
        handler=HANDLER,
        alarms=False,
    )

    Template.from_stack(stack).resource_count_is("AWS::CloudWatch::Alarm", 0)
    assert totals.alarms == {}
    for name in ("errors", "throttles", "iterator_age", "dead_letter_queue_depth"):
        mine = getattr(totals, f"metric_{name}")()
        theirs = getattr(totals.trigger, f"metric_{name}")()
        assert (mine.metric_name, stack.resolve(mine.dimensions)) == (
            theirs.metric_name,
            stack.resolve(theirs.dimensions),
        )
