import boto3
from audit_app import UsersStack
from aws_cdk import App

from lambda_blueprints.testing import LocalCloud


def test_changes_are_audited():
    with LocalCloud() as cloud:
        stack = cloud.deploy(UsersStack(App(), "Users"))
        users = boto3.resource("dynamodb").Table(stack.physical_id("Users"))
        users.put_item(Item={"userId": "u-1", "plan": "free"})
        cloud.run_until_idle()
        audit = boto3.resource("dynamodb").Table(stack.physical_id("UsersAudit/AuditTable"))
        assert [i["eventName"] for i in audit.scan()["Items"]] == ["INSERT"]
