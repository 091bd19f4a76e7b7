"""CAR-T persistence is counted among the patients sampled after the persistence day (D-19.87).

In the example study six of twelve patients have no PK sample after day 92 at the cut-off (the expansion
cohort): they cannot show a quantifiable value beyond day 180, and were counted as patients without one
("0 of 12"). The denominator is now the patients sampled after the day; the others are counted as not
evaluable, in the dataset and in the finding."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis import Analysis
from cartrial.analysis.kinetics import PERSISTENCE_EVALUABLE
from cartrial.store.snapshot import StudySnapshot

from .conftest import rows
from .test_analysis_options import with_analysis


def _last_days() -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """(last sample day, last quantifiable day) per subject and analyte, straight from the PK CSV."""
    sampled: dict[tuple[str, str], float] = {}
    quantifiable: dict[tuple[str, str], float] = {}
    for r in rows("pk_samples"):
        key = (r["subject_id"], r["analyte"])
        sampled[key] = max(sampled.get(key, -1e9), float(r["actual_day"]))
        if r["blq"] != "true" and r["value"]:
            quantifiable[key] = max(quantifiable.get(key, -1e9), float(r["actual_day"]))
    return sampled, quantifiable


def test_patients_not_sampled_after_the_day_are_not_in_the_denominator(analysis: Analysis) -> None:
    sampled, quantifiable = _last_days()
    table = analysis.datasets["persistence"].table
    for row in table.to_dict("records"):
        key = (row["subject_id"], row["analyte"])
        assert row["last_sample_day"] == sampled[key]
        assert row[PERSISTENCE_EVALUABLE] == (sampled[key] > 180)
    for analyte in sorted(set(table["analyte"])):
        keys = [k for k in sampled if k[1] == analyte]
        n = sum(sampled[k] > 180 for k in keys)
        k = sum(quantifiable.get(key, -1e9) > 180 for key in keys)
        assert 0 < n < len(keys)  # the example has both kinds of patient
        finding = next(f for f in analysis.findings if f"({analyte}): quantifiable beyond" in f.statement)
        assert (finding.numerator, finding.denominator) == (k, n)
        # the patients are those with a PK result (the NCA's), and a pending sample is a sample: "no result
        # after day 180" (D-19.1285)
        expected = f"{len(keys) - n} of {len(keys)} patients with a PK result not evaluable"
        assert f"{expected}: no result after day 180 yet" in finding.statement


@settings(max_examples=property_examples(8), deadline=None)
@given(day=st.sampled_from([14, 30, 60, 90, 120, 180, 200, 270]))
def test_persistence_counts_are_consistent_for_any_day(snapshot: StudySnapshot, day: int) -> None:
    """For any persistence day: persistent ⇒ evaluable, and the finding's k of n are the dataset's."""
    changed = with_analysis(snapshot, f"analysis:\n  options:\n    persistence_day: {day}\n")
    table = changed.datasets["persistence"].table
    flag = table[f"detectable_beyond_day_{day:g}"].astype(bool)
    evaluable = table[PERSISTENCE_EVALUABLE].astype(bool)
    assert not (flag & ~evaluable).any()
    for analyte, part in table.groupby("analyte"):
        finding = next(f for f in changed.findings if f"({analyte}): quantifiable beyond" in f.statement)
        part_evaluable = part[PERSISTENCE_EVALUABLE].astype(bool)
        assert finding.denominator == int(part_evaluable.sum())
        assert finding.numerator == int(part.loc[part_evaluable, f"detectable_beyond_day_{day:g}"].sum())
