"""The local cloud: run the library's handlers and stacks offline, in pytest.

Importable without aws_cdk.

* :class:`LocalCloud` deploys a synthesized stack into moto and delivers events to the
  real handler code with Lambda's semantics: stream event source mappings
  (:mod:`~lambda_blueprints.testing.streams`), SQS mappings
  (:mod:`~lambda_blueprints.testing.sqs`) and EventBridge rules
  (:mod:`~lambda_blueprints.testing.eventbridge`), with filter criteria
  (:mod:`~lambda_blueprints.testing.filtering`). What happened is in
  :class:`ActivityLog`; time is a :class:`Clock` that moves only when told.
* Firehose streams deliver Kinesis or ``LocalCloud.put_firehose_records`` records to S3
  through a Lambda transformation, and buckets announce new objects on EventBridge or to
  SQS and SNS (:mod:`~lambda_blueprints.testing.firehose`).
* ``LocalCloud.iot_publish`` runs AWS IoT Core topic rules (an SQL subset, six actions,
  error actions; :mod:`~lambda_blueprints.testing.iot`).
* ``LocalCloud.http`` calls API Gateway REST APIs: resource routing, request parameter
  validation, Lambda proxy and mock integrations, returning an :class:`HttpResponse`
  (:mod:`~lambda_blueprints.testing.apigateway`); ``LocalCloud.serve`` serves them over
  HTTP on ``127.0.0.1`` as a :class:`LocalServer`
  (:mod:`~lambda_blueprints.testing.http_server`).
* Event factories (:mod:`~lambda_blueprints.testing.events`) build every event the
  library's handlers take, in the exact shapes Lambda delivers.
* :class:`LambdaContext` and :func:`read_stream_records` help unit tests of handlers.
"""

from lambda_blueprints.testing.activity import (
    ActivityLog,
    Checkpoint,
    FailureRecord,
    Invocation,
    InvocationThrottled,
    InvokeResult,
)
from lambda_blueprints.testing.apigateway import HttpResponse
from lambda_blueprints.testing.clock import Clock
from lambda_blueprints.testing.cloud import DeployedStack, LocalCloud
from lambda_blueprints.testing.context import LambdaContext
from lambda_blueprints.testing.dynamodb_streams import read_stream_records
from lambda_blueprints.testing.events import (
    api_gateway_http_event,
    api_gateway_rest_event,
    client_certificate,
    cloudformation_custom_resource_event,
    cognito_token,
    dynamodb_stream_event,
    dynamodb_stream_record,
    ec2_state_change_event,
    eventbridge_event,
    firehose_transformation_event,
    kinesis_event,
    kinesis_record,
    s3_event,
    s3_event_for,
    s3_object_lambda_event,
    sns_event,
    sqs_event,
    sqs_message,
    to_attribute_value,
    tumbling_window_event,
    validate_firehose_response,
)
from lambda_blueprints.testing.filtering import FilterError, compile_filters, matches
from lambda_blueprints.testing.http_server import LocalServer
from lambda_blueprints.testing.iot import IotRuleRun, MessageTooLargeError, topic_matches
from lambda_blueprints.testing.mapping_templates import (
    MappingTemplateError,
    RenderedTemplate,
    render_template,
)
from lambda_blueprints.testing.streams import MemoryStream, StreamEventSourceMapping

__all__ = [
    "ActivityLog",
    "Checkpoint",
    "Clock",
    "DeployedStack",
    "FailureRecord",
    "FilterError",
    "HttpResponse",
    "Invocation",
    "InvocationThrottled",
    "InvokeResult",
    "IotRuleRun",
    "LambdaContext",
    "LocalCloud",
    "LocalServer",
    "MappingTemplateError",
    "MemoryStream",
    "MessageTooLargeError",
    "RenderedTemplate",
    "StreamEventSourceMapping",
    "api_gateway_http_event",
    "api_gateway_rest_event",
    "client_certificate",
    "cloudformation_custom_resource_event",
    "cognito_token",
    "compile_filters",
    "dynamodb_stream_event",
    "dynamodb_stream_record",
    "ec2_state_change_event",
    "eventbridge_event",
    "firehose_transformation_event",
    "kinesis_event",
    "kinesis_record",
    "matches",
    "read_stream_records",
    "render_template",
    "s3_event",
    "s3_event_for",
    "s3_object_lambda_event",
    "sns_event",
    "sqs_event",
    "sqs_message",
    "to_attribute_value",
    "topic_matches",
    "tumbling_window_event",
    "validate_firehose_response",
]
