from aws_cdk import App, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from lambda_blueprints import TableAuditTrail


class UsersStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        users = dynamodb.Table(
            self,
            "Users",
            partition_key=dynamodb.Attribute(name="userId", type=dynamodb.AttributeType.STRING),
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        )
        trail = TableAuditTrail(self, "UsersAudit", table=users, audit_retention=Duration.days(365))
        support = iam.Role(self, "Support", assumed_by=iam.AccountRootPrincipal())
        trail.grant_read_audit(support)


if __name__ == "__main__":
    app = App()
    UsersStack(app, "Users")
    app.synth()
