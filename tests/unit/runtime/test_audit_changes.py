"""Pure rules of the audit trail: equality, diffs, keys, item layout."""

from __future__ import annotations

import pytest

from lambda_blueprints.runtime.audit_trail.changes import (
    AttributeChange,
    audit_item,
    canonical,
    diff_images,
    entity_key,
    parse_change,
    to_client_value,
)
from lambda_blueprints.runtime.shared.failures import PoisonRecordError
from lambda_blueprints.testing import dynamodb_stream_record


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ({"N": "1"}, {"N": "1.00"}),
        ({"N": "1e2"}, {"N": "100"}),
        ({"SS": ["a", "b"]}, {"SS": ["b", "a"]}),
        ({"NS": ["1", "2.0"]}, {"NS": ["2", "1"]}),
        ({"M": {"a": {"N": "1"}, "b": {"S": "x"}}}, {"M": {"b": {"S": "x"}, "a": {"N": "1.0"}}}),
    ],
)
def test_values_equal_as_dynamodb_compares_them(left: dict, right: dict) -> None:
    assert canonical(left) == canonical(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ({"S": "1"}, {"N": "1"}),
        ({"L": [{"S": "a"}, {"S": "b"}]}, {"L": [{"S": "b"}, {"S": "a"}]}),
        ({"SS": ["a"]}, {"L": [{"S": "a"}]}),
        ({"BOOL": True}, {"N": "1"}),
    ],
)
def test_values_that_differ(left: dict, right: dict) -> None:
    assert canonical(left) != canonical(right)


@pytest.mark.parametrize(
    "value",
    [
        {"S": "a", "N": "1"},
        {},
        "plain",
        {"N": "abc"},
        {"N": 5},
        {"SS": []},
        {"NS": ["1", None]},
        {"NULL": False},
        {"BOOL": "yes"},
        {"L": "abc"},
        {"M": ["a"]},
        {"M": {"inner": {"Q": "1"}}},
    ],
)
def test_malformed_values_are_poison(value: object) -> None:
    with pytest.raises(PoisonRecordError) as raised:
        canonical(value, "attr")  # type: ignore[arg-type]
    assert raised.value.reason == "MALFORMED_RECORD"
    assert "attr" in raised.value.detail


def test_diff_lists_added_removed_and_modified_by_name() -> None:
    old = {"id": {"S": "1"}, "a": {"N": "1"}, "gone": {"S": "x"}, "same": {"BOOL": True}}
    new = {"id": {"S": "1"}, "a": {"N": "2"}, "fresh": {"NULL": True}, "same": {"BOOL": True}}

    assert diff_images(old, new) == (
        AttributeChange("a", "modified", {"N": "1"}, {"N": "2"}),
        AttributeChange("fresh", "added", None, {"NULL": True}),
        AttributeChange("gone", "removed", {"S": "x"}, None),
    )


def test_entity_key_is_stable_for_composite_keys() -> None:
    one = entity_key("orders", {"tenant": {"S": "t|1"}, "orderId": {"N": "42"}})
    two = entity_key("orders", {"orderId": {"N": "42"}, "tenant": {"S": "t|1"}})

    assert one == two == 'orders#{"orderId":"42","tenant":"t|1"}'


def test_entity_key_rejects_non_key_types() -> None:
    with pytest.raises(PoisonRecordError):
        entity_key("t", {"id": {"BOOL": True}})


def test_audit_sort_key_orders_by_sequence_number_then_event_id() -> None:
    early = parse_change(
        dynamodb_stream_record("INSERT", {"id": "1"}, new_image={"id": "1"}, sequence_number="9")
    )
    late = parse_change(
        dynamodb_stream_record("INSERT", {"id": "1"}, new_image={"id": "1"}, sequence_number="10")
    )

    early_sk, late_sk = audit_item(early)["sk"]["S"], audit_item(late)["sk"]["S"]

    assert early_sk < late_sk
    assert early_sk.endswith(f"#{early.event_id}")


def test_binary_values_become_bytes_for_the_client() -> None:
    assert to_client_value({"M": {"b": {"B": "AAE="}, "bs": {"BS": ["AQ=="]}}}) == {
        "M": {"b": {"B": b"\x00\x01"}, "bs": {"BS": [b"\x01"]}}
    }


def test_creation_time_in_seconds_is_read_as_utc() -> None:
    change = parse_change(
        dynamodb_stream_record(
            "INSERT", {"id": "1"}, new_image={"id": "1"}, approximate_creation_time=1_700_000_000
        )
    )
    assert change.changed_at.isoformat() == "2023-11-14T22:13:20+00:00"


@pytest.mark.parametrize("value", ["soon", None, True])
def test_invalid_creation_time_is_poison(value: object) -> None:
    record = dynamodb_stream_record("INSERT", {"id": "1"}, new_image={"id": "1"})
    record["dynamodb"]["ApproximateCreationDateTime"] = value
    with pytest.raises(PoisonRecordError):
        parse_change(record)
