"""The survivor chat's messages API and caller identity against moto, with real event shapes."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from lambda_blueprints.runtime.survivor_chat import identity
from lambda_blueprints.runtime.survivor_chat.messages import handler as messages
from lambda_blueprints.testing import LambdaContext, api_gateway_rest_event
from tests.conftest import create_pk_sk_table

NOW = datetime(2026, 3, 1, 12, 0, 45, 250_000, tzinfo=UTC)
ALICE = {
    "sub": "6c1b3a5e-0000-4000-8000-00000000a11c",
    "cognito:username": "alice",
    "email": "alice@example.com",
    "email_verified": "true",
    "token_use": "id",
    "aud": "4l1ce0000000000000000example",
    "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
    "auth_time": "1772366400",
    "iat": "1772366400",
    "exp": "Sun Mar 01 13:00:00 UTC 2026",
    "event_id": "0b0c5e8e-0000-4000-8000-000000000001",
}
BOB = {**ALICE, "sub": "6c1b3a5e-0000-4000-8000-000000000b0b", "cognito:username": "bob"}
SENT_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
NOT_OURS = "next is not a token this API returned for this channel"


def chat_table(name: str) -> None:
    """A chat table as the construct makes it: string keys pk/sk, time to live expiresAt."""
    create_pk_sk_table(name)
    boto3.client("dynamodb").update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"},
    )


def clear_clients() -> None:
    messages.dynamodb_client.cache_clear()
    messages.kms_client.cache_clear()


@pytest.fixture
def chat(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The messages table and the token key; returns the key id."""
    with mock_aws():
        chat_table("messages")
        key = boto3.client("kms").create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
        key_id = key["KeyMetadata"]["KeyId"]
        monkeypatch.setenv("MESSAGES_TABLE_NAME", "messages")
        monkeypatch.setenv("TOKEN_KEY_ID", key_id)
        monkeypatch.delenv("CHAT_AUTH", raising=False)
        monkeypatch.delenv("RATE_LIMIT_PER_MINUTE", raising=False)
        clear_clients()
        yield key_id
        clear_clients()


def clock(monkeypatch: pytest.MonkeyPatch, start: datetime = NOW, step: float = 0) -> None:
    """Make the handler's time ``start``, advancing ``step`` seconds on every reading."""
    moments = iter(start + timedelta(seconds=step * i) for i in range(10**6))
    monkeypatch.setattr(messages, "utc_now", lambda: next(moments))


def call(
    method: str,
    path: str = "/messages",
    *,
    query: dict[str, str] | None = None,
    body: Any = None,
    claims: dict[str, str] | None = ALICE,
    headers: dict[str, str] | None = None,
    identity_fields: dict[str, str | None] | None = None,
) -> tuple[int, Any, dict[str, list[str]]]:
    event = api_gateway_rest_event(
        method,
        path,
        query=query,
        body=body,
        headers=headers,
        authorizer={"claims": claims} if claims is not None else None,
        identity=identity_fields,
    )
    response = messages.lambda_handler(event, LambdaContext(function_name="messages"))
    text = response.get("body")
    return response["statusCode"], json.loads(text) if text else None, response["multiValueHeaders"]


def post(text: str = "hello", client_id: str = "client-0001", **options: Any) -> tuple[int, Any]:
    body = {"text": text, "clientMessageId": client_id, **options.pop("fields", {})}
    status, answer, _ = call("POST", body=body, **options)
    return status, answer


def items(prefix: str) -> list[dict[str, Any]]:
    scanned = boto3.client("dynamodb").scan(TableName="messages")["Items"]
    return [item for item in scanned if item["pk"]["S"].startswith(prefix)]


def parts(token: str) -> tuple[bytes, bytes]:
    payload, mac = token.split(".")
    return tuple(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)) for p in (payload, mac))  # type: ignore[return-value]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- posting -----------------------------------------------------------------------------


def test_a_new_message_answers_201_with_the_stored_message(
    chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock(monkeypatch)

    status, message = post("  Anyone at the mall?  ", "client-0001", fields={"channel": "north"})

    assert status == 201
    assert set(message) == {
        "id",
        "channel",
        "author",
        "authorId",
        "text",
        "sentAt",
        "source",
        "anonymous",
    }
    assert ULID.fullmatch(message["id"])
    assert message | {"id": None} == {
        "id": None,
        "channel": "north",
        "author": "alice",
        "authorId": ALICE["sub"],
        "text": "Anyone at the mall?",
        "sentAt": "2026-03-01T12:00:45.250Z",
        "source": "web",
        "anonymous": False,
    }
    [item] = items("channel#")
    assert item["pk"] == {"S": "channel#north"}
    assert item["sk"] == {"S": f"2026-03-01T12:00:45.250Z#{message['id']}"}
    assert item["clientMessageId"] == {"S": "client-0001"}
    [marker] = items("dedup#")
    assert marker["pk"] == {"S": f"dedup#{ALICE['sub']}#client-0001"}
    assert marker["sk"] == {"S": "dedup"}
    assert (marker["messagePk"], marker["messageSk"]) == (item["pk"], item["sk"])
    assert int(marker["expiresAt"]["N"]) == int(NOW.timestamp()) + 24 * 3600


def test_message_ids_are_ulids_of_the_sent_time() -> None:
    first = messages.new_message_id(NOW)
    later = messages.new_message_id(NOW + timedelta(milliseconds=1))

    assert ULID.fullmatch(first)
    assert first < later
    millis = 0
    for char in first[:10]:
        millis = millis * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(char)
    assert millis == int(NOW.timestamp() * 1000)


def test_a_repeat_answers_200_with_the_first_message_and_is_not_counted(
    chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock(monkeypatch)
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "2")

    status, first = post("first", "client-0001")
    repeats = [post("edited text", "client-0001") for _ in range(3)]
    second_status, _ = post("second", "client-0002")
    over_status, _ = post("third", "client-0003")

    assert status == 201
    assert repeats == [(200, first)] * 3
    assert second_status == 201  # the three repeats took none of the two a minute
    assert over_status == 429
    assert len(items("channel#")) == 2
    [counter] = items("rate#")
    assert counter["count"] == {"N": "2"}


def test_a_repeat_at_the_rate_limit_still_answers_200(
    chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock(monkeypatch)
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "2")
    _, first = post("first", "client-0001")
    post("second", "client-0002")

    status, repeat = post("first", "client-0001")

    assert (status, repeat) == (200, first)
    assert post("third", "client-0003")[0] == 429
    [counter] = items("rate#")
    assert counter["count"] == {"N": "2"}


def test_a_repeat_racing_its_first_request_answers_200_and_gives_its_count_back(
    chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock(monkeypatch)
    status, first = post("first", "client-0001")
    client = messages.dynamodb_client()
    real_get = client.get_item
    reads: list[str] = []

    def first_read_misses(**request: Any) -> Any:
        # The repeat's check ran before the first request's write was there.
        reads.append(request["Key"]["pk"]["S"])
        return {} if len(reads) == 1 else real_get(**request)

    monkeypatch.setattr(client, "get_item", first_read_misses)

    repeat_status, repeat = post("first", "client-0001")

    assert (status, repeat_status) == (201, 200)
    assert repeat == first
    assert len(items("channel#")) == 1
    [counter] = items("rate#")
    assert counter["count"] == {"N": "1"}


def test_a_client_message_id_is_remembered_for_24_hours(
    chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock(monkeypatch)
    _, first = post("first", "client-0001")
    clock(monkeypatch, NOW + timedelta(hours=24, seconds=1))

    status, again = post("a day later", "client-0001")

    assert status == 201
    assert again["id"] != first["id"]
    [marker] = items("dedup#")
    assert marker["messageSk"]["S"].endswith(again["id"])


def test_the_same_client_message_id_of_two_authors_is_two_messages(
    chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock(monkeypatch)

    assert post("mine", "client-0001")[0] == 201
    assert post("mine too", "client-0001", claims=BOB)[0] == 201
    assert len(items("channel#")) == 2


def test_over_the_rate_limit_answers_429_with_retry_after_to_the_next_minute(
    chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock(monkeypatch)
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "3")
    for n in range(3):
        assert post(f"m{n}", f"client-000{n}")[0] == 201

    status, body, headers = call("POST", body={"text": "m3", "clientMessageId": "client-0003"})

    assert status == 429
    assert headers["Retry-After"] == ["15"]  # 12:00:45.250 -> 12:01:00
    assert "at most 3 messages a minute" in body["message"]
    assert len(items("channel#")) == 3
    [counter] = items("rate#")
    assert counter["pk"] == {"S": f"rate#{ALICE['sub']}"}
    assert counter["sk"] == {"S": "2026-03-01T12:00"}
    assert counter["count"] == {"N": "3"}
    assert int(counter["expiresAt"]["N"]) == int(
        datetime(2026, 3, 1, 12, 2, tzinfo=UTC).timestamp()
    )
    # Other authors are not limited, and the next minute the author may post again.
    assert post("hi", "client-0003", claims=BOB)[0] == 201
    clock(monkeypatch, NOW + timedelta(seconds=15))
    assert post("m3", "client-0003")[0] == 201


def test_the_default_rate_limit_is_20_a_minute(chat: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock(monkeypatch)

    statuses = [post(f"m{n}", f"client-{n:04d}")[0] for n in range(21)]

    assert statuses == [201] * 20 + [429]


@pytest.mark.parametrize(
    ("reasons", "status", "fragment"),
    [
        (["None", "TransactionConflict"], 409, "being stored: retry"),
        (["ThrottlingError", "None"], 503, "could not be stored"),
    ],
)
def test_a_cancelled_write_answers_4xx_or_503_and_gives_its_count_back(
    chat: str,
    monkeypatch: pytest.MonkeyPatch,
    reasons: list[str],
    status: int,
    fragment: str,
) -> None:
    clock(monkeypatch)

    def cancelled(**request: Any) -> Any:
        error = ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": [{"Code": code} for code in reasons],
            },
            "TransactWriteItems",
        )
        raise error

    monkeypatch.setattr(messages.dynamodb_client(), "transact_write_items", cancelled)

    got, body = post("hello", "client-0001")

    assert got == status
    assert fragment in body["message"]
    [counter] = items("rate#")
    assert counter["count"] == {"N": "0"}


def test_a_marker_whose_message_is_gone_answers_409(
    chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock(monkeypatch)
    post("hello", "client-0001")
    [item] = items("channel#")
    boto3.client("dynamodb").delete_item(
        TableName="messages", Key={"pk": item["pk"], "sk": item["sk"]}
    )

    status, body = post("hello", "client-0001")

    assert status == 409
    assert "clientMessageId" in body["message"]


# -- listing and page tokens -----------------------------------------------------------


def test_listing_answers_the_messages_newest_first(
    chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock(monkeypatch, step=1)
    posted = [post(f"m{n}", f"client-000{n}")[1] for n in range(3)]
    post("elsewhere", "client-0009", fields={"channel": "ops"})

    status, body, _ = call("GET")

    assert status == 200
    assert body == {"messages": posted[::-1], "next": None}
    assert all(SENT_AT.fullmatch(m["sentAt"]) for m in body["messages"])


def test_three_pages_return_each_message_exactly_once_newest_first(
    chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock(monkeypatch, step=0.5)
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "100")
    ids = [post(f"m{n}", f"client-{n:04d}")[1]["id"] for n in range(7)]

    pages: list[list[str]] = []
    query = {"limit": "3"}
    while True:
        status, body, _ = call("GET", query=query)
        assert status == 200
        pages.append([m["id"] for m in body["messages"]])
        if body["next"] is None:
            break
        query = {"limit": "3", "next": body["next"]}

    assert pages == [ids[6:3:-1], ids[3:0:-1], ids[0:1]]


def test_the_default_page_is_50_messages(chat: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock(monkeypatch, step=0.001)
    for n in range(51):
        messages.store_message(
            "messages",
            channel="general",
            author="a",
            author_id="a",
            text=f"m{n}",
            source="web",
            anonymous=False,
        )

    status, body, _ = call("GET")

    assert status == 200
    assert len(body["messages"]) == 50
    assert body["next"] is not None


def test_a_token_is_the_channel_and_last_sort_key_and_a_kms_mac(
    chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock(monkeypatch, step=1)
    post("m0", "client-0000")
    post("m1", "client-0001")

    _, body, _ = call("GET", query={"limit": "1"})

    payload, mac = parts(body["next"])
    newest = max(item["sk"]["S"] for item in items("channel#"))
    assert json.loads(payload) == {"c": "general", "k": newest}
    verified = boto3.client("kms").verify_mac(
        KeyId=chat,
        Message=messages.MAC_CONTEXT + payload,
        MacAlgorithm="HMAC_SHA_256",
        Mac=mac,
    )
    assert verified["MacValid"] is True


TokenMaker = Callable[[dict[str, str], str], str]


def edited_sort_key(tokens: dict[str, str], key_id: str) -> str:
    payload, mac = parts(tokens["general"])
    fields = json.loads(payload)
    fields["k"] = "2030-01-01T00:00:00.000Z#" + "Z" * 26
    return f"{b64(json.dumps(fields, separators=(',', ':')).encode())}.{b64(mac)}"


def moved_to_this_channel(tokens: dict[str, str], key_id: str) -> str:
    payload, mac = parts(tokens["ops"])
    fields = {**json.loads(payload), "c": "general"}
    return f"{b64(json.dumps(fields, separators=(',', ':')).encode())}.{b64(mac)}"


def signed_with(key_id: str, message: bytes, payload: bytes) -> str:
    mac = boto3.client("kms").generate_mac(
        KeyId=key_id, Message=message, MacAlgorithm="HMAC_SHA_256"
    )["Mac"]
    return f"{b64(payload)}.{b64(mac)}"


def forged_with_another_key(tokens: dict[str, str], key_id: str) -> str:
    payload, _ = parts(tokens["general"])
    other = boto3.client("kms").create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    return signed_with(other["KeyMetadata"]["KeyId"], messages.MAC_CONTEXT + payload, payload)


def signed_without_the_context(tokens: dict[str, str], key_id: str) -> str:
    payload, _ = parts(tokens["general"])
    return signed_with(key_id, payload, payload)


def real(channel: str) -> TokenMaker:
    return lambda tokens, _: tokens[channel]


def mangled(change: Callable[[str], str]) -> TokenMaker:
    return lambda tokens, _: change(tokens["general"])


def flip_a_mac_character(token: str) -> str:
    # The first character of the mac carries 6 of its bits (the last one has unused bits).
    payload, mac = token.split(".")
    return f"{payload}.{'B' if mac[0] == 'A' else 'A'}{mac[1:]}"


def with_payload(payload: bytes) -> TokenMaker:
    return lambda tokens, _: f"{b64(payload)}.{b64(bytes(32))}"


@pytest.mark.parametrize(
    ("make", "reaches_kms"),
    [
        pytest.param(edited_sort_key, True, id="edited-sort-key"),
        pytest.param(moved_to_this_channel, True, id="other-channel-edited-to-this"),
        pytest.param(forged_with_another_key, True, id="forged-with-another-key"),
        pytest.param(signed_without_the_context, True, id="mac-without-context"),
        pytest.param(real("ops"), False, id="real-token-of-another-channel"),
        pytest.param(mangled(lambda t: t + "="), False, id="padded"),
        pytest.param(mangled(lambda t: t.replace(".", "..")), False, id="three-parts"),
        pytest.param(mangled(lambda t: t.split(".")[0]), False, id="no-mac"),
        pytest.param(mangled(lambda t: t[:-2]), False, id="short-mac"),
        pytest.param(mangled(flip_a_mac_character), True, id="edited-mac"),
        pytest.param(mangled(lambda t: "!" + t), False, id="bad-base64"),
        pytest.param(lambda tokens, _: "A" * 401, False, id="too-long"),
        pytest.param(with_payload(b"not json"), False, id="not-json"),
        pytest.param(with_payload(b"[" * 300), False, id="deep-json"),
        pytest.param(with_payload(b'["general"]'), False, id="not-an-object"),
        pytest.param(
            with_payload(
                b'{"c":"general","k":"2026-03-01T12:00:45.250Z#' + b"0" * 26 + b'","x":1}'
            ),
            False,
            id="extra-field",
        ),
        pytest.param(with_payload(b'{"c":"general","k":"x"}'), False, id="not-a-sort-key"),
        pytest.param(with_payload(b'{"c":"general","k":7}'), False, id="sort-key-not-a-string"),
        pytest.param(
            with_payload(b'{"k":"2026-03-01T12:00:45.250Z#' + b"0" * 26 + b'","c":"general"}'),
            False,
            id="reordered-fields",
        ),
    ],
)
def test_a_forged_edited_or_foreign_token_answers_400_before_any_query(
    chat: str, monkeypatch: pytest.MonkeyPatch, make: TokenMaker, reaches_kms: bool
) -> None:
    clock(monkeypatch, step=1)
    for n, channel in enumerate(["general", "general", "ops", "ops"]):
        post(f"m{n}", f"client-000{n}", fields={"channel": channel})
    tokens = {
        channel: call("GET", query={"limit": "1", "channel": channel})[1]["next"]
        for channel in ("general", "ops")
    }
    token = make(tokens, chat)
    queries: list[Any] = []
    verifications: list[Any] = []
    monkeypatch.setattr(
        messages.dynamodb_client(), "query", lambda **request: queries.append(request)
    )
    real_verify = messages.kms_client().verify_mac

    def verify(**request: Any) -> Any:
        verifications.append(request)
        return real_verify(**request)

    monkeypatch.setattr(messages.kms_client(), "verify_mac", verify)

    status, body, _ = call("GET", query={"next": token, "limit": "1"})

    assert (status, body["message"]) == (400, NOT_OURS)
    assert queries == []
    assert bool(verifications) is reaches_kms


def test_a_real_token_starts_the_page_after_its_message(
    chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock(monkeypatch, step=1)
    ids = [post(f"m{n}", f"client-000{n}")[1]["id"] for n in range(3)]
    _, first, _ = call("GET", query={"limit": "1"})

    status, second, _ = call("GET", query={"limit": "5", "next": first["next"]})

    assert status == 200
    assert [m["id"] for m in second["messages"]] == [ids[1], ids[0]]
    assert second["next"] is None


def test_a_kms_failure_other_than_a_bad_mac_is_not_a_client_error(
    chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock(monkeypatch, step=1)
    post("m0", "client-0000")
    post("m1", "client-0001")
    token = call("GET", query={"limit": "1"})[1]["next"]

    def throttled(**request: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "VerifyMac"
        )

    monkeypatch.setattr(messages.kms_client(), "verify_mac", throttled)

    with pytest.raises(ClientError, match="ThrottlingException"):
        call("GET", query={"next": token})


# -- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ('{"text": "hi", "clientMessageId": ', 400, "not valid JSON"),
        ("[1, 2]", 400, "JSON object, not list"),
        ('"text"', 400, "JSON object, not str"),
        ("null", 400, "JSON object, not NoneType"),
        ("", 400, "the body must be a JSON object"),
        ("[" * 15_000, 400, "not valid JSON"),
        ('{"text": "' + "a" * 17_000 + '"}', 413, "at most 16384 bytes"),
        ({"text": "hi", "clientMessageId": "client-0001", "author": "x"}, 400, "'author'"),
        ({"clientMessageId": "client-0001"}, 400, "text is required"),
        ({"text": "", "clientMessageId": "client-0001"}, 400, "text must be a string of 1-1000"),
        ({"text": " \n\t ", "clientMessageId": "client-0001"}, 400, "text must be"),
        ({"text": "a" * 1001, "clientMessageId": "client-0001"}, 400, "1001 characters"),
        ({"text": 42, "clientMessageId": "client-0001"}, 400, "text must be a string"),
        ({"text": None, "clientMessageId": "client-0001"}, 400, "text must be a string"),
        ({"text": ["hi"], "clientMessageId": "client-0001"}, 400, "text must be a string"),
        ('{"text": "\\ud800", "clientMessageId": "client-0001"}', 400, "not valid Unicode"),
        ({"text": "hi"}, 400, "clientMessageId is required"),
        ({"text": "hi", "clientMessageId": "short12"}, 400, "clientMessageId must match"),
        ({"text": "hi", "clientMessageId": "x" * 65}, 400, "clientMessageId must match"),
        ({"text": "hi", "clientMessageId": "has space!"}, 400, "clientMessageId must match"),
        ({"text": "hi", "clientMessageId": 12345678}, 400, "clientMessageId must match"),
        ({"text": "hi", "clientMessageId": "client-0001", "channel": ""}, 400, "channel=''"),
        ({"text": "hi", "clientMessageId": "client-0001", "channel": "General"}, 400, "channel="),
        ({"text": "hi", "clientMessageId": "client-0001", "channel": "-x"}, 400, "channel="),
        ({"text": "hi", "clientMessageId": "client-0001", "channel": "a" * 33}, 400, "channel="),
        ({"text": "hi", "clientMessageId": "client-0001", "channel": 7}, 400, "channel (int)"),
        ({"text": "hi", "clientMessageId": "client-0001", "channel": None}, 400, "channel ("),
    ],
)
def test_an_invalid_post_answers_4xx_naming_the_field(
    chat: str, body: Any, status: int, fragment: str
) -> None:
    got, answer, _ = call("POST", body=body)

    assert got == status
    assert fragment in answer["message"]
    assert items("channel#") == []


def test_the_text_byte_bound_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    # 1,000 characters are at most 4,000 UTF-8 bytes: the byte bound holds on its own.
    monkeypatch.setattr(messages, "MAX_TEXT_CHARS", 2000)

    with pytest.raises(BadRequestError) as refused:
        messages.message_text("\U0001f600" * 1001)

    assert "4004 bytes" in str(refused.value.msg)


@pytest.mark.parametrize(
    "text",
    ["a", "a" * 1000, "\U0001f600" * 1000, "  padded to 1000 " + "b" * 983 + "  "],
)
def test_text_at_the_bounds_is_stored(chat: str, text: str) -> None:
    status, message = post(text, "client-0001")

    assert status == 201
    assert message["text"] == text.strip()


def test_a_base64_body_is_decoded(chat: str) -> None:
    body = json.dumps({"text": "from binary", "clientMessageId": "client-0001"}).encode()

    status, message, _ = call("POST", body=body)

    assert status == 201
    assert message["text"] == "from binary"


def test_a_bad_base64_body_answers_400(chat: str) -> None:
    event = api_gateway_rest_event("POST", "/messages", body="%%%", authorizer={"claims": ALICE})
    event["isBase64Encoded"] = True

    response = messages.lambda_handler(event, LambdaContext())

    assert response["statusCode"] == 400
    assert "base64" in json.loads(response["body"])["message"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"limit": "0"}, "limit='0' is not an integer in 1-100"),
        ({"limit": "101"}, "limit='101' is not an integer in 1-100"),
        ({"limit": "abc"}, "limit='abc'"),
        ({"limit": "1.5"}, "limit='1.5'"),
        ({"limit": "-1"}, "limit='-1'"),
        ({"limit": "\u0663"}, "limit="),
        ({"limit": ""}, "limit=''"),
        ({"limit": "1" * 5000}, "limit="),
        ({"channel": ""}, "channel=''"),
        ({"channel": "General"}, "channel='General'"),
        ({"channel": "a" * 33}, "channel="),
        ({"channel": "ops#x"}, "channel="),
    ],
)
def test_a_bad_query_answers_400_naming_the_parameter(
    chat: str, query: dict[str, str], fragment: str
) -> None:
    status, body, _ = call("GET", query=query)

    assert status == 400
    assert fragment in body["message"]


def test_limit_100_is_accepted(chat: str) -> None:
    assert call("GET", query={"limit": "100"})[0] == 200


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_answer_405_with_allow(chat: str, method: str) -> None:
    status, body, headers = call(method, body={"text": "x"})

    assert status == 405
    assert headers["Allow"] == ["GET, POST"]
    assert method in body["message"]


@pytest.mark.parametrize("path", ["/", "/message", "/messages/1", "/typing"])
def test_unknown_routes_answer_404(chat: str, path: str) -> None:
    status, body, _ = call("GET", path)

    assert status == 404
    assert "no route GET" in body["message"]


# -- identity ----------------------------------------------------------------------------


def test_without_claims_a_cognito_api_answers_401(chat: str) -> None:
    for method in ("GET", "POST"):
        status, body, _ = call(method, body={"text": "x", "clientMessageId": "c" * 8}, claims=None)
        assert status == 401
        assert "claims" in body["message"]


@pytest.mark.parametrize(
    ("claims", "name"),
    [
        ({"sub": "s-1", "cognito:username": "carol", "email": "c@example.com"}, "carol"),
        ({"sub": "s-1", "email": "c@example.com"}, "c@example.com"),
        ({"sub": "s-1"}, "s-1"),
    ],
)
def test_a_cognito_callers_name_is_username_else_email_else_sub(
    chat: str, claims: dict[str, str], name: str
) -> None:
    status, message = post("hi", "client-0001", claims=claims)

    assert status == 201
    assert (message["author"], message["authorId"], message["anonymous"]) == (name, "s-1", False)


@pytest.mark.parametrize(
    ("fields", "headers", "user_id", "name"),
    [
        (
            {
                "cognitoIdentityId": "us-east-1:0000-aaaa",
                "userArn": "arn:aws:sts::123456789012:assumed-role/Chat/CognitoIdentityCredentials",
            },
            None,
            "us-east-1:0000-aaaa",
            "CognitoIdentityCredentials",
        ),
        (
            {"userArn": "arn:aws:iam::123456789012:user/dave"},
            None,
            "arn:aws:iam::123456789012:user/dave",
            "dave",
        ),
        (
            {"userArn": "arn:aws:iam::123456789012:user/dave"},
            {"x-chat-name": "  Dave R.  "},
            "arn:aws:iam::123456789012:user/dave",
            "Dave R.",
        ),
        ({"cognitoIdentityId": "us-east-1:0000-bbbb"}, None, "us-east-1:0000-bbbb", None),
    ],
)
def test_an_iam_caller_is_their_identity(
    chat: str,
    monkeypatch: pytest.MonkeyPatch,
    fields: dict[str, str | None],
    headers: dict[str, str] | None,
    user_id: str,
    name: str | None,
) -> None:
    monkeypatch.setenv("CHAT_AUTH", "iam")

    status, message = post(
        "hi", "client-0001", claims=None, identity_fields=fields, headers=headers
    )

    assert status == 201
    assert (message["authorId"], message["author"]) == (user_id, name or user_id)


def test_an_iam_api_without_an_identity_answers_401(
    chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_AUTH", "iam")

    status, body, _ = call("GET", claims=None)

    assert status == 401
    assert "IAM identity" in body["message"]


def test_an_anonymous_caller_is_their_name(chat: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_AUTH", "anonymous")

    status, message = post("hi", "client-0001", claims=None, headers={"X-Chat-Name": " Rick_G "})

    assert status == 201
    assert (message["author"], message["authorId"], message["anonymous"]) == (
        "Rick_G",
        "anon:rick_g",
        True,
    )


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        (None, "X-Chat-Name is required"),
        ({"X-Chat-Name": ""}, "X-Chat-Name must be 1-32"),
        ({"X-Chat-Name": "   "}, "X-Chat-Name must be 1-32"),
        ({"X-Chat-Name": "a" * 33}, "X-Chat-Name must be 1-32"),
        ({"X-Chat-Name": "rick#1"}, "X-Chat-Name must be 1-32"),
        ({"X-Chat-Name": "Zo\u00eb"}, "X-Chat-Name must be 1-32"),
    ],
)
def test_an_anonymous_caller_without_a_valid_name_answers_400(
    chat: str, monkeypatch: pytest.MonkeyPatch, headers: dict[str, str] | None, fragment: str
) -> None:
    monkeypatch.setenv("CHAT_AUTH", "anonymous")

    status, body, _ = call("GET", claims=None, headers=headers)

    assert status == 400
    assert fragment in body["message"]


def test_an_unknown_chat_auth_is_a_deployment_error(
    chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_AUTH", "none")

    with pytest.raises(identity.ChatAuthConfigurationError, match="CHAT_AUTH='none'"):
        call("GET")


# -- hostile input -----------------------------------------------------------------------

json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
field_value = st.one_of(
    json_value,
    st.text(max_size=1100),
    st.from_regex(r"[A-Za-z0-9_-]{6,66}", fullmatch=True),
    st.sampled_from(["general", "ops", "", " ", "\ud800", "x" * 5000, "\U0001f600" * 1001]),
)
post_body = st.one_of(
    st.fixed_dictionaries(
        {
            "text": st.text(min_size=1, max_size=30),
            "clientMessageId": st.from_regex(r"[A-Za-z0-9_-]{8,64}", fullmatch=True),
        },
        optional={"channel": st.sampled_from(["general", "ops", "x-1"])},
    ),
    st.fixed_dictionaries(
        {"text": field_value, "clientMessageId": field_value},
        optional={"channel": field_value, "extra": field_value},
    ),
    json_value,
    st.text(max_size=100),
    st.binary(max_size=100),
    st.sampled_from(["[" * 20_000, '{"text": "' + "a" * 20_000 + '"}', '{"text": "\\udfff"}']),
)
query_value = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["general", "ops", "1", "100", "101", "0", "\u0663", "A" * 500]),
)
hostile_request = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "POST", "POST", "PUT", "DELETE"]),
        "path": st.sampled_from(["/messages", "/messages", "/messages", "/messages/x", "/x"]),
        "body": post_body,
        "query": st.dictionaries(
            st.sampled_from(["channel", "limit", "next", "other"]), query_value, max_size=3
        ),
    }
)


@pytest.mark.hostile
def test_hostile_requests_never_answer_5xx(chat: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "1000")
    for n in range(4):
        post(f"m{n}", f"client-000{n}")
    real_token = call("GET", query={"limit": "1"})[1]["next"]
    answered: dict[int, int] = {}

    @settings(
        max_examples=300,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(hostile_request, st.sampled_from([None, "real", "edited"]))
    def never_a_server_error(request: dict[str, Any], token: str | None) -> None:
        query = dict(request["query"])
        if token == "real":
            query["next"] = real_token
        elif token == "edited":
            query["next"] = "A" + real_token[1:]
        body = request["body"]
        if not isinstance(body, str | bytes | dict | list | None):
            body = json.dumps(body)  # a JSON scalar, as its text
        status, body, _ = call(request["method"], request["path"], query=query or None, body=body)

        assert 200 <= status < 500, (request, status, body)
        answered[status] = answered.get(status, 0) + 1
        if status >= 400:
            assert isinstance(body["message"], str) and body["message"]

    never_a_server_error()
    assert {200, 201, 400, 404, 405} <= set(answered)
