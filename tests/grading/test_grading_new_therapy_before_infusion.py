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
from cartrial.grading import grade_icaht, grade_t_icaht, new_therapy_days

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
