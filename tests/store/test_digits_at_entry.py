"""D-19.520 amended: a visual acuity or AQP4-IgG titre in other digits is refused where it is entered —
the field rule (import, `db edit`, API, web forms share it) — naming the row, the field and the digit,
not first when the analysis parses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial.errors import InputError
from cartrial.store.fields import field_rules, typed_record_values, validate_record
from cartrial.store.importing import import_templates

from .conftest import StudyDb

ACUITY = "\u0662\u0660/\u0664\u0660"  # ٢٠/٤٠
TITRE = "1:\u0661\u0660\u0660"  # 1:١٠٠


def test_an_acuity_in_arabic_indic_digits_is_refused_by_the_field_rule() -> None:
    problems = validate_record("visual_acuity", {"acuity": ACUITY}, protocol=None, partial=True)
    assert [p.field for p in problems] == ["acuity"]
    assert "U+0662 ARABIC-INDIC DIGIT TWO" in problems[0].message and "0-9" in problems[0].message
    assert validate_record("visual_acuity", {"acuity": "20/40"}, protocol=None, partial=True) == []
    wide = "\uff12\uff10/\uff14\uff10"  # full-width ２０/４０
    assert validate_record("visual_acuity", {"acuity": wide}, protocol=None, partial=True)


def test_a_titre_in_other_digits_is_refused_once_naming_the_digit() -> None:
    with pytest.raises(InputError) as caught:
        typed_record_values("subject", {"aqp4_igg_titre": TITRE})
    (problem,) = caught.value.problems
    assert problem.field == "subject.aqp4_igg_titre" and "U+0661 ARABIC-INDIC DIGIT ONE" in problem.message


def test_the_rule_is_declared_on_the_fields() -> None:
    assert field_rules("visual_acuity")["acuity"].digits_0_to_9
    assert field_rules("subject")["aqp4_igg_titre"].digits_0_to_9
    assert not field_rules("adverse_event")["term"].digits_0_to_9


def test_the_import_refuses_it_at_its_row_and_field(study: StudyDb, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "visual_acuity.csv").write_text(
        "subject_id,assessed_at,eye,acuity,notation\n"
        "CT-001,2021-05-29T09:00:00Z,OD,20/40,\n"
        f"CT-001,2021-05-29T09:00:00Z,OS,{ACUITY},\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        import_templates(study.url, folder, "admin")
    problems = [p for p in caught.value.problems if p.field == "acuity"]
    assert [(p.row, p.field) for p in problems] == [(3, "acuity")]
    assert "U+0662 ARABIC-INDIC DIGIT TWO" in problems[0].message
