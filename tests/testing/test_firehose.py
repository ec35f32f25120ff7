"""LocalCloud delivering Firehose streams to S3, with and without a Lambda transformation."""

from __future__ import annotations

import base64
import gzip
import json
import re
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_cdk import App, DefaultStackSynthesizer, Duration, Size, Stack
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

from lambda_blueprints.testing import Clock, DeployedStack, LocalCloud
from lambda_blueprints.testing.firehose import (
    InvalidArgumentError,
    S3Destination,
    java_time_format,
)
from tests.conftest import CDK_CONTEXT

#: 2023-11-14T22:13:20Z
START = 1_700_000_000.0

TRANSFORM = textwrap.dedent(
    """
    import base64

    def handler(event, context):
        answers = []
        for record in event["records"]:
            text = base64.b64decode(record["data"]).decode()
            if text.startswith("boom"):
                raise ValueError("cannot transform " + text)
            if text.startswith("forget"):
                continue
            result = {"drop": "Dropped", "bad": "ProcessingFailed"}.get(text.split("-")[0], "Ok")
            data = base64.b64encode((text.upper() + "\\n").encode()).decode()
            answers.append({"recordId": record["recordId"], "result": result, "data": data})
        return {"records": answers}
    """
)


def new_stack(name: str) -> Stack:
    return Stack(
        App(context=CDK_CONTEXT),
        name,
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )


def kinesis_stack() -> Stack:
    """Kinesis -> Firehose (Lambda transformation, GZIP, custom prefixes) -> S3."""
    stack = new_stack("Clicks")
    stream = kinesis.Stream(stack, "Stream", shard_count=2)
    bucket = s3.Bucket(stack, "Archive")
    transform = lambda_.Function(
        stack,
        "Transform",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(TRANSFORM),
    )
    firehose.DeliveryStream(
        stack,
        "Delivery",
        source=firehose.KinesisStreamSource(stream),
        destination=firehose.S3Bucket(
            bucket,
            data_output_prefix="clicks/!{timestamp:yyyy/MM}/",
            error_output_prefix="failed/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/",
            compression=firehose.Compression.GZIP,
            buffering_interval=Duration.seconds(60),
            buffering_size=Size.mebibytes(2),
            processors=[
                firehose.LambdaFunctionProcessor(
                    transform,
                    retries=2,
                    buffer_size=Size.mebibytes(1),
                    buffer_interval=Duration.seconds(10),
                )
            ],
        ),
    )
    return stack


def direct_put_stack() -> Stack:
    """DirectPut Firehose without a transformation, S3 defaults but a 1 MiB size hint."""
    stack = new_stack("Audit")
    bucket = s3.Bucket(stack, "Archive")
    firehose.DeliveryStream(
        stack,
        "Delivery",
        destination=firehose.S3Bucket(bucket, buffering_size=Size.mebibytes(1)),
    )
    return stack


@pytest.fixture
def clicks() -> Iterator[tuple[LocalCloud, DeployedStack]]:
    with LocalCloud(clock=Clock(START)) as cloud:
        yield cloud, cloud.deploy(kinesis_stack())


@pytest.fixture
def audit() -> Iterator[tuple[LocalCloud, DeployedStack]]:
    with LocalCloud(clock=Clock(START)) as cloud:
        yield cloud, cloud.deploy(direct_put_stack())


def objects(bucket: str) -> dict[str, bytes]:
    client = boto3.client("s3")
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def put_clicks(stack: DeployedStack, *texts: str, partition_key: str = "user-1") -> list[str]:
    kinesis_client = boto3.client("kinesis")
    return [
        kinesis_client.put_record(
            StreamName=stack.physical_id("Stream"), Data=text.encode(), PartitionKey=partition_key
        )["SequenceNumber"]
        for text in texts
    ]


def only(found: dict[str, bytes], pattern: str) -> tuple[str, bytes]:
    matching = [(key, body) for key, body in found.items() if re.fullmatch(pattern, key)]
    assert len(matching) == 1, f"{pattern} matches {sorted(found)}"
    return matching[0]


UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


# --- transformation and objects ---------------------------------------------------------------


def test_ok_records_are_concatenated_in_order_into_one_gzip_object(
    clicks: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = clicks
    name = stack.physical_id("Delivery")
    put_clicks(stack, "first", "drop-me", "second", "third")

    cloud.run_until_idle()

    found = objects(stack.physical_id("Archive"))
    _, body = only(found, rf"clicks/2023/11/{name}-1-2023-11-14-22-13-20-{UUID}\.gz")
    assert gzip.decompress(body) == b"FIRST\nSECOND\nTHIRD\n"
    assert len(found) == 1


def test_the_transformation_event_is_shaped_as_firehose_sends_it(
    clicks: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = clicks
    (sequence_number,) = put_clicks(stack, "hello", partition_key="user-7")

    cloud.run_until_idle()

    (invocation,) = cloud.log.invocations()
    assert (invocation.source, invocation.mapping_id) == ("firehose", stack.physical_id("Delivery"))
    event = invocation.event
    assert list(event) == [
        "invocationId",
        "sourceKinesisStreamArn",
        "deliveryStreamArn",
        "region",
        "records",
    ]
    assert event["sourceKinesisStreamArn"] == stack.attribute("Stream", "Arn")
    assert event["deliveryStreamArn"] == stack.attribute("Delivery", "Arn")
    assert event["region"] == "us-east-1"
    (record,) = event["records"]
    assert invocation.items == (record["recordId"],)
    assert record["approximateArrivalTimestamp"] == int(START * 1000)
    assert base64.b64decode(record["data"]) == b"hello"
    shards = boto3.client("kinesis").list_shards(StreamName=stack.physical_id("Stream"))["Shards"]
    assert record["kinesisRecordMetadata"] == {
        "shardId": record["kinesisRecordMetadata"]["shardId"],
        "partitionKey": "user-7",
        "approximateArrivalTimestamp": int(START * 1000),
        "sequenceNumber": sequence_number,
        "subsequenceNumber": 0,
    }
    assert record["kinesisRecordMetadata"]["shardId"] in [s["ShardId"] for s in shards]


def test_processing_failed_records_are_written_under_the_error_prefix(
    clicks: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = clicks
    name = stack.physical_id("Delivery")
    put_clicks(stack, "good", "bad-record")

    cloud.run_until_idle()

    found = objects(stack.physical_id("Archive"))
    _, data = only(found, rf"clicks/2023/11/{name}-1-.*\.gz")
    assert gzip.decompress(data) == b"GOOD\n"
    _, errors = only(
        found, rf"failed/processing-failed/2023/11/14/{name}-1-2023-11-14-22-13-20-{UUID}\.gz"
    )
    (line,) = gzip.decompress(errors).decode().splitlines()
    assert json.loads(line) == {
        "attemptsMade": 1,
        "arrivalTimestamp": int(START * 1000),
        "errorCode": "Lambda.ProcessingFailedStatus",
        "errorMessage": "ProcessingFailed status set for record",
        "attemptEndingTimestamp": int(START * 1000) + 60_000,
        "rawData": base64.b64encode(b"bad-record").decode(),
        "lambdaArn": stack.attribute("Transform", "Arn"),
    }
    ((invocation,), (failure,)) = cloud.log.invocations(), cloud.log.failures()
    assert invocation.outcome == "partial"
    assert (failure.source, failure.condition) == ("firehose", "processing-failed")


def test_a_failing_function_is_retried_then_its_records_become_error_records(
    clicks: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = clicks
    put_clicks(stack, "fine", "boom")

    cloud.run_until_idle()

    assert [(i.outcome, i.attempt) for i in cloud.log.invocations()] == [
        ("failure", 0),
        ("failure", 1),
        ("failure", 2),
    ]
    found = objects(stack.physical_id("Archive"))
    (key,) = found
    assert key.startswith("failed/processing-failed/")
    lines = [json.loads(line) for line in gzip.decompress(found[key]).splitlines()]
    assert [base64.b64decode(line["rawData"]) for line in lines] == [b"fine", b"boom"]
    assert {(line["errorCode"], line["attemptsMade"]) for line in lines} == {
        ("Lambda.FunctionError", 3)
    }


def test_a_response_that_leaves_out_a_record_id_fails_the_invocation(
    clicks: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = clicks
    put_clicks(stack, "kept", "forget-me")

    cloud.run_until_idle()

    assert [i.outcome for i in cloud.log.invocations()] == ["failure"] * 3
    (body,) = objects(stack.physical_id("Archive")).values()
    codes = [json.loads(line)["errorCode"] for line in gzip.decompress(body).splitlines()]
    assert codes == ["Lambda.MissingRecordId", "Lambda.MissingRecordId"]


def test_an_injected_failure_is_retried_and_the_batch_then_delivered(
    clicks: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = clicks
    cloud.faults.inject(stack.physical_id("Transform"), fail=1)
    put_clicks(stack, "once")

    cloud.run_until_idle()

    assert [i.outcome for i in cloud.log.invocations()] == ["failure", "success"]
    (key, body), *others = objects(stack.physical_id("Archive")).items()
    assert (key.startswith("clicks/"), gzip.decompress(body), others) == (True, b"ONCE\n", [])


def test_a_flush_is_split_into_invocations_by_the_processor_buffer_size(
    clicks: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = clicks
    put_clicks(stack, *(f"r{n}-" + "x" * 400_000 for n in range(3)))

    cloud.run_until_idle()

    assert [len(i.event["records"]) for i in cloud.log.invocations()] == [2, 1]
    (body,) = objects(stack.physical_id("Archive")).values()
    assert [line[:3] for line in gzip.decompress(body).splitlines()] == [b"R0-", b"R1-", b"R2-"]


# --- buffering --------------------------------------------------------------------------------


def test_the_buffer_waits_for_its_interval_on_the_clock(
    clicks: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = clicks
    bucket = stack.physical_id("Archive")
    put_clicks(stack, "early")

    cloud.run_until_idle(advance_clock=False)
    cloud.clock.advance(59)
    cloud.run_until_idle(advance_clock=False)
    assert objects(bucket) == {}

    cloud.clock.advance(1)
    cloud.run_until_idle(advance_clock=False)
    # The object is named after its oldest record's arrival, not after the flush.
    (key,) = objects(bucket)
    assert "-2023-11-14-22-13-20-" in key


def test_a_full_buffer_is_delivered_without_waiting(
    audit: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = audit
    bucket = stack.physical_id("Archive")
    cloud.put_firehose_records(stack.physical_id("Delivery"), [b"a" * 400_000, b"b" * 400_000])
    cloud.run_until_idle(advance_clock=False)
    assert objects(bucket) == {}

    cloud.put_firehose_records(stack.physical_id("Delivery"), [b"c" * 400_000])
    cloud.run_until_idle(advance_clock=False)

    (body,) = objects(bucket).values()
    assert body == b"a" * 400_000 + b"b" * 400_000
    cloud.run_until_idle()
    assert sorted(len(b) for b in objects(bucket).values()) == [400_000, 800_000]
    assert cloud.clock.now() == START + 300


def test_direct_put_records_go_straight_to_the_default_time_prefix(
    audit: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = audit
    name = stack.physical_id("Delivery")

    cloud.put_firehose_records(name, ["text\n", {"user": "ann", "n": 1}, b"\x00raw"])
    cloud.run_until_idle()

    found = objects(stack.physical_id("Archive"))
    _, body = only(found, rf"2023/11/14/22/{name}-1-2023-11-14-22-13-20-{UUID}")
    assert body == b'text\n{"user":"ann","n":1}\x00raw'
    assert cloud.log.invocations() == []


def test_flush_firehose_delivers_what_is_buffered_at_once(
    audit: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = audit
    cloud.put_firehose_records("Delivery", ["now"])

    cloud.flush_firehose("Delivery")

    assert list(objects(stack.physical_id("Archive")).values()) == [b"now"]
    assert cloud.clock.now() == START


def test_records_cannot_be_put_into_a_stream_that_reads_kinesis(
    clicks: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = clicks

    with pytest.raises(InvalidArgumentError, match="reads a Kinesis data stream"):
        cloud.put_firehose_records(stack.physical_id("Delivery"), ["x"])


def test_a_record_over_1000_kib_is_refused(audit: tuple[LocalCloud, DeployedStack]) -> None:
    cloud, stack = audit

    with pytest.raises(ValueError, match="1,000 KiB"):
        cloud.put_firehose_records(stack.physical_id("Delivery"), [b"x" * (1000 * 1024 + 1)])


# --- deploy-time checks -----------------------------------------------------------------------


def cfn_stream_stack(**destination: Any) -> Stack:
    stack = new_stack("Raw")
    bucket = s3.Bucket(stack, "Archive")
    firehose.CfnDeliveryStream(
        stack,
        "Delivery",
        extended_s3_destination_configuration={
            "bucketArn": bucket.bucket_arn,
            "roleArn": "arn:aws:iam::123456789012:role/firehose",
            **destination,
        },
    )
    return stack


@pytest.mark.parametrize(
    ("destination", "error", "message"),
    [
        ({"compressionFormat": "Snappy"}, NotImplementedError, "CompressionFormat Snappy"),
        ({"prefix": "!{timestamp:yyyy}/"}, InvalidArgumentError, "ErrorOutputPrefix is required"),
        (
            {"prefix": "a/", "errorOutputPrefix": "e/!{timestamp:yyyy}/"},
            InvalidArgumentError,
            "must contain !{firehose:error-output-type}",
        ),
        (
            {
                "processingConfiguration": {
                    "enabled": True,
                    "processors": [
                        {
                            "type": "Lambda",
                            "parameters": [
                                {"parameterName": "LambdaArn", "parameterValue": "arn:x"},
                                {"parameterName": "NumberOfRetries", "parameterValue": "301"},
                            ],
                        }
                    ],
                }
            },
            InvalidArgumentError,
            "NumberOfRetries='301'",
        ),
        (
            {"dynamicPartitioningConfiguration": {"enabled": True}},
            NotImplementedError,
            "dynamic partitioning",
        ),
    ],
)
def test_fails_when_the_destination_is_not_emulated_or_invalid(
    destination: dict[str, Any], error: type[Exception], message: str
) -> None:
    with LocalCloud() as cloud, pytest.raises(error, match=re.escape(message)):
        cloud.deploy(cfn_stream_stack(**destination))


def test_fails_when_the_destination_is_not_s3() -> None:
    stack = new_stack("Http")
    firehose.CfnDeliveryStream(
        stack,
        "Delivery",
        http_endpoint_destination_configuration={
            "endpointConfiguration": {"url": "https://example.com"},
            "s3Configuration": {
                "bucketArn": "arn:aws:s3:::b",
                "roleArn": "arn:aws:iam::123456789012:role/r",
            },
        },
    )

    with LocalCloud() as cloud, pytest.raises(NotImplementedError, match="HttpEndpoint"):
        cloud.deploy(stack)


# --- prefixes ---------------------------------------------------------------------------------

MOMENT = datetime(2018, 8, 27, 10, 30, 5, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("yyyy/MM/dd/HH/", "2018/08/27/10/"),
        ("'year='yyyy'/month='M", "year=2018/month=8"),
        ("yy-MMM-d H:mm:ss.SSS", "18-Aug-27 10:30:05.123"),
        ("'it''s' MMMM", "it's August"),
    ],
)
def test_timestamp_expressions_follow_java_date_time_patterns(pattern: str, expected: str) -> None:
    assert java_time_format(pattern, MOMENT) == expected


@pytest.mark.parametrize(
    ("prefix", "error_prefix", "data", "errors"),
    [
        ("", None, "2018/08/27/10/", "processing-failed/2018/08/27/10/"),
        ("logs/", None, "logs/2018/08/27/10/", "logs/processing-failed/2018/08/27/10/"),
        (
            "y=!{timestamp:yyyy}/",
            "err/!{firehose:error-output-type}/!{timestamp:yyyy}/",
            "y=2018/",
            "err/processing-failed/2018/",
        ),
        # The s3-prefixes doc's first example: time folders are appended to Prefix only, not
        # to an ErrorOutputPrefix without a timestamp. (Its "2018/08/10/" for Prefix is a
        # typo: the stated rule appends yyyy/MM/dd/HH/.)
        (
            "",
            "myFirehoseFailures/!{firehose:error-output-type}/",
            "2018/08/27/10/",
            "myFirehoseFailures/processing-failed/",
        ),
        ("raw/", "failed/", "raw/2018/08/27/10/", "failed/"),
    ],
)
def test_prefixes_are_evaluated_as_firehose_documents(
    prefix: str, error_prefix: str | None, data: str, errors: str
) -> None:
    destination = S3Destination(bucket="b", prefix=prefix, error_output_prefix=error_prefix)

    assert destination.data_prefix(MOMENT) == data
    assert destination.error_prefix(MOMENT, "processing-failed") == errors


def test_random_strings_differ_at_every_evaluation() -> None:
    destination = S3Destination(
        bucket="b",
        prefix="!{firehose:random-string}/!{timestamp:yyyy}/",
        error_output_prefix="e/!{firehose:error-output-type}/",
    )

    first, second = destination.data_prefix(MOMENT), destination.data_prefix(MOMENT)

    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{2}/2018/", first)
    assert first != second


@pytest.mark.parametrize(
    ("hints", "message"),
    [
        ({"buffer_interval_seconds": 901}, "IntervalInSeconds=901 is out of range: allowed 0-900"),
        ({"buffer_size_mib": 0}, "SizeInMBs=0 is out of range: allowed 1-128"),
    ],
)
def test_fails_when_a_buffering_hint_is_out_of_range(hints: dict[str, int], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        S3Destination(bucket="b", **hints)  # type: ignore[arg-type]


def test_fails_when_a_prefix_uses_the_error_output_type() -> None:
    with pytest.raises(InvalidArgumentError, match="belongs in ErrorOutputPrefix only"):
        S3Destination(
            bucket="b",
            prefix="!{firehose:error-output-type}/",
            error_output_prefix="e/!{firehose:error-output-type}/",
        )
