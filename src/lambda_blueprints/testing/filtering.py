"""The EventBridge pattern language, for EventBridge rules and event source mapping filters.

:func:`matches` evaluates an event pattern against a JSON document the way EventBridge
does: every field of the pattern must match (AND), any value listed for a field may match
(OR), and an array in the document matches when one of its elements does.
:func:`compile_filters` turns an event source mapping's ``FilterCriteria`` into a
:class:`RecordFilter` that decides which Kinesis, DynamoDB or SQS records Lambda keeps.

Choices for points AWS leaves open are named constants and functions below:
:data:`ESM_UNSUPPORTED_OPERATORS`, :data:`MAX_FILTERS`, :func:`is_json_document`,
:func:`kinesis_filter_document`, :func:`dynamodb_filter_document` and
:func:`sqs_filter_document`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, cast

from lambda_blueprints.testing import _json

Source = Literal["kinesis", "dynamodb", "sqs"]

#: Filters per event source mapping. AWS allows 5 by default and 10 with a quota increase;
#: the emulator accepts the raised quota.
MAX_FILTERS = 10
#: Characters per ``Pattern`` string.
MAX_PATTERN_LENGTH = 4096
#: Numeric matching covers -5.0e9 to +5.0e9 inclusive.
NUMERIC_LIMIT = Decimal("5e9")
#: In event source mapping filters, plain equality compares numbers by their JSON text, so
#: 300, 300.0 and 3.0e2 differ, as Lambda's filtering documentation states; the ``numeric``
#: operator compares values. EventBridge rules compare plain numbers by value (recorded
#: against EventBridge's ``TestEventPattern``: ``[300]`` matches ``300.0``).
ESM_NUMBERS_MATCH_BY_TEXT = True
#: The most wildcard-pattern prefixes one field's value may keep alive at once. EventBridge
#: refuses a pattern above it ("Rule is too complex"); see :func:`wildcard_complexity`.
MAX_WILDCARD_COMPLEXITY = 10
#: UNSPECIFIED (spec 7.1): operators that neither Lambda's filter table nor the EventBridge
#: "Pipe support" column lists. The emulator rejects them in filter criteria.
ESM_UNSUPPORTED_OPERATORS = frozenset({"wildcard", "cidr", "$or"})
#: The operators ``anything-but`` can wrap in rules. The EventBridge table marks them all
#: unsupported for pipes, so filter criteria reject every one.
ANYTHING_BUT_OPERATORS = frozenset({"prefix", "suffix", "equals-ignore-case", "wildcard"})
#: The key that holds a record's payload, per source.
DATA_KEYS: Mapping[str, str] = {"kinesis": "data", "dynamodb": "dynamodb", "sqs": "body"}

_OR = "$or"
_LOWER_BOUNDS = frozenset({">", ">="})
_UPPER_BOUNDS = frozenset({"<", "<="})
_OPERATORS = frozenset(
    {
        "prefix",
        "suffix",
        "equals-ignore-case",
        "wildcard",
        "anything-but",
        "numeric",
        "exists",
        "cidr",
    }
)


class FilterError(ValueError):
    """An invalid event pattern or filter criteria (Lambda's InvalidParameterValueException)."""


@dataclass(frozen=True)
class JsonNumber:
    """A number read from JSON text, keeping its spelling for plain equality.

    Attributes:
        text: The number exactly as the JSON text wrote it, for example ``3.0e2``.
    """

    text: str

    @property
    def value(self) -> Decimal:
        """The exact numeric value."""
        return Decimal(self.text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_preserving_numbers(text: str | bytes) -> Any:
    """Parse JSON, reading numbers as :class:`JsonNumber` so their spelling survives.

    Raises:
        ValueError: The text is not JSON (``NaN`` and ``Infinity`` are not JSON either), or
            nests deeper than :data:`~lambda_blueprints.testing._json.MAX_NESTING_DEPTH`
            (:class:`~lambda_blueprints.testing._json.JsonTooDeepError`).
    """
    return _json.loads(
        text, parse_int=JsonNumber, parse_float=JsonNumber, parse_constant=_reject_constant
    )


# --------------------------------------------------------------------------- values


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int | JsonNumber | Decimal)


def _number_text(value: Any) -> str:
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)


def _number_value(value: Any) -> Decimal:
    if isinstance(value, JsonNumber):
        return value.value
    if isinstance(value, float):
        # repr gives the shortest text that round-trips, so 0.1 stays 0.1.
        return Decimal(repr(value))
    return Decimal(value)


def _numbers_equal(expected: Any, actual: Any, *, by_text: bool) -> bool:
    if by_text:
        return _number_text(expected) == _number_text(actual)
    return _number_value(expected) == _number_value(actual)


def _equals(expected: Any, actual: Any, *, by_text: bool) -> bool:
    """Plain equality of a pattern value and a document value, types never mixing."""
    if expected is None:
        return actual is None
    if isinstance(expected, bool):
        return isinstance(actual, bool) and actual is expected
    if isinstance(expected, str):
        return isinstance(actual, str) and actual == expected
    return _is_number(actual) and _numbers_equal(expected, actual, by_text=by_text)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _flatten(value: Any) -> list[Any]:
    """The values an array contributes: nested arrays are crushed, as EventBridge does."""
    if not _is_sequence(value):
        return [value]
    flat: list[Any] = []
    for element in value:
        flat.extend(_flatten(element))
    return flat


# --------------------------------------------------------------------------- wildcards


@functools.lru_cache(maxsize=512)
def _wildcard_regex(wildcard: str) -> re.Pattern[str]:
    r"""Compile a wildcard: ``*`` is any run of characters; ``\*`` and ``\\`` escape."""
    parts: list[str] = []
    previous_star = False
    index = 0
    while index < len(wildcard):
        char = wildcard[index]
        if char == "\\":
            escaped = wildcard[index + 1 : index + 2]
            if escaped not in ("*", "\\"):
                raise FilterError(f"wildcard {wildcard!r}: a backslash may only escape '*' or '\\'")
            parts.append(re.escape(escaped))
            previous_star = False
            index += 2
            continue
        if char == "*":
            if previous_star:
                raise FilterError(f"wildcard {wildcard!r}: consecutive '*' are not allowed")
            parts.append(".*")
            previous_star = True
        else:
            parts.append(re.escape(char))
            previous_star = False
        index += 1
    return re.compile("".join(parts), re.DOTALL)


_STAR = None


def _wildcard_tokens(wildcard: str) -> list[str | None]:
    """The characters a wildcard's byte machine reads, quotes included; None is a ``*``."""
    tokens: list[str | None] = ['"']
    index = 0
    while index < len(wildcard):
        char = wildcard[index]
        if char == "\\":
            index += 1
            tokens.append(wildcard[index])
        else:
            tokens.append(_STAR if char == "*" else char)
        index += 1
    tokens.append('"')
    return tokens


@dataclass
class _WildcardState:
    literal: dict[str, set[int]]
    star_to: set[int]
    patterns: set[int]
    shared_literal: dict[str, int]
    shared_star: int | None = None


def wildcard_complexity(wildcards: Sequence[str], *, limit: int | None = None) -> int:
    """How many wildcard-pattern prefixes one field's value can keep matching at once.

    EventBridge compiles the wildcards of one field into a non-deterministic byte machine
    and refuses a rule whose worst-case value keeps more than
    :data:`MAX_WILDCARD_COMPLEXITY` weighted states alive. This builds that machine: the
    literal characters before a pattern's first ``*`` (and that ``*``) are shared between
    patterns, everything after is the pattern's own; a state weighs one per pattern through
    it. Then it explores every set of states some value can reach and returns the heaviest.

    Args:
        wildcards: The field's wildcard strings (already checked for bad escapes).
        limit: Stop exploring as soon as the complexity exceeds this.
    """
    states = [_WildcardState({}, set(), set(), {})]

    def new_state() -> int:
        states.append(_WildcardState({}, set(), set(), {}))
        return len(states) - 1

    for pattern_id, wildcard in enumerate(dict.fromkeys(wildcards)):
        tokens = _wildcard_tokens(wildcard)
        current, before_star, shared, after_star = 0, 0, True, False
        for token in tokens:
            state = states[current]
            if token is _STAR:
                following = state.shared_star if shared else None
                if following is None:
                    following = new_state()
                    if shared:
                        states[current].shared_star = following
                states[current].star_to.add(following)
                states[following].star_to.add(following)
                before_star, shared, after_star = current, False, True
            else:
                following = state.shared_literal.get(token) if shared else None
                if following is None:
                    following = new_state()
                    if shared:
                        states[current].shared_literal[token] = following
                states[current].literal.setdefault(token, set()).add(following)
                if after_star:
                    # A star may match nothing, so the state before it reads on too.
                    states[before_star].literal.setdefault(token, set()).add(following)
                after_star = False
            states[following].patterns.add(pattern_id)
            current = following
    # The characters the patterns name, and None for any other character.
    alphabet: list[str | None] = [
        *sorted({char for state in states for char in state.literal}),
        None,
    ]
    heaviest = 0
    seen: set[frozenset[int]] = set()
    pending = [frozenset({0})]
    while pending:
        active = pending.pop()
        for char in alphabet:
            reached: set[int] = set()
            for index in active:
                reached |= states[index].star_to
                if char is not None:
                    reached |= states[index].literal.get(char, set())
            if not reached:
                continue
            weight = sum(len(states[index].patterns) for index in reached)
            weight += sum(
                len(states[star].patterns)
                for index in reached
                for star in states[index].star_to
                if star not in reached
            )
            heaviest = max(heaviest, weight)
            if limit is not None and heaviest > limit:
                return heaviest
            key = frozenset(reached)
            if key not in seen:
                seen.add(key)
                pending.append(key)
    return heaviest


# --------------------------------------------------------------------------- validation


def validate_pattern(pattern: Any, *, for_event_source_mapping: bool) -> None:
    """Check an event pattern, raising :class:`FilterError` when EventBridge or Lambda would.

    Args:
        pattern: The parsed pattern.
        for_event_source_mapping: Apply Lambda's filter restrictions: no ``anything-but``
            combined with prefix, suffix, equals-ignore-case or wildcard, and none of
            :data:`ESM_UNSUPPORTED_OPERATORS`.

    Raises:
        FilterError: The pattern is malformed or uses an operator that is not allowed.
    """
    _Validator(for_event_source_mapping).fields(pattern, "pattern")


@dataclass(frozen=True)
class _Validator:
    esm: bool

    def fields(self, pattern: Any, path: str) -> None:
        if not isinstance(pattern, Mapping):
            raise FilterError(f"{path}: an event pattern must be a JSON object, not {pattern!r}")
        if not pattern:
            raise FilterError(f"{path}: an event pattern object may not be empty")
        for key, value in pattern.items():
            if not isinstance(key, str):
                raise FilterError(f"{path}: field names must be strings, not {key!r}")
            where = f"{path}.{key}"
            if key == _OR:
                self.either(value, where)
            elif isinstance(value, Mapping):
                self.fields(value, where)
            elif _is_sequence(value):
                self.leaf(value, where)
            else:
                raise FilterError(f"{where}: must be an array of values or an object")

    def either(self, branches: Any, path: str) -> None:
        self.forbid(_OR, path)
        if not _is_sequence(branches) or len(branches) < 2:
            raise FilterError(f"{path}: $or needs an array of at least two patterns")
        for index, branch in enumerate(branches):
            self.fields(branch, f"{path}[{index}]")

    def leaf(self, conditions: Sequence[Any], path: str) -> None:
        if not conditions:
            raise FilterError(f"{path}: an array of values may not be empty")
        for condition in conditions:
            self.condition(condition, path)
        wildcards = [text for condition in conditions for text in _wildcards_of(condition)]
        if wildcards:
            complexity = wildcard_complexity(wildcards, limit=MAX_WILDCARD_COMPLEXITY)
            if complexity > MAX_WILDCARD_COMPLEXITY:
                raise FilterError(
                    f"{path}: rule is too complex (wildcard complexity above "
                    f"{MAX_WILDCARD_COMPLEXITY}); use fewer '*' or fewer repeated characters "
                    "after a '*'"
                )

    def condition(self, condition: Any, path: str) -> None:
        if condition is None or isinstance(condition, bool | str):
            return
        if _is_number(condition):
            return
        if not isinstance(condition, Mapping):
            raise FilterError(f"{path}: {condition!r} is not a value or an operator object")
        if len(condition) != 1:
            raise FilterError(f"{path}: an operator object has exactly one key: {condition!r}")
        ((operator, operand),) = condition.items()
        if operator not in _OPERATORS:
            raise FilterError(f"{path}: unknown operator {operator!r}")
        self.forbid(operator, path)
        _OPERAND_CHECKS[operator](self, operand, f"{path}.{operator}")

    def forbid(self, operator: str, path: str) -> None:
        if self.esm and operator in ESM_UNSUPPORTED_OPERATORS:
            raise FilterError(f"{path}: {operator!r} is not supported in event filtering")

    def text_or_ignore_case(self, operand: Any, path: str) -> None:
        if isinstance(operand, str):
            return
        if isinstance(operand, Mapping) and list(operand) == ["equals-ignore-case"]:
            _require_string(operand["equals-ignore-case"], path)
            return
        raise FilterError(f"{path}: needs a string or {{'equals-ignore-case': string}}")

    def string(self, operand: Any, path: str) -> None:
        _require_string(operand, path)

    def wildcard(self, operand: Any, path: str) -> None:
        _require_string(operand, path)
        _wildcard_regex(operand)

    def cidr(self, operand: Any, path: str) -> None:
        _require_string(operand, path)
        try:
            ipaddress.ip_network(operand, strict=False)
        except ValueError as error:
            raise FilterError(f"{path}: {operand!r} is not a CIDR block") from error

    def exists(self, operand: Any, path: str) -> None:
        if not isinstance(operand, bool):
            raise FilterError(f"{path}: exists takes true or false, not {operand!r}")

    def numeric(self, operand: Any, path: str) -> None:
        _numeric_conditions(operand, path)

    def anything_but(self, operand: Any, path: str) -> None:
        if isinstance(operand, str) or _is_number(operand):
            return
        if _is_sequence(operand):
            _require_uniform_list(operand, path)
            return
        if not isinstance(operand, Mapping) or len(operand) != 1:
            raise FilterError(f"{path}: needs a string, a number, a list or one operator")
        ((operator, inner),) = operand.items()
        if operator not in ANYTHING_BUT_OPERATORS:
            raise FilterError(f"{path}: unknown anything-but operator {operator!r}")
        if self.esm:
            raise FilterError(
                f"{path}: anything-but with {operator!r} is not supported in event filtering"
            )
        where = f"{path}.{operator}"
        values = inner if _is_sequence(inner) else [inner]
        if not values:
            raise FilterError(f"{where}: the list may not be empty")
        for value in values:
            _require_string(value, where)
            if operator == "wildcard":
                _wildcard_regex(value)
            elif operator in ("prefix", "suffix") and not value:
                raise FilterError(f"{where}: an empty {operator} would exclude every string")


_OPERAND_CHECKS: Mapping[str, Callable[[_Validator, Any, str], None]] = {
    "prefix": _Validator.text_or_ignore_case,
    "suffix": _Validator.text_or_ignore_case,
    "equals-ignore-case": _Validator.string,
    "wildcard": _Validator.wildcard,
    "anything-but": _Validator.anything_but,
    "numeric": _Validator.numeric,
    "exists": _Validator.exists,
    "cidr": _Validator.cidr,
}


def _wildcards_of(condition: Any) -> list[str]:
    """The wildcard strings of one condition: ``wildcard`` and ``anything-but`` wildcards."""
    if not isinstance(condition, Mapping) or len(condition) != 1:
        return []
    ((operator, operand),) = condition.items()
    if operator == "wildcard":
        return [operand]
    if operator == "anything-but" and isinstance(operand, Mapping) and "wildcard" in operand:
        inner = operand["wildcard"]
        return list(inner) if _is_sequence(inner) else [inner]
    return []


def _require_string(value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise FilterError(f"{path}: needs a string, not {value!r}")


def _require_uniform_list(values: Sequence[Any], path: str) -> None:
    if not values:
        raise FilterError(f"{path}: the list may not be empty")
    if not (all(isinstance(v, str) for v in values) or all(_is_number(v) for v in values)):
        raise FilterError(f"{path}: the list must hold only strings or only numbers")


@dataclass(frozen=True)
class _Comparison:
    operator: str
    bound: Decimal

    def holds(self, value: Decimal) -> bool:
        if self.operator == "=":
            return value == self.bound
        if self.operator == "<":
            return value < self.bound
        if self.operator == "<=":
            return value <= self.bound
        if self.operator == ">":
            return value > self.bound
        return value >= self.bound


def _numeric_conditions(operand: Any, path: str) -> tuple[_Comparison, ...]:
    """Parse ``["op", n]`` or a lower and an upper bound, e.g. ``[">", 0, "<=", 5]``."""
    if not _is_sequence(operand) or len(operand) not in (2, 4):
        raise FilterError(f"{path}: needs [operator, number] or two such pairs: {operand!r}")
    comparisons = []
    for operator, bound in zip(operand[::2], operand[1::2], strict=True):
        if operator not in ("=", *_LOWER_BOUNDS, *_UPPER_BOUNDS):
            raise FilterError(f"{path}: unknown numeric operator {operator!r}")
        if not _is_number(bound):
            raise FilterError(f"{path}: {bound!r} after {operator!r} is not a number")
        value = _number_value(bound)
        if abs(value) > NUMERIC_LIMIT:
            raise FilterError(f"{path}: {bound!r} is outside -5.0e9 to 5.0e9")
        comparisons.append(_Comparison(operator, value))
    if len(comparisons) == 2:
        _check_range(comparisons[0], comparisons[1], path)
    return tuple(comparisons)


def _check_range(first: _Comparison, second: _Comparison, path: str) -> None:
    operators = {first.operator, second.operator}
    lower = first if first.operator in _LOWER_BOUNDS else second
    upper = second if lower is first else first
    if not (operators & _LOWER_BOUNDS and operators & _UPPER_BOUNDS):
        raise FilterError(f"{path}: a range needs one of > >= and one of < <=")
    if lower.bound >= upper.bound:
        # EventBridge wants the lower bound strictly below the upper one, even for >= and <=.
        raise FilterError(f"{path}: lower bound {lower.bound} is not below {upper.bound}")


# --------------------------------------------------------------------------- matching


def matches(pattern: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
    """Whether ``document`` matches the EventBridge event pattern ``pattern``.

    The pattern is validated first with every EventBridge operator allowed. Field names are
    joined with dots, as EventBridge does: ``{"state.status": [...]}`` and
    ``{"state": {"status": [...]}}`` are one pattern, and each matches both
    ``{"state.status": v}`` and ``{"state": {"status": v}}`` in the document.

    Args:
        pattern: The event pattern, parsed.
        document: The event (or other JSON object) to test.

    Returns:
        True when every field of the pattern matches.

    Raises:
        FilterError: The pattern is invalid.
    """
    validate_pattern(pattern, for_event_source_mapping=False)
    return _RULES.match_object(expand_dotted_keys(pattern), document)


def expand_dotted_keys(pattern: Mapping[str, Any]) -> dict[str, Any]:
    """The pattern with each dot-joined field name (``"a.b"``) nested (``{"a": {"b": ...}}``).

    Branches that land on the same field are merged; ``$or`` branches are expanded in turn.
    """
    expanded: dict[str, Any] = {}
    for key, value in pattern.items():
        if key == _OR:
            expanded[_OR] = [expand_dotted_keys(branch) for branch in value]
            continue
        if isinstance(value, Mapping):
            value = expand_dotted_keys(value)
        *parents, leaf = key.split(".")
        target = expanded
        for parent in parents:
            nested = target.get(parent)
            if not isinstance(nested, dict):
                nested = target[parent] = {}
            target = nested
        _merge_pattern(target, leaf, value)
    return expanded


def _merge_pattern(target: dict[str, Any], key: str, value: Any) -> None:
    existing = target.get(key)
    if isinstance(existing, dict) and isinstance(value, Mapping):
        for inner_key, inner_value in value.items():
            _merge_pattern(existing, inner_key, inner_value)
    elif _is_sequence(existing) and _is_sequence(value):
        # Two spellings of one leaf: EventBridge keeps the values of both.
        target[key] = [*cast("Sequence[Any]", existing), *value]
    else:
        target[key] = value


@dataclass(frozen=True)
class _Matcher:
    """Evaluates an expanded pattern against a document."""

    numbers_by_text: bool

    def match_object(self, pattern: Mapping[str, Any], document: Any) -> bool:
        for key, sub_pattern in pattern.items():
            if key == _OR:
                if not any(self.match_object(branch, document) for branch in sub_pattern):
                    return False
                continue
            found = _field_values(document, key, nested=isinstance(sub_pattern, Mapping))
            if isinstance(sub_pattern, Mapping):
                if not self.match_nested(sub_pattern, found):
                    return False
            elif not self.match_leaf(sub_pattern, found):
                return False
        return True

    def match_nested(self, pattern: Mapping[str, Any], found: list[Any]) -> bool:
        objects = [value for value in found if isinstance(value, Mapping)]
        if not objects:
            # Nothing to descend into: only conditions that hold for absent fields can match.
            return self.match_object(pattern, {})
        return any(self.match_object(pattern, value) for value in objects)

    def match_leaf(self, conditions: Sequence[Any], found: list[Any]) -> bool:
        # Objects are not leaves: exists and the value operators ignore them.
        leaves = [value for value in found if not isinstance(value, Mapping)]
        return any(self.match_condition(condition, leaves) for condition in conditions)

    def match_condition(self, condition: Any, leaves: list[Any]) -> bool:
        by_text = self.numbers_by_text
        if not isinstance(condition, Mapping):
            return any(_equals(condition, leaf, by_text=by_text) for leaf in leaves)
        ((operator, operand),) = condition.items()
        if operator == "exists":
            return bool(leaves) is operand
        if operator == "anything-but":
            return any(not self.excluded(operand, leaf) for leaf in leaves)
        if operator == "numeric":
            comparisons = _numeric_conditions(operand, operator)
            return any(_numeric_holds(comparisons, leaf) for leaf in leaves)
        test = _STRING_TESTS[operator]
        return any(isinstance(leaf, str) and test(operand, leaf) for leaf in leaves)

    def excluded(self, operand: Any, value: Any) -> bool:
        """Whether ``value`` is one that ``anything-but: operand`` rules out."""
        if isinstance(operand, Mapping):
            ((operator, inner),) = operand.items()
            if not isinstance(value, str):
                return False
            options = inner if _is_sequence(inner) else [inner]
            return any(_STRING_TESTS[operator](option, value) for option in options)
        options = operand if _is_sequence(operand) else [operand]
        return any(_equals(option, value, by_text=self.numbers_by_text) for option in options)


_RULES = _Matcher(numbers_by_text=False)
_ESM = _Matcher(numbers_by_text=ESM_NUMBERS_MATCH_BY_TEXT)


def _field_values(document: Any, key: str, *, nested: bool) -> list[Any]:
    """The values the field ``key`` has in ``document``, dot-joined names included.

    A document field named ``"a.b"`` is the field ``b`` of ``a``. For a nested pattern the
    document's ``a`` object and its dot-joined ``a.*`` fields are seen as one object.
    """
    if not isinstance(document, Mapping):
        return []
    found = _flatten(document[key]) if key in document else []
    if not nested or not any("." in name for name in document):
        return found
    dotted = key + "."
    joined = {
        name[len(dotted) :]: value for name, value in document.items() if name.startswith(dotted)
    }
    if not joined:
        return found
    objects = [value for value in found if isinstance(value, Mapping)]
    if len(objects) != 1:
        return [*found, joined]
    merged: dict[str, Any] = dict(objects[0])
    for name, value in joined.items():
        merged[name] = [*_flatten(merged[name]), *_flatten(value)] if name in merged else value
    return [*(value for value in found if value is not objects[0]), merged]


def _numeric_holds(comparisons: Sequence[_Comparison], value: Any) -> bool:
    if not _is_number(value):
        return False
    number = _number_value(value)
    return all(comparison.holds(number) for comparison in comparisons)


def _fold(text: str) -> str:
    return text.casefold()


def _affix_test(check: Callable[[str, str], bool]) -> Callable[[Any, str], bool]:
    def test(operand: Any, value: str) -> bool:
        if isinstance(operand, Mapping):
            return check(_fold(value), _fold(operand["equals-ignore-case"]))
        return check(value, operand)

    return test


def _ignore_case(operand: Any, value: str) -> bool:
    return _fold(operand) == _fold(value)


def _wildcard(operand: Any, value: str) -> bool:
    return _wildcard_regex(operand).fullmatch(value) is not None


def _cidr(operand: Any, value: str) -> bool:
    network = ipaddress.ip_network(operand, strict=False)
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return address in network


_STRING_TESTS: Mapping[str, Callable[[Any, str], bool]] = {
    "prefix": _affix_test(str.startswith),
    "suffix": _affix_test(str.endswith),
    "equals-ignore-case": _ignore_case,
    "wildcard": _wildcard,
    "cidr": _cidr,
}


# --------------------------------------------------------------------------- ESM filters


class _NotJson:
    """Marks a payload that is not a JSON document."""


NOT_JSON = _NotJson()


def is_json_document(text: str | bytes) -> Any:
    """Parse a record payload for filtering, or return :data:`NOT_JSON`.

    UNSPECIFIED: AWS says "valid JSON" without saying whether a bare string, number or
    boolean counts. The emulator counts only JSON objects and arrays, the payloads a data
    pattern (an object) can match; anything else is a plain string. A document nested
    deeper than :data:`~lambda_blueprints.testing._json.MAX_NESTING_DEPTH` is not parsed
    either: like any payload Lambda cannot parse, it is not JSON, so data patterns drop it
    and metadata patterns still see it.
    """
    try:
        document = loads_preserving_numbers(text)
    except (ValueError, UnicodeDecodeError):
        return NOT_JSON
    return document if isinstance(document, dict | list) else NOT_JSON


def kinesis_filter_document(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a Kinesis filter pattern is matched against (spec 7.2, row 18).

    UNSPECIFIED: the record's ``kinesis`` object, with ``data`` base64-decoded and parsed
    when it is a JSON document (:data:`NOT_JSON` otherwise). This supports both
    ``{"data": {...}}`` and the older ``{"partitionKey": [...], "data": {...}}`` forms.
    """
    if not isinstance(record.get("kinesis"), Mapping):
        raise ValueError("not a Kinesis record: no 'kinesis' object")
    document = dict(record["kinesis"])
    try:
        payload = base64.b64decode(document.get("data", ""), validate=True)
    except (binascii.Error, ValueError):
        document["data"] = NOT_JSON
    else:
        document["data"] = is_json_document(payload)
    return document


def dynamodb_filter_document(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a DynamoDB filter pattern is matched against (spec 7.3, row 18).

    UNSPECIFIED: the whole stream record, so ``eventName`` and the other top-level fields
    can be filtered on as well as ``dynamodb``.
    """
    if not isinstance(record.get("dynamodb"), Mapping):
        raise ValueError("not a DynamoDB stream record: no 'dynamodb' object")
    return dict(record)


def sqs_filter_document(record: Mapping[str, Any]) -> dict[str, Any]:
    """What an SQS filter pattern is matched against (spec 8): the record, ``body`` parsed.

    ``body`` stays the raw string when it is not a JSON document (see
    :func:`is_json_document`).
    """
    if not isinstance(record.get("body"), str):
        raise ValueError("not an SQS record: no string 'body'")
    document = dict(record)
    parsed = is_json_document(record["body"])
    if parsed is not NOT_JSON:
        document["body"] = parsed
    return document


_FILTER_DOCUMENTS: Mapping[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "kinesis": kinesis_filter_document,
    "dynamodb": dynamodb_filter_document,
    "sqs": sqs_filter_document,
}


class RecordFilter:
    """The compiled ``FilterCriteria`` of one event source mapping (see :func:`compile_filters`).

    Args:
        patterns: Validated, parsed patterns; a record is kept when any matches.
        source: The event source type.
    """

    def __init__(self, patterns: Sequence[Mapping[str, Any]], source: Source) -> None:
        self._patterns = tuple(patterns)
        self._source: Source = source

    @property
    def is_empty(self) -> bool:
        """True when there are no filters, so every record is kept."""
        return not self._patterns

    @property
    def patterns(self) -> tuple[Mapping[str, Any], ...]:
        """The parsed patterns."""
        return self._patterns

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether Lambda keeps ``record``, given exactly as it appears in the event.

        Raises:
            ValueError: The record does not have the shape of this source's records.
        """
        if self.is_empty:
            return True
        document = _FILTER_DOCUMENTS[self._source](record)
        return any(self._match(pattern, document) for pattern in self._patterns)

    def _match(self, pattern: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
        data_key = DATA_KEYS[self._source]
        if data_key not in pattern:
            return _ESM.match_object(pattern, document)
        pattern_wants_json = isinstance(pattern[data_key], Mapping)
        payload_is_json = isinstance(document.get(data_key), dict | list)
        if pattern_wants_json != payload_is_json:
            # A JSON / non-JSON mismatch between payload and pattern drops the record.
            return False
        return _ESM.match_object(pattern, document)


def compile_filters(filter_criteria: Mapping[str, Any] | None, source: Source) -> RecordFilter:
    """Validate an event source mapping's ``FilterCriteria`` and compile it.

    Args:
        filter_criteria: ``{"Filters": [{"Pattern": "<JSON text>"}, ...]}`` as in
            CloudFormation and the Lambda API. None, ``{}`` or no filters keep everything.
        source: ``kinesis``, ``dynamodb`` or ``sqs``.

    Returns:
        The filter to apply to each record.

    Raises:
        FilterError: More than :data:`MAX_FILTERS` filters, a pattern longer than
            :data:`MAX_PATTERN_LENGTH`, a pattern that is not JSON, an invalid pattern,
            or a data pattern that cannot match this source's payload.
        ValueError: ``source`` is not a filterable source.
    """
    if source not in DATA_KEYS:
        raise ValueError(f"source {source!r} is not one of {sorted(DATA_KEYS)}")
    if not filter_criteria:
        return RecordFilter((), source)
    if not isinstance(filter_criteria, Mapping):
        raise FilterError(f"FilterCriteria must be an object, not {filter_criteria!r}")
    filters = filter_criteria.get("Filters") or []
    if not _is_sequence(filters):
        raise FilterError("FilterCriteria.Filters must be an array")
    if len(filters) > MAX_FILTERS:
        raise FilterError(f"FilterCriteria has {len(filters)} filters; at most {MAX_FILTERS}")
    patterns = [
        _compile_pattern(item, source, f"Filters[{index}].Pattern")
        for index, item in enumerate(filters)
    ]
    return RecordFilter(patterns, source)


def _compile_pattern(item: Any, source: Source, path: str) -> Mapping[str, Any]:
    text = item.get("Pattern") if isinstance(item, Mapping) else None
    if not isinstance(text, str):
        raise FilterError(f"{path}: each filter needs a Pattern string")
    if len(text) > MAX_PATTERN_LENGTH:
        raise FilterError(f"{path}: {len(text)} characters; at most {MAX_PATTERN_LENGTH}")
    try:
        pattern = loads_preserving_numbers(text)
    except ValueError as error:
        raise FilterError(f"{path}: not valid JSON ({error}): {text!r}") from error
    _Validator(esm=True).fields(pattern, path)
    pattern = expand_dotted_keys(pattern)
    data_key = DATA_KEYS[source]
    if source != "sqs" and data_key in pattern and not isinstance(pattern[data_key], Mapping):
        raise FilterError(
            f"{path}: the pattern for {data_key!r} must be a JSON object for {source} sources"
        )
    return dict(pattern)
