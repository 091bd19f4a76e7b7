"""YAML that users write (REDCap mappings, PD model parameters) is read through the guarded reader
`cartrial.protocol.yaml_source.read_yaml` (issue 19 §4): an alias bomb is refused in well under a second,
a syntax error names its line, bytes that are not UTF-8 are a located error."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from cartrial.errors import ConfigurationError, InputError

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)
"""Nine levels of ten-fold aliases: 10^9 values once expanded (the "billion laughs")."""


def test_redcap_mapping_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    from cartrial.store.importing import load_mapping

    file = tmp_path / "mapping.yaml"
    file.write_text(BOMB + "forms: {}\n")
    started = time.perf_counter()
    with pytest.raises(InputError) as caught:
        load_mapping(file)
    assert time.perf_counter() - started < 1.0
    assert str(file) in str(caught.value)


def test_redcap_mapping_syntax_error_names_its_line(tmp_path: Path) -> None:
    from cartrial.store.importing import load_mapping

    file = tmp_path / "mapping.yaml"
    file.write_text("forms:\n  subject:\n    fields: [a, b\n  other: 1\n")
    with pytest.raises(InputError) as caught:
        load_mapping(file)
    assert "line" in str(caught.value) and "malformed YAML" in str(caught.value)


def test_redcap_mapping_not_utf8_is_located(tmp_path: Path) -> None:
    from cartrial.store.importing import load_mapping

    file = tmp_path / "mapping.yaml"
    file.write_bytes(b"forms:\n  subject: \xff\xfe\n")
    with pytest.raises(InputError) as caught:
        load_mapping(file)
    assert "not UTF-8" in str(caught.value) and "line 2" in str(caught.value)


def test_redcap_mapping_duplicate_key_is_refused(tmp_path: Path) -> None:
    from cartrial.store.importing import load_mapping

    file = tmp_path / "mapping.yaml"
    file.write_text("forms: {}\nforms: {}\n")
    with pytest.raises(InputError) as caught:
        load_mapping(file)
    assert "line 2" in str(caught.value)


def test_pd_model_alias_bomb_is_refused_fast() -> None:
    from cartrial.kinetics import load_pd_model

    started = time.perf_counter()
    with pytest.raises(InputError):
        load_pd_model(BOMB)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("text", ["- a\n- b\n", "parameters: [1, 2]\n", "42\n"])
def test_pd_model_that_is_not_a_mapping_is_a_configuration_error(text: str) -> None:
    from cartrial.kinetics import load_pd_model

    with pytest.raises(ConfigurationError, match="mapping"):
        load_pd_model(text)


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ct103a-nmosd"


def _edited_example(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the example's `file` with `old` replaced once by `new`, beside a copy of the protocol that
    candidates and scenarios name."""
    text = (EXAMPLE / file).read_text(encoding="utf-8")
    assert old in text
    target = tmp_path / file
    target.parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "protocol.yaml").write_text(
        (EXAMPLE / "protocol.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def _load(file: str, path: Path) -> Any:
    """The YAML model of an example `file` (protocol, scenario or candidate) read from `path`."""
    from cartrial.protocol import load_protocol
    from cartrial.protocol.candidate import load_candidate
    from cartrial.simulation.scenario import load_scenario

    if file == "protocol.yaml":
        return load_protocol(path)
    if file == "scenario.yaml":
        return load_scenario(path)[0]
    return load_candidate(path)


@pytest.mark.parametrize(
    ("file", "old", "new", "field"),
    [
        ("protocol.yaml", "cells_per_kg: 500000", "cells_per_kg: true", "dose_levels[0].cells_per_kg"),
        ("candidates/cand-01-eligible.yaml", "edss: {score: 4.5,", "edss: {score: true,", "edss.score"),
        ("scenario.yaml", "{hazard_per_year: 0.03}", "{hazard_per_year: true}", "dropout.hazard_per_year"),
    ],
)
def test_yaml_boolean_in_a_number_field_is_refused_at_its_line(
    tmp_path: Path, file: str, old: str, new: str, field: str
) -> None:
    """Pydantic's lax mode reads true/false as 1/0 for a number (a dose of one cell per kg, an EDSS of 1):
    every YAML model refuses it at its line instead (one validation path, `validate_data`)."""
    target = _edited_example(tmp_path, file, old, new)
    _load(file, EXAMPLE / file)  # the example as shipped is valid
    with pytest.raises(InputError) as caught:
        _load(file, target)
    problems = [p for p in caught.value.problems if p.field == field]
    assert problems and problems[0].message == "true/false is not a number", caught.value.problems
    line = next(i for i, text_line in enumerate(target.read_text().splitlines(), 1) if new in text_line)
    assert problems[0].line == line


@pytest.mark.parametrize(
    ("file", "old", "new", "field", "message", "allowed"),
    [
        ("protocol.yaml", "cohort_size: 3 ", "cohort_size: 3.5 ", "escalation.cohort_size",
         "not a whole number", "a whole number"),
        ("protocol.yaml", "cohort_size: 3 ", "cohort_size: null ", "escalation.cohort_size",
         "a value is required", "a whole number"),
        ("protocol.yaml", "no_skip: true", "no_skip: null", "escalation.no_skip", "a value is required",
         "true | false"),
        ("protocol.yaml", "no_skip: true", "no_skip: maybe", "escalation.no_skip",
         "not an allowed value", "true | false"),
        ("protocol.yaml", "nca_options: {}", "nca_options: [1]", "analysis.options.nca_options",
         "not a mapping", "a mapping of keys to values"),
        ("scenario.yaml", "{hazard_per_year: 0.03}", "{hazard_per_year: null}", "dropout.hazard_per_year",
         "a value is required", "a number"),
    ],
)  # fmt: skip
def test_a_yaml_value_of_the_wrong_type_says_what_is_allowed(
    tmp_path: Path, file: str, old: str, new: str, field: str, message: str, allowed: str
) -> None:
    """Pydantic's type errors (a fraction or null for a whole number, a word or null for true/false, a list
    for a mapping) said what was expected, without an allowed text, and a null was not shown at all
    (``Input should be a valid integer``): each names what is allowed, a null reads as a missing value."""
    from cartrial.protocol import load_protocol
    from cartrial.simulation.scenario import load_scenario

    text = (EXAMPLE / file).read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    (tmp_path / "protocol.yaml").write_text((EXAMPLE / "protocol.yaml").read_text(encoding="utf-8"))
    target = tmp_path / file
    target.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        (load_protocol if file == "protocol.yaml" else load_scenario)(target)
    [problem] = [p for p in caught.value.problems if p.field == field]
    assert (problem.message, problem.allowed) == (message, allowed), str(caught.value)
    line = next(i for i, text_line in enumerate(target.read_text().splitlines(), 1) if new in text_line)
    assert problem.line == line


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("no_skip: true ", 'no_skip: "yes" ', "escalation.no_skip"),
        ("no_skip: true ", "no_skip: 1 ", "escalation.no_skip"),
        ("no_skip: true ", 'no_skip: "false" ', "escalation.no_skip"),
        ("stagger_days: 0\n", "stagger_days: 0\n  coherent: 0\n", "escalation.coherent"),
        ("exclude_underlying_disease: true", 'exclude_underlying_disease: "no"',
         "escalation.dlt_rules[2].exclude_underlying_disease"),
        ("includes_threshold: true ", "includes_threshold: 1 ", None),
        ("require_adjudicated: false, merge", 'require_adjudicated: "no", merge', None),
    ],
)  # fmt: skip
def test_a_true_false_key_takes_only_yaml_true_or_false(
    tmp_path: Path, old: str, new: str, field: str | None
) -> None:
    """One rule for every true/false key (issue 19): pydantic's lax mode read ``no_skip: "yes"`` as true and
    ``1`` / ``0`` as true / false, while the option dataclasses refused ``require_adjudicated: "no"``. Each
    is now refused at its line, in the words of `cartrial.allowed` (``not an allowed value``, ``true |
    false``)."""
    from cartrial.protocol import load_protocol

    text = (EXAMPLE / "protocol.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    target = tmp_path / "protocol.yaml"
    target.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_protocol(target)
    key = new.split(":")[0].strip() if "\n" not in new else "coherent"
    problem = next(p for p in caught.value.problems if (p.field or "").endswith(key))
    assert field is None or problem.field == field
    assert (problem.message, problem.allowed) == ("not an allowed value", "true | false"), str(caught.value)
    if problem.line is not None:
        changed = new.splitlines()[-1].strip()
        line = next(
            i for i, text_line in enumerate(target.read_text().splitlines(), 1) if changed in text_line
        )
        assert problem.line == line


@pytest.mark.parametrize(
    ("old", "new", "field", "message", "allowed"),
    [
        ("variant: deescalation", "variant: both", "escalation.variant", "not an allowed value",
         "escalation_only | deescalation"),
        ("  stagger_days: 0\n", "  stagger_days: 0\n  phi1: 0.2\n", "escalation.phi1",
         "does not apply to the 3+3 design", "only with design boin"),
        ("  stagger_days: 0\n", "  stagger_days: 0\n  start_level: 9\n", "escalation.start_level",
         "no such dose level", "1 to 2"),
        ("organ_min_grade: {cardiac: 2,", "organ_min_grade: {cardiac: 6,",
         "escalation.dlt_rules[3].organ_min_grade.cardiac", None, "1 to 5"),
        ("organs: [cardiac, skin,", "organs: [cardiac, Cardiac, skin,", "escalation.dlt_rules[3].organs[1]",
         None, "each organ once"),
    ],
)  # fmt: skip
def test_a_protocol_error_words_its_choices_and_ranges_as_every_option(
    tmp_path: Path, old: str, new: str, field: str, message: str | None, allowed: str
) -> None:
    """One wording (issue 19, `cartrial.allowed`): choices ``a | b`` (pydantic wrote ``'a' or 'b'``), ranges
    ``1 to 5`` (``1..5``, ``1-5``), "does not apply to the <design> design" as the escalation registry words
    it; an organ listed twice is refused at its line."""
    from cartrial.protocol import load_protocol

    text = (EXAMPLE / "protocol.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    target = tmp_path / "protocol.yaml"
    target.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_protocol(target)
    [problem] = [p for p in caught.value.problems if p.field == field]
    assert problem.allowed == allowed, str(caught.value)
    assert message is None or problem.message == message, str(caught.value)
    changed = new.strip().splitlines()[-1].strip()
    line = next(i for i, text_line in enumerate(target.read_text().splitlines(), 1) if changed in text_line)
    assert problem.line == line


def test_the_escalation_registry_words_choices_as_every_option() -> None:
    from cartrial.allowed import choice_text
    from cartrial.escalation import DESIGNS, OPTIONS, check_design_options

    with pytest.raises(InputError) as caught:
        check_design_options("boinn", 3, {})
    assert (
        caught.value.problems[0].allowed
        == choice_text(DESIGNS)
        == "3+3 | boin | mtpi2 | i3+3 | crm | tite-crm"
    )
    with pytest.raises(InputError) as caught:
        check_design_options("boin", 3, {"targte": 0.3, "phi1": 0.2, "skeleton": [0.1, 0.2, 0.3]})
    unknown, not_applying = caught.value.problems
    assert unknown.allowed == choice_text(sorted(OPTIONS))
    assert (not_applying.message, not_applying.allowed) == (
        "does not apply to the boin design",
        "only with design crm | tite-crm",
    )


def test_a_yaml_merge_key_is_refused_at_its_line_without_the_parser_text() -> None:
    """``<<: *defaults`` was refused with PyYAML's own text ('could not determine a constructor for the tag
    …merge', 'in "<unicode string>", line 3, column 3'); now a located message saying what to write."""
    from cartrial.protocol.yaml_source import read_yaml

    _data, _positions, problems = read_yaml("defaults: &d {b: 1}\nc:\n  <<: *d\n  e: 2\n", "p.yaml")
    assert [str(p) for p in problems] == [
        "p.yaml, line 3, c: a YAML merge key (<<) is not supported; "
        "allowed: the keys written out in each mapping"
    ]


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("protocol.yaml", "cells_per_kg: 500000", "cells_per_kg: 5e5"),
        ("protocol.yaml", "{min_fraction_faster: 0.2}", "{min_fraction_faster: 2e-1}"),
        ("candidates/cand-01-eligible.yaml", "edss: {score: 4.5,", "edss: {score: 45E-1,"),
        ("scenario.yaml", "{hazard_per_year: 0.03}", "{hazard_per_year: 3.0e-2}"),
    ],
)
def test_exponent_notation_is_a_number_in_every_yaml_model(
    tmp_path: Path, file: str, old: str, new: str
) -> None:
    """``5e5`` and ``2e-1`` are numbers (YAML 1.2, JSON); YAML 1.1's float rule read them as text, refused
    by one field as "not a number" and converted by another (D-19.22). The file reads as the original."""
    target = _edited_example(tmp_path, file, old, new)
    assert _load(file, target).model_dump() == _load(file, EXAMPLE / file).model_dump()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e-3", 0.001),
        ("+5e5", 500000.0),
        ("2.5E6", 2.5e6),
        (".5e1", 5.0),
        ("1_0e1", 100.0),
        ("1e", "1e"),
        ("e5", "e5"),
        ("'1e3'", "1e3"),
        ("0x1f", 31),
        ("12", 12),
    ],
)
def test_yaml_numbers_follow_yaml_1_2_exponent_notation(text: str, expected: object) -> None:
    from cartrial.protocol.yaml_source import read_yaml

    value = read_yaml(f"a: {text}\n", "t.yaml")[0]["a"]
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("tagged", "message"),
    [
        ("!!timestamp x", "not a value of the tag !!timestamp"),  # PyYAML raised AttributeError
        ("!!bool x", "not a value of the tag !!bool"),  # KeyError
        ("!!int x", "not a value of the tag !!int"),  # "cannot read value: invalid literal for int()…"
        ("!!binary aGVsbG8=", "binary data (!!binary) is not a value of any field"),  # read as "hello"
    ],
)
@pytest.mark.parametrize(
    ("file", "old", "field"),
    [
        ("protocol.yaml", "cohort_size: 3 ", "escalation.cohort_size"),
        ("candidates/cand-01-eligible.yaml", "id: SCR-001", "id"),
        ("scenario.yaml", "name: ", "name"),
    ],
)
def test_an_explicit_yaml_tag_on_the_wrong_text_is_refused_at_its_line(
    tmp_path: Path, file: str, old: str, field: str, tagged: str, message: str
) -> None:
    """An explicit tag on text not of its form crashed PyYAML's constructor (`!!timestamp x`: a traceback
    in `protocol check`, `screen`, `simulate`), and `!!binary` was decoded into a text field silently; every
    YAML model now refuses both at the line and key (sweepcli)."""
    from cartrial.protocol import load_protocol
    from cartrial.protocol.candidate import load_candidate
    from cartrial.simulation.scenario import load_scenario

    text = (EXAMPLE / file).read_text(encoding="utf-8")
    start = text.index(old)
    end = text.index("\n", start)
    key = old.split(":")[0]
    target = tmp_path / Path(file).name
    (tmp_path / "protocol.yaml").write_text((EXAMPLE / "protocol.yaml").read_text(encoding="utf-8"))
    target.write_text(text[:start] + f"{key}: {tagged}" + text[end:], encoding="utf-8")
    loader = {"protocol.yaml": load_protocol, "scenario.yaml": load_scenario}.get(file, load_candidate)
    with pytest.raises(InputError) as caught:
        loader(target)
    line = text[:start].count("\n") + 1
    problems = [p for p in caught.value.problems if p.line == line and p.field == field]
    assert problems and problems[0].message == message, caught.value.problems


PARSER_PHRASES = (
    "Input should be",
    "Value error,",
    "validation error",
    "unable to parse",
    "outside expected range",
)
"""Phrases of the parser's (pydantic's) sentences: no problem of a YAML reader holds one (D-19.1456)."""

DATE = "a calendar date YYYY-MM-DD"
CAND = "candidates/cand-01-eligible.yaml"
DOB = "date_of_birth: 1975-06-10"
NO_DATE = "not a calendar date"
DATE_LIKE = "date-like text that is no calendar date"
DATE_OR_TEXT = "a calendar date YYYY-MM-DD, or quote the text"
TAG_FORM = "text of the !!{} form, or the value without the tag"


@pytest.mark.parametrize(
    ("file", "old", "new", "field", "message", "allowed"),
    [
        # bad dates: a month or day outside the calendar, a tag, a list, a date-time
        (CAND, DOB, "date_of_birth: 1975-13-10", "date_of_birth", DATE_LIKE, DATE_OR_TEXT),
        (CAND, DOB, "date_of_birth: 1975-02-30", "date_of_birth", DATE_LIKE, DATE_OR_TEXT),
        # the same unquoted text in a text field: the reader knows no field's type, its words fit both
        (CAND, "id: SCR-001", "id: 1975-13-10", "id", DATE_LIKE, DATE_OR_TEXT),
        (CAND, DOB, "date_of_birth: !!timestamp 1975-13-10", "date_of_birth",
         "not a calendar date", DATE),
        (CAND, DOB, "date_of_birth: [1975]", "date_of_birth", NO_DATE, DATE),
        (CAND, DOB, "date_of_birth: 1975-06-10T08:30:00", "date_of_birth",
         "not a calendar date", DATE),
        (CAND, "edss: {score: 4.5, date: 2024-03-12}", "edss: {score: 4.5, date: 2024-03-32}", "edss.date",
         DATE_LIKE, DATE_OR_TEXT),
        ("scenario.yaml", 'start_date: "2021-04-01"', 'start_date: "2021-13-01"', "accrual.start_date",
         "not a calendar date", "YYYY-MM-DD"),  # the scenario's own check of a text date
        ("scenario.yaml", 'start_date: "2021-04-01"', "start_date: 2021-04-31", "accrual.start_date",
         DATE_LIKE, DATE_OR_TEXT),
        # bad numbers: text, a tag on text not of its form, not finite
        (CAND, "edss: {score: 4.5,", "edss: {score: !!float 4.5e,", "edss.score",
         "not a value of the tag !!float",
         TAG_FORM.format("float")),
        (CAND, "edss: {score: 4.5,", "edss: {score: abc,", "edss.score", "not a number", "a number"),
        (CAND, "edss: {score: 4.5,", "edss: {score: .nan,", "edss.score", "not a finite number",
         "a finite number"),
        ("protocol.yaml", "cohort_size: 3 ", "cohort_size: three ", "escalation.cohort_size",
         "not a whole number",
         "a whole number"),
        ("protocol.yaml", "cohort_size: 3 ", "cohort_size: !!int 3x ", "escalation.cohort_size",
         "not a value of the tag !!int", TAG_FORM.format("int")),
        ("protocol.yaml", "cells_per_kg: 500000", "cells_per_kg: lots", "dose_levels[0].cells_per_kg",
         "not a number", "a number"),
        ("scenario.yaml", "{hazard_per_year: 0.03}", "{hazard_per_year: 3%}", "dropout.hazard_per_year",
         "not a number", "a number"),
        ("scenario.yaml", "{hazard_per_year: 0.03}", "{hazard_per_year: !!float 0.03e}",
         "dropout.hazard_per_year", "not a value of the tag !!float", TAG_FORM.format("float")),
        # wrong types: a list or mapping for a number, a mapping for text, a number for a list
        (CAND, "edss: {score: 4.5,", "edss: {score: [4.5],", "edss.score", "not a number", "a number"),
        (CAND, "id: SCR-001", "id: {a: 1}", "id", "not text", "text"),
        ("protocol.yaml", "cohort_size: 3 ", "cohort_size: {n: 3} ", "escalation.cohort_size",
         "not a whole number", "a whole number"),
        ("scenario.yaml", "{hazard_per_year: 0.03}", "{hazard_per_year: [0.03]}", "dropout.hazard_per_year",
         "not a number", "a number"),
        # a length's limit: characters of text, items of a list
        ("scenario.yaml", "site_country: China", "site_country: " + "x" * 81, "accrual.site_country",
         "too long", "at most 80 characters"),
        ("scenario.yaml", "site_country: China", "site_country: ''", "accrual.site_country",
         "too short", "at least 1 character"),
        ("scenario.yaml", 'start_date: "2021-04-01"', 'start_date: "2021-04-01", dates: [2021-04-01]',
         "accrual.dates", "too few items", "at least 2 items"),
    ],
)  # fmt: skip
def test_a_bad_yaml_value_is_one_problem_in_cartrial_words(
    tmp_path: Path, file: str, old: str, new: str, field: str, message: str, allowed: str
) -> None:
    """A bad date or number gave two problems for the one field — the reader's and the parser's raw sentence
    ("Input should be a valid date or datetime, month value is outside expected range of 1-12") — and a
    wrong type the parser's sentence alone. Every YAML reader (protocol check/show and db init read the
    protocol, screen the candidates, simulate the scenario) now gives one problem per bad field, at its line,
    with what is allowed, in the words of `cartrial.allowed.PARSER_ERROR_WORDS` (D-19.1456)."""
    target = _edited_example(tmp_path, file, old, new)
    _load(file, EXAMPLE / file)  # the example as shipped is valid
    with pytest.raises(InputError) as caught:
        _load(file, target)
    [problem] = [p for p in caught.value.problems if p.field == field]
    assert (problem.message, problem.allowed) == (message, allowed), caught.value.problems
    line = next(i for i, text_line in enumerate(target.read_text().splitlines(), 1) if new in text_line)
    assert problem.line == line
    for phrase in PARSER_PHRASES:
        assert phrase not in str(caught.value), str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "field", "message", "allowed"),
    [
        ("timezone: UTC", "timezone: [UTC]", "timezone", "not text", "text"),
        ("unmapped_fields: error", "unmapped_fields: {a: 1}", "unmapped_fields", "not an allowed value",
         "error | ignore"),
        ("events: [screening_arm_1]", "events: {a: 1}", "forms.subjects.events", "not a list", "a list"),
    ],
)  # fmt: skip
def test_a_redcap_mapping_value_of_the_wrong_type_is_worded_without_the_parser_sentence(
    tmp_path: Path, old: str, new: str, field: str, message: str, allowed: str
) -> None:
    """The REDCap mapping (a user's YAML too) showed the parser's sentence as the problem; each wrong type is
    now one problem at its line, in cartrial's words with what is allowed (D-19.1456)."""
    from cartrial.store.importing import load_mapping

    text = (EXAMPLE / "redcap" / "mapping.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    file = tmp_path / "mapping.yaml"
    file.write_text(text.replace(old, new))
    with pytest.raises(InputError) as caught:
        load_mapping(file)
    [problem] = caught.value.problems
    line = text[: text.index(old)].count("\n") + 1
    assert (problem.field, problem.line, problem.message, problem.allowed) == (field, line, message, allowed)
    for phrase in PARSER_PHRASES:
        assert phrase not in str(caught.value), str(caught.value)


def test_a_json_candidate_read_without_line_positions_reports_every_bad_field() -> None:
    """A JSON candidate that YAML cannot compose (an escaped emoji, a surrogate pair) is read without line
    positions, every path "(top level)": the readers kept one problem per display path, so only the first
    bad field was reported. Every bad field is one problem, found by its location (D-19.1456)."""
    from cartrial.protocol.candidate import parse_candidate

    text = (
        '{"id": "SCR-9", "screening_date": "2024-03-15", "notes": "\\ud83d\\ude00",\n'
        ' "date_of_birth": "1975-13-10", "sex": "x"}'
    )
    with pytest.raises(InputError) as caught:
        parse_candidate(text, "cand.json", fmt="json")
    fields = sorted(str(p.field) for p in caught.value.problems)
    assert fields == ["date_of_birth", "sex"], caught.value.problems
    for phrase in PARSER_PHRASES:
        assert phrase not in str(caught.value), str(caught.value)


@pytest.mark.parametrize(
    ("given", "field", "message", "allowed"),
    [
        # every member of the union refuses the value: one problem, the words of both members
        ("u: [1]", "u", "not an allowed value", "a whole number | text"),
        # a mapping for an int | list[int]: the members' names are no field (``v.int``)
        ("v: {a: 1}", "v", "not an allowed value", "a whole number | a list"),
        ("v: [x]", "v[0]", "not a whole number", "a whole number"),
    ],
)
def test_a_union_field_is_one_problem_with_every_member_s_words(
    given: str, field: str, message: str, allowed: str
) -> None:
    """Pydantic reports a value every member of a union refuses once per member, with the member's name in
    the location: the reader gave the first member's words alone (``u: int | str`` allowed "a whole number"
    only) and a bogus field per member (``v.int``). One problem per bad field, its allowed text joining the
    members' words (D-19.1456)."""
    from pydantic import BaseModel, ConfigDict

    from cartrial.protocol.yaml_source import read_yaml, validate_data

    class Model(BaseModel):
        model_config = ConfigDict(extra="forbid")
        u: int | str = 0
        v: int | list[int] = 0

    data, positions, problems = read_yaml(given + "\n", "m.yaml")
    with pytest.raises(InputError) as caught:
        validate_data(Model, data, positions, "m.yaml", problems)
    [problem] = caught.value.problems
    assert (problem.field, problem.line, problem.message, problem.allowed) == (field, 1, message, allowed)
