"""The local cloud gives a function only what Lambda would: its code, its layers, the runtime."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack

from lambda_blueprints import BlueprintFunction
from lambda_blueprints.testing import LocalCloud
from lambda_blueprints.testing.lambda_imports import ImportScope
from tests.conftest import build_wheel

NewStack = Callable[..., Stack]


def deploy_and_invoke(
    new_stack: NewStack,
    tmp_path: Path,
    source: str,
    *,
    strict: bool = True,
    requirements: str | None = None,
    **options: Any,
) -> Any:
    code = tmp_path / "fn"
    code.mkdir(exist_ok=True)
    (code / "handler.py").write_text(source)
    if requirements is not None:
        (code / "requirements.txt").write_text(requirements)
    stack = new_stack()
    BlueprintFunction(stack, "Fn", code=str(code), handler="handler.main", **options)
    with LocalCloud(strict_imports=strict) as cloud:
        cloud.deploy(stack)
        return cloud.invoke("Fn", {"n": 1})


def test_a_package_of_the_test_environment_fails_like_lambda(
    new_stack: NewStack, tmp_path: Path
) -> None:
    # hypothesis is installed for the tests, and no function ships it.
    result = deploy_and_invoke(
        new_stack, tmp_path, "import hypothesis\n\ndef main(event, context):\n    return 1\n"
    )
    assert result.function_error == "Unhandled"
    assert result.error_type == "Runtime.ImportModuleError"
    assert "Unable to import module 'handler'" in result.error_message
    assert "No module named 'hypothesis'" in result.error_message


def test_the_opt_out_lets_the_function_import_the_test_environment(
    new_stack: NewStack, tmp_path: Path
) -> None:
    result = deploy_and_invoke(
        new_stack,
        tmp_path,
        "import hypothesis\n\ndef main(event, context):\n    return 1\n",
        strict=False,
    )
    assert result.ok, result.error_message


def test_the_runtime_and_the_powertools_layer_are_there(
    new_stack: NewStack, tmp_path: Path
) -> None:
    source = (
        "import json, boto3, botocore\n"
        "from aws_lambda_powertools import Logger\n\n"
        "def main(event, context):\n    return json.dumps(event)\n"
    )
    result = deploy_and_invoke(new_stack, tmp_path, source)
    assert result.ok, result.error_message
    assert result.payload == '{"n": 1}'


def test_a_dependency_shipped_in_the_code_folder_imports(
    new_stack: NewStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    house = tmp_path / "wheels"
    house.mkdir()
    build_wheel(house, "shipped_only", "1.0", "VALUE = 41\n")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(house))
    monkeypatch.setenv("LAMBDA_BLUEPRINTS_CACHE", str(tmp_path / "cache"))
    source = "import shipped_only\n\ndef main(event, context):\n    return shipped_only.VALUE + 1\n"
    result = deploy_and_invoke(new_stack, tmp_path, source, requirements="shipped_only\n")
    assert result.ok, result.error_message
    assert result.payload == 42


def test_the_library_helpers_need_the_runtime_layer(new_stack: NewStack, tmp_path: Path) -> None:
    source = (
        "from lambda_blueprints.runtime.shared import failures\n\n"
        "def main(event, context):\n    return failures.__name__\n"
    )
    with_layer = deploy_and_invoke(new_stack, tmp_path, source)
    assert with_layer.ok, with_layer.error_message
    assert with_layer.payload == "lambda_blueprints.runtime.shared.failures"

    without = deploy_and_invoke(new_stack, tmp_path, source, runtime_helpers=False)
    assert without.error_type == "Runtime.ImportModuleError"
    assert "No module named 'lambda_blueprints'" in without.error_message


def test_the_layer_holds_the_runtime_and_nothing_else_of_the_package(
    new_stack: NewStack, tmp_path: Path
) -> None:
    source = (
        "from lambda_blueprints.runtime.shared import failures\n"
        "from lambda_blueprints import constructs\n\n"
        "def main(event, context):\n    return 1\n"
    )
    result = deploy_and_invoke(new_stack, tmp_path, source)
    assert result.error_type == "Runtime.ImportModuleError"
    assert "No module named 'lambda_blueprints.constructs'" in result.error_message


def test_an_import_at_invocation_fails_as_a_function_error(
    new_stack: NewStack, tmp_path: Path
) -> None:
    source = "def main(event, context):\n    import hypothesis\n    return 1\n"
    result = deploy_and_invoke(new_stack, tmp_path, source)
    assert result.error_type == "ModuleNotFoundError"
    assert "No module named 'hypothesis'" in result.error_message


def test_the_scope_refuses_nothing_for_a_layer_it_cannot_see(tmp_path: Path) -> None:
    known = ImportScope.of(tmp_path, [], powertools=False)
    unknown = ImportScope.of(
        tmp_path, [], powertools=False, unknown_layers=["arn:aws:lambda:::layer:x:1"]
    )
    assert known.missing("requests", ()) == "requests"
    assert known.missing("json", ()) is None
    assert known.missing("aws_lambda_powertools", ()) == "aws_lambda_powertools"
    assert unknown.missing("requests", ()) is None
