"""The tumbling-window state protocol of Lambda stream mappings, implemented once.

A stream mapping with ``TumblingWindowInSeconds`` invokes the function several times per
window: with ``state: {}`` first, then with whatever the previous invocation returned as
``state``, and finally once with ``isFinalInvokeForWindow: true``. A state over 1 MB ends
the window early: one invocation with ``isWindowTerminatedEarly: true`` carries that
state, and the window goes on with an empty one. A response without ``state`` fails the
invocation.

:func:`handle_window_event` runs that protocol around an :class:`Aggregation`, so handler
code is a pure reducer (``add``) plus a writer (``emit``):

* records are added in order; a record that can never be added goes to ``on_poison``
  and the window goes on without it. "Never" is decided by :func:`~.failures.as_poison`:
  a ``PoisonRecordError``, and also any parse error, ``RecursionError`` from data nested
  too deep, arithmetic error or request the service refuses as invalid, since a retry
  fails the same way and would only hold up the records after it;
* any other error stops the batch at that record: the response returns the state of the
  records before it and reports it in ``batchItemFailures``, so Lambda retries from there
  with exactly that state (the mapping needs ``ReportBatchItemFailures``);
* ``emit`` runs on the final invocation (if the current part saw any record, parked ones
  included) and on an early-termination invocation. Each part of a window has its own id:
  ``final``, or ``early-<sequence number of the part's first record>`` for a part ended
  early. The id is the same on every retry of an invocation and differs between parts, so
  writes keyed by window and part are idempotent and never overwrite another part;
* an aggregate that can never be written (``emit`` raises an error
  :func:`~.failures.as_poison` calls permanent, e.g. an item the table rejects) goes to
  ``on_poison`` as a window record naming the shard, the window, the part and its first
  and last sequence numbers, instead of blocking the shard:
  Lambda suspends a shard until its final invocation succeeds.

The state Lambda carries is an envelope around the aggregation's own state:
``{"aggregate": <state>, "firstSequenceNumber": "...", "lastSequenceNumber": "..."}``, the
first and last records of the part. Handlers never see it; the window's first invocation
has ``state: {}`` and starts from ``aggregation.initial()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from .failures import PoisonRecordError, as_poison

State = TypeVar("State")

#: Envelope keys of the state Lambda carries between invocations.
AGGREGATE = "aggregate"
FIRST_SEQUENCE_NUMBER = "firstSequenceNumber"
LAST_SEQUENCE_NUMBER = "lastSequenceNumber"

OnPoison = Callable[[Mapping[str, Any], PoisonRecordError], None]


@dataclass(frozen=True)
class Window:
    """The window an aggregate belongs to.

    Attributes:
        start: ``window.start`` as Lambda sends it (``YYYY-MM-DDTHH:MM:SSZ``).
        end: ``window.end``.
        shard_id: The shard; aggregates are per shard.
        event_source_arn: The stream.
        part: ``final`` for the window's final invocation, ``early-<sequence number>`` for
            a part emitted because the state grew over 1 MB (the sequence number of the
            part's first record, so a retry writes the same part and parts never collide).
    """

    start: str
    end: str
    shard_id: str
    event_source_arn: str
    part: str

    @property
    def terminated_early(self) -> bool:
        """True for a part emitted when the window ended early."""
        return self.part.startswith("early-")


class Aggregation(Protocol, Generic[State]):
    """What a window aggregator provides: an empty state, a reducer and a writer.

    States must be JSON-compatible (Lambda carries them between invocations as JSON) and
    stay under 1 MB serialized, or Lambda ends the window early.
    """

    def initial(self) -> State:
        """The state of a window before its first record."""
        ...

    def add(self, state: State, record: Mapping[str, Any]) -> State:
        """Add one stream record (as Lambda delivers it) to the state.

        It may return the state it was given, changed, but must not change it before it
        raises: the state of the records before a failed one is what Lambda keeps.

        Raises:
            PoisonRecordError: When the record can never be added (so do the other
                errors :func:`~.failures.as_poison` calls permanent, e.g. a
                ``ValueError`` from a parser).
        """
        ...

    def emit(self, state: State, window: Window) -> None:
        """Persist the aggregate of a window (or of one early-terminated part of it).

        A part ended early carries a state over 1 MB: an ``emit`` that stores it must
        split it (a DynamoDB item holds at most 400 KB).

        Raises:
            PoisonRecordError: When the aggregate can never be written; it is parked.
        """
        ...


def sequence_number(record: Mapping[str, Any]) -> str:
    """The record's sequence number: its ``itemIdentifier`` in a partial batch response."""
    if "kinesis" in record:
        return str(record["kinesis"]["sequenceNumber"])
    return str(record["dynamodb"]["SequenceNumber"])


def handle_window_event(
    event: Mapping[str, Any],
    aggregation: Aggregation[Any],
    *,
    on_poison: OnPoison | None = None,
) -> dict[str, Any]:
    """Run one tumbling-window invocation; return the response Lambda expects.

    Without ``on_poison``, a poison record is treated like any other failing record: the
    batch stops there and Lambda retries it until its retry limit sends it to the mapping's
    on-failure destination; an aggregate ``emit`` refuses fails the invocation.

    Raises:
        Exception: Whatever ``emit`` raises (but permanent errors, see
            :func:`~.failures.as_poison`, with ``on_poison``), and any failure of a record
            delivered with a final or early-termination invocation: Lambda then retries
            the whole invocation.
    """
    envelope = dict(event.get("state") or {})
    records: Sequence[Mapping[str, Any]] = event.get("Records") or []
    if event.get("isFinalInvokeForWindow") or event.get("isWindowTerminatedEarly"):
        # AWS sends these without records, but nothing guarantees it: count any records
        # first, all or nothing, since a partial response cannot end a window.
        envelope, failed = fold(records, aggregation, envelope, on_poison)
        if failed is not None:
            raise RuntimeError(
                f"record {sequence_number(failed)} could not be added to the window's "
                "aggregate; the invocation is retried"
            )
        if FIRST_SEQUENCE_NUMBER in envelope:
            early = bool(event.get("isWindowTerminatedEarly"))
            part = f"early-{envelope[FIRST_SEQUENCE_NUMBER]}" if early else "final"
            emit_part(aggregation, envelope, window_of(event, part), on_poison)
        # The final response needs no state; an empty one keeps every reader of it happy.
        return {"state": {}}
    envelope, failed = fold(records, aggregation, envelope, on_poison)
    failures = [] if failed is None else [{"itemIdentifier": sequence_number(failed)}]
    return {"state": envelope, "batchItemFailures": failures}


def fold(
    records: Sequence[Mapping[str, Any]],
    aggregation: Aggregation[Any],
    envelope: Mapping[str, Any],
    on_poison: OnPoison | None,
) -> tuple[dict[str, Any], Mapping[str, Any] | None]:
    """Add ``records`` in order to the state in ``envelope`` (``{}``: a new part).

    Returns the new envelope and the first record that failed for a retryable reason
    (None when all were added or parked); the envelope covers the records before it.
    """
    result = dict(envelope)
    state = aggregate_of(result, aggregation)
    for record in records:
        try:
            state = _add(aggregation, state, record, on_poison)
        except Exception:
            # Retryable (including a failure to park a poison record): the state so far
            # covers the records before this one; Lambda commits them and retries from
            # this record with this state.
            return result, record
        result.setdefault(FIRST_SEQUENCE_NUMBER, sequence_number(record))
        result[LAST_SEQUENCE_NUMBER] = sequence_number(record)
        result[AGGREGATE] = state
    return result, None


def aggregate_of(envelope: Mapping[str, Any], aggregation: Aggregation[State]) -> State:
    """The aggregation's own state inside a state envelope."""
    if AGGREGATE in envelope:
        return envelope[AGGREGATE]  # type: ignore[no-any-return]
    return aggregation.initial()


def window_of(event: Mapping[str, Any], part: str) -> Window:
    """The :class:`Window` of a tumbling-window event, for part ``part``."""
    window = event.get("window") or {}
    return Window(
        start=str(window.get("start", "")),
        end=str(window.get("end", "")),
        shard_id=str(event.get("shardId", "")),
        event_source_arn=str(event.get("eventSourceARN", "")),
        part=part,
    )


def _add(
    aggregation: Aggregation[Any],
    state: Any,
    record: Mapping[str, Any],
    on_poison: OnPoison | None,
) -> Any:
    try:
        return aggregation.add(state, record)
    except Exception as error:
        poison = as_poison(error)
        if poison is None or on_poison is None:
            raise
        on_poison(record, poison)
        return state


def emit_part(
    aggregation: Aggregation[Any],
    envelope: Mapping[str, Any],
    window: Window,
    on_poison: OnPoison | None,
) -> None:
    """Emit the part in ``envelope``; park it with ``on_poison`` if ``emit`` refuses it.

    Raises:
        Exception: Whatever ``emit`` raises (a permanent error only without
            ``on_poison``).
    """
    try:
        aggregation.emit(aggregate_of(envelope, aggregation), window)
    except Exception as failure:
        error = as_poison(failure)
        if error is None or on_poison is None:
            raise
        # The records are in the stream until its retention ends; this names them.
        on_poison(
            {
                "eventSourceARN": window.event_source_arn,
                "eventID": f"{window.shard_id}:{envelope[FIRST_SEQUENCE_NUMBER]}",
                "window": {"start": window.start, "end": window.end},
                "shardId": window.shard_id,
                "part": window.part,
                "firstSequenceNumber": envelope[FIRST_SEQUENCE_NUMBER],
                "lastSequenceNumber": envelope.get(LAST_SEQUENCE_NUMBER),
                "aggregate": envelope.get(AGGREGATE),
            },
            error,
        )
