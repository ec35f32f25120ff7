"""`make demo` runs: the database trigger on the local cloud, with faults, nothing lost."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_demo_delivers_every_change_despite_the_faults() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), "--users", "12"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "nothing lost: 28 audited + 2 parked with their reason = 30 of 30 changes" in (
        completed.stdout
    )
    assert "history of u-4:" in completed.stdout
    assert "30/30 records" in completed.stderr


def test_race_demo_prints_the_leaderboard_and_matches_brute_force() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "race_demo.py"),
            "--racers",
            "40",
            "--seconds",
            "30",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "[ 15 s]" in completed.stdout
    assert "40 racers" in completed.stdout
    assert "results equal brute force; personal bests equal brute force" in completed.stdout
