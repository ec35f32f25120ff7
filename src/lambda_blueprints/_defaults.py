"""Secure, operable defaults shared by every construct of the library.

Constructs build their functions, queues and alarms through these helpers so that every
resource the library creates starts from the same baseline; a construct may strengthen a
default, never weaken it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Aws, Duration, Names, RemovalPolicy, Stack, Validations
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct, IConstruct

from lambda_blueprints import _code

#: Newest Python runtime that aws-cdk-lib offers and cdk-nag's LambdaLatestVersion accepts.
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_14
#: Graviton: about 20% cheaper per GB-second than x86_64 for the same work.
ARCHITECTURE = lambda_.Architecture.ARM_64
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
MEMORY_SIZE_MIB = 256
TIMEOUT = Duration.seconds(30)
#: Lambda's limit of layers per function.
MAX_LAYERS = 5

#: Version of the AWS-published Powertools for AWS Lambda (Python) v3 layer. The layer is
#: published with the same version number for every Python version and architecture.
POWERTOOLS_LAYER_VERSION = 38
#: The account that publishes the Powertools layers in the commercial partition.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"

#: Stream event source mappings: retries before a batch goes to the on-failure
#: destination. Bisection does not use up retries, so 3 still isolates a poison record.
STREAM_RETRY_ATTEMPTS = 3
#: Stream event source mappings: records older than this go to the on-failure destination.
STREAM_MAX_RECORD_AGE = Duration.hours(24)
#: DynamoDB Streams keeps records for 24 hours; the retention cannot be changed.
DYNAMODB_STREAM_RETENTION = Duration.hours(24)
#: Kinesis Data Streams default retention, used when the retention of a stream is unknown.
KINESIS_DEFAULT_RETENTION = Duration.hours(24)
#: SQS maximum retention: failure records stay as long as SQS allows.
FAILURE_QUEUE_RETENTION = Duration.days(14)


def powertools_layer(scope: Construct, architecture: lambda_.Architecture) -> lambda_.ILayerVersion:
    """Return the AWS-published Powertools layer for the architecture, once per stack."""
    stack = Stack.of(scope)
    # jsii hands out a new proxy per access: compare architectures by name, not identity.
    suffix = "arm64" if architecture.name == lambda_.Architecture.ARM_64.name else "x86_64"
    construct_id = f"PowertoolsLayer{suffix.replace('_', '')}"
    existing = stack.node.try_find_child(construct_id)
    if existing is not None:
        return existing  # type: ignore[return-value]
    python_tag = PYTHON_RUNTIME.name.replace(".", "")  # python3.14 -> python314
    arn = (
        f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{python_tag}-{suffix}:{POWERTOOLS_LAYER_VERSION}"
    )
    return lambda_.LayerVersion.from_layer_version_arn(stack, construct_id, arn)


def build_function(
    scope: Construct,
    *,
    handler: str,
    service_name: str,
    description: str,
    memory_size: int = MEMORY_SIZE_MIB,
    timeout: Duration = TIMEOUT,
    environment: Mapping[str, str] | None = None,
    log_retention: logs.RetentionDays = LOG_RETENTION,
    log_level: str = "INFO",
    encryption_key: kms.IKey | None = None,
    reserved_concurrent_executions: int | None = None,
    wildcard_resource_note: str = "",
    code: lambda_.Code | str | os.PathLike[str] | None = None,
    layers: Sequence[lambda_.ILayerVersion] = (),
    runtime_helpers: bool | None = None,
    architecture: lambda_.Architecture = ARCHITECTURE,
    dead_letter_queue: sqs.IQueue | None = None,
    function_id: str = "Function",
) -> tuple[lambda_.Function, logs.LogGroup, iam.Role]:
    """Create a function with the library's baseline under ``scope``.

    Defines ``Role`` (its own, no managed policies), ``LogGroup`` (explicit, finite
    retention, removed with the stack) and ``Function`` (latest Python runtime, ARM64, JSON
    logs, active tracing, Powertools layer, recursive loops terminated).

    Args:
        scope: The construct that owns the three resources.
        handler: ``<module>.<function>`` of ``code``, or with no code one of the library's
            handlers, e.g. ``lambda_blueprints.runtime.audit_trail.handler.lambda_handler``;
            checked at synth (:func:`lambda_blueprints._code.check_handler`).
        service_name: ``POWERTOOLS_SERVICE_NAME`` of the function.
        description: The function description.
        memory_size: Memory in MiB (128-10240).
        timeout: Function timeout (1 s-15 min).
        environment: Extra environment variables.
        log_retention: Retention of the log group.
        log_level: Application log level (``DEBUG``, ``INFO``, ``WARN``, ``ERROR``).
        encryption_key: Optional customer managed key for the log group and the
            environment variables.
        reserved_concurrent_executions: Optional reserved concurrency.
        wildcard_resource_note: Why further actions that the caller grants the role need
            ``Resource: *`` (added to the cdk-nag acknowledgment of the role).
        code: The function's code: any ``lambda_.Code``, or the path of a folder, bundled
            with its dependencies without Docker. Defaults to the library's runtime.
        layers: Further layers, after the Powertools layer (and the runtime layer).
        runtime_helpers: Add the library's runtime layer, so that the code imports
            ``lambda_blueprints.runtime``. Defaults to adding it when the code is a local
            folder that imports ``lambda_blueprints`` (never for the library's own code,
            which contains the runtime).
        architecture: ``ARM_64`` (default) or ``X86_64``.
        dead_letter_queue: Queue for failed asynchronous invocations.
        function_id: Construct id of the function.

    Returns:
        The function, its log group and its role.
    """
    if isinstance(code, str | os.PathLike):
        code = _code.folder_code(code, architecture=architecture, runtime=PYTHON_RUNTIME)
    _code.check_handler(handler, code)
    if runtime_helpers is None:
        runtime_helpers = code is not None and (
            _code.imports_runtime(code) or _code.served_by_layer(handler, code)
        )
    if encryption_key is not None:
        allow_logs_to_use(encryption_key)
    role = iam.Role(
        scope,
        "Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"Execution role of {service_name}",
    )
    log_group = logs.LogGroup(
        scope,
        "LogGroup",
        retention=log_retention,
        encryption_key=encryption_key,
        removal_policy=RemovalPolicy.DESTROY,
    )
    env = {
        "POWERTOOLS_SERVICE_NAME": service_name,
        "POWERTOOLS_LOG_LEVEL": log_level,
    }
    env.update(environment or {})
    all_layers = [powertools_layer(scope, architecture)]
    if runtime_helpers:
        all_layers.append(_code.runtime_layer(scope))
    all_layers.extend(layers)
    if len(all_layers) > MAX_LAYERS:
        raise ValueError(
            f"layers: {len(all_layers)} layers in all (the Powertools layer"
            f"{' and the runtime layer' if runtime_helpers else ''} included); Lambda allows "
            f"at most {MAX_LAYERS}. Merge layers, or put the packages into the code."
        )
    function = lambda_.Function(
        scope,
        function_id,
        runtime=PYTHON_RUNTIME,
        architecture=architecture,
        code=code if code is not None else _code.runtime_code(),
        handler=handler,
        description=description,
        role=role,
        memory_size=memory_size,
        timeout=timeout,
        environment=env,
        environment_encryption=encryption_key,
        layers=all_layers,
        log_group=log_group,
        logging_format=lambda_.LoggingFormat.JSON,
        application_log_level_v2=lambda_.ApplicationLogLevel(log_level),
        system_log_level_v2=lambda_.SystemLogLevel.WARN,
        tracing=lambda_.Tracing.ACTIVE,
        recursive_loop=lambda_.RecursiveLoop.TERMINATE,
        reserved_concurrent_executions=reserved_concurrent_executions,
        dead_letter_queue=dead_letter_queue,
    )
    log_group.grant_write(role)
    acknowledge(
        role,
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level "
        "permissions; active tracing adds them and they allow nothing else."
        + (f" {wildcard_resource_note}" if wildcard_resource_note else ""),
    )
    return function, log_group, role


def allow_logs_to_use(key: kms.IKey) -> None:
    """Let CloudWatch Logs encrypt this account and region's log groups with ``key``.

    Without it, creating a log group encrypted with the key fails. A key imported from
    elsewhere keeps its own policy, which must already allow this.
    """
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogsOfThisRegion",
            principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
            actions=[
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:DescribeKey",
            ],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                    )
                }
            },
        )
    )


def secure_table(
    scope: Construct,
    construct_id: str,
    *,
    partition_key: dynamodb.Attribute,
    sort_key: dynamodb.Attribute | None = None,
    stream: dynamodb.StreamViewType | None = None,
    time_to_live_attribute: str | None = None,
    encryption_key: kms.IKey | None = None,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> dynamodb.Table:
    """Create a table with the library's baseline.

    On-demand billing, point-in-time recovery, KMS encryption with the AWS managed key (or
    ``encryption_key``), retained on stack deletion unless told otherwise.
    ``dynamodb.Table`` rather than ``TableV2``: a TableV2 with a customer managed key needs a
    stack with a concrete region, and the library's stacks are environment-agnostic.
    """
    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=partition_key,
        sort_key=sort_key,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        stream=stream,
        time_to_live_attribute=time_to_live_attribute,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        encryption=(
            dynamodb.TableEncryption.CUSTOMER_MANAGED
            if encryption_key
            else dynamodb.TableEncryption.AWS_MANAGED
        ),
        encryption_key=encryption_key,
        removal_policy=removal_policy,
    )


def pk_sk_table(
    scope: Construct,
    construct_id: str,
    *,
    stream: dynamodb.StreamViewType | None = None,
    time_to_live_attribute: str | None = None,
    encryption_key: kms.IKey | None = None,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> dynamodb.Table:
    """A :func:`secure_table` with string keys ``pk`` and ``sk`` (audit and results tables)."""
    return secure_table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
        stream=stream,
        time_to_live_attribute=time_to_live_attribute,
        encryption_key=encryption_key,
        removal_policy=removal_policy,
    )


def secure_bucket(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: kms.IKey | None = None,
    versioned: bool = False,
    expiration: Duration | None = None,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    server_access_logs_bucket: s3.IBucket | None = None,
    server_access_logs_prefix: str | None = None,
    access_logs_note: str | None = None,
) -> s3.Bucket:
    """Create a private bucket with the library's baseline.

    Public access blocked, bucket owner enforced (no ACLs), TLS-only, SSE-KMS with the AWS
    managed key ``aws/s3`` (or ``encryption_key``, with S3 Bucket Keys to cut KMS calls),
    optional versioning and object expiration, retained on stack deletion unless told
    otherwise. Server access logs go to ``server_access_logs_bucket`` under
    ``server_access_logs_prefix`` (default: ``<the bucket's unique id>/``) when one is
    given (see :func:`log_requests_to`);
    otherwise ``access_logs_note`` says why this bucket can do without them (it goes into
    the cdk-nag acknowledgment).
    """
    bucket = s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        encryption=s3.BucketEncryption.KMS if encryption_key else s3.BucketEncryption.KMS_MANAGED,
        encryption_key=encryption_key,
        bucket_key_enabled=encryption_key is not None,
        versioned=versioned,
        lifecycle_rules=[s3.LifecycleRule(expiration=expiration)] if expiration else None,
        removal_policy=removal_policy,
    )
    if server_access_logs_bucket is not None:
        prefix = server_access_logs_prefix
        log_requests_to(
            bucket,
            server_access_logs_bucket,
            f"{Names.unique_id(bucket)}/" if prefix is None else prefix,
        )
    elif access_logs_note is None:
        raise ValueError("a bucket without server access logs needs an access_logs_note")
    else:
        acknowledge(bucket, "AwsSolutions-S1", access_logs_note)
    return bucket


#: How long the server access logs bucket keeps its logs unless told otherwise.
ACCESS_LOGS_RETENTION = Duration.days(90)


def access_logs_bucket(
    scope: Construct,
    construct_id: str,
    *,
    expiration: Duration = ACCESS_LOGS_RETENTION,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> s3.Bucket:
    """Create a bucket that receives the S3 server access logs of other buckets.

    Private, TLS-only, owner enforced, logs expire after ``expiration``. Encrypted with
    SSE-S3: S3 does not deliver server access logs to a bucket whose default encryption is
    SSE-KMS.
    """
    bucket = s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        encryption=s3.BucketEncryption.S3_MANAGED,
        lifecycle_rules=[s3.LifecycleRule(expiration=expiration)],
        removal_policy=removal_policy,
    )
    acknowledge(
        bucket,
        "AwsSolutions-S1",
        "This bucket is the destination of the server access logs of the other buckets; a "
        "log destination that logged its own requests would log the delivery of its logs "
        "without end. Reads of the logs can be audited with CloudTrail data events.",
    )
    return bucket


def log_requests_to(bucket: s3.Bucket, target: s3.IBucket, prefix: str) -> None:
    """Deliver ``bucket``'s S3 server access logs to ``target`` under ``prefix``.

    The delivery is allowed by a statement in ``target``'s bucket policy for the logging
    service, limited to this source bucket and account, which works with ACLs disabled
    (``BucketOwnerEnforced``) whatever the app's S3 feature flags. A target bucket
    imported from elsewhere keeps its own policy, which must allow the delivery.
    """
    cfn_bucket = bucket.node.default_child
    assert isinstance(cfn_bucket, s3.CfnBucket)  # noqa: S101 - s3.Bucket's L1
    cfn_bucket.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
        destination_bucket_name=target.bucket_name, log_file_prefix=prefix or None
    )
    target.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"],
            resources=[target.arn_for_objects(f"{prefix}*")],
            conditions={
                "ArnLike": {"aws:SourceArn": bucket.bucket_arn},
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            },
        )
    )


def failure_queue(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: kms.IKey | None = None,
) -> sqs.Queue:
    """Create a KMS-encrypted, TLS-only queue that keeps failure records for 14 days.

    The queue is a terminal store (an on-failure destination or a dead-letter queue): it has
    no redrive of its own, which the acknowledgments on it record.
    """
    queue = sqs.Queue(
        scope,
        construct_id,
        # SSE-KMS with the AWS managed key (alias/aws/sqs) unless a key is given: key use
        # shows in CloudTrail, and the key policy already admits the account's principals.
        encryption=sqs.QueueEncryption.KMS if encryption_key else sqs.QueueEncryption.KMS_MANAGED,
        encryption_master_key=encryption_key,
        enforce_ssl=True,
        retention_period=FAILURE_QUEUE_RETENTION,
        removal_policy=RemovalPolicy.RETAIN,
    )
    reason = (
        "This queue is itself the failure destination that holds records no consumer could "
        "process; a redrive target behind it would only move the same records again."
    )
    acknowledge(queue, "AwsSolutions-SQS3", reason)
    acknowledge(queue, "Serverless-SQSRedrivePolicy", reason)
    return queue


def add_alarm_action(alarm: cloudwatch.Alarm, topic: sns.ITopic | None) -> cloudwatch.Alarm:
    """Send the alarm's ALARM and OK transitions to ``topic`` when one is given."""
    if topic is not None:
        action = cloudwatch_actions.SnsAction(topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
    return alarm


def function_alarms(
    scope: Construct,
    function: lambda_.IFunction,
    *,
    topic: sns.ITopic | None,
) -> dict[str, cloudwatch.Alarm]:
    """Create the Errors and Throttles alarms of one function, dimensioned by its name."""
    errors = cloudwatch.Alarm(
        scope,
        "ErrorsAlarm",
        alarm_description="The function raised errors: whole batches failed and are retried.",
        metric=function.metric_errors(period=Duration.minutes(1), statistic="Sum"),
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    throttles = cloudwatch.Alarm(
        scope,
        "ThrottlesAlarm",
        alarm_description="Invocations of the function were throttled.",
        metric=function.metric_throttles(period=Duration.minutes(1), statistic="Sum"),
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    return {
        "errors": add_alarm_action(errors, topic),
        "throttles": add_alarm_action(throttles, topic),
    }


def queue_depth_alarm(
    scope: Construct,
    construct_id: str,
    queue: sqs.IQueue,
    *,
    topic: sns.ITopic | None,
    description: str,
) -> cloudwatch.Alarm:
    """Alarm as soon as one message waits in ``queue`` (a failure store should stay empty)."""
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_description=description,
        metric=queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(1), statistic="Maximum"
        ),
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    return add_alarm_action(alarm, topic)


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on ``construct`` and everything below it."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def nag_form(value: Any) -> str:
    """Render a resolved ARN the way cdk-nag names it in a granular finding id."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(nag_form(part) for part in parts)
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return re.sub(r"\$\{([^}!][^}]*)\}", r"<\1>", value["Fn::Sub"])
    return json.dumps(value, sort_keys=True)


@jsii.implements(lambda_.IDestination)
class QueueOnFailure:
    """An SQS on-failure destination for asynchronous invocations, granted exactly.

    aws-cdk-lib's ``SqsDestination`` grants ``kms:ReEncrypt*`` and ``kms:GenerateDataKey*``
    on a customer managed queue key; sending a message needs ``kms:GenerateDataKey`` and
    ``kms:Decrypt`` only.
    """

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self,
        _scope: Construct,
        fn: lambda_.IFunction,
        *,
        type: lambda_.DestinationType | None = None,  # noqa: A002 - the jsii interface's name
    ) -> lambda_.DestinationConfig:
        self._queue.grant(fn, "sqs:SendMessage")
        if self._queue.encryption_master_key is not None:
            self._queue.encryption_master_key.grant(fn, "kms:GenerateDataKey", "kms:Decrypt")
        return lambda_.DestinationConfig(destination=self._queue.queue_arn)


def api_access_log_format() -> apigateway.AccessLogFormat:
    """The JSON access log line of the library's REST API stages: who called what, how."""
    return apigateway.AccessLogFormat.json_with_standard_fields(
        caller=True,
        http_method=True,
        ip=True,
        protocol=True,
        request_time=True,
        resource_path=True,
        response_length=True,
        status=True,
        user=True,
    )


def api_execution_logs(
    scope: Construct,
    rest_api: apigateway.RestApi,
    stage_name: str,
    encryption_key: kms.IKey | None,
) -> logs.LogGroup:
    """The stage's execution log group, created here with retention before the stage is.

    API Gateway would create ``API-Gateway-Execution-Logs_<api id>/<stage>`` itself, kept
    forever and unencrypted; the stage depends on this one so that it exists first.
    """
    group = logs.LogGroup(
        scope,
        "ExecutionLogs",
        log_group_name=f"API-Gateway-Execution-Logs_{rest_api.rest_api_id}/{stage_name}",
        retention=LOG_RETENTION,
        encryption_key=encryption_key,
        removal_policy=RemovalPolicy.DESTROY,
    )
    rest_api.deployment_stage.node.add_dependency(group)
    return group


def api_alarms(
    scope: Construct,
    api_name: str,
    *,
    client_errors: cloudwatch.Metric,
    server_errors: cloudwatch.Metric,
    latency: cloudwatch.Metric,
    topic: sns.ITopic | None,
) -> dict[str, cloudwatch.Alarm]:
    """An API's alarms: 4XX above 5% of requests, any 5XX, p90 latency over 1 second.

    Args:
        scope: Where the alarms go (``ClientErrorsAlarm``, ``ServerErrorsAlarm``,
            ``LatencyAlarm``).
        api_name: The API's name in the alarm descriptions.
        client_errors: The 4XX metric as an average (a share of requests, 5 minutes).
        server_errors: The 5XX metric as a sum (1 minute).
        latency: The p90 latency in milliseconds (5 minutes; 3 periods alarm).
        topic: SNS topic for the notifications, or None.
    """
    above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    at_least = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
    alarms: dict[str, cloudwatch.Alarm] = {}
    for key, construct_id, description, metric, threshold, periods, operator in (
        (
            "client_errors",
            "ClientErrorsAlarm",
            f"More than 5% of the requests to {api_name} were answered 4XX.",
            client_errors,
            0.05,
            1,
            above,
        ),
        (
            "server_errors",
            "ServerErrorsAlarm",
            f"{api_name} answered 5XX.",
            server_errors,
            1,
            1,
            at_least,
        ),
        (
            "latency",
            "LatencyAlarm",
            f"The p90 latency of {api_name} is over 1 second.",
            latency,
            1000,
            3,
            above,
        ),
    ):
        alarm = cloudwatch.Alarm(
            scope,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            comparison_operator=operator,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarms[key] = add_alarm_action(alarm, topic)
    return alarms


def associate_web_acl(
    scope: Construct, rest_api: apigateway.RestApi, web_acl_arn: str | None, reason: str
) -> None:
    """Put ``web_acl_arn`` in front of the API's stage, or acknowledge APIG3 with ``reason``."""
    if web_acl_arn is not None:
        wafv2.CfnWebACLAssociation(
            scope,
            "WebAclAssociation",
            resource_arn=rest_api.deployment_stage.stage_arn,
            web_acl_arn=web_acl_arn,
        )
    else:
        acknowledge(rest_api, "AwsSolutions-APIG3", reason)
