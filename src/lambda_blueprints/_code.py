"""Function code: the runtime asset and layer, folders bundled without Docker, handler checks.

Everything here runs at synth, on your machine; nothing of it reaches Lambda but the files it
stages. Bundling goes through CDK's local bundling (no Docker image is ever pulled: the
local bundler always succeeds or raises).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

#: Import path of the library's runtime, the same in Lambda and in tests.
RUNTIME_PACKAGE = "lambda_blueprints.runtime"
_PACKAGE_DIR = Path(__file__).resolve().parent
_RUNTIME_DIR = _PACKAGE_DIR / "runtime"
#: Stands in for the package's ``__init__`` in the asset and the layer: the real one offers
#: the CDK constructs, which a function has no use for and could not import.
_STUB_INIT = '"""lambda-blueprints in Lambda: its runtime only (lambda_blueprints.runtime)."""\n'
#: Bumped when the layout of staged code changes, so that cached hashes change with it.
_LAYOUT_VERSION = "1"
#: Marks a finished dependency install in the cache (not copied into assets).
_COMPLETE = ".lambda-blueprints-complete"
#: Folders of a code folder that are never part of a function: caches and virtualenvs.
_SKIPPED_DIRS = frozenset(
    {"__pycache__", ".venv", "venv", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)
_SKIPPED = shutil.ignore_patterns(_COMPLETE, "*.pyc", *_SKIPPED_DIRS)
#: Files of a code folder that only describe its dependencies.
_DEPENDENCY_FILES = ("requirements.txt", "pyproject.toml")


# -- the library's runtime: function asset and layer -------------------------------------------


@jsii.implements(ILocalBundling)
class _Stage:
    """Copies prepared trees into the asset's output directory (CDK's local bundling)."""

    def __init__(self, *trees: tuple[Path, str], files: dict[str, str] | None = None) -> None:
        self._trees = trees
        self._files = files or {}

    def try_bundle(self, output_dir: str, options: Any = None) -> bool:
        out = Path(output_dir)
        for source, target in self._trees:
            shutil.copytree(source, out / target, ignore=_SKIPPED, dirs_exist_ok=True)
        for name, text in self._files.items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_text(text)
        return True


def _bundled(source: Path, stage: _Stage, asset_hash: str) -> lambda_.AssetCode:
    return lambda_.Code.from_asset(
        str(source),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset_hash,
        bundling=BundlingOptions(
            # Never pulled: the local bundler always succeeds.
            image=DockerImage.from_registry("lambda-blueprints/local-bundling-only"),
            local=stage,  # type: ignore[arg-type]  # jsii passes the options positionally
        ),
    )


@functools.cache
def _runtime_hash() -> str:
    digest = hashlib.sha256(f"layout {_LAYOUT_VERSION}\n{_STUB_INIT}".encode())
    _hash_tree(digest, _RUNTIME_DIR)
    return digest.hexdigest()


def _source_files(root: Path, pattern: str = "*") -> list[Path]:
    """The files of ``root`` that are staged: none under :data:`_SKIPPED_DIRS`, no ``.pyc``."""
    return [
        path
        for path in sorted(root.rglob(pattern))
        if path.is_file()
        and path.suffix != ".pyc"
        and not set(path.relative_to(root).parts) & _SKIPPED_DIRS
    ]


def _hash_tree(digest: Any, root: Path) -> None:
    for path in _source_files(root):
        relative = path.relative_to(root).as_posix()
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")


def runtime_code() -> lambda_.AssetCode:
    """The library's own handlers: ``lambda_blueprints/runtime`` and a stub package init.

    Handlers are named ``lambda_blueprints.runtime.<function>.<module>.<name>``, the path
    tests import them by.
    """
    return _bundled(
        _RUNTIME_DIR,
        _Stage(
            (_RUNTIME_DIR, "lambda_blueprints/runtime"),
            files={"lambda_blueprints/__init__.py": _STUB_INIT},
        ),
        "runtime-" + _runtime_hash(),
    )


def runtime_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The library's runtime helpers as a layer, once per stack.

    Lambda puts a Python layer's ``python/`` on ``sys.path``, so your handlers import the
    helpers exactly as in tests: ``from lambda_blueprints.runtime.shared import windows``.
    The layer holds the runtime package only; nothing in it imports aws_cdk.
    """
    stack = Stack.of(scope)
    existing = stack.node.try_find_child("LambdaBlueprintsRuntimeLayer")
    if existing is not None:
        return existing  # type: ignore[return-value]
    from lambda_blueprints import _defaults

    return lambda_.LayerVersion(
        stack,
        "LambdaBlueprintsRuntimeLayer",
        code=_bundled(
            _RUNTIME_DIR,
            _Stage(
                (_RUNTIME_DIR, "python/lambda_blueprints/runtime"),
                files={"python/lambda_blueprints/__init__.py": _STUB_INIT},
            ),
            "runtime-layer-" + _runtime_hash(),
        ),
        compatible_runtimes=[_defaults.PYTHON_RUNTIME],
        compatible_architectures=[lambda_.Architecture.ARM_64, lambda_.Architecture.X86_64],
        description="lambda-blueprints runtime helpers (lambda_blueprints.runtime)",
    )


# -- your code folders -------------------------------------------------------------------------


def _platform(architecture: lambda_.Architecture) -> str:
    machine = "aarch64" if architecture.name == lambda_.Architecture.ARM_64.name else "x86_64"
    return f"manylinux2014_{machine}"


def _python_version(runtime: lambda_.Runtime) -> str:
    match = re.fullmatch(r"python(\d+\.\d+)", runtime.name)
    if match is None:
        raise ValueError(
            f"runtime={runtime.name!r} is not a Python runtime; code folders are Python."
        )
    return match.group(1)


def requirements_of(folder: Path) -> list[str]:
    """The dependencies a code folder declares.

    Those of ``requirements.txt``, else the ``[project] dependencies`` of its
    ``pyproject.toml``, else none.
    """
    requirements = folder / "requirements.txt"
    if requirements.is_file():
        lines = []
        for raw in requirements.read_text().splitlines():
            line = raw.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
        return lines
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        try:
            project = tomllib.loads(pyproject.read_text()).get("project", {})
        except tomllib.TOMLDecodeError as error:
            raise ValueError(
                f"code={str(folder)!r}: pyproject.toml does not parse: {error}"
            ) from error
        return [str(d) for d in project.get("dependencies", [])]
    return []


def cache_directory() -> Path:
    """Where installed dependencies are kept, by content hash (``LAMBDA_BLUEPRINTS_CACHE``)."""
    configured = os.environ.get("LAMBDA_BLUEPRINTS_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lambda-blueprints"


def install_dependencies(
    requirements: Sequence[str], *, platform: str, python_version: str, origin: str
) -> Path:
    """Install ``requirements`` as Lambda would need them into a cached directory.

    Only binary wheels for ``platform`` and ``python_version`` are taken (``pip install
    --platform --only-binary=:all: --python-version --implementation cp --target``): nothing
    is compiled on this machine, so what is staged runs on Lambda's Amazon Linux. The
    directory is keyed by a hash of the requirements and the target; a second synth reuses
    it. pip reads its usual configuration (``PIP_INDEX_URL``, ``PIP_FIND_LINKS``,
    ``PIP_NO_INDEX``) from the environment.
    """
    key = hashlib.sha256(
        "\n".join([_LAYOUT_VERSION, platform, python_version, *requirements]).encode()
    ).hexdigest()[:32]
    target = cache_directory() / "dependencies" / key
    if (target / _COMPLETE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=target.parent))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile", "--no-warn-conflicts", "--upgrade",
        "--platform", platform, "--implementation", "cp", "--python-version", python_version,
        "--only-binary=:all:", "--target", str(work), *requirements,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        raise ValueError(
            _pip_failure(origin, requirements, platform, python_version, result.stderr)
        )
    (work / _COMPLETE).write_text(" ".join(requirements) + "\n")
    try:
        work.rename(target)
    except OSError:  # another synth finished first: keep its copy
        shutil.rmtree(work, ignore_errors=True)
    return target


def _pip_failure(
    origin: str, requirements: Sequence[str], platform: str, python_version: str, stderr: str
) -> str:
    missing = re.findall(r"No matching distribution found for (\S+)", stderr)
    said = " ".join(line.strip() for line in stderr.strip().splitlines()[-3:])
    if missing:
        return (
            f"code={origin!r}: no wheel of {', '.join(missing)} for {platform} and CPython "
            f"{python_version} (Lambda cannot build from source, so only binary wheels are "
            "taken). Pin a version that publishes such a wheel, choose another architecture, "
            f"or put the built package into the folder yourself. pip said: {said}"
        )
    return (
        f"code={origin!r}: installing {', '.join(requirements)} for {platform} and CPython "
        f"{python_version} failed. pip said: {said}"
    )


def folder_code(
    folder: str | os.PathLike[str],
    *,
    architecture: lambda_.Architecture,
    runtime: lambda_.Runtime,
) -> lambda_.AssetCode:
    """Your handler folder as function code, its dependencies installed next to it.

    The folder is copied as it is (caches and virtualenvs left out); the dependencies it
    declares (:func:`requirements_of`) are installed for the function's architecture and
    Python version by :func:`install_dependencies`, without Docker.
    """
    path = Path(folder).resolve()
    if not path.is_dir():
        raise ValueError(
            f"code={str(folder)!r} is not a directory. Give the folder of your handler code "
            "(relative paths are relative to where cdk synth runs), or any lambda_.Code."
        )
    requirements = requirements_of(path)
    trees: list[tuple[Path, str]] = []
    digest = hashlib.sha256(f"layout {_LAYOUT_VERSION}\n".encode())
    if requirements:
        platform, version = _platform(architecture), _python_version(runtime)
        trees.append(
            (
                install_dependencies(
                    requirements, platform=platform, python_version=version, origin=str(folder)
                ),
                ".",
            )
        )
        digest.update("\n".join([platform, version, *requirements]).encode())
    # The folder last: its own modules win over a dependency's of the same name.
    trees.append((path, "."))
    _hash_tree(digest, path)
    code = _bundled(path, _Stage(*trees), "folder-" + digest.hexdigest())
    # The folder its handler is looked up in (the asset's own path is the output's).
    code._lambda_blueprints_folder = path  # type: ignore[attr-defined]
    return code


def imports_runtime(code: lambda_.Code) -> bool:
    """Whether code from a local folder imports ``lambda_blueprints`` (read, not imported)."""
    directory = code_directory(code)
    if directory is None or (directory / "lambda_blueprints").is_dir():
        return False  # nothing to read, or the folder brings its own copy
    for path in _source_files(directory, "*.py"):
        source = path.read_text(errors="replace")
        if "lambda_blueprints" not in source:
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(
                a.name.split(".")[0] == "lambda_blueprints" for a in node.names
            ):
                return True
            if (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and (node.module or "").split(".")[0] == "lambda_blueprints"
            ):
                return True
    return False


def served_by_layer(handler: str, code: lambda_.Code) -> bool:
    """Whether ``handler`` is one of the library's that ``code`` does not bring itself."""
    directory = code_directory(code)
    module = handler.rpartition(".")[0]
    return module.startswith(RUNTIME_PACKAGE + ".") and (
        directory is None or _module_file(directory, module) is None
    )


# -- handler paths checked at synth ------------------------------------------------------------


def library_handlers() -> list[str]:
    """Every handler path the library's runtime offers (``lambda_handler`` functions)."""
    found = []
    for path in sorted(_RUNTIME_DIR.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        if "lambda_handler" in _top_level_names(path):
            module = ".".join(path.relative_to(_RUNTIME_DIR).with_suffix("").parts)
            found.append(f"{RUNTIME_PACKAGE}.{module}.lambda_handler")
    return found


def _top_level_names(path: Path) -> set[str]:
    """Names a module defines at its top level, read without importing it."""
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as error:
        raise ValueError(f"{path} does not parse: {error}") from error
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _module_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def code_directory(code: lambda_.Code) -> Path | None:
    """The local directory a function's code comes from, when there is one to read."""
    folder = getattr(code, "_lambda_blueprints_folder", None)
    if isinstance(folder, Path):
        return folder
    path = getattr(code, "path", None) if isinstance(code, lambda_.AssetCode) else None
    if path and Path(path).is_dir():
        return Path(path)
    return None


def check_handler(handler: object, code: lambda_.Code | None, *, prop: str = "handler") -> None:
    """Fail at synth when ``handler`` names no function of the code it runs.

    With ``code=None`` the handler must be one of the library's (:func:`library_handlers`);
    with code from a local folder, the file must exist in it and define the function at its
    top level (read, never imported). Code from elsewhere (S3, a zip, inline) is not read.
    """
    if not isinstance(handler, str) or not handler:
        raise TypeError(
            f"{prop}={handler!r}: expected a handler path '<module>.<function>' (str), e.g. "
            f"'handler.main' for handler.py of your code, or "
            f"'{RUNTIME_PACKAGE}.<...>.lambda_handler'."
        )
    module, _, name = handler.rpartition(".")
    if (
        not module
        or not name.isidentifier()
        or not all(p.isidentifier() for p in module.split("."))
    ):
        raise ValueError(f"{prop}={handler!r} is not '<module>.<function>' (e.g. 'handler.main').")
    if code is None:
        _check_library_handler(handler, prop)
        return
    directory = code_directory(code)
    if directory is None:
        return
    if module.startswith(RUNTIME_PACKAGE + ".") and _module_file(directory, module) is None:
        _check_library_handler(handler, prop)  # served by the runtime layer
        return
    file = _module_file(directory, module)
    if file is None:
        sources = _source_files(directory, "*.py")
        present = [p.relative_to(directory).as_posix() for p in sources][:20]
        raise ValueError(
            f"{prop}={handler!r}: the code has no module {module!r} "
            f"({module.replace('.', '/')}.py) in {directory}. Python files there: "
            f"{', '.join(present) or 'none'}. The handler is '<module path>.<function>', "
            "relative to the top of the code folder."
        )
    if name not in _top_level_names(file):
        raise ValueError(
            f"{prop}={handler!r}: {file.name} defines no top-level {name!r}. Define "
            f"'def {name}(event, context):' there, or name the function it defines."
        )


def _check_library_handler(handler: str, prop: str) -> None:
    offered = library_handlers()
    if handler in offered:
        return
    if handler.startswith("runtime."):
        hint = (
            " The library's handler paths start with the package name: "
            f"{RUNTIME_PACKAGE}.{handler[8:]}."
        )
    elif not handler.startswith(RUNTIME_PACKAGE + "."):
        hint = (
            " To run your own code, give code= as well: the folder of your handler "
            "(code='lambda/orders') or any lambda_.Code."
        )
    else:
        hint = ""
    raise ValueError(
        f"{prop}={handler!r} is none of the library's handlers, and no code= was given.{hint} "
        f"The library's handlers: {', '.join(offered)}."
    )
