r"""Route 53 in the local cloud: hosted zones and record sets in moto, refused as AWS refuses.

Deployed from a template:

* ``AWS::Route53::HostedZone``: ``Name``; ``VPCs`` makes the zone private, created with
  the first VPC and associated with the others (``AssociateVPCWithHostedZone``);
  ``HostedZoneConfig.Comment``; ``HostedZoneTags``. ``Ref`` and ``Id`` are the zone id
  without the ``/hostedzone/`` prefix, as CloudFormation returns them; ``NameServers``
  (a list) exists for public zones only, as CloudFormation documents it.
* ``AWS::Route53::RecordSet`` with ``TTL`` and ``ResourceRecords``, in the zone of
  ``HostedZoneId`` or ``HostedZoneName``, written with ``ChangeResourceRecordSets``
  (``CREATE``); ``SetIdentifier``, ``Weight``, ``Region``, ``Failover``,
  ``MultiValueAnswer``, ``HealthCheckId`` and ``GeoLocation`` are passed on. ``Ref`` is the
  record name as the template gives it. Alias records (``AliasTarget``) are skipped: they
  get a placeholder and are listed in ``LocalCloud.skipped``, as types without a
  deployer are.

While a local cloud runs, or inside :func:`strict_route53` under plain ``moto.mock_aws()``,
moto's Route 53 refuses what Route 53 refuses (moto accepts most of it):

* ``ChangeResourceRecordSets`` is validated as one transaction, change by change in
  order, and either applies every change or none (moto applied the changes before a
  failing one). ``InvalidChangeBatch``, with every problem of the batch in one
  bracketed message, for: a ``DELETE`` of a record set that does not exist, or whose
  ``TTL``, values or routing settings differ from the current ones (moto refused every
  ``DELETE`` of a record that it had not written itself in the same process, with an
  unrelated ``InvalidInput``); a ``CREATE`` of a record set that exists (moto compared
  names by case); a name outside the zone (moto accepted ``xexample.com`` in
  ``example.com``); a ``CNAME`` at the zone apex, a ``CNAME`` where a record set of
  another type has the name, or another type where a ``CNAME`` has it; the same name and
  type (and set identifier) changed twice in one batch, except a ``DELETE`` followed by a
  ``CREATE``. A change with neither ``AliasTarget`` nor ``TTL`` and ``ResourceRecords``
  (or both) is ``InvalidInput``. More than 1,000 ``ResourceRecord`` elements in a batch
  (an ``UPSERT``'s counted twice) is refused by moto itself, as Route 53 refuses it.
* Names are kept as Route 53 returns them: lowercase, with the trailing dot, and every
  character other than ``a-z``, ``0-9``, ``-`` and ``_`` as a ``\ooo`` octal escape
  (``*.example.com`` lists as ``\052.example.com.``); a name given either way is the same
  name. ``UPSERT`` replaces the whole record set.
* ``CreateHostedZone`` with a ``VPC`` makes a private zone even without
  ``HostedZoneConfig.PrivateZone`` (moto made a public zone and dropped the VPC); a
  caller reference used before is ``HostedZoneAlreadyExists``; a VPC that moto's EC2 does
  not hold is ``InvalidVPCId``; a private zone whose name a zone associated with the VPC
  already has is ``ConflictingDomainExists``. The zone's SOA record holds its value
  (moto's held the text of a Python dict).
* ``AssociateVPCWithHostedZone``: a public zone is ``PublicZoneVPCAssociation`` (as in
  moto); an unknown VPC is ``InvalidVPCId``; a VPC already associated with the zone, or
  with another private zone of the same name, is ``ConflictingDomainExists`` (moto added
  the VPC again, and ``GetHostedZone`` listed it twice).
  ``DisassociateVPCFromHostedZone`` of a VPC that is not associated is
  ``VPCAssociationNotFound`` (moto did nothing).

UNSPECIFIED: Route 53 does not document the order in which it reports the problems of a
batch, nor whether values compare as a set: a ``DELETE`` matches when the values are the
same in any order, and the messages list the problems in the order of the changes.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys

#: Characters that Route 53 returns as they are; every other one is an octal escape.
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
#: Record set settings that a ``DELETE`` must repeat exactly, beside TTL and values.
_ROUTING = (
    "SetIdentifier",
    "Weight",
    "Region",
    "Failover",
    "MultiValueAnswer",
    "HealthCheckId",
    "GeoLocation",
)
#: The actions of a change.
ACTIONS = ("CREATE", "DELETE", "UPSERT")

_lock = threading.Lock()
# The undo of the patches installed, while any use of them lasts; and how many uses.
_installed: list[Callable[[], None]] = []
_uses = [0]


# --------------------------------------------------------------------------- names


def dns_name(name: str) -> str:
    r"""A domain name as Route 53 returns it: lowercase, escaped, with its trailing dot.

    ``\ooo`` octal escapes and backslash-escaped characters in ``name`` are read first,
    so ``*.Example.com`` and ``\052.example.com.`` are both ``\052.example.com.``.
    """
    labels: list[str] = []
    label: list[str] = []
    position = 0
    while position < len(name):
        char = name[position]
        if char == "\\":
            digits = name[position + 1 : position + 4]
            if len(digits) == 3 and all(d in "01234567" for d in digits):
                label.append(chr(int(digits, 8)))
                position += 4
                continue
            if position + 1 < len(name):
                label.append(name[position + 1])
                position += 2
                continue
        if char == ".":
            labels.append(_escaped(label))
            label = []
        else:
            label.append(char)
        position += 1
    if label:
        labels.append(_escaped(label))
    return ".".join(labels) + "."


def _escaped(label: Sequence[str]) -> str:
    out: list[str] = []
    for char in label:
        lower = char.lower() if "A" <= char <= "Z" else char
        if lower in _PLAIN:
            out.append(lower)
        else:
            out.extend(f"\\{byte:03o}" for byte in lower.encode("utf-8"))
    return "".join(out)


def _in_zone(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)


# --------------------------------------------------------------------------- errors


def _error(code: str, message: str) -> Exception:
    from moto.route53.exceptions import Route53ClientError

    return Route53ClientError(code, message)


def _invalid_change_batch(messages: Sequence[str]) -> Exception:
    return _error("InvalidChangeBatch", "[" + ", ".join(messages) + "]")


# --------------------------------------------------------------------------- record sets


def _values(records: Any) -> list[str]:
    return [str(r["Value"]) if isinstance(r, Mapping) else str(r) for r in records or ()]


def _spec(record_set: Mapping[str, Any]) -> dict[str, Any]:
    """A change's record set as moto's ``RecordSet`` takes it: name canonical, values plain."""
    spec = {k: v for k, v in record_set.items() if v is not None}
    spec["Name"] = dns_name(str(record_set["Name"]))
    if "ResourceRecords" in spec:
        spec["ResourceRecords"] = _values(spec["ResourceRecords"])
    if "TTL" in spec:
        spec["TTL"] = int(spec["TTL"])
    if isinstance(spec.get("AliasTarget"), Mapping):
        alias = dict(spec["AliasTarget"])
        alias["DNSName"] = dns_name(str(alias.get("DNSName", "")))
        spec["AliasTarget"] = alias
    return spec


def _spec_of(record_set: Any) -> dict[str, Any]:
    """What moto's ``RecordSet`` holds, as a spec."""
    found = {
        "Name": dns_name(str(record_set.name)),
        "Type": record_set.type,
        "TTL": None if record_set.ttl is None else int(record_set.ttl),
        "ResourceRecords": _values(record_set.records) or None,
        "SetIdentifier": record_set.set_identifier,
        "Weight": record_set.weight,
        "Region": record_set.region,
        "HealthCheckId": record_set.health_check_id,
        "AliasTarget": record_set.alias_target,
        "Failover": record_set.failover,
        "GeoLocation": record_set.geo_location,
        "MultiValueAnswer": record_set.multi_value_answer,
    }
    return {k: v for k, v in found.items() if v is not None}


def _key(spec: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(spec["Name"]), str(spec["Type"]), str(spec.get("SetIdentifier") or ""))


def _fingerprint(spec: Mapping[str, Any]) -> str:
    """What a ``DELETE`` must match: TTL, values (in any order), alias and routing."""
    kept: dict[str, Any] = {
        "TTL": spec.get("TTL"),
        "ResourceRecords": sorted(spec.get("ResourceRecords") or ()),
        "AliasTarget": spec.get("AliasTarget"),
        **{name: spec.get(name) for name in _ROUTING},
    }
    if kept["Weight"] is not None:
        kept["Weight"] = int(kept["Weight"])
    return json.dumps(kept, sort_keys=True, default=str)


def _check_shape(action: str, record_set: Mapping[str, Any]) -> None:
    has_alias = record_set.get("AliasTarget") is not None
    has_records = record_set.get("TTL") is not None and bool(record_set.get("ResourceRecords"))
    has_some = record_set.get("TTL") is not None or bool(record_set.get("ResourceRecords"))
    if has_alias == has_records or (has_alias and has_some):
        found = "more than one" if has_alias else "none"
        raise _error(
            "InvalidInput",
            "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and "
            f"ResourceRecords], or TrafficPolicyInstanceId], but found {found} in Change with "
            f"[Action={action}, Name={record_set.get('Name')}, Type={record_set.get('Type')}, "
            f"SetIdentifier={record_set.get('SetIdentifier') or 'null'}]",
        )


def _conflict(state: Mapping[tuple[str, str, str], Any], spec: Mapping[str, Any], zone: str) -> str:
    """Why a record set may not be where ``spec`` puts it, or ``""``."""
    name, kind, _ = _key(spec)
    others = {k[1] for k in state if k[0] == name}
    if kind == "CNAME" and name == zone:
        return f"RRSet of type CNAME with DNS name {name} is not permitted at apex in zone {zone}"
    if kind == "CNAME" and others - {"CNAME"}:
        return (
            f"RRSet of type CNAME with DNS name {name} is not permitted as it conflicts with "
            f"other records with the same DNS name in zone {zone}"
        )
    if kind != "CNAME" and "CNAME" in others:
        return (
            f"RRSet of type {kind} with DNS name {name} is not permitted because a "
            f"conflicting RRSet of type CNAME with the same DNS name already exists in zone "
            f"{zone}"
        )
    return ""


def _change_record_sets(zone: Any, changes: Sequence[Mapping[str, Any]]) -> None:
    """Validate a change batch against ``zone`` as Route 53 does, then apply all of it."""
    from moto.route53.exceptions import InvalidActionValue
    from moto.route53.models import RecordSet
    from moto.route53.utils import validate_domain_name

    make: Callable[[dict[str, Any]], Any] = RecordSet

    zone_name = dns_name(str(zone.name))
    # What the zone holds as the batch goes on: moto's objects, or specs of new sets.
    state: dict[tuple[str, str, str], Any] = {}
    for record_set in zone.rrsets:
        state[_key(_spec_of(record_set))] = record_set
    actions: dict[tuple[str, str, str], list[str]] = {}
    problems: list[str] = []
    for change in changes:
        action = str(change.get("Action"))
        if action not in ACTIONS:
            raise InvalidActionValue(action)
        given = change["ResourceRecordSet"]
        validate_domain_name(str(given["Name"]), code="InvalidChangeBatch")
        _check_shape(action, given)
        spec = _spec(given)
        key = _key(spec)
        name, kind, _ = key
        actions.setdefault(key, []).append(action)
        if not _in_zone(name, zone_name):
            problems.append(f"RRSet with DNS name {name} is not permitted in zone {zone_name}")
            continue
        described = f"[name='{name}', type='{kind}'"
        described += f", set-identifier='{key[2]}']" if key[2] else "]"
        if action == "DELETE":
            current = state.get(key)
            if current is None:
                problems.append(
                    f"Tried to delete resource record set {described} but it was not found"
                )
            elif _fingerprint(_as_spec(current)) != _fingerprint(spec):
                problems.append(
                    f"Tried to delete resource record set {described} but the values provided "
                    "do not match the current values"
                )
            else:
                del state[key]
            continue
        if action == "CREATE" and key in state:
            problems.append(
                f"Tried to create resource record set {described} but it already exists"
            )
            continue
        rest = {k: v for k, v in state.items() if k != key}
        conflict = _conflict(rest, spec, zone_name)
        if conflict:
            problems.append(conflict)
            continue
        state[key] = spec
    for (name, kind, _), done in actions.items():
        if len(done) > 1 and done != ["DELETE", "CREATE"]:
            problems.append(
                f"The request contains an invalid set of changes for a resource record set "
                f"'{kind} {name}'"
            )
    if problems:
        raise _invalid_change_batch(problems)
    zone.rrsets = [
        value if isinstance(value, RecordSet) else make(value) for value in state.values()
    ]


def _as_spec(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else _spec_of(value)


# --------------------------------------------------------------------------- zones and VPCs


def _vpc_exists(account_id: str, region: str | None, vpc_id: str) -> bool:
    from moto.ec2.models import ec2_backends

    regions = [region] if region else list(ec2_backends[account_id].keys())
    return any(vpc_id in ec2_backends[account_id][r].vpcs for r in regions)


def _invalid_vpc(vpc_id: str) -> Exception:
    return _error(
        "InvalidVPCId",
        f"The VPC ID '{vpc_id}' that you specified either isn't a valid ID or the current "
        "account is not authorized to access this VPC.",
    )


def _check_same_name(backend: Any, name: str, vpc_id: str, region: str | None) -> None:
    """A VPC takes one private zone of a name (``ConflictingDomainExists``)."""
    for zone in backend.zones.values():
        if not zone.private_zone or dns_name(str(zone.name)) != name:
            continue
        if any(vpc.get("vpc_id") == vpc_id for vpc in zone.vpcs):
            raise _error(
                "ConflictingDomainExists",
                f"The VPC {vpc_id} in {region or 'its'} region has already been associated "
                f"with the hosted zone {zone.resource_id} with the same domain name.",
            )


def _fix_zone_records(zone: Any) -> None:
    """Give the SOA record text, as Route 53 holds it (moto's holds a dict); TTLs numbers."""
    for record_set in zone.rrsets:
        record_set.records = _values(record_set.records)
        if record_set.ttl is not None:
            record_set.ttl = int(record_set.ttl)
        record_set.name = dns_name(str(record_set.name))


# --------------------------------------------------------------------------- patches


def _patch() -> Callable[[], None]:
    from moto.route53.models import Route53Backend
    from moto.route53.responses import Route53

    names = (
        "change_resource_record_sets",
        "create_hosted_zone",
        "associate_vpc_with_hosted_zone",
        "disassociate_vpc_from_hosted_zone",
        "list_resource_record_sets",
    )
    saved = {name: Route53Backend.__dict__[name] for name in names}
    saved_response = Route53.__dict__["create_hosted_zone"]

    def change_resource_record_sets(
        self: Any, zoneid: str, change_list: list[dict[str, Any]]
    ) -> None:
        _change_record_sets(self.get_hosted_zone(zoneid), change_list)

    def create_hosted_zone(
        self: Any,
        name: str,
        private_zone: bool,
        caller_reference: str | None = None,
        vpcid: str | None = None,
        vpcregion: str | None = None,
        comment: str | None = None,
        delegation_set_id: str | None = None,
    ) -> Any:
        name = dns_name(name)
        if caller_reference and any(
            z.caller_reference == caller_reference for z in self.zones.values()
        ):
            raise _error(
                "HostedZoneAlreadyExists",
                "A hosted zone has already been created with the specified caller reference.",
            )
        if private_zone and vpcid:
            if not _vpc_exists(self.account_id, vpcregion, vpcid):
                raise _invalid_vpc(vpcid)
            _check_same_name(self, name, vpcid, vpcregion)
        zone = saved["create_hosted_zone"](
            self,
            name,
            private_zone,
            caller_reference=caller_reference,
            vpcid=vpcid,
            vpcregion=vpcregion,
            comment=comment,
            delegation_set_id=delegation_set_id,
        )
        _fix_zone_records(zone)
        return zone

    def associate_vpc_with_hosted_zone(self: Any, zone_id: str, vpcid: str, vpcregion: str) -> Any:
        zone = self.get_hosted_zone(zone_id)
        if zone.private_zone:
            if not _vpc_exists(self.account_id, vpcregion, vpcid):
                raise _invalid_vpc(vpcid)
            _check_same_name(self, dns_name(str(zone.name)), vpcid, vpcregion)
        return saved["associate_vpc_with_hosted_zone"](self, zone_id, vpcid, vpcregion)

    def disassociate_vpc_from_hosted_zone(self: Any, zone_id: str, vpcid: str) -> Any:
        zone = self.get_hosted_zone(zone_id)
        if not any(vpc.get("vpc_id") == vpcid for vpc in zone.vpcs):
            raise _error(
                "VPCAssociationNotFound",
                f"The specified VPC {vpcid} and hosted zone {zone.resource_id} are not "
                "currently associated.",
            )
        return saved["disassociate_vpc_from_hosted_zone"](self, zone_id, vpcid)

    def list_resource_record_sets(
        self: Any, zone_id: str, start_type: str, start_name: str, max_items: int
    ) -> Any:
        if start_name:
            start_name = dns_name(start_name)
        return saved["list_resource_record_sets"](self, zone_id, start_type, start_name, max_items)

    def create_hosted_zone_response(self: Any) -> Any:
        # A zone created with a VPC is private, whatever HostedZoneConfig says of it.
        params = self.params
        vpc = params.get("VPC") if isinstance(params, dict) else None
        if isinstance(vpc, Mapping) and vpc.get("VPCId"):
            config = params.get("HostedZoneConfig")
            if not isinstance(config, dict):
                config = params["HostedZoneConfig"] = {}
            config.setdefault("PrivateZone", True)
        return saved_response(self)

    replacements: dict[str, Callable[..., Any]] = {
        "change_resource_record_sets": change_resource_record_sets,
        "create_hosted_zone": create_hosted_zone,
        "associate_vpc_with_hosted_zone": associate_vpc_with_hosted_zone,
        "disassociate_vpc_from_hosted_zone": disassociate_vpc_from_hosted_zone,
        "list_resource_record_sets": list_resource_record_sets,
    }
    for name, function in replacements.items():
        setattr(Route53Backend, name, function)
    setattr(Route53, "create_hosted_zone", create_hosted_zone_response)  # noqa: B010

    def restore() -> None:
        for name, function in saved.items():
            setattr(Route53Backend, name, function)
        setattr(Route53, "create_hosted_zone", saved_response)  # noqa: B010

    return restore


def apply() -> Callable[[], None]:
    """Make moto's Route 53 refuse what Route 53 refuses; return what undoes it.

    Nested uses share one set of patches: the last undo restores moto's originals.
    """
    with _lock:
        if _uses[0] == 0:
            _installed.append(_patch())
        _uses[0] += 1
    undone = False

    def undo() -> None:
        nonlocal undone
        with _lock:
            if undone:
                return
            undone = True
            _uses[0] -= 1
            if _uses[0] == 0:
                _installed.pop()()

    return undo


@contextmanager
def strict_route53() -> Iterator[None]:
    """Route 53's refusals under plain ``moto.mock_aws()``, for handler tests.

    ``with mock_aws(), strict_route53():`` makes moto's Route 53 validate change batches,
    names, zones and VPC associations as this module's documentation lists. A
    :class:`~lambda_blueprints.testing.LocalCloud` applies the same checks while it runs.
    """
    undo = apply()
    try:
        yield
    finally:
        undo()


# --------------------------------------------------------------------------- deployers


def _zone_id(value: str) -> str:
    return value.rsplit("/", 1)[-1]


@deploys("AWS::Route53::HostedZone")
def _hosted_zone(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    route53 = stack.context.client("route53")
    vpcs = [dict(v) for v in props.get("VPCs") or ()]
    config: dict[str, Any] = {"PrivateZone": bool(vpcs)}
    comment = (props.get("HostedZoneConfig") or {}).get("Comment")
    if comment:
        config["Comment"] = str(comment)
    parameters: dict[str, Any] = {
        "Name": str(props["Name"]),
        "CallerReference": f"{stack.stack_name}-{logical_id}-{uuid.uuid4().hex}",
        "HostedZoneConfig": config,
    }
    if vpcs:
        parameters["VPC"] = {"VPCId": vpcs[0]["VPCId"], "VPCRegion": vpcs[0]["VPCRegion"]}
    created = route53.create_hosted_zone(**parameters)
    zone_id = _zone_id(created["HostedZone"]["Id"])
    for vpc in vpcs[1:]:
        route53.associate_vpc_with_hosted_zone(
            HostedZoneId=zone_id, VPC={"VPCId": vpc["VPCId"], "VPCRegion": vpc["VPCRegion"]}
        )
    tags = [
        {"Key": str(t["Key"]), "Value": str(t["Value"])} for t in props.get("HostedZoneTags") or ()
    ]
    if tags:
        route53.change_tags_for_resource(
            ResourceType="hostedzone", ResourceId=zone_id, AddTags=tags
        )
    attributes = {"Id": zone_id}
    if not vpcs:
        # A list, as CloudFormation returns it (Fn::Select and Fn::Join take it).
        servers = list(created.get("DelegationSet", {}).get("NameServers", []))
        attributes["NameServers"] = cast(str, servers)
    return Resource(logical_id, kind, "", zone_id, attributes)


def _zone_of(stack: Deployment, props: Mapping[str, Any]) -> str:
    if props.get("HostedZoneId"):
        return _zone_id(str(props["HostedZoneId"]))
    name = dns_name(str(props.get("HostedZoneName") or ""))
    zones = stack.context.client("route53").list_hosted_zones_by_name(DNSName=name)
    found = [z for z in zones["HostedZones"] if dns_name(z["Name"]) == name]
    if len(found) != 1:
        raise ValueError(
            f"HostedZoneName {name} names {len(found)} hosted zones in the local cloud "
            f"(stack {stack.stack_name}): give HostedZoneId"
        )
    return _zone_id(str(found[0]["Id"]))


@deploys("AWS::Route53::RecordSet")
def _record_set(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    if props.get("AliasTarget"):
        stack.skipped.append((stack.stack_name, logical_id, kind))
        return Resource(logical_id, kind, "", str(props.get("Name", logical_id)), emulated=False)
    record_set: dict[str, Any] = {
        "Name": str(props["Name"]),
        "Type": str(props["Type"]),
        "TTL": int(props["TTL"]),
        "ResourceRecords": [{"Value": str(v)} for v in props.get("ResourceRecords") or ()],
    }
    for name in ("SetIdentifier", "Region", "Failover", "HealthCheckId"):
        if props.get(name) is not None:
            record_set[name] = str(props[name])
    if props.get("Weight") is not None:
        record_set["Weight"] = int(props["Weight"])
    if props.get("MultiValueAnswer") is not None:
        record_set["MultiValueAnswer"] = str(props["MultiValueAnswer"]).lower() == "true"
    if props.get("GeoLocation"):
        record_set["GeoLocation"] = dict(props["GeoLocation"])
    stack.context.client("route53").change_resource_record_sets(
        HostedZoneId=_zone_of(stack, props),
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record_set}]},
    )
    return Resource(logical_id, kind, "", str(props["Name"]))
