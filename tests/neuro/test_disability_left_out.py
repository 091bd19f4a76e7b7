"""`derive_disability` never drops a subject silently (D-19.685).

A scored EDSS form from `derive_edss(..., keep_going=True)` has a blank ``edss`` in each bad row. The
subject of such a row vanished from the disability table (no row, no note), shrinking the denominator of
the confirmed worsening/improvement summaries; a subject with EDSS visits but no infusion vanished too.
Expected values by hand from docs/science/neuro-outcomes.md §5 (NMOSD-trial thresholds, 84-day
confirmation): from a baseline of 2.0 an EDSS of 5.0 is a worsening (>= 1.0), unconfirmed without a visit
84 days later.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from cartrial.neuro.derive import derive_disability, derive_edss

FS = ("visual", "brainstem", "pyramidal", "cerebellar", "sensory", "bowel_bladder", "cerebral")


def _form(rows: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    """(subject, date, pyramidal, ambulation) rows, every other FS 0: pyramidal 2 with ambulation 0 is
    EDSS 2.0, ambulation 3 is 5.0 (§1.6, §1.8); pyramidal 9 is out of range (an unscored row)."""
    data: dict[str, list[object]] = {"subject_id": [r[0] for r in rows], "assessed_at": [r[1] for r in rows]}
    for name in FS:
        data[name] = [r[2] if name == "pyramidal" else 0 for r in rows]
    data["ambulation"] = [r[3] for r in rows]
    return pd.DataFrame(data)


def test_subject_with_an_unscored_visit_keeps_its_row_and_is_named() -> None:
    form = _form(
        [
            ("S1", "2021-01-01", 2, 0),
            ("S1", "2021-02-01", 9, 0),  # bad: no EDSS
            ("S1", "2021-06-01", 2, 3),
            ("S2", "2021-01-01", 2, 0),
            ("S2", "2021-06-01", 2, 3),
        ]
    )
    scored = derive_edss(form, keep_going=True)
    assert scored.table["edss"].isna().tolist() == [False, True, False, False, False]
    result = derive_disability(scored, {"S1": date(2021, 1, 1), "S2": date(2021, 1, 1)})
    table = result.table.set_index("subject_id")
    assert sorted(table.index) == ["S1", "S2"]
    assert table.loc["S1", "baseline_edss"] == 2.0
    assert table.loc["S1", "last_edss"] == 5.0
    assert not table.loc["S1", "worsening_confirmed"]
    assert table.loc["S1", "worsening_unconfirmed"]
    assert any("S1" in note and "1 EDSS visit" in note for note in result.notes)


def test_subject_without_an_infusion_is_named() -> None:
    form = _form([("S1", "2021-01-01", 2, 0), ("S3", "2021-01-01", 2, 0), ("S3", "2021-06-01", 2, 3)])
    result = derive_disability(derive_edss(form), {"S1": date(2021, 1, 1)})
    assert result.table["subject_id"].tolist() == ["S1"]
    assert any("S3" in note and "no infusion" in note for note in result.notes)
