"""The report's population-PK section rounds a tie half away from zero, as every number cartrial reports
(D-19.189, `cartrial.rounding`; D-19.1056). Before, its RSE %, CV %, shrinkage %, estimates, CIs, −2LL,
AIC and BIC went through Python's `format`, half to even on the binary value: a shrinkage of 30.5 % read
"30" — not high under the section's own "> 30 %" reading — and the CSV `popfit_bsv.csv` held the same.

Expected values by hand (each input an exact binary fraction, so the tie is real): 30.5 → 31 (0 decimals);
12.25 → 12.3 and 22.25 → 22.3 (1 decimal); 100.125 → 100.13, 0.125 → 0.13, 2.375 → 2.38 (2 decimals);
1.2345 → 1.235 and 0.0625 → 0.0625 (4 significant digits; 1.2345's shortest form is the tie)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.report.popfit import PopfitResult, estimates_tables, popfit_report_section


def _document() -> dict[str, object]:
    return {
        "model": "stein2019",
        "status": "converged",
        "estimates": [
            {
                "kind": "typical",
                "parameter": "cmax",
                "estimate": 1.2345,
                "unit": "copies/ug",
                "rse_percent": 12.25,
                "ci95_low": 0.0625,
                "ci95_high": 2.5,
                "ci_method": "wald",
                "shrinkage_percent": None,
            },
            {
                "kind": "omega2",
                "parameter": "cmax",
                "estimate": 0.25,
                "cv_percent": 22.25,
                "rse_percent": 40.5,
                "ci95_low": 0.125,
                "ci95_high": 0.5,
                "ci_method": "wald",
                "shrinkage_percent": 30.5,
            },
        ],
        "likelihood": {"minus_2_log_likelihood": 100.125, "aic": 0.125, "bic": 2.375},
    }


def test_popfit_tables_and_text_round_a_tie_half_away_from_zero() -> None:
    result = PopfitResult(_document(), "estimates.json")
    fixed, bsv = estimates_tables(result)
    typical = fixed.iloc[0]
    assert (typical["estimate"], typical["rse_percent"], typical["ci95"]) == ("1.235", "12.3", "0.0625 – 2.5")
    omega = bsv.iloc[0]
    assert (omega["cv_percent"], omega["rse_percent"], omega["shrinkage_percent"]) == ("22.3", "40.5", "31")
    assert omega["ci95"] == "0.125 – 0.5"
    section, csv_files, _ = popfit_report_section(result)
    assert "−2LL (importance sampling) 100.13, AIC 0.13, BIC 2.38." in section.intro
    assert csv_files["popfit_bsv.csv"].splitlines()[1].split(",")[-1] == "31"


@settings(max_examples=property_examples(60), deadline=None)
@given(k=st.integers(0, 999), decimals=st.integers(0, 2))
def test_a_shrinkage_tie_rounds_up(k: int, decimals: int) -> None:
    """Property: a shrinkage of (k + 0.5) units of the last shown decimal (a tie, written exactly as a
    decimal) reads k + 1 of those units (half away from zero), whatever k."""
    from decimal import Decimal

    unit = Decimal(1).scaleb(-decimals)
    tie = (Decimal(k) + Decimal("0.5")) * unit
    from cartrial.report.popfit import number_text

    assert number_text(float(tie), f".{decimals}f") == f"{(Decimal(k + 1) * unit):.{decimals}f}"
