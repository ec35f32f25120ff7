"""The Alleycat example on the local cloud: a full race, with faults, equals brute force."""

from __future__ import annotations

import base64
import gzip
import json
import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_cdk import App

from examples import AlleycatStack
from lambda_blueprints.runtime.alleycat import simulator
from lambda_blueprints.runtime.alleycat.final_results import handler as final_results
from lambda_blueprints.runtime.alleycat.history import handler as history
from lambda_blueprints.runtime.alleycat.leaderboard_api import handler as api
from lambda_blueprints.runtime.alleycat.publisher import handler as publisher
from lambda_blueprints.runtime.alleycat.standings import handler as standings
from lambda_blueprints.testing import LocalCloud
from lambda_blueprints.testing.cloud import DeployedStack
from lambda_blueprints.testing.filtering import is_json_document
from lambda_blueprints.testing.reference.alleycat import (
    expected_personal_bests,
    expected_rankings,
    within_trust_rules,
)
from tests.conftest import CDK_CONTEXT

RACE_ID = 1_767_225_600
CLASS_ID = 3
CACHED_CLIENTS = [
    (module, name)
    for module in (standings, final_results, publisher, history, api)
    for name in ("dynamodb_client", "sqs_client", "iot_data_client", "s3_client")
    if hasattr(module, name)
]


@pytest.fixture(scope="module")
def stack() -> AlleycatStack:
    return AlleycatStack(App(context=CDK_CONTEXT), "Alleycat")


@pytest.fixture
def deployed(stack: AlleycatStack) -> Iterator[tuple[LocalCloud, DeployedStack]]:
    for module, name in CACHED_CLIENTS:
        getattr(module, name).cache_clear()
    with LocalCloud() as cloud:
        yield cloud, cloud.deploy(stack)
    for module, name in CACHED_CLIENTS:
        getattr(module, name).cache_clear()


def finish(**fields: Any) -> dict[str, Any]:
    """A finish message whose checked fields are valid: the readers would count it."""
    return {
        "event": "finish",
        "raceId": RACE_ID,
        "classId": CLASS_ID,
        "racerId": 5,
        "second": 300,
        "cadence": 80,
        "resistance": 50,
        "total": 1000,
        **fields,
    }


def with_field(raw: str) -> bytes:
    """A valid finish message with one more field, ``raw`` its JSON text."""
    return json.dumps(finish(extra="X")).replace('"X"', raw).encode()


def bad_messages(count: int, rng: random.Random) -> list[bytes]:
    """Messages every reader must park or fail, never count."""
    kinds = [
        b"{not json",
        json.dumps({"raceId": RACE_ID, "classId": CLASS_ID, "racerId": 1}).encode(),
        json.dumps(finish(classId=0, total=10**6)).encode(),
        json.dumps(["a", "list"]).encode(),
        # Hostile in the fields no reader looks at: one validator refuses them everywhere.
        with_field("NaN"),
        with_field("1e400"),
        with_field('"' + "x" * 1_000_000 + '"'),  # about 1 MiB
        with_field("[" * 1100 + "]" * 1100),
        json.dumps(finish(total=200_000)).encode(),  # faster than any bike rides
    ]
    return [kinds[i % len(kinds)] + b" " * rng.randint(0, 3) for i in range(count)]


def run_race(
    cloud: LocalCloud,
    stack: DeployedStack,
    *,
    racers: int,
    seconds: int,
    bad: int = 0,
    resent: int = 0,
    seed: int = 7,
) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Ride a race through the stream, a second at a time; return what was sent.

    ``resent`` messages of each second are put on the stream twice, as a device that did
    not see its first publish acknowledged would. The invalid messages are returned by
    their partition keys.
    """
    rng = random.Random(seed)
    stream = stack.physical_id("Alleycat/Stream/Stream")
    kinesis = cloud.client("kinesis")
    invalid = bad_messages(bad, rng)
    invalid_at = {rng.randint(1, seconds): [] for _ in range(bad)}
    for index, data in enumerate(invalid):
        list(invalid_at.values())[index % len(invalid_at)].append(data)
    sent: list[dict[str, Any]] = []
    keyed: dict[str, bytes] = {}
    for second, messages in enumerate(
        simulator.race_messages(RACE_ID, CLASS_ID, racer_count=racers, seconds=seconds, seed=seed),
        start=1,
    ):
        sent.extend(messages)
        records = [(simulator.encode(m), m["uuid"]) for m in messages]
        records += records[:resent]
        bad_records = [
            (data, f"bad-{second}-{i}") for i, data in enumerate(invalid_at.get(second, []))
        ]
        keyed.update((key, data) for data, key in bad_records)
        records += bad_records
        simulator.put_records(kinesis, stream, records, backoff=lambda _: None)
        cloud.clock.advance(1)
        if second % 15 == 0:
            cloud.run_until_idle(advance_clock=False)
    cloud.run_until_idle()
    cloud.flush_firehose()
    cloud.run_until_idle()
    return sent, keyed


def all_results(cloud: LocalCloud) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    query: dict[str, str] = {"limit": "1000"}
    while True:
        response = cloud.http("GET", f"/races/{RACE_ID}/results", query=query)
        assert response.status == 200, response.body
        page = response.json()
        results.extend(page["results"])
        if "next" not in page:
            return results
        query = {"limit": "1000", "next": page["next"]}


def history_objects(stack: DeployedStack) -> dict[int, dict[str, dict[str, str]]]:
    s3 = boto3.client("s3")
    bucket = stack.physical_id("Alleycat/HistoryBucket")
    found = {}
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        document = json.loads(
            gzip.decompress(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
        )
        found[int(document["classId"])] = document["racers"]
    return found


def processing_failed(stack: DeployedStack) -> list[bytes]:
    s3 = boto3.client("s3")
    bucket = stack.physical_id("Alleycat/Archive/Bucket")
    raw = []
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        if "processing-failed" not in item["Key"]:
            continue
        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        raw += [base64.b64decode(json.loads(line)["rawData"]) for line in body.splitlines() if line]
    return raw


def parked(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    bodies = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return bodies
        bodies += [json.loads(m["Body"]) for m in batch]


def parked_keys(bodies: list[dict[str, Any]]) -> list[str]:
    """The partition keys of parked records (kept even when a record is cut to fit SQS)."""
    record = [b["record"] for b in bodies]
    return [r.get("partitionKey") or r["kinesis"]["partitionKey"] for r in record]


def passes_finish_filter(data: bytes) -> bool:
    """Whether the final results' filter (``data.event = finish``) lets a record through."""
    document = is_json_document(data)
    return isinstance(document, dict) and document.get("event") == "finish"


def expected_ranking(sent: list[dict[str, Any]]) -> list[tuple[int, float]]:
    return [(racer, float(total)) for racer, total in expected_rankings(sent)[RACE_ID]]


class FlakyParking:
    """The standings function's failure queue refuses its first ``failures`` messages.

    Parking an invalid message then fails in the middle of a batch: the batch reports it
    in ``batchItemFailures`` with the window state of the records before it, and Lambda
    retries from there.
    """

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.real = standings.send_to_failure_queue

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("failure queue unreachable")
        return self.real(*args, **kwargs)


def test_a_full_race_with_faults_equals_brute_force(
    deployed: tuple[LocalCloud, DeployedStack], monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud, stack = deployed
    flaky = FlakyParking(failures=3)
    monkeypatch.setattr(standings, "send_to_failure_queue", flaky)
    cloud.faults.inject(
        stack.physical_id("Alleycat/Standings/Trigger/Function"), fail=2, duplicate=3
    )
    cloud.faults.inject(
        stack.physical_id("Alleycat/Stream/FinalResults/Function"), fail=1, duplicate=2
    )
    cloud.faults.inject(stack.physical_id("Alleycat/Publisher/Function"), fail=1, duplicate=1)
    cloud.faults.inject(stack.physical_id("Alleycat/Archive/Transform/Function"), fail=1)
    cloud.faults.inject(
        stack.physical_id("Alleycat/Archive/Processor/Function"), fail=1, duplicate=1
    )

    sent, invalid = run_race(cloud, stack, racers=1000, seconds=300, bad=24, resent=3)

    assert len(sent) == 300_000
    assert all(within_trust_rules(m) for m in sent)  # so every one of them must count
    assert flaky.failures == 0  # parking did fail mid-batch, three times
    standings_calls = cloud.log.invocations(
        function=stack.physical_id("Alleycat/Standings/Trigger/Function")
    )
    assert sum(i.outcome == "partial" for i in standings_calls) == 3
    ranking = expected_ranking(sent)
    results = all_results(cloud)
    # The index orders equal scores arbitrarily: compare by (score, racer).
    assert sorted((r["racerId"], r["total"]) for r in results) == sorted(ranking)
    assert [r["total"] for r in results] == [total for _, total in ranking]
    assert [r["rank"] for r in results] == list(range(1, 1001))
    live = cloud.http("GET", f"/races/{RACE_ID}/standings", query={"limit": "1000"}).json()
    assert [(s["racerId"], s["total"]) for s in live["standings"]] == ranking
    updates = [
        json.loads(p) for _, p in cloud.iot_messages(f"alleycat/races/{RACE_ID}/leaderboard")
    ]
    assert len(updates) >= 300 // 15
    assert [(s["racerId"], s["total"]) for s in updates[-1]["leaders"]] == ranking[:10]
    assert history_objects(stack) == expected_personal_bests(sent)
    # Nothing lost: every invalid message is parked by the standings reader (duplicated
    # invocations may park one twice) and kept whole by Firehose.
    dead = parked(stack.physical_id("Alleycat/Standings/Trigger/DeadLetterQueue"))
    assert set(parked_keys(dead)) == set(invalid)
    assert sorted(processing_failed(stack)) == sorted(invalid.values())
    # The one validator: the standings park each message for the reason the others give.
    reasons = {key: d["reason"] for key, d in zip(parked_keys(dead), dead, strict=True)}
    assert set(reasons.values()) >= {
        "MALFORMED_MESSAGE",
        "NUMBER_OUT_OF_RANGE",
        "MESSAGE_TOO_LARGE",
        "NESTING_TOO_DEEP",
        "IMPLAUSIBLE_TOTAL",
    }
    # The invalid finish messages that pass the final results' filter (JSON documents with
    # event = finish) are parked there, for the same reasons.
    finishes = parked(stack.physical_id("Alleycat/Stream/FinalResults/DeadLetterQueue"))
    assert set(parked_keys(finishes)) == {
        key for key, data in invalid.items() if passes_finish_filter(data)
    }
    assert {key: d["reason"] for key, d in zip(parked_keys(finishes), finishes, strict=True)} == {
        key: reasons[key] for key in parked_keys(finishes)
    }
    assert len(finishes) >= 3
    # No batch went to an on-failure destination; Firehose's failure records are exactly
    # the invalid messages it kept under processing-failed/.
    failures = cloud.log.failures()
    assert {f.source for f in failures} <= {"firehose"}
    assert sum(len(f.items) for f in failures) == len(invalid)


def test_bike_messages_published_over_mqtt_reach_the_leaderboard(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    sent = []
    for messages in simulator.race_messages(RACE_ID, CLASS_ID, racer_count=20, seconds=5, seed=3):
        for message in messages:
            # Each bike publishes to its own topic: the last level is its thing name.
            cloud.iot_publish(f"alleycat/publish/{message['racerId']}", message)
        sent.extend(messages)
        cloud.clock.advance(1)
    # A bike that speaks for another racer: thing 3 claims racer 4's best total.
    impostor = {**sent[-1], "racerId": 4, "total": 2000.0, "event": "finish"}
    cloud.iot_publish("alleycat/publish/3", impostor)
    cloud.run_until_idle()
    cloud.flush_firehose()
    cloud.run_until_idle()

    live = cloud.http("GET", f"/races/{RACE_ID}/standings", query={"limit": "20"}).json()
    assert [(s["racerId"], s["total"]) for s in live["standings"]] == expected_ranking(sent)
    assert sorted((r["racerId"], r["total"]) for r in all_results(cloud)) == sorted(
        expected_ranking(sent)
    )
    # Each reader refused the impostor for the same reason; Firehose kept it whole.
    for queue in ("Standings/Trigger", "Stream/FinalResults"):
        dead = parked(stack.physical_id(f"Alleycat/{queue}/DeadLetterQueue"))
        assert [(d["reason"], d["record"]["kinesis"]["partitionKey"]) for d in dead] == [
            ("RACER_MISMATCH", "bike/3")
        ]
    assert [json.loads(data)["racerId"] for data in processing_failed(stack)] == [4]


def test_the_api_answers_404_for_an_unknown_race_and_400_for_bad_input(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, _ = deployed

    assert cloud.http("GET", "/races/5/standings").status == 404
    assert cloud.http("GET", "/races/5/results", query={"limit": "0"}).status == 400
