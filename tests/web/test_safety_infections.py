"""The web safety page shows the analysis layer's `infections_by_period` table (D-19.1310, D-19.1313), as the
interim report does: before, the page had no infection table at all, so an investigator reviewing safety on
the web did not see the infections the report counts by onset period.

One patient (CT-001, site TJH, whose time zone the fixture leaves unset: the site calendar is UTC's),
infused on 2021-04-27 at 02:00Z, with three treatment-emergent infections: day 5 (grade 3), day 40
(grade 2) and day 100 (grade 1). The expected counts are worked out by hand from those days; a site zone
set (Asia/Shanghai) is tested with an infusion whose local date is the day after its UTC date."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

from cartrial.store import StudyService, connect, init_study

from ..conftest import TEST_PASSWORD
from .conftest import PROTOCOL, _serve

HEADER = [
    "period",
    "first_day",
    "last_day",
    "n_at_risk",
    "n_subjects",
    "n_events",
    "n_subjects_grade_ge3",
]

INFECTIONS = (
    ("2021-05-02", 3, "Pneumonia"),
    ("2021-06-06", 2, "Herpes zoster"),
    ("2021-08-05", 1, "Cystitis"),
)
"""(onset, grade, term): days 5, 40 and 100 after the infusion of 2021-04-27."""


def _study(
    tmp_path: Path,
    *,
    periods: str | None = None,
    infections: bool = True,
    zone: str | None = None,
    infused_at: str = "2021-04-27T02:00:00Z",
    onsets: tuple[tuple[str, int, str], ...] = INFECTIONS,
) -> str:
    text = PROTOCOL.read_text(encoding="utf-8")
    if periods is not None:
        line = "    infection_periods: [28, 90]"
        assert line in text
        text = text.replace(line, f"    infection_periods: {periods}")
    protocol = tmp_path / "protocol.yaml"
    protocol.write_text(text, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'study.db'}"
    init_study(url, protocol, "admin", admin_site="TJH", admin_password=TEST_PASSWORD)
    service = StudyService(connect(url))
    if zone is not None:  # the site's calendar (D-19.607)
        admin = service.as_user("admin")
        (site,) = [r for r in admin.find_records("site") if r["site_id"] == "TJH"]
        admin.update_record("site", site["id"], {"time_zone": zone}, site["version"], "clinic zone")
    with service.transaction("admin", "test setup") as tx:
        service.upsert_rows(
            tx, "subject", [{"subject_id": "CT-001", "site_id": "TJH", "consent_date": "2021-04-01"}]
        )
        service.upsert_rows(
            tx,
            "lymphodepletion_administration",
            [
                {
                    "subject_id": "CT-001",
                    "drug": "fludarabine",
                    "administered_on": "2021-04-23",
                    "dose_mg_per_m2": 30,
                }
            ],
        )
        service.upsert_rows(
            tx,
            "infusion",
            [
                {
                    "subject_id": "CT-001",
                    "dose_level": 1,
                    "infused_at": infused_at,
                    "weight_kg": 60.0,
                    "cells_per_kg": 500000,
                    "total_car_t_cells": 30000000,
                }
            ],
        )
        events = [
            {
                "subject_id": "CT-001",
                "term": term,
                "category": "infection",
                "started_on": onset,
                "grade": grade,
                "grading_scale": "CTCAE",
                "grading_scale_version": "5.0",
                "serious": False,
                "outcome": "recovered",
            }
            for onset, grade, term in (onsets if infections else ())
        ]
        events.append(  # an adverse event that is not an infection: never counted in the table
            {
                "subject_id": "CT-001",
                "term": "Headache",
                "category": "non_hematologic",
                "started_on": "2021-05-03",
                "grade": 1,
                "grading_scale": "CTCAE",
                "grading_scale_version": "5.0",
                "serious": False,
                "outcome": "recovered",
            }
        )
        service.upsert_rows(tx, "adverse_event", events)
    service.engine.dispose()
    return url


def _view(url: str, cutoff: dt.date) -> object:
    from cartrial.web import views

    service = StudyService(connect(url))
    try:
        return views.safety_view(service.as_user("admin"), None, cutoff)
    finally:
        service.engine.dispose()


def _report_cells(url: str, cutoff: dt.date) -> tuple[list[str], list[list[str]]]:
    """The infections table of the interim report built from the same snapshot (`build_report`)."""
    from cartrial.analysis import analyse
    from cartrial.report.render import build_report
    from cartrial.store.snapshot import read_snapshot

    snapshot = read_snapshot(url, cutoff)
    report = build_report(
        analyse(snapshot), snapshot.tables, cartrial_version="test", generated_at=dt.datetime(2026, 1, 1)
    )
    (table,) = [t for s in report.sections for t in s.tables if t.name == "infections_by_period"]
    return table.header, table.rows


def test_the_safety_page_counts_the_infections_by_onset_period(tmp_path: Path) -> None:
    url = _study(tmp_path)
    cutoff = dt.date(2021, 9, 30)  # day 156: every period followed
    view = _view(url, cutoff)
    infections = view.infections  # type: ignore[attr-defined]
    assert infections is not None
    assert infections.header == HEADER
    assert infections.rows == [
        ["days 0-28", "0", "28", "1", "1", "1", "1"],
        ["days 29-90", "29", "90", "1", "1", "1", "0"],
        ["days > 90", "91", "", "1", "1", "1", "0"],
    ]
    assert (infections.header, infections.rows) == _report_cells(url, cutoff)
    assert any("Hill 2018" in n for n in infections.notes)


def test_the_safety_page_reads_the_protocols_infection_periods(tmp_path: Path) -> None:
    """``analysis.options.infection_periods: [30, 100]``: day 100 falls in days 31-100, nothing after."""
    url = _study(tmp_path, periods="[30, 100]")
    cutoff = dt.date(2021, 9, 30)
    infections = _view(url, cutoff).infections  # type: ignore[attr-defined]
    assert [r[0] for r in infections.rows] == ["days 0-30", "days 31-100", "days > 100"]
    assert [r[5] for r in infections.rows] == ["1", "2", "0"]
    assert (infections.header, infections.rows) == _report_cells(url, cutoff)


def test_a_cutoff_before_the_infections_leaves_them_out_and_the_follow_up_sets_the_at_risk(
    tmp_path: Path,
) -> None:
    """Cut-off 2021-05-20 (day 23): the day-5 infection counted; the later two not yet happened, and no
    patient followed into days 29-90 or after day 90. Cut-off 2021-05-01 (day 4): no infection, one at
    risk in days 0-28."""
    url = _study(tmp_path)
    infections = _view(url, dt.date(2021, 5, 20)).infections  # type: ignore[attr-defined]
    assert infections.rows == [
        ["days 0-28", "0", "28", "1", "1", "1", "1"],
        ["days 29-90", "29", "90", "0", "0", "0", "0"],
        ["days > 90", "91", "", "0", "0", "0", "0"],
    ]
    view = _view(url, dt.date(2021, 5, 1))
    assert view.infections.rows == [  # type: ignore[attr-defined]
        ["days 0-28", "0", "28", "1", "0", "0", "0"],
        ["days 29-90", "29", "90", "0", "0", "0", "0"],
        ["days > 90", "91", "", "0", "0", "0", "0"],
    ]
    assert view.infections_none == "No treatment-emergent infection by the cut-off."  # type: ignore[attr-defined]
    assert (view.infections.header, view.infections.rows) == _report_cells(  # type: ignore[attr-defined]
        url, dt.date(2021, 5, 1)
    )


def test_a_study_without_infections_shows_the_table_of_zeros_with_a_statement(tmp_path: Path) -> None:
    url = _study(tmp_path, infections=False)
    view = _view(url, dt.date(2021, 9, 30))
    assert [r[3:] for r in view.infections.rows] == [["1", "0", "0", "0"]] * 3  # type: ignore[attr-defined]
    assert view.infections_none == "No treatment-emergent infection by the cut-off."  # type: ignore[attr-defined]


def test_a_cutoff_before_the_first_infusion_has_no_table_and_says_why(tmp_path: Path) -> None:
    url = _study(tmp_path)
    view = _view(url, dt.date(2021, 4, 25))
    assert view.infections is None  # type: ignore[attr-defined]
    assert view.infections_none == "No infused patient by the cut-off."  # type: ignore[attr-defined]


def _table_cells(page: str, table_id: str) -> list[list[str]]:
    match = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', page, re.S)
    assert match, table_id
    rows = re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S) for r in rows]
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in row] for row in cells]


def test_the_safety_page_html_shows_the_infections_of_the_locks_cutoff(tmp_path: Path) -> None:
    """The page itself (GET /safety), read at the data lock's cut-off (day 23): the day-5 infection only."""
    url = _study(tmp_path)
    service = StudyService(connect(url))
    service.as_user("admin").lock(dt.date(2021, 5, 20), "interim analysis")
    service.engine.dispose()
    study = _serve(url)
    try:
        response = study.session("admin").get("/safety")
    finally:
        study.close()
    assert response.status_code == 200, response.text
    assert 'id="infections"' in response.text
    assert _table_cells(response.text, "infections-table") == [
        HEADER,
        ["days 0-28", "0", "28", "1", "1", "1", "1"],
        ["days 29-90", "29", "90", "0", "0", "0", "0"],
        ["days > 90", "91", "", "0", "0", "0", "0"],
    ]
    assert "Hill 2018" in response.text


def test_the_infection_periods_are_counted_on_the_site_calendar(tmp_path: Path) -> None:
    """Site TJH in Asia/Shanghai, the infusion at 2021-04-26T20:00Z: 04:00 on 2021-04-27 at the site, so day
    0 is 2021-04-27 (by the UTC date it would be 2021-04-26). An infection with onset 2021-05-25 is on
    day 28 of the site calendar, the last day of days 0-28 (day 29, the next period, by the UTC date);
    one with onset 2021-07-26 is on day 90, the last of days 29-90 (day 91 by the UTC date)."""
    onsets = (("2021-05-25", 3, "Pneumonia"), ("2021-07-26", 2, "Herpes zoster"))
    url = _study(tmp_path, zone="Asia/Shanghai", infused_at="2021-04-26T20:00:00Z", onsets=onsets)
    cutoff = dt.date(2021, 9, 30)
    infections = _view(url, cutoff).infections  # type: ignore[attr-defined]
    assert infections.rows == [
        ["days 0-28", "0", "28", "1", "1", "1", "1"],
        ["days 29-90", "29", "90", "1", "1", "1", "0"],
        ["days > 90", "91", "", "1", "0", "0", "0"],
    ]
    assert (infections.header, infections.rows) == _report_cells(url, cutoff)


def test_an_adverse_event_derivation_that_fails_says_not_derivable_and_names_no_value(
    tmp_path: Path, monkeypatch
) -> None:
    """The adverse-event derivation failing with an error that quotes a stored cell (a pandas-style
    ValueError, a KeyError of a subject id): no infection table, the statement NOT_DERIVED_INFECTIONS, and
    the page's note names the derivation and the exception's class only — the note quoted the error's
    text, the record's value with it (D-12.2; D-19.1350)."""
    from collections import OrderedDict

    from cartrial.analysis import core
    from cartrial.web import views

    url = _study(tmp_path)
    secret = "SECRET-TERM-Zq7"
    original = core.safety_derivations
    for failure in (ValueError(f"could not convert string to float: '{secret}'"), KeyError(secret)):

        def failing(*args: object, failure: Exception = failure, **kwargs: object) -> object:
            derive = original(*args, **kwargs)  # type: ignore[arg-type]

            def fail() -> object:
                raise failure

            return {**derive, "adverse_event_datasets": fail}

        monkeypatch.setattr(core, "safety_derivations", failing)
        monkeypatch.setattr(views, "_CACHE", OrderedDict())
        view = _view(url, dt.date(2021, 9, 30))
        assert view.infections is None  # type: ignore[attr-defined]
        assert view.infections_none == views.NOT_DERIVED_INFECTIONS  # type: ignore[attr-defined]
        notes = " ".join(view.notes)  # type: ignore[attr-defined]
        assert "not derivable from this snapshot yet" in notes, notes
        assert f"({type(failure).__name__})" in notes, notes
        assert secret not in notes, notes
