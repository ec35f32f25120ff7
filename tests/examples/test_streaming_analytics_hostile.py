"""Hostile Kinesis records through the streaming analytics example on the local cloud.

Seeded, generated order events, most of them built to be refused (deep nesting, JSON that
is not JSON, numbers no total can hold exactly, values of the wrong type, huge payloads),
mixed with good ones. Whatever arrives: the pipeline never stalls or drops a batch, every
bad record is parked with its reason, and the stored totals are the exact sum of the good
records, each counted once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import boto3
import pytest
from aws_cdk import App
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from examples import StreamingAnalyticsStack
from lambda_blueprints.runtime.window_totals import handler as totals_handler
from lambda_blueprints.testing import LocalCloud
from tests.conftest import CDK_CONTEXT

pytestmark = pytest.mark.hostile


@dataclass(frozen=True)
class Order:
    """One record to put, and what it adds (None: it must be parked)."""

    data: bytes
    adds: Decimal | None


def _deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


# Values a total holds exactly: at most 6 decimal places, magnitude below 1E+25.
good_values = st.decimals(
    min_value=Decimal("-1E+12"), max_value=Decimal("1E+12"), places=6, allow_nan=False
)


@st.composite
def good_orders(draw: st.DrawFn) -> Order:
    value = draw(good_values)
    shape = draw(st.sampled_from(["plain", "item", "string", "padded", "extra"]))
    text = str(value)
    if shape == "plain":
        data = b'{"sales": ' + text.encode() + b"}"
    elif shape == "item":
        data = b'{"Item": {"id": 7, "sales": ' + text.encode() + b"}}"
    elif shape == "string":
        data = json.dumps({"sales": text}).encode()
    elif shape == "padded":
        data = json.dumps({"sales": text, "pad": "x" * 200_000}).encode()
    else:
        data = json.dumps({"sales": text, "note": "\u00e9\u4e2d\U0001f600", "n": [1, 2]}).encode()
    return Order(data, value)


hostile_data = st.one_of(
    st.integers(min_value=1_000, max_value=5_000).map(lambda n: b'{"sales": ' + _deep(n) + b"}"),
    st.integers(min_value=1_000, max_value=5_000).map(_deep),
    st.sampled_from(
        [
            b'{"sales": NaN}',
            b'{"sales": Infinity}',
            b'{"sales": -Infinity}',
            b'{"sales": 1e400}',
            b'{"sales": -1e400}',
            b'{"sales": 1E+100}',
            b'{"sales": 1E-20}',
            b'{"sales": 0.1234567}',
            b'{"sales": 10000000000000000000000000}',
            b'{"sales": "1e999999999"}',
            b'{"sales": "NaN"}',
            b'{"sales": "twelve"}',
            b'{"sales": true}',
            b'{"sales": null}',
            b'{"sales": []}',
            b'{"sales": {"amount": 5}}',
            b'{"Item": 5}',
            b'{"Item": {"price": 5}}',
            b'{"price": 5}',
            b"[1, 2]",
            b'"sales"',
            b"5",
            b"",
            b"\xff\xfe\x00",
            b'{"sales": 5',
            b'{"sales": 5}}',
        ]
    ),
    st.integers(min_value=4_400, max_value=6_000).map(lambda n: b'{"sales": ' + b"9" * n + b"}"),
    st.binary(min_size=1, max_size=64).filter(lambda b: not b.strip().startswith(b"{")),
)
hostile_orders = hostile_data.map(lambda data: Order(data, None))
orders = st.lists(
    st.one_of(good_orders(), hostile_orders, hostile_orders), min_size=40, max_size=80
)


@pytest.fixture(scope="module")
def stack() -> StreamingAnalyticsStack:
    return StreamingAnalyticsStack(App(context=CDK_CONTEXT), "StreamingAnalytics")


@contextmanager
def local_cloud() -> Iterator[LocalCloud]:
    # The handler caches its clients; each generated batch gets a new local cloud.
    totals_handler.dynamodb_client.cache_clear()
    totals_handler.sqs_client.cache_clear()
    try:
        with LocalCloud() as cloud:
            yield cloud
    finally:
        totals_handler.dynamodb_client.cache_clear()
        totals_handler.sqs_client.cache_clear()


def drain(queue_url: str) -> list[dict[str, object]]:
    sqs = boto3.client("sqs")
    bodies: list[dict[str, object]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


@seed(20261203)
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=orders)
def test_hostile_order_events_are_parked_and_the_rest_summed_exactly(
    stack: StreamingAnalyticsStack, batch: list[Order]
) -> None:
    with local_cloud() as cloud:
        deployed = cloud.deploy(stack)
        kinesis = boto3.client("kinesis")
        bad_sequence_numbers = set()
        for index, order in enumerate(batch):
            put = kinesis.put_record(
                StreamName=deployed.physical_id("OrderEvents"),
                Data=order.data,
                PartitionKey=f"order-{index}",
            )
            if order.adds is None:
                bad_sequence_numbers.add(put["SequenceNumber"])

        cloud.run_until_idle()

        items = boto3.resource("dynamodb").Table(deployed.physical_id("SalesTotals")).scan()
        stored = sum((Decimal(str(i["total"])) for i in items["Items"]), Decimal(0))
        counted = sum(int(i["count"]) for i in items["Items"])
        good = [o.adds for o in batch if o.adds is not None]
        assert stored == sum(good, Decimal(0))
        assert counted == len(good)
        parked = drain(deployed.physical_id("StreamSalesTotals/Trigger/DeadLetterQueue"))
        assert {body["sequenceNumber"] for body in parked} == bad_sequence_numbers
        assert len(parked) == len(bad_sequence_numbers)
        assert all(body["reason"] and body["detail"] for body in parked)
        # No batch was given up on: nothing went to the mapping's on-failure destination.
        assert cloud.log.failures() == []
