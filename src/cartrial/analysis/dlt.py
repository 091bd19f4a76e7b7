"""Dose-limiting toxicities: the protocol's DLT rules applied to the graded events, per subject and dose
level, next to the investigator's flag; and the replay of the recorded escalation decisions.

Graded events (`cartrial.protocol.GradedEvent`), each with its source:

- CRS and ICANS episodes (ASTCT 2019) and runs of haematology results at CTCAE grade >= 3 (with their
  duration), from the grading engine (`cartrial.analysis.safety.graded_events` →
  `cartrial.grading.derive_graded_events`);
- adverse events of the other categories (`AE_CATEGORIES`: non-haematological, infection, death) with the
  investigator's grade, relatedness and DLT flag (``adverse_events``); an adverse event of grade 5 is also a
  death event. The organ the organ rules read comes from the CTCAE term
  (`cartrial.escalation.dlt.event_organ`). CRS, ICANS and haematological adverse-event records are not
  evaluated by the other rules: their grades come from the assessments and the laboratory results (the
  records' dates span the whole episode at any grade, not its duration at grade >= 3;
  docs/science/decisions.md D-13.2). An adverse event without an end date is taken as ongoing at the
  end of follow-up (``ongoing_at_day``): the cut-off, or the death or the dated end of study when earlier
  (`cartrial.analysis.populations.follow_up_ends`; D-19.83, D-19.116).
- the committee-judged rules (``committee_judgement``) read the investigator's DLT flag
  (``adverse_events.dlt``) as the recorded judgement, on every adverse event, whatever its category
  (D-13.8): a flagged CRS, ICANS or haematological record is an event evaluated by those rules only.

Graded CRS and ICANS are related to the product by definition
(`cartrial.escalation.dlt.attributed_relatedness`, ASTCT 2019; D-13.6); the ``relatedness`` column shows
what the rules read and ``rule_sources`` cites each fired rule's source.

Each event is assessed by the escalation engine (`cartrial.escalation.assess_dlt`: DLT window from day 0
to `escalation.dlt_window_days` inclusive, every rule of `escalation.dlt_rules`). Datasets:

- `dlt_assessments`: every graded event with its verdict, the rule(s) that fired (id and the protocol's
  description) or why none did, and its source;
- `dlt_by_subject`: per infused subject, DLT by the protocol's rules, by the investigator's flag
  (``adverse_events.dlt`` inside the window), and whether they agree;
- `dlt_disagreements`: the subjects where the two differ (also a key finding);
- `dlt_by_dose_level`: DLT-evaluable subjects with a DLT by the protocol's rules (and by the investigator's
  flag), per dose level, with the exact CI;
- `escalation_replay`: the escalation engine's `replay_decisions` with the rule-derived DLTs; a patient
  who died or left the study inside the window without a DLT is replaced, not an outcome (D-19.123).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cartrial.analysis.model import Dataset, Population, stored_rows
from cartrial.analysis.populations import (
    DLT_EVALUABLE,
    SAFETY,
    death_dates,
    dose_levels,
    follow_up_ends,
    infusion_dates,
    protocol_levels,
)
from cartrial.analysis.summaries import incidence
from cartrial.wording import k_of_n

AE_CATEGORIES = ("non_hematologic", "infection", "death")
"""Adverse-event categories evaluated from the adverse-event records (the others are graded by the
grading engine from assessments and laboratory results)."""

GRADING_SOURCE = {
    "crs": "crs_assessments graded by cartrial.grading.derive_graded_events",
    "icans": "icans_assessments graded by cartrial.grading.derive_graded_events",
    "hematologic": "labs graded by cartrial.grading.derive_graded_events (run at grade >= 3)",
}

ASSESSMENT_COLUMNS = [
    "subject_id",
    "dose_level",
    "category",
    "term",
    "grade",
    "scale",
    "onset_day",
    "onset_study_day",
    "duration_days",
    "ongoing_at_day",
    "graded_to_day",
    "pre_existing",
    "relatedness",
    "organ",
    "judged_dlt",
    "in_window",
    "is_dlt",
    "rules_fired",
    "rule_descriptions",
    "rule_sources",
    "not_fired",
    "query",
    "source",
]


@dataclass(frozen=True)
class DltEvaluation:
    """Every graded event's DLT verdict, and per subject the onset days of DLTs inside the window by the
    protocol's rules (`engine_days`) and by the investigator's flag (`investigator_days`)."""

    assessments: pd.DataFrame
    engine_days: Mapping[str, tuple[float, ...]]
    investigator_days: Mapping[str, tuple[float, ...]]
    window_days: int
    notes: tuple[str, ...] = ()
    engine: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    refused: tuple[Any, ...] = ()
    """Records the grading refused (`cartrial.analysis.safety.RefusedRow`): not in any graded event, named
    in `notes` and in the DLT key finding."""
    dlt_onset_day: Mapping[str, int] = field(default_factory=dict)
    """Per subject with a DLT by the protocol's rules, the first DLT's onset day on the site's calendar
    (`dlt_onset_days`; D-19.699): what a TITE-CRM compares with its follow-up, on the replay and the page."""


def dlt_onset_days(infusions: pd.DataFrame, engine_days: Mapping[str, Any]) -> dict[str, int]:
    """The first DLT's onset day per subject on the site's calendar (D-19.699): the date of the onset
    instant (the infusion's instant as the engine read it, `cartrial.columns.typed_site_moment`, plus the
    earliest elapsed onset of `engine_days`, fractional for a CRS/ICANS/laboratory DLT, added as elapsed
    time) minus the infusion's date, both on the site's clock (the infusions' ``time_zone`` column; D-19.607,
    D-19.947) — the whole
    days the follow-up u of `cartrial.escalation.conduct.tite_history` counts. A subject without a DLT
    day or without an infusion has none.

    >>> frame = pd.DataFrame({"subject_id": ["A"], "infused_at": ["2021-04-01T08:00:00Z"]})
    >>> dlt_onset_days(frame, {"A": (4.5,)})
    {'A': 4}
    """
    wanted = {str(k) for k, v in engine_days.items() if len(v)}
    if not wanted or not len(infusions):
        return {}
    onsets = [(sid, float(min(engine_days[sid]))) for sid in sorted(wanted)]
    days = site_calendar_days(infusions, onsets)
    return {sid: day for (sid, _), day in zip(onsets, days, strict=True) if day is not None}


def site_calendar_days(infusions: pd.DataFrame, onsets: list[tuple[str, float]]) -> list[int | None]:
    """Per (subject, elapsed days after the infusion) pair, the day of that instant on the site's calendar
    minus the infusion's date (D-19.699; `dlt_onset_days`' rule): None for a subject without an infusion.
    The one conversion of the analysis's elapsed onsets to study days (the DLT onset day, and the DLT window's
    day of a CRS, ICANS or laboratory event, D-19.1193).

    >>> frame = pd.DataFrame({"subject_id": ["A"], "infused_at": ["2021-04-01T08:00:00Z"]})
    >>> site_calendar_days(frame, [("A", 27.8), ("A", -0.1), ("B", 1.0)])
    [28, 0, None]
    """
    from cartrial.columns import (
        RowProblems,
        on_site_clock,
        parse_datetime,
        parse_text,
        parse_time_zones,
        typed_site_moment,
    )

    wanted = {str(sid) for sid, _ in onsets}
    if not wanted or not len(infusions):
        return [None] * len(onsets)
    with stored_rows({"infusions": infusions}):  # a refused record named by its id (D-19.542)
        problems = RowProblems("infusions")
        subject = parse_text(infusions, "subject_id", problems)
        moments = parse_datetime(infusions, "infused_at", problems)
        zones = parse_time_zones(infusions, problems)
        problems.raise_if_any()
    day0: dict[str, tuple[Any, Any]] = {}
    for sid, moment, zone in zip(subject, moments, zones, strict=True):
        if sid is None or moment is None or str(sid) not in wanted or str(sid) in day0:
            continue
        # the engine's days are elapsed time from the infusion as it read it (`site_cell_moment`: a date typed
        # without a time is 00:00 of that date on the site's clock, D-19.947): added in UTC (elapsed time, not
        # wall-clock time across a DST change), the onset read on the site's clock (a computed instant, never
        # taken for a date typed without a time)
        day0[str(sid)] = (typed_site_moment(moment, zone), zone)
    out: list[int | None] = []
    for sid, elapsed in onsets:
        if str(sid) not in day0:
            out.append(None)
            continue
        start, zone = day0[str(sid)]
        onset = start.astimezone(dt.UTC) + dt.timedelta(days=float(elapsed))
        out.append((on_site_clock(onset, zone).date() - start.date()).days)
    return out


def _query_text(infusions: pd.DataFrame, event: Any, query: str) -> str:
    """A duration query (`cartrial.escalation.dlt.duration_query`) with its days on the site's calendar, as
    the heat map shows them (D-19.699, D-19.787): "last graded on study day G, resolved on / unresolved to
    study day E"."""
    from cartrial.escalation.dlt import query_days

    days = query_days(event)
    if days is None:
        return query
    sid = str(event.subject_id)
    graded = dlt_onset_days(infusions, {sid: (days[0],)}).get(sid)
    end = dlt_onset_days(infusions, {sid: (days[1],)}).get(sid)
    if graded is None or end is None:
        return query
    if event.duration_days is not None:
        return f"{query} (not assessable from study day {graded}, resolved on study day {end}, site calendar)"
    return f"{query} (last graded on study day {graded}, unresolved to study day {end}, site calendar)"


def _relatedness(text: str) -> Any:
    from cartrial.protocol import Relatedness

    try:
        return Relatedness(text.strip().lower())
    except ValueError:
        return None


def _true(value: Any) -> bool:
    """A true/false cell of the snapshot's tables, which hold ``true``/``false`` (a caller's ``Yes``,
    ``Y`` or ``1`` read by the import's vocabulary where the table entered, `given_snapshot_table`;
    D-19.1078, D-19.1084)."""
    return str(value).lower() == "true"


def _ae_events(
    adverse_events: pd.DataFrame,
    day0: Mapping[str, dt.date],
    cutoff: dt.date,
    ends: Mapping[str, dt.date] | None = None,
) -> list[tuple[Any, str, bool]]:
    """(GradedEvent, source, committee rules only) for the adverse-event records of `AE_CATEGORIES` and
    of grade 5, each carrying the investigator's DLT flag as the recorded judgement; and for the records of
    the other categories (CRS, ICANS, haematological) flagged DLT, an event for the committee-judged rules
    only. An event without an end date is ongoing at the subject's end of follow-up: `ends`
    (`populations.follow_up_ends`: the death, the dated end of study, else the cut-off); without `ends`, the
    death when earlier than the cut-off."""
    from cartrial.protocol import GradedEvent, ToxicityCategory

    out: list[tuple[Any, str, bool]] = []
    if not len(adverse_events):
        return out
    # an open event is ongoing at the cut-off, or at the death or the end of study when earlier (D-13.2,
    # D-19.83, D-19.116): it was not observed after it
    died = dict(ends) if ends is not None else death_dates(adverse_events, cutoff)
    for number, row in enumerate(adverse_events.to_dict("records"), start=2):
        sid = str(row["subject_id"])
        category = str(row.get("category") or "").strip().lower()
        grade_text = str(row.get("grade") or "").strip()
        if sid not in day0 or not grade_text or not str(row.get("started_on") or ""):
            continue
        grade = int(float(grade_text))
        flagged = _true(row.get("dlt"))
        categories = [c for c in (category,) if c in AE_CATEGORIES]
        if grade == 5 and "death" not in categories:
            categories.append("death")
        committee_only = not categories and flagged
        if committee_only:
            # a category the store does not know (blank) is read as non-haematological: the committee-judged
            # rules select by the judgement, not by the category
            known = category in {c.value for c in ToxicityCategory}
            categories = [category if known else ToxicityCategory.NON_HEMATOLOGIC.value]
        if not categories:
            continue
        started = dt.date.fromisoformat(str(row["started_on"])[:10])
        ended_text = str(row.get("ended_on") or "")
        onset = float((started - day0[sid]).days)
        duration = float((dt.date.fromisoformat(ended_text[:10]) - started).days) if ended_text else None
        scale = " ".join(
            p for p in (str(row.get("grading_scale") or ""), str(row.get("grading_scale_version") or "")) if p
        )
        record_id = str(row.get("record_id") or "")  # a notebook's own table may have no record_id
        record = f"adverse_events record {record_id}" if record_id else f"adverse_events row {number}"
        source = f"{record} (investigator grade, relatedness and DLT flag)"
        if committee_only:
            why = (
                f"{category} grades come from the assessments and laboratory results, D-13.2"
                if category in {c.value for c in ToxicityCategory}
                else "category not recorded"
            )
            source = f"{record} (investigator's DLT flag; read by the committee-judged rules only: {why})"
        for cat in categories:
            event = GradedEvent(
                subject_id=sid,
                category=ToxicityCategory(cat),
                term=str(row.get("term") or ""),
                grade=grade,
                scale=scale or "investigator",
                onset_day=onset,
                duration_days=duration,
                relatedness=_relatedness(str(row.get("relatedness") or "")),
                judged_dlt_by_committee=flagged,
                ongoing_at_day=None if ended_text else float((died.get(sid, cutoff) - day0[sid]).days),
            )
            out.append((event, source, committee_only))
    return out


PRE_EXISTING = (
    "pre-existing: present before the treatment-emergent period (a baseline value, "
    "analysis.options.treatment_emergent_start) and not worse than its baseline grade, not a DLT "
    "(D-19.1195, D-19.1196)"
)
"""The `not_fired` reason of a laboratory run the grading engine marked pre-existing
(`GradedEvent.pre_existing`)."""


def _grading_events(graded: pd.DataFrame) -> list[tuple[Any, str, bool]]:
    from cartrial.protocol import GradedEvent, ToxicityCategory

    out: list[tuple[Any, str, bool]] = []

    def value(row: Mapping[str, Any], name: str) -> Any:
        v = row.get(name)
        return None if v is None or (isinstance(v, float) and v != v) else v

    for row in graded.to_dict("records"):
        category = ToxicityCategory(str(row["category"]))
        event = GradedEvent(
            subject_id=str(row["subject_id"]),
            category=category,
            term=str(row["term"]),
            grade=int(row["grade"]),
            scale=str(row["scale"]),
            onset_day=float(row["onset_day"]),
            duration_days=value(row, "duration_days"),
            ongoing_at_day=value(row, "ongoing_at_day"),
            graded_to_day=value(row, "graded_to_day"),
            pre_existing=bool(value(row, "pre_existing") or False),  # the engine's mark (D-19.1196)
        )
        out.append(
            (event, GRADING_SOURCE.get(category.value, "cartrial.grading.derive_graded_events"), False)
        )
    return out


def investigator_dlt_days(
    adverse_events: pd.DataFrame, day0: Mapping[str, dt.date], window_days: int
) -> dict[str, tuple[float, ...]]:
    """Onset days (after day 0) of adverse events the investigator flagged ``dlt`` inside the DLT window
    (the window rule of `cartrial.escalation.assess_dlt`)."""
    from cartrial.escalation.dlt import assess_dlt
    from cartrial.protocol import GradedEvent, ToxicityCategory

    out: dict[str, list[float]] = {}
    if not len(adverse_events) or "dlt" not in adverse_events:
        return {}
    flagged = adverse_events[adverse_events["dlt"].map(_true)]
    for sid, started in zip(flagged["subject_id"], flagged["started_on"], strict=True):
        sid = str(sid)
        if sid not in day0 or not started:
            continue
        onset = float((dt.date.fromisoformat(str(started)[:10]) - day0[sid]).days)
        probe = GradedEvent(sid, ToxicityCategory.NON_HEMATOLOGIC, "investigator DLT flag", 1, "", onset)
        if assess_dlt(probe, [], window_days).in_window:
            out.setdefault(sid, []).append(onset)
    return {k: tuple(v) for k, v in out.items()}


def evaluate_dlts(
    tables: Mapping[str, pd.DataFrame],
    protocol: Any,
    cutoff: dt.date,
    *,
    ctcae_version: str = "5.0",
    crs: Any = None,
    icans: Any = None,
    labs: Any = None,
    treatment_emergent_start: Any = "lymphodepletion",
    lab_min_recovery_days: int = 3,
    crs_masking: Any = "after_fever",
) -> DltEvaluation:
    """Assess every graded event against the protocol's DLT rules (see the module docstring).
    `treatment_emergent_start`: the study's rule (``analysis.options.treatment_emergent_start``, D-19.710); a
    laboratory run begun before that period is pre-existing, not a DLT (D-19.1195).
    `lab_min_recovery_days` (``analysis.options.lab_min_recovery_days``, D-19.1312): the days of recovery
    that end a laboratory run (D-19.1311). `crs_masking` (``analysis.options.crs_masking``, D-19.1356): the
    CRS fever-masking rule of the CRS episodes the rules see, the study's own (D-19.1371)."""
    from cartrial.analysis.safety import graded_events
    from cartrial.escalation.dlt import assess_dlt, attributed_relatedness, event_organ

    window = int(protocol.escalation.dlt_window_days)
    rules = list(protocol.escalation.dlt_rules)
    committee_rules = [r for r in rules if r.committee_judgement]
    described = {r.id: r.description for r in rules}
    day0 = infusion_dates(tables["infusions"])
    levels = dose_levels(tables["infusions"])
    graded = graded_events(
        tables,
        ctcae_version,
        crs=crs,
        icans=icans,
        labs=labs,
        treatment_emergent_start=treatment_emergent_start,
        lab_min_recovery_days=lab_min_recovery_days,
        crs_masking=crs_masking,
    )
    ends = follow_up_ends(tables, list(day0), cutoff) if "subjects" in tables else None
    timed = _grading_events(graded.table)
    # an elapsed onset (CRS, ICANS, laboratory) is read by the DLT window on the site's calendar, as an
    # adverse event's calendar day (D-19.1193)
    study_days = site_calendar_days(tables["infusions"], [(e.subject_id, e.onset_day) for e, _, _ in timed])
    timed = [
        (dataclasses.replace(e, onset_study_day=d), source, only)
        for (e, source, only), d in zip(timed, study_days, strict=True)
    ]
    events = timed + _ae_events(tables["adverse_events"], day0, cutoff, ends)
    rows: list[dict[str, Any]] = []
    engine_days: dict[str, list[float]] = {}
    for event, source, committee_only in events:
        verdict = assess_dlt(event, committee_rules if committee_only else rules, window)
        relatedness = attributed_relatedness(event)[0]
        if verdict.is_dlt:
            engine_days.setdefault(event.subject_id, []).append(event.onset_day)
        rows.append(
            {
                "subject_id": event.subject_id,
                "dose_level": levels.get(event.subject_id),
                "category": event.category.value,
                "term": event.term,
                "grade": event.grade,
                "scale": event.scale,
                "onset_day": event.onset_day,
                "onset_study_day": event.onset_study_day,
                "duration_days": event.duration_days,
                "ongoing_at_day": event.ongoing_at_day,
                "graded_to_day": event.graded_to_day,
                "pre_existing": event.pre_existing,
                "relatedness": relatedness.value if relatedness is not None else "",
                "organ": event_organ(event) or "",
                "judged_dlt": event.judged_dlt_by_committee,
                "in_window": verdict.in_window,
                "is_dlt": verdict.is_dlt,
                "rules_fired": ";".join(verdict.fired),
                "rule_descriptions": "; ".join(described[r] for r in verdict.fired),
                "rule_sources": " | ".join(verdict.citations[r] for r in verdict.fired),
                "not_fired": "; ".join(
                    ([PRE_EXISTING] if event.pre_existing else [])
                    + [f"{k}: {', '.join(v)}" for k, v in verdict.not_fired.items()]
                )
                if not verdict.is_dlt
                else "",
                "query": " | ".join(
                    f"{k}: {_query_text(tables['infusions'], event, v)}" for k, v in verdict.queries.items()
                ),
                "source": source,
            }
        )
    frame = pd.DataFrame(rows, columns=ASSESSMENT_COLUMNS)
    if len(frame):
        frame = frame.sort_values(["subject_id", "onset_day", "category", "term"], kind="mergesort")
        frame = frame.reset_index(drop=True)
    frame["dose_level"] = frame["dose_level"].astype("Int64")
    frame["onset_study_day"] = frame["onset_study_day"].astype("Int64")
    notes: list[str] = list(graded.notes)
    if not rules:
        notes.append("the protocol defines no DLT rules (escalation.dlt_rules): no event can be a DLT")
    queried = sorted({str(s) for s, q in zip(frame["subject_id"], frame["query"], strict=True) if q})
    if queried:  # a duration rule met only through "not assessable" assessments (D-19.787)
        notes.append(
            "DLT by a duration counted through assessments that could not grade the event (ICANS not "
            f"assessable, e.g. sedated; counted as lasting, D-19.787), to query: {', '.join(queried)}"
        )
    return DltEvaluation(
        frame,
        {k: tuple(v) for k, v in engine_days.items()},
        investigator_dlt_days(tables["adverse_events"], day0, window),
        window,
        tuple(notes),
        (graded.metadata,),
        graded.refused,
        dlt_onset_days(tables["infusions"], engine_days),
    )


def dlt_datasets(
    tables: Mapping[str, pd.DataFrame],
    protocol: Any,
    populations: Mapping[str, Population],
    membership: pd.DataFrame,
    evaluation: DltEvaluation,
) -> dict[str, Dataset]:
    """`dlt_assessments`, `dlt_by_subject`, `dlt_disagreements`, `dlt_by_dose_level` and (when decisions
    are recorded) `escalation_replay`."""
    window = evaluation.window_days
    assessments = evaluation.assessments
    safety_ids = set(populations[SAFETY].subject_ids)
    per_subject = membership[membership["subject_id"].isin(safety_ids)][
        ["subject_id", "dose_level", "dlt_evaluable", "dlt_in_window", "investigator_dlt_in_window"]
    ].reset_index(drop=True)
    fired = assessments[assessments["is_dlt"].astype(bool)]  # an empty object column would select columns
    fired_rules: dict[str, set[str]] = {}
    for sid, ids in zip(fired["subject_id"], fired["rules_fired"], strict=True):
        fired_rules.setdefault(str(sid), set()).update(r for r in str(ids).split(";") if r)
    per_subject["rules_fired"] = [
        ";".join(sorted(fired_rules.get(s, set()))) for s in per_subject["subject_id"]
    ]
    per_subject["agreement"] = [
        "agree" if a == b else ("protocol rules only" if a else "investigator flag only")
        for a, b in zip(per_subject["dlt_in_window"], per_subject["investigator_dlt_in_window"], strict=True)
    ]
    disagreements = per_subject[per_subject["agreement"] != "agree"].reset_index(drop=True)
    evaluable = membership[membership["dlt_evaluable"]].copy()
    levels = protocol_levels(protocol)  # a level nobody received: n = 0 (D-19.108)
    summary = incidence(
        evaluable,
        ["dlt_in_window"],
        DLT_EVALUABLE,
        {"dlt_in_window": "DLT within the DLT window by the protocol's DLT rules (graded events)"},
        levels,
    )
    investigator = incidence(evaluable, ["investigator_dlt_in_window"], DLT_EVALUABLE, levels=levels)
    summary["investigator_k"] = investigator["k"].to_numpy()
    summary["investigator_subjects"] = investigator["subjects"].to_numpy()
    rules_text = "; ".join(f"{r.id}: {r.description}" for r in protocol.escalation.dlt_rules) or "none"
    method = (
        f"protocol escalation.dlt_rules ({rules_text}) applied by cartrial.escalation.assess_dlt to the "
        f"graded events within days 0-{window}"
    )
    out = {
        "dlt_assessments": Dataset(
            "dlt_assessments",
            "Every graded event with its DLT verdict under the protocol's DLT rules, the rule that fired and "
            "its source",
            assessments,
            SAFETY,
            "cartrial.escalation.assess_dlt on cartrial.grading.derive_graded_events + adverse_events",
            ("crs_assessments", "icans_assessments", "labs", "adverse_events", "infusions"),
            columns={
                "onset_day": "days after the infusion (day 0)",
                "onset_study_day": "CRS, ICANS and laboratory events: the onset's day on the site's "
                "calendar, the day the DLT window reads (D-19.1193); adverse events: onset_day is that day",
                "duration_days": "days",
                "pre_existing": "laboratory runs: present before the treatment-emergent period and not worse "
                "than the baseline grade, marked by the grading engine; never a DLT (D-19.1195, D-19.1196)",
                "rules_fired": "ids of the protocol DLT rules the event meets (escalation.dlt_rules)",
                "rule_sources": "per fired rule, its source: the protocol rule and the basis of the "
                "relatedness, organ and committee judgement it read (cartrial.escalation.dlt.rule_citation)",
                "relatedness": "what the rules read: definite for CRS/ICANS by definition (ASTCT 2019), else "
                "the investigator's",
                "organ": "the organ of the CTCAE term (cartrial.protocol.organs)",
                "judged_dlt": "the investigator's DLT flag, read by the committee-judged rules",
                "not_fired": "why no rule fired, per rule",
                "ongoing_at_day": "unresolved event: the day it is known not to have resolved by (for "
                "ICANS a later 'not assessable' assessment included, D-19.787)",
                "graded_to_day": "unresolved CRS/ICANS episode: the day of its last assessment that graded "
                "it (D-19.767); resolved ICANS episode: the day of the first 'not assessable' row after its "
                "last graded one, before the resolution (the earliest it could have resolved, D-19.787)",
                "query": "per fired rule, a duration met only through assessments that could not grade the "
                "event: the days to confirm with the site, study days on the site's calendar "
                "(cartrial.escalation.dlt.duration_query, D-19.787, D-19.699)",
                "source": "the records and engine the grade comes from",
            },
            notes=(f"method: {method}", *evaluation.notes),
            engine=evaluation.engine,
        ),
        "dlt_by_subject": Dataset(
            "dlt_by_subject",
            "DLT per subject: protocol rules on graded events vs the investigator's DLT flag",
            per_subject,
            SAFETY,
            "cartrial.escalation.assess_dlt (dlt_in_window); adverse_events.dlt (investigator_dlt_in_window)",
            ("dlt_assessments", "adverse_events"),
        ),
        "dlt_disagreements": Dataset(
            "dlt_disagreements",
            "Subjects whose DLT status by the protocol's rules differs from the investigator's flag",
            disagreements,
            SAFETY,
            "rows of dlt_by_subject with agreement != agree",
            ("dlt_by_subject",),
        ),
        "dlt_by_dose_level": Dataset(
            "dlt_by_dose_level",
            "Dose-limiting toxicities per dose level (DLT-evaluable subjects, exact 95 % CI): protocol rules "
            "and investigator flag",
            summary,
            DLT_EVALUABLE,
            "cartrial.escalation.assess_dlt (protocol escalation.dlt_rules) inside "
            "escalation.dlt_window_days",
            ("dlt_assessments", "adverse_events", "infusions"),
            columns={
                "k": "subjects with a DLT by the protocol's DLT rules",
                "investigator_k": "subjects with an adverse event flagged DLT by the investigator in the "
                "window",
            },
        ),
    }
    decisions = tables["escalation_decisions"]
    if len(decisions):
        # a patient who died or left the study inside the window without a DLT (neither DLT-evaluable nor
        # still inside the window) takes no outcome letter: replaced (D-19.123)
        counted = membership["dlt_evaluable"] | membership["dlt_window_pending"]
        dlts = pd.DataFrame(
            {
                "subject_id": membership["subject_id"],
                "dlt": membership["dlt_in_window"].map({True: "true", False: "false"}),
                "evaluable": counted.map({True: "true", False: "false"}),
                # the day a patient not counted (replaced) left the study: counted at a decision before it
                # (D-19.700)
                "followup_end_day": [
                    "" if c or pd.isna(f) else int(f)
                    for c, f in zip(counted, membership["follow_up_days"], strict=True)
                ],
                # the first DLT's onset day by the protocol's rules, on the site's calendar: the replay
                # counts a DLT from the decision on or after it, for every design (D-19.696, D-19.699,
                # D-19.747)
                "dlt_onset_day": [
                    evaluation.dlt_onset_day.get(str(s), "") if d else ""
                    for s, d in zip(membership["subject_id"], membership["dlt_in_window"], strict=True)
                ],
            }
        )
        # the infused patients only: the replay refuses a DLT assessment of a subject without an infusion
        # (D-19.148), and an enrolled subject not yet infused has none
        dlts = dlts[dlts["subject_id"].isin(set(tables["infusions"]["subject_id"]))]
        out["escalation_replay"] = _replay(decisions, tables["infusions"], dlts, protocol)
    return out


def _replay(decisions: pd.DataFrame, infusions: pd.DataFrame, dlts: pd.DataFrame, protocol: Any) -> Dataset:
    """The escalation engine's replay (`cartrial.escalation.replay_decisions`): the one implementation of
    the check of recorded decisions against the protocol's design and DLT window."""
    from cartrial.analysis.model import record_name, stored_rows
    from cartrial.escalation import replay_decisions
    from cartrial.escalation.conduct import deviation_count_note
    from cartrial.store.importing.forms import FORMS_BY_NAME  # snapshot table → the store's (as model)

    # the design and design-state remarks name a stored decision by its record (D-19.1089)
    table_name = FORMS_BY_NAME["escalation_decisions"].table
    row_names = (
        [record_name(table_name, record_id) or "" for record_id in decisions["record_id"]]
        if "record_id" in decisions.columns
        else None
    )
    # a refused decision or infusion named by its record id (D-19.542); the DLT frame is derived, not stored
    with stored_rows({"escalation_decisions": decisions, "infusions": infusions}):
        result = replay_decisions(decisions, infusions, dlts, protocol, row_names=row_names)
    table = result.table
    n_dev = int((table["deviation"] != "").sum())
    # one count of the deviations, worded by `cartrial.wording` (D-19.265): the engine's own
    # count note ("k of n decisions ...") is replaced, not repeated next to a second one
    engine_count = deviation_count_note(n_dev, len(table))
    notes = (
        f"{k_of_n(n_dev, len(table), 'recorded decision')} with a protocol deviation",
        *(note for note in result.notes if note != engine_count),
    )
    return Dataset(
        "escalation_replay",
        "Recorded escalation decisions next to the protocol design's replay (timing, DLT window, decision)",
        table,
        DLT_EVALUABLE,
        result.derivation,
        ("escalation_decisions", "infusions", "dlt_assessments"),
        notes=notes,
    )


__all__ = ["AE_CATEGORIES", "DltEvaluation", "dlt_datasets", "evaluate_dlts", "investigator_dlt_days"]
