"""EC2 in the local cloud: VPC resources deployed into moto, and instance state changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk import App, DefaultStackSynthesizer, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_route53 as route53
from moto import mock_aws

from lambda_blueprints.testing import Clock, LocalCloud
from lambda_blueprints.testing.cloud import _Deployment
from lambda_blueprints.testing.ec2 import InstanceStateChanges, lifecycle_path
from tests.conftest import CDK_CONTEXT

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(clock=Clock(START)) as local:
        yield local


def vpc_attribute(vpc_id: str, name: str) -> bool:
    key = name[0].upper() + name[1:]
    answer = boto3.client("ec2").describe_vpc_attribute(VpcId=vpc_id, Attribute=name)
    return bool(answer[key]["Value"])


# --------------------------------------------------------------------------- deployed


def network_template() -> dict[str, Any]:
    return {
        "Resources": {
            "Vpc": {
                "Type": "AWS::EC2::VPC",
                "Properties": {
                    "CidrBlock": "10.20.0.0/16",
                    "EnableDnsHostnames": "true",
                    "InstanceTenancy": "default",
                    "Tags": [{"Key": "Name", "Value": "instances"}],
                },
            },
            "Plain": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.30.0.0/16"}},
            "Quiet": {
                "Type": "AWS::EC2::VPC",
                "Properties": {"CidrBlock": "10.40.0.0/16", "EnableDnsSupport": False},
            },
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {
                    "VpcId": {"Ref": "Vpc"},
                    "CidrBlock": "10.20.1.0/24",
                    "AvailabilityZone": {"Fn::Select": [1, {"Fn::GetAZs": ""}]},
                    "MapPublicIpOnLaunch": True,
                    "Tags": [{"Key": "Name", "Value": "one"}],
                },
            },
            "Options": {
                "Type": "AWS::EC2::DHCPOptions",
                "Properties": {
                    "DomainName": "corp.internal",
                    "DomainNameServers": ["AmazonProvidedDNS"],
                    "NtpServers": ["169.254.169.123"],
                    "NetbiosNodeType": 2,
                },
            },
            "Association": {
                "Type": "AWS::EC2::VPCDHCPOptionsAssociation",
                "Properties": {"DhcpOptionsId": {"Ref": "Options"}, "VpcId": {"Ref": "Vpc"}},
            },
            "Group": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {
                    "GroupDescription": "web",
                    "VpcId": {"Ref": "Vpc"},
                    "SecurityGroupIngress": [
                        {
                            "IpProtocol": "tcp",
                            "FromPort": 443,
                            "ToPort": 443,
                            "CidrIp": "10.0.0.0/8",
                        }
                    ],
                    "SecurityGroupEgress": [
                        {
                            "IpProtocol": "tcp",
                            "FromPort": 53,
                            "ToPort": 53,
                            "CidrIp": "10.20.0.2/32",
                        }
                    ],
                },
            },
            "Table": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        },
        "Outputs": {
            "Association": {
                "Value": {"Fn::Select": [0, {"Fn::GetAtt": ["Vpc", "CidrBlockAssociations"]}]}
            },
        },
    }


def test_vpc_resources_are_created_in_moto_as_cloudformation_creates_them(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    stack = _Deployment(cloud, "Net", network_template(), tmp_path, {}).run()
    client = boto3.client("ec2")
    vpc_id = stack.physical_id("Vpc")
    (vpc,) = client.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    (subnet,) = client.describe_subnets(SubnetIds=[stack.physical_id("Subnet")])["Subnets"]
    (options,) = client.describe_dhcp_options(DhcpOptionsIds=[stack.physical_id("Options")])[
        "DhcpOptions"
    ]
    (group,) = client.describe_security_groups(GroupIds=[stack.physical_id("Group")])[
        "SecurityGroups"
    ]

    assert vpc_id.startswith("vpc-") and stack.attribute("Vpc", "VpcId") == vpc_id
    assert vpc["CidrBlock"] == stack.attribute("Vpc", "CidrBlock") == "10.20.0.0/16"
    assert {"Key": "Name", "Value": "instances"} in vpc["Tags"]
    assert vpc_attribute(vpc_id, "enableDnsSupport") and vpc_attribute(vpc_id, "enableDnsHostnames")
    # CloudFormation's defaults: DNS support on, hostnames off.
    plain = stack.physical_id("Plain")
    assert vpc_attribute(plain, "enableDnsSupport") and not vpc_attribute(
        plain, "enableDnsHostnames"
    )
    assert not vpc_attribute(stack.physical_id("Quiet"), "enableDnsSupport")
    default_group = client.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"][0]["GroupId"]
    assert stack.attribute("Vpc", "DefaultSecurityGroup") == default_group
    assert stack.attribute("Vpc", "DefaultNetworkAcl").startswith("acl-")
    assert stack.outputs["Association"] == vpc["CidrBlockAssociationSet"][0]["AssociationId"]
    assert stack.attribute("Vpc", "Ipv6CidrBlocks") == []  # type: ignore[comparison-overlap]

    assert subnet["VpcId"] == vpc_id == stack.attribute("Subnet", "VpcId")
    assert (
        subnet["AvailabilityZone"] == "us-east-1b" == stack.attribute("Subnet", "AvailabilityZone")
    )
    assert subnet["MapPublicIpOnLaunch"] is True
    assert stack.attribute("Subnet", "NetworkAclAssociationId").startswith("aclassoc-")

    assert (
        vpc["DhcpOptionsId"]
        == options["DhcpOptionsId"]
        == stack.attribute("Options", "DhcpOptionsId")
    )
    configurations = {
        c["Key"]: [v["Value"] for v in c["Values"]] for c in options["DhcpConfigurations"]
    }
    assert configurations == {
        "domain-name": ["corp.internal"],
        "domain-name-servers": ["AmazonProvidedDNS"],
        "ntp-servers": ["169.254.169.123"],
        "netbios-node-type": ["2"],
    }

    assert group["VpcId"] == vpc_id and group["Description"] == "web"
    assert group["GroupName"].startswith("Net-Group-")
    assert stack.attribute("Group", "GroupId") == group["GroupId"]
    assert [(p["FromPort"], p["IpRanges"][0]["CidrIp"]) for p in group["IpPermissions"]] == [
        (443, "10.0.0.0/8")
    ]
    # Egress rules given replace the default allow-all rule.
    assert [(p["FromPort"], p["IpRanges"][0]["CidrIp"]) for p in group["IpPermissionsEgress"]] == [
        (53, "10.20.0.2/32")
    ]
    assert ("Net", "Table", "AWS::EC2::RouteTable") in cloud.skipped


def dns_stack() -> Stack:
    stack = Stack(
        App(context=CDK_CONTEXT),
        "Dns",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Instances", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    options = ec2.CfnDHCPOptions(
        stack, "Options", domain_name="corp.internal", domain_name_servers=["AmazonProvidedDNS"]
    )
    ec2.CfnVPCDHCPOptionsAssociation(
        stack, "Association", vpc_id=vpc.vpc_id, dhcp_options_id=options.ref
    )
    route53.PrivateHostedZone(stack, "Private", zone_name="corp.internal", vpc=vpc)
    route53.HostedZone(stack, "Public", zone_name="example.org")
    return stack


def test_a_cdk_vpc_with_its_zones_deploys_into_moto(cloud: LocalCloud) -> None:
    stack = cloud.deploy(dns_stack())
    client = boto3.client("ec2")
    vpc_id = stack.physical_id("Vpc")
    zones = cloud.client("route53")
    private = zones.get_hosted_zone(Id=stack.physical_id("Private"))
    public = zones.get_hosted_zone(Id=stack.physical_id("Public"))
    subnets = client.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]

    (vpc,) = client.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert vpc["DhcpOptionsId"] == stack.physical_id("Options")
    # CDK's Vpc turns both DNS attributes on.
    assert vpc_attribute(vpc_id, "enableDnsSupport") and vpc_attribute(vpc_id, "enableDnsHostnames")
    assert sorted(s["AvailabilityZone"] for s in subnets) == ["us-east-1a", "us-east-1b"]
    assert private["HostedZone"]["Name"] == "corp.internal."
    assert private["HostedZone"]["Config"]["PrivateZone"] is True
    assert private["VPCs"] == [{"VPCRegion": "us-east-1", "VPCId": vpc_id}]
    assert public["HostedZone"]["Config"]["PrivateZone"] is False
    assert "VPCs" not in public
    skipped_types = {kind for _, _, kind in cloud.skipped}
    assert not skipped_types & {"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::Route53::HostedZone"}


# --------------------------------------------------------------------------- state changes


def run(count: int = 1) -> list[str]:
    reservation = boto3.client("ec2").run_instances(
        ImageId="ami-12c6146b", MinCount=count, MaxCount=count
    )
    return [i["InstanceId"] for i in reservation["Instances"]]


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["detail"]["instance-id"], e["detail"]["state"], e["time"]) for e in events]


def test_launched_instances_pass_through_pending_to_running(cloud: LocalCloud) -> None:
    first, second = run(2)

    events = cloud.ec2_state_changes()

    assert summary(events) == [
        (first, "pending", "2026-01-01T00:00:00Z"),
        (second, "pending", "2026-01-01T00:00:00Z"),
        (first, "running", "2026-01-01T00:00:01Z"),
        (second, "running", "2026-01-01T00:00:01Z"),
    ]
    event = events[0]
    assert event["detail-type"] == "EC2 Instance State-change Notification"
    assert event["source"] == "aws.ec2"
    assert event["resources"] == [f"arn:aws:ec2:us-east-1:123456789012:instance/{first}"]
    assert (event["account"], event["region"]) == ("123456789012", "us-east-1")
    assert cloud.ec2_state_changes() == []
    assert cloud.clock.now() == START  # the clock is not moved


def test_stops_starts_and_terminations_report_the_states_between(cloud: LocalCloud) -> None:
    client = boto3.client("ec2")
    stopped, terminated = run(2)
    cloud.ec2_state_changes()

    client.stop_instances(InstanceIds=[stopped])
    client.terminate_instances(InstanceIds=[terminated])
    # Times never go back, though the clock stands still.
    after_stop = summary(cloud.ec2_state_changes())
    cloud.clock.advance(60)
    client.start_instances(InstanceIds=[stopped])
    after_start = summary(cloud.ec2_state_changes())
    client.terminate_instances(InstanceIds=[stopped])
    after_terminate = summary(cloud.ec2_state_changes())

    assert after_stop == [
        (stopped, "stopping", "2026-01-01T00:00:02Z"),
        (terminated, "shutting-down", "2026-01-01T00:00:02Z"),
        (stopped, "stopped", "2026-01-01T00:00:03Z"),
        (terminated, "terminated", "2026-01-01T00:00:03Z"),
    ]
    assert after_start == [
        (stopped, "pending", "2026-01-01T00:01:00Z"),
        (stopped, "running", "2026-01-01T00:01:01Z"),
    ]
    assert after_terminate == [
        (stopped, "shutting-down", "2026-01-01T00:01:02Z"),
        (stopped, "terminated", "2026-01-01T00:01:03Z"),
    ]
    assert cloud.ec2_state_changes() == []


def test_state_changes_are_delivered_by_put_events(cloud: LocalCloud) -> None:
    run()

    ids = cloud.put_events(cloud.ec2_state_changes())

    assert len(ids) == 2


def test_state_changes_work_under_plain_moto() -> None:
    with mock_aws():
        (instance,) = run()
        boto3.client("ec2").terminate_instances(InstanceIds=[instance])
        changes = InstanceStateChanges(Clock(START), account="111122223333")

        states = [e["detail"]["state"] for e in changes.collect()]

    assert states == ["pending", "running", "shutting-down", "terminated"]


@pytest.mark.parametrize(
    ("last", "current", "path"),
    [
        (None, "running", ["pending", "running"]),
        (None, "stopped", ["pending", "running", "stopping", "stopped"]),
        ("running", "stopped", ["stopping", "stopped"]),
        ("stopped", "running", ["pending", "running"]),
        ("stopped", "terminated", ["shutting-down", "terminated"]),
        ("stopping", "stopped", ["stopped"]),
        ("running", "running", []),
    ],
)
def test_lifecycle_paths(last: str | None, current: str, path: list[str]) -> None:
    assert lifecycle_path(last, current) == path


def test_a_terminated_instance_never_changes() -> None:
    with pytest.raises(ValueError, match="does not go from 'terminated' to 'running'"):
        lifecycle_path("terminated", "running")
