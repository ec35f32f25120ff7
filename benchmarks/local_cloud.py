"""Throughput of the local cloud and cost of the audit handler, measured side by side.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/local_cloud.py``). Prints a Markdown
table; ``benchmarks/RESULTS.md`` holds a recorded run.

Measured:
* engine: stream records per second through StreamEventSourceMapping from an in-memory
  stream to a function that returns at once (batch 100 and 1,000), so the number is the
  engine's own cost;
* engine + moto: the same from a moto DynamoDB stream, read through the Streams API;
* handler: the audit handler on one 1,000-record batch against moto, per batch and per
  record, next to the bare moto PutItem cost it is made of.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any, cast

import boto3
from moto import mock_aws

from lambda_blueprints.testing import LambdaContext, dynamodb_stream_event, dynamodb_stream_record
from lambda_blueprints.testing.activity import ActivityLog, InvokeResult
from lambda_blueprints.testing.clock import Clock
from lambda_blueprints.testing.streams import (
    DynamoDBStreamSource,
    MemoryStream,
    StreamEventSourceMapping,
    run_mappings,
)

for name, value in {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}.items():
    os.environ.setdefault(name, value)


def _noop(name: str, event: dict[str, Any]) -> InvokeResult:
    return InvokeResult(str(uuid.uuid4()), None)


def _best(runs: int, measure: Callable[[], float]) -> float:
    return max(measure() for _ in range(runs))


def engine_records_per_second(records: int, batch_size: int) -> float:
    """Records/s from a memory stream through the engine to a no-op function."""
    clock = Clock(start=1_767_225_600.0)
    stream = MemoryStream("kinesis", "arn:aws:kinesis:us-east-1:1:stream/s", clock=clock)
    for n in range(records):
        stream.put(b'{"n": %d}' % n, partition_key=str(n % 64))
    mapping = StreamEventSourceMapping(
        source=stream,
        function_name="fn",
        function_arn="arn:aws:lambda:us-east-1:1:function:fn",
        invoke=_noop,
        log=ActivityLog(),
        clock=clock,
        batch_size=batch_size,
        report_batch_item_failures=True,
        bisect_batch_on_function_error=True,
    )
    started = time.perf_counter()
    run_mappings([mapping], clock)
    return records / (time.perf_counter() - started)


def moto_stream_records_per_second(records: int) -> float:
    """Records/s from a moto DynamoDB stream through the engine (reading included)."""
    with mock_aws():
        table = boto3.resource("dynamodb").create_table(
            TableName="bench",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        with table.batch_writer() as batch:
            for n in range(records):
                batch.put_item(Item={"id": str(n), "n": n})
        clock = Clock()
        mapping = StreamEventSourceMapping(
            source=DynamoDBStreamSource(
                table.latest_stream_arn, client=boto3.client("dynamodbstreams")
            ),
            function_name="fn",
            function_arn="arn:aws:lambda:us-east-1:1:function:fn",
            invoke=_noop,
            log=ActivityLog(),
            clock=clock,
            batch_size=1000,
        )
        started = time.perf_counter()
        run_mappings([mapping], clock)
        return records / (time.perf_counter() - started)


def _modify_event(records: int) -> dict[str, Any]:
    """A DynamoDB stream event of ``records`` MODIFY records, two attributes changed each."""
    return dynamodb_stream_event(
        *(
            dynamodb_stream_record(
                "MODIFY",
                {"userId": f"u-{n}"},
                old_image={"userId": f"u-{n}", "plan": "free", "n": n},
                new_image={"userId": f"u-{n}", "plan": "pro", "n": n + 1},
            )
            for n in range(records)
        )
    )


def audit_handler_batch_ms(records: int = 1000) -> tuple[float, float]:
    """Median milliseconds of the audit handler on one batch, and of bare PutItems."""
    from lambda_blueprints.runtime.audit_trail import handler

    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName="audit",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        os.environ["AUDIT_TABLE_NAME"] = "audit"
        os.environ["FAILURE_QUEUE_URL"] = "unused"
        handler.dynamodb_client.cache_clear()
        timings, bare = [], []
        for _ in range(3):
            event = _modify_event(records)
            started = time.perf_counter()
            response = handler.lambda_handler(event, cast(Any, LambdaContext()))
            timings.append((time.perf_counter() - started) * 1000)
            assert response == {"batchItemFailures": []}  # noqa: S101 - a benchmark guard
            started = time.perf_counter()
            for n in range(records):
                dynamodb.put_item(
                    TableName="audit", Item={"pk": {"S": f"bare-{n}"}, "sk": {"S": "x"}}
                )
            bare.append((time.perf_counter() - started) * 1000)
        handler.dynamodb_client.cache_clear()
        return statistics.median(timings), statistics.median(bare)


class _NoopDynamoDB:
    def put_item(self, **_: Any) -> dict[str, Any]:
        return {}


def audit_handler_own_ms(records: int = 1000) -> float:
    """Median ms of the audit handler on a batch with a client that does nothing."""
    from lambda_blueprints.runtime.audit_trail import handler

    os.environ["AUDIT_TABLE_NAME"] = "audit"
    original = handler.dynamodb_client
    handler.dynamodb_client = lambda: _NoopDynamoDB()  # type: ignore[assignment]
    try:
        event = _modify_event(records)
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            handler.lambda_handler(event, cast(Any, LambdaContext()))
            timings.append((time.perf_counter() - started) * 1000)
        return statistics.median(timings)
    finally:
        handler.dynamodb_client = original


def import_ms(statement: str, runs: int = 12) -> float:
    """Fastest of ``runs`` fresh interpreters running ``statement``, minus an empty one.

    The minimum, not the median: on a shared 2-core machine the noise is all upward.
    """

    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603
        return (time.perf_counter() - started) * 1000

    base = min(run("pass") for _ in range(runs))
    return min(run(statement) for _ in range(runs)) - base


_CDK_MODULES = (
    "aws_cdk, aws_cdk.aws_cloudwatch, aws_cdk.aws_cloudwatch_actions, aws_cdk.aws_dynamodb, "
    "aws_cdk.aws_iam, aws_cdk.aws_kinesis, aws_cdk.aws_kms, aws_cdk.aws_lambda, "
    "aws_cdk.aws_logs, aws_cdk.aws_sns, aws_cdk.aws_sqs"
)


def main() -> None:
    """Run every measurement and print the table."""
    rows = [
        ("engine, memory stream, batch 100", engine_records_per_second(100_000, 100), "records/s"),
        (
            "engine, memory stream, batch 1,000",
            engine_records_per_second(100_000, 1000),
            "records/s",
        ),
        (
            "engine + moto DynamoDB stream, batch 1,000",
            moto_stream_records_per_second(5_000),
            "records/s",
        ),
    ]
    handler_ms, bare_ms = audit_handler_batch_ms()
    own_ms = audit_handler_own_ms()
    handler_import = import_ms("import lambda_blueprints.runtime.audit_trail.handler")
    ddns_import = import_ms("import lambda_blueprints.runtime.dynamic_dns.handler")
    boto3_import = import_ms("import boto3")
    cdk_import = import_ms("import aws_cdk")
    package_import = import_ms("import aws_cdk, lambda_blueprints")
    # The constructs' module-level defaults (Duration, Runtime) start jsii's Node kernel at
    # import; plain `import aws_cdk` starts it at the first construct. Compare like with like.
    cdk_modules = import_ms(f"import {_CDK_MODULES}; aws_cdk.Duration.seconds(1)")
    library_import = import_ms("import lambda_blueprints.constructs, lambda_blueprints.patterns")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print()
    print("| measurement | value | unit |")
    print("| --- | ---: | --- |")
    for label, value, unit in rows:
        print(f"| {label} | {value:,.0f} | {unit} |")
    print(f"| audit handler, 1,000-record batch against moto | {handler_ms:,.0f} | ms |")
    print(f"| bare moto PutItem x 1,000 (the handler's floor) | {bare_ms:,.0f} | ms |")
    print(f"| handler / bare PutItem | {handler_ms / bare_ms:.2f} | ratio |")
    print(f"| audit handler's own work, 1,000 records (no-op client) | {own_ms:,.1f} | ms |")
    print(
        f"| import audit handler (cold interpreter, boto3 included) | {handler_import:,.0f} | ms |"
    )
    print(
        "| import dynamic DNS handler (cold interpreter, boto3 included) "
        f"| {ddns_import:,.0f} | ms |"
    )
    print(f"| import boto3 alone (preloaded in Lambda's runtime) | {boto3_import:,.0f} | ms |")
    print(f"| import aws_cdk | {cdk_import:,.0f} | ms |")
    print(f"| import aws_cdk + lambda_blueprints (lazy) | {package_import:,.0f} | ms |")
    print(
        "| import the aws_cdk submodules the constructs use + start the jsii kernel "
        f"| {cdk_modules:,.0f} | ms |"
    )
    print(f"| import lambda_blueprints.constructs + .patterns | {library_import:,.0f} | ms |")
    print(
        f"| library's own import cost (last two rows) | {library_import - cdk_modules:,.0f} | ms |"
    )


if __name__ == "__main__":
    main()
