from aws_cdk import App, Duration, Stack
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_

from lambda_blueprints import BlueprintFunction, StreamTrigger

app = App()
stack = Stack(app, "OrderEvents")
events = kinesis.Stream(stack, "Events", encryption=kinesis.StreamEncryption.MANAGED)
# Your own function, built elsewhere in your stack (any lambda_.IFunction will do).
mine = BlueprintFunction(stack, "Mine", code="lambda/orders", handler="handler.main")
trigger = StreamTrigger(
    stack,
    "OnEvent",
    stream=events,
    function=mine.function,
    batch_size=500,
    max_batching_window=Duration.seconds(5),
    filters=[lambda_.FilterCriteria.filter({"data": {"type": ["order"]}})],
)
print(trigger.event_source_mapping.event_source_mapping_id is not None, sorted(trigger.alarms))
app.synth()
