"""Residual error models and the conditional likelihood with BLQ censoring (Beal's M3).

Observation model: h(y) = h(f) + g(f)·ε, ε ~ N(0, 1), with h = log (``scale="log"``) or the identity
(``scale="linear"``) and g the residual SD:

* additive:      g = a
* proportional:  g = b·f          (linear scale only; on the log scale an additive error is already
                                   proportional)
* combined:      g = sqrt(a² + b²·f²)  (linear scale; Monolix's "combined2", NONMEM's
                                   Y = F + F·EPS(1) + EPS(2); not Monolix's "combined1" g = a + b·f)

A quantified sample contributes log φ((h(y) - h(f))/g) - log g; a BLQ sample (M3, Beal SL. Ways to fit a PK
model with some data below the quantification limit. J Pharmacokinet Pharmacodyn 2001;28:481-504, method M3)
contributes log Φ((h(LLOQ) - h(f))/g), the probability of a value below the LLOQ. With ``blq="m1"`` BLQ
samples are dropped before fitting (Beal's M1). On the log scale the likelihood is that of log y; the
reported -2LL adds the Jacobian Σ 2·log y of the quantified samples, so it is that of y on either scale.

Interval censoring (the default for AQP4-IgG end-point titres, `cartrial.kinetics.popfit.pdmodel`): a sample
known only to lie in [L, U) (a titre 1:N: between the dilution N and the next one) contributes the
probability mass of the residual distribution over the interval,
log[Φ((h(U) - h(f))/g) - Φ((h(L) - h(f))/g)] (U = ∞ at the top dilution); M3 is the case L = 0
(h(L) = -∞). This is the censored-data likelihood of Beal 2001 (M3 generalised to both bounds) and the
interval-censored normal likelihood of Lindsey JC, Ryan LM. Tutorial in biostatistics: methods for
interval-censored data. Stat Med 1998;17:219-238. As the interval narrows to width w it tends to the
density × w (`log_interval_probability`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import special

from cartrial.allowed import (
    MAX_CONCENTRATION,
    RESIDUAL_FRACTION,
    RESIDUAL_LOG_SD,
    Allowed,
    allowed,
    check_fields,
)
from cartrial.errors import ConfigurationError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

LOG_2PI = math.log(2 * math.pi)
TINY = 1e-300


@dataclass(frozen=True)
class ErrorModel:
    """Residual error: `kind` additive | proportional | combined; `scale` log | linear (declared in the
    fields' metadata, `cartrial.allowed`: an `OptionError` names the field)."""

    kind: str = field(default="additive", metadata=allowed(values=("additive", "proportional", "combined")))
    scale: str = field(default="log", metadata=allowed(values=("log", "linear")))

    def __post_init__(self) -> None:
        check_fields(self)
        if self.scale == "log" and self.kind != "additive":
            raise ConfigurationError(
                "on the log scale only an additive error is defined (it is a proportional error on the "
                "natural scale); use an additive error (CLI: --error additive), or the linear scale for "
                "proportional/combined (CLI: --scale linear)"
            )

    @property
    def names(self) -> tuple[str, ...]:
        return {"additive": ("a",), "proportional": ("b",), "combined": ("a", "b")}[self.kind]

    def unit(self, name: str, value_unit: str) -> str:
        """The unit of residual parameter `name`: the SD of log y (``log scale SD``) on the log scale; on the
        linear scale the additive SD ``a`` in the data's concentration unit (`value_unit`; "data unit" when
        the data carry none) and the proportional ``b`` a fraction of the prediction (D-19.463).

        >>> ErrorModel("combined", "linear").unit("a", "mg/L")
        'mg/L'
        """
        if self.scale == "log":
            return "log scale SD"
        return (value_unit or "data unit") if name == "a" else "fraction"

    def rule(self, name: str, value_unit: str = "") -> Allowed:
        """What residual parameter `name` may be: the one range `kinetics popfit` labels an estimate beyond
        and `kinetics map --population` refuses (D-19.464) — `RESIDUAL_LOG_SD` on the log scale,
        `RESIDUAL_FRACTION` for b, and an additive SD on the linear scale above 0 and at most the largest
        concentration (`MAX_CONCENTRATION`), in the data's unit.

        >>> ErrorModel("additive", "linear").rule("a", "mg/L").text()
        'greater than 0 and at most 1e+15 mg/L'
        """
        if self.scale == "log":
            return RESIDUAL_LOG_SD
        if name == "b":
            return RESIDUAL_FRACTION
        label = f"greater than 0 and at most {MAX_CONCENTRATION:.0e} {self.unit(name, value_unit)}"
        return Allowed(low=0, high=MAX_CONCENTRATION, low_exclusive=True, label=label)

    def transform(self, x: FloatArray) -> FloatArray:
        if self.scale == "log":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.asarray(np.log(np.maximum(x, TINY)), dtype=float)
        return np.asarray(x, dtype=float)

    def sd(self, pred: FloatArray, sigma: FloatArray) -> FloatArray:
        """Residual SD g(f) on the transformed scale; `sigma` holds (a,), (b,) or (a, b)."""
        if self.kind == "additive":
            return np.full_like(pred, float(sigma[0]))
        if self.kind == "proportional":
            return np.maximum(float(sigma[0]) * np.abs(pred), 1e-12)
        a, b = float(sigma[0]), float(sigma[1])
        return np.sqrt(a * a + (b * pred) ** 2)

    def iwres(self, y: FloatArray, ipred: FloatArray, sigma: FloatArray, quantified: BoolArray) -> FloatArray:
        """Individual weighted residuals (ε units) IWRES = (h(y) − h(IPRED))/g(IPRED) of the `quantified`
        samples, NaN for every other one (a censored sample has no residual): the one derivation the
        diagnostics table and the ε-shrinkage read (D-19.981)."""
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            yt = self.transform(np.where(quantified, y, 1.0))
            out = np.where(quantified, (yt - self.transform(ipred)) / self.sd(ipred, sigma), np.nan)
        return np.asarray(out, dtype=float)

    def simulate(self, pred: FloatArray, sigma: FloatArray, rng: np.random.Generator) -> FloatArray:
        """Draw observations (natural scale) around `pred`."""
        eps = rng.standard_normal(pred.shape)
        if self.scale == "log":
            return np.asarray(pred * np.exp(float(sigma[0]) * eps), dtype=float)
        return np.asarray(pred + self.sd(pred, sigma) * eps, dtype=float)


def log_interval_probability(lower_z: FloatArray, upper_z: FloatArray) -> FloatArray:
    """log[Φ(upper_z) - Φ(lower_z)] for standardised bounds (lower_z ≤ upper_z; ±inf allowed), computed in
    the tail where it does not cancel: for lower_z > 0 by symmetry, log[Φ(-lower_z) - Φ(-upper_z)]; an
    interval narrower than 1e-4 by the midpoint density × width (with its O(w²) correction).

    >>> round(float(log_interval_probability(np.array(-np.inf), np.array(0.0))), 6)
    -0.693147
    """
    lo = np.asarray(lower_z, dtype=float)
    hi = np.asarray(upper_z, dtype=float)
    flip = lo > 0
    a = np.where(flip, -hi, lo)
    b = np.where(flip, -lo, hi)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_b = special.log_ndtr(b)
        log_a = special.log_ndtr(a)
        x = log_a - log_b  # ≤ 0; log(1 - e^x) without cancellation (log1mexp, Mächler 2012)
        out = log_b + np.where(x > -math.log(2), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))
        # a narrow interval: the density at the midpoint × width (midpoint rule with its w² correction),
        # exact to O(w⁴) where the difference of CDFs would cancel
        w = b - a
        m = 0.5 * (a + b)
        narrow = np.isfinite(w) & (w < 1e-4) & (w > 0)
        mid = (
            -0.5 * m * m
            - 0.5 * LOG_2PI
            + np.log(np.where(narrow, w, 1.0))
            + np.log1p((m * m - 1) * w * w / 24)
        )
        out = np.where(narrow, mid, out)
    return np.asarray(np.where(a < b, out, -np.inf), dtype=float)


def observation_loglik(
    pred: FloatArray,
    yt: FloatArray,
    lloq_t: FloatArray,
    quantified: BoolArray,
    censored: BoolArray,
    error: ErrorModel,
    sigma: FloatArray,
    lower_t: FloatArray | None = None,
) -> FloatArray:
    """Log-likelihood of each sample (rows × samples; 0 where neither quantified nor censored).

    `yt`, `lloq_t`: observation and LLOQ (upper bound of a censored sample) on the transformed scale;
    `lower_t`: lower bound of each censored sample (-inf: BLQ, M3; None: all BLQ). A non-finite prediction
    gives -inf.
    """
    ft = error.transform(pred)
    additive = error.kind == "additive"
    g: FloatArray | float = float(sigma[0]) if additive else error.sd(pred, sigma)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        z = (yt - ft) / g
        out = np.where(quantified, -0.5 * z * z - (0.5 * LOG_2PI + np.log(g)), 0.0)
        ci = np.nonzero(censored)
        if ci[0].size:
            gc = g if additive else np.asarray(g)[ci]
            upper = (lloq_t[ci] - ft[ci]) / gc
            if lower_t is None:
                out[ci] = special.log_ndtr(upper)
            else:
                out[ci] = log_interval_probability((lower_t[ci] - ft[ci]) / gc, upper)
    out[~np.isfinite(out)] = -np.inf
    return np.asarray(out, dtype=float)


def subject_loglik(
    pred: FloatArray,
    yt: FloatArray,
    lloq_t: FloatArray,
    quantified: BoolArray,
    censored: BoolArray,
    error: ErrorModel,
    sigma: FloatArray,
    lower_t: FloatArray | None = None,
) -> FloatArray:
    """Sum over each row's samples of `observation_loglik` (rows,)."""
    return np.asarray(
        observation_loglik(pred, yt, lloq_t, quantified, censored, error, sigma, lower_t).sum(axis=1),
        dtype=float,
    )
