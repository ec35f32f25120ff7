"""Linear-time replacements for moto Kinesis shard operations that are quadratic.

moto's ``Shard`` finds its newest sequence number by copying all its keys into a list on
every ``PutRecord``, and ``GetRecords`` scans a shard from its first record on every call.
Both are fine for a few records and quadratic for a race of 300,000 messages. The
replacements return exactly what moto's originals return; :func:`apply` installs them
while a local cloud runs and gives back the function that restores moto.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any


def apply() -> Callable[[], None]:
    """Install the replacements; return a function that restores the originals."""
    try:
        from moto.kinesis.models import Shard
    except ImportError:  # pragma: no cover - moto without Kinesis
        return lambda: None
    saved = {
        name: Shard.__dict__[name]
        for name in ("get_records", "get_min_sequence_number", "get_max_sequence_number")
    }
    original_get_records = saved["get_records"]

    def get_min_sequence_number(self: Any) -> int:
        return next(iter(self.records)) if self.records else 0

    def get_max_sequence_number(self: Any) -> int:
        return next(reversed(self.records)) if self.records else 0

    def get_records(self: Any, last_sequence_id: str, limit: int | None) -> Any:
        records = self.records
        last = int(last_sequence_id)
        if not records:
            return [], last, 0
        newest_key = next(reversed(records))
        sequence = max(last + 1, next(iter(records)))
        results: list[Any] = []
        while sequence <= newest_key and (limit is None or len(results) < limit):
            record = records.get(sequence)
            if record is None:  # not consecutive (resharding): moto's own scan
                return original_get_records(self, last_sequence_id, limit)
            results.append(record)
            sequence += 1
        if not results:
            return results, last, 0
        behind = records[newest_key].created_at - results[-1].created_at
        # Epoch seconds before moto 5.2.6, datetimes since.
        seconds = behind.total_seconds() if isinstance(behind, timedelta) else behind
        return results, results[-1].sequence_number, int(seconds * 1000)

    replacements = {
        "get_records": get_records,
        "get_min_sequence_number": get_min_sequence_number,
        "get_max_sequence_number": get_max_sequence_number,
    }
    for name, function in replacements.items():
        setattr(Shard, name, function)

    def restore() -> None:
        for name, function in saved.items():
            setattr(Shard, name, function)

    return restore
