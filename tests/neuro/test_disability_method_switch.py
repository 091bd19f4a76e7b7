"""A confirmed EDSS change across a scoring-method switch in the walking range (D-19.746).

Kurtzke 1983 and the Neurostatus-EDSS differ exactly at 6.0/6.5 (unilateral aid 50-99 m; bilateral aid
>= 120 m; docs/science/neuro-outcomes.md §1.6-§1.7), the +0.5 worsening threshold from a baseline >= 5.5
(nmosd_trial thresholds, §5). Hand: baseline (day -1) 6.0 by Neurostatus, then 6.5 on days 100 and 200 by
Kurtzke: a +0.5 held 100 days (>= 84) is a confirmed worsening when evaluated (``method_switch=include``);
by default (``exclude``) it is not evaluable, the subject named in the notes and flagged
``method_switch_excluded``. Below EDSS 4.0 the step comes from the functional systems, the same in both
methods: a switch there (2.0 -> 3.0 -> 3.0, +1.0 from a baseline 1.0-5.0) is evaluated and confirmed.
Before: the switch was only flagged and the 6.0 -> 6.5 confirmed as a worsening.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from cartrial.neuro.derive import derive_disability
from cartrial.neuro.disability import DisabilityOptions


def _scored(values: list[float], methods: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": ["S1"] * 3,
            "assessed_at": ["2020-12-31", "2021-04-11", "2021-07-20"],
            "edss": values,
            "edss_method": methods,
        }
    )


METHODS = ["neurostatus_16", "kurtzke", "kurtzke"]


def test_a_walking_range_switch_is_not_evaluable_by_default() -> None:
    result = derive_disability(_scored([6.0, 6.5, 6.5], METHODS), {"S1": date(2021, 1, 1)})
    row = result.table.iloc[0]
    assert bool(row["method_switch"]) and bool(row["method_switch_excluded"])
    # not evaluable is blank (pd.NA), never False: not a non-worsener (changed by design, review 3)
    assert row["worsening_confirmed"] is pd.NA and row["worsening_unconfirmed"] is pd.NA
    assert row["improvement_confirmed"] is pd.NA and row["improvement_unconfirmed"] is pd.NA
    assert not row["improvement_evaluable"]
    assert "not evaluable" in row["reason"]
    assert [n for n in result.notes if "not evaluable for 1 subject (S1)" in n]
    assert result.options["method_switch"] == "exclude"


def test_include_evaluates_the_switch_as_scored() -> None:
    options = DisabilityOptions(method_switch="include")
    result = derive_disability(_scored([6.0, 6.5, 6.5], METHODS), {"S1": date(2021, 1, 1)}, options=options)
    row = result.table.iloc[0]
    assert bool(row["method_switch"]) and not bool(row["method_switch_excluded"])
    assert bool(row["worsening_confirmed"])


def test_a_switch_below_the_walking_range_is_evaluated() -> None:
    result = derive_disability(_scored([2.0, 3.0, 3.0], METHODS), {"S1": date(2021, 1, 1)})
    row = result.table.iloc[0]
    assert bool(row["method_switch"]) and not bool(row["method_switch_excluded"])
    assert bool(row["worsening_confirmed"])


def _late_switch() -> pd.DataFrame:
    # review 3 (sw.py): Neurostatus 4.0 baseline (2021-01-01, day -1), Neurostatus 5.0 on 2021-04-01 (day 89)
    # and 2021-07-01 (day 180), Kurtzke 5.0 on 2022-01-01 (day 364)
    return pd.DataFrame(
        {
            "subject_id": ["S1"] * 4,
            "assessed_at": ["2021-01-01", "2021-04-01", "2021-07-01", "2022-01-01"],
            "edss": [4.0, 5.0, 5.0, 5.0],
            "edss_method": ["neurostatus_16"] * 3 + ["kurtzke"],
        }
    )


def test_a_worsening_confirmed_before_the_switch_is_kept() -> None:
    # hand: +1.0 from a baseline 4.0 (nmosd_trial: >= 1.0 for 1.0-5.0) at day 89, held at day 180 (91 days
    # >= 84): confirmed at day 180, before the first switch (day 364) -> kept under method_switch=exclude
    result = derive_disability(_late_switch(), {"S1": date(2021, 1, 2)})
    row = result.table.iloc[0]
    assert row["worsening_confirmed"] is True or bool(row["worsening_confirmed"]) is True
    assert bool(row["method_switch"])
    # improvement: nothing confirmed before the switch and every later visit counts -> not evaluable
    assert row["improvement_confirmed"] is pd.NA
    assert bool(row["method_switch_excluded"])


def test_a_change_confirmed_only_after_the_switch_is_not_evaluable() -> None:
    # hand: the +1.0 onset at day 89 (Neurostatus) is confirmed only by the Kurtzke visit at day 364 (the
    # day-180 visit is dropped): the outcome depends on the switch visit -> not evaluable
    frame = _late_switch().drop(index=2).reset_index(drop=True)
    row = derive_disability(frame, {"S1": date(2021, 1, 2)}).table.iloc[0]
    assert row["worsening_confirmed"] is pd.NA and bool(row["method_switch_excluded"])


def test_the_switch_flags_name_the_direction() -> None:
    # review 4: hand, as above: the worsening is confirmed at day 180, before the switch (day 364), and
    # stands; the improvement (none confirmed before the switch) is the only direction not evaluable
    result = derive_disability(_late_switch(), {"S1": date(2021, 1, 2)})
    row = result.table.iloc[0]
    assert bool(row["improvement_switch_excluded"]) and not bool(row["worsening_switch_excluded"])
    assert bool(row["method_switch_excluded"])  # either direction
    assert [n for n in result.notes if "confirmed EDSS improvement not evaluable for 1 subject (S1)" in n]
    assert not [n for n in result.notes if "worsening not evaluable" in n]


def test_a_baseline_that_cannot_improve_is_not_flagged_for_improvement() -> None:
    # hand: baseline 0.0 (cdi_common: cannot improve) and Kurtzke 6.5 afterwards in the walking range: the
    # improvement is not evaluable for its baseline, not for the switch; the worsening for the switch
    frame = _scored([0.0, 6.5, 6.5], METHODS)
    row = derive_disability(frame, {"S1": date(2021, 1, 1)}).table.iloc[0]
    assert not bool(row["improvement_switch_excluded"]) and bool(row["worsening_switch_excluded"])
