"""define.xml lists the value-level metadata its specs declare (Define-XML 2.1 def:ValueListDef; D-19.889).

Every BDS spec set `vlm: true` on PARAMCD, its test-code variable, and on no result variable; define.xml
writes a ValueListDef for a result variable per test code, so ADPP (and ADLB, ADPC, ADRS, ADTTE, ADEDSS,
SDTM FT and OE) had none although their specs said value-level metadata. The expectations are the rule's:
a spec that flags value-level metadata flags a result variable, and define.xml holds the ValueListDef of
ADPP.AVAL with one item per PARAMCD in the data, each referenced by the AVAL ItemRef.
"""

from __future__ import annotations

import pandas as pd
import pytest
from lxml import etree
from tests.cdisc.conftest import Exported

from cartrial.cdisc.spec import DatasetSpec, dataset_specs

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


def test_every_spec_with_value_level_metadata_flags_a_result_variable() -> None:
    for spec in dataset_specs().values():
        flagged = {v.name for v in spec.variables if v.vlm}
        if spec.testcd and flagged:
            assert flagged - {spec.testcd}, spec.name


def test_a_spec_flagging_only_its_test_code_is_refused() -> None:
    spec = dataset_specs()["ADPP"]
    data = spec.model_dump(by_alias=True)
    data["variables"] = [{**v, "vlm": v["name"] == "PARAMCD"} for v in data["variables"]]
    with pytest.raises(ValueError, match="result variable"):
        DatasetSpec.model_validate(data)


@pytest.mark.parametrize(("dataset", "variable"), [("ADPP", "AVAL"), ("ADPC", "AVAL"), ("ADLB", "AVAL")])
def test_define_lists_bds_values_per_paramcd(exported: Exported, dataset: str, variable: str) -> None:
    document = etree.parse(str(exported.out / "adam" / "define.xml"))
    frame = exported.frames[dataset]
    value_list = document.find(f".//def:ValueListDef[@OID='VL.{dataset}.{variable}']", NS)
    assert value_list is not None
    refs = value_list.findall("odm:ItemRef", NS)
    assert refs
    codes = set()
    for ref in refs:
        oid = ref.find("def:WhereClauseRef", NS).get("WhereClauseOID")
        clause = document.find(f".//def:WhereClauseDef[@OID='{oid}']", NS)
        check = clause.find("odm:RangeCheck", NS)
        assert check.get("{http://www.cdisc.org/ns/def/v2.1}ItemOID") == f"IT.{dataset}.PARAMCD"
        codes |= {v.text for v in check.findall("odm:CheckValue", NS)}
    assert codes == set(frame["PARAMCD"].astype(str))
    item = document.find(
        f".//odm:ItemGroupDef[@OID='IG.{dataset}']/odm:ItemRef[@ItemOID='IT.{dataset}.{variable}']", NS
    )
    assert item is not None
    item_def = document.find(f".//odm:ItemDef[@OID='IT.{dataset}.{variable}']", NS)
    assert item_def.find("def:ValueListRef", NS).get("ValueListOID") == f"VL.{dataset}.{variable}"


def _whole(values: pd.Series) -> bool:
    """Every value a whole number (by hand: float.is_integer), the Define-XML integer DataType."""
    numbers = pd.to_numeric(values, errors="coerce").dropna().tolist()
    return bool(numbers) and all(float(x).is_integer() for x in numbers)


@pytest.mark.parametrize("dataset", ["ADRS", "ADEDSS", "ADTTE", "ADPP"])
def test_value_level_aval_types_follow_each_paramcds_values(exported: Exported, dataset: str) -> None:
    """Define-XML 2.x: a value-level item's DataType is its values' and the variable's DataType covers every
    item's. Failing first: every value-level AVAL item was float while the variable was integer when all its
    values were whole (IT.ADRS.AVAL integer, IT.ADRS.AVAL.<code> float; D-19.892)."""
    document = etree.parse(str(exported.out / "adam" / "define.xml"))
    frame = exported.frames[dataset]
    variable_type = document.find(f".//odm:ItemDef[@OID='IT.{dataset}.AVAL']", NS).get("DataType")
    item_types = {}
    for code in sorted(set(frame["PARAMCD"].astype(str))):
        item = document.find(f".//odm:ItemDef[@OID='IT.{dataset}.AVAL.{code}']", NS)
        assert item is not None, code
        item_types[code] = item.get("DataType")
        values = frame.loc[frame["PARAMCD"].astype(str) == code, "AVAL"]
        if pd.to_numeric(values, errors="coerce").notna().any():
            assert item_types[code] == ("integer" if _whole(values) else "float"), code
        else:  # no value: the variable's type
            assert item_types[code] == variable_type, code
    assert variable_type == ("integer" if _whole(frame["AVAL"]) else "float")
    if variable_type == "integer":  # an integer variable covers only integer items
        assert set(item_types.values()) == {"integer"}
    else:
        assert set(item_types.values()) <= {"integer", "float"}
