"""The statistical analysis plan as code (docs/science/decisions.md D-13.1): a study snapshot (template-layout
tables as of a
data cut-off, plus the protocol) in, analysis datasets and key findings out. Pure: no file or database I/O;
every rule is the engines' (grading through `cartrial.analysis.safety`, neuro, kinetics).

Public API: `analyse(snapshot) -> Analysis`; `study_populations(tables, protocol, cutoff)` (the populations
with the DLT evaluation they rest on); the result objects `Analysis`, `Dataset`, `Population`,
`Finding`; `proportion` (exact Clopper-Pearson) and `geometric_summary`. Populations, derivations and how to
add an endpoint: docs/analysis.md.
"""

from cartrial.analysis.core import StudyPopulations, analyse, study_populations
from cartrial.analysis.model import Analysis, Dataset, Finding, Population, SnapshotLike
from cartrial.analysis.output import analysis_files
from cartrial.analysis.stats import Proportion, geometric_summary, proportion

__all__ = [
    "Analysis",
    "Dataset",
    "Finding",
    "Population",
    "Proportion",
    "SnapshotLike",
    "StudyPopulations",
    "analyse",
    "analysis_files",
    "geometric_summary",
    "proportion",
    "study_populations",
]
