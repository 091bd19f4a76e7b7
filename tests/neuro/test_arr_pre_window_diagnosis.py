"""D-19.708: the pre-infusion ARR window starts no earlier than the disease: a patient diagnosed 8 months
before the infusion, with the default 24-month window, was given 24 months of exposure. The window now starts
at the later of (infusion − window) and the disease's start — the earlier of the diagnosis date and the first
recorded attack onset (the index attack often precedes the diagnosis) — when the diagnosis date is known.

Expected values by hand: infusion 2021-06-01, diagnosis 2020-10-01 → 243 days (Oct 31 + Nov 30 + Dec 31 +
Jan 31 + Feb 28 + Mar 31 + Apr 30 + May 31); one attack 2020-11-15 → ARR 1 / (243 / 365.25) = 1.5031."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cartrial.neuro.derive import derive_relapses
from cartrial.neuro.relapses import (
    Phenotype,
    RelapseEpisode,
    RelapseOptions,
    SubjectFollowUp,
    annualised_relapse_rates,
    merge_attacks,
)

INFUSION = date(2021, 6, 1)
LAST = date(2022, 6, 1)
ON = frozenset({Phenotype.MYELITIS})


def _arr(onsets: list[date], diagnosis: date | None, months: int = 24):  # type: ignore[no-untyped-def]
    attacks = merge_attacks([RelapseEpisode("A", d, ON) for d in onsets])
    return annualised_relapse_rates(
        attacks,
        [SubjectFollowUp("A", INFUSION, LAST, diagnosis=diagnosis)],
        RelapseOptions(pre_window_months=months),
    )


def test_a_recent_diagnosis_shortens_the_pre_window() -> None:
    arr = _arr([date(2020, 11, 15)], date(2020, 10, 1))
    row = arr.subjects[0]
    assert row.pre_start == date(2020, 10, 1)
    assert row.pre_days == 243
    assert row.pre_attacks == 1
    assert abs(row.pre_arr - 1 / (243 / 365.25)) < 1e-12
    assert abs(arr.pre.rate - 1 / (243 / 365.25)) < 1e-12


def test_an_attack_before_the_diagnosis_starts_the_window() -> None:
    # index attack 2020-08-20, diagnosed 2020-10-01: the window starts at the attack (285 days to 2021-06-01)
    row = _arr([date(2020, 8, 20)], date(2020, 10, 1)).subjects[0]
    assert row.pre_start == date(2020, 8, 20)
    assert (row.pre_days, row.pre_attacks) == (285, 1)


def test_an_old_diagnosis_keeps_the_whole_window() -> None:
    row = _arr([], date(2015, 1, 1)).subjects[0]
    assert (row.pre_start, row.pre_days) == (date(2019, 6, 1), 731)


def test_no_diagnosis_date_keeps_the_whole_window() -> None:
    row = _arr([date(2020, 11, 15)], None).subjects[0]
    assert (row.pre_start, row.pre_days) == (date(2019, 6, 1), 731)


def test_derive_relapses_reads_the_diagnoses() -> None:
    rel = "subject_id,onset_date,phenotype,severity\nS1,2020-11-15,myelitis,severe\n"
    result = derive_relapses(
        rel, {"S1": INFUSION}, last_assessment={"S1": LAST}, diagnoses={"S1": date(2020, 10, 1)}
    )
    assert result.table["pre_days"].tolist() == [243]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 1500), st.lists(st.integers(1, 15), max_size=4, unique=True))
def test_pre_days_is_the_days_from_the_later_start(diagnosed_before: int, attacks_before: list[int]) -> None:
    diagnosis = INFUSION - timedelta(days=diagnosed_before)
    onsets = [INFUSION - timedelta(days=100 * d) for d in attacks_before]  # 100 days apart: never merged
    row = _arr(onsets, diagnosis).subjects[0]
    window_start = date(2019, 6, 1)
    disease_start = min([diagnosis, *onsets])
    start = max(window_start, disease_start)
    assert row.pre_start == start
    assert row.pre_days == (INFUSION - start).days
    assert row.pre_attacks == sum(1 for d in onsets if window_start <= d < INFUSION)
