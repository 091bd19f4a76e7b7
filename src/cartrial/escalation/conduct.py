"""Replay of the recorded escalation decisions against the protocol: DLT window, order of treatment and the
protocol's design (`replay_decisions`).

A decision to escalate, expand or stop is taken once every patient of the cohort has completed the DLT
observation window (protocol `escalation.dlt_window_days`, day 0 = infusion; ``docs/escalation.md``,
"Recorded decisions"); a decision taken earlier, a next cohort treated before the decision, or a decision
other than the one the protocol's design gives is a protocol deviation. They are listed, never silently
accepted (docs/science/decisions.md D-12.1). Every design is judged on the DLTs seen by each decision date
(D-19.747). A TITE-CRM decides while patients are inside the window
(docs/science/dose-escalation.md §8): its decision is replayed with each patient's follow-up at the decision
date, and deciding before the window is complete is not a deviation (D-19.695).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from cartrial.columns import (
    FIRST_DATA_ROW,
    RowProblems,
    parse_bool,
    parse_choice,
    parse_datetime,
    parse_float,
    parse_int,
    parse_json_cells,
    parse_text,
    parse_time_zones,
    typed_site_moment,
)
from cartrial.errors import InputError, InternalError, Problem
from cartrial.escalation.crm import TiteCrm
from cartrial.escalation.outcomes import Outcomes, PatientOutcome, format_outcomes, parse_outcomes
from cartrial.escalation.spec import design_from_spec
from cartrial.protocol.design_options import DESIGNS
from cartrial.protocol.dlt import dlt_window_complete
from cartrial.results import Result
from cartrial.wording import count, k_of_n

DECISIONS: tuple[str, ...] = ("escalate", "stay", "de-escalate", "expand", "stop")
DESIGN_STATE_EXAMPLE = '{"n_treated": {"1": 3}, "n_dlt": {"1": 0}}'
"""A design state as the escalation decisions form holds it: per dose level (its number as a key), the
patients with an outcome letter and the DLTs so far, this cohort's included (the import's example,
`cartrial.store.fields.JSON_EXAMPLES`; the state the replay checks, D-19.1088)."""
DESIGN_STATE_ALLOWED = f"JSON list or object, e.g. {DESIGN_STATE_EXAMPLE}"
STATE_COUNTS = ("n_treated", "n_dlt")
"""The keys of a recorded ``design_state`` the replay re-derives from the recorded outcome strings
(D-19.1088); any other key (the escalation page's recommendation, the committee's reason) is not compared."""


def _decision_row(index: int, file: str | Path, row_names: Sequence[str] | None) -> str:
    """Where a decision row is, value-free: the caller's name of the row (`replay_decisions`'s `row_names`,
    e.g. the analysis's ``escalation_decision record <id>``), else ``<file> row <n>`` (the spreadsheet row;
    D-19.1088, D-19.1089)."""
    if row_names is not None and row_names[index]:
        return row_names[index]
    return f"{file} row {index + FIRST_DATA_ROW}"


def state_remarks(
    state: Any, n_doses: int, treated: Sequence[int], dlts: Sequence[int], dose_level: int
) -> list[str]:
    """Where a recorded ``design_state`` disagrees with the state the replay derives (D-19.1088), value-free:
    ``n_treated`` and ``n_dlt`` (per dose level, keys exactly "1".."K" in ASCII digits, D-19.1089; the
    patients with an outcome letter and their T letters in the recorded outcome strings up to this cohort; a
    level not given is 0, as the simulated study writes only the levels treated) and, when given,
    ``current_dose`` (the cohort's dose level). A state that is a JSON list is one query (no state to
    compare, D-19.1090); None (blank): nothing recorded. `treated`, `dlts`: the replayed counts,
    level 1 first.

    >>> state_remarks({"n_treated": {"1": 3}, "n_dlt": {"1": 1}}, 2, [3, 0], [0, 0], 1)
    ['design_state.n_dlt: level 1 disagrees with the recorded outcome strings up to this cohort']
    """
    if state is None:
        return []
    if not isinstance(state, dict):  # a JSON list: no state to compare, never silently passed (D-19.1090)
        return ['design_state: not a JSON object (keys such as "n_treated", "n_dlt", "current_dose")']
    levels_by_key = {str(lvl): lvl for lvl in range(1, n_doses + 1)}  # exactly "1".."K", ASCII (D-19.1089)
    remarks: list[str] = []
    for key, replayed in zip(STATE_COUNTS, (treated, dlts), strict=True):
        if key not in state:
            continue
        given = state[key]
        counts: dict[int, int] = {}
        well_formed = isinstance(given, dict)
        for level_text, value in given.items() if isinstance(given, dict) else []:
            level = levels_by_key.get(level_text, 0) if isinstance(level_text, str) else 0
            if not level or isinstance(value, bool) or not isinstance(value, int) or value < 0:
                well_formed = False
                break
            counts[level] = value
        if not well_formed:
            remarks.append(
                f'design_state.{key}: not an object of dose levels ("1" to "{n_doses}") to whole counts '
                "of 0 or more"
            )
            continue
        differ = [lvl for lvl in range(1, n_doses + 1) if counts.get(lvl, 0) != replayed[lvl - 1]]
        if differ:
            levels = ", ".join(str(lvl) for lvl in differ)
            remarks.append(
                f"design_state.{key}: level{'s' if len(differ) > 1 else ''} {levels} "
                f"disagree{'' if len(differ) > 1 else 's'} with the recorded outcome strings up to this "
                "cohort"
            )
    if "current_dose" in state:
        current = state["current_dose"]
        if isinstance(current, bool) or not isinstance(current, int) or current != dose_level:
            remarks.append("design_state.current_dose: not the cohort's dose_level")
    return remarks


_COLUMNS = (
    "cohort",
    "dose_level",
    "decided_on",
    "subjects",
    "replaced",
    "last_infused_on",
    "days_after_last_infusion",
    "dlt_window_days",
    "window_complete",
    "window_rule",
    "recorded_decision",
    "design_decision",
    "design_next_dose",
    "deviation",
    "query",
)


def design_decision(fit: Any, current: int) -> str:
    """The recorded-decision vocabulary for a fitted design at dose level `current` (1-based): stop / expand /
    escalate / stay / de-escalate — what `replay_decisions` compares each recorded decision with.

    >>> from cartrial.escalation import ThreePlusThree, parse_outcomes
    >>> design_decision(ThreePlusThree(3).fit(parse_outcomes("1NNN", 3)), 1)
    'escalate'
    """
    if not fit.continue_ or fit.next_dose is None:
        return "stop"
    if fit.decision == "expansion":
        return "expand"
    if fit.next_dose > current:
        return "escalate"
    return "stay" if fit.next_dose == current else "de-escalate"


def assign_cohorts(
    counted: Sequence[bool],
    infused_on: Sequence[date],
    cohorts: Sequence[tuple[int, date | None]],
    ends: Sequence[date | None] | None = None,
) -> list[tuple[int, int, tuple[int, ...]]]:
    """Each recorded cohort's patients as (start, stop, positions given its outcome letters), positions in
    the patients listed in order of infusion (`counted`, `infused_on`); the patients from the last stop on
    are after every recorded cohort. `counted`: whether the design counts the patient (DLT-evaluable, or
    still inside the DLT window); `cohorts`: each recorded cohort's number of outcome letters and decision
    date (None when unknown).

    A patient not counted — not DLT-evaluable: replaced (3+3, Storer 1989; D-19.123) — takes no letter and
    belongs to the cohort it was infused in: the one being filled, or, infused after a cohort's last lettered
    patient but on or before its decision, that cohort. The letters go to the counted patients infused on or
    before the decision; when there are fewer of them than letters, the record counted patients the analysis
    does not (a decision recorded before this rule): the cohort's replaced patients infused by then take the
    missing letters, in order, then any later patient in order (a decision taken before its patients were
    infused, which the replay reports). `ends` (optional): the date a patient not counted left the study
    (None: unknown); at a decision before it the patient was still inside the window, counted (D-19.700).

    >>> d = [date(2021, 6, day) for day in (1, 2, 3, 4, 20)]
    >>> assign_cohorts([True, False, True, True, True], d, [(3, date(2021, 6, 10)), (1, None)])
    [(0, 4, (0, 2, 3)), (4, 5, (4,))]
    >>> assign_cohorts([True, True, True, False, True], d, [(3, date(2021, 6, 10))])
    [(0, 4, (0, 1, 2))]
    >>> assign_cohorts([True, True, False, True, True], d, [(4, date(2021, 6, 10))])  # counted by the record
    [(0, 4, (0, 1, 2, 3))]
    """
    out: list[tuple[int, int, tuple[int, ...]]] = []
    n = len(counted)
    at = 0
    for size, decided_on in cohorts:
        now = [c or still_followed(ends[i] if ends else None, decided_on) for i, c in enumerate(counted)]
        # the patients infused by the decision (every remaining one when its date is unknown)
        by = at
        while by < n and (decided_on is None or infused_on[by] <= decided_on):
            by += 1
        evaluable = [i for i in range(at, by) if now[i]]
        if len(evaluable) >= size:
            letters = evaluable[:size]
        else:
            replaced = [i for i in range(at, by) if not now[i]]
            letters = sorted(evaluable + replaced[: size - len(evaluable)])
            letters += list(range(by, min(n, by + size - len(letters))))
        stop = letters[-1] + 1 if letters else at
        while stop < by and not now[stop]:
            stop += 1
        out.append((at, stop, tuple(letters)))
        at = stop
    return out


def still_followed(left_on: date | None, decided_on: date | None) -> bool:
    """Whether a patient not DLT-evaluable at the cut-off, who left the study on `left_on` (None: unknown),
    was still on study, inside the window, at a decision of `decided_on` (before the day it left): counted
    then, as pending (D-19.700).

    >>> left = date(2021, 4, 22)
    >>> still_followed(left, date(2021, 4, 5)), still_followed(left, left), still_followed(None, left)
    (True, False, False)
    """
    return left_on is not None and decided_on is not None and decided_on < left_on


def letter_dlts(
    letters: Sequence[bool], assessed: Sequence[bool | None], seen: Sequence[bool]
) -> tuple[list[bool], list[int], list[int]]:
    """Which of a cohort's lettered patients carry its recorded ``T`` letters (D-19.701): matched by count,
    never by the letter's position in the cohort's string (letter order is not part of the form). `letters`:
    the cohort's ``T`` flags in string order; `assessed`: per lettered patient in order of infusion, the DLT
    assessment's DLT (None: the assessment does not give the patient, which then takes the letter at its own
    position); `seen`: whether that DLT was seen by the decision (every design, D-19.747).

    The letters of the assessed patients first go to the DLTs seen by the decision (in order of infusion);
    the rest — DLTs only the letters record — to the assessed patients without a seen DLT: those whose DLT
    came after the decision, then those without one, each in order of infusion, those whose own letter is
    the ``T`` first (D-19.702). Returns (per patient: carries
    a ``T`` letter; the patients carrying a letter the assessment does not give by the decision; the patients
    with a seen DLT no letter records — the last in order of infusion).

    >>> letter_dlts([True, False], [False, True], [False, True])  # `1TN`, the DLT was B's
    ([False, True], [], [])
    >>> letter_dlts([True, False], [False, False], [False, False])  # the letter's DLT only: the first
    ([True, False], [0], [])
    >>> letter_dlts([False, False, True], [False, False, False], [False, False, False])  # `1NNT`: the third
    ([False, False, True], [2], [])
    >>> letter_dlts([False, False], [True, False], [True, False])
    ([False, False], [], [0])
    """
    n = len(assessed)
    out = [bool(letters[k]) if assessed[k] is None else False for k in range(n)]
    given = [k for k in range(n) if assessed[k] is not None]
    recorded = sum(bool(letters[k]) for k in given)
    seen_k = [k for k in given if seen[k]]
    for k in seen_k[:recorded]:
        out[k] = True

    # within each group, a patient whose own letter is the T first: with no DLT the assessment saw by the
    # decision, its position is the only record of whose DLT it is (D-19.702; D-19.83's 1NNT)
    def own_first(ks: list[int]) -> list[int]:
        return sorted(ks, key=lambda k: (not letters[k], k))

    later = own_first([k for k in given if assessed[k] and not seen[k]])
    candidates = later + own_first([k for k in given if not assessed[k]])
    extra = candidates[: max(recorded - len(seen_k), 0)]
    for k in extra:
        out[k] = True
    return out, extra, seen_k[recorded:]


@dataclass(frozen=True)
class TitePatient:
    """One patient of the history as of a date (`tite_history`; every design, D-19.747): cohort number and
    dose level (1-based), the infusion day (day 0, on the site's calendar; None: unknown, taken as fully
    followed), whether the patient has a DLT inside the window by the DLT assessment and its onset day
    (site-calendar days after the infusion, day 0 = infusion; None: unknown), and the date of the decision
    that recorded a ``T`` letter for the patient (None: no such letter; the investigator's recorded DLT,
    D-19.698)."""

    cohort: int
    dose_level: int
    infused_on: date | None
    dlt: bool = False
    dlt_onset_day: float | None = None
    letter_dlt_on: date | None = None


def tite_history(patients: Sequence[TitePatient], as_of: date | None, window_days: int) -> Outcomes:
    """The history as of `as_of` (a TITE-CRM's weights, docs/science/dose-escalation.md §8; D-19.696; every
    design's replay and escalation page, D-19.747, D-19.749 — the others ignore the follow-up): each patient
    followed u = the days from the infusion to `as_of` (`dlt_window_complete`'s day count; day 0 weighs 0,
    a patient infused after `as_of` 0); a DLT counts iff its onset day is ≤ u (a DLT seen by then), its
    follow-up then the onset day (the adaptive scheme places it there); a patient without one, min(u, T).
    A DLT whose onset is unknown counts, with no follow-up (weight 1, the window's end; the replay of another
    design first asks `undated_unseen`, D-19.750); with `as_of` None
    every patient is fully followed and every DLT counts (the outcome letters alone). A ``T`` letter
    recorded at a decision on or before `as_of` counts too, with weight 1 (its onset unknown), though the
    assessment does not give the DLT: the site's recorded DLT is never dropped (D-19.698). The one rule of
    the replay (at each decision date) and the escalation page (at the site's today).

    >>> p = [TitePatient(1, 1, date(2021, 6, 1), True, 9.0), TitePatient(2, 1, date(2021, 6, 3))]
    >>> [(q.dlt, q.followup_days) for q in tite_history(p, date(2021, 6, 5), 28).patients]
    [(False, 4.0), (False, 2.0)]
    >>> [(q.dlt, q.followup_days) for q in tite_history(p, date(2021, 6, 30), 28).patients]
    [(True, 9.0), (False, 27.0)]
    """
    out: list[PatientOutcome] = []
    for p in patients:
        if as_of is None or p.infused_on is None:
            out.append(PatientOutcome(p.cohort, p.dose_level, p.dlt or p.letter_dlt_on is not None, None))
            continue
        followed = float(max(dlt_window_complete(p.infused_on, as_of, window_days)[0], 0))
        if p.dlt and p.dlt_onset_day is not None and p.dlt_onset_day <= followed:
            out.append(PatientOutcome(p.cohort, p.dose_level, True, min(float(p.dlt_onset_day), window_days)))
        elif (p.dlt and p.dlt_onset_day is None) or (p.letter_dlt_on or date.max) <= as_of:
            out.append(PatientOutcome(p.cohort, p.dose_level, True, None))
        else:
            out.append(PatientOutcome(p.cohort, p.dose_level, False, min(followed, float(window_days))))
    return Outcomes(tuple(out))


@dataclass(frozen=True)
class HistoryMember:
    """One lettered patient of a recorded cohort, as `history_patients` reads it: the infusion day (site
    calendar; None: unknown), the DLT assessment's DLT (None: the assessment does not give the patient), its
    onset day (None: unknown) and whether the patient takes part (DLT-evaluable, or still on study then)."""

    infused_on: date | None
    dlt: bool | None
    dlt_onset_day: float | None = None
    counted: bool = True


def history_patients(
    letters: Sequence[PatientOutcome],
    members: Sequence[HistoryMember | None],
    decided_on: date | None,
    window_days: int,
    *,
    weighs_follow_up: bool,
    recorded: bool = True,
) -> tuple[list[TitePatient | None], list[bool], list[int], list[int], list[int], list[bool]]:
    """One cohort's patients of the history (`tite_history`), the one rule of the replay and the escalation
    page (D-19.747, D-19.749): `letters` the cohort's outcome letters (cohort, dose level, ``T``), `members`
    the patient of each (None: a letter no infused patient takes, kept as its letter, fully followed),
    `decided_on` the cohort's decision date (None: undated, every DLT seen), `recorded` False for the page's
    pending patients (no recorded letter). A DLT is seen by the decision when its onset day is at most the
    days from the infusion to the decision (`dlt_window_complete`'s count: a DLT with onset on the decision
    day is seen). An undated DLT is seen for a TITE-CRM (`weighs_follow_up`; D-19.696); for another design
    only when the patient's window was complete at the decision, else it may have come after: the cohort's
    ``T`` letters may claim it (`letter_dlts`), and a DLT no letter records is no deviation (D-19.750).
    A patient carrying a ``T`` letter counts from the decision (D-19.698), unless the assessment dates its
    DLT after the decision: judged without it then, counted from its onset (D-19.752).

    Returns (per letter: the patient, None when it takes no part — replaced, without a letter's DLT; per
    letter: carries a ``T`` letter; the patients carrying a letter the assessment does not give by the
    decision; those with a seen DLT no letter records), as `letter_dlts`; the patients whose DLT the
    assessment dates after the decision (without a DLT then: their window is waited for, D-19.752); per
    letter, whether the patient's DLT is known to be seen by the decision (dated on or before it, or undated
    with the window complete; for a TITE-CRM, undated too): DLT-evaluable then, never waited for (D-19.756).

    >>> on = date(2021, 6, 1)
    >>> letters = parse_outcomes("1TN", 1).patients
    >>> members = [HistoryMember(on, True, 20.0), HistoryMember(on, False)]
    >>> out, _, extra, missed, later, _ = history_patients(
    ...     letters, members, date(2021, 6, 10), 28, weighs_follow_up=False
    ... )
    >>> out[0].letter_dlt_on, extra, missed, later  # A's DLT on day 20: the letter a deviation, not counted
    (None, [0], [], [0])
    """
    seen: list[bool] = []
    unsure: list[bool] = []
    dated_later: list[bool] = []
    for m in members:
        later = maybe = False
        if m is not None and m.dlt and decided_on is not None and m.infused_on is not None:
            followed, complete = dlt_window_complete(m.infused_on, decided_on, window_days)
            if m.dlt_onset_day is not None:
                later = m.dlt_onset_day > followed
            else:
                maybe = not weighs_follow_up and not complete
        seen.append(m is not None and bool(m.dlt) and not later)
        unsure.append(maybe)
        dated_later.append(later)
    assessed = [m.dlt if m is not None else None for m in members]
    carries, extra, missed = letter_dlts([p.dlt for p in letters], assessed, seen)
    out: list[TitePatient | None] = []
    for k, (letter, m) in enumerate(zip(letters, members, strict=True)):
        if m is None:
            out.append(TitePatient(letter.cohort, letter.dose_level, None, letter.dlt))
            continue
        if not m.counted and not carries[k]:  # replaced: no part, unless it carries a T letter (D-19.698)
            out.append(None)
            continue
        on = (decided_on or date.min) if carries[k] and recorded and not dated_later[k] else None
        dlt = letter.dlt if m.dlt is None else m.dlt
        out.append(TitePatient(letter.cohort, letter.dose_level, m.infused_on, dlt, m.dlt_onset_day, on))
    later_ks = [k for k, flag in enumerate(dated_later) if flag]
    known = [s and not u for s, u in zip(seen, unsure, strict=True)]
    return out, carries, extra, [k for k in missed if not unsure[k]], later_ks, known


def undated_unseen(patient: TitePatient, as_of: date | None, window_days: int) -> bool:
    """Whether a patient's DLT, without an onset day and no recorded ``T`` letter by `as_of`, may have come
    after `as_of` (the patient's window was open then): a design other than the TITE-CRM judges such a
    decision with and without it (D-19.750).

    >>> p = TitePatient(1, 1, date(2021, 6, 1), True)
    >>> undated_unseen(p, date(2021, 6, 10), 28), undated_unseen(p, date(2021, 6, 29), 28)
    (True, False)
    """
    if not patient.dlt or patient.dlt_onset_day is not None or patient.infused_on is None or as_of is None:
        return False
    if (patient.letter_dlt_on or date.max) <= as_of:
        return False
    return not dlt_window_complete(patient.infused_on, as_of, window_days)[1]


def conduct_history(
    patients: Sequence[TitePatient], as_of: date | None, window_days: int, tite: bool
) -> Outcomes:
    """The history a decision of `as_of` is judged on (`tite_history`, D-19.747): a design other than the
    TITE-CRM decides on complete cohorts, each patient fully followed. After a recorded 'expand' the later
    patients are read by the design's own expansion rule on this one history (D-19.751, D-19.756)."""
    fitted = tite_history(patients, as_of, window_days)
    if tite:
        return fitted
    return Outcomes(tuple(replace(q, followup_days=None) for q in fitted.patients))


def _cohort_outcomes(text: str, n_doses: int, index: int, file: str) -> Outcomes:
    """One cohort's outcome string (`parse_outcomes`), its problems located at the decisions file's row."""
    try:
        return parse_outcomes(text, n_doses, field="outcomes")
    except InputError as error:
        located = [replace(p, file=file, row=index + FIRST_DATA_ROW) for p in error.problems]
        raise InputError(located, header=f"{file}: {len(located)} problem(s); nothing was written") from None


def _refuse_repeats(values: Any, field: str, message: str, allowed: str, problems: RowProblems) -> None:
    """A problem on each row whose (non-blank) value already appeared on an earlier row."""
    seen: set[Any] = set()
    for i, value in enumerate(values):
        if value is None or (isinstance(value, float) and value != value):  # blank: already a problem
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a cohort number: shown as 2, not 2.0
        if value in seen:
            problems.add(i, field, str(value), message, allowed)
        seen.add(value)


def deviation_count_note(deviations: int, decisions: int) -> str:
    """The replay's count note: "k of n decisions with a protocol deviation" (`cartrial.wording`)."""
    return f"{k_of_n(deviations, decisions, 'decision')} with a protocol deviation"


def replay_decisions(
    decisions: pd.DataFrame,
    infusions: pd.DataFrame,
    dlts: pd.DataFrame | None,
    protocol: Any,
    *,
    decisions_file: str | Path = "escalation_decisions",
    infusions_file: str | Path = "infusions",
    dlts_file: str | Path = "dlts",
    row_names: Sequence[str] | None = None,
) -> Result:
    """Check every recorded escalation decision against the protocol; one row per decision.

    `decisions`: columns cohort, dose_level, decided_on, outcomes (the cohort's own outcome string, e.g.
    ``2NNN``), decision (escalate | stay | de-escalate | expand | stop) — the `escalation_decisions` form.
    `infusions`: subject_id, dose_level, infused_at (the `infusions` form); patients are assigned to cohorts
    in order of infusion. `dlts` (optional): subject_id, dlt (true/false) — compared with the outcome
    letters — and optionally evaluable (true/false; blank or absent: true): a patient not DLT-evaluable
    (died or left the study inside the window without a DLT) takes no outcome letter and is listed in
    ``replaced`` of the cohort it was infused in (`assign_cohorts`; D-19.123); optionally dlt_onset_day (the
    DLT's day after the infusion, 0 to the window; blank when dlt is false): every design counts the DLT from
    the decision on or after it (`tite_history`, D-19.696, D-19.747).
    `protocol`: a `cartrial.protocol.Protocol` (its `escalation`, `dose_levels` and `expansion`).
    `decisions_file`, `infusions_file`, `dlts_file`: how problems name each table (the path the user gave;
    the form name by default). `row_names` (optional, one per decisions row): how the design and
    design-state remarks name each row (a stored record: ``escalation_decision record <id>``, as
    `cartrial.analysis.model.record_name` writes it); blank or not given: ``<decisions_file> row <n>``.

    The protocol's sentinel interval (`escalation.stagger_days`, when given) is checked too: an escalation
    cohort's patient infused fewer days after the cohort's first patient is a deviation (D-19.1203).

    Columns: cohort, dose_level, decided_on, subjects (those with an outcome letter), replaced,
    last_infused_on (of the subjects), days_after_last_infusion,
    dlt_window_days, window_complete, window_rule (whether a decision before the window is complete is a
    deviation: false for a TITE-CRM, D-19.697), recorded_decision, design_decision, design_next_dose,
    deviation ('' when none; otherwise every deviation, joined with '; '), query ('' when none; a design's
    answer that depends on an undated DLT's onset: a data query, not a deviation, D-19.755).

    >>> from types import SimpleNamespace
    >>> spec = SimpleNamespace(design="3+3", variant="deescalation", dlt_window_days=28, no_skip=True)
    >>> protocol = SimpleNamespace(escalation=spec, dose_levels=[1, 2], expansion=None)
    >>> decisions = pd.DataFrame({"cohort": [1], "dose_level": [1], "decided_on": ["2021-07-20"],
    ...                           "outcomes": ["1NNN"], "decision": ["escalate"]})
    >>> infusions = pd.DataFrame({"subject_id": ["A", "B", "C"], "dose_level": [1, 1, 1],
    ...                           "infused_at": ["2021-06-01", "2021-06-08", "2021-07-01"]})
    >>> row = replay_decisions(decisions, infusions, None, protocol).table.iloc[0]
    >>> int(row.days_after_last_infusion), bool(row.window_complete)
    (19, False)
    >>> print(row.deviation)  # doctest: +NORMALIZE_WHITESPACE
    decision taken 19 days after the last infusion of the cohort (C, 2021-07-01),
    before the 28-day DLT window was complete
    """
    window = int(protocol.escalation.dlt_window_days)
    n_doses = len(protocol.dose_levels)
    design = design_from_spec(protocol.escalation, n_doses, expansion=getattr(protocol, "expansion", None))
    # a TITE-CRM decides with patients inside the window, each weighed by its follow-up at the decision
    # (docs/science/dose-escalation.md §8; D-19.695)
    tite = isinstance(getattr(design, "inner", design), TiteCrm)

    if row_names is not None and len(row_names) != len(decisions):
        raise InternalError(Problem("one row name per decisions row", field="row_names"))
    dec_problems = RowProblems(decisions_file)
    cohort = parse_int(decisions, "cohort", dec_problems, minimum=1)
    level = parse_int(decisions, "dose_level", dec_problems, minimum=1, maximum=n_doses)
    decided = parse_datetime(decisions, "decided_on", dec_problems)
    outcome_text = parse_text(decisions, "outcomes", dec_problems)
    recorded = parse_choice(decisions, "decision", DECISIONS, dec_problems)
    # the design and its state the decision was recorded with (optional; D-19.1086, D-19.1087): the
    # import's one JSON rule, a stored JSON value taken as read
    recorded_design = (  # a design name a protocol can give, as the form's choice (D-19.1086)
        parse_choice(decisions, "design", DESIGNS, dec_problems, required=False)
        if "design" in decisions.columns
        else [None] * len(decisions)
    )
    recorded_state = (
        parse_json_cells(
            decisions["design_state"].tolist(), "design_state", dec_problems, DESIGN_STATE_ALLOWED
        )
        if "design_state" in decisions.columns
        else [None] * len(decisions)
    )
    inf_problems = RowProblems(infusions_file)
    subject = parse_text(infusions, "subject_id", inf_problems)
    inf_level = parse_int(infusions, "dose_level", inf_problems, minimum=1, maximum=n_doses)
    infused = parse_datetime(infusions, "infused_at", inf_problems)
    inf_zones = parse_time_zones(infusions, inf_problems)  # the site's calendar (optional; D-19.607)
    # one row per cohort, one infusion per subject, one DLT flag per subject: a repeat is never counted
    # twice nor silently overridden (as every other reader of the infusions form refuses it)
    _refuse_repeats(cohort, "cohort", "cohort listed twice", "one row per cohort", dec_problems)
    _refuse_repeats(
        subject, "subject_id", "subject infused twice in this file", "one row per subject", inf_problems
    )
    dlt_of: dict[str, bool] = {}
    evaluable_of: dict[str, bool] = {}
    onset_of: dict[str, float] = {}  # a DLT's onset day (day 0 = infusion), when given (D-19.696)
    end_of: dict[str, int] = {}  # the day a patient not DLT-evaluable left the study, when given (D-19.700)
    if dlts is not None:
        dlt_problems = RowProblems(dlts_file)
        dlt_subject = parse_text(dlts, "subject_id", dlt_problems)
        dlt_flag = parse_bool(dlts, "dlt", dlt_problems)
        dlt_evaluable = parse_bool(dlts, "evaluable", dlt_problems, required=False, default=True)
        onset_column = "dlt_onset_day" in dlts.columns
        dlt_onset = (
            parse_float(
                dlts, "dlt_onset_day", dlt_problems, required=False, minimum=0, maximum=window, unit="days"
            )
            if onset_column
            else [float("nan")] * len(dlts)
        )
        dlt_end = (
            parse_int(dlts, "followup_end_day", dlt_problems, required=False, minimum=0, maximum=window)
            if "followup_end_day" in dlts.columns
            else [float("nan")] * len(dlts)
        )
        _refuse_repeats(
            dlt_subject, "subject_id", "subject listed twice", "one row per subject", dlt_problems
        )
        # a row the replay cannot use is refused, never dropped (D-19.148): a subject of no infusion (a typo
        # would leave the patient's DLT unchecked) and a DLT of a patient marked not DLT-evaluable (a DLT in
        # the window makes the patient evaluable, D-19.83)
        infused_ids = {str(s) for s in subject if s is not None}
        for i, (sid, flag, evaluable) in enumerate(zip(dlt_subject, dlt_flag, dlt_evaluable, strict=True)):
            if sid is not None and str(sid) not in infused_ids:
                dlt_problems.add(
                    i, "subject_id", str(sid), "subject has no infusion", f"a subject_id of {infusions_file}"
                )
            if bool(flag) and not bool(evaluable):
                dlt_problems.add(
                    i,
                    "evaluable",
                    "false",
                    "a patient with a DLT is DLT-evaluable",
                    "true (or blank) when dlt is true",
                )
            if not bool(flag) and flag is not None and dlt_onset[i] == dlt_onset[i]:
                dlt_problems.add(
                    i,
                    "dlt_onset_day",
                    str(dlts["dlt_onset_day"].iloc[i]),
                    "an onset day without a DLT",
                    "blank when dlt is false",
                )
            if dlt_end[i] == dlt_end[i] and (evaluable is None or bool(evaluable)):
                dlt_problems.add(
                    i,
                    "followup_end_day",
                    str(dlts["followup_end_day"].iloc[i]),
                    "an end of follow-up for a DLT-evaluable patient",
                    "blank unless evaluable is false",
                )
        dlt_problems.raise_if_any()
        end_of = {str(s): int(e) for s, e in zip(dlt_subject, dlt_end, strict=True) if e == e}
        dlt_of = {str(s): bool(f) for s, f in zip(dlt_subject, dlt_flag, strict=True)}
        evaluable_of = {str(s): bool(e) for s, e in zip(dlt_subject, dlt_evaluable, strict=True)}
        onset_of = {
            str(s): float(o) for s, f, o in zip(dlt_subject, dlt_flag, dlt_onset, strict=True) if f and o == o
        }
    dec_problems.raise_if_any()
    inf_problems.raise_if_any()

    # required: raise_if_any refused blanks; each on its site's clock, so that its `date()` is the infusion's
    # day on the site's calendar (D-19.607; `typed_site_moment`: exactly 00:00:00Z, a date typed without a
    # time west of UTC, is 00:00 of that date, D-19.947); in the order of those instants, so that a date typed
    # without a time never goes before an infusion of the evening before
    moments = [typed_site_moment(m, z) for m, z in zip(infused, inf_zones, strict=True) if m is not None]
    queue: list[tuple[datetime, str, int]] = [
        (moments[i], str(subject[i]), int(inf_level[i]))
        for i in sorted(range(len(infusions)), key=lambda i: (moments[i], str(subject[i])))
    ]
    order = sorted(range(len(decisions)), key=lambda i: int(cohort[i]))
    all_outcomes = [_cohort_outcomes(str(outcome_text[i]), n_doses, i, str(decisions_file)) for i in order]
    # a patient not DLT-evaluable (`dlts.evaluable` false: replaced) takes no outcome letter (D-19.123)
    counted = [evaluable_of.get(name, True) for _, name, _ in queue]
    decision_days = [d.date() if (d := decided[i]) is not None else None for i in order]
    # the day a patient not counted left the study: counted at a decision before it (D-19.700)
    left_on = [
        moment.date() + timedelta(days=end_of[name]) if name in end_of else None for moment, name, _ in queue
    ]
    spans = assign_cohorts(
        counted,
        [moment.date() for moment, _, _ in queue],
        [(len(o.patients), day) for o, day in zip(all_outcomes, decision_days, strict=True)],
        left_on,
    )
    tite_patients: list[TitePatient] = []  # each counted lettered patient so far (every design; D-19.747)
    fitted_names: set[str] = set()  # those of them the DLT assessment gives
    left_of: dict[int, date | None] = {}  # of them, those lettered though not counted at the cut-off
    history_names: list[str] = []  # the subject of each of them
    rows: list[dict[str, Any]] = []
    state_treated = [0] * n_doses  # the replayed design state: letters per level so far (D-19.1088)
    stagger = int(getattr(protocol.escalation, "stagger_days", 0) or 0)  # sentinel interval (D-19.1203)
    after_expand = False  # the cohort follows an "expand" decision: the expansion cohort
    state_dlts = [0] * n_doses
    for position, i in enumerate(order):
        deviations: list[str] = []
        cohort_level = int(level[i])
        cohort_outcomes = all_outcomes[position]
        letters = [p.dlt for p in cohort_outcomes.patients]
        if {p.dose_level for p in cohort_outcomes.patients} - {cohort_level}:
            deviations.append(f"the outcomes {outcome_text[i]!r} are not all at level {cohort_level}")
        start, used, positions = spans[position]
        members = queue[start:used]
        lettered = [queue[p] for p in positions]
        decided_on = decision_days[position]
        # counted at this decision: DLT-evaluable, or still on study then (D-19.700)
        then = [c or still_followed(left, decided_on) for c, left in zip(counted, left_on, strict=True)]
        if len(lettered) < len(letters):
            raise InputError(
                Problem(
                    f"cohort {int(cohort[i])} has {len(letters)} patients but only {len(lettered)} "
                    f"infusions remain in {infusions_file}",
                    file=str(decisions_file),
                    row=i + FIRST_DATA_ROW,
                    field="outcomes",
                    value=str(outcome_text[i]),
                )
            )
        for _, name, at_level in members:
            if at_level != cohort_level:
                deviations.append(
                    f"{name} was infused at level {at_level}, the cohort is at level {cohort_level}"
                )
        # the sentinel interval (protocol `escalation.stagger_days`): an escalation cohort's later patients at
        # least that many days after its first, on the site's calendar (NCT07488546; D-19.1203); the
        # expansion cohort (after a recorded "expand" decision) has none, as simulated
        if stagger and members and not after_expand:
            first_moment, first_name, _ = members[0]
            for moment, name, _ in members[1:]:
                gap = (moment.date() - first_moment.date()).days
                if gap < stagger:
                    deviations.append(
                        f"{name} was infused {gap} days after the cohort's first patient ({first_name}, "
                        f"{first_moment.date()}), inside the {stagger}-day sentinel interval (protocol "
                        "escalation.stagger_days)"
                    )
        # the cohort's patients of the history, its T letters matched to them by count (D-19.701), each DLT
        # seen by the decision or not (`history_patients`: the one rule of the replay and the page, D-19.747)
        joined, carries, extra, missed, later_ks, seen = history_patients(
            cohort_outcomes.patients,
            [
                HistoryMember(moment.date(), dlt_of.get(name), onset_of.get(name), then[p])
                for (moment, name, _), p in zip(lettered, positions, strict=True)
            ],
            decided_on,
            window,
            weighs_follow_up=tite,
        )
        for k in sorted([*extra, *missed]):
            name = lettered[k][1]
            by = " by the decision date" if name in onset_of and decided_on is not None else ""
            says = "DLT" if k in extra else "no DLT"
            other = "no DLT" if k in extra else "DLT"
            deviations.append(f"{name}: the outcome letter says {says}, the DLT assessment says {other}{by}")
        # a patient carrying a recorded T letter counts from that decision on, replaced or not (D-19.698)
        kept = set(p for p, c in zip(positions, carries, strict=False) if c)
        for p in positions:
            if not then[p] and p not in kept:
                deviations.append(
                    f"{queue[p][1]} has an outcome letter but is not DLT-evaluable (replaced): not an "
                    "outcome for the design"
                )
        last_moment = max(m[0] for m in lettered)
        last_day: date = last_moment.date()
        days: int | None = None
        complete = False
        if decided_on is not None:
            days, _ = dlt_window_complete(last_day, decided_on, window)
            # the window waited for is that of the lettered patients without a DLT: a patient with a DLT is
            # DLT-evaluable already (`dlt_evaluable`), a replaced one takes no letter (D-19.123, D-19.248); a
            # patient whose DLT the assessment dates after the decision had none then: waited for (D-19.752);
            # a patient whose DLT was seen by the decision is DLT-evaluable, whatever its letter (D-19.756)
            waiting = [
                m
                for k, (m, had_dlt) in enumerate(zip(lettered, carries, strict=False))
                if (not had_dlt or k in later_ks) and not seen[k]
            ]
            complete = True
            if waiting:
                wait_moment, wait_name, _ = max(waiting, key=lambda m: m[0])
                wait_day = wait_moment.date()
                wait_days, complete = dlt_window_complete(wait_day, decided_on, window)
                whose = "the cohort" if wait_day == last_day else "the cohort's patients without a DLT"
                if not complete and not tite:  # a TITE-CRM decides before the window closes (§8)
                    deviations.append(
                        f"decision taken {wait_days} days after the last infusion of {whose} ({wait_name}, "
                        f"{wait_day}), before the {window}-day DLT window was complete"
                    )
        next_members = queue[used : used + 1]
        if next_members and decided_on is not None and next_members[0][0].date() < decided_on:
            moment, name, at_level = next_members[0]
            deviations.append(
                f"{name} (next cohort) was infused at level {at_level} on {moment.date()}, "
                "before this decision"
            )
        # the history per patient as of the decision (D-19.696, D-19.747; `history_patients`): the cohort's
        # number is its place in the replay; a patient not counted at the cut-off, without a T letter, takes
        # part until the day it left (D-19.700)
        for (_, name, _), p, joined_one, carried in zip(lettered, positions, joined, carries, strict=True):
            if joined_one is None:
                continue
            if name in dlt_of:
                fitted_names.add(name)
            tite_patients.append(replace(joined_one, cohort=position + 1))
            history_names.append(name)
            if not counted[p] and not carried:  # a recorded T letter is never dropped (D-19.698)
                left_of[len(tite_patients) - 1] = left_on[p]
        # a patient who has left the study by this decision takes no part (replaced, D-19.123; D-19.700)
        kept_k = [
            k for k in range(len(tite_patients)) if k not in left_of or still_followed(left_of[k], decided_on)
        ]
        still = [tite_patients[k] for k in kept_k]

        # every design is judged on the DLTs seen by the decision date (D-19.747): the one history, the
        # expansion's patients included (D-19.751, D-19.756)
        real = conduct_history(still, decided_on, window, tite)
        variants = [real]
        # a DLT without an onset day whose window was open at the decision may have come after it: a design
        # other than the TITE-CRM is judged with it and without it (D-19.750)
        unsure = [] if tite else [k for k in kept_k if undated_unseen(tite_patients[k], decided_on, window)]
        if unsure:
            without = [
                replace(tite_patients[k], dlt=False) if k in unsure else tite_patients[k] for k in kept_k
            ]
            variants.append(conduct_history(without, decided_on, window, tite))
        queries: list[str] = []
        answers: list[tuple[Any, str]] = []
        for variant in variants:
            try:
                answers.append((design.fit(variant), ""))
            except InputError as error:  # patients the design would not have treated: a deviation
                answers.append(
                    (
                        None,
                        f"the protocol's design gives no decision after {format_outcomes(real)!r}: "
                        + "; ".join(problem.message for problem in error.problems),
                    )
                )
        fit, failure = answers[0]
        expected = design_decision(fit, cohort_level) if fit is not None else ""
        if len(answers) > 1:
            other_fit, other_failure = answers[1]
            other = design_decision(other_fit, cohort_level) if other_fit is not None else ""
            # the two readings differ: a query only when the recorded decision is one of the design's two
            # answers; neither: a deviation whatever the onset; no decision under both: the failure stays a
            # deviation (D-19.750, D-19.755, D-19.756)
            if (other != expected or other_failure != failure) and (fit is not None or other_fit is not None):
                whose = ", ".join(f"{history_names[k]}'s" for k in unsure)
                several = len(unsure) > 1
                onset = f"the onset of {whose} undated DLT{'s' if several else ''}"
                if str(recorded[i]) in (expected, other):
                    queries.append(
                        f"the protocol's design gives {expected or 'no decision'!r} if the DLT was seen by "
                        f"the decision, {other or 'no decision'!r} if not: depends on {onset}: query "
                        f"{'their onset days' if several else 'its onset day'}"
                    )
                else:
                    deviations.append(
                        f"recorded decision {recorded[i]!r}, the protocol's design gives "
                        f"{expected or 'no decision'!r} or {other or 'no decision'!r} (depending on {onset})"
                    )
                fit, failure, expected = None, "", ""
        if failure:
            deviations.append(failure)
        if fit is not None and expected != recorded[i]:
            deviations.append(
                f"recorded decision {recorded[i]!r}, the protocol's design gives {expected!r} after "
                f"{format_outcomes(real)!r}"
            )
        # the recorded design and state against the protocol's design and the replayed state (D-19.1086,
        # D-19.1088): located at the decisions row and field, value-free
        where = _decision_row(i, decisions_file, row_names)
        shown = recorded_design[i]  # None: blank, nothing recorded
        if shown is not None and shown != design.name:
            deviations.append(f"{where}, design: the recorded design is not the protocol's ({design.name})")
        for patient in cohort_outcomes.patients:
            state_treated[patient.dose_level - 1] += 1
            state_dlts[patient.dose_level - 1] += int(patient.dlt)
        queries.extend(
            f"{where}, {remark}"
            for remark in state_remarks(recorded_state[i], n_doses, state_treated, state_dlts, cohort_level)
        )
        # the expansion cohort is the one the team ran after a recorded "expand"; the design's "expand" beside
        # another recorded decision is a deviation of that decision, not an expansion (D-19.1203)
        after_expand = after_expand or str(recorded[i]) == "expand"
        rows.append(
            {
                "cohort": int(cohort[i]),
                "dose_level": cohort_level,
                "decided_on": decided_on,
                "subjects": " ".join(m[1] for m in lettered),
                "replaced": " ".join(
                    queue[p][1] for p in range(start, used) if not then[p] and p not in kept
                ),
                "last_infused_on": last_day,
                "days_after_last_infusion": days,
                "dlt_window_days": window,
                "window_complete": complete,
                "window_rule": not tite,
                "recorded_decision": recorded[i],
                "design_decision": expected,
                "design_next_dose": fit.next_dose if fit is not None else None,
                "deviation": "; ".join(deviations),
                "query": "; ".join(queries),
            }
        )
    table = pd.DataFrame(rows, columns=list(_COLUMNS))
    table["design_next_dose"] = table["design_next_dose"].astype("Int64")
    n_dev = int((table["deviation"] != "").sum()) if len(table) else 0  # a query is no deviation (D-19.755)
    n_query = int((table["query"] != "").sum()) if len(table) else 0
    # a DLT the assessment gives without an onset day (D-19.696, D-19.750): said for every design, with how
    # it was counted and, for a TITE-CRM, the bias's direction
    undated_n = len({n for n in fitted_names if dlt_of[n] and n not in onset_of})
    undated_note = f"{count(undated_n, 'DLT')} without an onset day: " + (
        "counted at every decision from the patient's cohort on, weight 1, at the window's end (adaptive "
        "scheme); the replay's design leans toward toxicity (a lower dose) against the onset known (D-19.696)"
        if tite
        else "counted at a decision once the patient's window was complete or its outcome letter recorded "
        "it; before, the decision is judged with and without it: when they differ, a query of its onset day "
        "if the recorded decision is one of the two answers, else a deviation (D-19.750, D-19.756)"
    )
    return Result(
        table,
        derivation="cartrial.escalation.replay_decisions",
        options={"dlt_window_days": window, **design.options()},
        sources=("protocol escalation section (dlt_window_days, design)", "docs/escalation.md"),
        units={"days_after_last_infusion": "days", "dlt_window_days": "days"},
        notes=(
            deviation_count_note(n_dev, len(table)),
            *([f"{k_of_n(n_query, len(table), 'decision')} with a data query (D-19.755)"] if n_query else []),
            *([undated_note] if undated_n else []),
        ),
    )


__all__ = [
    "DECISIONS",
    "DESIGN_STATE_ALLOWED",
    "DESIGN_STATE_EXAMPLE",
    "HistoryMember",
    "TitePatient",
    "assign_cohorts",
    "conduct_history",
    "deviation_count_note",
    "history_patients",
    "letter_dlts",
    "replay_decisions",
    "state_remarks",
    "tite_history",
    "undated_unseen",
]
