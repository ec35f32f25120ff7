"""A race simulator: the Alleycat bikes' messages, put on the stream in PutRecords batches.

:func:`race_messages` yields a race second by second, one message per racer per second,
deterministic for a seed. :func:`put_records` sends any records with ``PutRecords`` in
calls of at most 500 records and 5 MiB, and resends the records a call reports failed
(throttled) until they are in or the attempts run out.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .race import output_of

#: PutRecords takes at most 500 records...
MAX_BATCH_RECORDS = 500
#: ...and 5 MiB (data and partition keys) per call.
MAX_BATCH_BYTES = 5 * 1024 * 1024
#: A record's data and partition key together hold at most 1 MiB.
MAX_RECORD_BYTES = 1024 * 1024
#: A partition key is 1 to 256 Unicode characters.
MAX_PARTITION_KEY_CHARS = 256


@dataclass(frozen=True)
class Racer:
    """A simulated rider: steady effort with some noise."""

    racer_id: int
    name: str
    cadence: int
    resistance: int


def racers(count: int, rng: random.Random) -> list[Racer]:
    """``count`` riders of varied strength."""
    return [Racer(i, f"Rider {i}", rng.randint(60, 100), rng.randint(20, 80)) for i in range(count)]


def race_messages(
    race_id: int,
    class_id: int,
    *,
    racer_count: int = 1000,
    seconds: int = 300,
    seed: int = 0,
    start_ms: int = 0,
) -> Iterator[list[dict[str, Any]]]:
    """Yield a race one second at a time: each racer's message for that second.

    Each message carries the second's cadence and resistance and the bike's running
    ``total`` of outputs; the last second's messages have ``event`` ``finish``.
    """
    rng = random.Random(seed)  # noqa: S311 - a simulation, not security
    riders = racers(racer_count, rng)
    totals = {rider.racer_id: Decimal(0) for rider in riders}
    for second in range(1, seconds + 1):
        batch = []
        for rider in riders:
            cadence = max(0, rider.cadence + rng.randint(-8, 8))
            resistance = min(100, max(0, rider.resistance + rng.randint(-5, 5)))
            totals[rider.racer_id] += output_of(Decimal(cadence), Decimal(resistance))
            batch.append(
                {
                    "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "event": "finish" if second == seconds else "update",
                    "raceId": race_id,
                    "classId": class_id,
                    "racerId": rider.racer_id,
                    "name": rider.name,
                    "second": second,
                    "cadence": cadence,
                    "resistance": resistance,
                    "total": float(totals[rider.racer_id]),
                    "deviceTimestamp": start_ms + second * 1000,
                }
            )
        yield batch


def encode(message: Mapping[str, Any]) -> bytes:
    """A message as the bikes send it: compact JSON."""
    return json.dumps(message, separators=(",", ":")).encode()


@dataclass
class PutStats:
    """What :func:`put_records` did."""

    records: int = 0
    calls: int = 0
    retried: int = 0


def batches(
    records: Iterable[tuple[bytes, str]],
) -> Iterator[list[tuple[bytes, str]]]:
    """Group ``(data, partition key)`` pairs into PutRecords calls (500 records, 5 MiB).

    Raises:
        ValueError: When one record is over 1 MiB, or its partition key is not 1-256
            characters (PutRecords would refuse the whole call).
    """
    batch: list[tuple[bytes, str]] = []
    size = 0
    for data, key in records:
        if not 1 <= len(key) <= MAX_PARTITION_KEY_CHARS:
            raise ValueError(
                f"partition key {key[:32]!r} has {len(key)} characters; Kinesis takes 1 to "
                f"{MAX_PARTITION_KEY_CHARS}"
            )
        record_size = len(data) + len(key.encode())
        if record_size > MAX_RECORD_BYTES:
            raise ValueError(f"a record of {record_size:,} bytes is over Kinesis's 1 MiB")
        if batch and (len(batch) == MAX_BATCH_RECORDS or size + record_size > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((data, key))
        size += record_size
    if batch:
        yield batch


def put_records(
    client: Any,
    stream_name: str,
    records: Iterable[tuple[bytes, str]],
    *,
    max_attempts: int = 5,
    backoff: Callable[[int], None] | None = None,
    stats: PutStats | None = None,
) -> PutStats:
    """Put ``(data, partition key)`` records on a stream with batched ``PutRecords`` calls.

    Records a call reports failed are sent again, alone with the other failures, after
    ``backoff(attempt)`` (default: a random wait of up to 0.1 s, doubling with each
    attempt, so that many producers throttled together do not all come back together).

    Raises:
        RuntimeError: When records are still failing after ``max_attempts`` calls.
    """
    stats = stats or PutStats()
    wait = backoff or _full_jitter
    for batch in batches(records):
        pending: Sequence[tuple[bytes, str]] = batch
        for attempt in range(max_attempts):
            response = client.put_records(
                StreamName=stream_name,
                Records=[{"Data": data, "PartitionKey": key} for data, key in pending],
            )
            stats.calls += 1
            failed = [
                record
                for record, result in zip(pending, response["Records"], strict=True)
                if result.get("ErrorCode")
            ]
            stats.records += len(pending) - len(failed)
            if not failed:
                break
            if attempt + 1 == max_attempts:
                raise RuntimeError(
                    f"{len(failed)} records still failing after {max_attempts} PutRecords calls"
                )
            stats.retried += len(failed)
            pending = failed
            wait(attempt)
    return stats


def _full_jitter(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.1 * 2**attempt))  # noqa: S311 - spreading retries
