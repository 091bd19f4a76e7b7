"""A site-restricted investigator learns nothing of other sites: not their names, not the study-wide
audit row count (D-19.411; the "as if absent" rule of D-19.174, D-19.345, D-19.347, D-19.348)."""

from __future__ import annotations

import re

import pytest

OTHER_SITE = ("PUMCH", "Peking")


def _site_ids(study) -> dict[str, int]:
    return {r["site_id"]: int(r["id"]) for r in study.service.find_records("admin", "site")}


def test_an_investigator_reads_only_their_own_site_record(any_web_study):
    """`GET /records/sites`, the sites export, and another site's record and its audit answer as if the
    other site did not exist; the own site's record stays readable."""
    api = any_web_study.bearer("inv")
    ids = _site_ids(any_web_study)
    listed = api.get("/api/v1/records/sites")
    assert listed.status_code == 200
    assert [item["values"]["site_id"] for item in listed.json()["items"]] == ["TJH"]
    assert listed.json()["total"] == 1
    exported = api.get("/api/v1/export/sites.csv")
    assert exported.status_code == 200 and "TJH" in exported.text
    answer = api.get(f"/api/v1/records/sites/{ids['PUMCH']}")
    assert answer.status_code == 404 and not any(word in answer.text for word in OTHER_SITE)
    # the other site's trail answers as the trail of an id no record ever had
    absent = api.get("/api/v1/audit/records/sites/999999")
    trail = api.get(f"/api/v1/audit/records/sites/{ids['PUMCH']}")
    assert trail.status_code == absent.status_code == 404  # as the page (D-19.1038)
    assert trail.json()["error"] == absent.json()["error"] and not any(w in trail.text for w in OTHER_SITE)
    assert api.get(f"/api/v1/audit/records/sites/{ids['TJH']}").json() != []
    assert not any(word in exported.text for word in OTHER_SITE)
    assert api.get(f"/api/v1/records/sites/{ids['TJH']}").status_code == 200
    page = any_web_study.session("inv")
    for path in (f"/records/site/{ids['PUMCH']}", f"/audit/records/site/{ids['PUMCH']}"):
        answer = page.get(path)
        assert answer.status_code == 404 and not any(word in answer.text for word in OTHER_SITE), path
    # a study-wide role still sees every site
    assert len(any_web_study.bearer("mon").get("/api/v1/records/sites").json()["items"]) == 2


def test_an_investigator_is_not_told_the_study_wide_audit_row_count(any_web_study):
    """The chain's verification is shown (intact or not), but not how many rows the study's trail holds:
    that count moves with every other site's entries."""
    api = any_web_study.bearer("inv")
    verified = api.get("/api/v1/audit/verify").json()
    assert verified["ok"] is True and verified["first_broken_id"] is None
    assert not re.search(r"\d", verified["message"]), verified["message"]
    pages = any_web_study.session("inv")
    for path in ("/audit", "/audit/subjects/CT-001"):
        answer = pages.get(path)
        assert answer.status_code == 200
        paragraph = answer.text.split('id="audit-verify"', 1)[1].split("</p>", 1)[0]
        assert "verified" in paragraph and not re.search(r"\d", paragraph), (path, paragraph)
    # a study-wide role is told the count (the trail holds at least the set-up's rows)
    told = any_web_study.bearer("mon").get("/api/v1/audit/verify").json()["message"]
    assert (
        int(re.search(r"(\d+) rows verified", told).group(1))
        >= any_web_study.service.table_counts()["audit_log"] - 10
    )


def _answer_text(answer) -> tuple[int, str]:
    """Status and error text, with the site code typed taken out (the user's own value)."""
    text = answer.json()["error"] if answer.headers["content-type"].startswith("application/json") else ""
    return answer.status_code, text.replace("PUMCH", "<site>").replace("ZZZ", "<site>")


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_write_naming_another_site_is_refused_alike_whether_that_site_exists(any_web_study, dry_run):
    """An investigator enrolling a subject at, moving a subject to, or importing a subject of another site
    was told "unknown site" for a code no site has and "belongs to another site" for a real one: typing
    codes found the other sites' ids. Both are now the own-site refusal (D-19.415)."""
    api = any_web_study.bearer("inv")
    header = "subject_id,site_id,consent_date,sex"
    answers: dict[str, list[tuple[int, str]]] = {}
    for site in ("PUMCH", "ZZZ"):
        new = {"subject_id": "CT-555", "site_id": site, "consent_date": "2021-01-01", "sex": "F"}
        own = api.get(f"/api/v1/records/subjects/{_subject_id(any_web_study, 'CT-001')}").json()
        moved = {"values": {"site_id": site}, "reason": "moved", "version_token": own["version_token"]}
        imported = api.post(
            "/api/v1/import/templates",
            files=[
                ("files", ("subjects.csv", f"{header}\nCT-556,{site},2021-01-01,F\n".encode(), "text/csv"))
            ],
            data={"reason": "new subject", "dry_run": str(dry_run).lower()},
        )
        answers[site] = [
            _answer_text(api.post("/api/v1/records/subjects", json={"values": new})),
            _answer_text(api.patch(f"/api/v1/records/subjects/{own['id']}", json=moved)),
            (imported.status_code, imported.text.replace("PUMCH", "<site>").replace("ZZZ", "<site>")),
        ]
    assert answers["PUMCH"] == answers["ZZZ"]
    assert all(status >= 400 for status, _ in answers["ZZZ"])
    assert len(any_web_study.service.find_records("admin", "subject")) == 3


def _subject_id(study, subject_id: str) -> int:
    return int(study.service.find_records("admin", "subject", subject_id=subject_id)[0]["id"])
