"""Aggregates of a Kinesis or DynamoDB stream over tumbling windows, into a results table."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from aws_cdk import Duration, RemovalPolicy
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
from lambda_blueprints._validation import check_duration_range, check_types
from lambda_blueprints.constructs.stream_trigger import StreamTrigger


class TumblingWindowAggregator(Construct):
    """Aggregates of a stream over tumbling windows, written to a results table.

    A :class:`StreamTrigger` with ``TumblingWindowInSeconds``: Lambda hands the function the
    state it returned last, per shard, until the window ends, then makes one final
    invocation that writes the aggregate. Handlers built on the library's
    ``lambda_blueprints.runtime.shared.windows`` helper only provide a reducer and a
    writer; the helper implements the state protocol (empty state first, state between
    invocations, the final
    write, partial batch failures, early termination when the state passes 1 MB).

    Resources defined:
        * ``ResultsTable`` (unless ``results_table`` is given): string keys ``pk``, ``sk``.
        * ``Trigger``: the stream trigger, its function, failure queue and alarms.

    Default settings:
        * Mapping: the window given, batch size 100, ``TRIM_HORIZON``, partial batch
          responses (a failed record is retried with the state of the records before it),
          bisect on error, 3 retries, 24 hours maximum record age, parallelization factor 1
          (Lambda keeps window state per shard; lanes would split it).
        * Results table: on-demand, point-in-time recovery, AWS managed KMS encryption (or
          ``encryption_key``), retained on stack deletion.
        * Function (from ``handler``): as :class:`StreamTrigger`, with
          ``RESULTS_TABLE_NAME``, and ``PutItem`` as its only permission on the results
          table.

    Args:
        scope: The parent construct.
        construct_id: The construct id.
        window: Length of the tumbling windows, 1-900 s in whole seconds.
        table: A DynamoDB table with a stream, the source. Give this or ``stream``.
        stream: A Kinesis data stream, the source. Give this, ``consumer`` or ``table``.
        consumer: An enhanced fan-out consumer to read through (e.g. from
            ``KinesisFanOut.reserve(..., enhanced_fan_out=True)``); its stream is the
            source, so ``stream`` may be left out.
        handler: ``<module>.<function>`` of ``code`` (your reducer, typically built on
            ``lambda_blueprints.runtime.shared.windows``), or with no code one of the
            library's, e.g. ``lambda_blueprints.runtime.window_totals.handler.lambda_handler``.
            Or give ``function``.
        function: An existing function; its role gets the permissions, and a
            ``lambda_.Function`` receives ``RESULTS_TABLE_NAME`` and ``FAILURE_QUEUE_URL``
            (an imported function cannot: set them yourself).
        results_table: An existing table for the results (string keys ``pk``, ``sk``).
        environment: Extra environment variables of the built function.
        service_name: ``POWERTOOLS_SERVICE_NAME`` of the built function. Defaults to the
            construct id.
        batch_size: Most records per invocation, 1-10000. Defaults to 100.
        starting_position: ``TRIM_HORIZON`` or ``LATEST`` (or ``AT_TIMESTAMP`` with
            ``starting_position_timestamp``, Kinesis only). Defaults to ``TRIM_HORIZON``.
        starting_position_timestamp: Time to start reading at, with ``AT_TIMESTAMP``.
        retry_attempts: Retries of a failing batch, 0-10000. Defaults to 3.
        max_record_age: Age after which a record goes to the failure queue, 60 s-7 days.
            Defaults to 24 hours.
        memory_size: Memory of the built function in MiB. Defaults to 256.
        timeout: Timeout of the built function. Defaults to 30 seconds.
        log_retention: Retention of the built function's logs. Defaults to one month.
        code: Your code for the built function, as for :class:`StreamTrigger`: a folder
            that imports ``lambda_blueprints`` gets the runtime layer, so the window helper
            imports in Lambda as in tests. Defaults to the library's runtime.
        layers: As for :class:`BlueprintFunction`.
        runtime_helpers: As for :class:`BlueprintFunction`.
        log_level: As for :class:`BlueprintFunction`.
        architecture: As for :class:`BlueprintFunction`.
        reserved_concurrent_executions: As for :class:`BlueprintFunction`.
        stream_retention: Retention of the Kinesis stream (for the iterator-age alarm).
        encryption_key: Customer managed key for the results table, the failure queue and
            the function's logs and environment.
        alarm_topic: SNS topic for the alarms' notifications.
        results_table_removal_policy: What happens to a new results table when it leaves
            the stack. Defaults to ``RETAIN``.
        alarms: Create the trigger's alarms. Defaults to True; the ``metric_*`` methods
            give their metrics either way.

    Raises:
        ValueError: When a prop is outside its AWS limit, or no source is given.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        window: Duration,
        table: dynamodb.ITable | None = None,
        stream: kinesis.IStream | None = None,
        consumer: kinesis.IStreamConsumer | None = None,
        handler: str | None = None,
        function: lambda_.IFunction | None = None,
        results_table: dynamodb.ITable | None = None,
        environment: Mapping[str, str] | None = None,
        service_name: str | None = None,
        batch_size: int = 100,
        starting_position: lambda_.StartingPosition = lambda_.StartingPosition.TRIM_HORIZON,
        starting_position_timestamp: datetime | None = None,
        retry_attempts: int | None = _defaults.STREAM_RETRY_ATTEMPTS,
        max_record_age: Duration | None = _defaults.STREAM_MAX_RECORD_AGE,
        memory_size: int | None = None,
        timeout: Duration | None = None,
        log_retention: logs.RetentionDays | None = None,
        code: lambda_.Code | str | os.PathLike[str] | None = None,
        layers: Sequence[lambda_.ILayerVersion] | None = None,
        runtime_helpers: bool | None = None,
        log_level: str | None = None,
        architecture: lambda_.Architecture | None = None,
        reserved_concurrent_executions: int | None = None,
        stream_retention: Duration | None = None,
        encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
        results_table_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        alarms: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        check_duration_range(
            "window",
            window,
            1,
            900,
            fix="Lambda tumbling windows last at most 15 minutes.",
        )
        check_types(
            ("table", table, dynamodb.ITable),
            ("stream", stream, kinesis.IStream),
            ("consumer", consumer, kinesis.IStreamConsumer),
            ("function", function, lambda_.IFunction),
            ("results_table", results_table, dynamodb.ITable),
            ("encryption_key", encryption_key, kms.IKey),
            ("alarm_topic", alarm_topic, sns.ITopic),
        )
        if table is None and stream is None and consumer is None:
            raise ValueError(
                "table=None and stream=None: give the stream to aggregate, a DynamoDB table "
                "with a stream (table=), a Kinesis data stream (stream=) or an enhanced "
                "fan-out consumer of one (consumer=)."
            )

        #: The table the aggregates are written to.
        self.results_table: dynamodb.ITable = results_table or _defaults.pk_sk_table(
            self,
            "ResultsTable",
            encryption_key=encryption_key,
            removal_policy=results_table_removal_policy,
        )
        env = None
        if function is None:
            env = {"RESULTS_TABLE_NAME": self.results_table.table_name, **(environment or {})}

        #: The stream trigger with its tumbling window.
        self.trigger = StreamTrigger(
            self,
            "Trigger",
            table=table,
            stream=stream,
            consumer=consumer,
            function=function,
            handler=handler,
            service_name=service_name or (construct_id if function is None else None),
            environment=env if function is None else environment,
            memory_size=memory_size,
            timeout=timeout,
            log_retention=log_retention,
            code=code,
            layers=layers,
            runtime_helpers=runtime_helpers,
            log_level=log_level,
            architecture=architecture,
            reserved_concurrent_executions=reserved_concurrent_executions,
            batch_size=batch_size,
            starting_position=starting_position,
            starting_position_timestamp=starting_position_timestamp,
            report_batch_item_failures=True,
            bisect_batch_on_error=True,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            parallelization_factor=1,
            tumbling_window=window,
            stream_retention=stream_retention,
            encryption_key=encryption_key,
            alarm_topic=alarm_topic,
            alarms=alarms,
        )
        #: The aggregating function.
        self.function: lambda_.IFunction = self.trigger.function
        if function is not None and isinstance(function, lambda_.Function):
            # Your own function finds the results table as a built one does.
            function.add_environment("RESULTS_TABLE_NAME", self.results_table.table_name)
        #: Where batches that failed past their retries, and unusable records, are kept.
        self.dead_letter_queue: sqs.IQueue = self.trigger.dead_letter_queue
        #: The trigger's alarms, by role.
        self.alarms: dict[str, cloudwatch.Alarm] = self.trigger.alarms

        # Aggregates are only ever written whole: no read, update or delete permission.
        if self.function.role is not None:
            # Exact: Table.grant would add every index of the table too.
            self.function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["dynamodb:PutItem"], resources=[self.results_table.table_arn]
                )
            )
            if self.results_table.encryption_key is not None:
                self.results_table.encryption_key.grant(
                    self.function, "kms:Decrypt", "kms:GenerateDataKey"
                )

    def metric_errors(self, **options: Any) -> cloudwatch.Metric:
        """The function's ``Errors`` (see :meth:`StreamTrigger.metric_errors`)."""
        return self.trigger.metric_errors(**options)

    def metric_throttles(self, **options: Any) -> cloudwatch.Metric:
        """The function's ``Throttles`` (see :meth:`StreamTrigger.metric_throttles`)."""
        return self.trigger.metric_throttles(**options)

    def metric_iterator_age(self, **options: Any) -> cloudwatch.Metric:
        """The function's ``IteratorAge`` (see :meth:`StreamTrigger.metric_iterator_age`)."""
        return self.trigger.metric_iterator_age(**options)

    def metric_dead_letter_queue_depth(self, **options: Any) -> cloudwatch.Metric:
        """Records in the failure queue (:meth:`StreamTrigger.metric_dead_letter_queue_depth`)."""
        return self.trigger.metric_dead_letter_queue_depth(**options)

    def grant_read_results(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read the aggregates."""
        return self.results_table.grant_read_data(grantee)
