"""The shop, built from its own handler code, on the local cloud.

These tests use only what the installed library offers (``lambda_blueprints.testing``) and
the project's own stack, as a test suite of your project would.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

import boto3
import pytest
from aws_cdk import App

from examples.shop import ShopStack
from lambda_blueprints.testing import LocalCloud
from lambda_blueprints.testing.cloud import DeployedStack

CURRENCIES = ("EUR", "USD", "GBP")


@pytest.fixture(scope="module")
def shop() -> ShopStack:
    return ShopStack(App(), "Shop")


@pytest.fixture
def deployed(shop: ShopStack) -> Iterator[tuple[LocalCloud, DeployedStack]]:
    with LocalCloud() as cloud:
        yield cloud, cloud.deploy(shop)


def failure_reasons(stack: DeployedStack, trigger: str) -> list[str]:
    sqs = boto3.client("sqs")
    url = stack.physical_id(f"{trigger}/DeadLetterQueue")
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", [])
    return sorted(m["MessageAttributes"]["reason"]["StringValue"] for m in messages)


def test_paid_orders_are_shipped_once_and_summed_per_currency(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    orders = boto3.resource("dynamodb").Table(stack.physical_id("Orders"))
    rng = random.Random(20261203)
    placed = []
    for number in range(30):
        order = {
            "orderId": f"order-{number}",
            "status": "NEW",
            "amount": Decimal(rng.randint(100, 99_999)) / 100,
            "currency": rng.choice(CURRENCIES),
        }
        orders.put_item(Item=order)
        placed.append(order)
    cloud.run_until_idle(advance_clock=False)

    # Shipping gets every event twice: a shipment is still made once per paid order.
    cloud.faults.inject(stack.physical_id("Events/Shipping/Function"), duplicate=1_000)
    expected: dict[str, Decimal] = defaultdict(Decimal)
    paid = set()
    for order in rng.sample(placed, 18):
        orders.update_item(
            Key={"orderId": order["orderId"]},
            UpdateExpression="SET #s = :paid",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":paid": "PAID"},
        )
        expected[order["currency"]] += order["amount"]
        paid.add(order["orderId"])
    cloud.run_until_idle()

    shipments = boto3.resource("dynamodb").Table(stack.physical_id("Shipments")).scan()["Items"]
    assert sorted(s["orderId"] for s in shipments) == sorted(paid)
    assert {s["status"] for s in shipments} == {"READY_TO_SHIP"}

    revenue = boto3.resource("dynamodb").Table(stack.physical_id("Revenue/ResultsTable"))
    summed: dict[str, Decimal] = defaultdict(Decimal)
    for item in revenue.scan()["Items"]:
        assert str(item["sk"]).endswith("#final")
        for currency, total in item["totals"].items():
            summed[currency] += Decimal(str(total))
    assert summed == expected
    assert cloud.log.failures() == []


def test_order_events_keep_their_ids_on_retries(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    # Every batch is put twice (a retried batch): the events carry the same ids.
    cloud.faults.inject(stack.physical_id("OrderEvents/Function"), duplicate=1_000)
    orders = boto3.resource("dynamodb").Table(stack.physical_id("Orders"))
    orders.put_item(
        Item={"orderId": "o-1", "status": "NEW", "amount": Decimal("5.00"), "currency": "EUR"}
    )
    cloud.run_until_idle(advance_clock=False)

    kinesis = boto3.client("kinesis")
    name = stack.physical_id("Events/Stream")
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    events = [json.loads(r["Data"]) for r in kinesis.get_records(ShardIterator=iterator)["Records"]]
    assert len(events) == 2
    assert events[0] == events[1]
    assert len(events[0]["eventId"]) == 26  # a ULID, from the folder's own dependency


def test_an_order_no_retry_can_fix_is_parked_and_the_others_go_on(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    orders = boto3.resource("dynamodb").Table(stack.physical_id("Orders"))
    orders.put_item(
        Item={"orderId": "bad-amount", "status": "NEW", "amount": "a lot", "currency": "EUR"}
    )
    orders.put_item(
        Item={
            "orderId": "bad-currency",
            "status": "NEW",
            "amount": Decimal("1.00"),
            "currency": "XXX",
        }
    )
    orders.put_item(
        Item={"orderId": "good", "status": "PAID", "amount": Decimal("9.99"), "currency": "USD"}
    )
    cloud.run_until_idle()

    assert failure_reasons(stack, "OrderEvents") == ["INVALID_AMOUNT", "INVALID_CURRENCY"]
    shipments = boto3.resource("dynamodb").Table(stack.physical_id("Shipments")).scan()["Items"]
    assert [s["orderId"] for s in shipments] == ["good"]
    assert cloud.log.failures() == []
