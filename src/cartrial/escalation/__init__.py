"""Dose-escalation engine: 3+3, BOIN, mTPI-2, i3+3, CRM and TITE-CRM; live decisions, decision tables,
dose-transition pathways, and operating characteristics (vectorised Monte Carlo; exact for 3+3).

Rules and sources: ``dose-escalation.md`` (shared reference). Dose levels are 1-based everywhere. A fitted
design gives the next dose (`Fit.next_dose`) and, separately, the final MTD (`Fit.select_mtd()`).
"""

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
from cartrial.escalation.crm import Crm, TiteCrm, getprior
from cartrial.escalation.design import Decision, Design, DoseEstimate, Fit, MtdSelection, StopReason
from cartrial.escalation.dlt import DltAssessment, SubjectDlt, assess_dlt, cohort_outcomes, subject_dlt
from cartrial.escalation.interval import Boin, I3plus3, Mtpi2, TableDesign, boin_boundaries
from cartrial.escalation.isotonic import pava
from cartrial.escalation.outcomes import Outcomes, PatientOutcome, format_outcomes, parse_outcomes
from cartrial.escalation.simulation import OperatingCharacteristics, exact_three_plus_three, simulate
from cartrial.escalation.spec import DESIGNS, build_design, design_from_spec
from cartrial.escalation.tables import DecisionTable, DosePathways, decision_table, dose_pathways
from cartrial.escalation.three_plus_three import ThreePlusThree

__all__ = [
    "DESIGNS",
    "BehavingDesign",
    "Behaviour",
    "Boin",
    "CoherentEscalation",
    "Crm",
    "Decision",
    "DecisionTable",
    "Design",
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
    "assess_dlt",
    "boin_boundaries",
    "build_design",
    "cohort_outcomes",
    "decision_table",
    "design_from_spec",
    "dose_pathways",
    "exact_three_plus_three",
    "format_outcomes",
    "getprior",
    "parse_outcomes",
    "pava",
    "simulate",
    "subject_dlt",
    "with_behaviours",
]
