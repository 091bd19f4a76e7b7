"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def examples_dir() -> Path:
    return REPO_ROOT / "examples"


@pytest.fixture
def validation_dir() -> Path:
    """Public reference data (`../shared/validation/`); tests that use it cite the source."""
    path = SHARED / "validation"
    if not path.is_dir():
        pytest.skip(f"shared validation data not found at {path}")
    return path
