"""Readers of a service stream hold only the records they still need.

A long run (the 300,000-message race) must not keep every record it delivered: a mapping
releases what all its lanes have committed, the Firehose reader what it has buffered, and
the pages shared by a stream's readers drop a record once every reader has converted it.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambda_blueprints.testing import _moto_speedups
from lambda_blueprints.testing.activity import ActivityLog, InvokeResult
from lambda_blueprints.testing.clock import Clock
from lambda_blueprints.testing.streams import (
    KinesisStreamSource,
    StreamEventSourceMapping,
    run_mappings,
)

REGION = "eu-west-1"
ARN = f"arn:aws:kinesis:{REGION}:123456789012:stream/s"


@pytest.fixture
def kinesis() -> Iterator[Any]:
    with mock_aws():
        restore = _moto_speedups.apply()
        client = boto3.client("kinesis", region_name=REGION)
        client.create_stream(StreamName="s", ShardCount=1)
        try:
            yield client
        finally:
            restore()


def _put(kinesis: Any, first: int, count: int) -> None:
    kinesis.put_records(
        StreamName="s",
        Records=[
            {"Data": json.dumps({"n": n}).encode(), "PartitionKey": "k"}
            for n in range(first, first + count)
        ],
    )


def _shard(kinesis: Any) -> str:
    return str(kinesis.list_shards(StreamName="s")["Shards"][0]["ShardId"])


def _numbers(records: Any) -> list[int]:
    return [json.loads(_data(r))["n"] for r in records]


def _data(record: Any) -> bytes:
    return base64.b64decode(record.record["kinesis"]["data"])


def _source(kinesis: Any, shared: dict[Any, Any] | None) -> KinesisStreamSource:
    return KinesisStreamSource(ARN, client=kinesis, shared_reads=shared)


def test_a_released_reader_reads_on_after_what_it_released(kinesis: Any) -> None:
    _put(kinesis, 0, 10)
    shard = _shard(kinesis)
    source = _source(kinesis, {})
    records = source.read(shard)
    source.release(shard, records[3].sequence_number)

    assert _numbers(source.read(shard)) == [4, 5, 6, 7, 8, 9]
    _put(kinesis, 10, 3)
    assert _numbers(source.read(shard)) == [4, 5, 6, 7, 8, 9, 10, 11, 12]
    source.release(shard, source.read(shard)[-1].sequence_number)
    assert source.read(shard) == []


def test_one_readers_release_leaves_the_other_readers_records(kinesis: Any) -> None:
    _put(kinesis, 0, 5)
    shard = _shard(kinesis)
    shared: dict[Any, Any] = {}
    first, second = _source(kinesis, shared), _source(kinesis, shared)
    first.read(shard)
    first.release(shard, first.read(shard)[-1].sequence_number)

    assert _numbers(second.read(shard)) == [0, 1, 2, 3, 4]
    assert first.read(shard) == []


def test_shared_pages_drop_a_record_once_every_reader_converted_it(kinesis: Any) -> None:
    _put(kinesis, 0, 5)
    shard = _shard(kinesis)
    shared: dict[Any, Any] = {}
    first, second = _source(kinesis, shared), _source(kinesis, shared)
    first.read(shard)
    second.read(shard)
    pages = shared[ARN].shards[shard]
    assert pages.raw == []
    _put(kinesis, 5, 2)
    first.read(shard)

    assert len(pages.raw) == 2  # the second reader has not read these yet
    assert _numbers(second.read(shard)) == [0, 1, 2, 3, 4, 5, 6]
    assert pages.raw == []


def test_a_reader_that_comes_after_records_were_dropped_reads_from_the_oldest(
    kinesis: Any,
) -> None:
    _put(kinesis, 0, 5)
    shard = _shard(kinesis)
    shared: dict[Any, Any] = {}
    _source(kinesis, shared).read(shard)
    _put(kinesis, 5, 1)

    assert _numbers(_source(kinesis, shared).read(shard)) == [0, 1, 2, 3, 4, 5]


class _Function:
    """Fails every batch holding a number of ``fail`` the first ``times`` calls for it;
    at each call, notes what the source still holds."""

    def __init__(self, source: KinesisStreamSource, shard: str, fail: set[int], times: int) -> None:
        self.source, self.shard, self.fail, self.times = source, shard, fail, times
        self.seen: list[list[int]] = []
        self.held: list[list[int]] = []

    def __call__(self, name: str, event: dict[str, Any]) -> InvokeResult:
        numbers = [
            json.loads(base64.b64decode(r["kinesis"]["data"]))["n"] for r in event["Records"]
        ]
        self.seen.append(numbers)
        self.held.append(_numbers(self.source.read(self.shard)))
        if self.fail & set(numbers) and self.times > 0:
            self.times -= 1
            return InvokeResult(str(uuid.uuid4()), None, "Unhandled", "Error", "boom")
        return InvokeResult(str(uuid.uuid4()), None)


def _mapping(source: Any, function: _Function, clock: Clock, **options: Any) -> Any:
    return StreamEventSourceMapping(
        source=source,
        function_name="fn",
        function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:fn",
        invoke=function,
        log=ActivityLog(),
        clock=clock,
        send_failure=lambda arn, body: None,
        **options,
    )


def test_a_mapping_releases_what_it_committed_and_keeps_what_it_retries(kinesis: Any) -> None:
    _put(kinesis, 0, 6)
    shard = _shard(kinesis)
    clock = Clock(1_767_225_600.0)
    source = _source(kinesis, {})
    function = _Function(source, shard, fail={4}, times=2)
    run_mappings([_mapping(source, function, clock, batch_size=2)], clock)

    assert function.seen == [[0, 1], [2, 3], [4, 5], [4, 5], [4, 5]]
    # Released after each poll: the batches of one poll still see what that poll read;
    # the retried batch's records are there for every retry.
    assert all({4, 5} <= set(held) for held in function.held)
    assert source.read(shard) == []


def _put_keyed(kinesis: Any, count: int) -> None:
    kinesis.put_records(
        StreamName="s",
        Records=[
            {"Data": json.dumps({"n": n}).encode(), "PartitionKey": f"key-{n}"}
            for n in range(count)
        ],
    )


def test_parallel_lanes_release_up_to_the_lowest_lane_position(kinesis: Any) -> None:
    _put_keyed(kinesis, 20)
    shard = _shard(kinesis)
    clock = Clock(1_767_225_600.0)
    source = _source(kinesis, {})
    function = _Function(source, shard, fail=set(), times=0)
    mapping = _mapping(source, function, clock, parallelization_factor=4, batch_size=1)
    mapping.poll()  # each of the four lanes delivers its first record

    assert len(function.seen) == 4
    assert [0] in function.seen
    assert _numbers(source.read(shard)) == list(range(1, 20))


def test_a_stalled_lane_holds_its_records_while_the_others_finish(kinesis: Any) -> None:
    _put_keyed(kinesis, 20)
    shard = _shard(kinesis)
    clock = Clock(1_767_225_600.0)
    source = _source(kinesis, {})
    function = _Function(source, shard, fail={0}, times=10**6)
    mapping = _mapping(source, function, clock, parallelization_factor=4, batch_size=1)
    for _ in range(25):
        mapping.poll()

    assert mapping.stalled
    # The other three lanes went past their first record.
    assert len({n for (n,) in function.seen} - {0}) > 3
    assert _numbers(source.read(shard)) == list(range(20))
