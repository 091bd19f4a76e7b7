"""`cartrial score …` and `cartrial relapses`: batch scoring of the neurological forms (CSV in, CSV/JSON out).

Parse, call, print: read the CSV (`cartrial.tabular`), call the engine's frame functions
(`cartrial.neuro.derive_*`, which validate and derive), write the result and the options used. Bad rows:
fail listing all of them (exit 2, nothing written) or, with ``--keep-going``, compute the good rows and fill
an ``error`` column for the bad ones. Engines and pandas are imported inside the commands (fast start-up).
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cartrial.commands.option_names import names_cli_arguments

if TYPE_CHECKING:
    import pandas as pd

    from cartrial.analysis.populations import EndOfStudy

score_app = typer.Typer(
    help="Score neurological forms: EDSS, visual acuity, OSIS, walking/bladder/vision responders.",
    no_args_is_help=True,
    epilog="Example: [bold]cartrial score edss examples/ct103a-nmosd/study/edss.csv --out edss-scored.csv[/]",
)

OUT_OPTION = typer.Option(None, "--out", "-o", help="Write the result to this file instead of stdout.")
JSON_OPTION = typer.Option(False, "--json", help="Write JSON (options used + rows) instead of CSV.")
KEEP_GOING_OPTION = typer.Option(
    False, "--keep-going", help="Score the good rows and add an `error` column for bad ones (default: fail)."
)
CUTOFF_OPTION = typer.Option(
    None,
    "--cutoff",
    "--data-cutoff",
    help="Data cut-off date (YYYY-MM-DD, not after today); later dates are errors.",
)
CONVENTION_OPTION = typer.Option(
    "none",
    "--offchart-convention",
    help="logMAR of CF/HM/LP/NLP: none (default, categorical), conventional, schulze_bonsel_2006, lange_2009",
)
#: Names of `cartrial.neuro.RESPONDER_DEFINITIONS` (listed here so that the help needs no engine import;
#: a test keeps the two equal).
RESPONDER_NAMES: tuple[str, ...] = (
    "logmar_improved_0_2",
    "visual_fs_decrease_1",
    "osis_visual_decrease_1",
    "ambulation_score_decrease_1",
    "pyramidal_fs_decrease_1",
    "osis_motor_decrease_1",
    "t25fw_20pct_faster",
    "bowel_bladder_fs_decrease_1",
    "osis_sphincter_decrease_1",
    "edss_decrease_0_5",
)
#: Ranges of `relapses --pre-window-months` and `--merge-window-days`, for the help only (the engine checks
#: `cartrial.neuro.PRE_WINDOW_MONTHS_RANGE`, `MERGE_WINDOW_DAYS_RANGE`; tests/test_option_errors.py keeps
#: every mapped option's help equal to the engine's declaration).
PRE_WINDOW_MONTHS_MIN, PRE_WINDOW_MONTHS_MAX = 1, 120
MERGE_WINDOW_DAYS_MIN, MERGE_WINDOW_DAYS_MAX = 0, 365
#: Engine field names (`EdssOptions`, `KurtzkeGapOptions`, `RelapseOptions`, the relapse methods) -> the
#: option the user typed: the engines check the values (ranges declared once, `cartrial.allowed`) and every
#: error names the option (`cartrial.commands.option_names`).
OPTION_NAMES: dict[str, str] = {
    "preset": "--preset",
    "fs4_with_grade2_step": "--fs4-with-grade2-step",
    "fs4_with_3plus_grade3_step": "--fs4-with-3plus-grade3-step",
    "ambulation1_floor": "--ambulation1-floor",
    "method": "--method",
    "no_aid_under_100m_step": "--no-aid-under-100m-step",
    "unilateral_under_100m_step": "--unilateral-under-100m-step",
    "bilateral_over_20m_step": "--bilateral-over-20m-step",
    "merge_window_days": "--merge-window-days",
    "merge_anchor": "--merge-anchor",
    "pre_window_months": "--pre-window-months",
    "pre_window_start": "--pre-window-start",
    "follow_up_method": "--follow-up-method",
    "reverse_km_events": "--reverse-km-events",
    "km_median": "--km-median",
    "median_rule": "--km-median",
    "rate_ratio_method": "--rate-ratio-method",
    "follow_up": "--follow-up",
    "baseline_visit": "--baseline-visit",
    "numeric_notation": "--numeric-notation",
    "offchart_convention": "--offchart-convention",
    "convention": "--offchart-convention",
}
_names_cli_arguments = names_cli_arguments(OPTION_NAMES)


def _date_option(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    from cartrial.commands.analysis_commands import data_cutoff

    return data_cutoff(value, name)


def _check_convention(value: str) -> None:
    """Refuse an unknown --offchart-convention even when no visual acuity is read (never silently ignored)."""
    from cartrial.neuro.choices import choose
    from cartrial.neuro.visual_acuity import OffChartConvention

    choose(OffChartConvention, value, "offchart_convention")


def _read(path: Path, **columns: Any) -> pd.DataFrame:
    """`cartrial.tabular.read_csv` (which refuses ragged rows, short or long: never padded with blanks)."""
    from cartrial.tabular import read_csv

    return read_csv(path, **columns)


def _check_method_cells(frame: pd.DataFrame, kind: Any, file: Path) -> None:
    """--method given: every non-blank ``method`` cell must name that method (any case), else exit 2
    naming the file, row and field (D-19.746); the file is the user's own, so its cell is shown."""
    import pandas as pd

    from cartrial.columns import RowProblems
    from cartrial.errors import InputError

    if "method" not in frame.columns:
        return
    problems = RowProblems(file)
    for i, cell in enumerate(frame["method"].tolist()):
        text = "" if cell is None or (isinstance(cell, float) and pd.isna(cell)) else str(cell).strip()
        if text and text.lower() != kind.value:
            problems.add(
                i, "method", text, f"the row's method differs from --method {kind.value}",
                f"{kind.value}, blank, or no --method (each row by its own method)",
            )  # fmt: skip
    if problems:
        raise InputError(problems.all(), header=f"{file}: {len(problems.all())} problem(s)")


def _write(out: Path | None, text: str) -> None:
    from cartrial.tabular import write_atomic

    if out is None:
        typer.echo(text, nl=False)
    else:
        write_atomic(out, text)


def _warn(text: str) -> None:
    typer.echo(text, err=True)


def _warn_notes(result: Any) -> None:
    """The notes of a per-row derivation (the replaced input `error` column, D-19.582) on stderr."""
    for note in result.notes:
        _warn(note)


# --- EDSS -----------------------------------------------------------------------------------------------


def edss_options(
    preset: str = "neurostatus_default",
    cerebral_grade1_as_zero: bool | None = None,
    fs4_with_grade2_step: float | None = None,
    fs4_with_3plus_grade3_step: float | None = None,
    ambulation1_catchall_first: bool | None = None,
    ambulation1_floor: str | None = None,
) -> Any:
    """`EdssOptions` from a preset and the options given on the command line (checked by `EdssOptions`)."""
    from cartrial.neuro.edss_scale import EdssOptions

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
        floor: Any = ambulation1_floor  # a text that is not a number is refused by EdssOptions
        if floor.strip().lower() == "none":
            floor = None
        else:
            with contextlib.suppress(ValueError):
                floor = float(floor)
        overrides["ambulation1_floor"] = floor
    return EdssOptions.from_preset(preset, **overrides)


@score_app.command(
    "edss",
    epilog="Example: [bold]cartrial score edss examples/ct103a-nmosd/study/edss.csv --out edss-scored.csv[/]",
)
@_names_cli_arguments
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
    fs4_with_grade2_step: float | None = typer.Option(
        None, help="Option (b) (allowed: 4.0 | 4.5; default 4.5)."
    ),
    fs4_with_3plus_grade3_step: float | None = typer.Option(
        None, help="Option (c) (allowed: 4.5 | 5.0; default 5.0)."
    ),
    ambulation1_catchall_first: bool | None = typer.Option(
        None, "--ambulation-catchall-first/--fs-rules-first", help="Option (d); default: FS rules first."
    ),
    ambulation1_floor: str | None = typer.Option(
        None, help="Option (e) (allowed: 2.0 or none; default 2.0)."
    ),
    cutoff: str | None = CUTOFF_OPTION,
    visual_acuity: Path | None = typer.Option(
        None, "--visual-acuity", help="Acuity form used to derive a blank visual FS (a lower bound)."
    ),
    offchart_convention: str = CONVENTION_OPTION,
    method: str | None = typer.Option(
        None,
        "--method",
        help="neurostatus_16 (ambulation column) or kurtzke (walking_distance_m, assistance) for every row; "
        "default: each row by its own method cell (blank or no method column: neurostatus_16). A row whose "
        "method cell names the other method is refused.",
    ),
    no_aid_under_100m_step: float = typer.Option(
        6.0, help="Kurtzke gap rule: no aid, < 100 m (allowed: 5.5 | 6.0; default 6.0)."
    ),
    unilateral_under_100m_step: float = typer.Option(
        6.5, help="Kurtzke gap rule: unilateral aid, < 100 m (allowed: 6.0 | 6.5; default 6.5)."
    ),
    bilateral_over_20m_step: float = typer.Option(
        6.5, help="Kurtzke gap rule: bilateral aid, > 20 m (allowed: 6.0 | 6.5; default 6.5)."
    ),
) -> None:
    """Add `edss` and `edss_rule` to an EDSS form of raw FS scores and Neurostatus ambulation (0-16)."""
    from cartrial.neuro.choices import choose
    from cartrial.neuro.derive import derive_edss
    from cartrial.neuro.edss_scale import SOURCE as EDSS_SOURCE
    from cartrial.neuro.edss_scale import EdssMethod, KurtzkeGapOptions
    from cartrial.neuro.tables import EDSS_COLUMNS, EDSS_KURTZKE_COLUMNS, VA_COLUMNS, VA_OPTIONAL
    from cartrial.tabular import emit_table

    kind = None if method is None else choose(EdssMethod, method, "--method")
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
    _check_convention(offchart_convention)
    header = _read(file).columns
    if kind is None and "method" not in header:
        kind = EdssMethod.NEUROSTATUS_16  # no method column: every row Neurostatus, as before D-19.746
    if kind is None:  # each row by its own method cell: the per-row columns are checked row by row
        columns = tuple(c for c in EDSS_COLUMNS if c != "ambulation")
    else:
        columns = EDSS_KURTZKE_COLUMNS if kind is EdssMethod.KURTZKE else EDSS_COLUMNS
    frame = _read(file, required=[c for c in columns if c not in ("visual", "walking_distance_m")
                                  or (c == "visual" and visual_acuity is None)])  # fmt: skip
    if method is not None and kind is not None:  # --method given: no row may say the other method
        _check_method_cells(frame, kind, file)
    acuity = None
    if visual_acuity is not None:
        acuity = _read(visual_acuity, required=VA_COLUMNS, optional=VA_OPTIONAL)
    result = derive_edss(
        frame,
        options=options,
        method=kind,
        gaps=gaps,
        visual_acuity=acuity,
        offchart_convention=offchart_convention,
        cutoff=cut,
        keep_going=keep_going,
        source=str(file),
        acuity_source=str(visual_acuity),
    )
    _warn_notes(result)
    # `edss_options` is a result column: one already in the input (a scored file scored again) is replaced,
    # as `edss` and `edss_rule` are, never doubled (D-19.576)
    table = result.table.drop(columns=["edss_options"], errors="ignore")
    recorded: dict[str, Any] = {
        "method": result.options["method"],
        **({"methods": result.options["methods"]} if "methods" in result.options else {}),
        "options": options.as_dict(),
        "source": EDSS_SOURCE,
    }
    if "kurtzke_gaps" in result.options:
        recorded["kurtzke_gaps"] = result.options["kurtzke_gaps"]
    if not as_json:
        # CSV has no header block: record the options used on every row (house rule; JSON has them above)
        used = {"method": recorded["method"], **options.as_dict(), **recorded.get("kurtzke_gaps", {})}
        text = ";".join(f"{key}={value}" for key, value in used.items())
        # before the `error` column of --keep-going, which stays last
        position = table.columns.get_loc("error") if "error" in table.columns else len(table.columns)
        table.insert(position, "edss_options", text)
    emit_table(table, out, as_json, recorded)


# --- visual acuity --------------------------------------------------------------------------------------


@score_app.command(
    "va",
    epilog=(
        "Example: [bold]cartrial score va examples/ct103a-nmosd/study/visual_acuity.csv --out "
        "va-scored.csv[/]"
    ),
)
@_names_cli_arguments
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
    from cartrial.neuro.derive import VA_SOURCE, check_visual_acuity_options, derive_visual_acuity
    from cartrial.neuro.tables import VA_COLUMNS, VA_OPTIONAL
    from cartrial.tabular import emit_table

    # the engine's rules, before the form is read (its fields renamed to the options by OPTION_NAMES)
    convention = check_visual_acuity_options(offchart_convention, numeric_notation).value
    frame = _read(file, required=VA_COLUMNS, optional=VA_OPTIONAL)
    result = derive_visual_acuity(
        frame,
        convention=convention,
        numeric_notation=numeric_notation,
        keep_going=keep_going,
        cutoff=_date_option(cutoff, "--cutoff"),
        source=str(file),
    )
    _warn_notes(result)
    emit_table(result.table, out, as_json, {"offchart_convention": convention, "source": VA_SOURCE})


# --- OSIS -----------------------------------------------------------------------------------------------


@score_app.command(
    "osis", epilog="Example: [bold]cartrial score osis examples/ct103a-nmosd/study/osis.csv[/]"
)
def score_osis(
    file: Path = typer.Argument(..., help="OSIS form (docs/templates/osis.csv)."),
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
    keep_going: bool = KEEP_GOING_OPTION,
    cutoff: str | None = CUTOFF_OPTION,
) -> None:
    """Validate an OSIS form (Wingerchuk 1999) and add the worse-eye visual grade."""
    from cartrial.neuro.derive import derive_osis
    from cartrial.neuro.osis import OSIS_SOURCE
    from cartrial.neuro.tables import OSIS_ONE_OF, OSIS_REQUIRED
    from cartrial.tabular import emit_table

    frame = _read(file, required=OSIS_REQUIRED, one_of=OSIS_ONE_OF)
    result = derive_osis(
        frame, keep_going=keep_going, cutoff=_date_option(cutoff, "--cutoff"), source=str(file)
    )
    _warn_notes(result)
    emit_table(result.table, out, as_json, {"source": OSIS_SOURCE})


# --- responders -----------------------------------------------------------------------------------------


def _infusions_frame(path: Path) -> pd.DataFrame:
    """The infusions form; an infusion dated after today is a located error (file, row, field): it cannot
    have happened, and every assessment would fall before it (D-19.504). Today is the row's site's (its
    ``time_zone`` cell; blank or no such column: UTC), and a cell counts by the date day 0 is read from
    (`site_dates`: a date typed without a time is that date, a date-time its date there;
    `cartrial.columns.site_today`; D-19.615). A row whose zone is not an IANA zone is refused for that
    alone: its today is unknown, so it is not also judged on UTC's."""
    from cartrial.columns import (
        TIME_ZONE_COLUMN,
        RowProblems,
        parse_datetime,
        parse_time_zones,
        site_today,
        utc_now,
    )
    from cartrial.neuro.tables import INFUSION_ONE_OF, site_dates

    frame = _read(path, required=["subject_id"], one_of=INFUSION_ONE_OF)
    column = "infused_at" if "infused_at" in frame.columns else "infusion_date"
    problems = RowProblems(path)
    now = utc_now()
    zones = parse_time_zones(frame, problems)
    moments = parse_datetime(frame, column, problems, required=False)
    typed = (
        [bool(str(c).strip()) for c in frame[TIME_ZONE_COLUMN].fillna("")]
        if TIME_ZONE_COLUMN in frame.columns
        else [False] * len(frame)
    )
    for i, (day, zone) in enumerate(
        zip(site_dates(frame[column].tolist(), moments, zones), zones, strict=True)
    ):
        if typed[i] and zone is None:
            continue  # an unknown zone, refused by `parse_time_zones`: no today to compare with
        today = site_today(zone, now)
        if day is not None and day > today:
            problems.add(
                i,
                column,
                frame[column].iloc[i],
                "an infusion cannot be after today",
                f"a date up to today ({today}{' at the site, ' + zone if zone else ''})",
            )
    problems.raise_if_any()  # a bad date is refused here too, by the same reader as the engine's
    return frame


@functools.cache
def not_evaluable_wording() -> dict[Any, str]:
    """The warning's words for each kind of not-evaluable reason the responder engine gives
    (`cartrial.neuro.responders.NotEvaluable`, the one table of them), without the subject's values (D-12.2);
    ``{window}`` is the run's relapse exclusion window in days (D-19.1140). Built on first use, the engines
    imported lazily as everywhere in this module."""
    from cartrial.neuro.derive import METHOD_SWITCH_EXCLUDED
    from cartrial.neuro.responders import BASELINE_ONLY_DURING_ATTACK, NotEvaluable

    in_attack = "within {window} days after an attack onset"
    rule = "--baseline-visit outside_relapse; D-19.896"
    return {
        NotEvaluable.COMPARISON_EXCLUDED: "EDSS baseline and follow-up scored by different methods in the "
        f"walking range {METHOD_SWITCH_EXCLUDED}",
        NotEvaluable.BASELINE_ONLY_DURING_ATTACK: f"{BASELINE_ONLY_DURING_ATTACK}: every value on or before "
        f"the infusion is {in_attack} ({rule})",
        NotEvaluable.EYE_BASELINE_ONLY_DURING_ATTACK: f"{BASELINE_ONLY_DURING_ATTACK} for an eye (every "
        f"value of that eye on or before the infusion is {in_attack}) and no other eye evaluable (missing, "
        f"or no room to improve at baseline; {rule})",
        NotEvaluable.MISSING_BASELINE: "no assessment on or before the infusion (no baseline)",
        NotEvaluable.MISSING_FOLLOW_UP: "no assessment after the infusion",
        NotEvaluable.NO_ROOM: "no room at baseline for the decrease required",
        NotEvaluable.UNDECIDED_0_OR_1: "an ambulation read as 0 or 1 (a Kurtzke visit) whose two readings "
        "disagree (D-19.1006)",
        NotEvaluable.BASELINE_NOT_POSITIVE: "baseline walk time not above 0 seconds (no fraction faster)",
        NotEvaluable.UNABLE_TO_WALK_AT_BASELINE: "unable to walk at baseline (no fraction faster)",
        NotEvaluable.NO_EYE_EVALUABLE: "no eye evaluable (each missing, or no room to improve at baseline)",
    }


def _not_evaluable_reason(outcome: Any, window: int) -> str:
    """Why a subject is not evaluable for a responder definition, without the subject's values (D-12.2): the
    words of the engine's reason kind (`ResponderOutcome.kind`, `not_evaluable_wording`), never a guess from
    the shown values; `window` = the run's relapse exclusion window in days (``relapse_exclusion_days``;
    D-19.1135, D-19.1140)."""
    return not_evaluable_wording()[outcome.kind].format(window=window)


def _no_evaluable_warnings(summaries: Any, window: int) -> list[str]:
    """One warning per responder definition with subjects but none evaluable, naming each subject and why
    (a 0 % of 0 evaluable is otherwise a silent empty result; D-19.504); `window` = the run's relapse
    exclusion window in days (D-19.1140)."""
    lines = []
    for s in summaries:
        if s.n_evaluable or not s.subjects:
            continue
        by_reason: dict[str, list[str]] = {}
        for o in s.subjects:
            by_reason.setdefault(_not_evaluable_reason(o, window), []).append(o.subject_id)
        detail = "; ".join(f"{reason}: {', '.join(ids)}" for reason, ids in by_reason.items())
        lines.append(f"warning: no subject is evaluable for {s.definition} — {detail}")
    return lines


@score_app.command(
    "responders",
    epilog=(
        "Example: [bold]cartrial score responders --infusions examples/ct103a-nmosd/study/infusions.csv "
        "--edss examples/ct103a-nmosd/study/edss.csv --va examples/ct103a-nmosd/study/visual_acuity.csv[/]"
    ),
)
@_names_cli_arguments
def score_responders(
    infusions: Path = typer.Option(..., "--infusions", help="Infusions form (subject_id, infused_at)."),
    edss_file: Path | None = typer.Option(None, "--edss", help="EDSS form."),
    va_file: Path | None = typer.Option(None, "--va", help="Visual acuity form."),
    osis_file: Path | None = typer.Option(None, "--osis", help="OSIS form."),
    timed_walk_file: Path | None = typer.Option(None, "--timed-walk", help="Timed 25-foot walk form."),
    definition: list[str] | None = typer.Option(
        None, "--definition", help=f"Responder definition (repeatable): {', '.join(RESPONDER_NAMES)}."
    ),
    follow_up: str = typer.Option(
        "last", "--follow-up", help="Compare baseline with the last (default) or best value."
    ),
    relapses_file: Path | None = typer.Option(
        None,
        "--relapses",
        help="Relapse form (docs/templates/relapses.csv): its qualifying episodes, merged into attacks as "
        "`cartrial relapses` and `cartrial analyse` merge them (default relapse definition), are the onsets "
        "of --baseline-visit outside_relapse. Without it nothing is excluded and the output says so "
        "(relapse_data false).",
    ),
    baseline_visit: str = typer.Option(
        "outside_relapse",
        "--baseline-visit",
        help="Baseline: the last value on or before the infusion not within 30 days after an attack onset "
        "(outside_relapse, default; needs --relapses to exclude anything) or the last whatever its timing "
        "(last), as analysis.options.responder_baseline_visit.",
    ),
    offchart_convention: str = CONVENTION_OPTION,
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Walking, bladder and vision responder percentages, each with its definition and n evaluable (and the
    percentage of all infused patients). The output states the baseline rule (baseline_visit,
    relapse_exclusion_days) and whether relapse data were given (relapse_data)."""
    from cartrial.neuro.derive import NO_RELAPSE_DATA_NOTE, derive_responders
    from cartrial.neuro.tables import (
        EDSS_COLUMNS,
        OSIS_ONE_OF,
        OSIS_REQUIRED,
        RELAPSE_COLUMNS,
        RELAPSE_OPTIONAL,
        TIMED_WALK_COLUMNS,
        TIMED_WALK_OPTIONAL,
        VA_COLUMNS,
        VA_OPTIONAL,
    )
    from cartrial.tabular import dumps_json, emit_table

    forms: dict[str, tuple[Path | None, dict[str, Any]]] = {
        "edss": (edss_file, {"required": EDSS_COLUMNS}),
        "visual_acuity": (va_file, {"required": VA_COLUMNS, "optional": VA_OPTIONAL}),
        "osis": (osis_file, {"required": OSIS_REQUIRED, "one_of": OSIS_ONE_OF}),
        "timed_walk": (timed_walk_file, {"required": TIMED_WALK_COLUMNS, "optional": TIMED_WALK_OPTIONAL}),
    }
    _check_convention(offchart_convention)
    infusion_frame = _infusions_frame(infusions)
    frames = {name: _read(path, **cols) if path is not None else None for name, (path, cols) in forms.items()}
    relapse_frame = (
        _read(relapses_file, required=RELAPSE_COLUMNS, optional=RELAPSE_OPTIONAL, header_only=True)
        if relapses_file is not None
        else None
    )
    result = derive_responders(
        infusion_frame,
        edss=frames["edss"],
        visual_acuity=frames["visual_acuity"],
        osis=frames["osis"],
        timed_walk=frames["timed_walk"],
        definitions=definition,
        follow_up=follow_up,
        offchart_convention=offchart_convention,
        sources={
            "infusions": str(infusions),
            **{n: str(p) for n, (p, _) in forms.items() if p is not None},
            **({"relapses": str(relapses_file)} if relapses_file is not None else {}),
        },
        relapses=relapse_frame,
        baseline_visit=baseline_visit,
    )
    # the baseline rule in force and whether relapse data were given: never an exclusion not made (D-19.899)
    rule = {k: result.options[k] for k in ("baseline_visit", "relapse_exclusion_days", "relapse_data")}
    if result.subjects_without_infusion:
        # no day 0, so no baseline: left out of every denominator, but never silently
        _warn(
            f"warning: {len(result.subjects_without_infusion)} subject(s) with assessments but no infusion "
            f"in "
            f"{infusions} are left out: {', '.join(result.subjects_without_infusion)}"
        )
    no_evaluable = _no_evaluable_warnings(result.summaries, int(result.options["relapse_exclusion_days"]))
    for line in no_evaluable:
        _warn(line)
    if NO_RELAPSE_DATA_NOTE in result.notes:
        _warn(f"note: {NO_RELAPSE_DATA_NOTE}; give --relapses to exclude them")
    if as_json:
        payload = {
            "follow_up": follow_up,
            "offchart_convention": offchart_convention,
            **rule,
            "notes": list(result.notes),
            "warnings": no_evaluable,
            "subjects_without_infusion": list(result.subjects_without_infusion),
            "n_infused": result.n_infused,
            "rows": result.payload(),
        }
        _write(out, dumps_json(payload) + "\n")
    else:
        emit_table(result.table.assign(**rule), out, False)


# --- relapses -------------------------------------------------------------------------------------------


def _death_dates(path: Path, cutoff: date | None) -> dict[str, date]:
    """Date of death per subject from an adverse-events form: the file is checked by the import's field and
    record rules (`cartrial.store.importing.validation.validate_form`: a bad cell is an `InputError` naming
    file, row and field, never the value), then read by the analysis layer's one derivation
    (`cartrial.analysis.populations.death_dates`, the rule `cartrial.protocol.death`), up to the cut-off
    (without one, every death in the file) (D-19.107)."""
    from cartrial.analysis.populations import death_dates
    from cartrial.errors import InputError
    from cartrial.store.importing import FORMS_BY_NAME
    from cartrial.store.importing.pipeline import sha256_of
    from cartrial.store.importing.validation import FormData, validate_form

    frame = _read(path, header_only=True)  # a study without adverse events: nobody died
    _, problems = validate_form(FormData(FORMS_BY_NAME["adverse_events"], frame, str(path), sha256_of(path)))
    if problems:
        raise InputError(problems, header=f"{path}: {len(problems)} problem(s)")
    return death_dates(frame, cutoff or date.max)


DISPOSITION_COLUMNS = ("disposition", "disposition_date")
"""The subjects form's columns of the end of study (`cartrial.protocol.disposition`, D-19.92)."""


def _ends_of_study(
    path: Path, subjects: pd.DataFrame | None, died: dict[str, date], cutoff: date | None
) -> dict[str, EndOfStudy] | None:
    """Each subject's end of study from the subjects form's ``disposition`` and ``disposition_date`` (None
    when the file has neither column: nobody's study is known to have ended). The columns (with
    ``subject_id``, and ``consent_date`` when the file has it, which a record rule compares) are checked by
    the store's field and record rules as the import checks them (`validate_form`: the vocabulary, a date, an
    end without its date, a date while ongoing, a subject listed twice; a bad cell is an `InputError`
    naming file, row and field, never the value); an end dated after the cut-off is ongoing at it, as in a
    snapshot (`cartrial.store.snapshot.open_at_cutoff`); then the analysis layer's one derivation reads them
    with the deaths `died` (`cartrial.analysis.populations.end_of_study`: a dated end before the death is
    the end, else the death is). A subject who died but has no row in the file has no disposition: the death
    is its end (D-19.133)."""
    import pandas as pd

    from cartrial.analysis.populations import end_of_study
    from cartrial.errors import InputError
    from cartrial.store.importing import FORMS_BY_NAME
    from cartrial.store.importing.pipeline import sha256_of
    from cartrial.store.importing.validation import FormData, validate_form
    from cartrial.store.snapshot import open_at_cutoff

    if subjects is None or not any(c in subjects.columns for c in DISPOSITION_COLUMNS):
        return None
    checked = ("subject_id", *DISPOSITION_COLUMNS, *(c for c in ("consent_date",) if c in subjects.columns))
    # the subjects form's own field rules, for these columns only (the file need not have the others)
    spec = replace(FORMS_BY_NAME["subjects"], required=("subject_id",), optional=checked[1:])
    frame = subjects[[c for c in checked if c in subjects.columns]]
    _, problems = validate_form(FormData(spec, frame, str(path), sha256_of(path)))
    if problems:
        raise InputError(problems, header=f"{path}: {len(problems)} problem(s)")
    if cutoff is not None:
        frame, _ = open_at_cutoff("subjects", frame, cutoff)
    listed = set(frame["subject_id"])
    unlisted = [sid for sid in sorted(died) if sid not in listed]
    if unlisted:
        frame = pd.concat([frame, pd.DataFrame({"subject_id": unlisted})], ignore_index=True).fillna("")
    return dict(end_of_study(frame, died))


@_names_cli_arguments
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
        help="Data cut-off (YYYY-MM-DD, not after today): later onsets are errors; a subject infused "
        "after it is left out with their relapses (a warning names them); end of follow-up if no "
        "--assessments.",
    ),
    subjects: Path | None = typer.Option(
        None,
        "--subjects",
        help="Subjects form (birth_date or birth_year): onsets before birth are errors. With its "
        "disposition and disposition_date columns (checked as `import templates` does), a dated end of "
        "study (completed, withdrawn, lost) on or before the cut-off ends that subject's follow-up (a later "
        "record is not a contact) and a disposition death is a death, as `cartrial analyse` reads them.",
    ),
    adverse_events: Path | None = typer.Option(
        None,
        "--adverse-events",
        help="Adverse-events form (docs/templates/adverse_events.csv, checked as `import templates` does): "
        "a fatal event (grade 5, category death or outcome fatal; its end date, else its onset) on or before "
        "the cut-off ends that subject's follow-up at the death (a later record is not a contact) and is "
        "censored in the reverse Kaplan-Meier median follow-up, as `cartrial analyse` does (unless the "
        "--subjects disposition dates an earlier end of study, which stays the end).",
    ),
    protocol: Path | None = typer.Option(
        None,
        "--protocol",
        help="Protocol YAML: its relapse endpoints' parameters set the relapse options (an option given "
        "on the command line wins).",
    ),
    merge_window_days: int | None = typer.Option(
        None,
        help=f"Onsets less than this many days apart are one attack (allowed: {MERGE_WINDOW_DAYS_MIN} to "
        f"{MERGE_WINDOW_DAYS_MAX} days; default 30).",
    ),
    merge_anchor: str | None = typer.Option(
        None, help="Merge window from the attack's first onset (first, default) or the last (chain)."
    ),
    pre_window_months: int | None = typer.Option(
        None,
        help=f"Pre-treatment ARR window before infusion (allowed: {PRE_WINDOW_MONTHS_MIN} to "
        f"{PRE_WINDOW_MONTHS_MAX} calendar months; default 24).",
    ),
    pre_window_start: str | None = typer.Option(
        None,
        help="Pre-treatment window start: disease_onset (default; no earlier than the --subjects form's "
        "diagnosis_date, its relapse_history onsets or the first attack, the onset attack not counted) or "
        "fixed (the whole window). Needs --subjects.",
    ),
    require_objective_change: bool | None = typer.Option(
        None,
        "--require-objective-change/--no-require-objective-change",
        help="Count only episodes with an objective change (default: no).",
    ),
    require_adjudicated: bool | None = typer.Option(
        None,
        "--require-adjudicated/--all-qualifying",
        help="Count only attacks whose `adjudicated` column is `confirmed` (default: every qualifying one).",
    ),
    follow_up_method: str = typer.Option(
        "reverse_km",
        "--follow-up-method",
        help="Median follow-up: reverse_km (default, Schemper & Smith 1996) or observed_median.",
    ),
    reverse_km_events: str = typer.Option(
        "follow_up_ends",
        "--reverse-km-events",
        help="Reverse Kaplan-Meier ends of follow-up: follow_up_ends (default: each subject's end of "
        "follow-up, relapsed or not; a death censored) or relapse_free_censorings (the relapse-free "
        "curve's indicator reversed: a relapse censors).",
    ),
    km_median: str = typer.Option(
        "midpoint",
        "--km-median",
        help="Median of a Kaplan-Meier curve at exactly 0.5 over an interval: midpoint (default, the "
        "midpoint "
        "of that interval: R survival, SAS LIFETEST; the ordinary median when nothing is censored) or "
        "smallest (the first time the curve is at or below 0.5: lifelines).",
    ),
    rate_ratio_method: str = typer.Option(
        "stratified_conditional",
        "--rate-ratio-method",
        help="Exact CI of the post/pre rate ratio: stratified_conditional (default) or pooled_conditional.",
    ),
    km_out: Path | None = typer.Option(None, "--km-out", help="Also write the Kaplan-Meier table (CSV)."),
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
    keep_going: bool = KEEP_GOING_OPTION,
) -> None:
    """ARR before/after infusion (exact Poisson CI), the post/pre rate ratio (exact conditional CI) and
    Kaplan-Meier relapse-free survival with the reverse-KM median follow-up."""
    from cartrial.neuro.choices import choose
    from cartrial.neuro.derive import EXTENDED_NOTE_PREFIX, derive_relapses, km_frame
    from cartrial.neuro.relapses import MergeAnchor, PreWindowStart, RelapseOptions
    from cartrial.neuro.tables import RELAPSE_COLUMNS, RELAPSE_OPTIONAL
    from cartrial.tabular import csv_text, dumps_json, emit_table, to_json_records, write_atomic

    if pre_window_start is not None and subjects is None:
        from cartrial.errors import OptionError, Problem

        # the disease onset is read from the --subjects form only: without it every window is the whole
        # --pre-window-months whichever rule is chosen, so the option would do nothing (D-19.712)
        raise OptionError(
            Problem(
                "--pre-window-start needs --subjects (its diagnosis_date and relapse_history give the "
                "disease onset); without it every pre-infusion window is the whole --pre-window-months",
                field="--pre-window-start",
                value=pre_window_start,
                allowed="with --subjects",
            )
        )
    given: dict[str, Any] = {
        "merge_window_days": merge_window_days,
        "merge_anchor": None if merge_anchor is None else choose(MergeAnchor, merge_anchor, "--merge-anchor"),
        "require_objective_change": require_objective_change,
        "require_adjudicated": require_adjudicated,
        "pre_window_months": pre_window_months,
        "pre_window_start": None
        if pre_window_start is None
        else choose(PreWindowStart, pre_window_start, "--pre-window-start"),
    }
    base = RelapseOptions()
    if protocol is not None:
        from cartrial.neuro.derive import relapse_options_from_protocol
        from cartrial.protocol import load_protocol

        base = relapse_options_from_protocol(load_protocol(protocol), source=str(protocol))
    options = replace(base, **{k: v for k, v in given.items() if v is not None})
    cut = _date_option(cutoff, "--cutoff")
    infusion_frame = _infusions_frame(infusion_dates)
    subject_frame = (
        _read(subjects, required=["subject_id"], one_of=[("birth_date", "birth_year")])
        if subjects is not None
        else None
    )
    # no relapse at all is a result (every subject relapse-free), not a missing input (D-19.41)
    frame = _read(file, required=RELAPSE_COLUMNS, optional=RELAPSE_OPTIONAL, header_only=True)
    assessment_frames = [
        _read(p, required=["subject_id", "assessed_at"], header_only=True) for p in assessments or []
    ]
    died = _death_dates(adverse_events, cut) if adverse_events is not None else {}
    ends = None if subjects is None else _ends_of_study(subjects, subject_frame, died, cut)
    if ends is None:
        deaths, ended = died, None
    else:
        from cartrial.analysis.populations import deaths_ending_study, study_ends

        # as `cartrial analyse`: the deaths that ended the study, the form's included, are censored; every
        # end of study (a death's too) ends the follow-up, an undated one at the last assessment (D-19.110,
        # D-19.112, D-19.133, D-19.587)
        deaths, ended = deaths_ending_study(ends, cut or date.max), study_ends(ends)
    result = derive_relapses(
        frame,
        infusion_frame,
        assessments=assessment_frames,
        cutoff=cut,
        subjects=subject_frame,
        options=options,
        follow_up_method=follow_up_method,
        reverse_km_events=reverse_km_events,
        km_median=km_median,
        rate_ratio_method=rate_ratio_method,
        deaths=deaths,
        ends_of_study=ended,
        keep_going=keep_going,
        source=str(file),
        infusions_source=str(infusion_dates),
        subjects_source=str(subjects),
        assessment_sources=[str(p) for p in assessments or []],
    )
    if any(note.startswith("warning:") for note in result.notes):
        _warn(f"warning: end of follow-up not given; using the {result.end_of_follow_up}")
    if result.infused_after_cutoff:
        # not yet infused as of the cut-off: left out, as `cartrial analyse` leaves them out (D-19.577)
        late = result.infused_after_cutoff
        _warn(
            f"warning: {len(late)} subject(s) infused after the data cut-off {cut} in {infusion_dates} are "
            f"left out with their relapses: {', '.join(late)}"
        )
    for problem in result.problems:
        _warn(f"skipped: {problem}")
    for note in result.notes:  # the subjects a relapse followed past the last assessment (D-19.587)
        if note.startswith(EXTENDED_NOTE_PREFIX):
            _warn(f"note: {note}")
    if result.rate_ratio is not None and result.rate_ratio.left_out:  # never a silent skip (D-19.1188)
        _warn(f"note: {result.rate_ratio.left_out_text()}")
    if km_out is not None and result.km is not None:
        write_atomic(km_out, csv_text(km_frame(result.km)))
    if as_json:
        payload = result.payload()
        payload["subjects"] = to_json_records(result.table)
        payload["rows_with_errors"] = [p.as_dict() for p in result.problems]
        _write(out, dumps_json(payload) + "\n")
    else:
        listing = result.table.copy()
        # CSV has no header block: record the options used on every row (house rule; JSON has them above)
        assert result.arr is not None
        listing["arr_options"] = ";".join(f"{key}={value}" for key, value in result.arr.options.items())
        emit_table(listing, out, False)
    _warn(result.summary_text())
    _warn(f"note: {result.rate_ratio.note if result.rate_ratio else ''}")


def register(app: typer.Typer) -> None:
    """Add the `score` group and the `relapses` command to the root app."""
    app.add_typer(
        score_app, name="score", help="Score neurological forms: EDSS, visual acuity, OSIS, responders."
    )
    app.command(
        "relapses",
        help="ARR before/after infusion (exact Poisson CI) and relapse-free survival (KM).",
        epilog=(
            "Example: [bold]cartrial relapses examples/ct103a-nmosd/study/relapses.csv --infusion-dates "
            "examples/ct103a-nmosd/study/infusions.csv[/]"
        ),
    )(relapses)
