"""Summary statistics of the analysis: exact binomial CIs, geometric summaries (no clinical rule here).

- Proportions: exact Clopper-Pearson interval (Clopper CJ, Pearson ES. Biometrika 1934;26:404), computed by
  `cartrial.binomial.clopper_pearson` (the one implementation, shared with escalation and simulation; equal
  to `scipy.stats.binomtest(k, n).proportion_ci(method="exact")`; decisions D-19.396).
- Rates: the exact Poisson interval (Garwood F. Biometrika 1936;28:437) of `cartrial.neuro` (ARR) — not
  re-implemented here.
- Geometric mean and geometric CV % = 100·sqrt(exp(s²) − 1), s the SD (n − 1) of the natural logs (the
  usual PK summary, e.g. FDA guidance on statistical approaches to bioequivalence 2001, appendix).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cartrial.binomial import clopper_pearson
from cartrial.errors import InputError, Problem
from cartrial.rounding import fixed  # the one rounding of reported numbers (D-19.189)

# The CI method as a table states it (its ``ci_method`` column, the report): the method and its publication,
# never the software that computes it (documented above and in docs/analysis.md; D-19.477).
PROPORTION_CI_METHOD = "exact Clopper-Pearson 95% CI (Clopper & Pearson, Biometrika 1934;26:404)"
RATE_CI_METHOD = "exact Poisson 95% CI (Garwood, Biometrika 1936;28:437)"
NO_SUBJECT_CI = "n/a (n = 0: no interval)"
"""The method of a proportion of no subject: none, as it has no interval (D-19.535)."""
NOT_RECORDED_CI = "n/a (not recorded: no interval)"
"""The ``ci_method`` of an incidence row whose flag is not recorded: no interval exists, so no method is
named; the description says why (D-19.528)."""
GEOMETRIC_METHOD = "geometric mean; geometric CV % = 100*sqrt(exp(s^2)-1), s = SD of ln values (n-1)"


@dataclass(frozen=True)
class Proportion:
    """k of n with its exact 95 % CI (None when n = 0, and then `method` `NO_SUBJECT_CI`)."""

    k: int
    n: int
    percent: float | None
    ci_low_pct: float | None
    ci_high_pct: float | None
    method: str = PROPORTION_CI_METHOD

    def text(self) -> str:
        """``"4 of 8 (50 %; 95 % CI 16-84 %)"``."""
        if self.percent is None:
            return f"{self.k} of {self.n}"
        ci = f"95 % CI {fixed(self.ci_low_pct or 0.0, 0)}-{fixed(self.ci_high_pct or 0.0, 0)} %"
        return f"{self.k} of {self.n} ({fixed(self.percent, 0)} %; {ci})"


def _count(name: str, value: Any) -> int:
    """A count for `proportion`: an int or a numpy integer (as a Python int), whole and ≥ 0; anything else (a
    float, NaN, None, a bool) is an `InputError` naming the argument (decisions D-19.68)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise InputError(Problem("not a count", field=name, value=value, allowed="a whole number ≥ 0"))
    return int(value)


def proportion(k: int, n: int, confidence: float = 0.95) -> Proportion:
    """k of n with the exact Clopper-Pearson interval, in percent.

    >>> p = proportion(12, 12)
    >>> (p.percent, round(p.ci_low_pct, 1), p.ci_high_pct)
    (100.0, 73.5, 100.0)
    >>> proportion(0, 0).percent is None
    True
    """
    k, n = _count("k", k), _count("n", n)
    if k > n:
        raise InputError(Problem(f"k is more than n ({n})", field="k", value=k, allowed=f"0 … n ({n})"))
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real) or not 0 < confidence < 1:
        raise InputError(
            Problem(
                "not a confidence level",
                field="confidence",
                value=confidence,
                allowed="a fraction strictly between 0 and 1 (0.95, not 95)",
            )
        )
    if n == 0:
        return Proportion(k, n, None, None, None, NO_SUBJECT_CI)
    low, high = clopper_pearson(k, n, confidence)
    return Proportion(k, n, round(100.0 * k / n, 4), round(100.0 * low, 4), round(100.0 * high, 4))


def _finite(values: Any) -> np.ndarray:
    """The finite values of `values` as floats (None and NaN/inf left out, as documented); `values` that are
    not an iterable of numbers (None, text, a value that is not a number) are an `InputError` naming the
    position and value (decisions D-19.68) — never a TypeError from inside."""
    if values is None or isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InputError(
            Problem(
                f"not a collection of numbers: a {type(values).__name__}",
                field="values",
                allowed="a list, array or pandas Series of numbers",
            )
        )
    kept = []
    for index, v in enumerate(values):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise InputError(
                Problem(
                    "not a number",
                    field=f"values[{index}]",
                    value=v,
                    allowed="a number (text: convert with pandas.to_numeric first)",
                )
            )
        if math.isfinite(v):
            kept.append(v)
    return np.asarray(kept, dtype=float)


def geometric_summary(values: Iterable[float]) -> dict[str, float | int | None]:
    """n, geometric mean, geometric CV %, median, min, max of the finite values (geometric statistics
    over the positive ones only; `n_nonpositive` says how many were left out of them).

    >>> s = geometric_summary([1.0, 10.0, 100.0])
    >>> (s["n"], round(s["geometric_mean"], 6), s["median"], s["min"], s["max"])
    (3, 10.0, 10.0, 1.0, 100.0)
    """
    data = _finite(values)
    out: dict[str, float | int | None] = {
        "n": int(data.size),
        "geometric_mean": None,
        "geometric_cv_pct": None,
        "median": None,
        "min": None,
        "max": None,
        "n_nonpositive": int(np.sum(data <= 0)),
    }
    if data.size == 0:
        return out
    out["median"] = float(np.median(data))
    out["min"] = float(data.min())
    out["max"] = float(data.max())
    positive = data[data > 0]
    if positive.size:
        logs = np.log(positive)
        out["geometric_mean"] = float(np.exp(logs.mean()))
        if positive.size > 1:
            s2 = float(np.var(logs, ddof=1))
            out["geometric_cv_pct"] = float(100.0 * math.sqrt(math.expm1(s2)))
    return out


@dataclass(frozen=True)
class ContinuousSummary:
    """n, mean, SD (n − 1), median, minimum and maximum of the finite values, and how many were missing.

    The usual "n, mean (SD), median (range)" of a demographics table (ICH E3 §11.2). SD is None for n < 2;
    everything but `n` and `n_missing` is None for n = 0.
    """

    n: int
    n_missing: int
    mean: float | None
    sd: float | None
    median: float | None
    minimum: float | None
    maximum: float | None


def continuous_summary(values: Iterable[float | None]) -> ContinuousSummary:
    """Summary of the finite values; None and NaN count as missing.

    >>> s = continuous_summary([1.0, 2.0, 4.0, None])
    >>> (s.n, s.n_missing, round(s.mean, 4), round(s.sd, 4), s.median, s.minimum, s.maximum)
    (3, 1, 2.3333, 1.5275, 2.0, 1.0, 4.0)
    """
    raw = list(values)
    data = np.asarray([float(v) for v in raw if v is not None and math.isfinite(float(v))], dtype=float)
    missing = len(raw) - int(data.size)
    if data.size == 0:
        return ContinuousSummary(0, missing, None, None, None, None, None)
    return ContinuousSummary(
        int(data.size),
        missing,
        float(data.mean()),
        float(np.std(data, ddof=1)) if data.size > 1 else None,
        float(np.median(data)),
        float(data.min()),
        float(data.max()),
    )


def category_counts(values: Iterable[str | None], levels: Iterable[str] = ()) -> list[tuple[str, int, float]]:
    """(category, n, percent of the non-missing values) for `levels` (in that order, zero counts kept) and
    then every other category seen, sorted; None and '' are missing and not counted (the caller reports
    them). Percentages of the non-missing values sum to 100.

    >>> category_counts(["F", "F", "M", None], levels=["F", "M"])
    [('F', 2, 66.6667), ('M', 1, 33.3333)]
    """
    present = [str(v) for v in values if v is not None and str(v) != ""]
    order = list(dict.fromkeys(levels))
    order += sorted(set(present) - set(order))
    total = len(present)
    return [
        (level, present.count(level), round(100.0 * present.count(level) / total, 4) if total else 0.0)
        for level in order
    ]


__all__ = [
    "GEOMETRIC_METHOD",
    "NOT_RECORDED_CI",
    "NO_SUBJECT_CI",
    "PROPORTION_CI_METHOD",
    "RATE_CI_METHOD",
    "ContinuousSummary",
    "Proportion",
    "category_counts",
    "continuous_summary",
    "fixed",
    "geometric_summary",
    "proportion",
]
