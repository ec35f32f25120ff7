"""Read a DynamoDB stream (real or moto) into records shaped as Lambda delivers them."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3

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


def read_stream_records(
    stream_arn: str,
    *,
    client: DynamoDBStreamsClient | None = None,
    limit_per_shard: int = 1000,
) -> list[dict[str, Any]]:
    """Return every record of the stream, shard by shard from the trim horizon.

    Records keep GetRecords' fields and gain ``eventSourceARN``, as in a Lambda event;
    binary values are base64 strings and ``ApproximateCreationDateTime`` is epoch seconds.
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
            for raw in page["Records"]:
                record: dict[str, Any] = _to_event_value(dict(raw))
                created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
                if isinstance(created, datetime):
                    record["dynamodb"]["ApproximateCreationDateTime"] = float(
                        int(created.timestamp())
                    )
                record["eventSourceARN"] = stream_arn
                records.append(record)
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return records
