"""`parse_labs_frame` reads an optional `uln` column, so `cartrial grade labs` (and the labs import form)
accepts it rather than refusing it as an unknown column."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Cli

from cartrial.grading.tables import LABS_OPTIONAL
from cartrial.store.importing.forms import FORMS_BY_NAME


def test_uln_is_a_declared_optional_column() -> None:
    assert "uln" in LABS_OPTIONAL
    assert "uln" in FORMS_BY_NAME["labs"].optional  # the import form and FIELDS.md list it


def test_grade_labs_accepts_a_uln_column(cli: Cli, tmp_path: Path) -> None:
    labs = tmp_path / "labs.csv"
    labs.write_text(
        "subject_id,collected_at,analyte,value,unit,lln,uln\n"
        "CT-001,2021-06-08T07:00:00Z,neutrophils,0.45,10^9/L,1.8,7.5\n"
        "CT-001,2021-06-08T07:00:00Z,platelets,48000,/mm3,125000,\n",
        encoding="utf-8",
    )
    result = cli("grade", "labs", str(labs), "--json")
    assert result.exit_code == 0, result.stderr
    assert "uln" not in result.stderr
