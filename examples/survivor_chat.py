"""The survivor chat: messages, typing indicator, SMS and alerts, and the chat page."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from constructs import Construct

from lambda_blueprints import AlarmTopic, SurvivorChat


class SurvivorChatStack(Stack):
    """The survivor chat of the zombie apocalypse workshop, signed in with Cognito.

    Defines the ``Chat`` pattern (Cognito user pool, REST API with one function per route,
    messages and activity tables, the SMS webhook, the alert topic and its function, the
    chat page behind CloudFront) and an encrypted ``Alarms`` topic for every alarm.
    Create users with ``aws cognito-idp admin-create-user`` after deploying; put the
    Twilio auth token into the SSM SecureString parameter ``/survivor-chat/twilio-auth-token``
    and give Twilio the ``SmsWebhookUrl`` output.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        alarm_topic = AlarmTopic(
            self,
            "Alarms",
            display_name="Survivor chat alarms",
            key_removal_policy=RemovalPolicy.DESTROY,
        ).topic
        chat = SurvivorChat(
            self,
            "Chat",
            # The account's API Gateway logging role is assumed to be set already.
            cloud_watch_role=False,
            twilio_auth_token_parameter="/survivor-chat/twilio-auth-token",  # noqa: S106 - a name
            alarm_topic=alarm_topic,
        )
        CfnOutput(self, "ChatUrl", value=chat.url or "", description="The chat page")
        CfnOutput(
            self,
            "SmsWebhookUrl",
            value=chat.sms_webhook_url,
            description="Twilio's messaging webhook (HTTP POST)",
        )
        CfnOutput(
            self,
            "AlertTopicArn",
            value=chat.alert_topic.topic_arn,
            description="Publish panic and motion alerts here",
        )


def sign_in_offline(
    deployed: Any, *, survivors: Sequence[str], password: str, sign_in_path: str
) -> None:
    """Ready a chat deployed into the local cloud for signing in without AWS.

    Creates ``survivors`` in the ``Chat`` user pool (in moto) with ``password``, and points
    the page's ``config.json`` at ``sign_in_path``, the path the local distribution
    answers Cognito's sign-in on (``cloud.serve_distribution(sign_in_path=...)``).

    Args:
        deployed: The ``DeployedStack`` holding the ``Chat`` pattern.
        survivors: User names to create.
        password: Their permanent password.
        sign_in_path: The local sign-in path of the distribution.
    """
    import boto3  # the local cloud's dependency, not the stack's

    pool = deployed.physical_id("Chat/Users")
    cognito = boto3.client("cognito-idp")
    for name in survivors:
        cognito.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS")
        cognito.admin_set_user_password(
            UserPoolId=pool, Username=name, Password=password, Permanent=True
        )
    s3 = boto3.client("s3")
    bucket = deployed.physical_id("Chat/Site")
    config = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
    config["cognitoEndpoint"] = sign_in_path
    s3.put_object(
        Bucket=bucket,
        Key="config.json",
        Body=json.dumps(config).encode(),
        ContentType="application/json",
    )
