"""The Alleycat racing backend: IoT ingestion, live leaderboards, final results, all-time bests."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from constructs import Construct

from lambda_blueprints.patterns.alleycat import AlleycatRacing


class AlleycatStack(Stack):
    """One race of up to 1,000 racers at a time, as in the AWS Compute blog series.

    Each bike publishes to ``alleycat/publish/<racerId>`` (the topic level its IoT policy,
    ``AlleycatRacing.bike_policy``, binds to its thing name); leaderboards arrive on
    ``alleycat/races/<raceId>/leaderboard``; the API answers standings and results; the
    history bucket holds one gzip object of personal bests per class. Example data is
    removed with the stack.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        racing = AlleycatRacing(self, "Alleycat", removal_policy=RemovalPolicy.DESTROY)

        CfnOutput(self, "PublishTopic", value=racing.topic.replace("+", "<racerId>"))
        CfnOutput(self, "StreamName", value=racing.fan_out.stream.stream_name)
        CfnOutput(self, "RacesTableName", value=racing.races_table.table_name)
        CfnOutput(self, "HistoryBucketName", value=racing.history_bucket.bucket_name)
        CfnOutput(self, "ArchiveBucketName", value=racing.archive.bucket.bucket_name)
        CfnOutput(self, "ApiUrl", value=racing.api.url)
        CfnOutput(
            self, "StandingsFailureQueueUrl", value=racing.standings.dead_letter_queue.queue_url
        )
