from aws_cdk import App, Stack

from lambda_blueprints import SurvivorChat
from lambda_blueprints.testing import LocalCloud, cognito_token


def test_a_message_posted_by_one_survivor_is_read_by_another():
    stack = Stack(App(), "Chat")
    SurvivorChat(stack, "Chat", cloud_watch_role=False, site=False)
    ana = {"Authorization": cognito_token(sub="1", username="ana")}
    ben = {"Authorization": cognito_token(sub="2", username="ben")}

    with LocalCloud() as cloud:
        cloud.deploy(stack)
        posted = cloud.http(
            "POST",
            "/messages",
            headers=ana,
            body='{"text": "Water at the mill", "clientMessageId": "first-message"}',
        )
        page = cloud.http("GET", "/messages", headers=ben).json()

    assert posted.status == 201
    assert [m["text"] for m in page["messages"]] == ["Water at the mill"]
