"""The data transformation contract of Amazon Data Firehose, implemented once.

Firehose buffers source records (0.2-3 MB, for 0-900 s) and invokes the transformation
function synchronously with them: ``{"invocationId", "deliveryStreamArn", "region",
"records": [{"recordId", "approximateArrivalTimestamp", "data"}, ...]}``, ``data``
base64-encoded (plus ``sourceKinesisStreamArn`` and per-record ``kinesisRecordMetadata``
when the source is a Kinesis data stream). The function answers every record exactly once,
with its ``recordId``, a ``result`` and base64 ``data``:

* ``Ok``: ``data`` is the transformed record, delivered as it is (no separator is added:
  a newline-delimited object needs each record to end with a newline);
* ``Dropped``: the record is left out on purpose; Firehose counts it as processed;
* ``ProcessingFailed``: Firehose keeps the original record, with the error, under the
  destination's processing-failed prefix.

A missing or unknown ``recordId``, a record left out, or a response that is not valid
fails the whole batch, which Firehose retries and then writes, whole, to the
processing-failed prefix. A transformed record holds at most 1,000 KiB and the response,
like any synchronous Lambda response, at most 6 MB.

:func:`transform_records` runs that contract around a per-record function, so a handler
is ``transform(data, record) -> bytes | None``:

* the record's ``data`` is decoded and handed over with the record itself (for
  ``kinesisRecordMetadata``, arrival time, ...); bytes returned become ``Ok`` (with a
  trailing newline added when missing, unless ``newline=False``), ``None`` becomes
  ``Dropped``;
* any exception (``PoisonRecordError`` for a record that can never be transformed, or
  anything else) makes that record ``ProcessingFailed`` and goes to ``on_failure``; the
  other records of the batch go on;
* an output over 1,000 KiB is ``ProcessingFailed`` too;
* when a record's answer would take the response past 6 MB, that record (its output
  discarded) and every record after it (not transformed at all) are answered
  ``ProcessingFailed``, so the invocation still succeeds and nothing is lost: Firehose
  keeps them under the processing-failed prefix.

The 6 MB (6,291,456 bytes) hold for the response as Lambda's Python runtime sends it: the
runtime serializes the handler's return value with the ``json`` defaults, whose separators
are ``", "`` and ``": "``, so every answer is measured as ``json.dumps(answer)``, with
``", "`` between answers and the ``{"records": []}`` envelope as that serialization writes
it. ASCII escapes are counted too (``ensure_ascii``), which is never less than the UTF-8 the
newer runtimes write.

JSON records, exactly: :func:`parse_json_object` and :func:`json_line` read a record that
holds a JSON object and write it back as one compact line without changing any number.
Numbers with a fraction or an exponent are parsed as :class:`JsonNumber`, a ``Decimal``
that keeps its source text, and written with that text (``1E2`` stays ``1E2``,
``0.10000000000000000555`` keeps every digit); integers are Python ``int``, exact at any
size, written in JSON's one integer form (so ``-0`` is written ``0``, the same value). A
``NaN`` or ``Infinity`` literal, a number beyond the range of a double (``1e400``, which
readers such as Athena or ``jq`` cannot hold), invalid UTF-8, a lone surrogate or nesting
deeper than :data:`MAX_JSON_DEPTH` (128) levels raise
:class:`~.failures.PoisonRecordError` with the reason, so the record is answered
``ProcessingFailed`` and kept whole.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from .failures import PoisonRecordError

#: Largest record Firehose accepts from a transformation, before base64 encoding.
MAX_RECORD_BYTES = 1000 * 1024
#: Largest response of a synchronous Lambda invocation, as Firehose invokes the transform.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
#: Deepest nesting of objects and arrays a JSON record may have (the record's own object
#: is level 1). Parsers give up at a depth that depends on their stack; a fixed limit makes
#: the same record pass or fail the same way everywhere, far above what events need.
MAX_JSON_DEPTH = 128

OK = "Ok"
DROPPED = "Dropped"
PROCESSING_FAILED = "ProcessingFailed"

Transform = Callable[[bytes, Mapping[str, Any]], bytes | None]
OnFailure = Callable[[Mapping[str, Any], Exception], None]

# Sizes as the Python runtime serializes the response (json defaults: ", " and ": ").
_ENVELOPE = len(json.dumps({"records": []}).encode())
_SEPARATOR = len(", ")


class RecordTooLargeError(Exception):
    """A transformed record over the 1,000 KiB Firehose accepts."""


class ResponseFullError(Exception):
    """The record's answer would take the response past the 6 MB invocation limit."""


def transform_records(
    event: Mapping[str, Any],
    transform: Transform,
    *,
    newline: bool = True,
    on_failure: OnFailure | None = None,
) -> dict[str, Any]:
    """Transform one Firehose batch; return the response Firehose expects.

    Args:
        event: The transformation event as Firehose sends it.
        transform: Called with each record's decoded data and the record; returns the
            transformed bytes, or None to drop the record.
        newline: Append a newline to each transformed record that does not end with one, so
            the delivered object is newline-delimited.
        on_failure: Called with the record and the error for each record answered
            ``ProcessingFailed`` (for logging); what it raises fails the invocation.

    Returns:
        ``{"records": [...]}``: one answer per input record, in the input order.
    """
    records = list(event.get("records") or [])
    # Room kept so that every record after the current one can still be answered, with
    # the smallest answer there is, whatever the current one takes.
    reserve = [0] * (len(records) + 1)
    for index in range(len(records) - 1, -1, -1):
        reserve[index] = reserve[index + 1] + _size(_failed(records[index], "")) + _SEPARATOR
    used = _ENVELOPE
    full = False
    answers: list[dict[str, str]] = []
    for index, record in enumerate(records):
        budget = MAX_RESPONSE_BYTES - used - reserve[index + 1] - (_SEPARATOR if answers else 0)
        error: Exception | None = None
        if full:
            error = ResponseFullError("the response reached the 6 MB Lambda limit")
            answer = _failed(record, "")
            size = _size(answer)
        else:
            answer, error = _answer(record, transform, newline=newline)
            size = _size(answer)
            if size > budget:
                full = True
                error = ResponseFullError("the response reached the 6 MB Lambda limit")
                answer = _failed(record, "")
                size = _size(answer)
        if error is not None and on_failure is not None:
            on_failure(record, error)
        used += size + (_SEPARATOR if answers else 0)
        answers.append(answer)
    return {"records": answers}


def _answer(
    record: Mapping[str, Any], transform: Transform, *, newline: bool
) -> tuple[dict[str, str], Exception | None]:
    """The record's answer, and the error that made it ``ProcessingFailed`` if any."""
    original = record.get("data")
    original = original if isinstance(original, str) else ""
    try:
        data = base64.b64decode(original, validate=True)
        output = transform(data, record)
        if output is None:
            return {"recordId": str(record.get("recordId")), "result": DROPPED, "data": ""}, None
        if not isinstance(output, bytes | bytearray | memoryview):
            raise TypeError(f"transform returned {type(output).__name__}, not bytes or None")
        output = bytes(output)
        if newline and not output.endswith(b"\n"):
            output += b"\n"
        if len(output) > MAX_RECORD_BYTES:
            raise RecordTooLargeError(
                f"transformed record is {len(output):,} bytes; Firehose accepts at most "
                f"{MAX_RECORD_BYTES:,}"
            )
    except Exception as error:
        # Whatever the reason, one bad record must not fail the batch. The original data
        # goes back only when it fits the answer's 1,000 KiB: Firehose keeps the source
        # record under the processing-failed prefix either way.
        # Decoded length of valid base64 (invalid base64 is never longer than it says).
        fits = len(original) * 3 // 4 - original[-2:].count("=") <= MAX_RECORD_BYTES
        return _failed(record, original if fits else ""), error
    encoded = base64.b64encode(output).decode("ascii")
    return {"recordId": str(record.get("recordId")), "result": OK, "data": encoded}, None


def _failed(record: Mapping[str, Any], data: str) -> dict[str, str]:
    # The original data goes back with the failure: Firehose keeps the source record
    # under the processing-failed prefix either way, and the answer stays valid.
    return {"recordId": str(record.get("recordId")), "result": PROCESSING_FAILED, "data": data}


def _size(answer: Mapping[str, str]) -> int:
    # Default separators and ASCII escapes: the runtime's own serialization, or longer.
    return len(json.dumps(answer).encode())


# -- JSON records, exactly --------------------------------------------------------------------


class JsonNumber(Decimal):
    """A JSON number with a fraction or an exponent: its exact value and its source text.

    Attributes:
        text: The number as the JSON text wrote it, e.g. ``1E2``.
    """

    __slots__ = ("text",)

    text: str

    def __new__(cls, text: str) -> JsonNumber:
        """Parse ``text`` (``json.loads`` calls it with each such number's text)."""
        number = super().__new__(cls, text)
        number.text = text
        return number


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json_object(data: bytes) -> dict[str, Any]:
    """Parse a record holding one JSON object, keeping every number exactly.

    Args:
        data: The record's bytes, UTF-8 JSON (UTF-16 and UTF-32 with a BOM are read too,
            as ``json.loads`` reads them).

    Returns:
        The object: numbers with a fraction or an exponent as :class:`JsonNumber`,
        integers as ``int``.

    Raises:
        PoisonRecordError: ``INVALID_JSON`` when the data is not JSON (``NaN`` and
            ``Infinity`` included) or nests deeper than :data:`MAX_JSON_DEPTH` levels,
            ``NOT_AN_OBJECT`` when it holds anything but an object.
    """
    try:
        value = json.loads(data, parse_float=JsonNumber, parse_constant=_no_constant)
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError included
        raise PoisonRecordError("INVALID_JSON", str(error)[:200]) from error
    except RecursionError as error:
        raise PoisonRecordError(
            "INVALID_JSON", f"nested deeper than {MAX_JSON_DEPTH} levels"
        ) from error
    if not isinstance(value, dict):
        raise PoisonRecordError("NOT_AN_OBJECT", f"the record holds a JSON {type(value).__name__}")
    # Each level opens with a bracket byte (in UTF-16 and UTF-32 too), so a record with no
    # more of them than the limit cannot nest deeper: measure only the others.
    if data.count(b"[") + data.count(b"{") <= MAX_JSON_DEPTH:
        return value
    depth = json_depth(value)
    if depth > MAX_JSON_DEPTH:
        raise PoisonRecordError(
            "INVALID_JSON", f"nested {depth} levels deep; at most {MAX_JSON_DEPTH} are accepted"
        )
    return value


def json_depth(value: Any, *, stop_above: int | None = None) -> int:
    """How deep objects and arrays nest in ``value`` (a scalar is 0, ``{}`` is 1).

    Iterative, so it measures any depth a parser produced without recursing itself. With
    ``stop_above``, it returns as soon as it finds a level deeper than that (the depth it
    returns is then only known to be more than ``stop_above``).
    """
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if stop_above is not None and deepest > stop_above:
            return deepest
        pending.extend((child, level + 1) for child in children)
    return deepest


def json_line(value: Mapping[str, Any]) -> bytes:
    """Write a JSON object as one compact UTF-8 line, without the newline.

    No insignificant whitespace, keys in their order, text as UTF-8 (not ASCII escapes).
    A :class:`JsonNumber` is written with its source text, another ``Decimal`` with its
    ``str`` (its exact value), an ``int`` exactly, a ``float`` with its shortest ``repr``.

    Raises:
        PoisonRecordError: ``NUMBER_OUT_OF_RANGE`` for a number that is not finite or lies
            beyond the range of a double; ``INVALID_JSON`` for a lone surrogate in a string
            (not UTF-8) or nesting too deep to write.
        TypeError: For a value JSON has no form for.
    """
    parts: list[str] = []
    try:
        _write(value, parts)
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as error:
        raise PoisonRecordError(
            "INVALID_JSON", f"a string is not valid Unicode: {error}"
        ) from error
    except RecursionError as error:
        raise PoisonRecordError("INVALID_JSON", "nested too deep to write") from error


_string = json.JSONEncoder(ensure_ascii=False).encode


def _write(value: Any, parts: list[str]) -> None:
    # bool before int: True is an int.
    if isinstance(value, str):
        parts.append(_string(value))
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, int):
        parts.append(_integer_text(value))
    elif isinstance(value, Decimal):
        parts.append(_decimal_text(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise PoisonRecordError("NUMBER_OUT_OF_RANGE", f"{value} is not a JSON number")
        parts.append(repr(value))
    elif isinstance(value, Mapping):
        parts.append("{")
        for index, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"a JSON object key is a string, not {type(key).__name__}")
            parts.append(f",{_string(key)}:" if index else f"{_string(key)}:")
            _write(item, parts)
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _write(item, parts)
        parts.append("]")
    else:
        raise TypeError(f"{type(value).__name__} has no JSON form")


def _integer_text(value: int) -> str:
    # Readers parse JSON numbers as doubles; one past their range cannot be read back.
    try:
        float(value)
    except OverflowError as error:
        raise PoisonRecordError(
            "NUMBER_OUT_OF_RANGE",
            # bit_length, not str(): str() refuses integers of over 4,300 digits.
            f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits lies "
            "beyond the range of a double (about 1.8e308), which JSON readers such as Athena "
            "and jq cannot hold",
        ) from error
    return int.__repr__(value)


def _decimal_text(value: Decimal) -> str:
    text = value.text if isinstance(value, JsonNumber) else str(value)
    if not value.is_finite():
        raise PoisonRecordError("NUMBER_OUT_OF_RANGE", f"{text} is not a JSON number")
    if math.isinf(float(value)):
        raise PoisonRecordError(
            "NUMBER_OUT_OF_RANGE",
            f"{text} lies beyond the range of a double (about 1.8e308), which JSON readers "
            "such as Athena and jq cannot hold",
        )
    return text
