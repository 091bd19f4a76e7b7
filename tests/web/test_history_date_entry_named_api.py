"""The web API's refusal of a history date that is no date names the entry and the key, never the value
(D-19.1219; it named only the column)."""

from __future__ import annotations

import json

BAD = "2019-07-01T25:00"
NEW = {"subject_id": "CT-061", "site_id": "TJH", "consent_date": "2021-06-01", "sex": "F"}


def test_the_api_names_the_entry_and_key_of_the_bad_history_date(web_study) -> None:  # type: ignore[no-untyped-def]
    relapses = [{"onset_date": "2018-05", "phenotype": "myelitis"}, {"onset_date": BAD, "phenotype": "x"}]
    answer = web_study.bearer("admin").post(
        "/api/v1/records/subjects", json={"values": {**NEW, "relapse_history": json.dumps(relapses)}}
    )
    assert answer.status_code in (400, 422), answer.text
    assert "relapse_history" in answer.text and "entry 2: onset_date" in answer.text
    assert "entry 1" not in answer.text
    assert BAD not in answer.text and "25:00" not in answer.text
