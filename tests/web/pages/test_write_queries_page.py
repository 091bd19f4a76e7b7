"""D-19.130: the web form's confirmation after a save said "Changes saved." whatever data queries the
save's soft edit checks raised; it now names their codes."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from .helpers import csrf_of


def test_the_confirmation_names_the_query_the_edit_raised(login: Any, web_app: Any) -> None:
    client = login("dm")
    service = web_app.state.service
    infusion = service.find_records("dm", "infusion", subject_id="CT-001")[0]
    before = {q["query_code"] for q in service.find_records("dm", "data_query")}
    record_url = f"/records/infusion/{infusion['id']}"
    page = client.get(record_url)
    assert page.status_code == 200
    # the form's own values (every input of the record form), with cells/kg 10× the protocol dose of dose
    # level 1 (500000 CAR+ cells/kg): DOSE-10X, and the total cells no longer cells/kg × weight:
    # TOTAL-CELLS-MISMATCH, both soft
    form = page.text[page.text.index('id="record-form"') :]
    form = form[: form.index("</form>")]
    values = {
        name: unescape(value)
        for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)
        if name not in ("csrf_token",)
    }
    values.update(
        {"cells_per_kg": "5000000", "reason": "re-read the certificate", "csrf_token": csrf_of(page.text)}
    )
    saved = client.post(record_url, data=values)
    assert saved.status_code == 303, saved.text[:800]
    raised = [q for q in service.find_records("dm", "data_query") if q["query_code"] not in before]
    assert sorted(str(q["text"]).split()[2] for q in raised) == ["DOSE-10X", "TOTAL-CELLS-MISMATCH"]
    new = sorted(q["query_code"] for q in raised)
    shown = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", client.get(saved.headers["location"]).text)))
    assert f"The edit checks raised data queries {', '.join(new)} (see the queries page)." in shown
