"""The recovery table of docs/popfit.md is the one generated from benchmarks/popfit_recovery.csv (the
benchmark writes both; a hand edit of either shows up here)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cartrial.kinetics.popfit.recovery import (
    SHIFT_BEGIN,
    SHIFT_END,
    TABLE_BEGIN,
    TABLE_END,
    TARGETS_BEGIN,
    TARGETS_END,
    recovery_markdown,
    shift_markdown,
    target_check,
    targets_markdown,
)

ROOT = Path(__file__).resolve().parents[3]


def test_docs_recovery_table_is_generated_from_the_recorded_study() -> None:
    text = (ROOT / "docs" / "popfit.md").read_text(encoding="utf-8")
    block = text[text.index(TABLE_BEGIN) + len(TABLE_BEGIN) : text.index(TABLE_END)].strip()
    summary = pd.read_csv(ROOT / "benchmarks" / "popfit_recovery.csv")
    assert block == recovery_markdown(summary).strip()


def test_docs_targets_table_is_generated_from_the_recorded_study() -> None:
    """The one-line-per-study verdict on issue 17's targets, the issue's first 100 replicates included."""
    text = (ROOT / "docs" / "popfit.md").read_text(encoding="utf-8")
    block = text[text.index(TARGETS_BEGIN) + len(TARGETS_BEGIN) : text.index(TARGETS_END)].strip()
    summary = pd.read_csv(ROOT / "benchmarks" / "popfit_recovery.csv")
    assert block == targets_markdown(summary).strip()
    assert summary["subset"].any() and not summary["subset"].all()


def _study(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"parameter": p, "relative_bias_percent": b, "coverage_percent": c, "study": "s", "replicates": 9}
            for p, b, c in rows
        ]
    )


def test_target_check_applies_each_limit() -> None:
    """Issue 17's limits, each at its edge: typical |bias| ≤ 5, variance |bias| ≤ 20, coverage 90-98."""
    ok = [("typical:a", -5.0, 90.0), ("omega2:a", 20.0, 98.0), ("residual:a", -20.0, 95.0)]
    assert target_check(_study(ok))["meets_target"]
    for i, bad in enumerate([("typical:a", 5.1, 95.0), ("omega2:a", -20.1, 95.0), ("residual:a", 0.0, 89.9)]):
        rows = [bad if j == i else row for j, row in enumerate(ok)]
        assert not target_check(_study(rows))["meets_target"], bad
    check = target_check(_study([("typical:a", 1.0, 99.0), ("omega2:a", -3.0, 91.0)]))
    assert check["coverage_percent_range"] == [91.0, 99.0] and not check["meets_target"]
    assert check["max_abs_typical_bias_percent"] == 1.0 and check["max_abs_variance_bias_percent"] == 3.0
    line = targets_markdown(_study([("typical:a", 1.0, 99.0), ("omega2:a", -3.0, 91.0)])).splitlines()[-1]
    assert "typical:a 99.0" in line and line.endswith("| no |")
    no_ci = _study([("typical:a", 1.0, 95.0), ("omega2:a", -3.0, float("nan"))])
    assert not target_check(no_ci)["meets_target"]
    assert "omega2:a (no CI)" in targets_markdown(no_ci)


def test_recovery_table_lists_every_parameter_of_every_study() -> None:
    summary = pd.read_csv(ROOT / "benchmarks" / "popfit_recovery.csv")
    table = recovery_markdown(summary)
    for name in summary["parameter"].unique():
        assert f"| {name} |" in table
    for n in summary["n_subjects"].unique():
        assert f"{n} subj.: bias %" in table


def test_docs_estimator_shift_table_is_generated_from_the_recorded_comparison() -> None:
    """D-17.23's table (the final maximisation against SAEM's last iterate at 100 and 400 subjects)."""
    text = (ROOT / "docs" / "popfit.md").read_text(encoding="utf-8")
    block = text[text.index(SHIFT_BEGIN) + len(SHIFT_BEGIN) : text.index(SHIFT_END)].strip()
    frame = pd.read_csv(ROOT / "benchmarks" / "popfit_estimator_comparison.csv")
    assert block == shift_markdown(frame).strip()
    assert set(frame["variant"]) == {"final maximisation", "saem", "saem long"}


def test_the_failed_ebe_rule_is_documented_where_the_laplacian_method_is() -> None:
    """docs/popfit.md's conditional methods and `fit_laplace`'s docstring describe D-19.1172 (the objective
    is not defined at a failed EBE, and a search that ends there is not converged), not the floored
    determinant's jump it replaced; laplace.py cites only names that exist (review of popfit2, finding 5)."""
    import re

    from cartrial.kinetics.popfit import laplace

    text = (ROOT / "docs" / "popfit.md").read_text(encoding="utf-8")
    methods = text[text.index("**Laplacian method**") : text.index("95 % CIs (`--ci")]
    assert "D-19.1172" in methods
    assert "not positive definite" in methods and "NOT CONVERGED" in methods
    doc = " ".join((laplace.fit_laplace.__doc__ or "").split())
    assert "jump" not in doc and "not finite" in doc
    source = Path(laplace.__file__).read_text(encoding="utf-8")
    package = "".join(p.read_text(encoding="utf-8") for p in Path(laplace.__file__).parent.glob("*.py"))
    for name in set(re.findall(r"`([a-z_][a-z0-9_]*)`", source)):
        assert re.search(rf"\b(def|class) {name}\b|\b{name} =|\b{name}: ", package, re.M), name
