"""Single-concern building blocks: one public construct per module."""

from lambda_blueprints.constructs.alarm_topic import AlarmTopic
from lambda_blueprints.constructs.ec2_dynamic_dns import Ec2DynamicDns
from lambda_blueprints.constructs.firehose_archive import FirehoseArchive
from lambda_blueprints.constructs.function import BlueprintFunction
from lambda_blueprints.constructs.http_service_api import HttpApiAuthorization, HttpServiceApi
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

__all__ = [
    "AlarmTopic",
    "ApiAuthorization",
    "BlueprintFunction",
    "ConsumerOptions",
    "Ec2DynamicDns",
    "FirehoseArchive",
    "HttpApiAuthorization",
    "HttpServiceApi",
    "IotTopicToKinesis",
    "KinesisFanOut",
    "MappedIntegration",
    "MappedResponse",
    "ServiceApi",
    "SnsTriggeredFunction",
    "StreamCapacity",
    "StreamTrigger",
    "TumblingWindowAggregator",
]
