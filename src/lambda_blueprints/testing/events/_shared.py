"""Values every event factory shares: defaults, limits, counters and helpers."""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, cast

StreamViewType = Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]


DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_KINESIS_STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/events"
DEFAULT_KINESIS_SHARD_ID = "shardId-000000000000"
DEFAULT_DYNAMODB_SHARD_ID = "shardId-00000000000000000000-00000000"
DEFAULT_LAMBDA_ROLE_ARN = "arn:aws:iam::123456789012:role/lambda-role"
DEFAULT_SQS_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:queue"
DEFAULT_SQS_FIFO_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:queue.fifo"
DEFAULT_SNS_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:topic"
#: The id after the topic ARN in the default subscription ARN (``<topic arn>:<id>``).
DEFAULT_SNS_SUBSCRIPTION_ID = "0f6f6b1e-2c1d-4e2b-9c7a-3d5e8f9a0b1c"
DEFAULT_FIREHOSE_STREAM_ARN = "arn:aws:firehose:us-east-1:123456789012:deliverystream/delivery"
DEFAULT_OBJECT_LAMBDA_ACCESS_POINT_ARN = (
    "arn:aws:s3-object-lambda:us-east-1:123456789012:accesspoint/transform"
)
DEFAULT_SUPPORTING_ACCESS_POINT_ARN = "arn:aws:s3:us-east-1:123456789012:accesspoint/supporting"
DEFAULT_S3_PRINCIPAL_ID = "AIDAEXAMPLEPRINCIPAL01"
DEFAULT_STACK_ID = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/stack/00000000-0000-4000-8000-000000000000"
)
# A function ARN, not a secret.
DEFAULT_SERVICE_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:custom-resource"  # noqa: S105
DEFAULT_RESPONSE_URL = (
    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/response"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200&X-Amz-Signature=0000"
)
DEFAULT_API_ID = "a1b2c3d4e5"
DEFAULT_SOURCE_IP = "198.51.100.7"
DEFAULT_USER_AGENT = "lambda-blueprints-test/1.0"

#: Largest Kinesis record: data blob plus partition key (Kinesis PutRecord).
KINESIS_MAX_RECORD_BYTES = 1024 * 1024
#: Largest SQS message: body and message attributes together.
SQS_MAX_MESSAGE_BYTES = 1024 * 1024
#: Largest SNS message: the message and its message attributes together (256 KiB).
SNS_MAX_MESSAGE_BYTES = 256 * 1024
#: Largest Firehose record before base64 encoding (1,000 KiB, Firehose ``Record``).
FIREHOSE_MAX_RECORD_BYTES = 1000 * 1024
#: Largest response of a synchronous Lambda invocation, as Firehose invokes transformations.
FIREHOSE_MAX_RESPONSE_BYTES = 6 * 1024 * 1024

_kinesis_sequence = itertools.count(496 * 10**53)  # 56 digits, like Kinesis'
_firehose_record_ids = itertools.count(497 * 10**53)
_sqs_sequence = itertools.count(18_000_000_000_000_000_000)
_s3_sequencer = itertools.count(0x0065A0B0C0D0E0F000)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

JsonPayload = bytes | bytearray | str | Mapping[str, Any] | list[Any]
MultiValues = Mapping[str, str | Sequence[str]]


def _now() -> float:
    return time.time()


def _utc(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC)


def _iso_seconds(epoch_seconds: float) -> str:
    return _utc(epoch_seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_millis(epoch_seconds: float) -> str:
    moment = _utc(epoch_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}Z"


def _request_time(epoch_seconds: float) -> str:
    """API Gateway's request time: ``12/Mar/2020:19:03:58 +0000`` (English month names)."""
    moment = _utc(epoch_seconds)
    return f"{moment:%d}/{_MONTHS[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000"


def _certificate_time(epoch_seconds: float) -> str:
    """A certificate validity time as OpenSSL prints it: ``Aug  5 09:36:04 2021 GMT``."""
    moment = _utc(epoch_seconds)
    return f"{_MONTHS[moment.month - 1]} {moment.day:>2} {moment:%H:%M:%S %Y} GMT"


def _plain(value: Any, what: str) -> Any:
    """A deep copy of ``value`` made of JSON types only; TypeError if it is not JSON."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as error:
        raise TypeError(f"{what} must be JSON-serializable: {error}") from error


def _plain_dict(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a mapping, not {type(value).__name__}")
    return cast(dict[str, Any], _plain(dict(value), what))


def _payload_bytes(data: JsonPayload, what: str) -> bytes:
    """Bytes as they are; text as UTF-8; mappings and lists as compact JSON."""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, Mapping | list):
        try:
            return json.dumps(data, separators=(",", ":")).encode()
        except (TypeError, ValueError) as error:
            raise TypeError(f"{what} must be JSON-serializable: {error}") from error
    raise TypeError(f"{what} must be bytes, str, a mapping or a list, not {type(data).__name__}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _arn(arn: str, service: str, what: str, resource_prefix: str = "") -> tuple[str, str, str]:
    """Split an ARN into (region, account, resource), checking its service and resource."""
    parts = arn.split(":", 5)
    if (
        len(parts) != 6
        or parts[0] != "arn"
        or parts[2] != service
        or not parts[3]
        or not parts[4]
        or not parts[5].startswith(resource_prefix)
        or len(parts[5]) == len(resource_prefix)
    ):
        raise ValueError(f"{what} is not a {service} {resource_prefix or 'resource'} ARN: {arn!r}")
    return parts[3], parts[4], parts[5]


def _decimal_string(value: str | int, what: str) -> str:
    text = str(value)
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"{what} must be a decimal number string: {value!r}")
    return text
