"""The interim report's population-PK section (issue 17): `cartrial report --popfit DIR` and the Python API
(`read_popfit`, `report_files(..., popfit=...)`): typical values with RSE % and CIs, between-subject
variability, shrinkage, OFV/AIC/BIC, the convergence status (a fit that did not converge is labelled so) and
the GOF/VPC figures, all read from what `cartrial kinetics popfit` wrote."""

from __future__ import annotations

import json
import math
import re
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest

from cartrial.errors import InputError
from cartrial.report.popfit import estimates_tables, popfit_report_section, read_popfit

from ..conftest import run_cartrial
from .conftest import CUTOFF, STUDY, report_argv


def half_up(value: float, decimals: int) -> str:
    """`value` to `decimals` decimals, a tie half away from zero on its shortest decimal form, a zero
    unsigned: the rounding of every number cartrial reports (D-19.189, D-19.1056), written here with
    `decimal` so the test does not read it off the code under test."""
    rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return f"{abs(rounded) if rounded == 0 else rounded:f}"


def four_significant(text: str, value: float) -> bool:
    """`text` is `value` to four significant digits: at most four significant digits written, and within
    half a unit of the fourth of `value` (hand-written ties are in test_report_popfit_rounding.py; this
    checks the fit's own numbers without re-implementing the formatter)."""
    mantissa = text.lower().split("e")[0].lstrip("-").replace(".", "").lstrip("0")
    unit = 10.0 ** (math.floor(math.log10(abs(value))) - 3) if value else 0.0
    return len(mantissa.rstrip("0")) <= 4 and abs(float(text) - value) <= unit / 2 * (1 + 1e-9)


@pytest.fixture(scope="module")
def popfit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short popfit of the example study's transgene samples (no figures: the report redraws its own)."""
    out = tmp_path_factory.mktemp("popfit") / "fit"
    result = run_cartrial(
        "kinetics",
        "popfit",
        str(STUDY / "pk_samples.csv"),
        "--seed",
        "3",
        "--k1",
        "60",
        "--k2",
        "30",
        "--no-figures",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    return out


def _relabelled(popfit_dir: Path, target: Path, converged: bool) -> Path:
    """A copy of the fit whose estimates.json carries the given convergence label."""
    shutil.copytree(popfit_dir, target)
    doc = json.loads((target / "estimates.json").read_text())
    doc["converged"] = converged
    doc["status"] = "converged" if converged else "NOT CONVERGED"
    doc["convergence_problems"] = [] if converged else ["typical cmax still drifting (test)"]
    (target / "estimates.json").write_text(json.dumps(doc))
    return target


def test_section_shows_estimates_variability_shrinkage_ofv_and_figures(
    popfit_dir: Path, tmp_path: Path
) -> None:
    fit = read_popfit(_relabelled(popfit_dir, tmp_path / "nc", converged=False))
    doc = fit.document
    section, csv_files, figures = popfit_report_section(fit)
    assert "NOT CONVERGED" in section.title
    assert any("NOT CONVERGED" in f and "drifting" in f for f in section.findings)
    ll = doc["likelihood"]
    for key in ("minus_2_log_likelihood", "aic", "bic"):
        assert half_up(ll[key], 2) in section.intro
    fixed, bsv = estimates_tables(fit)
    estimates = pd.DataFrame(doc["estimates"])
    typical = estimates[estimates["kind"] == "typical"]
    assert list(fixed[fixed["kind"] == "typical"]["parameter"]) == list(typical["parameter"])
    for row, (_, source) in zip(
        fixed[fixed["kind"] == "typical"].itertuples(), typical.iterrows(), strict=True
    ):
        assert four_significant(row.estimate, source["estimate"])
        expected_rse = "–" if pd.isna(source["rse_percent"]) else half_up(source["rse_percent"], 1)
        assert row.rse_percent == expected_rse
        low = row.ci95.split(" – ")[0]
        assert four_significant(low, source["ci95_low"]) if pd.notna(source["ci95_low"]) else low == "–"
    omega = estimates[estimates["kind"] == "omega2"]
    assert list(bsv["parameter"]) == list(omega["parameter"])
    for row, (_, source) in zip(bsv.itertuples(), omega.iterrows(), strict=True):
        assert float(row.cv_percent) == pytest.approx(
            100 * (2.718281828459045 ** source["estimate"] - 1) ** 0.5, rel=2e-3
        )
        assert row.shrinkage_percent == half_up(source["shrinkage_percent"], 0)
    assert set(csv_files) == {"popfit_estimates.csv", "popfit_bsv.csv"}
    assert [f.name for f in figures] == ["popfit_gof", "popfit_npde", "popfit_vpc"]
    assert all(f.svg.lstrip().startswith("<?xml") and "NOT CONVERGED" in f.caption for f in figures)


def test_a_converged_fit_is_not_labelled_and_missing_tables_are_noted(
    popfit_dir: Path, tmp_path: Path
) -> None:
    folder = _relabelled(popfit_dir, tmp_path / "ok", converged=True)
    (folder / "vpc.csv").unlink()
    fit = read_popfit(folder / "estimates.json")
    section, _, figures = popfit_report_section(fit)
    assert "NOT CONVERGED" not in section.title + section.intro + " ".join(section.findings)
    assert [f.name for f in figures] == ["popfit_gof", "popfit_npde"]
    assert any("vpc.csv" in f for f in section.findings)


def test_bad_popfit_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_popfit(tmp_path)
    assert "estimates.json" in str(caught.value)
    other = tmp_path / "estimates.json"
    other.write_text(json.dumps({"model": "stein2019"}))
    with pytest.raises(InputError, match="not a population fit"):
        read_popfit(other)


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("model", 7, "7"),
        ("model", "", ""),
        ("status", 1, "1"),
        ("status", "ok", "ok"),
        ("estimates", {"cmax": 1}, "dict"),
        ("estimates", [1, 2], "list"),
        ("likelihood", [], "list"),
    ],
)
def test_an_edited_estimates_file_is_refused_naming_the_key(
    popfit_dir: Path, tmp_path: Path, key: str, value: object, shown: str
) -> None:
    """A hand-edited or foreign estimates.json was shown as a fit (an unknown model, a numeric status as
    NOT CONVERGED) or refused as "malformed estimates/likelihood" without saying which: now each key is
    checked against what a popfit writes, and the refusal names it, the value and what is allowed. (Any
    model name is a fit's: the Python API fits models of its own.)"""
    folder = _relabelled(popfit_dir, tmp_path / "edited", converged=True)
    document = json.loads((folder / "estimates.json").read_text())
    read_popfit(folder)  # the fit as written reads back
    document[key] = value
    (folder / "estimates.json").write_text(json.dumps(document))
    with pytest.raises(InputError) as caught:
        read_popfit(folder)
    (problem,) = caught.value.problems
    assert problem.field == f"estimates.json: {key}" and str(problem.value) == shown, problem


def test_report_command_adds_the_section_after_pharmacokinetics(
    popfit_dir: Path, report_sqlite: str, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    result = run_cartrial(*report_argv(report_sqlite, out, "--no-pdf", "--popfit", str(popfit_dir)))
    assert result.exit_code == 0, result.stderr
    html = (out / "report.html").read_text()
    anchors = re.findall(r'<section id="([^"]+)">', html)
    assert anchors.index("popfit") == anchors.index("pk") + 1
    status = json.loads((popfit_dir / "estimates.json").read_text())["status"]
    section = html.split('<section id="popfit">')[1].split("</section>")[0]
    assert f"Status: {status}" in section
    for name in ("popfit_gof", "popfit_npde", "popfit_vpc"):
        assert (out / "figures" / f"{name}.svg").is_file()
        assert f'id="figure-{name}"' in section
    table = pd.read_csv(out / "tables" / "popfit_estimates.csv")
    assert {"rse_percent", "ci95"} <= set(table.columns)
    bad = run_cartrial(
        "report",
        "--url",
        report_sqlite,
        "--user",
        "admin",
        "--cutoff",
        CUTOFF,
        "--out",
        str(tmp_path / "r2"),
        "--popfit",
        str(tmp_path),
    )
    assert bad.exit_code == 2 and "estimates.json" in bad.stderr and "Traceback" not in bad.stderr
