"""DSDECOD takes its codelist from DSCAT (SDTMIG 3.4 DS; D-15.9): value-level metadata in define.xml with a
WhereClause on DSCAT, validation against the codelist of each record's DSCAT; the declared CT package is the
one of def:Standard, of every CDISC codelist and of the docs (D-15.8)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cartrial.cdisc.spec import Variable, codelists, ct_package, dataset_specs
from cartrial.cdisc.validate import validate_dataset

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
DEF = "{http://www.cdisc.org/ns/def/v2.1}"

# SDTMIG 3.4 DS, DSDECOD: the codelist depends on DSCAT (independent of the shipped spec data)
SDTMIG_DSDECOD = {
    "DISPOSITION EVENT": "C66727",
    "PROTOCOL MILESTONE": "C114118",
    "OTHER EVENT": "C150811",
}


def _ds(rows: list[tuple[str, str]]) -> pd.DataFrame:
    """A DS frame of `rows` (DSCAT, DSDECOD), one subject per row, complete otherwise."""
    n = len(rows)
    return pd.DataFrame(
        {
            "STUDYID": ["S1"] * n,
            "DOMAIN": ["DS"] * n,
            "USUBJID": [f"S1-{i:03d}" for i in range(n)],
            "DSSEQ": [1.0] * n,
            "DSTERM": ["TERM"] * n,
            "DSDECOD": [decod for _, decod in rows],
            "DSCAT": [cat for cat, _ in rows],
            "EPOCH": ["SCREENING"] * n,
            "DSSTDTC": ["2021-01-05"] * n,
            "DSSTDY": [-3.0] * n,
        }
    )


def _codelist_findings(frame: pd.DataFrame) -> list[tuple[str, int | None, str]]:
    return [
        (f.variable, f.record, f.message)
        for f in validate_dataset(frame, dataset_specs()["DS"])
        if f.rule == "codelist"
    ]


def test_dsdecod_codelists_follow_dscat_as_in_sdtmig_3_4() -> None:
    variable = dataset_specs()["DS"].variable("DSDECOD")
    assert variable.codelist is None and variable.codelist_by == "DSCAT"
    terms = codelists()
    assert {cat: terms[name].nci_code for cat, name in variable.value_codelists} == SDTMIG_DSDECOD
    # every selector is a DSCAT term, and the milestone is no longer an NCOMPLT extension
    assert {cat for cat, _ in variable.value_codelists} == terms["DSCAT"].values()
    assert "INFORMED CONSENT OBTAINED" not in terms["NCOMPLT"].values()
    consent = next(t for t in terms["PROTMLST"].terms if t.value == "INFORMED CONSENT OBTAINED")
    assert consent.nci_code == "C16735" and not consent.extended and consent.source


def test_a_clean_ds_frame_has_no_codelist_finding() -> None:
    frame = _ds([("PROTOCOL MILESTONE", "INFORMED CONSENT OBTAINED"), ("DISPOSITION EVENT", "COMPLETED")])
    assert _codelist_findings(frame) == []


def test_a_term_of_the_other_dscat_codelist_is_refused_with_its_record() -> None:
    """COMPLETED is NCOMPLT, not Protocol Milestone; the consent milestone is not a disposition event."""
    frame = _ds(
        [
            ("PROTOCOL MILESTONE", "INFORMED CONSENT OBTAINED"),
            ("PROTOCOL MILESTONE", "COMPLETED"),
            ("DISPOSITION EVENT", "INFORMED CONSENT OBTAINED"),
        ]
    )
    found = _codelist_findings(frame)
    assert [(v, r) for v, r, _ in found] == [("DSDECOD", 3), ("DSDECOD", 2)]
    assert "NCOMPLT" in found[0][2] and "PROTMLST" in found[1][2]
    # the finding names the codelist, never the record's value
    assert all("COMPLETED" not in m and "INFORMED" not in m for _, _, m in found)


def test_a_dscat_without_a_codelist_and_an_empty_other_event_codelist_are_refused() -> None:
    frame = _ds([("DISPOSITION EVENT", "COMPLETED"), ("RANDOMIZATION", "RANDOMIZED"), ("OTHER EVENT", "X")])
    found = _codelist_findings(frame)
    assert sorted(r for v, r, _ in found if v == "DSDECOD") == [2, 3]
    assert any(v == "DSDECOD" and r == 2 and "selects no codelist" in m for v, r, m in found)
    assert any(v == "DSDECOD" and r == 3 and "OTHEVENT" in m for v, r, m in found)
    assert [(v, r) for v, r, _ in found if v == "DSCAT"] == [("DSCAT", 2)]  # DSCAT is non-extensible


def test_value_codelists_and_a_codelist_are_exclusive() -> None:
    with pytest.raises(ValueError, match="at once"):
        Variable(name="X", label="X", codelist="NY", codelist_by="Y", value_codelists={"A": "NY"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="go together"):
        Variable(name="X", label="X", codelist_by="Y")


def test_every_value_codelist_of_every_spec_is_shipped() -> None:
    terms = codelists()
    for spec in dataset_specs().values():
        for v in spec.variables:
            for _, name in v.value_codelists:
                assert name in terms, (spec.name, v.name, name)


def _dsdecod_value_lists(doc) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """DSCAT value -> NCI code of the codelist its DSDECOD value-level ItemDef refers to."""
    item = doc.find(".//odm:ItemDef[@OID='IT.DS.DSDECOD']", NS)
    assert item is not None and item.find("odm:CodeListRef", NS) is None
    vl_oid = item.find("def:ValueListRef", NS).get("ValueListOID")
    vl = doc.find(f".//def:ValueListDef[@OID='{vl_oid}']", NS)
    seen = {}
    for ref in vl.findall("odm:ItemRef", NS):
        wc_oid = ref.find("def:WhereClauseRef", NS).get("WhereClauseOID")
        check = doc.find(f".//def:WhereClauseDef[@OID='{wc_oid}']/odm:RangeCheck", NS)
        assert check.get(f"{DEF}ItemOID") == "IT.DS.DSCAT" and check.get("Comparator") == "EQ"
        category = check.find("odm:CheckValue", NS).text
        vl_item = doc.find(f".//odm:ItemDef[@OID='{ref.get('ItemOID')}']", NS)
        cl_oid = vl_item.find("odm:CodeListRef", NS).get("CodeListOID")
        codelist = doc.find(f".//odm:CodeList[@OID='{cl_oid}']", NS)
        seen[category] = codelist.findall("odm:Alias", NS)[-1].get("Name")
    return seen


def test_define_xml_has_the_dsdecod_value_list_by_dscat(exported) -> None:  # type: ignore[no-untyped-def]
    from lxml import etree

    doc = etree.parse(str(exported.out / "sdtm" / "define.xml"))
    categories = set(exported.frames["DS"]["DSCAT"])
    assert "PROTOCOL MILESTONE" in categories
    assert _dsdecod_value_lists(doc) == {c: SDTMIG_DSDECOD[c] for c in categories}
    consent = doc.find(".//odm:CodeList[@OID='CL.PROTMLST']/odm:CodeListItem", NS)
    assert consent.get("CodedValue") == "INFORMED CONSENT OBTAINED"
    assert consent.get(f"{DEF}ExtendedValue") is None
    assert consent.find("odm:Alias", NS).get("Name") == "C16735"


def test_define_xml_of_both_dscat_categories_validates_against_the_xsd() -> None:
    """A DS with a milestone and a disposition event: one value-level entry per DSCAT, each with its codelist,
    and the document stays valid Define-XML 2.1."""
    import odmlib
    from lxml import etree

    from cartrial.cdisc.define import build_define

    frame = _ds([("PROTOCOL MILESTONE", "INFORMED CONSENT OBTAINED"), ("DISPOSITION EVENT", "COMPLETED")])
    document = build_define(
        "SDTMIG",
        [dataset_specs()["DS"]],
        {"DS": frame},
        study_id="S1",
        study_title="t",
        created="2026-01-01T00:00:00",
        version="0",
    )
    doc = etree.fromstring(document).getroottree()
    xsd = Path(odmlib.__file__).parent / "schemas" / "define" / "2.1" / "define2-1-0.xsd"
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    assert schema.validate(doc), [str(e) for e in schema.error_log][:5]
    assert _dsdecod_value_lists(doc) == {
        "DISPOSITION EVENT": "C66727",
        "PROTOCOL MILESTONE": "C114118",
    }


def test_declared_ct_package_is_the_one_of_define_codelists_and_docs(exported) -> None:  # type: ignore[no-untyped-def]
    from lxml import etree

    packages = ct_package()
    assert list(packages) == ["SDTM"]
    version = packages["SDTM"]
    for name, cl in codelists().items():
        if not cl.sponsor_defined:
            assert cl.ct_version == version, name
    for standard in ("sdtm", "adam"):
        doc = etree.parse(str(exported.out / standard / "define.xml"))
        ct = [s for s in doc.findall(".//def:Standard", NS) if s.get("Type") == "CT"]
        assert [(s.get("PublishingSet"), s.get("Version")) for s in ct] == [
            ("SDTM", version.rsplit(" ", 1)[-1])
        ]
        oid = ct[0].get("OID")
        for codelist in doc.findall(".//odm:CodeList", NS):
            if codelist.get(f"{DEF}IsNonStandard") != "Yes":
                assert codelist.get(f"{DEF}StandardOID") == oid, codelist.get("OID")
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cdisc.md").read_text(encoding="utf-8")
    assert version in docs and "2015-12-18" not in docs


def test_the_car_t_dose_unit_is_the_cdisc_unit_term(exported) -> None:  # type: ignore[no-untyped-def]
    ex = exported.frames["EX"]
    units = set(ex.loc[ex["EXCAT"] == "CAR-T CELL INFUSION", "EXDOSU"])
    assert units == {"10^6/kg"}
    term = next(t for t in codelists()["UNIT"].terms if t.value == "10^6/kg")
    assert term.nci_code == "C198380" and not term.extended


@pytest.mark.parametrize("standard", ["sdtm", "adam"])
def test_each_value_list_hangs_on_its_variable_not_on_a_value_level_item(exported, standard: str) -> None:  # type: ignore[no-untyped-def]
    """def:ValueListRef belongs to the variable's ItemDef (IT.<dataset>.<variable>), which no value list
    references; a value-level ItemDef pointing at its own list would be circular."""
    from lxml import etree

    doc = etree.parse(str(exported.out / standard / "define.xml"))
    value_items = {r.get("ItemOID") for r in doc.findall(".//def:ValueListDef/odm:ItemRef", NS)}
    lists = doc.findall(".//def:ValueListDef", NS)
    assert lists
    for vl in lists:
        owners = [
            ref.getparent()
            for ref in doc.findall(".//odm:ItemDef/def:ValueListRef", NS)
            if ref.get("ValueListOID") == vl.get("OID")
        ]
        assert len(owners) == 1, vl.get("OID")
        owner = owners[0].get("OID")
        assert owner not in value_items and owner.count(".") == 2, (vl.get("OID"), owner)
        assert vl.get("OID") == "VL" + owner[2:]
