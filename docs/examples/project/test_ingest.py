import json

import boto3
from ingest_app import stack

from lambda_blueprints.testing import LocalCloud


def read_stream(name):
    kinesis = boto3.client("kinesis")
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    records = []
    for shard in shards:
        iterator = kinesis.get_shard_iterator(
            StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += kinesis.get_records(ShardIterator=iterator)["Records"]
    return [json.loads(r["Data"]) for r in records]


def test_device_messages_land_on_the_stream():
    with LocalCloud() as cloud:
        deployed = cloud.deploy(stack)
        cloud.iot_publish("alleycat-publish", {"racerId": "r-1", "output": 512})
        cloud.run_until_idle()
        stream = deployed.physical_id("RaceEvents/Stream")
        assert read_stream(stream) == [{"racerId": "r-1", "output": 512}]
