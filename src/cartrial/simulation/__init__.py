"""In-silico trials: virtual patients, kinetics, toxicity, escalation and outcomes of the protocol.

Pure (numpy/pandas in, out): it calls the engines — `cartrial.protocol.screen` for eligibility, the
escalation designs (`cartrial.escalation.design_from_spec`), the Stein 2019 and PD models of
`cartrial.kinetics`, the grading engines for CRS/ICANS/labs, the protocol's DLT rules
(`cartrial.escalation.assess_dlt`) and the neuro EDSS (`cartrial.neuro.edss_array`) — and never re-implements
a rule. Models, equations and sources: docs/simulation.md.

- `load_scenario` — the scenario YAML (validated, located errors);
- `prepare` + `simulate_trials` + `summarise` — many trials, vectorised, operating characteristics
  (`summarise_run(prepared, batch)`: as `cartrial simulate trial` reports them);
- `simulate_study` — one trial written as the import templates;
- `run_sweep` — a grid over scenario parameters (local processes or a Dask cluster).
"""

from cartrial.simulation.oc import TrialOc, html_summary, run_settings, summarise, summarise_run, trials_table
from cartrial.simulation.scenario import Scenario, load_scenario, parse_scenario
from cartrial.simulation.study import SimulatedStudy, simulate_study
from cartrial.simulation.sweep import SweepResult, load_grid, run_sweep
from cartrial.simulation.trials import Prepared, TrialBatch, prepare, simulate_trials

__all__ = [
    "Prepared",
    "Scenario",
    "SimulatedStudy",
    "SweepResult",
    "TrialBatch",
    "TrialOc",
    "html_summary",
    "load_grid",
    "load_scenario",
    "parse_scenario",
    "prepare",
    "run_settings",
    "run_sweep",
    "simulate_study",
    "simulate_trials",
    "summarise",
    "summarise_run",
    "trials_table",
]
