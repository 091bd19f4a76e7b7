"""AQP4-IgG end-point titres of a cell-based assay: parse, dilution steps, fold change, "fell".

Source: docs/science/neuro-outcomes.md §6 - EUROIMMUN fixed cell-based assay dilution series 1:10, 1:32,
1:100, 1:320,
1:1000 (some kits extend to 1:3200 and 1:10 000 [U]); positive if reactive at 1:10; end-point = highest
dilution with specific fluorescence (JNNP 2016 supplement). Dilutions are spaced by sqrt(10), so each step
is 0.5 in log10; a titre is interval-censored between the last positive and the first negative dilution.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from cartrial.allowed import choice_text
from cartrial.columns import other_digit_fault, trim_blanks
from cartrial.errors import ConfigurationError, InputError, Problem
from cartrial.protocol.endpoints import AQP4_TITRE_DILUTIONS

#: Dilution denominators of the series; ordinal index 1..7 (0 = negative, below 1:10) (§6; declared once in
#: `cartrial.protocol.AQP4_TITRE_DILUTIONS`).
DEFAULT_SERIES: tuple[int, ...] = AQP4_TITRE_DILUTIONS
ALLOWED = "an end-point titre such as 1:320 (or 1/320, 320), 'negative' / '<1:10', or '>=1:1000' at the top"

_RATIO = re.compile(r"^(?P<op>>=|≥|>)?(?:1[:/])?(?P<den>[0-9]+)\Z")  # 0-9 only, not `\d` (D-19.520)
_NEGATIVE = {"negative", "neg", "-", "<1:10", "< 1:10", "<1/10", "not detected", "nd"}


@dataclass(frozen=True)
class Titre:
    """One end-point titre. ``index`` is the ordinal step (0 negative, 1 = 1:10, ...); ``at_top`` marks a
    titre still positive at the highest dilution tested (right-censored): written with ">" / ">=", or the last
    dilution of the series (`parse_titre_step`; the one rule of `titre_interval`, D-19.632)."""

    native: str
    denominator: int | None  # None when negative
    index: int
    at_top: bool = False

    @property
    def positive(self) -> bool:
        return self.index > 0

    @property
    def log10_titre(self) -> float | None:
        return None if self.denominator is None else math.log10(self.denominator)


def parse_titre_step(text: str, series: tuple[int, ...] = DEFAULT_SERIES) -> Titre:
    """Parse an end-point titre (docs/science/neuro-outcomes.md §6). The dilution must be one of `series`;
    "negative" (and
    "<1:10") is index 0; a leading ">" or ">=", or the last dilution of `series`, marks a titre positive at
    the top dilution tested (`Titre.at_top`, a lower bound).

    Named for what it returns — the ordinal step of the dilution series (a `Titre`) — unlike
    `cartrial.kinetics.pd.parse_titre`, which returns a log10 value for the PD model.

    >>> parse_titre_step("1:320").index
    4
    >>> parse_titre_step("negative").positive
    False
    """
    raw = trim_blanks(str(text))  # only space, tab, CR, LF: a no-break space is refused (D-19.446)
    key = raw.lower()
    if key in _NEGATIVE:
        return Titre(raw, None, 0)
    digit = other_digit_fault(key)
    if digit is not None:  # "1:١٠٠" is not read as 1:100 (D-19.520)
        raise InputError(Problem(digit, field="titre", value=raw, allowed=ALLOWED))
    found = _RATIO.match(key.replace(" ", "").replace(",", ""))
    if not found:
        raise InputError(Problem("not a titre", field="titre", value=raw, allowed=ALLOWED))
    denominator = int(found["den"])
    if denominator not in series:
        raise InputError(
            Problem(
                "dilution not in the assay series",
                field="titre",
                value=raw,
                allowed=choice_text(f"1:{d}" for d in series),
            )
        )
    # positive at the last dilution of the series is a lower bound too, as `titre_interval` reads it
    at_top = found["op"] is not None or denominator == series[-1]
    return Titre(raw, denominator, series.index(denominator) + 1, at_top=at_top)


def titre_reciprocal(titre: Titre | str) -> float:
    """The reciprocal dilution of an end-point titre (a `Titre` or its text, read by `parse_titre_step`, the
    one titre rule): its denominator for a positive titre, 0 for a negative one (index 0, below the first
    dilution: "negative", "<1:10" …). No other reading: text the rule refuses ("1:7", off the series;
    "<1:32", not a titre) is an `InputError`, never read as the number it contains (D-19.628).

    >>> [titre_reciprocal(t) for t in ("1:320", "1/320", "320", ">=1:1000", "<1:10", "negative")]
    [320.0, 320.0, 320.0, 1000.0, 0.0, 0.0]
    """
    parsed = _titre(titre, "titre")
    return 0.0 if parsed.denominator is None else float(parsed.denominator)


def titre_interval(titre: Titre, series: tuple[int, ...] = DEFAULT_SERIES) -> tuple[float, float]:
    """Interval holding the true end-point dilution denominator (§6): [D_k, D_k+1) for a positive titre;
    [0, first dilution) for negative; [D_top, inf) when positive at the top dilution.

    >>> titre_interval(parse_titre_step("1:320"))
    (320.0, 1000.0)
    """
    if titre.index == 0:
        return 0.0, float(series[0])
    low = float(series[titre.index - 1])
    if titre.at_top or titre.index == len(series):
        return low, math.inf
    return low, float(series[titre.index])


def _titre(value: Titre | str, field: str) -> Titre:
    """A `Titre` argument: a `Titre`, or its text on the default series (`parse_titre_step`); anything else
    (an int, whose `denominator` is 1, or None) is an `InputError` naming `field` (D-19.79)."""
    if isinstance(value, Titre):
        return value
    if isinstance(value, str):
        return parse_titre_step(value)
    raise InputError(
        Problem(
            f"not a titre: a {type(value).__name__}", field=field, allowed=f"a Titre or its text: {ALLOWED}"
        )
    )


def titre_steps(before: Titre | str, after: Titre | str) -> int:
    """Change in dilution steps (negative = fall); one step = a factor sqrt(10) (0.5 log10). Each titre is a
    `Titre` or its text (``"1:320"``).

    >>> titre_steps(parse_titre_step("1:1000"), parse_titre_step("1:100"))
    -2
    """
    return _titre(after, "after").index - _titre(before, "before").index


def fold_change(before: Titre | str, after: Titre | str) -> float | None:
    """after / before on the dilution scale; None when either is negative (not on the ratio scale). Each
    titre is a `Titre` or its text.

    >>> fold_change(parse_titre_step("1:1000"), "1:100")
    0.1
    """
    before, after = _titre(before, "before"), _titre(after, "after")
    if before.denominator is None or after.denominator is None:
        return None
    return after.denominator / before.denominator


def titre_fell(before: Titre | str, after: Titre | str, *, min_steps: int = 1) -> bool:
    """Whether the titre fell by at least `min_steps` dilution steps (a fall to negative counts).

    Default **1 step** [P: the CT103A publication does not define "fell"; one step is the smallest change
    the assay can show; awaiting confirmation]. Use 2 for a change beyond the usual +/-1 dilution
    reproducibility of end-point titration.

    >>> titre_fell(parse_titre_step("1:320"), parse_titre_step("1:100"))
    True
    """
    if min_steps < 1:
        raise ConfigurationError(f"min_steps must be >= 1, got {min_steps}")
    return titre_steps(before, after) <= -min_steps


def titre_can_fall(before: Titre | str, *, min_steps: int = 1) -> bool:
    """Whether a titre can fall by `min_steps` dilution steps (`titre_fell`): the baseline is at least that
    many steps above negative (index 0). A negative baseline cannot fall; a "titre fell" rate counts only the
    patients whose baseline can (D-19.625, as a responder needs room to improve at baseline).

    >>> titre_can_fall("negative"), titre_can_fall("1:10"), titre_can_fall("1:10", min_steps=2)
    (False, True, False)
    """
    if min_steps < 1:
        raise ConfigurationError(f"min_steps must be >= 1, got {min_steps}")
    return _titre(before, "before").index >= min_steps


__all__ = [
    "DEFAULT_SERIES",
    "Titre",
    "fold_change",
    "parse_titre_step",
    "titre_can_fall",
    "titre_fell",
    "titre_interval",
    "titre_reciprocal",
    "titre_steps",
]
