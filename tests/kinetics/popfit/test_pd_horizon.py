"""The PD model's horizon (D-19.1184). Its kinetic input is the Stein 2019 closed form, whose AUC is defined
from day 0 to `MAX_DAY` = 36,500 (100 years; D-19.1181); the integration grid ran 2 days past the latest
time asked for, so a PD fit or MAP whose samples reached the limit (or a MAP horizon, 1.5 x the last sample
+ 1 day, past it) failed with "end_days: out of range", an argument the user never gave. The grid now stops
at MAX_DAY, and a PD sample time past it is refused where it is read: file, row, time column, the limit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartrial.errors import InputError
from cartrial.kinetics.models import STEIN_2019_TYPICAL
from cartrial.kinetics.popfit.pdmodel import pd_population_data, pd_structural_model, time_grid

from ...conftest import run_cartrial

KINETIC = STEIN_2019_TYPICAL.as_array().reshape(1, -1)


def test_the_grid_stops_at_max_day() -> None:
    grid = time_grid(36_500.0)
    assert grid[-1] == 36_500.0  # 28 + 2 k reaches 36,500 exactly (k = 18,236)
    assert time_grid(40_000.0)[-1] == 36_500.0


def test_a_model_solved_to_the_limit_predicts_there() -> None:
    model = pd_structural_model(KINETIC, t_max_days=36_500.0)  # was: end_days out of range
    params = np.array([list(model.default_typical)])
    value = model.predict(params, np.array([[0.0, 36_500.0]]), np.zeros((1, 1)))
    assert np.isfinite(value).all()
    assert value[0, 0] == pytest.approx(model.default_typical[0])  # A(0) = a0


def _table(days: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"subject_id": "NEW", "actual_day": days, "aqp4_igg_titre": ["1:320", "1:100"]})


def test_a_sample_past_the_limit_is_refused_where_it_is_read() -> None:
    with pytest.raises(InputError) as caught:
        pd_population_data(_table([-7.0, 40_000.0]), "aqp4_igg_titre", source="pd.csv", min_subjects=1)
    text = str(caught.value)
    assert "pd.csv" in text and "row 3" in text and "actual_day" in text and "36500 days" in text
    assert "end_days" not in text and "40000" not in text  # the record's value is not quoted


def test_the_limit_is_in_days_whatever_the_time_unit() -> None:
    # 40,000 h = 1,666.7 days: within the limit; 900,000 h = 37,500 days: past it
    data = pd_population_data(
        _table([-7.0, 40_000.0]), "aqp4_igg_titre", source="pd.csv", min_subjects=1, time_unit="h"
    )
    assert data.n_observations == 2
    with pytest.raises(InputError, match="actual_day"):
        pd_population_data(
            _table([-7.0, 900_000.0]), "aqp4_igg_titre", source="pd.csv", min_subjects=1, time_unit="h"
        )


def test_the_cli_map_names_the_file_and_column(tmp_path: Path) -> None:
    from .test_popfit_pd_map import _files

    population, samples, ebe = _files(tmp_path)
    _table([-7.0, 40_000.0]).to_csv(samples, index=False)
    result = run_cartrial(
        "kinetics", "map", str(samples), "--population", str(population), "--individual-parameters", str(ebe)
    )
    assert result.exit_code == 2, result.stderr
    assert "pd.csv" in result.stderr and "actual_day" in result.stderr and "36500 days" in result.stderr
    assert "end_days" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.nightly  # a long study (suite time, D-19.1374)
def test_a_late_map_runs_and_its_profile_stops_at_the_limit(tmp_path: Path) -> None:
    """A titre on day 30,000: the MAP's horizon, 1.5 x 30,000 + 1 = 45,001 days, is past the limit (was:
    end_days out of range); the profile drawn 0 to 1.5 x the last sample stops at 36,500 days, never a value
    held flat past the model's end."""
    from .test_popfit_pd_map import _files

    population, samples, ebe = _files(tmp_path)
    _table([-7.0, 30_000.0]).to_csv(samples, index=False)
    result = run_cartrial(
        "kinetics", "map", str(samples), "--population", str(population), "--individual-parameters", str(ebe),
        "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    profile = pd.read_csv(tmp_path / "o" / "map_profile.csv")
    assert profile["time"].max() == pytest.approx(36_500.0)
