"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
VALIDATION = REPO_ROOT / "tests" / "data" / "validation"


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def examples_dir() -> Path:
    return REPO_ROOT / "examples"


@pytest.fixture
def validation_dir() -> Path:
    """Public reference data (vendored copy of `../shared/validation/`, see its README); tests that use it
    cite the source."""
    return VALIDATION
