"""Write the audit items of every change of a DynamoDB table, from the table's stream.

Environment:
    AUDIT_TABLE_NAME: The table that receives the audit items (``pk``/``sk`` strings).
    FAILURE_QUEUE_URL: Where records that can never be audited go, whole, with a reason.
    AUDIT_RETENTION_DAYS: Days until an audit item expires via the ``expiresAt`` time to
        live attribute; ``0`` (the default) keeps audit items forever.

Behaviour:
    * INSERT, MODIFY and REMOVE records become one audit item each (several parts when the
      change is too large for one item, see :func:`.changes.audit_items`), listing every
      attribute that changed with its old and new typed value. A MODIFY that changed
      nothing (a rewrite of equal values) writes nothing.
    * Idempotent: the audit key ends with the record's event id and is written only if
      absent, so a redelivered record (retries resume at the first failed record) is
      recognised and skipped (outcome ``duplicate``).
    * Partial batch responses: a record that fails for a reason a retry may fix (throttling,
      a timeout) is reported in ``batchItemFailures``; the rest of the batch is kept.
    * Poison records go to the failure queue with their reason and do not block the shard:
      every error :func:`~..shared.failures.as_poison` calls permanent, i.e. malformed
      records (``MALFORMED_RECORD``), records without the images auditing needs
      (``MISSING_IMAGE``), values nested too deep (``NESTING_TOO_DEEP``), and audit items
      DynamoDB refuses or would refuse (``AUDIT_ITEM_REJECTED``). If that send fails, the
      record is reported as failed and retried: nothing is dropped.
"""

from __future__ import annotations

import os
import time
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from botocore.exceptions import ClientError

from ..shared.failures import PoisonRecordError, as_poison, send_to_failure_queue
from .changes import audit_items, parse_change
from .limits import AUDIT_ITEM_REJECTED, check_item

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

_SECONDS_PER_DAY = 86_400


@cache
def dynamodb_client() -> DynamoDBClient:
    """Return the DynamoDB client, created on first use (and once per container)."""
    return boto3.client("dynamodb")


@cache
def sqs_client() -> SQSClient:
    """Return the SQS client, created on first use (and once per container)."""
    return boto3.client("sqs")


def _expires_at(now: float) -> int | None:
    days = int(os.environ.get("AUDIT_RETENTION_DAYS", "0") or 0)
    return int(now) + days * _SECONDS_PER_DAY if days > 0 else None


def write_audit(record: dict[str, Any]) -> str:
    """Audit one raw stream record; return ``written``, ``duplicate`` or ``unchanged``.

    ``duplicate`` means every audit item of the record was there already: a redelivery.

    Raises:
        PoisonRecordError: When the record can never be audited, ``AUDIT_ITEM_REJECTED``
            when DynamoDB refuses (or would refuse) its audit item.
        ClientError: When DynamoDB fails in a way a retry may fix.
    """
    change = parse_change(record)
    if not change.attributes:
        return "unchanged"
    items = audit_items(change, expires_at=_expires_at(time.time()))
    # Every part is checked before any is written: a change DynamoDB cannot take is
    # parked whole instead of leaving some of its parts behind.
    for item in items:
        check_item(item)
    written = False
    for item in items:
        try:
            dynamodb_client().put_item(
                TableName=os.environ["AUDIT_TABLE_NAME"],
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                continue
            if as_poison(error) is not None:
                raise PoisonRecordError(
                    AUDIT_ITEM_REJECTED,
                    f"DynamoDB refused audit item {item['sk']['S'][:120]!r}: {code}: "
                    f"{error.response.get('Error', {}).get('Message', '')}",
                ) from error
            raise
        written = True
    return "written" if written else "duplicate"


def _record_handler(record: DynamoDBRecord, lambda_context: LambdaContext) -> None:
    raw = record.raw_event
    try:
        outcome = write_audit(raw)
    except Exception as error:
        poison = as_poison(error)
        if poison is None:
            raise
        _park(raw, poison, lambda_context)
        return
    logger.debug("record audited", extra={"event_id": raw.get("eventID"), "outcome": outcome})


def _park(raw: dict[str, Any], error: PoisonRecordError, lambda_context: LambdaContext) -> None:
    try:
        message_id = send_to_failure_queue(
            sqs_client(),
            raw,
            error,
            function_name=lambda_context.function_name,
            request_id=lambda_context.aws_request_id,
        )
    except RecursionError:
        # Too deep to write as JSON: park where the record is in its stream instead, so
        # that it does not block its shard through every retry.
        error = PoisonRecordError(
            error.reason, f"{error.detail}; the record nests too deep to keep whole"
        )
        message_id = send_to_failure_queue(
            sqs_client(),
            _position(raw),
            error,
            function_name=lambda_context.function_name,
            request_id=lambda_context.aws_request_id,
        )
    logger.warning(
        "poison record sent to the failure queue",
        extra={
            "event_id": raw.get("eventID"),
            "reason": error.reason,
            "detail": error.detail[:1000],
            "message_id": message_id,
        },
    )


def _position(raw: dict[str, Any]) -> dict[str, Any]:
    def text(value: object) -> str | None:
        return value[:2048] if isinstance(value, str) else None

    data = raw.get("dynamodb")
    return {
        "eventID": text(raw.get("eventID")),
        "eventName": text(raw.get("eventName")),
        "eventSourceARN": text(raw.get("eventSourceARN")),
        "dynamodb": {
            "SequenceNumber": text(data.get("SequenceNumber")) if isinstance(data, dict) else None
        },
    }


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Audit a batch of DynamoDB stream records; report the records that failed."""
    return process_partial_response(
        event=event,
        record_handler=_record_handler,
        processor=processor,
        context=context,
    )
