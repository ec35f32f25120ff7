"""Event factories, the stream reader and the Lambda context of the local cloud."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from moto import mock_aws

from lambda_blueprints.testing import (
    LambdaContext,
    dynamodb_stream_event,
    dynamodb_stream_record,
    read_stream_records,
    to_attribute_value,
)


@pytest.mark.parametrize(
    ("value", "typed"),
    [
        ("a", {"S": "a"}),
        (3, {"N": "3"}),
        (Decimal("1.50"), {"N": "1.50"}),
        (True, {"BOOL": True}),
        (None, {"NULL": True}),
        (b"\x00\x01", {"B": "AAE="}),
        ({"b", "a"}, {"SS": ["a", "b"]}),
        ({2, 1}, {"NS": ["1", "2"]}),
        ({b"\x01"}, {"BS": ["AQ=="]}),
        ([1, "x"], {"L": [{"N": "1"}, {"S": "x"}]}),
        ({"k": [None]}, {"M": {"k": {"L": [{"NULL": True}]}}}),
    ],
)
def test_python_values_become_typed_values(value: Any, typed: dict[str, Any]) -> None:
    assert to_attribute_value(value) == typed


@pytest.mark.parametrize(
    ("value", "error"),
    [(set(), ValueError), ({1, "a"}, ValueError), (object(), TypeError)],
)
def test_values_dynamodb_cannot_hold_are_refused(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        to_attribute_value(value)


@pytest.mark.parametrize(
    ("view_type", "has_old", "has_new"),
    [
        ("KEYS_ONLY", False, False),
        ("NEW_IMAGE", False, True),
        ("OLD_IMAGE", True, False),
        ("NEW_AND_OLD_IMAGES", True, True),
    ],
)
def test_records_carry_the_images_of_their_view_type(
    view_type: Any, has_old: bool, has_new: bool
) -> None:
    record = dynamodb_stream_record(
        "MODIFY", {"id": "1"}, old_image={"id": "1"}, new_image={"id": "1"}, view_type=view_type
    )
    assert ("OldImage" in record["dynamodb"]) is has_old
    assert ("NewImage" in record["dynamodb"]) is has_new
    assert record["dynamodb"]["StreamViewType"] == view_type


def test_records_have_increasing_sequence_numbers_and_unique_ids() -> None:
    first = dynamodb_stream_record("INSERT", {"id": "1"}, new_image={"id": "1"})
    second = dynamodb_stream_record("INSERT", {"id": "2"}, new_image={"id": "2"})

    assert int(first["dynamodb"]["SequenceNumber"]) < int(second["dynamodb"]["SequenceNumber"])
    assert first["eventID"] != second["eventID"]


def test_factory_records_parse_as_powertools_reads_lambda_events() -> None:
    event = dynamodb_stream_event(
        dynamodb_stream_record(
            "MODIFY",
            {"id": "1"},
            old_image={"id": "1", "n": 1},
            new_image={"id": "1", "n": 2, "blob": b"\x01"},
        )
    )
    (record,) = DynamoDBStreamEvent(event).records

    assert record.event_name.name == "MODIFY"
    assert record.dynamodb is not None
    # Lambda events carry binary values base64-encoded; Powertools hands them on as such.
    assert record.dynamodb.new_image == {"id": "1", "n": Decimal(2), "blob": "AQ=="}
    assert record.dynamodb.old_image == {"id": "1", "n": Decimal(1)}


def test_stream_reader_returns_lambda_shaped_records_from_moto() -> None:
    with mock_aws():
        table = boto3.resource("dynamodb").create_table(
            TableName="things",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        table.put_item(Item={"id": "a", "blob": b"\xff"})
        table.delete_item(Key={"id": "a"})

        records = read_stream_records(table.latest_stream_arn)

    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]
    insert = records[0]
    assert insert["eventSourceARN"] == table.latest_stream_arn
    assert insert["dynamodb"]["NewImage"]["blob"] == {"B": base64.b64encode(b"\xff").decode()}
    assert isinstance(insert["dynamodb"]["ApproximateCreationDateTime"], float)
    (parsed, _) = DynamoDBStreamEvent(dynamodb_stream_event(*records)).records
    assert parsed.dynamodb is not None
    assert parsed.dynamodb.new_image == {"id": "a", "blob": "/w=="}


def test_context_counts_down_from_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([100.0, 100.0, 102.5, 200.0])
    monkeypatch.setattr("lambda_blueprints.testing.context.time.monotonic", lambda: next(clock))
    context = LambdaContext(function_name="fn", timeout_seconds=3)

    assert context.get_remaining_time_in_millis() == 3000
    assert context.get_remaining_time_in_millis() == 500
    assert context.get_remaining_time_in_millis() == 0
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:fn"
