"""`derive_disability` never drops a subject silently (D-19.685) and reads every onset of an attack
(D-19.686).

A scored EDSS form from `derive_edss(..., keep_going=True)` has a blank ``edss`` in each bad row. The
subject of such a row vanished from the disability table (no row, no note), shrinking the denominator of
the confirmed worsening/improvement summaries; a subject with EDSS visits but no infusion vanished too.
Expected values by hand from docs/science/neuro-outcomes.md §5 (NMOSD-trial thresholds, 84-day
confirmation): from a baseline of 2.0 an EDSS of 5.0 is a worsening (>= 1.0), unconfirmed without a visit
84 days later.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from cartrial.errors import InputError
from cartrial.neuro.derive import derive_disability, derive_edss
from cartrial.neuro.relapses import Phenotype, RelapseEpisode

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


def test_a_merged_attacks_later_onset_also_excludes_a_confirmation_visit() -> None:
    """§4.2: episodes < 30 days apart are one attack; §5 (D-19.686): a visit within
    ``relapse_exclusion_days`` (30) after any onset of an attack — its later, merged worsening included —
    neither confirms nor refutes. Baseline 3.0 (day 0), 4.5 on day 30 (onset: >= 1.0 from 3.0, NMOSD-trial
    thresholds); episodes on days 100 and 125 (one attack, first onset day 100). Day 140 is 15 days after
    the day-125 episode: it does not confirm, and with no later visit the worsening is unconfirmed. With a
    visit on day 200 it is confirmed there, relapse-associated."""
    day0 = date(2021, 1, 1)
    myelitis = frozenset({Phenotype.MYELITIS})
    episodes = [
        RelapseEpisode("S1", day0 + timedelta(days=100), myelitis),
        RelapseEpisode("S1", day0 + timedelta(days=125), myelitis),
    ]

    def row(visits: dict[int, float]) -> pd.Series:
        edss = pd.DataFrame(
            {
                "subject_id": ["S1"] * len(visits),
                "assessed_at": [(day0 + timedelta(days=d)).isoformat() for d in visits],
                "edss": list(visits.values()),
            }
        )
        return derive_disability(edss, {"S1": day0}, relapses=episodes).table.iloc[0]

    short = row({0: 3.0, 30: 4.5, 140: 4.5})
    assert not short["worsening_confirmed"]
    assert short["worsening_unconfirmed"]
    longer = row({0: 3.0, 30: 4.5, 140: 4.5, 200: 4.5})
    assert longer["worsening_confirmed"]
    assert longer["worsening_relapse_associated"]


def _unscored(rows: list[tuple[str, str, int, int]]) -> object:
    return derive_edss(_form(rows), keep_going=True)


def test_an_unscored_visit_between_onset_and_confirmation_blocks_it() -> None:
    """§5: a worsening is confirmed only "with the increase maintained at every intermediate visit". From a
    baseline of 2.0 (day 0), 5.0 on day 31 is the onset (>= 1.0, NMOSD-trial thresholds) and 5.0 on day 134
    is >= 84 days later; the visit of day 59 has no score, so the increase is not shown to be held there:
    not confirmed, unconfirmed with the reason in the row and the note saying what it affected."""
    scored = _unscored(
        [
            ("S1", "2021-01-01", 2, 0),  # day 0: 2.0
            ("S1", "2021-02-01", 2, 3),  # day 31: 5.0
            ("S1", "2021-03-01", 9, 0),  # day 59: unscored
            ("S1", "2021-05-15", 2, 3),  # day 134: 5.0
        ]
    )
    result = derive_disability(scored, {"S1": date(2021, 1, 1)})  # type: ignore[arg-type]
    row = result.table.iloc[0]
    assert row["baseline_edss"] == 2.0
    assert not row["worsening_confirmed"]
    assert row["worsening_unconfirmed"]
    assert "without a score" in row["reason"] and "worsening" in row["reason"]
    assert any("S1" in n and "worsening" in n for n in result.notes)


def test_an_unscored_day_0_visit_leaves_no_baseline() -> None:
    """The baseline is the last visit on or before day 0 (D-19.187); when that visit has no score the
    baseline is not known and an earlier (screening) visit does not silently take its place."""
    scored = _unscored(
        [
            ("S1", "2020-10-03", 2, 0),  # day -90: 2.0 (screening)
            ("S1", "2021-01-01", 9, 0),  # day 0: unscored
            ("S1", "2021-02-01", 2, 3),  # day 31: 5.0
            ("S1", "2021-06-01", 2, 3),  # day 151: 5.0
        ]
    )
    result = derive_disability(scored, {"S1": date(2021, 1, 1)})  # type: ignore[arg-type]
    row = result.table.iloc[0]
    assert pd.isna(row["baseline_edss"])
    assert not row["improvement_evaluable"]
    # not evaluable for worsening: blank, not False (D-19.1189; was `not ...`, changed by design)
    assert pd.isna(row["worsening_confirmed"]) and pd.isna(row["worsening_unconfirmed"])
    assert "baseline" in row["reason"] and "without a score" in row["reason"]
    assert any("S1" in n and "baseline" in n for n in result.notes)


def test_a_subject_with_every_visit_unscored_keeps_a_row() -> None:
    scored = _unscored([("S1", "2021-01-01", 9, 0), ("S1", "2021-06-01", 9, 0), ("S2", "2021-01-01", 2, 0)])
    result = derive_disability(scored, {"S1": date(2021, 1, 1), "S2": date(2021, 1, 1)})  # type: ignore[arg-type]
    row = result.table.set_index("subject_id").loc["S1"]
    assert pd.isna(row["baseline_edss"]) and pd.isna(row["last_edss"])
    # not evaluable for worsening: blank, not False (D-19.1189; changed by design)
    assert not row["improvement_evaluable"] and pd.isna(row["worsening_confirmed"])
    assert any("S1" in n and "2 EDSS visits" in n for n in result.notes)


@pytest.mark.parametrize("value", ["", "abc", "3.7"])
def test_a_plain_table_with_an_unreadable_score_is_refused(value: str) -> None:
    """A scored table without an ``error`` column (not a keep-going `derive_edss` result) has no errors
    to point to: a blank or unreadable ``edss`` is the user's bad input, refused with its row, field and
    value and what is allowed (never silently "unscored")."""
    edss = pd.DataFrame(
        {"subject_id": ["S1", "S1"], "assessed_at": ["2021-01-01", "2021-06-01"], "edss": ["2.0", value]}
    )
    with pytest.raises(InputError) as caught:
        derive_disability(edss, {"S1": date(2021, 1, 1)})
    text = str(caught.value)
    assert "row 3" in text and "edss" in text and "0, 1.0, 1.5" in text
    if value:
        assert value in text
