"""Blood cell count units: the one table of their spellings and factors (D-19.844).

A haematology count (neutrophils, platelets, lymphocytes, white cells) is written by laboratories in many
notations of two sizes: per 10^9 litres' worth (10^9/L = G/L = /nL = 10^3/µL = 10^3/mm³) and per microlitre
(/µL = /mm³ = 10^6/L; 1 mm³ = 1 µL exactly). `COUNT_UNIT_SPELLINGS` lists every spelling cartrial accepts
with its exact factor to 10^9/L; `count_unit_factor` reads a unit through the one normalisation (case,
spaces, the micro sign and the Greek mu as ``u``, ``10³`` as ``10^3`` and any other ``³`` as ``3``,
superscript exponents, ``×`` as ``x``;
``G/L`` only with a capital G, lower-case ``g/L`` being grams per litre). The grading engine (CTCAE, ICAHT,
the laboratory forms, the store's edit checks), the report's blood-count figure and the eligibility
screening all read counts through it, so a spelling accepted by one is accepted by every one alike.
"""

from __future__ import annotations

from fractions import Fraction

COUNT_CANONICAL_UNIT = "10^9/L"
"""The canonical unit of a blood cell count (CTCAE v5.0 states its thresholds in it)."""

COUNT_UNIT_SPELLINGS: dict[str, Fraction] = {
    # the spelling as listed to users → exact factor to 10^9/L
    "10^9/L": Fraction(1),
    "x10^9/L": Fraction(1),
    "10*9/L": Fraction(1),  # UCUM
    "10e9/L": Fraction(1),
    "x10e9/L": Fraction(1),  # analyser exports (x10E9/L)
    "G/L": Fraction(1),  # giga per litre (capital G only), used by some European laboratories
    "/nL": Fraction(1),  # 10^9 per 10^9 nL
    "cells/nL": Fraction(1),
    "10^3/uL": Fraction(1),  # 10^3 per 10^-6 L = 10^9/L
    "x10^3/uL": Fraction(1),
    "10*3/uL": Fraction(1),  # UCUM
    "10^3/mm3": Fraction(1),
    "x10^3/mm3": Fraction(1),
    "10e3/uL": Fraction(1),
    "x10e3/uL": Fraction(1),  # analyser exports (x10E3/uL)
    "K/uL": Fraction(1),
    "/uL": Fraction(1, 1000),  # 1 per 10^-6 L = 10^6/L = 10^-3 × 10^9/L
    "cells/uL": Fraction(1, 1000),
    "/mm3": Fraction(1, 1000),
    "cells/mm3": Fraction(1, 1000),
    "10^6/L": Fraction(1, 1000),  # the CDISC UNIT (C71620) submission value of /uL and /mm3
    "x10^6/L": Fraction(1, 1000),
    "10*6/L": Fraction(1, 1000),  # UCUM
    "10e6/L": Fraction(1, 1000),
    "x10e6/L": Fraction(1, 1000),
}

_FOLDS: tuple[tuple[str, str], ...] = (
    ("\u03bc", "u"),  # Greek mu (the micro sign lower-cases to it)
    ("\u00b5", "u"),  # micro sign
    ("\u00d7", "x"),  # multiplication sign: ×10^9/L
    # a superscript power of ten first (D-19.848): 10³/µL is 10^3/uL, not "103/ul" by the fold of mm³
    ("10\u00b3", "10^3"),
    ("10\u2079", "10^9"),
    ("10\u2076", "10^6"),
    ("\u00b3", "3"),  # mm³
    ("\u2079", "^9"),  # 10⁹/L
    ("\u2076", "^6"),  # 10⁶/L
)


def unit_key(unit: str) -> str:
    """The spelling-normalised form of a unit (spaces dropped, lower case, ``µ``/``μ`` as ``u``, ``³`` as
    ``3``, ``⁹`` as ``^9``, ``×`` as ``x``), by which units are looked up.

    >>> unit_key(" Cells / mm³"), unit_key("×10⁹/L"), unit_key("10³/mm³")
    ('cells/mm3', 'x10^9/l', '10^3/mm3')
    """
    key = "".join(unit.split()).lower()
    for old, new in _FOLDS:
        key = key.replace(old, new)
    return key


_BY_KEY: dict[str, Fraction] = {
    unit_key(spelling): factor for spelling, factor in COUNT_UNIT_SPELLINGS.items()
}


def count_unit_factor(unit: object) -> Fraction | None:
    """The exact factor from `unit` to 10^9/L when it is a count unit of `COUNT_UNIT_SPELLINGS` (in any
    spelling `unit_key` folds), else None (``g/L`` in lower case is grams per litre, not giga per litre).

    >>> count_unit_factor("cells/µL"), count_unit_factor("G/L"), count_unit_factor("g/L")
    (Fraction(1, 1000), Fraction(1, 1), None)
    """
    if not isinstance(unit, str):
        return None
    key = unit_key(unit)
    if key == "g/l" and not unit.strip().startswith("G"):
        return None
    return _BY_KEY.get(key)


__all__ = ["COUNT_CANONICAL_UNIT", "COUNT_UNIT_SPELLINGS", "count_unit_factor", "unit_key"]
