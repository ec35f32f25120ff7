"""CloudFormation custom resource events."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, cast

from lambda_blueprints.testing.events._shared import (
    DEFAULT_RESPONSE_URL,
    DEFAULT_SERVICE_TOKEN,
    DEFAULT_STACK_ID,
    _arn,
    _plain_dict,
)

CustomResourceRequestType = Literal["Create", "Update", "Delete"]
_CUSTOM_RESOURCE_TYPE = re.compile(r"Custom::[A-Za-z0-9_@\-]+")


def _stringified(value: Any) -> Any:
    """Property values as CloudFormation passes them: numbers and booleans as strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _stringified(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_stringified(v) for v in value]
    return value


def _resource_properties(
    properties: Mapping[str, Any] | None, service_token: str, stringify: bool, what: str
) -> dict[str, Any]:
    plain = _plain_dict(properties or {}, what)
    if plain.pop("ServiceToken", service_token) != service_token:
        raise ValueError(f"{what} has a ServiceToken other than service_token")
    plain = {"ServiceToken": service_token, **plain}
    return cast(dict[str, Any], _stringified(plain)) if stringify else plain


def cloudformation_custom_resource_event(
    request_type: CustomResourceRequestType,
    resource_properties: Mapping[str, Any] | None = None,
    *,
    old_resource_properties: Mapping[str, Any] | None = None,
    physical_resource_id: str | None = None,
    logical_resource_id: str = "Resource",
    resource_type: str = "Custom::Resource",
    response_url: str = DEFAULT_RESPONSE_URL,
    stack_id: str = DEFAULT_STACK_ID,
    request_id: str | None = None,
    service_token: str = DEFAULT_SERVICE_TOKEN,
    stringify_values: bool = True,
) -> dict[str, Any]:
    """Build a CloudFormation custom resource request as a Lambda-backed resource gets it.

    Args:
        request_type: ``Create``, ``Update`` or ``Delete``.
        resource_properties: The template's ``Properties``; ``ServiceToken`` is added to
            them, as CloudFormation sends it.
        old_resource_properties: The properties before the update; required for
            ``Update``, refused otherwise.
        physical_resource_id: Required for ``Update`` and ``Delete``; ``Create`` requests
            never carry one.
        logical_resource_id: The resource's logical id in the template.
        resource_type: ``Custom::<name>`` (up to 60 characters) or
            ``AWS::CloudFormation::CustomResource``.
        response_url: The presigned S3 URL for the response (never requested here).
        stack_id: The stack ARN.
        request_id: Default a new UUID.
        service_token: The function ARN, ``ServiceToken`` of the request and of the
            properties.
        stringify_values: CloudFormation passes numbers and booleans in properties as
            strings (``"5"``, ``"true"``); set False to keep the given types.

    Returns:
        The request event.

    Raises:
        ValueError: On an unknown request type, a missing or misplaced physical id or old
            properties, an invalid resource type or a conflicting ``ServiceToken``.
        TypeError: When properties are not JSON-serializable mappings.
    """
    if request_type not in ("Create", "Update", "Delete"):
        raise ValueError(f"RequestType is Create, Update or Delete: {request_type!r}")
    if request_type == "Create" and physical_resource_id is not None:
        raise ValueError("Create requests carry no PhysicalResourceId")
    if request_type != "Create" and not physical_resource_id:
        raise ValueError(f"{request_type} requests carry the PhysicalResourceId")
    if request_type == "Update" and old_resource_properties is None:
        raise ValueError("Update requests carry OldResourceProperties")
    if request_type != "Update" and old_resource_properties is not None:
        raise ValueError("only Update requests carry OldResourceProperties")
    if len(resource_type) > 60 or not (
        resource_type == "AWS::CloudFormation::CustomResource"
        or _CUSTOM_RESOURCE_TYPE.fullmatch(resource_type)
    ):
        raise ValueError(f"invalid custom resource type: {resource_type!r}")
    _arn(stack_id, "cloudformation", "stack_id", "stack/")
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": response_url,
        "StackId": stack_id,
        "RequestId": request_id or str(uuid.uuid4()),
        "LogicalResourceId": logical_resource_id,
    }
    if physical_resource_id is not None:
        event["PhysicalResourceId"] = physical_resource_id
    event["ResourceType"] = resource_type
    event["ResourceProperties"] = _resource_properties(
        resource_properties, service_token, stringify_values, "resource_properties"
    )
    if old_resource_properties is not None:
        event["OldResourceProperties"] = _resource_properties(
            old_resource_properties, service_token, stringify_values, "old_resource_properties"
        )
    return event
