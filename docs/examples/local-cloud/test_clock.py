import json

import boto3
from app import ScoresStack
from aws_cdk import App

from lambda_blueprints.testing import Clock, LocalCloud

NEW_YEAR = 1_767_225_600  # 2026-01-01T00:00:00Z


def test_a_batch_waits_for_its_batching_window():
    with LocalCloud(clock=Clock(start=NEW_YEAR)) as cloud:
        stack = cloud.deploy(ScoresStack(App(), "Scores"))
        function = stack.physical_id("OnScore/Function")
        boto3.client("kinesis").put_record(
            StreamName=stack.physical_id("Events"),
            Data=json.dumps({"player": "ada", "points": 7}),
            PartitionKey="ada",
        )
        cloud.run_until_idle(advance_clock=False)
        assert cloud.log.invocations(function=function) == []  # the 5 s window is open
        cloud.clock.advance(5)
        cloud.run_until_idle(advance_clock=False)
        (invocation,) = cloud.log.invocations(function=function)
        assert invocation.at == NEW_YEAR + 5
        (record,) = invocation.event["Records"]
        assert record["kinesis"]["approximateArrivalTimestamp"] == NEW_YEAR
