"""The Alleycat race domain and simulator: messages, standings, bests, PutRecords batches."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from lambda_blueprints.runtime.alleycat import race, simulator
from lambda_blueprints.runtime.shared.failures import PoisonRecordError


def message(**fields: Any) -> dict[str, Any]:
    base = {
        "event": "update",
        "raceId": 7,
        "classId": 2,
        "racerId": 3,
        "name": "Rider 3",
        "second": 10,
        "cadence": 80,
        "resistance": 50,
        "total": 1500.5,
    }
    base.update(fields)
    return base


def test_output_follows_the_series_formula_to_the_cent() -> None:
    assert race.output_of(Decimal(80), Decimal(78)) == Decimal("164.45")
    assert race.output_of(Decimal(0), Decimal(0)) == Decimal("22.75")


def test_a_valid_message_parses_with_exact_decimals() -> None:
    parsed = race.parse_message(json.dumps(message(total=0.1)))

    assert parsed.total == Decimal("0.1")
    assert (parsed.race_id, parsed.class_id, parsed.racer_id, parsed.second) == (7, 2, 3, 10)


@pytest.mark.parametrize(
    ("data", "reason", "fragment"),
    [
        (b"not json", "MALFORMED_MESSAGE", "not JSON"),
        (b"[1, 2]", "MALFORMED_MESSAGE", "not a JSON object"),
        (json.dumps(message(raceId="7")).encode(), "INVALID_MESSAGE", "raceId='7'"),
        (json.dumps(message(second=-1)).encode(), "INVALID_MESSAGE", "second=-1"),
        (json.dumps(message(cadence=True)).encode(), "INVALID_MESSAGE", "cadence=True"),
        (json.dumps(message(resistance=101)).encode(), "INVALID_MESSAGE", "resistance=101"),
        (json.dumps(message(event="start")).encode(), "INVALID_MESSAGE", "event='start'"),
        (json.dumps(message(name=5)).encode(), "INVALID_MESSAGE", "name"),
        (json.dumps(message(name="\ud800")).encode(), "INVALID_MESSAGE", "UTF-8"),
    ],
)
def test_bad_messages_are_poison_with_the_field_named(
    data: bytes, reason: str, fragment: str
) -> None:
    with pytest.raises(PoisonRecordError) as caught:
        race.parse_message(data)

    assert caught.value.reason == reason
    assert fragment in caught.value.detail


def test_standings_keep_each_racers_best_total_whatever_the_order() -> None:
    messages = [
        race.message_from(message(racerId=1, second=s, total=t))
        for s, t in [(3, 30), (1, 10), (2, 20), (3, 30)]
    ]
    forward: race.Standings = {}
    backward: race.Standings = {}
    for m in messages:
        race.add_to_standings(forward, m)
    for m in reversed(messages):
        race.add_to_standings(backward, m)

    assert forward == backward == {"1": [3, "30", "Rider 3"]}


def test_merging_standings_is_idempotent_and_reports_change() -> None:
    stored: race.Standings = {"1": [5, "50", "a"], "2": [5, "40", "b"]}
    window = {"1": [4, "45", "a"], "2": [6, "60", "b"], "3": [6, "10", "c"]}

    assert race.merge_standings(stored, window) is True
    assert stored == {"1": [5, "50", "a"], "2": [6, "60", "b"], "3": [6, "10", "c"]}
    assert race.merge_standings(stored, window) is False


def test_ranking_orders_by_total_then_racer_id() -> None:
    ranking = race.ranked({"9": [1, "5", "x"], "2": [1, "7", "y"], "4": [1, "5", "z"]})

    assert [(s.rank, s.racer_id) for s in ranking] == [(1, 2), (2, 4), (3, 9)]
    assert ranking[0].as_json() == {
        "rank": 1,
        "racerId": 2,
        "name": "y",
        "total": 7.0,
        "second": 1,
    }


def test_history_keeps_the_best_output_per_second() -> None:
    history: race.History = {}

    assert race.add_to_history(history, 1, 5, Decimal("100.5")) is True
    assert race.add_to_history(history, 1, 5, Decimal("99")) is False
    assert race.add_to_history(history, 1, 5, Decimal("101")) is True
    assert history == {"1": {"5": "101"}}


def test_the_simulator_is_deterministic_and_totals_are_running_sums() -> None:
    first = list(simulator.race_messages(5, 1, racer_count=3, seconds=4, seed=9))
    again = list(simulator.race_messages(5, 1, racer_count=3, seconds=4, seed=9))

    assert first == again
    assert [len(second) for second in first] == [3, 3, 3, 3]
    for racer in range(3):
        outputs = [
            race.output_of(Decimal(m["cadence"]), Decimal(m["resistance"]))
            for second in first
            for m in second
            if m["racerId"] == racer
        ]
        last = next(m for m in first[-1] if m["racerId"] == racer)
        assert Decimal(str(last["total"])) == sum(outputs)
        assert last["event"] == "finish"
    assert {m["event"] for m in first[0]} == {"update"}


def test_batches_respect_500_records_and_5_mib() -> None:
    small = [(b"x" * 100, "k")] * 1201
    big = [(b"y" * (1024 * 1024 - 10), "key")] * 11

    assert [len(b) for b in simulator.batches(small)] == [500, 500, 201]
    sizes = [sum(len(d) + len(k) for d, k in b) for b in simulator.batches(big)]
    assert all(size <= 5 * 1024 * 1024 for size in sizes)
    assert sum(len(b) for b in simulator.batches(big)) == 11
    with pytest.raises(ValueError, match="over Kinesis's 1 MiB"):
        list(simulator.batches([(b"z" * (1024 * 1024), "k")]))


class FlakyKinesis:
    """PutRecords that throttles every third record on the first attempt."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.stored: list[bytes] = []
        self.seen: set[bytes] = set()

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.calls.append(len(Records))
        results = []
        for index, record in enumerate(Records):
            if index % 3 == 0 and record["Data"] not in self.seen:
                self.seen.add(record["Data"])
                results.append({"ErrorCode": "ProvisionedThroughputExceededException"})
            else:
                self.stored.append(record["Data"])
                results.append({"SequenceNumber": "1", "ShardId": "shardId-000000000000"})
        return {"FailedRecordCount": sum("ErrorCode" in r for r in results), "Records": results}


def test_put_records_resends_throttled_records_until_all_are_in() -> None:
    client = FlakyKinesis()
    records = [(str(i).encode(), str(i)) for i in range(1000)]
    waits: list[int] = []

    stats = simulator.put_records(client, "s", records, backoff=waits.append)

    assert sorted(client.stored, key=int) == [d for d, _ in records]
    assert stats.records == 1000
    assert stats.retried == len(client.seen)
    assert client.calls[:2] == [500, 167]
    assert waits[0] == 0


def test_put_records_gives_up_after_max_attempts_without_a_last_wait() -> None:
    class AlwaysThrottled:
        def __init__(self) -> None:
            self.calls = 0

        def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
            self.calls += 1
            return {
                "Records": [{"ErrorCode": "ProvisionedThroughputExceededException"}] * len(Records)
            }

    client = AlwaysThrottled()
    waits: list[int] = []
    with pytest.raises(RuntimeError, match="1 records still failing after 3"):
        simulator.put_records(client, "s", [(b"a", "k")], max_attempts=3, backoff=waits.append)
    assert client.calls == 3
    assert waits == [0, 1]  # no wait after the last call


@pytest.mark.parametrize("key", ["", "k" * 257])
def test_partition_keys_outside_1_to_256_characters_are_refused_before_any_call(key: str) -> None:
    with pytest.raises(ValueError, match=f"has {len(key)} characters; Kinesis takes 1 to 256"):
        list(simulator.batches([(b"a", "k"), (b"b", key)]))


def test_a_total_with_more_than_38_significant_digits_is_invalid() -> None:
    data = json.dumps(message(total="X")).replace('"X"', "1.00000000000000000000000000000000000001")

    with pytest.raises(PoisonRecordError, match="38 significant digits"):
        race.parse_message(data)


def test_race_ids_stop_where_javascript_numbers_stop_being_exact() -> None:
    assert race.parse_message(json.dumps(message(raceId=2**53 - 1))).race_id == 2**53 - 1
    with pytest.raises(PoisonRecordError, match="raceId=9007199254740992"):
        race.parse_message(json.dumps(message(raceId=2**53)))


def test_stored_standings_round_trip_compressed_in_utf_8() -> None:
    standings = {str(r): [r, f"{r}.5", f"Rider {r} 日本"] for r in range(1000)}

    encoded = race.encode_standings(standings)

    assert race.decode_standings(encoded) == standings
    assert len(encoded) < 20 * 1000  # gzip of UTF-8, not ASCII escapes
    assert race.encode_standings(standings) == encoded  # no timestamp in the gzip header


def test_the_default_backoff_waits_a_random_share_of_a_doubling_ceiling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float] = []
    ceilings: list[float] = []
    monkeypatch.setattr(simulator.time, "sleep", waits.append)

    def uniform(low: float, high: float) -> float:
        ceilings.append(high)
        return high / 2

    monkeypatch.setattr(simulator.random, "uniform", uniform)

    class ThrottledTwice:
        calls = 0

        def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
            self.calls += 1
            code = {"ErrorCode": "ProvisionedThroughputExceededException"} if self.calls < 3 else {}
            return {"Records": [code] * len(Records)}

    simulator.put_records(ThrottledTwice(), "s", [(b"a", "k")])

    assert ceilings == [0.1, 0.2]
    assert waits == [0.05, 0.1]
