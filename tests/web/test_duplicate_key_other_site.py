"""A subject id another site holds (D-19.297): the web form, the JSON API and the check while typing refuse
it without telling that a record exists, where, or its id — the same words as for any key that cannot be
used — and run no edit check with that subject's records. A duplicate at one's own site keeps its link to
the existing record (D-19.283)."""

from __future__ import annotations

import re

NEW = {"site_id": "TJH", "consent_date": "2021-06-01", "sex": "F"}
LEAKS = ("PUMCH", "another site", "exist", "already", "update", "/records/subject/")


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _ids(web_study) -> dict[str, int]:
    return {r["subject_id"]: int(r["id"]) for r in web_study.service.find_records("admin", "subject")}


def test_the_form_refuses_another_sites_subject_id_without_naming_it(web_study) -> None:
    ids = _ids(web_study)
    client = web_study.session("inv")
    token = _csrf(client.get("/subjects/new").text)
    held = client.post("/subjects", data={**NEW, "subject_id": "CT-101", "csrf_token": token})
    assert held.status_code == 409
    alert = re.search(r'(?s)id="conflict">(.*?)</div>', held.text)
    assert alert and "cannot be used" in alert.group(1)
    for leak in (*LEAKS, f"id {ids['CT-101']}"):
        assert leak not in alert.group(1), leak
    assert 'id="existing-record"' not in held.text
    own = client.post("/subjects", data={**NEW, "subject_id": "CT-002", "csrf_token": token})
    assert own.status_code == 409
    assert f'href="/records/subject/{ids["CT-002"]}"' in own.text  # one's own site: linked (D-19.283)
    free = client.post(
        "/subjects", data={**NEW, "subject_id": "CT-050", "csrf_token": token}, follow_redirects=False
    )
    assert free.status_code == 303


def test_the_api_refuses_another_sites_subject_id_without_naming_it_and_enrols_a_new_one(web_study) -> None:
    """The API also answered every new subject id of an investigator 404 "no subject with this id that you
    may see" (the subject it was to enrol): an investigator could not enrol through the API."""
    ids = _ids(web_study)
    client = web_study.bearer("inv")
    held = client.post("/api/v1/records/subjects", json={"values": {**NEW, "subject_id": "CT-101"}})
    assert held.status_code == 409
    for leak in (*LEAKS, f"id {ids['CT-101']}", f"record {ids['CT-101']}"):
        assert leak not in held.text, leak
    assert held.json()["allowed"] == "another subject_id"
    created = client.post("/api/v1/records/subjects", json={"values": {**NEW, "subject_id": "CT-051"}})
    assert created.status_code == 201, created.text
    elsewhere = client.post(
        "/api/v1/records/subjects", json={"values": {**NEW, "subject_id": "CT-052", "site_id": "PUMCH"}}
    )
    assert elsewhere.status_code == 403 and "PUMCH" not in elsewhere.json()["error"]


def test_the_check_while_typing_reads_nothing_of_another_sites_subject(web_study) -> None:
    """The checks ran with the stored records of the subject the id names: a consent in the future was
    "ok" for CT-101 (the check compared with its stored records) where it was refused for a new id."""
    client = web_study.bearer("inv")

    def check(subject: str, consent: str) -> list[dict]:
        values = {**NEW, "subject_id": subject, "consent_date": consent}
        answer = client.post("/api/v1/forms/subjects/validate", json={"values": values})
        assert answer.status_code == 200
        return answer.json()["problems"]

    for consent in ("2021-06-01", "2030-01-01"):
        (problem,) = check("CT-101", consent)
        assert (problem["message"], problem["field"]) == ("this key cannot be used", "subject.subject_id")
    assert check("CT-053", "2021-06-01") == []
    # an unrestricted user sees every site: no such refusal at the check
    unrestricted = web_study.bearer("dm").post(
        "/api/v1/forms/subjects/validate", json={"values": {**NEW, "subject_id": "CT-101"}}
    )
    assert "this key cannot be used" not in unrestricted.text


def test_renaming_ones_own_subject_to_another_sites_id_is_refused_alike(web_study) -> None:
    """The API answered a subject renamed to any id 404 (the new id "no subject … you may see"); the store
    then refused another site's id by the database's unique constraint, or an edit check with that
    subject's records. Now: 409 "cannot be used", nothing else told; a free id is taken."""
    client = web_study.bearer("inv")

    def rename(to: str):
        own = web_study.service.find_records("admin", "subject", subject_id="CT-002")
        own = own or web_study.service.find_records("admin", "subject", subject_id="CT-054")
        record = own[0]
        return client.patch(
            f"/api/v1/records/subjects/{record['id']}",
            json={
                "values": {"subject_id": to},
                "reason": "typo",
                "version_token": f"{record['id']}-{record['version']}",
            },
        )

    held = rename("CT-101")
    assert held.status_code == 409, held.text
    assert "cannot be used" in held.json()["error"]
    for leak in LEAKS:
        assert leak not in held.text, leak
    assert rename("CT-054").status_code == 200
