"""The survivor chat's typing API against moto, with real event shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from lambda_blueprints.runtime.survivor_chat.activity import handler as activity
from lambda_blueprints.testing import LambdaContext, api_gateway_rest_event
from tests.conftest import create_pk_sk_table

NOW_MS = 1_772_366_445_250  # 2026-03-01T12:00:45.250Z


def claims(sub: str, name: str) -> dict[str, str]:
    return {
        "sub": sub,
        "cognito:username": name,
        "email": f"{name}@example.com",
        "token_use": "id",
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
    }


ALICE = claims("sub-alice", "alice")


@pytest.fixture
def typing_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mock_aws():
        create_pk_sk_table("activity")
        boto3.client("dynamodb").update_time_to_live(
            TableName="activity",
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"},
        )
        monkeypatch.setenv("ACTIVITY_TABLE_NAME", "activity")
        monkeypatch.delenv("CHAT_AUTH", raising=False)
        monkeypatch.delenv("TYPING_SECONDS", raising=False)
        monkeypatch.setattr(activity, "now_millis", lambda: NOW_MS)
        activity.dynamodb_client.cache_clear()
        yield
        activity.dynamodb_client.cache_clear()


def call(
    method: str,
    path: str = "/typing",
    *,
    query: dict[str, str] | None = None,
    body: Any = None,
    user: dict[str, str] | None = ALICE,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, list[str]]]:
    event = api_gateway_rest_event(
        method,
        path,
        query=query,
        body=body,
        headers=headers,
        authorizer={"claims": user} if user is not None else None,
    )
    response = activity.lambda_handler(event, LambdaContext(function_name="activity"))
    text = response.get("body")
    return response["statusCode"], json.loads(text) if text else None, response["multiValueHeaders"]


def entries() -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName="activity")["Items"]


def test_put_typing_answers_204_and_stores_the_entry(typing_table: None) -> None:
    status, body, _ = call("PUT", body={"channel": "north"})

    assert (status, body) == (204, None)
    assert entries() == [
        {
            "pk": {"S": "channel#north"},
            "sk": {"S": "user#sub-alice"},
            "authorId": {"S": "sub-alice"},
            "displayName": {"S": "alice"},
            "typingUntil": {"N": str(NOW_MS + 5000)},
            "expiresAt": {"N": str(NOW_MS // 1000 + 5 + 60)},
        }
    ]


@pytest.mark.parametrize("body", [None, "", {}])
def test_put_typing_without_a_channel_is_in_general(typing_table: None, body: Any) -> None:
    assert call("PUT", body=body)[0] == 204

    [entry] = entries()
    assert entry["pk"] == {"S": "channel#general"}


def test_typing_seconds_sets_how_long_an_entry_counts(
    typing_table: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TYPING_SECONDS", "12")

    call("PUT")

    [entry] = entries()
    assert entry["typingUntil"] == {"N": str(NOW_MS + 12_000)}


def test_get_typing_lists_others_typing_now_sorted_by_name(
    typing_table: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for sub, name in [("s-zed", "zed"), ("s-bea", "Bea"), ("s-amy", "amy")]:
        assert call("PUT", user=claims(sub, name))[0] == 204
    call("PUT")  # the caller
    call("PUT", user=claims("s-ops", "ops"), body={"channel": "ops"})  # another channel

    status, body, _ = call("GET")

    assert status == 200
    assert body == {
        "typing": [
            {"author": "amy", "authorId": "s-amy"},
            {"author": "Bea", "authorId": "s-bea"},
            {"author": "zed", "authorId": "s-zed"},
        ]
    }


def test_get_typing_leaves_out_the_caller(typing_table: None) -> None:
    call("PUT")

    assert call("GET") == (200, {"typing": []}, {"Content-Type": ["application/json"]})
    # Anyone else sees the caller.
    bob = call("GET", user=claims("s-bob", "bob"))[1]
    assert bob == {"typing": [{"author": "alice", "authorId": "sub-alice"}]}


def test_get_typing_leaves_out_expired_entries_time_to_live_has_not_deleted(
    typing_table: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    call("PUT", user=claims("s-old", "old"))
    monkeypatch.setattr(activity, "now_millis", lambda: NOW_MS + 5000)  # exactly its end
    call("PUT", user=claims("s-new", "new"))

    status, body, _ = call("GET")

    assert status == 200
    assert body == {"typing": [{"author": "new", "authorId": "s-new"}]}
    assert len(entries()) == 2


def test_get_typing_answers_at_most_50(typing_table: None) -> None:
    client = boto3.client("dynamodb")
    for n in range(60):
        client.put_item(
            TableName="activity",
            Item={
                "pk": {"S": "channel#general"},
                "sk": {"S": f"user#s-{n:02d}"},
                "authorId": {"S": f"s-{n:02d}"},
                "displayName": {"S": f"user {n:02d}"},
                "typingUntil": {"N": str(NOW_MS + 1000)},
                "expiresAt": {"N": str(NOW_MS // 1000 + 61)},
            },
        )

    _, body, _ = call("GET")

    assert [entry["author"] for entry in body["typing"]] == [f"user {n:02d}" for n in range(50)]


def test_anonymous_typing_uses_the_chat_name(
    typing_table: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_AUTH", "anonymous")

    assert call("PUT", user=None, headers={"X-Chat-Name": "Glenn"})[0] == 204
    me = call("GET", user=None, headers={"X-Chat-Name": "glenn"})[1]
    other = call("GET", user=None, headers={"X-Chat-Name": "Maggie"})[1]

    assert me == {"typing": []}  # the id is the name in lower case
    assert other == {"typing": [{"author": "Glenn", "authorId": "anon:glenn"}]}


@pytest.mark.parametrize(
    ("method", "query", "body", "status", "fragment"),
    [
        ("PUT", None, {"channel": "Ops"}, 400, "channel='Ops'"),
        ("PUT", None, {"channel": 5}, 400, "channel (int)"),
        ("PUT", None, {"channel": "ops", "typing": True}, 400, "'typing'"),
        ("PUT", None, "[]", 400, "JSON object, not list"),
        ("PUT", None, "{", 400, "not valid JSON"),
        ("PUT", None, '{"channel": "' + "a" * 20_000 + '"}', 413, "16384 bytes"),
        ("GET", {"channel": "-ops"}, None, 400, "channel='-ops'"),
        ("GET", {"channel": ""}, None, 400, "channel=''"),
        ("POST", None, None, 405, "POST is not allowed on /typing"),
        ("DELETE", None, None, 405, "DELETE is not allowed on /typing"),
    ],
)
def test_bad_requests_answer_4xx_naming_the_field(
    typing_table: None,
    method: str,
    query: dict[str, str] | None,
    body: Any,
    status: int,
    fragment: str,
) -> None:
    got, answer, _ = call(method, query=query, body=body)

    assert got == status
    assert fragment in answer["message"]
    assert entries() == []


def test_without_claims_typing_answers_401(typing_table: None) -> None:
    assert call("GET", user=None)[0] == 401
    assert call("PUT", user=None)[0] == 401


def test_unknown_routes_answer_404(typing_table: None) -> None:
    status, body, _ = call("GET", "/typing/now")

    assert status == 404
    assert "no route" in body["message"]


@pytest.mark.hostile
def test_hostile_requests_never_answer_5xx(typing_table: None) -> None:
    answered: set[int] = set()

    @settings(
        max_examples=150,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        st.sampled_from(["GET", "PUT", "PUT", "POST"]),
        st.one_of(
            st.none(),
            st.text(max_size=40),
            st.binary(max_size=40),
            st.dictionaries(
                st.sampled_from(["channel", "other"]),
                st.one_of(st.text(max_size=40), st.integers(), st.none(), st.lists(st.none())),
                max_size=2,
            ),
        ),
        st.dictionaries(st.sampled_from(["channel", "x"]), st.text(max_size=40), max_size=2),
    )
    def never_a_server_error(method: str, body: Any, query: dict[str, str]) -> None:
        status, answer, _ = call(method, body=body, query=query or None)

        assert 200 <= status < 500, (method, body, query, status, answer)
        answered.add(status)

    never_a_server_error()
    assert {200, 204, 400, 405} <= answered
