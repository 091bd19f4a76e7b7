"""ADRS CRIT1 fits the 200-character XPT v5 cell by a documented rule (D-19.738), never a cut inside a phrase.

The example's vision responder definition (analysis responders_summary.description) is 258 characters; CRIT1
was its first 200 characters, ending "... (0.02 logMAR) on the" (a sentence cut mid-phrase, read as the whole
criterion). Expected by hand from the rule: the whole leading clauses before a "; " or ", " outside
parentheses that fit with the marker " [...]" (200 characters at most).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.analysis import analyse
from cartrial.cdisc.adam import SHORTENED, shortened_text
from cartrial.cdisc.export import build_all
from cartrial.store.snapshot import read_snapshot

VISION = (
    "vision improved: logMAR fell by >= threshold_logmar (default 0.2 = 2 lines) in at least one eye whose "
    "baseline logMAR was >= min_baseline_logmar [...]"
)


@pytest.fixture(scope="module")
def adrs(example_sqlite_template: Path) -> pd.DataFrame:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    return build_all(snapshot, analyse(snapshot))["ADRS"]


def test_a_long_definition_is_shortened_at_a_clause_and_marked(adrs: pd.DataFrame) -> None:
    crit = set(adrs.loc[adrs["PARAMCD"].str.startswith("VA"), "CRIT1"]) or set(
        adrs.loc[adrs["PARAM"].str.startswith("Visual"), "CRIT1"]
    )
    assert crit == {VISION}
    assert adrs["CRIT1"].str.len().max() <= 200


def test_a_definition_that_fits_is_unchanged() -> None:
    text = "walking improved: timed 25-foot walk (mean of two trials) >= 20 % faster than baseline"
    assert shortened_text(text) == text


@given(st.text(alphabet="ab ;,()", max_size=400))
def test_shortened_text_fits_and_is_a_marked_prefix(text: str) -> None:
    out = shortened_text(text)
    assert len(out) <= 200
    if out != text.strip():
        assert out.endswith(SHORTENED)
        assert text.strip().startswith(out[: -len(SHORTENED)])
