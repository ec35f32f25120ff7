"""Firehose transform: each record, a JSON object, becomes one compact JSON line.

The default transform of :class:`~lambda_blueprints.constructs.firehose_archive.FirehoseArchive`:
a record holding a JSON object is delivered as that object, re-serialized without
insignificant whitespace (UTF-8, key order kept) and ended by a newline, so the delivered
objects are JSON Lines that Athena, Glue and ``jq`` read as they are. A record that is not
valid JSON (including ``NaN`` and ``Infinity``, which JSON does not have) or holds anything
but an object is answered ``ProcessingFailed``: Firehose keeps it, unchanged, under the
processing-failed prefix, and the reason is logged.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from ..shared.failures import PoisonRecordError
from ..shared.firehose import transform_records

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def to_json_line(data: bytes, record: Mapping[str, Any]) -> bytes:
    """The record's JSON object, compact, without the newline (the helper adds it).

    Raises:
        PoisonRecordError: When the data is not a JSON object.
    """
    try:
        value = json.loads(data, parse_constant=_no_constants)
    except ValueError as error:
        raise PoisonRecordError("INVALID_JSON", str(error)) from error
    if not isinstance(value, dict):
        raise PoisonRecordError("NOT_AN_OBJECT", f"the record holds a JSON {type(value).__name__}")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


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
