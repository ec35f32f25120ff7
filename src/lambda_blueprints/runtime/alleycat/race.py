"""The Alleycat race domain: bike messages, scores and standings, free of AWS.

Alleycat bikes publish one message per second of a five-minute race::

    {"uuid": "...", "event": "update", "raceId": 1700000000, "classId": 3, "racerId": 17,
     "name": "Rider 17", "second": 42, "cadence": 88, "resistance": 54, "total": 5321.4,
     "deviceTimestamp": 1700000042000}

``event`` is ``finish`` on a racer's last message. ``output`` is the work of one second,
``((cadence + 35) * (resistance + 65)) / 100`` (the formula of the Alleycat series), and
``total`` is the bike's running sum of its outputs. A racer's score is the highest ``total``
seen: a maximum is idempotent, order-free and tolerant of lost messages, so at-least-once
delivery, retries and duplicates can never change a leaderboard.

Numbers are ``Decimal`` throughout (JSON is parsed with ``parse_float=Decimal``) and kept
as strings in window state and stored JSON, so sums and comparisons are exact.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from typing import Any

from ..shared.failures import PoisonRecordError
from ..shared.numbers import dynamodb_number

#: Highest second a message may carry (races last 300 s; one hour leaves room).
MAX_SECOND = 3600
#: Race ids are integers a JSON reader in JavaScript (the frontend) keeps exactly.
MAX_RACE_ID = 2**53 - 1
EVENTS = ("update", "finish")
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


def output_of(cadence: Decimal, resistance: Decimal) -> Decimal:
    """The work of one second of riding, to the cent."""
    return ((cadence + 35) * (resistance + 65) / _HUNDRED).quantize(_CENT)


@dataclass(frozen=True)
class RaceMessage:
    """One validated bike message."""

    race_id: int
    class_id: int
    racer_id: int
    name: str
    second: int
    cadence: Decimal
    resistance: Decimal
    total: Decimal
    event: str

    @property
    def output(self) -> Decimal:
        """The work of this second."""
        return output_of(self.cadence, self.resistance)


def parse_message(data: bytes | str) -> RaceMessage:
    """Validate one message's JSON.

    Raises:
        PoisonRecordError: ``MALFORMED_MESSAGE`` when it is not a JSON object,
            ``INVALID_MESSAGE`` when a field is missing or out of range.
    """
    try:
        payload = json.loads(data, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as error:
        raise PoisonRecordError("MALFORMED_MESSAGE", f"not JSON: {error}") from error
    if not isinstance(payload, dict):
        raise PoisonRecordError("MALFORMED_MESSAGE", "the message is not a JSON object")
    return message_from(payload)


def message_from(payload: Mapping[str, Any]) -> RaceMessage:
    """Validate a decoded message.

    Raises:
        PoisonRecordError: ``INVALID_MESSAGE`` naming the first bad field.
    """
    event = payload.get("event", "update")
    if event not in EVENTS:
        raise PoisonRecordError("INVALID_MESSAGE", f"event={event!r} is not one of {EVENTS}")
    name = payload.get("name", "")
    if not isinstance(name, str) or len(name) > 64 or not _is_utf8(name):
        raise PoisonRecordError(
            "INVALID_MESSAGE", "name must be a string of at most 64 characters of UTF-8"
        )
    return RaceMessage(
        race_id=_integer(payload, "raceId", 1, MAX_RACE_ID),
        class_id=_integer(payload, "classId", 1, 1000),
        racer_id=_integer(payload, "racerId", 0, 2**53),
        name=name,
        second=_integer(payload, "second", 0, MAX_SECOND),
        cadence=_number(payload, "cadence", Decimal(0), Decimal(300)),
        resistance=_number(payload, "resistance", Decimal(0), Decimal(100)),
        total=_number(payload, "total", Decimal(0), Decimal(10**9)),
        event=str(event),
    )


def _is_utf8(text: str) -> bool:
    # JSON can carry lone surrogates ("\\ud800") that no UTF-8 writer accepts.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _integer(payload: Mapping[str, Any], field: str, low: int, high: int) -> int:
    value = payload.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PoisonRecordError(
            "INVALID_MESSAGE", f"{field}={value!r} is not an integer in {low}-{high}"
        )
    return value


def _number(payload: Mapping[str, Any], field: str, low: Decimal, high: Decimal) -> Decimal:
    value = payload.get(field)
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise PoisonRecordError("INVALID_MESSAGE", f"{field}={value!r} is not a number")
    number = Decimal(str(value))
    if not number.is_finite() or not low <= number <= high:
        raise PoisonRecordError("INVALID_MESSAGE", f"{field}={value!r} is not in {low}-{high}")
    try:
        # Stored as DynamoDB numbers (scores): no more than 38 significant digits.
        return dynamodb_number(number)
    except DecimalException as error:
        raise PoisonRecordError(
            "INVALID_MESSAGE", f"{field}={value!r} has more than 38 significant digits"
        ) from error


def kinesis_message(record: Mapping[str, Any]) -> RaceMessage:
    """The message of a Kinesis record as Lambda delivers it (base64 ``kinesis.data``).

    Raises:
        PoisonRecordError: When the data is not base64 or not a valid message.
    """
    try:
        data = base64.b64decode(record["kinesis"]["data"], validate=True)
    except (KeyError, TypeError, binascii.Error) as error:
        raise PoisonRecordError("MALFORMED_MESSAGE", f"data is not base64: {error}") from error
    return parse_message(data)


# -- standings ---------------------------------------------------------------------------
#
# A race's standings map racer ids (strings, as JSON keys) to ``[second, total, name]``
# with ``total`` a decimal string: the best total seen and the second it was reached at.

Standings = dict[str, list[Any]]


def add_to_standings(standings: Standings, message: RaceMessage) -> None:
    """Keep ``message`` if it beats the racer's best total (ties: the later second)."""
    key = str(message.racer_id)
    current = standings.get(key)
    if current is None or _better(message.total, message.second, current):
        standings[key] = [message.second, str(message.total), message.name]


def encode_standings(standings: Mapping[str, list[Any]]) -> bytes:
    """Standings as stored: gzip of their compact UTF-8 JSON (about 12 bytes a racer)."""
    text = json.dumps(standings, separators=(",", ":"), ensure_ascii=False)
    return gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)


def decode_standings(data: bytes) -> Standings:
    """Stored standings (see :func:`encode_standings`)."""
    decoded: Standings = json.loads(gzip.decompress(data))
    return decoded


def merge_standings(into: Standings, other: Mapping[str, list[Any]]) -> bool:
    """Merge ``other`` into ``into`` by maximum; return True if ``into`` changed."""
    changed = False
    for key, entry in other.items():
        current = into.get(key)
        if current is None or _better(Decimal(entry[1]), int(entry[0]), current):
            into[key] = [int(entry[0]), str(entry[1]), str(entry[2])]
            changed = True
    return changed


def _better(total: Decimal, second: int, current: list[Any]) -> bool:
    best = Decimal(current[1])
    return total > best or (total == best and second > int(current[0]))


@dataclass(frozen=True)
class Standing:
    """One racer's place on a leaderboard."""

    rank: int
    racer_id: int
    name: str
    total: Decimal
    second: int

    def as_json(self) -> dict[str, Any]:
        """The JSON form the API and the published updates use."""
        return {
            "rank": self.rank,
            "racerId": self.racer_id,
            "name": self.name,
            "total": float(self.total),
            "second": self.second,
        }


def ranked(standings: Mapping[str, list[Any]], limit: int | None = None) -> list[Standing]:
    """Racers by best total, highest first; ties by racer id. Ranks are 1-based."""
    order = sorted(standings.items(), key=lambda item: (-Decimal(item[1][1]), int(item[0])))
    if limit is not None:
        order = order[:limit]
    return [
        Standing(rank, int(key), str(entry[2]), Decimal(entry[1]), int(entry[0]))
        for rank, (key, entry) in enumerate(order, start=1)
    ]


# -- personal bests --------------------------------------------------------------------
#
# A class's history maps racer ids to ``{second: best output}`` (both strings): the best
# work each racer ever did at each second of a race in that class.

History = dict[str, dict[str, str]]


def add_to_history(history: History, racer_id: int, second: int, output: Decimal) -> bool:
    """Keep ``output`` if it beats the racer's best at that second; return True if kept."""
    seconds = history.setdefault(str(racer_id), {})
    best = seconds.get(str(second))
    if best is None or output > Decimal(best):
        seconds[str(second)] = str(output)
        return True
    return False
