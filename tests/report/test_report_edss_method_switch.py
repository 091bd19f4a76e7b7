"""The report's edss_change table shows method_switch_excluded and a blank (not "False") confirmed
change for a subject whose change is not evaluable across an EDSS method switch (D-19.746).

Hand: baseline 6.0 (Neurostatus, day -1), 6.5 on days 100 and 200 by Kurtzke: the +0.5 is confirmed only
across the switch in the walking range -> not evaluable by default: worsening_confirmed blank, the flag True.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from cartrial.neuro.derive import derive_disability
from cartrial.report.render import SECTIONS, _table


def test_edss_change_table_shows_the_switch_exclusion() -> None:
    scored = pd.DataFrame(
        {
            "subject_id": ["S1"] * 3,
            "assessed_at": ["2020-12-31", "2021-04-11", "2021-07-20"],
            "edss": [6.0, 6.5, 6.5],
            "edss_method": ["neurostatus_16", "kurtzke", "kurtzke"],
        }
    )
    frame = derive_disability(scored, {"S1": date(2021, 1, 1)}).table
    spec = next(t for s in SECTIONS for t in s.tables if t.dataset == "edss_change")
    table = _table("edss_change", "EDSS change", "infused", "", frame, spec.columns)
    row = dict(zip(table.header, table.rows[0], strict=True))
    assert row["method_switch_excluded"] == "True"
    assert row["improvement_switch_excluded"] == row["worsening_switch_excluded"] == "True"  # review 4
    assert row["worsening_confirmed"] == "" and row["improvement_confirmed"] == ""
