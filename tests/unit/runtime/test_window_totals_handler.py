"""The window totals handler against moto, with DynamoDB and Kinesis window events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambda_blueprints.runtime.shared.numbers import DYNAMODB_NUMBERS
from lambda_blueprints.runtime.window_totals import handler
from lambda_blueprints.testing import (
    LambdaContext,
    dynamodb_stream_record,
    kinesis_record,
    tumbling_window_event,
)
from tests.conftest import create_pk_sk_table

START = 1_767_225_600.0
TABLE_STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
KINESIS_STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/order-events"


@pytest.fixture
def queue_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mock_aws():
        create_pk_sk_table("totals")
        url = boto3.client("sqs").create_queue(QueueName="failures")["QueueUrl"]
        monkeypatch.setenv("RESULTS_TABLE_NAME", "totals")
        monkeypatch.setenv("FAILURE_QUEUE_URL", url)
        monkeypatch.delenv("SOURCE_NAME", raising=False)
        handler.dynamodb_client.cache_clear()
        handler.sqs_client.cache_clear()
        yield url
        handler.dynamodb_client.cache_clear()
        handler.sqs_client.cache_clear()


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return handler.lambda_handler(event, LambdaContext(function_name="totals"))


def order(sales: Any, *, event_name: str = "INSERT") -> dict[str, Any]:
    image = {"id": f"o-{sales}"} if sales is None else {"id": f"o-{sales}", "sales": sales}
    return dynamodb_stream_record(
        event_name,  # type: ignore[arg-type]
        {"id": image["id"]},
        new_image=image,
        old_image=image,
        stream_arn=TABLE_STREAM,
        approximate_creation_time=START + 5,
    )


def window(records: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    return tumbling_window_event(records, window_start=START, window_seconds=30, **options)


def totals() -> list[dict[str, Any]]:
    return boto3.resource("dynamodb").Table("totals").scan()["Items"]


def aggregate(response: dict[str, Any]) -> Any:
    return response["state"]["aggregate"]


def carried(total: str, count: int) -> dict[str, Any]:
    """The state Lambda carries after a window's earlier invocations."""
    return {"aggregate": {"total": total, "count": count}, "firstSequenceNumber": "1"}


def parked_reasons(queue_url: str) -> list[str]:
    messages = (
        boto3.client("sqs")
        .receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        .get("Messages", [])
    )
    return [json.loads(m["Body"])["reason"] for m in messages]


def test_dynamodb_inserts_are_summed_exactly_and_other_changes_ignored(queue_url: str) -> None:
    batch = window(
        [order(10), order(Decimal("2.25")), order(7, event_name="MODIFY")],
        event_source_arn=TABLE_STREAM,
    )

    response = invoke(batch)

    assert aggregate(response) == {"total": "12.25", "count": 2}
    assert response["batchItemFailures"] == []


def test_the_final_invocation_writes_the_window_total(queue_url: str) -> None:
    final = window(
        [],
        state=carried("12.25", 2),
        is_final=True,
        event_source_arn=TABLE_STREAM,
        shard_id="shardId-00000001-abc",
    )

    assert invoke(final) == {"state": {}}
    invoke(final)  # retried: the same item again

    (item,) = totals()
    assert item["pk"] == "orders#sales#shardId-00000001-abc"
    assert item["attribute"] == "sales"
    assert item["sk"] == "2026-01-01T00:00:00Z#final"
    assert (item["total"], item["count"]) == (12.25, 2)
    assert (item["windowStart"], item["windowEnd"]) == (
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:30Z",
    )
    assert (item["shardId"], item["part"]) == ("shardId-00000001-abc", "final")


def test_kinesis_payloads_with_or_without_an_item_envelope_count(
    queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_NAME", "events")
    batch = window(
        [
            kinesis_record(
                {"Item": {"sales": 5}}, arrival_time=START + 1, stream_arn=KINESIS_STREAM
            ),
            kinesis_record({"sales": 2.5}, arrival_time=START + 2, stream_arn=KINESIS_STREAM),
        ],
        event_source_arn=KINESIS_STREAM,
    )

    assert aggregate(invoke(batch)) == {"total": "7.5", "count": 2}


def test_kinesis_numbers_keep_every_digit(queue_url: str) -> None:
    batch = window(
        [
            kinesis_record(b'{"sales": 1234567890123456789.25}', arrival_time=START + 1),
            kinesis_record(b'{"sales": 0.100001}', arrival_time=START + 2),
        ]
    )

    assert aggregate(invoke(batch)) == {"total": "1234567890123456789.350001", "count": 2}


def test_more_decimal_places_can_be_configured(
    queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VALUE_DECIMAL_PLACES", "20")
    batch = window(
        [
            kinesis_record(b'{"sales": 12345678901.25}', arrival_time=START + 1),
            kinesis_record(b'{"sales": 0.10000000000000000555}', arrival_time=START + 2),
            kinesis_record(b'{"sales": 100000000000}', arrival_time=START + 3),
        ]
    )

    response = invoke(batch)

    # 20 places leave magnitudes below 1E+11.
    assert aggregate(response) == {"total": "12345678901.35000000000000000555", "count": 2}
    assert parked_reasons(queue_url) == ["VALUE_OUT_OF_RANGE"]


@pytest.mark.parametrize("places", ["-1", "32", "six", "1.5", "\u0663"])
def test_an_invalid_decimal_places_setting_fails_with_its_name(
    queue_url: str, monkeypatch: pytest.MonkeyPatch, places: str
) -> None:
    monkeypatch.setenv("VALUE_DECIMAL_PLACES", places)

    with pytest.raises(ValueError, match="VALUE_DECIMAL_PLACES"):
        invoke(window([kinesis_record({"sales": 1}, arrival_time=START + 1)]))


@pytest.mark.parametrize("extreme_first", [True, False], ids=["extreme-first", "extreme-last"])
@pytest.mark.parametrize("extreme", ["1E+100", "1E-20", "-1E+25"])
def test_an_extreme_value_is_parked_and_the_ordinary_ones_count_in_either_order(
    queue_url: str, extreme: str, *, extreme_first: bool
) -> None:
    ordinary = [kinesis_record({"sales": v}, arrival_time=START + 2) for v in ("1.5", "2.25")]
    odd = kinesis_record(b'{"sales": ' + extreme.encode() + b"}", arrival_time=START + 1)
    batch = window([odd, *ordinary] if extreme_first else [*ordinary, odd])

    response = invoke(batch)

    assert aggregate(response) == {"total": "3.75", "count": 2}
    assert response["batchItemFailures"] == []
    assert parked_reasons(queue_url) == ["VALUE_OUT_OF_RANGE"]


def test_a_value_that_would_push_the_total_past_38_digits_is_parked(queue_url: str) -> None:
    # Only reachable past 10,000,000 values in one part: the carried total stands in for them.
    high = "99999999999999999999999999999999.999999"  # 38 digits
    batch = window(
        [kinesis_record(b'{"sales": 0.000003}', arrival_time=START + 1)],
        state=carried(high, 10_000_000),
    )

    response = invoke(batch)

    assert aggregate(response) == {"total": high, "count": 10_000_000}
    assert parked_reasons(queue_url) == ["TOTAL_OUT_OF_RANGE"]


def test_a_deeply_nested_record_is_parked_and_the_records_after_it_count(queue_url: str) -> None:
    deep = b'{"sales": ' + b"[" * 1_100 + b"]" * 1_100 + b"}"
    batch = window(
        [
            kinesis_record({"sales": 1}, arrival_time=START + 1),
            kinesis_record(deep, arrival_time=START + 2),
            kinesis_record({"sales": 2}, arrival_time=START + 3),
        ]
    )

    response = invoke(batch)

    assert aggregate(response) == {"total": "3", "count": 2}
    assert response["batchItemFailures"] == []
    assert parked_reasons(queue_url) == ["MALFORMED_RECORD"]


def test_a_window_with_an_out_of_range_value_still_writes_its_total(queue_url: str) -> None:
    # DynamoDB rejects numbers past 38 digits or 1E+125; a final write it rejects would
    # stop the shard for good, so such a value is parked when it arrives.
    batch = window(
        [
            kinesis_record({"sales": 5}, arrival_time=START + 1),
            kinesis_record({"sales": "1e200"}, arrival_time=START + 2),
        ]
    )
    state = invoke(batch)["state"]

    invoke(window([], state=state, is_final=True))

    (item,) = totals()
    assert item["total"] == 5
    assert parked_reasons(queue_url) == ["VALUE_OUT_OF_RANGE"]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (order(None), "MISSING_VALUE"),
        (order("lots"), "MISSING_VALUE"),
        (kinesis_record(b"not json", arrival_time=START + 1), "MALFORMED_RECORD"),
        (kinesis_record({"sales": True}, arrival_time=START + 1), "MISSING_VALUE"),
        (kinesis_record({"sales": "NaN"}, arrival_time=START + 1), "MISSING_VALUE"),
        (kinesis_record(b'{"sales": NaN}', arrival_time=START + 1), "MALFORMED_RECORD"),
        (kinesis_record(b'{"sales": 1e400}', arrival_time=START + 1), "VALUE_OUT_OF_RANGE"),
        (kinesis_record({"sales": "-1e-131"}, arrival_time=START + 1), "VALUE_OUT_OF_RANGE"),
        (kinesis_record({"sales": "1E+126"}, arrival_time=START + 1), "VALUE_OUT_OF_RANGE"),
        (kinesis_record({"sales": "1" * 39}, arrival_time=START + 1), "VALUE_OUT_OF_RANGE"),
    ],
    ids=[
        "no-sales",
        "not-a-number",
        "not-json",
        "boolean",
        "not-finite",
        "json-nan",
        "too-large",
        "too-small",
        "just-too-large",
        "too-many-digits",
    ],
)
def test_records_without_a_usable_value_are_parked_with_the_reason(
    queue_url: str, record: dict[str, Any], reason: str
) -> None:
    good = kinesis_record({"sales": 4}, arrival_time=START + 1) if "kinesis" in record else order(4)
    response = invoke(window([good, record]))

    assert aggregate(response) == {"total": "4", "count": 1}
    assert response["batchItemFailures"] == []
    assert parked_reasons(queue_url) == [reason]


def test_source_name_defaults_to_the_stream_name(queue_url: str) -> None:
    invoke(window([], state=carried("1", 1), is_final=True, event_source_arn=KINESIS_STREAM))
    (item,) = totals()
    assert item["pk"].startswith("order-events#sales#")


def test_source_name_can_be_configured(queue_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_NAME", "shop")
    invoke(window([], state=carried("1", 1), is_final=True, event_source_arn=TABLE_STREAM))
    (item,) = totals()
    assert item["pk"].startswith("shop#sales#")


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("0", 0),
        ("0.000", 0),
        ("100", 0),
        ("1E+3", 0),
        ("1.50", 1),
        ("-0.000001", 6),
        ("1.5E-3", 4),
        ("12.3400E+1", 1),
    ],
)
def test_decimal_places_count_the_digits_after_the_point_that_matter(
    text: str, places: int
) -> None:
    assert handler._decimal_places(Decimal(text)) == places


@pytest.mark.parametrize("places", ["0", "31"])
def test_the_grid_takes_every_setting_from_0_to_31(
    monkeypatch: pytest.MonkeyPatch, places: str
) -> None:
    monkeypatch.setenv("VALUE_DECIMAL_PLACES", places)
    grid = handler.grid_from_environment()
    assert grid.decimal_places == int(places)
    assert grid.limit == Decimal(10) ** (31 - int(places))


def test_with_no_decimal_places_whole_numbers_count_and_fractions_are_parked(
    queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VALUE_DECIMAL_PLACES", "0")
    response = invoke(
        window(
            [
                kinesis_record({"sales": "1000"}, arrival_time=START + 1),
                kinesis_record({"sales": "2.0"}, arrival_time=START + 1),
                kinesis_record({"sales": "0.5"}, arrival_time=START + 1),
            ]
        )
    )
    state = aggregate(response)
    assert (Decimal(state["total"]), state["count"]) == (1002, 2)
    assert parked_reasons(queue_url) == ["VALUE_OUT_OF_RANGE"]


@pytest.mark.parametrize("payload", [[1, 2], "sales", 5, None])
def test_payloads_that_are_not_objects_are_parked(queue_url: str, payload: Any) -> None:
    response = invoke(window([kinesis_record(json.dumps(payload).encode(), arrival_time=START)]))
    assert aggregate(response) == {"total": "0", "count": 0}
    assert parked_reasons(queue_url) == ["MISSING_VALUE"]


def test_data_that_is_not_strict_base64_is_parked(queue_url: str) -> None:
    record = kinesis_record({"sales": 1}, arrival_time=START)
    # Lenient decoding would skip the stray characters and count the record.
    record["kinesis"]["data"] = "*" + record["kinesis"]["data"]
    response = invoke(window([record]))
    assert aggregate(response) == {"total": "0", "count": 0}
    assert parked_reasons(queue_url) == ["MALFORMED_RECORD"]


def test_aggregators_of_other_attributes_sharing_a_table_write_other_items(
    queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for attribute in ("sales", "refunds"):
        monkeypatch.setenv("VALUE_ATTRIBUTE", attribute)
        invoke(window([], state=carried("1", 1), is_final=True, event_source_arn=KINESIS_STREAM))

    assert sorted(item["pk"].split("#")[1] for item in totals()) == ["refunds", "sales"]


def test_values_at_the_grids_limits_count(queue_url: str) -> None:
    batch = window(
        [
            kinesis_record({"sales": "9999999999999999999999999.999999"}, arrival_time=START + 1),
            kinesis_record({"sales": "-9999999999999999999999999.999999"}, arrival_time=START + 2),
            kinesis_record({"sales": "1E-6"}, arrival_time=START + 3),
            kinesis_record({"sales": "2.5000000000"}, arrival_time=START + 4),
        ]
    )

    assert aggregate(invoke(batch)) == {"total": "2.5000010000", "count": 4}
    assert parked_reasons(queue_url) == []


def test_the_grid_holds_the_sum_of_ten_million_of_its_largest_values() -> None:
    largest = Decimal("9999999999999999999999999.999999")
    # DYNAMODB_NUMBERS traps any inexact or out-of-range result.
    assert DYNAMODB_NUMBERS.multiply(largest, Decimal(10_000_000)) == Decimal(
        "99999999999999999999999999999990.000000"
    )


def test_a_dynamodb_number_off_the_grid_is_parked_and_the_others_count(queue_url: str) -> None:
    response = invoke(window([order(4), order(Decimal("1E+30")), order(Decimal("1E-9"))]))

    assert aggregate(response) == {"total": "4", "count": 1}
    assert response["batchItemFailures"] == []
    assert parked_reasons(queue_url) == ["VALUE_OUT_OF_RANGE", "VALUE_OUT_OF_RANGE"]


@pytest.mark.parametrize("text", ["lots", "12,5", ""])
def test_a_kinesis_value_that_is_not_a_number_is_parked(queue_url: str, text: str) -> None:
    batch = window(
        [
            kinesis_record({"sales": text}, arrival_time=START + 1),
            kinesis_record({"sales": "3"}, arrival_time=START + 2),
        ]
    )

    response = invoke(batch)

    assert aggregate(response) == {"total": "3", "count": 1}
    assert response["batchItemFailures"] == []
    assert parked_reasons(queue_url) == ["MISSING_VALUE"]
