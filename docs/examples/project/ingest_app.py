from aws_cdk import App, Size, Stack
from aws_cdk import aws_iam as iam

from lambda_blueprints import AlarmTopic, IotTopicToKinesis, KinesisFanOut

app = App()
stack = Stack(app, "Ingest")
alarms = AlarmTopic(stack, "Alarms")
race = KinesisFanOut(
    stack, "RaceEvents", records_per_second=1_000, average_record_size=Size.bytes(170)
)
ingest = IotTopicToKinesis(
    stack, "Ingest", stream=race.stream, topic_filter="alleycat-publish", alarm_topic=alarms.topic
)
simulator = iam.Role(stack, "Simulator", assumed_by=iam.AccountRootPrincipal())
ingest.grant_publish(simulator)  # iot:Publish on topic/alleycat-publish
app.synth()
