"""A Firehose transform: drop heartbeats, keep only the domain of e-mail addresses.

Records hold JSON objects such as ``{"type": "signup", "email": "ann@example.com"}``. Each
delivered record is the object as one compact JSON line, its ``email`` replaced by
``emailDomain``, every number written as it came. Heartbeats are dropped; a record that is
not a JSON object, or whose ``email`` is not an address, is kept whole by Firehose under
the processing-failed prefix, and its reason is logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from lambda_blueprints.runtime.shared.failures import PoisonRecordError
from lambda_blueprints.runtime.shared.firehose import (
    json_line,
    parse_json_object,
    transform_records,
)

logger = Logger()


def redact(data: bytes, record: Mapping[str, Any]) -> bytes | None:
    """One record's line (the newline is added for it), or None to drop the record."""
    event = parse_json_object(data)  # PoisonRecordError: INVALID_JSON, NOT_AN_OBJECT
    if event.get("type") == "heartbeat":
        return None
    if "email" in event:
        email = event.pop("email")
        if not isinstance(email, str) or "@" not in email:
            raise PoisonRecordError("INVALID_EMAIL", "email is not an e-mail address")
        event["emailDomain"] = email.rsplit("@", 1)[1].lower()
    return json_line(event)


def log_failure(record: Mapping[str, Any], error: Exception) -> None:
    reason = error.reason if isinstance(error, PoisonRecordError) else type(error).__name__
    logger.warning(
        "record not transformed", extra={"recordId": record["recordId"], "reason": reason}
    )


@logger.inject_lambda_context
def main(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return transform_records(event, redact, on_failure=log_failure)
