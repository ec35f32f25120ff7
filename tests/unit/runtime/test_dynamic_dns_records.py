"""The dynamic DNS record rules, without AWS: names, zones, reverse pointers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_blueprints.runtime.dynamic_dns.records import (
    InstanceFacts,
    Zone,
    dns_name,
    host_label,
    most_specific,
    plan_records,
    reverse_name,
    zones_from_json,
)

PRIVATE = Zone("ZPRIV", "corp.internal.", True)
PUBLIC = Zone("ZPUB", "corp.internal.", False)
WIDE = Zone("ZR16", "20.10.in-addr.arpa.", True)
NARROW = Zone("ZR24", "1.20.10.in-addr.arpa.", True)


def facts(**changes: object) -> InstanceFacts:
    values: dict[str, object] = {
        "instance_id": "i-0123456789abcdef0",
        "vpc_id": "vpc-1",
        "private_ip": "10.20.1.4",
        "private_dns_name": "ip-10-20-1-4.ec2.internal",
        "public_ip": "54.1.2.3",
        "public_dns_name": "ec2-54-1-2-3.compute-1.amazonaws.com",
        "tags": {},
        "dhcp_domain": "corp.internal",
    }
    values.update(changes)
    return InstanceFacts(**values)  # type: ignore[arg-type]


def plan(f: InstanceFacts, zones: tuple[Zone, ...]) -> set[tuple[str, str, str, str]]:
    result = plan_records(f, zones, zone_tag="ZONE", cname_tag="CNAME", ttl=60)
    return {(r.zone_id, r.name, r.type, r.value) for r in result.records}


def test_reverse_pointer_of_an_address() -> None:
    assert reverse_name("10.20.1.4") == "4.1.20.10.in-addr.arpa."


def test_the_most_specific_reverse_zone_holds_the_pointer() -> None:
    assert most_specific([WIDE, NARROW], "4.1.20.10.in-addr.arpa.") == NARROW
    assert most_specific([WIDE, NARROW], "4.2.20.10.in-addr.arpa.") == WIDE
    assert most_specific([NARROW], "4.2.20.10.in-addr.arpa.") is None
    # A zone name that is a suffix of the text but not a whole label does not hold it.
    assert most_specific([Zone("Z", "0.10.in-addr.arpa.", True)], "4.1.20.10.in-addr.arpa.") is None


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("Corp.Internal", "corp.internal."),
        ("corp.internal.", "corp.internal."),
        (" a_b.x ", "a_b.x."),
    ],
)
def test_names_are_lowercase_with_the_trailing_dot(value: str, name: str) -> None:
    assert dns_name(value, "tag") == name


@pytest.mark.parametrize(
    "value", ["", ".", "a..b", "-a.b", "a-.b", "a b.c", "x" * 64 + ".a", ("a." * 127) + "b"]
)
def test_invalid_names_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="tag"):
        dns_name(value, "tag")


@given(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]{1,8}){0,3}\.?", fullmatch=True)
)
def test_normalizing_twice_changes_nothing(value: str) -> None:
    once = dns_name(value, "tag")
    assert dns_name(once, "tag") == once


def test_host_label_falls_back_to_the_address() -> None:
    assert host_label("ip-10-20-1-4.ec2.internal", "10.20.1.4", "ip") == "ip-10-20-1-4"
    assert host_label(None, "10.20.1.4", "ip") == "ip-10-20-1-4"
    assert host_label("", "54.1.2.3", "ec2") == "ec2-54-1-2-3"


def test_split_horizon_zone_tag_picks_the_private_zone() -> None:
    records = plan(facts(tags={"ZONE": "corp.internal"}), (PUBLIC, PRIVATE, WIDE))
    assert ("ZPRIV", "ip-10-20-1-4.corp.internal.", "A", "10.20.1.4") in records
    assert not any(zone == "ZPUB" for zone, *_ in records)


def test_dhcp_domain_never_names_a_public_zone() -> None:
    assert plan(facts(), (PUBLIC,)) == set()


def test_a_dhcp_domain_list_uses_its_first_name() -> None:
    records = plan(facts(dhcp_domain="corp.internal example.org"), (PRIVATE, WIDE))
    assert ("ZPRIV", "ip-10-20-1-4.corp.internal.", "A", "10.20.1.4") in records


def test_ptr_goes_to_the_narrowest_reverse_zone() -> None:
    records = plan(facts(), (PRIVATE, WIDE, NARROW))
    assert ("ZR24", "4.1.20.10.in-addr.arpa.", "PTR", "ip-10-20-1-4.corp.internal.") in records
    assert not any(zone == "ZR16" for zone, *_ in records)


def test_zones_setting_accepts_ids_with_the_hostedzone_prefix() -> None:
    [zone] = zones_from_json('[{"id": "/hostedzone/Z1", "name": "Corp.Internal", "private": true}]')
    assert zone == Zone("Z1", "corp.internal.", True)
