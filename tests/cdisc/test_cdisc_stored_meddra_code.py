"""A stored `adverse_event.meddra_code` that is not an 8-digit code (stored before D-19.506) stops the SDTM
export naming the record by its id, never the code (D-19.510).

Before: `build_ae` wrote AE.AEPTCD empty for any code `float()` could not read ("=HYPERLINK(7)", "nan"…),
a silent skip. The code is put in with SQL, as a database of an earlier release holds it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..conftest import run_cartrial

SENTINEL = "=HYPERLINK(7)"


def test_an_invalid_stored_meddra_code_is_refused_by_record_id(example_sqlite: str, tmp_path: Path) -> None:
    connection = sqlite3.connect(example_sqlite.removeprefix("sqlite:///"))
    try:
        with connection:
            (record,) = connection.execute(
                "SELECT min(id) FROM adverse_event WHERE lower(category) NOT IN ('crs', 'icans')"
            ).fetchone()
            assert record is not None
            connection.execute("UPDATE adverse_event SET meddra_code = ? WHERE id = ?", (SENTINEL, record))
    finally:
        connection.close()
    out = tmp_path / "cdisc"
    result = run_cartrial(
        "export",
        "cdisc",
        "--url",
        example_sqlite,
        "--user",
        "admin",
        "--cutoff",
        "2022-03-20",
        "--out",
        str(out),
    )
    assert result.exit_code == 2, result.stderr
    assert f"adverse_event record {record}: meddra_code" in result.stderr
    assert "cartrial db edit adverse_event" in result.stderr
    assert "HYPERLINK" not in result.stderr + result.stdout
    assert not out.exists()
