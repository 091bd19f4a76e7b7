"""The user administration page reads what it is sent as the rest of the app does (web sweep, D-19.552)."""

from __future__ import annotations

import re

import pytest

from cartrial.columns import BOOL_ALLOWED

THERAPIES = (
    b"subject_id,given_at,therapy,agent,dose,unit\n"
    b"CT-001,2021-04-30T11:00:00Z,antipyretic,paracetamol,500,mg\n"
)
"""A therapy of CT-001 as the template holds it (one row)."""


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _active(web_study, username: str) -> bool:
    rows = web_study.service.find_records("admin", "app_user")
    return bool(next(r["active"] for r in rows if r["username"] == username))


@pytest.mark.parametrize("sent", ["maybe", "", "2", "on"])
def test_an_active_flag_that_is_not_true_or_false_is_refused_not_read_as_deactivate(web_study, sent):
    """``active=maybe`` (anything but ``1``) deactivated the user — every session of theirs ended — and
    said "User deactivated.": now a 422 naming ``active``, the value sent and what is allowed; the user
    stays active."""
    client = web_study.session("admin")
    token = _csrf(client.get("/admin/users").text)
    answer = client.post(
        "/admin/users/inv/active",
        data={"active": sent, "reason": "leaving the study team", "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 422, (answer.status_code, answer.headers.get("location"))
    said = "not true or false" if sent else "value is required"
    assert f"active: {said}" in answer.text and f"allowed: {BOOL_ALLOWED}" in answer.text
    assert _active(web_study, "inv")


@pytest.mark.parametrize(("sent", "active"), [("0", False), ("1", True), ("false", False), ("yes", True)])
def test_the_active_words_the_import_reads_still_work(web_study, sent, active):
    client = web_study.session("admin")
    token = _csrf(client.get("/admin/users").text)
    answer = client.post(
        "/admin/users/inv2/active",
        data={"active": sent, "reason": "leaving the study team", "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]
    assert _active(web_study, "inv2") is active


def _audit_rows(web_study) -> int:
    """The therapy records of the study (the uploaded file's table)."""
    return len(web_study.service.find_records("admin", "therapy"))


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"kind": "templates", "dry_run": "yes please"}, "dry_run: not true or false"),
        ({"kind": "REDCap", "dry_run": "1"}, "kind: not one of the choices"),
        ({"kind": "csv", "dry_run": "1"}, "kind: not one of the choices"),
    ],
)
def test_an_import_page_option_that_is_not_one_offered_is_refused_before_anything_is_read(
    web_study, data, said
):
    """``dry_run=yes`` (anything but ``1``) ran the real import — the data written where the user asked
    for a check only — and ``kind=REDCap`` read the files as CSV templates. Both are now a 422 naming the
    field and what is allowed; nothing is written (D-19.552)."""
    before = _audit_rows(web_study)
    answer = web_study.session("admin").post(
        "/data/import", files=[("files", ("therapies.csv", THERAPIES, "text/csv"))], data=data
    )
    assert answer.status_code == 422, answer.text[-800:]
    assert (
        said in answer.text and "Nothing was written" in answer.text
    )  # the problem, not the form's own words
    assert _audit_rows(web_study) == before


def test_a_dry_run_ticked_as_the_page_sends_it_writes_nothing_and_an_unticked_box_imports(web_study):
    client = web_study.session("admin")
    before = _audit_rows(web_study)
    files = [("files", ("therapies.csv", THERAPIES, "text/csv"))]
    checked = client.post("/data/import", files=files, data={"kind": "templates", "dry_run": "1"})
    assert checked.status_code == 200, checked.text[-800:]
    assert _audit_rows(web_study) == before
    imported = client.post("/data/import", files=files, data={"kind": "templates", "reason": "chart data"})
    assert imported.status_code == 200, imported.text[-800:]
    assert _audit_rows(web_study) > before
