"""The Alleycat stream handlers and the leaderboard API against moto, with real event shapes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iotdata.models import iotdata_backends

from lambda_blueprints.runtime.alleycat import race
from lambda_blueprints.runtime.alleycat.final_results import handler as final_results
from lambda_blueprints.runtime.alleycat.leaderboard_api import handler as api
from lambda_blueprints.runtime.alleycat.publisher import handler as publisher
from lambda_blueprints.runtime.alleycat.race import decode_standings, encode_standings
from lambda_blueprints.runtime.alleycat.standings import handler as standings
from lambda_blueprints.runtime.shared.windows import Window
from lambda_blueprints.testing import (
    LambdaContext,
    api_gateway_rest_event,
    dynamodb_stream_record,
    kinesis_event,
    kinesis_record,
    tumbling_window_event,
)
from tests.conftest import create_pk_sk_table

START = 1_767_225_600.0
STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/alleycat"
TABLE_STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/races/stream/2026-01-01T00:00:00.000"
HANDLERS = (standings, final_results, publisher, api)


@pytest.fixture
def races(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mock_aws():
        create_pk_sk_table("races", score_index="ByScore")
        url = boto3.client("sqs").create_queue(QueueName="failures")["QueueUrl"]
        monkeypatch.setenv("RESULTS_TABLE_NAME", "races")
        monkeypatch.setenv("FAILURE_QUEUE_URL", url)
        monkeypatch.setenv("LEADERBOARD_SIZE", "2")
        for module in HANDLERS:
            for name in ("dynamodb_client", "sqs_client", "iot_data_client"):
                if hasattr(module, name):
                    getattr(module, name).cache_clear()
        yield url
        for module in HANDLERS:
            for name in ("dynamodb_client", "sqs_client", "iot_data_client"):
                if hasattr(module, name):
                    getattr(module, name).cache_clear()


def context(name: str) -> LambdaContext:
    return LambdaContext(function_name=name)


def bike(racer: int, second: int, total: float, **fields: Any) -> dict[str, Any]:
    return {
        "event": "update",
        "raceId": 42,
        "classId": 3,
        "racerId": racer,
        "name": f"Rider {racer}",
        "second": second,
        "cadence": 80,
        "resistance": 50,
        "total": total,
        **fields,
    }


def record(
    payload: Any, sequence: int, shard: str = "shardId-000000000000", at: float = START + 1
) -> dict[str, Any]:
    return kinesis_record(
        payload, sequence_number=sequence, shard_id=shard, stream_arn=STREAM, arrival_time=at
    )


def window(
    records: list[dict[str, Any]], *, start: float = START, **options: Any
) -> dict[str, Any]:
    return tumbling_window_event(
        records, window_start=start, window_seconds=15, event_source_arn=STREAM, **options
    )


def pages(shard: str = "shardId-000000000000", race: int = 42) -> list[dict[str, Any]]:
    """The stored standings pages of a race for one shard, in page order."""
    items = boto3.client("dynamodb").query(
        TableName="races",
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={
            ":pk": {"S": f"race#{race}"},
            ":prefix": {"S": f"standings#{shard}#"},
        },
    )["Items"]
    return sorted(items, key=lambda item: int(item["page"]["N"]))


def stored(shard: str = "shardId-000000000000", race: int = 42) -> dict[str, Any]:
    """A race's stored standings for one shard, its pages merged."""
    found = pages(shard, race)
    merged: dict[str, Any] = {}
    for item in found:
        merged.update(decode_standings(item["standings"]["B"]))
    return {
        "standings": merged,
        "version": int(found[0]["version"]["N"]),
        "classId": int(found[0]["classId"]["N"]),
        "pages": len(found),
    }


def refuse(client: Any, operation: str, code: str, message: str, when: Any = None) -> Any:
    """``client.<operation>`` raising ``code`` for requests ``when`` accepts (all by default)."""
    real = getattr(client, operation)
    name = "".join(part.title() for part in operation.split("_"))

    def call(**request: Any) -> Any:
        if when is None or when(request):
            raise ClientError({"Error": {"Code": code, "Message": message}}, name)
        return real(**request)

    return call


def queued(url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


# -- standings ---------------------------------------------------------------------------


def test_a_window_keeps_best_totals_and_parks_invalid_messages(races: str) -> None:
    batch = window(
        [
            record(bike(1, 1, 10), 1),
            record(bike(2, 1, 12), 2),
            record(b"{broken", 3),
            record(bike(1, 2, 25), 4),
        ]
    )

    response = standings.lambda_handler(batch, context("standings"))

    assert response["batchItemFailures"] == []
    assert response["state"]["aggregate"] == {
        "42": {"classId": 3, "standings": {"1": [2, "25", "Rider 1"], "2": [1, "12", "Rider 2"]}}
    }
    [parked] = queued(races)
    assert parked["reason"] == "MALFORMED_MESSAGE"
    assert parked["sequenceNumber"] == "3"


def test_the_final_invocation_merges_into_the_stored_item_and_replays_change_nothing(
    races: str,
) -> None:
    first = window([record(bike(1, 2, 25), 1), record(bike(2, 2, 30), 2)])
    state = standings.lambda_handler(first, context("standings"))["state"]
    standings.lambda_handler(window([], state=state, is_final=True), context("standings"))
    later = window([record(bike(1, 9, 90), 3, at=START + 16)], start=START + 15)
    state = standings.lambda_handler(later, context("standings"))["state"]
    final = window([], start=START + 15, state=state, is_final=True)
    standings.lambda_handler(final, context("standings"))
    standings.lambda_handler(final, context("standings"))  # a retried final invocation

    item = stored()
    assert item["standings"] == {"1": [9, "90", "Rider 1"], "2": [2, "30", "Rider 2"]}
    assert item["version"] == 2
    assert item["classId"] == 3


def test_a_concurrent_write_is_merged_not_overwritten(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_query = standings.dynamodb_client().query
    sneaked = False

    def read_then_someone_writes(**request: Any) -> Any:
        nonlocal sneaked
        answer = real_query(**request)
        if not sneaked:
            sneaked = True
            standings.dynamodb_client().put_item(
                TableName="races",
                Item={
                    "pk": {"S": "race#42"},
                    "sk": {"S": "standings#shardId-000000000000#00000"},
                    "raceId": {"N": "42"},
                    "classId": {"N": "3"},
                    "page": {"N": "0"},
                    "standings": {"B": encode_standings({"7": [3, "70", "Rider 7"]})},
                    "version": {"N": "1"},
                },
            )
        return answer

    monkeypatch.setattr(standings.dynamodb_client(), "query", read_then_someone_writes)
    state = standings.lambda_handler(window([record(bike(1, 2, 25), 1)]), context("s"))["state"]
    standings.lambda_handler(window([], state=state, is_final=True), context("s"))

    # The first write (a new page) was refused; the second merged into the other writer's.
    assert set(stored()["standings"]) == {"1", "7"}
    assert stored()["version"] == 2


def test_without_a_window_each_batch_is_written(races: str) -> None:
    response = standings.lambda_handler(
        kinesis_event(record(bike(1, 1, 10), 1, "shardId-000000000003")), context("s")
    )

    assert response == {"batchItemFailures": []}
    assert stored("shardId-000000000003")["standings"] == {"1": [1, "10", "Rider 1"]}


def cjk_name(racer: int) -> str:
    """64 CJK characters that differ from racer to racer: names gzip compresses poorly."""
    return "".join(chr(0x4E00 + (racer * 64 + i) % 20000) for i in range(64))


def test_a_flood_of_fake_racers_never_stops_the_honest_racers_standings(races: str) -> None:
    # One publisher's 6,000 fake racers with 64-character names took one item past 400 KB:
    # the whole window was parked and the 20 honest racers' standings went stale.
    flood = [
        record(bike(10_000 + r, 1, 100, raceId=42, name=cjk_name(r)), r + 1) for r in range(6000)
    ]
    honest = [record(bike(r, 1, 500 + r), 7000 + r) for r in range(20)]
    state = standings.lambda_handler(window([*flood, *honest]), context("s"))["state"]

    response = standings.lambda_handler(window([], state=state, is_final=True), context("s"))

    assert response == {"state": {}}
    assert queued(races) == []
    found = pages()
    # 6,020 racers in pages of at most 1,000, each item well within DynamoDB's 400 KB.
    assert [int(p["racers"]["N"]) for p in found] == [1000] * 6 + [20]
    assert all(len(p["standings"]["B"]) <= race.MAX_STANDINGS_BYTES for p in found)
    assert {str(r) for r in range(20)} <= set(stored()["standings"])
    assert len(stored()["standings"]) == 6020

    # The next window: the honest racers ride on, their page alone is written again.
    later = window(
        [record(bike(r, 16, 9000 + r), 8000 + r, at=START + 16) for r in range(20)],
        start=START + 15,
    )
    state = standings.lambda_handler(later, context("s"))["state"]
    final = window([], start=START + 15, state=state, is_final=True)
    standings.lambda_handler(final, context("s"))

    assert [int(p["version"]["N"]) for p in pages()] == [2] + [1] * 6
    status, body = call("/races/42/standings", {"limit": "20"})
    assert status == 200
    assert body["racers"] == 6020
    assert [(s["racerId"], s["total"]) for s in body["standings"]] == [
        (r, 9000.0 + r) for r in range(19, -1, -1)
    ]


def test_the_pages_of_a_window_cost_one_write_each_and_a_replay_none(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[str] = []
    client = standings.dynamodb_client()
    real_put = client.put_item

    def put(**request: Any) -> Any:
        writes.append(request["Item"]["sk"]["S"])
        return real_put(**request)

    monkeypatch.setattr(client, "put_item", put)
    state = standings.lambda_handler(
        window([record(bike(r, 1, 100 + r), r + 1) for r in range(1500)]), context("s")
    )["state"]
    final = window([], state=state, is_final=True)

    standings.lambda_handler(final, context("s"))
    standings.lambda_handler(final, context("s"))  # a retried final invocation

    # 1,500 racers: two pages, two writes for the window, none for the replay.
    assert writes == [
        "standings#shardId-000000000000#00000",
        "standings#shardId-000000000000#00001",
    ]


def test_standings_dynamodb_refuses_are_parked_not_retried_forever(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = standings.dynamodb_client()
    monkeypatch.setattr(
        client, "put_item", refuse(client, "put_item", "ValidationException", "Item size exceeded")
    )
    state = standings.lambda_handler(window([record(bike(1, 1, 10), 1)]), context("s"))["state"]

    response = standings.lambda_handler(window([], state=state, is_final=True), context("s"))

    assert response == {"state": {}}
    [parked] = queued(races)
    assert parked["reason"] == "STANDINGS_REJECTED"
    assert "Item size exceeded" in parked["detail"]


def test_a_page_dynamodb_refuses_is_parked_and_the_other_pages_are_written(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = standings.dynamodb_client()
    refused = refuse(
        client,
        "put_item",
        "ValidationException",
        "Item size exceeded",
        lambda request: request["Item"]["page"]["N"] == "0",
    )
    monkeypatch.setattr(client, "put_item", refused)
    state = standings.lambda_handler(
        window([record(bike(r, 1, 100), r + 1) for r in range(1001)]), context("s")
    )["state"]

    response = standings.lambda_handler(window([], state=state, is_final=True), context("s"))

    assert response == {"state": {}}
    assert stored()["standings"] == {"1000": [1, "100", "Rider 1000"]}  # page 1 was written
    [parked] = queued(races)
    assert parked["reason"] == "STANDINGS_REJECTED"
    assert "race 42 page 0" in parked["detail"]


def test_without_a_window_refused_standings_are_parked_and_the_batch_succeeds(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(standings, "MAX_STANDINGS_BYTES", 10)
    batch = kinesis_event(record(bike(1, 1, 10), 7, "shardId-000000000003"))

    response = standings.lambda_handler(batch, context("s"))

    assert response == {"batchItemFailures": []}
    [parked] = queued(races)
    assert parked["reason"] == "STANDINGS_TOO_LARGE"
    assert parked["record"]["part"] == "batch"
    assert parked["record"]["firstSequenceNumber"] == "7"
    assert parked["record"]["eventID"] == "shardId-000000000003:7"


def test_a_failed_write_fails_the_final_invocation_for_a_retry(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESULTS_TABLE_NAME", "missing")
    state = standings.lambda_handler(window([record(bike(1, 1, 10), 1)]), context("s"))["state"]

    with pytest.raises(Exception, match="ResourceNotFound"):
        standings.lambda_handler(window([], state=state, is_final=True), context("s"))


def store_page(number: int, entries: dict[str, list[Any]], version: int = 1) -> None:
    """A standings page of race 42 for shard 0, as an earlier window wrote it."""
    boto3.client("dynamodb").put_item(
        TableName="races",
        Item={
            "pk": {"S": "race#42"},
            "sk": {"S": f"standings#shardId-000000000000#{number:05d}"},
            "raceId": {"N": "42"},
            "classId": {"N": "3"},
            "page": {"N": str(number)},
            "standings": {"B": encode_standings(entries)},
            "racers": {"N": str(len(entries))},
            "updatedAt": {"S": "2026-01-01T00:00:00Z"},
            "version": {"N": str(version)},
        },
    )


def full_page() -> dict[str, list[Any]]:
    return {str(r): [1, str(100 + r), f"Rider {r}"] for r in range(race.PAGE_RACERS)}


def run_window(records: list[dict[str, Any]]) -> dict[str, Any]:
    state = standings.lambda_handler(window(records), context("s"))["state"]
    return standings.lambda_handler(window([], state=state, is_final=True), context("s"))


def test_a_page_item_names_its_race_and_the_end_of_its_window(races: str) -> None:
    event = window([record(bike(1, 1, 10), 1)])
    state = standings.lambda_handler(event, context("s"))["state"]
    standings.lambda_handler(window([], state=state, is_final=True), context("s"))

    (item,) = pages()
    assert item["raceId"] == {"N": "42"}
    assert item["classId"] == {"N": "3"}
    assert item["racers"] == {"N": "1"}
    assert item["updatedAt"] == {"S": event["window"]["end"]}
    assert event["window"]["end"] != event["window"]["start"]


def test_new_racers_beyond_a_full_page_go_to_the_next_page_number(races: str) -> None:
    store_page(0, full_page())

    assert run_window([record(bike(5000, 1, 10), 1)]) == {"state": {}}

    assert [(int(p["page"]["N"]), int(p["version"]["N"])) for p in pages()] == [(0, 1), (1, 1)]
    assert decode_standings(pages()[1]["standings"]["B"]) == {"5000": [1, "10", "Rider 5000"]}
    assert queued(races) == []


def test_a_race_whose_pages_come_back_in_several_query_pages_is_merged_into_them(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_page(0, {str(r): [1, "10", f"Rider {r}"] for r in range(1, 11)})
    store_page(1, {"5000": [1, "10", "Rider 5000"]})
    client = standings.dynamodb_client()
    real_query = client.query
    # DynamoDB ends a query page at 1 MB; one item per page stands in for that here.
    monkeypatch.setattr(client, "query", lambda **request: real_query(**request, Limit=1))

    assert run_window([record(bike(3, 2, 30), 1), record(bike(5000, 2, 20), 2)]) == {"state": {}}

    first, second = pages()
    assert (int(first["version"]["N"]), int(second["version"]["N"])) == (2, 2)
    assert decode_standings(first["standings"]["B"])["3"] == [2, "30", "Rider 3"]
    assert decode_standings(second["standings"]["B"]) == {"5000": [2, "20", "Rider 5000"]}


def test_the_pages_are_read_with_strongly_consistent_reads(races: str) -> None:
    queries: list[dict[str, Any]] = []
    standings.dynamodb_client().meta.events.register(
        "provide-client-params.dynamodb.Query", lambda params, **_: queries.append(dict(params))
    )

    run_window([record(bike(1, 1, 10), 1)])

    assert queries
    assert all(query.get("ConsistentRead") is True for query in queries)


def test_the_writer_counts_the_pages_it_writes(races: str) -> None:
    entries = {str(r): [1, str(100 + r), f"Rider {r}"] for r in range(1500)}
    state = {"42": {"classId": 3, "standings": entries}}
    at = Window("2026-01-01T00:00:00Z", "2026-01-01T00:00:15Z", "shardId-0", STREAM, "final")

    first = standings.RaceStandings("races")
    first.emit(state, at)
    replay = standings.RaceStandings("races")
    replay.emit(state, at)

    assert first.writes == 2
    assert replay.writes == 0


def test_a_refused_page_of_one_race_is_parked_though_a_later_race_is_written(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = standings.dynamodb_client()
    refused = refuse(
        client,
        "put_item",
        "ValidationException",
        "Item size exceeded",
        lambda request: request["Item"]["pk"]["S"] == "race#41",
    )
    monkeypatch.setattr(client, "put_item", refused)

    response = run_window([record(bike(1, 1, 10, raceId=41), 1), record(bike(2, 1, 20), 2)])

    assert response == {"state": {}}
    assert stored()["standings"] == {"2": [1, "20", "Rider 2"]}
    [parked] = queued(races)
    assert parked["reason"] == "STANDINGS_REJECTED"
    assert "race 41 page 0" in parked["detail"]


def test_a_page_of_exactly_the_size_limit_is_written(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = {"1": [1, "10", "Rider 1"]}
    monkeypatch.setattr(standings, "MAX_STANDINGS_BYTES", len(encode_standings(page)))

    assert run_window([record(bike(1, 1, 10), 1)]) == {"state": {}}

    assert stored()["standings"] == page
    assert queued(races) == []


# -- final results -----------------------------------------------------------------------


def test_final_results_keep_the_highest_finish_and_park_invalid_ones(races: str) -> None:
    event = kinesis_event(
        record(bike(1, 300, 900, event="finish"), 1),
        record(bike(2, 300, 950, event="finish"), 2),
        record(bike(1, 300, 800, event="finish"), 3),
        record(bike(3, 299, 999), 4),
        record(bike(4, 300, 10, event="finish", classId=0), 5),
    )

    response = final_results.lambda_handler(event, context("final"))

    assert response == {"batchItemFailures": []}
    items = boto3.client("dynamodb").query(
        TableName="races",
        IndexName="ByScore",
        KeyConditionExpression="raceKey = :r",
        ExpressionAttributeValues={":r": {"S": "race#42"}},
        ScanIndexForward=False,
    )["Items"]
    assert [(i["racerId"]["N"], i["score"]["N"]) for i in items] == [("2", "950"), ("1", "900")]
    [parked] = queued(races)
    assert parked["reason"] == "INVALID_MESSAGE"
    assert "classId=0" in parked["detail"]


def refuse_racer_2(monkeypatch: pytest.MonkeyPatch, code: str, message: str) -> None:
    client = final_results.dynamodb_client()
    put = refuse(client, "put_item", code, message, lambda r: r["Item"]["racerId"]["N"] == "2")
    monkeypatch.setattr(client, "put_item", put)


def test_a_failing_write_is_reported_for_that_record_only(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_racer_2(monkeypatch, "ProvisionedThroughputExceededException", "slow")
    event = kinesis_event(
        record(bike(1, 300, 900, event="finish"), 11),
        record(bike(2, 300, 950, event="finish"), 12),
    )

    response = final_results.lambda_handler(event, context("final"))

    assert response == {"batchItemFailures": [{"itemIdentifier": "12"}]}


def test_a_result_dynamodb_refuses_is_parked_and_the_batch_goes_on(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_racer_2(monkeypatch, "ValidationException", "Number overflow")
    event = kinesis_event(
        record(bike(2, 300, 950, event="finish"), 21),
        record(bike(1, 300, 900, event="finish"), 22),
    )

    response = final_results.lambda_handler(event, context("final"))

    assert response == {"batchItemFailures": []}
    [parked] = queued(races)
    assert (parked["reason"], parked["sequenceNumber"]) == ("RESULT_REJECTED", "21")
    stored_racers = boto3.client("dynamodb").scan(TableName="races")["Items"]
    assert [i["racerId"]["N"] for i in stored_racers] == ["1"]


# -- publisher ---------------------------------------------------------------------------


def standings_change(shard: str, sequence: int) -> dict[str, Any]:
    return dynamodb_stream_record(
        "MODIFY",
        {"pk": "race#42", "sk": f"standings#{shard}"},
        new_image={"pk": "race#42", "sk": f"standings#{shard}"},
        stream_arn=TABLE_STREAM,
        sequence_number=str(sequence),
    )


def put_standings(shard: str, entries: dict[str, list[Any]], updated: str, page: int = 0) -> None:
    boto3.client("dynamodb").put_item(
        TableName="races",
        Item={
            "pk": {"S": "race#42"},
            "sk": {"S": f"standings#{shard}#{page:05d}"},
            "classId": {"N": "3"},
            "page": {"N": str(page)},
            "standings": {"B": encode_standings(entries)},
            "updatedAt": {"S": updated},
            "version": {"N": "1"},
        },
    )


def published() -> list[tuple[str, dict[str, Any]]]:
    backend = iotdata_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return [(topic, json.loads(payload)) for topic, payload in backend.published_payloads]


def test_the_publisher_sends_the_merged_top_racers_once_per_race(races: str) -> None:
    put_standings("shardId-000000000000", {"1": [5, "50", "a"], "2": [5, "70", "b"]}, "T1")
    put_standings("shardId-000000000001", {"3": [5, "60", "c"], "1": [6, "80", "a"]}, "T2")
    event = {
        "Records": [
            standings_change("shardId-000000000000", 100),
            standings_change("shardId-000000000001", 101),
        ]
    }

    response = publisher.lambda_handler(event, context("publisher"))

    assert response == {"batchItemFailures": []}
    [(topic, body)] = published()
    assert topic == "alleycat/races/42/leaderboard"
    assert body["racers"] == 3
    assert body["updatedAt"] == "T2"
    assert [(s["racerId"], s["total"]) for s in body["leaders"]] == [(1, 80.0), (2, 70.0)]


def test_the_publisher_merges_every_page_a_racer_is_on_by_maximum(races: str) -> None:
    # Two writers of one shard may both place a new racer: the best entry wins.
    put_standings("shardId-000000000000", {"1": [5, "50", "a"], "2": [5, "70", "b"]}, "T1")
    put_standings("shardId-000000000000", {"1": [9, "90", "a"], "3": [5, "60", "c"]}, "T2", 1)

    publisher.lambda_handler(
        {"Records": [standings_change("shardId-000000000000", 150)]}, context("publisher")
    )

    [(_, body)] = published()
    assert body["racers"] == 3
    assert [(s["racerId"], s["total"]) for s in body["leaders"]] == [(1, 90.0), (2, 70.0)]


def test_a_failed_publish_reports_every_record_of_that_race(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_standings("shardId-000000000000", {"1": [5, "50", "a"]}, "T1")

    def broker_down(**_: Any) -> None:
        raise RuntimeError("broker unavailable")

    monkeypatch.setattr(publisher.iot_data_client(), "publish", broker_down)
    event = {
        "Records": [
            standings_change("shardId-000000000000", 200),
            standings_change("shardId-000000000000", 201),
        ]
    }

    response = publisher.lambda_handler(event, context("publisher"))

    assert response == {"batchItemFailures": [{"itemIdentifier": "200"}, {"itemIdentifier": "201"}]}


def test_the_published_leaderboard_carries_exactly_what_the_frontend_reads(races: str) -> None:
    put_standings("shardId-000000000000", {"7": [12, "30.5", "Ada"]}, "2026-11-23T10:00:15Z")

    publisher.lambda_handler(
        {"Records": [standings_change("shardId-000000000000", 160)]}, context("publisher")
    )

    [(_, body)] = published()
    assert body == {
        "raceId": 42,
        "classId": 3,
        "updatedAt": "2026-11-23T10:00:15Z",
        "racers": 1,
        "leaders": [{"rank": 1, "racerId": 7, "name": "Ada", "total": 30.5, "second": 12}],
    }


def test_a_race_without_standings_pages_publishes_an_empty_leaderboard(races: str) -> None:
    response = publisher.lambda_handler(
        {"Records": [standings_change("shardId-000000000000", 161)]}, context("publisher")
    )

    assert response == {"batchItemFailures": []}
    [(_, body)] = published()
    assert body == {"raceId": 42, "classId": 0, "updatedAt": "", "racers": 0, "leaders": []}


def test_the_publisher_reads_standings_with_strongly_consistent_reads(races: str) -> None:
    # The stream delivers the change right after the write: an eventually consistent read
    # could miss the page that changed.
    put_standings("shardId-000000000000", {"1": [5, "50", "a"]}, "T1")
    queries: list[dict[str, Any]] = []
    publisher.dynamodb_client().meta.events.register(
        "provide-client-params.dynamodb.Query", lambda params, **_: queries.append(dict(params))
    )

    publisher.lambda_handler(
        {"Records": [standings_change("shardId-000000000000", 162)]}, context("publisher")
    )

    assert queries
    assert all(query.get("ConsistentRead") is True for query in queries)


def test_a_standings_page_without_an_update_time_still_publishes_the_latest_one(
    races: str,
) -> None:
    put_standings("shardId-000000000000", {"1": [5, "50", "a"]}, "T2")
    put_standings("shardId-000000000001", {"2": [5, "40", "b"]}, "T1")
    boto3.client("dynamodb").update_item(
        TableName="races",
        Key={"pk": {"S": "race#42"}, "sk": {"S": "standings#shardId-000000000001#00000"}},
        UpdateExpression="REMOVE updatedAt",
    )

    response = publisher.lambda_handler(
        {"Records": [standings_change("shardId-000000000000", 163)]}, context("publisher")
    )

    assert response == {"batchItemFailures": []}
    [(_, body)] = published()
    assert body["updatedAt"] == "T2"
    assert body["racers"] == 2


def test_records_that_are_not_a_races_standings_publish_nothing(races: str) -> None:
    put_standings("shardId-000000000000", {"1": [5, "50", "a"]}, "T1")
    real = standings_change("shardId-000000000000", 170)
    others: list[dict[str, Any]] = []
    for breakage in (
        lambda r: r.pop("dynamodb"),
        lambda r: r["dynamodb"].pop("Keys"),
        lambda r: r["dynamodb"]["Keys"].pop("pk"),
        lambda r: r["dynamodb"]["Keys"].pop("sk"),
        lambda r: r["dynamodb"]["Keys"].update(pk={"N": "42"}),
        lambda r: r["dynamodb"]["Keys"].update(sk={"N": "1"}),
        lambda r: r["dynamodb"]["Keys"].update(pk={"S": "race#forty-two"}),
        lambda r: r["dynamodb"]["Keys"].update(pk={"S": "race#43"}, sk={"S": "final#17"}),
    ):
        other = standings_change("shardId-000000000000", 171 + len(others))
        breakage(other)
        others.append(other)

    response = publisher.lambda_handler({"Records": [*others, real]}, context("publisher"))

    assert response == {"batchItemFailures": []}
    assert [topic for topic, _ in published()] == ["alleycat/races/42/leaderboard"]


def leaderboard(names: list[str]) -> dict[str, Any]:
    return {
        "raceId": 42,
        "classId": 3,
        "updatedAt": "2026-11-23T10:00:15Z",
        "racers": len(names),
        "leaders": [
            {"rank": n + 1, "racerId": n, "name": name, "total": 10.0, "second": 1}
            for n, name in enumerate(names)
        ],
    }


def encoded(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def most_leaders_that_fit(message: dict[str, Any]) -> int:
    leaders = message["leaders"]
    return max(
        k
        for k in range(len(leaders) + 1)
        if len(encoded({**message, "leaders": leaders[:k]})) <= publisher.MAX_PAYLOAD_BYTES
    )


def test_a_leaderboard_of_exactly_the_payload_limit_is_published_whole() -> None:
    message = leaderboard(["a" * 1000] * 10)
    message["leaders"][-1]["name"] += "z" * (publisher.MAX_PAYLOAD_BYTES - len(encoded(message)))

    payload = publisher.encode_leaderboard(message)

    assert len(payload) == publisher.MAX_PAYLOAD_BYTES
    assert json.loads(payload) == message


@pytest.mark.parametrize("name_bytes", [995, 1000, 1003, 1210, 1531, 2017])
def test_a_cut_leaderboard_keeps_the_most_leaders_that_fit(name_bytes: int) -> None:
    message = leaderboard(["n" * name_bytes] * 200)

    payload = publisher.encode_leaderboard(message)

    assert len(payload) <= publisher.MAX_PAYLOAD_BYTES
    body = json.loads(payload)
    assert body == {**message, "leaders": message["leaders"][: most_leaders_that_fit(message)]}


def test_a_cut_leaderboard_keeps_a_leader_that_fits_to_the_byte() -> None:
    message = leaderboard(["a" * 1000] * 60)
    fit = {**message, "leaders": message["leaders"][:50]}
    message["leaders"][49]["name"] += "z" * (publisher.MAX_PAYLOAD_BYTES - len(encoded(fit)))

    body = json.loads(publisher.encode_leaderboard(message))

    assert len(body["leaders"]) == 50


def test_a_leader_too_large_to_publish_alone_leaves_the_leaderboard_empty() -> None:
    message = leaderboard(["x" * publisher.MAX_PAYLOAD_BYTES, "short"])

    payload = publisher.encode_leaderboard(message)

    assert json.loads(payload) == {**message, "leaders": []}


# -- leaderboard API ---------------------------------------------------------------------


def call(path: str, query: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    race_id = path.split("/")[2]
    resource = path.replace(f"/races/{race_id}/", "/races/{raceId}/")
    event = api_gateway_rest_event(
        "GET",
        path,
        resource=resource,
        path_parameters={"raceId": race_id},
        query=query,
    )
    response = api.lambda_handler(event, context("api"))
    return response["statusCode"], json.loads(response["body"])


def test_the_api_serves_merged_standings(races: str) -> None:
    put_standings("shardId-000000000000", {"1": [5, "50", "a"], "2": [5, "70", "b"]}, "T1")
    put_standings("shardId-000000000001", {"3": [5, "60", "c"]}, "T2")

    status, body = call("/races/42/standings", {"limit": "2"})

    assert status == 200
    assert body["racers"] == 3
    assert [s["racerId"] for s in body["standings"]] == [2, 3]


def test_the_api_pages_final_results_by_score(races: str) -> None:
    final_results.lambda_handler(
        kinesis_event(*[record(bike(r, 300, 100 + r, event="finish"), r + 1) for r in range(5)]),
        context("final"),
    )

    status, first = call("/races/42/results", {"limit": "3"})
    status_2, second = call("/races/42/results", {"limit": "3", "next": first["next"]})

    assert (status, status_2) == (200, 200)
    assert [r["racerId"] for r in first["results"]] == [4, 3, 2]
    assert [(r["rank"], r["racerId"]) for r in second["results"]] == [(4, 1), (5, 0)]
    assert "next" not in second


def test_the_publisher_cuts_a_leaderboard_to_iot_cores_payload_limit(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADERBOARD_SIZE", "1000")
    name = "".join(chr(0x4E00 + i) for i in range(64))  # 192 bytes of UTF-8
    put_standings(
        "shardId-000000000000", {str(r): [300, str(1000 + r), name] for r in range(1000)}, "T"
    )

    response = publisher.lambda_handler(
        {"Records": [standings_change("shardId-000000000000", 300)]}, context("publisher")
    )

    assert response == {"batchItemFailures": []}
    backend = iotdata_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    [(_, payload)] = backend.published_payloads
    assert len(payload) <= publisher.MAX_PAYLOAD_BYTES
    body = json.loads(payload)
    assert body["racers"] == 1000
    assert 300 < len(body["leaders"]) < 1000
    assert body["leaders"][0] == {
        "rank": 1,
        "racerId": 999,
        "name": name,
        "total": 1999.0,
        "second": 300,
    }
    # One more leader would not have fit.
    bigger = {**body, "leaders": [*body["leaders"], body["leaders"][-1]]}
    assert len(json.dumps(bigger, separators=(",", ":"), ensure_ascii=False).encode()) > (
        publisher.MAX_PAYLOAD_BYTES
    )


def test_a_start_key_dynamodb_refuses_answers_400(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = api.dynamodb_client()
    monkeypatch.setattr(
        client, "query", refuse(client, "query", "ValidationException", "Invalid ExclusiveStartKey")
    )

    status, body = call("/races/42/results", {"next": page_token("3:2:102")})

    assert status == 400
    assert "for this race" in body["message"]


def test_without_a_token_a_refused_query_is_a_server_error(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = api.dynamodb_client()
    monkeypatch.setattr(
        client, "query", refuse(client, "query", "ValidationException", "no such index")
    )

    with pytest.raises(ClientError):
        call("/races/42/results")


def next_token(key: Any, offset: Any = 3) -> str:
    """A token of the earlier form, ``{"key": <start key>, "offset": n}``: never accepted."""
    return base64.urlsafe_b64encode(json.dumps({"key": key, "offset": offset}).encode()).decode()


def page_token(text: str) -> str:
    """A token of this API's form: ``<offset>:<racer id>:<score>`` in URL-safe base64."""
    return base64.urlsafe_b64encode(text.encode()).decode()


PAGE_KEY = {
    "pk": {"S": "race#42"},
    "sk": {"S": "racer#2"},
    "raceKey": {"S": "race#42"},
    "score": {"N": "102"},
}


@pytest.mark.parametrize(
    ("path", "query", "status", "fragment"),
    [
        ("/races/abc/standings", None, 400, "raceId='abc'"),
        ("/races/\u00b2/standings", None, 400, "raceId="),
        ("/races/9007199254740992/standings", None, 400, "raceId='9007199254740992'"),
        ("/races/42/standings", {"limit": "\u00b2"}, 400, "limit="),
        ("/races/42/standings", {"limit": "\u0663"}, 400, "limit="),
        ("/races/42/standings", {"limit": "1" * 5000}, 400, "limit="),
        ("/races/42/results", {"next": next_token("abc")}, 400, "next"),
        ("/races/42/results", {"next": next_token(PAGE_KEY, -5)}, 400, "next"),
        ("/races/42/results", {"next": next_token(PAGE_KEY, True)}, 400, "next"),
        (
            "/races/42/results",
            {"next": next_token({**PAGE_KEY, "pk": {"S": "race#41"}, "raceKey": {"S": "race#41"}})},
            400,
            "for this race",
        ),
        (
            "/races/42/results",
            {"next": next_token({**PAGE_KEY, "score": {"S": "102"}})},
            400,
            "next",
        ),
        ("/races/42/results", {"next": next_token({**PAGE_KEY, "extra": {"S": "x"}})}, 400, "next"),
        (
            "/races/42/results",
            {"next": base64.urlsafe_b64encode(b"[" * 2000).decode()},
            400,
            "next",
        ),
        ("/races/42/results", {"next": "A" * 2049}, 400, "next"),
        ("/races/42/standings", {"limit": "0"}, 400, "limit='0'"),
        ("/races/42/results", {"limit": "1001"}, 400, "limit='1001'"),
        ("/races/42/results", {"next": "!!"}, 400, "next"),
        ("/races/43/standings", None, 404, "race 43"),
        ("/races/43/results", None, 404, "race 43"),
    ],
)
def test_the_api_refuses_bad_requests_with_the_reason(
    races: str, path: str, query: dict[str, str] | None, status: int, fragment: str
) -> None:
    got, body = call(path, query)

    assert got == status
    assert fragment in body["message"]


@pytest.mark.parametrize(
    "token",
    [
        # The forged token that made the API answer 502: a start key whose score is no number.
        next_token({**PAGE_KEY, "score": {"N": "abc"}}),
        next_token({**PAGE_KEY, "score": {"N": "1e999999"}}),
        next_token(PAGE_KEY),
        page_token("3:2:abc"),
        page_token("3:2:NaN"),
        page_token("3:2:Infinity"),
        page_token("3:2:1E+2"),
        page_token("3:2:-5"),
        page_token("3:2:1000000001"),
        page_token("3:2:1." + "0" * 37 + "1"),  # 39 significant digits
        page_token("3:2:0." + "1" * 170),
        page_token("-1:2:102"),
        page_token("1000000001:2:102"),
        page_token("true:2:102"),
        page_token("03:2:102"),
        page_token("3:02:102"),
        page_token("3:9007199254740993:102"),
        page_token("3:-2:102"),
        page_token("\uff13:2:102"),
        page_token(" 3:2:102"),
        page_token("3:2:102\n"),
        page_token("3:2:102:9"),
        page_token("3:2"),
        base64.urlsafe_b64encode("3:2:1\u0661".encode()).decode(),
        base64.urlsafe_b64encode(b"\xff\xfe3:2:102").decode(),
        page_token("3:2:102").rstrip("="),
        page_token("3:2:102") + "@",
        "A" * 401,
    ],
)
def test_a_forged_token_answers_400_before_any_query(
    races: str, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    client = api.dynamodb_client()
    queries: list[Any] = []
    monkeypatch.setattr(client, "query", lambda **request: queries.append(request))

    status, body = call("/races/42/results", {"next": token})

    assert (status, body["message"]) == (400, "next is not a token this API returned for this race")
    assert queries == []


def test_a_token_starts_the_page_at_its_racer_and_score_in_this_race(
    races: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = api.dynamodb_client()
    queries: list[Any] = []
    monkeypatch.setattr(client, "query", lambda **request: queries.append(request) or {})

    status, body = call("/races/42/results", {"next": page_token("3:2:102.5"), "limit": "2"})

    assert (status, body) == (200, {"raceId": 42, "results": []})
    [request] = queries
    assert request["ExclusiveStartKey"] == {
        "pk": {"S": "race#42"},
        "sk": {"S": "racer#2"},
        "raceKey": {"S": "race#42"},
        "score": {"N": "102.5"},
    }


def test_tokens_write_scores_in_plain_decimals(races: str) -> None:
    # A score stored as 1E+2 (the message's own notation) still gives a token this API takes.
    final_results.lambda_handler(
        kinesis_event(
            *[
                record(json.dumps(bike(r, 300, 1, event="finish")).replace('"total": 1', t), r)
                for r, t in [(1, '"total": 1E+2'), (2, '"total": 2.50'), (3, '"total": 0.5')]
            ]
        ),
        context("final"),
    )

    tokens = []
    query: dict[str, str] = {"limit": "1"}
    while True:
        status, page = call("/races/42/results", query)
        assert status == 200, page
        if "next" not in page:
            break
        tokens.append(base64.urlsafe_b64decode(page["next"]).decode())
        query = {"limit": "1", "next": page["next"]}
    assert tokens == ["1:1:100", "2:2:2.50"]
