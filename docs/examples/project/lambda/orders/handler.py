import os

import boto3
from ulid import ULID

history = boto3.resource("dynamodb").Table(os.environ["HISTORY_TABLE"])


def main(event, context):
    for record in event["Records"]:
        new = record["dynamodb"].get("NewImage", {})
        if "status" in new:
            order, status = new["orderId"]["S"], new["status"]["S"]
            history.put_item(Item={"orderId": order, "changeId": str(ULID()), "status": status})
    return {"batchItemFailures": []}
