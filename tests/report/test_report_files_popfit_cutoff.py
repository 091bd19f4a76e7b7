"""`report_files(analysis, tables, popfit=...)` — the Python API of the report — shows a population fit of the
analysis's own data cut-off and view only, as `cartrial report --popfit` does (D-19.1148, D-19.460;
D-19.1288). Before, only the command checked them: a notebook passing a fit of `kinetics popfit --url …
--cutoff 2022-03-20` to the report of the 2021-12-31 cut got a population-PK section fitted on samples after
the report's cut-off, silently (ICH E9 §7.1: one analysis, one data cut-off)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cartrial.errors import InputError
from cartrial.report import read_popfit, report_files

REPO = Path(__file__).resolve().parents[2]
FIT = REPO / "tests" / "data" / "popfit" / "estimates.json"
WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _fit(tmp_path: Path, **data: Any) -> Any:
    """The stored fit of tests/data/popfit with `data` keys set as `kinetics popfit --url` writes them."""
    folder = tmp_path / "fit"
    folder.mkdir()
    shutil.copy(FIT, folder / "estimates.json")
    document = json.loads((folder / "estimates.json").read_text(encoding="utf-8"))
    document["data"] = {**(document.get("data") or {}), **data}
    (folder / "estimates.json").write_text(json.dumps(document), encoding="utf-8")
    return read_popfit(folder)


def test_report_files_refuses_a_fit_of_a_later_cutoff(analysis: Any, snapshot: Any, tmp_path: Path) -> None:
    later = (analysis.intermediates["cutoff"] + dt.timedelta(days=30)).isoformat()
    fit = _fit(tmp_path, cutoff=later)
    with pytest.raises(InputError) as caught:
        report_files(analysis, snapshot.tables, generated_at=WHEN, pdf=False, popfit=fit)
    text = str(caught.value)
    assert "popfit" in text and later in text and analysis.snapshot["cutoff"] in text
    assert "CT-0" not in text


def test_report_files_refuses_a_fit_of_another_view(analysis: Any, snapshot: Any, tmp_path: Path) -> None:
    view = {"whole_study": False, "sites": ["ELSEWHERE"], "read_by": "inv", "statement": "RESTRICTED VIEW"}
    fit = _fit(tmp_path, cutoff=analysis.snapshot["cutoff"], view=view)
    with pytest.raises(InputError) as caught:
        report_files(analysis, snapshot.tables, generated_at=WHEN, pdf=False, popfit=fit)
    assert "another view" in str(caught.value)


def test_a_fit_of_the_same_cutoff_and_view_is_shown(analysis: Any, snapshot: Any, tmp_path: Path) -> None:
    fit = _fit(tmp_path, cutoff=analysis.snapshot["cutoff"], view=analysis.snapshot["view"])
    files = report_files(analysis, snapshot.tables, generated_at=WHEN, pdf=False, popfit=fit)
    assert "report.html" in files


def test_the_python_api_names_its_parameter_popfit(analysis: Any, snapshot: Any, tmp_path: Path) -> None:
    """The Python API names its own parameter, not the command's option (D-19.69, D-19.1292)."""
    later = (analysis.intermediates["cutoff"] + dt.timedelta(days=30)).isoformat()
    view = {"whole_study": False, "sites": ["ELSEWHERE"], "read_by": "inv", "statement": "RESTRICTED VIEW"}
    (tmp_path / "c").mkdir()
    (tmp_path / "v").mkdir()
    for fit in (
        _fit(tmp_path / "c", cutoff=later),
        _fit(tmp_path / "v", cutoff=analysis.snapshot["cutoff"], view=view),
    ):
        with pytest.raises(InputError) as caught:
            report_files(analysis, snapshot.tables, generated_at=WHEN, pdf=False, popfit=fit)
        assert [p.field for p in caught.value.problems] == ["popfit"]
