"""ADRS CRIT1 fits the 200-character XPT v5 cell by a documented rule (D-19.738), never a cut inside a phrase.

The example's vision responder definition (analysis responders_summary.description) is 258 characters; CRIT1
was its first 200 characters, ending "... (0.02 logMAR) on the" (a sentence cut mid-phrase, read as the whole
criterion). Expected by hand from the rule: the whole leading clauses before a "; " or ", " outside
parentheses that fit with the marker " [... see define.xml]" (200 characters at most), and the full text
in define.xml (value-level metadata of ADRS.CRIT1 by PARAMCD). A text with no clause boundary in reach is
"see define.xml", never a fragment cut at a blank (D-19.738 as amended; was: cut at the last blank, marker
" [...]", the full text nowhere in the submission). ADRS.NEVALRS follows the same rule (was cut at 200).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.analysis import analyse
from cartrial.cdisc.adam import GENERIC, SHORTENED, shortened_text
from cartrial.cdisc.define import build_define
from cartrial.cdisc.export import build_all
from cartrial.cdisc.spec import dataset_specs
from cartrial.store.snapshot import read_snapshot

VISION = (
    "vision improved: logMAR fell by >= threshold_logmar (default 0.2 = 2 lines) in at least one eye whose "
    "baseline logMAR was >= min_baseline_logmar [... see define.xml]"
)
FULL_VISION = (
    "vision improved: logMAR fell by >= threshold_logmar (default 0.2 = 2 lines) in at least one eye whose "
    "baseline logMAR was >= min_baseline_logmar, each exactly or in whole letters (0.02 logMAR) on the chart "
    "(D-19.683); off-chart levels compared on their order"
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
    if out != text.strip() and out != GENERIC:
        assert out.endswith(SHORTENED)
        kept = out[: -len(SHORTENED)]
        assert text.strip().startswith(kept)
        assert text.strip()[len(kept) :].lstrip(" ;,") != text.strip()[len(kept) :]  # cut at a clause


def test_no_clause_boundary_gives_the_generic_text_not_a_fragment() -> None:
    text = " ".join(["word"] * 60)  # 299 characters, blanks only
    assert shortened_text(text) == "see define.xml"


def test_define_xml_holds_the_full_crit1(adrs: pd.DataFrame) -> None:
    xml = build_define(
        "ADaMIG",
        [dataset_specs()["ADRS"]],
        {"ADRS": adrs},
        study_id="S",
        study_title="T",
        created="2026-01-01T00:00:00",
        version="0",
    )
    texts = [
        e.text or "" for e in ET.fromstring(xml).iter("{http://www.cdisc.org/ns/odm/v1.3}TranslatedText")
    ]
    assert [t for t in texts if t.endswith(f"in full: {FULL_VISION}")]
    assert b'ValueListDef OID="VL.ADRS.CRIT1"' in xml
