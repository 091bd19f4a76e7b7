"""Visual acuity parsing, conversion, change and derived grades. Expected values from neuro-outcomes.md §2.1
(formulas and the logMAR/decimal reference row), §2.2 (off-chart table), §2.3 (thresholds) and §1.2 (visual
FS text, Kurtzke 1983 / Neurostatus)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.neuro.osis import osis_visual_from_acuity
from cartrial.neuro.visual_acuity import (
    AcuityChange,
    Notation,
    OffChart,
    VisualFsCutPoints,
    chart_letters,
    eye_change,
    format_decimal,
    format_letters,
    format_logmar,
    format_snellen,
    parse_acuity,
    visual_fs_from_acuity,
)


@pytest.mark.parametrize(
    ("text", "decimal", "logmar", "notation"),
    [
        ("20/40", 0.5, math.log10(2), Notation.SNELLEN_FEET),
        ("6/12", 0.5, math.log10(2), Notation.SNELLEN_METRES),
        ("20/20", 1.0, 0.0, Notation.SNELLEN_FEET),
        ("6/6", 1.0, 0.0, Notation.SNELLEN_METRES),
        ("20/200", 0.1, 1.0, Notation.SNELLEN_FEET),
        ("6/60", 0.1, 1.0, Notation.SNELLEN_METRES),
        ("decimal 0.5", 0.5, math.log10(2), Notation.DECIMAL),
        ("logMAR 0.3", 10**-0.3, 0.3, Notation.LOGMAR),
        ("0.3 logMAR", 10**-0.3, 0.3, Notation.LOGMAR),
        ("85 letters", 1.0, 0.0, Notation.ETDRS_LETTERS),
        ("ETDRS 35", 0.1, 1.0, Notation.ETDRS_LETTERS),
    ],
)
def test_parse_notations(text: str, decimal: float, logmar: float, notation: Notation) -> None:
    """§2.1: decimal = Snellen fraction; logMAR = -log10(decimal); letters = 85 - 50 logMAR; 20/x = 6/x."""
    va = parse_acuity(text)
    assert va.notation is notation
    assert va.decimal == pytest.approx(decimal, abs=1e-9)
    assert va.logmar == pytest.approx(logmar, abs=1e-9)
    assert va.native == text


@pytest.mark.parametrize(
    ("logmar", "decimal"),
    [(-0.3, 2.0), (-0.2, 1.6), (-0.1, 1.25), (0.0, 1.0), (0.1, 0.8), (0.2, 0.63), (0.3, 0.5), (0.4, 0.4),
     (0.5, 0.32), (0.6, 0.25), (0.7, 0.2), (0.8, 0.16), (0.9, 0.125), (1.0, 0.1), (1.3, 0.05)],
)  # fmt: skip
def test_reference_row_logmar_to_decimal(logmar: float, decimal: float) -> None:
    """§2.1 reference rows (logMAR -> decimal), to the precision printed (2-3 significant digits)."""
    va = parse_acuity(f"logMAR {logmar}")
    assert va.decimal == pytest.approx(decimal, rel=0.02)


def test_snellen_letter_adjustment() -> None:
    """§2.1: one letter = 0.02 logMAR; 20/40+2 read two letters of the next line."""
    assert parse_acuity("20/40+2").logmar == pytest.approx(math.log10(2) - 0.04)
    assert parse_acuity("20/40-1").logmar == pytest.approx(math.log10(2) + 0.02)


def test_bare_number_is_ambiguous_without_notation() -> None:
    """A bare 0.5 could be decimal or logMAR: never guess (house rule); with a notation it parses."""
    with pytest.raises(InputError) as info:
        parse_acuity("0.5")
    assert "ambiguous" in str(info.value)
    assert parse_acuity("0.5", numeric_notation="decimal").logmar == pytest.approx(math.log10(2))
    assert parse_acuity("0.5", numeric_notation="logmar").logmar == pytest.approx(0.5)
    assert parse_acuity("70", numeric_notation="etdrs_letters").logmar == pytest.approx(0.3)


@pytest.mark.parametrize("text", ["", "20/", "abc", "decimal 0", "101 letters", "logMAR 3.5", "0/20", "CFX"])
def test_unparseable_acuity(text: str) -> None:
    """Unparseable or off-range values are errors naming what is allowed."""
    with pytest.raises(InputError) as info:
        parse_acuity(text)
    assert info.value.problems[0].allowed


def test_off_chart_conventions() -> None:
    """§2.2 table: conventional CF 2.1 / HM 2.4 / LP 2.7 / NLP 3.0; Schulze-Bonsel CF 0.014 HM 0.005 decimal;
    Lange CF 1.98 HM 2.28; LP/NLP not quantifiable there; default 'none' keeps them categorical."""
    assert parse_acuity("CF").logmar is None
    assert parse_acuity("CF").off_chart is OffChart.CF
    assert parse_acuity("counting fingers at 1 m").off_chart is OffChart.CF
    assert parse_acuity("NLP", convention="conventional").logmar == 3.0
    assert parse_acuity("LP", convention="conventional").logmar == 2.7
    assert parse_acuity("HM", convention="conventional").logmar == 2.4
    assert parse_acuity("CF", convention="conventional").logmar == 2.1
    assert parse_acuity("CF", convention="schulze_bonsel_2006").decimal == pytest.approx(0.014)
    assert parse_acuity("HM", convention="schulze_bonsel_2006").decimal == pytest.approx(0.005)
    assert parse_acuity("LP", convention="schulze_bonsel_2006").logmar is None
    assert parse_acuity("CF", convention="lange_2009").logmar == 1.98
    assert parse_acuity("HM", convention="lange_2009").logmar == 2.28
    assert parse_acuity("NLP", convention="lange_2009").logmar is None
    assert parse_acuity("hand motion").off_chart is OffChart.HM
    assert parse_acuity("NPL").off_chart is OffChart.NLP


@settings(max_examples=property_examples(200), deadline=None)
@given(st.floats(-0.3, 2.0))
def test_conversions_round_trip_within_notation_precision(logmar: float) -> None:
    """§2.1 conversions are inverse: format in a notation, parse back, agree within that notation's
    precision (logMAR 2 d.p. -> 0.005; letters whole -> 0.01 logMAR; decimal 3 d.p.; Snellen whole
    denominator -> half a unit of the denominator)."""
    assert parse_acuity(format_logmar(logmar)).logmar == pytest.approx(logmar, abs=0.005 + 1e-9)
    letters = 85 - 50 * logmar
    if 0 <= round(letters) <= 100:
        assert parse_acuity(format_letters(logmar)).logmar == pytest.approx(logmar, abs=0.01 + 1e-9)
    decimal = 10**-logmar
    if round(decimal, 3) > 0:
        back = parse_acuity(format_decimal(logmar, digits=3)).decimal
        assert back == pytest.approx(decimal, abs=0.0005 + 1e-9)
    for numerator in (20, 6):
        denominator = numerator * 10**logmar
        if round(denominator) >= 1:
            parsed = parse_acuity(format_snellen(logmar, numerator))
            assert parsed.snellen_20 * numerator / 20 == pytest.approx(denominator, abs=0.5 + 1e-9)


def test_eye_change_thresholds() -> None:
    """§2.3: improved when logMAR falls by >= 0.2 (default) or 0.3 (option); worsened symmetrically."""
    base = parse_acuity("20/100")  # 0.699
    assert eye_change(base, parse_acuity("20/63")).category is AcuityChange.IMPROVED  # -0.2
    assert eye_change(base, parse_acuity("20/80")).category is AcuityChange.STABLE  # -0.097
    assert eye_change(base, parse_acuity("20/63"), threshold_logmar=0.3).category is AcuityChange.STABLE
    assert eye_change(base, parse_acuity("20/50"), threshold_logmar=0.3).category is AcuityChange.IMPROVED
    assert eye_change(base, parse_acuity("20/200")).category is AcuityChange.WORSENED
    assert (
        eye_change(parse_acuity("logMAR 0.5"), parse_acuity("logMAR 0.3")).category is AcuityChange.IMPROVED
    )


def test_eye_change_off_chart_is_ordinal() -> None:
    """Off-chart levels without a numeric convention compare on their order (§2.2: never impute)."""
    change = eye_change(parse_acuity("CF"), parse_acuity("20/200"))
    assert change.category is AcuityChange.IMPROVED
    assert change.logmar_change is None
    assert eye_change(parse_acuity("HM"), parse_acuity("LP")).category is AcuityChange.WORSENED
    assert eye_change(parse_acuity("HM"), parse_acuity("HM")).category is AcuityChange.STABLE


@pytest.mark.parametrize(
    ("worse", "better", "grade"),
    [
        ("20/20", "20/20", 0),
        ("20/25", "20/20", 1),  # < 1.0, better than 0.67
        ("20/30", "20/20", 2),  # text: 20/30 to 20/59 is grade 2
        ("decimal 0.67", "20/20", 2),  # text: 0.67 to 0.34 is grade 2
        ("20/59", "20/20", 2),
        ("20/60", "20/20", 3),  # 20/60 to 20/99
        ("20/99", "20/20", 3),
        ("20/100", "20/20", 4),  # 20/100 to 20/200
        ("20/200", "20/20", 4),
        ("20/400", "20/20", 5),  # worse than 20/200
        ("CF", "20/20", 5),
        ("20/60", "20/60", 4),  # grade 3 plus better eye <= 0.33
        ("20/200", "20/70", 5),  # grade 4 plus better eye <= 0.33
        ("NLP", "20/100", 6),  # grade 5 plus better eye <= 0.33
        ("20/50", "20/50", 2),  # better eye 0.4 > 0.33: no upgrade
    ],
)
def test_visual_fs_from_acuity(worse: str, better: str, grade: int) -> None:
    """§1.2 visual FS text (Kurtzke 1983 / Neurostatus), acuity-only lower bound."""
    assert visual_fs_from_acuity(parse_acuity(worse), parse_acuity(better)) == grade
    assert visual_fs_from_acuity(parse_acuity(better), parse_acuity(worse)) == grade


@pytest.mark.parametrize(
    ("text", "grade"),
    [("20/20", 0), ("20/25", 0), ("20/30", 2), ("20/59", 2), ("20/60", 3), ("20/199", 3), ("20/200", 4),
     ("20/800", 4), ("CF", 5), ("LP", 6), ("NLP", 7), ("HM", 5)],
)  # fmt: skip
def test_osis_visual_from_acuity(text: str, grade: int) -> None:
    """Wingerchuk 1999 Table 1 visual subscale (neuro-outcomes §3); HM default 5 (documented option)."""
    assert osis_visual_from_acuity(parse_acuity(text)) == grade


def test_osis_hand_motion_option() -> None:
    """HM is not named in Wingerchuk's table: option 6 places it with light perception."""
    assert osis_visual_from_acuity(parse_acuity("HM"), hand_motion_grade=6) == 6


def test_etdrs_letters_only_on_the_letter_scale() -> None:
    """§2.1: letters = 85 - 50 logMAR on the ETDRS scale 0-100 (logMAR 1.7 to -0.3). Off-chart levels read
    no letters, so they have no letter score under any convention (§2.2: never impute), and a chart acuity
    beyond logMAR 1.7 (20/1000 = 1.699 is the last on the scale) has none either (the formula would give a
    negative count: 20/2000 -> -15)."""
    assert parse_acuity("CF", convention="conventional").etdrs_letters is None
    assert parse_acuity("HM", convention="lange_2009").etdrs_letters is None
    assert parse_acuity("20/2000").etdrs_letters is None
    assert parse_acuity("logMAR 1.7").etdrs_letters == pytest.approx(0.0)
    assert parse_acuity("20/1000").etdrs_letters == pytest.approx(85 - 50 * 1.69897, abs=1e-4)
    assert parse_acuity("logMAR -0.3").etdrs_letters == pytest.approx(100.0)
    assert parse_acuity("20/40").etdrs_letters == pytest.approx(85 - 50 * 0.30103, abs=1e-4)


def test_visual_fs_grade1_cut_both_readings() -> None:
    """§1.2: the Kurtzke/Neurostatus text ([V]) puts "0.67 to 0.34" in grade 2 (default cut: grade 1 only
    above 0.67); the derived continuous cut ([D]) is grade 1 above 0.667, which puts a recorded decimal 0.67
    in grade 1. Both readings agree on Snellen 20/30 (0.667: grade 2) and 20/25 (0.8: grade 1)."""
    derived = VisualFsCutPoints(grade1_above=0.667)
    normal = parse_acuity("20/20")
    assert visual_fs_from_acuity(parse_acuity("decimal 0.67"), normal) == 2
    assert visual_fs_from_acuity(parse_acuity("decimal 0.67"), normal, derived) == 1
    for text, grade in (("20/30", 2), ("20/25", 1), ("decimal 0.66", 2)):
        assert visual_fs_from_acuity(parse_acuity(text), normal) == grade
        assert visual_fs_from_acuity(parse_acuity(text), normal, derived) == grade


@settings(max_examples=property_examples(200), deadline=None)
@given(st.floats(-0.3, 2.0), st.floats(0.0, 0.5), st.floats(-0.3, 2.0))
def test_worse_acuity_never_lowers_visual_fs_or_osis(logmar: float, worse_by: float, other: float) -> None:
    """§1.2 and Wingerchuk 1999 Table 1: both grades are ordered by acuity, so a worse acuity (higher logMAR)
    in one eye never gives a lower visual FS (worse or better eye) or a lower OSIS visual grade."""
    better = parse_acuity(format_logmar(logmar, digits=3))
    worse = parse_acuity(format_logmar(min(logmar + worse_by, 2.0), digits=3))
    fellow = parse_acuity(format_logmar(other, digits=3))
    assert visual_fs_from_acuity(worse, fellow) >= visual_fs_from_acuity(better, fellow)
    assert osis_visual_from_acuity(worse) >= osis_visual_from_acuity(better)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # neuro-outcomes.md §2.1 reference row [V]: decimal 0.4 = logMAR 0.4, 0.63 = 0.2, 0.32 = 0.5,
        # 0.5 = 0.3, 0.16 = 0.8, 0.25 = 0.6, 1.25 = -0.1, 0.8 = 0.1: each pair is two chart lines (0.2)
        ("decimal 0.4", "decimal 0.63"),
        ("decimal 0.32", "decimal 0.5"),
        ("decimal 0.16", "decimal 0.25"),
        ("decimal 0.8", "decimal 1.25"),
        # the same lines as printed on a Snellen chart (20/32 is logMAR 0.2, 20/63 0.5, 20/125 0.8)
        ("20/50", "20/32"),
        ("20/63", "20/40"),
        ("20/125", "20/80"),
        ("6/15", "6/9.5"),
    ],
)
def test_eye_change_two_chart_lines_is_0_2_logmar(before: str, after: str) -> None:
    """§2.1/§2.3: one chart line = 0.1 logMAR = 5 letters, so a two-line gain is the 0.2 logMAR (10 letter)
    threshold, whatever rounding the printed Snellen or decimal value carries (D-19.683). Worsening is
    symmetric."""
    better, worse = parse_acuity(after), parse_acuity(before)
    assert eye_change(worse, better).category is AcuityChange.IMPROVED
    assert eye_change(better, worse).category is AcuityChange.WORSENED


@pytest.mark.parametrize(
    ("before", "after", "category"),
    [
        ("logMAR 0.50", "logMAR 0.31", AcuityChange.STABLE),  # 9.5 letters: short of 10
        ("logMAR 0.50", "logMAR 0.30", AcuityChange.IMPROVED),  # 10 letters
        ("logMAR 0.30", "logMAR 0.49", AcuityChange.STABLE),
        ("70 letters", "79 letters", AcuityChange.STABLE),  # 9 letters
        ("70 letters", "80 letters", AcuityChange.IMPROVED),
        ("70 letters", "60 letters", AcuityChange.WORSENED),
    ],
)
def test_eye_change_counts_whole_letters(before: str, after: str, category: AcuityChange) -> None:
    """A change is counted in whole letters (0.02 logMAR, §2.1); half a letter short stays short
    (D-19.683)."""
    assert eye_change(parse_acuity(before), parse_acuity(after)).category is category


@given(st.integers(0, 100), st.integers(0, 100))
@settings(max_examples=property_examples(200), deadline=None)
def test_eye_change_on_letter_scores_is_exact(a: int, b: int) -> None:
    """On ETDRS letter scores the 0.2 logMAR threshold is exactly 10 letters (§2.1: 5 letters a line)."""
    change = eye_change(parse_acuity(f"{a} letters"), parse_acuity(f"{b} letters")).category
    expected = AcuityChange.STABLE
    if b - a >= 10:
        expected = AcuityChange.IMPROVED
    elif a - b >= 10:
        expected = AcuityChange.WORSENED
    assert change is expected


def test_score_va_rounds_a_half_letter_half_away_from_zero() -> None:
    """§2.1: letters = 85 − 50 logMAR, one letter per 0.02 logMAR. logMAR 0.31/0.33/0.35/0.37 are 69.5,
    68.5, 67.5 and 66.5 letters: reported 70, 69, 68, 67 (D-19.289 rounding, D-19.687) — each 0.02 step one
    letter — not 70, 68, 68, 66 (ties to even)."""
    from cartrial.neuro.derive import derive_visual_acuity

    acuities = ["logMAR 0.31", "logMAR 0.33", "logMAR 0.35", "logMAR 0.37"]
    form = "subject_id,assessed_at,eye,acuity\n" + "".join(
        f"S{i},2021-03-01,OD,{text}\n" for i, text in enumerate(acuities)
    )
    table = derive_visual_acuity(form).table
    assert table["etdrs_letters"].tolist() == [70.0, 69.0, 68.0, 67.0]
    assert format_letters(0.33) == "69 letters"


@pytest.mark.parametrize(
    ("before", "after", "threshold"),
    [
        ("logMAR 0.50", "logMAR 0.25", 0.25),  # exactly 0.25 = 12.5 letters
        ("logMAR 0.50", "logMAR 0.35", 0.15),  # exactly 0.15 = 7.5 letters
        ("logMAR 0.60", "logMAR 0.25", 0.35),  # exactly 0.35 = 17.5 letters
    ],
)
def test_eye_change_threshold_between_letters_counts_the_exact_change(
    before: str, after: str, threshold: float
) -> None:
    """A threshold that is not a whole number of letters (0.25 = 12.5 letters, §2.1: one letter = 0.02
    logMAR) is reached by an exact change of that size: letter counting only widens the rule (it rescues
    rounded chart labels), it never turns a change that reaches the threshold into a stable eye
    (D-19.683). Worsening is symmetric."""
    b, f = parse_acuity(before), parse_acuity(after)
    assert eye_change(b, f, threshold_logmar=threshold).category is AcuityChange.IMPROVED
    assert eye_change(f, b, threshold_logmar=threshold).category is AcuityChange.WORSENED


def test_eye_change_off_chart_value_is_not_counted_in_letters() -> None:
    """Off-chart levels read no chart letters (§2.2): CF under Schulze-Bonsel 2006 is decimal 0.014 =
    logMAR 1.854; to logMAR 1.66 is a fall of 0.194, short of 0.2: stable (exactly, not rounded up to 10
    letters; D-19.683)."""
    cf = parse_acuity("CF", convention="schulze_bonsel_2006")
    assert cf.logmar is not None and abs(cf.logmar - 1.854) < 0.001
    assert eye_change(cf, parse_acuity("logMAR 1.66")).category is AcuityChange.STABLE
    assert eye_change(parse_acuity("logMAR 1.66"), cf).category is AcuityChange.STABLE


@given(st.integers(-100, 100), st.floats(-0.499, 0.499))
@settings(max_examples=property_examples(300), deadline=None)
def test_chart_letters_is_the_nearest_letter(letters: int, part: float) -> None:
    """`chart_letters` is the nearest whole letter (one letter = 0.02 logMAR, §2.1): k letters plus less
    than half a letter either way is k."""
    assert chart_letters((letters + part) * 0.02) == letters


@given(st.integers(-100, 100))
@settings(max_examples=property_examples(100), deadline=None)
def test_chart_letters_half_letter_is_rounded_down(letters: int) -> None:
    """A value exactly half way between two letters is the smaller (D-19.683): half a letter short of a
    threshold or a minimum is short, whichever sign."""
    assert chart_letters((letters + 0.5) * 0.02) == letters
