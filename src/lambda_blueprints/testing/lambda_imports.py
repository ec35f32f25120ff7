"""What a function may import in Lambda, and a guard that holds the local cloud to it.

In Lambda a Python function imports from its code, its layers (each layer's ``python/``)
and what the runtime ships: the standard library and the AWS SDK (boto3, botocore and
their dependencies). The local cloud runs every function in the test's own process, where
everything installed in your virtualenv can be imported; without a guard, a handler that
imports ``requests`` (installed for your tests, not shipped with the function) passes
locally and fails in Lambda with ``Runtime.ImportModuleError``.

While a function is loaded and invoked, :func:`guarded` checks every absolute import made
by the function's own modules (those under its code, its layers, or the library's runtime
when the function has it) against :class:`ImportScope`. Imports made by the packages it
was allowed to import (boto3 importing botocore, Powertools importing its parts) are not
checked again. Not checked: ``importlib.import_module`` and ``__import__`` called with
your own ``globals``.
"""

from __future__ import annotations

import builtins
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Top-level modules the Lambda Python runtime ships besides the standard library: the
#: AWS SDK for Python and the packages it depends on, and the runtime interface client.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six", "awslambdaric"}
)
#: Top-level modules the AWS-published Powertools for AWS Lambda (Python) layer provides,
#: stood in by the installed packages: Powertools and the extras its layer bundles (tracer,
#: parser, validation).
POWERTOOLS_LAYER_PROVIDES = frozenset(
    {
        "aws_lambda_powertools",
        "aws_xray_sdk",
        "wrapt",
        "fastjsonschema",
        "pydantic",
        "pydantic_core",
        "annotated_types",
        "typing_extensions",
        "typing_inspection",
        "jmespath",
    }
)
#: Account that publishes the Powertools layers (their ARNs name it).
POWERTOOLS_LAYER_MARK = ":layer:AWSLambdaPowertoolsPython"
_RUNTIME_PACKAGE = "lambda_blueprints"
_STANDARD = frozenset(sys.stdlib_module_names) | frozenset(sys.builtin_module_names)
_RUNTIME_DIR = str(Path(__file__).resolve().parent.parent / "runtime")


class LambdaImportError(ImportError):
    """A function's handler could not be imported, as Lambda reports it at init."""

    error_type = "Runtime.ImportModuleError"


def top_level_names(directory: Path) -> set[str]:
    """The modules and packages importable from the top of ``directory``."""
    if not directory.is_dir():
        return set()
    names = set()
    for entry in directory.iterdir():
        if entry.is_dir() and entry.name.isidentifier():
            names.add(entry.name)
        elif entry.suffix in (".py", ".so", ".pyd"):
            stem = entry.name.split(".", 1)[0]
            if stem.isidentifier():
                names.add(stem)
    return names


@dataclass(frozen=True)
class ImportScope:
    """What one function can import in Lambda."""

    #: Directories holding the function's own modules: its code and its layers.
    roots: tuple[str, ...]
    #: Top-level names its code and layers provide.
    names: frozenset[str]
    #: Whether it has the library's runtime (``lambda_blueprints.runtime``).
    runtime: bool
    #: Whether it has the Powertools layer.
    powertools: bool
    #: Layers the local cloud does not know the content of: nothing is refused.
    unknown_layers: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        code_dir: Path | None,
        layer_dirs: Sequence[Path],
        *,
        powertools: bool,
        unknown_layers: Iterable[str] = (),
    ) -> ImportScope:
        """The scope of a function with this code and these (``python/``) layer folders."""
        directories = [d for d in (code_dir, *layer_dirs) if d is not None]
        names: set[str] = set()
        for directory in directories:
            names |= top_level_names(directory)
        runtime = any((d / _RUNTIME_PACKAGE / "runtime").is_dir() for d in directories)
        roots = sorted({str(d) for d in directories} | {str(d.resolve()) for d in directories})
        if runtime:
            roots.append(_RUNTIME_DIR)  # the installed copy stands in for the staged one
        return cls(tuple(roots), frozenset(names), runtime, powertools, tuple(unknown_layers))

    def missing(self, name: str, fromlist: Sequence[str] | None) -> str | None:
        """The module Lambda would not find for ``import name`` (None when it would)."""
        top = name.partition(".")[0]
        if top == _RUNTIME_PACKAGE:
            if not self.runtime:
                return top
            if name == _RUNTIME_PACKAGE:
                wrong = [f for f in (fromlist or ()) if f != "runtime"]
                return f"{_RUNTIME_PACKAGE}.{wrong[0]}" if wrong else None
            return None if name.startswith(f"{_RUNTIME_PACKAGE}.runtime") else name
        if (
            top in _STANDARD
            or top in RUNTIME_PROVIDED
            or top in self.names
            or (self.powertools and top in POWERTOOLS_LAYER_PROVIDES)
            or self.unknown_layers
        ):
            return None
        return top


_active: list[ImportScope] = []
_original_import = builtins.__import__


def _checked_import(
    name: str,
    globals: dict[str, Any] | None = None,  # noqa: A002 - the signature of __import__
    locals: dict[str, Any] | None = None,  # noqa: A002
    fromlist: Sequence[str] | None = (),
    level: int = 0,
) -> Any:
    if level == 0 and _active and globals is not None:
        importer = globals.get("__file__")
        scope = _active[-1]
        if isinstance(importer, str) and importer.startswith(scope.roots):
            missing = scope.missing(name, fromlist)
            if missing is not None:
                raise ModuleNotFoundError(
                    f"No module named '{missing}' (the function ships no such module: "
                    "add it to its code folder's requirements.txt or to a layer)",
                    name=missing,
                )
    return _original_import(name, globals, locals, fromlist, level)


@contextmanager
def guarded(scope: ImportScope | None) -> Iterator[None]:
    """Check the imports of the function with ``scope`` while the block runs (None: none)."""
    if scope is None:
        yield
        return
    _active.append(scope)
    builtins.__import__ = _checked_import  # type: ignore[assignment]
    try:
        yield
    finally:
        _active.pop()
        if not _active:
            builtins.__import__ = _original_import


# -- every function of an assembly, imported as Lambda would ---------------------------------

_IMPORT_PROBE = """
import importlib, json, sys
module, _, name = sys.argv[1].rpartition(".")
try:
    handler = getattr(importlib.import_module(module), name)
    print(json.dumps(None if callable(handler) else f"{sys.argv[1]} is not callable"))
except BaseException as error:
    print(json.dumps(f"{type(error).__name__}: {error}"))
"""


def _link_packages(names: Iterable[str], directory: Path) -> Path:
    """A folder holding (links to) the installed top-level packages ``names``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        if spec.submodule_search_locations:
            source = Path(next(iter(spec.submodule_search_locations)))
        elif spec.origin:
            source = Path(spec.origin)
        else:
            continue
        target = directory / source.name
        if not target.exists():
            target.symlink_to(source)
    return directory


def import_in_lambda(assembly_dir: str | Path, stack_name: str) -> dict[str, str | None]:
    """Import every function's handler of a synthesized stack as Lambda would.

    Each handler is imported in a fresh interpreter (``python -I -S``) whose ``sys.path``
    holds only the function's staged code, its layers' ``python/`` folders (the Powertools
    layer stood in by the installed Powertools and its bundled extras) and what the Python
    runtime ships (the standard library, boto3 and its dependencies): nothing of your test
    environment. Use it in your tests after ``cdk synth`` (or ``app.synth()``): every
    value of ``import_in_lambda("cdk.out", "Shop")`` should be None.

    Functions of other runtimes (CDK's own Node.js providers, say) are not Python code and
    are left out.

    Returns:
        Per Python function's logical id: None when its handler imports, else the error.
    """
    root = Path(assembly_dir).resolve()
    template = json.loads((root / f"{stack_name}.template.json").read_text())
    assets: dict[str, Path] = {}
    manifest = root / f"{stack_name}.assets.json"
    if manifest.is_file():
        for asset in json.loads(manifest.read_text()).get("files", {}).values():
            for destination in asset.get("destinations", {}).values():
                assets[destination.get("objectKey", "")] = root / asset["source"]["path"]
    resources = template.get("Resources", {})
    results: dict[str, str | None] = {}
    with tempfile.TemporaryDirectory(prefix="lambda-env-") as scratch:
        runtime = _link_packages(RUNTIME_PROVIDED, Path(scratch) / "runtime")
        powertools = _link_packages(POWERTOOLS_LAYER_PROVIDES, Path(scratch) / "powertools")
        for logical_id, resource in resources.items():
            if resource.get("Type") != "AWS::Lambda::Function":
                continue
            props = resource.get("Properties", {})
            if not str(props.get("Runtime", "python")).startswith("python"):
                continue
            code = props.get("Code", {})
            if "ZipFile" in code:
                inline = Path(scratch) / logical_id
                inline.mkdir()
                (inline / "index.py").write_text(code["ZipFile"])
                code_dir: Path | None = inline
            else:
                code_dir = assets.get(str(code.get("S3Key", "")))
            if code_dir is None:
                results[logical_id] = "the function's code is not an asset of the assembly"
                continue
            path = [str(code_dir)]
            for layer in props.get("Layers", []):
                if isinstance(layer, dict) and "Ref" in layer:
                    content = (
                        resources.get(layer["Ref"], {}).get("Properties", {}).get("Content", {})
                    )
                    layer_dir = assets.get(str(content.get("S3Key", "")))
                    if layer_dir is not None:
                        path.append(str(layer_dir / "python"))
                elif POWERTOOLS_LAYER_MARK in json.dumps(layer):
                    path.append(str(powertools))
            path.append(str(runtime))
            probe = (
                f"import sys; sys.path[:0] = {path!r}; "
                + "exec(compile("
                + repr(_IMPORT_PROBE)
                + ", '<probe>', 'exec'))"
            )
            environment = {
                key: value if isinstance(value, str) else "resolved-at-deploy"
                for key, value in props.get("Environment", {}).get("Variables", {}).items()
            }
            environment.update(
                {
                    "AWS_REGION": "us-east-1",
                    "AWS_DEFAULT_REGION": "us-east-1",
                    "PATH": os.environ.get("PATH", ""),
                }
            )
            completed = subprocess.run(  # noqa: S603 - our own interpreter and probe
                [sys.executable, "-I", "-S", "-c", probe, props.get("Handler", "index.handler")],
                capture_output=True,
                text=True,
                env=environment,
                cwd=str(code_dir),
                check=False,
                timeout=120,
            )
            lines = completed.stdout.strip().splitlines()
            results[logical_id] = (
                json.loads(lines[-1])
                if lines
                else f"the interpreter failed: {completed.stderr[-500:]}"
            )
    return results
