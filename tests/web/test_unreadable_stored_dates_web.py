"""The web answers a stored date cartrial never writes with 409 naming its record, never a 500 or the value
(issue 19, D-19.556): the request is fine, the server's data is not (``cartrial audit verify``).

Before: the record page, the API's record list and record read, and the casebook crashed in SQLAlchemy's
parser (an unexpected-error 500). A refusal of a record read must not be taken for "no such record" (404)
either. SQLite only: PostgreSQL refuses such text at the write (tests/store/test_unreadable_stored_dates.py).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

import pytest

from cartrial.errors import ConflictError

from .conftest import WebStudy
from .pages.helpers import adverse_event_entries

PLANTED = "zzzz"


def _plant(study: WebStudy, subject_id: str) -> int:
    """`PLANTED` in the infused_at of `subject_id`'s infusion (a direct change); its record id."""
    connection = sqlite3.connect(study.url.removeprefix("sqlite:///"))
    try:
        with connection:
            (record_id,) = connection.execute(
                "SELECT id FROM infusion WHERE subject_id = ?", (subject_id,)
            ).fetchone()
            connection.execute("UPDATE infusion SET infused_at = ? WHERE id = ?", (PLANTED, record_id))
    finally:
        connection.close()
    return int(record_id)


def test_the_api_answers_409_naming_the_record(web_study: WebStudy) -> None:
    record_id = _plant(web_study, "CT-001")
    client = web_study.bearer("admin")
    for path in ("/api/v1/records/infusions", f"/api/v1/records/infusions/{record_id}"):
        answer = client.get(path)
        assert answer.status_code == 409, (path, answer.status_code, answer.text)
        body = answer.json()
        assert PLANTED not in answer.text
        (problem,) = body["problems"]
        assert problem["record"] == f"infusion record {record_id}" and problem["field"] == "infused_at"
        assert problem["value"] is None and "YYYY-MM-DD" in problem["allowed"]
        assert "cartrial audit verify" in body["error"]


def test_the_record_page_answers_409_naming_the_record(web_study: WebStudy) -> None:
    record_id = _plant(web_study, "CT-001")
    client = web_study.session("admin")
    for path in (f"/records/infusion/{record_id}", "/subjects/CT-001"):
        page = client.get(path)
        assert page.status_code == 409, (path, page.status_code)
        assert PLANTED not in page.text and "Traceback" not in page.text
        assert re.search(rf"infusion record {record_id}, infused_at: not a readable date-time", page.text), (
            path
        )
        assert "cartrial db edit" in page.text, path  # how the record is corrected (D-19.560)


def test_another_sites_reader_is_not_refused_for_it(web_study: WebStudy) -> None:
    """Only what the read reads is refused: PUMCH's investigator lists PUMCH's infusion (CT-101)."""
    _plant(web_study, "CT-001")
    answer = web_study.bearer("inv2").get("/api/v1/records/infusions")
    assert answer.status_code == 200, answer.text
    assert [item["values"]["subject_id"] for item in answer.json()["items"]] == ["CT-101"]


# -- a form of another record of the subject: the edit checks read the planted infusion (review of D-19.556)

TERM = "Headache typed while another record has an unreadable date"
AE = adverse_event_entries(TERM)


def _assert_names_the_infusion(text: str, record_id: int) -> None:
    assert re.search(rf"infusion record {record_id}, infused_at: not a readable date-time", text), text
    assert "cartrial never stores" in text and "cartrial audit verify" in text, text  # the header kept
    assert PLANTED not in text and "Traceback" not in text


def test_the_live_check_does_not_say_no_findings_when_it_could_not_check(web_study: WebStudy) -> None:
    """Before D-19.557: the store's preview caught the refusal as an input problem and returned no
    findings, so the form's live check answered "ok" while the save refused. Since the save leaves the
    unreadable record out and names it (D-19.643), the live check does the same (D-19.650; this test
    asserted a 409 before — changed by design): never a bare "no findings", the record named, never its
    value; the store's preview without `unchecked` still refuses (D-19.556)."""
    from cartrial.errors import StoredValueError

    record_id = _plant(web_study, "CT-001")
    answer = web_study.bearer("admin").post(
        "/api/v1/forms/adverse_events/validate", json={"values": {**AE, "subject_id": "CT-001"}}
    )
    assert answer.status_code == 200, answer.text
    (unseen,) = answer.json()["unchecked"]
    assert unseen.startswith(f"infusion record {record_id}, infused_at: not a readable date-time"), unseen
    assert PLANTED not in answer.text
    fragment = web_study.session("admin").post(
        "/forms/adverse_events/check", data={**AE, "subject_id": "CT-001"}
    )
    assert fragment.status_code == 200, fragment.text[:2000]
    assert (
        'id="would-leave-out"' in fragment.text
        and f"infusion record {record_id}, infused_at" in fragment.text
    )
    assert PLANTED not in fragment.text
    try:
        web_study.service.as_user("admin").preview_write_checks(
            "adverse_event", {**AE, "subject_id": "CT-001"}
        )
    except StoredValueError as error:
        _assert_names_the_infusion(str(error), record_id)
    else:
        raise AssertionError("the preview answered although it could not read the subject's infusion")


def test_a_new_record_is_saved_its_checks_leaving_out_and_naming_the_other_record(
    web_study: WebStudy,
) -> None:
    """Before: a new record of a subject with another unreadable record was refused (409, D-19.556 as
    amended by D-19.557): site staff could not enter today's adverse event until a data manager repaired
    the infusion. Changed by design (D-19.643; this test asserted the 409 before): an insert runs its edit
    checks leaving the unreadable record out and names it — in the web page after the save, the API's
    `unchecked` and the insert's audit reason — as an edit does (D-19.562); never the stored value."""
    record_id = _plant(web_study, "CT-001")
    client = web_study.session("admin")
    page = client.post("/subjects/CT-001/forms/adverse_events", data=AE)
    assert page.status_code == 200, (page.status_code, page.text[:2000])
    assert TERM in page.text and PLANTED not in page.text and "Traceback" not in page.text
    notice = re.search(r'<section[^>]*id="unchecked-records".*?</section>', page.text, re.S)
    assert notice, page.text[:3000]
    assert f"infusion record {record_id}, infused_at" in notice.group(0), notice.group(0)
    other = "Fatigue typed while another record has an unreadable date"
    answer = web_study.bearer("admin").post(
        "/api/v1/records/adverse_events",
        json={"values": {**adverse_event_entries(other), "subject_id": "CT-001"}},
    )
    assert answer.status_code == 201, answer.text
    (unseen,) = answer.json()["unchecked"]
    assert unseen.startswith(f"infusion record {record_id}, infused_at") and PLANTED not in answer.text
    listed = web_study.bearer("admin").get("/api/v1/records/adverse_events?subject_id=CT-001").json()
    assert TERM in str(listed) and other in str(listed)  # both written
    reasons = _sql(
        web_study,
        "SELECT reason FROM audit_log WHERE action = 'insert' AND table_name = 'adverse_event' "
        "AND record_id = ?",
        answer.json()["id"],
    )
    assert reasons == [(f"the edit checks could not read: infusion record {record_id}, infused_at",)]


def test_a_new_record_meets_the_hard_checks_it_can_read(web_study: WebStudy) -> None:
    """Leaving an unreadable record out does not switch the other checks off: a second infusion of CT-001
    (its consent date unreadable) is still refused by INFUSION-ONCE, nothing written (D-19.643)."""
    _plant_in(web_study, "subject", "consent_date", "CT-001", "2021-13-45")
    before = _sql(web_study, "SELECT count(*) FROM infusion")
    answer = web_study.bearer("admin").post(
        "/api/v1/records/infusions",
        json={
            "values": {
                "subject_id": "CT-001",
                "infused_at": "2021-05-02T10:00:00Z",
                "dose_level": 1,
                "cells_per_kg": 1000000,
            }
        },
    )
    assert answer.status_code == 422, answer.text
    assert "INFUSION-ONCE" in answer.text and "2021-13-45" not in answer.text
    assert _sql(web_study, "SELECT count(*) FROM infusion") == before


def test_the_dashboards_answer_409_not_nothing_to_analyse(web_study: WebStudy) -> None:
    """Before: the safety and escalation views caught every refusal as "nothing to analyse yet" / "not
    available" (200), hiding that the study database holds a value cartrial never writes."""
    record_id = _plant(web_study, "CT-001")
    session = web_study.session("admin")
    for path in ("/safety", "/escalation"):
        page = session.get(path)
        assert page.status_code == 409, (path, page.status_code)
        _assert_names_the_infusion(page.text, record_id)
    answer = web_study.bearer("admin").get("/api/v1/escalation")
    assert answer.status_code == 409, answer.text
    _assert_names_the_infusion(answer.text, record_id)


# -- list pages: one unreadable record must not lock staff out of the study (D-19.559)


def _plant_in(study: WebStudy, table: str, column: str, subject_id: str, text: str) -> int:
    """`text` in `column` of `subject_id`'s (first) `table` record (a direct change); its record id."""
    connection = sqlite3.connect(study.url.removeprefix("sqlite:///"))
    try:
        with connection:
            (record_id,) = connection.execute(
                f"SELECT min(id) FROM {table} WHERE subject_id = ?", (subject_id,)
            ).fetchone()
            connection.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (text, record_id))
    finally:
        connection.close()
    return int(record_id)


def _notice(text: str) -> str:
    """The list page's notice of the records it leaves out (`id="unreadable-records"`)."""
    found = re.search(r'<section[^>]*id="unreadable-records".*?</section>', text, re.S)
    assert found, text[:3000]
    assert "cartrial audit verify" in found.group(0) and "Traceback" not in text
    return found.group(0)


def test_the_home_and_subject_list_show_the_readable_rows_and_name_the_record(web_study: WebStudy) -> None:
    """Before: the study home and the subject list answered 409 for the whole page while any one visible
    record held a stored date no reader reads."""
    infusion = _plant(web_study, "CT-001")
    crs = _plant_in(web_study, "crs_assessment", "assessed_at", "CT-101", PLANTED)
    session = web_study.session("admin")
    home = session.get("/")
    assert home.status_code == 200, (home.status_code, home.text[:2000])
    notice = _notice(home.text)
    assert f"infusion record {infusion}, infused_at" in notice
    assert f"crs_assessment record {crs}, assessed_at" in notice  # a scheduled form's day (subject_days)
    assert PLANTED not in home.text
    subjects = session.get("/subjects")
    assert subjects.status_code == 200, (subjects.status_code, subjects.text[:2000])
    assert (
        f"infusion record {infusion}, infused_at" in _notice(subjects.text) and PLANTED not in subjects.text
    )
    for subject_id in ("CT-001", "CT-002", "CT-101"):  # every subject record is readable
        assert f">{subject_id}</a>" in subjects.text, subject_id
    assert "2021-04-27" in subjects.text  # CT-101's readable infusion is shown
    # a reader of the other site sees no notice: PUMCH's investigator reads no TJH record
    other = web_study.session("inv2").get("/subjects")
    assert other.status_code == 200 and "unreadable-records" not in other.text
    assert "infusion record" not in other.text


def test_the_query_list_shows_the_readable_rows_and_the_audit_page_answers(web_study: WebStudy) -> None:
    """A date-shaped text (``2021-13-45``) in a subject's consent date: before, the query list (which
    reads the subjects for their sites) and the subject list answered 409."""
    record = _plant_in(web_study, "subject", "consent_date", "CT-002", "2021-13-45")
    session = web_study.session("admin")
    for path in ("/queries", "/subjects"):
        page = session.get(path)
        assert page.status_code == 200, (path, page.status_code, page.text[:2000])
        if path == "/subjects":
            assert f"subject record {record}, consent_date: not a date" in _notice(page.text), path
        else:  # the query list reads the subjects' ids and sites only: nothing left out (D-19.564)
            assert "unreadable-records" not in page.text, path
        assert "2021-13-45" not in page.text, path
    listed = session.get("/subjects").text
    assert ">CT-001</a>" in listed and ">CT-101</a>" in listed and ">CT-002</a>" not in listed
    assert session.get("/audit").status_code == 200


def test_the_api_repairs_the_record_and_the_list_reads_again(web_study: WebStudy) -> None:
    """The repair of D-19.560 through the API's PATCH (the version token of the record, unchanged by the
    direct change): the list that refused (409) answers 200 again."""
    record_id = _plant(web_study, "CT-001")
    client = web_study.bearer("admin")
    assert client.get("/api/v1/records/infusions").status_code == 409
    change = {
        "values": {"infused_at": "2021-04-27T02:00:00Z"},
        "reason": "corrected from the infusion record",
        "version_token": f"{record_id}-1",
    }
    # another site's reader: no such record (404), as any record of that site, never its refusal (409)
    other = web_study.bearer("inv2")
    for answer in (
        other.get(f"/api/v1/records/infusions/{record_id}"),
        other.patch(f"/api/v1/records/infusions/{record_id}", json=change),
    ):
        assert answer.status_code == 404, answer.text
        assert "infused_at" not in answer.text
    answer = client.patch(
        f"/api/v1/records/infusions/{record_id}",
        json=change,
    )
    assert answer.status_code == 200, answer.text
    assert PLANTED not in answer.text and answer.json()["version"] == 2
    listed = client.get("/api/v1/records/infusions")
    assert listed.status_code == 200, listed.text
    (item,) = [i for i in listed.json()["items"] if i["values"]["subject_id"] == "CT-001"]
    assert item["values"]["infused_at"].startswith("2021-04-27")


def test_the_api_repair_changes_only_the_date_and_names_what_the_checks_could_not_read(
    web_study: WebStudy,
) -> None:
    """A repair changing another field is refused (422) naming it (D-19.561); a repair while another
    record of the subject is unreadable goes through, its answer naming that record (D-19.562)."""
    record_id = _plant(web_study, "CT-001")
    subject = _plant_in(web_study, "subject", "consent_date", "CT-001", "2021-13-45")
    client = web_study.bearer("admin")
    change = {
        "values": {"infused_at": "2021-04-27T02:00:00Z", "dose_level": 3},
        "reason": "corrected from the infusion record",
        "version_token": f"{record_id}-1",
    }
    refused = client.patch(f"/api/v1/records/infusions/{record_id}", json=change)
    assert refused.status_code == 422, refused.text
    assert "dose_level" in refused.text and PLANTED not in refused.text
    change["values"] = {"infused_at": "2021-04-27T02:00:00Z"}
    answer = client.patch(f"/api/v1/records/infusions/{record_id}", json=change)
    assert answer.status_code == 200, answer.text
    (unseen,) = answer.json()["unchecked"]
    assert unseen.startswith(f"subject record {subject}, consent_date: not a date"), unseen
    assert "2021-13-45" not in answer.text and PLANTED not in answer.text


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _all_sites(html: str) -> list[str]:
    """The cells of the home's "All sites" enrolment row: each dose level, not infused, total."""
    found = re.search(r"All sites</th>(.*?)</tr>", html, re.S)
    assert found, html[:3000]
    return re.findall(r'<td class="num">(\d+)</td>', found.group(1))


def test_a_subject_whose_infusion_is_left_out_is_marked_not_counted_as_not_infused(
    web_study: WebStudy,
) -> None:
    """Before: the subject list showed CT-001 (its only infusion unreadable) as "not infused", the home
    counted it under not infused, and with a later second infusion showed that one's day 0 and dose level;
    the notice said the record was "not counted". Now its row is marked, the home leaves it out of the
    level and not-infused counts and completeness, and the notice names it (D-19.563)."""
    session = web_study.session("admin")
    before = _all_sites(session.get("/").text)
    connection = sqlite3.connect(web_study.url.removeprefix("sqlite:///"))
    try:
        columns = [r[1] for r in connection.execute("PRAGMA table_info(infusion)") if r[1] != "id"]
        chosen = ", ".join(
            "'2021-06-01 02:00:00.000000'" if c == "infused_at" else "2" if c == "dose_level" else c
            for c in columns
        )
        with connection:  # a second, later infusion of another dose level
            connection.execute(
                f"INSERT INTO infusion ({', '.join(columns)}) SELECT {chosen} FROM infusion "
                "WHERE subject_id = 'CT-001'"
            )
    finally:
        connection.close()
    record_id = _plant(web_study, "CT-001")  # the first infusion
    admin = web_study.service.as_user("admin")  # an audited write: the home's cache sees a new version
    admin.raise_query("subject", int(admin.find_records("subject", subject_id="CT-101")[0]["id"]), "check")
    listed = session.get("/subjects").text
    row = re.search(r">CT-001</a>.*?</tr>", listed, re.S)
    assert row, listed[:3000]
    assert "infusion record unreadable" in row.group(0) and "not infused" not in row.group(0)
    assert "2021-06-01" not in row.group(0)
    assert "CT-001" in _notice(listed) and PLANTED not in listed
    home = session.get("/").text
    notice = _text(_notice(home))
    assert (
        f"infusion record {record_id}, infused_at" in notice and "Subjects of these records: CT-001" in notice
    )
    assert "not shown or counted" not in notice and "dose-level and not-infused counts" in notice
    after = _all_sites(home)
    levels_before, levels_after = sum(map(int, before[:-2])), sum(map(int, after[:-2]))
    assert after[-2:] == [before[-2], before[-1]] and levels_after == levels_before - 1, (before, after)


def test_a_subject_with_an_unreadable_consent_date_keeps_its_queries(web_study: WebStudy) -> None:
    """Before: the query list and the home's open-query count read whole subject rows to map a subject to
    its site, so a subject with an unreadable consent date lost its queries there (D-19.564)."""
    admin = web_study.service.as_user("admin")
    subject = int(admin.find_records("subject", subject_id="CT-002")[0]["id"])
    code = admin.raise_query("subject", subject, "please check consent")
    count_before = re.search(
        r'(\d+)</span> <a href="/queries\?status=open"', web_study.session("admin").get("/").text
    )
    assert count_before
    _plant_in(web_study, "subject", "consent_date", "CT-002", "2021-13-45")
    for user in ("admin", "inv"):
        page = web_study.session(user).get("/queries")
        assert page.status_code == 200 and code in page.text, user
    home = web_study.session("admin").get("/").text
    count = re.search(r'(\d+)</span> <a href="/queries\?status=open"', home)
    assert count and count.group(1) == count_before.group(1)
    assert web_study.session("admin").get("/queries?site=TJH").text.count(code) >= 1


def test_a_mass_change_past_the_bound_is_a_bounded_409_not_too_many_sql_variables(
    web_study: WebStudy,
) -> None:
    """Before: 260,000 planted records made the study home a 400 "too many SQL variables" (each id bound
    in ``NOT IN``). Past `LEAVE_OUT_BOUND` records a read is refused as before: 409, bounded (D-19.565)."""
    from cartrial.store.stored_dates import LEAVE_OUT_BOUND

    _plant_crs_copies(web_study, ("assessed_at",), LEAVE_OUT_BOUND + 1)
    home = web_study.session("admin").get("/")
    assert home.status_code == 409, (home.status_code, home.text[-2000:])
    assert "too many" not in home.text.lower() and "zz1" not in home.text
    assert "crs_assessment record " in home.text and "Traceback" not in home.text


# -- review 2 of D-19.559 to D-19.566


def _sql(study: WebStudy, statement: str, *params: object) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(study.url.removeprefix("sqlite:///"))
    try:
        with connection:
            return connection.execute(statement, params).fetchall()
    finally:
        connection.close()


def _plant_crs_copies(study: WebStudy, fields: tuple[str, ...], count: int) -> None:
    """`count` copies of CT-001's first CRS assessment written straight into the database, copy n with
    each of `fields` set to the unreadable text "zz<n>"."""
    connection = sqlite3.connect(study.url.removeprefix("sqlite:///"))
    try:
        columns = [r[1] for r in connection.execute("PRAGMA table_info(crs_assessment)") if r[1] != "id"]
        (template,) = connection.execute(
            f"SELECT {', '.join(columns)} FROM crs_assessment WHERE subject_id = 'CT-001' LIMIT 1"
        ).fetchall()
        planted = {columns.index(field) for field in fields}
        rows = [tuple(f"zz{n}" if i in planted else v for i, v in enumerate(template)) for n in range(count)]
        with connection:
            connection.executemany(
                f"INSERT INTO crs_assessment ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                rows,
            )
    finally:
        connection.close()


def _refusal(call: Callable[[], object]) -> str:
    """The class of what `call()` raised ("OK": nothing)."""
    try:
        call()
    except Exception as error:  # the class is the answer compared
        return type(error).__name__
    return "OK"


def test_another_sites_user_learns_nothing_of_a_records_stored_values(web_study: WebStudy) -> None:
    """Before: the repair's and the no-op's checks ran before the site check, so PUMCH's investigator got
    "OK" for a no-op edit of PUMCH-foreign CT-001's infusion giving its stored dose level and a refusal for
    another one, and, with its date planted, a repair refusal naming the field for a changed dose level
    and a permission refusal for the stored one: an oracle of another site's values (D-19.566, amended).
    Now each answer is the permission refusal."""
    (record_id,) = _sql(web_study, "SELECT id FROM infusion WHERE subject_id = 'CT-001'")[0]
    (level,) = _sql(web_study, "SELECT dose_level FROM infusion WHERE id = ?", record_id)[0]
    service = web_study.service
    for other in (level, int(level) % 3 + 1):  # readable: the stored dose level and another
        answer = _refusal(
            lambda o=other: service.update_record("inv2", "infusion", record_id, {"dose_level": o}, 1, "x")
        )
        assert answer == "PermissionDeniedError", (other, answer)
    _plant(web_study, "CT-001")
    date = "2021-04-27T02:00:00Z"
    for change in ({"dose_level": level}, {"dose_level": int(level) % 3 + 1}, {"weight_kg": 61}, {}):
        answer = _refusal(
            lambda c=change: service.update_record(
                "inv2", "infusion", record_id, {"infused_at": date, **c}, 1, "x"
            )
        )
        assert answer == "PermissionDeniedError", (change, answer)
    for change in ({"dose_level": level}, {"weight_kg": 61}):  # no repair: the refusal is still the site's
        answer = _refusal(lambda c=change: service.update_record("inv2", "infusion", record_id, c, 1, "x"))
        assert answer == "PermissionDeniedError", (change, answer)
    assert _refusal(lambda: service.delete_record("inv2", "infusion", record_id, "x")) == (
        "PermissionDeniedError"
    )
    _sql(
        web_study,
        "UPDATE infusion SET infused_at = '2021-04-27 02:00:00.000000', updated_at = ? WHERE id = ?",
        PLANTED,
        record_id,
    )
    answer = _refusal(
        lambda: service.update_record("inv2", "infusion", record_id, {"dose_level": level}, 1, "x")
    )
    assert answer == "PermissionDeniedError", answer


def _queries(study: WebStudy) -> list[tuple[object, ...]]:
    return _sql(study, "SELECT query_code, table_name, record_id, status FROM data_query ORDER BY id")


def _open_lymphodepletion_query(study: WebStudy) -> int:
    """A lymphodepletion of CT-001 on day +10 (after its infusion): the edit checks raise an open query on
    it; its record id."""
    study.service.insert_record(
        "admin",
        "lymphodepletion_administration",
        {"subject_id": "CT-001", "drug": "fludarabine", "administered_on": "2021-05-10"},
        "api",
    )
    (record_id,) = _sql(study, "SELECT max(id) FROM lymphodepletion_administration")[0]
    opened = [q for q in _queries(study) if q[1] == "lymphodepletion_administration" and q[2] == record_id]
    assert opened and all(q[3] == "open" for q in opened), _queries(study)
    return int(record_id)


def _repair_crs(study: WebStudy, crs: int) -> list[object]:
    """The admin's repair of CRS record `crs`'s planted date; what its checks could not read."""
    unchecked: list[object] = []
    study.service.update_record(
        "admin",
        "crs_assessment",
        crs,
        {"assessed_at": "2021-04-30T10:00:00Z"},
        1,
        "repair",
        unchecked=unchecked,
    )
    return unchecked


def test_a_query_is_not_closed_by_a_write_while_the_subjects_infusion_is_left_out(
    web_study: WebStudy,
) -> None:
    """Before: a repair of CT-001's CRS date, its infusion date unreadable (left out of the checks), closed
    the open query on its lymphodepletion "by the system: no longer fires after the write" — it did not fire
    only because the infusion was not read. A query of a subject with left-out records stays open
    (D-19.562, amended)."""
    _open_lymphodepletion_query(web_study)
    before = _queries(web_study)
    _plant(web_study, "CT-001")
    crs = _plant_in(web_study, "crs_assessment", "assessed_at", "CT-001", PLANTED)
    unchecked = _repair_crs(web_study, crs)
    # the queries before all kept open; the repair's own CHECKS-LEFT-OUT query added (D-19.652: the
    # comparison was `== before` until then — changed by design)
    after = _queries(web_study)
    assert after[: len(before)] == before
    assert [(q[1], q[2], q[3]) for q in after[len(before) :]] == [("crs_assessment", crs, "open")]
    assert [row[:3] for row in _left_out_queries(web_study)] == [("crs_assessment", crs, "open")]
    assert any("infusion record" in str(p) for p in unchecked), unchecked
    closures = _sql(
        web_study, "SELECT count(*) FROM audit_log WHERE table_name = 'data_query' AND field = 'status'"
    )
    assert closures == [(0,)]


def test_an_open_query_on_another_unreadable_record_does_not_block_a_repair(web_study: WebStudy) -> None:
    """Before: the reconciling re-read the records with open queries by id outside the leaving-out, so the
    open query on CT-001's lymphodepletion, its date planted, refused the repair of the CRS date with an
    unlocated "not a date" (no record): the deadlock of D-19.562 again. The record is left out, named, and
    its query kept open (D-19.562, amended)."""
    record_id = _open_lymphodepletion_query(web_study)
    before = _queries(web_study)
    _plant_in(web_study, "lymphodepletion_administration", "administered_on", "CT-001", PLANTED)
    crs = _plant_in(web_study, "crs_assessment", "assessed_at", "CT-001", PLANTED)
    unchecked = _repair_crs(web_study, crs)
    assert _queries(web_study) == before
    named = [str(p) for p in unchecked]
    assert any(f"lymphodepletion_administration record {record_id}, administered_on" in p for p in named), (
        named
    )
    assert PLANTED not in str(named)


def test_a_subject_with_unreadable_records_is_not_trapped_and_the_trail_names_the_partial_checks(
    web_study: WebStudy,
) -> None:
    """Before: CT-001's consent date and infusion date planted; the infusion repaired to 2020-01-01 was
    accepted (its hard check against the unreadable consent skipped); then the true consent date was
    refused (INFUSION-BEFORE-CONSENT) and an ordinary edit of the infusion was refused by the unreadable
    consent: the subject was trapped. Every edit of a subject with unreadable records now runs its checks
    leaving them out, names them (`unchecked`) and its audit rows' reason says the checks were partial
    (D-19.562, amended)."""
    (subject,) = _sql(web_study, "SELECT id FROM subject WHERE subject_id = 'CT-001'")[0]
    _sql(web_study, "UPDATE subject SET consent_date = '2021-13-45' WHERE id = ?", subject)
    infusion = _plant(web_study, "CT-001")
    service = web_study.service
    named = f"subject record {subject}, consent_date"
    unchecked: list[object] = []
    service.update_record(
        "admin", "infusion", infusion, {"infused_at": "2020-01-01T00:00:00Z"}, 1, "fix", unchecked=unchecked
    )
    assert [str(p).startswith(named) for p in unchecked] == [True], unchecked
    unchecked.clear()
    assert (
        service.update_record(
            "admin",
            "infusion",
            infusion,
            {"infused_at": "2021-04-27T02:00:00Z"},
            2,
            "typo",
            unchecked=unchecked,
        )
        == 3
    )
    assert [str(p).startswith(named) for p in unchecked] == [True], unchecked
    reasons = _sql(
        web_study,
        "SELECT reason FROM audit_log WHERE table_name = 'infusion' AND record_id = ? "
        "AND field = 'infused_at' ORDER BY id",
        infusion,
    )
    assert [r[0] for r in reasons] == [
        f"fix (the edit checks could not read: {named})",
        f"typo (the edit checks could not read: {named})",
    ]
    assert service.update_record("admin", "subject", subject, {"consent_date": "2021-04-01"}, 1, "fix") == 2
    assert "2021-13-45" not in str(_sql(web_study, "SELECT reason FROM audit_log")) + str(unchecked)


def test_an_unreadable_crs_date_leaves_its_subject_in_the_dose_level_counts(web_study: WebStudy) -> None:
    """Before: one planted CRS assessment date of CT-001 moved it out of its dose level on the home (the
    level's count dropped): any left-out record left its subject out of the level counts. Only a left-out
    infusion does (its level cannot be told); completeness still leaves the subject out (D-19.563,
    amended)."""
    session = web_study.session("admin")
    home = session.get("/").text
    before = _all_sites(home)
    due_before = re.search(r"(\d+(?:\.\d+)?)\s*%", _text(home))
    _plant_in(web_study, "crs_assessment", "assessed_at", "CT-001", PLANTED)
    admin = web_study.service.as_user("admin")  # an audited write: the home's cache sees a new version
    admin.raise_query("subject", int(admin.find_records("subject", subject_id="CT-101")[0]["id"]), "check")
    home = session.get("/").text
    assert _all_sites(home) == before, (before, _all_sites(home))
    notice = _text(_notice(home))
    assert "Subjects of these records: CT-001" in notice and "completeness" in notice, notice
    assert due_before is not None and PLANTED not in home


def test_the_bound_counts_records_not_their_fields(web_study: WebStudy) -> None:
    """Before: `LEAVE_OUT_BOUND` counted one per unreadable field, so 501 records with two planted dates
    each (1,002 fields) made the home a 409 although only 501 records were left out (D-19.565, amended)."""
    from cartrial.store.stored_dates import LEAVE_OUT_BOUND

    _plant_crs_copies(web_study, ("assessed_at", "updated_at"), LEAVE_OUT_BOUND // 2 + 1)
    home = web_study.session("admin").get("/")
    assert home.status_code == 200, (home.status_code, home.text[-2000:])
    assert "crs_assessment record " in _notice(home.text) and "zz1" not in home.text


def test_a_delete_of_a_subject_with_an_unreadable_record_names_it_in_the_trail(web_study: WebStudy) -> None:
    """Before: deleting CT-001's CRS assessment was refused by its unreadable consent date (the delete's
    reconciling checks read the subject's records). A delete, as an edit, runs its checks leaving such
    records out and its audit row's reason names them (D-19.562, amended)."""
    subject = _plant_in(web_study, "subject", "consent_date", "CT-001", "2021-13-45")
    (crs,) = _sql(web_study, "SELECT min(id) FROM crs_assessment WHERE subject_id = 'CT-001'")[0]
    unchecked: list[object] = []
    web_study.service.delete_record("admin", "crs_assessment", crs, "entered twice", unchecked=unchecked)
    named = f"subject record {subject}, consent_date"
    assert [str(p).startswith(named) for p in unchecked] == [True], unchecked
    assert _sql(web_study, "SELECT count(*) FROM crs_assessment WHERE id = ?", crs) == [(0,)]
    reasons = _sql(
        web_study,
        "SELECT reason FROM audit_log WHERE action = 'delete' AND table_name = 'crs_assessment' "
        "AND record_id = ?",
        crs,
    )
    assert reasons == [(f"entered twice (the edit checks could not read: {named})",)]
    infusion = _sql(web_study, "SELECT min(id) FROM infusion WHERE subject_id = 'CT-001'")[0][0]
    answer = web_study.bearer("admin").delete(
        f"/api/v1/records/infusions/{infusion}", params={"reason": "entered twice"}
    )
    assert answer.status_code == 200, answer.text
    (unseen,) = answer.json()["unchecked"]
    assert unseen.startswith(named) and "2021-13-45" not in answer.text


def _unchecked_notice(html: str) -> str:
    """The record page's notice of the records a save's edit checks could not read (D-19.644)."""
    found = re.search(r'<section[^>]*id="unchecked-records".*?</section>', html, re.S)
    assert found, html[:3000]
    return found.group(0)


def test_the_record_page_names_what_an_edits_checks_could_not_read(web_study: WebStudy) -> None:
    """Before: an edit of CT-001's CRS assessment, its infusion date unreadable, was saved and the page
    said only "updated": the API named the left-out infusion (`unchecked`), the web form did not
    (D-19.644). The notice names the record and field, never the value, and a forged parameter that names
    no record is not shown."""
    infusion = _plant(web_study, "CT-001")
    crs = int(_sql(web_study, "SELECT min(id) FROM crs_assessment WHERE subject_id = 'CT-001'")[0][0])
    client = web_study.session("dm")
    page = client.post(
        f"/records/crs_assessment/{crs}", data={"temperature_c": "38.6", "version": "1", "reason": "re-read"}
    )
    assert page.status_code == 200, (page.status_code, page.text[:2000])
    notice = _unchecked_notice(page.text)
    assert f"infusion record {infusion}, infused_at" in notice and PLANTED not in page.text, notice
    assert _sql(web_study, "SELECT temperature_c FROM crs_assessment WHERE id = ?", crs) == [(38.6,)]
    forged = client.get(f"/records/crs_assessment/{crs}?done=updated&unchecked=<b>zzzz</b>")
    assert "<b>zzzz" not in forged.text and "zzzz" not in forged.text


def test_the_checks_left_out_notice_is_computed_never_taken_from_the_link(web_study: WebStudy) -> None:
    """Before: the notice was carried in the redirect's URL (`?done=x&unchecked=subject record 3,
    consent_date`): a link could make a record page say that records were left out (review of D-19.644).
    The record page computes it from the stored records (D-19.644, amended): a forged parameter shows
    nothing; a record of a subject with an unreadable record names it, even without a save."""
    other = int(_sql(web_study, "SELECT min(id) FROM crs_assessment WHERE subject_id = 'CT-101'")[0][0])
    forged = "done=updated&unchecked=subject record 3, consent_date"
    page = web_study.session("admin").get(f"/records/crs_assessment/{other}?{forged}")
    assert page.status_code == 200 and 'id="unchecked-records"' not in page.text
    assert "subject record 3" not in page.text
    infusion = _plant(web_study, "CT-001")
    crs = int(_sql(web_study, "SELECT min(id) FROM crs_assessment WHERE subject_id = 'CT-001'")[0][0])
    page = web_study.session("admin").get(f"/records/crs_assessment/{crs}?{forged}")
    notice = _unchecked_notice(page.text)
    assert f"infusion record {infusion}, infused_at" in notice and "subject record 3" not in page.text
    assert PLANTED not in page.text


def test_a_reason_of_the_longest_length_is_kept_whole_with_the_bounded_note(web_study: WebStudy) -> None:
    """A reason of `MAX_REASON_LENGTH` characters and 25 unreadable CRS assessment dates of CT-001: the
    edit is saved, its audit reason is the whole reason (never cut) and the note naming `REASON_RECORDS`
    records then "and 5 more record(s)" — longer than what a user may type, by a bounded note (D-19.645)."""
    from cartrial.store.stored_dates import REASON_RECORDS
    from cartrial.store.tables import MAX_REASON_LENGTH

    _plant_crs_copies(web_study, ("assessed_at",), 25)
    (infusion,) = _sql(web_study, "SELECT min(id) FROM infusion WHERE subject_id = 'CT-001'")[0]
    reason = "r" * (MAX_REASON_LENGTH - 1) + "."
    unchecked: list[object] = []
    web_study.service.update_record(
        "admin", "infusion", int(infusion), {"viability_pct": 77}, 1, reason, unchecked=unchecked
    )
    assert len(unchecked) == 25
    ((stored,),) = _sql(
        web_study, "SELECT reason FROM audit_log WHERE table_name = 'infusion' AND field = 'viability_pct'"
    )
    assert stored.startswith(reason + " (the edit checks could not read: crs_assessment record ")
    assert stored.endswith("; and 5 more record(s))") and stored.count(", assessed_at") == REASON_RECORDS
    assert len(stored) > MAX_REASON_LENGTH and "zz" not in stored


def test_a_subject_with_an_unreadable_consent_date_gets_new_records_from_its_forms(
    web_study: WebStudy,
) -> None:
    """Before: with CT-001's own consent date unreadable, the new-record form of any of its forms answered
    409 (the page found the subject by reading its whole record) and so did the save: the site could not
    enter an adverse event. The subject is found by its id and site (D-19.649); the save names the record
    its checks could not read (D-19.643); the casebook, which shows the subject record, keeps its 409."""
    subject = _plant_in(web_study, "subject", "consent_date", "CT-001", "2021-13-45")
    client = web_study.session("dm")
    for form in ("adverse_events", "crs_assessments"):
        page = client.get(f"/subjects/CT-001/forms/{form}/new")
        assert page.status_code == 200, (form, page.status_code)
    saved = client.post("/subjects/CT-001/forms/adverse_events", data=AE)
    assert saved.status_code == 200, (saved.status_code, saved.text[:2000])
    assert f"subject record {subject}, consent_date" in _unchecked_notice(saved.text)
    assert "2021-13-45" not in saved.text
    assert client.get("/subjects/CT-001").status_code == 409


# -- a hard check that needs the left-out record refuses; a soft one raises a query (review of D-19.643)

SECOND_INFUSION = {
    "subject_id": "CT-001",
    "infused_at": "2021-05-02T10:00:00Z",
    "dose_level": 1,
    "cells_per_kg": 1000000,
}


def _left_out_queries(study: WebStudy) -> list[tuple[object, ...]]:
    return _sql(
        study,
        "SELECT table_name, record_id, status, text FROM data_query "
        "WHERE text LIKE 'Edit check CHECKS-LEFT-OUT%'",
    )


def _open_left_out_query(study: WebStudy, table: str, record_id: object) -> str:
    """The text of the one CHECKS-LEFT-OUT query, asserted open on record `record_id` of `table`."""
    ((found_table, found_id, status, text),) = _left_out_queries(study)
    assert (found_table, found_id, status) == (table, record_id, "open")
    return str(text)


def _post_adverse_event_leaving_checks_out(
    study: WebStudy, user: str, subject_id: str, term: str, started_on: str, ended_on: str
) -> int:
    """POST a new adverse event through the API: saved (201) with only a CHECKS-LEFT-OUT query; its id."""
    event = {**adverse_event_entries(term), "started_on": started_on, "ended_on": ended_on}
    answer = study.bearer(user).post(
        "/api/v1/records/adverse_events", json={"values": {**event, "subject_id": subject_id}}
    )
    assert answer.status_code == 201, answer.text
    assert [q["check"] for q in answer.json()["queries"]] == ["CHECKS-LEFT-OUT"]
    return int(answer.json()["id"])


def test_a_second_infusion_is_refused_while_the_first_is_unreadable_and_the_repair_goes_through(
    web_study: WebStudy,
) -> None:
    """Before: with CT-001's infusion date unreadable a second infusion was saved (201; INFUSION-ONCE
    could not read the first infusion and was skipped), and the repair of the first was then refused by
    INFUSION-ONCE: a deadlock. A hard check of the written table that reads a table with a left-out record
    refuses (409, naming the record, never its value); the repair goes through (D-19.651)."""
    record_id = _plant(web_study, "CT-001")
    before = _sql(web_study, "SELECT count(*) FROM infusion")
    answer = web_study.bearer("admin").post("/api/v1/records/infusions", json={"values": SECOND_INFUSION})
    assert answer.status_code == 409, answer.text
    assert "INFUSION-ONCE" in answer.text and PLANTED not in answer.text
    (problem,) = answer.json()["problems"]
    assert problem["record"] == f"infusion record {record_id}" and problem["field"] == "infused_at"
    assert problem["value"] is None
    assert _sql(web_study, "SELECT count(*) FROM infusion") == before
    web_study.service.update_record(
        "admin", "infusion", record_id, {"infused_at": "2021-04-27T02:00:00Z"}, 1, "repaired from source"
    )
    again = web_study.bearer("admin").post("/api/v1/records/infusions", json={"values": SECOND_INFUSION})
    assert again.status_code == 422 and "INFUSION-ONCE" in again.text, again.text


def test_an_infusion_of_a_subject_with_an_unreadable_consent_is_refused_and_the_form_keeps_it(
    web_study: WebStudy,
) -> None:
    """Before: CT-002's consent date unreadable, an infusion dated before the consent was saved with no
    query (INFUSION-BEFORE-CONSENT skipped). Refused now (409 naming the subject record; the live check
    says the same), and the web form's 409 keeps what the user typed (D-19.651)."""
    subject = _plant_in(web_study, "subject", "consent_date", "CT-002", "2021-13-45")
    values = {**SECOND_INFUSION, "subject_id": "CT-002", "infused_at": "2020-01-02T10:00:00Z"}
    answer = web_study.bearer("admin").post("/api/v1/records/infusions", json={"values": values})
    assert answer.status_code == 409, answer.text
    assert "INFUSION-BEFORE-CONSENT" in answer.text and "2021-13-45" not in answer.text
    assert any(p["record"] == f"subject record {subject}" for p in answer.json()["problems"])
    assert _sql(web_study, "SELECT count(*) FROM infusion WHERE subject_id = 'CT-002'") == [(0,)]
    check = web_study.bearer("admin").post("/api/v1/forms/infusions/validate", json={"values": values})
    assert check.status_code == 409 and "INFUSION-BEFORE-CONSENT" in check.text, check.text
    page = web_study.session("dm").post(
        "/subjects/CT-002/forms/infusions",
        data={"infused_at": "2020-01-02T10:00:00Z", "dose_level": "1", "cells_per_kg": "1234567"},
    )
    assert page.status_code == 409, (page.status_code, page.text[:2000])
    assert f"subject record {subject}, consent_date" in page.text and "2021-13-45" not in page.text
    assert 'value="1234567"' in page.text  # what the user typed is kept


def test_an_edit_blind_to_a_hard_check_is_queried_and_the_repair_runs_the_check(web_study: WebStudy) -> None:
    """The same hole in an edit (D-19.562): CT-001's consent unreadable, its infusion moved before the
    consent was saved with nothing said. An edit is not refused for it (it is the way out of the conflict,
    test_a_subject_with_unreadable_records_is_not_trapped_…): it raises a CHECKS-LEFT-OUT query; the
    consent's repair runs INFUSION-BEFORE-CONSENT and refuses the conflict, naming the infusion; the
    infusion corrected, the repair goes through and closes the query (D-19.651, D-19.652)."""
    subject = _plant_in(web_study, "subject", "consent_date", "CT-001", "2021-13-45")
    (infusion,) = _sql(web_study, "SELECT id FROM infusion WHERE subject_id = 'CT-001'")[0]
    service = web_study.service
    service.update_record("admin", "infusion", int(infusion), {"infused_at": "2021-03-01T10:00:00Z"}, 1, "t")
    text = _open_left_out_query(web_study, "infusion", infusion)
    assert f"subject record {subject}, consent_date" in text and "2021-13-45" not in text
    refusal = _refusal(
        lambda: service.update_record("admin", "subject", subject, {"consent_date": "2021-04-01"}, 1, "r")
    )
    assert refusal == "InputError"
    service.update_record("admin", "infusion", int(infusion), {"infused_at": "2021-04-27T02:00:00Z"}, 2, "t")
    service.update_record("admin", "subject", subject, {"consent_date": "2021-04-01"}, 1, "repaired")
    assert [row[2] for row in _left_out_queries(web_study)] == ["closed"]


def test_a_new_record_whose_soft_checks_left_records_out_raises_a_query_closed_by_the_repair(
    web_study: WebStudy,
) -> None:
    """Only soft checks skipped: the record is saved and a data query (CHECKS-LEFT-OUT) on it names the
    records left out, on the data manager's worklist; the repair closes it and runs the skipped checks
    (AE-BEFORE-CONSENT raises its query) (D-19.652)."""
    subject = _plant_in(web_study, "subject", "consent_date", "CT-002", "2021-13-45")
    event = _post_adverse_event_leaving_checks_out(
        web_study, "admin", "CT-002", "Early rash", "2021-01-10", "2021-01-12"
    )
    text = _open_left_out_query(web_study, "adverse_event", event)
    assert f"subject record {subject}, consent_date" in text and "2021-13-45" not in text
    web_study.service.update_record(
        "admin", "subject", subject, {"consent_date": "2021-05-01"}, 1, "repaired from source"
    )
    assert [row[2] for row in _left_out_queries(web_study)] == ["closed"]
    rerun = _sql(web_study, "SELECT status FROM data_query WHERE text LIKE 'Edit check AE-BEFORE-CONSENT%'")
    assert rerun == [("open",)]


def test_the_casebooks_409_links_the_subjects_new_record_forms(web_study: WebStudy) -> None:
    """Before: with CT-001's consent date unreadable its casebook answered 409 with no way on; the forms
    that take its new records (D-19.649) opened only from a typed URL. The 409 page says a data manager
    repairs the record and links each new-record form of the subject (D-19.703)."""
    subject = _plant_in(web_study, "subject", "consent_date", "CT-001", "2021-13-45")
    page = web_study.session("inv").get("/subjects/CT-001")
    assert page.status_code == 409
    assert f"subject record {subject}, consent_date" in page.text and "2021-13-45" not in page.text
    assert "data manager" in page.text
    links = re.findall(r'href="(/subjects/CT-001/forms/[a-z_]+/new)"', page.text)
    assert "/subjects/CT-001/forms/adverse_events/new" in links, links
    for link in links[:2]:
        assert web_study.session("inv").get(link).status_code == 200, link
    assert web_study.session("mon").get("/subjects/CT-001").text.count("/forms/") == 0  # may not enter


def test_a_checks_left_out_query_on_a_record_outside_the_context_tables_stays_open(
    web_study: WebStudy,
) -> None:
    """Before: CT-001's CRS assessment date unreadable, a new adverse event raised CHECKS-LEFT-OUT and the
    same write closed it ("no longer fires"): the reconciling read only the subject, infusion and adverse
    event records, found nothing left out. It stays open until a read of every checked table of the subject
    leaves nothing out; the CRS repair closes it (D-19.652)."""
    crs = _plant_in(web_study, "crs_assessment", "assessed_at", "CT-001", PLANTED)
    event = _post_adverse_event_leaving_checks_out(
        web_study, "dm", "CT-001", "Rash", "2021-05-10", "2021-05-12"
    )
    text = _open_left_out_query(web_study, "adverse_event", event)
    assert f"crs_assessment record {crs}, assessed_at" in text
    closures = "SELECT count(*) FROM audit_log WHERE table_name = 'data_query' AND field = 'status'"
    assert _sql(web_study, closures) == [(0,)]
    web_study.service.update_record(
        "admin", "crs_assessment", crs, {"assessed_at": "2021-05-02T10:00:00Z"}, 1, "repaired from source"
    )
    assert [row[2] for row in _left_out_queries(web_study)] == ["closed"]


def test_an_edit_skipping_a_hard_check_on_a_relapse_keeps_its_query_open(web_study: WebStudy) -> None:
    """Before: CT-001's relapse onset unreadable, its birth year edited to 2021 (after the 2020 onset:
    RELAPSE-BEFORE-BIRTH could not run) was saved and its CHECKS-LEFT-OUT query closed in the same write,
    nothing on the worklist. The query stays open and names the skipped hard check (D-19.652)."""
    service = web_study.service
    relapse = {"onset_date": "2020-06-01", "phenotype": "myelitis", "severity": "severe"}
    relapse |= {"subject_id": "CT-001", "adjudicated": "confirmed"}
    service.insert_record("admin", "relapse", relapse, "api")
    record = _plant_in(web_study, "relapse", "onset_date", "CT-001", "2020-13-45")
    ((subject,),) = _sql(web_study, "SELECT id FROM subject WHERE subject_id = 'CT-001'")
    service.update_record("admin", "subject", int(subject), {"birth_year": 2021}, 1, "birth year")
    text = _open_left_out_query(web_study, "subject", subject)
    assert f"relapse record {record}, onset_date" in text and "2020-13-45" not in text
    assert "RELAPSE-BEFORE-BIRTH" in text


def test_a_record_moved_to_a_subject_with_an_unreadable_record_is_refused(web_study: WebStudy) -> None:
    """Before: CT-002's infusion edited to subject CT-001 (whose infusion date is unreadable) was saved: a
    record moved is checked as new among the new subject's records (D-19.146), INFUSION-ONCE was skipped,
    and CT-001 had two infusions. Refused as a new infusion is (409 naming the record, D-19.651)."""
    service = web_study.service
    service.insert_record("admin", "infusion", {**SECOND_INFUSION, "subject_id": "CT-002"}, "api")
    ((moved,),) = _sql(web_study, "SELECT id FROM infusion WHERE subject_id = 'CT-002'")
    first = _plant(web_study, "CT-001")
    change = {"subject_id": "CT-001"}
    assert _refusal(lambda: service.update_record("admin", "infusion", int(moved), change, 1, "moved")) == (
        "StoredValueError"
    )
    assert _sql(web_study, "SELECT count(*) FROM infusion WHERE subject_id = 'CT-001'") == [(1,)]
    preview = web_study.service.as_user("admin")
    previewed = _refusal(lambda: preview.preview_write_checks("infusion", change, int(moved), []))
    assert previewed == "StoredValueError"
    service.update_record("admin", "infusion", first, {"infused_at": "2021-04-27T02:00:00Z"}, 1, "repaired")
    assert _refusal(lambda: service.update_record("admin", "infusion", int(moved), change, 1, "moved")) == (
        "InputError"
    )  # INFUSION-ONCE now runs


def test_the_casebooks_409_leaves_out_the_forms_a_hard_check_would_refuse(web_study: WebStudy) -> None:
    """Before: CT-001's consent date unreadable, the 409 linked "New infusion" and "New relapse", whose
    saves are always refused (INFUSION-BEFORE-CONSENT, RELAPSE-BEFORE-BIRTH compare them with the subject
    record, D-19.651). Only forms that can save are linked; an adverse event still is (D-19.703)."""
    _plant_in(web_study, "subject", "consent_date", "CT-001", "2021-13-45")
    page = web_study.session("dm").get("/subjects/CT-001")
    assert page.status_code == 409
    links = re.findall(r'href="/subjects/CT-001/forms/([a-z_]+)/new"', page.text)
    assert "adverse_events" in links and "infusions" not in links and "relapses" not in links, links


def test_the_live_check_shows_a_refusal_of_the_save_in_the_fragment(web_study: WebStudy) -> None:
    """Before: CT-002's consent date unreadable, the live check of an infusion answered the full 409 error
    page, which htmx does not swap in: the user saw nothing. The fragment (200) shows the refusal among the
    form's problems, naming the record, never its value (D-19.650, D-19.651)."""
    subject = _plant_in(web_study, "subject", "consent_date", "CT-002", "2021-13-45")
    values = {"subject_id": "CT-002", "infused_at": "2020-01-02T10:00:00Z", "dose_level": "1"}
    values["cells_per_kg"] = "1234567"
    fragment = web_study.session("dm").post("/forms/infusions/check", data=values)
    assert fragment.status_code == 200, fragment.text[:1000]
    assert "<html" not in fragment.text.lower()
    assert "INFUSION-BEFORE-CONSENT" in fragment.text and f"subject record {subject}" in fragment.text
    assert "2021-13-45" not in fragment.text


def test_a_checks_left_out_query_cannot_be_closed_while_its_records_are_left_out(web_study: WebStudy) -> None:
    """Before: a data manager closed CT-001's CHECKS-LEFT-OUT query while its CRS assessment date was still
    unreadable; the query never came back (a closed query is raised again only when its field changes) and
    the subject's other system queries could then close with the record unread. The closure is refused
    (409 naming the record, never its value) until the repair; then the repair closes it (D-19.652)."""
    service = web_study.service
    crs = _plant_in(web_study, "crs_assessment", "assessed_at", "CT-001", PLANTED)
    event = {**adverse_event_entries("Rash"), "subject_id": "CT-001"}
    service.insert_record("admin", "adverse_event", event, "api")
    ((code,),) = _sql(
        web_study, "SELECT query_code FROM data_query WHERE text LIKE 'Edit check CHECKS-LEFT-OUT%'"
    )
    with pytest.raises(ConflictError) as refused:
        service.close_query("dm", str(code), "closing anyway")
    assert f"crs_assessment record {crs}" in str(refused.value) and PLANTED not in str(refused.value)
    answer = web_study.bearer("dm").post(f"/api/v1/queries/{code}/close", json={"reason": "closing anyway"})
    assert answer.status_code == 409, answer.text
    assert f"crs_assessment record {crs}" in answer.text and PLANTED not in answer.text
    assert [row[2] for row in _left_out_queries(web_study)] == ["open"]
    service.update_record(
        "admin", "crs_assessment", crs, {"assessed_at": "2021-05-02T10:00:00Z"}, 1, "repaired from source"
    )
    assert [row[2] for row in _left_out_queries(web_study)] == ["closed"]


def test_a_checks_left_out_query_raised_earlier_in_the_transaction_is_closed_by_a_later_repair(
    web_study: WebStudy,
) -> None:
    """Before: in one transaction, a new adverse event raised CHECKS-LEFT-OUT (CT-001's CRS date unreadable)
    and the CRS repair that followed left the query open after commit with nothing left out: the query
    was protected from every write of its transaction, not only from the write that raised it (D-19.652)."""
    service = web_study.service
    crs = _plant_in(web_study, "crs_assessment", "assessed_at", "CT-001", PLANTED)
    with service.transaction("admin", "api", "two writes") as tx:
        tx.insert_record("adverse_event", {**adverse_event_entries("Rash"), "subject_id": "CT-001"})
        tx.update_record("crs_assessment", crs, {"assessed_at": "2021-05-02T10:00:00Z"}, 1, "repaired")
    assert [row[2] for row in _left_out_queries(web_study)] == ["closed"]
