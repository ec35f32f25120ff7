import json

import boto3
from app import ScoresStack
from aws_cdk import App

from lambda_blueprints.testing import LocalCloud


def test_scores_are_kept():
    with LocalCloud() as cloud:
        stack = cloud.deploy(ScoresStack(App(), "Scores"))
        boto3.client("kinesis").put_record(
            StreamName=stack.physical_id("Events"),
            Data=json.dumps({"player": "ada", "points": 7}),
            PartitionKey="ada",
        )
        cloud.run_until_idle()
        scores = boto3.resource("dynamodb").Table(stack.physical_id("Scores"))
        assert scores.get_item(Key={"player": "ada"})["Item"]["points"] == 7
