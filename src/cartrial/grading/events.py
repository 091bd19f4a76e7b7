"""Graded events for the DLT rules (`cartrial.protocol.dlt.GradedEvent`) from episodes and lab grades.

CRS and ICANS episodes become one event each (grade = episode maximum, onset and duration from the episode).
Haematological events come from consecutive results of one analyte: a run of results at grade ≥
`min_grade` starts at the first such result and lasts until the first later result below `min_grade` that
begins a recovery (`min_recovery_days`, 3, site calendar days below from the dip's first value to the next
result at grade ≥ `min_grade`, the last value carried forward as the ICAHT grader counts; a shorter dip stays
in the run, D-19.1309, D-19.1311) (duration = time between the two); a run still open at the last result
has no duration and is
``ongoing_at_day`` the day of that result. This is what a rule such as "grade 3 haematological toxicity
lasting > 7 days, excluding lymphopenia" evaluates (``DltRule.min_duration_days``, ``exclude_terms``).
Source of the grades: ASTCT 2019 (CRS/ICANS) and CTCAE (haematology); the run construction from sampled
results is the project's rule [P] (the duration is known only to the resolution of the sampling).

A run open at the subject's infusion (``split_at``: it began before the infusion, e.g. in lymphodepletion, and
no result below `min_grade` came before the infusion) is split there (D-19.1191): the part before the
infusion ends at it, and the part from the infusion starts at it (day 0) with the grade of the count in effect
then (the last result before it) and of its later results — only when the first result at or after the
infusion is itself at grade ≥ `min_grade`; otherwise the run ends at the infusion and nothing starts at day 0
(D-19.1194: no measured grade ≥ `min_grade` after the infusion, no event after it). A run whose first result
is before the treatment-emergent period (``pre_treatment``, a baseline value, D-19.710) is pre-existing and
not split (D-19.1195) until a result in the period whose grade is above the baseline grade (that of the last
result before the period, D-19.710): the run ends there and a treatment-emergent run starts at that result,
no count carried (ICH E9: treatment-emergent includes "worsens relative to the pre-treatment state",
D-19.1196); a run begun in the period at a grade not above a baseline grade >= `min_grade` is pre-existing
too. The event of a pre-existing run carries ``pre_existing`` (D-19.1198), which no DLT rule fires on. The DLT
rules read the part from day 0:
the template's haematological DLT ("grade 3 haematological toxicity lasting > 7 days ... (lymphopenia from
lymphodepletion excluded)", NCT06958939, ct103a-nmosd-trial.md §4) excludes only lymphopenia from
lymphodepletion, and EHA/EBMT 2023 (ICAHT) counts the days below a threshold from day 0 whatever their start;
without the split such a run's onset lay before day 0, outside the DLT window, however long it lasted after
the infusion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from cartrial.columns import typed_site_moment
from cartrial.grading.ctcae import ANALYTES, ctcae_term
from cartrial.grading.episodes import EpisodeSummary
from cartrial.grading.icaht import _episodes
from cartrial.protocol.dlt import GradedEvent, ToxicityCategory

CRS_TERM = "Cytokine release syndrome"
ICANS_TERM = "Immune effector cell-associated neurotoxicity syndrome"


def episode_events(episodes: Sequence[EpisodeSummary]) -> list[GradedEvent]:
    """One `GradedEvent` per CRS/ICANS episode of grade ≥ 1 (category crs/icans, scale 'ASTCT 2019').

    >>> from datetime import datetime, UTC
    >>> from cartrial.grading.episodes import EpisodeSummary
    >>> ep = EpisodeSummary(subject_id="S1", kind="crs", episode=1,
    ...     infused_at=datetime(2024, 1, 10, tzinfo=UTC),
    ...     max_grade=2, n_assessments=3, onset_at=datetime(2024, 1, 11, tzinfo=UTC),
    ...     resolved_at=datetime(2024, 1, 14, tzinfo=UTC))
    >>> [(e.grade, e.onset_day, e.duration_days) for e in episode_events([ep])]
    [(2, 1.0, 3.0)]
    """
    events = []
    for ep in episodes:
        if ep.episode == 0 or ep.max_grade < 1 or ep.onset_day is None:
            continue
        events.append(
            GradedEvent(
                subject_id=ep.subject_id,
                category=ToxicityCategory.CRS if ep.kind == "crs" else ToxicityCategory.ICANS,
                term=CRS_TERM if ep.kind == "crs" else ICANS_TERM,
                grade=ep.max_grade,
                scale=ep.scale,
                onset_day=ep.onset_day,
                duration_days=ep.duration_days,
                ongoing_at_day=ep.ongoing_at_day,
                graded_to_day=ep.graded_to_day,
            )
        )
    return events


@dataclass(frozen=True)
class LabRun:
    """A run of consecutive results of one analyte at grade ≥ the threshold."""

    subject_id: str
    analyte: str
    term: str
    max_grade: int
    start_at: datetime
    end_at: datetime | None  # first later result below the threshold
    last_at: datetime  # last result of the subject for this analyte
    pre_existing: bool = False  # not treatment-emergent (D-19.1195, D-19.1196)


def lab_runs(
    subject_ids: Sequence[str] | npt.NDArray[np.object_],
    collected_at: Sequence[datetime | None],
    analyte_code: npt.NDArray[np.int8],
    grades: npt.NDArray[np.int8],
    *,
    min_grade: int = 3,
    good: npt.NDArray[np.bool_] | None = None,
    ctcae_version: str = "5.0",
    split_at: Mapping[str, datetime] | None = None,
    pre_treatment: npt.NDArray[np.bool_] | None = None,
    min_recovery_days: int = 3,
) -> list[LabRun]:
    """Runs of consecutive results at grade ≥ `min_grade` per subject and analyte (see module docstring).

    Rows with `good` false or without a collection time are ignored. `split_at` (subject → infusion moment):
    a run open at that moment is split there (module docstring, D-19.1191); a result at the moment itself
    belongs to the part from it, and the part from it opens only if that first result at or after the moment
    is at grade ≥ `min_grade` (D-19.1194). `pre_treatment` (per row): collected before the treatment-emergent
    period; a run whose first result is such a row is pre-existing and never split (D-19.1195) until a later
    result in the period is worse than the baseline grade, where a treatment-emergent run starts (D-19.1196).
    None: every result is on treatment. `min_recovery_days` (D-19.1309): a run ends only at a recovery,
    that many site calendar days below `min_grade` in a row, each day's value being the last carried forward
    (default 3: ICAHT option H2, "a recovery shorter than 3 consecutive days" merges, toxicity-grading.md
    §5.1; counted as `icaht._episodes` counts under ``locf``, D-19.1311; three values on different days are
    three such days); days on the site's calendar (the zone of the subject's `split_at` moment, D-19.607,
    D-19.947; UTC without one); a shorter dip followed by a result at grade ≥ `min_grade` stays in the run.
    The run ends at the recovery's first
    value, or at the first value of a dip that no result at grade ≥ `min_grade` follows. 1: every value
    below ends the run (the former rule).

    >>> import numpy as np
    >>> from datetime import datetime, UTC
    >>> times = [datetime(2024, 1, d, tzinfo=UTC) for d in (12, 15, 19)]
    >>> from cartrial.grading.ctcae import Analyte
    >>> platelets = ANALYTES.index(Analyte.PLATELETS)
    >>> run = lab_runs(["S1"] * 3, times, np.array([platelets] * 3), np.array([3, 4, 1]))[0]
    >>> run.max_grade, run.start_at.day, run.end_at.day  # grade >= 3 from the 12th until the 19th
    (4, 12, 19)
    >>> split = lab_runs(["S1"] * 3, times, np.array([platelets] * 3), np.array([4, 3, 1]),
    ...                  split_at={"S1": datetime(2024, 1, 14, tzinfo=UTC)})
    >>> [(r.start_at.day, r.end_at.day, r.max_grade) for r in split]  # infused on the 14th
    [(12, 14, 4), (14, 19, 4)]
    >>> ended = lab_runs(["S1"] * 3, times, np.array([platelets] * 3), np.array([4, 1, 1]),
    ...                  split_at={"S1": datetime(2024, 1, 14, tzinfo=UTC)})
    >>> [(r.start_at.day, r.end_at.day) for r in ended]  # first result after the infusion below grade 3
    [(12, 14)]
    """
    n = len(subject_ids)
    use = np.ones(n, dtype=bool) if good is None else good
    series: dict[tuple[str, int], list[tuple[datetime, int]]] = {}
    for i in (int(k) for k in np.flatnonzero(use)):
        moment = collected_at[i]
        if moment is not None:
            series.setdefault((str(subject_ids[i]), int(analyte_code[i])), []).append((moment, i))
    runs: list[LabRun] = []
    for (sid, code), results in sorted(series.items()):
        results.sort()
        analyte = ANALYTES[code]
        term = ctcae_term(analyte, ctcae_version)
        last_at = results[-1][0]
        split = None if split_at is None else split_at.get(sid)
        start_at: datetime | None = None
        pre_existing = False  # the open run is not worse than before the treatment-emergent period
        baseline = 0  # grade of the last result before the treatment-emergent period (the baseline)
        worst = 0
        current = 0  # grade of the last result (the count in effect)
        dip_at: datetime | None = None  # first value below min_grade of an open run, not yet a recovery
        infused = None if split_at is None else split_at.get(sid)
        zone = None if infused is None else infused.tzinfo
        # site calendar day of each result (the one rule, D-19.607, D-19.947; D-19.1311)
        day = [typed_site_moment(moment, zone).date().toordinal() for moment, _ in results]
        high_day: int | None = None  # site day of the last result at grade >= min_grade
        next_high: list[int | None] = [None] * len(results)  # site day of the next result at grade >= it
        ahead: int | None = None
        for k in range(len(results) - 1, -1, -1):
            next_high[k] = ahead
            if int(grades[results[k][1]]) >= min_grade:
                ahead = day[k]
        for k, (moment, i) in enumerate(results):
            grade = int(grades[i])
            before = pre_treatment is not None and bool(pre_treatment[i])
            if (
                dip_at is not None
                and start_at is not None
                and (
                    (split is not None and moment >= split)
                    or (grade >= min_grade and pre_existing and not before and grade > baseline)
                )
            ):
                # a dip open at the infusion or before a worsening ends the run there (as before D-19.1309)
                runs.append(LabRun(sid, analyte.value, term, worst, start_at, dip_at, last_at, pre_existing))
                start_at, dip_at = None, None
            if split is not None and moment >= split:
                if start_at is not None and start_at < split and not pre_existing:
                    # open at the infusion: the part before it ends there (D-19.1191); the part from it starts
                    # there with the count in effect only if the first result from it is still at grade >=
                    # min_grade, else the run ends at the infusion (D-19.1194)
                    runs.append(LabRun(sid, analyte.value, term, worst, start_at, split, last_at))
                    if grade >= min_grade:
                        start_at, worst = split, current
                    else:
                        start_at = None
                split = None
            current = grade
            if before:
                baseline = grade
            if grade >= min_grade:
                dip_at, high_day = None, day[k]  # a dip shorter than a recovery stays in the run (D-19.1309)
                if start_at is not None and pre_existing and not before and grade > baseline:
                    # a pre-existing cytopenia worse than its baseline grade: the worse part is treatment-
                    # emergent from this result, no count carried (D-19.1196)
                    runs.append(LabRun(sid, analyte.value, term, worst, start_at, moment, last_at, True))
                    start_at = None
                if start_at is None:
                    start_at, worst = moment, 0
                    # begun before the period, or after it at a grade not above the baseline (D-19.1195/1196)
                    pre_existing = before or (pre_treatment is not None and grade <= baseline)
                worst = max(worst, grade)
            elif start_at is not None and dip_at is None:
                dip_at = moment
                # a recovery (D-19.1311) ends the run at the dip's first value
                if _recovery(high_day, day[k], next_high[k], min_recovery_days):
                    runs.append(
                        LabRun(sid, analyte.value, term, worst, start_at, dip_at, last_at, pre_existing)
                    )
                    start_at, dip_at = None, None
        if start_at is not None:
            # a dip no result at grade >= min_grade follows ends the run at its first value (D-19.1309)
            runs.append(LabRun(sid, analyte.value, term, worst, start_at, dip_at, last_at, pre_existing))
    return runs


def _recovery(last_high: int | None, dip: int, next_high: int | None, min_recovery_days: int) -> bool:
    """Whether a dip (first value below the threshold on site day `dip`) between the last result at grade >=
    the threshold (site day `last_high`) and the next (`next_high`; None: none follows) is a recovery: the
    ICAHT grader's rule (`icaht._episodes`, option H2, D-19.680) on the daily grid with the last value
    carried forward (its default ``locf``): the grade >= the threshold holds to the day before the dip (and
    on the dip's day when a result at it was that day), every calendar day from there to the day before the
    next such result is a day of recovery, and `min_recovery_days` of them end the run (D-19.1311)."""
    if next_high is None:
        return True  # no later result at grade >= the threshold: the dip ends the run
    if last_high is None:
        return False
    # the days at grade >= the threshold, from the last such result to the next (`_episodes` takes them as
    # its runs): the days from the dip to the day before the next such result are not
    at_or_above = np.ones(next_high - last_high + 1, dtype=bool)
    at_or_above[max(dip, last_high + 1) - last_high : next_high - last_high] = False
    return len(_episodes(at_or_above, np.ones_like(at_or_above), min_recovery_days)) > 1


def lab_events(
    runs: Sequence[LabRun], infusions: dict[str, datetime], scale: str = "CTCAE v5.0"
) -> list[GradedEvent]:
    """`GradedEvent`s (category hematologic) from lab runs; days relative to each subject's infusion.

    >>> from datetime import datetime, UTC
    >>> run = LabRun("S1", "platelets", "Platelet count decreased", 4, datetime(2024, 1, 12, tzinfo=UTC),
    ...              datetime(2024, 1, 19, tzinfo=UTC), datetime(2024, 1, 19, tzinfo=UTC))
    >>> event = lab_events([run], {"S1": datetime(2024, 1, 10, tzinfo=UTC)})[0]
    >>> event.onset_day, event.duration_days
    (2.0, 7.0)
    """
    events = []
    for run in runs:
        infused = infusions[run.subject_id]
        onset = (run.start_at - infused) / timedelta(days=1)
        duration = None if run.end_at is None else (run.end_at - run.start_at) / timedelta(days=1)
        ongoing = None if run.end_at is not None else (run.last_at - infused) / timedelta(days=1)
        events.append(
            GradedEvent(
                subject_id=run.subject_id,
                category=ToxicityCategory.HEMATOLOGIC,
                term=run.term,
                grade=run.max_grade,
                scale=scale,
                onset_day=onset,
                duration_days=duration,
                ongoing_at_day=ongoing,
                pre_existing=run.pre_existing,
            )
        )
    return events


__all__ = ["CRS_TERM", "ICANS_TERM", "LabRun", "episode_events", "lab_events", "lab_runs"]
