"""A Lambda function triggered by a DynamoDB stream or a Kinesis data stream."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import jsii
from aws_cdk import Annotations, Duration, RemovalPolicy, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
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
    check_type,
    check_types,
)
from lambda_blueprints.constructs.function import check_function_options

#: Lambda allows 5 filters per event source mapping, 10 after a quota increase.
_MAX_FILTERS = 10
_DEFAULT_FILTER_QUOTA = 5
_MAX_FILTER_PATTERN_CHARS = 4096


class StreamTrigger(Construct):
    """A Lambda function triggered by a DynamoDB stream or a Kinesis data stream.

    The source is an existing table (``table``), an existing Kinesis stream (``stream``),
    or, when neither is given, a new DynamoDB table with a stream. The function is an
    existing one (``function``) or is built from a handler in the library's runtime asset
    (``handler``). Batches that fail past the retry and age bounds are recorded in an
    encrypted SQS queue, and alarms watch the function, the iterator age and that queue.

    Resources defined:
        * ``Table`` (only when no source is given): a DynamoDB table with a stream.
        * ``Role``, ``LogGroup``, ``Function`` (only when ``handler`` is given).
        * ``EventSourceMapping``: the trigger.
        * ``DeadLetterQueue`` (unless ``on_failure_queue`` is given): the on-failure
          destination of the mapping.
        * ``ErrorsAlarm``, ``ThrottlesAlarm``, ``IteratorAgeAlarm``,
          ``DeadLetterQueueDepthAlarm``.

    Default settings:
        * Mapping: batch size 100, no batching window, starting position ``TRIM_HORIZON``,
          ``bisect_batch_on_error=True``, ``report_batch_item_failures=True``, 3 retries,
          records older than 24 hours sent to the failure queue, parallelization factor 1.
        * Failure queue: SSE-KMS with the AWS managed key ``alias/aws/sqs`` (or
          ``encryption_key``), TLS enforced, 14 days retention, kept when the stack is
          deleted; alarm as soon as it holds a message.
        * Function: Python 3.14 on ARM64, 256 MiB, 30 s timeout, JSON logs in its own log
          group kept one month, X-Ray active tracing, the Powertools layer, recursive loops
          terminated, a role of its own holding only what the trigger needs.
        * Table: on-demand billing, stream ``NEW_AND_OLD_IMAGES``, point-in-time recovery,
          AWS managed KMS encryption (or ``encryption_key``), retained on stack deletion.
        * Alarms: errors >= 1 and throttles >= 1 per minute; iterator age above half of
          the time a record may wait (the stream retention, or ``max_record_age`` when
          shorter); failure queue depth >= 1. Actions go to ``alarm_topic`` when given.

    The function receives ``FAILURE_QUEUE_URL`` and may send records it can never
    process to that queue itself, with a reason, instead of failing the batch for them.
    An existing ``lambda_.Function`` given as ``function`` receives it too (an imported
    function cannot: set it yourself), and ``sqs:SendMessage``, ``sqs:GetQueueAttributes``
    and ``sqs:GetQueueUrl`` on the queue (with the KMS actions a customer managed key needs).

    Args:
        scope: The parent construct.
        construct_id: The construct id.
        table: An existing table whose stream triggers the function. It must have a stream
            (``table_stream_arn``). Defaults to a new table.
        stream: An existing Kinesis data stream that triggers the function. Defaults to
            None (the source is a DynamoDB table).
        consumer: An enhanced fan-out consumer of ``stream`` to read through: records are
            pushed to it with a dedicated 2 MiB/s per shard instead of being polled from the
            throughput all standard consumers share. ``stream`` defaults to its stream.
        stream_view_type: View type of the new table's stream. Only for a new table.
            Defaults to ``NEW_AND_OLD_IMAGES``.
        partition_key: Partition key of the new table. Only for a new table. Defaults to
            ``pk`` (string).
        sort_key: Sort key of the new table. Only for a new table. Defaults to none.
        table_removal_policy: What happens to the new table when it leaves the stack.
            Defaults to ``RETAIN``.
        function: An existing function to trigger. Its role, if any, gets the stream read
            and failure queue permissions. Defaults to a function built from ``handler``.
        handler: ``<module>.<function>`` of ``code`` (``handler.main``), or with no code
            one of the library's handlers, e.g.
            ``lambda_blueprints.runtime.audit_trail.handler.lambda_handler``. Required
            unless ``function`` is given; checked at synth.
        service_name: ``POWERTOOLS_SERVICE_NAME`` of the built function. Defaults to the
            construct id.
        environment: Extra environment variables of the built function.
        memory_size: Memory of the built function in MiB, 128-10240. Defaults to 256.
        timeout: Timeout of the built function, 1 s-15 min. Defaults to 30 seconds.
        log_retention: Retention of the built function's log group. Defaults to one month.
        code: Your code for the built function: a folder path (bundled with its
            ``requirements.txt``, no Docker) or any ``lambda_.Code``. Defaults to the
            library's runtime. The function keeps the whole baseline either way (see
            :class:`BlueprintFunction`, which takes the same function options).
        layers: Further layers of the built function.
        runtime_helpers: Add the library's runtime layer to the built function. Defaults
            to adding it when a code folder imports ``lambda_blueprints``.
        log_level: Application log level of the built function. Defaults to ``INFO``.
        architecture: Architecture of the built function. Defaults to ``ARM_64``.
        reserved_concurrent_executions: Reserved concurrency of the built function.
        batch_size: Most records per invocation, 1-10000. Defaults to 100.
        max_batching_window: How long to gather records before invoking, 0-300 s.
            Defaults to no window.
        starting_position: Where to start reading: ``TRIM_HORIZON``, ``LATEST``, or (Kinesis
            only) ``AT_TIMESTAMP``. Defaults to ``TRIM_HORIZON`` so that no record written
            before the mapping is enabled is skipped.
        starting_position_timestamp: Time to start at, required with ``AT_TIMESTAMP`` and
            allowed only with it; must be timezone-aware.
        filters: Event filter patterns, e.g. ``lambda_.FilterCriteria.filter({...})``;
            at most 10 (more than 5 needs a quota increase), each at most 4096 characters.
        bisect_batch_on_error: Split a failing batch in two and retry the halves.
            Defaults to True.
        report_batch_item_failures: Let the function report the failed records of a batch
            (``batchItemFailures``). Defaults to True.
        retry_attempts: Retries of a failing batch, 0-10000; None retries until the
            record expires. Defaults to 3.
        max_record_age: Age after which a record goes to the failure queue, 60 s-7 days;
            None keeps it until the stream drops it. Defaults to 24 hours.
        parallelization_factor: Concurrent batches per shard, 1-10. Order is kept per
            partition key. Defaults to 1.
        tumbling_window: Length of tumbling windows, 0-900 s. Defaults to none.
        metrics: Publish the mapping's event count metrics (extra CloudWatch cost).
            Defaults to False.
        enabled: Whether the mapping polls. Defaults to True.
        on_failure_queue: An existing standard queue to use as the failure destination.
            Defaults to a new queue.
        encryption_key: Customer managed key for the new table, the new failure queue and
            the built function's logs and environment. Defaults to AWS managed encryption.
        alarm_topic: SNS topic that receives the alarms' ALARM and OK notifications.
        stream_retention: Retention of the Kinesis stream, 24 hours-365 days, used for the
            iterator-age alarm. Kinesis only. Defaults to 24 hours.
        iterator_age_alarm_threshold: Iterator age that raises the alarm. Defaults to half
            of the stream retention or of ``max_record_age``, whichever is shorter.
        alarms: Create the alarms. Defaults to True; with False, :attr:`alarms` is empty
            and the ``metric_*`` methods give the same metrics for alarms of your own.

    Raises:
        ValueError: When a prop is outside its AWS limit or props contradict each other.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITable | None = None,
        stream: kinesis.IStream | None = None,
        consumer: kinesis.IStreamConsumer | None = None,
        stream_view_type: dynamodb.StreamViewType | None = None,
        partition_key: dynamodb.Attribute | None = None,
        sort_key: dynamodb.Attribute | None = None,
        table_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        function: lambda_.IFunction | None = None,
        handler: str | None = None,
        service_name: str | None = None,
        environment: Mapping[str, str] | None = None,
        memory_size: int | None = None,
        timeout: Duration | None = None,
        log_retention: logs.RetentionDays | None = None,
        code: lambda_.Code | str | os.PathLike[str] | None = None,
        layers: Sequence[lambda_.ILayerVersion] | None = None,
        runtime_helpers: bool | None = None,
        log_level: str | None = None,
        architecture: lambda_.Architecture | None = None,
        reserved_concurrent_executions: int | None = None,
        batch_size: int = 100,
        max_batching_window: Duration | None = None,
        starting_position: lambda_.StartingPosition = lambda_.StartingPosition.TRIM_HORIZON,
        starting_position_timestamp: datetime | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
        bisect_batch_on_error: bool = True,
        report_batch_item_failures: bool = True,
        retry_attempts: int | None = _defaults.STREAM_RETRY_ATTEMPTS,
        max_record_age: Duration | None = _defaults.STREAM_MAX_RECORD_AGE,
        parallelization_factor: int = 1,
        tumbling_window: Duration | None = None,
        metrics: bool = False,
        enabled: bool = True,
        on_failure_queue: sqs.IQueue | None = None,
        encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
        stream_retention: Duration | None = None,
        iterator_age_alarm_threshold: Duration | None = None,
        alarms: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        check_types(
            ("table", table, dynamodb.ITable),
            ("stream", stream, kinesis.IStream),
            ("consumer", consumer, kinesis.IStreamConsumer),
            ("function", function, lambda_.IFunction),
            ("timeout", timeout, Duration),
            ("max_batching_window", max_batching_window, Duration),
            ("max_record_age", max_record_age, Duration),
            ("tumbling_window", tumbling_window, Duration),
            ("stream_retention", stream_retention, Duration),
            ("iterator_age_alarm_threshold", iterator_age_alarm_threshold, Duration),
            ("on_failure_queue", on_failure_queue, sqs.IQueue),
            ("encryption_key", encryption_key, kms.IKey),
            ("alarm_topic", alarm_topic, sns.ITopic),
        )
        if consumer is not None:
            if table is not None:
                raise ValueError(
                    "consumer reads a Kinesis stream, but table was given. Remove table."
                )
            stream = stream or consumer.stream
        is_kinesis = stream is not None
        _check_source(table, stream, stream_view_type, partition_key, sort_key, stream_retention)
        _check_function_props(
            function,
            handler,
            service_name=service_name,
            environment=environment,
            memory_size=memory_size,
            timeout=timeout,
            log_retention=log_retention,
            code=code,
            layers=layers,
            runtime_helpers=runtime_helpers,
            log_level=log_level,
            architecture=architecture,
            reserved_concurrent_executions=reserved_concurrent_executions,
        )
        timestamp = _check_mapping_props(
            is_kinesis=is_kinesis,
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            starting_position=starting_position,
            starting_position_timestamp=starting_position_timestamp,
            filters=filters,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            parallelization_factor=parallelization_factor,
            tumbling_window=tumbling_window,
        )
        if len(filters or ()) > _DEFAULT_FILTER_QUOTA:
            Annotations.of(self).add_warning_v2(
                "lambda-blueprints:filter-quota",
                f"filters has {len(filters or ())} patterns; Lambda's default quota is "
                f"{_DEFAULT_FILTER_QUOTA} per mapping. Request a quota increase before deploying.",
            )
        retention = stream_retention or (
            _defaults.KINESIS_DEFAULT_RETENTION
            if is_kinesis
            else _defaults.DYNAMODB_STREAM_RETENTION
        )
        alarm_threshold = _iterator_age_threshold(
            retention, max_record_age, iterator_age_alarm_threshold
        )

        #: The source table (None for a Kinesis source).
        self.table: dynamodb.ITable | None = None
        #: The source Kinesis stream (None for a DynamoDB source).
        self.stream: kinesis.IStream | None = stream
        #: The enhanced fan-out consumer the mapping reads through, if any.
        self.consumer: kinesis.IStreamConsumer | None = consumer
        if stream is None:
            self.table = table or _defaults.secure_table(
                self,
                "Table",
                partition_key=partition_key
                or dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
                sort_key=sort_key,
                stream=stream_view_type or dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
                encryption_key=encryption_key,
                removal_policy=table_removal_policy,
            )
            if self.table.table_stream_arn is None:
                raise ValueError(
                    "table has no stream (table_stream_arn is None). Enable one on the "
                    "table: dynamodb.Table(..., stream=StreamViewType.NEW_AND_OLD_IMAGES), or "
                    "dynamodb.TableV2(..., dynamo_stream=StreamViewType.NEW_AND_OLD_IMAGES); "
                    "or import it with Table.from_table_attributes(..., table_stream_arn=...)."
                )

        #: The on-failure destination of the mapping.
        self.dead_letter_queue: sqs.IQueue = on_failure_queue or _defaults.failure_queue(
            self, "DeadLetterQueue", encryption_key=encryption_key
        )

        #: The built function's log group (None for an existing function).
        self.log_group: logs.LogGroup | None = None
        if function is None:
            assert handler is not None  # noqa: S101 - guaranteed by _check_function_props
            env = {"FAILURE_QUEUE_URL": self.dead_letter_queue.queue_url}
            env.update(environment or {})
            built, self.log_group, _role = _defaults.build_function(
                self,
                handler=handler,
                service_name=service_name or construct_id,
                description=f"Processes the {'Kinesis' if is_kinesis else 'DynamoDB'} stream "
                "records of its event source mapping.",
                memory_size=memory_size or _defaults.MEMORY_SIZE_MIB,
                timeout=timeout or _defaults.TIMEOUT,
                environment=env,
                log_retention=log_retention or _defaults.LOG_RETENTION,
                log_level=log_level or "INFO",
                encryption_key=encryption_key,
                reserved_concurrent_executions=reserved_concurrent_executions,
                code=code,
                layers=layers or (),
                runtime_helpers=runtime_helpers,
                architecture=architecture or _defaults.ARCHITECTURE,
            )
            _defaults.acknowledge(
                built,
                "Serverless-LambdaDLQ",
                "The function is invoked synchronously by its event source mapping; batches "
                "it cannot process go to the mapping's on-failure queue, which an "
                "asynchronous dead-letter queue would never receive.",
            )
            function = built
        elif isinstance(function, lambda_.Function):
            # Your own function gets the same contract as a built one.
            function.add_environment("FAILURE_QUEUE_URL", self.dead_letter_queue.queue_url)
        #: The triggered function.
        self.function: lambda_.IFunction = function

        if consumer is not None:
            source_arn = consumer.stream_consumer_arn
        elif stream is not None:
            source_arn = stream.stream_arn
        else:
            assert self.table is not None  # noqa: S101 - set above for DynamoDB sources
            source_arn = self.table.table_stream_arn  # type: ignore[assignment]
        grants: list[iam.Grant] = []
        if function.role is not None:
            if consumer is not None:
                grants.append(consumer.grant_read(function))
            if stream is not None:
                grants.append(stream.grant_read(function))
            else:
                assert self.table is not None  # noqa: S101 - set above for DynamoDB sources
                grants += _grant_table_stream_read(self.table, function)
            grants += _grant_failure_destination(self.dead_letter_queue, function)
        else:
            Annotations.of(self).add_warning_v2(
                "lambda-blueprints:function-without-role",
                "function was imported without a role, so its permissions cannot be granted "
                "here. Give its role read access to the stream and sqs:SendMessage on the "
                "failure queue, or import it with Function.from_function_attributes(role=...).",
            )

        #: The policy that lets the function list DynamoDB streams (None for Kinesis).
        self.list_streams_policy: iam.Policy | None = None
        if function.role is not None and stream is None:
            self.list_streams_policy = iam.Policy(
                self,
                "ListStreamsPolicy",
                roles=[function.role],
                statements=[iam.PolicyStatement(actions=["dynamodb:ListStreams"], resources=["*"])],
            )
            _defaults.acknowledge(
                self.list_streams_policy,
                "AwsSolutions-IAM5[Resource::*]",
                "dynamodb:ListStreams supports no resource-level permissions, and Lambda lists "
                "it among the permissions a DynamoDB stream mapping's execution role needs. It "
                "returns stream ARNs only and reads no record; this policy holds nothing else, "
                "and DescribeStream, GetShardIterator and GetRecords name the table's stream.",
            )
        #: The event source mapping.
        self.event_source_mapping = lambda_.EventSourceMapping(
            self,
            "EventSourceMapping",
            target=function,
            event_source_arn=source_arn,
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            starting_position=starting_position,
            starting_position_timestamp=timestamp,
            filters=filters,
            bisect_batch_on_error=bisect_batch_on_error,
            report_batch_item_failures=report_batch_item_failures,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            parallelization_factor=parallelization_factor,
            tumbling_window=tumbling_window,
            metrics_config=(
                lambda_.MetricsConfig(metrics=[lambda_.MetricType.EVENT_COUNT]) if metrics else None
            ),
            enabled=enabled,
            on_failure=_QueueDestination(self.dead_letter_queue),
        )
        # The escape hatch of the construct's main resource, set rather than by naming it
        # "Resource", which would change its logical id.
        self.node.default_child = self.event_source_mapping
        # The mapping validates its permissions when it is created: the policies first.
        for grant in grants:
            grant.apply_before(self.event_source_mapping)
        if self.list_streams_policy is not None:
            self.event_source_mapping.node.add_dependency(self.list_streams_policy)

        #: The alarms, by role: ``errors``, ``throttles``, ``iterator_age``,
        #: ``dead_letter_queue_depth`` (empty with ``alarms=False``).
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        if alarms:
            self.alarms = self._alarms(alarm_threshold, alarm_topic)

    def _alarms(
        self, iterator_age_threshold: Duration, topic: sns.ITopic | None
    ) -> dict[str, cloudwatch.Alarm]:
        iterator_age = cloudwatch.Alarm(
            self,
            "IteratorAgeAlarm",
            alarm_description=(
                "Records wait too long before the function processes them; at the stream "
                "retention or max record age they leave the stream unprocessed."
            ),
            metric=self.metric_iterator_age(),
            threshold=iterator_age_threshold.to_milliseconds(),
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        return {
            # The same metrics as metric_errors() and metric_throttles().
            **_defaults.function_alarms(self, self.function, topic=topic),
            "iterator_age": _defaults.add_alarm_action(iterator_age, topic),
            "dead_letter_queue_depth": _defaults.queue_depth_alarm(
                self,
                "DeadLetterQueueDepthAlarm",
                self.dead_letter_queue,
                topic=topic,
                description="Stream records could not be processed and were sent to the "
                "failure queue; inspect and replay them.",
            ),
        }

    def metric_errors(
        self, *, period: Duration | None = None, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """The function's ``Errors``: invocations that raised, so whole batches are retried.

        The ``errors`` alarm's metric (1-minute sums unless told otherwise).
        """
        return self.function.metric_errors(
            period=period or Duration.minutes(1), statistic=statistic
        )

    def metric_throttles(
        self, *, period: Duration | None = None, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """The function's ``Throttles``: batches Lambda could not invoke it for (retried)."""
        return self.function.metric_throttles(
            period=period or Duration.minutes(1), statistic=statistic
        )

    def metric_iterator_age(
        self, *, period: Duration | None = None, statistic: str = "Maximum"
    ) -> cloudwatch.Metric:
        """The function's ``IteratorAge`` (milliseconds): how old the records it gets are."""
        return self.function.metric(
            "IteratorAge",
            period=period or Duration.minutes(1),
            statistic=statistic,
        )

    def metric_dead_letter_queue_depth(
        self, *, period: Duration | None = None, statistic: str = "Maximum"
    ) -> cloudwatch.Metric:
        """Records waiting in the failure queue (``ApproximateNumberOfMessagesVisible``)."""
        return self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=period or Duration.minutes(1), statistic=statistic
        )


@jsii.implements(lambda_.IEventSourceDlq)
class _QueueDestination:
    """An SQS on-failure destination whose permissions are granted separately, exactly.

    aws-cdk-lib's ``SqsDlq`` grants ``kms:ReEncrypt*`` and ``kms:GenerateDataKey*`` on a
    customer managed queue key; sending a message needs only ``kms:GenerateDataKey`` and
    ``kms:Decrypt`` (see :func:`_grant_failure_destination`).
    """

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self, _target: lambda_.IEventSourceMapping, _target_handler: lambda_.IFunction
    ) -> lambda_.DlqDestinationConfig:
        return lambda_.DlqDestinationConfig(destination=self._queue.queue_arn)


def _grant_failure_destination(queue: sqs.IQueue, function: lambda_.IFunction) -> list[iam.Grant]:
    """Let the function (and so its mapping) send to the failure queue, and nothing more."""
    grants = [queue.grant(function, "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")]
    if queue.encryption_master_key is not None:
        grants.append(
            queue.encryption_master_key.grant(function, "kms:GenerateDataKey", "kms:Decrypt")
        )
    return grants


def _grant_table_stream_read(
    table: dynamodb.ITable, function: lambda_.IFunction
) -> list[iam.Grant]:
    """Read access to the table's stream, named exactly (not Table.grant_stream_read).

    aws-cdk-lib's grant adds ``dynamodb:ListStreams`` on ``*`` to the role's own policy,
    where no acknowledgment can single it out; it goes to ``ListStreamsPolicy`` instead.
    """
    grants = [
        iam.Grant.add_to_principal(
            grantee=function,
            actions=[
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
            ],
            resource_arns=[table.table_stream_arn],  # type: ignore[list-item]
        )
    ]
    if table.encryption_key is not None:
        grants.append(table.encryption_key.grant_decrypt(function))
    return grants


def _check_source(
    table: dynamodb.ITable | None,
    stream: kinesis.IStream | None,
    stream_view_type: dynamodb.StreamViewType | None,
    partition_key: dynamodb.Attribute | None,
    sort_key: dynamodb.Attribute | None,
    stream_retention: Duration | None,
) -> None:
    if table is not None and stream is not None:
        raise ValueError(
            "table and stream were both given: a StreamTrigger has one source. Pass table "
            "for a DynamoDB stream or stream for a Kinesis data stream."
        )
    if table is not None or stream is not None:
        for prop, value in (
            ("stream_view_type", stream_view_type),
            ("partition_key", partition_key),
            ("sort_key", sort_key),
        ):
            if value is not None:
                raise ValueError(
                    f"{prop} applies only to the table this construct creates, but an existing "
                    f"{'table' if table is not None else 'stream'} was given. Remove {prop}."
                )
    if stream_retention is not None:
        if stream is None:
            raise ValueError(
                "stream_retention applies only to Kinesis sources; a DynamoDB stream always "
                "keeps records for 24 hours. Remove stream_retention."
            )
        check_duration_range(
            "stream_retention",
            stream_retention,
            24 * 3600,
            365 * 24 * 3600,
            fix="Use the retention period configured on the Kinesis stream.",
        )


def _check_function_props(
    function: lambda_.IFunction | None, handler: str | None, **options: Any
) -> None:
    if function is not None:
        given = [name for name, value in options.items() if value is not None]
        if handler is not None:
            given.insert(0, "handler")
        if given:
            raise ValueError(
                f"{', '.join(given)} configure the function this construct builds, but an "
                "existing function was given. Configure that function directly, or drop "
                "function and pass handler."
            )
        return
    if not handler:
        raise ValueError(
            "handler=None: give the handler of the function to build: '<module>.<function>' "
            "of your code= (for example 'handler.main'), one of the library's (for example "
            "'lambda_blueprints.runtime.audit_trail.handler.lambda_handler'), or an existing "
            "function."
        )
    check_function_options(
        memory_size=options.get("memory_size"),
        timeout=options.get("timeout"),
        log_level=options.get("log_level"),
    )


def _check_mapping_props(
    *,
    is_kinesis: bool,
    batch_size: int,
    max_batching_window: Duration | None,
    starting_position: lambda_.StartingPosition,
    starting_position_timestamp: datetime | None,
    filters: Sequence[Mapping[str, Any]] | None,
    retry_attempts: int | None,
    max_record_age: Duration | None,
    parallelization_factor: int,
    tumbling_window: Duration | None,
) -> float | None:
    """Validate the mapping props; return the starting timestamp in Unix seconds."""
    check_int_range("batch_size", batch_size, 1, 10000)
    if max_batching_window is not None:
        check_duration_range("max_batching_window", max_batching_window, 0, 300)
    allowed_positions: tuple[lambda_.StartingPosition, ...] = (
        lambda_.StartingPosition.TRIM_HORIZON,
        lambda_.StartingPosition.LATEST,
    )
    if is_kinesis:
        allowed_positions += (lambda_.StartingPosition.AT_TIMESTAMP,)
    check_choice(
        "starting_position",
        starting_position,
        allowed_positions,
        fix="" if is_kinesis else "DynamoDB streams do not support AT_TIMESTAMP.",
    )
    timestamp: float | None = None
    if starting_position_timestamp is not None:
        check_type(
            "starting_position_timestamp",
            starting_position_timestamp,
            datetime,
            "datetime(2026, 1, 1, tzinfo=timezone.utc)",
        )
    if starting_position == lambda_.StartingPosition.AT_TIMESTAMP:
        if starting_position_timestamp is None:
            raise ValueError(
                "starting_position=AT_TIMESTAMP needs starting_position_timestamp: give the "
                "timezone-aware datetime to start reading at."
            )
        if starting_position_timestamp.tzinfo is None:
            raise ValueError(
                f"starting_position_timestamp={starting_position_timestamp.isoformat()} has no "
                "time zone. Pass an aware datetime, e.g. datetime(..., tzinfo=timezone.utc)."
            )
        timestamp = starting_position_timestamp.timestamp()
    elif starting_position_timestamp is not None:
        raise ValueError(
            f"starting_position_timestamp={starting_position_timestamp.isoformat()} is allowed "
            f"only with starting_position=AT_TIMESTAMP, not {starting_position.name}."
        )
    if filters is not None:
        _check_filters(filters)
    if retry_attempts is not None:
        check_int_range(
            "retry_attempts",
            retry_attempts,
            0,
            10000,
            fix="Use None to retry until the record expires.",
        )
    if max_record_age is not None:
        check_duration_range(
            "max_record_age",
            max_record_age,
            60,
            604800,
            fix="Use None to keep records until the stream drops them.",
        )
    check_int_range("parallelization_factor", parallelization_factor, 1, 10)
    if tumbling_window is not None:
        check_duration_range("tumbling_window", tumbling_window, 0, 900)
    return timestamp


def _check_filters(filters: Sequence[Mapping[str, Any]]) -> None:
    if len(filters) > _MAX_FILTERS:
        raise ValueError(
            f"filters has {len(filters)} patterns; allowed is at most {_MAX_FILTERS} per event "
            f"source mapping ({_DEFAULT_FILTER_QUOTA} without a quota increase). Merge patterns "
            "with OR lists inside one pattern."
        )
    for index, entry in enumerate(filters):
        pattern = entry.get("pattern") if isinstance(entry, Mapping) else None
        if pattern is None:
            raise ValueError(
                f"filters[{index}]={entry!r} has no 'pattern'. Build each entry with "
                "lambda_.FilterCriteria.filter({...})."
            )
        if Token.is_unresolved(pattern):
            continue
        if len(pattern) > _MAX_FILTER_PATTERN_CHARS:
            raise ValueError(
                f"filters[{index}] pattern has {len(pattern):,} characters; allowed is at most "
                f"{_MAX_FILTER_PATTERN_CHARS:,}. Split it into several filters."
            )
        try:
            parsed = json.loads(pattern)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"filters[{index}] pattern {pattern!r} is not valid JSON ({error.msg}). Build "
                "it with lambda_.FilterCriteria.filter({...})."
            ) from error
        if not isinstance(parsed, dict) or not parsed:
            raise ValueError(
                f"filters[{index}] pattern {pattern!r} must be a non-empty JSON object."
            )


def _iterator_age_threshold(
    retention: Duration,
    max_record_age: Duration | None,
    threshold: Duration | None,
) -> Duration:
    horizon = retention.to_seconds()
    if max_record_age is not None and not Token.is_unresolved(max_record_age.to_seconds()):
        horizon = min(horizon, max_record_age.to_seconds())
    if threshold is None:
        # Half of the time a record may wait: past it, a backlog still has time to drain.
        return Duration.seconds(horizon // 2)
    check_duration_range(
        "iterator_age_alarm_threshold",
        threshold,
        60,
        int(horizon) - 1,
        fix="Past the stream retention or max_record_age records are already gone; alarm "
        "well before that.",
    )
    return threshold
