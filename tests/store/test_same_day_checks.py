"""A second EDSS of a subject, or a second acuity of an eye, on one site day is queried at entry (D-19.1101).

The analysis refuses two EDSS assessments of a subject on the same day on its site's calendar
(`neuro.tables.check_one_edss_a_day`, D-19.1009) and a second acuity of the same eye that day
(`_check_one_eye_a_day`, D-19.778), so `analyse`, `report` and `export cdisc` stop; the store accepted both
without a word. The soft checks EDSS-SAME-DAY and ACUITY-SAME-DAY now query them by import (its dry run
lists them), by a single write (the service, the web form's live check, the API), naming the other record
by its location, never a value; the query closes once the day holds one.

By hand: the site TJH is Asia/Shanghai (UTC+8, no daylight saving). 2021-05-24T17:30:00Z is 01:30 on 25 May
there and 2021-05-25T09:00:00Z is 17:00 on 25 May: one site day on two UTC dates. 2021-05-25T17:00:00Z is
01:00 on 26 May: the same UTC date as 09:00Z, another site day.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from cartrial.columns import same_site_day_groups
from cartrial.store import StudyService, connect
from cartrial.store.edit_checks import CHECKS_BY_ID, EDIT_CHECK_USER, Finding, Severity
from cartrial.store.importing import import_templates
from cartrial.store.writes import preview_write_checks

from ..conftest import Cli
from .conftest import PROTOCOL

EXAMPLE_STUDY = PROTOCOL.parent / "study"
EDSS_HEADER = (
    "subject_id,assessed_at,visual,brainstem,pyramidal,cerebellar,sensory,bowel_bladder,cerebral,ambulation"
)
VA_HEADER = "subject_id,assessed_at,eye,acuity"
EARLY = "2021-05-24T17:30:00Z"  # 01:30 on 25 May in Shanghai
LATE = "2021-05-25T09:00:00Z"  # 17:00 on 25 May in Shanghai
NEXT = "2021-05-25T17:00:00Z"  # 01:00 on 26 May in Shanghai (same UTC date as LATE)
CHECKS = ("EDSS-SAME-DAY", "ACUITY-SAME-DAY")


def edss(moment: str, pyramidal: int = 3) -> str:
    return f"CT-001,{moment},0,1,{pyramidal},1,2,2,1,3"


def study(folder: Path, edss_rows: tuple[str, ...] = (), va_rows: tuple[str, ...] = ()) -> Path:
    folder.mkdir()
    for name in ("sites", "subjects", "infusions"):
        shutil.copyfile(EXAMPLE_STUDY / f"{name}.csv", folder / f"{name}.csv")
    if edss_rows:
        (folder / "edss.csv").write_text("\n".join([EDSS_HEADER, *edss_rows]) + "\n", "utf-8")
    if va_rows:
        (folder / "visual_acuity.csv").write_text("\n".join([VA_HEADER, *va_rows]) + "\n", "utf-8")
    return folder


@pytest.fixture
def url(password_study_url: str) -> str:
    return password_study_url


def same_day(findings: list[Finding]) -> list[tuple[str, str, int, str]]:
    return sorted(
        (f.check.id, Path(str(f.record.file)).name, int(f.record.row or 0), f.field)
        for f in findings
        if f.check.id in CHECKS
    )


def queries(url: str) -> list[dict[str, object]]:
    service = StudyService(connect(url))
    return [
        q
        for q in service.find_records("admin", "data_query")
        if q["raised_by"] == EDIT_CHECK_USER and str(q["text"]).split(" ")[2] in CHECKS
    ]


def assert_value_free(text: str) -> None:
    for value in ("2021", "17:30", "09:00", "OD", "OS", "20/"):
        assert value not in text, text


def test_the_checks_are_soft_with_a_rule_and_a_source() -> None:
    for name in CHECKS:
        check = CHECKS_BY_ID[name]
        assert check.severity is Severity.SOFT and check.rule and check.source


def test_the_shared_rule_groups_by_subject_site_day_and_eye() -> None:
    """The one rule the analysis and the checks group by (hand-made days)."""
    d1, d2 = dt.date(2021, 5, 25), dt.date(2021, 5, 26)
    assert same_site_day_groups(["S", "S", "S", "T"], [d1, d2, d1, d1]) == [[0, 2]]
    assert same_site_day_groups(["S", "S", "S"], [d1, d1, d1], within=["OD", "OS", "OD"]) == [[0, 2]]
    assert same_site_day_groups(["S", "", "S"], [d1, d1, None]) == []
    assert same_site_day_groups(["S", "S"], [d1, d1], within=["OD", None]) == []


def test_two_edss_of_one_site_day_are_imported_and_queried(url: str, tmp_path: Path) -> None:
    """Rows 2 and 3 are one Shanghai day on two UTC dates: each is queried, naming the other by its row;
    row 4, the same UTC date as row 3, is the next site day: not queried."""
    folder = study(tmp_path / "in", (edss(EARLY), edss(LATE), edss(NEXT)))
    planned = [
        f for f in import_templates(url, folder, "admin", dry_run=True).edit_checks if f.check.id in CHECKS
    ]
    assert same_day(planned) == [
        ("EDSS-SAME-DAY", "edss.csv", 2, "assessed_at"),
        ("EDSS-SAME-DAY", "edss.csv", 3, "assessed_at"),
    ]
    by_row = {f.record.row: f.message for f in planned}
    assert "edss.csv row 3" in by_row[2] and "edss.csv row 2" in by_row[3]
    for message in by_row.values():
        assert_value_free(message)
    assert queries(url) == []  # a dry run writes nothing

    import_templates(url, folder, "admin")
    service = StudyService(connect(url))
    assert len(service.find_records("admin", "edss_assessment")) == 3  # soft: stored as given
    found = queries(url)
    assert sorted((q["table_name"], q["field"], q["status"]) for q in found) == [
        ("edss_assessment", "assessed_at", "open"),
        ("edss_assessment", "assessed_at", "open"),
    ]
    for query in found:
        assert_value_free(str(query["text"]))
        assert "edss.csv row" in str(query["text"])  # the other record by its location


def test_a_second_edss_imported_later_is_queried_naming_the_stored_one(url: str, tmp_path: Path) -> None:
    import_templates(url, study(tmp_path / "first", (edss(LATE),)), "admin")
    assert queries(url) == []
    service = StudyService(connect(url))
    (stored,) = service.find_records("admin", "edss_assessment")
    second = (tmp_path / "second").resolve()
    second.mkdir()
    (second / "edss.csv").write_text(f"{EDSS_HEADER}\n{edss(EARLY)}\n", "utf-8")
    planned = [
        f for f in import_templates(url, second, "admin", dry_run=True).edit_checks if f.check.id in CHECKS
    ]
    assert same_day(planned) == [("EDSS-SAME-DAY", "edss.csv", 2, "assessed_at")]
    assert f"edss_assessment record {stored['id']}" in planned[0].message
    # the same file again: its row replaces the stored record of the same key, no second record, no query
    again = (tmp_path / "again").resolve()
    again.mkdir()
    (again / "edss.csv").write_text(f"{EDSS_HEADER}\n{edss(LATE, pyramidal=4)}\n", "utf-8")
    assert same_day(import_templates(url, again, "admin", dry_run=True).edit_checks) == []

    import_templates(url, second, "admin")
    (query,) = queries(url)
    (new,) = [r for r in service.find_records("admin", "edss_assessment") if r["id"] != stored["id"]]
    assert (query["table_name"], query["record_id"], query["field"]) == (
        "edss_assessment",
        new["id"],
        "assessed_at",
    )


def test_an_edss_entered_on_the_form_is_queried_and_closed_once_corrected(url: str, tmp_path: Path) -> None:
    """The single write (web form and API path) and its live check; the query closes once the date moves
    to another site day (D-19.164)."""
    import_templates(url, study(tmp_path / "in", (edss(LATE),)), "admin")
    service = StudyService(connect(url))
    (stored,) = service.find_records("admin", "edss_assessment")
    values = {
        "subject_id": "CT-001",
        "assessed_at": dt.datetime(2021, 5, 24, 17, 30, tzinfo=dt.UTC),
        **dict.fromkeys(("visual", "brainstem", "pyramidal", "cerebellar", "sensory", "bowel_bladder"), 1),
        "cerebral": 1,
        "ambulation": 0,
    }
    with service.engine.connect() as connection:  # the live check of the form and the API, before saving
        live = [
            f for f in preview_write_checks(connection, "edss_assessment", values) if f.check.id in CHECKS
        ]
    assert [(f.check.id, f.record.record_id, f.field) for f in live] == [
        ("EDSS-SAME-DAY", None, "assessed_at")
    ]
    assert f"edss_assessment record {stored['id']}" in live[0].message
    new_id = service.insert_record("admin", "edss_assessment", values)
    (query,) = queries(url)
    assert (query["table_name"], query["record_id"], query["status"]) == ("edss_assessment", new_id, "open")
    assert_value_free(str(query["text"]))
    # an unrelated write of the subject keeps it open (the check reads the subject's other EDSS)
    (infusion,) = service.find_records("admin", "infusion", subject_id="CT-001")
    service.update_record(
        "admin",
        "infusion",
        int(infusion["id"]),
        {"product_lot": "L21-009"},
        int(infusion["version"]),
        reason="lot",
    )
    assert [q["status"] for q in queries(url)] == ["open"]
    (new,) = [r for r in service.find_records("admin", "edss_assessment") if r["id"] == new_id]
    service.update_record(
        "admin",
        "edss_assessment",
        new_id,
        {"assessed_at": dt.datetime(2021, 5, 25, 17, 0, tzinfo=dt.UTC)},  # 01:00 on 26 May in Shanghai
        int(new["version"]),
        reason="date corrected",
    )
    assert [q["status"] for q in queries(url)] == ["closed"]


def test_a_second_acuity_of_one_eye_on_a_site_day_is_queried_the_other_eye_not(
    url: str, tmp_path: Path
) -> None:
    rows = (
        f"CT-001,{EARLY},OD,20/20",
        f"CT-001,{EARLY},OS,20/25",
        f"CT-001,{LATE},OD,20/40",
        f"CT-001,{NEXT},OS,20/25",
    )
    folder = study(tmp_path / "in", va_rows=rows)
    planned = [
        f for f in import_templates(url, folder, "admin", dry_run=True).edit_checks if f.check.id in CHECKS
    ]
    assert same_day(planned) == [
        ("ACUITY-SAME-DAY", "visual_acuity.csv", 2, "assessed_at"),
        ("ACUITY-SAME-DAY", "visual_acuity.csv", 4, "assessed_at"),
    ]
    for finding in planned:
        assert_value_free(finding.message)
    import_templates(url, folder, "admin")
    assert len(queries(url)) == 2
    service = StudyService(connect(url))
    values = {
        "subject_id": "CT-001",
        "assessed_at": dt.datetime(2021, 5, 26, 2, 0, tzinfo=dt.UTC),  # 10:00 on 26 May: NEXT's day
        "eye": "OS",
        "acuity": "20/30",
    }
    with service.engine.connect() as connection:
        live = [f for f in preview_write_checks(connection, "visual_acuity", values) if f.check.id in CHECKS]
    assert [f.check.id for f in live] == ["ACUITY-SAME-DAY"]
    assert "visual_acuity record" in live[0].message and "same eye" in live[0].message


def test_the_dry_run_of_the_command_lists_them(cli: Cli, url: str, tmp_path: Path) -> None:
    folder = study(
        tmp_path / "in", (edss(EARLY), edss(LATE)), (f"CT-001,{EARLY},OD,20/20", f"CT-001,{LATE},OD,20/20")
    )
    result = cli("import", "templates", folder, "--url", url, "--user", "admin", "--dry-run")
    assert result.exit_code == 0, result.stderr
    out = result.stdout + result.stderr
    assert "EDSS-SAME-DAY" in out and "ACUITY-SAME-DAY" in out
