from aws_cdk import App, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb

from lambda_blueprints import HttpApiAuthorization, HttpServiceApi

app = App()
stack = Stack(app, "NotesHttpApi")
notes = dynamodb.Table(
    stack,
    "Notes",
    partition_key=dynamodb.Attribute(name="noteId", type=dynamodb.AttributeType.STRING),
    point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
        point_in_time_recovery_enabled=True
    ),
)
users = cognito.UserPool(stack, "Users", self_sign_up_enabled=False)
web = users.add_client("Web")
api = HttpServiceApi(
    stack,
    "Api",
    # Tokens of this pool, issued to this app client, are accepted.
    authorization=HttpApiAuthorization.cognito(users, [web]),
)
read = api.add_route(
    "GET",
    "/notes/{noteId}",
    code="lambda/notes",
    handler="handler.read",
    environment={"NOTES_TABLE": notes.table_name},
)
notes.grant(read.function, "dynamodb:GetItem")
print(api.url)
app.synth()
