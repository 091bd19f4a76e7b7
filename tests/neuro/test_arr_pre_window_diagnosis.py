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
from tests.conftest import property_examples

from cartrial.errors import OptionError
from cartrial.neuro.derive import derive_relapses
from cartrial.neuro.relapses import (
    Phenotype,
    PreWindowStart,
    RelapseEpisode,
    RelapseOptions,
    SubjectFollowUp,
    annualised_relapse_rates,
    merge_attacks,
)

INFUSION = date(2021, 6, 1)
LAST = date(2022, 6, 1)
ON = frozenset({Phenotype.MYELITIS})


def _arr(  # type: ignore[no-untyped-def]
    onsets: list[date], diagnosis: date | None, months: int = 24, start: str = "disease_onset"
):
    attacks = merge_attacks([RelapseEpisode("A", d, ON) for d in onsets])
    return annualised_relapse_rates(
        attacks,
        [SubjectFollowUp("A", INFUSION, LAST, diagnosis=diagnosis)],
        RelapseOptions(pre_window_months=months, pre_window_start=start),  # type: ignore[arg-type]
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
    # index attack 2020-08-20, diagnosed 2020-10-01: the window starts at the attack (285 days to 2021-06-01);
    # that attack is the disease onset, not a relapse (review of D-19.708: it was counted, pre_attacks 1)
    row = _arr([date(2020, 8, 20)], date(2020, 10, 1)).subjects[0]
    assert row.pre_start == date(2020, 8, 20)
    assert (row.pre_days, row.pre_attacks) == (285, 0)


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


@settings(max_examples=property_examples(60), deadline=None)
@given(st.integers(-400, 1500), st.lists(st.integers(1, 15), max_size=4, unique=True))
def test_pre_days_is_the_days_from_the_later_start(diagnosed_before: int, attacks_before: list[int]) -> None:
    # a negative offset: diagnosed after the infusion (the window then starts at an earlier attack, or at the
    # infusion itself: no pre-infusion person-time)
    diagnosis = INFUSION - timedelta(days=diagnosed_before)
    onsets = [INFUSION - timedelta(days=100 * d) for d in attacks_before]  # 100 days apart: never merged
    row = _arr(onsets, diagnosis).subjects[0]
    window_start = date(2019, 6, 1)
    disease_start = min([diagnosis, *onsets])
    in_window = sum(1 for d in onsets if window_start <= d < INFUSION)
    if disease_start >= window_start:
        # the window starts at disease onset; the onset attack (the first one, on that day) is no relapse
        start = min(disease_start, INFUSION)
        expected = in_window - (1 if onsets and min(onsets) == disease_start else 0)
    else:
        start, expected = window_start, in_window
    assert row.pre_start == start
    assert row.pre_days == (INFUSION - start).days
    assert row.pre_attacks == expected
    assert row.pre_days >= 0


@settings(max_examples=property_examples(30), deadline=None)
@given(st.integers(-400, 1500), st.lists(st.integers(1, 15), max_size=4, unique=True))
def test_the_fixed_start_ignores_the_diagnosis(diagnosed_before: int, attacks_before: list[int]) -> None:
    diagnosis = INFUSION - timedelta(days=diagnosed_before)
    onsets = [INFUSION - timedelta(days=100 * d) for d in attacks_before]
    row = _arr(onsets, diagnosis, start="fixed").subjects[0]
    assert (row.pre_start, row.pre_days) == (date(2019, 6, 1), 731)
    assert row.pre_attacks == sum(1 for d in onsets if date(2019, 6, 1) <= d < INFUSION)


def test_the_onset_attack_the_day_before_the_infusion_is_no_relapse() -> None:
    # the review's example: one attack 2021-05-31, diagnosed that day, infused 2021-06-01: 1 day at risk, no
    # relapse in it (before the fix: 1 relapse in 1 day, pre-infusion ARR 365.25)
    arr = _arr([date(2021, 5, 31)], date(2021, 5, 31))
    row = arr.subjects[0]
    assert (row.pre_start, row.pre_days, row.pre_attacks, row.pre_arr) == (date(2021, 5, 31), 1, 0, 0.0)
    assert arr.pre.events == 0
    assert any("starts at disease onset" in n and "onset attack is not a relapse" in n for n in arr.notes)


def test_the_fixed_option_keeps_the_whole_window_and_the_attack() -> None:
    # fixed: [2019-06-01, 2021-06-01) = 731 days, 1 attack → ARR 365.25 / 731
    arr = _arr([date(2021, 5, 31)], date(2021, 5, 31), start="fixed")
    row = arr.subjects[0]
    assert (row.pre_start, row.pre_days, row.pre_attacks) == (date(2019, 6, 1), 731, 1)
    assert abs(row.pre_arr - 365.25 / 731) < 1e-12
    assert arr.options["pre_window_start"] == "fixed"
    assert not any("disease onset" in n for n in arr.notes)


def test_a_later_attack_in_an_onset_window_is_a_relapse() -> None:
    # onset attack 2020-08-20 (diagnosed 2020-10-01), relapse 2021-01-10: 1 relapse in 285 days
    arr = _arr([date(2020, 8, 20), date(2021, 1, 10)], date(2020, 10, 1))
    row = arr.subjects[0]
    assert (row.pre_start, row.pre_days, row.pre_attacks) == (date(2020, 8, 20), 285, 1)
    assert abs(row.pre_arr - 365.25 / 285) < 1e-12
    assert arr.options["pre_window_start"] == "disease_onset"


def test_a_diagnosis_after_the_infusion_without_an_earlier_attack_gives_no_pre_time() -> None:
    arr = _arr([], date(2021, 7, 1))
    row = arr.subjects[0]
    assert (row.pre_start, row.pre_days, row.pre_attacks, row.pre_arr) == (INFUSION, 0, 0, None)
    assert any("after the infusion" in n for n in arr.notes)


def test_the_option_is_a_protocol_parameter() -> None:
    assert (
        RelapseOptions.from_parameters({"pre_window_start": "fixed"}).pre_window_start is PreWindowStart.FIXED
    )
    assert RelapseOptions().pre_window_start is PreWindowStart.DISEASE_ONSET
    try:
        RelapseOptions.from_parameters({"pre_window_start": "diagnosis"})
    except OptionError as error:
        assert error.problems[0].field == "pre_window_start"
    else:
        raise AssertionError("an unknown pre_window_start was accepted")


def test_derive_relapses_notes_the_onset_windows() -> None:
    rel = "subject_id,onset_date,phenotype,severity\nS1,2020-08-20,myelitis,severe\n"
    result = derive_relapses(
        rel, {"S1": INFUSION}, last_assessment={"S1": LAST}, diagnoses={"S1": date(2020, 10, 1)}
    )
    assert result.table["pre_attacks"].tolist() == [0]
    assert result.options["pre_window_start"] == "disease_onset"
    assert any("1 subject's pre-infusion window starts at disease onset" in n for n in result.notes)


def test_derive_relapses_reads_the_diagnosis_date_of_the_subjects_form() -> None:
    # `relapses --subjects`: the form's diagnosis_date shortens the window as `diagnoses=` does (243 days)
    rel = "subject_id,onset_date,phenotype,severity\nS1,2020-11-15,myelitis,severe\n"
    subjects = "subject_id,birth_date,diagnosis_date\nS1,1980-01-01,2020-10-01\n"
    result = derive_relapses(rel, {"S1": INFUSION}, last_assessment={"S1": LAST}, subjects=subjects)
    assert result.table["pre_days"].tolist() == [243]


def test_the_rate_ratio_note_states_the_window_rule_and_its_bias() -> None:
    from cartrial.neuro.relapses import pre_post_rate_ratio

    onset = pre_post_rate_ratio(_arr([date(2020, 8, 20)], date(2020, 10, 1))).note
    assert "disease onset" in onset and "onset attack" in onset and "downward" in onset
    fixed = pre_post_rate_ratio(_arr([date(2020, 8, 20)], date(2020, 10, 1), start="fixed")).note
    assert "pre_window_start: fixed" in fixed and "towards 1" in fixed


def test_the_cli_reads_the_subjects_diagnosis_date_and_the_option(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # S1 infused 2021-06-01, diagnosed 2020-10-01, attack 2020-11-15: 243 days (disease_onset), 731 (fixed)
    from typer.testing import CliRunner

    from cartrial.cli import app

    (tmp_path / "rel.csv").write_text(
        "subject_id,onset_date,phenotype,severity\nS1,2020-11-15,myelitis,severe\n"
    )
    (tmp_path / "inf.csv").write_text("subject_id,infused_at\nS1,2021-06-01\n")
    (tmp_path / "sub.csv").write_text("subject_id,birth_year,diagnosis_date\nS1,1980,2020-10-01\n")
    base = ["relapses", str(tmp_path / "rel.csv"), "--infusion-dates", str(tmp_path / "inf.csv")]
    base += ["--subjects", str(tmp_path / "sub.csv"), "--cutoff", "2022-06-01"]
    for extra, days in (([], "243"), (["--pre-window-start", "fixed"], "731")):
        out = CliRunner().invoke(app, [*base, *extra])
        assert out.exit_code == 0, out.output
        header, row = out.stdout.splitlines()[:2]
        assert dict(zip(header.split(","), row.split(","), strict=False))["pre_days"] == days
