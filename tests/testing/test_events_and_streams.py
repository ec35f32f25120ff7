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


def nested_maps(depth: int) -> dict[str, Any]:
    """``depth`` maps one inside the other around a string, built without recursion."""
    top: dict[str, Any] = {}
    inner = top
    for _ in range(depth - 1):
        inner["m"] = {}
        inner = inner["m"]
    inner["leaf"] = "x"
    return top


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (Decimal("NaN"), "NaN"),
        (Decimal("Infinity"), "Infinity"),
        (Decimal("1E+200"), r"1E\+200"),
        (Decimal("1E+126"), r"1E\+126"),
        (-(10**126), str(-(10**126))),
        (Decimal("1E-131"), "1E-131"),
        (Decimal("1.23456789012345678901234567890123456789"), "1.2345678901234567890123456789"),
        (2**128 + 1, str(2**128 + 1)),
    ],
)
def test_numbers_dynamodb_cannot_hold_are_refused_naming_the_limits(
    number: Any, shown: str
) -> None:
    with pytest.raises(ValueError, match=shown) as refused:
        to_attribute_value(number)
    assert "38 significant digits" in str(refused.value)
    assert "1E-130" in str(refused.value)
    with pytest.raises(ValueError, match="38 significant digits"):
        to_attribute_value({number})
    with pytest.raises(ValueError, match="38 significant digits"):
        to_attribute_value({"nested": [number]})


@pytest.mark.parametrize(
    ("number", "typed"),
    [
        (0.1, "0.1"),
        (0, "0"),
        (Decimal("-0"), "-0"),
        (Decimal("1E-130"), "1E-130"),
        (
            Decimal("9.9999999999999999999999999999999999999E+125"),
            "9.9999999999999999999999999999999999999E+125",
        ),
        (
            Decimal("1.2345678901234567890123456789012345678"),
            "1.2345678901234567890123456789012345678",
        ),
        (10**40, str(10**40)),  # one significant digit
    ],
)
def test_numbers_within_dynamodbs_limits_keep_their_spelling(number: Any, typed: str) -> None:
    assert to_attribute_value(number) == {"N": typed}


def test_maps_and_lists_nest_up_to_dynamodbs_32_levels() -> None:
    assert to_attribute_value(nested_maps(31))["M"]["m"]["M"]
    with pytest.raises(ValueError, match="32 levels"):
        to_attribute_value(nested_maps(32))
    with pytest.raises(ValueError, match="32 levels"):
        to_attribute_value([nested_maps(31)])
    # Far deeper than the stack: refused, not a RecursionError.
    with pytest.raises(ValueError, match="32 levels"):
        to_attribute_value(nested_maps(5000))


def test_empty_attribute_names_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one character"):
        to_attribute_value({"": 1})
    with pytest.raises(ValueError, match="at least one character"):
        dynamodb_stream_record("INSERT", {"id": "1"}, new_image={"id": "1", "": "x"})


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({}, "not 0 attributes"),
        ({"pk": "a", "sk": "b", "extra": "c"}, "not 3 attributes"),
        ({"id": ""}, "'id' is empty"),
        ({"id": b""}, "'id' is empty"),
        ({"id": True}, "of type BOOL"),
        ({"id": {"nested": "1"}}, "of type M"),
        ({"id": None}, "of type NULL"),
        ({"id": {"a", "b"}}, "of type SS"),
    ],
)
def test_keys_dynamodb_cannot_hold_are_refused(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dynamodb_stream_record("INSERT", keys)


def test_keys_of_a_partition_and_a_sort_key_of_each_key_type_are_accepted() -> None:
    record = dynamodb_stream_record("INSERT", {"pk": b"\x01", "sk": 7})
    assert record["dynamodb"]["Keys"] == {"pk": {"B": "AQ=="}, "sk": {"N": "7"}}
    record = dynamodb_stream_record("INSERT", {"id": "x"}, new_image={"id": "x", "note": ""})
    # Only key values must not be empty.
    assert record["dynamodb"]["NewImage"]["note"] == {"S": ""}


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
