"""Cognito user pools in the local cloud: pools, app clients and domains created in moto.

Tests (and a page served locally) sign in against the pools a stack defines: create a
user with boto3 (``admin_create_user``, ``admin_set_user_password``), then
``initiate_auth`` with the stack's app client returns moto's ID, access and refresh
tokens, which the local API Gateway's Cognito authorizers accept (their ``iss`` is the
pool's ``https://cognito-idp.<region>.amazonaws.com/<pool id>``).

* ``AWS::Cognito::UserPool`` is created with every template property that
  ``CreateUserPool`` also takes, under the same name (``UserPoolName`` is its
  ``PoolName``, generated when absent); ``EnabledMfas`` becomes the pool's MFA
  configuration (``SetUserPoolMfaConfig``). ``Ref`` is the pool id; the attributes are
  ``Arn``, ``ProviderName`` (``cognito-idp.<region>.amazonaws.com/<pool id>``),
  ``ProviderURL`` (the same with ``https://``) and ``UserPoolId``.
* ``AWS::Cognito::UserPoolClient`` is created with every property that
  ``CreateUserPoolClient`` takes. ``Ref`` is the client id; the attributes are
  ``ClientId``, ``Name`` and, for a client with a generated secret, ``ClientSecret``.
* ``AWS::Cognito::UserPoolDomain`` is created with ``Domain`` and
  ``CustomDomainConfig``; ``Ref`` is the domain, ``CloudFrontDistribution`` moto's
  distribution name. No hosted UI answers on it.

moto does the signing in: its tokens are signed with moto's own key, their lifetime is
an hour whatever the client's token validity, and neither the client's
``ExplicitAuthFlows``, Lambda triggers, MFA enforcement beyond moto's nor advanced
security are applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys

#: Template properties whose ``Create*`` parameter has another name.
_RENAMED = {"UserPoolName": "PoolName"}
#: Cognito's longest pool and client name. UNSPECIFIED: CloudFormation names a pool or
#: client that the template leaves unnamed; the local cloud generates
#: ``<stack>-<logical id>-<suffix>`` within this length.
NAME_LIMIT = 128


def _as_shape(shape: Any, value: Any) -> Any:
    """``value`` as the botocore ``shape`` wants it, the way CloudFormation converts.

    Template values may be strings where the API takes booleans or numbers ("true",
    "12") and the other way round; structure members that the API does not have are
    left out.
    """
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        return {
            name: _as_shape(shape.members[name], item)
            for name, item in value.items()
            if name in shape.members
        }
    if kind == "list" and isinstance(value, list):
        return [_as_shape(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, Mapping):
        return {str(key): _as_shape(shape.value, item) for key, item in value.items()}
    if kind == "boolean" and isinstance(value, str):
        return value.lower() == "true"
    if kind in ("integer", "long") and isinstance(value, str | float):
        return int(value)
    if kind == "string" and isinstance(value, bool):
        return "true" if value else "false"
    if kind == "string" and isinstance(value, int | float):
        return str(value)
    return value


def _api_parameters(client: Any, operation: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """The template properties that ``operation`` of ``client`` takes, as its parameters.

    Args:
        client: A boto3 client.
        operation: The API operation, ``CreateUserPool``.
        props: The resolved template properties.
    """
    shape = client.meta.service_model.operation_model(operation).input_shape
    found: dict[str, Any] = {}
    for name, value in props.items():
        member = _RENAMED.get(name, name)
        if member in shape.members:
            found[member] = _as_shape(shape.members[member], value)
    return found


def _mfa_configuration(props: Mapping[str, Any]) -> dict[str, Any]:
    """The ``SetUserPoolMfaConfig`` parameters of ``EnabledMfas``; empty when MFA is off."""
    mode = str(props.get("MfaConfiguration") or "OFF")
    enabled = {str(m) for m in props.get("EnabledMfas") or ()}
    if mode == "OFF" or not enabled:
        return {}
    found: dict[str, Any] = {}
    if "SOFTWARE_TOKEN_MFA" in enabled:
        found["SoftwareTokenMfaConfiguration"] = {"Enabled": True}
    if "SMS_MFA" in enabled and props.get("SmsConfiguration"):
        sms: dict[str, Any] = {"SmsConfiguration": dict(props["SmsConfiguration"])}
        if props.get("SmsAuthenticationMessage"):
            sms["SmsAuthenticationMessage"] = str(props["SmsAuthenticationMessage"])
        found["SmsMfaConfiguration"] = sms
    if found:
        found["MfaConfiguration"] = mode
    return found


@deploys("AWS::Cognito::UserPool")
def _user_pool(stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
    cognito = stack.context.client("cognito-idp")
    parameters = _api_parameters(cognito, "CreateUserPool", props)
    parameters.setdefault("PoolName", stack.name(logical_id, NAME_LIMIT))
    pool = cognito.create_user_pool(**parameters)["UserPool"]
    mfa = _mfa_configuration(props)
    if mfa:
        cognito.set_user_pool_mfa_config(UserPoolId=pool["Id"], **mfa)
    provider = f"cognito-idp.{stack.context.region}.amazonaws.com/{pool['Id']}"
    return Resource(
        logical_id,
        "AWS::Cognito::UserPool",
        "",
        pool["Id"],
        {
            "Arn": pool["Arn"],
            "ProviderName": provider,
            "ProviderURL": f"https://{provider}",
            "UserPoolId": pool["Id"],
        },
    )


@deploys("AWS::Cognito::UserPoolClient")
def _user_pool_client(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    cognito = stack.context.client("cognito-idp")
    parameters = _api_parameters(cognito, "CreateUserPoolClient", props)
    parameters.setdefault("ClientName", stack.name(logical_id, NAME_LIMIT))
    client = cognito.create_user_pool_client(**parameters)["UserPoolClient"]
    attributes = {"ClientId": client["ClientId"], "Name": client["ClientName"]}
    if client.get("ClientSecret"):
        attributes["ClientSecret"] = client["ClientSecret"]
    return Resource(logical_id, "AWS::Cognito::UserPoolClient", "", client["ClientId"], attributes)


@deploys("AWS::Cognito::UserPoolDomain")
def _user_pool_domain(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    cognito = stack.context.client("cognito-idp")
    parameters = _api_parameters(cognito, "CreateUserPoolDomain", props)
    created = cognito.create_user_pool_domain(**parameters)
    return Resource(
        logical_id,
        "AWS::Cognito::UserPoolDomain",
        "",
        str(parameters["Domain"]),
        {"CloudFrontDistribution": str(created.get("CloudFrontDomain") or "")},
    )
