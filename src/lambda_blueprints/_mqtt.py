"""MQTT topic names and topic filters: the matching rules of MQTT 3.1.1 and MQTT 5 (4.7).

Private and standard library only, so that the constructs (which may not import the local
cloud) and the local cloud (which may not import CDK code) share one implementation.

The rules:

* A topic is split into levels at every ``/``; a level may be empty (``a//b`` has three
  levels, ``/a`` starts with an empty one) and names are case-sensitive.
* ``+`` fills a whole level of a filter and matches exactly one level of the topic, an
  empty one included: ``a/+`` matches ``a/`` but not ``a`` or ``a/b/c``.
* ``#`` fills the last level of a filter and matches its parent level and any number of
  levels below it: ``a/#`` matches ``a``, ``a/`` and ``a/b/c``; ``#`` alone matches
  every topic.
* A filter whose first character is a wildcard never matches a topic that starts with
  ``$`` (``$SYS/...``, AWS IoT's ``$aws/...``): those have to be named, as in
  ``$aws/things/+/shadow/update``.
* Topic names hold no wildcards; neither names nor filters are empty or contain U+0000.

Service limits (AWS IoT's 256 bytes and 7 slashes, reserved topics) are the callers' to
check: they differ between what a rule reads and what a device may publish.
"""

from __future__ import annotations

import functools

SEPARATOR = "/"
SINGLE_LEVEL = "+"
MULTI_LEVEL = "#"
_WILDCARDS = (SINGLE_LEVEL, MULTI_LEVEL)


def validate_topic_name(topic: str) -> None:
    """Check that ``topic`` can be published to: not empty, no wildcard, no NUL character.

    Raises:
        ValueError: The topic is empty or holds ``+``, ``#`` or U+0000.
    """
    if not topic:
        raise ValueError("a topic name is at least one character long")
    if SINGLE_LEVEL in topic or MULTI_LEVEL in topic:
        raise ValueError(f"topic {topic!r}: a topic name cannot hold the wildcards + or #")
    if "\0" in topic:
        raise ValueError(f"topic {topic!r}: a topic name cannot hold the NUL character")


def validate_topic_filter(topic_filter: str) -> None:
    """Check an MQTT topic filter: wildcards fill whole levels and ``#`` is the last one.

    Raises:
        ValueError: The filter is empty, holds U+0000, or places a wildcard wrongly.
    """
    _filter_levels(topic_filter)


def has_wildcard(topic_filter: str) -> bool:
    """Whether a (valid) topic filter has a ``+`` or ``#`` level."""
    return any(level in _WILDCARDS for level in topic_filter.split(SEPARATOR))


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether the MQTT ``topic_filter`` matches the topic name ``topic``.

    Args:
        topic_filter: A filter, with ``+`` and ``#`` wildcards or without.
        topic: A topic name, without wildcards.

    Returns:
        True when every level matches, as the module documentation describes.

    Raises:
        ValueError: The filter or the topic name is not valid MQTT.
    """
    wanted = _filter_levels(topic_filter)
    validate_topic_name(topic)
    if topic.startswith("$") and wanted[0] in _WILDCARDS:
        return False
    levels = topic.split(SEPARATOR)
    for position, level in enumerate(wanted):
        if level == MULTI_LEVEL:
            # Also true when the topic ends one level above: "a/#" matches "a".
            return True
        if position >= len(levels):
            return False
        if level != SINGLE_LEVEL and level != levels[position]:
            return False
    return len(wanted) == len(levels)


@functools.lru_cache(maxsize=1024)
def _filter_levels(topic_filter: str) -> tuple[str, ...]:
    # Cached: the same few rule filters are matched against every published message.
    if not topic_filter:
        raise ValueError("a topic filter is at least one character long")
    if "\0" in topic_filter:
        raise ValueError(f"topic filter {topic_filter!r} cannot hold the NUL character")
    levels = tuple(topic_filter.split(SEPARATOR))
    for position, level in enumerate(levels):
        if MULTI_LEVEL in level and (level != MULTI_LEVEL or position != len(levels) - 1):
            raise ValueError(
                f"topic filter {topic_filter!r}: '#' must be a whole level and the last one"
            )
        if SINGLE_LEVEL in level and level != SINGLE_LEVEL:
            raise ValueError(f"topic filter {topic_filter!r}: '+' must be a whole level")
    return levels


__all__ = [
    "has_wildcard",
    "topic_matches",
    "validate_topic_filter",
    "validate_topic_name",
]
