"""A shop built from your own code: order changes become events, shipments and revenue.

Every function here runs code of this project's own folder (``shop_functions/``, with its
``requirements.txt``); the library gives them the baseline, the wiring and the runtime
helpers. This is how a stack of yours looks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from lambda_blueprints import KinesisFanOut, StreamTrigger, TumblingWindowAggregator

#: The shop's handler folder. A path relative to where ``cdk synth`` runs works as well.
FUNCTIONS = str(Path(__file__).resolve().parent / "shop_functions")
#: Revenue is summed over one-minute windows.
REVENUE_WINDOW = Duration.minutes(1)


class ShopStack(Stack):
    """Orders table -> order events (Kinesis) -> shipments and per-minute paid revenue.

    * ``Orders``: a table of orders; its stream triggers ``OrderEvents``.
    * ``OrderEvents`` (``order_events.handler``): each status change of an order becomes
      one event on the ``Events`` stream, with an id (a ULID) that is the same on retries.
    * ``Events``: a Kinesis stream sized for 100 events/s of about 300 bytes.
    * ``Shipping`` (``shipping.handler``, enhanced fan-out): a paid order gets one shipment.
    * ``Revenue`` (``revenue.handler``): paid revenue per currency per minute, with the
      library's tumbling-window helper.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)

        orders = _table(
            self, "Orders", "orderId", stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES
        )
        shipments = _table(self, "Shipments", "orderId")

        events = KinesisFanOut(
            self, "Events", records_per_second=100, average_record_size=Size.bytes(300)
        )
        order_events = StreamTrigger(
            self,
            "OrderEvents",
            table=orders,
            code=FUNCTIONS,
            handler="order_events.handler",
            environment={"EVENTS_STREAM_NAME": events.stream.stream_name},
        )
        events.stream.grant_write(order_events.function)

        shipping = events.add_consumer(
            "Shipping",
            enhanced_fan_out=True,
            code=FUNCTIONS,
            handler="shipping.handler",
            environment={"SHIPMENTS_TABLE_NAME": shipments.table_name},
        )
        shipments.grant_write_data(shipping.function)

        revenue = TumblingWindowAggregator(
            self,
            "Revenue",
            stream=events.stream,
            window=REVENUE_WINDOW,
            code=FUNCTIONS,
            handler="revenue.handler",
            results_table_removal_policy=RemovalPolicy.DESTROY,
        )
        events.reserve("Revenue")

        CfnOutput(self, "OrdersTableName", value=orders.table_name)
        CfnOutput(self, "ShipmentsTableName", value=shipments.table_name)
        CfnOutput(self, "RevenueTableName", value=revenue.results_table.table_name)


def _table(
    scope: Construct,
    construct_id: str,
    key: str,
    *,
    stream: dynamodb.StreamViewType | None = None,
) -> dynamodb.Table:
    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        stream=stream,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        removal_policy=RemovalPolicy.DESTROY,
    )
