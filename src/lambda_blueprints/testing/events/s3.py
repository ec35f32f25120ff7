"""S3 event notifications and S3 Object Lambda events."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus, urlsplit

from lambda_blueprints.testing.events._shared import (
    DEFAULT_ACCOUNT,
    DEFAULT_OBJECT_LAMBDA_ACCESS_POINT_ARN,
    DEFAULT_REGION,
    DEFAULT_S3_PRINCIPAL_ID,
    DEFAULT_SOURCE_IP,
    DEFAULT_SUPPORTING_ACCESS_POINT_ARN,
    _arn,
    _b64,
    _iso_millis,
    _now,
    _plain_dict,
    _s3_sequencer,
)

_S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")


def s3_event(
    bucket: str,
    key: str,
    *,
    event_name: str = "ObjectCreated:Put",
    size: int = 0,
    etag: str | None = None,
    version_id: str | None = None,
    sequencer: str | None = None,
    region: str = DEFAULT_REGION,
    event_time: float | None = None,
    event_version: str = "2.1",
    principal_id: str = DEFAULT_S3_PRINCIPAL_ID,
    source_ip: str = DEFAULT_SOURCE_IP,
    configuration_id: str = "notification",
) -> dict[str, Any]:
    """Build an S3 event notification with one record, as S3 invokes a function.

    Args:
        bucket: The bucket name (3-63 lowercase letters, digits, dots and hyphens).
        key: The object key. The event carries it URL-encoded as S3 does: spaces as ``+``,
            other reserved characters percent-encoded, ``/`` kept.
        event_name: The event type without the ``s3:`` prefix, for example
            ``ObjectCreated:Put`` or ``ObjectRemoved:Delete``.
        size: Object size in bytes. ``ObjectRemoved`` records carry no size or ETag.
        etag: ``eTag``; default a digest of bucket, key and size.
        version_id: ``versionId``, for versioned buckets only; left out when ``None``.
        sequencer: Hex string ordering events on one key; generated for ``ObjectCreated``
            and ``ObjectRemoved`` events, left out of others unless given.
        region: ``awsRegion``.
        event_time: Epoch seconds, written with milliseconds; default now.
        event_version: ``eventVersion``; ``2.1`` for most event types.
        principal_id: The requester, ``userIdentity.principalId`` (``AWS:`` prefixed).
        source_ip: ``requestParameters.sourceIPAddress``.
        configuration_id: The notification configuration's id.

    Returns:
        ``{"Records": [record]}``. Combine several with :func:`s3_event_for`.

    Raises:
        ValueError: On an invalid bucket name, an empty or over-long key, a negative size,
            or an event name with the ``s3:`` prefix.
    """
    if not _S3_BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ValueError(f"invalid S3 bucket name: {bucket!r}")
    if not key or len(key.encode()) > 1024:
        raise ValueError("an S3 key has 1-1024 bytes of UTF-8")
    if not event_name or event_name.startswith("s3:"):
        raise ValueError(f"S3 event names come without the 's3:' prefix: {event_name!r}")
    if size < 0:
        raise ValueError("an object size is not negative")
    created = event_name.startswith("ObjectCreated:")
    removed = event_name.startswith("ObjectRemoved:")
    s3_object: dict[str, Any] = {"key": quote_plus(key, safe="/")}
    if not removed:
        s3_object["size"] = size
        s3_object["eTag"] = (
            etag
            or hashlib.md5(f"{bucket}/{key}/{size}".encode(), usedforsecurity=False).hexdigest()
        )
    if version_id is not None:
        s3_object["versionId"] = version_id
    if sequencer is None and (created or removed):
        sequencer = f"{next(_s3_sequencer):018X}"
    if sequencer is not None:
        s3_object["sequencer"] = sequencer
    request = uuid.uuid4()
    record = {
        "eventVersion": event_version,
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": _iso_millis(_now() if event_time is None else event_time),
        "eventName": event_name,
        "userIdentity": {"principalId": f"AWS:{principal_id}"},
        "requestParameters": {"sourceIPAddress": source_ip},
        "responseElements": {
            "x-amz-request-id": request.hex[:16].upper(),
            "x-amz-id-2": _b64(hashlib.sha384(request.bytes).digest()),
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A1EXAMPLEOWNER"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": s3_object,
        },
    }
    return {"Records": [record]}


def s3_event_for(*events_or_records: Mapping[str, Any]) -> dict[str, Any]:
    """Combine S3 notifications into one event.

    Args:
        *events_or_records: Events of :func:`s3_event` (their records are taken) or single
            records.

    Returns:
        ``{"Records": [...]}`` with every record, in order.
    """
    combined: list[dict[str, Any]] = []
    for item in events_or_records:
        plain = _plain_dict(item, "an S3 event or record")
        combined.extend(plain.get("Records", [plain]))
    return {"Records": combined}


def s3_object_lambda_event(
    *,
    input_s3_url: str,
    output_route: str,
    output_token: str,
    user_request_url: str,
    user_request_headers: Mapping[str, str] | None = None,
    supporting_access_point_arn: str = DEFAULT_SUPPORTING_ACCESS_POINT_ARN,
    access_point_arn: str = DEFAULT_OBJECT_LAMBDA_ACCESS_POINT_ARN,
    payload: str | Mapping[str, Any] | None = None,
    principal_id: str = DEFAULT_S3_PRINCIPAL_ID,
    user_arn: str = "arn:aws:iam::123456789012:user/tester",
    user_name: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Build the event S3 Object Lambda sends for a ``GetObject`` request.

    Args:
        input_s3_url: ``getObjectContext.inputS3Url``, the presigned URL of the original
            object (https).
        output_route: ``outputRoute``, the ``RequestRoute`` of ``WriteGetObjectResponse``.
        output_token: ``outputToken``, the ``RequestToken`` of ``WriteGetObjectResponse``.
        user_request_url: ``userRequest.url``, the URL the caller requested (https).
        user_request_headers: The caller's headers; ``Host`` (from the URL) is added
            unless given.
        supporting_access_point_arn: ``configuration.supportingAccessPointArn``.
        access_point_arn: ``configuration.accessPointArn``, an ``s3-object-lambda`` ARN.
        payload: ``configuration.payload``, the access point's opaque string; a mapping is
            sent as JSON; ``""`` when ``None``.
        principal_id: ``userIdentity.principalId``.
        user_arn: ``userIdentity.arn``; its account is ``userIdentity.accountId``.
        user_name: ``userIdentity.userName``, the IAM user's friendly name, which the
            event may carry for an IAM user caller (CloudTrail's ``userIdentity``);
            left out when ``None``.
        request_id: ``xAmzRequestId``; default generated.

    Returns:
        The event, ``"protocolVersion": "1.00"``.

    Raises:
        ValueError: On URLs that are not https or access point ARNs of the wrong service.
    """
    for what, url in (("input_s3_url", input_s3_url), ("user_request_url", user_request_url)):
        if urlsplit(url).scheme != "https" or not urlsplit(url).netloc:
            raise ValueError(f"{what} is an https URL: {url!r}")
    _arn(access_point_arn, "s3-object-lambda", "access_point_arn", "accesspoint/")
    _arn(supporting_access_point_arn, "s3", "supporting_access_point_arn", "accesspoint/")
    user_account = user_arn.split(":")[4] if user_arn.count(":") >= 5 else DEFAULT_ACCOUNT
    headers = {"Host": urlsplit(user_request_url).netloc}
    for name, value in (user_request_headers or {}).items():
        headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        headers[name] = value
    if payload is None:
        payload_text = ""
    elif isinstance(payload, str):
        payload_text = payload
    else:
        payload_text = json.dumps(_plain_dict(payload, "payload"))
    event: dict[str, Any] = {
        "xAmzRequestId": request_id or uuid.uuid4().hex[:16].upper(),
        "getObjectContext": {
            "inputS3Url": input_s3_url,
            "outputRoute": output_route,
            "outputToken": output_token,
        },
        "configuration": {
            "accessPointArn": access_point_arn,
            "supportingAccessPointArn": supporting_access_point_arn,
            "payload": payload_text,
        },
        "userRequest": {"url": user_request_url, "headers": headers},
        "userIdentity": {
            "type": "IAMUser",
            "principalId": principal_id,
            "arn": user_arn,
            "accountId": user_account,
            "accessKeyId": "AKIAEXAMPLEACCESSKEY",
        },
        "protocolVersion": "1.00",
    }
    if user_name is not None:
        event["userIdentity"]["userName"] = user_name
    return event
