"""LocalCloud with a user's own stack: Kinesis -> function -> SQS -> function -> DynamoDB."""

from __future__ import annotations

import base64
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from aws_cdk import App, DefaultStackSynthesizer, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs

from lambda_blueprints import StreamTrigger
from lambda_blueprints.testing import DeployedStack, LocalCloud
from tests.conftest import CDK_CONTEXT

ROUTER = textwrap.dedent(
    """
    import base64, json, os
    import boto3

    def handler(event, context):
        queue = boto3.client("sqs")
        failures = []
        for record in event["Records"]:
            order = json.loads(base64.b64decode(record["kinesis"]["data"]))
            if order["kind"] == "poison":
                failures.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
                continue
            queue.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(order))
        return {"batchItemFailures": failures}
    """
)

WRITER = textwrap.dedent(
    """
    import json, os
    import boto3
    from pricing import total

    def handler(event, context):
        table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
        for record in event["Records"]:
            order = json.loads(record["body"])
            table.put_item(Item={"orderId": order["id"], "total": total(order)})
        return {"batchItemFailures": []}
    """
)


def build_stack(asset_dir: Path) -> Stack:
    stack = Stack(
        App(context=CDK_CONTEXT),
        "Orders",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    stream = kinesis.Stream(stack, "Stream", shard_count=2)
    queue = sqs.Queue(stack, "Queue")
    table = dynamodb.Table(
        stack,
        "Totals",
        partition_key=dynamodb.Attribute(name="orderId", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
    )
    router = lambda_.Function(
        stack,
        "Router",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(ROUTER),
        environment={"QUEUE_URL": queue.queue_url},
    )
    StreamTrigger(
        stack,
        "RouteOrders",
        stream=stream,
        function=router,
        batch_size=10,
        retry_attempts=1,
        filters=[lambda_.FilterCriteria.filter({"data": {"kind": ["order", "poison"]}})],
    )
    writer = lambda_.Function(
        stack,
        "Writer",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="writer.handler",
        code=lambda_.Code.from_asset(str(asset_dir)),
        environment={"TABLE_NAME": table.table_name},
    )
    writer.add_event_source(event_sources.SqsEventSource(queue, report_batch_item_failures=True))
    return stack


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[tuple[LocalCloud, DeployedStack]]:
    (tmp_path / "writer.py").write_text(WRITER)
    (tmp_path / "pricing.py").write_text(
        "def total(order):\n"
        "    return sum(line['qty'] * line['price'] for line in order['lines'])\n"
    )
    stack = build_stack(tmp_path)
    with LocalCloud() as cloud:
        yield cloud, cloud.deploy(stack)


def put_orders(deployed: DeployedStack, orders: list[dict[str, object]]) -> None:
    client = boto3.client("kinesis")
    client.put_records(
        StreamName=deployed.physical_id("Stream"),
        Records=[
            {"Data": json.dumps(order).encode(), "PartitionKey": str(order["id"])}
            for order in orders
        ],
    )


def test_records_flow_through_streams_queues_and_functions(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    orders = [
        {"id": f"o-{n}", "kind": "order", "lines": [{"qty": n, "price": 2}]} for n in range(1, 9)
    ]
    put_orders(stack, [*orders, {"id": "p-1", "kind": "ping", "lines": []}])

    cloud.run_until_idle()

    table = boto3.resource("dynamodb").Table(stack.physical_id("Totals"))
    totals = {item["orderId"]: item["total"] for item in table.scan()["Items"]}
    assert totals == {f"o-{n}": 2 * n for n in range(1, 9)}
    delivered = [
        json.loads(base64.b64decode(r["kinesis"]["data"]))["kind"]
        for i in cloud.log.invocations()
        if i.source == "kinesis"
        for r in i.event["Records"]
    ]
    assert "ping" not in delivered
    assert {i.source for i in cloud.log.invocations()} == {"kinesis", "sqs"}
    assert cloud.log.failures() == []


def test_poison_records_end_in_the_on_failure_queue_after_their_retries(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    put_orders(stack, [{"id": "x-1", "kind": "poison", "lines": []}])

    cloud.run_until_idle()

    (failure,) = cloud.log.failures()
    assert failure.condition == "RetryAttemptsExhausted"
    assert failure.body["requestContext"]["approximateInvokeCount"] == 2
    assert failure.body["KinesisBatchInfo"]["streamArn"] == stack.attribute("Stream", "Arn")
    queue_url = stack.physical_id("RouteOrders/DeadLetterQueue")
    (message,) = boto3.client("sqs").receive_message(QueueUrl=queue_url)["Messages"]
    assert json.loads(message["Body"]) == failure.body


def test_deploys_from_a_cloud_assembly_folder(tmp_path: Path) -> None:
    asset = tmp_path / "asset"
    asset.mkdir()
    (asset / "writer.py").write_text(WRITER)
    (asset / "pricing.py").write_text("def total(order):\n    return 0\n")
    stack = build_stack(asset)
    assembly = stack.node.root.synth()  # type: ignore[union-attr]

    with LocalCloud() as cloud:
        deployed = cloud.deploy(assembly_dir=assembly.directory, stack_name="Orders")

        assert set(cloud.functions) == {
            deployed.physical_id("Router"),
            deployed.physical_id("Writer"),
        }
        assert len(cloud.stream_mappings) == 1
        assert len(cloud.queue_mappings) == 1
        assert ("Orders", deployed.resource("Writer").logical_id, "AWS::Lambda::Function") not in (
            cloud.skipped
        )


def test_direct_invocations_report_function_errors_without_raising(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed

    result = cloud.invoke(stack.physical_id("Writer"), {"Records": [{"body": "not json"}]})

    assert result.function_error == "Unhandled"
    assert result.error_type == "JSONDecodeError"
    assert cloud.log.invocations()[-1].source == "direct"


def test_deploy_outside_the_context_manager_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="context manager"):
        LocalCloud().deploy(build_stack(tmp_path))
