"""The README shows a newcomer's first minutes, and every file it shows is a tested one.

Each code block of the README that starts with a comment naming a file (``# app.py``,
``# lambda/orders/requirements.txt``) must be, after that line, exactly the file of the same
path in the docs' example project (``docs/examples/project/``), which
``tests/docs/test_examples.py`` runs as a user would. Links to the docs must resolve.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
PROJECT = ROOT / "docs" / "examples" / "project"
_BLOCK = re.compile(r"```(\w*)\n(.*?)```", flags=re.DOTALL)
_HEADER = re.compile(r"# ([\w./-]+\.(?:py|txt|toml))\n")
#: What a newcomer reads before the links to the docs take over.
MAX_LINES = 160


def _file_blocks() -> list[tuple[str, str]]:
    found = []
    for language, source in _BLOCK.findall(README):
        header = _HEADER.match(source)
        if header is None:
            assert language != "python", f"a Python block names no file:\n{source[:200]}"
            continue
        found.append((header.group(1), source[header.end() :]))
    return found


BLOCKS = _file_blocks()


def test_the_readme_shows_the_getting_started_project() -> None:
    paths = [path for path, _ in BLOCKS]
    assert len(paths) == len(set(paths)), paths
    assert {"app.py", "test_orders.py", "lambda/orders/handler.py"} <= set(paths)


@pytest.mark.parametrize(("path", "source"), BLOCKS, ids=[path for path, _ in BLOCKS])
def test_readme_block_is_the_tested_example_file(path: str, source: str) -> None:
    assert (PROJECT / path).read_text() == source, (
        f"README's {path} differs from docs/examples/project/{path}: change both"
    )


def test_the_readme_stays_short() -> None:
    assert len(README.splitlines()) <= MAX_LINES


def test_the_readmes_links_to_the_docs_resolve() -> None:
    targets = re.findall(r"\]\(((?!https?:)[^)#]+)(?:#[^)]*)?\)", README)
    assert targets
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing, missing
