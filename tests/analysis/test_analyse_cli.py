"""`cartrial analyse`: datasets written, findings printed, reproducible, sensitive to an audited edit, the
same on SQLite and PostgreSQL, and clear errors (exit 2) for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cartrial.store import StudyService, connect, init_study

from ..conftest import TEST_PASSWORD, copy_writable_tree, edit_ct004_crs_to_grade_3, run_cartrial
from .conftest import PROTOCOL, AnalyseRun

CUTOFF = "2022-03-20"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return run_cartrial(*args, capsys=capsys).astuple()


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_datasets_are_written_and_identical_for_the_same_snapshot(
    example_analyse_run: AnalyseRun, example_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first run is the session's `example_analyse_run` (the same command on another copy of the same
    example study); the second is this test's own."""
    out = example_analyse_run.stdout
    assert "CRS occurred in 12 of 12" in out and "DRAFT" in out
    code, _, _ = cli(
        capsys,
        "analyse",
        "--url",
        example_sqlite,
        "--user",
        "admin",
        "--cutoff",
        CUTOFF,
        "--out",
        str(tmp_path / "b"),
    )
    assert code == 0
    first, second = folder_bytes(example_analyse_run.out), folder_bytes(tmp_path / "b")
    assert first == second
    assert {"README.md", "analysis.json", "crs_icans_by_subject.csv", "responders_summary.csv"} <= set(first)
    readme = first["README.md"].decode()
    assert "## crs_icans_summary.csv" in readme and "population: safety" in readme


def test_an_audited_edit_to_crs_grade_3_changes_the_findings(
    example_sqlite: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(
        capsys, "analyse", "--url", example_sqlite, "--user", "admin", "--cutoff", CUTOFF, "--json"
    )
    assert code == 0
    before = json.loads(out)["findings"]
    edit_ct004_crs_to_grade_3(example_sqlite)  # ASTCT 2019 grade 3
    code, out, _ = cli(
        capsys, "analyse", "--url", example_sqlite, "--user", "admin", "--cutoff", CUTOFF, "--json"
    )
    assert code == 0
    after = json.loads(out)
    crs = [f["statement"] for f in after["findings"] if f["statement"].startswith("CRS occurred")]
    assert crs == [
        "CRS occurred in 12 of 12 infused patients (100 %), maximum grade 3; grade ≥ 3 in 1 (CT-004)."
    ]
    assert [f["statement"] for f in before] != [f["statement"] for f in after["findings"]]
    assert after["snapshot"]["audit_head_id"] > 0


def test_bad_input_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], example_sqlite: str
) -> None:
    code, _, err = cli(
        capsys, "analyse", "--url", example_sqlite, "--user", "admin", "--cutoff", "20-03-2022"
    )
    assert code == 2 and "not a date" in err
    code, _, err = cli(
        capsys, "analyse", "--url", example_sqlite, "--user", "admin", "--cutoff", "2021-01-01"
    )
    assert code == 2 and "before the first infusion" in err
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    init_study(empty, PROTOCOL, "admin", admin_password=TEST_PASSWORD)
    code, _, err = cli(capsys, "analyse", "--url", empty, "--user", "admin", "--cutoff", CUTOFF)
    assert code == 2 and "no subject" in err
    assert "Traceback" not in err


@pytest.mark.postgres
def test_sqlite_and_postgresql_give_the_same_datasets(
    example_analyse_run: AnalyseRun, example_postgres: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLite: the session's `example_analyse_run` (the same command on a copy of the example study)."""
    assert (
        cli(
            capsys,
            "analyse",
            "--url",
            example_postgres,
            "--user",
            "admin",
            "--cutoff",
            CUTOFF,
            "--out",
            str(tmp_path / "p"),
        )[0]
        == 0
    )
    lite, pg = folder_bytes(example_analyse_run.out), folder_bytes(tmp_path / "p")
    assert set(lite) == set(pg)
    for name in lite:
        if name.endswith(".csv"):
            assert lite[name] == pg[name], name


def test_persisted_derived_values_are_idempotent_and_follow_an_edit(
    example_sqlite: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("analyse", "--url", example_sqlite, "--cutoff", CUTOFF, "--json", "--persist", "--user", "admin")
    code, out, _ = cli(capsys, *args)
    assert code == 0
    first = json.loads(out)["derived_values"]
    assert first["inserted"] > 0 and first["updated"] == 0
    code, out, _ = cli(capsys, *args)
    assert json.loads(out)["derived_values"] == {"inserted": 0, "updated": 0, "unchanged": first["inserted"]}
    service = StudyService(connect(example_sqlite))
    stored = {
        (r["subject_id"], r["parameter"]): r
        for r in service.find_records("admin", "derived_value")
        if r["engine"] == "cartrial.analysis.crs_icans_by_subject"
    }
    assert stored[("CT-004", "crs_max_grade")]["value_number"] == 1.0
    assert stored[("CT-004", "crs_max_grade")]["options"]["cutoff"] == CUTOFF
    edit_ct004_crs_to_grade_3(example_sqlite)
    code, out, _ = cli(capsys, *args)
    counts = json.loads(out)["derived_values"]
    assert counts["inserted"] == 0 and counts["updated"] > 0  # every value carries the new snapshot hash
    stored = {
        (r["subject_id"], r["parameter"]): r
        for r in service.find_records("admin", "derived_value")
        if r["engine"] == "cartrial.analysis.crs_icans_by_subject"
    }
    assert stored[("CT-004", "crs_max_grade")]["value_number"] == 3.0
    monkeypatch.delenv("CARTRIAL_USER", raising=False)
    code, _, err = cli(capsys, "analyse", "--url", example_sqlite, "--cutoff", CUTOFF, "--persist")
    assert code == 2 and "no acting user" in err


def test_datasets_of_an_earlier_analysis_that_this_one_lacks_are_removed(
    example_analyse_run: AnalyseRun, example_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """D-19.53: analysing again into the same folder kept the earlier analysis's CSVs that the new one does
    not write (a study without PK samples beside an earlier `nca_by_subject.csv`): the folder mixed two
    analyses, exit 0. The ones the earlier analysis.json lists are removed (and said); other files stay. The
    earlier analysis is a writable copy of the session's `example_analyse_run` (same study and cut-off)."""
    out = copy_writable_tree(example_analyse_run.out, tmp_path / "a")
    args = ("analyse", "--url", example_sqlite, "--user", "admin", "--cutoff", CUTOFF, "--out", str(out))
    metadata = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    metadata["datasets"]["retired_dataset"] = metadata["datasets"]["populations"]
    (out / "analysis.json").write_text(json.dumps(metadata), encoding="utf-8")
    (out / "retired_dataset.csv").write_text("subject_id\nCT-001\n", encoding="utf-8")
    (out / "notes.csv").write_text("mine\n", encoding="utf-8")
    code, _out, err = cli(capsys, *args)
    assert code == 0
    assert not (out / "retired_dataset.csv").exists() and "retired_dataset.csv" in err
    assert (out / "notes.csv").read_text(encoding="utf-8") == "mine\n"
    assert (out / "populations.csv").is_file()
