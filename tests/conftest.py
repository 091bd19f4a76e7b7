"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_PASSWORD = "test-password-0123"
"""Password of every test user (`make_study`, CLI `db init`, `db user add --password`): commands run
non-interactively authenticate with it through CARTRIAL_PASSWORD_FILE (issue 19 section 2)."""
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


@pytest.fixture(autouse=True)
def _test_credentials(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Non-interactive authentication for CLI tests: the acting user's password (and a new user's) from a
    file holding `TEST_PASSWORD`; login sessions kept in a temporary config folder, never the real one."""
    folder = tmp_path_factory.mktemp("credentials")
    secret = folder / "password"
    secret.write_text(TEST_PASSWORD + "\n")
    secret.chmod(0o600)
    monkeypatch.setenv("CARTRIAL_PASSWORD_FILE", str(secret))
    monkeypatch.setenv("CARTRIAL_NEW_PASSWORD_FILE", str(secret))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / "config"))
