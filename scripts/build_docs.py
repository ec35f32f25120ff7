"""Build the documentation site: diagrams and tables from synthesized templates, then MkDocs.

1. Synthesizes every example stack (``examples.add_example_stacks``) and every program of the
   docs' example projects (``docs/examples/<project>/*.py``, run as ``python <file>`` would
   run them) with construct path metadata on.
2. Draws each stack's architecture from its template (``scripts/architecture_diagrams.py``)
   into ``docs/diagrams/<stack>.svg``, and writes the cdk-nag acknowledgments each stack
   carries (rule, construct path, reason, as the constructs state them) into
   ``docs/_snippets/acknowledgments/<stack>.md`` for the pages to include.
3. Copies the pinned Mermaid bundle from ``node_modules`` beside the pages' scripts, so no
   page loads anything from the network.
4. Runs ``mkdocs build --strict`` into ``site/``: a broken link, a missing page, image or
   included file fails the build.

Everything generated is ignored by git and rebuilt by every run, so no picture or table can
drift from the code.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DIAGRAMS = DOCS / "diagrams"
ACKNOWLEDGMENTS = DOCS / "_snippets" / "acknowledgments"
MERMAID = ROOT / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
PATH_METADATA = {"aws:cdk:enable-path-metadata": True}

sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import architecture_diagrams  # noqa: E402


def _synth_examples(out: Path) -> Path:
    """The example stacks of ``app.py``, without the nag packs (``make synth`` runs them)."""
    from aws_cdk import App

    from examples import add_example_stacks

    app = App(outdir=str(out), context=PATH_METADATA)
    add_example_stacks(app)
    app.synth()
    return out


@contextlib.contextmanager
def _apps_synthesize_into(outdir: Path) -> Iterator[None]:
    """Every ``App()`` a program makes meanwhile synthesizes into ``outdir``, with paths.

    The programs are run as a user runs them (``App()``, then ``app.synth()``); ``CDK_OUTDIR``
    cannot steer them here, because jsii's Node process read its environment when the first
    app of this build started.
    """
    from aws_cdk import App

    original = App.__init__

    def init(self: App, **kwargs: Any) -> None:
        kwargs["outdir"] = str(outdir)
        kwargs["context"] = {**(kwargs.get("context") or {}), **PATH_METADATA}
        original(self, **kwargs)

    App.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        App.__init__ = original  # type: ignore[method-assign]


def _synth_project(project: Path, out: Path) -> list[Path]:
    """Run each program of a docs example project; one cloud assembly per program."""
    copy = out / "project"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("__pycache__", "cdk.out"))
    local = {p.stem for p in copy.glob("*.py")}
    assemblies = []
    previous = Path.cwd()
    sys.path.insert(0, str(copy))
    try:
        os.chdir(copy)
        for program in sorted(copy.glob("*.py")):
            if program.name.startswith("test_"):
                continue
            for name in [m for m in sys.modules if m.split(".")[0] in local]:
                del sys.modules[name]
            assembly = out / f"assembly-{program.stem}"
            with _apps_synthesize_into(assembly), contextlib.redirect_stdout(io.StringIO()):
                runpy.run_path(str(program), run_name="__main__")
            if (assembly / "manifest.json").exists():
                assemblies.append(assembly)
    finally:
        os.chdir(previous)
        sys.path.remove(str(copy))
    return assemblies


def _stacks(assembly: Path) -> dict[str, dict[str, Any]]:
    manifest = json.loads((assembly / "manifest.json").read_text())
    return {
        name: artifact
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }


def _acknowledgments(assembly: Path, artifact: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(rule, construct path, reason)`` of every acknowledged cdk-nag finding of a stack."""
    metadata = dict(artifact.get("metadata") or {})
    if "additionalMetadataFile" in artifact:
        metadata.update(json.loads((assembly / artifact["additionalMetadataFile"]).read_text()))
    found = set()
    for path, entries in metadata.items():
        for entry in entries:
            if entry.get("type") != "aws:cdk:acknowledged-rules":
                continue
            for key, reason in entry["data"].items():
                found.add(
                    (key.removeprefix("Annotation::"), path.removesuffix("/Resource"), reason)
                )
    return sorted(found, key=lambda row: (row[1], row[0]))


def _acknowledgments_table(rows: list[tuple[str, str, str]]) -> str:
    if not rows:
        return "This stack acknowledges no cdk-nag finding.\n"
    lines = ["| finding | on | why |", "| --- | --- | --- |"]
    for rule, path, reason in rows:
        cell = reason.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{rule}` | `{path.lstrip('/')}` | {cell} |")
    return "\n".join(lines) + "\n"


def _draw(assemblies: list[Path]) -> None:
    seen: dict[str, Any] = {}
    for assembly in assemblies:
        for name, artifact in _stacks(assembly).items():
            template = json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
            if name in seen and seen[name] != template:
                raise SystemExit(f"two examples define different stacks named {name!r}")
            seen[name] = template
            svg = architecture_diagrams.draw(template, title=name)
            (DIAGRAMS / f"{name}.svg").write_text(svg)
            table = _acknowledgments_table(_acknowledgments(assembly, artifact))
            (ACKNOWLEDGMENTS / f"{name}.md").write_text(table)
    print(f"diagrams: {len(seen)} stacks drawn into {DIAGRAMS.relative_to(ROOT)}/")


def main() -> int:
    """Generate the diagrams and tables, then build the site strictly."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="generate only, no mkdocs")
    args = parser.parse_args()
    started = time.monotonic()
    if not MERMAID.exists():
        raise SystemExit(f"{MERMAID.relative_to(ROOT)} is missing: run `make setup` (npm ci)")
    shutil.copyfile(MERMAID, DOCS / "javascripts" / MERMAID.name)
    for folder in (DIAGRAMS, ACKNOWLEDGMENTS):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="lambda-blueprints-docs-") as scratch:
        work = Path(scratch)
        assemblies = [_synth_examples(work / "examples")]
        for project in sorted((DOCS / "examples").iterdir()):
            if project.is_dir() and any(project.glob("*.py")):
                assemblies += _synth_project(project, work / project.name)
        _draw(assemblies)
    print(f"generated in {time.monotonic() - started:.1f} s")
    if args.no_build:
        return 0
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    print(f"site built in {time.monotonic() - started:.1f} s" if build.returncode == 0 else "")
    return build.returncode


if __name__ == "__main__":
    sys.exit(main())
