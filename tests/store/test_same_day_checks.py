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
from hypothesis import given
from hypothesis import strategies as st

from cartrial.columns import same_site_day_groups, site_day
from cartrial.errors import InputError
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
MID = "2021-05-25T03:00:00Z"  # 11:00 on 25 May in Shanghai: between EARLY and LATE
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


def test_a_chunked_import_queries_both_rows_of_the_day_by_their_rows(url: str, tmp_path: Path) -> None:
    """A large file is checked and written chunk by chunk (here a row a chunk): row 2 is written before row
    3 is checked, yet, as for the whole file, both rows are queried, each naming the other by its row, and
    no record is named (a dry run rolls every chunk back)."""
    folder = study(tmp_path / "in", (edss(EARLY), edss(LATE), edss(NEXT)))
    report = import_templates(url, folder, "admin", dry_run=True, stream_bytes=1, chunk_rows=1)
    planned = [f for f in report.edit_checks if f.check.id in CHECKS]
    assert same_day(planned) == [
        ("EDSS-SAME-DAY", "edss.csv", 2, "assessed_at"),
        ("EDSS-SAME-DAY", "edss.csv", 3, "assessed_at"),
    ]
    by_row = {f.record.row: f.message for f in planned}
    assert "edss.csv row 3" in by_row[2] and "edss.csv row 2" in by_row[3]
    assert {_named(m) for m in by_row.values()} == {"edss.csv row 2", "edss.csv row 3"}
    for message in by_row.values():
        assert_value_free(message)

    import_templates(url, folder, "admin", stream_bytes=1, chunk_rows=1)
    found = queries(url)
    assert len(found) == 2 and {q["status"] for q in found} == {"open"}
    assert len({q["record_id"] for q in found}) == 2
    for query in found:
        assert "edss.csv row" in str(query["text"])


def _named(message: str) -> str:
    """The other record a same-day message names (its file by name: the folder is the test's)."""
    return message.split(" as ", 1)[1].split("(", 1)[1].split(")", 1)[0].rsplit("/", 1)[-1]


def _reference_later(
    subjects: list[str | None], moments: list[dt.datetime], zone: str | None, eyes: list[str | None] | None
) -> tuple[list[int], list[int]]:
    """From the rule's definition: a row's site day is the date of its instant on the site's clock (UTC
    without a zone), a date typed without a time (exactly 00:00:00Z) being that date; the first row of a
    subject (trimmed), eye and site day is kept, every later one flagged; a blank subject or eye is never
    compared. Returns (the first rows of the days with a later one, the later rows)."""
    from zoneinfo import ZoneInfo

    seen: dict[tuple[str, dt.date, str], int] = {}
    firsts: list[int] = []
    later: list[int] = []
    for i, (subject, moment) in enumerate(zip(subjects, moments, strict=True)):
        eye = "" if eyes is None else (eyes[i] or "").strip()
        sid = (subject or "").strip()
        if not sid or (eyes is not None and not eye):
            continue
        utc = moment.astimezone(dt.UTC)
        midnight = utc.time() == dt.time(0)
        day = utc.date() if midnight or zone is None else utc.astimezone(ZoneInfo(zone)).date()
        key = (sid, day, eye)
        if key in seen:
            later.append(i)
            if seen[key] not in firsts:
                firsts.append(seen[key])
        else:
            seen[key] = i
    return sorted(firsts), sorted(later)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["S1", " S1", "S1 ", "S2", "", "  "]),
            st.one_of(
                st.datetimes(dt.datetime(2021, 3, 10), dt.datetime(2021, 3, 16), timezones=st.just(dt.UTC)),
                st.dates(dt.date(2021, 3, 10), dt.date(2021, 3, 16)).map(
                    lambda d: dt.datetime.combine(d, dt.time(0), dt.UTC)  # a date typed without a time
                ),
            ),
            st.sampled_from(["OD", "OS", " OD", "", None]),
        ),
        max_size=12,
    ),
    st.sampled_from([None, "Asia/Shanghai", "America/Los_Angeles", "Pacific/Kiritimati", "Europe/London"]),
    st.booleans(),
)
def test_the_shared_rule_flags_the_later_rows_the_definition_flags(
    rows: list[tuple[str, dt.datetime, str | None]], zone: str | None, by_eye: bool
) -> None:
    """Property: fed each row's site day (`site_day`, the callers' day), the groups' first rows and later
    rows are those of the reference written from the rule's definition (dates around the change to daylight
    saving in Los Angeles, 14 March 2021)."""
    subjects = [r[0] for r in rows]
    moments = [r[1] for r in rows]
    eyes = [r[2] for r in rows] if by_eye else None
    groups = same_site_day_groups(subjects, [site_day(m, zone) for m in moments], within=eyes)
    firsts, later = _reference_later(subjects, moments, zone, eyes)
    assert sorted(g[0] for g in groups) == firsts
    assert sorted(i for g in groups for i in g[1:]) == later
    assert all(g == sorted(g) for g in groups)


@pytest.mark.parametrize("chunk_rows", [None, 1])
def test_three_records_of_a_day_each_name_the_earliest_other(
    url: str, tmp_path: Path, chunk_rows: int | None
) -> None:
    """Three EDSS of one Shanghai day (EARLY, MID, LATE: 01:30, 11:00, 17:00; a subject's rows are in
    time order): each is queried, naming the earliest other record of the day: rows 3 and 4 name row 2
    (EARLY), row 2 names row 3 (MID, the earliest after itself). A file read a row a chunk gives the same,
    once each (row 2 and row 3 are checked again with row 4's chunk: that finding replaces the earlier
    one)."""
    folder = study(tmp_path / "in", (edss(EARLY), edss(MID), edss(LATE)))
    options = {} if chunk_rows is None else {"stream_bytes": 1, "chunk_rows": chunk_rows}
    report = import_templates(url, folder, "admin", dry_run=True, **options)  # type: ignore[arg-type]
    planned = [f for f in report.edit_checks if f.check.id in CHECKS]
    assert same_day(planned) == [("EDSS-SAME-DAY", "edss.csv", row, "assessed_at") for row in (2, 3, 4)]
    named = {f.record.row: _named(f.message) for f in planned}
    assert named == {2: "edss.csv row 3", 3: "edss.csv row 2", 4: "edss.csv row 2"}


def test_a_bulk_write_queries_both_records_of_the_day(url: str, tmp_path: Path) -> None:
    """The Python API's bulk upsert (`Transaction.upsert_rows`, every row checked as a single write): two
    EDSS of one Shanghai day in one call raise a query on each record."""
    import_templates(url, study(tmp_path / "in"), "admin")
    service = StudyService(connect(url))
    scores = dict.fromkeys(("visual", "brainstem", "pyramidal", "cerebellar", "sensory", "bowel_bladder"), 1)
    rows = [
        {"subject_id": "CT-001", "assessed_at": moment, **scores, "cerebral": 1, "ambulation": 0}
        for moment in (
            dt.datetime(2021, 5, 24, 17, 30, tzinfo=dt.UTC),
            dt.datetime(2021, 5, 25, 9, tzinfo=dt.UTC),
        )
    ]
    with service.as_user("admin").transaction("api") as tx:
        tx.upsert_rows("edss_assessment", rows)
    ids = {int(r["id"]) for r in service.find_records("admin", "edss_assessment")}
    found = queries(url)
    assert len(ids) == 2
    assert sorted((q["record_id"], q["field"], q["status"]) for q in found) == [
        (i, "assessed_at", "open") for i in sorted(ids)
    ]
    for query in found:
        assert_value_free(str(query["text"]))


def _two_queried(url: str, tmp_path: Path) -> tuple[StudyService, list[dict[str, object]]]:
    """Two EDSS of one Shanghai day imported (EARLY, LATE), each queried; the stored records by time."""
    import_templates(url, study(tmp_path / "in", (edss(EARLY), edss(LATE))), "admin")
    service = StudyService(connect(url))
    assert [q["status"] for q in queries(url)] == ["open", "open"]
    records = sorted(service.find_records("admin", "edss_assessment"), key=lambda r: str(r["assessed_at"]))
    return service, records


def _status(url: str) -> dict[object, object]:
    return {q["record_id"]: q["status"] for q in queries(url)}


@pytest.mark.parametrize("deleted", [0, 1])
def test_deleting_either_record_closes_the_other_ones_query(url: str, tmp_path: Path, deleted: int) -> None:
    service, records = _two_queried(url, tmp_path)
    gone, kept = records[deleted], records[1 - deleted]
    service.delete_record("admin", "edss_assessment", int(gone["id"]), reason="entered twice")
    assert _status(url)[kept["id"]] == "closed"


def test_moving_the_partner_to_another_day_closes_both_queries(url: str, tmp_path: Path) -> None:
    service, records = _two_queried(url, tmp_path)
    early = records[0]
    service.update_record(
        "admin",
        "edss_assessment",
        int(early["id"]),
        {"assessed_at": dt.datetime(2021, 5, 23, 17, 30, tzinfo=dt.UTC)},  # 01:30 on 24 May in Shanghai
        int(early["version"]),
        reason="date corrected",
    )
    assert set(_status(url).values()) == {"closed"}


def test_a_chunked_infusion_file_refuses_both_infusions_by_their_rows(url: str, tmp_path: Path) -> None:
    """INFUSION-ONCE (hard under the example's one-infusion protocol; SECOND-INFUSION, soft, otherwise)
    compares a file's rows with each other as EDSS-SAME-DAY does: read a row a chunk, a subject's second
    infusion (row 3) and its first (row 2, written by the earlier chunk) are both refused, each naming the
    other by its row, as when the file is checked whole (D-19.1104); before, only row 3, naming a record
    id that the rolled-back import never kept."""
    folder = study(tmp_path / "in")
    lines = (folder / "infusions.csv").read_text("utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("CT-001,"))
    lines.insert(first + 1, lines[first].replace("2021-04-27T02:00:00Z", "2021-04-28T02:00:00Z"))
    (folder / "infusions.csv").write_text("\n".join(lines) + "\n", "utf-8")
    row = first + 1  # the first's spreadsheet row (the header is row 1)
    for options in ({}, {"stream_bytes": 1, "chunk_rows": 1}):
        with pytest.raises(InputError) as refused:
            import_templates(url, folder, "admin", dry_run=True, **options)  # type: ignore[arg-type]
        found = {
            (p.row, p.message.rsplit("/", 1)[-1]) for p in refused.value.problems if "infusion" in p.message
        }
        assert found == {(row, f"infusions.csv row {row + 1})"), (row + 1, f"infusions.csv row {row})")}, (
            options
        )
