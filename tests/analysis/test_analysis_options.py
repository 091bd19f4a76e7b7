"""The protocol's `analysis:` options change the analysis as documented; expectations by hand from the
example CSVs. The report's methods section lists every option with its source."""

from __future__ import annotations

import dataclasses
import datetime as dt
from datetime import date

import pytest

from cartrial.analysis import Analysis, analyse
from cartrial.protocol import parse_protocol
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF, rows


@pytest.fixture(scope="module")
def default(snapshot: StudySnapshot) -> Analysis:
    return analyse(snapshot)


def with_analysis(snapshot: StudySnapshot, section: str) -> Analysis:
    text = snapshot.protocol_yaml
    text = text[: text.index("\nanalysis:\n")] + "\n" + section
    return analyse(dataclasses.replace(snapshot, protocol=parse_protocol(text)))


def test_treatment_emergence_from_the_infusion_day(snapshot: StudySnapshot, default: Analysis) -> None:
    changed = with_analysis(snapshot, "analysis:\n  options:\n    treatment_emergent_start: infusion\n")
    day0 = {r["subject_id"]: r["infused_at"][:10] for r in rows("infusions")}
    first_ld: dict[str, str] = {}
    for r in rows("lymphodepletion"):
        first_ld[r["subject_id"]] = min(
            first_ld.get(r["subject_id"], r["administered_on"]), r["administered_on"]
        )
    ae = rows("adverse_events")
    from_ld = sum(1 for r in ae if r["started_on"] >= first_ld.get(r["subject_id"], day0[r["subject_id"]]))
    from_infusion = sum(1 for r in ae if r["started_on"] >= day0[r["subject_id"]])
    assert len(default.datasets["teae_listing"].table) == from_ld
    assert len(changed.datasets["teae_listing"].table) == from_infusion
    assert (
        changed.option_sources["treatment_emergent"] == "protocol analysis.options.treatment_emergent_start"
    )


def test_relapse_follow_up_to_the_cutoff(snapshot: StudySnapshot, default: Analysis) -> None:
    changed = with_analysis(snapshot, "analysis:\n  options:\n    relapse_follow_up_end: cutoff\n")
    by_subject = changed.datasets["relapses_by_subject"].table.set_index("subject_id")
    for r in rows("infusions"):
        infused = dt.date.fromisoformat(r["infused_at"][:10])
        assert by_subject.loc[r["subject_id"], "post_days"] == (CUTOFF - infused).days
    # default: last contact (CT-001's last dated record is before the cut-off)
    before = default.datasets["relapses_by_subject"].table.set_index("subject_id")
    assert before.loc["CT-001", "post_days"] < (CUTOFF - date(2021, 4, 27)).days


def test_persistence_day_and_nca_interval(snapshot: StudySnapshot) -> None:
    changed = with_analysis(
        snapshot, "analysis:\n  options:\n    persistence_day: 90\n    nca_intervals_days: [[0, 14]]\n"
    )
    persistence = changed.datasets["persistence"].table
    last: dict[tuple[str, str], float] = {}
    for r in rows("pk_samples"):
        if r["blq"] != "true" and r["value"]:
            key = (r["subject_id"], r["analyte"])
            last[key] = max(last.get(key, -1e9), float(r["actual_day"]))
    for row in persistence.to_dict("records"):
        assert row["detectable_beyond_day_90"] == (last[(row["subject_id"], row["analyte"])] > 90)
    assert "detectable_beyond_day_180" not in persistence
    nca = changed.datasets["nca_by_subject"].table
    assert any("0_14" in c or "0-14" in c for c in nca.columns), list(nca.columns)
    assert any("beyond day 90" in f.statement for f in changed.findings)


def test_all_infused_counts_the_non_evaluable_as_non_responders(
    snapshot: StudySnapshot, default: Analysis
) -> None:
    default_summary = default.datasets["responders_summary"].table
    changed = with_analysis(
        snapshot, "analysis:\n  populations:\n    efficacy_evaluable: {visual_acuity_response: all_infused}\n"
    )
    summary = changed.datasets["responders_summary"].table
    vision = summary[(summary["endpoint"] == "visual_acuity_response") & (summary["group"] == "all")].iloc[0]
    before = default_summary[
        (default_summary["endpoint"] == "visual_acuity_response") & (default_summary["group"] == "all")
    ].iloc[0]
    assert (vision["n_evaluable"], vision["n_responders"]) == (12, before["n_responders"])
    assert vision["not_evaluable"] == 0 and vision["evaluable_rule"] == "all_infused"
    # other endpoints keep the default rule
    walking = summary[(summary["endpoint"] == "walking_response") & (summary["group"] == "all")].iloc[0]
    assert walking["evaluable_rule"] == "baseline_and_post_baseline"
    assert changed.populations["efficacy:visual_acuity_response"].n == 12


def test_every_option_is_listed_with_its_source(snapshot: StudySnapshot, default: Analysis) -> None:
    from cartrial.report.render import build_report

    report = build_report(
        default,
        snapshot.tables,
        cartrial_version="test",
        generated_at=dt.datetime(2022, 3, 21, tzinfo=dt.UTC),
    )
    methods = dict(report.methods)
    for name in (
        "persistence_day",
        "relapse_follow_up_end",
        "efficacy_evaluable",
        "nca_options",
        "dlt_rules",
    ):
        assert name in methods
        assert "(source: " in methods[name]
    assert methods["persistence_day"] == "180.0 (source: protocol analysis.options.persistence_day)"


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ("{min_adj_r2: 2}", "min_adj_r2", "out of range (got 2)"),
        ("{blq_middle: zero}", "blq_middle", "not an allowed value (got 'zero')"),
        ("{adj_r2_tolerances: 0.1}", "adj_r2_tolerances", "unknown NCA option (got 'adj_r2_tolerances')"),
    ],
)
def test_a_bad_nca_option_is_named_by_its_protocol_key(
    snapshot: StudySnapshot, options: str, field: str, message: str
) -> None:
    """Issue 19 (D-19.19, D-19.20): a bad ``analysis.options.nca_options`` value is an `InputError` naming its
    YAML key, its line, the value and what is allowed (the kinetics engine's declaration), raised when the
    protocol is loaded — before any data is read; it was a bare `CartrialError` quoting the engine's own
    message, then (D-19.19) an error of the analysis without a line."""
    from cartrial.allowed import declared
    from cartrial.errors import InputError
    from cartrial.kinetics import NcaOptions

    section = f"analysis:\n  options:\n    nca_options: {options}\n"
    with pytest.raises(InputError) as caught:
        with_analysis(snapshot, section)
    [problem] = caught.value.problems
    assert problem.field == f"analysis.options.nca_options.{field}"
    text = snapshot.protocol_yaml
    text = text[: text.index("\nanalysis:\n")] + "\n" + section
    assert problem.line == text.splitlines().index(f"    nca_options: {options}") + 1
    rule = declared(NcaOptions).get(field)
    allowed = rule.text() if rule is not None else problem.allowed
    expected = f"analysis.options.nca_options.{field}: {message}; allowed: {allowed}"
    assert str(problem) == f"<string>, line {problem.line}, {expected}"


def test_nca_options_built_without_validation_are_refused_by_the_analysis(snapshot: StudySnapshot) -> None:
    """A protocol object built in code without validation (``model_copy``) meets the same rule when the
    analysis runs, each problem named by its YAML key."""
    from cartrial.errors import InputError

    protocol = snapshot.protocol
    options = protocol.analysis.options.model_copy(update={"nca_options": {"min_adj_r2": 2}})
    analysis = protocol.analysis.model_copy(update={"options": options})
    changed = dataclasses.replace(snapshot, protocol=protocol.model_copy(update={"analysis": analysis}))
    with pytest.raises(InputError) as caught:
        analyse(changed)
    [problem] = caught.value.problems
    assert problem.field == "analysis.options.nca_options.min_adj_r2"
    assert (problem.value, problem.line) == (2, None)


def test_every_nca_interval_is_summarised_and_exported(snapshot: StudySnapshot) -> None:
    """Each partial AUC of ``nca_intervals_days`` (not only the default day 0-28) is in the NCA summary and is
    an SDTM PP AUCINT record with its own interval; before, AUC0-28 was hard-coded: another interval was left
    out of the summary silently and the CDISC export failed (KeyError 'auc_0_28')."""
    from cartrial.cdisc.adam import study_codelists
    from cartrial.cdisc.export import build_all, validate_all
    from cartrial.kinetics.nca import interval_column

    intervals = [[0.0, 14.0], [0.0, 0.5]]
    text = snapshot.protocol_yaml
    text = (
        text[: text.index("\nanalysis:\n")]
        + f"\nanalysis:\n  options:\n    nca_intervals_days: {intervals}\n"
    )
    changed_snapshot = dataclasses.replace(snapshot, protocol=parse_protocol(text))
    changed = analyse(changed_snapshot)
    columns = [interval_column(a, b) for a, b in intervals]
    summary = changed.datasets["nca_summary"].table
    assert set(columns) <= set(summary["parameter"])
    assert "auc_0_28" not in set(summary["parameter"])
    nca = changed.datasets["nca_by_subject"].table
    frames = build_all(changed_snapshot, changed, None)
    # ADPP codes each interval apart (PAUC1, PAUC2 in the protocol's order), codes of the study's ADPPPRCD
    # (`study_codelists`, D-19.890): validated against the study's codelists, as the export does
    terms = study_codelists(changed_snapshot.protocol)
    assert not [f for fs in validate_all({k: frames[k] for k in ("PP", "ADPP")}, terms).values() for f in fs]
    adpp = frames["ADPP"]
    partial = adpp[adpp["PPTESTCD"] == "AUCINT"]
    assert set(partial.loc[partial["PPENINT"] == "P14D", "PARAMCD"].str[2:]) == {"PAUC1"}
    assert set(partial.loc[partial["PPENINT"] == "P0.5D", "PARAMCD"].str[2:]) == {"PAUC2"}
    pp = frames["PP"]
    aucint = pp[pp["PPTESTCD"] == "AUCINT"]
    assert len(aucint) == len(intervals) * len(nca)
    for (start, end), column in zip(intervals, columns, strict=True):
        mine = aucint[(aucint["PPSTINT"] == f"P{start:g}D") & (aucint["PPENINT"] == f"P{end:g}D")]
        assert len(mine) == len(nca)
        expected = sorted(float(v) for v in nca[column] if v == v)
        assert sorted(float(v) for v in mine["PPSTRESN"] if v == v) == pytest.approx(expected)


def test_a_protocol_without_responder_endpoints_exports_an_empty_adrs(snapshot: StudySnapshot) -> None:
    """Responder endpoints are optional in a protocol; before, `export cdisc` of such a study failed with a
    traceback (KeyError 'responders_summary')."""
    from cartrial.cdisc.export import build_all
    from cartrial.protocol.responders import RESPONDER_DEFINITIONS

    protocol = snapshot.protocol
    kept = {k: e for k, e in protocol.endpoints.items() if e.definition not in RESPONDER_DEFINITIONS}
    assert len(kept) < len(protocol.endpoints)
    analysis = protocol.analysis.model_copy(
        update={"populations": protocol.analysis.populations.model_copy(update={"efficacy_evaluable": {}})}
    )
    changed_snapshot = dataclasses.replace(
        snapshot, protocol=protocol.model_copy(update={"endpoints": kept, "analysis": analysis})
    )
    changed = analyse(changed_snapshot)
    assert "responders_by_subject" not in changed.datasets
    frames = build_all(changed_snapshot, changed, None)
    assert len(frames["ADRS"]) == 0


def test_responder_endpoints_of_any_key_are_exported_with_their_own_codes(
    snapshot: StudySnapshot, tmp_path
) -> None:
    """A responder endpoint under another key than the reference protocol's, or a second endpoint with the
    same definition (another threshold), passed `protocol check` and `export cdisc` refused the whole study
    (PARAMCD outside the non-extensible codelist PARAMRS). Each responder endpoint now has its own code,
    in the study's codelist that the export validates against, lists in Define-XML and records for
    `--check` (D-19.35)."""
    from cartrial.cdisc.adam import RESPONDER_PARAMS, responder_params
    from cartrial.cdisc.export import check_folder, export_cdisc

    protocol = snapshot.protocol
    endpoints = dict(protocol.endpoints)
    vision = endpoints.pop("visual_acuity_response")
    endpoints["vision_2_lines"] = vision
    stricter = vision.parameters | {"threshold_logmar": 0.3}
    endpoints["vision_3_lines"] = vision.model_copy(update={"parameters": stricter})
    changed_snapshot = dataclasses.replace(
        snapshot, protocol=protocol.model_copy(update={"endpoints": endpoints})
    )
    params = responder_params(changed_snapshot.protocol)
    assert params["vision_2_lines"] == ("VISION2L", str(vision.name))
    assert params["vision_3_lines"][0] == "VISION3L"
    assert params["walking_response"] == RESPONDER_PARAMS["walking_response"]
    assert len({code for code, _ in params.values()}) == len(params)

    sites = {str(site): "China" for site in snapshot.tables["subjects"]["site_id"]}
    result = export_cdisc(changed_snapshot, analyse(changed_snapshot), tmp_path, formats="json", sites=sites)
    adrs = result.frames["ADRS"]
    assert set(adrs["PARAMCD"]) == {code for code, _ in params.values()}
    assert check_folder(tmp_path)[0] == []
    define = (tmp_path / "adam" / "define.xml").read_text(encoding="utf-8")
    assert 'CodedValue="VISION2L"' in define and 'CodedValue="VARESP"' not in define
    from cartrial.cdisc.spec import codelists

    # the shipped codelist (cached, shared by every export) is not changed by a study's own
    assert [term.value for term in codelists()["PARAMRS"].terms] == [c for c, _ in RESPONDER_PARAMS.values()]


def test_responder_codes_are_unique_whatever_the_keys(snapshot: StudySnapshot) -> None:
    """Keys that reduce to one code (case, punctuation, a shipped code) are numbered."""
    from cartrial.cdisc.adam import responder_params

    vision = snapshot.protocol.endpoints["visual_acuity_response"]
    keys = ["varesp", "VaResp", "va-resp", "9lives", "a_very_long_endpoint_key", "a_very_long_endpoint_key2"]
    endpoints = {key: vision for key in keys}
    params = responder_params(snapshot.protocol.model_copy(update={"endpoints": endpoints}))
    codes = [params[key][0] for key in keys]
    assert len(set(codes)) == len(codes) and "VARESP" not in codes
    assert all(len(c) <= 8 and c[0].isalpha() and c.isalnum() and c.isupper() for c in codes), codes


def test_mixed_blq_specifications_are_refused_at_their_protocol_keys(snapshot: StudySnapshot) -> None:
    """D-19.966 (PKNCA.options): ``blq_middle`` beside ``blq_before_tmax``/``blq_after_tmax`` is refused when
    the protocol is loaded, each Tmax key named with its own line (``blq_middle`` was ignored silently, while
    the recorded options still showed it)."""
    from cartrial.errors import InputError

    section = (
        "analysis:\n  options:\n    nca_options:\n      blq_middle: half_lloq\n"
        "      blq_before_tmax: keep\n      blq_after_tmax: drop\n"
    )
    with pytest.raises(InputError) as caught:
        with_analysis(snapshot, section)
    text = snapshot.protocol_yaml
    lines = (text[: text.index("\nanalysis:\n")] + "\n" + section).splitlines()
    located = {(problem.field, problem.line) for problem in caught.value.problems}
    assert located == {
        ("analysis.options.nca_options.blq_before_tmax", lines.index("      blq_before_tmax: keep") + 1),
        ("analysis.options.nca_options.blq_after_tmax", lines.index("      blq_after_tmax: drop") + 1),
    }
    assert all("blq_middle" in str(problem) for problem in caught.value.problems)


def test_adrs_gives_the_all_infused_proportion_of_the_analysis(snapshot: StudySnapshot) -> None:
    """Under ``all_infused`` the analysis counts a subject the engine cannot evaluate as a non-responder in
    the denominator (responders_by_subject: responder False, in_population True). ADRS left that subject's
    AVALC blank and ANL01FL 'N', so its own rule "sum(AVALC = Y) / sum(ANL01FL = Y)" (the ADRS spec's note)
    gave the responders of the evaluable (4 of 8 in the example) while the report and ADSL.VAEFL (every
    infused subject) gave 4 of 12. ADRS now carries the analysis' record: AVALC 'N' (AVAL 0), ANL01FL 'Y',
    and the engine's reason in NEVALRS (D-19.1134)."""
    from cartrial.cdisc.export import build_all

    changed_snapshot = dataclasses.replace(
        snapshot,
        protocol=parse_protocol(
            snapshot.protocol_yaml[: snapshot.protocol_yaml.index("\nanalysis:\n")]
            + "\nanalysis:\n  populations:\n    efficacy_evaluable: {visual_acuity_response: all_infused}\n"
        ),
    )
    changed = analyse(changed_snapshot)
    summary = changed.datasets["responders_summary"].table
    vision = summary[(summary["endpoint"] == "visual_acuity_response") & (summary["group"] == "all")].iloc[0]
    frames = build_all(changed_snapshot, changed, None)
    adrs = frames["ADRS"]
    mine = adrs[adrs["PARAMCD"] == "VARESP"]
    in_analysis = mine[mine["ANL01FL"] == "Y"]
    # the example: 4 responders among the 8 evaluable; 4 without an evaluable eye (hand count of the rows)
    assert (int(vision["n_responders"]), int(vision["n_evaluable"])) == (4, 12)
    assert (int((in_analysis["AVALC"] == "Y").sum()), len(in_analysis)) == (4, 12)
    imputed = mine[mine["NEVALRS"] != ""]
    assert len(imputed) == 4
    assert set(imputed["AVALC"]) == {"N"} and set(imputed["AVAL"]) == {0.0}
    assert all("no eye evaluable" in reason for reason in imputed["NEVALRS"])
    adsl = frames["ADSL"]
    assert set(adsl.loc[adsl["USUBJID"].isin(mine["USUBJID"]), "VAEFL"]) == {"Y"}
    # the default rule is unchanged: a subject not evaluable is outside the analysis, AVALC blank
    default_adrs = build_all(snapshot, analyse(snapshot), None)["ADRS"]
    default_vision = default_adrs[default_adrs["PARAMCD"] == "VARESP"]
    analysed = int((default_vision["ANL01FL"] == "Y").sum())
    assert (analysed, int((default_vision["AVALC"] == "").sum())) == (8, 4)


def test_adrs_imputed_non_responder_has_no_criterion_result(snapshot: StudySnapshot) -> None:
    """A subject the engine cannot evaluate, in the analysis under ``all_infused`` as a non-responder
    (D-19.1134), had CRIT1FL 'N' (= AVALC): the criterion was not evaluated, and ADaMIG v1.3 leaves
    CRIT1FL null then (D-19.623, D-19.1138). CRIT1FL is now blank for such a record, AVALC/AVAL/ANL01FL stay
    the analysis' (N, 0, Y), and DTYPE 'NRI' marks the imputation; an evaluated record has no DTYPE and its
    CRIT1FL = AVALC (D-19.1139). Example: 4 of the 12 infused without an evaluable eye (hand count)."""
    from cartrial.cdisc.export import build_all

    changed_snapshot = dataclasses.replace(
        snapshot,
        protocol=parse_protocol(
            snapshot.protocol_yaml[: snapshot.protocol_yaml.index("\nanalysis:\n")]
            + "\nanalysis:\n  populations:\n    efficacy_evaluable: {visual_acuity_response: all_infused}\n"
        ),
    )
    adrs = build_all(changed_snapshot, analyse(changed_snapshot), None)["ADRS"]
    mine = adrs[adrs["PARAMCD"] == "VARESP"]
    imputed, evaluated = mine[mine["NEVALRS"] != ""], mine[mine["NEVALRS"] == ""]
    assert len(imputed) == 4 and len(evaluated) == 8
    assert set(imputed["CRIT1FL"]) == {""} and set(imputed["DTYPE"]) == {"NRI"}
    assert set(imputed["AVALC"]) == {"N"} and set(imputed["AVAL"]) == {0.0}
    assert set(imputed["ANL01FL"]) == {"Y"}
    assert set(evaluated["DTYPE"]) == {""}
    assert list(evaluated["CRIT1FL"]) == list(evaluated["AVALC"]) and set(evaluated["CRIT1FL"]) <= {"Y", "N"}
    # the default rule: not evaluable, outside the analysis; no result, no imputation
    default_adrs = build_all(snapshot, analyse(snapshot), None)["ADRS"]
    outside = default_adrs[(default_adrs["PARAMCD"] == "VARESP") & (default_adrs["NEVALRS"] != "")]
    assert len(outside) == 4
    assert set(outside["CRIT1FL"]) == {""} and set(outside["DTYPE"]) == {""}
