"""One standard-unit value per sample, read by the NCA and written to PC (D-19.846).

The rule: a concentration recorded in a unit a power of ten from its standard unit is the recorded decimal
with its decimal point moved, rounded once to a double — the number PC.PCSTRESC writes. Expectations are
computed here with `decimal` (Decimal(text).scaleb(k)) from SI prefixes (1 uL = 1000 nL, 1 mL = 1000 uL,
1 ug = 1000 ng), never from the code. Before, the NCA multiplied or divided by the float power of ten, so
0.01888 cells/nL gave a Cmax of 18.880000000000003 cells/uL while PC wrote 18.88.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.cdisc.sdtm import pc_standard_text
from cartrial.kinetics.frames import derive_nca
from cartrial.kinetics.units import to_standard

# recorded unit → (standard unit, decimal exponent from the recorded unit to the standard one), by SI
EXPONENTS: dict[str, tuple[str, int]] = {
    "cells/nL": ("cells/uL", 3),  # 1 uL = 1000 nL
    "cells/mL": ("cells/uL", -3),  # 1 mL = 1000 uL
    "cells/L": ("cells/uL", -6),
    "copies/uL": ("copies/mL", 3),
    "copies/L": ("copies/mL", -3),
    "copies/ng gDNA": ("copies/ug gDNA", 3),  # 1 ug = 1000 ng
    "copies/pg gDNA": ("copies/ug gDNA", 6),
    "copies/mg gDNA": ("copies/ug gDNA", -3),
}
# recorded texts whose float product or quotient by the power of ten is off in the last digit
INEXACT = ["1.005", "0.01888", "0.00668", "2.01", "4.03", "0.03", "0.12", "1.15e3", "0.07"]


def _expected(text: str, exponent: int) -> float:
    return float(Decimal(text).scaleb(exponent))


def test_the_float_products_are_inexact_for_these_values() -> None:
    # the premise: every case here differs from the float product in one unit at least
    for text in INEXACT:
        assert any(
            float(text) * 10.0**k != _expected(text, k) or float(text) / 10.0**-k != _expected(text, k)
            for k in (3, -3, 6)
        ), text


def test_to_standard_moves_the_decimal_point() -> None:
    for unit, (standard, k) in EXPONENTS.items():
        values, units, _ = to_standard([float(t) for t in INEXACT], [unit] * len(INEXACT))
        assert units == [standard] * len(INEXACT)
        assert values.tolist() == [_expected(t, k) for t in INEXACT], unit


@settings(max_examples=property_examples(200), deadline=None)
@given(
    digits=st.integers(min_value=0, max_value=10**7),
    scale=st.integers(min_value=-8, max_value=4),
    unit=st.sampled_from(sorted(EXPONENTS)),
)
def test_engine_value_is_the_pc_standard_text(digits: int, scale: int, unit: str) -> None:
    text = format(Decimal(digits).scaleb(scale), "f")
    standard, k = EXPONENTS[unit]
    values, units, _ = to_standard([float(text)], [unit])
    assert units == [standard]
    assert values[0] == _expected(text, k)
    # PC.PCSTRESC of the same sample reads back as the very number the engine gives
    written = pc_standard_text([text], [unit], [False], [""], values, None)[0]
    assert float(written) == values[0]


def test_nca_reads_the_value_pc_writes() -> None:
    # CT-005's CAR-T cells of the example study (cells/uL 0, 58.67, 25.98, 96.88, 16.53, 18.88, 6.68) recorded
    # in cells/nL: 18.88 cells/uL is 0.01888 cells/nL, and 0.01888 * 1000 is 18.880000000000003
    texts = ["0", "0.05867", "0.02598", "0.09688", "0.01653", "0.01888", "0.00668"]
    samples = pd.DataFrame(
        {
            "subject_id": "S1",
            "day": [0, 4, 7, 10, 14, 21, 28],
            "conc": [float(t) for t in texts],
            "unit": "cells/nL",
        }
    )
    table = derive_nca(samples, subject="subject_id", time="day", conc="conc", unit_column="unit").table
    written = pc_standard_text(texts, ["cells/nL"] * len(texts), [False] * len(texts), [""] * len(texts))
    pc_numbers = [float(w) for w in written]
    assert pc_numbers == [_expected(t, 3) for t in texts]
    assert float(table["cmax"].iloc[0]) == max(pc_numbers) == 96.88
    assert float(table["clast"].iloc[0]) == pc_numbers[-1] == 6.68
    assert np.isclose(float(table["cmax"].iloc[0]), 96.88)
