"""The database trigger example, deployed into the local cloud and driven with faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_cdk import App
from botocore.exceptions import ClientError

from examples import DatabaseTriggerStack
from lambda_blueprints.runtime.audit_trail import handler as audit_handler
from lambda_blueprints.runtime.audit_trail.changes import entity_key
from lambda_blueprints.testing import LocalCloud
from lambda_blueprints.testing.cloud import DeployedStack
from tests.conftest import CDK_CONTEXT


@pytest.fixture(scope="module")
def stack() -> DatabaseTriggerStack:
    return DatabaseTriggerStack(App(context=CDK_CONTEXT), "DatabaseTrigger")


class Trial:
    def __init__(self, cloud: LocalCloud, deployed: DeployedStack) -> None:
        self.cloud = cloud
        self.deployed = deployed
        dynamodb = boto3.resource("dynamodb")
        self.users = dynamodb.Table(deployed.physical_id("Users"))
        self.audit = dynamodb.Table(deployed.physical_id("UsersAudit/AuditTable"))
        self.queue_url = deployed.physical_id("UsersAudit/Trigger/DeadLetterQueue")
        self.function = deployed.physical_id("UsersAudit/Trigger/Function")
        self.table_name = self.users.name

    def write_changes(self, users: int) -> int:
        """Insert, modify and delete: three changes per user."""
        for n in range(users):
            self.users.put_item(Item={"userId": f"u-{n}", "name": f"User {n}", "plan": "free"})
        for n in range(users):
            self.users.update_item(
                Key={"userId": f"u-{n}"},
                UpdateExpression="SET #p = :p",
                ExpressionAttributeNames={"#p": "plan"},
                ExpressionAttributeValues={":p": "pro"},
            )
        for n in range(users):
            self.users.delete_item(Key={"userId": f"u-{n}"})
        return 3 * users

    def audited(self) -> list[dict[str, Any]]:
        return self.audit.scan(ConsistentRead=True)["Items"]

    def dead_letters(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        bodies = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def stream_sequence_numbers(self) -> list[int]:
        return [
            int(i.items[0])
            for i in self.cloud.log.invocations(function=self.function)
            for _ in [0]
            if i.items
        ]


@pytest.fixture
def trial(stack: DatabaseTriggerStack) -> Iterator[Trial]:
    audit_handler.dynamodb_client.cache_clear()
    audit_handler.sqs_client.cache_clear()
    with LocalCloud() as cloud:
        yield Trial(cloud, cloud.deploy(stack))
    audit_handler.dynamodb_client.cache_clear()
    audit_handler.sqs_client.cache_clear()


def assert_nothing_lost(trial: Trial, changes: int) -> None:
    """Every change is audited once, or covered by an on-failure record, or parked whole."""
    audited = {item["sequenceNumber"] for item in trial.audited()}
    assert len(audited) == len(trial.audited()), "an audit item was written twice"
    covered: list[tuple[int, int]] = []
    parked: set[str] = set()
    for body in trial.dead_letters():
        if "DDBStreamBatchInfo" in body:
            info = body["DDBStreamBatchInfo"]
            covered.append((int(info["startSequenceNumber"]), int(info["endSequenceNumber"])))
        else:
            parked.add(body["sequenceNumber"])
    delivered = {
        seq for i in trial.cloud.log.invocations(function=trial.function) for seq in i.items
    }
    assert len(delivered) == changes
    for seq in delivered:
        assert (
            seq in audited or seq in parked or any(low <= int(seq) <= high for low, high in covered)
        ), f"record {seq} was lost"


def test_every_change_is_audited(trial: Trial) -> None:
    changes = trial.write_changes(4)

    trial.cloud.run_until_idle()

    items = trial.audited()
    assert len(items) == changes
    history = sorted(
        (i for i in items if i["pk"] == entity_key(trial.table_name, {"userId": {"S": "u-1"}})),
        key=lambda i: i["sk"],
    )
    assert [i["eventName"] for i in history] == ["INSERT", "MODIFY", "REMOVE"]
    assert history[1]["changes"]["plan"] == {"change": "modified", "old": "free", "new": "pro"}
    assert history[0]["expiresAt"] > 0
    assert trial.cloud.log.failures() == []
    assert trial.dead_letters() == []


def test_the_function_runs_with_its_deployed_configuration(trial: Trial) -> None:
    function = trial.cloud.functions[trial.function]

    assert function.environment["AUDIT_TABLE_NAME"] == trial.audit.name
    assert function.environment["FAILURE_QUEUE_URL"] == trial.queue_url
    assert function.environment["AUDIT_RETENTION_DAYS"] == "365"
    (mapping,) = trial.cloud.stream_mappings.values()
    assert (mapping.batch_size, mapping.max_retries, mapping.bisect, mapping.report_failures) == (
        100,
        3,
        True,
        True,
    )


def test_failed_invocations_are_retried_and_nothing_is_lost(trial: Trial) -> None:
    changes = trial.write_changes(5)
    trial.cloud.faults.inject(trial.function, fail=2)

    trial.cloud.run_until_idle()

    assert len(trial.audited()) == changes
    outcomes = [i.outcome for i in trial.cloud.log.invocations(function=trial.function)]
    assert outcomes[:2] == ["failure", "failure"]
    assert_nothing_lost(trial, changes)


def test_duplicate_deliveries_write_each_audit_item_once(trial: Trial) -> None:
    changes = trial.write_changes(3)
    trial.cloud.faults.inject(trial.function, duplicate=5)

    trial.cloud.run_until_idle()

    assert len(trial.audited()) == changes
    assert_nothing_lost(trial, changes)


def test_poison_records_are_parked_whole_and_the_rest_is_audited(trial: Trial) -> None:
    changes = trial.write_changes(3)

    def corrupt(event: dict[str, Any]) -> dict[str, Any]:
        for record in event["Records"]:
            if record["dynamodb"]["Keys"]["userId"]["S"] == "u-2":
                record["dynamodb"]["NewImage"] = {"plan": {"N": "not-a-number"}}
                record["dynamodb"].setdefault("OldImage", {"plan": {"S": "free"}})
        return event

    trial.cloud.faults.inject(trial.function, mutate=corrupt)

    trial.cloud.run_until_idle()

    parked = [b for b in trial.dead_letters() if "reason" in b]
    assert len(parked) == 3
    assert {b["reason"] for b in parked} == {"MALFORMED_RECORD"}
    assert len(trial.audited()) == changes - 3
    assert trial.cloud.log.failures() == []


def test_transient_write_failures_are_retried_from_the_failed_record(
    trial: Trial, monkeypatch: pytest.MonkeyPatch
) -> None:
    changes = trial.write_changes(4)
    client = audit_handler.dynamodb_client()
    real_put = client.put_item
    failures = {"left": 2}

    def flaky_put(**kwargs: Any) -> Any:
        if '"u-3"' in kwargs["Item"]["pk"]["S"] and failures["left"]:
            failures["left"] -= 1
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "PutItem",
            )
        return real_put(**kwargs)

    monkeypatch.setattr(client, "put_item", flaky_put)

    trial.cloud.run_until_idle()

    assert len(trial.audited()) == changes
    assert "partial" in [i.outcome for i in trial.cloud.log.invocations(function=trial.function)]
    assert_nothing_lost(trial, changes)


def test_a_function_that_never_succeeds_sends_every_record_to_the_failure_queue(
    trial: Trial,
) -> None:
    changes = trial.write_changes(2)
    trial.cloud.faults.inject(trial.function, fail=10_000)

    trial.cloud.run_until_idle()

    assert trial.audited() == []
    failures = trial.cloud.log.failures()
    assert sum(f.body["DDBStreamBatchInfo"]["batchSize"] for f in failures) == changes
    assert {f.condition for f in failures} == {"RetryAttemptsExhausted"}
    # Bisected down to single records, each invoked 1 + 3 times before it is discarded.
    assert {f.body["requestContext"]["approximateInvokeCount"] for f in failures} == {4}
    assert_nothing_lost(trial, changes)
