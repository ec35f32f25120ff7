"""What happened in the local cloud: invocations, checkpoints, failure records.

Every delivery mechanism (stream mappings, SQS mappings, EventBridge rules) writes to one
:class:`ActivityLog`, which tests query.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

Outcome = Literal["success", "partial", "failure", "throttled"]


@dataclass(frozen=True)
class InvokeResult:
    """The result of one synchronous invocation of a function.

    Attributes:
        request_id: The invocation's request id.
        payload: What the handler returned (JSON-compatible), None when it raised.
        function_error: None on success, ``"Unhandled"`` when the handler raised or timed
            out (Lambda's ``X-Amz-Function-Error``).
        error_type: Exception class name, or ``"Sandbox.Timedout"`` for a timeout.
        error_message: The error message.
        duration_ms: How long the handler ran.
    """

    request_id: str
    payload: Any = None
    function_error: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the function returned (whatever it returned)."""
        return self.function_error is None


class InvocationThrottled(Exception):  # noqa: N818 - named after Lambda's error
    """Raised by an invoker when Lambda could not invoke the function (throttling).

    The batch never reached the function: stream mappings retry it without counting the
    attempt against ``MaximumRetryAttempts``.
    """


class Invoker(Protocol):
    """Calls a function synchronously (``RequestResponse``) and reports the result."""

    def __call__(self, function_name: str, event: dict[str, Any], /) -> InvokeResult:
        """Invoke ``function_name`` with ``event``; never raises for a function error."""
        ...


#: Serialized texts of the last few payloads the Lambda runtime encoded, by identity, so
#: that logging an event or a result does not encode it a second time.
_TEXTS: dict[int, tuple[Any, str]] = {}
_TEXTS_KEPT = 8


def remember_text(value: Any, text: str) -> None:
    """Note that ``value`` (not to be changed afterwards) serializes to JSON ``text``."""
    if len(_TEXTS) >= _TEXTS_KEPT:
        del _TEXTS[next(iter(_TEXTS))]
    _TEXTS[id(value)] = (value, text)


def _text_of(value: Any) -> str:
    known = _TEXTS.get(id(value))
    if known is not None and known[0] is value:
        return known[1]
    return json.dumps(value, separators=(",", ":"))


_NO_PAYLOAD = b""


class Invocation:
    """One invocation made by a delivery mechanism.

    The log keeps the event and the result's payload as compressed JSON, so a long run
    (hundreds of thousands of records) does not hold every record as Python objects:
    reading ``event`` or ``result`` decodes them, giving a fresh copy each time. An event
    that is not JSON-serializable is kept as it is.

    Attributes:
        source: ``kinesis``, ``dynamodb``, ``sqs``, ``eventbridge``, ``iot``, ``sns``,
            ``apigateway``, ``firehose`` or ``direct`` (``LocalCloud.invoke``).
        mapping_id: The event source mapping UUID, the rule name for EventBridge and IoT,
            the subscription ARN for SNS, the API id for API Gateway.
        function: The function name.
        items: Identifiers of the delivered items, in order: sequence numbers for
            streams, message ids for SQS, event ids for EventBridge.
        event: The event as sent.
        result: The invocation result.
        outcome: How the delivery mechanism judged the result.
        attempt: 0 for the first invocation of a batch, then 1, 2, ... for retries.
        shard_id: The shard, for streams.
        lane: The parallelization lane, for streams (0 without parallelization).
        window: ``(start, end)`` of the tumbling window, if any.
        is_final_invoke_for_window: The window's final invocation.
        is_window_terminated_early: The early-termination invocation of a window.
        at: Virtual time of the invocation.
    """

    __slots__ = (
        "_event",
        "_payload",
        "_result",
        "at",
        "attempt",
        "function",
        "is_final_invoke_for_window",
        "is_window_terminated_early",
        "items",
        "lane",
        "mapping_id",
        "outcome",
        "shard_id",
        "source",
        "window",
    )

    source: str
    mapping_id: str
    function: str
    items: tuple[str, ...]
    outcome: Outcome
    attempt: int
    shard_id: str | None
    lane: int
    window: tuple[str, str] | None
    is_final_invoke_for_window: bool
    is_window_terminated_early: bool
    at: float
    _event: Any
    _result: InvokeResult
    _payload: Any

    def __init__(
        self,
        source: str,
        mapping_id: str,
        function: str,
        items: tuple[str, ...],
        event: dict[str, Any],
        result: InvokeResult,
        outcome: Outcome,
        attempt: int = 0,
        shard_id: str | None = None,
        lane: int = 0,
        window: tuple[str, str] | None = None,
        is_final_invoke_for_window: bool = False,
        is_window_terminated_early: bool = False,
        at: float = 0.0,
    ) -> None:
        put = object.__setattr__
        put(self, "source", source)
        put(self, "mapping_id", mapping_id)
        put(self, "function", function)
        put(self, "items", items)
        put(self, "outcome", outcome)
        put(self, "attempt", attempt)
        put(self, "shard_id", shard_id)
        put(self, "lane", lane)
        put(self, "window", window)
        put(self, "is_final_invoke_for_window", is_final_invoke_for_window)
        put(self, "is_window_terminated_early", is_window_terminated_early)
        put(self, "at", at)
        put(self, "_event", _pack(event))
        if result.payload is None:
            put(self, "_result", result)
            put(self, "_payload", _NO_PAYLOAD)
        else:
            put(self, "_result", dataclasses.replace(result, payload=None))
            put(self, "_payload", _pack(result.payload))

    @property
    def event(self) -> dict[str, Any]:
        """The event as sent (a fresh copy on every read)."""
        return cast("dict[str, Any]", _unpack(self._event))

    @property
    def result(self) -> InvokeResult:
        """The invocation result (its payload a fresh copy on every read)."""
        if self._payload is _NO_PAYLOAD:
            return self._result
        return dataclasses.replace(self._result, payload=_unpack(self._payload))

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.source,
            self.mapping_id,
            self.function,
            self.items,
            self.event,
            self.result,
            self.outcome,
            self.attempt,
            self.shard_id,
            self.lane,
            self.window,
            self.is_final_invoke_for_window,
            self.is_window_terminated_early,
            self.at,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Invocation):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Invocation(source={self.source!r}, mapping_id={self.mapping_id!r}, "
            f"function={self.function!r}, items={self.items!r}, outcome={self.outcome!r}, "
            f"attempt={self.attempt!r}, shard_id={self.shard_id!r}, at={self.at!r})"
        )


class _Packed(bytes):
    """Compressed JSON of a logged value."""


def _pack(value: Any) -> Any:
    try:
        text = _text_of(value)
    except (TypeError, ValueError):
        return value  # not JSON: kept as it is
    return _Packed(zlib.compress(text.encode(), 1))


def _unpack(stored: Any) -> Any:
    if isinstance(stored, _Packed):
        return json.loads(zlib.decompress(stored))
    return stored


@dataclass(frozen=True)
class Checkpoint:
    """A stream position committed by a mapping: every item up to ``sequence_number`` is done."""

    mapping_id: str
    shard_id: str
    lane: int
    sequence_number: str
    at: float = 0.0


@dataclass(frozen=True)
class FailureRecord:
    """A record sent to a failure destination (on-failure destination or dead-letter queue).

    Attributes:
        source: ``kinesis``, ``dynamodb``, ``sqs``, ``eventbridge``, ``iot`` or ``sns``.
        mapping_id: The mapping UUID, rule name or subscription ARN.
        destination: ARN of the queue, topic or bucket that received it.
        condition: Why: ``RetryAttemptsExhausted``, ``RecordAgeExceeded``,
            ``maxReceiveCount``, ``MaximumRetryAttempts``, ``MaximumEventAgeInSeconds``, an
            EventBridge error code, or for SNS deliveries that never reached the function
            ``TooManyRequestsException`` or ``ResourceNotFoundException``.
        body: The message body as sent (parsed JSON when it is JSON).
        items: Identifiers of the items it covers.
        at: Virtual time.
    """

    source: str
    mapping_id: str
    destination: str
    condition: str
    body: Any
    items: tuple[str, ...] = ()
    at: float = 0.0


Entry = Invocation | Checkpoint | FailureRecord


@dataclass
class ActivityLog:
    """Everything the local cloud delivered, in order; query it in tests."""

    entries: list[Entry] = field(default_factory=list)
    listeners: list[Callable[[Entry], None]] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        """Append an entry and tell the listeners (progress displays, tracing)."""
        self.entries.append(entry)
        for listener in self.listeners:
            listener(entry)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def invocations(
        self, *, function: str | None = None, mapping_id: str | None = None
    ) -> list[Invocation]:
        """Invocations, optionally of one function or one mapping."""
        return [
            e
            for e in self.entries
            if isinstance(e, Invocation)
            and (function is None or e.function == function)
            and (mapping_id is None or e.mapping_id == mapping_id)
        ]

    def checkpoints(self, *, mapping_id: str | None = None) -> list[Checkpoint]:
        """Committed stream positions, optionally of one mapping."""
        return [
            e
            for e in self.entries
            if isinstance(e, Checkpoint) and (mapping_id is None or e.mapping_id == mapping_id)
        ]

    def failures(self, *, mapping_id: str | None = None) -> list[FailureRecord]:
        """Records sent to failure destinations, optionally of one mapping."""
        return [
            e
            for e in self.entries
            if isinstance(e, FailureRecord) and (mapping_id is None or e.mapping_id == mapping_id)
        ]

    def clear(self) -> None:
        """Forget everything logged so far."""
        self.entries.clear()
