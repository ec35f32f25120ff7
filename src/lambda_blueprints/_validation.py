"""Synth-time validation of construct props against AWS limits.

Every check raises :class:`ValueError` naming the prop, the value given, the allowed range
and how to fix it. Values that are CDK tokens (resolved only at deploy time) are skipped.
"""

from __future__ import annotations

from aws_cdk import Duration, Token


def _is_token(value: object) -> bool:
    return Token.is_unresolved(value)


def check_int_range(prop: str, value: int, low: int, high: int, *, fix: str = "") -> None:
    """Raise unless ``low <= value <= high`` (whole numbers)."""
    if _is_token(value):
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        hint = f" {fix}" if fix else ""
        raise ValueError(
            f"{prop}={value!r} is out of range: allowed is a whole number from {low:,} to "
            f"{high:,}.{hint}"
        )


def check_duration_range(
    prop: str,
    value: Duration,
    low_seconds: int,
    high_seconds: int,
    *,
    fix: str = "",
) -> int:
    """Raise unless the duration is whole seconds within the range; return the seconds."""
    seconds = value.to_seconds(integral=False)
    if _is_token(seconds):
        return -1
    hint = f" {fix}" if fix else ""
    if seconds != int(seconds) or not low_seconds <= seconds <= high_seconds:
        raise ValueError(
            f"{prop}={value.to_human_string()} ({seconds:g} s) is out of range: allowed is "
            f"{low_seconds:,} to {high_seconds:,} whole seconds.{hint}"
        )
    return int(seconds)


def check_choice(prop: str, value: object, allowed: tuple[object, ...], *, fix: str = "") -> None:
    """Raise unless ``value`` is one of ``allowed``."""
    if _is_token(value):
        return
    if value not in allowed:
        names = ", ".join(str(getattr(a, "name", a)) for a in allowed)
        hint = f" {fix}" if fix else ""
        raise ValueError(
            f"{prop}={getattr(value, 'name', value)!r} is not allowed here: choose one of "
            f"{names}.{hint}"
        )
