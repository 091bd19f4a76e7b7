"""The blood-count figure's grade bands are the grading engine's, for the study's CTCAE version (D-19.1217).

The figure held its own copy of the CTCAE v5.0 neutrophil and platelet bands and labelled them v5.0 whatever
version the analysis graded by. Expected bands by hand from the criteria: CTCAE v5.0 neutrophil count
decreased grade 2 < 1.5–1.0, grade 3 < 1.0–0.5, grade 4 < 0.5 ×10^9/L; platelet count decreased grade 2
< 75–50, grade 3 < 50–25, grade 4 < 25. CTCAE v6.0 (as encoded in pharmaverse admiral atoxgr_criteria_ctcv6):
neutrophils grade 1 < 1.5–1.0, grade 2 < 1.0–0.5, grade 3 < 0.5–0.1, grade 4 < 0.1; thrombocytopenia grade 4
< 10 ×10^9/L.
"""

from __future__ import annotations

import pandas as pd

from cartrial.analysis.model import Analysis, Dataset
from cartrial.report.figures import blood_counts_figure, ctcae_bands


def test_the_bands_are_the_graded_thresholds_of_each_version() -> None:
    assert ctcae_bands("neutrophils", "5.0") == ((1.5, 2.0, 1), (1.0, 1.5, 2), (0.5, 1.0, 3), (0.0, 0.5, 4))
    assert ctcae_bands("platelets", "5.0") == (
        (75.0, 150.0, 1),
        (50.0, 75.0, 2),
        (25.0, 50.0, 3),
        (0.0, 25.0, 4),
    )
    assert ctcae_bands("neutrophils", "6.0") == ((1.0, 1.5, 1), (0.5, 1.0, 2), (0.1, 0.5, 3), (0.0, 0.1, 4))
    assert ctcae_bands("platelets", "6.0")[-1] == (0.0, 10.0, 4)


def _analysis(version: str) -> Analysis:
    populations = pd.DataFrame(
        {
            "subject_id": ["A"],
            "dose_level": [1],
            "infusion_date": ["2021-01-01"],
            "follow_up_days": [100],
            "safety": [True],
        }
    )
    datasets = {"populations": Dataset("populations", "p", populations, "enrolled", "x", ())}
    return Analysis({}, {}, datasets, (), options={"ctcae_version": version})


def test_the_figure_is_labelled_with_the_studys_version() -> None:
    labs = pd.DataFrame(
        {
            "record_id": [1, 2, 3],
            "subject_id": ["A"] * 3,
            "collected_at": ["2021-01-02", "2021-01-05", "2021-01-08"],
            "analyte": ["neutrophils"] * 3,
            "value": ["0.3", "0.8", "1.2"],
            "unit": ["10^9/L"] * 3,
        }
    )
    drawn = {}
    for version in ("5.0", "6.0"):
        figure = blood_counts_figure(_analysis(version), {"labs": labs})
        assert figure is not None
        assert f"(bands: CTCAE v{version} grades 1–4)" in figure.caption
        drawn[version] = figure.svg
    assert drawn["5.0"] != drawn["6.0"]  # other bands drawn
