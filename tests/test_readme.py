"""Every Python block of the README is a complete program that runs as written.

Each block starts with a comment naming its file (``# app.py``, ``# lambda/orders/handler.py``);
text blocks that start the same way (``# lambda/orders/requirements.txt``) are files too. All
of them are written into one fresh project folder, as a reader would lay them out; then each
program runs there as ``python <file>`` would run it, and each test file's tests run.
"""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

_BLOCK = re.compile(r"```(python|text)\n(.*?)```", flags=re.DOTALL)
_HEADER = re.compile(r"# ([\w./-]+\.(?:py|txt|toml))\n")


def _blocks() -> list[tuple[str, str, str]]:
    """``(language, path, source)`` of every README block that is a file."""
    found = []
    for language, source in _BLOCK.findall((ROOT / "README.md").read_text()):
        header = _HEADER.match(source)
        if header is None:
            assert language != "python", f"a Python block names no file:\n{source[:200]}"
            continue
        found.append((language, header.group(1), source))
    return found


BLOCKS = _blocks()
PROGRAMS = [path for language, path, _ in BLOCKS if language == "python" and "/" not in path]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("readme-project")
    for _, path, source in BLOCKS:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(source)
    return folder


def test_the_readme_has_programs_and_their_files_are_unique() -> None:
    paths = [path for _, path, _ in BLOCKS]
    assert len(paths) == len(set(paths)), paths
    assert "app.py" in paths
    assert "test_orders.py" in paths


@pytest.mark.parametrize("path", PROGRAMS)
def test_readme_program_runs_as_written(
    path: str, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    for name in [p.removesuffix(".py") for p in PROGRAMS]:
        monkeypatch.delitem(sys.modules, name, raising=False)
    if Path(path).name.startswith("test_"):
        namespace = runpy.run_path(str(project / path))
        tests = [v for k, v in namespace.items() if k.startswith("test_") and callable(v)]
        assert tests, f"{path} has no tests"
        for test in tests:
            test()
    else:
        runpy.run_path(str(project / path), run_name="__main__")
