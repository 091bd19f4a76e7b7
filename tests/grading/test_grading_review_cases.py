"""The independent review's cases for CRS episodes and ICAHT (decisions §12), each worked by hand.

Sources: ASTCT 2019 (Lee DW et al., BBMT 2019;25:625, CRS table and its footnote on antipyretic /
anti-cytokine therapy); EHA/EBMT ICAHT consensus (Rejeski K et al., Blood 2023;142:865-877: early days 0-30,
late days 31-100, duration of ANC ≤ 500/µL). The rules we settled on are in docs/grading.md.
"""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.cli import main
from cartrial.errors import ConfigurationError
from cartrial.grading import (
    EpisodeOptions,
    IcahtOptions,
    MaskedResolution,
    ResolutionRule,
    TherapyRecord,
    UnsampledDays,
    derive_crs_episodes,
    derive_icaht,
    derive_icans_episodes,
    grade_icaht,
)

INFUSED = datetime(2024, 3, 10, 9, 0, tzinfo=UTC)  # day 0
INFUSIONS = {"S1": INFUSED}


def at(day: int, hour: int = 8) -> str:
    """ISO time of study day `day` (day 0 = 2024-03-10) at `hour`:00 UTC."""
    return (pd.Timestamp("2024-03-10T00:00Z") + pd.Timedelta(days=day, hours=hour)).isoformat()


def crs_rows(rows: list[tuple[str, float, bool]]) -> pd.DataFrame:
    """(time, temperature °C, crs_resolved) rows of subject S1: normotensive, room air, no masking flag."""
    return pd.DataFrame(
        {
            "subject_id": "S1",
            "assessed_at": [r[0] for r in rows],
            "temperature_c": [r[1] for r in rows],
            "crs_resolved": [r[2] for r in rows],
            "fever_masked": False,
            "hypotension": False,
            "vasopressors": 0,
            "vasopressin": False,
            "oxygen": "none",
            "oxygen_l_min": 0,
        }
    )


def test_fever_before_the_infusion_never_opens_a_crs_episode() -> None:
    """Review: fever on days -2/-1 (lymphodepletion) and none after gave an episode with onset day -1.7. Now:
    no episode (episode 0, grade 0) and the two febrile assessments reported as pre-infusion fever."""
    frame = crs_rows(
        [(at(-2, 16), 38.4, False), (at(-1, 8), 38.6, False), (at(1), 36.8, False), (at(2), 36.9, False)]
    )
    table = derive_crs_episodes(frame, INFUSIONS).table
    assert table["episode"].tolist() == [0] and table["max_grade"].tolist() == [0]
    assert table["pre_infusion_fever_assessments"].tolist() == [2]
    assert table["onset_day"].isna().all()


def test_paracetamol_premedication_is_not_masking_of_crs() -> None:
    """Fever on day -1, paracetamol premedication at 08:00 on day 0 (infusion 09:00), fever on day 2, afebrile
    on day 3: the premedication does not mask; the episode (day 2) resolves at the first grade-0 day (3)."""
    frame = crs_rows([(at(-1), 38.5, False), (at(2), 38.3, False), (at(3), 36.9, False)])
    premed = [
        TherapyRecord("S1", datetime(2024, 3, 10, 8, 0, tzinfo=UTC), "antipyretic", "paracetamol", 1.0, "g")
    ]
    row = derive_crs_episodes(frame, INFUSIONS, therapies=premed).table.iloc[0]
    assert row["episode"] == 1 and row["max_grade"] == 1
    assert row["fever_masked_from"] is None
    assert row["resolved_at"] == at(3) and row["duration_days"] == 1.0


def masked_case() -> tuple[pd.DataFrame, list[TherapyRecord]]:
    """Fever 38.5 °C on day 1 08:00, tocilizumab day 1 12:00, then 13 days afebrile, normotensive, on room
    air."""
    rows = [(at(1), 38.5, False)] + [(at(day), 36.8, False) for day in range(2, 15)]
    toci = [
        TherapyRecord(
            "S1", datetime(2024, 3, 11, 12, 0, tzinfo=UTC), "tocilizumab", "tocilizumab", 8.0, "mg/kg"
        )
    ]
    return crs_rows(rows), toci


def test_masked_episode_resolves_after_a_stable_day_by_default() -> None:
    """Review: with masking carried until crs_resolved, the episode stayed ongoing after 13 days afebrile.
    Default now: afebrile, normotensive and off oxygen for 24 h after the masking drug ends masking. Day 2
    08:00 starts the stable period (after tocilizumab at day 1 12:00); 24 h later, day 3 08:00, the grade is
    0: the episode lasts day 1 08:00 to day 3 08:00 = 2.0 days, maximum grade 1 (fever)."""
    frame, toci = masked_case()
    row = derive_crs_episodes(frame, INFUSIONS, therapies=toci).table.iloc[0]
    assert row["max_grade"] == 1 and row["resolved_at"] == at(3) and row["duration_days"] == 2.0
    assert row["fever_masked_from"] == at(2)


def test_masked_episode_until_recorded_is_kept_as_an_option() -> None:
    """The previous behaviour (masking until crs_resolved): the episode is ongoing at the last assessment."""
    frame, toci = masked_case()
    options = EpisodeOptions(masked_resolution=MaskedResolution.UNTIL_RECORDED)
    row = derive_crs_episodes(frame, INFUSIONS, therapies=toci, episode_options=options).table.iloc[0]
    assert row["resolution_basis"] == "ongoing at last assessment" and pd.isna(row["duration_days"])
    longer = EpisodeOptions(masked_stable_hours=72)  # stable from day 2 08:00: unmasked at day 5 08:00
    assert derive_crs_episodes(frame, INFUSIONS, therapies=toci, episode_options=longer).table.iloc[0][
        "resolved_at"
    ] == at(5)


def test_recorded_resolution_wins_over_an_earlier_grade_0_day() -> None:
    """Review: afebrile on day 4, resolution recorded on day 5: the episode ends on day 5 (as documented),
    not day 4. With first_grade_0 it ends on day 4."""
    frame = crs_rows([(at(1), 38.6, False), (at(2), 38.9, False), (at(3), 38.2, False), (at(4), 37.0, False),
                      (at(5), 36.9, True)])  # fmt: skip
    row = derive_crs_episodes(frame, INFUSIONS).table.iloc[0]
    assert (
        row["resolved_at"] == at(5) and row["resolution_basis"] == "recorded" and row["duration_days"] == 4.0
    )
    first = EpisodeOptions(resolution_rule=ResolutionRule.FIRST_GRADE_0)
    assert derive_crs_episodes(frame, INFUSIONS, episode_options=first).table.iloc[0]["resolved_at"] == at(4)


def test_a_new_onset_before_any_recorded_resolution_is_a_new_episode() -> None:
    """Fever day 1, afebrile day 2, fever day 3, resolution recorded day 4: two episodes (day 1 ending at the
    first grade-0 day, day 3 ending at the recorded resolution), never one merged by the later record."""
    frame = crs_rows([(at(1), 38.6, False), (at(2), 37.0, False), (at(3), 38.4, False), (at(4), 36.9, True)])
    table = derive_crs_episodes(frame, INFUSIONS).table
    assert table["resolved_at"].tolist() == [at(2), at(4)]
    assert table["resolution_basis"].tolist() == ["first grade 0 (no recorded resolution)", "recorded"]


def test_icaht_lowest_count_of_the_day_decides() -> None:
    """Review: ANC 450 at 07:00 and 600 at 19:00 on days 5-11 (2000/µL on the other days 0-20) gave grade 0
    (the later count was used). The lowest count decides: 7 days ≤ 500/µL -> early grade 2 (7-13 days)."""
    days, anc = [], []
    for day in range(21):
        if 5 <= day <= 11:
            days += [day, day]
            anc += [450.0, 600.0]
        else:
            days.append(day)
            anc.append(2000.0)
    for mode in UnsampledDays:
        result = grade_icaht(days, anc, IcahtOptions(unsampled_days=mode))
        assert result.early_days_anc_le_500 == 7 and result.early_grade == 2, mode


def test_icaht_unsampled_days_linear_by_default() -> None:
    """Review: weekly counts d7 = 400, d14 = 2000. Linear interpolation (default; the published grader): day 8
    is 400 + 1600/7 = 629 > 500, so only day 7 -> 1 day, grade 1. LOCF: days 7-13 -> 7 days, grade 2."""
    linear = grade_icaht([7, 14], [400.0, 2000.0])
    assert linear.early_days_anc_le_500 == 1 and linear.early_grade == 1
    locf = grade_icaht([7, 14], [400.0, 2000.0], IcahtOptions(unsampled_days=UnsampledDays.LOCF))
    assert locf.early_days_anc_le_500 == 7 and locf.early_grade == 2
    assert IcahtOptions().unsampled_days is UnsampledDays.LINEAR


def test_icaht_max_interpolated_days_is_the_graders_gap_limit() -> None:
    """The published grader interpolates runs of at most 7 consecutive unsampled days (zoo `na.approx(maxgap =
    7)`); a longer run stays missing and never counts as below. ANC 300/µL on days 0, 14 and 28 (13 unsampled
    days between counts), 2000/µL on day 30: every gap interpolated (default) -> days 0-28 ≤ 500/µL, 29 days,
    grade 3; limit 7 -> only the sampled days 0, 14 and 28 are below, separate episodes (recovery ≥ 3 days),
    1 day, grade 1. Weekly counts (6 unsampled days) are interpolated under both."""
    days, anc = [0, 14, 28, 30], [300.0, 300.0, 300.0, 2000.0]
    every_gap = grade_icaht(days, anc)
    assert (every_gap.early_days_anc_le_500, every_gap.early_grade) == (29, 3)
    limited = grade_icaht(days, anc, IcahtOptions(max_interpolated_days=7))
    assert (limited.early_days_anc_le_500, limited.early_grade) == (1, 1)
    weekly = [0, 7, 14, 21, 28], [300.0, 300.0, 300.0, 300.0, 300.0]
    assert grade_icaht(*weekly, IcahtOptions(max_interpolated_days=7)).early_days_anc_le_500 == 29
    assert grade_icaht(*weekly, IcahtOptions(max_interpolated_days=5)).early_days_anc_le_500 == 1
    # a run of exactly the limit is interpolated, one day more is not
    assert (
        grade_icaht([0, 8], [300.0, 300.0], IcahtOptions(max_interpolated_days=7)).early_days_anc_le_500 == 9
    )
    assert (
        grade_icaht([0, 9], [300.0, 300.0], IcahtOptions(max_interpolated_days=7)).early_days_anc_le_500 == 1
    )


@settings(max_examples=property_examples(200), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.sampled_from([0.0, 50.0, 90.0, 300.0, 480.0, 520.0, 2000.0])),
        min_size=1,
        max_size=12,
    ),
    st.integers(1, 100),
)
def test_icaht_gap_limit_only_removes_days(series: list[tuple[int, float]], limit: int) -> None:
    """A gap limit never adds a day below a threshold, so it never raises a grade; a limit of at least the
    longest run of unsampled days changes nothing."""
    days, anc = [d for d, _ in series], [a for _, a in series]
    free = grade_icaht(days, anc)
    limited = grade_icaht(days, anc, IcahtOptions(max_interpolated_days=limit))
    assert limited.early_days_anc_le_500 <= free.early_days_anc_le_500
    assert limited.early_days_anc_le_100 <= free.early_days_anc_le_100
    if free.early_grade is not None:
        assert limited.early_grade is not None and limited.early_grade <= free.early_grade
    sampled = sorted(set(days))
    if limit >= max((b - a - 1 for a, b in itertools.pairwise(sampled)), default=0):
        assert limited.early_grade == free.early_grade and limited.late_grade == free.late_grade
        assert limited.early_days_anc_le_500 == free.early_days_anc_le_500


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        (0, UnsampledDays.LINEAR),
        (101, UnsampledDays.LINEAR),
        (True, UnsampledDays.LINEAR),
        (7, UnsampledDays.LOCF),
    ],
)
def test_icaht_max_interpolated_days_is_checked(value: object, mode: UnsampledDays) -> None:
    with pytest.raises(ConfigurationError, match="max_interpolated_days"):
        IcahtOptions(unsampled_days=mode, max_interpolated_days=value)  # type: ignore[arg-type]


def test_icaht_command_takes_max_interpolated_days(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    labs = tmp_path / "labs.csv"
    lines = ["subject_id,collected_at,analyte,value,unit,lln"]
    lines += [
        f"S1,{at(d, 0)},neutrophils,{v},10^9/L,1.8" for d, v in ((0, 0.3), (14, 0.3), (28, 0.3), (30, 2))
    ]
    labs.write_text("\n".join(lines) + "\n")
    infusions = tmp_path / "infusions.csv"
    infusions.write_text(f"subject_id,infused_at\nS1,{at(0, 0)}\n")
    base = ["grade", "icaht", str(labs), "--infusion-dates", str(infusions)]
    assert main(base) == 0
    assert pd.read_csv(io.StringIO(capsys.readouterr().out))["early_grade"].tolist() == [3]
    assert main([*base, "--max-interpolated-days", "7"]) == 0
    assert pd.read_csv(io.StringIO(capsys.readouterr().out))["early_grade"].tolist() == [1]
    assert main([*base, "--max-interpolated-days", "7", "--unsampled-days", "locf"]) == 2
    err = capsys.readouterr().err
    assert "--max-interpolated-days: applies to linear interpolation of unsampled days only, not locf" in err


def test_late_icaht_uses_days_31_to_100_and_censors_at_new_therapy() -> None:
    """Late N-ICAHT is bounded like T-ICAHT (days 31-100): counts on days 150 and 200 are not graded. With
    a new therapy on day 45, only the day-40 count remains: fewer than 2 values -> grade 0."""
    early = ([0, 7, 14, 21, 28], [2000.0] * 5)
    outside = grade_icaht([*early[0], 150, 200], [*early[1], 300.0, 300.0])
    assert outside.late_grade is None and "31-100" in outside.late_rule
    inside = grade_icaht([*early[0], 40, 50], [*early[1], 300.0, 300.0])
    assert inside.late_grade == 3  # two values ≤ 500/µL
    censored = grade_icaht([*early[0], 40, 50], [*early[1], 300.0, 300.0], censor_day=45)
    assert censored.late_grade == 0


def test_derive_icaht_censors_per_subject() -> None:
    labs = pd.DataFrame(
        {
            "subject_id": "S1",
            "collected_at": [at(d) for d in (0, 7, 14, 21, 28, 40, 50)],
            "analyte": "neutrophils",
            "value": [2.0, 2.0, 2.0, 2.0, 2.0, 0.3, 0.3],
            "unit": "10^9/L",
            "lln": 1.8,
        }
    )
    infused = {"S1": datetime(2024, 3, 10, 0, 0, tzinfo=UTC)}
    assert derive_icaht(labs, infused).table["late_grade"].tolist() == [3]
    assert derive_icaht(labs, infused, new_therapy_days={"S1": 45}).table["late_grade"].tolist() == [0]


@pytest.mark.parametrize("mode", list(MaskedResolution))
def test_masked_resolution_option_is_recorded_in_the_output(mode: MaskedResolution) -> None:
    frame, toci = masked_case()
    result = derive_crs_episodes(
        frame, INFUSIONS, therapies=toci, episode_options=EpisodeOptions(masked_resolution=mode)
    )
    assert result.table["masked_resolution"].tolist() == [mode.value]
    assert result.metadata()["options"]["masked_resolution"] == mode.value


def test_icaht_command_censors_at_new_therapy_dates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`grade icaht --new-therapy-dates`: ANC 300/µL on days 40 and 50 is late grade 3 (two values ≤ 500);
    a new therapy on day 45 leaves one value, grade 0."""
    labs = tmp_path / "labs.csv"
    lines = ["subject_id,collected_at,analyte,value,unit,lln"]
    lines += [
        f"S1,{at(d, 0)},neutrophils,{v},10^9/L,1.8"
        for d, v in ((0, 2), (7, 2), (14, 2), (40, 0.3), (50, 0.3))
    ]
    labs.write_text("\n".join(lines) + "\n")
    infusions = tmp_path / "infusions.csv"
    infusions.write_text(f"subject_id,infused_at\nS1,{at(0, 0)}\n")
    censor = tmp_path / "new.csv"
    censor.write_text(f"subject_id,new_therapy_at\nS1,{at(45, 0)}\n")
    base = ["grade", "icaht", str(labs), "--infusion-dates", str(infusions)]
    assert main(base) == 0
    assert pd.read_csv(io.StringIO(capsys.readouterr().out))["late_grade"].tolist() == [3]
    assert main([*base, "--new-therapy-dates", str(censor)]) == 0
    assert pd.read_csv(io.StringIO(capsys.readouterr().out))["late_grade"].tolist() == [0]
    censor.write_text(f"subject_id,new_therapy_at\nS9,{at(45, 0)}\n")
    assert main([*base, "--new-therapy-dates", str(censor)]) == 2
    assert "subject has no infusion date" in capsys.readouterr().err


def test_icans_before_the_infusion_never_opens_an_episode() -> None:
    frame = pd.DataFrame(
        {
            "subject_id": "S1",
            "assessed_at": [at(-1), at(2)],
            "consciousness": "alert",
            "seizure": "none",
            "motor": "none",
            "cerebral_edema": "none",
            "ice_total": [6, 10],
        }
    )
    table = derive_icans_episodes(frame, INFUSIONS).table
    assert table["episode"].tolist() == [0] and table["n_assessments"].tolist() == [2]
