"""KMS in the local cloud: keys created in moto, so that code can use them.

Handlers call KMS with the keys their stack defines: HMAC keys sign tokens
(``GenerateMac``, ``VerifyMac``), symmetric keys encrypt data keys. Each
``AWS::KMS::Key`` is created in moto with its ``KeySpec``, ``KeyUsage`` and
``Description``; its ``Ref`` is the key id and ``Arn`` its ARN, as CloudFormation gives
them. Key policies are not enforced, and the services that encrypt with a key (DynamoDB,
SQS, S3, SNS, Logs) do not use it in the local cloud.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys


@deploys("AWS::KMS::Key")
def _key(stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
    metadata = stack.context.client("kms").create_key(
        Description=str(props.get("Description") or logical_id),
        KeySpec=str(props.get("KeySpec") or "SYMMETRIC_DEFAULT"),
        KeyUsage=str(props.get("KeyUsage") or "ENCRYPT_DECRYPT"),
    )["KeyMetadata"]
    return Resource(
        logical_id,
        "AWS::KMS::Key",
        "",
        metadata["KeyId"],
        {"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]},
    )
