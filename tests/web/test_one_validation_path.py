"""The API and `cartrial db edit` (the store's update, `StudyService.update_record`) refuse the same values
with the same words (issue 19 §1: one validation path), found by the adversarial web sweep."""

from __future__ import annotations

import pytest

from cartrial.errors import InputError

LAB = {
    "subject_id": "CT-001",
    "collected_at": "2021-05-08T07:00:00Z",
    "analyte": "neutrophils",
    "value": 0.45,
    "unit": "10^9/L",
    "lln": 1.8,
}
EDSS = {
    "subject_id": "CT-001",
    "assessed_at": "2021-05-29T09:00:00Z",
    **dict.fromkeys(("visual", "brainstem", "pyramidal", "cerebellar", "sensory", "bowel_bladder"), 1),
    "cerebral": 1,
    "ambulation": 0,
}


@pytest.mark.parametrize(
    ("form", "table", "values", "field", "bad"),
    [
        ("labs", "lab_result", LAB, "uln", -1.0),
        ("edss", "edss_assessment", EDSS, "assistance", "abc"),
        ("edss", "edss_assessment", EDSS, "walking_distance_m", -5.0),
    ],
)
def test_a_column_the_template_leaves_out_keeps_its_rule_on_edit(web_study, form, table, values, field, bad):
    """`validate_record` checked a whole record on the import template's columns only: a table column the
    template leaves out (`lab_result.uln`, `edss_assessment.assistance`, …) was never checked on an edit,
    so `db edit --set uln=-1` or `--set assistance=abc` was stored, while the API refused the same value."""
    client = web_study.bearer("admin")
    saved = client.post(f"/api/v1/records/{form}", json={"values": values})
    assert saved.status_code == 201, saved.text
    record_id = saved.json()["id"]
    answer = client.patch(
        f"/api/v1/records/{form}/{record_id}",
        json={"values": {field: bad}, "reason": "probe", "version_token": saved.json()["version_token"]},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == f"{table}.{field}"
    with pytest.raises(InputError) as refused:
        web_study.service.update_record("admin", table, record_id, {field: bad}, 1, "probe", "cli")
    problem = refused.value.problems[0]
    assert (problem.field, problem.allowed) == (f"{table}.{field}", answer.json()["allowed"])
    assert web_study.service.get_record("admin", table, record_id)["version"] == 1


TYPED = ["1_000", "5.0", "Y", " ", "2021-04-30", "+5", "abc", "150", "1e400"]
"""Values as typed that the old `db edit` parser (Python's `int`/`float`, its own true/false words) read
differently from the import's parser: `1_000` taken as 1000, `5.0` refused as a whole number, `Y` and a
bare date refused, a blank refused instead of clearing the field."""


@pytest.mark.parametrize("text", TYPED)
@pytest.mark.parametrize(
    "field", ["weight_kg", "viability_pct", "dose_level", "infused_at", "leukapheresis_on", "product_lot"]
)
def test_db_edit_parses_a_value_as_the_api_does(web_study, field, text):
    """`cartrial db edit --set FIELD=TEXT` (its parser, then the store's update) on CT-001's infusion and
    `PATCH /api/v1/records/…` with the same text on CT-101's (the same values): both take it, storing the
    same value, or both refuse it, naming the same field and what is allowed."""
    from cartrial.commands.store_commands import parse_assignments

    service = web_study.service
    cli_id = service.find_records("admin", "infusion", subject_id="CT-001")[0]["id"]
    api_id = service.find_records("admin", "infusion", subject_id="CT-101")[0]["id"]
    api = web_study.bearer("admin").patch(
        f"/api/v1/records/infusions/{api_id}",
        json={"values": {field: text}, "reason": "probe", "version_token": f"{api_id}-1"},
    )
    cli: InputError | None = None
    try:
        changes = parse_assignments(service, "infusion", [f"{field}={text}"])
        service.update_record("admin", "infusion", cli_id, changes, 1, "probe", "cli")
    except InputError as exc:
        cli = exc
    if api.status_code == 422:
        assert cli is not None, f"the API refused {text!r}, db edit took it"
        assert (cli.problems[0].field, cli.problems[0].allowed) == (
            api.json()["field"],
            api.json()["allowed"],
        )
    else:
        assert api.status_code == 200, api.text
        assert cli is None, f"the API took {text!r}, db edit refused it: {cli}"
        stored = service.get_record("admin", "infusion", api_id)[field]
        assert service.get_record("admin", "infusion", cli_id)[field] == stored


def test_a_user_at_an_unknown_site_is_refused_naming_the_site(web_study):
    """`POST /api/v1/users` (and `db user add --site`) with a site that does not exist answered with the
    database's bare "FOREIGN KEY constraint failed", naming neither the value nor the table."""
    answer = web_study.bearer("admin").post(
        "/api/v1/users", json={"username": "newinv", "role": "investigator", "site_id": "NOWHERE"}
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert (body["field"], body["value"]) == ("app_user.site_id", "NOWHERE")
    assert "FOREIGN KEY" not in body["error"]
