from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis

from lambda_blueprints import FirehoseArchive

app = App()
stack = Stack(app, "Archive")
race_events = kinesis.Stream(stack, "RaceEvents", encryption=kinesis.StreamEncryption.MANAGED)
archive = FirehoseArchive(
    stack,
    "RaceArchive",
    stream=race_events,
    processor_handler="handler.main",
    processor_code="lambda/archive",
)
analytics = iam.Role(stack, "Analytics", assumed_by=iam.AccountRootPrincipal())
archive.grant_read(analytics)
app.synth()
