"""The review of D-19.926/927 (items 1, 3-6): an adverse event that ends after the cut-off is read as ongoing
by `analyse` as `read_snapshot` reads it, never refused (D-19.928); a refused row of a table without
``record_id`` is named by the index of the frame the user gave (D-19.929); a long refusal ends with its own
tail (D-19.930); `study_populations` reads its tables at its cut-off by the same rule (D-19.931); a term's
display spelling on a tie is not the all-capitals one (D-19.933).

Hand counts from the example study (tests/analysis/conftest.py, cut-off 2022-03-20):
- infusions.csv: CT-001 infused 2021-04-27 (02:00Z, 10:00 in Wuhan); its follow-up to the cut-off is
  2022-03-20 - 2021-04-27 = 4 + 31 + 30 + 31 + 31 + 30 + 31 + 30 + 31 + 31 + 28 + 20 = 328 days by the
  calendar, i.e. 327 days after the infusion day as the populations count it (day 0 is the infusion);
- adverse_events.csv: the one serious TEAE and the one infection of grade >= 3 are CT-006's (the
  pneumonia), so a fatal grade 5 sepsis of CT-001 that ends after the cut-off (2022-04-02) leaves both
  at 1 of 12 (CT-006): at the cut-off it is ongoing, its grade, death and seriousness-by-death not yet known;
- infusions.csv: 7 subjects (CT-001 to CT-007) infused on or before 2021-10-06, 12 by 2022-03-20.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from cartrial.analysis import analyse, study_populations
from cartrial.analysis.core import refuse_records_after_cutoff
from cartrial.errors import InputError
from cartrial.store.snapshot import StudySnapshot, read_snapshot

from .conftest import rows

SEPSIS = {
    "subject_id": "CT-001",
    "term": "Sepsis",
    "category": "infection",
    "started_on": "2022-03-10",
    "ended_on": "2022-04-02",
    "grade": "5",
    "outcome": "fatal",
    "serious": "true",
    "serious_death": "true",
    "relatedness": "probable",
    "record_id": "99997",
}


def _with_rows(snapshot: StudySnapshot, table: str, *added: dict[str, str]) -> StudySnapshot:
    frame = snapshot.tables[table]
    template = frame.iloc[0].to_dict()
    new = pd.DataFrame([template | values for values in added])
    tables = dict(snapshot.tables) | {table: pd.concat([frame, new], ignore_index=True)}
    return dataclasses.replace(snapshot, tables=tables)


def _measure(analysis: object, measure: str) -> tuple[int, int, str]:
    table = analysis.datasets["teae_summary"].table  # type: ignore[attr-defined]
    row = table[(table["group"] == "all") & (table["measure"] == measure)].iloc[0]
    return int(row["k"]), int(row["n"]), str(row["subjects"])


def test_an_event_ending_after_the_cutoff_is_read_as_ongoing_not_refused(snapshot: StudySnapshot) -> None:
    """The review's reproduction: refused (InputError) before; now as read_snapshot would read it."""
    result = analyse(_with_rows(snapshot, "adverse_events", SEPSIS))
    members = result.datasets["populations"].table.set_index("subject_id")
    assert int(members.loc["CT-001", "follow_up_days"]) == 327  # alive at the cut-off: no death by it
    assert _measure(result, "serious_teae") == (1, 12, "CT-006")
    assert _measure(result, "infection_grade_ge3") == (1, 12, "CT-006")
    listing = result.datasets["teae_listing"].table
    sepsis = listing[listing["record_id"] == "99997"].iloc[0]
    assert (sepsis["ended_on"], sepsis["grade"], sepsis["outcome"]) == ("", "", "not_recovered")
    assert (sepsis["serious"], sepsis["serious_death"]) == ("", "")
    assert result.snapshot["records_ended_after_cutoff"] == {"adverse_events": 1}
    assert result.snapshot["records_ended_after_cutoff_read_as_ongoing_by_the_analysis"] == {
        "adverse_events": 1
    }
    assert "1 record ended after the cut-off read as ongoing" in result.findings[0].statement


def test_a_row_without_record_id_is_named_by_its_position_in_the_users_frame(snapshot: StudySnapshot) -> None:
    """Before: the row number of the sorted frame (row=i+2), then dropped by `analyse` (D-19.542): the
    location was ``adverse_events, started_on`` for every such row, the rows indistinguishable. Never the
    index label, which a caller may set to a record value (D-12.2)."""
    frame = snapshot.tables["adverse_events"].drop(columns=["record_id"]).iloc[::-1]  # the user's order
    late = frame.iloc[[0, 1]].assign(started_on=["2022-03-25", "2022-03-26"], ended_on="")
    late.index = pd.Index(["CT-001 sepsis", "CT-002 sepsis"])  # an index of record values
    tables = dict(snapshot.tables) | {"adverse_events": pd.concat([late, frame])}
    with pytest.raises(InputError) as error:
        analyse(dataclasses.replace(snapshot, tables=tables))
    assert sorted(p.location() for p in error.value.problems) == [
        "adverse_events, row 1 of the given table (1 = its first row), started_on",
        "adverse_events, row 2 of the given table (1 = its first row), started_on",
    ]
    assert "2022-03-25" not in str(error.value)  # never the value (D-12.2)
    assert "sepsis" not in str(error.value)  # nor the index label


def test_a_long_refusal_ends_with_a_count_per_table_and_column() -> None:
    """Before: the tail of `bounded`, "and 3 more stored value(s) no reader reads"."""
    from cartrial.store.tamper import MAX_FINDINGS

    n = MAX_FINDINGS + 3
    frame = pd.DataFrame(
        {
            "subject_id": ["S1"] * n,
            "started_on": ["2021-09-01"] * n,
            "ended_on": [""] * n,
            "record_id": [str(i + 1) for i in range(n)],
        }
    )
    with pytest.raises(InputError) as error:
        refuse_records_after_cutoff({"adverse_events": frame}, dt.date(2021, 8, 1))
    problems = error.value.problems
    assert len(problems) == MAX_FINDINGS + 1
    assert (
        problems[-1].message == "and 3 more records dated after the data cut-off: adverse_events.started_on 3"
    )


def test_study_populations_reads_its_tables_at_its_cutoff(
    snapshot: StudySnapshot, example_sqlite_template: object
) -> None:
    """Before: safety 12 (every infused subject of the 2022-03-20 tables) at the cut-off 2021-10-06."""
    infused = {r["subject_id"] for r in rows("infusions") if r["infused_at"][:10] <= "2021-10-06"}
    assert len(infused) == 7  # CT-001 to CT-007, by hand from infusions.csv
    earlier = dt.date(2021, 10, 6)
    with pytest.raises(InputError) as error:
        study_populations(snapshot.tables, snapshot.protocol, earlier, time_zones=snapshot.time_zones)
    assert any(p.location().startswith("infusions, infusion record ") for p in error.value.problems)
    # the escalation page's re-read of one snapshot as of a site's own today: taken as given (D-19.931)
    given = study_populations(
        snapshot.tables,
        snapshot.protocol,
        earlier,
        time_zones=snapshot.time_zones,
        as_of_day_of_snapshot_read_later=True,
    )
    assert given.populations["safety"].n == 12
    # read at that cut-off (records after it left out), the same tables give the 7
    read = read_snapshot(f"sqlite:///{example_sqlite_template}", earlier)
    at = study_populations(read.tables, read.protocol, earlier, time_zones=read.time_zones)
    assert set(at.populations["safety"].subject_ids) == infused


def test_a_tie_of_spellings_shows_the_one_not_in_capitals(snapshot: StudySnapshot) -> None:
    """Before: `min()` by code points, "HICCUPS" (H-I-C < H-i-c)."""
    base = {"category": "non_hematologic", "ended_on": "", "grade": "1", "serious": "false"}
    added = _with_rows(
        snapshot,
        "adverse_events",
        base | {"subject_id": "CT-001", "term": "HICCUPS", "started_on": "2021-06-01", "record_id": "99010"},
        base | {"subject_id": "CT-002", "term": "Hiccups", "started_on": "2021-06-20", "record_id": "99011"},
    )
    by_term = analyse(added).datasets["teae_by_term"].table
    (row,) = by_term[by_term["term"].str.lower() == "hiccups"].to_dict("records")
    assert (row["term"], row["n_subjects"], row["n_events"]) == ("Hiccups", 2, 2)
