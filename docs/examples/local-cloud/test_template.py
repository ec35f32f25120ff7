from app import ScoresStack
from aws_cdk import App

from lambda_blueprints.testing import LocalCloud


def test_resources_without_behaviour_get_placeholders():
    with LocalCloud() as cloud:
        stack = cloud.deploy(ScoresStack(App(), "Scores"))
        skipped = {kind for _, _, kind in cloud.skipped}
        assert {"AWS::IAM::Role", "AWS::CloudWatch::Alarm", "AWS::Logs::LogGroup"} <= skipped
        role = stack.attribute("OnScore/Role", "Arn")
        assert role == f"arn:aws:iam::123456789012:role/{stack.physical_id('OnScore/Role')}"
        function = cloud.functions[stack.physical_id("OnScore/Function")]
        assert function.role_arn == role
        assert function.environment["SCORES_TABLE"] == stack.physical_id("Scores")
