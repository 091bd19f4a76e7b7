"""Frame-level derivations of the grading engine: a form as a DataFrame in, a `cartrial.results.Result` out.

These are the only implementations of each table-level rule; the command line (`cartrial grade …`), the
study store (`cartrial db derive crs|icans`), the demo and a notebook all call them:

- `derive_crs_grades` — ASTCT 2019 CRS grade of each assessment (optionally Lee 2014 and CARTOX too);
- `derive_icans_grades` — ASTCT 2019 ICANS grade and ICE score of each assessment;
- `derive_lab_grades` — CTCAE v5.0/v6.0 grade of each haematology result;
- `derive_crs_episodes`, `derive_icans_episodes` — episodes per subject (onset, maximum, resolution);
- `derive_icaht` — early/late ICAHT and T-ICAHT per subject (EHA/EBMT 2023);
- `derive_graded_events` — the graded events the DLT rules evaluate.

Frames may hold strings (as read from a CSV file) or ordinary values (numbers, booleans, datetimes, None):
``derive_crs_grades(pd.read_csv(path))`` works. Bad rows are located problems (spreadsheet row numbers:
header = row 1): by default an `InputError` listing all of them, or with ``keep_going=True`` the good rows
are graded, the bad ones get an ``error`` column and blank results, and `Result.problems` lists them.

The CRS input preparation (°F → °C, systolic pressure → hypotension, required inputs, fever masking of a
single assessment) is `prepare_crs_inputs` + `grade_crs_inputs`, used by every CRS path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from cartrial.allowed import Allowed, check_argument, enum_member
from cartrial.columns import (
    RowProblems,
    calendar_days,
    parse_datetime,
    parse_text,
    site_cell_moment,
    text_frame,
    typed_site_moment,
)
from cartrial.errors import InputError, Problem
from cartrial.grading.choices import RowMasking
from cartrial.grading.crs import (
    CRS_SCALE,
    CRS_SOURCE,
    OXYGEN_DEVICES,
    CrsGradeArrays,
    CrsOptions,
    FeverState,
    grade_crs_arrays,
)
from cartrial.grading.ctcae import (
    ANALYTES,
    CTCAE_SOURCE_V5,
    CTCAE_SOURCE_V6,
    LLN_GRADABLE_ALLOWED,
    LLN_NOT_GRADABLE,
    Analyte,
    grade_labs_arrays,
    lln_gradable,
    to_canonical,
)
from cartrial.grading.episodes import (
    EPISODE_SOURCE,
    CrsEpisodeResult,
    EpisodeOptions,
    EpisodeSummary,
    crs_episodes,
    icans_episodes,
)
from cartrial.grading.events import episode_events, lab_events, lab_runs
from cartrial.grading.icaht import (
    ICAHT_SCALE,
    ICAHT_SOURCE,
    T_ICAHT_SOURCE,
    IcahtOptions,
    grade_icaht,
    grade_t_icaht,
)
from cartrial.grading.icans import DOMAINS, ICANS_SCALE, ICANS_SOURCE, grade_icans_arrays
from cartrial.grading.legacy import LegacyObservation, LegacyScale, VasopressorDoses, grade_legacy_crs
from cartrial.grading.quality import check_duplicate_assessments, check_lab_plausibility
from cartrial.grading.tables import (
    CRS_ONE_OF,
    CRS_REQUIRED,
    ICANS_REQUIRED,
    INFUSIONS_REQUIRED,
    LABS_REQUIRED,
    THERAPIES_REQUIRED,
    CrsInputs,
    IcansInputs,
    LabInputs,
    TherapyRecord,
    parse_crs_frame,
    parse_icans_frame,
    parse_infusions_frame,
    parse_labs_frame,
    parse_therapies_frame,
)
from cartrial.results import Result

FileName: TypeAlias = str | Path
Infusions: TypeAlias = Mapping[str, datetime] | pd.DataFrame
Therapies: TypeAlias = Sequence[TherapyRecord] | pd.DataFrame | None

ICANS_ONE_OF = (("ice_orientation", "ice_total"),)


# ---------------------------------------------------------------- shared helpers


def _check_columns(
    frame: pd.DataFrame, required: Sequence[str], one_of: Sequence[Sequence[str]], file: FileName
) -> None:
    """Raise a located `InputError` when a required column (or every column of a one-of group) is absent."""
    problems = [
        Problem("required column is missing", file=str(file), field=c, allowed=", ".join(required))
        for c in required
        if c not in frame.columns
    ]
    problems += [
        Problem(
            "one of these columns is required",
            file=str(file),
            field=" | ".join(group),
            allowed=" or ".join(group),
        )
        for group in one_of
        if not any(c in frame.columns for c in group)
    ]
    if problems:
        raise InputError(problems)


def _columns_frame(columns: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {k: (list(v) if not isinstance(v, str | int | float) else v) for k, v in columns.items()}
    )


def _with_results(
    frame: pd.DataFrame, problems: RowProblems, columns: pd.DataFrame, keep_going: bool
) -> pd.DataFrame:
    """Input rows plus result columns; with problems (and `keep_going`) an `error` column, blank results."""
    out = frame.copy()
    bad = problems.bad_mask(len(frame))
    for name, values in columns.items():
        series = pd.Series(list(values), index=out.index)
        if bad.any():
            series = series.astype(object).where(~bad, None)
        out[name] = series
    return problems.with_error_column(out, keep_going)


def _row_problems(problems: RowProblems, keep_going: bool) -> tuple[Problem, ...]:
    return tuple(problems.all()) if keep_going else ()


def infusion_times(frame: pd.DataFrame, *, file: FileName = "infusions") -> dict[str, datetime]:
    """Infusion time (day 0) of each subject from a frame with `subject_id`, `infused_at` (others ignored);
    raises a located `InputError` for a bad or repeated row.

    >>> import pandas as pd
    >>> infusion_times(pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2024-01-10T09:00:00Z"]}))
    {'S1': datetime.datetime(2024, 1, 10, 9, 0, tzinfo=datetime.timezone.utc)}
    """
    _check_columns(frame, INFUSIONS_REQUIRED, (), file)
    problems = RowProblems(file)
    infusions = parse_infusions_frame(text_frame(frame), problems)
    problems.raise_if_any(False)
    return infusions


def therapy_records(frame: pd.DataFrame, *, file: FileName = "therapies") -> list[TherapyRecord]:
    """The therapies given (`subject_id`, `given_at`, `therapy`, optional `agent`, `dose`, `unit`); raises a
    located `InputError` for a bad row.

    >>> import pandas as pd
    >>> [t.therapy for t in therapy_records(pd.DataFrame(
    ...     {"subject_id": ["S1"], "given_at": ["2024-01-12"], "therapy": ["tocilizumab"]}))]
    ['tocilizumab']
    """
    _check_columns(frame, THERAPIES_REQUIRED, (), file)
    problems = RowProblems(file)
    records = parse_therapies_frame(text_frame(frame), problems)
    # the store's natural key (subject, therapy, time): a second row with the same key is refused
    check_duplicate_assessments(frame, "given_at", problems, key=("subject_id", "therapy"))
    problems.raise_if_any(False)
    return records


def new_therapy_days(
    frame: pd.DataFrame, infusions: Infusions, *, file: FileName = "new_therapies"
) -> dict[str, int]:
    """Study day (calendar days after the infusion date) of each subject's new therapy, from a frame with
    `subject_id` and `new_therapy_at`: the censoring day of `derive_icaht` (EHA/EBMT 2023 censors ICAHT at
    progression, new therapy or death). A subject listed twice keeps the earliest date. A date without a time
    is that date on the site's calendar (`cartrial.columns.site_cell_moment`, D-19.721). A date before the
    infusion is refused at its row, as the follow-up file's (`follow_up_days`): the consensus censors at a
    *subsequent* therapy, and a therapy before the product (bridging, or a typing slip) would censor every
    count of it, "not gradable" without a word (D-19.1120).

    >>> import pandas as pd
    >>> new_therapy_days(pd.DataFrame({"subject_id": ["S1"], "new_therapy_at": ["2024-02-24"]}),
    ...                  pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2024-01-10T09:00Z"]}))
    {'S1': 45}
    """
    return _study_days(frame, infusions, "new_therapy_at", min, file)


def follow_up_days(
    frame: pd.DataFrame, infusions: Infusions, *, file: FileName = "follow_up"
) -> dict[str, int]:
    """Day of last follow-up (calendar days after the infusion date: death, loss to follow-up or the data
    cut-off) of each subject, from a frame with `subject_id` and `last_follow_up_at`: `derive_icaht`'s
    `follow_up_days`, which ends the early ICAHT window (D-19.717). A date before the infusion is refused;
    a subject listed twice keeps the latest date. A date without a time is that date on the site's calendar
    (`cartrial.columns.site_cell_moment`, D-19.721).

    >>> import pandas as pd
    >>> follow_up_days(pd.DataFrame({"subject_id": ["S1"], "last_follow_up_at": ["2024-04-19"]}),
    ...                pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2024-01-10T09:00Z"]}))
    {'S1': 100}
    """
    return _study_days(frame, infusions, "last_follow_up_at", max, file)


def _study_days(
    frame: pd.DataFrame,
    infusions: Infusions,
    column: str,
    keep: Callable[[int, int], int],
    file: FileName,
) -> dict[str, int]:
    """Calendar days after the infusion date of each subject's date in `column` (`new_therapy_days`,
    `follow_up_days`): a date without a time is that date on the site's calendar
    (`cartrial.columns.site_cell_moment`, D-19.721); a date before the infusion is refused at its row
    (D-19.717, D-19.1120); of a subject listed twice, `keep` (min or max) of the days is kept."""
    _check_columns(frame, ("subject_id", column), (), file)
    times = _infusions(infusions)
    problems = RowProblems(file)
    text = text_frame(frame)
    subjects = parse_text(text, "subject_id", problems)
    moments = parse_datetime(text, column, problems)
    _check_subjects(subjects, times, problems)
    days: dict[str, int] = {}
    for i, (sid, cell, moment) in enumerate(zip(subjects, text[column], moments, strict=True)):
        if moment is None or str(sid) not in times:
            continue
        day0 = times[str(sid)]
        day = calendar_days(site_cell_moment(cell, moment, day0.tzinfo), day0)
        if day < 0:
            problems.add(
                i, column, cell, "before the infusion date", "a date on or after the subject's infusion"
            )
            continue
        days[str(sid)] = keep(day, days.get(str(sid), day))
    problems.raise_if_any(False)
    return days


def _site_moments(
    frame: pd.DataFrame,
    column: str,
    moments: list[datetime | None],
    subject_ids: npt.NDArray[np.object_],
    infusions: Mapping[str, datetime],
    *,
    infusion_day_not_before: bool = False,
) -> list[datetime | None]:
    """The parsed `moments` of a date field `column` with each date typed without a time taken as the start
    of that date on its subject's site clock (the infusion's `tzinfo`; `cartrial.columns.site_cell_moment`),
    in UTC: the date as recorded, so its study day is that date minus the infusion's (D-19.607, D-19.721).
    Read as midnight UTC, a date at a site west of UTC fell on the day before. A subject without an
    infusion, a time or a site without a zone: unchanged.

    `infusion_day_not_before` (CRS assessments, D-19.1372; ICANS assessments, D-19.1400): a date typed without
    a time on the site-calendar day of the infusion (`cartrial.columns.typed_site_moment`, the one rule of
    such a date, D-19.947) that would fall before the infusion instant is taken at the infusion instant: the
    whole date is the infusion's day and whether the assessment preceded the infusion is unknown, so it is not
    "before the infusion"."""
    texts = text_frame(frame)[column].tolist()
    out: list[datetime | None] = []
    for text, moment, sid in zip(texts, moments, subject_ids, strict=True):
        day0 = infusions.get(str(sid))
        if moment is None or day0 is None or moment.hour or moment.minute or moment.second:
            out.append(moment)  # a date-only text reads as exactly 00:00:00Z: nothing else is looked at
            continue
        at = site_cell_moment(text, moment, day0.tzinfo).astimezone(UTC)
        if (
            infusion_day_not_before
            and at < day0
            and typed_site_moment(moment, day0.tzinfo).date() == typed_site_moment(day0, day0.tzinfo).date()
        ):
            at = day0.astimezone(UTC)  # the infusion's day, its time unknown: not before the infusion
        out.append(at)
    return out


def _infusions(value: Infusions) -> dict[str, datetime]:
    return infusion_times(value) if isinstance(value, pd.DataFrame) else dict(value)


def _therapies(value: Therapies) -> list[TherapyRecord]:
    if value is None:
        return []
    return therapy_records(value) if isinstance(value, pd.DataFrame) else list(value)


def _check_subjects(
    subject_ids: npt.NDArray[np.object_], infusions: Mapping[str, datetime], problems: RowProblems
) -> None:
    for i, sid in enumerate(subject_ids):
        if sid and str(sid) not in infusions:
            problems.add(
                i, "subject_id", sid, "subject has no infusion date", "a subject_id of the infusion file"
            )


def _excluded_rows(problems: RowProblems, subject_ids: npt.NDArray[np.object_]) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for row in sorted(problems.by_row):
        out.setdefault(str(subject_ids[row - 2]), []).append(str(row))
    return {sid: " ".join(rows) for sid, rows in out.items()}


def _with_excluded_rows(frame: pd.DataFrame, excluded: dict[str, str] | None) -> pd.DataFrame:
    """Add the `excluded_rows` column (keep_going), with a row for subjects whose rows were all bad."""
    if not excluded:
        return frame
    missing = [sid for sid in excluded if sid not in set(frame.get("subject_id", []))]
    if missing:
        frame = pd.concat([frame, pd.DataFrame({"subject_id": missing})], ignore_index=True)
    frame["excluded_rows"] = [excluded.get(str(sid), "") for sid in frame["subject_id"]]
    return frame


def episode_table(episodes: Sequence[EpisodeSummary]) -> pd.DataFrame:
    """One row per episode (`EpisodeSummary.as_record`), grades as nullable integers.

    >>> episode_table([]).empty
    True
    """
    frame = pd.DataFrame([ep.as_record() for ep in episodes])
    if "max_grade" in frame:
        frame["max_grade"] = frame["max_grade"].astype("Int64")
        frame["episode"] = frame["episode"].astype("Int64")
    return frame


# ---------------------------------------------------------------- CRS


def crs_assessment_masked(
    fever_masked: npt.NDArray[np.bool_], crs_resolved: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Fever masking of single assessments (ASTCT 2019, CRS table footnote: fever is not needed after
    antipyretic or anti-cytokine therapy): the recorded ``fever_masked`` counts, except on an assessment
    that records the CRS as resolved (a resolved CRS has no fever left to mask). Episodes carry masking
    across time with their own rule (`cartrial.grading.crs_episodes`).

    >>> import numpy as np
    >>> crs_assessment_masked(np.array([True, True, False]), np.array([False, True, False])).tolist()
    [True, False, False]
    """
    return np.asarray(fever_masked, dtype=bool) & ~np.asarray(crs_resolved, dtype=bool)


def prepare_crs_inputs(
    frame: pd.DataFrame, problems: RowProblems, *, options: CrsOptions | None = None
) -> CrsInputs:
    """Validate and parse a CRS assessments frame (typed or all-string) into `CrsInputs`: temperature in
    °C (°F converted), hypotension (or systolic pressure below ``options.sbp_threshold_mmhg``), required
    inputs checked, every bad value recorded in `problems` (see `cartrial.grading.tables.parse_crs_frame`).

    >>> import pandas as pd
    >>> from cartrial.columns import RowProblems
    >>> rows = pd.DataFrame({"subject_id": ["S1"], "assessed_at": ["2024-01-11T08:00Z"],
    ...     "temperature_f": [101.3], "systolic_bp_mmhg": [84], "fever_masked": [False], "vasopressors": [0],
    ...     "vasopressin": [False], "oxygen": ["none"], "oxygen_l_min": [None]})
    >>> inputs = prepare_crs_inputs(rows, RowProblems("crs"))
    >>> round(float(inputs.temperature_c[0]), 2), bool(inputs.hypotension[0])
    (38.5, True)
    """
    opts = options or CrsOptions()
    return parse_crs_frame(text_frame(frame), problems, sbp_threshold_mmhg=opts.sbp_threshold_mmhg)


def grade_crs_inputs(inputs: CrsInputs, options: CrsOptions | None = None) -> CrsGradeArrays:
    """ASTCT 2019 CRS grade of each prepared assessment, each on its own (masking by
    `crs_assessment_masked`; a row whose temperature is missing is graded as afebrile, 37 °C — such rows
    are problems of the preparation and are blanked by the callers).

    >>> import pandas as pd
    >>> from cartrial.columns import RowProblems
    >>> rows = pd.DataFrame({"subject_id": ["S1"], "assessed_at": ["2024-01-11T08:00Z"],
    ...     "temperature_c": [37.0], "hypotension": [False], "fever_masked": [True], "crs_resolved": [True],
    ...     "vasopressors": [0], "vasopressin": [False], "oxygen": ["none"], "oxygen_l_min": [0]})
    >>> grade_crs_inputs(prepare_crs_inputs(rows, RowProblems("crs"))).grade.tolist()
    [0]
    """
    opts = options or CrsOptions()
    return grade_crs_arrays(
        temperature_c=np.nan_to_num(inputs.temperature_c, nan=37.0),
        fever_masked=crs_assessment_masked(inputs.fever_masked, inputs.crs_resolved),
        hypotension=inputs.hypotension,
        vasopressors=inputs.vasopressors,
        vasopressin=inputs.vasopressin,
        oxygen_code=inputs.oxygen_code,
        oxygen_l_min=inputs.oxygen_l_min,
        death_due_to_crs=inputs.death_due_to_crs,
        fever_other_cause=inputs.fever_other_cause,
        options=opts,
    )


def _legacy_observation(inputs: CrsInputs, i: int) -> LegacyObservation:
    def optional_grade(values: npt.NDArray[np.float64]) -> int | None:
        return None if np.isnan(values[i]) else int(values[i])

    doses = None
    if inputs.doses_recorded[i]:
        doses = VasopressorDoses(
            norepinephrine_ug_min=float(inputs.norepinephrine_ug_min[i]),
            dopamine_ug_kg_min=float(inputs.dopamine_ug_kg_min[i]),
            phenylephrine_ug_min=float(inputs.phenylephrine_ug_min[i]),
            epinephrine_ug_min=float(inputs.epinephrine_ug_min[i]),
            vasopressin=bool(inputs.vasopressin[i]),
        )
    life = inputs.life_threatening_hypotension[i]
    return LegacyObservation(
        temperature_c=float(inputs.temperature_c[i]),
        hypotension=bool(inputs.hypotension[i]),
        vasopressors=int(inputs.vasopressors[i]),
        vasopressin=bool(inputs.vasopressin[i]),
        oxygen=OXYGEN_DEVICES[int(inputs.oxygen_code[i])],
        fio2_pct=None if np.isnan(inputs.fio2_pct[i]) else float(inputs.fio2_pct[i]),
        doses=doses,
        organ_toxicity_grade=optional_grade(inputs.organ_toxicity_grade),
        transaminase_grade=optional_grade(inputs.transaminase_grade),
        life_threatening_hypotension=None if life is None else bool(life),
        death_due_to_crs=bool(inputs.death_due_to_crs[i]),
    )


RECORDED_MASKING_LABEL = (
    "fever_masked as recorded, not checked for an earlier CRS fever (episode grading counts the flag only "
    "after one: D-19.1355)"
)
"""The label of a per-row CRS grade whose fever requirement was met only by the row's recorded
``fever_masked`` flag (`derive_crs_grades`, ``RowMasking.RECORDED``): the episode grader counts the flag only
after a CRS fever recorded after the infusion (D-19.1308), so such a grade may exceed the ASTCT grade the
row has in its episode (`derive_crs_assessment_grades`)."""


def _flag_masked_rows(graded: CrsGradeArrays, problems: RowProblems, n: int) -> npt.NDArray[np.bool_]:
    """The good rows whose fever requirement was met by the recorded flag alone (fever state masked)."""
    return (np.asarray(graded.fever) == FeverState.MASKED) & ~problems.bad_mask(n)


def _recorded_masking_reasons(
    reasons: npt.NDArray[np.object_], flag_masked: npt.NDArray[np.bool_]
) -> npt.NDArray[np.object_]:
    out = np.asarray(reasons, dtype=object).copy()
    for i in np.flatnonzero(flag_masked):
        out[i] = f"{out[i]} [{RECORDED_MASKING_LABEL}]"
    return out


def _recorded_masking_note(flag_masked: npt.NDArray[np.bool_]) -> tuple[str, ...]:
    n = int(flag_masked.sum())
    if not n:
        return ()
    rows = "row" if n == 1 else "rows"
    return (
        f"{n} {rows} graded as fever masked from the recorded fever_masked flag alone, not checked for an "
        "earlier CRS fever; the episode grade (cartrial grade episodes, the analysis) under its default "
        "fever masking (after_fever; the analysis's crs_masking) counts the flag only after a fever recorded "
        "after the infusion and may be lower (D-19.1308, D-19.1355, D-19.1356)",
    )


def derive_crs_grades(
    frame: pd.DataFrame,
    options: CrsOptions | None = None,
    *,
    legacy: bool = False,
    keep_going: bool = False,
    file: FileName = "crs_assessments",
) -> Result:
    """ASTCT 2019 CRS grade of each assessment (Lee DW et al., BBMT 2019;25:625, CRS table), each row on its
    own: the input rows plus ``grade``, ``grade_reason``, ``scale``, ``temperature_c_used`` (°C),
    ``fever``, ``hypotension_grade``, ``hypoxia_grade`` and the option values; with ``legacy=True`` also
    the Lee 2014 and CARTOX regrading (``lee2014_grade``, ``cartox_grade`` and reasons) where the inputs
    allow. A second assessment of a subject at the same time, identical or not, is a problem of its row
    (`cartrial.grading.check_duplicate_assessments`).

    >>> import pandas as pd
    >>> rows = pd.DataFrame({"subject_id": ["S1", "S1"],
    ...     "assessed_at": ["2024-01-11T08:00Z", "2024-01-12T08:00Z"], "temperature_c": [38.9, 37.0],
    ...     "hypotension": [False, False], "fever_masked": [False, True], "crs_resolved": [False, True],
    ...     "vasopressors": [0, 0], "vasopressin": [False, False], "oxygen": ["nasal_cannula", "none"],
    ...     "oxygen_l_min": [4, 0]})
    >>> derive_crs_grades(rows).table["grade"].tolist()
    [2, 0]
    """
    opts = options or CrsOptions()
    _check_columns(frame, CRS_REQUIRED, CRS_ONE_OF, file)
    problems = RowProblems(file)
    inputs = prepare_crs_inputs(frame, problems, options=opts)
    check_duplicate_assessments(frame, "assessed_at", problems)
    graded = grade_crs_inputs(inputs, opts)
    flag_masked = _flag_masked_rows(graded, problems, len(frame))
    columns: dict[str, Any] = {
        "grade": graded.grade.astype(int),
        "grade_reason": _recorded_masking_reasons(graded.rule_texts(), flag_masked),
        "scale": CRS_SCALE,
        "temperature_c_used": np.round(inputs.temperature_c, 2),
        "fever": [FeverState(int(v)).name.lower() for v in graded.fever],
        "hypotension_grade": graded.hypotension_grade.astype(int),
        "hypoxia_grade": graded.hypoxia_grade.astype(int),
        **dict(opts.as_dict().items()),
    }
    if legacy:
        bad = problems.bad_mask(len(frame))
        for scale, prefix in ((LegacyScale.LEE_2014, "lee2014"), (LegacyScale.CARTOX, "cartox")):
            grades: list[int | None] = []
            reasons: list[str] = []
            for i in range(len(frame)):
                if bad[i]:
                    grades.append(None)
                    reasons.append("")
                    continue
                result = grade_legacy_crs(_legacy_observation(inputs, i), scale)
                grades.append(result.grade)
                reasons.append(result.rule)
            columns[f"{prefix}_grade"] = pd.array(grades, dtype="Int64")
            columns[f"{prefix}_reason"] = reasons
    problems.raise_if_any(keep_going)
    table = _with_results(frame, problems, _columns_frame(columns), keep_going)
    return Result(
        table=table,
        derivation="cartrial.grading.derive_crs_grades",
        options=opts,
        sources=(CRS_SOURCE,),
        units={"temperature_c_used": "°C"},
        notes=(*problems.notes, *_recorded_masking_note(flag_masked)),
        problems=_row_problems(problems, keep_going),
    )


# ---------------------------------------------------------------- ICANS


def derive_icans_grades(
    frame: pd.DataFrame, *, keep_going: bool = False, file: FileName = "icans_assessments"
) -> Result:
    """ASTCT 2019 ICANS grade of each assessment (Lee DW et al., BBMT 2019;25:625; PMC9327779 Table 2): the
    input rows plus ``ice_score`` (0-10, blank when not assessable), ``grade``, ``grade_reason``, ``scale``
    and the grade of each domain (``ice_grade``, ``consciousness_grade``, ``seizure_grade``,
    ``motor_grade``, ``cerebral_edema_grade``).

    >>> import pandas as pd
    >>> rows = pd.DataFrame({"subject_id": ["S1"], "assessed_at": ["2024-01-13T08:00Z"],
    ...     "consciousness": ["awakens_spontaneously"], "seizure": ["none"], "motor": ["none"],
    ...     "cerebral_edema": ["none"], "ice_total": [6]})
    >>> derive_icans_grades(rows).table[["ice_score", "grade"]].values.tolist()
    [[6, 2]]
    """
    _check_columns(frame, ICANS_REQUIRED, ICANS_ONE_OF, file)
    problems = RowProblems(file)
    inputs = parse_icans_frame(text_frame(frame), problems)
    check_duplicate_assessments(frame, "assessed_at", problems)
    graded = _grade_icans_inputs(inputs)
    columns: dict[str, Any] = {
        "ice_score": pd.array([None if np.isnan(v) else int(v) for v in inputs.ice_total], dtype="Int64"),
        "grade": graded.grade.astype(int),
        "grade_reason": graded.rule_texts(),
        "scale": ICANS_SCALE,
        **{f"{d.lower()}_grade": graded.domain_grades[d].astype(int) for d in DOMAINS},
    }
    problems.raise_if_any(keep_going)
    table = _with_results(frame, problems, _columns_frame(columns), keep_going)
    return Result(
        table=table,
        derivation="cartrial.grading.derive_icans_grades",
        options={},
        sources=(ICANS_SOURCE,),
        notes=tuple(problems.notes),
        problems=_row_problems(problems, keep_going),
    )


def _grade_icans_inputs(inputs: IcansInputs) -> Any:
    return grade_icans_arrays(
        ice_total=inputs.ice_total,
        consciousness_code=inputs.consciousness_code,
        seizure_code=inputs.seizure_code,
        motor_code=inputs.motor_code,
        edema_code=inputs.edema_code,
        consciousness_other_cause=inputs.consciousness_other_cause,
    )


# ---------------------------------------------------------------- labs


def _parse_labs(
    frame: pd.DataFrame, file: FileName, infusions: Mapping[str, datetime] | None = None
) -> tuple[RowProblems, LabInputs, tuple[str, ...]]:
    _check_columns(frame, LABS_REQUIRED, (), file)
    problems = RowProblems(file)
    inputs = parse_labs_frame(text_frame(frame), problems)
    if infusions is not None:
        moments = _site_moments(frame, "collected_at", inputs.collected_at, inputs.subject_id, infusions)
        inputs = replace(inputs, collected_at=moments)
    check_duplicate_assessments(frame, "collected_at", problems, key=("subject_id", "analyte"))
    notes = check_lab_plausibility(inputs, problems.bad_mask(len(frame)), file)
    return problems, inputs, notes


def _study_day_columns(
    inputs: LabInputs, bad: npt.NDArray[np.bool_], infusions: Mapping[str, datetime]
) -> dict[str, Any]:
    """``study_day`` (calendar days from the infusion date) and ``collected_before_infusion`` of each row
    (blank on a bad row)."""
    days: list[int | None] = []
    before: list[bool | None] = []
    for i, (sid, moment) in enumerate(zip(inputs.subject_id, inputs.collected_at, strict=True)):
        infused = infusions.get(str(sid))
        if bad[i] or moment is None or infused is None:
            days.append(None)
            before.append(None)
            continue
        days.append(calendar_days(moment, infused))
        before.append(bool(moment < infused))
    return {
        "study_day": pd.array(days, dtype="Int64"),
        "collected_before_infusion": pd.array(before, dtype="boolean"),
    }


def derive_lab_grades(
    frame: pd.DataFrame,
    *,
    ctcae_version: str = "5.0",
    lln_required_for_higher_grades: bool = False,
    infusions: Infusions | None = None,
    keep_going: bool = False,
    file: FileName = "labs",
) -> Result:
    """CTCAE grade of each haematology result (NCI CTCAE v5.0 or v6.0, as encoded in pharmaverse admiral
    ``atoxgr_criteria_ctcv5``/``ctcv6``): the input rows plus ``term``, ``value_canonical`` and
    ``lln_canonical`` and ``uln_canonical`` (the optional `uln`, NaN without one; SDTM LBSTNRHI) in
    ``canonical_unit`` (10^9/L for counts, g/L for haemoglobin; each rounded to 6 decimals), ``grade``,
    ``grade_reason``, ``scale``. Implausible values in a valid unit (a unit slip such as ANC 3720 ×10^9/L)
    are warnings in `Result.notes` naming the row (`cartrial.grading.LAB_PLAUSIBLE_RANGES`); a second result
    of a subject and analyte at the same time, identical or not, is a problem of its row.

    With ``infusions`` (subject → infusion time, or a frame with `subject_id`, `infused_at`) each row also
    gets ``study_day`` (calendar days from the infusion date, day 0 = infusion day, as `derive_icaht`
    counts) and ``collected_before_infusion`` (collected before the infusion time: a baseline value); a
    subject without an infusion is a problem of its rows.

    >>> import pandas as pd
    >>> rows = pd.DataFrame({"subject_id": ["S1"], "collected_at": ["2024-01-15"], "analyte": ["neutrophils"],
    ...     "value": [0.4], "unit": ["10^9/L"], "lln": [1.8]})
    >>> derive_lab_grades(rows).table[["term", "grade"]].values.tolist()
    [['Neutrophil count decreased', 4]]
    >>> infused = pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2024-01-10T09:00Z"]})
    >>> graded = derive_lab_grades(rows, infusions=infused).table
    >>> graded[["study_day", "collected_before_infusion"]].values.tolist()
    [[5, False]]
    """
    times = None if infusions is None else _infusions(infusions)
    return _lab_grades(
        frame,
        _parse_labs(frame, file, times),
        times,
        ctcae_version=ctcae_version,
        lln_required_for_higher_grades=lln_required_for_higher_grades,
        keep_going=keep_going,
    )


def _lab_grades(
    frame: pd.DataFrame,
    parsed: tuple[RowProblems, LabInputs, tuple[str, ...]],
    times: Mapping[str, datetime] | None,
    *,
    ctcae_version: str,
    lln_required_for_higher_grades: bool,
    keep_going: bool,
) -> Result:
    """`derive_lab_grades` of `frame` parsed by `_parse_labs` (`parsed`, its problems completed here), with
    the infusions `times` (None: no study-day columns, and the parsed ``collected_at`` is not read): a caller
    that needs the parsed rows too parses them once (`derive_graded_events`)."""
    problems, inputs, notes = parsed
    if times is not None:
        _check_subjects(inputs.subject_id, times, problems)
    # an LLN of 0 bounds no CTCAE grade ("< LLN"): the form keeps the row (a count for ICAHT), grading
    # names it as not gradable at its row and field, as `grade_lab` refuses it (D-19.959)
    zero_lln = ~problems.bad_mask(len(frame)) & ~lln_gradable(inputs.lln_canonical)
    lln_cells = text_frame(frame)["lln"].to_numpy(dtype=object)
    for i in np.flatnonzero(zero_lln):
        problems.add(i, "lln", lln_cells[i], LLN_NOT_GRADABLE, LLN_GRADABLE_ALLOWED)
    bad = problems.bad_mask(len(frame))
    graded = grade_labs_arrays(
        inputs.analyte_code,
        np.where(bad, 0.0, inputs.value_canonical),
        np.where(bad, 0.0, inputs.lln_canonical),
        ctcae_version=ctcae_version,
        lln_required_for_higher_grades=lln_required_for_higher_grades,
        life_threatening_anemia=inputs.life_threatening_anemia,
        units=inputs.unit,
    )
    canonical_unit = [
        "g/L" if ANALYTES[int(c)].value == "hemoglobin" else "10^9/L" for c in inputs.analyte_code
    ]
    columns: dict[str, Any] = {
        "term": graded.term,
        "value_canonical": np.round(inputs.value_canonical, 6),
        "lln_canonical": np.round(inputs.lln_canonical, 6),
        "uln_canonical": np.round(
            np.full(len(frame), np.nan) if inputs.uln_canonical is None else inputs.uln_canonical, 6
        ),
        "canonical_unit": canonical_unit,
        "grade": graded.grade.astype(int),
        "grade_reason": graded.rule,
        "scale": f"CTCAE v{ctcae_version}",
        "lln_required_for_higher_grades": lln_required_for_higher_grades,
    }
    if times is not None:
        columns |= _study_day_columns(inputs, bad, times)
    problems.raise_if_any(keep_going)
    table = _with_results(frame, problems, _columns_frame(columns), keep_going)
    return Result(
        table=table,
        derivation="cartrial.grading.derive_lab_grades",
        options={
            "ctcae_version": ctcae_version,
            "lln_required_for_higher_grades": lln_required_for_higher_grades,
        },
        sources=(CTCAE_SOURCE_V5 if ctcae_version == "5.0" else CTCAE_SOURCE_V6,),
        units={
            "value_canonical": "canonical_unit",
            "lln_canonical": "canonical_unit",
            "uln_canonical": "canonical_unit",
        },
        notes=(*notes, *problems.notes),
        problems=_row_problems(problems, keep_going),
    )


# ---------------------------------------------------------------- episodes


def _crs_episode_summaries(
    frame: pd.DataFrame,
    infusions: Mapping[str, datetime],
    therapies: Therapies,
    options: CrsOptions,
    episode_options: EpisodeOptions,
    keep_going: bool,
    file: FileName,
    masking: RowMasking = RowMasking.AFTER_FEVER,
) -> tuple[CrsEpisodeResult, RowProblems, CrsInputs]:
    _check_columns(frame, CRS_REQUIRED, CRS_ONE_OF, file)
    problems = RowProblems(file)
    inputs = prepare_crs_inputs(frame, problems, options=options)
    moments = _site_moments(
        frame, "assessed_at", inputs.assessed_at, inputs.subject_id, infusions, infusion_day_not_before=True
    )
    inputs = replace(inputs, assessed_at=moments)
    check_duplicate_assessments(frame, "assessed_at", problems)
    _check_subjects(inputs.subject_id, infusions, problems)
    records = _therapies(therapies)
    problems.raise_if_any(keep_going)
    good = ~problems.bad_mask(len(frame))
    result = crs_episodes(
        inputs,
        dict(infusions),
        good=good,
        therapies=records,
        options=options,
        episode_options=episode_options,
        masking=masking,
    )
    return result, problems, inputs


def _icans_episode_summaries(
    frame: pd.DataFrame,
    infusions: Mapping[str, datetime],
    therapies: Therapies,
    episode_options: EpisodeOptions,
    keep_going: bool,
    file: FileName,
) -> tuple[list[EpisodeSummary], RowProblems, npt.NDArray[np.object_]]:
    _check_columns(frame, ICANS_REQUIRED, ICANS_ONE_OF, file)
    problems = RowProblems(file)
    inputs = parse_icans_frame(text_frame(frame), problems)
    # a date without a time on the infusion's site day is on day 0, not before the infusion (D-19.1400)
    moments = _site_moments(
        frame, "assessed_at", inputs.assessed_at, inputs.subject_id, infusions, infusion_day_not_before=True
    )
    inputs = replace(inputs, assessed_at=moments)
    check_duplicate_assessments(frame, "assessed_at", problems)
    _check_subjects(inputs.subject_id, infusions, problems)
    problems.raise_if_any(keep_going)
    good = ~problems.bad_mask(len(frame))
    records = _therapies(therapies)
    episodes = icans_episodes(
        inputs, dict(infusions), good=good, therapies=records, episode_options=episode_options
    )
    return episodes, problems, inputs.subject_id


def _episode_result(
    episodes: list[EpisodeSummary],
    problems: RowProblems,
    subject_ids: npt.NDArray[np.object_],
    keep_going: bool,
    derivation: str,
    options: dict[str, Any],
    sources: tuple[str, ...],
) -> Result:
    table = episode_table(episodes)
    if keep_going and problems:
        table = _with_excluded_rows(table, _excluded_rows(problems, subject_ids))
    return Result(
        table=table,
        derivation=derivation,
        options=options,
        sources=sources,
        units={"onset_day": "day", "onset_hours": "h", "max_grade_day": "day", "duration_days": "day"},
        problems=_row_problems(problems, keep_going),
    )


def derive_crs_episodes(
    frame: pd.DataFrame,
    infusions: Infusions,
    *,
    therapies: Therapies = None,
    options: CrsOptions | None = None,
    episode_options: EpisodeOptions | None = None,
    keep_going: bool = False,
    file: FileName = "crs_assessments",
    masking: RowMasking | str = RowMasking.AFTER_FEVER,
) -> Result:
    """CRS episodes of each subject (one row per episode; ``episode`` 0 when a subject has none): onset,
    maximum grade and when, resolution and its basis, duration, fever masking, therapies given, and
    pre-infusion fever (assessments before day 0 never open an episode). Rules:
    `cartrial.grading.crs_episodes`
    (ASTCT 2019 grades; episode rules in docs/grading.md). `infusions`: subject → infusion time, or a frame
    with `subject_id`, `infused_at`; `therapies`: records or a therapies frame (masking drugs, summaries).

    >>> import pandas as pd
    >>> rows = pd.DataFrame({"subject_id": ["S1"] * 3,
    ...     "assessed_at": ["2024-01-11T08:00Z", "2024-01-12T08:00Z", "2024-01-13T08:00Z"],
    ...     "temperature_c": [38.6, 39.0, 36.9], "hypotension": [False, True, False],
    ...     "fever_masked": [False] * 3, "vasopressors": [0, 0, 0], "vasopressin": [False] * 3,
    ...     "oxygen": ["none"] * 3, "oxygen_l_min": [0, 0, 0]})
    >>> infused = pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2024-01-10T09:00Z"]})
    >>> derive_crs_episodes(rows, infused).table[["max_grade", "onset_day", "duration_days"]].values.tolist()
    [[2, 0.958, 2.0]]
    """
    return derive_crs_episodes_and_grades(
        frame,
        infusions,
        therapies=therapies,
        options=options,
        episode_options=episode_options,
        masking=masking,
        keep_going=keep_going,
        file=file,
    )[0]


def derive_crs_episodes_and_grades(
    frame: pd.DataFrame,
    infusions: Infusions,
    *,
    therapies: Therapies = None,
    options: CrsOptions | None = None,
    episode_options: EpisodeOptions | None = None,
    masking: RowMasking | str = RowMasking.AFTER_FEVER,
    keep_going: bool = False,
    file: FileName = "crs_assessments",
) -> tuple[Result, Result]:
    """`derive_crs_episodes` and `derive_crs_assessment_grades` of one run of the episode grader (the
    analysis derives both; one engine run, so the row grades are those the episodes are built from)."""
    opts = options or CrsOptions()
    ep_opts = episode_options or EpisodeOptions()
    row_masking = enum_member(RowMasking, masking, "masking")
    result, problems, inputs = _crs_episode_summaries(
        frame, _infusions(infusions), therapies, opts, ep_opts, keep_going, file, row_masking
    )
    all_options = {**opts.as_dict(), **ep_opts.as_dict(), "masking": row_masking.value}
    episodes = _episode_result(
        result.episodes,
        problems,
        inputs.subject_id,
        keep_going,
        "cartrial.grading.derive_crs_episodes",
        all_options,
        (CRS_SOURCE, EPISODE_SOURCE),
    )
    before = result.assessment_before_infusion
    grade = pd.array(np.asarray(result.assessment_grade).astype(int), dtype="Int64")
    grade[before] = pd.NA
    columns: dict[str, Any] = {
        "grade": grade,
        "grade_reason": result.assessment_rule,
        "scale": CRS_SCALE,
        "fever_masked_used": np.asarray(result.assessment_masked, dtype=bool),
        "masking": row_masking.value,
        "episode": result.assessment_episode.astype(int),
        **dict(opts.as_dict().items()),
        **ep_opts.as_dict(),
    }
    table = _with_results(frame, problems, _columns_frame(columns), keep_going)
    rows = Result(
        table=table,
        derivation="cartrial.grading.derive_crs_assessment_grades",
        options=all_options,
        sources=(CRS_SOURCE, EPISODE_SOURCE),
        notes=tuple(problems.notes),
        problems=_row_problems(problems, keep_going),
    )
    return episodes, rows


def derive_crs_assessment_grades(
    frame: pd.DataFrame,
    infusions: Infusions,
    *,
    therapies: Therapies = None,
    options: CrsOptions | None = None,
    episode_options: EpisodeOptions | None = None,
    masking: RowMasking | str = RowMasking.AFTER_FEVER,
    keep_going: bool = False,
    file: FileName = "crs_assessments",
) -> Result:
    """ASTCT 2019 CRS grade of each assessment row as its episode grades it: the input rows plus ``grade``,
    ``grade_reason``, ``scale``, ``fever_masked_used`` (the masking the grade used), ``masking`` (the
    option) and ``episode`` (the number of the subject's CRS episode whose span holds the row, as in
    `derive_crs_episodes`; 0 in none).

    `masking` (`RowMasking`, D-19.1355): ``after_fever`` (default) takes the grades `crs_episodes` builds its
    episodes from (one rule, `cartrial.grading.episodes._crs_effective_masking`: a ``fever_masked`` flag or a
    masking drug counts only after a CRS fever recorded after the infusion, D-19.1308), so with
    ``grading_unit=assessment`` an episode's ``max_grade`` is the largest ``grade`` of its rows, and with
    ``day`` (a day combines its rows' worst values) it is at least that. ``recorded``: the episode grader's
    rule with each row's flag masking as recorded, no earlier CRS fever needed (the episodes of
    `derive_crs_episodes` with the same ``masking`` are built from these grades; a row masked by its flag
    with no fever before it is labelled in ``grade_reason``, D-19.1356). An afebrile flagged row whose flag
    did not mask says so in ``grade_reason`` (D-19.1357). A row before the subject's infusion is not CRS:
    ``grade`` blank, ``grade_reason`` "before the infusion: not CRS", ``episode`` 0 (D-19.1356). Other
    arguments as `derive_crs_episodes`.

    >>> import pandas as pd
    >>> rows = pd.DataFrame({"subject_id": ["S1"] * 2,
    ...     "assessed_at": ["2024-01-11T08:00Z", "2024-01-12T08:00Z"], "temperature_c": [37.0, 37.1],
    ...     "hypotension": [True, False], "fever_masked": [True, True], "vasopressors": [0, 0],
    ...     "vasopressin": [False, False], "oxygen": ["none", "facemask"], "oxygen_l_min": [0, None]})
    >>> infused = {"S1": pd.Timestamp("2024-01-10T09:00Z").to_pydatetime()}
    >>> derive_crs_assessment_grades(rows, infused).table["grade"].tolist()  # no fever ever recorded
    [0, 0]
    >>> derive_crs_assessment_grades(rows, infused, masking="recorded").table["grade"].tolist()
    [2, 3]
    """
    return derive_crs_episodes_and_grades(
        frame,
        infusions,
        therapies=therapies,
        options=options,
        episode_options=episode_options,
        masking=masking,
        keep_going=keep_going,
        file=file,
    )[1]


def derive_icans_episodes(
    frame: pd.DataFrame,
    infusions: Infusions,
    *,
    therapies: Therapies = None,
    episode_options: EpisodeOptions | None = None,
    keep_going: bool = False,
    file: FileName = "icans_assessments",
) -> Result:
    """ICANS episodes of each subject (ASTCT 2019 ICANS grades; an episode ends at the first grade-0 unit;
    assessments before day 0 never open one). Arguments as `derive_crs_episodes`.

    >>> import pandas as pd
    >>> rows = pd.DataFrame({"subject_id": ["S1"] * 2,
    ...     "assessed_at": ["2024-01-15T08:00Z", "2024-01-17T08:00Z"],
    ...     "consciousness": ["alert"] * 2, "seizure": ["none"] * 2, "motor": ["none"] * 2,
    ...     "cerebral_edema": ["none"] * 2, "ice_total": [8, 10]})
    >>> infused = {"S1": pd.Timestamp("2024-01-10T09:00Z").to_pydatetime()}
    >>> derive_icans_episodes(rows, infused).table[["max_grade", "resolution_basis"]].values.tolist()
    [[1, 'first grade 0']]
    """
    ep_opts = episode_options or EpisodeOptions()
    episodes, problems, subject_ids = _icans_episode_summaries(
        frame, _infusions(infusions), therapies, ep_opts, keep_going, file
    )
    return _episode_result(
        episodes,
        problems,
        subject_ids,
        keep_going,
        "cartrial.grading.derive_icans_episodes",
        ep_opts.as_dict(),
        (ICANS_SOURCE, EPISODE_SOURCE),
    )


# ---------------------------------------------------------------- ICAHT


def _icaht_table(
    inputs: LabInputs,
    good: npt.NDArray[np.bool_],
    infusions: Mapping[str, datetime],
    options: IcahtOptions,
    new_therapy_days: Mapping[str, int] | None = None,
    follow_up_days: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    wanted = {Analyte.NEUTROPHILS: 1000.0, Analyte.PLATELETS: 1.0}  # ANC in cells/µL, platelets in 10^9/L
    series: dict[tuple[str, Analyte], tuple[list[int], list[float]]] = {}
    # the whole column converted once (one `decimal_shift` per factor, D-19.849), not row by row
    codes = np.asarray(inputs.analyte_code, dtype=int)
    factors = np.full(len(codes), np.nan)
    for analyte, factor in wanted.items():
        factors[codes == ANALYTES.index(analyte)] = factor
    converted = to_canonical(np.asarray(inputs.value_canonical, dtype=float), factors)
    for i in np.flatnonzero(good):
        analyte = ANALYTES[int(inputs.analyte_code[i])]
        if analyte not in wanted:
            continue
        sid = str(inputs.subject_id[i])
        moment = inputs.collected_at[i]
        assert moment is not None
        days, values = series.setdefault((sid, analyte), ([], []))
        days.append(calendar_days(moment, infusions[sid]))
        values.append(float(converted[i]))
    censor = new_therapy_days or {}
    followed = follow_up_days or {}
    rows = []
    for sid in sorted({sid for sid, _ in series}):
        row: dict[str, Any] = {"subject_id": sid}
        anc = series.get((sid, Analyte.NEUTROPHILS))
        if anc is not None:
            n = grade_icaht(
                *anc, options=options, censor_day=censor.get(sid), follow_up_day=followed.get(sid)
            )
            row |= {
                "early_grade": n.early_grade,
                "early_reason": n.early_rule,
                "early_days_anc_le_500": n.early_days_anc_le_500,
                "early_days_anc_le_100": n.early_days_anc_le_100,
                "early_lower_bound": n.early_lower_bound,
                "late_grade": n.late_grade,
                "late_reason": n.late_rule,
                "late_lower_bound": n.late_lower_bound,
                "late_nadir_per_ul": n.late_nadir_per_ul,
                "n_anc_values": len(anc[0]),
            }
        plt = series.get((sid, Analyte.PLATELETS))
        if plt is not None:
            t = grade_t_icaht(
                *plt, options=options, censor_day=censor.get(sid), follow_up_day=followed.get(sid)
            )
            row |= {
                "t_early_grade": t.early_grade,
                "t_early_reason": t.early_rule,
                "t_late_grade": t.late_grade,
                "t_late_reason": t.late_rule,
                "t_late_lower_bound": t.late_lower_bound,
                "n_platelet_values": len(plt[0]),
            }
        rows.append({**row, "scale": ICAHT_SCALE, **options.as_dict()})
    frame = pd.DataFrame(rows)
    for column in ("early_grade", "late_grade", "t_early_grade", "t_late_grade"):
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    return frame


def derive_icaht(
    frame: pd.DataFrame,
    infusions: Infusions,
    options: IcahtOptions | None = None,
    *,
    new_therapy_days: Mapping[str, int] | None = None,
    follow_up_days: Mapping[str, int] | None = None,
    keep_going: bool = False,
    file: FileName = "labs",
) -> Result:
    """Early and late ICAHT (neutrophils) and T-ICAHT (platelets) per subject from a haematology results
    frame (Rejeski K et al., EHA/EBMT consensus, Blood 2023;142:865-877; `cartrial.grading.grade_icaht`).
    Day 0 is the infusion date; ``new_therapy_days`` (subject → study day of a new therapy) censors every
    window from that day on, the early one too (a new therapy on day 0 censors every count, D-19.1120);
    ``follow_up_days`` (subject → day of the last follow-up: death, loss or the cut-off) ends the early
    window when the counts stop before it (`grade_icaht`'s `follow_up_day`, D-19.717). A day of either
    before day 0 (or not a whole number) is a problem naming the argument and the subject; with
    ``keep_going`` that subject is left out and named in `Result.problems`, the others are graded
    (D-19.1123). Other analytes are ignored.

    >>> import pandas as pd
    >>> labs = pd.DataFrame({"subject_id": ["S1"] * 2, "collected_at": ["2024-01-17", "2024-01-24"],
    ...     "analyte": ["neutrophils"] * 2, "value": [0.4, 2.0], "unit": ["10^9/L"] * 2, "lln": [1.8] * 2})
    >>> infused = pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2024-01-10"]})
    >>> # day 7: 400/µL, day 14: 2000/µL; interpolated, only day 7 is ≤ 500/µL
    >>> derive_icaht(labs, infused).table[["early_grade", "early_days_anc_le_500"]].values.tolist()
    [[1, 1]]
    """
    opts = options or IcahtOptions()
    times = _infusions(infusions)
    problems, inputs, notes = _parse_labs(frame, file, times)
    _check_subjects(inputs.subject_id, times, problems)
    problems.raise_if_any(keep_going)
    day_problems = _subject_day_problems(new_therapy_days=new_therapy_days, follow_up_days=follow_up_days)
    if day_problems and not keep_going:
        raise InputError([p for _, p in day_problems])
    good = ~problems.bad_mask(len(frame))
    if day_problems:  # keep_going: those subjects are left out, named in the problems
        left_out = sorted({sid for sid, _ in day_problems})
        good &= ~np.isin(np.asarray(inputs.subject_id, dtype=object).astype(str), left_out)
        notes = (
            *notes,
            f"{len(left_out)} subject(s) not graded: a day of theirs before day 0 (see problems)",
        )
    table = _icaht_table(inputs, good, times, opts, new_therapy_days, follow_up_days)
    if keep_going and problems:
        table = _with_excluded_rows(table, _excluded_rows(problems, inputs.subject_id))
    return Result(
        table=table,
        derivation="cartrial.grading.derive_icaht",
        options=opts,
        sources=(ICAHT_SOURCE, T_ICAHT_SOURCE),
        units={"late_nadir_per_ul": "cells/µL"},
        notes=notes,
        problems=(*(p for _, p in day_problems), *_row_problems(problems, keep_going)),
    )


_STUDY_DAY = Allowed(low=0, integer=True, unit="days")
_RECOVERY_DAYS = Allowed(low=1, high=100, integer=True, unit="days")
"""Days with a value below the lab grade threshold that end a run (D-19.1309; ICAHT option H2's range)."""


def _subject_day_problems(**by_name: Mapping[str, int] | None) -> list[tuple[str, Problem]]:
    """The problems of `derive_icaht`'s per-subject days (`new_therapy_days`, `follow_up_days`: subject →
    study day), each naming the argument and the subject, value-free: a day that is not a whole number ≥ 0.
    A day before day 0 is no therapy subsequent to the product and no follow-up of it (D-19.1120, D-19.717);
    the engines would refuse it as an unlocated `censor_day`/`follow_up_day` for every subject
    (D-19.1123). Pairs of (subject, problem)."""
    found: list[tuple[str, Problem]] = []
    for name, days in by_name.items():
        for sid, given in (days or {}).items():
            day: Any = given  # a notebook's mapping may hold anything
            whole = int(day) if isinstance(day, float) and day.is_integer() else day
            problem = _STUDY_DAY.problem(name, whole)
            if problem is not None:
                message = (
                    "before day 0 (the infusion)" if problem.message == "out of range" else problem.message
                )
                allowed = "a study day ≥ 0 (whole days)"
                found.append(
                    (str(sid), Problem(message, field=name, record=f"subject {sid}", allowed=allowed))
                )
    return found


# ---------------------------------------------------------------- graded events


def derive_graded_events(
    infusions: Infusions,
    *,
    crs: pd.DataFrame | None = None,
    icans: pd.DataFrame | None = None,
    labs: pd.DataFrame | None = None,
    therapies: Therapies = None,
    options: CrsOptions | None = None,
    episode_options: EpisodeOptions | None = None,
    ctcae_version: str = "5.0",
    min_lab_grade: int = 3,
    pre_treatment: Sequence[bool] | npt.NDArray[np.bool_] | None = None,
    lab_min_recovery_days: int = 3,
    masking: RowMasking | str = RowMasking.AFTER_FEVER,
) -> Result:
    """The graded events the DLT rules evaluate (`cartrial.protocol.dlt.GradedEvent`): one per CRS and ICANS
    episode of grade ≥ 1, and one per run of haematology results at CTCAE grade ≥ `min_lab_grade`
    (`cartrial.grading.lab_runs`), sorted by subject and onset day (days after the infusion).

    `pre_treatment` (one per `labs` row, required with `labs`, D-19.1197): the row was collected before the
    study's treatment-emergent period (a baseline value; the analysis's
    `cartrial.analysis.safety.pre_treatment`, D-19.710). A run of results that begins on such a row is
    pre-existing and is not split at the infusion (D-19.1195) until a result worse than the baseline grade
    (the last such row's), from which the run is
    treatment-emergent (D-19.1196); the event's ``pre_existing`` says which. All False: every value is on
    treatment and every run open at the infusion is split (D-19.1191). `lab_min_recovery_days` (default 3,
    ICAHT option H2): a run ends only at results below `min_lab_grade` on that many different days in a row;
    a shorter dip stays inside the run (D-19.1309; 1 = every value below ends it). `masking` (`RowMasking`,
    D-19.1356, D-19.1371): the CRS fever-masking rule of the CRS episodes, as `derive_crs_episodes` takes it
    (the analysis passes ``analysis.options.crs_masking``), so an event is the episode the study reports.

    >>> import pandas as pd
    >>> labs = pd.DataFrame({"subject_id": ["S1"] * 2, "collected_at": ["2024-01-12", "2024-01-20"],
    ...     "analyte": ["platelets"] * 2, "value": [20, 80], "unit": ["10^9/L"] * 2, "lln": [150] * 2})
    >>> infused = pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2024-01-10"]})
    >>> result = derive_graded_events(infused, labs=labs, pre_treatment=[False, False])
    >>> result.table[["term", "grade", "duration_days", "pre_existing"]].values.tolist()
    [['Platelet count decreased', 4, 8.0, False]]
    """
    times = _infusions(infusions)
    records = _therapies(therapies)
    opts = options or CrsOptions()
    ep_opts = episode_options or EpisodeOptions()
    check_argument("lab_min_recovery_days", lab_min_recovery_days, _RECOVERY_DAYS)
    row_masking = enum_member(RowMasking, masking, "masking")
    events = []
    if crs is not None:
        crs_eps = _crs_episode_summaries(
            crs, times, records, opts, ep_opts, False, "crs_assessments", row_masking
        )[0]
        events += episode_events(crs_eps.episodes)
    if icans is not None:
        icans_eps = _icans_episode_summaries(icans, times, records, ep_opts, False, "icans_assessments")[0]
        events += episode_events(icans_eps)
    if labs is not None:
        if pre_treatment is None or len(pre_treatment) != len(labs):
            # no silent default: whether a run is treatment-emergent depends on it (D-19.1197)
            raise InputError(
                Problem(
                    "one pre_treatment flag per labs row is required",
                    field="pre_treatment",
                    allowed=f"{len(labs)} flags (True: collected before the treatment-emergent period, e.g. "
                    "cartrial.analysis.safety.pre_treatment; all False: every value on treatment)",
                )
            )
        # parsed once (with the infusions: the site moments the runs need), graded from that parse as
        # `derive_lab_grades(labs, ctcae_version=ctcae_version)` grades it (no study-day columns)
        parsed = _parse_labs(labs, "labs", times)
        graded = _lab_grades(
            labs,
            parsed,
            None,
            ctcae_version=ctcae_version,
            lln_required_for_higher_grades=False,
            keep_going=False,
        )
        inputs = parsed[1]
        runs = lab_runs(
            inputs.subject_id,
            inputs.collected_at,
            inputs.analyte_code,
            graded.table["grade"].to_numpy(dtype=np.int8),
            min_grade=min_lab_grade,
            ctcae_version=ctcae_version,
            split_at=times,  # a run open at the infusion is evaluated from day 0 (D-19.1191)
            pre_treatment=None if pre_treatment is None else np.asarray(pre_treatment, dtype=bool),
            min_recovery_days=int(lab_min_recovery_days),
        )
        events += lab_events(runs, times, scale=f"CTCAE v{ctcae_version}")
    table = pd.DataFrame([asdict(e) for e in events])
    if len(table):
        table = table.sort_values(["subject_id", "onset_day"])
    return Result(
        table=table,
        derivation="cartrial.grading.derive_graded_events",
        options={
            **opts.as_dict(),
            **ep_opts.as_dict(),
            "ctcae_version": ctcae_version,
            "min_lab_grade": min_lab_grade,
            "lab_min_recovery_days": int(lab_min_recovery_days),
            "masking": row_masking.value,
        },
        sources=(CRS_SOURCE, ICANS_SOURCE, CTCAE_SOURCE_V5 if ctcae_version == "5.0" else CTCAE_SOURCE_V6),
        units={"onset_day": "day", "duration_days": "day", "ongoing_at_day": "day", "graded_to_day": "day"},
    )


__all__ = [
    "crs_assessment_masked",
    "derive_crs_assessment_grades",
    "derive_crs_episodes",
    "derive_crs_episodes_and_grades",
    "derive_crs_grades",
    "derive_graded_events",
    "derive_icaht",
    "derive_icans_episodes",
    "derive_icans_grades",
    "derive_lab_grades",
    "episode_table",
    "grade_crs_inputs",
    "infusion_times",
    "new_therapy_days",
    "prepare_crs_inputs",
    "therapy_records",
]
