"""The EDSS domain option (D-15.11): EDSS and Kurtzke FS in QS (default, as issue 15 asks) or in RS (SDTMIG
3.4 clinical classification). Both choices carry the same records, values and derivations; only the domain
(and its variable prefix, labels and define.xml metadata) differs, and the dataset not chosen is not written.

The file, validation and reconciliation checks of both choices are the `exported_each` tests of
test_cdisc_files.py and test_cdisc_reconciliation.py."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cartrial.cdisc.spec import EDSS_DOMAINS, codelists, dataset_specs

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


def _as_rs(qs: pd.DataFrame) -> pd.DataFrame:
    frame = qs.rename(columns=lambda c: "RS" + c[2:] if c.startswith("QS") else c)
    frame["DOMAIN"] = "RS"
    return frame


def test_each_choice_writes_one_of_qs_and_rs(exported, exported_rs) -> None:  # type: ignore[no-untyped-def]
    assert "QS" in exported.frames and "RS" not in exported.frames
    assert "RS" in exported_rs.frames and "QS" not in exported_rs.frames
    qs_out, rs_out = exported.out / "sdtm", exported_rs.out / "sdtm"
    assert not (qs_out / "rs.xpt").exists() and (qs_out / "qs.xpt").is_file()
    assert not (rs_out / "qs.json").exists() and (rs_out / "rs.json").is_file()
    for export, domain in ((exported, "qs"), (exported_rs, "rs")):
        manifest = json.loads((export.out / "cdisc-export.json").read_text(encoding="utf-8"))
        assert manifest["options"]["edss_domain"] == domain
        assert {d["name"] for d in manifest["datasets"]} == set(export.frames)
        define = (export.out / "sdtm" / "define.xml").read_text(encoding="utf-8")
        other = "RS" if domain == "qs" else "QS"
        assert f'Name="{other}"' not in define and f"CL.{other}CAT" not in define
        assert f'Name="{domain.upper()}"' in define and f"CL.{domain.upper()}CAT" in define


def test_rs_holds_the_qs_records_with_the_rs_prefix(exported, exported_rs) -> None:  # type: ignore[no-untyped-def]
    """Same records, values, --SEQ, --DY, VISIT/VISITNUM, EPOCH and baseline flags; columns in RS order."""
    rs = exported_rs.frames["RS"]
    qs = _as_rs(exported.frames["QS"])
    assert len(rs) > 0 and (rs["RSLOBXFL"] == "Y").any() and set(rs["RSCAT"]) == {"EDSS", "KFSS"}
    assert set(qs.columns) == set(rs.columns)
    assert list(rs.columns) == [v.name for v in dataset_specs()["RS"].variables if v.name in rs.columns]
    pd.testing.assert_frame_equal(qs[list(rs.columns)], rs)


def test_every_other_dataset_is_the_same_for_both_choices(exported, exported_rs) -> None:  # type: ignore[no-untyped-def]
    """The option moves the EDSS/KFSS records and their supplemental qualifiers only: SV, the unscheduled
    visit numbers of the other domains and every ADaM dataset are unchanged but for ADEDSS naming its source
    domain (SRCDOM/SRCVAR QS or RS, same SRCSEQ; D-19.145); SUPPRS is SUPPQS with RDOMAIN RS and IDVAR RSSEQ
    (same --SEQ, since RS holds the QS records in the same order)."""
    others = set(exported.frames) - {"QS", "SUPPQS"}
    assert others == set(exported_rs.frames) - {"RS", "SUPPRS"}
    for name in sorted(others):
        frame = exported.frames[name]
        if name == "ADEDSS":
            frame = frame.copy()
            frame["SRCDOM"] = frame["SRCDOM"].replace("QS", "RS")
            frame["SRCVAR"] = frame["SRCVAR"].replace("QSSTRESN", "RSSTRESN")
        pd.testing.assert_frame_equal(frame, exported_rs.frames[name], obj=name)
    suppqs = exported.frames["SUPPQS"].copy()
    assert len(suppqs) > 0 and set(suppqs["RDOMAIN"]) == {"QS"} and set(suppqs["IDVAR"]) == {"QSSEQ"}
    suppqs["RDOMAIN"], suppqs["IDVAR"] = "RS", "RSSEQ"
    pd.testing.assert_frame_equal(suppqs, exported_rs.frames["SUPPRS"])


def test_the_qs_and_rs_specs_carry_the_same_variables() -> None:
    """One builder for both domains: every QS variable has its RS counterpart and back (SDTMIG 3.4 names,
    labels and order of each domain)."""
    specs = dataset_specs()
    qs, rs = specs["QS"], specs["RS"]

    def stems(spec):  # type: ignore[no-untyped-def]
        return {v.name[2:] if v.name.startswith(spec.name) else v.name for v in spec.variables}

    assert stems(qs) == stems(rs)
    assert [k.replace("QS", "RS") for k in qs.keys] == list(rs.keys)
    assert rs.testcd == "RSTESTCD" and rs.variable("RSTESTCD").label == "Assessment Short Name"
    assert rs.variable("RSCAT").label == "Category for Assessment"
    for v in rs.variables:
        q = qs.variable("QS" + v.name[2:] if v.name.startswith("RS") else v.name)
        assert (v.type, v.origin, v.vlm) == (q.type, q.origin, q.vlm), v.name
        assert (v.codelist or "").replace("RS", "QS") == (q.codelist or "").replace("RS", "QS"), v.name


def test_rs_codelists_are_the_qs_codelists_and_the_domain_code_is_cited() -> None:
    terms = codelists()
    for qs_name, rs_name in (("QSCAT", "RSCAT"), ("QSTESTCD", "RSTESTCD"), ("QSTEST", "RSTEST")):
        assert terms[rs_name].model_dump(exclude={"name"}) == terms[qs_name].model_dump(exclude={"name"})
    assert terms["RSCAT"].nci_code == "C118971"
    # CDISC non-extensible test-code/name codelists, extended by nothing (D-15.10, D-15.12)
    for name in ("RSTESTCD", "RSTEST"):
        assert not terms[name].extensible and not any(t.extended for t in terms[name].terms)
    domain = {t.value: t for t in terms["DOMAIN"].terms}
    assert domain["RS"].nci_code == "C107097" and domain["RS"].source == "PEDIA"
    assert domain["RS"].nci_code != domain["QS"].nci_code


def test_define_xml_of_the_rs_choice_describes_rs(exported_rs) -> None:  # type: ignore[no-untyped-def]
    from lxml import etree

    doc = etree.parse(str(exported_rs.out / "sdtm" / "define.xml"))
    text = etree.tostring(doc).decode()
    assert doc.find(".//odm:ItemGroupDef[@Name='RS']", NS) is not None
    assert doc.find(".//odm:ItemGroupDef[@Name='QS']", NS) is None
    assert "IT.QS." not in text and "VL.QS." not in text
    vl = doc.find(".//def:ValueListDef[@OID='VL.RS.RSORRES']", NS)
    codes = set(exported_rs.frames["RS"]["RSTESTCD"])
    assert vl is not None and len(vl.findall("odm:ItemRef", NS)) == len(codes)
    cat = doc.find(".//odm:CodeList[@OID='CL.RSCAT']", NS)
    assert cat is not None and cat.find("odm:Alias", NS).get("Name") == "C118971"
    domain = doc.find(".//odm:CodeList[@OID='CL.DOMAIN']", NS)
    values = [i.get("CodedValue") for i in domain]
    assert "RS" in values


def test_an_unknown_edss_domain_is_refused(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.export import check_options
    from cartrial.cdisc.sdtm import build_sdtm
    from cartrial.errors import ConfigurationError

    assert EDSS_DOMAINS == ("qs", "rs")
    with pytest.raises(ConfigurationError, match=r"--edss-domain: .ft. is not allowed; allowed: qs \| rs"):
        check_options("both", "3.4", "ft")
    with pytest.raises(ConfigurationError, match=r"allowed: qs \| rs"):
        build_sdtm(exported.snapshot, exported.analysis, edss_domain="QS")
