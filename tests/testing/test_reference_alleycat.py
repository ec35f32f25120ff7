"""The Alleycat reference computations, against values worked out by hand."""

from __future__ import annotations

from decimal import Decimal

from lambda_blueprints.testing.reference.alleycat import (
    expected_personal_bests,
    expected_rankings,
    plausible_total_limit,
    second_output,
    within_trust_rules,
)


def bike(racer: int, second: int, total: float, *, cadence: int = 80, resistance: int = 50) -> dict:
    return {
        "raceId": 9,
        "classId": 4,
        "racerId": racer,
        "second": second,
        "cadence": cadence,
        "resistance": resistance,
        "total": total,
    }


def test_second_output_is_the_series_formula_to_the_cent() -> None:
    assert second_output(80, 78) == Decimal("164.45")  # 115 x 143 / 100
    assert second_output(0, 0) == Decimal("22.75")  # 35 x 65 / 100
    assert second_output(1, 0) == Decimal("23.40")  # 36 x 65 / 100
    assert second_output(36, 1) == Decimal("46.86")  # 71 x 66 / 100 = 46.86


def test_rankings_keep_each_racers_highest_total_ties_by_racer_id() -> None:
    messages = [bike(2, 1, 10.5), bike(1, 1, 30), bike(2, 2, 30), bike(3, 1, 5), bike(1, 2, 20)]

    assert expected_rankings(messages) == {9: [(1, Decimal(30)), (2, Decimal(30)), (3, Decimal(5))]}


def test_personal_bests_keep_the_best_output_per_racer_and_second() -> None:
    messages = [
        bike(1, 1, 0, cadence=80, resistance=78),  # 164.45
        bike(1, 1, 0, cadence=0, resistance=0),  # 22.75: not better
        bike(1, 2, 0, cadence=0, resistance=0),  # 22.75
        bike(2, 1, 0, cadence=1, resistance=0),  # 23.40
    ]

    assert expected_personal_bests(messages) == {
        4: {"1": {"1": "164.45", "2": "22.75"}, "2": {"1": "23.40"}}
    }


def test_the_plausible_total_is_the_best_seconds_work_for_each_second_plus_one_percent() -> None:
    # (300 + 35) x (100 + 65) / 100 = 552.75 a second at most.
    assert plausible_total_limit(0) == Decimal("558.2775")  # 552.75 x 1 x 1.01
    assert plausible_total_limit(299) == Decimal("167483.25")  # 552.75 x 300 x 1.01


def test_the_trust_rules_need_a_ridable_total_and_the_racers_own_bike() -> None:
    assert within_trust_rules(bike(7, 10, 6141.05))
    assert not within_trust_rules(bike(7, 10, 6141.06))
    assert within_trust_rules(bike(7, 10, 100), publisher="7")
    assert not within_trust_rules(bike(7, 10, 100), publisher="8")
