from aws_cdk import App, Stack
from aws_cdk import aws_kinesis as kinesis

from lambda_blueprints import AlarmTopic, StreamTrigger

app = App()
stack = Stack(app, "Alerting")
alarms = AlarmTopic(stack, "Alarms")
events = kinesis.Stream(stack, "Events", encryption=kinesis.StreamEncryption.MANAGED)
trigger = StreamTrigger(
    stack,
    "OnEvent",
    stream=events,
    code="lambda/orders",
    handler="handler.main",
    alarm_topic=alarms.topic,
)
print(sorted(trigger.alarms))
app.synth()
