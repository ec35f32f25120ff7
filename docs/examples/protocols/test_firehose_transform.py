import base64
from unittest import mock

import firehose_transform

from lambda_blueprints.testing import (
    LambdaContext,
    firehose_transformation_event,
    validate_firehose_response,
)


def decoded(answer):
    return base64.b64decode(answer["data"])


def test_every_record_is_answered_once_in_order():
    event = firehose_transformation_event(
        b'{"type": "signup", "email": "Ann@Example.COM", "score": 1E2}',
        {"type": "heartbeat"},
        b"{not json",
        b"[1, 2]",
        {"type": "signup", "email": 42},
    )
    with mock.patch.object(firehose_transform, "log_failure") as log_failure:
        response = firehose_transform.main(event, LambdaContext())

    validate_firehose_response(event, response)
    answers = response["records"]
    assert [a["recordId"] for a in answers] == [r["recordId"] for r in event["records"]]
    assert [a["result"] for a in answers] == [
        "Ok",
        "Dropped",
        "ProcessingFailed",
        "ProcessingFailed",
        "ProcessingFailed",
    ]
    assert decoded(answers[0]) == b'{"type":"signup","score":1E2,"emailDomain":"example.com"}\n'
    assert answers[1]["data"] == ""
    # A failed record goes back as it came; Firehose keeps it under the error prefix.
    assert [a["data"] for a in answers[2:]] == [r["data"] for r in event["records"][2:]]
    reasons = [call.args[1].reason for call in log_failure.call_args_list]
    assert reasons == ["INVALID_JSON", "NOT_AN_OBJECT", "INVALID_EMAIL"]


def test_records_past_the_6_mb_response_limit_are_answered_processing_failed():
    big = {"type": "upload", "blob": "x" * 900_000}  # about 1.2 MB once base64-encoded
    event = firehose_transformation_event(*[big] * 7)
    response = firehose_transform.main(event, LambdaContext())

    validate_firehose_response(event, response)  # the response fits the 6 MB
    results = [a["result"] for a in response["records"]]
    assert results == ["Ok"] * 5 + ["ProcessingFailed"] * 2
    assert [a["data"] for a in response["records"][5:]] == ["", ""]
