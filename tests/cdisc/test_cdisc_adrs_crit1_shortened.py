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

import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.cdisc.adam import GENERIC, SHORTENED, build_adrs, shortened_text
from cartrial.cdisc.define import build_define
from cartrial.cdisc.spec import dataset_specs
from cartrial.errors import InternalError

VISION = (
    "vision improved: logMAR fell by >= threshold_logmar (default 0.2 = 2 lines) in at least one eye whose "
    "baseline logMAR was >= min_baseline_logmar [... see define.xml]"
)
FULL_VISION = (
    "vision improved: logMAR fell by >= threshold_logmar (default 0.2 = 2 lines) in at least one eye whose "
    "baseline logMAR was >= min_baseline_logmar, each exactly or in whole letters (0.02 logMAR) on the chart "
    "(D-19.683); off-chart levels compared on their order"
)


class _Dataset:
    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table


class _Analysis:
    """The two analysis datasets `build_adrs` reads, built by hand (the example's vision endpoint)."""

    def __init__(self) -> None:
        summary = pd.DataFrame({"endpoint": ["vision_response"], "description": [FULL_VISION]})
        by_subject = pd.DataFrame(
            {
                "endpoint": ["vision_response"] * 2,
                "definition": ["logmar_decrease_0_2"] * 2,
                "subject_id": ["CT-001", "CT-002"],
                "evaluable": [True, False],
                "responder": [True, None],
                "reason": ["", "no baseline"],
            }
        )
        self.datasets = {
            "responders_summary": _Dataset(summary),
            "responders_by_subject": _Dataset(by_subject),
        }


@pytest.fixture(scope="module")
def adrs() -> pd.DataFrame:
    adsl = pd.DataFrame(
        {
            "STUDYID": ["S"] * 2,
            "USUBJID": ["S-CT-001", "S-CT-002"],
            "SUBJID": ["CT-001", "CT-002"],
            "TRT01A": ["DL1"] * 2,
            "TRT01AN": [1.0] * 2,
        }
    )
    params = {"vision_response": ("VARESP", "Visual acuity responder")}
    return build_adrs(_Analysis(), adsl, dataset_specs()["ADRS"], params)


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


def test_define_refuses_a_shortened_crit1_whose_full_text_was_lost(adrs: pd.DataFrame) -> None:
    """D-19.738 as amended (D-19.746): the full texts ride in `DataFrame.attrs`, which a concat or merge
    drops; a CRIT1 that says "see define.xml" with no full text to give is refused, never a define.xml that
    points at nothing (before: written without the value-level metadata)."""
    lost = adrs.copy()
    lost.attrs = {}
    with pytest.raises(InternalError, match="VARESP"):
        build_define(
            "ADaMIG",
            [dataset_specs()["ADRS"]],
            {"ADRS": lost},
            study_id="S",
            study_title="T",
            created="2026-01-01T00:00:00",
            version="0",
        )
