"""A user's own text that reads like a shortened-text marker ("see define.xml") never blocks define.xml
(D-19.738 as amended by D-19.746): only the variables `cartrial.cdisc.adam` shortens (ADRS.CRIT1,
ADRS.NEVALRS) promise a full text there. Before: an AETERM "see define.xml" stopped the export with an
InternalError naming no code."""

from __future__ import annotations

import pandas as pd

from cartrial.cdisc.adam import SHORTENABLE
from cartrial.cdisc.define import build_define
from cartrial.cdisc.spec import dataset_specs


def test_an_aeterm_of_see_define_xml_exports() -> None:
    spec = dataset_specs()["AE"]
    row = {v.name: "" for v in spec.variables}
    row.update({"STUDYID": "S", "DOMAIN": "AE", "USUBJID": "S-1", "AETERM": "see define.xml"})
    frame = pd.DataFrame([row], dtype=object)
    xml = build_define(
        "SDTMIG",
        [spec],
        {"AE": frame},
        study_id="S",
        study_title="T",
        created="2026-01-01T00:00:00",
        version="0",
    )
    assert b'ItemDef OID="IT.AE.AETERM"' in xml


def test_the_shortenable_variables_are_the_adrs_texts() -> None:
    assert {("ADRS", "CRIT1"), ("ADRS", "NEVALRS")} == SHORTENABLE
