"""Ambulation score and walking distance as supplemental qualifiers of the EDSS record (D-15.12): SUPPQS with
QS (default) and SUPPRS with RS (option rs), so that no non-extensible CDISC codelist is extended.

Expected values are read from the snapshot tables (the store) and the shipped codelists, never from the code
under test; the example study has no walking distances, so one test adds some to a copy of its snapshot."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from cartrial.cdisc.spec import EDSS_DOMAINS, Codelist, Term, codelists, dataset_specs

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
QUALIFIED = {
    "ambulation": "EDSSAMB",
    "walking_distance_m": "EDSSWDST",
    "assistance": "EDSSAID",
    "method": "EDSSMETH",
}


def _domain(frames: dict[str, pd.DataFrame]) -> str:
    (domain,) = {"QS", "RS"} & set(frames)
    return domain


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value).strip()


def _check_every_value_is_a_qualifier(frames: dict[str, pd.DataFrame], store: pd.DataFrame) -> int:
    """Every non-blank ambulation/walking value of the store is one SUPP-- record whose IDVARVAL is the --SEQ
    of the EDSS0101 record of the same assessment (same subject, --REFID of the store record, same date);
    no other SUPP-- record. Returns the number of values checked."""
    p = _domain(frames)
    parent, supp = frames[p], frames[f"SUPP{p}"]
    study = str(parent["STUDYID"].iloc[0])
    by_seq = parent.set_index(["USUBJID", parent[f"{p}SEQ"].astype(int).astype(str)])
    assert by_seq.index.is_unique
    keyed = supp.set_index(["USUBJID", "IDVARVAL", "QNAM"])
    assert keyed.index.is_unique
    checked = 0
    for row in store.to_dict("records"):
        for column, qnam in QUALIFIED.items():
            value = _text(row[column])
            if not value:
                continue
            usubjid = f"{study}-{row['subject_id']}"
            edss = parent[
                (parent["USUBJID"] == usubjid) & (parent[f"{p}REFID"] == f"EDSS-{row['record_id']}")
            ]
            edss = edss[edss[f"{p}TESTCD"] == "EDSS0101"]
            assert len(edss) == 1, (row["record_id"], column)
            seq = str(int(edss[f"{p}SEQ"].iloc[0]))
            record = keyed.loc[(usubjid, seq, qnam)]
            assert record["QVAL"] == value and record["IDVAR"] == f"{p}SEQ" and record["RDOMAIN"] == p
            target = by_seq.loc[(usubjid, seq)]
            assert target[f"{p}TESTCD"] == "EDSS0101"
            assert target[f"{p}DTC"][:10] == str(row["assessed_at"])[:10]
            assert record["QORIG"] == "Collected" and record["QEVAL"] == target[f"{p}EVAL"]
            checked += 1
    assert len(supp) == checked
    return checked


def test_no_edss_or_kfss_test_code_outside_its_cdisc_codelist(exported_each) -> None:  # type: ignore[no-untyped-def]
    """--TESTCD/--TEST of QS or RS are CDISC terms (with a C-code) of the EDSS/KFSS codelists, which are
    non-extensible and extended by nothing."""
    frames = exported_each.frames
    p = _domain(frames)
    terms = codelists()
    for variable in (f"{p}TESTCD", f"{p}TEST"):
        codelist = terms[dataset_specs()[p].variable(variable).codelist or ""]
        assert not codelist.extensible and not any(t.extended for t in codelist.terms)
        cdisc = {t.value for t in codelist.terms if t.nci_code and t.source}
        written = set(frames[p][variable])
        assert written and written <= cdisc, written - cdisc
    assert not {"EDSSAMB", "EDSSWDST"} & set(frames[p][f"{p}TESTCD"])
    assert set(frames[p][f"{p}TESTCD"]) >= {"EDSS0101", "KFSS101"}


def test_every_ambulation_value_is_a_qualifier_of_its_edss_record(exported_each) -> None:  # type: ignore[no-untyped-def]
    store = exported_each.snapshot.tables["edss"]
    n = _check_every_value_is_a_qualifier(exported_each.frames, store)
    assert n == int((store["ambulation"].map(_text) != "").sum()) > 0


def test_walking_distances_are_kept_as_qualifiers_in_both_domains(exported) -> None:  # type: ignore[no-untyped-def]
    """Walking distances on some assessments (the example has none): each one is an EDSSWDST qualifier of
    its EDSS record, as written in the store, under both EDSS domain options; every dataset validates."""
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, validate_all

    edss = exported.snapshot.tables["edss"].copy()
    rows = edss.index[::3]
    edss["walking_distance_m"] = edss["walking_distance_m"].astype(object)
    edss.loc[rows, "walking_distance_m"] = [("350" if i % 2 else "75.5") for i in range(len(rows))]
    # walking assistance and the recording method on some of them (the Kurtzke variant's fields)
    for column in ("assistance", "method"):
        edss[column] = edss[column].astype(object)
    edss.loc[rows[::2], "assistance"] = "unilateral"
    edss.loc[rows[::2], "method"] = "kurtzke"
    snapshot = dataclasses.replace(exported.snapshot, tables={**exported.snapshot.tables, "edss": edss})
    analysis = analyse(snapshot)
    for domain in EDSS_DOMAINS:
        frames = build_all(snapshot, analysis, {"TJH": "China"}, edss_domain=domain)
        supp = frames[f"SUPP{domain.upper()}"]
        assert (supp["QNAM"] == "EDSSWDST").sum() == len(rows)
        assert (supp["QNAM"] == "EDSSAID").sum() == (supp["QNAM"] == "EDSSMETH").sum() == len(rows[::2])
        assert set(supp.loc[supp["QNAM"] == "EDSSWDST", "QLABEL"]) == {
            next(t.decode for t in codelists()["QNAM_EDSS"].terms if t.value == "EDSSWDST")
        }
        _check_every_value_is_a_qualifier(frames, edss)
        findings = validate_all(frames)
        assert all(v == [] for v in findings.values()), {k: v[:2] for k, v in findings.items() if v}


def test_a_qualifier_without_its_edss_record_is_a_located_error(exported) -> None:  # type: ignore[no-untyped-def]
    """An ambulation score whose assessment has no EDSS0101 record is never dropped: a located error naming
    the table, the field and the record id (not the value). The analysis layer cannot produce this (its EDSS
    derivation fails on an incomplete assessment), so the parent record is removed by hand here."""
    from cartrial.cdisc.sdtm import edss_qualifier_values
    from cartrial.errors import InputError

    qs = exported.frames["QS"]
    target = qs.index[qs["QSTESTCD"] == "EDSS0101"][3]
    record = qs.loc[target, "QSREFID"].removeprefix("EDSS-")
    orphaned = qs.drop(index=target).reset_index(drop=True)
    ctx = SimpleNamespace(analysis=exported.analysis)
    assert len(edss_qualifier_values(ctx, qs, "QS")) == len(qs)  # type: ignore[arg-type]
    with pytest.raises(InputError) as caught:
        edss_qualifier_values(ctx, orphaned, "QS")  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith("edss, ambulation: ") and f"record(s) {record} " in message
    assert "SUPPQS" in message and "(got" not in message


def test_check_flags_an_extension_of_a_non_extensible_codelist(exported, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`--check` on a QS file carrying the former sponsor test code EDSSAMB reports it as a value outside
    the non-extensible codelist (QSTESTCD and QSTEST), with the record."""
    from cartrial.cdisc.export import check_folder
    from cartrial.cdisc.transport import write_dataset_json_frame

    qs = exported.frames["QS"]
    bad = qs.copy()
    first = bad.index[bad["QSTESTCD"] == "EDSS0101"][0]
    bad.loc[first, ["QSTESTCD", "QSTEST"]] = ["EDSSAMB", "EDSS01-Ambulation Score"]
    spec = dataset_specs()["QS"]
    for frame, folder in ((qs, "good"), (bad, "bad")):
        (tmp_path / folder).mkdir()
        write_dataset_json_frame(
            frame, spec, tmp_path / folder / "qs.json", study_oid="S", created="2026-01-01T00:00:00"
        )
    assert check_folder(tmp_path / "good")[0] == []
    findings, _ = check_folder(tmp_path / "bad")
    located = {(f.variable, f.record) for f in findings if f.rule == "codelist"}
    assert located == {("QSTESTCD", first + 1), ("QSTEST", first + 1)}
    assert all("non-extensible codelist" in f.message for f in findings if f.rule == "codelist")


def test_the_loader_refuses_an_extension_of_a_non_extensible_codelist() -> None:
    body = {
        "name": "XXTESTCD",
        "label": "Test Code",
        "nci_code": "C1",
        "code_source": "PEDIA",
        "ct_version": "SDTM CT 2025-03-28",
        "source": "test",
        "terms": [Term(value="A", nci_code="C2", source="PEDIA"), Term(value="B", extended=True)],
    }
    assert Codelist.model_validate({**body, "extensible": True}).values() == {"A", "B"}
    with pytest.raises(ValueError, match="sponsor extension in a non-extensible codelist"):
        Codelist.model_validate({**body, "extensible": False})


@pytest.mark.parametrize("domain", ["QS", "RS"])
def test_define_xml_describes_the_supp_dataset_and_its_qualifiers(exported, exported_rs, domain: str) -> None:  # type: ignore[no-untyped-def]
    """ItemGroupDef SUPPQS/SUPPRS for the parent domain, value-level metadata on QVAL per QNAM written (origin
    Collected), and the sponsor QNAM codelist flagged def:IsNonStandard with the labels as decodes."""
    from lxml import etree

    export = exported if domain == "QS" else exported_rs
    doc = etree.parse(str(export.out / "sdtm" / "define.xml"))
    group = doc.find(f".//odm:ItemGroupDef[@Name='SUPP{domain}']", NS)
    assert group is not None and group.get("Domain") == domain
    vl = doc.find(f".//def:ValueListDef[@OID='VL.SUPP{domain}.QVAL']", NS)
    written = set(export.frames[f"SUPP{domain}"]["QNAM"])
    assert vl is not None and len(vl.findall("odm:ItemRef", NS)) == len(written)
    for ref in vl.findall("odm:ItemRef", NS):
        item = doc.find(f".//odm:ItemDef[@OID='{ref.get('ItemOID')}']", NS)
        assert item is not None and item.find("def:Origin", NS).get("Type") == "Collected"
    cl = doc.find(".//odm:CodeList[@OID='CL.QNAM_EDSS']", NS)
    assert cl is not None and cl.get(f"{{{NS['def']}}}IsNonStandard") == "Yes"
    decodes = {i.get("CodedValue"): i.find("odm:Decode/odm:TranslatedText", NS).text for i in cl}
    shipped = {t.value: t.decode for t in codelists()["QNAM_EDSS"].terms}
    assert {k: v for k, v in decodes.items() if k} == shipped
