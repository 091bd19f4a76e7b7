"""The EDSS baseline is the last EDSS on or before day 0, and a change needs a later EDSS (D-19.187).

`derive_disability` took the first post-infusion visit as the baseline of a subject with no EDSS on or
before day 0, and the baseline itself as the "last" EDSS of a subject with no later visit: both subjects
were in `efficacy:edss_change` (defined as "a baseline EDSS (last on or before day 0) and >= 1 later EDSS"),
counted in the EDSS finding's denominator with a change of 0, and the first showed a post-infusion EDSS as
its baseline in `demographics_by_subject`.

The example's CT-002 (infused 2021-05-18, infusions.csv) has EDSS visits on 2021-05-15 (its baseline, day -3)
and on days 28, 90, 180 and 265 (edss.csv). The tests delete, in the audited store, either the baseline visit
or every later visit: by the definition CT-002 is then not evaluable, and the 11 others are.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from tests.conftest import property_examples

from cartrial.analysis import Analysis, analyse
from cartrial.neuro.derive import derive_disability
from cartrial.store import StudyService, connect
from cartrial.store.models import EdssAssessment as Edss
from cartrial.store.snapshot import read_snapshot

from .conftest import CUTOFF, rows

SUBJECT = "CT-002"
INFUSION = dt.date(2021, 5, 18)


def _delete_edss(url: str, before_infusion: bool) -> None:
    """Delete CT-002's EDSS visits on or before its infusion day (`before_infusion`) or after it."""
    service = StudyService(connect(url))
    with service.engine.connect() as connection:
        records = connection.execute(
            select(Edss.id, Edss.assessed_at).where(Edss.subject_id == SUBJECT)
        ).all()
    for record_id, assessed_at in records:
        if (pd.Timestamp(assessed_at).date() <= INFUSION) == before_infusion:
            service.delete_record("admin", "edss_assessment", record_id, "source check")
    service.engine.dispose()


def _others() -> list[str]:
    return sorted({r["subject_id"] for r in rows("edss")} - {SUBJECT})


def _check_not_evaluable(url: str) -> Analysis:
    """The checks of a subject without an evaluable EDSS change on the analysis of the study at `url`;
    returns that analysis (for the test's own checks: the study is analysed once)."""
    analysis = analyse(read_snapshot(url, CUTOFF))
    population = analysis.populations["efficacy:edss_change"]
    assert sorted(population.subject_ids) == _others()
    assert [SUBJECT] in [list(ids) for ids in population.excluded.values()]
    change = analysis.datasets["edss_change"].table.set_index("subject_id")
    assert pd.isna(change.loc[SUBJECT, "edss_change"])
    assert not bool(change.loc[SUBJECT, "improvement_confirmed"])
    finding = next(f for f in analysis.findings if f.statement.startswith("EDSS fell from baseline"))
    assert finding.denominator == len(_others())
    return analysis


def test_no_edss_before_the_infusion_is_no_baseline(example_sqlite: str) -> None:
    _delete_edss(example_sqlite, before_infusion=True)
    analysis = _check_not_evaluable(example_sqlite)
    change = analysis.datasets["edss_change"].table.set_index("subject_id")
    assert pd.isna(change.loc[SUBJECT, "baseline_edss"])
    demographics = analysis.datasets["demographics_by_subject"].table.set_index("subject_id")
    assert pd.isna(demographics.loc[SUBJECT, "baseline_edss"])


def test_a_baseline_without_a_later_edss_is_no_change(example_sqlite: str) -> None:
    _delete_edss(example_sqlite, before_infusion=False)
    change = _check_not_evaluable(example_sqlite).datasets["edss_change"].table
    row = change.set_index("subject_id").loc[SUBJECT]
    assert pd.isna(row["last_edss"])
    assert not bool(row["improvement_evaluable"])


@settings(max_examples=property_examples(60), deadline=None)
@given(
    days=st.lists(st.integers(-60, 400), min_size=1, max_size=6, unique=True),
    data=st.data(),
)
def test_baseline_and_last_follow_the_definition(days: list[int], data: st.DataObject) -> None:
    """For any visit days: baseline = the last visit on or before day 0 (blank if none), last = the last
    visit after the baseline day (blank if none); the change is only evaluated with both."""
    day0 = dt.date(2021, 1, 1)
    scores = data.draw(
        st.lists(st.sampled_from([1.0, 2.0, 3.5, 5.0, 6.5]), min_size=len(days), max_size=len(days))
    )
    edss = pd.DataFrame(
        {
            "subject_id": ["S1"] * len(days),
            "assessed_at": [(day0 + dt.timedelta(days=d)).isoformat() for d in days],
            "edss": scores,
        }
    )
    row = derive_disability(edss, {"S1": day0}).table.iloc[0]
    by_day = dict(zip(days, scores, strict=True))
    before = [d for d in days if d <= 0]
    base_day = max(before) if before else None
    after = (
        [d for d in days if base_day is not None and d > base_day]
        if base_day is not None
        else [d for d in days if d > 0]
    )
    if base_day is None:
        assert pd.isna(row["baseline_edss"])
    else:
        assert row["baseline_edss"] == by_day[base_day]
    if after:
        assert row["last_edss"] == by_day[max(after)]
    else:
        assert pd.isna(row["last_edss"])
    if base_day is None or not after:
        assert not row["improvement_evaluable"]
        # no change: not evaluable for worsening, blank rather than False (D-19.1189; changed by design)
        assert not row["improvement_confirmed"] and pd.isna(row["worsening_confirmed"])


def test_edss_change_carries_the_notes_of_derive_disability(
    snapshot: object, analysis: object, monkeypatch: object
) -> None:
    """The notes of `derive_disability` (D-19.685, D-19.688: subjects left out, unscored visits and what
    they affected) reach the `edss_change` dataset's notes, which the report prints; they were dropped."""
    import cartrial.neuro.derive as derive
    from cartrial.analysis.efficacy import edss_datasets
    from cartrial.results import Result

    real = derive.derive_disability

    def noted(*args: object, **kwargs: object) -> Result:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        return Result(
            result.table, derivation=result.derivation, notes=("CT-002: a note of derive_disability",)
        )

    monkeypatch.setattr(derive, "derive_disability", noted)  # type: ignore[attr-defined]
    tables = snapshot.tables  # type: ignore[attr-defined]
    populations = dict(analysis.populations)  # type: ignore[attr-defined]
    datasets = edss_datasets(tables, CUTOFF, populations, [])
    assert "CT-002: a note of derive_disability" in datasets["edss_change"].notes
