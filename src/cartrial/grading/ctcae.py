"""CTCAE haematology grades from laboratory values, with explicit unit conversion.

Source: NCI Common Terminology Criteria for Adverse Events v5.0 (and the v6.0 changes), as encoded in
pharmaverse admiral (`atoxgr_criteria_ctcv5`, `atoxgr_criteria_ctcv6`; test file
``tests/testthat/test-derive_var_atoxgr.R``); docs/science/toxicity-grading.md §4.

Conventions (§4): "< a - b" reads "below a and at least b"; a value exactly at a threshold falls in the
milder grade; grade 1 needs a value below the LLN given with the result; values are converted to a canonical
unit (10^9/L for counts, g/L for haemoglobin) before grading, and an unknown unit is an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from cartrial.allowed import Allowed, check_argument, check_flag, choice_text, enum_member, gap_to_none
from cartrial.errors import InputError, OptionError, Problem
from cartrial.protocol.analysis_spec import CTCAE_VERSIONS
from cartrial.protocol.lab_units import COUNT_UNIT_SPELLINGS, count_unit_factor, unit_key
from cartrial.rounding import decimal_shift

CTCAE_SOURCE_V5 = (
    "NCI CTCAE v5.0, Investigations/Blood and lymphatic system disorders, as encoded in pharmaverse admiral "
    "atoxgr_criteria_ctcv5 (test-derive_var_atoxgr.R)"
)
CTCAE_SOURCE_V6 = "NCI CTCAE v6.0 as encoded in pharmaverse admiral atoxgr_criteria_ctcv6"
SUPPORTED_VERSIONS = CTCAE_VERSIONS
"""The versions with criteria here (declared once in the protocol, which chooses among them)."""


class Analyte(StrEnum):
    """Haematology analytes graded by CTCAE."""

    NEUTROPHILS = "neutrophils"
    PLATELETS = "platelets"
    HEMOGLOBIN = "hemoglobin"
    LYMPHOCYTES = "lymphocytes"
    WBC = "wbc"


ANALYTES: tuple[Analyte, ...] = tuple(Analyte)

CANONICAL_UNIT: dict[Analyte, str] = {
    Analyte.NEUTROPHILS: "10^9/L",
    Analyte.PLATELETS: "10^9/L",
    Analyte.LYMPHOCYTES: "10^9/L",
    Analyte.WBC: "10^9/L",
    Analyte.HEMOGLOBIN: "g/L",
}

HEMOGLOBIN_G_DL_PER_MMOL_L = 1.0 / 0.6206
"""1 mmol/L haemoglobin (monomer) = 1.611 g/dL: the conventional factor g/dL × 0.6206 = mmol/L."""

_HEMOGLOBIN_UNITS: dict[str, float] = {
    # factor to g/L
    "g/l": 1.0,
    "g/dl": 10.0,
    "mmol/l": 10.0 * HEMOGLOBIN_G_DL_PER_MMOL_L,
}


def allowed_units(analyte: Analyte | str) -> tuple[str, ...]:
    """The unit spellings accepted for `analyte` (case-insensitive except the count unit 'G/L'; 'µ' may be
    written for 'u', '³' for '3', '×' for 'x'; counts: `cartrial.protocol.lab_units.COUNT_UNIT_SPELLINGS`,
    D-19.844)."""
    if Analyte(analyte) is Analyte.HEMOGLOBIN:
        return tuple(_HEMOGLOBIN_UNITS)
    return tuple(COUNT_UNIT_SPELLINGS)


def _unit_key(unit: str) -> str:
    """The spelling-normalised form of a unit, as `unit_factor` reads it (`cartrial.protocol.lab_units.
    unit_key`)."""
    return unit_key(unit)


def unit_factor(analyte: Analyte | str, unit: str) -> float:
    """Multiplier from `unit` to the canonical unit of `analyte` (10^9/L for counts, g/L for haemoglobin).

    1 ×10^9/L = 1000/µL = 1000/mm³; 1 g/dL = 10 g/L; haemoglobin mmol/L × 16.11 = g/L. A missing or
    unknown unit is an `InputError` at the field ``unit`` listing the allowed units, without the unit given
    (a stored record's value is never shown, D-12.2; D-19.844). Source: docs/science/toxicity-grading.md
    §4 (units).

    >>> unit_factor("neutrophils", "cells/µL"), unit_factor("hemoglobin", "g/dL")  # to 10^9/L, g/L
    (0.001, 10.0)
    """
    kind = enum_member(Analyte, analyte, "analyte")
    allowed = choice_text(allowed_units(kind))
    if not isinstance(unit, str):
        raise InputError(Problem("not a unit", field="unit", allowed=allowed))
    key = _unit_key(unit)
    message = f"unknown unit for {kind.value}"
    if kind is Analyte.HEMOGLOBIN:
        if key in _HEMOGLOBIN_UNITS:
            return _HEMOGLOBIN_UNITS[key]
    else:
        factor = count_unit_factor(unit)
        if factor is not None:
            return float(factor)
        if key == "g/l":
            # "G/L" (giga per litre) is a count unit; lower-case "g/L" is grams per litre, a haemoglobin
            # unit: accepting it for a count would be a guess.
            message += " (g/L is a mass concentration; counts use 10^9/L or G/L)"
    raise InputError(Problem(message, field="unit", allowed=allowed))


def _ten_power(factor: float) -> int | None:
    """k when `factor` is 10^k (|k| ≤ 12), else None."""
    if not factor > 0 or not math.isfinite(factor):
        return None
    k = round(math.log10(factor))
    return k if abs(k) <= 12 and factor == 10.0**k else None


def to_canonical(values: Any, factor: Any) -> npt.NDArray[np.float64]:
    """`values` × `factor` (one factor, or one per value, from `unit_factor`): a power of ten moves each
    number's decimal point (`cartrial.rounding.decimal_shift`: 18 cells/µL is exactly the double of
    0.018 ×10^9/L, never 18 * 0.001 = 0.018000000000000002; D-19.846), any other factor (haemoglobin in
    mmol/L) is a product.

    >>> to_canonical([450.0, 1500.0], 0.001).tolist(), to_canonical([13.0], 10.0).tolist()
    ([0.45, 1.5], [130.0])
    """
    given = np.asarray(values, dtype=float)
    number = given.reshape(-1)
    factors = np.broadcast_to(np.asarray(factor, dtype=float), given.shape).reshape(-1)
    out = number * factors
    for distinct in np.unique(factors[~np.isnan(factors)]).tolist():
        k = _ten_power(distinct)
        if k is not None and k != 0:
            rows = factors == distinct
            out[rows] = decimal_shift(number[rows], k)
    return out.reshape(given.shape)


def canonical_counts(analytes: Any, values: Any, units: Any) -> npt.NDArray[np.float64]:
    """`values` of haematology `analytes` (each row's own) in their canonical unit (`unit_factor`): the one
    conversion the report's blood-count figure draws (D-19.844). A blank value is NaN; an unknown unit is
    the `InputError` of `unit_factor` (row given 1-based, no value shown).

    >>> canonical_counts(["neutrophils", "platelets"], [450, 0.2], ["cells/mm³", "10^3/µL"]).tolist()
    [0.45, 0.2]
    """
    analyte_list, unit_list = list(analytes), list(units)
    out = np.full(len(analyte_list), np.nan)  # each row's factor, then its canonical value
    factors: dict[tuple[str, object], float] = {}
    for i, (analyte, unit) in enumerate(zip(analyte_list, unit_list, strict=True)):
        pair = (str(analyte), unit if isinstance(unit, str) else None)
        if pair not in factors:
            try:
                factors[pair] = unit_factor(pair[0], unit if isinstance(unit, str) else None)  # type: ignore[arg-type]
            except InputError as error:
                problem = error.problems[0]
                raise InputError(
                    Problem(problem.message, row=i + 1, field="unit", allowed=problem.allowed)
                ) from None
        out[i] = factors[pair]
    return to_canonical(values, out)


@dataclass(frozen=True)
class _Criteria:
    term: str
    # grade 2, 3, 4 upper bounds (value < bound) in the canonical unit; None: no such laboratory grade
    bounds: tuple[float | None, float | None, float | None]
    grade1_below_lln: bool
    grade1_bound: float | None = None  # v6 neutrophils: fixed grade-1 bound instead of the LLN
    # Bounds the criteria state in another unit (unit key as `_unit_key` gives it → grade 2, 3, 4 bounds in
    # that unit). CTCAE v5.0 "Anemia" gives 6.2 and 4.9 mmol/L, which are not 100 and 80 g/L converted.
    unit_bounds: tuple[tuple[str, tuple[float | None, float | None, float | None]], ...] = ()

    def bounds_for(self, unit_key: str) -> tuple[tuple[float | None, float | None, float | None], str | None]:
        """(grade 2-4 bounds in the unit `unit_key`, or the canonical bounds; the unit they are stated in,
        None for the canonical unit)."""
        for key, bounds in self.unit_bounds:
            if key == unit_key:
                return bounds, key
        return self.bounds, None


_V5: dict[Analyte, _Criteria] = {
    Analyte.NEUTROPHILS: _Criteria("Neutrophil count decreased", (1.5, 1.0, 0.5), True),
    Analyte.PLATELETS: _Criteria("Platelet count decreased", (75.0, 50.0, 25.0), True),
    # Anaemia grade 4 ("life-threatening consequences") has no laboratory threshold: lab-only grade ≤ 3 [U].
    # CTCAE v5.0 states the anaemia thresholds per unit: < 10.0-8.0 g/dL, < 100-80 g/L, < 6.2-4.9 mmol/L.
    Analyte.HEMOGLOBIN: _Criteria(
        "Anemia", (100.0, 80.0, None), True, unit_bounds=(("mmol/l", (6.2, 4.9, None)),)
    ),
    Analyte.LYMPHOCYTES: _Criteria("Lymphocyte count decreased", (0.8, 0.5, 0.2), True),
    Analyte.WBC: _Criteria("White blood cell decreased", (3.0, 2.0, 1.0), True),
}
_V6: dict[Analyte, _Criteria] = {
    Analyte.NEUTROPHILS: _Criteria("Neutrophil count decreased", (1.0, 0.5, 0.1), False, grade1_bound=1.5),
    Analyte.PLATELETS: _Criteria("Thrombocytopenia", (75.0, 50.0, 10.0), True),
}


def _criteria(analyte: Analyte, version: str) -> _Criteria:
    if version == "5.0":
        return _V5[analyte]
    if version == "6.0":
        if analyte not in _V6:
            raise OptionError(
                Problem(
                    f"CTCAE v6.0 thresholds for {analyte.value} are not implemented (the reference gives "
                    "v6.0 changes for neutrophils and platelets only)",
                    field="ctcae_version",
                    value=version,
                    allowed="5.0 (6.0 for neutrophils and platelets only)",
                )
            )
        return _V6[analyte]
    raise OptionError(
        Problem(
            "CTCAE version not implemented",
            field="ctcae_version",
            value=version,
            allowed=" | ".join(SUPPORTED_VERSIONS),
        )
    )


def grade_bands(
    analyte: Analyte | str, ctcae_version: str = "5.0"
) -> tuple[tuple[float, float | None, int], ...]:
    """The laboratory grade bands of `analyte` by CTCAE `ctcae_version` in its canonical unit, grade 1 to 4:
    (lower, upper, grade), a value in [lower, upper) has that grade; the grade-1 upper bound is the LLN (None)
    unless the version fixes it (v6.0 neutrophils: 1.5 ×10^9/L). A grade without a laboratory threshold is
    left out, and the lowest band that exists reaches down to 0 (anaemia: no grade 4; its grade 3 is [0, 80)
    g/L, D-19.1401). The thresholds `grade_lab` grades by (one rule; the report's blood-count figure draws
    them, D-19.1217).

    >>> grade_bands("neutrophils"), grade_bands("neutrophils", "6.0")[0]
    (((1.5, None, 1), (1.0, 1.5, 2), (0.5, 1.0, 3), (0.0, 0.5, 4)), (1.0, 1.5, 1))
    >>> grade_bands("hemoglobin")
    ((100.0, None, 1), (80.0, 100.0, 2), (0.0, 80.0, 3))
    """
    criteria = _criteria(enum_member(Analyte, analyte, "analyte"), ctcae_version)
    # grades 2-4 with a laboratory threshold (value < upper), mildest first
    graded = [
        (upper, grade) for upper, grade in zip(criteria.bounds, (2, 3, 4), strict=True) if upper is not None
    ]
    out: list[tuple[float, float | None, int]] = []
    if graded:
        out.append((graded[0][0], criteria.grade1_bound, 1))
    # each band reaches down to the next worse threshold; the lowest band that exists reaches down to 0
    # (anaemia: grade 3 < 80 g/L, grade 4 has no laboratory threshold)
    for i, (upper, grade) in enumerate(graded):
        out.append((graded[i + 1][0] if i + 1 < len(graded) else 0.0, upper, grade))
    return tuple(out)


def ctcae_term(analyte: Analyte | str, ctcae_version: str = "5.0") -> str:
    """The CTCAE term graded for `analyte` (e.g. 'Neutrophil count decreased').

    >>> ctcae_term("platelets")
    'Platelet count decreased'
    """
    return _criteria(Analyte(analyte), ctcae_version).term


@dataclass(frozen=True)
class LabGrade:
    """CTCAE grade of one laboratory value, with the converted value and the rule that applied."""

    grade: int
    rule: str
    term: str
    value_canonical: float
    lln_canonical: float | None
    canonical_unit: str
    ctcae_version: str
    lln_required_for_higher_grades: bool
    scale: str
    source: str


def _rule_text(
    grade: int,
    criteria: _Criteria,
    unit: str,
    version: str,
    require_lln: bool,
    bounds: tuple[float | None, float | None, float | None] | None = None,
) -> str:
    """The rule text of a grade; `bounds` (with `unit` their unit) when the criteria state the thresholds in
    the reported unit (`_Criteria.unit_bounds`)."""
    if bounds is not None:
        criteria = _Criteria(criteria.term, bounds, criteria.grade1_below_lln, criteria.grade1_bound)
    if grade == 0:
        if criteria.grade1_below_lln:
            return "grade 0: at or above the LLN" + (
                " (or not below the LLN; lln_required_for_higher_grades=true)" if require_lln else ""
            )
        return f"grade 0: ≥ {criteria.grade1_bound:g} {unit}"
    if grade == 1:
        if criteria.grade1_below_lln:
            upper = criteria.bounds[0]
            return f"grade 1: below the LLN and ≥ {upper:g} {unit}"
        return f"grade 1: < {criteria.grade1_bound:g} and ≥ {criteria.bounds[0]:g} {unit}"
    if grade == 4 and criteria.bounds[2] is None:
        return "grade 4: anaemia with life-threatening consequences (recorded; life_threatening_anemia=true)"
    bound = criteria.bounds[grade - 2]
    assert bound is not None
    lower = criteria.bounds[grade - 1] if grade < 4 else None
    text = f"grade {grade}: < {bound:g} {unit}" + (f" and ≥ {lower:g}" if lower is not None else "")
    if grade == 3 and criteria.bounds[2] is None:
        text += " (laboratory-only anaemia grade is capped at 3)"
    return text


_LAB_VALUE = Allowed(low=0, label="a finite number ≥ 0 in the unit given")
_LLN_TEXT = "a finite number > 0 in the unit given"
_LLN_ABOVE = 0.0
_LLN = Allowed(low=_LLN_ABOVE, low_exclusive=True, optional=True, label=f"{_LLN_TEXT}, or none (no LLN)")
LLN_NOT_GRADABLE = "an LLN of 0 bounds no CTCAE grade: not graded"
"""The problem of a haematology row whose LLN is 0: CTCAE grade 1 is "< LLN", and no value is below 0 (the
row stays a count for ICAHT; D-19.959)."""
LLN_GRADABLE_ALLOWED = f"{_LLN_TEXT} to grade by CTCAE"


def lln_gradable(lln: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether each LLN can bound CTCAE grade 1 ("< LLN"): a number above 0, `grade_lab`'s rule (`_LLN`) and
    `cartrial.grading.frames.derive_lab_grades`'s (D-19.79, D-19.959). NaN (a row already refused) is False.

    >>> lln_gradable([1.8, 0.0]).tolist()
    [True, False]
    """
    with np.errstate(invalid="ignore"):
        return np.asarray(np.asarray(lln, dtype=float) > _LLN_ABOVE, dtype=bool)


def grade_lab(
    analyte: Analyte | str,
    value: float,
    unit: str,
    lln: float | None,
    *,
    ctcae_version: str = "5.0",
    lln_required_for_higher_grades: bool = False,
    life_threatening_anemia: bool = False,
) -> LabGrade:
    """CTCAE grade of one haematology value: neutrophil, platelet, lymphocyte or white-cell count decreased,
    or anaemia.

    `value` and `lln` are in `unit` (converted explicitly; see `unit_factor`). v5.0 thresholds (×10^9/L;
    haemoglobin g/L): neutrophils <LLN-1.5, <1.5-1.0, <1.0-0.5, <0.5; platelets <LLN-75, <75-50, <50-25,
    <25; haemoglobin <LLN-100, <100-80, <80 (lab-only grade capped at 3 [U]) — a haemoglobin in mmol/L is
    graded on the mmol/L thresholds CTCAE v5.0 states, <LLN-6.2, <6.2-4.9, <4.9 mmol/L, which are not the
    g/L ones converted (decisions D-3.4); lymphocytes <LLN-0.8,
    <0.8-0.5, <0.5-0.2, <0.2; WBC <LLN-3.0, <3.0-2.0, <2.0-1.0, <1.0. A value exactly at a threshold is the
    milder grade. v6.0 (neutrophils and platelets only): neutrophils <1.5-1.0, <1.0-0.5, <0.5-0.1, <0.1 (no
    LLN); platelets ("Thrombocytopenia") as v5 but grade 4 <10. Source: CTCAE v5.0/v6.0 as encoded in
    admiral (docs/science/toxicity-grading.md §4, §4.1).

    `lln_required_for_higher_grades` (ambiguity of §4, not settled [U], awaiting confirmation): default
    False, grades 2-4 use the absolute thresholds only; True requires every grade ≥ 1 to be below the
    LLN as well.

    `life_threatening_anemia`: anaemia grades 3-4 have clinical components; the laboratory-only grade is
    capped at 3, and a haemoglobin below the LLN is grade 4 only when life-threatening consequences are
    recorded (docs/science/toxicity-grading.md §4 [U], awaiting confirmation). Ignored for other analytes.

    A value that is negative, infinite or NaN, and an LLN that is not a positive number (NaN is no LLN),
    are an `InputError` naming the argument, never a grade (D-19.79).

    >>> grade_lab("neutrophils", 0.4, "10^9/L", 1.8).grade  # ANC < 0.5 x10^9/L: grade 4
    4
    """
    kind = enum_member(Analyte, analyte, "analyte")
    criteria = _criteria(kind, ctcae_version)
    factor = unit_factor(kind, unit)
    check_argument("value", value, _LAB_VALUE)
    lln = gap_to_none(lln)  # a NaN LLN (a gap in a column) is no LLN
    check_argument("lln", lln, _LLN)
    lln_required = check_flag("lln_required_for_higher_grades", lln_required_for_higher_grades)
    life_threatening_anemia = check_flag("life_threatening_anemia", life_threatening_anemia)
    x = float(to_canonical(float(value), factor))
    lln_c = None if lln is None else float(to_canonical(float(lln), factor))
    if criteria.grade1_below_lln and lln_c is None:
        raise InputError(
            Problem(
                f"the LLN is required to grade {kind.value} by CTCAE v{ctcae_version}",
                field="lln",
                allowed=_LLN_TEXT,
            )
        )
    # thresholds the criteria state in the reported unit (anaemia in mmol/L) are compared in that unit: the
    # value and the bound are converted by the same factor, so a value on the bound stays on it
    unit_bounds, stated_unit = criteria.bounds_for(_unit_key(unit))
    bounds = tuple(None if b is None else b * factor for b in unit_bounds) if stated_unit else criteria.bounds
    grade = 0
    for g, bound in zip((2, 3, 4), bounds, strict=True):
        if bound is not None and x < bound:
            grade = g
    if grade == 0:
        grade1_bound = lln_c if criteria.grade1_below_lln else criteria.grade1_bound
        assert grade1_bound is not None
        if x < grade1_bound:
            grade = 1
    if lln_required and criteria.grade1_below_lln and lln_c is not None and x >= lln_c:
        grade = 0
    if kind is Analyte.HEMOGLOBIN and life_threatening_anemia and grade >= 1:
        grade = 4
    canonical = CANONICAL_UNIT[kind]
    text_unit, text_bounds = (unit.strip(), unit_bounds) if stated_unit else (canonical, None)
    return LabGrade(
        grade=grade,
        rule=_rule_text(grade, criteria, text_unit, ctcae_version, lln_required, text_bounds),
        term=criteria.term,
        value_canonical=x,
        lln_canonical=lln_c,
        canonical_unit=canonical,
        ctcae_version=ctcae_version,
        lln_required_for_higher_grades=lln_required,
        scale=f"CTCAE v{ctcae_version}",
        source=CTCAE_SOURCE_V5 if ctcae_version == "5.0" else CTCAE_SOURCE_V6,
    )


@dataclass(frozen=True)
class LabGradeArrays:
    """Column-wise CTCAE grades (values already in canonical units)."""

    grade: npt.NDArray[np.int8]
    rule: npt.NDArray[np.object_]
    term: npt.NDArray[np.object_]
    ctcae_version: str
    lln_required_for_higher_grades: bool


def grade_labs_arrays(
    analyte_code: npt.NDArray[np.integer[Any]],
    value_canonical: npt.NDArray[np.float64],
    lln_canonical: npt.NDArray[np.float64],
    *,
    ctcae_version: str = "5.0",
    lln_required_for_higher_grades: bool = False,
    life_threatening_anemia: npt.NDArray[np.bool_] | None = None,
    units: npt.NDArray[np.object_] | None = None,
) -> LabGradeArrays:
    """CTCAE grades of many haematology values (same rules as `grade_lab`).

    `analyte_code` holds positions in `ANALYTES`; values and LLNs are in the canonical unit (see
    `unit_factor`); a NaN LLN grades as not below the LLN (validate first). Raises ConfigurationError for an
    unimplemented version/analyte pair present in the data. `life_threatening_anemia` (per row) as in
    `grade_lab`. `units`: the unit each value was reported in (as given to `unit_factor`); where the
    criteria state their thresholds in that unit (CTCAE v5.0 anaemia in mmol/L: 6.2 and 4.9 mmol/L) those
    thresholds apply, as in `grade_lab`; without `units` the canonical-unit thresholds apply to every row.
    Source: as `grade_lab`.

    >>> import numpy as np
    >>> codes = np.array([ANALYTES.index(Analyte.NEUTROPHILS)] * 2)
    >>> # ANC < 0.5 x10^9/L: grade 4; 1.0-1.5: grade 2
    >>> grade_labs_arrays(codes, np.array([0.4, 1.2]), np.array([1.8, 1.8])).grade.tolist()
    [4, 2]
    """
    codes = np.asarray(analyte_code, dtype=np.int8)
    x = np.asarray(value_canonical, dtype=float)
    lln = np.asarray(lln_canonical, dtype=float)
    grade = np.zeros(len(codes), dtype=np.int8)
    rule = np.empty(len(codes), dtype=object)
    term = np.empty(len(codes), dtype=object)
    for code in np.unique(codes):
        kind = ANALYTES[int(code)]
        criteria = _criteria(kind, ctcae_version)
        rows = codes == code
        xs = x[rows]
        # per-row grade 2-4 bounds in the canonical unit, and which stated unit each row uses (-1: canonical)
        bounds = [np.full(len(xs), np.nan if b is None else b) for b in criteria.bounds]
        variant = np.full(len(xs), -1, dtype=np.int64)
        variant_units: list[tuple[str, tuple[float | None, float | None, float | None]]] = []
        if criteria.unit_bounds and units is not None:
            row_units = np.asarray(units, dtype=object)[rows]
            spellings, inverse = np.unique(
                np.array([str(u) for u in row_units], dtype=object), return_inverse=True
            )
            for j, spelling in enumerate(spellings.tolist()):
                stated, stated_unit = criteria.bounds_for(_unit_key(spelling))
                if stated_unit is None:
                    continue
                factor = unit_factor(kind, spelling)
                members = inverse.reshape(-1) == j
                for level_bounds, b in zip(bounds, stated, strict=True):
                    level_bounds[members] = np.nan if b is None else b * factor
                variant[members] = len(variant_units)
                variant_units.append((spelling.strip(), stated))
        with np.errstate(invalid="ignore"):
            g1_bound = lln[rows] if criteria.grade1_below_lln else np.full(len(xs), criteria.grade1_bound)
            g = np.where(xs < g1_bound, 1, 0)
            for level, bound in zip((2, 3, 4), bounds, strict=True):
                g = np.where(xs < bound, level, g)  # a NaN bound (no such laboratory grade) never applies
            if lln_required_for_higher_grades and criteria.grade1_below_lln:
                g = np.where(xs >= lln[rows], 0, g)
        if kind is Analyte.HEMOGLOBIN and life_threatening_anemia is not None:
            g = np.where(np.asarray(life_threatening_anemia, dtype=bool)[rows] & (g >= 1), 4, g)
        grade[rows] = g
        texts = {
            (-1, level): _rule_text(
                level, criteria, CANONICAL_UNIT[kind], ctcae_version, lln_required_for_higher_grades
            )
            for level in range(5)
        }
        for k, (spelling, stated) in enumerate(variant_units):
            for level in range(5):
                texts[(k, level)] = _rule_text(
                    level, criteria, spelling, ctcae_version, lln_required_for_higher_grades, stated
                )
        rule[rows] = [texts[(int(k), int(v))] for k, v in zip(variant, g, strict=True)]
        term[rows] = criteria.term
    return LabGradeArrays(
        grade=grade,
        rule=rule,
        term=term,
        ctcae_version=ctcae_version,
        lln_required_for_higher_grades=lln_required_for_higher_grades,
    )


__all__ = [
    "ANALYTES",
    "CANONICAL_UNIT",
    "COUNT_UNIT_SPELLINGS",
    "CTCAE_SOURCE_V5",
    "CTCAE_SOURCE_V6",
    "HEMOGLOBIN_G_DL_PER_MMOL_L",
    "LLN_GRADABLE_ALLOWED",
    "LLN_NOT_GRADABLE",
    "SUPPORTED_VERSIONS",
    "Analyte",
    "LabGrade",
    "LabGradeArrays",
    "allowed_units",
    "canonical_counts",
    "ctcae_term",
    "grade_bands",
    "grade_lab",
    "grade_labs_arrays",
    "lln_gradable",
    "to_canonical",
    "unit_factor",
]
