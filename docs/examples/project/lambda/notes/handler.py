import json
import os
import uuid

import boto3

notes = boto3.resource("dynamodb").Table(os.environ["NOTES_TABLE"])


def answer(status, body):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }


def create(event, context):
    try:
        text = json.loads(event["body"] or "")["text"]
    except (ValueError, TypeError, KeyError):
        return answer(400, {"message": 'send {"text": "..."}'})
    if not isinstance(text, str) or not 1 <= len(text) <= 500:
        return answer(400, {"message": "text is a string of 1-500 characters"})
    note = {"noteId": str(uuid.uuid4()), "text": text}
    notes.put_item(Item=note)
    return answer(201, note)


def read(event, context):
    note_id = event["pathParameters"]["noteId"]
    item = notes.get_item(Key={"noteId": note_id}).get("Item")
    if item is None:
        return answer(404, {"message": f"no note {note_id}"})
    return answer(200, item)
