"""The EventBridge pattern language and event source mapping filter criteria."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lambda_blueprints.testing._json import MAX_NESTING_DEPTH
from lambda_blueprints.testing.events import dynamodb_stream_record
from lambda_blueprints.testing.filtering import (
    MAX_FILTERS,
    MAX_PATTERN_LENGTH,
    FilterError,
    JsonNumber,
    compile_filters,
    loads_preserving_numbers,
    matches,
    validate_pattern,
    wildcard_complexity,
)

# The EC2 state-change event of the spec (9.2), with a few extra detail fields in the
# style of the Event Ruler examples.
EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2021-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {
        "instance-id": "i-1234567890abcdef0",
        "state": "running",
        "c-count": 5,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "owner": None,
        "note": "",
        "monitored": True,
        "file": "/var/lib/report.PNG",
    },
}


def event_with(**detail: Any) -> dict[str, Any]:
    return {**EC2_EVENT, "detail": {**EC2_EVENT["detail"], **detail}}


def kinesis_record(data: bytes | str, partition_key: str = "1") -> dict[str, Any]:
    payload = data.encode() if isinstance(data, str) else data
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
            "data": base64.b64encode(payload).decode(),
            "approximateArrivalTimestamp": 1545084650.987,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
        "awsRegion": "us-east-2",
        "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream",
    }


def sqs_record(body: str, receive_count: str = "1") -> dict[str, Any]:
    return {
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": receive_count,
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
        "awsRegion": "us-east-2",
    }


def esm_filter(*patterns: Any, source: Any) -> Any:
    return compile_filters(
        {"Filters": [{"Pattern": p if isinstance(p, str) else json.dumps(p)} for p in patterns]},
        source,
    )


# --------------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"source": ["aws.ec2"]}, True),
        ({"source": ["aws.s3"]}, False),
        ({"source": ["AWS.EC2"]}, False),  # case-sensitive, no normalization
        ({"detail": {"state": ["pending", "running"]}}, True),  # OR across values
        ({"detail": {"state": ["pending", "stopped"]}}, False),
        ({"source": ["aws.ec2"], "detail": {"state": ["running"]}}, True),  # AND across keys
        ({"source": ["aws.ec2"], "detail": {"state": ["stopped"]}}, False),
        ({"detail": {"missing": ["anything"]}}, False),  # every named field must exist
        ({"source": ["aws.ec2"], "detail": {"unrelated": {"deep": ["x"]}}}, False),
    ],
)
def test_equality_and_and_or(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EC2_EVENT) is expected


def test_a_document_array_matches_when_any_element_matches() -> None:
    arn = EC2_EVENT["resources"][0]
    assert matches({"resources": [arn]}, EC2_EVENT)
    assert matches({"resources": ["arn:other", arn]}, EC2_EVENT)
    assert not matches({"resources": ["arn:other"]}, EC2_EVENT)


def test_arrays_of_objects_match_element_by_element() -> None:
    document = {
        "employees": [
            {"firstName": "John", "lastName": "Doe"},
            {"firstName": "Anna", "lastName": "Smith"},
            [{"firstName": "Peter", "lastName": "Jones"}],
        ]
    }
    assert matches({"employees": {"firstName": ["Anna"]}}, document)
    assert matches({"employees": {"firstName": ["Peter"], "lastName": ["Jones"]}}, document)
    # Fields from different elements never combine into a match.
    assert not matches({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}, document)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"detail": {"owner": [None]}}, True),
        ({"detail": {"note": [None]}}, False),  # an empty string is not null
        ({"detail": {"absent": [None]}}, False),  # a missing field is not null
        ({"detail": {"note": [""]}}, True),
        ({"detail": {"owner": [""]}}, False),
        ({"detail": {"monitored": [True]}}, True),
        ({"detail": {"monitored": ["true"]}}, False),  # types never mix
        ({"detail": {"c-count": [True]}}, False),
    ],
)
def test_null_empty_and_boolean_values(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EC2_EVENT) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        {"detail": {"state": {"status": ["running"]}}},
        {"detail": {"state.status": ["running"]}},
        {"detail.state.status": ["running"]},
    ],
)
@pytest.mark.parametrize(
    "detail",
    [
        {"state": {"status": "running"}},
        {"state.status": "running"},
        {"state": {"zone": "a"}, "state.status": "running"},
    ],
)
def test_field_names_are_joined_with_dots_in_patterns_and_events(
    pattern: dict[str, Any], detail: dict[str, Any]
) -> None:
    assert matches(pattern, {"detail": detail})
    stopped = json.loads(json.dumps(detail).replace("running", "stopped"))
    assert not matches(pattern, {"detail": stopped})
    assert not matches(pattern, {"detail": {"state": "running"}})


def test_dotted_and_nested_fields_of_one_object_match_together() -> None:
    pattern = {"detail": {"state": {"status": ["running"], "zone": ["a"]}}}
    assert matches(pattern, {"detail": {"state": {"zone": "a"}, "state.status": "running"}})
    assert not matches(pattern, {"detail": {"state": {"zone": "b"}, "state.status": "running"}})
    # Two spellings of one field in a pattern keep the values of both.
    both = {"detail": {"state": {"status": ["running"]}, "state.status": ["stopped"]}}
    assert matches(both, {"detail": {"state": {"status": "stopped"}}})


def test_filter_criteria_join_dotted_field_names_too() -> None:
    record_filter = esm_filter('{"data": {"order.status": ["paid"]}}', source="kinesis")
    assert record_filter.matches(kinesis_record('{"order": {"status": "paid"}}'))
    assert not record_filter.matches(kinesis_record('{"order": {"status": "open"}}'))


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("prefix", "post-init", True),
        ("prefix", "test-1", False),
        ("prefix", "init", False),
        ("prefix", 12, True),  # not a string, so no prefix excludes it
        ("prefix", None, True),
        ("suffix", "file.txt.bak", True),
        ("suffix", "file.jpg", False),
    ],
)
def test_anything_but_takes_a_list_of_prefixes_or_suffixes(
    operator: str, value: Any, expected: bool
) -> None:
    options = ["init", "test"] if operator == "prefix" else [".txt", ".jpg"]
    pattern = {"detail": {"f": [{"anything-but": {operator: options}}]}}
    assert matches(pattern, {"detail": {"f": value}}) is expected
    assert not matches(pattern, {"detail": {}})


@pytest.mark.parametrize(
    ("wildcards", "complexity"),
    [
        (["/Users/*/doc.txt"], 2),
        (["arn:aws:events:us-east-1:*:event-bus/*"], 3),
        (["/Users/*/dir/dir/dir/dir/dir/doc.txt"], 7),
        (["*:stack/A/*", "*:stack/B/*", "*:stack/C/*"], 9),
        (["*:*:*:*:*:event-bus/*"], 11),
        (["*:stack/A/*", "*:stack/B/*", "*:stack/C/*", "*:stack/D/*"], 12),
    ],
)
def test_wildcard_complexity_counts_the_prefixes_one_value_keeps_alive(
    wildcards: list[str], complexity: int
) -> None:
    assert wildcard_complexity(wildcards) == complexity
    pattern = {"arn": [{"wildcard": text} for text in wildcards]}
    if complexity > 10:
        with pytest.raises(FilterError, match="too complex"):
            validate_pattern(pattern, for_event_source_mapping=False)
    else:
        validate_pattern(pattern, for_event_source_mapping=False)


def test_rules_compare_plain_numbers_by_value_and_never_with_strings() -> None:
    assert matches({"detail": {"c-count": [5]}}, EC2_EVENT)
    assert matches({"detail": {"c-count": [5.0]}}, EC2_EVENT)
    assert not matches({"detail": {"c-count": [6]}}, EC2_EVENT)
    assert not matches({"detail": {"c-count": ["5"]}}, EC2_EVENT)
    parsed = loads_preserving_numbers('{"price": 3.0e2}')
    assert parsed == {"price": JsonNumber("3.0e2")}
    assert matches({"price": [JsonNumber("3.0e2")]}, parsed)
    assert matches({"price": [300]}, parsed)
    assert not matches({"price": [{"anything-but": [300]}]}, parsed)
    assert matches({"price": [{"anything-but": [301]}]}, parsed)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"time": [{"prefix": "2021-11-11"}]}, True),
        ({"time": [{"prefix": "2021-11-12"}]}, False),
        ({"detail": {"c-count": [{"prefix": "5"}]}}, False),  # strings only
        ({"detail": {"instance-id": [{"prefix": {"equals-ignore-case": "I-1234"}}]}}, True),
        ({"detail": {"instance-id": [{"prefix": "I-1234"}]}}, False),
        ({"detail": {"file": [{"suffix": ".PNG"}]}}, True),
        ({"detail": {"file": [{"suffix": ".png"}]}}, False),
        ({"detail": {"file": [{"suffix": {"equals-ignore-case": ".png"}}]}}, True),
        ({"detail": {"file": [{"suffix": {"equals-ignore-case": ".jpg"}}]}}, False),
        ({"detail": {"state": [{"equals-ignore-case": "RUNNING"}]}}, True),
        ({"detail": {"state": [{"equals-ignore-case": "stopped"}]}}, False),
    ],
)
def test_prefix_suffix_and_equals_ignore_case(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EC2_EVENT) is expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"detail": {"state": [{"anything-but": "initializing"}]}}, True),
        ({"detail": {"state": [{"anything-but": "running"}]}}, False),
        ({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, True),
        ({"detail": {"state": [{"anything-but": ["stopped", "running"]}]}}, False),
        ({"detail": {"c-count": [{"anything-but": 123}]}}, True),
        ({"detail": {"c-count": [{"anything-but": [100, 5]}]}}, False),
        ({"detail": {"absent": [{"anything-but": "x"}]}}, False),  # needs the field
        ({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, True),
        ({"detail": {"state": [{"anything-but": {"prefix": "run"}}]}}, False),
        ({"detail": {"file": [{"anything-but": {"suffix": ".txt"}}]}}, True),
        ({"detail": {"file": [{"anything-but": {"suffix": ".PNG"}}]}}, False),
        ({"detail": {"state": [{"anything-but": {"equals-ignore-case": "STOPPED"}}]}}, True),
        (
            {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["x", "RUNNING"]}}]}},
            False,
        ),
        ({"detail": {"file": [{"anything-but": {"wildcard": "*/cache/*"}}]}}, True),
        ({"detail": {"file": [{"anything-but": {"wildcard": "*/lib/*"}}]}}, False),
    ],
)
def test_anything_but(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EC2_EVENT) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (["=", 5], True),
        (["=", 5.0], True),  # numeric compares values, unlike plain equality
        (["=", 6], False),
        (["<", 10], True),
        (["<", 5], False),
        (["<=", 5], True),
        ([">", 5], False),
        ([">=", 5], True),
        ([">", 0, "<=", 5], True),
        ([">", 0, "<", 5], False),
        (["<=", 5, ">", 4.5], True),  # bound order does not matter
    ],
)
def test_numeric(condition: list[Any], expected: bool) -> None:
    assert matches({"detail": {"c-count": [{"numeric": condition}]}}, EC2_EVENT) is expected


def test_numeric_only_matches_json_numbers() -> None:
    assert not matches({"n": [{"numeric": [">", 0]}]}, {"n": "5"})
    assert not matches({"n": [{"numeric": [">", 0]}]}, {"n": True})
    assert matches({"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}}, EC2_EVENT)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"detail": {"c-count": [{"exists": True}]}}, True),
        ({"detail": {"c-count": [{"exists": False}]}}, False),
        ({"detail": {"absent": [{"exists": False}]}}, True),
        ({"detail": {"absent": [{"exists": True}]}}, False),
        ({"detail": {"owner": [{"exists": True}]}}, True),  # null is a present value
        ({"nowhere": {"deeper": [{"exists": False}]}}, True),
    ],
)
def test_exists(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EC2_EVENT) is expected


def test_exists_only_sees_leaf_nodes() -> None:
    document = {"detail": {"c-count": {"c1": 100}}}
    assert matches({"detail": {"c-count": [{"exists": False}]}}, document)
    assert not matches({"detail": {"c-count": [{"exists": True}]}}, document)


@pytest.mark.parametrize(
    ("wildcard", "value", "expected"),
    [
        ("Simple*Service", "SimpleQueueService", True),
        ("Simple*Service", "SimpleQueueServices", False),
        ("*/lib/*", "/var/lib/report", True),
        ("*.png", "photo.PNG", False),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "aXcYb", False),
        ("file\\*.txt", "file*.txt", True),  # an escaped star is literal
        ("file\\*.txt", "file1.txt", False),
        ("dir\\\\*", "dir\\x", True),  # an escaped backslash, then a wildcard
    ],
)
def test_wildcard(wildcard: str, value: str, expected: bool) -> None:
    assert matches({"name": [{"wildcard": wildcard}]}, {"name": value}) is expected


@pytest.mark.parametrize(
    ("cidr", "address", "expected"),
    [
        ("10.0.0.0/24", "10.0.0.33", True),
        ("10.0.0.0/24", "10.0.1.33", False),
        ("10.0.0.0/8", "10.200.3.4", True),
        ("2001:db8::/32", "2001:db8::1", True),
        ("2001:db8::/32", "2001:db9::1", False),
        ("10.0.0.0/24", "::ffff:10.0.0.33", False),  # versions never mix
        ("10.0.0.0/24", "not-an-ip", False),
    ],
)
def test_cidr(cidr: str, address: str, expected: bool) -> None:
    assert matches({"source-ip": [{"cidr": cidr}]}, {"source-ip": address}) is expected


def test_or_combines_alternative_sub_patterns() -> None:
    pattern = {
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"namespace": ["AWS/EC2", "AWS/ES"]},
        ],
    }
    assert matches(pattern, {"source": "aws.cloudwatch", "metricName": "ReadLatency"})
    assert matches(pattern, {"source": "aws.cloudwatch", "namespace": "AWS/ES"})
    assert not matches(pattern, {"source": "aws.cloudwatch", "namespace": "AWS/S3"})
    assert not matches(pattern, {"source": "aws.ec2", "metricName": "ReadLatency"})


def test_matches_refuses_an_invalid_pattern() -> None:
    with pytest.raises(FilterError, match="contains"):
        matches({"source": [{"contains": "ec2"}]}, EC2_EVENT)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ([], "must be a JSON object"),
        ("source", "must be a JSON object"),
        ({}, "may not be empty"),
        ({"detail": {}}, "may not be empty"),
        ({"source": "aws.ec2"}, "must be an array"),
        ({"source": []}, "may not be empty"),
        ({"source": [["aws.ec2"]]}, "not a value or an operator"),
        ({"source": [{"contains": "ec2"}]}, "unknown operator 'contains'"),
        ({"source": [{"prefix": "a", "suffix": "b"}]}, "exactly one key"),
        ({"source": [{"prefix": 5}]}, "needs a string"),
        ({"source": [{"prefix": {"ignore-case": "a"}}]}, "equals-ignore-case"),
        ({"source": [{"equals-ignore-case": ["a"]}]}, "needs a string"),
        ({"n": [{"numeric": ["=", "5"]}]}, "not a number"),
        ({"n": [{"numeric": ["==", 5]}]}, "unknown numeric operator"),
        ({"n": [{"numeric": [">"]}]}, "two such pairs"),
        ({"n": [{"numeric": ["=", 5, "<", 6]}]}, "one of > >= and one of < <="),
        ({"n": [{"numeric": [">", 5, ">=", 6]}]}, "one of > >= and one of < <="),
        ({"n": [{"numeric": [">", 10, "<", 5]}]}, "is not below"),
        ({"n": [{"numeric": [">=", 5, "<=", 5]}]}, "is not below"),
        ({"n": [{"numeric": ["<", 6e9]}]}, "outside"),
        ({"n": [{"numeric": ["=", True]}]}, "not a number"),
        ({"n": [{"exists": "yes"}]}, "true or false"),
        ({"n": [{"wildcard": "a**b"}]}, "consecutive"),
        ({"n": [{"wildcard": "a\\b"}]}, "backslash"),
        ({"n": [{"cidr": "10.0.0.0/33"}]}, "not a CIDR block"),
        ({"n": [{"anything-but": None}]}, "a string, a number, a list"),
        ({"n": [{"anything-but": []}]}, "may not be empty"),
        ({"n": [{"anything-but": ["a", 1]}]}, "only strings or only numbers"),
        ({"n": [{"anything-but": {"numeric": [">", 1]}}]}, "unknown anything-but operator"),
        ({"n": [{"anything-but": {"prefix": [1]}}]}, "needs a string"),
        ({"n": [{"anything-but": {"prefix": []}}]}, "may not be empty"),
        ({"n": [{"anything-but": {"prefix": ""}}]}, "empty prefix"),
        ({"n": [{"anything-but": {"suffix": ["x", ""]}}]}, "empty suffix"),
        ({"n": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}, "too complex"),
        ({"n": [{"wildcard": f"*:stack/{name}/*"} for name in "ABCD"]}, "too complex"),
        ({"$or": [{"a": ["x"]}]}, "at least two"),
        ({"$or": {"a": ["x"]}}, "at least two"),
        ({"$or": [{"a": ["x"]}, "b"]}, "must be a JSON object"),
    ],
)
def test_malformed_patterns_are_rejected(pattern: Any, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        validate_pattern(pattern, for_event_source_mapping=False)
    # Filters reject them too, if need be already for an unsupported operator.
    with pytest.raises(FilterError):
        validate_pattern(pattern, for_event_source_mapping=True)


ESM_REJECTED = [
    {"Region": [{"anything-but": {"prefix": "us-"}}]},
    {"FileName": [{"anything-but": {"suffix": ".png"}}]},
    {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]},
    {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]},
    {"FilePath": [{"wildcard": "*/lib/*"}]},
    {"source-ip": [{"cidr": "10.0.0.0/24"}]},
    {"$or": [{"a": ["x"]}, {"b": ["y"]}]},
]


@pytest.mark.parametrize("pattern", ESM_REJECTED)
def test_filters_reject_what_event_source_mappings_do_not_support(pattern: Any) -> None:
    with pytest.raises(FilterError, match="not supported in event filtering"):
        validate_pattern(pattern, for_event_source_mapping=True)


@pytest.mark.parametrize("pattern", ESM_REJECTED)
def test_rules_accept_every_eventbridge_operator(pattern: Any) -> None:
    validate_pattern(pattern, for_event_source_mapping=False)


@pytest.mark.parametrize(
    "pattern",
    [
        {"UserID": [None], "LastName": [""], "Name": ["Alice"]},
        {"PaymentType": ["Credit", "Debit"], "Weather": [{"anything-but": ["Raining"]}]},
        {"Price": [{"numeric": [">", 10, "<=", 20]}, {"numeric": ["=", 100]}]},
        {"ProductName": [{"exists": True}], "Other": [{"exists": False}]},
        {"Region": [{"prefix": "us-"}], "service": [{"prefix": {"equals-ignore-case": "eb"}}]},
        {"FileName": [{"suffix": ".png"}], "Name": [{"equals-ignore-case": "alice"}]},
    ],
)
def test_filters_accept_the_lambda_operators(pattern: Any) -> None:
    validate_pattern(pattern, for_event_source_mapping=True)


# --------------------------------------------------------------------------- criteria


@pytest.mark.parametrize("criteria", [None, {}, {"Filters": []}])
def test_no_filter_criteria_keep_every_record(criteria: Any) -> None:
    record_filter = compile_filters(criteria, "sqs")
    assert record_filter.is_empty
    assert record_filter.matches(sqs_record("anything"))


def test_filters_are_ored() -> None:
    record_filter = esm_filter(
        {"body": {"kind": ["refund"]}}, {"body": {"kind": ["order"]}}, source="sqs"
    )
    assert not record_filter.is_empty
    assert record_filter.matches(sqs_record('{"kind": "order"}'))
    assert record_filter.matches(sqs_record('{"kind": "refund"}'))
    assert not record_filter.matches(sqs_record('{"kind": "audit"}'))


def test_at_most_ten_filters() -> None:
    patterns = [{"body": {"n": [i]}} for i in range(MAX_FILTERS)]
    assert esm_filter(*patterns, source="sqs").matches(sqs_record('{"n": 9}'))
    with pytest.raises(FilterError, match="at most 10"):
        esm_filter(*patterns, {"body": {"n": [10]}}, source="sqs")


def test_patterns_have_at_most_4096_characters() -> None:
    def pattern_of_length(length: int) -> str:
        frame = '{"body": {"k": [""]}}'
        text = '{"body": {"k": ["' + "x" * (length - len(frame)) + '"]}}'
        assert len(text) == length
        return text

    esm_filter(pattern_of_length(MAX_PATTERN_LENGTH), source="sqs")
    with pytest.raises(FilterError, match="4097 characters; at most 4096"):
        esm_filter(pattern_of_length(MAX_PATTERN_LENGTH + 1), source="sqs")


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ({"Filters": [{"Pattern": '{ "a": [1, 2] '}]}, "not valid JSON"),
        ({"Filters": [{"Pattern": "{'a': [1]}"}]}, "not valid JSON"),
        ({"Filters": [{"Pattern": '{"a": [NaN]}'}]}, "not valid JSON"),
        ({"Filters": [{}]}, "Pattern string"),
        ({"Filters": [{"Pattern": {"a": [1]}}]}, "Pattern string"),
        ({"Filters": {"Pattern": '{"a": [1]}'}}, "must be an array"),
        ({"Filters": [{"Pattern": '["a"]'}]}, "must be a JSON object"),
        ({"Filters": [{"Pattern": '{"a": [{"wildcard": "x*"}]}'}]}, "Filters\\[0\\]"),
    ],
)
def test_invalid_filter_criteria(criteria: Any, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        compile_filters(criteria, "sqs")


def test_unknown_sources_are_refused() -> None:
    with pytest.raises(ValueError, match="kafka"):
        compile_filters(None, "kafka")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "pattern"),
    [("kinesis", {"data": ["plain text"]}), ("dynamodb", {"dynamodb": [{"exists": True}]})],
)
def test_stream_data_patterns_must_be_json(source: Any, pattern: Any) -> None:
    # Non-JSON data patterns fail at create or update for stream sources.
    with pytest.raises(FilterError, match="must be a JSON object"):
        esm_filter(pattern, source=source)


# --------------------------------------------------------------------------- Kinesis

SEATTLE = '{"City": "Seattle", "State": "WA", "Temperature": 55, "Month": "December"}'


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (SEATTLE, True),
        (SEATTLE.replace("55", "50"), False),
        (SEATTLE.replace("55", "60"), True),
        (SEATTLE.replace("55", "61"), False),
        (SEATTLE.replace("55", '"55"'), False),
    ],
)
def test_kinesis_filters_on_decoded_json_data(data: str, expected: bool) -> None:
    record_filter = esm_filter(
        {"data": {"Temperature": [{"numeric": [">", 50, "<=", 60]}]}}, source="kinesis"
    )
    assert record_filter.matches(kinesis_record(data)) is expected


def test_kinesis_filters_on_metadata_beside_data() -> None:
    record_filter = esm_filter(
        {"partitionKey": ["1"], "data": {"City": ["Seattle"]}}, source="kinesis"
    )
    assert record_filter.matches(kinesis_record(SEATTLE, partition_key="1"))
    assert not record_filter.matches(kinesis_record(SEATTLE, partition_key="2"))
    assert not record_filter.matches(kinesis_record(SEATTLE.replace("Seattle", "Portland")))


@pytest.mark.parametrize(
    ("data", "partition_key", "expected"),
    [
        (SEATTLE, "1", True),  # valid JSON, no data pattern: metadata only
        (SEATTLE, "2", False),
        ("plain text", "1", True),  # non-JSON, no data pattern: metadata only
        ("plain text", "2", False),
        (b"\xff\xfe not utf-8", "1", True),
    ],
)
def test_kinesis_metadata_only_patterns_ignore_the_data(
    data: str | bytes, partition_key: str, expected: bool
) -> None:
    record_filter = esm_filter({"partitionKey": ["1"]}, source="kinesis")
    assert record_filter.matches(kinesis_record(data, partition_key)) is expected


@pytest.mark.parametrize("data", ["plain text", "42", '"Seattle"', b"\xff\xfe"])
def test_kinesis_drops_records_whose_data_is_not_json_when_the_pattern_has_data(
    data: str | bytes,
) -> None:
    record_filter = esm_filter({"data": {"City": [{"exists": False}]}}, source="kinesis")
    assert record_filter.matches(kinesis_record('{"State": "WA"}'))
    assert not record_filter.matches(kinesis_record(data))


def nested(depth: int, innermost: str = '{"City": "Seattle"}') -> str:
    """JSON text: ``innermost`` inside ``depth - 1`` arrays, so ``depth`` levels in all."""
    return "[" * (depth - 1) + innermost + "]" * (depth - 1)


def test_kinesis_data_too_deeply_nested_to_parse_is_not_json_for_filters() -> None:
    # About 2 KB of brackets; Lambda treats data it cannot parse as data that is not JSON.
    deep = kinesis_record(nested(1100), partition_key="1")
    assert not esm_filter({"data": {"City": ["Seattle"]}}, source="kinesis").matches(deep)
    assert not esm_filter({"data": {"City": [{"exists": False}]}}, source="kinesis").matches(deep)
    assert esm_filter({"partitionKey": ["1"]}, source="kinesis").matches(deep)


def test_kinesis_data_nested_up_to_the_limit_is_still_json() -> None:
    record_filter = esm_filter({"data": {"City": ["Seattle"]}}, source="kinesis")
    assert record_filter.matches(kinesis_record(nested(MAX_NESTING_DEPTH)))
    assert not record_filter.matches(kinesis_record(nested(MAX_NESTING_DEPTH + 1)))


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = '{"City": "Seattle", "note": "' + "[{" * 3000 + '"}'
    record_filter = esm_filter({"data": {"City": ["Seattle"]}}, source="kinesis")
    assert record_filter.matches(kinesis_record(text))


def test_sqs_body_too_deeply_nested_to_parse_is_a_plain_string() -> None:
    body = nested(1100)
    assert not esm_filter({"body": {"City": ["Seattle"]}}, source="sqs").matches(sqs_record(body))
    assert esm_filter({"body": [{"prefix": "[[["}]}, source="sqs").matches(sqs_record(body))


def test_fails_when_a_pattern_nests_too_deeply_to_parse() -> None:
    text = '{"data": ' + "[" * 2000 + "]" * 2000 + "}"
    assert len(text) <= MAX_PATTERN_LENGTH
    with pytest.raises(FilterError, match="not valid JSON"):
        compile_filters({"Filters": [{"Pattern": text}]}, "kinesis")


def test_kinesis_data_numbers_compare_by_text_in_plain_equality() -> None:
    record_filter = esm_filter('{"data": {"price": [300]}}', source="kinesis")
    assert record_filter.matches(kinesis_record('{"price": 300}'))
    assert not record_filter.matches(kinesis_record('{"price": 300.0}'))
    assert not record_filter.matches(kinesis_record('{"price": 3.0e2}'))
    numeric = esm_filter('{"data": {"price": [{"numeric": ["=", 300]}]}}', source="kinesis")
    assert numeric.matches(kinesis_record('{"price": 3.0e2}'))


def test_kinesis_filters_match_inside_json_arrays() -> None:
    record_filter = esm_filter({"data": {"tags": ["urgent"]}}, source="kinesis")
    assert record_filter.matches(kinesis_record('{"tags": ["low", "urgent"]}'))
    assert not record_filter.matches(kinesis_record('{"tags": ["low"]}'))


def test_kinesis_filters_need_kinesis_records() -> None:
    record_filter = esm_filter({"data": {"City": ["Seattle"]}}, source="kinesis")
    with pytest.raises(ValueError, match="not a Kinesis record"):
        record_filter.matches(sqs_record(SEATTLE))


# --------------------------------------------------------------------------- DynamoDB


def order(event_name: Any = "MODIFY", status: str = "shipped") -> dict[str, Any]:
    return dynamodb_stream_record(
        event_name,
        {"CustomerName": "AnyCompany Industries", "Id": 101},
        new_image={"CustomerName": "AnyCompany Industries", "Id": 101, "status": status},
        old_image={"CustomerName": "AnyCompany Industries", "Id": 101, "status": "pending"},
    )


def test_dynamodb_filters_use_typed_values() -> None:
    record_filter = esm_filter(
        {"dynamodb": {"Keys": {"CustomerName": {"S": ["AnyCompany Industries"]}}}},
        source="dynamodb",
    )
    assert record_filter.matches(order())
    other = order()
    other["dynamodb"]["Keys"]["CustomerName"] = {"S": "Example Corp"}
    assert not record_filter.matches(other)


@pytest.mark.parametrize(("status", "expected"), [("shipped", True), ("pending", False)])
def test_dynamodb_filters_on_the_new_image(status: str, expected: bool) -> None:
    record_filter = esm_filter(
        {"dynamodb": {"NewImage": {"status": {"S": ["shipped"]}}}}, source="dynamodb"
    )
    assert record_filter.matches(order(status=status)) is expected


def test_dynamodb_numbers_are_strings() -> None:
    keys = esm_filter({"dynamodb": {"Keys": {"Id": {"N": ["101"]}}}}, source="dynamodb")
    assert keys.matches(order())
    # N values are JSON strings, so numeric ranges never see them.
    numeric = esm_filter(
        {"dynamodb": {"Keys": {"Id": {"N": [{"numeric": [">", 100]}]}}}}, source="dynamodb"
    )
    assert not numeric.matches(order())


@pytest.mark.parametrize(("event_name", "expected"), [("INSERT", True), ("MODIFY", False)])
def test_dynamodb_filters_see_the_whole_record(event_name: str, expected: bool) -> None:
    record_filter = esm_filter({"eventName": ["INSERT"]}, source="dynamodb")
    assert record_filter.matches(order(event_name)) is expected


def test_dynamodb_filters_on_a_missing_old_image() -> None:
    record_filter = esm_filter(
        {"dynamodb": {"OldImage": {"status": {"S": [{"exists": False}]}}}}, source="dynamodb"
    )
    assert record_filter.matches(order("INSERT"))
    assert not record_filter.matches(order("MODIFY"))


def test_dynamodb_filters_need_dynamodb_records() -> None:
    record_filter = esm_filter({"eventName": ["INSERT"]}, source="dynamodb")
    with pytest.raises(ValueError, match="not a DynamoDB stream record"):
        record_filter.matches(kinesis_record(SEATTLE))


# --------------------------------------------------------------------------- SQS


@pytest.mark.parametrize(
    ("body", "pattern", "expected"),
    [
        # plain string body
        ("Test message.", {"body": ["Test message."]}, True),
        ("Test message.", {"body": [{"prefix": "Test"}]}, True),
        ("Test message.", {"body": ["Other message."]}, False),
        ("Test message.", {"body": {"kind": ["order"]}}, False),  # JSON pattern: dropped
        # JSON body
        ('{"kind": "order", "total": 12}', {"body": {"kind": ["order"]}}, True),
        ('{"kind": "order", "total": 12}', {"body": {"total": [{"numeric": ["<", 10]}]}}, False),
        ('{"kind": "order"}', {"body": ['{"kind": "order"}']}, False),  # plain pattern: dropped
        ('{"kind": "order"}', {"body": [{"prefix": "{"}]}, False),
    ],
)
def test_sqs_body_and_pattern_must_agree_on_json(
    body: str, pattern: dict[str, Any], expected: bool
) -> None:
    assert esm_filter(pattern, source="sqs").matches(sqs_record(body)) is expected


@pytest.mark.parametrize("body", ["Test message.", '{"kind": "order"}'])
def test_sqs_patterns_without_body_filter_on_metadata(body: str) -> None:
    record_filter = esm_filter({"attributes": {"ApproximateReceiveCount": ["1"]}}, source="sqs")
    assert record_filter.matches(sqs_record(body, receive_count="1"))
    assert not record_filter.matches(sqs_record(body, receive_count="2"))


def test_sqs_scalar_json_bodies_are_plain_strings() -> None:
    # UNSPECIFIED choice: only objects and arrays count as JSON documents.
    record_filter = esm_filter({"body": ["42"]}, source="sqs")
    assert record_filter.matches(sqs_record("42"))


def test_sqs_filters_need_sqs_records() -> None:
    record_filter = esm_filter({"body": ["x"]}, source="sqs")
    with pytest.raises(ValueError, match="not an SQS record"):
        record_filter.matches(kinesis_record(SEATTLE))
