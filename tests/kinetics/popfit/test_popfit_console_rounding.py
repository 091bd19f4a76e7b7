"""The console table of `cartrial kinetics popfit` / `map` writes its numbers as the report does: a tie
half away from zero on the number's shortest decimal form (D-19.189), through the one formatter
`cartrial.report.popfit.number_text` (review finding 1, D-19.1058).

Before, the console used `format` (half to even on the binary value) and `round()`: a shrinkage of 30.5 %
read "30" (Python's `round(30.5)` is 30) under the > 30 % reading of high shrinkage, an RSE of 12.25 %
"12.2", −2LL 100.125 "100.12" — while summary.html and the report read "31", "12.3", "100.13".

Expected values by hand: 30.5 → 31 (half away from zero), 12.25 → 12.3, 100.125 → 100.13, 1.2345 to four
significant digits → 1.235, 0.98765 → 0.9877, 2.0015 → 2.002, 40.05 → 40.1, −0.005 → −0.01; −0.4 %
shrinkage → "0" and an ω² of −0.0 → "0" (no sign on a zero)."""

from __future__ import annotations

import math

import pandas as pd

from cartrial.commands.kinetics_commands import likelihood_line, map_console_rows, popfit_console_rows


def estimates() -> pd.DataFrame:
    nan = math.nan
    columns = ("kind", "parameter", "estimate", "unit", "rse_percent", "ci95_low", "ci95_high")
    rows = [
        ("typical", "CL", 1.2345, "L/day", 12.25, 0.98765, 2.0015, nan),
        ("omega2", "CL", 0.5, "-", 40.05, nan, nan, 30.5),
        ("omega2", "V", -0.0, "-", nan, nan, nan, -0.4),
    ]
    return pd.DataFrame(rows, columns=[*columns, "shrinkage_percent"]).assign(fixed=False)


def test_popfit_console_rows_round_half_away_from_zero() -> None:
    typical, omega_cl, omega_v = popfit_console_rows(estimates())
    assert typical == ("typical", "CL", "1.235", "L/day", "12.3", "0.9877 – 2.002", "")
    assert omega_cl == ("omega2", "CL", "0.5", "", "40.1", "–", "31")
    assert omega_v == ("omega2", "V", "0", "", "–", "–", "0")


def test_a_fixed_typical_value_has_no_rse_or_interval() -> None:
    held = estimates().assign(fixed=[True, False, False])
    assert popfit_console_rows(held)[0][4:6] == ("fixed", "fixed")


def test_likelihood_line_rounds_half_away_from_zero() -> None:
    line = likelihood_line({"minus_2_log_likelihood": 100.125, "aic": 110.125, "bic": -0.005})
    assert line == "-2LL 100.13 (IS), AIC 110.13, BIC -0.01"


def test_map_console_rows_round_half_away_from_zero() -> None:
    parameters = pd.DataFrame(
        [
            ("CL", 1.2345, 2.0015, 0.5, 3.0, True, "L/day"),
            ("ka", 0.12345, 0.12345, 0.0, 0.0, False, "1/day"),
        ],
        columns=["parameter", "map_estimate", "typical", "p05", "p95", "iiv", "unit"],
    )
    assert map_console_rows(parameters) == [
        ("CL", "1.235", "2.002", "0.5 – 3", "L/day"),
        ("ka", "0.1235", "0.1235", "– (no IIV)", "1/day"),
    ]
