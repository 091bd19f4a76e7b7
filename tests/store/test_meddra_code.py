"""`adverse_event.meddra_code` took any text ("nan", "=HYPERLINK(1)"); a MedDRA code is 8 digits (MedDRA
Introductory Guide). The rule is declared once (`cartrial.store.fields`), so the import, `db edit`, the web
form and the API apply it (cli-audit, D-19.506)."""

from __future__ import annotations

import pytest

from cartrial.errors import InputError
from cartrial.store.fields import field_rules, validate_record

from .conftest import PROTOCOL

EVENT = {"subject_id": "CT-001", "term": "Cytokine release syndrome", "started_on": "2021-04-28", "grade": 2}


@pytest.mark.parametrize("code", ["nan", "=HYPERLINK(1)", "1005201", "100520150", "10052O15", "1e7"])
def test_a_meddra_code_other_than_8_digits_is_refused_naming_the_field(code: str) -> None:
    from cartrial.protocol import load_protocol

    problems = validate_record(
        "adverse_event", {**EVENT, "meddra_code": code}, protocol=load_protocol(PROTOCOL)
    )
    assert [p.field for p in problems] == ["meddra_code"]
    assert "8-digit" in (problems[0].allowed or "") and code not in problems[0].message


@pytest.mark.parametrize("code", ["10052015", None, ""])
def test_an_8_digit_code_or_a_blank_is_accepted(code: str | None) -> None:
    from cartrial.protocol import load_protocol

    assert (
        validate_record("adverse_event", {**EVENT, "meddra_code": code}, protocol=load_protocol(PROTOCOL))
        == []
    )
    assert "MedDRA" in field_rules("adverse_event")["meddra_code"].source


def test_db_edit_refuses_a_text_meddra_code(study) -> None:
    record_id = study.service.insert_record("admin", "adverse_event", {**EVENT, "meddra_code": "10052015"})
    row = study.service.get_record("admin", "adverse_event", record_id)
    with pytest.raises(InputError) as caught:
        study.service.update_record(
            "admin", "adverse_event", record_id, {"meddra_code": "=HYPERLINK(1)"}, int(row["version"]), "typo"
        )
    assert [p.field for p in caught.value.problems] == ["adverse_event.meddra_code"]
    assert study.service.get_record("admin", "adverse_event", record_id)["meddra_code"] == "10052015"
