"""An import (or bulk write) meeting records a data lock freezes is refused with a 409 that names the table
and the lock, with one problem per frozen record at the clinical-date column the lock compares
(``crs_assessment.assessed_at``): a stored record by its id (``record``), a new row by its key as the
problem's value (the user's own input) — never a subject id or a date in a message text (D-12.2, D-19.1330,
D-19.1331). Before: "1 record(s) of crs_assessment dated on or before the
cut-off are frozen by data lock #1 …: CT-001, 2021-04-30 10:00:00+00:00; …", at field null."""

from __future__ import annotations

import datetime as dt
import io
import zipfile


def test_an_import_meeting_a_lock_names_no_record_value(web_study) -> None:
    admin = web_study.bearer("admin")
    archive = zipfile.ZipFile(io.BytesIO(admin.get("/api/v1/export/templates.zip").content))
    files = {name: archive.read(name) for name in archive.namelist()}
    crs = files["crs_assessments.csv"].decode().splitlines()
    header, first = crs[0].split(","), crs[1].split(",")
    subject_id, assessed_at = first[header.index("subject_id")], first[header.index("assessed_at")]
    temperature = header.index("temperature_c")
    first[temperature] = "38.1" if first[temperature] != "38.1" else "38.2"  # a change to a frozen record
    files["crs_assessments.csv"] = "\n".join([crs[0], ",".join(first), *crs[2:]]).encode() + b"\n"
    web_study.service.as_user("admin").lock(dt.date(2030, 1, 1), "interim analysis")
    response = admin.post(
        "/api/v1/import/templates",
        files=[("files", (name, data, "text/csv")) for name, data in files.items()],
        data={"reason": "re-import"},
    )
    assert response.status_code == 409, response.text
    body = response.json()
    assert "frozen by data lock #1" in body["error"], body["error"]
    assert "crs_assessment" in body["error"], body["error"]
    for text in (body["error"], body["allowed"] or "", *(p["message"] for p in body.get("problems", []))):
        assert subject_id not in text, text
        assert assessed_at[:10] not in text, text
    assert body["field"] == "crs_assessment.assessed_at", body
    (problem,) = body["problems"]
    assert problem["field"] == "crs_assessment.assessed_at", problem
    assert problem["record"] is not None and problem["record"].startswith("crs_assessment record "), problem
    assert "crs_assessment" in problem["message"], problem
    assert problem["value"] is None, problem  # a stored record: its id, no value
    assert "unlock" in (problem["allowed"] or ""), problem


def test_a_bulk_write_changing_records_without_a_reason_names_no_record_value(web_study) -> None:
    import pytest

    from cartrial.errors import InputError
    from cartrial.store.bulk import upsert_rows
    from cartrial.store.tables import HOUSEKEEPING_COLUMNS

    service = web_study.service
    (record, *_) = service.find_records("admin", "crs_assessment")
    row = {k: v for k, v in record.items() if k not in HOUSEKEEPING_COLUMNS}
    row["temperature_c"] = 38.1 if row["temperature_c"] != 38.1 else 38.2
    writer = service.as_user("admin")
    with pytest.raises(InputError) as caught, writer.transaction(source="test", reason=None) as tx:
        upsert_rows(tx, "crs_assessment", [row])
    (problem,) = caught.value.problems
    assert problem.field == "reason"
    assert str(record["subject_id"]) not in problem.message, problem.message
    assert f"record {record['id']}" in problem.message, problem.message


def test_a_bulk_write_meeting_a_lock_lists_each_record_at_the_locked_date_column(web_study) -> None:
    """A bulk write changing a stored subject's weight and adding a subject consented before the cut-off:
    one problem per record at ``subject.consent_date`` (the column the lock compares, not the key's), the
    stored one by its id, the new one by its key as the problem's value only (D-12.2, D-19.1331)."""
    import pytest

    from cartrial.errors import ConflictError
    from cartrial.store.bulk import upsert_rows
    from cartrial.store.tables import HOUSEKEEPING_COLUMNS

    service = web_study.service
    (record, *_) = service.find_records("admin", "subject")
    row = {k: v for k, v in record.items() if k not in HOUSEKEEPING_COLUMNS}
    row["weight_kg"] = 61.5 if row["weight_kg"] != 61.5 else 62.5
    new = {**row, "subject_id": "ZZ-NEW-9", "weight_kg": 70.0}
    service.as_user("admin").lock(dt.date(2030, 1, 1), "interim analysis")
    before = service.find_records("admin", "subject")
    with (
        pytest.raises(ConflictError) as caught,
        service.as_user("admin").transaction(source="test", reason="re-weighed") as tx,
    ):
        upsert_rows(tx, "subject", [row, new])
    assert service.find_records("admin", "subject") == before
    problems = caught.value.problems
    assert [p.field for p in problems] == ["subject.consent_date", "subject.consent_date"], problems
    stored = [p for p in problems if p.record is not None]
    assert [p.record for p in stored] == [f"subject record {record['id']}"], problems
    assert stored[0].value is None
    (added,) = [p for p in problems if p.record is None]
    assert added.value == "ZZ-NEW-9", added
    for p in problems:
        assert "subject" in p.message, p.message
        for shown in (p.message, p.allowed or "", str(caught.value)):
            assert str(record["subject_id"]) not in shown and "ZZ-NEW-9" not in shown, shown
            assert str(record["consent_date"])[:10] not in shown, shown
