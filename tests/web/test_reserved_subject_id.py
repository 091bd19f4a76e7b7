"""A subject id the web app's own addresses take (``new``: ``/subjects/new`` is the enrolment page) is refused
wherever a subject is enrolled, naming the field and what is allowed (D-19.1167). Before, the subject
``new`` was enrolled, then its casebook could not be opened: its address showed the enrolment page."""

from __future__ import annotations

import re

from cartrial.store.fields import RESERVED_SUBJECT_IDS, validate_record


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_enrolling_the_subject_new_is_refused_at_its_field(web_study):
    client = web_study.session("inv")
    token = _csrf(client.get("/subjects/new").text)
    values = {"csrf_token": token, "subject_id": "new", "site_id": "TJH", "consent_date": "2021-06-01"}
    answer = client.post("/subjects", data={**values, "sex": "F"}, follow_redirects=False)
    assert answer.status_code == 422, answer.text[:500]
    assert "the address of the enrolment page" in answer.text
    assert not [r for r in web_study.service.find_records("admin", "subject") if r["subject_id"] == "new"]
    api = web_study.bearer("admin").post(
        "/api/v1/records/subjects",
        json={"values": {"subject_id": "new", "site_id": "TJH", "consent_date": "2021-06-01", "sex": "F"}},
    )
    assert api.status_code == 422, api.text[:500]
    assert "subject_id" in api.text and "enrolment page" in api.text


def test_the_reserved_ids_are_the_fixed_words_after_subjects_in_the_pages_routes() -> None:
    """The reserved words are the app's own: every fixed segment right after ``/subjects/`` of a page."""
    from cartrial.web.pages import ROUTERS

    words = set()
    for router in ROUTERS:
        for route in router.routes:
            found = re.fullmatch(r"/subjects/([^/{]+)", getattr(route, "path", ""))
            if found:
                words.add(found.group(1))
    assert words == set(RESERVED_SUBJECT_IDS) == {"new"}


def test_the_rule_is_the_field_rule_of_every_path() -> None:
    """`validate_record` is the import's own validator on one row: what the import, a form and the API run."""
    problems = validate_record("subject", {"subject_id": "new"}, protocol=None, partial=True)
    assert [(p.field, p.message) for p in problems] == [("subject_id", "not in the expected form")]
    assert "`new`" in str(problems[0].allowed) and "at most 40 characters" in str(problems[0].allowed)
    assert validate_record("subject", {"subject_id": "New-1"}, protocol=None, partial=True) == []
    assert validate_record("subject", {"subject_id": "NEW"}, protocol=None, partial=True) == []


def test_a_study_already_holding_the_subject_new(example_sqlite: str, tmp_path) -> None:
    """A subject stored as ``new`` before D-19.1167 (here by the bulk write, which takes no field rules): an
    edit of its other fields still works (`record_write_problems` judges an edit by the fields it changes);
    a re-import of a template holding it is refused at that row, nothing written, and the message tells the
    data manager what to do (rename the subject); an edit renaming it (no other record refers to it) works."""
    from pathlib import Path

    import pytest

    from cartrial import examples
    from cartrial.errors import InputError
    from cartrial.store import StudyService
    from cartrial.store.bulk import upsert_rows
    from cartrial.store.importing import import_templates

    service = StudyService(example_sqlite)
    try:
        with service.as_user("admin").transaction(source="test", reason="kept from before") as tx:
            row = {"subject_id": "new", "site_id": "TJH", "consent_date": "2021-05-06", "sex": "M"}
            upsert_rows(tx, "subject", [{**row, "weight_kg": 60.0}])
        user = service.as_user("admin")
        (record,) = [r for r in service.find_records("admin", "subject") if r["subject_id"] == "new"]
        version = user.update_record(
            "subject", record["id"], {"weight_kg": 61.0}, record["version"], "correction"
        )
        folder = Path(tmp_path) / "templates"
        folder.mkdir()
        subjects = (Path(examples.path("ct103a-nmosd")) / "study" / "subjects.csv").read_text(
            encoding="utf-8"
        )
        rows = subjects.rstrip("\n").split("\n")
        (folder / "subjects.csv").write_text(
            "\n".join([*rows, "new,TJH,S-099,2021-05-06,M,1970,61.0,170,positive,1:320"]) + "\n",
            encoding="utf-8",
        )
        before = service.find_records("admin", "subject")
        with pytest.raises(InputError) as caught:
            import_templates(example_sqlite, folder, "admin", reason="re-import")
        assert service.find_records("admin", "subject") == before
        (problem,) = caught.value.problems
        assert (problem.field, problem.row) == ("subject_id", len(rows) + 1)  # the spreadsheet row of `new`
        assert "rename it" in str(problem.allowed), problem.allowed
        renamed = user.update_record("subject", record["id"], {"subject_id": "NEW-1"}, version, "renamed")
        assert renamed == version + 1
    finally:
        service.engine.dispose()
