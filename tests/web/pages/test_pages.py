"""Server-rendered pages through FastAPI's TestClient on the web test study (example study + site PUMCH).

Expected values come from the example study's CSV files read here with the csv module, or are derived by
hand from the cited rule (ASTCT 2019 CRS grade; the 3+3 rule) — never from the pages' own output."""

from __future__ import annotations

import csv
import re
from collections import Counter
from html import unescape
from typing import Any

import pytest

from cartrial import examples

from .helpers import SITE_B_SUBJECT, USERS, csrf_of

STUDY = examples.path("ct103a-nmosd") / "study"
READ_PAGES = (
    "/",
    "/subjects",
    "/subjects/CT-001",
    "/queries",
    "/audit",
    "/audit/subjects/CT-001",
    "/data",
    "/records/crs_assessment/1",
    "/audit/records/crs_assessment/1",
)
"""Pages every role may read (the dashboards, which run the analysis, have tests of their own)."""


def _rows(name: str) -> list[dict[str, str]]:
    with (STUDY / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _crs_values(**changes: str) -> dict[str, str]:
    values = {
        "assessed_at": "2021-05-20T08:00:00Z",
        "temperature_c": "39.0",
        "fever_masked": "false",
        "hypotension": "false",
        "vasopressors": "0",
        "vasopressin": "false",
        "oxygen": "none",
    }
    values.update(changes)
    return values


def _new_crs(client: Any, subject: str = "CT-001", **changes: str) -> Any:
    page = client.get(f"/subjects/{subject}/forms/crs_assessments/new")
    assert page.status_code == 200, page.text[:300]
    return client.post(
        f"/subjects/{subject}/forms/crs_assessments",
        data={**_crs_values(**changes), "csrf_token": csrf_of(page.text)},
    )


# -- access --------------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_the_login_page(read_login: Any) -> None:
    client = read_login(None)
    for path in (*READ_PAGES, "/admin/users", "/escalation", "/safety"):
        answer = client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next="), path


@pytest.mark.parametrize("username", list(USERS))
def test_every_role_sees_the_read_pages(read_login: Any, username: str) -> None:
    client = read_login(username)
    pages = READ_PAGES
    if username == "inv_b":  # site PUMCH: its own subject; the example's records are another site's
        pages = tuple(p.replace("CT-001", SITE_B_SUBJECT) for p in READ_PAGES if "crs_assessment" not in p)
    for path in pages:
        answer = client.get(path)
        assert answer.status_code == 200, (username, path, answer.text[:300])
        assert 'lang="en"' in answer.text and 'class="skip-link"' in answer.text
        assert answer.text.count("<h1") == 1, path
    users = client.get("/admin/users")
    assert users.status_code == (200 if USERS[username][0] == "admin" else 403)


def test_entry_and_import_controls_follow_the_role(read_login: Any) -> None:
    """Monitors and statisticians may not enter data: no entry form, and the routes answer 403."""
    for username in ("mon", "stat"):
        client = read_login(username)
        assert client.get("/subjects/CT-001/forms/crs_assessments/new").status_code == 403
        assert "New crs assessments" not in client.get("/subjects/CT-001").text
        assert 'id="import-form"' not in client.get("/data").text
    assert 'id="import-form"' in read_login("dm").get("/data").text


def test_a_form_post_without_the_csrf_token_is_refused(login: Any) -> None:
    client = login("inv_a")
    answer = client.post("/subjects/CT-001/forms/crs_assessments", data=_crs_values())
    assert answer.status_code == 403
    assert "CSRF" in answer.text


def test_an_investigator_sees_only_their_sites_subjects(read_login: Any, read_app: Any) -> None:
    login, web_app = read_login, read_app
    tjh = {r["subject_id"] for r in _rows("subjects.csv")}
    site_a = login("inv_a")
    listed = set(re.findall(r'href="/subjects/([A-Z]{2}-\d{3})"', site_a.get("/subjects").text))
    assert listed == tjh
    assert site_a.get(f"/subjects/{SITE_B_SUBJECT}").status_code == 404
    assert site_a.get(f"/audit/subjects/{SITE_B_SUBJECT}").status_code == 404
    subject_b = web_app.state.service.as_user("admin").find_records("subject", subject_id=SITE_B_SUBJECT)[0]
    assert site_a.get(f"/records/subject/{subject_b['id']}").status_code == 404
    assert (
        SITE_B_SUBJECT not in site_a.get("/").text + site_a.get("/queries").text + site_a.get("/safety").text
    )
    site_b = login("inv_b")
    listed_b = set(re.findall(r'href="/subjects/([A-Z]{2}-\d{3})"', site_b.get("/subjects").text))
    assert listed_b == {SITE_B_SUBJECT}
    assert site_b.get("/subjects/CT-001").status_code == 404
    assert site_b.get("/records/crs_assessment/1").status_code == 404
    escalation = site_b.get("/escalation").text
    assert "CT-001" not in escalation and "other sites: " in escalation  # counted, not listed (D-19.486)


# -- study home, casebook ------------------------------------------------------------------------------


def test_study_home_counts_enrolment_by_site_and_dose_level(read_login: Any) -> None:
    levels: dict[str, str] = {}
    for row in sorted(_rows("infusions.csv"), key=lambda r: r["infused_at"]):
        levels.setdefault(row["subject_id"], row["dose_level"])
    by_level = Counter(levels.values())
    page = read_login("dm").get("/").text
    table = page[
        page.index('aria-labelledby="enrolment"') : page.index("</table>", page.index('"enrolment"'))
    ]
    text = _text(table)
    n_tjh = len(_rows("subjects.csv"))
    # TJH: every example subject, by the level of their first infusion; PUMCH: one subject, not infused
    assert f"TJH {by_level['1']} {by_level['2']} {n_tjh - len(levels)} {n_tjh}" in text
    assert "PUMCH 0 0 1 1" in text
    assert f"All sites {by_level['1']} {by_level['2']} {n_tjh - len(levels) + 1} {n_tjh + 1}" in text
    assert "no data lock" in page


def test_casebook_marks_scheduled_forms(read_login: Any) -> None:
    """CT-001 was infused on the date in infusions.csv; its day-0 CRS assessment exists, its screening EDSS
    (not in the example's edss.csv before day 0) is missing."""
    infused = min(r["infused_at"] for r in _rows("infusions.csv") if r["subject_id"] == "CT-001")[:10]
    page = read_login("inv_a").get("/subjects/CT-001").text
    assert f"{infused}, dose level" in _text(page)
    day0 = page[page.index("Day 0 (infusion)") : page.index("</tr>", page.index("Day 0 (infusion)"))]
    assert "crs assessments:" in _text(day0) and "status-complete" in day0
    screening = page[page.index(">Screening<") : page.index("</tr>", page.index(">Screening<"))]
    assert "status-missing" in screening
    assert "/records/adverse_event/" in page  # events listed under other records


# -- data entry ----------------------------------------------------------------------------------------


def test_live_check_shows_the_engine_grade_and_field_errors(read_login: Any) -> None:
    client = read_login("inv_a")
    token = csrf_of(client.get("/subjects/CT-001/forms/crs_assessments/new").text)
    # ASTCT 2019: fever >= 38 °C without hypotension or hypoxia is grade 1 (Lee 2019, Table 4)
    answer = client.post(
        "/forms/crs_assessments/check",
        data={**_crs_values(), "subject_id": "CT-001"},
        headers={"X-CSRF-Token": token},
    )
    assert answer.status_code == 200
    assert 'id="preview-grade">Grade 1<' in answer.text
    assert 'id="err-temperature_c" hx-swap-oob="true"' in answer.text
    # hypotension not needing vasopressors: grade 2
    grade2 = client.post(
        "/forms/crs_assessments/check",
        data={**_crs_values(hypotension="true"), "subject_id": "CT-001"},
        headers={"X-CSRF-Token": token},
    )
    assert 'id="preview-grade">Grade 2<' in grade2.text
    # out of range: the problem is put next to the field
    bad = client.post(
        "/forms/crs_assessments/check",
        data={**_crs_values(temperature_c="55"), "subject_id": "CT-001"},
        headers={"X-CSRF-Token": token},
    )
    box = re.search(r'id="err-temperature_c"[^>]*>(.*?)</div>', bad.text, re.S)
    assert box and "out of range" in box.group(1) and "45" in box.group(1)
    # a rule between fields: ICE total must equal the sum of the items
    ice = client.post(
        "/forms/icans_assessments/check",
        data={
            "subject_id": "CT-001",
            "assessed_at": "2021-05-20T08:00:00Z",
            "ice_orientation": "4",
            "ice_naming": "3",
            "ice_command": "1",
            "ice_writing": "1",
            "ice_attention": "1",
            "ice_total": "9",
        },
        headers={"X-CSRF-Token": token},
    )
    box = re.search(r'id="err-ice_total"[^>]*>(.*?)</div>', ice.text, re.S)
    assert box and "sum of the five ICE items" in box.group(1)


def test_an_investigator_enrols_a_subject_at_their_own_site_only(login: Any, web_app: Any) -> None:
    client = login("inv_a")
    page = client.get("/subjects/new").text
    assert 'value="TJH"' in page
    values = {
        "subject_id": "CT-050",
        "site_id": "TJH",
        "consent_date": "2024-02-01",
        "sex": "F",
        "csrf_token": csrf_of(page),
    }
    saved = client.post("/subjects", data=values)
    assert saved.status_code == 303 and saved.headers["location"].startswith("/subjects/CT-050")
    assert client.get("/subjects/CT-050").status_code == 200
    elsewhere = client.post("/subjects", data={**values, "subject_id": "PU-050", "site_id": "PUMCH"})
    assert elsewhere.status_code in (403, 422)
    assert not web_app.state.service.as_user("admin").find_records("subject", subject_id="PU-050")
    assert login("mon").get("/subjects/new").status_code == 403


def test_save_edit_with_reason_and_audit_trail(login: Any) -> None:
    client = login("inv_a")
    saved = _new_crs(client)
    assert saved.status_code == 303, saved.text[:500]
    record_url = saved.headers["location"].split("?")[0]
    page = client.get(record_url).text
    assert 'id="record-form"' in page and 'name="version" value="1"' in page
    values = {
        **_crs_values(hypotension="true"),
        "subject_id": "CT-001",
        "version": "1",
        "csrf_token": csrf_of(page),
    }
    no_reason = client.post(record_url, data=values)
    assert no_reason.status_code == 422 and "reason for the change is required" in no_reason.text
    edited = client.post(record_url, data={**values, "reason": "hypotension missed at first entry"})
    assert edited.status_code == 303
    record_id = record_url.rsplit("/", 1)[1]
    trail = _text(client.get(f"/audit/records/crs_assessment/{record_id}").text)
    assert "hypotension false true hypotension missed at first entry" in trail
    assert "inv_a (investigator)" in trail


def test_a_stale_version_is_refused_and_nothing_is_overwritten(login: Any, web_app: Any) -> None:
    first, second = login("inv_a"), login("dm")
    saved = _new_crs(first)
    record_url = saved.headers["location"].split("?")[0]
    forms = [c.get(record_url).text for c in (first, second)]
    base = {**_crs_values(), "subject_id": "CT-001", "version": "1"}
    one = first.post(
        record_url, data={**base, "temperature_c": "38.5", "reason": "typo", "csrf_token": csrf_of(forms[0])}
    )
    assert one.status_code == 303
    two = second.post(
        record_url, data={**base, "temperature_c": "40.0", "reason": "typo", "csrf_token": csrf_of(forms[1])}
    )
    assert two.status_code == 409
    assert "changed since you opened it" in two.text
    record = web_app.state.service.as_user("admin").get_record(
        "crs_assessment", int(record_url.rsplit("/", 1)[1])
    )
    assert record["temperature_c"] == 38.5 and record["version"] == 2


def test_after_a_lock_the_record_is_read_only_and_a_forced_post_is_refused(login: Any, web_app: Any) -> None:
    import datetime as dt

    client = login("inv_a")
    assert 'aria-label="enter labs for Screening"' in client.get("/subjects/CT-001").text
    web_app.state.service.as_user("stat").lock(dt.date(2022, 12, 31), "database lock for the analysis")
    page = client.get("/records/crs_assessment/1").text
    main = page[page.index("<main") : page.index("Queries on")]
    assert 'id="record-form"' not in main and 'id="save"' not in main
    assert not re.findall(r'<(?:input(?![^>]*type="hidden")|select|textarea)\b', main)
    assert "Read-only" in page and "data lock #1 at cut-off 2022-12-31" in page
    before = web_app.state.service.as_user("admin").get_record("crs_assessment", 1)
    forced = client.post(
        "/records/crs_assessment/1",
        data={
            **_crs_values(),
            "subject_id": "CT-001",
            "version": str(before["version"]),
            "reason": "force",
            "csrf_token": csrf_of(page),
        },
    )
    assert forced.status_code == 409
    assert "lock" in forced.text
    after = web_app.state.service.as_user("admin").get_record("crs_assessment", 1)
    assert after == before
    casebook = client.get("/subjects/CT-001").text
    assert '/forms/crs_assessments/new" aria-label="enter' not in casebook  # no entry into locked visits


# -- queries, escalation, safety, import, users -------------------------------------------------------


def test_monitor_raises_investigator_answers_monitor_closes(login: Any) -> None:
    monitor, investigator = login("mon"), login("inv_a")
    page = monitor.get("/records/crs_assessment/2").text
    raised = monitor.post(
        "/records/crs_assessment/2/queries",
        data={
            "field": "temperature_c",
            "text": "Please confirm the temperature",
            "csrf_token": csrf_of(page),
        },
    )
    assert raised.status_code == 303
    listing = investigator.get("/queries?status=open").text
    assert "Please confirm the temperature" in listing
    code = re.search(r"(Q-\d{6})", listing)
    assert code
    answered = investigator.post(
        f"/queries/{code.group(1)}/answer",
        data={"answer": "Confirmed from the chart", "csrf_token": csrf_of(listing)},
    )
    assert answered.status_code == 303
    assert "Confirmed from the chart" in monitor.get("/queries?status=answered").text
    assert code.group(1) not in monitor.get("/queries?status=open").text
    other_site = login("inv_b").get("/queries").text
    assert code.group(1) not in other_site
    closing = monitor.get("/queries").text
    closed = monitor.post(
        f"/queries/{code.group(1)}/close", data={"reason": "answer accepted", "csrf_token": csrf_of(closing)}
    )
    assert closed.status_code == 303
    assert code.group(1) in monitor.get("/queries?status=closed").text


def test_escalation_dashboard_shows_the_3_plus_3_recommendation(read_login: Any) -> None:
    """The example's cohorts (escalation_decisions.csv): 1NNN at level 1 then 3 + 6 patients at level 2
    (the top level) without DLT. By the 3+3 rule nothing higher exists and the top level has 6+ patients
    with <= 1 DLT: the design stops, MTD = level 2 (Storer 1989; Korn 1994)."""
    decisions = _rows("escalation_decisions.csv")
    page = read_login("mon").get("/escalation").text
    assert 'id="rec-decision">stop<' in page
    assert "MTD estimate: dose level 2" in page
    for row in decisions:
        assert (
            f"Cohort {row['cohort']} · dose level {row['dose_level']} · decided {row['decision']}"
            in _text(page)
        )
    assert 'id="decision-table"' in page
    assert "DLT window ends" in page


def test_the_committee_records_a_decision_with_a_reason_when_it_differs(login: Any, web_app: Any) -> None:
    """A new patient at site PUMCH infused 40 days ago (window of 28 days closed) without DLT forms a
    pending cohort of one; the committee's decision is stored, a reason required when it differs."""
    import datetime as dt

    infused = (dt.date.today() - dt.timedelta(days=40)).isoformat()
    web_app.state.service.as_user("dm").insert_record(
        "infusion",
        {"subject_id": SITE_B_SUBJECT, "infused_at": f"{infused}T09:00:00Z", "dose_level": 2},
        "test",
    )
    client = login("dm")
    page = client.get("/escalation").text
    assert 'id="decision-form"' in page and f"{SITE_B_SUBJECT}" in page
    recommended = re.search(r'id="rec-decision">([^<]+)<', page)
    assert recommended
    other = next(
        d for d in ("escalate", "stay", "de-escalate", "expand", "stop") if d != recommended.group(1)
    )
    token = csrf_of(page)
    refused = client.post(
        "/escalation/decision",
        data={
            "decision": other,
            "dose_level": "2",
            "decided_on": dt.date.today().isoformat(),
            "csrf_token": token,
        },
    )
    assert refused.status_code == 422 and "reason" in _text(refused.text)
    saved = client.post(
        "/escalation/decision",
        data={
            "decision": other,
            "dose_level": "2",
            "decided_on": dt.date.today().isoformat(),
            "reason": "committee prefers caution",
            "approved_by": "safety review committee",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 303, saved.text[:600]
    rows = web_app.state.service.as_user("admin").find_records("escalation_decision")
    assert rows[-1]["decision"] == other and rows[-1]["cohort"] == len(rows)
    # who approved, as entered: not the data manager recording it (D-19.410; the trail names the recorder)
    assert rows[-1]["approved_by"] == "safety review committee"
    assert 'name="approved_by"' in page


def test_safety_dashboard_heat_map_has_every_infused_patient(read_login: Any) -> None:
    infused = {r["subject_id"] for r in _rows("infusions.csv")}
    page = read_login("stat").get("/safety").text
    assert 'lang="en"' in page and page.count("<h1") == 1
    crs = page[page.index('id="heatmap-crs"') : page.index("</table>", page.index('id="heatmap-crs"'))]
    assert set(re.findall(r'href="/subjects/([A-Z]{2}-\d{3})"', crs)) == infused
    assert 'id="cytopenia-table"' in page and "Serious adverse events" in page


def test_import_page_reports_row_errors_and_writes_nothing(login: Any, web_app: Any) -> None:
    client = login("dm")
    page = client.get("/data").text
    counts = web_app.state.service.table_counts()
    bad = "subject_id,site_id,consent_date\nNEW-1,TJH,2021-13-40\n"
    answer = client.post(
        "/data/import",
        data={"kind": "templates", "csrf_token": csrf_of(page)},
        files={"files": ("subjects.csv", bad.encode(), "text/csv")},
    )
    assert answer.status_code == 422
    problems = answer.text[answer.text.index('id="import-problems"') :]
    assert "subjects.csv" in problems and "consent_date" in problems and "2021-13-40" in problems
    assert web_app.state.service.table_counts() == counts
    good = "subject_id,site_id,consent_date\nNEW-1,TJH,2022-02-01\n"
    done = client.post(
        "/data/import",
        data={"kind": "templates", "csrf_token": csrf_of(page)},
        files={"files": ("subjects.csv", good.encode(), "text/csv")},
    )
    assert done.status_code == 200 and 'id="import-result"' in done.text
    assert web_app.state.service.as_user("admin").find_records("subject", subject_id="NEW-1")
    # the study's other subjects are not in this subjects.csv: kept, and the page says so (D-19.86)
    kept = web_app.state.service.table_counts()["subject"] - 1
    assert f'<p class="kept">kept: {kept} records of subject not in subjects.csv' in done.text
    exported = client.get("/api/v1/export/subjects.csv")  # the export link of the page
    assert exported.status_code == 200 and "\nNEW-1,TJH,,2022-02-01," in exported.text
    assert 'href="/api/v1/export/subjects.csv"' in page and 'href="/api/v1/export/templates.zip"' in page


def test_import_page_checks_a_redcap_export_in_a_dry_run(login: Any, web_app: Any) -> None:
    """The example REDCap project (records, dictionary, mapping) through the page: a dry run reads the
    four forms its mapping covers (subjects, infusions, adverse events, EDSS) and writes nothing."""
    redcap = examples.path("ct103a-nmosd") / "redcap"
    client = login("dm")
    page = client.get("/data").text
    counts = web_app.state.service.table_counts()
    files = [
        ("files", (name, (redcap / name).read_bytes(), "text/plain"))
        for name in ("records.csv", "dictionary.csv", "mapping.yaml")
    ]
    answer = client.post(
        "/data/import", data={"kind": "redcap", "dry_run": "1", "csrf_token": csrf_of(page)}, files=files
    )
    assert answer.status_code == 200, _text(answer.text)[:800]
    result = _text(answer.text[answer.text.index('id="import-result"') :])
    assert "dry run, nothing written" in result
    for form in ("subjects", "infusions", "adverse_events", "edss"):
        assert form in result
    assert web_app.state.service.table_counts() == counts


def test_admin_creates_deactivates_and_resets_users_without_showing_passwords(
    login: Any, web_app: Any
) -> None:
    admin = login("admin")
    page = admin.get("/admin/users").text
    token = csrf_of(page)
    created = admin.post(
        "/admin/users",
        data={
            "username": "newmon",
            "role": "monitor",
            "site_id": "",
            "password": "S3cret-pass-word",
            "csrf_token": token,
        },
    )
    assert created.status_code == 303
    listing = admin.get("/admin/users").text
    assert "newmon" in listing and "S3cret-pass-word" not in listing and "argon2" not in listing
    reset = admin.post(
        "/admin/users/newmon/password",
        data={"password": "An0ther-pass-word", "reason": "forgotten", "csrf_token": token},
    )
    assert reset.status_code == 303
    assert web_app.state.service.verify_password("newmon", "An0ther-pass-word")
    off = admin.post(
        "/admin/users/newmon/active", data={"active": "0", "reason": "left the study", "csrf_token": token}
    )
    assert off.status_code == 303
    assert not web_app.state.service.verify_password("newmon", "An0ther-pass-word")
    trail = admin.get("/audit").text
    assert "An0ther-pass-word" not in trail and "$argon2" not in trail


def test_admin_pages_apply_the_password_policy_and_state_it(login: Any, web_app: Any) -> None:
    """A short password was stored from the admin page (create and reset); refused (422) with the rule,
    never shown back, and the rule is stated next to the password fields (D-19.45)."""
    from cartrial.store.users import MIN_PASSWORD_LENGTH, PASSWORD_RULE

    admin = login("admin")
    page = admin.get("/admin/users").text
    assert PASSWORD_RULE in unescape(page) and f'minlength="{MIN_PASSWORD_LENGTH}"' in page
    token = csrf_of(page)
    short = "Short-pass-14c"
    created = admin.post(
        "/admin/users",
        data={
            "username": "shortpw",
            "role": "monitor",
            "site_id": "",
            "password": short,
            "csrf_token": token,
        },
    )
    assert created.status_code == 422 and "too short" in created.text and short not in created.text
    reset = admin.post(
        "/admin/users/mon/password", data={"password": short, "reason": "forgotten", "csrf_token": token}
    )
    assert reset.status_code == 422 and "too short" in reset.text and short not in reset.text
    assert not web_app.state.service.verify_password("mon", short)


def test_admin_page_refuses_a_new_user_with_an_empty_password(login: Any, web_app: Any) -> None:
    """The page passed `password or None`: an empty (required) initial password created a user without a
    password, past the policy. The page asks for the password, so an empty one is refused like any other
    the policy does not allow (422, the rule shown, no user created); the CLI's prompt refuses it too
    (D-19.57)."""
    from cartrial.store.users import PASSWORD_RULE

    admin = login("admin")
    token = csrf_of(admin.get("/admin/users").text)
    created = admin.post(
        "/admin/users",
        data={"username": "nopass", "role": "monitor", "site_id": "", "password": "", "csrf_token": token},
    )
    assert created.status_code == 422
    assert "password" in created.text and PASSWORD_RULE in unescape(created.text)
    assert "nopass" not in {row["username"] for row in web_app.state.service.as_user("admin").list_users()}
    assert "user_added" not in created.headers.get("location", "")


def test_pages_load_nothing_from_outside_the_app(read_login: Any) -> None:
    client = read_login("admin")
    htmx = client.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:200]
    for path in (*READ_PAGES, "/admin/users", "/subjects/CT-001/forms/icans_assessments/new"):
        html = client.get(path).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources and not [s for s in sources if s.startswith(("http:", "https:", "//"))], path


def test_every_form_control_has_a_label(read_login: Any) -> None:
    """WCAG 2.2 SC 1.3.1 / 4.1.2: every input, select and textarea has a <label for> (or aria-label)."""
    client = read_login("admin")
    for path in (
        "/subjects/CT-001/forms/crs_assessments/new",
        "/subjects/CT-001/forms/icans_assessments/new",
        "/subjects/CT-001/forms/edss/new",
        "/records/crs_assessment/1",
        "/queries",
        "/admin/users",
        "/data",
        "/subjects",
    ):
        html = client.get(path).text
        labels = set(re.findall(r'<label[^>]*for="([^"]+)"', html))
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
            if 'type="hidden"' in tag:
                continue
            ident = re.search(r'id="([^"]+)"', tag)
            assert (ident and ident.group(1) in labels) or "aria-label=" in tag, (path, tag)


def test_live_check_runs_the_edit_checks_across_forms(read_login: Any) -> None:
    """While typing, values that pass the field rules are run through the store's edit checks with the
    subject's stored records: a hard one is shown at its field (the save would be refused), a soft one as
    the data query the save would raise. CT-001's infusion is 2021-04-27, its weight 58 kg (example study
    infusions.csv); nothing is saved by a check."""
    client = read_login("inv_a")
    token = csrf_of(client.get("/subjects/CT-001/forms/infusions/new").text)
    infusion = _rows("infusions.csv")[0]
    assert infusion["subject_id"] == "CT-001"
    second = {**infusion, "infused_at": "2021-06-01T02:00:00Z"}
    answer = client.post("/forms/infusions/check", data=second, headers={"X-CSRF-Token": token})
    assert answer.status_code == 200, answer.text[:300]
    box = re.search(r'id="err-infused_at"[^>]*>(.*?)</div>', answer.text, re.S)
    assert box and "INFUSION-ONCE" in box.group(1)
    # the stored infusion itself, changed: not a second infusion; total cells 10 × cells/kg × weight: soft
    record = re.search(r"/records/infusion/(\d+)", client.get("/subjects/CT-001").text)
    assert record
    changed = {**infusion, "total_car_t_cells": str(10 * int(infusion["total_car_t_cells"]))}
    soft = client.post(
        "/forms/infusions/check",
        data={**changed, "record_id": record.group(1)},
        headers={"X-CSRF-Token": token},
    )
    assert "INFUSION-ONCE" not in soft.text
    query = re.search(r'id="would-query"(.*?)</div>', soft.text, re.S)
    assert query and "TOTAL-CELLS-MISMATCH" in query.group(1)
    unchanged = client.post(
        "/forms/infusions/check",
        data={**infusion, "record_id": record.group(1)},
        headers={"X-CSRF-Token": token},
    )
    assert "would-query" not in unchanged.text and "INFUSION-ONCE" not in unchanged.text


def test_the_lab_form_suggests_the_known_tests_and_stores_their_spelling(read_login: Any) -> None:
    """The analyte of a lab result is free text with known spellings (`cartrial.protocol.lab_tests`): the
    form offers them while typing (a <datalist> tied to the input); a save stores the dictionary's spelling
    (`typed_record_values`, tests/store/test_fields.py)."""
    from cartrial.protocol.lab_tests import LAB_TESTS

    client = read_login("admin")
    html = client.get("/subjects/CT-001/forms/labs/new").text
    tag = re.search(r'<input[^>]*name="analyte"[^>]*>', html)
    assert tag is not None and 'list="known-analyte"' in tag.group(0)
    listed = re.search(r'<datalist id="known-analyte">(.*?)</datalist>', html, re.S)
    assert listed is not None
    assert re.findall(r'<option value="([^"]+)">', listed.group(1)) == list(LAB_TESTS)
    assert "<datalist" not in client.get("/subjects/CT-001/forms/crs_assessments/new").text


def test_safety_dashboard_states_the_adverse_events_of_a_patient_not_infused(login: Any) -> None:
    """D-19.88: a patient lymphodepleted but not infused is in none of the dashboard's tables (they show the
    infused); the page says how many of their adverse events are left out, from the analysis layer."""
    import datetime as dt

    client = login("dm")
    today = dt.date.today()

    def day(offset: int) -> str:
        return (today - dt.timedelta(days=offset)).isoformat()

    ld = "subject_id,drug,administered_on,dose_mg_per_m2,dose_mg,body_surface_area_m2\n" + "".join(
        f"{SITE_B_SUBJECT},fludarabine,{day(d)},30,48,1.6\n" for d in (20, 19, 18)
    )
    ae = (
        "subject_id,term,category,started_on,grade,grading_scale,grading_scale_version,serious,relatedness,"
        "dlt,outcome\n"
        f"{SITE_B_SUBJECT},Febrile neutropenia,hematologic,{day(15)},3,CTCAE,5.0,true,probable,false,"
        "recovering\n"
    )
    page = client.get("/data").text
    done = client.post(
        "/data/import",
        data={"kind": "templates", "csrf_token": csrf_of(page)},
        files=[
            ("files", ("lymphodepletion.csv", ld.encode(), "text/csv")),
            ("files", ("adverse_events.csv", ae.encode(), "text/csv")),
        ],
    )
    assert done.status_code == 200, _text(done.text)[:600]
    text = _text(login("stat").get("/safety").text)
    # one event of the one PUMCH patient, who is the one enrolled patient not infused (helpers.SITE_B_SUBJECT)
    assert (
        "1 adverse event in 1 of 1 enrolled patient not infused (1 event on or after the first "
        "lymphodepletion dose, in 1 patient) is listed in ae_not_infused, not in the safety tables."
    ) in text


def test_safety_dashboard_states_the_adverse_events_not_infused_when_nobody_is_infused(login: Any) -> None:
    """D-19.106: when no patient the user may see was infused (here the PUMCH investigator, whose one
    patient was lymphodepleted, then not infused), the CRS/ICANS/cytopenia tables stay empty with the "no
    patient infused" note, and the D-19.88 statement about that patient's adverse events is still shown
    (before, the page returned early and the statement was never shown, exactly when it matters most)."""
    import datetime as dt

    client = login("dm")
    today = dt.date.today()

    def day(offset: int) -> str:
        return (today - dt.timedelta(days=offset)).isoformat()

    ld = "subject_id,drug,administered_on,dose_mg_per_m2,dose_mg,body_surface_area_m2\n" + "".join(
        f"{SITE_B_SUBJECT},fludarabine,{day(d)},30,48,1.6\n" for d in (20, 19, 18)
    )
    ae = (
        "subject_id,term,category,started_on,grade,grading_scale,grading_scale_version,serious,relatedness,"
        "dlt,outcome\n"
        f"{SITE_B_SUBJECT},Febrile neutropenia,hematologic,{day(15)},3,CTCAE,5.0,true,probable,false,"
        "recovering\n"
        f"{SITE_B_SUBJECT},Nausea,non_hematologic,{day(25)},1,CTCAE,5.0,false,unlikely,false,recovered\n"
    )
    page = client.get("/data").text
    done = client.post(
        "/data/import",
        data={"kind": "templates", "csrf_token": csrf_of(page)},
        files=[
            ("files", ("lymphodepletion.csv", ld.encode(), "text/csv")),
            ("files", ("adverse_events.csv", ae.encode(), "text/csv")),
        ],
    )
    assert done.status_code == 200, _text(done.text)[:600]
    answer = login("inv_b").get("/safety")
    assert answer.status_code == 200
    text = _text(answer.text)
    # two events of the one PUMCH patient (enrolled, not infused): the nausea 25 days ago is before the
    # first fludarabine dose (20 days ago), the febrile neutropenia 15 days ago after it
    assert (
        "2 adverse events in 1 of 1 enrolled patient not infused (1 event on or after the first "
        "lymphodepletion dose, in 1 patient) are listed in ae_not_infused, not in the safety tables."
    ) in text
    assert "no patient you may see was infused by the cut-off" in text
    crs = answer.text[answer.text.index('id="heatmap-crs"') :]
    assert "No infused patient." in crs[: crs.index("</table>")]
    assert "Febrile neutropenia" not in text  # in no safety table (the statement names no event)


def test_safety_dashboard_before_the_first_infusion_of_the_study_states_the_left_out_events(
    login: Any, web_app: Any
) -> None:
    """D-19.106: at a cut-off before the study's first infusion (CT-001 infused 2021-04-27 after
    fludarabine/cyclophosphamide from 2021-04-23), the dashboard has no table to show, but CT-001's
    adverse event of 2021-04-25 is stated (before, the snapshot refused the cut-off and the page showed only
    that error)."""
    import datetime as dt

    from cartrial.web import views

    client = login("dm")
    ae = (
        "subject_id,term,category,started_on,grade,grading_scale,grading_scale_version,serious,relatedness,"
        "dlt,outcome\n"
        "CT-001,Febrile neutropenia,hematologic,2021-04-25,3,CTCAE,5.0,true,probable,false,recovered\n"
    )
    page = client.get("/data").text
    done = client.post(
        "/data/import",
        data={"kind": "templates", "csrf_token": csrf_of(page)},
        files=[("files", ("adverse_events.csv", ae.encode(), "text/csv"))],
    )
    assert done.status_code == 200, _text(done.text)[:600]
    view = views.safety_view(web_app.state.service.as_user("stat"), None, dt.date(2021, 4, 26))
    # enrolled by 2021-04-26: CT-001 (consent 04-01) and CT-002 (04-22), neither infused; one event, of
    # CT-001, after its first lymphodepletion dose (04-23)
    assert view.notes == [
        "no patient you may see was infused by the cut-off",
        "1 adverse event in 1 of 2 enrolled patients not infused (1 event on or after the first "
        "lymphodepletion dose, in 1 patient) is listed in ae_not_infused, not in the safety tables.",
    ]
    assert view.heatmap == {"crs": [], "icans": []} and view.cytopenias == [] and view.serious == []
