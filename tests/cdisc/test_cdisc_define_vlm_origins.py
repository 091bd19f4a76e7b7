"""define.xml value-level metadata states how each value was obtained as the data do (D-19.656).

Define-XML 2.1 (ItemRef): MethodOID is required when the item's def:Origin is Derived, in an ItemGroupDef
and in a ValueListDef alike. The value-level items of PP.PPORRES, AE.AETOXGR (the ASTCT grade), ADAE.ATOXGR,
DS.DSDECOD and SUPPAE.QVAL were Derived without a method. SUPPAE.QVAL's value-level items all took QVAL's
own origin (Derived), while the records' QORIG says AEREPGR and AEDLTFL are Collected (SDTMIG 3.4 §8.4.1:
QORIG is the origin of the value), and QVAL's variable-level method says "See value-level metadata per QNAM"
with no value-level method to see. Expected values come from the data written (QORIG) and the rule."""

from __future__ import annotations

import pytest
from lxml import etree

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


def _origins(document: etree._ElementTree) -> dict[str, str]:
    return {
        item.get("OID"): origin.get("Type")
        for item in document.findall(".//odm:ItemDef", NS)
        if (origin := item.find("def:Origin", NS)) is not None
    }


@pytest.mark.parametrize("standard", ["sdtm", "adam"])
def test_every_derived_item_ref_names_a_method(exported, standard: str) -> None:  # type: ignore[no-untyped-def]
    document = etree.parse(str(exported.out / standard / "define.xml"))
    origins = _origins(document)
    methods = {m.get("OID") for m in document.findall(".//odm:MethodDef", NS)}
    missing = [
        ref.get("ItemOID")
        for ref in document.findall(".//odm:ItemRef", NS)
        if origins.get(ref.get("ItemOID")) == "Derived" and ref.get("MethodOID") not in methods
    ]
    assert missing == []


def test_supplemental_values_carry_their_qorig(exported) -> None:  # type: ignore[no-untyped-def]
    document = etree.parse(str(exported.out / "sdtm" / "define.xml"))
    origins = _origins(document)
    methods = {m.get("OID"): "".join(m.itertext()) for m in document.findall(".//odm:MethodDef", NS)}
    where = {
        w.get("OID"): w.find(".//odm:CheckValue", NS).text
        for w in document.findall(".//def:WhereClauseDef", NS)
    }
    checked = 0
    expected = 0
    for name in ("SUPPAE", "SUPPQS"):
        frame = exported.frames[name]
        qorig = {str(q): set(frame.loc[frame["QNAM"] == q, "QORIG"]) for q in set(frame["QNAM"])}
        expected += len(qorig)
        vl = document.find(f".//def:ValueListDef[@OID='VL.{name}.QVAL']", NS)
        assert vl is not None
        for ref in vl.findall("odm:ItemRef", NS):
            qnam = where[ref.find("def:WhereClauseRef", NS).get("WhereClauseOID")]
            assert {origins[ref.get("ItemOID")]} == qorig[qnam], (name, qnam)
            if qorig[qnam] == {"Derived"}:
                assert "value-level" not in methods[ref.get("MethodOID")], (name, qnam)
            checked += 1
    assert checked == expected >= 4  # AEGRSCL AEREPGR AEDLTFL; the EDSS qualifiers the example has


def test_collected_supplemental_values_name_their_source(exported) -> None:  # type: ignore[no-untyped-def]
    """A Collected SUPP-- QVAL value-level item names the store column it was collected in, as its
    variable-level origin did before D-19.656 (SUPPQS.QVAL's source: edss.ambulation for EDSSAMB, …;
    SUPPAE: adverse_events.grade, adverse_events.dlt; D-19.662)."""
    document = etree.parse(str(exported.out / "sdtm" / "define.xml"))
    where = {
        w.get("OID"): w.find(".//odm:CheckValue", NS).text
        for w in document.findall(".//def:WhereClauseDef", NS)
    }
    items = {item.get("OID"): item for item in document.findall(".//odm:ItemDef", NS)}
    expected = {
        "EDSSAMB": "edss.ambulation",
        "EDSSWDST": "edss.walking_distance_m",
        "EDSSAID": "edss.assistance",
        "EDSSMETH": "edss.method",
        "AEREPGR": "adverse_events.grade",
        "AEDLTFL": "adverse_events.dlt",
    }
    seen = {}
    for name in ("SUPPAE", "SUPPQS"):
        vl = document.find(f".//def:ValueListDef[@OID='VL.{name}.QVAL']", NS)
        for ref in vl.findall("odm:ItemRef", NS):
            qnam = where[ref.find("def:WhereClauseRef", NS).get("WhereClauseOID")]
            origin = items[ref.get("ItemOID")].find("def:Origin", NS)
            if origin.get("Type") == "Collected":
                description = origin.find("odm:Description", NS)
                seen[qnam] = "" if description is None else "".join(description.itertext()).strip()
    assert {q: expected[q] for q in seen} == {q: s.split(" ")[0].rstrip(";,") for q, s in seen.items()}
    assert {"EDSSAMB", "AEREPGR", "AEDLTFL"} <= set(seen)


def test_the_full_adrs_crit1_reaches_define_xml_through_export(exported) -> None:  # type: ignore[no-untyped-def]
    """D-19.738/D-19.746: `export_cdisc` writes each shortened ADRS.CRIT1 in full in define.xml (value-level
    metadata by PARAMCD), the example's vision definition among them (its last clause, off-chart levels)."""
    adrs = exported.frames["ADRS"]
    shortened = set(adrs.loc[adrs["CRIT1"].str.endswith(" [... see define.xml]"), "PARAMCD"])
    assert shortened
    document = etree.parse(str(exported.out / "adam" / "define.xml"))
    texts = [t.text or "" for t in document.iter("{http://www.cdisc.org/ns/odm/v1.3}TranslatedText")]
    assert [t for t in texts if "in full:" in t and t.endswith("off-chart levels compared on their order")]
    values = document.xpath(
        "//def:ValueListDef[@OID='VL.ADRS.CRIT1']/odm:ItemRef",
        namespaces={"def": "http://www.cdisc.org/ns/def/v2.1", "odm": "http://www.cdisc.org/ns/odm/v1.3"},
    )
    assert len(values) == len(shortened)
