"""The dynamic DNS handler end to end on moto: EC2 instances, Route 53 zones, the table."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambda_blueprints.runtime.dynamic_dns import handler as ddns
from lambda_blueprints.testing import LambdaContext
from lambda_blueprints.testing.events.eventbridge import ec2_state_change_event
from lambda_blueprints.testing.route53 import strict_route53
from tests.conftest import require_conformance

REGION = "us-east-1"
PRIVATE = "corp.internal."
PUBLIC = "example.com."
REVERSE = "20.10.in-addr.arpa."
OTHER = "lab.internal."
T0 = time.time() - 600


@dataclass
class World:
    """The moto resources one test runs against."""

    vpc_id: str
    subnet_id: str
    zones: dict[str, str]
    queue_url: str

    def launch(self, tags: dict[str, str] | None = None, **kwargs: Any) -> str:
        ec2 = client("ec2")
        spec: dict[str, Any] = {}
        if tags:
            spec["TagSpecifications"] = [
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                }
            ]
        kwargs.setdefault("SubnetId", self.subnet_id)
        if kwargs["SubnetId"] is None:
            del kwargs["SubnetId"]
        instance = ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=1, MaxCount=1, **spec, **kwargs
        )["Instances"][0]
        return str(instance["InstanceId"])

    def records(self, zone: str) -> set[tuple[str, str, str]]:
        """The zone's A, PTR and CNAME records: (name, type, value)."""
        sets = client("route53").list_resource_record_sets(HostedZoneId=self.zones[zone])
        return {
            (s["Name"], s["Type"], r["Value"])
            for s in sets["ResourceRecordSets"]
            if s["Type"] in ("A", "PTR", "CNAME")
            for r in s["ResourceRecords"]
        }

    def parked(self) -> list[dict[str, Any]]:
        messages = (
            client("sqs")
            .receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            )
            .get("Messages", [])
        )
        return [json.loads(m["Body"]) for m in messages]

    def item(self, instance_id: str) -> dict[str, Any] | None:
        table = _SESSION.resource("dynamodb").Table("instances")
        item: dict[str, Any] | None = table.get_item(Key={"instanceId": instance_id}).get("Item")
        return item


_SESSION = boto3.Session(region_name=REGION)


@cache
def client(service: str) -> Any:
    """One client per service for the whole module: moto serves whichever mock is on."""
    return _SESSION.client(service)


def _zone(name: str, vpc_id: str | None) -> str:
    route53 = client("route53")
    kwargs: dict[str, Any] = {"Name": name, "CallerReference": name}
    if vpc_id:
        kwargs["VPC"] = {"VPCRegion": REGION, "VPCId": vpc_id}
        kwargs["HostedZoneConfig"] = {"PrivateZone": True}
    return str(route53.create_hosted_zone(**kwargs)["HostedZone"]["Id"].rsplit("/", 1)[-1])


def make_vpc(
    *, hostnames: bool = True, support: bool = True, domain: str | None = PRIVATE
) -> tuple[str, str]:
    ec2 = client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": support})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": hostnames})
    if domain:
        options = ec2.create_dhcp_options(
            DhcpConfigurations=[
                {"Key": "domain-name", "Values": [domain.rstrip(".")]},
                {"Key": "domain-name-servers", "Values": ["AmazonProvidedDNS"]},
            ]
        )["DhcpOptions"]["DhcpOptionsId"]
        ec2.associate_dhcp_options(DhcpOptionsId=options, VpcId=vpc_id)
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    return str(vpc_id), str(subnet_id)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    # moto's catalogue of public AMIs is not needed to run an instance, and slow to load.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    # strict_route53: moto's Route 53 refuses the change batches Route 53 refuses.
    with mock_aws(), strict_route53():
        # mock_aws starts each test without a default session; one shared session keeps
        # botocore's parsed service models (EC2's takes a second to load) across tests.
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", _SESSION)
        vpc_id, subnet_id = make_vpc()
        zones = {
            PRIVATE: _zone(PRIVATE, vpc_id),
            REVERSE: _zone(REVERSE, vpc_id),
            PUBLIC: _zone(PUBLIC, None),
            OTHER: _zone(OTHER, vpc_id),
        }
        client("dynamodb").create_table(
            TableName="instances",
            KeySchema=[{"AttributeName": "instanceId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "instanceId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        url = client("sqs").create_queue(QueueName="ddns-failures")["QueueUrl"]
        managed = [
            {"id": zones[name], "name": name, "private": name != PUBLIC}
            for name in (PRIVATE, REVERSE, PUBLIC, OTHER)
        ]
        monkeypatch.setenv("TABLE_NAME", "instances")
        monkeypatch.setenv("HOSTED_ZONES", json.dumps(managed))
        monkeypatch.setenv("FAILURE_QUEUE_URL", url)
        monkeypatch.setenv("RECORD_TTL_SECONDS", "60")
        monkeypatch.setenv("FORGET_AFTER_SECONDS", str(7 * 86_400))
        waits: list[float] = []
        monkeypatch.setattr(ddns, "sleep", waits.append)
        for cached in (ddns.ec2_client, ddns.route53_client, ddns.sqs_client, ddns.table_for):
            cached.cache_clear()
        yield World(vpc_id, subnet_id, zones, url)
        for cached in (ddns.ec2_client, ddns.route53_client, ddns.sqs_client, ddns.table_for):
            cached.cache_clear()


def send(instance_id: str, state: str, at: float, **kwargs: Any) -> dict[str, Any]:
    event = ec2_state_change_event(instance_id, state, time=at, **kwargs)  # type: ignore[arg-type]
    return ddns.lambda_handler(event, LambdaContext(function_name="ddns"))


def private_ip(instance_id: str) -> str:
    ec2 = client("ec2")
    found = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return str(found["PrivateIpAddress"])


def expected_private(instance_id: str, zone: str = PRIVATE) -> tuple[set[Any], set[Any]]:
    ip = private_ip(instance_id)
    host = f"ip-{ip.replace('.', '-')}.{zone}"
    octets = ip.split(".")
    pointer = f"{octets[3]}.{octets[2]}.{octets[1]}.{octets[0]}.in-addr.arpa."
    return {(host, "A", ip)}, {(pointer, "PTR", host)}


# -- running: which records, in which zone ----------------------------------------------


def test_dhcp_domain_alone_gives_a_and_ptr_records(world: World) -> None:
    instance = world.launch()
    result = send(instance, "running", T0)
    a, ptr = expected_private(instance)
    assert result["outcome"] == "applied"
    assert world.records(PRIVATE) == a
    assert world.records(REVERSE) == ptr
    assert world.parked() == []
    item = world.item(instance)
    assert item is not None
    assert item["version"] == 1 and item["state"] == "running"
    assert "expiresAt" not in item  # a running instance is never forgotten
    assert item["instance"]["privateIp"] == private_ip(instance)


@pytest.mark.parametrize(
    "tag", ["lab.internal.", "lab.internal", "LAB.Internal.", " lab.internal "]
)
def test_zone_tag_with_or_without_trailing_dot_names_the_zone(world: World, tag: str) -> None:
    instance = world.launch({"ZONE": tag})
    send(instance, "running", T0)
    a, ptr = expected_private(instance, OTHER)
    assert world.records(OTHER) == a
    assert world.records(PRIVATE) == set()  # the tag overrides the DHCP domain
    assert world.records(REVERSE) == ptr


@pytest.mark.parametrize("tag", ["www.corp.internal.", "www.corp.internal", "WWW.corp.internal"])
def test_cname_tag_points_at_the_instances_a_record(world: World, tag: str) -> None:
    instance = world.launch({"CNAME": tag})
    send(instance, "running", T0)
    ((host, _, _),) = expected_private(instance)[0]
    assert ("www.corp.internal.", "CNAME", host) in world.records(PRIVATE)


def test_cname_in_another_zone_points_at_the_instances_a_record(world: World) -> None:
    instance = world.launch({"CNAME": "build.lab.internal."})
    send(instance, "running", T0)
    ((host, _, _),) = expected_private(instance)[0]
    assert world.records(OTHER) == {("build.lab.internal.", "CNAME", host)}


def test_cname_without_an_a_record_points_at_the_ec2_dns_name(world: World) -> None:
    _, subnet_id = make_vpc(domain=None)
    instance = world.launch({"CNAME": "build.lab.internal."}, SubnetId=subnet_id)
    send(instance, "running", T0)
    ip = private_ip(instance)
    assert (
        "build.lab.internal.",
        "CNAME",
        f"ip-{ip.replace('.', '-')}.ec2.internal.",
    ) in world.records(OTHER)


def test_public_zone_gets_an_a_record_of_the_public_address_and_no_ptr(world: World) -> None:
    instance = world.launch(
        {"ZONE": "example.com", "CNAME": "www.example.com"},
        SubnetId=None,
        NetworkInterfaces=[
            {"DeviceIndex": 0, "SubnetId": world.subnet_id, "AssociatePublicIpAddress": True}
        ],
    )
    ec2 = client("ec2")
    found = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    public, public_dns = found["PublicIpAddress"], found["PublicDnsName"]
    send(instance, "running", T0)
    host = f"{public_dns.split('.')[0]}.example.com."
    assert world.records(PUBLIC) == {(host, "A", public), ("www.example.com.", "CNAME", host)}
    assert world.records(REVERSE) == set()  # the reverse zones of public addresses are AWS's
    assert world.parked() == []


def test_public_zone_without_a_public_address_is_parked(world: World) -> None:
    instance = world.launch({"ZONE": "example.com"})
    send(instance, "running", T0)
    assert world.records(PUBLIC) == set()
    [parked] = world.parked()
    assert parked["reason"] == "NO_PUBLIC_ADDRESS"


def test_missing_tags_and_no_managed_dhcp_domain_write_nothing(world: World) -> None:
    _, subnet_id = make_vpc(domain="ec2.internal")
    instance = world.launch(SubnetId=subnet_id)
    result = send(instance, "running", T0)
    assert result["outcome"] == "applied" and result["upserted"] == []
    assert all(world.records(zone) == set() for zone in world.zones)
    assert world.parked() == []  # not ours: not a failure


@pytest.mark.parametrize(("hostnames", "support"), [(False, True), (True, False)])
def test_vpc_without_dns_hostnames_or_support_is_parked(
    world: World, hostnames: bool, support: bool
) -> None:
    _, subnet_id = make_vpc(hostnames=hostnames, support=support)
    instance = world.launch(SubnetId=subnet_id)
    result = send(instance, "running", T0)
    assert world.records(PRIVATE) == set() and world.records(REVERSE) == set()
    [parked] = world.parked()
    assert parked["reason"] == "VPC_DNS_DISABLED"
    assert parked["record"]["detail"]["instance-id"] == instance
    assert result["problems"] == ["VPC_DNS_DISABLED"]


def test_zone_tag_naming_an_unmanaged_zone_is_parked_and_the_cname_still_written(
    world: World,
) -> None:
    instance = world.launch({"ZONE": "nowhere.internal.", "CNAME": "app.corp.internal"})
    send(instance, "running", T0)
    [parked] = world.parked()
    assert parked["reason"] == "ZONE_NOT_FOUND"
    assert "nowhere.internal." in parked["detail"]
    assert {r[:2] for r in world.records(PRIVATE)} == {("app.corp.internal.", "CNAME")}


def test_a_managed_zone_route53_does_not_have_is_parked(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    managed = json.loads(ddns.os.environ["HOSTED_ZONES"])
    managed.append({"id": "Z0000000000000000GONE", "name": "gone.internal.", "private": True})
    monkeypatch.setenv("HOSTED_ZONES", json.dumps(managed))
    instance = world.launch({"ZONE": "gone.internal"})
    result = send(instance, "running", T0)
    assert result["problems"] == ["ZONE_NOT_FOUND"]
    [parked] = world.parked()
    assert parked["reason"] == "ZONE_NOT_FOUND" and "Z0000000000000000GONE" in parked["detail"]
    assert world.records(REVERSE) != set()  # the PTR in a zone that exists is written


@pytest.mark.parametrize(
    ("tags", "reason"),
    [
        ({"CNAME": "corp.internal."}, "INVALID_TAG"),  # the apex
        ({"CNAME": "bad..name.corp.internal"}, "INVALID_TAG"),
        ({"ZONE": "-corp.internal"}, "INVALID_TAG"),
        ({"CNAME": "www.elsewhere.test"}, "ZONE_NOT_FOUND"),
    ],
)
def test_unusable_tags_are_parked_with_their_reason(
    world: World, tags: dict[str, str], reason: str
) -> None:
    instance = world.launch(tags)
    send(instance, "running", T0)
    [parked] = world.parked()
    assert parked["reason"] == reason


# -- stopping and terminating -----------------------------------------------------------


@pytest.mark.parametrize("state", ["stopping", "stopped", "shutting-down", "terminated"])
def test_leaving_running_deletes_exactly_the_records_written(world: World, state: str) -> None:
    instance = world.launch({"CNAME": "www.corp.internal"})
    neighbour = world.launch()
    send(instance, "running", T0)
    send(neighbour, "running", T0)
    before_neighbour = expected_private(neighbour)
    send(instance, state, T0 + 5)
    assert world.records(PRIVATE) == before_neighbour[0]
    assert world.records(REVERSE) == before_neighbour[1]
    item = world.item(instance)
    assert item is not None and item["records"] == []
    assert int(item["expiresAt"]) >= int(time.time()) + 7 * 86_400 - 5


def test_a_record_someone_changed_is_left_alone(world: World) -> None:
    instance = world.launch()
    send(instance, "running", T0)
    ((host, _, _),) = expected_private(instance)[0]
    client("route53").change_resource_record_sets(
        HostedZoneId=world.zones[PRIVATE],
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": host,
                        "Type": "A",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": "10.20.9.9"}],
                    },
                }
            ]
        },
    )
    send(instance, "stopped", T0 + 5)
    assert world.records(PRIVATE) == {(host, "A", "10.20.9.9")}
    assert world.records(REVERSE) == set()


def test_records_already_as_wanted_are_not_changed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = world.launch()
    send(instance, "running", T0)
    calls: list[Any] = []
    route53 = ddns.route53_client()
    monkeypatch.setattr(route53, "change_resource_record_sets", lambda **kw: calls.append(kw))
    result = send(instance, "running", T0)  # a duplicate
    assert result["outcome"] == "checked"
    assert calls == []


def test_a_lost_record_is_restored_by_a_duplicate(world: World) -> None:
    instance = world.launch()
    send(instance, "running", T0)
    ((host, _, ip),) = expected_private(instance)[0]
    client("route53").change_resource_record_sets(
        HostedZoneId=world.zones[PRIVATE],
        ChangeBatch={
            "Changes": [
                {
                    "Action": "DELETE",
                    "ResourceRecordSet": {
                        "Name": host,
                        "Type": "A",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": ip}],
                    },
                }
            ]
        },
    )
    send(instance, "running", T0)
    assert world.records(PRIVATE) == {(host, "A", ip)}


# -- duplicates and order ---------------------------------------------------------------


def test_duplicates_change_nothing_and_park_nothing_twice(world: World) -> None:
    instance = world.launch({"ZONE": "nowhere.internal"})
    first = send(instance, "running", T0)
    second = send(instance, "running", T0)
    assert first["outcome"] == "applied" and second["outcome"] == "checked"
    assert len(world.parked()) == 1
    item = world.item(instance)
    assert item is not None and item["version"] == 1


def test_late_running_after_terminated_does_not_resurrect(world: World) -> None:
    instance = world.launch()
    send(instance, "running", T0)
    send(instance, "terminated", T0 + 60)
    result = send(instance, "running", T0 + 3600)  # even with a later time: terminated is final
    assert result["outcome"] == "checked"
    assert world.records(PRIVATE) == set() and world.records(REVERSE) == set()


def test_terminated_first_then_running_leaves_nothing(world: World) -> None:
    instance = world.launch()
    send(instance, "terminated", T0 + 30)
    send(instance, "running", T0)
    assert world.records(PRIVATE) == set()
    item = world.item(instance)
    assert item is not None and item["state"] == "terminated"


def test_an_older_stop_after_a_newer_running_keeps_the_records(world: World) -> None:
    instance = world.launch()
    send(instance, "running", T0 + 20)
    send(instance, "stopped", T0 + 10)
    assert world.records(PRIVATE) == expected_private(instance)[0]


@pytest.mark.parametrize("order", [("running", "stopped"), ("stopped", "running")])
def test_within_one_second_the_later_state_of_life_wins(
    world: World, order: tuple[str, str]
) -> None:
    instance = world.launch()
    for state in order:
        send(instance, state, T0)
    assert world.records(PRIVATE) == set()


def test_running_for_an_instance_ec2_says_stopped_writes_nothing(world: World) -> None:
    instance = world.launch()
    client("ec2").stop_instances(InstanceIds=[instance])
    result = send(instance, "running", T0)
    assert result["outcome"] == "skipped"
    assert world.records(PRIVATE) == set() and world.item(instance) is None


def test_a_version_stored_meanwhile_by_another_invocation_wins(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = world.launch()
    real = ddns.converge
    raced: list[bool] = []

    def racing(route53: Any, target: Any, managed: Any = None) -> Any:
        done = real(route53, target, managed)
        if not raced:  # a terminate applied while this running event was being written
            raced.append(True)
            table = _SESSION.resource("dynamodb").Table("instances")
            item = table.get_item(Key={"instanceId": instance})["Item"]
            table.put_item(
                Item={
                    **item,
                    "version": 2,
                    "state": "terminated",
                    "eventTime": "2099-01-01T00:00:00+00:00",
                    "records": [],
                    "retired": item["records"],
                }
            )
        return done

    monkeypatch.setattr(ddns, "converge", racing)
    send(instance, "running", T0)
    assert world.records(PRIVATE) == set() and world.records(REVERSE) == set()


# -- EC2's eventual consistency ----------------------------------------------------------


def test_an_instance_ec2_does_not_show_yet_is_retried_with_backoff_then_raised(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ddns.RetryLaterError):
        send("i-0123456789abcdef0", "running", time.time() - 5)
    waits = ddns.sleep.__self__  # type: ignore[attr-defined]
    assert len(waits) == len(ddns.DESCRIBE_BACKOFF)
    assert all(0.5 * b <= w <= 1.5 * b for w, b in zip(waits, ddns.DESCRIBE_BACKOFF, strict=True))


def test_a_running_event_for_an_instance_long_gone_is_skipped(world: World) -> None:
    result = send("i-0123456789abcdef0", "running", time.time() - 2 * 3600)
    assert result["outcome"] == "skipped"
    assert world.parked() == []


def test_instance_found_on_a_later_attempt(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = world.launch()
    ec2 = ddns.ec2_client()
    real = ec2.describe_instances
    misses = [1, 1]

    def eventually(**kwargs: Any) -> Any:
        if misses:
            misses.pop()
            raise ec2.exceptions.ClientError(
                {"Error": {"Code": "InvalidInstanceID.NotFound", "Message": "no"}},
                "DescribeInstances",
            )
        return real(**kwargs)

    monkeypatch.setattr(ec2, "describe_instances", eventually)
    send(instance, "running", T0)
    assert world.records(PRIVATE) == expected_private(instance)[0]
    assert len(ddns.sleep.__self__) == 2  # type: ignore[attr-defined]


# -- zones and VPCs --------------------------------------------------------------------


@pytest.mark.parametrize("associate", [True, False])
def test_private_zones_are_associated_with_a_new_vpc_only_when_asked(
    world: World, monkeypatch: pytest.MonkeyPatch, associate: bool
) -> None:
    monkeypatch.setenv("ASSOCIATE_VPCS", "true" if associate else "false")
    vpc_id, subnet_id = make_vpc(domain=None)
    instance = world.launch({"ZONE": "corp.internal"}, SubnetId=subnet_id)
    send(instance, "running", T0)
    route53 = client("route53")
    for zone in (PRIVATE, REVERSE):
        vpcs = {v["VPCId"] for v in route53.get_hosted_zone(Id=world.zones[zone])["VPCs"]}
        assert (vpc_id in vpcs) is associate
    assert world.records(PRIVATE) == expected_private(instance)[0]


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"detail": "x", "time": "2026-01-01T00:00:00Z"},
        {"detail": {"state": "running"}, "time": "2026-01-01T00:00:00Z"},
        {"detail": {"instance-id": "i-0abc", "state": "exploded"}, "time": "2026-01-01T00:00:00Z"},
        {"detail": {"instance-id": "i-0abc", "state": "running"}},
        {"detail": {"instance-id": "i-0abc", "state": "running"}, "time": "yesterday"},
        {"detail": {"instance-id": "i-0abc", "state": "running"}, "time": "2026-01-01T00:00:00"},
        [],
    ],
)
def test_malformed_events_are_parked(world: World, event: Any) -> None:
    result = ddns.lambda_handler(event, LambdaContext(function_name="ddns"))
    assert result["outcome"] == "parked"
    [parked] = world.parked()
    assert parked["reason"] == "MALFORMED_EVENT"


def test_pending_changes_nothing(world: World) -> None:
    instance = world.launch()
    assert send(instance, "pending", T0)["outcome"] == "skipped"
    assert world.item(instance) is None


def test_a_restart_keeps_the_records_it_wants_again(world: World) -> None:
    instance = world.launch()
    send(instance, "running", T0)
    send(instance, "stopped", T0 + 10)
    send(instance, "running", T0 + 20)
    a, ptr = expected_private(instance)
    assert world.records(PRIVATE) == a and world.records(REVERSE) == ptr
    item = world.item(instance)
    assert item is not None and item["version"] == 3


def test_records_in_a_zone_no_longer_managed_are_left_alone(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = world.launch({"ZONE": "lab.internal"})
    send(instance, "running", T0)
    managed = [z for z in json.loads(ddns.os.environ["HOSTED_ZONES"]) if z["name"] != OTHER]
    monkeypatch.setenv("HOSTED_ZONES", json.dumps(managed))
    send(instance, "stopped", T0 + 10)
    assert world.records(OTHER) == expected_private(instance, OTHER)[0]
    assert world.records(REVERSE) == set()


def test_a_batch_refused_because_a_record_changed_meanwhile_is_planned_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = world.launch()
    send(instance, "running", T0)
    route53 = ddns.route53_client()
    real = route53.change_resource_record_sets
    refusals: list[str] = []

    def racing(**kwargs: Any) -> Any:
        if not refusals:
            refusals.append(kwargs["HostedZoneId"])
            # Someone deletes the record between the handler's read and its write.
            change = kwargs["ChangeBatch"]["Changes"][0]
            real(HostedZoneId=kwargs["HostedZoneId"], ChangeBatch={"Changes": [change]})
            raise route53.exceptions.InvalidChangeBatch(
                {
                    "Error": {
                        "Code": "InvalidChangeBatch",
                        "Message": "[Tried to delete resource record set [name='x.', "
                        "type='A'] but it was not found]",
                    }
                },
                "ChangeResourceRecordSets",
            )
        return real(**kwargs)

    monkeypatch.setattr(route53, "change_resource_record_sets", racing)
    result = send(instance, "stopped", T0 + 10)
    assert refusals and result["problems"] == []
    assert world.records(PRIVATE) == set() and world.records(REVERSE) == set()
    assert world.parked() == []


def test_a_recorded_eventbridge_event_is_read_by_its_envelope(world: World) -> None:
    sample = require_conformance("events") / "powertools-eventBridgeEvent.json"
    event = json.loads(sample.read_text())
    # The recorded sample spells the instance id `instance_id`; EC2 sends `instance-id`, as
    # AWS documents the event. The sample is parked, not dropped...
    result = ddns.lambda_handler(event, LambdaContext(function_name="ddns"))
    assert result["outcome"] == "parked"
    [parked] = world.parked()
    assert parked["reason"] == "MALFORMED_EVENT" and "instance-id" in parked["detail"]
    # ...and with EC2's spelling its envelope (a replay, from another region) is applied.
    detail = {"instance-id": event["detail"]["instance_id"], "state": event["detail"]["state"]}
    result = ddns.lambda_handler({**event, "detail": detail}, LambdaContext(function_name="ddns"))
    assert result["outcome"] == "applied"
    item = world.item("i-1234567890abcdef0")
    assert item is not None and item["state"] == "terminated"
    assert item["eventTime"] == "2017-12-22T18:43:48+00:00"
