"""The docstring examples of `cartrial.analysis` (not yet in tests/docs' DOCTEST_PACKAGES)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import cartrial.analysis

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(cartrial.analysis.__path__, prefix="cartrial.analysis.")
)


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name: str) -> None:
    result = doctest.testmod(importlib.import_module(module_name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
