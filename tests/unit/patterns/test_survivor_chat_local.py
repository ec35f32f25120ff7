"""The survivor chat deployed into the local cloud: the routes, end to end."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from urllib.parse import urlencode

import boto3
import pytest
from aws_cdk import App, DefaultStackSynthesizer, Stack

from lambda_blueprints import SurvivorChat
from lambda_blueprints.testing import Clock, LocalCloud, cognito_token
from tests.conftest import CDK_CONTEXT

NOW = 1_767_268_800.0  # 2026-01-01T12:00:00Z
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*"}


def chat_stack() -> Stack:
    stack = Stack(
        App(context=CDK_CONTEXT),
        "Chat",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    # No Twilio parameter: signatures are not checked (development only).
    SurvivorChat(stack, "Chat", cloud_watch_role=False, site=False)
    return stack


@pytest.fixture(scope="module")
def stack() -> Stack:
    return chat_stack()


POOL: dict[str, str] = {}


@pytest.fixture
def cloud(stack: Stack) -> Iterator[LocalCloud]:
    with LocalCloud(clock=Clock(NOW)) as local:
        deployed = local.deploy(stack)
        # Tokens must come from the chat's pool: the authorizer checks their issuer.
        POOL["id"] = deployed.physical_id("Chat/Users")
        yield local


def signed_in(name: str) -> dict[str, str]:
    token = cognito_token(sub=f"sub-{name}", username=name, issued_at=NOW, user_pool_id=POOL["id"])
    return {"Authorization": token, "Content-Type": "application/json"}


def test_a_posted_message_is_listed_for_another_survivor(cloud: LocalCloud) -> None:
    posted = cloud.http(
        "POST",
        "/messages",
        headers=signed_in("ana"),
        body='{"text": "Water at the mill", "clientMessageId": "msg-0000001"}',
    )
    repeated = cloud.http(
        "POST",
        "/messages",
        headers=signed_in("ana"),
        body='{"text": "Water at the mill", "clientMessageId": "msg-0000001"}',
    )
    listed = cloud.http("GET", "/messages", headers=signed_in("ben"))

    assert posted.status == 201, posted.body
    assert repeated.status == 200 and repeated.json()["id"] == posted.json()["id"]
    assert listed.status == 200, listed.body
    (message,) = listed.json()["messages"]
    assert (message["author"], message["text"]) == ("ana", "Water at the mill")


def test_pages_follow_their_tokens(cloud: LocalCloud) -> None:
    for number in range(5):
        body = f'{{"text": "note {number}", "clientMessageId": "msg-{number:07d}"}}'
        assert cloud.http("POST", "/messages", headers=signed_in("ana"), body=body).status == 201

    seen, query = [], {"limit": "2"}
    for _ in range(5):
        page = cloud.http("GET", "/messages", headers=signed_in("ben"), query=query).json()
        seen += [m["text"] for m in page["messages"]]
        if page["next"] is None:
            break
        query = {"limit": "2", "next": page["next"]}
    forged = cloud.http("GET", "/messages", headers=signed_in("ben"), query={"next": "e30.AAAA"})

    assert sorted(seen) == [f"note {n}" for n in range(5)]
    assert forged.status == 400


def test_another_survivor_typing_is_shown_but_not_oneself(cloud: LocalCloud) -> None:
    assert cloud.http("PUT", "/typing", headers=signed_in("ben"), body="{}").status == 204

    seen_by_ana = cloud.http("GET", "/typing", headers=signed_in("ana")).json()
    seen_by_ben = cloud.http("GET", "/typing", headers=signed_in("ben")).json()

    assert [t["author"] for t in seen_by_ana["typing"]] == ["ben"]
    assert seen_by_ben["typing"] == []


def test_without_a_token_the_chat_is_closed(cloud: LocalCloud) -> None:
    assert cloud.http("GET", "/messages").status == 401
    assert cloud.log.invocations() == []


def test_an_sms_appears_in_the_chat_and_is_answered_with_twiml(cloud: LocalCloud) -> None:
    form = {
        "From": "+12065550199",
        "Body": "Zombies at the north gate & the mill",
        "MessageSid": "SM0123456789abcdef0123456789abcdef",
        "To": "+12065550100",
    }

    answer = cloud.http("POST", "/sms", headers=FORM, body=urlencode(form))
    refused = cloud.http("POST", "/sms", headers=FORM, body=urlencode({**form, "From": "x"}))
    listed = cloud.http("GET", "/messages", headers=signed_in("ana")).json()

    assert answer.status == 200, answer.body
    assert answer.header("Content-Type") == "application/xml"
    document = ElementTree.fromstring(answer.body)  # noqa: S314 - our own template's output
    assert document.findtext("Message") == "Message received."
    assert refused.status == 400
    (message,) = listed["messages"]
    assert message["source"] == "sms"
    assert message["text"] == "Zombies at the north gate & the mill"
    assert message["author"] == "SMS \u20260199"


def test_a_panic_alert_published_on_the_topic_appears_in_the_chat(cloud: LocalCloud) -> None:
    sns = boto3.client("sns")
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"]]

    sns.publish(
        TopicArn=topic,
        Message=json.dumps({"type": "panic", "location": "North gate", "detail": "3 walkers"}),
    )
    sns.publish(TopicArn=topic, Message="not json")
    cloud.run_until_idle()
    listed = cloud.http("GET", "/messages", headers=signed_in("ana")).json()
    parked = boto3.client("sqs").receive_message(
        QueueUrl=_queue_url("FailureQueue"), MaxNumberOfMessages=10
    )["Messages"]

    (message,) = listed["messages"]
    assert message["source"] == "alert"
    assert message["text"] == "PANIC at North gate: 3 walkers"
    (failure,) = parked
    assert "MALFORMED_ALERT" in failure["Body"]


def _queue_url(name: str) -> str:
    urls = boto3.client("sqs").list_queues()["QueueUrls"]
    (url,) = [u for u in urls if name in u]
    return url
