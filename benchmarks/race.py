"""An Alleycat race through the local pipeline: messages per second and writes saved.

Run: ``.venv/bin/python benchmarks/race.py --racers 1000 --seconds 300`` (``make bench``
runs it with 60 seconds of race). Deploys the Alleycat example stack into the local cloud,
rides the race a second at a time (batched PutRecords, delivery every second) and reports:

* messages/s end to end: from PutRecords to standings, final results, the Firehose archive
  and the personal-best history, all delivered;
* standings writes with the 15-second window against the writes the same consumer makes
  without a window (one per race and shard for every batch it receives, as the Alleycat
  sample does when no window is configured).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aws_cdk import App  # noqa: E402

from examples import AlleycatStack  # noqa: E402
from lambda_blueprints.runtime.alleycat import simulator  # noqa: E402
from lambda_blueprints.testing import LocalCloud  # noqa: E402

RACE_ID = 1_767_225_600


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
        standings = [i for i in cloud.log.invocations() if i.function == function]
        batches = sum(1 for i in standings if i.items and i.outcome == "success")
        windowed_writes = sum(1 for i in standings if i.is_final_invoke_for_window)
    rows = [
        ("race", f"{args.racers:,} racers x {args.seconds} s", ""),
        ("messages", f"{messages:,}", ""),
        ("end to end, all four readers", f"{messages / elapsed:,.0f}", "messages/s"),
        ("PutRecords alone (moto)", f"{messages / put_seconds:,.0f}", "messages/s"),
        ("standings writes without a window (one per batch)", f"{batches:,}", "writes"),
        ("standings writes with the 15 s window", f"{windowed_writes:,}", "writes"),
        ("writes saved by the window", f"{1 - windowed_writes / max(batches, 1):.0%}", ""),
        (
            "writes per race second, no window vs window",
            f"{batches / args.seconds:.2f} vs {windowed_writes / args.seconds:.2f}",
            "",
        ),
    ]
    print("| measurement | value | unit |\n| --- | ---: | --- |")
    for label, value, unit in rows:
        print(f"| {label} | {value} | {unit} |")


if __name__ == "__main__":
    main()
