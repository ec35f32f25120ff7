from aws_cdk import App, Duration, Stack
from aws_cdk import aws_kinesis as kinesis

from lambda_blueprints import TumblingWindowAggregator

app = App()
stack = Stack(app, "Sales")
order_events = kinesis.Stream(stack, "OrderEvents", encryption=kinesis.StreamEncryption.MANAGED)
totals = TumblingWindowAggregator(
    stack,
    "SalesTotals",
    stream=order_events,
    window=Duration.seconds(30),
    handler="lambda_blueprints.runtime.window_totals.handler.lambda_handler",
    environment={"VALUE_ATTRIBUTE": "sales"},
)
print(totals.results_table.node.path)
app.synth()
