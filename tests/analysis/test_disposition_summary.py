"""D-19.129: the analysis had the populations per subject (study status, discontinuation reason) but no
disposition table (ICH E3 §10.1): how many subjects were enrolled, lymphodepleted, infused, DLT-evaluable,
on study, completed, discontinued and why, and died, per dose level and overall. `disposition_summary`
counts them from the populations dataset, every protocol dose level listed.

Every expected number below is counted by hand from the example study (examples/ct103a-nmosd/study:
CT-001..003 infused at dose level 1, CT-004..012 at dose level 2, every subject lymphodepleted, none with a
disposition) and the changes each test makes."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis import analyse
from cartrial.analysis.disposition import MEASURES, disposition_summary
from cartrial.store.snapshot import StudySnapshot, read_snapshot

from .test_disposition import LAST_SEEN, _left_on_day_5
from .test_not_infused_adverse_events import CONSENT_ONLY, LD_ONLY, with_ld_only_subject


def _counts(table: pd.DataFrame, group: str) -> dict[str, tuple[int, int, float | None]]:
    part = table[table["group"] == group]
    return {
        str(r.measure): (
            int(r.n),
            int(r.n_enrolled),
            None if pd.isna(r.percent_of_enrolled) else float(r.percent_of_enrolled),
        )
        for r in part.itertuples()
    }


def _set(subjects: pd.DataFrame, sid: str, disposition: str, date: str) -> None:
    subjects.loc[subjects["subject_id"] == sid, "disposition"] = disposition
    subjects.loc[subjects["subject_id"] == sid, "disposition_date"] = date


def _fatal_event(sid: str, day: str, columns: pd.Index) -> dict[str, str]:
    row = dict.fromkeys(columns, "")
    return row | {
        "subject_id": sid,
        "term": "Death NOS",
        "category": "death",
        "started_on": day,
        "ended_on": day,
        "grade": "5",
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "serious": "true",
        "relatedness": "unrelated",
        "dlt": "false",
        "outcome": "fatal",
        "record_id": "990101",
    }


@pytest.fixture(scope="module")
def summary(snapshot: StudySnapshot) -> pd.DataFrame:
    """The example with: CT-003 (level 1) withdrawn on day 5 (2021-06-13, its later contacts removed);
    CT-005 (level 2) lost on 2022-01-10; CT-007 (level 2) completed on 2022-03-01; CT-008 (level 2) dead by
    the subjects form on 2022-02-01 (no fatal adverse event); CT-009 (level 2) completed on 2022-02-15 and
    dead of an adverse event on 2022-03-01; CT-098 lymphodepleted, not infused; CT-099 consented only."""
    base = with_ld_only_subject(snapshot)
    tables = _left_on_day_5(base, "withdrawn", LAST_SEEN.isoformat())
    subjects = tables["subjects"].copy()
    _set(subjects, "CT-005", "lost", "2022-01-10")
    _set(subjects, "CT-007", "completed", "2022-03-01")
    _set(subjects, "CT-008", "death", "2022-02-01")
    _set(subjects, "CT-009", "completed", "2022-02-15")
    tables["subjects"] = subjects
    events = tables["adverse_events"]
    tables["adverse_events"] = pd.concat(
        [events, pd.DataFrame([_fatal_event("CT-009", "2022-03-01", events.columns)])], ignore_index=True
    )
    analysis = analyse(dataclasses.replace(base, tables=tables))
    return analysis.datasets["disposition_summary"].table


def test_overall_disposition_counted_by_hand(summary: pd.DataFrame) -> None:
    counts = _counts(summary, "all")
    assert counts == {
        "enrolled": (14, 14, 100.0),
        "lymphodepleted": (13, 14, 92.9),  # 12 infused + CT-098
        "infused": (12, 14, 85.7),
        "lymphodepleted_not_infused": (1, 14, 7.1),  # CT-098
        "not_treated": (1, 14, 7.1),  # CT-099
        "dlt_evaluable": (11, 14, 78.6),  # CT-003 left on day 5 without a DLT
        "ongoing": (9, 14, 64.3),  # CT-001, 002, 004, 006, 010, 011, 012, 098, 099
        "completed": (2, 14, 14.3),  # CT-007, CT-009
        "discontinued": (3, 14, 21.4),  # CT-003, CT-005, CT-008
        "discontinued_withdrawal": (1, 14, 7.1),
        "discontinued_lost": (1, 14, 7.1),
        "discontinued_death": (1, 14, 7.1),
        "discontinued_other": (0, 14, 0.0),
        "deaths": (2, 14, 14.3),  # CT-008 (form) and CT-009 (after completing)
    }


def test_disposition_by_dose_level_counted_by_hand(summary: pd.DataFrame) -> None:
    """A dose level shows no "not infused" rows, which could only read 0 there (D-19.266)."""
    assert list(dict.fromkeys(summary["group"])) == ["dose level 1", "dose level 2", "not infused", "all"]
    one, two = _counts(summary, "dose level 1"), _counts(summary, "dose level 2")
    assert {k: v[0] for k, v in one.items()} == {
        "enrolled": 3,
        "lymphodepleted": 3,
        "infused": 3,
        "dlt_evaluable": 2,
        "ongoing": 2,
        "completed": 0,
        "discontinued": 1,
        "discontinued_withdrawal": 1,
        "discontinued_lost": 0,
        "discontinued_death": 0,
        "discontinued_other": 0,
        "deaths": 0,
    }
    assert one["discontinued"] == (1, 3, 33.3)
    assert {k: v[0] for k, v in two.items()} == {
        "enrolled": 9,
        "lymphodepleted": 9,
        "infused": 9,
        "dlt_evaluable": 9,
        "ongoing": 5,
        "completed": 2,
        "discontinued": 2,
        "discontinued_withdrawal": 0,
        "discontinued_lost": 1,
        "discontinued_death": 1,
        "discontinued_other": 0,
        "deaths": 2,
    }
    assert two["deaths"] == (2, 9, 22.2)
    listed = summary.set_index(["group", "measure"])["subjects"]
    for group in ("not infused", "all"):
        assert listed[(group, "lymphodepleted_not_infused")] == LD_ONLY
        assert listed[(group, "not_treated")] == CONSENT_ONLY
    assert listed[("all", "deaths")] == "CT-008;CT-009"


def test_the_patients_not_infused_have_a_group(summary: pd.DataFrame) -> None:
    """CT-098 (lymphodepleted) and CT-099 (consented only), both ongoing: counted where a reader looks for
    them, with no infused or DLT-evaluable row (D-19.266)."""
    counts = _counts(summary, "not infused")
    assert counts == {
        "enrolled": (2, 2, 100.0),
        "lymphodepleted": (1, 2, 50.0),
        "lymphodepleted_not_infused": (1, 2, 50.0),
        "not_treated": (1, 2, 50.0),
        "ongoing": (2, 2, 100.0),
        "completed": (0, 2, 0.0),
        "discontinued": (0, 2, 0.0),
        "discontinued_withdrawal": (0, 2, 0.0),
        "discontinued_lost": (0, 2, 0.0),
        "discontinued_death": (0, 2, 0.0),
        "discontinued_other": (0, 2, 0.0),
        "deaths": (0, 2, 0.0),
    }


def test_an_undosed_protocol_level_is_listed_with_n_0(example_sqlite_template: object) -> None:
    """At 2021-07-10: CT-001..003 infused at level 1; CT-004 consented and lymphodepleted (2021-07-09), its
    infusion on 2021-07-13 after the cut-off; CT-005 consented on 2021-07-08, lymphodepleted on 2021-07-30
    after it; level 2 undosed."""
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2021, 7, 10))
    table = analyse(snapshot).datasets["disposition_summary"].table
    two = _counts(table, "dose level 2")
    assert set(two.values()) == {(0, 0, None)}
    assert _counts(table, "not infused")["enrolled"] == (2, 2, 100.0)  # CT-004, CT-005
    everyone = _counts(table, "all")
    assert everyone["enrolled"] == (5, 5, 100.0)
    assert everyone["lymphodepleted"] == (4, 5, 80.0)
    assert everyone["infused"] == (3, 5, 60.0)
    assert everyone["lymphodepleted_not_infused"] == (1, 5, 20.0)  # CT-004
    assert everyone["not_treated"] == (1, 5, 20.0)  # CT-005
    assert everyone["dlt_evaluable"] == (3, 5, 60.0)  # each infused 28+ days before the cut-off


_STATUS = st.sampled_from(
    [
        ("ONGOING", ""),
        ("", ""),
        ("COMPLETED", ""),
        ("DISCONTINUED", "WITHDRAWAL BY SUBJECT"),
        ("DISCONTINUED", "LOST TO FOLLOW-UP"),
        ("DISCONTINUED", "DEATH"),
    ]
)


@settings(max_examples=property_examples(60), deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([1, 2, 3]), st.booleans(), st.booleans(), _STATUS, st.booleans()),
        max_size=12,
    )
)
def test_the_counts_add_up(subjects: list[tuple[int, bool, bool, tuple[str, str], bool]]) -> None:
    """Whatever the populations: the groups partition the infused subjects, the statuses partition each
    group, the reasons partition the discontinued, the treatment rows partition the enrolled."""
    frame = pd.DataFrame(
        [
            {
                "subject_id": f"S{i:02d}",
                "dose_level": level if infused else None,
                "lymphodepleted": ld,
                "safety": infused,
                "dlt_evaluable": infused and ev,
                "study_status": status,
                "discontinuation_reason": reason,
                "died": reason == "DEATH",
            }
            for i, (level, ld, infused, (status, reason), ev) in enumerate(subjects)
        ],
        columns=[
            "subject_id",
            "dose_level",
            "lymphodepleted",
            "safety",
            "dlt_evaluable",
            "study_status",
            "discontinuation_reason",
            "died",
        ],
    )
    frame["dose_level"] = frame["dose_level"].astype("Int64")
    table = disposition_summary(frame, (1, 2)).table
    groups = list(dict.fromkeys(table["group"]))
    assert groups[:2] == ["dose level 1", "dose level 2"] and groups[-2:] == ["not infused", "all"]
    assert len(table) == len(groups) * len(MEASURES) - 2 * (len(groups) - 1)  # D-19.266: no row always 0
    n = table.set_index(["group", "measure"])["n"].to_dict()
    for group in groups:
        assert (
            n[(group, "ongoing")] + n[(group, "completed")] + n[(group, "discontinued")]
            == n[(group, "enrolled")]
        )
        reasons = ("withdrawal", "lost", "death", "other")
        assert sum(n[(group, f"discontinued_{r}")] for r in reasons) == n[(group, "discontinued")]
        treated = sum(n.get((group, m), 0) for m in ("infused", "lymphodepleted_not_infused", "not_treated"))
        assert treated == n[(group, "enrolled")]
        assert n.get((group, "dlt_evaluable"), 0) <= n.get((group, "infused"), 0)
    assert n[("all", "enrolled")] == len(frame)
    assert sum(n[(g, "enrolled")] for g in groups[:-1]) == len(frame)  # every subject in one group
    assert n[("not infused", "enrolled")] == int((~frame["safety"]).sum())
    assert sum(n[(g, "infused")] for g in groups[:-2]) == n[("all", "infused")] == int(frame["safety"].sum())
