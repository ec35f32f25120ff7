"""EventBridge events, as a rule delivers them to a Lambda target."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from lambda_blueprints.testing.events._shared import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    _iso_seconds,
    _now,
    _plain_dict,
)

Ec2InstanceState = Literal[
    "pending", "running", "stopping", "stopped", "shutting-down", "terminated"
]
EC2_INSTANCE_STATES: tuple[str, ...] = (
    "pending",
    "running",
    "stopping",
    "stopped",
    "shutting-down",
    "terminated",
)
_EC2_INSTANCE_ID = re.compile(r"i-(?:[0-9a-f]{8}|[0-9a-f]{17})")


def eventbridge_event(
    detail_type: str,
    source: str,
    detail: Mapping[str, Any],
    *,
    resources: Iterable[str] = (),
    time: float | None = None,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
    event_id: str | None = None,
    replay_name: str | None = None,
) -> dict[str, Any]:
    """Build an EventBridge event as a rule delivers it to a Lambda target.

    Args:
        detail_type: ``detail-type``.
        source: ``source``, for example ``"aws.ec2"`` or ``"com.example.orders"``.
        detail: The JSON object in ``detail``.
        resources: ARNs of the resources involved.
        time: Epoch seconds, written ``YYYY-MM-DDTHH:MM:SSZ``; default now.
        region: ``region``.
        account: ``account``, 12 digits.
        event_id: ``id``; default a new UUID.
        replay_name: For an event replayed from an archive: the replay's name, which
            EventBridge adds as ``replay-name``. Live events carry no such key.

    Returns:
        The event, with the envelope's ``"version": "0"``.

    Raises:
        ValueError: On an empty detail type, source or replay name, or an account that is
            not 12 digits.
        TypeError: When ``detail`` is not a JSON-serializable mapping.
    """
    if not detail_type or not source:
        raise ValueError("an EventBridge event has a detail-type and a source")
    if not (len(account) == 12 and account.isdigit()):
        raise ValueError(f"an AWS account id has 12 digits: {account!r}")
    if replay_name is not None and not replay_name:
        raise ValueError("a replay has a name: pass None for a live event")
    event: dict[str, Any] = {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": _iso_seconds(_now() if time is None else time),
        "region": region,
        "resources": [str(r) for r in resources],
        "detail": _plain_dict(detail, "detail"),
    }
    if replay_name is not None:
        event["replay-name"] = replay_name
    return event


def ec2_state_change_event(
    instance_id: str,
    state: Ec2InstanceState,
    *,
    time: float | None = None,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Build the ``EC2 Instance State-change Notification`` event of EventBridge.

    Args:
        instance_id: ``i-`` and 8 or 17 lowercase hex digits.
        state: One of ``pending``, ``running``, ``stopping``, ``stopped``,
            ``shutting-down`` and ``terminated``.
        time: Epoch seconds; default now.
        region: The instance's region.
        account: The instance's account.
        event_id: Default a new UUID.

    Returns:
        The event; ``resources`` holds the instance ARN.

    Raises:
        ValueError: On an unknown state or a malformed instance id.
    """
    if state not in EC2_INSTANCE_STATES:
        raise ValueError(f"EC2 instance states are {', '.join(EC2_INSTANCE_STATES)}: {state!r}")
    if not _EC2_INSTANCE_ID.fullmatch(instance_id):
        raise ValueError(f"not an EC2 instance id: {instance_id!r}")
    return eventbridge_event(
        "EC2 Instance State-change Notification",
        "aws.ec2",
        {"instance-id": instance_id, "state": state},
        resources=[f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"],
        time=time,
        region=region,
        account=account,
        event_id=event_id,
    )
