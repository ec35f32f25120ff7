"""All-time personal bests per class, updated from each object Firehose delivers.

Invoked by an EventBridge rule for every ``Object Created`` event of the delivery bucket's
data prefix. The object holds newline-delimited messages (see :mod:`.transform`),
gzip-compressed or not (the first two bytes tell). For each class in it, the class's
history object, ``<HISTORY_PREFIX>class-<classId>.json.gz`` in the history bucket, is read,
the new seconds that beat a racer's best are merged in, and the object is written back only
if it did not change in between (S3 conditional writes: ``If-Match`` on the ETag read, or
``If-None-Match: *`` for a new object), so concurrent invocations never lose a best. The
merge keeps maxima, so a redelivered object changes nothing.

A line's output is recomputed from its validated ``cadence`` and ``resistance``
(:attr:`~lambda_blueprints.runtime.alleycat.race.RaceMessage.output`); an ``output`` the
line carries is not trusted, so no line can store ``NaN``, ``Infinity`` or a made-up best.
A stored best that is not a finite number (written by an earlier version that did trust
it) is dropped, with a warning, when the object is next merged, and the object is written
back without it.

History object: ``{"classId": 3, "racers": {"<racerId>": {"<second>": "<best output>"}}}``,
JSON, gzip-compressed, what the Alleycat frontend downloads before a race. It is stored
with ``Content-Type: application/gzip`` and no ``Content-Encoding``: the frontend fetches
it as an ``arraybuffer`` and gunzips it itself, and a ``Content-Encoding: gzip`` header
would make the browser decompress the body first and hand the frontend plain JSON that its
``gunzip`` rejects. A client that wants the JSON gunzips the bytes it downloads.

Environment:
    HISTORY_BUCKET_NAME: The history bucket.
    HISTORY_PREFIX: Key prefix of the history objects. Defaults to ``history/``.
    FAILURE_QUEUE_URL: Where unusable lines go, with the reason (optional).

A line that cannot be read goes to the failure queue, with the reason, the object's bucket
and key and the line itself, and the rest of the object is still merged; any other error
fails the invocation and EventBridge retries it (then its dead-letter queue keeps the
event). That includes a history object that changed at each of :data:`MAX_WRITE_ATTEMPTS`
conditional writes (``RuntimeError``).
"""

from __future__ import annotations

import gzip
import json
import os
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from ...shared.failures import MAX_MESSAGE_BYTES, PoisonRecordError, as_poison
from ..race import MAX_LINE_BYTES, History, add_to_history, parse_message

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

logger = Logger()

#: Conditional write attempts per class before the invocation fails (and is retried).
MAX_WRITE_ATTEMPTS = 8
_GZIP_MAGIC = b"\x1f\x8b"
#: Room kept in a failure queue message for SQS's own envelope.
_SQS_RESERVE_BYTES = 4 * 1024
_MAX_DETAIL_CHARS = 2_000


@cache
def s3_client() -> S3Client:
    """Return the S3 client, created on first use."""
    return boto3.client("s3")


@cache
def sqs_client() -> SQSClient:
    """Return the SQS client, created on first use."""
    return boto3.client("sqs")


def _gunzipped(body: bytes) -> bytes:
    """``body`` gunzipped when it is gzip data, else as it is."""
    return gzip.decompress(body) if body[:2] == _GZIP_MAGIC else body


def delivered_lines(body: bytes) -> Iterator[bytes]:
    """The non-empty lines of a delivered object, gunzipped when compressed."""
    for line in _gunzipped(body).splitlines():
        if line.strip():
            yield line


def bests_by_class(
    lines: Iterable[bytes], park: Callable[[bytes, PoisonRecordError], None]
) -> dict[int, History]:
    """The best output per class, racer and second among ``lines``.

    Each line is read by :func:`~..race.parse_message`, the validator every Alleycat reader
    shares, and its output recomputed from the validated cadence and resistance; a line
    that is not a valid message is handed to ``park`` with the reason and left out.
    """
    classes: dict[int, History] = {}
    for line in lines:
        try:
            # The validator every reader shares, so a best counts exactly when the
            # standings count its message; a line may be longer by the added output.
            message = parse_message(line, max_bytes=MAX_LINE_BYTES)
            # Never the line's own "output": NaN would block the racer's second for good
            # (no comparison with it holds) and Infinity would win it for good.
            output = message.output
        except Exception as failure:
            error = as_poison(failure)
            if error is None:
                raise
            park(line, error)
            continue
        add_to_history(
            classes.setdefault(message.class_id, {}), message.racer_id, message.second, output
        )
    return classes


def _finite(value: Any) -> Decimal | None:
    """A stored best as a finite ``Decimal``; None when it is not one."""
    # This handler writes strings; numbers are read too rather than thrown away.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def repair_history(key: str, history: MutableMapping[str, Any]) -> int:
    """Drop the stored bests that are not finite numbers; return how many were dropped.

    A history written by a version that trusted the lines' ``output`` may hold ``"NaN"``,
    which every later comparison would raise on, or ``"Infinity"``, which no real output
    could beat; neither was ever a real best.
    """
    dropped = 0
    for racer, seconds in list(history.items()):
        if not isinstance(seconds, dict):
            logger.warning("unusable racer entry dropped", extra={"key": key, "racer": racer})
            del history[racer]
            dropped += 1
            continue
        for second, best in list(seconds.items()):
            if _finite(best) is None:
                logger.warning(
                    "unusable stored best dropped",
                    extra={"key": key, "racer": racer, "second": second, "best": repr(best)},
                )
                del seconds[second]
                dropped += 1
    return dropped


def merge_class(bucket: str, key: str, class_id: int, bests: History) -> int:
    """Merge ``bests`` into the class's history object; return the bests that were new.

    Args:
        bucket: The history bucket.
        key: The class's history object.
        class_id: The class, written into a new object.
        bests: The bests to merge, as :func:`bests_by_class` returns them for the class.

    Returns:
        How many (racer, second) bests were new or better than the stored ones.

    Raises:
        RuntimeError: When the object changed between read and write at each of
            :data:`MAX_WRITE_ATTEMPTS` attempts (the invocation fails and is retried).
        ValueError: When the stored object is not a history document.
        botocore.exceptions.ClientError: For any other S3 error.
    """
    s3 = s3_client()
    for _ in range(MAX_WRITE_ATTEMPTS):
        try:
            current = s3.get_object(Bucket=bucket, Key=key)
            etag: str | None = current["ETag"]
            document = json.loads(_gunzipped(current["Body"].read()))
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("NoSuchKey", "404"):
                raise
            etag, document = None, {"classId": class_id, "racers": {}}
        if not isinstance(document, dict) or not isinstance(document.get("racers"), dict):
            raise ValueError(f"{key} is not a history document (no racers object)")
        history: History = document["racers"]
        repaired = repair_history(key, history)
        new = sum(
            add_to_history(history, int(racer), int(second), Decimal(output))
            for racer, seconds in bests.items()
            for second, output in seconds.items()
        )
        if new == 0 and repaired == 0:
            return 0
        # Level 6, as the standings: level 9 (gzip's default) costs several times the CPU of
        # every invocation for a file a few percent smaller.
        text = json.dumps(document, separators=(",", ":")).encode()
        body = gzip.compress(text, compresslevel=6, mtime=0)
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            # No ContentEncoding: the frontend gunzips the bytes itself (module docstring).
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType="application/gzip",
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


def parked_message(body: Mapping[str, Any], line: bytes) -> str:
    """The failure queue message for an unusable line: ``body`` plus the line, within SQS's size.

    The line is cut (``lineTruncated``) when the message would not fit one SQS message: a
    delivered line may hold up to 1,000 KiB, and a message that SQS refuses would fail the
    invocation before any best of the object is merged. The whole line stays in the
    delivered object named by ``bucket`` and ``key``.
    """
    text = line.decode("utf-8", "replace")
    truncated = False
    while True:
        message = json.dumps(
            {**body, "lineTruncated": truncated, "lineBytes": len(line), "line": text},
            ensure_ascii=False,
        )
        if len(message.encode()) <= MAX_MESSAGE_BYTES - _SQS_RESERVE_BYTES or not text:
            return message
        text, truncated = text[: len(text) // 2], True


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
            body = {
                "reason": error.reason,
                "detail": error.detail[:_MAX_DETAIL_CHARS],
                "functionName": context.function_name,
                "requestId": context.aws_request_id,
                "bucket": source_bucket,
                "key": source_key,
            }
            sqs_client().send_message(QueueUrl=queue_url, MessageBody=parked_message(body, line))

    body = s3_client().get_object(Bucket=source_bucket, Key=source_key)["Body"].read()
    classes = bests_by_class(delivered_lines(body), park)
    new = {
        class_id: merge_class(history_bucket, f"{prefix}class-{class_id}.json.gz", class_id, bests)
        for class_id, bests in sorted(classes.items())
    }
    logger.info("history merged", extra={"object": source_key, "newBests": new, "parked": parked})
    return {"object": source_key, "newBests": {str(k): v for k, v in new.items()}, "parked": parked}
