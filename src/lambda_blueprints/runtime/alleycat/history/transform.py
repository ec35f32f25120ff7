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

A message that is not valid (:func:`~lambda_blueprints.runtime.alleycat.race.parse_message`:
``MALFORMED_MESSAGE``, ``INVALID_MESSAGE``) or that JSON cannot carry exactly
(``INVALID_JSON``, ``NUMBER_OUT_OF_RANGE``) is answered ``ProcessingFailed`` and its reason
logged: Firehose keeps it, whole, under the delivery's processing-failed prefix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from ...shared.failures import PoisonRecordError
from ...shared.firehose import json_line, parse_json_object, transform_records
from ..race import parse_message

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


def with_output(data: bytes, record: Mapping[str, Any]) -> bytes:
    """One delivered line: the whole validated message, with its ``output``.

    Raises:
        PoisonRecordError: When the message is not valid or not exact JSON.
    """
    message = parse_message(data)
    # Parsed again for the line: parse_message keeps only the fields it validates, and
    # JsonNumber keeps every number's source text.
    payload = parse_json_object(data)
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
