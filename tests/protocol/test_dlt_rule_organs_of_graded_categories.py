"""A DLT rule of category crs, icans or hematologic with `organs` could never fire (D-19.1209).

The events of these categories are graded by cartrial from the assessments and the laboratory results
(`cartrial.grading`: the terms "Cytokine release syndrome", "Immune effector cell-associated neurotoxicity
syndrome" and the haematology lab terms), none of which has an organ in `cartrial.protocol.organs` (cardiac,
skin, gastrointestinal, hepatic, pulmonary, renal): the rule's organ condition is never met, and
`protocol check` accepted such a rule without a word. It is refused at its `organs` line, naming the field
and the categories that take organs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import Cli

from cartrial import examples as cartrial_examples
from cartrial.errors import InputError
from cartrial.protocol import parse_protocol

TEXT = (cartrial_examples.path("ct103a-nmosd") / "protocol.yaml").read_text(encoding="utf-8")
RULES = {  # the example's rule of each category: the line after which `organs` is added, and its index
    "crs": ("      min_grade: 4\n", 0),
    "icans": ("      min_relatedness: possible\n    - id: hematologic", 1),
    "hematologic": ("      exclude_underlying_disease: true\n", 2),
}


def _line(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if fragment in line)


@pytest.mark.parametrize("category", sorted(RULES))
def test_organs_on_a_graded_category_are_refused_at_their_line(category: str) -> None:
    anchor, index = RULES[category]
    assert TEXT.count(anchor) == 1
    added = "      organs: [cardiac]  # added\n"
    text = TEXT.replace(anchor, anchor.replace("\n", "\n" + added, 1))
    with pytest.raises(InputError) as caught:
        parse_protocol(text, "protocol.yaml")
    [problem] = caught.value.problems
    assert problem.line == _line(text, "# added")
    assert problem.field == f"escalation.dlt_rules[{index}].organs"
    assert "could never" in problem.message and category in problem.message
    assert problem.allowed is not None and "non_hematologic" in problem.allowed


def test_organs_on_a_non_hematologic_rule_are_kept() -> None:
    rules = parse_protocol(TEXT).escalation.dlt_rules
    assert [r.organs for r in rules if r.id == "organ_toxicity_related"] == [
        ["cardiac", "skin", "gastrointestinal", "hepatic", "pulmonary", "renal"]
    ]


def test_an_organ_grade_on_a_graded_category_is_refused_at_its_line() -> None:
    # the organ grade could never apply either: the rule silently fell back to min_grade
    anchor, index = RULES["crs"]
    text = TEXT.replace(anchor, anchor + "      organ_min_grade: {cardiac: 2}  # added\n")
    with pytest.raises(InputError) as caught:
        parse_protocol(text, "protocol.yaml")
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (
        _line(text, "# added"),
        f"escalation.dlt_rules[{index}].organ_min_grade",
    )


def test_protocol_check_refuses_it_naming_the_field(tmp_path: Path, cli: Cli) -> None:
    anchor, _ = RULES["hematologic"]
    path = tmp_path / "protocol.yaml"
    path.write_text(TEXT.replace(anchor, anchor + "      organs: [renal]\n"), encoding="utf-8")
    code, out, err = cli("protocol", "check", str(path))
    assert code == 2
    shown = " ".join((out + err).split())
    assert "escalation.dlt_rules[2].organs" in shown and "could never match" in shown
