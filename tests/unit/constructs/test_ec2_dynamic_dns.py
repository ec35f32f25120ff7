"""Ec2DynamicDns: EC2 state changes keep Route 53 records, with exact IAM and nothing lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_route53 as route53
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion

from lambda_blueprints import Ec2DynamicDns
from lambda_blueprints.constructs.ec2_dynamic_dns import reverse_zone_name
from lambda_blueprints.testing.events.eventbridge import (
    EC2_INSTANCE_STATES,
    ec2_state_change_event,
)
from lambda_blueprints.testing.filtering import matches
from tests.conftest import (
    CONFORMANCE,
    cfn_lint_template,
    nag_findings,
    normalize_template,
)

NewStack = Callable[..., Stack]
HANDLER = "lambda_blueprints.runtime.dynamic_dns.handler.lambda_handler"
DESCRIBE_ACTIONS = [
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeInstances",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcs",
]


def vpc(stack: Stack, construct_id: str = "Vpc", cidr: str = "10.20.0.0/16") -> ec2.Vpc:
    return ec2.Vpc(
        stack,
        construct_id,
        ip_addresses=ec2.IpAddresses.cidr(cidr),
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Hosts", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )


def dns(stack: Stack, **props: Any) -> Ec2DynamicDns:
    """The construct for the VPC ``Vpc`` of ``stack`` (created once) and ``corp.internal``."""
    network = stack.node.try_find_child("Vpc") or vpc(stack)
    options: dict[str, Any] = {"vpcs": [network], "private_zone_name": "corp.internal"}
    options.update(props)
    return Ec2DynamicDns(stack, "Dns", **options)


def resources(stack: Stack, kind: str) -> dict[str, Any]:
    return Template.from_stack(stack).find_resources(kind)  # type: ignore[no-any-return]


def only(stack: Stack, kind: str) -> dict[str, Any]:
    found = resources(stack, kind)
    assert len(found) == 1, f"{len(found)} {kind}"
    return next(iter(found.values()))  # type: ignore[no-any-return]


def the_function(stack: Stack, construct: Ec2DynamicDns) -> dict[str, Any]:
    logical_id = stack.resolve(construct.function.function_name)["Ref"]
    return resources(stack, "AWS::Lambda::Function")[logical_id]["Properties"]  # type: ignore[no-any-return]


def role_statements(stack: Stack, construct: Ec2DynamicDns) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the function's role."""
    assert construct.function.role is not None
    role = stack.resolve(construct.function.role.role_name)
    statements: list[dict[str, Any]] = []
    for policy in resources(stack, "AWS::IAM::Policy").values():
        if role in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return sorted([action] if isinstance(action, str) else action)


def zone_arn(stack: Stack, zone: route53.IHostedZone) -> Any:
    return stack.resolve(zone.hosted_zone_arn)


def with_refs(value: Any) -> str:
    """A resolved ``Fn::Join`` as text, each ``Ref`` written as the logical id it names."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return str(value["Ref"])
    separator, parts = value["Fn::Join"]
    return str(separator).join(with_refs(part) for part in parts)


# -- the rule ----------------------------------------------------------------------------------


def test_the_rule_sends_ec2_state_changes_to_the_function_with_retries_and_a_dead_letter_queue(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    construct = dns(stack)
    resolve = stack.resolve

    rule = only(stack, "AWS::Events::Rule")["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
        "detail": {"state": ["running", "shutting-down", "stopped", "terminated"]},
    }
    (target,) = rule["Targets"]
    assert target["Arn"] == resolve(construct.function.function_arn)
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"] == {"Arn": resolve(construct.dead_letter_queue.queue_arn)}
    permission = only(stack, "AWS::Lambda::Permission")["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == resolve(construct.rule.rule_arn)


def test_the_retry_policies_of_the_rule_and_of_lambda_are_the_props(new_stack: NewStack) -> None:
    stack = new_stack()
    construct = dns(
        stack,
        states=["running", "terminated"],
        target_retry_attempts=10,
        target_max_event_age=Duration.hours(2),
        retry_attempts=1,
        max_event_age=Duration.minutes(30),
    )

    rule = only(stack, "AWS::Events::Rule")["Properties"]
    assert rule["EventPattern"]["detail"] == {"state": ["running", "terminated"]}
    assert rule["Targets"][0]["RetryPolicy"] == {
        "MaximumRetryAttempts": 10,
        "MaximumEventAgeInSeconds": 7200,
    }
    config = only(stack, "AWS::Lambda::EventInvokeConfig")["Properties"]
    assert config["MaximumRetryAttempts"] == 1
    assert config["MaximumEventAgeInSeconds"] == 1800
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == stack.resolve(
        construct.failure_queue.queue_arn
    )


def test_lambda_retries_twice_within_six_hours_by_default(new_stack: NewStack) -> None:
    stack = new_stack()
    dns(stack)

    config = only(stack, "AWS::Lambda::EventInvokeConfig")["Properties"]
    assert config["MaximumRetryAttempts"] == 2
    assert config["MaximumEventAgeInSeconds"] == 6 * 3600


def _rule_pattern(states: list[str] | None = None) -> dict[str, Any]:
    from aws_cdk import App, DefaultStackSynthesizer

    from tests.conftest import CDK_CONTEXT

    stack = Stack(
        App(context=CDK_CONTEXT),
        "Patterns",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    dns(stack, **({"states": states} if states else {}))
    return only(stack, "AWS::Events::Rule")["Properties"]["EventPattern"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("states", [None, ["running", "stopping", "terminated"]])
def test_the_pattern_matches_the_state_changes_of_its_states_only(
    states: list[str] | None,
) -> None:
    pattern = _rule_pattern(states)
    wanted = states or ["running", "shutting-down", "stopped", "terminated"]
    for state in EC2_INSTANCE_STATES:
        event = ec2_state_change_event("i-0123456789abcdef0", state)  # type: ignore[arg-type]
        assert matches(pattern, event) is (state in wanted), state
    other = ec2_state_change_event("i-0123456789abcdef0", "running")
    assert not matches(pattern, {**other, "source": "aws.autoscaling"})
    assert not matches(pattern, {**other, "detail-type": "EC2 Spot Instance Interruption Warning"})


def test_the_pattern_matches_a_real_eventbridge_event_of_ec2() -> None:
    sample = CONFORMANCE / "events" / "powertools-eventBridgeEvent.json"
    if not sample.is_file():
        pytest.skip(
            f"{sample} is absent; set LAMBDA_BLUEPRINTS_CONFORMANCE to the folder holding "
            "events/ to run this case"
        )
    event = json.loads(sample.read_text())
    assert event["detail-type"] == "EC2 Instance State-change Notification"
    pattern = _rule_pattern()
    assert matches(pattern, event)
    assert not matches(pattern, {**event, "detail": {**event["detail"], "state": "pending"}})


# -- encryption and the failure stores ---------------------------------------------------------


def test_eventbridge_may_use_the_queue_key_for_this_rule_only(new_stack: NewStack) -> None:
    stack = new_stack()
    construct = dns(stack)

    rule = only(stack, "AWS::Events::Rule")["Properties"]
    key = resources(stack, "AWS::KMS::Key")[stack.resolve(construct.queue_key.key_id)["Ref"]]
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (events_statement,) = [
        s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}
    ]
    assert sorted(events_statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    source_arn = events_statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert with_refs(source_arn) == (
        f"arn:AWS::Partition:events:AWS::Region:AWS::AccountId:rule/{rule['Name']}"
    )
    for queue in resources(stack, "AWS::SQS::Queue").values():
        assert queue["Properties"]["KmsMasterKeyId"] == stack.resolve(construct.queue_key.key_arn)
        assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 86400
        assert queue["DeletionPolicy"] == "Retain"


def test_both_queues_are_tls_only_and_eventbridge_may_send_to_the_dead_letter_queue_only(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    construct = dns(stack)

    policies = resources(stack, "AWS::SQS::QueuePolicy").values()
    by_queue = {
        json.dumps(p["Properties"]["Queues"]): p["Properties"]["PolicyDocument"]["Statement"]
        for p in policies
    }
    for queue in (construct.dead_letter_queue, construct.failure_queue):
        statements = by_queue[json.dumps([stack.resolve(queue.queue_url)])]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )
    dead_letters = by_queue[json.dumps([stack.resolve(construct.dead_letter_queue.queue_url)])]
    (send,) = [s for s in dead_letters if s["Effect"] == "Allow"]
    assert send["Principal"] == {"Service": "events.amazonaws.com"}
    assert send["Condition"] == {
        "ArnEquals": {"aws:SourceArn": stack.resolve(construct.rule.rule_arn)}
    }
    failures = by_queue[json.dumps([stack.resolve(construct.failure_queue.queue_url)])]
    assert [s for s in failures if s["Effect"] == "Allow"] == []


# -- the table ---------------------------------------------------------------------------------


def test_the_table_remembers_instances_with_ttl_backups_and_encryption(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    dns(stack)

    table = only(stack, "AWS::DynamoDB::Table")
    properties = table["Properties"]
    assert properties["KeySchema"] == [{"AttributeName": "instanceId", "KeyType": "HASH"}]
    assert properties["AttributeDefinitions"] == [
        {"AttributeName": "instanceId", "AttributeType": "S"}
    ]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"


def test_an_existing_table_is_used_instead(new_stack: NewStack) -> None:
    stack = new_stack()
    table = dynamodb.TableV2(
        stack,
        "Hosts",
        partition_key=dynamodb.Attribute(name="instanceId", type=dynamodb.AttributeType.STRING),
    )
    construct = dns(stack, table=table)

    assert construct.table is table
    assert len(resources(stack, "AWS::DynamoDB::GlobalTable")) == 1
    assert resources(stack, "AWS::DynamoDB::Table") == {}
    env = the_function(stack, construct)["Environment"]["Variables"]
    assert env["TABLE_NAME"] == stack.resolve(table.table_name)


# -- zones -------------------------------------------------------------------------------------


def test_created_private_and_reverse_zones_are_associated_with_every_vpc(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    first, second = vpc(stack, "First", "10.20.0.0/16"), vpc(stack, "Second", "10.30.40.0/24")
    construct = Ec2DynamicDns(
        stack, "Dns", vpcs=[first, second], private_zone_name="Corp.Internal."
    )

    zones = {
        z["Properties"]["Name"]: z["Properties"]
        for z in resources(stack, "AWS::Route53::HostedZone").values()
    }
    assert sorted(zones) == ["20.10.in-addr.arpa.", "40.30.10.in-addr.arpa.", "corp.internal."]
    for zone in zones.values():
        assert [v["VPCId"] for v in zone["VPCs"]] == [
            stack.resolve(first.vpc_id),
            stack.resolve(second.vpc_id),
        ]
    assert len(construct.private_zones) == 1
    assert len(construct.reverse_zones) == 2
    assert construct.public_zones == []


@pytest.mark.parametrize(
    ("cidr", "zone"),
    [
        ("10.20.0.0/16", "20.10.in-addr.arpa"),
        ("10.20.30.0/24", "30.20.10.in-addr.arpa"),
        ("10.20.30.64/26", "30.20.10.in-addr.arpa"),
        ("10.20.30.7/32", "30.20.10.in-addr.arpa"),
        ("10.0.0.0/8", "10.in-addr.arpa"),
        ("172.16.0.0/12", "172.in-addr.arpa"),
        ("192.168.0.0/20", "168.192.in-addr.arpa"),
    ],
)
def test_reverse_zones_are_named_by_the_whole_octets_of_the_prefix(cidr: str, zone: str) -> None:
    assert reverse_zone_name(cidr) == zone


def test_reverse_zones_of_overlapping_cidrs_are_created_once(new_stack: NewStack) -> None:
    stack = new_stack()
    construct = dns(
        stack,
        reverse_zone_cidrs=["10.20.0.0/16", "10.20.128.0/17", "10.20.30.0/24", "172.16.0.0/12"],
    )

    names = sorted(
        z["Properties"]["Name"] for z in resources(stack, "AWS::Route53::HostedZone").values()
    )
    assert names == ["172.in-addr.arpa.", "20.10.in-addr.arpa.", "corp.internal."]
    assert len(construct.reverse_zones) == 2


def test_existing_zones_are_written_into_and_a_public_zone_is_created(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    private = route53.HostedZone.from_hosted_zone_attributes(
        stack, "Corp", hosted_zone_id="Z0PRIVATE", zone_name="corp.example"
    )
    reverse = route53.HostedZone.from_hosted_zone_attributes(
        stack, "Reverse", hosted_zone_id="Z0REVERSE", zone_name="20.10.in-addr.arpa."
    )
    construct = Ec2DynamicDns(
        stack,
        "Dns",
        private_zones=[private],
        reverse_zones=[reverse],
        public_zone_name="hosts.example.com",
    )

    (public,) = resources(stack, "AWS::Route53::HostedZone").values()
    assert public["Properties"]["Name"] == "hosts.example.com."
    assert "VPCs" not in public["Properties"]
    assert construct.private_zones == [private]
    assert construct.reverse_zones == [reverse]
    env = the_function(stack, construct)["Environment"]["Variables"]
    zones = json.loads(with_refs(env["HOSTED_ZONES"]))
    public_id = stack.resolve(construct.public_zones[0].hosted_zone_id)["Ref"]
    assert zones == [
        {"id": "Z0PRIVATE", "name": "corp.example.", "private": True},
        {"id": public_id, "name": "hosts.example.com.", "private": False},
        {"id": "Z0REVERSE", "name": "20.10.in-addr.arpa.", "private": True},
    ]


# -- the environment contract ------------------------------------------------------------------


def test_the_function_gets_its_settings_and_the_zones_in_its_environment(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    construct = dns(
        stack,
        zone_tag_key="dns:zone",
        cname_tag_key="dns:cname",
        record_ttl=Duration.minutes(5),
        forget_after=Duration.days(30),
        associate_vpcs=False,
    )
    resolve = stack.resolve

    function = the_function(stack, construct)
    assert function["Handler"] == HANDLER
    assert function["Timeout"] == 60
    env = function["Environment"]["Variables"]
    private_id = resolve(construct.private_zones[0].hosted_zone_id)["Ref"]
    reverse_id = resolve(construct.reverse_zones[0].hosted_zone_id)["Ref"]
    assert json.loads(with_refs(env.pop("HOSTED_ZONES"))) == [
        {"id": private_id, "name": "corp.internal.", "private": True},
        {"id": reverse_id, "name": "20.10.in-addr.arpa.", "private": True},
    ]
    assert env == {
        "POWERTOOLS_SERVICE_NAME": "Dns",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "TABLE_NAME": resolve(construct.table.table_name),
        "FAILURE_QUEUE_URL": resolve(construct.failure_queue.queue_url),
        "RECORD_TTL_SECONDS": "300",
        "FORGET_AFTER_SECONDS": str(30 * 86400),
        "ASSOCIATE_VPCS": "false",
        "ZONE_TAG_KEY": "dns:zone",
        "CNAME_TAG_KEY": "dns:cname",
    }


def test_defaults_of_the_environment(new_stack: NewStack) -> None:
    stack = new_stack()
    env = the_function(stack, dns(stack))["Environment"]["Variables"]

    assert env["RECORD_TTL_SECONDS"] == "60"
    assert env["FORGET_AFTER_SECONDS"] == str(90 * 86400)
    assert env["ASSOCIATE_VPCS"] == "true"
    assert (env["ZONE_TAG_KEY"], env["CNAME_TAG_KEY"]) == ("ZONE", "CNAME")


def test_your_own_code_runs_with_the_same_wiring(new_stack: NewStack, tmp_path: Path) -> None:
    folder = tmp_path / "dns"
    folder.mkdir()
    (folder / "handler.py").write_text("def main(event, context):\n    return None\n")
    stack = new_stack()
    construct = dns(stack, code=str(folder), handler="handler.main")

    function = the_function(stack, construct)
    assert function["Handler"] == "handler.main"
    assert "HOSTED_ZONES" in function["Environment"]["Variables"]


# -- least privilege ---------------------------------------------------------------------------


def test_the_role_may_do_exactly_what_the_function_does_on_exactly_its_resources(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    construct = dns(stack)
    resolve = stack.resolve
    statements = role_statements(stack, construct)
    zones = [zone_arn(stack, z) for z in construct.private_zones + construct.reverse_zones]

    by_actions = {tuple(actions(s)): s for s in statements}
    assert sorted(by_actions) == sorted(
        [
            ("xray:PutTelemetryRecords", "xray:PutTraceSegments"),
            ("logs:CreateLogStream", "logs:PutLogEvents"),
            ("sqs:SendMessage",),
            ("kms:Decrypt", "kms:GenerateDataKey"),
            ("dynamodb:GetItem", "dynamodb:PutItem"),
            ("route53:ChangeResourceRecordSets",),
            ("route53:GetHostedZone", "route53:ListResourceRecordSets"),
            ("route53:AssociateVPCWithHostedZone",),
            tuple(DESCRIBE_ACTIONS),
        ]
    )
    assert by_actions[("dynamodb:GetItem", "dynamodb:PutItem")]["Resource"] == resolve(
        construct.table.table_arn
    )
    assert by_actions[("sqs:SendMessage",)]["Resource"] == resolve(
        construct.failure_queue.queue_arn
    )
    assert by_actions[("kms:Decrypt", "kms:GenerateDataKey")]["Resource"] == resolve(
        construct.queue_key.key_arn
    )
    change = by_actions[("route53:ChangeResourceRecordSets",)]
    assert change["Resource"] == zones
    assert change["Condition"] == {
        "ForAllValues:StringEquals": {
            "route53:ChangeResourceRecordSetsRecordTypes": ["A", "CNAME", "PTR"]
        },
        "Null": {"route53:ChangeResourceRecordSetsRecordTypes": "false"},
    }
    read = by_actions[("route53:GetHostedZone", "route53:ListResourceRecordSets")]
    assert read["Resource"] == zones and "Condition" not in read
    assert by_actions[("route53:AssociateVPCWithHostedZone",)]["Resource"] == zones


def test_only_the_describe_calls_and_tracing_are_on_every_resource(new_stack: NewStack) -> None:
    stack = new_stack()
    statements = role_statements(stack, dns(stack))

    assert all("*" not in action for s in statements for action in actions(s))
    on_everything = sorted(a for s in statements if s["Resource"] == "*" for a in actions(s))
    assert on_everything == sorted(
        [*DESCRIBE_ACTIONS, "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    )
    assert all(s["Effect"] == "Allow" for s in statements)


def test_vpcs_are_associated_only_with_private_zones_and_only_when_allowed(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    construct = dns(stack, public_zone_name="hosts.example.com")
    statements = role_statements(stack, construct)
    (associate,) = [s for s in statements if actions(s) == ["route53:AssociateVPCWithHostedZone"]]
    assert associate["Resource"] == [
        zone_arn(stack, z) for z in construct.private_zones + construct.reverse_zones
    ]
    (change,) = [s for s in statements if actions(s) == ["route53:ChangeResourceRecordSets"]]
    assert zone_arn(stack, construct.public_zones[0]) in change["Resource"]

    stack = new_stack()
    construct = dns(stack, associate_vpcs=False)
    assert not any(
        "route53:AssociateVPCWithHostedZone" in actions(s)
        for s in role_statements(stack, construct)
    )


# -- alarms, nag, snapshot ---------------------------------------------------------------------


def test_alarms_watch_the_function_the_rule_and_both_queues(new_stack: NewStack) -> None:
    stack = new_stack()
    construct = dns(stack)

    assert set(construct.alarms) == {
        "errors",
        "throttles",
        "failed_invocations",
        "dead_letter_queue_depth",
        "failure_queue_depth",
    }
    alarm = stack.resolve(construct.alarms["failed_invocations"].alarm_name)["Ref"]
    properties = resources(stack, "AWS::CloudWatch::Alarm")[alarm]["Properties"]
    assert properties["Namespace"] == "AWS/Events"
    assert properties["MetricName"] == "FailedInvocations"
    assert properties["Dimensions"] == [
        {"Name": "RuleName", "Value": stack.resolve(construct.rule.rule_name)}
    ]
    assert properties["Threshold"] == 1
    assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert construct.metric_invocations().metric_name == "Invocations"
    assert construct.metric_failed_invocations().namespace == "AWS/Events"
    assert construct.metric_dead_letter_queue_depth().metric_name == (
        "ApproximateNumberOfMessagesVisible"
    )
    assert construct.metric_failure_queue_depth().metric_name == (
        "ApproximateNumberOfMessagesVisible"
    )
    quiet = dns(new_stack(), alarms=False)
    assert quiet.alarms == {}


def test_nag_and_cfn_lint_clean(new_stack: NewStack, tmp_path: Path) -> None:
    stack = new_stack()
    dns(stack, public_zone_name="hosts.example.com")
    network = stack.node.find_child("Vpc")
    assert isinstance(network, ec2.Vpc)
    # The VPC is the test's, not the construct's: its flow log is the example stack's.
    network.add_flow_log("FlowLog")

    assert nag_findings(stack) == []
    assert cfn_lint_template(Template.from_stack(stack).to_json(), tmp_path) == []


def test_snapshot(new_stack: NewStack, snapshot_json: SnapshotAssertion) -> None:
    stack = new_stack()
    dns(stack)

    assert normalize_template(Template.from_stack(stack).to_json()) == snapshot_json


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"states": ["running", "terminated", "rebooting"]}, "no EC2 instance state"),
        ({"states": ["running", "running", "terminated"]}, "twice"),
        ({"states": ["stopped", "terminated"]}, "lacks 'running'"),
        ({"states": ["pending", "running"]}, "never be removed"),
        ({"zone_tag_key": ""}, "zone_tag_key"),
        ({"zone_tag_key": "x" * 129}, "zone_tag_key"),
        ({"zone_tag_key": "aws:zone"}, "reserved"),
        ({"cname_tag_key": "AWS:cname"}, "cname_tag_key"),
        ({"cname_tag_key": "c\u00a7name"}, "cname_tag_key"),
        ({"record_ttl": Duration.seconds(2_147_483_648)}, "record_ttl"),
        ({"record_ttl": Duration.millis(1500)}, "record_ttl"),
        ({"forget_after": Duration.hours(47)}, "forget_after"),
        ({"target_retry_attempts": 186}, "target_retry_attempts"),
        ({"target_retry_attempts": -1}, "target_retry_attempts"),
        ({"target_max_event_age": Duration.seconds(59)}, "target_max_event_age"),
        ({"target_max_event_age": Duration.hours(25)}, "target_max_event_age"),
        ({"retry_attempts": 3}, "retry_attempts"),
        ({"max_event_age": Duration.seconds(30)}, "max_event_age"),
        ({"max_event_age": Duration.hours(7)}, "max_event_age"),
        ({"private_zone_name": "corp"}, "private_zone_name"),
        ({"private_zone_name": "bad..name"}, "private_zone_name"),
        ({"public_zone_name": "-bad.example.com"}, "public_zone_name"),
        ({"reverse_zone_cidrs": ["10.0.0.0/7"]}, "shorter than /8"),
        ({"reverse_zone_cidrs": ["10.20.0.0/33"]}, "not an IPv4 CIDR"),
        ({"reverse_zone_cidrs": ["fd00::/8"]}, "not an IPv4 CIDR"),
        ({"memory_size": 100}, "memory_size"),
        ({"timeout": Duration.minutes(16)}, "timeout"),
    ],
)
def test_fails_when_a_prop_is_outside_its_limit(
    new_stack: NewStack, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        dns(new_stack(), **props)


def test_fails_when_there_is_no_zone_to_write_into(new_stack: NewStack) -> None:
    with pytest.raises(ValueError, match="no zone to write into"):
        dns(new_stack(), private_zone_name=None)


def test_fails_when_a_private_zone_is_created_without_a_vpc(new_stack: NewStack) -> None:
    with pytest.raises(ValueError, match=r"private_zone_name='corp\.internal' needs at least one"):
        Ec2DynamicDns(new_stack(), "Dns", private_zone_name="corp.internal")


def test_fails_when_reverse_zones_are_created_without_a_vpc(new_stack: NewStack) -> None:
    stack = new_stack()
    public = route53.HostedZone.from_hosted_zone_attributes(
        stack, "Public", hosted_zone_id="Z0PUBLIC", zone_name="example.com"
    )
    with pytest.raises(ValueError, match=r"reverse_zone_cidrs=.*needs at least one VPC"):
        Ec2DynamicDns(stack, "Dns", public_zones=[public], reverse_zone_cidrs=["10.20.0.0/16"])


def test_fails_when_an_existing_zone_name_is_unknown_at_synth(new_stack: NewStack) -> None:
    stack = new_stack()
    zone = route53.HostedZone.from_hosted_zone_id(stack, "Corp", "Z0PRIVATE")
    with pytest.raises(ValueError, match=r"private_zones\[0\].*from_hosted_zone_attributes"):
        dns(stack, private_zone_name=None, private_zones=[zone])


def test_fails_when_a_reverse_zone_is_not_in_addr_arpa(new_stack: NewStack) -> None:
    stack = new_stack()
    zone = route53.HostedZone.from_hosted_zone_attributes(
        stack, "Reverse", hosted_zone_id="Z0REVERSE", zone_name="corp.internal"
    )
    with pytest.raises(ValueError, match=r"must end in '\.in-addr\.arpa'"):
        dns(stack, reverse_zones=[zone])


def test_fails_when_a_vpc_cidr_is_unknown_and_no_reverse_zone_is_said(
    new_stack: NewStack,
) -> None:
    stack = new_stack()
    imported = ec2.Vpc.from_vpc_attributes(
        stack, "Imported", vpc_id="vpc-0123456789abcdef0", availability_zones=["us-east-1a"]
    )
    with pytest.raises(ValueError, match=r"vpcs\[0\].*reverse_zone_cidrs"):
        dns(stack, vpcs=[imported])
    # Said either way, it is fine: CIDRs of its own, or no reverse zone at all.
    for cidrs in (["10.40.0.0/16"], []):
        other = new_stack()
        dns(other, vpcs=[_imported(other)], reverse_zone_cidrs=cidrs)


def _imported(stack: Stack) -> ec2.IVpc:
    return ec2.Vpc.from_vpc_attributes(
        stack, "Imported", vpc_id="vpc-0123456789abcdef0", availability_zones=["us-east-1a"]
    )


def test_fails_when_a_sequence_prop_is_a_single_string(new_stack: NewStack) -> None:
    with pytest.raises(TypeError, match="states"):
        dns(new_stack(), states="running")
    with pytest.raises(TypeError, match="reverse_zone_cidrs"):
        dns(new_stack(), reverse_zone_cidrs="10.20.0.0/16")


def test_fails_when_a_vpc_is_not_a_vpc(new_stack: NewStack) -> None:
    with pytest.raises(TypeError, match=r"vpcs\[0\]"):
        Ec2DynamicDns(new_stack(), "Dns", vpcs=["vpc-123"], private_zone_name="corp.internal")  # type: ignore[list-item]
