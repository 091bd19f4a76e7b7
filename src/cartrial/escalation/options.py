"""Every dose-escalation design option, declared once (name, type, range, help, designs it applies to).

The registry `DESIGN_OPTIONS` is the single declaration used by `assemble_design` (the one place a design
and its behaviours are built), by `cartrial escalate next | table | paths | simulate` (each CLI flag is
generated from it) and by the protocol's escalation section (`cartrial.protocol.EscalationSpec`: which
fields apply to which design). The idea follows the option registries of R `escalation` 0.2.3 (selector
factories) and PKNCA (`PKNCA.options`).

This module imports only the standard library (and `cartrial.errors`), so the command line can read the
registry without loading numpy or scipy, and the protocol model can apply `check_design_options`.

>>> OPTIONS["exclusion_min_n"].flag
'--exclusion-min-n'
>>> sorted(OPTIONS["eps1"].designs)
['i3+3', 'mtpi2']
>>> OPTIONS["target"].check(1.5)
'outside the allowed range 0 < value < 1'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cartrial.errors import InputError, Problem

DESIGNS: tuple[str, ...] = ("3+3", "boin", "mtpi2", "i3+3", "crm", "tite-crm")

_ALL = frozenset(DESIGNS)
_CRM = frozenset({"crm", "tite-crm"})
_ELIMINATING = frozenset({"boin", "mtpi2", "i3+3"})
_EQUIVALENCE = frozenset({"mtpi2", "i3+3"})

#: Largest number of dose levels: real escalation trials have 2-10; beyond 50 the per-dose tables, the
#: isotonic regression and the exact 3+3 enumeration grow without bound (docs/science/decisions.md D-19.5).
MAX_DOSE_LEVELS = 50
#: Largest total sample size of a design (`max_n`, `stop_n_at_dose`): far above any phase I trial, small
#: enough that per-patient arrays stay bounded.
MAX_PATIENTS = 10_000


@dataclass(frozen=True)
class DesignOption:
    """One design option.

    `name` is the engine keyword (and the protocol field unless `spec_field` says otherwise); `kind` one of
    ``float``, ``int``, ``bool``, ``choice``, ``floats`` (comma-separated on the command line); `low`/`high`
    the inclusive (or, with `open_low`/`open_high`, exclusive) range; `designs` the designs it applies to;
    `behaviour` marks options that add a behaviour wrapper rather than configure the bare design.
    """

    name: str
    kind: str
    help: str
    designs: frozenset[str] = _ALL
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    choices: tuple[str, ...] = ()
    behaviour: bool = False
    spec_field: str | None = None
    default: Any = None

    @property
    def flag(self) -> str:
        """The command-line flag (``--exclusion-min-n`` for ``exclusion_min_n``)."""
        return "--" + self.name.replace("_", "-")

    @property
    def field(self) -> str:
        """The protocol's escalation-section field name."""
        return self.spec_field or self.name

    def allowed(self) -> str:
        """The allowed values in words (for error messages and help)."""
        if self.kind == "choice":
            return " | ".join(self.choices)
        if self.kind == "bool":
            return "true | false"
        if self.low is None and self.high is None:
            return "any number" if self.kind != "int" else "any integer"
        low = "" if self.low is None else f"{_number(self.low)} {'<' if self.open_low else '≤'} "
        high = "" if self.high is None else f" {'<' if self.open_high else '≤'} {_number(self.high)}"
        return f"{low}value{high}"

    def check(self, value: Any) -> str | None:
        """None if `value` is allowed, else what is wrong (one short sentence)."""
        if value is None:
            return None
        if self.kind == "choice":
            return None if str(value) in self.choices else f"unknown value (allowed: {self.allowed()})"
        if self.kind == "bool":
            return None if isinstance(value, bool) else "not true or false"
        values = list(value) if self.kind == "floats" else [value]
        for item in values:
            if isinstance(item, bool) or not isinstance(item, int | float):
                return "not a number"
            if self.kind == "int" and not float(item).is_integer():
                return "not an integer"
            if not math.isfinite(float(item)):
                return "not a finite number"
            below = self.low is not None and (item <= self.low if self.open_low else item < self.low)
            above = self.high is not None and (item >= self.high if self.open_high else item > self.high)
            if below or above:
                return f"outside the allowed range {self.allowed()}"
        return None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _probability(name: str, help_text: str, designs: frozenset[str], **extra: Any) -> DesignOption:
    return DesignOption(
        name, "float", help_text, designs, low=0, high=1, open_low=True, open_high=True, **extra
    )


DESIGN_OPTIONS: tuple[DesignOption, ...] = (
    DesignOption(
        "variant",
        "choice",
        "3+3 variant: deescalation (Korn 1994, default) | escalation_only (Storer 1989).",
        frozenset({"3+3"}),
        choices=("escalation_only", "deescalation"),
    ),
    DesignOption(
        "incomplete_cohort",
        "choice",
        "3+3 with 2 DLTs before the cohort of 3 is complete: decide (at once, default) | complete (treat "
        "the rest of the cohort first, as R escalation 0.2.3 three_plus_three).",
        frozenset({"3+3"}),
        choices=("decide", "complete"),
    ),
    DesignOption(
        "require_six_at_top",
        "bool",
        "3+3: expand the top level to 6 patients before declaring it the MTD.",
        frozenset({"3+3"}),
    ),
    _probability("target", "Target DLT probability in (0, 1) (not 3+3).", _ALL - {"3+3"}),
    DesignOption(
        "start_dose",
        "int",
        "1-based dose level of the first cohort (default 1).",
        low=1,
        high=MAX_DOSE_LEVELS,
        spec_field="start_level",
    ),
    DesignOption(
        "cohort_size", "int", "Patients per cohort (3+3: 3; CRM default 1; others 3).", low=1, high=100
    ),
    DesignOption(
        "skeleton",
        "floats",
        "CRM skeleton, comma-separated, strictly increasing in (0, 1), one per dose.",
        _CRM,
        low=0,
        high=1,
        open_low=True,
        open_high=True,
    ),
    DesignOption(
        "prior_var", "float", "CRM prior variance of beta (default 1.34, dfcrm).", _CRM, low=1e-6, high=100
    ),
    DesignOption(
        "model", "choice", "CRM model: empiric (default) | logistic.", _CRM, choices=("empiric", "logistic")
    ),
    DesignOption(
        "method", "choice", "CRM estimation: bayes (default) | mle.", _CRM, choices=("bayes", "mle")
    ),
    DesignOption(
        "ptox",
        "choice",
        "CRM toxicity estimate: plugin p(beta_hat) (default, dfcrm) | posterior_mean.",
        _CRM,
        choices=("plugin", "posterior_mean"),
    ),
    DesignOption(
        "integration",
        "choice",
        "CRM posterior integration: grid (fixed 1001-point rule, default) | quad (scipy adaptive "
        "quadrature, slower reference).",
        _CRM,
        choices=("grid", "quad"),
    ),
    _probability("conf_level", "CRM toxicity interval level (default 0.90, dfcrm).", _CRM),
    DesignOption(
        "intercept",
        "float",
        "CRM logistic model intercept a0 (default 3, dfcrm).",
        _CRM,
        low=-20,
        high=20,
    ),
    DesignOption(
        "tite_scheme",
        "choice",
        "TITE-CRM weights: linear (default, dfcrm) | adaptive.",
        frozenset({"tite-crm"}),
        choices=("linear", "adaptive"),
    ),
    DesignOption(
        "window",
        "float",
        "TITE-CRM: DLT observation window, days.",
        frozenset({"tite-crm"}),
        low=0,
        high=3650,
        open_low=True,
        spec_field="dlt_window_days",
    ),
    _probability("cutoff_eliminate", "Elimination cut-off for P(p > target) (default 0.95).", _ELIMINATING),
    DesignOption(
        "exclusion_min_n",
        "int",
        "mTPI-2 / i3+3: patients needed at a dose before it can be eliminated (default 3; 0 = R "
        "escalation 0.2.3 mtpi2_selector).",
        _EQUIVALENCE,
        low=0,
        high=MAX_PATIENTS,
    ),
    _probability("phi1", "BOIN sub-therapeutic rate (default 0.6 x target).", frozenset({"boin"})),
    _probability("phi2", "BOIN overly toxic rate (default 1.4 x target).", frozenset({"boin"})),
    DesignOption(
        "extrasafe", "bool", "BOIN extrasafe: stop early when level 1 is overly toxic.", frozenset({"boin"})
    ),
    _probability(
        "offset", "BOIN extrasafe offset subtracted from the cut-off (default 0.05).", frozenset({"boin"})
    ),
    DesignOption(
        "deescalate_inequality",
        "choice",
        "BOIN de-escalation: strict y/n > lambda_d (default, as coded) | non_strict (as documented).",
        frozenset({"boin"}),
        choices=("strict", "non_strict"),
    ),
    DesignOption(
        "bound_mtd",
        "bool",
        "BOIN boundMTD: the MTD's isotonic estimate stays below lambda_d.",
        frozenset({"boin"}),
    ),
    _probability(
        "eps1", "mTPI-2 / i3+3 equivalence interval half-width below the target (0.05).", _EQUIVALENCE
    ),
    _probability(
        "eps2", "mTPI-2 / i3+3 equivalence interval half-width above the target (0.05).", _EQUIVALENCE
    ),
    DesignOption(
        "max_n",
        "int",
        "Stop when this many patients are treated.",
        low=1,
        high=MAX_PATIENTS,
        behaviour=True,
    ),
    DesignOption(
        "stop_n_at_dose",
        "int",
        "Stop when this many patients are at the recommended dose.",
        low=1,
        high=MAX_PATIENTS,
        behaviour=True,
    ),
    DesignOption(
        "no_skip",
        "bool",
        "Never escalate more than one level above the current dose (R escalation dont_skip_doses, dfcrm "
        "crmsim restrict = TRUE); see --skip-rule.",
        behaviour=True,
    ),
    DesignOption(
        "skip_rule",
        "choice",
        "With --no-skip, the level escalation is capped above: current (the dose of the latest cohort, "
        "as R; default) | highest_tried (the highest level tried so far; cartrial 0.1.0 rule).",
        choices=("current", "highest_tried"),
        behaviour=True,
    ),
    DesignOption(
        "coherent",
        "bool",
        "No escalation right after a cohort with a DLT (dfcrm crmsim coherence).",
        behaviour=True,
    ),
)

OPTIONS: Mapping[str, DesignOption] = {option.name: option for option in DESIGN_OPTIONS}


def _value(spec: Any, name: str, default: Any = None) -> Any:
    value = getattr(spec, name, default)
    return getattr(value, "value", value)


def _given(value: Any) -> bool:
    """An option counts as given when it is not None and not a False flag."""
    return value is not None and value is not False


def check_design_options(
    design: str, n_doses: int | None, options: Mapping[str, Any], *, strict: bool = True
) -> dict[str, Any]:
    """Validated option values for `design` (None / False flags dropped): the one check of the design
    options, made by `cartrial.escalation.assemble_design` before a design is built and by the protocol's
    escalation section (`cartrial.protocol.EscalationSpec`) when a protocol is loaded.

    Refuses unknown option names, values outside the declared range, and (with `strict`) options that do not
    apply to `design`, naming the option; with ``strict=False`` such options are dropped (a protocol spec
    carries every field with its default). `n_doses` None skips the check of the number of dose levels (the
    escalation section alone does not know it).

    >>> check_design_options("boin", 5, {"target": 0.3, "phi1": 0.2, "skeleton": None})
    {'target': 0.3, 'phi1': 0.2}
    >>> check_design_options("crm", 5, {"exclusion_min_n": 0})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cartrial.errors.InputError: exclusion_min_n: exclusion_min_n does not apply to the crm design ...
    """
    name = str(design).lower()
    problems: list[Problem] = []
    if name not in DESIGNS:
        raise InputError(Problem("unknown design", field="design", value=design, allowed=", ".join(DESIGNS)))
    if n_doses is not None and (
        isinstance(n_doses, bool) or not isinstance(n_doses, int) or not 1 <= n_doses <= MAX_DOSE_LEVELS
    ):
        problems.append(
            Problem(
                f"the number of dose levels must be 1..{MAX_DOSE_LEVELS} (a design over more levels has "
                "tables and enumerations that grow without bound)",
                field="doses",
                value=n_doses,
                allowed=f"1..{MAX_DOSE_LEVELS}",
            )
        )
    chosen: dict[str, Any] = {}
    for key, value in options.items():
        option = OPTIONS.get(key)
        if option is None:
            problems.append(
                Problem("unknown design option", field=key, value=value, allowed=", ".join(sorted(OPTIONS)))
            )
            continue
        if not _given(value):
            continue
        if name not in option.designs:
            if strict:
                problems.append(
                    Problem(
                        f"{key} does not apply to the {name} design (it would be ignored)",
                        field=key,
                        value=value,
                        allowed=", ".join(sorted(option.designs)),
                    )
                )
            continue
        wrong = option.check(value)
        if wrong is not None:
            problems.append(Problem(wrong, field=key, value=value, allowed=option.allowed()))
            continue
        chosen[key] = value
    if _given(chosen.get("skip_rule")) and not chosen.get("no_skip"):
        problems.append(
            Problem(
                "skip_rule applies only with no_skip",
                field="skip_rule",
                value=chosen["skip_rule"],
                allowed="with no_skip",
            )
        )
    if problems:
        raise InputError(problems)
    return chosen


def spec_options(spec: Any) -> dict[str, Any]:
    """The design options a protocol escalation section (or any object with its field names) carries.

    >>> from types import SimpleNamespace
    >>> spec_options(SimpleNamespace(design="boin", target=0.3, start_level=2))["start_dose"]
    2
    """
    return {option.name: _value(spec, option.field) for option in OPTIONS.values()}


__all__ = [
    "DESIGNS",
    "DESIGN_OPTIONS",
    "MAX_DOSE_LEVELS",
    "MAX_PATIENTS",
    "OPTIONS",
    "DesignOption",
    "check_design_options",
    "spec_options",
]
