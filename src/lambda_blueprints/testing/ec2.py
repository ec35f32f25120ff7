"""EC2 in the local cloud: VPCs, subnets, DHCP options and security groups in moto.

Deployed from a template, as CloudFormation creates them:

* ``AWS::EC2::VPC``: ``CidrBlock``, ``InstanceTenancy`` and ``Tags``; ``EnableDnsSupport``
  (default true) and ``EnableDnsHostnames`` (default false) are set with
  ``ModifyVpcAttribute``. ``Ref`` is the VPC id; the attributes are ``VpcId``,
  ``CidrBlock``, ``DefaultSecurityGroup``, ``DefaultNetworkAcl``,
  ``CidrBlockAssociations`` (a list of association ids) and ``Ipv6CidrBlocks`` (a list).
* ``AWS::EC2::Subnet``: ``VpcId``, ``CidrBlock``, ``AvailabilityZone`` (CDK's
  ``Fn::Select`` of ``Fn::GetAZs`` resolves to ``<region>a``, ``b`` or ``c``) or
  ``AvailabilityZoneId``, ``MapPublicIpOnLaunch`` and ``Tags``. ``Ref`` is the subnet id;
  the attributes are ``SubnetId``, ``VpcId``, ``CidrBlock``, ``AvailabilityZone``,
  ``AvailabilityZoneId``, ``NetworkAclAssociationId`` and ``Ipv6CidrBlocks`` (a list).
* ``AWS::EC2::DHCPOptions``: ``DomainName``, ``DomainNameServers``, ``NtpServers``,
  ``NetbiosNameServers``, ``NetbiosNodeType`` and ``Tags``. ``Ref`` and
  ``DhcpOptionsId`` are the option set's id.
* ``AWS::EC2::VPCDHCPOptionsAssociation`` associates the option set (or ``default``)
  with the VPC. UNSPECIFIED: CloudFormation does not say what its ``Ref`` looks like; it
  is ``<stack>-<logical id>-<suffix>`` here.
* ``AWS::EC2::SecurityGroup``: ``GroupDescription``, ``GroupName`` (generated when
  absent), ``VpcId``, ``Tags`` and the ``SecurityGroupIngress`` and
  ``SecurityGroupEgress`` rules given by CIDR, prefix list or security group id; given
  egress rules replace the default allow-all rule, as CloudFormation does. ``Ref`` is the
  group id (the group name for a group without ``VpcId``); the attributes are ``GroupId``
  and ``VpcId``.

Other EC2 types (route tables, gateways, flow logs, endpoints, instances...) get
placeholders.

moto starts and stops instances at once: ``RunInstances`` answers ``pending`` and the
instance is ``running`` the moment after. :class:`InstanceStateChanges` (and
``LocalCloud.ec2_state_changes()``) turns what changed since it last looked into the
``EC2 Instance State-change Notification`` events EventBridge would deliver, intermediate
states included, for a test to send with ``put_events``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys
from lambda_blueprints.testing.clock import Clock
from lambda_blueprints.testing.events.eventbridge import Ec2InstanceState, ec2_state_change_event

#: The state changes EC2 makes, from each state (``None``: not yet reported).
LIFECYCLE: Mapping[str | None, tuple[str, ...]] = {
    None: ("pending",),
    "pending": ("running",),
    "running": ("stopping", "shutting-down"),
    "stopping": ("stopped",),
    "stopped": ("pending", "shutting-down"),
    "shutting-down": ("terminated",),
    "terminated": (),
}

#: DHCP option names by template property.
_DHCP_OPTIONS = {
    "DomainName": "domain-name",
    "DomainNameServers": "domain-name-servers",
    "NtpServers": "ntp-servers",
    "NetbiosNameServers": "netbios-name-servers",
    "NetbiosNodeType": "netbios-node-type",
}


def _flag(value: Any, default: bool) -> bool:
    """A template boolean, which may be written as text."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _tag_specifications(resource_type: str, props: Mapping[str, Any]) -> dict[str, Any]:
    tags = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in props.get("Tags") or ()]
    if not tags:
        return {}
    return {"TagSpecifications": [{"ResourceType": resource_type, "Tags": tags}]}


def _as_list(values: Sequence[str]) -> str:
    """A list attribute, as CloudFormation returns it (``Fn::Select`` takes it)."""
    return cast(str, list(values))


# --------------------------------------------------------------------------- deployers


@deploys("AWS::EC2::VPC")
def _vpc(stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
    ec2 = stack.context.client("ec2")
    parameters: dict[str, Any] = {
        "CidrBlock": str(props["CidrBlock"]),
        **_tag_specifications("vpc", props),
    }
    if props.get("InstanceTenancy"):
        parameters["InstanceTenancy"] = str(props["InstanceTenancy"])
    vpc = ec2.create_vpc(**parameters)["Vpc"]
    vpc_id = vpc["VpcId"]
    support = _flag(props.get("EnableDnsSupport"), default=True)
    hostnames = _flag(props.get("EnableDnsHostnames"), default=False)
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": support})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": hostnames})
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    group = ec2.describe_security_groups(
        Filters=[*in_vpc, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    acl = ec2.describe_network_acls(Filters=[*in_vpc, {"Name": "default", "Values": ["true"]}])[
        "NetworkAcls"
    ][0]["NetworkAclId"]
    attributes = {
        "VpcId": vpc_id,
        "CidrBlock": vpc["CidrBlock"],
        "DefaultSecurityGroup": group,
        "DefaultNetworkAcl": acl,
        "CidrBlockAssociations": _as_list(
            [a["AssociationId"] for a in vpc.get("CidrBlockAssociationSet", [])]
        ),
        "Ipv6CidrBlocks": _as_list(
            [a["Ipv6CidrBlock"] for a in vpc.get("Ipv6CidrBlockAssociationSet", [])]
        ),
    }
    return Resource(logical_id, kind, "", vpc_id, attributes)


@deploys("AWS::EC2::Subnet")
def _subnet(stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
    ec2 = stack.context.client("ec2")
    parameters: dict[str, Any] = {
        "VpcId": str(props["VpcId"]),
        "CidrBlock": str(props["CidrBlock"]),
        **_tag_specifications("subnet", props),
    }
    if props.get("AvailabilityZone"):
        parameters["AvailabilityZone"] = str(props["AvailabilityZone"])
    elif props.get("AvailabilityZoneId"):
        parameters["AvailabilityZoneId"] = str(props["AvailabilityZoneId"])
    subnet = ec2.create_subnet(**parameters)["Subnet"]
    subnet_id = subnet["SubnetId"]
    if _flag(props.get("MapPublicIpOnLaunch"), default=False):
        ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    acls = ec2.describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}]
    )["NetworkAcls"]
    association = next(
        (
            a["NetworkAclAssociationId"]
            for acl in acls
            for a in acl.get("Associations", [])
            if a.get("SubnetId") == subnet_id
        ),
        "",
    )
    attributes = {
        "SubnetId": subnet_id,
        "VpcId": subnet["VpcId"],
        "CidrBlock": subnet["CidrBlock"],
        "AvailabilityZone": subnet["AvailabilityZone"],
        "AvailabilityZoneId": subnet.get("AvailabilityZoneId", ""),
        "NetworkAclAssociationId": association,
        "Ipv6CidrBlocks": _as_list(
            [a["Ipv6CidrBlock"] for a in subnet.get("Ipv6CidrBlockAssociationSet", [])]
        ),
    }
    return Resource(logical_id, kind, "", subnet_id, attributes)


@deploys("AWS::EC2::DHCPOptions")
def _dhcp_options(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    configurations = []
    for name, key in _DHCP_OPTIONS.items():
        value = props.get(name)
        if value is None or value == []:
            continue
        values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        configurations.append({"Key": key, "Values": values})
    options = stack.context.client("ec2").create_dhcp_options(
        DhcpConfigurations=configurations, **_tag_specifications("dhcp-options", props)
    )["DhcpOptions"]
    options_id = options["DhcpOptionsId"]
    return Resource(logical_id, kind, "", options_id, {"DhcpOptionsId": options_id})


@deploys("AWS::EC2::VPCDHCPOptionsAssociation")
def _dhcp_association(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    stack.context.client("ec2").associate_dhcp_options(
        DhcpOptionsId=str(props["DhcpOptionsId"]), VpcId=str(props["VpcId"])
    )
    return Resource(logical_id, kind, "", stack.name(logical_id))


def _permissions(rules: Sequence[Mapping[str, Any]], *, egress: bool) -> list[dict[str, Any]]:
    """CloudFormation's security group rules as ``IpPermissions``."""
    found: list[dict[str, Any]] = []
    for rule in rules:
        permission: dict[str, Any] = {"IpProtocol": str(rule.get("IpProtocol", "-1"))}
        for port in ("FromPort", "ToPort"):
            if rule.get(port) is not None:
                permission[port] = int(rule[port])
        description = {"Description": str(rule["Description"])} if rule.get("Description") else {}
        if rule.get("CidrIp"):
            permission["IpRanges"] = [{"CidrIp": str(rule["CidrIp"]), **description}]
        if rule.get("CidrIpv6"):
            permission["Ipv6Ranges"] = [{"CidrIpv6": str(rule["CidrIpv6"]), **description}]
        prefix_list = rule.get("DestinationPrefixListId" if egress else "SourcePrefixListId")
        if prefix_list:
            permission["PrefixListIds"] = [{"PrefixListId": str(prefix_list), **description}]
        group = rule.get("DestinationSecurityGroupId" if egress else "SourceSecurityGroupId")
        if group:
            permission["UserIdGroupPairs"] = [{"GroupId": str(group), **description}]
        found.append(permission)
    return found


@deploys("AWS::EC2::SecurityGroup")
def _security_group(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    ec2 = stack.context.client("ec2")
    parameters: dict[str, Any] = {
        "Description": str(props.get("GroupDescription") or logical_id),
        "GroupName": str(props.get("GroupName") or stack.name(logical_id)),
        **_tag_specifications("security-group", props),
    }
    vpc_id = props.get("VpcId")
    if vpc_id:
        parameters["VpcId"] = str(vpc_id)
    group_id = ec2.create_security_group(**parameters)["GroupId"]
    ingress = _permissions(props.get("SecurityGroupIngress") or (), egress=False)
    if ingress:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=ingress)
    egress = _permissions(props.get("SecurityGroupEgress") or (), egress=True)
    if vpc_id and egress:
        allow_all = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=allow_all)
        ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=egress)
    ref = group_id if vpc_id else parameters["GroupName"]
    return Resource(logical_id, kind, "", ref, {"GroupId": group_id, "VpcId": str(vpc_id or "")})


# --------------------------------------------------------------------------- state changes


def lifecycle_path(last: str | None, current: str) -> list[str]:
    """The states an instance passes through from ``last`` to ``current``, ``current`` last.

    The shortest way along :data:`LIFECYCLE`, so ``running`` to ``stopped`` is
    ``["stopping", "stopped"]`` and a new instance already ``terminated`` is ``pending``,
    ``running``, ``shutting-down``, ``terminated``. Empty when nothing changed.

    Raises:
        ValueError: ``current`` cannot follow ``last`` (a terminated instance never
            changes) or is no EC2 state.
    """
    if last == current:
        return []
    paths: deque[list[str]] = deque([[]])
    seen: set[str | None] = {last}
    while paths:
        path = paths.popleft()
        for state in LIFECYCLE[path[-1] if path else last]:
            if state == current:
                return [*path, state]
            if state not in seen:
                seen.add(state)
                paths.append([*path, state])
    raise ValueError(f"an EC2 instance does not go from {last!r} to {current!r}")


class InstanceStateChanges:
    """The ``EC2 Instance State-change Notification`` events of the instances in moto.

    Each :meth:`collect` compares the instances' states now with the states it reported
    last, and returns the events EventBridge would deliver for the difference, including
    the states moto skips: ``pending`` before ``running``, ``stopping`` before
    ``stopped``, ``shutting-down`` before ``terminated`` (see :func:`lifecycle_path`). An
    instance stopped and started again between two calls, or rebooted, is not seen: call
    it after each change of state that matters.

    Event times come from ``clock``: an instance's first event is at ``clock.now()`` or one
    second after its previous event, whichever is later, and each next one a second later
    (EventBridge times have whole seconds), so they strictly increase per instance. The
    clock itself is not moved. Events are ordered by time, then by instance in the order
    EC2 lists them.

    Args:
        clock: The clock of the event times; a new :class:`Clock` when None.
        client: Makes the EC2 client to read the instances with; boto3's default when None.
        region: The events' region; the client's when None.
        account: The events' account.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        client: Callable[[], Any] | None = None,
        region: str | None = None,
        account: str = "123456789012",
    ) -> None:
        self._clock = clock or Clock()
        self._client = client or _default_client
        self._region = region
        self._account = account
        #: The state and event time last reported, by instance id.
        self._reported: dict[str, tuple[str, float]] = {}

    def _instances(self) -> tuple[Any, list[tuple[str, str]]]:
        ec2 = self._client()
        found: list[tuple[str, str]] = []
        for page in ec2.get_paginator("describe_instances").paginate():
            for reservation in page.get("Reservations", []):
                for instance in reservation.get("Instances", []):
                    found.append((instance["InstanceId"], instance["State"]["Name"]))
        return ec2, found

    def collect(self) -> list[dict[str, Any]]:
        """The events since the last call, in order; each change is reported once."""
        ec2, instances = self._instances()
        region = self._region or str(ec2.meta.region_name)
        now = self._clock.now()
        timed: list[tuple[float, int, dict[str, Any]]] = []
        for order, (instance_id, state) in enumerate(instances):
            last, last_time = self._reported.get(instance_id, (None, float("-inf")))
            at = max(now, last_time + 1)
            for passed in lifecycle_path(last, state):
                event = ec2_state_change_event(
                    instance_id,
                    cast(Ec2InstanceState, passed),
                    time=at,
                    region=region,
                    account=self._account,
                )
                timed.append((at, order, event))
                self._reported[instance_id] = (passed, at)
                at += 1
        timed.sort(key=lambda item: (item[0], item[1]))
        return [event for _, _, event in timed]


def _default_client() -> Any:
    import boto3

    return boto3.client("ec2")
