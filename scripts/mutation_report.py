"""Run mutation testing (mutmut) and summarize the result per module.

``make mutate`` runs this. mutmut's own progress output is long; it goes to
``mutants/run.log``. The summary counts, per module, the mutants the tests killed and
the ones that survived, and splits the survivors into those that change only the text of
a string (an error message's wording, a log line) and those that change behaviour: the
second kind is what a test should catch. ``--survivors`` lists those with their diff.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tokenize
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
_RESULT = re.compile(r"^\s*(?P<name>\S+): (?P<status>.+)$")


def mutmut(*args: str, log: Path | None = None) -> str:
    """Run a mutmut command in the repository; return its output."""
    command = [sys.executable, "-m", "mutmut", *args]
    if log is None:
        return subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    with log.open("w") as out:
        subprocess.run(command, cwd=ROOT, check=True, stdout=out, stderr=subprocess.STDOUT)
    return ""


def _code_without_strings(line: str) -> str:
    """The line with every string literal's content removed (tokens kept)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return line.strip()
    parts = []
    for token in tokens:
        if token.type == tokenize.STRING:
            parts.append("''")
        elif sys.version_info >= (3, 12) and token.type == tokenize.FSTRING_MIDDLE:
            continue
        else:
            parts.append(token.string)
    return " ".join(parts)


def changes_only_text(diff: str) -> bool:
    """True when a mutant's diff changes nothing but the content of string literals."""
    removed = [line[1:] for line in diff.splitlines() if line[:1] == "-" and line[:3] != "---"]
    added = [line[1:] for line in diff.splitlines() if line[:1] == "+" and line[:3] != "+++"]
    if not removed or len(removed) != len(added):
        return False
    return all(
        _code_without_strings(old) == _code_without_strings(new)
        for old, new in zip(removed, added, strict=True)
    )


def module_of(mutant: str) -> str:
    """``lambda_blueprints.runtime.x.handler.x_f__mutmut_3`` -> ``runtime.x.handler``."""
    module = mutant.split(".x_", 1)[0].split(".xǁ", 1)[0]
    return module.removeprefix("lambda_blueprints.")


def main() -> int:
    """Run mutmut (unless ``--no-run``) and print the summary; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-run", action="store_true", help="summarize the last run only")
    parser.add_argument("--survivors", action="store_true", help="list behavioural survivors")
    arguments = parser.parse_args()
    if not arguments.no_run:
        MUTANTS.mkdir(exist_ok=True)
        mutmut("run", log=MUTANTS / "run.log")
    results: dict[str, str] = {}
    for line in mutmut("results", "--all", "true").splitlines():
        match = _RESULT.match(line)
        if match:
            results[match["name"]] = match["status"].strip()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    behavioural: list[str] = []
    for name, status in sorted(results.items()):
        module = module_of(name)
        if status == "survived":
            if changes_only_text(mutmut("show", name)):
                counts[module]["text"] += 1
            else:
                counts[module]["survived"] += 1
                behavioural.append(name)
        else:
            counts[module][status.replace(" ", "_")] += 1
    total: defaultdict[str, int] = defaultdict(int)
    print(
        f"{'module':<40} {'killed':>7} {'survived':>9} {'no tests':>9} {'text-only':>10} "
        f"{'score':>6}"
    )
    for module, row in sorted(counts.items()):
        for key, value in row.items():
            total[key] += value
        print(_row(module, row))
    print(_row("all", total))
    summary = {"modules": counts, "total": total}
    (MUTANTS / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    if arguments.survivors:
        for name in behavioural:
            print(mutmut("show", name))
    return 0


def _row(module: str, row: dict[str, int]) -> str:
    # A timeout is a kill: the mutant made a test loop forever.
    killed = row.get("killed", 0) + row.get("timeout", 0)
    survived = row.get("survived", 0)
    untested = row.get("no_tests", 0)
    text = row.get("text", 0)
    counted = killed + survived + untested
    score = f"{killed / counted:.0%}" if counted else "-"
    return f"{module:<40} {killed:>7} {survived:>9} {untested:>9} {text:>10} {score:>6}"


if __name__ == "__main__":
    sys.exit(main())
