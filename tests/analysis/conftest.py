"""Fixtures of the analysis tests: the example study imported into a study database (SQLite file copied from
a session template; PostgreSQL in a fresh schema), through the public import API; its snapshot and analysis
at the tests' cut-off (module-scoped, one per test module); the example's CSV rows."""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from tests.conftest import schema_url

from cartrial import examples as cartrial_examples
from cartrial.analysis import Analysis, analyse
from cartrial.store.snapshot import StudySnapshot, read_snapshot

from ..conftest import build_example

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = cartrial_examples.path("ct103a-nmosd")
PROTOCOL = EXAMPLE / "protocol.yaml"
STUDY = EXAMPLE / "study"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CUTOFF = date(2022, 3, 20)
"""The data cut-off of the analysis tests on the example study (after its last record)."""


def rows(name: str) -> list[dict[str, str]]:
    """The rows of the example study's CSV form `name` (e.g. "infusions"), as text."""
    with (STUDY / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def snapshot(example_sqlite_template: object) -> StudySnapshot:
    """The example study's snapshot at `CUTOFF` (read from the session's SQLite template)."""
    return read_snapshot(f"sqlite:///{example_sqlite_template}", CUTOFF)


@pytest.fixture(scope="module")
def analysis(snapshot: StudySnapshot) -> Analysis:
    """The default analysis of `snapshot`."""
    return analyse(snapshot)


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema (dropped afterwards), or a visible skip."""
    base = os.environ.get("CARTRIAL_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        admin = create_engine(base)
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver or connection failure means: no usable server
        if os.environ.get("CARTRIAL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"CARTRIAL_REQUIRE_POSTGRES=1 but PostgreSQL is not reachable at {base}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {base} ({type(exc).__name__}); PostgreSQL tests skipped")
    schema = f"t_analysis_{uuid.uuid4().hex[:12]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema_url(base, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def example_postgres(postgres_schema_url: str) -> str:
    return build_example(postgres_schema_url)
