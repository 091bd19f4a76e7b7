"""Key findings: plain-language statements generated from the derived datasets (never typed in). Each
carries its numerator, denominator, population, definition and the dataset it comes from."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import pandas as pd

from cartrial.analysis import safety
from cartrial.analysis.efficacy import FOLLOW_UP_END_TEXT, edss_baseline_text
from cartrial.analysis.model import Dataset, Finding, Population
from cartrial.analysis.options import analysis_spec
from cartrial.analysis.populations import (
    DLT_EVALUABLE,
    ENROLLED,
    LYMPHODEPLETED_NOT_INFUSED,
    SAFETY,
    protocol_levels,
)
from cartrial.analysis.stats import fixed, proportion
from cartrial.analysis.toxicity import (
    EARLY_ICAHT_PENDING,
    EARLY_LOWER_BOUND,
    EXPECTED_TERMS,
    EXPECTED_TEXT,
    THERAPIES_NOT_RECORDED,
    TREATMENT_EMERGENT_TEXT,
)
from cartrial.protocol.lab_tests import PK_ANALYTES
from cartrial.wording import all_of, count, k_of_n, none_of, verb

ONSET_DAYS = "elapsed days (not the calendar study day)"
"""The unit of an onset finding read from the episode datasets' ``*_onset_day`` (`toxicity.ELAPSED_DAYS`):
fractional days since the infusion's clock time, not the report's calendar day 0 = infusion date
(D-19.987)."""


def _pct(k: int, n: int) -> str:
    p = proportion(k, n)
    return "" if p.percent is None else f" ({fixed(p.percent, 0)} %)"


def _capital(text: str) -> str:
    """`text` as the start of a sentence ("Not evaluable: …" after a full stop, D-19.225)."""
    return text[:1].upper() + text[1:]


def _names(ids: Any) -> str:
    return ", ".join(sorted(str(i) for i in ids))


def not_infused_finding(
    datasets: Mapping[str, Dataset], populations: Mapping[str, Population]
) -> Finding | None:
    """The statement "N adverse events in k of n enrolled patients not infused (...) are listed in
    ae_not_infused, not in the safety tables" (D-19.88): the events the safety tables do not count, from
    ``ae_not_infused``; None when there is no such dataset (every enrolled subject infused, or none of the
    others had an event). The report's adverse-event section and the web safety page show this statement."""
    dataset = datasets.get("ae_not_infused")
    if dataset is None:
        return None
    table = dataset.table
    n_outside = len(set(populations[ENROLLED].subject_ids) - set(populations[SAFETY].subject_ids))
    n_subjects = int(table["subject_id"].nunique())
    after = table[table["after_lymphodepletion"].astype(bool)]
    detail = (
        f"{count(len(after), 'event')} on or after the first lymphodepletion dose, in "
        f"{count(int(after['subject_id'].nunique()), 'patient')}"
        if len(after)
        else "none on or after a lymphodepletion dose"
    )
    return Finding(
        "safety",
        f"{count(len(table), 'adverse event')} in {k_of_n(n_subjects, n_outside, 'enrolled patient')} not "
        f"infused ({detail}) {verb(len(table), 'is', 'are')} listed in ae_not_infused, not in the "
        "safety tables.",
        n_subjects,
        n_outside,
        ENROLLED,
        "adverse events of enrolled patients not infused with CAR-T cells by the cut-off (the safety set is "
        "the infused)",
        "ae_not_infused",
    )


def _count_row(summary: pd.DataFrame, measure: str) -> tuple[int, int]:
    row = summary[(summary["measure"] == measure) & (summary["group"] == "all")].iloc[0]
    return int(row["k"]), int(row["n"])


def disposition_findings(datasets: Mapping[str, Dataset]) -> list[Finding]:
    """The deaths and the discontinuations (by reason) of the enrolled patients, read from the
    ``disposition_summary`` dataset's ``all`` rows (D-19.208): a DSMB sees them on the first page, stated
    also when there is none. Empty when the dataset is absent."""
    dataset = datasets.get("disposition_summary")
    if dataset is None:
        return []
    rows = {str(r["measure"]): r for _, r in dataset.table[dataset.table["group"] == "all"].iterrows()}
    n_enrolled = int(rows["enrolled"]["n"])

    def ids(measure: str) -> str:
        return ", ".join(s for s in str(rows[measure]["subjects"]).split(";") if s)

    died = int(rows["deaths"]["n"])
    deaths = (
        f"{k_of_n(died, n_enrolled, 'enrolled patient')}{_pct(died, n_enrolled)} died by the cut-off: "
        f"{ids('deaths')}."
        if died
        else f"No patient died by the cut-off (0 of {n_enrolled} enrolled)."
    )
    stopped = int(rows["discontinued"]["n"])
    reasons = "; ".join(
        f"{str(rows[m]['description']).removeprefix('discontinued: ')} {int(rows[m]['n'])} ({ids(m)})"
        for m in rows
        if m.startswith("discontinued_") and int(rows[m]["n"])
    )
    discontinued = (
        f"{k_of_n(stopped, n_enrolled, 'enrolled patient')}{_pct(stopped, n_enrolled)} discontinued the "
        "study: "
        f"{reasons}."
        if stopped
        else f"No patient discontinued the study (0 of {n_enrolled} enrolled)."
    )
    return [
        Finding(
            "disposition",
            deaths,
            died,
            n_enrolled,
            ENROLLED,
            "every death by the cut-off (a fatal adverse event or the disposition death)",
            "disposition_summary",
        ),
        Finding(
            "disposition",
            discontinued,
            stopped,
            n_enrolled,
            ENROLLED,
            "study discontinued by the cut-off (disposition form or death), by reason",
            "disposition_summary",
        ),
    ]


def safety_findings(
    datasets: Mapping[str, Dataset],
    populations: Mapping[str, Population],
    protocol: Any,
    *,
    refused: Sequence[Any] = (),
) -> list[Finding]:
    """Safety key findings; `refused` (`cartrial.analysis.safety.RefusedRow`) are the records the grading
    refused, named in the DLT finding (subject, form, record id, field, rule; never a value)."""
    out: list[Finding] = []
    pops = datasets["populations"].table
    infused = pops[pops["safety"]]
    counts = {int(lv): int(n) for lv, n in infused["dose_level"].value_counts().items()}
    # every protocol dose level, "0 at dose level 2" while nobody has received it (D-19.108)
    by_level = ", ".join(
        f"{counts.get(lv, 0)} at dose level {lv}"
        for lv in sorted(set(counts) | set(protocol_levels(protocol)))
    )
    n = len(infused)
    lymphodepleted = populations[SAFETY].excluded.get(LYMPHODEPLETED_NOT_INFUSED, ())
    also = (
        f"; {len(lymphodepleted)} more {'was' if len(lymphodepleted) == 1 else 'were'} lymphodepleted but "
        f"not infused ({_names(lymphodepleted)})"
        if lymphodepleted
        else ""
    )
    out.append(
        Finding(
            "disposition",
            f"{k_of_n(n, len(pops), 'enrolled patient')} {verb(n, 'was', 'were')} infused "
            f"({by_level}){also}.",
            n,
            len(pops),
            "enrolled",
            "infused with CAR-T cells on or before the cut-off",
            "populations",
        )
    )
    out.extend(disposition_findings(datasets))
    by_subject = datasets["crs_icans_by_subject"].table
    for kind, label in (("crs", "CRS"), ("icans", "ICANS")):
        k = int(by_subject[f"{kind}_any"].sum())
        grades = sorted(
            int(g) for g in by_subject.loc[by_subject[f"{kind}_any"], f"{kind}_max_grade"].dropna()
        )
        not_assessed = by_subject.loc[~by_subject[f"{kind}_assessed"], "subject_id"].tolist()
        if k == 0:
            text = f"No patient had {label} ({k_of_n(0, n, 'infused patient')})."
        else:
            worst = max(grades)
            spread = f"all grade {min(grades)}–{worst}" if min(grades) != worst else f"all grade {worst}"
            ge3 = sum(g >= 3 for g in grades)
            if ge3:  # who, for the DSMB (D-19.208)
                severe = by_subject.loc[
                    by_subject[f"{kind}_any"] & (pd.to_numeric(by_subject[f"{kind}_max_grade"]) >= 3),
                    "subject_id",
                ]
                spread = f"maximum grade {worst}; grade ≥ 3 in {ge3} ({_names(severe)})"
            text = f"{label} occurred in {k_of_n(k, n, 'infused patient')}{_pct(k, n)}, {spread}."
        if not_assessed:
            text += f" Not assessed: {len(not_assessed)} — {_names(not_assessed)}."
        out.append(
            Finding(
                "safety",
                text,
                k,
                n,
                SAFETY,
                f"any {label} episode, ASTCT 2019 consensus grade (cartrial.grading, default options)",
                "crs_icans_by_subject",
            )
        )
    crs_cases = by_subject[by_subject["crs_any"]]
    if len(crs_cases):
        onset = pd.to_numeric(crs_cases["crs_first_onset_day"], errors="coerce").dropna()
        recorded = bool(crs_cases["crs_tocilizumab"].notna().all())
        toci = int(crs_cases["crs_tocilizumab"].sum()) if recorded else None
        steroid = int(crs_cases["crs_corticosteroid"].sum()) if recorded else None
        treatment = (
            f"tocilizumab was given in {toci} and corticosteroids in {steroid} "
            f"of {count(len(crs_cases), 'CRS case')}."
            if recorded
            # no therapies record in the study: not recorded, never "0 of N" (D-19.476)
            else f"CRS treatment (tocilizumab, corticosteroids) of the "
            f"{count(len(crs_cases), 'CRS case')} is {THERAPIES_NOT_RECORDED}."
        )
        out.append(
            Finding(
                "safety",
                # elapsed days from the infusion instant, not the report's calendar "day 0 = infusion
                # date" (crs_first_onset_day, ELAPSED_DAYS; D-19.987)
                f"CRS began a median of {fixed(onset.median(), 1)} days after the infusion "
                f"(range {fixed(onset.min(), 1)}–{fixed(onset.max(), 1)}); " + treatment,
                toci,
                len(crs_cases),
                SAFETY,
                f"time from the infusion instant to onset of the first CRS episode, in {ONSET_DAYS}; therapy "
                "doses recorded during an episode",
                "crs_icans_by_subject",
            )
        )
    teae = datasets["teae_summary"].table
    measures = (
        ("teae_grade_ge3", "had a treatment-emergent adverse event of grade ≥ 3"),
        # the companion of the line above: lymphodepletion's expected cytopenias left out (D-19.269)
        ("teae_grade_ge3_unexpected", ""),
        ("serious_teae", "had a serious treatment-emergent adverse event"),
        ("infection", "had an infection"),
    )
    for measure, words in measures:
        if not (teae["measure"] == measure).any():
            continue
        k, total = _count_row(teae, measure)
        # the study's treatment-emergence rule, the one the datasets were derived with (D-19.982)
        emergent = analysis_spec(protocol).options.treatment_emergent_start.value
        definition = f"adverse event with {TREATMENT_EMERGENT_TEXT[emergent]}, on or before the cut-off"
        if measure == "teae_grade_ge3_unexpected":
            option = analysis_spec(protocol).options.teae_expected_cytopenias.value
            words = (
                f"had a treatment-emergent adverse event of grade ≥ 3 other than {EXPECTED_TEXT[option]}, "
                "the expected effect of lymphodepletion"
            )
            definition += (
                f"; grade ≥ 3 other than the terms {', '.join(EXPECTED_TERMS[option])} "
                f"(analysis.options.teae_expected_cytopenias = {option})"
            )
        out.append(
            Finding(
                "safety",
                f"{k_of_n(k, total, 'infused patient')}{_pct(k, total)} {words}.",
                k,
                total,
                SAFETY,
                definition,
                "teae_summary",
            )
        )
    not_infused = not_infused_finding(datasets, populations)
    if not_infused is not None:
        out.append(not_infused)
    icaht = datasets["icaht"].table
    if len(icaht):
        pending_mask = icaht[EARLY_ICAHT_PENDING].astype(bool)
        graded = icaht[~pending_mask]
        k = int((graded["early_icaht_grade"].fillna(0) >= 3).sum())
        missing = "".join(
            f" Not evaluable: {note}." for note in datasets["icaht"].notes if not safety.is_method_note(note)
        )
        pending = sorted(icaht.loc[pending_mask, "subject_id"].astype(str))
        if pending:  # early window not complete at the cut-off (D-19.188)
            missing += f" Pending (day 30 not reached at the cut-off): {', '.join(pending)}."
        if EARLY_LOWER_BOUND in graded:  # counts stop ≤ 500/µL before the end of follow-up (D-19.717)
            bounded = graded[graded[EARLY_LOWER_BOUND].fillna(False).astype(bool)]
            if len(bounded):
                named = ", ".join(
                    f"{s} (≥ {int(g)})"
                    for s, g in sorted(
                        zip(bounded["subject_id"].astype(str), bounded["early_icaht_grade"], strict=True)
                    )
                )
                missing += (
                    " Grade a lower bound (neutrophil counts stop ≤ 500/µL before the end of follow-up): "
                    f"{named}."
                )
        text = (
            "Early ICAHT grade ≥ 3 occurred in "
            + k_of_n(
                k,
                len(graded),
                f"patient with neutrophil counts{' followed to day 30' if pending else ''}",
                f"patients with neutrophil counts{' followed to day 30' if pending else ''}",
            )
            + "."
            if len(graded)
            else "Early ICAHT (day 0-30) not yet evaluable: no patient with neutrophil counts followed to "
            "day 30."
        )
        out.append(
            Finding(
                "safety",
                f"{text}{missing}",
                k,
                len(graded),
                SAFETY,
                "EHA/EBMT ICAHT 2023 early grade (day 0-30), cartrial.grading",
                "icaht",
            )
        )
    dlt_pop = populations[DLT_EVALUABLE]
    dlt = pops[pops["dlt_evaluable"]]
    k = int(dlt["dlt_in_window"].sum())
    text = (
        f"{k_of_n(k, dlt_pop.n, 'DLT-evaluable patient')} had a dose-limiting toxicity by the protocol's DLT "
        "rules" + (f": {_names(dlt.loc[dlt['dlt_in_window'].astype(bool), 'subject_id'])}." if k else ".")
        if dlt_pop.n
        else "Dose-limiting toxicity not yet evaluable: no patient DLT-evaluable."
    )
    if dlt_pop.excluded:
        text += f" {_capital(dlt_pop.not_evaluable_text())}."
    assessed = datasets.get("dlt_assessments")
    if assessed is not None and "query" in assessed.table:
        asked = assessed.table[assessed.table["query"].fillna("").astype(str) != ""]
        if len(asked):  # a duration counted through "not assessable" assessments (D-19.787)
            text += (
                " To query (a DLT duration counted through assessments that could not grade the event, e.g. "
                f"sedated): {_names(asked['subject_id'].astype(str).drop_duplicates())}."
            )
    if refused:
        text += (
            f" Records the grading refused, left out of the graded events: {len(refused)} — "
            + "; ".join(
                f"{r.subject_id or 'unknown subject'} ({r.form} "
                + (f"record {r.record_id}" if r.record_id else f"row {r.row}")
                + f", {r.field or 'record'}: {r.rule})"
                for r in refused
            )
            + "."
        )
    out.append(
        Finding(
            "safety",
            text,
            k,
            dlt_pop.n,
            DLT_EVALUABLE,
            "a graded event meeting a protocol DLT rule (escalation.dlt_rules) within the "
            f"{protocol.escalation.dlt_window_days}-day DLT window",
            "dlt_by_dose_level",
        )
    )
    if "dlt_by_subject" in datasets:
        by_subject = datasets["dlt_by_subject"].table
        differ = by_subject[by_subject["agreement"] != "agree"]
        n_safety = len(by_subject)
        if differ.empty:
            text = (
                "The protocol's DLT rules and the investigators' DLT flags agree for "
                f"{all_of(n_safety, 'infused patient')}."
            )
        else:
            text = (
                "The protocol's DLT rules and the investigators' DLT flags disagree for "
                f"{k_of_n(len(differ), n_safety, 'infused patient')}: "
                + "; ".join(
                    f"{sid} ({what})"
                    for sid, what in zip(differ["subject_id"], differ["agreement"], strict=True)
                )
                + "."
            )
        out.append(
            Finding(
                "safety",
                text,
                len(differ),
                n_safety,
                SAFETY,
                "DLT by the protocol's rules on graded events vs adverse events flagged DLT by the "
                "investigator, "
                "both within the DLT window",
                "dlt_disagreements",
            )
        )
    if "escalation_replay" in datasets:
        out.append(replay_finding(datasets["escalation_replay"].table))
    return out


def replay_finding(replay: pd.DataFrame) -> Finding:
    """The key finding on the replay of the recorded escalation decisions (`escalation_replay`): how many
    agree with the protocol's design, the deviations, and the data queries apart (D-19.755)."""
    deviations = replay[replay["deviation"] != ""]
    # a design's answer that depends on an undated DLT's onset is a data query, listed apart: neither a
    # deviation nor an agreement (D-19.755)
    queried = replay["query"] != "" if "query" in replay else pd.Series(False, index=replay.index)
    queries = replay[queried & (replay["deviation"] == "")]
    agreeing = len(replay) - len(deviations) - len(queries)
    text = (
        f"{k_of_n(agreeing, len(replay), 'recorded escalation decision')} "
        f"{verb(agreeing, 'agrees', 'agree')} with the protocol's design"
    )
    text += (
        "."
        if deviations.empty
        else (
            "; deviations: "
            + "; ".join(
                f"cohort {c}: {d}" for c, d in zip(deviations["cohort"], deviations["deviation"], strict=True)
            )
            + "."
        )
    )
    asked = replay[queried]
    if len(asked):
        text += " Data queries: " + "; ".join(
            f"cohort {c}: {q}" for c, q in zip(asked["cohort"], asked["query"], strict=True)
        )
        text += "."
    return Finding(
        "safety",
        text,
        agreeing,
        len(replay),
        DLT_EVALUABLE,
        "decision replayed with the protocol's escalation design on the outcomes up to that cohort",
        "escalation_replay",
    )


def _rate_text(row: pd.Series, label: str, ci: str) -> str:
    """An ARR row of `relapse_rates` as text, "1.29 (95 % CI 0.88–1.83) before infusion": the estimate and
    its CI (`ci` before the limits), or "not estimable" with the reason when no patient-time accrued (0
    patient-years: the estimate and its limits are blank), as `cartrial relapses` says it (D-19.147)."""
    if pd.isna(row["estimate"]) or pd.isna(row["ci_low"]) or pd.isna(row["ci_high"]):
        return f"not estimable {label} (no follow-up time: 0 patient-years)"
    return f"{fixed(row['estimate'], 2)} ({ci}{fixed(row['ci_low'], 2)}–{fixed(row['ci_high'], 2)}) {label}"


RATE_RATIO_METHOD_WORDS: dict[str, str] = {
    "stratified_conditional": "exact conditional, stratified by patient",
    "pooled_conditional": "exact conditional, patients pooled",
}
"""The post/pre rate ratio's interval (`cartrial.neuro.RateRatioMethod`, the ``relapse_rates`` method column)
in the finding's words (D-19.226)."""


def efficacy_findings(
    datasets: Mapping[str, Dataset],
    populations: Mapping[str, Population],
    protocol: Any,
    outcomes: Collection[str] = ("edss", "relapses"),
) -> list[Finding]:
    """Efficacy findings; the disease outcomes only when the study collects them (`outcomes`, D-19.61)."""
    out: list[Finding] = []
    if "edss_change" in datasets and "edss" in outcomes:
        baseline_visit = analysis_spec(protocol).options.edss_baseline_visit.value
        change = datasets["edss_change"].table
        evaluable = change[change["edss_change"].notna()]
        fell = int((evaluable["edss_change"] < 0).sum())
        rose = int((evaluable["edss_change"] > 0).sum())
        pop = populations["efficacy:edss_change"]
        text = (
            f"EDSS fell from baseline in {k_of_n(fell, len(evaluable), 'evaluable patient')}"
            f"{_pct(fell, len(evaluable))} and rose in {rose} "
            f"(median change {evaluable['edss_change'].median():+g} points)."
            if len(evaluable)
            else "EDSS change from baseline not yet evaluable: no patient evaluable."
        )
        if pop.excluded:
            text += f" {_capital(pop.not_evaluable_text())}."
        out.append(
            Finding(
                "efficacy",
                text,
                fell,
                len(evaluable),
                pop.name,
                # the baseline rule the analysis used (analysis.options.edss_baseline_visit, D-19.983)
                f"last EDSS minus baseline EDSS ({edss_baseline_text(baseline_visit)}), each assessment by "
                "its own method",
                "edss_change",
            )
        )
        # only the patients whose baseline leaves room to improve under the improvement definition
        # (the engine's `improvement_evaluable`; cdi_common: baseline 0 cannot improve), D-19.623
        improvable = evaluable[evaluable["improvement_evaluable"].astype("boolean").fillna(False)]

        # a confirmed change across a method switch in the walking range is not evaluable, per direction: an
        # improvement confirmed before the switch stands while the worsening is not evaluable (D-19.746)
        def _switch(direction: str) -> pd.Series:
            column = f"{direction}_switch_excluded"
            if column not in evaluable.columns:
                return pd.Series(False, index=evaluable.index)
            return evaluable[column].astype("boolean").fillna(False).astype(bool)

        switch = _switch("improvement")
        switched = sorted(str(s) for s in evaluable.loc[switch, "subject_id"])
        worse_switched = sorted(str(s) for s in evaluable.loc[_switch("worsening"), "subject_id"])
        cannot = sorted(
            str(s) for s in evaluable.loc[~evaluable.index.isin(improvable.index) & ~switch, "subject_id"]
        )
        confirmed = int(improvable["improvement_confirmed"].astype("boolean").fillna(False).sum())
        if len(improvable):
            text = (
                f"Confirmed EDSS improvement in {k_of_n(confirmed, len(improvable), 'evaluable patient')}"
                f"{_pct(confirmed, len(improvable))}."
            )
        elif len(evaluable):
            text = "Confirmed EDSS improvement not evaluable: no evaluable patient can improve."
        else:
            text = "Confirmed EDSS improvement not yet evaluable: no patient evaluable."
        if cannot:
            text += (
                f" Not evaluable for improvement: {len(cannot)} — baseline EDSS leaves no room to improve "
                f"under the improvement definition: {', '.join(cannot)}."
            )
        across = (
            "the baseline and a later visit use different EDSS methods in the walking range (EDSS >= 4.0, "
            "where they differ by 0.5) and no change was confirmed before the switch; D-19.746"
        )
        if switched:
            text += (
                f" Confirmed improvement not evaluable: {len(switched)} — {across}: {', '.join(switched)}."
            )
        if worse_switched:
            text += (
                f" Confirmed worsening not evaluable: {len(worse_switched)} — {across}: "
                f"{', '.join(worse_switched)}."
            )
        out.append(
            Finding(
                "efficacy",
                text,
                confirmed,
                len(improvable),
                pop.name,
                "cartrial.neuro.derive_disability (CDI, default options), among the patients whose baseline "
                "EDSS can improve under the improvement definition (improvement_evaluable, D-19.623)",
                "edss_change",
            )
        )
    if "responders_summary" in datasets:
        summary = datasets["responders_summary"].table
        for _, row in summary[summary["group"] == "all"].iterrows():
            endpoint = str(row["endpoint"])
            spec = protocol.endpoints.get(endpoint)
            name = spec.name if spec is not None else endpoint
            k, n_eval, n_inf = int(row["n_responders"]), int(row["n_evaluable"]), int(row["n_infused"])
            pop = populations[f"efficacy:{endpoint}"]
            text = (
                f"{name}: {k_of_n(k, n_eval, 'evaluable patient')} responded{_pct(k, n_eval)}; "
                f"{k} of {n_inf} infused"
                f"{_pct(k, n_inf)}."
                if n_eval
                else f"{name}: not yet evaluable "
                f"({none_of(n_inf, 'infused patient', 'is evaluable', 'is not evaluable')})."
            )
            if pop.excluded:
                text += f" {_capital(pop.not_evaluable_text())}."
            out.append(
                Finding(
                    "efficacy",
                    text,
                    k,
                    n_eval,
                    pop.name,
                    f"{row['definition']} ({row['parameters']}): {row['description']}",
                    "responders_summary",
                )
            )
    if "relapse_free_km" in datasets and datasets["relapse_free_km"].notes and "relapses" in outcomes:
        by_subject = datasets["relapses_by_subject"].table
        post = by_subject.get("post_attacks", None)
        n = len(by_subject)
        free = int((post == 0).sum()) if post is not None else None
        # the count with its noun, then the analysis' median follow-up text (the part of its note, D-19.225)
        follow_up = datasets["relapse_free_km"].facts["median_follow_up"]
        follow_up_end = analysis_spec(protocol).options.relapse_follow_up_end.value
        statement = (
            f"{k_of_n(free, n, 'infused patient')} {verb(free or 0, 'was', 'were')} relapse-free at last "
            f"follow-up; {follow_up}."
            if free is not None
            else _capital(datasets["relapse_free_km"].notes[0]) + "."
        )
        out.append(
            Finding(
                "efficacy",
                statement,
                free,
                n,
                SAFETY,
                # the end of follow-up the analysis counted to (relapse_follow_up_end, D-19.985)
                "no relapse (protocol relapse definition) from day 0 to "
                f"{FOLLOW_UP_END_TEXT[follow_up_end]}; Kaplan-Meier, reverse-KM median follow-up",
                "relapse_free_km",
            )
        )
    if "relapse_rates" in datasets and "relapses" in outcomes:
        rates = datasets["relapse_rates"].table.set_index("measure")
        pre, post = rates.loc["ARR before infusion"], rates.loc["ARR after infusion"]
        text = (
            f"Annualised relapse rate {_rate_text(pre, 'before infusion', '95 % CI ')} and "
            f"{_rate_text(post, 'after', '')}."
        )
        ratio_row = "ARR ratio after/before"
        reason = str(rates.loc[ratio_row].get("not_estimable", "") or "") if ratio_row in rates.index else ""
        if (
            reason
        ):  # never "inf": not estimable with the reason and, as format_ratio, the lower limit (D-19.1187)
            text += f" Rate ratio after/before not estimable ({reason})."
            low = rates.loc[ratio_row, "ci_low"]
            if pd.notna(low):  # an infinite ratio: only its lower limit is estimable
                text += f" The rate ratio's 95 % CI lower limit is {fixed(low, 2)}."
        elif ratio_row in rates.index and pd.notna(rates.loc[ratio_row, "estimate"]):
            ratio = rates.loc[ratio_row]
            method = str(ratio.get("method", "") or "").split(";")[0].strip()
            words = RATE_RATIO_METHOD_WORDS.get(method)
            text += (
                f" Rate ratio after/before {fixed(ratio['estimate'], 2)} "
                f"(95 % CI {fixed(ratio['ci_low'], 2)}–{fixed(ratio['ci_high'], 2)}"
                f"{f', {words}' if words else ''}); the "
                "pre-treatment rate is inflated by the eligibility rule (regression to the mean)."
            )
        out.append(
            Finding(
                "efficacy",
                text,
                int(post["events"]),
                None,
                SAFETY,
                "attacks / patient-years; exact Poisson CI (Garwood 1936); exact conditional rate ratio "
                "(relapse_rates method column)",
                "relapse_rates",
            )
        )
    return out


def pk_pd_findings(
    datasets: Mapping[str, Dataset],
    populations: Mapping[str, Population],
    persistence_day: float = 180.0,
    outcomes: Collection[str] = ("aqp4_igg",),
) -> list[Finding]:
    from cartrial.analysis.kinetics import PERSISTENCE_EVALUABLE, persistence_column

    out: list[Finding] = []
    if "persistence" in datasets:
        persistence = datasets["persistence"].table
        pk_pop = populations["pk"]
        for analyte_key, part in persistence.groupby("analyte", sort=True):
            # the analyte in words (CDISC PCTEST, D-19.228), the form's name kept as the CSV's key
            known = PK_ANALYTES.get(str(analyte_key))
            analyte = f"{known[1]} ({analyte_key})" if known else str(analyte_key)
            evaluable = part[part[PERSISTENCE_EVALUABLE].astype(bool)]
            k = int(evaluable[persistence_column(persistence_day)].sum())
            n = len(evaluable)
            text = (
                f"{analyte}: quantifiable beyond day {persistence_day:g} in "
                + k_of_n(
                    k,
                    n,
                    f"patient with a result after day {persistence_day:g}",
                    f"patients with a result after day {persistence_day:g}",
                )
                + f"{_pct(k, n)}."
                if n
                else f"{analyte}: quantifiable beyond day {persistence_day:g} not yet evaluable: "
                + none_of(
                    len(part),
                    "patient with a PK result",
                    f"has a result after day {persistence_day:g}",
                    f"has no result after day {persistence_day:g}",
                    "patients with a PK result",
                )
                + "."
            )
            if n and len(part) > n:
                text += (
                    " "
                    + k_of_n(
                        len(part) - n, len(part), "patient with a PK result", "patients with a PK result"
                    )
                    # a pending sample after the day is a sample, not a result (D-19.1278, D-19.1285)
                    + f" not evaluable: no result after day {persistence_day:g} yet."
                )
            if pk_pop.excluded:
                text += f" {_capital(pk_pop.not_evaluable_text())}."
            out.append(
                Finding(
                    "pk",
                    text,
                    k,
                    n,
                    "pk",
                    f"last quantifiable sample (NCA tlast) after day {persistence_day:g}, among the patients "
                    f"with a result after day {persistence_day:g}",
                    "persistence",
                )
            )
    if "aqp4_titre_change" in datasets and "aqp4_igg" in outcomes:
        titre = datasets["aqp4_titre_change"].table
        evaluable = titre[titre["evaluable"].eq(True)]
        # only the patients whose baseline titre can fall (not negative: `titre_can_fall`), D-19.625
        # `fall_evaluable` is always a column of the dataset (TITRE_COLUMNS): no fallback counting everyone
        can_fall = evaluable["fall_evaluable"].eq(True)
        falling = evaluable[can_fall.to_numpy(dtype=bool)]
        negative = sorted(str(s) for s in evaluable.loc[~can_fall.to_numpy(dtype=bool), "subject_id"])
        k = int(falling["titre_fell"].astype(bool).sum())
        pop = populations["efficacy:aqp4_titre"]
        if len(falling):
            text = (
                f"AQP4-IgG titre fell by ≥ 1 dilution step in {k_of_n(k, len(falling), 'evaluable patient')}"
                f"{_pct(k, len(falling))}."
            )
        elif len(evaluable):
            text = "AQP4-IgG titre fall not evaluable: no evaluable patient has a positive baseline titre."
        else:
            text = "AQP4-IgG titre change not yet evaluable: no patient evaluable."
        if negative:
            text += (
                f" Not evaluable for a fall: {len(negative)} — baseline titre negative (cannot fall): "
                f"{', '.join(negative)}."
            )
        if pop.excluded:
            text += f" {_capital(pop.not_evaluable_text())}."
        out.append(
            Finding(
                "pd",
                text,
                k,
                len(falling),
                pop.name,
                "last post-infusion titre vs last titre on or before day 0, dilution-series steps "
                "(docs/science/neuro-outcomes.md §6), among the patients whose baseline titre is positive "
                "(fall_evaluable, D-19.625)",
                "aqp4_titre_change",
            )
        )
    return out


def underived_endpoint_findings(protocol: Any) -> tuple[Finding, ...]:
    """One finding per protocol endpoint that no dataset derives (`outcomes.underived_endpoints`, D-19.202):
    the analysis names it rather than leave a declared endpoint (e.g. a lupus SLEDAI-2K or DORIS remission
    endpoint) out of the report without a word."""
    from cartrial.analysis.outcomes import underived_endpoints

    out = []
    for key in underived_endpoints(protocol):
        endpoint = protocol.endpoints[key]
        out.append(
            Finding(
                "endpoints",
                f"{endpoint.name} ({endpoint.role.value} {endpoint.kind.value} endpoint '{key}', measure "
                f"'{endpoint.measure}'): not derived by cartrial — no cartrial form or engine derives this "
                "measure; analyse it outside cartrial.",
                None,
                None,
                ENROLLED,
                "protocol endpoint whose measure no analysis dataset derives",
                f"protocol endpoints.{key}",
            )
        )
    return tuple(out)


def data_status_finding(snapshot: Mapping[str, Any]) -> Finding:
    after = {k: v for k, v in snapshot.get("records_after_cutoff", {}).items() if v}
    lock = "unlocked (DRAFT)" if snapshot.get("unlocked") else f"locked (lock {snapshot.get('lock_id')})"
    text = f"Data cut-off {snapshot.get('cutoff')}: {lock}."
    read = snapshot.get("read_at_cutoff")  # the tables read at a later cut-off (D-19.1289, D-19.1293)
    at_read = f"the read cut-off {read}" if read else "the cut-off"
    if after:
        subjects = snapshot.get("subjects_with_records_after_cutoff", {})
        named = sorted({s for ids in subjects.values() for s in ids})
        text += (
            f" {count(sum(after.values()), 'record')} dated after {at_read} left out "
            f"({', '.join(f'{k}: {v}' for k, v in sorted(after.items()))}"
            + (f"; subjects {', '.join(named)}" if named else "")
            + ")."
        )
    early = {k: v for k, v in snapshot.get("records_of_subjects_consented_after_cutoff", {}).items() if v}
    if early:  # dated before the cut-off, of a subject not yet enrolled at it (decisions D-19.1147)
        text += (
            f" {count(sum(early.values()), 'record')} of subjects consented after {at_read} left out with "
            f"them ({', '.join(f'{k}: {v}' for k, v in sorted(early.items()))})."
        )
    ended = {k: v for k, v in snapshot.get("records_ended_after_cutoff", {}).items() if v}
    if ended:  # read as ongoing at the cut-off (decisions D-19.85)
        text += (
            f" {count(sum(ended.values()), 'record')} ended after the cut-off read as ongoing at it, end "
            f"date and outcome not yet known ({', '.join(f'{k}: {v}' for k, v in sorted(ended.items()))})."
            + (
                f" The tables were read at the read cut-off {read}: its counts are that date's."
                if read
                else ""
            )
        )
    respelled = {t: v for t, v in snapshot.get("values_read_in_spelling", {}).items() if v}
    if respelled:  # stored by a release before the one-spelling rule (decisions D-19.76)
        fields = ", ".join(
            f"{t}.{f}: {n}" for t in sorted(respelled) for f, n in sorted(respelled[t].items())
        )
        total = sum(n for v in respelled.values() for n in v.values())
        text += (
            f" {count(total, 'stored value')} in another case than their one spelling read in that spelling "
            f"({fields}); respell them in the database with `cartrial db respell --reason TEXT`."
        )
    return Finding("data", text, None, None, "enrolled", "records dated on or before the cut-off", "snapshot")


__all__ = [
    "data_status_finding",
    "efficacy_findings",
    "not_infused_finding",
    "pk_pd_findings",
    "safety_findings",
]
