"""API Gateway mapping templates: Velocity, with the variables API Gateway gives a template.

REST APIs transform requests and responses of non-proxy integrations (and answer mock
integrations) with mapping templates written in the Velocity Template Language. The local
cloud renders them with `airspeed <https://pypi.org/project/airspeed/>`_, a Python Velocity
engine, and gives each template what API Gateway gives it:

* ``$input.body`` (the raw payload), ``$input.json(path)`` (JSON text of a JSONPath
  selection), ``$input.path(path)`` (the selection as an object: maps, lists, strings,
  numbers), ``$input.params()`` (``path``, ``querystring`` and ``header`` maps) and
  ``$input.params(name)`` (a path parameter, else a query string parameter, else a header);
* ``$util.escapeJavaScript``, ``parseJson``, ``urlEncode``, ``urlDecode``,
  ``base64Encode`` and ``base64Decode``;
* ``$context`` (request id, stage, method, paths, identity, ...), ``$stageVariables``, and
  ``$context.responseOverride.status`` / ``$context.responseOverride.header.<name>``,
  which a response template may set.

Rendering follows API Gateway where it differs from plain Velocity: a reference to
nothing renders as nothing (not as its own text), ``true`` and ``false`` render in lower
case, and maps and lists render as Java's ``{a=1, b=2}`` and ``[1, 2]``. Values taken from
the request carry the Java methods templates call on them (``size()``, ``keySet()``,
``get()``, ``containsKey()``, ``length()``, ``substring()``, ``indexOf()``, ``split()``
with Java's regular expression and trailing-empty rules, ``replaceAll()``, ``trim()``,
``toLowerCase()``, ``matches()``, ...).

JSONPath selections support ``$``, ``.name``, ``['name']``, ``[index]`` (negative counts
from the end) and ``[*]`` / ``.*``. A body that is not JSON is the string itself at ``$``
(form posts are read with ``$input.path('$')`` or ``$input.body``) and nothing below it.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import airspeed

__all__ = [
    "MappingTemplateError",
    "RenderedTemplate",
    "escape_javascript",
    "render_template",
    "select",
]


class MappingTemplateError(Exception):
    """A template that cannot be parsed or fails while rendering (API Gateway answers 500)."""


@dataclass(frozen=True)
class RenderedTemplate:
    """A rendered template and what it asked to override.

    Attributes:
        text: The rendered text.
        status: ``$context.responseOverride.status``, when the template set it.
        headers: ``$context.responseOverride.header.<name>`` values the template set.
    """

    text: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


def render_template(
    template: str,
    *,
    body: str = "",
    path_parameters: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
    stage_variables: Mapping[str, str] | None = None,
) -> RenderedTemplate:
    """Render an API Gateway mapping template.

    Args:
        template: The Velocity template.
        body: The payload the template transforms (the request body, or the integration's
            response body).
        path_parameters: The request's path parameters.
        query: The request's query string parameters (one value each: the last one given).
        headers: The request's headers (one value each).
        context: The ``$context`` variables.
        stage_variables: The stage's variables.

    Returns:
        The rendered text and any response overrides the template set.

    Raises:
        MappingTemplateError: The template does not parse, or fails while rendering.
    """
    overrides: dict[str, Any] = {"status": None, "header": {}}
    namespace = {
        "input": _Input(body, path_parameters or {}, query or {}, headers or {}),
        "util": _Util(),
        "context": {**_java(dict(context or {})), "responseOverride": overrides},
        "stageVariables": _java(dict(stage_variables or {})),
    }
    compiled = _compile(template)
    try:
        text = compiled.merge(namespace)
    except (airspeed.TemplateError, RecursionError) as error:
        raise MappingTemplateError(f"the mapping template failed: {error}") from error
    status = overrides.get("status")
    if status is not None:
        try:
            status = int(str(status))
        except ValueError as error:
            raise MappingTemplateError(
                f"$context.responseOverride.status is {status!r}, not a status code"
            ) from error
    header_overrides = overrides.get("header")
    return RenderedTemplate(
        text=text,
        status=status,
        headers={
            str(k): _render(v)
            for k, v in (header_overrides if isinstance(header_overrides, dict) else {}).items()
        },
    )


def _compile(template: str) -> airspeed.Template:
    compiled = airspeed.Template(template)
    try:
        compiled.ensure_compiled()
    except airspeed.TemplateError as error:
        raise MappingTemplateError(f"the mapping template does not parse: {error}") from error
    _quiet(compiled.root_element)
    return compiled


class _Reference(airspeed.FormalReference):  # type: ignore[misc]
    """A reference rendered as API Gateway renders it: nothing for null, Java's text else."""

    def evaluate_raw(self, stream: Any, namespace: Any, loader: Any) -> None:
        value = None
        if self.expression is not None:
            value = self.expression.calculate(namespace, loader)
        if value is None and self.alternate is not None:
            value = self.alternate.calculate(namespace, loader)
        stream.write(_render(value))


def _quiet(root: Any) -> None:
    """Make every reference of a compiled template render the API Gateway way."""
    pending = [root]
    seen: set[int] = set()
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if type(node) is airspeed.FormalReference:
            node.__class__ = _Reference
        elif type(node) is airspeed.StringLiteral:
            # Velocity keeps a backslash in a string literal as it is; airspeed reads escapes.
            node.value = node.my_text()[1:-1]
        elif type(node) is airspeed.InterpolatedStringLiteral:
            node.block = airspeed.Block(node.filename, node.my_text()[1:-1], 0)
        for value in vars(node).values():
            if isinstance(value, airspeed._Element):  # the parse tree's base class
                pending.append(value)
            elif isinstance(value, list | tuple):
                pending.extend(v for v in value if isinstance(v, airspeed._Element))


def _render(value: Any) -> str:
    """A value as Java's ``toString`` writes it, and null as nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_render(k)}={_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return str(value)


def _java_double(value: float) -> str:
    """``Double.toString``: plain from 10^-3 up to 10^7, else ``<digit>.<digits>E<power>``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)  # shortest digits that read back, never in exponent form here
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)  # noqa: S101 - finite by now
    text = "".join(str(d) for d in digits)
    power = exponent + len(text) - 1
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"


# -- Java-like values -------------------------------------------------------------------


class _JavaString(str):
    """A string with the Java ``String`` methods templates call."""

    __slots__ = ()

    def length(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:  # noqa: N802 - Java's name
        return not self

    def substring(self, begin: int, end: int | None = None) -> _JavaString:
        stop = len(self) if end is None else int(end)
        if not 0 <= int(begin) <= stop <= len(self):
            raise IndexError(f"substring({begin}, {end}) of a string of length {len(self)}")
        return _JavaString(str.__getitem__(self, slice(int(begin), stop)))

    def charAt(self, index: int) -> _JavaString:  # noqa: N802
        return _JavaString(str.__getitem__(self, int(index)))

    def indexOf(self, text: str, start: int = 0) -> int:  # noqa: N802
        return self.find(str(text), int(start))

    def lastIndexOf(self, text: str) -> int:  # noqa: N802
        return self.rfind(str(text))

    def contains(self, text: str) -> bool:
        return str(text) in self

    def startsWith(self, prefix: str) -> bool:  # noqa: N802
        return self.startswith(str(prefix))

    def endsWith(self, suffix: str) -> bool:  # noqa: N802
        return self.endswith(str(suffix))

    def equals(self, other: Any) -> bool:
        return isinstance(other, str) and str(self) == str(other)

    def equalsIgnoreCase(self, other: Any) -> bool:  # noqa: N802
        return isinstance(other, str) and self.lower() == other.lower()

    def matches(self, pattern: str) -> bool:
        return re.fullmatch(str(pattern), self) is not None

    def trim(self) -> _JavaString:
        # Java's trim() removes every character up to U+0020, and nothing else.
        return _JavaString(self.strip("".join(chr(c) for c in range(0x21))))

    def toLowerCase(self) -> _JavaString:  # noqa: N802
        return _JavaString(self.lower())

    def toUpperCase(self) -> _JavaString:  # noqa: N802
        return _JavaString(self.upper())

    def concat(self, other: str) -> _JavaString:
        return _JavaString(str(self) + str(other))

    def replace(self, old: str, new: str, count: Any = -1) -> _JavaString:
        return _JavaString(str.replace(self, str(old), str(new), count))

    def replaceAll(self, pattern: str, replacement: str) -> _JavaString:  # noqa: N802
        return _JavaString(re.sub(str(pattern), _java_replacement(str(replacement)), self))

    def replaceFirst(self, pattern: str, replacement: str) -> _JavaString:  # noqa: N802
        return _JavaString(re.sub(str(pattern), _java_replacement(str(replacement)), self, count=1))

    def split(self, pattern: str, limit: int = 0) -> _JavaList:  # type: ignore[override]
        """Java's ``String.split``: a regular expression, trailing empty strings dropped."""
        regex = re.compile(str(pattern))
        limit = int(limit)
        if not self:
            return _JavaList([_JavaString("")])
        parts: list[str] = []
        start = 0
        for match in regex.finditer(self):
            if 0 < limit <= len(parts) + 1:
                break
            if match.end() == 0:
                continue  # a zero-width match at the start makes no leading empty string
            parts.append(str.__getitem__(self, slice(start, match.start())))
            start = match.end()
        parts.append(str.__getitem__(self, slice(start, None)))
        if limit == 0:
            while len(parts) > 1 and parts[-1] == "":
                parts.pop()
            if parts == [""]:
                parts = []
        return _JavaList(_JavaString(part) for part in parts)

    def toString(self) -> _JavaString:  # noqa: N802
        return self


def _java_replacement(replacement: str) -> Callable[[re.Match[str]], str]:
    r"""Java's replacement syntax (``$1``, ``\\$``) as a function for :func:`re.sub`."""

    def expand(match: re.Match[str]) -> str:
        out: list[str] = []
        index = 0
        while index < len(replacement):
            char = replacement[index]
            if char == "\\" and index + 1 < len(replacement):
                out.append(replacement[index + 1])
                index += 2
            elif char == "$" and index + 1 < len(replacement) and replacement[index + 1].isdigit():
                out.append(match.group(int(replacement[index + 1])) or "")
                index += 2
            else:
                out.append(char)
                index += 1
        return "".join(out)

    return expand


class _JavaList(list[Any]):
    """A list with the Java ``List`` methods templates call."""

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:  # noqa: N802
        return not self

    def get(self, index: int) -> Any:
        return self[int(index)]

    def contains(self, value: Any) -> bool:
        return value in self

    def add(self, value: Any) -> bool:
        self.append(value)
        return True

    def toString(self) -> str:  # noqa: N802
        return _render(self)


class _JavaMap(dict[str, Any]):
    """A map with the Java ``Map`` methods templates call."""

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:  # noqa: N802
        return not self

    def keySet(self) -> _JavaList:  # noqa: N802
        return _JavaList(_JavaString(k) for k in self)

    def containsKey(self, key: Any) -> bool:  # noqa: N802
        return key in self

    def put(self, key: str, value: Any) -> Any:
        previous = dict.get(self, key)
        self[key] = value
        return previous

    def toString(self) -> str:  # noqa: N802
        return _render(self)


def _java(value: Any) -> Any:
    """JSON-like data as values with Java's methods."""
    if isinstance(value, dict):
        return _JavaMap((str(k), _java(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return _JavaList(_java(v) for v in value)
    if isinstance(value, str) and not isinstance(value, _JavaString):
        return _JavaString(value)
    return value


# -- $input and $util -------------------------------------------------------------------


class _Input:
    """``$input``: the payload and the request's parameters."""

    def __init__(
        self,
        body: str,
        path_parameters: Mapping[str, str],
        query: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> None:
        self.body = _JavaString(body)
        self._path = _java(dict(path_parameters))
        self._query = _java(dict(query))
        self._headers = _java(dict(headers))
        self._parsed: tuple[bool, Any] | None = None

    def _document(self) -> tuple[bool, Any]:
        if self._parsed is None:
            if not self.body.strip():
                self._parsed = (True, {})
            else:
                try:
                    self._parsed = (True, json.loads(self.body))
                except ValueError:
                    self._parsed = (False, str(self.body))
        return self._parsed

    def path(self, expression: str) -> Any:
        is_json, document = self._document()
        if not is_json:
            return _JavaString(document) if _is_root(expression) else None
        found = select(document, str(expression))
        return _java(found)

    def json(self, expression: str) -> str:
        is_json, document = self._document()
        if not is_json:
            return json.dumps(document) if _is_root(expression) else ""
        found = select(document, str(expression))
        return json.dumps(found, separators=(",", ":"), ensure_ascii=False)

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return _JavaMap(path=self._path, querystring=self._query, header=self._headers)
        wanted = str(name)
        if wanted in self._path:
            return self._path[wanted]
        if wanted in self._query:
            return self._query[wanted]
        for key, value in self._headers.items():
            if key.lower() == wanted.lower():
                return value
        return None


class _Util:
    """``$util``: escaping, encoding and JSON parsing."""

    def escapeJavaScript(self, value: Any) -> _JavaString | None:  # noqa: N802
        return None if value is None else _JavaString(escape_javascript(_render(value)))

    def parseJson(self, value: Any) -> Any:  # noqa: N802
        try:
            return _java(json.loads(str(value)))
        except ValueError as error:
            raise ValueError(f"$util.parseJson: not JSON: {str(value)[:80]!r}") from error

    def urlEncode(self, value: Any) -> _JavaString:  # noqa: N802
        # java.net.URLEncoder: letters, digits and .-*_ stay; space is +; ~ is encoded.
        return _JavaString(quote_plus(_render(value), safe="*").replace("~", "%7E"))

    def urlDecode(self, value: Any) -> _JavaString:  # noqa: N802
        return _JavaString(unquote_plus(_render(value)))

    def base64Encode(self, value: Any) -> _JavaString:  # noqa: N802
        return _JavaString(base64.b64encode(_render(value).encode()).decode("ascii"))

    def base64Decode(self, value: Any) -> _JavaString:  # noqa: N802
        try:
            decoded = base64.b64decode(_render(value), validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValueError("$util.base64Decode: not base64") from error
        return _JavaString(decoded.decode("utf-8", errors="replace"))


_JS_ESCAPES = {
    '"': '\\"',
    "'": "\\'",
    "\\": "\\\\",
    "/": "\\/",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def escape_javascript(text: str) -> str:
    r"""Escape ``text`` by JavaScript string rules, as ``$util.escapeJavaScript`` does.

    Quotes (both kinds), backslash and ``/`` get a backslash; ``\\b \\f \\n \\r \\t`` their
    short escapes; other control characters and every character above U+007E a ``\\uXXXX``
    escape (UTF-16 code units, upper-case hex). An escaped single quote (``\\'``) is not
    valid JSON: a template that puts the result in a JSON string may need to undo it.
    """
    out: list[str] = []
    for char in text:
        escaped = _JS_ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif ord(char) < 0x20 or ord(char) > 0x7E:
            encoded = char.encode("utf-16-be")
            out.extend(
                f"\\u{int.from_bytes(encoded[i : i + 2], 'big'):04X}"
                for i in range(0, len(encoded), 2)
            )
        else:
            out.append(char)
    return "".join(out)


# -- JSONPath ---------------------------------------------------------------------------

_STEP = re.compile(
    r"""\.(?P<name>[A-Za-z_$][\w$-]*)
      | \.(?P<star>\*)
      | \[\s*(?P<index>-?\d+)\s*\]
      | \[\s*(?P<bstar>\*)\s*\]
      | \[\s*'(?P<quoted>(?:[^'\\]|\\.)*)'\s*\]
      | \[\s*"(?P<dquoted>(?:[^"\\]|\\.)*)"\s*\]
    """,
    re.VERBOSE,
)


def _is_root(expression: str) -> bool:
    return str(expression).strip() == "$"


def select(document: Any, expression: str) -> Any:
    """The part of ``document`` a JSONPath expression selects; None when it selects nothing.

    A wildcard step makes the result a list of every match.

    Raises:
        ValueError: An expression outside the supported subset.
    """
    text = str(expression).strip()
    if not text.startswith("$"):
        raise ValueError(f"a JSONPath expression starts with $: {expression!r}")
    position = 1
    values: list[Any] = [document]
    many = False
    while position < len(text):
        step = _STEP.match(text, position)
        if step is None:
            raise ValueError(f"JSONPath {expression!r}: cannot read from {text[position:]!r}")
        position = step.end()
        values, expanded = _step(values, step)
        many = many or expanded
    if many:
        return values
    return values[0] if values else None


def _step(values: Iterable[Any], step: re.Match[str]) -> tuple[list[Any], bool]:
    name = step.group("name") or _unescape(step.group("quoted"), step.group("dquoted"))
    out: list[Any] = []
    if name is not None:
        out = [v[name] for v in values if isinstance(v, dict) and name in v]
        return out, False
    if step.group("index") is not None:
        index = int(step.group("index"))
        for value in values:
            if isinstance(value, list) and -len(value) <= index < len(value):
                out.append(value[index])
        return out, False
    for value in values:
        if isinstance(value, dict):
            out.extend(value.values())
        elif isinstance(value, list):
            out.extend(value)
    return out, True


def _unescape(single: str | None, double: str | None) -> str | None:
    quoted = single if single is not None else double
    if quoted is None:
        return None
    return re.sub(r"\\(.)", r"\1", quoted)
