"""PC keeps the result as collected (PCORRES/PCORRESU) and states it in the standard unit (PCSTRESN,
PCSTRESC, PCLLOQ in PCSTRESU); ADPC has one unit per PARAMCD (D-19.781, D-19.783).

The case: the example study at cut-off 2022-03-20 with CT-005's car_t_cells samples recorded in cells/mL
(values and LLOQ × 1000), and, second, CT-005's car_transgene in copies/mL (another dimension). By hand from
src/cartrial/examples/ct103a-nmosd/study/pk_samples.csv: CT-005's day-4 CAR-T cells 58.67 cells/uL, LLOQ 0.5,
recorded as 58670 cells/mL, LLOQ 500; 58670 cells/mL = 58.67 cells/uL (1 mL = 1000 uL). Before: PCSTRESN
58670 with PCSTRESU cells/mL, and ADPC's CARTCELL carried two PARAMs ("CAR-T Cells (cells/uL)" and
"(cells/mL)"); with the transgene in copies/mL, CARTRGN carried two PARAMs of two dimensions.
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


def _changed(snapshot: StudySnapshot, analyte: str, unit: str) -> StudySnapshot:
    pk = snapshot.tables["pk_samples"].copy()
    mask = (pk["subject_id"] == "CT-005") & (pk["analyte"] == analyte)
    pk.loc[mask, "unit"] = unit
    for column in ("value", "lloq"):
        numbers = pd.to_numeric(pk.loc[mask, column], errors="coerce") * 1000
        pk.loc[mask, column] = [f"{v:g}" if pd.notna(v) else "" for v in numbers]
    return dataclasses.replace(snapshot, tables={**snapshot.tables, "pk_samples": pk})


@pytest.fixture(scope="module")
def base(example_sqlite_template: Path) -> StudySnapshot:
    return read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))


@pytest.fixture(scope="module")
def per_ml(base: StudySnapshot) -> tuple[StudySnapshot, dict[str, pd.DataFrame]]:
    changed = _changed(base, "car_t_cells", "cells/mL")
    return changed, build_all(changed, analyse(changed))


def test_pc_original_as_collected_standard_in_cells_per_ul(
    per_ml: tuple[StudySnapshot, dict[str, pd.DataFrame]],
) -> None:
    """Failing first: PCSTRESN 58670, PCSTRESU cells/mL."""
    pc = per_ml[1]["PC"]
    cells = pc[(pc["PCTESTCD"] == "CARTCELL") & pc["USUBJID"].str.endswith("CT-005")]
    day4 = cells[cells["PCORRES"] == "58670"]
    assert len(day4) == 1
    row = day4.iloc[0]
    assert (row["PCORRESU"], row["PCSTRESU"], row["PCSTRESN"], row["PCSTRESC"]) == (
        "cells/mL",
        "cells/uL",
        58.67,
        "58.67",
    )
    assert row["PCLLOQ"] == 0.5
    blq = cells[cells["PCORRES"] == "<500"]
    assert len(blq) and set(blq["PCSTRESC"]) == {"<0.5"}
    assert set(pc.loc[pc["PCTESTCD"] == "CARTCELL", "PCSTRESU"]) == {"cells/uL"}


def test_adpc_one_param_per_paramcd_and_the_values_of_the_unchanged_study(
    base: StudySnapshot, per_ml: tuple[StudySnapshot, dict[str, pd.DataFrame]]
) -> None:
    """Failing first: CARTCELL with two PARAMs. By hand: every AVAL equals the unchanged study's (the
    recorded values are the cells/uL ones × 1000, converted back by ÷ 1000)."""
    adpc = per_ml[1]["ADPC"]
    assert (adpc.groupby("PARAMCD")["PARAM"].nunique() == 1).all()
    assert (adpc.groupby("PARAMCD")["AVALU"].nunique() == 1).all()
    unchanged = build_all(base, analyse(base))["ADPC"]
    pd.testing.assert_series_equal(adpc["AVAL"], unchanged["AVAL"], rtol=1e-12)
    assert validate_all(per_ml[1], study_codelists(per_ml[0].protocol))["ADPC"] == []
    assert validate_all(per_ml[1], study_codelists(per_ml[0].protocol))["PC"] == []


def test_a_second_dimension_is_its_own_adpc_parameter(base: StudySnapshot) -> None:
    """Failing first: CARTRGN with PARAMs "(copies/ug gDNA)" and "(copies/mL)". By hand: CT-005's
    transgene in copies/mL (no factor to copies/ug gDNA) is CARTRGNV, one unit."""
    changed = _changed(base, "car_transgene", "copies/mL")
    frames = build_all(changed, analyse(changed))
    adpc = frames["ADPC"]
    assert (adpc.groupby("PARAMCD")["PARAM"].nunique() == 1).all()
    ct005 = adpc["USUBJID"].str.endswith("CT-005") & adpc["PARAMCD"].str.startswith("CARTRGN")
    assert set(adpc.loc[ct005, "PARAMCD"]) == {"CARTRGNV"}
    assert set(adpc.loc[ct005, "AVALU"]) == {"copies/mL"}
    assert set(adpc.loc[~ct005 & adpc["PARAMCD"].str.startswith("CARTRGN"), "PARAMCD"]) == {"CARTRGN"}
    assert validate_all(frames, study_codelists(changed.protocol))["ADPC"] == []


def test_a_mix_with_a_unit_of_no_known_dimension_is_refused_naming_the_test() -> None:
    """CARTCELL in cells/uL and 'CAR+ cells/uL' (no known dimension): ADPC could give one PARAMCD two units;
    refused, naming the test and what is allowed, quoting no recorded unit (D-12.2)."""
    from cartrial.cdisc.adam import adpc_paramcd
    from cartrial.errors import InputError

    pc = pd.DataFrame({"PCTESTCD": ["CARTCELL", "CARTCELL"], "PCSTRESU": ["cells/uL", "CAR+ cells/uL"]})
    with pytest.raises(InputError) as refused:
        adpc_paramcd(pc)
    text = str(refused.value)
    assert "CARTCELL" in text and "cells/uL (its cells per volume)" in text and "CAR+" not in text


def test_adpc_paramcd_does_not_depend_on_the_data_cut() -> None:
    """Failing first: a cut with the transgene in copies/mL only was CARTRGN (AVALU copies/mL), the next cut
    with one copies/ug gDNA sample made the same records CARTRGNV. By the rule (D-19.783): the declared
    dimension (copies/ug gDNA, `PK_ANALYTE_UNITS`) keeps PCTESTCD, copies per volume is always CARTRGNV."""
    from cartrial.cdisc.adam import adpc_paramcd

    only_volume = pd.DataFrame({"PCTESTCD": ["CARTRGN"] * 2, "PCSTRESU": ["copies/mL"] * 2})
    assert adpc_paramcd(only_volume).tolist() == ["CARTRGNV", "CARTRGNV"]
    only_mass = pd.DataFrame({"PCTESTCD": ["CARTRGN"], "PCSTRESU": ["copies/ug gDNA"]})
    assert adpc_paramcd(only_mass).tolist() == ["CARTRGN"]


def test_adpc_refusal_names_the_records_at_fault() -> None:
    """The refusal names the PC records (PCREFID) in the unit it cannot export, never the unit (D-12.2)."""
    from cartrial.cdisc.adam import adpc_paramcd
    from cartrial.errors import InputError

    pc = pd.DataFrame({"PCTESTCD": ["CARTCELL", "CARTCELL"], "PCSTRESU": ["cells/uL", "CAR+ cells/uL"]})
    with pytest.raises(InputError) as refused:
        adpc_paramcd(pc, ["PK-1", "PK-2"])
    text = str(refused.value)
    assert "PK-2" in text and "PK-1" not in text and "CAR+" not in text


def _convertible_units() -> list[str]:
    """Every canonical spelling the analysis converts, listed by hand from the SI prefixes (units.py's
    table): cells and copies per L, dL, mL, uL, nL, mm3 (= uL), and copies per g, mg, ug, ng, pg gDNA. The
    lowercase litre and mm^3 are converted too but PCORRESU writes them as these terms
    (`test_pcorresu_is_the_terms_spelling`)."""
    volumes = ["L", "dL", "mL", "uL", "nL", "mm3"]
    masses = ["g", "mg", "ug", "ng", "pg"]
    return (
        [f"cells/{v}" for v in volumes]
        + [f"copies/{v}" for v in volumes]
        + [f"copies/{m} gDNA" for m in masses]
    )


@pytest.mark.parametrize("unit", _convertible_units())
def test_every_unit_the_analysis_converts_is_a_pkunit_term(unit: str) -> None:
    """Failing first for cells/mm3, cells/L, copies/pg gDNA etc.: PC.PCORRESU in a unit the analysis
    converts failed the export's CT validation. Each is a sponsor extension (`extended`) of PKUNIT."""
    from cartrial.cdisc.spec import codelists
    from cartrial.kinetics.units import standard_conc_unit

    assert standard_conc_unit(unit).dimension  # the analysis converts it
    terms = {t.value: t for t in codelists()["PKUNIT"].terms}
    assert unit in terms
    assert terms[unit].extended or terms[unit].nci_code


def test_pkunit_holds_every_spelling_of_the_units_table() -> None:
    """The codelist and `cartrial.kinetics.units` cannot drift: every spelling of each dimension is a term."""
    from cartrial.cdisc.spec import codelists
    from cartrial.kinetics.units import STANDARD_CONC_UNITS, unit_spellings

    terms = {t.value for t in codelists()["PKUNIT"].terms}
    assert [u for d in STANDARD_CONC_UNITS for u in unit_spellings(d) if u not in terms] == []


def test_each_accepted_second_dimension_has_its_adpc_parameter() -> None:
    """The edit check accepts a second dimension (`SECOND_DIMENSIONS`) only where ADPC exports it."""
    from cartrial.cdisc.adam import ADPC_DIMENSION_PARAMS
    from cartrial.kinetics.units import SECOND_DIMENSIONS
    from cartrial.protocol.lab_tests import PK_ANALYTES

    for analyte, dimensions in SECOND_DIMENSIONS.items():
        for dimension in dimensions:
            assert (PK_ANALYTES[analyte][0], dimension) in ADPC_DIMENSION_PARAMS


@pytest.mark.parametrize(
    ("recorded", "unit", "expected"),
    [
        ("1.005", "copies/ng gDNA", "1005"),  # 1.005 × 1000, by hand (binary: 1004.9999999999999)
        ("12345.6", "cells/mL", "12.3456"),  # 12345.6 / 1000 (binary: 12.345600000000001)
        ("2500", "cells/mL", "2.5"),
        ("0.5", "copies/L", "0.0005"),
    ],
)
def test_pcstresc_moves_the_decimal_point_of_pcorres(recorded: str, unit: str, expected: str) -> None:
    """Failing first: PCSTRESC of a converted value was the float product's text, with binary noise."""
    import numpy as np

    from cartrial.cdisc.sdtm import pc_standard_text

    assert pc_standard_text([recorded], [unit], [False], [""]).tolist() == [expected]
    # a BLQ sample: "<" and its LLOQ, shifted the same way
    assert pc_standard_text([""], [unit], [True], [recorded]).tolist() == ["<" + expected]
    assert pc_standard_text([""], [unit], [True], [""], np.array([np.nan])).tolist() == ["BLQ"]


@pytest.mark.parametrize(
    ("recorded", "term"),
    [
        ("cells/ml", "cells/mL"),
        ("cells/ul", "cells/uL"),
        ("cells/mm^3", "cells/mm3"),
        ("copies/dl", "copies/dL"),
    ],
)
def test_pcorresu_is_the_terms_spelling(recorded: str, term: str) -> None:
    """A case or notation variant of a converted unit is written in its PKUNIT term's spelling (the variants
    are no terms: the litre is L, mm^3 is mm3); the unit itself is unchanged (same factor)."""
    from cartrial.cdisc.spec import codelists
    from cartrial.kinetics.units import canonical_conc_unit, standard_conc_unit

    assert canonical_conc_unit(recorded) == term
    assert standard_conc_unit(recorded) == standard_conc_unit(term)
    terms = {t.value for t in codelists()["PKUNIT"].terms}
    assert term in terms and recorded not in terms
    assert canonical_conc_unit("copies/ug") == "copies/ug"  # no known dimension: as spelt


def test_pcstresn_is_the_number_pcstresc_writes(base: StudySnapshot) -> None:
    """Failing first: PCSTRESN was the float product (1.005 × 1000 = 1004.9999999999999, 12345.6 / 1000 =
    12.345600000000001) while PCSTRESC moved the decimal point ("1005", "12.3456"); ADPC AVAL inherited it.
    By hand: 1.005 copies/ng gDNA is 1005 copies/ug gDNA, 12345.6 cells/mL is 12.3456 cells/uL; a sample
    recorded in "cells/ml" is PCORRESU "cells/mL"."""
    pk = base.tables["pk_samples"].copy()
    ct005 = pk["subject_id"] == "CT-005"
    blq = pk["blq"].astype(str).str.lower() == "true"
    cell = pk.index[ct005 & (pk["analyte"] == "car_t_cells") & ~blq][0]
    gene = pk.index[ct005 & (pk["analyte"] == "car_transgene") & ~blq][0]
    pk.loc[cell, ["value", "unit"]] = ["12345.6", "cells/ml"]
    pk.loc[gene, ["value", "unit"]] = ["1.005", "copies/ng gDNA"]
    changed = dataclasses.replace(base, tables={**base.tables, "pk_samples": pk})
    frames = build_all(changed, analyse(changed))
    pc, adpc = frames["PC"], frames["ADPC"]
    for recorded, unit, text, number in [
        ("12345.6", "cells/mL", "12.3456", 12.3456),
        ("1.005", "copies/ng gDNA", "1005", 1005.0),
    ]:
        row = pc[pc["PCORRES"] == recorded]
        assert len(row) == 1
        assert row.iloc[0]["PCORRESU"] == unit
        assert row.iloc[0]["PCSTRESC"] == text
        assert row.iloc[0]["PCSTRESN"] == number == float(row.iloc[0]["PCSTRESC"])
        aval = adpc.loc[adpc["AVALC"] == text, "AVAL"]
        assert len(aval) >= 1 and (aval == number).all()
    converted = pc["PCORRESU"] != pc["PCSTRESU"]
    numeric = converted & pc["PCSTRESN"].notna()
    assert (pc.loc[numeric, "PCSTRESC"].astype(float) == pc.loc[numeric, "PCSTRESN"]).all()


def test_adpc_refusal_does_not_name_an_analyte_outside_pk_analytes() -> None:
    """A PCTESTCD that is no code of PK_ANALYTES is the recorded analyte upper-cased (sdtm.build_pc): a
    record value (D-12.2). Failing first: the message quoted it. Refused by location (D-19.887)."""
    from cartrial.cdisc.adam import adpc_paramcd
    from cartrial.errors import InputError

    pc = pd.DataFrame({"PCTESTCD": ["SECRETAB", "SECRETAB"], "PCSTRESU": ["cells/uL", "CAR+ cells/uL"]})
    with pytest.raises(InputError) as refused:
        adpc_paramcd(pc, ["PK-7", "PK-9"])
    text = str(refused.value)
    assert "SECRETAB" not in text and "CAR+" not in text
    assert "PK-9" in text  # the sample in the unit of no known dimension


def test_pc_gives_each_test_code_one_standard_unit(base: StudySnapshot) -> None:
    """SDTMIG v3.4 §4.5.1: a --TESTCD has one standard unit. Failing first: with CT-005's transgene in
    copies/mL, PC's CARTRGN carried PCSTRESU copies/ug gDNA and copies/mL (D-19.888). By hand: CT-005's
    transgene samples are CARTRGNV "CAR Transgene Copies per Volume" in copies/mL, every other transgene
    sample CARTRGN in copies/ug gDNA; PP's PPCAT of CT-005's transgene profile is CARTRGNV, and ADPC and ADPP
    code it as before (CARTRGNV, TV...)."""
    changed = _changed(base, "car_transgene", "copies/mL")
    frames = build_all(changed, analyse(changed))
    pc = frames["PC"]
    assert (pc.groupby("PCTESTCD")["PCSTRESU"].nunique() == 1).all()
    assert (pc.groupby("PCTESTCD")["PCTEST"].nunique() == 1).all()
    ct005 = pc["USUBJID"].str.endswith("CT-005") & pc["PCTESTCD"].str.startswith("CARTRGN")
    assert set(pc.loc[ct005, "PCTESTCD"]) == {"CARTRGNV"}
    assert set(pc.loc[ct005, "PCTEST"]) == {"CAR Transgene Copies per Volume"}
    assert set(pc.loc[ct005, "PCSTRESU"]) == {"copies/mL"}
    others = ~pc["USUBJID"].str.endswith("CT-005") & pc["PCTESTCD"].str.startswith("CARTRGN")
    assert set(pc.loc[others, "PCTESTCD"]) == {"CARTRGN"}
    pp = frames["PP"]
    transgene = pp["USUBJID"].str.endswith("CT-005") & pp["PPCAT"].str.startswith("CARTRGN")
    assert set(pp.loc[transgene, "PPCAT"]) == {"CARTRGNV"}
    adpc = frames["ADPC"]
    assert set(
        adpc.loc[
            adpc["USUBJID"].str.endswith("CT-005") & adpc["PARAMCD"].str.startswith("CARTRGN"), "PARAMCD"
        ]
    ) == {"CARTRGNV"}
    adpp = frames["ADPP"]
    assert set(
        adpp.loc[
            adpp["USUBJID"].str.endswith("CT-005") & adpp["PARCAT1"].str.startswith("CARTRGN"), "PARAMCD"
        ].str[:2]
    ) == {"TV"}
    findings = validate_all(frames, study_codelists(changed.protocol))
    assert findings["PC"] == [] and findings["PP"] == [] and findings["ADPP"] == []
