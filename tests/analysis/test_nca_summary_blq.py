"""`nca_summary` says which subjects its geometric statistics leave out (docs/science/decisions.md D-19.105).

Before: a subject whose every sample was BLQ has no Cmax or AUC (NaN, D-6.3) and silently fell out of n of
every parameter; a value of 0 (an AUC0-28 over BLQ samples only) was counted in n, the median and the range
but not in the geometric mean, and neither the dataset notes nor the report (which shows n, not
n_subjects or n_nonpositive) said so."""

from __future__ import annotations

import math

import pytest

from .test_interval_auc_coverage import FULL, _datasets, _row

PROFILES = {
    "S1": FULL,
    "S2": [(d, 2 * c) for d, c in FULL],
    "ALLBLQ": [(0, None), (7, None), (14, None), (28, None)],  # no expansion detected
    "LATE": [(0, None), (7, None), (14, None), (28, None), (60, 500.0)],  # AUC0-28 = 0, Cmax 500
}


def test_an_all_blq_subject_and_a_zero_auc_are_stated() -> None:
    """Failing first: no note named ALLBLQ or the zero AUC0-28 of LATE."""
    datasets = _datasets(PROFILES)
    summary = datasets["nca_summary"].table
    auc = _row(summary)
    # by hand: n counts the finite values (S1, S2, LATE = 0); the geometric mean the positive ones only
    s1 = 7 * 1000 / 2 + 7 * 1500 / 2 + 7 * 700 / 2 + 7 * 300 / 2  # linear trapezoids of FULL
    assert (auc["n_subjects"], auc["n"], auc["n_nonpositive"]) == (4, 3, 1)
    assert auc["geometric_mean"] == pytest.approx(math.sqrt(s1 * 2 * s1))
    assert (auc["median"], auc["min"], auc["max"]) == (pytest.approx(s1), 0.0, pytest.approx(2 * s1))
    cmax = _row(summary, "cmax")
    assert (cmax["n"], cmax["n_nonpositive"]) == (3, 0)
    notes = " ".join(datasets["nca_summary"].notes)
    assert "every sample BLQ" in notes and "ALLBLQ (car_transgene)" in notes
    assert "auc_0_28" in notes and "LATE (car_transgene)" in notes and "D-19.105" in notes
    assert "n_nonpositive" in datasets["nca_summary"].columns


def test_no_note_when_every_profile_has_positive_values() -> None:
    datasets = _datasets({"S1": PROFILES["S1"], "S2": PROFILES["S2"]})
    assert not any("D-19.105" in note for note in datasets["nca_summary"].notes)
