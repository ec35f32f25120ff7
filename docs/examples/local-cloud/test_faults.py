import json

import boto3
from app import ScoresStack
from aws_cdk import App

from lambda_blueprints.testing import LocalCloud


def put_scores(stream, *scores):
    kinesis = boto3.client("kinesis")
    for score in scores:
        kinesis.put_record(StreamName=stream, Data=json.dumps(score), PartitionKey="game-1")


def test_a_failed_batch_is_split_in_two_and_delivered():
    with LocalCloud() as cloud:
        stack = cloud.deploy(ScoresStack(App(), "Scores"))
        function = stack.physical_id("OnScore/Function")
        put_scores(
            stack.physical_id("Events"),
            {"player": "ada", "points": 1},
            {"player": "bob", "points": 2},
            {"player": "cy", "points": 3},
        )
        cloud.faults.inject(function, fail=1)  # the next invocation fails
        cloud.run_until_idle()
        invocations = cloud.log.invocations(function=function)
        assert [(len(i.items), i.outcome) for i in invocations] == [
            (3, "failure"),  # the whole batch
            (2, "success"),  # its first half (bisection)
            (1, "success"),  # its second half
        ]


def test_a_poison_record_ends_in_the_failure_queue():
    with LocalCloud() as cloud:
        stack = cloud.deploy(ScoresStack(App(), "Scores"))
        put_scores(
            stack.physical_id("Events"),
            {"player": "ada", "points": 1},
            {"player": "eve"},  # no points: the handler raises on it
            {"player": "bob", "points": 2},
        )
        cloud.run_until_idle()
        (failure,) = cloud.log.failures()
        assert failure.condition == "RetryAttemptsExhausted"
        assert failure.body["requestContext"]["approximateInvokeCount"] == 4  # 1 + 3 retries
        assert failure.body["KinesisBatchInfo"]["batchSize"] == 1
        queue = stack.physical_id("OnScore/DeadLetterQueue")
        (message,) = boto3.client("sqs").receive_message(QueueUrl=queue)["Messages"]
        assert json.loads(message["Body"]) == failure.body
        scores = boto3.resource("dynamodb").Table(stack.physical_id("Scores"))
        assert sorted(i["player"] for i in scores.scan()["Items"]) == ["ada", "bob"]
