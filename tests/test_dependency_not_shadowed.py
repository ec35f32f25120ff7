"""Guard: nothing of ours merges into or shadows the `constructs` dependency."""

import constructs


def test_constructs_package_is_the_dependency_only() -> None:
    assert len(constructs.__path__) == 1
    assert "site-packages" in constructs.__path__[0]


def test_constructs_package_exports_construct() -> None:
    assert constructs.Construct.__module__.startswith("constructs")
