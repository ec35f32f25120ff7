"""Run the survivor chat in the local cloud and open it in a browser: ``make chat``.

The chat's stack (``SurvivorChat``: the API, its functions and tables, the alert topic and
the chat page behind CloudFront) is deployed into the local cloud, two survivors are
created in its user pool, and the page is served on http://127.0.0.1:8000/ (``--port``),
signing in offline at the distribution's local sign-in path. The API itself is served too
(``--api-port``, 8001), so that Twilio's webhook can be tried with ``curl``; a first alert
is published on the alert topic, and deliveries run every second. Stop with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import boto3
from aws_cdk import App, Stack

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from examples.survivor_chat import sign_in_offline
from lambda_blueprints import SurvivorChat
from lambda_blueprints.testing import LocalCloud

SIGN_IN_PATH = "/local-cognito"
PASSWORD = "Survive-the-night-42!"  # noqa: S105 - the local survivors' password
SURVIVORS = ("ana", "ben")


def main() -> int:
    """Deploy, create the survivors, serve the page and the API until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="the chat page's port")
    parser.add_argument("--api-port", type=int, default=8001, help="the API's port")
    arguments = parser.parse_args()

    stack = Stack(App(), "SurvivorChat")
    SurvivorChat(stack, "Chat", cloud_watch_role=False)
    with LocalCloud() as cloud:
        deployed = cloud.deploy(stack)
        sign_in_offline(deployed, survivors=SURVIVORS, password=PASSWORD, sign_in_path=SIGN_IN_PATH)
        # A first alert on the topic, delivered by the loop below.
        (topic,) = [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]]
        boto3.client("sns").publish(
            TopicArn=topic,
            Message=json.dumps({"type": "motion", "location": "the front gate"}),
        )
        with (
            cloud.serve_distribution(port=arguments.port, sign_in_path=SIGN_IN_PATH) as site,
            cloud.serve(port=arguments.api_port) as api,
        ):
            print(f"The survivor chat: {site.url}")
            print(f"Sign in as {' or '.join(SURVIVORS)}, password {PASSWORD}")
            print(
                "An SMS: curl -X POST -d From=%2B12065550199 -d 'Body=Zombies!' "
                f"-d MessageSid=SM{'0' * 32} {api.stage_url()}sms"
            )
            print("Ctrl-C stops.")
            try:
                while True:
                    time.sleep(1)
                    cloud.run_until_idle()
            except KeyboardInterrupt:
                print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
