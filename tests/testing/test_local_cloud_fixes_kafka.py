"""Kafka event source mappings deploy as placeholders: the local cloud does not run Kafka."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_secretsmanager as secretsmanager

from lambda_blueprints.testing import LocalCloud

NewStack = Callable[..., Stack]
CLUSTER_ARN = (
    "arn:aws:kafka:us-east-1:123456789012:cluster/orders/abcd1234-ab12-cd34-ef56-abcdef123456-1"
)


def _kafka_stack(new_stack: NewStack, kind: str) -> tuple[Stack, str]:
    stack = new_stack("Kafka")
    function = lambda_.Function(
        stack,
        "Consumer",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )
    source: lambda_.IEventSource
    if kind == "msk":
        source = event_sources.ManagedKafkaEventSource(
            cluster_arn=CLUSTER_ARN,
            topic="orders",
            starting_position=lambda_.StartingPosition.LATEST,
        )
    else:
        source = event_sources.SelfManagedKafkaEventSource(
            bootstrap_servers=["broker-1.example.com:9092"],
            topic="orders",
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            secret=secretsmanager.Secret.from_secret_name_v2(stack, "Credentials", "kafka"),
        )
    function.add_event_source(source)
    mappings = [
        child
        for child in stack.node.find_all()
        if getattr(child, "cfn_resource_type", None) == "AWS::Lambda::EventSourceMapping"
    ]
    return stack, stack.get_logical_id(mappings[0])  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["msk", "self-managed"])
def test_a_kafka_mapping_deploys_as_a_placeholder(new_stack: NewStack, kind: str) -> None:
    stack, logical_id = _kafka_stack(new_stack, kind)
    with LocalCloud() as cloud:
        deployed = cloud.deploy(stack)

        assert ("Kafka", logical_id, "AWS::Lambda::EventSourceMapping") in cloud.skipped
        resource = deployed.resources[logical_id]
        assert resource.ref == f"{logical_id}-local"
        assert not resource.emulated
        assert cloud.stream_mappings == {}
        assert cloud.queue_mappings == {}
        # The function itself is deployed and runs; nothing feeds it.
        assert cloud.invoke("Consumer", {"records": {}}).ok
        cloud.run_until_idle()
        assert len(cloud.log.invocations()) == 1
