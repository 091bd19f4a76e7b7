"""A later data cut-off never removes what an earlier one counted (the example study read at two cut-offs).

By hand from the example's infusions.csv: CT-001 infused 2021-04-27 … CT-007 2021-09-28, CT-008
2021-10-12, CT-012 2021-12-07. At the cut-off 2021-10-06 the safety set is CT-001 to CT-007 (7 patients)
and CT-001 has been followed 3 + 31 + 30 + 31 + 31 + 30 + 6 = 162 days (April 27 to October 6); at
2022-03-20 all 12 are infused and CT-001 is followed 162 + 25 + 30 + 31 + 31 + 28 + 20 = 327 days. Every
treatment-emergent adverse event, every attack after the infusion, every CRS and every DLT-evaluable
patient of the earlier cut-off is still there at the later one, and every follow-up is at least as long.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cartrial.analysis import Analysis, analyse
from cartrial.store.snapshot import read_snapshot

from .conftest import CUTOFF

EARLY = dt.date(2021, 10, 6)


def _events(analysis: Analysis) -> dict[str, set[tuple[str, ...]]]:
    teae = analysis.datasets["teae_listing"].table
    relapses = analysis.datasets["relapses_by_subject"].table
    return {
        "teae": set(zip(teae["subject_id"], teae["term"], teae["started_on"], strict=True)),
        "attacks": {
            (str(s), str(d))
            for s, n, d in zip(
                relapses["subject_id"],
                relapses["post_attacks"],
                relapses["first_post_attack_day"],
                strict=True,
            )
            if n > 0
        },
        "dlt_evaluable": {(s,) for s in analysis.populations["dlt_evaluable"].subject_ids},
        "crs": {
            (s,)
            for s, crs in zip(
                analysis.datasets["crs_icans_by_subject"].table["subject_id"],
                analysis.datasets["crs_icans_by_subject"].table["crs_any"],
                strict=True,
            )
            if crs
        },
    }


def test_a_later_cutoff_keeps_every_earlier_event(example_sqlite_template: Path, analysis: Analysis) -> None:
    early = analyse(read_snapshot(f"sqlite:///{example_sqlite_template}", EARLY))
    assert early.populations["safety"].subject_ids == tuple(f"CT-00{i}" for i in range(1, 8))
    follow_early = early.datasets["populations"].table.set_index("subject_id")["follow_up_days"]
    follow_late = analysis.datasets["populations"].table.set_index("subject_id")["follow_up_days"]
    assert (follow_early["CT-001"], follow_late["CT-001"]) == (162, 327)
    assert analysis.populations["safety"].n == 12
    before, after = _events(early), _events(analysis)
    for name, counted in before.items():
        assert counted <= after[name], name
    for sid in early.populations["safety"].subject_ids:
        assert follow_early[sid] <= follow_late[sid]
    assert CUTOFF > EARLY
