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
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any

#: Largest record Firehose accepts from a transformation, before base64 encoding.
MAX_RECORD_BYTES = 1000 * 1024
#: Largest response of a synchronous Lambda invocation, as Firehose invokes the transform.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024

OK = "Ok"
DROPPED = "Dropped"
PROCESSING_FAILED = "ProcessingFailed"

Transform = Callable[[bytes, Mapping[str, Any]], bytes | None]
OnFailure = Callable[[Mapping[str, Any], Exception], None]

_ENVELOPE = len(b'{"records":[]}')


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
        reserve[index] = reserve[index + 1] + _size(_failed(records[index], "")) + 1
    used = _ENVELOPE
    full = False
    answers: list[dict[str, str]] = []
    for index, record in enumerate(records):
        budget = MAX_RESPONSE_BYTES - used - reserve[index + 1] - (1 if answers else 0)
        error: Exception | None = None
        if full:
            error = ResponseFullError("the response reached the 6 MB Lambda limit")
            answer = _failed(record, "")
        else:
            answer, error = _answer(record, transform, newline=newline)
            if _size(answer) > budget:
                full = True
                error = ResponseFullError("the response reached the 6 MB Lambda limit")
                answer = _failed(record, "")
        if error is not None and on_failure is not None:
            on_failure(record, error)
        used += _size(answer) + (1 if answers else 0)
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
        # Whatever the reason, one bad record must not fail the batch.
        return _failed(record, original), error
    encoded = base64.b64encode(output).decode("ascii")
    return {"recordId": str(record.get("recordId")), "result": OK, "data": encoded}, None


def _failed(record: Mapping[str, Any], data: str) -> dict[str, str]:
    # The original data goes back with the failure: Firehose keeps the source record
    # under the processing-failed prefix either way, and the answer stays valid.
    return {"recordId": str(record.get("recordId")), "result": PROCESSING_FAILED, "data": data}


def _size(answer: Mapping[str, str]) -> int:
    return len(json.dumps(answer, separators=(",", ":")).encode())
