"""Dose-escalation engine: 3+3, BOIN, mTPI-2, i3+3, CRM and TITE-CRM; live decisions, decision tables,
dose-transition pathways, and operating characteristics (vectorised Monte Carlo; exact for 3+3).

Rules and sources: ``docs/science/dose-escalation.md``. Dose levels are 1-based everywhere. A fitted
design gives the next dose (`Fit.next_dose`) and, separately, the final MTD (`Fit.select_mtd()`).

Modules load lazily (PEP 562): reading the option registry (`cartrial.protocol.design_options`) does not
import numpy or scipy, so the command line starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cartrial.escalation.behaviours import (
        BehavingDesign,
        Behaviour,
        CoherentEscalation,
        DontSkipDoses,
        ExpansionCohort,
        StopAtN,
        StopWhenNAtDose,
        StopWhenTooToxic,
        with_behaviours,
    )
    from cartrial.escalation.conduct import (
        TitePatient,
        design_decision,
        replay_decisions,
        tite_history,
    )
    from cartrial.escalation.crm import (
        Crm,
        TiteCrm,
        getprior,
    )
    from cartrial.escalation.design import (
        Decision,
        Design,
        DoseEstimate,
        Fit,
        MtdSelection,
        StopReason,
    )
    from cartrial.escalation.dlt import (
        DltAssessment,
        SubjectDlt,
        assess_dlt,
        attributed_relatedness,
        cohort_outcomes,
        event_organ,
        subject_dlt,
    )
    from cartrial.escalation.interval import (
        Boin,
        I3plus3,
        Mtpi2,
        TableDesign,
        boin_boundaries,
    )
    from cartrial.escalation.isotonic import (
        pava,
    )
    from cartrial.escalation.outcomes import (
        Outcomes,
        PatientOutcome,
        format_outcomes,
        parse_outcomes,
    )
    from cartrial.escalation.simulation import (
        CohortRun,
        OperatingCharacteristics,
        exact_three_plus_three,
        run_cohorts,
        simulate,
    )
    from cartrial.escalation.spec import (
        assemble_design,
        build_design,
        design_from_spec,
    )
    from cartrial.escalation.tables import (
        DecisionTable,
        DosePathways,
        decision_table,
        dose_pathways,
    )
    from cartrial.escalation.three_plus_three import (
        ThreePlusThree,
    )
    from cartrial.protocol.design_options import (
        DESIGN_OPTIONS,
        DESIGNS,
        OPTIONS,
        DesignOption,
        check_design_options,
        spec_options,
    )
    from cartrial.protocol.organs import (
        organ_of,
    )

_WHERE: dict[str, str] = {
    "BehavingDesign": "cartrial.escalation.behaviours",
    "Behaviour": "cartrial.escalation.behaviours",
    "Boin": "cartrial.escalation.interval",
    "CoherentEscalation": "cartrial.escalation.behaviours",
    "CohortRun": "cartrial.escalation.simulation",
    "Crm": "cartrial.escalation.crm",
    "DESIGNS": "cartrial.protocol.design_options",
    "DESIGN_OPTIONS": "cartrial.protocol.design_options",
    "Decision": "cartrial.escalation.design",
    "DecisionTable": "cartrial.escalation.tables",
    "Design": "cartrial.escalation.design",
    "DesignOption": "cartrial.protocol.design_options",
    "DltAssessment": "cartrial.escalation.dlt",
    "DontSkipDoses": "cartrial.escalation.behaviours",
    "DoseEstimate": "cartrial.escalation.design",
    "DosePathways": "cartrial.escalation.tables",
    "ExpansionCohort": "cartrial.escalation.behaviours",
    "Fit": "cartrial.escalation.design",
    "I3plus3": "cartrial.escalation.interval",
    "MtdSelection": "cartrial.escalation.design",
    "Mtpi2": "cartrial.escalation.interval",
    "OPTIONS": "cartrial.protocol.design_options",
    "OperatingCharacteristics": "cartrial.escalation.simulation",
    "Outcomes": "cartrial.escalation.outcomes",
    "PatientOutcome": "cartrial.escalation.outcomes",
    "StopAtN": "cartrial.escalation.behaviours",
    "StopReason": "cartrial.escalation.design",
    "StopWhenNAtDose": "cartrial.escalation.behaviours",
    "StopWhenTooToxic": "cartrial.escalation.behaviours",
    "SubjectDlt": "cartrial.escalation.dlt",
    "TableDesign": "cartrial.escalation.interval",
    "ThreePlusThree": "cartrial.escalation.three_plus_three",
    "TitePatient": "cartrial.escalation.conduct",
    "TiteCrm": "cartrial.escalation.crm",
    "assemble_design": "cartrial.escalation.spec",
    "assess_dlt": "cartrial.escalation.dlt",
    "attributed_relatedness": "cartrial.escalation.dlt",
    "boin_boundaries": "cartrial.escalation.interval",
    "build_design": "cartrial.escalation.spec",
    "check_design_options": "cartrial.protocol.design_options",
    "cohort_outcomes": "cartrial.escalation.dlt",
    "decision_table": "cartrial.escalation.tables",
    "design_decision": "cartrial.escalation.conduct",
    "design_from_spec": "cartrial.escalation.spec",
    "dose_pathways": "cartrial.escalation.tables",
    "event_organ": "cartrial.escalation.dlt",
    "exact_three_plus_three": "cartrial.escalation.simulation",
    "format_outcomes": "cartrial.escalation.outcomes",
    "getprior": "cartrial.escalation.crm",
    "organ_of": "cartrial.protocol.organs",
    "parse_outcomes": "cartrial.escalation.outcomes",
    "pava": "cartrial.escalation.isotonic",
    "replay_decisions": "cartrial.escalation.conduct",
    "run_cohorts": "cartrial.escalation.simulation",
    "simulate": "cartrial.escalation.simulation",
    "spec_options": "cartrial.protocol.design_options",
    "subject_dlt": "cartrial.escalation.dlt",
    "tite_history": "cartrial.escalation.conduct",
    "with_behaviours": "cartrial.escalation.behaviours",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'cartrial.escalation' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DESIGNS",
    "DESIGN_OPTIONS",
    "OPTIONS",
    "BehavingDesign",
    "Behaviour",
    "Boin",
    "CoherentEscalation",
    "CohortRun",
    "Crm",
    "Decision",
    "DecisionTable",
    "Design",
    "DesignOption",
    "DltAssessment",
    "DontSkipDoses",
    "DoseEstimate",
    "DosePathways",
    "ExpansionCohort",
    "Fit",
    "I3plus3",
    "MtdSelection",
    "Mtpi2",
    "OperatingCharacteristics",
    "Outcomes",
    "PatientOutcome",
    "StopAtN",
    "StopReason",
    "StopWhenNAtDose",
    "StopWhenTooToxic",
    "SubjectDlt",
    "TableDesign",
    "ThreePlusThree",
    "TiteCrm",
    "TitePatient",
    "assemble_design",
    "assess_dlt",
    "attributed_relatedness",
    "boin_boundaries",
    "build_design",
    "check_design_options",
    "cohort_outcomes",
    "decision_table",
    "design_decision",
    "design_from_spec",
    "dose_pathways",
    "event_organ",
    "exact_three_plus_three",
    "format_outcomes",
    "getprior",
    "organ_of",
    "parse_outcomes",
    "pava",
    "replay_decisions",
    "run_cohorts",
    "simulate",
    "spec_options",
    "subject_dlt",
    "tite_history",
    "with_behaviours",
]
