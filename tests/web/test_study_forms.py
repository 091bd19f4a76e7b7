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
