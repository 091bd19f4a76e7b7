"""The record page and the data page follow the table's own write action (`permissions.write_action`,
D-19.410): a user who may not write a table is shown its record read-only and is not offered its template."""

from __future__ import annotations

from tests.conftest import record_decision


def test_an_investigator_sees_a_record_they_may_not_write_read_only(any_web_study):
    """An escalation decision and the own site's record: a form the save would refuse (403) was shown."""
    service = any_web_study.service
    decision_id = record_decision(service)
    site_id = service.find_records("admin", "site", site_id="TJH")[0]["id"]
    inv = any_web_study.session("inv")
    for path in (f"/records/escalation_decision/{decision_id}", f"/records/site/{site_id}"):
        page = inv.get(path)
        assert page.status_code == 200 and 'id="record-form"' not in page.text, path
    # a role holding the table's write action still gets the form; and an ordinary record stays editable
    assert (
        'id="record-form"'
        in any_web_study.session("dm").get(f"/records/escalation_decision/{decision_id}").text
    )
    infusion = service.find_records("admin", "infusion", subject_id="CT-001")
    if infusion:
        assert 'id="record-form"' in inv.get(f"/records/infusion/{infusion[0]['id']}").text


def test_the_data_page_offers_an_importer_only_the_templates_they_may_import(any_web_study):
    """The investigator may import but not record escalation decisions or manage sites: the data page does
    not offer those templates (the import would refuse them, D-19.416); the data manager's lists them."""
    links = any_web_study.session("inv").get("/data").text.split('id="export-links"', 1)[1]
    assert "escalation_decisions.csv" not in links and "sites.csv" not in links
    assert "subjects.csv" in links
    dm_links = any_web_study.session("dm").get("/data").text.split('id="export-links"', 1)[1]
    assert "escalation_decisions.csv" in dm_links
    # a reader who imports nothing keeps every export (a read)
    mon_links = any_web_study.session("mon").get("/data").text.split('id="export-links"', 1)[1]
    assert "escalation_decisions.csv" in mon_links
