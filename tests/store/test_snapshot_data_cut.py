"""A data cut shows nothing from after the cut-off (D-19.85): a record that started on or before the cut-off
but ended after it is, in the snapshot, ongoing at the cut-off — its end date blank, and what only its end
told (an adverse event's outcome, the death of a grade 5 event) not known yet. The snapshot dropped only
records STARTED after the cut-off, so the later end date and the outcome ``recovered`` reached the analysis's
TEAE listing, SDTM AE (AEENDTC/AEENDY, AEENRTPT blank, AEOUT RECOVERED/RESOLVED) and the DLT durations."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from tests.conftest import property_examples

CUT = dt.date(2021, 8, 1)
"""Inside CT-004's "White blood cell decreased" (2021-07-13 to 2021-09-11, outcome recovered)."""
SUBJECT, TERM = "CT-004", "White blood cell decreased"


def _ae(snapshot, subject: str = SUBJECT, term: str = TERM):  # type: ignore[no-untyped-def]
    ae = snapshot.tables["adverse_events"]
    rows = ae[(ae["subject_id"] == subject) & (ae["term"] == term)]
    assert len(rows) == 1
    return rows.iloc[0]


def _edit(url: str, model, values: dict, **where) -> None:  # type: ignore[no-untyped-def]
    from cartrial.store import connect

    engine = connect(url)
    with engine.begin() as connection:
        statement = update(model).values(**values)
        for name, value in where.items():
            statement = statement.where(getattr(model, name) == value)
        assert connection.execute(statement).rowcount >= 1
    engine.dispose()


def test_an_event_ending_after_the_cutoff_is_ongoing_at_the_cutoff(example_sqlite: str) -> None:
    from cartrial.store.snapshot import read_snapshot

    snapshot = read_snapshot(example_sqlite, CUT)
    row = _ae(snapshot)
    assert row["ended_on"] == "" and row["outcome"] == "not_recovered"
    assert row["grade"] == "4"  # the grade recorded while it was open is kept
    assert snapshot.ended_after_cutoff.get("adverse_events", 0) >= 1
    assert snapshot.metadata()["records_ended_after_cutoff"]["adverse_events"] >= 1
    # an event that ended on or before the cut-off keeps its end and outcome
    ended = _ae(snapshot, "CT-004", "Cytokine release syndrome")
    assert ended["ended_on"] == "2021-07-17" and ended["outcome"] == "recovered"
    # at a later cut-off the same event has ended
    later = _ae(read_snapshot(example_sqlite, dt.date(2021, 9, 11)))
    assert later["ended_on"] == "2021-09-11" and later["outcome"] == "recovered"


def test_analysis_and_sdtm_see_the_event_ongoing_at_the_cutoff(example_sqlite: str) -> None:
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all
    from cartrial.store.snapshot import read_snapshot

    snapshot = read_snapshot(example_sqlite, CUT)
    analysis = analyse(snapshot)
    listing = analysis.datasets["teae_listing"].table
    row = listing[(listing["subject_id"] == SUBJECT) & (listing["term"] == TERM)].iloc[0]
    assert row["ended_on"] == "" and row["outcome"] == "not_recovered"
    assert "ended after the cut-off" in analysis.findings[0].statement
    ae = build_all(snapshot, analysis, {"TJH": "China"})["AE"]
    rec = ae[ae["USUBJID"].str.endswith(SUBJECT) & (ae["AETERM"].str.upper() == TERM.upper())].iloc[0]
    assert rec["AEENDTC"] == "" and rec["AEENRTPT"] == "ONGOING" and rec["AEENTPT"] == CUT.isoformat()
    assert rec["AEOUT"] == "NOT RECOVERED/NOT RESOLVED"
    assert pd.isna(rec["AEENDY"])


def test_a_fatal_event_ending_after_the_cutoff_is_not_a_death_at_the_cutoff(example_sqlite: str) -> None:
    from cartrial.analysis.populations import death_dates
    from cartrial.store.models import AdverseEvent
    from cartrial.store.snapshot import read_snapshot

    _edit(
        example_sqlite,
        AdverseEvent,
        {"grade": 5, "outcome": "fatal"},
        subject_id=SUBJECT,
        term=TERM,
    )
    snapshot = read_snapshot(example_sqlite, CUT)
    row = _ae(snapshot)
    assert row["ended_on"] == "" and row["outcome"] == "not_recovered" and row["grade"] == ""
    assert SUBJECT not in death_dates(snapshot.tables["adverse_events"], CUT)
    later = read_snapshot(example_sqlite, dt.date(2021, 9, 30))
    assert death_dates(later.tables["adverse_events"], later.cutoff)[SUBJECT] == dt.date(2021, 9, 11)


def test_a_death_category_event_ending_after_the_cutoff_is_no_death_at_it(example_sqlite: str) -> None:
    """D-19.117: the category ``death`` also says the event is fatal (`cartrial.protocol.death.is_fatal`),
    and it was kept at a cut-off before the event's end, where the end date is blanked: the death was then
    dated at the onset (D-19.83: no end, the onset) — CT-004 dead on 2021-07-13, before the cut-off, though
    alive at it (death on 2021-09-11). The category is known only at the end, like grade 5 and outcome fatal:
    blank at the cut-off; the export still validates."""
    from cartrial.analysis import analyse
    from cartrial.analysis.populations import death_dates
    from cartrial.cdisc.export import build_all, validate_all
    from cartrial.store.models import AdverseEvent
    from cartrial.store.snapshot import read_snapshot

    _edit(
        example_sqlite,
        AdverseEvent,
        {"category": "death", "grade": 5, "outcome": "fatal"},
        subject_id=SUBJECT,
        term=TERM,
    )
    snapshot = read_snapshot(example_sqlite, CUT)
    row = _ae(snapshot)
    assert row["ended_on"] == "" and row["category"] != "death"
    assert SUBJECT not in death_dates(snapshot.tables["adverse_events"], CUT)
    analysis = analyse(snapshot)
    member = analysis.datasets["populations"].table.set_index("subject_id").loc[SUBJECT]
    assert member["follow_up_days"] == (CUT - dt.date(2021, 7, 13)).days == 19
    assert member["study_status"] == "ONGOING"
    frames = build_all(snapshot, analysis, {"TJH": "China"})
    assert all(v == [] for v in validate_all(frames).values())
    dm = frames["DM"].set_index("SUBJID")
    assert dm.loc[SUBJECT, "DTHFL"] == ""
    later = read_snapshot(example_sqlite, dt.date(2021, 9, 30))
    assert _ae(later)["category"] == "death"
    assert death_dates(later.tables["adverse_events"], later.cutoff)[SUBJECT] == dt.date(2021, 9, 11)


def test_a_therapy_stopped_after_the_cutoff_is_ongoing(example_sqlite: str) -> None:
    from cartrial.store.models import Therapy
    from cartrial.store.snapshot import read_snapshot

    _edit(
        example_sqlite,
        Therapy,
        {"stopped_at": dt.datetime(2021, 8, 5, 9, 0, tzinfo=dt.UTC)},
        subject_id=SUBJECT,
    )
    therapies = read_snapshot(example_sqlite, CUT).tables["therapies"]
    mine = therapies[therapies["subject_id"] == SUBJECT]
    assert len(mine) and set(mine["stopped_at"]) == {""}
    kept = read_snapshot(example_sqlite, dt.date(2021, 8, 5)).tables["therapies"]
    assert set(kept[kept["subject_id"] == SUBJECT]["stopped_at"]) == {"2021-08-05T09:00:00Z"}


@settings(
    max_examples=property_examples(10),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(offset=st.integers(min_value=-35, max_value=250))
def test_no_end_after_the_cutoff_and_earlier_ends_unchanged(example_sqlite_template, offset: int) -> None:  # type: ignore[no-untyped-def]
    """For any cut-off, no snapshot end date is after it, and every record whose end is on or before it is
    exactly as stored (read at a cut-off after every record)."""
    from cartrial.store.snapshot import read_snapshot

    url = f"sqlite:///{example_sqlite_template}"
    cut = dt.date(2021, 6, 1) + dt.timedelta(days=offset)  # after the first infusion (2021-04-27)
    snapshot = read_snapshot(url, cut)
    later = read_snapshot(url, dt.date(2025, 1, 1))  # after the example's last record (2024-03-15)
    everything = later.tables["adverse_events"].set_index("record_id")
    ae = snapshot.tables["adverse_events"]
    assert all(e == "" or e[:10] <= cut.isoformat() for e in ae["ended_on"])
    for _, row in ae.iterrows():
        full = everything.loc[row["record_id"]]
        if full["ended_on"] == "" or full["ended_on"] <= cut.isoformat():
            assert list(row.drop("record_id")) == list(full)


def test_a_study_that_ended_after_the_cutoff_was_ongoing_at_it(example_sqlite: str) -> None:
    """A subject's end of study dated after the cut-off is not known at it: disposition and date blank, the
    subject on study (D-19.92); at a cut-off after the date the end is read with its date."""
    from cartrial.analysis.core import study_populations
    from cartrial.store import models
    from cartrial.store.snapshot import read_snapshot

    _edit(
        example_sqlite,
        models.Subject,
        {"disposition": "withdrawn: moved abroad", "disposition_date": dt.date(2021, 9, 1)},
        subject_id=SUBJECT,
    )
    snapshot = read_snapshot(example_sqlite, CUT)
    subject = snapshot.tables["subjects"].set_index("subject_id").loc[SUBJECT]
    assert (subject["disposition"], subject["disposition_date"]) == ("", "")
    assert snapshot.ended_after_cutoff.get("subjects") == 1
    row = study_populations(snapshot.tables, snapshot.protocol, CUT).membership.set_index("subject_id")
    assert row.loc[SUBJECT, "study_status"] == "ONGOING"
    later = read_snapshot(example_sqlite, dt.date(2021, 12, 31))
    row = study_populations(later.tables, later.protocol, later.cutoff).membership.set_index("subject_id")
    assert row.loc[SUBJECT, ["study_status", "discontinuation_reason", "end_of_study_date"]].tolist() == [
        "DISCONTINUED",
        "WITHDRAWAL BY SUBJECT",
        "2021-09-01",
    ]
    infused = dt.date(2021, 7, 13)  # CT-004's infusion day
    assert row.loc[SUBJECT, "follow_up_days"] == (dt.date(2021, 9, 1) - infused).days
