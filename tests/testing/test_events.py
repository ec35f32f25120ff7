"""Event factories of the local cloud: shapes, options, errors, and Powertools' reading."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import (
    APIGatewayProxyEvent,
    APIGatewayProxyEventV2,
    CloudFormationCustomResourceEvent,
    DynamoDBStreamEvent,
    EventBridgeEvent,
    KinesisFirehoseDataTransformationRecord,
    KinesisFirehoseDataTransformationRecordMetadata,
    KinesisFirehoseDataTransformationResponse,
    KinesisFirehoseEvent,
    KinesisStreamEvent,
    S3Event,
    SQSEvent,
)
from aws_lambda_powertools.utilities.data_classes.s3_object_event import S3ObjectLambdaEvent
from moto import mock_aws

from lambda_blueprints.testing.events import (
    DEFAULT_KINESIS_STREAM_ARN,
    EC2_INSTANCE_STATES,
    api_gateway_http_event,
    api_gateway_rest_event,
    client_certificate,
    cloudformation_custom_resource_event,
    dynamodb_stream_record,
    ec2_state_change_event,
    eventbridge_event,
    firehose_transformation_event,
    kinesis_event,
    kinesis_record,
    s3_event,
    s3_event_for,
    s3_object_lambda_event,
    sqs_event,
    sqs_message,
    tumbling_window_event,
    validate_firehose_response,
)

STREAM = "arn:aws:kinesis:eu-west-1:111122223333:stream/orders"
# 2020-12-09T07:04:00Z, the start of a 120 s window aligned to the epoch.
WINDOW_START = 1_607_497_440.0


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


# --- every factory --------------------------------------------------------------------------


def _all_events() -> dict[str, Callable[[], dict[str, Any]]]:
    return {
        "kinesis": lambda: kinesis_event(kinesis_record({"a": [1, 2]})),
        "window": lambda: tumbling_window_event(
            [kinesis_record(b"x", arrival_time=WINDOW_START + 1)],
            window_start=WINDOW_START,
            window_seconds=120,
            state={"n": 1},
        ),
        "sqs": lambda: sqs_event(sqs_message({"a": 1}, message_attributes={"k": b"\x00"})),
        "eventbridge": lambda: eventbridge_event("Thing", "com.example", {"t": (1, 2)}),
        "ec2": lambda: ec2_state_change_event("i-0123456789abcdef0", "running"),
        "rest": lambda: api_gateway_rest_event(
            "POST", "/a", body=b"\x00", client_cert=client_certificate()
        ),
        "http": lambda: api_gateway_http_event(
            "POST", "/a", body={"x": 1}, cookies=["c=1"], client_cert=client_certificate()
        ),
        "firehose": lambda: firehose_transformation_event(
            b"a", "b", {"c": 1}, source_kinesis_stream_arn=STREAM
        ),
        "s3": lambda: s3_event("bucket", "a b.txt", size=3),
        "object-lambda": lambda: s3_object_lambda_event(
            input_s3_url="https://ap.s3-accesspoint.us-east-1.amazonaws.com/k?X-Amz-Signature=1",
            output_route="io-use1-001",
            output_token="token",
            user_request_url="https://olap.s3-object-lambda.us-east-1.amazonaws.com/k",
            payload={"mode": "redact"},
        ),
        "cloudformation": lambda: cloudformation_custom_resource_event(
            "Update",
            {"Size": 3, "Tags": ("a", True)},
            old_resource_properties={"Size": 2},
            physical_resource_id="res-1",
        ),
    }


@pytest.mark.parametrize("name", sorted(_all_events()))
def test_every_factory_returns_plain_json(name: str) -> None:
    event = _all_events()[name]()

    assert json.loads(json.dumps(event)) == event


def test_events_are_copies_of_their_inputs() -> None:
    detail = {"items": [1]}
    properties = {"Names": ["a"]}
    event = eventbridge_event("Thing", "com.example", detail)
    request = cloudformation_custom_resource_event("Create", properties)

    detail["items"].append(2)
    properties["Names"].append("b")

    assert event["detail"] == {"items": [1]}
    assert request["ResourceProperties"]["Names"] == ["a"]


@pytest.mark.parametrize(
    "build",
    [
        lambda: eventbridge_event("Thing", "com.example", {"when": object()}),
        lambda: kinesis_record({"when": {1, 2}}),
        lambda: kinesis_record(42),  # type: ignore[arg-type]
        lambda: sqs_message(b"bytes"),  # type: ignore[arg-type]
    ],
)
def test_values_that_are_not_json_are_refused(build: Callable[[], object]) -> None:
    with pytest.raises(TypeError):
        build()


# --- Kinesis --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "payload"),
    [
        (b"\x00\xff", b"\x00\xff"),
        ("héllo", "héllo".encode()),
        ({"id": 1, "tags": ["a"]}, b'{"id":1,"tags":["a"]}'),
        ([1, "x"], b'[1,"x"]'),
    ],
)
def test_kinesis_data_is_encoded_then_base64(data: Any, payload: bytes) -> None:
    record = kinesis_record(data)

    assert _b64decode(record["kinesis"]["data"]) == payload


def test_kinesis_record_has_lambdas_shape() -> None:
    record = kinesis_record(
        b"x",
        partition_key="customer-7",
        sequence_number="49590338271490256608559692538361571095921575989136588898",
        shard_id="shardId-000000000006",
        stream_arn=STREAM,
        arrival_time=1_545_084_650.98765,
        role_arn="arn:aws:iam::111122223333:role/consumer",
    )

    assert record == {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "customer-7",
            "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
            "data": "eA==",
            "approximateArrivalTimestamp": 1_545_084_650.988,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::111122223333:role/consumer",
        "awsRegion": "eu-west-1",
        "eventSourceARN": STREAM,
    }


def test_kinesis_sequence_numbers_are_large_increasing_decimals() -> None:
    first, second = kinesis_record("a"), kinesis_record("b")
    numbers = [first["kinesis"]["sequenceNumber"], second["kinesis"]["sequenceNumber"]]

    assert all(n.isdigit() and len(n) >= 50 for n in numbers)
    assert int(numbers[0]) < int(numbers[1])
    assert second["eventID"] == f"shardId-000000000000:{numbers[1]}"
    assert isinstance(first["kinesis"]["approximateArrivalTimestamp"], float)


@pytest.mark.parametrize(
    "options",
    [
        {"partition_key": ""},
        {"partition_key": "k" * 257},
        {"sequence_number": "12a"},
        {"stream_arn": "arn:aws:sqs:us-east-1:123456789012:queue"},
        {"stream_arn": "not-an-arn"},
    ],
)
def test_kinesis_record_refuses_invalid_options(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        kinesis_record(b"x", **options)


def test_kinesis_record_refuses_more_than_one_mib() -> None:
    kinesis_record(b"x" * (1024 * 1024 - 1), partition_key="k")

    with pytest.raises(ValueError, match="1 MiB"):
        kinesis_record(b"x" * (1024 * 1024), partition_key="k")


def test_kinesis_event_parses_as_powertools_reads_it() -> None:
    event = kinesis_event(
        kinesis_record({"order": 1}, partition_key="p1", stream_arn=STREAM),
        kinesis_record("plain text", partition_key="p2", stream_arn=STREAM),
    )
    first, second = KinesisStreamEvent(event).records

    assert first.kinesis.data_as_json() == {"order": 1}
    assert first.kinesis.partition_key == "p1"
    assert second.kinesis.data_as_text() == "plain text"
    assert second.event_source_arn == STREAM
    assert second.aws_region == "eu-west-1"
    assert second.event_id.endswith(second.kinesis.sequence_number)


# --- tumbling windows -----------------------------------------------------------------------


def test_tumbling_window_event_has_the_window_shape() -> None:
    records = [
        kinesis_record(b"a", shard_id="shardId-000000000006", stream_arn=STREAM, arrival_time=t)
        for t in (WINDOW_START, WINDOW_START + 119.999)
    ]
    event = tumbling_window_event(records, window_start=WINDOW_START, window_seconds=120)

    assert list(event) == [
        "Records",
        "window",
        "state",
        "shardId",
        "eventSourceARN",
        "isFinalInvokeForWindow",
        "isWindowTerminatedEarly",
    ]
    assert event["window"] == {"start": "2020-12-09T07:04:00Z", "end": "2020-12-09T07:06:00Z"}
    assert event["state"] == {}
    assert event["shardId"] == "shardId-000000000006"
    assert event["eventSourceARN"] == STREAM
    assert event["Records"] == records
    assert event["isFinalInvokeForWindow"] is False
    assert event["isWindowTerminatedEarly"] is False


def test_final_window_invocation_carries_the_state() -> None:
    event = tumbling_window_event(
        [],
        window_start=WINDOW_START,
        window_seconds=120,
        state={"1": 282, "2": 715},
        shard_id="shardId-000000000001",
        event_source_arn=STREAM,
        is_final=True,
    )
    parsed = KinesisStreamEvent(event)

    assert list(parsed.records) == []
    assert parsed.window is not None
    assert (parsed.window.start, parsed.window.end) == (
        "2020-12-09T07:04:00Z",
        "2020-12-09T07:06:00Z",
    )
    assert parsed.state == {"1": 282, "2": 715}
    assert parsed.shard_id == "shardId-000000000001"
    assert parsed.event_source_arn == STREAM
    assert parsed.is_final_invoke_for_window is True
    assert parsed.is_window_terminated_early is False


def test_tumbling_window_of_dynamodb_records_parses_with_powertools() -> None:
    record = dynamodb_stream_record(
        "INSERT", {"id": "1"}, new_image={"id": "1"}, approximate_creation_time=WINDOW_START + 5
    )
    event = tumbling_window_event(
        [record], window_start=WINDOW_START, window_seconds=60, terminated_early=True
    )
    parsed = DynamoDBStreamEvent(event)

    assert parsed.window is not None
    assert parsed.window.end == "2020-12-09T07:05:00Z"
    assert parsed.event_source_arn == record["eventSourceARN"]
    assert parsed.shard_id is not None and parsed.shard_id.startswith("shardId-")
    assert parsed.is_window_terminated_early is True
    (parsed_record,) = parsed.records
    assert parsed_record.dynamodb is not None
    assert parsed_record.dynamodb.keys == {"id": "1"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"window_seconds": 0}, "1-900"),
        ({"window_seconds": 901}, "1-900"),
        ({"window_start": WINDOW_START + 30}, "aligned"),
        ({"is_final": True, "terminated_early": True}, "final"),
        ({"event_source_arn": DEFAULT_KINESIS_STREAM_ARN}, "another stream"),
        ({"shard_id": "shardId-000000000009"}, "another shard"),
    ],
)
def test_tumbling_window_refuses_inconsistent_options(
    options: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"window_start": WINDOW_START, "window_seconds": 120}
    arguments.update(options)
    record = kinesis_record(b"a", stream_arn=STREAM, arrival_time=WINDOW_START + 1)

    with pytest.raises(ValueError, match=message):
        tumbling_window_event([record], **arguments)


@pytest.mark.parametrize(
    "records",
    [
        [kinesis_record(b"late", arrival_time=WINDOW_START + 120)],
        [kinesis_record(b"early", arrival_time=WINDOW_START - 0.001)],
        [
            kinesis_record(b"a", shard_id="shardId-000000000001", arrival_time=WINDOW_START),
            kinesis_record(b"b", shard_id="shardId-000000000002", arrival_time=WINDOW_START),
        ],
        [
            kinesis_record(b"a", arrival_time=WINDOW_START),
            dynamodb_stream_record("INSERT", {"id": "1"}, approximate_creation_time=WINDOW_START),
        ],
        [{"body": "an SQS message"}],
    ],
)
def test_tumbling_window_records_belong_to_one_shard_and_window(
    records: list[dict[str, Any]],
) -> None:
    with pytest.raises(ValueError):
        tumbling_window_event(records, window_start=WINDOW_START, window_seconds=120)


# --- SQS ------------------------------------------------------------------------------------


def test_standard_sqs_message_has_lambdas_shape() -> None:
    message = sqs_message(
        "Test message.",
        message_id="059f36b4-87a3-44ab-83d2-661975830a7d",
        queue_arn="arn:aws:sqs:us-east-2:123456789012:my-queue",
        sent_timestamp=1_545_082_649.183,
        receive_count=3,
    )

    assert set(message) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert message["md5OfBody"] == hashlib.md5(b"Test message.", usedforsecurity=False).hexdigest()
    assert message["attributes"]["ApproximateReceiveCount"] == "3"
    assert message["attributes"]["SentTimestamp"] == "1545082649183"
    assert int(message["attributes"]["ApproximateFirstReceiveTimestamp"]) >= 1545082649183
    assert message["attributes"]["SenderId"]
    assert "MessageGroupId" not in message["attributes"]
    assert message["messageAttributes"] == {}
    assert (message["eventSource"], message["awsRegion"]) == ("aws:sqs", "us-east-2")


def test_fifo_sqs_messages_carry_group_deduplication_and_sequence() -> None:
    first = sqs_message({"n": 1}, fifo_group_id="orders")
    second = sqs_message("two", fifo_group_id="orders", deduplication_id="d-2")

    assert first["eventSourceARN"].endswith(".fifo")
    assert first["attributes"]["MessageGroupId"] == "orders"
    assert (
        first["attributes"]["MessageDeduplicationId"]
        == hashlib.sha256(first["body"].encode()).hexdigest()
    )
    assert second["attributes"]["MessageDeduplicationId"] == "d-2"
    assert int(first["attributes"]["SequenceNumber"]) < int(second["attributes"]["SequenceNumber"])


def test_sqs_system_attributes_can_be_added() -> None:
    message = sqs_message("x", attributes={"AWSTraceHeader": "Root=1-5e1b4151-5ac6c58f"})

    assert message["attributes"]["AWSTraceHeader"] == "Root=1-5e1b4151-5ac6c58f"
    assert message["attributes"]["ApproximateReceiveCount"] == "1"


def test_sqs_message_attributes_take_lambdas_spelling() -> None:
    message = sqs_message(
        "x",
        message_attributes={
            "kind": "order",
            "count": 3,
            "blob": b"\x01\x02",
            "price": {"dataType": "Number.float", "stringValue": "9.5"},
        },
    )

    assert message["messageAttributes"] == {
        "kind": {
            "stringValue": "order",
            "dataType": "String",
            "stringListValues": [],
            "binaryListValues": [],
        },
        "count": {
            "stringValue": "3",
            "dataType": "Number",
            "stringListValues": [],
            "binaryListValues": [],
        },
        "blob": {
            "binaryValue": "AQI=",
            "dataType": "Binary",
            "stringListValues": [],
            "binaryListValues": [],
        },
        "price": {
            "stringValue": "9.5",
            "dataType": "Number.float",
            "stringListValues": [],
            "binaryListValues": [],
        },
    }


def test_sqs_digests_match_what_sqs_computes() -> None:
    """moto implements SQS's MD5 of body and of message attributes independently."""
    body = "héllo wörld"
    attributes = {"kind": "order", "count": 3, "blob": b"\x00\xff"}
    with mock_aws():
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="digests")["QueueUrl"]
        sent = sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": "order"},
                "count": {"DataType": "Number", "StringValue": "3"},
                "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
            },
        )

    message = sqs_message(body, message_attributes=attributes)

    assert message["md5OfBody"] == sent["MD5OfMessageBody"]
    assert message["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]


@pytest.mark.parametrize(
    ("body", "options"),
    [
        ("", {}),
        ("x" * (1024 * 1024 + 1), {}),
        ("x", {"receive_count": 0}),
        ("x", {"fifo_group_id": "g", "queue_arn": "arn:aws:sqs:us-east-1:123456789012:q"}),
        ("x", {"queue_arn": "arn:aws:sqs:us-east-1:123456789012:q.fifo"}),
        ("x", {"deduplication_id": "d"}),
        ("x", {"sequence_number": "1"}),
        ("x", {"fifo_group_id": "g" * 129}),
        ("x", {"queue_arn": "arn:aws:sns:us-east-1:123456789012:topic"}),
        ("x", {"message_attributes": {f"a{i}": "v" for i in range(11)}}),
        ("x", {"message_attributes": {"AWS.reserved": "v"}}),
        ("x", {"message_attributes": {"amazon.x": "v"}}),
        ("x", {"message_attributes": {".leading": "v"}}),
        ("x", {"message_attributes": {"a..b": "v"}}),
        ("x", {"message_attributes": {"has space": "v"}}),
        ("x", {"message_attributes": {"k": {"dataType": "Binary", "stringValue": "v"}}}),
        ("x", {"message_attributes": {"k": {"dataType": "Boolean", "stringValue": "v"}}}),
        ("x", {"message_attributes": {"k": {"stringValue": "v"}}}),
    ],
)
def test_sqs_message_refuses_what_sqs_would(body: str, options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        sqs_message(body, **options)


@pytest.mark.parametrize(
    ("body", "code_point"),
    [
        ("a\x00b", r"U\+0000"),
        ("bell\x07", r"U\+0007"),
        ("\ud800", r"U\+D800"),
        ("\ufffe", r"U\+FFFE"),
    ],
)
def test_sqs_message_refuses_characters_sqs_does_not_take(body: str, code_point: str) -> None:
    with pytest.raises(ValueError, match=code_point):
        sqs_message(body)


def test_sqs_message_takes_every_character_sqs_allows() -> None:
    body = "tab\tline\ncr\r \ud7ff \ue000 \ufffd \U0001f600 \U0010ffff"
    assert sqs_message(body)["body"] == body


def test_sqs_has_no_boolean_attributes() -> None:
    with pytest.raises(TypeError):
        sqs_message("x", message_attributes={"flag": True})


def test_sqs_event_parses_as_powertools_reads_it() -> None:
    event = sqs_event(
        sqs_message(
            {"order": 7},
            message_id="m-1",
            fifo_group_id="g-1",
            message_attributes={"kind": "order", "blob": b"\xff"},
        ),
        sqs_message("second"),
    )
    first, second = SQSEvent(event).records

    assert first.message_id == "m-1"
    assert first.json_body == {"order": 7}
    assert first.md5_of_body == hashlib.md5(b'{"order": 7}', usedforsecurity=False).hexdigest()
    assert first.attributes.message_group_id == "g-1"
    assert first.attributes.approximate_receive_count == "1"
    kind, blob = first.message_attributes["kind"], first.message_attributes["blob"]
    assert kind is not None and kind.string_value == "order"
    assert blob is not None and blob.binary_value == "/w=="
    assert first.queue_url == "https://sqs.us-east-1.amazonaws.com/123456789012/queue.fifo"
    assert second.body == "second"
    assert second.attributes.sequence_number is None


# --- EventBridge ----------------------------------------------------------------------------


def test_eventbridge_event_has_the_envelope() -> None:
    event = eventbridge_event(
        "Order Placed",
        "com.example.orders",
        {"orderId": "o-1"},
        resources=("arn:aws:dynamodb:eu-west-1:111122223333:table/orders",),
        time=1_636_666_194.9,
        region="eu-west-1",
        account="111122223333",
        event_id="7bf73129-1428-4cd3-a780-95db273d1602",
    )

    assert event == {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "Order Placed",
        "source": "com.example.orders",
        "account": "111122223333",
        "time": "2021-11-11T21:29:54Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:dynamodb:eu-west-1:111122223333:table/orders"],
        "detail": {"orderId": "o-1"},
    }


@pytest.mark.parametrize("state", EC2_INSTANCE_STATES)
def test_ec2_state_change_event_for_each_state(state: Any) -> None:
    event = ec2_state_change_event("i-1234567890abcdef0", state, region="eu-west-1", time=0)
    parsed = EventBridgeEvent(event)

    assert parsed.version == "0"
    assert parsed.detail_type == "EC2 Instance State-change Notification"
    assert parsed.source == "aws.ec2"
    assert parsed.detail == {"instance-id": "i-1234567890abcdef0", "state": state}
    assert parsed.resources == ["arn:aws:ec2:eu-west-1:123456789012:instance/i-1234567890abcdef0"]
    assert parsed.time == "1970-01-01T00:00:00Z"
    assert parsed.region == "eu-west-1"


def test_ec2_has_exactly_six_instance_states() -> None:
    assert set(EC2_INSTANCE_STATES) == {
        "pending",
        "running",
        "stopping",
        "stopped",
        "shutting-down",
        "terminated",
    }


@pytest.mark.parametrize(
    ("instance_id", "state"),
    [
        ("i-1234567890abcdef0", "started"),
        ("i-1234567890abcdef0", "Running"),
        ("i-123", "running"),
        ("vol-1234567890abcdef0", "running"),
    ],
)
def test_ec2_state_change_refuses_unknown_states_and_ids(instance_id: str, state: Any) -> None:
    with pytest.raises(ValueError):
        ec2_state_change_event(instance_id, state)


@pytest.mark.parametrize(
    ("detail_type", "source", "account"),
    [("", "com.example", "123456789012"), ("T", "", "123456789012"), ("T", "s", "12345")],
)
def test_eventbridge_event_refuses_an_incomplete_envelope(
    detail_type: str, source: str, account: str
) -> None:
    with pytest.raises(ValueError):
        eventbridge_event(detail_type, source, {}, account=account)


# --- API Gateway REST (payload 1.0) ---------------------------------------------------------


def test_rest_event_has_the_proxy_integration_shape() -> None:
    event = api_gateway_rest_event(
        "get",
        "/items/42",
        path_parameters={"id": "42"},
        query={"tag": ["a", "b"], "limit": "5"},
        headers={"Accept": "application/json", "X-Trace": ["1", "2"]},
        stage="test",
        request_time=1_583_349_317.135,
    )

    assert set(event) == {
        "resource",
        "path",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "requestContext",
        "body",
        "isBase64Encoded",
    }
    assert (event["resource"], event["path"], event["httpMethod"]) == (
        "/items/{id}",
        "/items/42",
        "GET",
    )
    assert event["queryStringParameters"] == {"tag": "b", "limit": "5"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "limit": ["5"]}
    assert event["headers"]["X-Trace"] == "2"
    assert event["multiValueHeaders"]["X-Trace"] == ["1", "2"]
    assert event["headers"]["Accept"] == "application/json"
    assert event["headers"]["Host"] == "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    assert (event["body"], event["isBase64Encoded"], event["stageVariables"]) == (None, False, None)
    context = event["requestContext"]
    assert context["path"] == "/test/items/42"
    assert context["resourcePath"] == "/items/{id}"
    assert context["stage"] == "test"
    assert context["requestTime"] == "04/Mar/2020:19:15:17 +0000"
    assert context["requestTimeEpoch"] == 1_583_349_317_135
    assert context["identity"]["sourceIp"] == "198.51.100.7"
    assert "clientCert" not in context["identity"]
    assert "authorizer" not in context


def test_rest_event_leaves_absent_parts_null() -> None:
    event = api_gateway_rest_event("DELETE", "/items")

    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["resource"] == "/items"


def test_rest_event_resources_of_greedy_and_explicit_parameters() -> None:
    greedy = api_gateway_rest_event("GET", "/files/a/b.txt", path_parameters={"proxy": "a/b.txt"})
    explicit = api_gateway_rest_event(
        "GET", "/u/7", resource="/u/{userId}", path_parameters={"userId": "7"}
    )

    assert greedy["resource"] == "/files/{proxy+}"
    assert explicit["resource"] == "/u/{userId}"


def test_rest_event_bodies() -> None:
    as_json = api_gateway_rest_event("POST", "/a", body={"n": 1})
    as_bytes = api_gateway_rest_event("POST", "/a", body=b"\x89PNG")
    as_text = api_gateway_rest_event("POST", "/a", body="n=1", headers={"content-type": "text/x"})

    assert (as_json["body"], as_json["isBase64Encoded"]) == ('{"n":1}', False)
    assert as_json["headers"]["Content-Type"] == "application/json"
    assert (as_bytes["body"], as_bytes["isBase64Encoded"]) == ("iVBORw==", True)
    assert as_text["body"] == "n=1"
    assert as_text["headers"]["content-type"] == "text/x"
    assert "Content-Type" not in as_text["headers"]


def test_rest_event_parses_as_powertools_reads_it() -> None:
    cert = client_certificate(
        subject_dn="CN=device-7",
        issuer_dn="CN=Fleet CA",
        serial_number="0a:0b",
        not_before=1_559_046_602,
        not_after=1_628_156_164,
    )
    event = api_gateway_rest_event(
        "POST",
        "/orders/o-1",
        path_parameters={"orderId": "o-1"},
        query={"v": ["1", "2"]},
        headers={"X-Api-Version": "3"},
        body={"qty": 2},
        stage="prod",
        stage_variables={"table": "orders"},
        client_cert=cert,
        authorizer={"claims": {"sub": "user-1"}, "scopes": None},
    )
    parsed = APIGatewayProxyEvent(event)

    assert parsed.http_method == "POST"
    assert parsed.path == "/orders/o-1"
    assert parsed.resource == "/orders/{orderId}"
    assert parsed.path_parameters == {"orderId": "o-1"}
    assert parsed.query_string_parameters == {"v": "2"}
    assert parsed.multi_value_query_string_parameters == {"v": ["1", "2"]}
    assert parsed.headers["x-api-version"] == "3"
    assert parsed.json_body == {"qty": 2}
    assert parsed.stage_variables == {"table": "orders"}
    assert parsed.request_context.stage == "prod"
    assert parsed.request_context.authorizer.claims == {"sub": "user-1"}
    client_cert = parsed.request_context.identity.client_cert
    assert client_cert is not None
    assert client_cert.client_cert_pem == cert["clientCertPem"]
    assert client_cert.client_cert_pem.startswith("-----BEGIN CERTIFICATE-----\n")
    assert client_cert.subject_dn == "CN=device-7"
    assert client_cert.issuer_dn == "CN=Fleet CA"
    assert client_cert.serial_number == "0a:0b"
    assert client_cert.validity_not_before == "May 28 12:30:02 2019 GMT"
    assert client_cert.validity_not_after == "Aug  5 09:36:04 2021 GMT"


def test_rest_binary_body_decodes_with_powertools() -> None:
    parsed = APIGatewayProxyEvent(api_gateway_rest_event("PUT", "/blob", body=b"\x00\x01"))

    assert parsed.is_base64_encoded is True
    assert parsed.body is not None and _b64decode(parsed.body) == b"\x00\x01"


@pytest.mark.parametrize(
    ("method", "path", "options", "error"),
    [
        ("FETCH", "/a", {}, ValueError),
        ("GET", "a", {}, ValueError),
        ("GET", "/a/1", {"path_parameters": {"id": "2"}}, ValueError),
        ("GET", "/a", {"client_cert": {"clientCertPem": "x"}}, ValueError),
        ("GET", "/a", {"client_cert": {**client_certificate(), "validity": {}}}, ValueError),
        ("GET", "/a", {"headers": {"X-N": 1}}, TypeError),
        ("GET", "/a", {"query": {"q": []}}, TypeError),
    ],
)
def test_rest_event_refuses_malformed_requests(
    method: str, path: str, options: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        api_gateway_rest_event(method, path, **options)


# --- API Gateway HTTP API (payload 2.0) -----------------------------------------------------


def test_http_event_has_the_payload_2_shape() -> None:
    event = api_gateway_http_event(
        "post",
        "/my/path",
        query={"parameter1": ["value1", "value2"], "parameter2": "a b"},
        headers={"Header1": "value1", "Header2": ["value1", "value2"]},
        cookies=["cookie1", "cookie2"],
        body="Hello from Lambda",
        request_time=1_583_348_638.39,
    )

    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /my/path"
    assert event["rawPath"] == "/my/path"
    assert event["rawQueryString"] == "parameter1=value1&parameter1=value2&parameter2=a+b"
    assert event["cookies"] == ["cookie1", "cookie2"]
    assert event["headers"]["header1"] == "value1"
    assert event["headers"]["header2"] == "value1,value2"
    assert all(name == name.lower() for name in event["headers"])
    assert event["queryStringParameters"] == {"parameter1": "value1,value2", "parameter2": "a b"}
    assert (event["body"], event["isBase64Encoded"]) == ("Hello from Lambda", False)
    assert "pathParameters" not in event
    assert "stageVariables" not in event
    assert "multiValueHeaders" not in event
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/my/path",
        "protocol": "HTTP/1.1",
        "sourceIp": "198.51.100.7",
        "userAgent": "lambda-blueprints-test/1.0",
    }
    assert context["stage"] == "$default"
    assert context["routeKey"] == "POST /my/path"
    assert context["time"] == "04/Mar/2020:19:03:58 +0000"
    assert context["timeEpoch"] == 1_583_348_638_390
    assert "authentication" not in context


def test_http_event_without_query_body_or_cookies() -> None:
    event = api_gateway_http_event("GET", "/")

    assert event["rawQueryString"] == ""
    assert {"queryStringParameters", "body", "cookies"}.isdisjoint(event)
    assert event["isBase64Encoded"] is False


def test_http_event_of_a_named_stage_prefixes_the_raw_path() -> None:
    event = api_gateway_http_event(
        "GET", "/items/9", stage="dev", path_parameters={"id": "9"}, cookies={"session": "s1"}
    )

    assert event["rawPath"] == "/dev/items/9"
    assert event["requestContext"]["http"]["path"] == "/dev/items/9"
    assert event["requestContext"]["stage"] == "dev"
    assert event["routeKey"] == "GET /items/{id}"
    assert event["cookies"] == ["session=s1"]


def test_http_event_parses_as_powertools_reads_it() -> None:
    cert = client_certificate(subject_dn="CN=sensor", serial_number="01:02:03")
    event = api_gateway_http_event(
        "PUT",
        "/things/t-1",
        route_key="PUT /things/{thingId}",
        path_parameters={"thingId": "t-1"},
        query={"dry": "true"},
        headers={"X-Request": "r"},
        cookies=["a=1"],
        body=b"\x00raw",
        client_cert=cert,
        authorizer={"jwt": {"claims": {"sub": "u-9"}, "scopes": ["write"]}},
        stage_variables={"mode": "test"},
    )
    parsed = APIGatewayProxyEventV2(event)

    assert parsed.version == "2.0"
    assert parsed.route_key == "PUT /things/{thingId}"
    assert parsed.raw_path == "/things/t-1"
    assert parsed.raw_query_string == "dry=true"
    assert parsed.query_string_parameters == {"dry": "true"}
    assert parsed.path_parameters == {"thingId": "t-1"}
    assert parsed.cookies == ["a=1"]
    assert parsed.headers["x-request"] == "r"
    assert parsed.http_method == "PUT"
    assert parsed.is_base64_encoded is True
    assert parsed.body is not None and _b64decode(parsed.body) == b"\x00raw"
    assert parsed.stage_variables == {"mode": "test"}
    assert parsed.request_context.http.method == "PUT"
    assert parsed.request_context.http.source_ip == "198.51.100.7"
    assert parsed.request_context.authorizer.jwt_claim == {"sub": "u-9"}
    assert parsed.request_context.authorizer.jwt_scopes == ["write"]
    authentication = parsed.request_context.authentication
    assert authentication is not None
    assert authentication.client_cert_pem == cert["clientCertPem"]
    assert authentication.subject_dn == "CN=sensor"
    assert authentication.serial_number == "01:02:03"
    assert authentication.validity_not_before == "Jan  1 00:00:00 2025 GMT"


def test_http_event_json_body_sets_the_content_type() -> None:
    parsed = APIGatewayProxyEventV2(api_gateway_http_event("POST", "/a", body={"k": ["v"]}))

    assert parsed.json_body == {"k": ["v"]}
    assert parsed.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("method", "path", "options", "error"),
    [
        ("TRACE", "/a", {}, ValueError),
        ("GET", "", {}, ValueError),
        ("GET", "/a", {"headers": {"Cookie": "a=1"}}, ValueError),
        ("GET", "/a", {"path_parameters": {"id": "1"}}, ValueError),
        ("GET", "/a", {"client_cert": {"subjectDN": "CN=x"}}, ValueError),
        ("GET", "/a", {"cookies": [1]}, TypeError),
    ],
)
def test_http_event_refuses_malformed_requests(
    method: str, path: str, options: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        api_gateway_http_event(method, path, **options)


# --- Firehose -------------------------------------------------------------------------------


def test_firehose_event_has_the_transformation_shape() -> None:
    event = firehose_transformation_event(
        b"\x01",
        "text",
        {"k": "v"},
        delivery_stream_arn="arn:aws:firehose:us-east-2:123456789012:deliverystream/d",
        arrival_time=1_507_217_624.302,
        invocation_id="inv-1",
    )

    assert list(event) == ["invocationId", "deliveryStreamArn", "region", "records"]
    assert (event["invocationId"], event["region"]) == ("inv-1", "us-east-2")
    records = event["records"]
    assert [_b64decode(r["data"]) for r in records] == [b"\x01", b"text", b'{"k":"v"}']
    assert all(r["approximateArrivalTimestamp"] == 1_507_217_624_302 for r in records)
    assert len({r["recordId"] for r in records}) == 3
    assert all(set(r) == {"recordId", "approximateArrivalTimestamp", "data"} for r in records)


def test_firehose_event_from_a_kinesis_source_has_record_metadata() -> None:
    event = firehose_transformation_event(b"a", b"b", source_kinesis_stream_arn=STREAM)
    parsed = KinesisFirehoseEvent(event)

    assert parsed.source_kinesis_stream_arn == STREAM
    first, second = parsed.records
    assert first.metadata is not None and second.metadata is not None
    assert first.metadata.shard_id.startswith("shardId-")
    assert first.metadata.partition_key
    assert first.metadata.approximate_arrival_timestamp == first.approximate_arrival_timestamp
    assert int(first.metadata.sequence_number) < int(second.metadata.sequence_number)
    assert first.metadata.subsequence_number == 0


def test_firehose_event_parses_as_powertools_reads_it() -> None:
    event = firehose_transformation_event({"n": 1}, "two")
    parsed = KinesisFirehoseEvent(event)
    first, second = parsed.records

    assert parsed.invocation_id == event["invocationId"]
    assert parsed.delivery_stream_arn == event["deliveryStreamArn"]
    assert parsed.region == "us-east-1"
    assert parsed.source_kinesis_stream_arn is None
    assert first.data_as_json == {"n": 1}
    assert second.data_as_text == "two"
    assert first.metadata is None


@pytest.mark.parametrize(
    ("records", "options"),
    [
        ((), {}),
        ((b"x" * (1000 * 1024 + 1),), {}),
        ((b"x",), {"delivery_stream_arn": "arn:aws:kinesis:us-east-1:1:stream/s"}),
        ((b"x",), {"source_kinesis_stream_arn": "arn:aws:firehose:us-east-1:1:x"}),
    ],
)
def test_firehose_event_refuses_invalid_input(
    records: tuple[bytes, ...], options: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        firehose_transformation_event(*records, **options)


def _ok(record: dict[str, Any], data: bytes = b"out") -> dict[str, Any]:
    return {"recordId": record["recordId"], "result": "Ok", "data": base64.b64encode(data).decode()}


def test_firehose_response_built_with_powertools_is_valid() -> None:
    event = firehose_transformation_event(b"a", b"b", b"c")
    response = KinesisFirehoseDataTransformationResponse()
    for record, result in zip(
        KinesisFirehoseEvent(event).records, ("Ok", "Dropped", "ProcessingFailed"), strict=True
    ):
        response.add_record(
            KinesisFirehoseDataTransformationRecord(
                record_id=record.record_id,
                result=result,  # type: ignore[arg-type]
                data=record.data,
                metadata=KinesisFirehoseDataTransformationRecordMetadata({"day": "01"}),
            )
        )

    validate_firehose_response(event, response.asdict())


def test_firehose_response_may_answer_in_any_order_and_with_empty_data() -> None:
    event = firehose_transformation_event(b"a", b"b")
    first, second = event["records"]
    dropped = {"recordId": first["recordId"], "result": "Dropped", "data": ""}

    validate_firehose_response(event, {"records": [_ok(second), dropped]})


Breach = Callable[[dict[str, Any], dict[str, Any]], Any]


def _with(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**_ok(record), **changes}


@pytest.mark.parametrize(
    ("breach", "message"),
    [
        pytest.param(lambda a, b: None, "records list", id="not-an-object"),
        pytest.param(lambda a, b: {"records": {}}, "records list", id="records-not-a-list"),
        pytest.param(lambda a, b: {"records": [_ok(a)]}, "leaves out", id="missing"),
        pytest.param(
            lambda a, b: {"records": [_ok(a), _ok(b), _ok(a)]}, "second time", id="duplicate"
        ),
        pytest.param(
            lambda a, b: {"records": [_ok(a), _with(b, recordId="nope")]},
            "not in the event",
            id="unknown-id",
        ),
        pytest.param(lambda a, b: {"records": [_ok(a), "x"]}, "not an object", id="record-str"),
        pytest.param(
            lambda a, b: {"records": [_ok(a), _with(b, result="OK")]}, "result", id="bad-result"
        ),
        pytest.param(
            lambda a, b: {"records": [_ok(a), _with(b, data="not base64!")]},
            "base64",
            id="bad-base64",
        ),
        pytest.param(
            lambda a, b: {"records": [_ok(a), _with(b, data=b"eA==")]},
            "base64 data",
            id="data-bytes",
        ),
        pytest.param(
            lambda a, b: {"records": [_ok(a), {"recordId": b["recordId"], "result": "Ok"}]},
            "data",
            id="no-data",
        ),
        pytest.param(
            lambda a, b: {"records": [_ok(a), _ok(b, b"x" * (1000 * 1024 + 1))]},
            "1,000 KiB",
            id="record-too-large",
        ),
        pytest.param(
            lambda a, b: {"records": [_ok(a), _with(b, metadata={"partitionKeys": {"k": 1}})]},
            "partitionKeys",
            id="partition-key-not-str",
        ),
        pytest.param(
            lambda a, b: {"records": [_ok(a), _with(b, metadata="x")]},
            "metadata is not an object",
            id="metadata-not-object",
        ),
        pytest.param(
            lambda a, b: {
                "records": [_ok(a), _with(b, metadata={"otfMetadata": {"operation": None}})]
            },
            "otfMetadata",
            id="otf-metadata-not-str",
        ),
    ],
)
def test_firehose_response_breaches_are_reported(breach: Breach, message: str) -> None:
    event = firehose_transformation_event(b"a", b"b")
    first, second = event["records"]

    with pytest.raises(ValueError, match=message):
        validate_firehose_response(event, breach(first, second))


def test_firehose_response_metadata_may_route_to_iceberg_tables_alone() -> None:
    event = firehose_transformation_event(b"a")
    otf = {"destinationDatabaseName": "db", "destinationTableName": "t", "operation": "insert"}
    response = {"records": [_with(event["records"][0], metadata={"otfMetadata": otf})]}

    validate_firehose_response(event, response)


def test_firehose_response_over_six_mb_is_refused() -> None:
    event = firehose_transformation_event(*[b"in"] * 7)
    big = b"x" * (1000 * 1024)
    response = {"records": [_ok(record, big) for record in event["records"]]}

    with pytest.raises(ValueError, match="6 MB"):
        validate_firehose_response(event, response)
    response["records"] = [_ok(r, big if i < 4 else b"s") for i, r in enumerate(event["records"])]
    validate_firehose_response(event, response)


# --- S3 -------------------------------------------------------------------------------------


def test_s3_event_has_the_notification_shape() -> None:
    event = s3_event(
        "photos",
        "2024/red flower+1.jpg",
        size=1024,
        etag="d41d8cd98f00b204e9800998ecf8427e",
        version_id="096fKKXTRTtl3on89fVO.nfljtsv6qko",
        sequencer="0055AED6DCD90281E5",
        region="us-west-2",
        event_time=0.5,
    )
    (record,) = event["Records"]

    assert record["eventVersion"] == "2.1"
    assert record["eventSource"] == "aws:s3"
    assert record["awsRegion"] == "us-west-2"
    assert record["eventTime"] == "1970-01-01T00:00:00.500Z"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["userIdentity"]["principalId"].startswith("AWS:")
    assert set(record["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}
    assert record["s3"]["s3SchemaVersion"] == "1.0"
    assert record["s3"]["bucket"]["arn"] == "arn:aws:s3:::photos"
    assert record["s3"]["object"] == {
        "key": "2024/red+flower%2B1.jpg",
        "size": 1024,
        "eTag": "d41d8cd98f00b204e9800998ecf8427e",
        "versionId": "096fKKXTRTtl3on89fVO.nfljtsv6qko",
        "sequencer": "0055AED6DCD90281E5",
    }


def test_s3_defaults_sequencers_and_leaves_out_absent_versions() -> None:
    first = s3_event("bucket", "a")["Records"][0]["s3"]["object"]
    second = s3_event("bucket", "a")["Records"][0]["s3"]["object"]
    tagged = s3_event("bucket", "a", event_name="ObjectTagging:Put")["Records"][0]["s3"]["object"]

    assert "versionId" not in first
    assert int(first["sequencer"], 16) < int(second["sequencer"], 16)
    assert len(first["eTag"]) == 32
    assert "sequencer" not in tagged


def test_s3_removal_events_carry_no_size_or_etag() -> None:
    removed = s3_event("bucket", "gone.txt", event_name="ObjectRemoved:Delete", size=9)

    assert set(removed["Records"][0]["s3"]["object"]) == {"key", "sequencer"}


def test_s3_events_combine() -> None:
    first, second = s3_event("bucket", "a"), s3_event("bucket", "b")
    combined = s3_event_for(first, second["Records"][0])

    assert [r["s3"]["object"]["key"] for r in combined["Records"]] == ["a", "b"]


def test_s3_event_parses_as_powertools_reads_it() -> None:
    key = "reports/Q1 2024 (final)+v2.pdf"
    event = s3_event("reports-bucket", key, size=2048, version_id="v1")
    parsed = S3Event(event)

    assert parsed.bucket_name == "reports-bucket"
    assert parsed.object_key == key
    record = parsed.record
    assert record.event_name == "ObjectCreated:Put"
    assert record.event_version == "2.1"
    assert record.s3.get_object.size == 2048
    assert record.s3.get_object.version_id == "v1"
    assert record.s3.get_object.etag == event["Records"][0]["s3"]["object"]["eTag"]
    assert record.s3.bucket.arn == "arn:aws:s3:::reports-bucket"


@pytest.mark.parametrize(
    ("bucket", "key", "options"),
    [
        ("Bucket", "k", {}),
        ("ab", "k", {}),
        ("a..b", "k", {}),
        ("bucket", "", {}),
        ("bucket", "k" * 1025, {}),
        ("bucket", "k", {"event_name": "s3:ObjectCreated:Put"}),
        ("bucket", "k", {"size": -1}),
    ],
)
def test_s3_event_refuses_invalid_input(bucket: str, key: str, options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        s3_event(bucket, key, **options)


# --- S3 Object Lambda -----------------------------------------------------------------------

INPUT_URL = "https://ap-111122223333.s3-accesspoint.us-east-1.amazonaws.com/doc.txt?X-Amz-S=1"
USER_URL = "https://olap-111122223333.s3-object-lambda.us-east-1.amazonaws.com/doc.txt"


def test_object_lambda_event_has_the_get_object_shape() -> None:
    event = s3_object_lambda_event(
        input_s3_url=INPUT_URL,
        output_route="io-use1-001",
        output_token="OutputToken",
        user_request_url=USER_URL,
        user_request_headers={"host": "override.example", "Accept-Encoding": "identity"},
    )

    assert list(event) == [
        "xAmzRequestId",
        "getObjectContext",
        "configuration",
        "userRequest",
        "userIdentity",
        "protocolVersion",
    ]
    assert event["protocolVersion"] == "1.00"
    assert event["getObjectContext"] == {
        "inputS3Url": INPUT_URL,
        "outputRoute": "io-use1-001",
        "outputToken": "OutputToken",
    }
    assert event["configuration"]["payload"] == ""
    assert event["userRequest"]["headers"] == {
        "host": "override.example",
        "Accept-Encoding": "identity",
    }
    assert set(event["userIdentity"]) >= {"type", "principalId", "arn", "accountId"}


def test_object_lambda_event_parses_as_powertools_reads_it() -> None:
    event = s3_object_lambda_event(
        input_s3_url=INPUT_URL,
        output_route="route-7",
        output_token="token-7",
        user_request_url=USER_URL,
        payload={"redact": ["email"]},
        principal_id="AIDAUSER",
        user_arn="arn:aws:iam::111122223333:user/ana",
        request_id="req-1",
    )
    parsed = S3ObjectLambdaEvent(event)

    assert parsed.request_id == "req-1"
    assert parsed.request_route == "route-7"
    assert parsed.request_token == "token-7"
    assert parsed.input_s3_url == INPUT_URL
    assert json.loads(parsed.configuration.payload) == {"redact": ["email"]}
    assert parsed.configuration.access_point_arn.startswith("arn:aws:s3-object-lambda:")
    assert parsed.user_request.url == USER_URL
    assert parsed.user_request.headers["host"] == (
        "olap-111122223333.s3-object-lambda.us-east-1.amazonaws.com"
    )
    assert parsed.user_identity.principal_id == "AIDAUSER"
    assert parsed.user_identity.account_id == "111122223333"
    assert parsed.protocol_version == "1.00"


@pytest.mark.parametrize(
    "options",
    [
        {"input_s3_url": "http://insecure.example/k"},
        {"user_request_url": "olap.example/k"},
        {"access_point_arn": "arn:aws:s3:us-east-1:123456789012:accesspoint/plain"},
        {"supporting_access_point_arn": "arn:aws:s3:us-east-1:123456789012:bucket/b"},
    ],
)
def test_object_lambda_event_refuses_invalid_input(options: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {
        "input_s3_url": INPUT_URL,
        "output_route": "r",
        "output_token": "t",
        "user_request_url": USER_URL,
    }
    arguments.update(options)

    with pytest.raises(ValueError):
        s3_object_lambda_event(**arguments)


# --- CloudFormation -------------------------------------------------------------------------


def test_create_request_has_cloudformations_shape() -> None:
    event = cloudformation_custom_resource_event(
        "Create",
        {"BucketName": "b", "Retain": True, "Count": 3, "Nested": {"Ratio": 0.5}},
        logical_resource_id="Seed",
        resource_type="Custom::Seed",
        request_id="r-1",
    )

    assert event == {
        "RequestType": "Create",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:custom-resource",
        "ResponseURL": event["ResponseURL"],
        "StackId": event["StackId"],
        "RequestId": "r-1",
        "LogicalResourceId": "Seed",
        "ResourceType": "Custom::Seed",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:custom-resource",
            "BucketName": "b",
            "Retain": "true",
            "Count": "3",
            "Nested": {"Ratio": "0.5"},
        },
    }
    assert event["ResponseURL"].startswith("https://")
    assert event["StackId"].startswith("arn:aws:cloudformation:us-east-1:123456789012:stack/")


def test_update_and_delete_requests_carry_their_ids_and_old_properties() -> None:
    update = cloudformation_custom_resource_event(
        "Update", {"Size": 2}, old_resource_properties={"Size": 1}, physical_resource_id="p-1"
    )
    delete = cloudformation_custom_resource_event("Delete", {"Size": 2}, physical_resource_id="p-1")

    assert update["PhysicalResourceId"] == delete["PhysicalResourceId"] == "p-1"
    assert update["OldResourceProperties"] == {
        "ServiceToken": update["ServiceToken"],
        "Size": "1",
    }
    assert "OldResourceProperties" not in delete


def test_property_types_can_be_kept() -> None:
    event = cloudformation_custom_resource_event(
        "Create", {"Count": 3, "On": False}, stringify_values=False
    )

    assert event["ResourceProperties"]["Count"] == 3
    assert event["ResourceProperties"]["On"] is False


@pytest.mark.parametrize(
    ("request_type", "options", "message"),
    [
        ("Update", {"physical_resource_id": "p"}, "OldResourceProperties"),
        ("Update", {"old_resource_properties": {}}, "PhysicalResourceId"),
        ("Delete", {}, "PhysicalResourceId"),
        ("Create", {"physical_resource_id": "p"}, "no PhysicalResourceId"),
        ("Delete", {"physical_resource_id": "p", "old_resource_properties": {}}, "only Update"),
        ("Remove", {}, "Create, Update or Delete"),
        ("Create", {"resource_type": "MyResource"}, "resource type"),
        ("Create", {"resource_type": "Custom::" + "x" * 53}, "resource type"),
        ("Create", {"resource_type": "Custom::has space"}, "resource type"),
        ("Create", {"stack_id": "arn:aws:s3:::bucket"}, "stack"),
    ],
)
def test_custom_resource_requests_refuse_impossible_combinations(
    request_type: Any, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        cloudformation_custom_resource_event(request_type, {}, **options)


def test_a_different_service_token_in_the_properties_is_refused() -> None:
    with pytest.raises(ValueError, match="ServiceToken"):
        cloudformation_custom_resource_event("Create", {"ServiceToken": "arn:aws:sns:x"})


def test_custom_resource_event_parses_as_powertools_reads_it() -> None:
    event = cloudformation_custom_resource_event(
        "Update",
        {"Size": 2},
        old_resource_properties={"Size": 1},
        physical_resource_id="p-9",
        logical_resource_id="Thing",
        resource_type="AWS::CloudFormation::CustomResource",
        service_token="arn:aws:lambda:eu-west-1:111122223333:function:provider",
        request_id="r-9",
    )
    parsed = CloudFormationCustomResourceEvent(event)

    assert parsed.request_type == "Update"
    assert parsed.service_token == "arn:aws:lambda:eu-west-1:111122223333:function:provider"
    assert parsed.request_id == "r-9"
    assert parsed.physical_resource_id == "p-9"
    assert parsed.logical_resource_id == "Thing"
    assert parsed.resource_type == "AWS::CloudFormation::CustomResource"
    assert parsed.resource_properties["Size"] == "2"
    assert parsed.resource_properties["ServiceToken"] == parsed.service_token
    assert parsed.old_resource_properties["Size"] == "1"
    assert parsed.response_url == event["ResponseURL"]
    assert parsed.stack_id == event["StackId"]
