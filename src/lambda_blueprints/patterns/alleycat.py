"""Alleycat: virtual bike races with live leaderboards and all-time personal bests."""

from __future__ import annotations

import math
from typing import cast

from aws_cdk import CfnElement, Duration, RemovalPolicy, Size, Stack, Token
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_iot as iot
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from lambda_blueprints import _defaults
from lambda_blueprints._validation import check_duration_range, check_int_range
from lambda_blueprints.constructs.firehose_archive import FirehoseArchive
from lambda_blueprints.constructs.iot_topic_to_kinesis import (
    DEFAULT_PARTITION_KEY,
    IotTopicToKinesis,
)
from lambda_blueprints.constructs.kinesis_fan_out import KinesisFanOut, shards_for
from lambda_blueprints.constructs.stream_trigger import StreamTrigger
from lambda_blueprints.constructs.tumbling_window_aggregator import TumblingWindowAggregator

_RUNTIME = "lambda_blueprints.runtime.alleycat"
#: The index of final results by score that the leaderboard API reads.
RESULTS_INDEX = "ByScore"
HISTORY_PREFIX = "history/"
#: Share of the stream's write capacity the declared peak may use. Bikes publish once a
#: second but not in step: at 100% any second with a few more messages than the average
#: is throttled, and the IoT rule does not retry (the messages land in the error bucket).
STREAM_WRITE_HEADROOM = 0.8
#: MQTT topics have at most 7 slashes; a leaderboard topic adds ``/<raceId>/leaderboard``.
_MAX_PREFIX_SLASHES = 5
#: Topics are at most 256 bytes; the suffix takes up to 29 (16-digit race ids).
_MAX_PREFIX_BYTES = 227
#: The partition key prefix that names a record's publishing bike. The stream's readers
#: read it back (``lambda_blueprints.runtime.alleycat.race.PUBLISHER_KEY_PREFIX``, which
#: must be the same).
PUBLISHER_KEY_PREFIX = "bike/"
#: The IoT policy variable of the thing a bike's connection is authenticated as.
THING_NAME = "${iot:Connection.Thing.ThingName}"


class AlleycatRacing(Construct):
    """The Alleycat racing backend of the AWS Compute blog's streaming data series.

    Bikes publish one message a second over MQTT; an IoT rule puts them on a Kinesis
    stream that three readers share, and a fourth function follows the races table:

    * **Live standings** (enhanced fan-out): a tumbling-window aggregator keeps each
      racer's best total per race and, once per window, merges it into the races table in
      pages of at most 1,000 racers per race and shard: a 15-second window turns 1,000
      messages a second into one write per race and shard every 15 seconds, and no
      number of racers can outgrow an item.
    * **Leaderboard updates**: the races table's stream (standings items only) triggers a
      publisher that sends each race's top racers to
      ``<leaderboard_topic_prefix>/<raceId>/leaderboard`` for the frontend.
    * **Final results**: a consumer filtered to ``finish`` messages writes each racer's
      final score, indexed by score for the leaderboard API.
    * **All-time personal bests**: Firehose archives the stream to S3 through a transform
      that validates messages and adds each second's output; every delivered object
      triggers a processor that merges new bests into one gzip history object per class.

    A REST API (IAM authorization) serves ``GET /races/{raceId}/standings`` and
    ``GET /races/{raceId}/results``. Scores are maxima of the bikes' running totals, so
    duplicates, retries and reordering never change a leaderboard (see
    ``lambda_blueprints.runtime.alleycat.race``). All four readers validate a message with the same
    validator, so none counts a message another refuses; invalid messages are parked with
    their reason (failure queues, Firehose's processing-failed prefix) and no batch fails
    for one of them.

    Trust model:
        * A bike is an IoT thing named by its racer id (``17``), authenticated by a
          certificate (or an authenticated Cognito identity) attached to the thing. The
          policy of :meth:`bike_policy` lets it connect only with its thing name as client
          id and publish only to ``<topic without its last level>/<thing name>``.
        * ``topic`` ends in a ``+`` level (default ``alleycat/publish/+``): the IoT rule
          writes each message with the partition key ``bike/`` + that level
          (``topic(n)`` in the rule's substitution template), and every reader refuses
          (``RACER_MISMATCH``) a message whose ``racerId`` is not the thing name. One bike
          cannot speak for another. With a ``topic`` without a final ``+`` level, nothing
          binds a message to its publisher: every device that may publish speaks for
          every racer.
        * Principals that write to the stream directly (``kinesis:PutRecord(s)``, e.g. a
          race simulator) are trusted: their records carry other partition keys and are
          not checked against a publisher. So are principals that publish with IAM
          credentials alone (:meth:`grant_publish`, unauthenticated identities), since no
          IoT policy binds them. Never grant devices Basic Ingest
          (``$aws/rules/<rule>/...``): it invokes the rule with a topic of the device's
          choosing.
        * Whoever publishes, a message counts only when it is at most 4 KiB of exact,
          shallow JSON, its fields are in range and its ``total`` is one a bike can ride
          (at most 552.75, the output at the highest cadence and resistance, for each
          second up to ``second + 1``, plus 1%).
        * Floods of fake racers (from trusted writers or many bikes) cost their own writes
          and reads, but every page stays storable and the honest racers' pages are
          written every window. The API reads are IAM-authorized, and its page tokens
          are checked field by field (400, never 5XX).

    Resources defined:
        * ``Stream``: a :class:`KinesisFanOut` sized for ``messages_per_second``.
        * ``Ingest``: an :class:`IotTopicToKinesis` rule from ``topic``.
        * ``RacesTable`` with the ``ByScore`` index and a stream; ``Standings`` (a
          :class:`TumblingWindowAggregator`), ``Publisher`` and ``Stream/FinalResults``
          (:class:`StreamTrigger`).
        * ``Archive`` (a :class:`FirehoseArchive`) and ``HistoryBucket``.
        * ``AccessLogsBucket`` (unless ``server_access_logs_bucket`` is given): the S3
          server access logs of the ingest error, archive and history buckets.
        * ``Api``: the leaderboard API, its function, access logs and alarms.
        * With :meth:`bike_policy`, an ``AWS::IoT::Policy`` for the bikes.

    Default settings:
        * Stream: 1,000 messages/s of 250 bytes (one race of 1,000 racers) at no more
          than 80% of the shards' write capacity -> 2 shards, 24 hours retention, KMS
          encryption. Messages the IoT rule cannot write (throttled) are kept, uncounted,
          in the ingest error bucket.
        * Ingest: ``alleycat/publish/<racerId>``, partition key ``bike/<racerId>`` (each
          racer's messages in order on one shard).
        * Standings: 15-second window (the Alleycat template), batch 1,000,
          ``TRIM_HORIZON``, parallelization 1, partial batch responses, 3 retries.
        * Final results: batch 1,000, filter ``event = finish``.
        * Publisher: top 10 racers, QoS 1, batch 100.
        * Archive: FirehoseArchive's defaults (60 s or 5 MiB to S3, GZIP; the transform
          gets up to 1 MB or 60 s of records, 3 retries).
        * API: regional, IAM authorization, request validation, access logs (JSON),
          tracing, 100 requests/s with bursts of 200, 5XX and latency alarms.
        * Tables and buckets encrypted (``encryption_key`` or AWS managed keys), retained.

    Metrics: the pattern's own alarms are the API's, whose metrics
    :meth:`metric_api_server_errors` and :meth:`metric_api_latency` give. The alarms of the
    constructs it composes are theirs, and so are their ``metric_*`` methods: reach them
    through :attr:`fan_out`, :attr:`ingest`, :attr:`standings`, :attr:`final_results`,
    :attr:`publisher`, :attr:`archive` and :attr:`api` (e.g.
    ``racing.archive.metric_data_freshness()``).

    Args:
        scope: The parent construct.
        construct_id: The construct id.
        messages_per_second: Peak messages per second over all races (racers x races).
            The stream gets enough shards to take it at 80% of their write capacity.
        average_message_size: Average message size with its partition key.
        shard_count: Shards, instead of sizing from the load (at least what the load
            needs at 100%).
        window: The standings window, 1-900 s. Shorter: fresher leaderboards, more writes.
        topic: The MQTT topic filter the bikes publish to. A last level of ``+`` names
            the publishing bike (see the trust model).
        leaderboard_topic_prefix: Prefix of the topics leaderboards are published to.
        leaderboard_size: Racers per published leaderboard, 1-1000.
        api_rate_limit: Steady API requests per second.
        api_burst_limit: API burst.
        web_acl_arn: A WAF web ACL (regional) to associate with the API stage.
        server_access_logs_bucket: Where the S3 server access logs of the pattern's
            buckets go (same account and Region, SSE-S3 default encryption). Defaults to
            an ``AccessLogsBucket`` of the pattern's own (logs kept 90 days).
        api_cloud_watch_role: Create the account's API Gateway CloudWatch Logs role
            (``AWS::ApiGateway::Account``, kept when the stack is deleted). The stage's
            access and execution logs need that role; it is one per account and Region,
            so leave this off (the default) where the account has one already.
        encryption_key: Customer managed key for the stream, tables, buckets, queues and
            logs.
        alarm_topic: SNS topic for every alarm.
        removal_policy: What happens to the stream, table and buckets when they leave the
            stack. Defaults to ``RETAIN``.
        alarms: Create the alarms of every composed construct (the stream and its
            consumers, the API, the ingest rule, the standings, the publisher, the
            archive). Defaults to True; with False no alarm is created and the
            ``metric_*`` methods give the same metrics.

    Raises:
        ValueError: When a prop is outside its limit or the stream cannot carry the load.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        messages_per_second: int = 1000,
        average_message_size: Size | None = None,
        shard_count: int | None = None,
        window: Duration | None = None,
        topic: str = "alleycat/publish/+",
        leaderboard_topic_prefix: str = "alleycat/races",
        leaderboard_size: int = 10,
        api_rate_limit: int = 100,
        api_burst_limit: int = 200,
        web_acl_arn: str | None = None,
        api_cloud_watch_role: bool = False,
        server_access_logs_bucket: s3.IBucket | None = None,
        encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        alarms: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self._leaderboard_topic_prefix = leaderboard_topic_prefix
        #: The MQTT topic filter the bikes publish to.
        self.topic = topic
        #: The topic level (1-based) that names the publishing bike; None when unbound.
        self.publisher_level = _publisher_level(topic)
        window = window or Duration.seconds(15)
        average_message_size = average_message_size or Size.bytes(250)
        check_int_range("messages_per_second", messages_per_second, 1, 10_000_000)
        check_duration_range("window", window, 1, 900)
        check_int_range("leaderboard_size", leaderboard_size, 1, 1000)
        check_int_range("api_rate_limit", api_rate_limit, 1, 10_000)
        check_int_range("api_burst_limit", api_burst_limit, 1, 5_000)
        _check_topic_prefix(leaderboard_topic_prefix)
        _check_topic_is_not_a_leaderboard(topic, leaderboard_topic_prefix)
        if shard_count is None and not Token.is_unresolved(messages_per_second):
            shard_count = shards_for(
                math.ceil(messages_per_second / STREAM_WRITE_HEADROOM),
                int(average_message_size.to_bytes()),
            )

        #: The bike stream and its readers' capacity.
        self.fan_out = KinesisFanOut(
            self,
            "Stream",
            records_per_second=messages_per_second,
            average_record_size=average_message_size,
            shard_count=shard_count,
            encryption_key=encryption_key,
            alarm_topic=alarm_topic,
            removal_policy=removal_policy,
            alarms=alarms,
        )
        stream = self.fan_out.stream
        #: Receives the server access logs of the ingest error, archive and history buckets.
        self.access_logs_bucket: s3.IBucket = (
            server_access_logs_bucket
            if server_access_logs_bucket is not None
            else _defaults.access_logs_bucket(
                self, "AccessLogsBucket", removal_policy=removal_policy
            )
        )
        #: The IoT rule that puts bike messages on the stream.
        self.ingest = IotTopicToKinesis(
            self,
            "Ingest",
            stream=stream,
            topic_filter=topic,
            # The topic's last level, which the bike policy binds to the thing name, names
            # the publisher to the readers (they refuse a message for another racer).
            partition_key=(
                DEFAULT_PARTITION_KEY
                if self.publisher_level is None
                else f"{PUBLISHER_KEY_PREFIX}${{topic({self.publisher_level})}}"
            ),
            encryption_key=encryption_key,
            alarm_topic=alarm_topic,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="ingest-errors/",
            alarms=alarms,
        )

        #: Standings per race and shard, final results, and their stream.
        self.races_table = _defaults.pk_sk_table(
            self,
            "RacesTable",
            stream=dynamodb.StreamViewType.NEW_IMAGE,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )
        self.races_table.add_global_secondary_index(
            index_name=RESULTS_INDEX,
            partition_key=dynamodb.Attribute(name="raceKey", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="score", type=dynamodb.AttributeType.NUMBER),
        )

        #: The live standings aggregator (reads through its own enhanced fan-out consumer).
        self.standings = TumblingWindowAggregator(
            self,
            "Standings",
            stream=stream,
            consumer=self.fan_out.reserve("Standings", enhanced_fan_out=True),
            window=window,
            handler=f"{_RUNTIME}.standings.handler.lambda_handler",
            results_table=self.races_table,
            batch_size=1000,
            timeout=Duration.seconds(30),
            stream_retention=self.fan_out.retention,
            encryption_key=encryption_key,
            alarm_topic=alarm_topic,
            alarms=alarms,
        )
        # Standings are merged into the stored pages: read them back (consistently) first.
        _allow(self.standings.function, ["dynamodb:Query"], [self.races_table.table_arn])

        #: Final results from the finish messages.
        self.final_results = self.fan_out.add_consumer(
            "FinalResults",
            handler=f"{_RUNTIME}.final_results.handler.lambda_handler",
            environment={"RESULTS_TABLE_NAME": self.races_table.table_name},
            batch_size=1000,
            filters=[lambda_.FilterCriteria.filter({"data": {"event": ["finish"]}})],
            encryption_key=encryption_key,
        )
        _allow(self.final_results.function, ["dynamodb:PutItem"], [self.races_table.table_arn])

        #: Publishes leaderboards to IoT when standings change.
        self.publisher = StreamTrigger(
            self,
            "Publisher",
            table=self.races_table,
            handler=f"{_RUNTIME}.publisher.handler.lambda_handler",
            environment={
                "RESULTS_TABLE_NAME": self.races_table.table_name,
                "LEADERBOARD_TOPIC_PREFIX": leaderboard_topic_prefix,
                "LEADERBOARD_SIZE": str(leaderboard_size),
            },
            batch_size=100,
            filters=[
                lambda_.FilterCriteria.filter(
                    {
                        "dynamodb": {
                            "Keys": {"sk": {"S": lambda_.FilterRule.begins_with("standings#")}}
                        }
                    }
                )
            ],
            encryption_key=encryption_key,
            alarm_topic=alarm_topic,
            alarms=alarms,
        )
        _allow(self.publisher.function, ["dynamodb:Query"], [self.races_table.table_arn])
        stack = Stack.of(self)
        self.publisher.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iot:Publish"],
                resources=[
                    stack.format_arn(
                        service="iot",
                        resource="topic",
                        resource_name=f"{leaderboard_topic_prefix}/*/leaderboard",
                    )
                ],
            )
        )
        if self.publisher.function.role is not None:
            _defaults.acknowledge(
                self.publisher.function.role,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iot:<AWS::Region>:"
                f"<AWS::AccountId>:topic/{leaderboard_topic_prefix}/*/leaderboard]",
                "One leaderboard topic per race: races are created at run time, so the "
                "publisher may publish to <prefix>/<raceId>/leaderboard topics only.",
            )

        #: All-time personal bests, one gzip object per class.
        self.history_bucket = _defaults.secure_bucket(
            self,
            "HistoryBucket",
            encryption_key=encryption_key,
            versioned=True,
            removal_policy=removal_policy,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="history/",
        )
        self.fan_out.reserve("Archive")
        #: Firehose archive of the stream and the personal-best processor.
        self.archive = FirehoseArchive(
            self,
            "Archive",
            stream=stream,
            transform_handler=f"{_RUNTIME}.history.transform.lambda_handler",
            processor_handler=f"{_RUNTIME}.history.handler.lambda_handler",
            encryption_key=encryption_key,
            alarm_topic=alarm_topic,
            removal_policy=removal_policy,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="archive/",
            alarms=alarms,
        )
        processor = self.archive.processor_function
        assert processor is not None  # noqa: S101 - built from processor_handler
        if isinstance(processor, lambda_.Function):
            processor.add_environment("HISTORY_BUCKET_NAME", self.history_bucket.bucket_name)
            processor.add_environment("HISTORY_PREFIX", HISTORY_PREFIX)
            if self.archive.dead_letter_queue is not None:
                processor.add_environment(
                    "FAILURE_QUEUE_URL", self.archive.dead_letter_queue.queue_url
                )
        _allow(
            processor,
            ["s3:GetObject", "s3:PutObject"],
            [self.history_bucket.arn_for_objects(f"{HISTORY_PREFIX}*")],
        )
        if encryption_key is not None:
            _allow(processor, ["kms:Decrypt", "kms:GenerateDataKey"], [encryption_key.key_arn])
        bucket_id = Stack.of(self).get_logical_id(
            cast(CfnElement, self.history_bucket.node.default_child)
        )
        if processor.role is not None:
            _defaults.acknowledge(
                processor.role,
                f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{HISTORY_PREFIX}*]",
                "One history object per class, created as classes appear: the processor "
                "reads and writes objects under the history prefix only.",
            )
        # Without ListBucket a missing history object reads as AccessDenied, not NoSuchKey.
        # No s3:prefix condition: a GetObject request carries no prefix, so a condition on
        # it would never hold there. The bucket holds history objects only.
        processor.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"], resources=[self.history_bucket.bucket_arn]
            )
        )

        #: The leaderboard API.
        self.api = LeaderboardApi(
            self,
            "Api",
            table=self.races_table,
            rate_limit=api_rate_limit,
            burst_limit=api_burst_limit,
            web_acl_arn=web_acl_arn,
            cloud_watch_role=api_cloud_watch_role,
            encryption_key=encryption_key,
            alarm_topic=alarm_topic,
            alarms=alarms,
        )

    def metric_api_server_errors(
        self, *, period: Duration | None = None, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """The API's ``5XXError`` (see :meth:`LeaderboardApi.metric_server_errors`)."""
        return self.api.metric_server_errors(period=period, statistic=statistic)

    def metric_api_latency(
        self, *, period: Duration | None = None, statistic: str = "p90"
    ) -> cloudwatch.Metric:
        """The API's ``Latency`` (see :meth:`LeaderboardApi.metric_latency`)."""
        return self.api.metric_latency(period=period, statistic=statistic)

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` publish race messages with IAM credentials (``iot:Publish``).

        With a bound ``topic`` (last level ``+``) the grant covers every bike's topic,
        ``<prefix>/*``: IAM alone cannot bind a principal to one racer. Grant it to
        principals you trust to speak for any racer, or to authenticated identities that
        also carry the IoT policy of :meth:`bike_policy`, which AWS IoT evaluates as well
        and which binds them to their thing.
        """
        if self.publisher_level is None:
            return self.ingest.grant_publish(grantee)
        prefix = self.topic.rsplit("/", 1)[0]
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["iot:Publish"],
            resource_arns=[
                Stack.of(self).format_arn(
                    service="iot", resource="topic", resource_name=f"{prefix}/*"
                )
            ],
        )

    def bike_policy(
        self,
        construct_id: str = "BikePolicy",
        *,
        policy_name: str | None = None,
        subscribe_leaderboards: bool = True,
    ) -> iot.CfnPolicy:
        """An AWS IoT policy that binds each bike to the racer its thing is named after.

        Attach it to the bikes' certificates (or authenticated Cognito identities), each
        attached to a thing named by the racer id. It allows:

        * ``iot:Connect`` as client ``${iot:Connection.Thing.ThingName}`` only, and only
          when the certificate is attached to that thing
          (``iot:Connection.Thing.IsAttached``);
        * ``iot:Publish`` to ``<topic prefix>/${iot:Connection.Thing.ThingName}`` only: the
          IoT rule names the publisher from that level and every reader refuses a message
          for another racer;
        * with ``subscribe_leaderboards``, ``iot:Subscribe`` and ``iot:Receive`` on the
          leaderboard topics, for the bike's display.

        Args:
            construct_id: The policy's construct id, under this construct.
            policy_name: The IoT policy name. Defaults to a name CloudFormation generates.
            subscribe_leaderboards: Also let bikes receive the published leaderboards.

        Returns:
            The ``AWS::IoT::Policy``.

        Raises:
            ValueError: When ``topic`` does not end in a ``+`` level or has other
                wildcards: the policy could not tie a topic to one thing.
        """
        levels = self.topic.split("/")
        if self.publisher_level is None or any(level in ("+", "#") for level in levels[:-1]):
            raise ValueError(
                f"bike_policy() needs a topic whose only wildcard is its last level, which "
                f"names the bike, e.g. 'alleycat/publish/+'; topic={self.topic!r} cannot "
                "bind a bike to its racer. Give AlleycatRacing such a topic."
            )
        stack = Stack.of(self)
        bike_topic = "/".join([*levels[:-1], THING_NAME])
        statements: list[dict[str, object]] = [
            {
                "Effect": "Allow",
                "Action": "iot:Connect",
                "Resource": stack.format_arn(
                    service="iot", resource="client", resource_name=THING_NAME
                ),
                "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}},
            },
            {
                "Effect": "Allow",
                "Action": "iot:Publish",
                "Resource": stack.format_arn(
                    service="iot", resource="topic", resource_name=bike_topic
                ),
            },
        ]
        if subscribe_leaderboards:
            leaderboards = f"{self._leaderboard_topic_prefix}/*/leaderboard"
            statements += [
                {
                    "Effect": "Allow",
                    "Action": "iot:Subscribe",
                    "Resource": stack.format_arn(
                        service="iot", resource="topicfilter", resource_name=leaderboards
                    ),
                },
                {
                    "Effect": "Allow",
                    "Action": "iot:Receive",
                    "Resource": stack.format_arn(
                        service="iot", resource="topic", resource_name=leaderboards
                    ),
                },
            ]
        return iot.CfnPolicy(
            self,
            construct_id,
            policy_name=policy_name,
            policy_document={"Version": "2012-10-17", "Statement": statements},
        )

    def grant_read_history(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` download the history objects."""
        return self.history_bucket.grant_read(grantee, f"{HISTORY_PREFIX}*")

    def grant_query_api(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` (e.g. the frontend's identity pool role) call the leaderboard API.

        ``execute-api:Invoke`` on the API's two ``GET`` methods of the ``prod`` stage.
        """
        rest_api = self.api.rest_api
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["execute-api:Invoke"],
            resource_arns=[
                rest_api.arn_for_execute_api("GET", f"/races/*/{path}", "prod")
                for path in ("standings", "results")
            ],
        )

    def grant_subscribe_leaderboards(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` subscribe to and receive the published leaderboards.

        ``iot:Subscribe`` on the topic filters ``<prefix>/<raceId>/leaderboard`` and
        ``iot:Receive`` on those topics. ``iot:Connect`` names the client ids a frontend
        connects with, which only the application knows: grant it with them.
        """
        stack = Stack.of(self)
        topics = f"{self._leaderboard_topic_prefix}/*/leaderboard"
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["iot:Subscribe", "iot:Receive"],
            resource_arns=[
                stack.format_arn(service="iot", resource="topicfilter", resource_name=topics),
                stack.format_arn(service="iot", resource="topic", resource_name=topics),
            ],
        )


class LeaderboardApi(Construct):
    """The REST API of race standings and results (Lambda proxy, IAM authorization).

    Resources defined: ``Function`` (with role and logs), ``AccessLogs``,
    ``ExecutionLogs`` (the stage's ``ERROR`` execution logs, with retention), ``RestApi``
    (stage ``prod``), optionally ``WebAclAssociation`` and the account's CloudWatch role,
    and 5XX and latency alarms (unless ``alarms=False``).

    API Gateway writes both logs with the account's CloudWatch Logs role (one per account
    and Region); a stage with logging fails to deploy without it. ``cloud_watch_role``
    creates it; otherwise the account must have it already.

    The alarms watch the metrics of :meth:`metric_server_errors` (``5XXError`` >= 1 in a
    minute) and :meth:`metric_latency` (p90 ``Latency`` over 1 second for 15 minutes).

    Args:
        scope: The parent construct.
        construct_id: The construct id.
        table: The races table the function queries, with the ``ByScore`` index.
        rate_limit: Steady requests per second of the stage.
        burst_limit: Request burst of the stage.
        web_acl_arn: A regional WAF web ACL to associate with the stage, or None.
        encryption_key: Customer managed key for the function's environment and the
            log groups, or None for AWS managed encryption.
        alarm_topic: SNS topic for the alarms' notifications, or None.
        cloud_watch_role: Create the account's API Gateway CloudWatch Logs role.
            Defaults to False.
        alarms: Create the alarms. Defaults to True; with False, :attr:`alarms` is empty
            and the ``metric_*`` methods give the same metrics for alarms of your own.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITable,
        rate_limit: int,
        burst_limit: int,
        web_acl_arn: str | None,
        encryption_key: kms.IKey | None,
        alarm_topic: sns.ITopic | None,
        cloud_watch_role: bool = False,
        alarms: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        function, _, _ = _defaults.build_function(
            self,
            handler=f"{_RUNTIME}.leaderboard_api.handler.lambda_handler",
            service_name="alleycat-leaderboard",
            description="Alleycat leaderboard queries",
            timeout=Duration.seconds(10),
            environment={
                "RESULTS_TABLE_NAME": table.table_name,
                "RESULTS_INDEX_NAME": RESULTS_INDEX,
            },
            encryption_key=encryption_key,
        )
        #: The query function.
        self.function: lambda_.Function = function
        _allow(
            function,
            ["dynamodb:Query"],
            [table.table_arn, f"{table.table_arn}/index/{RESULTS_INDEX}"],
        )
        if table.encryption_key is not None:
            table.encryption_key.grant(function, "kms:Decrypt")

        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=_defaults.LOG_RETENTION,
            encryption_key=encryption_key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        #: The REST API.
        self.rest_api = apigateway.RestApi(
            self,
            "RestApi",
            description="Alleycat race standings and results",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=cloud_watch_role,
            # The role is account-wide: deleting this stack must not take it from other APIs.
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if cloud_watch_role else None,
            deploy_options=apigateway.StageOptions(
                stage_name="prod",
                # Errors only, never request or response bodies (data trace).
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=_defaults.api_access_log_format(),
                tracing_enabled=True,
                metrics_enabled=True,
                throttling_rate_limit=rate_limit,
                throttling_burst_limit=burst_limit,
            ),
            default_method_options=apigateway.MethodOptions(
                authorization_type=apigateway.AuthorizationType.IAM
            ),
        )
        # API Gateway would create this group itself, without retention or encryption.
        _defaults.api_execution_logs(self, self.rest_api, "prod", encryption_key)
        if cloud_watch_role:
            _defaults.acknowledge(
                self.rest_api,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                "The account's API Gateway logging role takes the managed policy API Gateway "
                "documents for it; API Gateway names the log groups it writes at run time.",
            )
        validator = self.rest_api.add_request_validator(
            "ParametersValidator", validate_request_parameters=True, validate_request_body=True
        )
        integration = apigateway.LambdaIntegration(function)
        race = self.rest_api.root.add_resource("races").add_resource("{raceId}")
        for path, parameters in (
            ("standings", {"method.request.querystring.limit": False}),
            (
                "results",
                {
                    "method.request.querystring.limit": False,
                    "method.request.querystring.next": False,
                },
            ),
        ):
            race.add_resource(path).add_method(
                "GET",
                integration,
                request_parameters={"method.request.path.raceId": True, **parameters},
                request_validator=validator,
            )
        _defaults.associate_web_acl(
            self,
            self.rest_api,
            web_acl_arn,
            "Every method requires SigV4 (IAM) credentials and the stage is throttled; "
            "give web_acl_arn to put a WAF web ACL in front as well.",
        )
        _defaults.acknowledge(
            function,
            "Serverless-LambdaDLQ",
            "API Gateway invokes the function synchronously and returns its error to the "
            "caller; a dead-letter queue only ever receives asynchronous invocations.",
        )
        _defaults.acknowledge(
            self.rest_api,
            "AwsSolutions-COG4",
            "Every method uses AWS_IAM authorization (SigV4), granted per method with "
            "grant_query_api (e.g. to a Cognito identity pool role); a method has one "
            "authorization type, so a user pool authorizer cannot be added to it.",
        )
        #: 5XX and latency alarms of the stage (empty with ``alarms=False``).
        self.alarms: dict[str, cloudwatch.Alarm] = self._alarms(alarm_topic) if alarms else {}

    def metric_server_errors(
        self, *, period: Duration | None = None, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """Requests the API answered 5XX (``5XXError``), the ``server_errors`` alarm's metric.

        1-minute sums unless told otherwise.
        """
        return self.rest_api.metric_server_error(
            period=period or Duration.minutes(1), statistic=statistic
        )

    def metric_latency(
        self, *, period: Duration | None = None, statistic: str = "p90"
    ) -> cloudwatch.Metric:
        """The API's ``Latency`` (milliseconds), the ``latency`` alarm's metric.

        5-minute p90 unless told otherwise.
        """
        return self.rest_api.metric_latency(
            period=period or Duration.minutes(5), statistic=statistic
        )

    def _alarms(self, alarm_topic: sns.ITopic | None) -> dict[str, cloudwatch.Alarm]:
        alarms: dict[str, cloudwatch.Alarm] = {}
        for key, construct_id, description, metric, threshold, periods, above in (
            (
                "server_errors",
                "ServerErrorsAlarm",
                "The leaderboard API answered 5XX.",
                self.metric_server_errors(),
                1,
                1,
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            ),
            (
                "latency",
                "LatencyAlarm",
                "The leaderboard API's p90 latency is over 1 second.",
                self.metric_latency(),
                1000,
                3,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            ),
        ):
            alarm = cloudwatch.Alarm(
                self,
                construct_id,
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                evaluation_periods=periods,
                comparison_operator=above,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarms[key] = _defaults.add_alarm_action(alarm, alarm_topic)
        return alarms

    @property
    def url(self) -> str:
        """The stage URL."""
        return self.rest_api.url


def _allow(function: lambda_.IFunction, actions: list[str], resources: list[str]) -> None:
    """Exact grants: aws-cdk-lib's table grants add every index, bucket grants wildcards."""
    function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=resources))


def _check_topic_prefix(prefix: str) -> None:
    if Token.is_unresolved(prefix):
        return
    # * and ? are wildcards in IAM and IoT policies: the grants on the prefix would widen.
    if (
        not prefix
        or prefix.startswith("$")
        or any(c in prefix for c in "+#*?")
        or prefix.endswith("/")
    ):
        raise ValueError(
            f"leaderboard_topic_prefix={prefix!r} is not a usable MQTT topic prefix: give "
            "levels without wildcards (+, #, and * or ? which policies read as wildcards), a "
            "leading $ or a trailing /, e.g. 'alleycat/races'."
        )
    if prefix.count("/") > _MAX_PREFIX_SLASHES or len(prefix.encode()) > _MAX_PREFIX_BYTES:
        raise ValueError(
            f"leaderboard_topic_prefix={prefix!r} has {prefix.count('/')} slashes and "
            f"{len(prefix.encode())} bytes: allowed are at most {_MAX_PREFIX_SLASHES} slashes "
            f"and {_MAX_PREFIX_BYTES} bytes, since '/<raceId>/leaderboard' is added and MQTT "
            "topics have at most 7 slashes and 256 bytes. Use a shorter prefix."
        )


def _publisher_level(topic: str) -> int | None:
    """The 1-based level of ``topic`` that names the publishing bike: its last, when ``+``."""
    if Token.is_unresolved(topic):
        return None
    levels = topic.split("/")
    return len(levels) if levels[-1] == "+" else None


def _check_topic_is_not_a_leaderboard(topic: str, prefix: str) -> None:
    # The stack would otherwise ingest its own leaderboards as (invalid) race messages.
    if Token.is_unresolved(topic) or Token.is_unresolved(prefix):
        return
    if _may_match(topic.split("/"), [*prefix.split("/"), None, "leaderboard"]):
        raise ValueError(
            f"topic={topic!r} matches the leaderboard topics "
            f"'{prefix}/<raceId>/leaderboard': the rule would put every published "
            "leaderboard on the race stream. Choose a topic outside "
            f"leaderboard_topic_prefix={prefix!r}."
        )


def _may_match(filter_levels: list[str], topic_levels: list[str | None]) -> bool:
    """Whether an MQTT topic filter matches a topic; a None level stands for any value."""
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        wanted = topic_levels[index]
        if wanted is not None and level not in ("+", wanted):
            return False
    return len(filter_levels) == len(topic_levels)
