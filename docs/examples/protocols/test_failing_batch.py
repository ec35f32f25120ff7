"""A failing stream batch, end to end, on the local cloud's stream engine.

The mapping has StreamTrigger's defaults: bisection on error, partial batch responses,
3 retries, records older than 24 hours discarded, failures recorded in a queue.
"""

import base64
import json
import os
from unittest import mock

import boto3
import stream_handler
from moto import mock_aws

from lambda_blueprints.testing import (
    ActivityLog,
    Clock,
    InvokeResult,
    LambdaContext,
    MemoryStream,
    StreamEventSourceMapping,
)
from lambda_blueprints.testing.streams import run_mappings

FAILURE_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:failures"


def strict_handler(event, context):
    """Raise on any record it cannot read: the whole batch fails."""
    for record in event["Records"]:
        json.loads(base64.b64decode(record["kinesis"]["data"]))
    return {"batchItemFailures": []}


def run(handler, writes):
    """Deliver ``writes`` to ``handler`` with StreamTrigger's mapping defaults."""
    clock = Clock(start=1_700_000_000)
    log = ActivityLog()
    stream = MemoryStream(
        "kinesis", "arn:aws:kinesis:us-east-1:123456789012:stream/orders", clock=clock
    )
    failures = []

    def invoke(function_name, event):
        context = LambdaContext(function_name=function_name)
        try:
            return InvokeResult(context.aws_request_id, payload=handler(event, context))
        except Exception as error:
            return InvokeResult(
                context.aws_request_id, function_error="Unhandled", error_type=type(error).__name__
            )

    mapping = StreamEventSourceMapping(
        source=stream,
        function_name="orders",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:orders",
        invoke=invoke,
        log=log,
        clock=clock,
        send_failure=lambda destination, body: failures.append(body),
        bisect_batch_on_function_error=True,
        report_batch_item_failures=True,
        maximum_retry_attempts=3,
        maximum_record_age_seconds=24 * 3600,
        on_failure_destination=FAILURE_QUEUE_ARN,
    )
    for data in writes:
        stream.put(data, partition_key="customer-1")
    run_mappings([mapping], clock)
    return log, failures


WRITES = [{"orderId": f"o-{n}"} for n in range(3)] + [b"{not json"] + [{"orderId": "o-4"}]


def test_a_record_that_always_fails_is_isolated_and_ends_in_the_failure_queue():
    log, failures = run(strict_handler, WRITES)

    batches = [len(invocation.items) for invocation in log.invocations()]
    # The batch of 5 fails and is halved (3 succeed, 2 fail), the 2 are halved again: the
    # bad record alone fails 4 times (3 retries; the halvings used none), then the last one.
    assert batches == [5, 3, 2, 1, 1, 1, 1, 1]
    [failure] = failures
    info = failure["KinesisBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == log.invocations()[3].items[0]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 4
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert sorted(info) == [
        "approximateArrivalOfFirstRecord",
        "approximateArrivalOfLastRecord",
        "batchSize",
        "endSequenceNumber",
        "shardId",
        "startSequenceNumber",
        "streamArn",
    ]


def test_a_parked_record_never_blocks_the_shard():
    with mock_aws():
        boto3.resource("dynamodb").create_table(
            TableName="orders",
            KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        queue_url = boto3.client("sqs").create_queue(QueueName="failures")["QueueUrl"]
        stream_handler.orders_table.cache_clear()
        stream_handler.sqs_client.cache_clear()
        env = {"ORDERS_TABLE_NAME": "orders", "FAILURE_QUEUE_URL": queue_url}
        with mock.patch.dict(os.environ, env):
            log, failures = run(stream_handler.main, WRITES)
        parked = boto3.client("sqs").receive_message(QueueUrl=queue_url)["Messages"]

    assert [len(invocation.items) for invocation in log.invocations()] == [5]
    assert failures == []
    assert json.loads(parked[0]["Body"])["reason"] == "MALFORMED_RECORD"
