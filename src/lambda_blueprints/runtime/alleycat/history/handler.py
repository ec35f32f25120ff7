"""All-time personal bests per class, updated from each object Firehose delivers.

Invoked by an EventBridge rule for every ``Object Created`` event of the delivery bucket's
data prefix. The object holds newline-delimited messages with their ``output`` (see
:mod:`.transform`), gzip-compressed. For each class in it, the class's history object,
``<HISTORY_PREFIX>class-<classId>.json.gz`` in the history bucket, is read, the new
seconds that beat a racer's best are merged in, and the object is written back only if it
did not change in between (S3 conditional writes: ``If-Match`` on the ETag read, or
``If-None-Match: *`` for a new object), so concurrent invocations never lose a best. The
merge keeps maxima, so a redelivered object changes nothing.

History object (gzip JSON): ``{"classId": 3, "racers": {"<racerId>": {"<second>":
"<best output>"}}}``, what the Alleycat frontend downloads before a race.

Environment:
    HISTORY_BUCKET_NAME: The history bucket.
    HISTORY_PREFIX: Key prefix of the history objects. Defaults to ``history/``.
    FAILURE_QUEUE_URL: Where unusable lines go, with the reason (optional).

A line that cannot be read goes to the failure queue and the rest of the object is still
merged; any other error fails the invocation and EventBridge retries it (then its
dead-letter queue keeps the event).
"""

from __future__ import annotations

import gzip
import json
import os
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from ...shared.failures import PoisonRecordError
from ..race import History, add_to_history, message_from

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

logger = Logger()

#: Conditional write attempts per class before the invocation fails (and is retried).
MAX_WRITE_ATTEMPTS = 8
_GZIP_MAGIC = b"\x1f\x8b"


@cache
def s3_client() -> S3Client:
    """Return the S3 client, created on first use."""
    return boto3.client("s3")


@cache
def sqs_client() -> SQSClient:
    """Return the SQS client, created on first use."""
    return boto3.client("sqs")


def delivered_lines(body: bytes) -> Iterator[bytes]:
    """The non-empty lines of a delivered object, gunzipped when compressed."""
    if body[:2] == _GZIP_MAGIC:
        body = gzip.decompress(body)
    for line in body.splitlines():
        if line.strip():
            yield line


def bests_by_class(lines: Iterator[bytes], park: Any) -> dict[int, History]:
    """The best output per class, racer and second among ``lines``."""
    classes: dict[int, History] = {}
    for line in lines:
        try:
            payload = json.loads(line, parse_float=Decimal)
            if not isinstance(payload, dict):
                raise PoisonRecordError("MALFORMED_LINE", "the line is not a JSON object")
            message = message_from(payload)
            output = Decimal(str(payload.get("output", message.output)))
        except (ValueError, ArithmeticError) as error:
            park(line, PoisonRecordError("MALFORMED_LINE", str(error)))
            continue
        except PoisonRecordError as error:
            park(line, error)
            continue
        add_to_history(
            classes.setdefault(message.class_id, {}), message.racer_id, message.second, output
        )
    return classes


def merge_class(bucket: str, key: str, class_id: int, bests: History) -> int:
    """Merge ``bests`` into the class's history object; return the bests that were new."""
    s3 = s3_client()
    for _ in range(MAX_WRITE_ATTEMPTS):
        try:
            current = s3.get_object(Bucket=bucket, Key=key)
            etag: str | None = current["ETag"]
            document = json.loads(gzip.decompress(current["Body"].read()))
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("NoSuchKey", "404"):
                raise
            etag, document = None, {"classId": class_id, "racers": {}}
        history: History = document["racers"]
        new = sum(
            add_to_history(history, int(racer), int(second), Decimal(output))
            for racer, seconds in bests.items()
            for second, output in seconds.items()
        )
        if new == 0:
            return 0
        body = gzip.compress(json.dumps(document, separators=(",", ":")).encode(), mtime=0)
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                ContentEncoding="gzip",
                **condition,  # type: ignore[arg-type]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] not in (
                "PreconditionFailed",
                "ConditionalRequestConflict",
            ):
                raise
            continue  # written in between: merge into the newer object
        return new
    raise RuntimeError(f"{key} kept changing during {MAX_WRITE_ATTEMPTS} writes")


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Merge one delivered object into the history objects of its classes."""
    detail: Mapping[str, Any] = event["detail"]
    source_bucket, source_key = detail["bucket"]["name"], detail["object"]["key"]
    history_bucket = os.environ["HISTORY_BUCKET_NAME"]
    prefix = os.environ.get("HISTORY_PREFIX", "history/")
    parked = 0

    def park(line: bytes, error: PoisonRecordError) -> None:
        nonlocal parked
        parked += 1
        logger.warning("unusable line", extra={"reason": error.reason, "detail": error.detail})
        queue_url = os.environ.get("FAILURE_QUEUE_URL")
        if queue_url:
            sqs_client().send_message(
                QueueUrl=queue_url,
                MessageBody=json.dumps(
                    {
                        "reason": error.reason,
                        "detail": error.detail,
                        "functionName": context.function_name,
                        "requestId": context.aws_request_id,
                        "bucket": source_bucket,
                        "key": source_key,
                        "line": line.decode("utf-8", "replace")[:200_000],
                    }
                ),
            )

    body = s3_client().get_object(Bucket=source_bucket, Key=source_key)["Body"].read()
    classes = bests_by_class(delivered_lines(body), park)
    new = {
        class_id: merge_class(history_bucket, f"{prefix}class-{class_id}.json.gz", class_id, bests)
        for class_id, bests in sorted(classes.items())
    }
    logger.info("history merged", extra={"object": source_key, "newBests": new, "parked": parked})
    return {"object": source_key, "newBests": {str(k): v for k, v in new.items()}, "parked": parked}
