import json
import os
from decimal import Decimal
from unittest import mock

import boto3
import window_handler
from botocore.exceptions import ClientError
from moto import mock_aws

from lambda_blueprints.testing import LambdaContext, kinesis_record, tumbling_window_event

START = 1_700_000_100  # 2023-11-14T22:15:00Z, a multiple of the 60 s window
SHARD = "shardId-000000000000"


def reading(rider, speed):
    return kinesis_record({"rider": rider, "speed": speed}, arrival_time=START + 1)


def invoke(records, **window):
    event = tumbling_window_event(records, window_start=START, window_seconds=60, **window)
    return window_handler.main(event, LambdaContext())


def sequence_number(record):
    return record["kinesis"]["sequenceNumber"]


def aws(failure_queue="failures"):
    """Create the results table and the queue "failures" in moto; point the handler at them.

    ``FAILURE_QUEUE_URL`` names ``failure_queue``: any other name is a queue that does not exist.
    """
    table = boto3.resource("dynamodb").create_table(
        TableName="results",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    queue_url = boto3.client("sqs").create_queue(QueueName="failures")["QueueUrl"]
    window_handler.results_table.cache_clear()
    window_handler.sqs_client.cache_clear()
    env = {
        "RESULTS_TABLE_NAME": "results",
        "FAILURE_QUEUE_URL": queue_url.replace("failures", failure_queue),
    }
    return table, queue_url, mock.patch.dict(os.environ, env)


def parked(queue_url):
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_the_state_is_threaded_through_the_window_and_written_once_at_its_end():
    first, second, third = reading("r-1", 41.5), reading("r-2", 38), reading("r-1", 44.25)
    with mock_aws():
        table, _, environment = aws()
        with environment:
            one = invoke([first, second])
            two = invoke([third], state=one["state"])
            final = invoke([], state=two["state"], is_final=True)
            again = invoke([], state=two["state"], is_final=True)  # a retried final invocation
        items = table.scan()["Items"]

    assert one == {
        "state": {
            "firstSequenceNumber": sequence_number(first),
            "lastSequenceNumber": sequence_number(second),
            "aggregate": {"peaks": {"r-1": "41.5", "r-2": "38"}},
        },
        "batchItemFailures": [],
    }
    assert two["state"]["aggregate"] == {"peaks": {"r-1": "44.25", "r-2": "38"}}
    assert two["state"]["firstSequenceNumber"] == sequence_number(first)
    assert final == again == {"state": {}}
    assert items == [
        {
            "pk": SHARD,
            "sk": "2023-11-14T22:15:00Z#final",
            "windowEnd": "2023-11-14T22:16:00Z",
            "peaks": {"r-1": Decimal("44.25"), "r-2": Decimal("38")},
        }
    ]


def test_readings_that_can_never_count_are_parked_and_the_window_goes_on():
    good = reading("r-1", 41.5)
    not_json = kinesis_record(b"{not json", arrival_time=START + 2)
    negative = reading("r-2", -3)
    with mock_aws():
        _, queue_url, environment = aws()
        with environment:
            response = invoke([not_json, good, negative])
        messages = parked(queue_url)

    assert response["batchItemFailures"] == []
    assert response["state"]["aggregate"] == {"peaks": {"r-1": "41.5"}}
    assert response["state"]["firstSequenceNumber"] == sequence_number(not_json)
    assert sorted((m["reason"], m["sequenceNumber"]) for m in messages) == sorted(
        [
            ("MALFORMED_RECORD", sequence_number(not_json)),
            ("INVALID_SPEED", sequence_number(negative)),
        ]
    )


def test_a_reading_that_cannot_be_parked_is_retried_with_the_state_before_it():
    good, bad = reading("r-1", 41.5), reading("r-2", -3)
    with mock_aws():
        _, _, environment = aws(failure_queue="no-such-queue")
        with environment:
            response = invoke([good, bad, reading("r-3", 30)])

    assert response == {
        "state": {
            "firstSequenceNumber": sequence_number(good),
            "lastSequenceNumber": sequence_number(good),
            "aggregate": {"peaks": {"r-1": "41.5"}},
        },
        "batchItemFailures": [{"itemIdentifier": sequence_number(bad)}],
    }


def test_a_window_ended_early_writes_a_part_of_its_own():
    first = reading("r-1", 41.5)
    with mock_aws():
        table, _, environment = aws()
        with environment:
            state = invoke([first])["state"]
            response = invoke([], state=state, terminated_early=True)
        [item] = table.scan()["Items"]

    assert response == {"state": {}}
    assert item["sk"] == f"2023-11-14T22:15:00Z#early-{sequence_number(first)}"


def test_an_aggregate_the_table_refuses_is_parked_as_a_window_record():
    refused = ClientError(
        {"Error": {"Code": "ValidationException", "Message": "Item size has exceeded 400 KB"}},
        "PutItem",
    )
    first = reading("r-1", 41.5)
    with mock_aws():
        _, queue_url, environment = aws()
        with environment:
            state = invoke([first])["state"]
            with mock.patch.object(window_handler, "results_table") as table:
                table.return_value.put_item.side_effect = refused
                response = invoke([], state=state, is_final=True)
        [message] = parked(queue_url)

    assert response == {"state": {}}  # the shard goes on
    assert message["reason"] == "WRITE_REJECTED"
    assert message["eventID"] == f"{SHARD}:{sequence_number(first)}"
    assert message["record"] == {
        "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/events",
        "eventID": f"{SHARD}:{sequence_number(first)}",
        "window": {"start": "2023-11-14T22:15:00Z", "end": "2023-11-14T22:16:00Z"},
        "shardId": SHARD,
        "part": "final",
        "firstSequenceNumber": sequence_number(first),
        "lastSequenceNumber": sequence_number(first),
        "aggregate": {"peaks": {"r-1": "41.5"}},
    }
