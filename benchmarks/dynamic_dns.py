"""Dynamic DNS through the local cloud: events per second, and the handler against its floor.

    python benchmarks/dynamic_dns.py [--instances 180]

Deploys the DynamicDns example stack into a LocalCloud, runs instances through start, stop
and terminate in moto's EC2 and delivers EC2's state-change events (each twice, the
second time in reverse order) through the rule to the function. Prints the events
delivered per second, and, side by side, the time of one ``running`` event in the handler
against the moto calls it cannot do without (describe the instance, its VPC's attributes
and DHCP options; read, write and read again the table; read each zone's VPCs, list and
change its record).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aws_cdk import App

from examples import DynamicDnsStack
from lambda_blueprints.testing import LocalCloud


def run(instances: int) -> None:
    """Measure and print the table."""
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    # The handler logs a line per event; the table is what this prints.
    logging.disable(logging.INFO)
    stack = DynamicDnsStack(App(), "DynamicDns")
    with LocalCloud() as cloud:
        deployed = cloud.deploy(stack)
        ec2 = cloud.client("ec2")
        vpc_id = deployed.physical_id("Vpc")
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
        subnet, other = sorted(s["SubnetId"] for s in subnets["Subnets"])[:2]
        ids = [
            i["InstanceId"]
            for i in ec2.run_instances(
                ImageId="ami-12c6146b", MinCount=instances, MaxCount=instances, SubnetId=subnet
            )["Instances"]
        ]
        events: list[dict[str, Any]] = cloud.ec2_state_changes()
        ec2.stop_instances(InstanceIds=ids)
        events += cloud.ec2_state_changes()
        ec2.start_instances(InstanceIds=ids)
        events += cloud.ec2_state_changes()
        ec2.terminate_instances(InstanceIds=ids[: instances // 2])
        events += cloud.ec2_state_changes()
        deliveries = events + events[::-1]
        started = time.perf_counter()
        for start in range(0, len(deliveries), 10):
            cloud.put_events(deliveries[start : start + 10])
        cloud.run_until_idle()
        elapsed = time.perf_counter() - started
        # A /24 subnet holds 251 instances: the single events run in the other one.
        handler_ms = _handler_running_ms(cloud, deployed, other)
        floor_ms = _floor_ms(cloud, deployed, other)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {instances} instances")
    print()
    print("| measurement | value | unit |")
    print("| --- | ---: | --- |")
    print(f"| state-change events delivered (each twice) | {len(deliveries):,} | events |")
    print(f"| end to end: rule, function, moto | {len(deliveries) / elapsed:,.0f} | events/s |")
    print(f"| handler, one `running` event (median) | {handler_ms:.1f} | ms |")
    print(f"| the moto calls it needs, made bare (median) | {floor_ms:.1f} | ms |")
    print(f"| handler / bare calls | {handler_ms / floor_ms:.2f} | ratio |")


def _handler_running_ms(cloud: LocalCloud, deployed: Any, subnet: str) -> float:
    from lambda_blueprints.testing.events.eventbridge import ec2_state_change_event

    ec2 = cloud.client("ec2")
    times = []
    for _ in range(30):
        instance = ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet
        )["Instances"][0]["InstanceId"]
        event = ec2_state_change_event(instance, "running", time=cloud.clock.now())
        started = time.perf_counter()
        cloud.invoke(deployed.physical_id("Dns/Function"), event)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _floor_ms(cloud: LocalCloud, deployed: Any, subnet: str) -> float:
    ec2 = cloud.client("ec2")
    route53 = cloud.client("route53")
    table = cloud.client("dynamodb")
    table_name = deployed.outputs["InstancesTableName"]
    zone = deployed.outputs["PrivateZoneId"]
    reverse = deployed.outputs["ReverseZoneId"]
    times = []
    for n in range(30):
        instance = ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet
        )["Instances"][0]
        started = time.perf_counter()
        ec2.describe_instances(InstanceIds=[instance["InstanceId"]])
        vpc = instance["VpcId"]
        ec2.describe_vpc_attribute(VpcId=vpc, Attribute="enableDnsSupport")
        ec2.describe_vpc_attribute(VpcId=vpc, Attribute="enableDnsHostnames")
        options = ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["DhcpOptionsId"]
        ec2.describe_dhcp_options(DhcpOptionsIds=[options])
        key = {"instanceId": {"S": f"floor-{n}"}}
        table.get_item(TableName=table_name, Key=key, ConsistentRead=True)
        table.put_item(TableName=table_name, Item={**key, "version": {"N": "1"}})
        name = f"floor-{n}.corp.internal."
        pointer = f"{n}.250.20.10.in-addr.arpa."
        for zone_id, record, kind, value in (
            (zone, name, "A", instance["PrivateIpAddress"]),
            (reverse, pointer, "PTR", name),
        ):
            route53.get_hosted_zone(Id=zone_id)
            route53.list_resource_record_sets(
                HostedZoneId=zone_id, StartRecordName=record, StartRecordType=kind, MaxItems="1"
            )
            route53.change_resource_record_sets(
                HostedZoneId=zone_id,
                ChangeBatch={
                    "Changes": [
                        {
                            "Action": "UPSERT",
                            "ResourceRecordSet": {
                                "Name": record,
                                "Type": kind,
                                "TTL": 60,
                                "ResourceRecords": [{"Value": value}],
                            },
                        }
                    ]
                },
            )
        table.get_item(TableName=table_name, Key=key, ConsistentRead=True)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=180)
    run(parser.parse_args().instances)
