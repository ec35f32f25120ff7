"""S3 in the local cloud: buckets, and their notifications of the objects created.

:class:`BucketNotifications` announces the objects created in buckets with notifications:
with EventBridge enabled (``EventBridgeConfiguration`` on the bucket, or in the
``Custom::S3BucketNotifications`` resource that CDK's ``event_bridge_enabled`` makes), an
``Object Created`` event from ``aws.s3`` goes to the default event bus; ``QueueConfigurations``
and ``TopicConfigurations`` for ``s3:ObjectCreated:*`` events receive the S3 notification
record. New and overwritten objects are found by listing the buckets every time the local
cloud runs (key, ETag and last-modified time against what was announced), so objects
written by anyone (Firehose, handler code, test code through boto3) are announced.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys
from lambda_blueprints.testing.clock import Clock, iso8601
from lambda_blueprints.testing.events import DEFAULT_SOURCE_IP, s3_event


def _enabled(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


#: ``PutEvents`` of the local cloud's EventBridge.
PutEvents = Callable[[Sequence[Mapping[str, Any]]], list[str]]
#: ``send(destination_arn, body, message_attributes)`` to an SQS queue or SNS topic.
SendMessage = Callable[[str, str, Mapping[str, Mapping[str, str]]], None]


@dataclass(frozen=True)
class _Notification:
    """A ``QueueConfigurations`` or ``TopicConfigurations`` entry."""

    id: str
    destination: str
    events: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""

    def wants(self, event_name: str, key: str) -> bool:
        if not (key.startswith(self.prefix) and key.endswith(self.suffix)):
            return False
        for wanted in self.events:
            pattern = wanted.removeprefix("s3:")
            if event_name == pattern or (
                pattern.endswith("*") and event_name.startswith(pattern[:-1])
            ):
                return True
        return False


@dataclass
class _Watch:
    eventbridge: bool
    notifications: list[_Notification]
    seen: dict[str, str] = field(default_factory=dict)


def _filter_rules(entry: Mapping[str, Any]) -> tuple[str, str]:
    filters = entry.get("Filter") or {}
    rules = (filters.get("S3Key") or {}).get("Rules") or (filters.get("Key") or {}).get(
        "FilterRules"
    )
    found = {str(r["Name"]).lower(): str(r["Value"]) for r in rules or []}
    return found.get("prefix", ""), found.get("suffix", "")


def _notifications(bucket: str, configuration: Mapping[str, Any]) -> list[_Notification]:
    """The queue and topic notifications of a configuration (CloudFormation or API form).

    Raises:
        NotImplementedError: For Lambda function notifications.
    """
    if configuration.get("LambdaConfigurations") or configuration.get(
        "LambdaFunctionConfigurations"
    ):
        raise NotImplementedError(
            f"bucket {bucket}: S3 notifications straight to Lambda functions are not emulated by "
            "the local cloud; enable EventBridge and add a rule, or notify an SQS queue"
        )
    found: list[_Notification] = []
    for kind in ("Queue", "Topic"):
        for index, entry in enumerate(configuration.get(f"{kind}Configurations") or []):
            events = entry.get("Events") or [entry.get("Event")]
            found.append(
                _Notification(
                    id=str(entry.get("Id") or f"{kind}Notification{index}"),
                    destination=str(entry.get(f"{kind}Arn") or entry.get(kind)),
                    events=tuple(str(e) for e in events if e),
                    prefix=_filter_rules(entry)[0],
                    suffix=_filter_rules(entry)[1],
                )
            )
    return found


class BucketNotifications:
    """Announce objects created in buckets with notifications, as S3 does.

    Args:
        client: Makes the S3 client that lists buckets (called once, when first needed).
        put_events: Puts events on the local cloud's EventBridge.
        send: Sends a message to an SQS queue or SNS topic ARN.
        clock: The local cloud's clock (event times).
        account: The bucket owner's account id.
        region: The buckets' region.
    """

    def __init__(
        self,
        *,
        client: Callable[[], Any],
        put_events: PutEvents,
        send: SendMessage,
        clock: Clock,
        account: str,
        region: str,
    ) -> None:
        self._client_factory = client
        self._client: Any = None
        self._put_events = put_events
        self._send = send
        self._clock = clock
        self._account = account
        self._region = region
        self._watches: dict[str, _Watch] = {}
        self._sequencer = itertools.count(0x0066_0000_0000_0000_00)

    @property
    def buckets(self) -> list[str]:
        """The buckets whose new objects are announced."""
        return list(self._watches)

    def watch(self, bucket: str, configuration: Mapping[str, Any] | None) -> None:
        """Apply a bucket's ``NotificationConfiguration`` (it replaces any earlier one).

        Objects already in the bucket count as announced.

        Raises:
            NotImplementedError: For Lambda function notifications.
        """
        configuration = configuration or {}
        bridge = configuration.get("EventBridgeConfiguration")
        eventbridge = isinstance(bridge, Mapping) and _enabled(
            bridge.get("EventBridgeEnabled", True)
        )
        notifications = _notifications(bucket, configuration)
        if not eventbridge and not notifications:
            self._watches.pop(bucket, None)
            return
        seen = {key: identity for key, (identity, _) in self._objects(bucket).items()}
        self._watches[bucket] = _Watch(eventbridge, notifications, seen)

    def scan(self) -> bool:
        """Announce every object created or overwritten since the last scan; True if any."""
        announced = False
        for bucket, watch in self._watches.items():
            current = self._objects(bucket)
            for key, (identity, size) in current.items():
                if watch.seen.get(key) != identity:
                    self._announce(bucket, key, identity, size, watch)
                    announced = True
            # Deleted keys are forgotten, so a key created again is announced again.
            watch.seen = {key: identity for key, (identity, _) in current.items()}
        return announced

    def _objects(self, bucket: str) -> dict[str, tuple[str, int]]:
        """``{key: (identity, size)}`` in the order objects were last modified."""
        if self._client is None:
            self._client = self._client_factory()
        found: list[dict[str, Any]] = []
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            found.extend(page.get("Contents", []))
        found.sort(key=lambda o: (o["LastModified"], o["Key"]))
        # The ETag alone misses an overwrite with the same bytes; the time alone misses one
        # in the same second.
        return {
            o["Key"]: (f"{o['ETag']}@{o['LastModified'].isoformat()}", int(o["Size"]))
            for o in found
        }

    def _announce(self, bucket: str, key: str, identity: str, size: int, watch: _Watch) -> None:
        etag = identity.split("@", 1)[0].strip('"')
        sequencer = f"{next(self._sequencer):018X}"
        # UNSPECIFIED: a multipart ETag (digest-parts) is the only sign of how the object was
        # made; everything else is announced as a PutObject.
        multipart = "-" in etag
        if watch.eventbridge:
            self._put_events(
                [self._eventbridge_event(bucket, key, etag, size, sequencer, multipart)]
            )
        event_name = "ObjectCreated:CompleteMultipartUpload" if multipart else "ObjectCreated:Put"
        for notification in watch.notifications:
            if notification.wants(event_name, key):
                body = s3_event(
                    bucket,
                    key,
                    event_name=event_name,
                    size=size,
                    etag=etag,
                    sequencer=sequencer,
                    region=self._region,
                    event_time=self._clock.now(),
                    configuration_id=notification.id,
                )
                self._send(notification.destination, json.dumps(body), {})

    def _eventbridge_event(
        self, bucket: str, key: str, etag: str, size: int, sequencer: str, multipart: bool
    ) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": self._account,
            "time": iso8601(self._clock.now(), milliseconds=False),
            "region": self._region,
            "resources": [f"arn:aws:s3:::{bucket}"],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket},
                # UNSPECIFIED: the key as written, not URL-encoded as in S3 notification records.
                "object": {"key": key, "size": size, "etag": etag, "sequencer": sequencer},
                "request-id": uuid.uuid4().hex[:16].upper(),
                "requester": self._account,
                "source-ip-address": DEFAULT_SOURCE_IP,
                "reason": "CompleteMultipartUpload" if multipart else "PutObject",
            },
        }


@deploys("AWS::S3::Bucket")
def _bucket(stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
    name = props.get("BucketName") or stack.name(logical_id, 63).lower()
    s3 = stack.context.client("s3")
    if stack.context.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": stack.context.region}
        )
    if props.get("NotificationConfiguration"):
        stack.service(BucketNotifications).watch(name, props["NotificationConfiguration"])
    return Resource(
        logical_id,
        "AWS::S3::Bucket",
        "",
        name,
        {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{stack.context.region}.amazonaws.com",
        },
    )


@deploys("Custom::S3BucketNotifications")
def _bucket_notifications(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    # CDK's Custom::S3BucketNotifications sets a bucket's notification configuration.
    stack.service(BucketNotifications).watch(
        str(props["BucketName"]), props.get("NotificationConfiguration")
    )
    return Resource(logical_id, "Custom::S3BucketNotifications", "", f"{logical_id}-local")
