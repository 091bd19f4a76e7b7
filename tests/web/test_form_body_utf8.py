"""A form body that is not UTF-8 (webui attack, D-19.1127). A page form is
`application/x-www-form-urlencoded`: every byte beyond ASCII is percent-encoded, and the percent-encoded
bytes are UTF-8 (WHATWG HTML, "application/x-www-form-urlencoded encoding", UTF-8 being the pages' charset).
Starlette's form parser turned a percent-encoded byte that is not UTF-8 into U+FFFD and a raw byte into its
Latin-1 character, without a word: a client posting ``reason=H%F4pital`` (Latin-1) saved a reason
"H\ufffdpital", and ``term=<raw UTF-8 é>`` saved "Ã©" — text nobody typed, where the API refuses a body that
is not UTF-8 (D-19.171) and the CLI a byte that is not (D-19.197). Now refused before anything is read,
at the field, without its value: the error page on pages, a 422 in the error shape on the API."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from .conftest import CRS_ROW

FORM = {"content-type": "application/x-www-form-urlencoded"}


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _crs(web_study) -> dict:
    rows = web_study.service.find_records("admin", "crs_assessment")
    return next(r for r in rows if r["subject_id"] == "CT-001")


def _update(token: str, record: int, reason: str) -> dict[str, str]:
    """CT-001's CRS record form as a browser posts it, the temperature changed to 38.5, with `reason`."""
    return {
        "csrf_token": token,
        "version": "1",
        "record_id": str(record),
        "subject_id": "CT-001",
        "assessed_at": str(CRS_ROW["assessed_at"]),
        "temperature_c": "38.5",
        "fever_masked": "false",
        "hypotension": "false",
        "vasopressors": "0",
        "vasopressin": "false",
        "oxygen": "none",
        "reason": reason,
    }


@pytest.mark.parametrize(
    ("label", "encode"),
    [
        # the reason percent-encoded as Latin-1: %F4 is no UTF-8 (Starlette read it as U+FFFD)
        ("percent-encoded Latin-1", lambda data: urlencode(data, encoding="latin-1").encode("ascii")),
        # the reason's UTF-8 bytes sent raw, not percent-encoded (Starlette read them as Latin-1: "Ã´")
        (
            "raw UTF-8",
            lambda data: (
                urlencode({k: v for k, v in data.items() if k != "reason"}).encode("ascii")
                + b"&reason="
                + data["reason"].replace(" ", "+").encode("utf-8")
            ),
        ),
    ],
)
def test_a_page_form_that_is_not_utf8_is_refused_at_its_field(web_study, label, encode):
    client = web_study.session("inv")
    record = _crs(web_study)
    token = _csrf(client.get(f"/records/crs_assessment/{record['id']}").text)
    body = encode(_update(token, int(record["id"]), "corrected from the chart of the Hôpital"))
    answer = client.post(f"/records/crs_assessment/{record['id']}", content=body, headers=FORM)
    assert answer.status_code == 422, (label, answer.status_code, answer.text[:500])
    assert "reason" in answer.text and "UTF-8" in answer.text, label
    for shown in ("Hôpital", "H\ufffdpital", "HÃ´pital"):
        assert shown not in answer.text, (label, shown)
    assert "Traceback" not in answer.text
    after = _crs(web_study)
    assert (after["temperature_c"], after["version"]) == (record["temperature_c"], record["version"])


def test_a_form_in_utf8_still_saves_its_text_as_typed(web_study):
    """The browser's own post (UTF-8, percent-encoded) saves the reason as typed."""
    client = web_study.session("inv")
    record = _crs(web_study)
    token = _csrf(client.get(f"/records/crs_assessment/{record['id']}").text)
    body = urlencode(_update(token, int(record["id"]), "corrected from the chart of the Hôpital"))
    answer = client.post(
        f"/records/crs_assessment/{record['id']}",
        content=body.encode("ascii"),
        headers=FORM,
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:2000]
    assert _crs(web_study)["temperature_c"] == 38.5
    trail = web_study.service.as_user("admin").record_audit("crs_assessment", int(record["id"]))
    assert any(entry.get("reason") == "corrected from the chart of the Hôpital" for entry in trail), trail


def test_an_api_form_that_is_not_utf8_is_refused_at_its_field(web_study):
    """The API's one form route (the OAuth2 token) answers the error shape at the field."""
    client = web_study.client()
    answer = client.post("/api/v1/token", content=b"username=inv%FF&password=x", headers=FORM)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert "username" in str(body) and "UTF-8" in str(body)
    assert "inv" not in str(body).replace("invalid", "")


def _multipart(entries: dict[str, str], raw: dict[str, bytes], charset: str = "") -> tuple[bytes, dict]:
    """`entries` (UTF-8) and `raw` (bytes as given) as a `multipart/form-data` body, written by hand."""
    parts = [(name.encode("utf-8"), value.encode("utf-8")) for name, value in entries.items()]
    parts += list(((name.encode("utf-8"), value) for name, value in raw.items()))
    body = b"".join(
        b'--XyZ\r\nContent-Disposition: form-data; name="' + name + b'"\r\n\r\n' + value + b"\r\n"
        for name, value in parts
    )
    kind = "multipart/form-data; boundary=XyZ" + (f"; charset={charset}" if charset else "")
    return body + b"--XyZ--\r\n", {"content-type": kind}


@pytest.mark.parametrize(
    ("label", "reason", "charset"),
    [
        ("bytes that are no UTF-8", b"\xff\xfecorrected", ""),  # Starlette read them as Latin-1: "ÿþ"
        ("Latin-1 text", "corrected from the Hôpital".encode("latin-1"), ""),
        ("a Latin-1 charset", "corrected from the Hôpital".encode("latin-1"), "latin-1"),
    ],
)
def test_a_multipart_page_form_that_is_not_utf8_is_refused_at_its_field(web_study, label, reason, charset):
    """Review of webui, finding 4 (D-19.1130): a page route takes `multipart/form-data` too, whose text
    parts Starlette decodes as Latin-1 when they are not UTF-8 (or in the charset the body declares)."""
    client = web_study.session("inv")
    record = _crs(web_study)
    token = _csrf(client.get(f"/records/crs_assessment/{record['id']}").text)
    entries = _update(token, int(record["id"]), "")
    del entries["reason"]
    body, headers = _multipart(entries, {"reason": reason}, charset)
    answer = client.post(f"/records/crs_assessment/{record['id']}", content=body, headers=headers)
    assert answer.status_code == 422, (label, answer.status_code, answer.text[:500])
    assert "UTF-8" in answer.text, label
    if not charset:
        assert "the form field &#39;reason&#39; is not UTF-8 text" in answer.text, label
    for shown in ("Hôpital", "H\ufffdpital", "ÿþ"):
        assert shown not in answer.text, (label, shown)
    after = _crs(web_study)
    assert (after["temperature_c"], after["version"]) == (record["temperature_c"], record["version"])


def test_a_multipart_page_form_in_utf8_still_saves(web_study):
    client = web_study.session("inv")
    record = _crs(web_study)
    token = _csrf(client.get(f"/records/crs_assessment/{record['id']}").text)
    body, headers = _multipart(_update(token, int(record["id"]), "corrected from the Hôpital"), {})
    answer = client.post(
        f"/records/crs_assessment/{record['id']}", content=body, headers=headers, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text[:2000]
    assert _crs(web_study)["temperature_c"] == 38.5


@pytest.mark.parametrize(
    ("body", "message", "field"),
    [
        # a name sent as raw UTF-8: it is UTF-8, but not percent-encoded
        (
            b"\xc3\xa9=1",
            "the name of the form field 'é' is not percent-encoded UTF-8 text"
            " (a byte beyond ASCII sent as it is)",
            "body",
        ),
        (b"%FF=1", "the name of a form field is not UTF-8 text", "body"),
        (
            b"username=\xc3\xa9&password=x",
            "the form field 'username' is not percent-encoded UTF-8 text (a byte beyond ASCII sent as it is)",
            "username",
        ),
        (b"username=%FF&password=x", "the form field 'username' is not UTF-8 text", "username"),
    ],
)
def test_the_refusal_says_whether_a_name_or_a_value_and_how(web_study, body, message, field):
    """Review of webui, finding 7 (D-19.1131): a field name sent as raw UTF-8 was "the form field 'é' is
    not UTF-8 text (a byte beyond ASCII not percent-encoded)" at ``body``: the text is UTF-8, and it is
    the name, not the field's value, that was not percent-encoded."""
    answer = web_study.client().post("/api/v1/token", content=body, headers=FORM)
    assert answer.status_code == 422, answer.text
    found = answer.json()
    assert (found["error"], found["field"]) == (message, field), found
