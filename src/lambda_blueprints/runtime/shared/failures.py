"""Records a handler can never process: keep them, whole, with the reason.

A stream mapping's on-failure destination receives only the position of a failed batch
(shard and sequence numbers), and only after every retry. A record that no retry can fix
(a poison record) would block its shard for all those retries and then leave nothing but
a pointer behind. Handlers raise :class:`PoisonRecordError` for such records; the batch
goes on, and :func:`send_to_failure_queue` stores the record itself with its reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

#: SQS accepts messages of up to 256 KiB (body plus attributes).
MAX_MESSAGE_BYTES = 256 * 1024
#: Room kept for the message attributes and the envelope fields.
_ENVELOPE_RESERVE_BYTES = 4 * 1024
#: What a parked window aggregate keeps when it is too large to carry whole.
_WINDOW_FIELDS = ("window", "shardId", "part", "firstSequenceNumber", "lastSequenceNumber")


class PoisonRecordError(Exception):
    """A record that no retry can process; it belongs in the failure queue.

    Args:
        reason: Short, stable reason code, e.g. ``MALFORMED_RECORD``.
        detail: What exactly is wrong with the record.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


#: Error codes of DynamoDB, SQS, SNS, Kinesis and S3 that refuse the request itself: the same
#: request is refused again on every retry.
_REFUSED_REQUEST_CODES = frozenset(
    {
        "ValidationException",
        "ValidationError",
        "InvalidParameterValue",
        "InvalidParameterException",
        "InvalidMessageContents",
        "InvalidArgumentException",
        "InvalidArgument",
        "EntityTooLarge",
        "KeyTooLongError",
    }
)


def as_poison(error: BaseException) -> PoisonRecordError | None:
    """The :class:`PoisonRecordError` that ``error`` amounts to, or None if a retry may help.

    The same record fails the same way on every retry when the error is:

    * a :class:`PoisonRecordError` (the handler said so);
    * a parse error of any kind (``ValueError``, which includes ``json.JSONDecodeError``,
      ``UnicodeDecodeError`` and ``binascii.Error``): ``MALFORMED_RECORD``;
    * ``RecursionError``, from data nested too deep to read or write: ``NESTING_TOO_DEEP``;
    * a number that cannot be read, computed or stored exactly (any ``ArithmeticError``:
      ``decimal.DecimalException``, ``OverflowError``): ``INVALID_NUMBER``;
    * a request the service refuses as invalid (``ValidationException`` from DynamoDB and
      the like, never throttling or a server error): ``WRITE_REJECTED``.

    Anything else (throttling, timeouts, a service error, a bug such as a ``KeyError``) is
    retryable: the record stays in the stream and is retried, and a record that keeps
    failing ends in the mapping's on-failure destination once its retries run out.
    """
    if isinstance(error, PoisonRecordError):
        return error
    if isinstance(error, RecursionError):
        return PoisonRecordError("NESTING_TOO_DEEP", "the record nests too deep to process")
    if isinstance(error, ArithmeticError):
        # decimal's exceptions (InvalidOperation, Overflow, Inexact, ...) are among them.
        return PoisonRecordError("INVALID_NUMBER", f"{type(error).__name__}: {error}")
    if isinstance(error, ValueError):
        return PoisonRecordError("MALFORMED_RECORD", f"{type(error).__name__}: {error}")
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in _REFUSED_REQUEST_CODES:
            return PoisonRecordError("WRITE_REJECTED", f"{code}: {error}")
    return None


def failure_message(
    record: Mapping[str, Any],
    error: PoisonRecordError,
    *,
    function_name: str,
    request_id: str,
) -> dict[str, Any]:
    """Build the failure queue message body for ``record``.

    The body names the reason, the function and the record's position in its stream, and
    carries the record itself. A record too large for one SQS message keeps its position
    and keys (for a window aggregate: its window, shard, part and first and last sequence
    numbers)
    and drops the rest, flagged by ``recordTruncated``.
    """
    dynamodb = record.get("dynamodb") if isinstance(record.get("dynamodb"), Mapping) else None
    kinesis = record.get("kinesis") if isinstance(record.get("kinesis"), Mapping) else None
    position = dynamodb or kinesis or {}
    body: dict[str, Any] = {
        "reason": error.reason,
        "detail": error.detail,
        "functionName": function_name,
        "requestId": request_id,
        "failedAt": datetime.now(UTC).isoformat(),
        "eventSourceARN": record.get("eventSourceARN"),
        "eventID": record.get("eventID"),
        "sequenceNumber": position.get("SequenceNumber") or position.get("sequenceNumber"),
        "recordTruncated": False,
        "record": dict(record),
    }
    if len(_encode(body)) > MAX_MESSAGE_BYTES - _ENVELOPE_RESERVE_BYTES:
        body["recordTruncated"] = True
        body["record"] = {
            "eventID": record.get("eventID"),
            "eventName": record.get("eventName"),
            "keys": dynamodb.get("Keys") if dynamodb else None,
            "partitionKey": kinesis.get("partitionKey") if kinesis else None,
            # A window aggregate (see windows.py): where its records are in the stream.
            **{key: record[key] for key in _WINDOW_FIELDS if key in record},
        }
    return body


def send_to_failure_queue(
    sqs: SQSClient,
    record: Mapping[str, Any],
    error: PoisonRecordError,
    *,
    function_name: str,
    request_id: str,
    queue_url: str | None = None,
) -> str:
    """Send ``record`` with its reason to the failure queue; return the message id.

    Raises whatever SQS raises: the caller lets the record fail, so that the stream retries
    it rather than losing it.
    """
    url = queue_url or os.environ["FAILURE_QUEUE_URL"]
    body = failure_message(record, error, function_name=function_name, request_id=request_id)
    response = sqs.send_message(
        QueueUrl=url,
        MessageBody=_encode(body).decode("utf-8"),
        MessageAttributes={
            "reason": {"DataType": "String", "StringValue": error.reason},
            "functionName": {"DataType": "String", "StringValue": function_name},
        },
    )
    return response["MessageId"]


def _encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), default=str).encode("utf-8")
