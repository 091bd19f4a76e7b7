"""Decisions D-19.10 on the web: a record created by a bulk import (sealed by a batch audit row) shows its
creation, with its values, on its own audit page, on its subject's audit page and in the API."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

from cartrial.store.audit import BATCH_ACTION


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_an_imported_record_shows_its_creation_on_its_audit_pages(read_login: Any, read_app: Any) -> None:
    service = read_app.state.service
    record = service.as_user("admin").find_records("crs_assessment", subject_id="CT-001")[1]
    client = read_login("mon")
    page = client.get(f"/audit/records/crs_assessment/{record['id']}")
    assert page.status_code == 200
    trail = _text(page.text)
    assert BATCH_ACTION in trail and f"crs_assessment #{record['id']}" in trail
    assert f'"assessed_at":"{record["assessed_at"].strftime("%Y-%m-%dT%H:%M:%S")}' in unescape(page.text)
    subject_page = _text(client.get("/audit/subjects/CT-001").text)
    assert f"crs_assessment #{record['id']}" in subject_page
    api = client.get(f"/api/v1/audit/records/crs_assessments/{record['id']}").json()
    created = [row for row in api if row["action"] == BATCH_ACTION]
    assert len(created) == 1 and created[0]["record_id"] == record["id"]
    assert json.loads(created[0]["new_value"])["subject_id"] == "CT-001"
