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
    assert not row["worsening_confirmed"] and not row["improvement_evaluable"]
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
