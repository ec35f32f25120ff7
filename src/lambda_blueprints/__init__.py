"""Secure, nag-clean AWS CDK v2 constructs for the serverless architectures of the AWS Compute blog.

The public API is re-exported here lazily: ``lambda_blueprints.runtime`` (Lambda handler
code) and ``lambda_blueprints.testing`` (the local cloud) import without loading aws_cdk.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AlarmTopic": "lambda_blueprints.constructs.alarm_topic",
    "AlleycatRacing": "lambda_blueprints.patterns.alleycat",
    "ApiAuthorization": "lambda_blueprints.constructs.service_api",
    "BlueprintFunction": "lambda_blueprints.constructs.function",
    "ConsumerOptions": "lambda_blueprints.constructs.kinesis_fan_out",
    "Ec2DynamicDns": "lambda_blueprints.constructs.ec2_dynamic_dns",
    "FirehoseArchive": "lambda_blueprints.constructs.firehose_archive",
    "HttpApiAuthorization": "lambda_blueprints.constructs.http_service_api",
    "HttpServiceApi": "lambda_blueprints.constructs.http_service_api",
    "IotTopicToKinesis": "lambda_blueprints.constructs.iot_topic_to_kinesis",
    "KinesisFanOut": "lambda_blueprints.constructs.kinesis_fan_out",
    "LeaderboardApi": "lambda_blueprints.patterns.alleycat",
    "MappedIntegration": "lambda_blueprints.constructs.service_api",
    "MappedResponse": "lambda_blueprints.constructs.service_api",
    "ServiceApi": "lambda_blueprints.constructs.service_api",
    "SnsTriggeredFunction": "lambda_blueprints.constructs.sns_triggered_function",
    "StreamCapacity": "lambda_blueprints.constructs.kinesis_fan_out",
    "StreamTrigger": "lambda_blueprints.constructs.stream_trigger",
    "SurvivorChat": "lambda_blueprints.patterns.survivor_chat",
    "TableAuditTrail": "lambda_blueprints.patterns.table_audit_trail",
    "TumblingWindowAggregator": "lambda_blueprints.constructs.tumbling_window_aggregator",
}

__all__ = [
    "AlarmTopic",
    "AlleycatRacing",
    "ApiAuthorization",
    "BlueprintFunction",
    "ConsumerOptions",
    "Ec2DynamicDns",
    "FirehoseArchive",
    "HttpApiAuthorization",
    "HttpServiceApi",
    "IotTopicToKinesis",
    "KinesisFanOut",
    "LeaderboardApi",
    "MappedIntegration",
    "MappedResponse",
    "ServiceApi",
    "SnsTriggeredFunction",
    "StreamCapacity",
    "StreamTrigger",
    "SurvivorChat",
    "TableAuditTrail",
    "TumblingWindowAggregator",
    "__version__",
]

if TYPE_CHECKING:
    from lambda_blueprints.constructs.alarm_topic import AlarmTopic
    from lambda_blueprints.constructs.ec2_dynamic_dns import Ec2DynamicDns
    from lambda_blueprints.constructs.firehose_archive import FirehoseArchive
    from lambda_blueprints.constructs.function import BlueprintFunction
    from lambda_blueprints.constructs.http_service_api import (
        HttpApiAuthorization,
        HttpServiceApi,
    )
    from lambda_blueprints.constructs.iot_topic_to_kinesis import IotTopicToKinesis
    from lambda_blueprints.constructs.kinesis_fan_out import (
        ConsumerOptions,
        KinesisFanOut,
        StreamCapacity,
    )
    from lambda_blueprints.constructs.service_api import (
        ApiAuthorization,
        MappedIntegration,
        MappedResponse,
        ServiceApi,
    )
    from lambda_blueprints.constructs.sns_triggered_function import SnsTriggeredFunction
    from lambda_blueprints.constructs.stream_trigger import StreamTrigger
    from lambda_blueprints.constructs.tumbling_window_aggregator import TumblingWindowAggregator
    from lambda_blueprints.patterns.alleycat import AlleycatRacing, LeaderboardApi
    from lambda_blueprints.patterns.survivor_chat import SurvivorChat
    from lambda_blueprints.patterns.table_audit_trail import TableAuditTrail


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lambda_blueprints' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
