"""The web safety page shows a late ICAHT grade that is a lower bound as "≥ N" (D-19.788), read from the
`icaht` dataset's `late_icaht_lower_bound` through `icaht_grade_text`, as the early one (D-19.719)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd


def test_the_safety_page_shows_a_late_lower_bound() -> None:
    from cartrial.web import views

    icaht = pd.DataFrame(
        {
            "subject_id": ["S1", "S2"],
            "early_icaht_grade": pd.array([1, 1], dtype="Int64"),
            "early_icaht_pending": [False, False],
            "early_icaht_lower_bound": [False, False],
            "late_icaht_grade": pd.array([2, 2], dtype="Int64"),
            "late_icaht_pending": [False, False],
            "late_icaht_lower_bound": [True, False],
        }
    )
    analysis = SimpleNamespace(datasets={"icaht": SimpleNamespace(table=icaht)})
    rows, _ = views._cytopenias(analysis, ["S1", "S2"], {"S1": 1, "S2": 1})
    assert {r["subject_id"]: r["late_icaht_grade"] for r in rows} == {"S1": "≥ 2", "S2": "2"}


def test_the_safety_legend_says_what_a_late_at_least_means() -> None:
    from importlib.resources import files

    template = files("cartrial.web").joinpath("templates/safety.html").read_text(encoding="utf-8")
    assert "≥ N in Late ICAHT: the late grade a lower bound" in template
