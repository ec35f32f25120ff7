"""What every emulated service gets from the local cloud: a small service context.

Services never see the :class:`~lambda_blueprints.testing.LocalCloud`: they get a
:class:`ServiceContext` (or narrow callables from it) with the region, account, clock,
activity log, boto3 clients, the Lambda invoker, function lookup and message delivery.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lambda_blueprints.testing.activity import ActivityLog, Invoker
from lambda_blueprints.testing.clock import Clock

#: ``send(destination_arn, body, message_attributes)`` to an SQS queue or SNS topic.
Send = Callable[[str, str, Mapping[str, Mapping[str, str]]], None]


class FunctionRef(Protocol):
    """What services read of a deployed function."""

    @property
    def name(self) -> str:
        """The physical name."""
        ...

    @property
    def arn(self) -> str:
        """The unqualified ARN."""
        ...

    @property
    def role_arn(self) -> str:
        """The execution role."""
        ...


@dataclass(frozen=True)
class ServiceContext:
    """The local cloud as services see it.

    Attributes:
        region: The region of every resource.
        account_id: The account id in ARNs.
        clock: The virtual clock.
        log: The activity log.
        client: Makes a boto3 client of the region, ``client("sqs")``.
        invoke: Invokes a function (name, ARN or logical id) synchronously.
        function: Finds a deployed function by name, ARN or logical id (KeyError if none).
    """

    region: str
    account_id: str
    clock: Clock
    log: ActivityLog
    client: Callable[[str], Any]
    invoke: Invoker
    function: Callable[[str], FunctionRef]

    def arn(self, service: str, resource: str) -> str:
        """An ARN of this region and account."""
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"

    def send_message(
        self, destination: str, body: str, attributes: Mapping[str, Mapping[str, str]]
    ) -> None:
        """Send a message to an SQS queue or SNS topic ARN."""
        service, name = destination.split(":")[2], destination.rsplit(":", 1)[-1]
        if service == "sqs":
            sqs = self.client("sqs")
            sqs.send_message(
                QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"],
                MessageBody=body,
                MessageAttributes=dict(attributes),
            )
        elif service == "sns":
            self.client("sns").publish(
                TopicArn=destination,
                Message=body,
                MessageAttributes=dict(attributes),
            )
        else:
            raise ValueError(f"cannot deliver a message to {destination}")

    def send_failure(self, destination: str, body: dict[str, Any], mapping_id: str = "") -> None:
        """Send an event source mapping's failure record to its SQS, SNS or S3 destination."""
        text = json.dumps(body)
        service, name = destination.split(":")[2], destination.rsplit(":", 1)[-1]
        if service == "sqs":
            sqs = self.client("sqs")
            sqs.send_message(
                QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"], MessageBody=text
            )
        elif service == "sns":
            self.client("sns").publish(TopicArn=destination, Message=text)
        elif service == "s3":
            info = body.get("KinesisBatchInfo") or body.get("DDBStreamBatchInfo") or {}
            stamp = time.strftime("%Y/%m/%d/%Y-%m-%dT%H.%M.%S", time.gmtime(self.clock.now()))
            key = f"aws/lambda/{mapping_id}/{info.get('shardId', 'shard')}/{stamp}-{uuid.uuid4()}"
            self.client("s3").put_object(Bucket=name, Key=key, Body=text.encode())


def check_range(name: str, value: int, bounds: tuple[int, int]) -> None:
    """Raise ValueError unless ``value`` is an int within ``bounds`` (inclusive)."""
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name}={value!r} is outside {low}-{high}")
