"""The ready-made JSON lines transform, with Firehose transformation events."""

from __future__ import annotations

import base64
import json
import logging
from decimal import Decimal
from typing import Any, cast

import pytest

from lambda_blueprints.runtime.json_lines import handler
from lambda_blueprints.runtime.shared.failures import PoisonRecordError
from lambda_blueprints.testing import (
    LambdaContext,
    firehose_transformation_event,
    validate_firehose_response,
)

SOURCE = "arn:aws:kinesis:us-east-1:123456789012:stream/race-events"


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    response = handler.lambda_handler(event, cast(Any, LambdaContext(function_name="json-lines")))
    validate_firehose_response(event, response)
    return response


def lines(response: dict[str, Any]) -> list[bytes]:
    return [base64.b64decode(a["data"]) for a in response["records"] if a["result"] == "Ok"]


def test_objects_become_compact_json_lines() -> None:
    event = firehose_transformation_event(
        b'{ "racerId": 7,\n  "cadence": 80.5, "tags": [ "a", "b" ] }',
        '{"name": "Zoë", "nested": {"ok": true, "none": null}}',
        source_kinesis_stream_arn=SOURCE,
    )

    response = invoke(event)

    assert [a["result"] for a in response["records"]] == ["Ok", "Ok"]
    assert lines(response) == [
        b'{"racerId":7,"cadence":80.5,"tags":["a","b"]}\n',
        '{"name":"Zoë","nested":{"ok":true,"none":null}}\n'.encode(),
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # Every number with a fraction or an exponent keeps its source text.
        (b'{"id": 12345678901234567890.5}', b'{"id":12345678901234567890.5}\n'),
        (b'{"p": 0.10000000000000000555}', b'{"p":0.10000000000000000555}\n'),
        (b'{"a": 1E2}', b'{"a":1E2}\n'),
        (
            b'{"a": 2.50, "b": -0.0, "c": 1e-400, "d": 6.02e+23}',
            b'{"a":2.50,"b":-0.0,"c":1e-400,"d":6.02e+23}\n',
        ),
        # Integers are exact at any size within a double's range.
        (b'{"big": 123456789012345678901234567890}', b'{"big":123456789012345678901234567890}\n'),
        (b'{"n": [1, -7, {"z": 0}]}', b'{"n":[1,-7,{"z":0}]}\n'),
    ],
)
def test_numbers_are_delivered_exactly_as_sent(data: bytes, expected: bytes) -> None:
    response = invoke(firehose_transformation_event(data))

    assert [a["result"] for a in response["records"]] == ["Ok"]
    assert lines(response) == [expected]
    # Strict JSON that reads back to the same exact values.
    assert json.loads(expected, parse_float=Decimal, parse_constant=_refuse) == json.loads(
        data, parse_float=Decimal
    )


def _refuse(name: str) -> Any:
    raise AssertionError(f"{name} in the output")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{not json", "INVALID_JSON"),
        (b"", "INVALID_JSON"),
        (b'{"speed": NaN}', "INVALID_JSON"),
        (b'{"speed": -Infinity}', "INVALID_JSON"),
        (b"\xff\xfe\x00garbage", "INVALID_JSON"),
        (b'{"name": "\\ud800"}', "INVALID_JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "INVALID_JSON"),
        (b"[1, 2]", "NOT_AN_OBJECT"),
        (b'"text"', "NOT_AN_OBJECT"),
        (b'{"x": 1e400}', "NUMBER_OUT_OF_RANGE"),
        (b'{"x": [-1e999]}', "NUMBER_OUT_OF_RANGE"),
        (b'{"x": 1' + b"0" * 400 + b"}", "NUMBER_OUT_OF_RANGE"),
    ],
)
def test_anything_but_a_json_object_fails_with_its_reason_logged(
    data: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    event = firehose_transformation_event(b'{"ok": 1}', data)

    response = invoke(event)

    assert [a["result"] for a in response["records"]] == ["Ok", "ProcessingFailed"]
    assert response["records"][1]["data"] == event["records"][1]["data"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [(w.__dict__["recordId"], w.__dict__["reason"]) for w in warnings] == [
        (event["records"][1]["recordId"], reason)
    ]


def test_to_json_line_raises_a_poison_record_error_for_non_objects() -> None:
    with pytest.raises(PoisonRecordError) as raised:
        handler.to_json_line(b"42", {})
    assert raised.value.reason == "NOT_AN_OBJECT"
    assert handler.to_json_line(b'{"a" : 1}', {}) == b'{"a":1}'
