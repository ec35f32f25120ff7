"""Each racer's final result, from the ``finish`` messages of the bike stream.

A second consumer of the stream (its mapping filters on ``event = finish``). Each finish
message becomes one item, ``pk`` = ``race#<raceId>``, ``sk`` = ``racer#<racerId>``, with
``raceKey`` (= ``pk``) and ``score`` (the final total) feeding the ``ByScore`` index the
leaderboard API queries. A write only replaces a lower score, so duplicates and replays
change nothing.

Environment:
    RESULTS_TABLE_NAME: The races table.
    FAILURE_QUEUE_URL: Where invalid messages go, whole, with the reason.

Partial batch responses: a record whose write fails for a reason a retry may fix is
reported in ``batchItemFailures``. A record no retry can fix is parked with its reason and
never blocks the shard: a message :func:`~..race.parse_message` refuses (the validator
every Alleycat reader shares), a result DynamoDB refuses (``RESULT_REJECTED``), and any
other error :func:`~...shared.failures.as_poison` calls permanent (a parse error, data
nested too deep, a number that cannot be computed).
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import (
    KinesisStreamRecord,
)
from botocore.exceptions import ClientError

from ...shared.failures import PoisonRecordError, as_poison, send_to_failure_queue
from ..race import RaceMessage, kinesis_message

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

logger = Logger()
processor = BatchProcessor(event_type=EventType.KinesisDataStreams)


@cache
def dynamodb_client() -> DynamoDBClient:
    """Return the DynamoDB client, created on first use."""
    return boto3.client("dynamodb")


@cache
def sqs_client() -> SQSClient:
    """Return the SQS client, created on first use."""
    return boto3.client("sqs")


def save_final(table_name: str, message: RaceMessage) -> bool:
    """Write the racer's final result unless a higher one is stored; True if written."""
    race_key = f"race#{message.race_id}"
    try:
        dynamodb_client().put_item(
            TableName=table_name,
            Item={
                "pk": {"S": race_key},
                "sk": {"S": f"racer#{message.racer_id}"},
                "raceKey": {"S": race_key},
                "score": {"N": str(message.total)},
                "raceId": {"N": str(message.race_id)},
                "classId": {"N": str(message.class_id)},
                "racerId": {"N": str(message.racer_id)},
                "name": {"S": message.name},
                "second": {"N": str(message.second)},
            },
            ConditionExpression="attribute_not_exists(pk) OR score < :score",
            ExpressionAttributeValues={":score": {"N": str(message.total)}},
        )
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "ConditionalCheckFailedException":
            return False
        if code == "ValidationException":
            # No retry makes DynamoDB take this item: park the message, not the batch.
            raise PoisonRecordError("RESULT_REJECTED", str(error)) from error
        raise
    return True


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Store the final results in the batch."""
    table_name = os.environ["RESULTS_TABLE_NAME"]

    def handle(record: KinesisStreamRecord) -> None:
        raw = record.raw_event
        try:
            message = kinesis_message(raw)
            if message.event == "finish":
                save_final(table_name, message)
        except Exception as failure:
            error = as_poison(failure)
            if error is None:
                raise  # a retry may succeed: the record is reported in batchItemFailures
            send_to_failure_queue(
                sqs_client(),
                raw,
                error,
                function_name=context.function_name,
                request_id=context.aws_request_id,
            )
            logger.warning("finish message parked", extra={"reason": error.reason})

    return process_partial_response(
        event=event, record_handler=handle, processor=processor, context=context
    )
