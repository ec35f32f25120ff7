"""The dynamic DNS example in the local cloud: instances live, events arrive as they may.

The stack is deployed from its template (VPC, DHCP options, zones, rule, function, table,
queues); instances run in moto's EC2; EC2's state-change events go through EventBridge to
the deployed function, duplicated and out of order; the zones must end as the instances'
final states say.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_cdk import App

from examples import DynamicDnsStack
from lambda_blueprints.testing import LocalCloud
from lambda_blueprints.testing.cloud import DeployedStack
from tests.conftest import CDK_CONTEXT

DOMAIN = "corp.internal."
INSTANCES = 50


@pytest.fixture(scope="module")
def stack() -> DynamicDnsStack:
    return DynamicDnsStack(App(context=CDK_CONTEXT), "DynamicDns")


@pytest.fixture
def deployed(
    stack: DynamicDnsStack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LocalCloud, DeployedStack]]:
    # moto's catalogue of public AMIs is not needed to run an instance, and slow to load.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with LocalCloud() as cloud:
        yield cloud, cloud.deploy(stack)


def records(zone_id: str) -> set[tuple[str, str, str]]:
    route53 = boto3.client("route53")
    found: set[tuple[str, str, str]] = set()
    kwargs: dict[str, Any] = {"HostedZoneId": zone_id}
    while True:
        page = route53.list_resource_record_sets(**kwargs)
        for record_set in page["ResourceRecordSets"]:
            if record_set["Type"] in ("A", "PTR", "CNAME"):
                for value in record_set["ResourceRecords"]:
                    found.add((record_set["Name"], record_set["Type"], value["Value"]))
        if not page["IsTruncated"]:
            return found
        kwargs["StartRecordName"] = page["NextRecordName"]
        kwargs["StartRecordType"] = page["NextRecordType"]


def messages(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        found += [json.loads(m["Body"]) for m in batch]
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def subnets(deployed: DeployedStack) -> list[str]:
    vpc_id = deployed.physical_id("Vpc")
    found = boto3.client("ec2").describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return sorted(subnet["SubnetId"] for subnet in found["Subnets"])


def expected(instances: dict[str, dict[str, Any]]) -> tuple[set[Any], set[Any]]:
    """The forward and reverse records the instances' final states call for."""
    ec2 = boto3.client("ec2")
    forward: set[Any] = set()
    reverse: set[Any] = set()
    for instance_id, spec in instances.items():
        found = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]
        instance = found["Instances"][0]
        if instance["State"]["Name"] != "running":
            continue
        ip = instance["PrivateIpAddress"]
        host = f"ip-{ip.replace('.', '-')}.{DOMAIN}"
        forward.add((host, "A", ip))
        a, b, c, d = ip.split(".")
        reverse.add((f"{d}.{c}.{b}.{a}.in-addr.arpa.", "PTR", host))
        if spec.get("CNAME"):
            forward.add((f"{spec['CNAME']}.{DOMAIN}", "CNAME", host))
    return forward, reverse


def test_fifty_instances_through_random_lives_with_duplicated_and_reordered_events(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    ec2 = boto3.client("ec2")
    rng = random.Random(20161027)
    subnet_ids = subnets(stack)
    instances: dict[str, dict[str, Any]] = {}
    for n in range(INSTANCES):
        # Every third instance has a CNAME tag, written with or without the trailing dot.
        tags = {"CNAME": f"app-{n}"} if n % 3 == 0 else {}
        tag_value = f"app-{n}.corp.internal" + ("." if n % 2 else "")
        launched = ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet_ids[n % len(subnet_ids)],
            **(
                {
                    "TagSpecifications": [
                        {"ResourceType": "instance", "Tags": [{"Key": "CNAME", "Value": tag_value}]}
                    ]
                }
                if tags
                else {}
            ),
        )["Instances"][0]
        instances[launched["InstanceId"]] = tags

    held_back: list[dict[str, Any]] = []
    delivered = 0
    live = set(instances)
    for _ in range(8):
        for instance_id in rng.sample(sorted(live), k=min(len(live), 20)):
            state = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0][
                "Instances"
            ][0]["State"]["Name"]
            if rng.random() < 0.1:
                ec2.terminate_instances(InstanceIds=[instance_id])
                live.discard(instance_id)
            elif state == "running":
                ec2.stop_instances(InstanceIds=[instance_id])
            else:
                ec2.start_instances(InstanceIds=[instance_id])
        cloud.clock.advance(30)
        held_back += cloud.ec2_state_changes()
        # Deliver some events now, some twice, the rest later in another order.
        rng.shuffle(held_back)
        now, held_back = held_back[: len(held_back) // 2], held_back[len(held_back) // 2 :]
        now += rng.sample(now, k=len(now) // 4)
        rng.shuffle(now)
        for start in range(0, len(now), 10):
            cloud.put_events(now[start : start + 10])
        delivered += len(now)
        cloud.run_until_idle()
    held_back += rng.sample(held_back, k=len(held_back) // 3)
    rng.shuffle(held_back)
    for start in range(0, len(held_back), 10):
        cloud.put_events(held_back[start : start + 10])
    delivered += len(held_back)
    cloud.run_until_idle()

    forward, reverse = expected(instances)
    assert records(stack.outputs["PrivateZoneId"]) == forward
    assert records(stack.outputs["ReverseZoneId"]) == reverse
    assert messages(stack.outputs["FailureQueueUrl"]) == []
    assert messages(stack.outputs["DeadLetterQueueUrl"]) == []
    final = {
        ec2.describe_instances(InstanceIds=[i])["Reservations"][0]["Instances"][0]["State"]["Name"]
        for i in instances
    }
    # The run covers every final state and many more events than instances.
    assert {"running", "stopped", "terminated"} <= final
    assert delivered > 5 * INSTANCES


def test_a_tag_naming_an_unmanaged_zone_lands_in_the_failure_queue(
    deployed: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, stack = deployed
    ec2 = boto3.client("ec2")
    instance = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnets(stack)[0],
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "ZONE", "Value": "elsewhere.test"}]}
        ],
    )["Instances"][0]["InstanceId"]
    cloud.put_events(cloud.ec2_state_changes())
    cloud.run_until_idle()
    [parked] = messages(stack.outputs["FailureQueueUrl"])
    assert parked["reason"] == "ZONE_NOT_FOUND"
    assert parked["record"]["detail"]["instance-id"] == instance
    assert records(stack.outputs["PrivateZoneId"]) == set()
