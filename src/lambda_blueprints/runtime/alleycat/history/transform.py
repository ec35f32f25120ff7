"""Firehose transform of the bike stream: validate each message and add its ``output``.

Each record becomes one compact JSON line with the message's fields and ``output``, the
work of that second (``((cadence + 35) * (resistance + 65)) / 100``). An invalid message is
answered ``ProcessingFailed``: Firehose keeps it, whole, under the delivery's
processing-failed prefix.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from ...shared.firehose import transform_records
from ..race import parse_message

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


def with_output(data: bytes, record: Mapping[str, Any]) -> bytes:
    """One delivered line: the validated message with its output."""
    message = parse_message(data)
    line = {
        "raceId": message.race_id,
        "classId": message.class_id,
        "racerId": message.racer_id,
        "second": message.second,
        "cadence": float(message.cadence),
        "resistance": float(message.resistance),
        "total": float(message.total),
        "output": str(message.output),
        "event": message.event,
    }
    return json.dumps(line, separators=(",", ":")).encode()


def _log_failure(record: Mapping[str, Any], error: Exception) -> None:
    logger.warning(
        "record not transformed", extra={"recordId": record.get("recordId"), "error": str(error)}
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Transform one Firehose batch."""
    return transform_records(event, with_output, on_failure=_log_failure)
