"""The Alleycat history transform (Firehose) and processor (S3 objects), against moto.

The processor's concurrency paths are driven by wrapping the cached S3 client: another
writer puts the history object between the processor's read and its conditional write, as a
concurrent invocation would.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from lambda_blueprints.runtime.alleycat.history import handler as history
from lambda_blueprints.runtime.alleycat.history import transform
from lambda_blueprints.runtime.shared.failures import MAX_MESSAGE_BYTES
from lambda_blueprints.testing import (
    LambdaContext,
    eventbridge_event,
    firehose_transformation_event,
    validate_firehose_response,
)
from lambda_blueprints.testing.reference.alleycat import expected_personal_bests, second_output

ARCHIVE = "race-archive"
HISTORY = "race-history"
STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/alleycat"
KEY_3 = "history/class-3.json.gz"


@pytest.fixture
def buckets(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Archive and history buckets and a failure queue in moto; yields the queue URL."""
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=ARCHIVE)
        s3.create_bucket(Bucket=HISTORY)
        url = boto3.client("sqs").create_queue(QueueName="history-failures")["QueueUrl"]
        monkeypatch.setenv("HISTORY_BUCKET_NAME", HISTORY)
        monkeypatch.setenv("HISTORY_PREFIX", "history/")
        monkeypatch.setenv("FAILURE_QUEUE_URL", url)
        history.s3_client.cache_clear()
        history.sqs_client.cache_clear()
        yield url
        history.s3_client.cache_clear()
        history.sqs_client.cache_clear()


def bike(racer: int, second: int, cadence: Any = 80, resistance: Any = 50, **fields: Any) -> Any:
    return {
        "uuid": f"u-{racer}-{second}",
        "event": "update",
        "raceId": 1619185620,
        "classId": 3,
        "racerId": racer,
        "name": f"Rider {racer}",
        "second": second,
        "cadence": cadence,
        "resistance": resistance,
        "total": 10,
        "deviceTimestamp": 1619185789750,
        **fields,
    }


def line(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def deliver(
    lines: list[bytes], *, key: str = "data/2026/01/01/00/archive-1", gzipped: bool = True
) -> Any:
    body = b"".join(item + b"\n" for item in lines)
    boto3.client("s3").put_object(
        Bucket=ARCHIVE, Key=key, Body=gzip.compress(body) if gzipped else body
    )
    return eventbridge_event(
        "Object Created",
        "aws.s3",
        {
            "version": "0",
            "bucket": {"name": ARCHIVE},
            "object": {"key": key, "size": len(body)},
            "reason": "PutObject",
        },
        resources=[f"arn:aws:s3:::{ARCHIVE}"],
    )


def process(event: Any) -> dict[str, Any]:
    return history.lambda_handler(event, cast(Any, LambdaContext(function_name="history")))


def stored(key: str = KEY_3) -> dict[str, Any]:
    body = boto3.client("s3").get_object(Bucket=HISTORY, Key=key)["Body"].read()
    return cast(dict[str, Any], json.loads(gzip.decompress(body)))


def put_history(racers: dict[str, Any], key: str = KEY_3, *, gzipped: bool = True) -> None:
    body = json.dumps({"classId": 3, "racers": racers}).encode()
    boto3.client("s3").put_object(
        Bucket=HISTORY, Key=key, Body=gzip.compress(body) if gzipped else body
    )


def parked(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    bodies: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [json.loads(m["Body"]) for m in batch]
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def output(cadence: Any, resistance: Any) -> str:
    # The reference formula, written apart from the pipeline's (testing.reference.alleycat).
    return str(second_output(cadence, resistance))


class Writes:
    """Wrap the processor's S3 client: count its calls, let another writer cut in."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.client = history.s3_client()
        self.other = boto3.client("s3")
        self.gets = 0
        self.puts: list[dict[str, Any]] = []
        self._real_get = self.client.get_object
        self._real_put = self.client.put_object
        monkeypatch.setattr(self.client, "get_object", self._get)
        monkeypatch.setattr(self.client, "put_object", self._put)
        #: Called after each read of the history object (or its NoSuchKey) with the count.
        self.after_get: Callable[[int], None] = lambda count: None
        #: Raised instead of the write, once, when set.
        self.fail_put: ClientError | None = None

    def _get(self, **kwargs: Any) -> Any:
        if kwargs["Bucket"] != HISTORY:
            return self._real_get(**kwargs)
        self.gets += 1
        try:
            return self._real_get(**kwargs)
        finally:
            self.after_get(self.gets)

    def _put(self, **kwargs: Any) -> Any:
        self.puts.append({k: v for k, v in kwargs.items() if k != "Body"})
        if self.fail_put is not None:
            error, self.fail_put = self.fail_put, None
            raise error
        return self._real_put(**kwargs)

    def concurrent_write(self, racers: dict[str, Any]) -> None:
        body = gzip.compress(json.dumps({"classId": 3, "racers": racers}).encode())
        self.other.put_object(Bucket=HISTORY, Key=KEY_3, Body=body)


# -- the transform -------------------------------------------------------------------------


def transformed(*payloads: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    event = firehose_transformation_event(*payloads, source_kinesis_stream_arn=STREAM)
    response = transform.lambda_handler(event, cast(Any, LambdaContext(function_name="t")))
    validate_firehose_response(event, response)
    return event, response


def test_the_transform_keeps_the_whole_message_and_adds_its_exact_output() -> None:
    # The reviewer's message: uuid, name and deviceTimestamp must survive, numbers unchanged.
    raw = (
        b'{"uuid": "b340d30f", "event": "update", "deviceTimestamp": 1619185789750, '
        b'"second": 3, "raceId": 1619185620, "name": "Hubert", "racerId": 1, "classId": 1, '
        b'"cadence": 80, "resistance": 78.50, "total": 0.1, "firmware": {"v": 1E2}}'
    )

    _, response = transformed(raw)

    (answer,) = response["records"]
    assert answer["result"] == "Ok"
    assert base64.b64decode(answer["data"]) == (
        b'{"uuid":"b340d30f","event":"update","deviceTimestamp":1619185789750,"second":3,'
        b'"raceId":1619185620,"name":"Hubert","racerId":1,"classId":1,"cadence":80,'
        b'"resistance":78.50,"total":0.1,"firmware":{"v":1E2},"output":165.02}\n'
    )
    # (80 + 35) * (78.50 + 65) / 100 = 165.025, to the cent, half to even.
    assert output(80, "78.50") == "165.02"


def test_the_transform_replaces_an_output_the_message_brings() -> None:
    _, response = transformed(bike(7, 5, output="NaN"), bike(7, 6, output=1e9))

    lines = [
        json.loads(base64.b64decode(a["data"]), parse_float=Decimal) for a in response["records"]
    ]
    assert [a["result"] for a in response["records"]] == ["Ok", "Ok"]
    assert [item["output"] for item in lines] == [Decimal(output(80, 50))] * 2


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{broken", "MALFORMED_MESSAGE"),
        (b"[1, 2]", "MALFORMED_MESSAGE"),
        (bike(7, 5, cadence=-1), "INVALID_MESSAGE"),
        (
            json.dumps(bike(7, 5)).replace('"total": 10', '"total": 1e400').encode(),
            "INVALID_MESSAGE",
        ),
        (bike(7, 5, total=float("inf")), "MALFORMED_MESSAGE"),  # Infinity is not JSON
        ({k: v for k, v in bike(7, 5).items() if k != "racerId"}, "INVALID_MESSAGE"),
        # Valid fields, but JSON that cannot be read or written back exactly.
        (
            json.dumps(bike(7, 5)).replace('"total": 10', '"total": 10, "x": NaN').encode(),
            "MALFORMED_MESSAGE",
        ),
        (bike(7, 1, total=1200), "IMPLAUSIBLE_TOTAL"),
        (bike(7, 5, pad="x" * 5000), "MESSAGE_TOO_LARGE"),
        (b"[" * 1100 + b"]" * 1100, "NESTING_TOO_DEEP"),
        (
            json.dumps(bike(7, 5)).replace('"total": 10', '"total": 10, "x": 1e999').encode(),
            "NUMBER_OUT_OF_RANGE",
        ),
    ],
)
def test_an_invalid_message_is_processing_failed_with_its_reason(
    payload: Any, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    event, response = transformed(bike(1, 1), payload)

    assert [a["result"] for a in response["records"]] == ["Ok", "ProcessingFailed"]
    # Firehose keeps the original record under the processing-failed prefix.
    assert response["records"][1]["data"] == event["records"][1]["data"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [(w.__dict__["recordId"], w.__dict__["reason"]) for w in warnings] == [
        (event["records"][1]["recordId"], reason)
    ]


def test_the_transform_refuses_a_message_for_another_racer_than_its_bike(
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = firehose_transformation_event(
        bike(7, 5), bike(7, 6), bike(7, 7), source_kinesis_stream_arn=STREAM
    )
    # The IoT rule names the publishing bike in the partition key (bike/<thing name>).
    for entry, key in zip(event["records"], ["bike/7", "bike/8", "b3f1c2d4"], strict=True):
        entry["kinesisRecordMetadata"]["partitionKey"] = key

    response = transform.lambda_handler(event, cast(Any, LambdaContext(function_name="t")))

    validate_firehose_response(event, response)
    assert [a["result"] for a in response["records"]] == ["Ok", "ProcessingFailed", "Ok"]
    assert [w.__dict__["reason"] for w in caplog.records if w.levelno == logging.WARNING] == [
        "RACER_MISMATCH"
    ]


def test_a_delivered_line_of_the_largest_message_is_still_read(buckets: str) -> None:
    # The transform adds ',"output":<value>' to a message of up to 4 KiB.
    base = json.dumps(bike(7, 5, pad=""), separators=(",", ":")).encode()
    largest = base.replace(b'"pad":""', b'"pad":"' + b"x" * (4096 - len(base)) + b'"')
    _, response = transformed(largest)
    (answer,) = response["records"]
    delivered = base64.b64decode(answer["data"]).rstrip(b"\n")

    assert answer["result"] == "Ok"
    assert len(delivered) > 4096
    assert process(deliver([delivered]))["newBests"] == {"3": 1}


# -- the processor -------------------------------------------------------------------------


def test_what_the_transform_delivers_becomes_the_history_of_each_class(buckets: str) -> None:
    messages = [
        bike(racer, second, cadence=60 + (racer * second) % 40, resistance=(racer + second) % 90)
        for racer in range(1, 6)
        for second in range(1, 4)
    ] + [bike(9, 1, classId=4, cadence=100, resistance=10)]
    _, response = transformed(*messages)
    lines = [base64.b64decode(a["data"]).rstrip(b"\n") for a in response["records"]]

    result = process(deliver(lines))

    assert result == {
        "object": "data/2026/01/01/00/archive-1",
        "newBests": {"3": 15, "4": 1},
        "parked": 0,
    }
    expected = expected_personal_bests(messages)
    assert stored()["racers"] == expected[3]
    assert stored("history/class-4.json.gz") == {"classId": 4, "racers": expected[4]}
    assert parked(buckets) == []


def test_a_redelivered_object_changes_nothing(buckets: str) -> None:
    event = deliver([line(bike(7, 5))])
    process(event)
    version = boto3.client("s3").head_object(Bucket=HISTORY, Key=KEY_3)["ETag"]

    assert process(event)["newBests"] == {"3": 0}
    assert boto3.client("s3").head_object(Bucket=HISTORY, Key=KEY_3)["ETag"] == version


def test_history_objects_are_gzip_bytes_that_a_browser_does_not_decode(buckets: str) -> None:
    process(deliver([line(bike(7, 5))]))

    head = boto3.client("s3").head_object(Bucket=HISTORY, Key=KEY_3)
    assert head["ContentType"] == "application/gzip"
    # With Content-Encoding: gzip a browser would gunzip before the frontend's own gunzip.
    assert "ContentEncoding" not in head
    body = boto3.client("s3").get_object(Bucket=HISTORY, Key=KEY_3)["Body"].read()
    assert body[:2] == b"\x1f\x8b"


def test_the_line_output_is_recomputed_never_trusted(buckets: str) -> None:
    # The reviewer's case: NaN first for a racer's second raised InvalidOperation out of the
    # merge; Infinity won the second for good.
    lines = [
        line(bike(7, 5, output="NaN")),
        line(bike(7, 5, cadence=90, output="150")),
        line(bike(8, 5, output="Infinity")),
        line(bike(9, 5, output="sNaN")),
        line(bike(10, 5, output="99999")),
    ]

    result = process(deliver(lines))

    assert result["parked"] == 0
    assert stored()["racers"] == {
        "7": {"5": output(90, 50)},
        "8": {"5": output(80, 50)},
        "9": {"5": output(80, 50)},
        "10": {"5": output(80, 50)},
    }


def test_stored_bests_that_are_not_finite_numbers_are_dropped_and_rewritten(buckets: str) -> None:
    put_history(
        {
            "7": {"5": "NaN", "6": "Infinity", "8": "150.00", "9": "-Infinity", "10": "x"},
            "8": {"1": "sNaN"},
            "9": ["not", "seconds"],
        }
    )

    result = process(deliver([line(bike(7, 5)), line(bike(7, 6))]))

    assert result["newBests"] == {"3": 2}
    assert stored()["racers"] == {
        "7": {"5": output(80, 50), "6": output(80, 50), "8": "150.00"},
        "8": {},
    }


def test_a_repair_alone_is_written_back(buckets: str) -> None:
    put_history({"7": {"5": "200.00", "6": "Infinity"}})

    result = process(deliver([line(bike(7, 5))]))

    assert result["newBests"] == {"3": 0}
    assert stored()["racers"] == {"7": {"5": "200.00"}}


def test_a_write_between_read_and_write_is_merged_not_lost(
    buckets: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_history({"1": {"1": "50.00"}})
    writes = Writes(monkeypatch)
    # Another invocation writes racer 9 after this one read the object.
    writes.after_get = lambda count: (
        writes.concurrent_write({"9": {"1": "99.00"}}) if count == 1 else None
    )

    result = process(deliver([line(bike(7, 5))]))

    assert result["newBests"] == {"3": 1}
    # The first write, conditional on the stale ETag, was refused; the second merged into
    # the other writer's object.
    assert [list(p) for p in writes.puts] == [
        ["Bucket", "Key", "ContentType", "IfMatch"],
        ["Bucket", "Key", "ContentType", "IfMatch"],
    ]
    assert writes.gets == 2
    assert stored()["racers"] == {"9": {"1": "99.00"}, "7": {"5": output(80, 50)}}


def test_a_first_write_racing_another_creator_merges_into_its_object(
    buckets: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = Writes(monkeypatch)
    # No history yet: the read finds nothing, then another invocation creates the object.
    writes.after_get = lambda count: (
        writes.concurrent_write({"9": {"1": "99.00"}}) if count == 1 else None
    )

    result = process(deliver([line(bike(7, 5))]))

    assert result["newBests"] == {"3": 1}
    assert writes.puts[0]["IfNoneMatch"] == "*"
    assert "IfMatch" in writes.puts[1]
    assert len(writes.puts) == 2
    assert stored()["racers"] == {"9": {"1": "99.00"}, "7": {"5": output(80, 50)}}


def test_a_conditional_request_conflict_is_retried(
    buckets: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = Writes(monkeypatch)
    # S3 answers 409 ConditionalRequestConflict when another conditional write is in flight.
    writes.fail_put = ClientError(
        {"Error": {"Code": "ConditionalRequestConflict", "Message": "conflict"}}, "PutObject"
    )

    result = process(deliver([line(bike(7, 5))]))

    assert result["newBests"] == {"3": 1}
    assert len(writes.puts) == 2
    assert stored()["racers"] == {"7": {"5": output(80, 50)}}


def test_other_write_errors_fail_the_invocation(
    buckets: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = Writes(monkeypatch)
    writes.fail_put = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")

    with pytest.raises(ClientError, match="AccessDenied"):
        process(deliver([line(bike(7, 5))]))
    assert len(writes.puts) == 1


def test_an_object_that_keeps_changing_fails_after_max_write_attempts(
    buckets: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_history({})
    writes = Writes(monkeypatch)
    # Every read is followed by another writer's change: no conditional write can succeed.
    writes.after_get = lambda count: writes.concurrent_write({"9": {str(count): "1.00"}})

    with pytest.raises(RuntimeError, match=rf"{KEY_3} kept changing during 8 writes"):
        process(deliver([line(bike(7, 5))]))

    assert history.MAX_WRITE_ATTEMPTS == 8
    assert writes.gets == len(writes.puts) == history.MAX_WRITE_ATTEMPTS
    # Nothing of this invocation was written; EventBridge retries it whole.
    assert "7" not in stored()["racers"]


def test_unusable_lines_reach_the_failure_queue_and_the_rest_is_merged(buckets: str) -> None:
    lines = [
        line(bike(7, 5)),
        b"{not json",
        b"[1, 2]",
        line(bike(8, 5, cadence=float("nan"))),
        line(bike(8, 6, classId=0)),
        b"\xff\xfe garbage",
    ]
    event = deliver(lines)

    result = process(event)

    assert result["parked"] == 5
    assert stored()["racers"] == {"7": {"5": output(80, 50)}}
    messages = parked(buckets)
    # The reasons of the validator every reader shares (NaN is not JSON).
    assert [(m["reason"], m["line"].encode()) for m in messages] == [
        ("MALFORMED_MESSAGE", b"{not json"),
        ("MALFORMED_MESSAGE", b"[1, 2]"),
        ("MALFORMED_MESSAGE", lines[3]),
        ("INVALID_MESSAGE", lines[4]),
        ("MALFORMED_MESSAGE", "\ufffd\ufffd garbage".encode()),
    ]
    for message in messages:
        assert message["detail"]
        assert (message["bucket"], message["key"]) == (ARCHIVE, event["detail"]["object"]["key"])
        assert message["functionName"] == "history"
        assert message["lineTruncated"] is False


def test_a_line_too_large_for_one_message_is_parked_cut(buckets: str) -> None:
    huge = b'{"classId": 3, "pad": "' + "é".encode() * 400_000 + b'"}'

    result = process(deliver([huge, line(bike(7, 5))]))

    assert result["parked"] == 1
    (message,) = parked(buckets)
    assert message["lineTruncated"] is True
    assert message["lineBytes"] == len(huge)
    assert huge.decode().startswith(message["line"])
    assert len(json.dumps(message, ensure_ascii=False).encode()) <= MAX_MESSAGE_BYTES
    assert stored()["racers"] == {"7": {"5": output(80, 50)}}


def test_an_uncompressed_delivered_object_is_read_as_it_is(buckets: str) -> None:
    result = process(deliver([line(bike(7, 5))], gzipped=False))

    assert result["newBests"] == {"3": 1}
    assert stored()["racers"] == {"7": {"5": output(80, 50)}}


def test_an_uncompressed_history_object_is_read_and_written_back_gzipped(buckets: str) -> None:
    put_history({"1": {"1": "50.00"}}, gzipped=False)

    process(deliver([line(bike(7, 5))]))

    assert stored()["racers"] == {"1": {"1": "50.00"}, "7": {"5": output(80, 50)}}


def test_a_corrupt_gzip_object_fails_the_invocation_for_a_retry(buckets: str) -> None:
    key = "data/2026/01/01/00/archive-2"
    event = deliver([line(bike(7, 5))], key=key)
    boto3.client("s3").put_object(Bucket=ARCHIVE, Key=key, Body=b"\x1f\x8bnot really gzip")

    with pytest.raises((OSError, EOFError)):
        process(event)


def test_a_history_object_that_is_not_a_history_document_fails_the_invocation(
    buckets: str,
) -> None:
    boto3.client("s3").put_object(Bucket=HISTORY, Key=KEY_3, Body=gzip.compress(b"[1]"))

    with pytest.raises(ValueError, match=rf"{KEY_3} is not a history document"):
        process(deliver([line(bike(7, 5))]))


def test_a_redelivered_object_writes_nothing(buckets: str, monkeypatch: pytest.MonkeyPatch) -> None:
    event = deliver([line(bike(7, 5))])
    process(event)
    writes = Writes(monkeypatch)

    assert process(event)["newBests"] == {"3": 0}

    assert writes.gets == 1
    assert writes.puts == []


def test_repairing_a_history_counts_every_unusable_entry_it_drops() -> None:
    racers: dict[str, Any] = {
        "1": "not-seconds",
        "2": {"5": "NaN", "6": "12.50", "7": "Infinity"},
        "3": {"1": True, "2": None, "3": {"n": 1}, "4": [1, 2], "5": 7, "6": 2.5},
        "4": None,
    }

    assert history.repair_history(KEY_3, racers) == 8

    assert racers == {"2": {"6": "12.50"}, "3": {"5": 7, "6": 2.5}}


def test_a_history_object_s3_reports_as_404_is_created(
    buckets: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = history.s3_client()
    real_get = client.get_object

    def not_found(**kwargs: Any) -> Any:
        if kwargs["Bucket"] == HISTORY:
            raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "GetObject")
        return real_get(**kwargs)

    monkeypatch.setattr(client, "get_object", not_found)

    assert process(deliver([line(bike(7, 5))]))["newBests"] == {"3": 1}

    assert stored() == {"classId": 3, "racers": {"7": {"5": output(80, 50)}}}


def test_history_objects_are_compact_json_gzipped_the_same_way_every_time(buckets: str) -> None:
    process(deliver([line(bike(7, 5))]))

    body = boto3.client("s3").get_object(Bucket=HISTORY, Key=KEY_3)["Body"].read()
    document = {"classId": 3, "racers": {"7": {"5": output(80, 50)}}}
    assert body == gzip.compress(
        json.dumps(document, separators=(",", ":")).encode(), compresslevel=6, mtime=0
    )


PARKED_BODY = {"reason": "MALFORMED_RECORD", "detail": "x", "bucket": ARCHIVE, "key": "k"}
MESSAGE_ROOM = MAX_MESSAGE_BYTES - 4 * 1024


def test_a_parked_line_of_non_ascii_text_is_counted_in_utf8_bytes() -> None:
    text = "漢" * 80_000  # 240,000 bytes of UTF-8; twice that as \u escapes

    message = json.loads(history.parked_message(PARKED_BODY, text.encode()))

    assert message["lineTruncated"] is False
    assert message["line"] == text


@pytest.mark.parametrize(("extra", "truncated"), [(0, False), (1, True)])
def test_a_parked_line_is_kept_whole_up_to_the_message_size_limit(
    extra: int, truncated: bool
) -> None:
    envelope = {**PARKED_BODY, "lineTruncated": False, "lineBytes": 200_000, "line": ""}
    room = MESSAGE_ROOM - len(json.dumps(envelope, ensure_ascii=False).encode())
    raw = b"a" * (room + extra)

    text = history.parked_message(PARKED_BODY, raw)

    assert json.loads(text)["lineTruncated"] is truncated
    assert len(text.encode()) <= MESSAGE_ROOM
    if not truncated:
        assert len(text.encode()) == MESSAGE_ROOM


def test_a_cut_parked_line_keeps_at_least_half_of_the_room() -> None:
    raw = b"a" * 1_000_000

    message = json.loads(history.parked_message(PARKED_BODY, raw))

    assert message["lineTruncated"] is True
    assert len(message["line"]) > MESSAGE_ROOM // 2
    assert raw.decode().startswith(message["line"])
