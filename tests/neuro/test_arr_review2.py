"""Second review of D-19.708 (D-19.711–D-19.713). Expected values by hand:

- a partial ``relapse_history`` onset is the first day of its period (2020-07 → 2020-07-01, 2019 →
  2019-01-01, 2020-07-UN → 2020-07-01): the earliest possible onset, the longer window (D-19.711);
  infusion 2021-06-01, disease onset 2020-07-01 → 184 (Jul–Dec) + 151 (Jan–May) = 335 pre-infusion days;
- the rate ratio's note describes the onset rule only when some window starts at onset (D-19.712);
- diagnosed 5 days before the infusion, attacks on day −5 (the onset) and −2: 1 relapse in 5 days, per-patient
  ARR 1 / (5 / 365.25) = 73.05: the short window is noted, the data kept (D-19.713);
- two attacks on the onset day (merge_window_days 0): neither is a relapse (D-19.708)."""

from __future__ import annotations

from datetime import date

import pytest

from cartrial.neuro.derive import derive_relapses
from cartrial.neuro.relapses import (
    Phenotype,
    RelapseEpisode,
    RelapseOptions,
    SubjectFollowUp,
    annualised_relapse_rates,
    merge_attacks,
    pre_post_rate_ratio,
)
from cartrial.neuro.tables import history_onsets

INFUSION = date(2021, 6, 1)
LAST = date(2022, 6, 1)
ON = frozenset({Phenotype.MYELITIS})
REL = "subject_id,onset_date,phenotype,severity\nS1,2020-11-15,myelitis,severe\n"


def _arr(onsets: list[date], diagnosis: date | None, **options: object):  # type: ignore[no-untyped-def]
    opts = RelapseOptions(**options)  # type: ignore[arg-type]
    attacks = merge_attacks([RelapseEpisode("A", d, ON) for d in onsets], opts)
    return annualised_relapse_rates(
        attacks, [SubjectFollowUp("A", INFUSION, LAST, diagnosis=diagnosis)], opts
    )


@pytest.mark.parametrize(
    ("onset", "expected"),
    [
        ("2019-07", date(2019, 7, 1)),
        ("2019", date(2019, 1, 1)),
        ("2019-07-UN", date(2019, 7, 1)),
        ("2019-UN-UN", date(2019, 1, 1)),
        ("2019-07-15", date(2019, 7, 15)),
        ("2019-07-15T10:00", date(2019, 7, 15)),
    ],
)
def test_a_partial_history_onset_is_the_first_day_of_its_period(onset: str, expected: date) -> None:
    read = history_onsets(f'[{{"onset_date": "{onset}"}}]')
    assert (read.onsets, read.unreadable) == ([expected], 0)


def test_an_unreadable_history_entry_is_skipped_and_counted() -> None:
    read = history_onsets(
        '[{"onset_date": "sometime"}, {"onset_date": "2019-13"}, {"onset_date": "2019-03"}]'
    )
    assert (read.onsets, read.unreadable) == ([date(2019, 3, 1)], 2)
    assert history_onsets("not json").unreadable == 1


def test_derive_relapses_reads_a_partial_history_onset_of_the_subjects_form() -> None:
    subjects = (
        "subject_id,birth_date,diagnosis_date,relapse_history\n"
        'S1,1980-01-01,2020-10-01,"[{""onset_date"": ""2020-07""}]"\n'
        'S2,1980-01-01,,"[{""onset_date"": ""garbage""}]"\n'
    )
    result = derive_relapses(
        REL, {"S1": INFUSION, "S2": INFUSION}, last_assessment={"S1": LAST, "S2": LAST}, subjects=subjects
    )
    assert result.table["pre_days"].tolist() == [335, 731]  # S2: no diagnosis date, its history not read
    assert result.table["pre_attacks"].tolist() == [1, 0]


def test_derive_relapses_skips_an_unreadable_history_entry_with_a_note() -> None:
    subjects = (
        "subject_id,birth_date,diagnosis_date,relapse_history\n"
        'S1,1980-01-01,2020-10-01,"[{""onset_date"": ""secretvalue""}]"\n'
    )
    result = derive_relapses(REL, {"S1": INFUSION}, last_assessment={"S1": LAST}, subjects=subjects)
    assert result.table["pre_days"].tolist() == [243]  # the diagnosis date alone
    notes = [n for n in result.notes if "relapse_history entr" in n]
    assert notes and "S1" in notes[0] and "secretvalue" not in " ".join(result.notes)


def test_the_rate_ratio_note_says_the_whole_window_when_no_window_starts_at_onset() -> None:
    note = pre_post_rate_ratio(_arr([date(2020, 8, 20)], None)).note
    assert "whole" in note and "onset attack is not a relapse" not in note
    onset = pre_post_rate_ratio(_arr([date(2020, 8, 20)], date(2020, 10, 1))).note
    assert "onset attack is not a relapse" in onset


def test_a_short_pre_infusion_window_is_noted_and_kept() -> None:
    arr = _arr([date(2021, 5, 27), date(2021, 5, 30)], date(2021, 5, 27), merge_window_days=0)
    row = arr.subjects[0]
    assert (row.pre_days, row.pre_attacks) == (5, 1)
    assert abs(row.pre_arr - 1 / (5 / 365.25)) < 1e-9  # kept: 73.05
    note = [n for n in arr.notes if "90 days" in n]
    assert note and note[0].startswith("1 subject ") and "pooled ARR is the summary" in note[0]


def test_no_short_window_note_for_whole_windows() -> None:
    assert not [n for n in _arr([date(2020, 8, 20)], None).notes if "90 days" in n]


def test_two_attacks_on_the_onset_day_are_both_left_out() -> None:
    # merge_window_days 0 keeps two attacks on 2020-08-20 apart: both are the onset, neither a relapse;
    # the attack of 2020-11-15 is one
    attacks = merge_attacks(
        [
            RelapseEpisode("A", date(2020, 8, 20), ON),
            RelapseEpisode("A", date(2020, 8, 20), ON),
            RelapseEpisode("A", date(2020, 11, 15), ON),
        ],
        RelapseOptions(merge_window_days=0),
    )
    assert len(attacks) == 3
    arr = annualised_relapse_rates(
        attacks,
        [SubjectFollowUp("A", INFUSION, LAST, diagnosis=date(2020, 10, 1))],
        RelapseOptions(merge_window_days=0),
    )
    assert arr.subjects[0].pre_attacks == 1
    assert any("(2 not counted)" in n for n in arr.notes)


def test_a_diagnosis_before_the_first_attack_counts_the_attack() -> None:
    # diagnosed 2020-10-01, first attack 2020-11-15: the window starts at the diagnosis; the attack is a
    # relapse (243 days, 1 attack)
    row = _arr([date(2020, 11, 15)], date(2020, 10, 1)).subjects[0]
    assert (row.pre_start, row.pre_days, row.pre_attacks) == (date(2020, 10, 1), 243, 1)


def _cli(tmp_path, subjects: str | None, *extra: str):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from cartrial.cli import app

    (tmp_path / "rel.csv").write_text(REL)
    (tmp_path / "inf.csv").write_text("subject_id,infused_at\nS1,2021-06-01\n")
    args = ["relapses", str(tmp_path / "rel.csv"), "--infusion-dates", str(tmp_path / "inf.csv")]
    args += ["--cutoff", "2022-06-01", *extra]
    if subjects is not None:
        (tmp_path / "sub.csv").write_text(subjects)
        args += ["--subjects", str(tmp_path / "sub.csv")]
    return CliRunner().invoke(app, args)


def test_the_cli_reads_a_partial_history_onset(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # diagnosed 2020-10-01, history onset "2020-07-UN" → 2020-07-01: 335 days, the 2020-11-15 attack counted
    out = _cli(
        tmp_path,
        "subject_id,birth_year,diagnosis_date,relapse_history\n"
        'S1,1980,2020-10-01,"[{""onset_date"": ""2020-07-UN""}]"\n',
    )
    assert out.exit_code == 0, out.output
    header, row = out.stdout.splitlines()[:2]
    values = dict(zip(header.split(","), row.split(","), strict=False))
    assert (values["pre_days"], values["pre_attacks"]) == ("335", "1")


def test_the_cli_refuses_pre_window_start_without_subjects(tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "rel.csv").write_text(REL)
    (tmp_path / "inf.csv").write_text("subject_id,infused_at\nS1,2021-06-01\n")
    args = ["relapses", str(tmp_path / "rel.csv"), "--infusion-dates", str(tmp_path / "inf.csv")]
    result = cli(*args, "--cutoff", "2022-06-01", "--pre-window-start", "fixed")
    assert result.exit_code == 2
    assert "--pre-window-start" in result.stderr and "--subjects" in result.stderr


@pytest.mark.parametrize("history", ["2020-07-15", "2020-07", "2020"])
def test_the_attack_inside_a_partial_onset_period_is_the_onset(history: str) -> None:
    # review 3: diagnosed 2020-09-01, one attack 2020-07-15; a history "2020-07" or "2020" is that attack
    # recorded to the month / year: it is the onset (window start, not counted), as with the full date.
    # pre_days by hand: 2020-07-15 -> 2021-06-01 = 17+31+30+31+30+31 + 31+28+31+30+31 = 321 (D-19.711)
    import pandas as pd

    from cartrial.neuro import arr_listing

    csv = "subject_id,onset_date,phenotype,severity\nS1,2020-07-15,myelitis,moderate\n"
    subjects = pd.DataFrame(
        {
            "subject_id": ["S1"],
            "birth_date": ["1980-01-01"],
            "diagnosis_date": ["2020-09-01"],
            "relapse_history": [f'[{{"onset_date": "{history}"}}]'],
        }
    )
    result = derive_relapses(csv, {"S1": date(2021, 6, 1)}, cutoff=date(2022, 6, 1), subjects=subjects)
    row = arr_listing(result.arr).iloc[0]
    assert str(row["pre_window_start"])[:10] == "2020-07-15"
    assert row["pre_attacks"] == 0
    assert row["pre_days"] == 321


def test_an_attack_after_the_latest_possible_onset_is_a_relapse() -> None:
    # diagnosed 2020-07-10 with a history "2020-07": the onset is no later than 07-10, so an attack on 07-15
    # is a relapse, counted in a window from the period's first day (07-01; 335 days to 2021-06-01)
    import pandas as pd

    from cartrial.neuro import arr_listing

    csv = "subject_id,onset_date,phenotype,severity\nS1,2020-07-15,myelitis,moderate\n"
    subjects = pd.DataFrame(
        {
            "subject_id": ["S1"],
            "birth_date": ["1980-01-01"],
            "diagnosis_date": ["2020-07-10"],
            "relapse_history": ['[{"onset_date": "2020-07"}]'],
        }
    )
    result = derive_relapses(csv, {"S1": date(2021, 6, 1)}, cutoff=date(2022, 6, 1), subjects=subjects)
    row = arr_listing(result.arr).iloc[0]
    assert str(row["pre_window_start"])[:10] == "2020-07-01"
    assert row["pre_attacks"] == 1
    assert row["pre_days"] == 335
