import json

import boto3
from sales_app import stack

from lambda_blueprints.testing import LocalCloud

WINDOW = 30


def test_each_window_is_summed_once():
    with LocalCloud() as cloud:
        deployed = cloud.deploy(stack)
        kinesis = boto3.client("kinesis")
        stream = deployed.physical_id("OrderEvents")
        cloud.clock.advance(WINDOW - cloud.clock.now() % WINDOW)  # start of a window
        for sales in (10, 20, 12.5):
            data = json.dumps({"sales": sales}).encode()
            kinesis.put_record(StreamName=stream, Data=data, PartitionKey="orders")
        cloud.run_until_idle()  # moves the virtual clock past the window's end
        table = boto3.resource("dynamodb").Table(deployed.physical_id("SalesTotals/ResultsTable"))
        [total] = table.scan()["Items"]
        assert (total["part"], total["total"]) == ("final", 42.5)
