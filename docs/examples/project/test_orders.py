import boto3
from app import OrdersStack
from aws_cdk import App

from lambda_blueprints.testing import LocalCloud


def test_every_status_change_is_kept():
    with LocalCloud() as cloud:
        stack = cloud.deploy(OrdersStack(App(), "Orders"))
        orders = boto3.resource("dynamodb").Table(stack.physical_id("Orders"))
        orders.put_item(Item={"orderId": "o-1", "status": "NEW"})
        orders.put_item(Item={"orderId": "o-1", "status": "PAID"})
        cloud.run_until_idle()
        history = boto3.resource("dynamodb").Table(stack.physical_id("History"))
        assert sorted(i["status"] for i in history.scan()["Items"]) == ["NEW", "PAID"]
