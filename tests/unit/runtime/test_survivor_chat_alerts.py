"""The survivor chat's alert intake (an SNS subscription) against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from lambda_blueprints.runtime.survivor_chat.alerts import handler as alerts
from lambda_blueprints.runtime.survivor_chat.messages import handler as messages
from lambda_blueprints.testing import LambdaContext, sns_event
from tests.conftest import create_pk_sk_table

TOPIC = "arn:aws:sns:us-east-1:123456789012:survivor-alerts"
NOW = datetime(2026, 3, 1, 12, 0, 45, 250_000, tzinfo=UTC)


def alert_event(message: Any, message_id: str | None = None) -> dict[str, Any]:
    """The event SNS invokes the subscribed function with (one record)."""
    return sns_event(message, topic_arn=TOPIC, message_id=message_id)


@pytest.fixture
def alert_queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mock_aws():
        create_pk_sk_table("messages")
        boto3.client("dynamodb").update_time_to_live(
            TableName="messages",
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"},
        )
        url = boto3.client("sqs").create_queue(QueueName="alert-failures")["QueueUrl"]
        monkeypatch.setenv("MESSAGES_TABLE_NAME", "messages")
        monkeypatch.setenv("FAILURE_QUEUE_URL", url)
        monkeypatch.delenv("ALERT_CHANNEL", raising=False)
        monkeypatch.setattr(messages, "utc_now", lambda: NOW)
        monkeypatch.setattr(alerts, "utc_now", lambda: NOW)
        messages.dynamodb_client.cache_clear()
        alerts.sqs_client.cache_clear()
        yield url
        messages.dynamodb_client.cache_clear()
        alerts.sqs_client.cache_clear()


def invoke(event: Any) -> dict[str, list[str]]:
    return alerts.lambda_handler(event, LambdaContext(function_name="alerts"))


def stored() -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName="messages")["Items"]
    found = [messages.message_json(i) for i in items if i["pk"]["S"].startswith("channel#")]
    return sorted(found, key=lambda message: message["sentAt"])


def parked(url: str) -> list[dict[str, Any]]:
    answer = boto3.client("sqs").receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )
    return [
        {**json.loads(m["Body"]), "attributes": m.get("MessageAttributes", {})}
        for m in answer.get("Messages", [])
    ]


@pytest.mark.parametrize(
    ("alert", "text"),
    [
        (
            {"type": "panic", "location": "North gate", "detail": "three walkers at the fence"},
            "PANIC at North gate: three walkers at the fence",
        ),
        ({"type": "motion", "location": "  Loading dock  "}, "Motion at Loading dock"),
        ({"type": "motion", "location": "Roof", "detail": "  "}, "Motion at Roof"),
        ({"type": "panic", "location": "Roof", "detail": None, "at": None}, "PANIC at Roof"),
        ({"type": "panic", "location": "Roof", "sensor": "r-1"}, "PANIC at Roof"),
    ],
)
def test_a_valid_alert_is_stored_with_its_text(
    alert_queue: str, alert: dict[str, Any], text: str
) -> None:
    event = alert_event(alert)

    answer = invoke(event)

    [message] = stored()
    assert answer == {"stored": [message["id"]], "parked": []}
    assert message | {"id": None} == {
        "id": None,
        "channel": "general",
        "author": "Alerts",
        "authorId": "system:alerts",
        "text": text,
        "sentAt": "2026-03-01T12:00:45.250Z",
        "source": "alert",
        "anonymous": False,
    }
    assert parked(alert_queue) == []


def test_alerts_go_to_the_alert_channel(alert_queue: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_CHANNEL", "alerts")

    invoke(alert_event({"type": "panic", "location": "Roof"}))

    [message] = stored()
    assert message["channel"] == "alerts"


@pytest.mark.parametrize(
    ("at", "sent_at"),
    [
        ("2026-03-01T11:59:00Z", "2026-03-01T11:59:00.000Z"),
        ("2026-03-01T13:59:00.5+02:00", "2026-03-01T11:59:00.500Z"),
        ("2026-03-01T13:00:00Z", "2026-03-01T12:00:45.250Z"),  # the future: now
        ("2026-02-01T00:00:00Z", "2026-02-28T12:00:45.250Z"),  # over a day old: now - 24 h
    ],
)
def test_an_alerts_time_is_its_sent_time_within_the_last_day(
    alert_queue: str, at: str, sent_at: str
) -> None:
    invoke(alert_event({"type": "motion", "location": "Roof", "at": at}))

    [message] = stored()
    assert message["sentAt"] == sent_at


def test_a_repeated_message_id_is_stored_once(alert_queue: str) -> None:
    event = alert_event(
        {"type": "panic", "location": "North gate"}, "95df01b4-ee98-5cb9-9903-4c221d41eb5e"
    )

    first = invoke(event)
    again = invoke(event)

    assert again == first
    assert len(stored()) == 1


def test_two_alerts_with_the_same_text_are_two_messages(alert_queue: str) -> None:
    invoke(alert_event({"type": "panic", "location": "North gate"}))
    invoke(alert_event({"type": "panic", "location": "North gate"}))

    assert len(stored()) == 2


@pytest.mark.parametrize(
    ("message", "reason", "fragment"),
    [
        ("not json", "MALFORMED_ALERT", "not JSON"),
        ("[" * 100_000, "MALFORMED_ALERT", "not JSON"),
        ('["panic"]', "MALFORMED_ALERT", "JSON object, not list"),
        ({"location": "Roof"}, "INVALID_ALERT", "type must be 'panic' or 'motion'"),
        ({"type": "fire", "location": "Roof"}, "INVALID_ALERT", "type must be"),
        ({"type": ["panic"], "location": "Roof"}, "INVALID_ALERT", "type must be"),
        ({"type": "panic"}, "INVALID_ALERT", "location is required"),
        ({"type": "panic", "location": ""}, "INVALID_ALERT", "location must be a string of 1-100"),
        ({"type": "panic", "location": "  "}, "INVALID_ALERT", "location must be"),
        ({"type": "panic", "location": "x" * 101}, "INVALID_ALERT", "location must be"),
        ({"type": "panic", "location": 7}, "INVALID_ALERT", "location must be"),
        ({"type": "panic", "location": "\ud800"}, "INVALID_ALERT", "location is not valid"),
        (
            {"type": "panic", "location": "Roof", "detail": "d" * 501},
            "INVALID_ALERT",
            "detail must be a string of 0-500",
        ),
        ({"type": "panic", "location": "Roof", "detail": 5}, "INVALID_ALERT", "detail must be"),
        ({"type": "panic", "location": "Roof", "at": "yesterday"}, "INVALID_ALERT", "at must be"),
        (
            {"type": "panic", "location": "Roof", "at": "2026-03-01T12:00:00"},
            "INVALID_ALERT",
            "with a UTC offset",
        ),
        ({"type": "panic", "location": "Roof", "at": 1772366400}, "INVALID_ALERT", "at must be"),
        (
            {"type": "panic", "location": "Roof", "at": "2026-03-01T12:00:00Z" + " " * 60},
            "INVALID_ALERT",
            "at must be",
        ),
    ],
)
def test_an_invalid_alert_is_parked_with_its_reason_and_nothing_stored(
    alert_queue: str, message: Any, reason: str, fragment: str
) -> None:
    event = alert_event(message)

    answer = invoke(event)

    assert answer == {"stored": [], "parked": [reason]}
    assert stored() == []
    [failure] = parked(alert_queue)
    assert failure["reason"] == reason
    assert fragment in failure["detail"]
    assert failure["functionName"] == "alerts"
    assert failure["attributes"]["reason"]["StringValue"] == reason
    if not failure["recordTruncated"]:
        assert failure["record"] == event["Records"][0]


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"Records": []},
        {"Records": [{"EventSource": "aws:sns"}]},
        {"Records": ["text"]},
        {"Records": [{"Sns": {"Message": "{}"}}]},
        {"Records": [{"Sns": {"MessageId": "m-1"}}]},
    ],
)
def test_an_event_that_is_no_sns_notification_is_parked(
    alert_queue: str, event: dict[str, Any]
) -> None:
    answer = invoke(event)

    assert answer["parked"] == ["MALFORMED_ALERT"]
    assert stored() == []
    [failure] = parked(alert_queue)
    assert failure["reason"] == "MALFORMED_ALERT"


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "InternalServerError"])
def test_an_aws_error_on_write_is_raised_for_lambda_to_retry(
    alert_queue: str, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    def failing(**request: Any) -> Any:
        raise ClientError({"Error": {"Code": code, "Message": "try again"}}, "TransactWriteItems")

    monkeypatch.setattr(messages.dynamodb_client(), "transact_write_items", failing)

    with pytest.raises(ClientError, match=code):
        invoke(alert_event({"type": "panic", "location": "Roof"}))

    assert parked(alert_queue) == []


def test_a_throttled_transaction_is_raised_for_lambda_to_retry(
    alert_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cancelled(**request: Any) -> Any:
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": [{"Code": "ThrottlingError"}, {"Code": "None"}],
            },
            "TransactWriteItems",
        )

    monkeypatch.setattr(messages.dynamodb_client(), "transact_write_items", cancelled)

    with pytest.raises(messages.MessageNotStoredError, match="ThrottlingError"):
        invoke(alert_event({"type": "panic", "location": "Roof"}))

    assert parked(alert_queue) == []


def test_a_write_dynamodb_refuses_as_invalid_is_parked(
    alert_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(**request: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "ValidationException", "Message": "Item size exceeded"}},
            "TransactWriteItems",
        )

    monkeypatch.setattr(messages.dynamodb_client(), "transact_write_items", refused)

    answer = invoke(alert_event({"type": "panic", "location": "Roof"}))

    assert answer == {"stored": [], "parked": ["WRITE_REJECTED"]}
    [failure] = parked(alert_queue)
    assert "Item size exceeded" in failure["detail"]


def test_a_failure_queue_that_cannot_be_reached_is_raised(
    alert_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAILURE_QUEUE_URL", alert_queue + "-missing")

    with pytest.raises(ClientError):
        invoke(alert_event("not json"))


def test_a_wrong_alert_channel_is_raised_not_parked(
    alert_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_CHANNEL", "Not A Channel")

    with pytest.raises(ValueError, match="no valid channel"):
        invoke(alert_event({"type": "panic", "location": "Roof"}))

    assert parked(alert_queue) == []


def test_the_alert_time_may_be_a_day_old_at_most() -> None:
    now = NOW
    alert = alerts.Alert("m", "panic", "Roof", None, now - timedelta(days=3))

    assert alerts.sent_at(alert, now) == now - timedelta(hours=24)
