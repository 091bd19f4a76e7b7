"""The text parts of an upload to the import (API and page) are checked for UTF-8 as every other form's are
(D-19.1127, D-19.1130, D-19.1166): Starlette decodes a text part that is not UTF-8 as Latin-1, so a reason
``corrected from the H\\xf4pital`` was audited as text nobody typed."""

from __future__ import annotations

import re

import pytest

THERAPIES = b"subject_id,given_at,therapy\n"
LATIN1_REASON = "corrected from the Hôpital".encode("latin-1")


def _upload(texts: dict[str, bytes]) -> tuple[bytes, dict[str, str]]:
    """An upload of therapies.csv with the text parts `texts` (bytes as given), written by hand."""
    parts = [
        b'--XyZ\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value + b"\r\n"
        for name, value in texts.items()
    ]
    parts.append(
        b'--XyZ\r\nContent-Disposition: form-data; name="files"; filename="therapies.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + THERAPIES + b"\r\n"
    )
    return b"".join(parts) + b"--XyZ--\r\n", {"content-type": "multipart/form-data; boundary=XyZ"}


@pytest.mark.parametrize("reason", [LATIN1_REASON, b"\xff\xfe"])
def test_an_api_upload_whose_text_part_is_not_utf8_is_refused_at_its_field(web_study, reason):
    body, headers = _upload({"dry_run": b"true", "reason": reason})
    answer = web_study.bearer("admin").post("/api/v1/import/templates", content=body, headers=headers)
    assert answer.status_code == 422, answer.text[:500]
    error = answer.json()
    assert error["field"] == "reason" and "UTF-8" in answer.text, error
    assert "Hôpital" not in answer.text and "H\ufffdpital" not in answer.text and "ÿþ" not in answer.text


def test_a_page_upload_whose_text_part_is_not_utf8_is_refused_at_its_field(web_study):
    client = web_study.session("admin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/data/import").text)
    assert token
    texts = {"csrf_token": token.group(1).encode(), "kind": b"templates", "dry_run": b"1"}
    body, headers = _upload({**texts, "reason": LATIN1_REASON})
    answer = client.post("/data/import", content=body, headers=headers)
    assert answer.status_code == 422, answer.text[:500]
    assert "the form field &#39;reason&#39; is not UTF-8 text" in answer.text
    assert "Hôpital" not in answer.text


def test_an_upload_in_utf8_is_still_read(web_study):
    body, headers = _upload({"dry_run": b"true", "reason": "corrected from the Hôpital".encode()})
    answer = web_study.bearer("admin").post("/api/v1/import/templates", content=body, headers=headers)
    assert answer.status_code == 200, answer.text[:500]
