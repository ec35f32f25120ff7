"""A Kinesis data stream archived to S3 through Amazon Data Firehose, with a Lambda transform."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import (
    Annotations,
    ArnFormat,
    Aws,
    Duration,
    RemovalPolicy,
    Size,
    Stack,
    Token,
    Tokenization,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lambda_blueprints import _defaults
from lambda_blueprints._validation import check_duration_range, check_int_range

#: The ready-made transform: each record, a JSON object, becomes one compact JSON line.
DEFAULT_TRANSFORM_HANDLER = "lambda_blueprints.runtime.json_lines.handler.lambda_handler"
#: Delivered objects, by hour of arrival (UTC).
DEFAULT_PREFIX = "data/!{timestamp:yyyy/MM/dd/HH}/"
#: Records the transform failed land under ``errors/processing-failed/<hour>/``.
DEFAULT_ERROR_OUTPUT_PREFIX = "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
#: Delivery buffering: the seed's interval, and Firehose's own size default (before
#: compression), which at modest rates leaves the interval to decide.
DEFAULT_BUFFERING_INTERVAL = Duration.seconds(60)
DEFAULT_BUFFERING_SIZE = Size.mebibytes(5)
#: The transform's buffering: Firehose's defaults for a Lambda processor.
DEFAULT_PROCESSOR_BUFFER_SIZE = Size.mebibytes(1)
DEFAULT_PROCESSOR_BUFFER_INTERVAL = Duration.seconds(60)

MIB = 1024 * 1024
#: A prefix holds at most 1,024 characters (Firehose API), 512 once evaluated.
MAX_PREFIX_CHARS = 1024
MAX_EVALUATED_PREFIX_CHARS = 512
#: Firehose invokes the transform for at most 5 minutes.
MAX_TRANSFORM_TIMEOUT_SECONDS = 300
#: Compression formats of an S3 destination (``Snappy`` is spelled so by Firehose).
COMPRESSION_FORMATS = ("UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY")
#: EventBridge's own limits for delivering to a target, written out.
PROCESSOR_EVENT_MAX_AGE = Duration.hours(24)
PROCESSOR_EVENT_RETRY_ATTEMPTS = 185
#: Lambda's asynchronous retries of a failed processor invocation, and its event age bound.
PROCESSOR_ASYNC_RETRY_ATTEMPTS = 2
PROCESSOR_ASYNC_MAX_EVENT_AGE = Duration.hours(6)
#: The data freshness alarm never fires before this, whatever the buffering.
MIN_FRESHNESS_THRESHOLD_SECONDS = 300
#: What ``!{firehose:error-output-type}`` evaluates to here. Firehose's custom-prefix doc
#: lists processing-failed, elasticsearch-failed, splunk-failed and format-conversion-failed
#: (and dynamic partitioning has failures of its own): an S3 destination with a Lambda
#: processor, no record format conversion and no dynamic partitioning (this construct
#: configures neither) fails records in processing only.
ERROR_OUTPUT_TYPE = "processing-failed"
_ERROR_OUTPUT_TYPE_EXPRESSION = "!{firehose:error-output-type}"
_LOG_STREAM_NAME = "S3Delivery"
_EXPRESSION = re.compile(r"!\{([^{}:]*):([^{}]*)\}")
_STREAM_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,64}")
_Stream = firehose.CfnDeliveryStream


class FirehoseArchive(Construct):
    """A Kinesis data stream archived to S3 by Firehose, each record through a Lambda transform.

    Amazon Data Firehose reads the stream (``KinesisStreamAsSource``), hands buffered
    batches of records to a transform function, and writes what it returns to a bucket as
    compressed, encrypted objects under a time-based prefix; records the transform answers
    ``ProcessingFailed`` land, whole, under a separate error prefix. With a processor
    (``processor_handler`` or ``processor_function``), each object delivered under the data
    prefix invokes it through an EventBridge rule (the Alleycat all-time rankings). Handlers
    built on ``lambda_blueprints.runtime.shared.firehose.transform_records`` only provide a
    per-record function; the helper implements the transformation contract.

    Resources defined:
        * ``Bucket`` (unless ``bucket`` is given), with EventBridge notifications when there
          is a processor.
        * ``DeliveryStream``: the Firehose stream, ``Role`` its role, ``DeliveryLogGroup``
          and ``DeliveryLogStream`` its error log.
        * ``Transform``: ``Role``, ``LogGroup``, ``Function`` (when built from
          ``transform_handler``) and the function's ``ErrorsAlarm`` and ``ThrottlesAlarm``.
        * With a processor: ``Processor`` (``Role``, ``LogGroup``, ``Function`` and
          ``AsyncInvokeConfig`` when built, alarms), ``ProcessorRule``,
          ``DeadLetterQueue`` (and ``DeadLetterQueueKey`` without ``encryption_key``),
          ``DeadLetterQueueDepthAlarm``.
        * ``DataFreshnessAlarm``, ``DeliveryFailuresAlarm``, ``TransformFailuresAlarm``.
          No alarm at all with ``alarms=False``.

    Default settings:
        * Delivery: buffered up to 5 MiB or 60 seconds, whichever comes first (Firehose's
          own size default, the seed's interval); GZIP; objects under
          ``data/<yyyy/MM/dd/HH>/``, failed records under
          ``errors/processing-failed/<yyyy/MM/dd/HH>/``; errors logged to an explicit log
          group kept one month (encrypted with ``encryption_key`` when given).
        * Transform: ``lambda_blueprints.runtime.json_lines`` (one compact JSON line per
          record), invoked with batches of up to 1 MB or 60 seconds, 3 retries of a failed
          invocation;
          Python 3.14 on ARM64, 256 MiB, 30 s timeout, JSON logs, X-Ray, Powertools.
        * Bucket: private, TLS only, SSE-KMS with ``aws/s3`` (or ``encryption_key``, also
          given to Firehose as its ``KMSEncryptionConfig``), retained on stack deletion.
        * Processor: invoked for ``Object Created`` events of the data prefix only;
          EventBridge delivers for up to 24 hours and 185 attempts, Lambda retries a failed
          invocation twice within 6 hours (built processor), then the event goes to the
          dead-letter queue (SSE-KMS with ``encryption_key``, or with a key of its own:
          the AWS managed ``aws/sqs`` key cannot admit EventBridge, whose key policy cannot
          be changed; kept 14 days, alarm as soon as it holds a message).
        * Firehose role: exactly the stream's read actions, the bucket actions on the
          objects under the fixed leading folder of each prefix (``data/`` and
          ``errors/processing-failed/`` by default), ``lambda:InvokeFunction`` and
          ``lambda:GetFunctionConfiguration`` on the transform, ``logs:PutLogEvents`` on
          its log stream, and KMS use through S3 and Kinesis for customer managed keys.
        * Alarms: data older than twice the time records may spend buffered (the
          transform's interval plus the delivery interval), and at least 5 minutes;
          delivery to S3 failing for 5 minutes; a transform invocation attempt failing
          (within one minute, so it also fires for an attempt that a retry recovers: only
          when every retry fails do the records go to the processing-failed prefix); the
          transform's and processor's errors and throttles; dead-letter queue depth >= 1.
          Actions go to ``alarm_topic`` when given.

    Metrics: each alarm's metric comes from a ``metric_*`` method, for dashboards or alarms
    of your own (and with ``alarms=False``): :meth:`metric_data_freshness`,
    :meth:`metric_delivery_success`, :meth:`metric_transform_success`,
    :meth:`metric_transform_errors`, :meth:`metric_transform_throttles` and, with a
    processor, :meth:`metric_processor_errors`, :meth:`metric_processor_throttles`,
    :meth:`metric_dead_letter_queue_depth`. ``node.default_child`` is the
    ``DeliveryStream`` (:attr:`delivery_stream`), the escape hatch for its properties.

    Limits: a record holds at most 1,000 KiB before and after the transform; a transform
    response at most 6 MB (``transform_records`` answers the records that would not fit
    ``ProcessingFailed``); the transform runs for at most 5 minutes, and Firehose calls it
    with up to 3 MB of records. Firehose reads the stream as one standard, shared-throughput
    consumer: it shares the 2 MiB/s per shard and 5 reads a second per shard with the
    stream's other standard consumers (see
    :class:`~lambda_blueprints.constructs.kinesis_fan_out.KinesisFanOut`).

    Args:
        scope: The parent construct.
        construct_id: The construct id.
        stream: The Kinesis data stream to archive.
        transform_handler: Handler of the transform to build: ``<module>.<function>`` of
            ``transform_code``, or one of the library's. Defaults to
            ``lambda_blueprints.runtime.json_lines.handler.lambda_handler``.
        transform_function: An existing transform function instead (a function Firehose
            may invoke for up to 5 minutes). ``transform_handler`` must then be left as it is.
        transform_code: Your transform's code (a folder path, bundled with its
            dependencies, or any ``lambda_.Code``); give ``transform_handler`` with it.
            Defaults to the library's runtime.
        processor_handler: Handler of a function to invoke for each delivered object.
        processor_code: Your processor's code, as ``transform_code``.
        processor_function: An existing function instead. Its role, if any, gets read
            access to the delivered objects; its asynchronous retries are left as they are.
        bucket: An existing bucket for the objects. It gets EventBridge notifications when
            there is a processor and it is defined in this app. Defaults to a new bucket.
        prefix: Key prefix of the delivered objects, with Firehose's ``!{timestamp:...}``
            and ``!{firehose:random-string}`` expressions. It must start with a fixed
            folder, which limits the Firehose role's object access. Defaults to
            ``data/!{timestamp:yyyy/MM/dd/HH}/``.
        error_output_prefix: Key prefix of the records that failed, with
            ``!{firehose:error-output-type}`` (always ``processing-failed`` here: a Lambda
            transform, no format conversion, no dynamic partitioning) when it has an
            expression. It must start with a fixed folder or with that expression. None
            only for a ``prefix`` without expressions and no processor. Defaults to
            ``errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/``.
        buffering_interval: Longest time records are buffered before an object is
            written, 0-900 s. Defaults to 60 seconds.
        buffering_size: Most data buffered before an object is written (before
            compression), 1-128 MiB in whole MiB; a deploy-time value (token) only as
            ``Size.mebibytes(token)``. Defaults to 5 MiB.
        processor_buffer_size: Most data Firehose hands the transform at once,
            0.2-3 MB (``Size.kibibytes(256)`` is 0.25 MB); a deploy-time value (token) only
            as ``Size.mebibytes(token)``. Defaults to 1 MB.
        processor_buffer_interval: Longest time Firehose gathers records for the
            transform, 0-900 s. Defaults to 60 seconds.
        transform_retries: Retries of a failed transform invocation, 0-300. Defaults to 3.
        compression: Compression of the objects: GZIP, ZIP, SNAPPY, HADOOP_SNAPPY or
            UNCOMPRESSED. Defaults to GZIP.
        encryption_key: Customer managed key for the new bucket, the objects, the log
            groups, the built functions' environment and the dead-letter queue.
        delivery_stream_name: Name of the Firehose stream, 1-64 letters, digits, ``_``,
            ``.`` and ``-``. Defaults to a generated name.
        log_retention: Retention of the delivery log group and the built functions' logs.
            Defaults to one month.
        memory_size: Memory of the built functions in MiB, 128-10240. Defaults to 256.
        timeout: Timeout of the built functions: 1 s-5 min when the transform is built
            (Firehose waits at most 5 minutes), else 1 s-15 min. Defaults to 30 seconds.
        environment: Extra environment variables of the built functions.
        alarm_topic: SNS topic that receives the alarms' ALARM and OK notifications.
        removal_policy: What happens to the new bucket when it leaves the stack. Defaults
            to ``RETAIN``.
        server_access_logs_bucket: A bucket (same account and Region, default encryption
            SSE-S3) for the S3 server access logs of the new bucket: one line per request,
            every read and write. Only for a new bucket. Defaults to no server access logs:
            within this construct only the Firehose role writes to the bucket, and
            Firehose's delivery log records failed deliveries only.
        server_access_logs_prefix: Key prefix of those logs. Defaults to the bucket's
            unique id and a slash.
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
        stream: kinesis.IStream,
        transform_handler: str | None = DEFAULT_TRANSFORM_HANDLER,
        transform_function: lambda_.IFunction | None = None,
        transform_code: lambda_.Code | str | os.PathLike[str] | None = None,
        processor_handler: str | None = None,
        processor_function: lambda_.IFunction | None = None,
        processor_code: lambda_.Code | str | os.PathLike[str] | None = None,
        bucket: s3.IBucket | None = None,
        prefix: str = DEFAULT_PREFIX,
        error_output_prefix: str | None = DEFAULT_ERROR_OUTPUT_PREFIX,
        buffering_interval: Duration = DEFAULT_BUFFERING_INTERVAL,
        buffering_size: Size = DEFAULT_BUFFERING_SIZE,
        processor_buffer_size: Size = DEFAULT_PROCESSOR_BUFFER_SIZE,
        processor_buffer_interval: Duration = DEFAULT_PROCESSOR_BUFFER_INTERVAL,
        transform_retries: int = 3,
        compression: firehose.Compression = firehose.Compression.GZIP,
        encryption_key: kms.IKey | None = None,
        delivery_stream_name: str | None = None,
        log_retention: logs.RetentionDays = _defaults.LOG_RETENTION,
        memory_size: int | None = None,
        timeout: Duration | None = None,
        environment: Mapping[str, str] | None = None,
        alarm_topic: sns.ITopic | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        server_access_logs_bucket: s3.IBucket | None = None,
        server_access_logs_prefix: str | None = None,
        alarms: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        if bucket is not None and (
            server_access_logs_bucket is not None or server_access_logs_prefix is not None
        ):
            raise ValueError(
                "server_access_logs_bucket and server_access_logs_prefix configure the new "
                "bucket, but bucket was given: turn on server access logging on your bucket "
                "itself, or remove bucket."
            )
        has_processor = _check_functions(
            transform_handler=transform_handler,
            transform_function=transform_function,
            processor_handler=processor_handler,
            processor_function=processor_function,
            transform_code=transform_code,
            processor_code=processor_code,
            memory_size=memory_size,
            timeout=timeout,
            environment=environment,
        )
        delivery_seconds, size_mib, processor_mb, processor_seconds = _check_buffering(
            buffering_interval,
            buffering_size,
            processor_buffer_size,
            processor_buffer_interval,
            transform_retries,
        )
        _check_compression(compression)
        _check_prefixes(prefix, error_output_prefix, has_processor=has_processor)
        _check_delivery_stream_name(delivery_stream_name)

        #: Static part of ``prefix``: every delivered object's key starts with it.
        self.data_prefix: str = _static_part(prefix)
        #: Static part of the error prefix (``!{firehose:error-output-type}`` evaluated):
        #: every failed record's object key starts with it.
        self.error_prefix: str = (
            self.data_prefix
            if error_output_prefix is None
            else _static_part(_with_error_output_type(error_output_prefix))
        )
        self._alarm_topic = alarm_topic

        #: The bucket the objects are delivered to.
        self.bucket: s3.IBucket = bucket or _defaults.secure_bucket(
            self,
            "Bucket",
            encryption_key=encryption_key,
            removal_policy=removal_policy,
            server_access_logs_bucket=server_access_logs_bucket,
            server_access_logs_prefix=server_access_logs_prefix,
            access_logs_note="No server_access_logs_bucket was given, and S3 delivers server "
            "access logs only to another bucket of the same account and Region, which the "
            "construct leaves to its user. Within this construct only the Firehose role may "
            "write, under the data and error prefixes; Firehose's delivery log records failed "
            "deliveries, not every write. Pass server_access_logs_bucket, or log S3 data "
            "events in CloudTrail, to audit each read and write.",
        )
        if has_processor:
            self._enable_event_bridge()
        # Objects are encrypted with the construct's key when given, else with the bucket's.
        self._object_keys: list[kms.IKey] = _distinct(encryption_key, self.bucket.encryption_key)

        #: The built functions' log groups, by role (``transform``, ``processor``).
        self.log_groups: dict[str, logs.LogGroup] = {}
        transform_scope = Construct(self, "Transform")
        if transform_function is None:
            assert transform_handler is not None  # noqa: S101 - checked by _check_functions
            transform_function = self._build_function(
                transform_scope,
                "transform",
                handler=transform_handler,
                code=transform_code,
                service_name=f"{construct_id}Transform",
                description="Transforms the records Firehose delivers from the stream to S3.",
                memory_size=memory_size,
                timeout=timeout,
                environment=environment,
                log_retention=log_retention,
                encryption_key=encryption_key,
                dlq_reason="Firehose invokes the function synchronously and keeps every "
                "record of a failed invocation under the processing-failed prefix; an "
                "asynchronous dead-letter queue would never receive anything.",
            )
        #: The transform function.
        self.transform_function: lambda_.IFunction = transform_function

        if encryption_key is not None:
            _defaults.allow_logs_to_use(encryption_key)
        delivery_log_group = logs.LogGroup(
            self,
            "DeliveryLogGroup",
            retention=log_retention,
            encryption_key=encryption_key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        delivery_log_stream = logs.LogStream(
            self,
            "DeliveryLogStream",
            log_group=delivery_log_group,
            log_stream_name=_LOG_STREAM_NAME,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.log_groups["delivery"] = delivery_log_group

        #: The role Firehose assumes to read the stream, transform and deliver.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"),
            description="Firehose role: read the stream, invoke the transform, write the bucket",
        )
        self._grant_firehose(stream, delivery_log_group, delivery_log_stream)

        # The L1 resource rather than aws-cdk-lib's DeliveryStream: the L2 grants
        # read-write on the whole bucket, every Kinesis read action (ListStreams and
        # SubscribeToShard included) and invoke on every version of the transform; it
        # renders processor buffer sizes in whole MiB only (the range is 0.2-3 MB) and
        # leaves out transform_retries=0; and it creates its log group with a retention
        # of its own. Here every grant is written out for the exact resources.
        self.delivery_stream = firehose.CfnDeliveryStream(
            self,
            "DeliveryStream",
            delivery_stream_name=delivery_stream_name,
            delivery_stream_type="KinesisStreamAsSource",
            kinesis_stream_source_configuration=_Stream.KinesisStreamSourceConfigurationProperty(
                kinesis_stream_arn=stream.stream_arn, role_arn=self.role.role_arn
            ),
            extended_s3_destination_configuration=_Stream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=self.bucket.bucket_arn,
                role_arn=self.role.role_arn,
                prefix=prefix,
                error_output_prefix=error_output_prefix,
                buffering_hints=_Stream.BufferingHintsProperty(
                    interval_in_seconds=buffering_interval.to_seconds(),
                    size_in_m_bs=size_mib,
                ),
                compression_format=compression.value,
                # Without a key of the construct's, objects get the bucket's default
                # encryption (SSE-KMS): Firehose's NoEncryption only means "no key of mine".
                encryption_configuration=(
                    _Stream.EncryptionConfigurationProperty(
                        kms_encryption_config=_Stream.KMSEncryptionConfigProperty(
                            awskms_key_arn=encryption_key.key_arn
                        )
                    )
                    if encryption_key is not None
                    else None
                ),
                cloud_watch_logging_options=_Stream.CloudWatchLoggingOptionsProperty(
                    enabled=True,
                    log_group_name=delivery_log_group.log_group_name,
                    log_stream_name=delivery_log_stream.log_stream_name,
                ),
                processing_configuration=_Stream.ProcessingConfigurationProperty(
                    enabled=True,
                    processors=[
                        _Stream.ProcessorProperty(
                            type="Lambda",
                            parameters=[
                                _parameter("LambdaArn", transform_function.function_arn),
                                _parameter("NumberOfRetries", _number_text(transform_retries)),
                                _parameter("BufferSizeInMBs", processor_mb),
                                _parameter(
                                    "BufferIntervalInSeconds",
                                    _number_text(processor_buffer_interval.to_seconds()),
                                ),
                            ],
                        )
                    ],
                ),
                s3_backup_mode="Disabled",
            ),
        )
        # The escape hatch, set rather than by naming the child "Resource": a new id would
        # change the delivery stream's logical id, which CloudFormation replaces.
        self.node.default_child = self.delivery_stream
        # Firehose checks that it can read the stream when the delivery stream is created.
        self.delivery_stream.node.add_dependency(self.role)
        _defaults.acknowledge(
            self.delivery_stream,
            "AwsSolutions-KDF1",
            "A Firehose stream that reads a Kinesis data stream takes no server-side "
            "encryption of its own (DeliveryStreamEncryptionConfigurationInput is for Direct "
            "PUT sources only): records at rest are as encrypted as the source stream "
            "(KinesisFanOut streams always are; give an encrypted stream), and the "
            "delivered objects are encrypted by the bucket's SSE-KMS.",
        )

        #: The function invoked for each delivered object (None without a processor).
        self.processor_function: lambda_.IFunction | None = None
        #: The EventBridge rule that invokes the processor (None without a processor).
        self.processor_rule: events.Rule | None = None
        #: Where processor events that could not be handled are kept (None without one).
        self.dead_letter_queue: sqs.IQueue | None = None
        #: The alarms, by role: ``data_freshness``, ``delivery_failures``,
        #: ``transform_failures``, ``transform_errors``, ``transform_throttles`` and, with a
        #: processor, ``processor_errors``, ``processor_throttles``,
        #: ``dead_letter_queue_depth`` (empty with ``alarms=False``).
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        if alarms:
            self.alarms.update(self._delivery_alarms(delivery_seconds, processor_seconds))
            # The same metrics as metric_transform_errors() and metric_transform_throttles().
            for role, alarm in _defaults.function_alarms(
                transform_scope, transform_function, topic=alarm_topic
            ).items():
                self.alarms[f"transform_{role}"] = alarm

        if has_processor:
            self._add_processor(
                construct_id,
                handler=processor_handler,
                code=processor_code,
                function=processor_function,
                memory_size=memory_size,
                timeout=timeout,
                environment=environment,
                log_retention=log_retention,
                encryption_key=encryption_key,
                alarms=alarms,
            )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` list and read the delivered objects (the data prefix only)."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{self.data_prefix}*")],
        )
        grant = grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["s3:ListBucket"],
                resource_arns=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{self.data_prefix}*"]}},
            )
        )
        for key in self._object_keys:
            grant = grant.combine(_grant_key_via(key, grantee, "s3", "kms:Decrypt"))
        return grant

    def _enable_event_bridge(self) -> None:
        # Set on the bucket resource itself: Bucket(event_bridge_enabled=True) manages the
        # setting through the Custom::S3BucketNotifications resource and its own function.
        cfn_bucket = self.bucket.node.default_child
        if isinstance(cfn_bucket, s3.CfnBucket):
            cfn_bucket.add_property_override(
                "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
            )
            return
        Annotations.of(self).add_warning_v2(
            "lambda-blueprints:bucket-event-bridge",
            "bucket is not defined in this app, so its EventBridge notifications cannot be "
            "turned on here. Turn them on for the bucket, or the processor is never invoked.",
        )

    def _build_function(
        self,
        scope: Construct,
        role: str,
        *,
        handler: str,
        code: lambda_.Code | str | os.PathLike[str] | None,
        service_name: str,
        description: str,
        memory_size: int | None,
        timeout: Duration | None,
        environment: Mapping[str, str] | None,
        log_retention: logs.RetentionDays,
        encryption_key: kms.IKey | None,
        dlq_reason: str,
    ) -> lambda_.Function:
        function, log_group, _role = _defaults.build_function(
            scope,
            handler=handler,
            code=code,
            service_name=service_name,
            description=description,
            memory_size=memory_size or _defaults.MEMORY_SIZE_MIB,
            timeout=timeout or _defaults.TIMEOUT,
            environment=environment,
            log_retention=log_retention,
            encryption_key=encryption_key,
        )
        _defaults.acknowledge(function, "Serverless-LambdaDLQ", dlq_reason)
        self.log_groups[role] = log_group
        return function

    def _grant_firehose(
        self,
        stream: kinesis.IStream,
        log_group: logs.LogGroup,
        log_stream: logs.LogStream,
    ) -> None:
        """Write the Firehose role's policy: exact actions on the exact resources."""
        role = self.role
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:GetShardIterator",
                    "kinesis:GetRecords",
                    "kinesis:ListShards",
                ],
                resources=[stream.stream_arn],
            )
        )
        if stream.encryption_key is not None:
            _grant_key_via(stream.encryption_key, role, "kinesis", "kms:Decrypt")
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[self.bucket.bucket_arn],
            )
        )
        object_arns = [
            self.bucket.arn_for_objects(f"{static}*")
            for static in dict.fromkeys((self.data_prefix, self.error_prefix))
        ]
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                resources=object_arns,
            )
        )
        for arn in object_arns:
            _defaults.acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{_defaults.nag_form(Stack.of(self).resolve(arn))}]",
                "Firehose names each object it writes (arrival time, stream version and a "
                "random suffix), so no object ARN can be listed in advance; the grant covers "
                "the objects under the fixed leading folders of the construct's data and error "
                "prefixes only (a prefix without one is refused).",
            )
        for key in self._object_keys:
            _grant_key_via(key, role, "s3", "kms:Decrypt", "kms:GenerateDataKey")
        function_arn = self.transform_function.function_arn
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
                # Firehose invokes the ARN it is given, or its $LATEST version.
                resources=[function_arn, f"{function_arn}:$LATEST"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:PutLogEvents"],
                resources=[
                    Stack.of(self).format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=(
                            f"{log_group.log_group_name}:log-stream:{log_stream.log_stream_name}"
                        ),
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )

    def _firehose_metric(
        self, name: str, period: Duration | None, statistic: str
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/Firehose",
            metric_name=name,
            dimensions_map={"DeliveryStreamName": self.delivery_stream.ref},
            statistic=statistic,
            period=period or Duration.minutes(1),
        )

    def metric_data_freshness(
        self, *, period: Duration | None = None, statistic: str = "Maximum"
    ) -> cloudwatch.Metric:
        """Age of the oldest record not yet in S3 (``DeliveryToS3.DataFreshness``, seconds).

        The ``data_freshness`` alarm's metric (1-minute maxima unless told otherwise).
        """
        return self._firehose_metric("DeliveryToS3.DataFreshness", period, statistic)

    def metric_delivery_success(
        self, *, period: Duration | None = None, statistic: str = "Minimum"
    ) -> cloudwatch.Metric:
        """Whether writes to the bucket succeed (``DeliveryToS3.Success``, 0 to 1).

        The ``delivery_failures`` alarm's metric: it fires when the 1-minute minimum stays
        below 1 for 5 minutes.
        """
        return self._firehose_metric("DeliveryToS3.Success", period, statistic)

    def metric_transform_success(
        self, *, period: Duration | None = None, statistic: str = "Minimum"
    ) -> cloudwatch.Metric:
        """Whether transform invocations succeed (``ExecuteProcessing.Success``, 0 to 1).

        The ``transform_failures`` alarm's metric: it fires when a 1-minute minimum is
        below 1, i.e. an invocation attempt failed.
        """
        return self._firehose_metric("ExecuteProcessing.Success", period, statistic)

    def metric_transform_errors(
        self, *, period: Duration | None = None, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """The transform function's ``Errors``, the ``transform_errors`` alarm's metric."""
        return self.transform_function.metric_errors(
            period=period or Duration.minutes(1), statistic=statistic
        )

    def metric_transform_throttles(
        self, *, period: Duration | None = None, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """The transform function's ``Throttles``, the ``transform_throttles`` alarm's metric."""
        return self.transform_function.metric_throttles(
            period=period or Duration.minutes(1), statistic=statistic
        )

    def metric_processor_errors(
        self, *, period: Duration | None = None, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """The processor's ``Errors``, the ``processor_errors`` alarm's metric.

        Raises:
            ValueError: When the archive has no processor.
        """
        return self._processor("metric_processor_errors").metric_errors(
            period=period or Duration.minutes(1), statistic=statistic
        )

    def metric_processor_throttles(
        self, *, period: Duration | None = None, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """The processor's ``Throttles``, the ``processor_throttles`` alarm's metric.

        Raises:
            ValueError: When the archive has no processor.
        """
        return self._processor("metric_processor_throttles").metric_throttles(
            period=period or Duration.minutes(1), statistic=statistic
        )

    def metric_dead_letter_queue_depth(
        self, *, period: Duration | None = None, statistic: str = "Maximum"
    ) -> cloudwatch.Metric:
        """Processor events kept in the dead-letter queue, waiting to be replayed.

        ``ApproximateNumberOfMessagesVisible``, the ``dead_letter_queue_depth`` alarm's metric.

        Raises:
            ValueError: When the archive has no processor (and so no dead-letter queue).
        """
        if self.dead_letter_queue is None:
            raise ValueError(self._no_processor("metric_dead_letter_queue_depth"))
        return self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=period or Duration.minutes(1), statistic=statistic
        )

    def _processor(self, method: str) -> lambda_.IFunction:
        if self.processor_function is None:
            raise ValueError(self._no_processor(method))
        return self.processor_function

    @staticmethod
    def _no_processor(method: str) -> str:
        return (
            f"{method}(): this archive has no processor. Give processor_handler or "
            "processor_function for a processor and its alarms."
        )

    def _delivery_alarms(
        self, delivery_seconds: int, processor_seconds: int
    ) -> dict[str, cloudwatch.Alarm]:
        # Twice the time records may spend in the two buffers: past it, delivery is late.
        buffered = max(delivery_seconds, 0) + max(processor_seconds, 0)
        threshold = max(MIN_FRESHNESS_THRESHOLD_SECONDS, 2 * buffered)
        alarms = {
            "data_freshness": cloudwatch.Alarm(
                self,
                "DataFreshnessAlarm",
                alarm_description="Records wait in Firehose longer than the buffering "
                "explains: the transform or delivery to S3 falls behind the stream.",
                metric=self.metric_data_freshness(),
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            "delivery_failures": cloudwatch.Alarm(
                self,
                "DeliveryFailuresAlarm",
                alarm_description="Firehose could not write to the bucket for 5 minutes; it "
                "retries for 24 hours, then the data is lost.",
                metric=self.metric_delivery_success(),
                threshold=1,
                evaluation_periods=5,
                datapoints_to_alarm=5,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            # One period: each batch that reaches the processing-failed prefix had failed
            # attempts, so this alarm fires for every one of them; an alarm that waits for
            # failures over several periods stays silent when a batch's attempts all fail
            # within fewer. The price, a recovered attempt firing it too, is stated in the
            # description.
            "transform_failures": cloudwatch.Alarm(
                self,
                "TransformFailuresAlarm",
                alarm_description="A transform invocation attempt failed (function error, "
                "timeout, throttle or a response that breaks the transformation contract). "
                "Firehose retries the invocation (transform_retries); if a retry succeeds "
                "nothing is lost, and only when every retry fails do the batch's records go, "
                "whole, to the processing-failed prefix. Check the transform's log and that "
                "prefix.",
                metric=self.metric_transform_success(),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        }
        return {
            key: _defaults.add_alarm_action(alarm, self._alarm_topic)
            for key, alarm in alarms.items()
        }

    def _add_processor(
        self,
        construct_id: str,
        *,
        handler: str | None,
        code: lambda_.Code | str | os.PathLike[str] | None,
        function: lambda_.IFunction | None,
        memory_size: int | None,
        timeout: Duration | None,
        environment: Mapping[str, str] | None,
        log_retention: logs.RetentionDays,
        encryption_key: kms.IKey | None,
        alarms: bool,
    ) -> None:
        processor_scope = Construct(self, "Processor")
        # A key of the queue's own when none is given: EventBridge sends to the queue as
        # the events service, which the AWS managed aws/sqs key policy does not admit and
        # which cannot be added to it.
        queue_key = encryption_key or kms.Key(
            self,
            "DeadLetterQueueKey",
            description="Encrypts the dead-letter queue of the archive's processor",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        queue = _defaults.failure_queue(self, "DeadLetterQueue", encryption_key=queue_key)
        self.dead_letter_queue = queue
        self._allow_event_bridge_to_use(queue_key)

        built = function is None
        if function is None:
            assert handler is not None  # noqa: S101 - checked by _check_functions
            function = self._build_function(
                processor_scope,
                "processor",
                handler=handler,
                code=code,
                service_name=f"{construct_id}Processor",
                description="Processes each object Firehose delivers to the archive bucket.",
                memory_size=memory_size,
                timeout=timeout,
                environment=environment,
                log_retention=log_retention,
                encryption_key=encryption_key,
                dlq_reason="EventBridge invokes the function asynchronously; invocations that "
                "fail after Lambda's retries go to the on-failure destination of its "
                "AsyncInvokeConfig (the dead-letter queue), which records the error with the "
                "event, and events EventBridge cannot deliver go to the same queue.",
            )
        self.processor_function = function

        if function.role is not None:
            objects = self.bucket.arn_for_objects(f"{self.data_prefix}*")
            iam.Grant.add_to_principal(
                grantee=function, actions=["s3:GetObject"], resource_arns=[objects]
            )
            for key in self._object_keys:
                _grant_key_via(key, function, "s3", "kms:Decrypt")
            _defaults.acknowledge(
                function.role,
                f"AwsSolutions-IAM5[Resource::{_defaults.nag_form(Stack.of(self).resolve(objects))}]",
                "The processor reads whichever object Firehose delivered, named only at "
                "delivery time; s3:GetObject covers the data prefix and nothing else.",
            )
        else:
            Annotations.of(self).add_warning_v2(
                "lambda-blueprints:function-without-role",
                "processor_function was imported without a role, so it cannot be granted "
                "read access here. Give its role s3:GetObject on the data prefix, or import it "
                "with Function.from_function_attributes(role=...).",
            )
        if built:
            lambda_.EventInvokeConfig(
                processor_scope,
                "AsyncInvokeConfig",
                function=function,
                on_failure=_defaults.QueueOnFailure(queue),
                max_event_age=PROCESSOR_ASYNC_MAX_EVENT_AGE,
                retry_attempts=PROCESSOR_ASYNC_RETRY_ATTEMPTS,
            )

        self.processor_rule = events.Rule(
            self,
            "ProcessorRule",
            description="Invokes the archive's processor for each object delivered under the "
            "data prefix.",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [self.bucket.bucket_name]},
                    "object": {"key": [{"prefix": self.data_prefix}]},
                },
            ),
            targets=[
                targets.LambdaFunction(
                    function,
                    dead_letter_queue=queue,
                    max_event_age=PROCESSOR_EVENT_MAX_AGE,
                    retry_attempts=PROCESSOR_EVENT_RETRY_ATTEMPTS,
                )
            ],
        )

        if not alarms:
            return
        # The same metrics as metric_processor_errors() and metric_processor_throttles().
        for role, alarm in _defaults.function_alarms(
            processor_scope, function, topic=self._alarm_topic
        ).items():
            self.alarms[f"processor_{role}"] = alarm
        # The same metric as metric_dead_letter_queue_depth().
        self.alarms["dead_letter_queue_depth"] = _defaults.queue_depth_alarm(
            self,
            "DeadLetterQueueDepthAlarm",
            queue,
            topic=self._alarm_topic,
            description="Processor events could not be handled and were kept in the "
            "dead-letter queue; inspect and replay them.",
        )

    def _allow_event_bridge_to_use(self, key: kms.IKey) -> None:
        # ArnLike on the rules of this account and region rather than the rule's own ARN:
        # the rule's target names the queue, the queue names the key, and a key policy
        # naming the rule would close that cycle.
        result = key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeDeadLetters",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": (
                            f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:rule/*"
                        )
                    },
                },
            )
        )
        if not result.statement_added:
            Annotations.of(self).add_warning_v2(
                "lambda-blueprints:dead-letter-key-policy",
                "encryption_key was imported, so its key policy cannot be changed here. Let "
                "the events.amazonaws.com service principal use it (kms:GenerateDataKey, "
                "kms:Decrypt), or EventBridge cannot send to the dead-letter queue.",
            )


def _parameter(name: str, value: str) -> _Stream.ProcessorParameterProperty:
    return _Stream.ProcessorParameterProperty(parameter_name=name, parameter_value=value)


def _grant_key_via(
    key: kms.IKey, grantee: iam.IGrantable, service: str, *actions: str
) -> iam.Grant:
    """Grant ``actions`` on ``key``, for use through ``service`` of this region only."""
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=list(actions),
        resource_arns=[key.key_arn],
        conditions={"StringEquals": {"kms:ViaService": f"{service}.{Aws.REGION}.amazonaws.com"}},
    )


def _number_text(value: float) -> str:
    """A number as the string a processor parameter takes (tokens stay tokens)."""
    if Token.is_unresolved(value):
        return Tokenization.stringify_number(value)
    return f"{value:g}"


def _distinct(*keys: kms.IKey | None) -> list[kms.IKey]:
    found: list[kms.IKey] = []
    for key in keys:
        if key is not None and all(key.node.path != seen.node.path for seen in found):
            found.append(key)
    return found


def _static_part(prefix: str) -> str:
    """The part of a prefix before its first expression: every key starts with it."""
    return prefix.split("!{", 1)[0]


def _with_error_output_type(error_output_prefix: str) -> str:
    """An error prefix with ``!{firehose:error-output-type}`` evaluated (see ERROR_OUTPUT_TYPE)."""
    return error_output_prefix.replace(_ERROR_OUTPUT_TYPE_EXPRESSION, ERROR_OUTPUT_TYPE)


def _check_functions(
    *,
    transform_handler: str | None,
    transform_function: lambda_.IFunction | None,
    processor_handler: str | None,
    processor_function: lambda_.IFunction | None,
    memory_size: int | None,
    timeout: Duration | None,
    environment: Mapping[str, str] | None,
    transform_code: object = None,
    processor_code: object = None,
) -> bool:
    """Validate the function props; return whether there is a processor."""
    for role, code, function, handler in (
        ("transform", transform_code, transform_function, transform_handler),
        ("processor", processor_code, processor_function, processor_handler),
    ):
        if code is None:
            continue
        if function is not None:
            raise ValueError(
                f"{role}_code and {role}_function were both given: {role}_code builds a "
                f"function, {role}_function is one. Drop one of them."
            )
        if handler in (None, DEFAULT_TRANSFORM_HANDLER):
            raise ValueError(
                f"{role}_code was given with {role}_handler={handler!r}: name the handler of "
                f"your code, e.g. {role}_handler='handler.main' for def main in handler.py."
            )
    if transform_function is not None:
        if transform_handler not in (None, DEFAULT_TRANSFORM_HANDLER):
            raise ValueError(
                f"transform_handler={transform_handler!r} and transform_function were both "
                "given: the archive has one transform. Drop transform_handler to use the "
                "existing function, or transform_function to build one."
            )
    elif not transform_handler:
        raise ValueError(
            f"transform_handler={transform_handler!r} and no transform_function: Firehose "
            f"needs a transform. Keep the default ({DEFAULT_TRANSFORM_HANDLER!r}), give a "
            "handler path or an existing function."
        )
    if processor_handler is not None and processor_function is not None:
        raise ValueError(
            f"processor_handler={processor_handler!r} and processor_function were both "
            "given: the archive has one processor. Drop one of them."
        )
    if processor_handler is not None and not processor_handler:
        raise ValueError(
            "processor_handler='' is not a handler path: give e.g. "
            "'lambda_blueprints.runtime.<fn>.handler.lambda_handler', or None for no processor."
        )
    builds_transform = transform_function is None
    builds_processor = processor_handler is not None
    if not builds_transform and not builds_processor:
        given = [
            name
            for name, value in (
                ("memory_size", memory_size),
                ("timeout", timeout),
                ("environment", environment),
            )
            if value is not None
        ]
        if given:
            raise ValueError(
                f"{', '.join(given)} configure the functions this construct builds, but "
                "transform_function was given and there is no processor_handler. Configure "
                "your functions directly."
            )
    if memory_size is not None:
        check_int_range("memory_size", memory_size, 128, 10240, fix="Memory is set in MiB.")
    if timeout is not None:
        if builds_transform:
            check_duration_range(
                "timeout",
                timeout,
                1,
                MAX_TRANSFORM_TIMEOUT_SECONDS,
                fix="Firehose waits at most 5 minutes for the transform it invokes.",
            )
        else:
            check_duration_range(
                "timeout", timeout, 1, 900, fix="Lambda functions run for at most 15 minutes."
            )
    return processor_handler is not None or processor_function is not None


def _check_buffering(
    buffering_interval: Duration,
    buffering_size: Size,
    processor_buffer_size: Size,
    processor_buffer_interval: Duration,
    transform_retries: int,
) -> tuple[int, Any, str, int]:
    """Validate the buffering props; return the values the template takes.

    Returns:
        The delivery interval in seconds, the delivery size in MiB, the processor buffer
        size in MB as Firehose's parameter string, and the processor interval in seconds
        (-1 for tokens).
    """
    delivery_seconds = check_duration_range(
        "buffering_interval",
        buffering_interval,
        0,
        900,
        fix="Firehose buffers for at most 15 minutes before writing an object.",
    )
    size_mib: Any
    if buffering_size.is_unresolved():
        size_mib = _token_mebibytes("buffering_size", buffering_size)
    else:
        size_bytes = buffering_size.to_bytes()
        if size_bytes % MIB or not MIB <= size_bytes <= 128 * MIB:
            raise ValueError(
                f"buffering_size={size_bytes:,} bytes is out of range: allowed is 1 to 128 "
                "MiB in whole MiB. Use Size.mebibytes(n)."
            )
        size_mib = size_bytes // MIB
    if processor_buffer_size.is_unresolved():
        processor_mb = _number_text(
            _token_mebibytes("processor_buffer_size", processor_buffer_size)
        )
    else:
        processor_bytes = processor_buffer_size.to_bytes()
        if not 0.2 * MIB <= processor_bytes <= 3 * MIB:
            raise ValueError(
                f"processor_buffer_size={processor_bytes:,} bytes is out of range: allowed is "
                "0.2 to 3 MB (209,716 to 3,145,728 bytes). Use e.g. Size.kibibytes(256) or "
                "Size.mebibytes(1)."
            )
        processor_mb = f"{processor_bytes / MIB:.6g}"
    processor_seconds = check_duration_range(
        "processor_buffer_interval",
        processor_buffer_interval,
        0,
        900,
        fix="Firehose gathers records for the transform for at most 15 minutes.",
    )
    check_int_range(
        "transform_retries",
        transform_retries,
        0,
        300,
        fix="Firehose retries a failed transform invocation at most 300 times.",
    )
    return delivery_seconds, size_mib, processor_mb, processor_seconds


def _token_mebibytes(prop: str, size: Size) -> float:
    """A token size as the MiB number the template takes; the token itself, not a copy.

    Dividing a token-encoded number corrupts it (it is a marker, not a value), so only a
    size given in MiB, which ``to_mebibytes`` passes through unchanged, can be rendered.

    Raises:
        ValueError: For a token size in another unit.
    """
    try:
        return size.to_mebibytes()
    except RuntimeError as error:  # jsii's error for a token in another unit
        raise ValueError(
            f"{prop} is a deploy-time value (a token) given in a unit other than MiB, which "
            "cannot be converted before deployment: a token is allowed in MiB only. Use "
            "Size.mebibytes(<token>), e.g. Size.mebibytes(parameter.value_as_number)."
        ) from error


def _check_compression(compression: firehose.Compression) -> None:
    value = compression.value
    if Token.is_unresolved(value):
        return
    if value not in COMPRESSION_FORMATS:
        raise ValueError(
            f"compression={value!r} is not allowed here: an S3 destination takes "
            f"{', '.join(COMPRESSION_FORMATS)}. Use firehose.Compression.GZIP."
        )


def _check_prefixes(prefix: str, error_output_prefix: str | None, *, has_processor: bool) -> None:
    expressions = _check_prefix("prefix", prefix, error_output=False)
    # The Firehose role's object grant ends at the fixed leading folder of each prefix; an
    # empty one would grant every object of the bucket.
    if not Token.is_unresolved(prefix) and not _static_part(prefix):
        processor = (
            ", and the processor's rule could not tell delivered objects from failed records"
            if has_processor
            else ""
        )
        raise ValueError(
            f"prefix={prefix!r} has no fixed leading folder, so Firehose's write access could "
            f"not be limited to the archive's objects{processor}: allowed is a prefix that "
            f"starts with a folder. Start it with one, e.g. {DEFAULT_PREFIX!r}."
        )
    if error_output_prefix is None:
        if expressions:
            raise ValueError(
                f"prefix={prefix!r} has expressions, so Firehose needs an "
                "error_output_prefix. Give one with !{firehose:error-output-type}, e.g. "
                f"{DEFAULT_ERROR_OUTPUT_PREFIX!r}."
            )
        if has_processor:
            raise ValueError(
                "error_output_prefix=None puts failed records under the data prefix, where "
                "they would invoke the processor. Give an error_output_prefix outside "
                f"{prefix!r}, e.g. {DEFAULT_ERROR_OUTPUT_PREFIX!r}."
            )
        return
    error_expressions = _check_prefix("error_output_prefix", error_output_prefix, error_output=True)
    if error_expressions and ("firehose", "error-output-type") not in error_expressions:
        raise ValueError(
            f"error_output_prefix={error_output_prefix!r} has expressions but no "
            "!{firehose:error-output-type}, which Firehose requires. Add it, e.g. "
            f"{DEFAULT_ERROR_OUTPUT_PREFIX!r}."
        )
    if Token.is_unresolved(error_output_prefix):
        return
    errors = _static_part(_with_error_output_type(error_output_prefix))
    if not errors:
        raise ValueError(
            f"error_output_prefix={error_output_prefix!r} has no fixed leading folder, even "
            f"with !{{firehose:error-output-type}} as {ERROR_OUTPUT_TYPE!r}, so Firehose's "
            "write access could not be limited to the failed records: allowed is a prefix "
            "that starts with a folder or with !{firehose:error-output-type}. Start it with "
            f"one, e.g. {DEFAULT_ERROR_OUTPUT_PREFIX!r}."
        )
    if not has_processor or Token.is_unresolved(prefix):
        return
    data = _static_part(prefix)
    if errors.startswith(data):
        raise ValueError(
            f"error_output_prefix={error_output_prefix!r} lies under the data prefix "
            f"{data!r}: failed records would invoke the processor. Use a prefix outside it, "
            f"e.g. {DEFAULT_ERROR_OUTPUT_PREFIX!r}."
        )


def _check_prefix(prop: str, value: str, *, error_output: bool) -> list[tuple[str, str]]:
    """Validate one prefix; return its expressions as (namespace, value) pairs."""
    if Token.is_unresolved(value):
        return []
    if len(value) > MAX_PREFIX_CHARS:
        raise ValueError(
            f"{prop} has {len(value):,} characters; allowed is at most {MAX_PREFIX_CHARS:,}. "
            "Shorten it."
        )
    if value.startswith("/"):
        raise ValueError(
            f"{prop}={value!r} starts with '/', which makes an empty first folder in every "
            "key. Remove the leading slash."
        )
    expressions: list[tuple[str, str]] = _EXPRESSION.findall(value)
    static = _EXPRESSION.sub("", value)
    if "!{" in static:
        raise ValueError(
            f"{prop}={value!r} has '!{{' outside a complete !{{namespace:value}} expression. "
            "Close the expression or remove the '!{'."
        )
    if len(static) > MAX_EVALUATED_PREFIX_CHARS:
        raise ValueError(
            f"{prop} has {len(static):,} fixed characters; an evaluated prefix holds at most "
            f"{MAX_EVALUATED_PREFIX_CHARS}. Shorten it."
        )
    for namespace, argument in expressions:
        expression = f"!{{{namespace}:{argument}}}"
        if namespace == "timestamp":
            if not argument:
                raise ValueError(
                    f"{prop}={value!r}: {expression} has no format. Give a Java "
                    "DateTimeFormatter pattern, e.g. !{timestamp:yyyy/MM/dd}."
                )
        elif namespace == "firehose":
            if argument not in ("error-output-type", "random-string"):
                raise ValueError(
                    f"{prop}={value!r}: {expression} is not a firehose expression. Use "
                    "!{firehose:random-string} or, in error_output_prefix only, "
                    "!{firehose:error-output-type}."
                )
            if argument == "error-output-type" and not error_output:
                raise ValueError(
                    f"{prop}={value!r}: {expression} is allowed in error_output_prefix only. "
                    "Remove it from prefix."
                )
        elif namespace in ("partitionKeyFromQuery", "partitionKeyFromLambda"):
            raise ValueError(
                f"{prop}={value!r}: {expression} needs dynamic partitioning, which this "
                "construct does not configure. Use !{timestamp:...} expressions."
            )
        else:
            raise ValueError(
                f"{prop}={value!r}: {expression} has an unknown namespace {namespace!r}. Use "
                "timestamp or firehose."
            )
    return expressions


def _check_delivery_stream_name(name: str | None) -> None:
    if name is None or Token.is_unresolved(name):
        return
    if not _STREAM_NAME.fullmatch(name):
        raise ValueError(
            f"delivery_stream_name={name!r} is not allowed: a Firehose stream name has 1 to 64 "
            "letters, digits, '_', '.' and '-'. Rename it, or leave it out for a generated "
            "name."
        )
