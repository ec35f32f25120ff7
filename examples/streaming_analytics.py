"""Near-real-time sales totals over 30-second tumbling windows, from DynamoDB and Kinesis."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from constructs import Construct

from lambda_blueprints import TumblingWindowAggregator

#: The streaming analytics post aggregates over 30-second windows.
WINDOW = Duration.seconds(30)
HANDLER = "lambda_blueprints.runtime.window_totals.handler.lambda_handler"


class StreamingAnalyticsStack(Stack):
    """The sales totals of the streaming analytics post, for both of its sources.

    Orders written to the ``Orders`` table and order events put on the ``OrderEvents``
    Kinesis stream are summed per 30-second window and shard; each window's total lands in
    one shared ``SalesTotals`` table, keyed by source and shard, then window.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)

        orders = dynamodb.Table(
            self,
            "Orders",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=dynamodb.StreamViewType.NEW_IMAGE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.DESTROY,
        )
        order_events = kinesis.Stream(
            self,
            "OrderEvents",
            shard_count=1,
            encryption=kinesis.StreamEncryption.MANAGED,
            retention_period=Duration.hours(24),
        )
        totals = dynamodb.Table(
            self,
            "SalesTotals",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.DESTROY,
        )
        TumblingWindowAggregator(
            self,
            "TableSalesTotals",
            table=orders,
            window=WINDOW,
            handler=HANDLER,
            results_table=totals,
            environment={"VALUE_ATTRIBUTE": "sales", "SOURCE_NAME": "orders-table"},
        )
        TumblingWindowAggregator(
            self,
            "StreamSalesTotals",
            stream=order_events,
            window=WINDOW,
            handler=HANDLER,
            results_table=totals,
            environment={"VALUE_ATTRIBUTE": "sales", "SOURCE_NAME": "order-events"},
        )

        CfnOutput(self, "OrdersTableName", value=orders.table_name)
        CfnOutput(self, "OrderEventsStreamName", value=order_events.stream_name)
        CfnOutput(self, "SalesTotalsTableName", value=totals.table_name)
