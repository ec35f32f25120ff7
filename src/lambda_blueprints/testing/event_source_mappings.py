"""``AWS::Lambda::EventSourceMapping``: wire a function to a stream or a queue.

DynamoDB and Kinesis streams get a
:class:`~lambda_blueprints.testing.streams.StreamEventSourceMapping`; SQS queues an
:class:`~lambda_blueprints.testing.sqs.SqsEventSourceMapping`
(:func:`~lambda_blueprints.testing.sqs.deploy_queue_mapping`). Mappings are kept in
:class:`StreamMappings` and :class:`~lambda_blueprints.testing.sqs.QueueMappings`.

Kafka mappings (Amazon MSK, self-managed Kafka) get a placeholder listed in
``LocalCloud.skipped``: the local cloud runs no Kafka, and a stack that has one still
deploys so that its other resources can be tested.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys
from lambda_blueprints.testing.kinesis import KinesisReads, kinesis_retention
from lambda_blueprints.testing.lambda_ import record_filter
from lambda_blueprints.testing.sqs import deploy_queue_mapping
from lambda_blueprints.testing.streams import (
    DynamoDBStreamSource,
    InvalidParameterValueError,
    KinesisStreamSource,
    StreamEventSourceMapping,
)


class StreamMappings(dict[str, StreamEventSourceMapping]):
    """The local cloud's stream event source mappings, by UUID."""


@deploys("AWS::Lambda::EventSourceMapping")
def _event_source_mapping(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    if _is_kafka(props):
        stack.skipped.append((stack.stack_name, logical_id, kind))
        return Resource(logical_id, kind, "", f"{logical_id}-local", emulated=False)
    function = stack.context.function(str(props["FunctionName"]))
    source_arn = str(props["EventSourceArn"])
    # UNSPECIFIED: an enhanced fan-out mapping delivers the same records as a polling
    # one (pushed rather than polled), with the stream ARN in eventSourceARN.
    source_arn = source_arn.split("/consumer/", 1)[0]
    mapping_id = str(uuid.uuid4())
    service = source_arn.split(":")[2]
    if service == "sqs":
        return deploy_queue_mapping(stack, logical_id, mapping_id, function, source_arn, props)
    if service not in ("dynamodb", "kinesis"):
        raise NotImplementedError(
            f"{logical_id}: event source mappings from {service} are not emulated"
        )
    if props.get("DestinationConfig", {}).get("OnSuccess"):
        raise InvalidParameterValueError(
            f"{logical_id}: stream event source mappings take only an OnFailure destination"
        )
    destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    source: Any = (
        DynamoDBStreamSource(
            source_arn, client=stack.context.client("dynamodbstreams"), clock=stack.context.clock
        )
        if service == "dynamodb"
        else KinesisStreamSource(
            source_arn,
            client=stack.service(KinesisReads).reader,
            role_arn=function.role_arn,
            clock=stack.context.clock,
            retention_seconds=kinesis_retention(stack, source_arn),
            shared_reads=stack.service(KinesisReads).shared_reads,
        )
    )
    mapping = StreamEventSourceMapping(
        source=source,
        function_name=function.name,
        function_arn=function.arn,
        invoke=stack.context.invoke,
        log=stack.context.log,
        clock=stack.context.clock,
        send_failure=lambda arn, body: stack.context.send_failure(arn, body, mapping_id),
        uuid=mapping_id,
        batch_size=int(props.get("BatchSize", 100)),
        maximum_batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
        starting_position=props.get("StartingPosition", "TRIM_HORIZON"),
        starting_position_timestamp=props.get("StartingPositionTimestamp"),
        bisect_batch_on_function_error=bool(props.get("BisectBatchOnFunctionError", False)),
        report_batch_item_failures="ReportBatchItemFailures"
        in props.get("FunctionResponseTypes", []),
        maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
        maximum_record_age_seconds=int(props.get("MaximumRecordAgeInSeconds", -1)),
        parallelization_factor=int(props.get("ParallelizationFactor", 1)),
        tumbling_window_seconds=int(props.get("TumblingWindowInSeconds", 0)),
        on_failure_destination=destination,
        record_filter=record_filter(props.get("FilterCriteria"), service),
        enabled=bool(props.get("Enabled", True)),
    )
    stack.service(StreamMappings)[mapping_id] = mapping
    return Resource(logical_id, "AWS::Lambda::EventSourceMapping", "", mapping_id)


def _is_kafka(props: Mapping[str, Any]) -> bool:
    """Whether a mapping reads Kafka: an MSK cluster ARN, or self-managed brokers (no ARN)."""
    if "SelfManagedEventSource" in props:
        return True
    return str(props.get("EventSourceArn", "")).split(":")[2:3] == ["kafka"]
