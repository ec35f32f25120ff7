"""BlueprintFunction: your code with the baseline, code folders bundled without Docker,
handlers checked at synth, the runtime layer."""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from lambda_blueprints import BlueprintFunction, HttpServiceApi, ServiceApi, StreamTrigger
from tests.conftest import asset_directory, build_wheel

NewStack = Callable[..., Stack]
LIBRARY_HANDLER = "lambda_blueprints.runtime.audit_trail.handler.lambda_handler"


def nag_findings(stack: Stack) -> list[str]:
    findings = []
    for pack in (AwsSolutionsChecks(), ServerlessChecks()):
        report = pack.validate_scope(stack)
        findings += [f"{v.rule_name}: {v.resource_logical_id}" for v in report.violations]
    return findings


def folder(tmp_path: Path, source: str, requirements: str | None = None) -> Path:
    code = tmp_path / "orders"
    code.mkdir()
    (code / "handler.py").write_text(source)
    if requirements is not None:
        (code / "requirements.txt").write_text(requirements)
    return code


PLAIN = "import json\n\ndef main(event, context):\n    return json.dumps(event)\n"
WITH_HELPERS = (
    "from lambda_blueprints.runtime.shared import failures\n\n"
    "def main(event, context):\n    return failures.__name__\n"
)


def function_props(stack: Stack) -> dict[str, Any]:
    functions = Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    assert len(functions) == 1
    return next(iter(functions.values()))["Properties"]  # type: ignore[no-any-return]


# --- the baseline ---------------------------------------------------------------------------


def test_your_code_gets_the_whole_baseline_and_passes_nag(
    new_stack: NewStack, tmp_path: Path
) -> None:
    stack = new_stack()
    orders = BlueprintFunction(
        stack, "Orders", code=str(folder(tmp_path, PLAIN)), handler="handler.main"
    )
    props = function_props(stack)

    assert props["Handler"] == "handler.main"
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert (props["MemorySize"], props["Timeout"]) == (256, 30)
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert props["RecursiveLoop"] == "Terminate"
    assert props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "Orders"
    assert len(props["Layers"]) == 1  # Powertools only: the code does not import the runtime
    assert "AWSLambdaPowertoolsPythonV3" in str(props["Layers"][0])
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::IAM::Role", {"ManagedPolicyArns": Match.absent()})
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})
    assert orders.node.default_child is orders.function
    assert sorted(orders.alarms) == ["errors", "throttles"]
    assert nag_findings(stack) == []


def test_the_folder_is_staged_as_it_is(new_stack: NewStack, tmp_path: Path) -> None:
    code = folder(tmp_path, PLAIN)
    (code / "orders_lib").mkdir()
    (code / "orders_lib" / "__init__.py").write_text("X = 1\n")
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    stack = new_stack()
    BlueprintFunction(stack, "Orders", code=str(code), handler="handler.main")

    staged = asset_directory(stack, function_props(stack)["Code"])
    assert (staged / "handler.py").read_text() == PLAIN
    assert (staged / "orders_lib" / "__init__.py").is_file()
    assert not (staged / "__pycache__").exists()


def test_a_library_handler_runs_from_the_runtime_asset(new_stack: NewStack) -> None:
    stack = new_stack()
    BlueprintFunction(stack, "Audit", handler=LIBRARY_HANDLER)
    staged = asset_directory(stack, function_props(stack)["Code"])

    assert (staged / "lambda_blueprints" / "runtime" / "audit_trail" / "handler.py").is_file()
    # The package's real __init__ offers the CDK constructs: the asset has a stub instead.
    init = (staged / "lambda_blueprints" / "__init__.py").read_text()
    assert "import" not in init
    assert sorted(p.name for p in staged.iterdir()) == ["lambda_blueprints"]


# --- the runtime layer ----------------------------------------------------------------------


def test_code_that_imports_the_library_gets_the_runtime_layer(
    new_stack: NewStack, tmp_path: Path
) -> None:
    stack = new_stack()
    BlueprintFunction(
        stack, "Orders", code=str(folder(tmp_path, WITH_HELPERS)), handler="handler.main"
    )
    layers = Template.from_stack(stack).find_resources("AWS::Lambda::LayerVersion")
    assert len(layers) == 1
    ((layer_id, layer),) = layers.items()
    assert {"Ref": layer_id} in function_props(stack)["Layers"]
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.14"]

    content = asset_directory(stack, layer["Properties"]["Content"])
    package = content / "python" / "lambda_blueprints"
    assert (package / "runtime" / "shared" / "windows.py").is_file()
    assert sorted(p.name for p in package.iterdir()) == ["__init__.py", "runtime"]
    imported = set()
    for path in content.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert imported, "the layer's modules import something"
    assert not imported & {"aws_cdk", "constructs", "jsii", "cdk_nag"}


def test_the_runtime_layer_is_on_request_and_once_per_stack(
    new_stack: NewStack, tmp_path: Path
) -> None:
    stack = new_stack()
    code = str(folder(tmp_path, PLAIN))
    BlueprintFunction(stack, "One", code=code, handler="handler.main", runtime_helpers=True)
    BlueprintFunction(stack, "Two", code=code, handler="handler.main", runtime_helpers=True)
    BlueprintFunction(stack, "Three", code=code, handler="handler.main")
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Lambda::LayerVersion", 1)
    with_layer = [
        f
        for f in template.find_resources("AWS::Lambda::Function").values()
        if len(f["Properties"]["Layers"]) == 2
    ]
    assert len(with_layer) == 2


def test_more_than_five_layers_are_refused(new_stack: NewStack, tmp_path: Path) -> None:
    stack = new_stack()
    layers = [
        lambda_.LayerVersion.from_layer_version_arn(
            stack, f"L{i}", f"arn:aws:lambda:us-east-1:123456789012:layer:l{i}:1"
        )
        for i in range(4)
    ]
    with pytest.raises(ValueError, match=r"layers: 6 layers in all .* at most 5"):
        BlueprintFunction(
            stack, "Orders", code=str(folder(tmp_path, WITH_HELPERS)), handler="handler.main",
            layers=layers,
        )  # fmt: skip


# --- handlers checked at synth --------------------------------------------------------------


def test_an_unknown_library_handler_fails_at_synth_listing_the_handlers(
    new_stack: NewStack,
) -> None:
    with pytest.raises(ValueError, match=r"none of the library's handlers.*audit_trail\.handler"):
        BlueprintFunction(new_stack(), "F", handler="lambda_blueprints.runtime.my_fn.handler.main")


def test_a_user_handler_without_code_says_to_give_code(new_stack: NewStack) -> None:
    with pytest.raises(ValueError, match=r"handler='orders\.handler'.*give code="):
        BlueprintFunction(new_stack(), "F", handler="orders.handler")


def test_the_old_runtime_prefix_is_answered_with_the_package_path(new_stack: NewStack) -> None:
    with pytest.raises(
        ValueError, match=r"start with the package name: lambda_blueprints\.runtime\.audit_trail"
    ):
        BlueprintFunction(new_stack(), "F", handler="runtime.audit_trail.handler.lambda_handler")


def test_a_handler_module_missing_from_the_folder_fails_naming_the_files(
    new_stack: NewStack, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"no module 'orders' \(orders\.py\).*handler\.py"):
        BlueprintFunction(
            new_stack(), "F", code=str(folder(tmp_path, PLAIN)), handler="orders.main"
        )


def test_a_handler_function_missing_from_the_module_fails(
    new_stack: NewStack, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"handler\.py defines no top-level 'lambda_handler'"):
        BlueprintFunction(
            new_stack(), "F", code=str(folder(tmp_path, PLAIN)), handler="handler.lambda_handler"
        )


def test_code_from_asset_is_checked_too(new_stack: NewStack, tmp_path: Path) -> None:
    code = lambda_.Code.from_asset(str(folder(tmp_path, PLAIN)))
    with pytest.raises(ValueError, match=r"defines no top-level 'handle'"):
        BlueprintFunction(new_stack(), "F", code=code, handler="handler.handle")


def test_a_handler_is_read_never_imported(new_stack: NewStack, tmp_path: Path) -> None:
    # Importing this module would fail: the check reads it.
    source = "import module_that_does_not_exist\n\ndef main(event, context):\n    return 1\n"
    stack = new_stack()
    BlueprintFunction(stack, "F", code=str(folder(tmp_path, source)), handler="handler.main")
    assert function_props(stack)["Handler"] == "handler.main"


def test_a_folder_that_does_not_exist_fails(new_stack: NewStack, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"code='.*missing' is not a directory"):
        BlueprintFunction(new_stack(), "F", code=str(tmp_path / "missing"), handler="h.main")


@pytest.mark.parametrize(
    ("props", "error", "message"),
    [
        ({"memory_size": 64}, ValueError, r"memory_size=64.*128 to 10,240"),
        ({"timeout": Duration.minutes(16)}, ValueError, r"timeout"),
        ({"log_level": "TRACE"}, ValueError, r"log_level='TRACE'"),
        ({"code": 42}, TypeError, r"code"),
        ({"handler": 42}, TypeError, r"handler=42"),
        ({"reserved_concurrent_executions": -1}, ValueError, r"reserved_concurrent_executions"),
    ],
)
def test_invalid_options_fail_naming_the_prop(
    new_stack: NewStack, tmp_path: Path, props: dict[str, Any], error: type, message: str
) -> None:
    options: dict[str, Any] = {"code": str(folder(tmp_path, PLAIN)), "handler": "handler.main"}
    with pytest.raises(error, match=message):
        BlueprintFunction(new_stack(), "F", **{**options, **props})


# --- dependencies without Docker ------------------------------------------------------------


@pytest.fixture
def wheelhouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An offline package index with one wheel, and a cache of our own."""
    house = tmp_path / "wheelhouse"
    house.mkdir()
    build_wheel(house, "orderids", "1.2", "def new_id():\n    return 'id-1'\n")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(house))
    monkeypatch.setenv("LAMBDA_BLUEPRINTS_CACHE", str(tmp_path / "cache"))
    return house


def test_requirements_are_installed_next_to_the_code_and_cached(
    new_stack: NewStack, tmp_path: Path, wheelhouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = folder(tmp_path, PLAIN, requirements="orderids==1.2  # ids\n")
    stack = new_stack()
    BlueprintFunction(stack, "Orders", code=str(code), handler="handler.main")
    staged = asset_directory(stack, function_props(stack)["Code"])
    assert (staged / "orderids.py").is_file()
    assert (staged / "handler.py").is_file()
    assert not list(staged.rglob("*.pyc"))

    # A second synth takes the cached install: pip is not run again.
    def no_pip(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"pip ran again: {args}")

    monkeypatch.setattr(subprocess, "run", no_pip)
    again = new_stack("Again")
    BlueprintFunction(again, "Orders", code=str(code), handler="handler.main")
    assert function_props(again)["Code"] == function_props(stack)["Code"]


def test_dependencies_are_taken_for_the_functions_architecture(
    new_stack: NewStack, tmp_path: Path, wheelhouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[list[str]] = []
    real_run = subprocess.run

    def recording(command: list[str], **kwargs: Any) -> Any:
        commands.append(command)
        return real_run(command, **kwargs)

    monkeypatch.setattr(subprocess, "run", recording)
    code = str(folder(tmp_path, PLAIN, requirements="orderids\n"))
    BlueprintFunction(new_stack(), "Arm", code=code, handler="handler.main")
    BlueprintFunction(
        new_stack("X86"), "X86", code=code, handler="handler.main",
        architecture=lambda_.Architecture.X86_64,
    )  # fmt: skip
    platforms = [c[c.index("--platform") + 1] for c in commands]
    assert platforms == ["manylinux2014_aarch64", "manylinux2014_x86_64"]
    for command in commands:
        assert "--only-binary=:all:" in command
        assert command[command.index("--python-version") + 1] == "3.14"


def test_pyproject_dependencies_are_installed_too(
    new_stack: NewStack, tmp_path: Path, wheelhouse: Path
) -> None:
    code = folder(tmp_path, PLAIN)
    (code / "pyproject.toml").write_text(
        '[project]\nname = "orders"\nversion = "0"\ndependencies = ["orderids>=1"]\n'
    )
    stack = new_stack()
    BlueprintFunction(stack, "Orders", code=str(code), handler="handler.main")
    assert (asset_directory(stack, function_props(stack)["Code"]) / "orderids.py").is_file()


def test_a_dependency_without_a_wheel_fails_at_synth_naming_it(
    new_stack: NewStack, tmp_path: Path, wheelhouse: Path
) -> None:
    code = str(folder(tmp_path, PLAIN, requirements="orderids\nnot-published-anywhere==9\n"))
    with pytest.raises(
        ValueError, match=r"no wheel of not-published-anywhere==9 for manylinux2014_aarch64"
    ):
        BlueprintFunction(new_stack(), "Orders", code=code, handler="handler.main")


# --- metrics and alarms ---------------------------------------------------------------------


def test_the_metric_methods_give_the_metrics_the_alarms_watch(
    new_stack: NewStack, tmp_path: Path
) -> None:
    stack = new_stack()
    orders = BlueprintFunction(
        stack, "Orders", code=str(folder(tmp_path, PLAIN)), handler="handler.main"
    )
    alarms = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")
    by_metric = {a["Properties"]["MetricName"]: a["Properties"] for a in alarms.values()}
    for method, name in ((orders.metric_errors, "Errors"), (orders.metric_throttles, "Throttles")):
        metric = method()
        assert (metric.metric_name, metric.namespace, metric.statistic) == (
            name,
            "AWS/Lambda",
            "Sum",
        )
        assert metric.period.to_seconds() == by_metric[name]["Period"] == 60
        assert by_metric[name]["Statistic"] == "Sum"
    assert orders.metric_duration().statistic == "p99"
    assert orders.metric_invocations(period=Duration.minutes(5)).period.to_seconds() == 300


def test_alarms_can_be_left_out(new_stack: NewStack, tmp_path: Path) -> None:
    stack = new_stack()
    orders = BlueprintFunction(
        stack, "Orders", code=str(folder(tmp_path, PLAIN)), handler="handler.main", alarms=False
    )
    Template.from_stack(stack).resource_count_is("AWS::CloudWatch::Alarm", 0)
    assert orders.alarms == {}
    assert orders.metric_errors().metric_name == "Errors"


# --- the same options everywhere ------------------------------------------------------------


def test_a_stream_trigger_runs_your_folder_with_the_baseline(
    new_stack: NewStack, tmp_path: Path
) -> None:
    stack = new_stack()
    StreamTrigger(
        stack, "Trigger", code=str(folder(tmp_path, WITH_HELPERS)), handler="handler.main",
        log_level="DEBUG",
    )  # fmt: skip
    props = function_props(stack)
    assert props["Handler"] == "handler.main"
    assert props["LoggingConfig"]["ApplicationLogLevel"] == "DEBUG"
    assert len(props["Layers"]) == 2  # Powertools and the runtime layer
    assert "FAILURE_QUEUE_URL" in props["Environment"]["Variables"]
    assert nag_findings(stack) == []


def test_a_stream_trigger_checks_your_handler(new_stack: NewStack, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"defines no top-level 'nope'"):
        StreamTrigger(
            new_stack(), "Trigger", code=str(folder(tmp_path, PLAIN)), handler="handler.nope"
        )


def test_code_with_an_existing_function_is_refused(new_stack: NewStack, tmp_path: Path) -> None:
    stack = new_stack()
    existing = BlueprintFunction(
        stack, "Mine", code=str(folder(tmp_path, PLAIN)), handler="handler.main"
    )
    with pytest.raises(ValueError, match=r"code configure the function this construct builds"):
        StreamTrigger(
            stack,
            "Trigger",
            table=dynamodb.Table.from_table_attributes(
                stack,
                "T",
                table_name="t",
                table_stream_arn="arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x",
            ),
            function=existing.function,
            code="lambda/other",
        )


def test_every_builder_of_functions_takes_the_same_function_options() -> None:
    import inspect

    from lambda_blueprints import ConsumerOptions, TumblingWindowAggregator

    options = {
        "code", "handler", "service_name", "environment", "memory_size", "timeout",
        "log_retention", "log_level", "layers", "runtime_helpers", "architecture",
        "reserved_concurrent_executions",
    }  # fmt: skip
    assert options <= set(inspect.signature(BlueprintFunction.__init__).parameters)
    assert options <= set(inspect.signature(StreamTrigger.__init__).parameters)
    assert options <= set(inspect.signature(TumblingWindowAggregator.__init__).parameters)
    assert options <= set(ConsumerOptions.__annotations__)
    assert options <= set(inspect.signature(ServiceApi.add_route).parameters)
    assert options <= set(inspect.signature(HttpServiceApi.add_route).parameters)
