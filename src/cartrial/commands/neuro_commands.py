"""`cartrial score …` and `cartrial relapses`: batch scoring of the neurological forms (CSV in, CSV/JSON out).

Thin layer: read the CSV (`cartrial.tabular`), validate it (`cartrial.neuro.tables`), compute with the engine
(`cartrial.neuro`), write the input rows plus the derived columns and record the options used. Bad rows:
fail listing all of them (exit 2, nothing written) or, with ``--keep-going``, compute the good rows and fill
an ``error`` column for the bad ones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from cartrial.columns import RowProblems
from cartrial.demo import DemoContext
from cartrial.errors import ConfigurationError, InputError, Problem
from cartrial.neuro.choices import choose
from cartrial.neuro.disability import DisabilityOptions, confirmed_disability_change
from cartrial.neuro.edss_scale import (
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
    ArrSummary,
    MergeAnchor,
    RateEstimate,
    RelapseFreeSurvival,
    RelapseOptions,
    RelapseRecord,
    SubjectFollowUp,
    annualised_relapse_rates,
    merge_attacks,
    qualifies,
    relapse_free_survival,
)
from cartrial.neuro.responders import (
    DEFAULT_RESPONDERS,
    RESPONDER_DEFINITIONS,
    FollowUpChoice,
    ResponderSummary,
    measures_at_baseline_and_follow_up,
    responder_rate,
)
from cartrial.neuro.tables import (
    EDSS_COLUMNS,
    EDSS_KURTZKE_COLUMNS,
    INFUSION_ONE_OF,
    LAST_ASSESSMENT_COLUMNS,
    OSIS_COLUMNS,
    OSIS_ONE_OF,
    OSIS_REQUIRED,
    RELAPSE_COLUMNS,
    RELAPSE_OPTIONAL,
    TIMED_WALK_COLUMNS,
    TIMED_WALK_OPTIONAL,
    VA_COLUMNS,
    VA_OPTIONAL,
    AcuityTable,
    EdssTable,
    OsisTable,
    TimedWalkTable,
    parse_birth_dates,
    parse_edss_table,
    parse_infusion_table,
    parse_last_assessments,
    parse_osis_table,
    parse_relapse_table,
    parse_timed_walk_table,
    parse_va_table,
)
from cartrial.neuro.visual_acuity import (
    OffChartConvention,
    VisualAcuity,
    format_snellen,
    visual_fs_from_acuity,
)
from cartrial.tabular import dumps_json, emit_table, read_csv, to_json_records, write_atomic

score_app = typer.Typer(
    help="Score neurological forms: EDSS, visual acuity, OSIS, walking/bladder/vision responders.",
    no_args_is_help=True,
)

OUT_OPTION = typer.Option(None, "--out", "-o", help="Write the result to this file instead of stdout.")
JSON_OPTION = typer.Option(False, "--json", help="Write JSON (options used + rows) instead of CSV.")
KEEP_GOING_OPTION = typer.Option(
    False, "--keep-going", help="Score the good rows and add an `error` column for bad ones (default: fail)."
)
CUTOFF_OPTION = typer.Option(
    None, "--cutoff", "--data-cutoff", help="Data cut-off date (YYYY-MM-DD); later dates are errors."
)
CONVENTION_OPTION = typer.Option(
    "none",
    "--offchart-convention",
    help="logMAR of CF/HM/LP/NLP: none (default, categorical), conventional, schulze_bonsel_2006, lange_2009",
)

_err = Console(stderr=True)


def _date_option(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(Problem("not a date", field=name, value=value, allowed="YYYY-MM-DD")) from None


def _with_errors(frame: pd.DataFrame, problems: RowProblems, keep_going: bool) -> pd.DataFrame:
    if keep_going and problems:
        frame = frame.copy()
        frame["error"] = problems.error_column(len(frame))
    return frame


# --- EDSS -----------------------------------------------------------------------------------------------


def edss_options(
    preset: str = "neurostatus_default",
    cerebral_grade1_as_zero: bool | None = None,
    fs4_with_grade2_step: float | None = None,
    fs4_with_3plus_grade3_step: float | None = None,
    ambulation1_catchall_first: bool | None = None,
    ambulation1_floor: str | None = None,
) -> EdssOptions:
    """`EdssOptions` from a preset and the options given on the command line."""
    overrides: dict[str, Any] = {}
    if cerebral_grade1_as_zero is not None:
        overrides["cerebral_grade1_as_zero"] = cerebral_grade1_as_zero
    if fs4_with_grade2_step is not None:
        overrides["fs4_with_grade2_step"] = fs4_with_grade2_step
    if fs4_with_3plus_grade3_step is not None:
        overrides["fs4_with_3plus_grade3_step"] = fs4_with_3plus_grade3_step
    if ambulation1_catchall_first is not None:
        overrides["ambulation1_catchall_first"] = ambulation1_catchall_first
        overrides["ambulation2_catchall_first"] = ambulation1_catchall_first
    if ambulation1_floor is not None:
        if ambulation1_floor.lower() not in ("none", "2", "2.0"):
            raise ConfigurationError(f"--ambulation1-floor must be 2.0 or none, got {ambulation1_floor}")
        overrides["ambulation1_floor"] = None if ambulation1_floor.lower() == "none" else 2.0
    return EdssOptions.from_preset(preset, **overrides)


def _fill_visual_from_acuity(table: EdssTable, acuity: AcuityTable, problems: RowProblems) -> list[str]:
    """Fill blank visual FS from both eyes' acuity on the same date (neuro-outcomes §1.2; a lower bound)."""
    eyes: dict[tuple[str, date], dict[str, VisualAcuity]] = defaultdict(dict)
    for sid, moment, eye, va in zip(
        acuity.subject_id, acuity.assessed_at, acuity.eye, acuity.acuity, strict=True
    ):
        if moment is not None and va is not None and eye:
            eyes[(str(sid), moment.date())][str(eye)] = va
    source = ["recorded"] * len(table.subject_id)
    already_bad = problems.bad_mask(len(table.subject_id))
    for i in range(len(table.subject_id)):
        if not np.isnan(table.fs[i, 0]) or table.assessed_at[i] is None or already_bad[i]:
            continue
        found = eyes.get((str(table.subject_id[i]), table.assessed_at[i].date()), {})  # type: ignore[union-attr]
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


def score_edss_frame(
    frame: pd.DataFrame,
    problems: RowProblems,
    options: EdssOptions,
    *,
    keep_going: bool = False,
    cutoff: date | None = None,
    acuity: AcuityTable | None = None,
    method: str = "neurostatus_16",
    gaps: KurtzkeGapOptions | None = None,
) -> pd.DataFrame:
    """Validate and score an EDSS form; returns the input rows plus ``edss`` and ``edss_rule`` (and, for the
    Kurtzke method, the equivalent ambulation score)."""
    table = parse_edss_table(
        frame, problems, cutoff=cutoff, visual_required=acuity is None, method=method, gaps=gaps
    )
    visual_source = _fill_visual_from_acuity(table, acuity, problems) if acuity is not None else None
    problems.raise_if_any(keep_going)
    good = ~problems.bad_mask(len(frame)) & np.isfinite(table.fs).all(axis=1) & np.isfinite(table.ambulation)
    scores = np.full(len(frame), np.nan)
    rules = np.full(len(frame), "", dtype=object)
    if good.any():
        values, indices = edss_array(
            table.fs[good].astype(np.int8), table.ambulation[good].astype(np.int8), options
        )
        scores[good] = values
        rules[good] = rule_codes(indices)
    result = frame.copy()
    if visual_source is not None:
        result["visual"] = ["" if np.isnan(v) else str(int(v)) for v in table.fs[:, 0]]
        result["visual_source"] = visual_source
    if table.walking_rule is not None:
        walking = np.asarray(table.walking_rule, dtype=object)
        rules = np.where(rules == "ambulation_ge3", walking, rules)
        result["ambulation_equivalent"] = table.ambulation
    result["edss"] = scores
    result["edss_rule"] = rules
    if table.walking_rule is not None:
        result["edss_method"] = EdssMethod.KURTZKE.value
    return _with_errors(result, problems, keep_going)


@score_app.command("edss")
def score_edss(
    file: Path = typer.Argument(..., help="EDSS form (docs/templates/edss.csv)."),
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
    keep_going: bool = KEEP_GOING_OPTION,
    preset: str = typer.Option(
        "neurostatus_default", "--preset", help="neurostatus_default | edss_js | edsscalculator_r (§1.10)."
    ),
    cerebral_grade1_as_zero: bool | None = typer.Option(
        None, "--cerebral-grade1-as-zero/--cerebral-grade1-counts", help="Option (a); default: as zero."
    ),
    fs4_with_grade2_step: float | None = typer.Option(None, help="Option (b): 4.5 (default) or 4.0."),
    fs4_with_3plus_grade3_step: float | None = typer.Option(None, help="Option (c): 5.0 (default) or 4.5."),
    ambulation1_catchall_first: bool | None = typer.Option(
        None, "--ambulation-catchall-first/--fs-rules-first", help="Option (d); default: FS rules first."
    ),
    ambulation1_floor: str | None = typer.Option(None, help="Option (e): 2.0 (default) or none."),
    cutoff: str | None = CUTOFF_OPTION,
    visual_acuity: Path | None = typer.Option(
        None, "--visual-acuity", help="Acuity form used to derive a blank visual FS (a lower bound)."
    ),
    offchart_convention: str = CONVENTION_OPTION,
    method: str = typer.Option(
        "neurostatus_16",
        "--method",
        help="neurostatus_16 (ambulation column; default) or kurtzke (walking_distance_m, assistance).",
    ),
    no_aid_under_100m_step: float = typer.Option(6.0, help="Kurtzke gap rule: no aid, < 100 m (6.0 or 5.5)."),
    unilateral_under_100m_step: float = typer.Option(6.5, help="Kurtzke gap rule: unilateral aid, < 100 m."),
    bilateral_over_20m_step: float = typer.Option(6.5, help="Kurtzke gap rule: bilateral aid, > 20 m."),
) -> None:
    """Add `edss` and `edss_rule` to an EDSS form of raw FS scores and Neurostatus ambulation (0-16)."""
    kind = choose(EdssMethod, method, "--method")
    gaps = KurtzkeGapOptions(
        no_aid_under_100m_step=no_aid_under_100m_step,
        unilateral_under_100m_step=unilateral_under_100m_step,
        bilateral_over_20m_step=bilateral_over_20m_step,
    )
    options = edss_options(
        preset,
        cerebral_grade1_as_zero,
        fs4_with_grade2_step,
        fs4_with_3plus_grade3_step,
        ambulation1_catchall_first,
        ambulation1_floor,
    )
    cut = _date_option(cutoff, "--cutoff")
    columns = EDSS_KURTZKE_COLUMNS if kind is EdssMethod.KURTZKE else EDSS_COLUMNS
    frame = read_csv(file, required=[c for c in columns if c not in ("visual", "walking_distance_m")
                                     or (c == "visual" and visual_acuity is None)])  # fmt: skip
    acuity = None
    if visual_acuity is not None:
        va_frame = read_csv(visual_acuity, required=VA_COLUMNS, optional=VA_OPTIONAL)
        va_problems = RowProblems(visual_acuity)
        acuity = parse_va_table(va_frame, va_problems, convention=offchart_convention, cutoff=cut)
        va_problems.raise_if_any(keep_going)
    problems = RowProblems(file)
    result = score_edss_frame(
        frame,
        problems,
        options,
        keep_going=keep_going,
        cutoff=cut,
        acuity=acuity,
        method=kind.value,
        gaps=gaps,
    )
    recorded: dict[str, Any] = {"method": kind.value, "options": options.as_dict(), "source": EDSS_SOURCE}
    if kind is EdssMethod.KURTZKE:
        recorded["kurtzke_gaps"] = asdict(gaps)
    if not as_json:
        # CSV has no header block: record the options used on every row (house rule; JSON has them above)
        used = {"method": kind.value, **options.as_dict(), **recorded.get("kurtzke_gaps", {})}
        text = ";".join(f"{key}={value}" for key, value in used.items())
        # before the `error` column of --keep-going, which stays last
        position = result.columns.get_loc("error") if "error" in result.columns else len(result.columns)
        result.insert(position, "edss_options", text)
    emit_table(result, out, as_json, recorded)


# --- visual acuity --------------------------------------------------------------------------------------


def score_va_frame(
    frame: pd.DataFrame,
    problems: RowProblems,
    *,
    convention: str = "none",
    numeric_notation: str | None = None,
    keep_going: bool = False,
    cutoff: date | None = None,
) -> pd.DataFrame:
    """Validate an acuity form and add notation, logMAR, decimal, Snellen 20-ft denominator, ETDRS letters,
    off-chart level and the visual FS implied by both eyes on that date (neuro-outcomes §1.2, §2)."""
    table = parse_va_table(
        frame, problems, convention=convention, numeric_notation=numeric_notation, cutoff=cutoff
    )
    problems.raise_if_any(keep_going)
    result = frame.copy()
    result["notation"] = [va.notation.value if va else "" for va in table.acuity]
    result["logmar"] = [_round(va.logmar if va else None, 3) for va in table.acuity]
    result["decimal"] = [_round(va.decimal if va else None, 3) for va in table.acuity]
    result["snellen_20"] = [
        format_snellen(va.logmar, 20) if va and va.logmar is not None else "" for va in table.acuity
    ]
    result["snellen_20_denominator"] = [_round(va.snellen_20 if va else None, 1) for va in table.acuity]
    result["etdrs_letters"] = [_round(va.etdrs_letters if va else None, 0) for va in table.acuity]
    result["off_chart"] = [va.off_chart.value if va and va.off_chart else "" for va in table.acuity]
    pairs: dict[tuple[str, date], dict[str, VisualAcuity]] = defaultdict(dict)
    for sid, moment, eye, va in zip(
        table.subject_id, table.assessed_at, table.eye, table.acuity, strict=True
    ):
        if moment is not None and va is not None and eye:
            pairs[(str(sid), moment.date())][str(eye)] = va
    derived: list[int | None] = []
    for sid, moment in zip(table.subject_id, table.assessed_at, strict=True):
        both = pairs.get((str(sid), moment.date()), {}) if moment is not None else {}
        derived.append(visual_fs_from_acuity(both["OD"], both["OS"]) if len(both) == 2 else None)
    result["visual_fs_from_acuity"] = pd.Series(derived, index=result.index, dtype=object)  # whole grades
    result["offchart_convention"] = choose(OffChartConvention, convention, "--offchart-convention").value
    return _with_errors(result, problems, keep_going)


def _round(value: float | None, digits: int) -> float:
    return np.nan if value is None else round(value, digits)


@score_app.command("va")
def score_va(
    file: Path = typer.Argument(..., help="Visual acuity form (docs/templates/visual_acuity.csv)."),
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
    keep_going: bool = KEEP_GOING_OPTION,
    offchart_convention: str = CONVENTION_OPTION,
    numeric_notation: str | None = typer.Option(
        None, "--numeric-notation", help="How to read a bare number: decimal | logmar | etdrs_letters."
    ),
    cutoff: str | None = CUTOFF_OPTION,
) -> None:
    """Add logmar, decimal, snellen_20 (and letters, visual FS from acuity) to a visual acuity form."""
    convention = choose(OffChartConvention, offchart_convention, "--offchart-convention").value
    bare_number = ("decimal", "logmar", "etdrs_letters")  # the notations a bare number can be read in
    if numeric_notation is not None and numeric_notation not in bare_number:
        raise ConfigurationError(
            f"--numeric-notation: {numeric_notation!r} is not allowed; allowed: {', '.join(bare_number)}"
        )
    frame = read_csv(file, required=VA_COLUMNS, optional=VA_OPTIONAL)
    problems = RowProblems(file)
    result = score_va_frame(
        frame,
        problems,
        convention=convention,
        numeric_notation=numeric_notation,
        keep_going=keep_going,
        cutoff=_date_option(cutoff, "--cutoff"),
    )
    emit_table(
        result,
        out,
        as_json,
        {
            "offchart_convention": convention,
            "source": "neuro-outcomes.md §2 (logmar 0.1.0, visual-acuity-conversion 0.9.1)",
        },
    )


# --- OSIS -----------------------------------------------------------------------------------------------


def score_osis_frame(
    frame: pd.DataFrame, problems: RowProblems, *, keep_going: bool = False, cutoff: date | None = None
) -> pd.DataFrame:
    """Validate an OSIS form; adds the worse-eye visual grade (no total score is defined)."""
    table = parse_osis_table(frame, problems, cutoff=cutoff)
    problems.raise_if_any(keep_going)
    result = frame.copy()
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
    return _with_errors(result, problems, keep_going)


@score_app.command("osis")
def score_osis(
    file: Path = typer.Argument(..., help="OSIS form (docs/templates/osis.csv)."),
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
    keep_going: bool = KEEP_GOING_OPTION,
    cutoff: str | None = CUTOFF_OPTION,
) -> None:
    """Validate an OSIS form (Wingerchuk 1999) and add the worse-eye visual grade."""
    frame = read_csv(file, required=OSIS_REQUIRED, one_of=OSIS_ONE_OF)
    problems = RowProblems(file)
    result = score_osis_frame(frame, problems, keep_going=keep_going, cutoff=_date_option(cutoff, "--cutoff"))
    emit_table(result, out, as_json, {"source": OSIS_SOURCE})


# --- responders -----------------------------------------------------------------------------------------


def _series_from_edss(
    table: EdssTable, scores: np.ndarray, good: np.ndarray
) -> dict[str, dict[str, list[tuple[date, Any]]]]:
    series: dict[str, dict[str, list[tuple[date, Any]]]] = defaultdict(lambda: defaultdict(list))
    for i, sid in enumerate(table.subject_id):
        moment = table.assessed_at[i]
        if not good[i] or moment is None:
            continue
        day = moment.date()
        for j, name in enumerate(FS_NAMES):
            series[str(sid)][name].append((day, float(table.fs[i, j])))
        series[str(sid)]["ambulation"].append((day, float(table.ambulation[i])))
        series[str(sid)]["edss"].append((day, float(scores[i])))
    return series


def responder_summaries(
    *,
    infusions: dict[str, date],
    edss: tuple[EdssTable, np.ndarray, np.ndarray] | None = None,
    acuity: AcuityTable | None = None,
    osis: OsisTable | None = None,
    timed_walk: TimedWalkTable | None = None,
    definitions: list[str] | None = None,
    follow_up: str = "last",
) -> list[ResponderSummary]:
    """Responder percentages under the named definitions (default: one per domain) from validated forms."""
    series: dict[str, dict[str, list[tuple[date, Any]]]] = defaultdict(lambda: defaultdict(list))
    if edss is not None:
        for sid, by_measure in _series_from_edss(*edss).items():
            series[sid].update(by_measure)
    if acuity is not None:
        for sid, moment, eye, va in zip(
            acuity.subject_id, acuity.assessed_at, acuity.eye, acuity.acuity, strict=True
        ):
            if moment is not None and va is not None and eye:
                series[str(sid)][f"acuity_{str(eye).lower()}"].append((moment.date(), va))
    if osis is not None:
        for i, sid in enumerate(osis.subject_id):
            moment = osis.assessed_at[i]
            if moment is None:
                continue
            for name, values in osis.grades.items():
                if np.isfinite(values[i]):
                    # a single (worse-eye) visual grade counts as one eye for osis_visual_decrease_1
                    measure = "osis_visual_od" if name == "visual" else f"osis_{name}"
                    series[str(sid)][measure].append((moment.date(), float(values[i])))
    if timed_walk is not None:
        for sid, moment, seconds, unable in zip(
            timed_walk.subject_id,
            timed_walk.assessed_at,
            timed_walk.seconds,
            timed_walk.unable_to_walk,
            strict=True,
        ):
            if moment is not None:
                # unable to walk = infinitely slow (worse than any time), not a missing value
                value = float(seconds) if np.isfinite(seconds) else (np.inf if unable else None)
                series[str(sid)]["t25fw_seconds"].append((moment.date(), value))

    def acuity_rank(va: VisualAcuity) -> float:
        order = {"NLP": 0, "LP": 1, "HM": 2, "CF": 3}
        return (
            va.logmar
            if va.logmar is not None
            else 5.0 - 0.1 * order[va.off_chart.value if va.off_chart else "CF"]
        )

    measures = measures_at_baseline_and_follow_up(
        series,
        infusions,
        choose(FollowUpChoice, follow_up, "--follow-up"),
        {"acuity_od": acuity_rank, "acuity_os": acuity_rank},
    )
    names = definitions or [DEFAULT_RESPONDERS[d] for d in DEFAULT_RESPONDERS]
    return [responder_rate(name, measures) for name in names]


def _summary_frame(summaries: list[ResponderSummary]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "domain": s.domain.value,
                "definition": s.definition,
                "n_subjects": s.n_subjects,
                "n_evaluable": s.n_evaluable,
                "n_responders": s.n_responders,
                "percent": None if s.percent is None else round(s.percent, 1),
                "parameters": ";".join(f"{k}={v}" for k, v in s.parameters.items()),
                "description": s.description,
            }
            for s in summaries
        ]
    )


#: The form (command-line option) that carries each responder measure.
_MEASURE_FORM: dict[str, str] = {
    **dict.fromkeys(("ambulation", "visual", "pyramidal", "bowel_bladder", "edss"), "--edss"),
    **dict.fromkeys(("acuity_od", "acuity_os"), "--va"),
    **dict.fromkeys(("osis_visual_od", "osis_visual_os", "osis_motor", "osis_sphincter"), "--osis"),
    "t25fw_seconds": "--timed-walk",
}


@score_app.command("responders")
def score_responders(
    infusions: Path = typer.Option(..., "--infusions", help="Infusions form (subject_id, infused_at)."),
    edss_file: Path | None = typer.Option(None, "--edss", help="EDSS form."),
    va_file: Path | None = typer.Option(None, "--va", help="Visual acuity form."),
    osis_file: Path | None = typer.Option(None, "--osis", help="OSIS form."),
    timed_walk_file: Path | None = typer.Option(None, "--timed-walk", help="Timed 25-foot walk form."),
    definition: list[str] | None = typer.Option(
        None, "--definition", help=f"Responder definition (repeatable): {', '.join(RESPONDER_DEFINITIONS)}."
    ),
    follow_up: str = typer.Option(
        "last", "--follow-up", help="Compare baseline with the last (default) or best value."
    ),
    offchart_convention: str = CONVENTION_OPTION,
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Walking, bladder and vision responder percentages, each with its definition and n evaluable."""
    inf = _read_infusions(infusions)
    edss_input = None
    if edss_file is not None:
        frame = read_csv(edss_file, required=EDSS_COLUMNS)
        problems = RowProblems(edss_file)
        scored = score_edss_frame(frame, problems, EdssOptions())
        table = parse_edss_table(frame, RowProblems(edss_file))
        edss_input = (table, scored["edss"].to_numpy(dtype=float), np.ones(len(frame), dtype=bool))
    acuity = None
    if va_file is not None:
        problems = RowProblems(va_file)
        acuity = parse_va_table(
            read_csv(va_file, required=VA_COLUMNS, optional=VA_OPTIONAL),
            problems,
            convention=offchart_convention,
        )
        problems.raise_if_any()
    osis = None
    if osis_file is not None:
        problems = RowProblems(osis_file)
        osis = parse_osis_table(read_csv(osis_file, required=OSIS_REQUIRED, one_of=OSIS_ONE_OF), problems)
        problems.raise_if_any()
    timed_walk = None
    if timed_walk_file is not None:
        problems = RowProblems(timed_walk_file)
        timed_walk = parse_timed_walk_table(
            read_csv(timed_walk_file, required=TIMED_WALK_COLUMNS, optional=TIMED_WALK_OPTIONAL), problems
        )
        problems.raise_if_any()
    given = {"--edss": edss_file, "--va": va_file, "--osis": osis_file, "--timed-walk": timed_walk_file}
    for name in definition or []:
        if name not in RESPONDER_DEFINITIONS:
            raise ConfigurationError(
                f"unknown responder definition {name!r}; allowed: {', '.join(RESPONDER_DEFINITIONS)}"
            )
        # a definition asked for by name whose form is not given would report 0 subjects: refuse instead
        needed = {_MEASURE_FORM[m] for m in RESPONDER_DEFINITIONS[name].measures} - {
            option for option, path in given.items() if path is not None
        }
        if needed:
            raise ConfigurationError(f"responder definition {name!r} needs {' and '.join(sorted(needed))}")
    summaries = responder_summaries(
        infusions=inf,
        edss=edss_input,
        acuity=acuity,
        osis=osis,
        timed_walk=timed_walk,
        definitions=definition,
        follow_up=follow_up,
    )
    forms = (edss_input[0] if edss_input else None, acuity, osis, timed_walk)
    assessed = {str(sid) for form in forms if form is not None for sid in form.subject_id}
    without_infusion = sorted(assessed - set(inf))
    if without_infusion:
        # no day 0, so no baseline: left out of every denominator, but never silently
        typer.echo(
            f"warning: {len(without_infusion)} subject(s) with assessments but no infusion in {infusions} "
            f"are left out: {', '.join(without_infusion)}",
            err=True,
        )
    frame = _summary_frame(summaries)
    if as_json:
        payload = {
            "follow_up": follow_up,
            "offchart_convention": offchart_convention,
            "subjects_without_infusion": without_infusion,
            "rows": _responder_json(summaries),
        }
        _write(out, dumps_json(payload) + "\n")
    else:
        emit_table(frame, out, False)


def _responder_json(summaries: list[ResponderSummary]) -> list[dict[str, Any]]:
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
        for s in summaries
    ]


def _write(out: Path | None, text: str) -> None:
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_atomic(out, text)


# --- relapses -------------------------------------------------------------------------------------------


def _read_infusions(path: Path) -> dict[str, date]:
    frame = read_csv(path, required=["subject_id"], one_of=INFUSION_ONE_OF)
    problems = RowProblems(path)
    result = parse_infusion_table(frame, problems)
    problems.raise_if_any()
    return result


def _last_from_infusions(path: Path) -> dict[str, date] | None:
    frame = read_csv(path, required=["subject_id"], one_of=INFUSION_ONE_OF)
    column = next((c for c in LAST_ASSESSMENT_COLUMNS if c in frame.columns), None)
    if column is None:
        return None
    problems = RowProblems(path)
    result = parse_last_assessments(frame, problems, column)
    problems.raise_if_any()
    return result


def _last_assessments(paths: list[Path], cutoff: date | None) -> dict[str, date]:
    last: dict[str, date] = {}
    for path in paths:
        frame = read_csv(path, required=["subject_id", "assessed_at"])
        problems = RowProblems(path)
        from cartrial.columns import parse_datetime, parse_text

        subjects = parse_text(frame, "subject_id", problems)
        moments = parse_datetime(frame, "assessed_at", problems)
        problems.raise_if_any()
        for sid, moment in zip(subjects, moments, strict=True):
            if moment is None:
                continue
            day = moment.date()
            if cutoff is not None and day > cutoff:
                continue
            last[str(sid)] = max(day, last.get(str(sid), day))
    return last


def relapse_analysis(
    records: list[RelapseRecord],
    infusions: dict[str, date],
    last_assessment: dict[str, date],
    options: RelapseOptions,
    *,
    confidence: float = 0.95,
) -> tuple[ArrSummary, RelapseFreeSurvival]:
    """ARR before/after infusion and Kaplan-Meier relapse-free survival for every infused subject."""
    problems = []
    follow = []
    for sid in sorted(infusions):
        if sid not in last_assessment:
            problems.append(
                Problem("no last assessment for an infused subject", field="subject_id", value=sid)
            )
            continue
        follow.append(SubjectFollowUp(sid, infusions[sid], last_assessment[sid]))
    if problems:
        raise InputError(problems)
    arr = annualised_relapse_rates(merge_attacks(records, options), follow, options, confidence)
    return arr, relapse_free_survival(arr, confidence=confidence)


def relapse_payload(
    arr: ArrSummary, km: RelapseFreeSurvival, records: list[RelapseRecord], options: RelapseOptions
) -> dict[str, Any]:
    """JSON-ready results: options, pooled ARR with CI, KM with numbers at risk, attacks, non-relapses."""
    attacks = merge_attacks(records, options)
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
            "mean_of_subject_arr": {"pre": arr.mean_of_subject_pre_arr, "post": arr.mean_of_subject_post_arr},
            "relapse_free_survival": {
                "n_subjects": km.n_subjects,
                "n_events": km.n_events,
                "relapse_free_at_last_assessment": km.relapse_free_at_last,
                "median_follow_up_days": km.median_follow_up_days,
                "median_follow_up_months": round(km.median_follow_up_months, 2),
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
                for a in attacks
            ],
            "not_relapses": [
                {
                    "subject_id": r.subject_id,
                    "onset": r.onset,
                    "row": r.row,
                    "reason": qualifies(r, options)[1],
                }
                for r in records
                if not qualifies(r, options)[0]
            ],
        }
    )


def _iso_dates(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso_dates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_iso_dates(v) for v in value]
    return value


def _ci(rate: RateEstimate | None, side: str) -> float | None:
    """One limit of a per-patient exact Poisson CI, rounded like the ARR (None when not estimable)."""
    if rate is None:
        return None
    value = rate.ci_low if side == "low" else rate.ci_high
    return None if value is None else round(value, 4)


def _subject_frame(arr: ArrSummary) -> pd.DataFrame:
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


def relapses(
    file: Path = typer.Argument(..., help="Relapse form (docs/templates/relapses.csv)."),
    infusion_dates: Path = typer.Option(
        ..., "--infusion-dates", help="Infusions form (subject_id, infused_at)."
    ),
    assessments: list[Path] | None = typer.Option(
        None,
        "--assessments",
        help="Form(s) with subject_id, assessed_at: the last date is the end of follow-up.",
    ),
    cutoff: str | None = typer.Option(
        None,
        "--cutoff",
        "--data-cutoff",
        help="Data cut-off (YYYY-MM-DD): later onsets are errors; end of follow-up if no --assessments.",
    ),
    subjects: Path | None = typer.Option(
        None, "--subjects", help="Subjects form (birth_date or birth_year): onsets before birth are errors."
    ),
    merge_window_days: int = typer.Option(30, help="Onsets less than this many days apart are one attack."),
    merge_anchor: str = typer.Option(
        "first", help="Merge window from the attack's first onset or the last (chain)."
    ),
    pre_window_months: int = typer.Option(
        24, help="Pre-treatment ARR window in calendar months before infusion."
    ),
    require_objective_change: bool = typer.Option(
        False, help="Count only episodes with an objective change."
    ),
    km_out: Path | None = typer.Option(None, "--km-out", help="Also write the Kaplan-Meier table (CSV)."),
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
    keep_going: bool = KEEP_GOING_OPTION,
) -> None:
    """ARR before/after infusion (exact Poisson CI) and Kaplan-Meier relapse-free survival."""
    options = RelapseOptions(
        merge_window_days=merge_window_days,
        merge_anchor=choose(MergeAnchor, merge_anchor, "--merge-anchor"),
        require_objective_change=require_objective_change,
        pre_window_months=pre_window_months,
    )
    cut = _date_option(cutoff, "--cutoff")
    infusions = _read_infusions(infusion_dates)
    births = None
    if subjects is not None:
        subject_problems = RowProblems(subjects)
        births = parse_birth_dates(
            read_csv(subjects, required=["subject_id"], one_of=[("birth_date", "birth_year")]),
            subject_problems,
        )
        subject_problems.raise_if_any()
    frame = read_csv(file, required=RELAPSE_COLUMNS, optional=RELAPSE_OPTIONAL)
    problems = RowProblems(file)
    parsed = parse_relapse_table(frame, problems, birth_dates=births, cutoff=cut)
    for i, record in enumerate(parsed):
        if record is not None and record.subject_id not in infusions:
            problems.add(
                i,
                "subject_id",
                record.subject_id,
                "subject has no infusion date",
                "a subject in --infusion-dates",
            )
    problems.raise_if_any(keep_going)
    bad = problems.bad_mask(len(frame))
    records = [r for i, r in enumerate(parsed) if r is not None and not bad[i]]
    from_infusions = _last_from_infusions(infusion_dates)
    if assessments:
        last = _last_assessments(list(assessments), cut)
        end_source = "last assessed_at per subject in --assessments (on or before the cut-off)"
    elif from_infusions:
        last = {sid: min(day, cut) if cut else day for sid, day in from_infusions.items()}
        end_source = "last assessment column of --infusion-dates"
    elif cut is not None:
        last = dict.fromkeys(infusions, cut)
        end_source = f"data cut-off {cut.isoformat()} for every subject"
    else:
        latest = max([*infusions.values(), *(r.onset for r in records)])
        last = dict.fromkeys(infusions, latest)
        end_source = f"latest date in the data ({latest.isoformat()}): give --assessments or --cutoff"
        _err.print(f"[yellow]warning[/]: end of follow-up not given; using the {end_source}")
    arr, km = relapse_analysis(records, infusions, last, options)
    if keep_going and problems:
        for problem in problems.all():
            _err.print(f"[yellow]skipped[/]: {problem}")
    if km_out is not None:
        write_atomic(
            km_out, pd.DataFrame([vars(r) for r in km.table]).to_csv(index=False, lineterminator="\n")
        )
    if as_json:
        payload = relapse_payload(arr, km, records, options)
        payload["end_of_follow_up"] = end_source
        payload["subjects"] = to_json_records(_subject_frame(arr))
        payload["rows_with_errors"] = [p.as_dict() for p in problems.all()]
        _write(out, dumps_json(payload) + "\n")
    else:
        listing = _subject_frame(arr)
        # CSV has no header block: record the options used on every row (house rule; JSON has them above)
        listing["arr_options"] = ";".join(f"{key}={value}" for key, value in arr.options.items())
        emit_table(listing, out, False)
    _err.print(_arr_text(arr, km))


def _arr_text(arr: ArrSummary, km: RelapseFreeSurvival) -> str:
    def rate(r: Any) -> str:
        if r.rate is None:
            return "not estimable"
        return f"{r.rate:.2f} ({r.ci_low:.2f}-{r.ci_high:.2f}; {r.events} attacks / {r.patient_years:.2f} PY)"

    at_risk = ", ".join(f"d{int(t)}:{n}" for t, n in km.at_risk)
    return (
        f"ARR before infusion {rate(arr.pre)}; after {rate(arr.post)}; "
        f"relapse-free {km.relapse_free_at_last}/{km.n_subjects} at median follow-up "
        f"{km.median_follow_up_months:.1f} months; at risk {at_risk}"
    )


def register(app: typer.Typer) -> None:
    """Add the `score` group and the `relapses` command to the root app."""
    app.add_typer(
        score_app, name="score", help="Score neurological forms: EDSS, visual acuity, OSIS, responders."
    )
    app.command(
        "relapses", help="ARR before/after infusion (exact Poisson CI) and relapse-free survival (KM)."
    )(relapses)


# --- demo -----------------------------------------------------------------------------------------------


def demo(ctx: DemoContext) -> None:
    """Score the example EDSS/VA/OSIS/relapse forms; responders, ARR and KM; results in demo-output/neuro/."""
    study = ctx.examples_dir / "ct103a-nmosd" / "study"
    out_dir = ctx.out_dir / "neuro"
    out_dir.mkdir(parents=True, exist_ok=True)
    cutoff = date(2022, 3, 20)
    options = EdssOptions()

    edss_frame = read_csv(study / "edss.csv", required=EDSS_COLUMNS)
    edss_scored = score_edss_frame(edss_frame, RowProblems(study / "edss.csv"), options, cutoff=cutoff)
    write_atomic(out_dir / "edss_scored.csv", edss_scored.to_csv(index=False, lineterminator="\n"))
    va_frame = read_csv(study / "visual_acuity.csv", required=VA_COLUMNS, optional=VA_OPTIONAL)
    va_scored = score_va_frame(va_frame, RowProblems(study / "visual_acuity.csv"), cutoff=cutoff)
    write_atomic(out_dir / "visual_acuity_scored.csv", va_scored.to_csv(index=False, lineterminator="\n"))
    osis_frame = read_csv(study / "osis.csv", required=OSIS_COLUMNS)
    osis_scored = score_osis_frame(osis_frame, RowProblems(study / "osis.csv"), cutoff=cutoff)
    write_atomic(out_dir / "osis_scored.csv", osis_scored.to_csv(index=False, lineterminator="\n"))

    infusions = _read_infusions(study / "infusions.csv")
    edss_table = parse_edss_table(edss_frame, RowProblems(study / "edss.csv"))
    acuity = parse_va_table(va_frame, RowProblems(study / "visual_acuity.csv"))
    osis = parse_osis_table(osis_frame, RowProblems(study / "osis.csv"))
    walk_frame = read_csv(study / "timed_walk.csv", required=TIMED_WALK_COLUMNS, optional=TIMED_WALK_OPTIONAL)
    walk_problems = RowProblems(study / "timed_walk.csv")
    timed_walk = parse_timed_walk_table(walk_frame, walk_problems, cutoff=cutoff)
    walk_problems.raise_if_any()
    edss_values = edss_scored["edss"].to_numpy(dtype=float)
    summaries = responder_summaries(
        infusions=infusions,
        edss=(edss_table, edss_values, np.ones(len(edss_frame), dtype=bool)),
        acuity=acuity,
        osis=osis,
        timed_walk=timed_walk,
        definitions=list(RESPONDER_DEFINITIONS),
    )
    write_atomic(
        out_dir / "responders.csv", _summary_frame(summaries).to_csv(index=False, lineterminator="\n")
    )
    write_atomic(out_dir / "responders.json", dumps_json(_responder_json(summaries)) + "\n")

    relapse_frame = read_csv(study / "relapses.csv", required=RELAPSE_COLUMNS, optional=RELAPSE_OPTIONAL)
    births = parse_birth_dates(
        read_csv(study / "subjects.csv", required=["subject_id"]), RowProblems(study / "subjects.csv")
    )
    relapse_problems = RowProblems(study / "relapses.csv")
    records = [
        r
        for r in parse_relapse_table(relapse_frame, relapse_problems, birth_dates=births, cutoff=cutoff)
        if r
    ]
    relapse_problems.raise_if_any()
    relapse_options = RelapseOptions()
    last = _last_assessments([study / "edss.csv"], cutoff)
    arr, km = relapse_analysis(records, infusions, last, relapse_options)
    write_atomic(out_dir / "arr_by_subject.csv", _subject_frame(arr).to_csv(index=False, lineterminator="\n"))
    write_atomic(
        out_dir / "relapses.json", dumps_json(relapse_payload(arr, km, records, relapse_options)) + "\n"
    )
    write_atomic(
        out_dir / "relapse_free_km.csv",
        pd.DataFrame([vars(r) for r in km.table]).to_csv(index=False, lineterminator="\n"),
    )

    disability = disability_frame(edss_scored, infusions, records, relapse_options)
    write_atomic(out_dir / "disability_change.csv", disability.to_csv(index=False, lineterminator="\n"))

    # EDSS change baseline -> last visit per subject
    first_last = edss_scored.groupby("subject_id")["edss"].agg(["first", "last"])
    reduced = int((first_last["last"] < first_last["first"]).sum())

    table = Table(title="neuro: CT103A-like example (synthetic)", show_lines=False)
    table.add_column("outcome")
    table.add_column("result")
    table.add_column("definition")
    table.add_row(
        "EDSS",
        f"reduced in {reduced}/{len(first_last)} (median {first_last['first'].median():.1f} -> "
        f"{first_last['last'].median():.1f})",
        "Neurostatus-EDSS, default options",
    )
    for summary in summaries:
        if summary.definition in DEFAULT_RESPONDERS.values():
            table.add_row(f"{summary.domain.value} improved", summary.label(), summary.description)
    table.add_row(
        "EDSS improvement",
        f"confirmed in {int(disability['improvement_confirmed'].sum())}/{len(disability)}, "
        f"unconfirmed in {int(disability['improvement_unconfirmed'].sum())}",
        "cdi_common (>= 1.0 if baseline <= 5.5, else 0.5), confirmed at >= 84 days, fixed reference",
    )
    table.add_row(
        "EDSS worsening",
        f"confirmed in {int(disability['worsening_confirmed'].sum())}/{len(disability)}, "
        f"unconfirmed in {int(disability['worsening_unconfirmed'].sum())}",
        "nmosd_trial thresholds, confirmed at >= 84 days, fixed reference",
    )
    table.add_row(
        "ARR before", _rate_cell(arr.pre), f"{relapse_options.pre_window_months} months before infusion"
    )
    table.add_row("ARR after", _rate_cell(arr.post), "infusion to last assessment")
    table.add_row(
        "relapse-free",
        f"{km.relapse_free_at_last}/{km.n_subjects} at median follow-up "
        f"{km.median_follow_up_months:.1f} months",
        "Kaplan-Meier from day 0, censored at last assessment",
    )
    ctx.console.print(table)
    ctx.console.print(f"neuro results written to {out_dir}/")


def disability_frame(
    edss_scored: pd.DataFrame,
    infusions: dict[str, date],
    records: list[RelapseRecord],
    relapse_options: RelapseOptions,
    options: DisabilityOptions | None = None,
) -> pd.DataFrame:
    """Confirmed and unconfirmed EDSS improvement and worsening per subject (neuro-outcomes §5), from the
    baseline visit (last on or before day 0) on; relapses classify worsening as RAW or PIRA."""
    options = options or DisabilityOptions()
    attacks = merge_attacks(records, relapse_options)
    rows = []
    for sid, group in edss_scored.groupby("subject_id", sort=True):
        if sid not in infusions or group["edss"].isna().any():
            continue
        day0 = infusions[str(sid)]
        days = [(pd.Timestamp(t).date() - day0).days for t in group["assessed_at"]]
        visits = [(d, float(e)) for d, e in zip(days, group["edss"], strict=True)]
        baseline_days = [d for d, _ in visits if d <= 0]
        start = max(baseline_days) if baseline_days else min(d for d, _ in visits)
        visits = [(d, e) for d, e in visits if d >= start]
        relapse_days = [(a.onset - day0).days for a in attacks if a.subject_id == sid]
        worse = confirmed_disability_change(visits, "worsening", options, relapse_days)
        better = confirmed_disability_change(visits, "improvement", options)
        rows.append(
            {
                "subject_id": sid,
                "baseline_edss": visits[0][1],
                "last_edss": visits[-1][1],
                "improvement_evaluable": better.evaluable,
                "improvement_confirmed": better.confirmed is not None,
                "improvement_confirmed_day": better.confirmed.confirmation_day if better.confirmed else None,
                "improvement_unconfirmed": better.confirmed is None and bool(better.unconfirmed),
                "worsening_confirmed": worse.confirmed is not None,
                "worsening_relapse_associated": worse.confirmed.relapse_associated
                if worse.confirmed
                else None,
                "worsening_unconfirmed": worse.confirmed is None and bool(worse.unconfirmed),
                "options": ";".join(f"{k}={v}" for k, v in options.as_dict().items()),
            }
        )
    return pd.DataFrame(rows)


def _rate_cell(rate: Any) -> str:
    if rate.rate is None:
        return "not estimable"
    return f"{rate.rate:.2f} (95% CI {rate.ci_low:.2f}-{rate.ci_high:.2f})"
