"""Firehose transform of the bike stream: validate each message and add its ``output``.

As the Alleycat blog's transform does (``jsonRecord.output = ...; JSON.stringify(jsonRecord)``),
each record is delivered whole, with every field it had (``uuid``, ``name``,
``deviceTimestamp`` and any other) and ``output`` added: the work of that second,
``((cadence + 35) * (resistance + 65)) / 100`` to the cent, computed in ``Decimal`` from the
validated ``cadence`` and ``resistance`` and written as a JSON number with its exact decimal
text (``164.45``, never a binary double). A message that already has an ``output`` gets the
computed one instead. The other numbers keep their source text (see
:func:`~lambda_blueprints.runtime.shared.firehose.json_line`), so the archive holds what the
bikes sent. Each record becomes one compact JSON line.

A message is valid when :func:`~lambda_blueprints.runtime.alleycat.race.read_message`, the
validator every Alleycat reader shares, says so, so the archive and the personal bests
count exactly the messages the standings and final results count. The record's
``kinesisRecordMetadata.partitionKey`` names the publishing bike when the IoT rule wrote
it. A message that is not valid is answered ``ProcessingFailed`` and its reason logged
(``MESSAGE_TOO_LARGE``, ``MALFORMED_MESSAGE``, ``NESTING_TOO_DEEP``, ``INVALID_MESSAGE``,
``IMPLAUSIBLE_TOTAL``, ``RACER_MISMATCH``, ``NUMBER_OUT_OF_RANGE``): Firehose keeps it,
whole, under the delivery's processing-failed prefix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from ...shared.failures import PoisonRecordError
from ...shared.firehose import json_line, transform_records
from ..race import publisher_of, read_message

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


def with_output(data: bytes, record: Mapping[str, Any]) -> bytes:
    """One delivered line: the whole validated message, with its ``output``.

    Raises:
        PoisonRecordError: When the message is not valid or not exact JSON.
    """
    metadata = record.get("kinesisRecordMetadata")
    key = metadata.get("partitionKey") if isinstance(metadata, dict) else None
    # The validator's object keeps every field, each number with its source text.
    payload, message = read_message(data, publisher=publisher_of(key))
    payload["output"] = message.output
    return json_line(payload)


def _log_failure(record: Mapping[str, Any], error: Exception) -> None:
    if isinstance(error, PoisonRecordError):
        reason, detail = error.reason, error.detail
    else:
        reason, detail = type(error).__name__, str(error)
    logger.warning(
        "record not transformed",
        extra={"recordId": record.get("recordId"), "reason": reason, "detail": detail},
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Transform one Firehose batch."""
    return transform_records(event, with_output, on_failure=_log_failure)
