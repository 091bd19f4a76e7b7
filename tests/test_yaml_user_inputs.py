"""YAML that users write (REDCap mappings, PD model parameters) is read through the guarded reader
`cartrial.protocol.yaml_source.read_yaml` (issue 19 §4): an alias bomb is refused in well under a second,
a syntax error names its line, bytes that are not UTF-8 are a located error."""

from __future__ import annotations

import time
from pathlib import Path

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
    from cartrial.protocol import load_protocol
    from cartrial.protocol.candidate import load_candidate
    from cartrial.simulation.scenario import load_scenario

    source = EXAMPLE / file
    text = source.read_text(encoding="utf-8")
    assert old in text
    target = tmp_path / file
    target.parent.mkdir(parents=True, exist_ok=True)
    for other in ("protocol.yaml",):
        (tmp_path / other).write_text((EXAMPLE / other).read_text(encoding="utf-8"), encoding="utf-8")
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    loader = {"protocol.yaml": load_protocol, "scenario.yaml": load_scenario}.get(file, load_candidate)
    loader(source)  # the example as shipped is valid
    with pytest.raises(InputError) as caught:
        loader(target)
    problems = [p for p in caught.value.problems if p.field == field]
    assert problems and problems[0].message == "true/false is not a number", caught.value.problems
    line = next(i for i, text_line in enumerate(target.read_text().splitlines(), 1) if new in text_line)
    assert problems[0].line == line
