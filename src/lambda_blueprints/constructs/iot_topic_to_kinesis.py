"""An AWS IoT Core topic rule that writes device messages into a Kinesis data stream."""

from __future__ import annotations

import re

from aws_cdk import Annotations, ArnFormat, Aws, Duration, Names, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_iot as iot
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from lambda_blueprints import _defaults, _mqtt
from lambda_blueprints._validation import check_choice

#: Rules engine SQL versions; 2016-03-23 is the one AWS recommends.
SQL_VERSIONS = ("2015-10-08", "2016-03-23", "beta")
#: A topic (and a topic filter) is at most 256 bytes of UTF-8...
MAX_TOPIC_BYTES = 256
#: ...with at most 7 forward slashes, so at most 8 levels.
MAX_TOPIC_SLASHES = 7
#: Rule names: letters, digits and underscores, 1-128 characters.
RULE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_]{1,128}")
#: A Kinesis partition key is 1-256 characters once the templates are substituted.
MAX_PARTITION_KEY_CHARS = 256
#: An S3 object key is at most 1,024 bytes of UTF-8.
MAX_OBJECT_KEY_BYTES = 1024
#: A new UUID per message: records spread evenly over every shard of the stream.
DEFAULT_PARTITION_KEY = "${newuuid()}"
#: Failed messages under their topic, by arrival time; the UUID keeps each one apart.
DEFAULT_ERROR_KEY = "${topic()}/${timestamp()}-${newuuid()}.json"

_TEMPLATE = re.compile(r"\$\{([^{}]*)\}")
_SQL_HEAD = re.compile(r"\s*(SELECT|SET)\s", re.IGNORECASE)
_SQL_SELECT = re.compile(r"\bSELECT\s", re.IGNORECASE)
_SQL_FROM = re.compile(r"\bFROM\s+'([^']*)'", re.IGNORECASE)


class IotTopicToKinesis(Construct):
    """An AWS IoT Core topic rule that puts every message of a topic into a Kinesis stream.

    Devices publish over MQTT (or HTTPS) to a topic; the rule's SQL selects the messages
    of ``topic_filter`` and its Kinesis action writes each one as a record (one
    ``PutRecord`` call per message) with the substituted ``partition_key``. A message the
    action cannot write (a throttled stream, a missing permission) goes to the error
    action, which keeps the rules engine's error document, with the original payload in
    base64, as an object in ``error_bucket``: the rules engine does not retry.

    The partition key decides the shard. A constant key sends every message to one shard,
    and a time-based key such as ``${timestamp()}`` sends every message of the same
    millisecond to the same shard; both make hot shards while the others idle. The default,
    a new UUID per message, spreads the load evenly. A field of the message (``${raceId}``)
    keeps that field's messages together, in order, for aggregation downstream, but caps
    each value at one shard's capacity.

    Capacity: a shard takes 1,000 records/s or 1 MiB/s, whichever comes first, and every
    message is one record, so 1,000 messages/s of about 170 bytes fill one shard's record
    rate at a fifth of its byte rate. Size the stream with :class:`KinesisFanOut`
    (``records_per_second`` = peak messages per second). The IoT message broker takes 100
    publishes a second per connection, and by default 20,000 a second per account in the
    larger Regions (an adjustable quota).

    Resources defined:
        * ``Rule``: the topic rule (``AWS::IoT::TopicRule``).
        * ``Role``: the role the rules engine assumes for both actions.
        * ``ErrorBucket`` (unless ``error_bucket`` is given): where failed messages go.
        * ``FailureAlarm``, ``ErrorActionFailureAlarm`` (unless ``alarms=False``).

    Default settings:
        * Rule: ``SELECT * FROM '<topic_filter>'``, SQL version 2016-03-23, enabled,
          partition key ``${newuuid()}``, error action to S3 under
          ``${topic()}/${timestamp()}-${newuuid()}.json``. The rule name is derived from
          the construct path unless ``rule_name`` is given.
        * Role: assumable by ``iot.amazonaws.com`` only for this rule in this account
          (``aws:SourceAccount`` and ``aws:SourceArn``); ``kinesis:PutRecord`` on the
          stream and ``s3:PutObject`` on the error bucket's objects, plus
          ``kms:GenerateDataKey`` on either one's customer managed key.
        * Error bucket: private, bucket owner enforced, TLS-only, SSE-KMS with the AWS
          managed key (or ``encryption_key``), retained on stack deletion.
        * Alarms: any failed Kinesis action (``Failure``) and any failed error action
          (``ErrorActionFailure``, a message lost) in a minute, missing data not
          breaching. AWS publishes these metrics with the dimensions ``RuleName`` and
          ``ActionType``, and does not document the ``ActionType`` values, so each alarm
          is a CloudWatch Metrics Insights query that sums the metric over every series
          of the rule: ``SELECT SUM(Failure) FROM "AWS/IoT" WHERE RuleName = '<rule>'``.

    Metrics: :meth:`metric_action_failures` and :meth:`metric_error_action_failures` give
    the alarms' queries, for dashboards or alarms of your own (and with ``alarms=False``).
    ``node.default_child`` is the ``Rule`` (:attr:`rule`), the escape hatch for its
    properties.

    Args:
        scope: The parent construct.
        construct_id: The construct id.
        stream: The Kinesis data stream the messages go to.
        topic_filter: The MQTT topic filter of the messages, e.g. ``alleycat-publish`` or
            ``bikes/+/telemetry``: at most 256 bytes and 8 levels, ``+`` and ``#`` only as
            whole levels, ``#`` only last.
        sql: The rule's SQL, a SELECT whose FROM names ``topic_filter``. Defaults to
            ``SELECT * FROM '<topic_filter>'``.
        sql_version: ``2016-03-23``, ``2015-10-08`` or ``beta``. Defaults to 2016-03-23.
        partition_key: The records' partition key, a substitution template. Defaults to
            ``${newuuid()}``.
        rule_name: The rule name: letters, digits and underscores, 1-128 characters.
        error_bucket: An existing bucket for the failed messages; the construct grants
            ``s3:PutObject`` on its objects (and its key's ``kms:GenerateDataKey``).
        error_key: The object key of a failed message, a substitution template that must
            contain the template ``${newuuid()}`` (not the bare text ``newuuid()``) so that
            no failed message overwrites another.
        encryption_key: Customer managed key for the error bucket this construct creates.
        alarm_topic: SNS topic for the alarms' notifications.
        description: The rule description.
        enabled: Whether the rule routes messages. Defaults to True.
        server_access_logs_bucket: A bucket (same account and Region, default encryption
            SSE-S3) for the S3 server access logs of the error bucket this construct
            creates: every read of the kept messages, and every write. Defaults to none.
        server_access_logs_prefix: Key prefix of those logs. Defaults to the bucket's
            unique id and a slash.
        alarms: Create the alarms. Defaults to True; with False, :attr:`alarms` is empty
            and the ``metric_*`` methods give the same queries for alarms of your own.

    Raises:
        ValueError: When a prop is outside its AWS limit, the SQL does not read
            ``topic_filter``, or ``encryption_key`` or server access logging comes with
            ``error_bucket``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stream: kinesis.IStream,
        topic_filter: str,
        sql: str | None = None,
        sql_version: str = "2016-03-23",
        partition_key: str = DEFAULT_PARTITION_KEY,
        rule_name: str | None = None,
        error_bucket: s3.IBucket | None = None,
        error_key: str = DEFAULT_ERROR_KEY,
        encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
        description: str | None = None,
        enabled: bool = True,
        server_access_logs_bucket: s3.IBucket | None = None,
        server_access_logs_prefix: str | None = None,
        alarms: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        if error_bucket is not None and (
            server_access_logs_bucket is not None or server_access_logs_prefix is not None
        ):
            raise ValueError(
                "server_access_logs_bucket and server_access_logs_prefix configure the error "
                "bucket this construct creates, but error_bucket was given: turn on server "
                "access logging on your bucket itself, or remove error_bucket."
            )
        check_topic_filter("topic_filter", topic_filter)
        if sql is None:
            sql = default_sql(topic_filter)
        else:
            _check_sql(sql, topic_filter)
        check_choice(
            "sql_version",
            sql_version,
            SQL_VERSIONS,
            fix="2016-03-23 is the version AWS recommends.",
        )
        _check_partition_key(partition_key)
        if not Token.is_unresolved(partition_key) and not _TEMPLATE.search(partition_key):
            Annotations.of(self).add_warning_v2(
                "lambda-blueprints:constantPartitionKey",
                f"partition_key={partition_key!r} is a constant: every message goes to the "
                "same shard. Use a template such as ${newuuid()} to spread the load.",
            )
        _check_error_key(error_key)
        if error_bucket is not None and encryption_key is not None:
            raise ValueError(
                "encryption_key applies to the error bucket this construct creates, and "
                "error_bucket was given: the given bucket keeps its own encryption. Remove "
                "encryption_key."
            )
        if rule_name is None:
            rule_name = Names.unique_resource_name(self, max_length=128, separator="_")
        else:
            _check_rule_name(rule_name)

        #: The MQTT topic filter the rule reads.
        self.topic_filter = topic_filter
        #: The rule name (the ``RuleName`` dimension of the rule's metrics).
        self.rule_name = rule_name
        rule_arn = Stack.of(self).format_arn(
            service="iot",
            resource="rule",
            resource_name=rule_name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

        #: Where the error action keeps the messages the Kinesis action could not write.
        self.error_bucket: s3.IBucket = error_bucket or _defaults.secure_bucket(
            self,
            "ErrorBucket",
            encryption_key=encryption_key,
            server_access_logs_bucket=server_access_logs_bucket,
            server_access_logs_prefix=server_access_logs_prefix,
            access_logs_note="No server_access_logs_bucket was given, and S3 delivers server "
            "access logs only to another bucket of the same account and Region, which the "
            "construct leaves to its user. Within this construct only the rule's role may "
            "write (one new object per failed message), and the error-action alarm reports "
            "failed writes. Pass server_access_logs_bucket, or log S3 data events in "
            "CloudTrail, to audit reads of the kept messages.",
        )

        #: The role the rules engine assumes to run the rule's actions.
        self.role = iam.Role(
            self,
            "Role",
            # Confused-deputy guard: only this rule, in this account, can assume the role.
            assumed_by=iam.ServicePrincipal(
                "iot.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": rule_arn},
                },
            ),
            description=f"Lets the IoT rule {rule_name} put records and keep failed messages",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["kinesis:PutRecord"], resources=[stream.stream_arn])
        )
        object_arns = self.error_bucket.arn_for_objects("*")
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[object_arns])
        )
        # Writing with a customer managed key needs a data key of it; an AWS managed key
        # (aws/kinesis, aws/s3) admits the account's principals by its own policy.
        for key in (stream.encryption_key, self.error_bucket.encryption_key):
            if key is not None:
                self.role.add_to_policy(
                    iam.PolicyStatement(actions=["kms:GenerateDataKey"], resources=[key.key_arn])
                )
        _defaults.acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::{_defaults.nag_form(Stack.of(self).resolve(object_arns))}]",
            "s3:PutObject names objects, which exist only once written: the rules engine "
            "writes each failed message under a new key, so the grant covers the objects "
            "of the error bucket and nothing else.",
        )

        #: The topic rule.
        self.rule = iot.CfnTopicRule(
            self,
            "Rule",
            rule_name=rule_name,
            topic_rule_payload=iot.CfnTopicRule.TopicRulePayloadProperty(
                sql=sql,
                aws_iot_sql_version=sql_version,
                description=description,
                rule_disabled=not enabled,
                actions=[
                    iot.CfnTopicRule.ActionProperty(
                        kinesis=iot.CfnTopicRule.KinesisActionProperty(
                            stream_name=stream.stream_name,
                            partition_key=partition_key,
                            role_arn=self.role.role_arn,
                        )
                    )
                ],
                error_action=iot.CfnTopicRule.ActionProperty(
                    s3=iot.CfnTopicRule.S3ActionProperty(
                        bucket_name=self.error_bucket.bucket_name,
                        key=error_key,
                        role_arn=self.role.role_arn,
                    )
                ),
            ),
        )
        # The policy before the rule: the first messages would otherwise fail for lack of it.
        self.rule.node.add_dependency(self.role)
        # The escape hatch, set rather than by naming the child "Resource": a new id would
        # change the rule's logical id, which CloudFormation replaces.
        self.node.default_child = self.rule

        #: The rule's alarms, by role: ``action_failures``, ``error_action_failures``
        #: (empty with ``alarms=False``).
        self.alarms: dict[str, cloudwatch.Alarm] = self._alarms(alarm_topic) if alarms else {}

    def grant_publish(self, grantee: iam.IGrantable, topic: str | None = None) -> iam.Grant:
        """Let ``grantee`` publish to ``topic``, a topic that the rule's filter matches.

        This is an IAM grant, for principals that publish with AWS credentials (the HTTPS
        endpoint, or MQTT over WebSocket with ``iot:Connect`` granted as well); devices
        that connect with X.509 certificates are authorized by AWS IoT policies instead.

        Args:
            grantee: The principal that publishes.
            topic: A concrete topic (no wildcards). Defaults to the topic filter when it
                has no wildcards.

        Raises:
            ValueError: When no concrete topic is known, or the rule would not read it.
        """
        if topic is None:
            if _has_wildcard(self.topic_filter):
                raise ValueError(
                    f"grant_publish(topic=None) with topic_filter={self.topic_filter!r}: a "
                    "filter with wildcards is not a topic. Give the topic to publish to, "
                    "e.g. topic='bikes/42/telemetry'."
                )
            topic = self.topic_filter
        check_topic_filter("topic", topic)
        if _has_wildcard(topic):
            raise ValueError(
                f"topic={topic!r} contains a wildcard: + and # are not wildcards in an IAM "
                "topic ARN. Give a concrete topic."
            )
        if not topic_matches(self.topic_filter, topic):
            raise ValueError(
                f"topic={topic!r} does not match topic_filter={self.topic_filter!r}: the "
                "rule would never see its messages. Give a topic the filter matches."
            )
        topic_arn = Stack.of(self).format_arn(
            service="iot",
            resource="topic",
            resource_name=topic,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["iot:Publish"], resource_arns=[topic_arn]
        )

    def metric_action_failures(
        self, *, period: Duration | None = None
    ) -> cloudwatch.MathExpression:
        """Messages the Kinesis action could not put into the stream (kept in the bucket).

        ``SUM(Failure)`` over every series of the rule, a Metrics Insights query (see
        "Alarms" above): the ``action_failures`` alarm's metric, per minute unless told
        otherwise.
        """
        return self._rule_metric("Failure", period)

    def metric_error_action_failures(
        self, *, period: Duration | None = None
    ) -> cloudwatch.MathExpression:
        """Messages the error action could not keep either: lost messages.

        ``SUM(ErrorActionFailure)`` over every series of the rule, a Metrics Insights query:
        the ``error_action_failures`` alarm's metric, per minute unless told otherwise.
        """
        return self._rule_metric("ErrorActionFailure", period)

    def _rule_metric(self, metric_name: str, period: Duration | None) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression=_rule_metric_query(metric_name, self.rule.ref),
            period=period or Duration.minutes(1),
        )

    def _alarms(self, topic: sns.ITopic | None) -> dict[str, cloudwatch.Alarm]:
        alarms: dict[str, cloudwatch.Alarm] = {}
        for key, construct_id, metric, what in (
            (
                "action_failures",
                "FailureAlarm",
                self.metric_action_failures,
                "The rule could not put messages into the stream (throttled, denied or "
                "missing); the error action keeps them in the error bucket.",
            ),
            (
                "error_action_failures",
                "ErrorActionFailureAlarm",
                self.metric_error_action_failures,
                "The rule's error action failed: messages that did not reach the stream "
                "were not kept either, and are lost.",
            ),
        ):
            alarm = cloudwatch.Alarm(
                self,
                construct_id,
                alarm_description=what,
                metric=metric(),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarms[key] = _defaults.add_alarm_action(alarm, topic)
        return alarms


def _rule_metric_query(metric_name: str, rule_name: str) -> str:
    """A Metrics Insights query: the sum of a rule metric over all of the rule's series.

    A metric alarm matches one exact dimension set, and AWS publishes the rule action
    metrics with ``RuleName`` and ``ActionType`` without documenting the ``ActionType``
    values: a ``RuleName``-only alarm would never see data. The query reads the namespace
    without ``SCHEMA(...)`` so that every dimension set that has this ``RuleName`` counts;
    a series counted twice cannot matter to an alarm at 1 or more.
    """
    return (
        f'SELECT SUM({metric_name}) FROM "AWS/IoT" '  # noqa: S608 - a CloudWatch query
        f"WHERE RuleName = '{rule_name}'"
    )


def check_topic_filter(prop: str, value: str) -> None:
    """Raise unless ``value`` is an MQTT topic filter that an AWS IoT rule can read.

    At most 256 bytes of UTF-8 and 7 slashes, no empty filter, ``+`` and ``#`` only as whole
    levels and ``#`` only last. Topics that start with ``$`` are reserved: a rule reads the
    ``$aws/`` ones that AWS services publish (shadows, events), never ``$aws/rules/``
    (Basic Ingest, which names the rule rather than a topic).
    """
    if Token.is_unresolved(value):
        return
    size = len(value.encode())
    if not 1 <= size <= MAX_TOPIC_BYTES:
        raise ValueError(
            f"{prop}={value!r} is {size} bytes: a topic filter is 1 to {MAX_TOPIC_BYTES} "
            "bytes of UTF-8. Shorten it."
        )
    if value.count("/") > MAX_TOPIC_SLASHES:
        raise ValueError(
            f"{prop}={value!r} has {value.count('/')} slashes: AWS IoT allows at most "
            f"{MAX_TOPIC_SLASHES} (8 levels). Use fewer levels."
        )
    if "'" in value or "\0" in value:
        raise ValueError(
            f"{prop}={value!r} contains a quote or a NUL character, which a topic filter "
            "in the rule's FROM clause cannot hold. Remove it."
        )
    levels = value.split("/")
    for index, level in enumerate(levels):
        if ("+" in level and level != "+") or ("#" in level and level != "#"):
            raise ValueError(
                f"{prop}={value!r}: the wildcards + and # must fill a whole level, as in "
                "'bikes/+/telemetry' or 'bikes/#'."
            )
        if level == "#" and index != len(levels) - 1:
            raise ValueError(
                f"{prop}={value!r}: the multi-level wildcard # must be the last level, as "
                "in 'bikes/#'."
            )
    if value.startswith("$aws/rules/") or value == "$aws/rules":
        raise ValueError(
            f"{prop}={value!r} is a Basic Ingest topic: publishing to "
            "$aws/rules/<rule_name>/<topic> invokes the rule directly, and the rule's "
            "filter names <topic>. Give the topic without the $aws/rules/<rule_name>/ prefix."
        )
    if value.startswith("$") and not value.startswith("$aws/"):
        raise ValueError(
            f"{prop}={value!r}: topics that start with $ are reserved by AWS IoT, and only "
            "the $aws/ topics that AWS services publish can be read. Remove the $."
        )


def default_sql(topic_filter: str) -> str:
    """The rule query that selects every message of ``topic_filter`` whole."""
    return f"SELECT * FROM '{topic_filter}'"  # noqa: S608 - IoT rule SQL, not a database


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether the MQTT ``topic_filter`` matches the concrete ``topic``.

    The MQTT rules are those of the local cloud's rules engine (``lambda_blueprints._mqtt``),
    so a grant and the local test of a rule agree: a filter that starts with a wildcard does
    not match a ``$aws/`` topic.
    """
    return _mqtt.topic_matches(topic_filter, topic)


def _has_wildcard(topic_filter: str) -> bool:
    return any(level in ("+", "#") for level in topic_filter.split("/"))


def _check_sql(sql: str, topic_filter: str) -> None:
    if Token.is_unresolved(sql):
        return
    match = _SQL_FROM.search(sql)
    if not _SQL_HEAD.match(sql) or not _SQL_SELECT.search(sql) or match is None:
        raise ValueError(
            f"sql={sql!r} is not a rule query: it must be a SELECT whose FROM names the "  # noqa: S608
            f"topic filter in single quotes, e.g. {default_sql(topic_filter)!r}."
        )
    if match.group(1) != topic_filter:
        raise ValueError(
            f"sql reads FROM {match.group(1)!r} but topic_filter={topic_filter!r}: the two "
            "must name the same topic filter. Change one of them."
        )


def _check_template(prop: str, value: str) -> str:
    """Raise unless every ``${...}`` of ``value`` is closed and not empty.

    Returns:
        The text outside the templates.
    """
    literal = _TEMPLATE.sub("", value)
    if "${" in literal or any(not m.group(1).strip() for m in _TEMPLATE.finditer(value)):
        raise ValueError(
            f"{prop}={value!r} has an unclosed or empty substitution template: write each "
            "one as ${expression}, e.g. ${newuuid()} or ${topic()}."
        )
    return literal


def _check_partition_key(value: str) -> None:
    if Token.is_unresolved(value):
        return
    if not value.strip():
        raise ValueError(
            f"partition_key={value!r} is empty: Kinesis needs a 1-256 character key. Use "
            "${newuuid()} (the default) to spread records over the shards."
        )
    literal = _check_template("partition_key", value)
    if len(literal) > MAX_PARTITION_KEY_CHARS:
        raise ValueError(
            f"partition_key={value!r} has {len(literal)} fixed characters: a Kinesis "
            f"partition key is at most {MAX_PARTITION_KEY_CHARS}. Shorten it."
        )


def _check_error_key(value: str) -> None:
    if Token.is_unresolved(value):
        return
    literal = _check_template("error_key", value)
    if not value.strip() or len(literal.encode()) > MAX_OBJECT_KEY_BYTES:
        raise ValueError(
            f"error_key={value!r}: an S3 object key is 1 to {MAX_OBJECT_KEY_BYTES:,} bytes. "
            f"Use a template such as {DEFAULT_ERROR_KEY!r}."
        )
    # Only a ${...} template is substituted: a bare "newuuid()" is literal text, and every
    # failed message would then overwrite the same object.
    if not any(m.group(1).strip() == "newuuid()" for m in _TEMPLATE.finditer(value)):
        raise ValueError(
            f"error_key={value!r} does not contain ${{newuuid()}} as a substitution "
            "template: two failed messages with the same key overwrite each other. Add "
            f"${{newuuid()}} to the key, e.g. {DEFAULT_ERROR_KEY!r}."
        )


def _check_rule_name(value: str) -> None:
    if Token.is_unresolved(value):
        return
    if not RULE_NAME_PATTERN.fullmatch(value):
        raise ValueError(
            f"rule_name={value!r} is not a rule name: 1 to 128 letters, digits and "
            "underscores. Replace other characters with underscores."
        )
