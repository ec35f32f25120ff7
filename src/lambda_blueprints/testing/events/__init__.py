"""Event factories with the exact shapes Lambda delivers to handlers.

Every factory returns a plain, JSON-compatible ``dict`` (``json.dumps`` succeeds), copied
from its inputs, so a test may change it freely. Identifiers the caller does not pass are
generated: sequence numbers from increasing counters, request and message ids from
``uuid4``. Times are epoch seconds (``float``) and default to the current time.

Available:

- DynamoDB Streams: :func:`to_attribute_value`, :func:`dynamodb_stream_record`,
  :func:`dynamodb_stream_event`.
- Kinesis Data Streams: :func:`kinesis_record`, :func:`kinesis_event`.
- Tumbling windows (Kinesis or DynamoDB records): :func:`tumbling_window_event`.
- SQS: :func:`sqs_message`, :func:`sqs_event`.
- SNS: :func:`sns_event` (a message delivered to a subscribed function).
- EventBridge: :func:`eventbridge_event`, :func:`ec2_state_change_event`.
- API Gateway: :func:`api_gateway_rest_event` (REST API, payload 1.0),
  :func:`api_gateway_http_event` (HTTP API, payload 2.0) and :func:`client_certificate`
  (the mutual TLS client certificate both carry), :func:`cognito_token` (a user pool
  token for methods behind a Cognito authorizer).
- Amazon Data Firehose: :func:`firehose_transformation_event` and
  :func:`validate_firehose_response`, which checks a transformation function's answer.
- S3: :func:`s3_event` (event notifications), :func:`s3_event_for` (several records in one
  event) and :func:`s3_object_lambda_event` (S3 Object Lambda ``GetObject``).
- CloudFormation: :func:`cloudformation_custom_resource_event`.
"""

from __future__ import annotations

from lambda_blueprints.testing.events._shared import (
    DEFAULT_ACCOUNT,
    DEFAULT_API_ID,
    DEFAULT_DYNAMODB_SHARD_ID,
    DEFAULT_FIREHOSE_STREAM_ARN,
    DEFAULT_KINESIS_SHARD_ID,
    DEFAULT_KINESIS_STREAM_ARN,
    DEFAULT_LAMBDA_ROLE_ARN,
    DEFAULT_OBJECT_LAMBDA_ACCESS_POINT_ARN,
    DEFAULT_REGION,
    DEFAULT_RESPONSE_URL,
    DEFAULT_S3_PRINCIPAL_ID,
    DEFAULT_SERVICE_TOKEN,
    DEFAULT_SNS_SUBSCRIPTION_ID,
    DEFAULT_SNS_TOPIC_ARN,
    DEFAULT_SOURCE_IP,
    DEFAULT_SQS_FIFO_QUEUE_ARN,
    DEFAULT_SQS_QUEUE_ARN,
    DEFAULT_STACK_ID,
    DEFAULT_SUPPORTING_ACCESS_POINT_ARN,
    DEFAULT_USER_AGENT,
    FIREHOSE_MAX_RECORD_BYTES,
    FIREHOSE_MAX_RESPONSE_BYTES,
    KINESIS_MAX_RECORD_BYTES,
    SNS_MAX_MESSAGE_BYTES,
    SQS_MAX_MESSAGE_BYTES,
    JsonPayload,
    MultiValues,
    StreamViewType,
)
from lambda_blueprints.testing.events.apigateway import (
    HttpBody,
    HttpMethod,
    api_gateway_http_event,
    api_gateway_rest_event,
    client_certificate,
    cognito_token,
)
from lambda_blueprints.testing.events.cloudformation import (
    CustomResourceRequestType,
    cloudformation_custom_resource_event,
)
from lambda_blueprints.testing.events.dynamodb import (
    DEFAULT_TABLE_STREAM_ARN,
    DYNAMODB_MAX_KEY_ATTRIBUTES,
    DYNAMODB_MAX_NESTING_LEVELS,
    dynamodb_stream_event,
    dynamodb_stream_record,
    to_attribute_value,
)
from lambda_blueprints.testing.events.eventbridge import (
    EC2_INSTANCE_STATES,
    Ec2InstanceState,
    ec2_state_change_event,
    eventbridge_event,
)
from lambda_blueprints.testing.events.firehose import (
    FIREHOSE_RESULTS,
    FirehoseResult,
    firehose_transformation_event,
    validate_firehose_response,
)
from lambda_blueprints.testing.events.kinesis import (
    kinesis_event,
    kinesis_record,
)
from lambda_blueprints.testing.events.s3 import (
    s3_event,
    s3_event_for,
    s3_object_lambda_event,
)
from lambda_blueprints.testing.events.sns import (
    SNS_ATTRIBUTE_TYPES,
    SNS_MAX_SUBJECT_CHARS,
    SnsAttributeValue,
    sns_event,
)
from lambda_blueprints.testing.events.sqs import (
    SqsAttributeValue,
    sqs_event,
    sqs_message,
)
from lambda_blueprints.testing.events.windows import (
    tumbling_window_event,
)

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_API_ID",
    "DEFAULT_DYNAMODB_SHARD_ID",
    "DEFAULT_FIREHOSE_STREAM_ARN",
    "DEFAULT_KINESIS_SHARD_ID",
    "DEFAULT_KINESIS_STREAM_ARN",
    "DEFAULT_LAMBDA_ROLE_ARN",
    "DEFAULT_OBJECT_LAMBDA_ACCESS_POINT_ARN",
    "DEFAULT_REGION",
    "DEFAULT_RESPONSE_URL",
    "DEFAULT_S3_PRINCIPAL_ID",
    "DEFAULT_SERVICE_TOKEN",
    "DEFAULT_SNS_SUBSCRIPTION_ID",
    "DEFAULT_SNS_TOPIC_ARN",
    "DEFAULT_SOURCE_IP",
    "DEFAULT_SQS_FIFO_QUEUE_ARN",
    "DEFAULT_SQS_QUEUE_ARN",
    "DEFAULT_STACK_ID",
    "DEFAULT_SUPPORTING_ACCESS_POINT_ARN",
    "DEFAULT_TABLE_STREAM_ARN",
    "DEFAULT_USER_AGENT",
    "DYNAMODB_MAX_KEY_ATTRIBUTES",
    "DYNAMODB_MAX_NESTING_LEVELS",
    "EC2_INSTANCE_STATES",
    "FIREHOSE_MAX_RECORD_BYTES",
    "FIREHOSE_MAX_RESPONSE_BYTES",
    "FIREHOSE_RESULTS",
    "KINESIS_MAX_RECORD_BYTES",
    "SNS_ATTRIBUTE_TYPES",
    "SNS_MAX_MESSAGE_BYTES",
    "SNS_MAX_SUBJECT_CHARS",
    "SQS_MAX_MESSAGE_BYTES",
    "CustomResourceRequestType",
    "Ec2InstanceState",
    "FirehoseResult",
    "HttpBody",
    "HttpMethod",
    "JsonPayload",
    "MultiValues",
    "SnsAttributeValue",
    "SqsAttributeValue",
    "StreamViewType",
    "api_gateway_http_event",
    "api_gateway_rest_event",
    "client_certificate",
    "cloudformation_custom_resource_event",
    "cognito_token",
    "dynamodb_stream_event",
    "dynamodb_stream_record",
    "ec2_state_change_event",
    "eventbridge_event",
    "firehose_transformation_event",
    "kinesis_event",
    "kinesis_record",
    "s3_event",
    "s3_event_for",
    "s3_object_lambda_event",
    "sns_event",
    "sqs_event",
    "sqs_message",
    "to_attribute_value",
    "tumbling_window_event",
    "validate_firehose_response",
]
