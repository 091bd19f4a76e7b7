"""What an option accepts, declared once: the engines check it, the messages and the help text show it.

An option dataclass of an engine declares each field's allowed values in the field's metadata
(``field(default=1, metadata=allowed(values=(0, 1)))``) and calls `check_fields` in ``__post_init__``; a bad
value raises `OptionError` with one `Problem` per bad field, each naming the field, the value given and what
is allowed. The engine knows only its own field names: the command line renames a field to the option the
user typed (``post_masking_grade`` → ``--post-masking-grade``) in one table per command module, and a
protocol reader to its YAML key (`OptionError.renamed`).

A choice is exact (`same_value`): ``BOIN`` is not ``boin`` and ``Day`` is not ``day``, as the command
line's own choices (typer/click ``Choice``, case-sensitive), the protocol's YAML keys and the documented
commands spell them; every option with a set of values, engine or command line, compares through it
(docs/science/decisions.md D-19.38).

The random seed has one range for every command and engine (`SEED`, `check_seed`; docs/science/decisions.md
D-19.19).

Standard library only, so that the command line can import it at start-up.

>>> allowed(values=(0, 1))["allowed"].text()
'0 | 1'
>>> print(Allowed(low=40, high=140, unit="mmHg").problem("sbp_threshold_mmhg", 500.0))
sbp_threshold_mmhg: out of range (got 500.0); allowed: 40 to 140 mmHg

A bound may be exclusive (`low_exclusive`, `high_exclusive`); the text then says so in words, never
"0 to 1", which reads as inclusive:

>>> probability = Allowed(low=0, high=1, low_exclusive=True, high_exclusive=True)
>>> probability.text()
'greater than 0 and less than 1'
>>> print(probability.problem("target", 1))
target: out of range (got 1); allowed: greater than 0 and less than 1
>>> Allowed(low=0, high=3650, low_exclusive=True, unit="days").text()
'greater than 0 and at most 3650 days'
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from cartrial.errors import InputError, OptionError, Problem

METADATA_KEY = "allowed"
"""Key of the `Allowed` declaration in a dataclass field's metadata."""

E = TypeVar("E", bound=Enum)


def _number(value: float) -> str:
    """A bound as written in a message: 40, 0.5, 1e-06 (never 40.0 for a whole number)."""
    if isinstance(value, bool):
        return str(value)
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class Allowed:
    """The values one option accepts: a set of `values`, a numeric range `low`-`high` (either end may be
    open-ended: None; each bound inclusive unless `low_exclusive` / `high_exclusive`), or both (a named
    value or a number in the range); `integer` requires a whole number; `optional` also accepts None
    ("none"); `unit` follows the range in the text; `label` replaces the generated text (e.g.
    ``0 to 2^63-1``)."""

    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    integer: bool = False
    optional: bool = False
    unit: str = ""
    label: str = ""
    low_exclusive: bool = False
    high_exclusive: bool = False

    def __post_init__(self) -> None:
        if (self.low_exclusive and self.low is None) or (self.high_exclusive and self.high is None):
            raise ValueError("an exclusive bound needs the bound (low / high)")

    @property
    def has_range(self) -> bool:
        return self.low is not None or self.high is not None or (self.integer and not self.values)

    def text(self) -> str:
        """The allowed values in words: ``0 | 1``, ``40 to 140 mmHg``, ``1 to 100 days or none``."""
        if self.label:
            return self.label
        parts: list[str] = []
        if self.values:
            parts.append(" | ".join(str(v.value if isinstance(v, Enum) else v) for v in self.values))
        if self.has_range:
            what = "a whole number" if self.integer else "a number"
            lower = upper = ""
            if self.low is not None:
                lower = f"{'greater than' if self.low_exclusive else 'at least'} {_number(self.low)}"
            if self.high is not None:
                upper = f"{'less than' if self.high_exclusive else 'at most'} {_number(self.high)}"
            if self.low is not None and self.high is not None:
                exclusive = self.low_exclusive or self.high_exclusive
                span = f"{lower} and {upper}" if exclusive else f"{_number(self.low)} to {_number(self.high)}"
            elif self.low is not None:
                span = f"{what} {lower}" if self.low_exclusive else f"{what} ≥ {_number(self.low)}"
            elif self.high is not None:
                span = f"{what} {upper}" if self.high_exclusive else f"{what} ≤ {_number(self.high)}"
            else:
                span = what
            parts.append(f"{span} {self.unit}".rstrip())
        if self.optional:
            parts.append("none")
        return " or ".join(parts)

    def problem(self, field: str, value: Any) -> Problem | None:
        """None when `value` is allowed, else a `Problem` naming `field`, the value and `text()`."""

        def bad(message: str) -> Problem:
            return Problem(message, field=field, value=value, allowed=self.text())

        if value is None:
            return None if self.optional else bad("a value is required")
        if any(same_value(value, v) for v in self.values):
            return None
        if not self.has_range:
            return bad("not an allowed value")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return bad("not an allowed value" if self.values else "not a number")
        if not math.isfinite(float(value)):
            return bad("not a finite number")
        if self.integer and not isinstance(value, numbers.Integral):
            return bad("not a whole number")
        # a whole number is compared exactly (a seed reaches 2^63 − 1, beyond a float's 53-bit precision)
        number = int(value) if isinstance(value, numbers.Integral) else float(value)
        too_low = self.low is not None and (number <= self.low if self.low_exclusive else number < self.low)
        too_high = self.high is not None and (
            number >= self.high if self.high_exclusive else number > self.high
        )
        return bad("out of range") if too_low or too_high else None

    def check(self, field: str, value: Any) -> None:
        """Refuse `value` with an `OptionError` naming `field` unless it is allowed (`problem`)."""
        problem = self.problem(field, value)
        if problem is not None:
            raise OptionError(problem)


TRUE_FALSE = Allowed(values=(True, False), label="true | false")
"""A true/false option: only a real boolean (``"no"``, ``"yes"``, 1 and 0 are refused, never read for their
truth; docs/science/decisions.md D-19.21)."""


def choice_text(values: Any) -> str:
    """The words of a set of allowed values, as every message writes them: ``boin | crm``.

    >>> choice_text(["3+3", "boin"])
    '3+3 | boin'
    """
    return Allowed(values=tuple(values)).text()


def same_value(value: Any, allowed_value: Any) -> bool:
    """`value` is `allowed_value` (``0.4`` is ``0.40`` and ``1`` is ``1.0``, but True is not 1 and "1" is not
    1; an enum member is its value)."""
    if isinstance(allowed_value, Enum):
        allowed_value = allowed_value.value
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool) or isinstance(allowed_value, bool):
        return value is allowed_value
    if isinstance(allowed_value, str) or isinstance(value, str):
        return isinstance(value, str) and isinstance(allowed_value, str) and value == allowed_value
    return bool(value == allowed_value)


def allowed(**declaration: Any) -> dict[str, Allowed]:
    """Dataclass field metadata declaring the field's allowed values (the arguments of `Allowed`)."""
    return {METADATA_KEY: Allowed(**declaration)}


def declared(options: Any) -> dict[str, Allowed]:
    """The `Allowed` declaration of every field of the dataclass (instance or class) `options` that has one.

    >>> from dataclasses import dataclass, field
    >>> @dataclass
    ... class Example:
    ...     grade: int = field(default=1, metadata=allowed(values=(0, 1)))
    >>> declared(Example)["grade"].text()
    '0 | 1'
    """
    return {
        f.name: f.metadata[METADATA_KEY] for f in dataclasses.fields(options) if METADATA_KEY in f.metadata
    }


def check_fields(options: Any) -> None:
    """Check every declared field of the dataclass instance `options`; `OptionError` lists each bad one."""
    problems = [
        problem
        for name, rule in declared(options).items()
        if (problem := rule.problem(name, getattr(options, name))) is not None
    ]
    if problems:
        raise OptionError(problems)


def enum_member(kind: type[E], value: Any, field: str) -> E:
    """`kind(value)`, or an `OptionError` naming `field`, the value and the allowed values.

    >>> from cartrial.grading.choices import UnsampledDays
    >>> enum_member(UnsampledDays, "next", "unsampled_days")
    Traceback (most recent call last):
    ...
    cartrial.errors.OptionError: unsampled_days: not an allowed value (got 'next'); allowed: linear | ...
    """
    try:
        return kind(value)
    except ValueError:
        rule = Allowed(values=tuple(member.value for member in kind))
        raise OptionError(
            Problem("not an allowed value", field=field, value=value, allowed=rule.text())
        ) from None


# ------------------------------------------------------------------------------- Python API arguments


def check_argument(field: str, value: Any, rule: Allowed) -> None:
    """Refuse an argument of an engine function outside `rule` with an `InputError` naming `field`, the value
    and what is allowed: a notebook user's NaN, infinite, negative or fractional number is never graded or
    counted as if it were data (docs/science/decisions.md D-19.79). A whole number may come as a float
    (``6.0``, as a pandas column with gaps holds it).

    >>> check_argument("temperature_c", float("nan"), Allowed(low=30, high=45, unit="°C"))
    Traceback (most recent call last):
    ...
    cartrial.errors.InputError: temperature_c: not a finite number (got nan); allowed: 30 to 45 °C
    """
    if rule.integer and isinstance(value, float) and value.is_integer():
        value = int(value)  # 6.0 from a float column is the whole number 6
    problem = rule.problem(field, value)
    if problem is not None:
        raise InputError(problem)


def check_instance(field: str, value: Any, kind: type | tuple[type, ...], allowed: str | None = None) -> None:
    """Refuse an argument of an engine function that is not a `kind` (a class or a tuple of classes) with an
    `InputError` naming `field`, the type given and what is allowed (default: the class names; D-19.79).

    >>> check_instance("omega2", [0.5], dict)
    Traceback (most recent call last):
    ...
    cartrial.errors.InputError: omega2: not a dict: a list; allowed: dict
    """
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds):
        names = " | ".join(k.__name__ for k in kinds)
        raise InputError(
            Problem(f"not a {names}: a {type(value).__name__}", field=field, allowed=allowed or names)
        )


def gap_to_none(value: Any) -> Any:
    """None for a float NaN (numpy's included: a gap in a DataFrame column), else `value`: where an engine
    function takes None for "not recorded" (no LLN, no oxygen flow, ICE not assessable), a gap means the same
    (D-19.79).

    >>> gap_to_none(float("nan")) is None, gap_to_none(0.0)
    (True, 0.0)
    """
    return None if isinstance(value, float) and math.isnan(value) else value


def check_flag(field: str, value: Any) -> bool:
    """A true/false argument of an engine function as a `bool`: `True`/`False` or a numpy boolean; anything
    else (``"no"``, 1, None) is an `InputError` naming `field`, never read for its truth (D-19.79).

    >>> check_flag("hypotension", "no")
    Traceback (most recent call last):
    ...
    cartrial.errors.InputError: hypotension: not an allowed value (got 'no'); allowed: true | false
    """
    import numpy as np  # here, not at the top: the command line imports this module at start-up

    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise InputError(Problem("not an allowed value", field=field, value=value, allowed=TRUE_FALSE.text()))


# ------------------------------------------------------------------------------------------- random seed

MAX_CONCENTRATION = 1e15
"""Largest concentration in the table's unit (copies/µg gDNA reach about 10^6)."""
MIN_LLOQ = 1e-12
"""Smallest LLOQ in the table's unit: 1 pmol/L in mol/L, 1 pg/mL in g/L, far below any assay's LLOQ in the
units cartrial reads (copies/µg gDNA about 10, cells/µL about 0.1). A subnormal LLOQ (1e-320) was accepted
and drove the M3 censored likelihood of `kinetics popfit` to numpy overflow warnings with exit 0
(docs/science/decisions.md D-19.37)."""
LLOQ = Allowed(low=MIN_LLOQ, high=MAX_CONCENTRATION, label="1e-12 to 1e+15 in the concentration unit")
"""The one range of an LLOQ: ``--lloq`` of `nca` and `kinetics fit | popfit | map`, the engines' ``lloq``
argument, an LLOQ column of a sample table and the store's ``pk_sample.lloq``."""


OMEGA_LOG_VARIANCE = Allowed(low=0, high=100, label="0 to 100 on the log scale (an SD of at most 10)")
"""The one range of a between-subject variance of a log-normal parameter (a diagonal term of a population
model's Ω, log scale): an SD of 10 spreads subjects by a factor e^10 ≈ 22000 per SD, beyond any fitted CAR-T
kinetics (Stein 2019's ω² are below 4). `kinetics popfit` labels an estimate beyond it NOT CONVERGED and
`kinetics map --population` refuses it (docs/science/decisions.md D-19.374, D-19.400). A normal parameter's
variance is in the parameter's own unit squared (a bi-exponential A1 in ng/mL has ω² near 3·10^5) and is
not bounded by it."""


MAX_RESIDUAL_LOG_SD = 10.0
"""The one upper bound of a residual SD on the log scale (an additive error of log y), fitted or simulated:
an SD of 10 spreads a sample by a factor e^10 ≈ 22000 per SD, the bound of a log-scale between-subject SD
(`OMEGA_LOG_VARIANCE`), far beyond any assay (Stein 2019 Table 1: 0.56). `RESIDUAL_LOG_SD` (a fit's) and
`SIMULATED_RESIDUAL_LOG_SD` (a simulation's) differ only at 0 (docs/science/decisions.md D-19.464,
D-19.600)."""

RESIDUAL_LOG_SD = Allowed(
    low=0,
    high=MAX_RESIDUAL_LOG_SD,
    low_exclusive=True,
    label=f"greater than 0 and at most {MAX_RESIDUAL_LOG_SD:g} (an SD of log y)",
)
"""The one range of a fitted residual SD on the log scale: `kinetics popfit` labels an estimate beyond it NOT
CONVERGED and `kinetics map --population` refuses it (docs/science/decisions.md D-19.464); an SD of 0 is no
fit (every sample's likelihood would be infinite)."""

SIMULATED_RESIDUAL_LOG_SD = Allowed(
    low=0,
    high=MAX_RESIDUAL_LOG_SD,
    label=f"0 to {MAX_RESIDUAL_LOG_SD:g} (an SD of log y; 0: no residual error)",
)
"""The one range of a simulated residual SD on the log scale: `kinetics simulate --residual-sd` (Stein 2019
and the PD model's CAR-T level), a scenario's `kinetics.residual_sd_log` and the engines'
``residual_sd_log``. Every fit `kinetics map` reads is simulated (`RESIDUAL_LOG_SD` lies within it); 0
simulates without residual error (D-19.600)."""

RESIDUAL_FRACTION = Allowed(
    low=0,
    high=MAX_RESIDUAL_LOG_SD,
    low_exclusive=True,
    label=f"greater than 0 and at most {MAX_RESIDUAL_LOG_SD:g} (a fraction of the prediction)",
)
"""The one range of a proportional residual error b (the SD as a fraction of the prediction, linear scale):
for a small b it is the log-scale SD, so the same bound as `RESIDUAL_LOG_SD` (D-19.464)."""


RECORD_VERSIONS = (1, 1_000_000_000)
"""The versions a stored record can have: 1 when written, one more at each change (D-19.371): the range of
`db edit --expected-version`, the web API's version token and the record page's version (D-19.413)."""
RECORD_VERSION = Allowed(
    low=RECORD_VERSIONS[0], high=RECORD_VERSIONS[1], integer=True, label="a whole number from 1 to 1000000000"
)


def record_version(text: str) -> int | None:
    """The version written as `text` (ASCII digits only, within `RECORD_VERSIONS`), else None.

    >>> record_version("3"), record_version("0"), record_version("1000000001"), record_version("\u0661")
    (3, None, None, None)
    """
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(RECORD_VERSIONS[1])):
        return None
    version = int(text)
    return version if RECORD_VERSIONS[0] <= version <= RECORD_VERSIONS[1] else None


MAX_SEED = 2**63 - 1
"""Largest random seed: the widest range every consumer takes. numpy's `SeedSequence` (behind every
`default_rng` of cartrial) takes any non-negative integer, but the seed is also written to CSV and JSON
outputs, to pandas int64 columns (the sweep's per-point seeds are 63-bit for this reason) and to 64-bit
integer columns, which end at 2^63 − 1 (decisions D-19.19)."""

SEED = Allowed(low=0, high=MAX_SEED, integer=True, label="a whole number from 0 to 2^63-1")
"""The one range of every random seed (`--seed` of every command, the engines' ``seed`` arguments)."""

SEED_HELP = f"Random seed, {SEED.text()}: the same seed gives the same result."
"""Help text of every ``--seed`` option."""


def check_seed(seed: Any, field: str = "seed", *, optional: bool = False) -> None:
    """Refuse a seed outside `SEED` (None too, unless `optional`) with an `OptionError` naming `field`.

    >>> check_seed(2**63 - 1)
    >>> check_seed(-1, "--seed")
    Traceback (most recent call last):
    ...
    cartrial.errors.OptionError: --seed: out of range (got -1); allowed: a whole number from 0 to 2^63-1
    """
    if seed is None and optional:
        return
    problem = SEED.problem(field, seed)
    if problem is not None:
        raise OptionError(problem)


@dataclass(frozen=True)
class ParserWords:
    """The words of every bad input for one of the parser's (pydantic's) error types (`PARSER_ERROR_WORDS`):
    `message` (None: the reader keeps the parser's message, or words its own) and `allowed` (None: what is
    allowed comes from the error's context — a bound, the choices — or the field's declaration)."""

    message: str | None
    allowed: str | None


_WHOLE = ParserWords("not a whole number", "a whole number")
_NUMBER = ParserWords("not a number", "a number")
_TRUE_FALSE = ParserWords("not true or false", "true | false")
_OUT_OF_RANGE = ParserWords("out of range", None)
_NOT_ALLOWED = ParserWords("not an allowed value", None)

PARSER_ERROR_WORDS: dict[str, ParserWords] = {
    "missing": ParserWords("a value is required", None),
    "extra_forbidden": ParserWords("unknown field", None),
    "int_parsing": _WHOLE,
    "int_from_float": _WHOLE,
    "int_type": _WHOLE,
    "float_parsing": _NUMBER,
    "float_type": _NUMBER,
    "finite_number": ParserWords("not a finite number", "a finite number"),
    "bool_parsing": _TRUE_FALSE,
    "bool_type": _TRUE_FALSE,
    "greater_than": _OUT_OF_RANGE,
    "greater_than_equal": _OUT_OF_RANGE,
    "less_than": _OUT_OF_RANGE,
    "less_than_equal": _OUT_OF_RANGE,
    "enum": _NOT_ALLOWED,
    "literal_error": _NOT_ALLOWED,
    "string_type": ParserWords("not text", "text"),
    "dict_type": ParserWords("not a mapping", "a mapping of keys to values"),
    "model_type": ParserWords("not a mapping", "a mapping of keys to values"),
    "model_attributes_type": ParserWords("not a mapping", "a mapping of keys to values"),
    "list_type": ParserWords("not a list", "a list"),
    "tuple_type": ParserWords("not a list", "a list"),
    "set_type": ParserWords("not a list", "a list"),
    "frozen_set_type": ParserWords("not a list", "a list"),
    "string_too_short": ParserWords("too short", None),
    "string_too_long": ParserWords("too long", None),
    "too_short": ParserWords("too few items", None),
    "too_long": ParserWords("too many items", None),
    "string_pattern_mismatch": ParserWords("not of the allowed form", None),
    "multiple_of": ParserWords("not an allowed value", None),
}
"""The one table of the parser's (pydantic's) error types → the words of every bad input, read by the CLI's
option errors (`cartrial.cli._bad_parameter`), the API's request parameters (`cartrial.web.errors`,
D-19.1426) and the YAML/JSON readers' message and allowed text (`cartrial.protocol.yaml_source.parser_words`,
D-19.1456). Dates are worded by each reader (D-19.1455); a YAML reader words any other of the parser's own
types "not an allowed value", never the parser's sentence (D-19.1456)."""


__all__ = [
    "LLOQ",
    "MAX_CONCENTRATION",
    "MAX_RESIDUAL_LOG_SD",
    "MAX_SEED",
    "METADATA_KEY",
    "MIN_LLOQ",
    "OMEGA_LOG_VARIANCE",
    "PARSER_ERROR_WORDS",
    "RESIDUAL_FRACTION",
    "RESIDUAL_LOG_SD",
    "SEED",
    "SEED_HELP",
    "SIMULATED_RESIDUAL_LOG_SD",
    "TRUE_FALSE",
    "Allowed",
    "ParserWords",
    "allowed",
    "check_argument",
    "check_fields",
    "check_flag",
    "check_instance",
    "check_seed",
    "choice_text",
    "declared",
    "enum_member",
    "gap_to_none",
    "same_value",
]


def path_argument(value: Any, field: str) -> Path:
    """A file or folder argument of the Python API as a `Path`: a `str` or any `os.PathLike` is accepted
    (what a notebook user passes either way); None or any other type is an `InputError` naming `field`
    (decisions D-19.69)."""
    if isinstance(value, str | os.PathLike):
        return Path(value)
    raise InputError(
        Problem(f"not a file path: a {type(value).__name__}", field=field, allowed="a str or pathlib.Path")
    )
