from aws_cdk import App, Stack
from aws_cdk import aws_dynamodb as dynamodb

from lambda_blueprints import ApiAuthorization, ServiceApi

app = App()
stack = Stack(app, "NotesApi")
notes = dynamodb.Table(
    stack,
    "Notes",
    partition_key=dynamodb.Attribute(name="noteId", type=dynamodb.AttributeType.STRING),
    point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
        point_in_time_recovery_enabled=True
    ),
)
api = ServiceApi(
    stack,
    "Api",
    # Say whether this stack sets the account's API Gateway logging role.
    cloud_watch_role=False,
    authorization=ApiAuthorization.iam(),
)
create = api.add_route(
    "POST",
    "/notes",
    code="lambda/notes",
    handler="handler.create",
    environment={"NOTES_TABLE": notes.table_name},
)
read = api.add_route(
    "GET",
    "/notes/{noteId}",
    code="lambda/notes",
    handler="handler.read",
    environment={"NOTES_TABLE": notes.table_name},
)
# Each route's own role: the writer only writes, the reader only reads.
notes.grant(create.function, "dynamodb:PutItem")
notes.grant(read.function, "dynamodb:GetItem")
api.add_mock_route("GET", "/status", response_body='{"status": "ok"}')
app.synth()
