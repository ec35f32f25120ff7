from aws_cdk import App, Stack

from lambda_blueprints import SurvivorChat
from lambda_blueprints.testing import LocalCloud, cognito_token


def test_a_message_posted_by_one_survivor_is_read_by_another():
    stack = Stack(App(), "Chat")
    SurvivorChat(stack, "Chat", cloud_watch_role=False, site=False)
    with LocalCloud() as cloud:
        pool = cloud.deploy(stack).physical_id("Chat/Users")
        # The authorizer checks the issuer: tokens of the chat's own user pool.
        ana = {"Authorization": cognito_token(sub="1", username="ana", user_pool_id=pool)}
        ben = {"Authorization": cognito_token(sub="2", username="ben", user_pool_id=pool)}
        posted = cloud.http(
            "POST",
            "/messages",
            headers=ana,
            body='{"text": "Water at the mill", "clientMessageId": "first-message"}',
        )
        page = cloud.http("GET", "/messages", headers=ben).json()

    assert posted.status == 201
    assert [m["text"] for m in page["messages"]] == ["Water at the mill"]
