"""Dynamic DNS for EC2: keep Route 53 records in step with instances' states.

Invoked by an EventBridge rule with one ``EC2 Instance State-change Notification`` per
invocation (``detail.instance-id``, ``detail.state``, and the event's ``time``).

* ``running``: describe the instance (retrying with backoff while EC2 does not know it
  yet, as EC2 is eventually consistent), its VPC's DNS settings and DHCP domain, decide its
  records (:func:`.records.plan_records`), remember the instance and the records in the
  table, then write them; associate the private zones with the instance's VPC where they
  are not yet (``ASSOCIATE_VPCS``).
* ``stopping``, ``stopped``, ``shutting-down``, ``terminated``: read the instance from the
  table (a terminated instance can no longer be described) and delete exactly the records
  the function wrote for it.
* ``pending``: nothing to do yet.

Order and duplicates:
    The table keeps, per instance, the time and state of the last event applied and a
    version. An event applies only when it is newer (a later time; within the same second,
    a state later in the instance's life); ``terminated`` is final, so a late ``running``
    never brings records back. A ``running`` event also applies only while EC2 still says
    the instance runs. Every invocation, applied or not, then makes Route 53 match the
    table's latest version, and reads the version again afterwards: if another invocation
    moved it on meanwhile, it does the same for the new version. So duplicates, retries
    and events out of order leave the zones as the latest state says, even when two
    invocations for one instance run at once.

Writes:
    Only what differs is changed: an ``UPSERT`` for a record set not already as wanted, a
    ``DELETE`` only of a record set whose value is still exactly what the function wrote
    (one someone else changed is left alone). A batch that Route 53 refuses because a
    record changed under it is planned again from what Route 53 then holds.

Failures:
    A record that can never be written is reported once, on the failure queue, with the
    event and every reason (:mod:`.records`: ``ZONE_NOT_FOUND``,
    ``REVERSE_ZONE_NOT_FOUND``, ``VPC_DNS_DISABLED``, ``NO_PUBLIC_ADDRESS``,
    ``NO_PRIVATE_ADDRESS``, ``INVALID_TAG``; ``ZONE_NOT_ASSOCIATED`` when Route 53 refuses
    to associate a zone with the VPC; ``WRITE_REJECTED`` when it refuses a change), and the
    instance's other records are still written. An event without an instance id, a known
    state or a time is parked as ``MALFORMED_EVENT``. The invocation then succeeds.
    Anything a retry may fix (throttling, a service error, an instance EC2 does not show
    yet, invocations for one instance racing past :data:`MAX_ROUNDS`) is raised: Lambda
    retries the event, then sends it to the function's on-failure destination.

Returns ``{"instanceId", "state", "outcome", "upserted", "deleted", "problems"}``, where
``outcome`` is ``applied`` (this event is now the instance's latest), ``checked`` (the
event is not newer than the one applied last, a duplicate or late; the zones were checked
against that one), ``skipped`` (nothing to apply: ``pending``, or an instance that no
longer runs) or ``parked``.

Environment:
    TABLE_NAME: The instance table (partition key ``instanceId``).
    HOSTED_ZONES: JSON ``[{"id": <zone id>, "name": <zone name>, "private": <bool>}]``:
        the zones the function manages (forward, public and reverse).
    FAILURE_QUEUE_URL: Where events with records that can never be written go.
    RECORD_TTL_SECONDS: TTL of the records; default 60.
    FORGET_AFTER_SECONDS: How long the table keeps a stopped or terminated instance;
        default 90 days.
    ASSOCIATE_VPCS: ``true`` (default) to associate managed private zones with an
        instance's VPC; ``false`` to leave associations alone.
    ZONE_TAG_KEY, CNAME_TAG_KEY: The tag keys; default ``ZONE`` and ``CNAME``.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import ClientError

from ..shared.failures import PoisonRecordError, send_to_failure_queue
from .records import (
    RECORD_TYPES,
    ZONE_NOT_FOUND,
    InstanceFacts,
    Plan,
    Problem,
    Record,
    Zone,
    plan_records,
    zones_from_json,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_sqs import SQSClient

logger = Logger()

#: The order of an instance's states within one second of event time.
STATE_RANK = {
    "pending": 0,
    "running": 1,
    "stopping": 2,
    "stopped": 3,
    "shutting-down": 4,
    "terminated": 5,
}
REMOVAL_STATES = frozenset({"stopping", "stopped", "shutting-down", "terminated"})
#: Rounds of apply-and-check before racing invocations are left to Lambda's retries.
MAX_ROUNDS = 5
#: Waits before describing an instance EC2 does not know yet, in seconds (then give up).
DESCRIBE_BACKOFF = (0.2, 0.5, 1.0, 2.0, 4.0)
#: A ``running`` event older than this whose instance EC2 no longer knows is for an
#: instance long gone (EC2 shows terminated instances for about an hour).
GONE_AFTER_SECONDS = 3600
#: Records of earlier versions the table keeps to delete again if a racing writer
#: restored them; the oldest beyond this are dropped.
MAX_RETIRED = 50
DEFAULT_TTL_SECONDS = 60
DEFAULT_FORGET_AFTER_SECONDS = 90 * 86_400
MALFORMED_EVENT = "MALFORMED_EVENT"
ZONE_NOT_ASSOCIATED = "ZONE_NOT_ASSOCIATED"
WRITE_REJECTED = "WRITE_REJECTED"
_INSTANCE_NOT_FOUND = "InvalidInstanceID.NotFound"

#: How the handler waits; tests replace it.
sleep: Callable[[float], None] = time.sleep

_RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})


class RetryLaterError(Exception):
    """Something a later retry of the invocation may get past."""


@dataclass(frozen=True)
class Settings:
    """The function's settings, from its environment."""

    table_name: str
    zones: tuple[Zone, ...]
    ttl: int
    forget_after: int
    associate_vpcs: bool
    zone_tag: str
    cname_tag: str

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Settings:
        """Read the settings; a missing ``TABLE_NAME`` or ``HOSTED_ZONES`` raises."""
        return cls(
            table_name=env["TABLE_NAME"],
            zones=zones_from_json(env["HOSTED_ZONES"]),
            ttl=int(env.get("RECORD_TTL_SECONDS", DEFAULT_TTL_SECONDS)),
            forget_after=int(env.get("FORGET_AFTER_SECONDS", DEFAULT_FORGET_AFTER_SECONDS)),
            associate_vpcs=env.get("ASSOCIATE_VPCS", "true").lower() == "true",
            zone_tag=env.get("ZONE_TAG_KEY", "ZONE"),
            cname_tag=env.get("CNAME_TAG_KEY", "CNAME"),
        )


@dataclass(frozen=True)
class StateChange:
    """The parts of a state-change event the function reads."""

    instance_id: str
    state: str
    time: datetime
    event_id: str

    @property
    def order(self) -> tuple[float, int]:
        """Later events sort after earlier ones; one second's states in life order."""
        return (self.time.timestamp(), STATE_RANK[self.state])


@dataclass
class Remembered:
    """The table's item for one instance."""

    version: int
    state: str
    time: datetime
    records: list[Record] = field(default_factory=list)
    retired: list[Record] = field(default_factory=list)

    @property
    def order(self) -> tuple[float, int]:
        """As :attr:`StateChange.order`."""
        return (self.time.timestamp(), STATE_RANK.get(self.state, 0))


@cache
def ec2_client() -> EC2Client:
    """The EC2 client, created on first use."""
    return boto3.client("ec2", config=_RETRIES)


@cache
def route53_client() -> Route53Client:
    """The Route 53 client, created on first use (Route 53 throttles at 5 requests/s)."""
    return boto3.client("route53", config=_RETRIES)


@cache
def sqs_client() -> SQSClient:
    """The SQS client, created on first use."""
    return boto3.client("sqs")


@cache
def table_for(name: str) -> Any:
    """The instance table (a boto3 ``Table`` resource)."""
    return boto3.resource("dynamodb", config=_RETRIES).Table(name)


def parse_event(event: Any) -> StateChange:
    """Read an EC2 state-change event.

    Raises:
        ValueError: When it has no instance id, no known state, or no time.
    """
    if not isinstance(event, Mapping):
        raise ValueError("the event is not a JSON object")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise ValueError("the event has no detail object")
    instance_id = detail.get("instance-id")
    state = detail.get("state")
    if not isinstance(instance_id, str) or not instance_id.startswith("i-"):
        raise ValueError(f"detail.instance-id is not an instance id: {instance_id!r}")
    if state not in STATE_RANK:
        raise ValueError(f"detail.state is not an EC2 instance state: {state!r}")
    raw_time = event.get("time")
    if not isinstance(raw_time, str):
        raise ValueError(f"the event has no time: {raw_time!r}")
    when = datetime.fromisoformat(raw_time.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"the event's time has no UTC offset: {raw_time!r}")
    return StateChange(instance_id, str(state), when.astimezone(UTC), str(event.get("id", "")))


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Bring the zones in line with one instance state change (see the module)."""
    try:
        change = parse_event(event)
    except ValueError as error:
        _park(event, [Problem(MALFORMED_EVENT, str(error))], context)
        return _result(None, "parked", [], [], [MALFORMED_EVENT])
    settings = Settings.from_environment(os.environ)
    return handle_change(change, event, settings, context)


def handle_change(
    change: StateChange,
    event: Mapping[str, Any],
    settings: Settings,
    context: LambdaContext,
) -> dict[str, Any]:
    """Apply ``change`` (when it is the newest) and converge the zones; see the module."""
    table = table_for(settings.table_name)
    managed = frozenset(zone.id for zone in settings.zones)
    upserted: list[Record] = []
    deleted: list[Record] = []
    problems: list[Problem] = []
    outcome = "checked"
    for _ in range(MAX_ROUNDS):
        current = _load(table, change.instance_id)
        target = current
        if current is None or _is_newer(change, current):
            if change.state == "pending":
                return _result(change, "skipped", [], [], [])
            built = _next_version(change, current, settings)
            if built is None:
                return _result(change, "skipped", [], [], [])
            target, item, plan = built
            if not _store(table, item, current):
                continue  # another invocation stored a version first: start again
            outcome = "applied"
            problems = plan.problems + _associate(plan, settings)
        if target is None:
            return _result(change, "skipped", [], [], [])
        try:
            done = converge(route53_client(), target, managed)
        except _RecordsChangedError:
            continue
        upserted += done.upserted
        deleted += done.deleted
        problems += [problem for problem in done.problems if problem not in problems]
        latest = _load(table, change.instance_id)
        if latest is not None and latest.version == target.version:
            if problems:
                _park(event, problems, context)
            logger.info(
                "zones converged",
                extra={
                    "instanceId": change.instance_id,
                    "state": change.state,
                    "outcome": outcome,
                    "version": target.version,
                    "upserted": len(upserted),
                    "deleted": len(deleted),
                },
            )
            return _result(
                change, outcome, upserted, deleted, [problem.reason for problem in problems]
            )
    raise RetryLaterError(
        f"{change.instance_id}: its records kept changing under this invocation for "
        f"{MAX_ROUNDS} rounds"
    )


def _is_newer(change: StateChange, current: Remembered) -> bool:
    if current.state == "terminated":
        return False
    return change.order > current.order


def _next_version(
    change: StateChange, current: Remembered | None, settings: Settings
) -> tuple[Remembered, dict[str, Any], Plan] | None:
    """The table's next version for ``change``, or None when there is nothing to apply."""
    previous = [] if current is None else current.records + current.retired
    facts: InstanceFacts | None = None
    plan = Plan()
    if change.state == "running":
        facts = describe(ec2_client(), change)
        if facts is None:
            return None
        plan = plan_records(
            facts,
            settings.zones,
            zone_tag=settings.zone_tag,
            cname_tag=settings.cname_tag,
            ttl=settings.ttl,
        )
    # What the new version wants again is never deleted: _zone_changes() skips it by key.
    retired: list[Record] = []
    for record in previous:
        if record not in retired:
            retired.append(record)
    retired = retired[-MAX_RETIRED:]
    version = 1 if current is None else current.version + 1
    target = Remembered(version, change.state, change.time, plan.records, retired)
    now = int(time.time())
    item: dict[str, Any] = {
        "instanceId": change.instance_id,
        "version": version,
        "state": change.state,
        "eventTime": change.time.isoformat(),
        "eventId": change.event_id,
        "records": [record.to_item() for record in plan.records],
        "retired": [record.to_item() for record in retired],
        "problems": [problem.reason for problem in plan.problems],
        "updatedAt": now,
    }
    if facts is not None:
        item["instance"] = facts.to_item()
    if change.state in REMOVAL_STATES:
        item["expiresAt"] = now + settings.forget_after
    return target, item, plan


def describe(ec2: EC2Client, change: StateChange) -> InstanceFacts | None:
    """What EC2 says of a ``running`` instance now; None when it does not run any more.

    Raises:
        RetryLaterError: EC2 does not know the instance yet (it is eventually consistent),
            after :data:`DESCRIBE_BACKOFF`.
    """
    instance: Mapping[str, Any] | None = None
    for wait in (*DESCRIBE_BACKOFF, None):
        try:
            reservations = ec2.describe_instances(InstanceIds=[change.instance_id])
        except ClientError as error:
            if _code(error) != _INSTANCE_NOT_FOUND:
                raise
        else:
            found = [i for r in reservations["Reservations"] for i in r.get("Instances", [])]
            if found:
                instance = found[0]
                break
        if wait is None:
            break
        sleep(wait * (0.5 + random.random()))  # noqa: S311 - jitter, not secrecy
    if instance is None:
        age = time.time() - change.time.timestamp()
        if age > GONE_AFTER_SECONDS:
            logger.info("instance is gone", extra={"instanceId": change.instance_id})
            return None
        raise RetryLaterError(f"EC2 does not show {change.instance_id} yet")
    state = str(instance.get("State", {}).get("Name", ""))
    if state not in ("pending", "running"):
        # A later event (stopping, shutting-down) is on its way or was applied already.
        logger.info(
            "instance no longer runs",
            extra={"instanceId": change.instance_id, "ec2State": state},
        )
        return None
    vpc_id = instance.get("VpcId")
    tags = {str(tag["Key"]): str(tag["Value"]) for tag in instance.get("Tags", [])}
    support, hostnames, domain = True, True, None
    if vpc_id:
        support, hostnames, domain = _vpc_dns(ec2, str(vpc_id))
    return InstanceFacts(
        instance_id=change.instance_id,
        vpc_id=str(vpc_id) if vpc_id else None,
        private_ip=instance.get("PrivateIpAddress") or None,
        private_dns_name=instance.get("PrivateDnsName") or None,
        public_ip=instance.get("PublicIpAddress") or None,
        public_dns_name=instance.get("PublicDnsName") or None,
        tags=tags,
        dns_support=support,
        dns_hostnames=hostnames,
        dhcp_domain=domain,
    )


def _vpc_dns(ec2: EC2Client, vpc_id: str) -> tuple[bool, bool, str | None]:
    """A VPC's DNS resolution and DNS hostnames settings and its DHCP domain name."""
    support = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")
    hostnames = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")
    vpcs = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    options_id = vpcs[0].get("DhcpOptionsId") if vpcs else None
    domain = None
    # "default" means the VPC has no DHCP option set of its own.
    if options_id and options_id != "default":
        options = ec2.describe_dhcp_options(DhcpOptionsIds=[options_id])["DhcpOptions"]
        for config in options[0].get("DhcpConfigurations", []) if options else []:
            if config.get("Key") == "domain-name" and config.get("Values"):
                domain = str(config["Values"][0].get("Value") or "") or None
    return (
        bool(support.get("EnableDnsSupport", {}).get("Value")),
        bool(hostnames.get("EnableDnsHostnames", {}).get("Value")),
        domain,
    )


class _RecordsChangedError(Exception):
    """Route 53 refused a batch because a record changed after it was read."""


#: Route 53 errors no retry fixes: the change is reported rather than retried.
_REFUSED = {"InvalidChangeBatch": WRITE_REJECTED, "InvalidInput": WRITE_REJECTED}
_MISSING_ZONE = "NoSuchHostedZone"


@dataclass
class Converged:
    """What :func:`converge` changed, and what Route 53 refused."""

    upserted: list[Record] = field(default_factory=list)
    deleted: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def converge(
    route53: Route53Client, target: Remembered, managed: frozenset[str] | None = None
) -> Converged:
    """Make Route 53 hold ``target.records`` and none of ``target.retired``.

    A record set already as wanted is not touched; a retired record whose value someone
    else changed is left alone. Records in zones outside ``managed`` (zone ids; a zone no
    longer configured) are left alone. Each zone is one batch: a zone that is gone, or a
    batch Route 53 refuses, is reported and the other zones are still written.

    Raises:
        _RecordsChangedError: A batch was refused because a record changed after it was read.
    """
    zones: dict[str, tuple[list[Record], list[Record]]] = {}
    for record in target.records:
        zones.setdefault(record.zone_id, ([], []))[0].append(record)
    for record in target.retired:
        zones.setdefault(record.zone_id, ([], []))[1].append(record)
    done = Converged()
    for zone_id, (records, retired) in zones.items():
        if managed is not None and zone_id not in managed:
            logger.warning(
                "zone no longer managed; its records are left", extra={"zoneId": zone_id}
            )
            continue
        try:
            changes = _zone_changes(route53, records, retired)
            if changes:
                batch: Any = {
                    "Comment": "dynamic DNS for EC2",
                    "Changes": [
                        {"Action": action, "ResourceRecordSet": record_set}
                        for action, _, record_set in changes
                    ],
                }
                route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch=batch)
        except ClientError as error:
            code = _code(error)
            if code == "InvalidChangeBatch" and _raced(error):
                raise _RecordsChangedError(str(error)) from error
            if code == _MISSING_ZONE:
                done.problems.append(Problem(ZONE_NOT_FOUND, f"zone {zone_id}: {error}"))
                continue
            if code in _REFUSED:
                done.problems.append(Problem(_REFUSED[code], f"zone {zone_id}: {error}"))
                continue
            raise
        for action, record, _ in changes:
            (done.upserted if action == "UPSERT" else done.deleted).append(record)
    return done


def _zone_changes(
    route53: Route53Client, records: Sequence[Record], retired: Sequence[Record]
) -> list[tuple[str, Record, dict[str, Any]]]:
    """The changes one zone needs: what differs from what Route 53 holds now."""
    changes: list[tuple[str, Record, dict[str, Any]]] = []
    seen: set[tuple[str, str, str]] = set()
    for record in records:
        current = _record_set(route53, record)
        if record.key not in seen and (current is None or not _same(current, record)):
            changes.append(("UPSERT", record, _as_record_set(record)))
        seen.add(record.key)
    for record in retired:
        if record.key in seen:
            continue
        current = _record_set(route53, record)
        if current is not None and _same(current, record):
            # Delete what Route 53 holds, exactly: a DELETE must match the record set.
            changes.append(("DELETE", record, dict(current)))
            seen.add(record.key)
    return changes


def _record_set(route53: Route53Client, record: Record) -> Mapping[str, Any] | None:
    response = route53.list_resource_record_sets(
        HostedZoneId=record.zone_id,
        StartRecordName=record.name,
        StartRecordType=record.type,  # type: ignore[arg-type]
        MaxItems="1",
    )
    for found in response.get("ResourceRecordSets", []):
        if _plain(found["Name"]) == record.name and found["Type"] == record.type:
            return found
    return None


def _same(found: Mapping[str, Any], record: Record) -> bool:
    values = [str(r.get("Value", "")) for r in found.get("ResourceRecords", [])]
    return (
        "AliasTarget" not in found
        and int(found.get("TTL", -1)) == record.ttl
        and [v.lower() if record.type != "A" else v for v in values] == [record.value]
    )


def _as_record_set(record: Record) -> dict[str, Any]:
    if record.type not in RECORD_TYPES:
        raise ValueError(f"the function writes no {record.type} records")
    return {
        "Name": record.name,
        "Type": record.type,
        "TTL": record.ttl,
        "ResourceRecords": [{"Value": record.value}],
    }


def _plain(name: str) -> str:
    """A name as Route 53 lists it, as this module writes it (escapes undone, dot on)."""
    text = name.replace("\\052", "*").lower()
    return text if text.endswith(".") else text + "."


def _raced(error: ClientError) -> bool:
    """Whether Route 53 refused a batch because what it holds changed since it was read."""
    message = str(error.response.get("Error", {}).get("Message", ""))
    return any(
        phrase in message
        for phrase in ("not found", "do not match", "already exists", "but it already exists")
    )


#: What Route 53 answers to an association no retry will make: reported, not retried.
_ASSOCIATION_REFUSED = frozenset(
    {
        "ConflictingDomainExists",
        "InvalidVPCId",
        "InvalidInput",
        "LimitsExceeded",
        "PublicZoneVPCAssociation",
    }
)


def _associate(plan: Plan, settings: Settings) -> list[Problem]:
    """Associate the plan's private zones with the instance's VPC where they are not."""
    if not settings.associate_vpcs or not plan.associations:
        return []
    route53 = route53_client()
    # Instances are in the function's region: so are their VPCs.
    region = ec2_client().meta.region_name
    problems = []
    for zone_id, vpc_id in plan.associations:
        try:
            vpcs = route53.get_hosted_zone(Id=zone_id).get("VPCs", [])
            if any(vpc.get("VPCId") == vpc_id for vpc in vpcs):
                continue
            route53.associate_vpc_with_hosted_zone(
                HostedZoneId=zone_id,
                VPC={"VPCRegion": region, "VPCId": vpc_id},  # type: ignore[typeddict-item]
                Comment="dynamic DNS for EC2",
            )
        except ClientError as error:
            code = _code(error)
            if code == _MISSING_ZONE:
                continue  # reported as ZONE_NOT_FOUND when its records are written
            if code in _ASSOCIATION_REFUSED:
                problems.append(
                    Problem(ZONE_NOT_ASSOCIATED, f"zone {zone_id} and {vpc_id}: {code}: {error}")
                )
                continue
            raise
    return problems


def _load(table: Any, instance_id: str) -> Remembered | None:
    item = table.get_item(Key={"instanceId": instance_id}, ConsistentRead=True).get("Item")
    if item is None:
        return None
    return Remembered(
        version=int(item["version"]),
        state=str(item["state"]),
        time=datetime.fromisoformat(str(item["eventTime"]).replace("Z", "+00:00")),
        records=[Record.from_item(r) for r in item.get("records", [])],
        retired=[Record.from_item(r) for r in item.get("retired", [])],
    )


def _store(table: Any, item: Mapping[str, Any], current: Remembered | None) -> bool:
    """Write the next version unless another invocation wrote one first."""
    try:
        if current is None:
            table.put_item(Item=item, ConditionExpression="attribute_not_exists(instanceId)")
        else:
            table.put_item(
                Item=item,
                ConditionExpression="version = :seen",
                ExpressionAttributeValues={":seen": current.version},
            )
    except ClientError as error:
        if _code(error) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _park(event: Any, problems: Sequence[Problem], context: LambdaContext) -> None:
    reasons = sorted({problem.reason for problem in problems})
    detail = "; ".join(f"{problem.reason}: {problem.detail}" for problem in problems)
    logger.warning("records not written", extra={"reasons": reasons, "detail": detail})
    send_to_failure_queue(
        sqs_client(),
        event if isinstance(event, Mapping) else {"event": event},
        PoisonRecordError(reasons[0] if len(reasons) == 1 else ",".join(reasons), detail),
        function_name=getattr(context, "function_name", ""),
        request_id=getattr(context, "aws_request_id", ""),
    )


def _result(
    change: StateChange | None,
    outcome: str,
    upserted: Sequence[Record],
    deleted: Sequence[Record],
    problems: Sequence[str],
) -> dict[str, Any]:
    return {
        "instanceId": change.instance_id if change else None,
        "state": change.state if change else None,
        "outcome": outcome,
        "upserted": [f"{r.name} {r.type} {r.value}" for r in upserted],
        "deleted": [f"{r.name} {r.type} {r.value}" for r in deleted],
        "problems": list(problems),
    }


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
