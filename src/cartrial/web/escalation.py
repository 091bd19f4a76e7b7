"""The escalation state for the safety review committee, from the analysis layer and the escalation engine.

`escalation_state(service, user, today)`:

- the study as of `today` (`cartrial.store.snapshot.read_snapshot`) and its populations
  (`cartrial.analysis.core.study_populations`: DLT = an event judged a DLT by the protocol's rules inside the
  protocol's DLT window, day 0 = infusion);
- each infused patient's DLT window (open/closed, days left; protocol `escalation.dlt_window_days`) and
  DLT evaluation, all from the analysis layer's populations (`dlt_in_window`, `dlt_evaluable`,
  `dlt_window_pending`, `reason_not_dlt_evaluable`; D-19.123): ``DLT``; ``no DLT`` (evaluable);
  ``pending`` (on study, inside the window, no DLT yet); ``not evaluable`` — died or left the study inside
  the window without a DLT (D-19.83, D-19.92): never an outcome for the design, to be replaced (3+3,
  Storer 1989), shown with the analysis's reason;
- the recorded cohorts and their replay against the protocol's design (`cartrial.escalation.replay_decisions`,
  via the analysis layer's convention). Patients are assigned to the recorded cohorts in order of infusion
  by the replay's own rule (`assign_cohorts`): a cohort's outcome letters go to the patients the design
  counts infused by its decision; a not-evaluable patient belongs to the cohort it was infused in, without
  a letter;
- the design's recommendation for the next cohort: the protocol's design (`design_from_spec`) fitted to every
  patient so far — the recorded cohorts' outcome strings, then the patients infused since the last
  recorded decision that the design counts (a pending patient as no DLT so far). While a pending patient of
  that cohort is inside the window the recommendation is marked provisional;
- the design's decision table (`cartrial.escalation.tables.decision_table`, designs that have one).

`record_decision(...)` stores the committee's decision through the store (`escalation_decision`), with the
design's recommendation in `design_state`; a decision that differs from the design needs a reason, which is
kept in the audit row and in `design_state`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from cartrial.errors import CartrialError, InputError, Problem, StoredValueError
from cartrial.web.errors import without_database_location

__all__ = ["assign_cohorts", "escalation_state", "other_site_counts", "record_decision"]

DECISION_TABLE_MAX_N = 12
"""Patients per dose level covered by the decision table shown."""


def pending_outcomes(patients: list[dict[str, Any]]) -> str:
    """The outcome notation of the counted patients not yet in a recorded cohort, in infusion order: one block
    per run of the same dose level (`cartrial.escalation.format_outcomes`), e.g. ``1NT 2N``. Levels are
    compared whole (level 1 and level 10 are two blocks).

    >>> pending_outcomes([{"dose_level": 1, "dlt": False}, {"dose_level": 10, "dlt": True}])
    '1N 10T'
    """
    from cartrial.escalation.outcomes import PatientOutcome, format_outcomes

    outcomes: list[PatientOutcome] = []
    for patient in patients:
        level = int(patient["dose_level"])
        block = outcomes[-1].cohort + (outcomes[-1].dose_level != level) if outcomes else 1
        outcomes.append(PatientOutcome(block, level, bool(patient["dlt"])))
    return format_outcomes(outcomes)


def _evaluation(dlt: bool, evaluable: bool, pending: bool) -> str:
    """The analysis layer's DLT evaluation of an infused patient in the page's words: DLT | no DLT | pending
    | not evaluable."""
    if dlt:
        return "DLT"
    if evaluable:
        return "no DLT"
    return "pending" if pending else "not evaluable"


def assign_cohorts(
    patients: list[dict[str, Any]], cohorts: list[tuple[int, dt.date | None]]
) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """(members of each recorded cohort, the patients after them): the escalation engine's assignment
    (`cartrial.escalation.conduct.assign_cohorts`, the replay's own) of `patients` — in order of infusion,
    each with ``counted`` and ``infused_on`` (ISO date) — to the recorded cohorts (number of outcome letters,
    decision date)."""
    members, rest, _ = _assigned(patients, cohorts)
    return members, rest


def _assigned(
    patients: list[dict[str, Any]],
    cohorts: list[tuple[int, dt.date | None]],
    ends: list[dt.date | None] | None = None,
) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]], list[list[dict[str, Any] | None]]]:
    """`assign_cohorts` and, per recorded cohort, the patient of each of its outcome letters (None for a
    letter no infused patient takes), from one call of the engine's assignment; `ends`: the date each patient
    not counted left the study (None: unknown), as the replay gets it from the analysis (D-19.700)."""
    from cartrial.escalation.conduct import assign_cohorts as assign

    spans = assign(
        [bool(p["counted"]) for p in patients],
        [dt.date.fromisoformat(str(p["infused_on"])[:10]) for p in patients],
        cohorts,
        ends,
    )
    rest = spans[-1][1] if spans else 0
    lettered: list[list[dict[str, Any] | None]] = []
    for (size, _), (_, _, positions) in zip(cohorts, spans, strict=True):
        taken: list[dict[str, Any] | None] = [patients[i] for i in positions[:size]]
        lettered.append([*taken, *([None] * (size - len(taken)))])
    return [patients[start:stop] for start, stop, _ in spans], patients[rest:], lettered


def _tite_patients(
    lettered: list[list[dict[str, Any] | None]],
    pending: list[dict[str, Any]],
    history: Any,
    onsets: Mapping[str, int],
    decided: Sequence[dt.date | None],
    window: int,
    weighs_follow_up: bool,
) -> tuple[list[Any], list[dt.date | None]]:
    """The history's patients (`cartrial.escalation.conduct.TitePatient`), for every design (D-19.749), each
    one's as-of date (its site's today) for the page (D-19.696): each recorded cohort's lettered
    patients, then the pending counted ones, with the analysis's DLT status and its onset day
    (`DltEvaluation.dlt_onset_day`, the site-calendar day, D-19.699), and a recorded ``T`` letter from its
    cohort's decision date `decided` (D-19.698: never dropped); a letter no infused patient takes keeps its
    letter, fully followed; a replaced patient (not counted) takes no part: each cohort by the replay's own
    rule (`cartrial.escalation.conduct.history_patients`), never a second implementation."""
    from cartrial.escalation.conduct import HistoryMember, history_patients

    letters = iter(history.patients)
    out: list[Any] = []
    as_of: list[dt.date | None] = []
    groups: list[list[dict[str, Any] | None]] = [*lettered, [p for p in pending if p["counted"]]]
    # a recorded cohort's letters from its decision date (None: undated, from the start); the pending none
    days_of: list[dt.date | None] = [*decided, None]
    recorded = [*([True] * len(lettered)), False]
    for patients, decided_on, is_recorded in zip(groups, days_of, recorded, strict=True):
        blocks = [next(letters) for _ in patients]  # its block of the page's outcome text (cohort, level)
        members = [
            HistoryMember(
                dt.date.fromisoformat(str(p["infused_on"])[:10]),
                bool(p["dlt"]),
                float(day) if p["dlt"] and (day := onsets.get(str(p["subject_id"]))) is not None else None,
                bool(p["counted"]),
            )
            if p is not None
            else None
            for p in patients
        ]
        # the replay's rule, one implementation (`history_patients`, D-19.747, D-19.749)
        joined, _, _, _, _, _ = history_patients(
            blocks, members, decided_on, window, weighs_follow_up=weighs_follow_up, recorded=is_recorded
        )
        for patient, one in zip(patients, joined, strict=True):
            if one is None:  # replaced, without a recorded T letter: no part, as in the replay
                continue
            out.append(one)
            as_of.append(patient["today"] if patient is not None else None)
    return out, as_of


NO_RECOMMENDATION = (
    "the protocol's design gives no recommendation on the recorded history: the trial's conduct departs "
    "from the design (see the replay of the recorded decisions)"
)


def _per_dose(fit: Any, history: Any, n_doses: int) -> tuple[list[int], list[int]]:
    """Per dose level, the patients and DLTs: the fit's, else (no fit) counted from `history`."""
    if fit is not None:
        return list(fit.n_per_dose), list(fit.dlt_per_dose)
    n, y = [0] * n_doses, [0] * n_doses
    for p in history.patients:
        n[p.dose_level - 1] += 1
        y[p.dose_level - 1] += int(p.dlt)
    return n, y


def _day(value: Any) -> dt.date | None:
    """A stored decision date (date, datetime or ISO text) as a date; None when blank or not a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def escalation_state(
    service: Any, sites: tuple[str | None, ...] | None, today: dt.date, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The escalation state as plain data (see the module docstring). `sites`: the sites whose patients are
    listed (None: all). Another site's patients are only counted (`other_site_counts`, D-19.486): per cohort
    and dose level, in ``other_sites``; the recommendation and the per-dose counts are the study's.

    A patient's DLT window (`window_closes_on`, a date on the site's calendar) is open until the site's
    today: the date of `now` (an aware instant; the current one when `today` is today in UTC) on the site's
    clock, else `today` as given (D-19.607)."""
    import pandas as pd

    from cartrial.analysis.core import study_populations
    from cartrial.columns import site_today, utc_now
    from cartrial.escalation.conduct import tite_history
    from cartrial.escalation.crm import TiteCrm
    from cartrial.escalation.outcomes import Outcomes, format_outcomes, parse_outcomes
    from cartrial.escalation.spec import design_from_spec
    from cartrial.store.snapshot import read_snapshot

    try:
        snapshot = read_snapshot(service, today)
    except StoredValueError:
        raise  # a stored date no reader reads: the refusal itself, 409 (D-19.556)
    except CartrialError as exc:
        return {"available": False, "reason": without_database_location(str(exc), service.engine)}
    protocol = snapshot.protocol
    tables = snapshot.tables
    window = int(protocol.escalation.dlt_window_days)
    n_doses = len(protocol.dose_levels)
    study = study_populations(tables, protocol, today, time_zones=snapshot.time_zones)  # D-19.607
    membership = study.membership
    site_of = {
        str(s): str(site)
        for s, site in zip(tables["subjects"]["subject_id"], tables["subjects"]["site_id"], strict=True)
    }
    if now is None:  # the clock read once: its date decides, its instant is the sites' now
        current = utc_now()
        now = current if today == current.date() else None

    def subject_today(subject_id: str) -> dt.date:  # the one site-today rule (D-19.613)
        zone = snapshot.time_zones.get(site_of.get(subject_id, ""))
        return today if now is None else site_today(zone, now)

    # a patient's row reads its evaluation (pending or not) as of the same day its window is closed on: the
    # populations as of each distinct site today (one when no site's today differs from `today`; D-19.607)
    todays = {str(s): subject_today(str(s)) for s in membership["subject_id"]}
    studies = {today: study}
    for day in sorted(set(todays.values()) - {today}):
        # one snapshot, read at today, as of a site's own today: taken as given (D-19.931)
        studies[day] = study_populations(
            tables,
            protocol,
            day,
            allow_future_cutoff=day > today,
            time_zones=snapshot.time_zones,
            as_of_day_of_snapshot_read_later=True,
        )
    as_of = {day: each.membership for day, each in studies.items()}
    own_day = pd.concat(
        [frame[frame["subject_id"].astype(str).map(todays) == day] for day, frame in as_of.items()]
    )
    # a DLT counted through assessments that could not grade it, to query with the site: the analysis's
    # `dlt_assessments` query column as it is (D-19.787), no rule here; read as of the patient's site today,
    # as the DLT status beside it
    queries: dict[str, list[str]] = {}
    for day, each in studies.items():
        assessed = each.evaluation.assessments
        for sid, query in zip(assessed["subject_id"], assessed["query"], strict=True):
            if todays.get(str(sid)) == day and isinstance(query, str) and query:
                queries.setdefault(str(sid), []).append(query)
    infused = own_day[own_day["safety"]].copy()
    infused = infused.sort_values(["infusion_date", "subject_id"], kind="mergesort")
    patients: list[dict[str, Any]] = []
    ends: list[dt.date | None] = []
    for row in infused.itertuples(index=False):
        day0 = dt.date.fromisoformat(str(row.infusion_date))
        closes = day0 + dt.timedelta(days=window)
        their_today = todays[str(row.subject_id)]  # the site's today (D-19.607)
        visible = sites is None or site_of.get(str(row.subject_id)) in sites
        dlt, evaluable = bool(row.dlt_in_window), bool(row.dlt_evaluable)
        waiting = bool(row.dlt_window_pending)
        counted = evaluable or waiting  # D-19.123: the analysis's evaluability, never a second rule
        # the day a patient not counted left the study, as the analysis gives the replay (D-19.700)
        ends.append(
            None
            if counted or pd.isna(row.follow_up_days)
            else day0 + dt.timedelta(days=int(row.follow_up_days))
        )
        patients.append(
            {
                "subject_id": str(row.subject_id),
                "visible": visible,
                "dose_level": int(row.dose_level),
                "infused_on": day0.isoformat(),
                "window_closes_on": closes.isoformat(),
                "window_open": their_today < closes,
                "days_left": max(0, (closes - their_today).days),
                "dlt": dlt,
                "evaluable": evaluable,
                "evaluation": _evaluation(dlt, evaluable, waiting),
                "counted": counted,
                "today": their_today,
                "replace": not counted,
                "reason_not_evaluable": "" if counted else str(row.reason_not_dlt_evaluable),
                "dlt_query": " | ".join(queries.get(str(row.subject_id), [])),
            }
        )

    decisions = tables["escalation_decisions"].copy()
    recorded: list[dict[str, Any]] = []
    outcome_blocks: list[str] = []
    rows: list[Any] = []
    if len(decisions):
        decisions["_cohort"] = decisions["cohort"].astype(int)
        rows = list(decisions.sort_values("_cohort").itertuples(index=False))
    sizes = [(parse_outcomes(str(row.outcomes), n_doses).n_patients, _day(row.decided_on)) for row in rows]
    cohort_members, pending, lettered = _assigned(patients, sizes, ends)
    for member in pending:
        member["cohort"] = len(rows) + 1  # the next cohort (`next_cohort`)
    for row, members in zip(rows, cohort_members, strict=True):
        for member in members:
            member["cohort"] = int(row.cohort)
        text = str(row.outcomes)
        outcome_blocks.append(text)
        recorded.append(
            {
                "cohort": int(row.cohort),
                "dose_level": int(row.dose_level),
                "decided_on": str(row.decided_on),
                "outcomes": text,
                "decision": str(row.decision),
                "approved_by": str(row.approved_by or ""),
                "patients": [p["subject_id"] for p in members if p["visible"]],
            }
        )
    provisional = any(p["evaluation"] == "pending" for p in pending)
    pending_text = pending_outcomes([p for p in pending if p["counted"]])
    history_text = " ".join([*outcome_blocks, *([pending_text] if pending_text else [])])

    design = design_from_spec(protocol.escalation, n_doses, expansion=getattr(protocol, "expansion", None))
    history = parse_outcomes(history_text, n_doses)
    # every design: the engine's history (`tite_history`, the replay's rule): per patient, the DLTs seen by
    # the site's today and the follow-up then, not the letters recorded at earlier decisions (D-19.696); a
    # design other than the TITE-CRM decides on complete cohorts, each patient fully followed (D-19.749)
    weighs_follow_up = isinstance(getattr(design, "inner", design), TiteCrm)
    tite, days = _tite_patients(
        lettered,
        pending,
        history,
        study.evaluation.dlt_onset_day,
        [day for _, day in sizes],
        window,
        weighs_follow_up,
    )
    history = Outcomes(
        tuple(
            one if weighs_follow_up else replace(one, followup_days=None)
            for patient, day in zip(tite, days, strict=True)
            for one in tite_history([patient], day, window).patients
        )
    )
    replay: list[dict[str, Any]] = []
    if len(tables["escalation_decisions"]):
        from cartrial.analysis.dlt import dlt_datasets

        datasets = dlt_datasets(tables, protocol, study.populations, study.membership, study.evaluation)
        if "escalation_replay" in datasets:
            replay = [_plain_row(r) for r in datasets["escalation_replay"].table.to_dict("records")]
    history_text = format_outcomes(history)
    fit: Any = None
    try:
        fit = design.fit(history)
    except InputError:  # stored data the design would not have produced: a note, never a 4xx (D-19.754)
        fit = None
    mtd = fit.select_mtd() if fit is not None else None
    recommendation = {
        "design": fit.design if fit is not None else str(protocol.escalation.design),
        "outcomes": history_text,
        "decision": design_decision(fit) if fit is not None else "",
        "next_dose": fit.next_dose if fit is not None else None,
        "continue": bool(fit.continue_) if fit is not None else False,
        "admissible": list(fit.admissible) if fit is not None else [],
        "eliminated": list(fit.eliminated) if fit is not None else [],
        "reasons": list(fit.reasons) if fit is not None else [NO_RECOMMENDATION],
        "mtd_estimate": mtd.dose_level if mtd is not None else None,
        "mtd_rule": mtd.rule if mtd is not None else "",
        "provisional": provisional,
        "per_dose": [
            {
                "dose_level": i + 1,
                "n": int(n),
                "dlt": int(y),
                "not_evaluable": sum(1 for p in patients if p["replace"] and p["dose_level"] == i + 1),
            }
            for i, (n, y) in enumerate(zip(*_per_dose(fit, history, n_doses), strict=True))
        ],
    }
    if sites is not None:  # another site's patients are counted, not named nor dated (D-19.486)
        own = {p["subject_id"] for p in patients if p["visible"]}

        def own_ids(text: Any) -> str:
            return " ".join(s for s in str(text or "").split() if s in own)

        replay = [
            {
                **r,
                "subjects": own_ids(r.get("subjects")),
                "replaced": own_ids(r.get("replaced")),
                "last_infused_on": None,
                "days_after_last_infusion": None,
            }
            for r in replay
        ]
    shown = [{k: v for k, v in p.items() if k not in ("visible", "today")} for p in patients if p["visible"]]
    return {
        "available": True,
        "as_of": today.isoformat(),
        "design": str(protocol.escalation.design),
        "dose_levels": n_doses,
        "dlt_window_days": window,
        "patients": shown,
        "other_sites": other_site_counts([p for p in patients if not p["visible"]]),
        "cohorts": recorded,
        "pending": {
            "patients": [p["subject_id"] for p in pending if p["visible"]],
            "outcomes": pending_text,
            "dose_level": pending[-1]["dose_level"] if pending else None,
        },
        "next_cohort": len(recorded) + 1,
        "recommendation": recommendation,
        "replay": replay,
        "decision_table": _decision_table(design, protocol),
    }


def other_site_counts(patients: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (cohort, dose level), in that order, the number of `patients` infused, DLT-evaluable and with a
    DLT in the window: how another site's patients are shown to a site-restricted reader (D-19.486), what
    the safety review committee's summary needs, without a patient's infusion day, evaluation or reason.

    >>> other_site_counts([{"cohort": 1, "dose_level": 1, "evaluable": True, "dlt": True},
    ...                    {"cohort": 1, "dose_level": 1, "evaluable": False, "dlt": False}])
    [{'cohort': 1, 'dose_level': 1, 'infused': 2, 'evaluable': 1, 'dlt': 1}]
    """
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for p in patients:
        key = (int(p["cohort"]), int(p["dose_level"]))
        row = out.setdefault(
            key, {"cohort": key[0], "dose_level": key[1], "infused": 0, "evaluable": 0, "dlt": 0}
        )
        row["infused"] += 1
        row["evaluable"] += bool(p["evaluable"])
        row["dlt"] += bool(p["dlt"])
    return [out[key] for key in sorted(out)]


def design_decision(fit: Any) -> str:
    """The recorded-decision vocabulary (escalate | stay | de-escalate | expand | stop) for a fitted design
    at its current dose (`cartrial.escalation.design_decision`, the replay's own mapping)."""
    from cartrial.escalation import design_decision as decision_of

    return decision_of(fit, fit.current_dose or 1)


def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, dt.date | dt.datetime):
            value = value.isoformat()
        if isinstance(value, float) and value != value:
            value = None
        out[str(key)] = value
    return out


def _decision_table(design: Any, protocol: Any) -> dict[str, Any] | None:
    from cartrial.escalation.tables import decision_table

    try:
        table = decision_table(
            design, DECISION_TABLE_MAX_N, getattr(protocol.escalation, "cohort_size", None)
        )
    except (CartrialError, TypeError, ValueError, NotImplementedError, AttributeError):
        return None
    return {
        "design": table.design,
        "legend": dict(table.legend),
        "rows": [row.as_dict() for row in table.rows],
    }


def record_decision(
    service: Any,
    user: Any,
    *,
    cohort: int,
    dose_level: int,
    decided_on: dt.date,
    outcomes: str,
    decision: str,
    reason: str | None,
    today: dt.date,
    approved_by: str | None = None,
) -> dict[str, Any]:
    """Store the committee's decision for `cohort` (`escalation_decision`, through the store: the
    RECORD_ESCALATION permission, D-19.410; edit checks, lock, audit). The design's recommendation at
    `today` is kept in `design_state`; a decision other than the design's needs `reason` (audited).
    `approved_by`: who approved the decision (the committee or its chair), as entered — the store applies
    the column's rule as for an import's row; blank is none. The user recording it is the audit row's
    user, never the approver."""
    from cartrial.store.tables import shows_nothing
    from cartrial.store.writes import COMMITTEE_REASON_FIELD

    state = escalation_state(service, None, today)
    if not state.get("available"):
        raise InputError(Problem(str(state.get("reason")), field="cohort", value=cohort))
    recommended = state["recommendation"]
    differs = decision != recommended["decision"]
    # a reason that shows nothing is none (D-19.819); the store refuses a decision other than the
    # design's without one (`writes.check_committee_reason`, D-19.724)
    given = None if reason is None or shows_nothing(reason) else reason.strip()
    values = {
        "cohort": cohort,
        "dose_level": dose_level,
        "decided_on": decided_on,
        "outcomes": outcomes,
        "design": state["design"],
        "design_state": {
            "design_decision": recommended["decision"],
            "design_next_dose": recommended["next_dose"],
            "outcomes_at_decision": recommended["outcomes"],
            "provisional": recommended["provisional"],
            "committee_reason": given if differs else None,
        },
        "decision": decision,
        "approved_by": approved_by.strip() if approved_by and approved_by.strip() else None,
    }
    audit_reason = given or "safety review committee decision"
    try:
        with user.transaction("web escalation decision", audit_reason) as tx:
            record_id = int(tx.insert_record("escalation_decision", values))
    except InputError as exc:
        # the form's reason is the committee's: its missing one is the form's `reason` field (D-19.724)
        raise InputError(
            [replace(p, field="reason") if p.field == COMMITTEE_REASON_FIELD else p for p in exc.problems],
            header=exc.header,
        ) from None
    return {"id": record_id, "design_decision": recommended["decision"], "differs": differs}
