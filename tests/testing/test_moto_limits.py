"""Service limits the local cloud enforces on boto3 writes, as AWS does (moto does not)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk import App, DefaultStackSynthesizer, Stack
from aws_cdk import aws_kinesis as kinesis
from botocore.exceptions import ClientError

from lambda_blueprints.testing import LocalCloud
from lambda_blueprints.testing._moto_limits import (
    KINESIS_DEFAULT_MAX_RECORD_BYTES,
    KINESIS_MAX_PARTITION_KEY_CHARS,
    KINESIS_MAX_RECORDS_PER_REQUEST,
    KINESIS_MAX_REQUEST_BYTES,
)
from tests.conftest import CDK_CONTEXT

MIB = 1024 * 1024
STREAM = "readings"


@pytest.fixture
def client() -> Iterator[Any]:
    with LocalCloud():
        kinesis_client = boto3.client("kinesis")
        kinesis_client.create_stream(StreamName=STREAM, ShardCount=1)
        yield kinesis_client


def stored(client: Any, stream: str = STREAM) -> int:
    shard = client.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = client.get_shard_iterator(
        StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return len(client.get_records(ShardIterator=iterator)["Records"])


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


# --------------------------------------------------------------------------- PutRecord


def test_put_record_takes_a_record_of_exactly_1_mib_with_its_partition_key(client: Any) -> None:
    client.put_record(StreamName=STREAM, Data=b"x" * (MIB - 2), PartitionKey="pk")

    assert stored(client) == 1


@pytest.mark.parametrize(
    ("data_bytes", "partition_key"),
    [(MIB - 1, "pk"), (MIB, "k"), (MIB + 1, "k")],
)
def test_put_record_refuses_a_record_over_1_mib_counting_the_partition_key(
    client: Any, data_bytes: int, partition_key: str
) -> None:
    with pytest.raises(ClientError) as raised:
        client.put_record(StreamName=STREAM, Data=b"x" * data_bytes, PartitionKey=partition_key)

    code, message = error_of(raised)
    assert code == "ValidationException"
    assert f"{data_bytes + len(partition_key)} bytes" in message
    assert str(KINESIS_DEFAULT_MAX_RECORD_BYTES) in message
    assert stored(client) == 0


def test_put_record_refuses_a_partition_key_over_256_characters(client: Any) -> None:
    client.put_record(StreamName=STREAM, Data=b"x", PartitionKey="k" * 256)
    with pytest.raises(ClientError) as raised:
        client.put_record(StreamName=STREAM, Data=b"x", PartitionKey="k" * 257)

    code, message = error_of(raised)
    assert code == "ValidationException"
    assert f"length less than or equal to {KINESIS_MAX_PARTITION_KEY_CHARS}" in message
    assert stored(client) == 1


# --------------------------------------------------------------------------- PutRecords


def test_put_records_fails_the_whole_request_for_one_oversized_record(client: Any) -> None:
    records = [
        {"Data": b"fits", "PartitionKey": "a"},
        {"Data": b"x" * MIB, "PartitionKey": "b"},
    ]
    with pytest.raises(ClientError) as raised:
        client.put_records(StreamName=STREAM, Records=records)

    code, message = error_of(raised)
    assert code == "ValidationException"
    assert "records.2.member.data" in message
    assert stored(client) == 0


def test_put_records_fails_the_whole_request_for_one_overlong_partition_key(client: Any) -> None:
    records = [{"Data": b"a", "PartitionKey": "a"}, {"Data": b"b", "PartitionKey": "k" * 257}]
    with pytest.raises(ClientError) as raised:
        client.put_records(StreamName=STREAM, Records=records)

    code, message = error_of(raised)
    assert code == "ValidationException"
    assert "records.2.member.partitionKey" in message
    assert stored(client) == 0


def test_put_records_refuses_more_than_500_records(client: Any) -> None:
    record = {"Data": b"x", "PartitionKey": "k"}
    client.put_records(StreamName=STREAM, Records=[record] * KINESIS_MAX_RECORDS_PER_REQUEST)
    with pytest.raises(ClientError) as raised:
        client.put_records(
            StreamName=STREAM, Records=[record] * (KINESIS_MAX_RECORDS_PER_REQUEST + 1)
        )

    assert error_of(raised)[0] == "ValidationException"
    assert stored(client) == KINESIS_MAX_RECORDS_PER_REQUEST


def test_put_records_takes_up_to_10_mib_in_all(client: Any) -> None:
    # Nine records of 1 MiB each: over the 5 MiB that PutRecords took before large records.
    records = [{"Data": b"x" * (MIB - 1), "PartitionKey": "k"}] * 9

    response = client.put_records(StreamName=STREAM, Records=records)

    assert response["FailedRecordCount"] == 0
    assert [r.keys() >= {"SequenceNumber", "ShardId"} for r in response["Records"]] == [True] * 9
    assert stored(client) == 9


def test_put_records_refuses_a_request_over_10_mib(client: Any) -> None:
    count = KINESIS_MAX_REQUEST_BYTES // MIB + 1
    records = [{"Data": b"x" * (MIB - 1), "PartitionKey": "k"}] * count

    with pytest.raises(ClientError) as raised:
        client.put_records(StreamName=STREAM, Records=records)

    code, message = error_of(raised)
    assert (code, message) == ("InvalidArgumentException", "Records size exceeds 10 MB limit")
    assert stored(client) == 0


# --------------------------------------------------------------------------- streams


def stream_stack(max_record_size_kib: int) -> Stack:
    stack = Stack(
        App(context=CDK_CONTEXT),
        "LargeRecords",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    kinesis.CfnStream(
        stack,
        "Frames",
        name="frames",
        shard_count=1,
        max_record_size_in_kib=max_record_size_kib,
    )
    return stack


def test_a_stream_with_a_raised_max_record_size_takes_records_up_to_it() -> None:
    with LocalCloud() as cloud:
        cloud.deploy(stream_stack(2048))
        client = boto3.client("kinesis")

        client.put_record(StreamName="frames", Data=b"x" * (2 * MIB - 1), PartitionKey="k")
        with pytest.raises(ClientError) as raised:
            client.put_record(StreamName="frames", Data=b"x" * (2 * MIB), PartitionKey="k")
        with pytest.raises(ClientError):
            client.put_records(
                StreamName="frames", Records=[{"Data": b"x" * (2 * MIB), "PartitionKey": "k"}]
            )

        assert str(2 * MIB) in error_of(raised)[1]
        assert stored(client, "frames") == 1


@pytest.mark.parametrize("kib", [1023, 10241])
def test_fails_when_a_stream_asks_for_a_max_record_size_kinesis_does_not_offer(kib: int) -> None:
    # CDK refuses these at synth: write one into a synthesized template, as a hand-made
    # template could hold it.
    assembly = Path(stream_stack(2048).node.root.synth().directory)  # type: ignore[union-attr]
    template_file = assembly / "LargeRecords.template.json"
    template = json.loads(template_file.read_text())
    template["Resources"]["Frames"]["Properties"]["MaxRecordSizeInKiB"] = kib
    template_file.write_text(json.dumps(template))

    with LocalCloud() as cloud, pytest.raises(ValueError, match=f"MaxRecordSizeInKiB={kib}"):
        cloud.deploy(assembly_dir=assembly, stack_name="LargeRecords")
