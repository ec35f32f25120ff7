"""The pattern matcher against EventBridge's own verdicts, case by recorded case.

Each case was run against AWS's ``TestEventPattern`` API. Its file name gives the outcome:
``<name>.json`` matches, ``<name>_NEG.json`` is valid and does not match, ``<name>_EXC.json``
is a pattern AWS refuses. The event and the pattern are given to the matcher as JSON text,
as they were given to AWS.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambda_blueprints.testing.filtering import (
    FilterError,
    loads_preserving_numbers,
    matches,
    validate_pattern,
)
from tests.conftest import conformance_files, require_conformance

CASES = conformance_files("eventbridge-patterns")


def _expected(case: Path) -> str:
    if case.stem.endswith("_EXC"):
        return "refused"
    return "no match" if case.stem.endswith("_NEG") else "match"


def _verdict(event_text: str, pattern_text: str) -> str:
    pattern = loads_preserving_numbers(pattern_text)
    try:
        validate_pattern(pattern, for_event_source_mapping=False)
    except FilterError:
        return "refused"
    return "match" if matches(pattern, loads_preserving_numbers(event_text)) else "no match"


def test_the_recorded_cases_are_all_there() -> None:
    require_conformance("eventbridge-patterns")
    assert len(CASES) == 155
    outcomes = [_expected(case) for case in CASES]
    assert {outcome: outcomes.count(outcome) for outcome in set(outcomes)} == {
        "match": 66,
        "no match": 51,
        "refused": 38,
    }


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_the_matcher_agrees_with_eventbridge(case: Path) -> None:
    recorded = json.loads(case.read_text())
    verdict = _verdict(json.dumps(recorded["Event"]), json.dumps(recorded["EventPattern"]))
    assert verdict == _expected(case), recorded.get("source", "")
