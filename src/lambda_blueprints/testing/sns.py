"""SNS in the local cloud: topics and subscriptions, created in moto."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys


@deploys("AWS::SNS::Topic")
def _topic(stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
    name = props.get("TopicName") or stack.name(logical_id, 256)
    attributes = {"FifoTopic": "true"} if props.get("FifoTopic") else {}
    arn = stack.context.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
    return Resource(logical_id, "AWS::SNS::Topic", "", arn, {"TopicArn": arn, "TopicName": name})


@deploys("AWS::SNS::Subscription")
def _subscription(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    arn = stack.context.client("sns").subscribe(
        TopicArn=props["TopicArn"],
        Protocol=props["Protocol"],
        Endpoint=props["Endpoint"],
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return Resource(logical_id, "AWS::SNS::Subscription", "", arn)
