"""D-19.330: the report's expansion figure plotted each PK sample at its stored `actual_day`, so the day-0
sample drawn an hour before the infusion sat at day 0, after the dose, while ADPC (AFRLT) and the NCA place
it before (D-19.304). The figure now reads the analysis layer's sample time
(`cartrial.analysis.kinetics.sample_actual_days`): one derivation. Expected values are the elapsed times
computed here from the date-times."""

from __future__ import annotations

import pandas as pd
import pytest

from cartrial.report.figures import _pk_frame


def test_the_figure_places_a_pre_dose_sample_before_the_infusion() -> None:
    samples = pd.DataFrame(
        {
            "subject_id": ["A", "A", "A"],
            "analyte": ["car_transgene"] * 3,
            "nominal_day": ["0", "1", "7"],
            "actual_day": ["0.0", "1.0", ""],
            "sampled_at": ["2021-05-01T09:00:00Z", "2021-05-02T10:00:00Z", "2021-05-08T10:00:00Z"],
            "value": ["", "120", "300"],
            "blq": ["true", "false", "false"],  # blank and not BLQ: pending (D-19.1280)
            "lloq": ["50", "50", "50"],
        }
    )
    infusions = pd.DataFrame({"subject_id": ["A"], "infused_at": ["2021-05-01T10:00:00Z"]})
    frame = _pk_frame({"pk_samples": samples, "infusions": infusions}, "car_transgene", {})
    assert frame["day"].tolist() == pytest.approx([-1 / 24, 1.0, 7.0])  # blank actual_day: nominal day
    alone = _pk_frame({"pk_samples": samples}, "car_transgene", {})  # no infusion known: stored days
    assert alone["day"].tolist() == pytest.approx([0.0, 1.0, 7.0])
