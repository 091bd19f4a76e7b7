"""TS names how many subjects the study enrolled and which SDTM model and IG the datasets follow (D-19.258):
a reviewer reads TS first, and the export had neither ACTSUB nor SDTIGVER/SDTMVER."""

from __future__ import annotations

import pandas as pd


def _validated(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """`frames` (the example's, `example_frames`) after checking that TS has no validation finding."""
    from cartrial.cdisc.export import validate_all

    findings = validate_all(frames)
    assert findings["TS"] == [], findings["TS"][:3]
    return frames


def _ts(frames: dict[str, pd.DataFrame]) -> dict[str, list[str]]:
    ts = frames["TS"]
    out: dict[str, list[str]] = {}
    for code, value in zip(ts["TSPARMCD"], ts["TSVAL"], strict=True):
        out.setdefault(str(code), []).append(str(value))
    return out


def test_ts_actsub_is_the_number_of_enrolled_subjects(example_frames) -> None:  # type: ignore[no-untyped-def]
    frames = _validated(example_frames)
    ts = _ts(frames)
    enrolled = int((frames["ADSL"]["ENRLFL"] == "Y").sum())
    assert enrolled > 0
    assert ts["ACTSUB"] == [str(enrolled)]


def test_ts_names_the_sdtm_ig_and_model_versions(example_frames) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.define import IG_VERSIONS

    ts = _ts(_validated(example_frames))
    assert ts["SDTIGVER"] == [IG_VERSIONS["SDTMIG"]]
    # SDTMIG 3.4 implements SDTM v2.0
    assert ts["SDTMVER"] == ["2.0"]
    frame = example_frames["TS"]
    parms = dict(zip(frame["TSPARMCD"], frame["TSPARM"], strict=True))
    assert parms["ACTSUB"] == "Actual Number of Subjects"
    assert parms["SDTIGVER"] == "SDTM IG Version"
    assert parms["SDTMVER"] == "SDTM Version"


def test_define_names_the_origin_of_each_ts_value(exported) -> None:  # type: ignore[no-untyped-def]
    """D-19.260: TSVAL's value-level metadata said Protocol for every parameter, also for the values the
    export derives from the data (ACTSUB, SSTDTC) or assigns (DCUTDTC, DCUTDESC, SDTIGVER, SDTMVER)."""
    import xml.etree.ElementTree as ET

    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
    root = ET.parse(exported.out / "sdtm" / "define.xml").getroot()
    origins = {}
    for item in root.iter("{http://www.cdisc.org/ns/odm/v1.3}ItemDef"):
        oid = item.get("OID", "")
        if oid.startswith("IT.TS.TSVAL."):
            origin = item.find("def:Origin", ns)
            assert origin is not None
            origins[oid.removeprefix("IT.TS.TSVAL.")] = origin.get("Type")
    assert origins["ACTSUB"] == "Derived" and origins["SSTDTC"] == "Derived"
    for code in ("DCUTDTC", "DCUTDESC", "SDTIGVER", "SDTMVER"):
        assert origins[code] == "Assigned", code
    assert origins["TITLE"] == "Protocol" and origins["TPHASE"] == "Protocol"
    methods = {m.get("OID") for m in root.iter("{http://www.cdisc.org/ns/odm/v1.3}MethodDef")}
    refs = {
        r.get("ItemOID"): r.get("MethodOID")
        for vl in root.iter("{http://www.cdisc.org/ns/def/v2.1}ValueListDef")
        if vl.get("OID") == "VL.TS.TSVAL"
        for r in vl.findall("odm:ItemRef", ns)
    }
    for code in ("ACTSUB", "SSTDTC"):  # a derived value names its method
        assert refs[f"IT.TS.TSVAL.{code}"] in methods
    assert refs["IT.TS.TSVAL.TITLE"] is None


def test_ts_adapt_follows_the_protocol_dose_levels(exported, example_frames) -> None:  # type: ignore[no-untyped-def]
    """D-19.305: ADAPT (NCI C146995: a prospectively planned modification of the design based on interim
    data) is Y for the example's escalation over its dose levels and N for a protocol with one dose level,
    where no cohort's dose is assigned from the DLT data; it was Y whatever the protocol."""
    from cartrial.cdisc.sdtm import adaptive_design

    protocol = exported.snapshot.protocol
    assert len(protocol.dose_levels) >= 2
    assert _ts(_validated(example_frames))["ADAPT"] == ["Y"]
    single = protocol.model_copy(update={"dose_levels": protocol.dose_levels[:1]})
    assert adaptive_design(single) == "N"
    assert adaptive_design(protocol) == "Y"


def test_define_comments_the_rule_of_adapt_and_intmodel(exported) -> None:  # type: ignore[no-untyped-def]
    """D-19.305: INTMODEL is assigned by the export (the protocol has no such field) and ADAPT read from the
    protocol by a rule: define.xml says so, each value-level item naming its rule in a CommentDef."""
    import xml.etree.ElementTree as ET

    odm = "{http://www.cdisc.org/ns/odm/v1.3}"
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
    root = ET.parse(exported.out / "sdtm" / "define.xml").getroot()
    comments = {
        c.get("OID"): "".join(c.itertext()) for c in root.iter("{http://www.cdisc.org/ns/def/v2.1}CommentDef")
    }
    items = {i.get("OID"): i for i in root.iter(f"{odm}ItemDef")}
    for code, origin in (("ADAPT", "Protocol"), ("INTMODEL", "Assigned")):
        item = items[f"IT.TS.TSVAL.{code}"]
        assert item.find("def:Origin", ns).get("Type") == origin  # type: ignore[union-attr]
        text = comments[item.get("{http://www.cdisc.org/ns/def/v2.1}CommentOID")]
        assert "D-19.305" in text and len(text) > 40
    assert items["IT.TS.TSVAL.TITLE"].get("{http://www.cdisc.org/ns/def/v2.1}CommentOID") is None
