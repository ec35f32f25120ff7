"""Race the Alleycat example on the local cloud and watch the live leaderboard.

``make demo`` (or ``.venv/bin/python scripts/race_demo.py --racers 200 --seconds 60``):
synthesizes the Alleycat example stack, deploys it into the local cloud, and rides a race
second by second: the simulator puts each second's messages on the stream with batched
PutRecords, the local cloud delivers them (a failing and a duplicated invocation are
injected), and every 15 race-seconds the leaderboard the publisher sent to the IoT topic
is printed. At the end the API's final results and the personal-best history are checked
against a brute-force computation over the same messages.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aws_cdk import App  # noqa: E402

from examples import AlleycatStack  # noqa: E402
from lambda_blueprints.runtime.alleycat import simulator  # noqa: E402
from lambda_blueprints.testing import LocalCloud  # noqa: E402
from lambda_blueprints.testing.reference.alleycat import (  # noqa: E402
    expected_personal_bests,
    expected_rankings,
)

RACE_ID = 1_767_225_600
CLASS_ID = 1


def show_leaderboard(update: dict[str, Any], second: int, sent: int, elapsed: float) -> None:
    """Print one published leaderboard."""
    leaders = ", ".join(
        f"{s['rank']}. {s['name']} {s['total']:,.2f}" for s in update["leaders"][:5]
    )
    print(
        f"[{second:>3} s] {sent:>7,} messages, {sent / max(elapsed, 1e-9):>7,.0f}/s | "
        f"{update['racers']} racers | {leaders}",
        flush=True,
    )


def history_of(cloud: LocalCloud, bucket: str) -> dict[int, dict[str, dict[str, str]]]:
    """The history objects, by class."""
    s3 = cloud.client("s3")
    found = {}
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        document = json.loads(gzip.decompress(body))
        found[int(document["classId"])] = document["racers"]
    return found


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--racers", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=300)
    args = parser.parse_args(argv)
    # The handlers log every merge at INFO; keep the leaderboard readable. Warnings (a
    # parked message, a cut leaderboard) still print.
    logging.disable(logging.INFO)

    print("synthesizing the Alleycat example stack...", flush=True)
    stack = AlleycatStack(App(), "Alleycat")
    with LocalCloud() as cloud:
        deployed = cloud.deploy(stack)
        stream = deployed.physical_id("Alleycat/Stream/Stream")
        cloud.faults.inject(
            deployed.physical_id("Alleycat/Standings/Trigger/Function"), fail=1, duplicate=1
        )
        topic = f"alleycat/races/{RACE_ID}/leaderboard"
        kinesis = cloud.client("kinesis")
        print(
            f"racing {args.racers:,} racers for {args.seconds} s "
            f"({args.racers * args.seconds:,} messages); leaderboard on {topic}",
            flush=True,
        )
        # Start the race on a window boundary, so each print closes a window.
        cloud.clock.advance(-cloud.clock.now() % 15)
        started = time.perf_counter()
        sent: list[dict[str, Any]] = []
        shown = 0
        for second, messages in enumerate(
            simulator.race_messages(
                RACE_ID, CLASS_ID, racer_count=args.racers, seconds=args.seconds, seed=1
            ),
            start=1,
        ):
            sent.extend(messages)
            simulator.put_records(
                kinesis, stream, [(simulator.encode(m), m["uuid"]) for m in messages]
            )
            # Deliver every second: records are stamped with the clock when first read.
            cloud.run_until_idle(advance_clock=False)
            cloud.clock.advance(1)
            if second % 15 == 0 or second == args.seconds:
                cloud.run_until_idle(advance_clock=second == args.seconds)
                updates = cloud.iot_messages(topic)
                if len(updates) > shown:
                    shown = len(updates)
                    show_leaderboard(
                        json.loads(updates[-1][1]), second, len(sent), time.perf_counter() - started
                    )
        cloud.flush_firehose()
        cloud.run_until_idle()
        elapsed = time.perf_counter() - started

        expected = expected_rankings(sent)[RACE_ID]
        response = cloud.http("GET", f"/races/{RACE_ID}/results", query={"limit": "1000"})
        results = response.json()["results"]
        print(f"\nfinal results (GET /races/{RACE_ID}/results -> {response.status}):")
        for result in results[:10]:
            print(f"  {result['rank']:>2}. {result['name']:<12} {result['total']:>12,.2f}")
        history = history_of(cloud, deployed.physical_id("Alleycat/HistoryBucket"))
        bests = sum(len(seconds) for seconds in history.get(CLASS_ID, {}).values())
        print(f"personal bests stored for class {CLASS_ID}: {bests:,} racer-seconds")
        wanted = [(racer, float(total)) for racer, total in expected[:1000]]
        # Equal scores come back in any order from the index: compare as sets, and totals.
        results_ok = sorted((r["racerId"], r["total"]) for r in results) == sorted(wanted) and [
            r["total"] for r in results
        ] == [total for _, total in wanted]
        history_ok = history == expected_personal_bests(sent)
        print(
            f"{len(sent):,} messages in {elapsed:.1f} s ({len(sent) / elapsed:,.0f}/s); "
            f"results {'equal' if results_ok else 'DIFFER FROM'} brute force; "
            f"personal bests {'equal' if history_ok else 'DIFFER FROM'} brute force"
        )
        return 0 if results_ok and history_ok else 1


if __name__ == "__main__":
    sys.exit(main())
