"""Every public class of the library is exported where a user looks for it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import lambda_blueprints
from lambda_blueprints import constructs, patterns


def public_classes(package: object) -> set[str]:
    """The public classes defined in the modules of ``package``."""
    found = set()
    for info in pkgutil.iter_modules(package.__path__):  # type: ignore[attr-defined]
        module = importlib.import_module(f"{package.__name__}.{info.name}")  # type: ignore[attr-defined]
        found |= {
            name
            for name, value in vars(module).items()
            if inspect.isclass(value)
            and value.__module__ == module.__name__
            and not name.startswith("_")
        }
    return found


@pytest.mark.parametrize("package", [constructs, patterns], ids=lambda p: p.__name__)
def test_each_package_exports_every_public_class_it_defines(package: object) -> None:
    assert sorted(package.__all__) == sorted(public_classes(package))  # type: ignore[attr-defined]
    for name in package.__all__:  # type: ignore[attr-defined]
        assert getattr(package, name).__name__ == name


def test_the_top_level_package_exports_every_construct_and_pattern() -> None:
    expected = public_classes(constructs) | public_classes(patterns)
    assert sorted(set(lambda_blueprints.__all__) - {"__version__"}) == sorted(expected)
    for name in expected:
        assert getattr(lambda_blueprints, name) is getattr(
            constructs if name in constructs.__all__ else patterns, name
        )
