import json
import os
from unittest import mock

import boto3
import stream_handler
from botocore.exceptions import ClientError
from moto import mock_aws

from lambda_blueprints.testing import LambdaContext, kinesis_event, kinesis_record


def _orders_and_failure_queue() -> tuple[object, str]:
    table = boto3.resource("dynamodb").create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue_url = boto3.client("sqs").create_queue(QueueName="failures")["QueueUrl"]
    stream_handler.orders_table.cache_clear()
    stream_handler.sqs_client.cache_clear()
    return table, queue_url


def _parked(queue_url: str) -> list[dict]:
    messages = boto3.client("sqs").receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    return [json.loads(m["Body"]) | {"attributes": m["MessageAttributes"]} for m in messages]


def test_orders_are_saved_and_records_no_retry_can_fix_are_parked():
    with mock_aws():
        table, queue_url = _orders_and_failure_queue()
        env = {"ORDERS_TABLE_NAME": "orders", "FAILURE_QUEUE_URL": queue_url}
        records = [
            kinesis_record({"orderId": "o-1", "total": 42}),
            kinesis_record(b"{not json"),
            kinesis_record({"orderId": ""}),
            kinesis_record({"total": 7}),
            kinesis_record(
                b'{"orderId": "o-2", "total": 1.00000000000000000000000000000000000001}'
            ),
            kinesis_record({"orderId": "o-3", "total": 5}),
        ]
        with mock.patch.dict(os.environ, env):
            response = stream_handler.main(kinesis_event(*records), LambdaContext())

        assert response == {"batchItemFailures": []}
        saved = sorted(item["orderId"] for item in table.scan()["Items"])
        assert saved == ["o-1", "o-3"]
        parked = {p["sequenceNumber"]: p for p in _parked(queue_url)}
        reasons = [parked[r["kinesis"]["sequenceNumber"]]["reason"] for r in records[1:5]]
        assert reasons == [
            "MALFORMED_RECORD",
            "WRITE_REJECTED",
            "MISSING_ORDER_ID",
            "INVALID_NUMBER",
        ]
        message = parked[records[1]["kinesis"]["sequenceNumber"]]
        assert message["record"] == records[1]
        assert message["recordTruncated"] is False
        assert message["functionName"] == "test-function"
        assert message["eventID"] == records[1]["eventID"]
        assert message["attributes"]["reason"]["StringValue"] == "MALFORMED_RECORD"


def test_a_throttled_write_is_retried_from_that_record():
    throttled = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        "PutItem",
    )
    table = mock.Mock()
    table.put_item.side_effect = [None, throttled]
    records = [kinesis_record({"orderId": f"o-{n}"}) for n in range(3)]
    with mock.patch.object(stream_handler, "orders_table", return_value=table):
        response = stream_handler.main(kinesis_event(*records), LambdaContext())

    second = records[1]["kinesis"]["sequenceNumber"]
    assert response == {"batchItemFailures": [{"itemIdentifier": second}]}
    assert table.put_item.call_count == 2  # the third record waits for the retry


def test_a_record_that_cannot_be_parked_is_retried():
    with mock_aws():
        _orders_and_failure_queue()
        missing_queue = "https://sqs.us-east-1.amazonaws.com/123456789012/missing"
        env = {"ORDERS_TABLE_NAME": "orders", "FAILURE_QUEUE_URL": missing_queue}
        poison = kinesis_record(b"{not json")
        with mock.patch.dict(os.environ, env):
            response = stream_handler.main(kinesis_event(poison), LambdaContext())

    sequence_number = poison["kinesis"]["sequenceNumber"]
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_number}]}
