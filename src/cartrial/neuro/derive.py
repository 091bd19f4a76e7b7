"""Frame-level derivations of the neuro engine (the admiral idea: ``derive_*`` on a dataset).

Each ``derive_*`` function takes the input form as a `pandas.DataFrame` — typed (numbers, booleans,
datetimes) or all strings as read from a CSV file — or as CSV text, validates it (`cartrial.neuro.tables`),
computes with the engine and returns a `cartrial.results.Result`: ``.table`` (the input rows plus the
derived columns, or one row per subject / definition) and ``.metadata()`` (options, units, sources, notes,
the located problems of rows left out with ``keep_going``). The command line, the demo and a notebook call
these same functions, so each rule lives once.

Bad input raises `cartrial.errors.InputError` listing every bad row (spreadsheet row numbers: header = row
1), unless ``keep_going`` is true: then the good rows are derived and an ``error`` column names the problems
of the others.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from cartrial.allowed import Allowed, check_argument, choice_text, enum_member
from cartrial.columns import (
    BLANKS,
    TIME_ZONE_COLUMN,
    RowProblems,
    header_names,
    parse_datetime,
    parse_text,
    text_frame,
    typed_site_moment,
)
from cartrial.errors import ConfigurationError, InputError, OptionError, Problem
from cartrial.neuro.choices import choose
from cartrial.neuro.disability import (
    RELAPSE_EXCLUSION_ALLOWED,
    RELAPSE_EXCLUSION_DAYS,
    UNSCORED_BEFORE_CONFIRMATION,
    DisabilityOptions,
    DisabilityOutcome,
    MethodSwitch,
    baseline_excluded_days,
    confirmed_disability_change,
    edss_step_problem,
)
from cartrial.neuro.edss_scale import (
    AMBULATION_0_OR_1,
    FS_NAMES,
    EdssMethod,
    EdssOptions,
    KurtzkeGapOptions,
    edss_array,
    rule_codes,
)
from cartrial.neuro.edss_scale import SOURCE as EDSS_SOURCE
from cartrial.neuro.osis import OSIS_SOURCE
from cartrial.neuro.relapses import (
    KM_CI_METHOD,
    REGRESSION_TO_THE_MEAN_NOTE,
    ArrSummary,
    Attack,
    FollowUpMethod,
    KmMedianRule,
    OnsetPeriod,
    RateEstimate,
    RateRatio,
    RateRatioMethod,
    RelapseEpisode,
    RelapseFreeSurvival,
    RelapseOptions,
    ReverseKmEvents,
    SubjectFollowUp,
    annualised_relapse_rates,
    median_follow_up_text,
    merge_attacks,
    onsets_by_subject,
    pre_post_rate_ratio,
    qualifies,
    relapse_free_survival,
)
from cartrial.neuro.responders import (
    DEFAULT_RESPONDERS,
    NOT_EVALUABLE,
    RESPONDER_DEFINITIONS,
    FollowUpChoice,
    ResponderBaseline,
    ResponderSummary,
    ambulation_rank,
    baseline_and_follow_up,
    baseline_window,
    measures_at_baseline_and_follow_up,
    responder_rate,
)
from cartrial.neuro.tables import (
    LAST_ASSESSMENT_COLUMNS,
    AcuityTable,
    EdssTable,
    OsisTable,
    TimedWalkTable,
    check_one_edss_a_day,
    parse_birth_dates,
    parse_disease_onsets,
    parse_edss_table,
    parse_infusion_table,
    parse_last_assessments,
    parse_osis_table,
    parse_relapse_table,
    parse_timed_walk_table,
    parse_va_table,
    site_dates,
)
from cartrial.neuro.visual_acuity import (
    Notation,
    OffChartConvention,
    VisualAcuity,
    acuity_rank,
    format_snellen,
    visual_fs_from_acuity,
)
from cartrial.protocol.relapse_options import relapse_options_issues
from cartrial.results import Result
from cartrial.rounding import fixed, round_half_away
from cartrial.wording import count, verb

RATE_RATIO_SOURCE = (
    "post/pre rate ratio: exact conditional binomial interval (Clopper & Pearson 1934; Breslow & Day 1987 "
    "vol. II ch. 2), stratified by patient (Farrington 1995)"
)
#: A form as a DataFrame (typed or all strings) or as CSV text.
FrameLike: TypeAlias = pd.DataFrame | str

VA_SOURCE = "docs/science/neuro-outcomes.md §2 (logmar 0.1.0, visual-acuity-conversion 0.9.1)"
#: The notations a bare number can be read in (`derive_visual_acuity` ``numeric_notation``).
BARE_NUMBER_NOTATIONS: tuple[str, ...] = (
    Notation.DECIMAL.value,
    Notation.LOGMAR.value,
    Notation.ETDRS_LETTERS.value,
)
NUMERIC_NOTATION = Allowed(values=BARE_NUMBER_NOTATIONS)
"""What `derive_visual_acuity` ``numeric_notation`` allows when given (None: a bare number is refused)."""


def check_visual_acuity_options(
    convention: OffChartConvention | str, numeric_notation: Notation | str | None
) -> OffChartConvention:
    """The off-chart convention of `derive_visual_acuity`, its ``numeric_notation`` checked too: an
    `OptionError` names the argument (``convention``, ``numeric_notation``), the value and what is allowed;
    the command line calls this before reading the form and names its options instead.

    >>> check_visual_acuity_options("none", "percent")
    Traceback (most recent call last):
    ...
    cartrial.errors.OptionError: numeric_notation: not an allowed value (got 'percent'); allowed: ...
    """
    chosen = choose(OffChartConvention, convention, "convention")
    if numeric_notation is not None:
        NUMERIC_NOTATION.check("numeric_notation", str(getattr(numeric_notation, "value", numeric_notation)))
    return chosen


def as_frame(data: FrameLike) -> pd.DataFrame:
    """A form as a DataFrame with a plain 0..n-1 index: a DataFrame is returned as is (index reset), CSV
    text is read as strings (blank cells ''), as `cartrial.tabular.read_csv` reads a file.

    >>> as_frame("subject_id,edss\\nS1,3.5\\n").edss.tolist()
    ['3.5']
    """
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True)
    if isinstance(data, str):
        frame = pd.read_csv(
            io.StringIO(data), dtype=str, keep_default_na=False, na_filter=False, skipinitialspace=True
        )
        frame.columns = header_names([str(c) for c in frame.columns])  # as a CSV file's header (D-19.523)
        return frame.apply(lambda cells: cells.str.strip(BLANKS))
    raise TypeError(f"expected a DataFrame or CSV text, got {type(data).__name__}")


def _with_errors(frame: pd.DataFrame, problems: RowProblems, keep_going: bool) -> pd.DataFrame:
    return problems.with_error_column(frame, keep_going)


def _round(value: float | None, digits: int) -> float:
    """A reported acuity conversion, a tie half away from zero (the one rounding of reported numbers,
    D-19.289; D-19.687: logMAR 0.33 = 68.5 letters is 69, as 0.31 = 69.5 is 70)."""
    return np.nan if value is None else round_half_away(value, digits)


def _day(moment: datetime | date) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


# --- EDSS -----------------------------------------------------------------------------------------------


def _acuity_table(
    visual_acuity: FrameLike | AcuityTable,
    *,
    convention: OffChartConvention | str,
    cutoff: date | None,
    keep_going: bool,
    source: str,
    zones: Mapping[str, str] | None = None,
    problems: RowProblems | None = None,
) -> AcuityTable:
    """The acuity table of `visual_acuity` (a pre-built one as it is); `problems` (else a fresh one named
    `source`) collects the rows refused, raised unless `keep_going`, for the caller to pass on (D-19.778)."""
    if isinstance(visual_acuity, AcuityTable):
        read = visual_acuity.zones
        given = zones or {}

        def zone(of: Mapping[str, str], sid: str) -> str:
            return str(of.get(sid) or "").strip() or "UTC"  # a blank zone is UTC

        if (
            visual_acuity.assessed_day is not None
            and read is not None
            # only the table's own subjects' calendars matter
            and any(zone(read, s) != zone(given, s) for s in {str(s) for s in visual_acuity.subject_id})
        ):
            # its days were placed on another calendar than the engine's: both eyes and the EDSS visit would
            # be paired on two calendars (D-19.778)
            raise OptionError(
                Problem(
                    "the visual acuity table was read with other site time zones than the ones given",
                    file=source,
                    field="zones",
                    allowed="the same zones as parse_va_table was given, or the acuity form itself",
                )
            )
        return visual_acuity
    problems = problems if problems is not None else RowProblems(source)
    table = parse_va_table(
        text_frame(as_frame(visual_acuity)), problems, convention=convention, cutoff=cutoff, zones=zones
    )
    problems.raise_if_any(keep_going)
    return table


def _table_site_days(
    table: EdssTable | AcuityTable | OsisTable | TimedWalkTable, zones: Mapping[str, str] | None = None
) -> list[date | None]:
    """Each row's date on its subject's site calendar, as the table's reader placed it (`assessed_day`, the
    one rule `cartrial.columns.site_cell_date`: a date typed without a time as typed); a table built
    without it: each instant on the site's clock (`_site_day`; `zones`, UTC without) (D-19.607, D-19.778)."""
    if table.assessed_day is not None:
        return table.assessed_day
    return [
        None if moment is None else _site_day(moment, sid, zones or {})
        for sid, moment in zip(table.subject_id, table.assessed_at, strict=True)
    ]


def _acuity_pairs(
    acuity: AcuityTable, zones: Mapping[str, str] | None = None
) -> dict[tuple[str, date], dict[str, VisualAcuity]]:
    """Both eyes' acuity per subject and date, the date on the subject's site calendar (`_table_site_days`):
    an eye examined at 07:30 in Wuhan (23:30Z the day before) pairs with the other eye that morning
    (D-19.778)."""
    pairs: dict[tuple[str, date], dict[str, VisualAcuity]] = defaultdict(dict)
    refused = acuity.refused if acuity.refused is not None else np.zeros(len(acuity.subject_id), dtype=bool)
    for sid, day, eye, va, bad in zip(
        acuity.subject_id, _table_site_days(acuity, zones), acuity.eye, acuity.acuity, refused, strict=True
    ):
        # a refused row (the same eye again that day) never feeds the pairing, even under keep_going
        if day is not None and va is not None and eye and not bad:
            pairs[(str(sid), day)][str(eye)] = va
    return pairs


def _fill_visual_from_acuity(
    table: EdssTable, acuity: AcuityTable, problems: RowProblems, zones: Mapping[str, str] | None = None
) -> list[str]:
    """Fill blank visual FS from both eyes' acuity on the same date (docs/science/neuro-outcomes.md §1.2; a
    lower bound)."""
    eyes = _acuity_pairs(acuity, zones)
    source = ["recorded"] * len(table.subject_id)
    already_bad = problems.bad_mask(len(table.subject_id))
    days = _table_site_days(table)  # the EDSS visit's date on the site's calendar, as the acuity's (D-19.778)
    for i in range(len(table.subject_id)):
        day = days[i]
        if not np.isnan(table.fs[i, 0]) or day is None or already_bad[i]:
            continue
        found = eyes.get((str(table.subject_id[i]), day), {})
        if len(found) == 2:
            table.fs[i, 0] = visual_fs_from_acuity(found["OD"], found["OS"])
            source[i] = "derived_from_acuity"
        else:
            problems.add(
                i,
                "visual",
                "",
                "visual FS blank and no acuity for both eyes on that date",
                "0-6, or both eyes' acuity",
            )
    return source


def derive_edss(
    frame: FrameLike,
    *,
    options: EdssOptions | None = None,
    method: EdssMethod | str | None = EdssMethod.NEUROSTATUS_16,
    gaps: KurtzkeGapOptions | None = None,
    visual_acuity: FrameLike | AcuityTable | None = None,
    offchart_convention: OffChartConvention | str = OffChartConvention.NONE,
    cutoff: date | None = None,
    keep_going: bool = False,
    source: str = "edss",
    acuity_source: str = "visual_acuity",
    zones: Mapping[str, str] | None = None,
) -> Result:
    """EDSS of every row of an EDSS form (raw FS and Neurostatus ambulation 0-16, or with
    ``method="kurtzke"`` walking distance and assistance): the input rows plus ``edss`` and ``edss_rule``
    (Neurostatus-EDSS, Kappos L, neurostatus.net v04/10.2; docs/science/neuro-outcomes.md §1). With
    `visual_acuity` a
    blank visual FS is derived from both eyes' acuity on the same date (``visual_source``; a lower bound,
    §1.2). With ``method=None`` each row is scored by its own ``method`` cell (blank: Neurostatus; a stored
    study, D-19.739, D-19.742): ``edss_method`` names each row's method when any row is Kurtzke, and the
    recorded options list the methods used (``methods``) with the Kurtzke gap rules when a row used them.

    >>> form = pd.DataFrame({"subject_id": ["S1"], "assessed_at": [pd.Timestamp("2021-03-01", tz="UTC")],
    ...     "visual": [0], "brainstem": [0], "pyramidal": [2], "cerebellar": [0], "sensory": [1],
    ...     "bowel_bladder": [0], "cerebral": [0], "ambulation": [0]})
    >>> scored = derive_edss(form).table
    >>> float(scored.edss[0]), scored.edss_rule[0]
    (2.0, 'fs2_one')
    """
    options = options or EdssOptions()
    kind = None if method is None else choose(EdssMethod, method, "method")
    data = as_frame(frame)
    text = text_frame(data)
    problems = RowProblems(source)
    acuity_problems = RowProblems(acuity_source)  # passed on with the EDSS form's own (D-19.778)
    acuity = (
        _acuity_table(
            visual_acuity, convention=offchart_convention, cutoff=cutoff, keep_going=keep_going,
            source=acuity_source, zones=zones, problems=acuity_problems,
        )
        if visual_acuity is not None
        else None
    )  # fmt: skip
    table = parse_edss_table(
        text, problems, cutoff=cutoff, visual_required=acuity is None, method=kind, gaps=gaps, zones=zones
    )
    visual_source = _fill_visual_from_acuity(table, acuity, problems, zones) if acuity is not None else None
    problems.raise_if_any(keep_going)
    good = ~problems.bad_mask(len(data)) & np.isfinite(table.fs).all(axis=1) & np.isfinite(table.ambulation)
    scores = np.full(len(data), np.nan)
    rules = np.full(len(data), "", dtype=object)
    if good.any():
        values, indices = edss_array(
            table.fs[good].astype(np.int8), table.ambulation[good].astype(np.int8), options
        )
        scores[good] = values
        rules[good] = rule_codes(indices)
    result = data.copy()
    if visual_source is not None:
        result["visual"] = ["" if np.isnan(v) else str(int(v)) for v in table.fs[:, 0]]
        result["visual_source"] = visual_source
    # the rows scored from walking distance and aid (Kurtzke 1983, §1.7)
    walked = _kurtzke_cells(data) if kind is None else np.full(len(data), kind is EdssMethod.KURTZKE)
    if table.walking_rule is not None:
        walking = np.asarray(table.walking_rule, dtype=object)
        rules = np.where((rules == "ambulation_ge3") & walked, walking, rules)
        result["ambulation_equivalent"] = np.where(walked, table.ambulation, np.nan)
    result["edss"] = scores
    result["edss_rule"] = rules
    if table.walking_rule is not None:
        result["edss_method"] = np.where(walked, EdssMethod.KURTZKE.value, EdssMethod.NEUROSTATUS_16.value)
    recorded: dict[str, Any]
    if kind is None:
        used = sorted({EdssMethod.KURTZKE.value if w else EdssMethod.NEUROSTATUS_16.value for w in walked})
        recorded = {
            "method": "each assessment's method",
            "methods": used or [EdssMethod.NEUROSTATUS_16.value],
            "options": options.as_dict(),
        }
    else:
        recorded = {"method": kind.value, "options": options.as_dict()}
    if kind is EdssMethod.KURTZKE or walked.any():
        recorded["kurtzke_gaps"] = asdict(gaps or KurtzkeGapOptions())
    table = _with_errors(result, problems, keep_going)
    return Result(
        table,
        derivation="cartrial.neuro.derive_edss",
        options=recorded,
        sources=(EDSS_SOURCE,),
        units={"edss": "EDSS step (0-10)"},
        notes=tuple(problems.notes) + tuple(acuity_problems.notes),
        problems=tuple(problems.all()) + tuple(acuity_problems.all()) if keep_going else (),
    )


def _kurtzke_cells(data: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Rows whose ``method`` cell says kurtzke (any case, D-19.741)."""
    if "method" not in data.columns:
        return np.zeros(len(data), dtype=bool)
    cells = data["method"].fillna("").astype(str).str.strip().str.lower()
    return (cells == EdssMethod.KURTZKE.value).to_numpy(dtype=bool)


# --- visual acuity --------------------------------------------------------------------------------------


def derive_visual_acuity(
    frame: FrameLike,
    *,
    convention: OffChartConvention | str = OffChartConvention.NONE,
    numeric_notation: Notation | str | None = None,
    cutoff: date | None = None,
    keep_going: bool = False,
    source: str = "visual_acuity",
    zones: Mapping[str, str] | None = None,
    logmar_decimals: int = 3,
) -> Result:
    """Every notation of each acuity (logMAR, decimal, Snellen 20 ft, ETDRS letters, off-chart level) and
    the visual FS implied by both eyes on that date (docs/science/neuro-outcomes.md §1.2, §2). `zones`:
    subject → IANA zone, the site calendar a date-time is compared with `cutoff` on (D-19.732; UTC without)
    and both eyes are paired on (D-19.778).

    ``logmar`` is the acuity's logMAR rounded once to `logmar_decimals` (a tie half away from zero); a
    reader wanting fewer decimals asks for them here rather than rounding the rounded column (D-19.737).

    >>> form = "subject_id,assessed_at,eye,acuity\\nS1,2021-03-01,OD,20/40\\nS1,2021-03-01,OS,20/200\\n"
    >>> derive_visual_acuity(form).table[["logmar", "visual_fs_from_acuity"]].values.tolist()
    [[0.301, 4], [1.0, 4]]
    """
    chosen = check_visual_acuity_options(convention, numeric_notation)
    data = as_frame(frame)
    problems = RowProblems(source)
    table = parse_va_table(
        text_frame(data), problems, convention=chosen, numeric_notation=numeric_notation, cutoff=cutoff,
        zones=zones,
    )  # fmt: skip
    problems.raise_if_any(keep_going)
    result = data.copy()
    result["notation"] = [va.notation.value if va else "" for va in table.acuity]
    result["logmar"] = [_round(va.logmar if va else None, logmar_decimals) for va in table.acuity]
    result["decimal"] = [_round(va.decimal if va else None, 3) for va in table.acuity]
    result["snellen_20"] = [
        format_snellen(va.logmar, 20) if va and va.logmar is not None else "" for va in table.acuity
    ]
    result["snellen_20_denominator"] = [_round(va.snellen_20 if va else None, 1) for va in table.acuity]
    result["etdrs_letters"] = [_round(va.etdrs_letters if va else None, 0) for va in table.acuity]
    result["off_chart"] = [va.off_chart.value if va and va.off_chart else "" for va in table.acuity]
    pairs = _acuity_pairs(table, zones)
    refused = problems.bad_mask(len(data))
    derived: list[int | None] = []
    for sid, day, bad in zip(table.subject_id, _table_site_days(table), refused, strict=True):
        both = pairs.get((str(sid), day), {}) if day is not None and not bad else {}
        derived.append(visual_fs_from_acuity(both["OD"], both["OS"]) if len(both) == 2 else None)
    result["visual_fs_from_acuity"] = pd.Series(derived, index=result.index, dtype=object)  # whole grades
    result["offchart_convention"] = chosen.value
    table = _with_errors(result, problems, keep_going)
    return Result(
        table,
        derivation="cartrial.neuro.derive_visual_acuity",
        options={"offchart_convention": chosen.value, "numeric_notation": numeric_notation},
        sources=(VA_SOURCE,),
        units={"logmar": "logMAR", "decimal": "decimal acuity", "etdrs_letters": "letters"},
        notes=tuple(problems.notes),
        problems=tuple(problems.all()) if keep_going else (),
    )


# --- OSIS -----------------------------------------------------------------------------------------------


def derive_osis(
    frame: FrameLike,
    *,
    cutoff: date | None = None,
    keep_going: bool = False,
    source: str = "osis",
    zones: Mapping[str, str] | None = None,
) -> Result:
    """Validated OSIS form (Wingerchuk 1999 Table 1) plus the worse-eye visual grade (no total is defined).

    >>> form = pd.DataFrame({"subject_id": ["S1"], "assessed_at": ["2021-03-01"], "visual_od": [2],
    ...     "visual_os": [4], "motor": [1], "sensory": [0], "sphincter": [1]})
    >>> derive_osis(form).table.visual_worse_eye.tolist()
    [4]
    """
    data = as_frame(frame)
    problems = RowProblems(source)
    table = parse_osis_table(text_frame(data), problems, cutoff=cutoff, zones=zones)
    problems.raise_if_any(keep_going)
    result = data.copy()
    # np.maximum propagates NaN: with one eye's grade bad the worse eye is unknown (fmax gave the other)
    worse = (
        table.grades["visual"]
        if "visual" in table.grades
        else np.maximum(table.grades["visual_od"], table.grades["visual_os"])
    )
    # whole grades (Wingerchuk 1999 Table 1), blank where a grade is missing or bad
    result["visual_worse_eye"] = pd.Series(
        [None if np.isnan(g) else int(g) for g in worse], index=result.index, dtype=object
    )
    table = _with_errors(result, problems, keep_going)
    return Result(
        table,
        derivation="cartrial.neuro.derive_osis",
        options={},
        sources=(OSIS_SOURCE,),
        units={"visual_worse_eye": "OSIS grade"},
        notes=tuple(problems.notes),
        problems=tuple(problems.all()) if keep_going else (),
    )


# --- infusions and follow-up ----------------------------------------------------------------------------


def infusion_days(infusions: FrameLike | Mapping[str, date], *, source: str = "infusions") -> dict[str, date]:
    """Day 0 per subject from an infusions form (``infused_at`` or ``infusion_date``) or a mapping.

    >>> infusion_days("subject_id,infused_at\\nS1,2021-03-01T09:00:00Z\\n")
    {'S1': datetime.date(2021, 3, 1)}
    """
    if isinstance(infusions, Mapping):
        return {str(k): _day(v) for k, v in infusions.items()}
    problems = RowProblems(source)
    days = parse_infusion_table(text_frame(as_frame(infusions)), problems)
    problems.raise_if_any()
    return days


def infused_by_cutoff(
    days: Mapping[str, date], cutoff: date | None
) -> tuple[dict[str, date], tuple[str, ...]]:
    """Day 0 of the subjects infused on or before the data `cutoff`, and the subjects infused after it. A
    subject infused after the cut-off was not yet infused as of it: an analysis as of the cut-off leaves the
    subject out, as the study snapshot leaves such an infusion out (D-19.83) — counting it made a subject
    not yet infused "relapse-free" with no follow-up (D-19.577). An infusion on the cut-off day is in.
    Without a cut-off every subject is kept.

    >>> infused_by_cutoff({"S1": date(2021, 1, 1), "S2": date(2021, 8, 1)}, date(2021, 7, 1))
    ({'S1': datetime.date(2021, 1, 1)}, ('S2',))
    """
    if cutoff is None:
        return dict(days), ()
    kept = {sid: day for sid, day in days.items() if day <= cutoff}
    return kept, tuple(sorted(sid for sid in days if sid not in kept))


def infused_after_cutoff_note(late: Sequence[str], cutoff: date | None, what: str = "") -> str:
    """The note naming the subjects `infused_by_cutoff` left out (the user's own data: ids are named);
    `what`: what is left out with them (" with their relapses")."""
    n = len(late)
    when = cutoff.isoformat() if cutoff else ""
    return (
        f"{count(n, 'subject')} infused after the data cut-off {when} {verb(n, 'is', 'are')} left out{what}: "
        + ", ".join(late)
    )


@dataclass(frozen=True)
class FollowUpEnd:
    """End of follow-up per subject and where it came from (stated in every relapse result)."""

    last_assessment: dict[str, date]
    source: str
    guessed: bool = False  # True when neither assessments nor a cut-off were given


def end_of_follow_up(
    infusions: FrameLike | Mapping[str, date],
    *,
    assessments: Sequence[FrameLike] = (),
    cutoff: date | None = None,
    latest_event: date | None = None,
    source: str = "infusions",
    assessment_sources: Sequence[str] = (),
) -> FollowUpEnd:
    """End of follow-up per infused subject, by the first rule that applies:

    1. the last ``assessed_at`` per subject in `assessments` (on or before `cutoff`);
    2. a last-assessment column of the infusions form (``last_assessed_at``, ``last_assessment``,
       ``last_follow_up``), capped at `cutoff`;
    3. the data cut-off for every subject;
    4. the latest date in the data (infusions, `latest_event`) — a guess, flagged ``guessed``.

    A date-time (``assessed_at``, the last-assessment column) counts by its date on the subject's site
    calendar: the infusions form's optional ``time_zone`` column (`infusion_time_zones`), as the analysis
    hands it the site dates (D-19.607); without the column (or blank) it is the UTC date (D-19.615).

    >>> end_of_follow_up({"S1": date(2021, 3, 1)}, cutoff=date(2021, 9, 1)).last_assessment
    {'S1': datetime.date(2021, 9, 1)}
    """
    days, late = infused_by_cutoff(infusion_days(infusions, source=source), cutoff)
    zones = infusion_time_zones(infusions)  # checked by infusion_days (D-19.615)
    if assessments:
        last: dict[str, date] = {}
        for i, form in enumerate(assessments):
            name = assessment_sources[i] if i < len(assessment_sources) else f"assessments[{i}]"
            problems = RowProblems(name)
            text = text_frame(as_frame(form))
            subjects = parse_text(text, "subject_id", problems)
            moments = parse_datetime(text, "assessed_at", problems)
            problems.raise_if_any()
            dates = site_dates(text["assessed_at"].tolist(), moments, [zones.get(str(s)) for s in subjects])
            for sid, day in zip(subjects, dates, strict=True):
                if day is None:
                    continue
                if (cutoff is not None and day > cutoff) or str(sid) in late:
                    continue  # after the cut-off, or a subject infused after it (D-19.577)
                last[str(sid)] = max(day, last.get(str(sid), day))
        return FollowUpEnd(
            last,
            "last assessed_at per subject in the assessments (CLI: --assessments), on or before the cut-off",
        )
    if not isinstance(infusions, Mapping):
        frame = text_frame(as_frame(infusions))
        column = next((c for c in LAST_ASSESSMENT_COLUMNS if c in frame.columns), None)
        if column is not None:
            problems = RowProblems(source)
            recorded = parse_last_assessments(frame, problems, column, zones)
            problems.raise_if_any()
            return FollowUpEnd(
                {
                    sid: min(day, cutoff) if cutoff else day
                    for sid, day in recorded.items()
                    if sid not in late  # infused after the cut-off: left out (D-19.577)
                },
                "last assessment column of the infusions (CLI: --infusion-dates)",
            )
    if cutoff is not None:
        return FollowUpEnd(
            dict.fromkeys(days, cutoff), f"data cut-off {cutoff.isoformat()} for every subject"
        )
    latest = max([*days.values(), *([latest_event] if latest_event else [])])
    return FollowUpEnd(
        dict.fromkeys(days, latest),
        f"latest date in the data ({latest.isoformat()}): give the assessments or a cut-off "
        "(CLI: --assessments or --cutoff)",
        guessed=True,
    )


# --- relapses -------------------------------------------------------------------------------------------


def relapse_episodes(
    frame: FrameLike,
    *,
    infusions: Mapping[str, date] | None = None,
    birth_dates: Mapping[str, date] | FrameLike | None = None,
    cutoff: date | None = None,
    keep_going: bool = False,
    source: str = "relapses",
    subjects_source: str = "subjects",
    birth_required: bool = True,
    left_out: Collection[str] = (),
) -> tuple[list[RelapseEpisode], RowProblems]:
    """Validated episodes of a relapse form (`cartrial.neuro.tables.parse_relapse_table`); with
    `infusions`, an episode of a subject without an infusion date is an error. Returns the good episodes
    and the problems (raised unless `keep_going`). `birth_dates` as a subjects form: every subject needs a
    ``birth_date`` or ``birth_year`` unless not `birth_required` (a subject with neither then has no
    before-birth check; `cartrial.neuro.tables.parse_birth_dates`, D-19.553). The episodes of the subjects
    `left_out` (infused after the data cut-off, `infused_by_cutoff`) are not in the result and need no
    infusion date (D-19.577).

    >>> form = "subject_id,onset_date,phenotype,severity\\nS1,2020-05-01,myelitis,severe\\n"
    >>> episodes, _ = relapse_episodes(form)
    >>> episodes[0].onset
    datetime.date(2020, 5, 1)
    """
    births: Mapping[str, date] | None
    if birth_dates is None or isinstance(birth_dates, Mapping):
        births = birth_dates
    else:
        birth_problems = RowProblems(subjects_source)
        form = text_frame(as_frame(birth_dates))
        births = parse_birth_dates(form, birth_problems, required=birth_required)
        if not birth_required:  # a subject listed with no birth is still a subject: no before-birth check
            listed = form["subject_id"] if "subject_id" in form.columns else ()
            births = {**{str(s): date.min for s in listed if str(s)}, **births}
        birth_problems.raise_if_any()
    data = text_frame(as_frame(frame))
    problems = RowProblems(source)
    parsed = parse_relapse_table(data, problems, birth_dates=births, cutoff=cutoff)
    if infusions is not None:
        for i, record in enumerate(parsed):
            if record is None or record.subject_id in left_out:
                continue
            if record.subject_id not in infusions:
                problems.add(
                    i,
                    "subject_id",
                    record.subject_id,
                    "subject has no infusion date",
                    "a subject of the infusions (CLI: --infusion-dates)",
                )
    problems.raise_if_any(keep_going)
    bad = problems.bad_mask(len(data))
    kept = [r for i, r in enumerate(parsed) if r is not None and not bad[i] and r.subject_id not in left_out]
    return kept, problems


def _ci(rate: RateEstimate | None, side: str) -> float | None:
    """One limit of a per-patient exact Poisson CI, rounded like the ARR (None when not estimable)."""
    if rate is None:
        return None
    value = rate.ci_low if side == "low" else rate.ci_high
    return None if value is None else round(value, 4)


def arr_listing(arr: ArrSummary) -> pd.DataFrame:
    """One row per subject: attacks, days and ARR (with exact Poisson CI) before and after infusion.

    >>> r = derive_relapses("subject_id,onset_date,phenotype,severity\\n", {"S1": date(2021, 1, 1)},
    ...                     cutoff=date(2021, 7, 1))
    >>> arr_listing(r.arr).post_days.tolist()
    [181]
    """
    return pd.DataFrame(
        [
            {
                "subject_id": s.subject_id,
                "infusion_date": s.pre_end.isoformat(),
                "pre_window_start": s.pre_start.isoformat(),
                "pre_attacks": s.pre_attacks,
                "pre_days": s.pre_days,
                "pre_arr": None if s.pre_arr is None else round(s.pre_arr, 4),
                "pre_arr_ci_low": _ci(s.pre_rate, "low"),
                "pre_arr_ci_high": _ci(s.pre_rate, "high"),
                "post_attacks": s.post_attacks,
                "post_days": s.post_days,
                "post_arr": None if s.post_arr is None else round(s.post_arr, 4),
                "post_arr_ci_low": _ci(s.post_rate, "low"),
                "post_arr_ci_high": _ci(s.post_rate, "high"),
                "first_post_attack_day": "" if s.first_post_attack_day is None else s.first_post_attack_day,
                "relapse_free": s.post_attacks == 0,
            }
            for s in arr.subjects
        ]
    )


def _iso_dates(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso_dates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_iso_dates(v) for v in value]
    return value


EXTENDED_NOTE_PREFIX = "follow-up extended past the last assessment to a later relapse onset"
"""How `EXTENDED_NOTE` begins: what the analysis and the `relapses` command find that note by."""
EXTENDED_NOTE = (
    EXTENDED_NOTE_PREFIX + ": {n} (D-19.587); only a subject "
    "who reports an episode is followed past the last contact, so the ARR after infusion and the relapse "
    "hazard lean upward, by at most that gap; sensitivity analysis: follow-up to the cut-off (protocol "
    "relapse_follow_up_end: cutoff)"
)
"""The note of `derive_relapses` counting the subjects whose relapse follow-up a reported episode extended."""


@dataclass(frozen=True)
class RelapseResult(Result):
    """`Result` of `derive_relapses`: ``table`` is the per-subject ARR listing; the engine objects are kept
    (``arr``, ``km``, ``rate_ratio``, ``attacks``, ``episodes``) and `payload` gives the JSON summary."""

    arr: ArrSummary | None = None
    km: RelapseFreeSurvival | None = None
    rate_ratio: RateRatio | None = None
    attacks: tuple[Attack, ...] = ()
    episodes: tuple[RelapseEpisode, ...] = ()
    relapse_options: RelapseOptions = field(default_factory=RelapseOptions)
    end_of_follow_up: str = ""
    infused_after_cutoff: tuple[str, ...] = ()  # left out with their relapses (D-19.577)

    def payload(self) -> dict[str, Any]:
        """JSON-ready results: options, pooled ARR with CI, rate ratio, KM with numbers at risk, attacks and
        the episodes that are not relapses (with the reason)."""
        arr, km, ratio = self.arr, self.km, self.rate_ratio
        assert arr is not None and km is not None and ratio is not None
        options = self.relapse_options
        return _iso_dates(
            {
                "options": arr.options,
                "source": arr.source,
                "pooled": {
                    period: {
                        "attacks": rate.events,
                        "patient_years": round(rate.patient_years, 4),
                        "arr": rate.rate,
                        "ci_low": rate.ci_low,
                        "ci_high": rate.ci_high,
                        "confidence": rate.confidence,
                        "method": rate.method,
                    }
                    for period, rate in (("pre", arr.pre), ("post", arr.post))
                },
                "mean_of_subject_arr": {
                    "pre": arr.mean_of_subject_pre_arr,
                    "post": arr.mean_of_subject_post_arr,
                },
                "rate_ratio_post_vs_pre": {
                    "method": ratio.method.value,
                    # an infinite ratio or limit is not JSON: null, with the reason (D-19.1187)
                    "ratio": _finite_or_none(ratio.ratio),
                    "ci_low": ratio.ci_low,
                    "ci_high": _finite_or_none(ratio.ci_high),
                    "not_estimable": ratio.not_estimable_reason() or "",
                    "left_out": [{"subject_id": s, "reason": r} for s, r in ratio.left_out],  # D-19.1188
                    "confidence": ratio.confidence,
                    "pre_attacks": ratio.pre_attacks,
                    "post_attacks": ratio.post_attacks,
                    "n_informative": ratio.n_informative,
                    "note": ratio.note,
                },
                "relapse_free_survival": {
                    "n_subjects": km.n_subjects,
                    "n_events": km.n_events,
                    "relapse_free_at_last_assessment": km.relapse_free_at_last,
                    "median_follow_up_days": km.median_follow_up_days,
                    "median_follow_up_months": (
                        round(km.median_follow_up_months, 2)
                        if km.median_follow_up_months is not None
                        else None
                    ),
                    "median_follow_up_method": km.follow_up_method.value,
                    "median_follow_up_reached": km.median_follow_up_reached,
                    "median_follow_up": median_follow_up_text(km),
                    "longest_follow_up_days": km.longest_follow_up_days,
                    "reverse_km_events": km.reverse_km_events.value,
                    "n_deaths": km.n_deaths,
                    "reverse_km_median_follow_up_days": km.reverse_km_median_follow_up_days,
                    "observed_median_follow_up_days": km.observed_median_follow_up_days,
                    "numbers_at_risk": [{"day": t, "at_risk": n} for t, n in km.at_risk],
                    "table": [vars(row) for row in km.table],
                    "source": km.source,
                },
                "attacks": [
                    {
                        "subject_id": a.subject_id,
                        "onset": a.onset,
                        "merged_onsets": list(a.onsets),
                        "phenotypes": sorted(p.value for p in a.phenotypes),
                        "severity": a.severity.value if a.severity else None,
                        "rows": list(a.rows),
                    }
                    for a in self.attacks
                ],
                "not_relapses": [
                    {
                        "subject_id": r.subject_id,
                        "onset": r.onset,
                        "row": r.row,
                        "reason": qualifies(r, options)[1],
                    }
                    for r in self.episodes
                    if not qualifies(r, options)[0]
                ],
                "end_of_follow_up": self.end_of_follow_up,
                "infused_after_cutoff": list(self.infused_after_cutoff),
                "notes": list(self.notes),
            }
        )

    def summary_text(self) -> str:
        """One line: ARR before and after, the rate ratio, relapse-free at median follow-up, at risk."""
        arr, km, ratio = self.arr, self.km, self.rate_ratio
        assert arr is not None and km is not None and ratio is not None

        def rate(r: RateEstimate) -> str:
            if r.rate is None or r.ci_low is None or r.ci_high is None:
                return "not estimable"
            # the one rounding of reported numbers, a tie half away from zero, as the report's finding
            # writes the same ARR (D-19.189, D-19.1137)
            return (
                f"{fixed(r.rate, 2)} ({fixed(r.ci_low, 2)}-{fixed(r.ci_high, 2)}; {r.events} attacks / "
                f"{fixed(r.patient_years, 2)} PY)"
            )

        at_risk = ", ".join(f"d{int(t)}:{n}" for t, n in km.at_risk)
        return (
            f"ARR before infusion {rate(arr.pre)}; after {rate(arr.post)}; "
            f"rate ratio after/before {format_ratio(ratio)}; "
            f"relapse-free {km.relapse_free_at_last}/{km.n_subjects} {_at_follow_up(km)}; at risk {at_risk}"
        )


def _at_follow_up(km: RelapseFreeSurvival) -> str:
    """Where the relapse-free count stands: "at median follow-up X months (method)", or "at last
    assessment; median follow-up not reached (...)" when the median is not reached (D-19.100)."""
    text = median_follow_up_text(km)
    return f"at {text}" if km.median_follow_up_reached else f"at last assessment; {text}"


def _finite_or_none(value: float | None) -> float | None:
    """`value` when finite, else None (an infinite rate ratio or limit in JSON, D-19.1187)."""
    return value if value is not None and math.isfinite(value) else None


def format_ratio(ratio: RateRatio) -> str:
    """A rate ratio with its interval as text ("not estimable" with the reason without attacks or without
    a pre-infusion attack, never "inf": D-19.1187), rounded as the report's finding rounds it
    (`cartrial.rounding.fixed`, a tie half away from zero; D-19.189, D-19.1137).

    >>> from cartrial.neuro.relapses import conditional_rate_ratio
    >>> format_ratio(conditional_rate_ratio([(4, 2.0, 1, 1.0)], method="pooled_conditional"))
    '0.50 (95% CI 0.01-5.05, pooled_conditional)'
    """
    reason = ratio.not_estimable_reason()
    if reason is not None:  # with the reason and, for an infinite ratio, the lower limit (D-19.1187)
        if ratio.ratio is None or ratio.ci_low is None:
            return f"not estimable ({reason})"
        return (
            f"not estimable ({reason}); {fixed(100 * ratio.confidence, 0)}% CI lower limit "
            f"{fixed(ratio.ci_low, 2)}, {ratio.method.value}"
        )
    if ratio.ci_low is None or ratio.ci_high is None or ratio.ratio is None:
        return "not estimable"
    return (
        f"{fixed(ratio.ratio, 2)} ({fixed(100 * ratio.confidence, 0)}% CI {fixed(ratio.ci_low, 2)}-"
        f"{fixed(ratio.ci_high, 2)}, "
        f"{ratio.method.value})"
    )


def end_at_death(
    last: Mapping[str, date],
    deaths: Mapping[str, date],
    infusions: Mapping[str, date],
    ends_of_study: Mapping[str, date] | None = None,
) -> dict[str, date]:
    """Each subject's end of follow-up `last`, never after the subject's death (a record dated after the
    death is impossible data, which the store queries — RECORD-AFTER-DEATH — not a contact, D-19.94) nor
    after a dated end of study (`ends_of_study`: RECORD-AFTER-END-OF-STUDY, D-19.110), and never before the
    infusion day (the infusion is a contact: a death dated before it, impossible too, gives a follow-up of 0
    days, never a negative one). The one rule: the analysis layer's last contact
    (`cartrial.analysis.populations.last_contact`) and `derive_relapses` call it.

    >>> end_at_death({"S1": date(2021, 3, 1), "S2": date(2021, 3, 1)}, {"S1": date(2021, 1, 11)},
    ...              {"S1": date(2021, 1, 1), "S2": date(2021, 1, 1)}, {"S2": date(2021, 2, 1)})
    {'S1': datetime.date(2021, 1, 11), 'S2': datetime.date(2021, 2, 1)}
    """
    ended = ends_of_study or {}
    return {
        sid: max(min(day, deaths.get(sid, date.max), ended.get(sid, date.max)), infusions.get(sid, date.min))
        for sid, day in last.items()
    }


def derive_relapses(
    relapses: FrameLike | Sequence[RelapseEpisode],
    infusions: FrameLike | Mapping[str, date],
    *,
    last_assessment: Mapping[str, date] | None = None,
    assessments: Sequence[FrameLike] = (),
    cutoff: date | None = None,
    subjects: FrameLike | Mapping[str, date] | None = None,
    options: RelapseOptions | None = None,
    confidence: float = 0.95,
    follow_up_method: FollowUpMethod | str = FollowUpMethod.REVERSE_KM,
    rate_ratio_method: RateRatioMethod | str = RateRatioMethod.STRATIFIED_CONDITIONAL,
    deaths: Mapping[str, date] | None = None,
    ends_of_study: Mapping[str, date | None] | None = None,
    diagnoses: Mapping[str, date | OnsetPeriod] | None = None,
    reverse_km_events: ReverseKmEvents | str = ReverseKmEvents.FOLLOW_UP_ENDS,
    km_median: KmMedianRule | str = KmMedianRule.MIDPOINT,
    keep_going: bool = False,
    source: str = "relapses",
    infusions_source: str = "infusions",
    subjects_source: str = "subjects",
    assessment_sources: Sequence[str] = (),
    birth_required: bool = True,
) -> RelapseResult:
    """ARR before and after infusion (exact Poisson CI), the within-patient post/pre rate ratio (exact
    conditional CI, with the regression-to-the-mean caveat) and Kaplan-Meier relapse-free survival with the
    median follow-up (reverse Kaplan-Meier by default), from a relapse form and the infusion dates
    (docs/science/neuro-outcomes.md §4). End of follow-up: `last_assessment`, else `end_of_follow_up`.
    `deaths`: date of death per subject who died (plain data; the analysis layer passes
    ``cartrial.analysis.populations.death_dates``); a death on or before the cut-off (any, without one)
    censors the subject in the reverse Kaplan-Meier median follow-up (`reverse_km_events`, D-19.90) and ends
    the subject's follow-up (`end_at_death`: a later record is not a contact, D-19.94, D-19.107).
    `ends_of_study`: the date each subject's study ended (plain data; the analysis layer's
    ``cartrial.analysis.populations.dated_ends``: a completion, withdrawal or loss on its disposition date, or
    a death); one on or before the cut-off ends the subject's follow-up as a death does (`end_at_death`: a
    later record is not a contact, D-19.110, D-19.133) but is censored in the reverse Kaplan-Meier only when
    it is in `deaths`; a subject mapped to None ended the study on an undated day (stored before D-19.92):
    its end is its last assessment. An episode reported after the last assessment, on or before the cut-off,
    the death and the end of study, extends the subject's follow-up to its onset (D-19.587; a note counts
    those subjects). `diagnoses`: the disease onset per subject (plain data; the analysis layer passes the
    earlier of the subjects' ``diagnosis_date`` and ``relapse_history`` onsets); None: read from `subjects`
    when it is a form with a ``diagnosis_date`` column (`parse_disease_onsets`): with ``pre_window_start``
    ``disease_onset`` the pre-infusion window starts no earlier than the disease onset and the onset attack
    is not a relapse (D-19.708). `subjects` (a subjects form, or the birth date per subject): an onset before
    the subject's birth is an error; `birth_required=False` lets a subject of the form have no birth (no
    check).

    >>> rel = ("subject_id,onset_date,phenotype,severity\\nS1,2020-05-01,myelitis,severe\\n"
    ...        "S1,2020-11-01,optic_neuritis,mild\\n")
    >>> r = derive_relapses(rel, {"S1": date(2021, 1, 1), "S2": date(2021, 2, 1)}, cutoff=date(2021, 7, 1))
    >>> r.table[["subject_id", "pre_attacks", "post_attacks"]].values.tolist()
    [['S1', 2, 0], ['S2', 0, 0]]
    >>> r.km.relapse_free_at_last
    2
    """
    options = options or RelapseOptions()
    days, late = infused_by_cutoff(infusion_days(infusions, source=infusions_source), cutoff)
    if late and not days:
        # nobody left to follow: say why, at the infusions file and the cut-off (D-19.585)
        raise InputError(
            Problem(
                f"every subject is infused after the data cut-off {cutoff.isoformat() if cutoff else ''}: "
                "no subject has follow-up, so the ARR is not estimable",
                file=infusions_source,
                allowed="at least one infusion on or before the data cut-off",
            )
        )
    if isinstance(relapses, pd.DataFrame | str):
        episodes, problems = relapse_episodes(
            relapses,
            infusions=days,
            birth_dates=subjects,
            cutoff=cutoff,
            keep_going=keep_going,
            source=source,
            subjects_source=subjects_source,
            birth_required=birth_required,
            left_out=late,
        )
        found = tuple(problems.all()) if keep_going else ()
    else:
        episodes, found = [e for e in relapses if e.subject_id not in late], ()
    if last_assessment is not None:
        end = FollowUpEnd({str(k): _day(v) for k, v in last_assessment.items()}, "given per subject")
    else:
        end = end_of_follow_up(
            infusions,
            assessments=assessments,
            cutoff=cutoff,
            latest_event=max((e.onset for e in episodes), default=None),
            source=infusions_source,
            assessment_sources=assessment_sources,
        )
    missing = [
        Problem("no last assessment for an infused subject", field="subject_id", value=sid)
        for sid in sorted(days)
        if sid not in end.last_assessment
    ]
    if missing:
        raise InputError(missing)

    def by_cutoff(given: Mapping[str, date] | None) -> dict[str, date]:
        # a death or end after the cut-off is not in the data (D-19.83)
        return {str(k): _day(v) for k, v in (given or {}).items() if cutoff is None or _day(v) <= cutoff}

    # an end of study stored undated (before D-19.92) is the subject's last assessment itself (D-19.587)
    ended_on = {
        str(k): end.last_assessment.get(str(k)) if v is None else v for k, v in (ends_of_study or {}).items()
    }
    died, ended = by_cutoff(deaths), by_cutoff({k: v for k, v in ended_on.items() if v is not None})
    # a relapse is itself observed on its onset day: the follow-up reaches at least the onset of every
    # episode (any, qualifying or merged or not: it was reported) on or after the infusion, or that relapse
    # would be dropped from the ARR and the Kaplan-Meier curve — only an onset on study: on or before the
    # cut-off, the death and the end of study, the cap computed first, so a relapse after the death or the
    # end extends nothing (D-19.587)
    cap = {
        sid: min(cutoff or date.max, died.get(sid, date.max), ended.get(sid, date.max))
        for sid in end.last_assessment
    }
    reached = dict(end.last_assessment)
    for episode in episodes:
        sid = str(episode.subject_id)
        if sid in reached and sid in days and days[sid] <= episode.onset <= cap[sid]:
            reached[sid] = max(reached[sid], episode.onset)
    # a record after the death or the dated end of study is no contact (D-19.94, D-19.110)
    last = end_at_death(reached, died, days, ended)
    extended = sorted(sid for sid in days if reached[sid] > end.last_assessment[sid])
    history_notes: list[str] = []  # skipped relapse_history entries (D-19.711)
    if diagnoses is None and subjects is not None and not isinstance(subjects, Mapping):
        # `relapses --subjects`: the form's diagnosis date (and attack history) as the analysis reads them
        onset_problems = RowProblems(subjects_source)
        diagnoses = parse_disease_onsets(text_frame(as_frame(subjects)), onset_problems, history_notes)
        if onset_problems:
            raise InputError(onset_problems.all())
    # a partial history onset is a period: its first day, and the latest possible onset (D-19.711)
    periods = {
        str(k): (_day(v.first), _day(v.last)) if isinstance(v, OnsetPeriod) else (_day(v), None)
        for k, v in (diagnoses or {}).items()
    }
    follow = [
        SubjectFollowUp(
            sid,
            days[sid],
            last[sid],
            died=sid in died,
            diagnosis=periods[sid][0] if sid in periods else None,
            diagnosis_until=periods[sid][1] if sid in periods else None,
        )
        for sid in sorted(days)
    ]
    attacks = merge_attacks(episodes, options)
    arr = annualised_relapse_rates(attacks, follow, options, confidence)
    km = relapse_free_survival(
        arr,
        confidence=confidence,
        follow_up_method=follow_up_method,
        reverse_km_events=reverse_km_events,
        km_median=km_median,
    )
    ratio = pre_post_rate_ratio(arr, confidence=confidence, method=rate_ratio_method)
    notes = [REGRESSION_TO_THE_MEAN_NOTE, f"end of follow-up: {end.source}", *arr.notes, *history_notes]
    if end.guessed:
        notes.append("warning: end of follow-up not given; the latest date in the data was used")
    if extended:
        notes.append(EXTENDED_NOTE.format(n=count(len(extended), "subject")))
    if late:
        notes.append(infused_after_cutoff_note(late, cutoff, " with their relapses"))
    return RelapseResult(
        arr_listing(arr),
        derivation="cartrial.neuro.derive_relapses",
        options={
            **options.as_dict(),
            "confidence": confidence,
            "follow_up_method": km.follow_up_method.value,
            "reverse_km_events": km.reverse_km_events.value,
            "km_median": km.km_median.value,
            "km_ci": KM_CI_METHOD,
            "rate_ratio_method": ratio.method.value,
        },
        sources=(arr.source, km.source, RATE_RATIO_SOURCE),
        units={
            "pre_days": "days",
            "post_days": "days",
            "pre_arr": "attacks/year",
            "post_arr": "attacks/year",
        },
        notes=(*notes, *((ratio.left_out_text(),) if ratio.left_out else ())),  # never silent (D-19.1188)
        problems=found,
        arr=arr,
        km=km,
        rate_ratio=ratio,
        attacks=tuple(attacks),
        episodes=tuple(episodes),
        relapse_options=options,
        end_of_follow_up=end.source,
        infused_after_cutoff=late,
    )


def km_frame(km: RelapseFreeSurvival) -> pd.DataFrame:
    """The Kaplan-Meier table (one row per distinct time) as a DataFrame.

    >>> r = derive_relapses("subject_id,onset_date,phenotype,severity\\n", {"S1": date(2021, 1, 1)},
    ...                     cutoff=date(2021, 7, 1))
    >>> km_frame(r.km).survival.tolist()
    [1.0, 1.0]
    """
    return pd.DataFrame([vars(r) for r in km.table])


# --- responders -----------------------------------------------------------------------------------------


#: The form that carries each responder measure (`derive_responders` argument).
MEASURE_FORM: dict[str, str] = {
    **dict.fromkeys(("ambulation", "visual", "pyramidal", "bowel_bladder", "edss"), "edss"),
    **dict.fromkeys(("acuity_od", "acuity_os"), "visual_acuity"),
    **dict.fromkeys(("osis_visual_od", "osis_visual_os", "osis_motor", "osis_sphincter"), "osis"),
    "t25fw_seconds": "timed_walk",
}


def infusion_time_zones(infusions: FrameLike | Mapping[str, date]) -> dict[str, str]:
    """subject_id → the IANA zone of the subject's study-day calendar: the optional ``time_zone`` column of
    an infusions form (`infusion_days` checks it; blank, absent or a mapping of day-0 dates: UTC, not
    listed; D-19.607)."""
    if isinstance(infusions, Mapping):
        return {}
    frame = text_frame(as_frame(infusions))
    if TIME_ZONE_COLUMN not in frame.columns:
        return {}
    return {
        str(s).strip(): str(z).strip()
        for s, z in zip(frame["subject_id"], frame[TIME_ZONE_COLUMN], strict=True)
        if str(z).strip()
    }


def _visit_day(value: Any, zone: str | None) -> date:
    """The date of a scored form's ``assessed_at`` (a date, or a date-time read on the site's clock by
    `typed_site_moment`: exactly 00:00:00Z, a date typed without a time, is that date; D-19.947)."""
    stamp = pd.Timestamp(value)
    return stamp.date() if stamp.tzinfo is None else typed_site_moment(stamp.to_pydatetime(), zone).date()


def _site_day(moment: datetime, sid: Any, zones: Mapping[str, str]) -> date:
    """The date of `moment`, a parsed instant, on the subject's site calendar (`infusion_time_zones`; UTC
    without a zone; `typed_site_moment`, as grading and CDISC read it; D-19.607, D-19.947)."""
    return typed_site_moment(moment, zones.get(str(sid))).date()


def _series_from_edss(
    table: EdssTable, scores: np.ndarray, zones: Mapping[str, str]
) -> dict[str, dict[str, list[tuple[date, Any]]]]:
    series: dict[str, dict[str, list[tuple[date, Any]]]] = defaultdict(lambda: defaultdict(list))
    days = _table_site_days(table, zones)
    # the Neurostatus ambulation score: recorded, or of a Kurtzke visit's distance and aid by §1.6 ("0 or 1"
    # where they cannot decide it), never the stand-in score that gives a Kurtzke visit its EDSS (D-19.1006)
    walked = table.ambulation if table.ambulation_score is None else table.ambulation_score
    for i, sid in enumerate(table.subject_id):
        day = days[i]
        if day is None or not np.isfinite(scores[i]):
            continue
        for j, name in enumerate(FS_NAMES):
            series[str(sid)][name].append((day, float(table.fs[i, j])))
        score = float(walked[i])
        series[str(sid)]["ambulation"].append((day, score if np.isfinite(score) else AMBULATION_0_OR_1))
        series[str(sid)]["edss"].append((day, float(scores[i])))
    return series


@dataclass(frozen=True)
class ResponderResult(Result):
    """`Result` of `derive_responders`: one row per definition; ``summaries`` keep every subject's
    outcome, ``subjects_without_infusion`` those left out (no day 0), ``infused_after_cutoff`` those left
    out because infused after the data cut-off (D-19.577)."""

    summaries: tuple[ResponderSummary, ...] = ()
    subjects_without_infusion: tuple[str, ...] = ()
    n_infused: int = 0
    infused_after_cutoff: tuple[str, ...] = ()  # left out: not yet infused as of the cut-off (D-19.577)

    def payload(self) -> list[dict[str, Any]]:
        """JSON-ready rows: each definition with its numbers and every subject's outcome."""
        return [
            {
                "definition": s.definition,
                "domain": s.domain.value,
                "description": s.description,
                "source": s.source,
                "parameters": s.parameters,
                "n_subjects": s.n_subjects,
                "n_evaluable": s.n_evaluable,
                "n_responders": s.n_responders,
                "percent": s.percent,
                "subjects": [
                    {
                        "subject_id": o.subject_id,
                        "evaluable": o.evaluable,
                        "responder": o.responder,
                        "reason": o.reason,
                        "baseline": o.baseline,
                        "follow_up": o.follow_up,
                    }
                    for o in s.subjects
                ],
            }
            for s in self.summaries
        ]


_COUNT = Allowed(low=0, integer=True, label="a whole number ≥ 0")

#: note of a responder result whose baseline rule is ``outside_relapse`` but which was given no relapse data
#: (D-19.899, as D-19.867 for the RAW/PIRA class): nothing was excluded, never claimed
NO_RELAPSE_DATA_NOTE = (
    "no relapse data given: no baseline value could be excluded as during an attack (baseline_visit "
    "outside_relapse applied to nothing; relapse_data false; D-19.899)"
)

#: what a ``relapses`` argument of `derive_responders` / `derive_disability` may be (`relapse_attacks`)
RELAPSES_ALLOWED = (
    "None (no relapse data), a relapse form (DataFrame or CSV text), RelapseEpisode records or merged Attack "
    "records"
)


def relapse_attacks(
    relapses: Sequence[RelapseEpisode] | Sequence[Attack] | FrameLike | None,
    relapse_options: RelapseOptions | None = None,
    field: str = "relapses",
    source: str = "relapses",
) -> list[Attack] | None:
    """The merged attacks of a ``relapses`` argument: None stays None (no relapse data, D-19.867); a relapse
    form (DataFrame or CSV text, `relapse_episodes`) or `RelapseEpisode` records are merged by
    `merge_attacks` with `relapse_options` (the protocol's relapse definition); `Attack` records are taken as
    they are. The one reading of the parameter of `derive_responders` and `derive_disability` (D-19.899);
    any other type, or a sequence mixing episodes with attacks or holding anything else, is a
    `ConfigurationError` naming `field` and the allowed types (never a traceback).

    >>> relapse_attacks(None) is None
    True
    >>> form = "subject_id,onset_date,phenotype,severity\\nS1,2021-05-01,myelitis,mild\\n"
    >>> [a.onset for a in relapse_attacks(form)]
    [datetime.date(2021, 5, 1)]
    """
    if relapses is None:
        return None
    if isinstance(relapses, pd.DataFrame | str):
        return merge_attacks(relapse_episodes(relapses, source=source)[0], relapse_options)
    if isinstance(relapses, Sequence):
        items = list(relapses)
        if all(isinstance(r, Attack) for r in items):
            return [r for r in items if isinstance(r, Attack)]
        if all(isinstance(r, RelapseEpisode) for r in items):
            return merge_attacks([r for r in items if isinstance(r, RelapseEpisode)], relapse_options)
        kinds = sorted({type(r).__name__ for r in items})
        raise ConfigurationError(
            f"{field}: a sequence of {', '.join(kinds)}; allowed: {RELAPSES_ALLOWED}, one kind per sequence"
        )
    raise ConfigurationError(f"{field}: a {type(relapses).__name__}; allowed: {RELAPSES_ALLOWED}")


def percent_of_infused(n_responders: int, n_infused: int) -> float | None:
    """Responders as a percentage of every infused patient (non-evaluable patients count as
    non-responders: the all-treated denominator of an intention-to-treat reading); None when nobody was
    infused.

    >>> percent_of_infused(3, 12)
    25.0

    Counts that are not whole numbers ≥ 0, or more responders than infused patients, are an `InputError`
    (D-19.79).
    """
    check_argument("n_infused", n_infused, _COUNT)
    check_argument("n_responders", n_responders, Allowed(low=0, high=n_infused, integer=True))
    return 100.0 * n_responders / n_infused if n_infused else None


#: The end of a responder reason of a subject not evaluable because the EDSS baseline and follow-up are
#: scored by different methods in the walking range (D-19.746); callers compare against this constant.
METHOD_SWITCH_EXCLUDED = "(method_switch=exclude; D-19.746)"


def derive_responders(
    infusions: FrameLike | Mapping[str, date],
    *,
    edss: FrameLike | None = None,
    visual_acuity: FrameLike | None = None,
    osis: FrameLike | None = None,
    timed_walk: FrameLike | None = None,
    definitions: Sequence[str] | None = None,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    follow_up: FollowUpChoice | str = FollowUpChoice.LAST,
    offchart_convention: OffChartConvention | str = OffChartConvention.NONE,
    edss_options: EdssOptions | None = None,
    cutoff: date | None = None,
    sources: Mapping[str, str] | None = None,
    method_switch: MethodSwitch | str = MethodSwitch.EXCLUDE,
    relapses: Sequence[RelapseEpisode] | Sequence[Attack] | FrameLike | None = None,
    baseline_visit: ResponderBaseline | str = ResponderBaseline.OUTSIDE_RELAPSE,
    relapse_exclusion_days: int = RELAPSE_EXCLUSION_DAYS,
    relapse_options: RelapseOptions | None = None,
) -> ResponderResult:
    """Responder percentages under the named definitions (`RESPONDER_DEFINITIONS`; default one per domain,
    `DEFAULT_RESPONDERS`) from the forms given: baseline = last value on or before day 0, follow-up = the
    last (or best) value after it. Each row gives n evaluable, n responders, the percentage of evaluable
    patients and the percentage of all infused patients. A definition asked for by name whose form is not
    given is refused (it would report 0 subjects). `parameters` overrides a definition's defaults.
    ``method_switch`` (as `DisabilityOptions.method_switch`, default ``exclude``): an EDSS baseline and
    follow-up scored by different methods (Neurostatus, Kurtzke) with either EDSS >= 4.0 make a definition on
    the EDSS not evaluable for that subject, the two methods differing by 0.5 there (D-19.746). A
    Kurtzke-scored visit's ambulation score is the §1.6 score of its walking distance and aid
    (`neurostatus_ambulation_score`), under either value; no aid at >= 500 m is "0 or 1", compared by
    `evaluate_responder` only where both readings agree (D-19.1006).
    ``relapses`` (None: no relapse data; a relapse form, `RelapseEpisode` records merged by
    ``relapse_options`` as `derive_disability` merges them, or merged `Attack` records: `relapse_attacks`,
    D-19.899) with ``baseline_visit`` (`ResponderBaseline`, default ``outside_relapse``): a value on or
    before day 0 within ``relapse_exclusion_days`` (default 30, 0-365; 0 turns it off) after an attack onset
    is not the baseline; a subject whose every pre-infusion value of a measure is is not evaluable
    ("baseline only during an attack"); ``last`` keeps the last value on or before day 0 whatever its timing
    (D-19.896). Without relapse data nothing can be excluded: the options say ``relapse_data`` false and a
    note says so (D-19.899).

    >>> edss = pd.DataFrame({"subject_id": ["S1", "S1"], "assessed_at": ["2021-01-01", "2021-07-01"],
    ...     "visual": [0, 0], "brainstem": [0, 0], "pyramidal": [3, 2], "cerebellar": [0, 0],
    ...     "sensory": [0, 0], "bowel_bladder": [2, 1], "cerebral": [0, 0], "ambulation": [2, 1]})
    >>> r = derive_responders({"S1": date(2021, 1, 2)}, edss=edss,
    ...                       definitions=["bowel_bladder_fs_decrease_1"])
    >>> r.table[["definition", "n_evaluable", "n_responders", "percent"]].values.tolist()
    [['bowel_bladder_fs_decrease_1', 1, 1, 100.0]]
    """
    chosen_follow_up = choose(FollowUpChoice, follow_up, "follow_up")
    convention = choose(OffChartConvention, offchart_convention, "offchart_convention")
    switch_rule = enum_member(MethodSwitch, method_switch, "method_switch")
    baseline_rule = enum_member(ResponderBaseline, baseline_visit, "baseline_visit")
    check_argument("relapse_exclusion_days", relapse_exclusion_days, RELAPSE_EXCLUSION_ALLOWED)
    window = baseline_window(baseline_rule, relapse_exclusion_days)
    attacks = relapse_attacks(relapses, relapse_options, source=(sources or {}).get("relapses", "relapses"))
    onsets = onsets_by_subject(attacks)  # every merged onset, as for the EDSS (D-19.686)
    edss_methods: dict[str, list[tuple[date, tuple[float, str]]]] = defaultdict(list)
    names = {**{"edss": "edss", "visual_acuity": "visual_acuity", "osis": "osis"}, **(sources or {})}
    infused = infusion_days(infusions, source=names.get("infusions", "infusions"))
    days, late = infused_by_cutoff(infused, cutoff)  # day 0 on the site's calendar vs the cut-off (D-19.607)
    zones = infusion_time_zones(infusions)  # each assessment's date on the site's calendar (D-19.607)
    given = {"edss": edss, "visual_acuity": visual_acuity, "osis": osis, "timed_walk": timed_walk}
    for name in definitions or []:
        if name not in RESPONDER_DEFINITIONS:
            raise ConfigurationError(
                f"unknown responder definition {name!r}; allowed: {choice_text(RESPONDER_DEFINITIONS)}"
            )
        needed = {MEASURE_FORM[m] for m in RESPONDER_DEFINITIONS[name].measures} - {
            form for form, data in given.items() if data is not None
        }
        if needed:
            flags = " and ".join(sorted(f"--{_FLAG.get(f, f)}" for f in needed))
            raise ConfigurationError(f"responder definition {name!r} needs {flags}")
    series: dict[str, dict[str, list[tuple[date, Any]]]] = defaultdict(lambda: defaultdict(list))
    assessed: set[str] = set()
    if edss is not None:
        # each row by its own method, as `derive_edss` scores the form for the EDSS datasets: one EDSS per
        # record (a Kurtzke row read from its walking distance, never its stale ambulation cell; D-19.746);
        # "after the cut-off" on the subject's site calendar (D-19.732)
        scored = derive_edss(
            edss,
            options=edss_options,
            cutoff=cutoff,
            source=names.get("edss", "edss"),
            method=None,
            zones=zones,
        )
        problems = RowProblems(names.get("edss", "edss"))
        edss_frame = text_frame(as_frame(edss))
        table = parse_edss_table(edss_frame, problems, method=None, zones=zones)
        # one EDSS per subject and day: a day with two has no one baseline or follow-up score (D-19.1009)
        check_one_edss_a_day(
            table.subject_id.tolist(),
            _table_site_days(table, zones),
            problems,
            edss_frame,
            skip=(~np.isfinite(scored.table["edss"].to_numpy(dtype=float))).tolist(),
        )
        problems.raise_if_any()
        assessed |= {str(s) for s in table.subject_id}
        edss_scores = scored.table["edss"].to_numpy(dtype=float)
        for sid, by_measure in _series_from_edss(table, edss_scores, zones).items():
            series[sid].update(by_measure)
        if "edss_method" in scored.table:
            # each scored visit with its method, to find the baseline and follow-up methods (D-19.746)
            for sid, day, value, method in zip(
                table.subject_id,
                _table_site_days(table, zones),
                scored.table["edss"].to_numpy(dtype=float),
                scored.table["edss_method"].fillna("").astype(str),
                strict=True,
            ):
                if day is not None and np.isfinite(value):
                    edss_methods[str(sid)].append((day, (float(value), method)))
    if visual_acuity is not None:
        acuity = _acuity_table(
            visual_acuity, convention=offchart_convention, cutoff=cutoff, keep_going=False,
            source=names.get("visual_acuity", "visual_acuity"), zones=zones,
        )  # fmt: skip
        assessed |= {str(s) for s in acuity.subject_id}
        for sid, day, eye, va in zip(
            acuity.subject_id, _table_site_days(acuity, zones), acuity.eye, acuity.acuity, strict=True
        ):
            if day is not None and va is not None and eye:
                series[str(sid)][f"acuity_{str(eye).lower()}"].append((day, va))
    if osis is not None:
        problems = RowProblems(names.get("osis", "osis"))
        osis_table = parse_osis_table(text_frame(as_frame(osis)), problems, cutoff=cutoff, zones=zones)
        problems.raise_if_any()
        assessed |= {str(s) for s in osis_table.subject_id}
        _add_osis(series, osis_table, zones)
    if timed_walk is not None:
        problems = RowProblems(names.get("timed_walk", "timed_walk"))
        walk = parse_timed_walk_table(text_frame(as_frame(timed_walk)), problems, cutoff=cutoff, zones=zones)
        problems.raise_if_any()
        assessed |= {str(s) for s in walk.subject_id}
        _add_timed_walk(series, walk, zones)
    rank: dict[str, Callable[[Any], Any]] = {
        "acuity_od": acuity_rank,
        "acuity_os": acuity_rank,
        "ambulation": ambulation_rank,  # "0 or 1" between 0 and 1 (D-19.1006)
    }
    measures = measures_at_baseline_and_follow_up(series, days, chosen_follow_up, rank, onsets, window)
    if switch_rule is MethodSwitch.EXCLUDE:
        for sid, visits in edss_methods.items():
            if sid not in measures:
                continue
            pair = baseline_and_follow_up(
                visits, days[sid], chosen_follow_up, lambda v: v[0], onsets.get(sid, ()), window
            )
            if pair[0] is None or pair[1] is None:
                continue
            (base_value, base_method), (follow_value, follow_method) = pair
            pair_methods = {0: base_method, 1: follow_method}
            if walking_switch_day([(0, base_value), (1, follow_value)], pair_methods) is not None:
                measures[sid][1].setdefault(NOT_EVALUABLE, {})["edss"] = (
                    f"EDSS baseline ({base_method}) and follow-up ({follow_method}) scored by different "
                    "methods in the walking range (EDSS >= 4.0), where they differ by 0.5: not evaluable "
                    f"{METHOD_SWITCH_EXCLUDED}"
                )
    chosen = list(definitions) if definitions else [DEFAULT_RESPONDERS[d] for d in DEFAULT_RESPONDERS]
    summaries = tuple(responder_rate(n, measures, (parameters or {}).get(n)) for n in chosen)
    without_infusion = tuple(sorted(assessed - set(days) - set(late)))
    table = responder_table(summaries, len(days))
    notes = []
    if without_infusion:
        n = len(without_infusion)
        notes.append(
            f"{count(n, 'subject')} with assessments but no infusion {verb(n, 'is', 'are')} left out: "
            + ", ".join(without_infusion)
        )
    if late:
        notes.append(infused_after_cutoff_note(late, cutoff))
    if attacks is None and window:
        notes.append(NO_RELAPSE_DATA_NOTE)
    return ResponderResult(
        table,
        derivation="cartrial.neuro.derive_responders",
        options={
            "definitions": chosen,
            "follow_up": chosen_follow_up.value,
            "offchart_convention": convention.value,
            "method_switch": switch_rule.value,
            "baseline_visit": baseline_rule.value,
            "relapse_exclusion_days": relapse_exclusion_days,
            "relapse_data": attacks is not None,
        },
        sources=tuple(dict.fromkeys(s.source for s in summaries)),
        units={"percent": "% of evaluable", "percent_of_infused": "% of infused"},
        notes=tuple(notes),
        summaries=summaries,
        subjects_without_infusion=without_infusion,
        n_infused=len(days),
        infused_after_cutoff=late,
    )


_FLAG = {"visual_acuity": "va", "timed_walk": "timed-walk"}


def _add_osis(
    series: dict[str, dict[str, list[tuple[date, Any]]]], osis: OsisTable, zones: Mapping[str, str]
) -> None:
    days = _table_site_days(osis, zones)
    for i, sid in enumerate(osis.subject_id):
        day = days[i]
        if day is None:
            continue
        for name, values in osis.grades.items():
            if np.isfinite(values[i]):
                # a single (worse-eye) visual grade counts as one eye for osis_visual_decrease_1
                measure = "osis_visual_od" if name == "visual" else f"osis_{name}"
                series[str(sid)][measure].append((day, float(values[i])))


def _add_timed_walk(
    series: dict[str, dict[str, list[tuple[date, Any]]]], walk: TimedWalkTable, zones: Mapping[str, str]
) -> None:
    for sid, day, seconds, unable in zip(
        walk.subject_id, _table_site_days(walk, zones), walk.seconds, walk.unable_to_walk, strict=True
    ):
        if day is not None:
            # unable to walk = infinitely slow (worse than any time), not a missing value
            value = float(seconds) if np.isfinite(seconds) else (np.inf if unable else None)
            series[str(sid)]["t25fw_seconds"].append((day, value))


def responder_table(summaries: Iterable[ResponderSummary], n_infused: int | None = None) -> pd.DataFrame:
    """One row per definition: n subjects / evaluable / responders, percent of evaluable and (with
    `n_infused`) of all infused patients, parameters and description.

    >>> from cartrial.neuro.responders import responder_rate
    >>> s = responder_rate("edss_decrease_0_5", {"S1": ({"edss": 4.0}, {"edss": 3.0})})
    >>> row = responder_table([s], n_infused=2).iloc[0]
    >>> int(row.n_responders), float(row.percent), float(row.percent_of_infused)
    (1, 100.0, 50.0)
    """
    rows = []
    for s in summaries:
        row: dict[str, Any] = {
            "domain": s.domain.value,
            "definition": s.definition,
            "n_subjects": s.n_subjects,
            "n_evaluable": s.n_evaluable,
            "n_responders": s.n_responders,
            "percent": None if s.percent is None else round_half_away(s.percent, 1),
        }
        if n_infused is not None:
            share = percent_of_infused(s.n_responders, n_infused)
            row["n_infused"] = n_infused
            row["percent_of_infused"] = None if share is None else round_half_away(share, 1)
        row["parameters"] = ";".join(f"{k}={v}" for k, v in s.parameters.items())
        row["description"] = s.description
        rows.append(row)
    return pd.DataFrame(rows)


# --- what the protocol sets ----------------------------------------------------------------------------


def responder_definitions_from_protocol(protocol: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """The responder definitions a protocol chose a priori: endpoint key -> (definition name, parameters),
    for every endpoint whose ``definition`` names one of `RESPONDER_DEFINITIONS` (in protocol order).

    >>> from cartrial import examples
    >>> from cartrial.protocol import load_protocol
    >>> reference = load_protocol(examples.path("ct103a-nmosd") / "protocol.yaml")
    >>> chosen = responder_definitions_from_protocol(reference)
    >>> chosen["walking_response"][0]
    't25fw_20pct_faster'
    """
    chosen: dict[str, tuple[str, dict[str, Any]]] = {}
    for key, endpoint in protocol.endpoints.items():
        if endpoint.definition in RESPONDER_DEFINITIONS:
            chosen[key] = (endpoint.definition, dict(endpoint.parameters))
    return chosen


def relapse_options_from_protocol(protocol: Any, source: str | None = None) -> RelapseOptions:
    """`RelapseOptions` set by the protocol's relapse endpoints (``annualized_relapse_rate``,
    ``relapse_free_survival`` measures): e.g. ``require_adjudicated``, ``pre_window_months``,
    ``merge_window_days``. The rule is `cartrial.protocol.relapse_options.relapse_options_issues`, which every
    protocol load already applied (so a loaded protocol's parameters are valid); a protocol object built
    without validation gets the same problems as an `OptionError` naming each YAML key
    (``endpoints.arr.parameters.merge_window_days``) and the protocol file `source` when given.

    >>> from cartrial import examples
    >>> from cartrial.protocol import load_protocol
    >>> reference = load_protocol(examples.path("ct103a-nmosd") / "protocol.yaml")
    >>> relapse_options_from_protocol(reference).pre_window_months
    24
    """
    options, issues = relapse_options_issues(protocol.endpoints)
    if options is None:
        raise OptionError(
            [
                Problem(
                    issue.message,
                    file=source,
                    field=".".join(str(part) for part in issue.path),
                    value=issue.value,
                    allowed=issue.allowed,
                )
                for issue in issues
            ]
        )
    return options


# --- disability -----------------------------------------------------------------------------------------

WALKING_RANGE_EDSS = 4.0
"""From EDSS 4.0 the step is set by walking (Kurtzke 1983; Neurostatus ambulation score): the range where
the two EDSS methods can differ (D-19.746)."""


def walking_switch_day(visits: Sequence[tuple[int, float]], methods: Mapping[int, str]) -> int | None:
    """The first visit day after the baseline (``visits[0]``) scored by another EDSS method than the
    baseline with either EDSS >= 4.0 (the walking range, where Neurostatus and Kurtzke differ by 0.5:
    D-19.746); None when there is none. ``methods`` maps each visit day to its method."""
    start, base = visits[0]
    for day, value in visits[1:]:
        if methods[day] != methods[start] and max(value, base) >= WALKING_RANGE_EDSS:
            return day
    return None


#: the start of `derive_disability`'s reason for a subject whose every pre-infusion EDSS visit is during an
#: attack (``baseline_visit=outside_relapse``): no baseline (D-19.864); the analysis names the exclusion so
BASELINE_ONLY_IN_ATTACK = "no baseline: every pre-infusion EDSS is during an attack"


def _disability_row(
    sid: Any,
    baseline: float | None,
    last: float | None,
    better: DisabilityOutcome | None,
    worse: DisabilityOutcome | None,
    options: str,
    reason: str = "",
    excluded: Sequence[str] = (),
    baseline_day: int | None = None,
) -> dict[str, Any]:
    """One subject's row of `derive_disability`; `better`/`worse` None when no change can be evaluated (no
    baseline or no visit after it: not evaluable, nothing confirmed or unconfirmed; D-19.187; the worsening
    flags are then pd.NA, D-19.1189). A direction
    in `excluded` (a method switch, D-19.746) is not evaluable: its confirmed/unconfirmed are pd.NA."""
    improved = better.confirmed if better is not None else None
    worsened = worse.confirmed if worse is not None else None
    row = {
        "subject_id": sid,
        "baseline_edss": baseline,
        "baseline_day": baseline_day if baseline is not None else None,
        "last_edss": last,
        "improvement_evaluable": better is not None and better.evaluable,
        "improvement_confirmed": improved is not None,
        "improvement_confirmed_day": improved.confirmation_day if improved is not None else None,
        "improvement_unconfirmed": improved is None and better is not None and bool(better.unconfirmed),
        # no change to evaluate: not evaluable for worsening (pd.NA), never "not worsened" — as ADEDSS.CRIT2FL
        # is blank for it (D-19.1138, D-19.1189)
        "worsening_confirmed": worsened is not None if worse is not None else pd.NA,
        "worsening_relapse_associated": worsened.relapse_associated if worsened is not None else None,
        "worsening_unconfirmed": (worsened is None and bool(worse.unconfirmed))
        if worse is not None
        else pd.NA,
        "reason": reason,
        "options": options,
    }
    for direction in excluded:
        row[f"{direction}_confirmed"] = pd.NA
        row[f"{direction}_unconfirmed"] = pd.NA
    return row


def _unscored_rows(scored: pd.DataFrame) -> pd.Series:
    """Which rows of a scored EDSS table have no score: a blank ``edss`` is unscored only in a row with an
    ``error`` (a bad row kept by `derive_edss(..., keep_going=True)`, D-19.685); any other score that is not
    an EDSS step is the user's bad input, refused with its row, field and value (D-19.689)."""
    problems = RowProblems("edss")
    errors = scored["error"] if "error" in scored.columns else pd.Series("", index=scored.index)
    unscored = pd.Series(False, index=scored.index)
    for position, (index, value) in enumerate(scored["edss"].items()):
        number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        if pd.isna(number) and str(errors[index] if pd.notna(errors[index]) else "").strip():
            unscored[index] = True
            continue
        problem = edss_step_problem("edss", number)
        if problem is not None:
            blank = value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))
            message = problem.message
            if pd.isna(number):
                message = (
                    "EDSS score missing or not a number (a visit is left out unscored only in a row with an "
                    "`error`, a bad row kept by derive_edss(..., keep_going=True))"
                )
            problems.add(position, "edss", "" if blank else value, message, problem.allowed)
    problems.raise_if_any()
    return unscored


def derive_disability(
    edss: FrameLike | Result,
    infusions: FrameLike | Mapping[str, date],
    *,
    relapses: Sequence[RelapseEpisode] | Sequence[Attack] | FrameLike | None = None,
    relapse_options: RelapseOptions | None = None,
    options: DisabilityOptions | None = None,
) -> Result:
    """Confirmed and unconfirmed EDSS improvement and worsening per subject (docs/science/neuro-outcomes.md
    §5), from the
    baseline visit on: the last visit on or before day 0, outside the relapse exclusion window after a relapse
    onset unless ``options.baseline_visit`` is ``last`` (D-19.864; its day in ``baseline_day``). A subject
    with no visit on or before day 0 (or only visits during an attack) has no baseline
    (`baseline_edss` blank, never a later visit in its place), one with no visit after the baseline has no
    `last_edss`; neither change is evaluated (D-19.187). `edss` is a scored form (``subject_id``,
    ``assessed_at``, ``edss``; e.g. `derive_edss`'s result) or a raw EDSS form (scored with default
    options). Relapses classify worsening as relapse-associated or PIRA (without ``relapses`` the class is
    blank, unknown, and a note says so; D-19.867), and visits within
    ``options.relapse_exclusion_days`` after a relapse onset do not confirm a change. A visit without a score
    (a bad row of a ``keep_going`` result) is left out and named in the notes, the subject evaluated on its
    scored visits; a subject with no infusion is named in the notes too (D-19.685).

    >>> edss = pd.DataFrame({"subject_id": ["S1"] * 3,
    ...                      "assessed_at": ["2021-01-01", "2021-04-01", "2021-08-01"],
    ...                      "edss": [4.0, 3.0, 3.0]})
    >>> derive_disability(edss, {"S1": date(2021, 1, 1)}).table.improvement_confirmed.tolist()
    [True]
    """
    options = options or DisabilityOptions()
    relapse_options = relapse_options or RelapseOptions()
    if isinstance(edss, Result):
        scored = edss.table
    else:
        data = as_frame(edss)
        scored = data if "edss" in data.columns else derive_edss(data, method=None).table
    days = infusion_days(infusions)
    zones = infusion_time_zones(infusions)  # each visit's date on the site's calendar (D-19.607)
    attacks = relapse_attacks(relapses, relapse_options) or []
    options_text = ";".join(f"{k}={v}" for k, v in options.as_dict().items())
    rows = []
    notes: list[str] = []
    without_infusion: list[str] = []
    scored = scored.reset_index(drop=True)
    unscored_rows = _unscored_rows(scored)
    # one EDSS per subject and day on the site's calendar, refused at the later row (D-19.1009)
    same_day = RowProblems("edss")
    check_one_edss_a_day(
        scored["subject_id"].astype(str).tolist(),
        [
            None if pd.isna(t) or not str(t).strip() else _visit_day(t, zones.get(str(sid)))
            for sid, t in zip(scored["subject_id"], scored["assessed_at"], strict=True)
        ],
        same_day,
        scored,
        skip=unscored_rows.tolist(),
    )
    same_day.raise_if_any()
    # each visit's EDSS method when the scored form names it (`derive_edss`, a Kurtzke row among them)
    methods = scored["edss_method"].fillna("").astype(str).to_numpy() if "edss_method" in scored else None
    method_switched: list[str] = []
    unclassed: list[str] = []  # confirmed worsening, no relapse data: neither RAW nor PIRA (D-19.867)
    switch_excluded: dict[str, list[str]] = {}  # the directions not evaluable -> subjects (D-19.746)
    for sid, group in scored.groupby("subject_id", sort=True):
        if str(sid) not in days:
            without_infusion.append(str(sid))
            continue
        day0 = days[str(sid)]
        visit_days = [(_visit_day(t, zones.get(str(sid))) - day0).days for t in group["assessed_at"]]
        has_score = ~unscored_rows[group.index]
        visits = [(d, float(e)) for d, e, ok in zip(visit_days, group["edss"], has_score, strict=True) if ok]
        # a visit without a score (a bad row of a keep-going EDSS result) is left out, the subject keeps its
        # row from the scored visits (D-19.685); it still took place, so it is the baseline when it is the
        # last visit on or before day 0 (no baseline then) and it blocks a confirmation across it (D-19.688)
        unscored_days = [d for d, ok in zip(visit_days, has_score, strict=True) if not ok]
        affected: list[str] = []
        all_days = sorted(visit_days)
        # every onset of an attack, its merged later worsenings too: a visit within the exclusion window
        # after any of them is during the attack (D-19.686)
        relapse_days = [(o - day0).days for a in attacks if a.subject_id == str(sid) for o in a.onsets]
        window = options.relapse_exclusion_days
        # the baseline is not a visit during an attack: its score is the attack's (D-19.864)
        in_attack = baseline_excluded_days(all_days, relapse_days, options.baseline_visit, window)
        before = [d for d in all_days if d <= 0 and d not in in_attack]
        baseline_unscored = bool(before) and max(before) in unscored_days and max(before) not in dict(visits)
        baseline_days = [d for d, _ in visits if d <= 0 and d not in in_attack]
        later = [(d, e) for d, e in visits if d > 0]
        if baseline_unscored or not baseline_days or not later:
            # no baseline (no visit on or before day 0, or the last one unscored) or no visit after it: no
            # change to evaluate, never a post-infusion (or an earlier) visit taken as the baseline (D-19.187)
            if baseline_unscored:
                reason = "the baseline visit (last on or before day 0) is without a score: no baseline"
                affected.append("the baseline visit is one of them: no baseline, no change evaluated")
            elif not baseline_days and in_attack:
                reason = (
                    f"{BASELINE_ONLY_IN_ATTACK}: every EDSS visit on or before day 0 is within {window} days "
                    "after a relapse onset (baseline_visit=outside_relapse; D-19.864)"
                )
            elif not baseline_days:
                reason = "no scored EDSS visit on or before day 0: no baseline"
            else:
                reason = "no scored EDSS visit after the baseline"
            baseline = None if baseline_unscored or not baseline_days else dict(visits)[max(baseline_days)]
            rows.append(
                _disability_row(
                    sid,
                    baseline,
                    max(later)[1] if later else None,
                    None,
                    None,
                    options_text,
                    reason,
                    baseline_day=max(baseline_days) if baseline is not None else None,
                )
            )
        else:
            start = max(baseline_days)
            # the baseline and the visits after day 0 (a visit between them is during an attack, D-19.864)
            visits = sorted((d, e) for d, e in visits if d == start or d > 0)
            outcomes = {
                direction: confirmed_disability_change(
                    visits, direction, options, relapse_days, [d for d in unscored_days if d > start]
                )
                for direction in ("worsening", "improvement")
            }
            reasons = []
            skipped = sorted(d for d in in_attack if d > start)
            if skipped:
                reasons.append(
                    f"baseline from day {start}: the visit on day {skipped[-1]} is within {window} days "
                    "after a relapse onset (baseline_visit=outside_relapse; D-19.864)"
                )
            for direction, outcome in outcomes.items():
                blocked = [u for u in outcome.unconfirmed if u.reason == UNSCORED_BEFORE_CONFIRMATION]
                if not blocked:
                    continue
                article = "an" if direction == "improvement" else "a"
                if outcome.confirmed is None:
                    reasons.append(
                        f"{direction} from day {blocked[0].onset_day} not confirmed: a visit without a score "
                        "lies between its onset and the confirming visit"
                    )
                    affected.append(f"{article} {direction} is not confirmed across one")
                else:
                    # a later onset was confirmed: say so, never "not confirmed" beside a confirmed change
                    reasons.append(
                        f"{direction} from day {blocked[0].onset_day} not confirmed across a visit without a "
                        f"score; confirmed from day {outcome.confirmed.onset_day}"
                    )
                    affected.append(f"{article} {direction} is confirmed only from a later onset")
            better: DisabilityOutcome | None = outcomes["improvement"]
            worse: DisabilityOutcome | None = outcomes["worsening"]
            switched = False
            switch_day: int | None = None
            excluded_directions: list[str] = []
            if methods is not None:  # the baseline and a later visit scored by different methods (D-19.742)
                by_day = dict(zip(visit_days, methods[group.index], strict=True))
                switched = any(by_day[d] != by_day[start] for d, _ in visits if d > start)
                # in the walking range (either EDSS >= 4.0) the methods differ at 6.0/6.5: a change confirmed
                # before the first such switch stands; one that needs a visit on or after it is not
                # evaluable under method_switch=exclude (D-19.746)
                switch_day = walking_switch_day(visits, by_day)
                if switch_day is not None and options.method_switch is MethodSwitch.EXCLUDE:
                    for direction, outcome in outcomes.items():
                        change = outcome.confirmed
                        if outcome.evaluable and (change is None or change.confirmation_day >= switch_day):
                            excluded_directions.append(direction)
            excluded = bool(excluded_directions)
            if excluded:
                if "improvement" in excluded_directions:
                    better = None
                if "worsening" in excluded_directions:
                    worse = None
                reasons.append(
                    f"{' and '.join(excluded_directions)} not evaluable: no change confirmed before day "
                    f"{switch_day}, the first visit scored by another EDSS method than the baseline in the "
                    "walking range (EDSS >= 4.0), where they differ by 0.5 (method_switch=exclude; D-19.746)"
                )
            rows.append(
                _disability_row(
                    sid,
                    visits[0][1],
                    visits[-1][1],
                    better,
                    worse,
                    options_text,
                    "; ".join(reasons),
                    excluded_directions,
                    baseline_day=start,
                )
            )
            if relapses is None and rows[-1]["worsening_confirmed"] is True:
                # RAW vs PIRA is a statement about the relapses: without relapse data it is unknown (D-19.867)
                rows[-1]["worsening_relapse_associated"] = None
                unclassed.append(str(sid))
            if methods is not None:
                rows[-1]["method_switch"] = switched
                # either direction excluded; the per-direction flags say which (D-19.746)
                rows[-1]["method_switch_excluded"] = excluded
                rows[-1]["improvement_switch_excluded"] = "improvement" in excluded_directions
                rows[-1]["worsening_switch_excluded"] = "worsening" in excluded_directions
                if switched:
                    method_switched.append(str(sid))
                if excluded:
                    switch_excluded.setdefault(" and ".join(excluded_directions), []).append(str(sid))
        if unscored_days:
            n = len(unscored_days)
            notes.append(
                f"{sid}: {count(n, 'EDSS visit')} without a score {verb(n, 'is', 'are')} left out of the "
                "disability change (see the EDSS form's errors)"
                + (f"; {'; '.join(affected)}" if affected else "")
            )
    columns = [
        "subject_id",
        "baseline_edss",
        "baseline_day",
        "last_edss",
        "improvement_evaluable",
        "improvement_confirmed",
        "improvement_confirmed_day",
        "improvement_unconfirmed",
        "worsening_confirmed",
        "worsening_relapse_associated",
        "worsening_unconfirmed",
        "reason",
        "options",
    ]
    if methods is not None:
        switch_flags = [
            "method_switch",
            "method_switch_excluded",
            "improvement_switch_excluded",
            "worsening_switch_excluded",
        ]
        columns.extend(switch_flags)
        for row in rows:
            for flag in switch_flags:
                row.setdefault(flag, False)
    if method_switched:
        n = len(method_switched)
        notes.append(
            f"EDSS method changes after the baseline for {count(n, 'subject')} "
            f"({', '.join(method_switched)}): "
            "the baseline and a later visit are scored by different methods (Neurostatus ambulation score, "
            "Kurtzke walking distance and aid), so the change from baseline and any confirmed change across "
            "the switch compare two walking scales (method_switch; D-19.742)"
        )
    for directions, subjects in switch_excluded.items():
        n = len(subjects)
        notes.append(
            f"confirmed EDSS {directions} not evaluable for {count(n, 'subject')} ({', '.join(subjects)}): "
            "a method switch in the walking range (EDSS >= 4.0; improvement_switch_excluded, "
            "worsening_switch_excluded; method_switch_excluded is either; option method_switch=include "
            "evaluates it; D-19.746)"
        )
    if unclassed:
        n = len(unclassed)
        notes.append(
            f"confirmed EDSS worsening of {count(n, 'subject')} ({', '.join(unclassed)}) not classed as "
            "relapse-associated or PIRA: no relapse data given (worsening_relapse_associated blank; D-19.867)"
        )
    if without_infusion:
        n = len(without_infusion)
        notes.append(
            f"{count(n, 'subject')} with EDSS visits but no infusion {verb(n, 'is', 'are')} left out: "
            + ", ".join(without_infusion)
        )
    return Result(
        pd.DataFrame(rows, columns=columns),  # the same columns when no subject has a scored EDSS
        derivation="cartrial.neuro.derive_disability",
        notes=tuple(notes),
        options={**options.as_dict(), "relapses": relapse_options.as_dict()},
        sources=("docs/science/neuro-outcomes.md §5 (msclinical 0.1.0; Kappos 2020; AFFIRM post hoc)",),
        units={
            "baseline_edss": "EDSS step",
            "baseline_day": "study day (day 0 = infusion)",
            "last_edss": "EDSS step",
            "improvement_confirmed_day": "study day",
        },
    )


def has_edss_change(table: pd.DataFrame) -> pd.Series:
    """Which rows of a `derive_disability` table have an EDSS change to evaluate: a baseline EDSS and a later
    one (`baseline_edss` and `last_edss` both present; D-19.187). The one rule of the analysis population
    ``efficacy:edss_change`` (read by ADSL.EDSSEFL and ADEDSS.CRIT2FL) and of the demo's EDSS line
    (D-19.1138).

    >>> has_edss_change(pd.DataFrame({"baseline_edss": [2.0, None], "last_edss": [3.0, 3.0]})).tolist()
    [True, False]
    """
    return table["baseline_edss"].notna() & table["last_edss"].notna()


__all__ = [
    "BARE_NUMBER_NOTATIONS",
    "BASELINE_ONLY_IN_ATTACK",
    "MEASURE_FORM",
    "NO_RELAPSE_DATA_NOTE",
    "NUMERIC_NOTATION",
    "RELAPSES_ALLOWED",
    "FollowUpEnd",
    "FrameLike",
    "RelapseResult",
    "ResponderResult",
    "arr_listing",
    "as_frame",
    "check_visual_acuity_options",
    "derive_disability",
    "derive_edss",
    "derive_osis",
    "derive_relapses",
    "derive_responders",
    "derive_visual_acuity",
    "end_at_death",
    "end_of_follow_up",
    "format_ratio",
    "has_edss_change",
    "infused_after_cutoff_note",
    "infused_by_cutoff",
    "infusion_days",
    "km_frame",
    "percent_of_infused",
    "relapse_attacks",
    "relapse_episodes",
    "relapse_options_from_protocol",
    "responder_definitions_from_protocol",
    "responder_table",
]
