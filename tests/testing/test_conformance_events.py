"""The event factories against real AWS sample events, compared shape by shape.

The samples live outside the repository (``shared/conformance/events/``, see its README) and
are read at test time: ``powertools-<name>.json`` from aws-powertools' test events,
``go-<name>.json`` from aws-lambda-go's test data. Each case calls the factory that makes
that kind of event, with the options of the sample's variant (FIFO queue, delete event,
replayed event, ...) and with the sample's own data wherever the data decides the keys
(item attributes, message attributes, properties, detail, state), so that the two events
can be compared key by key.

The shape of a JSON value is its JSON type, and for an object the shape of each of its
keys, for an array the shapes of its elements. Compared with the sample, the factory's
event may differ in these ways only, each found one a failure unless the case allows it
at that path with a reason:

- ``missing``: a key of the sample that the factory leaves out;
- ``extra``: a key the factory produces that the sample does not have;
- ``type``: another JSON type than the sample's (never allowed);
- ``null``: the sample has ``null`` where the factory gives a value (``null`` may stand
  for an optional value of any type, so this is allowed per key, with the reason);
- ``empty``: the factory gives an empty array where the sample has elements.

An allowance that no longer matches a difference fails too, so the list of allowances is
exactly the list of known differences. Arrays of the same length are compared element by
element (records with records); arrays of different lengths (a DynamoDB set whose
duplicates the factory collapses) must hold elements of one shape on both sides. An empty
array in a sample says nothing of its elements' shape. Objects whose keys are request data
rather than a schema (HTTP headers) are compared as maps: the shapes of their values only,
named per case with the reason.

Integer and fractional numbers are both the JSON type ``number``: the comparison is of
shape, not of values.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote_plus

import pytest

from lambda_blueprints.testing.events import (
    api_gateway_http_event,
    api_gateway_rest_event,
    client_certificate,
    cloudformation_custom_resource_event,
    dynamodb_stream_event,
    dynamodb_stream_record,
    ec2_state_change_event,
    eventbridge_event,
    firehose_transformation_event,
    kinesis_event,
    kinesis_record,
    s3_event,
    s3_object_lambda_event,
    sqs_event,
    sqs_message,
    tumbling_window_event,
    validate_firehose_response,
)
from tests.conftest import conformance_files, require_conformance

SAMPLES = conformance_files("events")
#: The one sample that is a function's answer, not an event: checked by the validator.
FIREHOSE_RESPONSE = "go-kinesis-firehose-response.json"
SAMPLE_COUNT = 25

Kind = Literal["missing", "extra", "type", "null", "empty"]


def _sample(name: str) -> dict[str, Any]:
    directory = require_conformance("events")
    loaded: dict[str, Any] = json.loads((directory / name).read_text())
    return loaded


# --- the shape comparison -----------------------------------------------------------------


def json_type(value: Any) -> str:
    """The JSON type of a value loaded by (or about to be dumped by) ``json``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


@dataclass(frozen=True)
class Difference:
    path: str
    kind: Kind
    detail: str

    def __str__(self) -> str:
        return f"{self.path} [{self.kind}]: {self.detail}"


def shape_differences(
    sample: Any, produced: Any, *, maps: Mapping[str, str] | None = None, path: str = "$"
) -> set[Difference]:
    """How the shape of ``produced`` differs from the shape of ``sample`` (see the module).

    ``maps`` names the paths of objects compared as maps: by the shapes of their values.
    """
    maps = maps or {}
    sample_type, produced_type = json_type(sample), json_type(produced)
    if sample_type == "null":
        if produced_type == "null":
            return set()
        return {Difference(path, "null", f"the sample has null, the factory a {produced_type}")}
    if sample_type != produced_type:
        return {
            Difference(
                path, "type", f"the sample has a {sample_type}, the factory a {produced_type}"
            )
        }
    if sample_type == "object" and path in maps:
        return _homogeneous(list(sample.values()), list(produced.values()), f"{path}.*", maps)
    if sample_type == "object":
        found: set[Difference] = set()
        for key, value in sample.items():
            if key in produced:
                found |= shape_differences(value, produced[key], maps=maps, path=f"{path}.{key}")
            else:
                found.add(Difference(f"{path}.{key}", "missing", "the factory leaves it out"))
        for key in produced.keys() - sample.keys():
            found.add(Difference(f"{path}.{key}", "extra", "the sample has no such key"))
        return found
    if sample_type == "array":
        if len(sample) == len(produced):
            found = set()
            for sample_item, produced_item in zip(sample, produced, strict=True):
                found |= shape_differences(sample_item, produced_item, maps=maps, path=f"{path}[]")
            return found
        return _homogeneous(sample, produced, f"{path}[]", maps)
    return set()


def _homogeneous(
    sample: list[Any], produced: list[Any], path: str, maps: Mapping[str, str]
) -> set[Difference]:
    """Values of one shape on both sides: each one against the other side's first."""
    if not sample:
        return set()
    if not produced:
        return {Difference(path, "empty", f"the sample has {len(sample)}, the factory none")}
    found: set[Difference] = set()
    for item in sample:
        found |= shape_differences(item, produced[0], maps=maps, path=path)
    for item in produced:
        found |= shape_differences(sample[0], item, maps=maps, path=path)
    return found


def _object_paths(value: Any, path: str = "$") -> set[str]:
    """The paths of every object in a JSON value, in the notation of the differences."""
    if isinstance(value, dict):
        paths = {path}
        for key, item in value.items():
            paths |= _object_paths(item, f"{path}.{key}")
        return paths
    if isinstance(value, list):
        return set().union(*(_object_paths(item, f"{path}[]") for item in value))
    return set()


# --- the cases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Allowance:
    """A known difference from one sample, and why it is not a defect of the factory."""

    path: str
    kind: Kind
    reason: str


@dataclass(frozen=True)
class Case:
    """One sample, the factory call that makes its kind of event, and the known differences."""

    id: str
    sample: str
    factory: str
    build: Callable[[dict[str, Any]], dict[str, Any]]
    allowances: tuple[Allowance, ...] = ()
    maps: Mapping[str, str] = field(default_factory=dict)


def _epoch(text: str) -> float:
    """Epoch seconds of an ISO 8601 time ending in ``Z``."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# DynamoDB ---------------------------------------------------------------------------------


def _plain_value(typed: Mapping[str, Any]) -> Any:
    """The Python value of a typed DynamoDB value, as ``to_attribute_value`` takes it."""
    ((kind, value),) = typed.items()
    if kind in ("S", "BOOL"):
        return value
    if kind == "NULL":
        return None
    if kind == "N":
        return Decimal(value)
    if kind == "B":
        return base64.b64decode(value)
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {Decimal(v) for v in value}
    if kind == "BS":
        return {base64.b64decode(v) for v in value}
    if kind == "L":
        return [_plain_value(v) for v in value]
    if kind == "M":
        return {name: _plain_value(v) for name, v in value.items()}
    raise AssertionError(f"no DynamoDB type {kind}")


def _item(image: Mapping[str, Any] | None, *, leave_out: tuple[str, ...] = ()) -> Any:
    if image is None:
        return None
    return {name: _plain_value(v) for name, v in image.items() if name not in leave_out}


def _dynamodb_record(
    sample: Mapping[str, Any], *, leave_out: tuple[str, ...] = (), **options: Any
) -> dict[str, Any]:
    """The factory's record for a sample record: same change, key, images and view type."""
    body = sample["dynamodb"]
    return dynamodb_stream_record(
        sample["eventName"],
        _item(body["Keys"]),
        new_image=_item(body.get("NewImage"), leave_out=leave_out),
        old_image=_item(body.get("OldImage"), leave_out=leave_out),
        view_type=body["StreamViewType"],
        # A userIdentity names the service: the factory's time-to-live removal.
        ttl_delete="userIdentity" in sample,
        **options,
    )


def _go_dynamodb(sample: dict[str, Any]) -> dict[str, Any]:
    return dynamodb_stream_event(
        *(_dynamodb_record(r, leave_out=("EmptyStringSet",)) for r in sample["Records"])
    )


def _powertools_dynamodb(sample: dict[str, Any]) -> dict[str, Any]:
    return dynamodb_stream_event(*(_dynamodb_record(r) for r in sample["Records"]))


def _dynamodb_window(sample: dict[str, Any]) -> dict[str, Any]:
    start, end = _epoch(sample["window"]["start"]), _epoch(sample["window"]["end"])
    # The sample's records are older than its window, which the factory refuses: they are
    # put inside it. Its "stream-ARN" is no ARN, so the factory's default stream serves.
    records = [_dynamodb_record(r, approximate_creation_time=start + 1) for r in sample["Records"]]
    return tumbling_window_event(
        records,
        window_start=start,
        window_seconds=int(end - start),
        state=sample["state"],
        shard_id=sample["shardId"],
        is_final=sample["isFinalInvokeForWindow"],
        terminated_early=sample["isWindowTerminatedEarly"],
    )


# Kinesis ----------------------------------------------------------------------------------


def _kinesis_record(sample: Mapping[str, Any]) -> dict[str, Any]:
    data = sample["kinesis"]
    return kinesis_record(
        base64.b64decode(data["data"]),
        partition_key=data["partitionKey"],
        sequence_number=data["sequenceNumber"],
        shard_id=sample["eventID"].split(":", 1)[0],
        stream_arn=sample["eventSourceARN"],
        arrival_time=data["approximateArrivalTimestamp"],
        role_arn=sample["invokeIdentityArn"],
    )


def _kinesis(sample: dict[str, Any]) -> dict[str, Any]:
    return kinesis_event(*(_kinesis_record(r) for r in sample["Records"]))


def _kinesis_window(sample: dict[str, Any]) -> dict[str, Any]:
    start, end = _epoch(sample["window"]["start"]), _epoch(sample["window"]["end"])
    return tumbling_window_event(
        [_kinesis_record(r) for r in sample["Records"]],
        window_start=start,
        window_seconds=int(end - start),
        state=sample["state"],
        is_final=sample["isFinalInvokeForWindow"],
        terminated_early=sample["isWindowTerminatedEarly"],
    )


# SQS --------------------------------------------------------------------------------------


def _sqs_record(sample: Mapping[str, Any]) -> dict[str, Any]:
    system = sample["attributes"]
    custom: dict[str, Any] = {}
    for name, attribute in sample["messageAttributes"].items():
        # An attribute carries one value: binaryValue for Binary types, stringValue else.
        carrier = "binaryValue" if attribute["dataType"].startswith("Binary") else "stringValue"
        custom[name] = {"dataType": attribute["dataType"], carrier: attribute[carrier]}
    return sqs_message(
        sample["body"],
        message_id=sample["messageId"],
        queue_arn=sample["eventSourceARN"],
        message_attributes=custom,
        receive_count=int(system["ApproximateReceiveCount"]),
        sent_timestamp=int(system["SentTimestamp"]) / 1000,
        # The FIFO variant: a message group, deduplication id and sequence number.
        fifo_group_id=system.get("MessageGroupId"),
        deduplication_id=system.get("MessageDeduplicationId"),
        sequence_number=system.get("SequenceNumber"),
    )


def _sqs(sample: dict[str, Any]) -> dict[str, Any]:
    return sqs_event(*(_sqs_record(r) for r in sample["Records"]))


# EventBridge ------------------------------------------------------------------------------


def _eventbridge(sample: dict[str, Any]) -> dict[str, Any]:
    return eventbridge_event(
        sample["detail-type"],
        sample["source"],
        sample["detail"],
        resources=sample["resources"],
        time=_epoch(sample["time"]),
        region=sample["region"],
        account=sample["account"],
        event_id=sample["id"],
        # The replayed variant, when the sample is one.
        replay_name=sample.get("replay-name"),
    )


def _ec2_state_change(sample: dict[str, Any]) -> dict[str, Any]:
    return ec2_state_change_event(
        sample["resources"][0].rsplit("/", 1)[1],
        sample["detail"]["state"],
        time=_epoch(sample["time"]),
        region=sample["region"],
        account=sample["account"],
        event_id=sample["id"],
    )


# S3 ---------------------------------------------------------------------------------------


def _s3(sample: dict[str, Any]) -> dict[str, Any]:
    (record,) = sample["Records"]
    s3_object = record["s3"]["object"]
    return s3_event(
        record["s3"]["bucket"]["name"],
        unquote_plus(s3_object["key"]),
        # The delete variant comes from the event name: no size or ETag.
        event_name=record["eventName"],
        size=s3_object.get("size", 0),
        etag=s3_object.get("eTag"),
        sequencer=s3_object.get("sequencer"),
        region=record["awsRegion"],
        event_time=_epoch(record["eventTime"]),
        event_version=record["eventVersion"],
        principal_id=record["userIdentity"]["principalId"].removeprefix("AWS:"),
        source_ip=record["requestParameters"]["sourceIPAddress"],
        configuration_id=record["s3"]["configurationId"],
    )


def _s3_object_lambda(sample: dict[str, Any]) -> dict[str, Any]:
    request = sample["userRequest"]
    caller = sample["userIdentity"]
    url = request["url"]
    if url.startswith("/"):
        # One sample gives the path alone; the factory takes the URL the caller requested.
        url = f"https://{request['headers']['Host']}{url}"
    return s3_object_lambda_event(
        input_s3_url=sample["getObjectContext"]["inputS3Url"],
        output_route=sample["getObjectContext"]["outputRoute"],
        output_token=sample["getObjectContext"]["outputToken"],
        user_request_url=url,
        user_request_headers=request["headers"],
        supporting_access_point_arn=sample["configuration"]["supportingAccessPointArn"],
        access_point_arn=sample["configuration"]["accessPointArn"],
        payload=sample["configuration"]["payload"],
        principal_id=caller["principalId"],
        user_arn=caller["arn"],
        # The IAM user variant that names the user.
        user_name=caller.get("userName"),
        request_id=sample["xAmzRequestId"],
    )


# Amazon Data Firehose ---------------------------------------------------------------------


def _firehose(sample: dict[str, Any]) -> dict[str, Any]:
    # The Kinesis-source variant: sourceKinesisStreamArn and kinesisRecordMetadata.
    return firehose_transformation_event(
        *(base64.b64decode(r["data"]) for r in sample["records"]),
        source_kinesis_stream_arn=sample.get("sourceKinesisStreamArn"),
        invocation_id=sample["invocationId"],
    )


# CloudFormation ---------------------------------------------------------------------------


def _properties(properties: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The template's properties: CloudFormation adds ServiceToken, and so does the factory."""
    if properties is None:
        return None
    return {k: v for k, v in properties.items() if k != "ServiceToken"}


def _custom_resource(sample: dict[str, Any]) -> dict[str, Any]:
    return cloudformation_custom_resource_event(
        sample["RequestType"],
        _properties(sample["ResourceProperties"]),
        # Update requests carry the old properties, Update and Delete the physical id.
        old_resource_properties=_properties(sample.get("OldResourceProperties")),
        physical_resource_id=sample.get("PhysicalResourceId"),
        logical_resource_id=sample["LogicalResourceId"],
        resource_type=sample["ResourceType"],
        response_url=sample["ResponseURL"],
        request_id=sample["RequestId"],
    )


# API Gateway ------------------------------------------------------------------------------

_CALLER_FIELDS = (
    "accessKey",
    "accountId",
    "apiKey",
    "apiKeyId",
    "caller",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "user",
    "userArn",
)


def _rest(sample: dict[str, Any]) -> dict[str, Any]:
    context = sample["requestContext"]
    identity = context["identity"]
    body = sample["body"]
    return api_gateway_rest_event(
        sample["httpMethod"],
        sample["path"],
        # The trailing-slash variant: the path keeps its slash, the resource has none.
        resource=sample["resource"],
        path_parameters=sample["pathParameters"],
        query=sample["multiValueQueryStringParameters"],
        headers=sample["multiValueHeaders"],
        # A base64 body arrives as bytes, which the factory encodes and flags.
        body=body.encode() if sample.get("isBase64Encoded") else body,
        stage=context["stage"],
        stage_variables=sample["stageVariables"],
        client_cert=client_certificate() if "clientCert" in identity else None,
        authorizer=context.get("authorizer"),
        # The IAM / Cognito / API key variant fills the caller fields.
        identity={k: identity[k] for k in _CALLER_FIELDS if identity.get(k) is not None},
        source_ip=identity["sourceIp"],
        user_agent=identity["userAgent"],
        api_id=context["apiId"],
    )


def _http(sample: dict[str, Any]) -> dict[str, Any]:
    context = sample["requestContext"]
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(sample["rawQueryString"]):
        query.setdefault(name, []).append(value)
    return api_gateway_http_event(
        context["http"]["method"],
        context["http"]["path"],
        route_key=sample["routeKey"],
        path_parameters=sample.get("pathParameters"),
        query=query,
        headers=sample["headers"],
        cookies=sample.get("cookies"),
        body=sample.get("body"),
        stage=context["stage"],
        stage_variables=sample.get("stageVariables"),
        client_cert=client_certificate() if "authentication" in context else None,
        authorizer=context.get("authorizer"),
        source_ip=context["http"]["sourceIp"],
        user_agent=context["http"]["userAgent"],
    )


# --- allowances shared by several cases ---------------------------------------------------

_HEADER_MAP = (
    "header names are request data, not a schema: the factory adds Host, User-Agent and "
    "X-Forwarded-For/-Port/-Proto, which API Gateway sets on every request and the sample "
    "leaves out"
)
_HTTP_HEADER_MAP = (
    "header names are request data: HTTP APIs lower-case them, as the factory does, while "
    "the sample writes Header1; the factory also adds host, user-agent and x-forwarded-*"
)
_HTTP_API_V1 = (
    "the sample is the other variant of payload 1.0, an HTTP API's (its version key, stage "
    "$default, resourceId null, as in AWS's page on HTTP API payload formats), while "
    "api_gateway_rest_event builds a REST API's"
)
_HTTP_API_V1_ALLOWANCES = (
    Allowance("$.version", "missing", "REST APIs send no version key; " + _HTTP_API_V1),
    Allowance(
        "$.requestContext.resourceId",
        "null",
        "an HTTP API has no resources, so null; REST APIs send the resource's id; " + _HTTP_API_V1,
    ),
    Allowance(
        "$.requestContext.identity.apiKey",
        "extra",
        "HTTP APIs have no API keys; REST APIs send apiKey (go-apigw-request.json has it); "
        + _HTTP_API_V1,
    ),
    Allowance(
        "$.requestContext.identity.apiKeyId",
        "extra",
        "HTTP APIs have no API keys; REST APIs send apiKeyId (go-apigw-request.json has it); "
        + _HTTP_API_V1,
    ),
)
_SQS_RESERVED_LISTS = (
    "stringListValues and binaryListValues are reserved by SQS and not implemented "
    "(MessageAttributeValue in the SQS API reference): Lambda delivers them empty, as the "
    "factory does; the Go sample fills them to exercise its decoder"
)
_POWERTOOLS_SQS_TRIMMED = (
    "the sample's first record is hand-trimmed (binaryValue 'base64Str' is a placeholder); "
    "go-sqs-event.json, a record with message attributes, has the key"
)

CASES: tuple[Case, ...] = (
    Case(
        "go-apigw-request",
        "go-apigw-request.json",
        "api_gateway_rest_event(identity=..., path_parameters={'proxy': ...})",
        _rest,
        allowances=(
            Allowance(
                "$.isBase64Encoded",
                "extra",
                "the Go sample, hand-assembled (a 2016 request id next to a 2020 request "
                "time), predates or drops the flag; AWS's REST payload has it, as the "
                "powertools samples do",
            ),
            Allowance(
                "$.requestContext.identity.principalOrgId",
                "extra",
                "an older capture: the Go sample predates principalOrgId, which the powertools "
                "samples (AWS's documented payload) carry",
            ),
        ),
        maps={"$.headers": _HEADER_MAP, "$.multiValueHeaders": _HEADER_MAP},
    ),
    Case(
        "powertools-apiGatewayProxyEvent",
        "powertools-apiGatewayProxyEvent.json",
        "api_gateway_rest_event(authorizer=..., client_cert=...)",
        _rest,
        allowances=_HTTP_API_V1_ALLOWANCES,
        maps={"$.headers": _HEADER_MAP, "$.multiValueHeaders": _HEADER_MAP},
    ),
    Case(
        "powertools-apiGatewayProxyEventPathTrailingSlash",
        "powertools-apiGatewayProxyEventPathTrailingSlash.json",
        "api_gateway_rest_event('/my/path/', resource='/my/path', body=bytes)",
        _rest,
        allowances=_HTTP_API_V1_ALLOWANCES,
        maps={"$.headers": _HEADER_MAP, "$.multiValueHeaders": _HEADER_MAP},
    ),
    Case(
        "powertools-apiGatewayProxyV2Event",
        "powertools-apiGatewayProxyV2Event.json",
        "api_gateway_http_event(route_key='$default', cookies=..., client_cert=..., ...)",
        _http,
        maps={"$.headers": _HTTP_HEADER_MAP},
    ),
    Case(
        "powertools-cloudformationCustomResourceCreate",
        "powertools-cloudformationCustomResourceCreate.json",
        "cloudformation_custom_resource_event('Create', ...)",
        _custom_resource,
    ),
    Case(
        "powertools-cloudformationCustomResourceUpdate",
        "powertools-cloudformationCustomResourceUpdate.json",
        "cloudformation_custom_resource_event('Update', old_resource_properties=..., ...)",
        _custom_resource,
    ),
    Case(
        "powertools-cloudformationCustomResourceDelete",
        "powertools-cloudformationCustomResourceDelete.json",
        "cloudformation_custom_resource_event('Delete', physical_resource_id=..., ...)",
        _custom_resource,
    ),
    Case(
        "go-dynamodb-event",
        "go-dynamodb-event.json",
        "dynamodb_stream_event(dynamodb_stream_record(..., ttl_delete=...))",
        _go_dynamodb,
        allowances=(
            Allowance(
                "$.Records[].dynamodb.NewImage.EmptyStringSet",
                "missing",
                "DynamoDB refuses empty sets, so no stream record carries one and "
                "to_attribute_value raises; the Go sample holds one to test its decoder",
            ),
        ),
    ),
    Case(
        "powertools-dynamoStreamEvent",
        "powertools-dynamoStreamEvent.json",
        "dynamodb_stream_event(dynamodb_stream_record(...))",
        _powertools_dynamodb,
        allowances=(
            Allowance(
                "$.Records[].dynamodb.ApproximateCreationDateTime",
                "extra",
                "the sample's second record is hand-trimmed: its first record, and every "
                "record of the Go samples, has the creation time",
            ),
        ),
    ),
    Case(
        "go-dynamodb-time-window-event",
        "go-dynamodb-time-window-event.json",
        "tumbling_window_event([dynamodb_stream_record(...)], state=..., shard_id=...)",
        _dynamodb_window,
    ),
    Case(
        "powertools-kinesisStreamEvent",
        "powertools-kinesisStreamEvent.json",
        "kinesis_event(kinesis_record(...))",
        _kinesis,
    ),
    Case(
        "go-kinesis-time-window-event",
        "go-kinesis-time-window-event.json",
        "tumbling_window_event([kinesis_record(...)], state=...)",
        _kinesis_window,
    ),
    Case(
        "go-sqs-event",
        "go-sqs-event.json",
        "sqs_event(sqs_message(..., message_attributes=...))",
        _sqs,
        allowances=(
            Allowance(
                "$.Records[].messageAttributes.Attribute3.stringListValues[]",
                "empty",
                _SQS_RESERVED_LISTS,
            ),
            Allowance(
                "$.Records[].messageAttributes.Attribute3.binaryListValues[]",
                "empty",
                _SQS_RESERVED_LISTS,
            ),
            Allowance(
                "$.Records[].messageAttributes.Attribute2.binaryListValues[]",
                "empty",
                _SQS_RESERVED_LISTS,
            ),
        ),
    ),
    Case(
        "powertools-sqsEvent",
        "powertools-sqsEvent.json",
        "sqs_event(sqs_message(..., message_attributes=...))",
        _sqs,
        allowances=(
            Allowance(
                "$.Records[].messageAttributes.testAttr.binaryValue",
                "missing",
                "an attribute carries one value and a Number carries stringValue (SQS "
                "refuses a binaryValue on it); the sample's 'base64Str' is a placeholder",
            ),
            Allowance(
                "$.Records[].messageAttributes.testAttr.stringListValues",
                "extra",
                _POWERTOOLS_SQS_TRIMMED,
            ),
            Allowance(
                "$.Records[].messageAttributes.testAttr.binaryListValues",
                "extra",
                _POWERTOOLS_SQS_TRIMMED,
            ),
            Allowance("$.Records[].md5OfMessageAttributes", "extra", _POWERTOOLS_SQS_TRIMMED),
        ),
    ),
    Case(
        "powertools-snsSqsFifoEvent",
        "powertools-snsSqsFifoEvent.json",
        "sqs_event(sqs_message(..., fifo_group_id=..., deduplication_id=..., sequence_number=...))",
        _sqs,
    ),
    Case(
        "powertools-eventBridgeEvent",
        "powertools-eventBridgeEvent.json",
        "eventbridge_event(..., replay_name=...)",
        _eventbridge,
    ),
    Case(
        "powertools-eventBridgeEvent-as-ec2",
        "powertools-eventBridgeEvent.json",
        "ec2_state_change_event(...)",
        _ec2_state_change,
        allowances=(
            Allowance(
                "$.detail.instance_id",
                "missing",
                "EC2 spells the key instance-id (the EC2 state-change event in AWS's "
                "EventBridge reference); the sample's underscore is its own",
            ),
            Allowance(
                "$.detail.instance-id",
                "extra",
                "EC2's own spelling, which the sample writes instance_id",
            ),
            Allowance(
                "$.replay-name",
                "missing",
                "the sample is a replayed event; ec2_state_change_event builds a live one "
                "(eventbridge_event(replay_name=...) builds the replay, see the case above)",
            ),
        ),
    ),
    Case(
        "powertools-s3EventBridgeNotificationObjectCreatedEvent",
        "powertools-s3EventBridgeNotificationObjectCreatedEvent.json",
        "eventbridge_event('Object Created', 'aws.s3', <S3 detail>)",
        _eventbridge,
    ),
    Case(
        "powertools-s3Event",
        "powertools-s3Event.json",
        "s3_event(..., event_name='ObjectCreated:Put')",
        _s3,
    ),
    Case(
        "powertools-s3EventDeleteObject",
        "powertools-s3EventDeleteObject.json",
        "s3_event(..., event_name='ObjectRemoved:Delete')",
        _s3,
    ),
    Case(
        "go-s3-object-lambda-event-get-object-iam",
        "go-s3-object-lambda-event-get-object-iam.json",
        "s3_object_lambda_event(...)",
        _s3_object_lambda,
    ),
    Case(
        "powertools-s3ObjectEventIAMUser",
        "powertools-s3ObjectEventIAMUser.json",
        "s3_object_lambda_event(..., user_name=...)",
        _s3_object_lambda,
    ),
    Case(
        "powertools-kinesisFirehosePutEvent",
        "powertools-kinesisFirehosePutEvent.json",
        "firehose_transformation_event(...)",
        _firehose,
    ),
    Case(
        "powertools-kinesisFirehoseKinesisEvent",
        "powertools-kinesisFirehoseKinesisEvent.json",
        "firehose_transformation_event(..., source_kinesis_stream_arn=...)",
        _firehose,
    ),
    Case(
        "go-kinesis-firehose-event",
        "go-kinesis-firehose-event.json",
        "firehose_transformation_event(..., source_kinesis_stream_arn=...)",
        _firehose,
    ),
)


# --- the listing --------------------------------------------------------------------------


def test_every_sample_is_mapped_to_a_factory_or_the_validator() -> None:
    require_conformance("events")
    present = {path.name for path in SAMPLES}
    assert len(present) == SAMPLE_COUNT
    mapped = {case.sample for case in CASES} | {FIREHOSE_RESPONSE}
    assert sorted(present - mapped) == [], "samples no case covers"
    assert sorted(mapped - present) == [], "cases of samples that are not there"


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


# --- the shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_factory_event_has_the_shape_of_the_sample(case: Case) -> None:
    sample = _sample(case.sample)
    produced = case.build(sample)
    # The factories promise plain JSON; the comparison relies on it.
    assert json.loads(json.dumps(produced)) == produced
    unused_maps = sorted(set(case.maps) - _object_paths(sample))
    assert unused_maps == [], "map paths that name no object of the sample"
    found = {(d.path, d.kind): d for d in shape_differences(sample, produced, maps=case.maps)}
    allowed = {(a.path, a.kind): a for a in case.allowances}
    assert all(a.kind != "type" for a in case.allowances), "a type mismatch is never allowed"
    unexplained = sorted(str(found[key]) for key in found.keys() - allowed.keys())
    assert unexplained == [], f"{case.factory} differs from {case.sample}"
    stale = sorted(f"{path} [{kind}]" for path, kind in allowed.keys() - found.keys())
    assert stale == [], f"allowances of {case.sample} that no longer apply"


# --- the Firehose response ----------------------------------------------------------------

#: The Go sample's result strings are stand-ins its JSON round-trip test invented: the Go
#: library's own constants, like Firehose's contract, are Ok, Dropped and ProcessingFailed.
_FIREHOSE_RESULT_OF = {
    "TRANSFORMED_STATE_OK": "Ok",
    "TransformedStateOk": "Ok",
    "TRANSFORMED_STATE_DROPPED": "Dropped",
}


def _event_answered_by(response: Mapping[str, Any]) -> dict[str, Any]:
    """A transformation event whose records are the ones the response answers."""
    event = firehose_transformation_event(*(b"record" for _ in response["records"]))
    for record, answer in zip(event["records"], response["records"], strict=True):
        record["recordId"] = answer["recordId"]
    return event


def test_the_firehose_response_sample_passes_with_firehose_result_names() -> None:
    response = _sample(FIREHOSE_RESPONSE)
    assert {r["result"] for r in response["records"]} == set(_FIREHOSE_RESULT_OF)
    for record in response["records"]:
        record["result"] = _FIREHOSE_RESULT_OF[record["result"]]
    # metadata holds partitionKeys (dynamic partitioning) and otfMetadata (Iceberg tables).
    validate_firehose_response(_event_answered_by(response), response)


def test_the_firehose_response_sample_as_written_is_refused_for_its_result_names() -> None:
    response = _sample(FIREHOSE_RESPONSE)
    with pytest.raises(ValueError, match=r"records\[0\] result is 'TRANSFORMED_STATE_OK'"):
        validate_firehose_response(_event_answered_by(response), response)


def test_the_firehose_response_sample_answers_a_record_the_go_event_lacks() -> None:
    response = _sample(FIREHOSE_RESPONSE)
    event = _sample("go-kinesis-firehose-event.json")
    for record in response["records"]:
        record["result"] = _FIREHOSE_RESULT_OF[record["result"]]
    with pytest.raises(ValueError, match="record3"):
        validate_firehose_response(event, response)


# --- the comparison itself ----------------------------------------------------------------


def _kinds(sample: Any, produced: Any, **options: Any) -> set[tuple[str, str]]:
    return {(d.path, d.kind) for d in shape_differences(sample, produced, **options)}


def test_the_comparison_finds_missing_extra_and_retyped_keys() -> None:
    sample = {"a": 1, "b": {"c": "x"}, "d": True}
    produced = {"a": "1", "b": {"c": "x", "e": 2}}
    assert _kinds(sample, produced) == {
        ("$.a", "type"),
        ("$.b.e", "extra"),
        ("$.d", "missing"),
    }


def test_the_comparison_lets_null_stand_for_any_type_only_as_a_finding() -> None:
    assert _kinds({"a": None}, {"a": None}) == set()
    assert _kinds({"a": None}, {"a": "x"}) == {("$.a", "null")}
    # A null from the factory where the sample has a value is a type mismatch.
    assert _kinds({"a": "x"}, {"a": None}) == {("$.a", "type")}


def test_the_comparison_walks_arrays_element_by_element_or_by_one_shape() -> None:
    records = [{"k": 1}, {"k": 1, "u": {}}]
    assert _kinds({"r": records}, {"r": [{"k": 1}, {"k": 1}]}) == {("$.r[].u", "missing")}
    assert _kinds(["a", "b", "c"], ["a", "b"]) == set()
    assert _kinds(["a", "b", "c"], ["a", 2]) == {("$[]", "type")}
    assert _kinds([], [1]) == set()
    assert _kinds([1], []) == {("$[]", "empty")}


def test_the_comparison_reads_maps_by_their_values() -> None:
    sample = {"h": {"A": "1"}}
    assert _kinds(sample, {"h": {"a": "1", "b": "2"}}, maps={"$.h": "data"}) == set()
    assert _kinds(sample, {"h": {"a": ["1"]}}, maps={"$.h": "data"}) == {("$.h.*", "type")}
    assert _kinds(sample, {"h": {"a": "1"}}) == {("$.h.A", "missing"), ("$.h.a", "extra")}


# --- the options the samples called for ---------------------------------------------------


def test_eventbridge_events_carry_a_replay_name_only_when_replayed() -> None:
    live = eventbridge_event("Thing Happened", "com.example", {"n": 1})
    assert "replay-name" not in live
    replayed = eventbridge_event("Thing Happened", "com.example", {"n": 1}, replay_name="r1")
    assert replayed["replay-name"] == "r1"
    assert {k: v for k, v in replayed.items() if k not in ("replay-name", "id", "time")} == {
        k: v for k, v in live.items() if k not in ("id", "time")
    }
    with pytest.raises(ValueError, match="replay has a name"):
        eventbridge_event("Thing Happened", "com.example", {}, replay_name="")


def test_rest_events_take_the_caller_identity_fields() -> None:
    anonymous = api_gateway_rest_event("GET", "/items")["requestContext"]["identity"]
    assert {k: anonymous[k] for k in _CALLER_FIELDS} == dict.fromkeys(_CALLER_FIELDS)
    signed = api_gateway_rest_event(
        "GET",
        "/items",
        identity={
            "accessKey": "ASIAEXAMPLE",
            "accountId": "111122223333",
            "caller": "AROAEXAMPLE:session",
            "userArn": "arn:aws:sts::111122223333:assumed-role/reader/session",
            "apiKey": None,
        },
        source_ip="203.0.113.9",
    )["requestContext"]["identity"]
    assert signed["accessKey"] == "ASIAEXAMPLE"
    assert signed["accountId"] == "111122223333"
    assert signed["caller"] == "AROAEXAMPLE:session"
    assert signed["userArn"] == "arn:aws:sts::111122223333:assumed-role/reader/session"
    assert signed["apiKey"] is None
    assert signed["user"] is None
    assert signed["sourceIp"] == "203.0.113.9"
    assert set(signed) == set(anonymous)


@pytest.mark.parametrize("name", ["sourceIp", "userAgent", "clientCert", "cognitoId"])
def test_rest_identity_refuses_fields_that_are_not_caller_fields(name: str) -> None:
    with pytest.raises(ValueError, match="caller fields"):
        api_gateway_rest_event("GET", "/items", identity={name: "x"})


def test_rest_identity_values_are_strings_or_none() -> None:
    with pytest.raises(TypeError, match="accountId"):
        api_gateway_rest_event("GET", "/items", identity={"accountId": 111122223333})  # type: ignore[dict-item]


def test_object_lambda_events_name_the_iam_user_only_when_given() -> None:
    options: dict[str, Any] = {
        "input_s3_url": "https://ap-111122223333.s3-accesspoint.us-east-1.amazonaws.com/a",
        "output_route": "io-use1-001",
        "output_token": "token",
        "user_request_url": "https://olap-111122223333.s3-object-lambda.us-east-1.amazonaws.com/a",
    }
    assert "userName" not in s3_object_lambda_event(**options)["userIdentity"]
    named = s3_object_lambda_event(**options, user_name="alice")["userIdentity"]
    assert named["userName"] == "alice"
    assert named["type"] == "IAMUser"
