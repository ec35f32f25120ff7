"""Cost of the local cloud's import guard, measured side by side.

Run: ``.venv/bin/python benchmarks/import_guard.py``. One function of your own code (a
DynamoDB ``PutItem`` per invocation, through moto, and a function-level import) is invoked
directly, with ``LocalCloud(strict_imports=True)`` (the default: every import of the
function's own modules is checked against what Lambda would give it) and with
``strict_imports=False``. Prints invocations per second of each and their ratio (best of
``RUNS``).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from aws_cdk import App, Stack
from aws_cdk import aws_dynamodb as dynamodb

from lambda_blueprints import BlueprintFunction
from lambda_blueprints.testing import LocalCloud

for name, value in {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}.items():
    os.environ.setdefault(name, value)

RUNS = 3
INVOCATIONS = 1_000
HANDLER = """
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE"])


def main(event, context):
    import json  # a function-level import, checked on every invocation

    table.put_item(Item={"pk": str(event["n"]), "body": json.dumps(event)})
    return event["n"]
"""


def build(folder: Path) -> Stack:
    (folder / "handler.py").write_text(HANDLER)
    stack = Stack(App(), "ImportGuard")
    key = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
    table = dynamodb.Table(stack, "Items", partition_key=key)
    fn = BlueprintFunction(
        stack,
        "Fn",
        code=str(folder),
        handler="handler.main",
        environment={"TABLE": table.table_name},
    )
    table.grant_write_data(fn.function)
    return stack


def invocations_per_second(stack: Stack, *, strict: bool) -> float:
    with LocalCloud(strict_imports=strict) as cloud:
        cloud.deploy(stack)
        first = cloud.invoke("Fn", {"n": -1})
        if not first.ok:
            raise RuntimeError(f"the function failed: {first.error_message}")
        started = time.perf_counter()
        for n in range(INVOCATIONS):
            cloud.invoke("Fn", {"n": n})
        return INVOCATIONS / (time.perf_counter() - started)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        stack = build(Path(folder))
        strict = max(invocations_per_second(stack, strict=True) for _ in range(RUNS))
        loose = max(invocations_per_second(stack, strict=False) for _ in range(RUNS))
    print("| local cloud | invocations/s |")
    print("| --- | ---: |")
    print(f"| `strict_imports=True` (default) | {strict:,.0f} |")
    print(f"| `strict_imports=False` | {loose:,.0f} |")
    print(f"| ratio strict / off | {strict / loose:.2f} |")


if __name__ == "__main__":
    main()
