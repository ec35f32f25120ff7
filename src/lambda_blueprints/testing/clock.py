"""Virtual time for the local cloud: deterministic unless a test moves it."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    """A clock that stands still until it is advanced.

    Batching windows, tumbling windows, record ages and visibility timeouts are measured on
    this clock, so a test decides exactly when they expire (``advance``) instead of sleeping.

    Args:
        start: Epoch seconds to start at. Defaults to the wall clock at creation.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)

    def now(self) -> float:
        """Current virtual time, epoch seconds."""
        return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward; return the new time."""
        if seconds < 0:
            raise ValueError(f"seconds={seconds} is negative: the clock only moves forward")
        self._now += seconds
        return self._now

    def advance_to(self, when: float) -> float:
        """Move the clock forward to ``when`` (no-op if it is already later)."""
        self._now = max(self._now, float(when))
        return self._now

    def iso(self, *, milliseconds: bool = True) -> str:
        """Current time as ISO 8601 UTC with a ``Z`` suffix."""
        return iso8601(self._now, milliseconds=milliseconds)


def iso8601(epoch_seconds: float, *, milliseconds: bool = True) -> str:
    """Format epoch seconds as ``YYYY-MM-DDTHH:MM:SS[.mmm]Z``."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    if milliseconds:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
