"""Efficacy datasets from the neuro engine (`cartrial.neuro.derive`): EDSS change and confirmed disability
change, the protocol's named responder definitions (vision, walking, bladder...), OSIS, relapses (ARR before
and after infusion, rate ratio, Kaplan-Meier relapse-free survival with numbers at risk).

Efficacy-evaluable population per endpoint (default): infused subjects the engine finds evaluable — a
baseline (last assessment on or before day 0, by default not within 30 days after an attack onset:
``analysis.options.responder_baseline_visit``, D-19.896) and at least one post-baseline assessment, plus the
definition's own conditions (e.g. room to improve at baseline). The others are counted and named with the
engine's reason.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from cartrial.analysis.model import Dataset, Population, stored_rows
from cartrial.analysis.populations import (
    SAFETY,
    death_dates,
    deaths_ending_study,
    dose_levels,
    end_of_study,
    follow_up_ends,
    infusion_dates,
    last_contact,
    protocol_levels,
    site_date,
    study_ends,
    subject_time_zones,
)
from cartrial.analysis.stats import RATE_CI_METHOD, proportion
from cartrial.analysis.summaries import by_subject, dose_level_groups, rows_of
from cartrial.errors import Problem, StoredValueError
from cartrial.neuro.relapses import OnsetPeriod
from cartrial.neuro.tables import disease_onset, history_onsets, unreadable_history_note

RESPONDER_TABLES = ("infusions", "edss", "visual_acuity", "osis", "timed_walk")
"""The snapshot tables `derive_responders` reads."""


def _restrict(frame: pd.DataFrame, ids: Sequence[str]) -> pd.DataFrame:
    return frame[frame["subject_id"].isin(list(ids))].reset_index(drop=True)


def responder_baseline_text(baseline_visit: str, relapse_data: bool) -> str:
    """The responder (and ``osis_change``) baseline rule in words, as `edss_datasets` states the EDSS one:
    the attack rule, or that it excluded nothing for want of relapse data (D-19.896, D-19.899).

    >>> responder_baseline_text("last", True)
    'the last value on or before day 0'
    >>> responder_baseline_text("outside_relapse", False)
    'the last value on or before day 0; no relapse data, so none excluded as during an attack'
    """
    from cartrial.neuro.disability import RELAPSE_EXCLUSION_DAYS

    if baseline_visit == "last":
        return "the last value on or before day 0"
    if not relapse_data:
        return "the last value on or before day 0; no relapse data, so none excluded as during an attack"
    return f"the last value on or before day 0 not within {RELAPSE_EXCLUSION_DAYS} days after an attack onset"


def responder_datasets(
    tables: Mapping[str, pd.DataFrame],
    protocol: Any,
    cutoff: dt.date,
    populations: dict[str, Population],
    rules: Any = None,
    attacks: Any = None,
    baseline_visit: str = "outside_relapse",
) -> dict[str, Dataset]:
    """`responders_by_subject` and `responders_summary` for every responder endpoint of the protocol; adds
    one ``efficacy:<endpoint>`` population per endpoint to `populations`, by the endpoint's evaluable rule
    (`rules`: the protocol's ``analysis.populations``, `cartrial.protocol.AnalysisPopulations`; default
    ``baseline_and_post_baseline``; ``all_infused`` counts the subjects the engine cannot evaluate as
    non-responders). `attacks`: the relapses (None when the study does not collect them: no value is then
    known to be during an attack); `baseline_visit`: the protocol's
    ``analysis.options.responder_baseline_visit`` (``outside_relapse`` | ``last``, D-19.896)."""
    from cartrial.neuro.derive import derive_responders, responder_definitions_from_protocol
    from cartrial.protocol.analysis_spec import AnalysisPopulations, EfficacyEvaluableRule

    rule_of = rules if isinstance(rules, AnalysisPopulations) else AnalysisPopulations()

    safety_ids = populations[SAFETY].subject_ids
    levels = dose_levels(tables["infusions"])
    planned = responder_definitions_from_protocol(protocol)
    if not planned:
        return {}
    given = {name: _restrict(tables[name], safety_ids) for name in RESPONDER_TABLES}
    with stored_rows(given):  # a refused record named by its id (D-19.542)
        result = derive_responders(
            given["infusions"],
            edss=given["edss"],
            visual_acuity=given["visual_acuity"],
            osis=given["osis"],
            timed_walk=given["timed_walk"],
            definitions=[d for d, _ in planned.values()],
            parameters={d: p for d, p in planned.values()},
            cutoff=cutoff,
            relapses=attacks,
            baseline_visit=baseline_visit,
        )
    baseline_text = responder_baseline_text(baseline_visit, attacks is not None)
    subject_rows: list[dict[str, Any]] = []
    summary_rows: list[dict[str, Any]] = []
    for endpoint, summary in zip(planned, result.summaries, strict=True):
        outcomes = {o.subject_id: o for o in summary.subjects}
        rule = rule_of.efficacy_rule(endpoint)
        all_infused = rule == EfficacyEvaluableRule.ALL_INFUSED
        excluded: dict[str, list[str]] = {}
        for sid in safety_ids:
            outcome = outcomes.get(sid)
            evaluable = outcome is not None and outcome.evaluable
            reason = "no assessment" if outcome is None else outcome.reason
            if not evaluable:
                excluded.setdefault(reason, []).append(sid)
            responder = bool(outcome.responder) if evaluable and outcome is not None else None
            # all_infused: a subject not evaluable is counted as a non-responder (non-responder imputation,
            # D-19.1134), said so in `imputed` for every reader of the row (provenance: D-19.1190)
            nri = all_infused and responder is None
            subject_rows.append(
                {
                    "endpoint": endpoint,
                    "definition": summary.definition,
                    "subject_id": sid,
                    "dose_level": levels.get(sid),
                    "evaluable": evaluable,
                    "responder": False if nri else responder,
                    "imputed": nri,
                    "reason": reason,
                    "in_population": evaluable or all_infused,
                    "evaluable_rule": rule.value,
                }
            )
        if all_infused:
            imputed = sorted(s for v in excluded.values() for s in v)
            population = Population(
                f"efficacy:{endpoint}",
                f"every infused subject (analysis rule all_infused); not evaluable for {summary.definition} "
                f"and counted as non-responders: {', '.join(imputed) or 'none'}",
                tuple(safety_ids),
            )
        else:
            population = Population(
                f"efficacy:{endpoint}",
                f"infused subjects evaluable for {summary.definition} (baseline: {baseline_text}, >= 1 "
                "post-baseline assessment and the definition's own conditions)",
                tuple(s for s in safety_ids if outcomes.get(s) is not None and outcomes[s].evaluable),
                {k: tuple(v) for k, v in excluded.items()},
            )
        populations[population.name] = population
        own = pd.DataFrame([r for r in subject_rows if r["endpoint"] == endpoint])
        for group, part in dose_level_groups(own, protocol_levels(protocol)):  # n = 0 if undosed (D-19.108)
            evaluable_part = part[part["in_population"]]
            k = int(evaluable_part["responder"].astype(bool).sum())
            p = proportion(k, len(evaluable_part))
            infused = proportion(k, len(part))
            summary_rows.append(
                {
                    "endpoint": endpoint,
                    "definition": summary.definition,
                    "description": summary.description,
                    "parameters": ";".join(f"{k2}={v}" for k2, v in sorted(summary.parameters.items())),
                    "group": group,
                    "n_responders": k,
                    "n_evaluable": p.n,
                    "percent_of_evaluable": p.percent,
                    "ci_low_pct": p.ci_low_pct,
                    "ci_high_pct": p.ci_high_pct,
                    "n_infused": infused.n,
                    "percent_of_infused": infused.percent,
                    "not_evaluable": len(part) - p.n,
                    "not_evaluable_subjects": ";".join(
                        sorted(part.loc[~part["in_population"], "subject_id"])
                    ),
                    "evaluable_rule": rule.value,
                    "population": population.name,
                    "ci_method": p.method,  # none named without an interval (n = 0, D-19.535)
                    "source": summary.source,
                }
            )
    by_subject = pd.DataFrame(subject_rows)
    by_subject["dose_level"] = by_subject["dose_level"].astype("Int64")
    return {
        "responders_by_subject": Dataset(
            "responders_by_subject",
            "Responder outcome per subject and endpoint (protocol definitions)",
            by_subject,
            SAFETY,
            "cartrial.neuro.derive_responders + responder_definitions_from_protocol",
            ("edss", "visual_acuity", "osis", "timed_walk", "infusions", "relapses"),
            # the baseline rule and whether relapse data were given: nothing excluded without (D-19.899)
            notes=tuple(result.notes),
            engine=(result.metadata(),),
        ),
        "responders_summary": Dataset(
            "responders_summary",
            "Responders per endpoint, dose level and overall (exact 95 % CI)",
            pd.DataFrame(summary_rows),
            "efficacy:<endpoint>",
            "cartrial.neuro.derive_responders",
            ("responders_by_subject",),
        ),
    }


def edss_baseline_text(baseline_visit: str) -> str:
    """The EDSS baseline rule of `edss_datasets` in words, by the protocol's
    ``analysis.options.edss_baseline_visit`` (D-19.864): the population's description and the EDSS key
    finding's definition state the same rule (D-19.983).

    >>> edss_baseline_text("last")
    'the last on or before day 0'
    >>> edss_baseline_text("outside_relapse")
    'the last on or before day 0 not within 30 days after a relapse onset'
    """
    from cartrial.neuro.disability import BaselineVisit, DisabilityOptions

    if baseline_visit == "last":
        return "the last on or before day 0"
    days = DisabilityOptions(baseline_visit=BaselineVisit(baseline_visit)).relapse_exclusion_days
    return f"the last on or before day 0 not within {days} days after a relapse onset"


def edss_datasets(
    tables: Mapping[str, pd.DataFrame],
    cutoff: dt.date,
    populations: dict[str, Population],
    attacks: Any,
    baseline_visit: str = "outside_relapse",
) -> dict[str, Dataset]:
    """`edss_scored` (every visit) and `edss_change` (baseline, last, change, CDI/CDW per subject).

    `attacks`: the relapses (None when the study does not collect them: a confirmed worsening is then
    neither relapse-associated nor PIRA, D-19.867); `baseline_visit`: the protocol's
    ``analysis.options.edss_baseline_visit`` (``outside_relapse`` | ``last``, D-19.864, D-19.869)."""
    from cartrial.neuro.derive import BASELINE_ONLY_IN_ATTACK, derive_disability, derive_edss, has_edss_change
    from cartrial.neuro.disability import BaselineVisit, DisabilityOptions

    safety_ids = populations[SAFETY].subject_ids
    levels = dose_levels(tables["infusions"])
    edss_rows = _restrict(tables["edss"], safety_ids)
    # each assessment scored by its own stored method (D-19.739): one parse of every row, so the date checks
    # see both methods' rows and name records (D-19.743); a refused record named by its id (D-19.542);
    # "after the cut-off" on the subject's site calendar, the snapshot's rule (D-19.729, D-19.732)
    with stored_rows({"edss": edss_rows}):
        edss = derive_edss(
            edss_rows,
            cutoff=cutoff,
            source="edss",
            method=None,
            zones=subject_time_zones(tables["infusions"]),
        )
    infused = _restrict(tables["infusions"], safety_ids)
    options = DisabilityOptions(baseline_visit=BaselineVisit(baseline_visit))
    # a second assessment on a subject's day is refused at its record (D-19.1009): `edss` has edss_rows' rows
    with stored_rows({"infusions": infused, "edss": edss_rows}):
        disability_result = derive_disability(edss, infused, relapses=attacks, options=options)
    disability = disability_result.table
    change = disability.copy()
    change.insert(1, "dose_level", [levels.get(s) for s in change["subject_id"]])
    change["dose_level"] = change["dose_level"].astype("Int64")
    change.insert(4, "edss_change", change["last_edss"] - change["baseline_edss"])
    evaluable = change.loc[has_edss_change(change), "subject_id"].tolist()  # a change to evaluate (D-19.187)
    missing = sorted(set(safety_ids) - set(evaluable))
    # a subject whose every pre-infusion EDSS is during an attack is named apart (D-19.869)
    in_attack = set(
        change.loc[change["reason"].astype(str).str.startswith(BASELINE_ONLY_IN_ATTACK), "subject_id"].astype(
            str
        )
    )
    excluded = {
        reason: subjects
        for reason, subjects in (
            ("baseline EDSS only during an attack", tuple(s for s in missing if str(s) in in_attack)),
            ("no baseline or no post-baseline EDSS", tuple(s for s in missing if str(s) not in in_attack)),
        )
        if subjects
    }
    baseline_text = edss_baseline_text(baseline_visit)
    populations["efficacy:edss_change"] = Population(
        "efficacy:edss_change",
        f"infused subjects with a baseline EDSS ({baseline_text}) and >= 1 later EDSS",
        tuple(s for s in safety_ids if s in evaluable),
        excluded,
    )
    return {
        "edss_scored": Dataset(
            "edss_scored",
            "EDSS per visit (by each assessment's method)",
            edss.table,
            SAFETY,
            "cartrial.neuro.derive_edss",
            ("edss",),
            engine=(edss.metadata(),),  # the method(s) used and the Kurtzke gap rules (D-19.742)
        ),
        "edss_change": Dataset(
            "edss_change",
            "EDSS change from baseline and confirmed disability improvement/worsening",
            change,
            "efficacy:edss_change",
            "cartrial.neuro.derive_disability",
            ("edss_scored", "infusions", "relapses"),
            columns={"edss_change": "last EDSS minus baseline EDSS, EDSS points (negative = better)"},
            # subjects left out, unscored visits and what they affected (D-19.685, D-19.688)
            notes=tuple(disability_result.notes),
        ),
    }


def osis_dataset(
    tables: Mapping[str, pd.DataFrame],
    cutoff: dt.date,
    populations: Mapping[str, Population],
    attacks: Any = None,
    baseline_visit: str = "outside_relapse",
) -> dict[str, Dataset]:
    """`osis_change`: each OSIS subscore at baseline and at the last visit, by the OSIS responders' rule
    (`cartrial.neuro.responders.baseline_and_follow_up`, one rule: D-19.903): the baseline is the
    subscore's last recorded value on or before day 0 — with ``baseline_visit`` ``outside_relapse`` not
    within 30 days after an onset of one of the `attacks` (D-19.896, D-19.898) — and the last its last
    recorded value after day 0, a blank cell skipped for that subscore only. ``evaluable``: at least one
    subscore has both."""
    from cartrial.neuro.derive import derive_osis
    from cartrial.neuro.relapses import onsets_by_subject
    from cartrial.neuro.responders import baseline_and_follow_up, baseline_window

    safety_ids = populations[SAFETY].subject_ids
    osis_rows = _restrict(tables["osis"], safety_ids)
    zones = subject_time_zones(tables["infusions"])  # the assessment's day on the site's calendar (D-19.607)
    with stored_rows({"osis": osis_rows}):  # a refused record named by its id (D-19.542)
        scored = derive_osis(osis_rows, cutoff=cutoff, zones=zones).table  # cut-off: D-19.732
    day0 = infusion_dates(tables["infusions"])
    scores = ["visual_worse_eye", "motor", "sensory", "sphincter"]
    window = baseline_window(baseline_visit)  # the responders' window (D-19.896)
    onsets = onsets_by_subject(attacks)
    rows = []
    groups = by_subject(scored)
    for sid in safety_ids:
        own = rows_of(groups, scored, sid).sort_values("assessed_at", kind="mergesort")
        days = [site_date(s, zones.get(sid)) for s in own["assessed_at"]]
        row: dict[str, Any] = {"subject_id": sid}
        evaluable = False
        for score in scores:
            values = pd.to_numeric(own[score], errors="coerce").tolist()
            visits = [(d, v) for d, v in zip(days, values, strict=True) if d is not None and pd.notna(v)]
            b, last = baseline_and_follow_up(visits, day0[sid], "last", None, onsets.get(sid, ()), window)
            evaluable = evaluable or (b is not None and last is not None)
            row[f"{score}_baseline"] = b
            row[f"{score}_last"] = last
            row[f"{score}_change"] = None if b is None or last is None else last - b
        rows.append({"subject_id": sid, "evaluable": evaluable, **row})
    return {
        "osis_change": Dataset(
            "osis_change",
            "OSIS subscores: baseline, last visit, change",
            pd.DataFrame(rows),
            SAFETY,
            "cartrial.neuro.derive_osis",
            ("osis", "infusions", "relapses"),
        )
    }


def _stored_day(value: Any) -> dt.date | None:
    """A stored date cell as a date (None when blank or NaT); `ValueError` (without the value) otherwise."""
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) >= 10:
            try:
                return dt.date.fromisoformat(text[:10])
            except ValueError:
                pass
    raise ValueError("not a date")


def disease_onset_dates(
    subjects: pd.DataFrame, notes: list[str] | None = None
) -> dict[str, dt.date | OnsetPeriod]:
    """The disease onset per subject with a diagnosis date (``subjects.diagnosis_date``; a subject without
    one, blank or NaT, is left out): the earlier of that date and the onsets of the subject's
    ``relapse_history`` (attacks before the study, which SDTM MH lists as such; `cartrial.neuro.tables.
    history_onsets`), the start the pre-infusion ARR window never precedes (D-19.708). A stored value that is
    no date is a `StoredValueError` naming the subject and the field, never the value (D-12.2). The history
    is read only with a diagnosis date; a partial onset is a period (an `OnsetPeriod` up to the latest
    possible onset, `cartrial.neuro.tables.disease_onset`), an unreadable entry is skipped with a note in
    `notes` naming the subject and the field (D-19.711).

    >>> disease_onset_dates(pd.DataFrame({"subject_id": ["A", "B"], "diagnosis_date": ["2020-10-01", None]}))
    {'A': datetime.date(2020, 10, 1)}
    """
    if "diagnosis_date" not in subjects.columns:
        return {}
    histories = (
        subjects["relapse_history"].tolist()
        if "relapse_history" in subjects.columns
        else [None] * len(subjects)
    )
    out: dict[str, dt.date | OnsetPeriod] = {}
    problems: list[Problem] = []
    for sid, value, history in zip(
        subjects["subject_id"], subjects["diagnosis_date"], histories, strict=True
    ):
        try:
            diagnosed = _stored_day(value)
        except ValueError:
            problems.append(
                Problem(
                    "not a date", record=f"subject {sid}", field="diagnosis_date", allowed="a date YYYY-MM-DD"
                )
            )
            continue
        if diagnosed is None:
            continue  # the history is read only with a diagnosis date (D-19.711)
        read = history_onsets(history)
        if read.unreadable and notes is not None:
            notes.append(unreadable_history_note(str(sid), read.unreadable))
        out[str(sid)] = disease_onset(diagnosed, read)
    if problems:
        raise StoredValueError(problems)
    return out


CONTACT_FORMS = frozenset(
    {"edss", "visual_acuity", "osis", "timed_walk", "crs_assessments", "icans_assessments", "labs"}
    | {"pk_samples", "pd_samples"}
)
"""The forms `_CONTACT` names: `cartrial.analysis.populations.CONTACT_COLUMNS`' keys (a test checks)."""
_CONTACT = (
    "the latest date on or before the cut-off of an EDSS, visual acuity, OSIS, timed walk, CRS or ICANS "
    "assessment, a lab, a PK or PD sample, or the infusion; never after a death or a dated end of study"
)
FOLLOW_UP_END_TEXT: dict[str, str] = {
    "last_contact": f"the last contact ({_CONTACT}), or a later relapse onset (never past the end of study)",
    "cutoff": "the cut-off, or the death or the end of study when earlier (its date, or when it is undated "
    f"the last contact: {_CONTACT})",
}
"""Where a subject's relapse follow-up after infusion ends, in words, per protocol
``analysis.options.relapse_follow_up_end`` (`relapse_datasets`; D-19.83, D-19.92): the relapse-free key
finding states the end its numbers were counted to, as `last_contact`, `follow_up_ends` and the relapse
engine's extension to a later relapse onset (D-19.587) count it (D-19.985, as amended)."""


def relapse_datasets(
    tables: Mapping[str, pd.DataFrame],
    protocol: Any,
    cutoff: dt.date,
    populations: Mapping[str, Population],
    follow_up_end: str = "last_contact",
    last_contacts: Mapping[str, dt.date] | None = None,
) -> tuple[dict[str, Dataset], Any]:
    """`relapses_by_subject`, `relapse_rates` (ARR pre/post, exact Poisson CI, rate ratio) and
    `relapse_free_km` (Kaplan-Meier with numbers at risk); also returns the attacks (for CDW). Follow-up
    after infusion ends at the subject's last contact (`last_contact`, default) or at the cut-off
    (protocol ``analysis.options.relapse_follow_up_end: cutoff``; at the death, or at the last contact of a
    subject whose study ended, when earlier: `follow_up_ends`, D-19.83, D-19.92). The median follow-up is the
    reverse Kaplan-Meier median with each subject's follow-up to that end, a subject who died (`end_of_study`:
    a fatal adverse event, or the form alone) censored (D-19.90, D-19.91, D-19.112). `last_contacts`: the
    `last_contact` of the safety set when the caller has it (`analyse`: `StudyPopulations.last_contact`,
    computed once); else computed here."""
    from cartrial.neuro.derive import (
        EXTENDED_NOTE_PREFIX,
        derive_relapses,
        km_frame,
        relapse_options_from_protocol,
    )
    from cartrial.neuro.relapses import median_follow_up_text

    safety_ids = populations[SAFETY].subject_ids
    levels = dose_levels(tables["infusions"])
    died = death_dates(tables["adverse_events"], cutoff)
    subjects = tables["subjects"]
    ends = end_of_study(subjects, died)
    study_deaths = deaths_ending_study(ends, cutoff)
    # one rule for every study: the births are checked whenever any subject has one, its date or its year;
    # a subject with neither (both optional in the store) has no before-birth check (D-19.553)
    with_birth = any(
        column in subjects and subjects[column].astype(bool).any() for column in ("birth_date", "birth_year")
    )
    last_assessment = (
        follow_up_ends(tables, safety_ids, cutoff)  # a death or the end of the study ends it
        if str(getattr(follow_up_end, "value", follow_up_end)) == "cutoff"
        else dict(last_contacts)
        if last_contacts is not None
        else last_contact(tables, safety_ids, cutoff)
    )
    given = {name: _restrict(tables[name], safety_ids) for name in ("relapses", "infusions", "subjects")}
    history_notes: list[str] = []  # skipped relapse_history entries (D-19.711)
    with stored_rows(given):  # a refused record named by its id (D-19.542)
        result = derive_relapses(
            given["relapses"],
            given["infusions"],
            last_assessment=last_assessment,
            cutoff=cutoff,
            subjects=given["subjects"] if with_birth else None,
            birth_required=False,
            options=relapse_options_from_protocol(protocol),
            # censored in the reverse KM: the deaths that ended the study (not one after a dated withdrawal),
            # a death the form alone dates included, as the populations read it (`end_of_study`, D-19.112)
            deaths={sid: study_deaths[sid] for sid in safety_ids if sid in study_deaths},
            # a relapse extends the follow-up to its onset (D-19.587), never past the end of study: its
            # date, or for an end stored undated (before D-19.92) the last contact, which is then that end
            ends_of_study={sid: day for sid, day in study_ends(ends).items() if sid in safety_ids},
            # the pre-infusion window starts no earlier than the disease onset (D-19.708)
            diagnoses=disease_onset_dates(given["subjects"], history_notes),
            source="relapses",
        )
    by_subject = result.table.copy()
    by_subject.insert(1, "dose_level", [levels.get(s) for s in by_subject["subject_id"]])
    by_subject["dose_level"] = by_subject["dose_level"].astype("Int64")
    rates: list[dict[str, Any]] = []
    assert result.arr is not None
    for period, rate in (("before infusion", result.arr.pre), ("after infusion", result.arr.post)):
        rates.append(
            {
                "measure": f"ARR {period}",
                "events": rate.events,
                "patient_years": rate.patient_years,
                "estimate": rate.rate,
                "ci_low": rate.ci_low,
                "ci_high": rate.ci_high,
                "method": rate.method,
            }
        )
    if result.rate_ratio is not None:
        ratio = result.rate_ratio
        reason = ratio.not_estimable_reason()
        rates.append(
            {
                "measure": "ARR ratio after/before",
                "events": ratio.post_attacks,
                "patient_years": None,
                # an infinite ratio (no attack before infusion) is not estimable, blank with the reason, never
                # "inf"; its lower limit stands (D-19.1187)
                "estimate": None if reason else ratio.ratio,
                "ci_low": ratio.ci_low,
                "ci_high": None if ratio.ci_high is None or math.isinf(ratio.ci_high) else ratio.ci_high,
                "method": f"{ratio.method.value}; {ratio.note}",
                "not_estimable": reason or "",
            }
        )
    km = result.km
    km_table = km_frame(km) if km is not None else pd.DataFrame()
    km_notes: tuple[str, ...] = ()
    km_facts: dict[str, str] = {}
    if km is not None:
        km_facts["median_follow_up"] = median_follow_up_text(km)  # quoted by the finding (D-19.225)
        km_notes = (
            f"relapse-free at last follow-up: {km.relapse_free_at_last} of {km.n_subjects}; "
            f"{km_facts['median_follow_up']}",
        )
    return {
        "relapses_by_subject": Dataset(
            "relapses_by_subject",
            "Relapses per subject: attacks and ARR before/after infusion",
            by_subject,
            SAFETY,
            "cartrial.neuro.derive_relapses",
            ("relapses", "infusions", "edss"),
            # the subjects a reported relapse followed past the last contact, and that bias (D-19.587); the
            # subjects whose pre-infusion window starts at disease onset (D-19.708)
            notes=(
                *(note for note in result.notes if note.startswith(EXTENDED_NOTE_PREFIX)),
                *result.arr.notes,
                *history_notes,
            ),
        ),
        "relapse_rates": Dataset(
            "relapse_rates",
            "Annualised relapse rate before and after infusion, and their ratio",
            pd.DataFrame(rates),
            SAFETY,
            "cartrial.neuro.derive_relapses",
            ("relapses_by_subject",),
            # the patients the rate ratio leaves out, and why (D-19.1188)
            notes=(
                RATE_CI_METHOD,
                *result.arr.notes,
                *history_notes,
                *(
                    (result.rate_ratio.left_out_text(),)
                    if result.rate_ratio and result.rate_ratio.left_out
                    else ()
                ),
            ),
        ),
        "relapse_free_km": Dataset(
            "relapse_free_km",
            "Relapse-free survival from day 0 (Kaplan-Meier, numbers at risk)",
            km_table,
            SAFETY,
            "cartrial.neuro.derive_relapses (km)",
            ("relapses", "infusions", "edss"),
            notes=km_notes,
            facts=km_facts,
        ),
    }, result


__all__ = [
    "CONTACT_FORMS",
    "FOLLOW_UP_END_TEXT",
    "edss_baseline_text",
    "edss_datasets",
    "osis_dataset",
    "relapse_datasets",
    "responder_datasets",
]
