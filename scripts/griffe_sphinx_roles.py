"""A griffe extension for the docs: Sphinx roles in docstrings rendered as inline code.

The docstrings name other members the way Python's own tooling reads them
(``:attr:`function```, ``:meth:`reserve```); MkDocs would print the role's name. This turns
each role into the inline code of its target, leaving the docstrings as they are.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:attr|class|meth|func|mod|data|exc|obj):`~?([^`]+)`")


class SphinxRoles(griffe.Extension):
    """Rewrite ``:role:`target``` as ``target`` in every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the roles of one object's docstring."""
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(r"``\1``", obj.docstring.value)
