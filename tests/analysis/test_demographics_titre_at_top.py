"""The demographics' reciprocal screening titre shows a titre positive at the top dilution as a lower bound
(D-19.632): ">=1:1000" is a titre of at least 1000 (right-censored, `cartrial.neuro.titre_interval`
[1000, ∞)), formerly summarised as exactly 1000 with nothing to say so.

Example study screening titres (src/cartrial/examples/ct103a-nmosd/study/subjects.csv): 1:32 once, 1:100 four
times, 1:320 four times, 1:1000 three times (CT-002 among them); CT-002's set to ">=1:1000". Sorted by hand:
32, 100 ×4, 320 ×4, 1000 ×2, ≥1000: the median (6th and 7th of 12) is 320 and exact; the maximum is ≥1000.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from cartrial.analysis import analyse
from cartrial.store.snapshot import read_snapshot


def test_a_top_titre_is_shown_as_at_least_its_dilution(example_sqlite_template: object) -> None:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", date(2022, 3, 20))
    subjects = snapshot.tables["subjects"].copy()
    at = subjects["subject_id"] == "CT-002"
    assert list(subjects.loc[at, "aqp4_igg_titre"]) == ["1:1000"]
    subjects.loc[at, "aqp4_igg_titre"] = ">=1:1000"
    changed = dataclasses.replace(snapshot, tables={**snapshot.tables, "subjects": subjects})
    table = analyse(changed).datasets["demographics"].table
    row = table[
        (table["characteristic"] == "AQP4-IgG titre at screening, reciprocal dilution")
        & (table["statistic"] == "median (min-max)")
    ]
    assert list(row["all"]) == ["320.0 (32-≥1000)"]
