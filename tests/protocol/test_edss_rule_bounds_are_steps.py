"""An `edss_range` eligibility rule's bounds are EDSS steps (D-19.1201).

The EDSS takes the values 0, 1.0, 1.5, ..., 9.5, 10 — there is no 0.5 and no value between two half steps
(Kurtzke JF, Neurology 1983;33:1444-1452; docs/science/neuro-outcomes.md §1). A candidate's EDSS is refused
when it is not a step (`cartrial.protocol.candidate.EdssRecord`, D-19.691), but the protocol's bounds were
not checked: ``max_score: 8.25`` or ``min_score: 0.5`` passed `cartrial protocol check` and silently meant
8.0 and 1.0. Each now gives a located error (file, line, field, the allowed steps).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial import examples as cartrial_examples
from cartrial.errors import InputError
from cartrial.protocol import parse_protocol

TEXT = (cartrial_examples.path("ct103a-nmosd") / "protocol.yaml").read_text(encoding="utf-8")
LINE = "rule: {type: edss_range, min_score: 0.0, max_score: 8.0}"
ROW = next(number for number, line in enumerate(TEXT.splitlines(), start=1) if LINE in line)
STEPS = [0.0, *(1.0 + 0.5 * k for k in range(19))]  # Kurtzke 1983: 0, 1.0, 1.5, ..., 10 (hand-written)


def _with(min_score: float, max_score: float) -> str:
    assert LINE in TEXT
    return TEXT.replace(
        LINE, f"rule: {{type: edss_range, min_score: {min_score!r}, max_score: {max_score!r}}}"
    )


@pytest.mark.parametrize(
    ("min_score", "max_score", "field", "bad"),
    [
        (0.0, 8.25, "max_score", 8.25),
        (0.5, 8.0, "min_score", 0.5),
        (2.2, 6.5, "min_score", 2.2),
        (0.0, 9.75, "max_score", 9.75),
    ],
)
def test_a_bound_off_the_edss_steps_is_refused_at_its_line(
    min_score: float, max_score: float, field: str, bad: float
) -> None:
    with pytest.raises(InputError) as caught:
        parse_protocol(_with(min_score, max_score), "protocol.yaml")
    [problem] = caught.value.problems
    assert problem.file == "protocol.yaml"
    assert problem.line == ROW
    assert problem.value == bad
    assert problem.field is not None and problem.field.endswith(f"rule.{field}")
    assert problem.allowed is not None and re.search(r"0\W+1\.0\W+1\.5\W.*9\.5\W+10$", problem.allowed)
    assert re.search(r"no 0\.5", problem.message)


@settings(max_examples=property_examples(40), deadline=None)
@given(st.sampled_from(STEPS), st.sampled_from(STEPS))
def test_every_pair_of_steps_in_order_is_accepted(a: float, b: float) -> None:
    low, high = min(a, b), max(a, b)
    rule = next(c.rule for c in parse_protocol(_with(low, high)).eligibility.criteria if c.id == "inc_edss")
    assert (rule.min_score, rule.max_score) == (low, high)  # type: ignore[union-attr]


@settings(max_examples=property_examples(40), deadline=None)
@given(st.floats(min_value=0, max_value=10, allow_nan=False).filter(lambda v: v not in STEPS))
def test_any_value_between_steps_is_refused(value: float) -> None:
    with pytest.raises(InputError):
        parse_protocol(_with(0.0, value))
    with pytest.raises(InputError):
        parse_protocol(_with(value, 10.0))
