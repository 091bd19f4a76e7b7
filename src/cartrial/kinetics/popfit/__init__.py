"""Population (mixed-effects) fitting of the cellular-kinetic models: SAEM with BLQ censoring (M3),
covariates, standard errors, -2LL by importance sampling, EBEs, MAP Bayesian estimation of a new patient,
diagnostics (NPDE, VPC) and figures. Pure numpy/scipy. User guide: docs/popfit.md.
"""

from cartrial.kinetics.popfit.data import PopulationData, parse_covariate_spec, read_covariates
from cartrial.kinetics.popfit.fit import SAEM_SOURCE, PopulationFit, fit_population
from cartrial.kinetics.popfit.likelihood import ErrorModel
from cartrial.kinetics.popfit.map import MapResult, map_estimate
from cartrial.kinetics.popfit.newpatient import map_from_fit
from cartrial.kinetics.popfit.pdmodel import PdFitInputs, pd_fit_inputs, pd_population_data
from cartrial.kinetics.popfit.population import PopulationModel, PopulationSpec, Theta
from cartrial.kinetics.popfit.saem import SaemSettings
from cartrial.kinetics.popfit.structural import MODELS, StructuralModel, get_model

__all__ = [
    "MODELS",
    "SAEM_SOURCE",
    "ErrorModel",
    "MapResult",
    "PdFitInputs",
    "PopulationData",
    "PopulationFit",
    "PopulationModel",
    "PopulationSpec",
    "SaemSettings",
    "StructuralModel",
    "Theta",
    "fit_population",
    "get_model",
    "map_estimate",
    "map_from_fit",
    "parse_covariate_spec",
    "pd_fit_inputs",
    "pd_population_data",
    "read_covariates",
]
