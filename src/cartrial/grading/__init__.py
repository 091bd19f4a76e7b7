"""Toxicity grading engine: ASTCT 2019 CRS and ICANS (with ICE), legacy CRS scales (Lee 2014, CARTOX),
CTCAE haematology and ICAHT, per assessment (frozen dataclasses naming the rule and source), column-wise
(numpy) for batch use, and frame-level derivations (``derive_*``: a DataFrame in, a `cartrial.results.Result`
out) used alike by the command line, the study store, the demo and notebooks; CRS/ICANS episodes and graded
events for the DLT rules.

Names are imported lazily on first use (PEP 562), so that the command line can import the light option
enums of `cartrial.grading.choices` without loading numpy and pandas.

Rules, sources and choices: ``docs/grading.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cartrial.grading.choices import (
        GradingUnit,
        MaskedResolution,
        MaskingClasses,
        ResolutionRule,
        UnsampledDays,
    )
    from cartrial.grading.crs import (
        CRS_SCALE,
        OXYGEN_DEVICES,
        CrsGrade,
        CrsGradeArrays,
        CrsOptions,
        FeverState,
        OxygenDevice,
        celsius_from_fahrenheit,
        grade_crs,
        grade_crs_arrays,
        hypotension_from_sbp,
        oxygen_codes,
    )
    from cartrial.grading.ctcae import (
        ANALYTES,
        Analyte,
        LabGrade,
        LabGradeArrays,
        ctcae_term,
        grade_lab,
        grade_labs_arrays,
        unit_factor,
    )
    from cartrial.grading.episodes import (
        CrsEpisodeResult,
        EpisodeOptions,
        EpisodeSummary,
        crs_episodes,
        icans_episodes,
    )
    from cartrial.grading.events import LabRun, episode_events, lab_events, lab_runs
    from cartrial.grading.frames import (
        crs_assessment_masked,
        derive_crs_episodes,
        derive_crs_grades,
        derive_graded_events,
        derive_icaht,
        derive_icans_episodes,
        derive_icans_grades,
        derive_lab_grades,
        episode_table,
        grade_crs_inputs,
        infusion_times,
        new_therapy_days,
        prepare_crs_inputs,
        therapy_records,
    )
    from cartrial.grading.icaht import (
        IcahtGrade,
        IcahtOptions,
        TIcahtGrade,
        grade_icaht,
        grade_t_icaht,
    )
    from cartrial.grading.icans import (
        CerebralEdema,
        Consciousness,
        IcansGrade,
        IcansGradeArrays,
        MotorFinding,
        Seizure,
        grade_icans,
        grade_icans_arrays,
        ice_score,
    )
    from cartrial.grading.legacy import (
        HighDoseVasopressorThresholds,
        LegacyGrade,
        LegacyObservation,
        LegacyScale,
        VasopressorDoses,
        grade_legacy_crs,
        is_high_dose,
    )
    from cartrial.grading.quality import (
        LAB_PLAUSIBLE_RANGES,
        PlausibleRange,
        check_duplicate_assessments,
        check_lab_plausibility,
    )
    from cartrial.grading.tables import (
        TherapyRecord,
        parse_crs_frame,
        parse_icans_frame,
        parse_infusions_frame,
        parse_labs_frame,
        parse_therapies_frame,
    )

_EXPORTS: dict[str, str] = {
    "lab_runs": "cartrial.grading.events",
    "lab_events": "cartrial.grading.events",
    "episode_events": "cartrial.grading.events",
    "LabRun": "cartrial.grading.events",
    "ANALYTES": "cartrial.grading.ctcae",
    "Analyte": "cartrial.grading.ctcae",
    "CRS_SCALE": "cartrial.grading.crs",
    "CerebralEdema": "cartrial.grading.icans",
    "Consciousness": "cartrial.grading.icans",
    "CrsEpisodeResult": "cartrial.grading.episodes",
    "CrsGrade": "cartrial.grading.crs",
    "CrsGradeArrays": "cartrial.grading.crs",
    "CrsOptions": "cartrial.grading.crs",
    "EpisodeOptions": "cartrial.grading.episodes",
    "EpisodeSummary": "cartrial.grading.episodes",
    "FeverState": "cartrial.grading.crs",
    "GradingUnit": "cartrial.grading.choices",
    "HighDoseVasopressorThresholds": "cartrial.grading.legacy",
    "IcahtGrade": "cartrial.grading.icaht",
    "IcahtOptions": "cartrial.grading.icaht",
    "IcansGrade": "cartrial.grading.icans",
    "IcansGradeArrays": "cartrial.grading.icans",
    "LAB_PLAUSIBLE_RANGES": "cartrial.grading.quality",
    "LabGrade": "cartrial.grading.ctcae",
    "LabGradeArrays": "cartrial.grading.ctcae",
    "LegacyGrade": "cartrial.grading.legacy",
    "LegacyObservation": "cartrial.grading.legacy",
    "LegacyScale": "cartrial.grading.legacy",
    "MaskedResolution": "cartrial.grading.choices",
    "MaskingClasses": "cartrial.grading.choices",
    "MotorFinding": "cartrial.grading.icans",
    "OXYGEN_DEVICES": "cartrial.grading.crs",
    "OxygenDevice": "cartrial.grading.crs",
    "PlausibleRange": "cartrial.grading.quality",
    "ResolutionRule": "cartrial.grading.choices",
    "Seizure": "cartrial.grading.icans",
    "TIcahtGrade": "cartrial.grading.icaht",
    "TherapyRecord": "cartrial.grading.tables",
    "UnsampledDays": "cartrial.grading.choices",
    "VasopressorDoses": "cartrial.grading.legacy",
    "celsius_from_fahrenheit": "cartrial.grading.crs",
    "check_duplicate_assessments": "cartrial.grading.quality",
    "check_lab_plausibility": "cartrial.grading.quality",
    "crs_assessment_masked": "cartrial.grading.frames",
    "crs_episodes": "cartrial.grading.episodes",
    "ctcae_term": "cartrial.grading.ctcae",
    "derive_crs_episodes": "cartrial.grading.frames",
    "derive_crs_grades": "cartrial.grading.frames",
    "derive_graded_events": "cartrial.grading.frames",
    "derive_icaht": "cartrial.grading.frames",
    "derive_icans_episodes": "cartrial.grading.frames",
    "derive_icans_grades": "cartrial.grading.frames",
    "derive_lab_grades": "cartrial.grading.frames",
    "episode_table": "cartrial.grading.frames",
    "grade_crs": "cartrial.grading.crs",
    "grade_crs_arrays": "cartrial.grading.crs",
    "grade_crs_inputs": "cartrial.grading.frames",
    "grade_icaht": "cartrial.grading.icaht",
    "grade_icans": "cartrial.grading.icans",
    "grade_icans_arrays": "cartrial.grading.icans",
    "grade_lab": "cartrial.grading.ctcae",
    "grade_labs_arrays": "cartrial.grading.ctcae",
    "grade_legacy_crs": "cartrial.grading.legacy",
    "grade_t_icaht": "cartrial.grading.icaht",
    "hypotension_from_sbp": "cartrial.grading.crs",
    "icans_episodes": "cartrial.grading.episodes",
    "ice_score": "cartrial.grading.icans",
    "infusion_times": "cartrial.grading.frames",
    "new_therapy_days": "cartrial.grading.frames",
    "is_high_dose": "cartrial.grading.legacy",
    "oxygen_codes": "cartrial.grading.crs",
    "parse_crs_frame": "cartrial.grading.tables",
    "parse_icans_frame": "cartrial.grading.tables",
    "parse_infusions_frame": "cartrial.grading.tables",
    "parse_labs_frame": "cartrial.grading.tables",
    "parse_therapies_frame": "cartrial.grading.tables",
    "prepare_crs_inputs": "cartrial.grading.frames",
    "therapy_records": "cartrial.grading.frames",
    "unit_factor": "cartrial.grading.ctcae",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "ANALYTES",
    "CRS_SCALE",
    "LAB_PLAUSIBLE_RANGES",
    "OXYGEN_DEVICES",
    "Analyte",
    "CerebralEdema",
    "Consciousness",
    "CrsEpisodeResult",
    "CrsGrade",
    "CrsGradeArrays",
    "CrsOptions",
    "EpisodeOptions",
    "EpisodeSummary",
    "FeverState",
    "GradingUnit",
    "HighDoseVasopressorThresholds",
    "IcahtGrade",
    "IcahtOptions",
    "IcansGrade",
    "IcansGradeArrays",
    "LabGrade",
    "LabGradeArrays",
    "LabRun",
    "LegacyGrade",
    "LegacyObservation",
    "LegacyScale",
    "MaskedResolution",
    "MaskingClasses",
    "MotorFinding",
    "OxygenDevice",
    "PlausibleRange",
    "ResolutionRule",
    "Seizure",
    "TIcahtGrade",
    "TherapyRecord",
    "UnsampledDays",
    "VasopressorDoses",
    "celsius_from_fahrenheit",
    "check_duplicate_assessments",
    "check_lab_plausibility",
    "crs_assessment_masked",
    "crs_episodes",
    "ctcae_term",
    "derive_crs_episodes",
    "derive_crs_grades",
    "derive_graded_events",
    "derive_icaht",
    "derive_icans_episodes",
    "derive_icans_grades",
    "derive_lab_grades",
    "episode_events",
    "episode_table",
    "grade_crs",
    "grade_crs_arrays",
    "grade_crs_inputs",
    "grade_icaht",
    "grade_icans",
    "grade_icans_arrays",
    "grade_lab",
    "grade_labs_arrays",
    "grade_legacy_crs",
    "grade_t_icaht",
    "hypotension_from_sbp",
    "icans_episodes",
    "ice_score",
    "infusion_times",
    "is_high_dose",
    "lab_events",
    "lab_runs",
    "new_therapy_days",
    "oxygen_codes",
    "parse_crs_frame",
    "parse_icans_frame",
    "parse_infusions_frame",
    "parse_labs_frame",
    "parse_therapies_frame",
    "prepare_crs_inputs",
    "therapy_records",
    "unit_factor",
]
