"""Every TS parameter the export writes has its origin: read as it is from a protocol field (Protocol), or
derived or assigned with its rule in define.xml (D-19.331). RLPSCRIT (relapse criteria) was written with
TSVAL's origin, Protocol, although its text is the export's wording of the diagnosis condition, not a
protocol field; the cut-off and version parameters were Assigned with no rule (D-19.384)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cartrial.cdisc.sdtm import TS_PROTOCOL_VALUES, TS_VALUE_ORIGINS

ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
DEF = "{http://www.cdisc.org/ns/def/v2.1}"


def test_every_ts_parameter_written_has_one_origin(exported) -> None:  # type: ignore[no-untyped-def]
    written = set(exported.frames["TS"]["TSPARMCD"])
    assert "RLPSCRIT" in written
    assert not TS_PROTOCOL_VALUES & set(TS_VALUE_ORIGINS)
    assert written <= TS_PROTOCOL_VALUES | set(TS_VALUE_ORIGINS)


def test_every_ts_value_not_from_the_protocol_states_its_rule(exported) -> None:  # type: ignore[no-untyped-def]
    root = ET.parse(exported.out / "sdtm" / "define.xml").getroot()
    comments = {c.get("OID"): "".join(c.itertext()) for c in root.iter(f"{DEF}CommentDef")}
    methods = {m.get("OID"): "".join(m.itertext()) for m in root.iter(f"{ODM}MethodDef")}
    refs = {r.get("ItemOID"): r for r in root.iter(f"{ODM}ItemRef")}
    items = {i.get("OID"): i for i in root.iter(f"{ODM}ItemDef")}
    for code in sorted(set(exported.frames["TS"]["TSPARMCD"])):
        item = items[f"IT.TS.TSVAL.{code}"]
        origin = item.find(f"{DEF}Origin")
        assert origin is not None, code
        if code in TS_PROTOCOL_VALUES:
            assert origin.get("Type") == "Protocol", code
            continue
        assert origin.get("Type") == TS_VALUE_ORIGINS[code][0], code
        if origin.get("Type") == "Derived":
            rule = methods[refs[f"IT.TS.TSVAL.{code}"].get("MethodOID")]
        else:
            rule = comments[item.get(f"{DEF}CommentOID")]
        assert len(rule) > 40, code


def test_rlpscrit_is_assigned_from_the_diagnosis_condition(exported) -> None:  # type: ignore[no-untyped-def]
    root = ET.parse(exported.out / "sdtm" / "define.xml").getroot()
    comments = {c.get("OID"): "".join(c.itertext()) for c in root.iter(f"{DEF}CommentDef")}
    item = next(i for i in root.iter(f"{ODM}ItemDef") if i.get("OID") == "IT.TS.TSVAL.RLPSCRIT")
    origin = item.find(f"{DEF}Origin")
    assert origin is not None and origin.get("Type") == "Assigned"
    assert "diagnosis" in comments[item.get(f"{DEF}CommentOID")]


def test_narms_is_derived_from_the_dose_levels(exported) -> None:  # type: ignore[no-untyped-def]
    """NARMS is a count the export makes (the protocol's dose levels, one TA arm each), not a protocol field
    read as it is: origin Derived with its method (D-19.331, D-19.384)."""
    root = ET.parse(exported.out / "sdtm" / "define.xml").getroot()
    methods = {m.get("OID"): "".join(m.itertext()) for m in root.iter(f"{ODM}MethodDef")}
    refs = {r.get("ItemOID"): r for r in root.iter(f"{ODM}ItemRef")}
    item = next(i for i in root.iter(f"{ODM}ItemDef") if i.get("OID") == "IT.TS.TSVAL.NARMS")
    origin = item.find(f"{DEF}Origin")
    assert origin is not None and origin.get("Type") == "Derived"
    assert "dose level" in methods[refs["IT.TS.TSVAL.NARMS"].get("MethodOID")]
    ts, ta = exported.frames["TS"], exported.frames["TA"]
    narms = ts.loc[ts["TSPARMCD"] == "NARMS", "TSVAL"]
    assert list(narms) == [str(ta["ARMCD"].nunique())]
