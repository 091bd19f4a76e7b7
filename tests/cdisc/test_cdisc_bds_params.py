"""BDS parameters: PARAM and PARAMCD one-to-one within a dataset, PARAMCD name-like (D-19.824, D-19.825).

ADaMIG v1.1/v1.3 §3.3.4 (BDS): PARAMCD is the short name of PARAM, the two one-to-one within a dataset;
PARAMCD at most 8 characters, starting with a letter, letters, digits and underscores only (it may become a
variable name after transposition). Before: ADPP.PARAMCD was PP.PPTESTCD, so CMAX of the CAR-T cells
("Max Conc (cells/uL)") and of the CAR transgene ("Max Conc (copies/ug gDNA)") shared one PARAMCD with two
PARAMs, and PARCAT1 (the analyte) varied within a PARAMCD. The expectations below are the rule's: each
PARAMCD has one PARAM, each PARAM one PARAMCD, whatever the analytes and units of the study.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tests.cdisc.conftest import Exported
from tests.conftest import property_examples

from cartrial.cdisc.adam import build_adpp
from cartrial.cdisc.spec import Codelist, DatasetSpec, Term, codelists, dataset_specs
from cartrial.cdisc.validate import Finding, validate_dataset
from cartrial.errors import InputError

BDS = "BASIC DATA STRUCTURE"
PARAMCD_RULE = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")  # ADaMIG: <= 8, a letter first, A-Z 0-9 _


def _pp(profiles: list[tuple[str, str, str]]) -> pd.DataFrame:
    """SDTM PP records of NCA profiles (USUBJID, PPCAT = the analyte's PCTESTCD, concentration unit): Cmax,
    Tmax and AUClast of each, as cartrial's PP writes them (PPTESTCD/PPTEST of CDISC CT C85839/C85493)."""
    rows: list[dict[str, object]] = []
    for usubjid, analyte, conc in profiles:
        numerator, denominator = conc.split("/", 1)
        auc = f"{numerator}.day/{denominator}"
        for code, test, unit in (
            ("CMAX", "Max Conc", conc),
            ("TMAX", "Time of CMAX", "day"),
            ("AUCLST", "AUC to Last Nonzero Conc", auc),
            ("AUCINT", "AUC from T1 to T2", auc),
        ):
            rows.append(
                {
                    "STUDYID": "S1",
                    "USUBJID": usubjid,
                    "PPSEQ": float(len(rows) + 1),
                    "PPTESTCD": code,
                    "PPTEST": test,
                    "PPCAT": analyte,
                    "PPSTRESN": 1.0,
                    "PPSTRESU": unit,
                    "PPSTINT": "P0D" if code == "AUCINT" else "",
                    "PPENINT": "P28D" if code == "AUCINT" else "",
                }
            )
    return pd.DataFrame(rows)


def _adsl(usubjids: list[str]) -> pd.DataFrame:
    n = len(usubjids)
    return pd.DataFrame({"USUBJID": usubjids, "TRT01A": ["DL1"] * n, "TRT01AN": [1.0] * n, "PKFL": ["Y"] * n})


TWO_ANALYTES = [
    ("S1-001", "CARTCELL", "cells/uL"),
    ("S1-001", "CARTRGN", "copies/ug gDNA"),
    ("S1-002", "CARTCELL", "cells/uL"),
    ("S1-002", "CARTRGN", "copies/ug gDNA"),
    ("S1-003", "CARTRGN", "copies/mL"),  # the transgene by ddPCR per volume (D-19.758)
]


def _one_to_one(frame: pd.DataFrame) -> tuple[dict[str, int], dict[str, int]]:
    """PARAMs per PARAMCD and PARAMCDs per PARAM, where more than one."""
    per_code = frame.groupby("PARAMCD")["PARAM"].nunique()
    per_param = frame.groupby("PARAM")["PARAMCD"].nunique()
    return {k: int(v) for k, v in per_code.items() if v > 1}, {
        k: int(v) for k, v in per_param.items() if v > 1
    }


def test_adpp_of_two_analytes_has_one_param_per_paramcd() -> None:
    pp = _pp(TWO_ANALYTES)
    adpp = build_adpp(None, {"PP": pp}, _adsl(sorted({p[0] for p in TWO_ANALYTES})), dataset_specs()["ADPP"])
    assert len(adpp) == len(pp)
    assert _one_to_one(adpp) == ({}, {})
    # three analyte/dimension profiles x four PK parameters: twelve parameters, each its own code
    assert adpp["PARAMCD"].nunique() == 12
    # PARCAT1 (the analyte) is one value per PARAMCD (Pinnacle 21 AD0124)
    assert (adpp.groupby("PARAMCD")["PARCAT1"].nunique() == 1).all()
    # traceability to SDTM PP: the PK parameter's CDISC code is kept beside the sponsor PARAMCD
    by_seq = dict(zip(pp["PPSEQ"], pp["PPTESTCD"], strict=True))
    assert [by_seq[seq] for seq in adpp["PPSEQ"]] == list(adpp["PPTESTCD"])
    assert all(PARAMCD_RULE.match(code) for code in adpp["PARAMCD"])
    # the shipped ADPPPRCD: its partial-AUC codes are the default interval's, P0D-P28D as here (D-19.890)
    assert set(adpp["PARAMCD"]) <= {t.value for t in codelists()["ADPPPRCD"].terms}
    assert not validate_dataset(adpp, dataset_specs()["ADPP"])


def _with_intervals(intervals: list[tuple[str, str]]) -> dict[str, Codelist]:
    """The shipped codelists with ADPPPRCD holding a study's partial-AUC codes, as `study_codelists` makes
    them (D-19.890)."""
    from cartrial.cdisc.adam import adpp_codes

    terms = dict(codelists())
    own = [Term(value=c, decode=d) for c, d in adpp_codes(intervals).items()]
    terms["ADPPPRCD"] = terms["ADPPPRCD"].model_copy(update={"terms": own})
    return terms


def test_adpp_paramcd_does_not_depend_on_the_data_cut() -> None:
    """A profile's code is fixed by (parameter, analyte, dimension): a cut holding one subject gives that
    subject's records the codes they have in a cut of all subjects.

    A guard, not a regression test: it passes on the code before D-19.824 too (PARAMCD = PPTESTCD was also
    independent of the cut); it keeps a later cut-dependent numbering (e.g. codes by order of appearance)
    from coming back."""
    everyone = build_adpp(None, {"PP": _pp(TWO_ANALYTES)}, _adsl(["S1-001", "S1-002", "S1-003"]), _spec())
    for subject in ("S1-001", "S1-003"):
        alone = build_adpp(
            None, {"PP": _pp([p for p in TWO_ANALYTES if p[0] == subject])}, _adsl([subject]), _spec()
        )
        mine = everyone[everyone["USUBJID"] == subject]
        assert sorted(zip(alone["PARAMCD"], alone["PARAM"], strict=True)) == sorted(
            zip(mine["PARAMCD"], mine["PARAM"], strict=True)
        )


def _spec() -> DatasetSpec:
    return dataset_specs()["ADPP"]


def _bds_findings(frame: pd.DataFrame, name: str = "ADPP") -> list[Finding]:
    return [f for f in validate_dataset(frame, dataset_specs()[name]) if f.rule.startswith("bds-param")]


def test_validate_reports_a_paramcd_with_two_params_without_record_values() -> None:
    pp = _pp(TWO_ANALYTES)
    adpp = build_adpp(None, {"PP": pp}, _adsl(["S1-001", "S1-002", "S1-003"]), _spec())
    broken = adpp.copy()
    first = str(broken["PARAMCD"].iloc[0])
    other = broken["PARAMCD"] != first
    broken.loc[other.idxmax(), "PARAMCD"] = first  # a record of another PARAM now carries the first code
    findings = _bds_findings(broken)
    one_to_one = [f for f in findings if f.rule == "bds-param-one-to-one"]
    assert one_to_one, findings
    text = " ".join(str(f) for f in one_to_one)
    assert first in text and "2 PARAM" in text
    for value in set(broken["PARAM"]):  # the PARAM texts are record values: never shown
        assert value not in text
    assert all(f.dataset == "ADPP" for f in one_to_one)


def test_validate_reports_a_param_with_two_paramcds() -> None:
    adpp = build_adpp(None, {"PP": _pp(TWO_ANALYTES)}, _adsl(["S1-001", "S1-002", "S1-003"]), _spec())
    broken = adpp.copy()
    code = str(broken["PARAMCD"].iloc[0])
    same = broken.index[broken["PARAMCD"] == code]
    broken.loc[same[-1], "PARAMCD"] = "ZZOTHER"
    rules = {f.rule for f in _bds_findings(broken)}
    assert "bds-param-one-to-one" in rules


@pytest.mark.parametrize("bad", ["1CMAX", "_CMAX", "CMAX-TG", "cmaxtg", "CMAXTGTOOLONG", "CMAX TG"])
def test_validate_reports_a_paramcd_not_name_like(bad: str) -> None:
    adpp = build_adpp(None, {"PP": _pp(TWO_ANALYTES[:1])}, _adsl(["S1-001"]), _spec())
    broken = adpp.copy()
    broken["PARAMCD"] = broken["PARAMCD"].astype(object)
    broken.loc[broken.index[0], "PARAMCD"] = bad
    findings = [f for f in _bds_findings(broken) if f.rule == "bds-paramcd-format"]
    assert findings and findings[0].variable == "PARAMCD" and findings[0].record == 1


@settings(max_examples=property_examples(60), deadline=None)
@given(
    st.text(
        alphabet=st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from(["\n", "\t"]),
        min_size=1,
        max_size=12,
    )
)
@example("CMAX\n")  # `$` matches before a final newline: the rule is on the whole text (D-19.831)
def test_paramcd_format_property(code: str) -> None:
    """The check fires exactly when the code breaks the rule (8 characters at most, a letter first, then
    letters, digits or underscores)."""
    from cartrial.cdisc.validate import bds_parameter_findings

    frame = pd.DataFrame({"PARAMCD": [code], "PARAM": ["Some parameter"]})
    fired = any(f.rule == "bds-paramcd-format" for f in bds_parameter_findings(frame, "ADXX"))
    letters, digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"
    ok = len(code) <= 8 and code[0] in letters and all(c in letters + digits + "_" for c in code)
    assert fired == (not ok)


def test_one_to_one_rule_on_pairs_built_by_hand() -> None:
    from cartrial.cdisc.validate import bds_parameter_findings

    good = pd.DataFrame({"PARAMCD": ["A", "A", "B"], "PARAM": ["p", "p", "q"]})
    bad_code = pd.DataFrame({"PARAMCD": ["A", "A", "B"], "PARAM": ["p", "q", "r"]})
    bad_param = pd.DataFrame({"PARAMCD": ["A", "B"], "PARAM": ["p", "p"]})
    blank = pd.DataFrame({"PARAMCD": ["A", "A"], "PARAM": ["p", math.nan]})  # an empty PARAM is no second one
    rule = "bds-param-one-to-one"
    assert not [f for f in bds_parameter_findings(good, "ADXX") if f.rule == rule]
    assert [f for f in bds_parameter_findings(bad_code, "ADXX") if f.rule == rule]
    assert [f for f in bds_parameter_findings(bad_param, "ADXX") if f.rule == rule]
    assert not [f for f in bds_parameter_findings(blank, "ADXX") if f.rule == rule]


def test_every_exported_bds_dataset_keeps_param_and_paramcd_one_to_one(exported: Exported) -> None:
    specs = dataset_specs()
    bds = [name for name, spec in specs.items() if spec.klass == BDS]
    assert {"ADPC", "ADPP", "ADLB", "ADTTE", "ADRS", "ADEDSS"} <= set(bds)
    for name in bds:
        frame = exported.frames[name]
        assert len(frame), name
        assert _one_to_one(frame) == ({}, {}), name
        assert all(PARAMCD_RULE.match(str(c)) for c in frame["PARAMCD"]), name
        assert not _bds_findings(frame, name), name


def test_adppprcd_lists_every_code_adpp_can_write() -> None:
    """The shipped sponsor codelist and the builder's codes are one list: each (analyte/dimension, PK
    parameter of PP) pair once, each decode naming its analyte and its parameter."""
    from cartrial.cdisc.adam import ADPP_CODELIST, adpp_analyte_prefixes, adpp_codes
    from cartrial.cdisc.sdtm import PP_PARAMS

    assert ADPP_CODELIST == "ADPPPRCD" == _spec().variable("PARAMCD").codelist
    terms = codelists()[ADPP_CODELIST].terms
    # a partial AUC is a code per interval (D-19.890): the shipped list has the default interval's, PAUC1
    # (days 0-28, analysis.options.nca_intervals_days); a study's codelist its protocol's
    pk = [code for code, _test, _unit in PP_PARAMS.values()] + ["PAUC1"]
    expected = {prefix + code for prefix, _text in adpp_analyte_prefixes().values() for code in pk}
    assert [t.value for t in terms] == list(adpp_codes())
    codes = adpp_codes()
    assert all(t.decode == codes[t.value] for t in terms)  # the shipped decodes are the builder's texts
    assert {t.value for t in terms} == expected and len(terms) == len(expected)
    assert len({t.decode for t in terms}) == len(terms)  # one text per code, as PARAM
    assert all(PARAMCD_RULE.match(t.value) for t in terms)


def test_two_responder_endpoints_of_one_name_get_two_adrs_params() -> None:
    """ADRS: a second responder endpoint with the first's name (another threshold) had the same PARAM under
    another PARAMCD; each PARAMCD now has its own PARAM, the first endpoint keeping its name (D-19.826)."""
    from cartrial import examples
    from cartrial.cdisc.adam import responder_params
    from cartrial.protocol.model import load_protocol

    protocol = load_protocol(examples.path("ct103a-nmosd") / "protocol.yaml")
    endpoints = dict(protocol.endpoints)
    vision = endpoints.pop("visual_acuity_response")
    endpoints["vision_2_lines"] = vision
    endpoints["vision_3_lines"] = vision.model_copy(
        update={"parameters": vision.parameters | {"threshold_logmar": 0.3}}
    )
    params = responder_params(protocol.model_copy(update={"endpoints": endpoints}))
    codes = [code for code, _text in params.values()]
    texts = [text for _code, text in params.values()]
    assert len(set(codes)) == len(codes) and len(set(texts)) == len(texts)
    assert params["vision_2_lines"][1] == str(vision.name)
    assert all(len(text) <= 40 and text.isascii() for text in texts)


def test_adpp_refuses_an_analyte_without_a_parameter_code() -> None:
    """An analyte ADPPPRCD has no prefix for cannot get a one-to-one code: refused, naming the analytes
    that have one and the records by location (USUBJID and PPSEQ), never a record's value. PP.PPCAT of such
    an analyte is the user's free-text analyte upper-cased, a record value (D-12.2): ABSENT from the message
    (changed by design, D-19.827: the test asserted the analyte text was named)."""
    from cartrial.errors import InputError
    from cartrial.protocol.lab_tests import PK_ANALYTES

    free_text = "JOHN SMITH 1970"
    pp = _pp([("S1-001", "CARTCELL", "cells/uL"), ("S1-002", free_text, "cells/uL")])
    pp.loc[:, "PPSTRESN"] = 123456.0
    with pytest.raises(InputError) as caught:
        build_adpp(None, {"PP": pp}, _adsl(["S1-001", "S1-002"]), _spec())
    text = str(caught.value)
    assert free_text not in text and free_text.lower() not in text and "JOHN" not in text.upper()
    assert "123456" not in text and "ADPPPRCD" in text
    assert all(analyte in text for analyte in PK_ANALYTES)
    other = pp[pp["PPCAT"] == free_text]
    assert all(f"S1-002 PPSEQ {seq}" in text for seq in other["PPSEQ"].astype(str))
    assert "S1-001" not in text  # the records at fault only


def test_adpp_param_text_is_the_analyte_name_of_pk_analytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The analyte's name is written once, in PK_ANALYTES (PCTEST): ADPP's PARAM and the ADPPPRCD texts
    follow it, the dimension suffix added (D-19.832)."""
    from cartrial.cdisc.adam import adpp_codes
    from cartrial.protocol import lab_tests

    monkeypatch.setitem(lab_tests.PK_ANALYTES, "car_t_cells", ("CARTCELL", "Renamed Cells"))
    monkeypatch.setitem(lab_tests.PK_ANALYTES, "car_transgene", ("CARTRGN", "Renamed Copies"))
    codes = adpp_codes()
    assert codes["CTCMAX"] == "Renamed Cells Max Conc"
    assert codes["TGCMAX"] == "Renamed Copies Max Conc"
    assert codes["TVCMAX"] == "Renamed Copies per Volume Max Conc"
    adpp = build_adpp(None, {"PP": _pp(TWO_ANALYTES)}, _adsl(["S1-001", "S1-002", "S1-003"]), _spec())
    param = dict(zip(adpp["PARAMCD"], adpp["PARAM"], strict=False))
    assert param["CTCMAX"] == "Renamed Cells Max Conc (cells/uL)"
    assert param["TVCMAX"] == "Renamed Copies per Volume Max Conc (copies/mL)"


def test_one_to_one_check_of_many_shared_params() -> None:
    """12,000 records with PARAMs shared by two codes each: one finding per shared PARAM (D-19.830). The check
    once scanned all records per record (about a minute here); its speed is not asserted (timings are never
    asserted in tests), the findings are."""
    from cartrial.cdisc.validate import bds_parameter_findings

    n = 12_000
    codes = [f"P{i % 3000:04d}" for i in range(n)]
    params = [f"param {(i % 3000) // 2}" for i in range(n)]  # codes 2k and 2k+1 share a PARAM
    frame = pd.DataFrame({"PARAMCD": codes, "PARAM": params})
    findings = bds_parameter_findings(frame, "ADXX")
    assert len(findings) == 1500 and all(f.rule == "bds-param-one-to-one" for f in findings)


def _expected_one_to_one(codes: list[str], params: list[str]) -> list[tuple[int, tuple[str, ...]]]:
    """The rule by hand, record by record: (first record, codes) of each PARAMCD with two PARAMs, then of each
    set of codes sharing a PARAM (its records: those of a shared PARAM whose code is in the set)."""
    out: list[tuple[int, tuple[str, ...]]] = []
    for code in sorted(set(codes)):
        mine = [i for i, c in enumerate(codes) if c == code]
        if len({params[i] for i in mine}) > 1:
            out.append((mine[0] + 1, (code,)))
    per_param = {p: {c for c, q in zip(codes, params, strict=True) if q == p} for p in params}
    shared = [i for i, p in enumerate(params) if len(per_param[p]) > 1]
    for group in sorted({tuple(sorted(per_param[params[i]])) for i in shared}):
        first = min(i for i in shared if codes[i] in group)
        out.append((first + 1, group))
    return out


@settings(max_examples=property_examples(80), deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C", "D"]), st.sampled_from(["p", "q", "r"])),
        min_size=1,
        max_size=30,
    )
)
def test_one_to_one_findings_follow_the_rule(rows: list[tuple[str, str]]) -> None:
    from cartrial.cdisc.validate import bds_parameter_findings

    codes, params = [r[0] for r in rows], [r[1] for r in rows]
    frame = pd.DataFrame({"PARAMCD": codes, "PARAM": params})
    found = [f for f in bds_parameter_findings(frame, "ADXX") if f.rule == "bds-param-one-to-one"]
    expected = _expected_one_to_one(codes, params)
    assert [f.record for f in found] == [first for first, _group in expected]
    for finding, (_first, group) in zip(found, expected, strict=True):
        assert all(code in finding.message for code in group)


@pytest.mark.parametrize("bad", ["1CMAX", "_CMAX", "CMAX\n", "CMAX\t", "cmax", "CMAXTGTOOLONG"])
def test_paramcd_has_one_format_rule(bad: str) -> None:
    """PARAMCD is judged by the BDS rule alone (a letter first): the older test-code rule (which lets "_CMAX"
    pass) no longer runs on it, so a bad code gives one finding, ``bds-paramcd-format`` (D-19.828); a
    trailing newline is no match (D-19.831)."""
    adpp = build_adpp(None, {"PP": _pp(TWO_ANALYTES[:1])}, _adsl(["S1-001"]), _spec())
    broken = adpp.copy()
    broken["PARAMCD"] = broken["PARAMCD"].astype(object)
    broken.loc[broken.index[0], "PARAMCD"] = bad
    on_code = [
        f
        for f in validate_dataset(broken, _spec())
        if f.variable == "PARAMCD" and f.rule in ("testcd", "bds-paramcd-format")
    ]
    assert [(f.rule, f.record) for f in on_code] == [("bds-paramcd-format", 1)]


def test_testcd_rule_refuses_a_trailing_newline() -> None:
    from cartrial.cdisc.validate import TESTCD_RE

    assert TESTCD_RE.fullmatch("CMAX") and TESTCD_RE.fullmatch("_CMAX")
    adpp = build_adpp(None, {"PP": _pp(TWO_ANALYTES[:1])}, _adsl(["S1-001"]), _spec())
    broken = adpp.copy()
    broken["PPTESTCD"] = broken["PPTESTCD"].astype(object)
    broken.loc[broken.index[1], "PPTESTCD"] = "CMAX\n"
    found = [f for f in validate_dataset(broken, _spec()) if f.rule == "testcd"]
    assert [(f.variable, f.record) for f in found] == [("PPTESTCD", 2)]


def test_one_to_one_findings_name_no_paramcd_failing_the_format() -> None:
    """A PARAMCD that fails the format rule may be anything typed into it (a name, a birth year): the
    one-to-one findings count it and give record numbers, and name only codes meeting the rule (D-19.829)."""
    from cartrial.cdisc.validate import bds_parameter_findings

    typed = "john smith 1970"
    two_params = pd.DataFrame({"PARAMCD": [typed, typed, "GOOD"], "PARAM": ["p", "q", "r"]})
    shared = pd.DataFrame({"PARAMCD": [typed, "GOOD"], "PARAM": ["p", "p"]})
    for frame in (two_params, shared):
        found = [f for f in bds_parameter_findings(frame, "ADXX") if f.rule == "bds-param-one-to-one"]
        assert found
        text = " ".join(f.message for f in found)
        assert "john" not in text.lower() and "1970" not in text and "records 1" in text
    found = [f for f in bds_parameter_findings(shared, "ADXX") if f.rule == "bds-param-one-to-one"]
    assert "GOOD" in found[0].message and "1 not name-like" in found[0].message


def test_adpp_partial_aucs_of_two_intervals_are_two_params() -> None:
    """ADaMIG v1.3 §3.3.4: PARAM holds all that qualifies the analysis value, one PARAM per analysis
    parameter. Failing first: the AUC over days 0-28 and over days 0-90 of one profile shared PARAMCD TGAUCINT
    and PARAM "CAR Transgene Copies AUC from T1 to T2 (...)" — `bds-param-one-to-one` passed it, PARAM and
    PARAMCD being one-to-one, both blind to PPSTINT/PPENINT (D-19.890). By hand: the protocol's intervals
    numbered in its order, TGPAUC1 days 0-28, TGPAUC2 days 0-90."""
    pp = _pp([("S1-001", "CARTRGN", "copies/ug gDNA")])
    second = pp[pp["PPTESTCD"] == "AUCINT"].assign(PPENINT="P90D", PPSEQ=float(len(pp) + 1))
    pp = pd.concat([pp, second], ignore_index=True)
    intervals = [("P0D", "P28D"), ("P0D", "P90D")]
    adpp = build_adpp(None, {"PP": pp}, _adsl(["S1-001"]), _spec(), intervals)
    partial = adpp[adpp["PPTESTCD"] == "AUCINT"].set_index("PPENINT")
    assert partial.loc["P28D", "PARAMCD"] == "TGPAUC1"
    assert partial.loc["P90D", "PARAMCD"] == "TGPAUC2"
    assert (
        partial.loc["P28D", "PARAM"] == "CAR Transgene Copies AUC from Day 0 to Day 28 (copies.day/ug gDNA)"
    )
    assert (
        partial.loc["P90D", "PARAM"] == "CAR Transgene Copies AUC from Day 0 to Day 90 (copies.day/ug gDNA)"
    )
    assert not adpp.duplicated(["USUBJID", "PARAMCD"]).any()  # one value per subject and parameter
    assert not validate_dataset(adpp, _spec(), terms=_with_intervals(intervals))
    # the protocol's order, not the data's: the second interval listed first is PAUC1
    flipped = build_adpp(None, {"PP": pp}, _adsl(["S1-001"]), _spec(), intervals[::-1])
    flipped_partial = flipped[flipped["PPTESTCD"] == "AUCINT"].set_index("PPENINT")
    assert flipped_partial.loc["P90D", "PARAMCD"] == "TGPAUC1"


def test_the_study_codelist_lists_each_interval_of_the_protocol(exported: Exported) -> None:
    """The export's ADPPPRCD (validation, define.xml, the manifest) has the codes of the example protocol's
    intervals (D-19.890); every written ADPP code is in it."""
    from cartrial.cdisc.adam import protocol_intervals, study_codelists

    terms = study_codelists(exported.snapshot.protocol)["ADPPPRCD"].terms
    intervals = protocol_intervals(exported.snapshot.protocol)
    auci = [t.value for t in terms if re.fullmatch(r"(CT|TG|TV)PAUC[0-9]+", t.value)]
    assert len(auci) == 3 * len(intervals)
    assert set(exported.frames["ADPP"]["PARAMCD"]) <= {t.value for t in terms}


def test_adpp_without_the_protocol_numbers_by_the_default_interval_not_by_the_data() -> None:
    """PAUC<n> is fixed by the protocol, never by the data cut (D-19.890). Failing first: without the
    protocol's intervals (`intervals=None`) PP's intervals were numbered by start and end day, so a cut with
    only the days 0-90 AUC called it TGPAUC1 — the code of days 0-28 in a cut with both. Now None means the
    protocol default's intervals (days 0-28 = PAUC1, by hand) and an interval outside them is refused."""
    pp = _pp([("S1-001", "CARTRGN", "copies/ug gDNA")])
    adpp = build_adpp(None, {"PP": pp}, _adsl(["S1-001"]), _spec())
    assert set(adpp.loc[adpp["PPTESTCD"] == "AUCINT", "PARAMCD"]) == {"TGPAUC1"}
    only_90 = pp.assign(PPENINT=pp["PPENINT"].where(pp["PPTESTCD"] != "AUCINT", "P90D"))
    with pytest.raises(InputError) as refused:
        build_adpp(None, {"PP": only_90}, _adsl(["S1-001"]), _spec())
    text = str(refused.value)
    assert "S1-001 PPSEQ 4" in text and "nca_intervals_days" in text and "P90D" not in text
    # with the protocol's intervals (0-28 first) the days 0-90 AUC of this cut is PAUC2, as in any other cut
    listed = build_adpp(None, {"PP": only_90}, _adsl(["S1-001"]), _spec(), [("P0D", "P28D"), ("P0D", "P90D")])
    assert set(listed.loc[listed["PPTESTCD"] == "AUCINT", "PARAMCD"]) == {"TGPAUC2"}


def test_an_interval_ending_at_infinity_is_not_a_pp_aucint() -> None:
    """An AUC interval ending at infinity (``nca_intervals_days: [[7, .inf]]``, PKNCA aucint.inf.obs) was
    written as PPTESTCD AUCINT with PPENINT "PinfD": not an ISO 8601 duration, and AUCINT is "AUC from T1 to
    T2" with a finite T2. Such an interval is left out of PP and ADPP's parameters (D-19.940); the finite
    intervals keep their order and numbers (by hand: 0-28 is PAUC1, 0-90 PAUC2)."""
    from types import SimpleNamespace

    from cartrial.cdisc.adam import protocol_intervals
    from cartrial.cdisc.sdtm import pp_intervals

    options = SimpleNamespace(nca_intervals_days=[(0.0, 28.0), (7.0, math.inf), (0.0, 90.0), (0.0, math.inf)])
    protocol = SimpleNamespace(analysis=SimpleNamespace(options=options))
    spans = [(start, end) for _column, start, end in pp_intervals(protocol)]
    assert spans == [("P0D", "P28D"), ("P0D", "P90D")]
    assert protocol_intervals(protocol) == spans
