"""Controlled terminology shipped in `ct/codelists.yaml`: every CDISC C-code cites the public CT copy it was
checked against or is flagged unverified (D-15.6); emitted values stay inside their codelists; collected unit
synonyms become UNIT submission values (D-15.7)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from cartrial.cdisc.common import UNIT_SYNONYMS, cdisc_unit
from cartrial.cdisc.sdtm import LB_TESTS, PP_PARAMS
from cartrial.cdisc.spec import Codelist, Term, codelists, ct_sources, dataset_specs

C_CODE = re.compile(r"^C\d{3,7}$")


def test_every_cdisc_code_is_cited_or_flagged_unverified() -> None:
    sources = ct_sources()
    assert sources and all(text.strip() for text in sources.values())
    # each copy is identified by a commit or a URL, so the check can be repeated
    assert all(re.search(r"commit [0-9a-f]{40}|https?://|data-standards\.md", t) for t in sources.values())
    for name, cl in codelists().items():
        assert "[U]" not in cl.source + cl.note, (
            f"{name}: free-text [U] marker instead of the unverified flag"
        )
        if cl.sponsor_defined:
            assert not any(t.nci_code for t in cl.terms), f"{name}: sponsor codelist with NCI term codes"
            continue
        if cl.unverified:
            assert not cl.code_source, f"{name}: flagged unverified yet cites a source"
        else:
            assert cl.nci_code and C_CODE.match(cl.nci_code), name
            assert cl.code_source in sources, f"{name}: unknown source {cl.code_source!r}"
        for t in cl.terms:
            if t.extended:
                continue
            if t.unverified:
                assert not t.source, f"{name}/{t.value}: flagged unverified yet cites a source"
            else:
                assert t.nci_code and C_CODE.match(t.nci_code), f"{name}/{t.value}"
                assert t.source in sources, f"{name}/{t.value}: unknown source {t.source!r}"


def test_an_uncited_cdisc_code_is_refused_when_loaded() -> None:
    with pytest.raises(ValueError, match="not flagged unverified"):
        Codelist(name="X", label="X", nci_code="C1", ct_version="SDTM CT", source="s", terms=())
    with pytest.raises(ValueError, match="AAA"):
        Codelist(
            name="X",
            label="X",
            nci_code="C1",
            code_source="MSG",
            ct_version="SDTM CT",
            source="s",
            terms=(Term(value="AAA", nci_code="C2"),),
        )


@pytest.mark.parametrize(("code_list", "name_list"), [("LBTESTCD", "LBTEST"), ("PPTESTCD", "PPTEST")])
def test_paired_test_codes_and_names_share_their_concept_codes(code_list: str, name_list: str) -> None:
    """In CDISC CT a --TESTCD term and its --TEST term are one NCI concept (one C-code)."""
    pairs = (
        [(cd, name) for cd, name, _ in LB_TESTS.values()]
        if code_list == "LBTESTCD"
        else [(cd, name) for cd, name, _ in PP_PARAMS.values()]
    )
    by_code = {t.value: t for t in codelists()[code_list].terms}
    by_name = {t.value: t for t in codelists()[name_list].terms}
    for cd, name in pairs:
        assert cd in by_code and name in by_name, (cd, name)
        assert by_code[cd].nci_code and by_code[cd].nci_code == by_name[name].nci_code, (cd, name)
    codes = [by_code[cd].nci_code for cd, _ in pairs]
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize(
    ("code_list", "name_list"),
    [("QSTESTCD", "QSTEST"), ("OETESTCD", "OETEST"), ("FTTESTCD", "FTTEST"), ("TSPARMCD", "TSPARM")],
)
def test_test_code_and_name_codelists_carry_the_same_concepts(code_list: str, name_list: str) -> None:
    """Each CDISC test code and its test name are one concept: the two codelists cite the same C-codes, each
    once, and the pairs written by the exporters agree (D-15.10)."""
    terms = codelists()

    def cdisc_codes(name: str) -> list[str]:
        return [t.nci_code for t in terms[name].terms if not t.extended and t.nci_code]

    codes, names = cdisc_codes(code_list), cdisc_codes(name_list)
    assert codes and len(set(codes)) == len(codes)
    assert sorted(codes) == sorted(names)


def test_ft_writes_the_cdisc_t25fw_test(exported) -> None:  # type: ignore[no-untyped-def]
    ft = exported.frames["FT"]
    by_code = {t.value: t.nci_code for t in codelists()["FTTESTCD"].terms}
    by_name = {t.value: t.nci_code for t in codelists()["FTTEST"].terms}
    pairs = set(zip(ft["FTTESTCD"], ft["FTTEST"], strict=True))
    assert pairs and all(by_code[cd] == by_name[name] for cd, name in pairs)
    assert codelists()["FTTESTCD"].nci_code == "C115398" and not codelists()["FTTESTCD"].extensible


def test_unit_synonyms_map_to_cited_unit_terms() -> None:
    unit = {t.value: t for t in codelists()["UNIT"].terms}
    for synonym, value in UNIT_SYNONYMS.items():
        assert synonym not in unit, f"{synonym} is a synonym, not a UNIT submission value"
        assert value in unit and unit[value].source, value
    converted = cdisc_unit(pd.Series(["sec", "/mm3", "pg/mL", "g/L", None, ""]))
    assert list(converted) == ["s", "10^6/L", "ng/L", "g/L", None, ""]


def test_no_emitted_value_is_outside_its_codelist(exported) -> None:  # type: ignore[no-untyped-def]
    specs, terms = dataset_specs(), codelists()
    checked = 0
    for name, frame in exported.frames.items():
        spec = specs.get(name)
        if spec is None:
            continue
        for variable in spec.variables:
            if variable.value_codelists and variable.name in frame:  # DSDECOD by DSCAT (D-15.9)
                by = variable.codelist_by or ""
                for selector, value in zip(frame[by], frame[variable.name], strict=True):
                    name_ = variable.codelist_for(str(selector))
                    assert name_ and value in terms[name_].values(), f"{name}.{variable.name}: {value}"
                    checked += 1
            if not variable.codelist or variable.name not in frame:
                continue
            values = frame[variable.name]
            texts = values.astype(str)[values.notna() & (values.astype(str) != "")]
            if variable.type == "Num":
                allowed = {float(v) for v in terms[variable.codelist].values()}
                outside = {v for v in pd.to_numeric(texts) if float(v) not in allowed}
            else:
                outside = set(texts) - terms[variable.codelist].values()
            assert not outside, f"{name}.{variable.name}: {sorted(outside)} outside {variable.codelist}"
            checked += len(texts)
    assert checked > 0
    # the corrected representations are the ones written
    ft = exported.frames["FT"]
    assert set(ft.loc[ft["FTORRESU"] != "", "FTORRESU"]) == {"s"}
    lb_units = set(np.concatenate([exported.frames["LB"]["LBORRESU"], exported.frames["LB"]["LBSTRESU"]]))
    assert not lb_units & set(UNIT_SYNONYMS)
