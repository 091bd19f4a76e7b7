"""D-19.446, D-19.447: a value with a space or invisible character other than space, tab, CR or LF at an
edge (a no-break space from a French-locale spreadsheet or a word processor) is refused by every field
whose parser reads it — never stored as given after a parser silently stripped it — and the refusal names
the character, since the value itself is not shown (D-12.2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial.countries import country_alpha3
from cartrial.errors import InputError
from cartrial.neuro.titres import parse_titre_step
from cartrial.neuro.visual_acuity import parse_acuity
from cartrial.protocol.death import is_fatal
from cartrial.protocol.disposition import parse_disposition, reported_term
from cartrial.protocol.seriousness import flag
from cartrial.store.fields import typed_record_values, validate_record
from cartrial.store.importing.forms import FORMS_BY_NAME
from cartrial.store.importing.validation import FormData, validate_form
from cartrial.tabular import read_csv

NBSP = "\u00a0"
EDGE_CHARACTERS = [
    ("\u00a0", "U+00A0 NO-BREAK SPACE"),
    ("\u2003", "U+2003 EM SPACE"),
    ("\u200b", "U+200B ZERO WIDTH SPACE"),
    ("\u202f", "U+202F NARROW NO-BREAK SPACE"),
]


@pytest.mark.parametrize(("character", "named"), EDGE_CHARACTERS)
def test_a_parser_that_strips_white_space_keeps_it_for_the_rule_to_refuse(character: str, named: str) -> None:
    """``CHN\\u00a0``, ``1:100\\u00a0`` and ``20/20\\u00a0`` were accepted and stored as given, because the
    country, titre and acuity parsers stripped every Unicode white space before reading them."""
    if character.isspace():  # what `str.strip` removed
        assert country_alpha3(f"CHN{character}") is None
        assert parse_disposition(f"withdrawn{character}") is None
        assert flag(f"false{character}") is None
        assert not is_fatal(f"5{character}", f"death{character}", f"fatal{character}")
        assert reported_term(f" withdrawn {character}") == f"withdrawn {character}"
    with pytest.raises(InputError):
        parse_titre_step(f"1:100{character}")
    with pytest.raises(InputError):
        parse_acuity(f"{character}20/20")
    site = {"site_id": "TJH", "name": "Tongji", "country": f"CHN{character}"}
    assert [p.field for p in validate_record("site", site, protocol=None)] == ["country"]
    with pytest.raises(InputError) as caught:
        typed_record_values("subject", {"aqp4_igg_titre": f"1:100{character}"})
    (problem,) = caught.value.problems
    assert problem.field == "subject.aqp4_igg_titre" and named in problem.message
    acuity = {"subject_id": "CT-001", "assessed_at": "2021-06-01", "eye": "OD", "acuity": f"20/20{character}"}
    (problem,) = validate_record("visual_acuity", acuity, protocol=None)  # the engine reads the acuity
    assert problem.field == "acuity" and named in problem.message
    # space, tab, CR and LF are still trimmed
    assert typed_record_values("visual_acuity", {"acuity": " 20/20\t"}) == {"acuity": "20/20"}
    assert country_alpha3(" CHN\t") == "CHN"


@pytest.mark.parametrize(("character", "named"), EDGE_CHARACTERS)
@pytest.mark.parametrize(
    ("table", "field", "text"),
    [
        ("lab_result", "value", "0.45"),
        ("adverse_event", "started_on", "2021-08-03"),
        ("adverse_event", "category", "hematologic"),
        ("adverse_event", "serious", "false"),
        ("adverse_event", "grade", "4"),
        ("lab_result", "collected_at", "2021-06-09T07:00:00Z"),
        ("visual_acuity", "eye", "OD"),
        ("subject", "disposition", "withdrawn"),
    ],
)
def test_a_value_refused_for_an_edge_character_names_it(
    table: str, field: str, text: str, character: str, named: str
) -> None:
    """``0.45\\u00a0`` was refused as "not a number", ``OD\\u00a0`` twice (not an allowed value, too long):
    confusing, as the value is not shown. Now one problem naming the character, at either edge."""
    for value in (f"{text}{character}", f"{character}{text}"):
        with pytest.raises(InputError) as caught:
            typed_record_values(table, {field: value})
        (problem,) = caught.value.problems
        assert problem.message.startswith(f"begins or ends with {named}"), problem
        assert problem.field == f"{table}.{field}" and problem.allowed
        assert value not in problem.message


def test_the_import_names_the_edge_character_once_per_cell(tmp_path: Path) -> None:
    header = "subject_id,assessed_at,eye,acuity"
    path = tmp_path / "visual_acuity.csv"
    path.write_text(f"{header}\nCT-001,2021-06-01,OD{NBSP},20/20\nCT-001,2021-06-01,OS,20/20{NBSP}\n")
    frame = read_csv(path, header_only=True)
    _, problems = validate_form(
        FormData(spec=FORMS_BY_NAME["visual_acuity"], frame=frame, file=str(path), sha256="")
    )
    assert [(p.row, p.field, p.message.split(" (")[0]) for p in problems] == [
        (2, "eye", "begins or ends with U+00A0 NO-BREAK SPACE"),
        (3, "acuity", "begins or ends with U+00A0 NO-BREAK SPACE"),
    ]


def test_free_text_keeps_an_edge_character_and_other_failures_keep_their_message() -> None:
    assert typed_record_values("relapse", {"notes": f"a note{NBSP}"}) == {"notes": f"a note{NBSP}"}
    with pytest.raises(InputError) as caught:
        typed_record_values("lab_result", {"value": "abc"})
    assert [p.message for p in caught.value.problems] == ["not a number"]
