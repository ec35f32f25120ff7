"""A Lambda function of your code with the library's baseline."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lambda_blueprints import _defaults
from lambda_blueprints._validation import (
    check_choice,
    check_duration_range,
    check_int_range,
    check_types,
)

__all__ = ["BlueprintFunction"]

_LOG_LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")


class BlueprintFunction(Construct):
    """A Python function, your code or the library's, with everything it should have.

    Every function the library's constructs build is one of these, so a function of your own
    code starts from the same place: the baseline below, checked by cdk-nag (AwsSolutions
    and Serverless packs), with metrics and alarms.

    Resources:
        * ``Resource``: the ``lambda_.Function`` (:attr:`function`, ``node.default_child``).
        * ``Role``: its own execution role, no managed policies (:attr:`role`).
        * ``LogGroup``: its own log group (:attr:`log_group`).
        * ``ErrorsAlarm``, ``ThrottlesAlarm`` (unless ``alarms=False``).
        * The stack's Powertools layer (one per architecture) and, when the code imports
          ``lambda_blueprints``, the stack's runtime layer (one per stack).

    Default settings:
        * Python 3.14 on ARM64 (Graviton), 256 MiB, 30 s timeout.
        * JSON logs (application level ``log_level``, system level WARN) in a log group of
          its own kept one month and deleted with the stack; X-Ray active tracing;
          recursive loops terminated; the Powertools layer; ``POWERTOOLS_SERVICE_NAME``
          and ``POWERTOOLS_LOG_LEVEL`` set.
        * A role of its own that may write its logs and traces, nothing else: grant
          what your code needs (``table.grant_read_data(fn.function)``).
        * With ``encryption_key``: the log group and the environment variables encrypted
          with it.
        * Alarms: ``Errors`` >= 1 and ``Throttles`` >= 1 in a minute.

    Code:
        * ``code=None``: the library's runtime; ``handler`` must be one of its handlers.
        * ``code="lambda/orders"`` (a folder): copied as it is, with the dependencies of its
          ``requirements.txt`` (or its ``pyproject.toml``'s ``[project] dependencies``)
          installed next to it as binary wheels for the function's architecture and Python
          version, without Docker, cached by content hash.
        * Any other ``lambda_.Code`` (``Code.from_asset``, ``Code.from_bucket``, ...) as it is.

        The handler is checked at synth: the module must exist in a local folder and define
        the function at its top level (the file is read, never imported).

    Invocation: the function has no dead-letter queue unless ``dead_letter_queue`` is given.
    Invoked synchronously (API Gateway, event source mappings, ``RequestResponse``), it
    needs none: the caller gets the error. For asynchronous invokers (S3, SNS, EventBridge)
    give one, or an ``on_failure`` destination on the invoker's side.

    Args:
        scope: The parent construct.
        construct_id: The construct id.
        handler: ``<module>.<function>``: ``handler.main`` for ``def main`` in
            ``handler.py`` at the top of ``code``; with no code, one of the library's
            handlers (``lambda_blueprints.runtime.<...>.lambda_handler``).
        code: Your code: the path of a folder, or any ``lambda_.Code``. Defaults to the
            library's runtime.
        service_name: ``POWERTOOLS_SERVICE_NAME``. Defaults to the construct id.
        description: The function's description.
        memory_size: Memory in MiB, 128-10240. Defaults to 256.
        timeout: 1 s-15 min. Defaults to 30 seconds.
        environment: Environment variables of your own.
        log_retention: Retention of the log group. Defaults to one month.
        log_level: ``DEBUG``, ``INFO``, ``WARN`` or ``ERROR``. Defaults to ``INFO``.
        encryption_key: Customer managed key for the log group and the environment.
        reserved_concurrent_executions: Reserved concurrency, 0 or more. Defaults to none
            (the account's unreserved pool).
        layers: Layers of your own, at most 5 with the Powertools layer (and the runtime
            layer, when added).
        runtime_helpers: Add the library's runtime layer (``lambda_blueprints.runtime``).
            Defaults to adding it when a code folder imports ``lambda_blueprints``.
        architecture: ``ARM_64`` (default) or ``X86_64``.
        dead_letter_queue: Queue for events of asynchronous invocations that failed all
            retries. Defaults to none (see "Invocation").
        alarm_topic: SNS topic for the alarms' ALARM and OK notifications.
        alarms: Create the alarms. Defaults to True; with False, :attr:`alarms` is empty and
            the ``metric_*`` methods give the same metrics for alarms of your own.

    Raises:
        ValueError: A prop outside its limit, a folder that does not exist, a handler that
            names no function of the code, a dependency with no wheel for the target.
        TypeError: A prop of the wrong type.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        code: lambda_.Code | str | os.PathLike[str] | None = None,
        service_name: str | None = None,
        description: str | None = None,
        memory_size: int = _defaults.MEMORY_SIZE_MIB,
        timeout: Duration = _defaults.TIMEOUT,
        environment: Mapping[str, str] | None = None,
        log_retention: logs.RetentionDays = _defaults.LOG_RETENTION,
        log_level: str = "INFO",
        encryption_key: kms.IKey | None = None,
        reserved_concurrent_executions: int | None = None,
        layers: Sequence[lambda_.ILayerVersion] = (),
        runtime_helpers: bool | None = None,
        architecture: lambda_.Architecture = _defaults.ARCHITECTURE,
        dead_letter_queue: sqs.IQueue | None = None,
        alarm_topic: sns.ITopic | None = None,
        alarms: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        check_types(
            ("code", code, (lambda_.Code, str, os.PathLike)),
            ("timeout", timeout, Duration),
            ("encryption_key", encryption_key, kms.IKey),
            ("architecture", architecture, lambda_.Architecture),
            ("dead_letter_queue", dead_letter_queue, sqs.IQueue),
            ("alarm_topic", alarm_topic, sns.ITopic),
        )
        check_function_options(memory_size=memory_size, timeout=timeout, log_level=log_level)
        if reserved_concurrent_executions is not None:
            check_int_range(
                "reserved_concurrent_executions",
                reserved_concurrent_executions,
                0,
                1_000_000,
                fix="Use 0 to stop invocations, or None for the unreserved pool.",
            )
        function, log_group, role = _defaults.build_function(
            self,
            handler=handler,
            code=code,
            service_name=service_name or construct_id,
            description=description or f"{construct_id} ({handler})",
            memory_size=memory_size,
            timeout=timeout,
            environment=environment,
            log_retention=log_retention,
            log_level=log_level,
            encryption_key=encryption_key,
            reserved_concurrent_executions=reserved_concurrent_executions,
            layers=layers,
            runtime_helpers=runtime_helpers,
            architecture=architecture,
            dead_letter_queue=dead_letter_queue,
            function_id="Resource",
        )
        if dead_letter_queue is None:
            _defaults.acknowledge(
                function,
                "Serverless-LambdaDLQ",
                "No dead-letter queue unless dead_letter_queue is given: synchronous invokers "
                "(API Gateway, event source mappings) get the error themselves, and an "
                "asynchronous invoker is given a queue or an on_failure destination where "
                "it is configured.",
            )
        #: The function (also ``node.default_child``).
        self.function: lambda_.Function = function
        #: Its execution role.
        self.role: iam.Role = role
        #: Its log group.
        self.log_group: logs.LogGroup = log_group
        #: Its alarms, by role: ``errors``, ``throttles`` (empty with ``alarms=False``).
        self.alarms: dict[str, cloudwatch.Alarm] = (
            _defaults.function_alarms(self, function, topic=alarm_topic) if alarms else {}
        )

    @property
    def function_name(self) -> str:
        """The function's name."""
        return self.function.function_name

    @property
    def function_arn(self) -> str:
        """The function's ARN."""
        return self.function.function_arn

    def add_environment(self, key: str, value: str) -> None:
        """Set an environment variable of the function."""
        self.function.add_environment(key, value)

    def metric_errors(
        self, *, period: Duration | None = None, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """``Errors``: invocations that raised (the ``errors`` alarm's metric)."""
        return self.function.metric_errors(
            period=period or Duration.minutes(1), statistic=statistic
        )

    def metric_throttles(
        self, *, period: Duration | None = None, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """``Throttles``: invocations refused for lack of concurrency (``throttles`` alarm)."""
        return self.function.metric_throttles(
            period=period or Duration.minutes(1), statistic=statistic
        )

    def metric_duration(
        self, *, period: Duration | None = None, statistic: str = "p99"
    ) -> cloudwatch.Metric:
        """``Duration`` in milliseconds (p99 over 5 minutes unless told otherwise)."""
        return self.function.metric_duration(
            period=period or Duration.minutes(5), statistic=statistic
        )

    def metric_invocations(
        self, *, period: Duration | None = None, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """``Invocations``, successful or not."""
        return self.function.metric_invocations(
            period=period or Duration.minutes(1), statistic=statistic
        )


def check_function_options(
    *, memory_size: int | None, timeout: Duration | None, log_level: str | None = None
) -> None:
    """Validate the options every function of the library takes (one place for all)."""
    if memory_size is not None:
        check_int_range("memory_size", memory_size, 128, 10240, fix="Memory is set in MiB.")
    if timeout is not None:
        check_duration_range(
            "timeout", timeout, 1, 900, fix="Lambda functions run for at most 15 minutes."
        )
    if log_level is not None:
        check_choice("log_level", log_level, _LOG_LEVELS)


def invoked_asynchronously(
    scope: Construct,
    *,
    failure_queue: sqs.IQueue,
    retry_attempts: int,
    max_event_age: Duration,
    environment: Mapping[str, str],
    options: Mapping[str, Any],
    **props: Any,
) -> BlueprintFunction:
    """The ``Function`` of ``scope``, invoked asynchronously, failing into ``failure_queue``.

    Lambda retries a failed invocation ``retry_attempts`` times while it is younger than
    ``max_event_age``, then sends it with the error to ``failure_queue`` (the on-failure
    destination), whose URL the code finds in ``FAILURE_QUEUE_URL`` to park what it can
    never process. The destination's grant (``sqs:SendMessage``, and the queue key's
    ``kms:GenerateDataKey`` and ``kms:Decrypt``) serves the code too. ``options`` are
    BlueprintFunction props that keep its defaults when None; ``props`` are passed as given.
    """
    blueprint = BlueprintFunction(
        scope,
        "Function",
        environment={"FAILURE_QUEUE_URL": failure_queue.queue_url, **environment},
        **{name: value for name, value in options.items() if value is not None},
        **props,
    )
    lambda_.EventInvokeConfig(
        scope,
        "AsyncInvokeConfig",
        function=blueprint.function,
        retry_attempts=retry_attempts,
        max_event_age=max_event_age,
        on_failure=_defaults.QueueOnFailure(failure_queue),
    )
    return blueprint


def failure_queues(scope: Construct) -> tuple[kms.Key, sqs.Queue, sqs.Queue]:
    """``QueueKey``, and ``DeadLetterQueue`` and ``FailureQueue`` encrypted with it.

    The dead-letter queue keeps what the invoking service could not deliver; the failure
    queue, what failed every retry and what the code parks. The key is always the
    construct's own, so that its policy can let that service use it for this source only.
    """
    key = kms.Key(
        scope,
        "QueueKey",
        description=f"Encrypts the queues of {scope.node.path}",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN,
    )
    return (
        key,
        _defaults.failure_queue(scope, "DeadLetterQueue", encryption_key=key),
        _defaults.failure_queue(scope, "FailureQueue", encryption_key=key),
    )


def failure_queue_alarms(
    scope: Construct,
    dead_letter_queue: sqs.IQueue,
    failure_queue: sqs.IQueue,
    *,
    topic: sns.ITopic | None,
    dead_letter: str,
    failure: str,
) -> dict[str, cloudwatch.Alarm]:
    """``dead_letter_queue_depth`` and ``failure_queue_depth``: a message waits in either.

    ``dead_letter`` and ``failure`` are the alarms' descriptions.
    """
    return {
        "dead_letter_queue_depth": _defaults.queue_depth_alarm(
            scope,
            "DeadLetterQueueDepthAlarm",
            dead_letter_queue,
            topic=topic,
            description=dead_letter,
        ),
        "failure_queue_depth": _defaults.queue_depth_alarm(
            scope, "FailureQueueDepthAlarm", failure_queue, topic=topic, description=failure
        ),
    }
