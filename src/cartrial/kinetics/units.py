"""Concentration units: their one spelling and the standard unit of each dimension (D-19.759, D-19.781).

A concentration unit is free text on the PK form and in a sample table. `conc_unit_spelling` writes it one
way (spaces, the micro sign); `standard_conc_unit` recognises three dimensions whose conversion factor is
exact and known from the unit alone and gives each one standard unit:

=================================  =================  ==============================================
dimension                          standard unit      units recognised (prefix: factor)
=================================  =================  ==============================================
cells per volume                   ``cells/uL``       cells/L, dL, mL, uL, nL (or l), mm3 (= uL)
copies per mass of genomic DNA     ``copies/ug gDNA`` copies/g, mg, ug, ng, pg gDNA
copies per volume                  ``copies/mL``      copies/L, dL, mL, uL, nL (or l), mm3 (= uL)
=================================  =================  ==============================================

``cells/uL`` is the unit of absolute counts by flow cytometry, ``copies/ug gDNA`` that of transgene qPCR on
blood DNA, ``copies/mL`` that of a level in a volume of blood or plasma. Every other unit (``copies/ug``
without the ``gDNA`` that says what was weighed, ``mg/L``, ``CAR+ cells/uL``, a case other than the SI
prefix's) is not converted: it is its own unit, kept apart from every other and named as such. Units of two
dimensions (copies/ug gDNA and copies/mL) are never converted into each other: that needs a DNA yield per
volume of blood, which the form does not carry.

`to_standard` is the one conversion: the NCA, the per-subject and the population fit (through
`cartrial.kinetics.frames.validate_profiles`), the analysis's medians, the report's figure and the CDISC
export (PC.PCSTRESN/PCSTRESU, ADPC AVAL/AVALU) all call it. Each factor is a power of ten held exactly
(`fractions.Fraction`) and applied by moving the decimal point of the number as written and rounding once
(`cartrial.rounding.decimal_shift`, D-19.846): the value PC.PCSTRESC writes (`shifted_text`), so the NCA's
PP results and PC's standardized values are of one number per sample: 2.5 cells/uL is 2500 cells/mL,
2500 cells/mL is 2.5 cells/uL, and 0.03 cells/mL is 0.00003 cells/uL (the float quotient 0.03 / 1000 is
2.9999999999999997e-05).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from cartrial.rounding import decimal_shift

CELLS_PER_VOLUME = "cells per volume"
COPIES_PER_DNA_MASS = "copies per mass of genomic DNA"
COPIES_PER_VOLUME = "copies per volume"

STANDARD_CONC_UNITS: dict[str, str] = {
    CELLS_PER_VOLUME: "cells/uL",
    COPIES_PER_DNA_MASS: "copies/ug gDNA",
    COPIES_PER_VOLUME: "copies/mL",
}
"""The standard unit of each dimension `standard_conc_unit` converts (D-19.781)."""

_VOLUME_LITRES: dict[str, Fraction] = {
    "L": Fraction(1),
    "dL": Fraction(1, 10),
    "mL": Fraction(1, 10**3),
    "uL": Fraction(1, 10**6),
    "nL": Fraction(1, 10**9),
}
_VOLUMES: dict[str, Fraction] = {
    **_VOLUME_LITRES,
    **{name[:-1] + "l": size for name, size in _VOLUME_LITRES.items()},  # l, the SI's other litre symbol
    "mm3": Fraction(1, 10**6),  # 1 mm³ = 1 uL exactly
    "mm^3": Fraction(1, 10**6),
}
_MASS_GRAMS: dict[str, Fraction] = {
    "g": Fraction(1),
    "mg": Fraction(1, 10**3),
    "ug": Fraction(1, 10**6),
    "ng": Fraction(1, 10**9),
    "pg": Fraction(1, 10**12),
}
_UNIT = re.compile(r"^(?P<count>cells|copies)/(?P<per>[A-Za-z^0-9]+)(?P<dna> gDNA)?\Z")


def conc_unit_spelling(unit: object) -> str:
    """The one spelling of a concentration unit by which the analysis groups samples (D-19.759): spaces at
    the ends dropped, runs of spaces made one, the micro sign (µ, U+00B5) and the Greek mu (μ, U+03BC)
    written ``u``. Case is kept (m and M are different prefixes); the spelling converts nothing
    (`standard_conc_unit` does).

    >>> conc_unit_spelling(" copies/\u00b5g  gDNA"), conc_unit_spelling("cells/\u03bcL")
    ('copies/ug gDNA', 'cells/uL')
    """
    return " ".join(str(unit).replace("\u00b5", "u").replace("\u03bc", "u").split())


@dataclass(frozen=True)
class StandardUnit:
    """A unit's standard unit and the exact factor: value in `unit` = value as recorded × `factor`.
    `dimension` is "" for a unit not recognised (its `unit` is then its own spelling, `factor` 1)."""

    unit: str
    factor: Fraction
    dimension: str

    @property
    def converted(self) -> bool:
        """The unit is recognised and not the standard one (its values change)."""
        return self.factor != 1

    def apply(self, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """`values` × `factor`: a power of ten moves each number's decimal point and rounds once
        (`cartrial.rounding.decimal_shift`), the number PC.PCSTRESC writes, so the NCA, the analysis, the
        figures and PC.PCSTRESN/ADPC read one standard-unit value per sample (0.03 cells/mL is 3e-05
        cells/uL, never 0.03 / 1000 = 2.9999999999999997e-05; D-19.846); any other factor (none is) one
        product."""
        array = np.asarray(values, dtype=float)
        exponent = _ten_exponent(self.factor)
        if exponent is not None:
            return decimal_shift(array, exponent)
        if self.factor.denominator == 1:
            return array * float(self.factor.numerator)
        if self.factor.numerator == 1:
            return array / float(self.factor.denominator)
        return array * float(self.factor.numerator) / float(self.factor.denominator)


def _ten_exponent(factor: Fraction) -> int | None:
    """k when `factor` is 10^k exactly, else None."""
    numerator, denominator = factor.numerator, factor.denominator
    if numerator != 1 and denominator != 1:
        return None
    power = numerator if denominator == 1 else denominator
    exponent = len(str(power)) - 1
    if power != 10**exponent:
        return None
    return exponent if denominator == 1 else -exponent


def standard_conc_unit(unit: object) -> StandardUnit:
    """The standard unit of `unit`'s dimension and the factor into it (`STANDARD_CONC_UNITS`); an unknown
    unit is its own (factor 1, no dimension).

    >>> standard_conc_unit("cells/mL")
    StandardUnit(unit='cells/uL', factor=Fraction(1, 1000), dimension='cells per volume')
    >>> standard_conc_unit("copies/\u00b5L").factor, standard_conc_unit("copies/ng gDNA").factor
    (Fraction(1000, 1), Fraction(1000, 1))
    >>> standard_conc_unit("copies/ug")  # the mass of what? not converted
    StandardUnit(unit='copies/ug', factor=Fraction(1, 1), dimension='')
    """
    spelt = conc_unit_spelling(unit)
    match = _UNIT.match(spelt)
    if match is None:
        return StandardUnit(spelt, Fraction(1), "")
    count, per, dna = match["count"], match["per"], bool(match["dna"])
    if count == "copies" and dna and per in _MASS_GRAMS:
        dimension, size, standard = COPIES_PER_DNA_MASS, _MASS_GRAMS[per], _MASS_GRAMS["ug"]
    elif not dna and per in _VOLUMES:
        dimension = CELLS_PER_VOLUME if count == "cells" else COPIES_PER_VOLUME
        size = _VOLUMES[per]
        standard = _VOLUMES["uL" if count == "cells" else "mL"]
    else:
        return StandardUnit(spelt, Fraction(1), "")
    # a count per `size` is (standard / size) times as many per standard amount
    return StandardUnit(STANDARD_CONC_UNITS[dimension], standard / size, dimension)


def to_standard(
    values: npt.ArrayLike, units: Iterable[object]
) -> tuple[npt.NDArray[np.float64], list[str], list[StandardUnit]]:
    """The one conversion of concentrations into their standard units (D-19.781): (values in the standard
    unit, each value's standard unit, each value's `StandardUnit`). A blank or missing unit stays blank
    with its value unchanged; NaN stays NaN.

    >>> values, units, _ = to_standard([2500.0, 2.5, 7.0], ["cells/mL", "cells/\u00b5L", "mg/L"])
    >>> values.tolist(), units
    ([2.5, 2.5, 7.0], ['cells/uL', 'cells/uL', 'mg/L'])
    """
    array = np.asarray(values, dtype=float).copy()
    texts = ["" if _blank(unit) else str(unit) for unit in units]
    known: dict[str, StandardUnit] = {
        text: standard_conc_unit(text) if text.strip() else StandardUnit("", Fraction(1), "")
        for text in dict.fromkeys(texts)
    }
    found = [known[text] for text in texts]
    for standard in known.values():
        if standard.converted:
            rows = np.fromiter((s is standard for s in found), dtype=bool, count=len(found))
            array[rows] = standard.apply(array[rows])
    return array, [s.unit for s in found], found


def _blank(unit: object) -> bool:
    """None, NaN or pandas' NA: no unit."""
    try:
        return unit is None or bool(unit != unit)
    except (TypeError, ValueError):  # pd.NA compares to NA
        return True


def conversion_notes(units: Iterable[object]) -> list[str]:
    """A note per recorded unit converted into its standard unit (`to_standard`), in order of first
    appearance, naming the factor.

    >>> conversion_notes(["cells/uL", "cells/mL", "cells/mL"])
    ['concentrations recorded in cells/mL converted to cells/uL (× 1/1000; D-19.781)']
    """
    notes: list[str] = []
    for text in dict.fromkeys("" if _blank(u) else conc_unit_spelling(u) for u in units):
        standard = standard_conc_unit(text) if text else None
        if standard is not None and standard.converted:
            factor = f"× {standard.factor}"
            notes.append(
                f"concentrations recorded in {text} converted to {standard.unit} ({factor}; D-19.781)"
            )
    return notes


SECOND_DIMENSIONS: dict[str, tuple[str, ...]] = {"car_transgene": (COPIES_PER_VOLUME,)}
"""The dimensions, besides its declared unit's, a known analyte may legitimately be recorded in: the transgene
by ddPCR in copies per volume of blood (D-19.758), summarised apart by the analysis and exported as its own
ADPC parameter (CARTRGNV, D-19.783). The edit check PK-UNIT-DIMENSION queries only other dimensions
(D-19.784)."""


def accepted_dimensions(analyte: object) -> tuple[str, ...]:
    """The dimensions a sample of `analyte` may be in: its declared unit's (`declared_dimension`), then
    `SECOND_DIMENSIONS`'; () for an analyte without a declared unit.

    >>> accepted_dimensions("car_transgene")
    ('copies per mass of genomic DNA', 'copies per volume')
    """
    declared = declared_dimension(analyte)
    if not declared:
        return ()
    return (declared, *SECOND_DIMENSIONS.get(str(analyte), ()))


def declared_dimension(analyte: object, declared_units: dict[str, str] | None = None) -> str:
    """The dimension of `analyte`'s declared unit (`declared_units`, default
    `cartrial.kinetics.templates.PK_ANALYTE_UNITS`; D-19.783, D-19.784), "" for an analyte without one.

    >>> declared_dimension("car_transgene"), declared_dimension("car_t_cells"), declared_dimension("x")
    ('copies per mass of genomic DNA', 'cells per volume', '')
    """
    from cartrial.kinetics.templates import PK_ANALYTE_UNITS

    units = PK_ANALYTE_UNITS if declared_units is None else declared_units
    if not isinstance(analyte, str) or analyte not in units:
        return ""
    return standard_conc_unit(units[analyte]).dimension


_CANONICAL_VOLUMES: dict[str, str] = {
    **{name: name for name in _VOLUME_LITRES},
    **{name[:-1] + "l": name for name in _VOLUME_LITRES},
    "mm3": "mm3",
    "mm^3": "mm3",
}


def canonical_conc_unit(unit: object) -> str:
    """The one spelling of a recognised unit's term (`unit_spellings`, the PKUNIT term): the litre written
    ``L`` (``ml`` is ``mL``, ``ul`` is ``uL``) and ``mm^3`` written ``mm3``; any other unit in its
    `conc_unit_spelling` (D-19.782). Only the notation changes, never the unit.

    >>> canonical_conc_unit("cells/ml"), canonical_conc_unit("copies/mm^3"), canonical_conc_unit("mg/l")
    ('cells/mL', 'copies/mm3', 'mg/l')
    """
    spelt = conc_unit_spelling(unit)
    match = _UNIT.match(spelt)
    if match is None or not standard_conc_unit(spelt).dimension or match["dna"]:
        return spelt
    return f"{match['count']}/{_CANONICAL_VOLUMES[match['per']]}"


def unit_spellings(dimension: str) -> list[str]:
    """Every canonical unit spelling `standard_conc_unit` converts in `dimension` (ASCII, the standard one
    first; the lowercase litre and ``mm^3`` are converted too but written as these, `canonical_conc_unit`).

    >>> unit_spellings(COPIES_PER_DNA_MASS)
    ['copies/ug gDNA', 'copies/g gDNA', 'copies/mg gDNA', 'copies/ng gDNA', 'copies/pg gDNA']
    """
    if dimension == COPIES_PER_DNA_MASS:
        spellings = [f"copies/{mass} gDNA" for mass in _MASS_GRAMS]
    else:
        count = "cells" if dimension == CELLS_PER_VOLUME else "copies"
        spellings = [f"{count}/{volume}" for volume in dict.fromkeys(_CANONICAL_VOLUMES.values())]
    standard = STANDARD_CONC_UNITS[dimension]
    return [standard, *(s for s in spellings if s != standard)]


def shifted_text(text: object, factor: Fraction) -> str | None:
    """A recorded number as text, multiplied by a power-of-ten `factor` by moving its decimal point
    (`decimal.Decimal.scaleb`: exact, no binary noise) and written without exponent or trailing zeros;
    None when `text` is no finite decimal number or `factor` no power of ten (D-19.782).

    >>> shifted_text("1.005", Fraction(1000)), shifted_text("12345.6", Fraction(1, 1000))
    ('1005', '12.3456')
    """
    from decimal import Decimal, InvalidOperation

    numerator, denominator = factor.numerator, factor.denominator
    power = numerator if denominator == 1 else denominator
    if numerator != 1 and denominator != 1:
        return None
    exponent = len(str(power)) - 1
    if power != 10**exponent:
        return None
    try:
        number = Decimal(str(text).strip())
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    shifted = number.scaleb(exponent if denominator == 1 else -exponent)
    out = format(shifted, "f")
    if "." in out:
        out = out.rstrip("0").rstrip(".")
    return "0" if out in ("", "-0") else out
