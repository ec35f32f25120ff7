"""The wheel holds one top-level package and no test or example code."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_wheel_has_one_top_level_package(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("lambda_blueprints-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}

    assert top_level == {"lambda_blueprints"}
    assert "lambda_blueprints/py.typed" in names
    assert "lambda_blueprints/runtime/audit_trail/handler.py" in names
    # The chat page the SurvivorChat pattern deploys travels with the wheel.
    for page in ("index.html", "chat.js", "chat.css"):
        assert f"lambda_blueprints/patterns/survivor_chat_site/{page}" in names
    assert not [n for n in names if "/tests/" in n or n.startswith(("tests/", "examples/"))]
    # The license the metadata declares ships with it.
    (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert b"Apache License" in zipfile.ZipFile(wheel).read(license_file)


def test_runtime_and_testing_import_without_aws_cdk() -> None:
    code = (
        "import sys; import lambda_blueprints.testing, "
        "lambda_blueprints.runtime.audit_trail.handler; "
        "assert 'aws_cdk' not in sys.modules, sorted(m for m in sys.modules if 'cdk' in m)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
