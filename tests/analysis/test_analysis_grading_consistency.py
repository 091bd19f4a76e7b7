"""The analysis path grades through grading's frame-level derivations and nothing else (issue 11 §1, "each
derivation exists once"; issue 13: the analysis "never re-implements a rule"): on the example study's
snapshot its CRS/ICANS episodes, lab grades and ICAHT grades equal grading's `derive_*` outputs, and a
small snapshot shows the ICAHT rules that a second implementation could get wrong."""

from __future__ import annotations

import pandas as pd
import pytest

from cartrial.analysis import Analysis, safety
from cartrial.analysis.model import Population
from cartrial.analysis.populations import SAFETY
from cartrial.analysis.toxicity import lab_datasets
from cartrial.grading import derive_crs_episodes, derive_icaht, derive_icans_episodes, derive_lab_grades
from cartrial.store.snapshot import StudySnapshot

HAEMATOLOGY = ("neutrophils", "platelets", "hemoglobin", "lymphocytes", "wbc")


def test_crs_and_icans_episodes_are_grading_derive_outputs(
    snapshot: StudySnapshot, analysis: Analysis
) -> None:
    t = snapshot.tables
    crs = derive_crs_episodes(t["crs_assessments"], t["infusions"], therapies=t["therapies"])
    icans = derive_icans_episodes(t["icans_assessments"], t["infusions"], therapies=t["therapies"])
    pd.testing.assert_frame_equal(analysis.datasets["crs_episodes"].table, crs.table)
    pd.testing.assert_frame_equal(analysis.datasets["icans_episodes"].table, icans.table)
    # the per-subject maximum is the maximum of grading's episodes
    by_subject = analysis.datasets["crs_icans_by_subject"].table.set_index("subject_id")
    worst = crs.table.groupby("subject_id")["max_grade"].max()
    assert dict(by_subject["crs_max_grade"].astype(int)) == {k: int(v) for k, v in worst.items()}
    # the options and sources grading used are recorded for the methods section
    engine = analysis.datasets["crs_episodes"].engine[0]
    assert engine["derivation"] == "cartrial.grading.derive_crs_episodes"
    assert engine["options"] == crs.metadata()["options"] and engine["sources"] == crs.metadata()["sources"]
    notes = analysis.datasets["crs_episodes"].notes
    assert "derivation: cartrial.grading.derive_crs_episodes" in notes
    assert any(n.startswith("source: Lee DW") for n in notes)


def test_lab_grades_are_grading_derive_outputs(snapshot: StudySnapshot, analysis: Analysis) -> None:
    t = snapshot.tables
    labs = t["labs"][t["labs"]["analyte"].isin(HAEMATOLOGY)].reset_index(drop=True)
    expected = derive_lab_grades(labs, infusions=t["infusions"]).table
    graded = safety.graded_labs(t).table
    assert len(graded) == len(expected) == len(labs)
    for ours, theirs in [
        ("grade", "grade"),
        ("rule", "grade_reason"),
        ("term", "term"),
        ("study_day", "study_day"),
        ("collected_before_infusion", "collected_before_infusion"),
        ("value_canonical", "value_canonical"),
        ("canonical_unit", "canonical_unit"),
    ]:
        assert graded[ours].tolist() == expected[theirs].tolist(), ours
    # lab_shift's worst post-infusion grade is the maximum of grading's grades after the infusion
    after = expected[~expected["collected_before_infusion"].astype(bool)]
    worst = after.groupby(["subject_id", "analyte"])["grade"].max()
    shift = analysis.datasets["lab_shift"].table.set_index(["subject_id", "analyte"])["worst_post_grade"]
    assert {k: int(v) for k, v in shift.items()} == {k: int(v) for k, v in worst.items()}
    assert analysis.datasets["lab_shift"].engine[0]["derivation"] == "cartrial.grading.derive_lab_grades"


def test_icaht_grades_are_grading_derive_outputs(snapshot: StudySnapshot, analysis: Analysis) -> None:
    t = snapshot.tables
    expected = derive_icaht(t["labs"], t["infusions"]).table.set_index("subject_id")
    ours = analysis.datasets["icaht"].table.set_index("subject_id")
    assert list(ours.index) == list(expected.index)
    for a, b in [
        ("early_icaht_grade", "early_grade"),
        ("early_icaht_rule", "early_reason"),
        ("late_icaht_grade", "late_grade"),
        ("late_icaht_rule", "late_reason"),
        ("n_anc_values", "n_anc_values"),
        ("t_early_grade", "t_early_grade"),
        ("t_late_grade", "t_late_grade"),
    ]:
        assert ours[a].tolist() == expected[b].tolist(), a
    engine = analysis.datasets["icaht"].engine[0]
    assert engine["options"]["unsampled_days"] == "linear"  # grading's documented default, recorded
    # the method notes go to the methods section, not into the key finding's "not evaluable" text
    k = int((expected["early_grade"] >= 3).sum())
    statement = next(f.statement for f in analysis.findings if f.source == "icaht")
    assert (
        statement
        == f"Early ICAHT grade ≥ 3 occurred in {k} of {len(expected)} patients with neutrophil counts."
    )


def small_tables(
    anc: list[tuple[str, float]], extra_labs: list[dict[str, str]] | None = None
) -> dict[str, pd.DataFrame]:
    """A snapshot-like tables dict: one subject S1 infused 10 Jan 2024 09:00 UTC, the given ANC counts."""
    labs = [
        {
            "subject_id": "S1",
            "analyte": "neutrophils",
            "collected_at": when,
            "value": str(value),
            "unit": "10^9/L",
            "lln": "1.8",
            "life_threatening_anemia": "",
            "record_id": str(i),
        }
        for i, (when, value) in enumerate(anc, start=1)
    ] + (extra_labs or [])
    return {
        "infusions": pd.DataFrame(
            {"subject_id": ["S1"], "infused_at": ["2024-01-10T09:00:00Z"], "dose_level": ["1"]}
        ),
        "labs": pd.DataFrame(labs),
        "therapies": pd.DataFrame(columns=["subject_id", "given_at", "therapy", "agent", "dose", "unit"]),
    }


POPULATIONS = {SAFETY: Population(SAFETY, "infused", ("S1",))}


@pytest.mark.parametrize("order", ["low first", "low last"])
def test_two_anc_counts_on_one_day_use_the_lowest(order: str) -> None:
    # day 0: 3.0, day 5: 0.3 and 2.0 (same day), day 10: 3.0 (x10^9/L). EHA/EBMT 2023 uses the lowest count
    # of a day: day 5 = 300/µL <= 500. Interpolated neighbours (hand): day 4 = 3000 - 4*540 = 840, day 6 =
    # 300 + 540 = 840, both > 500, so exactly 1 day <= 500/µL -> early ICAHT grade 1 (1-6 days). Taking the
    # day's last (2000/µL) or mean (1150/µL) count would give grade 0.
    day5 = [("2024-01-15T08:00:00Z", 0.3), ("2024-01-15T20:00:00Z", 2.0)]
    if order == "low last":
        day5 = [("2024-01-15T08:00:00Z", 2.0), ("2024-01-15T20:00:00Z", 0.3)]
    tables = small_tables([("2024-01-10T12:00:00Z", 3.0), *day5, ("2024-01-20T08:00:00Z", 3.0)])
    icaht = lab_datasets(tables, POPULATIONS)["icaht"].table.iloc[0]
    assert (icaht["early_icaht_grade"], icaht["early_days_anc_le_500"], icaht["n_anc_values"]) == (1, 1, 4)


def test_rows_left_out_are_named_with_subject_and_reason() -> None:
    bad = {
        "subject_id": "S1",
        "analyte": "platelets",
        "collected_at": "2024-01-12T08:00:00Z",
        "value": "lots",
        "unit": "10^9/L",
        "lln": "150",
        "life_threatening_anemia": "",
        "record_id": "77",
    }
    stranger = {**bad, "subject_id": "S9", "value": "100", "record_id": "78"}
    tables = small_tables([("2024-01-12T08:00:00Z", 1.0)], [bad, stranger])
    datasets = lab_datasets(tables, POPULATIONS)
    notes = datasets["lab_shift"].notes
    assert any("S1 (labs record 77) left out" in n and "not a number" in n for n in notes), notes
    assert not any("lots" in n for n in notes)  # the rule, never the value
    assert "labs of S9 left out: no infusion" in notes
    assert any("S9" in n for n in datasets["icaht"].notes)
    assert list(datasets["lab_shift"].table["analyte"]) == ["neutrophils"]
