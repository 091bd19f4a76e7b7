"""The web safety page shows an early ICAHT grade that is a lower bound as "≥ N" (D-19.719): the `icaht`
dataset's `early_icaht_lower_bound` read through `icaht_grade_text`, as the report's table."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd


def test_the_safety_page_shows_an_early_lower_bound() -> None:
    from cartrial.web import views

    icaht = pd.DataFrame(
        {
            "subject_id": ["S1", "S2"],
            "early_icaht_grade": pd.array([2, 2], dtype="Int64"),
            "early_icaht_pending": [False, False],
            "early_icaht_lower_bound": [True, False],
            "late_icaht_grade": pd.array([None, 1], dtype="Int64"),
            "late_icaht_pending": [False, False],
        }
    )
    analysis = SimpleNamespace(datasets={"icaht": SimpleNamespace(table=icaht)})
    rows, _ = views._cytopenias(analysis, ["S1", "S2"], {"S1": 1, "S2": 1})
    shown = {r["subject_id"]: r["early_icaht_grade"] for r in rows}
    assert shown == {"S1": "≥ 2", "S2": "2"}


def test_the_safety_legend_says_what_an_early_at_least_means() -> None:
    from importlib.resources import files

    template = files("cartrial.web").joinpath("templates/safety.html").read_text(encoding="utf-8")
    assert "≥ N in Early ICAHT: the early grade a lower bound" in template
    assert "stop ≤ 500/µL before the end of follow-up" in template
