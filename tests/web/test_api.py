"""The JSON API on both backends: records (list, filter, page, read, create, update, delete), the version
check, reasons, the data lock, site restriction, queries, audit trail, import and export, escalation, users.

Expectations come from the fixture's own data (tests/web/conftest.py) and the store's rules, never from a
previous run of the API."""

from __future__ import annotations

import datetime as dt


def _error_shape(body: dict) -> None:
    assert set(body) >= {"error", "field", "value", "allowed"}, body


def test_list_filter_and_page(any_web_study):
    dm = any_web_study.bearer("dm")
    body = dm.get("/api/v1/records/subjects").json()
    assert body["total"] == 3
    assert [r["values"]["subject_id"] for r in body["items"]] == ["CT-001", "CT-002", "CT-101"]
    page = dm.get("/api/v1/records/subjects?limit=1&offset=1").json()
    assert page["total"] == 3 and [r["values"]["subject_id"] for r in page["items"]] == ["CT-002"]
    at_pumch = dm.get("/api/v1/records/crs_assessments?site_id=PUMCH").json()
    assert [r["values"]["subject_id"] for r in at_pumch["items"]] == ["CT-101"]
    one = dm.get("/api/v1/records/infusions?subject_id=CT-001").json()
    assert one["total"] == 1
    # the clinical date filter: consent dates 2021-04-01, 2021-05-01, 2021-04-02
    april = dm.get("/api/v1/records/subjects?date_from=2021-04-01&date_to=2021-04-30").json()
    assert {r["values"]["subject_id"] for r in april["items"]} == {"CT-001", "CT-101"}
    day = dm.get("/api/v1/records/crs_assessments?date_from=2021-04-30&date_to=2021-04-30").json()
    assert day["total"] == 2
    assert dm.get("/api/v1/records/crs_assessments?date_to=2021-04-29").json()["total"] == 0


def test_create_read_update_delete_with_version_and_reason(any_web_study):
    inv = any_web_study.bearer("inv")
    created = inv.post(
        "/api/v1/records/crs_assessments",
        json={"values": {"subject_id": "CT-001", **_crs("2021-05-01T10:00:00Z", 38.4)}},
    )
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    read = inv.get(f"/api/v1/records/crs_assessments/{record_id}")
    assert read.status_code == 200
    etag = read.headers["ETag"]
    assert read.json()["values"]["temperature_c"] == 38.4
    # no reason: refused, nothing written
    refused = inv.patch(
        f"/api/v1/records/crs_assessments/{record_id}",
        headers={"If-Match": etag},
        json={"values": {"temperature_c": 38.6}},
    )
    assert refused.status_code == 422
    _error_shape(refused.json())
    # no version token: refused
    assert (
        inv.patch(
            f"/api/v1/records/crs_assessments/{record_id}",
            json={"values": {"temperature_c": 38.6}, "reason": "re-read"},
        ).status_code
        == 422
    )
    saved = inv.patch(
        f"/api/v1/records/crs_assessments/{record_id}",
        headers={"If-Match": etag},
        json={"values": {"temperature_c": 38.6}, "reason": "re-read from the chart"},
    )
    assert saved.status_code == 200, saved.text
    # the old token is stale now
    stale = inv.put(
        f"/api/v1/records/crs_assessments/{record_id}",
        headers={"If-Match": etag},
        json={"values": {"temperature_c": 39.9}, "reason": "late edit"},
    )
    assert stale.status_code == 409
    assert "changed since you opened it" in stale.json()["error"]
    assert inv.get(f"/api/v1/records/crs_assessments/{record_id}").json()["values"]["temperature_c"] == 38.6
    trail = inv.get(f"/api/v1/audit/records/crs_assessments/{record_id}").json()
    changes = [(r["action"], r["field"], r["old_value"], r["new_value"], r["reason"]) for r in trail]
    assert changes[0][:2] == ("insert", "*")
    assert changes[1] == ("update", "temperature_c", "38.4", "38.6", "re-read from the chart")
    assert inv.delete(f"/api/v1/records/crs_assessments/{record_id}").status_code == 422  # no reason
    deleted = inv.delete(f"/api/v1/records/crs_assessments/{record_id}?reason=entered twice")
    assert deleted.status_code == 200
    assert deleted.json() == {"form": "crs_assessments", "id": record_id, "queries": []}
    assert inv.get(f"/api/v1/records/crs_assessments/{record_id}").status_code == 404
    assert inv.get("/api/v1/audit/verify").json()["ok"] is True


def _crs(at: str, temperature: float) -> dict:
    return {
        "assessed_at": at,
        "temperature_c": temperature,
        "fever_masked": "false",
        "hypotension": "false",
        "vasopressors": "0",
        "vasopressin": "false",
        "oxygen": "none",
    }


def test_bad_values_are_located_422_never_500(any_web_study):
    dm = any_web_study.bearer("dm")
    bad = dm.post(
        "/api/v1/records/crs_assessments",
        json={"values": {"subject_id": "CT-001", **_crs("2021-05-02T10:00:00Z", 48.0)}},
    )
    assert bad.status_code == 422
    body = bad.json()
    _error_shape(body)
    assert any(p["field"] == "crs_assessment.temperature_c" for p in body["problems"]), body
    assert dm.get("/api/v1/records/crs_assessments?subject_id=CT-001").json()["total"] == 1
    unknown_form = dm.get("/api/v1/records/no_such_form")  # not one of the schema's form names
    assert unknown_form.status_code == 422 and unknown_form.json()["field"] == "form"
    assert dm.get("/api/v1/records/subjects/999999").status_code == 404
    assert dm.get("/api/v1/records/subjects?limit=5000").status_code == 422
    assert dm.get("/api/v1/records/subjects?date_from=yesterday").status_code == 422
    unknown = dm.post("/api/v1/records/subjects", json={"values": {"subject_id": "CT-9", "colour": "red"}})
    assert unknown.status_code == 422
    _error_shape(unknown.json())


def test_site_restriction_of_reads_and_writes(any_web_study):
    inv = any_web_study.bearer("inv")  # TJH
    subjects = inv.get("/api/v1/records/subjects").json()
    assert {r["values"]["subject_id"] for r in subjects["items"]} == {"CT-001", "CT-002"}
    assert inv.get("/api/v1/records/subjects?site_id=PUMCH").json()["total"] == 0
    dm = any_web_study.bearer("dm")
    foreign = dm.get("/api/v1/records/crs_assessments?subject_id=CT-101").json()["items"][0]
    assert inv.get(f"/api/v1/records/crs_assessments/{foreign['id']}").status_code == 404
    assert inv.get(f"/api/v1/audit/records/crs_assessments/{foreign['id']}").status_code == 404  # D-19.1038
    assert inv.get("/api/v1/audit/subjects/CT-101").status_code == 404
    edit = inv.patch(
        f"/api/v1/records/crs_assessments/{foreign['id']}",
        headers={"If-Match": foreign["version_token"]},
        json={"values": {"temperature_c": 37.0}, "reason": "x"},
    )
    assert edit.status_code == 404
    created = inv.post(
        "/api/v1/records/crs_assessments",
        json={"values": {"subject_id": "CT-101", **_crs("2021-05-03T10:00:00Z", 37.0)}},
    )
    assert created.status_code == 404  # as if absent, as the reads above
    inv2 = any_web_study.bearer("inv2")
    assert {r["values"]["subject_id"] for r in inv2.get("/api/v1/records/subjects").json()["items"]} == {
        "CT-101"
    }


def test_lock_makes_data_read_only(any_web_study):
    stat = any_web_study.bearer("stat")
    dm = any_web_study.bearer("dm")
    record = dm.get("/api/v1/records/crs_assessments?subject_id=CT-001").json()["items"][0]
    assert dm.get("/api/v1/lock").json() == {"locked": False, "description": None, "details": None}
    any_web_study.service.lock("stat", dt.date(2021, 12, 31), "interim analysis")
    lock = stat.get("/api/v1/lock").json()
    assert lock["locked"] is True and "2021-12-31" in lock["description"]
    edit = dm.patch(
        f"/api/v1/records/crs_assessments/{record['id']}",
        headers={"If-Match": record["version_token"]},
        json={"values": {"temperature_c": 38.0}, "reason": "after lock"},
    )
    assert edit.status_code == 409
    assert "lock" in edit.json()["error"]
    new = dm.post(
        "/api/v1/records/crs_assessments",
        json={"values": {"subject_id": "CT-002", **_crs("2021-06-01T10:00:00Z", 37.0)}},
    )
    assert new.status_code == 409
    assert dm.get(f"/api/v1/records/crs_assessments/{record['id']}").json()["values"]["temperature_c"] == 39.2


def test_the_lock_state_shows_an_investigator_what_the_banner_shows(any_web_study):
    """A site-restricted user reads the lock's cut-off, who, when and why (the web banner, `db summary`),
    never the digest or the number of every site's locked records (D-19.453, D-19.485)."""
    locked = any_web_study.service.lock("stat", dt.date(2021, 12, 31), "interim analysis")
    inv = any_web_study.bearer("inv").get("/api/v1/lock").json()
    assert inv["locked"] is True and inv["description"] == locked.describe()
    assert inv["details"]["cutoff"] == "2021-12-31" and inv["details"]["reason"] == "interim analysis"
    assert inv["details"]["locked_by"] == "stat" and inv["details"]["locked_at"]
    assert "snapshot_sha256" not in inv["details"] and "records_locked" not in inv["details"]
    assert locked.snapshot_sha256 not in str(inv)
    stat = any_web_study.bearer("stat").get("/api/v1/lock").json()
    assert stat["details"]["snapshot_sha256"] == locked.snapshot_sha256


def test_query_lifecycle_and_filters(any_web_study):
    mon = any_web_study.bearer("mon")
    inv = any_web_study.bearer("inv")
    inv2 = any_web_study.bearer("inv2")
    record = mon.get("/api/v1/records/crs_assessments?subject_id=CT-001").json()["items"][0]
    raised = mon.post(
        "/api/v1/queries",
        json={
            "form": "crs_assessments",
            "record_id": record["id"],
            "field": "temperature_c",
            "text": "Source?",
        },
    )
    assert raised.status_code == 201, raised.text
    code = raised.json()["query_code"]
    assert (
        inv.post("/api/v1/queries", json={"form": "subjects", "record_id": 1, "text": "x"}).status_code == 403
    )
    open_ = mon.get("/api/v1/queries?status=open&subject_id=CT-001").json()
    assert [q["query_code"] for q in open_["items"]] == [code]
    assert inv2.get("/api/v1/queries").json()["total"] == 0  # another site's query is not listed
    assert inv2.post(f"/api/v1/queries/{code}/answer", json={"answer": "x"}).status_code == 404
    assert inv.post(f"/api/v1/queries/{code}/answer", json={"answer": "chart p. 3"}).status_code == 200
    assert mon.get("/api/v1/queries?status=answered").json()["items"][0]["answer"] == "chart p. 3"
    assert mon.post(f"/api/v1/queries/{code}/close", json={}).status_code == 422  # reason required
    assert mon.post(f"/api/v1/queries/{code}/close", json={"reason": "resolved"}).status_code == 200
    assert mon.get("/api/v1/queries?status=closed&site_id=TJH").json()["total"] == 1
    assert mon.get("/api/v1/queries?status=bogus").status_code == 422


def test_subject_audit_trail(any_web_study):
    dm = any_web_study.bearer("dm")
    trail = dm.get("/api/v1/audit/subjects/CT-001").json()
    tables = {r["table_name"] for r in trail}
    assert tables == {"subject", "infusion", "crs_assessment"}
    assert all(r["subject_id"] == "CT-001" for r in trail)


def test_import_upload_same_errors_and_export_roundtrip(any_web_study):
    dm = any_web_study.bearer("dm")
    csv_text = "subject_id,site_id,consent_date,sex\nCT-003,TJH,2021-06-01,F\nCT-004,TJH,2021-13-01,X\n"
    bad = dm.post("/api/v1/import/templates", files=[("files", ("subjects.csv", csv_text, "text/csv"))])
    assert bad.status_code == 422
    rows = {(p["row"], p["field"]) for p in bad.json()["problems"]}
    assert (3, "consent_date") in rows and (3, "sex") in rows
    assert dm.get("/api/v1/records/subjects").json()["total"] == 3  # atomic: nothing written
    good = csv_text.replace("2021-13-01,X", "2021-06-02,M")
    ok = dm.post(
        "/api/v1/import/templates",
        files=[("files", ("subjects.csv", good, "text/csv"))],
        data={"reason": "site upload"},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["totals"]["inserted"] == 2
    wrong_name = dm.post("/api/v1/import/templates", files=[("files", ("../x.csv", "a\n", "text/csv"))])
    assert wrong_name.status_code == 422
    exported = dm.get("/api/v1/export/subjects.csv")
    assert exported.status_code == 200
    lines = exported.text.strip().splitlines()
    assert lines[0].split(",")[:3] == ["subject_id", "site_id", "screening_number"]
    assert len(lines) == 1 + 5
    # the export re-imports unchanged
    again = dm.post(
        "/api/v1/import/templates", files=[("files", ("subjects.csv", exported.text, "text/csv"))]
    )
    assert again.status_code == 200, again.text
    assert again.json()["totals"]["inserted"] == 0 and again.json()["totals"]["updated"] == 0
    mon = any_web_study.bearer("mon")
    assert (
        mon.post(
            "/api/v1/import/templates", files=[("files", ("subjects.csv", good, "text/csv"))]
        ).status_code
        == 403
    )


def test_the_api_applies_the_password_policy(web_study):
    """`POST /users` and `POST /users/{name}/password` stored any non-empty password; a short one (or the
    a common one) is a 422 naming the field and the rule, never echoing the value (D-19.45)."""
    admin = web_study.bearer("admin")
    short = "Short-pass-14c"
    made = admin.post("/api/v1/users", json={"username": "inv4", "role": "monitor", "password": short})
    assert made.status_code == 422 and short not in made.text
    body = made.json()
    assert (body["field"], body["value"]) == ("password", None) and "15 to 256 characters" in body["allowed"]
    reset = admin.post("/api/v1/users/mon/password", json={"password": "PasswordPassword", "reason": "x"})
    assert reset.status_code == 422 and "PasswordPassword" not in reset.text
    assert reset.json()["error"] == "the password is a common password"
    empty = admin.post("/api/v1/users/mon/password", json={"password": "", "reason": "x"})
    assert empty.status_code == 422 and empty.json()["field"] == "password"


def test_the_api_creates_a_user_with_a_password_or_a_pending_account_never_an_empty_one(web_study):
    """One rule with the CLI and the admin page (D-19.57): a password given (`""` included) must pass the
    policy; a body without `password` creates an account pending a password (as `db user add` without
    `--password`), which cannot sign in until an admin sets one."""
    admin = web_study.bearer("admin")
    empty = admin.post("/api/v1/users", json={"username": "inv5", "role": "monitor", "password": ""})
    assert empty.status_code == 422 and empty.json()["field"] == "password"
    assert "inv5" not in {u["username"] for u in admin.get("/api/v1/users").json()}
    pending = admin.post("/api/v1/users", json={"username": "inv6", "role": "monitor"})
    assert pending.status_code == 201, pending.text
    refused = web_study.client().post("/api/v1/token", data={"username": "inv6", "password": ""})
    assert refused.status_code in (401, 422)
    phrase = "Pending-account-phrase-6"
    assert (
        web_study.client().post("/api/v1/token", data={"username": "inv6", "password": phrase}).status_code
        == 401
    )
    set_now = admin.post("/api/v1/users/inv6/password", json={"password": phrase, "reason": "first password"})
    assert set_now.status_code == 204
    assert (
        web_study.client().post("/api/v1/token", data={"username": "inv6", "password": phrase}).status_code
        == 200
    )


def test_admin_manages_users(any_web_study):
    admin = any_web_study.bearer("admin")
    made = admin.post(
        "/api/v1/users",
        json={
            "username": "inv3",
            "role": "investigator",
            "site_id": "PUMCH",
            "password": "Secret-pass-phrase-1",
        },
    )
    assert made.status_code == 201, made.text
    listed = {u["username"]: u for u in admin.get("/api/v1/users").json()}
    assert listed["inv3"]["role"] == "investigator" and "password_hash" not in listed["inv3"]
    assert admin.patch("/api/v1/users/inv3", json={"role": "monitor"}).status_code == 422  # reason
    assert admin.patch("/api/v1/users/inv3", json={"role": "monitor", "reason": "moved"}).status_code == 200
    inv3 = any_web_study.client()
    token = inv3.post("/api/v1/token", data={"username": "inv3", "password": "Secret-pass-phrase-1"})
    assert token.status_code == 200
    inv3.headers["Authorization"] = "Bearer " + token.json()["access_token"]
    assert inv3.get("/api/v1/me").json()["role"] == "monitor"
    reset = admin.post(
        "/api/v1/users/inv3/password", json={"password": "Other-pass-phrase-2", "reason": "forgotten"}
    )
    assert reset.status_code == 204
    assert inv3.get("/api/v1/me").status_code == 401  # sessions end at a reset
    assert admin.patch("/api/v1/users/inv3", json={"active": False, "reason": "left"}).status_code == 200
    again = any_web_study.client().post(
        "/api/v1/token", data={"username": "inv3", "password": "Other-pass-phrase-2"}
    )
    assert again.status_code == 401  # a deactivated user cannot authenticate
    assert any_web_study.bearer("dm").get("/api/v1/users").status_code == 403
    # the last admin cannot be deactivated
    last = admin.patch("/api/v1/users/admin", json={"active": False, "reason": "x"})
    assert last.status_code == 409
    trail = any_web_study.service.audit_rows(actor="admin")
    assert not any("Secret-pass-phrase-1" in str(r) or "Other-pass-phrase-2" in str(r) for r in trail)


def test_escalation_state_and_committee_decision(example_web):
    """On the shipped example study (Qin C et al. 2023: 1NNN → escalate, 2NNN → expand at level 2,
    2NNNNNN → stop): the state lists 12 infused patients, no DLT, every recorded decision agrees with the
    protocol's 3+3 design; as of 2021-08-01 (after CT-004 at level 2, window open) the design says stay
    at level 2, provisionally."""
    dm = example_web.bearer("admin")
    state = dm.get("/api/v1/escalation?as_of=2022-06-01").json()
    assert state["available"] is True
    assert len(state["patients"]) == 12 and not any(p["dlt"] for p in state["patients"])
    assert [c["outcomes"] for c in state["cohorts"]] == ["1NNN", "2NNN", "2NNNNNN"]
    assert all(r["deviation"] == "" for r in state["replay"])
    assert state["recommendation"]["decision"] == "stop"
    assert state["decision_table"]["rows"][0]["n"] >= 1
    early = dm.get("/api/v1/escalation?as_of=2021-08-01").json()
    assert early["pending"]["outcomes"] == "2N"
    rec = early["recommendation"]
    assert (rec["next_dose"], rec["decision"], rec["provisional"]) == (2, "stay", True)
    ct004 = next(p for p in early["patients"] if p["subject_id"] == "CT-004")
    # infused 2021-07-13, 28-day window closes 2021-08-10: 9 days left on 2021-08-01
    assert (ct004["window_open"], ct004["days_left"], ct004["window_closes_on"]) == (True, 9, "2021-08-10")


def test_committee_decision_needs_reason_when_it_differs(any_web_study):
    """The small study: CT-001 and CT-101 infused at level 1 on 2021-04-27, no DLT, no recorded cohort;
    the design (3+3) after 1NN wants a third patient at level 1 ("stay")."""
    dm = any_web_study.bearer("dm")
    state = dm.get("/api/v1/escalation?as_of=2021-06-30").json()
    assert state["recommendation"]["outcomes"] == "1NN"
    assert state["recommendation"]["decision"] == "stay"
    body = {
        "cohort": 1,
        "dose_level": 1,
        "decided_on": "2021-06-30",
        "outcomes": "1NN",
        "decision": "escalate",
    }
    refused = dm.post("/api/v1/escalation/decisions", json=body)
    assert refused.status_code == 422 and refused.json()["field"] == "reason"
    # who approved is the committee's chair or the committee, as the import takes it (D-19.410): not the
    # data manager who records it (the trail names the recorder), and a line break is refused as there
    approver = "safety review committee (chair A. Chen)"
    bad = dm.post(
        "/api/v1/escalation/decisions",
        json={**body, "reason": "third patient withdrew consent", "approved_by": "SRC\nchair"},
    )
    assert bad.status_code == 422 and "approved_by" in bad.json()["field"], bad.text
    ok = dm.post(
        "/api/v1/escalation/decisions",
        json={**body, "reason": "third patient withdrew consent", "approved_by": approver},
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["differs"] is True
    stored = dm.get("/api/v1/records/escalation_decisions").json()["items"][0]["values"]
    assert stored["design_state"]["committee_reason"] == "third patient withdrew consent"
    assert stored["approved_by"] == approver
    assert any_web_study.bearer("mon").post("/api/v1/escalation/decisions", json=body).status_code == 403
    # the committee's decision is not a site investigator's to record (D-19.410): refused before anything runs
    refused_inv = any_web_study.bearer("inv").post("/api/v1/escalation/decisions", json={**body, "cohort": 2})
    assert refused_inv.status_code == 403 and "record escalation" in refused_inv.json()["error"]


def test_a_control_character_in_the_url_or_a_value_is_a_located_4xx_never_a_server_error(any_web_study):
    """PostgreSQL cannot store or even compare a text holding NUL: a ``%00`` in a path or a query parameter
    is refused before any route runs (400, not echoed), one in a record's field by the field rules (422)."""
    dm = any_web_study.bearer("dm")
    for url, field, named in [
        ("/api/v1/audit/subjects/CT%00-001", "URL path", "U+0000"),
        ("/api/v1/records/infusions?subject_id=CT-001%1b", "query parameter 'subject_id'", "U+001B"),
    ]:
        answer = dm.get(url)
        assert answer.status_code == 400, url
        body = answer.json()
        # named as every refused key character (D-19.522)
        message = f"contains {named} <control> (a control character)"
        assert (body["error"], body["field"], body["value"]) == (message, field, None)
        assert body["allowed"]
    page = any_web_study.session("dm").get("/subjects/CT-001%00")
    assert page.status_code == 400 and "control character" in page.text
    invisible = dm.get("/api/v1/records/infusions?subject_id=CT-0%E2%80%8B01")  # U+200B: a key's rule
    assert invisible.status_code in (400, 422), invisible.text
    assert invisible.json()["error"].startswith("contains U+200B ZERO WIDTH SPACE")
    created = dm.post(
        "/api/v1/records/crs_assessments",
        json={"values": {"subject_id": "CT-001\x00", **_crs("2021-05-02T10:00:00Z", 38.2)}},
    )
    assert created.status_code == 422, created.text
    assert created.json()["field"].endswith("subject_id")
    assert dm.get("/api/v1/records/crs_assessments?subject_id=CT-001").status_code == 200


def test_a_record_id_beyond_what_a_table_holds_is_not_found_on_both_backends(any_web_study):
    """PostgreSQL refuses to compare an id beyond its 32-bit INTEGER (found by the API fuzz on PostgreSQL):
    such an id names no record — 404 for a record, for its audit trail (D-19.1038) and for a query on it."""
    dm = any_web_study.bearer("dm")
    huge = 2**31
    assert dm.get(f"/api/v1/records/infusions/{huge}").status_code == 404
    assert dm.get(f"/api/v1/records/infusions/{huge - 1}").status_code == 404
    trail = dm.get(f"/api/v1/audit/records/infusions/{huge}")
    assert trail.status_code == 404 and trail.json()["field"] == "id"  # as the trail's page (D-19.1038)
    raised = dm.post("/api/v1/queries", json={"form": "infusions", "record_id": huge, "text": "Check weight"})
    assert raised.status_code == 404
    assert raised.json()["error"] == "no infusion record with this id"


def test_a_record_whose_key_exists_is_a_located_409(any_web_study):
    """A second CRS assessment of one subject at one moment (here written in another time zone): 409 naming
    the key fields, the key given and what is allowed — field/value/allowed were all null before."""
    dm = any_web_study.bearer("dm")
    first = dm.post(
        "/api/v1/records/crs_assessments",
        json={"values": {"subject_id": "CT-001", **_crs("2021-07-01T10:00:00Z", 37.0)}},
    )
    assert first.status_code == 201, first.text
    again = dm.post(
        "/api/v1/records/crs_assessments",
        json={"values": {"subject_id": "CT-001", **_crs("2021-07-01T12:00:00+02:00", 38.0)}},
    )
    assert again.status_code == 409
    body = again.json()
    assert body["field"] == "subject_id, assessed_at" and "CT-001" in body["value"]
    assert "2021-07-01 10:00:00" in body["value"] and "no other crs_assessment record has" in body["allowed"]


def _infusion(subject: str, infused_at: str, **changes: object) -> dict:
    values = {
        "subject_id": subject,
        "dose_level": 1,
        "infused_at": infused_at,
        "weight_kg": 60.0,
        "cells_per_kg": 500000,
        "total_car_t_cells": 30000000,
    }
    values.update(changes)
    return values


def test_validate_runs_the_edit_checks_across_forms_without_writing(any_web_study):
    """Typing-time validation runs the store's edit checks with the subject's stored records, as the save
    would: a hard check is a problem (the save is refused), a soft one a data query the save would raise;
    nothing is written (issue 19 §1: one validation path for the web forms)."""
    inv = any_web_study.bearer("inv")
    dm = any_web_study.bearer("dm")
    queries_before = dm.get("/api/v1/queries").json()
    # CT-001 has its infusion (fixture): a second one is refused by INFUSION-ONCE, at the field typed
    second = inv.post(
        "/api/v1/forms/infusions/validate",
        json={"values": _infusion("CT-001", "2021-06-01T02:00:00Z"), "partial": False},
    )
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["ok"] is False and body["queries"] == []
    assert [p["message"].split("]")[0] for p in body["problems"]] == ["[INFUSION-ONCE, hard"]
    assert body["problems"][0]["field"].startswith("infusion.")
    # CT-002 consented on 2021-05-01 (fixture): an infusion before it is refused (hard)
    early = inv.post(
        "/api/v1/forms/infusions/validate",
        json={"values": _infusion("CT-002", "2021-04-20T02:00:00Z"), "partial": False},
    ).json()
    assert early["ok"] is False
    assert {p["message"].split("]")[0] for p in early["problems"]} == {"[INFUSION-BEFORE-CONSENT, hard"}
    # total cells three times cells/kg × weight: accepted, with the soft query the save would raise
    mismatch = inv.post(
        "/api/v1/forms/infusions/validate",
        json={"values": _infusion("CT-002", "2021-05-20T02:00:00Z", total_car_t_cells=90000000)},
    ).json()
    assert mismatch["ok"] is True and mismatch["problems"] == []
    assert [q["message"].split("]")[0] for q in mismatch["queries"]] == ["[TOTAL-CELLS-MISMATCH, soft"]
    clean = inv.post(
        "/api/v1/forms/infusions/validate",
        json={"values": _infusion("CT-002", "2021-05-20T02:00:00Z")},
    ).json()
    assert clean == {"ok": True, "problems": [], "queries": []}
    # nothing was written: no infusion for CT-002, no data query raised
    assert dm.get("/api/v1/records/infusions?subject_id=CT-002").json()["total"] == 0
    assert dm.get("/api/v1/queries").json() == queries_before


def test_validate_of_changes_to_a_stored_record_judges_the_record_once(any_web_study):
    """Changes to the stored infusion (`record_id`) are not a second infusion; moving it before consent
    is refused, as the update would be."""
    dm = any_web_study.bearer("dm")
    record_id = dm.get("/api/v1/records/infusions?subject_id=CT-001").json()["items"][0]["id"]
    same = dm.post(
        "/api/v1/forms/infusions/validate",
        json={"values": _infusion("CT-001", "2021-04-28T02:00:00Z"), "record_id": record_id},
    ).json()
    assert same == {"ok": True, "problems": [], "queries": []}
    moved = dm.post(
        "/api/v1/forms/infusions/validate",
        json={"values": _infusion("CT-001", "2021-03-01T02:00:00Z"), "record_id": record_id},
    ).json()
    assert {p["message"].split("]")[0] for p in moved["problems"]} == {"[INFUSION-BEFORE-CONSENT, hard"}


def test_a_write_for_another_sites_subject_is_answered_as_for_an_absent_one(any_web_study):
    """An investigator's write for a subject of another site was a 403 naming that site, while an unknown
    subject was a 422: the answer told a subject's existence and site apart (docs/web.md: other sites'
    records answer as if absent). Both are now the same 404, the site not named."""
    inv = any_web_study.bearer("inv")
    dm = any_web_study.bearer("dm")
    answers = {}
    for subject in ("CT-101", "CT-999"):  # CT-101 is at PUMCH, the investigator at TJH (fixture)
        created = inv.post(
            "/api/v1/records/crs_assessments",
            json={"values": {"subject_id": subject, **_crs("2021-05-02T10:00:00Z", 38.4)}},
        )
        body = created.json()
        _error_shape(body)
        assert "PUMCH" not in created.text
        answers[subject] = (created.status_code, body["error"], body["field"], body["allowed"])
    assert answers["CT-101"] == answers["CT-999"] and answers["CT-101"][0] == 404
    assert dm.get("/api/v1/records/crs_assessments?subject_id=CT-101").json()["total"] == 1  # nothing written
