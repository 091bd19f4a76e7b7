"""A new therapy dated before the infusion is no censoring of ICAHT (D-19.1120).

EHA/EBMT 2023 (Rejeski K et al., Blood 2023;142:865-877) censors ICAHT and T-ICAHT at a *subsequent*
therapy: the published grader reads ANC values "to the earliest of day +100, date of subsequent therapy,
date of relapse/progression, or date of last follow-up" (docs/science/toxicity-grading.md §5.3;
icaht.py `LATE_LAST_DAY`). A therapy before the infusion (bridging, or a typing slip) is not subsequent to
it; censoring there dropped every count of the product and graded "not gradable: no ANC on days 0-30"
without a word, while the follow-up file refuses a date before the infusion at its row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.grading import derive_icaht, grade_icaht, grade_t_icaht, new_therapy_days

INFUSED = pd.DataFrame({"subject_id": ["S1", "S2"], "infused_at": ["2021-04-20T09:00Z", "2021-04-20T09:00Z"]})


def test_a_new_therapy_before_the_infusion_is_refused_at_its_row() -> None:
    frame = pd.DataFrame({"subject_id": ["S1", "S2"], "new_therapy_at": ["2021-06-04", "2021-04-19"]})
    with pytest.raises(InputError) as caught:
        new_therapy_days(frame, INFUSED, file="new.csv")
    text = str(caught.value)
    assert "row 3" in text and "new_therapy_at" in text and "before the infusion date" in text
    assert "2021-04-19" not in text.split("got")[0]  # the message itself quotes no value (D-12.2)


def test_a_new_therapy_on_or_after_the_infusion_day_is_its_study_day() -> None:
    frame = pd.DataFrame({"subject_id": ["S1", "S2"], "new_therapy_at": ["2021-04-20", "2021-06-04"]})
    assert new_therapy_days(frame, INFUSED) == {"S1": 0, "S2": 45}


@pytest.mark.parametrize("grade", [grade_icaht, grade_t_icaht])
def test_the_engines_refuse_a_censoring_day_before_day_0(grade: object) -> None:
    with pytest.raises(InputError) as caught:
        grade([0, 7, 14], [300.0, 10.0, 2000.0], censor_day=-1)  # type: ignore[operator]
    assert "censor_day" in str(caught.value)


def test_the_engine_still_censors_from_day_0() -> None:
    # ANC 300/µL on days 0-14, by hand: 15 days ≤ 500/µL is early grade 3 (§5.1); censored at day 0 no
    # count is left
    days = [*range(15), 20]
    counts = [300.0] * 15 + [2000.0]
    assert grade_icaht(days, counts).early_grade == 3
    assert grade_icaht(days, counts, censor_day=0).early_grade is None


def test_grade_icaht_command_exits_2_on_a_new_therapy_before_the_infusion(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    labs = tmp_path / "labs.csv"
    rows = ["subject_id,collected_at,analyte,value,unit,lln"]
    rows += [f"S1,2021-04-{20 + d:02d}T08:00:00Z,neutrophils,300,cells/uL,1800" for d in range(0, 10)]
    labs.write_text("\n".join(rows) + "\n")
    infusions = tmp_path / "infusions.csv"
    infusions.write_text("subject_id,infused_at\nS1,2021-04-20\n")
    new = tmp_path / "new.csv"
    new.write_text("subject_id,new_therapy_at\nS1,2021-04-18\n")
    base = ["grade", "icaht", str(labs), "--infusion-dates", str(infusions)]
    code = main([*base, "--new-therapy-dates", str(new)])
    err = capsys.readouterr().err
    assert code == 2
    assert "row 2" in err and "new_therapy_at" in err and "before the infusion date" in err


def _labs() -> pd.DataFrame:
    # S1 and S2: ANC 300/µL on days 0-9 (2021-04-20 to 2021-04-29), 2000/µL on day 10
    dates = [f"2021-04-{20 + d:02d}T12:00:00Z" for d in range(11)]
    return pd.DataFrame(
        {
            "subject_id": ["S1"] * 11 + ["S2"] * 11,
            "collected_at": dates * 2,
            "analyte": ["neutrophils"] * 22,
            "value": ([300] * 10 + [2000]) * 2,
            "unit": ["cells/uL"] * 22,
            "lln": [1800] * 22,
        }
    )


@pytest.mark.parametrize("argument", ["new_therapy_days", "follow_up_days"])
def test_derive_icaht_names_the_argument_and_the_subject_of_a_day_before_day_0(argument: str) -> None:
    with pytest.raises(InputError) as caught:
        derive_icaht(_labs(), INFUSED, **{argument: {"S1": 5, "S2": -2}})  # type: ignore[arg-type]
    text = str(caught.value)
    assert argument in text and "subject S2" in text and "before day 0" in text
    assert "S1" not in text and "censor_day" not in text and "follow_up_day:" not in text
    assert "-2" not in text  # value-free


@pytest.mark.parametrize("argument", ["new_therapy_days", "follow_up_days"])
def test_derive_icaht_keep_going_grades_the_other_subjects(argument: str) -> None:
    # S1: days 0-9 ≤ 500/µL (10 days) is early grade 2 by hand (§5.1: 7-13 days), uncensored (day 45) or
    # followed to day 45; S2's day is before day 0: left out, named in the problems
    result = derive_icaht(_labs(), INFUSED, keep_going=True, **{argument: {"S1": 45, "S2": -2}})  # type: ignore[arg-type]
    assert result.table["subject_id"].tolist() == ["S1"]
    assert result.table["early_grade"].tolist() == [2]
    assert [(p.field, p.record) for p in result.problems] == [(argument, "subject S2")]
