"""The neuro forms' "after the data cut-off" check reads a date-time on the subject's site calendar, the one
cut-off rule of the snapshot (`on_or_before_cutoff`, D-19.729, D-19.732). It compared the UTC date: a New
York EDSS, visual acuity, OSIS or timed walk at 23:00 EDT on the cut-off date (03:00Z the next day), which the
snapshot keeps, made `analyse` refuse the whole snapshot ("after the data cut-off").

Expected values by hand: America/New_York is EDT (UTC-4) on 1-2 August 2021, so 2021-08-02T03:00Z is
2021-08-01 23:00 local (on the cut-off date 2021-08-01) and 2021-08-02T04:30Z is 2021-08-02 00:30 local
(after it); Asia/Shanghai is UTC+8, so 2021-08-01T21:00Z is 2021-08-02 05:00 local (after)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import insert, update

from cartrial.columns import RowProblems
from cartrial.errors import InputError
from cartrial.neuro.tables import (
    parse_edss_table,
    parse_osis_table,
    parse_timed_walk_table,
    parse_va_table,
)

CUT = dt.date(2021, 8, 1)
EVENING = "2021-08-02T03:00:00Z"  # 23:00 EDT on the cut-off date in New York
AFTER_MIDNIGHT = "2021-08-02T04:30:00Z"  # 00:30 EDT on the next day in New York
NY = {"NY": "America/New_York", "WU": "Asia/Shanghai"}


def _edss(subject: str, when: str) -> pd.DataFrame:
    scores = {"visual": "0", "brainstem": "0", "pyramidal": "2", "cerebellar": "0", "sensory": "1"}
    rest = {"bowel_bladder": "0", "cerebral": "0", "ambulation": "0"}
    row = {"subject_id": subject, "assessed_at": when, **scores, **rest}
    return pd.DataFrame([row])


def _va(subject: str, when: str) -> pd.DataFrame:
    return pd.DataFrame([{"subject_id": subject, "assessed_at": when, "eye": "OD", "acuity": "20/20"}])


def _osis(subject: str, when: str) -> pd.DataFrame:
    row = {"subject_id": subject, "assessed_at": when, "visual_od": "0", "visual_os": "0", "motor": "0",
           "sensory": "0", "sphincter": "0"}  # fmt: skip
    return pd.DataFrame([row])


def _walk(subject: str, when: str) -> pd.DataFrame:
    row = {"subject_id": subject, "assessed_at": when, "trial_1_seconds": "5", "trial_2_seconds": "6"}
    return pd.DataFrame([row])


FORMS = [
    (_edss, lambda f, p, **k: parse_edss_table(f, p, **k)),
    (_va, lambda f, p, **k: parse_va_table(f, p, **k)),
    (_osis, lambda f, p, **k: parse_osis_table(f, p, **k)),
    (_walk, lambda f, p, **k: parse_timed_walk_table(f, p, **k)),
]


def _after_cutoff(form, parse, subject: str, when: str, zones) -> bool:  # type: ignore[no-untyped-def]
    problems = RowProblems("form")
    parse(form(subject, when), problems, cutoff=CUT, zones=zones)
    try:
        problems.raise_if_any()
    except InputError as exc:
        assert all("after the data cut-off" in p.message for p in exc.problems), exc
        return True
    return False


@pytest.mark.parametrize(("form", "parse"), FORMS)
def test_the_cut_off_is_read_on_the_site_calendar(form, parse) -> None:  # type: ignore[no-untyped-def]
    assert not _after_cutoff(form, parse, "NY", EVENING, NY)  # 23:00 EDT on 1 August
    assert _after_cutoff(form, parse, "NY", AFTER_MIDNIGHT, NY)  # 00:30 EDT on 2 August
    assert _after_cutoff(form, parse, "WU", "2021-08-01T21:00:00Z", NY)  # 05:00 on 2 August in Wuhan
    # a subject with no zone: the UTC date (as before); a bare date: the date as typed, whatever the zone
    assert _after_cutoff(form, parse, "XX", EVENING, NY)
    assert not _after_cutoff(form, parse, "NY", "2021-08-01", NY)
    assert _after_cutoff(form, parse, "NY", "2021-08-02", NY)


@pytest.mark.slow  # the analysis of the example study (about 5 s)
def test_analyse_keeps_a_new_york_assessment_of_the_cut_off_evening(example_sqlite: str) -> None:
    """CT-003 moved to a New York site; its EDSS 13, both eyes' acuity of that visit, OSIS 13 and timed walk
    6 at 23:00 EDT on the cut-off date; EDSS 14 at 00:30 EDT the next day (left out by the snapshot). Before:
    `analyse` raised "after the data cut-off" for the EDSS record."""
    from cartrial.analysis import analyse
    from cartrial.store import connect
    from cartrial.store.models import EdssAssessment, OsisAssessment, Site, Subject, TimedWalk, VisualAcuity
    from cartrial.store.snapshot import read_snapshot

    evening = dt.datetime(2021, 8, 2, 3, tzinfo=dt.UTC)
    engine = connect(example_sqlite)
    with engine.begin() as c:
        c.execute(
            insert(Site).values(site_id="NYU", name="New York", country="USA", time_zone="America/New_York")
        )
        c.execute(update(Subject).where(Subject.subject_id == "CT-003").values(site_id="NYU"))
        c.execute(update(EdssAssessment).where(EdssAssessment.id == 13).values(assessed_at=evening))
        c.execute(
            update(EdssAssessment)
            .where(EdssAssessment.id == 14)
            .values(assessed_at=dt.datetime(2021, 8, 2, 4, 30, tzinfo=dt.UTC))
        )
        c.execute(update(VisualAcuity).where(VisualAcuity.id.in_([25, 26])).values(assessed_at=evening))
        c.execute(update(OsisAssessment).where(OsisAssessment.id == 13).values(assessed_at=evening))
        c.execute(update(TimedWalk).where(TimedWalk.id == 6).values(assessed_at=evening))
    engine.dispose()
    snapshot = read_snapshot(example_sqlite, CUT)
    edss = snapshot.tables["edss"]
    own = edss[edss["subject_id"] == "CT-003"]
    assert EVENING in set(own["assessed_at"]) and AFTER_MIDNIGHT not in set(own["assessed_at"])
    result = analyse(snapshot)
    scored = result.datasets["edss_scored"].table
    assert EVENING in set(scored.loc[scored["subject_id"] == "CT-003", "assessed_at"])


def test_derive_visual_acuity_reads_the_cut_off_on_the_site_calendar() -> None:
    """`derive_visual_acuity` takes the site zones as `derive_edss` and `derive_osis` do (D-19.732): a New
    York acuity at 03:00Z the day after the cut-off is 23:00 EDT on the cut-off date, accepted; 00:30 EDT on
    the next day is after it."""
    from cartrial.neuro import derive_visual_acuity

    table = derive_visual_acuity(_va("NY", EVENING), cutoff=CUT, zones=NY).table
    assert table["logmar"].tolist() == [0.0]  # 20/20: logMAR 0
    with pytest.raises(InputError, match="after the data cut-off"):
        derive_visual_acuity(_va("NY", AFTER_MIDNIGHT), cutoff=CUT, zones=NY)
    with pytest.raises(InputError, match="after the data cut-off"):  # no zones: the UTC date, as before
        derive_visual_acuity(_va("NY", EVENING), cutoff=CUT)
