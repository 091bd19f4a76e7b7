"""`cartrial grade …`: batch toxicity grading of the CRS, ICANS and laboratory forms (CSV in, CSV/JSON out).

Thin layer: parse the options, read the CSV (`cartrial.tabular`), call the frame-level derivation of
`cartrial.grading` (`derive_crs_grades`, `derive_icans_grades`, `derive_lab_grades`, `derive_crs_episodes`,
`derive_icans_episodes`, `derive_icaht` — the same functions the store, the demo and notebooks use), write
its table. Bad rows: fail listing all of them (exit 2, nothing written) or, with ``--keep-going``, grade the
good rows and fill an ``error`` column for the bad ones. Notes and warnings go to stderr.

Start-up: only typer and the light option enums (`cartrial.grading.choices`) are imported here; pandas and
the engines are imported inside each command.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cartrial.commands.option_names import names_cli_arguments
from cartrial.grading.choices import (
    GradingUnit,
    MaskedResolution,
    MaskingClasses,
    ResolutionRule,
    RowMasking,
    UnsampledDays,
)

if TYPE_CHECKING:
    import pandas as pd

    from cartrial.grading.crs import CrsOptions
    from cartrial.results import Result

grade_app = typer.Typer(
    help="Grade toxicity from observation forms: ASTCT CRS/ICANS, CTCAE haematology, ICAHT, episodes.",
    no_args_is_help=True,
    epilog=(
        "Example: [bold]cartrial grade crs examples/ct103a-nmosd/study/crs_assessments.csv --out "
        "crs-graded.csv[/]"
    ),
)

OUT_OPTION = typer.Option(None, "--out", "-o", help="Write the result to this file instead of stdout.")
JSON_OPTION = typer.Option(False, "--json", help="Write JSON (options used + rows) instead of CSV.")
KEEP_GOING_OPTION = typer.Option(
    False, "--keep-going", help="Grade the good rows and add an `error` column for bad ones (default: fail)."
)
POST_MASKING_OPTION = typer.Option(
    1,
    "--post-masking-grade",
    help="A1: grade after masking therapy with no fever/hypotension/hypoxia (allowed: 0 | 1; default 1).",
)
MASKING_CLASSES_OPTION = typer.Option(
    MaskingClasses.ANTIPYRETIC_ANTICYTOKINE_CORTICOSTEROID,
    "--masking-classes",
    help="A2: drug classes that mask fever (with --therapies): antipyretic_anticytokine_corticosteroid | "
    "anticytokine_corticosteroid.",
)
VASOPRESSIN_OPTION = typer.Option(
    3,
    "--vasopressin-alone-grade",
    help="A3: grade of hypotension on vasopressin alone (allowed: 2 | 3; default 3).",
)
CRS_MASKING_OPTION = typer.Option(
    RowMasking.AFTER_FEVER.value,
    "--crs-masking",
    metavar="[after_fever|recorded]",
    help="When a row's fever_masked flag waives the CRS fever: after_fever (only at or after a CRS fever "
    "recorded after the infusion) or recorded (as the investigator recorded it), as "
    "analysis.options.crs_masking (allowed: after_fever | recorded; default after_fever; D-19.1356, "
    "D-19.1368).",
)
SBP_OPTION = typer.Option(
    90.0,
    "--sbp-threshold",
    help="A4: systolic BP below which hypotension is present, used with systolic_bp_mmhg (allowed: 40 to "
    "140 mmHg; default 90).",
)

#: Engine field names (`CrsOptions`, `EpisodeOptions`, `IcahtOptions`, the CTCAE version) -> the option the
#: user typed: every option error names the option (`cartrial.commands.option_names`).
OPTION_NAMES: dict[str, str] = {
    "post_masking_grade": "--post-masking-grade",
    "masking_classes": "--masking-classes",
    "masking": "--crs-masking",
    "vasopressin_alone_grade": "--vasopressin-alone-grade",
    "sbp_threshold_mmhg": "--sbp-threshold",
    "grading_unit": "--grading-unit",
    "resolution_rule": "--resolution-rule",
    "masked_resolution": "--masked-resolution",
    "masked_stable_hours": "--masked-stable-hours",
    "early_g4_min_days": "--early-g4-min-days",
    "min_recovery_days": "--min-recovery-days",
    "late_min_values": "--late-min-values",
    "unsampled_days": "--unsampled-days",
    "max_interpolated_days": "--max-interpolated-days",
    "never_recovered_from_day": "--never-recovered-from-day",
    "ctcae_version": "--ctcae-version",
}
_names_cli_arguments = names_cli_arguments(OPTION_NAMES)


def _crs_options(
    post_masking: int, masking: MaskingClasses, vasopressin_alone: int, sbp: float
) -> CrsOptions:
    from cartrial.grading.crs import CrsOptions

    return CrsOptions(
        post_masking_grade=post_masking,
        masking_classes=masking,
        vasopressin_alone_grade=vasopressin_alone,
        sbp_threshold_mmhg=sbp,
    )


def _print_notes(result: Result) -> None:
    for note in result.notes:
        sys.stderr.write(note + "\n")


def _read_crs(path: Path) -> pd.DataFrame:
    from cartrial.grading.tables import CRS_ONE_OF, CRS_OPTIONAL, CRS_REQUIRED
    from cartrial.tabular import read_csv

    return read_csv(path, required=CRS_REQUIRED, optional=CRS_OPTIONAL, one_of=CRS_ONE_OF)


def _read_icans(path: Path) -> pd.DataFrame:
    from cartrial.grading.tables import ICANS_OPTIONAL, ICANS_REQUIRED
    from cartrial.tabular import read_csv

    return read_csv(
        path, required=ICANS_REQUIRED, optional=ICANS_OPTIONAL, one_of=(("ice_orientation", "ice_total"),)
    )


def _read_labs(path: Path) -> pd.DataFrame:
    from cartrial.grading.tables import LABS_REQUIRED
    from cartrial.tabular import read_csv

    return read_csv(path, required=LABS_REQUIRED)


def _read_infusions(path: Path) -> Any:
    from cartrial.grading import infusion_times
    from cartrial.grading.tables import INFUSIONS_REQUIRED
    from cartrial.tabular import read_csv

    return infusion_times(read_csv(path, required=INFUSIONS_REQUIRED), file=path)


def _read_therapies(path: Path) -> Any:
    from cartrial.grading import therapy_records
    from cartrial.grading.tables import THERAPIES_OPTIONAL, THERAPIES_REQUIRED
    from cartrial.tabular import read_csv

    return therapy_records(
        read_csv(path, required=THERAPIES_REQUIRED, optional=THERAPIES_OPTIONAL, header_only=True), file=path
    )


# ---------------------------------------------------------------- CRS


@grade_app.command(
    "crs",
    epilog=(
        "Example: [bold]cartrial grade crs examples/ct103a-nmosd/study/crs_assessments.csv --out "
        "crs-graded.csv[/]"
    ),
)
@_names_cli_arguments
def crs_command(
    file: Path = typer.Argument(..., help="CRS assessments CSV (docs/templates/crs_assessments.csv)."),
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
    keep_going: bool = KEEP_GOING_OPTION,
    post_masking_grade: int = POST_MASKING_OPTION,
    vasopressin_alone_grade: int = VASOPRESSIN_OPTION,
    sbp_threshold: float = SBP_OPTION,
    legacy: bool = typer.Option(False, "--legacy", help="Also grade by Lee 2014 and CARTOX where possible."),
) -> None:
    """Grade each CRS assessment by ASTCT 2019 (input rows + grade, grade_reason)."""
    from cartrial.grading import derive_crs_grades
    from cartrial.grading.crs import CRS_SCALE, CRS_SOURCE
    from cartrial.tabular import emit_table

    options = _crs_options(
        post_masking_grade,
        MaskingClasses.ANTIPYRETIC_ANTICYTOKINE_CORTICOSTEROID,
        vasopressin_alone_grade,
        sbp_threshold,
    )
    result = derive_crs_grades(_read_crs(file), options, legacy=legacy, keep_going=keep_going, file=file)
    _print_notes(result)
    emit_table(
        result.table,
        out,
        as_json,
        extra={"scale": CRS_SCALE, "source": CRS_SOURCE, "options": options.as_dict()},
    )


# ---------------------------------------------------------------- ICANS


@grade_app.command(
    "icans",
    epilog=(
        "Example: [bold]cartrial grade icans examples/ct103a-nmosd/study/icans_assessments.csv --out "
        "icans-graded.csv[/]"
    ),
)
def icans_command(
    file: Path = typer.Argument(..., help="ICANS assessments CSV (docs/templates/icans_assessments.csv)."),
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
    keep_going: bool = KEEP_GOING_OPTION,
) -> None:
    """Grade each ICANS assessment by ASTCT 2019 (ICE score and the worst domain)."""
    from cartrial.grading import derive_icans_grades
    from cartrial.grading.icans import ICANS_SCALE, ICANS_SOURCE
    from cartrial.tabular import emit_table

    result = derive_icans_grades(_read_icans(file), keep_going=keep_going, file=file)
    _print_notes(result)
    emit_table(result.table, out, as_json, extra={"scale": ICANS_SCALE, "source": ICANS_SOURCE})


# ---------------------------------------------------------------- labs


CTCAE_OPTION = typer.Option(
    "5.0", "--ctcae-version", help="CTCAE version (allowed: 5.0 | 6.0, 6.0 for neutrophils and platelets)."
)
LLN_OPTION = typer.Option(
    False, "--lln-required-for-higher-grades", help="Grades 2-4 also need a value below the LLN (default no)."
)


@grade_app.command(
    "labs",
    epilog="Example: [bold]cartrial grade labs examples/ct103a-nmosd/study/labs.csv --out labs-graded.csv[/]",
)
@_names_cli_arguments
def labs_command(
    file: Path = typer.Argument(..., help="Haematology results CSV (docs/templates/labs.csv)."),
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
    keep_going: bool = KEEP_GOING_OPTION,
    ctcae_version: str = CTCAE_OPTION,
    lln_required: bool = LLN_OPTION,
) -> None:
    """Grade haematology results by CTCAE (neutrophils, platelets, haemoglobin, lymphocytes, WBC)."""
    from cartrial.grading import derive_lab_grades
    from cartrial.tabular import emit_table

    result = derive_lab_grades(
        _read_labs(file),
        ctcae_version=ctcae_version,
        lln_required_for_higher_grades=lln_required,
        keep_going=keep_going,
        file=file,
    )
    _print_notes(result)
    emit_table(
        result.table, out, as_json, extra={"scale": f"CTCAE v{ctcae_version}", "source": result.sources[0]}
    )


# ---------------------------------------------------------------- episodes and ICAHT


@grade_app.command(
    "episodes",
    epilog=(
        "Example: [bold]cartrial grade episodes examples/ct103a-nmosd/study/crs_assessments.csv "
        "--infusion-dates examples/ct103a-nmosd/study/infusions.csv --therapies "
        "examples/ct103a-nmosd/study/therapies.csv[/]"
    ),
)
@_names_cli_arguments
def episodes_command(
    file: Path = typer.Argument(..., help="CRS or ICANS assessments CSV (kind detected from the columns)."),
    infusion_dates: Path = typer.Option(..., "--infusion-dates", help="CSV with subject_id, infused_at."),
    kind: str | None = typer.Option(None, "--kind", help="crs or icans (default: detect from the columns)."),
    therapies: Path | None = typer.Option(
        None, "--therapies", help="Therapies CSV: summarised per episode; masking drugs for CRS."
    ),
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
    keep_going: bool = KEEP_GOING_OPTION,
    grading_unit: GradingUnit = typer.Option(
        GradingUnit.DAY, "--grading-unit", help="A6: day (worst values of the day) or assessment."
    ),
    resolution_rule: ResolutionRule = typer.Option(
        ResolutionRule.RECORDED,
        "--resolution-rule",
        help="A6: recorded (crs_resolved wins, fallback first grade 0) or first_grade_0.",
    ),
    masked_resolution: MaskedResolution = typer.Option(
        MaskedResolution.AFEBRILE_STABLE,
        "--masked-resolution",
        help="How a masked CRS episode resolves without a recorded resolution: afebrile_stable (free of "
        "hypotension and oxygen for --masked-stable-hours after the last masking drug) or until_recorded.",
    ),
    masked_stable_hours: float = typer.Option(
        24.0,
        "--masked-stable-hours",
        help="Hours free of hypotension and oxygen that end masking (allowed: 1 to 168 h; default 24).",
    ),
    post_masking_grade: int = POST_MASKING_OPTION,
    masking_classes: MaskingClasses = MASKING_CLASSES_OPTION,
    vasopressin_alone_grade: int = VASOPRESSIN_OPTION,
    sbp_threshold: float = SBP_OPTION,
    crs_masking: str = CRS_MASKING_OPTION,
) -> None:
    """Per-subject CRS or ICANS episodes: onset, maximum grade and when, duration, masking, therapies."""
    from cartrial.allowed import enum_member
    from cartrial.errors import InputError, Problem
    from cartrial.grading import (
        EpisodeOptions,
        crs_option_record,
        derive_crs_episodes,
        derive_icans_episodes,
    )
    from cartrial.grading.crs import CRS_SCALE
    from cartrial.grading.icans import ICANS_SCALE
    from cartrial.tabular import emit_table, read_csv

    masking = enum_member(RowMasking, crs_masking, "masking")  # before any file is read
    header = read_csv(file).columns  # checks the file is a readable CSV before detecting its kind
    detected = kind or ("icans" if "consciousness" in header else "crs")
    if detected not in ("crs", "icans"):
        raise InputError(Problem("unknown kind", field="--kind", value=kind, allowed="crs | icans"))
    ep_options = EpisodeOptions(
        grading_unit=grading_unit,
        resolution_rule=resolution_rule,
        masked_resolution=masked_resolution,
        masked_stable_hours=masked_stable_hours,
    )
    infusions = _read_infusions(infusion_dates)
    extra: dict[str, Any]
    if detected == "crs":
        options = _crs_options(post_masking_grade, masking_classes, vasopressin_alone_grade, sbp_threshold)
        frame = _read_crs(file)
        records = _read_therapies(therapies) if therapies else None
        result = derive_crs_episodes(
            frame,
            infusions,
            therapies=records,
            options=options,
            episode_options=ep_options,
            keep_going=keep_going,
            file=file,
            masking=masking,
        )
        extra = {
            "kind": "crs",
            "scale": CRS_SCALE,
            "options": crs_option_record(options, ep_options, masking),
        }
    else:
        frame = _read_icans(file)
        result = derive_icans_episodes(
            frame,
            infusions,
            therapies=_read_therapies(therapies) if therapies else None,
            episode_options=ep_options,
            keep_going=keep_going,
            file=file,
        )
        extra = {"kind": "icans", "scale": ICANS_SCALE, "options": ep_options.as_dict()}
    _print_notes(result)
    emit_table(result.table, out, as_json, extra=extra)


@grade_app.command(
    "icaht",
    epilog=(
        "Example: [bold]cartrial grade icaht examples/ct103a-nmosd/study/labs.csv --infusion-dates "
        "examples/ct103a-nmosd/study/infusions.csv[/]"
    ),
)
@_names_cli_arguments
def icaht_command(
    file: Path = typer.Argument(..., help="Haematology results CSV (neutrophil rows are used)."),
    infusion_dates: Path = typer.Option(..., "--infusion-dates", help="CSV with subject_id, infused_at."),
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
    keep_going: bool = KEEP_GOING_OPTION,
    early_g4_min_days: int = typer.Option(
        31,
        "--early-g4-min-days",
        help="H1: days ANC ≤ 500/µL for early grade 4 (allowed: 15 to 31 days; default 31).",
    ),
    min_recovery_days: int = typer.Option(
        3,
        "--min-recovery-days",
        help="H2: days above threshold that end an episode (allowed: 1 to 100 days; default 3).",
    ),
    late_min_values: int = typer.Option(
        2, "--late-min-values", help="H3: values below a late threshold needed (allowed: 1 | 2; default 2)."
    ),
    new_therapy_dates: Path | None = typer.Option(
        None,
        "--new-therapy-dates",
        help="CSV with subject_id, new_therapy_at: counts from that day on are censored (EHA/EBMT 2023).",
    ),
    follow_up_dates: Path | None = typer.Option(
        None,
        "--follow-up-dates",
        help=(
            "CSV with subject_id, last_follow_up_at (death, loss or cut-off): ends the early window when the "
            "counts stop before it, and flags an early, late ICAHT or late T-ICAHT grade a lower bound ('at "
            "least', D-19.717, D-19.788) when the counts stop inside its window before that day at a level "
            "that would raise it. Without it the last count is read as the end of follow-up."
        ),
    ),
    unsampled_days: UnsampledDays = typer.Option(
        UnsampledDays.LINEAR,
        "--unsampled-days",
        help="H4: linear (interpolate between counts, as the published grader), locf or sampled_only.",
    ),
    max_interpolated_days: int | None = typer.Option(
        None,
        "--max-interpolated-days",
        help=(
            "H4 with linear: longest run of unsampled days interpolated (allowed: 1 to 100 days or none); "
            "days of a longer run count as not below and split episodes. Default: every gap (a trailing "
            "run after the last count with a follow-up date: at most 7, D-19.717); 7 = the published "
            "grader's limit."
        ),
    ),
    never_recovered_from_day: int = typer.Option(
        3,
        "--never-recovered-from-day",
        help=(
            "Early grade 4 without recovery: an ANC ≤ 500/µL episode starting by this day after the infusion "
            "and lasting to the end of follow-up is grade 4 (the published grader's rule; allowed: 0 to 30 "
            "days; default 3)."
        ),
    ),
) -> None:
    """Early/late ICAHT (ANC) and T-ICAHT (platelets) per subject from the blood counts (EHA/EBMT 2023)."""
    from cartrial.grading import IcahtOptions, derive_icaht
    from cartrial.grading.icaht import ICAHT_SCALE, ICAHT_SOURCE
    from cartrial.tabular import emit_table

    options = IcahtOptions(
        early_g4_min_days=early_g4_min_days,
        min_recovery_days=min_recovery_days,
        late_min_values=late_min_values,
        unsampled_days=unsampled_days,
        max_interpolated_days=max_interpolated_days,
        never_recovered_from_day=never_recovered_from_day,
    )
    infusions = _read_infusions(infusion_dates)
    censor = None
    if new_therapy_dates is not None:
        from cartrial.grading import new_therapy_days
        from cartrial.tabular import read_csv

        frame = read_csv(new_therapy_dates, required=("subject_id", "new_therapy_at"), header_only=True)
        censor = new_therapy_days(frame, infusions, file=new_therapy_dates)
    followed = None
    if follow_up_dates is not None:
        from cartrial.grading.frames import follow_up_days
        from cartrial.tabular import read_csv

        frame = read_csv(follow_up_dates, required=("subject_id", "last_follow_up_at"), header_only=True)
        followed = follow_up_days(frame, infusions, file=follow_up_dates)
    result = derive_icaht(
        _read_labs(file),
        infusions,
        options,
        new_therapy_days=censor,
        follow_up_days=followed,
        keep_going=keep_going,
        file=file,
    )
    _print_notes(result)
    emit_table(
        result.table,
        out,
        as_json,
        extra={"scale": ICAHT_SCALE, "source": ICAHT_SOURCE, "options": options.as_dict()},
    )


def register(app: typer.Typer) -> None:
    """Add the `grade` command group to the root app."""
    app.add_typer(
        grade_app, name="grade", help="Grade toxicity: CRS, ICANS, CTCAE haematology, ICAHT, episodes."
    )
