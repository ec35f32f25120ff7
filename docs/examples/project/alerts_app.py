from aws_cdk import App, Stack
from aws_cdk import aws_dynamodb as dynamodb

from lambda_blueprints import SnsTriggeredFunction

app = App()
stack = Stack(app, "Sightings")
table = dynamodb.Table(
    stack,
    "Sightings",
    partition_key=dynamodb.Attribute(name="messageId", type=dynamodb.AttributeType.STRING),
    point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
        point_in_time_recovery_enabled=True
    ),
)
alerts = SnsTriggeredFunction(
    stack,
    "OnSighting",
    code="lambda/alerts",
    handler="handler.main",
    environment={"SIGHTINGS_TABLE": table.table_name},
    filter_policy={"kind": ["zombie"]},
)
table.grant(alerts.function, "dynamodb:PutItem")
app.synth()
