"""Run the database trigger example on the local cloud, with faults, and show what happened.

``make demo`` (or ``.venv/bin/python scripts/demo.py --users 300``): synthesizes the
DatabaseTrigger example stack, deploys it into the local cloud, writes inserts, updates
and deletes to the users table, injects faults (a failing invocation, a duplicate
delivery, a poison record), delivers everything with Lambda's event source mapping
semantics while showing progress, then prints one user's audit history, the engine's
invocation log and the failure queue.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aws_cdk import App  # noqa: E402

from examples import DatabaseTriggerStack  # noqa: E402
from lambda_blueprints.runtime.audit_trail.changes import entity_key  # noqa: E402
from lambda_blueprints.testing import Invocation, LocalCloud  # noqa: E402
from lambda_blueprints.testing.activity import Entry  # noqa: E402


class Progress:
    """A one-line progress display of records delivered, fed by the activity log."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.delivered: set[str] = set()
        self.invocations = 0
        self.failed = 0
        self.started = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self._last_line = 0.0

    def __call__(self, entry: Entry) -> None:
        """Count one log entry and redraw the line now and then."""
        if not isinstance(entry, Invocation):
            return
        self.invocations += 1
        self.failed += entry.outcome != "success"
        if entry.outcome in ("success", "partial"):
            self.delivered.update(entry.items)
        now = time.perf_counter()
        if self.tty or now - self._last_line > 1 or len(self.delivered) >= self.total:
            self._last_line = now
            self.show()

    def show(self, end: str = "") -> None:
        """Draw the progress line."""
        done = min(len(self.delivered), self.total)
        width = 30
        filled = width * done // max(self.total, 1)
        rate = done / max(time.perf_counter() - self.started, 1e-9)
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} records  "
            f"{self.invocations} invocations ({self.failed} not successful)  {rate:,.0f} records/s"
        )
        sys.stderr.write(("\r" + line + end) if self.tty else (line + "\n"))
        sys.stderr.flush()


def main() -> int:
    """Run the demo."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200, help="users to create")
    parser.add_argument("--verbose", action="store_true", help="show the handler's own logs")
    args = parser.parse_args()
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    stack = DatabaseTriggerStack(App(context=context), "DatabaseTrigger")

    with LocalCloud() as cloud:
        deployed = cloud.deploy(stack)
        function = deployed.physical_id("UsersAudit/Trigger/Function")
        if not args.verbose:
            cloud.functions[function].environment["POWERTOOLS_LOG_LEVEL"] = "ERROR"
        users = boto3.resource("dynamodb").Table(deployed.physical_id("Users"))
        audit = boto3.resource("dynamodb").Table(deployed.physical_id("UsersAudit/AuditTable"))
        queue_url = deployed.physical_id("UsersAudit/Trigger/DeadLetterQueue")
        print(
            f"deployed {deployed.name}: {len(cloud.functions)} function, "
            f"{len(cloud.stream_mappings)} event source mapping, "
            f"{len(cloud.skipped)} resources without local behaviour (alarms, IAM, KMS, ...)"
        )

        for n in range(args.users):
            users.put_item(Item={"userId": f"u-{n}", "name": f"User {n}", "plan": "free"})
        for n in range(args.users):
            users.update_item(
                Key={"userId": f"u-{n}"},
                UpdateExpression="SET #p = :p, visits = :v",
                ExpressionAttributeNames={"#p": "plan"},
                ExpressionAttributeValues={":p": "pro", ":v": n},
            )
        for n in range(0, args.users, 2):
            users.delete_item(Key={"userId": f"u-{n}"})
        changes = 2 * args.users + (args.users + 1) // 2
        print(f"wrote {changes} changes to {users.name}")

        def poison(event: dict[str, Any]) -> dict[str, Any]:
            for record in event["Records"]:
                if record["dynamodb"]["Keys"]["userId"]["S"] == "u-7":
                    record["eventName"] = "UPSERT"
            return event

        cloud.faults.inject(function, fail=2, duplicate=1, mutate=poison)
        print(
            "faults: the first 2 invocations fail, 1 batch is delivered twice, "
            "records of user u-7 are corrupted"
        )

        progress = Progress(changes)
        cloud.log.listeners.append(progress)
        cloud.run_until_idle()
        progress.show(end="\n")

        items = [
            item
            for page in audit.meta.client.get_paginator("scan").paginate(TableName=audit.name)
            for item in page["Items"]
        ]
        print(f"\naudit items: {len(items)} for {changes} changes")
        history = audit.query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": entity_key(users.name, {"userId": {"S": "u-4"}})},
        )["Items"]
        print("\nhistory of u-4:")
        for item in history:
            described: Any = item["changes"]
            changed = ", ".join(
                f"{name}: {c.get('old', '-')} -> {c.get('new', '-')}"
                for name, c in sorted(described.items())
            )
            print(f"  {item['eventName']!s:<7} {changed}")

        print("\ninvocation log (first 12):")
        for entry in cloud.log.invocations(function=function)[:12]:
            first, last = entry.items[0][-6:], entry.items[-1][-6:]
            print(
                f"  {entry.shard_id or '-':<40.40} records ...{first}..{last} "
                f"({len(entry.items):>3})  attempt {entry.attempt}  {entry.outcome}"
            )

        sqs = boto3.client("sqs")
        bodies = []
        while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            bodies += [json.loads(m["Body"]) for m in batch]
            for m in batch:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        parked = {b["sequenceNumber"] for b in bodies if "reason" in b}
        print(
            f"\nfailure queue: {len(bodies)} message(s), {len(parked)} distinct records "
            "(a duplicated delivery parks a poison record twice: delivery is at least once)"
        )
        for body in bodies:
            key = body.get("record", {}).get("dynamodb", {}).get("Keys")
            print(f"  {body.get('reason')}: {body.get('detail')} (keys {json.dumps(key)})")
        audited = {item["sequenceNumber"] for item in items}
        ok = len(audited) == len(items) and len(audited | parked) == changes
        print(
            f"\n{'nothing lost' if ok else 'RECORDS LOST'}: {len(audited)} audited + "
            f"{len(parked)} parked with their reason = {len(audited | parked)} of {changes} "
            "changes"
        )
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
