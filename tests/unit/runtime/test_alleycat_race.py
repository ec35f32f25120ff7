"""The Alleycat race domain and simulator: messages, standings, bests, PutRecords batches."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from lambda_blueprints.runtime.alleycat import race, simulator
from lambda_blueprints.runtime.shared.failures import PoisonRecordError
from lambda_blueprints.testing.reference.alleycat import plausible_total_limit, within_trust_rules


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
        (json.dumps(message(name="Rider\u0000")).encode(), "INVALID_MESSAGE", "control"),
        (json.dumps(message(name="a\u009bb")).encode(), "INVALID_MESSAGE", "control"),
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


# -- the one validator -------------------------------------------------------------------


def kinesis(data: bytes, partition_key: str = "8f0c2e1a") -> dict[str, Any]:
    return {"kinesis": {"data": base64.b64encode(data).decode(), "partitionKey": partition_key}}


def refused(data: bytes | str, **options: Any) -> PoisonRecordError:
    with pytest.raises(PoisonRecordError) as caught:
        race.parse_message(data, **options)
    return caught.value


def test_a_record_nested_1100_levels_deep_is_poison_not_a_recursion_error() -> None:
    arrays = b"[" * 1100 + b"]" * 1100
    objects = b'{"a":' * 1100 + b"1" + b"}" * 1100

    with pytest.raises(PoisonRecordError) as caught:
        race.kinesis_message(kinesis(arrays))
    assert caught.value.reason == "NESTING_TOO_DEEP"
    # Past the size cap first; with room for it, the parser refuses it the same way.
    assert refused(objects).reason == "MESSAGE_TOO_LARGE"
    assert refused(objects, max_bytes=10**6).reason == "NESTING_TOO_DEEP"


def test_nesting_is_refused_at_one_depth_whatever_the_call_depth() -> None:
    # Deep enough to need many frames, far from any recursion limit: the fixed limit decides.
    deep = json.dumps(message(firmware=json.loads("[" * 40 + "]" * 40)))
    shallow = json.dumps(message(firmware=json.loads("[" * (race.MAX_NESTING - 1) + "]" * 15)))

    assert refused(deep).reason == "NESTING_TOO_DEEP"
    assert race.parse_message(shallow).racer_id == 3


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("NaN", "MALFORMED_MESSAGE"),
        ("Infinity", "MALFORMED_MESSAGE"),
        ("-Infinity", "MALFORMED_MESSAGE"),
        ("1e400", "NUMBER_OUT_OF_RANGE"),
        ("[1, 2, -1e999]", "NUMBER_OUT_OF_RANGE"),
        ("1" + "0" * 400, "NUMBER_OUT_OF_RANGE"),
        ('"\\ud800"', "MALFORMED_MESSAGE"),
    ],
)
def test_a_number_or_text_the_archive_cannot_hold_is_refused_in_any_field(
    extra: str, reason: str
) -> None:
    # The validator ignores "firmware", but every reader must refuse what one refuses.
    data = json.dumps(message(firmware="X")).replace('"X"', extra)

    error = refused(data)

    assert error.reason == reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        # A surrogate written as raw (CESU-style) UTF-8 bytes rather than a \\u escape.
        (json.dumps(message(firmware="X")).encode().replace(b"X", b"\xed\xa0\x80"), "MALFORMED"),
        # Exactly the 309 digits that put an integer past a double's range.
        (json.dumps(message(firmware="X")).replace('"X"', "2" + "0" * 308).encode(), "NUMBER"),
        # UTF-16 text, whose bytes spell no ASCII escape, with a lone surrogate.
        (json.dumps(message(firmware="X")).replace('"X"', '"\\udc00"').encode("utf-16"), "MAL"),
        # An exponent with a sign.
        (json.dumps(message(firmware="X")).replace('"X"', "1E+400").encode(), "NUMBER"),
    ],
)
def test_the_writability_check_is_skipped_only_where_nothing_can_fail(
    data: bytes, reason: str
) -> None:
    assert refused(data).reason.startswith(reason)
    # Just inside: 308 digits are a double, and a plain message is written.
    near = json.dumps(message(firmware="X")).replace('"X"', "1" + "0" * 307)
    assert race.parse_message(near).racer_id == 3


def test_a_message_over_4_kib_is_too_large_and_one_of_4_kib_counts() -> None:
    base = json.dumps(message(pad="")).encode()
    fits = base.replace(b'"pad": ""', b'"pad": "' + b"x" * (4096 - len(base)) + b'"')
    padded = base.replace(b'"pad": ""', b'"pad": "' + b"x" * (1024 * 1024 - 200) + b'"')

    assert len(fits) == race.MAX_MESSAGE_BYTES
    assert race.parse_message(fits).racer_id == 3
    assert refused(fits + b" ").reason == "MESSAGE_TOO_LARGE"
    error = refused(padded)
    assert error.reason == "MESSAGE_TOO_LARGE"
    assert "1,048,5" in error.detail


def test_a_total_faster_than_any_bike_rides_is_implausible() -> None:
    # 552.75 a second at the highest cadence (300) and resistance (100), for second + 1
    # seconds, plus 1%: at second 10, 552.75 x 11 x 1.01 = 6141.0525.
    assert Decimal("552.75") == race.MAX_OUTPUT_PER_SECOND
    assert race.max_plausible_total(10) == Decimal("6141.0525")

    assert race.parse_message(json.dumps(message(second=10, total=6141.05))).total == Decimal(
        "6141.05"
    )
    error = refused(json.dumps(message(second=10, total=6141.06)))
    assert error.reason == "IMPLAUSIBLE_TOTAL"
    assert "second 10" in error.detail
    assert refused(json.dumps(message(second=0, total=1200))).reason == "IMPLAUSIBLE_TOTAL"


def test_a_bike_speaks_only_for_its_own_racer() -> None:
    data = json.dumps(message(racerId=17)).encode()

    assert race.kinesis_message(kinesis(data, "bike/17")).racer_id == 17
    # A partition key without the prefix (a trusted direct writer) names no publisher.
    assert race.kinesis_message(kinesis(data, "17-8f0c2e1a")).racer_id == 17
    for key in ("bike/18", "bike/017", "bike/", "bike/17/x"):
        with pytest.raises(PoisonRecordError) as caught:
            race.kinesis_message(kinesis(data, key))
        assert caught.value.reason == "RACER_MISMATCH"
    assert refused(data, publisher="18").reason == "RACER_MISMATCH"


def test_read_message_keeps_every_field_with_its_exact_text() -> None:
    payload, parsed = race.read_message(
        b'{"raceId":7,"classId":2,"racerId":3,"second":1,'
        b'"cadence":80,"resistance":50.50,"total":0.1,"x":1E2}'
    )

    assert parsed.resistance == Decimal("50.50")
    assert [payload[k] for k in ("resistance", "total", "x")] == [
        Decimal("50.50"),
        Decimal("0.1"),
        Decimal(100),
    ]
    assert payload["x"].text == "1E2"


# -- stored pages --------------------------------------------------------------------------


def largest_message(racer: int, total: str) -> bytes:
    """A valid message whose entry is as large as any: 64 characters of 4 bytes, 38 digits."""
    name = "".join(chr(0x10000 + (racer * 64 + i) * 7919 % 0xF0000) for i in range(64))
    fields = message(racerId=racer, second=race.MAX_SECOND, name=name, total="T")
    return json.dumps(fields, ensure_ascii=False).replace('"T"', total).encode()


@pytest.mark.parametrize(
    "total", ["0.0000012345678901234567890123456789012345678", "1." + "2" * 37 + "E-130"]
)
def test_a_page_of_the_largest_entries_a_message_can_make_fits_a_dynamodb_item(
    total: str,
) -> None:
    page: race.Standings = {}
    for racer in range(race.MAX_RACER_ID - race.PAGE_RACERS + 1, race.MAX_RACER_ID + 1):
        race.add_to_standings(page, race.parse_message(largest_message(racer, total)))
    one = json.dumps(dict([page.popitem()]), separators=(",", ":"), ensure_ascii=False)

    assert len(one.encode()) <= race.MAX_ENTRY_BYTES
    assert race.PAGE_RACERS * race.MAX_ENTRY_BYTES <= race.MAX_STANDINGS_BYTES
    assert len(race.encode_standings(page)) <= race.MAX_STANDINGS_BYTES


def test_placing_standings_fills_pages_in_racer_order_and_a_replay_changes_nothing() -> None:
    window = {str(r): [1, str(r), f"R{r}"] for r in range(race.PAGE_RACERS + 5)}
    pages: list[race.Standings] = []

    assert race.place_in_pages(pages, window) == [0, 1]
    assert [len(p) for p in pages] == [race.PAGE_RACERS, 5]
    assert "0" in pages[0] and str(race.PAGE_RACERS) in pages[1]
    assert race.place_in_pages(pages, window) == []

    # A better total goes to the racer's page; a newcomer to the first page with room.
    assert race.place_in_pages(pages, {"3": [2, "99", "R3"], "900000": [1, "5", "N"]}) == [0, 1]
    assert pages[0]["3"] == [2, "99", "R3"]
    assert pages[1]["900000"] == [1, "5", "N"]
    assert race.place_in_pages(pages, {"3": [1, "98", "R3"]}) == []


def test_a_racer_on_two_pages_is_merged_on_the_first() -> None:
    pages: list[race.Standings] = [{"1": [1, "10", "a"]}, {"1": [2, "20", "a"]}]

    assert race.place_in_pages(pages, {"1": [3, "15", "a"]}) == [0]
    assert pages == [{"1": [3, "15", "a"]}, {"1": [2, "20", "a"]}]


def test_the_plausible_total_agrees_with_the_reference_and_simulated_rides_keep_it() -> None:
    for second in (0, 1, 15, 299, 300, race.MAX_SECOND):
        assert race.max_plausible_total(second) == plausible_total_limit(second)
    for batch in simulator.race_messages(5, 1, racer_count=50, seconds=300, seed=4):
        for m in batch:
            assert within_trust_rules(m)
            race.parse_message(simulator.encode(m), publisher=str(m["racerId"]))
