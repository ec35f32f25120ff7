"""Lambda in the local cloud: faults named any way a function is named, layers, timeouts."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs

from lambda_blueprints.testing import DeployedStack, LocalCloud

NewStack = Callable[..., Stack]

RECORDER = textwrap.dedent(
    """
    def handler(event, context):
        return {"records": len(event.get("Records", []))}
    """
)


@pytest.fixture
def recorder(new_stack: NewStack) -> Iterator[tuple[LocalCloud, DeployedStack, str]]:
    """A function fed by an SQS queue; yields the cloud, the stack and its logical id."""
    stack = new_stack("Faults")
    queue = sqs.Queue(stack, "Inbox")
    function = lambda_.Function(
        stack,
        "Recorder",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(RECORDER),
    )
    function.add_event_source(event_sources.SqsEventSource(queue))
    logical_id = stack.get_logical_id(function.node.default_child)  # type: ignore[arg-type]
    with LocalCloud() as cloud:
        yield cloud, cloud.deploy(stack), logical_id


@pytest.mark.parametrize("naming", ["logical id", "construct path", "physical name", "arn"])
def test_a_fault_applies_whichever_way_the_function_is_named(
    recorder: tuple[LocalCloud, DeployedStack, str], naming: str
) -> None:
    cloud, deployed, logical_id = recorder
    name = deployed.physical_id("Recorder")
    key = {
        "logical id": logical_id,
        "construct path": "Faults/Recorder",
        "physical name": name,
        "arn": cloud.functions[name].arn,
    }[naming]
    cloud.faults.inject(key, fail=1)

    # Invoked by its physical name, as event source mappings, rules and APIs invoke it.
    failed = cloud.invoke(name, {"Records": []})
    assert failed.error_type == "InjectedFault"
    assert cloud.invoke(name, {"Records": []}).ok


def test_a_fault_set_by_logical_id_reaches_the_sqs_mapping(
    recorder: tuple[LocalCloud, DeployedStack, str],
) -> None:
    cloud, deployed, logical_id = recorder
    cloud.faults.inject(logical_id, fail=1)
    queue_url = deployed.physical_id("Inbox")
    boto3.client("sqs").send_message(QueueUrl=queue_url, MessageBody="hello")

    cloud.run_until_idle()

    outcomes = [(i.outcome, i.attempt) for i in cloud.log.invocations() if i.source == "sqs"]
    assert outcomes == [("failure", 0), ("success", 1)]


def test_a_new_fault_under_another_name_replaces_the_old_one(
    recorder: tuple[LocalCloud, DeployedStack, str],
) -> None:
    cloud, deployed, logical_id = recorder
    name = deployed.physical_id("Recorder")
    cloud.faults.inject(name, fail=5)
    cloud.faults.inject(logical_id, fail=1)

    assert cloud.invoke(name, {}).error_type == "InjectedFault"
    assert cloud.invoke(name, {}).ok


def test_a_construct_path_finds_the_function(
    recorder: tuple[LocalCloud, DeployedStack, str],
) -> None:
    cloud, deployed, _ = recorder
    assert cloud.invoke("Faults/Recorder", {"Records": [{}]}).payload == {"records": 1}
    assert cloud.log.invocations()[-1].function == deployed.physical_id("Recorder")


# -- layers ------------------------------------------------------------------------------------

LAYERED = textwrap.dedent(
    """
    import greetings
    from greetings_pkg.words import WORD

    def main(event, context):
        return greetings.hello(event["name"]) + " " + WORD
    """
)


@pytest.mark.parametrize("strict", [True, False])
def test_a_function_imports_a_module_only_its_own_layer_provides(
    new_stack: NewStack, tmp_path: Path, strict: bool
) -> None:
    layer = tmp_path / "layer" / "python"
    (layer / "greetings_pkg").mkdir(parents=True)
    (layer / "greetings.py").write_text("def hello(name):\n    return 'hello ' + name\n")
    (layer / "greetings_pkg" / "__init__.py").write_text("")
    (layer / "greetings_pkg" / "words.py").write_text("WORD = 'from the layer'\n")
    code = tmp_path / "fn"
    code.mkdir()
    (code / "handler.py").write_text(LAYERED)
    stack = new_stack("Layered")
    lambda_.Function(
        stack,
        "Greeter",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="handler.main",
        code=lambda_.Code.from_asset(str(code)),
        layers=[
            lambda_.LayerVersion(
                stack, "Greetings", code=lambda_.Code.from_asset(str(tmp_path / "layer"))
            )
        ],
    )
    lambda_.Function(
        stack,
        "Other",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(
            "def handler(event, context):\n    import greetings\n    return 1\n"
        ),
    )

    with LocalCloud(strict_imports=strict) as cloud:
        cloud.deploy(stack)
        result = cloud.invoke("Greeter", {"name": "ada"})
        assert result.ok, result.error_message
        assert result.payload == "hello ada from the layer"
        # The layer is the function's own: a function without it does not see it.
        other = cloud.invoke("Other", {})
        assert other.error_type == "ModuleNotFoundError"
        assert cloud.invoke("Greeter", {"name": "bob"}).payload == "hello bob from the layer"


# -- timeouts ----------------------------------------------------------------------------------

SLEEPER = textwrap.dedent(
    """
    import json, os, time
    import boto3

    def handler(event, context):
        time.sleep(event["sleep"])
        boto3.client("sqs").send_message(
            QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(event)
        )
        return {"left_ms": context.get_remaining_time_in_millis()}
    """
)


@pytest.fixture
def sleeper(new_stack: NewStack) -> Iterator[tuple[LocalCloud, DeployedStack]]:
    stack = new_stack("Timeouts")
    queue = sqs.Queue(stack, "Done")
    lambda_.Function(
        stack,
        "Sleeper",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(SLEEPER),
        timeout=Duration.seconds(1),
        environment={"QUEUE_URL": queue.queue_url},
    )
    with LocalCloud() as cloud:
        yield cloud, cloud.deploy(stack)


def _messages(deployed: DeployedStack) -> list[Any]:
    received = boto3.client("sqs").receive_message(
        QueueUrl=deployed.physical_id("Done"), MaxNumberOfMessages=10
    )
    return [json.loads(m["Body"]) for m in received.get("Messages", [])]


def test_a_timeout_is_the_handlers_real_time_and_does_not_stop_it(
    sleeper: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, deployed = sleeper
    started = time.perf_counter()
    result = cloud.invoke("Sleeper", {"sleep": 1.2})

    assert time.perf_counter() - started >= 1.2
    assert result.error_type == "Sandbox.Timedout"
    assert result.error_message == "Task timed out after 1.00 seconds"
    assert result.payload is None
    assert result.duration_ms >= 1000
    # The handler ran to its end: its side effects happened.
    assert _messages(deployed) == [{"sleep": 1.2}]


def test_the_local_clock_does_not_count_towards_a_timeout(
    sleeper: tuple[LocalCloud, DeployedStack],
) -> None:
    cloud, deployed = sleeper
    before = cloud.clock.now()

    def an_hour_passes(event: dict[str, Any]) -> dict[str, Any]:
        cloud.clock.advance(3600)
        return event

    cloud.faults.inject(deployed.physical_id("Sleeper"), mutate=an_hour_passes)
    result = cloud.invoke("Sleeper", {"sleep": 0})

    assert cloud.clock.now() == before + 3600
    assert result.ok, result.error_message
    assert 0 < result.payload["left_ms"] <= 1000
