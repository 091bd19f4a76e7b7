"""`cartrial kinetics map --out` draws the MAP fit (D-19.320): the patient's observations (BLQ samples marked
at their LLOQ), the individual MAP prediction with its 90 % band and the population typical prediction, as
PNG or SVG (`--figure-format png|svg`, default png; `--no-figures` draws none), listed by ``--json``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from ...conftest import run_cartrial

POPULATION = Path(__file__).resolve().parents[2] / "data" / "popfit" / "estimates.json"


def _patient(tmp_path: Path) -> Path:
    patient = tmp_path / "new.csv"
    patient.write_text(
        "subject_id,analyte,actual_day,value,unit,lloq,blq\n"
        "NEW-1,car_transgene,7,3100,copies/ug gDNA,50,false\n"
        "NEW-1,car_transgene,28,800,copies/ug gDNA,50,false\n"
        "NEW-1,car_transgene,90,,copies/ug gDNA,50,true\n",
        encoding="utf-8",
    )
    return patient


def _map(tmp_path: Path, *options: str) -> tuple[dict[str, object], Path]:
    out = tmp_path / "map"
    result = run_cartrial(
        "kinetics", "map", str(_patient(tmp_path)), "--population", str(POPULATION), "--json",
        "--out", str(out), *options,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout)), out


def test_the_map_fit_is_drawn_as_a_png_and_listed(tmp_path: Path) -> None:
    doc, out = _map(tmp_path)
    figure = out / "map_fit.png"
    with Image.open(figure) as image:
        assert image.format == "PNG"
        image.verify()
    files = doc["files"]
    assert isinstance(files, dict)
    assert files["figure_map_fit"] == str(figure)
    assert files["map_profile"] == str(out / "map_profile.csv")
    assert files["map_parameters"] == str(out / "map_parameters.csv")
    assert files["map_json"] == str(out / "map.json")


def test_svg_on_request(tmp_path: Path) -> None:
    doc, out = _map(tmp_path, "--figure-format", "svg")
    root = ET.parse(out / "map_fit.svg").getroot()
    assert root.tag.endswith("svg")
    assert not (out / "map_fit.png").exists()
    assert doc["files"]["figure_map_fit"] == str(out / "map_fit.svg")  # type: ignore[index]


def test_no_figures(tmp_path: Path) -> None:
    doc, out = _map(tmp_path, "--no-figures")
    assert not list(out.glob("map_fit.*"))
    assert "figure_map_fit" not in doc["files"]  # type: ignore[operator]
    assert (out / "map_profile.csv").exists()


def test_without_out_no_files_are_listed(tmp_path: Path) -> None:
    result = run_cartrial(
        "kinetics", "map", str(_patient(tmp_path)), "--population", str(POPULATION), "--json"
    )
    assert result.exit_code == 0, result.stderr
    assert "files" not in json.loads(result.stdout)


def test_the_figure_shows_what_it_should(tmp_path: Path) -> None:
    """The drawn elements: the observations (2 quantified points, 1 BLQ ▼ at its LLOQ), the MAP curve, the
    population curve and the 90 % band, on the profile's own numbers."""
    import pandas as pd

    from cartrial.kinetics.popfit import PopulationData, PopulationModel, map_estimate
    from cartrial.report.popfit_figures import map_figure

    table = pd.read_csv(_patient(tmp_path))
    data = PopulationData.from_frame(table, allow_unquantified=True, min_subjects=1)
    pop = PopulationModel.from_dict(json.loads(POPULATION.read_text()), source="estimates.json")
    result = map_estimate(pop, data)
    fig = map_figure(result)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["quantified"].get_xdata()) == [7.0, 28.0]
    assert list(lines["quantified"].get_ydata()) == [3100.0, 800.0]
    blq = lines["BLQ: below the ▼ (LLOQ)"]
    assert list(blq.get_xdata()) == [90.0] and list(blq.get_ydata()) == [50.0]
    assert lines["MAP (individual)"].get_ydata() == pytest.approx(result.profile["map_prediction"])
    assert lines["population typical"].get_ydata() == pytest.approx(result.profile["population_prediction"])
    bands = [c for c in ax.collections if c.get_label() == "MAP 90 % band (5th-95th, no residual error)"]
    assert len(bands) == 1
    assert ax.get_yscale() == "log"  # the population's error is on the log scale
    assert "copies/ug gDNA" in ax.get_ylabel() and "day" in ax.get_xlabel()
    assert "NOT CONVERGED" in ax.get_title()  # the population file is a short, not converged run
