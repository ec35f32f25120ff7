"""The local cloud's direct Kinesis reads return what boto3 returns through moto."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambda_blueprints.testing import _moto_speedups
from lambda_blueprints.testing._moto_reads import MotoKinesisReader, record_arrival, record_data


@pytest.fixture
def kinesis() -> Any:
    with mock_aws():
        restore = _moto_speedups.apply()
        client = boto3.client("kinesis", region_name="eu-west-1")
        client.create_stream(StreamName="s", ShardCount=2)
        client.put_records(
            StreamName="s",
            Records=[{"Data": f"m{i}".encode(), "PartitionKey": f"k{i % 7}"} for i in range(50)],
        )
        try:
            yield client
        finally:
            restore()


def _page_key(page: dict[str, Any]) -> Any:
    return (
        [
            (r["Data"], r["PartitionKey"], r["SequenceNumber"], r["ApproximateArrivalTimestamp"])
            for r in page["Records"]
        ],
        page.get("NextShardIterator"),
        page["MillisBehindLatest"],
    )


def test_pages_equal_boto3s_record_for_record(kinesis: Any) -> None:
    reader = MotoKinesisReader("123456789012", "eu-west-1")

    assert reader.list_shards(StreamName="s")["Shards"] == [
        {"ShardId": s["ShardId"]} for s in kinesis.list_shards(StreamName="s")["Shards"]
    ]
    for shard in reader.list_shards(StreamName="s")["Shards"]:
        ours = reader.get_shard_iterator(
            StreamName="s", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        theirs = kinesis.get_shard_iterator(
            StreamName="s", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        assert ours == theirs
        pages = 0
        while ours:
            mine = reader.get_records(ShardIterator=ours, Limit=7)
            boto = kinesis.get_records(ShardIterator=theirs, Limit=7)
            assert _page_key(mine) == _page_key(boto)
            assert all(isinstance(r["Data"], bytes) for r in mine["Records"])
            ours, theirs = mine.get("NextShardIterator"), boto.get("NextShardIterator")
            pages += 1
            if not mine["Records"]:
                break
        assert pages > 2  # several pages of 7 per shard, then an empty one


def test_limits_and_unknown_streams_fail_as_kinesis_does(kinesis: Any) -> None:
    reader = MotoKinesisReader("123456789012", "eu-west-1")
    (shard, *_) = reader.list_shards(StreamName="s")["Shards"]
    iterator = reader.get_shard_iterator(
        StreamName="s", ShardId=shard["ShardId"], ShardIteratorType="LATEST"
    )["ShardIterator"]
    for limit in (0, 10_001):
        with pytest.raises(ValueError, match="Limit"):
            reader.get_records(ShardIterator=iterator, Limit=limit)
    assert reader.get_records(ShardIterator=iterator, Limit=10_000)["Records"] == []
    with pytest.raises(Exception, match=r"not found|does not exist"):
        reader.list_shards(StreamName="missing")
    with pytest.raises(ValueError, match="AT_SEQUENCE_NUMBER"):
        reader.get_shard_iterator(
            StreamName="s", ShardId=shard["ShardId"], ShardIteratorType="AT_SEQUENCE_NUMBER"
        )


#: moto keeps arrival times as naive UTC datetimes.
ARRIVAL = datetime(2023, 11, 14, 22, 13, 20, 250_000, tzinfo=UTC).replace(tzinfo=None)


@pytest.mark.parametrize(
    "record",
    [
        # moto before 5.2.6: base64 text, epoch seconds plus a datetime beside them.
        SimpleNamespace(
            data="aGVsbG8=",
            created_at=1_700_000_000.25,
            created_at_datetime=ARRIVAL,
        ),
        # moto 5.2.6: bytes, and the datetime itself.
        SimpleNamespace(data=b"hello", created_at=ARRIVAL),
    ],
    ids=["moto<5.2.6", "moto>=5.2.6"],
)
def test_records_of_either_moto_are_read_alike(record: Any) -> None:
    assert record_data(record) == b"hello"
    assert record_arrival(record) == ARRIVAL
