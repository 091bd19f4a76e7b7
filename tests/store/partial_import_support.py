"""Shared by the partial re-import tests (test_import_partial*.py): two study databases of one backend,
a copy of the example study's folder, the stored rows of every table, and a one-cell CSV edit."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from tests.store.conftest import empty_study_copy

from cartrial import examples as cartrial_examples
from cartrial.store.importing import FORMS_BY_NAME

STUDY = cartrial_examples.path("ct103a-nmosd") / "study"
PROTOCOL = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"


@pytest.fixture(name="two", params=["sqlite", "postgresql"])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """Two empty study databases of one backend (copies of the session's initialised empty study,
    `init_empty_study`) and a copy of the example study's folder."""
    first = empty_study_copy(request, request.param, tmp_path, "a")
    second = empty_study_copy(request, request.param, tmp_path, "b")
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
