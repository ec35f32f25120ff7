"""A function subscribed to an SNS topic, with nothing lost between them."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lambda_blueprints._validation import (
    check_choice,
    check_duration_range,
    check_int_range,
    check_types,
)
from lambda_blueprints.constructs.function import (
    BlueprintFunction,
    check_function_options,
    failure_queue_alarms,
    failure_queues,
    invoked_asynchronously,
)

__all__ = ["SnsTriggeredFunction"]

#: SNS filter policies: at most 5 attribute names and 150 value combinations.
MAX_FILTER_KEYS = 5
MAX_FILTER_COMBINATIONS = 150
#: A filter policy is at most 256 KB of JSON.
MAX_FILTER_POLICY_BYTES = 256 * 1024
_SCOPES = ("MessageAttributes", "MessageBody")


class SnsTriggeredFunction(Construct):
    """A function of your code invoked by each message of an SNS topic.

    SNS invokes Lambda asynchronously, so a message can be lost at two places: SNS cannot
    reach the function (throttled past its retries, or a missing permission), or the
    function fails on every attempt. Both are kept here, with the reason: SNS sends what it
    could not deliver to the subscription's dead-letter queue, and Lambda sends the
    invocations that failed all retries (with the error) to the failure queue. A message
    your code knows it can never process can be sent to the same failure queue at once,
    rather than retried: its URL is in ``FAILURE_QUEUE_URL``, and
    ``lambda_blueprints.runtime.shared.failures.send_to_failure_queue`` sends a record
    with its reason.

    Resources defined:
        * ``Topic`` (unless ``topic`` is given): TLS only, encrypted with ``encryption_key``
          or ``TopicKey``, a customer managed key (so that AWS services such as EventBridge
          and CloudWatch alarms can be allowed to publish, which the AWS managed key does
          not allow).
        * ``QueueKey``: encrypts both queues; SNS may use it for this topic only.
        * ``Function``: a :class:`BlueprintFunction`, with ``AsyncInvokeConfig``.
        * ``Subscription``: the topic's subscription of the function, with the filter
          policy and the redrive policy.
        * ``DeadLetterQueue``: messages SNS could not deliver; ``FailureQueue``:
          invocations that failed every retry, and the records the code parks.
        * Alarms (unless ``alarms=False``): the function's ``Errors`` and ``Throttles``,
          and a message waiting in either queue.

    Default settings:
        * Lambda retries a failed invocation twice (``retry_attempts``) and drops nothing
          younger than 6 hours (``max_event_age``) before it goes to the failure queue.
        * Both queues keep messages 14 days, encrypted, TLS only, retained on stack
          deletion.

    Args:
        scope: The parent construct.
        construct_id: The construct id.
        handler: ``<module>.<function>`` of ``code``, or one of the library's handlers.
        code: Your code: a folder path or any ``lambda_.Code``.
        topic: An existing topic to subscribe to. Defaults to a new encrypted topic.
        filter_policy: An SNS filter policy as JSON (``{"type": ["panic", "motion"]}``);
            only matching messages invoke the function. At most 5 keys and 150
            combinations of values.
        filter_policy_scope: ``MessageAttributes`` (default) or ``MessageBody``.
        retry_attempts: Lambda's retries of a failed invocation, 0-2. Defaults to 2.
        max_event_age: How long Lambda keeps trying, 60 s-6 h. Defaults to 6 hours.
        encryption_key: Customer managed key for the topic (when created here), the
            function's environment and its logs. Defaults to keys of the construct's own.
        alarm_topic: SNS topic for the alarms' notifications.
        alarms: Create the alarms. Defaults to True.
        service_name: ``POWERTOOLS_SERVICE_NAME``. Defaults to the construct id.
        environment: Environment variables of the function.
        memory_size: Memory in MiB, 128-10240.
        timeout: 1 s-15 min.
        log_retention: Retention of the function's log group.
        log_level: ``DEBUG``, ``INFO``, ``WARN`` or ``ERROR``.
        layers: Layers of your own.
        runtime_helpers: Add the library's runtime layer.
        architecture: ``ARM_64`` (default) or ``X86_64``.
        reserved_concurrent_executions: Reserved concurrency of the function.

    Raises:
        ValueError: A prop outside its limit, or a filter policy SNS would refuse.
        TypeError: A prop of the wrong type.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        code: lambda_.Code | str | os.PathLike[str] | None = None,
        topic: sns.ITopic | None = None,
        filter_policy: Mapping[str, Any] | None = None,
        filter_policy_scope: str = "MessageAttributes",
        retry_attempts: int = 2,
        max_event_age: Duration | None = None,
        encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
        alarms: bool = True,
        service_name: str | None = None,
        environment: Mapping[str, str] | None = None,
        memory_size: int | None = None,
        timeout: Duration | None = None,
        log_retention: logs.RetentionDays | None = None,
        log_level: str | None = None,
        layers: Sequence[lambda_.ILayerVersion] | None = None,
        runtime_helpers: bool | None = None,
        architecture: lambda_.Architecture | None = None,
        reserved_concurrent_executions: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_types(
            ("topic", topic, sns.ITopic),
            ("encryption_key", encryption_key, kms.IKey),
            ("alarm_topic", alarm_topic, sns.ITopic),
            ("max_event_age", max_event_age, Duration),
            ("timeout", timeout, Duration),
        )
        check_function_options(memory_size=memory_size, timeout=timeout, log_level=log_level)
        check_int_range(
            "retry_attempts",
            retry_attempts,
            0,
            2,
            fix="Lambda retries an asynchronous invocation at most twice.",
        )
        if max_event_age is not None:
            check_duration_range(
                "max_event_age",
                max_event_age,
                60,
                6 * 3600,
                fix="Lambda keeps an asynchronous event between 1 minute and 6 hours.",
            )
        check_choice("filter_policy_scope", filter_policy_scope, _SCOPES)
        if filter_policy is not None:
            check_filter_policy(filter_policy, filter_policy_scope)

        # The queues' key is always the construct's own: its policy lets SNS use it for this
        # topic only, and a key the topic were encrypted with could not name the topic.
        queue_key, dead_letter_queue, failure_queue = failure_queues(self)
        #: The key of both queues.
        self.queue_key: kms.Key = queue_key
        if topic is None:
            topic = sns.Topic(
                self,
                "Topic",
                master_key=encryption_key
                or kms.Key(
                    self,
                    "TopicKey",
                    description=f"Encrypts the topic of {self.node.path}",
                    enable_key_rotation=True,
                    removal_policy=RemovalPolicy.RETAIN,
                ),
                enforce_ssl=True,
            )
        #: The topic the function is subscribed to.
        self.topic: sns.ITopic = topic
        #: Messages SNS could not deliver to the function.
        self.dead_letter_queue: sqs.Queue = dead_letter_queue
        #: Invocations that failed every retry, and records the code parks.
        self.failure_queue: sqs.Queue = failure_queue
        options: dict[str, Any] = {
            "memory_size": memory_size,
            "timeout": timeout,
            "log_retention": log_retention,
            "log_level": log_level,
            "layers": layers,
            "architecture": architecture,
        }
        #: The function (a :class:`BlueprintFunction`).
        self.blueprint: BlueprintFunction = invoked_asynchronously(
            self,
            failure_queue=self.failure_queue,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age or Duration.hours(6),
            environment=environment or {},
            options=options,
            handler=handler,
            code=code,
            service_name=service_name or construct_id,
            description=f"Invoked by each message of the topic of {self.node.path}",
            encryption_key=encryption_key,
            runtime_helpers=runtime_helpers,
            reserved_concurrent_executions=reserved_concurrent_executions,
            alarm_topic=alarm_topic,
            alarms=alarms,
        )
        function = self.blueprint.function
        #: The Lambda function.
        self.function: lambda_.Function = function
        #: The subscription.
        self.subscription = sns.Subscription(
            self,
            "Subscription",
            topic=self.topic,
            protocol=sns.SubscriptionProtocol.LAMBDA,
            endpoint=function.function_arn,
            dead_letter_queue=self.dead_letter_queue,
        )
        cfn_subscription = self.subscription.node.default_child
        assert isinstance(cfn_subscription, sns.CfnSubscription)  # noqa: S101
        if filter_policy is not None:
            cfn_subscription.filter_policy = dict(filter_policy)
            cfn_subscription.filter_policy_scope = filter_policy_scope
        function.add_permission(
            "InvokedByTopic",
            principal=iam.ServicePrincipal("sns.amazonaws.com"),
            source_arn=self.topic.topic_arn,
        )
        self._allow_sns_to_use(queue_key)
        #: The alarms: the function's ``errors`` and ``throttles``, and
        #: ``dead_letter_queue_depth`` and ``failure_queue_depth``.
        self.alarms: dict[str, cloudwatch.Alarm] = dict(self.blueprint.alarms)
        if alarms:
            self.alarms |= failure_queue_alarms(
                self,
                self.dead_letter_queue,
                self.failure_queue,
                topic=alarm_topic,
                dead_letter="SNS could not deliver messages to the function; they wait in the "
                "dead-letter queue.",
                failure="Messages the function could not process wait in the failure queue "
                "with their reason.",
            )

    def _allow_sns_to_use(self, key: kms.IKey) -> None:
        """Let SNS encrypt what it sends to the dead-letter queue, for this topic only."""
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={"ArnEquals": {"aws:SourceArn": self.topic.topic_arn}},
            )
        )

    def metric_dead_letter_queue_depth(self) -> cloudwatch.Metric:
        """Messages waiting in the dead-letter queue (maximum per minute)."""
        return self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(1), statistic="Maximum"
        )

    def metric_failure_queue_depth(self) -> cloudwatch.Metric:
        """Messages waiting in the failure queue (maximum per minute)."""
        return self.failure_queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(1), statistic="Maximum"
        )

    @property
    def topic_arn(self) -> str:
        """The topic's ARN."""
        return self.topic.topic_arn


def check_filter_policy(policy: Mapping[str, Any], scope: str) -> None:
    """Refuse a filter policy SNS would refuse: too many keys, combinations or bytes."""
    if Token.is_unresolved(policy):
        return
    text = json.dumps(policy)
    if len(text.encode()) > MAX_FILTER_POLICY_BYTES:
        raise ValueError(
            f"filter_policy is {len(text.encode())} bytes of JSON; SNS allows at most "
            f"{MAX_FILTER_POLICY_BYTES}. Filter on fewer values."
        )
    keys, combinations = _policy_shape(policy, scope)
    if not keys:
        raise ValueError(
            "filter_policy={}: an empty policy matches nothing SNS can check; leave "
            "filter_policy out to receive every message."
        )
    if keys > MAX_FILTER_KEYS:
        raise ValueError(
            f"filter_policy has {keys} keys; SNS allows at most {MAX_FILTER_KEYS}. Filter on "
            "fewer attributes."
        )
    if combinations > MAX_FILTER_COMBINATIONS:
        raise ValueError(
            f"filter_policy has {combinations} combinations of values (the product of each "
            f"key's number of values); SNS allows at most {MAX_FILTER_COMBINATIONS}. Use "
            "fewer values, or a prefix."
        )


def _policy_shape(policy: Mapping[str, Any], scope: str) -> tuple[int, int]:
    """The number of leaf keys and of value combinations of a filter policy."""
    keys, combinations = 0, 1
    for name, value in policy.items():
        if name == "$or" and isinstance(value, list):
            shapes = [_policy_shape(branch, scope) for branch in value]
            keys += max((k for k, _ in shapes), default=0)
            combinations *= sum(c for _, c in shapes) or 1
        elif isinstance(value, Mapping) and scope == "MessageBody":
            inner_keys, inner = _policy_shape(value, scope)
            keys += inner_keys
            combinations *= inner
        elif isinstance(value, list):
            if not value:
                raise ValueError(
                    f"filter_policy[{name!r}] is an empty list; give the values to match."
                )
            keys += 1
            combinations *= len(value)
        else:
            raise ValueError(
                f"filter_policy[{name!r}]={value!r}: each key takes a list of values or "
                'operators, e.g. ["panic"] or [{"prefix": "sensor-"}]'
                + (
                    " (nested objects only with filter_policy_scope='MessageBody')."
                    if isinstance(value, Mapping)
                    else "."
                )
            )
    return keys, combinations
