"""D-19.137: a text of bounded length — an identifier, a code, a name or a term (a column with a length:
subject_id, site_id, product_lot, term, analyte, …) — is one line. A subject id holding a line feed or
U+2028 was stored by every write path: it split the row of every CSV written from it, its SDTM USUBJID,
and the terminal line of every listing. Free text (notes, reasons, the disposition) keeps its own rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.columns import LINE_BREAKS
from cartrial.errors import InputError
from cartrial.store.fields import field_rules, line_break_problem
from cartrial.store.importing import import_templates

from .conftest import StudyDb

BREAKS = ["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("br", BREAKS)
def test_a_single_record_write_refuses_a_line_break_in_an_identifier(study: StudyDb, br: str) -> None:
    service = study.service
    with pytest.raises(InputError) as caught:
        service.insert_record(
            "admin", "subject", {"subject_id": f"CT-9{br}99", "site_id": "TJH", "consent_date": "2021-04-01"}
        )
    text = str(caught.value)
    assert "subject.subject_id" in text and "line break" in text and "one line" in text
    # nothing stored under such a key; a filter no stored key can hold is refused as a write is (D-19.522)
    assert all(br not in r["subject_id"] for r in service.find_records("admin", "subject"))
    with pytest.raises(InputError, match="line break"):
        service.find_records("admin", "subject", subject_id=f"CT-9{br}99")
    (row,) = service.find_records("admin", "subject", subject_id="CT-001")
    with pytest.raises(InputError, match="line break"):
        service.update_record(
            "admin", "subject", int(row["id"]), {"screening_number": f"S{br}1"}, int(row["version"]), "typo"
        )


@pytest.mark.parametrize("br", ["\n", "\u2028"])
def test_the_import_refuses_it_with_file_row_and_field(study: StudyDb, tmp_path: Path, br: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "subjects.csv").write_text(
        f'subject_id,site_id,consent_date\n"CT-7{br}7",TJH,2021-04-01\n', encoding="utf-8"
    )
    with pytest.raises(InputError) as caught:
        import_templates(study.url, folder, "admin")
    (problem,) = [p for p in caught.value.problems if p.field == "subject_id"]
    assert str(problem.file).endswith("subjects.csv") and problem.row == 2 and "line break" in problem.message
    assert all(br not in r["subject_id"] for r in study.service.find_records("admin", "subject"))


def test_free_text_keeps_its_line_breaks() -> None:
    """A column without a length is free text: line breaks allowed (`CONTROL_CHARACTERS_ALLOWED`)."""
    rules = field_rules("relapse")
    assert rules["notes"].max_length is None and "one line" not in rules["notes"].allowed()
    assert "one line" in field_rules("subject")["subject_id"].allowed()


@settings(max_examples=property_examples(60))
@given(st.text(max_size=8), st.sampled_from(sorted(LINE_BREAKS)), st.text(max_size=8))
def test_every_line_break_is_found(before: str, br: str, after: str) -> None:
    """Property: a text with any `str.splitlines` boundary has a line-break problem; one without has none."""
    assert line_break_problem("subject.subject_id", before + br + after) is not None
    clean = "".join(c for c in before + after if c not in LINE_BREAKS)
    assert line_break_problem("subject.subject_id", clean) is None
    assert len((before + br + after).splitlines()) >= 1
