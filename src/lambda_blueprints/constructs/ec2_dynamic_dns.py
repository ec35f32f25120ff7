"""Dynamic DNS for EC2: instance state changes keep Route 53 records up to date."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, Names, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lambda_blueprints import _defaults
from lambda_blueprints._validation import (
    check_duration_range,
    check_int_range,
    check_types,
)
from lambda_blueprints.constructs.function import (
    BlueprintFunction,
    check_function_options,
    failure_queue_alarms,
    failure_queues,
    invoked_asynchronously,
)

__all__ = ["Ec2DynamicDns"]

_HANDLER = "lambda_blueprints.runtime.dynamic_dns.handler.lambda_handler"
#: The states of the ``EC2 Instance State-change Notification`` event.
EC2_STATES = ("pending", "running", "stopping", "stopped", "shutting-down", "terminated")
#: States after which an instance's records are removed (one of them must be matched).
_GONE_STATES = ("stopping", "stopped", "shutting-down", "terminated")
DEFAULT_STATES = ("running", "shutting-down", "stopped", "terminated")
#: The record types the function writes; its Route 53 permission allows no other.
RECORD_TYPES = ("A", "CNAME", "PTR")
#: EventBridge retries a target for at most 185 times and 24 hours.
MAX_TARGET_RETRY_ATTEMPTS = 185
MAX_TARGET_EVENT_AGE_SECONDS = 24 * 3600
#: Lambda keeps an asynchronous event for at most 6 hours.
MAX_ASYNC_EVENT_AGE_SECONDS = 6 * 3600
#: The latest an event can still arrive: the rule's and Lambda's maximum event ages, with
#: room to spare. An instance forgotten sooner could be brought back by a late event.
MIN_FORGET_AFTER_SECONDS = 2 * 86_400
MAX_FORGET_AFTER_SECONDS = 36_500 * 86_400
#: Route 53 record TTLs are 0 to 2^31 - 1 seconds.
MAX_RECORD_TTL_SECONDS = 2_147_483_647
DEFAULT_RECORD_TTL = Duration.minutes(1)
DEFAULT_FORGET_AFTER = Duration.days(90)
DEFAULT_TARGET_MAX_EVENT_AGE = Duration.hours(24)
DEFAULT_MAX_EVENT_AGE = Duration.hours(6)
#: Describing an instance and changing records in a few zones takes seconds; 60 s leaves
#: room for Route 53's throttling retries.
DEFAULT_TIMEOUT = Duration.seconds(60)
_TAG_KEY = re.compile(r"[\w .:/=+\-@]{1,128}", re.UNICODE)
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")
_REVERSE_SUFFIX = ".in-addr.arpa"


class Ec2DynamicDns(Construct):
    """DNS records for EC2 instances, written and removed as the instances start and stop.

    An EventBridge rule on EC2's ``EC2 Instance State-change Notification`` invokes a
    function. When an instance is ``running``, the function describes it and writes an A
    record of its private IP address and the PTR record of that address into the private
    zones (the zone named by the instance's ``ZONE`` tag, or by the domain name of its
    VPC's DHCP option set), a CNAME record from its ``CNAME`` tag, and A records of its
    public IP address into the public zones; then it remembers the instance in a table.
    When the instance is shutting down, stopped or terminated, the function reads it back
    from the table and deletes those records. The table keeps, per instance, the time of
    the last event applied and a version, so that an event that arrives late or twice
    changes nothing: a ``running`` that arrives after ``terminated`` never brings the
    records back.

    Nothing is lost on the way: EventBridge retries the function (``target_retry_attempts``,
    ``target_max_event_age``) and then sends the event to the target's dead-letter queue;
    Lambda retries a failed invocation (``retry_attempts``, ``max_event_age``) and then
    sends it, with the error, to the failure queue, where the code also parks events it
    can never process (``FAILURE_QUEUE_URL``).

    Resources defined:
        * ``PrivateZone``, ``PublicZone`` (with ``private_zone_name``,
          ``public_zone_name``) and ``ReverseZone<octets>`` (one per reverse zone to
          create, named by it: ``ReverseZone20-10`` for ``20.10.in-addr.arpa``): hosted
          zones, the private ones associated with ``vpcs``.
        * ``Table`` (unless ``table`` is given): the instances the function has registered.
        * ``Function``: a :class:`BlueprintFunction` with ``AsyncInvokeConfig``, and
          ``DescribePolicy``, its policy for the EC2 ``Describe`` calls.
        * ``Rule``: the EventBridge rule; its target is the function.
        * ``QueueKey``: encrypts both queues; EventBridge may use it for this rule only.
        * ``DeadLetterQueue``: events EventBridge could not deliver; ``FailureQueue``:
          invocations that failed every retry, and the events the code parks.
        * Alarms (unless ``alarms=False``): the function's ``Errors`` and ``Throttles``,
          the rule's ``FailedInvocations``, and a message waiting in either queue.

    Default settings:
        * The rule matches ``running``, ``shutting-down``, ``stopped`` and ``terminated``.
        * EventBridge retries for 24 hours, up to 185 times; Lambda retries twice within 6
          hours.
        * Records have a TTL of 60 seconds; the table forgets an instance 90 days after
          it stopped or was terminated.
        * Table: key ``instanceId``, on-demand, point-in-time recovery, encrypted, time to
          live attribute ``expiresAt``, retained on stack deletion.
        * Queues: 14 days, encrypted with ``QueueKey``, TLS only, retained on stack
          deletion.
        * The function may change only A, CNAME and PTR records, only in the zones given
          or created here; it may read and write only its table's items.

    Args:
        scope: The parent construct.
        construct_id: The construct id.
        vpcs: The VPCs whose instances are registered; the zones created here are
            associated with them.
        private_zone_name: Create a private hosted zone of this name (``corp.internal``),
            associated with ``vpcs`` (at least one).
        private_zones: Existing private hosted zones to write into; their names must be
            known at synth (``HostedZone.from_hosted_zone_attributes``).
        public_zone_name: Create a public hosted zone of this name for the public IP
            addresses.
        public_zones: Existing public hosted zones, names known at synth.
        reverse_zones: Existing reverse zones (``<...>.in-addr.arpa``) for PTR records.
        reverse_zone_cidrs: IPv4 CIDRs to create reverse zones for, associated with
            ``vpcs``; the prefix is rounded down to a whole octet (``10.20.0.0/16`` ->
            ``20.10.in-addr.arpa``), at least /8. Defaults to each VPC's CIDR when no
            ``reverse_zones`` are given (``[]`` creates none).
        states: The EC2 states the rule matches: ``running`` and at least one of
            ``stopping``, ``stopped``, ``shutting-down`` and ``terminated``.
        zone_tag_key: The instance tag that names its private zone. Defaults to ``ZONE``.
        cname_tag_key: The instance tag that holds its CNAME. Defaults to ``CNAME``.
        record_ttl: The TTL of the records, 0 s-68 years. Defaults to 60 seconds.
        forget_after: How long the table remembers a stopped or terminated instance, at
            least 2 days (events may arrive up to 30 hours late). Defaults to 90 days.
        associate_vpcs: Let the function associate a managed private or reverse zone
            with an instance's VPC that is not associated yet. Defaults to True.
        target_retry_attempts: EventBridge's retries of the function, 0-185. Defaults to
            185.
        target_max_event_age: How long EventBridge keeps retrying, 60 s-24 h. Defaults to
            24 hours.
        retry_attempts: Lambda's retries of a failed invocation, 0-2. Defaults to 2.
        max_event_age: How long Lambda keeps trying, 60 s-6 h. Defaults to 6 hours.
        table: An existing table with the string partition key ``instanceId`` (a
            ``Table`` or a ``TableV2``; time to live on ``expiresAt``). Defaults to a new
            table.
        handler: ``<module>.<function>`` of ``code``. Defaults to the library's handler.
        code: Your code: a folder path or any ``lambda_.Code``. Defaults to the library's
            runtime.
        encryption_key: Customer managed key for the function's environment and logs.
        alarm_topic: SNS topic for the alarms' notifications.
        alarms: Create the alarms. Defaults to True.
        service_name: ``POWERTOOLS_SERVICE_NAME``. Defaults to the construct id.
        environment: Further environment variables of the function.
        memory_size: Memory in MiB, 128-10240. Defaults to 256.
        timeout: 1 s-15 min. Defaults to 60 seconds.
        log_retention: Retention of the function's log group.
        log_level: ``DEBUG``, ``INFO``, ``WARN`` or ``ERROR``.
        layers: Layers of your own.
        runtime_helpers: Add the library's runtime layer.
        architecture: ``ARM_64`` (default) or ``X86_64``.
        reserved_concurrent_executions: Reserved concurrency of the function.

    Raises:
        ValueError: A prop outside its limit, no zone to write into, a zone whose name is
            unknown at synth, or a VPC whose CIDR cannot be read for a reverse zone.
        TypeError: A prop of the wrong type.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpcs: Sequence[ec2.IVpc] = (),
        private_zone_name: str | None = None,
        private_zones: Sequence[route53.IHostedZone] = (),
        public_zone_name: str | None = None,
        public_zones: Sequence[route53.IHostedZone] = (),
        reverse_zones: Sequence[route53.IHostedZone] = (),
        reverse_zone_cidrs: Sequence[str] | None = None,
        states: Sequence[str] = DEFAULT_STATES,
        zone_tag_key: str = "ZONE",
        cname_tag_key: str = "CNAME",
        record_ttl: Duration = DEFAULT_RECORD_TTL,
        forget_after: Duration = DEFAULT_FORGET_AFTER,
        associate_vpcs: bool = True,
        target_retry_attempts: int = MAX_TARGET_RETRY_ATTEMPTS,
        target_max_event_age: Duration = DEFAULT_TARGET_MAX_EVENT_AGE,
        retry_attempts: int = 2,
        max_event_age: Duration = DEFAULT_MAX_EVENT_AGE,
        table: dynamodb.ITable | None = None,
        handler: str = _HANDLER,
        code: lambda_.Code | str | os.PathLike[str] | None = None,
        encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
        alarms: bool = True,
        service_name: str | None = None,
        environment: Mapping[str, str] | None = None,
        memory_size: int | None = None,
        timeout: Duration = DEFAULT_TIMEOUT,
        log_retention: logs.RetentionDays | None = None,
        log_level: str | None = None,
        layers: Sequence[lambda_.ILayerVersion] | None = None,
        runtime_helpers: bool | None = None,
        architecture: lambda_.Architecture | None = None,
        reserved_concurrent_executions: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_types(
            ("table", table, dynamodb.ITable),
            ("encryption_key", encryption_key, kms.IKey),
            ("alarm_topic", alarm_topic, sns.ITopic),
            ("record_ttl", record_ttl, Duration),
            ("forget_after", forget_after, Duration),
            ("target_max_event_age", target_max_event_age, Duration),
            ("max_event_age", max_event_age, Duration),
            ("timeout", timeout, Duration),
        )
        for prop, items, kind in (
            ("vpcs", vpcs, ec2.IVpc),
            ("private_zones", private_zones, route53.IHostedZone),
            ("public_zones", public_zones, route53.IHostedZone),
            ("reverse_zones", reverse_zones, route53.IHostedZone),
        ):
            for index, item in enumerate(items):
                check_types((f"{prop}[{index}]", item, kind))
        check_function_options(memory_size=memory_size, timeout=timeout, log_level=log_level)
        check_states(states)
        check_tag_key("zone_tag_key", zone_tag_key)
        check_tag_key("cname_tag_key", cname_tag_key)
        ttl_seconds = check_duration_range(
            "record_ttl",
            record_ttl,
            0,
            MAX_RECORD_TTL_SECONDS,
            fix="Route 53 takes a TTL of 0 to 2,147,483,647 seconds; 60 s lets a new IP "
            "address reach clients within a minute.",
        )
        forget_seconds = check_duration_range(
            "forget_after",
            forget_after,
            MIN_FORGET_AFTER_SECONDS,
            MAX_FORGET_AFTER_SECONDS,
            fix="An event can arrive up to 30 hours late (24 h of EventBridge retries and 6 h "
            "of Lambda's); an instance forgotten sooner could be brought back by it. Use "
            "Duration.days(2) or more.",
        )
        check_int_range(
            "target_retry_attempts",
            target_retry_attempts,
            0,
            MAX_TARGET_RETRY_ATTEMPTS,
            fix="EventBridge retries a target at most 185 times.",
        )
        check_duration_range(
            "target_max_event_age",
            target_max_event_age,
            60,
            MAX_TARGET_EVENT_AGE_SECONDS,
            fix="EventBridge keeps retrying an event between 1 minute and 24 hours.",
        )
        check_int_range(
            "retry_attempts",
            retry_attempts,
            0,
            2,
            fix="Lambda retries an asynchronous invocation at most twice.",
        )
        check_duration_range(
            "max_event_age",
            max_event_age,
            60,
            MAX_ASYNC_EVENT_AGE_SECONDS,
            fix="Lambda keeps an asynchronous event between 1 minute and 6 hours.",
        )
        if private_zone_name is not None:
            private_zone_name = check_zone_name("private_zone_name", private_zone_name)
        if public_zone_name is not None:
            public_zone_name = check_zone_name("public_zone_name", public_zone_name)
        vpcs = list(vpcs)
        if private_zone_name is not None and not vpcs:
            raise ValueError(
                f"private_zone_name={private_zone_name!r} needs at least one VPC in vpcs: a "
                "private hosted zone is created associated with a VPC. Give vpcs=[vpc]."
            )
        given_private = _zone_names("private_zones", private_zones)
        given_public = _zone_names("public_zones", public_zones)
        given_reverse = _zone_names("reverse_zones", reverse_zones)
        for name in given_reverse:
            if not name.endswith(_REVERSE_SUFFIX):
                raise ValueError(
                    f"reverse_zones: {name!r} is not a reverse zone: its name must end in "
                    f"'{_REVERSE_SUFFIX}' (e.g. '20.10.in-addr.arpa' for 10.20.0.0/16). Give "
                    "other zones as private_zones."
                )
        reverse_names = self._reverse_zone_names(
            vpcs, reverse_zone_cidrs, given_reverse if reverse_zones else None
        )
        if reverse_names and not vpcs:
            raise ValueError(
                f"reverse_zone_cidrs={list(reverse_zone_cidrs or [])!r} needs at least one VPC "
                "in vpcs: reverse zones are private hosted zones, created associated with a "
                "VPC. Give vpcs=[vpc], or existing zones as reverse_zones."
            )
        creates_zone = private_zone_name is not None or public_zone_name is not None
        if not creates_zone and not private_zones and not public_zones:
            raise ValueError(
                "Ec2DynamicDns has no zone to write into: give private_zone_name (or "
                "private_zones) for the private addresses, and/or public_zone_name (or "
                "public_zones) for the public ones."
            )

        #: The private hosted zones the function writes A and CNAME records into.
        self.private_zones: list[route53.IHostedZone] = list(private_zones)
        #: The public hosted zones the function writes A records of public IPs into.
        self.public_zones: list[route53.IHostedZone] = list(public_zones)
        #: The reverse zones the function writes PTR records into.
        self.reverse_zones: list[route53.IHostedZone] = list(reverse_zones)
        managed: list[tuple[route53.IHostedZone, str, bool]] = []
        managed += [(z, n, True) for z, n in zip(private_zones, given_private, strict=True)]
        if private_zone_name is not None:
            zone = self._private_zone("PrivateZone", private_zone_name, vpcs)
            self.private_zones.append(zone)
            managed.append((zone, private_zone_name, True))
        managed += [(z, n, False) for z, n in zip(public_zones, given_public, strict=True)]
        if public_zone_name is not None:
            public = route53.PublicHostedZone(
                self,
                "PublicZone",
                zone_name=public_zone_name,
                comment=f"Public A records of the EC2 instances, kept by {self.node.path}",
            )
            self.public_zones.append(public)
            managed.append((public, public_zone_name, False))
        managed += [(z, n, True) for z, n in zip(reverse_zones, given_reverse, strict=True)]
        for name in reverse_names:
            # One id per zone name, not per position: adding a CIDR replaces no other zone.
            octets = name.removesuffix(_REVERSE_SUFFIX).replace(".", "-")
            reverse = self._private_zone(f"ReverseZone{octets}", name, vpcs)
            self.reverse_zones.append(reverse)
            managed.append((reverse, name, True))

        #: The instances the function has registered, by ``instanceId``.
        self.table: dynamodb.ITable = table or _defaults.secure_table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="instanceId", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiresAt",
            removal_policy=RemovalPolicy.RETAIN,
        )
        queue_key, dead_letter_queue, failure_queue = failure_queues(self)
        #: The key of both queues.
        self.queue_key: kms.Key = queue_key
        #: Events EventBridge could not deliver to the function.
        self.dead_letter_queue: sqs.Queue = dead_letter_queue
        #: Invocations that failed every retry, and events the code parks.
        self.failure_queue: sqs.Queue = failure_queue

        stack = Stack.of(self)
        env = {
            "TABLE_NAME": self.table.table_name,
            "HOSTED_ZONES": stack.to_json_string(
                [
                    {"id": zone.hosted_zone_id, "name": f"{name}.", "private": private}
                    for zone, name, private in managed
                ]
            ),
            "RECORD_TTL_SECONDS": str(ttl_seconds),
            "FORGET_AFTER_SECONDS": str(forget_seconds),
            "ASSOCIATE_VPCS": "true" if associate_vpcs else "false",
            "ZONE_TAG_KEY": zone_tag_key,
            "CNAME_TAG_KEY": cname_tag_key,
        }
        env.update(environment or {})
        options: dict[str, Any] = {
            "memory_size": memory_size,
            "log_retention": log_retention,
            "log_level": log_level,
            "layers": layers,
            "architecture": architecture,
        }
        #: The function (a :class:`BlueprintFunction`).
        self.blueprint: BlueprintFunction = invoked_asynchronously(
            self,
            failure_queue=self.failure_queue,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
            environment=env,
            options=options,
            handler=handler,
            code=code,
            service_name=service_name or construct_id,
            description=f"Keeps the DNS records of EC2 instances for {self.node.path}",
            timeout=timeout,
            encryption_key=encryption_key,
            runtime_helpers=runtime_helpers,
            reserved_concurrent_executions=reserved_concurrent_executions,
            alarm_topic=alarm_topic,
            alarms=alarms,
        )
        function = self.blueprint.function
        #: The Lambda function.
        self.function: lambda_.Function = function
        # The destination's grant (sqs:SendMessage, the key's GenerateDataKey and Decrypt)
        # also lets the code park an event itself.
        self._grant(managed, associate_vpcs=associate_vpcs)

        #: The rule on EC2 instance state changes.
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"EC2 instance state changes for the DNS records of {self.node.path}",
            event_pattern=events.EventPattern(
                source=["aws.ec2"],
                detail_type=["EC2 Instance State-change Notification"],
                detail={"state": list(states)},
            ),
        )
        # The key policy must name the rule, and the rule names the queue the key encrypts:
        # a rule of a known name breaks that cycle, its ARN built without a reference.
        rule_name = Names.unique_resource_name(
            self.rule, max_length=64, separator="-", allowed_special_characters="-_."
        )
        cfn_rule = self.rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)  # noqa: S101 - events.Rule's L1
        cfn_rule.name = rule_name
        rule_arn = stack.format_arn(service="events", resource="rule", resource_name=rule_name)
        self.rule.add_target(
            targets.LambdaFunction(
                function,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=target_retry_attempts,
                max_event_age=target_max_event_age,
            )
        )
        queue_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeForThisRule",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
            )
        )

        #: The alarms: the function's ``errors`` and ``throttles``, ``failed_invocations``
        #: of the rule, ``dead_letter_queue_depth`` and ``failure_queue_depth``.
        self.alarms: dict[str, cloudwatch.Alarm] = dict(self.blueprint.alarms)
        if alarms:
            failed = cloudwatch.Alarm(
                self,
                "FailedInvocationsAlarm",
                alarm_description="EventBridge could not invoke the function for an EC2 "
                "state change; after its retries the event goes to the dead-letter queue.",
                metric=self.metric_failed_invocations(),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            self.alarms["failed_invocations"] = _defaults.add_alarm_action(failed, alarm_topic)
            self.alarms |= failure_queue_alarms(
                self,
                self.dead_letter_queue,
                self.failure_queue,
                topic=alarm_topic,
                dead_letter="EventBridge could not deliver EC2 state changes to the function; "
                "they wait in the dead-letter queue.",
                failure="EC2 state changes the function could not apply wait in the failure "
                "queue with their reason.",
            )

    def _private_zone(
        self, construct_id: str, name: str, vpcs: Sequence[ec2.IVpc]
    ) -> route53.PrivateHostedZone:
        zone = route53.PrivateHostedZone(
            self,
            construct_id,
            zone_name=name,
            vpc=vpcs[0],
            comment=f"Records of the EC2 instances, kept by {self.node.path}",
        )
        for vpc in vpcs[1:]:
            zone.add_vpc(vpc)
        return zone

    def _reverse_zone_names(
        self,
        vpcs: Sequence[ec2.IVpc],
        cidrs: Sequence[str] | None,
        given: Sequence[str] | None,
    ) -> list[str]:
        """The reverse zones to create: one per CIDR, none inside another or a given one."""
        if cidrs is None:
            if given is not None:
                return []
            cidrs = []
            for index, vpc in enumerate(vpcs):
                cidr = vpc_cidr(vpc)
                if cidr is None:
                    raise ValueError(
                        f"vpcs[{index}] ({vpc.node.path}): its CIDR cannot be read at synth, so "
                        "its reverse zone cannot be named. Give reverse_zone_cidrs=['10.20.0.0/"
                        "16'] (the VPC's CIDR), existing zones as reverse_zones, or "
                        "reverse_zone_cidrs=[] for no PTR records."
                    )
                cidrs.append(cidr)
        elif isinstance(cidrs, str):
            raise TypeError(
                f"reverse_zone_cidrs={cidrs!r} is a str, not a list of CIDRs. Pass "
                f"reverse_zone_cidrs=[{cidrs!r}]."
            )
        names = [reverse_zone_name(cidr) for cidr in cidrs]
        kept: list[str] = []
        existing = list(given or ())
        # Shortest first: a zone inside another would shadow the other's records of its
        # addresses in the VPCs both are associated with.
        for name in sorted(dict.fromkeys(names), key=lambda n: (n.count("."), n)):
            if not any(_within(name, other) for other in kept + existing):
                kept.append(name)
        return kept

    def _grant(
        self, managed: Sequence[tuple[route53.IHostedZone, str, bool]], *, associate_vpcs: bool
    ) -> None:
        function = self.function
        self.table.grant(function, "dynamodb:GetItem", "dynamodb:PutItem")
        key = self.table.encryption_key
        if key is not None:
            key.grant(function, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        zone_arns = [zone.hosted_zone_arn for zone, _, _ in managed]
        function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ChangeInstanceRecords",
                actions=["route53:ChangeResourceRecordSets"],
                resources=zone_arns,
                conditions={
                    "ForAllValues:StringEquals": {
                        "route53:ChangeResourceRecordSetsRecordTypes": list(RECORD_TYPES)
                    },
                    # ForAllValues holds for a request without the key at all: require it.
                    "Null": {"route53:ChangeResourceRecordSetsRecordTypes": "false"},
                },
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ReadZones",
                actions=["route53:GetHostedZone", "route53:ListResourceRecordSets"],
                resources=zone_arns,
            )
        )
        private_arns = [zone.hosted_zone_arn for zone, _, private in managed if private]
        if associate_vpcs and private_arns:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    sid="AssociateInstanceVpcs",
                    actions=["route53:AssociateVPCWithHostedZone"],
                    resources=private_arns,
                )
            )
        role = function.role
        assert role is not None  # noqa: S101 - a BlueprintFunction has its own role
        #: The policy of the EC2 ``Describe`` calls, the only ones on ``*``.
        self.describe_policy = iam.Policy(
            self,
            "DescribePolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    sid="DescribeInstancesAndVpcs",
                    actions=[
                        "ec2:DescribeInstances",
                        "ec2:DescribeVpcs",
                        "ec2:DescribeVpcAttribute",
                        "ec2:DescribeDhcpOptions",
                    ],
                    resources=["*"],
                )
            ],
        )
        _defaults.acknowledge(
            self.describe_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "DescribeInstances, DescribeVpcs and DescribeDhcpOptions support no "
            "resource-level permissions (the Service Authorization Reference lists no resource "
            "type for them), so they take Resource '*'; DescribeVpcAttribute is read for "
            "whichever VPC an instance runs in, which the stack cannot name. The policy holds "
            "these four reads of instance and VPC metadata and nothing else.",
        )

    def metric_failed_invocations(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """``FailedInvocations`` of the rule: events EventBridge could not deliver (sum)."""
        return self._rule_metric("FailedInvocations", period)

    def metric_invocations(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """``Invocations`` of the rule: events sent to the function, retries included (sum)."""
        return self._rule_metric("Invocations", period)

    def _rule_metric(self, name: str, period: Duration | None) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/Events",
            metric_name=name,
            dimensions_map={"RuleName": self.rule.rule_name},
            period=period or Duration.minutes(1),
            statistic="Sum",
        )

    def metric_dead_letter_queue_depth(self) -> cloudwatch.Metric:
        """Messages waiting in the dead-letter queue (maximum per minute)."""
        return self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(1), statistic="Maximum"
        )

    def metric_failure_queue_depth(self) -> cloudwatch.Metric:
        """Messages waiting in the failure queue (maximum per minute)."""
        return self.failure_queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(1), statistic="Maximum"
        )


def check_states(states: Sequence[str]) -> None:
    """Refuse states EC2 does not send, duplicates, or a set that would leave records behind."""
    if isinstance(states, str):
        raise TypeError(f"states={states!r} is a str, not a list. Pass states=[{states!r}].")
    states = list(states)
    unknown = [s for s in states if s not in EC2_STATES]
    if unknown:
        raise ValueError(
            f"states={states!r}: {unknown!r} is no EC2 instance state; allowed are "
            f"{', '.join(EC2_STATES)}."
        )
    if len(set(states)) != len(states):
        raise ValueError(f"states={states!r} names a state twice; name each once.")
    if "running" not in states:
        raise ValueError(
            f"states={states!r} lacks 'running': no record would ever be written. "
            "Include 'running'."
        )
    if not set(states) & set(_GONE_STATES):
        raise ValueError(
            f"states={states!r} has none of {', '.join(_GONE_STATES)}: records would "
            "never be removed. Include 'terminated' (and 'stopped' unless stopped instances "
            "keep their names)."
        )


def check_tag_key(prop: str, key: str) -> None:
    """Refuse a key EC2 would not accept as a tag key."""
    if Token.is_unresolved(key):
        return
    if not isinstance(key, str) or not _TAG_KEY.fullmatch(key):
        raise ValueError(
            f"{prop}={key!r}: an EC2 tag key is 1 to 128 letters, digits, spaces and "
            "+ - = . _ : / @. Use e.g. 'ZONE'."
        )
    if key.lower().startswith("aws:"):
        raise ValueError(
            f"{prop}={key!r}: tag keys starting with 'aws:' are reserved for AWS. Use a key "
            "of your own, e.g. 'ZONE'."
        )


def check_zone_name(prop: str, name: str) -> str:
    """The zone name in lowercase without its trailing dot, or a ValueError."""
    if Token.is_unresolved(name):
        raise ValueError(
            f"{prop} is a token: the function needs the zone's name at synth. Give the "
            "name as a string."
        )
    normalized = name.lower().removesuffix(".")
    labels = normalized.split(".")
    if len(normalized) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(x) for x in labels):
        raise ValueError(
            f"{prop}={name!r} is not a domain name Route 53 can host here: labels of 1 to 63 "
            "letters, digits, hyphens and underscores, at least two labels, 253 characters "
            "at most. Use e.g. 'corp.internal'."
        )
    return normalized


def reverse_zone_name(cidr: str) -> str:
    """The ``in-addr.arpa`` zone of an IPv4 CIDR, its prefix rounded down to a whole octet.

    ``10.20.0.0/16`` -> ``20.10.in-addr.arpa``; ``/24`` and longer -> three octets;
    ``/8``-``/15`` -> ``10.in-addr.arpa``.

    Raises:
        ValueError: Not an IPv4 CIDR, or a prefix shorter than /8.
    """
    try:
        network = ipaddress.IPv4Network(cidr, strict=False)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"reverse_zone_cidrs: {cidr!r} is not an IPv4 CIDR ({error}). Use e.g. '10.20.0.0/16'."
        ) from None
    if network.prefixlen < 8:
        raise ValueError(
            f"reverse_zone_cidrs: {cidr!r} has a prefix shorter than /8; a reverse zone "
            "covers at most one first octet (/8 to /32). Split it into /8 networks."
        )
    octets = str(network.network_address).split(".")[: min(network.prefixlen // 8, 3)]
    return ".".join(reversed(octets)) + _REVERSE_SUFFIX


def vpc_cidr(vpc: ec2.IVpc) -> str | None:
    """The VPC's primary IPv4 CIDR when it is known at synth, else None."""
    try:
        cidr = vpc.vpc_cidr_block
    except Exception:  # jsii raises for an imported VPC without a CIDR
        cidr = None
    if isinstance(cidr, str) and not Token.is_unresolved(cidr):
        return cidr
    cfn_vpc = vpc.node.default_child
    if isinstance(cfn_vpc, ec2.CfnVPC):
        block = cfn_vpc.cidr_block
        if isinstance(block, str) and not Token.is_unresolved(block):
            return block
    return None


def _zone_names(prop: str, zones: Sequence[route53.IHostedZone]) -> list[str]:
    """The names of existing zones, lowercase without the trailing dot."""
    names = []
    for index, zone in enumerate(zones):
        try:
            name = zone.zone_name
        except Exception:  # jsii raises for from_hosted_zone_id zones
            name = None
        if not isinstance(name, str) or Token.is_unresolved(name):
            raise ValueError(
                f"{prop}[{index}] ({zone.node.path}): its zone name is not known at synth, and "
                "the function needs it to pick the zone of a record. Import the zone with "
                "route53.HostedZone.from_hosted_zone_attributes(scope, id, hosted_zone_id=..., "
                "zone_name=...)."
            )
        names.append(check_zone_name(f"{prop}[{index}].zone_name", name))
    return names


def _within(name: str, zone: str) -> bool:
    """Whether ``name`` is ``zone`` or a name inside it."""
    return name == zone or name.endswith("." + zone)
