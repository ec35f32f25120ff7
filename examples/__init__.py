"""Deployable example stacks, one per pattern; ``app.py`` and the tests build them here."""

from __future__ import annotations

from aws_cdk import App, Stack

from examples.alleycat import AlleycatStack
from examples.database_trigger import DatabaseTriggerStack
from examples.dynamic_dns import DynamicDnsStack
from examples.shop import ShopStack
from examples.streaming_analytics import StreamingAnalyticsStack
from examples.survivor_chat import SurvivorChatStack

__all__ = [
    "AlleycatStack",
    "DatabaseTriggerStack",
    "DynamicDnsStack",
    "ShopStack",
    "StreamingAnalyticsStack",
    "SurvivorChatStack",
    "add_example_stacks",
]


def add_example_stacks(app: App) -> list[Stack]:
    """Add every example stack to ``app``; environment-agnostic, so synth runs offline."""
    return [
        DatabaseTriggerStack(
            app,
            "DatabaseTrigger",
            description="lambda-blueprints example: a users table whose changes are audited "
            "by a DynamoDB Streams trigger.",
        ),
        StreamingAnalyticsStack(
            app,
            "StreamingAnalytics",
            description="lambda-blueprints example: sales totals over tumbling windows of a "
            "DynamoDB stream and a Kinesis data stream.",
        ),
        ShopStack(
            app,
            "Shop",
            description="lambda-blueprints example: a shop built from your own handler code - "
            "order events, shipments and per-minute revenue.",
        ),
        SurvivorChatStack(
            app,
            "SurvivorChat",
            description="lambda-blueprints example: the survivor chat - microservices behind "
            "API Gateway, Cognito sign-in, SMS by Twilio, alerts by SNS, the chat page on "
            "CloudFront.",
        ),
        AlleycatStack(
            app,
            "Alleycat",
            description="lambda-blueprints example: the Alleycat racing app - IoT ingestion, "
            "Kinesis fan-out, live leaderboards, final results and all-time bests.",
        ),
        DynamicDnsStack(
            app,
            "DynamicDns",
            description="lambda-blueprints example: dynamic DNS for EC2 - instance state "
            "changes keep A, PTR and CNAME records in Route 53 private zones.",
        ),
    ]
