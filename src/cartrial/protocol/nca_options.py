"""The options of a non-compartmental analysis (NCA), declared once for the protocol and the kinetics engine.

`NcaOptions` (AUC method, BLQ rules, lambda_z selection, quality flags) is read by the NCA engine
(`cartrial.kinetics.nca`, which re-exports it) and set by the protocol's ``analysis.options.nca_options``
(with ``analysis.options.nca_intervals_days``). `NcaOptions.from_parameters` is the one rule that turns those
keys into options: `cartrial protocol check` (every protocol load) calls it and reports each problem at its
YAML line, and the analysis calls it before the NCA runs. Rules: PKNCA v0.12.1 and Phoenix WinNonlin 8.3
(`PKNCA_SOURCE`, `PHOENIX_SOURCE`, `QUALITY_FLAGS_SOURCE`); docs/science/cellular-kinetics.md §2 and §4;
docs/science/decisions.md D-19.19, D-19.20.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from cartrial.allowed import METADATA_KEY, TRUE_FALSE, allowed, check_fields, choice_text, enum_member
from cartrial.errors import OptionError, Problem

PKNCA_SOURCE = "PKNCA v0.12.1 (Denney), R/auc_integrate.R, R/half.life.R, R/pk.calc.simple.R, R/cleaners.R"
QUALITY_FLAGS_SOURCE = (
    "PKNCA 0.12.0: PKNCA.options min.span.ratio (default 2), min.hl.r.squared (default 0.9) and "
    "max.aucinf.pext (default 20); exclude_nca_span.ratio, exclude_nca_min.hl.r.squared, "
    "exclude_nca_min.hl.adj.r.squared (default 0.9), exclude_nca_max.aucinf.pext"
)
PHOENIX_SOURCE = "Certara Phoenix WinNonlin 8.3 help, 'Lambda Z or Slope Estimation settings'"


class AucMethod(StrEnum):
    """Trapezoid rule per segment (docs/science/cellular-kinetics.md §2.2; PKNCA ``auc_integrate.R``).

    ``linear``: linear for every segment. ``lin_up_log_down`` (PKNCA default): log when the concentration
    falls to a non-zero value, else linear. ``lin_log`` (PKNCA "lin-log", Phoenix "linear-log"; CLI
    spelling ``log``): log for segments after Tmax when both ends are positive and differ, else linear.
    """

    LINEAR = "linear"
    LIN_UP_LOG_DOWN = "lin_up_log_down"
    LIN_LOG = "lin_log"


class LambdaZOrder(StrEnum):
    """Which rule picks the terminal window (docs/science/cellular-kinetics.md §2.4).

    ``pknca``: the maximum adjusted R² is taken over all windows before windows with lambda_z ≤ 0 are
    removed (PKNCA ``half.life.R``). ``phoenix``: windows with lambda_z ≤ 0 are discarded first
    (Phoenix 8.3 help). Both then take the window with most points whose adjusted R² is within the
    tolerance of that maximum.
    """

    PKNCA = "pknca"
    PHOENIX = "phoenix"


class PersistenceRule(StrEnum):
    """Definition of ``persistence_days`` (docs/science/cellular-kinetics.md §4, [P]).

    ``tlast``: time of the last quantifiable sample (default). ``last_positive_before_2_negatives``: the
    last quantifiable sample before the first run of two consecutive BLQ samples (Tlast if there is no
    such run).
    """

    TLAST = "tlast"
    LAST_POSITIVE_BEFORE_2_NEGATIVES = "last_positive_before_2_negatives"


BlqAction = str | float
"""One BLQ rule: ``"keep"`` (as 0), ``"drop"``, ``"half_lloq"`` (substitute LLOQ/2) or a number."""

BLQ_PRESETS: dict[str, tuple[BlqAction, BlqAction, BlqAction]] = {
    "pknca": ("keep", "drop", "keep"),
    "zero": ("keep", "keep", "keep"),
    "phoenix": ("keep", "keep", "keep"),
    "half_lloq": ("keep", "half_lloq", "half_lloq"),
}
"""Named (first, middle, last) BLQ rules. ``pknca`` is PKNCA's default (docs/science/cellular-kinetics.md
§2.3); ``zero``/``phoenix``
keep every BLQ as 0 and integrate linearly into and out of it; ``half_lloq`` keeps the pre-infusion BLQ as 0
(docs/science/cellular-kinetics.md §4: pre-infusion BLQ counted as 0) and substitutes LLOQ/2 for middle and
trailing BLQ values."""


_TRUE_FALSE = {METADATA_KEY: TRUE_FALSE}
"""A switch: true or false (a word such as ``"yes"`` would otherwise read as true)."""

_BLQ_ACTION = allowed(values=("keep", "drop", "half_lloq"), low=0)
"""A BLQ rule: a named rule or a number ≥ 0 substituted for the BLQ value."""

_BLQ_ACTION_BY_TMAX = allowed(values=("keep", "drop", "half_lloq"), low=0, optional=True)
"""A BLQ rule keyed on Tmax (PKNCA ``before.tmax`` / ``after.tmax``), or None: not keyed on Tmax."""


def repeated_intervals(intervals: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the partial-AUC intervals equal to an earlier one (the one rule for the protocol's
    ``nca_intervals_days`` and the CLI's ``--interval``: each interval once, as its AUC is one column).

    >>> repeated_intervals([(0, 28), (0, 7), (0.0, 28.0)])
    [2]
    """
    seen: set[tuple[float, ...]] = set()
    repeats: list[int] = []
    for index, interval in enumerate(intervals):
        key = tuple(float(bound) for bound in interval)
        if key in seen:
            repeats.append(index)
        seen.add(key)
    return repeats


@dataclass(frozen=True)
class NcaOptions:
    """Every rule choice of an NCA run; recorded with each result (`as_dict`).

    Attributes:
        auc_method: segment rule, default lin-up/log-down (PKNCA default).
        blq_first, blq_middle, blq_last: rule per BLQ position (PKNCA default keep / drop / keep).
        blq_before_tmax, blq_after_tmax: PKNCA's other specification of ``conc.blq`` (``clean.conc.blq``,
            ``before.tmax`` / ``after.tmax``; docs/science/cellular-kinetics.md §2.3): a BLQ sample before the
            time of the first maximum, and one at or after it. Default None: the rules by position apply.
            Given, both are needed and the rules by position must be left at their defaults (not given, in
            a protocol): as PKNCA's ``PKNCA.options``, the two specifications are not mixed
            (`OptionError`). When every sample is BLQ, Tmax is the last sample's time (PKNCA
            ``clean.conc.blq``). D-19.966.
        lambda_z_order: ``pknca`` (default) or ``phoenix`` window selection.
        min_lambda_z_points: minimum points in a lambda_z window (PKNCA ``min.hl.points`` = 3). With 2, a
            2-point window (adjusted R² undefined, reported NaN) is used only when it is the only one.
        adj_r2_tolerance: window tolerance on adjusted R² (PKNCA ``adj.r.squared.factor`` = 1e-4, used as a
            flat tolerance as in the PKNCA code; Phoenix uses the same 0.0001).
        allow_tmax_in_lambda_z: include the Tmax point in candidate windows (PKNCA default false).
        lambda_z_window: manual window (start, end) in time units: fit every quantifiable point in it
            (for example a contraction half-life from Tmax to day 28); default automatic selection. As
            PKNCA's manually selected points, `min_lambda_z_points`, `adj_r2_tolerance` and
            `allow_tmax_in_lambda_z` do not apply: 2 points suffice (D-19.1410).
        intervals: partial AUC intervals (start, end); end may be ``inf`` (AUCinf,obs form).
        persistence_rule: definition of ``persistence_days`` (default ``tlast``).
        min_span_ratio, min_r2, min_adj_r2, max_auc_pct_extrap: quality-flag thresholds, PKNCA's defaults
            2, 0.9 (``min.hl.r.squared``, D-19.1411), 0.9 and 20 % (`QUALITY_FLAGS_SOURCE`); None switches a
            flag off. Flags are reported in
            ``quality_flags``; with ``exclude_flagged`` the affected parameters are blanked (reason
            "excluded by quality flag"), as PKNCA's ``exclude()``, so summaries leave them out.
        interval_interpolation: how the level at a partial-AUC end between samples is interpolated:
            ``segment`` (default, PKNCA ``interpolate.conc``: log inside a log-down segment, else linear) or
            ``linear`` (a cartrial option: linear, and the segments touching the interpolated end are
            integrated linearly).
        interval_coverage: when a subject's samples cover a finite partial-AUC interval [a, b]
            (``auc_<a>_<b>_covered``; docs/science/decisions.md D-19.95): ``blq_tail`` (default) a sample
            at or after b (by its actual time, or nominal time inside its visit window: `nominal_coverage`),
            or a last sample before b that is BLQ (the concentration is below the LLOQ there and
            ``aucint.last`` counts the rest of the interval as 0, the value a BLQ sample at b would give);
            ``sampled_to_end`` only a sample at or after b (EMA BE Q&A 2010: AUC(0-72h) where the 72-h
            sample was taken). A value is computed either way;
            the flag says whether it is the interval's AUC or an AUC to the last sample.
        nominal_coverage: whether a sample counts at a partial-AUC end by its nominal (scheduled) time
            (docs/science/decisions.md D-19.104): ``visit_window`` (default) only when its actual time is
            inside the protocol's visit window of that nominal time (the day-28 visit taken on day 27 in a
            ±2-day window covers AUC0-28; taken on day 20 it does not; a nominal time with no window never
            counts); ``actual_only`` never (PKNCA, which uses the actual times only).
        missing_time0: the AUCs from the dose (AUClast, AUMClast, AUCall, AUCinf) of a profile with no
            kept sample at time 0 (a time-0 BLQ sample dropped by a BLQ rule counts as none; D-19.153,
            D-19.968): ``zero`` (default) integrate from a concentration of 0 at the dose (Phoenix's
            single-dose rule; PKNCA ``impute = "start_conc0"`` when no time-0 sample was recorded, while
            after a dropped time-0 BLQ sample PKNCA gives NA;
            the interpolating partial AUCs already start from 0, PKNCA ``conc.origin``); ``not_estimable``
            leave them missing with the reason (PKNCA without imputation).

    Allowed values are declared once in the field metadata (`cartrial.allowed`): a BLQ rule is keep, drop,
    half_lloq or a number ≥ 0; ``min_lambda_z_points`` a whole number ≥ 2; ``adj_r2_tolerance``,
    ``min_r2`` and ``min_adj_r2`` 0 to 1; ``min_span_ratio`` ≥ 0; ``max_auc_pct_extrap`` 0 to 100 (%); the
    two switches true or false. A window or an interval is a pair of numbers, start below end; each interval
    once.
    """

    auc_method: AucMethod = AucMethod.LIN_UP_LOG_DOWN
    blq_first: BlqAction = field(default="keep", metadata=_BLQ_ACTION)
    blq_middle: BlqAction = field(default="drop", metadata=_BLQ_ACTION)
    blq_last: BlqAction = field(default="keep", metadata=_BLQ_ACTION)
    blq_before_tmax: BlqAction | None = field(default=None, metadata=_BLQ_ACTION_BY_TMAX)
    blq_after_tmax: BlqAction | None = field(default=None, metadata=_BLQ_ACTION_BY_TMAX)
    lambda_z_order: LambdaZOrder = LambdaZOrder.PKNCA
    min_lambda_z_points: int = field(default=3, metadata=allowed(low=2, integer=True))
    adj_r2_tolerance: float = field(default=1e-4, metadata=allowed(low=0, high=1))
    allow_tmax_in_lambda_z: bool = field(default=False, metadata=_TRUE_FALSE)
    lambda_z_window: tuple[float, float] | None = None
    intervals: tuple[tuple[float, float], ...] = ()
    persistence_rule: PersistenceRule = PersistenceRule.TLAST
    interval_interpolation: str = field(default="segment", metadata=allowed(values=("segment", "linear")))
    interval_coverage: str = field(
        default="blq_tail", metadata=allowed(values=("blq_tail", "sampled_to_end"))
    )
    nominal_coverage: str = field(
        default="visit_window", metadata=allowed(values=("visit_window", "actual_only"))
    )
    missing_time0: str = field(default="zero", metadata=allowed(values=("zero", "not_estimable")))
    min_span_ratio: float | None = field(default=2.0, metadata=allowed(low=0, optional=True))
    min_r2: float | None = field(default=0.9, metadata=allowed(low=0, high=1, optional=True))
    min_adj_r2: float | None = field(default=0.9, metadata=allowed(low=0, high=1, optional=True))
    max_auc_pct_extrap: float | None = field(default=20.0, metadata=allowed(low=0, high=100, optional=True))
    exclude_flagged: bool = field(default=False, metadata=_TRUE_FALSE)

    def __post_init__(self) -> None:
        check_fields(self)
        if self.blq_by_tmax:
            given = [f for f in _BLQ_BY_TMAX if getattr(self, f) is not None]
            given += [f for f in _BLQ_BY_POSITION if getattr(self, f) != _BLQ_POSITION_DEFAULTS[f]]
            problems = _blq_specification_problems(given)
            if problems:
                raise OptionError(problems)
        for name, kind in (
            ("auc_method", AucMethod),
            ("lambda_z_order", LambdaZOrder),
            ("persistence_rule", PersistenceRule),
        ):
            object.__setattr__(self, name, enum_member(kind, getattr(self, name), name))
        intervals = tuple(
            _pair(i, "intervals", "START,END with START < END (END may be inf)") for i in self.intervals
        )
        for a, b in intervals:
            if not (math.isfinite(a) and b > a):
                raise OptionError(
                    Problem(
                        "an interval needs a finite start below its end",
                        field="intervals",
                        value=f"{a:g},{b:g}",
                        allowed="START,END with START < END (END may be inf)",
                    )
                )
        for index in repeated_intervals(intervals):
            a, b = intervals[index]
            raise OptionError(
                Problem(
                    "this partial-AUC interval is given twice",
                    field="intervals",
                    value=f"{a:g},{b:g}",
                    allowed="each START,END once",
                )
            )
        object.__setattr__(self, "intervals", intervals)
        if self.lambda_z_window is not None:
            a, b = _pair(self.lambda_z_window, "lambda_z_window", "START,END with START < END")
            if not b > a:
                raise OptionError(
                    Problem(
                        "the start must be below the end",
                        field="lambda_z_window",
                        value=f"{a:g},{b:g}",
                        allowed="START,END with START < END",
                    )
                )
            object.__setattr__(self, "lambda_z_window", (a, b))

    @classmethod
    def from_parameters(
        cls, parameters: Mapping[str, Any], intervals: Sequence[tuple[float, float]] = ()
    ) -> NcaOptions:
        """Options from the protocol's ``analysis.options.nca_options`` (every field but ``intervals``, given
        as ``analysis.options.nca_intervals_days``) with the partial-AUC `intervals`: unknown keys and bad
        values are refused together (one `OptionError`, a `Problem` per key).

        >>> NcaOptions.from_parameters({"blq_middle": "keep"}, [(0, 28)]).intervals
        ((0.0, 28.0),)
        """
        known = [f.name for f in dataclasses.fields(cls) if f.name != "intervals"]
        problems = [
            Problem("unknown NCA option", field=str(name), value=name, allowed=choice_text(known))
            for name in sorted(set(parameters) - set(known), key=str)
        ]
        # a rule by position given at its default value is still a second specification (D-19.966)
        problems.extend(_blq_specification_problems([str(name) for name in parameters]))
        try:
            options = cls(intervals=tuple(intervals), **{k: v for k, v in parameters.items() if k in known})
        except OptionError as error:
            problems.extend(p for p in error.problems if p not in problems)
        if problems:
            raise OptionError(problems)
        return options

    @classmethod
    def from_preset(cls, blq: str = "pknca", **overrides: Any) -> NcaOptions:
        """Options with a named BLQ preset (`BLQ_PRESETS`: pknca, zero, phoenix, half_lloq).

        ``phoenix`` also selects the Phoenix lambda_z ordering unless ``lambda_z_order`` is given.

        >>> options = NcaOptions.from_preset("phoenix")
        >>> options.blq_middle, str(options.lambda_z_order)
        ('keep', 'phoenix')
        """
        try:
            first, middle, last = BLQ_PRESETS[blq]
        except KeyError:
            raise OptionError(
                Problem("unknown BLQ preset", field="blq", value=blq, allowed=" | ".join(BLQ_PRESETS))
            ) from None
        values: dict[str, Any] = {"blq_first": first, "blq_middle": middle, "blq_last": last}
        if blq == "phoenix":
            values["lambda_z_order"] = LambdaZOrder.PHOENIX
        values.update(overrides)
        return cls(**values)

    @property
    def blq_by_tmax(self) -> bool:
        """The BLQ rules are keyed on Tmax (`blq_before_tmax` or `blq_after_tmax` given; D-19.966)."""
        return self.blq_before_tmax is not None or self.blq_after_tmax is not None

    @property
    def blq_actions(self) -> tuple[BlqAction, ...]:
        """Every BLQ rule in use (the Tmax pair when keyed on Tmax, else first/middle/last)."""
        if self.blq_by_tmax:
            return (self.blq_before_tmax or "keep", self.blq_after_tmax or "keep")
        return (self.blq_first, self.blq_middle, self.blq_last)

    @property
    def needs_lloq(self) -> bool:
        """A BLQ rule in use is ``half_lloq``, so every BLQ sample needs its LLOQ (the one check the API,
        the CLI and the analysis read)."""
        return "half_lloq" in self.blq_actions

    def with_intervals(self, intervals: Sequence[tuple[float, float]]) -> NcaOptions:
        return replace(self, intervals=tuple(intervals))

    def as_dict(self) -> dict[str, Any]:
        return {
            "auc_method": str(self.auc_method),
            "blq_first": self.blq_first,
            "blq_middle": self.blq_middle,
            "blq_last": self.blq_last,
            "blq_before_tmax": self.blq_before_tmax,
            "blq_after_tmax": self.blq_after_tmax,
            "lambda_z_order": str(self.lambda_z_order),
            "min_lambda_z_points": self.min_lambda_z_points,
            "adj_r2_tolerance": self.adj_r2_tolerance,
            "allow_tmax_in_lambda_z": self.allow_tmax_in_lambda_z,
            "lambda_z_window": None if self.lambda_z_window is None else list(self.lambda_z_window),
            "intervals": [list(i) for i in self.intervals],
            "persistence_rule": str(self.persistence_rule),
            "interval_interpolation": self.interval_interpolation,
            "interval_coverage": self.interval_coverage,
            "nominal_coverage": self.nominal_coverage,
            "missing_time0": self.missing_time0,
            "interval_auc": "auc_<a>_<b> = aucint_last_<a>_<b> (PKNCA aucint.last) for a finite end, "
            "aucint_inf_obs_<a>_inf (PKNCA aucint.inf.obs) for an infinite one; aucint_all_<a>_<b> = PKNCA "
            "aucint.all; aucint_inf_pred_<a>_<b> = PKNCA aucint.inf.pred; "
            "auclast_<a>_<b>: samples inside the interval only (PKNCA auclast); "
            "auc_<a>_<b>_covered: the samples cover the interval end (interval_coverage, D-19.95)",
            "min_span_ratio": self.min_span_ratio,
            "min_r2": self.min_r2,
            "min_adj_r2": self.min_adj_r2,
            "max_auc_pct_extrap": self.max_auc_pct_extrap,
            "exclude_flagged": self.exclude_flagged,
            "quality_flags_source": QUALITY_FLAGS_SOURCE,
            "source": PKNCA_SOURCE + ("; " + PHOENIX_SOURCE if self.lambda_z_order == "phoenix" else ""),
        }

    def describe(self) -> str:
        """One line for CSV output and printed summaries."""
        text = (
            f"auc_method={self.auc_method}; blq(first/middle/last)={self.blq_first}/{self.blq_middle}/"
            f"{self.blq_last}; lambda_z={self.lambda_z_order} (min {self.min_lambda_z_points} points, "
            f"tolerance {self.adj_r2_tolerance:g}, "
            f"tmax {'allowed' if self.allow_tmax_in_lambda_z else 'excluded'})"
        )
        if self.blq_by_tmax:
            text = text.replace(
                f"blq(first/middle/last)={self.blq_first}/{self.blq_middle}/{self.blq_last}",
                f"blq(before/after tmax)={self.blq_before_tmax or 'keep'}/{self.blq_after_tmax or 'keep'}",
            )
        if self.lambda_z_window is not None:
            text += f"; lambda_z_window={self.lambda_z_window[0]:g}-{self.lambda_z_window[1]:g}"
        text += f"; persistence={self.persistence_rule}"
        if self.interval_coverage != "blq_tail":
            text += f"; interval_coverage={self.interval_coverage}"
        if self.nominal_coverage != "visit_window":
            text += f"; nominal_coverage={self.nominal_coverage}"
        if self.missing_time0 != "zero":
            text += f"; missing_time0={self.missing_time0}"
        return text + ("; flagged parameters excluded" if self.exclude_flagged else "")


_BLQ_BY_POSITION = ("blq_first", "blq_middle", "blq_last")
_BLQ_BY_TMAX = ("blq_before_tmax", "blq_after_tmax")
_BLQ_POSITION_DEFAULTS = {"blq_first": "keep", "blq_middle": "drop", "blq_last": "keep"}
_BLQ_SPECIFICATION = "either blq_first/blq_middle/blq_last, or both blq_before_tmax and blq_after_tmax"


def _blq_specification_problems(given: Sequence[str]) -> list[Problem]:
    """PKNCA's check of a ``conc.blq`` list (``PKNCA.options``): the rules by position and those keyed on
    Tmax are not mixed, and a Tmax-keyed list names both ``before.tmax`` and ``after.tmax`` (D-19.966).
    `given` are the BLQ fields set."""
    position = [name for name in _BLQ_BY_POSITION if name in given]
    by_tmax = [name for name in _BLQ_BY_TMAX if name in given]
    problems: list[Problem] = []
    if position and by_tmax:  # one problem per Tmax key, so that a protocol locates each
        problems.extend(
            Problem(
                "a BLQ rule keyed on Tmax cannot be mixed with the rules by position "
                f"({', '.join(position)})",
                field=name,
                allowed=_BLQ_SPECIFICATION,
            )
            for name in by_tmax
        )
    elif len(by_tmax) == 1:
        missing = next(name for name in _BLQ_BY_TMAX if name not in by_tmax)
        problems.append(
            Problem(
                "the BLQ rules keyed on Tmax need both sides",
                field=missing,
                allowed=_BLQ_SPECIFICATION,
            )
        )
    return problems


def _pair(value: Any, name: str, allowed_text: str) -> tuple[float, float]:
    """`value` as (start, end) floats, or an `OptionError` naming `name` when it is not two numbers."""
    try:
        start, end = (float(x) for x in value)
    except (TypeError, ValueError):
        raise OptionError(
            Problem("not a pair of numbers", field=name, value=value, allowed=allowed_text)
        ) from None
    return start, end


__all__ = [
    "BLQ_PRESETS",
    "PHOENIX_SOURCE",
    "PKNCA_SOURCE",
    "QUALITY_FLAGS_SOURCE",
    "AucMethod",
    "BlqAction",
    "LambdaZOrder",
    "NcaOptions",
    "PersistenceRule",
]
