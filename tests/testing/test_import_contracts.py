"""The import contract that keeps services from the LocalCloud front covers every module."""

from __future__ import annotations

import pkgutil
import tomllib

import lambda_blueprints.testing
from tests.conftest import ROOT


def test_every_module_of_the_local_cloud_but_the_front_is_kept_from_importing_it() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (contract,) = [
        c
        for c in config["tool"]["importlinter"]["contracts"]
        if c["name"] == "local cloud services never import the LocalCloud front"
    ]
    modules = {
        f"lambda_blueprints.testing.{info.name}"
        for info in pkgutil.iter_modules(lambda_blueprints.testing.__path__)
        if info.name != "cloud"
    }

    assert contract["forbidden_modules"] == ["lambda_blueprints.testing.cloud"]
    assert sorted(contract["source_modules"]) == sorted(modules)
    assert contract["source_modules"] == sorted(contract["source_modules"])
