"""`cartrial relapses` (CSV output) says which patients the rate ratio left out and why (D-19.1188): the
listing was in the result's notes but the command printed only the notes of relapses followed past the last
assessment, so a patient infused on the cut-off day (0 post-infusion patient-years, no information on the
ratio; Farrington, Biometrics 1995;51:228) was left out silently."""

from __future__ import annotations

from pathlib import Path

REL = (
    "subject_id,onset_date,phenotype,severity\n"
    "S1,2021-11-15,myelitis,severe\n"
    "S2,2021-10-01,myelitis,severe\n"
    "S2,2022-03-01,myelitis,severe\n"
)
INF = "subject_id,infused_at\nS1,2022-06-01\nS2,2021-06-01\n"  # S1 infused on the cut-off day


def _run(tmp_path: Path, cli, *extra: str):  # type: ignore[no-untyped-def]
    (tmp_path / "rel.csv").write_text(REL)
    (tmp_path / "inf.csv").write_text(INF)
    return cli(
        "relapses", str(tmp_path / "rel.csv"), "--infusion-dates", str(tmp_path / "inf.csv"),
        "--cutoff", "2022-06-01", *extra,
    )  # fmt: skip


def test_the_csv_run_notes_the_patient_left_out_of_the_rate_ratio(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = _run(tmp_path, cli)
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "left out of the rate ratio" in line]
    assert len(lines) == 1
    expected = "note: 1 patient left out of the rate ratio: S1 (0 post-infusion patient-years"
    assert lines[0].startswith(expected)


def test_nothing_left_out_prints_no_such_note(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "rel.csv").write_text(REL)
    (tmp_path / "inf.csv").write_text("subject_id,infused_at\nS1,2021-06-01\nS2,2021-06-01\n")
    result = cli(
        "relapses", str(tmp_path / "rel.csv"), "--infusion-dates", str(tmp_path / "inf.csv"),
        "--cutoff", "2022-06-01",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "left out of the rate ratio" not in result.stderr
