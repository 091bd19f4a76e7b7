"""PC and ADPC state a concentration unit in the one spelling the NCA, PP and ADPP use (D-19.759, D-19.760).

The review's case: the example study at cut-off 2022-03-20 with CT-005's car_transgene samples recorded in
"copies/µg  gDNA" (micro sign, two spaces) — the unit of the other subjects, spelt another way. Before:
PC wrote `ascii_text` of the unit only (µ as u, the two spaces kept), so PCSTRESU held "copies/ug  gDNA" and
"copies/ug gDNA" for one unit, ADPC had two PARAMs for one analyte, and PCSTRESU differed from the PP
PPSTRESU of the same profile's Cmax ("copies/ug gDNA", the NCA's spelling). By hand: the standard unit is
"copies/ug gDNA" (µ as u, runs of spaces as one); the original unit is the collected one, in ASCII.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from cartrial.analysis import analyse
from cartrial.cdisc.adam import study_codelists
from cartrial.cdisc.export import build_all, validate_all
from cartrial.store.snapshot import StudySnapshot, read_snapshot

SPELT = "copies/\u00b5g  gDNA"


@pytest.fixture(scope="module")
def changed(example_sqlite_template: Path) -> StudySnapshot:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    pk = snapshot.tables["pk_samples"].copy()
    pk.loc[(pk["subject_id"] == "CT-005") & (pk["analyte"] == "car_transgene"), "unit"] = SPELT
    return dataclasses.replace(snapshot, tables={**snapshot.tables, "pk_samples": pk})


@pytest.fixture(scope="module")
def frames(changed: StudySnapshot) -> dict[str, pd.DataFrame]:
    return build_all(changed, analyse(changed))


def test_pc_standard_unit_is_the_one_spelling_and_the_original_unit_as_collected(
    frames: dict[str, pd.DataFrame],
) -> None:
    """Failing first: PCSTRESU {'copies/ug  gDNA', 'copies/ug gDNA'} for the transgene."""
    pc = frames["PC"]
    transgene = pc[pc["PCSTRESU"].str.startswith("copies")]
    assert set(transgene["PCSTRESU"]) == {"copies/ug gDNA"}
    ct005 = transgene["USUBJID"].str.endswith("CT-005")
    assert ct005.any()
    # as collected, in ASCII, spaces at the ends dropped and runs collapsed (D-19.760; review round 3: the
    # doubled space is no term of the extensible codelist PKUNIT, and the export refused the study)
    assert set(transgene.loc[ct005, "PCORRESU"]) == {"copies/ug gDNA"}
    assert set(transgene.loc[~ct005, "PCORRESU"]) == {"copies/ug gDNA"}


def test_adpc_has_one_param_per_analyte_and_pc_units_are_pp_units(frames: dict[str, pd.DataFrame]) -> None:
    """Failing first: two ADPC PARAMs for the transgene; PCSTRESU not among the PP PPSTRESU."""
    adpc = frames["ADPC"]
    params = adpc.groupby("PARAMCD")["PARAM"].nunique()
    assert (params == 1).all(), params.to_dict()
    assert set(adpc.loc[adpc["AVALU"].str.startswith("copies"), "AVALU"]) == {"copies/ug gDNA"}
    pp = frames["PP"]
    assert set(frames["PC"]["PCSTRESU"]) == set(pp.loc[pp["PPTESTCD"] == "CMAX", "PPSTRESU"])


def test_pc_with_a_unit_spelt_with_extra_spaces_passes_validation(
    changed: StudySnapshot, frames: dict[str, pd.DataFrame]
) -> None:
    """Failing first (review round 3): PCORRESU "copies/ug  gDNA" (two spaces) is outside the extensible
    codelist PKUNIT, so the export refused the study ("PC.PCORRESU record 104: [codelist] ...")."""
    assert validate_all(frames, study_codelists(changed.protocol))["PC"] == []
