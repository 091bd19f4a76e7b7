"""Profile-likelihood confidence intervals of typical values (fixed effects) of a population fit.

For a typical value θ_j = exp(μ_j) (or μ_j for a parameter with normal between-subject variability,
`StructuralModel.to_natural`) the 95 % profile-likelihood interval is the set of μ_j whose profile
log-likelihood pl(μ_j) = max over the other parameters of log L(μ_j, ·) lies within χ²₁(0.95)/2 = 1.92 of
the maximum (Venzon DJ, Moolgavkar SH. *Appl Stat* 1988;37:87-94; the likelihood-ratio interval NONMEM and
Monolix users compute by log-likelihood profiling, e.g. PsN `llp`). Unlike the Wald interval it needs no
positive-definite Fisher information and follows an asymmetric likelihood, so it exists where the Wald
interval does not (few subjects, a collapsed variance).

log L is the importance-sampled marginal likelihood of `cartrial.kinetics.popfit.saem.MarginalLikelihood`;
each profile point is an L-BFGS-B maximisation over the other parameters with the analytic gradient, with
the draws at θ̂'s conditional modes held fixed (common random numbers). Log-variances are bounded to
[1e-6, 1e3]; an IIV term whose variance collapsed (`collapsed_variances`: below 1e-4 on the log scale,
D-19.408) is removed first (at that boundary the draws of its η cannot follow a moving μ and its profile
becomes a spike; without it the parameter enters the predictions directly). The
search goes out at most a factor `limit` from the estimate on each side; a side whose profile has not dropped
by 1.92 there is *open* and reported at the search limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import optimize

from cartrial.kinetics.popfit.population import Theta, collapsed_variances
from cartrial.kinetics.popfit.saem import (
    ImportanceDraws,
    MarginalLikelihood,
    ThetaCodec,
    Work,
    conditional_modes,
    is_value_and_gradient,
    make_draws,
)
from cartrial.wording import count

FloatArray = npt.NDArray[np.float64]
CHI2_1_95_HALF = 1.920729410347062  # χ²₁(0.95) / 2
PROFILE_SOURCE = "profile likelihood: Venzon DJ, Moolgavkar SH. Appl Stat 1988;37:87-94"


@dataclass(frozen=True)
class ProfileInterval:
    """A profile-likelihood interval of one typical value (natural scale) and how it was found."""

    parameter: str
    low: float
    high: float
    open_low: bool
    open_high: bool
    evaluations: int
    modes_not_converged: int = 0
    modes_not_converged_at_estimate: int = 0

    @property
    def note(self) -> str:
        sides = [s for s, o in (("below", self.open_low), ("above", self.open_high)) if o]
        if not sides:
            text = "95 % profile-likelihood interval (log L within 1.92 of its maximum)"
        else:
            text = (
                "95 % profile-likelihood interval, open "
                + " and ".join(sides)
                + ": the profile did not drop by 1.92 within the search limit shown"
            )
        if self.modes_not_converged:
            text += (
                f"; at {count(self.modes_not_converged, 're-centring')} a subject's conditional mode search "
                "did not converge and its draws at the estimate were used there (D-19.1299)"
            )
            if self.modes_not_converged_at_estimate:
                text += (
                    f", {self.modes_not_converged_at_estimate} of them in the re-maximisation at the "
                    "estimate that every interval's profile starts from"
                )
        return text


class _Profiler:
    """Profile log-likelihood of coordinate j of the `ThetaCodec` vector on an importance-sampled surface.

    `surface` (optional): θ ↦ the surface to maximise on from that starting point (draws re-centred at its
    conditional modes); without it every point uses `lik`'s fixed draws."""

    def __init__(
        self,
        lik: MarginalLikelihood,
        v_hat: FloatArray,
        surface: Callable[[Theta], MarginalLikelihood] | None = None,
        failed: list[int] | None = None,
    ) -> None:
        self.lik = lik
        self._failed = failed if failed is not None else [0]
        self.surface = surface
        self.codec = ThetaCodec(lik.work.spec)
        spec = lik.work.spec
        self.dim = v_hat.size
        lo = np.full(self.dim, -np.inf)
        hi = np.full(self.dim, np.inf)
        pos = spec.p + len(spec.covariate_effects)
        if spec.omega_structure == "diagonal":
            lo[pos : pos + spec.q] = math.log(1e-6)
            hi[pos : pos + spec.q] = math.log(1e3)
        self.lo, self.hi = lo, hi
        self.evaluations = 0
        self.iterations = 0
        self.function_calls = 0
        v0 = np.clip(v_hat, lo + 1e-9, hi - 1e-9)
        self.v_hat, self.ll_hat = self._maximise(v0, None, 0.0)

    @property
    def modes_not_converged(self) -> int:
        """Subject re-centrings (`recentre`) whose conditional mode search did not converge (D-19.1299)."""
        return self._failed[0]

    def _maximise(self, v0: FloatArray, j: int | None, value: float) -> tuple[FloatArray, float]:
        free = self.codec.free_mask()  # a fixed typical value is not re-maximised (D-19.273)
        if j is not None:
            free[j] = False
        base = v0.copy()
        if j is not None:
            base[j] = value

        lik = self.surface(self.codec.decode(base)) if self.surface is not None else self.lik

        def objective(u: FloatArray) -> tuple[float, FloatArray]:
            v = base.copy()
            v[free] = u
            val, grad = is_value_and_gradient(lik, v)
            if not math.isfinite(val):
                return 1e300, np.zeros_like(u)
            g = grad[free]
            if not np.all(np.isfinite(g)):
                # a draw whose prediction overflowed has zero weight but a non-finite score term
                g = np.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)
            return -val, -g

        bounds = list(zip(self.lo[free], self.hi[free], strict=True))
        bounds = [
            (None if not math.isfinite(a) else a, None if not math.isfinite(b) else b) for a, b in bounds
        ]
        res = optimize.minimize(
            objective,
            base[free],
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 150, "ftol": 1e-9, "gtol": 5e-3},
        )
        self.evaluations += 1
        self.iterations += int(res.nit)
        self.function_calls += int(res.nfev)
        v = base.copy()
        v[free] = res.x
        return v, -float(res.fun)

    def side(self, j: int, direction: float, first_step: float, limit: float) -> tuple[float, bool]:
        """The μ_j on one side where the profile has dropped by 1.92 (or the limit, open=True)."""
        target = self.ll_hat - CHI2_1_95_HALF
        centre = float(self.v_hat[j])
        inner_x, inner_v, inner_ll = centre, self.v_hat, self.ll_hat
        step = min(max(first_step, 0.05), limit)
        while True:
            x = centre + direction * step
            v, ll = self._maximise(inner_v, j, x)
            if ll > self.ll_hat + 0.5:  # clearly higher than the maximum (not noise): move it there
                self.ll_hat, target = ll, ll - CHI2_1_95_HALF
            if ll < target:
                outer_x, outer_ll = x, ll
                break
            inner_x, inner_v, inner_ll = x, v, ll
            if step >= limit:
                return x, True
            step = min(2 * step, limit)
        # regula falsi (safeguarded) between the last point above and the first below the target
        for _ in range(4):
            if abs(outer_x - inner_x) < 0.03 or inner_ll - outer_ll < 0.3:
                break
            frac = (inner_ll - target) / max(inner_ll - outer_ll, 1e-12)
            x = inner_x + min(max(frac, 0.15), 0.85) * (outer_x - inner_x)
            v, ll = self._maximise(inner_v, j, x)
            if ll >= target:
                inner_x, inner_v, inner_ll = x, v, ll
            else:
                outer_x, outer_ll = x, ll
        frac = (inner_ll - target) / max(inner_ll - outer_ll, 1e-12)
        return inner_x + min(max(frac, 0.0), 1.0) * (outer_x - inner_x), False


def profile_intervals(
    work: Work,
    theta: Theta,
    eta_mode: FloatArray,
    hessian: FloatArray,
    parameters: list[int],
    rng: np.random.Generator,
    *,
    draws: int = 300,
    se_log: FloatArray | None = None,
    limit: float = 100.0,
    recentre: bool = False,
) -> list[ProfileInterval]:
    """95 % profile-likelihood intervals of the typical values `parameters` (indices into the model's
    parameters), natural scale. `hessian` (of the modes at θ̂) is not needed: the modes are re-found.
    `se_log`: Wald SEs of μ_j (log θ_j; θ_j for a normal parameter), when known, as the first search step;
    `limit`: the search goes at most this factor from the estimate on each side (a normal parameter: at most
    log(limit)·max(|θ_j|, first step) on the natural scale). By default all points
    use the draws at θ̂ (common random numbers: a smooth profile); `recentre`: each profile point is maximised
    on draws re-centred at the conditional modes of its starting θ (the same standardised draws each time) —
    more robust far from θ̂, noisier. IIV terms whose variance collapsed are removed first
    (`without_collapsed_iiv`)."""
    prof = make_profiler(work, theta, eta_mode, rng, draws=draws, recentre=recentre)
    out: list[ProfileInterval] = []
    log_limit = math.log(limit)
    model = work.spec.model
    # re-centrings that failed in the profiler's own maximisation at θ̂ belong to every interval: each profile
    # is measured from that maximum (D-19.1299)
    at_estimate = prof.modes_not_converged
    for j in parameters:
        first = 1.96 * float(se_log[j]) if se_log is not None and math.isfinite(float(se_log[j])) else 0.3
        span = log_limit if model.distribution(j) == "lognormal" else log_limit * max(abs(theta.mu[j]), first)
        before, before_modes = prof.evaluations, prof.modes_not_converged
        lo, open_lo = prof.side(j, -1.0, first, span)
        hi, open_hi = prof.side(j, +1.0, first, span)
        out.append(
            ProfileInterval(
                str(model.parameters[j]),
                model.natural_value(j, lo),
                model.natural_value(j, hi),
                open_lo,
                open_hi,
                prof.evaluations - before,
                at_estimate + prof.modes_not_converged - before_modes,
                at_estimate,
            )
        )
    return out


def make_profiler(
    work: Work, theta: Theta, eta_mode: FloatArray, rng: np.random.Generator, *, draws: int, recentre: bool
) -> _Profiler:
    """The profiler of `profile_intervals`: the surface at θ̂ (draws at its conditional modes) maximised,
    and, with `recentre`, a new surface per profile point from the same standardised draws."""
    work, theta, eta_mode = without_collapsed_iiv(work, theta, eta_mode)
    spec = work.spec
    codec = ThetaCodec(spec)
    seed = int(rng.integers(2**32))
    state: dict[str, FloatArray] = {"eta": np.array(eta_mode, dtype=float)}
    at_estimate: list[ImportanceDraws] = []
    failed = [0]

    def surface(th: Theta) -> MarginalLikelihood:
        eta, hess, _, ok = conditional_modes(work, th, state["eta"])
        phi = spec.typical_phi(th, work.x)[:, spec.iiv_index] + eta
        found = make_draws(phi, hess, draws, np.random.default_rng(seed))
        if not at_estimate:  # θ̂'s surface: its modes are the fit's (labelled by the fit, D-19.1171)
            at_estimate.append(found)
            state["eta"] = eta
            return MarginalLikelihood(work, found, th)
        # a subject whose search did not converge (a saddle, a flat direction, stopped early) keeps the
        # draws at θ̂ — a valid proposal, the one every point uses without `recentre` — and its last
        # converged mode as the next start, rather than draws from a floored H at a non-mode (D-19.1299)
        ok = np.asarray(ok, dtype=bool)
        failed[0] += int((~ok).sum())
        base = at_estimate[0]
        state["eta"] = np.where(ok[:, None], eta, state["eta"])
        mixed = ImportanceDraws(
            np.where(ok[:, None, None], found.phi_iiv, base.phi_iiv),
            np.where(ok[:, None], found.log_q, base.log_q),
        )
        return MarginalLikelihood(work, mixed, th)

    lik = surface(theta)
    profiler = _Profiler(lik, codec.encode(theta), surface if recentre else None, failed)
    return profiler


def without_collapsed_iiv(work: Work, theta: Theta, eta_mode: FloatArray) -> tuple[Work, Theta, FloatArray]:
    """The problem with the IIV of collapsed variances (`collapsed_variances`, diagonal Ω) removed: the
    fit's estimate is on that boundary, and importance draws of a near-zero η cannot follow a moving μ
    (its profile becomes a spike); without the IIV term the parameter enters the predictions directly."""
    spec = work.spec
    if spec.omega_structure != "diagonal":
        return work, theta, eta_mode
    diag = np.diag(theta.omega)
    collapsed = {name for name, _ in collapsed_variances(spec.model, spec.iiv_names, theta.mu, theta.omega)}
    keep = np.array([name not in collapsed for name in spec.iiv_names], dtype=bool)
    if keep.all() or not keep.any():
        return work, theta, eta_mode
    names = tuple(n for n, k in zip(spec.iiv_names, keep, strict=True) if k)
    reduced = Work(replace(spec, iiv=names), work.data, work.x)
    return reduced, Theta(theta.mu, theta.beta, np.diag(diag[keep]), theta.sigma), eta_mode[:, keep]
