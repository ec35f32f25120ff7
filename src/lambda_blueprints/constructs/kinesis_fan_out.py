"""A Kinesis data stream sized for its load, with shared and enhanced fan-out consumers."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from aws_cdk import Annotations, Duration, Names, RemovalPolicy, Size, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lambda_blueprints import _defaults
from lambda_blueprints._validation import check_int_range, check_types
from lambda_blueprints.constructs.stream_trigger import StreamTrigger

if TYPE_CHECKING:
    from typing_extensions import Unpack

MIB = 1024 * 1024
GIB = 1024 * MIB
#: Per shard: writes of up to 1,000 records/s or 1 MiB/s, whichever comes first.
SHARD_WRITE_RECORDS_PER_SECOND = 1000
SHARD_WRITE_BYTES_PER_SECOND = MIB
#: Per shard: 2 MiB/s of reads, shared by every standard (polling) consumer...
SHARD_READ_BYTES_PER_SECOND = 2 * MIB
#: ...and at most 5 GetRecords calls a second; Lambda polls each shard once a second per
#: consumer, so at most 5 standard consumers fit.
MAX_SHARED_CONSUMERS = 5
#: Per stream: at most 20 registered (enhanced fan-out) consumers, each with its own
#: 2 MiB/s per shard.
MAX_ENHANCED_CONSUMERS = 20
#: RegisterStreamConsumer: "only 5 consumers can be created simultaneously"; a 6th while 5
#: are CREATING fails with LimitExceededException, so registrations are queued 5 wide.
MAX_CONSUMERS_CREATING = 5
#: A record is at most 1 MiB (data and partition key).
MAX_RECORD_BYTES = MIB
#: CloudFormation's AWS::Kinesis::Stream ShardCount is 1 to 100,000 (resource schema).
MAX_SHARD_COUNT = 100_000
#: RetentionPeriodHours is a whole number of hours, 24 hours to 365 days.
MIN_RETENTION_HOURS = 24
MAX_RETENTION_HOURS = 365 * 24
#: Default shard quota per account and Region ("Quotas and limits", Kinesis Data Streams
#: Developer Guide): 20,000 in these Regions, 1,000 or 6,000 in the others. Adjustable;
#: one quota per account and Region, which the account's other streams use too.
LARGE_QUOTA_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
LARGE_REGION_SHARD_QUOTA = 20_000
SMALLEST_DEFAULT_SHARD_QUOTA = 1_000
#: On-demand write capacity ("Quotas and limits", Data stream throughput): a new on-demand
#: stream has 4 MB/s of writes and scales to at most 10 GB/s in LARGE_QUOTA_REGIONS, 200
#: MB/s in the others unless AWS Support raises it (to at most 10 GB/s); the
#: UpdateStreamWarmThroughput reference states the same ceiling as "10 GiBps". AWS writes
#: MB and GB here but MiB for the per-shard rate: reading them as MiB and GiB never rejects
#: a load AWS accepts. AWS documents no records/s figure per on-demand stream, so only
#: bytes are checked (each shard still takes at most 1,000 records/s).
ON_DEMAND_INITIAL_WRITE_BYTES_PER_SECOND = 4 * MIB
ON_DEMAND_MAX_WRITE_BYTES_PER_SECOND = 10 * GIB
ON_DEMAND_SMALL_REGION_MAX_WRITE_BYTES_PER_SECOND = 200 * MIB


@dataclass(frozen=True)
class StreamCapacity:
    """What a stream can carry against what it is expected to carry.

    Attributes:
        shards: Provisioned shards (None in on-demand mode).
        records_per_second: Declared write load.
        record_bytes: Declared average record size.
        shared_consumers: Standard consumers, reading from the shared 2 MiB/s per shard.
        enhanced_consumers: Enhanced fan-out consumers, each with 2 MiB/s per shard.
    """

    shards: int | None
    records_per_second: int | None
    record_bytes: int | None
    shared_consumers: int = 0
    enhanced_consumers: int = 0

    @property
    def write_bytes_per_second(self) -> int | None:
        """Declared write volume."""
        if self.records_per_second is None or self.record_bytes is None:
            return None
        return self.records_per_second * self.record_bytes

    @property
    def write_utilization(self) -> float | None:
        """Share of the write capacity the declared load uses (records or bytes)."""
        if self.shards is None or self.write_bytes_per_second is None:
            return None
        assert self.records_per_second is not None  # noqa: S101 - set with the bytes
        return max(
            self.records_per_second / (self.shards * SHARD_WRITE_RECORDS_PER_SECOND),
            self.write_bytes_per_second / (self.shards * SHARD_WRITE_BYTES_PER_SECOND),
        )

    @property
    def shared_read_utilization(self) -> float | None:
        """Share of the shared read capacity the standard consumers use together."""
        if self.shards is None or self.write_bytes_per_second is None:
            return None
        demand = self.write_bytes_per_second * self.shared_consumers
        return demand / (self.shards * SHARD_READ_BYTES_PER_SECOND)

    def describe(self) -> str:
        """A human summary, for logs and docs."""
        if self.shards is None:
            mode = (
                "on-demand: a new stream writes up to "
                f"{ON_DEMAND_INITIAL_WRITE_BYTES_PER_SECOND // MIB} MiB/s, then takes up to "
                "double its peak of the previous 30 days, to at most "
                f"{ON_DEMAND_MAX_WRITE_BYTES_PER_SECOND // GIB} GiB/s of writes in "
                f"{', '.join(LARGE_QUOTA_REGIONS)} "
                f"({ON_DEMAND_SMALL_REGION_MAX_WRITE_BYTES_PER_SECOND // MIB} MiB/s by default "
                "elsewhere)"
            )
        else:
            mode = (
                f"{self.shards:,} shard(s): writes up to "
                f"{self.shards * SHARD_WRITE_RECORDS_PER_SECOND:,} records/s or "
                f"{self.shards:,} MiB/s; shared reads up to {2 * self.shards:,} MiB/s"
            )
        lines = [mode]
        if self.write_bytes_per_second is not None:
            lines.append(
                f"declared load: {self.records_per_second:,} records/s x "
                f"{self.record_bytes:,} B = {self.write_bytes_per_second / MIB:.2f} MiB/s"
            )
        if self.write_utilization is not None:
            lines.append(f"write utilization: {self.write_utilization:.0%}")
        elif self.shards is None and self.write_bytes_per_second is not None:
            initial = self.write_bytes_per_second / ON_DEMAND_INITIAL_WRITE_BYTES_PER_SECOND
            lines.append(f"share of the initial on-demand write capacity: {initial:.0%}")
        if self.shared_read_utilization is not None:
            lines.append(
                f"shared read utilization ({self.shared_consumers} standard consumer(s)): "
                f"{self.shared_read_utilization:.0%}"
            )
        lines.append(
            f"enhanced fan-out consumers: {self.enhanced_consumers} of "
            f"{MAX_ENHANCED_CONSUMERS}, each 2 MiB/s per shard"
        )
        return "\n".join(lines)


def shards_for(records_per_second: int, record_bytes: int) -> int:
    """The fewest shards that take ``records_per_second`` records of ``record_bytes``."""
    return max(
        1,
        math.ceil(records_per_second / SHARD_WRITE_RECORDS_PER_SECOND),
        math.ceil(records_per_second * record_bytes / SHARD_WRITE_BYTES_PER_SECOND),
    )


class ConsumerOptions(TypedDict, total=False):
    """The :class:`StreamTrigger` props :meth:`KinesisFanOut.add_consumer` passes on.

    The stream, the consumer, the stream's retention and the alarm topic are the fan-out's
    own; everything else is the trigger's (see :class:`StreamTrigger` for each).
    """

    function: lambda_.IFunction | None
    handler: str | None
    service_name: str | None
    environment: Mapping[str, str] | None
    memory_size: int | None
    timeout: Duration | None
    log_retention: logs.RetentionDays | None
    code: lambda_.Code | str | os.PathLike[str] | None
    layers: Sequence[lambda_.ILayerVersion] | None
    runtime_helpers: bool | None
    log_level: str | None
    architecture: lambda_.Architecture | None
    reserved_concurrent_executions: int | None
    batch_size: int
    max_batching_window: Duration | None
    starting_position: lambda_.StartingPosition
    starting_position_timestamp: datetime | None
    filters: Sequence[Mapping[str, Any]] | None
    bisect_batch_on_error: bool
    report_batch_item_failures: bool
    retry_attempts: int | None
    max_record_age: Duration | None
    parallelization_factor: int
    tumbling_window: Duration | None
    metrics: bool
    enabled: bool
    on_failure_queue: sqs.IQueue | None
    encryption_key: kms.IKey | None
    iterator_age_alarm_threshold: Duration | None
    alarms: bool


class KinesisFanOut(Construct):
    """A Kinesis data stream sized for its load, and the functions that consume it.

    Give the expected load (``records_per_second`` and ``average_record_size``) and the
    stream gets the fewest shards that carry it (1,000 records/s or 1 MiB/s of writes per
    shard); or give ``shard_count`` and it is checked against the load; or choose
    ``on_demand``, and the load is checked against the on-demand maximum (10 GiB/s of
    writes). Consumers are added with :meth:`add_consumer`: standard consumers poll and
    share 2 MiB/s of reads per shard (at most 5 of them), enhanced fan-out consumers each
    get their own 2 MiB/s per shard pushed to them (at most 20 per stream). A load the
    stream cannot carry is a synth-time error with the numbers; :attr:`capacity` summarizes
    what the stream carries.

    Or give an existing ``stream`` (say its ``shard_count`` or ``on_demand``, and its
    ``retention``, for the same checks and alarms): the construct then adds consumers,
    capacity checks and alarms to it and creates no stream.

    Resources defined:
        * ``Stream``: the data stream (unless ``stream`` is given).
        * For each consumer: a :class:`StreamTrigger`.
        * For each enhanced fan-out consumer (:meth:`add_consumer` or :meth:`reserve`):
          ``<id>Registration/Consumer``, the registered consumer, and
          ``<id>Registration/LagAlarm``.
        * ``IteratorAgeAlarm``, ``WriteThrottleAlarm``, ``ReadThrottleAlarm``.

    Default settings:
        * Stream: KMS encryption with the AWS managed key (or ``encryption_key``), 24 hours
          retention, retained when the stack is deleted.
        * Shards: 1 to 100,000 (CloudFormation's range), whether given or derived from the
          load. Above the default account shard quota (1,000 shards, the lowest of any
          Region; 20,000 when the stack's Region is us-east-1, us-west-2 or eu-west-1) a
          synth-time warning says to raise the quota before deploying.
        * On-demand: a declared load above 10 GiB/s of writes is an error. A load above
          the 4 MiB/s a new on-demand stream starts with, or above the 200 MiB/s maximum
          outside us-east-1, us-west-2 and eu-west-1, is a synth-time warning.
        * Enhanced fan-out consumers: registered at most 5 at a time (each one after the
          consumer registered 5 before it), as RegisterStreamConsumer requires.
        * Alarms: the oldest unread record older than half the retention (standard
          consumers, ``GetRecords.IteratorAgeMilliseconds``); for each enhanced fan-out
          consumer, its ``SubscribeToShardEvent.MillisBehindLatest`` (Maximum, 1 minute)
          at half the retention; writes or reads throttled in 5 consecutive minutes; all
          treat missing data as not breaching. Each consumer added with
          :meth:`add_consumer` also has its own StreamTrigger alarms (errors, throttles,
          iterator age, failures).

    Args:
        scope: The parent construct.
        construct_id: The construct id.
        records_per_second: Expected peak writes, records per second.
        average_record_size: Expected average record size (data and partition key), at
            most 1 MiB.
        shard_count: Provisioned shards, 1 to 100,000; checked against the declared load.
            Defaults to the fewest that carry it.
        on_demand: On-demand capacity mode instead of provisioned shards.
        retention: How long records stay, a whole number of hours from 24 hours to 365
            days. Defaults to 24 hours.
        encryption_key: Customer managed key for the stream.
        alarm_topic: SNS topic for every alarm, the consumers' included.
        removal_policy: What happens to the stream when it leaves the stack. Defaults to
            ``RETAIN``.
        stream: An existing stream to fan out instead of a new one. ``encryption_key``
            and ``removal_policy`` belong to the stream then; ``shard_count``,
            ``on_demand`` and ``retention`` describe it. Without ``shard_count`` or
            ``on_demand``, read capacity is not checked against the load.
        alarms: Create the stream's alarms and the consumer-lag alarms. Defaults to True;
            with False, :attr:`alarms` is empty (the ``metric_*`` methods still give the
            metrics). Consumers of :meth:`add_consumer` take ``alarms`` too, and default to
            this.

    Raises:
        ValueError: When the stream cannot carry the declared load, or props are out of
            range or contradict each other.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        records_per_second: int | None = None,
        average_record_size: Size | None = None,
        shard_count: int | None = None,
        on_demand: bool = False,
        retention: Duration = _defaults.KINESIS_DEFAULT_RETENTION,
        encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        stream: kinesis.IStream | None = None,
        alarms: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self._alarms_on = alarms
        check_types(
            ("stream", stream, kinesis.IStream),
            ("average_record_size", average_record_size, Size),
            ("retention", retention, Duration),
            ("encryption_key", encryption_key, kms.IKey),
            ("alarm_topic", alarm_topic, sns.ITopic),
        )
        if stream is not None and encryption_key is not None:
            raise ValueError(
                "encryption_key applies to the stream this construct creates, but an existing "
                "stream was given: its encryption is its own. Remove encryption_key."
            )
        record_bytes = _check_load(records_per_second, average_record_size)
        _check_retention(retention)
        if on_demand and shard_count is not None:
            raise ValueError(
                f"shard_count={shard_count} and on_demand=True: an on-demand stream has no "
                "fixed shard count. Remove one of them."
            )
        region = Stack.of(self).region
        if on_demand:
            if records_per_second is not None and record_bytes is not None:
                self._check_on_demand_load(records_per_second, record_bytes, region)
        elif stream is None or shard_count is not None:
            shard_count = _check_shards(shard_count, records_per_second, record_bytes)
            self._warn_above_shard_quota(shard_count, region)
        self._retention = retention
        self._alarm_topic = alarm_topic
        self._shared = 0
        self._registrations: list[kinesis.CfnStreamConsumer] = []
        self._consumer_names: dict[str, str] = {}
        self._records_per_second = records_per_second
        self._record_bytes = record_bytes
        self._shards = None if on_demand else shard_count

        if stream is None:
            stream = kinesis.Stream(
                self,
                "Stream",
                shard_count=None if on_demand else shard_count,
                stream_mode=kinesis.StreamMode.ON_DEMAND
                if on_demand
                else kinesis.StreamMode.PROVISIONED,
                encryption=(
                    kinesis.StreamEncryption.KMS
                    if encryption_key
                    else kinesis.StreamEncryption.MANAGED
                ),
                encryption_key=encryption_key,
                retention_period=retention,
                removal_policy=removal_policy,
            )
            if encryption_key is not None:
                _defaults.acknowledge(
                    stream,
                    "AwsSolutions-KDS3",
                    "The stream is encrypted with the customer managed key the user gave "
                    "(encryption_key): their key policy and rotation, not the aws/kinesis key.",
                )
        #: The data stream (the one given, or ``Stream``).
        self.stream: kinesis.IStream = stream
        if stream.node.scope is self:
            self.node.default_child = stream  # the stream this construct created
        #: The consumers added with :meth:`add_consumer`, by construct id.
        self.consumers: dict[str, StreamTrigger] = {}
        #: The stream's alarms, by role: ``iterator_age``, ``write_throttles``,
        #: ``read_throttles``, and ``consumer_lag:<construct id>`` for each enhanced
        #: fan-out consumer.
        self.alarms: dict[str, cloudwatch.Alarm] = self._stream_alarms() if alarms else {}

    @property
    def retention(self) -> Duration:
        """How long the stream keeps records."""
        return self._retention

    @property
    def capacity(self) -> StreamCapacity:
        """What the stream carries: shards, declared load, utilization, consumers."""
        return StreamCapacity(
            shards=self._shards,
            records_per_second=self._records_per_second,
            record_bytes=self._record_bytes,
            shared_consumers=self._shared,
            enhanced_consumers=len(self._registrations),
        )

    def add_consumer(
        self,
        construct_id: str,
        *,
        enhanced_fan_out: bool = False,
        **trigger_props: Unpack[ConsumerOptions],
    ) -> StreamTrigger:
        """Add a function that consumes the stream; return its :class:`StreamTrigger`.

        Args:
            construct_id: The consumer's construct id.
            enhanced_fan_out: Register an enhanced fan-out consumer (dedicated 2 MiB/s per
                shard, records pushed) instead of polling the shared throughput; it gets a
                lag alarm (see :meth:`reserve`).
            **trigger_props: :class:`StreamTrigger` props (:class:`ConsumerOptions`:
                ``handler`` or ``function``, batch size, retries, window...). The stream,
                its retention and the alarm topic are set here.

        Raises:
            ValueError: When the stream has no room for another consumer of that kind.
        """
        unknown = sorted(set(trigger_props) - set(ConsumerOptions.__annotations__))
        if unknown:
            raise TypeError(
                f"add_consumer({construct_id!r}) got {', '.join(unknown)}, which "
                "StreamTrigger does not take here; the consumer options are "
                f"{', '.join(sorted(ConsumerOptions.__annotations__))}."
            )
        consumer = self.reserve(construct_id, enhanced_fan_out=enhanced_fan_out)
        trigger_props.setdefault("alarms", self._alarms_on)
        trigger = StreamTrigger(
            self,
            construct_id,
            stream=self.stream,
            consumer=consumer,
            stream_retention=self._retention,
            alarm_topic=self._alarm_topic,
            **trigger_props,
        )
        self.consumers[construct_id] = trigger
        return trigger

    def reserve(
        self, construct_id: str, *, enhanced_fan_out: bool = False
    ) -> kinesis.StreamConsumer | None:
        """Count a consumer built elsewhere against the stream's read capacity.

        For readers that :meth:`add_consumer` does not build: a
        ``TumblingWindowAggregator``, a Firehose delivery stream (a standard consumer),
        Kinesis Data Analytics. With ``enhanced_fan_out`` the consumer is registered and
        returned, to hand to the reader (``consumer=``), and alarmed: its
        ``SubscribeToShardEvent.MillisBehindLatest`` at half the retention, in
        :attr:`alarms` as ``consumer_lag:<construct_id>``.

        Raises:
            ValueError: When the stream has no room for another consumer of that kind.
        """
        if enhanced_fan_out:
            count = len(self._registrations) + 1
            if count > MAX_ENHANCED_CONSUMERS:
                raise ValueError(
                    f"add_consumer({construct_id!r}, enhanced_fan_out=True) would make "
                    f"{count} enhanced fan-out consumers; a stream allows at most "
                    f"{MAX_ENHANCED_CONSUMERS}."
                )
            consumer_scope = Construct(self, f"{construct_id}Registration")
            consumer_name = Names.unique_resource_name(consumer_scope, max_length=128)
            self._consumer_names[construct_id] = consumer_name
            consumer = kinesis.StreamConsumer(
                consumer_scope,
                "Consumer",
                stream=self.stream,
                stream_consumer_name=consumer_name,
            )
            registration = consumer.node.default_child
            assert isinstance(registration, kinesis.CfnStreamConsumer)  # noqa: S101
            if count > MAX_CONSUMERS_CREATING:
                # Each registration waits for the one 5 before it: every chain (n, n+5,
                # n+10...) has at most one CREATING, so at most 5 are, and 5 still run in
                # parallel rather than one after another.
                registration.node.add_dependency(
                    self._registrations[count - 1 - MAX_CONSUMERS_CREATING]
                )
            self._registrations.append(registration)
            if self._alarms_on:
                self.alarms[f"consumer_lag:{construct_id}"] = self._lag_alarm(
                    consumer_scope, consumer_name
                )
            return consumer
        self._check_shared_read(construct_id)
        self._shared += 1
        return None

    def _check_shared_read(self, construct_id: str) -> None:
        count = self._shared + 1
        if count > MAX_SHARED_CONSUMERS:
            raise ValueError(
                f"add_consumer({construct_id!r}) would make {count} standard consumers; a "
                f"shard serves at most {MAX_SHARED_CONSUMERS} GetRecords calls a second. Use "
                "enhanced_fan_out=True for this consumer."
            )
        if self._shards is None or self._records_per_second is None or not self._record_bytes:
            return
        demand = self._records_per_second * self._record_bytes * count
        supply = self._shards * SHARD_READ_BYTES_PER_SECOND
        if demand > supply:
            needed = math.ceil(demand / SHARD_READ_BYTES_PER_SECOND)
            raise ValueError(
                f"add_consumer({construct_id!r}) would make {count} standard consumers "
                f"reading {demand / MIB:.2f} MiB/s in all from {self._shards} shard(s), "
                f"which share {supply / MIB:.2f} MiB/s. Use enhanced_fan_out=True, or "
                f"shard_count={needed}."
            )

    def _check_on_demand_load(
        self, records_per_second: int, record_bytes: int, region: str
    ) -> None:
        load = records_per_second * record_bytes
        declared = (
            f"records_per_second={records_per_second:,} x average_record_size="
            f"{record_bytes:,} bytes ({load / MIB:,.2f} MiB/s)"
        )
        if load > ON_DEMAND_MAX_WRITE_BYTES_PER_SECOND:
            raise ValueError(
                f"on_demand=True with {declared}: an on-demand stream writes at most "
                f"{ON_DEMAND_MAX_WRITE_BYTES_PER_SECOND // GIB} GiB/s "
                f"({ON_DEMAND_MAX_WRITE_BYTES_PER_SECOND // MIB:,} MiB/s). Split the load over "
                "several streams, or remove on_demand for provisioned shards "
                f"(shard_count={shards_for(records_per_second, record_bytes):,})."
            )
        if load > ON_DEMAND_INITIAL_WRITE_BYTES_PER_SECOND:
            Annotations.of(self).add_warning_v2(
                "lambda-blueprints:onDemandInitialCapacity",
                f"on_demand=True with {declared}: a new on-demand stream starts with "
                f"{ON_DEMAND_INITIAL_WRITE_BYTES_PER_SECOND // MIB} MiB/s of write capacity "
                "and grows to double its peak of the previous 30 days; writes that more than "
                "double within 15 minutes are throttled. Ramp the load up, warm the stream "
                "(UpdateStreamWarmThroughput, in On-demand Advantage accounts), or remove "
                "on_demand for provisioned shards "
                f"(shard_count={shards_for(records_per_second, record_bytes):,}).",
            )
        regional_max = ON_DEMAND_SMALL_REGION_MAX_WRITE_BYTES_PER_SECOND
        if load > regional_max and (
            Token.is_unresolved(region) or region not in LARGE_QUOTA_REGIONS
        ):
            Annotations.of(self).add_warning_v2(
                "lambda-blueprints:onDemandRegionalMaximum",
                f"on_demand=True with {declared}: outside {', '.join(LARGE_QUOTA_REGIONS)} an "
                f"on-demand stream scales to at most {regional_max // MIB} MiB/s of writes "
                "unless AWS Support raises it. Deploy to one of those Regions, ask for the "
                "increase first, or remove on_demand for provisioned shards.",
            )

    def _warn_above_shard_quota(self, shard_count: int, region: str) -> None:
        if Token.is_unresolved(shard_count):
            return
        known_large = not Token.is_unresolved(region) and region in LARGE_QUOTA_REGIONS
        quota = LARGE_REGION_SHARD_QUOTA if known_large else SMALLEST_DEFAULT_SHARD_QUOTA
        if shard_count > quota:
            Annotations.of(self).add_warning_v2(
                "lambda-blueprints:shardQuota",
                f"shard_count={shard_count:,} is above the default Kinesis shard quota of an "
                f"account: {LARGE_REGION_SHARD_QUOTA:,} shards in "
                f"{', '.join(LARGE_QUOTA_REGIONS)}, {SMALLEST_DEFAULT_SHARD_QUOTA:,} or 6,000 "
                "in the other Regions, one quota per account and Region that other streams "
                "use too. Raise the quota (Service Quotas) before deploying, or creating the "
                "stream fails with LimitExceededException.",
            )

    def _lag_alarm(self, consumer_scope: Construct, consumer_name: str) -> cloudwatch.Alarm:
        # GetRecords.IteratorAgeMilliseconds only covers polling consumers: an enhanced
        # fan-out reader's lag is published per ConsumerName instead.
        alarm = cloudwatch.Alarm(
            consumer_scope,
            "LagAlarm",
            alarm_description=f"The enhanced fan-out consumer {consumer_name} falls behind: "
            "the last record pushed to it is older than half the stream's retention.",
            metric=self._consumer_lag(consumer_name),
            threshold=self._retention.to_seconds() // 2 * 1000,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        return _defaults.add_alarm_action(alarm, self._alarm_topic)

    def _consumer_lag(
        self, consumer_name: str, period: Duration | None = None, statistic: str = "Maximum"
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/Kinesis",
            metric_name="SubscribeToShardEvent.MillisBehindLatest",
            dimensions_map={"StreamName": self.stream.stream_name, "ConsumerName": consumer_name},
            statistic=statistic,
            period=period or Duration.minutes(1),
        )

    def metric_consumer_lag(
        self, construct_id: str, *, period: Duration | None = None, statistic: str = "Maximum"
    ) -> cloudwatch.Metric:
        """How far behind an enhanced fan-out consumer is (milliseconds).

        ``SubscribeToShardEvent.MillisBehindLatest`` of the consumer registered as
        ``construct_id`` (:meth:`add_consumer` or :meth:`reserve`), the metric of its
        ``consumer_lag:<construct_id>`` alarm.

        Raises:
            KeyError: When no enhanced fan-out consumer has that construct id.
        """
        name = self._consumer_names.get(construct_id)
        if name is None:
            raise KeyError(f"no enhanced fan-out consumer {construct_id!r} on this stream")
        return self._consumer_lag(name, period, statistic)

    def metric_iterator_age(
        self, *, period: Duration | None = None, statistic: str = "Maximum"
    ) -> cloudwatch.Metric:
        """Age of the oldest record standard consumers have not read (milliseconds).

        ``GetRecords.IteratorAgeMilliseconds``, the ``iterator_age`` alarm's metric.
        """
        return self.stream.metric_get_records_iterator_age_milliseconds(
            statistic=statistic, period=period or Duration.minutes(1)
        )

    def metric_write_throttles(
        self, *, period: Duration | None = None, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """Writes refused for want of shard capacity (``WriteProvisionedThroughputExceeded``)."""
        return self.stream.metric_write_provisioned_throughput_exceeded(
            statistic=statistic, period=period or Duration.minutes(1)
        )

    def metric_read_throttles(
        self, *, period: Duration | None = None, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """Reads refused for want of shard capacity (``ReadProvisionedThroughputExceeded``)."""
        return self.stream.metric_read_provisioned_throughput_exceeded(
            statistic=statistic, period=period or Duration.minutes(1)
        )

    def _stream_alarms(self) -> dict[str, cloudwatch.Alarm]:
        half_retention = self._retention.to_seconds() // 2
        iterator_age = cloudwatch.Alarm(
            self,
            "IteratorAgeAlarm",
            alarm_description="Standard consumers fall behind: the oldest unread record is "
            "older than half the stream's retention.",
            metric=self.metric_iterator_age(),
            threshold=half_retention * 1000,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarms = {"iterator_age": iterator_age}
        for key, construct_id, metric, what in (
            (
                "write_throttles",
                "WriteThrottleAlarm",
                self.metric_write_throttles,
                "Writes are throttled: the stream needs more shards (or on-demand mode).",
            ),
            (
                "read_throttles",
                "ReadThrottleAlarm",
                self.metric_read_throttles,
                "Reads are throttled: move consumers to enhanced fan-out or add shards.",
            ),
        ):
            alarms[key] = cloudwatch.Alarm(
                self,
                construct_id,
                alarm_description=what,
                metric=metric(),
                threshold=1,
                evaluation_periods=5,
                datapoints_to_alarm=5,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        return {k: _defaults.add_alarm_action(a, self._alarm_topic) for k, a in alarms.items()}


def _check_load(records_per_second: int | None, average_record_size: Size | None) -> int | None:
    if (records_per_second is None) != (average_record_size is None):
        raise ValueError(
            "records_per_second and average_record_size declare the load together: give both "
            "or neither."
        )
    if records_per_second is None or average_record_size is None:
        return None
    check_int_range("records_per_second", records_per_second, 1, 10_000_000)
    record_bytes = int(average_record_size.to_bytes())
    if not 1 <= record_bytes <= MAX_RECORD_BYTES:
        raise ValueError(
            f"average_record_size={record_bytes:,} bytes is out of range: a Kinesis record "
            f"holds 1 to {MAX_RECORD_BYTES:,} bytes."
        )
    return record_bytes


def _check_retention(retention: Duration) -> None:
    seconds = retention.to_seconds(integral=False)
    if Token.is_unresolved(seconds):
        return
    hours = seconds / 3600
    # CloudFormation's RetentionPeriodHours is an integer: a part hour would otherwise fail
    # later, in aws-cdk-lib, with an error that names neither the prop nor the range.
    if hours != int(hours) or not MIN_RETENTION_HOURS <= hours <= MAX_RETENTION_HOURS:
        nearest = min(max(math.ceil(hours), MIN_RETENTION_HOURS), MAX_RETENTION_HOURS)
        raise ValueError(
            f"retention={retention.to_human_string()} ({hours:g} hours) is out of range: a "
            f"stream keeps records for a whole number of hours from {MIN_RETENTION_HOURS} to "
            f"{MAX_RETENTION_HOURS:,} (365 days). Use e.g. retention=Duration.hours({nearest})."
        )


def _check_shards(
    shard_count: int | None, records_per_second: int | None, record_bytes: int | None
) -> int:
    needed = (
        shards_for(records_per_second, record_bytes)
        if records_per_second is not None and record_bytes is not None
        else None
    )
    if shard_count is None:
        if needed is None:
            raise ValueError(
                "shard_count=None with no declared load: give records_per_second and "
                "average_record_size, a shard_count, or on_demand=True."
            )
        assert records_per_second is not None and record_bytes is not None  # noqa: S101
        _check_shard_range(
            needed,
            f"records_per_second={records_per_second:,} of average_record_size="
            f"{record_bytes:,} bytes ({records_per_second * record_bytes / MIB:,.2f} MiB/s) "
            f"need shard_count={needed:,}, which",
            fix="Split the load over several streams.",
        )
        return needed
    _check_shard_range(
        shard_count,
        f"shard_count={shard_count!r}",
        fix="Give a shard_count in that range, or on_demand=True.",
    )
    if needed is not None and shard_count < needed:
        assert records_per_second is not None and record_bytes is not None  # noqa: S101
        raise ValueError(
            f"shard_count={shard_count} cannot carry {records_per_second:,} records/s of "
            f"{record_bytes:,} bytes ({records_per_second * record_bytes / MIB:.2f} MiB/s): "
            f"{shard_count} shard(s) take {shard_count * SHARD_WRITE_RECORDS_PER_SECOND:,} "
            f"records/s and {shard_count} MiB/s. Use shard_count={needed} or more, or "
            "on_demand=True."
        )
    return shard_count


def _check_shard_range(value: int, subject: str, *, fix: str) -> None:
    """One range for a given and a derived shard count: CloudFormation's ShardCount."""
    if Token.is_unresolved(value):
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SHARD_COUNT:
        raise ValueError(
            f"{subject} is out of range: a stream has a whole number of shards from 1 to "
            f"{MAX_SHARD_COUNT:,} (CloudFormation's ShardCount). {fix}"
        )
