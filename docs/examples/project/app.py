from aws_cdk import App, Stack
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from lambda_blueprints import StreamTrigger


def table(scope: Construct, name: str, **options) -> dynamodb.Table:
    key = dynamodb.Attribute(name="orderId", type=dynamodb.AttributeType.STRING)
    backups = dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)
    return dynamodb.Table(
        scope, name, partition_key=key, point_in_time_recovery_specification=backups, **options
    )


class OrdersStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        orders = table(self, "Orders", stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES)
        change = dynamodb.Attribute(name="changeId", type=dynamodb.AttributeType.STRING)
        history = table(self, "History", sort_key=change)
        trigger = StreamTrigger(
            self,
            "OnOrderChange",
            table=orders,
            code="lambda/orders",
            handler="handler.main",
            environment={"HISTORY_TABLE": history.table_name},
        )
        history.grant_write_data(trigger.function)


if __name__ == "__main__":
    app = App()
    OrdersStack(app, "Orders")
    app.synth()
