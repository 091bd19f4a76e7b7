"""Validation of the neuro input forms: a DataFrame of strings (as read by `cartrial.tabular.read_csv`) in,
validated engine inputs out, with every bad cell recorded in a `RowProblems` (row, column, value, allowed).

No file I/O: the CLI and the store importer read the file and call these same functions. Each parser marks
bad rows in ``problems`` and returns values for every row (None/NaN where the row is bad), so a caller can
fail on any problem or, with ``--keep-going``, process the good rows (``problems.bad_mask(n)``).

Forms and columns: ``docs/templates/neuro.md``.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from cartrial.columns import (
    FIRST_DATA_ROW,
    RowProblems,
    check_repeated_keys,
    distinct,
    parse_bool,
    parse_choice,
    parse_datetime,
    parse_float,
    parse_int,
    parse_text,
    parse_time_zones,
    row_labels,
    same_site_day_groups,
    site_cell_date,
)
from cartrial.errors import InputError
from cartrial.neuro.choices import choose
from cartrial.neuro.edss_scale import (
    AMBULATION_MAX,
    FS_MAX,
    FS_NAMES,
    Assistance,
    EdssMethod,
    KurtzkeGapOptions,
    kurtzke_walking_step,
    neurostatus_ambulation_score,
)
from cartrial.neuro.osis import OSIS_MAX
from cartrial.neuro.relapses import Adjudication, OnsetPeriod, Phenotype, RelapseEpisode, Severity
from cartrial.neuro.visual_acuity import (
    ALLOWED_TEXT,
    Notation,
    OffChartConvention,
    VisualAcuity,
    parse_acuity,
)
from cartrial.protocol.birth import before_birth, earliest_birth

EDSS_COLUMNS: tuple[str, ...] = ("subject_id", "assessed_at", *FS_NAMES, "ambulation")
EDSS_FORM_REQUIRED: tuple[str, ...] = ("subject_id", "assessed_at", *FS_NAMES)
EDSS_OPTIONAL: tuple[str, ...] = ("ambulation", "walking_distance_m", "assistance", "method")
"""The store's EDSS form: `EDSS_FORM_REQUIRED` and these; which walking columns a row needs follows its
``method`` (Neurostatus: ambulation; Kurtzke: assistance and walking distance; D-19.741)."""
EDSS_KURTZKE_COLUMNS: tuple[str, ...] = (
    "subject_id",
    "assessed_at",
    *FS_NAMES,
    "walking_distance_m",
    "assistance",
)
VA_COLUMNS: tuple[str, ...] = ("subject_id", "assessed_at", "eye", "acuity")
VA_OPTIONAL: tuple[str, ...] = ("notation",)
SELF_STATED_NOTATIONS = (Notation.SNELLEN_FEET, Notation.SNELLEN_METRES, Notation.OFF_CHART)
"""Notations an acuity states itself (20/40, 6/12, CF): in the ``notation`` column (as `score va` writes
it) only when they agree with the acuity (D-19.580)."""
SELF_STATED_ALLOWED = (
    "blank, or the notation the acuity states itself "
    "(20/x: snellen_20; 6/x: snellen_6; CF/HM/LP/NLP: off_chart)"
)
"""What a self-stated ``notation`` may be: a fixed text, never derived from the row's acuity (a stored value,
D-12.2; D-19.580)."""
OSIS_COLUMNS: tuple[str, ...] = ("subject_id", "assessed_at", *OSIS_MAX)
OSIS_REQUIRED: tuple[str, ...] = ("subject_id", "assessed_at", "motor", "sensory", "sphincter")
OSIS_ONE_OF: tuple[tuple[str, ...], ...] = (("visual_od", "visual"), ("visual_os", "visual"))
RELAPSE_COLUMNS: tuple[str, ...] = ("subject_id", "onset_date", "phenotype", "severity")
RELAPSE_OPTIONAL: tuple[str, ...] = (
    "birth_date",
    "birth_year",
    "lasted_over_24h",
    "fever_or_infection",
    "objective_change",
    "treatment",
    "notes",
    "adjudicated",
)
INFUSION_COLUMNS: tuple[str, ...] = ("subject_id", "infused_at")
INFUSION_ONE_OF: tuple[tuple[str, ...], ...] = (("infused_at", "infusion_date"),)
LAST_ASSESSMENT_COLUMNS: tuple[str, ...] = ("last_assessed_at", "last_assessment", "last_follow_up")
TIMED_WALK_COLUMNS: tuple[str, ...] = ("subject_id", "assessed_at", "trial_1_seconds", "trial_2_seconds")
TIMED_WALK_OPTIONAL: tuple[str, ...] = ("unable_to_walk",)
#: MSFC T25FW time limit per trial (s): a trial not completed within it is stopped (Fischer JS et al.,
#: MSFC Administration and Scoring Manual, National MS Society 2001).
T25FW_MAX_SECONDS = 180.0
EYES: tuple[str, ...] = ("OD", "OS")
#: Accepted spellings of the eye (right = OD, oculus dexter; left = OS, oculus sinister).
EYE_SYNONYMS: dict[str, str] = {"right": "OD", "r": "OD", "re": "OD", "left": "OS", "l": "OS", "le": "OS"}
PHENOTYPE_SEPARATORS = (";", "+", "|", ",")


def check_chronology(
    subject_ids: Sequence[object] | npt.NDArray[np.object_],
    moments: Sequence[datetime | date | None],
    problems: RowProblems,
    column: str,
    *,
    cells: pd.DataFrame,
    keys: Sequence[object] | None = None,
) -> None:
    """Within each subject, rows must be in date order and not repeat a date (per `keys`, e.g. the eye).

    A row whose subject, date (and eye) an earlier row gave is refused, naming that row and saying whether
    the other cells of `cells` (the form) are identical or which differ
    (`cartrial.columns.check_repeated_keys`, the study store's natural key; docs/science/decisions.md
    D-19.18); a row dated before an earlier row of the same subject is "dates out of order". Both are
    recorded against the later row.
    """
    key_values: dict[str, Sequence[object]] = {
        "subject_id": [s if s else None for s in subject_ids],
        column: list(moments),
    }
    if keys is not None:
        key_values["eye"] = [k if k else None for k in keys]
    check_repeated_keys(pd.DataFrame(key_values, dtype=object), cells, problems, column)
    label_of = row_labels(cells)  # a stored record's other record by its id, not a frame row (D-19.542)
    last: dict[object, tuple[int, datetime | date]] = {}
    seen: set[tuple[object, ...]] = set()
    for i, (subject, moment) in enumerate(zip(subject_ids, moments, strict=True)):
        # the order is judged on the first row of each key (a conflicting first row has a moment too)
        key = (subject, moment, None if keys is None else keys[i])
        if moment is None or not subject or key in seen:
            continue
        seen.add(key)
        previous = last.get(subject)
        if previous is not None and moment < previous[1]:
            problems.add(
                i,
                column,
                _iso(moment),
                f"dates out of order: earlier than {label_of([previous[0]])} of the same subject",
                "rows of one subject in chronological order",
            )
            continue
        last[subject] = (i, moment)


def _iso(moment: datetime | date) -> str:
    return moment.isoformat()


def _check_not_after(
    moments: Sequence[datetime | date | None],
    cutoff: date | None,
    problems: RowProblems,
    column: str,
    *,
    frame: pd.DataFrame | None = None,
    subjects: Sequence[Any] | npt.NDArray[np.object_] | None = None,
    zones: Mapping[str, str] | None = None,
) -> None:
    """A row dated after `cutoff` is an error. With the form (`frame`) and its `subjects`, a date-time
    counts by its date on the subject's site calendar (`zones`: subject_id → IANA zone; a subject not
    listed: UTC) and a bare date as typed (`site_dates`): the snapshot's cut-off rule
    (`cartrial.store.snapshot.on_or_before_cutoff`, D-19.729), so a record the snapshot keeps (23:00 EDT
    in New York on the cut-off date, 03:00Z the next day) is not refused here (D-19.732)."""
    if cutoff is None:
        return
    if frame is not None and subjects is not None and column in frame.columns:
        cells = frame[column].tolist()
        as_moments = [m if m is None or isinstance(m, datetime) else None for m in moments]
        days: list[date | None] = site_dates(
            cells, as_moments, [zones.get(str(s)) if zones else None for s in subjects]
        )
        days = [d if isinstance(m, datetime) or m is None else m for d, m in zip(days, moments, strict=True)]
    else:
        days = [m.date() if isinstance(m, datetime) else m for m in moments]
    for i, (moment, day) in enumerate(zip(moments, days, strict=True)):
        if moment is None or day is None:
            continue
        if day > cutoff:
            problems.add(
                i, column, _iso(moment), "after the data cut-off", f"on or before {cutoff.isoformat()}"
            )


@dataclass(frozen=True)
class EdssTable:
    """Validated EDSS form: raw FS (n, 7) in `FS_NAMES` order and ambulation score (for the Kurtzke method
    the equivalent score of distance and aid), NaN in bad rows."""

    subject_id: npt.NDArray[np.object_]
    assessed_at: list[datetime | None]
    fs: npt.NDArray[np.float64]
    ambulation: npt.NDArray[np.float64]
    walking_rule: list[str] | None = None  # Kurtzke method: the walking rule per row
    assessed_day: list[date | None] | None = None
    """Each row's date on its subject's site calendar (`site_dates`; None: not read, `assessed_at`'s UTC
    date): the day the visual FS is paired with both eyes' acuity on (D-19.778)."""
    ambulation_score: npt.NDArray[np.float64] | None = None
    """Each row's Neurostatus ambulation score (§1.6): the recorded one, or for a Kurtzke row the score of its
    distance and aid by `neurostatus_ambulation_score` (NaN there where it cannot be derived: no aid at
    >= 500 m, score 0 or 1; D-19.1006). None: ``ambulation`` (no Kurtzke rows were read)."""


def parse_edss_table(
    frame: pd.DataFrame,
    problems: RowProblems,
    *,
    cutoff: date | None = None,
    visual_required: bool = True,
    method: EdssMethod | str | None = EdssMethod.NEUROSTATUS_16,
    gaps: KurtzkeGapOptions | None = None,
    zones: Mapping[str, str] | None = None,
) -> EdssTable:
    """Validate an EDSS form (columns `EDSS_COLUMNS`): raw FS within their Neurostatus ranges
    (docs/science/neuro-outcomes.md §1.1), ambulation 0-16 (§1.6), dates in order per subject and not after
    `cutoff`. With
    ``visual_required=False`` a blank visual FS is allowed (to be derived from acuity). With
    ``method="kurtzke"`` walking is read from ``walking_distance_m`` and ``assistance`` (Kurtzke 1983,
    §1.7) instead of ``ambulation``, and mapped to the equivalent ambulation score by
    `kurtzke_walking_step` (the rule is kept in ``walking_rule``). With ``method=None`` each row by its own
    ``method`` cell (any case; blank is neurostatus_16): a Neurostatus row needs ``ambulation``, a Kurtzke
    row ``assistance`` and, unless wheelchair-bound or worse, ``walking_distance_m`` (D-19.741); the date
    checks run on every row whatever its method (D-19.743)."""
    kurtzke = _kurtzke_rows(frame, problems, method)
    subject = parse_text(frame, "subject_id", problems)
    assessed = parse_datetime(frame, "assessed_at", problems)
    columns = [
        parse_int(
            frame,
            name,
            problems,
            minimum=0,
            maximum=FS_MAX[name],
            required=visual_required or name != "visual",
        )
        for name in FS_NAMES
    ]
    walking_rule: list[str] | None = None
    ambulation = np.full(len(frame), np.nan)
    walking = np.flatnonzero(~kurtzke)
    if len(walking) and "ambulation" not in frame.columns:
        # one file-level problem, not one per row (D-19.746): the rows that need the column are named
        problems.add_file_problem(
            "column ambulation missing: needed by rows with method blank or neurostatus_16 "
            f"({_row_ranges(walking + FIRST_DATA_ROW)})",
            field="ambulation",
            allowed="an ambulation column (0-16), or method kurtzke with assistance and walking_distance_m",
        )
    elif len(walking):
        ambulation[walking] = _on_rows(
            frame,
            walking,
            problems,
            lambda sub, sink: parse_int(sub, "ambulation", sink, minimum=0, maximum=AMBULATION_MAX),
        )
    rows = np.flatnonzero(kurtzke)
    scores: npt.NDArray[np.float64] | None = None
    if len(rows):
        walking_rule = [""] * len(frame)
        equivalent, rules, neurostatus = _on_rows(
            frame, rows, problems, lambda sub, sink: _kurtzke_walking(sub, sink, gaps)
        )
        scores = ambulation.copy()
        ambulation[rows] = equivalent
        scores[rows] = neurostatus
        for i, rule in zip(rows.tolist(), rules, strict=True):
            walking_rule[i] = rule
    check_chronology(subject, assessed, problems, "assessed_at", cells=frame)
    _check_not_after(assessed, cutoff, problems, "assessed_at", frame=frame, subjects=subject, zones=zones)
    fs = np.column_stack(columns) if columns else np.empty((len(frame), 0))
    days = _assessed_days(frame, assessed, subject, zones)
    return EdssTable(subject, assessed, fs.astype(float), ambulation, walking_rule, days, scores)


def _assessed_days(
    frame: pd.DataFrame,
    moments: Sequence[datetime | None],
    subjects: Sequence[Any] | npt.NDArray[np.object_],
    zones: Mapping[str, str] | None,
) -> list[date | None]:
    """The date of each row's ``assessed_at`` on its subject's site calendar (`site_dates`: a date typed
    without a time as typed, a date-time's instant on the site's clock; `zones`: subject_id → IANA zone, a
    subject not listed: UTC; D-19.607, D-19.778)."""
    cells = frame["assessed_at"].tolist() if "assessed_at" in frame.columns else [""] * len(moments)
    return site_dates(cells, moments, [zones.get(str(s)) if zones else None for s in subjects])


def _row_ranges(rows: npt.NDArray[np.intp]) -> str:
    """File rows as ranges: ``rows 2–4, 7`` (``row 5`` for one).

    >>> _row_ranges(np.array([2, 3, 4, 7]))
    'rows 2–4, 7'
    """
    values = sorted(int(r) for r in rows)
    parts: list[str] = []
    start = previous = values[0]
    for value in [*values[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        parts.append(str(start) if start == previous else f"{start}–{previous}")
        if value is not None:
            start = previous = value
    return f"{'row' if len(values) == 1 else 'rows'} {', '.join(parts)}"


def parse_edss_form(frame: pd.DataFrame, problems: RowProblems) -> None:
    """The EDSS form validator of the study store: each row by its own ``method`` (D-19.741)."""
    parse_edss_table(frame, problems, method=None)


def _kurtzke_rows(
    frame: pd.DataFrame, problems: RowProblems, method: EdssMethod | str | None
) -> npt.NDArray[np.bool_]:
    """Which rows are scored by the Kurtzke method: all (``kurtzke``), none (``neurostatus_16``), or with
    `method` None those whose ``method`` cell says ``kurtzke`` in any case (an unknown method: a problem)."""
    if method is not None:
        kind = choose(EdssMethod, method, "method")
        return np.full(len(frame), kind is EdssMethod.KURTZKE, dtype=bool)
    chosen = parse_choice(frame, "method", [m.value for m in EdssMethod], problems, required=False)
    return np.array([value == EdssMethod.KURTZKE.value for value in chosen.tolist()], dtype=bool)


def _on_rows(frame: pd.DataFrame, rows: npt.NDArray[np.intp], problems: RowProblems, parse: Any) -> Any:
    """`parse(sub_frame, sink)` on the `rows` of `frame`, its problems recorded against those rows."""
    if len(rows) == len(frame):
        return parse(frame, problems)
    sink = RowProblems(problems.file)
    out = parse(frame.iloc[rows].reset_index(drop=True), sink)
    for problem in sink.all():
        if problem.row is None:
            problems.file_level.append(problem)
            continue
        i = int(rows[problem.row - FIRST_DATA_ROW])
        problems.add(i, problem.field, problem.value, problem.message, problem.allowed)
    return out


def _kurtzke_walking(
    frame: pd.DataFrame, problems: RowProblems, gaps: KurtzkeGapOptions | None
) -> tuple[npt.NDArray[np.float64], list[str], npt.NDArray[np.float64]]:
    """Equivalent ambulation score and walking rule of Kurtzke rows (walking distance and aid, §1.7), and
    their Neurostatus ambulation score by §1.6 (`neurostatus_ambulation_score`; NaN: 0 or 1, or a bad row)."""
    distance = parse_float(frame, "walking_distance_m", problems, required=False, minimum=0.0, unit="m")
    # a distance already reported as bad (not a number, negative) is not reported again as missing
    bad_distance = {
        row - FIRST_DATA_ROW
        for row, found in problems.by_row.items()
        if any(p.field == "walking_distance_m" for p in found)
    }
    aid = parse_choice(frame, "assistance", [a.value for a in Assistance], problems)
    ambulation = np.full(len(frame), np.nan)
    walking_rule = [""] * len(frame)
    neurostatus = np.full(len(frame), np.nan)
    for i in range(len(frame)):
        if aid[i] is None or i in bad_distance:
            continue
        walked = None if np.isnan(distance[i]) else float(distance[i])
        try:
            score, rule = kurtzke_walking_step(walked, aid[i], gaps)
        except InputError as exc:
            problem = exc.problems[0]
            problems.add(
                i,
                problem.field,
                frame["walking_distance_m"].iat[i] if "walking_distance_m" in frame.columns else "",
                problem.message,
                problem.allowed,
            )
            continue
        ambulation[i] = score
        walking_rule[i] = rule
        derived = neurostatus_ambulation_score(walked, aid[i])  # checked above by kurtzke_walking_step
        neurostatus[i] = np.nan if derived is None else derived
    return ambulation, walking_rule, neurostatus


def _distinct_cells(cells: pd.Series) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]:
    """Codes and distinct values of a column (`cartrial.columns.distinct`: a column holding anything but
    strings is taken cell by cell)."""
    return distinct(cells.to_numpy(dtype=object))


def _object_array(values: Sequence[object]) -> npt.NDArray[np.object_]:
    """A 1-D object array of `values` (each value one cell, whatever it is)."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = value
    return out


@dataclass(frozen=True)
class AcuityTable:
    subject_id: npt.NDArray[np.object_]
    assessed_at: list[datetime | None]
    eye: npt.NDArray[np.object_]
    acuity: list[VisualAcuity | None]
    assessed_day: list[date | None] | None = None
    """Each row's date on its subject's site calendar (`site_dates`; None: not read, `assessed_at`'s UTC
    date): the day both eyes are paired on (D-19.778)."""
    zones: dict[str, str] | None = None
    """The subject → IANA zone calendar `assessed_day` was placed on (`parse_va_table`'s `zones`, {} for
    UTC; None: not read): a caller handing the table to an engine with other zones is refused (D-19.778)."""
    refused: npt.NDArray[np.bool_] | None = None
    """The rows the reader refused (a repeated eye on one site day among them); they are never paired (None:
    not read, no row refused) (D-19.778)."""


def parse_va_table(
    frame: pd.DataFrame,
    problems: RowProblems,
    *,
    convention: OffChartConvention | str = OffChartConvention.NONE,
    numeric_notation: Notation | str | None = None,
    cutoff: date | None = None,
    zones: Mapping[str, str] | None = None,
) -> AcuityTable:
    """Validate a visual-acuity form (columns `VA_COLUMNS`, optional ``notation`` for bare numbers): eye OD
    or OS, acuity in any notation of `parse_acuity` (docs/science/neuro-outcomes.md §2), one row per
    subject/date/eye, in
    date order."""
    subject = parse_text(frame, "subject_id", problems)
    assessed = parse_datetime(frame, "assessed_at", problems)
    eye_frame = frame
    if "eye" in frame.columns:
        eye_frame = frame.copy()
        codes, texts = _distinct_cells(frame["eye"])
        eye_frame["eye"] = _object_array([EYE_SYNONYMS.get(str(c).strip().lower(), c) for c in texts])[codes]
    eye = parse_choice(eye_frame, "eye", EYES, problems)
    # `notation` names how a bare number is read (decimal, logmar, etdrs_letters); the other notations are
    # what `score va` writes there for an acuity that says its notation itself (20/40, 6/12, CF): they are
    # accepted when they agree with the acuity, so a scored file scores again as the raw form (D-19.580)
    notations = (
        parse_choice(
            frame,
            "notation",
            [
                Notation.DECIMAL.value,
                Notation.LOGMAR.value,
                Notation.ETDRS_LETTERS.value,
                *(n.value for n in SELF_STATED_NOTATIONS),
            ],
            problems,
            required=False,
        )
        if "notation" in frame.columns
        else np.full(len(frame), None, dtype=object)
    )
    # a row whose own notation is bad is not read with the fallback notation (it has no acuity)
    bad_notation = {
        row - FIRST_DATA_ROW
        for row, found in problems.by_row.items()
        if any(p.field == "notation" for p in found)
    }
    # each distinct (acuity text, notation it is read with) is parsed once, then mapped back to its rows
    n = len(frame)
    cells = frame["acuity"] if "acuity" in frame.columns else pd.Series(np.full(n, "", dtype=object))
    cell_codes, texts = _distinct_cells(cells)
    notation_values = [Notation.DECIMAL.value, Notation.LOGMAR.value, Notation.ETDRS_LETTERS.value]
    read_with: list[Notation | str | None] = [numeric_notation, *notation_values]
    which = np.zeros(n, dtype=np.intp)  # 0: the row gives no notation (the fallback `numeric_notation`)
    for k, value in enumerate(notation_values, start=1):
        which[notations == value] = k
    read = np.ones(n, dtype=bool)
    read[sorted(bad_notation)] = False
    keys = cell_codes * len(read_with) + which
    distinct_keys, key_of_read = np.unique(keys[read], return_inverse=True)
    parsed: list[VisualAcuity | str] = []  # per distinct key: the acuity, or the problem's message
    for key in distinct_keys.tolist():
        text, notation = texts[key // len(read_with)], read_with[key % len(read_with)]
        try:
            parsed.append(parse_acuity(text, convention=convention, numeric_notation=notation))
        except InputError as exc:
            parsed.append(exc.problems[0].message)
    acuity_of_row = np.full(n, None, dtype=object)
    acuity_of_row[read] = _object_array(parsed)[key_of_read.reshape(-1)]
    refused = np.array([isinstance(a, str) for a in acuity_of_row.tolist()], dtype=bool)
    cell_values = cells.to_numpy(dtype=object)
    for i in np.flatnonzero(refused):
        problems.add(i, "acuity", cell_values[i], acuity_of_row[i], ALLOWED_TEXT)
    acuity_of_row[refused] = None
    stated = {n.value for n in SELF_STATED_NOTATIONS}
    for i in np.flatnonzero(np.isin(notations.astype(str), list(stated))):
        va = acuity_of_row[i]
        if isinstance(va, VisualAcuity) and va.notation.value != notations[i]:
            problems.add(
                int(i),
                "notation",
                notations[i],
                "does not match the acuity",
                SELF_STATED_ALLOWED,
            )
            acuity_of_row[i] = None
    acuities: list[VisualAcuity | None] = acuity_of_row.tolist()
    check_chronology(subject, assessed, problems, "assessed_at", cells=frame, keys=list(eye))
    _check_not_after(assessed, cutoff, problems, "assessed_at", frame=frame, subjects=subject, zones=zones)
    days = _assessed_days(frame, assessed, subject, zones)
    _check_one_eye_a_day(subject, eye, days, problems, frame)
    zones_read = {str(k): str(v) for k, v in (zones or {}).items()}
    return AcuityTable(subject, assessed, eye, acuities, days, zones_read, problems.bad_mask(len(frame)))


def _check_one_eye_a_day(
    subjects: npt.NDArray[np.object_],
    eyes: npt.NDArray[np.object_],
    days: Sequence[date | None],
    problems: RowProblems,
    frame: pd.DataFrame,
) -> None:
    """One acuity per subject, eye and day on the site's calendar, the day both eyes are paired on
    (D-19.778): a later row of the same eye that day (``2021-06-01`` and ``2021-06-01T21:00-04:00`` in New
    York; different instants, so not a repeated key of `check_chronology`) is a problem naming the earlier
    row, never a value; rows already refused are not compared."""
    bad = problems.bad_mask(len(days))
    label_of = row_labels(frame)  # a stored record's other record by its id (D-19.542)
    compared = [None if bad[i] else day for i, day in enumerate(days)]
    for earlier, *later in same_site_day_groups(subjects, compared, within=eyes):  # the one rule (D-19.1101)
        for i in later:
            problems.add(
                i,
                "assessed_at",
                None,
                f"the same eye on the same day on the site's calendar as {label_of([earlier])} (both eyes "
                "are paired per day)",
                "one acuity per subject, eye and day",
            )


def check_one_edss_a_day(
    subjects: Sequence[Any],
    days: Sequence[date | None],
    problems: RowProblems,
    frame: pd.DataFrame,
    skip: Sequence[bool] | None = None,
) -> None:
    """One EDSS assessment per subject and day on the site's calendar (D-19.1009): the disability outcome
    and the responders compare visits by their study day, and a day with two scores has no one score. A
    later row of the subject that day (``2021-06-01T09:00`` and ``2021-06-01T15:00``; different instants, so
    not a repeated key of `check_chronology`) is a problem at its ``assessed_at`` naming the earlier row (a
    stored record by its id), never a value, as `_check_one_eye_a_day` does for acuities; rows in `skip`
    (already refused or unscored) are not compared."""
    label_of = row_labels(frame)
    compared = [None if skip is not None and skip[i] else day for i, day in enumerate(days)]
    for earlier, *later in same_site_day_groups(subjects, compared):  # the one rule (D-19.1101)
        for i in later:
            problems.add(
                i,
                "assessed_at",
                None,
                f"a second EDSS assessment of the subject on the same day on the site's calendar as "
                f"{label_of([earlier])} (one EDSS per visit: baseline, follow-up and confirmation compare "
                "days)",
                "one EDSS assessment per subject and day: correct the date or delete one of them",
            )


@dataclass(frozen=True)
class OsisTable:
    subject_id: npt.NDArray[np.object_]
    assessed_at: list[datetime | None]
    grades: dict[str, npt.NDArray[np.float64]]
    assessed_day: list[date | None] | None = None
    """Each row's date on its subject's site calendar (`site_dates`; D-19.778)."""


def parse_osis_table(
    frame: pd.DataFrame,
    problems: RowProblems,
    *,
    cutoff: date | None = None,
    zones: Mapping[str, str] | None = None,
) -> OsisTable:
    """Validate an OSIS form (columns `OSIS_COLUMNS`; ranges of Wingerchuk 1999 Table 1,
    docs/science/neuro-outcomes.md §3). A form with a single ``visual`` column (one grade, the worse eye)
    instead of ``visual_od`` and
    ``visual_os`` is accepted; its grades are keyed ``visual``."""
    subject = parse_text(frame, "subject_id", problems)
    assessed = parse_datetime(frame, "assessed_at", problems)
    names = list(OSIS_MAX)
    if "visual" in frame.columns and not {"visual_od", "visual_os"} & set(frame.columns):
        names = ["visual", *(n for n in names if not n.startswith("visual_"))]
    grades = {
        name: parse_int(frame, name, problems, minimum=0, maximum=OSIS_MAX.get(name, 7)) for name in names
    }
    check_chronology(subject, assessed, problems, "assessed_at", cells=frame)
    _check_not_after(assessed, cutoff, problems, "assessed_at", frame=frame, subjects=subject, zones=zones)
    return OsisTable(subject, assessed, grades, _assessed_days(frame, assessed, subject, zones))


def parse_relapse_table(
    frame: pd.DataFrame,
    problems: RowProblems,
    *,
    birth_dates: Mapping[str, date] | None = None,
    cutoff: date | None = None,
) -> list[RelapseEpisode | None]:
    """Validate a relapse form (columns `RELAPSE_COLUMNS` + `RELAPSE_OPTIONAL`; docs/science/neuro-outcomes.md
    §4).

    ``phenotype`` is one or more IPND 2015 phenotypes separated by ';' (`Phenotype`); ``severity`` mild /
    moderate / severe; ``lasted_over_24h`` (default true) and ``fever_or_infection`` (default false) decide
    whether the episode qualifies as a relapse; ``adjudicated`` (optional) is confirmed / not_confirmed /
    pending (`Adjudication`). An onset before birth (`birth_dates`: the birth date, or
    1 January of the birth year when only the year is known) or after `cutoff` is an error; so are onsets
    out of order within a subject.
    """
    subject = parse_text(frame, "subject_id", problems)
    onset_moments = parse_datetime(frame, "onset_date", problems)
    severity = parse_choice(frame, "severity", [s.value for s in Severity], problems, required=False)
    lasted = parse_bool(frame, "lasted_over_24h", problems, required=False, default=True)
    fever = parse_bool(frame, "fever_or_infection", problems, required=False, default=False)
    objective_cells = frame["objective_change"] if "objective_change" in frame.columns else None
    objective = parse_bool(frame, "objective_change", problems, required=False, default=False)
    adjudicated = parse_choice(
        frame, "adjudicated", [a.value for a in Adjudication], problems, required=False
    )
    allowed_phenotypes = " ; ".join(p.value for p in Phenotype)
    phenotypes: list[frozenset[Phenotype] | None] = []
    cells = frame["phenotype"] if "phenotype" in frame.columns else pd.Series([""] * len(frame))
    for i, cell in enumerate(cells):
        text = str(cell)
        for separator in PHENOTYPE_SEPARATORS[1:]:
            text = text.replace(separator, PHENOTYPE_SEPARATORS[0])
        parts = [p.strip().lower().replace(" ", "_").replace("-", "_") for p in text.split(";") if p.strip()]
        if not parts:
            problems.add(i, "phenotype", cell, "value is required", allowed_phenotypes)
            phenotypes.append(None)
            continue
        try:
            phenotypes.append(frozenset(Phenotype(p) for p in parts))
        except ValueError:
            problems.add(i, "phenotype", cell, "unknown phenotype", allowed_phenotypes)
            phenotypes.append(None)
    onsets = [m.date() if m is not None else None for m in onset_moments]
    check_chronology(subject, onsets, problems, "onset_date", cells=frame)
    _check_not_after(onsets, cutoff, problems, "onset_date")
    row_births: list[date | None] = [None] * len(frame)
    if "birth_date" in frame.columns:
        row_births = [
            m.date() if m else None for m in parse_datetime(frame, "birth_date", problems, required=False)
        ]
    elif "birth_year" in frame.columns:
        years = parse_int(frame, "birth_year", problems, required=False, minimum=1900, maximum=2100)
        row_births = [earliest_birth(birth_year=int(y)) if np.isfinite(y) else None for y in years]
    # the one before-birth rule (`cartrial.protocol.birth`, D-19.1206): strictly before, 1 January of a year
    for i, (onset, born_here) in enumerate(zip(onsets, row_births, strict=True)):
        if onset is not None and before_birth(onset, born_here):
            problems.add(
                i, "onset_date", onset.isoformat(), "relapse dated before birth", "on or after the birth date"
            )
    if birth_dates is not None:
        for i, (sid, onset) in enumerate(zip(subject, onsets, strict=True)):
            if onset is None or not sid:
                continue
            born = birth_dates.get(str(sid))
            if born is None:
                problems.add(
                    i, "subject_id", sid, "subject not in the subjects file", "a subject_id listed there"
                )
            elif before_birth(onset, born):
                problems.add(
                    i,
                    "onset_date",
                    onset.isoformat(),
                    "relapse dated before birth",
                    "on or after the subject's birth date (subjects file)",
                )
    records: list[RelapseEpisode | None] = []
    bad = problems.bad_mask(len(frame))
    for i in range(len(frame)):
        onset, phenotype = onsets[i], phenotypes[i]
        if bad[i] or onset is None or phenotype is None:
            records.append(None)
            continue
        objective_value = (
            None if objective_cells is None or objective_cells.iat[i] == "" else bool(objective[i])
        )
        records.append(
            RelapseEpisode(
                subject_id=str(subject[i]),
                onset=onset,
                phenotypes=phenotype,
                severity=Severity(severity[i]) if severity[i] else None,
                lasted_over_24h=bool(lasted[i]),
                explained_by_fever_or_infection=bool(fever[i]),
                objective_change=objective_value,
                row=i + 2,
                adjudicated=Adjudication(adjudicated[i]) if adjudicated[i] else None,
            )
        )
    return records


@dataclass(frozen=True)
class TimedWalkTable:
    """Validated timed 25-foot walk form: ``seconds`` is the mean of the two trials (MSFC), NaN when the
    patient could not walk (``unable_to_walk``) or the row is bad."""

    subject_id: npt.NDArray[np.object_]
    assessed_at: list[datetime | None]
    seconds: npt.NDArray[np.float64]
    unable_to_walk: npt.NDArray[np.bool_]
    assessed_day: list[date | None] | None = None
    """Each row's date on its subject's site calendar (`site_dates`; D-19.778)."""


def parse_timed_walk_table(
    frame: pd.DataFrame,
    problems: RowProblems,
    *,
    cutoff: date | None = None,
    zones: Mapping[str, str] | None = None,
) -> TimedWalkTable:
    """Validate a timed 25-foot walk form (columns `TIMED_WALK_COLUMNS`): two trials in seconds (> 0, at
    most 180 s), averaged as in the MSFC scoring manual (Fischer 2001); both blank with
    ``unable_to_walk`` true when the patient cannot do the test."""
    subject = parse_text(frame, "subject_id", problems)
    assessed = parse_datetime(frame, "assessed_at", problems)
    unable = parse_bool(frame, "unable_to_walk", problems, required=False, default=False)
    trials = [
        parse_float(
            frame, name, problems, required=False, minimum=0.0, maximum=T25FW_MAX_SECONDS,
            exclusive_minimum=True, unit="s",
        )
        for name in ("trial_1_seconds", "trial_2_seconds")
    ]  # fmt: skip
    both = np.isfinite(trials[0]) & np.isfinite(trials[1])
    bad = problems.bad_mask(len(frame))
    for i in np.flatnonzero(~both & ~unable & ~bad):
        column = "trial_2_seconds" if np.isfinite(trials[0][i]) else "trial_1_seconds"
        message = "both trials are required unless unable_to_walk is true"
        problems.add(i, column, "", message, "seconds > 0 and <= 180")
    for i in np.flatnonzero((np.isfinite(trials[0]) | np.isfinite(trials[1])) & unable):
        problems.add(i, "unable_to_walk", "true", "trial times given for a patient unable to walk", "false")
    seconds = np.where(both & ~unable, (trials[0] + trials[1]) / 2.0, np.nan)
    check_chronology(subject, assessed, problems, "assessed_at", cells=frame)
    _check_not_after(assessed, cutoff, problems, "assessed_at", frame=frame, subjects=subject, zones=zones)
    return TimedWalkTable(subject, assessed, seconds, unable, _assessed_days(frame, assessed, subject, zones))


def parse_infusion_table(frame: pd.DataFrame, problems: RowProblems) -> dict[str, date]:
    """Infusion day (day 0) per subject: the date of ``infused_at`` (or ``infusion_date``) on the calendar of
    the row's optional ``time_zone`` (IANA, the subject's site's; blank or absent: UTC; D-19.607): a date
    typed without a time is that date, a date-time its date on the site's clock (`site_dates`; D-19.615)."""
    subject = parse_text(frame, "subject_id", problems)
    column = (
        "infused_at"
        if "infused_at" in frame.columns or "infusion_date" not in frame.columns
        else "infusion_date"
    )
    infused = parse_datetime(frame, column, problems)
    texts = frame[column].tolist() if column in frame.columns else [""] * len(frame)
    zones = parse_time_zones(frame, problems)
    out: dict[str, date] = {}
    for i, (sid, moment, zone) in enumerate(zip(subject, infused, zones, strict=True)):
        if not sid or moment is None:
            continue
        if sid in out:
            problems.add(i, "subject_id", sid, "subject infused twice in this file", "one row per subject")
            continue
        day = site_dates([texts[i]], [moment], [zone])[0]  # the one rule (D-19.615)
        if day is not None:
            out[str(sid)] = day
    return out


def parse_last_assessments(
    frame: pd.DataFrame, problems: RowProblems, column: str, zones: Mapping[str, str] | None = None
) -> dict[str, date]:
    """Last assessment date per subject from a column of an infusions/follow-up form (blank = unknown): a
    date as given, a date-time by its date on the subject's site calendar (`zones`: subject_id → IANA
    zone, the form's ``time_zone`` column; a subject not listed: UTC; D-19.615)."""
    subject = parse_text(frame, "subject_id", problems)
    moments = parse_datetime(frame, column, problems, required=False)
    texts = frame[column].tolist() if column in frame.columns else [""] * len(frame)
    days = site_dates(texts, moments, [zones.get(str(s)) if zones else None for s in subject])
    return {str(s): d for s, d in zip(subject, days, strict=True) if s and d is not None}


def site_dates(
    cells: Sequence[Any], moments: Sequence[datetime | None], zones: Sequence[str | None]
) -> list[date | None]:
    """The date of each parsed cell (`moments`, from `parse_datetime` of the texts `cells`) on its row's site
    calendar (`zones`, None: UTC): a cell with no time part (``2021-06-02``, ``20210602``, ``2021-W22-3``)
    or at exactly 00:00:00Z (the store's form of a date typed without a time) is that date, whatever the
    zone; any other instant is read on the site's clock: the one rule `cartrial.columns.site_cell_date`
    (`typed_site_moment`, D-19.947, amending D-19.615 and D-19.620), which the grading readers, the
    analysis, the CDISC export and the store use too (D-19.721, D-19.618). Day 0, the last assessment and
    the infusion-after-today check read a cell through it.

    >>> from cartrial.columns import utc_moment
    >>> cells = ["2021-06-02", "2021-06-01T23:30:00Z", "20210602", "2021-06-02T00:00:00Z"]
    >>> zones = ["America/New_York", "Asia/Shanghai", "America/New_York", "America/New_York"]
    >>> [str(day) for day in site_dates(cells, [utc_moment(c) for c in cells], zones)]
    ['2021-06-02', '2021-06-02', '2021-06-02', '2021-06-02']
    """
    return [
        None if moment is None else site_cell_date(cell, moment, zone)  # the one rule (cartrial.columns)
        for cell, moment, zone in zip(cells, moments, zones, strict=True)
    ]


HISTORY_DATE_RE = re.compile(
    r"(?P<y>[0-9]{4})(?:-(?P<m>[0-9]{2}|UN)(?:-(?P<d>[0-9]{2}|UN))?)?"
    r"(?:T(?P<H>[0-9]{2})(?::(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:\.[0-9]+)?)?)?"
    r"(?:Z|[+-](?P<zh>[0-9]{2})(?::(?P<zm>[0-9]{2}))?)?)?"
)
"""The one form of a date of the subject form's histories (treatment_history ``started_on``/``stopped_on``,
relapse_history ``onset_date``), matched in full: ``YYYY(-(MM|UN)(-(DD|UN))?)?`` optionally followed, after a
complete date, by an ISO 8601 time (``THH[:MM[:SS[.f]]]`` with ``Z`` or an offset) (D-19.1214)."""

HISTORY_DATE_ALLOWED = (
    "an ISO 8601 date YYYY-MM-DD, or right-truncated YYYY-MM or YYYY, an unknown month or day written UN "
    "(2019-07-UN, 2019-UN-UN; a day after an unknown month is not kept: 2019-UN-15 is the year 2019), a "
    "complete date optionally followed by a time (2019-07-01T08:30, with Z or an offset); or blank"
)
"""What a history date allows, in the words every layer shows (the store rule, its edit check, the analysis
note and the export's refusal; D-19.1214)."""

RELAPSE_HISTORY_ALLOWED = (
    'a JSON list of attacks, e.g. [{"onset_date": "2019-07-01"}], each onset_date ' + HISTORY_DATE_ALLOWED
)


def _valid_time(m: re.Match[str]) -> bool:
    if m["H"] is None:
        return True
    if m["d"] is None or m["d"] == "UN" or m["m"] == "UN":  # a time only after a complete date
        return False
    hour_ok = int(m["H"]) <= 23 and (m["M"] is None or int(m["M"]) <= 59)
    second_ok = m["S"] is None or int(m["S"]) <= 59
    zone_ok = m["zh"] is None or (int(m["zh"]) <= 23 and (m["zm"] is None or int(m["zm"]) <= 59))
    return hour_ok and second_ok and zone_ok


def partial_onset(text: str) -> date:
    """The first day of `onset_period` (D-19.711).

    >>> partial_onset("2019-07-UN"), partial_onset("2019")
    (datetime.date(2019, 7, 1), datetime.date(2019, 1, 1))
    """
    return onset_period(text)[0]


def onset_period(text: str) -> tuple[date, date]:
    """The period (first and last day) of a history date that may be partial (SDTM MH exports "2019-07",
    "2019", "2019-07-UN"): 2019-07 → 2019-07-01..2019-07-31, 2019 → 2019-01-01..2019-12-31, a full date its
    own day. The first day is the earliest possible onset; an attack recorded inside the period may be that
    onset itself (D-19.711). The one reader of a history date (`HISTORY_DATE_RE`, matched in full; the store
    rule, the edit check and the CDISC export read it too, D-19.1214): a time after a complete date is
    checked and ignored (the date is the one written, whatever the offset). `ValueError` (without the value)
    when it is no date of that form.

    >>> [str(d) for d in onset_period("2020-02-UN") + onset_period("2019")]
    ['2020-02-01', '2020-02-29', '2019-01-01', '2019-12-31']
    """
    m = HISTORY_DATE_RE.fullmatch(text.strip())
    if m is None or not _valid_time(m):
        raise ValueError("not a date")
    year = int(m["y"])
    if m["m"] is None or m["m"] == "UN":
        return date(year, 1, 1), date(year, 12, 31)  # the month unknown: the whole year
    month = int(m["m"])
    if not 1 <= month <= 12:
        raise ValueError("not a date")
    if m["d"] is None or m["d"] == "UN":
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    full = date(year, month, int(m["d"]))  # ValueError for a day not in the month
    return full, full


HISTORY_DATE_KEYS: Mapping[str, tuple[str, ...]] = {
    "treatment_history": ("started_on", "stopped_on"),
    "relapse_history": ("onset_date",),
}
"""The dates of the subject form's free-JSON histories (each entry's keys), one table for every layer: the
store's record rules and edit check, the analysis (`history_onsets`) and the CDISC export (CM.CMSTDTC/CMENDTC,
MH.MHSTDTC) (D-19.1218)."""

HISTORY_ALLOWED = "a JSON list of entries (objects), or one entry; or blank"
"""What a history (the whole field) allows: the words of the export's refusal of a text that is none."""


def history_entries(value: Any) -> list[Any]:
    """The entries of a history: a JSON text (blank: none), a list, or one object (one entry). `ValueError`
    (without the value) for a text that is no JSON, or a JSON neither a list nor an object (D-19.1218).

    >>> history_entries('{"onset_date": "2019"}'), history_entries(" ")
    ([{'onset_date': '2019'}], [])
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("not a JSON list of entries") from None
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        raise ValueError("not a JSON list of entries")
    return value


def history_date_faults(value: Any, column: str) -> list[tuple[int, str]]:
    """(entry, key) of every date of the history `column` (`HISTORY_DATE_KEYS`; `history_entries`) that is no
    history date (`onset_period`, its one form, D-19.1214); entries 1-based, an entry that is no object and
    a blank date none. `ValueError` (without the value) when the history is no list of entries
    (`history_entries`): the store leaves that to its JSON field rule, the export refuses it (D-19.1218).

    >>> history_date_faults('[{"started_on": "2019-07"}, {"stopped_on": "2019--07"}]', "treatment_history")
    [(2, 'stopped_on')]
    """
    faults = []
    for k, item in enumerate(history_entries(value), start=1):
        if not isinstance(item, dict):
            continue
        for key in HISTORY_DATE_KEYS[column]:
            text = "" if item.get(key) is None else str(item.get(key)).strip()
            if not text:
                continue
            try:
                onset_period(text)
            except ValueError:
                faults.append((k, key))
    return faults


class HistoryOnsets(NamedTuple):
    """The onsets read from a ``relapse_history`` and the number of entries that could not be read."""

    onsets: list[date]
    unreadable: int
    latest: date | None = None
    """The latest possible onset: the earliest last day of the onsets' periods (a partial onset's period)."""


def history_onsets(value: Any) -> HistoryOnsets:
    """The onset dates of a subject's ``relapse_history`` (a JSON list, or the list itself, of attacks with an
    ``onset_date``; blank: none; an attack without a date is skipped). A partial onset is the first day of its
    period (`onset_period`; ``latest``: the earliest period end, D-19.711). An entry that cannot be read
    (not JSON, not a list, an onset that is no date) is skipped and counted in ``unreadable`` (the caller
    notes it, naming the subject and the field, never the value): never an error, the history is auxiliary
    to the diagnosis date.

    >>> history_onsets('[{"onset_date": "2019-07", "phenotype": "optic_neuritis"}, {"phenotype": "x"}]')
    HistoryOnsets(onsets=[datetime.date(2019, 7, 1)], unreadable=0, latest=datetime.date(2019, 7, 31))
    """
    try:
        items = history_entries(value)  # the one reader of a history's entries (D-19.1218)
    except ValueError:
        return HistoryOnsets([], 1)
    out: list[date] = []
    ends: list[date] = []
    unreadable = 0
    for item in items:
        if not isinstance(item, dict):
            unreadable += 1
            continue
        onset = item.get("onset_date")
        if onset in (None, ""):
            continue
        if isinstance(onset, date):
            out.append(onset)
            ends.append(onset)
            continue
        try:
            first, last = onset_period(str(onset))
        except ValueError:
            unreadable += 1
            continue
        out.append(first)
        ends.append(last)
    return HistoryOnsets(out, unreadable, min(ends) if ends else None)


def disease_onset(diagnosed: date, read: HistoryOnsets) -> date | OnsetPeriod:
    """The disease onset from a diagnosis date and the subject's history: the earliest possible onset, as an
    `OnsetPeriod` up to the latest possible one (the diagnosis, or a history period's last day) when a
    partial history onset leaves it uncertain, so that an attack recorded inside it is that onset (D-19.711).

    >>> disease_onset(date(2020, 9, 1), history_onsets('[{"onset_date": "2020-07"}]'))
    OnsetPeriod(first=datetime.date(2020, 7, 1), last=datetime.date(2020, 7, 31))
    """
    first = min([diagnosed, *read.onsets])
    last = min([diagnosed] + ([read.latest] if read.latest is not None else []))
    return first if last == first else OnsetPeriod(first, last)


UNREADABLE_HISTORY_NOTE = (
    "subject {subject}: {n} relapse_history entr{ies} with no readable onset_date skipped (allowed: "
    "{allowed}); the disease onset read from the rest and the "
    "diagnosis_date (D-19.711)"
)


def unreadable_history_note(subject: str, n: int) -> str:
    """The note on a subject's skipped ``relapse_history`` entries (subject and field named, no value)."""
    return UNREADABLE_HISTORY_NOTE.format(
        subject=subject, n=n, ies="y" if n == 1 else "ies", allowed=RELAPSE_HISTORY_ALLOWED
    )


def parse_disease_onsets(
    frame: pd.DataFrame, problems: RowProblems, notes: list[str] | None = None
) -> dict[str, date | OnsetPeriod]:
    """The disease onset per subject of a subjects form who has a ``diagnosis_date``: the earlier of that date
    and the onsets of the subject's ``relapse_history`` (attacks before the study, which SDTM MH lists too):
    the pre-infusion ARR window starts no earlier than it (D-19.708). A subject without a diagnosis date is
    left out (its window is not shortened) and its history is not read. A partial history onset is a period
    (`disease_onset`: an `OnsetPeriod` up to the latest possible onset); an unreadable entry is skipped and
    noted in `notes` (subject and field, no value; D-19.711).

    >>> form = pd.DataFrame({"subject_id": ["S1", "S2"], "diagnosis_date": ["2020-10-01", ""],
    ...                      "relapse_history": ['[{"onset_date": "2020-08-20"}]', ""]})
    >>> parse_disease_onsets(form, RowProblems("subjects"))
    {'S1': datetime.date(2020, 8, 20)}
    """
    if "diagnosis_date" not in frame.columns:
        return {}
    subject = parse_text(frame, "subject_id", problems)
    diagnosed = parse_datetime(frame, "diagnosis_date", problems, required=False)
    histories = (
        frame["relapse_history"].tolist() if "relapse_history" in frame.columns else [None] * len(frame)
    )
    out: dict[str, date | OnsetPeriod] = {}
    for sid, moment, history in zip(subject, diagnosed, histories, strict=True):
        if not sid or moment is None:
            continue  # the history is read only with a diagnosis date (D-19.711)
        read = history_onsets(history)
        if read.unreadable and notes is not None:
            notes.append(unreadable_history_note(str(sid), read.unreadable))
        out[str(sid)] = disease_onset(moment.date(), read)
    return out


def parse_birth_dates(
    frame: pd.DataFrame, problems: RowProblems, *, required: bool = True
) -> dict[str, date]:
    """Birth date per subject from a subjects form: its ``birth_date`` if given, else 1 January of its
    ``birth_year`` (the earliest possible birth day, so that "before birth" is never a false alarm). Per
    subject: a study may record the full date for some subjects and the year for others (a subject with a
    year only was refused, "birth_date: value is required", as soon as another subject had a date). With
    `required` (the `cartrial relapses --subjects` form) every subject needs one of them; without (the
    study's stored subjects, where both are optional) a subject with neither is left out: it has no
    before-birth check (D-19.553).

    >>> form = pd.DataFrame({"subject_id": ["S1", "S2"], "birth_date": ["1980-05-02", ""],
    ...                      "birth_year": ["1980", "1975"]})
    >>> sorted(parse_birth_dates(form, RowProblems("subjects")).items())
    [('S1', datetime.date(1980, 5, 2)), ('S2', datetime.date(1975, 1, 1))]
    """
    subject = parse_text(frame, "subject_id", problems)
    out: dict[str, date] = {}
    with_year = "birth_year" in frame.columns
    if "birth_date" in frame.columns:
        born = parse_datetime(frame, "birth_date", problems, required=required and not with_year)
        for sid, moment in zip(subject, born, strict=True):
            if sid and moment is not None:
                out[str(sid)] = moment.date()
    if with_year:
        # the year of the subjects without a date only (a date given, its year is not read, as before)
        dated = np.array([str(s) in out for s in subject], dtype=bool)
        undated = frame.assign(birth_year=frame["birth_year"].where(~dated, ""))
        years = parse_int(undated, "birth_year", problems, minimum=1900, maximum=2100, required=False)
        refused = problems.bad_mask(len(frame))  # a bad date or year: already a problem of the row
        for i, (sid, year) in enumerate(zip(subject, years, strict=True)):
            if not sid or str(sid) in out:
                continue
            if np.isfinite(year) and (january := earliest_birth(birth_year=int(year))) is not None:
                out[str(sid)] = january  # 1 January of the year (`cartrial.protocol.birth`, D-19.1206)
            elif required and not refused[i]:
                problems.add(i, "birth_year", "", "value is required", "a birth_date or a birth_year")
    return out


__all__ = [
    "EDSS_COLUMNS",
    "EDSS_FORM_REQUIRED",
    "EDSS_KURTZKE_COLUMNS",
    "EDSS_OPTIONAL",
    "HISTORY_ALLOWED",
    "HISTORY_DATE_ALLOWED",
    "HISTORY_DATE_KEYS",
    "HISTORY_DATE_RE",
    "INFUSION_COLUMNS",
    "INFUSION_ONE_OF",
    "LAST_ASSESSMENT_COLUMNS",
    "OSIS_COLUMNS",
    "OSIS_ONE_OF",
    "OSIS_REQUIRED",
    "RELAPSE_COLUMNS",
    "RELAPSE_HISTORY_ALLOWED",
    "RELAPSE_OPTIONAL",
    "T25FW_MAX_SECONDS",
    "TIMED_WALK_COLUMNS",
    "TIMED_WALK_OPTIONAL",
    "VA_COLUMNS",
    "VA_OPTIONAL",
    "AcuityTable",
    "EdssTable",
    "HistoryOnsets",
    "OsisTable",
    "TimedWalkTable",
    "check_chronology",
    "check_one_edss_a_day",
    "disease_onset",
    "history_date_faults",
    "history_entries",
    "history_onsets",
    "onset_period",
    "parse_birth_dates",
    "parse_disease_onsets",
    "parse_edss_form",
    "parse_edss_table",
    "parse_infusion_table",
    "parse_last_assessments",
    "parse_osis_table",
    "parse_relapse_table",
    "parse_timed_walk_table",
    "parse_va_table",
    "partial_onset",
    "site_dates",
    "unreadable_history_note",
]
