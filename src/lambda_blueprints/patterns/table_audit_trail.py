"""The audit trail of a DynamoDB table, written by a trigger on the table's stream."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lambda_blueprints import _defaults
from lambda_blueprints._validation import check_duration_range
from lambda_blueprints.constructs.stream_trigger import StreamTrigger

_HANDLER = "lambda_blueprints.runtime.audit_trail.handler.lambda_handler"
_MAX_AUDIT_RETENTION_DAYS = 36_500


class TableAuditTrail(Construct):
    """The audit trail of a DynamoDB table: one audit item per change, from its stream.

    This is the database trigger of the DynamoDB Streams launch post, built to run in
    production: the trigger compares each record's old and new images and writes which
    attributes changed, from what to what, into an audit table. Writes are idempotent by
    the stream record's event id, failed records are reported individually, and records
    that can never be audited go whole to the failure queue with their reason.

    Audit items (table ``audit_table``, keys ``pk``/``sk``):
        * ``pk``: the item's table and key, e.g. ``users#{"userId":"u-1"}``.
        * ``sk``: the zero-padded stream sequence number and the event id, so one item's
          history sorts in the order its changes happened.
        * ``eventName`` (INSERT, MODIFY, REMOVE), ``changedAt`` (ISO 8601), ``actor``
          (``ttl`` for expiry deletions, else ``application``), ``changedAttributes`` and
          ``changes`` (per attribute: ``change``, ``old`` and ``new`` typed values).

    Resources defined:
        * ``AuditTable``: unless ``audit_table`` is given.
        * ``Trigger``: a :class:`StreamTrigger` with the audit handler, its failure queue
          and its alarms.

    Default settings:
        * Audit table: on-demand, point-in-time recovery, AWS managed KMS encryption (or
          ``encryption_key``), ``expiresAt`` time to live attribute, retained on stack
          deletion.
        * Trigger: as :class:`StreamTrigger` (batch 100, ``TRIM_HORIZON``, bisect on error,
          partial batch responses, 3 retries, 24 hours maximum record age).
        * The function may only ``PutItem`` on the audit table, read the source stream and
          send to the failure queue.

    Metrics: the trigger's alarms watch the metrics of :meth:`metric_errors`,
    :meth:`metric_throttles`, :meth:`metric_iterator_age` and
    :meth:`metric_dead_letter_queue_depth` (those of :class:`StreamTrigger`), which work
    with ``alarms=False`` too.

    Args:
        scope: The parent construct.
        construct_id: The construct id.
        table: The audited table. Its stream must have the ``NEW_AND_OLD_IMAGES`` view
            type; records of other view types go to the failure queue as ``MISSING_IMAGE``.
        audit_table: An existing table for the audit items, with string keys ``pk`` and
            ``sk``. Defaults to a new table.
        audit_retention: How long audit items are kept, 1 day-100 years, through DynamoDB
            time to live. Defaults to forever.
        batch_size: Most records per invocation, 1-10000. Defaults to 100.
        max_batching_window: How long to gather records before invoking, 0-300 s.
            Defaults to no window.
        retry_attempts: Retries of a failing batch, 0-10000. Defaults to 3.
        max_record_age: Age after which a record goes to the failure queue, 60 s-7 days.
            Defaults to 24 hours.
        memory_size: Memory of the function in MiB, 128-10240. Defaults to 256.
        timeout: Timeout of the function, 1 s-15 min. Defaults to 30 seconds.
        log_retention: Retention of the function's logs. Defaults to one month.
        encryption_key: Customer managed key for the new audit table, the failure queue and
            the function's logs and environment.
        alarm_topic: SNS topic for the alarms' notifications.
        audit_table_removal_policy: What happens to the new audit table when it leaves
            the stack. Defaults to ``RETAIN``.
        alarms: Create the trigger's alarms. Defaults to True; with False,
            :attr:`alarms` is empty and the ``metric_*`` methods give their metrics still.

    Raises:
        ValueError: When a prop is outside its AWS limit, or when the audit table is the
            audited table (each audit write would trigger another audit: an endless loop).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITable,
        audit_table: dynamodb.ITable | None = None,
        audit_retention: Duration | None = None,
        batch_size: int = 100,
        max_batching_window: Duration | None = None,
        retry_attempts: int | None = _defaults.STREAM_RETRY_ATTEMPTS,
        max_record_age: Duration | None = _defaults.STREAM_MAX_RECORD_AGE,
        memory_size: int | None = None,
        timeout: Duration | None = None,
        log_retention: logs.RetentionDays | None = None,
        encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
        audit_table_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        alarms: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        if audit_table is not None and audit_table is table:
            raise ValueError(
                "audit_table is the audited table: every audit write would appear on the "
                "table's stream and trigger another audit, without end. Use a separate table."
            )
        retention_days = 0
        if audit_retention is not None:
            check_duration_range(
                "audit_retention",
                audit_retention,
                86_400,
                _MAX_AUDIT_RETENTION_DAYS * 86_400,
                fix="Use None to keep audit items forever.",
            )
            retention_days = int(audit_retention.to_days(integral=False))
            if retention_days != audit_retention.to_days(integral=False):
                raise ValueError(
                    f"audit_retention={audit_retention.to_human_string()} is not a whole "
                    "number of days. Use Duration.days(n)."
                )

        #: The audited table.
        self.table = table
        #: The table that holds the audit items.
        self.audit_table: dynamodb.ITable = audit_table or _defaults.pk_sk_table(
            self,
            "AuditTable",
            time_to_live_attribute="expiresAt",
            encryption_key=encryption_key,
            removal_policy=audit_table_removal_policy,
        )

        #: The stream trigger that writes the audit items.
        self.trigger = StreamTrigger(
            self,
            "Trigger",
            table=table,
            handler=_HANDLER,
            service_name="table-audit-trail",
            environment={
                "AUDIT_TABLE_NAME": self.audit_table.table_name,
                "AUDIT_RETENTION_DAYS": str(retention_days),
            },
            memory_size=memory_size,
            timeout=timeout,
            log_retention=log_retention,
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            encryption_key=encryption_key,
            alarm_topic=alarm_topic,
            alarms=alarms,
        )
        #: The function that writes the audit items.
        self.function: lambda_.IFunction = self.trigger.function
        #: Where batches that failed past their retries, and poison records, are kept.
        self.dead_letter_queue: sqs.IQueue = self.trigger.dead_letter_queue
        #: The trigger's alarms, by role (empty with ``alarms=False``).
        self.alarms: dict[str, cloudwatch.Alarm] = self.trigger.alarms

        # Audit items are only ever added: no update, delete or read permission.
        self.audit_table.grant(self.function, "dynamodb:PutItem")
        audit_key = self.audit_table.encryption_key
        if audit_key is not None:
            audit_key.grant(self.function, "kms:Decrypt", "kms:GenerateDataKey")

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

    def grant_read_audit(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read the audit items (queries of an item's history)."""
        return self.audit_table.grant_read_data(grantee)
