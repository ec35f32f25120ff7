"""Tumbling-window events, of Kinesis or DynamoDB records."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lambda_blueprints.testing.events._shared import (
    DEFAULT_DYNAMODB_SHARD_ID,
    DEFAULT_KINESIS_SHARD_ID,
    DEFAULT_KINESIS_STREAM_ARN,
    _iso_seconds,
    _plain_dict,
)


def _record_time_and_source(record: Mapping[str, Any]) -> tuple[float, str]:
    if "kinesis" in record:
        return float(record["kinesis"]["approximateArrivalTimestamp"]), "aws:kinesis"
    if "dynamodb" in record:
        return float(record["dynamodb"]["ApproximateCreationDateTime"]), "aws:dynamodb"
    raise ValueError("tumbling windows hold Kinesis or DynamoDB stream records only")


def tumbling_window_event(
    records: Sequence[Mapping[str, Any]],
    *,
    window_start: float,
    window_seconds: int,
    state: Mapping[str, Any] | None = None,
    shard_id: str | None = None,
    event_source_arn: str | None = None,
    is_final: bool = False,
    terminated_early: bool = False,
) -> dict[str, Any]:
    """Build the event of one invocation in a tumbling window (Kinesis or DynamoDB Streams).

    The window is ``[window_start, window_start + window_seconds)``; both ends are written
    ``YYYY-MM-DDTHH:MM:SSZ``. Windows align to the Unix epoch, as the local cloud's stream
    mappings do, so ``window_start`` must be a whole multiple of ``window_seconds``.

    Args:
        records: Records of :func:`kinesis_record` or :func:`dynamodb_stream_record`, all of
            one source, each arriving inside the window. Empty for a final invocation.
        window_start: Epoch seconds.
        window_seconds: ``TumblingWindowInSeconds``, 1 to 900.
        state: The state the previous invocation of the window returned; ``{}`` (the first
            invocation's) by default.
        shard_id: By default the shard of the Kinesis records' ``eventID``, otherwise a
            placeholder shard id.
        event_source_arn: By default the records' ``eventSourceARN`` (the default Kinesis
            stream when there are no records).
        is_final: ``isFinalInvokeForWindow``: the last invocation of the window.
        terminated_early: ``isWindowTerminatedEarly``: the state grew too large.

    Returns:
        The event, with ``Records``, ``window``, ``state``, ``shardId``,
        ``eventSourceARN``, ``isFinalInvokeForWindow`` and ``isWindowTerminatedEarly``.

    Raises:
        ValueError: On a window length outside 1-900 s, an unaligned start, records from
            mixed sources, streams or shards, a record outside the window, or both flags set.
    """
    if not 1 <= window_seconds <= 900:
        raise ValueError(f"TumblingWindowInSeconds is 1-900, not {window_seconds}")
    if window_start != math.floor(window_start / window_seconds) * window_seconds:
        raise ValueError(
            f"window_start {window_start} is not aligned to {window_seconds} s windows"
        )
    if is_final and terminated_early:
        raise ValueError("an early-terminated window's invocation is not its final one")
    window_end = window_start + window_seconds
    plain = [_plain_dict(r, "a stream record") for r in records]
    sources = set()
    for record in plain:
        arrival, source = _record_time_and_source(record)
        sources.add(source)
        if not window_start <= arrival < window_end:
            raise ValueError(f"a record of {arrival} lies outside the window")
    if len(sources) > 1:
        raise ValueError("a window's records come from one stream")
    arns = {r["eventSourceARN"] for r in plain}
    if event_source_arn is None:
        if len(arns) > 1:
            raise ValueError("a window's records come from one stream")
        event_source_arn = arns.pop() if arns else DEFAULT_KINESIS_STREAM_ARN
    elif arns - {event_source_arn}:
        raise ValueError("the records come from another stream than event_source_arn")
    shards = {r["eventID"].split(":", 1)[0] for r in plain if "kinesis" in r}
    if shard_id is None:
        if len(shards) > 1:
            raise ValueError("a window's records come from one shard")
        if shards:
            shard_id = shards.pop()
        elif sources == {"aws:dynamodb"}:
            shard_id = DEFAULT_DYNAMODB_SHARD_ID
        else:
            shard_id = DEFAULT_KINESIS_SHARD_ID
    elif shards - {shard_id}:
        raise ValueError("the records come from another shard than shard_id")
    return {
        "Records": plain,
        "window": {"start": _iso_seconds(window_start), "end": _iso_seconds(window_end)},
        "state": {} if state is None else _plain_dict(state, "state"),
        "shardId": shard_id,
        "eventSourceARN": event_source_arn,
        "isFinalInvokeForWindow": is_final,
        "isWindowTerminatedEarly": terminated_early,
    }
