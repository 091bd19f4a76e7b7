"""Bad-input robustness of protocol and candidate files and of `cartrial protocol show` (review of issue 2).

House rule (briefing): bad input never produces a traceback or a silent skip; the message names the file,
line, field, value and what is allowed, and the CLI exits 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.protocol import load_candidate, load_protocol, parse_protocol


@pytest.fixture
def protocol_file(examples_dir: Path) -> Path:
    return examples_dir / "ct103a-nmosd" / "protocol.yaml"


def test_utf8_bom_is_accepted_in_yaml_and_json(tmp_path: Path, examples_dir: Path) -> None:
    """Editors on Windows write a UTF-8 byte-order mark; json.loads refuses it, so it is dropped first."""
    source = examples_dir / "ct103a-nmosd" / "candidates" / "cand-02-aqp4-negative.json"
    with_bom = tmp_path / "c.json"
    with_bom.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())
    assert load_candidate(with_bom).id == "SCR-002"
    protocol = tmp_path / "p.yaml"
    protocol.write_bytes(b"\xef\xbb\xbf" + (examples_dir / "ct103a-nmosd" / "protocol.yaml").read_bytes())
    assert load_protocol(protocol).study.id == "CT103A-NMOSD"


def test_non_utf8_file_names_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    """A Latin-1 'é' (0xe9) on line 3 is reported at line 3 with the byte, not as a traceback."""
    file = tmp_path / "c.yaml"
    file.write_bytes(b"id: X\nsex: female\nnotes: caf\xe9\n")
    with pytest.raises(InputError) as caught:
        load_candidate(file)
    problem = caught.value.problems[0]
    assert problem.line == 3 and "0xe9" in problem.message and "UTF-8" in problem.message


def test_unclosed_bracket_names_the_line_where_it_opened() -> None:
    """PyYAML notices an unclosed flow sequence on the next line; the message also names line 2."""
    with pytest.raises(InputError) as caught:
        parse_protocol("study:\n  id: [a, b\n  title: t\n", "p.yaml")
    problem = caught.value.problems[0]
    assert "malformed YAML" in problem.message and "started at line 2" in problem.message


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_non_finite_numbers_are_refused(value: str) -> None:
    """YAML .inf/.nan pass `gt=0` checks in pydantic unless finite numbers are required: an infinite
    cells/kg dose would give an infinite total dose."""
    text = (
        "study: {id: T, title: t, indication: i, phase: p, sponsor: s,\n"
        "        product: {name: x, target_antigen: B}}\n"
        f"dose_levels:\n  - {{level: 1, label: a, cells_per_kg: {value}}}\n"
        "escalation: {design: '3+3', dlt_window_days: 28}\n"
        "schedule: {visits: [{name: D28, study_day: 28, assessments: [edss]}]}\n"
        "eligibility: {criteria: [{id: a, kind: inclusion, text: t, rule: {type: manual}}]}\n"
    )
    with pytest.raises(InputError) as caught:
        parse_protocol(text, "p.yaml")
    problem = caught.value.problems[0]
    assert problem.field == "dose_levels[0].cells_per_kg" and problem.line == 4
    assert "finite" in problem.message


def test_candidate_dates_must_be_dates_not_numbers(tmp_path: Path) -> None:
    """pydantic reads a number as a Unix timestamp (0 → 1970-01-01); a candidate date must be YYYY-MM-DD.
    A NaN laboratory value is refused too."""
    file = tmp_path / "c.yaml"
    file.write_text(
        "id: X\nscreening_date: 0\nrelapses:\n  - onset_date: 20240101\nlabs:\n"
        "  - {analyte: alt, value: .nan, unit: U/L}\n"
    )
    with pytest.raises(InputError) as caught:
        load_candidate(file)
    located = {(p.line, p.field) for p in caught.value.problems}
    assert located == {(2, "screening_date"), (4, "relapses[0].onset_date"), (6, "labs[0].value")}


@pytest.mark.parametrize(
    ("option", "field"),
    [(["--weight", "nan"], "--weight"), (["--bsa", "inf"], "--bsa"), (["--weight", "-5"], "--weight")],
)
def test_show_refuses_bad_numbers_without_traceback(
    capsys: pytest.CaptureFixture[str], protocol_file: Path, option: list[str], field: str
) -> None:
    """`protocol show --weight nan --json` used to end in a JSON ValueError traceback (exit 1)."""
    code = main(["protocol", "show", str(protocol_file), "--json", *option])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and field in err
    assert err.count("(got") == 1  # the value is named once
