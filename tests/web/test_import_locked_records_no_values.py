"""An import (or bulk write) meeting records a data lock freezes is refused with a 409 that names the table,
the lock and the key's fields, and carries the keys only as the problem's value — never a subject id or a
date in the message text (D-12.2, D-19.1330). Before: "1 record(s) of crs_assessment dated on or before the
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
    assert body["field"] == "subject_id, assessed_at", body


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
