from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_route53 as route53

from lambda_blueprints import AlarmTopic, Ec2DynamicDns

app = App()
stack = Stack(app, "Hosts")
vpc = ec2.Vpc(
    stack,
    "Vpc",
    ip_addresses=ec2.IpAddresses.cidr("10.30.0.0/16"),
    max_azs=2,
    nat_gateways=0,
    subnet_configuration=[
        ec2.SubnetConfiguration(name="Hosts", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    ],
)
# Instances of the VPC get the domain from DHCP; the construct creates its zone.
options = ec2.CfnDHCPOptions(
    stack, "DhcpOptions", domain_name="hosts.internal", domain_name_servers=["AmazonProvidedDNS"]
)
ec2.CfnVPCDHCPOptionsAssociation(
    stack, "DhcpOptionsAssociation", vpc_id=vpc.vpc_id, dhcp_options_id=options.ref
)
# A public zone you already have: instances tagged ZONE=example.com get public A records.
public = route53.HostedZone.from_hosted_zone_attributes(
    stack, "Public", hosted_zone_id="Z0123456789EXAMPLE", zone_name="example.com"
)
dns = Ec2DynamicDns(
    stack,
    "Dns",
    vpcs=[vpc],
    private_zone_name="hosts.internal",
    public_zones=[public],
    alarm_topic=AlarmTopic(stack, "Alarms").topic,
)
print([zone.node.id for zone in dns.private_zones + dns.reverse_zones])
app.synth()
