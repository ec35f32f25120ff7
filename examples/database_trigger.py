"""A users table whose every change is audited by a DynamoDB Streams trigger."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from lambda_blueprints import AlarmTopic, TableAuditTrail


class DatabaseTriggerStack(Stack):
    """The DynamoDB Streams database trigger: a users table and its audit trail.

    Defines the ``Users`` table (key ``userId``, stream with new and old images), the
    ``UsersAudit`` trail (audit table, trigger function, failure queue, alarms) and an
    encrypted ``Alarms`` topic (:class:`AlarmTopic`) for the alarms. Subscribe to the topic
    after deploying.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)

        # CloudWatch publishes to an encrypted topic only with a key whose policy lets it,
        # and only if the topic's policy admits it: AlarmTopic sets up both.
        alarm_topic = AlarmTopic(
            self,
            "Alarms",
            display_name="Database trigger alarms",
            key_removal_policy=RemovalPolicy.DESTROY,
        ).topic

        users = dynamodb.Table(
            self,
            "Users",
            partition_key=dynamodb.Attribute(name="userId", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.DESTROY,
        )
        audit = TableAuditTrail(
            self,
            "UsersAudit",
            table=users,
            audit_retention=Duration.days(365),
            alarm_topic=alarm_topic,
            audit_table_removal_policy=RemovalPolicy.DESTROY,
        )

        CfnOutput(self, "UsersTableName", value=users.table_name)
        CfnOutput(self, "AuditTableName", value=audit.audit_table.table_name)
        CfnOutput(self, "FailureQueueUrl", value=audit.dead_letter_queue.queue_url)
        CfnOutput(self, "AlarmTopicArn", value=alarm_topic.topic_arn)
