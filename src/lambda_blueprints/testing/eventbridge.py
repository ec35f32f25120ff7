"""Classic EventBridge rules: match events to rules and deliver them to the rules' targets.

:class:`EventBridge` builds events from ``PutEvents`` entries, matches them against the
rules of their event bus (:func:`lambda_blueprints.testing.filtering.matches`) and delivers
them to each target:

* A Lambda target is an asynchronous invocation. Once Lambda accepts it, EventBridge is
  done; the function's own async settings (:meth:`EventBridge.set_async_config`) then
  govern retries of function errors and the on-failure destination.
* An SQS or SNS target receives the (transformed) event through ``send``.
* Delivery failures simulated with :meth:`EventBridge.fail_target` follow the target's
  retry policy; when it gives up, the original event goes to the target's dead-letter queue
  with EventBridge's message attributes, or is dropped without one.

Choices for points AWS leaves open are named: :data:`RETRIABLE_ERROR_CODES`,
:data:`ASYNC_THROTTLE_LIMIT`, :func:`no_retry_delay`, :func:`dead_letter_attributes` and
:func:`render_template`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from lambda_blueprints.testing import _json
from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys
from lambda_blueprints.testing._core import Send as Send
from lambda_blueprints.testing._core import check_range as _check_range
from lambda_blueprints.testing.activity import ActivityLog, FailureRecord, Invoker
from lambda_blueprints.testing.clock import Clock, iso8601
from lambda_blueprints.testing.filtering import loads_preserving_numbers, matches, validate_pattern

# Lambda's asynchronous invocation settings, re-exported from their home.
from lambda_blueprints.testing.lambda_ import ASYNC_EVENT_AGE_RANGE as ASYNC_EVENT_AGE_RANGE
from lambda_blueprints.testing.lambda_ import (
    ASYNC_RETRY_ATTEMPTS_RANGE as ASYNC_RETRY_ATTEMPTS_RANGE,
)
from lambda_blueprints.testing.lambda_ import ASYNC_THROTTLE_LIMIT as ASYNC_THROTTLE_LIMIT
from lambda_blueprints.testing.lambda_ import (
    DEFAULT_ASYNC_EVENT_AGE_SECONDS as DEFAULT_ASYNC_EVENT_AGE_SECONDS,
)
from lambda_blueprints.testing.lambda_ import (
    DEFAULT_ASYNC_RETRY_ATTEMPTS as DEFAULT_ASYNC_RETRY_ATTEMPTS,
)
from lambda_blueprints.testing.lambda_ import AsyncInvocations
from lambda_blueprints.testing.lambda_ import AsyncInvokeConfig as AsyncInvokeConfig
from lambda_blueprints.testing.lambda_ import RetryDelay as RetryDelay
from lambda_blueprints.testing.lambda_ import no_retry_delay as no_retry_delay

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_EVENT_BUS = "default"
#: Targets per rule.
MAX_TARGETS_PER_RULE = 5
#: Entries per ``PutEvents`` call.
MAX_PUT_EVENTS_ENTRIES = 10
#: Entries of an input transformer's ``InputPathsMap``.
MAX_INPUT_PATHS = 100

#: Target retry policy ranges and defaults (``RetryPolicy``).
TARGET_RETRY_ATTEMPTS_RANGE = (0, 185)
TARGET_EVENT_AGE_RANGE = (60, 86_400)

#: The ``ERROR_CODE`` values EventBridge documents for dead-letter messages.
ERROR_CODES = frozenset(
    {
        "CONNECTION_FAILURE",
        "CROSS_ACCOUNT_INGESTION_FAILED",
        "CROSS_REGION_INGESTION_FAILED",
        "ERROR_FROM_TARGET",
        "EVENTS_IN_BATCH_REQUEST_REJECTED",
        "FAILED_TO_ASSUME_ROLE",
        "INTERNAL_ERROR",
        "INVALID_JSON",
        "INVALID_PARAMETER",
        "NO_PERMISSIONS",
        "NO_RESOURCE",
        "RESOURCE_ALREADY_EXISTS",
        "RESOURCE_LIMIT_EXCEEDED",
        "RESOURCE_MODIFICATION_COLLISION",
        "SDK_CLIENT_ERROR",
        "THIRD_ACCOUNT_HOP_DETECTED",
        "THIRD_REGION_HOP_DETECTED",
        "THROTTLING",
        "TIMEOUT",
        "TRANSIENT_ASSUME_ROLE",
        "UNKNOWN",
    }
)
#: UNSPECIFIED: AWS retries HTTP 429 and 5xx responses but does not map its error codes to
#: statuses. The emulator retries throttling (429), internal errors and timeouts (5xx) and
#: transient role assumption failures; every other code goes straight to the DLQ.
RETRIABLE_ERROR_CODES = frozenset(
    {"THROTTLING", "INTERNAL_ERROR", "TIMEOUT", "TRANSIENT_ASSUME_ROLE"}
)

TargetKind = Literal["lambda", "sqs", "sns"]

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_RESERVED_VARIABLE_PREFIX = "aws."


@dataclass
class RuleTarget:
    """One target of a rule (``AWS::Events::Rule`` ``Target``).

    Attributes:
        id: The target id, unique within the rule.
        arn: A Lambda function, SQS queue or SNS topic ARN.
        function_name: The function to invoke, for Lambda targets (defaults to the name in
            a Lambda ``arn``).
        input: Constant JSON text sent instead of the event.
        input_path: A JSONPath (``$.detail``) selecting the part of the event to send.
        input_transformer: ``{"InputPathsMap": {name: path}, "InputTemplate": text}``.
        max_retry_attempts: Retries of a failed delivery (0-185).
        max_event_age_seconds: How long EventBridge keeps retrying (60-86400).
        dead_letter_arn: SQS queue that receives events whose delivery failed.
    """

    id: str
    arn: str
    function_name: str | None = None
    input: str | None = None
    input_path: str | None = None
    input_transformer: Mapping[str, Any] | None = None
    max_retry_attempts: int = 185
    max_event_age_seconds: int = 86_400
    dead_letter_arn: str | None = None


@dataclass
class Rule:
    """A classic EventBridge rule.

    Attributes:
        name: The rule name, unique on its bus.
        event_pattern: The event pattern; None (a scheduled rule) matches no event.
        targets: Where matching events go, at most five.
        enabled: Disabled rules match nothing.
        event_bus: The name of the bus the rule is on.
    """

    name: str
    event_pattern: Mapping[str, Any] | None = None
    targets: list[RuleTarget] = field(default_factory=list)
    enabled: bool = True
    event_bus: str = DEFAULT_EVENT_BUS


@dataclass
class _SimulatedFailure:
    code: str
    message: str
    remaining: int


@dataclass(frozen=True)
class _Delivery:
    """One event on its way to one target."""

    rule: Rule
    target: RuleTarget
    event: dict[str, Any]
    ingested_at: float

    @property
    def event_id(self) -> str:
        return str(self.event["id"])


def dead_letter_attributes(
    *,
    rule_arn: str,
    target_arn: str,
    error_code: str,
    error_message: str,
    exhausted_condition: str | None,
    retries: int,
) -> dict[str, dict[str, str]]:
    """The message attributes of an EventBridge dead-letter message.

    UNSPECIFIED (spec 9.1, row 20): every attribute is a ``String``;
    ``EXHAUSTED_RETRY_CONDITION`` (``MaximumRetryAttempts`` or ``MaximumEventAgeInSeconds``)
    is present only when a retry limit ended delivery; ``RETRY_ATTEMPTS`` counts retries
    made, ``"0"`` for errors sent straight to the queue.
    """
    values = {
        "RULE_ARN": rule_arn,
        "TARGET_ARN": target_arn,
        "ERROR_CODE": error_code,
        "ERROR_MESSAGE": error_message,
        "EXHAUSTED_RETRY_CONDITION": exhausted_condition,
        "RETRY_ATTEMPTS": str(retries),
    }
    return {
        name: {"DataType": "String", "StringValue": value}
        for name, value in values.items()
        if value is not None
    }


class EventBridge:
    """Classic EventBridge rules and target delivery, in process.

    Args:
        invoke: Calls a function synchronously; the async behaviour is emulated here.
        log: Receives every invocation and every failure record.
        clock: Virtual time for event timestamps, retry delays and event ages.
        send: Delivers a message to an SQS queue or SNS topic ARN; needed for SQS and SNS
            targets, dead-letter queues and on-failure destinations.
        account: Account id of built events and ARNs.
        region: Region of built events and ARNs.
        retry_delay: Delay before EventBridge's retry ``n`` of a failed delivery.
        async_retry_delay: Delay before Lambda's async retry ``n`` of a function error.
        async_invocations: Lambda's asynchronous invocation to hand Lambda targets to
            (shared with other callers, with its own retry delay); by default one of this
            EventBridge's own, made of ``invoke``, ``log``, ``clock``, ``send`` and
            ``async_retry_delay``.
    """

    def __init__(
        self,
        *,
        invoke: Invoker,
        log: ActivityLog,
        clock: Clock,
        send: Send | None = None,
        account: str = DEFAULT_ACCOUNT,
        region: str = DEFAULT_REGION,
        retry_delay: RetryDelay = no_retry_delay,
        async_retry_delay: RetryDelay = no_retry_delay,
        async_invocations: AsyncInvocations | None = None,
    ) -> None:
        self._invoke = invoke
        self._log = log
        self._clock = clock
        self._send = send
        self._account = account
        self._region = region
        self._retry_delay = retry_delay
        self._rules: dict[tuple[str, str], Rule] = {}
        self._async = async_invocations or AsyncInvocations(
            invoke=invoke,
            log=log,
            clock=clock,
            send=self._deliver_message,
            retry_delay=async_retry_delay,
        )
        self._failures: dict[str, list[_SimulatedFailure]] = {}

    # ----------------------------------------------------------------- configuration

    @property
    def rules(self) -> list[Rule]:
        """The rules, in the order they were added."""
        return list(self._rules.values())

    def rule_arn(self, rule: Rule) -> str:
        """The ARN of ``rule`` (custom buses put their name before the rule's)."""
        bus = "" if rule.event_bus == DEFAULT_EVENT_BUS else f"{rule.event_bus}/"
        return f"arn:aws:events:{self._region}:{self._account}:rule/{bus}{rule.name}"

    def add_rule(self, rule: Rule) -> None:
        """Add ``rule``, or replace the rule of that name on its bus (``PutRule``).

        Raises:
            FilterError: The event pattern is invalid.
            ValueError: A target setting is out of range or inconsistent.
        """
        if not rule.name:
            raise ValueError("a rule needs a name")
        if rule.event_pattern is not None:
            validate_pattern(rule.event_pattern, for_event_source_mapping=False)
        if len(rule.targets) > MAX_TARGETS_PER_RULE:
            raise ValueError(
                f"rule {rule.name!r} has {len(rule.targets)} targets; "
                f"at most {MAX_TARGETS_PER_RULE}"
            )
        ids = [target.id for target in rule.targets]
        if len(set(ids)) != len(ids):
            raise ValueError(f"rule {rule.name!r} has duplicate target ids: {ids}")
        for target in rule.targets:
            self._check_target(target)
        self._rules[(rule.event_bus, rule.name)] = rule

    def set_async_config(
        self,
        function_name: str,
        maximum_retry_attempts: int = DEFAULT_ASYNC_RETRY_ATTEMPTS,
        maximum_event_age_seconds: int = DEFAULT_ASYNC_EVENT_AGE_SECONDS,
        on_failure_arn: str | None = None,
    ) -> None:
        """Configure a function's asynchronous invocations (``PutFunctionEventInvokeConfig``).

        Raises:
            ValueError: A setting is out of range, or an on-failure destination is given
                without ``send``.
        """
        _check_range("MaximumRetryAttempts", maximum_retry_attempts, ASYNC_RETRY_ATTEMPTS_RANGE)
        _check_range("MaximumEventAgeInSeconds", maximum_event_age_seconds, ASYNC_EVENT_AGE_RANGE)
        if on_failure_arn is not None:
            self._require_send(f"the on-failure destination of {function_name!r}")
        self._async.configs[function_name] = AsyncInvokeConfig(
            maximum_retry_attempts, maximum_event_age_seconds, on_failure_arn
        )

    def fail_target(
        self,
        target_arn: str,
        error_code: str = "THROTTLING",
        times: int = 1,
        error_message: str | None = None,
    ) -> None:
        """Make the next ``times`` delivery attempts to ``target_arn`` fail with ``error_code``.

        Raises:
            ValueError: Unknown error code or ``times`` < 1.
        """
        if error_code not in ERROR_CODES:
            raise ValueError(f"unknown EventBridge error code {error_code!r}")
        if times < 1:
            raise ValueError(f"times={times} must be at least 1")
        message = error_message or f"Simulated {error_code} delivering to {target_arn}"
        self._failures.setdefault(target_arn, []).append(
            _SimulatedFailure(error_code, message, times)
        )

    def _check_target(self, target: RuleTarget) -> None:
        where = f"target {target.id!r}"
        _check_range(
            f"{where} MaximumRetryAttempts", target.max_retry_attempts, TARGET_RETRY_ATTEMPTS_RANGE
        )
        _check_range(
            f"{where} MaximumEventAgeInSeconds",
            target.max_event_age_seconds,
            TARGET_EVENT_AGE_RANGE,
        )
        _check_input(target, where)
        if _target_kind(target) != "lambda":
            self._require_send(f"{where} ({target.arn})")
        if target.dead_letter_arn is not None:
            self._require_send(f"the dead-letter queue of {where}")

    def _require_send(self, what: str) -> None:
        if self._send is None:
            raise ValueError(f"{what} needs EventBridge(send=...) to deliver messages")

    # ----------------------------------------------------------------- events

    def put_events(self, entries: Sequence[Mapping[str, Any]]) -> list[str]:
        """Put events on their buses and deliver them to every matching rule's targets.

        Args:
            entries: ``PutEvents`` entries (``Source``, ``DetailType``, ``Detail`` as JSON
                text, optional ``Resources``, ``EventBusName``, ``Time``) or complete events
                (mappings with ``detail-type``; missing envelope fields are filled in).

        Returns:
            The event ids, in entry order.

        Raises:
            ValueError: Too many entries or an entry without its required fields. No event
                is delivered then.
        """
        if len(entries) > MAX_PUT_EVENTS_ENTRIES:
            raise ValueError(
                f"{len(entries)} entries; PutEvents takes at most {MAX_PUT_EVENTS_ENTRIES}"
            )
        built = [self._build(entry) for entry in entries]
        ingested_at = self._clock.now()
        for bus, event, document in built:
            self._route(bus, event, document, ingested_at)
        return [str(event["id"]) for _, event, _ in built]

    def _build(self, entry: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """Return the bus, the event as delivered and the event as matched."""
        bus = _bus_name(entry.get("EventBusName", DEFAULT_EVENT_BUS))
        if "detail-type" in entry:
            event = {key: value for key, value in entry.items() if key != "EventBusName"}
            if "source" not in event:
                raise ValueError(f"event {entry!r} has no source")
            # The same bound as a Detail given as text, before anything walks the event.
            _json.check_depth(event.get("detail"), "the event's detail")
            event = self._envelope(event)
            return bus, event, event
        missing = [key for key in ("Source", "DetailType", "Detail") if key not in entry]
        if missing:
            raise ValueError(f"PutEvents entry {entry!r} lacks {', '.join(missing)}")
        detail_text = _detail_text(entry["Detail"])
        event = self._envelope(
            {
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "time": _event_time(entry.get("Time")),
                "resources": list(entry.get("Resources", [])),
                "detail": json.loads(detail_text),
            }
        )
        # Match on the detail as written, so plain number equality sees its spelling.
        return bus, event, {**event, "detail": loads_preserving_numbers(detail_text)}

    def _envelope(self, event: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "version": event.get("version", "0"),
            "id": event.get("id") or str(uuid.uuid4()),
            "detail-type": event["detail-type"],
            "source": event["source"],
            "account": event.get("account", self._account),
            "time": event.get("time") or self._clock.iso(milliseconds=False),
            "region": event.get("region", self._region),
            "resources": list(event.get("resources", [])),
            "detail": event.get("detail", {}),
            **{key: value for key, value in event.items() if key not in _ENVELOPE_KEYS},
        }

    def _route(
        self, bus: str, event: dict[str, Any], document: Mapping[str, Any], ingested_at: float
    ) -> None:
        for rule in self.rules:
            if rule.event_bus != bus or not rule.enabled or rule.event_pattern is None:
                continue
            if matches(rule.event_pattern, document):
                for target in rule.targets:
                    self._deliver(_Delivery(rule, target, event, ingested_at))

    # ----------------------------------------------------------------- delivery

    def _deliver(self, delivery: _Delivery) -> None:
        """Hand the event to the target, retrying simulated failures per its retry policy."""
        target = delivery.target
        retries = 0
        while (failure := self._next_failure(target.arn)) is not None:
            code, message = failure
            if code not in RETRIABLE_ERROR_CODES:
                self._dead_letter(delivery, code, message, None, retries)
                return
            if retries >= target.max_retry_attempts:
                self._dead_letter(delivery, code, message, "MaximumRetryAttempts", retries)
                return
            self._clock.advance(self._retry_delay(retries + 1))
            if self._clock.now() - delivery.ingested_at > target.max_event_age_seconds:
                self._dead_letter(delivery, code, message, "MaximumEventAgeInSeconds", retries)
                return
            retries += 1
        self._hand_over(delivery)

    def _next_failure(self, target_arn: str) -> tuple[str, str] | None:
        pending = self._failures.get(target_arn)
        if not pending:
            return None
        failure = pending[0]
        failure.remaining -= 1
        if failure.remaining == 0:
            pending.pop(0)
        return failure.code, failure.message

    def _hand_over(self, delivery: _Delivery) -> None:
        target = delivery.target
        text = self._render_input(delivery)
        if _target_kind(target) == "lambda":
            self._invoke_async(delivery, _payload(text))
        else:
            self._deliver_message(target.arn, text, {})

    def _render_input(self, delivery: _Delivery) -> str:
        """The text the target receives: the event, or what the target's input settings make."""
        target, event = delivery.target, delivery.event
        if target.input is not None:
            return target.input
        if target.input_path is not None:
            return json.dumps(_select(event, _parse_path(target.input_path)))
        if target.input_transformer is not None:
            variables = self._predefined_variables(delivery)
            for name, path in (target.input_transformer.get("InputPathsMap") or {}).items():
                variables[name] = _select(event, _parse_path(path))
            return render_template(str(target.input_transformer["InputTemplate"]), variables)
        return json.dumps(event)

    def _predefined_variables(self, delivery: _Delivery) -> dict[str, Any]:
        return {
            "aws.events.rule-arn": self.rule_arn(delivery.rule),
            "aws.events.rule-name": delivery.rule.name,
            "aws.events.event.ingestion-time": iso8601(delivery.ingested_at, milliseconds=False),
            "aws.events.event": delivery.event,
            "aws.events.event.json": delivery.event,
        }

    def _dead_letter(
        self,
        delivery: _Delivery,
        code: str,
        message: str,
        exhausted_condition: str | None,
        retries: int,
    ) -> None:
        """Send the original event to the target's DLQ; without one the event is dropped."""
        queue = delivery.target.dead_letter_arn
        if queue is None:
            return
        attributes = dead_letter_attributes(
            rule_arn=self.rule_arn(delivery.rule),
            target_arn=delivery.target.arn,
            error_code=code,
            error_message=message,
            exhausted_condition=exhausted_condition,
            retries=retries,
        )
        self._deliver_message(queue, json.dumps(delivery.event), attributes)
        self._record_failure(delivery, queue, exhausted_condition or code, delivery.event)

    # ----------------------------------------------------------------- Lambda async

    def _invoke_async(self, delivery: _Delivery, payload: Any) -> None:
        """Lambda's asynchronous invocation: retry function errors, then report the failure."""
        function = _function_name(delivery.target)
        self._async.invoke(
            function,
            self._function_arn(delivery.target, function),
            payload,
            source="eventbridge",
            mapping_id=delivery.rule.name,
            item=delivery.event_id,
        )

    def _function_arn(self, target: RuleTarget, function: str) -> str:
        arn = (
            target.arn
            if target.arn.startswith("arn:aws:lambda:")
            else f"arn:aws:lambda:{self._region}:{self._account}:function:{function}"
        )
        # An unqualified ARN runs $LATEST, which the invocation record names.
        return arn if arn.count(":") >= 7 else f"{arn}:$LATEST"

    # ----------------------------------------------------------------- messages

    def _deliver_message(
        self, arn: str, body: str, attributes: Mapping[str, Mapping[str, str]]
    ) -> None:
        if self._send is None:
            raise ValueError(f"cannot deliver to {arn}: EventBridge has no send")
        self._send(arn, body, attributes)

    def _record_failure(
        self, delivery: _Delivery, destination: str, condition: str, body: Any
    ) -> None:
        self._log.add(
            FailureRecord(
                source="eventbridge",
                mapping_id=delivery.rule.name,
                destination=destination,
                condition=condition,
                body=body,
                items=(delivery.event_id,),
                at=self._clock.now(),
            )
        )


_ENVELOPE_KEYS = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
)


def _arn_service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 and parts[0] == "arn" else ""


def _target_kind(target: RuleTarget) -> TargetKind:
    service = _arn_service(target.arn)
    if target.function_name is not None or service == "lambda":
        return "lambda"
    if service in ("sqs", "sns"):
        return "sqs" if service == "sqs" else "sns"
    raise ValueError(f"target {target.id!r}: {target.arn!r} is not a Lambda, SQS or SNS ARN")


def _function_name(target: RuleTarget) -> str:
    if target.function_name is not None:
        return target.function_name
    # arn:aws:lambda:region:account:function:name[:qualifier]
    return target.arn.split(":")[6]


def _bus_name(name_or_arn: Any) -> str:
    text = str(name_or_arn or DEFAULT_EVENT_BUS)
    return text.split("event-bus/", 1)[1] if text.startswith("arn:") else text


def _detail_text(detail: Any) -> str:
    try:
        text = json.dumps(detail) if isinstance(detail, Mapping) else detail
    except RecursionError as error:
        raise ValueError("Detail nests too deeply to serialize as JSON") from error
    if not isinstance(text, str):
        raise ValueError(f"Detail must be JSON text, not {detail!r}")
    try:
        # Too deep to parse is malformed, as for any Detail EventBridge cannot read.
        parsed = _json.loads(text)
    except ValueError as error:
        raise ValueError(f"Detail is not valid JSON ({error}): {text[:200]!r}") from error
    if not isinstance(parsed, dict):
        raise ValueError(f"Detail must be a JSON object: {text!r}")
    return text


def _event_time(when: Any) -> str | None:
    """An entry's ``Time`` (datetime, epoch seconds or ISO text) as the event spells it."""
    if when is None or isinstance(when, str):
        return when
    if isinstance(when, datetime):
        moment = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
        return iso8601(moment.timestamp(), milliseconds=False)
    if isinstance(when, int | float) and not isinstance(when, bool):
        return iso8601(float(when), milliseconds=False)
    raise ValueError(f"Time must be a datetime, epoch seconds or ISO text, not {when!r}")


def _payload(text: str) -> Any:
    """What a Lambda target receives: the parsed JSON, or the text as a JSON string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


# --------------------------------------------------------------------------- input paths


def _parse_path(path: str) -> tuple[str | int, ...]:
    """Parse the JSONPath subset targets use: ``$``, ``.name``, ``['name']`` and ``[0]``.

    Raises:
        ValueError: Anything else.
    """
    if not isinstance(path, str) or not path.startswith("$"):
        raise ValueError(f"input path {path!r} must start with '$'")
    steps: list[str | int] = []
    position = 1
    while position < len(path):
        step = _PATH_STEP.match(path, position)
        if step is None:
            raise ValueError(f"input path {path!r}: cannot read {path[position:]!r}")
        name, index, single, double = step.groups()
        steps.append(int(index) if index is not None else (name or single or double or ""))
        position = step.end()
    return tuple(steps)


def _select(document: Any, steps: Sequence[str | int]) -> Any:
    """The value at ``steps`` in ``document``, or None where the path leads nowhere."""
    for step in steps:
        if isinstance(step, int):
            found = isinstance(document, list) and step < len(document)
        else:
            found = isinstance(document, Mapping) and step in document
        if not found:
            return None
        document = document[step]
    return document


def _check_input(target: RuleTarget, where: str) -> None:
    transforms = [target.input, target.input_path, target.input_transformer]
    if sum(t is not None for t in transforms) > 1:
        raise ValueError(f"{where}: input, input_path and input_transformer are exclusive")
    if target.input is not None:
        try:
            json.loads(target.input)
        except ValueError as error:
            raise ValueError(f"{where}: input is not valid JSON") from error
    if target.input_path is not None:
        _parse_path(target.input_path)
    if target.input_transformer is not None:
        _check_transformer(target.input_transformer, where)


def _check_transformer(transformer: Mapping[str, Any], where: str) -> None:
    template = transformer.get("InputTemplate")
    if not isinstance(template, str):
        raise ValueError(f"{where}: input_transformer needs an InputTemplate string")
    paths = transformer.get("InputPathsMap") or {}
    if not isinstance(paths, Mapping) or len(paths) > MAX_INPUT_PATHS:
        raise ValueError(f"{where}: InputPathsMap must map at most {MAX_INPUT_PATHS} names")
    for name, path in paths.items():
        if not _PLACEHOLDER.fullmatch(f"<{name}>"):
            raise ValueError(f"{where}: {name!r} is not a valid InputPathsMap name")
        if name.startswith(_RESERVED_VARIABLE_PREFIX):
            raise ValueError(f"{where}: {name!r} uses the reserved prefix 'aws.'")
        _parse_path(path)


def render_template(template: str, variables: Mapping[str, Any]) -> str:
    """Fill an ``InputTemplate``'s ``<name>`` placeholders from ``variables``.

    In a JSON template a placeholder outside quotes becomes the value as JSON (a missing
    value is ``null``). UNSPECIFIED: inside a string it becomes the value's text escaped
    for JSON, so the result stays valid JSON; in a template that is not JSON every value
    is inserted as plain text. Placeholders without a variable are left as written.

    Args:
        template: The ``InputTemplate``.
        variables: Values by placeholder name.

    Returns:
        The rendered input.
    """
    is_json = _is_json(_PLACEHOLDER.sub("null", template))
    out: list[str] = []
    in_string = False
    position = 0
    while position < len(template):
        char = template[position]
        placeholder = _PLACEHOLDER.match(template, position) if char == "<" else None
        if placeholder is not None and placeholder.group(1) in variables:
            value = variables[placeholder.group(1)]
            out.append(_placeholder_text(value, json_context=is_json, in_string=in_string))
            position = placeholder.end()
            continue
        if is_json and in_string and char == "\\":
            out.append(template[position : position + 2])
            position += 2
            continue
        if is_json and char == '"':
            in_string = not in_string
        out.append(char)
        position += 1
    return "".join(out)


def _placeholder_text(value: Any, *, json_context: bool, in_string: bool) -> str:
    if json_context and not in_string:
        return json.dumps(value)
    text = value if isinstance(value, str) else "" if value is None else json.dumps(value)
    return json.dumps(text)[1:-1] if json_context else text


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@deploys("AWS::Events::Rule")
def _rule(stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
    name = props.get("Name") or stack.name(logical_id, 64)
    targets = []
    for target in props.get("Targets", []):
        retry = target.get("RetryPolicy", {})
        targets.append(
            RuleTarget(
                id=target["Id"],
                arn=target["Arn"],
                input=target.get("Input"),
                input_path=target.get("InputPath"),
                input_transformer=target.get("InputTransformer"),
                max_retry_attempts=int(retry.get("MaximumRetryAttempts", 185)),
                max_event_age_seconds=int(retry.get("MaximumEventAgeInSeconds", 86_400)),
                dead_letter_arn=target.get("DeadLetterConfig", {}).get("Arn"),
            )
        )
    bus = str(props.get("EventBusName") or "default").rsplit("/", 1)[-1]
    stack.service(EventBridge).add_rule(
        Rule(
            name=name,
            event_pattern=props.get("EventPattern"),
            targets=targets,
            enabled=props.get("State", "ENABLED") == "ENABLED",
            event_bus=bus,
        )
    )
    arn = stack.arn("events", f"rule/{name}")
    return Resource(logical_id, "AWS::Events::Rule", "", name, {"Arn": arn})
