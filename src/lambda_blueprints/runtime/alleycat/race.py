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

One validator, :func:`parse_message` (with :func:`read_message` and
:func:`kinesis_message` around it), decides for every reader (live standings, final
results, the Firehose transform and the personal-best processor) whether a message counts,
so that no reader counts what another refuses. A message counts when:

* it is at most :data:`MAX_MESSAGE_BYTES` (a bike message is about 250 bytes);
* it is one JSON object, read exactly
  (:func:`~lambda_blueprints.runtime.shared.firehose.parse_json_object`: no ``NaN`` or
  ``Infinity``, valid UTF-8) and nested at most :data:`MAX_NESTING` levels;
* its fields are in range, and its ``total`` is one a bike can have ridden:
  at most :data:`MAX_OUTPUT_PER_SECOND` (the output at the highest cadence and resistance
  a message may carry) for each second up to ``second + 1``, plus
  :data:`TOTAL_TOLERANCE`;
* its ``racerId`` is the racer that published it, when the stream record names the
  publisher (see :data:`PUBLISHER_KEY_PREFIX`);
* the whole message, every field included, can be written back as an exact JSON line
  (:func:`~lambda_blueprints.runtime.shared.firehose.json_line`: no number beyond a double).

Anything else raises :class:`~lambda_blueprints.runtime.shared.failures.PoisonRecordError`
with one of the reasons ``MESSAGE_TOO_LARGE``, ``MALFORMED_MESSAGE``, ``NESTING_TOO_DEEP``,
``INVALID_MESSAGE``, ``IMPLAUSIBLE_TOTAL``, ``RACER_MISMATCH`` or ``NUMBER_OUT_OF_RANGE``.

Numbers are ``Decimal`` throughout (JSON numbers keep their exact text) and kept as strings
in window state and stored JSON, so sums and comparisons are exact.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from typing import Any

from ..shared.failures import PoisonRecordError
from ..shared.firehose import json_depth, json_line, parse_json_object
from ..shared.numbers import dynamodb_number

#: Highest second a message may carry (races last 300 s; one hour leaves room).
MAX_SECOND = 3600
#: Race ids are integers a JSON reader in JavaScript (the frontend) keeps exactly.
MAX_RACE_ID = 2**53 - 1
#: Racer ids, likewise (0 is a racer).
MAX_RACER_ID = 2**53
EVENTS = ("update", "finish")
#: The largest message any reader accepts. A bike message is about 250 bytes; 4 KiB leaves
#: room for fields a bike adds, and keeps one message from costing every reader (and the
#: archive) up to the 1 MiB a Kinesis record may hold.
MAX_MESSAGE_BYTES = 4 * 1024
#: Deepest nesting of objects and arrays in a message. Bike messages are flat; a fixed
#: limit far below Python's recursion limit makes every reader refuse the same messages,
#: whatever its own call depth.
MAX_NESTING = 16
#: Longest name, in characters.
MAX_NAME_CHARS = 64
#: Control characters (C0, DEL, C1): no display name needs one, and JSON writes each as six
#: bytes (``\u0001``), which would make the largest stored entry half as large again.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
#: Ranges of a second's effort. They bound the output of a second, and so a plausible total.
MAX_CADENCE = Decimal(300)
MAX_RESISTANCE = Decimal(100)
#: Slack on the plausible total: 1%, for bikes that sum outputs in binary floating point
#: or count a second late.
TOTAL_TOLERANCE = Decimal("0.01")
#: A stream record whose partition key starts with this names its publisher after it: the
#: IoT rule of the ``AlleycatRacing`` pattern sets the key to this prefix and the last
#: level of the topic the bike published to, which the bike's IoT policy binds to its
#: thing name. Such a message counts only when its ``racerId`` is that name.
PUBLISHER_KEY_PREFIX = "bike/"
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


def output_of(cadence: Decimal, resistance: Decimal) -> Decimal:
    """The work of one second of riding, to the cent."""
    return ((cadence + 35) * (resistance + 65) / _HUNDRED).quantize(_CENT)


#: The most work a second can hold: 552.75 at cadence 300 and resistance 100.
MAX_OUTPUT_PER_SECOND = output_of(MAX_CADENCE, MAX_RESISTANCE)


def max_plausible_total(second: int) -> Decimal:
    """The highest ``total`` a bike can report at ``second``.

    Every second adds at most :data:`MAX_OUTPUT_PER_SECOND`; ``second + 1`` seconds allow
    for a count that starts at 0, and :data:`TOTAL_TOLERANCE` for rounding on the bike.
    """
    return MAX_OUTPUT_PER_SECOND * (second + 1) * (1 + TOTAL_TOLERANCE)


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


def parse_message(
    data: bytes | str, *, publisher: str | None = None, max_bytes: int = MAX_MESSAGE_BYTES
) -> RaceMessage:
    """Validate one message: the validator every Alleycat reader uses.

    Args:
        data: The message as the stream carries it (UTF-8 JSON).
        publisher: The racer id the transport says published the message (see
            :func:`publisher_of`), or None when the transport names none.
        max_bytes: The largest message accepted. Only a reader of the Firehose archive's
            lines, which carry an added ``output``, gives more (:data:`MAX_LINE_BYTES`).

    Raises:
        PoisonRecordError: With the reasons listed in the module docstring.
    """
    return read_message(data, publisher=publisher, max_bytes=max_bytes)[1]


#: The largest line of the Firehose archive: a message plus the ``,"output":552.75`` the
#: transform adds (the transform never makes the rest of a message longer).
MAX_LINE_BYTES = MAX_MESSAGE_BYTES + 32


def read_message(
    data: bytes | str, *, publisher: str | None = None, max_bytes: int = MAX_MESSAGE_BYTES
) -> tuple[dict[str, Any], RaceMessage]:
    """Validate one message; return its exact JSON object and the validated message.

    The object keeps every field, its numbers as
    :class:`~lambda_blueprints.runtime.shared.firehose.JsonNumber` (exact, with their
    source text), for a reader that passes the message on whole.

    Raises:
        PoisonRecordError: As :func:`parse_message`.
    """
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError as error:
            raise PoisonRecordError("MALFORMED_MESSAGE", f"not UTF-8: {error}") from error
    if len(data) > max_bytes:
        raise PoisonRecordError(
            "MESSAGE_TOO_LARGE",
            f"the message has {len(data):,} bytes; a bike message has at most {max_bytes:,}",
        )
    try:
        payload = parse_json_object(data)
    except PoisonRecordError as error:
        if isinstance(error.__cause__, RecursionError):
            raise PoisonRecordError(
                "NESTING_TOO_DEEP", f"the message nests more than {MAX_NESTING} levels deep"
            ) from error
        what = "not a JSON object" if error.reason == "NOT_AN_OBJECT" else "not JSON"
        raise PoisonRecordError("MALFORMED_MESSAGE", f"{what}: {error.detail}") from error
    # Only a message with more brackets than the limit can nest deeper than it.
    brackets = data.count(b"[") + data.count(b"{")
    if brackets > MAX_NESTING and json_depth(payload, stop_above=MAX_NESTING) > MAX_NESTING:
        raise PoisonRecordError(
            "NESTING_TOO_DEEP", f"the message nests more than {MAX_NESTING} levels deep"
        )
    message = message_from(payload)
    if publisher is not None and publisher != str(message.racer_id):
        raise PoisonRecordError(
            "RACER_MISMATCH",
            f"racerId={message.racer_id} was published by {publisher[:64]!r}: a bike "
            "speaks for its own racer only",
        )
    if b"\x00" not in data and _MAY_NOT_BE_WRITABLE.search(data) is None:
        return payload, message
    try:
        # Every reader refuses what the archive could not hold exactly (e.g. 1e400 in a
        # field no reader looks at), so that all of them count the same messages.
        json_line(payload)
    except PoisonRecordError as error:
        if error.reason == "NUMBER_OUT_OF_RANGE":
            raise
        raise PoisonRecordError("MALFORMED_MESSAGE", f"not JSON: {error.detail}") from error
    return payload, message


#: What a message must hold for the archive's writer to refuse it, found in its bytes: a
#: ``\u`` escape or UTF-8-encoded surrogate (a lone surrogate is not UTF-8), a number with an
#: exponent (a number token follows ``:``, ``,`` or ``[``) or
#: a run of 309 digits (a number beyond a double's range needs one or the other). A UTF-8
#: message (no NUL bytes: UTF-16 and UTF-32 JSON has them) with none of them is written
#: whole, so only the others are tried.
_MAY_NOT_BE_WRITABLE = re.compile(rb"\\u|\xed[\xa0-\xbf]|[:,\[]\s*-?[0-9][0-9.]*[eE]|[0-9]{309}")


def message_from(payload: Mapping[str, Any]) -> RaceMessage:
    """Validate the fields of a decoded message (not its size, nesting or JSON form).

    :func:`parse_message` runs this; a reader that has the bytes uses that instead.

    Raises:
        PoisonRecordError: ``INVALID_MESSAGE`` naming the first bad field,
            ``IMPLAUSIBLE_TOTAL`` for a total no bike can reach by its ``second``.
    """
    event = payload.get("event", "update")
    if event not in EVENTS:
        raise PoisonRecordError("INVALID_MESSAGE", f"event={event!r} is not one of {EVENTS}")
    name = payload.get("name", "")
    if (
        not isinstance(name, str)
        or len(name) > MAX_NAME_CHARS
        or not _is_utf8(name)
        or _CONTROL.search(name)
    ):
        raise PoisonRecordError(
            "INVALID_MESSAGE",
            f"name must be a string of at most {MAX_NAME_CHARS} characters of UTF-8, "
            "without control characters",
        )
    message = RaceMessage(
        race_id=_integer(payload, "raceId", 1, MAX_RACE_ID),
        class_id=_integer(payload, "classId", 1, 1000),
        racer_id=_integer(payload, "racerId", 0, MAX_RACER_ID),
        name=name,
        second=_integer(payload, "second", 0, MAX_SECOND),
        cadence=_number(payload, "cadence", Decimal(0), MAX_CADENCE),
        resistance=_number(payload, "resistance", Decimal(0), MAX_RESISTANCE),
        total=_number(payload, "total", Decimal(0), Decimal(10**9)),
        event=str(event),
    )
    limit = max_plausible_total(message.second)
    if message.total > limit:
        raise PoisonRecordError(
            "IMPLAUSIBLE_TOTAL",
            f"total={message.total} at second {message.second}: no bike rides more than "
            f"{MAX_OUTPUT_PER_SECOND} a second, so at most {limit} by then",
        )
    return message


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
            "INVALID_MESSAGE", f"{field}={_shown(value)} is not an integer in {low}-{high}"
        )
    return value


def _number(payload: Mapping[str, Any], field: str, low: Decimal, high: Decimal) -> Decimal:
    value = payload.get(field)
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise PoisonRecordError("INVALID_MESSAGE", f"{field}={_shown(value)} is not a number")
    # A JSON number with a fraction is already a Decimal with its exact text.
    number = Decimal(value) if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite() or not low <= number <= high:
        raise PoisonRecordError(
            "INVALID_MESSAGE", f"{field}={_shown(value)} is not in {low}-{high}"
        )
    try:
        # Stored as DynamoDB numbers (scores): no more than 38 significant digits.
        return dynamodb_number(number)
    except DecimalException as error:
        raise PoisonRecordError(
            "INVALID_MESSAGE", f"{field}={_shown(value)} has more than 38 significant digits"
        ) from error


def _shown(value: Any) -> str:
    # A field may hold a whole nested document: name it, do not copy it into the reason.
    text = repr(value)
    return text if len(text) <= 64 else f"{text[:61]}..."


def publisher_of(partition_key: Any) -> str | None:
    """The publisher a stream record's partition key names, or None (see the prefix)."""
    if isinstance(partition_key, str) and partition_key.startswith(PUBLISHER_KEY_PREFIX):
        return partition_key.removeprefix(PUBLISHER_KEY_PREFIX)
    return None


def kinesis_message(record: Mapping[str, Any]) -> RaceMessage:
    """The message of a Kinesis record as Lambda delivers it (base64 ``kinesis.data``).

    The record's partition key names the publisher when the IoT rule wrote it (see
    :data:`PUBLISHER_KEY_PREFIX`).

    Raises:
        PoisonRecordError: When the data is not base64 or not a valid message.
    """
    try:
        kinesis = record["kinesis"]
        data = base64.b64decode(kinesis["data"], validate=True)
    except (KeyError, TypeError, binascii.Error) as error:
        raise PoisonRecordError("MALFORMED_MESSAGE", f"data is not base64: {error}") from error
    return parse_message(data, publisher=publisher_of(kinesis.get("partitionKey")))


# -- standings ---------------------------------------------------------------------------
#
# A race's standings map racer ids (strings, as JSON keys) to ``[second, total, name]``
# with ``total`` a decimal string: the best total seen and the second it was reached at.
#
# Stored standings are split into pages of at most PAGE_RACERS racers, so that no number of
# racers can outgrow a DynamoDB item: a page of PAGE_RACERS entries of the largest size a
# valid message makes still fits one, compressed or not (see MAX_ENTRY_BYTES).

Standings = dict[str, list[Any]]

#: Largest stored standings, compressed: DynamoDB's 400 KB item less room for the keys and
#: the other attributes.
MAX_STANDINGS_BYTES = 390 * 1024
#: The largest entry a valid message makes in the JSON of a page, rounded up:
#: ``"<16-digit racer id>":[<4-digit second>,"<total>","<name>"],`` with a total of up to
#: 45 characters (38 significant digits, or 6 leading zeros after the point) and 64 name
#: characters of up to 4 bytes each (UTF-8; ``"`` and ``\`` are escaped in 2, and names
#: have no control characters, which would take 6).
MAX_ENTRY_BYTES = 340
#: Racers per stored page, the most racers an Alleycat race has: 1,000 of the largest
#: entries take 340,000 bytes, under MAX_STANDINGS_BYTES even when gzip cannot compress
#: them at all.
PAGE_RACERS = 1000


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
        if _merge_entry(into, key, entry):
            changed = True
    return changed


def place_in_pages(pages: list[Standings], standings: Mapping[str, list[Any]]) -> list[int]:
    """Merge ``standings`` into stored ``pages`` by maximum; return the pages that changed.

    A racer already on a page is merged there (on the first page that has it); a racer on
    none joins the first page with room, in racer id order, and new pages are appended as
    the others fill up, none over :data:`PAGE_RACERS`. The placement depends only on
    ``pages`` and ``standings``, so a retry or a replay of the same standings finds every
    racer where it went the first time and changes nothing.

    Args:
        pages: The stored pages in page order; changed in place, new pages appended.
        standings: The standings to merge (a window's).

    Returns:
        The indexes of the pages that changed or were added, in order.
    """
    home: dict[str, int] = {}
    for index in range(len(pages) - 1, -1, -1):
        home.update(dict.fromkeys(pages[index], index))
    changed: set[int] = set()
    newcomers: list[str] = []
    for key, entry in standings.items():
        found = home.get(key)
        if found is None:
            newcomers.append(key)
        elif _merge_entry(pages[found], key, entry):
            changed.add(found)
    index = 0
    for key in sorted(newcomers, key=int):
        while index < len(pages) and len(pages[index]) >= PAGE_RACERS:
            index += 1
        if index == len(pages):
            pages.append({})
        _merge_entry(pages[index], key, standings[key])
        changed.add(index)
    return sorted(changed)


def _merge_entry(into: Standings, key: str, entry: list[Any]) -> bool:
    current = into.get(key)
    if current is None or _better(Decimal(entry[1]), int(entry[0]), current):
        into[key] = [int(entry[0]), str(entry[1]), str(entry[2])]
        return True
    return False


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
