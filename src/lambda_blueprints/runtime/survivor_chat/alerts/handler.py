"""Panic and motion alerts from an SNS topic, posted into the survivor chat.

Subscribed to the topic: SNS invokes the function asynchronously with one record per
event (each record of an event is handled the same way). The record's ``Sns.Message`` is
the JSON alert:

``{"type": "panic" | "motion", "location": <string>, "detail"?: <string>, "at"?: <time>}``

``location`` is 1-100 characters and ``detail`` at most 500 (both once stripped of
surrounding whitespace; an empty or null ``detail`` is none); ``at`` (null is none) is an
ISO 8601 time with a UTC offset or ``Z``, at most 64 characters. Other fields are
ignored, so that senders may add some.

Each alert becomes a chat message (see :func:`..messages.handler.store_message`) in channel
``ALERT_CHANNEL``, author ``Alerts``, author id ``system:alerts``, source ``alert``, text
``PANIC at <location>: <detail>`` or ``Motion at <location>: <detail>`` (without
``: <detail>`` when there is none). Its ``sentAt`` is ``at``, kept within the last 24 hours
(a later time becomes now, an earlier one now - 24 h, so that no clock puts an alert out
of sight), else the time it is stored. Idempotent by the SNS ``MessageId``: a redelivery or
retry stores nothing more.

Failures:
    An alert that can never be stored is parked on the failure queue whole, with its
    reason (:func:`~...shared.failures.send_to_failure_queue`), and the invocation
    succeeds, so that Lambda does not retry it: ``MALFORMED_ALERT`` (no SNS record, no
    ``MessageId``, a message that is not a JSON object) and ``INVALID_ALERT`` (a field
    missing or out of its range), and a message DynamoDB refuses as invalid
    (``WRITE_REJECTED``, see :func:`~...shared.failures.as_poison`). Nothing is stored for
    them.
    Any other error (throttling, a service error, a failure queue that cannot be reached, a
    wrong ``ALERT_CHANNEL``) is raised: Lambda retries the asynchronous invocation, then
    hands the event to the function's on-failure destination or dead-letter queue.

Returns ``{"stored": [<message id>, ...], "parked": [<reason>, ...]}`` (SNS ignores it).

Environment:
    MESSAGES_TABLE_NAME: The messages table.
    ALERT_CHANNEL: The channel alerts go to; default ``general``.
    FAILURE_QUEUE_URL: Where alerts that can never be stored go, with the reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from ...shared.failures import PoisonRecordError, as_poison, send_to_failure_queue
from ..messages.handler import DEFAULT_CHANNEL, store_message, utc_now

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_sqs import SQSClient

logger = Logger()

AUTHOR = "Alerts"
AUTHOR_ID = "system:alerts"
ALERT_TYPES = {"panic": "PANIC", "motion": "Motion"}
MAX_LOCATION_CHARS = 100
MAX_DETAIL_CHARS = 500
MAX_AT_CHARS = 64
#: How far back an alert's ``at`` may place it.
MAX_AGE = timedelta(hours=24)
MALFORMED_ALERT = "MALFORMED_ALERT"
INVALID_ALERT = "INVALID_ALERT"


@cache
def sqs_client() -> SQSClient:
    """Return the SQS client, created on first use."""
    return boto3.client("sqs")


@dataclass(frozen=True)
class Alert:
    """A valid alert.

    Attributes:
        message_id: The SNS message id.
        kind: ``panic`` or ``motion``.
        location: Where, stripped.
        detail: What more, stripped, or None.
        at: When it happened, or None.
    """

    message_id: str
    kind: str
    location: str
    detail: str | None
    at: datetime | None

    @property
    def text(self) -> str:
        """The chat message: ``PANIC at <location>: <detail>`` and the like."""
        text = f"{ALERT_TYPES[self.kind]} at {self.location}"
        return f"{text}: {self.detail}" if self.detail else text


def _invalid(detail: str) -> PoisonRecordError:
    return PoisonRecordError(INVALID_ALERT, detail)


def _stripped(fields: Mapping[str, Any], name: str, low: int, high: int) -> str:
    value = fields[name]
    if isinstance(value, str):
        text = value.strip()
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _invalid(f"{name} is not valid Unicode") from None
        if low <= len(text) <= high:
            return text
    raise _invalid(f"{name} must be a string of {low}-{high} characters")


def _time(value: object) -> datetime:
    if isinstance(value, str) and len(value) <= MAX_AT_CHARS:
        try:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                return moment.astimezone(UTC)
        except (ValueError, OverflowError):
            pass
    raise _invalid(f"at must be an ISO 8601 time with a UTC offset, at most {MAX_AT_CHARS} chars")


def parse_alert(record: object) -> Alert:
    """Return the alert in an SNS record.

    Raises:
        PoisonRecordError: ``MALFORMED_ALERT`` or ``INVALID_ALERT``, with what is wrong.
    """
    sns = record.get("Sns") if isinstance(record, Mapping) else None
    if not isinstance(sns, Mapping):
        raise PoisonRecordError(MALFORMED_ALERT, "the record is no SNS notification")
    message_id, message = sns.get("MessageId"), sns.get("Message")
    if not isinstance(message_id, str) or not 1 <= len(message_id) <= 100:
        raise PoisonRecordError(MALFORMED_ALERT, "the notification has no MessageId")
    if not isinstance(message, str):
        raise PoisonRecordError(MALFORMED_ALERT, "the notification has no Message")
    try:
        fields = json.loads(message)
    except (ValueError, RecursionError) as error:
        raise PoisonRecordError(MALFORMED_ALERT, f"the message is not JSON: {error}") from error
    if not isinstance(fields, dict):
        raise PoisonRecordError(
            MALFORMED_ALERT, f"the message must be a JSON object, not {type(fields).__name__}"
        )
    kind = fields.get("type")
    if not isinstance(kind, str) or kind not in ALERT_TYPES:
        raise _invalid("type must be 'panic' or 'motion'")
    if "location" not in fields:
        raise _invalid(f"location is required: a string of 1-{MAX_LOCATION_CHARS} characters")
    location = _stripped(fields, "location", 1, MAX_LOCATION_CHARS)
    detail = ""
    if fields.get("detail") is not None:
        detail = _stripped(fields, "detail", 0, MAX_DETAIL_CHARS)
    at = _time(fields["at"]) if fields.get("at") is not None else None
    return Alert(message_id, kind, location, detail or None, at)


def sent_at(alert: Alert, now: datetime) -> datetime:
    """The ``sentAt`` of an alert's message: its ``at`` within the last 24 hours, or now."""
    if alert.at is None:
        return now
    return min(now, max(now - MAX_AGE, alert.at))


def _park(record: object, error: PoisonRecordError, context: LambdaContext) -> None:
    raw = record if isinstance(record, Mapping) else {"record": record}
    message_id = send_to_failure_queue(
        sqs_client(),
        raw,
        error,
        function_name=context.function_name,
        request_id=context.aws_request_id,
    )
    sns = raw.get("Sns")
    logger.warning(
        "alert sent to the failure queue",
        extra={
            "sns_message_id": sns.get("MessageId") if isinstance(sns, Mapping) else None,
            "reason": error.reason,
            "failure_message_id": message_id,
        },
    )


def _handle(record: object, context: LambdaContext) -> tuple[str | None, str | None]:
    """Store or park one record: (message id, None) or (None, reason)."""
    try:
        alert = parse_alert(record)
    except PoisonRecordError as error:
        _park(record, error, context)
        return None, error.reason
    try:
        message = store_message(
            os.environ["MESSAGES_TABLE_NAME"],
            channel=os.environ.get("ALERT_CHANNEL", DEFAULT_CHANNEL),
            author=AUTHOR,
            author_id=AUTHOR_ID,
            text=alert.text,
            source="alert",
            anonymous=False,
            client_message_id=alert.message_id,
            now=sent_at(alert, utc_now()),
        )
    except ClientError as error:
        poison = as_poison(error)
        if poison is None:
            raise  # Lambda retries the invocation
        _park(record, poison, context)
        return None, poison.reason
    logger.info(
        "alert stored",
        extra={
            "sns_message_id": alert.message_id,
            "message_id": message["id"],
            "kind": alert.kind,
            "chars": len(alert.text),
        },
    )
    return message["id"], None


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[str]]:
    """Post the alert of each SNS record into the chat."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list) or not records:
        error = PoisonRecordError(MALFORMED_ALERT, "the event has no SNS Records")
        _park(event, error, context)
        return {"stored": [], "parked": [error.reason]}
    stored: list[str] = []
    parked: list[str] = []
    for record in records:
        message_id, reason = _handle(record, context)
        if message_id is not None:
            stored.append(message_id)
        if reason is not None:
            parked.append(reason)
    return {"stored": stored, "parked": parked}
