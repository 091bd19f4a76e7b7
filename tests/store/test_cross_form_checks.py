"""Cross-form edit checks whose other side is already stored (D-19.246): an import of one form re-checks
the stored records of the other forms that the form's records are compared with, whichever form is
imported — an infusions-only import re-checks the stored lymphodepletion (LYMPHODEPLETION-DAY) and samples
(SAMPLE-DAY-MISMATCH), a subjects-only import the stored lymphodepletion (PROCEDURE-BEFORE-CONSENT), the
stored infusion (INFUSION-WEIGHT-CHANGE) and the stored relapses (RELAPSE-BEFORE-BIRTH, hard).

Example study: CT-001 consented 2021-04-01, born 1972, 58.0 kg, infused 2021-04-27T02:00Z (day 0)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from cartrial.errors import InputError
from cartrial.store.edit_checks import Finding
from cartrial.store.importing import import_templates

from .test_death_checks import EXAMPLE_STUDY, assert_no_values
from .test_store_data_quality import LD_HEADER, system_queries

PK_HEADER = "subject_id,analyte,assay,matrix,nominal_day,actual_day,sampled_at,value,unit,lloq,blq"


def first_import(folder: Path, url: str, *, relapse: bool = False, infused: bool = True) -> None:
    """Sites, subjects and infusions of the example study (`infused` False: without CT-001's), CT-001's
    lymphodepletion on day -4 and a PK sample on day 14 (both consistent with the example's infusion),
    optionally a relapse in 1990."""
    folder.mkdir()
    for name in ("sites", "subjects", "infusions"):
        shutil.copyfile(EXAMPLE_STUDY / f"{name}.csv", folder / f"{name}.csv")
    if not infused:
        lines = (folder / "infusions.csv").read_text("utf-8").splitlines(keepends=True)
        (folder / "infusions.csv").write_text(
            "".join(x for x in lines if not x.startswith("CT-001,")), "utf-8"
        )
    (folder / "lymphodepletion.csv").write_text(
        LD_HEADER + "\nCT-001,cyclophosphamide,2021-04-23,-4,300,483.0,1.61\n", "utf-8"
    )
    (folder / "pk_samples.csv").write_text(
        PK_HEADER
        + "\nCT-001,car_transgene,ddPCR,peripheral_blood,14,14.0,2021-05-11T02:00:00Z,120,copies/ug gDNA,50,"
        "false\n",
        "utf-8",
    )
    if relapse:
        (folder / "relapses.csv").write_text(
            "subject_id,onset_date,phenotype,severity,lasted_over_24h,fever_or_infection,objective_change,"
            "treatment,notes\nCT-001,1990-07-01,optic_neuritis,moderate,true,false,,IVMP,\n",
            "utf-8",
        )
    report = import_templates(url, folder, "admin")
    assert not [f for f in report.edit_checks if f.subject_id == "CT-001"]


def only(folder: Path, name: str, column: str, value: str) -> Path:
    """A folder holding only `name`.csv of the example study, CT-001's `column` set to `value`."""
    folder.mkdir()
    frame = pd.read_csv(EXAMPLE_STUDY / f"{name}.csv", dtype=str, keep_default_na=False)
    frame.loc[frame["subject_id"] == "CT-001", column] = value
    frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def stored_side(findings: list[Finding], check: str) -> list[tuple[str, str]]:
    return sorted(
        (f.record.table, f.field) for f in findings if f.check.id == check and f.record.file is None
    )


def test_an_infusions_only_import_rechecks_the_stored_lymphodepletion_and_samples(
    empty_study_url: str, tmp_path: Path
) -> None:
    """Before: CT-001's infusion imported alone (lymphodepletion and samples stored earlier) one day later
    than the stored records count from left the dose's day -4 (-5 by the dates) and the sample's actual day
    14 (13 by its date-time) without a word: the stored records of the other forms were not read."""
    first_import(tmp_path / "first", empty_study_url, infused=False)
    folder = only(tmp_path / "infusions", "infusions", "infused_at", "2021-04-28T02:00:00Z")
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert stored_side(planned, "LYMPHODEPLETION-DAY") == [
        ("lymphodepletion_administration", "day_relative_to_infusion")
    ]
    assert stored_side(planned, "SAMPLE-DAY-MISMATCH") == [("pk_sample", "actual_day")]
    for finding in planned:
        assert_no_values(finding)
        assert finding.record.record_id is not None  # located by table and record id
    import_templates(empty_study_url, folder, "admin")
    assert [q["status"] for q in system_queries(empty_study_url, "LYMPHODEPLETION-DAY")] == ["open"]
    assert [q["status"] for q in system_queries(empty_study_url, "SAMPLE-DAY-MISMATCH")] == ["open"]
    # the same file again: the infusion is unchanged, nothing is found or raised again
    assert import_templates(empty_study_url, folder, "admin").edit_checks == []
    assert len(system_queries(empty_study_url, "LYMPHODEPLETION-DAY")) == 1


def test_an_infusion_consistent_with_the_stored_records_raises_nothing(
    empty_study_url: str, tmp_path: Path
) -> None:
    first_import(tmp_path / "first", empty_study_url, infused=False)
    folder = only(tmp_path / "infusions", "infusions", "infused_at", "2021-04-27T02:00:00Z")
    assert import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks == []


def test_a_subjects_only_import_rechecks_the_stored_procedures_and_infusion(
    empty_study_url: str, tmp_path: Path
) -> None:
    """A consent moved after the stored lymphodepletion (still before the infusion) and a weight typed in
    pounds: the stored lymphodepletion and infusion are queried (they were not)."""
    first_import(tmp_path / "first", empty_study_url)
    folder = only(tmp_path / "consent", "subjects", "consent_date", "2021-04-24")
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert stored_side(planned, "PROCEDURE-BEFORE-CONSENT") == [
        ("lymphodepletion_administration", "administered_on")
    ]
    weight = only(tmp_path / "weight", "subjects", "weight_kg", "127.9")
    planned = import_templates(empty_study_url, weight, "admin", dry_run=True).edit_checks
    assert stored_side(planned, "INFUSION-WEIGHT-CHANGE") == [("infusion", "weight_kg")]


def test_a_subjects_only_import_is_refused_by_a_hard_check_on_a_stored_relapse(
    empty_study_url: str, tmp_path: Path
) -> None:
    """A birth year after the stored relapse (RELAPSE-BEFORE-BIRTH, hard) is refused, naming the relapse
    by table and record id, not stored without a word."""
    first_import(tmp_path / "first", empty_study_url, relapse=True)
    folder = only(tmp_path / "born", "subjects", "birth_year", "1995")
    with pytest.raises(InputError) as caught:
        import_templates(empty_study_url, folder, "admin")
    (problem,) = caught.value.problems
    assert "RELAPSE-BEFORE-BIRTH" in problem.message
    assert problem.field == "relapse.onset_date"
