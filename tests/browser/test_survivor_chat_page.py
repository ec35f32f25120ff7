"""The chat page in headless Chromium, served by the local cloud's CloudFront and API.

Two survivors sign in (against the user pool in moto, through the distribution's local
sign-in path), one types and posts, the other sees the typing indicator and the message;
an SMS webhook post and a panic alert appear in the chat too.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from aws_cdk import App, DefaultStackSynthesizer, Stack

from examples.survivor_chat import sign_in_offline
from lambda_blueprints import SurvivorChat
from lambda_blueprints.testing import DeployedStack, LocalCloud, LocalServer
from tests.conftest import CDK_CONTEXT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"]
SIGN_IN_PATH = "/local-cognito"
PASSWORD = "Survive-the-night-42!"
#: How long the page may take to show what its 2-second polls bring.
WAIT_MS = 15_000

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])


@pytest.fixture(scope="module")
def chat() -> Iterator[tuple[LocalCloud, DeployedStack, LocalServer]]:
    stack = Stack(
        App(context=CDK_CONTEXT),
        "SurvivorChat",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    SurvivorChat(stack, "Chat", cloud_watch_role=False)
    with LocalCloud() as cloud:
        deployed = cloud.deploy(stack)
        # The test's arrangement: the page signs in at the distribution's local sign-in path.
        sign_in_offline(
            deployed, survivors=("ana", "ben"), password=PASSWORD, sign_in_path=SIGN_IN_PATH
        )
        with cloud.serve_distribution(sign_in_path=SIGN_IN_PATH) as server:
            yield cloud, deployed, server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: `make setup` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def signed_in(browser: Any, server: LocalServer, name: str, errors: list[str]) -> Any:
    page = browser.new_context().new_page()
    page.on("pageerror", lambda error: errors.append(f"{name}: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"{name}: {message.text}") if message.type == "error" else None
        ),
    )
    page.goto(server.url)
    page.fill("#sign-in input[name=username]", name)
    page.fill("#sign-in input[name=password]", PASSWORD)
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("#chat:not([hidden])", timeout=WAIT_MS)
    return page


def test_survivors_chat_see_each_other_typing_and_get_sms_and_alerts(
    chat: tuple[LocalCloud, DeployedStack, LocalServer], browser: Any
) -> None:
    cloud, _, server = chat
    errors: list[str] = []
    ana = signed_in(browser, server, "ana", errors)
    ben = signed_in(browser, server, "ben", errors)

    assert ana.text_content("#who") == "Signed in as ana"
    # Ben types: Ana sees it; Ben does not see himself.
    ben.type("#text", "Water at the mill")
    # (Selectors, not script: the page's content security policy refuses eval.)
    ana.wait_for_selector("#typing:has-text('ben')", timeout=WAIT_MS)
    assert "ben" not in (ben.text_content("#typing") or "")
    ben.click("#compose button[type=submit]")
    ana.wait_for_selector("#messages li >> text=Water at the mill", timeout=WAIT_MS)
    assert ben.input_value("#text") == ""

    # An SMS through the webhook, and a panic alert on the topic.
    sms = cloud.http(
        "POST",
        "/sms",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode(
            {
                "From": "+12065550199",
                "Body": "Zombies at the north gate",
                "MessageSid": "SM0123456789abcdef0123456789abcdef",
            }
        ),
    )
    assert sms.status == 200, sms.body
    topics = [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]]
    (topic,) = [t for t in topics if "Alerts" in t]
    boto3.client("sns").publish(
        TopicArn=topic, Message=json.dumps({"type": "panic", "location": "the mill"})
    )
    cloud.run_until_idle()

    ana.wait_for_selector("#messages li.sms >> text=Zombies at the north gate", timeout=WAIT_MS)
    ana.wait_for_selector("#messages li.alert >> text=PANIC at the mill", timeout=WAIT_MS)
    texts = ana.locator("#messages li p").all_text_contents()
    assert texts == ["Water at the mill", "Zombies at the north gate", "PANIC at the mill"]
    assert errors == []
    assert server.errors == []
