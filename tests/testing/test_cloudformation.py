"""LocalCloud on hand-written templates: intrinsics, isolation, clock, validation."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from lambda_blueprints.testing import LocalCloud
from lambda_blueprints.testing.cloud import DeployedStack, _Deployment
from lambda_blueprints.testing.streams import InvalidParameterValueError


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as local:
        yield local


def deploy(cloud: LocalCloud, template: dict[str, Any], tmp_path: Path) -> DeployedStack:
    return _Deployment(cloud, "T", template, tmp_path, {}).run()


def inline_function(code: str, **environment: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Handler": "index.handler",
            "Runtime": "python3.14",
            "Code": {"ZipFile": textwrap.dedent(code)},
            "Environment": {"Variables": environment},
        },
    }


def test_intrinsics_resolve_as_cloudformation_does(cloud: LocalCloud, tmp_path: Path) -> None:
    template = {
        "Conditions": {"No": {"Fn::Equals": ["a", "b"]}},
        "Mappings": {"Sizes": {"us-east-1": {"shards": "2"}}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    }
    deployment = _Deployment(cloud, "T", template, tmp_path, {})
    deployment.run()

    resolve = deployment.resolve
    assert resolve({"Fn::Sub": "${!Literal}-${AWS::Region}"}) == "${Literal}-us-east-1"
    assert resolve({"Fn::Sub": "${Queue.QueueName}"}).startswith("T-Queue-")
    assert resolve({"Fn::FindInMap": ["Sizes", {"Ref": "AWS::Region"}, "shards"]}) == "2"
    assert resolve({"Fn::Base64": "abc"}) == "YWJj"
    assert resolve({"Fn::Join": ["-", ["x", True, 1]]}) == "x-true-1"
    assert resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    no_value = {"Fn::If": ["No", "x", {"Ref": "AWS::NoValue"}]}
    assert resolve({"A": no_value, "L": [no_value, "kept"]}) == {"L": ["kept"]}
    with pytest.raises(NotImplementedError, match="Fn::ImportValue"):
        resolve({"Fn::ImportValue": "shared-output"})


def test_placeholders_look_like_the_real_ids(cloud: LocalCloud, tmp_path: Path) -> None:
    stack = deploy(
        cloud,
        {
            "Resources": {
                "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
                "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
            }
        },
        tmp_path,
    )

    assert stack.attribute("Role", "Arn").startswith("arn:aws:iam::123456789012:role/T-Role-")
    assert stack.attribute("Key", "Arn").startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert ("T", "Role", "AWS::IAM::Role") in cloud.skipped


def test_kms_keys_are_created_in_moto_with_their_spec_and_usage(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    stack = deploy(
        cloud,
        {
            "Resources": {
                "Tokens": {
                    "Type": "AWS::KMS::Key",
                    "Properties": {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
                },
            }
        },
        tmp_path,
    )
    kms = boto3.client("kms")
    key = stack.attribute("Tokens", "Arn")

    metadata = kms.describe_key(KeyId=key)["KeyMetadata"]
    mac = kms.generate_mac(KeyId=key, Message=b"page", MacAlgorithm="HMAC_SHA_256")["Mac"]

    assert metadata["KeyId"] == stack.physical_id("Tokens")
    assert (metadata["KeySpec"], metadata["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    assert kms.verify_mac(KeyId=key, Message=b"page", MacAlgorithm="HMAC_SHA_256", Mac=mac)[
        "MacValid"
    ]
    assert ("T", "Tokens", "AWS::KMS::Key") not in cloud.skipped


def test_invocations_do_not_leak_environment_changes(cloud: LocalCloud, tmp_path: Path) -> None:
    setter = """
        import os
        def handler(event, context):
            os.environ["CACHE_DIR"] = "/tmp/a"
            return os.environ["OWN"]
    """
    reader = """
        import os
        def handler(event, context):
            return os.environ.get("CACHE_DIR")
    """
    stack = deploy(
        cloud,
        {
            "Resources": {
                "Setter": inline_function(setter, OWN="setter"),
                "Reader": inline_function(reader),
            }
        },
        tmp_path,
    )

    assert cloud.invoke(stack.physical_id("Setter"), {}).payload == "setter"
    assert cloud.invoke(stack.physical_id("Reader"), {}).payload is None
    assert "CACHE_DIR" not in os.environ
    assert "OWN" not in os.environ


def test_functions_of_one_asset_keep_their_own_module_state(tmp_path: Path) -> None:
    asset = tmp_path / "asset.shared"
    asset.mkdir()
    (asset / "settings.py").write_text("import os\nTABLE = os.environ['TABLE']\n")
    (asset / "app.py").write_text(
        "import settings\n\ndef handler(event, context):\n    return settings.TABLE\n"
    )
    (tmp_path / "T.assets.json").write_text(
        json.dumps(
            {
                "files": {
                    "shared": {
                        "source": {"path": "asset.shared", "packaging": "zip"},
                        "destinations": {"d": {"objectKey": "shared.zip"}},
                    }
                }
            }
        )
    )

    def function(table: str) -> dict[str, Any]:
        return {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Handler": "app.handler",
                "Code": {"S3Bucket": "assets", "S3Key": "shared.zip"},
                "Environment": {"Variables": {"TABLE": table}},
            },
        }

    with LocalCloud() as cloud:
        stack = deploy(
            cloud, {"Resources": {"One": function("t-1"), "Two": function("t-2")}}, tmp_path
        )

        assert cloud.invoke(stack.physical_id("One"), {}).payload == "t-1"
        assert cloud.invoke(stack.physical_id("Two"), {}).payload == "t-2"
        assert cloud.invoke(stack.physical_id("One"), {}).payload == "t-1"
    assert "settings" not in __import__("sys").modules


def test_records_are_aged_on_the_local_clock(cloud: LocalCloud, tmp_path: Path) -> None:
    echo = "def handler(event, context):\n    return None\n"
    stack = deploy(
        cloud,
        {
            "Resources": {
                "Stream": {
                    "Type": "AWS::Kinesis::Stream",
                    "Properties": {"ShardCount": 1, "RetentionPeriodHours": 48},
                },
                "Echo": inline_function(echo),
                "Mapping": {
                    "Type": "AWS::Lambda::EventSourceMapping",
                    "Properties": {
                        "FunctionName": {"Ref": "Echo"},
                        "EventSourceArn": {"Fn::GetAtt": ["Stream", "Arn"]},
                        "StartingPosition": "TRIM_HORIZON",
                        "MaximumRecordAgeInSeconds": 60,
                    },
                },
            }
        },
        tmp_path,
    )
    (mapping,) = cloud.stream_mappings.values()
    assert mapping.source.retention_seconds == 48 * 3600

    cloud.clock.advance(25 * 3600)  # far from the wall clock moto stamps records with
    boto3.client("kinesis").put_record(
        StreamName=stack.physical_id("Stream"), Data=b"{}", PartitionKey="k"
    )
    cloud.run_until_idle()

    (invocation,) = cloud.log.invocations()
    arrival = invocation.event["Records"][0]["kinesis"]["approximateArrivalTimestamp"]
    assert arrival == pytest.approx(cloud.clock.now(), abs=1)
    assert cloud.log.failures() == []


def test_s3_on_failure_objects_are_keyed_by_mapping(cloud: LocalCloud, tmp_path: Path) -> None:
    failing = "def handler(event, context):\n    raise RuntimeError('no')\n"
    stack = deploy(
        cloud,
        {
            "Resources": {
                "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 1}},
                "Bucket": {"Type": "AWS::S3::Bucket"},
                "Failing": inline_function(failing),
                "Mapping": {
                    "Type": "AWS::Lambda::EventSourceMapping",
                    "Properties": {
                        "FunctionName": {"Ref": "Failing"},
                        "EventSourceArn": {"Fn::GetAtt": ["Stream", "Arn"]},
                        "StartingPosition": "TRIM_HORIZON",
                        "MaximumRetryAttempts": 0,
                        "DestinationConfig": {
                            "OnFailure": {"Destination": {"Fn::GetAtt": ["Bucket", "Arn"]}}
                        },
                    },
                },
            }
        },
        tmp_path,
    )
    boto3.client("kinesis").put_record(
        StreamName=stack.physical_id("Stream"), Data=b"{}", PartitionKey="k"
    )
    cloud.run_until_idle()

    (key,) = [
        o["Key"]
        for o in boto3.client("s3").list_objects_v2(Bucket=stack.physical_id("Bucket"))["Contents"]
    ]
    assert key.startswith(f"aws/lambda/{stack.physical_id('Mapping')}/shardId-000000000000/")
    body = json.loads(
        boto3.client("s3").get_object(Bucket=stack.physical_id("Bucket"), Key=key)["Body"].read()
    )
    assert body["payload"]["Records"][0]["kinesis"]["partitionKey"] == "k"


@pytest.mark.parametrize(
    ("source", "extra", "message"),
    [
        (
            "stream",
            {"DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:1:q"}}},
            "only an OnFailure destination",
        ),
        ("queue", {"MaximumRetryAttempts": 2}, "MaximumRetryAttempts apply to stream sources"),
    ],
)
def test_invalid_mapping_configurations_are_rejected(
    cloud: LocalCloud, tmp_path: Path, source: str, extra: dict[str, Any], message: str
) -> None:
    arn = (
        {"Fn::GetAtt": ["Stream", "Arn"]}
        if source == "stream"
        else {"Fn::GetAtt": ["Queue", "Arn"]}
    )
    properties = {"FunctionName": {"Ref": "Echo"}, "EventSourceArn": arn, **extra}
    if source == "stream":
        properties["StartingPosition"] = "LATEST"
    template = {
        "Resources": {
            "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 1}},
            "Queue": {"Type": "AWS::SQS::Queue"},
            "Echo": inline_function("def handler(event, context):\n    return None\n"),
            "Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": properties},
        }
    }
    with pytest.raises(InvalidParameterValueError, match=message):
        deploy(cloud, template, tmp_path)


def test_records_read_from_moto_have_lambda_shapes(cloud: LocalCloud, tmp_path: Path) -> None:
    echo = "def handler(event, context):\n    return None\n"
    function = inline_function(echo)
    function["Properties"]["Role"] = {"Fn::GetAtt": ["Role", "Arn"]}

    def mapping(source: str) -> dict[str, Any]:
        return {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "FunctionName": {"Ref": "Echo"},
                "EventSourceArn": {
                    "Fn::GetAtt": [source, "StreamArn" if source == "Table" else "Arn"]
                },
                "StartingPosition": "TRIM_HORIZON",
            },
        }

    stack = deploy(
        cloud,
        {
            "Resources": {
                "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
                "Echo": function,
                "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 1}},
                "Table": {
                    "Type": "AWS::DynamoDB::Table",
                    "Properties": {
                        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                        "BillingMode": "PAY_PER_REQUEST",
                        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                    },
                },
                "FromStream": mapping("Stream"),
                "FromTable": mapping("Table"),
            }
        },
        tmp_path,
    )
    boto3.client("kinesis").put_record(
        StreamName=stack.physical_id("Stream"), Data=b'{"a": 1}', PartitionKey="p"
    )
    boto3.client("dynamodb").put_item(
        TableName=stack.physical_id("Table"), Item={"id": {"S": "1"}, "b": {"B": b"\x01"}}
    )
    cloud.run_until_idle()

    records = {i.source: i.event["Records"][0] for i in cloud.log.invocations()}
    kinesis = records["kinesis"]
    assert kinesis["eventID"] == f"shardId-000000000000:{kinesis['kinesis']['sequenceNumber']}"
    assert kinesis["invokeIdentityArn"] == stack.attribute("Role", "Arn")
    assert kinesis["eventSource"] == "aws:kinesis"
    assert kinesis["eventSourceARN"] == stack.attribute("Stream", "Arn")
    dynamodb = records["dynamodb"]
    assert dynamodb["eventVersion"] == "1.1"
    assert len(dynamodb["eventID"]) == 32 and int(dynamodb["eventID"], 16) >= 0
    assert dynamodb["dynamodb"]["NewImage"]["b"] == {"B": "AQ=="}
    assert dynamodb["dynamodb"]["SizeBytes"] == len(
        json.dumps(
            {k: dynamodb["dynamodb"][k] for k in ("Keys", "NewImage")}, separators=(",", ":")
        )
    )
    assert dynamodb["dynamodb"]["ApproximateCreationDateTime"] == int(cloud.clock.now())
    assert dynamodb["eventSourceARN"] == stack.attribute("Table", "StreamArn")


def test_every_emulated_type_is_registered_by_exactly_one_service_module() -> None:
    from lambda_blueprints.testing import cloud as front
    from lambda_blueprints.testing._cloudformation import deployed_types, deploys

    old_emulated_types = {
        "AWS::DynamoDB::Table": "dynamodb",
        "AWS::DynamoDB::GlobalTable": "dynamodb",
        "AWS::SQS::Queue": "sqs",
        "AWS::SNS::Topic": "sns",
        "AWS::SNS::Subscription": "sns",
        "AWS::Kinesis::Stream": "kinesis",
        "AWS::Kinesis::StreamConsumer": "kinesis",
        "AWS::S3::Bucket": "s3",
        "Custom::S3BucketNotifications": "s3",
        "Custom::CDKBucketDeployment": "s3_deployment",
        "AWS::Lambda::Function": "lambda_",
        "AWS::Lambda::LayerVersion": "lambda_",
        "AWS::Lambda::EventInvokeConfig": "lambda_",
        "AWS::KMS::Key": "kms",
        "AWS::Cognito::UserPool": "cognito",
        "AWS::Cognito::UserPoolClient": "cognito",
        "AWS::Cognito::UserPoolDomain": "cognito",
        "AWS::CloudFront::Distribution": "cloudfront",
        "AWS::CloudFront::ResponseHeadersPolicy": "cloudfront",
        "AWS::Lambda::Version": "lambda_",
        "AWS::Lambda::Alias": "lambda_",
        "AWS::Lambda::EventSourceMapping": "event_source_mappings",
        "AWS::Events::Rule": "eventbridge",
        "AWS::KinesisFirehose::DeliveryStream": "firehose",
        "AWS::IoT::TopicRule": "iot",
        "AWS::EC2::VPC": "ec2",
        "AWS::EC2::Subnet": "ec2",
        "AWS::EC2::DHCPOptions": "ec2",
        "AWS::EC2::VPCDHCPOptionsAssociation": "ec2",
        "AWS::EC2::SecurityGroup": "ec2",
        "AWS::Route53::HostedZone": "route53",
        "AWS::Route53::RecordSet": "route53",
        **{
            f"AWS::ApiGateway::{kind}": "apigateway"
            for kind in (
                "RestApi",
                "Resource",
                "Method",
                "Deployment",
                "Stage",
                "RequestValidator",
                "Model",
                "Account",
                "GatewayResponse",
                "UsagePlan",
                "UsagePlanKey",
                "ApiKey",
                "Authorizer",
            )
        },
        **{
            f"AWS::ApiGatewayV2::{kind}": "apigatewayv2"
            for kind in ("Api", "Integration", "Route", "Stage", "Authorizer", "Deployment")
        },
    }
    registered = deployed_types()
    assert {kind: module.rsplit(".", 1)[-1] for kind, module in registered.items()} == (
        old_emulated_types
    )
    assert frozenset(old_emulated_types) == front.EMULATED_TYPES
    assert not front.EMULATED_TYPES & front.INERT_TYPES
    with pytest.raises(ValueError, match=r"AWS::SQS::Queue is deployed by .*sqs already"):
        deploys("AWS::SQS::Queue")(lambda stack, kind, logical_id, props: None)
