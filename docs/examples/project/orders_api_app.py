from aws_cdk import App, Stack

from lambda_blueprints import BlueprintFunction

app = App()
stack = Stack(app, "OrdersApi")
orders = BlueprintFunction(
    stack,
    "Orders",
    code="lambda/orders",
    handler="handler.main",
    environment={"HISTORY_TABLE": "history"},
)
print(orders.function.function_name, orders.metric_errors().metric_name)
app.synth()
