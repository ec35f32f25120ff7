"""The survivor chat: messages, typing indicator, SMS and alerts, and the chat page."""

from __future__ import annotations

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
