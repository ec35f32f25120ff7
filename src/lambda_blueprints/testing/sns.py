"""SNS in the local cloud: topics and subscriptions, and delivery to Lambda functions.

Topics and subscriptions are created in moto. moto delivers to SQS subscriptions itself;
a subscription of a Lambda function (protocol ``lambda``) is realised as an SQS
subscription of an internal queue of the local cloud, so that moto does the topic's
fan-out and the local cloud the invocation. :class:`SnsDeliveries` keeps which internal
queue belongs to which subscription and function; :meth:`SnsDeliveries.deliver`, called by
``LocalCloud.run_until_idle``, drains the queues: each message is checked against the
subscription's filter policy and invokes the function asynchronously, one message per
invocation, through Lambda's asynchronous invocation
(:class:`~lambda_blueprints.testing.lambda_.AsyncInvocations`), with the event of
:func:`~lambda_blueprints.testing.events.sns_event`.

When SNS cannot deliver to Lambda at all (the function is throttled beyond SNS's retries,
or the endpoint names no deployed function), the notification goes to the subscription's
dead-letter queue (its ``RedrivePolicy``), or is dropped without one.

Choices for points AWS leaves open are named: :data:`THROTTLE_ATTEMPTS`,
:data:`UNSUPPORTED_FILTER_OPERATORS`, :func:`dead_letter_attributes` and
:func:`filter_document`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys
from lambda_blueprints.testing._core import ServiceContext
from lambda_blueprints.testing.activity import FailureRecord, InvocationThrottled
from lambda_blueprints.testing.events import sns_event
from lambda_blueprints.testing.events.sns import attribute_kind
from lambda_blueprints.testing.filtering import (
    FilterError,
    loads_preserving_numbers,
    matches,
    validate_pattern,
)
from lambda_blueprints.testing.lambda_ import AsyncInvocations

#: The name of every internal queue starts with this; the rest is a random hex id, so no
#: queue of a template (whose generated names are ``<stack>-<logical id>-<suffix>``)
#: takes it.
INTERNAL_QUEUE_PREFIX = "local-cloud-sns-to-lambda-"
#: UNSPECIFIED: SNS retries a throttled delivery to Lambda by its delivery policy for AWS
#: managed endpoints: 3 immediate retries, then 2 one second apart, 10 with backoff and
#: 100,000 twenty seconds apart, over 23 days. The local cloud makes the first attempt and
#: the 3 immediate retries, then treats the policy as exhausted.
THROTTLE_ATTEMPTS = 4
#: The filter policy scopes, and the default.
FILTER_POLICY_SCOPES = ("MessageAttributes", "MessageBody")
DEFAULT_FILTER_POLICY_SCOPE = "MessageAttributes"
#: Keys of a filter policy (the top level) and combinations of values (the product of the
#: number of values of each array, times its nesting depth).
MAX_FILTER_POLICY_KEYS = 5
MAX_FILTER_POLICY_COMBINATIONS = 150
#: Operators of the EventBridge pattern language that SNS filter policies do not have.
UNSUPPORTED_FILTER_OPERATORS = frozenset({"wildcard"})
#: Lambda's answers to SNS's ``Invoke`` call that end a delivery: throttled, no function.
THROTTLED = ("TooManyRequestsException", 429, "Rate Exceeded.")
FUNCTION_NOT_FOUND = ("ResourceNotFoundException", 404, "Function not found: {arn}")


@dataclass(frozen=True)
class FunctionSubscription:
    """A subscription of a Lambda function to a topic, and the queue that stands in for it.

    Attributes:
        arn: The subscription's ARN (``Ref``), which events name as ``EventSubscriptionArn``.
        topic_arn: The topic.
        endpoint: The function's ARN, as the template gives it (qualified or not).
        queue_url: The internal queue that moto delivers the topic's messages to.
        filter_policy: The parsed ``FilterPolicy``, or None.
        filter_policy_scope: ``MessageAttributes`` or ``MessageBody``.
        dead_letter_arn: The queue of the ``RedrivePolicy``, or None.
    """

    arn: str
    topic_arn: str
    endpoint: str
    queue_url: str
    filter_policy: Mapping[str, Any] | None = None
    filter_policy_scope: str = DEFAULT_FILTER_POLICY_SCOPE
    dead_letter_arn: str | None = None


class SnsDeliveries:
    """The local cloud's SNS subscriptions of Lambda functions, and their delivery.

    Args:
        context: The local cloud's clients, clock, activity log, functions and messages.
        async_invocations: Lambda's asynchronous invocation (retries per the function's
            ``EventInvokeConfig``, the on-failure destination, the retry-delay hook).
    """

    def __init__(self, context: ServiceContext, *, async_invocations: AsyncInvocations) -> None:
        self._context = context
        self._async = async_invocations
        #: The function subscriptions, by the URL of their internal queue.
        self.function_subscriptions: dict[str, FunctionSubscription] = {}

    def subscribe_function(
        self,
        topic_arn: str,
        endpoint: str,
        *,
        filter_policy: Mapping[str, Any] | None = None,
        filter_policy_scope: str = DEFAULT_FILTER_POLICY_SCOPE,
        dead_letter_arn: str | None = None,
    ) -> FunctionSubscription:
        """Subscribe a function to a topic: an internal queue, subscribed in moto.

        Args:
            topic_arn: The topic.
            endpoint: The function's ARN.
            filter_policy: The filter policy, parsed.
            filter_policy_scope: What the policy is matched against.
            dead_letter_arn: The SQS queue of the redrive policy.

        Returns:
            The subscription.

        Raises:
            ValueError: The topic is a FIFO topic, or the filter policy or dead-letter
                queue is one that SNS refuses.
        """
        if topic_arn.endswith(".fifo"):
            raise ValueError(
                f"{topic_arn}: a FIFO topic delivers to SQS queues only, not to the Lambda "
                f"function {endpoint}"
            )
        if filter_policy is not None:
            validate_filter_policy(filter_policy, filter_policy_scope)
        if dead_letter_arn is not None and dead_letter_arn.split(":")[2:3] != ["sqs"]:
            raise ValueError(
                f"a subscription's dead-letter queue is an SQS queue: {dead_letter_arn}"
            )
        sqs = self._context.client("sqs")
        name = INTERNAL_QUEUE_PREFIX + uuid.uuid4().hex
        queue_url = sqs.create_queue(
            QueueName=name, Attributes={"MaximumMessageSize": str(1024 * 1024)}
        )["QueueUrl"]
        attributes = {}
        if dead_letter_arn is not None:
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dead_letter_arn})
        arn = self._context.client("sns").subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=self._context.arn("sqs", name),
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        subscription = FunctionSubscription(
            arn=arn,
            topic_arn=topic_arn,
            endpoint=endpoint,
            queue_url=queue_url,
            filter_policy=filter_policy,
            filter_policy_scope=filter_policy_scope,
            dead_letter_arn=dead_letter_arn,
        )
        self.function_subscriptions[queue_url] = subscription
        return subscription

    def deliver(self) -> bool:
        """Deliver what waits in the internal queues; return whether there was anything.

        Each queue gives the messages it holds when its turn comes; what handlers publish
        meanwhile may wait for the next call.
        """
        sqs = self._context.client("sqs")
        delivered = False
        for queue_url, subscription in list(self.function_subscriptions.items()):
            waiting = int(
                sqs.get_queue_attributes(
                    QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]["ApproximateNumberOfMessages"]
            )
            while waiting > 0:
                received = sqs.receive_message(
                    QueueUrl=queue_url, MaxNumberOfMessages=min(10, waiting)
                ).get("Messages", [])
                if not received:
                    break
                for message in received:
                    self._deliver(subscription, json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                waiting -= len(received)
                delivered = True
        return delivered

    def _deliver(self, subscription: FunctionSubscription, body: Mapping[str, Any]) -> None:
        """Deliver one notification moto put in the subscription's queue."""
        event = sns_event(
            body["Message"],
            subject=body.get("Subject"),
            topic_arn=body["TopicArn"],
            message_attributes=body.get("MessageAttributes"),
            message_id=body["MessageId"],
            timestamp=self._context.clock.now(),
            subscription_arn=subscription.arn,
        )
        notification = event["Records"][0]["Sns"]
        if subscription.filter_policy is not None and not policy_matches(
            subscription.filter_policy, subscription.filter_policy_scope, notification
        ):
            return
        try:
            function = self._context.function(subscription.endpoint)
        except KeyError:
            code, status, message = FUNCTION_NOT_FOUND
            self._dead_letter(
                subscription, notification, code, status, message.format(arn=subscription.endpoint)
            )
            return
        qualified = subscription.endpoint.count(":") >= 7
        function_arn = subscription.endpoint if qualified else f"{function.arn}:$LATEST"
        for _ in range(THROTTLE_ATTEMPTS):
            try:
                self._async.invoke(
                    function.name,
                    function_arn,
                    event,
                    source="sns",
                    mapping_id=subscription.arn,
                    item=notification["MessageId"],
                    throttle_raises=True,
                )
            except InvocationThrottled:
                continue
            return
        self._dead_letter(subscription, notification, *THROTTLED)

    def _dead_letter(
        self,
        subscription: FunctionSubscription,
        notification: Mapping[str, Any],
        code: str,
        status: int,
        message: str,
    ) -> None:
        """Send the notification to the subscription's dead-letter queue, or drop it."""
        body = notification_body(notification)
        if subscription.dead_letter_arn is not None:
            self._context.send_message(
                subscription.dead_letter_arn,
                json.dumps(body),
                dead_letter_attributes(status, message),
            )
        # Without a dead-letter queue the message is lost; the log still shows it.
        self._context.log.add(
            FailureRecord(
                source="sns",
                mapping_id=subscription.arn,
                destination=subscription.dead_letter_arn or "",
                condition=code,
                body=body,
                items=(str(notification["MessageId"]),),
                at=self._context.clock.now(),
            )
        )


def notification_body(notification: Mapping[str, Any]) -> dict[str, Any]:
    """The notification as an SQS subscription's message body spells it.

    That is the ``Sns`` object of the Lambda event with ``SigningCertURL`` and
    ``UnsubscribeURL`` for Lambda's ``SigningCertUrl`` and ``UnsubscribeUrl``, and without
    ``Subject`` and ``MessageAttributes`` when the message has none.
    """
    renamed = {"SigningCertUrl": "SigningCertURL", "UnsubscribeUrl": "UnsubscribeURL"}
    return {
        renamed.get(key, key): value
        for key, value in notification.items()
        if not (key == "Subject" and value is None)
        and not (key == "MessageAttributes" and not value)
    }


def dead_letter_attributes(status: int, message: str) -> dict[str, dict[str, str]]:
    """The message attributes of a notification SNS could not deliver to Lambda.

    UNSPECIFIED: SNS documents no attributes for its dead-letter messages. These are the
    names and types Lambda documents for its own dead-letter queue: ``RequestID``,
    ``ErrorCode`` (the HTTP status of Lambda's answer, a Number) and ``ErrorMessage``
    (at most 1 KB).
    """
    return {
        "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
        "ErrorCode": {"DataType": "Number", "StringValue": str(status)},
        "ErrorMessage": {
            "DataType": "String",
            "StringValue": message.encode()[:1024].decode(errors="ignore"),
        },
    }


# --------------------------------------------------------------------------- filter policies


def validate_filter_policy(policy: Any, scope: str) -> None:
    """Check a filter policy as ``Subscribe`` does.

    The policy is an EventBridge pattern (:func:`~lambda_blueprints.testing.filtering.
    validate_pattern`) without :data:`UNSUPPORTED_FILTER_OPERATORS`, with at most
    :data:`MAX_FILTER_POLICY_KEYS` keys and :data:`MAX_FILTER_POLICY_COMBINATIONS`
    combinations of values, nested only with the ``MessageBody`` scope.

    Raises:
        ValueError: The policy or its scope is one SNS refuses (a
            :class:`~lambda_blueprints.testing.filtering.FilterError` for the pattern).
    """
    if scope not in FILTER_POLICY_SCOPES:
        raise ValueError(f"FilterPolicyScope is MessageAttributes or MessageBody, not {scope!r}")
    validate_pattern(policy, for_event_source_mapping=False)
    if len(policy) > MAX_FILTER_POLICY_KEYS:
        raise FilterError(
            f"FilterPolicy has {len(policy)} keys; SNS allows at most {MAX_FILTER_POLICY_KEYS}"
        )
    combinations = _check_policy(policy, scope, depth=1, path="FilterPolicy")
    if combinations > MAX_FILTER_POLICY_COMBINATIONS:
        raise FilterError(
            f"FilterPolicy has {combinations} combinations of values; SNS allows at most "
            f"{MAX_FILTER_POLICY_COMBINATIONS}"
        )


def _check_policy(policy: Mapping[str, Any], scope: str, *, depth: int, path: str) -> int:
    """Refuse what SNS does not take in ``policy``; return its combinations of values."""
    combinations = 1
    for key, value in policy.items():
        where = f"{path}.{key}"
        if key == "$or":
            for index, branch in enumerate(value):
                combinations *= _check_policy(branch, scope, depth=depth, path=f"{where}[{index}]")
        elif isinstance(value, Mapping):
            if scope != "MessageBody":
                raise FilterError(
                    f"{where}: a filter policy nests only with FilterPolicyScope MessageBody"
                )
            combinations *= _check_policy(value, scope, depth=depth + 1, path=where)
        else:
            for condition in value:
                operators = set(condition) if isinstance(condition, Mapping) else set()
                inner = condition.get("anything-but") if isinstance(condition, Mapping) else None
                if isinstance(inner, Mapping):
                    operators |= set(inner)
                refused = operators & UNSUPPORTED_FILTER_OPERATORS
                if refused:
                    raise FilterError(f"{where}: SNS filter policies have no {min(refused)!r}")
            combinations *= len(value) * depth
    return combinations


def filter_document(notification: Mapping[str, Any], scope: str) -> dict[str, Any] | None:
    """What a filter policy is matched against; None when nothing can match.

    UNSPECIFIED in part: with ``MessageAttributes``, each attribute by name: a ``String``
    as its text, a ``Number`` as its number, a ``String.Array`` as its array; ``Binary``
    attributes are left out (SNS ignores them). With ``MessageBody``, the message parsed as
    JSON; a message that is not a JSON object matches no policy.
    """
    if scope == "MessageBody":
        try:
            body = loads_preserving_numbers(str(notification["Message"]))
        except ValueError:
            return None
        return body if isinstance(body, dict) else None
    document: dict[str, Any] = {}
    for name, attribute in (notification.get("MessageAttributes") or {}).items():
        kind, text = attribute_kind(str(attribute["Type"])), str(attribute["Value"])
        if kind == "Binary":
            continue
        if kind in ("Number", "String.Array"):
            try:
                document[name] = loads_preserving_numbers(text)
            except ValueError:
                document[name] = text
        else:
            document[name] = text
    return document


def policy_matches(policy: Mapping[str, Any], scope: str, notification: Mapping[str, Any]) -> bool:
    """Whether a notification (the ``Sns`` object of the event) passes a filter policy."""
    document = filter_document(notification, scope)
    return document is not None and matches(policy, document)


# --------------------------------------------------------------------------- deployers


def _json_property(value: Any, name: str) -> Any:
    """A property CloudFormation takes as a JSON object or as JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as error:
            raise ValueError(f"{name} is not JSON: {value!r}") from error
    return value


def _enabled(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


@deploys("AWS::SNS::Topic")
def _topic(stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
    name = props.get("TopicName") or stack.name(logical_id, 256)
    attributes = {"FifoTopic": "true"} if props.get("FifoTopic") else {}
    arn = stack.context.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
    return Resource(logical_id, "AWS::SNS::Topic", "", arn, {"TopicArn": arn, "TopicName": name})


@deploys("AWS::SNS::Subscription")
def _subscription(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    if str(props["Protocol"]).lower() == "lambda":
        return _function_subscription(stack, logical_id, props)
    arn = stack.context.client("sns").subscribe(
        TopicArn=props["TopicArn"],
        Protocol=props["Protocol"],
        Endpoint=props["Endpoint"],
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return Resource(logical_id, "AWS::SNS::Subscription", "", arn)


def _function_subscription(
    stack: Deployment, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    where = f"{logical_id} (AWS::SNS::Subscription)"
    if _enabled(props.get("RawMessageDelivery", False)):
        raise ValueError(f"{where}: SNS has no raw message delivery to Lambda functions")
    policy = props.get("FilterPolicy")
    scope = str(props.get("FilterPolicyScope") or DEFAULT_FILTER_POLICY_SCOPE)
    redrive = _json_property(props.get("RedrivePolicy") or {}, f"{where}: RedrivePolicy")
    dead_letter = redrive.get("deadLetterTargetArn") if isinstance(redrive, Mapping) else None
    try:
        subscription = stack.service(SnsDeliveries).subscribe_function(
            str(props["TopicArn"]),
            str(props["Endpoint"]),
            filter_policy=(
                None if policy is None else _json_property(policy, f"{where}: FilterPolicy")
            ),
            filter_policy_scope=scope,
            dead_letter_arn=None if dead_letter is None else str(dead_letter),
        )
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from error
    return Resource(logical_id, "AWS::SNS::Subscription", "", subscription.arn)
