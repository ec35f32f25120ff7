"""The Firehose transformation contract helper, against real transformation events."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import pytest

from lambda_blueprints.runtime.shared.failures import PoisonRecordError
from lambda_blueprints.runtime.shared.firehose import (
    MAX_JSON_DEPTH,
    MAX_RECORD_BYTES,
    MAX_RESPONSE_BYTES,
    RecordTooLargeError,
    ResponseFullError,
    json_depth,
    json_line,
    parse_json_object,
    transform_records,
)
from lambda_blueprints.testing import firehose_transformation_event, validate_firehose_response

SOURCE = "arn:aws:kinesis:us-east-1:123456789012:stream/race-events"
KIB = 1024


def run(event: dict[str, Any], transform: Any, **options: Any) -> dict[str, Any]:
    response = transform_records(event, transform, **options)
    validate_firehose_response(event, response)
    return response


def decoded(answer: Mapping[str, str]) -> bytes:
    return base64.b64decode(answer["data"])


def upper(data: bytes, record: Mapping[str, Any]) -> bytes:
    return data.upper()


def test_every_record_is_answered_once_in_order_with_its_id() -> None:
    event = firehose_transformation_event("a", "b", "c", source_kinesis_stream_arn=SOURCE)

    response = run(event, upper)

    assert [a["recordId"] for a in response["records"]] == [r["recordId"] for r in event["records"]]
    assert [a["result"] for a in response["records"]] == ["Ok", "Ok", "Ok"]
    assert [decoded(a) for a in response["records"]] == [b"A\n", b"B\n", b"C\n"]


def test_the_transform_gets_decoded_data_and_the_record_itself() -> None:
    event = firehose_transformation_event(b"\x00\xffraw", source_kinesis_stream_arn=SOURCE)
    seen: list[tuple[bytes, Mapping[str, Any]]] = []

    def capture(data: bytes, record: Mapping[str, Any]) -> bytes:
        seen.append((data, record))
        return data

    run(event, capture)

    assert seen == [(b"\x00\xffraw", event["records"][0])]
    assert seen[0][1]["kinesisRecordMetadata"]["shardId"]


def test_a_newline_is_added_once_and_only_when_missing() -> None:
    event = firehose_transformation_event("x", "y\n")

    response = run(event, lambda data, record: data)

    assert [decoded(a) for a in response["records"]] == [b"x\n", b"y\n"]


def test_newline_false_delivers_the_output_as_it_is() -> None:
    event = firehose_transformation_event("x", "y\n")

    response = run(event, lambda data, record: data, newline=False)

    assert [decoded(a) for a in response["records"]] == [b"x", b"y\n"]


def test_none_drops_the_record() -> None:
    event = firehose_transformation_event("keep", "drop", "keep")

    response = run(event, lambda data, record: None if data == b"drop" else data)

    assert [a["result"] for a in response["records"]] == ["Ok", "Dropped", "Ok"]
    assert response["records"][1]["data"] == ""


def test_empty_data_reaches_the_transform_and_an_empty_output_is_one_newline() -> None:
    event = firehose_transformation_event(b"")
    seen: list[bytes] = []

    def echo(data: bytes, record: Mapping[str, Any]) -> bytes:
        seen.append(data)
        return data

    assert decoded(run(event, echo)["records"][0]) == b"\n"
    assert decoded(run(event, echo, newline=False)["records"][0]) == b""
    assert seen == [b"", b""]


def test_a_failing_record_is_processing_failed_and_the_batch_goes_on() -> None:
    event = firehose_transformation_event("ok", "poison", "boom", "ok")
    failures: list[tuple[str, Exception]] = []

    def picky(data: bytes, record: Mapping[str, Any]) -> bytes:
        if data == b"poison":
            raise PoisonRecordError("MALFORMED_RECORD", "not a race message")
        if data == b"boom":
            raise KeyError("cadence")
        return data

    response = run(
        event, picky, on_failure=lambda record, error: failures.append((record["recordId"], error))
    )

    answers = response["records"]
    assert [a["result"] for a in answers] == ["Ok", "ProcessingFailed", "ProcessingFailed", "Ok"]
    # The original data goes back with a failure.
    assert answers[1]["data"] == event["records"][1]["data"]
    assert [record_id for record_id, _ in failures] == [
        event["records"][1]["recordId"],
        event["records"][2]["recordId"],
    ]
    assert isinstance(failures[0][1], PoisonRecordError)
    assert isinstance(failures[1][1], KeyError)


def test_a_transform_that_returns_text_fails_the_record() -> None:
    event = firehose_transformation_event("x")
    failures: list[Exception] = []

    response = run(
        event, lambda data, record: "text", on_failure=lambda record, error: failures.append(error)
    )

    assert response["records"][0]["result"] == "ProcessingFailed"
    assert isinstance(failures[0], TypeError)


def test_outputs_over_the_record_limit_fail_and_outputs_at_it_pass() -> None:
    event = firehose_transformation_event("at-limit", "over-limit")
    failures: list[Exception] = []

    def grow(data: bytes, record: Mapping[str, Any]) -> bytes:
        # The newline the helper adds makes the first output exactly the limit.
        size = MAX_RECORD_BYTES - 1 if data == b"at-limit" else MAX_RECORD_BYTES
        return b"x" * size

    response = run(event, grow, on_failure=lambda record, error: failures.append(error))

    assert [a["result"] for a in response["records"]] == ["Ok", "ProcessingFailed"]
    assert len(decoded(response["records"][0])) == MAX_RECORD_BYTES
    assert [type(e) for e in failures] == [RecordTooLargeError]


@pytest.mark.parametrize(
    ("size", "echoed"), [(MAX_RECORD_BYTES, True), (MAX_RECORD_BYTES + 1, False)]
)
def test_a_failed_record_carries_its_original_data_only_when_it_fits_an_answer(
    size: int, *, echoed: bool
) -> None:
    # A record read from a Kinesis stream (up to 1 MiB) may be larger than an answer.
    event = firehose_transformation_event(b"y")
    event["records"][0]["data"] = base64.b64encode(b"y" * size).decode()

    def refuse(data: bytes, record: Mapping[str, Any]) -> bytes:
        raise PoisonRecordError("REFUSED", "never transformed")

    response = run(event, refuse)

    (answer,) = response["records"]
    assert answer["result"] == "ProcessingFailed"
    assert decoded(answer) == (b"y" * size if echoed else b"")


def test_records_past_the_response_limit_fail_without_being_transformed() -> None:
    event = firehose_transformation_event(*[f"record-{n}" for n in range(8)])
    transformed: list[bytes] = []
    failures: list[tuple[str, Exception]] = []

    def bloat(data: bytes, record: Mapping[str, Any]) -> bytes:
        transformed.append(data)
        return b"y" * (900 * KIB)  # 1.2 MB once base64-encoded

    response = run(
        event, bloat, on_failure=lambda record, error: failures.append((record["recordId"], error))
    )

    results = [a["result"] for a in response["records"]]
    assert results == ["Ok"] * 5 + ["ProcessingFailed"] * 3
    assert transformed == [f"record-{n}".encode() for n in range(6)]
    assert [record_id for record_id, _ in failures] == [r["recordId"] for r in event["records"][5:]]
    assert all(isinstance(error, ResponseFullError) for _, error in failures)
    assert len(json.dumps(response).encode()) <= MAX_RESPONSE_BYTES


def test_the_response_fits_6_mb_as_the_lambda_runtime_serializes_it() -> None:
    # Many small answers: the runtime's ", " and ": " add 6 bytes to each, 120,000 bytes
    # over 20,000 records, which a budget counted in compact JSON would let past 6 MiB.
    event = firehose_transformation_event(*[f"r{n}" for n in range(20_000)])
    failures: list[Exception] = []

    response = run(
        event, lambda data, record: b"x" * 300, on_failure=lambda r, e: failures.append(e)
    )

    answers = response["records"]
    ok = [a for a in answers if a["result"] == "Ok"]
    # As the runtime sends it: json defaults, no compacting.
    wire = len(json.dumps(response).encode())
    assert wire <= MAX_RESPONSE_BYTES == 6 * 1024 * 1024
    # Filled to the limit: the first answer left out would not have fitted.
    assert wire > MAX_RESPONSE_BYTES - len(json.dumps(ok[0]).encode()) - len(", ")
    assert failures and all(isinstance(e, ResponseFullError) for e in failures)
    assert [a["result"] for a in answers] == ["Ok"] * len(ok) + ["ProcessingFailed"] * len(failures)


def test_what_on_failure_raises_fails_the_invocation() -> None:
    event = firehose_transformation_event("x")

    def fail(data: bytes, record: Mapping[str, Any]) -> bytes:
        raise ValueError("bad")

    def broken_logging(record: Mapping[str, Any], error: Exception) -> None:
        raise RuntimeError("log sink down")

    with pytest.raises(RuntimeError, match="log sink down"):
        transform_records(event, fail, on_failure=broken_logging)


def nested(levels: int) -> bytes:
    """An object whose value nests arrays: ``levels`` levels of nesting in all."""
    return b'{"a": ' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"


def test_json_nested_up_to_the_limit_is_read_and_written_back() -> None:
    data = nested(MAX_JSON_DEPTH)

    value = parse_json_object(data)

    assert json_depth(value) == MAX_JSON_DEPTH
    assert json_line(value) == data.replace(b" ", b"")


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 900, 1_100, 100_000])
def test_json_nested_past_the_limit_is_refused_whatever_the_parser_manages(levels: int) -> None:
    # 900 levels parse with room on the stack; the limit must not depend on that.
    with pytest.raises(PoisonRecordError) as refused:
        parse_json_object(nested(levels))

    assert refused.value.reason == "INVALID_JSON"


@pytest.mark.parametrize(
    ("value", "depth"),
    [(1, 0), ({}, 1), ([], 1), ({"a": [1, {"b": []}]}, 4), ([[[]], {}], 3)],
)
def test_json_depth_counts_levels_of_objects_and_arrays(value: Any, depth: int) -> None:
    assert json_depth(value) == depth


def test_json_depth_stops_at_the_first_level_past_its_limit() -> None:
    deep: Any = []
    for _ in range(50):
        deep = [deep]

    assert json_depth(deep) == 51
    assert json_depth(deep, stop_above=3) == 4
    assert json_depth([[[]]], stop_above=3) == 3
