"""The population model (structure, error model, IIV and covariate design) and its parameter vector θ.

Individual parameters on the φ scale: φ_i = μ + X_i·B + η_i, η_i ~ N(0, Ω) on the parameters with IIV; the
natural individual parameters are θ_i = exp(φ_i) (log-normal, the default) or θ_i = φ_i for a parameter the
structural model declares normal (`StructuralModel.to_natural`); parameters without IIV have η = 0. X_i
holds the covariate columns of `cartrial.kinetics.popfit.data.covariate_design` (power model centred on the
median, or indicators).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from cartrial.allowed import OMEGA_LOG_VARIANCE, allowed, check_fields, choice_text
from cartrial.errors import CartrialError, InputError, Problem
from cartrial.kinetics.popfit.likelihood import ErrorModel
from cartrial.kinetics.popfit.structural import StructuralModel, get_model, parameter_units
from cartrial.wording import noun, verb

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Theta:
    """Population parameters: mu (p,) typical values on the φ scale (log for log-normal parameters); beta
    (k,) covariate effects; omega (q, q) IIV covariance of η (φ scale); sigma residual error parameters (a
    and/or b)."""

    mu: FloatArray
    beta: FloatArray
    omega: FloatArray
    sigma: FloatArray


@dataclass(frozen=True)
class PopulationSpec:
    """What is estimated: structural model, residual error, which parameters have IIV, Ω structure
    (``diagonal`` or ``full``), BLQ method (``m3`` or ``m1``) and covariate effects
    [(parameter index, label, kind)] with their description (centres, reference levels)."""

    model: StructuralModel
    error: ErrorModel = field(default_factory=ErrorModel)
    iiv: tuple[str, ...] = ()
    omega_structure: str = field(default="diagonal", metadata=allowed(values=("diagonal", "full")))
    blq: str = field(default="m3", metadata=allowed(values=("m3", "m1")))
    covariate_effects: tuple[tuple[int, str, str], ...] = ()
    covariate_info: dict[str, Any] = field(default_factory=dict)
    fixed: tuple[str, ...] = ()
    """Parameters whose typical value μ is fixed (not estimated; NONMEM's FIX, D-19.273)."""

    def __post_init__(self) -> None:
        check_fields(self)  # omega_structure, blq
        for name in (*self.iiv, *self.fixed):
            self.model.index(name)

    @property
    def fixed_index(self) -> npt.NDArray[np.int64]:
        """Indices of the parameters whose typical value is fixed (`fixed`)."""
        return np.array([self.model.index(n) for n in self.fixed], dtype=np.int64)

    @property
    def estimated_without_iiv_index(self) -> npt.NDArray[np.int64]:
        """Parameters without IIV whose typical value is estimated (SAEM's residual step maximises them)."""
        fixed = set(self.fixed_index.tolist())
        return np.array([j for j in self.fixed_only_index if j not in fixed], dtype=np.int64)

    @property
    def p(self) -> int:
        return len(self.model.parameters)

    @property
    def iiv_index(self) -> npt.NDArray[np.int64]:
        names = self.iiv or self.model.parameters
        return np.array([self.model.index(n) for n in names], dtype=np.int64)

    @property
    def iiv_names(self) -> tuple[str, ...]:
        return tuple(self.model.parameters[j] for j in self.iiv_index)

    @property
    def fixed_only_index(self) -> npt.NDArray[np.int64]:
        with_iiv = set(self.iiv_index.tolist())
        return np.array([j for j in range(self.p) if j not in with_iiv], dtype=np.int64)

    @property
    def q(self) -> int:
        return int(self.iiv_index.size)

    def beta_matrix(self, beta: FloatArray) -> FloatArray:
        """(k, p) matrix placing each covariate coefficient in its parameter's column."""
        out = np.zeros((len(self.covariate_effects), self.p))
        for k, (j, _, _) in enumerate(self.covariate_effects):
            out[k, j] = beta[k]
        return out

    def typical_phi(self, theta: Theta, x: FloatArray) -> FloatArray:
        """μ + X·B for each subject (n, p) (φ scale)."""
        base = np.broadcast_to(theta.mu, (x.shape[0], self.p)).copy()
        if len(self.covariate_effects):
            base += x @ self.beta_matrix(theta.beta)
        return base

    def phi(self, theta: Theta, x: FloatArray, eta: FloatArray) -> FloatArray:
        out = self.typical_phi(theta, x)
        out[:, self.iiv_index] += eta
        return out


POPFIT_FORMAT = "cartrial.popfit/1"
"""The `format` of an estimates.json this release writes and reads."""


def variances_out_of_range(
    model: StructuralModel, iiv: tuple[str, ...], omega: npt.NDArray[np.float64]
) -> list[tuple[str, float]]:
    """(parameter, variance) of each parameter with IIV whose variance, a diagonal term of `omega`, is
    outside `cartrial.allowed.OMEGA_LOG_VARIANCE` — for a log-normal parameter only: a normal parameter's
    variance is in its own unit squared (D-19.400). The one rule both `fit_population` (a convergence
    problem) and `PopulationModel.from_dict` (a refused file) apply, so that `kinetics map` reads every
    estimate `kinetics popfit` does not label (D-19.374).

    >>> from cartrial.kinetics.popfit.structural import get_model
    >>> variances_out_of_range(get_model("biexponential"), ("a1", "k1"), np.diag([3e5, 150.0]))
    [('k1', 150.0)]
    """
    diagonal = np.diag(np.asarray(omega, dtype=float))
    return [
        (name, float(value))
        for name, value in zip(iiv, diagonal, strict=True)
        if model.distribution(model.index(name)) == "lognormal"
        and OMEGA_LOG_VARIANCE.problem(name, float(value)) is not None
    ]


def residuals_out_of_range(
    error: ErrorModel, sigma: npt.NDArray[np.float64], value_unit: str = ""
) -> list[tuple[str, float]]:
    """(name, value) of each residual error parameter outside its range (`ErrorModel.rule`: a log-scale SD
    or a fraction above 0 and at most 10, a linear additive SD above 0 and at most 1e15 in the data's unit).
    `fit_population`'s convergence problem; `PopulationModel.from_dict` refuses a file by the same
    `ErrorModel.rule`, applied at each ``sigma`` key (D-19.464).

    >>> residuals_out_of_range(ErrorModel(), np.array([1e300]))
    [('a', 1e+300)]
    """
    return [
        (name, float(value))
        for name, value in zip(error.names, np.asarray(sigma, dtype=float), strict=True)
        if error.rule(name, value_unit).problem(name, float(value)) is not None
    ]


def json_number(value: Any) -> float | None:
    """The float of a JSON number — an int or a float, not a bool (``true`` is not 1.0) nor a text (``"2e4"``
    is not 20000) — or None; an integer beyond a float is infinite (D-19.464).

    >>> json_number(True), json_number("2e4"), json_number(3)
    (None, None, 3.0)
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf


def finite_json_number(value: Any, source: str, field: str, allowed: str) -> float | Problem:
    """The float of `value` when it is a finite JSON number (`json_number`), else the `Problem` at `field` of
    file `source` — "not a number" or "not a finite number", never the value. The one rule of every number
    an estimates.json holds (`from_dict`, `map_from_fit`'s ``data.last_time``; D-19.464).

    >>> finite_json_number(2, "f.json", "x", "a number")
    2.0
    >>> finite_json_number(float("inf"), "f.json", "x", "a finite number").message
    'not a finite number'
    """
    number = json_number(value)
    if number is None or not math.isfinite(number):
        message = "not a number" if number is None else "not a finite number"
        return Problem(message, file=source, field=field, allowed=allowed)
    return number


COLLAPSED_OMEGA2 = 1e-4
"""A log-normal parameter's IIV variance below this (an SD of 0.01 on the log scale, a CV of about 1 %) has
collapsed; a normal parameter's when its variance is below this times its typical value squared (an SD below
1 % of it), so that the verdict does not depend on the data's unit (D-19.408)."""


def collapsed_variances(
    model: StructuralModel, iiv: tuple[str, ...], mu: npt.NDArray[np.float64], omega: npt.NDArray[np.float64]
) -> list[tuple[str, float]]:
    """(parameter, variance) of each IIV term whose variance (a diagonal term of `omega`) collapsed: below
    `COLLAPSED_OMEGA2` for a log-normal parameter, below `COLLAPSED_OMEGA2` × μ² for a normal one (μ its
    typical value, in its own unit: the variance's unit is that unit squared; D-19.408). The one rule of
    `fit_population` (a convergence problem) and of the profile likelihood (which drops those terms).

    >>> from cartrial.kinetics.popfit.structural import get_model
    >>> mu = np.array([0.00283, np.log(2.6), 0.00061, np.log(0.26)])  # Indometh's A1, A2 in g/L
    >>> collapsed_variances(get_model("biexponential"), ("a1", "k1", "a2"), mu, np.diag([3e-7, 5e-5, 1.7e-8]))
    [('k1', 5e-05)]
    """
    diagonal = np.diag(np.asarray(omega, dtype=float))
    out = []
    for name, value in zip(iiv, diagonal, strict=True):
        j = model.index(name)
        floor = COLLAPSED_OMEGA2 * (float(mu[j]) ** 2 if model.distribution(j) == "normal" else 1.0)
        if value < floor or value <= 0:
            out.append((name, float(value)))
    return out


class _Mismatch(ValueError):
    """A population document of another structural model than the one asked for (its words are said)."""


def _in_words(exc: Exception) -> str:
    """Why a population document could not be read, in words: never a Python class or repr (D-19.373)."""
    if isinstance(exc, _Mismatch):
        return str(exc)
    if isinstance(exc, KeyError):
        return f"the key {exc.args[0]} is missing" if exc.args else "a key is missing"
    return "a value is not of the kind or shape popfit writes (a number, a list or a mapping)"


def _is_covariance(omega: npt.NDArray[np.float64]) -> bool:
    """A symmetric positive semi-definite matrix (the variances ≥ 0), within rounding."""
    if omega.size == 0:
        return True
    scale = max(1.0, float(np.max(np.abs(omega))))
    if not np.allclose(omega, omega.T, rtol=0, atol=1e-9 * scale):
        return False
    return bool(np.min(np.linalg.eigvalsh((omega + omega.T) / 2)) >= -1e-9 * scale)


def typicals_out_of_range(
    model: StructuralModel, mu: npt.NDArray[np.float64], skip: tuple[str, ...] = ()
) -> list[tuple[str, float]]:
    """(parameter, natural value) of each typical value (μ on the φ scale) outside the model's range,
    `StructuralModel.initial_rule` — within `INITIAL_FACTOR` (10⁶) of the model's default and in the
    parameter's domain — or not finite (a log-normal one must be > 0); parameters in `skip` (fixed ones) are
    not checked. The one rule by which `fit_population` labels a typical value that ran off (D-19.243) and
    `PopulationModel.from_dict` refuses it for a named model (D-19.407).

    >>> from cartrial.kinetics.popfit.structural import STEIN2019
    >>> mu = np.log(np.array(STEIN2019.default_typical))
    >>> mu[STEIN2019.index("cmax")] += np.log(1e7)
    >>> [name for name, _ in typicals_out_of_range(STEIN2019, mu)]
    ['cmax']
    """
    out = []
    for j, name in enumerate(model.parameters):
        if name in skip:
            continue
        rule = model.initial_rule(j)
        value = model.natural_value(j, float(mu[j])) if math.isfinite(mu[j]) else math.nan
        low, high = float(rule.low or 0.0), float(rule.high or math.inf)
        if math.isfinite(value) and low <= value <= high and (model.distribution(j) == "normal" or value > 0):
            continue
        out.append((name, value))
    return out


COVARIATE_KINDS: tuple[str, ...] = ("power", "linear", "categorical")
"""The kinds of covariate effect an ``estimates.json`` holds (`covariate_design`)."""


def _check_document(data: Any, source: str, model: StructuralModel | None) -> None:
    """Refuse what `from_dict` would otherwise read wrongly or fail on with a traceback (D-19.404): a
    parameter name of `iiv`, `fixed` or a covariate effect that is not the model's, a covariate effect of
    another kind than `COVARIATE_KINDS` (one was computed as linear) or without its centre (power, linear) or
    levels (categorical), a `converged` that is not true or false (``"no"`` was read as converged) and
    `convergence_problems` that are not a list of texts. Each `Problem` names the file and the key."""
    if not isinstance(data, dict):
        return  # the shape errors of `from_dict` say it
    if model is None:
        try:
            model = get_model(str(data.get("model")))
        except InputError:
            return  # `from_dict` refuses the model with its choices
    problems: list[Problem] = []
    names = choice_text(model.parameters) + f" (the {model.name} model)"

    def bad(message: str, field: str, allowed: str) -> None:
        problems.append(Problem(message, file=source, field=field, allowed=allowed))

    for key in ("iiv", "fixed"):
        listed = data.get(key, [])
        if not isinstance(listed, list):  # a text was read letter by letter (D-19.531)
            bad("not a list", key, f"a list of parameter names, each one of {names}")
            continue
        for k, name in enumerate(listed):
            if name not in model.parameters:
                bad("not a parameter of the model", f"{key}[{k}]", names)
    covariates = data.get("covariates", [])
    for k, effect in enumerate(covariates if isinstance(covariates, list) else []):
        if not isinstance(effect, dict):
            continue
        where = f"covariates[{k}]"
        if "parameter" in effect and effect["parameter"] not in model.parameters:
            bad("not a parameter of the model", f"{where}.parameter", names)
        kind = effect.get("kind")
        if kind not in COVARIATE_KINDS:
            bad("not a kind of covariate effect", f"{where}.kind", choice_text(COVARIATE_KINDS))
        elif kind == "categorical":
            for key in ("level", "reference"):
                if not isinstance(effect.get(key), str | int | float) or isinstance(effect.get(key), bool):
                    bad(
                        "a categorical effect needs its level and reference level",
                        f"{where}.{key}",
                        "a level",
                    )
        else:
            value = json_number(effect.get("centre"))
            if value is None or not math.isfinite(value) or (kind == "power" and value <= 0):
                positive = " > 0" if kind == "power" else ""
                bad(f"a {kind} effect needs its centre", f"{where}.centre", f"a finite number{positive}")
    problems += _number_problems(data, source, model)
    if "converged" in data and not isinstance(data["converged"], bool):
        bad("not true or false", "converged", "true | false")
    listed = data.get("convergence_problems", [])
    if not (isinstance(listed, list) and all(isinstance(p, str) for p in listed)):
        bad(
            "not a list of texts",
            "convergence_problems",
            "a list of texts (the reasons a fit did not converge)",
        )
    if problems:
        raise InputError(problems)


def _number_problems(data: dict[str, Any], source: str, model: StructuralModel) -> list[Problem]:
    """Each number `from_dict` reads that is not a finite JSON number (`json_number`: not a bool, not a text,
    not NaN or ±inf, not an integer beyond a float) or not in its range, at its key (D-19.464):
    ``typical.NAME``, ``omega[i][j]`` and ``covariates[k].estimate`` must be finite numbers (their ranges are
    the model's, the covariance's and the variances' rules, checked next), ``sigma.NAME`` a finite number
    within `ErrorModel.rule` in the data's unit. ``omega`` is len(iiv) rows of len(iiv) numbers, as popfit
    writes it (a flat list was reshaped past these checks). Keys that are missing or of another shape are
    left to `from_dict`, which names them."""
    problems: list[Problem] = []

    def bad(message: str, field: str, allowed: str) -> None:
        problems.append(Problem(message, file=source, field=field, allowed=allowed))

    def finite(value: Any, field: str, allowed: str) -> float | None:
        """The float of `value`, else None with its problem at `field` (`finite_json_number`)."""
        number = finite_json_number(value, source, field, allowed)
        if isinstance(number, Problem):
            problems.append(number)
            return None
        return number

    typical = data.get("typical")
    typical = typical if isinstance(typical, dict) else {}
    for j, name in enumerate(model.parameters):
        if name in typical:
            value = finite(
                typical[name], f"typical.{name}", "a finite number (the typical value on its natural scale)"
            )
            if value is not None and value <= 0 and model.distribution(j) != "normal":
                bad(  # its log is the model's scale (D-19.531)
                    "not greater than 0",
                    f"typical.{name}",
                    "a number > 0 (a log-normal parameter's typical value)",
                )
    iiv, omega = data.get("iiv"), data.get("omega")
    if isinstance(iiv, list) and "omega" in data:
        n = len(iiv)
        shape = f"{n} rows of {n} numbers, one row and column per parameter of iiv in its order"
        if not isinstance(omega, list) or len(omega) != n:
            bad("not a matrix of the parameters of iiv", "omega", shape)
        else:
            for i, row in enumerate(omega):
                if not isinstance(row, list) or len(row) != n:
                    bad(f"not a row of {n} numbers", f"omega[{i}]", shape)
                    continue
                for j, value in enumerate(row):
                    finite(value, f"omega[{i}][{j}]", "a finite number (a variance or covariance of eta)")
    covariates = data.get("covariates")
    if covariates is not None and not isinstance(covariates, list):
        bad("not a list", "covariates", "a list of covariate effects, as popfit writes")
    for k, effect in enumerate(covariates if isinstance(covariates, list) else []):
        if isinstance(effect, dict) and "estimate" in effect:
            finite(effect["estimate"], f"covariates[{k}].estimate", "a finite number (the coefficient)")
    sigma, error = data.get("sigma"), data.get("error")
    if isinstance(sigma, dict) and isinstance(error, dict):
        try:
            model_error = ErrorModel(str(error.get("kind")), str(error.get("scale")))
        except CartrialError:
            return problems  # `from_dict` names error.kind / error.scale
        about = data.get("data")
        unit = about.get("value_unit") if isinstance(about, dict) else None
        for name in model_error.names:
            if name not in sigma:
                continue
            rule = model_error.rule(name, unit if isinstance(unit, str) else "")
            where = f"{rule.text()}; the {model_error.kind} error on the {model_error.scale} scale"
            number = finite(sigma[name], f"sigma.{name}", where)
            problem = None if number is None else rule.problem(name, number)
            if problem is not None:
                bad(problem.message, f"sigma.{name}", where)
    return problems


@dataclass(frozen=True)
class PopulationModel:
    """A fitted (or given) population model: what `map` and the simulations need."""

    spec: PopulationSpec
    theta: Theta
    converged: bool = True
    convergence_problems: tuple[str, ...] = ()
    fixed_values: dict[str, float] = field(default_factory=dict)
    """The fixed typical values (`PopulationSpec.fixed`) as given (natural scale): `typical` reports them
    as they are, not as exp(log v) of μ, which carries a floating tail (0.0032000000000000015; D-19.321)."""

    def typical(self) -> dict[str, float]:
        """The typical value of each parameter on its natural scale: exp(μ) (the model's `to_natural`), a
        fixed one as given."""
        s = self.spec
        natural = s.model.to_natural(self.theta.mu)
        return {
            n: float(self.fixed_values.get(n, v)) for n, v in zip(s.model.parameters, natural, strict=True)
        }

    def to_dict(self) -> dict[str, Any]:
        s, t = self.spec, self.theta
        return {
            "format": POPFIT_FORMAT,
            "model": s.model.name,
            "parameters": list(s.model.parameters),
            "units": list(s.model.units),
            "typical": self.typical(),
            "iiv": list(s.iiv_names),
            "fixed": list(s.fixed),
            "omega_structure": s.omega_structure,
            "omega": t.omega.tolist(),
            "error": {"kind": s.error.kind, "scale": s.error.scale, "names": list(s.error.names)},
            "sigma": {n: float(v) for n, v in zip(s.error.names, t.sigma, strict=True)},
            "blq": s.blq,
            "covariates": [
                {
                    "parameter": s.model.parameters[j],
                    "label": label,
                    "kind": kind,
                    "estimate": float(t.beta[k]),
                    **s.covariate_info.get(label, {}),
                }
                for k, (j, label, kind) in enumerate(s.covariate_effects)
            ],
            "converged": self.converged,
            "convergence_problems": list(self.convergence_problems),
            "source": s.model.source,
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], source: str = "population", model: StructuralModel | None = None
    ) -> PopulationModel:
        """The model of an ``estimates.json``; `model` supplies the structural model when it is not a named
        one (the PD model, built on a subject's kinetic parameters) and must have the document's name."""
        if isinstance(data, dict) and data.get("format", POPFIT_FORMAT) != POPFIT_FORMAT:
            raise InputError(
                Problem(
                    "not a format this release reads",
                    file=source,
                    field="format",
                    allowed=POPFIT_FORMAT,
                )
            )
        _check_document(data, source, model)
        named = model is None  # a named model's range; the PD model is built per patient (its a0 default)
        try:
            if model is not None and model.name != str(data["model"]):
                raise _Mismatch(f"the structural model is {model.name}, the document's {data['model']}")
            model = model or get_model(str(data["model"]))
            error = ErrorModel(str(data["error"]["kind"]), str(data["error"]["scale"]))
            mu = model.to_phi([float(data["typical"][n]) for n in model.parameters])
            iiv = tuple(str(n) for n in data["iiv"])
            omega = np.asarray(data["omega"], dtype=float).reshape(len(iiv), len(iiv))
            sigma = np.array([float(data["sigma"][n]) for n in error.names])
            covs = data.get("covariates", [])
            effects = tuple((model.index(c["parameter"]), str(c["label"]), str(c["kind"])) for c in covs)
            info = {str(c["label"]): {k: v for k, v in c.items() if k not in ("estimate",)} for c in covs}
            beta = np.array([float(c["estimate"]) for c in covs])
            spec = PopulationSpec(
                model,
                error,
                iiv,
                str(data.get("omega_structure", "diagonal")),
                str(data.get("blq", "m3")),
                effects,
                info,
                tuple(str(n) for n in data.get("fixed", [])),
            )
        except InputError as exc:  # an option of the document (model, error.kind, blq, …) named with the
            # file and its allowed values; its text is not quoted, as no other key of the file (D-19.465,
            # D-19.531)
            named_error = exc.renamed({"kind": "error.kind", "scale": "error.scale"}, file=source)
            raise named_error.with_problems(replace(p, value=None) for p in named_error.problems) from None
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise InputError(
                Problem(
                    f"not a cartrial population model ({_in_words(exc)})",
                    file=source,
                    allowed="the estimates.json written by `cartrial kinetics popfit`",
                )
            ) from None
        listed = data.get("parameters")
        if listed is not None and list(listed) != list(model.parameters):
            raise InputError(
                Problem(
                    "the parameters listed are not the model's",
                    file=source,
                    field="parameters",
                    allowed=" | ".join(model.parameters) + f" (the {model.name} model, in this order)",
                )
            )
        # every entry of Ω is a finite number here (`_number_problems`, D-19.531)
        if not _is_covariance(omega):  # a negative or asymmetric Ω was used
            raise InputError(
                Problem(
                    "omega is not a covariance matrix",
                    file=source,
                    field="omega",
                    allowed="a symmetric positive semi-definite matrix (variances ≥ 0)",
                )
            )
        beyond = variances_out_of_range(model, iiv, omega)
        if beyond:
            raise InputError(
                Problem(
                    f"the {noun(len(beyond), 'variance')} of "
                    + ", ".join(name for name, _ in beyond)
                    + f" in omega {verb(len(beyond), 'is', 'are')} out of range (a fit that estimates one is "
                    "labelled NOT CONVERGED)",
                    file=source,
                    field="omega",
                    allowed=f"variances of log-normal parameters {OMEGA_LOG_VARIANCE.text()}",
                )
            )
        beyond = typicals_out_of_range(model, mu) if named else []
        if beyond:
            about = data.get("data")
            given = about.get("value_unit") if isinstance(about, dict) else None
            timed = about.get("time_unit") if isinstance(about, dict) else None
            units = parameter_units(
                model, given if isinstance(given, str) else "", timed if isinstance(timed, str) else ""
            )
            raise InputError(
                [
                    Problem(
                        "typical value out of the model's range (a fit that estimates one is labelled NOT "
                        "CONVERGED)",
                        file=source,
                        field=f"typical.{name}",
                        allowed=model.initial_rule(model.index(name), units[model.index(name)]).text(),
                    )
                    for name, _ in beyond
                ]
            )
        return cls(
            spec,
            Theta(mu, beta, omega, sigma),
            bool(data.get("converged", True)),
            tuple(data.get("convergence_problems", [])),
            {n: float(data["typical"][n]) for n in spec.fixed},
        )

    def covariate_row(self, covariates: dict[str, Any] | None) -> FloatArray:
        """The covariate columns (1, k) of one new subject from its covariate values.

        A name the model has no effect of, a category level the fit never saw, or a value that is not a
        finite number is an `InputError` (never ignored, never taken as the reference level)."""
        s = self.spec
        x = np.zeros((1, len(s.covariate_effects)))
        infos = [s.covariate_info.get(label, {}) for _, label, _ in s.covariate_effects]
        labels = [label for _, label, _ in s.covariate_effects]
        names = [info.get("covariate", label) for info, label in zip(infos, labels, strict=True)]
        for given in covariates or {}:
            if given not in names:
                raise InputError(
                    Problem(
                        "the population model has no effect of this covariate",
                        field="covariates",
                        value=given,
                        allowed=choice_text(dict.fromkeys(names)) or "none (the model has no covariate)",
                    )
                )
        for k, (_, _label, kind) in enumerate(s.covariate_effects):
            info = infos[k]
            name = names[k]
            if covariates is None or name not in covariates:
                raise InputError(
                    Problem(
                        "the population model has a covariate effect; give its value",
                        field=str(name),
                        allowed="--covariate-value NAME=VALUE",
                    )
                )
            value = covariates[name]
            if kind == "categorical":
                same = [i for i, n in zip(infos, names, strict=True) if n == name]
                levels = [str(i.get("reference")) for i in same] + [str(i.get("level")) for i in same]
                levels = list(dict.fromkeys(level for level in levels if level != "None"))
                if levels and str(value).strip() not in levels:
                    raise InputError(
                        Problem(
                            "not a level of this covariate in the fit",
                            field=str(name),
                            value=value,
                            allowed=choice_text(levels),
                        )
                    )
                x[0, k] = float(str(value).strip() == str(info.get("level")))
            else:
                try:
                    v = float(value)
                except (TypeError, ValueError):
                    v = math.nan
                if not math.isfinite(v):
                    raise InputError(
                        Problem(
                            "not a finite number", field=str(name), value=value, allowed="a finite number"
                        )
                    )
                centre = float(info["centre"])
                if kind == "power":
                    if v <= 0:
                        raise InputError(Problem("must be > 0 (power model)", field=str(name), value=v))
                    x[0, k] = math.log(v / centre)
                else:
                    x[0, k] = v - centre
        return x

    def with_theta(self, theta: Theta) -> PopulationModel:
        return replace(self, theta=theta)
