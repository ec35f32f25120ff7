"""MQTT topic filters as the local cloud's rules engine matches them (MQTT 3.1.1 / 5, 4.7).

The cases follow the examples of the MQTT specification. The construct tests run the same
table against ``IotTopicToKinesis``'s matcher: a grant and a rule must agree.
"""

from __future__ import annotations

import pytest

from lambda_blueprints.testing import topic_matches
from lambda_blueprints.testing.iot import validate_topic_filter

#: (filter, topic, matches) following the MQTT specification's rules and examples.
MQTT_CASES: list[tuple[str, str, bool]] = [
    # Levels match exactly, case-sensitively.
    ("sport/tennis/player1", "sport/tennis/player1", True),
    ("sport/tennis/player1", "sport/tennis/Player1", False),
    ("sport/tennis", "sport/tennis/player1", False),
    ("sport/tennis/player1", "sport/tennis", False),
    # "+" is exactly one level, an empty one included.
    ("sport/tennis/+", "sport/tennis/player1", True),
    ("sport/tennis/+", "sport/tennis/player1/ranking", False),
    ("sport/+", "sport", False),
    ("sport/+", "sport/", True),
    ("+", "finance", True),
    ("+/+", "/finance", True),
    ("/+", "/finance", True),
    ("+", "/finance", False),
    ("+/tennis/#", "sport/tennis/player1", True),
    # "#" is the parent level and any number of levels below it.
    ("sport/#", "sport", True),
    ("sport/#", "sport/", True),
    ("sport/tennis/#", "sport/tennis/player1/ranking/wimbledon", True),
    ("sport/tennis/#", "sport/tennisplayer1", False),
    ("#", "sport/tennis/player1", True),
    ("#", "/", True),
    # Empty levels are levels.
    ("a//b", "a//b", True),
    ("a/+/b", "a//b", True),
    ("a/b", "a//b", False),
    ("a/b/", "a/b", False),
    ("a/b", "a/b/", False),
    # A filter starting with a wildcard never matches a topic starting with "$".
    ("#", "$SYS/monitor/Clients", False),
    ("+/monitor/Clients", "$SYS/monitor/Clients", False),
    ("#", "$aws/things/t/shadow/update", False),
    ("+/things/t/shadow/update", "$aws/things/t/shadow/update", False),
    ("$SYS/#", "$SYS/monitor/Clients", True),
    ("$SYS/monitor/+", "$SYS/monitor/Clients", True),
    ("$aws/things/+/shadow/update", "$aws/things/t/shadow/update", True),
    # ...but "$" elsewhere is an ordinary character.
    ("a/#", "a/$b", True),
    ("+/b", "a$/b", True),
]


@pytest.mark.parametrize(("topic_filter", "topic", "expected"), MQTT_CASES)
def test_filters_match_topics_by_the_mqtt_rules(
    topic_filter: str, topic: str, expected: bool
) -> None:
    assert topic_matches(topic_filter, topic) is expected


@pytest.mark.parametrize(
    "topic_filter", ["+", "#", "/", "//", "+/+", "sport/+/player1", "sport/#", "$aws/things/+"]
)
def test_valid_filters_are_accepted(topic_filter: str) -> None:
    validate_topic_filter(topic_filter)


@pytest.mark.parametrize(
    ("topic_filter", "message"),
    [
        ("", "at least one character"),
        ("sport/tennis#", "'#' must be a whole level"),
        ("sport/#/ranking", "'#' must be a whole level and the last one"),
        ("#/a", "the last one"),
        ("sport+", "'\\+' must be a whole level"),
        ("sport/+tennis", "'\\+' must be a whole level"),
        ("a\0b", "NUL"),
    ],
)
def test_invalid_filters_are_refused(topic_filter: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_topic_filter(topic_filter)
    with pytest.raises(ValueError, match=message):
        topic_matches(topic_filter, "sport/tennis")


@pytest.mark.parametrize(
    ("topic", "message"),
    [("", "at least one character"), ("sport/+", "wildcards"), ("sport/#", "wildcards")],
)
def test_a_topic_name_with_a_wildcard_is_refused(topic: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        topic_matches("#", topic)
