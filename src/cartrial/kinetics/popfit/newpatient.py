"""MAP Bayesian estimate of a new patient from a population fit's ``estimates.json``: the one derivation
`cartrial kinetics map` and a notebook call (docs/popfit.md §5).

`map_from_fit` reads the population model out of the document (a kinetic model, or the PD model built on
the patient's own kinetic parameters), refuses samples in another unit than the population's data, converts
the sample times to the model's time unit (D-19.216), runs `map_estimate` and adds the notes every MAP
carries: samples before the infusion not used (D-19.217) and samples after the last sample time of the
population's data, where the model is extrapolated (D-19.219). Pure: the caller reads the files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from cartrial.errors import InputError, Problem
from cartrial.kinetics.popfit.data import PopulationData
from cartrial.kinetics.popfit.map import MapResult, map_estimate
from cartrial.kinetics.popfit.population import finite_json_number
from cartrial.wording import count as count_of


def pre_dose_note(count: int) -> str:
    """The note of the `count` samples a kinetic fit or MAP did not use because they precede the infusion
    (D-19.217, as the NCA, D-6.7)."""
    return (
        f"{count_of(count, 'sample')} before time 0 (pre-infusion) not used: the kinetic profile starts "
        "at the infusion (D-19.217, as the NCA, D-6.7)"
    )


def pd_map_horizon_days(observed_times: Any) -> float:
    """The horizon (days) up to which the PD model of a MAP is solved for one patient: 1.5 × the patient's
    last observed sample time (at least 1 day), plus 1 day — room for the predicted profile beyond the
    last titre."""
    observed = np.asarray(observed_times, dtype=float)
    return 1.5 * max(float(np.max(observed)) if observed.size else 1.0, 1.0) + 1.0


def map_from_fit(
    population: Mapping[str, Any],
    data: PopulationData,
    *,
    subject: int = 0,
    time_unit: str = "day",
    covariates: Mapping[str, Any] | None = None,
    kinetic_parameters: pd.DataFrame | None = None,
    source: str = "estimates.json",
    kinetic_source: str = "kinetic parameters",
) -> MapResult:
    """MAP estimate of patient number `subject` of `data` under the population model of a popfit's
    ``estimates.json`` document `population` (the parsed JSON), as `cartrial kinetics map` computes it.

    `data`: the patient's samples as `PopulationData` (`PopulationData.from_frame(..., min_subjects=1,
    allow_unquantified=True, drop_pre_dose=True)` for PK; `pd_population_data` for titres of a PD model),
    times in `time_unit` (min, h, day or week), converted here to the model's time unit (estimates.json
    ``data.time_unit``; days for PD models). Values must be in the unit of the population's data
    (``data.value_unit``), else `InputError`. `covariates`: NAME → value for a model with covariate effects.
    `kinetic_parameters` (PD population only, required there): a table with the patient's Stein 2019
    parameters (an ``ebe.csv`` row of a stein2019 popfit, or the ``map_parameters.csv`` of a kinetic MAP);
    `source` and `kinetic_source` name the two inputs in errors.

    Units: the parameters in the model's units (`MapResult.parameters` ``unit``), times in the model's time
    unit. Returns the `MapResult` with its notes (samples before the infusion, D-19.217; samples after the
    population's last sample time, D-19.219). Source: Sheiner LB, Beal SL. J Pharm Sci 1982;71:1344-1348
    (MAP Bayesian estimation); docs/popfit.md §5.

    Example (a Stein 2019 population with its published values; in practice the parsed estimates.json):

    >>> import numpy as np, pandas as pd
    >>> from cartrial.kinetics.models import (STEIN_2019_OMEGA2, STEIN_2019_RESIDUAL_SD_LOG,
    ...     STEIN_2019_TYPICAL, STEIN_PARAMETERS)
    >>> from cartrial.kinetics.popfit import PopulationModel, PopulationSpec, Theta, get_model
    >>> theta = Theta(np.log(STEIN_2019_TYPICAL.as_array()), np.zeros(0),
    ...     np.diag([STEIN_2019_OMEGA2[n] for n in STEIN_PARAMETERS]), np.array([STEIN_2019_RESIDUAL_SD_LOG]))
    >>> doc = {**PopulationModel(PopulationSpec(get_model("stein2019")), theta).to_dict(),
    ...     "data": {"last_time": 90.0}}
    >>> samples = pd.DataFrame({"subject_id": "NEW", "actual_day": [7.0, 180.0], "value": [5000.0, 300.0],
    ...     "lloq": 50.0})
    >>> result = map_from_fit(doc, PopulationData.from_frame(samples, min_subjects=1))
    >>> result.subject, list(result.parameters["parameter"])[:2]
    ('NEW', ['foldx', 'tmax_days'])
    >>> result.notes[-1]
    "1 sample after the last sample time of the population's data (estimates.json data.last_time): ..."
    """
    from cartrial.kinetics.frames import check_time_unit
    from cartrial.kinetics.popfit.pdmodel import (
        attach_kinetics,
        is_pd_model,
        kinetic_status_note,
        pd_map_population,
        read_individual_parameters,
    )
    from cartrial.kinetics.popfit.population import PopulationModel
    from cartrial.kinetics.popfit.structural import time_unit_of

    doc = dict(population) if isinstance(population, Mapping) else population
    pd_population = isinstance(doc, dict) and is_pd_model(str(doc.get("model")))
    if not pd_population:
        pop = PopulationModel.from_dict(doc, source=source)
    elif kinetic_parameters is None:
        raise InputError(
            Problem(
                "the patient's kinetic parameters are needed for a PD population model",
                file=source,
                field="kinetic_parameters",
                allowed="the patient's ebe.csv row, or the map_parameters.csv of a kinetic MAP",
            )
        )
    given = check_time_unit(time_unit, "time_unit")
    about = _data_section(doc, source)
    population_unit = str(about.get("value_unit") or "")
    from cartrial.kinetics.units import standard_conc_unit

    population_standard = standard_conc_unit(population_unit) if population_unit else None
    if population_standard is not None and population_standard.converted:
        # fitted before D-19.781 in a unit now converted: its concentration-scale parameters (cmax, an
        # additive SD) are in that unit, the patient's samples in the standard one
        raise InputError(
            Problem(
                "the population model was fitted with samples in a concentration unit that is now converted "
                "into its standard unit; re-run popfit (D-19.781)",
                file=source,
                field="data.value_unit",
                allowed=f"a population fitted in {population_standard.unit}, the standard unit of its "
                "dimension",
            )
        )
    if population_standard is not None:  # one spelling: copies/µg gDNA is copies/ug gDNA (D-19.759)
        population_unit = population_standard.unit
    if population_unit and data.value_unit and data.value_unit != population_unit:
        raise InputError(
            Problem(
                "the patient's samples are in another unit than the data of the population model",
                file=data.source,
                field="unit",
                allowed=f"samples in {population_unit} (estimates.json data.value_unit); convert them first",
            )
        )
    recorded = about.get("time_unit")
    if recorded is not None and str(recorded).strip():  # blank: the model's own unit, below
        try:  # read by the option's rule (an unknown unit was a KeyError, D-19.337)
            recorded = check_time_unit(str(recorded), "data.time_unit")
        except InputError as exc:
            raise InputError(*(replace(p, file=source) for p in exc.problems)) from None
    else:
        recorded = None
    per_day = "day" if pd_population else time_unit_of(doc.get("units") or [])
    data = data.in_time_unit(given, str(recorded or per_day) or given)
    if pd_population:
        one = data.select([subject])
        kinetic = read_individual_parameters(kinetic_parameters, one.subjects, source=kinetic_source)
        horizon = pd_map_horizon_days(one.times[one.observed])
        pop = pd_map_population(doc, kinetic, t_max_days=horizon, source=source)
        data, subject = attach_kinetics(one), 0
    grid = None
    if pd_population:  # the profile to 1.5 x the last sample, never past the PD model's end (D-19.1184)
        from cartrial.kinetics.models import MAX_DAY

        seen = data.times[subject][data.observed[subject]]
        grid = np.linspace(0.0, min(1.5 * max(float(seen.max()) if seen.size else 1.0, 1.0), MAX_DAY), 200)
    result = map_estimate(pop, data, subject=subject, covariates=covariates, grid=grid)
    extra = [pre_dose_note(data.n_pre_dose)] if data.n_pre_dose else []
    if pd_population and kinetic_parameters is not None:
        label = kinetic_status_note(kinetic_parameters, kinetic_source, "this PD MAP", data.subjects)
        extra += [label] if label else []
    last = about.get("last_time") if not pd_population else None
    patient_times = data.times[subject][data.observed[subject]]
    if isinstance(last, int | float) and patient_times.size and float(patient_times.max()) > float(last):
        later = int((patient_times > float(last)).sum())
        # the time itself is not quoted: it is a sample time of a record (D-12.2); estimates.json has it
        extra.append(
            f"{count_of(later, 'sample')} after the last sample time of the population's data "
            "(estimates.json data.last_time): the population model is extrapolated there (D-19.219)"
        )
    return replace(result, notes=(*result.notes, *extra)) if extra else result


def _data_section(doc: dict[str, Any], source: str) -> dict[str, Any]:
    """The ``data`` mapping of an estimates.json (empty when absent) with what `map_from_fit` reads of it
    and of ``units`` checked: a ``data`` that is not a mapping, ``units`` that are not a list, or a
    ``data.last_time`` that is not a number was a traceback or skipped the extrapolation note without a
    word (D-19.404); each is an `InputError` naming the file and the key."""
    about = doc.get("data")
    problems = []
    if about is not None and not isinstance(about, dict):
        problems.append(
            Problem("not a mapping", file=source, field="data", allowed="the data summary of popfit")
        )
        about = {}
    about = about or {}
    last = about.get("last_time")
    if last is not None:
        number = finite_json_number(last, source, "data.last_time", "the last sample time, a finite number")
        if isinstance(number, Problem):
            problems.append(number)
    for key in ("value_unit", "time_unit"):  # a unit is a text (``true`` was read as the unit "True")
        if about.get(key) is not None and not isinstance(about[key], str):
            problems.append(
                Problem(
                    "not a text", file=source, field=f"data.{key}", allowed="a unit (text), as popfit wrote"
                )
            )
    units = doc.get("units")
    if units is not None and not (isinstance(units, list) and all(isinstance(u, str) for u in units)):
        problems.append(
            Problem("not a list of units", file=source, field="units", allowed="one unit text per parameter")
        )
    if problems:
        raise InputError(problems)
    return about


__all__ = ["map_from_fit", "pd_map_horizon_days", "pre_dose_note"]
