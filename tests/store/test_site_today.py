"""D-19.613: "after today" is today at the subject's site. DATE-FUTURE (and CONSENT-FUTURE,
END-OF-STUDY-FUTURE) compared a date, and a date-time by its UTC day, with today's UTC date. At 07:00 in
Wuhan (UTC+8) on 7 December 2026 it is 23:00Z on the 6th: an adverse event started on 7 December, typed on
the ward that morning, was queried as after today. At 20:00 in New York (EST, UTC-5) on 6 December it is
01:00Z on the 7th: a date of 7 December, tomorrow at the site, was not queried. Every now here is a fixed
instant."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.columns import after_site_today, site_today
from cartrial.store.edit_checks import Record, SubjectRecords, run_edit_checks
from cartrial.store.importing import import_templates

from .test_death_checks import EXAMPLE_STUDY

WUHAN_7AM_7_DEC = dt.datetime(2026, 12, 6, 23, 0, tzinfo=dt.UTC)  # 07:00 on 7 December in Asia/Shanghai
NEW_YORK_8PM_6_DEC = dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)  # 20:00 EST on 6 December
FUTURE = ("DATE-FUTURE", "CONSENT-FUTURE", "END-OF-STUDY-FUTURE")


def _future(zone: str | None, now: dt.datetime, **dated: object) -> list[tuple[str, str]]:
    """(check, field) of the after-today checks on one new record of each `table.field=value` of `dated`
    (the subject row: `subject.consent_date`) for a subject of a site in `zone`, at the instant `now`."""
    tables: dict[str, list[Record]] = {"subject": [Record("subject", {"subject_id": "S-1"}, False)]}
    for key, value in dated.items():
        table, name = key.split("__")
        if table == "subject":
            tables["subject"] = [Record("subject", {"subject_id": "S-1", name: value}, True)]
        else:
            tables.setdefault(table, []).append(Record(table, {"subject_id": "S-1", name: value}, True))
    found = run_edit_checks([SubjectRecords("S-1", tables, zone)], None, now=now)
    return sorted((f.check.id, f.field) for f in found if f.check.id in FUTURE)


def test_a_wuhan_morning_date_of_the_ward_day_is_not_after_today() -> None:
    """Before: [("DATE-FUTURE", "infused_at"), ("DATE-FUTURE", "started_on")] — 7 December after UTC's 6th;
    the infusion typed as a bare date (00:00Z on the 7th, 08:00 in Wuhan) likewise."""
    assert (
        _future(
            "Asia/Shanghai",
            WUHAN_7AM_7_DEC,
            adverse_event__started_on=dt.date(2026, 12, 7),
            infusion__infused_at=dt.datetime(2026, 12, 7, tzinfo=dt.UTC),
        )
        == []
    )
    # the next ward day is after today there
    assert _future("Asia/Shanghai", WUHAN_7AM_7_DEC, adverse_event__started_on=dt.date(2026, 12, 8)) == [
        ("DATE-FUTURE", "started_on")
    ]


def test_without_a_site_zone_today_stays_the_utc_date() -> None:
    assert _future(None, WUHAN_7AM_7_DEC, adverse_event__started_on=dt.date(2026, 12, 7)) == [
        ("DATE-FUTURE", "started_on")
    ]
    assert _future(None, NEW_YORK_8PM_6_DEC, adverse_event__started_on=dt.date(2026, 12, 7)) == []


def test_a_new_york_evening_date_of_tomorrow_is_after_today() -> None:
    """Before: nothing — 7 December is UTC's today at 01:00Z, but the site is still on the 6th. A lab drawn
    at 01:00 EST on the 7th (06:00Z) is tomorrow at the site too; one at 19:30 EST on the 6th is not."""
    assert _future(
        "America/New_York",
        NEW_YORK_8PM_6_DEC,
        adverse_event__started_on=dt.date(2026, 12, 7),
        subject__consent_date=dt.date(2026, 12, 7),
        lab_result__collected_at=dt.datetime(2026, 12, 7, 6, 0, tzinfo=dt.UTC),
    ) == [("CONSENT-FUTURE", "consent_date"), ("DATE-FUTURE", "collected_at"), ("DATE-FUTURE", "started_on")]
    assert (
        _future(
            "America/New_York",
            NEW_YORK_8PM_6_DEC,
            adverse_event__started_on=dt.date(2026, 12, 6),
            lab_result__collected_at=dt.datetime(2026, 12, 7, 0, 30, tzinfo=dt.UTC),
        )
        == []
    )


def test_new_york_today_after_the_fall_back_is_read_in_standard_time() -> None:
    """Daylight saving ended in New York at 06:00Z on 1 November 2026 (02:00 EDT → 01:00 EST). At 04:30Z
    on 2 November it is 23:30 EST on 1 November (an EDT reading, UTC-4, would say 00:30 on the 2nd):
    2 November is after today there; at 04:30Z on 1 November it is 00:30 EDT on the 1st."""
    after_fall_back = dt.datetime(2026, 11, 2, 4, 30, tzinfo=dt.UTC)
    assert site_today("America/New_York", after_fall_back) == dt.date(2026, 11, 1)
    assert _future("America/New_York", after_fall_back, adverse_event__started_on=dt.date(2026, 11, 2)) == [
        ("DATE-FUTURE", "started_on")
    ]
    before_fall_back = dt.datetime(2026, 11, 1, 4, 30, tzinfo=dt.UTC)
    assert site_today("America/New_York", before_fall_back) == dt.date(2026, 11, 1)
    assert _future("America/New_York", before_fall_back, adverse_event__started_on=dt.date(2026, 11, 1)) == []


def test_an_explicit_today_is_that_day_at_every_site() -> None:
    tables = {
        "subject": [Record("subject", {"subject_id": "S-1"}, False)],
        "adverse_event": [Record("adverse_event", {"started_on": dt.date(2026, 12, 7)}, True)],
    }
    found = run_edit_checks([SubjectRecords("S-1", tables, "Asia/Shanghai")], None, dt.date(2026, 12, 6))
    assert [f.check.id for f in found if f.check.id == "DATE-FUTURE"] == ["DATE-FUTURE"]


@given(
    now=st.datetimes(min_value=dt.datetime(1995, 1, 1), max_value=dt.datetime(2090, 1, 1)),
    back=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=3)),
    zone=st.sampled_from(
        ["Asia/Shanghai", "America/New_York", "Pacific/Kiritimati", "America/Santiago", None]
    ),
)
def test_a_moment_that_has_happened_is_never_after_today(
    now: dt.datetime, back: dt.timedelta, zone: str | None
) -> None:
    """Whatever the site's zone (daylight saving included), a date-time at or before now is not after
    today there — unless it is exactly 00:00:00Z, a date typed without a time, judged by that date (the
    price of D-19.618: a real entry at that instant west of UTC, on the previous site day, may be); in
    Wuhan (UTC+8 all year since 1991) today is the UTC time plus eight hours."""
    instant = now.replace(tzinfo=dt.UTC)
    today = site_today(zone, instant)
    for moment in (instant - back, instant):
        if moment.time() == dt.time(0):
            assert after_site_today(moment, zone, today) == (moment.date() > today)
        else:
            assert not after_site_today(moment, zone, today)
    wuhan = site_today("Asia/Shanghai", instant)
    assert wuhan == (now + dt.timedelta(hours=8)).date()
    assert after_site_today(wuhan + dt.timedelta(days=1), "Asia/Shanghai", wuhan)
    assert not after_site_today(wuhan, "Asia/Shanghai", wuhan)


# --- the import agrees with the single-record path --------------------------------------------------------

LAB_HEADER = "subject_id,collected_at,analyte,value,unit,lln"
AE_HEADER = (
    "subject_id,term,meddra_code,category,started_on,ended_on,grade,grading_scale,grading_scale_version,"
    "serious,serious_death,serious_life_threatening,serious_hospitalisation,serious_disability,"
    "serious_congenital_anomaly,serious_medically_important,relatedness,dlt,action_taken,outcome,pathogen,"
    "infection_site"
)


def _sites(folder: Path, zone: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "sites.csv").write_text(f"site_id,name,country,time_zone\nTJH,Site,China,{zone}\n", "utf-8")


def _example(folder: Path, *names: str) -> None:
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copyfile(EXAMPLE_STUDY / f"{name}.csv", folder / f"{name}.csv")


def _fatal_sepsis_on_1_june_2021(folder: Path) -> None:
    """adverse_events.csv: CT-001 died of sepsis (grade 5, outcome fatal) on 1 June 2021."""
    (folder / "adverse_events.csv").write_text(
        AE_HEADER + "\nCT-001,Sepsis,,infection,2021-06-01,2021-06-01,5,CTCAE,5.0,true,true,,,,,,possible,"
        "false,,fatal,,\n",
        "utf-8",
    )


def _headache_on_7_december(folder: Path) -> None:
    """adverse_events.csv: CT-001, a grade 1 headache started on 7 December 2026."""
    (folder / "adverse_events.csv").write_text(
        AE_HEADER + "\nCT-001,Headache,,non_hematologic,2026-12-07,,1,CTCAE,5.0,false,,,,,,,possible,false,,"
        "recovering,,\n",
        "utf-8",
    )


def _platelets(folder: Path, *subject_and_collected_at: str) -> None:
    """labs.csv in `folder`: a platelet count (100 10^9/L, LLN 125) for each `subject_id,collected_at`."""
    folder.mkdir(exist_ok=True)
    rows = "".join(f"{row},platelets,100,10^9/L,125\n" for row in subject_and_collected_at)
    (folder / "labs.csv").write_text(f"{LAB_HEADER}\n{rows}", "utf-8")


def _after_death(url: str, folder: Path, subject_and_collected_at: str) -> list[tuple[int | None, str]]:
    """(row, field) of RECORD-AFTER-DEATH in a dry-run import of `folder`/labs.csv with one platelet lab
    (`subject_id,collected_at`)."""
    _platelets(folder, subject_and_collected_at)
    planned = import_templates(url, folder, "admin", dry_run=True).edit_checks
    return [(f.record.row, f.field) for f in planned if f.check.id == "RECORD-AFTER-DEATH"]


def _import_at(url: str, folder: Path, now: dt.datetime, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    import cartrial.store.edit_checks as edit_checks

    monkeypatch.setattr(edit_checks, "utc_now", lambda: now)
    planned = import_templates(url, folder, "admin", dry_run=True).edit_checks
    return sorted(
        (Path(f.record.file or "").name, f.record.row, f.field) for f in planned if f.check.id in FUTURE
    )


def test_an_import_at_the_wuhan_site_reads_today_on_its_calendar(
    empty_study_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The example's site TJH is in Asia/Shanghai. At 07:00 on 7 December in Wuhan an adverse event started
    that day is not after today (before: queried); at 18:00 on 7 December (10:00Z) a lab drawn at 01:00 on the
    8th in Wuhan (17:00Z on the 7th, UTC's today) is after today there (before: not queried, the import's
    per-value pre-filter read its UTC day). The single-record path says the same (the tests above)."""
    first = tmp_path / "first"
    _example(first, "sites", "subjects", "infusions")
    import_templates(empty_study_url, first, "admin")
    morning = tmp_path / "morning"
    morning.mkdir()
    _headache_on_7_december(morning)
    _platelets(morning, "CT-001,2026-12-06T22:00:00Z")
    assert _import_at(empty_study_url, morning, WUHAN_7AM_7_DEC, monkeypatch) == []
    evening = tmp_path / "evening"
    _platelets(evening, "CT-001,2026-12-07T17:00:00Z", "CT-001,2026-12-07T15:00:00Z")
    at_six_pm = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
    assert _import_at(empty_study_url, evening, at_six_pm, monkeypatch) == [("labs.csv", 2, "collected_at")]


def test_an_import_finds_a_wuhan_lab_after_the_death_on_the_ward_calendar(
    empty_study_url: str,
    tmp_path: Path,
) -> None:
    """CT-001 (site TJH, Asia/Shanghai) died on 1 June 2021. A lab drawn at 04:00 on 2 June in Wuhan
    (2021-06-01T20:00Z) is after the death on the ward calendar, as a single-record write says
    (`SubjectRecords.day`, D-19.607). Before: the import's pre-filter of the large tables compared it with
    00:00 UTC of 2 June and never looked at it (D-19.617)."""
    first = tmp_path / "first"
    _example(first, "sites", "subjects", "infusions")
    _fatal_sepsis_on_1_june_2021(first)
    import_templates(empty_study_url, first, "admin")
    assert _after_death(empty_study_url, tmp_path / "labs", "CT-001,2021-06-01T20:00:00Z") == [
        (2, "collected_at")
    ]


def test_a_single_record_write_reads_the_same_site_today(
    empty_study_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The web form, the API and `db edit` (`insert_record`) at 07:00 on 7 December in Wuhan: an adverse
    event started that day raises no DATE-FUTURE query (before: raised), one of the 8th does."""
    import cartrial.store.edit_checks as edit_checks
    from cartrial.store import StudyService, connect

    from .test_store_data_quality import system_queries

    first = tmp_path / "first"
    _example(first, "sites", "subjects", "infusions")
    import_templates(empty_study_url, first, "admin")
    monkeypatch.setattr(edit_checks, "utc_now", lambda: WUHAN_7AM_7_DEC)
    service = StudyService(connect(empty_study_url))
    event = {
        "subject_id": "CT-001",
        "term": "Headache",
        "category": "non_hematologic",
        "grade": 1,
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "serious": False,
        "relatedness": "possible",
        "dlt": False,
        "outcome": "recovering",
    }
    try:
        service.insert_record(
            "admin", "adverse_event", {**event, "started_on": dt.date(2026, 12, 7)}, "entry"
        )
        assert system_queries(empty_study_url, "DATE-FUTURE") == []
        service.insert_record(
            "admin", "adverse_event", {**event, "started_on": dt.date(2026, 12, 8)}, "entry"
        )
        assert [q["field"] for q in system_queries(empty_study_url, "DATE-FUTURE")] == ["started_on"]
    finally:
        service.engine.dispose()


# -- an import that brings its own sites.csv; a date typed without a time; one now per import ---------------

SUBJECT_HEADER = (
    "subject_id,site_id,screening_number,consent_date,sex,birth_year,weight_kg,height_cm,aqp4_igg_status,"
    "aqp4_igg_titre"
)
NEW_YORK_10AM_7_DEC = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)  # 10:00 EST on 7 December


@pytest.mark.parametrize("stream", [None, 1])
def test_a_first_import_reads_today_at_the_sites_it_brings(
    empty_study_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stream: int | None,
) -> None:
    """An empty study; at 07:00 on 7 December in Wuhan one import gives sites.csv (TJH, Asia/Shanghai) and
    a subject consented that day. Before: refused, CONSENT-FUTURE (hard) — the import's checks read the zones
    of the stored sites only (none yet), so TJH's subjects were checked on UTC's 6 December."""
    first = tmp_path / "first"
    _sites(first, "Asia/Shanghai")
    (first / "subjects.csv").write_text(
        SUBJECT_HEADER + "\nCT-009,TJH,S-009,2026-12-07,F,1972,58.0,160,positive,1:320\n", "utf-8"
    )
    import cartrial.store.edit_checks as edit_checks

    monkeypatch.setattr(edit_checks, "utc_now", lambda: WUHAN_7AM_7_DEC)
    report = import_templates(empty_study_url, first, "admin", dry_run=True, stream_bytes=stream)
    assert [f.check.id for f in report.edit_checks if f.check.id in FUTURE] == []


@pytest.mark.parametrize("stream", [None, 1])
def test_streamed_and_whole_imports_agree_on_a_lab_after_today_at_a_new_site(
    empty_study_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stream: int | None,
) -> None:
    """A first import of the example's sites, subjects, infusions and two labs at 18:00 on 7 December in
    Wuhan (10:00Z): 17:00Z is 01:00 on the 8th there (after today), 15:00Z is 23:00 on the 7th (not). Before:
    the whole-file path read TJH on UTC (nothing found), the streamed path (checked inside the
    transaction, after sites.csv was written) found row 2."""
    first = tmp_path / "first"
    _example(first, "sites", "subjects", "infusions")
    _platelets(first, "CT-001,2026-12-07T17:00:00Z", "CT-001,2026-12-07T15:00:00Z")
    import cartrial.store.edit_checks as edit_checks

    monkeypatch.setattr(edit_checks, "utc_now", lambda: dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC))
    report = import_templates(empty_study_url, first, "admin", dry_run=True, stream_bytes=stream)
    assert [(f.record.row, f.field) for f in report.edit_checks if f.check.id == "DATE-FUTURE"] == [
        (2, "collected_at")
    ]


def test_an_import_that_changes_a_sites_time_zone_checks_on_the_new_one(
    empty_study_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TJH was stored without a time zone (UTC). An import gives its zone, Asia/Shanghai, and an adverse
    event started on 7 December at 07:00 there. Before: DATE-FUTURE — the stored zone (none) was read."""
    first = tmp_path / "first"
    _sites(first, "")
    _example(first, "subjects", "infusions")
    import_templates(empty_study_url, first, "admin")
    second = tmp_path / "second"
    _sites(second, "Asia/Shanghai")
    _headache_on_7_december(second)
    assert _import_at(empty_study_url, second, WUHAN_7AM_7_DEC, monkeypatch) == []


@pytest.mark.parametrize("stream", [None, 1])
def test_a_first_import_counts_days_on_the_calendar_of_the_sites_it_brings(
    empty_study_url: str,
    tmp_path: Path,
    stream: int | None,
) -> None:
    """D-19.607 in one first import: CT-001 (TJH, Asia/Shanghai, given in the same import) died on 1 June
    2021; a lab at 04:00 on 2 June in Wuhan (2021-06-01T20:00Z) is after the death. Before: not found by the
    whole-file path (TJH read on UTC, the lab on 1 June)."""
    first = tmp_path / "first"
    _example(first, "sites", "subjects", "infusions")
    _fatal_sepsis_on_1_june_2021(first)
    _platelets(first, "CT-001,2021-06-01T20:00:00Z")
    report = import_templates(empty_study_url, first, "admin", dry_run=True, stream_bytes=stream)
    # (streamed, the labs may be written before the adverse events: then found on the stored lab)
    assert [f.field for f in report.edit_checks if f.check.id == "RECORD-AFTER-DEATH"] == ["collected_at"]


def test_a_bare_date_of_tomorrow_in_new_york_is_after_today() -> None:
    """A date typed without a time in a date-time field is stored as 00:00:00Z of that date: it is judged by
    that (UTC) date, the date typed. Before: 2026-12-08T00:00Z read on the New York clock is 19:00 on the
    7th, today there at 10:00 on the 7th — never queried."""
    tomorrow = dt.datetime(2026, 12, 8, tzinfo=dt.UTC)
    assert _future("America/New_York", NEW_YORK_10AM_7_DEC, lab_result__collected_at=tomorrow) == [
        ("DATE-FUTURE", "collected_at")
    ]
    # a real time (00:00:01Z, 19:00:01 EST on the 7th) is read on the site's clock: today there
    assert (
        _future("America/New_York", NEW_YORK_10AM_7_DEC, lab_result__collected_at=tomorrow.replace(second=1))
        == []
    )
    # the price (recorded in the decision): an entry at exactly 19:00:00 EST on the 7th is taken as a bare
    # 8 December, a soft query that is false
    assert _future("America/New_York", NEW_YORK_10AM_7_DEC, lab_result__collected_at=tomorrow) != []


def test_a_bare_date_of_today_in_a_wuhan_morning_is_not_after_today() -> None:
    today = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    assert _future("Asia/Shanghai", WUHAN_7AM_7_DEC, lab_result__collected_at=today) == []


def test_an_import_queries_a_bare_date_of_tomorrow_in_new_york(
    empty_study_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The import's pre-filter of the large tables follows the same rule. Before: 2026-12-08 (00:00Z) is
    before 00:00 EST on the 8th (05:00Z), so the row was never looked at."""
    first = tmp_path / "first"
    _sites(first, "America/New_York")
    _example(first, "subjects", "infusions")
    import_templates(empty_study_url, first, "admin")
    labs = tmp_path / "labs"
    _platelets(labs, "CT-001,2026-12-08", "CT-001,2026-12-07")
    assert _import_at(empty_study_url, labs, NEW_YORK_10AM_7_DEC, monkeypatch) == [
        ("labs.csv", 2, "collected_at")
    ]


class _Ticking:
    """A clock that moves on an hour each time it is read, from 23:30 on 7 December in Wuhan."""

    def __init__(self) -> None:
        self.at = dt.datetime(2026, 12, 7, 15, 30, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        at = self.at
        self.at += dt.timedelta(hours=1)
        return at


def test_an_import_reads_one_now_for_every_chunk_and_its_reconciliation(
    empty_study_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two labs at 00:30 on 8 December in Wuhan, streamed one row a chunk, imported at 23:30 on the 7th on a
    clock read more than once: both are after today at the import's one instant, and the queries they raise
    stay open after the import's own reconciliation. Before: each chunk and the reconciliation read the
    clock again — the second chunk was past midnight in Wuhan (not queried), and the reconciliation closed
    the first chunk's query."""
    import cartrial.store.edit_checks as edit_checks

    from .test_store_data_quality import system_queries

    first = tmp_path / "first"
    _example(first, "sites", "subjects", "infusions")
    import_templates(empty_study_url, first, "admin")
    labs = tmp_path / "labs"
    _platelets(labs, "CT-001,2026-12-07T16:30:00Z", "CT-002,2026-12-07T16:30:00Z")
    monkeypatch.setattr(edit_checks, "utc_now", _Ticking())
    report = import_templates(empty_study_url, labs, "admin", stream_bytes=1, chunk_rows=1)
    assert [(f.record.row, f.field) for f in report.edit_checks if f.check.id == "DATE-FUTURE"] == [
        (2, "collected_at"),
        (3, "collected_at"),
    ]
    assert sorted(q["status"] for q in system_queries(empty_study_url, "DATE-FUTURE")) == ["open", "open"]


def test_an_infusion_on_the_birthday_at_the_site_is_not_before_birth() -> None:
    """INFUSION-BEFORE-BIRTH compares the infusion's day on the site's calendar with the birth date (a date
    typed at the site), as every other day of the subject (D-19.607). An infusion at 04:00 on 1 January 2000
    in Wuhan (1999-12-31T20:00Z) of a subject born that day. Before: its UTC day, 31 December, fired it."""
    subject = Record("subject", {"subject_id": "S-1", "birth_date": dt.date(2000, 1, 1)}, True)
    infusion = Record(
        "infusion", {"subject_id": "S-1", "infused_at": dt.datetime(1999, 12, 31, 20, 0, tzinfo=dt.UTC)}, True
    )
    tables = {"subject": [subject], "infusion": [infusion]}
    found = run_edit_checks([SubjectRecords("S-1", tables, "Asia/Shanghai")], None, now=WUHAN_7AM_7_DEC)
    assert [f.check.id for f in found if f.check.id == "INFUSION-BEFORE-BIRTH"] == []
    # the day before, on the site's calendar, is before birth
    infusion.values["infused_at"] = dt.datetime(1999, 12, 31, 15, 0, tzinfo=dt.UTC)  # 23:00 on the 31st
    found = run_edit_checks([SubjectRecords("S-1", tables, "Asia/Shanghai")], None, now=WUHAN_7AM_7_DEC)
    assert [f.check.id for f in found if f.check.id == "INFUSION-BEFORE-BIRTH"] == ["INFUSION-BEFORE-BIRTH"]
    # a bare date of the birthday in New York (00:00Z, 19:00 on the 31st there) is the birthday (D-19.618)
    infusion.values["infused_at"] = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    found = run_edit_checks([SubjectRecords("S-1", tables, "America/New_York")], None, now=WUHAN_7AM_7_DEC)
    assert [f.check.id for f in found if f.check.id == "INFUSION-BEFORE-BIRTH"] == []


def test_a_bulk_write_reads_one_now_for_every_row_and_its_reconciliation(
    empty_study_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`Transaction.upsert_rows` (a lab feed) of two labs at 00:30 on 8 December in Wuhan, at 23:30 on the
    7th on a clock read more than once: both raise a DATE-FUTURE query, both stay open. Before: each row
    read the clock (the second past midnight in Wuhan: no query) and the write's reconciliation read it
    again (closing the first row's query)."""
    import cartrial.store.edit_checks as edit_checks
    from cartrial.store import StudyService, connect

    from .test_store_data_quality import system_queries

    first = tmp_path / "first"
    _example(first, "sites", "subjects", "infusions")
    import_templates(empty_study_url, first, "admin")
    monkeypatch.setattr(edit_checks, "utc_now", _Ticking())
    service = StudyService(connect(empty_study_url))
    lab = {"analyte": "platelets", "value": 100.0, "unit": "10^9/L", "lln": 125.0}
    moment = dt.datetime(2026, 12, 7, 16, 30, tzinfo=dt.UTC)
    try:
        with service.as_user("admin").transaction(source="lab feed", reason="feed") as tx:
            tx.upsert_rows(
                "lab_result",
                [{"subject_id": s, "collected_at": moment, **lab} for s in ("CT-001", "CT-002")],
            )
    finally:
        service.engine.dispose()
    assert sorted((q["subject_id"], q["status"]) for q in system_queries(empty_study_url, "DATE-FUTURE")) == [
        ("CT-001", "open"),
        ("CT-002", "open"),
    ]


# -- one rule for a stored date-time compared with a date typed at the site (D-19.618, D-19.622) ----------

NY = "America/New_York"


def _fired(zone: str | None, *records: Record) -> list[str]:
    """The check ids that fire on one subject's `records` at a site in `zone`."""
    tables: dict[str, list[Record]] = {}
    for record in records:
        tables.setdefault(record.table, []).append(record)
    found = run_edit_checks([SubjectRecords("S-1", tables, zone)], None, now=WUHAN_7AM_7_DEC)
    return sorted({f.check.id for f in found})


def test_a_bare_infusion_date_of_the_consent_day_in_new_york_is_not_before_consent() -> None:
    """Consent 2 June 2021 and the infusion typed 2021-06-02 (stored 00:00:00Z, 20:00 on 1 June in New York)
    on a subject born that day: not before consent (hard) and not before birth — one date for one infusion.
    Before: INFUSION-BEFORE-CONSENT refused it (the site's clock: 1 June) while the birth check read 2
    June."""
    subject = Record(
        "subject",
        {"subject_id": "S-1", "consent_date": dt.date(2021, 6, 2), "birth_date": dt.date(2021, 6, 2)},
        True,
    )
    infusion = Record(
        "infusion", {"subject_id": "S-1", "infused_at": dt.datetime(2021, 6, 2, tzinfo=dt.UTC)}, True
    )
    fired = _fired(NY, subject, infusion)
    assert "INFUSION-BEFORE-CONSENT" not in fired
    assert "INFUSION-BEFORE-BIRTH" not in fired


def test_a_real_evening_instant_is_the_site_s_date_against_consent() -> None:
    """22:00 on 1 June in New York (2021-06-02T02:00:00Z) is before a consent of 2 June; 04:00 on 2 June in
    Wuhan (2021-06-01T20:00:00Z) is not (the site's date, not the UTC date)."""
    subject = Record("subject", {"subject_id": "S-1", "consent_date": dt.date(2021, 6, 2)}, True)
    evening = Record(
        "infusion", {"subject_id": "S-1", "infused_at": dt.datetime(2021, 6, 2, 2, tzinfo=dt.UTC)}, True
    )
    assert "INFUSION-BEFORE-CONSENT" in _fired(NY, subject, evening)
    morning = Record(
        "infusion", {"subject_id": "S-1", "infused_at": dt.datetime(2021, 6, 1, 20, tzinfo=dt.UTC)}, True
    )
    assert "INFUSION-BEFORE-CONSENT" not in _fired("Asia/Shanghai", subject, morning)


def test_a_bare_date_of_the_day_after_the_death_in_new_york_is_after_the_death() -> None:
    """A fatal adverse event on 1 June 2021; a lab typed 2021-06-02 (00:00:00Z) at a New York site is on the
    day after the death, as typed. Before: read on the site's clock (20:00 on 1 June), not after."""
    fatal = Record(
        "adverse_event",
        {
            "subject_id": "S-1",
            "term": "Sepsis",
            "category": "infection",
            "started_on": dt.date(2021, 6, 1),
            "ended_on": dt.date(2021, 6, 1),
            "grade": 5,
            "outcome": "fatal",
        },
        True,
    )
    lab = Record(
        "lab_result", {"subject_id": "S-1", "collected_at": dt.datetime(2021, 6, 2, tzinfo=dt.UTC)}, True
    )
    assert "RECORD-AFTER-DEATH" in _fired(NY, fatal, lab)
    # 22:00 on 1 June in New York (02:00Z on the 2nd): the day of the death, not after
    lab.values["collected_at"] = dt.datetime(2021, 6, 2, 2, tzinfo=dt.UTC)
    assert "RECORD-AFTER-DEATH" not in _fired(NY, fatal, lab)


def test_an_import_finds_a_bare_lab_date_after_the_death_in_new_york(
    empty_study_url: str,
    tmp_path: Path,
) -> None:
    """The import's pre-filter reads the same rule: CT-001 (a New York site) died on 1 June 2021; a lab typed
    2021-06-02 (00:00Z, before 00:00 EDT on the 2nd, 04:00Z) is after the death. Before: never looked at."""
    first = tmp_path / "first"
    _sites(first, NY)
    _example(first, "subjects", "infusions")
    _fatal_sepsis_on_1_june_2021(first)
    import_templates(empty_study_url, first, "admin")
    assert _after_death(empty_study_url, tmp_path / "labs", "CT-001,2021-06-02") == [(2, "collected_at")]


def test_a_single_record_write_reads_one_now_for_its_checks_and_its_reconciliation(
    empty_study_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`Transaction.insert_record` of a lab at 00:30 on 8 December in Wuhan, at 23:30 on the 7th on a clock
    that moves on an hour each read: its DATE-FUTURE query stays open, then an edit and a delete of another
    record of the subject read their one instant too. Before: the write's reconciliation read the clock again
    (00:30 on the 8th in Wuhan: the lab no longer after today) and closed the query it had just raised."""
    import cartrial.store.edit_checks as edit_checks
    from cartrial.store import StudyService, connect

    from .test_store_data_quality import system_queries

    first = tmp_path / "first"
    _example(first, "sites", "subjects", "infusions")
    import_templates(empty_study_url, first, "admin")
    lab = {"analyte": "platelets", "value": 100.0, "unit": "10^9/L", "lln": 125.0}
    moment = dt.datetime(2026, 12, 7, 16, 30, tzinfo=dt.UTC)  # 00:30 on 8 December in Wuhan
    service = StudyService(connect(empty_study_url))
    try:
        monkeypatch.setattr(edit_checks, "utc_now", _Ticking())
        with service.as_user("admin").transaction(source="form", reason="entry") as tx:
            tx.insert_record("lab_result", {"subject_id": "CT-001", "collected_at": moment, **lab})
        assert [q["status"] for q in system_queries(empty_study_url, "DATE-FUTURE")] == ["open"]
        monkeypatch.setattr(edit_checks, "utc_now", _Ticking())
        with service.as_user("admin").transaction(source="form", reason="entry") as tx:
            other = tx.insert_record(
                "lab_result", {"subject_id": "CT-001", "collected_at": moment - dt.timedelta(days=9), **lab}
            )
        monkeypatch.setattr(edit_checks, "utc_now", _Ticking())
        with service.as_user("admin").transaction(source="form", reason="entry") as tx:
            tx.update_record("lab_result", other, {"value": 101.0}, 1, reason="typing slip")
        assert [q["status"] for q in system_queries(empty_study_url, "DATE-FUTURE")] == ["open"]
        monkeypatch.setattr(edit_checks, "utc_now", _Ticking())
        with service.as_user("admin").transaction(source="form", reason="entry") as tx:
            tx.delete_record("lab_result", other, reason="duplicate")
        assert [q["status"] for q in system_queries(empty_study_url, "DATE-FUTURE")] == ["open"]
    finally:
        service.engine.dispose()
