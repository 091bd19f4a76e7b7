"""Shared by the partial re-import tests (test_import_partial*.py): two study databases of one backend,
a copy of the example study's folder, the stored rows of every table, and a one-cell CSV edit."""

from __future__ import annotations

import csv
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from cartrial import examples as cartrial_examples
from cartrial.store.importing import FORMS_BY_NAME
from cartrial.store.study_setup import init_study

STUDY = cartrial_examples.path("ct103a-nmosd") / "study"
PROTOCOL = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"


def _url(backend: str, request: pytest.FixtureRequest, tmp_path: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    return str(request.getfixturevalue("postgres_url")) if name == "a" else _second_schema(request)


def _second_schema(request: pytest.FixtureRequest) -> str:
    """A second fresh PostgreSQL schema (the fixture gives one per test)."""
    base = str(request.getfixturevalue("postgres_server"))
    schema = f"partial_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    request.addfinalizer(drop)
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(name="two", params=["sqlite", "postgresql"])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """Two empty study databases of one backend and a copy of the example study's folder."""
    first = _url(request.param, request, tmp_path, "a")
    second = _url(request.param, request, tmp_path, "b")
    for url in (first, second):
        init_study(url, PROTOCOL, "admin")
    folder = tmp_path / "study"
    shutil.copytree(STUDY, folder)
    yield first, second, folder


def stored(url: str) -> dict[str, Any]:
    """Every data table's rows (without ids, versions or times) and the edit-check queries."""
    engine = create_engine(url)
    out: dict[str, Any] = {}
    with engine.connect() as connection:
        for spec in FORMS_BY_NAME.values():
            table = spec.model.__table__
            names = [
                c.name for c in table.columns if c.name not in ("id", "version", "created_at", "updated_at")
            ]
            out[spec.table] = sorted(
                repr(tuple(row)) for row in connection.execute(select(*(table.c[n] for n in names)))
            )
        out["queries"] = sorted(
            tuple(row)
            for row in connection.execute(
                text("SELECT table_name, field, text FROM data_query ORDER BY table_name, field, text")
            )
        )
    engine.dispose()
    return out


def edit(folder: Path, form: str, row: int, column: str, value: str) -> None:
    """Set one cell of `form`.csv (data row `row`, 0-based) with the csv module."""
    path = folder / f"{form}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows[row + 1][rows[0].index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
