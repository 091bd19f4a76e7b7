"""Confirmed improvement thresholds of MSoutcomes `CDI` (Kalincik T et al., *Brain* 2015;138:3287) as the
option ``improvement="kalincik_2015"`` (D-19.868).

Source text (MSoutcomes R/CDI.R, "determine step EDSS improvement"): a baseline EDSS <= 1.5 needs a decrease
of >= 1.5; a baseline <= 6.0 a decrease of >= 1.0; above 6.0 a decrease of >= 0.5. It disagrees with the
common CDI variant of docs/science/neuro-outcomes.md §5 (>= 1.0 from <= 5.5, >= 0.5 above) at a baseline of
1.0-1.5 and of 6.0, so it is a named option; the default stays ``cdi_common``.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.neuro.disability import (
    DisabilityOptions,
    ImprovementDefinition,
    confirmed_disability_change,
    improvement_threshold,
)
from cartrial.protocol.edss_steps import EDSS_STEPS


@pytest.mark.parametrize(
    ("reference", "kalincik", "common"),
    [
        (0.0, None, None),  # cannot fall
        (1.0, None, 1.0),  # a fall of 1.5 from 1.0 is below 0: cannot improve by this definition
        (1.5, 1.5, 1.0),
        (2.0, 1.0, 1.0),
        (5.5, 1.0, 1.0),
        (6.0, 1.0, 0.5),  # "<= 6.0" in Kalincik, "> 5.5" in the common variant
        (6.5, 0.5, 0.5),
        (9.5, 0.5, 0.5),
    ],
)
def test_thresholds_from_the_source(reference: float, kalincik: float | None, common: float | None) -> None:
    assert improvement_threshold(reference, "kalincik_2015") == kalincik
    assert improvement_threshold(reference, "cdi_common") == common


def test_the_option_changes_a_confirmed_improvement_from_6_0() -> None:
    """6.0 -> 5.5 held 84 days: an improvement of 0.5 is confirmed under cdi_common (>= 0.5 above 5.5), not
    under kalincik_2015 (>= 1.0 up to 6.0)."""
    visits = [(0, 6.0), (30, 5.5), (120, 5.5)]
    assert confirmed_disability_change(visits, "improvement").confirmed is not None
    kalincik = DisabilityOptions(improvement=ImprovementDefinition.KALINCIK_2015)
    outcome = confirmed_disability_change(visits, "improvement", kalincik)
    assert outcome.confirmed is None
    assert outcome.options["improvement"] == "kalincik_2015"


@given(st.sampled_from(EDSS_STEPS))
def test_a_threshold_is_returned_exactly_when_the_scale_reaches_it(reference: float) -> None:
    """MSoutcomes R/CDI.R's step by baseline (1.5 from <= 1.5, 1.0 from <= 6.0, 0.5 above): the threshold is
    that step when some EDSS step lies at least that far below the reference, else None (the patient cannot
    improve by the definition, D-19.623)."""
    step = 1.5 if reference <= 1.5 else 1.0 if reference <= 6.0 else 0.5
    reachable = any(reference - s >= step - 1e-9 for s in EDSS_STEPS)
    limit = improvement_threshold(reference, "kalincik_2015")
    assert limit == (step if reachable else None)
