from aws_cdk import App, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from constructs import Construct

from lambda_blueprints import StreamTrigger


class ScoresStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        events = kinesis.Stream(self, "Events", encryption=kinesis.StreamEncryption.MANAGED)
        player = dynamodb.Attribute(name="player", type=dynamodb.AttributeType.STRING)
        scores = dynamodb.Table(self, "Scores", partition_key=player)
        trigger = StreamTrigger(
            self,
            "OnScore",
            stream=events,
            code="lambda/scores",
            handler="handler.main",
            max_batching_window=Duration.seconds(5),
            environment={"SCORES_TABLE": scores.table_name},
        )
        scores.grant_write_data(trigger.function)


if __name__ == "__main__":
    app = App()
    ScoresStack(app, "Scores")
    app.synth()
