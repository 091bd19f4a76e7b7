"""The MAP's profile band (``map_profile.csv`` p05/p95, the figure's band) is the 90 % interval of the
individual *prediction* from the parameters' posterior uncertainty, without residual error: an observation
varies more (by the residual SD). Before, only docs/popfit.md said so; the CSV, JSON, terminal and figure
legend did not, so the band could be read as a prediction interval of the next sample (D-19.666).

The interval itself is checked against a closed form: with one BLQ sample at an LLOQ far above any level
(1e15), the sample carries no information, the posterior is the prior, and the 90 % interval of each
log-normal parameter is typical·exp(±1.6449·ω) (Sheiner & Beal 1982: the population model is the prior)."""

from __future__ import annotations

import math

import numpy as np

from cartrial.kinetics.models import STEIN_2019_RESIDUAL_SD_LOG, STEIN_2019_TYPICAL, STEIN_PARAMETERS
from cartrial.kinetics.popfit import PopulationData, map_estimate

from .test_popfit_map import OMEGA2, _population


def _uninformative() -> PopulationData:
    return PopulationData.from_arrays(
        ["NP"], [np.array([10.0])], [np.array([np.nan])], lloq=1e15, allow_unquantified=True, min_subjects=1
    )


def test_the_map_says_its_band_has_no_residual_error() -> None:
    result = map_estimate(_population(), _uninformative(), n_draws=200)
    band = [n for n in result.notes if "p05" in n and "p95" in n]
    assert len(band) == 1, result.notes
    assert "without residual error" in band[0]
    assert f"residual SD {STEIN_2019_RESIDUAL_SD_LOG:g} on the log scale" in band[0], band[0]


def test_with_an_uninformative_sample_the_interval_is_the_prior_s() -> None:
    result = map_estimate(_population(), _uninformative(), n_draws=8000, seed=3)
    params = result.parameters.set_index("parameter")
    typical = STEIN_2019_TYPICAL.as_array()
    for j, name in enumerate(STEIN_PARAMETERS):
        sd = math.sqrt(OMEGA2[j])
        for column, z in (("p05", -1.6449), ("p95", 1.6449)):
            expected = typical[j] * math.exp(z * sd)
            # Monte-Carlo error of a 5 % quantile of 8000 draws: about 0.025 SD on the log scale
            assert abs(math.log(params.loc[name, column] / expected)) < 0.1 * sd, (name, column)


def test_the_band_note_of_a_linear_scale_error_names_each_parameter_s_unit() -> None:
    """On the linear scale the residual SD is sqrt(a² + (b·f)²): a in the data's unit, b a fraction of the
    prediction f. Before, the note read "residual a 0.5, b 0.2 on the linear scale", without either."""
    from cartrial.kinetics.popfit.likelihood import ErrorModel
    from cartrial.kinetics.popfit.map import band_note

    note = band_note(ErrorModel("combined", "linear"), [0.5, 0.2], "mg/L")
    assert "without residual error" in note
    assert "a 0.5 mg/L (additive SD)" in note, note
    assert "b 0.2 (proportional SD, a fraction of the prediction)" in note, note
    assert "residual SD 0.56 on the log scale" in band_note(ErrorModel("additive", "log"), [0.56], "mg/L")
