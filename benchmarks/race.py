"""An Alleycat race through the local pipeline: messages per second and writes saved.

Run: ``.venv/bin/python benchmarks/race.py --racers 1000 --seconds 300`` (``make bench``
runs it with 60 seconds of race). Deploys the Alleycat example stack into the local cloud,
rides the race a second at a time (batched PutRecords, delivery every second) and reports:

* messages/s end to end: from PutRecords to standings, final results, the Firehose archive
  and the personal-best history, all delivered;
* standings writes with the 15-second window against the writes the same handler makes
  without a window (as the Alleycat sample does when no window is configured): the batches
  the windowed consumer received are replayed, without their window fields, into the
  handler against an empty copy of the races table. Both counts are the writes the
  handler made (the ``version`` each standings item ends at), not estimates.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aws_cdk import App  # noqa: E402

from examples import AlleycatStack  # noqa: E402
from lambda_blueprints.runtime.alleycat import simulator  # noqa: E402
from lambda_blueprints.runtime.alleycat.standings import handler as standings  # noqa: E402
from lambda_blueprints.testing import LambdaContext, LocalCloud  # noqa: E402

RACE_ID = 1_767_225_600


def standings_writes(cloud: LocalCloud, table: str) -> int:
    """Writes made to the race's standings items: each write bumps the item's version."""
    items = cloud.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :standings)",
        ExpressionAttributeValues={
            ":pk": {"S": f"race#{RACE_ID}"},
            ":standings": {"S": "standings#"},
        },
    )["Items"]
    return sum(int(item["version"]["N"]) for item in items)


def replay_without_window(cloud: LocalCloud, table: str, batches: Iterable[list[Any]]) -> int:
    """Feed ``batches`` to the standings handler with no window, into an empty table copy."""
    dynamodb = cloud.client("dynamodb")
    description = dynamodb.describe_table(TableName=table)["Table"]
    copy = f"{table}-no-window"
    dynamodb.create_table(
        TableName=copy,
        KeySchema=description["KeySchema"],
        AttributeDefinitions=[
            a for a in description["AttributeDefinitions"] if a["AttributeName"] in ("pk", "sk")
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    previous = os.environ.get("RESULTS_TABLE_NAME")
    os.environ["RESULTS_TABLE_NAME"] = copy
    context: Any = LambdaContext(function_name="standings-without-window")
    try:
        for records in batches:
            response = standings.lambda_handler({"Records": records}, context)
            assert response == {"batchItemFailures": []}, response  # noqa: S101
    finally:
        if previous is None:
            os.environ.pop("RESULTS_TABLE_NAME")
        else:
            os.environ["RESULTS_TABLE_NAME"] = previous
    return standings_writes(cloud, copy)


def main(argv: list[str] | None = None) -> None:
    """Run one race and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--racers", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args(argv)
    stack = AlleycatStack(App(), "Alleycat")
    with LocalCloud() as cloud:
        deployed = cloud.deploy(stack)
        stream = deployed.physical_id("Alleycat/Stream/Stream")
        function = deployed.physical_id("Alleycat/Standings/Trigger/Function")
        kinesis = cloud.client("kinesis")
        started = time.perf_counter()
        put_seconds = 0.0
        messages = 0
        for batch in simulator.race_messages(
            RACE_ID, 1, racer_count=args.racers, seconds=args.seconds, seed=1
        ):
            put_started = time.perf_counter()
            simulator.put_records(
                kinesis, stream, [(simulator.encode(m), m["uuid"]) for m in batch]
            )
            put_seconds += time.perf_counter() - put_started
            messages += len(batch)
            cloud.run_until_idle(advance_clock=False)
            cloud.clock.advance(1)
        cloud.run_until_idle()
        cloud.flush_firehose()
        cloud.run_until_idle()
        elapsed = time.perf_counter() - started
        table = deployed.physical_id("Alleycat/RacesTable")
        windowed_writes = standings_writes(cloud, table)
        delivered = [
            i
            for i in cloud.log.invocations(function=function)
            if i.items and i.outcome == "success"
        ]
        batches = len(delivered)
        # Each logged event is decoded only when its batch is replayed.
        unwindowed_writes = replay_without_window(
            cloud, table, (i.event["Records"] for i in delivered)
        )
    rows = [
        ("race", f"{args.racers:,} racers x {args.seconds} s", ""),
        ("messages", f"{messages:,}", ""),
        ("end to end, every reader", f"{messages / elapsed:,.0f}", "messages/s"),
        ("PutRecords alone (moto)", f"{messages / put_seconds:,.0f}", "messages/s"),
        ("standings batches delivered", f"{batches:,}", "batches"),
        ("standings writes without a window (same batches)", f"{unwindowed_writes:,}", "writes"),
        ("standings writes with the 15 s window", f"{windowed_writes:,}", "writes"),
        (
            "writes saved by the window",
            f"{1 - windowed_writes / max(unwindowed_writes, 1):.0%}",
            "",
        ),
        (
            "writes per race second, no window vs window",
            f"{unwindowed_writes / args.seconds:.2f} vs {windowed_writes / args.seconds:.2f}",
            "",
        ),
    ]
    print("| measurement | value | unit |\n| --- | ---: | --- |")
    for label, value, unit in rows:
        print(f"| {label} | {value} | {unit} |")


if __name__ == "__main__":
    main()
