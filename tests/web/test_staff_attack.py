"""Defects found by the site-staff attack of 2026-12-07 (the admin page's user forms, the escalation
decision form), each with the probe that found it."""

from __future__ import annotations

import re
from html import unescape

import pytest

LONG_PASSWORD = "a long enough passphrase 1"
"""26 characters, no repeated run, not a user name: passes the password policy (15-256)."""


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _account(web_study, username: str) -> tuple[str, str | None]:
    rows = web_study.service.as_user("admin").list_users()
    row = next(r for r in rows if r["username"] == username)
    return row["role"], row["site_id"]


def test_a_role_change_to_investigator_without_a_site_is_refused_on_the_page(web_study):
    """A new investigator without a site is refused ("an investigator needs a site"), but the admin page's
    role change made the monitor (no site) an investigator with no site: an account that may enter data
    and whose site restriction names no site. Now the same refusal, located at the site (D-19.919)."""
    client = web_study.session("admin")
    token = _csrf(client.get("/admin/users").text)
    answer = client.post(
        "/admin/users/mon/role",
        data={"role": "investigator", "site_id": "", "reason": "joins a site team", "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 422, (answer.status_code, answer.headers.get("location"))
    assert "an investigator needs a site" in unescape(answer.text)
    assert _account(web_study, "mon") == ("monitor", None)


def test_a_role_change_to_investigator_without_a_site_is_refused_by_the_api(web_study):
    """``PATCH /api/v1/users/{name}`` with ``role: investigator`` and no site: 422 with a JSON body naming
    the site, as ``POST /api/v1/users`` answers for a new investigator without a site (D-19.919)."""
    answer = web_study.bearer("admin").patch(
        "/api/v1/users/stat", json={"role": "investigator", "reason": "joins a site team"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "site"
    assert _account(web_study, "stat") == ("statistician", None)
    created = web_study.bearer("admin").post(
        "/api/v1/users", json={"username": "newinv", "role": "investigator", "password": LONG_PASSWORD}
    )
    assert created.status_code == 422 and created.json()["field"] == "site"


def test_a_role_change_to_investigator_with_a_site_still_works(web_study):
    client = web_study.session("admin")
    token = _csrf(client.get("/admin/users").text)
    answer = client.post(
        "/admin/users/mon/role",
        data={"role": "investigator", "site_id": "PUMCH", "reason": "joins a site team", "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]
    assert _account(web_study, "mon") == ("investigator", "PUMCH")


@pytest.mark.parametrize(
    ("typed", "field", "said"),
    [
        ({"role": "investigator", "site_id": "", "password": LONG_PASSWORD}, "site_id", "needs a site"),
        ({"role": "monitor", "site_id": "PUMCH", "password": "short"}, "password", "too short"),
    ],
)
def test_a_refused_new_user_comes_back_with_what_was_typed_and_the_problem_at_its_input(
    web_study, typed, field, said
):
    """ "Create a user" refused (an investigator without a site, a short password) came back EMPTY — user
    name, full name, role and site to type again — with one alert at the top of the page tied to no input.
    Now the form holds what was typed (never the password) and the problem is at its input: in the
    element the input's ``aria-describedby`` names, the input ``aria-invalid`` (D-19.920)."""
    client = web_study.session("admin")
    token = _csrf(client.get("/admin/users").text)
    answer = client.post(
        "/admin/users",
        data={"username": "newperson", "full_name": "Dr Wen Li", "csrf_token": token, **typed},
        follow_redirects=False,
    )
    assert answer.status_code == 422
    page = answer.text
    assert re.search(r'id="nu-username"[^>]*value="newperson"', page)
    assert re.search(r'id="nu-name"[^>]*value="Dr Wen Li"', page)
    role = re.search(r'<select id="nu-role".*?</select>', page, re.S)
    assert role and f'value="{typed["role"]}" selected' in role.group(0)
    site = re.search(r'<select id="nu-site".*?</select>', page, re.S)
    assert site and (
        f'value="{typed["site_id"]}" selected' in site.group(0)
        if typed["site_id"]
        else "selected" not in site.group(0)
    )
    assert LONG_PASSWORD not in page and 'value="short"' not in page
    inputs = {"site_id": "nu-site", "password": "nu-password"}
    tag = re.search(rf'<(?:input|select)[^>]*id="{inputs[field]}"[^>]*>', page)
    assert tag and 'aria-invalid="true"' in tag.group(0)
    described = re.search(r'aria-describedby="([^"]+)"', tag.group(0))
    assert described
    texts = [
        unescape(re.sub(r"<[^>]+>", " ", m.group(1)))
        for ident in described.group(1).split()
        if (m := re.search(rf'id="{ident}">(.*?)</(?:div|p)>', page, re.S))
    ]
    assert any(said in text for text in texts), texts


def test_a_refused_escalation_decision_marks_each_refused_input_invalid(web_study):
    """The committee's decision form refused (no decision of the list, a dose level that is no number, a
    date that is no date): each problem was under its input, but only "approved by" and "reason" were ever
    marked ``aria-invalid``, so a screen reader announced the decision, dose level and date as valid
    (WCAG 2.2 SC 3.3.1: the item in error is identified). Now every refused input is (D-19.921)."""
    client = web_study.session("dm")
    page = client.get("/escalation").text
    assert 'id="decision-form"' in page
    answer = client.post(
        "/escalation/decision",
        data={
            "decision": "carry on",
            "dose_level": "one",
            "decided_on": "2021-13-40",
            "reason": "committee view",
            "approved_by": "SRC chair",
            "csrf_token": _csrf(page),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 422
    for name in ("decision", "dose_level", "decided_on"):
        tag = re.search(rf'<(?:input|select)[^>]*id="d-{name}"[^>]*>', answer.text)
        assert tag and 'aria-invalid="true"' in tag.group(0), name
        assert f'aria-describedby="derr-{name}"' in tag.group(0)
        assert re.search(rf'id="derr-{name}"><span>', answer.text), name
    approved = re.search(r'<input[^>]*id="d-approved_by"[^>]*>', answer.text)
    assert approved and "aria-invalid" not in approved.group(0)  # not refused: not marked


def test_a_refused_change_reason_is_marked_invalid(web_study):
    """A correction saved without a reason: the problem was under the reason box, the box not marked
    ``aria-invalid`` (WCAG 2.2 SC 3.3.1). Now it is, and the value typed in the form is kept (D-19.921)."""
    client = web_study.session("inv")
    record = web_study.service.find_records("admin", "crs_assessment", subject_id="CT-001")[0]["id"]
    page = client.get(f"/records/crs_assessment/{record}").text
    version = re.search(r'name="version" value="([^"]+)"', page)
    assert version
    answer = client.post(
        f"/records/crs_assessment/{record}",
        data={
            "csrf_token": _csrf(page),
            "version": version.group(1),
            "reason": "",
            "subject_id": "CT-001",
            "assessed_at": "2021-04-30T10:00:00Z",
            "temperature_c": "38.7",
            "fever_masked": "0",
            "hypotension": "0",
            "vasopressors": "0",
            "vasopressin": "0",
            "oxygen": "none",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 422
    tag = re.search(r'<textarea[^>]*id="in-reason"[^>]*>', answer.text)
    assert tag and 'aria-invalid="true"' in tag.group(0)
    assert re.search(r'id="err-reason"><span>a reason', answer.text)
    assert re.search(r'id="in-temperature_c"[^>]*value="38.7"', answer.text)


def test_no_site_chosen_on_the_admin_page_clears_the_site(web_study):
    """The row of a user with a site offers "no site"; chosen, with a new role, it was ignored: the data
    manager given site TJH, made a monitor with "no site", kept TJH ("Role set." and the list still said
    TJH), and no page or API call could ever clear it. Now the site is cleared (D-19.922)."""
    web_study.service.as_user("admin").change_user("dm", "works at TJH for a while", site_id="TJH")
    assert _account(web_study, "dm") == ("data_manager", "TJH")
    client = web_study.session("admin")
    token = _csrf(client.get("/admin/users").text)
    answer = client.post(
        "/admin/users/dm/role",
        data={"role": "monitor", "site_id": "", "reason": "monitors every site", "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]
    assert _account(web_study, "dm") == ("monitor", None)


def test_an_empty_site_in_the_api_clears_the_site_and_a_missing_one_keeps_it(web_study):
    """``PATCH /api/v1/users/{name}`` with ``site_id: ""`` was a 422 "no site with site_id = ''" (nothing
    could clear a site); now "no site", as the page's choice; no ``site_id`` keeps the site (D-19.922)."""
    client = web_study.bearer("admin")
    assert client.patch("/api/v1/users/dm", json={"site_id": "TJH", "reason": "at TJH"}).status_code == 200
    kept = client.patch("/api/v1/users/dm", json={"role": "monitor", "reason": "monitors"})
    assert kept.status_code == 200 and _account(web_study, "dm") == ("monitor", "TJH")
    cleared = client.patch("/api/v1/users/dm", json={"site_id": "", "reason": "every site"})
    assert cleared.status_code == 200, cleared.text
    assert _account(web_study, "dm") == ("monitor", None)
    refused = client.patch("/api/v1/users/inv", json={"site_id": "", "reason": "no site"})
    assert refused.status_code == 422 and refused.json()["field"] == "site"
    assert _account(web_study, "inv") == ("investigator", "TJH")


def test_a_query_on_a_record_shows_when_it_was_raised_on_the_sites_clock(web_study):
    """The record page's queries said when each was raised as ``2026-12-07 08:00`` — UTC, unlabelled — on
    a page whose clinic times are typed on the site's clock: at a Shanghai site an investigator read a
    query raised at 16:00 their time as raised at 08:00. Now the site's clock with its zone named (UTC,
    said so, for a site without a zone) (D-19.923)."""
    import datetime as dt

    admin = web_study.service.as_user("admin")
    site = admin.find_records("site", site_id="TJH")[0]
    admin.update_record("site", site["id"], {"time_zone": "Asia/Shanghai"}, site["version"], "clinic zone")
    record = admin.find_records("crs_assessment", subject_id="CT-001")[0]["id"]
    web_study.service.as_user("mon").raise_query("crs_assessment", record, "Please confirm the temperature.")
    raised = admin.find_records("data_query", record_id=record)[0]["raised_at"]
    raised = raised if raised.tzinfo else raised.replace(tzinfo=dt.UTC)
    # Asia/Shanghai is UTC+8 all year (no daylight saving since 1991)
    shanghai = (raised.astimezone(dt.UTC) + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    page = web_study.session("inv").get(f"/records/crs_assessment/{record}").text
    row = re.search(r'<table aria-labelledby="queries" id="record-queries">.*?</table>', page, re.S)
    assert row and f"mon, {shanghai} Asia/Shanghai" in row.group(0)
    other = admin.find_records("crs_assessment", subject_id="CT-101")[0]["id"]  # PUMCH: no zone set
    web_study.service.as_user("mon").raise_query("crs_assessment", other, "Please confirm the oxygen.")
    at = admin.find_records("data_query", record_id=other)[0]["raised_at"]
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    page = web_study.session("dm").get(f"/records/crs_assessment/{other}").text
    assert f"mon, {at.astimezone(dt.UTC).strftime('%Y-%m-%d %H:%M')} UTC" in page


def _row_tag(page: str, ident: str) -> str:
    tag = re.search(rf'<(?:input|select)[^>]*id="{ident}"[^>]*>', page)
    assert tag, ident
    return tag.group(0)


def test_a_refused_row_change_on_the_users_page_comes_back_as_sent_with_its_problem_at_the_row(web_study):
    """A role change refused (an investigator without a site) came back with the row reset — the role and
    site as stored, the reason typed gone — and the problem in one alert at the top; a password reset or a
    deactivation refused (no reason) lost the row's reason likewise. Now the row's form holds what was sent
    (never a password), the problem under it, named by the inputs' ``aria-describedby``, the refused input
    ``aria-invalid`` (D-19.924)."""
    client = web_study.session("admin")
    page = client.get("/admin/users").text
    token = _csrf(page)
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>', page)
    index = rows.index("mon") + 1
    answer = client.post(
        "/admin/users/mon/role",
        data={"role": "investigator", "site_id": "", "reason": "joins a site team", "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 422
    role = re.search(rf'<select id="role-{index}".*?</select>', answer.text, re.S)
    assert role and 'value="investigator" selected' in role.group(0)
    reason = _row_tag(answer.text, f"rreason-{index}")
    assert 'value="joins a site team"' in reason and f'aria-describedby="rerr-{index}"' in reason
    site = _row_tag(answer.text, f"site-{index}")
    assert 'aria-invalid="true"' in site and f'aria-describedby="rerr-{index}"' in site
    said = re.search(rf'id="rerr-{index}">(.*?)</div>', answer.text, re.S)
    assert said and "an investigator needs a site" in unescape(said.group(1))
    refused = client.post(
        "/admin/users/mon/password",
        data={"password": "short", "reason": "forgotten password", "csrf_token": token},
        follow_redirects=False,
    )
    assert refused.status_code == 422 and 'value="short"' not in refused.text
    assert 'value="forgotten password"' in _row_tag(refused.text, f"preason-{index}")
    password = _row_tag(refused.text, f"pw-{index}")
    assert 'aria-invalid="true"' in password and f"perr-{index}" in password
    said = re.search(rf'id="perr-{index}">(.*?)</div>', refused.text, re.S)
    assert said and "too short" in said.group(1)
    off = client.post(
        "/admin/users/mon/active",
        data={"active": "0", "reason": "", "csrf_token": token},
        follow_redirects=False,
    )
    assert off.status_code == 422
    assert 'aria-invalid="true"' in _row_tag(off.text, f"areason-{index}")
    assert re.search(rf'id="aerr-{index}"><span>', off.text)


def test_a_taken_user_name_is_shown_at_its_input_without_naming_the_account(web_study):
    """ "Create a user" with ``Inv`` (``inv`` exists) came back with the user name input unmarked and its
    error element empty — the refusal located nothing — and the top alert said "taken by user 'inv'", the
    stored name of another account. Now the problem is at the user name input, value-free (D-19.884)."""
    client = web_study.session("admin")
    token = _csrf(client.get("/admin/users").text)
    answer = client.post(
        "/admin/users",
        data={"username": "Inv", "role": "monitor", "password": LONG_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 409
    page = unescape(answer.text)
    assert 'aria-invalid="true"' in _row_tag(answer.text, "nu-username")
    said = re.search(r'id="nu-err-username">(.*?)</div>', answer.text, re.S)
    assert said and "the user name is taken" in unescape(said.group(1))
    assert "'inv'" not in page and "'Inv'" not in page


def test_demoting_the_last_admin_on_the_users_page_shows_the_refusal_at_the_row(web_study):
    """The last-admin refusal (409) went to the top alert only: the row's error element, named by its
    inputs, stayed empty. Now the refusal's text is at the row (D-19.885)."""
    client = web_study.session("admin")
    page = client.get("/admin/users").text
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>', page)
    index = rows.index("admin") + 1
    answer = client.post(
        "/admin/users/admin/role",
        data={"role": "monitor", "site_id": "TJH", "reason": "stepping down", "csrf_token": _csrf(page)},
        follow_redirects=False,
    )
    assert answer.status_code == 409
    said = re.search(rf'id="rerr-{index}">(.*?)</div>', answer.text, re.S)
    assert said and "last active admin" in unescape(said.group(1))
    assert _account(web_study, "admin") == ("admin", "TJH")


def test_an_unknown_site_is_refused_without_the_value_typed(web_study):
    """An unknown site in a role change was refused as "no site with site_id = 'NOPE<b>' …": the value
    typed inside the message, on the page and in the API's JSON. Now the column and table only (D-19.885)."""
    answer = web_study.bearer("admin").patch(
        "/api/v1/users/mon", json={"role": "monitor", "site_id": "NOPE<b>", "reason": "moves"}
    )
    assert answer.status_code == 422, answer.text
    assert "NOPE" not in answer.text and "no site with this site_id" in answer.text
    client = web_study.session("admin")
    token = _csrf(client.get("/admin/users").text)
    page = client.post(
        "/admin/users/mon/role",
        data={"role": "monitor", "site_id": "NOPE<b>", "reason": "moves", "csrf_token": token},
        follow_redirects=False,
    ).text
    assert "NOPE" not in page.split('<select id="site-')[0]  # the alert, before the rows
    said = re.findall(r'id="rerr-\d+">(.*?)</div>', page, re.S)
    assert any("no site with this site_id" in unescape(s) for s in said)
    assert not any("NOPE" in unescape(s) for s in said)


def test_a_query_on_a_site_record_is_shown_on_that_sites_clock(web_study):
    """A query on a site's own record (no subject) was shown raised in UTC though the site has a zone and
    its form's times are read on it. Now the record's clock: the site's own zone (D-19.925)."""
    import datetime as dt

    admin = web_study.service.as_user("admin")
    site = admin.find_records("site", site_id="TJH")[0]
    admin.update_record("site", site["id"], {"time_zone": "Asia/Shanghai"}, site["version"], "clinic zone")
    web_study.service.as_user("mon").raise_query("site", site["id"], "Please confirm the site name.")
    queries = admin.find_records("data_query", record_id=site["id"])
    raised = next(q for q in queries if q["table_name"] == "site")["raised_at"]
    raised = raised if raised.tzinfo else raised.replace(tzinfo=dt.UTC)
    # Asia/Shanghai is UTC+8 all year (no daylight saving since 1991)
    shanghai = (raised.astimezone(dt.UTC) + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    page = web_study.session("admin").get(f"/records/site/{site['id']}").text
    row = re.search(r'<table aria-labelledby="queries" id="record-queries">.*?</table>', page, re.S)
    assert row and f"mon, {shanghai} Asia/Shanghai" in row.group(0), row and row.group(0)
