"""`cartrial grade …`: batch toxicity grading of the CRS, ICANS and laboratory forms (CSV in, CSV/JSON out).

Thin layer: read the CSV (`cartrial.tabular`), validate it (`cartrial.grading.tables`), grade with the
vectorised engine (`cartrial.grading`), write the input rows plus `grade` and `grade_reason` (and the options
used). Bad rows: fail listing all of them (exit 2, nothing written) or, with ``--keep-going``, grade the good
rows and fill an ``error`` column for the bad ones.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import typer
from rich.table import Table

from cartrial.columns import RowProblems
from cartrial.demo import DemoContext
from cartrial.errors import InputError, Problem
from cartrial.grading.crs import (
    CRS_SCALE,
    CRS_SOURCE,
    OXYGEN_DEVICES,
    CrsOptions,
    FeverState,
    MaskingClasses,
    grade_crs_arrays,
)
from cartrial.grading.ctcae import ANALYTES, CTCAE_SOURCE_V5, CTCAE_SOURCE_V6, Analyte, grade_labs_arrays
from cartrial.grading.episodes import (
    EpisodeOptions,
    EpisodeSummary,
    GradingUnit,
    ResolutionRule,
    crs_episodes,
    icans_episodes,
)
from cartrial.grading.events import episode_events, lab_events, lab_runs
from cartrial.grading.icaht import (
    ICAHT_SCALE,
    ICAHT_SOURCE,
    IcahtOptions,
    UnsampledDays,
    grade_icaht,
    grade_t_icaht,
)
from cartrial.grading.icans import DOMAINS, ICANS_SCALE, ICANS_SOURCE, grade_icans_arrays
from cartrial.grading.legacy import (
    LegacyObservation,
    LegacyScale,
    VasopressorDoses,
    grade_legacy_crs,
)
from cartrial.grading.tables import (
    CRS_ONE_OF,
    CRS_OPTIONAL,
    CRS_REQUIRED,
    ICANS_OPTIONAL,
    ICANS_REQUIRED,
    INFUSIONS_REQUIRED,
    LABS_REQUIRED,
    THERAPIES_OPTIONAL,
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
from cartrial.tabular import emit_table, read_csv, write_atomic

grade_app = typer.Typer(
    help="Grade toxicity from observation forms: ASTCT CRS/ICANS, CTCAE haematology, ICAHT, episodes.",
    no_args_is_help=True,
)

OUT_OPTION = typer.Option(None, "--out", "-o", help="Write the result to this file instead of stdout.")
JSON_OPTION = typer.Option(False, "--json", help="Write JSON (options used + rows) instead of CSV.")
KEEP_GOING_OPTION = typer.Option(
    False, "--keep-going", help="Grade the good rows and add an `error` column for bad ones (default: fail)."
)
POST_MASKING_OPTION = typer.Option(
    1,
    "--post-masking-grade",
    help="A1: grade after masking therapy with no fever/hypotension/hypoxia (1 or 0).",
)
MASKING_CLASSES_OPTION = typer.Option(
    MaskingClasses.ANTIPYRETIC_ANTICYTOKINE_CORTICOSTEROID,
    "--masking-classes",
    help="A2: drug classes that mask fever (with --therapies): antipyretic_anticytokine_corticosteroid | "
    "anticytokine_corticosteroid.",
)
VASOPRESSIN_OPTION = typer.Option(
    3, "--vasopressin-alone-grade", help="A3: grade of hypotension on vasopressin alone (3 or 2)."
)
SBP_OPTION = typer.Option(
    90.0,
    "--sbp-threshold",
    help="A4: SBP (mmHg) below which hypotension is present, used with systolic_bp_mmhg.",
)


def _crs_options(
    post_masking: int, masking: MaskingClasses, vasopressin_alone: int, sbp: float
) -> CrsOptions:
    return CrsOptions(
        post_masking_grade=post_masking,
        masking_classes=masking,
        vasopressin_alone_grade=vasopressin_alone,
        sbp_threshold_mmhg=sbp,
    )


def _finish(
    frame: pd.DataFrame, problems: RowProblems, columns: dict[str, Any], keep_going: bool
) -> pd.DataFrame:
    """Input rows plus result columns; with problems (and --keep-going) an `error` column, blank results."""
    out = frame.copy()
    bad = problems.bad_mask(len(frame))
    for name, values in columns.items():
        series = pd.Series(values, index=out.index)
        if bad.any():
            series = series.astype(object).where(~bad, None)
        out[name] = series
    if keep_going and problems:
        out["error"] = problems.error_column(len(frame))
    return out


# ---------------------------------------------------------------- CRS


def grade_crs_frame(
    frame: pd.DataFrame, problems: RowProblems, options: CrsOptions, legacy: bool = False
) -> tuple[pd.DataFrame, CrsInputs]:
    """Grade a validated CRS form frame (vectorised); returns result columns (before the error column)."""
    inputs = parse_crs_frame(frame, problems, sbp_threshold_mmhg=options.sbp_threshold_mmhg)
    masked_effective = inputs.fever_masked & ~inputs.crs_resolved
    graded = grade_crs_arrays(
        temperature_c=np.nan_to_num(inputs.temperature_c, nan=37.0),
        fever_masked=masked_effective,
        hypotension=inputs.hypotension,
        vasopressors=inputs.vasopressors,
        vasopressin=inputs.vasopressin,
        oxygen_code=inputs.oxygen_code,
        oxygen_l_min=inputs.oxygen_l_min,
        death_due_to_crs=inputs.death_due_to_crs,
        fever_other_cause=inputs.fever_other_cause,
        options=options,
    )
    columns: dict[str, Any] = {
        "grade": graded.grade.astype(int),
        "grade_reason": graded.rule_texts(),
        "scale": CRS_SCALE,
        "temperature_c_used": np.round(inputs.temperature_c, 2),
        "fever": [FeverState(int(v)).name.lower() for v in graded.fever],
        "hypotension_grade": graded.hypotension_grade.astype(int),
        "hypoxia_grade": graded.hypoxia_grade.astype(int),
        **{k: v for k, v in options.as_dict().items()},
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
                result = grade_legacy_crs(_legacy_observation(frame, inputs, i), scale)
                grades.append(result.grade)
                reasons.append(result.rule)
            columns[f"{prefix}_grade"] = pd.array(grades, dtype="Int64")
            columns[f"{prefix}_reason"] = reasons
    return _finish_columns(columns), inputs


def _finish_columns(columns: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {k: (list(v) if not isinstance(v, str | int | float) else v) for k, v in columns.items()}
    )


def _legacy_observation(frame: pd.DataFrame, inputs: CrsInputs, i: int) -> LegacyObservation:
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


def _read_crs(path: Path) -> pd.DataFrame:
    return read_csv(path, required=CRS_REQUIRED, optional=CRS_OPTIONAL, one_of=CRS_ONE_OF)


def _read_icans(path: Path) -> pd.DataFrame:
    return read_csv(
        path, required=ICANS_REQUIRED, optional=ICANS_OPTIONAL, one_of=(("ice_orientation", "ice_total"),)
    )


@grade_app.command("crs")
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
    options = _crs_options(
        post_masking_grade,
        MaskingClasses.ANTIPYRETIC_ANTICYTOKINE_CORTICOSTEROID,
        vasopressin_alone_grade,
        sbp_threshold,
    )
    frame = _read_crs(file)
    problems = RowProblems(file)
    columns, _ = grade_crs_frame(frame, problems, options, legacy=legacy)
    problems.raise_if_any(keep_going)
    result = _finish(frame, problems, dict(columns.items()), keep_going)
    emit_table(
        result, out, as_json, extra={"scale": CRS_SCALE, "source": CRS_SOURCE, "options": options.as_dict()}
    )


# ---------------------------------------------------------------- ICANS


def grade_icans_frame(frame: pd.DataFrame, problems: RowProblems) -> tuple[pd.DataFrame, IcansInputs]:
    """Grade a validated ICANS form frame (vectorised)."""
    inputs = parse_icans_frame(frame, problems)
    graded = grade_icans_arrays(
        ice_total=inputs.ice_total,
        consciousness_code=inputs.consciousness_code,
        seizure_code=inputs.seizure_code,
        motor_code=inputs.motor_code,
        edema_code=inputs.edema_code,
        consciousness_other_cause=inputs.consciousness_other_cause,
    )
    columns: dict[str, Any] = {
        "ice_score": pd.array([None if np.isnan(v) else int(v) for v in inputs.ice_total], dtype="Int64"),
        "grade": graded.grade.astype(int),
        "grade_reason": graded.rule_texts(),
        "scale": ICANS_SCALE,
        **{f"{d.lower()}_grade": graded.domain_grades[d].astype(int) for d in DOMAINS},
    }
    return _finish_columns(columns), inputs


@grade_app.command("icans")
def icans_command(
    file: Path = typer.Argument(..., help="ICANS assessments CSV (docs/templates/icans_assessments.csv)."),
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
    keep_going: bool = KEEP_GOING_OPTION,
) -> None:
    """Grade each ICANS assessment by ASTCT 2019 (ICE score and the worst domain)."""
    frame = _read_icans(file)
    problems = RowProblems(file)
    columns, _ = grade_icans_frame(frame, problems)
    problems.raise_if_any(keep_going)
    result = _finish(frame, problems, dict(columns.items()), keep_going)
    emit_table(result, out, as_json, extra={"scale": ICANS_SCALE, "source": ICANS_SOURCE})


# ---------------------------------------------------------------- labs


def grade_labs_frame(
    frame: pd.DataFrame, problems: RowProblems, ctcae_version: str, lln_required: bool
) -> tuple[pd.DataFrame, LabInputs]:
    """Grade a validated haematology form frame (vectorised CTCAE)."""
    inputs = parse_labs_frame(frame, problems)
    bad = problems.bad_mask(len(frame))
    graded = grade_labs_arrays(
        inputs.analyte_code,
        np.where(bad, 0.0, inputs.value_canonical),
        np.where(bad, 0.0, inputs.lln_canonical),
        ctcae_version=ctcae_version,
        lln_required_for_higher_grades=lln_required,
        life_threatening_anemia=inputs.life_threatening_anemia,
    )
    canonical_unit = [
        "g/L" if ANALYTES[int(c)].value == "hemoglobin" else "10^9/L" for c in inputs.analyte_code
    ]
    columns: dict[str, Any] = {
        "term": graded.term,
        "value_canonical": np.round(inputs.value_canonical, 6),
        "lln_canonical": np.round(inputs.lln_canonical, 6),
        "canonical_unit": canonical_unit,
        "grade": graded.grade.astype(int),
        "grade_reason": graded.rule,
        "scale": f"CTCAE v{ctcae_version}",
        "lln_required_for_higher_grades": lln_required,
    }
    return _finish_columns(columns), inputs


CTCAE_OPTION = typer.Option("5.0", "--ctcae-version", help="CTCAE version: 5.0 (default) or 6.0.")
LLN_OPTION = typer.Option(
    False, "--lln-required-for-higher-grades", help="Grades 2-4 also need a value below the LLN (default no)."
)


@grade_app.command("labs")
def labs_command(
    file: Path = typer.Argument(..., help="Haematology results CSV (docs/templates/labs.csv)."),
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
    keep_going: bool = KEEP_GOING_OPTION,
    ctcae_version: str = CTCAE_OPTION,
    lln_required: bool = LLN_OPTION,
) -> None:
    """Grade haematology results by CTCAE (neutrophils, platelets, haemoglobin, lymphocytes, WBC)."""
    frame = read_csv(file, required=LABS_REQUIRED)
    problems = RowProblems(file)
    columns, _ = grade_labs_frame(frame, problems, ctcae_version, lln_required)
    problems.raise_if_any(keep_going)
    result = _finish(frame, problems, dict(columns.items()), keep_going)
    source = CTCAE_SOURCE_V5 if ctcae_version == "5.0" else CTCAE_SOURCE_V6
    emit_table(result, out, as_json, extra={"scale": f"CTCAE v{ctcae_version}", "source": source})


# ---------------------------------------------------------------- episodes and ICAHT


def read_infusions(path: Path) -> dict[str, datetime]:
    """Infusion time per subject from a CSV with at least subject_id, infused_at (extra columns allowed)."""
    frame = read_csv(path, required=INFUSIONS_REQUIRED)
    problems = RowProblems(path)
    infusions = parse_infusions_frame(frame, problems)
    problems.raise_if_any(False)
    return infusions


def read_therapies(path: Path) -> list[TherapyRecord]:
    frame = read_csv(path, required=THERAPIES_REQUIRED, optional=THERAPIES_OPTIONAL)
    problems = RowProblems(path)
    records = parse_therapies_frame(frame, problems)
    problems.raise_if_any(False)
    return records


def _check_subjects(
    subject_ids: npt.NDArray[np.object_], infusions: dict[str, datetime], problems: RowProblems, file: Path
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


def with_excluded_rows(frame: pd.DataFrame, excluded: dict[str, str] | None) -> pd.DataFrame:
    """Add the `excluded_rows` column (--keep-going), with a row for subjects whose rows were all bad."""
    if not excluded:
        return frame
    missing = [sid for sid in excluded if sid not in set(frame.get("subject_id", []))]
    if missing:
        frame = pd.concat([frame, pd.DataFrame({"subject_id": missing})], ignore_index=True)
    frame["excluded_rows"] = [excluded.get(str(sid), "") for sid in frame["subject_id"]]
    return frame


def episode_table(episodes: list[EpisodeSummary], excluded: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per episode (`EpisodeSummary.as_record`); with `excluded`, the bad input rows per subject."""
    frame = pd.DataFrame([ep.as_record() for ep in episodes])
    frame = with_excluded_rows(frame, excluded)
    if "max_grade" in frame:
        frame["max_grade"] = frame["max_grade"].astype("Int64")
        frame["episode"] = frame["episode"].astype("Int64")
    return frame


@grade_app.command("episodes")
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
        help="A6: recorded (crs_resolved, fallback first grade 0) or first_grade_0.",
    ),
    post_masking_grade: int = POST_MASKING_OPTION,
    masking_classes: MaskingClasses = MASKING_CLASSES_OPTION,
    vasopressin_alone_grade: int = VASOPRESSIN_OPTION,
    sbp_threshold: float = SBP_OPTION,
) -> None:
    """Per-subject CRS or ICANS episodes: onset, maximum grade and when, duration, masking, therapies."""
    header = read_csv(file).columns  # checks the file is a readable CSV before detecting its kind
    detected = kind or ("icans" if "consciousness" in header else "crs")
    if detected not in ("crs", "icans"):
        raise InputError(Problem("unknown kind", field="--kind", value=kind, allowed="crs | icans"))
    ep_options = EpisodeOptions(
        grading_unit=grading_unit,
        resolution_rule=resolution_rule,
    )
    infusions = read_infusions(infusion_dates)
    problems = RowProblems(file)
    if detected == "crs":
        options = _crs_options(post_masking_grade, masking_classes, vasopressin_alone_grade, sbp_threshold)
        frame = _read_crs(file)
        inputs = parse_crs_frame(frame, problems, sbp_threshold_mmhg=options.sbp_threshold_mmhg)
        _check_subjects(inputs.subject_id, infusions, problems, file)
        records = read_therapies(therapies) if therapies else []
        problems.raise_if_any(keep_going)
        good = ~problems.bad_mask(len(frame))
        result = crs_episodes(
            inputs, infusions, good=good, therapies=records, options=options, episode_options=ep_options
        )
        episodes = result.episodes
        extra: dict[str, Any] = {
            "kind": "crs",
            "scale": CRS_SCALE,
            "options": {**options.as_dict(), **ep_options.as_dict()},
        }
        subject_ids = inputs.subject_id
    else:
        frame = _read_icans(file)
        icans_inputs = parse_icans_frame(frame, problems)
        _check_subjects(icans_inputs.subject_id, infusions, problems, file)
        problems.raise_if_any(keep_going)
        good = ~problems.bad_mask(len(frame))
        records = read_therapies(therapies) if therapies else []
        episodes = icans_episodes(
            icans_inputs, infusions, good=good, therapies=records, episode_options=ep_options
        )
        extra = {"kind": "icans", "scale": ICANS_SCALE, "options": ep_options.as_dict()}
        subject_ids = icans_inputs.subject_id
    table = episode_table(
        episodes, _excluded_rows(problems, subject_ids) if keep_going and problems else None
    )
    emit_table(table, out, as_json, extra=extra)


def icaht_table(
    inputs: LabInputs, good: npt.NDArray[np.bool_], infusions: dict[str, datetime], options: IcahtOptions
) -> pd.DataFrame:
    """Early and late ICAHT (neutrophils) and T-ICAHT (platelets) per subject from a labs form."""
    wanted = {Analyte.NEUTROPHILS: 1000.0, Analyte.PLATELETS: 1.0}  # ANC in cells/µL, platelets in 10^9/L
    series: dict[tuple[str, Analyte], tuple[list[int], list[float]]] = {}
    for i in np.flatnonzero(good):
        analyte = ANALYTES[int(inputs.analyte_code[i])]
        if analyte not in wanted:
            continue
        sid = str(inputs.subject_id[i])
        moment = inputs.collected_at[i]
        assert moment is not None
        days, values = series.setdefault((sid, analyte), ([], []))
        days.append((moment.date() - infusions[sid].date()).days)
        values.append(float(inputs.value_canonical[i]) * wanted[analyte])
    rows = []
    for sid in sorted({sid for sid, _ in series}):
        row: dict[str, Any] = {"subject_id": sid}
        anc = series.get((sid, Analyte.NEUTROPHILS))
        if anc is not None:
            n = grade_icaht(*anc, options=options)
            row |= {
                "early_grade": n.early_grade,
                "early_reason": n.early_rule,
                "early_days_anc_le_500": n.early_days_anc_le_500,
                "early_days_anc_le_100": n.early_days_anc_le_100,
                "late_grade": n.late_grade,
                "late_reason": n.late_rule,
                "late_nadir_per_ul": n.late_nadir_per_ul,
                "n_anc_values": len(anc[0]),
            }
        plt = series.get((sid, Analyte.PLATELETS))
        if plt is not None:
            t = grade_t_icaht(*plt, options=options)
            row |= {
                "t_early_grade": t.early_grade,
                "t_early_reason": t.early_rule,
                "t_late_grade": t.late_grade,
                "t_late_reason": t.late_rule,
                "n_platelet_values": len(plt[0]),
            }
        rows.append({**row, "scale": ICAHT_SCALE, **options.as_dict()})
    frame = pd.DataFrame(rows)
    for column in ("early_grade", "late_grade", "t_early_grade", "t_late_grade"):
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    return frame


@grade_app.command("icaht")
def icaht_command(
    file: Path = typer.Argument(..., help="Haematology results CSV (neutrophil rows are used)."),
    infusion_dates: Path = typer.Option(..., "--infusion-dates", help="CSV with subject_id, infused_at."),
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
    keep_going: bool = KEEP_GOING_OPTION,
    early_g4_min_days: int = typer.Option(
        31, "--early-g4-min-days", help="H1: days ANC ≤ 500/µL for early grade 4."
    ),
    min_recovery_days: int = typer.Option(
        3, "--min-recovery-days", help="H2: days above threshold that end an episode."
    ),
    late_min_values: int = typer.Option(
        2, "--late-min-values", help="H3: values below a late threshold needed (2 or 1)."
    ),
    unsampled_days: UnsampledDays = typer.Option(
        UnsampledDays.LOCF, "--unsampled-days", help="H4: locf or sampled_only."
    ),
) -> None:
    """Early/late ICAHT (ANC) and T-ICAHT (platelets) per subject from the blood counts (EHA/EBMT 2023)."""
    options = IcahtOptions(
        early_g4_min_days=early_g4_min_days,
        min_recovery_days=min_recovery_days,
        late_min_values=late_min_values,
        unsampled_days=unsampled_days,
    )
    infusions = read_infusions(infusion_dates)
    frame = read_csv(file, required=LABS_REQUIRED)
    problems = RowProblems(file)
    inputs = parse_labs_frame(frame, problems)
    _check_subjects(inputs.subject_id, infusions, problems, file)
    problems.raise_if_any(keep_going)
    table = icaht_table(inputs, ~problems.bad_mask(len(frame)), infusions, options)
    if keep_going and problems:
        table = with_excluded_rows(table, _excluded_rows(problems, inputs.subject_id))
    emit_table(
        table,
        out,
        as_json,
        extra={"scale": ICAHT_SCALE, "source": ICAHT_SOURCE, "options": options.as_dict()},
    )


def register(app: typer.Typer) -> None:
    """Add the `grade` command group to the root app."""
    app.add_typer(
        grade_app, name="grade", help="Grade toxicity: CRS, ICANS, CTCAE haematology, ICAHT, episodes."
    )


# ---------------------------------------------------------------- demo


def demo(ctx: DemoContext) -> None:
    """Grade the example study's CRS, ICANS and lab forms; write graded CSVs, episodes and ICAHT."""
    study = ctx.examples_dir / "ct103a-nmosd" / "study"
    out_dir = ctx.out_dir / "grading"
    out_dir.mkdir(parents=True, exist_ok=True)
    infusions = read_infusions(study / "infusions.csv")
    therapies = read_therapies(study / "therapies.csv")
    options = CrsOptions()
    ep_options = EpisodeOptions()

    crs_file = study / "crs_assessments.csv"
    crs_frame = _read_crs(crs_file)
    problems = RowProblems(crs_file)
    columns, crs_inputs = grade_crs_frame(crs_frame, problems, options, legacy=True)
    problems.raise_if_any(False)
    write_atomic(
        out_dir / "crs_graded.csv",
        _finish(crs_frame, problems, dict(columns.items()), False).to_csv(index=False),
    )
    crs_result = crs_episodes(
        crs_inputs, infusions, therapies=therapies, options=options, episode_options=ep_options
    )
    write_atomic(out_dir / "crs_episodes.csv", episode_table(crs_result.episodes).to_csv(index=False))

    icans_file = study / "icans_assessments.csv"
    icans_frame = _read_icans(icans_file)
    problems = RowProblems(icans_file)
    columns, icans_inputs = grade_icans_frame(icans_frame, problems)
    problems.raise_if_any(False)
    write_atomic(
        out_dir / "icans_graded.csv",
        _finish(icans_frame, problems, dict(columns.items()), False).to_csv(index=False),
    )
    icans_eps = icans_episodes(icans_inputs, infusions, therapies=therapies, episode_options=ep_options)
    write_atomic(out_dir / "icans_episodes.csv", episode_table(icans_eps).to_csv(index=False))

    labs_file = study / "labs.csv"
    labs_frame = read_csv(labs_file, required=LABS_REQUIRED)
    problems = RowProblems(labs_file)
    columns, lab_inputs = grade_labs_frame(labs_frame, problems, "5.0", False)
    problems.raise_if_any(False)
    labs_graded = _finish(labs_frame, problems, dict(columns.items()), False)
    labs_graded_grades = columns["grade"].to_numpy(dtype=np.int8)
    write_atomic(out_dir / "labs_graded.csv", labs_graded.to_csv(index=False))
    icaht = icaht_table(lab_inputs, np.ones(len(labs_frame), dtype=bool), infusions, IcahtOptions())
    write_atomic(out_dir / "icaht.csv", icaht.to_csv(index=False))
    runs = lab_runs(
        lab_inputs.subject_id, lab_inputs.collected_at, lab_inputs.analyte_code, labs_graded_grades
    )
    events = [*episode_events(crs_result.episodes), *episode_events(icans_eps), *lab_events(runs, infusions)]
    events_frame = pd.DataFrame([asdict(e) for e in events]).sort_values(["subject_id", "onset_day"])
    write_atomic(out_dir / "graded_events.csv", events_frame.to_csv(index=False))

    table = Table(
        title="Toxicity grading (ASTCT 2019 CRS/ICANS, CTCAE v5.0, ICAHT) — synthetic example study"
    )
    for name in (
        "subject",
        "max CRS",
        "CRS onset day",
        "CRS days",
        "toci",
        "max ICANS",
        "worst ANC gr",
        "worst PLT gr",
        "early ICAHT",
        "late ICAHT",
    ):
        table.add_column(name)
    crs_by_subject: dict[str, EpisodeSummary] = {}
    for ep in crs_result.episodes:
        if ep.subject_id not in crs_by_subject or ep.max_grade > crs_by_subject[ep.subject_id].max_grade:
            crs_by_subject[ep.subject_id] = ep
    icans_max: dict[str, int] = {}
    for ep in icans_eps:
        icans_max[ep.subject_id] = max(icans_max.get(ep.subject_id, 0), ep.max_grade)
    worst = labs_graded.groupby(["subject_id", "analyte"])["grade"].max()
    icaht_by = icaht.set_index("subject_id") if len(icaht) else None
    for sid in sorted(infusions):
        episode = crs_by_subject.get(sid)
        early = late = "-"
        if icaht_by is not None and sid in icaht_by.index:
            early = str(icaht_by.loc[sid, "early_grade"])
            late = str(icaht_by.loc[sid, "late_grade"])
        table.add_row(
            sid,
            str(episode.max_grade) if episode else "-",
            f"{episode.onset_day:.1f}" if episode and episode.onset_day is not None else "-",
            f"{episode.duration_days:.1f}" if episode and episode.duration_days is not None else "-",
            str(episode.therapies.get("tocilizumab", 0)) if episode else "-",
            str(icans_max.get(sid, "-")),
            str(worst.get((sid, "neutrophils"), "-")),
            str(worst.get((sid, "platelets"), "-")),
            early,
            late,
        )
    ctx.console.print(table)
    ctx.console.print(
        f"grading: wrote graded CSVs, CRS/ICANS episodes, ICAHT and {len(events)} graded events (for the DLT "
        f"rules) to {out_dir}"
    )
