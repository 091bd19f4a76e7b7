"""D-19.331: the TS values the export writes as constants (STYPE, INTTYPE, TBLIND, TCNTRL, RANDOM,
SEXPOP) were origin Protocol in define.xml, although the protocol has no field for any of them
(cartrial.protocol.model: no study type, intervention type, blinding, control, randomisation; its
eligibility has no rule type that restricts sex). As D-19.305 did for INTMODEL, each is now origin Assigned
with a CommentDef giving the rule behind the constant; the values read from the protocol keep origin
Protocol."""

from __future__ import annotations

import xml.etree.ElementTree as ET

ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
DEF = "{http://www.cdisc.org/ns/def/v2.1}"
CONSTANTS = ("STYPE", "INTTYPE", "TBLIND", "TCNTRL", "RANDOM", "SEXPOP")


def test_constant_ts_values_are_assigned_with_their_rule(exported) -> None:  # type: ignore[no-untyped-def]
    root = ET.parse(exported.out / "sdtm" / "define.xml").getroot()
    comments = {c.get("OID"): "".join(c.itertext()) for c in root.iter(f"{DEF}CommentDef")}
    items = {i.get("OID"): i for i in root.iter(f"{ODM}ItemDef")}
    for code in CONSTANTS:
        item = items[f"IT.TS.TSVAL.{code}"]
        origin = item.find(f"{DEF}Origin")
        assert origin is not None and origin.get("Type") == "Assigned", code
        text = comments[item.get(f"{DEF}CommentOID")]
        assert "D-19.331" in text and len(text) > 40, code
    # read from the protocol (NARMS, a count of the dose levels, is Derived: D-19.384)
    for code in ("TITLE", "TPHASE", "AGEMIN", "AGEMAX"):
        origin = items[f"IT.TS.TSVAL.{code}"].find(f"{DEF}Origin")
        assert origin is not None and origin.get("Type") == "Protocol", code


def test_the_protocol_has_no_field_for_the_constant_values() -> None:
    """The reason they are Assigned: no protocol key could give them (a field added later should be read)."""
    from cartrial.protocol.eligibility import EligibilityRule
    from cartrial.protocol.model import Product, Protocol, Study

    keys = set(Protocol.model_fields) | set(Study.model_fields) | set(Product.model_fields)
    for word in ("type", "blind", "mask", "control", "random", "sex"):
        assert not any(word in key for key in keys), word
    rule_types = str(EligibilityRule)
    assert "sex" not in rule_types.lower() and "gender" not in rule_types.lower()
