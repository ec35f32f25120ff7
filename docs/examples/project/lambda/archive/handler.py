import json


def main(event, context):
    """Invoked through EventBridge for each object Firehose delivers."""
    detail = event["detail"]
    print(json.dumps({"archived": f"s3://{detail['bucket']['name']}/{detail['object']['key']}"}))
