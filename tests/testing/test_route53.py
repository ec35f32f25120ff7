"""Route 53 in the local cloud: zones and records deployed, and refused as Route 53 refuses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from lambda_blueprints.testing import LocalCloud
from lambda_blueprints.testing.cloud import _Deployment
from lambda_blueprints.testing.route53 import dns_name, strict_route53

ZONE = "corp.example.com"


@pytest.fixture
def route53() -> Iterator[Any]:
    with mock_aws(), strict_route53():
        yield boto3.client("route53")


@pytest.fixture
def vpcs() -> list[str]:
    """Two VPCs in moto's EC2 (the ``route53`` fixture's moto)."""
    ec2 = boto3.client("ec2")
    return [ec2.create_vpc(CidrBlock=f"10.{n}.0.0/16")["Vpc"]["VpcId"] for n in (1, 2)]


@pytest.fixture
def zone(route53: Any, vpcs: list[str]) -> str:
    """A private zone of the first VPC, holding ``host`` (A, TTL 60, 10.0.0.1 and .2)."""
    created = route53.create_hosted_zone(
        Name=ZONE,
        CallerReference="zone",
        VPC={"VPCRegion": "us-east-1", "VPCId": vpcs[0]},
        HostedZoneConfig={"PrivateZone": True},
    )
    zone_id = str(created["HostedZone"]["Id"]).rsplit("/", 1)[-1]
    change(route53, zone_id, record("CREATE", "host", values=("10.0.0.1", "10.0.0.2")))
    return zone_id


def record(
    action: str,
    name: str,
    kind: str = "A",
    *,
    ttl: int | None = 60,
    values: tuple[str, ...] = ("10.0.0.1",),
) -> dict[str, Any]:
    record_set: dict[str, Any] = {
        "Name": name if "." in name else f"{name}.{ZONE}".strip("."),
        "Type": kind,
        "ResourceRecords": [{"Value": v} for v in values],
    }
    if ttl is not None:
        record_set["TTL"] = ttl
    return {"Action": action, "ResourceRecordSet": record_set}


def change(route53: Any, zone_id: str, *changes: dict[str, Any]) -> None:
    route53.change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Changes": list(changes)}
    )


def refusal(route53: Any, zone_id: str, *changes: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        change(route53, zone_id, *changes)
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


def record_sets(route53: Any, zone_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    pages = route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id)
    return {(r["Name"], r["Type"]): r for page in pages for r in page["ResourceRecordSets"]}


def values(route53: Any, zone_id: str, name: str, kind: str = "A") -> list[str] | None:
    found = record_sets(route53, zone_id).get((name, kind))
    return None if found is None else [r["Value"] for r in found["ResourceRecords"]]


# --------------------------------------------------------------------------- names


def test_names_are_kept_lowercase_escaped_with_the_trailing_dot(route53: Any, zone: str) -> None:
    change(
        route53,
        zone,
        record("CREATE", "Web.CORP.example.com"),
        record("CREATE", "*.corp.example.com."),
    )

    names = {name for name, _ in record_sets(route53, zone)}
    assert {"web.corp.example.com.", "\\052.corp.example.com."} <= names
    # The escape and the character name one record set.
    (code, message) = refusal(route53, zone, record("CREATE", "\\052.corp.example.com"))
    assert code == "InvalidChangeBatch"
    assert "name='\\052.corp.example.com.'" in message
    assert dns_name("A\\.b.Example.COM") == "a\\056b.example.com."
    assert dns_name(".") == "."


def test_records_are_found_from_a_name_given_in_any_case(route53: Any, zone: str) -> None:
    # Before host in Route 53's order, after HOST in ASCII.
    change(route53, zone, record("CREATE", "abc"))

    listed = route53.list_resource_record_sets(
        HostedZoneId=zone, StartRecordName="HOST.corp.example.com", StartRecordType="A"
    )["ResourceRecordSets"]

    assert listed[0]["Name"] == "host.corp.example.com."


def test_upsert_replaces_the_whole_record_set(route53: Any, zone: str) -> None:
    change(route53, zone, record("UPSERT", "HOST", ttl=300, values=("10.0.0.9",)))

    found = record_sets(route53, zone)[("host.corp.example.com.", "A")]
    assert found["TTL"] == 300
    assert found["ResourceRecords"] == [{"Value": "10.0.0.9"}]


# --------------------------------------------------------------------------- refusals


def test_delete_of_a_record_set_that_does_not_exist_is_refused(route53: Any, zone: str) -> None:
    code, message = refusal(route53, zone, record("DELETE", "nobody"))

    assert code == "InvalidChangeBatch"
    assert message == (
        "[Tried to delete resource record set [name='nobody.corp.example.com.', type='A'] "
        "but it was not found]"
    )


@pytest.mark.parametrize(
    "wrong",
    [
        {"ttl": 30, "values": ("10.0.0.1", "10.0.0.2")},
        {"values": ("10.0.0.1",)},
        {"values": ("10.0.0.1", "10.0.0.3")},
    ],
    ids=["ttl", "fewer-values", "other-value"],
)
def test_delete_must_repeat_the_ttl_and_values_exactly(
    route53: Any, zone: str, wrong: dict[str, Any]
) -> None:
    code, message = refusal(route53, zone, record("DELETE", "host", **wrong))

    assert code == "InvalidChangeBatch"
    assert "but the values provided do not match the current values" in message
    assert values(route53, zone, "host.corp.example.com.") == ["10.0.0.1", "10.0.0.2"]


def test_delete_with_the_current_values_deletes(route53: Any, zone: str) -> None:
    # In any order, and in any case of the name.
    change(route53, zone, record("DELETE", "HOST", values=("10.0.0.2", "10.0.0.1")))

    assert values(route53, zone, "host.corp.example.com.") is None


def test_create_of_an_existing_record_set_is_refused(route53: Any, zone: str) -> None:
    code, message = refusal(route53, zone, record("CREATE", "Host", values=("10.0.0.7",)))

    assert code == "InvalidChangeBatch"
    assert message == (
        "[Tried to create resource record set [name='host.corp.example.com.', type='A'] "
        "but it already exists]"
    )


@pytest.mark.parametrize("name", ["www.example.org.", "xcorp.example.com.", "example.com."])
def test_a_name_outside_the_zone_is_refused(route53: Any, zone: str, name: str) -> None:
    code, message = refusal(route53, zone, record("CREATE", name))

    assert code == "InvalidChangeBatch"
    assert message == f"[RRSet with DNS name {name} is not permitted in zone {ZONE}.]"


def test_a_cname_at_the_apex_is_refused(route53: Any, zone: str) -> None:
    code, message = refusal(route53, zone, record("CREATE", "", "CNAME", values=("a.example.",)))

    assert code == "InvalidChangeBatch"
    assert "RRSet of type CNAME with DNS name corp.example.com. is not permitted at apex" in message


def test_a_cname_beside_another_record_of_its_name_is_refused(route53: Any, zone: str) -> None:
    code, message = refusal(
        route53, zone, record("UPSERT", "host", "CNAME", values=("web.example.",))
    )

    assert code == "InvalidChangeBatch"
    assert "conflicts with other records with the same DNS name" in message


def test_another_record_beside_a_cname_is_refused(route53: Any, zone: str) -> None:
    change(route53, zone, record("CREATE", "alias", "CNAME", values=("host.corp.example.com",)))

    code, message = refusal(route53, zone, record("CREATE", "alias", "TXT", values=('"x"',)))

    assert code == "InvalidChangeBatch"
    assert "a conflicting RRSet of type CNAME with the same DNS name already exists" in message


def test_a_cname_may_replace_a_record_deleted_earlier_in_the_batch(route53: Any, zone: str) -> None:
    change(
        route53,
        zone,
        record("DELETE", "host", values=("10.0.0.1", "10.0.0.2")),
        record("CREATE", "host", "CNAME", values=("web.example.",)),
    )

    assert values(route53, zone, "host.corp.example.com.", "CNAME") == ["web.example."]


def test_two_changes_of_one_record_set_in_a_batch_are_refused(route53: Any, zone: str) -> None:
    code, message = refusal(
        route53,
        zone,
        record("UPSERT", "twice"),
        record("UPSERT", "TWICE", values=("10.0.0.5",)),
    )

    assert code == "InvalidChangeBatch"
    assert message == (
        "[The request contains an invalid set of changes for a resource record set "
        "'A twice.corp.example.com.']"
    )
    assert values(route53, zone, "twice.corp.example.com.") is None


def test_a_delete_then_create_of_one_record_set_in_a_batch_is_a_replacement(
    route53: Any, zone: str
) -> None:
    change(
        route53,
        zone,
        record("DELETE", "host", values=("10.0.0.1", "10.0.0.2")),
        record("CREATE", "host", values=("10.0.0.8",)),
    )

    assert values(route53, zone, "host.corp.example.com.") == ["10.0.0.8"]


def test_a_batch_of_more_than_1000_records_is_refused(route53: Any, zone: str) -> None:
    many = [record("CREATE", f"h{n}", values=(f"10.1.{n // 250}.{n % 250}",)) for n in range(1001)]

    code, message = refusal(route53, zone, *many)
    # An UPSERT's records count twice.
    upserts = [record("UPSERT", f"u{n}") for n in range(501)]
    upsert_code, _ = refusal(route53, zone, *upserts)
    change(route53, zone, *many[:1000])

    assert (code, message) == ("InvalidChangeBatch", "Number of records limit of 1000 exceeded.")
    assert upsert_code == "InvalidChangeBatch"
    assert len(record_sets(route53, zone)) == 3 + 1000


def test_a_change_without_ttl_or_values_is_invalid_input(route53: Any, zone: str) -> None:
    code, message = refusal(route53, zone, record("CREATE", "no-ttl", ttl=None))

    assert code == "InvalidInput"
    assert "Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]" in message


def test_a_failing_batch_changes_nothing(route53: Any, zone: str) -> None:
    before = record_sets(route53, zone)

    code, message = refusal(
        route53,
        zone,
        record("CREATE", "new"),
        record("UPSERT", "host", values=("10.0.0.9",)),
        record("DELETE", "host", values=("10.0.0.9",)),
        record("CREATE", "outside.example.org."),
    )

    assert code == "InvalidChangeBatch"
    # Every problem of the batch is reported.
    assert "invalid set of changes for a resource record set 'A host.corp" in message
    assert "outside.example.org. is not permitted in zone" in message
    assert record_sets(route53, zone) == before


def test_moto_accepts_again_once_the_strict_checks_end() -> None:
    with mock_aws():
        route53 = boto3.client("route53")
        zone_id = route53.create_hosted_zone(Name=ZONE, CallerReference="z")["HostedZone"]["Id"]
        with strict_route53(), strict_route53():
            pass
        with strict_route53():
            refusal(route53, zone_id, record("CREATE", "xcorp.example.com."))

        change(route53, zone_id, record("CREATE", "xcorp.example.com."))  # moto's own check


# --------------------------------------------------------------------------- zones and VPCs


def test_a_zone_created_with_a_vpc_is_private(route53: Any, vpcs: list[str]) -> None:
    created = route53.create_hosted_zone(
        Name="Other.Example.com",
        CallerReference="o",
        VPC={"VPCRegion": "us-east-1", "VPCId": vpcs[0]},
    )

    got = route53.get_hosted_zone(Id=created["HostedZone"]["Id"])
    assert got["HostedZone"]["Config"]["PrivateZone"] is True
    assert got["HostedZone"]["Name"] == "other.example.com."
    assert got["VPCs"] == [{"VPCRegion": "us-east-1", "VPCId": vpcs[0]}]


def test_zone_records_hold_text(route53: Any, zone: str) -> None:
    soa = record_sets(route53, zone)[(f"{ZONE}.", "SOA")]

    assert soa["ResourceRecords"][0]["Value"].startswith("ns-")
    assert soa["ResourceRecords"][0]["Value"].endswith(" 86400")


def test_a_caller_reference_makes_one_zone(route53: Any, zone: str) -> None:
    with pytest.raises(ClientError, match="HostedZoneAlreadyExists"):
        route53.create_hosted_zone(Name="again.example.com", CallerReference="zone")


def test_vpc_associations_are_refused_as_route53_refuses_them(
    route53: Any, zone: str, vpcs: list[str]
) -> None:
    public = route53.create_hosted_zone(Name="public.example.com", CallerReference="p")
    vpc = {"VPCRegion": "us-east-1", "VPCId": vpcs[1]}

    route53.associate_vpc_with_hosted_zone(HostedZoneId=zone, VPC=vpc)

    def code(**request: Any) -> str:
        with pytest.raises(ClientError) as raised:
            route53.associate_vpc_with_hosted_zone(**request)
        return str(raised.value.response["Error"]["Code"])

    assert code(HostedZoneId=zone, VPC=vpc) == "ConflictingDomainExists"
    assert code(HostedZoneId=public["HostedZone"]["Id"], VPC=vpc) == "PublicZoneVPCAssociation"
    assert code(
        HostedZoneId=zone, VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-0123456789abcdef0"}
    ) == ("InvalidVPCId")
    with pytest.raises(ClientError, match="ConflictingDomainExists"):
        route53.create_hosted_zone(Name=f"{ZONE}.", CallerReference="again", VPC=vpc)
    with pytest.raises(ClientError, match="VPCAssociationNotFound"):
        route53.disassociate_vpc_from_hosted_zone(
            HostedZoneId=zone, VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-0123456789abcdef0"}
        )
    assert route53.get_hosted_zone(Id=zone)["VPCs"] == [
        {"VPCRegion": "us-east-1", "VPCId": vpcs[0]},
        {"VPCRegion": "us-east-1", "VPCId": vpcs[1]},
    ]


# --------------------------------------------------------------------------- deployed


def zones_template() -> dict[str, Any]:
    vpc = {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.20.0.0/16"}}
    return {
        "Resources": {
            "One": vpc,
            "Two": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.30.0.0/16"}},
            "Private": {
                "Type": "AWS::Route53::HostedZone",
                "Properties": {
                    "Name": f"{ZONE}.",
                    "HostedZoneConfig": {"Comment": "instances"},
                    "HostedZoneTags": [{"Key": "team", "Value": "dns"}],
                    "VPCs": [
                        {"VPCId": {"Ref": vpc_id}, "VPCRegion": {"Ref": "AWS::Region"}}
                        for vpc_id in ("One", "Two")
                    ],
                },
            },
            "Public": {"Type": "AWS::Route53::HostedZone", "Properties": {"Name": "example.org"}},
            "Web": {
                "Type": "AWS::Route53::RecordSet",
                "Properties": {
                    "HostedZoneId": {"Ref": "Private"},
                    "Name": f"Web.{ZONE}.",
                    "Type": "A",
                    "TTL": "60",
                    "ResourceRecords": ["10.20.0.5"],
                },
            },
            "Www": {
                "Type": "AWS::Route53::RecordSet",
                "Properties": {
                    "HostedZoneName": "example.org.",
                    "Name": "www.example.org",
                    "Type": "CNAME",
                    "TTL": 300,
                    "ResourceRecords": ["web.example.net"],
                },
            },
            "Apex": {
                "Type": "AWS::Route53::RecordSet",
                "Properties": {
                    "HostedZoneId": {"Ref": "Public"},
                    "Name": "example.org",
                    "Type": "A",
                    "AliasTarget": {"DNSName": "d111.cloudfront.net", "HostedZoneId": "Z2FD"},
                },
            },
        },
        "Outputs": {
            "First": {"Value": {"Fn::Select": [0, {"Fn::GetAtt": ["Public", "NameServers"]}]}}
        },
    }


def test_deployed_zones_and_records_are_in_moto(tmp_path: Path) -> None:
    with LocalCloud() as cloud:
        stack = _Deployment(cloud, "Dns", zones_template(), tmp_path, {}).run()
        route53 = cloud.client("route53")
        private_id = stack.physical_id("Private")
        public_id = stack.physical_id("Public")
        private = route53.get_hosted_zone(Id=private_id)
        public = route53.get_hosted_zone(Id=public_id)
        tags = route53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=private_id)

        assert "/" not in private_id
        assert stack.attribute("Private", "Id") == private_id
        assert private["HostedZone"]["Config"] == {"Comment": "instances", "PrivateZone": True}
        assert [v["VPCId"] for v in private["VPCs"]] == [
            stack.physical_id("One"),
            stack.physical_id("Two"),
        ]
        assert tags["ResourceTagSet"]["Tags"] == [{"Key": "team", "Value": "dns"}]
        assert public["HostedZone"]["Config"]["PrivateZone"] is False
        servers = public["DelegationSet"]["NameServers"]
        assert stack.outputs["First"] == servers[0]
        with pytest.raises(KeyError, match="NameServers"):
            stack.attribute("Private", "NameServers")
        assert values(route53, private_id, "web.corp.example.com.") == ["10.20.0.5"]
        assert stack.physical_id("Web") == f"Web.{ZONE}."
        assert values(route53, public_id, "www.example.org.", "CNAME") == ["web.example.net"]
        # Alias records are not deployed.
        assert ("Dns", "Apex", "AWS::Route53::RecordSet") in cloud.skipped
        assert record_sets(route53, public_id).get(("example.org.", "A")) is None
        # A deployed record is deleted with its values, as any other.
        change(route53, private_id, record("DELETE", "web", values=("10.20.0.5",)))
        assert values(route53, private_id, "web.corp.example.com.") is None


def test_the_local_cloud_refuses_what_route53_refuses(tmp_path: Path) -> None:
    with LocalCloud() as cloud:
        stack = _Deployment(cloud, "Dns", zones_template(), tmp_path, {}).run()
        route53 = cloud.client("route53")

        code, _ = refusal(route53, stack.physical_id("Private"), record("DELETE", "nobody"))

    assert code == "InvalidChangeBatch"
