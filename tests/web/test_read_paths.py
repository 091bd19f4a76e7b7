"""The cheap read paths of the web app (issue 14 load test) give what the plain reads give.

On a small synthetic study (the store benchmark's generator, a handful of subjects with full schedules):

- the casebook (ids and clinical days from the index, `reads.record_days`) and the study home (distinct
  subject days grouped in the database, `reads.subject_days`) place every record exactly as the schedule
  does from the whole records (`views.schedule_cells` on `StudyUser.page_records`);
- the data version changes with every committed write and not with a login, and the cached study home
  is never stale after a write;
- a record update validated before the audit-chain lock is validated again inside it when the record
  changed meanwhile;
- `page_records`: a column subset and the count shortcut of the last page agree with the full read;
- SQLite date-times read back through the fast parser equal what was written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial import examples as cartrial_examples
from cartrial.store import StudyService, connect, init_study

PROTOCOL = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"
SUBJECTS = 4
TODAY = dt.date(2022, 6, 1)
"""A day inside the synthetic schedules, so that complete, missing and upcoming forms all occur."""


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudyService]:
    from cartrial.store.importing import import_templates, write_synthetic_study

    folder = tmp_path_factory.mktemp("synthetic")
    write_synthetic_study(folder / "csv", SUBJECTS)
    url = f"sqlite:///{folder / 'study.db'}"
    init_study(url, PROTOCOL, "admin")
    import_templates(url, folder / "csv", "admin")
    service = StudyService(connect(url))
    yield service
    service.engine.dispose()


def _reference_cells(handle: Any, subject: dict[str, Any], today: dt.date) -> Any:
    """The schedule placed from the subject's whole records (the plain, uncached read)."""
    from cartrial.web import views

    sid = subject["subject_id"]
    records = {t: views.rows_of(handle, t, subject_id=sid) for t in views.subject_tables() if t != "subject"}
    records["subject"] = [subject]
    day0, _level = views._first_infusion(records["infusion"])
    return views.schedule_cells(views.study_protocol(handle), records, day0, today)


def test_casebook_and_home_place_records_as_the_whole_records_do(synthetic: StudyService) -> None:
    from cartrial.web import views

    handle = synthetic.as_user("admin")
    subjects = views.rows_of(handle, "subject")
    assert len(subjects) == SUBJECTS
    total: dict[str, int] = {}
    for subject in subjects:
        visits, matched = _reference_cells(handle, subject, TODAY)
        book = views.casebook(handle, None, subject["subject_id"], TODAY)
        assert [(v.name, [(c.table, c.status, c.record_ids) for c in v.cells]) for v in book.visits] == [
            (v.name, [(c.table, c.status, c.record_ids) for c in v.cells]) for v in visits
        ]
        for table in views.subject_tables():
            if table == "subject":
                continue
            rest = {
                int(r["id"])
                for r in views.rows_of(handle, table, subject_id=subject["subject_id"])
                if (table, int(r["id"])) not in matched
            }
            group = book.other.get(views.form_of_table(table).name)
            assert (group["total"] if group else 0) == len(rest)
            if group:
                assert {r["id"] for r in group["rows"]} <= rest
                assert len(group["rows"]) == min(len(rest), views.OTHER_SHOWN)
        for visit in visits:
            for cell in visit.cells:
                total[cell.status] = total.get(cell.status, 0) + 1
    assert len(total) > 1  # the day chosen shows more than one status
    assert views.study_home(handle, None, TODAY).completeness == total


def test_casebook_lists_every_record_of_a_form_on_request(synthetic: StudyService) -> None:
    from cartrial.web import views

    handle = synthetic.as_user("admin")
    sid = views.rows_of(handle, "subject")[0]["subject_id"]
    book = views.casebook(handle, None, sid, TODAY)
    name, group = max(book.other.items(), key=lambda item: item[1]["total"])
    everything = views.casebook(handle, None, sid, TODAY, show_all=name).other[name]
    assert len(everything["rows"]) == group["total"]
    assert [r["id"] for r in everything["rows"]][: len(group["rows"])] == [r["id"] for r in group["rows"]]


def test_data_version_follows_writes_not_logins(synthetic: StudyService) -> None:
    from cartrial.store.auth import AuthenticatedUser, create_session
    from cartrial.store.reads import data_version
    from cartrial.web import views

    handle = synthetic.as_user("admin")

    def version() -> int:
        with synthetic.read() as connection:
            return data_version(connection)

    before = version()
    home = views.study_home(handle, None, TODAY)
    create_session(synthetic, AuthenticatedUser("admin", "admin", None, "password"))
    assert version() == before  # a login is audited but changes no data
    record = views.rows_of(handle, "crs_assessment")[0]
    handle.update_record("crs_assessment", record["id"], {}, record["version"], "nothing changes")
    assert version() == before  # nothing written, nothing audited
    # a write that removes a record placed on the schedule: the home must show it at once
    visits, _matched = _reference_cells(
        handle, views.rows_of(handle, "subject", subject_id=record["subject_id"])[0], TODAY
    )
    placed = next(c for v in visits for c in v.cells if c.table == "osis_assessment" and c.record_ids)
    for record_id in placed.record_ids:
        handle.delete_record("osis_assessment", record_id, "test: remove a scheduled form")
    assert version() > before
    after = views.study_home(handle, None, TODAY)
    assert after.completeness != home.completeness
    assert after.completeness.get("complete", 0) == home.completeness["complete"] - 1


def test_update_validated_outside_the_lock_is_checked_again_after_a_concurrent_change(
    synthetic: StudyService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cartrial.store import fields, writes
    from cartrial.web import views

    handle = synthetic.as_user("admin")
    record = views.rows_of(handle, "crs_assessment")[-1]
    calls: list[bool] = []
    original = fields.check_record_fields

    def counted(*args: Any, **kwargs: Any) -> None:
        calls.append(True)
        original(*args, **kwargs)

    monkeypatch.setattr(fields, "check_record_fields", counted)
    version = handle.update_record(
        "crs_assessment", record["id"], {"temperature_c": 37.1}, record["version"], "r"
    )
    assert len(calls) == 1  # validated once, before the lock; not again inside it

    calls.clear()
    with synthetic.read() as connection:
        early = writes.prevalidate_update(connection, "crs_assessment", record["id"], {"temperature_c": 36.9})
    assert early is not None and early.version == version and len(calls) == 1
    version = handle.update_record("crs_assessment", record["id"], {"temperature_c": 36.5}, version, "r")
    calls.clear()
    with handle.transaction("test", "r") as tx:  # the record moved on: the early result does not count
        tx.update_record("crs_assessment", record["id"], {"temperature_c": 36.9}, version, "r", early)
    assert len(calls) == 1

    with synthetic.read() as connection:  # a refused change gives no validated result
        assert (
            writes.prevalidate_update(connection, "crs_assessment", record["id"], {"temperature_c": 99})
            is None
        )


def test_page_records_subset_and_count_agree_with_the_full_read(synthetic: StudyService) -> None:
    from cartrial.store import reads

    with synthetic.read() as connection:
        everything, total = reads.page_records(connection, "lab_result")
        assert total == len(everything) > 100
        for limit, offset in ((10, 0), (10, total - 5), (1000, 0), (7, total), (3, total + 10)):
            page, counted = reads.page_records(
                connection, "lab_result", limit=limit, offset=offset, columns=("collected_at", "analyte")
            )
            assert counted == total
            expected = everything[offset : offset + limit]
            assert page == [{k: r[k] for k in ("id", "collected_at", "analyte")} for r in expected]
        days = reads.record_days(connection, "lab_result")
        assert [i for i, _ in days] == [r["id"] for r in everything]
        assert [d for _, d in days] == [r["collected_at"].astimezone(dt.UTC).date() for r in everything]


@settings(max_examples=property_examples(40), deadline=None)
@given(
    moment=st.datetimes(
        min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.timezones()
    )
)
def test_sqlite_datetimes_read_back_as_written(
    tmp_path_factory: pytest.TempPathFactory, moment: dt.datetime
) -> None:
    from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select

    from cartrial.store.models import UtcDateTime

    if moment.utcoffset() is None:
        return
    engine = create_engine("sqlite://")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("at", UtcDateTime()))
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(table).values(at=moment))
        read = connection.execute(select(table.c.at)).scalar_one()
    # the instant in UTC: an ambiguous wall time (fold) never compares equal across zones (PEP 495)
    assert read == moment.astimezone(dt.UTC) and read.tzinfo is dt.UTC


def test_sqlite_reads_date_times_stored_in_other_text_forms(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, literal_column, select

    from cartrial.store.models import UtcDateTime

    with create_engine("sqlite://").connect() as connection:
        for text, expected in (
            ("2020-12-28 15:00:00.000000", dt.datetime(2020, 12, 28, 15, tzinfo=dt.UTC)),
            ("2020-12-28 15:00:00", dt.datetime(2020, 12, 28, 15, tzinfo=dt.UTC)),
            ("2020-12-28T15:00:00+02:00", dt.datetime(2020, 12, 28, 13, tzinfo=dt.UTC)),
        ):
            assert connection.execute(select(literal_column(repr(text), UtcDateTime()))).scalar() == expected


def test_subject_list_and_casebook_pages_link_to_the_rest(
    synthetic: StudyService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from cartrial.store.auth import AuthenticatedUser, create_session
    from cartrial.web import views
    from cartrial.web.app import create_app
    from cartrial.web.pages import study
    from cartrial.web.security import SESSION_COOKIE, WebSettings, credential

    monkeypatch.setattr(study, "SUBJECTS_PER_PAGE", 3)
    monkeypatch.setattr(views, "OTHER_SHOWN", 2)
    app = create_app(synthetic.engine.url.render_as_string(hide_password=False), settings=WebSettings("t"))
    token = create_session(synthetic, AuthenticatedUser("admin", "admin", None, "password"))
    with TestClient(app) as client:
        client.cookies.set(SESSION_COOKIE, credential(token, "admin"))
        ids = sorted(s["subject_id"] for s in views.rows_of(synthetic.as_user("admin"), "subject"))
        first, second = client.get("/subjects").text, client.get("/subjects?page=2").text
        assert all(f">{sid}</a>" in first for sid in ids[:3]) and f">{ids[3]}</a>" not in first
        assert f">{ids[3]}</a>" in second and f">{ids[0]}</a>" not in second
        assert 'href="/subjects?page=2"' in first and 'href="/subjects?page=1"' in second
        assert client.get("/subjects?page=0").status_code in (400, 422)
        book = client.get(f"/subjects/{ids[0]}").text
        assert "?all=labs#other" in book
        everything = client.get(f"/subjects/{ids[0]}?all=labs").text
        assert everything.count('href="/records/lab_result/') > book.count('href="/records/lab_result/')


def test_request_threads_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from cartrial.errors import InputError
    from cartrial.web import app

    monkeypatch.delenv("CARTRIAL_WEB_THREADS", raising=False)
    assert app._request_threads() == app.REQUEST_THREADS
    monkeypatch.setenv("CARTRIAL_WEB_THREADS", "12")
    assert app._request_threads() == 12
    for bad in ("0", "65", "four"):
        monkeypatch.setenv("CARTRIAL_WEB_THREADS", bad)
        with pytest.raises(InputError, match="CARTRIAL_WEB_THREADS"):
            app._request_threads()
