"""The tumbling-window state protocol of Lambda stream mappings, implemented once.

A stream mapping with ``TumblingWindowInSeconds`` invokes the function several times per
window: with ``state: {}`` first, then with whatever the previous invocation returned as
``state``, and finally once with ``isFinalInvokeForWindow: true`` and no records. A state
over 1 MB ends the window early: one invocation with ``isWindowTerminatedEarly: true``
carries that state, and the window goes on with an empty one. A response without
``state`` fails the invocation.

:func:`handle_window_event` runs that protocol around an :class:`Aggregation`, so handler
code is a pure reducer (``add``) plus a writer (``emit``):

* records are added in order; a record that can never be added (``PoisonRecordError``)
  goes to ``on_poison`` and the window goes on without it;
* any other error stops the batch at that record: the response returns the state of the
  records before it and reports it in ``batchItemFailures``, so Lambda retries from there
  with exactly that state (the mapping needs ``ReportBatchItemFailures``);
* ``emit`` runs on the final invocation (if the window saw any record) and on an
  early-termination invocation, with a part id that is the same on every retry of that
  invocation: writes keyed by window and part are idempotent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from .failures import PoisonRecordError

State = TypeVar("State")


@dataclass(frozen=True)
class Window:
    """The window an aggregate belongs to.

    Attributes:
        start: ``window.start`` as Lambda sends it (``YYYY-MM-DDTHH:MM:SSZ``).
        end: ``window.end``.
        shard_id: The shard; aggregates are per shard.
        event_source_arn: The stream.
        part: ``final`` for the window's final invocation, ``early-<digest>`` for a part
            emitted because the state grew over 1 MB (the digest of that state, so a retry
            writes the same part).
    """

    start: str
    end: str
    shard_id: str
    event_source_arn: str
    part: str

    @property
    def terminated_early(self) -> bool:
        """True for a part emitted when the window ended early."""
        return self.part != "final"


class Aggregation(Protocol, Generic[State]):
    """What a window aggregator provides: an empty state, a reducer and a writer.

    States must be JSON-compatible (Lambda carries them between invocations as JSON).
    """

    def initial(self) -> State:
        """The state of a window before its first record."""
        ...

    def add(self, state: State, record: Mapping[str, Any]) -> State:
        """Add one stream record (as Lambda delivers it) to the state.

        Raises:
            PoisonRecordError: When the record can never be added.
        """
        ...

    def emit(self, state: State, window: Window) -> None:
        """Persist the aggregate of a window (or of one early-terminated part of it)."""
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
    on_poison: Callable[[Mapping[str, Any], PoisonRecordError], None] | None = None,
) -> dict[str, Any]:
    """Run one tumbling-window invocation; return the response Lambda expects.

    Without ``on_poison``, a poison record is treated like any other failing record: the
    batch stops there and Lambda retries it until its retry limit sends it to the mapping's
    on-failure destination.

    Raises:
        Exception: Whatever ``emit`` raises: the final invocation is then retried.
    """
    state = event.get("state") or aggregation.initial()
    if event.get("isFinalInvokeForWindow") or event.get("isWindowTerminatedEarly"):
        early = bool(event.get("isWindowTerminatedEarly"))
        if event.get("state"):
            aggregation.emit(state, _window(event, _part(state, early=early)))
        # The final response needs no state; an empty one keeps every reader of it happy.
        return {"state": {}}
    for record in event.get("Records", []):
        try:
            state = _add(aggregation, state, record, on_poison)
        except Exception:
            # Retryable (including a failure to park a poison record): the state so far
            # covers the records before this one; Lambda commits them and retries from
            # this record with this state.
            return {
                "state": state,
                "batchItemFailures": [{"itemIdentifier": sequence_number(record)}],
            }
    return {"state": state, "batchItemFailures": []}


def _add(
    aggregation: Aggregation[Any],
    state: Any,
    record: Mapping[str, Any],
    on_poison: Callable[[Mapping[str, Any], PoisonRecordError], None] | None,
) -> Any:
    try:
        return aggregation.add(state, record)
    except PoisonRecordError as error:
        if on_poison is None:
            raise
        on_poison(record, error)
        return state


def _part(state: Any, *, early: bool) -> str:
    if not early:
        return "final"
    encoded = json.dumps(state, sort_keys=True, separators=(",", ":")).encode()
    return "early-" + hashlib.sha256(encoded).hexdigest()[:16]


def _window(event: Mapping[str, Any], part: str) -> Window:
    window = event.get("window") or {}
    return Window(
        start=str(window.get("start", "")),
        end=str(window.get("end", "")),
        shard_id=str(event.get("shardId", "")),
        event_source_arn=str(event.get("eventSourceARN", "")),
        part=part,
    )
