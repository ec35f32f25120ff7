"""Pure rules of the audit trail: equality, diffs, keys, item layout."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from lambda_blueprints.runtime.audit_trail.changes import (
    MAX_AUDIT_ITEM_BYTES,
    AttributeChange,
    audit_items,
    canonical,
    diff_images,
    entity_key,
    parse_change,
    to_client_value,
    value_digest,
)
from lambda_blueprints.runtime.audit_trail.limits import (
    MAX_NESTING_LEVELS,
    check_item,
    item_size,
    nesting_levels,
    value_size,
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
        {"N": "1e126"},
        {"N": "1e-131"},
        {"N": "1" * 39},
        {"N": "NaN"},
        {"N": "Infinity"},
        {"N": " 1"},
        {"N": "1_000"},
        {"N": "\u0661"},
        {"SS": ["a", "a"]},
        {"NS": ["1", "1.0"]},
        {"BS": ["AQ==", "AQ=="]},
        {"S": "\ud800"},
        {"M": {"\udfff": {"S": "x"}}},
        {"B": "***"},
        {"B": 5},
        {"M": {"": {"S": "x"}}},
        {"M": {"k" * 65_536: {"S": "x"}}},
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

    ((early_item,), (late_item,)) = audit_items(early), audit_items(late)
    early_sk, late_sk = early_item["sk"]["S"], late_item["sk"]["S"]

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
    assert change.changed_at is not None
    assert change.changed_at.isoformat() == "2023-11-14T22:13:20+00:00"


@pytest.mark.parametrize("value", ["soon", True, "nan", "inf", 1e300, [1]])
def test_invalid_creation_time_is_poison(value: object) -> None:
    record = dynamodb_stream_record("INSERT", {"id": "1"}, new_image={"id": "1"})
    record["dynamodb"]["ApproximateCreationDateTime"] = value
    with pytest.raises(PoisonRecordError):
        parse_change(record)


# --- what DynamoDB can store ---------------------------------------------------------------


def nested(levels: int) -> dict[str, Any]:
    """A typed value ``levels`` deep: maps around one string."""
    value: dict[str, Any] = {"S": "leaf"}
    for _ in range(levels - 1):
        value = {"M": {"n": value}}
    return value


def insert(keys: dict[str, Any], image: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return dynamodb_stream_record("INSERT", keys, new_image={**keys, **image}, **kwargs)


def test_sizes_are_measured_as_dynamodb_documents_them() -> None:
    # Strings and names in UTF-8, binary raw, numbers by significant digits, 3 bytes per
    # list or map plus 1 per element.
    assert value_size({"S": "漢字"}) == 6
    assert value_size({"B": b"\x00" * 10}) == 10
    assert value_size({"N": "12345"}) == 4
    assert value_size({"N": "-0.00120"}) == 2
    assert value_size({"BOOL": True}) == value_size({"NULL": True}) == 1
    assert value_size({"SS": ["a", "é"]}) == 3
    assert value_size({"L": [{"S": "ab"}, {"N": "1"}]}) == 3 + (1 + 2) + (1 + 2)
    assert value_size({"M": {"ключ": {"S": "x"}}}) == 3 + 1 + 8 + 1
    assert item_size({"名前": {"S": "x"}, "n": {"N": "1"}}) == (6 + 1) + (1 + 2)


def test_nesting_counts_a_map_of_a_string_as_two_levels() -> None:
    assert nesting_levels({"S": "x"}) == nesting_levels({"SS": ["x"]}) == 1
    assert nesting_levels({"M": {}}) == 1
    assert nesting_levels({"L": [{"S": "x"}, {"M": {"a": {"N": "1"}}}]}) == 3
    assert nesting_levels(nested(32)) == 32


def test_values_nested_deeper_than_dynamodb_allows_are_poison() -> None:
    canonical(nested(MAX_NESTING_LEVELS))
    with pytest.raises(PoisonRecordError) as raised:
        canonical(nested(MAX_NESTING_LEVELS + 1), "deep")
    assert raised.value.reason == "NESTING_TOO_DEEP"


def test_a_value_at_the_nesting_limit_is_digested_to_keep_the_audit_item_within_it() -> None:
    record = insert({"id": "1"}, {})
    record["dynamodb"]["NewImage"].update(deep=nested(32), ok=nested(30))
    change = parse_change(record)

    (item,) = audit_items(change)

    assert max(nesting_levels(value) for value in item.values()) <= MAX_NESTING_LEVELS
    assert item["changes"]["M"]["deep"]["M"]["new"] == value_digest(nested(32))
    assert item["changes"]["M"]["ok"]["M"]["new"] == nested(30)
    assert item["valuesOmitted"] == {"BOOL": True}
    check_item(item)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("k" * 2040, id="ascii-near-2048-bytes"),
        pytest.param("漢" * 682, id="682-cjk-characters"),
        pytest.param("é" * 1024, id="1024-two-byte-characters"),
    ],
)
def test_keys_too_long_for_a_readable_partition_key_get_their_digest(key: str) -> None:
    change = parse_change(insert({"id": key}, {"x": 1}))
    key_json = '{"id":' + json.dumps(key) + "}"

    assert change.entity == f"users#sha256:{hashlib.sha256(key_json.encode()).hexdigest()}"
    assert change.entity == entity_key("users", {"id": {"S": key}})
    (item,) = audit_items(change)
    assert item["sourceKey"] == {"M": {"id": {"S": key}}}
    check_item(item)


def test_keys_that_fit_keep_their_readable_partition_key() -> None:
    short = "k" * 2030
    assert entity_key("users", {"id": {"S": short}}) == f'users#{{"id":"{short}"}}'
    assert entity_key("users", {"id": {"S": "k" * 2040}}) != entity_key(
        "users", {"id": {"S": "k" * 2039}}
    )


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param({"id": {"S": ""}}, id="empty-string"),
        pytest.param({"id": {"S": "k" * 2049}}, id="over-2048-bytes"),
        pytest.param({"id": {"B": ""}}, id="empty-binary"),
        pytest.param({"a": {"S": "1"}, "b": {"S": "2"}, "c": {"S": "3"}}, id="three-keys"),
        pytest.param({"n" * 256: {"S": "1"}}, id="name-over-255-bytes"),
        pytest.param({"id": {"M": {}}}, id="map"),
    ],
)
def test_keys_dynamodb_cannot_hold_are_poison(keys: dict[str, Any]) -> None:
    record = insert({"id": "1"}, {})
    record["dynamodb"]["Keys"] = keys
    with pytest.raises(PoisonRecordError) as raised:
        parse_change(record)
    assert raised.value.reason == "MALFORMED_RECORD"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("SequenceNumber", "1" * 41),
        ("SequenceNumber", "\u0661\u0662"),
        ("SequenceNumber", ""),
    ],
)
def test_sequence_numbers_that_would_not_sort_are_poison(field: str, value: str) -> None:
    record = insert({"id": "1"}, {})
    record["dynamodb"][field] = value
    with pytest.raises(PoisonRecordError):
        parse_change(record)


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda r: r.update(eventID="e" * 2000), id="event-id-too-long"),
        pytest.param(
            lambda r: r.update(
                eventSourceARN="arn:aws:dynamodb:r:1:table/" + "t" * 300 + "/stream/x"
            ),
            id="table-name-too-long",
        ),
        pytest.param(lambda r: r["dynamodb"]["NewImage"].update({"": {"S": "x"}}), id="empty-name"),
        pytest.param(
            lambda r: r["dynamodb"]["NewImage"].update({"n" * 65_536: {"S": "x"}}),
            id="name-over-64-kb",
        ),
        pytest.param(
            lambda r: r["dynamodb"]["NewImage"].update({"\ud800": {"S": "x"}}),
            id="name-without-utf-8",
        ),
    ],
)
def test_records_dynamodb_would_never_produce_are_poison(breakage: Any) -> None:
    record = insert({"id": "1"}, {"x": 1})
    breakage(record)
    with pytest.raises(PoisonRecordError) as raised:
        parse_change(record)
    assert raised.value.reason == "MALFORMED_RECORD"


def test_a_record_without_creation_time_is_a_change_at_an_unknown_time() -> None:
    record = insert({"id": "1"}, {"x": 1}, sequence_number="500")
    del record["dynamodb"]["ApproximateCreationDateTime"]

    change = parse_change(record)
    (item,) = audit_items(change)

    assert change.changed_at is None
    assert item["changedAtUnknown"] == {"BOOL": True}
    assert "changedAt" not in item
    assert item["sk"]["S"].startswith("500".zfill(40))


def test_a_record_with_creation_time_says_the_time_is_known() -> None:
    (item,) = audit_items(parse_change(insert({"id": "1"}, {"x": 1})))

    assert item["changedAtUnknown"] == {"BOOL": False}
    assert "changedAt" in item


def many_attributes(count: int, value: str = "v" * 40) -> dict[str, Any]:
    return {f"attribute-{n:05d}": value for n in range(count)}


def test_a_change_too_large_for_one_item_is_split_into_parts_that_each_fit() -> None:
    image = many_attributes(8000)
    created = 1_767_225_600.0
    change = parse_change(insert({"id": "1"}, image, approximate_creation_time=created))

    items = audit_items(change)

    assert len(items) > 1
    for number, item in enumerate(items, start=1):
        assert item_size(item) <= MAX_AUDIT_ITEM_BYTES
        assert check_item(item) == item_size(item)
        assert item["part"] == {"N": str(number)}
        assert item["parts"] == {"N": str(len(items))}
        assert item["pk"] == {"S": change.entity}
        assert (
            item["sk"]["S"] == f"{change.sequence_number.zfill(40)}#{change.event_id}#{number:04d}"
        )
        assert item["valuesOmitted"] == {"BOOL": False}
    names = [n["S"] for item in items for n in item["changedAttributes"]["L"]]
    assert names == sorted({*image, "id"})
    merged = {k: v for item in items for k, v in item["changes"]["M"].items()}
    assert merged["attribute-07999"] == {"M": {"change": {"S": "added"}, "new": {"S": "v" * 40}}}
    assert [i["sk"]["S"] for i in items] == sorted(i["sk"]["S"] for i in items)
    # The split depends on the record alone: a redelivery writes the same items.
    again = insert(
        {"id": "1"},
        image,
        sequence_number=change.sequence_number,
        event_id=change.event_id,
        approximate_creation_time=created,
    )
    assert audit_items(parse_change(again)) == items


def test_a_value_too_large_even_for_a_part_of_its_own_is_digested_largest_first() -> None:
    old, new = "a" * 300_000, "b" * 250_000
    change = parse_change(
        dynamodb_stream_record(
            "MODIFY",
            {"id": "1"},
            old_image={"id": "1", "bio": old},
            new_image={"id": "1", "bio": new},
        )
    )

    (item,) = audit_items(change)

    bio = item["changes"]["M"]["bio"]["M"]
    assert bio["old"] == value_digest({"S": old})
    assert bio["new"] == {"S": new}
    assert item["valuesOmitted"] == {"BOOL": True}
    check_item(item)


@pytest.mark.parametrize(
    "item",
    [
        pytest.param({"pk": {"S": "p" * 2049}, "sk": {"S": "s"}}, id="pk-over-2048-bytes"),
        pytest.param({"pk": {"S": "p"}, "sk": {"S": "é" * 513}}, id="sk-over-1024-bytes"),
        pytest.param({"pk": {"S": "p"}, "sk": {"S": "s"}, "deep": nested(33)}, id="33-levels"),
        pytest.param(
            {"pk": {"S": "p"}, "sk": {"S": "s"}, "big": {"S": "漢" * 136_534}}, id="over-400-kb"
        ),
        pytest.param(
            {"pk": {"S": "p"}, "sk": {"S": "s"}, "big": {"B": b"\x00" * 409_600}},
            id="binary-over-400-kb",
        ),
    ],
)
def test_the_guard_refuses_items_dynamodb_would_refuse(item: dict[str, Any]) -> None:
    with pytest.raises(PoisonRecordError) as raised:
        check_item(item)
    assert raised.value.reason == "AUDIT_ITEM_REJECTED"


def test_the_guard_takes_an_item_at_the_limits() -> None:
    item = {
        "pk": {"S": "p" * 2048},
        "sk": {"S": "é" * 512},
        "deep": nested(32),
    }
    item["fill"] = {"S": "x" * (400 * 1024 - item_size(item) - 4)}

    assert check_item(item) == 400 * 1024
