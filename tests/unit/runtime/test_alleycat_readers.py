"""Every Alleycat reader counts the same messages: one validator, hostile messages refused.

Each hostile message is a ``finish`` message whose checked fields are valid, so that each
reader would count it if it looked only at those: the live standings (a tumbling window),
the final results, the Firehose transform and the personal-best processor.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest
from moto import mock_aws

from lambda_blueprints.runtime.alleycat.final_results import handler as final_results
from lambda_blueprints.runtime.alleycat.history import handler as history
from lambda_blueprints.runtime.alleycat.history import transform
from lambda_blueprints.runtime.alleycat.standings import handler as standings
from lambda_blueprints.runtime.shared.failures import PoisonRecordError
from lambda_blueprints.testing import (
    LambdaContext,
    firehose_transformation_event,
    kinesis_event,
    kinesis_record,
    tumbling_window_event,
)
from tests.conftest import create_pk_sk_table

STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/alleycat"
START = 1_767_225_600.0


def finish(**fields: Any) -> dict[str, Any]:
    return {
        "event": "finish",
        "raceId": 42,
        "classId": 3,
        "racerId": 1,
        "name": "Rider 1",
        "second": 300,
        "cadence": 80,
        "resistance": 50,
        "total": 9000,
        **fields,
    }


def with_field(raw: str) -> bytes:
    """A valid finish message with one more field, ``raw`` its JSON text."""
    return json.dumps(finish(extra="X")).replace('"X"', raw).encode()


VALID = json.dumps(finish()).encode()
#: (name, message, partition key, reason every reader gives).
HOSTILE = [
    ("nan", with_field("NaN"), "k", "MALFORMED_MESSAGE"),
    ("infinity", with_field("-Infinity"), "k", "MALFORMED_MESSAGE"),
    ("1e400", with_field("1e400"), "k", "NUMBER_OUT_OF_RANGE"),
    ("huge-integer", with_field("9" * 400), "k", "NUMBER_OUT_OF_RANGE"),
    ("padded-1-mib", with_field('"' + "x" * 1_000_000 + '"'), "k", "MESSAGE_TOO_LARGE"),
    ("nested", with_field("[" * 1100 + "]" * 1100), "k", "NESTING_TOO_DEEP"),
    ("nested-shallow", with_field("[" * 40 + "]" * 40), "k", "NESTING_TOO_DEEP"),
    ("implausible", json.dumps(finish(total=170_000)).encode(), "k", "IMPLAUSIBLE_TOTAL"),
    ("another-racer", VALID, "bike/2", "RACER_MISMATCH"),
]
#: The hostile messages a delivered line can be (it has no partition key).
LINES = [h for h in HOSTILE if not h[2].startswith("bike/")]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A races table and a failure queue in moto; yields the queue URL."""
    with mock_aws():
        create_pk_sk_table("races")
        url = boto3.client("sqs").create_queue(QueueName="failures")["QueueUrl"]
        monkeypatch.setenv("RESULTS_TABLE_NAME", "races")
        monkeypatch.setenv("FAILURE_QUEUE_URL", url)
        for module in (standings, final_results):
            module.dynamodb_client.cache_clear()
            module.sqs_client.cache_clear()
        yield url
        for module in (standings, final_results):
            module.dynamodb_client.cache_clear()
            module.sqs_client.cache_clear()


def context(name: str) -> Any:
    return cast(Any, LambdaContext(function_name=name))


def record(data: bytes, key: str, sequence: int) -> dict[str, Any]:
    return kinesis_record(
        data, partition_key=key, sequence_number=sequence, stream_arn=STREAM, arrival_time=START
    )


def parked_reasons(url: str) -> list[str]:
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"])["reason"] for m in messages.get("Messages", [])]


def results() -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName="races")["Items"]


@pytest.mark.parametrize(
    ("data", "key", "reason"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_the_live_standings_park_what_every_reader_refuses(
    aws: str, data: bytes, key: str, reason: str
) -> None:
    event = tumbling_window_event(
        [record(data, key, 1)], window_start=START, window_seconds=15, event_source_arn=STREAM
    )

    response = standings.lambda_handler(event, context("standings"))

    assert response["batchItemFailures"] == []
    assert response["state"]["aggregate"] == {}
    assert parked_reasons(aws) == [reason]


@pytest.mark.parametrize(
    ("data", "key", "reason"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_the_final_results_park_what_every_reader_refuses(
    aws: str, data: bytes, key: str, reason: str
) -> None:
    response = final_results.lambda_handler(kinesis_event(record(data, key, 1)), context("final"))

    assert response == {"batchItemFailures": []}
    assert results() == []
    assert parked_reasons(aws) == [reason]


@pytest.mark.parametrize(
    ("data", "key", "reason"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_the_firehose_transform_fails_what_every_reader_refuses(
    data: bytes, key: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    event = firehose_transformation_event(data, source_kinesis_stream_arn=STREAM)
    event["records"][0]["kinesisRecordMetadata"]["partitionKey"] = key

    response = transform.lambda_handler(event, context("transform"))

    assert [a["result"] for a in response["records"]] == ["ProcessingFailed"]
    assert [r.__dict__.get("reason") for r in caplog.records if r.levelname == "WARNING"] == [
        reason
    ]


# A delivered line has no partition key: the transform checked the publisher.
@pytest.mark.parametrize(
    ("data", "key", "reason"), [h[1:] for h in LINES], ids=[h[0] for h in LINES]
)
def test_the_personal_best_processor_parks_what_every_reader_refuses(
    data: bytes, key: str, reason: str
) -> None:
    parked: list[str] = []

    def park(line: bytes, error: PoisonRecordError) -> None:
        parked.append(error.reason)

    bests = history.bests_by_class([data], park)

    assert bests == {}
    assert parked == [reason]


def test_every_reader_counts_a_valid_message(aws: str, caplog: pytest.LogCaptureFixture) -> None:
    window = tumbling_window_event(
        [record(VALID, "bike/1", 1)], window_start=START, window_seconds=15, event_source_arn=STREAM
    )
    state = standings.lambda_handler(window, context("standings"))["state"]
    final_results.lambda_handler(kinesis_event(record(VALID, "bike/1", 2)), context("final"))
    event = firehose_transformation_event(VALID, source_kinesis_stream_arn=STREAM)
    answer = transform.lambda_handler(event, context("transform"))["records"][0]
    line = base64.b64decode(answer["data"])

    assert state["aggregate"]["42"]["standings"] == {"1": [300, "9000", "Rider 1"]}
    assert [i["sk"]["S"] for i in results()] == ["racer#1"]
    assert answer["result"] == "Ok"
    assert history.bests_by_class([line], lambda *_: pytest.fail("parked")) == {
        3: {"1": {"300": "132.25"}}  # (80 + 35) x (50 + 65) / 100
    }
    assert parked_reasons(aws) == []


def test_a_final_result_that_fails_for_good_is_parked_not_retried(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever the validator misses, an error no retry can fix must not hold the shard.
    def too_deep(record: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(final_results, "kinesis_message", too_deep)

    response = final_results.lambda_handler(
        kinesis_event(record(VALID, "bike/1", 5)), context("final")
    )

    assert response == {"batchItemFailures": []}
    assert parked_reasons(aws) == ["NESTING_TOO_DEEP"]
