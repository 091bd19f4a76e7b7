"""Every dose-escalation design option, declared once (name, type, allowed values, help, designs it applies
to).

The registry `DESIGN_OPTIONS` is the single declaration used by `assemble_design` (the one place a design
and its behaviours are built), by the design classes themselves (`check_options`, so the Python API refuses
the same values), by `cartrial escalate next | table | paths | simulate` (each CLI flag and its help is
generated from it) and by the protocol's escalation section (`cartrial.protocol.EscalationSpec`: which
fields apply to which design, and the range of each). What an option allows is a `cartrial.allowed.Allowed`
(`DesignOption.rule`), so its messages read as every other option's (``offset: out of range (got 1.5);
allowed: greater than 0 and less than 1``; docs/science/decisions.md D-19.19). The idea follows the option
registries of R `escalation` 0.2.3 (selector factories) and PKNCA (`PKNCA.options`).

This module imports only the standard library (and `cartrial.allowed`, `cartrial.errors`), so the command
line can read the registry without loading numpy or scipy, and the protocol model can apply
`check_design_options`.

>>> OPTIONS["exclusion_min_n"].flag
'--exclusion-min-n'
>>> sorted(OPTIONS["eps1"].designs)
['i3+3', 'mtpi2']
>>> print(OPTIONS["target"].problem(1.5))
target: out of range (got 1.5); allowed: 0.05 to 0.6
>>> print(OPTIONS["skeleton"].problem([0.1, 0.2, 1.2]))
skeleton: out of range at position 3 (got 1.2); allowed: greater than 0 and less than 1
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cartrial.allowed import TRUE_FALSE, Allowed, choice_text, same_value
from cartrial.errors import InputError, OptionError, Problem

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
#: Longest time in days of a DLT window or between TITE-CRM cohorts (ten years): 1e308 days overflowed the
#: simulated arrival times.
MAX_DAYS = 3650

PROBABILITY = Allowed(low=0, high=1, low_exclusive=True, high_exclusive=True)
"""A probability strictly between 0 and 1: a target DLT rate, a cut-off, an interval half-width."""
TARGET = Allowed(low=0.05, high=0.6)
"""A target DLT rate (and the toxicity defining the true MTD of a simulation): 0.05 to 0.6, the range BOIN
2.7.2 refuses outside ("the target is too low / too high", get.boundary, get.oc, next); every target design
needs it inside (0, 1) with room for its intervals (BOIN's phi2 = 1.4 x target < 1, mTPI-2 / i3+3's
target +- 0.05), and 1e-320 was accepted and stopped a BOIN trial at its first DLT (decisions D-19.39)."""
DOSES = Allowed(low=1, high=MAX_DOSE_LEVELS, integer=True)
"""The number of dose levels K of a design (`MAX_DOSE_LEVELS`)."""
PATIENTS = Allowed(low=1, high=MAX_PATIENTS, integer=True)
"""A number of patients (an expansion cohort, a behaviour's patient count; `MAX_PATIENTS`)."""
DAYS = Allowed(low=0, high=MAX_DAYS, low_exclusive=True, unit="days")
"""A DLT window, or the time between TITE-CRM cohorts (`MAX_DAYS`)."""
STAGGER_DAYS = Allowed(low=0, high=MAX_DAYS, integer=True, unit="days")
"""Days between the first and the next patient of a cohort (sentinel dosing; 0 = none; `MAX_DAYS`): the
trial simulator adds them to every cohort's calendar."""
_FLAG = TRUE_FALSE
#: Patients treated at level 1 before a CRM safety stop (`safety_stop`) may stop the trial (decisions
#: D-19.479): the CRM posterior after one patient is mostly its prior (logistic model: one DLT alone gives
#: P(p_1 > 0.3) ≈ 0.92); 3, one 3+3 cohort, as BOIN extrasafe's n_1 >= 3 and the interval designs'
#: elimination.
SAFETY_STOP_MIN_N = 3


def dose_levels(n_doses: int) -> Allowed:
    """The 1-based dose levels of a design with `n_doses` levels (a start dose, a level named by a
    behaviour or a history): ``1 to 5``."""
    return Allowed(low=1, high=n_doses, integer=True)


@dataclass(frozen=True)
class DesignOption:
    """One design option.

    `name` is the engine keyword (and the protocol field unless `spec_field` says otherwise); `kind` one of
    ``float``, ``int``, ``bool``, ``choice``, ``floats`` (comma-separated on the command line); `rule` what
    the option allows (`cartrial.allowed.Allowed`: the choices, or the range with its open or closed
    bounds; for ``floats`` each value); `designs` the designs it applies to; `behaviour` marks options that
    add a behaviour wrapper rather than configure the bare design.
    """

    name: str
    kind: str
    help: str
    designs: frozenset[str] = _ALL
    rule: Allowed = dataclasses.field(kw_only=True)
    behaviour: bool = False
    spec_field: str | None = None
    default: Any = None
    off_flag: str | None = None

    @property
    def flag(self) -> str:
        """The command-line flag (``--exclusion-min-n`` for ``exclusion_min_n``)."""
        return "--" + self.name.replace("_", "-")

    @property
    def field(self) -> str:
        """The protocol's escalation-section field name."""
        return self.spec_field or self.name

    @property
    def choices(self) -> tuple[str, ...]:
        """The allowed values of a ``choice`` option."""
        return tuple(str(v) for v in self.rule.values) if self.kind == "choice" else ()

    def problem(self, value: Any, field: str | None = None) -> Problem | None:
        """None when `value` is allowed (None is: the documented default), else a `Problem` naming `field`
        (default: the option's name), the value and `rule`'s text; a ``floats`` option names the position of
        the first value outside the rule."""
        name = field or self.name
        if value is None:
            return None
        if self.kind != "floats":
            return self.rule.problem(name, value)
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            return Problem("not a list of numbers", field=name, value=value, allowed=self.rule.text())
        for position, item in enumerate(value, start=1):
            problem = self.rule.problem(name, item)
            if problem is not None:
                return dataclasses.replace(problem, message=f"{problem.message} at position {position}")
        return None


def check_options(
    values: Mapping[str, Any],
    *,
    fields: Mapping[str, str] | None = None,
    optional: Collection[str] = (),
) -> None:
    """Refuse every value of `values` (option name → value) outside its registry declaration with one
    `OptionError` listing each; `fields` names an option as the caller calls it (the Python API's ``scheme``
    for ``tite_scheme``). None is refused ("a value is required") unless the option is in `optional` (a
    design argument whose None means a derived default, BOIN's ``phi1``): the design classes would otherwise
    fail on it with a TypeError, or carry it silently.

    >>> check_options({"target": 0.3, "cohort_size": 0})
    Traceback (most recent call last):
    ...
    cartrial.errors.OptionError: cohort_size: out of range (got 0); allowed: 1 to 100
    >>> check_options({"prior_var": None})
    Traceback (most recent call last):
    ...
    cartrial.errors.OptionError: prior_var: a value is required; allowed: 1e-06 to 100
    """
    names = fields or {}
    problems = [
        problem
        for name, value in values.items()
        if (
            problem := OPTIONS[name].rule.problem(names.get(name, name), None)
            if value is None and name not in optional
            else OPTIONS[name].problem(value, names.get(name))
        )
        is not None
    ]
    if problems:
        raise OptionError(problems)


def _probability(name: str, help_text: str, designs: frozenset[str], **extra: Any) -> DesignOption:
    return DesignOption(name, "float", help_text, designs, rule=PROBABILITY, **extra)


def _choice(
    name: str, help_text: str, choices: tuple[str, ...], designs: frozenset[str], **extra: Any
) -> DesignOption:
    return DesignOption(name, "choice", help_text, designs, rule=Allowed(values=choices), **extra)


def _flag(name: str, help_text: str, designs: frozenset[str] = _ALL, **extra: Any) -> DesignOption:
    return DesignOption(name, "bool", help_text, designs, rule=_FLAG, **extra)


DESIGN_OPTIONS: tuple[DesignOption, ...] = (
    _choice(
        "variant",
        "3+3 variant: deescalation (Korn 1994, default) | escalation_only (Storer 1989).",
        ("escalation_only", "deescalation"),
        frozenset({"3+3"}),
    ),
    _choice(
        "incomplete_cohort",
        "3+3 with 2 DLTs before the cohort of 3 is complete: decide (at once, default) | complete (treat "
        "the rest of the cohort first, as R escalation 0.2.3 three_plus_three).",
        ("decide", "complete"),
        frozenset({"3+3"}),
    ),
    _flag(
        "require_six_at_top",
        "3+3: expand the top level to 6 patients before declaring it the MTD.",
        frozenset({"3+3"}),
    ),
    DesignOption("target", "float", "Target DLT probability (not 3+3).", _ALL - {"3+3"}, rule=TARGET),
    DesignOption(
        "start_dose",
        "int",
        "1-based dose level of the first cohort (default 1).",
        rule=Allowed(low=1, high=MAX_DOSE_LEVELS, integer=True),
        spec_field="start_level",
    ),
    DesignOption(
        "cohort_size",
        "int",
        "Patients per cohort (3+3: 3; CRM default 1; others 3).",
        rule=Allowed(low=1, high=100, integer=True),
    ),
    DesignOption(
        "skeleton",
        "floats",
        "CRM skeleton, comma-separated, strictly increasing, one per dose.",
        _CRM,
        rule=PROBABILITY,
    ),
    # below 1e-6 the prior fixes beta at 0 (the skeleton itself) and grid**2 / var overflows near 0; above 100
    # the fixed integration grid (±12 prior sd) is too coarse for any posterior (1e6 gave every estimate
    # 0.000, 1e308 NaN intervals with exit 0)
    DesignOption(
        "prior_var",
        "float",
        "CRM prior variance of beta (default 1.34, dfcrm).",
        _CRM,
        rule=Allowed(low=1e-6, high=100),
    ),
    _choice("model", "CRM model: empiric (default) | logistic.", ("empiric", "logistic"), _CRM),
    _choice("method", "CRM estimation: bayes (default) | mle.", ("bayes", "mle"), _CRM),
    _choice(
        "ptox",
        "CRM toxicity estimate: plugin p(beta_hat) (default, dfcrm) | posterior_mean.",
        ("plugin", "posterior_mean"),
        _CRM,
    ),
    _choice(
        "integration",
        "CRM posterior integration: grid (fixed 1001-point rule, default) | quad (scipy adaptive "
        "quadrature, slower reference).",
        ("grid", "quad"),
        _CRM,
    ),
    _probability("conf_level", "CRM toxicity interval level (default 0.90, dfcrm).", _CRM),
    _probability(
        "safety_stop",
        "CRM safety stop: stop with no dose recommended when P(p_1 > target) > this under the posterior "
        "(Zohar & Chevret 2001; e.g. 0.9). Not given: none, as dfcrm crm (a too-toxic level 1 is kept and "
        "selected; the operating characteristics say so).",
        _CRM,
        behaviour=True,
    ),
    DesignOption(
        "safety_stop_min_n",
        "int",
        f"CRM safety stop: patients treated at level 1 before it may stop the trial (default "
        f"{SAFETY_STOP_MIN_N}; bcrm stop$nmin counts the whole trial instead). Needs --safety-stop.",
        _CRM,
        rule=Allowed(low=1, high=MAX_PATIENTS, integer=True),
        behaviour=True,
    ),
    DesignOption(
        "intercept",
        "float",
        "CRM logistic model intercept a0 (default 3, dfcrm).",
        _CRM,
        rule=Allowed(low=-20, high=20),
    ),
    _choice(
        "tite_scheme",
        "TITE-CRM weights: linear (default, dfcrm) | adaptive.",
        ("linear", "adaptive"),
        frozenset({"tite-crm"}),
    ),
    DesignOption(
        "window",
        "float",
        "TITE-CRM: DLT observation window, days.",
        frozenset({"tite-crm"}),
        rule=DAYS,
        spec_field="dlt_window_days",
    ),
    _probability("cutoff_eliminate", "Elimination cut-off for P(p > target) (default 0.95).", _ELIMINATING),
    DesignOption(
        "exclusion_min_n",
        "int",
        "mTPI-2 / i3+3: patients needed at a dose before it can be eliminated (default 3; 0 = R "
        "escalation 0.2.3 mtpi2_selector).",
        _EQUIVALENCE,
        rule=Allowed(low=0, high=MAX_PATIENTS, integer=True),
    ),
    _probability("phi1", "BOIN sub-therapeutic rate (default 0.6 x target).", frozenset({"boin"})),
    _probability("phi2", "BOIN overly toxic rate (default 1.4 x target).", frozenset({"boin"})),
    _flag("extrasafe", "BOIN extrasafe: stop early when level 1 is overly toxic.", frozenset({"boin"})),
    DesignOption(
        "offset",
        "float",
        "BOIN extrasafe offset subtracted from the cut-off (default 0.05; BOIN 2.7.2 refuses 0.5 or more).",
        frozenset({"boin"}),
        rule=Allowed(low=0, high=0.5, low_exclusive=True, high_exclusive=True),
    ),
    _choice(
        "deescalate_inequality",
        "BOIN de-escalation: strict y/n > lambda_d (default, as coded) | non_strict (as documented).",
        ("strict", "non_strict"),
        frozenset({"boin"}),
    ),
    _flag(
        "bound_mtd",
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
        rule=Allowed(low=1, high=MAX_PATIENTS, integer=True),
        behaviour=True,
    ),
    DesignOption(
        "stop_n_at_dose",
        "int",
        "Stop when this many patients are at the recommended dose.",
        rule=Allowed(low=1, high=MAX_PATIENTS, integer=True),
        behaviour=True,
    ),
    _flag(
        "no_skip",
        "Dose skipping: --no-skip (default, given or not: the protocol's no_skip: true) never escalates "
        "more than one level above the current dose (R escalation dont_skip_doses; see --skip-rule) and "
        "keeps the final MTD within the admissible levels too (unlike dfcrm crm()$mtd) | --allow-skip lets "
        "a model-based design (crm, tite-crm) recommend any level (dfcrm crm, unrestricted) and selects the "
        "final MTD over every level as dfcrm crm()$mtd, R escalation and BOIN select.mtd do. 3+3 and the "
        "interval designs escalate one level at a time by their own rule.",
        behaviour=True,
        default=True,
        off_flag="--allow-skip",
    ),
    _choice(
        "skip_rule",
        "With --no-skip, the level escalation is capped above: current (the dose of the latest cohort, "
        "as R; default) | highest_tried (the highest level tried so far; cartrial 0.1.0 rule).",
        ("current", "highest_tried"),
        _ALL,
        behaviour=True,
    ),
    _flag(
        "coherent",
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


def not_for_design(field: str, design: str, value: Any, designs: Collection[str]) -> Problem:
    """The one message of an option given for a design it does not apply to (the command line, the Python
    API and the protocol's escalation section), naming the designs it applies to.

    >>> print(not_for_design("phi1", "crm", 0.2, {"boin"}))
    phi1: does not apply to the crm design (got 0.2); allowed: only with design boin
    """
    applies = choice_text(d for d in DESIGNS if d in designs)
    return Problem(
        f"does not apply to the {design} design",
        field=field,
        value=value,
        allowed=f"only with design {applies}",
    )


#: Tolerance of BOIN's 0.1 x target distance: the limit itself is allowed (0.3 - 0.27 = 0.02999...97 in
#: binary; decisions D-19.1115), as the interval engine's other comparisons of a rate with a boundary.
_BOIN_TOL = 1e-12


def _limit_text(limit: float, accepted: Callable[[float], bool]) -> str:
    """`limit` printed with the fewest significant digits (6 to 17) whose printed value is itself accepted:
    ``0.27``, not ``0.300001`` for a limit of 0.30000051 (D-19.1116)."""
    for digits in range(6, 18):
        text = f"{limit:.{digits}g}"
        if accepted(float(text)):
            return text
    return repr(limit)


def boin_option_problems(
    target: float,
    phi1: float | None = None,
    phi2: float | None = None,
    *,
    extrasafe: bool = False,
    offset: float | None = None,
    cutoff_eliminate: float | None = None,
) -> list[Problem]:
    """Every problem of BOIN's rules between options (empty when none), one per option, each with one allowed
    text: the one declaration of these rules, made by `check_design_options` (the command line, the
    protocol's escalation section) and by `cartrial.escalation.Boin` / `boin_boundaries` (decisions
    D-19.1115, D-19.1116).

    - `phi1` (default 0.6 x target) is greater than 0 and at most 0.9 x target, `phi2` (default 1.4 x
      target) at least 1.1 x target and less than 1: R `BOIN` 2.7.2 `get.boundary` / `get.oc` refuse
      ``target - p.saf < 0.1 * target`` and ``p.tox - target < 0.1 * target``; the limit itself is allowed
      (within 1e-12) and printed so that the printed value is allowed.
    - with `extrasafe`, `offset` (default 0.05) is less than `cutoff_eliminate` (default 0.95): the level-1
      stop fires when P(p_1 > target) > cutoff_eliminate - offset, a threshold that must be > 0 (D-19.1113).

    `target` is a valid target (`TARGET`); None for an option means its default.

    >>> [str(p) for p in boin_option_problems(0.3, phi1=0.29, phi2=0.31)]  # doctest: +NORMALIZE_WHITESPACE
    ['phi1: BOIN needs phi1 at least 0.1 x target below the target (BOIN 2.7.2) (got 0.29); allowed: greater
    than 0 and at most 0.27 (0.9 x target)', 'phi2: BOIN needs phi2 at least 0.1 x target above the target
    (BOIN 2.7.2) (got 0.31); allowed: at least 0.33 (1.1 x target) and less than 1']
    >>> boin_option_problems(0.3, phi1=0.27, phi2=0.33, extrasafe=True, offset=0.49)
    []
    """
    problems: list[Problem] = []

    def phi1_ok(value: float) -> bool:
        return value > 0 and target - value >= 0.1 * target - _BOIN_TOL

    def phi2_ok(value: float) -> bool:
        return value < 1 and value - target >= 0.1 * target - _BOIN_TOL

    for name, value, ok, side, allowed in (
        ("phi1", phi1, phi1_ok, "below",
         f"greater than 0 and at most {_limit_text(0.9 * target, phi1_ok)} (0.9 x target)"),
        ("phi2", phi2, phi2_ok, "above",
         f"at least {_limit_text(1.1 * target, phi2_ok)} (1.1 x target) and less than 1"),
    ):  # fmt: skip
        if value is not None and not ok(value):
            problems.append(
                Problem(
                    f"BOIN needs {name} at least 0.1 x target {side} the target (BOIN 2.7.2)",
                    field=name,
                    value=value,
                    allowed=allowed,
                )
            )
    # the defaults of `Boin` (offset 0.05, cut-off 0.95)
    cutoff = 0.95 if cutoff_eliminate is None else cutoff_eliminate
    if extrasafe and not cutoff - (0.05 if offset is None else offset) > 0:
        problems.append(
            Problem(
                "the extrasafe threshold cutoff_eliminate - offset must be greater than 0",
                field="offset",
                value=offset,
                allowed=f"greater than 0 and less than cutoff_eliminate ({cutoff!r})",
            )
        )
    return problems


def check_design_options(
    design: str, n_doses: int | None, options: Mapping[str, Any], *, strict: bool = True
) -> dict[str, Any]:
    """Validated option values for `design` (None / False flags dropped): the one check of the design
    options, made by `cartrial.escalation.assemble_design` before a design is built and by the protocol's
    escalation section (`cartrial.protocol.EscalationSpec`) when a protocol is loaded.

    Refuses unknown option names, values outside the option's declaration (`DesignOption.problem`), the
    rules between options (skip_rule only with no_skip; BOIN's `boin_option_problems`), and (with
    `strict`) options that do not apply to `design`, naming the option; with ``strict=False`` such options
    are dropped (a protocol spec carries every field with its default). `n_doses` None skips the check of
    the number of dose levels (the escalation section alone does not know it).

    >>> check_design_options("boin", 5, {"target": 0.3, "phi1": 0.2, "skeleton": None})
    {'target': 0.3, 'phi1': 0.2}
    >>> check_design_options("crm", 5, {"exclusion_min_n": 0})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cartrial.errors.OptionError: exclusion_min_n: does not apply to the crm design (got 0); allowed: only ...
    """
    # exact, as every choice: "BOIN" was taken for boin here while the commands compared the name as typed
    # (`--design TITE-CRM --followup ...` was refused as "tite-crm only"; decisions D-19.38)
    name = str(design)
    problems: list[Problem] = []
    if not any(same_value(name, known) for known in DESIGNS):
        raise InputError(
            Problem("unknown design", field="design", value=design, allowed=choice_text(DESIGNS))
        )
    if n_doses is not None and (wrong_doses := DOSES.problem("doses", n_doses)) is not None:
        problems.append(wrong_doses)
    chosen: dict[str, Any] = {}
    for key, value in options.items():
        option = OPTIONS.get(key)
        if option is None:
            problems.append(
                Problem("unknown design option", field=key, value=value, allowed=choice_text(sorted(OPTIONS)))
            )
            continue
        # a False flag counts as given only where the option's default is True (``no_skip=False`` allows
        # skipping; decisions D-19.390)
        if not _given(value) and not (value is False and option.default is True):
            continue
        if name not in option.designs:
            if strict:
                problems.append(not_for_design(key, name, value, option.designs))
            continue
        wrong = option.problem(value, key)
        if wrong is not None:
            problems.append(wrong)
            continue
        chosen[key] = value
    if _given(chosen.get("skip_rule")) and not chosen.get("no_skip", OPTIONS["no_skip"].default):
        problems.append(
            Problem(
                "skip_rule applies only when dose skipping is forbidden (no_skip, the default)",
                field="skip_rule",
                value=chosen["skip_rule"],
                allowed="no_skip true (the default; not with no_skip: false or --allow-skip)",
            )
        )
    if name == "boin" and "target" in chosen:
        # BOIN's rules between options, on the values allowed by their declarations (a refused phi1 or
        # offset is reported once, by its declaration)
        refused = {problem.field for problem in problems}
        problems += boin_option_problems(
            chosen["target"],
            chosen.get("phi1"),
            chosen.get("phi2"),
            extrasafe=bool(chosen.get("extrasafe")) and not refused & {"offset", "cutoff_eliminate"},
            offset=chosen.get("offset"),
            cutoff_eliminate=chosen.get("cutoff_eliminate"),
        )
    if problems:
        raise OptionError(problems)
    return chosen


def spec_options(spec: Any) -> dict[str, Any]:
    """The design options a protocol escalation section (or any object with its field names) carries.

    >>> from types import SimpleNamespace
    >>> spec_options(SimpleNamespace(design="boin", target=0.3, start_level=2))["start_dose"]
    2
    """
    return {option.name: _value(spec, option.field) for option in OPTIONS.values()}


__all__ = [
    "DAYS",
    "DESIGNS",
    "DESIGN_OPTIONS",
    "DOSES",
    "MAX_DAYS",
    "MAX_DOSE_LEVELS",
    "MAX_PATIENTS",
    "OPTIONS",
    "PATIENTS",
    "PROBABILITY",
    "SAFETY_STOP_MIN_N",
    "STAGGER_DAYS",
    "TARGET",
    "DesignOption",
    "boin_option_problems",
    "check_design_options",
    "check_options",
    "dose_levels",
    "not_for_design",
    "spec_options",
]
