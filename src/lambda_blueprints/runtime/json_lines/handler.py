"""Firehose transform: each record, a JSON object, becomes one compact JSON line.

The default transform of :class:`~lambda_blueprints.constructs.firehose_archive.FirehoseArchive`:
a record holding a JSON object is delivered as that object, re-serialized without
insignificant whitespace (UTF-8, key order kept) and ended by a newline, so the delivered
objects are JSON Lines that Athena, Glue and ``jq`` read as they are.

Numbers are never changed: every number with a fraction or an exponent is written with its
source text (``1E2`` stays ``1E2``, ``12345678901234567890.5`` and
``0.10000000000000000555`` keep every digit) and every integer with its exact value (in
JSON's one integer form: ``-0`` becomes ``0``), never through a binary double (see
:func:`~lambda_blueprints.runtime.shared.firehose.json_line`).

A record that is not valid JSON (including ``NaN`` and ``Infinity``, which JSON does not
have), holds anything but an object, or holds a number beyond the range of a double
(``1e400``: readers would see infinity, which JSON cannot write) is answered
``ProcessingFailed``: Firehose keeps it, unchanged, under the processing-failed prefix, and
the reason (``INVALID_JSON``, ``NOT_AN_OBJECT``, ``NUMBER_OUT_OF_RANGE``) is logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from ..shared.failures import PoisonRecordError
from ..shared.firehose import json_line, parse_json_object, transform_records

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


def to_json_line(data: bytes, record: Mapping[str, Any]) -> bytes:
    """The record's JSON object, compact, without the newline (the helper adds it).

    Raises:
        PoisonRecordError: When the data is not a JSON object (``INVALID_JSON``,
            ``NOT_AN_OBJECT``) or holds a number beyond the range of a double
            (``NUMBER_OUT_OF_RANGE``).
    """
    return json_line(parse_json_object(data))


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
    """Transform one Firehose batch into JSON lines."""
    return transform_records(event, to_json_line, on_failure=_log_failure)
