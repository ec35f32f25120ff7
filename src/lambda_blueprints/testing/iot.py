"""AWS IoT Core topic rules: publish a message, match rules, run their actions.

:class:`IotCore` is the message broker's rules engine of the local cloud. A message
published with :meth:`IotCore.publish` (``LocalCloud.iot_publish``) goes to every enabled
rule whose ``FROM`` topic filter matches its topic (MQTT ``+`` and ``#``; filters that
start with a wildcard never match ``$`` topics). A payload larger than the broker's 128 KB
(:data:`MAX_MESSAGE_BYTES`) is refused with :class:`MessageTooLargeError` and runs no rule.
For each rule whose ``WHERE`` holds, the ``SELECT`` result goes to every action of the rule,
in order:

* ``Kinesis``: ``PutRecord`` to ``StreamName``; ``PartitionKey`` is a substitution
  template, a new UUID only when the parameter is absent. A key that renders empty (a
  template of a missing field) or longer than 256 characters fails the action, as
  ``PutRecord`` rejects it, and the error action runs.
* ``Sqs``: ``SendMessage`` to ``QueueUrl``, the body base64-encoded when ``UseBase64``.
* ``Lambda``: an asynchronous invocation of ``FunctionArn`` with the result as event; the
  function's ``EventInvokeConfig`` (retries, on-failure destination) applies as it does
  to EventBridge targets. A function error is Lambda's to retry, not a failed action.
* ``S3``: ``PutObject`` to ``BucketName`` with the ``Key`` template.
* ``Republish``: publishes the result again on the ``Topic`` template (a result over the
  payload limit fails the action).
* ``Firehose``: one record (the result plus ``Separator``) through the local cloud's
  ``put_firehose_records``.

When actions fail (a missing stream, queue, bucket or function, or a failure injected with
:meth:`IotFaults.fail`), the rule's ``ErrorAction`` runs once with AWS's error message
(``ruleName``, ``topic``, ``cloudwatchTraceId``, ``clientId``, ``base64OriginalPayload``
and one ``failures`` entry per failed action). Every rule execution is an
:class:`IotRuleRun` in :attr:`IotCore.runs`; Lambda invocations are logged with source
``iot`` and error messages delivered by an error action as failure records.

The SQL subset, parsed at deploy time: ``SELECT *`` or a list of field paths (``a.b``),
literals, comparisons and functions, each with an optional ``AS`` alias (required for
anything but a path), ``FROM '<topic filter>'`` and an optional ``WHERE`` with ``=``,
``<>``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` over fields, string, number and boolean
literals, combined with ``AND``, ``OR``, ``NOT`` and parentheses. The functions are
``topic()``, ``topic(n)`` (1-based segment), ``timestamp()`` (milliseconds on the
local clock), ``newuuid()`` and ``clientid()``. A missing field is *undefined*: a
comparison with it is not true, and a ``SELECT`` leaves it out. Values of different types
never compare equal nor ordered. Substitution templates (``${...}``) in action parameters
take the same expressions, evaluated on the original message. Anything else raises
``NotImplementedError`` at deploy time, naming the rule and the SQL. UNSPECIFIED: AWS does
not document what an undefined value renders to in a template; the local engine renders it
as an empty string.

Left out: other SQL functions, operators and clauses (``SET``, ``CASE``, arithmetic,
array indexes, ``get_*`` lookups), the differences between SQL versions (nested paths
select as SQL version 2016-03-23 does, keyed by their last name), Basic Ingest, retained
messages and subscriptions, rule actions other than the six above, IAM roles (never
checked), and action batching. A non-JSON payload (or one nested too deeply to parse, see
:mod:`lambda_blueprints.testing._json`) matches only ``SELECT *`` (it passes through as
bytes) and cannot go to a Lambda action. Messages that handlers publish with
boto3's ``iot-data`` client reach moto's IoT data plane (no endpoint needed); they appear
in :meth:`IotCore.messages` but do not run rules.
"""

from __future__ import annotations

import base64
import json
import os
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lambda_blueprints._mqtt import topic_matches, validate_topic_filter, validate_topic_name
from lambda_blueprints.testing import _json
from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys
from lambda_blueprints.testing.activity import FailureRecord

if TYPE_CHECKING:
    from lambda_blueprints.testing._core import ServiceContext
    from lambda_blueprints.testing.lambda_ import AsyncInvocations

#: ``put_firehose_records(delivery_stream_name, records)`` of the local cloud.
PutFirehoseRecords = Callable[[str, Sequence[bytes]], None]

#: The actions the local rules engine runs, by their CloudFormation key.
SUPPORTED_ACTIONS = ("Kinesis", "Sqs", "Lambda", "S3", "Republish", "Firehose")
#: UNSPECIFIED: AWS documents no guard against a rule republishing to a topic it selects
#: from. The local engine stops a chain of republished messages after this many hops; the
#: Republish action that would exceed it fails (and runs the error action).
MAX_REPUBLISH_HOPS = 10
#: ``clientid()`` of a message that did not come from an MQTT client, as AWS reports it.
NO_CLIENT_ID = "n/a"
#: PutRecord takes a partition key of 1 to 256 characters.
MAX_PARTITION_KEY_CHARS = 256
#: The message broker rejects a publish whose payload is larger than 128 KB. UNSPECIFIED:
#: whether AWS's KB is 1,000 or 1,024 bytes; the local cloud takes the larger reading, so
#: it never refuses a payload that IoT Core takes.
MAX_MESSAGE_BYTES = 128 * 1024
#: The reason and message IoT Core reports for an oversized payload.
PAYLOAD_LIMIT_REASON = "PAYLOAD_LIMIT_EXCEEDED"
PAYLOAD_LIMIT_MESSAGE = "Message payload exceeds size limit for message type."
#: Rule names CloudFormation accepts.
RULE_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_]+$")
_FIREHOSE_SEPARATORS = frozenset({"\n", "\t", "\r\n", ","})
_FUNCTIONS = {"topic": (0, 1), "timestamp": (0, 0), "newuuid": (0, 0), "clientid": (0, 0)}
_KEYWORDS = frozenset({"SELECT", "FROM", "WHERE", "AS", "AND", "OR", "NOT", "TRUE", "FALSE"})
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op><>|!=|<=|>=|=|<|>|\(|\)|,|\.|\*|-)
    )""",
    re.VERBOSE,
)
_TEMPLATE = re.compile(r"\$\{([^}]*)\}")
_COMPARISONS = frozenset({"=", "<>", "!=", "<", "<=", ">", ">="})


class _Undefined:
    """AWS IoT SQL's *Undefined*: a missing field, or an expression without a value."""

    def __repr__(self) -> str:
        return "Undefined"


UNDEFINED: Any = _Undefined()


class UnsupportedSql(NotImplementedError):  # noqa: N818 - a NotImplementedError by design
    """The SQL uses something the local rules engine does not emulate."""


class MessageTooLargeError(ValueError):
    """IoT Core refused a publish: the payload is larger than :data:`MAX_MESSAGE_BYTES`.

    Attributes:
        reason: ``PAYLOAD_LIMIT_EXCEEDED``, the reason IoT Core gives.
        size: The payload's size in bytes.
    """

    def __init__(self, topic: str, size: int) -> None:
        super().__init__(
            f"{PAYLOAD_LIMIT_MESSAGE} The payload published to {topic!r} is {size:,} bytes; "
            f"IoT Core takes at most {MAX_MESSAGE_BYTES:,} ({PAYLOAD_LIMIT_REASON})"
        )
        self.reason = PAYLOAD_LIMIT_REASON
        self.size = size


# --------------------------------------------------------------------------- topics


def _check_topic(topic: str) -> None:
    try:
        validate_topic_name(topic)
    except ValueError as error:
        raise ValueError(f"cannot publish to {topic!r}: {error}") from error


# --------------------------------------------------------------------------- SQL


@dataclass(frozen=True)
class _Literal:
    value: Any


@dataclass(frozen=True)
class _Path:
    names: tuple[str, ...]


@dataclass(frozen=True)
class _Call:
    name: str
    arguments: tuple[Any, ...]


@dataclass(frozen=True)
class _Compare:
    operator: str
    left: Any
    right: Any


@dataclass(frozen=True)
class _Logical:
    operator: str  # AND, OR, NOT
    operands: tuple[Any, ...]


@dataclass(frozen=True)
class SelectItem:
    """One item of a ``SELECT`` list: ``*``, or an expression and the key it goes under."""

    expression: Any
    key: str | None  # None for *


@dataclass(frozen=True)
class RuleQuery:
    """A parsed rule SQL statement.

    Attributes:
        sql: The statement as written.
        items: The ``SELECT`` list.
        topic_filter: The ``FROM`` topic filter.
        where: The ``WHERE`` condition, None without one.
    """

    sql: str
    items: tuple[SelectItem, ...]
    topic_filter: str
    where: Any = None

    @property
    def selects_all(self) -> bool:
        """True for ``SELECT *`` alone: the payload passes through unchanged."""
        return len(self.items) == 1 and self.items[0].key is None


class _Parser:
    def __init__(self, text: str, sql: str) -> None:
        self.sql = sql
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = _TOKEN.match(text, position)
            if match is None:
                raise UnsupportedSql(f"cannot read {text[position:].strip()[:20]!r}")
            kind = match.lastgroup or ""
            value = match.group(kind)
            if kind == "name" and value.upper() in _KEYWORDS:
                kind, value = "keyword", value.upper()
            self.tokens.append((kind, value))
            position = match.end()
        self.position = 0

    def peek(self, kind: str, value: str | None = None) -> bool:
        if self.position >= len(self.tokens):
            return False
        token_kind, token_value = self.tokens[self.position]
        return token_kind == kind and (value is None or token_value == value)

    def take(self, kind: str, value: str | None = None) -> str:
        if not self.peek(kind, value):
            found = self.tokens[self.position][1] if self.position < len(self.tokens) else "the end"
            raise UnsupportedSql(f"expected {value or kind}, found {found!r}")
        self.position += 1
        return self.tokens[self.position - 1][1]

    def accept(self, kind: str, value: str | None = None) -> bool:
        if self.peek(kind, value):
            self.position += 1
            return True
        return False

    def at_end(self) -> bool:
        return self.position >= len(self.tokens)

    def query(self) -> RuleQuery:
        self.take("keyword", "SELECT")
        items = [self.select_item()]
        while self.accept("op", ","):
            items.append(self.select_item())
        self.take("keyword", "FROM")
        if not self.peek("string"):
            raise UnsupportedSql("FROM takes a quoted topic filter")
        topic_filter = _unquote(self.take("string"))
        validate_topic_filter(topic_filter)
        where = None
        if self.accept("keyword", "WHERE"):
            where = self.expression()
        if not self.at_end():
            raise UnsupportedSql(f"unexpected {self.tokens[self.position][1]!r}")
        return RuleQuery(self.sql, tuple(items), topic_filter, where)

    def select_item(self) -> SelectItem:
        if self.accept("op", "*"):
            return SelectItem(None, None)
        expression = self.expression()
        if self.accept("keyword", "AS"):
            return SelectItem(expression, self.take("name"))
        if isinstance(expression, _Path):
            return SelectItem(expression, expression.names[-1])
        raise UnsupportedSql("give every SELECT item but a field an AS alias")

    def expression(self) -> Any:
        operands = [self.conjunction()]
        while self.accept("keyword", "OR"):
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else _Logical("OR", tuple(operands))

    def conjunction(self) -> Any:
        operands = [self.negation()]
        while self.accept("keyword", "AND"):
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else _Logical("AND", tuple(operands))

    def negation(self) -> Any:
        if self.accept("keyword", "NOT"):
            return _Logical("NOT", (self.negation(),))
        return self.comparison()

    def comparison(self) -> Any:
        left = self.operand()
        for operator in _COMPARISONS:
            if self.peek("op", operator):
                self.position += 1
                return _Compare(operator, left, self.operand())
        return left

    def operand(self) -> Any:
        if self.accept("op", "("):
            inner = self.expression()
            self.take("op", ")")
            return inner
        if self.peek("string"):
            return _Literal(_unquote(self.take("string")))
        if self.accept("op", "-"):
            return _Literal(-_number(self.take("number")))
        if self.peek("number"):
            return _Literal(_number(self.take("number")))
        if self.accept("keyword", "TRUE"):
            return _Literal(True)
        if self.accept("keyword", "FALSE"):
            return _Literal(False)
        name = self.take("name")
        if self.accept("op", "("):
            return self.call(name)
        names = [name]
        while self.accept("op", "."):
            names.append(self.take("name"))
        return _Path(tuple(names))

    def call(self, name: str) -> _Call:
        if name.lower() not in _FUNCTIONS:
            raise UnsupportedSql(f"function {name}() is not emulated")
        arguments: list[Any] = []
        if not self.accept("op", ")"):
            arguments.append(self.operand())
            while self.accept("op", ","):
                arguments.append(self.operand())
            self.take("op", ")")
        low, high = _FUNCTIONS[name.lower()]
        if not low <= len(arguments) <= high:
            raise UnsupportedSql(f"{name}() takes {low} to {high} arguments")
        if any(not isinstance(a, _Literal) or not _is_number(a.value) for a in arguments):
            raise UnsupportedSql(f"{name}() takes number literals only")
        return _Call(name.lower(), tuple(arguments))


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def _number(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_sql(sql: str) -> RuleQuery:
    """Parse a rule's SQL statement (the subset this module emulates).

    Raises:
        UnsupportedSql: The statement uses something else (a NotImplementedError).
        ValueError: The ``FROM`` topic filter is invalid.
    """
    return _Parser(sql, sql).query()


def parse_expression(text: str) -> Any:
    """Parse one expression, such as the inside of a ``${...}`` substitution template.

    Raises:
        UnsupportedSql: The expression uses something this module does not emulate.
    """
    parser = _Parser(text, text)
    expression = parser.expression()
    if not parser.at_end():
        raise UnsupportedSql(f"unexpected {parser.tokens[parser.position][1]!r} in {text!r}")
    return expression


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class IotMessage:
    """A message as the rules engine sees it.

    Attributes:
        topic: The topic it was published on.
        payload: The payload bytes.
        qos: The MQTT quality of service.
        client_id: What ``clientid()`` returns.
        timestamp_ms: What ``timestamp()`` returns: publish time on the local clock.
        trace_id: The ``cloudwatchTraceId`` of error messages about it.
        hops: How many Republish actions led to it.
    """

    topic: str
    payload: bytes
    qos: int = 0
    client_id: str = NO_CLIENT_ID
    timestamp_ms: int = 0
    trace_id: str = ""
    hops: int = 0

    @property
    def document(self) -> Any:
        """The payload parsed as JSON, or :data:`UNDEFINED` when it is not JSON.

        A payload nested deeper than
        :data:`~lambda_blueprints.testing._json.MAX_NESTING_DEPTH` counts as not JSON, as
        a payload the rules engine cannot parse does: only ``SELECT *`` passes it on.
        """
        try:
            return _json.loads(self.payload)
        except ValueError:
            return UNDEFINED


def evaluate(expression: Any, message: IotMessage, document: Any = None) -> Any:
    """The value of a parsed expression for ``message`` (:data:`UNDEFINED` when it has none)."""
    source = message.document if document is None else document
    if isinstance(expression, _Literal):
        return expression.value
    if isinstance(expression, _Path):
        value = source
        for name in expression.names:
            if not isinstance(value, dict) or name not in value:
                return UNDEFINED
            value = value[name]
        return value
    if isinstance(expression, _Call):
        return _call(expression, message)
    if isinstance(expression, _Compare):
        return _compare(
            expression.operator,
            evaluate(expression.left, message, source),
            evaluate(expression.right, message, source),
        )
    if isinstance(expression, _Logical):
        values = [evaluate(e, message, source) for e in expression.operands]
        return _logical(expression.operator, values)
    raise TypeError(f"not an expression: {expression!r}")


def _call(call: _Call, message: IotMessage) -> Any:
    if call.name == "topic":
        if not call.arguments:
            return message.topic
        index = call.arguments[0].value
        levels = message.topic.split("/")
        if not isinstance(index, int) or not 1 <= index <= len(levels):
            return UNDEFINED
        return levels[index - 1]
    if call.name == "timestamp":
        return message.timestamp_ms
    if call.name == "newuuid":
        return str(uuid.uuid4())
    return message.client_id


def _compare(operator: str, left: Any, right: Any) -> Any:
    if left is UNDEFINED or right is UNDEFINED:
        return UNDEFINED
    same_kind = (
        (_is_number(left) and _is_number(right))
        or (isinstance(left, str) and isinstance(right, str))
        or (isinstance(left, bool) and isinstance(right, bool))
    )
    if not same_kind:
        return UNDEFINED
    if operator == "=":
        return left == right
    if operator in ("<>", "!="):
        return left != right
    if isinstance(left, bool):
        return UNDEFINED
    return {
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[operator]


def _logical(operator: str, values: Sequence[Any]) -> Any:
    booleans = [v if isinstance(v, bool) else UNDEFINED for v in values]
    if operator == "NOT":
        return UNDEFINED if booleans[0] is UNDEFINED else not booleans[0]
    if operator == "AND":
        if False in booleans:
            return False
        return True if all(b is True for b in booleans) else UNDEFINED
    if True in booleans:
        return True
    return False if all(b is False for b in booleans) else UNDEFINED


def select(query: RuleQuery, message: IotMessage) -> bytes | None:
    """The ``SELECT`` result for ``message``, or None when the rule does not apply to it.

    The rule does not apply when its ``WHERE`` is not true, or when a non-JSON payload
    meets anything but ``SELECT *``.
    """
    document = message.document
    if query.where is not None and evaluate(query.where, message, document) is not True:
        return None
    if query.selects_all:
        return message.payload
    if document is UNDEFINED:
        return None
    result: dict[str, Any] = {}
    for item in query.items:
        if item.key is None:
            if isinstance(document, dict):
                result.update(document)
            continue
        value = evaluate(item.expression, message, document)
        if value is not UNDEFINED:
            result[item.key] = value
    return json.dumps(result, separators=(",", ":")).encode()


def render(template: str, message: IotMessage) -> str:
    """Fill a substitution template's ``${expression}`` parts from the original message.

    Raises:
        UnsupportedSql: An expression this module does not emulate.
    """

    def replace(match: re.Match[str]) -> str:
        return _template_text(evaluate(parse_expression(match.group(1)), message))

    return _TEMPLATE.sub(replace, template)


def _template_text(value: Any) -> str:
    if value is UNDEFINED or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _check_templates(value: Any) -> None:
    """Parse every substitution template in an action's parameters (deploy-time check)."""
    if isinstance(value, str):
        for match in _TEMPLATE.finditer(value):
            parse_expression(match.group(1))
    elif isinstance(value, Mapping):
        for item in value.values():
            _check_templates(item)
    elif isinstance(value, list):
        for item in value:
            _check_templates(item)


# --------------------------------------------------------------------------- rules


@dataclass
class TopicRule:
    """A deployed topic rule (``AWS::IoT::TopicRule``).

    Attributes:
        name: The rule name.
        arn: The rule ARN.
        query: The parsed SQL.
        actions: The actions, each ``{"<Kind>": {parameters}}`` as in the template.
        error_action: The error action, or None.
        enabled: False when ``RuleDisabled``.
        construct: Where the rule came from, for error messages.
    """

    name: str
    arn: str
    query: RuleQuery
    actions: list[Mapping[str, Any]]
    error_action: Mapping[str, Any] | None = None
    enabled: bool = True
    construct: str = ""


@dataclass(frozen=True)
class IotRuleRun:
    """One execution of a rule for one message.

    Attributes:
        rule: The rule name.
        topic: The message's topic.
        trace_id: The ``cloudwatchTraceId`` of the execution.
        payload: The ``SELECT`` result the actions received.
        actions: The kinds of the actions that ran, in order.
        failures: The ``failures`` entries of the error message, empty when all succeeded.
        error_message: The message given to the error action, None when nothing failed.
        error_action_failed: The error action's own failure message, None otherwise.
        at: Virtual time.
    """

    rule: str
    topic: str
    trace_id: str
    payload: bytes
    actions: tuple[str, ...]
    failures: tuple[dict[str, str], ...] = ()
    error_message: dict[str, Any] | None = None
    error_action_failed: str | None = None
    at: float = 0.0


class ActionFailedError(Exception):
    """A rule action could not deliver (the error action receives it)."""

    def __init__(self, resource: str, message: str) -> None:
        super().__init__(message)
        self.resource = resource
        self.message = message


@dataclass
class _ActionFault:
    action: str
    remaining: int


class IotFaults:
    """Failures to inject into rule actions."""

    def __init__(self) -> None:
        self._faults: dict[str, list[_ActionFault]] = {}

    def fail(self, rule_name: str, action: str, times: int = 1) -> None:
        """Make the next ``times`` runs of one kind of action of a rule fail.

        Args:
            rule_name: The rule's name.
            action: The action kind: ``Kinesis``, ``Sqs``, ``Lambda``, ``S3``,
                ``Republish`` or ``Firehose`` (any case; an ``Action`` suffix is allowed).
            times: How many runs fail, at least 1.

        Raises:
            ValueError: Unknown action kind, or ``times`` < 1.
        """
        kind = _action_kind(action)
        if times < 1:
            raise ValueError(f"times={times} must be at least 1")
        self._faults.setdefault(rule_name, []).append(_ActionFault(kind, times))

    def clear(self) -> None:
        """Remove every injected failure."""
        self._faults.clear()

    def take(self, rule_name: str, action: str) -> bool:
        """Use up one injected failure of ``action`` in ``rule_name``; True if there was one."""
        for fault in self._faults.get(rule_name, []):
            if fault.action == action and fault.remaining > 0:
                fault.remaining -= 1
                return True
        return False


def _action_kind(name: str) -> str:
    wanted = name.lower().removesuffix("action")
    for kind in SUPPORTED_ACTIONS:
        if kind.lower() == wanted:
            return kind
    raise ValueError(f"unknown IoT rule action {name!r}; one of {', '.join(SUPPORTED_ACTIONS)}")


def _single_action(action: Mapping[str, Any], where: str) -> tuple[str, Mapping[str, Any]]:
    if len(action) != 1:
        raise NotImplementedError(
            f"{where}: an action has exactly one kind, found {sorted(action) or 'none'}"
        )
    ((kind, parameters),) = action.items()
    if kind not in SUPPORTED_ACTIONS:
        raise NotImplementedError(
            f"{where}: {kind} actions are not emulated; the local cloud runs "
            f"{', '.join(SUPPORTED_ACTIONS)}"
        )
    if kind == "Firehose" and parameters.get("BatchMode"):
        raise NotImplementedError(f"{where}: Firehose actions with BatchMode are not emulated")
    if kind == "Firehose" and parameters.get("Separator", "") not in (_FIREHOSE_SEPARATORS | {""}):
        raise ValueError(f"{where}: Firehose Separator {parameters['Separator']!r} is invalid")
    return kind, parameters


# --------------------------------------------------------------------------- engine


class IotCore:
    """The local cloud's IoT message broker and rules engine.

    Args:
        context: The local cloud's clients, clock, activity log and functions.
        async_invocations: Lambda's asynchronous invocation, which Lambda actions use (with
            the functions' ``EventInvokeConfig`` settings and the retry-delay hook).
        firehose: Finds the local cloud's ``put_firehose_records`` when a Firehose action
            runs; None when Firehose is not emulated.
    """

    def __init__(
        self,
        context: ServiceContext,
        *,
        async_invocations: AsyncInvocations,
        firehose: Callable[[], PutFirehoseRecords | None] = lambda: None,
    ) -> None:
        self._context = context
        self._async_invocations = async_invocations
        self._firehose = firehose
        #: Rules by name.
        self.rules: dict[str, TopicRule] = {}
        #: Failures to inject into actions.
        self.faults = IotFaults()
        #: Every rule execution, in order.
        self.runs: list[IotRuleRun] = []
        self._messages: list[tuple[str, bytes]] = []
        self._moto_seen = 0

    # -- deploy ----------------------------------------------------------------------

    def deploy_rule(
        self, logical_id: str, props: Mapping[str, Any], *, stack_name: str, construct: str = ""
    ) -> tuple[str, dict[str, str]]:
        """Add an ``AWS::IoT::TopicRule`` from its resolved properties.

        Returns:
            The rule name (its physical id) and its attributes (``Arn``).

        Raises:
            NotImplementedError: The SQL or an action is not emulated.
            ValueError: The rule name or topic filter is invalid, or taken.
        """
        where = construct or logical_id
        name = str(props.get("RuleName") or _generated_name(stack_name, logical_id))
        if not RULE_NAME_PATTERN.match(name) or len(name) > 128:
            raise ValueError(f"{where}: rule name {name!r} must match {RULE_NAME_PATTERN.pattern}")
        if name in self.rules:
            raise ValueError(f"{where}: a rule named {name!r} already exists")
        payload = props["TopicRulePayload"]
        sql = str(payload["Sql"])
        try:
            query = parse_sql(sql)
            actions = list(payload.get("Actions", []))
            error_action = payload.get("ErrorAction")
            for action in [*actions, *([error_action] if error_action else [])]:
                _single_action(action, where)
                _check_templates(action)
        except UnsupportedSql as error:
            raise UnsupportedSql(f"{where}: {sql!r} is not emulated: {error}") from error
        arn = f"arn:aws:iot:{self._context.region}:{self._context.account_id}:rule/{name}"
        self.rules[name] = TopicRule(
            name=name,
            arn=arn,
            query=query,
            actions=actions,
            error_action=error_action or None,
            enabled=not _flag(payload.get("RuleDisabled", False)),
            construct=where,
        )
        return name, {"Arn": arn}

    # -- publish ---------------------------------------------------------------------

    def publish(
        self,
        topic: str,
        payload: bytes | str | Mapping[str, Any],
        *,
        qos: int = 0,
        client_id: str = NO_CLIENT_ID,
    ) -> None:
        """Publish a message as a device would, and run every matching rule.

        Args:
            topic: The topic, without wildcards.
            payload: Bytes as they are, text as UTF-8, a mapping as JSON.
            qos: The MQTT quality of service, 0 or 1.
            client_id: What ``clientid()`` returns; ``n/a`` as for messages that did not
                come over MQTT.

        Raises:
            MessageTooLargeError: The payload is larger than :data:`MAX_MESSAGE_BYTES`;
                no rule runs and the message is not kept, as IoT Core drops it (a device
                over MQTT is disconnected).
            ValueError: A topic with wildcards, or ``qos`` other than 0 or 1.
        """
        if qos not in (0, 1):
            raise ValueError(f"qos={qos}: AWS IoT Core supports QoS 0 and 1")
        _check_topic(topic)
        self._publish(topic, _payload_bytes(payload), qos, client_id, hops=0)

    def messages(self, topic_filter: str = "#") -> list[tuple[str, bytes]]:
        """What was published, in order, whose topic matches ``topic_filter``.

        Covers :meth:`publish`, Republish actions and what handlers published through the
        ``iot-data`` API (moto's IoT data plane).
        """
        validate_topic_filter(topic_filter)
        self._collect_published()
        return [(t, p) for t, p in self._messages if topic_matches(topic_filter, t)]

    def _publish(self, topic: str, payload: bytes, qos: int, client_id: str, hops: int) -> None:
        if len(payload) > MAX_MESSAGE_BYTES:
            raise MessageTooLargeError(topic, len(payload))
        # What handlers published so far comes before this message.
        self._collect_published()
        self._messages.append((topic, payload))
        message = IotMessage(
            topic=topic,
            payload=payload,
            qos=qos,
            client_id=client_id,
            timestamp_ms=int(self._context.clock.now() * 1000),
            trace_id=str(uuid.uuid4()),
            hops=hops,
        )
        for rule in list(self.rules.values()):
            if rule.enabled and topic_matches(rule.query.topic_filter, topic):
                self._run_rule(rule, message)

    def _collect_published(self) -> None:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.iotdata.models import iotdata_backends

        account = os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)
        published = iotdata_backends[account][self._context.region].published_payloads
        if len(published) < self._moto_seen:
            # moto was reset (a new mock): start over.
            self._moto_seen = 0
        for topic, payload in published[self._moto_seen :]:
            self._messages.append(
                (topic, payload if isinstance(payload, bytes) else payload.encode())
            )
        self._moto_seen = len(published)

    # -- rules -----------------------------------------------------------------------

    def _run_rule(self, rule: TopicRule, message: IotMessage) -> None:
        output = select(rule.query, message)
        if output is None:
            return
        failures: list[dict[str, str]] = []
        kinds: list[str] = []
        for action in rule.actions:
            kind, parameters = _single_action(action, rule.construct)
            kinds.append(kind)
            try:
                if self.faults.take(rule.name, kind):
                    raise ActionFailedError(
                        _resource_of(kind, parameters, message), "Injected failure"
                    )
                self._run_action(rule, kind, parameters, output, message)
            except ActionFailedError as failure:
                failures.append(
                    {
                        "failedAction": f"{kind}Action",
                        "failedResource": failure.resource,
                        "errorMessage": failure.message,
                    }
                )
        error_message: dict[str, Any] | None = None
        error_action_failed: str | None = None
        if failures:
            error_message = {
                "ruleName": rule.name,
                "topic": message.topic,
                "cloudwatchTraceId": message.trace_id,
                "clientId": message.client_id,
                "base64OriginalPayload": base64.b64encode(message.payload).decode(),
                "failures": failures,
            }
            if rule.error_action is not None:
                error_action_failed = self._run_error_action(rule, error_message, message)
        self.runs.append(
            IotRuleRun(
                rule=rule.name,
                topic=message.topic,
                trace_id=message.trace_id,
                payload=output,
                actions=tuple(kinds),
                failures=tuple(failures),
                error_message=error_message,
                error_action_failed=error_action_failed,
                at=self._context.clock.now(),
            )
        )

    def _run_error_action(
        self, rule: TopicRule, error_message: dict[str, Any], message: IotMessage
    ) -> str | None:
        assert rule.error_action is not None  # noqa: S101 - checked by the caller
        kind, parameters = _single_action(rule.error_action, rule.construct)
        body = json.dumps(error_message).encode()
        try:
            destination = self._run_action(rule, kind, parameters, body, message)
        except ActionFailedError as failure:
            # AWS only logs a failed error action: there is nowhere further to send it.
            return failure.message
        self._context.log.add(
            FailureRecord(
                source="iot",
                mapping_id=rule.name,
                destination=destination,
                condition=",".join(f["failedAction"] for f in error_message["failures"]),
                body=error_message,
                items=(message.trace_id,),
                at=self._context.clock.now(),
            )
        )
        return None

    def _run_action(
        self,
        rule: TopicRule,
        kind: str,
        parameters: Mapping[str, Any],
        output: bytes,
        message: IotMessage,
    ) -> str:
        """Run one action; return the ARN or name of where the payload went.

        Raises:
            ActionFailedError: The action could not deliver.
        """
        values = {
            k: render(v, message) if isinstance(v, str) and k != "RoleArn" else v
            for k, v in parameters.items()
        }
        runner = getattr(self, f"_action_{kind.lower()}")
        destination: str = runner(rule, values, output, message)
        return destination

    def _action_kinesis(
        self, rule: TopicRule, values: Mapping[str, Any], output: bytes, message: IotMessage
    ) -> str:
        stream = str(values["StreamName"])
        # Only an absent PartitionKey means a new UUID: a template that renders empty is an
        # empty key, which PutRecord rejects; it must not pass as a random shard's record.
        given = values.get("PartitionKey")
        key = str(uuid.uuid4()) if given is None else str(given)
        if not 1 <= len(key) <= MAX_PARTITION_KEY_CHARS:
            # AWS does not document the wording of this rejection: this one names the
            # constraint, as the service's validation errors do.
            raise ActionFailedError(
                stream,
                f"Failed to put record to Kinesis stream {stream}. The error received was "
                f"1 validation error detected: Value {key!r} at 'partitionKey' failed to "
                "satisfy constraint: Member must have length between 1 and "
                f"{MAX_PARTITION_KEY_CHARS}. Message arrived on: {message.topic}, Action: "
                "kinesis",
            )
        try:
            self._context.client("kinesis").put_record(
                StreamName=stream, Data=output, PartitionKey=key
            )
        except Exception as error:  # any SDK error is the action's failure
            raise ActionFailedError(
                stream,
                f"Failed to put record to Kinesis stream {stream}. The error received was "
                f"{error}. Message arrived on: {message.topic}, Action: kinesis",
            ) from error
        return f"arn:aws:kinesis:{self._context.region}:{self._context.account_id}:stream/{stream}"

    def _action_sqs(
        self, rule: TopicRule, values: Mapping[str, Any], output: bytes, message: IotMessage
    ) -> str:
        queue_url = str(values["QueueUrl"])
        try:
            body = (
                base64.b64encode(output).decode()
                if _flag(values.get("UseBase64", False))
                else output.decode()
            )
            self._context.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body)
        except Exception as error:  # any SDK or decoding error is the action's failure
            raise ActionFailedError(
                queue_url,
                f"Failed to send message to SQS queue. The error received was {error}. "
                f"Message arrived on: {message.topic}, Action: sqs, Queue: {queue_url}",
            ) from error
        name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        return f"arn:aws:sqs:{self._context.region}:{self._context.account_id}:{name}"

    def _action_s3(
        self, rule: TopicRule, values: Mapping[str, Any], output: bytes, message: IotMessage
    ) -> str:
        bucket, key = str(values["BucketName"]), str(values["Key"])
        try:
            self._context.client("s3").put_object(Bucket=bucket, Key=key, Body=output)
        except Exception as error:  # any SDK error is the action's failure
            raise ActionFailedError(
                bucket,
                f"Failed to put S3 object. The error received was {error}. Message arrived "
                f"on: {message.topic}, Action: s3, Bucket: {bucket}, Key: {key!r}",
            ) from error
        return f"arn:aws:s3:::{bucket}"

    def _action_republish(
        self, rule: TopicRule, values: Mapping[str, Any], output: bytes, message: IotMessage
    ) -> str:
        topic = str(values["Topic"])
        if message.hops >= MAX_REPUBLISH_HOPS:
            raise ActionFailedError(
                topic,
                f"Republish loop: the message on {message.topic} was republished "
                f"{message.hops} times; the local cloud stops at {MAX_REPUBLISH_HOPS}",
            )
        try:
            _check_topic(topic)
        except ValueError as error:
            raise ActionFailedError(topic, str(error)) from error
        qos = int(values.get("Qos", 0))
        try:
            self._publish(topic, output, qos, message.client_id, hops=message.hops + 1)
        except MessageTooLargeError as error:
            # A SELECT that adds fields can make a message too large to publish again.
            raise ActionFailedError(topic, str(error)) from error
        return topic

    def _action_firehose(
        self, rule: TopicRule, values: Mapping[str, Any], output: bytes, message: IotMessage
    ) -> str:
        put = self._firehose()
        if put is None:
            raise NotImplementedError(
                f"{rule.construct}: Firehose actions need a local cloud that emulates Firehose"
            )
        name = str(values["DeliveryStreamName"])
        data = output + str(values.get("Separator") or "").encode()
        try:
            put(name, [data])
        except NotImplementedError:
            raise
        except Exception as error:  # any delivery error is the action's failure
            raise ActionFailedError(
                name,
                f"Failed to put record to Firehose stream {name}. The error received was "
                f"{error}. Message arrived on: {message.topic}, Action: firehose",
            ) from error
        return self._context.arn("firehose", f"deliverystream/{name}")

    def _action_lambda(
        self, rule: TopicRule, values: Mapping[str, Any], output: bytes, message: IotMessage
    ) -> str:
        function_arn = str(values["FunctionArn"])
        try:
            function = self._context.function(function_arn)
        except KeyError as error:
            raise ActionFailedError(
                function_arn,
                f"Failed to invoke lambda function {function_arn}: the function does not "
                f"exist. Message arrived on: {message.topic}, Action: lambda",
            ) from error
        try:
            event = _json.loads(output)
        except ValueError as error:
            raise ActionFailedError(
                function_arn,
                f"Failed to invoke lambda function {function_arn}: the payload is not JSON "
                "(select encode(*, 'base64') for binary payloads). Message arrived on: "
                f"{message.topic}, Action: lambda",
            ) from error
        # Lambda's asynchronous invocation, as for EventBridge targets.
        self._async_invocations.invoke(
            function.name,
            f"{function.arn}:$LATEST",
            event,
            source="iot",
            mapping_id=rule.name,
            item=message.trace_id,
        )
        return function.arn


def _resource_of(kind: str, parameters: Mapping[str, Any], message: IotMessage) -> str:
    key = {
        "Kinesis": "StreamName",
        "Sqs": "QueueUrl",
        "Lambda": "FunctionArn",
        "S3": "BucketName",
        "Republish": "Topic",
        "Firehose": "DeliveryStreamName",
    }[kind]
    value = parameters.get(key, "")
    return render(value, message) if isinstance(value, str) else str(value)


def _payload_bytes(payload: bytes | str | Mapping[str, Any]) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    if isinstance(payload, Mapping):
        try:
            return json.dumps(payload).encode()
        except RecursionError as error:
            # Too deep for the serializer: a refusal, not a crash of the local cloud.
            raise ValueError("the payload mapping nests too deeply to serialize as JSON") from error
    raise TypeError(f"a payload is bytes, text or a mapping, not {type(payload).__name__}")


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _generated_name(stack_name: str, logical_id: str) -> str:
    # CloudFormation's generated rule names must fit ^[a-zA-Z0-9_]+$: no hyphens.
    base = re.sub(r"[^A-Za-z0-9_]", "_", f"{stack_name}_{logical_id}")[:115]
    return f"{base}_{uuid.uuid4().hex[:12].upper()}"


@deploys("AWS::IoT::TopicRule")
def _topic_rule(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    construct = stack.paths.get(logical_id, logical_id)
    name, attributes = stack.service(IotCore).deploy_rule(
        logical_id, props, stack_name=stack.stack_name, construct=construct
    )
    return Resource(logical_id, "AWS::IoT::TopicRule", "", name, attributes)


__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_PARTITION_KEY_CHARS",
    "MAX_REPUBLISH_HOPS",
    "NO_CLIENT_ID",
    "SUPPORTED_ACTIONS",
    "UNDEFINED",
    "ActionFailedError",
    "IotCore",
    "IotFaults",
    "IotMessage",
    "IotRuleRun",
    "MessageTooLargeError",
    "RuleQuery",
    "SelectItem",
    "TopicRule",
    "UnsupportedSql",
    "evaluate",
    "parse_expression",
    "parse_sql",
    "render",
    "select",
    "topic_matches",
    "validate_topic_filter",
]
