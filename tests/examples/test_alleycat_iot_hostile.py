"""Hostile MQTT messages through the Alleycat example's IoT ingestion, on the local cloud.

Seeded races of honest bikes, each publishing to its own topic, mixed with messages built to
be refused: JSON that is not JSON, deep nesting, numbers no reader can hold, wrong types,
totals no bike can ride, bikes speaking for other racers, oversized payloads. Whatever is
published: no reader crashes or stalls, IoT Core refuses what is over its payload limit,
every other bad message is parked by the readers with its reason and kept whole by the
archive, and the leaderboards, results and personal bests count each honest message once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import App
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from examples import AlleycatStack
from lambda_blueprints.runtime.alleycat import simulator
from lambda_blueprints.testing import LocalCloud
from lambda_blueprints.testing.cloud import DeployedStack
from lambda_blueprints.testing.iot import MessageTooLargeError
from lambda_blueprints.testing.reference.alleycat import expected_personal_bests
from tests.conftest import CDK_CONTEXT
from tests.examples.test_alleycat_local import (
    CACHED_CLIENTS,
    CLASS_ID,
    RACE_ID,
    all_results,
    expected_ranking,
    history_objects,
    parked,
    passes_finish_filter,
    processing_failed,
)

#: Every reason a reader may give for refusing a bike message.
REASONS = {
    "MESSAGE_TOO_LARGE",
    "MALFORMED_MESSAGE",
    "NESTING_TOO_DEEP",
    "INVALID_MESSAGE",
    "IMPLAUSIBLE_TOTAL",
    "RACER_MISMATCH",
    "NUMBER_OUT_OF_RANGE",
}
#: IoT Core's largest message payload.
IOT_MAX_PAYLOAD = 128 * 1024

pytestmark = pytest.mark.hostile


@dataclass(frozen=True)
class Publish:
    """One MQTT publish by a bike: its thing name (the topic's last level) and payload."""

    thing: str
    payload: bytes

    @property
    def topic(self) -> str:
        return f"alleycat/publish/{self.thing}"


def honest(second: int = 120, **fields: Any) -> dict[str, Any]:
    """A valid message of racer 900 (not in the simulated race) at ``second``."""
    return {
        "event": "update",
        "raceId": RACE_ID,
        "classId": CLASS_ID,
        "racerId": 900,
        "name": "Mallory",
        "second": second,
        "cadence": 80,
        "resistance": 50,
        "total": 1000,
        **fields,
    }


def encoded(message: dict[str, Any], raw_extra: str | None = None) -> bytes:
    """The message as JSON; ``raw_extra`` is the JSON text of one more field."""
    if raw_extra is None:
        return json.dumps(message).encode()
    return json.dumps({**message, "extra": "X"}).replace('"X"', raw_extra).encode()


def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


hostile_payloads = st.one_of(
    st.sampled_from(
        [
            b"{not json",
            b"\xff\xfe{}",
            b"null",
            b"[1, 2, 3]",
            b'"a string"',
            b'{"raceId": 1}',
            encoded(honest(), "NaN"),
            encoded(honest(), "Infinity"),
            encoded(honest(), "1e400"),
            encoded(honest(total="1000")),
            encoded(honest(racerId=True)),
            encoded(honest(raceId=-1)),
            encoded(honest(second=3601)),
            encoded(honest(cadence=301)),
            encoded(honest(name="x" * 65)),
            encoded(honest(name="tab\there")),
            encoded(honest(event="start")),
            # Faster than any bike rides: 552.75 a second at most.
            encoded(honest(second=1, total=1200)),
            encoded(honest(event="finish", second=300, total=10**6)),
        ]
    ),
    st.integers(min_value=17, max_value=3_000).map(
        lambda n: encoded(honest(event="finish", second=300), _nested(n))
    ),
    st.integers(min_value=5_000, max_value=IOT_MAX_PAYLOAD - 200).map(
        lambda n: encoded(honest(), '"' + "p" * n + '"')
    ),
    st.binary(min_size=1, max_size=64),
)


@st.composite
def hostile_publishes(draw: st.DrawFn) -> Publish:
    kind = draw(st.sampled_from(["payload", "impostor", "thing", "oversized"]))
    if kind == "impostor":
        # Bike 901 claims racer 900's total, as a finish.
        return Publish("901", encoded(honest(event="finish", second=300, total=5000)))
    if kind == "thing":
        # A thing whose name is no racer id publishes a valid message.
        return Publish(draw(st.sampled_from(["mallory", "900x", "0900"])), encoded(honest()))
    if kind == "oversized":
        size = draw(st.integers(min_value=IOT_MAX_PAYLOAD, max_value=IOT_MAX_PAYLOAD + 4096))
        return Publish("900", encoded(honest(), '"' + "p" * size + '"'))
    return Publish("900", draw(hostile_payloads))


@contextmanager
def deployed_alleycat() -> Iterator[tuple[LocalCloud, DeployedStack]]:
    for module, name in CACHED_CLIENTS:
        getattr(module, name).cache_clear()
    try:
        with LocalCloud() as cloud:
            yield cloud, cloud.deploy(AlleycatStack(App(context=CDK_CONTEXT), "Alleycat"))
    finally:
        for module, name in CACHED_CLIENTS:
            getattr(module, name).cache_clear()


@seed(20261203)
@settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    # Each example deploys a stack: shrinking would take minutes. Failures print in full.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    race_seed=st.integers(min_value=0, max_value=10_000),
    hostile=st.lists(hostile_publishes(), min_size=30, max_size=60),
    positions=st.randoms(use_true_random=False),
)
def test_hostile_mqtt_messages_are_refused_or_parked_and_honest_ones_counted_once(
    race_seed: int, hostile: list[Publish], positions: Any
) -> None:
    seconds = 12
    honest_messages = [
        message
        for batch in simulator.race_messages(
            RACE_ID, CLASS_ID, racer_count=8, seconds=seconds, seed=race_seed
        )
        for message in batch
    ]
    schedule = [Publish(str(m["racerId"]), json.dumps(m).encode()) for m in honest_messages]
    for publish in hostile:
        schedule.insert(positions.randint(0, len(schedule)), publish)

    with deployed_alleycat() as (cloud, stack):
        refused = []
        for index, publish in enumerate(schedule):
            try:
                cloud.iot_publish(publish.topic, publish.payload, qos=1)
            except MessageTooLargeError:
                refused.append(publish)
            if index % 10 == 9:
                cloud.clock.advance(1)
        cloud.run_until_idle()
        cloud.flush_firehose()
        cloud.run_until_idle()

        # IoT Core refuses exactly the payloads over its limit; nothing else is lost.
        assert sorted(p.payload for p in refused) == sorted(
            p.payload for p in hostile if len(p.payload) > IOT_MAX_PAYLOAD
        )
        accepted = [p for p in hostile if len(p.payload) <= IOT_MAX_PAYLOAD]

        # Honest bikes: every message counted once, by every reader.
        ranking = expected_ranking(honest_messages)
        live = cloud.http("GET", f"/races/{RACE_ID}/standings", query={"limit": "100"})
        assert live.status == 200, live.body
        assert [(s["racerId"], s["total"]) for s in live.json()["standings"]] == ranking
        assert sorted((r["racerId"], r["total"]) for r in all_results(cloud)) == sorted(ranking)
        assert history_objects(stack) == expected_personal_bests(honest_messages)

        # Every bad message the broker took is parked by the standings with its reason...
        dead = parked(stack.physical_id("Alleycat/Standings/Trigger/DeadLetterQueue"))
        assert len(dead) == len(accepted)
        assert {d["reason"] for d in dead} <= REASONS
        assert all(d["detail"] for d in dead)
        # ...kept whole by the archive, as published...
        assert sorted(processing_failed(stack)) == sorted(p.payload for p in accepted)
        # ...and parked by the final results when their filter lets it through.
        finishes = parked(stack.physical_id("Alleycat/Stream/FinalResults/DeadLetterQueue"))
        assert len(finishes) == sum(passes_finish_filter(p.payload) for p in accepted)
        assert {d["reason"] for d in finishes} <= REASONS
        # No batch was given up: the only failure records are Firehose's, one per bad message.
        failures = cloud.log.failures()
        assert {f.source for f in failures} <= {"firehose"}
        assert sum(len(f.items) for f in failures) == len(accepted)
        assert all(i.result.ok for i in cloud.log.invocations())
