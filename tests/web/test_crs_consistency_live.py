"""A rule between the fields of one form runs in the live check (`partial=true`) whenever every field it
reads is given (D-19.705): `oxygen=none` with `fio2_pct` 40 was ok:true in `/forms/crs_assessments/validate`
(default partial) while the create refused it (422) — the check while typing and the save disagreed."""

from __future__ import annotations

from .conftest import CRS_ROW, WebStudy

ROW = {
    **{k: (str(v).lower() if isinstance(v, bool) else v) for k, v in CRS_ROW.items()},
    "subject_id": "CT-001",
    "assessed_at": "2021-05-03T10:00:00Z",
    "fio2_pct": 40,
}


def test_the_live_check_refuses_fio2_above_room_air_with_oxygen_none(web_study: WebStudy) -> None:
    client = web_study.bearer("admin")
    created = client.post("/api/v1/records/crs_assessments", json={"values": ROW})
    assert created.status_code == 422 and "fio2_pct" in created.text, created.text
    for values in (ROW, {"oxygen": "none", "fio2_pct": 40}):
        answer = client.post("/api/v1/forms/crs_assessments/validate", json={"values": values})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["ok"] is False, (values, body)
        assert [p["field"] for p in body["problems"]] == ["fio2_pct"], body
        assert "room air" in body["problems"][0]["message"] + str(body["problems"][0]["allowed"])


def test_the_live_check_waits_for_every_field_the_rule_reads(web_study: WebStudy) -> None:
    client = web_study.bearer("admin")
    for values in ({"fio2_pct": 40}, {"oxygen": "none"}, {"oxygen": "nasal_cannula", "fio2_pct": 40}):
        answer = client.post("/api/v1/forms/crs_assessments/validate", json={"values": values})
        assert answer.status_code == 200 and answer.json()["ok"] is True, (values, answer.text)


def test_the_import_refuses_it_at_its_row_and_cell() -> None:
    """The import's validation of a CRS file (`validate_form`, the path of `cartrial db import`)."""
    import pandas as pd

    from cartrial.store.importing.forms import form_for_table
    from cartrial.store.importing.validation import FormData, validate_form

    spec = form_for_table("crs_assessment")
    cells = {c.name: "" for c in spec.columns()} | {k: str(v) for k, v in ROW.items()}
    frame = pd.DataFrame({k: [v] for k, v in cells.items()}, dtype=object)
    data = FormData(spec=spec, frame=frame, file="crs.csv", sha256="")
    _, problems = validate_form(data)
    assert [(p.file, p.row, p.field, p.value) for p in problems] == [("crs.csv", 2, "fio2_pct", "40")]
