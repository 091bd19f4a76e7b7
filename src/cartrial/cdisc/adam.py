"""ADaM (ADaMIG 1.3, OCCDS 1.1, ADaMIG-NCA 1.0, ADaM-TTE 1.0) datasets from the analysis layer.

Every analysis value — population flags, treatment-emergence, ASTCT/CTCAE grades, baseline and worst grades,
responders, EDSS change and confirmation, relapse times, NCA parameters — is taken from
`cartrial.analysis.analyse` (which calls the engines); nothing here re-derives a grade, a responder or an NCA
parameter. Identifiers, dates and record links come from the SDTM datasets built from the same snapshot.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cartrial.cdisc.common import (
    Visit,
    analysis_table,
    ascii_text,
    by_distinct,
    cdisc_unit,
    date_of,
    disease_of,
    empty_frame,
    finalize,
    is_scheduled_visit,
    parse_instant,
    protocol_visits,
    site_date_of,
    site_days,
    site_wall_clock,
    study_day,
    study_day_column,
    subject_zones,
)
from cartrial.cdisc.sdtm import PC_DIMENSION_TESTS, pc_test_codes
from cartrial.cdisc.spec import ADAM_ORDER, Codelist, DatasetSpec, Term, codelists, dataset_specs
from cartrial.columns import iso_instants
from cartrial.errors import InputError, InternalError, Problem

RESPONDER_PARAMS: Mapping[str, tuple[str, str]] = {
    "visual_acuity_response": ("VARESP", "Visual Acuity Response"),
    "walking_response": ("WALKRESP", "Walking (T25FW) Response"),
    "bladder_response": ("BLADRESP", "Bladder Response"),
    "edss_response": ("EDSSRESP", "EDSS Response"),
}
RESPONDER_CODELIST = "PARAMRS"
"""The sponsor codelist of ADRS.PARAMCD: the four codes of the reference protocol's responder endpoints
shipped in ct/codelists.yaml, or the study's own (`study_codelists`)."""


def responder_params(protocol: Any) -> dict[str, tuple[str, str]]:
    """Endpoint key → (PARAMCD, PARAM text) for every responder endpoint of `protocol` (an endpoint whose
    ``definition`` is a responder definition; protocol order). The reference protocol's endpoints keep their
    codes (`RESPONDER_PARAMS`); any other endpoint gets a code from its key: upper-case letters and digits,
    at most 8 characters, starting with a letter, numbered when it would repeat a code (SDTMIG/ADaMIG
    PARAMCD: 8 characters). Before, another key was cut to 8 characters outside the shipped codelist and
    `export cdisc` refused the study (D-19.35). The PARAM text is the endpoint's name (40 characters); a
    text another responder endpoint of the protocol already has ends with the code in parentheses, so PARAM
    and PARAMCD stay one-to-one (D-19.826)."""
    from cartrial.protocol.responders import RESPONDER_DEFINITIONS

    used = {code for code, _ in RESPONDER_PARAMS.values()}
    responders = {k: e for k, e in protocol.endpoints.items() if e.definition in RESPONDER_DEFINITIONS}
    # PARAM is one-to-one with PARAMCD (ADaMIG v1.3 §3.3.4): a text an earlier endpoint (or a shipped one of
    # this protocol) has is followed by the endpoint's code (D-19.826)
    texts = {RESPONDER_PARAMS[k][1] for k in responders if k in RESPONDER_PARAMS}
    out: dict[str, tuple[str, str]] = {}
    for key, endpoint in responders.items():
        if key in RESPONDER_PARAMS:
            out[key] = RESPONDER_PARAMS[key]
            continue
        stem = re.sub(r"[^A-Z0-9]", "", ascii_text(key).upper())
        stem = stem if stem[:1].isalpha() else f"R{stem}"
        code, number = stem[:8], 1
        while code in used:
            number += 1
            code = f"{stem[: 8 - len(str(number))]}{number}"
        used.add(code)
        text = ascii_text(str(endpoint.name))[:40] or code
        if text in texts:
            text = f"{text[: 40 - len(code) - 3].rstrip()} ({code})"
        texts.add(text)
        out[key] = (code, text)
    return out


def study_codelists(protocol: Any) -> dict[str, Codelist]:
    """The shipped codelists, with ADRS.PARAMCD's (`RESPONDER_CODELIST`) holding the codes of this study's
    responder endpoints (`responder_params`) and ADPP.PARAMCD's (`ADPP_CODELIST`) the codes of its partial
    AUCs (`adpp_codes`, D-19.890): what the export validates against and lists in Define-XML."""
    terms = codelists()
    shipped = terms[RESPONDER_CODELIST]
    own = [Term(value=code, decode=decode) for code, decode in responder_params(protocol).values()]
    # ADPP.PARAMCD: the shipped codes and one per partial-AUC interval of the protocol (D-19.890)
    pk = [Term(value=c, decode=d) for c, d in adpp_codes(protocol_intervals(protocol)).items()]
    return {
        **terms,
        RESPONDER_CODELIST: shipped.model_copy(update={"terms": own}),
        ADPP_CODELIST: terms[ADPP_CODELIST].model_copy(update={"terms": pk}),
    }


TTE_PARAMS: Mapping[str, str] = {
    "TTRELAP": "Time to First Relapse After Infusion (days)",
    "TTCRSON": "Time to CRS Onset (days)",
    "TTCRSRES": "Time to CRS Resolution (days)",
}


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dict("records")


def _yn(flag: Any) -> str:
    if flag is None or (isinstance(flag, float) and math.isnan(flag)) or flag is pd.NA:
        return ""
    return "Y" if bool(flag) else "N"


def treatment_duration_days(start: dt.date | None, end: dt.date | None) -> float:
    """ADSL.TRTDURD: TRTEDT - TRTSDT + 1 days, the first and the last day of exposure counted (admiral
    convention, `derive_var_trtdurd`) - the study day of TRTEDT counted from TRTSDT (`study_day`, no day 0);
    NaN without either date or for an end before the start (no exposure period; D-19.1435)."""
    if start is None or end is None or end < start:
        return math.nan
    return study_day(end, start)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) or value == ""


def _subject_values(
    keys: pd.Series | np.ndarray, adsl: pd.DataFrame, name: str, default: Any, key: str = "USUBJID"
) -> np.ndarray:
    """ADSL column `name` of each row's subject (`key` = USUBJID or SUBJID), `default` where the subject
    is not in ADSL (the column-wise ``subjects.get(key, {}).get(name, default)``)."""
    values = adsl[name].to_numpy()
    where = pd.Index(adsl[key].to_numpy(dtype=object)).get_indexer(np.asarray(keys, dtype=object))
    found = where >= 0
    if values.dtype.kind == "f" and isinstance(default, float):
        out: np.ndarray = np.full(len(where), default, dtype=float)
    else:
        out = np.empty(len(where), dtype=object)
        out[:] = [default] * len(where)
    out[found] = values[where[found]]
    return out


def _dates_of(values: pd.Series) -> np.ndarray:
    """`date_of` of every --DTC value, once per distinct value (object array of date/None)."""
    return by_distinct(values, lambda u: _object_array([date_of(v) for v in u]))


def _object_array(items: list[Any]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _frame(rows: list[dict[str, Any]], spec: DatasetSpec, sort: list[str]) -> pd.DataFrame:
    if not rows:
        return empty_frame(spec)
    frame = pd.DataFrame(rows)
    if sort and len(frame):
        frame = frame.sort_values(sort, kind="mergesort").reset_index(drop=True)
    return finalize(frame, spec, sort=[])


def _timed_instant(text: str) -> dt.datetime | None:
    """The instant of an ISO 8601 date-time with a time (naive UTC, `parse_instant`); None for a date only."""
    return parse_instant(text) if "T" in text else None


def build_adsl(
    analysis: Any, sdtm: Mapping[str, pd.DataFrame], spec: DatasetSpec, study_id: str, cutoff: dt.date
) -> pd.DataFrame:
    """One record per enrolled subject; population flags are membership of the analysis populations;
    DCUTDT the analysis' data cut-off `cutoff` (TS DCUTDTC, D-19.1362)."""
    pops = analysis.populations
    membership = analysis.datasets["populations"].table
    dm = {r["SUBJID"]: r for r in _rows(sdtm["DM"])}
    ex = sdtm["EX"]
    # first/last CAR-T infusion and first lymphodepletion EXSTDTC per subject (one groupby each, not one
    # filter per subject); Series.min/max of the same ISO text, so the same values
    cart_dtc = ex[ex["EXCAT"] == "CAR-T CELL INFUSION"].groupby("USUBJID", sort=False)["EXSTDTC"]
    first_cart, last_cart = cart_dtc.min().to_dict(), cart_dtc.max().to_dict()
    first_ld = ex[ex["EXCAT"] == "LYMPHODEPLETION"].groupby("USUBJID", sort=False)["EXSTDTC"].min().to_dict()
    zones = subject_zones(analysis)
    edss = {r["subject_id"]: r for r in _rows(analysis_table(analysis, "edss_change"))}
    arr = {r["subject_id"]: r for r in _rows(analysis_table(analysis, "relapses_by_subject"))}
    flags = {
        "ENRLFL": "enrolled",
        "FASFL": "full_analysis",  # D-19.1435
        "SAFFL": "safety",
        "DLTEVLFL": "dlt_evaluable",
        "PKFL": "pk",
        "EDSSEFL": "efficacy:edss_change",
        "VAEFL": "efficacy:visual_acuity_response",
        "WALKEFL": "efficacy:walking_response",
        "BLADEFL": "efficacy:bladder_response",
    }
    rows = []
    for m in _rows(membership):
        sid = str(m["subject_id"])
        d = dm.get(sid, {})
        usubjid = f"{study_id}-{sid}"
        level = m["dose_level"]
        has_level = not _missing(level)
        row: dict[str, Any] = {
            "STUDYID": study_id,
            "USUBJID": usubjid,
            "SUBJID": sid,
            "SITEID": d.get("SITEID", ""),
            "AGE": d.get("AGE", math.nan),
            "AGEU": d.get("AGEU", ""),
            "SEX": d.get("SEX", ""),
            "RACE": d.get("RACE", ""),
            "ETHNIC": d.get("ETHNIC", ""),
            "ARMCD": d.get("ARMCD", ""),
            "ARM": d.get("ARM", ""),
            "ACTARMCD": d.get("ACTARMCD", ""),
            "ACTARM": d.get("ACTARM", ""),
            "TRT01P": d.get("ARM", ""),
            "TRT01PN": float(level) if has_level else math.nan,
            "TRT01A": d.get("ACTARM", ""),
            "TRT01AN": float(level) if has_level else math.nan,
            "TRTSDT": date_of(first_cart[usubjid]) if usubjid in first_cart else None,
            # the infusion instant on the site's clock, as ADTTE STARTDTM (D-19.1268, D-19.607)
            "TRTSDTM": site_wall_clock(_timed_instant(first_cart.get(usubjid, "")), zones.get(sid)),
            "TRTEDT": date_of(last_cart[usubjid]) if usubjid in last_cart else None,
            # the last CAR-T infusion's instant on the site's clock, by TRTSDTM's one rule (D-19.1360)
            "TRTEDTM": site_wall_clock(_timed_instant(last_cart.get(usubjid, "")), zones.get(sid)),
            "LDSTDT": date_of(first_ld[usubjid]) if usubjid in first_ld else None,
            # the analysis' date last known alive, mapped only (D-19.1437)
            "LSTALVDT": None if _missing(alive := m.get("last_known_alive_date")) else date_of(str(alive)),
            "FUPDUR": float(m["follow_up_days"]) if not _missing(m.get("follow_up_days")) else math.nan,
            "DLTFL": _yn(m.get("dlt_in_window")) if sid in pops["dlt_evaluable"].subject_ids else "",
            "DTHFL": d.get("DTHFL", ""),
            "DTHDT": date_of(d["DTHDTC"]) if not _missing(d.get("DTHDTC")) else None,  # D-19.1361
            "DCUTDT": cutoff,  # D-19.1362
            "EOSSTT": m["study_status"],  # D-19.83, D-19.92
            "DCSREAS": m["discontinuation_reason"],
            "EOSDT": date_of(m["end_of_study_date"]) if m["end_of_study_date"] else None,
        }
        if "edss_change" in analysis.datasets:  # D-19.203: not a variable of a study without EDSS
            row["BEDSS"] = (
                float(edss[sid]["baseline_edss"])
                if sid in edss and not _missing(edss[sid]["baseline_edss"])
                else math.nan
            )
        if "relapses_by_subject" in analysis.datasets:
            row["PREARR"] = (
                float(arr[sid]["pre_arr"]) if sid in arr and not _missing(arr[sid]["pre_arr"]) else math.nan
            )
        row["TRTDURD"] = treatment_duration_days(row["TRTSDT"], row["TRTEDT"])  # D-19.1435
        for flag, pop in flags.items():
            if pop.startswith("efficacy:") and pop not in pops:
                continue  # D-19.203: a population the analysis does not define has no flag (not all 'N')
            row[flag] = "Y" if pop in pops and sid in pops[pop].subject_ids else "N"
        rows.append(row)
    return _frame(rows, spec, ["USUBJID"])


def build_adae(
    analysis: Any, sdtm: Mapping[str, pd.DataFrame], adsl: pd.DataFrame, spec: DatasetSpec, cutoff: dt.date
) -> pd.DataFrame:
    """OCCDS: one record per SDTM AE record. TRTEMFL from the analysis layer (`teae_listing`
    treatment_emergent, and `ae_not_infused` for a subject not infused, e.g. lymphodepleted only, SAFFL N:
    D-19.88; CRS/ICANS episodes are post-infusion by the grading engine's construction), ATOXGR =
    AETOXGR (analysis-layer ASTCT grade for episodes), CQ01NAM/CQ02NAM = CRS/ICANS customised queries,
    first-occurrence flags among treatment-emergent records."""
    ae = sdtm["AE"]
    emergent = {
        f"AE-{r['record_id']}": bool(r["treatment_emergent"])
        for name in ("teae_listing", "ae_not_infused")
        if name in analysis.datasets
        for r in _rows(analysis.datasets[name].table)
    }
    supp = sdtm.get("SUPPAE")
    scale: dict[tuple[str, str], str] = {}
    if supp is not None and len(supp):
        for r in _rows(supp[supp["QNAM"] == "AEGRSCL"]):
            scale[(r["USUBJID"], r["IDVARVAL"])] = r["QVAL"]
    if not len(ae):
        return empty_frame(spec)
    usubjid = ae["USUBJID"]
    spid = ae["AESPID"].astype(str)
    episode = spid.str.startswith(("CRS-", "ICANS-")).to_numpy()
    known = spid.isin(list(emergent)).to_numpy()
    trtem = np.full(len(ae), "", dtype=object)
    trtem[known] = ["Y" if emergent[x] else "" for x in spid.to_numpy()[known]]  # OCCDS: Y or null
    trtem[episode] = "Y"
    start, end = _dates_of(ae["AESTDTC"]), _dates_of(ae["AEENDTC"])
    trtsdt = _subject_values(usubjid, adsl, "TRTSDT", None)
    grade = ae["AETOXGR"].to_numpy()
    aeseq = ae["AESEQ"].to_numpy()
    both = np.array([bool(a and b) for a, b in zip(start, end, strict=True)], dtype=bool)
    frame = pd.DataFrame(
        {
            "STUDYID": ae["STUDYID"].to_numpy(),
            "USUBJID": usubjid.to_numpy(),
            "AESEQ": aeseq,
            "AESPID": ae["AESPID"].to_numpy(),
            "TRT01A": _subject_values(usubjid, adsl, "TRT01A", ""),
            "TRT01AN": _subject_values(usubjid, adsl, "TRT01AN", math.nan),
            "SAFFL": _subject_values(usubjid, adsl, "SAFFL", ""),
            "AETERM": ae["AETERM"].to_numpy(),
            "AEDECOD": ae["AEDECOD"].to_numpy(),
            "AECAT": ae["AECAT"].to_numpy(),
            "AESER": ae["AESER"].to_numpy(),
            "AEREL": ae["AEREL"].to_numpy(),
            "AETOXGR": grade,
            "ASTDT": start,
            "AENDT": end,
            "ASTDY": np.array(
                [study_day(a, t) if a and t else math.nan for a, t in zip(start, trtsdt, strict=True)],
                dtype=float,
            ),
            "AENDY": np.array(
                [study_day(b, t) if b and t else math.nan for b, t in zip(end, trtsdt, strict=True)],
                dtype=float,
            ),
            "ADURN": np.array(
                [float((b - a).days + 1) if a and b else math.nan for a, b in zip(start, end, strict=True)],
                dtype=float,
            ),
            "ADURU": np.where(both, "DAYS", "").astype(object),
            "AENRF": np.where(~ae["AEENDTC"].astype(bool).to_numpy(), "ONGOING", "").astype(object),
            "TRTEMFL": trtem,
            "ATOXGR": grade,
            "ATOXGRN": np.array([float(g) if g else math.nan for g in grade], dtype=float),
            "ATOXSCL": _object_array(
                [scale.get((u, str(int(q))), "") for u, q in zip(usubjid.to_numpy(), aeseq, strict=True)]
            ),
            "CQ01NAM": np.where((ae["AECAT"] == "CRS").to_numpy(), "CRS", "").astype(object),
            "CQ02NAM": np.where((ae["AECAT"] == "ICANS").to_numpy(), "ICANS", "").astype(object),
        }
    )
    frame = frame.sort_values(["USUBJID", "ASTDT", "AESEQ"], kind="mergesort", key=_date_key).reset_index(
        drop=True
    )
    for flag in ("AOCCFL", "AOCCPFL", "AOCCIFL"):
        frame[flag] = ""
    te = frame[frame["TRTEMFL"] == "Y"]
    frame.loc[te.groupby("USUBJID").head(1).index, "AOCCFL"] = "Y"
    frame.loc[te.groupby(["USUBJID", "AEDECOD"]).head(1).index, "AOCCPFL"] = "Y"
    worst = te.sort_values(["USUBJID", "ATOXGRN"], ascending=[True, False], kind="mergesort")
    frame.loc[worst.groupby("USUBJID").head(1).index, "AOCCIFL"] = "Y"
    return finalize(frame, spec, sort=[])


def _date_key(series: pd.Series) -> pd.Series:
    if series.name in ("ASTDT", "ADT"):
        return series.map(lambda d: d.isoformat() if isinstance(d, dt.date) else "9999")
    return series


def build_adlb(
    analysis: Any,
    sdtm: Mapping[str, pd.DataFrame],
    adsl: pd.DataFrame,
    spec: DatasetSpec,
    snapshot: Any,
    graded_labs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """BDS: the CTCAE-graded haematology results of the analysis layer
    (`cartrial.analysis.safety.graded_labs`, the table the analysis graded when it carries it)
    with ATOXGR, BTOXGR (the analysis `lab_shift` baseline grade), SHIFT1 and the worst-grade flag."""
    from cartrial.analysis import safety
    from cartrial.cdisc.sdtm import LB_TESTS

    graded = graded_labs if graded_labs is not None else _graded_labs(analysis, snapshot)
    lb = sdtm["LB"]
    if not len(graded):
        return empty_frame(spec)
    graded = graded.reset_index(drop=True)
    study_id = str(adsl["STUDYID"].iloc[0]) if len(adsl) else ""
    sid = graded["subject_id"].astype(str)
    usubjid = (study_id + "-") + sid
    subjects = adsl.set_index("USUBJID")
    analyte = graded["analyte"]
    table = {a: LB_TESTS.get(a, (str(a).upper(), str(a), "")) for a in pd.unique(analyte)}
    codes = [analyte.map({a: v[i] for a, v in table.items()}) for i in range(3)]
    shift = analysis.datasets["lab_shift"].table
    base_grade = pd.Series(math.nan, index=graded.index, dtype=float)
    if len(shift):
        lookup = (
            shift.assign(subject_id=shift["subject_id"].astype(str))
            .drop_duplicates(["subject_id", "analyte"], keep="last")
            .set_index(["subject_id", "analyte"])["baseline_grade"]
        )
        keys = pd.MultiIndex.from_arrays([sid, analyte])
        base_grade = pd.Series(
            pd.to_numeric(lookup.reindex(keys), errors="coerce").to_numpy(dtype=float), index=graded.index
        )
    when = iso_instants(graded["collected_at"])  # a text without an offset is UTC (review 3 of D-19.710)
    day = site_days(when, sid.map(subject_zones(analysis)))  # on the site's calendar (D-19.607)
    trtsdt = usubjid.map(pd.Series(pd.to_datetime(subjects["TRTSDT"], errors="coerce"), index=subjects.index))
    grade = graded["grade"].astype(int)
    has_base = ~np.isnan(base_grade.to_numpy())
    btoxgr = np.full(len(graded), "", dtype=object)
    btoxgr[has_base] = base_grade[has_base].astype(int).astype(str).to_numpy()
    unit = pd.Series(cdisc_unit(graded["canonical_unit"].astype(str)), index=graded.index)
    frame = pd.DataFrame(
        {
            "STUDYID": study_id,
            "USUBJID": usubjid,
            "TRT01A": usubjid.map(subjects["TRT01A"]).fillna(""),
            "TRT01AN": usubjid.map(subjects["TRT01AN"]).astype(float),
            "SAFFL": usubjid.map(subjects["SAFFL"]).fillna(""),
            "PARAMCD": codes[0],
            "PARAM": codes[1] + " (" + unit + ")",
            "PARCAT1": codes[2],
            "AVAL": graded["value_canonical"].astype(float),
            "ADT": _calendar_dates(day),
            "ADY": study_day_column(day, trtsdt),
            # the analysis' one baseline column, the treatment-emergent start's (D-19.710)
            "ONTRTFL": np.where(graded["pre_treatment"].astype(bool), "N", "Y"),
            "ATOXGR": grade.astype(str),
            "ATOXGRN": grade.astype(float),
            "BTOXGR": btoxgr,
            "BTOXGRN": base_grade.to_numpy(),
            "ATOXDSCL": graded["term"].map({t: ascii_text(t) for t in pd.unique(graded["term"])}),
            "ATOXSCL": graded["scale"],
        }
    )
    # time order and the baseline by the one order of the analysis' lab_shift baseline (site study day,
    # instant, record id; never collected_at's text; D-19.986)
    record = graded.get("record_id")
    order = safety.site_order([usubjid, codes[0]], graded["study_day"], when, record)
    pre = np.flatnonzero(graded["pre_treatment"].astype(bool).to_numpy())
    baseline = np.zeros(len(graded), dtype=bool)
    baseline[
        pre[
            safety.last_in_site_order(
                [usubjid.to_numpy()[pre], codes[0].to_numpy()[pre]],
                graded["study_day"].to_numpy()[pre],
                when.iloc[pre],
                None if record is None else record.to_numpy()[pre],
            )
        ]
    ] = True
    frame["ABLFL"] = np.where(baseline, "Y", "")
    refid = None if record is None else ("LB-" + record.astype(str)).to_numpy(dtype=object)
    if refid is not None:
        refid = refid[order]
    frame = frame.iloc[order].reset_index(drop=True)
    post = frame[frame["ONTRTFL"] == "Y"]
    frame["WGRFL"] = ""
    worst = post.sort_values(
        ["USUBJID", "PARAMCD", "ATOXGRN"], ascending=[True, True, False], kind="mergesort"
    )
    frame.loc[worst.groupby(["USUBJID", "PARAMCD"]).head(1).index, "WGRFL"] = "Y"
    on = (frame["ONTRTFL"] == "Y").to_numpy()
    frame["SHIFT1"] = np.where(
        on & (frame["BTOXGR"] != "").to_numpy(), frame["BTOXGR"] + " to " + frame["ATOXGR"], ""
    )
    frame["BASE"] = _of_baseline(frame, "AVAL").to_numpy(dtype=float)
    frame["CHG"] = np.where(on, frame["AVAL"] - frame["BASE"], math.nan)
    # PCHG = (AVAL - BASE) / BASE * 100 where CHG is, null for a baseline of 0 (ADaMIG v1.3 BDS; D-19.1436)
    chg, base_value = frame["CHG"].to_numpy(dtype=float), frame["BASE"].to_numpy(dtype=float)
    frame["PCHG"] = np.divide(
        chg * 100.0, base_value, out=np.full(len(frame), math.nan), where=~np.isnan(chg) & (base_value != 0)
    )
    frame["LBSEQ"] = _lb_seq(frame, lb, refid)
    # ANRIND is LB.LBNRIND of the record LBSEQ names (its predecessor, one derivation: D-19.474);
    # BNRIND the baseline record's ANRIND (D-19.1436)
    frame["ANRIND"] = _lb_nrind(frame, lb)
    frame["BNRIND"] = _of_baseline(frame, "ANRIND").fillna("").to_numpy(dtype=object)
    visits = protocol_visits(snapshot.protocol) if snapshot is not None else ()
    frame["AVISITN"], frame["AVISIT"] = _analysis_visits(frame, lb, visits)
    return finalize(frame, spec, sort=[])


def _analysis_visits(
    frame: pd.DataFrame, lb: pd.DataFrame, visits: Sequence[Visit]
) -> tuple[np.ndarray, np.ndarray]:
    """AVISITN/AVISIT of each ADLB record: LB.VISITNUM/VISIT of its LB record (USUBJID and LBSEQ) when that
    VISITNUM is a scheduled visit's number (`is_scheduled_visit` of `visits`, `protocol_visits`) — the one
    visit-window rule of the export (`timing_columns`: the window holding the date, nearest target first),
    never the visit's name (a protocol visit may be named 'UNSCHEDULED ...'); a record in no scheduled window
    (LB's unscheduled x.0k), or without its LB record (LBSEQ blank), has none (D-19.1363)."""
    n = len(frame)
    numbers = np.full(n, math.nan)
    names = np.full(n, "", dtype=object)
    if not n or not {"VISITNUM", "VISIT", "LBSEQ"} <= set(lb.columns):
        return numbers, names
    visit = lb["VISIT"].astype(object).where(lb["VISIT"].notna(), "").astype(str)
    source = pd.DataFrame(
        {
            "u": lb["USUBJID"].to_numpy(dtype=object),
            "s": pd.to_numeric(lb["LBSEQ"], errors="coerce").to_numpy(dtype=float),
            "n": pd.to_numeric(lb["VISITNUM"], errors="coerce").to_numpy(dtype=float),
            "v": visit.to_numpy(dtype=object),
        }
    ).drop_duplicates(["u", "s"], keep=False)  # a LBSEQ named twice for a subject identifies no record
    source = source[is_scheduled_visit(source["n"], visits)]
    found = pd.DataFrame(
        {"u": frame["USUBJID"].to_numpy(dtype=object), "s": frame["LBSEQ"].to_numpy(dtype=float)}
    ).merge(source, on=["u", "s"], how="left")
    keep = found["n"].notna().to_numpy()
    numbers[keep] = found["n"].to_numpy(dtype=float)[keep]
    names[keep] = found["v"].to_numpy(dtype=object)[keep]
    return numbers, names


def _calendar_dates(day: pd.Series) -> np.ndarray:
    """`Timestamp.date()` of every value (None where NaT), once per distinct value."""
    codes, uniques = pd.factorize(day)
    dates = _object_array([u.date() for u in uniques] + [None])
    return dates[codes]


def _graded_labs(analysis: Any, snapshot: Any) -> pd.DataFrame:
    """The analysis layer's graded labs: the table the analysis graded, else `safety.graded_labs` once."""
    kept = getattr(analysis, "intermediates", {}).get("graded_labs")
    if kept is None:
        from cartrial.analysis import safety
        from cartrial.analysis.toxicity import analysis_ctcae_version, treatment_emergent_rule

        # the site calendar the analysis decided (D-19.607): the snapshot's infusions have no time_zone
        kept = safety.graded_labs(
            snapshot.tables,
            analysis_ctcae_version(analysis),  # the study's version, never the default (D-19.988)
            treatment_emergent_start=treatment_emergent_rule(analysis),
            zones=subject_zones(analysis),
        )
    return kept.table


def _of_baseline(frame: pd.DataFrame, column: str) -> pd.Series:
    """`column` of the baseline record (ABLFL Y) of each record's subject and parameter, in frame order;
    missing without a baseline (BASE from AVAL, BNRIND from ANRIND)."""
    base = frame[frame["ABLFL"] == "Y"].set_index(["USUBJID", "PARAMCD"])[column]
    return base.reindex(pd.MultiIndex.from_frame(frame[["USUBJID", "PARAMCD"]]))


def _lb_nrind(frame: pd.DataFrame, lb: pd.DataFrame) -> np.ndarray:
    """LB.LBNRIND of the LB record of each ADLB record (USUBJID and LBSEQ, `_lb_seq`); blank without that
    record or without LBNRIND (D-19.1436)."""
    if not len(frame) or not {"LBSEQ", "LBNRIND"} <= set(lb.columns):
        return np.full(len(frame), "", dtype=object)
    source = pd.DataFrame(
        {
            "u": lb["USUBJID"].to_numpy(),
            "seq": pd.to_numeric(lb["LBSEQ"], errors="coerce").to_numpy(dtype=float),
            "ind": lb["LBNRIND"].astype(object).where(lb["LBNRIND"].notna(), "").astype(str).to_numpy(),
        }
    ).drop_duplicates(["u", "seq"], keep="first")
    return (
        pd.DataFrame({"u": frame["USUBJID"].to_numpy(), "seq": frame["LBSEQ"].to_numpy(dtype=float)})
        .merge(source, on=["u", "seq"], how="left", sort=False)["ind"]
        .fillna("")
        .to_numpy(dtype=object)
    )


def _lb_seq(frame: pd.DataFrame, lb: pd.DataFrame, refid: np.ndarray | None = None) -> np.ndarray:
    """LBSEQ of the SDTM LB record each ADLB record comes from: the LB record of that subject whose LBREFID
    is the ADLB record's (`refid`, ``LB-<lab record id>``, in frame order) — the record itself, even when LB
    holds another result of that test on that date that ADLB does not (a result the grading left out, no
    LLN or no value). No LB record of that subject and LBREFID, or more than one: blank (NaN; LBSEQ is
    Permissible, no predecessor named rather than a guessed one). No `refid` (a graded table without record
    ids) or an LB without LBREFID (an empty LB): blank throughout (D-19.1030)."""
    if refid is None or "LBREFID" not in lb.columns:
        return np.full(len(frame), math.nan)
    own = pd.DataFrame(
        {
            "u": lb["USUBJID"].to_numpy(),
            "r": lb["LBREFID"].astype(str).to_numpy(),
            "seq": pd.to_numeric(lb["LBSEQ"], errors="coerce").to_numpy(dtype=float),
        }
    ).drop_duplicates(["u", "r"], keep=False)  # a LBREFID named twice for a subject identifies no record
    return (
        pd.DataFrame({"u": frame["USUBJID"].to_numpy(), "r": refid})
        .merge(own, on=["u", "r"], how="left", sort=False)["seq"]
        .to_numpy(dtype=float)
    )


def build_adpc(
    sdtm: Mapping[str, pd.DataFrame],
    adsl: pd.DataFrame,
    spec: DatasetSpec,
    snapshot: Any,
    analysis: Any = None,
) -> pd.DataFrame:
    """ADaMIG-NCA concentration dataset: one record per PC record, nominal/actual days from the infusion."""
    pc = sdtm["PC"]
    if not len(pc):
        return empty_frame(spec)
    from cartrial.analysis.kinetics import sample_actual_days

    samples = snapshot.tables["pk_samples"]
    # the site's clock the analysis decided: 00:00:00Z is a date only west of UTC (D-19.947, D-19.1341)
    # the NCA's actual time of each sample (pre-dose: negative, from the date-times; D-19.304)
    days = dict(
        zip(
            ("PK-" + samples["record_id"].astype(str)).tolist(),
            sample_actual_days(samples, snapshot.tables["infusions"], subject_zones(analysis)).tolist(),
            strict=True,
        )
    )

    def actual_days(refs: pd.Series) -> np.ndarray:
        return np.array([days.get(ref, math.nan) for ref in refs], dtype=float)

    # the planned day of each sample (the pre-infusion one's is the dose, day 0): NFRLT is a nominal time,
    # not PCTPTNUM, which numbers the time points (PRE-INFUSION -0.5 or nearer 0; D-19.381, D-19.388)
    planned = dict(
        zip(
            ("PK-" + samples["record_id"].astype(str)).tolist(),
            pd.to_numeric(samples["nominal_day"], errors="coerce").tolist(),
            strict=True,
        )
    )

    def nominal_days(refs: pd.Series) -> np.ndarray:
        return np.array([planned.get(ref, math.nan) for ref in refs], dtype=float)

    resc = pc["PCSTRESC"].astype(object).where(pc["PCSTRESC"].notna(), "").astype(str)
    frame = pd.DataFrame(
        {
            **_pk_subject_columns(pc, "PCSEQ", adsl),
            "PARAMCD": adpc_paramcd(pc, pc["PCREFID"].astype(str).tolist()),
            "PARAM": (pc["PCTEST"].astype(str) + " (" + pc["PCSTRESU"].astype(str) + ")").to_numpy(),
            "AVAL": pc["PCSTRESN"].to_numpy(),
            "AVALC": pc["PCSTRESC"].to_numpy(),
            "AVALU": pc["PCSTRESU"].to_numpy(),
            "ALLOQ": pc["PCLLOQ"].to_numpy(),
            # blank without a result (PC has none such, D-19.1283): no flag on no value (D-19.1284)
            "BLQFL": np.where(
                resc.str.startswith("<") | (resc == "BLQ"), "Y", np.where(resc.str.strip() == "", "", "N")
            ).astype(object),
            "ADT": _dates_of(pc["PCDTC"]),
            "NFRLT": by_distinct(pc["PCREFID"], nominal_days),
            "AFRLT": by_distinct(pc["PCREFID"], actual_days),
            "FRLTU": "DAY",
            "PCSPEC": pc["PCSPEC"].to_numpy(),
        }
    )
    return finalize(frame, spec, sort=[])


ADPC_DIMENSION_PARAMS: Mapping[tuple[str, str], str] = {
    key: code for key, (code, _suffix) in PC_DIMENSION_TESTS.items()
}
"""The ADPC parameter of a PK test in a dimension other than its analyte's declared one: SDTM PC's own
PCTESTCD of that dimension (`cartrial.cdisc.sdtm.PC_DIMENSION_TESTS`; D-19.783, D-19.888)."""


def adpc_paramcd(pc: pd.DataFrame, locations: Sequence[str] | None = None) -> np.ndarray:
    """ADPC PARAMCD of each PC record, one PARAM and one unit per PARAMCD (ADaMIG v1.3 §3.3.4, D-19.783):
    the PCTESTCD of the record's test in the dimension of its standard unit (`cartrial.cdisc.sdtm.
    pc_test_codes`, the one rule SDTM PC writes PCTESTCD by, D-19.888), so PC.PCTESTCD itself when PC
    wrote it; a mix of units it cannot code is refused by the records at fault (`locations`).

    >>> units = ["copies/mL", "copies/ug gDNA", "copies/ug gDNA"]
    >>> pc = pd.DataFrame({"PCTESTCD": ["CARTRGN"] * 3, "PCSTRESU": units})
    >>> adpc_paramcd(pc).tolist()
    ['CARTRGNV', 'CARTRGN', 'CARTRGN']
    """
    return pc_test_codes(pc["PCTESTCD"], pc["PCSTRESU"], locations)


def _pk_subject_columns(records: pd.DataFrame, seq: str, adsl: pd.DataFrame) -> dict[str, Any]:
    """The identifiers and ADSL treatment/PK-population columns ADPC and ADPP share, one per SDTM PC/PP
    record (`seq` = its --SEQ)."""
    usubjid = records["USUBJID"]
    return {
        "STUDYID": records["STUDYID"].to_numpy(),
        "USUBJID": usubjid.to_numpy(),
        seq: records[seq].to_numpy(),
        "TRT01A": _subject_values(usubjid, adsl, "TRT01A", ""),
        "TRT01AN": _subject_values(usubjid, adsl, "TRT01AN", math.nan),
        "PKFL": _subject_values(usubjid, adsl, "PKFL", ""),
    }


ADPP_ANALYTES: Mapping[str, str] = {
    # the profile's ADPC PARAMCD (= PC.PCTESTCD of the analyte and dimension, D-19.888): PARAMCD prefix
    "CARTCELL": "CT",
    "CARTRGN": "TG",
    "CARTRGNV": "TV",
}
"""ADPP parameters are per PK parameter and analyte/dimension (D-19.824): PARAMCD is this prefix and the
PK parameter's PP.PPTESTCD (at most 6 characters, CDISC CT C85839), PARAM the test's PCTEST
(`cartrial.cdisc.sdtm.pc_tests`: the analyte's name in `cartrial.protocol.lab_tests.PK_ANALYTES`, written
once there, with the dimension suffix; D-19.832, D-19.888), PP.PPTEST and the unit; the sponsor codelist
ADPPPRCD (`ADPP_CODELIST`, ct/codelists.yaml) lists every code (`adpp_codes`)."""

ADPP_CODELIST = "ADPPPRCD"


def adpp_analyte_prefixes() -> dict[str, tuple[str, str]]:
    """The ADPC PARAMCD of a profile → (ADPP PARAMCD prefix, PARAM prefix): the test's PCTEST
    (`cartrial.cdisc.sdtm.pc_tests`; D-19.832, D-19.888)."""
    from cartrial.cdisc.sdtm import pc_tests

    names = pc_tests()
    return {param: (prefix, names[param]) for param, prefix in ADPP_ANALYTES.items()}


ADPP_INTERVAL_CODE = "PAUC"
"""The PK-parameter part of an interval AUC's ADPP PARAMCD: PAUC (partial AUC) and the interval's number
(PAUC1, PAUC2, ... in the protocol's order of ``analysis.options.nca_intervals_days``; D-19.890)."""


def _interval_day(duration: str) -> str:
    """The day number of an ISO 8601 duration PP writes (``P28D`` → 28, ``-P1D`` → -1, ``P0.5D`` → 0.5)."""
    text = str(duration)
    sign = "-" if text.startswith("-") else ""
    return sign + text.lstrip("-").removeprefix("P").removesuffix("D")


def adpp_interval_params(intervals: Sequence[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """(PPSTINT, PPENINT) of each interval AUC, in the protocol's order → (PK-parameter part of PARAMCD, its
    text): PAUC<n>, "AUC from Day <start> to Day <end>"; each interval is its own analysis parameter
    (ADaMIG v1.3 §3.3.4: PARAM holds all that qualifies the value; D-19.890). At most 99 (8 characters)."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for start, end in intervals:
        key = (str(start), str(end))
        if key not in out:
            text = f"AUC from Day {_interval_day(key[0])} to Day {_interval_day(key[1])}"
            out[key] = (f"{ADPP_INTERVAL_CODE}{len(out) + 1}", text)
    if len(out) > 99:
        raise InputError(
            Problem(
                "ADPP codes at most 99 partial-AUC intervals (PARAMCD of 8 characters)",
                file="protocol",
                field="analysis.options.nca_intervals_days",
                allowed="at most 99 intervals",
            )
        )
    return out


def protocol_intervals(protocol: Any) -> list[tuple[str, str]]:
    """(PPSTINT, PPENINT) of the protocol's partial AUCs in its order (`cartrial.cdisc.sdtm.pp_intervals`)."""
    from cartrial.cdisc.sdtm import pp_intervals

    return [(start, end) for _column, start, end in pp_intervals(protocol)]


def default_intervals() -> list[tuple[str, str]]:
    """(PPSTINT, PPENINT) of the partial AUCs of a protocol that states none (``analysis.options.
    nca_intervals_days`` default, days 0-28): the ones the shipped ADPPPRCD lists."""
    from types import SimpleNamespace

    from cartrial.protocol.analysis_spec import AnalysisOptions

    return protocol_intervals(SimpleNamespace(analysis=SimpleNamespace(options=AnalysisOptions())))


def adpp_codes(intervals: Sequence[tuple[str, str]] | None = None) -> dict[str, str]:
    """Every ADPP PARAMCD cartrial can write → its text without the unit (`adpp_analyte_prefixes` x the PK
    parameters of SDTM PP, `cartrial.cdisc.sdtm.PP_PARAMS`, and the partial AUCs of `intervals`,
    `adpp_interval_params`; default `default_intervals`): what ADPPPRCD lists (the shipped list the default
    interval, a study's its protocol's, `study_codelists`; D-19.890)."""
    from cartrial.cdisc.sdtm import PP_PARAMS

    tests = [(code, test) for code, test, _unit in PP_PARAMS.values()]
    spans = default_intervals() if intervals is None else intervals
    tests += list(adpp_interval_params(spans).values())
    return {
        prefix + code: f"{text} {test}"
        for prefix, text in adpp_analyte_prefixes().values()
        for code, test in tests
    }


def adpp_profile_params(pp: pd.DataFrame) -> np.ndarray:
    """The ADPC PARAMCD of each PP record's profile (`adpc_paramcd` of PPCAT, the analyte's PCTESTCD, and
    the profile's concentration unit): one NCA profile per subject and analyte with one concentration unit
    (`cartrial.kinetics.derive_nca`), read from its Cmax record, so a Tmax or a half-life record (a time
    unit) is its profile's analyte and dimension (D-19.824)."""
    keys = pp["USUBJID"].astype(str) + "\x00" + pp["PPCAT"].astype(str)
    cmax = pp["PPTESTCD"].astype(str) == "CMAX"
    conc = dict(zip(keys[cmax], pp.loc[cmax, "PPSTRESU"].astype(str), strict=True))
    units = keys.map(lambda k: conc.get(k, ""))
    profiles = pd.DataFrame({"PCTESTCD": pp["PPCAT"].astype(str).to_numpy(), "PCSTRESU": units.to_numpy()})
    locations = (pp["USUBJID"].astype(str) + " PPSEQ " + pp["PPSEQ"].astype(str)).tolist()
    return adpc_paramcd(profiles, locations)


def build_adpp(
    analysis: Any,
    sdtm: Mapping[str, pd.DataFrame],
    adsl: pd.DataFrame,
    spec: DatasetSpec,
    intervals: Sequence[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """BDS of the NCA parameters: one record per SDTM PP record (values = the analysis layer's).

    PARAMCD and PARAM are one-to-one (ADaMIG v1.3 §3.3.4; D-19.824): a parameter is the PK parameter
    (PP.PPTESTCD, kept as PPTESTCD for the link to SDTM) of one analyte in one dimension (the prefix of
    `adpp_analyte_prefixes` by the profile's ADPC PARAMCD), fixed by those alone, never by the data cut:
    CMAX of the CAR-T cells is CTCMAX "CAR-T Cells Max Conc (cells/uL)" in every cut. A partial AUC
    (PP.PPTESTCD AUCINT) is a parameter per interval: PAUC<n> by the interval's place in `intervals`
    ((PPSTINT, PPENINT) in the protocol's order, `protocol_intervals`; default `default_intervals`, the
    protocol default's), its PARAM naming the days, e.g. TGPAUC1 "CAR Transgene Copies AUC from Day 0 to
    Day 28 (...)"; a partial AUC of an interval not in `intervals` is refused, never numbered by the data
    (D-19.890)."""
    pp = sdtm["PP"]
    if not len(pp):
        return empty_frame(spec)
    from cartrial.protocol.lab_tests import PK_ANALYTES

    known = [code for code, _test in PK_ANALYTES.values()] + list(ADPC_DIMENSION_PARAMS.values())
    prefixes = adpp_analyte_prefixes()
    other = ~pp["PPCAT"].astype(str).isin(known).to_numpy()
    profile = np.array([], dtype=object) if other.any() else adpp_profile_params(pp)
    if other.any() or not set(profile) <= set(prefixes):
        # D-12.2: PPCAT is the user's free-text analyte, a record value: the records are named by location
        at = np.flatnonzero(other) if other.any() else np.flatnonzero(~pd.Series(profile).isin(prefixes))
        where = (pp["USUBJID"].astype(str) + " PPSEQ " + pp["PPSEQ"].astype(str)).to_numpy()[at].tolist()
        raise InputError(
            Problem(
                f"ADPP has no parameter code for an analyte other than {' / '.join(PK_ANALYTES)} "
                f"(records {', '.join(where[:10])}{', ...' if len(where) > 10 else ''})",
                file="pk_samples",
                field="analyte",
                allowed=" or ".join(PK_ANALYTES) + f" ({ADPP_CODELIST}, D-19.824, D-19.827)",
            )
        )
    prefix = np.array([prefixes[p][0] for p in profile], dtype=object)
    text = np.array([prefixes[p][1] for p in profile], dtype=object)
    test, unit = pp["PPTEST"].astype(str).to_numpy(dtype=object), pp["PPSTRESU"].astype(str)
    code = pp["PPTESTCD"].astype(str).to_numpy(dtype=object)
    from cartrial.cdisc.sdtm import AUCINT

    partial = code == AUCINT[0]
    if partial.any():  # one parameter per interval of the protocol, never numbered by the data (D-19.890)
        spans = list(zip(pp["PPSTINT"].astype(str), pp["PPENINT"].astype(str), strict=True))
        params = adpp_interval_params(default_intervals() if intervals is None else intervals)
        stray = [i for i in np.flatnonzero(partial) if spans[i] not in params]
        if stray:  # D-12.2: the records by location, not their interval
            where = (
                (pp["USUBJID"].astype(str) + " PPSEQ " + pp["PPSEQ"].astype(str)).to_numpy()[stray].tolist()
            )
            raise InputError(
                Problem(
                    "ADPP numbers a partial AUC by its interval's place in the protocol; records "
                    f"{', '.join(where[:10])}{', ...' if len(where) > 10 else ''} have an interval the "
                    "protocol does not list",
                    file="pk_samples",
                    field="PP.PPSTINT/PPENINT",
                    allowed="an interval of analysis.options.nca_intervals_days (D-19.890)",
                )
            )
        for i in np.flatnonzero(partial):
            code[i], test[i] = params[spans[i]]
    has_unit = unit.astype(bool).to_numpy()
    name = text + " " + test
    frame = pd.DataFrame(
        {
            **_pk_subject_columns(pp, "PPSEQ", adsl),
            "PARAMCD": prefix + code,
            "PARAM": np.where(has_unit, name + " (" + unit.to_numpy(dtype=object) + ")", name),
            "PARCAT1": pp["PPCAT"].to_numpy(),
            "PPTESTCD": pp["PPTESTCD"].to_numpy(),
            "AVAL": pp["PPSTRESN"].to_numpy(),
            "AVALU": pp["PPSTRESU"].to_numpy(),
            "PPSTINT": pp["PPSTINT"].to_numpy(),
            "PPENINT": pp["PPENINT"].to_numpy(),
        }
    )
    return finalize(frame, spec, sort=[])


def _dm_values(dm: pd.DataFrame | None, column: str) -> dict[str, str]:
    """USUBJID → the text of a DM `column` ({} without DM or without the column)."""
    if dm is None or column not in dm.columns:
        return {}
    return {str(u): str(v) for u, v in zip(dm["USUBJID"], dm[column], strict=True)}


def build_adtte(
    analysis: Any,
    adsl: pd.DataFrame,
    spec: DatasetSpec,
    cutoff: dt.date,
    label: str = "NMOSD",
    sdtm: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """ADaM-TTE: time to first relapse after the infusion (analysis `relapses_by_subject`), time to CRS
    onset (analysis `crs_icans_by_subject`, censored at the follow-up end) and from CRS onset to resolution
    (first CRS episode of `crs_episodes`; while ongoing at the cut-off, censored at its last assessment,
    D-19.588). AVAL in days. A time read
    from an SDTM record names it by SRCSEQ (the AE record of the CRS episode, the CE record of the attack on
    ADT; D-19.140)."""
    subjects = {r["SUBJID"]: r for r in _rows(adsl)}
    rows: list[dict[str, Any]] = []
    ae_seq, ce_seq = _source_seqs(sdtm or {})
    fa_seq = _crs_assessment_seqs(sdtm or {})
    crs = analysis.datasets["crs_episodes"].table
    has_episodes = "episode" in crs.columns  # no CRS graded in the study: the analysis table has no columns
    first_crs = (
        crs[crs["episode"] >= 1].sort_values(["subject_id", "episode"]).groupby("subject_id").head(1)
        if has_episodes
        else crs
    )
    first_episode = {str(r["subject_id"]): f"CRS-{int(r['episode'])}" for r in _rows(first_crs)}

    onset_of = {str(r["subject_id"]): parse_instant(str(r["onset_at"] or "")) for r in _rows(first_crs)}
    zones = subject_zones(analysis)  # ADT: the date on the site's calendar (D-19.607)
    dm = (sdtm or {}).get("DM")

    def add(
        sid: str,
        code: str,
        aval: float,
        cnsr: int,
        start: dt.date | None,
        desc: str,
        src: str,
        var: str,
        at: dt.date | None = None,
        instants: tuple[dt.datetime | None, dt.datetime | None] = (None, None),
        origin_clock: dt.datetime | None = None,
    ) -> None:
        """One record; ADT is `at`, the date of the instant AVAL was measured to when AVAL is a fraction
        of days between instants (the AE record's date, D-19.141), else STARTDT + AVAL whole days.
        `instants`: STARTDTM and ADTM when AVAL is measured between instants (D-19.262); `origin_clock`:
        STARTDTM already on the site's clock (ADSL.TRTSDTM for TTCRSON, D-19.1268), not instants[0]."""
        s = subjects.get(sid, {})
        adt = at
        if adt is None and start is not None and not math.isnan(aval):
            adt = start + dt.timedelta(days=aval)
        usubjid = s.get("USUBJID", "")
        seq: Any = None
        if src == "AE":
            seq = ae_seq.get((usubjid, first_episode.get(sid, "")))
        elif src == "CE" and adt is not None:
            seq = ce_seq.get((usubjid, adt.isoformat()))
        elif src == "FA" and instants[1] is not None:
            seq = fa_seq.get((usubjid, instants[1]))
        rows.append(
            {
                "STUDYID": s.get("STUDYID", ""),
                "USUBJID": s.get("USUBJID", ""),
                "TRT01A": s.get("TRT01A", ""),
                "TRT01AN": s.get("TRT01AN", math.nan),
                "SAFFL": s.get("SAFFL", ""),
                "PARAMCD": code,
                "PARAM": TTE_PARAMS[code],
                "AVAL": aval,
                "CNSR": float(cnsr),
                "STARTDT": start,
                # the site's clock (D-19.607)
                "STARTDTM": origin_clock
                if origin_clock is not None
                else site_wall_clock(instants[0], zones.get(sid)),
                "ADT": adt,
                "ADTM": site_wall_clock(instants[1], zones.get(sid)),
                "EVNTDESC": desc if cnsr == 0 else "",
                "CNSDTDSC": desc if cnsr == 1 else "",
                "SRCDOM": src,
                "SRCVAR": var,
                "SRCSEQ": math.nan if seq is None else float(seq),
            }
        )

    # the censoring time of TTRELAP is the relapse analysis's post_days: to the end of follow-up (ADSL.FUPDUR)
    # with relapse_follow_up_end: cutoff, else to the last contact, which no dataset variable holds (D-19.127)
    to_fupdur = str(getattr(analysis, "options", {}).get("relapse_follow_up_end", "")) == "cutoff"
    relapse_src, relapse_var = ("ADSL", "FUPDUR") if to_fupdur else ("", "")
    # the last contact is DM.RFPENDTC when the subject's last record of any kind is that contact: the
    # record then names DM/RFPENDTC, else (a later record that is no contact) nothing (D-19.257)
    last_record = {u: d[:10] for u, d in _dm_values(dm, "RFPENDTC").items()}
    for r in _rows(analysis_table(analysis, "relapses_by_subject")):
        sid = str(r["subject_id"])
        start = date_of(str(r["infusion_date"]))
        first = r["first_post_attack_day"]
        if not _missing(first):
            add(
                sid,
                "TTRELAP",
                float(first),
                0,
                start,
                f"FIRST {label} ATTACK AFTER INFUSION",
                "CE",
                "CESTDTC",
            )
        else:
            src, var = relapse_src, relapse_var
            days = float(r["post_days"])
            if not to_fupdur and start is not None and not math.isnan(days):
                usubjid = str(subjects.get(sid, {}).get("USUBJID", ""))
                if last_record.get(usubjid) == (start + dt.timedelta(days=days)).isoformat():
                    src, var = "DM", "RFPENDTC"
            add(sid, "TTRELAP", days, 1, start, "END OF RELAPSE FOLLOW-UP", src, var)
    by_subject = {str(r["subject_id"]): r for r in _rows(analysis.datasets["crs_icans_by_subject"].table)}
    followup = {str(r["subject_id"]): r for r in _rows(analysis.datasets["populations"].table)}
    for sid, r in by_subject.items():
        s = subjects.get(sid, {})
        start = s.get("TRTSDT")
        if bool(r["crs_any"]) and not _missing(r["crs_first_onset_day"]):
            onset = onset_of.get(sid)
            at = site_date_of(onset, zones.get(sid)) if onset is not None else None
            # STARTDTM is ADSL.TRTSDTM, the infusion on the site's clock, null for an infusion recorded
            # without a time; AVAL (the analysis' elapsed days) then counts from 00:00 of STARTDT on the
            # site's clock (D-19.948), and ADTM still gives the onset instant (D-19.1270)
            trtsdtm = s.get("TRTSDTM")
            origin = None if trtsdtm is None or pd.isna(trtsdtm) else pd.Timestamp(trtsdtm).to_pydatetime()
            add(
                sid,
                "TTCRSON",
                float(r["crs_first_onset_day"]),
                0,
                start,
                "CRS ONSET",
                "AE",
                "AESTDTC",
                at,
                (None, onset),
                origin,
            )
        else:
            add(
                sid,
                "TTCRSON",
                float(followup[sid]["follow_up_days"]),
                1,
                start,
                "END OF FOLLOW-UP WITHOUT CRS",
                "ADSL",
                "FUPDUR",
            )
    if not has_episodes:
        return _frame(rows, spec, ["USUBJID", "PARAMCD"])
    for r in _rows(first_crs):
        sid = str(r["subject_id"])
        onset = parse_instant(str(r["onset_at"]).replace("+00:00", "Z"))
        if onset is None:
            continue
        if not _missing(r["duration_days"]) and not _missing(r["resolved_at"]):
            resolved = parse_instant(str(r["resolved_at"]))
            at = site_date_of(resolved, zones.get(sid)) if resolved is not None else None
            add(
                sid,
                "TTCRSRES",
                float(r["duration_days"]),
                0,
                site_date_of(onset, zones.get(sid)),
                "CRS RESOLVED",
                "AE",
                "AEENDTC",
                at,
                (onset, resolved) if resolved is not None else (None, None),
            )
        else:
            # ongoing at the cut-off: censored at the episode's last assessment, which saw it ongoing (the
            # grading engine's `ongoing_at_day`; never an instant the data do not reach; D-19.588), the FA
            # record of that assessment its source (D-19.591); its date on the site's calendar, its time on
            # the site's clock, AVAL from the exact instants (D-19.607)
            last = parse_instant(str(r.get("last_assessed_at") or "").replace("+00:00", "Z"))
            if last is None or last < onset:
                # an unresolved episode has at least its onset's assessment (the grading engine's episodes)
                raise InternalError(
                    "crs_episodes: an unresolved CRS episode has no last_assessed_at on or after its onset"
                )
            days = (last - onset).total_seconds() / 86400
            add(
                sid,
                "TTCRSRES",
                round(days, 3),
                1,
                site_date_of(onset, zones.get(sid)),
                "CRS ONGOING AT LAST ASSESSMENT BEFORE DATA CUT-OFF",
                "FA",
                "FADTC",
                site_date_of(last, zones.get(sid)),
                (onset, last),
            )
    return _frame(rows, spec, ["USUBJID", "PARAMCD"])


def _crs_assessment_seqs(sdtm: Mapping[str, pd.DataFrame]) -> dict[tuple[str, dt.datetime], int]:
    """The lowest FASEQ of each CRS assessment by (USUBJID, its instant FADTC) — its component whose FATESTCD
    sorts first (FASEQ follows FA's keys), FIO2 when recorded: the FA record a censored
    ADTTE TTCRSRES reads its time from (SRCSEQ, D-19.591)."""
    fa = sdtm.get("FA")
    out: dict[tuple[str, dt.datetime], int] = {}
    if fa is None or not len(fa) or "FACAT" not in fa.columns:
        return out
    crs = fa[fa["FACAT"] == "CRS ASSESSMENT"].sort_values(["USUBJID", "FASEQ"])
    for u, dtc, seq in zip(crs["USUBJID"], crs["FADTC"], crs["FASEQ"], strict=True):
        at = parse_instant(str(dtc).replace("+00:00", "Z"))
        if at is not None:
            out.setdefault((str(u), at), int(seq))
    return out


def _source_seqs(
    sdtm: Mapping[str, pd.DataFrame],
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """AESEQ of each CRS/ICANS episode record by (USUBJID, AEGRPID) and CESEQ of the first CE record by
    (USUBJID, CESTDTC date): the SDTM records ADTTE's times are read from (SRCSEQ, D-19.140)."""
    ae = sdtm.get("AE")
    ae_seq: dict[tuple[str, str], int] = {}
    if ae is not None and len(ae) and "AEGRPID" in ae.columns:
        for r in _rows(ae[ae["AEGRPID"] != ""]):
            ae_seq.setdefault((str(r["USUBJID"]), str(r["AEGRPID"])), int(r["AESEQ"]))
    ce = sdtm.get("CE")
    ce_seq: dict[tuple[str, str], int] = {}
    if ce is not None and len(ce):
        for r in _rows(ce.sort_values(["USUBJID", "CESEQ"])):
            ce_seq.setdefault((str(r["USUBJID"]), str(r["CESTDTC"])[:10]), int(r["CESEQ"]))
    return ae_seq, ce_seq


FULL_TEXTS = "cartrial_full_texts"
"""`DataFrame.attrs` key: {variable: {PARAMCD: full text}} of values shortened to fit XPT v5."""
SHORTENED = " [... see define.xml]"
"""The end of a shortened ADRS.CRIT1: the text goes on, in full in define.xml (D-19.738)."""
GENERIC = "see define.xml"
"""ADRS.CRIT1 of a definition with no clause boundary within 200 characters (D-19.738)."""
NEVALRS_SHORTENED = " [...]"
NEVALRS_GENERIC = "reason longer than 200 characters: see define.xml (ADRS.NEVALRS method)"
"""ADRS.NEVALRS with no clause boundary within 200 characters: define.xml names where the reason is kept."""


SHORTENABLE: frozenset[tuple[str, str]] = frozenset({("ADRS", "CRIT1"), ("ADRS", "NEVALRS")})
"""(dataset, variable) whose values `shortened_text` may shorten (D-19.738): only these promise a full text
in define.xml; the same words in any other variable (a user's AETERM "see define.xml") are data."""


def shortened_text(text: str, limit: int = 200, marker: str = SHORTENED, generic: str = GENERIC) -> str:
    """`text` as it fits an XPT v5 cell of `limit` characters (D-19.738): unchanged when it fits, else its
    whole leading clauses (cut before a "; " or ", " outside parentheses) followed by `marker`, so a
    shortened text never ends inside a phrase and always says it is shortened; with no such clause
    boundary, `generic` (never a fragment cut at a blank, which reads as the whole criterion).

    >>> shortened_text("a b; c d", 200), shortened_text("alpha (x, y), beta; gamma delta", 20, " [...]")
    ('a b; c d', 'alpha (x, y) [...]')
    >>> shortened_text("alpha beta gamma delta epsilon", 20, " [...]", "see define.xml")
    'see define.xml'
    """
    text = text.strip()
    if len(text) <= limit:
        return text
    room = limit - len(marker)
    depth, clauses = 0, []
    for i, ch in enumerate(text[: room + 1]):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and text[i : i + 2] in ("; ", ", "):
            clauses.append(i)
    kept = text[: max(clauses)].rstrip(" ;,") if clauses else ""
    return kept + marker if kept else generic


NON_RESPONDER_IMPUTED = "NRI"
"""ADRS.DTYPE of a subject not evaluable counted as a non-responder under ``all_infused`` (a sponsor
extension of the ADaM CT DTYPE codelist, ct/codelists.yaml; D-19.1139)."""


def _imputed(flag: Any) -> bool:
    """A responders_by_subject ``imputed`` cell as a flag: blank or absent is not imputed (D-19.1190)."""
    return (
        flag is not None
        and flag is not pd.NA
        and not (isinstance(flag, float) and math.isnan(flag))
        and bool(flag)
    )


def build_adrs(
    analysis: Any, adsl: pd.DataFrame, spec: DatasetSpec, params: Mapping[str, tuple[str, str]]
) -> pd.DataFrame:
    """BDS of the responder endpoints (analysis `responders_by_subject`): one record per subject and
    endpoint; AVALC Y/N, empty when not evaluable (ANL01FL N and the reason) — under the analysis rule
    ``all_infused`` a subject not evaluable is in the analysis as a non-responder (AVALC N, ANL01FL Y, the
    reason kept; D-19.1134), marked DTYPE NRI with CRIT1FL empty, the criterion not evaluated (D-19.1139);
    CRIT1 = the definition, CRIT1FL its result where evaluated."""
    if "responders_by_subject" not in analysis.datasets:  # a protocol without responder endpoints
        return empty_frame(spec)
    subjects = {r["SUBJID"]: r for r in _rows(adsl)}
    summary = analysis.datasets["responders_summary"].table
    descriptions = {str(r["endpoint"]): str(r["description"]) for r in _rows(summary)}
    rows = []
    criteria: dict[str, str] = {}
    for r in _rows(analysis.datasets["responders_by_subject"].table):
        endpoint = str(r["endpoint"])
        code, name = params[endpoint]
        criteria.setdefault(code, ascii_text(descriptions.get(endpoint, str(r["definition"]))).strip())
        s = subjects.get(str(r["subject_id"]), {})
        evaluable = bool(r["evaluable"])
        # in the endpoint's population: the evaluable, or every infused subject under the analysis rule
        # all_infused, where one not evaluable is the analysis' non-responder (responder False): the record
        # carries it, so sum(AVALC = Y) / sum(ANL01FL = Y) is the analysis' proportion (D-19.1134)
        analysed = bool(r.get("in_population", evaluable))
        responder = r["responder"]
        avalc = _yn(responder) if analysed and not _missing(responder) else ""
        rows.append(
            {
                "STUDYID": s.get("STUDYID", ""),
                "USUBJID": s.get("USUBJID", ""),
                "TRT01A": s.get("TRT01A", ""),
                "TRT01AN": s.get("TRT01AN", math.nan),
                "PARAMCD": code,
                "PARAM": f"{name} ({r['definition']})",
                "AVAL": (1.0 if avalc == "Y" else 0.0) if avalc else math.nan,
                "AVALC": avalc,
                # at most 200 characters, shortened at a clause and marked; the full text per PARAMCD is
                # in define.xml (value-level metadata of CRIT1, `full_texts`; D-19.738)
                "CRIT1": shortened_text(criteria[code]),
                # the criterion's result only where it was evaluated: an imputed non-responder has none
                # (ADaMIG v1.3; D-19.623) and is marked by DTYPE (D-19.1139)
                "CRIT1FL": avalc if evaluable else "",
                # the analysis' own flag, one rule (responders_by_subject.imputed, D-19.1190)
                "DTYPE": NON_RESPONDER_IMPUTED if _imputed(r.get("imputed")) else "",
                "ANL01FL": "Y" if analysed else "N",
                "NEVALRS": ""
                if evaluable
                else shortened_text(ascii_text(r["reason"]), 200, NEVALRS_SHORTENED, NEVALRS_GENERIC),
            }
        )
    frame = _frame(rows, spec, ["USUBJID", "PARAMCD"])
    longer = {code: text for code, text in criteria.items() if shortened_text(text) != text}
    if longer:  # what define.xml gives as each PARAMCD's CRIT1 in full (D-19.738)
        frame.attrs[FULL_TEXTS] = {"CRIT1": longer}
    return frame


def _edss_sources(sdtm: Mapping[str, pd.DataFrame]) -> tuple[str, dict[tuple[str, Any], int]]:
    """The domain of the EDSS0101 records (QS or RS, whichever the export wrote; D-15.11) and the --SEQ of
    each by (USUBJID, assessment instant): the records ADEDSS's scores trace to (D-19.145)."""
    for domain in ("QS", "RS"):
        frame = sdtm.get(domain)
        if frame is None or not len(frame) or f"{domain}TESTCD" not in frame.columns:
            continue
        edss = frame[frame[f"{domain}TESTCD"] == "EDSS0101"]
        seqs: dict[tuple[str, Any], int] = {}
        for r in _rows(edss):
            when = parse_instant(str(r[f"{domain}DTC"] or ""))
            seqs.setdefault((str(r["USUBJID"]), when), int(r[f"{domain}SEQ"]))
        return domain, seqs
    return "", {}


METHOD_SWITCH_CRIT = "EDSS method differs from baseline at a later visit (Neurostatus vs Kurtzke)"
"""ADEDSS.CRIT3 (D-19.746)."""


def _evaluable_for_improvement(change: Mapping[str, Any]) -> bool:
    """The analysis layer's `improvement_evaluable` of an `edss_change` row (the neuro engine's rule)."""
    value = change["improvement_evaluable"]
    return not _missing(value) and bool(value)


def build_adedss(
    analysis: Any, adsl: pd.DataFrame, spec: DatasetSpec, sdtm: Mapping[str, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """BDS of the EDSS: one record per scored assessment (analysis `edss_scored`), BASE = the analysis
    baseline (`edss_change.baseline_edss`), CHG = AVAL - BASE; plus one EDSSCHG record per subject with the
    last change and the confirmed improvement/worsening flags of the analysis layer (CRIT1FL/CRIT2FL). Each
    score names its SDTM EDSS0101 record (SRCDOM, SRCVAR, SRCSEQ; D-19.145)."""
    subjects = {r["SUBJID"]: r for r in _rows(adsl)}
    zones = subject_zones(analysis)
    domain, seqs = _edss_sources(sdtm or {})
    change = {str(r["subject_id"]): r for r in _rows(analysis_table(analysis, "edss_change"))}
    # the subjects with a change to evaluate: the analysis population, as ADSL.EDSSEFL (D-19.187, D-19.1138)
    population = analysis.populations.get("efficacy:edss_change")
    with_change = {str(s) for s in population.subject_ids} if population is not None else set()
    rows = []
    for r in _rows(analysis_table(analysis, "edss_scored")):
        sid = str(r["subject_id"])
        s = subjects.get(sid, {})
        when = parse_instant(str(r["assessed_at"]))
        adt = site_date_of(when, zones.get(sid)) if when else None  # on the site's calendar (D-19.607)
        c = change.get(sid, {})
        base = c.get("baseline_edss")
        aval = r["edss"]
        before = when is not None and s.get("TRTSDT") is not None and adt <= s["TRTSDT"]
        seq = seqs.get((s.get("USUBJID", ""), when))
        rows.append(
            {
                "STUDYID": s.get("STUDYID", ""),
                "USUBJID": s.get("USUBJID", ""),
                "TRT01A": s.get("TRT01A", ""),
                "TRT01AN": s.get("TRT01AN", math.nan),
                "PARAMCD": "EDSS",
                "PARAM": "EDSS Score",
                "AVAL": math.nan if _missing(aval) else float(aval),
                "ADT": adt,
                "ADY": study_day(adt, s.get("TRTSDT")) if adt and s.get("TRTSDT") else math.nan,
                "BASE": math.nan if _missing(base) else float(base),  # type: ignore[arg-type]
                "CHG": math.nan if _missing(base) or _missing(aval) or before else float(aval) - float(base),  # type: ignore[arg-type]
                "ONTRTFL": "N" if before else "Y",
                "SRCDOM": domain if seq is not None else "",
                "SRCVAR": f"{domain}STRESN" if seq is not None else "",
                "SRCSEQ": math.nan if seq is None else float(seq),
                "_t": str(r["assessed_at"]),
                # the analysis baseline visit (edss_change.baseline_day, days from the infusion; D-19.866)
                "_base": before
                and not _missing(c.get("baseline_day"))
                and (adt - s["TRTSDT"]).days == int(c["baseline_day"]),
            }
        )
    frame = pd.DataFrame(rows)
    if len(frame):
        frame = frame.sort_values(["USUBJID", "_t"], kind="mergesort").reset_index(drop=True)
        frame["ABLFL"] = ""
        pre = frame[(frame["ONTRTFL"] == "N") & frame["AVAL"].notna()]
        if any("baseline_day" in c for c in change.values()):
            # the record the analysis took as baseline (BASE is its AVAL; ADaM IG v1.3 §4.2): not always the
            # last pre-dose one — a visit during an attack is not the baseline (D-19.864, D-19.866)
            frame.loc[pre.index[pre["_base"].astype(bool)], "ABLFL"] = "Y"
            # BASE is the AVAL of the ABLFL record (ADaM IG v1.3 §4.2): a subject with a BASE and no flagged
            # record (a baseline_day that matches no scored pre-dose record) stops the export (D-19.871)
            flagged = set(frame.loc[frame["ABLFL"] == "Y", "USUBJID"])
            based = set(frame.loc[frame["BASE"].notna(), "USUBJID"])
            unflagged = based - flagged
            if unflagged:
                raise InternalError(
                    f"ADEDSS: {len(unflagged)} subject(s) with an EDSS baseline (BASE) but no record flagged "
                    "ABLFL: edss_change.baseline_day matches none of their scored EDSS records on or before "
                    "the first treatment date"
                )
        else:
            frame.loc[pre.groupby("USUBJID").tail(1).index, "ABLFL"] = "Y"
    extra = []
    any_switch = any(
        not _missing(c.get("method_switch")) and bool(c.get("method_switch")) for c in change.values()
    )
    for sid, c in change.items():
        s = subjects.get(sid, {})
        extra.append(
            {
                "STUDYID": s.get("STUDYID", ""),
                "USUBJID": s.get("USUBJID", ""),
                "TRT01A": s.get("TRT01A", ""),
                "TRT01AN": s.get("TRT01AN", math.nan),
                "PARAMCD": "EDSSCHG",
                "PARAM": "EDSS Change from Baseline to Last Assessment",
                "AVAL": math.nan if _missing(c["edss_change"]) else float(c["edss_change"]),
                "BASE": math.nan if _missing(c["baseline_edss"]) else float(c["baseline_edss"]),
                "CRIT1": "Confirmed EDSS improvement (analysis layer options)",
                # blank, not "N", for a patient whose baseline leaves no room to improve (the engine's
                # improvement_evaluable): not a non-improver; ADRS blanks a non-evaluable CRIT1FL (D-19.623)
                "CRIT1FL": _yn(c["improvement_confirmed"]) if _evaluable_for_improvement(c) else "",
                "CRIT2": "Confirmed EDSS worsening (analysis layer options)",
                # blank when a method switch in the walking range leaves it not evaluable (pd.NA; D-19.746),
                # or when there is no change to evaluate (no baseline or no later EDSS: out of
                # efficacy:edss_change, as CRIT1FL is blank then; D-19.187, D-19.1138)
                "CRIT2FL": _yn(c["worsening_confirmed"]) if sid in with_change else "",
                # the baseline and a later visit scored by different EDSS methods (D-19.742); CRIT3/CRIT3FL
                # are left out when no subject's method changes (D-19.746)
                **(
                    {"CRIT3": METHOD_SWITCH_CRIT, "CRIT3FL": _yn(c.get("method_switch", False))}
                    if any_switch
                    else {}
                ),
                "_t": "9999",
            }
        )
    if extra:
        frame = pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)
    if not len(frame):
        return empty_frame(spec)
    frame = frame.sort_values(["USUBJID", "PARAMCD", "_t"], kind="mergesort").reset_index(drop=True)
    return finalize(frame.drop(columns=["_t", "_base"], errors="ignore"), spec, sort=[])


def build_adam(snapshot: Any, analysis: Any, sdtm: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every ADaM dataset, in `ADAM_ORDER`; the snapshot's records read as the analysis reads them at its
    cut-off (`read_at_cutoff`, D-19.990)."""
    from cartrial.cdisc.common import read_at_cutoff

    snapshot = read_at_cutoff(snapshot)
    specs = dataset_specs()
    study_id = ascii_text(snapshot.protocol.study.id)
    out: dict[str, pd.DataFrame] = {}
    out["ADSL"] = build_adsl(analysis, sdtm, specs["ADSL"], study_id, snapshot.cutoff)
    out["ADAE"] = build_adae(analysis, sdtm, out["ADSL"], specs["ADAE"], snapshot.cutoff)
    out["ADLB"] = build_adlb(analysis, sdtm, out["ADSL"], specs["ADLB"], snapshot)
    out["ADPC"] = build_adpc(sdtm, out["ADSL"], specs["ADPC"], snapshot, analysis)
    intervals = protocol_intervals(snapshot.protocol)
    out["ADPP"] = build_adpp(analysis, sdtm, out["ADSL"], specs["ADPP"], intervals)
    label = disease_of(snapshot.protocol).label
    out["ADTTE"] = build_adtte(analysis, out["ADSL"], specs["ADTTE"], snapshot.cutoff, label, sdtm)
    out["ADRS"] = build_adrs(analysis, out["ADSL"], specs["ADRS"], responder_params(snapshot.protocol))
    out["ADEDSS"] = build_adedss(analysis, out["ADSL"], specs["ADEDSS"], sdtm)
    return {name: out[name] for name in ADAM_ORDER}


__all__ = [
    "RESPONDER_CODELIST",
    "RESPONDER_PARAMS",
    "build_adam",
    "responder_params",
    "study_codelists",
    "treatment_duration_days",
]
