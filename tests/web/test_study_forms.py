"""The web app offers the forms of the study's protocol (D-19.70): a study of another indication
(tests/data/indication-gmg: generalized myasthenia gravis, no EDSS, vision, walk, OSIS or relapse
assessment) is not offered NMOSD forms in its casebook, form list, export page or template zip. The rule
is the analysis's (`cartrial.analysis.outcomes.collected_forms`): a form left out is one of an outcome the
protocol does not collect and whose form holds no rows. A write to it is taken, as `cartrial import`
takes its file, and the form is then offered (its rows are data, analysed: D-19.61)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cartrial.store import StudyService, connect, init_study

from ..conftest import REPO_ROOT
from .conftest import TEST_PASSWORD, WebStudy, _serve

GMG_PROTOCOL = REPO_ROOT / "tests" / "data" / "indication-gmg" / "protocol.yaml"
NMOSD_ONLY = {"edss", "visual_acuity", "osis", "timed_walk", "relapses"}
EDSS = {
    "subject_id": "MG-001",
    "assessed_at": "2021-05-29T09:00:00Z",
    **dict.fromkeys(("visual", "brainstem", "pyramidal", "cerebellar", "sensory", "bowel_bladder"), 1),
    "cerebral": 1,
    "ambulation": 0,
}


@pytest.fixture
def gmg_study(tmp_path: Path) -> Iterator[WebStudy]:
    url = f"sqlite:///{tmp_path / 'gmg.db'}"
    init_study(url, GMG_PROTOCOL, "admin", admin_site="TJH", admin_password=TEST_PASSWORD)
    service = StudyService(connect(url))
    with service.transaction("admin", "test setup") as tx:
        service.upsert_rows(
            tx,
            "subject",
            [{"subject_id": "MG-001", "site_id": "TJH", "consent_date": "2021-04-01", "sex": "F"}],
        )
    service.engine.dispose()
    study = _serve(url)
    yield study
    study.close()


def _listed(study: WebStudy) -> set[str]:
    answer = study.bearer("admin").get("/api/v1/forms")
    assert answer.status_code == 200, answer.text
    return {f["name"] for f in answer.json()}


def _zip_names(study: WebStudy) -> set[str]:
    answer = study.bearer("admin").get("/api/v1/export/templates.zip")
    assert answer.status_code == 200, answer.text
    return set(zipfile.ZipFile(io.BytesIO(answer.content)).namelist())


def test_a_gmg_study_is_offered_only_its_forms(gmg_study: WebStudy) -> None:
    from cartrial.store.importing import FORMS

    listed = _listed(gmg_study)
    assert not listed & NMOSD_ONLY, listed & NMOSD_ONLY
    assert listed == {f.name for f in FORMS} - NMOSD_ONLY  # pd_samples too: the protocol collects pd
    zipped = _zip_names(gmg_study)
    assert zipped == {f.file_name for f in FORMS if f.name in listed}
    page = gmg_study.session("admin")
    casebook = page.get("/subjects/MG-001").text
    assert "/forms/crs_assessments/new" in casebook and "/forms/pd_samples/new" in casebook
    for name in NMOSD_ONLY:
        assert f"/forms/{name}/new" not in casebook, name
    data = page.get("/data").text
    assert "/api/v1/export/crs_assessments.csv" in data
    for name in NMOSD_ONLY:
        assert f"/api/v1/export/{name}.csv" not in data, name


def test_the_reference_study_is_offered_every_form(web_study: WebStudy) -> None:
    from cartrial.store.importing import FORMS

    assert _listed(web_study) == {f.name for f in FORMS}
    casebook = web_study.session("admin").get("/subjects/CT-001").text
    for name in NMOSD_ONLY:
        assert f"/forms/{name}/new" in casebook, name


def test_a_form_left_out_takes_a_write_as_the_import_does(gmg_study: WebStudy) -> None:
    """One rule with `cartrial import`: the API takes the record, and the form, now holding rows, is
    offered (and analysed, D-19.61)."""
    saved = gmg_study.bearer("admin").post("/api/v1/records/edss", json={"values": EDSS})
    assert saved.status_code == 201, saved.text
    assert "edss" in _listed(gmg_study) and "edss.csv" in _zip_names(gmg_study)
    assert "/forms/edss/new" in gmg_study.session("admin").get("/subjects/MG-001").text
    assert not _listed(gmg_study) & (NMOSD_ONLY - {"edss"})


def test_the_import_takes_a_form_left_out_and_it_is_then_offered(gmg_study: WebStudy) -> None:
    header = ",".join(EDSS) + "\n"
    row = ",".join(str(v) for v in EDSS.values()) + "\n"
    imported = gmg_study.bearer("admin").post(
        "/api/v1/import/templates", files=[("files", ("edss.csv", header + row, "text/csv"))]
    )
    assert imported.status_code == 200, imported.text
    assert "edss" in _listed(gmg_study)


# ---- D-19.82: the entry forms offer no field of an outcome the study does not collect ----------------

AQP4_SUBJECT_FIELDS = ("aqp4_igg_status", "aqp4_igg_titre", "aqp4_igg_assay")
PD_SAMPLE = {"subject_id": "MG-001", "sampled_at": "2021-05-29T09:00:00Z", "cd19_b_cells_per_ul": 5}


def _inputs(html: str) -> set[str]:
    import re

    return set(re.findall(r'<(?:input|select|textarea)[^>]* name="([^"]+)"', html))


def test_a_gmg_study_enters_no_aqp4_or_relapse_history_field(gmg_study: WebStudy) -> None:
    page = gmg_study.session("admin")
    subject_form = _inputs(page.get("/subjects/new").text)
    assert "consent_date" in subject_form and "weight_kg" in subject_form
    assert not subject_form & {*AQP4_SUBJECT_FIELDS, "relapse_history"}, subject_form
    pd_form = _inputs(page.get("/subjects/MG-001/forms/pd_samples/new").text)
    assert {"cd19_b_cells_per_ul", "bcma_plasma_cells_per_ul", "igg_g_per_l"} <= pd_form
    assert not pd_form & {"aqp4_igg_titre", "aqp4_igg_assay"}, pd_form


def test_the_reference_study_enters_every_field(web_study: WebStudy) -> None:
    page = web_study.session("admin")
    assert {*AQP4_SUBJECT_FIELDS, "relapse_history"} <= _inputs(page.get("/subjects/new").text)
    assert {"aqp4_igg_titre", "cd19_b_cells_per_ul"} <= _inputs(
        page.get("/subjects/CT-001/forms/pd_samples/new").text
    )


def test_an_aqp4_value_is_taken_by_the_api_and_then_offered(gmg_study: WebStudy) -> None:
    """As for a form left out (D-19.70): the API takes the value; the outcome, now holding data, is
    analysed, so its fields are offered again."""
    saved = gmg_study.bearer("admin").post(
        "/api/v1/records/pd_samples", json={"values": {**PD_SAMPLE, "aqp4_igg_titre": "1:100"}}
    )
    assert saved.status_code == 201, saved.text
    page = gmg_study.session("admin")
    assert {"aqp4_igg_titre", "aqp4_igg_assay"} <= _inputs(
        page.get("/subjects/MG-001/forms/pd_samples/new").text
    )
    assert {"aqp4_igg_status", "aqp4_igg_titre"} <= _inputs(page.get("/subjects/new").text)


def test_a_record_shows_a_value_of_a_field_not_offered(gmg_study: WebStudy) -> None:
    """A describing field (the assay) holding a value is shown on its record: data are never hidden."""
    saved = gmg_study.bearer("admin").post(
        "/api/v1/records/pd_samples", json={"values": {**PD_SAMPLE, "aqp4_igg_assay": "fixed_cba"}}
    )
    assert saved.status_code == 201, saved.text
    record = saved.json()
    record_id = record.get("id") or record.get("record", {}).get("id")
    page = gmg_study.session("admin")
    assert "aqp4_igg_assay" not in _inputs(page.get("/subjects/MG-001/forms/pd_samples/new").text)
    shown = page.get(f"/records/pd_sample/{record_id}").text
    assert "fixed_cba" in shown
