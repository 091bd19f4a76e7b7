"""Architecture (issue 17): the population-fit engine returns plain data and does no file I/O; the files
(HTML summary, CSV/JSON, figures) are rendered by `cartrial.report.popfit` and written by the command."""

from __future__ import annotations

import ast
from pathlib import Path

import cartrial.kinetics.popfit as popfit

ENGINE = Path(popfit.__file__).resolve().parent
FORBIDDEN_CALLS = {"write_text", "write_bytes", "savefig", "mkdir", "open", "to_csv", "to_html", "read_text"}
FORBIDDEN_IMPORTS = ("matplotlib", "cartrial.report", "cartrial.commands", "cartrial.tabular")


def test_the_engine_does_no_file_io_and_imports_no_renderer() -> None:
    found: list[str] = []
    for path in sorted(ENGINE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in FORBIDDEN_CALLS:
                    found.append(f"{path.name}:{node.lineno} calls {name}")
            elif isinstance(node, ast.ImportFrom | ast.Import):
                modules = (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                )
                for module in modules:
                    if module.startswith(FORBIDDEN_IMPORTS):
                        found.append(f"{path.name}:{node.lineno} imports {module}")
    assert not found, found


def test_renderers_give_every_file_as_content() -> None:
    import numpy as np

    from cartrial.kinetics.popfit import PopulationData, SaemSettings, fit_population
    from cartrial.kinetics.popfit.diagnostics import fit_tables
    from cartrial.report.popfit import popfit_files
    from cartrial.tabular import csv_text

    rng = np.random.default_rng(2)
    times = [np.array([0.5, 1, 2, 4, 8, 12.0])] * 8
    ka, v, cl = 1.2 * np.exp(0.2 * rng.standard_normal(8)), 0.5, 0.05
    values = [
        100
        * ka[i]
        / (v * (ka[i] - cl / v))
        * (np.exp(-cl / v * t) - np.exp(-ka[i] * t))
        * np.exp(0.1 * rng.standard_normal(t.size))
        for i, t in enumerate(times)
    ]
    data = PopulationData.from_arrays([f"S{i}" for i in range(8)], times, values, dose=100.0)
    fit = fit_population(
        data,
        "one_compartment_oral",
        iiv=["ka"],
        settings=SaemSettings(seed=1, k1=30, k2=20, is_draws=100, fim_draws=50),
    )
    tables = fit_tables(fit, n_sim=100, seed=1)
    assert set(tables) == {"estimates", "ebe", "diagnostics", "vpc", "trace"}
    assert all(set(t["status"]) == {fit.status} for k, t in tables.items() if k != "trace")
    files = popfit_files(fit, figure_format="svg", n_sim=100, seed=1)
    assert files["estimates.csv"] == csv_text(tables["estimates"])
    assert fit.status in str(files["summary.html"])
    for stem in ("obs_vs_pred", "npde", "individual_fits", "vpc", "saem_trace"):
        content = files[f"{stem}.svg"]
        assert isinstance(content, bytes) and b"<svg" in content
        assert f'src="{stem}.svg"' in str(files["summary.html"])
