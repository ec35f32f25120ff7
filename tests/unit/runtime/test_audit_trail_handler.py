"""The audit trail handler against moto, with real DynamoDB stream records."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from moto import mock_aws

from lambda_blueprints.runtime.audit_trail import handler
from lambda_blueprints.runtime.audit_trail.changes import entity_key
from lambda_blueprints.runtime.audit_trail.limits import nesting_levels
from lambda_blueprints.testing import (
    LambdaContext,
    dynamodb_stream_event,
    dynamodb_stream_record,
    read_stream_records,
)
from tests.conftest import create_pk_sk_table


@dataclass
class Cloud:
    users: Any
    stream_arn: str
    audit_table: str
    queue_url: str

    def audit_items(self, user_id: str) -> list[dict[str, Any]]:
        table = boto3.resource("dynamodb").Table(self.audit_table)
        pk = entity_key("users", {"userId": {"S": user_id}})
        items = table.query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": pk}
        )["Items"]
        return list(items)

    def failure_messages(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        messages = sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        return messages


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        users = dynamodb.create_table(
            TableName="users",
            KeySchema=[{"AttributeName": "userId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "userId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        create_pk_sk_table("audit")
        queue_url = boto3.client("sqs").create_queue(QueueName="failures")["QueueUrl"]
        monkeypatch.setenv("AUDIT_TABLE_NAME", "audit")
        monkeypatch.setenv("FAILURE_QUEUE_URL", queue_url)
        monkeypatch.setenv("AUDIT_RETENTION_DAYS", "0")
        handler.dynamodb_client.cache_clear()
        handler.sqs_client.cache_clear()
        yield Cloud(users, users.latest_stream_arn, "audit", queue_url)
        handler.dynamodb_client.cache_clear()
        handler.sqs_client.cache_clear()


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return handler.lambda_handler(event, LambdaContext(function_name="audit-trail"))


def test_insert_modify_remove_write_one_audit_item_each(cloud: Cloud) -> None:
    cloud.users.put_item(Item={"userId": "u-1", "name": "Ada", "age": 36, "roles": {"admin"}})
    cloud.users.update_item(
        Key={"userId": "u-1"},
        UpdateExpression="SET age = :age REMOVE #roles",
        ExpressionAttributeNames={"#roles": "roles"},
        ExpressionAttributeValues={":age": 37},
    )
    cloud.users.delete_item(Key={"userId": "u-1"})
    records = read_stream_records(cloud.stream_arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]

    response = invoke(dynamodb_stream_event(*records))

    assert response == {"batchItemFailures": []}
    items = cloud.audit_items("u-1")
    assert [i["eventName"] for i in items] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = items
    assert insert["changedAttributes"] == ["age", "name", "roles", "userId"]
    assert insert["changes"]["name"] == {"change": "added", "new": "Ada"}
    assert modify["changedAttributes"] == ["age", "roles"]
    assert modify["changes"]["age"] == {"change": "modified", "old": 36, "new": 37}
    assert modify["changes"]["roles"] == {"change": "removed", "old": {"admin"}}
    assert remove["changes"]["userId"] == {"change": "removed", "old": "u-1"}
    assert {i["eventId"] for i in items} == {r["eventID"] for r in records}
    assert all(i["sourceTable"] == "users" and i["actor"] == "application" for i in items)
    assert "expiresAt" not in insert


def test_redelivered_records_are_not_written_twice(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud.users.put_item(Item={"userId": "u-2", "name": "Grace"})
    cloud.users.update_item(
        Key={"userId": "u-2"},
        UpdateExpression="SET #n = :n",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":n": "Grace Hopper"},
    )
    event = dynamodb_stream_event(*read_stream_records(cloud.stream_arn))
    outcomes = record_outcomes(monkeypatch)
    invoke(event)
    first = cloud.audit_items("u-2")
    # Mark the stored items: a redelivery that wrote them again would erase the mark.
    table = boto3.resource("dynamodb").Table(cloud.audit_table)
    for item in first:
        table.update_item(
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET marked = :t",
            ExpressionAttributeValues={":t": True},
        )

    # A retry resumes at the first failed record and redelivers the ones after it.
    assert invoke(event) == {"batchItemFailures": []}

    assert outcomes == ["written", "written", "duplicate", "duplicate"]
    again = cloud.audit_items("u-2")
    assert len(again) == 2
    assert all(item.pop("marked") is True for item in again)
    assert again == first


def record_outcomes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record what write_audit answers for each record the handler audits."""
    outcomes: list[str] = []
    real = handler.write_audit

    def recording(record: dict[str, Any]) -> str:
        outcome = real(record)
        outcomes.append(outcome)
        return outcome

    monkeypatch.setattr(handler, "write_audit", recording)
    return outcomes


def test_poison_record_goes_to_failure_queue_and_batch_continues(cloud: Cloud) -> None:
    good = dynamodb_stream_record("INSERT", {"userId": "u-3"}, new_image={"userId": "u-3"})
    poison = dynamodb_stream_record("INSERT", {"userId": "u-4"}, new_image={"userId": "u-4"})
    poison["dynamodb"]["NewImage"]["age"] = {"N": "not-a-number"}
    later = dynamodb_stream_record(
        "MODIFY",
        {"userId": "u-3"},
        old_image={"userId": "u-3"},
        new_image={"userId": "u-3", "plan": "pro"},
    )

    response = invoke(dynamodb_stream_event(good, poison, later))

    assert response == {"batchItemFailures": []}
    assert [i["eventName"] for i in cloud.audit_items("u-3")] == ["INSERT", "MODIFY"]
    assert cloud.audit_items("u-4") == []
    (message,) = cloud.failure_messages()
    body = json.loads(message["Body"])
    assert body["reason"] == "MALFORMED_RECORD"
    assert "age" in body["detail"]
    assert body["record"] == poison
    assert body["functionName"] == "audit-trail"
    assert body["sequenceNumber"] == poison["dynamodb"]["SequenceNumber"]
    assert message["MessageAttributes"]["reason"]["StringValue"] == "MALFORMED_RECORD"


@pytest.mark.parametrize(
    ("view_type", "event_name"),
    [("KEYS_ONLY", "INSERT"), ("NEW_IMAGE", "MODIFY"), ("OLD_IMAGE", "MODIFY")],
)
def test_record_without_needed_image_goes_to_failure_queue(
    cloud: Cloud, view_type: str, event_name: str
) -> None:
    record = dynamodb_stream_record(
        event_name,  # type: ignore[arg-type]
        {"userId": "u-5"},
        old_image={"userId": "u-5"},
        new_image={"userId": "u-5", "x": 1},
        view_type=view_type,  # type: ignore[arg-type]
    )

    assert invoke(dynamodb_stream_event(record)) == {"batchItemFailures": []}

    (message,) = cloud.failure_messages()
    body = json.loads(message["Body"])
    assert body["reason"] == "MISSING_IMAGE"
    assert view_type in body["detail"]


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda r: r.update(eventName="UPSERT"), id="unknown-event-name"),
        pytest.param(lambda r: r.pop("eventID"), id="no-event-id"),
        pytest.param(lambda r: r["dynamodb"].pop("Keys"), id="no-keys"),
        pytest.param(lambda r: r["dynamodb"].update(SequenceNumber="12x"), id="bad-sequence"),
        pytest.param(lambda r: r.update(eventSourceARN="arn:aws:kinesis:x"), id="not-a-table"),
        pytest.param(
            lambda r: r["dynamodb"]["NewImage"].update(tags={"SS": "a"}), id="set-not-a-list"
        ),
        pytest.param(
            lambda r: r["dynamodb"]["NewImage"].update(blob={"B": "***"}), id="bad-base64"
        ),
        pytest.param(lambda r: r["dynamodb"]["NewImage"].update(odd={"X": "1"}), id="unknown-type"),
    ],
)
def test_every_kind_of_malformed_record_is_kept_with_a_reason(cloud: Cloud, breakage: Any) -> None:
    record = dynamodb_stream_record("INSERT", {"userId": "u-6"}, new_image={"userId": "u-6"})
    breakage(record)

    assert invoke(dynamodb_stream_event(record)) == {"batchItemFailures": []}

    (message,) = cloud.failure_messages()
    assert json.loads(message["Body"])["reason"] == "MALFORMED_RECORD"
    assert cloud.audit_items("u-6") == []


def test_transient_failure_is_reported_and_the_rest_is_kept(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [
        dynamodb_stream_record("INSERT", {"userId": f"u-{n}"}, new_image={"userId": f"u-{n}"})
        for n in (10, 11, 12)
    ]
    client = handler.dynamodb_client()
    real_put = client.put_item

    def flaky_put(**kwargs: Any) -> Any:
        if kwargs["Item"]["eventId"]["S"] == records[1]["eventID"]:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "PutItem",
            )
        return real_put(**kwargs)

    monkeypatch.setattr(client, "put_item", flaky_put)

    response = invoke(dynamodb_stream_event(*records))

    assert response == {
        "batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]
    }
    assert len(cloud.audit_items("u-10")) == 1
    assert cloud.audit_items("u-11") == []
    assert len(cloud.audit_items("u-12")) == 1
    assert cloud.failure_messages() == []


def test_poison_record_is_retried_when_the_failure_queue_is_unreachable(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = dynamodb_stream_record("INSERT", {"userId": "u-20"}, new_image={"userId": "u-20"})
    poison = dynamodb_stream_record("INSERT", {"userId": "u-21"}, new_image={"userId": "u-21"})
    poison["eventName"] = "UPSERT"
    monkeypatch.setenv("FAILURE_QUEUE_URL", cloud.queue_url + "-missing")

    response = invoke(dynamodb_stream_event(good, poison))

    assert response == {
        "batchItemFailures": [{"itemIdentifier": poison["dynamodb"]["SequenceNumber"]}]
    }
    assert len(cloud.audit_items("u-20")) == 1


def test_batch_that_fails_whole_raises_so_lambda_retries_it(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = handler.dynamodb_client()

    def down(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, "PutItem")

    monkeypatch.setattr(client, "put_item", down)
    record = dynamodb_stream_record("INSERT", {"userId": "u-30"}, new_image={"userId": "u-30"})

    with pytest.raises(BatchProcessingError):
        invoke(dynamodb_stream_event(record))


def test_binary_values_and_sets_are_audited_exactly(cloud: Cloud) -> None:
    cloud.users.put_item(
        Item={"userId": "u-40", "avatar": b"\x89PNG\x00", "keys": {b"k1", b"k2"}, "scores": {1, 2}}
    )
    records = read_stream_records(cloud.stream_arn)

    assert invoke(dynamodb_stream_event(*records)) == {"batchItemFailures": []}

    (item,) = cloud.audit_items("u-40")
    assert item["changes"]["avatar"]["new"].value == b"\x89PNG\x00"
    assert {b.value for b in item["changes"]["keys"]["new"]} == {b"k1", b"k2"}
    assert item["changes"]["scores"]["new"] == {1, 2}


def test_equal_values_in_another_spelling_are_not_a_change(cloud: Cloud) -> None:
    record = dynamodb_stream_record(
        "MODIFY",
        {"userId": "u-50"},
        old_image={"userId": "u-50", "n": 1, "tags": {"a", "b"}},
        new_image={"userId": "u-50", "n": 1, "tags": {"a", "b"}},
    )
    record["dynamodb"]["NewImage"]["n"] = {"N": "1.0"}
    record["dynamodb"]["NewImage"]["tags"] = {"SS": ["b", "a"]}

    assert invoke(dynamodb_stream_event(record)) == {"batchItemFailures": []}

    assert cloud.audit_items("u-50") == []


def test_time_to_live_deletion_is_attributed_to_ttl(cloud: Cloud) -> None:
    record = dynamodb_stream_record(
        "REMOVE", {"userId": "u-60"}, old_image={"userId": "u-60"}, ttl_delete=True
    )

    invoke(dynamodb_stream_event(record))

    (item,) = cloud.audit_items("u-60")
    assert item["actor"] == "ttl"


def test_audit_retention_sets_the_expiry(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "30")
    monkeypatch.setattr(handler.time, "time", lambda: 1_700_000_000.0)
    record = dynamodb_stream_record("INSERT", {"userId": "u-70"}, new_image={"userId": "u-70"})

    invoke(dynamodb_stream_event(record))

    (item,) = cloud.audit_items("u-70")
    assert item["expiresAt"] == 1_700_000_000 + 30 * 86_400


def test_values_too_large_for_one_item_are_replaced_by_digests(cloud: Cloud) -> None:
    big_old, big_new = "a" * 300_000, "b" * 300_000
    record = dynamodb_stream_record(
        "MODIFY",
        {"userId": "u-80"},
        old_image={"userId": "u-80", "bio": big_old},
        new_image={"userId": "u-80", "bio": big_new},
    )

    assert invoke(dynamodb_stream_event(record)) == {"batchItemFailures": []}

    (item,) = cloud.audit_items("u-80")
    assert item["valuesOmitted"] is True
    assert item["changedAttributes"] == ["bio"]
    # The largest value (the old one, on a tie) goes first, and only as many as needed.
    encoded = json.dumps({"S": big_old}, separators=(",", ":")).encode()
    assert item["changes"]["bio"]["old"] == {
        "sha256": hashlib.sha256(encoded).hexdigest(),
        "bytes": len(encoded),
    }
    assert item["changes"]["bio"]["new"] == big_new


def nested(levels: int) -> dict[str, Any]:
    """A typed value ``levels`` deep: maps around one string."""
    value: dict[str, Any] = {"S": "leaf"}
    for _ in range(levels - 1):
        value = {"M": {"n": value}}
    return value


def stored_items(cloud: Cloud, pk: str) -> list[dict[str, Any]]:
    """The audit items under ``pk`` as the low-level client reads them (typed values)."""
    return boto3.client("dynamodb").query(
        TableName=cloud.audit_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
    )["Items"]


@pytest.mark.parametrize(
    "user_id",
    [
        pytest.param("k" * 2048, id="2048-ascii-bytes"),
        pytest.param("漢" * 682, id="682-cjk-characters"),
    ],
)
def test_items_with_keys_at_the_partition_key_limit_are_audited(cloud: Cloud, user_id: str) -> None:
    cloud.users.put_item(Item={"userId": user_id, "name": "Long"})
    cloud.users.update_item(
        Key={"userId": user_id},
        UpdateExpression="SET #n = :n",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":n": "Longer"},
    )
    records = read_stream_records(cloud.stream_arn)

    assert invoke(dynamodb_stream_event(*records)) == {"batchItemFailures": []}

    history = cloud.audit_items(user_id)
    assert [i["eventName"] for i in history] == ["INSERT", "MODIFY"]
    assert all(i["sourceKey"] == {"userId": user_id} for i in history)
    assert history[1]["changes"]["name"] == {"change": "modified", "old": "Long", "new": "Longer"}
    assert cloud.failure_messages() == []


def test_an_item_with_thousands_of_attributes_is_audited_in_parts(cloud: Cloud) -> None:
    image = {"userId": "u-90"} | {f"attribute-{n:05d}": "v" * 40 for n in range(8000)}
    record = dynamodb_stream_record("INSERT", {"userId": "u-90"}, new_image=image)

    assert invoke(dynamodb_stream_event(record)) == {"batchItemFailures": []}

    parts = sorted(cloud.audit_items("u-90"), key=lambda i: i["sk"])
    assert len(parts) > 1
    assert [p["part"] for p in parts] == list(range(1, len(parts) + 1))
    assert {p["parts"] for p in parts} == {len(parts)}
    assert [n for p in parts for n in p["changedAttributes"]] == sorted(image)
    changes = {k: v for p in parts for k, v in p["changes"].items()}
    assert all(changes[name] == {"change": "added", "new": image[name]} for name in image)
    assert cloud.failure_messages() == []


def test_a_value_at_the_nesting_limit_is_audited_as_its_digest(cloud: Cloud) -> None:
    record = dynamodb_stream_record("INSERT", {"userId": "u-91"}, new_image={"userId": "u-91"})
    record["dynamodb"]["NewImage"]["deep"] = nested(32)
    record["dynamodb"]["NewImage"]["fits"] = nested(30)

    assert invoke(dynamodb_stream_event(record)) == {"batchItemFailures": []}

    (item,) = stored_items(cloud, entity_key("users", {"userId": {"S": "u-91"}}))
    # moto stores any depth; DynamoDB refuses an item nested deeper than 32 levels.
    assert max(nesting_levels(value) for value in item.values()) <= 32
    assert item["changes"]["M"]["fits"]["M"]["new"] == nested(30)
    assert set(item["changes"]["M"]["deep"]["M"]["new"]["M"]) == {"sha256", "bytes"}
    assert item["valuesOmitted"] == {"BOOL": True}


@pytest.mark.parametrize(
    ("levels", "reason"),
    [(33, "NESTING_TOO_DEEP"), (5_000, "NESTING_TOO_DEEP")],
)
def test_values_nested_past_dynamodb_limits_are_parked(
    cloud: Cloud, levels: int, reason: str
) -> None:
    record = dynamodb_stream_record("INSERT", {"userId": "u-92"}, new_image={"userId": "u-92"})
    record["dynamodb"]["NewImage"]["deep"] = nested(levels)

    assert invoke(dynamodb_stream_event(record)) == {"batchItemFailures": []}

    (message,) = cloud.failure_messages()
    body = json.loads(message["Body"])
    assert body["reason"] == reason
    assert body["sequenceNumber"] == record["dynamodb"]["SequenceNumber"]
    assert cloud.audit_items("u-92") == []


def test_errors_no_retry_can_fix_are_parked_with_their_reason(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = dynamodb_stream_record("INSERT", {"userId": "u-93"}, new_image={"userId": "u-93"})

    def deep(*_: Any, **__: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(handler, "parse_change", deep)

    assert invoke(dynamodb_stream_event(record)) == {"batchItemFailures": []}

    (message,) = cloud.failure_messages()
    assert json.loads(message["Body"])["reason"] == "NESTING_TOO_DEEP"


def test_an_audit_item_dynamodb_refuses_is_parked_not_retried(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [
        dynamodb_stream_record("INSERT", {"userId": f"u-{n}"}, new_image={"userId": f"u-{n}"})
        for n in (94, 95)
    ]
    client = handler.dynamodb_client()
    real_put = client.put_item

    def refusing_put(**kwargs: Any) -> Any:
        if kwargs["Item"]["eventId"]["S"] == records[0]["eventID"]:
            raise ClientError(
                {"Error": {"Code": "ValidationException", "Message": "Item size too large"}},
                "PutItem",
            )
        return real_put(**kwargs)

    monkeypatch.setattr(client, "put_item", refusing_put)

    assert invoke(dynamodb_stream_event(*records)) == {"batchItemFailures": []}

    (message,) = cloud.failure_messages()
    body = json.loads(message["Body"])
    assert body["reason"] == "AUDIT_ITEM_REJECTED"
    assert "Item size too large" in body["detail"]
    assert body["record"] == records[0]
    assert cloud.audit_items("u-94") == []
    assert len(cloud.audit_items("u-95")) == 1


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(KeyError("AUDIT_TABLE_NAME"), id="a-bug"),
        pytest.param(
            ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "PutItem"),
            id="throttling",
        ),
        pytest.param(TimeoutError("read timeout"), id="timeout"),
    ],
)
def test_errors_a_retry_may_fix_are_not_parked(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    records = [
        dynamodb_stream_record("INSERT", {"userId": f"u-{n}"}, new_image={"userId": f"u-{n}"})
        for n in (96, 97)
    ]
    client = handler.dynamodb_client()
    real_put = client.put_item

    def failing_put(**kwargs: Any) -> Any:
        if kwargs["Item"]["eventId"]["S"] == records[0]["eventID"]:
            raise error
        return real_put(**kwargs)

    monkeypatch.setattr(client, "put_item", failing_put)

    response = invoke(dynamodb_stream_event(*records))

    assert response == {
        "batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]
    }
    assert cloud.failure_messages() == []
    assert len(cloud.audit_items("u-97")) == 1


def test_a_record_without_creation_time_is_audited_at_an_unknown_time(cloud: Cloud) -> None:
    early = dynamodb_stream_record(
        "INSERT", {"userId": "u-98"}, new_image={"userId": "u-98"}, sequence_number="900"
    )
    late = dynamodb_stream_record(
        "MODIFY",
        {"userId": "u-98"},
        old_image={"userId": "u-98"},
        new_image={"userId": "u-98", "plan": "pro"},
        sequence_number="1000",
    )
    del late["dynamodb"]["ApproximateCreationDateTime"]

    assert invoke(dynamodb_stream_event(early, late)) == {"batchItemFailures": []}

    history = cloud.audit_items("u-98")
    assert [i["eventName"] for i in history] == ["INSERT", "MODIFY"]
    assert history[0]["changedAtUnknown"] is False
    assert "changedAt" in history[0]
    assert history[1]["changedAtUnknown"] is True
    assert "changedAt" not in history[1]
    assert history[1]["changes"]["plan"] == {"change": "added", "new": "pro"}
    assert cloud.failure_messages() == []


def test_audit_items_never_expire_when_no_retention_is_configured(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUDIT_RETENTION_DAYS")
    record = dynamodb_stream_record("INSERT", {"userId": "u-71"}, new_image={"userId": "u-71"})

    assert invoke(dynamodb_stream_event(record)) == {"batchItemFailures": []}

    (item,) = cloud.audit_items("u-71")
    assert "expiresAt" not in item


def test_an_empty_retention_setting_keeps_audit_items_forever(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "")
    record = dynamodb_stream_record("INSERT", {"userId": "u-72"}, new_image={"userId": "u-72"})

    assert invoke(dynamodb_stream_event(record)) == {"batchItemFailures": []}

    (item,) = cloud.audit_items("u-72")
    assert "expiresAt" not in item


def test_a_one_day_retention_sets_the_expiry(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "1")
    monkeypatch.setattr(handler.time, "time", lambda: 1_700_000_000.5)
    record = dynamodb_stream_record("INSERT", {"userId": "u-73"}, new_image={"userId": "u-73"})

    invoke(dynamodb_stream_event(record))

    (item,) = cloud.audit_items("u-73")
    assert item["expiresAt"] == 1_700_000_000 + 86_400


def test_a_rewrite_of_equal_values_is_reported_unchanged(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = dynamodb_stream_record(
        "MODIFY",
        {"userId": "u-51"},
        old_image={"userId": "u-51", "n": 1},
        new_image={"userId": "u-51", "n": 1},
    )
    outcomes = record_outcomes(monkeypatch)

    assert invoke(dynamodb_stream_event(record)) == {"batchItemFailures": []}

    assert outcomes == ["unchanged"]
    assert cloud.audit_items("u-51") == []


def test_a_retry_writes_the_parts_an_interrupted_attempt_left_out(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = {"userId": "u-99"} | {f"attribute-{n:05d}": "v" * 40 for n in range(8000)}
    record = dynamodb_stream_record("INSERT", {"userId": "u-99"}, new_image=image)
    # Another record in the batch: a batch that fails whole is retried whole instead.
    other = dynamodb_stream_record("INSERT", {"userId": "u-89"}, new_image={"userId": "u-89"})
    event = dynamodb_stream_event(record, other)
    client = handler.dynamodb_client()
    real_put = client.put_item
    calls = 0

    def throttled_after_the_first_part(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "PutItem",
            )
        return real_put(**kwargs)

    monkeypatch.setattr(client, "put_item", throttled_after_the_first_part)
    sequence_number = record["dynamodb"]["SequenceNumber"]
    assert invoke(event) == {"batchItemFailures": [{"itemIdentifier": sequence_number}]}
    assert len(cloud.audit_items("u-99")) == 1

    outcomes = record_outcomes(monkeypatch)
    assert invoke(event) == {"batchItemFailures": []}

    assert outcomes == ["written", "duplicate"]
    parts = sorted(cloud.audit_items("u-99"), key=lambda i: i["sk"])
    assert len(parts) > 1
    assert [p["part"] for p in parts] == list(range(1, len(parts) + 1))
    assert [n for p in parts for n in p["changedAttributes"]] == sorted(image)


def test_a_parked_record_names_the_invocation_that_parked_it(cloud: Cloud) -> None:
    record = dynamodb_stream_record("INSERT", {"userId": "u-22"}, new_image={"userId": "u-22"})
    record["eventName"] = "UPSERT"
    context = LambdaContext(function_name="audit-trail", aws_request_id="req-22")

    assert handler.lambda_handler(dynamodb_stream_event(record), context) == {
        "batchItemFailures": []
    }

    (message,) = cloud.failure_messages()
    body = json.loads(message["Body"])
    assert body["functionName"] == "audit-trail"
    assert body["requestId"] == "req-22"
    assert body["eventID"] == record["eventID"]
    assert message["MessageAttributes"]["functionName"]["StringValue"] == "audit-trail"


def test_a_record_too_deep_to_keep_whole_is_parked_with_its_position(cloud: Cloud) -> None:
    record = dynamodb_stream_record("INSERT", {"userId": "u-23"}, new_image={"userId": "u-23"})
    record["dynamodb"]["NewImage"]["deep"] = nested(5_000)
    context = LambdaContext(function_name="audit-trail", aws_request_id="req-23")

    assert handler.lambda_handler(dynamodb_stream_event(record), context) == {
        "batchItemFailures": []
    }

    (message,) = cloud.failure_messages()
    body = json.loads(message["Body"])
    assert body["reason"] == "NESTING_TOO_DEEP"
    assert body["requestId"] == "req-23"
    assert body["eventID"] == record["eventID"]
    assert body["record"] == {
        "eventID": record["eventID"],
        "eventName": "INSERT",
        "eventSourceARN": record["eventSourceARN"],
        "dynamodb": {"SequenceNumber": record["dynamodb"]["SequenceNumber"]},
    }


def test_a_malformed_record_too_deep_to_keep_whole_is_still_parked(cloud: Cloud) -> None:
    record = dynamodb_stream_record("INSERT", {"userId": "u-24"}, new_image={"userId": "u-24"})
    long_arn = record["eventSourceARN"] + "x" * 3_000
    record.update(eventName=7, eventSourceARN=long_arn, dynamodb="not-a-body", deep=nested(5_000))

    assert invoke(dynamodb_stream_event(record)) == {"batchItemFailures": []}

    (message,) = cloud.failure_messages()
    body = json.loads(message["Body"])
    assert body["reason"] == "MALFORMED_RECORD"
    assert body["record"] == {
        "eventID": record["eventID"],
        "eventName": None,
        "eventSourceARN": long_arn[:2048],
        "dynamodb": {"SequenceNumber": None},
    }
