"""Which DNS records an EC2 instance gets: names, zones and values, without any AWS call.

Everything here is a pure function of what the handler learnt about the instance
(:class:`InstanceFacts`) and the zones the function may write (:class:`Zone`), so that the
rules can be read and tested on their own:

* The instance's zone is the one its zone tag (``ZONE`` by default) names, else the domain
  of its VPC's DHCP option set. A tag naming a zone the function does not manage is a
  problem (``ZONE_NOT_FOUND``); a DHCP domain the function does not manage (such as
  ``ec2.internal``) only means the instance is not ours.
* In a private zone: an ``A`` record ``<host>.<zone>`` for the private address, where
  ``<host>`` is the first label of the instance's private DNS name (``ip-10-20-1-4``),
  and a ``PTR`` record for that address in the most specific managed reverse zone that
  holds it (``4.1.20.10.in-addr.arpa.`` -> ``<host>.<zone>``). Both need the VPC's DNS
  support and DNS hostnames (``VPC_DNS_DISABLED`` otherwise).
* In a public zone: an ``A`` record ``<public host>.<zone>`` for the public address, where
  ``<public host>`` is the first label of the public DNS name (``ec2-54-1-2-3``); no PTR,
  since the reverse zones of public addresses belong to AWS. No public address is a
  problem (``NO_PUBLIC_ADDRESS``).
* The CNAME tag (``CNAME`` by default) names an alias, in the most specific managed zone
  that holds it (the instance's own zone first when both a private and a public zone
  would); it points at the instance's ``A`` record of the same kind (private in a private
  zone, public in a public one), or, without one, at the instance's EC2 DNS name of that
  kind.

Tag values may be written with or without the trailing dot, in any case.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Problems that keep some record from being written; each goes to the failure queue.
ZONE_NOT_FOUND = "ZONE_NOT_FOUND"
REVERSE_ZONE_NOT_FOUND = "REVERSE_ZONE_NOT_FOUND"
VPC_DNS_DISABLED = "VPC_DNS_DISABLED"
NO_PUBLIC_ADDRESS = "NO_PUBLIC_ADDRESS"
NO_PRIVATE_ADDRESS = "NO_PRIVATE_ADDRESS"
INVALID_TAG = "INVALID_TAG"

#: The record types the function writes (its IAM policy allows no other).
RECORD_TYPES = ("A", "CNAME", "PTR")
REVERSE_SUFFIX = ".in-addr.arpa."
#: A DNS name is at most 255 octets on the wire: 253 characters written out, plus the dot.
MAX_NAME_CHARS = 254
MAX_LABEL_CHARS = 63
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?")


@dataclass(frozen=True)
class Zone:
    """A hosted zone the function may write: its id, name (with the dot) and privacy."""

    id: str
    name: str
    private: bool

    @property
    def reverse(self) -> bool:
        """Whether this is a reverse lookup zone (``....in-addr.arpa.``)."""
        return self.name.endswith(REVERSE_SUFFIX)


@dataclass(frozen=True)
class Record:
    """One record set the function owns: a single value, in one zone."""

    zone_id: str
    name: str
    type: str
    value: str
    ttl: int

    @property
    def key(self) -> tuple[str, str, str]:
        """What Route 53 keys a record set by: zone, name and type."""
        return (self.zone_id, self.name, self.type)

    def to_item(self) -> dict[str, Any]:
        """The record as the instance table stores it."""
        return {
            "zoneId": self.zone_id,
            "name": self.name,
            "type": self.type,
            "value": self.value,
            "ttl": self.ttl,
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Record:
        """Read a record the instance table stored."""
        return cls(
            zone_id=str(item["zoneId"]),
            name=str(item["name"]),
            type=str(item["type"]),
            value=str(item["value"]),
            ttl=int(item["ttl"]),
        )


@dataclass(frozen=True)
class InstanceFacts:
    """What the handler learnt of an instance while it ran (its table copy, too)."""

    instance_id: str
    vpc_id: str | None
    private_ip: str | None
    private_dns_name: str | None
    public_ip: str | None
    public_dns_name: str | None
    tags: Mapping[str, str] = field(default_factory=dict)
    dns_support: bool = True
    dns_hostnames: bool = True
    dhcp_domain: str | None = None

    def to_item(self) -> dict[str, Any]:
        """The facts as the instance table stores them (no empty strings, no None)."""
        item: dict[str, Any] = {
            "instanceId": self.instance_id,
            "vpcId": self.vpc_id,
            "privateIp": self.private_ip,
            "privateDnsName": self.private_dns_name,
            "publicIp": self.public_ip,
            "publicDnsName": self.public_dns_name,
            "dhcpDomain": self.dhcp_domain,
            "dnsSupport": self.dns_support,
            "dnsHostnames": self.dns_hostnames,
            "tags": dict(self.tags),
        }
        return {key: value for key, value in item.items() if value not in (None, "")}


@dataclass(frozen=True)
class Problem:
    """Why a record the instance should have is not written."""

    reason: str
    detail: str


@dataclass
class Plan:
    """The records an instance should have, the zones to associate, and the problems."""

    records: list[Record] = field(default_factory=list)
    #: ``(zone id, VPC id)`` pairs: private zones the instance's VPC must be able to read.
    associations: list[tuple[str, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def add_association(self, zone: Zone, vpc_id: str | None) -> None:
        """Note that ``vpc_id`` should be associated with the private ``zone``."""
        if zone.private and vpc_id and (zone.id, vpc_id) not in self.associations:
            self.associations.append((zone.id, vpc_id))


def dns_name(value: str, what: str) -> str:
    """``value`` as Route 53 writes a name: lowercase, with the trailing dot.

    Raises:
        ValueError: When ``value`` is no valid host name (empty labels, characters other
            than letters, digits, hyphens and underscores, a label over 63 characters, a
            name over 253).
    """
    name = value.strip().lower()
    if not name.endswith("."):
        name += "."
    if name == "." or len(name) > MAX_NAME_CHARS:
        raise ValueError(f"{what} {value!r} is not a DNS name of 1-253 characters")
    for label in name[:-1].split("."):
        if len(label) > MAX_LABEL_CHARS or not _LABEL.fullmatch(label):
            raise ValueError(
                f"{what} {value!r} has the label {label!r}; a label is 1-63 letters, digits, "
                "hyphens or underscores, and does not start or end with a hyphen"
            )
    return name


def zones_from_json(text: str) -> tuple[Zone, ...]:
    """Read the ``HOSTED_ZONES`` setting: ``[{"id", "name", "private"}, ...]``."""
    zones = []
    for entry in json.loads(text):
        zone_id = str(entry["id"]).rsplit("/", 1)[-1]
        zones.append(Zone(zone_id, dns_name(str(entry["name"]), "zone"), bool(entry["private"])))
    return tuple(zones)


def reverse_name(address: str) -> str:
    """The PTR name of an IPv4 address: ``10.20.1.4`` -> ``4.1.20.10.in-addr.arpa.``."""
    return ipaddress.IPv4Address(address).reverse_pointer + "."


def within(name: str, zone_name: str) -> bool:
    """Whether ``name`` is ``zone_name`` or a name below it (both with the dot)."""
    return name == zone_name or name.endswith("." + zone_name)


def most_specific(zones: Iterable[Zone], name: str) -> Zone | None:
    """The zone with the longest name that holds ``name``, or None."""
    holders = [zone for zone in zones if within(name, zone.name)]
    return max(holders, key=lambda zone: len(zone.name), default=None)


def host_label(dns: str | None, address: str, prefix: str) -> str:
    """The first label of an EC2 DNS name, else one made from the address like EC2's."""
    if dns:
        label = dns.split(".", 1)[0].lower()
        if _LABEL.fullmatch(label):
            return label
    return f"{prefix}-{address.replace('.', '-')}"


def plan_records(
    facts: InstanceFacts,
    zones: Sequence[Zone],
    *,
    zone_tag: str,
    cname_tag: str,
    ttl: int,
) -> Plan:
    """Decide the records ``facts`` call for (see the module's rules)."""
    plan = Plan()
    forward = [zone for zone in zones if not zone.reverse]
    zone = _instance_zone(facts, forward, zone_tag, plan)
    a_names: dict[bool, str] = {}
    if zone is not None:
        name = _address_records(facts, zone, zones, ttl, plan)
        if name:
            a_names[zone.private] = name
    alias = facts.tags.get(cname_tag)
    if alias is not None:
        _alias_record(facts, alias, zone, forward, a_names, ttl, plan, cname_tag)
    return plan


def _instance_zone(
    facts: InstanceFacts, forward: Sequence[Zone], zone_tag: str, plan: Plan
) -> Zone | None:
    tagged = facts.tags.get(zone_tag)
    if tagged is not None:
        try:
            name = dns_name(tagged, f"tag {zone_tag}")
        except ValueError as error:
            plan.problems.append(Problem(INVALID_TAG, str(error)))
            return None
        matches = [zone for zone in forward if zone.name == name]
        if not matches:
            plan.problems.append(
                Problem(
                    ZONE_NOT_FOUND,
                    f"tag {zone_tag}={tagged!r} names {name}, which is none of the zones "
                    f"this function manages ({_names(forward)})",
                )
            )
            return None
        # A private and a public zone of one name (split horizon): the private one.
        return max(matches, key=lambda zone: zone.private)
    if facts.dhcp_domain:
        try:
            name = dns_name(facts.dhcp_domain.split()[0], "DHCP domain")
        except ValueError:
            return None
        return next((zone for zone in forward if zone.private and zone.name == name), None)
    return None


def _address_records(
    facts: InstanceFacts, zone: Zone, zones: Sequence[Zone], ttl: int, plan: Plan
) -> str | None:
    """Plan the instance's A (and PTR) records in ``zone``; return the A record's name."""
    if not zone.private:
        if not facts.public_ip:
            plan.problems.append(
                Problem(
                    NO_PUBLIC_ADDRESS,
                    f"{zone.name} is a public zone and {facts.instance_id} has no public "
                    "IPv4 address",
                )
            )
            return None
        name = f"{host_label(facts.public_dns_name, facts.public_ip, 'ec2')}.{zone.name}"
        plan.records.append(Record(zone.id, name, "A", facts.public_ip, ttl))
        return name
    if not _dns_enabled(facts, zone, plan):
        return None
    if not facts.private_ip:
        plan.problems.append(
            Problem(NO_PRIVATE_ADDRESS, f"{facts.instance_id} has no private IPv4 address")
        )
        return None
    name = f"{host_label(facts.private_dns_name, facts.private_ip, 'ip')}.{zone.name}"
    plan.records.append(Record(zone.id, name, "A", facts.private_ip, ttl))
    plan.add_association(zone, facts.vpc_id)
    pointer = reverse_name(facts.private_ip)
    reverse = most_specific((z for z in zones if z.reverse), pointer)
    if reverse is None:
        plan.problems.append(
            Problem(
                REVERSE_ZONE_NOT_FOUND,
                f"no managed reverse zone holds {pointer} (the address {facts.private_ip} "
                f"of {facts.instance_id}); reverse zones: {_names(z for z in zones if z.reverse)}",
            )
        )
    else:
        plan.records.append(Record(reverse.id, pointer, "PTR", name, ttl))
        plan.add_association(reverse, facts.vpc_id)
    return name


def _alias_record(
    facts: InstanceFacts,
    alias: str,
    own_zone: Zone | None,
    forward: Sequence[Zone],
    a_names: Mapping[bool, str],
    ttl: int,
    plan: Plan,
    cname_tag: str,
) -> None:
    try:
        name = dns_name(alias, f"tag {cname_tag}")
    except ValueError as error:
        plan.problems.append(Problem(INVALID_TAG, str(error)))
        return
    holders = [zone for zone in forward if within(name, zone.name)]
    if not holders:
        plan.problems.append(
            Problem(
                ZONE_NOT_FOUND,
                f"tag {cname_tag}={alias!r}: no zone this function manages holds {name} "
                f"({_names(forward)})",
            )
        )
        return
    longest = max(len(zone.name) for zone in holders)
    candidates = [zone for zone in holders if len(zone.name) == longest]
    zone = next((z for z in candidates if z == own_zone), None) or max(
        candidates, key=lambda z: z.private
    )
    if name == zone.name:
        plan.problems.append(
            Problem(INVALID_TAG, f"tag {cname_tag}={alias!r} is the apex of {zone.name}")
        )
        return
    if name in a_names.values():
        plan.problems.append(
            Problem(INVALID_TAG, f"tag {cname_tag}={alias!r} is the instance's own A record")
        )
        return
    target = a_names.get(zone.private)
    if zone.private:
        if not _dns_enabled(facts, zone, plan):
            return
        target = target or (facts.private_dns_name or "").lower() or None
    else:
        target = target or (facts.public_dns_name or "").lower() or None
    if not target:
        reason = NO_PRIVATE_ADDRESS if zone.private else NO_PUBLIC_ADDRESS
        plan.problems.append(
            Problem(reason, f"tag {cname_tag}={alias!r}: {facts.instance_id} has no DNS name")
        )
        return
    target = target if target.endswith(".") else target + "."
    plan.records.append(Record(zone.id, name, "CNAME", target, ttl))
    plan.add_association(zone, facts.vpc_id)


def _dns_enabled(facts: InstanceFacts, zone: Zone, plan: Plan) -> bool:
    if facts.dns_support and facts.dns_hostnames:
        return True
    off = [
        setting
        for setting, on in (
            ("DNS resolution", facts.dns_support),
            ("DNS hostnames", facts.dns_hostnames),
        )
        if not on
    ]
    problem = Problem(
        VPC_DNS_DISABLED,
        f"{facts.vpc_id} of {facts.instance_id} has {' and '.join(off)} turned off; private "
        f"zone {zone.name} needs both (enableDnsSupport, enableDnsHostnames)",
    )
    if problem not in plan.problems:
        plan.problems.append(problem)
    return False


def _names(zones: Iterable[Zone]) -> str:
    return ", ".join(sorted(zone.name for zone in zones)) or "none"
