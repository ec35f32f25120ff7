import base64
import json
import os

import boto3

scores = boto3.resource("dynamodb").Table(os.environ["SCORES_TABLE"])


def main(event, context):
    for record in event["Records"]:
        score = json.loads(base64.b64decode(record["kinesis"]["data"]))
        if not isinstance(score.get("points"), int):
            raise ValueError(f"no points in {score}")
        scores.put_item(Item={"player": score["player"], "points": score["points"]})
