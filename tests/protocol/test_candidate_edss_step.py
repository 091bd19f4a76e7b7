"""A candidate's EDSS is checked by the one EDSS-step rule (D-19.691): the EDSS has the steps 0, 1.0, 1.5,
…, 9.5, 10 (Kurtzke 1983; docs/science/neuro-outcomes.md §1) — there is no 0.5."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial.errors import InputError
from cartrial.neuro.disability import edss_step_problem
from cartrial.protocol import load_candidate
from cartrial.protocol.edss_steps import EDSS_STEPS


def _load(tmp_path: Path, score: str) -> object:
    path = tmp_path / "c.yaml"
    path.write_text(f"id: X\nedss:\n  score: {score}\n")
    return load_candidate(path)


@pytest.mark.parametrize("score", ["0.5", "3.7", "10.5", "-1"])
def test_a_score_that_is_not_an_edss_step_is_refused(tmp_path: Path, score: str) -> None:
    with pytest.raises(InputError) as caught:
        _load(tmp_path, score)
    problem = caught.value.problems[0]
    assert problem.field == "edss.score" and problem.line == 3
    text = str(caught.value)
    assert "EDSS" in text and "0, 1.0, 1.5, ..., 9.5, 10" in text and "no 0.5" in text
    assert "multiple of" not in text and "greater than" not in text  # not pydantic's wording
    assert text.count(f"(got {score})") == 1


@pytest.mark.parametrize("score", ["0", "1.0", "1.5", "4.0", "9.5", "10"])
def test_an_edss_step_is_accepted(tmp_path: Path, score: str) -> None:
    assert _load(tmp_path, score).edss.score == float(score)  # type: ignore[attr-defined]


def test_one_step_set() -> None:
    """The steps by hand: 0, then 1.0 to 10 by 0.5 (19 values), 20 in all."""
    by_hand = (
        0,
        1.0,
        1.5,
        2.0,
        2.5,
        3.0,
        3.5,
        4.0,
        4.5,
        5.0,
        5.5,
        6.0,
        6.5,
        7.0,
        7.5,
        8.0,
        8.5,
        9.0,
        9.5,
        10,
    )
    assert by_hand == EDSS_STEPS
    assert all(edss_step_problem("edss", s) is None for s in EDSS_STEPS)
    assert edss_step_problem("edss", 0.5) is not None
