"""Visual acuity: parse any common notation, convert, per-eye change, and the visual FS derived from acuity.

Sources (docs/science/neuro-outcomes.md §2): notation formulas from PyPI ``logmar`` 0.1.0 and
``visual-acuity-conversion`` 0.9.1 (decimal = Snellen fraction, logMAR = -log10(decimal), ETDRS letters
~= 85 - 50 logMAR, one letter = 0.02 logMAR); off-chart values from ``visual-acuity-conversion``
("conventional"), Schulze-Bonsel et al. *IOVS* 2006;47:1236 and Lange et al. *Graefes Arch Clin Exp
Ophthalmol* 2009;247:137; visual FS grades from Kurtzke 1983 / Neurostatus (§1.2).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from cartrial.columns import BLANK_RUN, other_digit_fault, trim_blanks
from cartrial.errors import ConfigurationError, InputError, Problem
from cartrial.neuro.choices import choose
from cartrial.rounding import fixed


class Notation(StrEnum):
    """The notation an acuity was entered in (stored with the value; raw inputs are kept)."""

    SNELLEN_FEET = "snellen_20"
    SNELLEN_METRES = "snellen_6"
    DECIMAL = "decimal"
    LOGMAR = "logmar"
    ETDRS_LETTERS = "etdrs_letters"
    OFF_CHART = "off_chart"


class OffChart(StrEnum):
    """Off-chart levels, best to worst: counting fingers, hand motion, light perception, none."""

    CF = "CF"
    HM = "HM"
    LP = "LP"
    NLP = "NLP"


class OffChartConvention(StrEnum):
    """Numeric logMAR given to off-chart levels (docs/science/neuro-outcomes.md §2.2).

    Default **none**: off-chart values stay categorical and are left out of numeric summaries, because the
    sources disagree by up to 0.25 logMAR and LP/NLP are not quantifiable in two of them (§2.2 rule:
    never impute silently).
    """

    NONE = "none"
    CONVENTIONAL = "conventional"
    SCHULZE_BONSEL_2006 = "schulze_bonsel_2006"
    LANGE_2009 = "lange_2009"


#: logMAR per off-chart level and convention (docs/science/neuro-outcomes.md §2.2, all cells [V]).
# Schulze-Bonsel gives
#: decimal acuities (CF 0.014, HM 0.005), converted here with logMAR = -log10(decimal).
OFF_CHART_LOGMAR: dict[OffChartConvention, dict[OffChart, float | None]] = {
    OffChartConvention.NONE: {OffChart.CF: None, OffChart.HM: None, OffChart.LP: None, OffChart.NLP: None},
    OffChartConvention.CONVENTIONAL: {
        OffChart.CF: 2.1,
        OffChart.HM: 2.4,
        OffChart.LP: 2.7,
        OffChart.NLP: 3.0,
    },
    OffChartConvention.SCHULZE_BONSEL_2006: {
        OffChart.CF: -math.log10(0.014),
        OffChart.HM: -math.log10(0.005),
        OffChart.LP: None,
        OffChart.NLP: None,
    },
    OffChartConvention.LANGE_2009: {
        OffChart.CF: 1.98,
        OffChart.HM: 2.28,
        OffChart.LP: None,
        OffChart.NLP: None,
    },
}

_OFF_CHART_WORDS: dict[str, OffChart] = {
    "cf": OffChart.CF,
    "fc": OffChart.CF,
    "count fingers": OffChart.CF,
    "counting fingers": OffChart.CF,
    "counts fingers": OffChart.CF,
    "hm": OffChart.HM,
    "hand motion": OffChart.HM,
    "hand motions": OffChart.HM,
    "hand movement": OffChart.HM,
    "hand movements": OffChart.HM,
    "lp": OffChart.LP,
    "pl": OffChart.LP,
    "light perception": OffChart.LP,
    "nlp": OffChart.NLP,
    "npl": OffChart.NLP,
    "no light perception": OffChart.NLP,
}

#: ETDRS chart range in letters (logMAR 1.7 to -0.3).
LETTERS_MIN, LETTERS_MAX = 0, 100
LOGMAR_MIN, LOGMAR_MAX = -0.31, 2.0  # logMAR accepted: 20/10 (decimal 2.0, -0.301) to 20/2000
LOGMAR_PER_LETTER = 0.02
ALLOWED_TEXT = (
    "Snellen 20/x or 6/x (optionally with +n/-n letters), 'decimal 0.5', 'logMAR 0.3', '70 letters' / "
    "'ETDRS 70', or CF, HM, LP, NLP (a bare number needs a notation)"
)

# The patterns read the folded key (`parse_acuity`): its only white space is U+0020 (D-19.446).
# Digits are 0-9 only (`[0-9]`, not `\d`, which matches every script's digits; D-19.520).
_SNELLEN = re.compile(
    r"^(?P<num>[0-9]+(?:\.[0-9]+)?) */ *(?P<den>[0-9]+(?:\.[0-9]+)?) *(?P<adj>[+-] *[0-9]+)?\Z"
)
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_LOGMAR = re.compile(rf"^(?:logmar *[:=]? *(?P<a>{_NUMBER})|(?P<b>{_NUMBER}) *logmar)\Z")
_DECIMAL = re.compile(rf"^(?:(?:decimal|dec) *[:=]? *(?P<a>{_NUMBER})|(?P<b>{_NUMBER}) *(?:decimal|dec))\Z")
_LETTERS = re.compile(
    rf"^(?:(?:etdrs|letters) *[:=]? *(?P<a>{_NUMBER})|(?P<b>{_NUMBER}) *(?:etdrs *)?letters?)\Z"
)
_BARE = re.compile(rf"^{_NUMBER}\Z")


@dataclass(frozen=True)
class VisualAcuity:
    """One acuity as entered (``native``) with its value in every notation.

    ``logmar`` is None for an off-chart level under the ``none`` convention (categorical only);
    ``off_chart`` names the level when the entry was CF/HM/LP/NLP; ``convention`` records the off-chart
    convention used.
    """

    native: str
    notation: Notation
    logmar: float | None
    off_chart: OffChart | None = None
    convention: OffChartConvention = OffChartConvention.NONE

    @property
    def decimal(self) -> float | None:
        """Decimal acuity, 10 ** -logMAR (docs/science/neuro-outcomes.md §2.1)."""
        return None if self.logmar is None else 10.0 ** (-self.logmar)

    @property
    def snellen_20(self) -> float | None:
        """Snellen 20-ft denominator, 20 / decimal."""
        return None if self.logmar is None else 20.0 * 10.0**self.logmar

    @property
    def snellen_6(self) -> float | None:
        """Snellen 6-m denominator, 6 / decimal."""
        return None if self.logmar is None else 6.0 * 10.0**self.logmar

    @property
    def etdrs_letters(self) -> float | None:
        """ETDRS letters, 85 - 50 logMAR (docs/science/neuro-outcomes.md §2.1 [D]).

        None for an off-chart level (CF/HM/LP/NLP read no chart letters; a numeric convention gives them a
        logMAR, not a letter score) and for an acuity outside the letter scale 0-100 (logMAR above 1.7),
        where the formula would give a negative count. The scale's ends are read in whole letters, as the
        chart's rounded line labels are (D-19.683): an acuity within half a letter of an end is that end
        (20/10 = 6/3 = decimal 2.0 is the -0.3 line, exactly -0.301 = 100.05 letters: 100), beyond it None
        (D-19.1007).
        """
        if self.logmar is None or self.off_chart is not None:
            return None
        letters = 85.0 - 50.0 * self.logmar
        if not LETTERS_MIN - 0.5 < letters < LETTERS_MAX + 0.5:
            return None
        return min(max(letters, float(LETTERS_MIN)), float(LETTERS_MAX))

    @property
    def quantified(self) -> bool:
        return self.logmar is not None

    def worse_than_decimal(self, decimal: float) -> bool | None:
        """Whether acuity is worse (lower) than `decimal`; off-chart is always worse than 20/200 (0.1)."""
        if self.off_chart is not None and decimal >= 0.1:
            return True
        value = self.decimal
        return None if value is None else value < decimal


def _problem(text: str, message: str) -> InputError:
    return InputError(Problem(message, field="acuity", value=text, allowed=ALLOWED_TEXT))


def parse_acuity(
    text: str,
    *,
    convention: OffChartConvention | str = OffChartConvention.NONE,
    numeric_notation: Notation | str | None = None,
) -> VisualAcuity:
    """Parse one acuity entry in any supported notation (docs/science/neuro-outcomes.md §2.1, §2.2).

    Snellen 20/x and 6/x are the same fraction (20/40 = 6/12 = decimal 0.5); a trailing "+n"/"-n" counts
    letters read on the next/missed on the line, at 0.02 logMAR each. A bare number is ambiguous (0.5 could
    be decimal or logMAR) and needs ``numeric_notation`` (``decimal``, ``logmar`` or ``etdrs_letters``);
    otherwise it is an error. Off-chart levels get the logMAR of ``convention`` (default none:
    categorical). Raises `InputError` naming the value and what is allowed.

    >>> round(parse_acuity("20/40").logmar, 3), parse_acuity("6/60").decimal
    (0.301, 0.1)
    """
    conv = choose(OffChartConvention, convention, "offchart_convention")
    raw = trim_blanks(str(text))  # only space, tab, CR, LF: a no-break space is refused (D-19.446)
    key = BLANK_RUN.sub(" ", raw.lower().replace("_", " ")).strip(" ")
    if not key:
        raise _problem(raw, "acuity is blank")
    digit = other_digit_fault(key)
    if digit is not None:  # "٢٠/٤٠" is not read as 20/40, as a number field refuses "٥" (D-19.520)
        raise _problem(raw, digit)
    for word, level in _OFF_CHART_WORDS.items():
        # "CF 1m", "CF at 30 cm": the distance is kept in the native text only.
        if key == word or key.startswith(word + " ") or (len(word) <= 3 and re.match(rf"^{word}[0-9]", key)):
            return VisualAcuity(raw, Notation.OFF_CHART, OFF_CHART_LOGMAR[conv][level], level, conv)
    snellen = _SNELLEN.match(key)
    if snellen:
        num, den = float(snellen["num"]), float(snellen["den"])
        if num <= 0 or den <= 0:
            raise _problem(raw, "Snellen numerator and denominator must be positive")
        # 20/x is feet; 6/x (and 3/x, 4/x, e.g. WHO 3/60) is metres
        notation = Notation.SNELLEN_METRES if num <= 6.0 else Notation.SNELLEN_FEET
        logmar = math.log10(den / num)
        if snellen["adj"]:
            logmar -= LOGMAR_PER_LETTER * int(snellen["adj"].replace(" ", ""))
        return _checked(raw, notation, logmar, conv)
    for pattern, notation in (
        (_LOGMAR, Notation.LOGMAR),
        (_DECIMAL, Notation.DECIMAL),
        (_LETTERS, Notation.ETDRS_LETTERS),
    ):
        found = pattern.match(key)
        if found:
            return _from_number(raw, float(found["a"] or found["b"]), notation, conv)
    if _BARE.match(key):
        if numeric_notation is None:
            raise _problem(raw, "a bare number is ambiguous (decimal, logMAR or letters?)")
        return _from_number(raw, float(key), choose(Notation, numeric_notation, "numeric_notation"), conv)
    raise _problem(raw, "not a recognised visual acuity")


def _from_number(raw: str, value: float, notation: Notation, conv: OffChartConvention) -> VisualAcuity:
    if notation is Notation.DECIMAL:
        if value <= 0:
            raise _problem(raw, "decimal acuity must be > 0")
        return _checked(raw, notation, -math.log10(value), conv)
    if notation is Notation.LOGMAR:
        return _checked(raw, notation, value, conv)
    if notation is Notation.ETDRS_LETTERS:
        if not LETTERS_MIN <= value <= LETTERS_MAX or value != round(value):
            raise _problem(raw, f"ETDRS letters must be a whole number {LETTERS_MIN}-{LETTERS_MAX}")
        return _checked(raw, notation, (85.0 - value) / 50.0, conv)
    raise ConfigurationError(
        f"numeric_notation must be decimal, logmar or etdrs_letters, got {notation.value}"
    )


def _checked(raw: str, notation: Notation, logmar: float, conv: OffChartConvention) -> VisualAcuity:
    if not LOGMAR_MIN - 1e-9 <= logmar <= LOGMAR_MAX + 1e-9:
        raise _problem(raw, f"acuity outside the chart range (logMAR {LOGMAR_MIN} to {LOGMAR_MAX})")
    return VisualAcuity(raw, notation, round(logmar, 10), None, conv)


# --- formatting (the inverse conversions) --------------------------------------------------------------


def format_snellen(logmar: float, numerator: int = 20) -> str:
    """Snellen fraction with the given numerator (20 ft or 6 m) and the nearest whole denominator."""
    return f"{numerator}/{round(numerator * 10.0**logmar):d}"


def format_decimal(logmar: float, digits: int = 2) -> str:
    return f"decimal {10.0 ** (-logmar):.{digits}f}"


def format_logmar(logmar: float, digits: int = 2) -> str:
    return f"logMAR {logmar:.{digits}f}"


def format_letters(logmar: float) -> str | None:
    """ETDRS letters (85 − 50 logMAR, §2.1) by `VisualAcuity.etdrs_letters`, the one rule of the letter
    scale's ends (D-19.1007), a half letter rounded half away from zero (D-19.687); None where that gives
    no letter score (more than half a letter off the 0-100 scale: logMAR -0.31, 1.8).

    >>> format_letters(0.33), format_letters(-0.31), format_letters(1.8)
    ('69 letters', None, None)
    """
    letters = VisualAcuity(f"logMAR {logmar}", Notation.LOGMAR, logmar).etdrs_letters
    return None if letters is None else f"{fixed(letters, 0)} letters"


# --- change and derived grades -------------------------------------------------------------------------


class AcuityChange(StrEnum):
    IMPROVED = "improved"
    WORSENED = "worsened"
    STABLE = "stable"
    NOT_EVALUABLE = "not_evaluable"


@dataclass(frozen=True)
class EyeChange:
    """Per-eye change from `baseline` to `follow_up` (negative logMAR change = better)."""

    baseline: VisualAcuity
    follow_up: VisualAcuity
    logmar_change: float | None
    category: AcuityChange
    threshold_logmar: float
    reason: str


def chart_letters(logmar: float) -> int:
    """A logMAR amount in whole ETDRS letters (one letter = 0.02 logMAR, one line = 0.1 = 5 letters;
    docs/science/neuro-outcomes.md §2.1): the nearest whole letter, a value exactly half way rounded down (to
    the smaller amount, so half a letter short of a threshold or a minimum stays short; D-19.683).

    The printed Snellen and decimal values of the chart lines are rounded (20/32 = decimal 0.63 is the
    logMAR 0.2 line, exactly 0.204; 20/63 is the 0.5 line, exactly 0.498, decimal 0.32 exactly 0.495), so
    the logMAR difference of two lines computed from them is off by up to 0.007; counted in letters it is
    the chart's whole lines.

    >>> chart_letters(math.log10(32 / 20) - math.log10(50 / 20)), chart_letters(0.19), chart_letters(0.21)
    (-10, 9, 10)
    """
    return math.ceil(logmar / LOGMAR_PER_LETTER - 0.5 - 1e-9)


def reaches(amount: float, threshold: float, *, in_letters: bool) -> bool:
    """Whether a logMAR `amount` (a fall, a rise or a baseline level) reaches `threshold`: exactly
    (tolerance 1e-9) or, when `in_letters` (both acuities on the chart), in whole chart letters
    (`chart_letters`). The letters only widen the exact rule — they exist to rescue the rounded labels of
    chart lines — so a threshold that is not a whole letter (0.25 = 12.5 letters) is still reached by an
    exact 0.25 (D-19.683, D-19.684).

    >>> reaches(0.194, 0.2, in_letters=True), reaches(0.194, 0.2, in_letters=False)
    (True, False)
    >>> reaches(0.25, 0.25, in_letters=True), reaches(0.19, 0.2, in_letters=True)
    (True, False)
    """
    tolerance = 1e-9  # so that a change of exactly 0.2 computed from floats counts as 0.2
    if amount >= threshold - tolerance:
        return True
    return in_letters and chart_letters(amount) * LOGMAR_PER_LETTER >= threshold - tolerance


def eye_change(
    baseline: VisualAcuity, follow_up: VisualAcuity, *, threshold_logmar: float = 0.2
) -> EyeChange:
    """Classify one eye: improved when logMAR falls by >= `threshold_logmar`, worsened when it rises by as
    much, else stable (docs/science/neuro-outcomes.md §2.3: default 0.2 logMAR = 2 lines = 10 letters, option
    0.3;
    [U] awaiting confirmation). The change reaches the threshold exactly or, when both acuities are on the
    chart, in whole chart letters (`reaches`, `chart_letters`, D-19.683), so two lines of a Snellen chart
    (20/50 -> 20/32) are 0.2; ``logmar_change`` keeps the exact difference.

    Off-chart levels without a numeric convention are compared on their order (NLP < LP < HM < CF <
    any chart acuity): a move from off-chart onto the chart is improved, the reverse worsened, a move
    between off-chart levels is improved/worsened; numeric change is None then.

    >>> eye_change(parse_acuity("logMAR 0.6"), parse_acuity("logMAR 0.3")).category.value
    'improved'
    >>> eye_change(parse_acuity("HM"), parse_acuity("CF")).category.value
    'improved'
    """
    if threshold_logmar <= 0:
        raise ConfigurationError(f"threshold_logmar must be > 0, got {threshold_logmar}")
    if baseline.logmar is not None and follow_up.logmar is not None:
        delta = follow_up.logmar - baseline.logmar
        # exact, or in whole chart letters when both are on the chart (D-19.683): 20/50 -> 20/32 is two
        # lines (0.4 -> 0.2), not 0.194; an off-chart value under a numeric convention reads no letters
        on_chart = baseline.off_chart is None and follow_up.off_chart is None
        if reaches(-delta, threshold_logmar, in_letters=on_chart):
            category = AcuityChange.IMPROVED
        elif reaches(delta, threshold_logmar, in_letters=on_chart):
            category = AcuityChange.WORSENED
        else:
            category = AcuityChange.STABLE
        return EyeChange(baseline, follow_up, delta, category, threshold_logmar, "logMAR change")
    b_rank, f_rank = acuity_rank(baseline), acuity_rank(follow_up)
    if f_rank < b_rank:
        category = AcuityChange.IMPROVED
    elif f_rank > b_rank:
        category = AcuityChange.WORSENED
    else:
        category = AcuityChange.STABLE
    return EyeChange(baseline, follow_up, None, category, threshold_logmar, "ordinal off-chart comparison")


#: Off-chart levels from worst to best (NLP < LP < HM < CF < any chart acuity).
OFF_CHART_ORDER: tuple[OffChart, ...] = (OffChart.NLP, OffChart.LP, OffChart.HM, OffChart.CF)


def acuity_rank(acuity: VisualAcuity) -> float:
    """The one ordering of acuities, lower = better: the logMAR when the acuity has one, otherwise (an
    off-chart level under the ``none`` convention) a value above every chart logMAR that keeps the order
    NLP < LP < HM < CF < any chart acuity (docs/science/neuro-outcomes.md §2.2). Used by `eye_change` and by
    the
    responder definitions ("best" follow-up value).

    >>> acuity_rank(parse_acuity("CF")) < acuity_rank(parse_acuity("HM"))
    True
    >>> acuity_rank(parse_acuity("20/200")) < acuity_rank(parse_acuity("CF"))
    True
    """
    if acuity.logmar is not None:
        return acuity.logmar
    level = acuity.off_chart if acuity.off_chart is not None else OffChart.CF
    return 5.0 - 0.1 * OFF_CHART_ORDER.index(level)


@dataclass(frozen=True)
class VisualFsCutPoints:
    """Decimal-acuity cut points of the visual FS grades (Kurtzke 1983 / Neurostatus text, §1.2).

    Compared on the decimal acuity rounded to 3 decimals so that Snellen fractions fall in the bands the
    text prints (20/60 = 0.333 is grade 3; 20/99 = 0.202 is grade 3; 20/30 = 0.667 is grade 2). Grade 1
    needs a worse eye better than 0.67 (text: "0.67 to 0.34" is grade 2; the derived §1.2 continuous cut
    0.667 would put a recorded decimal 0.67 in grade 1). Better-eye upgrade at <= 0.333 (text: "<= 0.33").
    """

    normal_min: float = 1.0
    grade1_above: float = 0.67
    grade2_above: float = 0.333
    grade3_above: float = 0.2
    grade4_from: float = 0.1
    better_eye_upgrade_at_or_below: float = 0.333


def visual_fs_from_acuity(
    worse_eye: VisualAcuity, better_eye: VisualAcuity, cut_points: VisualFsCutPoints | None = None
) -> int:
    """Visual FS grade (raw 0-6) implied by corrected acuity alone (Kurtzke 1983 / Neurostatus visual FS
    text, docs/science/neuro-outcomes.md §1.2).

    Worse eye: 0 if >= 1.0; 1 if > 0.67; 2 if > 0.333; 3 if > 0.2; 4 if >= 0.1; 5 below 0.1 (off-chart
    levels are below 0.1 under every convention). Then +1 (grades 3-5 only) if the better eye is <= 0.333.
    Fields, scotoma and disc pallor can only raise the grade, so this is a lower bound: use it where the
    examiner's FS is not recorded, and say so (§1.2 [P]). The arguments may be given in either order;
    the worse eye is the one with the lower acuity.

    >>> visual_fs_from_acuity(parse_acuity("20/200"), parse_acuity("20/20"))
    4
    """
    cuts = cut_points or VisualFsCutPoints()
    a, b = _decimal_for_grading(worse_eye), _decimal_for_grading(better_eye)
    worse, better = min(a, b), max(a, b)
    if worse >= cuts.normal_min:
        grade = 0
    elif worse > cuts.grade1_above:
        grade = 1
    elif worse > cuts.grade2_above:
        grade = 2
    elif worse > cuts.grade3_above:
        grade = 3
    elif worse >= cuts.grade4_from:
        grade = 4
    else:
        grade = 5
    if better <= cuts.better_eye_upgrade_at_or_below and grade >= 3:
        grade += 1
    return grade


def _decimal_for_grading(acuity: VisualAcuity) -> float:
    if acuity.off_chart is not None:
        return 0.0  # below 0.1 under every convention (§2.2)
    assert acuity.decimal is not None
    return round(acuity.decimal, 3)


__all__ = [
    "OFF_CHART_LOGMAR",
    "OFF_CHART_ORDER",
    "AcuityChange",
    "EyeChange",
    "Notation",
    "OffChart",
    "OffChartConvention",
    "VisualAcuity",
    "VisualFsCutPoints",
    "acuity_rank",
    "chart_letters",
    "eye_change",
    "format_decimal",
    "format_letters",
    "format_logmar",
    "format_snellen",
    "parse_acuity",
    "reaches",
    "visual_fs_from_acuity",
]
