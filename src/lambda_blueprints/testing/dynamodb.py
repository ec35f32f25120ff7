"""DynamoDB in the local cloud: tables, and their streams read as Lambda delivers them.

``AWS::DynamoDB::Table`` and ``AWS::DynamoDB::GlobalTable`` are created in moto (a global
table as one table of the region). :func:`read_stream_records` reads a DynamoDB stream (real
or moto) into records shaped as Lambda delivers them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3

from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient


def _to_event_value(value: Any) -> Any:
    # The SDK decodes binary values to bytes; Lambda events carry them base64-encoded.
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: _to_event_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_event_value(v) for v in value]
    return value


def lambda_record(raw: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """Convert a GetRecords record to the form Lambda delivers.

    Binary values become base64, ``ApproximateCreationDateTime`` whole epoch seconds,
    ``eventVersion`` ``1.1``, ``eventID`` 32 hex characters and ``SizeBytes`` the UTF-8
    length of the compact JSON of the keys and images (AWS publishes no formula);
    ``eventSourceARN`` is added.
    """
    record: dict[str, Any] = _to_event_value(dict(raw))
    body = record.setdefault("dynamodb", {})
    created = body.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        body["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    elif isinstance(created, int | float):
        body["ApproximateCreationDateTime"] = float(int(created))
    sized = {k: body[k] for k in ("Keys", "NewImage", "OldImage") if k in body}
    body["SizeBytes"] = max(1, len(json.dumps(sized, separators=(",", ":")).encode()))
    event_id = str(record.get("eventID", ""))
    if len(event_id) != 32 or any(c not in "0123456789abcdef" for c in event_id):
        seed = f"{stream_arn}:{body.get('SequenceNumber')}".encode()
        record["eventID"] = hashlib.md5(seed, usedforsecurity=False).hexdigest()
    record["eventVersion"] = "1.1"
    record["eventSourceARN"] = stream_arn
    return record


def read_stream_records(
    stream_arn: str,
    *,
    client: DynamoDBStreamsClient | None = None,
    limit_per_shard: int = 1000,
) -> list[dict[str, Any]]:
    """Return every record of the stream, shard by shard from the trim horizon.

    Records are in the form Lambda delivers (see :func:`lambda_record`).
    """
    streams = client or boto3.client("dynamodbstreams")
    shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"].get("Shards", [])
    records: list[dict[str, Any]] = []
    for shard in shards:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn,
            ShardId=shard["ShardId"],
            ShardIteratorType="TRIM_HORIZON",
        ).get("ShardIterator")
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=limit_per_shard)
            records.extend(lambda_record(dict(raw), stream_arn) for raw in page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return records


@deploys("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")
def _table(stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
    name = props.get("TableName") or stack.name(logical_id)
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
    }
    if props.get("BillingMode") == "PAY_PER_REQUEST" or "ProvisionedThroughput" not in props:
        request["BillingMode"] = "PAY_PER_REQUEST"
    else:
        request["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(index_kind):
            request[index_kind] = [
                {k: v for k, v in index.items() if k != "ContributorInsightsSpecification"}
                for index in props[index_kind]
            ]
    view = props.get("StreamSpecification", {}).get("StreamViewType")
    if view:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
    dynamodb = stack.context.client("dynamodb")
    table = dynamodb.create_table(**request)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    attributes = {"Arn": table["TableArn"]}
    if table.get("LatestStreamArn"):
        attributes["StreamArn"] = table["LatestStreamArn"]
    return Resource(logical_id, kind, "", name, attributes)
