"""CRS and ICANS episodes of each subject from a time series of assessments.

An episode starts at the first grading unit (calendar day or assessment) of grade ≥ 1 and ends at its
resolution; it records onset (days and hours after the infusion), the maximum grade and when it was
reached, the duration from onset to resolution, when fever masking began, and the therapies given.
Source: ASTCT 2019 (Lee DW et al. *Biol Blood Marrow Transplant* 2019;25:625-638) for the grades; episode
rules are the project's proposal in docs/science/toxicity-grading.md §1.3 and ambiguity A6 [P].

Only assessments from the infusion on count: CRS follows the immune-effector-cell infusion, so a fever during
lymphodepletion (days −2/−1) never opens an episode; it is reported as ``pre_infusion_fever_assessments``.

Fever masking is carried across time (CRS-2): once a row records ``fever_masked`` (at or after a recorded
fever after the infusion, D-19.1308) or (with a therapies list)
a drug of the masking classes (option A2) has been given after the infusion and since the fever began, later
assessments of the same episode are masked until a resolution is recorded (``crs_resolved``) or, by default
(`MaskedResolution.AFEBRILE_STABLE`), until the subject has been afebrile, normotensive and off oxygen for
``masked_stable_hours`` after the last masking drug. With ``resolution_rule=recorded`` a recorded resolution
wins over an earlier grade-0 day (as documented), unless CRS restarts before any resolution is recorded.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from cartrial.allowed import allowed, check_fields, enum_member
from cartrial.columns import calendar_days
from cartrial.grading.choices import GradingUnit, MaskedResolution, ResolutionRule, RowMasking
from cartrial.grading.crs import (
    CRS_SCALE,
    CRS_SOURCE,
    FEVER_THRESHOLD_C,
    CrsGradeArrays,
    CrsOptions,
    grade_crs_arrays,
)
from cartrial.grading.icans import ICANS_SCALE, ICANS_SOURCE, grade_icans_arrays
from cartrial.grading.tables import CrsInputs, IcansInputs, TherapyRecord

EPISODE_SOURCE = (
    "docs/science/toxicity-grading.md §1.3 and A6 (project proposal [P]) on ASTCT 2019 per-assessment grades"
)


@dataclass(frozen=True)
class EpisodeOptions:
    """Episode construction choices (A6); defaults: calendar-day grading, investigator-recorded resolution,
    masked episodes resolving after `masked_stable_hours` (24 h) free of hypotension and oxygen need after
    the last masking drug (`MaskedResolution`).

    >>> EpisodeOptions().as_dict()["masked_resolution"]
    'afebrile_stable'
    """

    grading_unit: GradingUnit = GradingUnit.DAY
    resolution_rule: ResolutionRule = ResolutionRule.RECORDED
    masked_resolution: MaskedResolution = MaskedResolution.AFEBRILE_STABLE
    masked_stable_hours: float = field(default=24.0, metadata=allowed(low=1, high=168, unit="h"))

    def __post_init__(self) -> None:
        check_fields(self)
        for name, kind in (
            ("grading_unit", GradingUnit),
            ("resolution_rule", ResolutionRule),
            ("masked_resolution", MaskedResolution),
        ):
            object.__setattr__(self, name, enum_member(kind, getattr(self, name), name))

    def as_dict(self) -> dict[str, Any]:
        return {
            "grading_unit": self.grading_unit.value,
            "resolution_rule": self.resolution_rule.value,
            "masked_resolution": self.masked_resolution.value,
            "masked_stable_hours": float(self.masked_stable_hours),
        }


THERAPY_SUMMARY_KEYS = ("tocilizumab", "corticosteroid", "vasopressor", "antipyretic", "anakinra", "other")


@dataclass(frozen=True)
class EpisodeSummary:
    """One CRS or ICANS episode of one subject (``episode`` 0 with grade 0: no episode in the data)."""

    subject_id: str
    kind: str
    episode: int
    infused_at: datetime
    max_grade: int
    n_assessments: int
    onset_at: datetime | None = None
    max_grade_at: datetime | None = None
    max_grade_rule: str = ""
    resolved_at: datetime | None = None
    resolution_basis: str = ""
    last_assessed_at: datetime | None = None
    last_ongoing_at: datetime | None = None
    """For an unresolved episode: the last row of the units that graded it, the instant it is known to have
    lasted to; None once resolved. With the day unit (default) the last graded row of its last day, which
    may itself be grade 0 (the day's grade is its maximum: ICE 5 then ICE 10 on one day is a grade-2 day whose
    last row is the grade-0 one). CRS: the subject's last assessment (every CRS row grades); ICANS: never a
    "not assessable" row (sedated, D-19.675), which `last_assessed_at` may be (D-19.767)."""
    unassessed_from_at: datetime | None = None
    """For a resolved ICANS episode whose last graded row is followed, before the resolution, by "not
    assessable" rows (sedated, D-19.675): the first of those rows, the earliest it could have resolved had
    that row graded (the episode lasted through the ungraded rows to its resolution; a DLT duration met only
    because they did not grade carries a query, D-19.787 as amended after round 2); else None."""
    fever_masked_from: datetime | None = None
    therapies: dict[str, int] = field(default_factory=dict)
    therapy_details: str = ""
    max_vasopressors: int = 0
    pre_infusion_fevers: int = 0
    """Febrile assessments before the infusion (lymphodepletion): reported, never part of a CRS episode."""
    options: dict[str, Any] = field(default_factory=dict)
    scale: str = CRS_SCALE
    source: str = ""

    @staticmethod
    def _days(later: datetime | None, earlier: datetime | None) -> float | None:
        if later is None or earlier is None:
            return None
        return (later - earlier) / timedelta(days=1)

    @property
    def onset_day(self) -> float | None:
        """Days from infusion to onset (fractional)."""
        return self._days(self.onset_at, self.infused_at)

    @property
    def onset_hours(self) -> float | None:
        days = self.onset_day
        return None if days is None else days * 24.0

    @property
    def max_grade_day(self) -> float | None:
        return self._days(self.max_grade_at, self.infused_at)

    @property
    def duration_days(self) -> float | None:
        """Onset to resolution in days; None while unresolved."""
        return self._days(self.resolved_at, self.onset_at)

    @property
    def ongoing_at_day(self) -> float | None:
        """For an unresolved episode: the day of the last assessment (the episode lasted at least this: it had
        not resolved by then). For ICANS a "not assessable" row (unarousable from sedation) counts: it neither
        opens nor resolves an episode (D-19.675), so the episode is unresolved through it, as a resolved
        episode's duration spans it; the heat map shows those days "unresolved, not graded" (D-19.767). The
        one rule of the DLT duration reading (D-19.787); `graded_to_day` is the last day a row graded it."""
        if self.resolved_at is not None or self.onset_at is None:
            return None
        return self._days(self.last_assessed_at, self.infused_at)

    @property
    def graded_to_day(self) -> float | None:
        """For an unresolved episode: the day of its last assessment that graded it (``last_ongoing_at``,
        D-19.767), ≤ `ongoing_at_day`; earlier only when ICANS "not assessable" rows follow it (D-19.787).
        For a resolved ICANS episode: the day of the first "not assessable" row after its last graded row,
        before the resolution (`unassessed_from_at`: the episode is graded or between ordinary assessments up
        to it; a grade 0 there would have resolved it), else None (D-19.787 as amended)."""
        if self.onset_at is None:
            return None
        if self.resolved_at is not None:
            return self._days(self.unassessed_from_at, self.infused_at)
        return self._days(self.last_ongoing_at, self.infused_at)

    def as_record(self) -> dict[str, Any]:
        """Flat dict for tables (CSV/JSON)."""
        record: dict[str, Any] = {
            "subject_id": self.subject_id,
            "kind": self.kind,
            "episode": self.episode,
            "scale": self.scale,
            "infused_at": self.infused_at.astimezone(UTC).isoformat(),
            "onset_at": self.onset_at.isoformat() if self.onset_at else None,
            "onset_day": _round(self.onset_day),
            "onset_hours": _round(self.onset_hours),
            "max_grade": self.max_grade,
            "max_grade_at": self.max_grade_at.isoformat() if self.max_grade_at else None,
            "max_grade_day": _round(self.max_grade_day),
            "max_grade_rule": self.max_grade_rule,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "resolution_basis": self.resolution_basis,
            "duration_days": _round(self.duration_days),
            "ongoing_at_day": _round(self.ongoing_at_day),
            # the instant `ongoing_at_day` is measured to: what a duration censored while the episode is
            # unresolved is censored at (ADTTE TTCRSRES, D-19.588)
            "last_assessed_at": self.last_assessed_at.isoformat() if self.last_assessed_at else None,
            # an unresolved episode's last assessment that graded it: what the heat map and swimmer plot fill
            # through (never an ICANS "not assessable" row, D-19.767)
            "last_ongoing_at": self.last_ongoing_at.isoformat() if self.last_ongoing_at else None,
            "n_assessments": self.n_assessments,
        }
        if self.kind == "crs":
            record["fever_masked_from"] = (
                self.fever_masked_from.isoformat() if self.fever_masked_from else None
            )
            record["max_vasopressors"] = self.max_vasopressors
            record["pre_infusion_fever_assessments"] = self.pre_infusion_fevers
        for key in THERAPY_SUMMARY_KEYS:
            record[f"{key}_doses"] = self.therapies.get(key, 0)
        record["therapies_given"] = self.therapy_details
        record.update(self.options)
        return record


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _study_day(moment: datetime, infused_at: datetime) -> int:
    """Calendar day relative to the infusion (day 0 = the infusion's date on the site's calendar, its
    `tzinfo`; UTC for a site without a time zone, D-19.607)."""
    return calendar_days(moment, infused_at)


@dataclass(frozen=True)
class _Unit:
    """One grading unit (a day or an assessment) of one subject."""

    first_at: datetime
    first_positive_at: datetime | None
    grade: int
    rule: str
    resolved_at: datetime | None
    rows: list[int]
    resolved_after_onset_at: datetime | None = None
    """In the unit where an episode starts, the first recorded resolution at or after its first grade ≥ 1
    assessment (a resolution recorded earlier that day belongs to what came before)."""


def _find_episodes(units: list[_Unit], rule: ResolutionRule) -> list[tuple[int, int | None, str]]:
    """(first unit, resolving unit or None, basis) of each episode.

    ``first_grade_0``: the first grade-0 unit after onset ends the episode. ``recorded``: an
    investigator-recorded resolution ends it, and wins over earlier grade-0 units; without one, the episode
    ends at its first grade-0 unit — also when CRS starts again (a grade ≥ 1 unit after a grade-0 unit)
    before any resolution is recorded, so that a later episode's resolution never merges two episodes."""
    episodes: list[tuple[int, int | None, str]] = []
    fallback = "first grade 0" + (" (no recorded resolution)" if rule is ResolutionRule.RECORDED else "")
    k = 0
    while k < len(units):
        if units[k].grade < 1:
            k += 1
            continue
        start = k
        end: int | None = None
        basis = "ongoing at last assessment"
        first_zero: int | None = None
        j = k + 1 if not (rule is ResolutionRule.RECORDED and units[k].resolved_after_onset_at) else k
        while j < len(units):
            own_unit = j == start
            resolved = units[j].resolved_after_onset_at if own_unit else units[j].resolved_at
            if rule is ResolutionRule.RECORDED and resolved is not None:
                end, basis = j, "recorded"
                break
            if units[j].grade == 0:
                if rule is ResolutionRule.FIRST_GRADE_0:
                    end, basis = j, fallback
                    break
                if first_zero is None:
                    first_zero = j
            elif first_zero is not None:
                break  # a new onset before any recorded resolution
            j += 1
        if end is None and first_zero is not None:
            end, basis = first_zero, fallback
        episodes.append((start, end, basis))
        k = (end + 1) if end is not None else len(units)
    return episodes


def _span_end(start: int, end: int | None, basis: str, n_units: int) -> int:
    """End (exclusive) of the units belonging to an episode: a recorded resolution's unit is included."""
    if end is None:
        return n_units
    return max(end + 1 if basis == "recorded" else end, start + 1)


FLAG_NOT_USED_NO_FEVER = (
    "[the recorded fever_masked flag was not used: no CRS fever recorded since the infusion or the last "
    "resolution; D-19.1308]"
)
"""Suffix of the grade reason of an afebrile row whose recorded ``fever_masked`` flag did not mask because
no CRS fever (>= 38.0 °C, not attributed elsewhere) was recorded before it since the infusion or, after a
recorded resolution, since that resolution (D-19.1357)."""
FLAG_NOT_USED_RESOLVED = (
    "[the recorded fever_masked flag was not used: this assessment records the CRS as resolved]"
)
"""Suffix of the grade reason of an afebrile flagged row that itself records the CRS as resolved
(``crs_resolved``): a resolved CRS has no fever left to mask (D-19.1357)."""
FLAG_NOT_USED_SETTLED = (
    "[the recorded fever_masked flag was not used: masking had ended (masked_resolution afebrile_stable) and "
    "no CRS sign has returned since]"
)
"""Suffix of the grade reason of an afebrile row whose flag did not mask because masking had ended by the
stability rule (`MaskedResolution.AFEBRILE_STABLE`; D-19.1357)."""
FLAG_TAKEN_AS_RECORDED = (
    "[fever_masked taken as recorded, no CRS fever recorded before it (crs_masking recorded; D-19.1356)]"
)
"""Suffix of the grade reason of a row masked by its recorded flag with no CRS fever recorded before it, which
only ``RowMasking.RECORDED`` allows (D-19.1356)."""
FLAG_CARRIED_AS_RECORDED = (
    "[fever masking carried from an earlier fever_masked flag taken as recorded, no CRS fever recorded "
    "before it (crs_masking recorded; D-19.1356)]"
)
"""Suffix of the grade reason of an unflagged row masked only because masking begun by a flag taken as
recorded (`FLAG_TAKEN_AS_RECORDED`) carries to it, no CRS fever recorded since (D-19.1356)."""

BEFORE_INFUSION_RULE = "before the infusion: not CRS"
"""The grade reason of an assessment before the infusion: CRS follows the infusion, such a row has no CRS
grade (blank) and is in no episode (D-19.1356)."""


def _crs_effective_masking(
    inputs: CrsInputs,
    rows: npt.NDArray[np.int64],
    therapies: Sequence[TherapyRecord],
    options: CrsOptions,
    infused_at: datetime,
    episode_options: EpisodeOptions,
    masking: RowMasking = RowMasking.AFTER_FEVER,
) -> tuple[npt.NDArray[np.bool_], datetime | None, npt.NDArray[np.object_]]:
    """Masking carried forward within one subject's (time-sorted, post-infusion) rows; also when it began.

    Masking starts only with CRS: a masking drug counts when given after the infusion and at or after the
    first fever of the current CRS (paracetamol premedication before the infusion is not masking of CRS).
    It ends at a recorded resolution, or (``MaskedResolution.AFEBRILE_STABLE``) once the subject has been
    afebrile and free of hypotension and of oxygen need for `masked_stable_hours` after the last masking drug
    (or, with no therapies list, after masking began); from then on a row's own ``fever_masked`` flag no
    longer masks until CRS signs (fever, hypotension, oxygen) return. A row's flag masks only at or after a
    recorded fever of the current CRS (D-19.1308): without one the ASTCT fever requirement is not met —
    with ``masking=RowMasking.RECORDED`` the flag masks as recorded, no earlier fever needed (D-19.1356).

    The third array says, for an afebrile row whose recorded flag did not mask, why not (a suffix of its
    grade reason, D-19.1357: no CRS fever since the infusion or the last resolution, masking settled, or
    the row itself records the resolution); and, for a row masked by its flag alone with no CRS fever recorded
    before it (``recorded`` only), that the flag was taken as recorded, or, for an unflagged row the masking
    of such a flag carries to, that it was carried from one (D-19.1356)."""
    masking_classes = options.masking_classes.therapies
    masking_times = sorted(
        t.given_at for t in therapies if t.therapy in masking_classes and t.given_at >= infused_at
    )
    stable_rule = episode_options.masked_resolution is MaskedResolution.AFEBRILE_STABLE
    stable_needed = timedelta(hours=float(episode_options.masked_stable_hours))
    carried = False
    fever_since: datetime | None = None
    first_masked: datetime | None = None
    masked_since: datetime | None = None
    stable_since: datetime | None = None
    settled = False  # masking ended by the stability rule; flags ignored until CRS signs return
    masked = np.zeros(len(rows), dtype=bool)
    flag_notes = np.full(len(rows), "", dtype=object)
    need_fever = masking is RowMasking.AFTER_FEVER
    for position, i in enumerate(rows):
        at = inputs.assessed_at[i]
        assert at is not None
        if inputs.crs_resolved[i]:
            carried, fever_since, masked_since, stable_since, settled = False, None, None, None, False
            fever_here = inputs.temperature_c[i] >= FEVER_THRESHOLD_C and not inputs.fever_other_cause[i]
            if inputs.fever_masked[i] and not fever_here:
                flag_notes[position] = FLAG_NOT_USED_RESOLVED
            continue
        fever_now = inputs.temperature_c[i] >= FEVER_THRESHOLD_C and not inputs.fever_other_cause[i]
        signs = fever_now or bool(inputs.hypotension[i]) or int(inputs.oxygen_code[i]) > 0
        if signs:
            settled = False
        if fever_now and fever_since is None:
            fever_since = at
        # a masking drug given between the fever and now (`masking_times` is sorted: the first one at or
        # after the fever is the one to look at)
        first_since = (
            bisect_left(masking_times, fever_since) if fever_since is not None else len(masking_times)
        )
        if first_since < len(masking_times) and masking_times[first_since] <= at:
            carried = True
        stable_since = None if signs else (stable_since or at)
        # a row's flag masks only once a CRS fever was recorded after the infusion (CRS-2: fever is waived for
        # subsequent CRS; the reference procedure's fever_seen_in_episode, D-19.1308)
        flagged = bool(inputs.fever_masked[i])
        now_masked = (flagged and not settled and (fever_since is not None or not need_fever)) or carried
        if now_masked and stable_rule and stable_since is not None:
            n_given = bisect_right(masking_times, at)  # the drugs given by now: the last is the latest
            reference = max(masking_times[n_given - 1] if n_given else (masked_since or at), stable_since)
            if at - reference >= stable_needed:
                now_masked, carried, fever_since, masked_since, settled = False, False, None, None, True
        masked[position] = now_masked
        if flagged and not fever_now:
            if not now_masked:
                flag_notes[position] = FLAG_NOT_USED_SETTLED if settled else FLAG_NOT_USED_NO_FEVER
            elif fever_since is None:
                flag_notes[position] = FLAG_TAKEN_AS_RECORDED
        elif now_masked and fever_since is None:
            # masked with no CRS fever recorded: only a flag taken as recorded (recorded) can have begun it
            flag_notes[position] = FLAG_CARRIED_AS_RECORDED
        carried = now_masked
        if now_masked and masked_since is None:
            masked_since = at
        if now_masked and first_masked is None:
            first_masked = at
    return masked, first_masked, flag_notes


def _crs_units(
    inputs: CrsInputs,
    rows: npt.NDArray[np.int64],
    masked: npt.NDArray[np.bool_],
    infused_at: datetime,
    options: CrsOptions,
    unit: GradingUnit,
) -> tuple[list[_Unit], CrsGradeArrays]:
    per_row = grade_crs_arrays(
        temperature_c=inputs.temperature_c[rows],
        fever_masked=masked,
        hypotension=inputs.hypotension[rows],
        vasopressors=inputs.vasopressors[rows],
        vasopressin=inputs.vasopressin[rows],
        oxygen_code=inputs.oxygen_code[rows],
        oxygen_l_min=inputs.oxygen_l_min[rows],
        death_due_to_crs=inputs.death_due_to_crs[rows],
        fever_other_cause=inputs.fever_other_cause[rows],
        options=options,
    )
    times = [inputs.assessed_at[i] for i in rows]
    if unit is GradingUnit.ASSESSMENT:
        groups = [[p] for p in range(len(rows))]
    else:
        by_day: dict[int, list[int]] = {}
        for p, at in enumerate(times):
            assert at is not None
            by_day.setdefault(_study_day(at, infused_at), []).append(p)
        groups = [by_day[d] for d in sorted(by_day)]
    # worst values of each unit (A6): fever if any non-attributed fever, masked if any, the worst hypotension
    # row and the worst oxygen row
    # (reduced over all units at once: the members of the units one after another, `starts` where each
    # begins; a unit's members are in row order, so its first worst row is argmax's)
    sizes = np.array([len(m) for m in groups], dtype=np.int64)
    flat = np.fromiter((p for m in groups for p in m), dtype=np.int64, count=int(sizes.sum()))
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64) if len(groups) else sizes

    def any_of(values: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        if not len(groups):
            return np.zeros(0, dtype=bool)
        return np.logical_or.reduceat(values, starts)

    def first_worst(grades: npt.NDArray[np.int8]) -> npt.NDArray[np.int64]:
        if not len(groups):
            return np.zeros(0, dtype=np.int64)
        worst = np.repeat(np.maximum.reduceat(grades, starts), sizes)
        at = np.where(grades == worst, np.arange(len(flat)), len(flat))
        return flat[np.minimum.reduceat(at, starts)]

    temps = inputs.temperature_c[rows[flat]]
    hot = temps >= FEVER_THRESHOLD_C
    present = hot & ~inputs.fever_other_cause[rows[flat]]
    any_present = any_of(present)
    # the highest non-attributed fever, else the highest temperature
    temp = (
        np.where(
            any_present,
            np.maximum.reduceat(np.where(present, temps, -np.inf), starts),
            np.maximum.reduceat(temps, starts),
        )
        if len(groups)
        else np.empty(0)
    )
    other = ~any_present & any_of(hot)
    sel_hyp = first_worst(per_row.hypotension_grade[flat])
    sel_oxy = first_worst(per_row.hypoxia_grade[flat])
    unit_grades = grade_crs_arrays(
        temperature_c=temp,
        fever_masked=any_of(masked[flat]),
        hypotension=inputs.hypotension[rows[sel_hyp]],
        vasopressors=inputs.vasopressors[rows[sel_hyp]],
        vasopressin=inputs.vasopressin[rows[sel_hyp]],
        oxygen_code=inputs.oxygen_code[rows[sel_oxy]],
        oxygen_l_min=inputs.oxygen_l_min[rows[sel_oxy]],
        death_due_to_crs=any_of(inputs.death_due_to_crs[rows[flat]]),
        fever_other_cause=other,
        options=options,
    )
    texts = unit_grades.rule_texts()
    units = []
    for g, members in enumerate(groups):
        positive = [p for p in members if per_row.grade[p] >= 1]
        resolved = [times[p] for p in members if inputs.crs_resolved[rows[p]]]
        units.append(
            _Unit(
                first_at=times[members[0]],
                first_positive_at=times[positive[0]] if positive else None,
                grade=int(unit_grades.grade[g]),
                rule=str(texts[g]),
                resolved_at=resolved[0] if resolved else None,
                resolved_after_onset_at=next(
                    (t for t in resolved if t >= times[positive[0] if positive else members[0]]), None
                ),
                rows=[int(rows[p]) for p in members],
            )
        )
    return units, per_row


def _therapy_summary(
    therapies: Sequence[TherapyRecord], start: datetime, end: datetime | None
) -> tuple[dict[str, int], str]:
    chosen = [t for t in therapies if t.given_at >= start and (end is None or t.given_at <= end)]
    counts = {key: sum(1 for t in chosen if t.therapy == key) for key in THERAPY_SUMMARY_KEYS}
    details = "; ".join(
        " ".join(
            part
            for part in (
                t.given_at.isoformat(),
                t.therapy,
                t.agent,
                f"{t.dose:g}" if t.dose is not None else "",
                t.unit,
            )
            if part
        )
        for t in sorted(chosen, key=lambda t: t.given_at)
    )
    return counts, details


def therapies_by_subject(therapies: Sequence[TherapyRecord]) -> dict[str, list[TherapyRecord]]:
    """Each subject's therapies (`subject_id` → its records, in the order given): what
    ``[t for t in therapies if t.subject_id == sid]`` gives for every subject, built in one pass.

    >>> from cartrial.grading.tables import TherapyRecord
    >>> at = datetime(2024, 1, 1, tzinfo=UTC)
    >>> records = [TherapyRecord(s, at, "tocilizumab", "", None, "") for s in ("S1", "S2", "S1")]
    >>> {sid: len(own) for sid, own in therapies_by_subject(records).items()}
    {'S1': 2, 'S2': 1}
    """
    out: dict[str, list[TherapyRecord]] = {}
    for record in therapies:
        out.setdefault(record.subject_id, []).append(record)
    return out


def _subject_rows(
    subject_ids: npt.NDArray[np.object_], times: list[datetime | None], good: npt.NDArray[np.bool_]
) -> dict[str, npt.NDArray[np.int64]]:
    out: dict[str, list[int]] = {}
    for i in np.flatnonzero(good):
        out.setdefault(str(subject_ids[i]), []).append(int(i))
    return {
        sid: np.array(sorted(rows, key=lambda i: (times[i], i)), dtype=np.int64) for sid, rows in out.items()
    }


@dataclass(frozen=True)
class CrsEpisodeResult:
    """Episodes of every subject plus the per-assessment grades with masking carried across time.

    `assessment_grade`/`assessment_rule`/`assessment_masked` are each row's ASTCT grade under the episode's
    own masking rule (`_crs_effective_masking`: a ``fever_masked`` flag counts only after a recorded CRS
    fever, D-19.1308); `assessment_episode` is the number of the episode whose span holds the row (0: none,
    e.g. before the infusion or after a resolution). With ``grading_unit=assessment`` an episode's
    `max_grade` is the largest `assessment_grade` of its rows; with ``day`` it is at least that (a day
    combines the worst values of its rows, D-19.1355). A row before the infusion is not CRS:
    `assessment_before_infusion` true, grade 0 here and rule `BEFORE_INFUSION_RULE` (the frame-level row
    grades leave its grade blank, D-19.1356). `masking` (`RowMasking`) is the fever-masking rule used."""

    episodes: list[EpisodeSummary]
    assessment_grade: npt.NDArray[np.int8]
    assessment_rule: npt.NDArray[np.object_]
    assessment_masked: npt.NDArray[np.bool_]
    assessment_episode: npt.NDArray[np.int64]
    assessment_before_infusion: npt.NDArray[np.bool_]


def crs_option_record(
    options: CrsOptions, episode_options: EpisodeOptions, masking: RowMasking
) -> dict[str, Any]:
    """The options of a CRS episode grading as one record: the CRS options, the episode options and the
    row `masking` (D-19.1356) — each episode row's option columns and `cartrial grade episodes --json`'s
    options alike."""
    return {**options.as_dict(), **episode_options.as_dict(), "masking": masking.value}


def crs_episodes(
    inputs: CrsInputs,
    infusions: dict[str, datetime],
    *,
    good: npt.NDArray[np.bool_] | None = None,
    therapies: Sequence[TherapyRecord] = (),
    options: CrsOptions | None = None,
    episode_options: EpisodeOptions | None = None,
    masking: RowMasking | str = RowMasking.AFTER_FEVER,
) -> CrsEpisodeResult:
    """CRS episodes of each subject (ASTCT 2019 grades; episode rules of docs/science/toxicity-grading.md
    §1.3/A6).

    `good` selects the rows to use (default all); every subject must be in `infusions` (raise KeyError
    otherwise; callers validate). Therapies are summarised per episode from onset to resolution (to the
    last assessment while unresolved). `masking` (`RowMasking`, D-19.1356): ``after_fever`` (default) a row's
    ``fever_masked`` flag masks only after a CRS fever recorded after the infusion (D-19.1308); ``recorded``
    the flag masks as recorded.

    >>> import pandas as pd
    >>> from datetime import datetime, UTC
    >>> from cartrial.columns import RowProblems
    >>> from cartrial.grading.tables import parse_crs_frame
    >>> frame = pd.DataFrame({"subject_id": ["S1"] * 3,
    ...     "assessed_at": ["2024-01-11T08:00Z", "2024-01-12T08:00Z", "2024-01-13T08:00Z"],
    ...     "temperature_c": [38.6, 39.0, 36.9], "hypotension": [False, True, False], "fever_masked": False,
    ...     "vasopressors": 0, "vasopressin": False, "oxygen": "none", "oxygen_l_min": 0})
    >>> infused = {"S1": datetime(2024, 1, 10, tzinfo=UTC)}
    >>> result = crs_episodes(parse_crs_frame(frame, RowProblems("crs")), infused)
    >>> # fever on day 1, hypotension on day 2, grade 0 on day 3
    >>> [(e.max_grade, e.duration_days) for e in result.episodes]
    [(2, 2.0)]
    """
    opts = options or CrsOptions()
    ep_opts = episode_options or EpisodeOptions()
    n = len(inputs.subject_id)
    use = np.ones(n, dtype=bool) if good is None else good
    grade_out = np.zeros(n, dtype=np.int8)
    rule_out = np.full(n, "", dtype=object)
    masked_out = np.zeros(n, dtype=bool)
    episode_out = np.zeros(n, dtype=np.int64)
    before_out = np.zeros(n, dtype=bool)
    row_masking = enum_member(RowMasking, masking, "masking")
    summaries: list[EpisodeSummary] = []
    option_record = crs_option_record(opts, ep_opts, row_masking)
    therapies_of = therapies_by_subject(therapies)
    for sid, all_rows in _subject_rows(inputs.subject_id, inputs.assessed_at, use).items():
        infused_at = infusions[sid]
        own_therapies = therapies_of.get(sid, [])
        # CRS follows the infusion: earlier assessments (lymphodepletion) never open an episode
        before = np.array([inputs.assessed_at[i] < infused_at for i in all_rows], dtype=bool)
        pre_rows, rows = all_rows[before], all_rows[~before]
        pre_fevers = int(
            np.sum(
                (inputs.temperature_c[pre_rows] >= FEVER_THRESHOLD_C) & ~inputs.fever_other_cause[pre_rows]
            )
        )
        # CRS follows the infusion: an earlier row has no CRS grade (blank in the row grades, D-19.1356)
        before_out[pre_rows] = True
        rule_out[pre_rows] = BEFORE_INFUSION_RULE
        last_at = inputs.assessed_at[all_rows[-1]]
        if len(rows):
            masked, first_masked, flag_notes = _crs_effective_masking(
                inputs, rows, own_therapies, opts, infused_at, ep_opts, row_masking
            )
            units, per_row = _crs_units(inputs, rows, masked, infused_at, opts, ep_opts.grading_unit)
            grade_out[rows] = per_row.grade
            rule_out[rows] = [
                f"{text} {note}" if note else text
                for text, note in zip(per_row.rule_texts(), flag_notes, strict=True)
            ]
            masked_out[rows] = masked
            found = _find_episodes(units, ep_opts.resolution_rule)
        else:
            units, found, first_masked = [], [], None
        if not found:
            summaries.append(
                EpisodeSummary(
                    subject_id=sid,
                    kind="crs",
                    episode=0,
                    infused_at=infused_at,
                    max_grade=0,
                    n_assessments=len(all_rows),
                    max_grade_rule="no assessment of CRS grade ≥ 1",
                    last_assessed_at=last_at,
                    pre_infusion_fevers=pre_fevers,
                    options=option_record,
                    source=f"{CRS_SOURCE}; {EPISODE_SOURCE}",
                )
            )
        for number, (start, end, basis) in enumerate(found, start=1):
            span = units[start : _span_end(start, end, basis, len(units))]
            best = max(range(len(span)), key=lambda k: (span[k].grade, -k))
            onset_unit = units[start]
            onset_at = onset_unit.first_positive_at or onset_unit.first_at
            resolved_at = None
            if end is not None:
                if basis != "recorded":
                    resolved_at = units[end].first_at
                elif end == start:
                    resolved_at = units[end].resolved_after_onset_at
                else:
                    resolved_at = units[end].resolved_at
            counts, details = _therapy_summary(own_therapies, onset_at, resolved_at or last_at)
            members = [i for u in span for i in u.rows]
            episode_out[members] = number
            best_unit = span[best]
            summaries.append(
                EpisodeSummary(
                    subject_id=sid,
                    kind="crs",
                    episode=number,
                    infused_at=infused_at,
                    max_grade=best_unit.grade,
                    n_assessments=len(members),
                    onset_at=onset_at,
                    max_grade_at=best_unit.first_positive_at or best_unit.first_at,
                    max_grade_rule=best_unit.rule,
                    resolved_at=resolved_at,
                    resolution_basis=basis,
                    last_assessed_at=last_at,
                    last_ongoing_at=last_at if resolved_at is None else None,
                    fever_masked_from=first_masked
                    if first_masked is not None and first_masked <= (resolved_at or last_at)
                    else None,
                    therapies=counts,
                    therapy_details=details,
                    max_vasopressors=int(inputs.vasopressors[members].max()) if members else 0,
                    pre_infusion_fevers=pre_fevers,
                    options=option_record,
                    source=f"{CRS_SOURCE}; {EPISODE_SOURCE}",
                )
            )
    return CrsEpisodeResult(
        episodes=summaries,
        assessment_grade=grade_out,
        assessment_rule=rule_out,
        assessment_masked=masked_out,
        assessment_episode=episode_out,
        assessment_before_infusion=before_out,
    )


def icans_episodes(
    inputs: IcansInputs,
    infusions: dict[str, datetime],
    *,
    good: npt.NDArray[np.bool_] | None = None,
    therapies: Sequence[TherapyRecord] = (),
    episode_options: EpisodeOptions | None = None,
) -> list[EpisodeSummary]:
    """ICANS episodes of each subject (ASTCT 2019 ICANS grades; episodes end at the first grade-0 unit;
    day grading takes the worst assessment of the day, the same as the worst value of each domain because
    the ICANS grade is the maximum over domains). An assessment that cannot grade ICANS (unarousable from
    another cause such as sedation, no other finding) is not a grade-0 unit: it neither opens nor ends an
    episode (D-19.675). Therapies (e.g. corticosteroids) are summarised per
    episode as for CRS.

    >>> import pandas as pd
    >>> from datetime import datetime, UTC
    >>> from cartrial.columns import RowProblems
    >>> from cartrial.grading.tables import parse_icans_frame
    >>> frame = pd.DataFrame({"subject_id": ["S1"] * 2,
    ...     "assessed_at": ["2024-01-15T08:00Z", "2024-01-16T08:00Z"],
    ...     "consciousness": "alert", "seizure": "none", "motor": "none", "cerebral_edema": "none",
    ...     "ice_total": [7, 10]})
    >>> infused = {"S1": datetime(2024, 1, 10, tzinfo=UTC)}
    >>> eps = icans_episodes(parse_icans_frame(frame, RowProblems("icans")), infused)
    >>> [(e.max_grade, e.duration_days) for e in eps]  # ICE 7: grade 1, resolved the next day
    [(1, 1.0)]
    """
    ep_opts = episode_options or EpisodeOptions()
    n = len(inputs.subject_id)
    use = np.ones(n, dtype=bool) if good is None else good
    graded = grade_icans_arrays(
        ice_total=inputs.ice_total,
        consciousness_code=inputs.consciousness_code,
        seizure_code=inputs.seizure_code,
        motor_code=inputs.motor_code,
        edema_code=inputs.edema_code,
        consciousness_other_cause=inputs.consciousness_other_cause,
    )
    texts = graded.rule_texts()
    # not assessable: unarousable from another cause (sedation) with ICE 0 or blank and no other finding;
    # such a row is no ICANS grade 0 (ICANS-5, the ICE grade 4 "because the patient is unarousable and cannot
    # be assessed"), so it neither opens nor resolves an episode (D-19.675)
    sedated = graded.other_cause_unarousable
    not_assessable = (
        np.zeros(n, dtype=bool) if sedated is None else np.asarray(sedated, dtype=bool) & (graded.grade == 0)
    )
    summaries: list[EpisodeSummary] = []
    therapies_of = therapies_by_subject(therapies)
    for sid, all_rows in _subject_rows(inputs.subject_id, inputs.assessed_at, use).items():
        infused_at = infusions[sid]
        # ICANS follows the infusion: earlier assessments never open an episode
        rows = np.array([i for i in all_rows if inputs.assessed_at[i] >= infused_at], dtype=np.int64)
        graded_rows = [int(i) for i in rows if not not_assessable[i]]
        # the last assessment time (before the infusion when none follows it: no episode, D-19.135)
        times = [inputs.assessed_at[i] for i in rows] or [inputs.assessed_at[all_rows[-1]]]
        if ep_opts.grading_unit is GradingUnit.ASSESSMENT:
            groups = [[i] for i in graded_rows]
        else:
            by_day: dict[int, list[int]] = {}
            for i in graded_rows:
                at = inputs.assessed_at[i]
                assert at is not None
                by_day.setdefault(_study_day(at, infused_at), []).append(i)
            groups = [by_day[d] for d in sorted(by_day)]
        units = []
        for members in groups:
            worst = max(members, key=lambda i: (graded.grade[i], -i))
            positive = [i for i in members if graded.grade[i] >= 1]
            units.append(
                _Unit(
                    first_at=inputs.assessed_at[members[0]],  # type: ignore[arg-type]
                    first_positive_at=inputs.assessed_at[positive[0]] if positive else None,
                    grade=int(graded.grade[worst]),
                    rule=str(texts[worst]),
                    resolved_at=None,
                    rows=members,
                )
            )
        found = _find_episodes(units, ResolutionRule.FIRST_GRADE_0)
        common: dict[str, Any] = {
            "subject_id": sid,
            "kind": "icans",
            "infused_at": infused_at,
            "last_assessed_at": times[-1],
            "options": ep_opts.as_dict(),
            "scale": ICANS_SCALE,
            "source": f"{ICANS_SOURCE}; {EPISODE_SOURCE}",
        }
        if not found:
            summaries.append(
                EpisodeSummary(
                    episode=0,
                    max_grade=0,
                    # assessable rows only, as an episode counts them (D-19.675)
                    n_assessments=sum(1 for i in all_rows if not not_assessable[i]),
                    max_grade_rule="no assessment of ICANS grade ≥ 1",
                    **common,
                )
            )
        for number, (start, end, basis) in enumerate(found, start=1):
            span = units[start : _span_end(start, end, basis, len(units))]
            best = max(range(len(span)), key=lambda k: (span[k].grade, -k))
            onset_unit = units[start]
            onset_at = onset_unit.first_positive_at or onset_unit.first_at
            resolved_at = units[end].first_at if end is not None else None
            last_graded = max(inputs.assessed_at[i] for u in span for i in u.rows)  # type: ignore[type-var]
            unassessed = [
                at
                for i in rows
                if not_assessable[i]
                and resolved_at is not None
                and (at := inputs.assessed_at[i]) is not None
                and last_graded < at < resolved_at
            ]
            counts, details = _therapy_summary(therapies_of.get(sid, []), onset_at, resolved_at or times[-1])
            summaries.append(
                EpisodeSummary(
                    episode=number,
                    max_grade=span[best].grade,
                    n_assessments=sum(len(u.rows) for u in span),
                    onset_at=onset_at,
                    max_grade_at=span[best].first_positive_at or span[best].first_at,
                    max_grade_rule=span[best].rule,
                    resolved_at=resolved_at,
                    therapies=counts,
                    therapy_details=details,
                    resolution_basis=basis.replace(" (no recorded resolution)", ""),
                    # its own graded rows only: a later "not assessable" row does not extend it (D-19.767)
                    last_ongoing_at=None if resolved_at is not None else last_graded,
                    unassessed_from_at=min(unassessed) if unassessed else None,
                    **common,
                )
            )
    return summaries


__all__ = [
    "CrsEpisodeResult",
    "EpisodeOptions",
    "EpisodeSummary",
    "GradingUnit",
    "ResolutionRule",
    "crs_episodes",
    "icans_episodes",
    "therapies_by_subject",
]
