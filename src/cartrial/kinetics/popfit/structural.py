"""Structural models the population estimator can fit, evaluated for many subjects at once.

A `StructuralModel` maps individual parameters (natural scale, one row per subject or per MCMC draw) and
each row's own sampling times to predictions. The Stein 2019 model is the kinetics engine's closed form
(`cartrial.kinetics.models.stein2019_concentration`, called with parameter columns and a time matrix, so one
call evaluates every subject at its own times); no second implementation of it exists here.

The one-compartment model with first-order absorption (used for the Theophylline validation) is
C(t) = D·ka/(V·(ka - k))·(e^{-k t} - e^{-ka t}), k = CL/V (Gibaldi & Perrier, Pharmacokinetics 2nd ed. 1982,
ch. 1; the model of Pinheiro & Bates 2000 §6.4 and of the SAS NLMIXED Theophylline example).

The bi-exponential decline C(t) = A1·e^{-k1 t} + A2·e^{-k2 t} (used for the Indomethacin validation against
R `nlme`) is the model of Pinheiro & Bates 2000 §6.2 (R's `SSbiexp(time, A1, lrc1, A2, lrc2)`, k = exp(lrc)).

Between-subject variability: individual natural parameters are ψ = exp(φ) (log-normal, the default) or ψ = φ
(normal, for a parameter such as a bi-exponential coefficient that `nlme` gives a normal random effect);
`StructuralModel.to_natural` / `to_phi` are the one pair of maps between φ and ψ that every estimator uses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cartrial.allowed import Allowed, choice_text
from cartrial.errors import ConfigurationError, OptionError, Problem
from cartrial.kinetics.models import (
    STEIN_2019_SOURCE,
    STEIN_2019_TYPICAL,
    STEIN_PARAMETERS,
    stein2019_concentration,
)

FloatArray = npt.NDArray[np.float64]

DISTRIBUTIONS: tuple[str, ...] = ("lognormal", "normal")
"""Between-subject distributions of a structural parameter: ψ = exp(φ) or ψ = φ."""

INITIAL_FACTOR = 1e6
"""An initial typical value lies within this factor of the model's default (a log-normal parameter: default /
1e6 to default × 1e6; a normal one: ± 1e6 × max(|default|, 1)). `kinetics popfit --initial cmax=1e-320` was
accepted and SAEM's predictions overflowed (numpy warnings, exit 0; decisions D-19.37)."""


@dataclass(frozen=True)
class StructuralModel:
    """A model f(params, times, dose) → prediction, vectorised over rows.

    `predict(params, times, dose)`: params (n, p) natural scale, times (n, m), dose (n,) → (n, m).
    `default_typical`: starting typical values (natural scale); `units`: unit of each parameter.
    `distributions`: per parameter ``lognormal`` (ψ = exp(φ), the default when empty) or ``normal`` (ψ = φ).
    `bounds`: per parameter the (low, high) limits of the value the model uses (`domain`; empty: (0, ∞) for a
    log-normal parameter, (-∞, ∞) for a normal one). The Stein model caps F_B at 1 and keeps FOLDX ≥ 1
    (`predict_stein2019`), so its F_B lies in (0, 1] and its FOLDX in [1, ∞) (D-19.240).
    """

    name: str
    parameters: tuple[str, ...]
    units: tuple[str, ...]
    default_typical: tuple[float, ...]
    predict: Callable[[FloatArray, FloatArray, FloatArray], FloatArray]
    source: str
    uses_dose: bool = False
    distributions: tuple[str, ...] = ()
    bounds: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        if self.bounds and len(self.bounds) != len(self.parameters):
            raise ConfigurationError(
                f"{self.name}: {len(self.bounds)} bounds for {len(self.parameters)} parameters"
            )
        if self.distributions and len(self.distributions) != len(self.parameters):
            raise ConfigurationError(
                f"{self.name}: {len(self.distributions)} distributions for {len(self.parameters)} parameters"
            )
        for d in self.distributions:
            if d not in DISTRIBUTIONS:
                allowed = choice_text(DISTRIBUTIONS)
                raise ConfigurationError(
                    f"{self.name}: unknown random-effect distribution {d!r}; allowed: {allowed}"
                )

    def initial_rule(self, j: int, unit: str | None = None) -> Allowed:
        """What an initial typical value of parameter j allows (`INITIAL_FACTOR` around its default), its
        text in `unit` when given (the data's, `parameter_units`), else in the model's unit.

        >>> STEIN2019.initial_rule(STEIN2019.index("cmax")).text()
        '0.024 to 2.4e+10 copies/ug'
        >>> STEIN2019.initial_rule(STEIN2019.index("fb")).text()
        '7.9e-09 to 1'
        """
        default = abs(float(self.default_typical[j]))
        if self.distribution(j) == "lognormal":
            low, high = default / INITIAL_FACTOR, default * INITIAL_FACTOR
        else:
            high = INITIAL_FACTOR * max(default, 1.0)
            low = -high
        if self.bounds:  # within the parameter's domain too: F_B ≤ 1, FOLDX ≥ 1 (D-19.240)
            d_low, d_high = self.domain(j)
            low, high = max(low, d_low), min(high, d_high)
        given = unit if unit is not None else self.units[j] if j < len(self.units) else ""
        shown = "" if given in ("", "-") else f" {given}"
        return Allowed(low=low, high=high, label=f"{low:.3g} to {high:.3g}{shown}")

    def distribution(self, j: int) -> str:
        """``lognormal`` or ``normal``: the distribution of parameter j across subjects."""
        return self.distributions[j] if self.distributions else "lognormal"

    def domain(self, j: int) -> tuple[float, float]:
        """The (low, high) limits of parameter j as the model uses it (`bounds`, else (0, ∞) for a
        log-normal parameter and (-∞, ∞) for a normal one).

        >>> STEIN2019.domain(STEIN2019.index("fb"))
        (0.0, 1.0)
        """
        if self.bounds:
            low, high = self.bounds[j]
            return float(low), float(high)
        return (-math.inf, math.inf) if self.distribution(j) == "normal" else (0.0, math.inf)

    def in_domain(self, natural: npt.ArrayLike) -> FloatArray:
        """Natural parameters (last axis: the parameters) as the model uses them: each clipped to its
        `domain` — what `predict` does with F_B above 1 or FOLDX below 1 — so a value, an interval end or a
        percentile reported from the estimation scale (exp(φ)) never leaves the parameter's domain
        (D-19.240). Monotone, so the clipped percentiles are the percentiles of the clipped values.

        >>> STEIN2019.in_domain([0.5, 9.0, 2e4, 0.2, 1.7, 0.01]).tolist()[::4]
        [1.0, 1.0]
        """
        arr = np.array(natural, dtype=float)
        if not self.bounds:
            return arr
        low = np.array([b[0] for b in self.bounds], dtype=float)
        high = np.array([b[1] for b in self.bounds], dtype=float)
        return np.asarray(np.clip(arr, low, high), dtype=float)

    def natural_in_domain(self, j: int, value: float) -> float:
        """One natural value of parameter j clipped to its `domain` (scalar form of `in_domain`)."""
        low, high = self.domain(j)
        return float(min(max(float(value), low), high))

    @property
    def normal_mask(self) -> npt.NDArray[np.bool_]:
        """(p,) True where the parameter is normal (ψ = φ)."""
        return np.array([self.distribution(j) == "normal" for j in range(len(self.parameters))], dtype=bool)

    def to_natural(self, phi: npt.ArrayLike) -> FloatArray:
        """Natural parameters ψ from φ (last axis: the parameters): exp(φ), or φ for normal parameters."""
        arr = np.asarray(phi, dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            if "normal" not in self.distributions:
                return np.asarray(np.exp(arr), dtype=float)
            return np.asarray(np.where(self.normal_mask, arr, np.exp(arr)), dtype=float)

    def to_phi(self, natural: npt.ArrayLike) -> FloatArray:
        """φ from natural parameters ψ (inverse of `to_natural`): log(ψ), or ψ for normal parameters."""
        arr = np.asarray(natural, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            if "normal" not in self.distributions:
                return np.asarray(np.log(arr), dtype=float)
            return np.asarray(np.where(self.normal_mask, arr, np.log(arr)), dtype=float)

    def natural_value(self, j: int, phi_j: float) -> float:
        """ψ_j of one value φ_j (scalar form of `to_natural`)."""
        return float(phi_j) if self.distribution(j) == "normal" else math.exp(phi_j)

    def index(self, name: str) -> int:
        try:
            return self.parameters.index(name)
        except ValueError:
            raise ConfigurationError(
                f"{name!r} is not a parameter of the {self.name} model; "
                f"allowed: {choice_text(self.parameters)}"
            ) from None


def predict_stein2019(params: FloatArray, times: FloatArray, dose: FloatArray) -> FloatArray:
    """Stein 2019 transgene level (copies/µg) for rows of parameters at their own times (days).

    F_B is capped at 1 and FOLDX kept ≥ 1 (as `simulate_stein2019` does), so an extreme MCMC proposal
    gives a finite, non-negative level instead of NaN.
    """
    p = np.asarray(params, dtype=float)
    t = np.asarray(times, dtype=float)
    cols = [p[:, j : j + 1] for j in range(6)]
    cols[0] = np.maximum(cols[0], 1.0 + 1e-9)
    cols[4] = np.minimum(cols[4], 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        out = stein2019_concentration(t, *cols)
    return np.array(np.broadcast_to(out, t.shape), dtype=float)


def predict_one_compartment_oral(params: FloatArray, times: FloatArray, dose: FloatArray) -> FloatArray:
    """Concentration of a one-compartment model with first-order absorption after one oral dose.

    params columns: ka (1/h), v (volume, in dose-unit/concentration-unit), cl (volume/h). When ka ≈ k the
    limit D·k·t·e^{-k t}/V is used. Source: Gibaldi & Perrier 1982 (Bateman function).
    """
    p = np.asarray(params, dtype=float)
    t = np.maximum(np.asarray(times, dtype=float), 0.0)
    ka, v, cl = p[:, [0]], p[:, [1]], p[:, [2]]
    d = np.asarray(dose, dtype=float).reshape(-1, 1)
    # an extreme MCMC proposal (v → 0 or ∞) gives NaN, which the likelihood rejects, not a warning on the
    # user's terminal (D-19.403)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        k = cl / v
        diff = ka - k
        safe = np.abs(diff) > 1e-8 * ka
        general = d * ka / (v * np.where(safe, diff, 1.0)) * (np.exp(-k * t) - np.exp(-ka * t))
        limit = d * k * t * np.exp(-k * t) / v
    return np.asarray(np.where(safe, general, limit), dtype=float)


def predict_one_compartment_oral_ke(params: FloatArray, times: FloatArray, dose: FloatArray) -> FloatArray:
    """The same model parametrised by cl, ka, ke (columns in that order): C = D·ke·ka/(cl·(ka - ke))·
    (e^{-ke t} - e^{-ka t}) — the parametrisation of Pinheiro & Bates (SSfol) and the SAS NLMIXED example."""
    p = np.asarray(params, dtype=float)
    cl, ka, ke = p[:, [0]], p[:, [1]], p[:, [2]]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        v = cl / ke
    return predict_one_compartment_oral(np.column_stack([ka[:, 0], v[:, 0], cl[:, 0]]), times, dose)


def predict_biexponential(params: FloatArray, times: FloatArray, dose: FloatArray) -> FloatArray:
    """Bi-exponential decline A1·e^{-k1 t} + A2·e^{-k2 t}; params columns a1, k1, a2, k2 (k = exp(lrc) of
    SSbiexp). Source: Pinheiro & Bates 2000 §6.2 (Indomethacin kinetics)."""
    p = np.asarray(params, dtype=float)
    t = np.asarray(times, dtype=float)
    a1, k1, a2, k2 = p[:, [0]], p[:, [1]], p[:, [2]], p[:, [3]]
    with np.errstate(over="ignore", invalid="ignore"):
        out = a1 * np.exp(-k1 * t) + a2 * np.exp(-k2 * t)
    return np.asarray(out, dtype=float)


STEIN2019 = StructuralModel(
    name="stein2019",
    parameters=STEIN_PARAMETERS,
    units=("-", "day", "copies/ug", "1/day", "-", "1/day"),
    default_typical=tuple(float(v) for v in STEIN_2019_TYPICAL.as_array()),
    predict=predict_stein2019,
    source=STEIN_2019_SOURCE,
    # FOLDX is a fold expansion (≥ 1), F_B a fraction (≤ 1): `predict_stein2019` caps both (D-19.240)
    bounds=((1.0, math.inf), (0.0, math.inf), (0.0, math.inf), (0.0, math.inf), (0.0, 1.0), (0.0, math.inf)),
)

ONE_COMPARTMENT_ORAL = StructuralModel(
    name="one_compartment_oral",
    parameters=("ka", "v", "cl"),
    units=("1/time", "dose/conc", "dose/conc/time"),
    default_typical=(1.0, 0.5, 0.05),
    predict=predict_one_compartment_oral,
    source=(
        "one-compartment model, first-order absorption (Gibaldi & Perrier 1982; Pinheiro & Bates 2000 §6.4)"
    ),
    uses_dose=True,
)

ONE_COMPARTMENT_ORAL_KE = StructuralModel(
    name="one_compartment_oral_ke",
    parameters=("cl", "ka", "ke"),
    units=("dose/conc/time", "1/time", "1/time"),
    default_typical=(0.05, 1.0, 0.1),
    predict=predict_one_compartment_oral_ke,
    source=(
        "one-compartment model, first-order absorption, (cl, ka, ke) parametrisation (Pinheiro & Bates 2000 "
        "SSfol; SAS/STAT NLMIXED Example 'One-Compartment Model with Pharmacokinetic Data')"
    ),
    uses_dose=True,
)

BIEXPONENTIAL = StructuralModel(
    name="biexponential",
    parameters=("a1", "k1", "a2", "k2"),
    units=("conc", "1/time", "conc", "1/time"),
    default_typical=(2.0, 2.0, 0.5, 0.3),
    predict=predict_biexponential,
    source=(
        "bi-exponential decline A1·exp(-k1·t) + A2·exp(-k2·t) (Pinheiro & Bates 2000 §6.2, R SSbiexp with "
        "k = exp(lrc)); normal between-subject variability on A1 and A2, log-normal on k1 and k2 (nlme's "
        "random effects on A1, lrc1, A2, lrc2)"
    ),
    distributions=("normal", "lognormal", "normal", "lognormal"),
)

MODELS: dict[str, StructuralModel] = {
    m.name: m for m in (STEIN2019, ONE_COMPARTMENT_ORAL, ONE_COMPARTMENT_ORAL_KE, BIEXPONENTIAL)
}


def time_unit_of(units: Sequence[str]) -> str:
    """The time unit a model's parameters are expressed in: ``day`` when a parameter is in days or per day
    (the Stein and PD models), "" when the model takes the data's own time unit (``1/time``).

    >>> time_unit_of(("-", "day", "copies/ug", "1/day"))
    'day'
    >>> time_unit_of(("1/time", "dose/conc"))
    ''
    """
    return "day" if any(str(u) == "day" or str(u).endswith("/day") for u in units) else ""


DATA_UNIT_PLACEHOLDERS: tuple[str, ...] = ("copies/ug", "conc", "data unit")
"""Units of the parameters on the scale of the observations (Stein's cmax, the bi-exponential A1/A2, the PD
baseline): they are in whatever unit the fitted values are in (`parameter_units`)."""


def parameter_units(model: StructuralModel, value_unit: str, time_unit: str = "") -> tuple[str, ...]:
    """The unit of each parameter of `model` for data in `value_unit` with times in `time_unit`: a parameter
    on the observations' scale takes the data's unit (the Stein cmax of a fit of CAR-T cells per µL is in
    cells/uL, not copies/ug), and in a compound unit the model's ``conc`` is the data's concentration unit
    and ``time`` the data's time unit (the bi-exponential k1 of hours is in 1/h, not 1/time; D-19.463).
    "dose" stays: a dose column carries no unit. Without a unit (""), the model's word is kept.

    >>> parameter_units(STEIN2019, "cells/uL")[2]
    'cells/uL'
    >>> parameter_units(STEIN2019, "")[2]
    'copies/ug'
    >>> parameter_units(ONE_COMPARTMENT_ORAL, "mg/L", "h")
    ('1/h', 'dose/(mg/L)', 'dose/(mg/L)/h')
    """
    value = f"({value_unit})" if "/" in value_unit or " " in value_unit else value_unit
    words = {"conc": value, "time": time_unit}

    def unit(u: str) -> str:
        if u in DATA_UNIT_PLACEHOLDERS:
            return value_unit or u
        return "/".join(words.get(part) or part for part in u.split("/"))

    return tuple(unit(u) for u in model.units)


def data_unit_parameters(model: StructuralModel) -> tuple[str, ...]:
    """The parameters of `model` whose unit is, or contains, the data's concentration unit
    (`parameter_units`): their range can be stated only once the data are read.

    >>> data_unit_parameters(STEIN2019), data_unit_parameters(ONE_COMPARTMENT_ORAL)
    (('cmax',), ('v', 'cl'))
    """
    return tuple(
        name
        for name, u in zip(model.parameters, model.units, strict=True)
        if u in DATA_UNIT_PLACEHOLDERS or "conc" in u.split("/")
    )


def get_model(name: str) -> StructuralModel:
    """The structural model called `name` (one of `MODELS`)."""
    try:
        return MODELS[name]
    except KeyError:
        # named as the engine's field (the command line renames it --model), like every option
        raise OptionError(
            Problem(
                "unknown population model", field="model", value=name, allowed=choice_text(sorted(MODELS))
            )
        ) from None
