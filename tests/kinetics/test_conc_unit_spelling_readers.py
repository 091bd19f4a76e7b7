"""Every reader of a sample table groups concentration units by their one spelling (D-19.759, D-19.760):
`validate_profiles` writes each row's unit as `conc_unit_spelling` does, so NCA (``cartrial nca``), the
per-subject fit, popfit and the analysis read "copies/µg gDNA" and "copies/ug gDNA" as one unit.

Before (review round 2): `derive_nca(unit_column="unit")` gave two groups for the two spellings, refused a
profile holding both ("differs within one profile") and popfit refused the table as mixing units. Expected
values by hand: Cmax is the highest observed value (PKNCA ``pk.calc.cmax``), 1000 in every profile below.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cartrial.errors import InputError
from cartrial.kinetics.frames import derive_nca, derive_stein2019_fits
from cartrial.kinetics.nca import NcaOptions
from cartrial.kinetics.popfit.data import PopulationData

MICRO = "copies/\u00b5g gDNA"  # the micro sign
GREEK = "copies/\u03bcg  gDNA"  # the Greek mu and two spaces
PLAIN = "copies/ug gDNA"
PROFILE = ((0.0, 0.0), (7.0, 1000.0), (14.0, 500.0), (28.0, 100.0))


def _table(units: dict[str, list[str]]) -> pd.DataFrame:
    rows = [
        {"subject_id": sid, "day": t, "conc": c, "unit": unit[i], "analyte": "car_transgene"}
        for sid, unit in units.items()
        for i, (t, c) in enumerate(PROFILE)
    ]
    return pd.DataFrame(rows)


def _nca(table: pd.DataFrame) -> pd.DataFrame:
    return derive_nca(
        table, subject="subject_id", time="day", conc="conc", unit_column="unit", options=NcaOptions()
    ).table


def test_nca_two_spellings_in_two_subjects_are_one_unit() -> None:
    """Failing first: conc_unit ['copies/ug gDNA', 'copies/µg gDNA'] (two groups)."""
    table = _nca(_table({"A": [PLAIN] * 4, "B": [MICRO] * 4, "C": [GREEK] * 4}))
    assert table["conc_unit"].tolist() == [PLAIN, PLAIN, PLAIN]
    assert table["cmax"].tolist() == [1000.0, 1000.0, 1000.0]


def test_nca_two_spellings_in_one_profile_are_one_unit() -> None:
    """Failing first: 'differs within one profile' for the rows of subject A."""
    table = _nca(_table({"A": [PLAIN, PLAIN, MICRO, GREEK]}))
    assert table["conc_unit"].tolist() == [PLAIN]
    assert table["cmax"].tolist() == [1000.0]


def test_a_unit_is_still_checked_as_written() -> None:
    """A guard (passes before and after): the spelling rule changes no check, a no-break space (which
    `str.split` would make a space) is still refused, the cell quoted as given."""
    with pytest.raises(InputError) as caught:
        _nca(_table({"A": [PLAIN] * 4, "B": ["copies/ug\u00a0gDNA"] * 4}))
    assert "row 6, unit: not a concentration unit (got 'copies/ug\\xa0gDNA')" in str(caught.value)


def test_popfit_reads_two_spellings_as_one_unit() -> None:
    """Failing first: 'the samples of this analyte are in more than one unit'."""
    data = PopulationData.from_frame(
        _table({"A": [PLAIN] * 4, "B": [MICRO] * 4}), subject="subject_id", time="day", conc="conc", lloq=10.0
    )
    assert data.value_unit == PLAIN
    assert data.n_subjects == 2


def test_nca_conc_unit_option_is_written_in_the_one_spelling() -> None:
    """Failing first (review round 3): conc_unit= was checked but kept as given ('copies/µg  gDNA')."""
    table = _table({"A": [PLAIN] * 4}).drop(columns="unit")
    result = derive_nca(
        table, subject="subject_id", time="day", conc="conc", conc_unit=GREEK, options=NcaOptions()
    )
    assert result.table["conc_unit"].tolist() == [PLAIN]
    assert result.units["cmax"] == PLAIN


def test_fit_conc_unit_option_is_written_in_the_one_spelling() -> None:
    """Failing first (review round 3): the fit's value_unit and Cmax unit kept the option as given."""
    table = _table({"A": [PLAIN] * 4}).drop(columns="unit")
    result = derive_stein2019_fits(table, subject="subject_id", time="day", conc="conc", conc_unit=GREEK)
    assert result.table["value_unit"].tolist() == [PLAIN]
    assert result.units["cmax"] == PLAIN
