import json
import os

import boto3

from lambda_blueprints.runtime.shared.failures import PoisonRecordError, send_to_failure_queue

sightings = boto3.resource("dynamodb").Table(os.environ["SIGHTINGS_TABLE"])
sqs = boto3.client("sqs")


def main(event, context):
    record = event["Records"][0]
    notification = record["Sns"]
    try:
        sighting = json.loads(notification["Message"])
        zone = sighting["zone"]
        if not isinstance(zone, str) or not zone:
            raise ValueError("zone must be a non-empty string")
    except (ValueError, TypeError, KeyError) as error:
        # No retry can fix this message: keep it, with the reason, and carry on.
        send_to_failure_queue(
            sqs,
            record,
            PoisonRecordError("MALFORMED_SIGHTING", str(error)),
            function_name=context.function_name,
            request_id=context.aws_request_id,
        )
        return
    sightings.put_item(Item={"messageId": notification["MessageId"], "zone": zone})
