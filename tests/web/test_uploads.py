"""File uploads to the import (API and page), found by the adversarial web sweep (issue 19): the same name
twice, the server's temporary folder in the answer, a file read whole before its size was checked."""

from __future__ import annotations

from cartrial import examples as cartrial_examples

THERAPIES = (cartrial_examples.path("ct103a-nmosd") / "study" / "therapies.csv").read_bytes()


def test_the_same_file_name_twice_is_refused_not_silently_replaced(web_study):
    """Two uploads named therapies.csv: the second replaced the first without a word (API and page)."""
    files = [
        ("files", ("therapies.csv", THERAPIES, "text/csv")),
        ("files", ("therapies.csv", b"subject_id,given_at,therapy\n", "text/csv")),
    ]
    answer = web_study.bearer("admin").post("/api/v1/import/templates", files=files, data={"dry_run": "true"})
    assert answer.status_code == 422, answer.text[:300]
    assert (answer.json()["field"], answer.json()["value"]) == ("files", "therapies.csv")
    page = web_study.session("admin").post(
        "/data/import", files=files, data={"kind": "templates", "dry_run": "1"}
    )
    assert page.status_code == 422
    assert "the same file name twice" in page.text


def test_an_import_answer_names_the_uploaded_files_not_the_servers_folder(web_study):
    """The API's problems and report named the server's temporary folder (/tmp/cartrial-web-import-…)."""
    client = web_study.bearer("admin")
    bad = client.post("/api/v1/import/templates", files={"files": ("therapies.csv", b"", "text/csv")})
    good = client.post(
        "/api/v1/import/templates",
        files={"files": ("therapies.csv", b"subject_id,given_at,therapy\n", "text/csv")},
        data={"dry_run": "true"},
    )
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["file"] == "therapies.csv"
    assert good.status_code == 200, good.text[:300]
    for answer in (bad, good):
        assert "cartrial-web-import" not in answer.text


def test_the_import_page_checks_the_size_before_reading_a_file(web_study, monkeypatch):
    """The page read every uploaded file whole into memory, then compared the total with its limit: a
    large upload was held in memory before being refused."""
    from starlette.datastructures import UploadFile

    from cartrial.web.pages import data

    monkeypatch.setattr(data, "MAX_UPLOAD_BYTES", 1000)

    async def never(self, size=-1):
        raise AssertionError("an upload over the limit was read")

    monkeypatch.setattr(UploadFile, "read", never)
    page = web_study.session("admin").post(
        "/data/import",
        files={"files": ("therapies.csv", b"x" * 5000, "text/csv")},
        data={"kind": "templates", "dry_run": "1"},
    )
    assert page.status_code == 422
    assert "larger than 1000 bytes" in page.text


def test_a_web_import_keeps_the_garbage_collector_running(web_study, monkeypatch):
    """The import's collector pause (D-19.935) is process-wide: a web import (a route run in the server's
    thread pool) paused it for every other request; the web keeps it running."""
    import gc

    from cartrial.store.importing import pipeline

    seen = []
    validate = pipeline.validate_all

    def watched(*args, **kwargs):
        seen.append(gc.isenabled())
        return validate(*args, **kwargs)

    monkeypatch.setattr(pipeline, "validate_all", watched)
    answer = web_study.bearer("admin").post(
        "/api/v1/import/templates",
        files={"files": ("therapies.csv", b"subject_id,given_at,therapy\n", "text/csv")},
        data={"dry_run": "true"},
    )
    assert answer.status_code == 200, answer.text[:300]
    assert seen == [True]
