"""Synthesize every example stack with the pinned CDK CLI and report on each template.

Runs ``npx cdk synth`` (cdk-nag's AwsSolutions and Serverless packs are registered in
``app.py``, so any unacknowledged finding fails the synth), then cfn-lint over every
template, and prints one line per stack: resources, nag findings, cfn-lint findings.
Exits non-zero on any finding.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from cfnlint.api import ManualArgs, lint_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "cdk.out"
#: A redundant DependsOn that aws-cdk-lib adds on Lambda roles; the only noise on CDK output.
IGNORED_CFN_LINT_CHECKS = ["W3005"]


def _nag_findings() -> tuple[Counter[str], list[str]]:
    per_stack: Counter[str] = Counter()
    lines: list[str] = []
    for name in ("validation-report.json", "policy-validation-report.json"):
        report_file = OUT / name
        if not report_file.exists():
            continue
        report = json.loads(report_file.read_text())
        for plugin in report.get("pluginReports", []):
            for violation in plugin.get("violations", []):
                for construct in violation.get("violatingConstructs", []):
                    path = construct.get("constructPath", "?")
                    per_stack[path.split("/", 1)[0]] += 1
                    lines.append(f"  {violation.get('ruleName')}: {path}")
    return per_stack, lines


def main() -> int:
    """Synthesize, lint and report; return the exit status."""
    synth = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--quiet", "--no-notices", "--output", str(OUT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    nag_counts, nag_lines = _nag_findings()
    manifest_file = OUT / "manifest.json"
    if synth.returncode != 0 and not nag_lines:
        sys.stderr.write(synth.stdout + synth.stderr)
        print(f"cdk synth failed with exit code {synth.returncode}")
        return synth.returncode or 1
    manifest = json.loads(manifest_file.read_text())
    stacks = {
        name: OUT / artifact["properties"]["templateFile"]
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    failed = synth.returncode != 0
    for name, template_file in sorted(stacks.items()):
        resources = len(json.loads(template_file.read_text()).get("Resources", {}))
        matches = lint_file(template_file, config=ManualArgs(ignore_checks=IGNORED_CFN_LINT_CHECKS))
        nag = nag_counts.get(name, 0)
        failed = failed or bool(matches) or nag > 0
        print(
            f"{name}: {resources} resources, {nag} cdk-nag findings "
            f"(AwsSolutions, Serverless), {len(matches)} cfn-lint findings"
        )
        for match in matches:
            print(f"  cfn-lint {match}")
    for line in nag_lines:
        print(line)
    print(
        f"{len(stacks)} stacks synthesized into {OUT.relative_to(ROOT)}/: "
        + ("FAILED" if failed else "clean")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
