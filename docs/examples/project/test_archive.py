import gzip
import json

import boto3
from archive_app import stack

from lambda_blueprints.testing import LocalCloud


def test_stream_records_are_archived_as_json_lines():
    with LocalCloud() as cloud:
        deployed = cloud.deploy(stack)
        for lap in (1, 2):
            boto3.client("kinesis").put_record(
                StreamName=deployed.physical_id("RaceEvents"),
                Data=json.dumps({"racerId": "r-1", "lap": lap}).encode(),
                PartitionKey="r-1",
            )
        cloud.run_until_idle()
        cloud.flush_firehose()
        cloud.run_until_idle()  # the delivered object invokes the processor
        assert cloud.log.failures() == []
        bucket = boto3.resource("s3").Bucket(deployed.physical_id("RaceArchive/Bucket"))
        [archived] = [o for o in bucket.objects.all() if o.key.startswith("data/")]
        lines = gzip.decompress(archived.get()["Body"].read()).decode().splitlines()
        assert [json.loads(line)["lap"] for line in lines] == [1, 2]
