"""Every example the docs show is a real file, and runs as written.

Each folder under ``docs/examples/`` is a user's project, laid out as the pages describe it.
The folder is copied into a fresh directory; each program in it (a top-level ``.py`` file
that is not a test) runs as ``python <file>`` would run it, and each test file's tests run,
with the folder as the working directory and first on ``sys.path``.
"""

from __future__ import annotations

import inspect
import runpy
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

EXAMPLES = ROOT / "docs" / "examples"


def _folders() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.is_dir() and p.name != "__pycache__")


def _programs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("test_"))


def _test_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("test_*.py"))


PROGRAMS = [(f.name, p.name) for f in _folders() for p in _programs(f)]
TEST_FILES = [(f.name, p.name) for f in _folders() for p in _test_files(f)]


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    copies = {}
    for folder in _folders():
        copy = tmp_path_factory.mktemp(folder.name) / folder.name
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("__pycache__", "cdk.out"))
        copies[folder.name] = copy
    return copies


def _enter(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``project`` the working directory and the first import location, freshly."""
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    local = {p.stem for p in project.glob("*.py")} | {
        p.name for p in project.iterdir() if (p / "__init__.py").exists()
    }
    for name in list(sys.modules):
        if name.split(".")[0] in local:
            monkeypatch.delitem(sys.modules, name, raising=False)


def test_every_docs_example_folder_has_programs_or_tests() -> None:
    for folder in _folders():
        assert _programs(folder) or _test_files(folder), f"{folder} holds no example"
    assert ("project", "app.py") in PROGRAMS
    assert ("project", "test_orders.py") in TEST_FILES


@pytest.mark.parametrize(("folder", "program"), PROGRAMS)
def test_docs_program_runs_as_written(
    folder: str, program: str, projects: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _enter(projects[folder], monkeypatch)
    runpy.run_path(str(projects[folder] / program), run_name="__main__")


@pytest.mark.parametrize(("folder", "test_file"), TEST_FILES)
def test_docs_test_file_passes(
    folder: str, test_file: str, projects: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _enter(projects[folder], monkeypatch)
    namespace = runpy.run_path(str(projects[folder] / test_file))
    tests = [v for k, v in namespace.items() if k.startswith("test_") and callable(v)]
    assert tests, f"{folder}/{test_file} has no tests"
    for test in tests:
        assert not inspect.signature(test).parameters, (
            f"{test.__name__} takes fixtures; docs examples are plain functions"
        )
        test()
