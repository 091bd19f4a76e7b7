"""A MAP under a population fitted with `--blq m1` (BLQ samples dropped from the population fit) silently
ignored the new patient's BLQ samples — the likelihood took the population's M1 rule — while its note said
"samples used: 2 quantifiable, 2 BLQ" and docs/popfit.md §5 says a MAP's BLQ samples enter by M3 (D-19.667).
The population's rule says how *its* data were fitted; the patient's likelihood is the posterior's, and a
BLQ sample's is its probability below the LLOQ (Beal 2001, M3).

Expected value: the posterior written out by hand (`_oracle` of test_popfit_map.py: the kinetics engine's
closed form, scipy.stats normal log-density and log-CDF for M3, the prior N(0, Ω), Nelder-Mead)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cartrial.kinetics.popfit import PopulationModel, map_estimate

from .test_popfit_map import _oracle, _patient, _population

DAYS = [7.0, 14.0, 90.0, 180.0]
VALUES = [5000.0, 2500.0, float("nan"), float("nan")]  # two late samples BLQ (LLOQ 50)


def test_the_map_of_an_m1_population_uses_the_patient_s_blq_samples_by_m3() -> None:
    population = _population()
    m1 = PopulationModel(replace(population.spec, blq="m1"), population.theta)
    result = map_estimate(m1, _patient(DAYS, VALUES))
    got = result.parameters.set_index("parameter")["map_estimate"].to_numpy()
    np.testing.assert_allclose(got, _oracle(DAYS, VALUES), rtol=2e-3)
    assert "samples used: 2 quantifiable, 2 BLQ" in result.notes[0]
    assert any("fitted with BLQ samples dropped (M1)" in note for note in result.notes), result.notes
