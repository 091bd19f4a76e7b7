"""An investigator enrolling a subject at another site than their own (a mistyped site id): the form comes
back with the problem at the site field and every entry kept (D-19.251). Before, the answer was an
"Error 403" page with a link to the study home, and everything typed was lost."""

from __future__ import annotations

import re
from typing import Any

from .helpers import csrf_of

VALUES = {
    "subject_id": "CT-077",
    "site_id": "PUMCH",
    "consent_date": "2024-02-01",
    "sex": "F",
    "screening_number": "S-077",
    "weight_kg": "61.5",
}


def test_a_subject_at_another_site_is_refused_at_the_site_field_with_the_entries_kept(
    login: Any, web_app: Any
) -> None:
    client = login("inv_a")
    token = csrf_of(client.get("/subjects/new").text)
    answer = client.post("/subjects", data={**VALUES, "csrf_token": token})
    assert answer.status_code == 422, answer.text[:300]
    box = re.search(r'id="err-site_id"[^>]*>(.*?)</div>', answer.text, re.S)
    assert box and "your own site" in box.group(1) and "TJH" in box.group(1)
    for name in ("subject_id", "screening_number", "weight_kg"):
        assert f'value="{VALUES[name]}"' in answer.text
    assert not web_app.state.service.as_user("admin").find_records("subject", subject_id="CT-077")
    # corrected: saved
    saved = client.post("/subjects", data={**VALUES, "site_id": "TJH", "csrf_token": token})
    assert saved.status_code == 303


def test_the_check_while_typing_names_the_site_field(login: Any) -> None:
    client = login("inv_a")
    token = csrf_of(client.get("/subjects/new").text)
    checked = client.post("/forms/subjects/check", data=VALUES, headers={"X-CSRF-Token": token})
    box = re.search(r'id="err-site_id"[^>]*>(.*?)</div>', checked.text, re.S)
    assert box and "your own site" in box.group(1)


def test_a_study_wide_user_enrols_at_any_site(login: Any) -> None:
    client = login("dm")
    token = csrf_of(client.get("/subjects/new").text)
    saved = client.post("/subjects", data={**VALUES, "subject_id": "PU-077", "csrf_token": token})
    assert saved.status_code == 303, saved.text[:300]
