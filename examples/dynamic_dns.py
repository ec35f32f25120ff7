"""Dynamic DNS for the EC2 instances of a VPC: names in a private zone, kept by EventBridge."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from lambda_blueprints import AlarmTopic, Ec2DynamicDns

#: The private domain of the VPC: its DHCP option set hands it to the instances, and the
#: construct creates the private zone of that name.
DOMAIN = "corp.internal"
VPC_CIDR = "10.20.0.0/16"


class DynamicDnsStack(Stack):
    """A VPC whose instances get DNS names as they start, and lose them as they stop.

    Defines the ``Vpc`` (``10.20.0.0/16``, DNS support and hostnames on, two availability
    zones of isolated subnets, no NAT gateway, a flow log), its ``DhcpOptions`` (domain name
    ``corp.internal``, the Amazon-provided DNS servers), the ``Dns`` construct
    (:class:`Ec2DynamicDns`: the ``corp.internal`` private zone, the
    ``20.10.in-addr.arpa`` reverse zone, the rule, the function, its table and queues) and
    an encrypted ``Alarms`` topic. Launch an instance with a ``CNAME`` tag into the VPC to
    see its A, PTR and CNAME records appear.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)

        alarm_topic = AlarmTopic(
            self,
            "Alarms",
            display_name="Dynamic DNS alarms",
            key_removal_policy=RemovalPolicy.DESTROY,
        ).topic

        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            max_azs=2,
            nat_gateways=0,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Instances", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                )
            ],
        )
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        vpc.add_flow_log(
            "FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs)
        )
        dhcp_options = ec2.CfnDHCPOptions(
            self,
            "DhcpOptions",
            domain_name=DOMAIN,
            domain_name_servers=["AmazonProvidedDNS"],
        )
        ec2.CfnVPCDHCPOptionsAssociation(
            self,
            "DhcpOptionsAssociation",
            vpc_id=vpc.vpc_id,
            dhcp_options_id=dhcp_options.ref,
        )

        dns = Ec2DynamicDns(
            self,
            "Dns",
            vpcs=[vpc],
            private_zone_name=DOMAIN,
            alarm_topic=alarm_topic,
        )

        CfnOutput(self, "PrivateZoneId", value=dns.private_zones[0].hosted_zone_id)
        CfnOutput(self, "ReverseZoneId", value=dns.reverse_zones[0].hosted_zone_id)
        CfnOutput(self, "InstancesTableName", value=dns.table.table_name)
        CfnOutput(self, "DeadLetterQueueUrl", value=dns.dead_letter_queue.queue_url)
        CfnOutput(self, "FailureQueueUrl", value=dns.failure_queue.queue_url)
        CfnOutput(self, "AlarmTopicArn", value=alarm_topic.topic_arn)
