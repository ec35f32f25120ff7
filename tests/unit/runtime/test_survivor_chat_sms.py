"""The survivor chat's SMS intake (a mapped Twilio webhook) against moto."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from lambda_blueprints.runtime.survivor_chat.messages import handler as messages
from lambda_blueprints.runtime.survivor_chat.sms import handler as sms
from lambda_blueprints.testing import LambdaContext
from tests.conftest import create_pk_sk_table

AUTH_TOKEN = "0f5e3c1d9a8b7c6d5e4f3a2b1c0d9e8f"
URL = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/sms"
SID = "SMbe794ce78f6b9fdf853d2acb76c080db"


def twilio_form(body: str = "Zombies at the north gate", **fields: str) -> dict[str, str]:
    """The fields of Twilio's form post for an incoming SMS."""
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": SID,
        "NumMedia": "0",
        "ToCity": "SAN BRUNO",
        "FromZip": "94030",
        "SmsSid": SID,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN BRUNO",
        "Body": body,
        "FromCountry": "US",
        "To": "+16505558225",
        "ToZip": "94030",
        "NumSegments": "1",
        "MessageSid": SID,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": "+16505551199",
        "ApiVersion": "2010-04-01",
        **fields,
    }


def sign(token: str, url: str, form: dict[str, str]) -> str:
    """Twilio's algorithm, written here apart from the handler's."""
    signed = url
    for name in sorted(form):
        signed += name + form[name]
    return base64.b64encode(
        hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    ).decode()


def sms_event(form: dict[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    """The event the request mapping template makes of a form post."""
    fields = form or twilio_form()
    event = {
        "from": fields["From"],
        "text": fields["Body"],
        "sid": fields["MessageSid"],
        "signature": sign(AUTH_TOKEN, URL, fields),
        "url": URL,
        "params": fields,
    }
    event.update(overrides)
    return event


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mock_aws():
        create_pk_sk_table("messages")
        boto3.client("dynamodb").update_time_to_live(
            TableName="messages",
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"},
        )
        boto3.client("ssm").put_parameter(
            Name="/chat/twilio-auth-token", Value=AUTH_TOKEN, Type="SecureString"
        )
        monkeypatch.setenv("MESSAGES_TABLE_NAME", "messages")
        monkeypatch.setenv("TWILIO_AUTH_TOKEN_PARAMETER", "/chat/twilio-auth-token")
        for name in ("SMS_CHANNEL", "SMS_REPLY"):
            monkeypatch.delenv(name, raising=False)
        messages.dynamodb_client.cache_clear()
        parameters.clear_caches()
        yield
        messages.dynamodb_client.cache_clear()
        parameters.clear_caches()


def invoke(event: Any) -> dict[str, str]:
    return sms.lambda_handler(event, LambdaContext(function_name="sms"))


def stored() -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName="messages")["Items"]
    return [item for item in items if item["pk"]["S"].startswith("channel#")]


def test_twilio_signature_matches_twilios_own_test_vector() -> None:
    # From twilio-python's tests/unit/test_request_validator.py.
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
        "Caller": "+14158675309",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"

    assert sms.twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert sign("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_a_signed_sms_is_stored_and_answered(webhook: None) -> None:
    answer = invoke(sms_event())

    [item] = stored()
    assert answer == {"reply": "Message received.", "id": item["id"]["S"]}
    assert messages.message_json(item) | {"id": None, "sentAt": None} == {
        "id": None,
        "channel": "general",
        "author": "SMS \u20261199",
        "authorId": "sms:" + hashlib.sha256(b"+16505551199").hexdigest()[:16],
        "text": "Zombies at the north gate",
        "sentAt": None,
        "source": "sms",
        "anonymous": False,
    }
    assert item["clientMessageId"] == {"S": SID}


def test_the_channel_and_reply_come_from_the_environment(
    webhook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMS_CHANNEL", "sms-inbox")
    monkeypatch.setenv("SMS_REPLY", "Stay safe.")

    answer = invoke(sms_event())

    assert answer["reply"] == "Stay safe."
    [item] = stored()
    assert item["pk"] == {"S": "channel#sms-inbox"}


def test_twilios_retry_of_one_sid_stores_it_once_and_answers_the_same_id(webhook: None) -> None:
    first = invoke(sms_event())
    again = invoke(sms_event())

    assert again == first
    assert len(stored()) == 1


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(
            sms_event(signature=sign("wrong-token", URL, twilio_form())), id="other-token"
        ),
        pytest.param(sms_event(signature=""), id="empty"),
        pytest.param(
            {k: v for k, v in sms_event().items() if k != "signature"}, id="missing-signature"
        ),
        pytest.param(sms_event(url=URL + "?x=1"), id="other-url"),
        pytest.param(sms_event(params=twilio_form("Send help to the mall")), id="edited-params"),
        pytest.param(sms_event(params={**twilio_form(), "Extra": "1"}), id="added-param"),
        pytest.param(
            sms_event(signature=sign(AUTH_TOKEN, URL, twilio_form())[:-2]), id="truncated"
        ),
        pytest.param(sms_event(signature="\ud800"), id="lone-surrogate"),
        pytest.param(sms_event(text="Send help to the mall"), id="text-not-the-signed-body"),
        pytest.param(sms_event(None, **{"from": "+16505550000"}), id="from-not-the-signed-from"),
        pytest.param(sms_event(sid="SM" + "0" * 32), id="sid-not-the-signed-sid"),
    ],
)
def test_a_bad_signature_is_forbidden_and_nothing_is_stored(
    webhook: None, event: dict[str, Any]
) -> None:
    with pytest.raises(sms.SmsForbiddenError) as refused:
        invoke(event)

    assert str(refused.value).startswith("Forbidden: ")
    assert stored() == []


def test_without_the_parameter_signatures_are_not_checked(
    webhook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWILIO_AUTH_TOKEN_PARAMETER")

    answer = invoke(sms_event(signature="not checked"))

    assert len(stored()) == 1
    assert answer["id"] == stored()[0]["id"]["S"]


def test_the_auth_token_is_read_decrypted_and_cached_for_5_minutes(
    webhook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []
    real = parameters.get_parameter

    def recorded(name: str, **options: Any) -> Any:
        calls.append((name, options))
        return real(name, **options)

    monkeypatch.setattr(parameters, "get_parameter", recorded)

    invoke(sms_event())

    assert calls == [("/chat/twilio-auth-token", {"decrypt": True, "max_age": 300})]


def form_with(**fields: str) -> dict[str, Any]:
    """A correctly signed event whose form (and the mapped fields) carry ``fields``."""
    return sms_event(twilio_form(**fields))


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        (form_with(From="16505551199"), "from must be an E.164 number"),
        (form_with(From="+06505551199"), "from must be an E.164 number"),
        (form_with(From="+1650555119912345"), "from must be an E.164 number"),
        (form_with(From="+1 650 555 1199"), "from must be an E.164 number"),
        (form_with(Body=""), "text must be a string of 1-1000"),
        (form_with(Body="   "), "text must be a string of 1-1000"),
        (form_with(Body="a" * 1001), "1001 characters"),
        (form_with(MessageSid="SM123"), "sid must be a Twilio message SID"),
        (form_with(MessageSid="sm" + "0" * 32), "sid must be a Twilio message SID"),
        (sms_event(params={"Body": 5}), "params must be an object"),
        (sms_event(params=["Body"]), "params must be an object"),
        (sms_event(url=None), "url must be a string"),
        (sms_event(url=""), "url must be 1-2048"),
        (sms_event(signature=7), "signature must be a string"),
    ],
)
def test_an_invalid_sms_is_a_bad_request_and_nothing_is_stored(
    webhook: None, event: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(sms.SmsBadRequestError) as refused:
        invoke(event)

    assert str(refused.value).startswith("BadRequest: ")
    assert fragment in str(refused.value)
    assert stored() == []


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        ({"text": "hi", "sid": SID, "params": {}}, "from must be a string"),
        ({"from": "+16505551199", "sid": SID, "params": {}}, "text must be a string"),
        ({"from": "+16505551199", "text": "hi", "params": {}}, "sid must be a string"),
        ({"from": "+16505551199", "text": "hi", "sid": SID}, "params must be an object"),
        ([], "the event must be an object"),
    ],
)
def test_missing_fields_are_a_bad_request_without_signature_checks(
    webhook: None, monkeypatch: pytest.MonkeyPatch, event: Any, fragment: str
) -> None:
    monkeypatch.delenv("TWILIO_AUTH_TOKEN_PARAMETER")

    with pytest.raises(sms.SmsBadRequestError, match=r"^BadRequest: ") as refused:
        invoke(event)

    assert fragment in str(refused.value)


def test_a_dynamodb_failure_is_raised_without_a_selection_prefix(
    webhook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESSAGES_TABLE_NAME", "missing")

    with pytest.raises(Exception, match="ResourceNotFound") as failed:
        invoke(sms_event())

    assert not str(failed.value).startswith(("BadRequest:", "Forbidden:"))
