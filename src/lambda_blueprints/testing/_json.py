"""JSON from users' payloads, parsed within a nesting depth that cannot exhaust the stack.

Python's parser, serializer and every recursive walk over a parsed document use one stack
frame per nesting level, and the interpreter stops at about 1,000: a payload of a couple of
kilobytes (``[[[[...]]]]``) would otherwise crash the local cloud with ``RecursionError``
wherever it goes. AWS treats a payload it cannot parse as one that is not JSON: Lambda
filters match it on metadata only, EventBridge refuses it as a ``Detail``, IoT rules pass it
through ``SELECT *`` as bytes. :func:`loads` makes a too-deep document one of those.

UNSPECIFIED: AWS documents no nesting limit for these payloads. The local cloud's is
:data:`MAX_NESTING_DEPTH`, far beyond real documents and far enough below the interpreter's
limit to leave room for the frames of the engine and of the handler.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

#: The deepest nesting of arrays and objects the local cloud parses as JSON: ``[]`` is 1
#: deep, ``{"a": [1]}`` 2. Deeper payloads are treated as not JSON.
MAX_NESTING_DEPTH = 512

# A JSON string (escapes included) or one bracket; brackets inside strings do not nest.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class JsonTooDeepError(ValueError):
    """A JSON document nested deeper than the local cloud parses (see the module)."""


def too_deep(text: str, limit: int = MAX_NESTING_DEPTH) -> bool:
    """Whether JSON ``text`` nests arrays and objects more than ``limit`` levels deep.

    Linear in the text and without recursion; brackets inside strings do not count. The
    text need not be valid JSON.
    """
    # Fewer brackets than the limit cannot nest past it: most payloads stop here.
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(text):
        piece = match.group()
        if piece == "[" or piece == "{":
            depth += 1
            if depth > limit:
                return True
        elif piece == "]" or piece == "}":
            depth -= 1
    return False


def loads(text: str | bytes | bytearray, **options: Any) -> Any:
    """:func:`json.loads` for payloads, refusing documents nested too deeply.

    Args:
        text: JSON text; bytes are decoded as :func:`json.loads` decodes them (UTF-8,
            UTF-16 or UTF-32).
        **options: Passed on to :func:`json.loads` (``parse_float`` and the like).

    Raises:
        JsonTooDeepError: The document nests deeper than :data:`MAX_NESTING_DEPTH`.
        ValueError: The text is not JSON (``json.JSONDecodeError``, ``UnicodeDecodeError``).
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")
    if too_deep(text):
        raise JsonTooDeepError(
            f"the JSON document nests deeper than {MAX_NESTING_DEPTH} levels of arrays and "
            "objects, which the local cloud does not parse"
        )
    return json.loads(text, **options)


def check_depth(value: Any, what: str, limit: int = MAX_NESTING_DEPTH) -> None:
    """Refuse a Python value (dicts and lists) nested deeper than ``limit``, iteratively.

    Raises:
        JsonTooDeepError: ``value`` nests more than ``limit`` levels of containers.
    """
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth + 1 > limit:
            raise JsonTooDeepError(
                f"{what} nests deeper than {limit} levels of arrays and objects, which the "
                "local cloud does not take as JSON"
            )
        pending.extend((child, depth + 1) for child in children)
