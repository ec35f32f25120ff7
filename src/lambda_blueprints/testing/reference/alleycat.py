"""Reference results of the Alleycat example, computed straight from the messages sent.

Tests and the race demo compare what the pipeline stored (leaderboards, final results,
personal bests) with these. They are written apart from
``lambda_blueprints.runtime.alleycat`` on purpose and share none of its code: a reference
that used the pipeline's own parsing, formula or
ranking would agree with it even when both are wrong. Pass only the messages that should
count: the caller knows which messages it made invalid. :func:`within_trust_rules` tells
the two rules of the trust model apart from the field checks: a total a bike can have
ridden, and a racer that is its publisher.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

_CENT = Decimal("0.01")
#: The highest cadence and resistance a message may carry.
_TOP_CADENCE = 300
_TOP_RESISTANCE = 100


def second_output(cadence: Any, resistance: Any) -> Decimal:
    """The work of one second as the Alleycat series defines it, to the cent.

    ``((cadence + 35) x (resistance + 65)) / 100``, rounded half to even.
    """
    work = (Decimal(str(cadence)) + 35) * (Decimal(str(resistance)) + 65) / 100
    return work.quantize(_CENT, rounding=ROUND_HALF_EVEN)


def plausible_total_limit(second: int) -> Decimal:
    """The highest running total a bike can report at ``second``.

    The best second's work, at the highest cadence and resistance (335 x 165 / 100 =
    552.75), for ``second + 1`` seconds, with 1% to spare.
    """
    best_second = Decimal(_TOP_CADENCE + 35) * Decimal(_TOP_RESISTANCE + 65) / 100
    return best_second * (second + 1) * Decimal("1.01")


def within_trust_rules(message: Mapping[str, Any], publisher: str | None = None) -> bool:
    """Whether a message keeps the trust model's rules (not whether its fields are valid).

    Args:
        message: The decoded message.
        publisher: The thing name that published it, None when unknown (a direct writer).
    """
    if Decimal(str(message["total"])) > plausible_total_limit(int(message["second"])):
        return False
    return publisher is None or publisher == str(message["racerId"])


def expected_rankings(
    messages: Iterable[Mapping[str, Any]],
) -> dict[int, list[tuple[int, Decimal]]]:
    """Per race, ``(racer id, best total)`` from the highest total down; ties by racer id."""
    best: dict[int, dict[int, Decimal]] = {}
    for message in messages:
        racers = best.setdefault(int(message["raceId"]), {})
        total = Decimal(str(message["total"]))
        racer = int(message["racerId"])
        if racer not in racers or total > racers[racer]:
            racers[racer] = total
    return {
        race: sorted(racers.items(), key=lambda pair: (-pair[1], pair[0]))
        for race, racers in best.items()
    }


def expected_personal_bests(
    messages: Iterable[Mapping[str, Any]],
) -> dict[int, dict[str, dict[str, str]]]:
    """Per class: racer id -> second -> best output ever, as the history objects hold them."""
    classes: dict[int, dict[str, dict[str, Decimal]]] = {}
    for message in messages:
        seconds = classes.setdefault(int(message["classId"]), {}).setdefault(
            str(message["racerId"]), {}
        )
        output = second_output(message["cadence"], message["resistance"])
        key = str(message["second"])
        if key not in seconds or output > seconds[key]:
            seconds[key] = output
    return {
        class_id: {
            racer: {second: str(output) for second, output in seconds.items()}
            for racer, seconds in racers.items()
        }
        for class_id, racers in classes.items()
    }
