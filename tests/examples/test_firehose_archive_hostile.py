"""Hostile records through a FirehoseArchive (default JSON Lines transform) on the local cloud.

Seeded, generated records put on the source stream: JSON objects in any spacing (good),
and records no transform can deliver as a JSON line (deep nesting, ``NaN``, numbers beyond
a double, integers too long to read, invalid UTF-8, lone surrogates, arrays, outputs over
Firehose's 1,000 KiB). Every good record is delivered exactly once, as its compact line;
every bad one is kept whole under the processing-failed prefix; no invocation fails.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_cdk import App, DefaultStackSynthesizer, RemovalPolicy, Stack
from aws_cdk import aws_kinesis as kinesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from lambda_blueprints import FirehoseArchive
from lambda_blueprints.runtime.shared.firehose import MAX_JSON_DEPTH
from lambda_blueprints.testing import LocalCloud
from tests.conftest import CDK_CONTEXT

pytestmark = pytest.mark.hostile


@dataclass(frozen=True)
class Record:
    """One record to put, and the line it must become (None: processing-failed)."""

    data: bytes
    line: bytes | None


def archive_stack() -> Stack:
    stack = Stack(
        App(context=CDK_CONTEXT),
        "Archive",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    stream = kinesis.Stream(
        stack, "Events", shard_count=1, encryption=kinesis.StreamEncryption.MANAGED
    )
    FirehoseArchive(stack, "Archive", stream=stream, removal_policy=RemovalPolicy.DESTROY)
    return stack


STACK = archive_stack()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def good_records(draw: st.DrawFn) -> Record:
    value = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
    indent = draw(st.sampled_from([None, 0, 2]))
    ascii_only = draw(st.booleans())
    data = json.dumps(value, indent=indent, ensure_ascii=ascii_only).encode()
    line = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return Record(data, line)


def _deep(levels: int) -> bytes:
    """An object nesting ``levels`` levels in all."""
    return b'{"a": ' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"


deepest_good = Record(_deep(MAX_JSON_DEPTH), _deep(MAX_JSON_DEPTH).replace(b" ", b""))
bad_data = st.one_of(
    st.integers(min_value=MAX_JSON_DEPTH + 1, max_value=20_000).map(_deep),
    st.sampled_from(
        [
            b'{"n": NaN}',
            b'{"n": -Infinity}',
            b'{"n": 1e400}',
            b'{"n": -2e308}',
            b'{"s": "\\ud800"}',
            b'{"s": "\\udfff x"}',
            b"\xff\xfe{}",
            b'{"s": "\xc3\x28"}',
            b"[1, 2, 3]",
            b'"just a string"',
            b"42",
            b"null",
            b"",
            b"{",
            b'{"a": 1} {"b": 2}',
        ]
    ),
    st.integers(min_value=4_400, max_value=6_000).map(lambda n: b'{"n": ' + b"7" * n + b"}"),
    # Over 1,000 KiB once compacted: Firehose refuses such an output.
    st.just(b'{"pad": "' + b"x" * (1000 * 1024) + b'"}'),
)
bad_records = bad_data.map(lambda data: Record(data, None))
records = st.lists(
    st.one_of(good_records(), bad_records, st.just(deepest_good)), min_size=30, max_size=60
)


@contextmanager
def local_cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as cloud:
        yield cloud


def objects_under(bucket: str, prefix: str) -> list[bytes]:
    client = boto3.client("s3")
    listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return [
        gzip.decompress(client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
        for o in listed
    ]


@seed(20261203)
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=records)
def test_hostile_records_are_kept_whole_and_good_ones_delivered_once(batch: list[Record]) -> None:
    with local_cloud() as cloud:
        deployed = cloud.deploy(STACK)
        kinesis_client = boto3.client("kinesis")
        for index, record in enumerate(batch):
            kinesis_client.put_record(
                StreamName=deployed.physical_id("Events"),
                Data=record.data,
                PartitionKey=f"k-{index}",
            )

        cloud.run_until_idle()
        cloud.flush_firehose()
        cloud.run_until_idle()

        bucket = deployed.physical_id("Archive/Bucket")
        delivered = [
            line for body in objects_under(bucket, "data/") for line in body.split(b"\n") if line
        ]
        assert Counter(delivered) == Counter(r.line for r in batch if r.line is not None)
        failed: list[dict[str, Any]] = [
            json.loads(line)
            for body in objects_under(bucket, "errors/processing-failed/")
            for line in body.splitlines()
        ]
        kept = Counter(base64.b64decode(f["rawData"]) for f in failed)
        assert kept == Counter(r.data for r in batch if r.line is None)
        assert {f["errorCode"] for f in failed} <= {"Lambda.ProcessingFailedStatus"}
        # Every invocation succeeded: no batch failed for a bad record.
        assert all(i.outcome != "error" for i in cloud.log.invocations())
