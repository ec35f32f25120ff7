"""The streaming analytics example on the local cloud: window totals equal brute force."""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

import boto3
import pytest
from aws_cdk import App

from examples import StreamingAnalyticsStack
from lambda_blueprints.runtime.window_totals import handler as totals_handler
from lambda_blueprints.testing import LocalCloud
from lambda_blueprints.testing.clock import iso8601
from lambda_blueprints.testing.cloud import DeployedStack
from tests.conftest import CDK_CONTEXT

WINDOW = 30


@pytest.fixture(scope="module")
def stack() -> StreamingAnalyticsStack:
    return StreamingAnalyticsStack(App(context=CDK_CONTEXT), "StreamingAnalytics")


@pytest.fixture
def deployed(stack: StreamingAnalyticsStack) -> Iterator[tuple[LocalCloud, DeployedStack]]:
    totals_handler.dynamodb_client.cache_clear()
    totals_handler.sqs_client.cache_clear()
    with LocalCloud() as cloud:
        yield cloud, cloud.deploy(stack)
    totals_handler.dynamodb_client.cache_clear()
    totals_handler.sqs_client.cache_clear()


def run_orders(
    cloud: LocalCloud, stack: DeployedStack, windows: int
) -> dict[str, dict[str, Decimal]]:
    """Write orders to both sources across `windows` windows; return the expected totals."""
    rng = random.Random(51)
    orders = boto3.resource("dynamodb").Table(stack.physical_id("Orders"))
    kinesis = boto3.client("kinesis")
    expected: dict[str, dict[str, Decimal]] = {
        "orders-table": defaultdict(Decimal),
        "order-events": defaultdict(Decimal),
    }
    order_id = 0
    for _ in range(windows):
        start = iso8601(math.floor(cloud.clock.now() / WINDOW) * WINDOW, milliseconds=False)
        for _ in range(rng.randint(5, 25)):
            order_id += 1
            sales = Decimal(rng.randint(1, 100))
            orders.put_item(Item={"id": f"o-{order_id}", "sales": sales})
            expected["orders-table"][start] += sales
            kinesis.put_record(
                StreamName=stack.physical_id("OrderEvents"),
                Data=json.dumps({"Item": {"id": order_id, "sales": int(sales) * 2}}).encode(),
                PartitionKey=str(order_id),
            )
            expected["order-events"][start] += sales * 2
        cloud.run_until_idle(advance_clock=False)
        cloud.clock.advance(WINDOW)
    cloud.run_until_idle()
    return expected


def stored_totals(stack: DeployedStack) -> dict[str, dict[str, Decimal]]:
    items = boto3.resource("dynamodb").Table(stack.physical_id("SalesTotals")).scan()["Items"]
    found: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for item in items:
        assert item["part"] == "final"
        source = str(item["pk"]).split("#", 1)[0]
        found[source][str(item["windowStart"])] = Decimal(str(item["total"]))
    return found


def test_window_totals_equal_a_brute_force_sum(deployed: tuple[LocalCloud, DeployedStack]) -> None:
    cloud, stack = deployed

    expected = run_orders(cloud, stack, windows=4)

    found = stored_totals(stack)
    assert found == {source: dict(windows) for source, windows in expected.items()}
    finals = [i for i in cloud.log.invocations() if i.is_final_invoke_for_window]
    assert len(finals) == 8  # 4 windows x 2 sources, once each
    assert cloud.log.failures() == []


def test_faults_do_not_change_the_totals(deployed: tuple[LocalCloud, DeployedStack]) -> None:
    cloud, stack = deployed
    table_function = stack.physical_id("TableSalesTotals/Trigger/Function")
    stream_function = stack.physical_id("StreamSalesTotals/Trigger/Function")
    cloud.faults.inject(table_function, fail=2, duplicate=3)
    cloud.faults.inject(stream_function, throttle=2, duplicate=2)

    expected = run_orders(cloud, stack, windows=3)

    assert stored_totals(stack) == {source: dict(w) for source, w in expected.items()}
    assert cloud.log.failures() == []


def test_orders_without_sales_are_parked_and_left_out(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    orders = boto3.resource("dynamodb").Table(stack.physical_id("Orders"))
    orders.put_item(Item={"id": "o-1", "sales": 40})
    orders.put_item(Item={"id": "o-2", "note": "no sales attribute"})
    orders.put_item(Item={"id": "o-3", "sales": 2})

    cloud.run_until_idle()

    (total,) = stored_totals(stack)["orders-table"].values()
    assert total == 42
    queue = stack.physical_id("TableSalesTotals/Trigger/DeadLetterQueue")
    (message,) = boto3.client("sqs").receive_message(QueueUrl=queue)["Messages"]
    body = json.loads(message["Body"])
    assert body["reason"] == "MISSING_VALUE"
    assert body["record"]["dynamodb"]["Keys"] == {"id": {"S": "o-2"}}
