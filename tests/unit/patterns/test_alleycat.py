"""AlleycatRacing: wiring, exact grants, validation, nag, snapshot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from aws_cdk import CfnElement, Duration, Size, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from syrupy.assertion import SnapshotAssertion

from lambda_blueprints import AlleycatRacing
from lambda_blueprints.patterns import alleycat as pattern
from lambda_blueprints.runtime.alleycat import race
from tests.conftest import cfn_lint_template, normalize_template

NewStack = Callable[..., Stack]


def build(new_stack: NewStack, **props: Any) -> tuple[Stack, AlleycatRacing, Template]:
    stack = new_stack()
    racing = AlleycatRacing(stack, "Racing", **props)
    return stack, racing, Template.from_stack(stack)


def statements(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    found = []
    for logical_id, policy in template.find_resources("AWS::IAM::Policy").items():
        if logical_id.startswith(role_prefix):
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def test_the_stream_is_sized_for_one_race_with_headroom_and_read_by_three_consumers(
    new_stack: NewStack,
) -> None:
    _, racing, template = build(new_stack)

    # 1,000 messages/s fill one shard's 1,000 records/s; at most 80% of it -> 2 shards.
    template.has_resource_properties("AWS::Kinesis::Stream", {"ShardCount": 2})
    template.resource_count_is("AWS::Kinesis::StreamConsumer", 1)
    template.resource_count_is("AWS::KinesisFirehose::DeliveryStream", 1)
    capacity = racing.fan_out.capacity
    assert (capacity.shared_consumers, capacity.enhanced_consumers) == (2, 1)


def test_standings_use_the_series_window_and_batch(new_stack: NewStack) -> None:
    _, _, template = build(new_stack)

    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "TumblingWindowInSeconds": 15,
            "BatchSize": 1000,
            "StartingPosition": "TRIM_HORIZON",
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "EventSourceArn": {
                "Fn::GetAtt": [
                    Match.string_like_regexp("RacingStreamStandingsRegistration"),
                    "ConsumerARN",
                ]
            },
        },
    )


def test_final_results_and_the_publisher_are_filtered(new_stack: NewStack) -> None:
    _, _, template = build(new_stack)

    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"FilterCriteria": {"Filters": [{"Pattern": '{"data":{"event":["finish"]}}'}]}},
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FilterCriteria": {
                "Filters": [
                    {"Pattern": '{"dynamodb":{"Keys":{"sk":{"S":[{"prefix":"standings#"}]}}}}'}
                ]
            }
        },
    )


def test_the_races_table_indexes_final_results_by_score(new_stack: NewStack) -> None:
    _, _, template = build(new_stack)

    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            "GlobalSecondaryIndexes": [
                Match.object_like(
                    {
                        "IndexName": "ByScore",
                        "KeySchema": [
                            {"AttributeName": "raceKey", "KeyType": "HASH"},
                            {"AttributeName": "score", "KeyType": "RANGE"},
                        ],
                    }
                )
            ],
        },
    )


def test_table_grants_are_exact(new_stack: NewStack) -> None:
    _, _, template = build(new_stack)

    standings = statements(template, "RacingStandingsTriggerRole")
    dynamodb_actions = {
        action
        for statement in standings
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
        if action.startswith("dynamodb:")
    }
    # Pages are read back with one consistent query and written one item each.
    assert dynamodb_actions == {"dynamodb:Query", "dynamodb:PutItem"}
    rendered = str(standings)
    assert "/index/" not in rendered
    api = str(statements(template, "RacingApiRole"))
    assert "/index/ByScore" in api
    assert "/index/*" not in api


def test_the_rule_names_each_bike_by_the_last_level_of_its_topic(new_stack: NewStack) -> None:
    _, racing, template = build(new_stack)

    (rule,) = template.find_resources("AWS::IoT::TopicRule").values()
    payload = rule["Properties"]["TopicRulePayload"]
    assert payload["Sql"] == "SELECT * FROM 'alleycat/publish/+'"
    assert payload["Actions"][0]["Kinesis"]["PartitionKey"] == "bike/${topic(3)}"
    assert racing.publisher_level == 3
    # The readers take the publisher from keys with the prefix the pattern writes.
    assert pattern.PUBLISHER_KEY_PREFIX == race.PUBLISHER_KEY_PREFIX
    assert race.publisher_of("bike/17") == "17"


def test_a_topic_without_a_bike_level_binds_nothing_and_has_no_bike_policy(
    new_stack: NewStack,
) -> None:
    _, racing, template = build(new_stack, topic="alleycat-publish")

    template.has_resource_properties(
        "AWS::IoT::TopicRule",
        {
            "TopicRulePayload": Match.object_like(
                {"Actions": [{"Kinesis": Match.object_like({"PartitionKey": "${newuuid()}"})}]}
            )
        },
    )
    assert racing.publisher_level is None
    with pytest.raises(ValueError, match="cannot bind a bike to its racer"):
        racing.bike_policy()


def test_a_bike_policy_needs_the_bike_level_to_be_the_only_wildcard(
    new_stack: NewStack,
) -> None:
    _, racing, _ = build(new_stack, topic="bikes/+/telemetry/+")

    with pytest.raises(ValueError, match="only wildcard is its last level"):
        racing.bike_policy()


def test_the_bike_policy_binds_connecting_and_publishing_to_the_thing(
    new_stack: NewStack, tmp_path: Path
) -> None:
    stack = new_stack()
    racing = AlleycatRacing(stack, "Racing")
    racing.bike_policy(policy_name="alleycat-bikes")
    template = Template.from_stack(stack)

    # The policy variables are IoT's, not CloudFormation's: no Fn::Sub, nothing to lint.
    assert cfn_lint_template(template.to_json(), tmp_path) == []
    (policy,) = template.find_resources("AWS::IoT::Policy").values()
    assert policy["Properties"]["PolicyName"] == "alleycat-bikes"
    by_action = {
        s["Action"]: s for s in stack.resolve(policy["Properties"]["PolicyDocument"])["Statement"]
    }
    assert set(by_action) == {"iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"}
    assert all(s["Effect"] == "Allow" for s in by_action.values())
    thing = "${iot:Connection.Thing.ThingName}"
    connect, publish = by_action["iot:Connect"], by_action["iot:Publish"]
    # The ARNs are joined from the partition, region and account; the rest is literal.
    assert connect["Resource"]["Fn::Join"][1][-1] == f":client/{thing}"
    assert connect["Condition"] == {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}
    # One topic per thing: the level the rule reads the publisher from.
    assert publish["Resource"]["Fn::Join"][1][-1] == f":topic/alleycat/publish/{thing}"
    assert "topicfilter/alleycat/races/*/leaderboard" in str(by_action["iot:Subscribe"])
    assert ":topic/alleycat/races/*/leaderboard" in str(by_action["iot:Receive"])
    findings = []
    for pack in (AwsSolutionsChecks(), ServerlessChecks()):
        findings += [v.rule_name for v in pack.validate_scope(stack).violations]
    assert findings == []


def test_a_bike_policy_without_leaderboards_only_connects_and_publishes(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    AlleycatRacing(stack, "Racing").bike_policy(subscribe_leaderboards=False)

    (policy,) = Template.from_stack(stack).find_resources("AWS::IoT::Policy").values()
    actions = [s["Action"] for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert actions == ["iot:Connect", "iot:Publish"]


def test_iam_publishers_of_a_bound_topic_get_every_bike_topic(new_stack: NewStack) -> None:
    stack = new_stack()
    racing = AlleycatRacing(stack, "Racing")
    simulator = iam.Role(stack, "Simulator", assumed_by=iam.AccountRootPrincipal())
    racing.grant_publish(simulator)

    (statement,) = statements(Template.from_stack(stack), "SimulatorDefaultPolicy")
    assert statement["Action"] == "iot:Publish"
    assert ":topic/alleycat/publish/*" in str(statement["Resource"])


def test_the_publisher_may_publish_under_its_prefix_only(new_stack: NewStack) -> None:
    _, _, template = build(new_stack, leaderboard_topic_prefix="races/live")

    publish = [
        s for s in statements(template, "RacingPublisherRole") if s["Action"] == "iot:Publish"
    ]
    assert len(publish) == 1
    assert publish[0]["Resource"]["Fn::Join"][1][-1].endswith(":topic/races/live/*/leaderboard")


def test_the_api_requires_iam_and_validates_parameters(new_stack: NewStack) -> None:
    _, _, template = build(new_stack)

    methods = template.find_resources("AWS::ApiGateway::Method")
    assert len(methods) == 2
    for method in methods.values():
        assert method["Properties"]["AuthorizationType"] == "AWS_IAM"
        assert method["Properties"]["RequestParameters"]["method.request.path.raceId"] is True
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        Match.object_like(
            {
                "TracingEnabled": True,
                "MethodSettings": [
                    Match.object_like({"ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200})
                ],
            }
        ),
    )


def test_the_stage_logs_errors_to_a_log_group_with_retention(new_stack: NewStack) -> None:
    _, racing, template = build(new_stack)

    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        Match.object_like(
            {
                "MethodSettings": [
                    Match.object_like(
                        {
                            "LoggingLevel": "ERROR",
                            "DataTraceEnabled": False,
                            "HttpMethod": "*",
                            "ResourcePath": "/*",
                        }
                    )
                ]
            }
        ),
    )
    # The group API Gateway writes execution logs to, made first, with retention.
    groups = template.find_resources(
        "AWS::Logs::LogGroup",
        {"Properties": {"LogGroupName": Match.any_value(), "RetentionInDays": 30}},
    )
    (execution,) = [
        logical_id for logical_id in groups if logical_id.startswith("RacingApiExecutionLogs")
    ]
    name = groups[execution]["Properties"]["LogGroupName"]["Fn::Join"][1]
    assert name[0] == "API-Gateway-Execution-Logs_"
    assert name[1]["Ref"].startswith("RacingApiRestApi")
    assert name[2] == "/prod"
    (stage,) = template.find_resources("AWS::ApiGateway::Stage").values()
    assert execution in stage["DependsOn"]
    # No account-wide resources unless asked for.
    template.resource_count_is("AWS::ApiGateway::Account", 0)
    assert racing.api.rest_api.node.try_find_child("CloudWatchRole") is None


def test_the_account_logging_role_is_created_only_when_asked_and_kept(
    new_stack: NewStack,
) -> None:
    stack, _, template = build(new_stack, api_cloud_watch_role=True)

    template.resource_count_is("AWS::ApiGateway::Account", 1)
    account = next(iter(template.find_resources("AWS::ApiGateway::Account").values()))
    assert account["DeletionPolicy"] == "Retain"
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {
                    "Statement": [
                        Match.object_like({"Principal": {"Service": "apigateway.amazonaws.com"}})
                    ]
                }
            ),
            "ManagedPolicyArns": [
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
                        ],
                    ]
                }
            ],
        },
    )
    findings = []
    for pack in (AwsSolutionsChecks(), ServerlessChecks()):
        findings += [v.rule_name for v in pack.validate_scope(stack).violations]
    assert findings == []


def test_every_bucket_logs_its_requests_to_the_access_logs_bucket(new_stack: NewStack) -> None:
    _, racing, template = build(new_stack)

    buckets = template.find_resources("AWS::S3::Bucket")
    (logs_id,) = [b for b in buckets if b.startswith("RacingAccessLogsBucket")]
    prefixes = {}
    for logical_id, bucket in buckets.items():
        if logical_id == logs_id:
            assert "LoggingConfiguration" not in bucket["Properties"]
            continue
        logging = bucket["Properties"]["LoggingConfiguration"]
        assert logging["DestinationBucketName"] == {"Ref": logs_id}
        prefixes[logical_id.removeprefix("Racing")[:8]] = logging["LogFilePrefix"]
    assert sorted(prefixes.values()) == ["archive/", "history/", "ingest-errors/"]
    assert racing.access_logs_bucket.node.default_child is not None


def test_a_given_access_logs_bucket_is_used_instead(new_stack: NewStack) -> None:
    stack = new_stack()
    target = s3.Bucket(stack, "Logs")
    racing = AlleycatRacing(stack, "Racing", server_access_logs_bucket=target)
    template = Template.from_stack(stack)

    assert racing.access_logs_bucket is target
    buckets = template.find_resources("AWS::S3::Bucket")
    assert not [b for b in buckets if b.startswith("RacingAccessLogsBucket")]
    logged = [b for b in buckets.values() if "LoggingConfiguration" in b.get("Properties", {})]
    assert len(logged) == 3
    logs_id = stack.get_logical_id(cast(CfnElement, target.node.default_child))
    assert all(
        b["Properties"]["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}
        for b in logged
    )


def test_an_ingest_topic_beside_the_leaderboards_is_accepted(new_stack: NewStack) -> None:
    for topic in ("alleycat/publish", "alleycat/races/+", "alleycat/races/+/leaderboard/x"):
        build(new_stack, topic=topic)
    # The longest prefix: with '/<raceId>/leaderboard', 7 slashes.
    build(new_stack, leaderboard_topic_prefix="a/b/c/d/e/f")


def test_an_explicit_shard_count_may_run_the_stream_at_its_full_capacity(
    new_stack: NewStack,
) -> None:
    _, _, template = build(new_stack, shard_count=1)

    template.has_resource_properties("AWS::Kinesis::Stream", {"ShardCount": 1})


def test_the_processor_can_tell_a_missing_history_object_from_a_refusal(
    new_stack: NewStack,
) -> None:
    _, _, template = build(new_stack)

    listing = [
        s for s in statements(template, "RacingArchiveProcessor") if s["Action"] == "s3:ListBucket"
    ]
    assert len(listing) == 1
    # A condition on s3:prefix would never hold for GetObject: S3 would answer 403.
    assert "Condition" not in listing[0]
    (bucket,) = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"VersioningConfiguration": {"Status": "Enabled"}}}
    )
    assert listing[0]["Resource"] == {"Fn::GetAtt": [bucket, "Arn"]}


def test_frontend_grants_name_the_api_methods_and_leaderboard_topics(new_stack: NewStack) -> None:
    stack = new_stack()
    racing = AlleycatRacing(stack, "Racing")
    frontend = iam.Role(stack, "Frontend", assumed_by=iam.AccountRootPrincipal())
    racing.grant_query_api(frontend)
    racing.grant_subscribe_leaderboards(frontend)

    granted = statements(Template.from_stack(stack), "FrontendDefaultPolicy")
    by_action = {str(s["Action"]): str(s["Resource"]) for s in granted}
    invoke = by_action["execute-api:Invoke"]
    assert "/prod/GET/races/*/standings" in invoke
    assert "/prod/GET/races/*/results" in invoke
    subscribe = by_action["['iot:Receive', 'iot:Subscribe']"]
    assert "topicfilter/alleycat/races/*/leaderboard" in subscribe
    assert ":topic/alleycat/races/*/leaderboard" in subscribe


def test_a_web_acl_is_associated_when_given(new_stack: NewStack) -> None:
    arn = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/races/abc"
    _, _, template = build(new_stack, web_acl_arn=arn)

    template.has_resource_properties("AWS::WAFv2::WebACLAssociation", {"WebACLArn": arn})


@pytest.mark.parametrize(
    ("props", "fragment"),
    [
        ({"window": Duration.seconds(901)}, "window"),
        ({"leaderboard_size": 0}, "leaderboard_size=0"),
        ({"api_rate_limit": 0}, "api_rate_limit=0"),
        ({"api_burst_limit": 5001}, "api_burst_limit=5001"),
        ({"leaderboard_topic_prefix": "races/#"}, "leaderboard_topic_prefix='races/#'"),
        ({"leaderboard_topic_prefix": "races/"}, "leaderboard_topic_prefix='races/'"),
        ({"messages_per_second": 5000, "shard_count": 1}, "shard_count=1 cannot carry"),
        ({"average_message_size": Size.mebibytes(2)}, "average_record_size"),
        ({"topic": "bikes/#/x"}, "topic_filter"),
        ({"messages_per_second": 0}, "messages_per_second=0"),
        ({"topic": "alleycat/#"}, "topic='alleycat/#' matches the leaderboard topics"),
        ({"topic": "alleycat/races/+/leaderboard"}, "matches the leaderboard topics"),
        ({"topic": "#"}, "matches the leaderboard topics"),
        ({"topic": "+/+/7/leaderboard"}, "matches the leaderboard topics"),
        # '#' also matches its parent level: this filter takes '<prefix>/7/leaderboard'.
        ({"topic": "alleycat/races/7/leaderboard/#"}, "matches the leaderboard topics"),
        ({"leaderboard_topic_prefix": "team-*"}, "policies read as wildcards"),
        ({"leaderboard_topic_prefix": "team?"}, "leaderboard_topic_prefix='team?'"),
        ({"leaderboard_topic_prefix": "a/b/c/d/e/f/g"}, "has 6 slashes"),
        ({"leaderboard_topic_prefix": "r" * 228}, "228 bytes"),
    ],
)
def test_fails_when_a_prop_is_out_of_range(
    new_stack: NewStack, props: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        build(new_stack, **props)

    assert fragment in str(caught.value)


@pytest.mark.parametrize("with_key", [False, True])
def test_nag_packs_pass(new_stack: NewStack, with_key: bool) -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True) if with_key else None
    AlleycatRacing(stack, "Racing", encryption_key=key)

    findings = []
    for pack in (AwsSolutionsChecks(), ServerlessChecks()):
        findings += [v.rule_name for v in pack.validate_scope(stack).violations]
    assert findings == []


def test_snapshot(new_stack: NewStack, snapshot_json: SnapshotAssertion) -> None:
    _, _, template = build(new_stack)

    assert normalize_template(template.to_json()) == snapshot_json


# --- metrics and the alarms switch --------------------------------------------------------


def test_the_api_metric_methods_give_the_metrics_the_alarms_watch(new_stack: NewStack) -> None:
    stack, racing, template = build(new_stack)
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    api_name = {"Name": "ApiName", "Value": "RestApi"}

    assert set(racing.api.alarms) == {"server_errors", "latency"}
    for role, mine, statistic_key, name, statistic, period in (
        ("server_errors", racing.metric_api_server_errors(), "Statistic", "5XXError", "Sum", 60),
        ("latency", racing.metric_api_latency(), "ExtendedStatistic", "Latency", "p90", 300),
    ):
        alarm = racing.api.alarms[role]
        props = alarms[stack.get_logical_id(cast(CfnElement, alarm.node.default_child))][
            "Properties"
        ]
        assert (
            props["Namespace"],
            props["MetricName"],
            props["Dimensions"],
            props[statistic_key],
            props["Period"],
            props.get("Unit"),
        ) == ("AWS/ApiGateway", name, [api_name], statistic, period, None), role
        for metric in (mine, getattr(racing.api, f"metric_{role}")()):
            assert (
                metric.namespace,
                metric.metric_name,
                stack.resolve(metric.dimensions),
                metric.statistic,
                metric.period.to_seconds(),
                metric.unit,
            ) == ("AWS/ApiGateway", name, {"ApiName": "RestApi"}, statistic, period, None)
    latency = racing.metric_api_latency(period=Duration.minutes(1), statistic="p99")
    assert (latency.period.to_seconds(), latency.statistic) == (60, "p99")
    errors = racing.metric_api_server_errors(period=Duration.minutes(5), statistic="Average")
    assert (errors.period.to_seconds(), errors.statistic) == (300, "Average")


def test_alarms_false_leaves_out_every_alarm(new_stack: NewStack) -> None:
    _stack, racing, template = build(new_stack, alarms=False)

    for composed in (
        racing.api,
        racing.ingest,
        racing.standings,
        racing.publisher,
        racing.archive,
        racing.fan_out,
        racing.final_results,
    ):
        assert composed.alarms == {}, composed.node.path
    assert template.find_resources("AWS::CloudWatch::Alarm") == {}
    assert racing.metric_api_server_errors().metric_name == "5XXError"
    assert racing.metric_api_latency().metric_name == "Latency"
    assert racing.archive.metric_data_freshness().metric_name == "DeliveryToS3.DataFreshness"
