"""The geometric summary of a partial AUC is taken over the subjects whose samples cover the interval
(docs/science/decisions.md D-19.95).

Before: a subject whose samples stopped before day 28 (a death on day 10; at an interim cut-off, a subject
infused 14 days earlier) had an ``auc_0_28`` that was its AUC to the last sample, summarised in the geometric
mean of AUC0-28 beside the subjects with full coverage, unflagged: the mean was biased low. In the example
study at a 2021-12-20 cut-off, CT-012 (infused 2021-12-07) had a CAR-T cell "AUC0-28" of 16 cells·day/µL
against 2,079 once sampled to day 28, and the dose-level-2 geometric mean fell from 1,772 to 1,050."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis import Analysis, analyse
from cartrial.analysis.kinetics import nca_datasets
from cartrial.analysis.model import Population
from cartrial.analysis.populations import SAFETY
from cartrial.protocol.analysis_spec import AnalysisOptions
from cartrial.store.snapshot import read_snapshot

from .conftest import rows

INTERIM = dt.date(2021, 12, 20)
"""An interim cut-off of the example: CT-012 (infused 2021-12-07) sampled to day 13.9 only."""

FULL = [(0, 0.0), (7, 1000.0), (14, 500.0), (21, 200.0), (28, 100.0)]
PROFILES = {
    "S1": FULL,
    "S2": [(d, 2 * c) for d, c in FULL],
    "DIED10": [(0, 0.0), (7, 1000.0), (10, 800.0)],  # died on day 10
    "BLQ14": [(0, 0.0), (7, 300.0), (14, None)],  # BLQ from day 14, then withdrew
}


def _tables(profiles: dict[str, list[tuple[float, float | None]]]) -> dict[str, pd.DataFrame]:
    samples = [
        {
            "subject_id": sid,
            "analyte": "car_transgene",
            "nominal_day": day,
            "actual_day": float(day),
            "value": "" if value is None else value,
            "unit": "copies/ug gDNA",
            "blq": value is None,
        }
        for sid, profile in profiles.items()
        for day, value in profile
    ]
    infusions = pd.DataFrame(
        {"subject_id": list(profiles), "dose_level": 1, "infused_at": "2021-01-01T00:00:00Z"}
    )
    return {"pk_samples": pd.DataFrame(samples), "infusions": infusions}


def _datasets(profiles: dict[str, list[tuple[float, float | None]]], **options: object) -> dict:
    populations = {SAFETY: Population(SAFETY, "infused", tuple(profiles), {})}
    options.setdefault("nca_options", {"auc_method": "linear"})
    spec = AnalysisOptions(**options)  # type: ignore[arg-type]
    return nca_datasets(_tables(profiles), populations, spec)


def _auc(profile: list[tuple[float, float | None]]) -> float:
    """Linear-trapezoid AUC of the samples, BLQ as 0 (the linear method, computed independently)."""
    days = np.array([d for d, _ in profile], dtype=float)
    values = np.array([0.0 if c is None else c for _, c in profile])
    return float(np.trapezoid(values, days))


def _row(summary: pd.DataFrame, parameter: str = "auc_0_28", group: str = "all") -> dict:
    hit = summary[(summary["parameter"] == parameter) & (summary["group"] == group)]
    assert len(hit) == 1
    return hit.iloc[0].to_dict()


def test_a_subject_sampled_to_day_10_is_flagged_and_left_out_of_the_geometric_mean() -> None:
    """Failing first: DIED10's AUC to day 10 was in the geometric mean of auc_0_28 (n 4, no count)."""
    datasets = _datasets(PROFILES)
    by_subject = datasets["nca_by_subject"].table.set_index("subject_id")
    assert by_subject["auc_0_28_covered"].to_dict() == {
        "S1": True,
        "S2": True,
        "DIED10": False,
        "BLQ14": True,
    }
    assert by_subject.loc["DIED10", "last_sample_time"] == 10.0
    for sid, profile in PROFILES.items():  # the per-subject value is unchanged: the flag says what it is
        assert by_subject.loc[sid, "auc_0_28"] == pytest.approx(_auc(profile))
    row = _row(datasets["nca_summary"].table)
    covered = [_auc(PROFILES[s]) for s in ("S1", "S2", "BLQ14")]
    assert (row["n"], row["n_not_covered"], row["n_subjects"]) == (3, 1, 4)
    assert row["geometric_mean"] == pytest.approx(math.exp(np.mean(np.log(covered))))
    notes = " ".join(datasets["nca_summary"].notes)
    assert "DIED10 (car_transgene, last sample day 10)" in notes and "D-19.95" in notes
    cmax = _row(datasets["nca_summary"].table, "cmax")
    assert cmax["n"] == 4 and pd.isna(cmax["n_not_covered"])  # other parameters: every subject


def test_the_all_option_keeps_every_subject_and_counts_the_not_covered() -> None:
    datasets = _datasets(PROFILES, nca_interval_summary="all")
    row = _row(datasets["nca_summary"].table)
    everyone = [_auc(p) for p in PROFILES.values()]
    assert (row["n"], row["n_not_covered"]) == (4, 1)
    assert row["geometric_mean"] == pytest.approx(math.exp(np.mean(np.log(everyone))))


def test_sampled_to_end_does_not_count_a_blq_tail() -> None:
    datasets = _datasets(
        PROFILES, nca_options={"auc_method": "linear", "interval_coverage": "sampled_to_end"}
    )
    row = _row(datasets["nca_summary"].table)
    assert (row["n"], row["n_not_covered"]) == (2, 2)


_uncovered = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=27),
        st.floats(min_value=1.0, max_value=1e5, allow_nan=False),
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda s: s[0],
).map(lambda s: [(0, 0.0), *sorted(s)])


@settings(max_examples=property_examples(25), deadline=None)
@given(extra=st.lists(_uncovered, min_size=1, max_size=3))
def test_not_covered_subjects_never_change_the_covered_subjects_summary(extra: list) -> None:
    """Adding subjects whose samples stop before day 28 at a quantifiable value changes neither the covered
    subjects' values nor the covered summary: only n_not_covered grows."""
    base = {k: PROFILES[k] for k in ("S1", "S2", "BLQ14")}
    more = {**base, **{f"X{i}": p for i, p in enumerate(extra)}}
    before, after = _datasets(base), _datasets(more)
    values_before = before["nca_by_subject"].table.set_index("subject_id")["auc_0_28"]
    values_after = after["nca_by_subject"].table.set_index("subject_id")["auc_0_28"]
    assert values_after[values_before.index].tolist() == values_before.tolist()
    for group in ("dose level 1", "all"):
        old, new = (
            _row(before["nca_summary"].table, group=group),
            _row(after["nca_summary"].table, group=group),
        )
        for key in ("n", "geometric_mean", "geometric_cv_pct", "median", "min", "max"):
            assert new[key] == old[key]
        assert (old["n_not_covered"], new["n_not_covered"]) == (0, len(extra))


def _interim_expectation() -> set[tuple[str, str]]:
    """(subject, analyte) profiles not covering day 28 at the interim cut-off, from the example's CSV alone:
    no sample on or after day 28 (actual or nominal) by the cut-off — a sample's date on its site's calendar
    (`sites.csv` time zone), the data cut-off's rule (D-19.729) — and the last one quantifiable."""
    zones = {r["site_id"]: ZoneInfo(r["time_zone"]) for r in rows("sites")}
    site_of = {r["subject_id"]: r["site_id"] for r in rows("subjects")}
    last: dict[tuple[str, str], dict[str, str]] = {}
    for r in rows("pk_samples"):
        sampled = dt.datetime.fromisoformat(r["sampled_at"].replace("Z", "+00:00"))
        if sampled.astimezone(zones[site_of[r["subject_id"]]]).date() > INTERIM or float(r["actual_day"]) < 0:
            continue
        key = (r["subject_id"], r["analyte"])
        if key not in last or float(r["actual_day"]) > float(last[key]["actual_day"]):
            last[key] = r
    return {
        key
        for key, r in last.items()
        if max(float(r["actual_day"]), float(r["nominal_day"])) < 28 and r["blq"] != "true"
    }


def test_example_at_its_cutoff_is_unchanged_and_at_an_interim_leaves_out_ct_011_and_ct_012(
    example_sqlite_template: Path, analysis: Analysis
) -> None:
    """At the example's cut-off every profile covers day 28: the summary is the geometric statistics over
    every subject, as before. At the 2021-12-20 interim, CT-012 (last sample day 9.9) and CT-011 (day 20.9)
    are flagged and left out: their next samples, 2021-12-20 23:17Z and 23:26Z, fall on 21 December in
    Wuhan, after the cut-off on the site's calendar (D-19.729; by UTC date CT-011's day-28 sample was in)."""
    url = f"sqlite:///{example_sqlite_template}"
    final = analysis  # the example's default analysis at CUTOFF (conftest.py)
    nca = final.datasets["nca_by_subject"].table
    assert nca["auc_0_28_covered"].all()
    summary = final.datasets["nca_summary"].table
    for analyte, part in nca.groupby("analyte"):
        row = summary[(summary["analyte"] == analyte) & (summary["group"] == "all")]
        row = row[row["parameter"] == "auc_0_28"].iloc[0]
        assert row["n"] == len(part) and row["n_not_covered"] == 0
        assert row["geometric_mean"] == pytest.approx(math.exp(np.log(part["auc_0_28"]).mean()), rel=1e-12)
    interim = analyse(read_snapshot(url, INTERIM))
    nca = interim.datasets["nca_by_subject"].table
    flagged = {(r.subject_id, r.analyte) for r in nca.itertuples() if not r.auc_0_28_covered}
    assert (
        flagged
        == _interim_expectation()
        == {
            (subject, analyte)
            for subject in ("CT-011", "CT-012")
            for analyte in ("car_t_cells", "car_transgene")
        }
    )
    summary = interim.datasets["nca_summary"].table
    for analyte, part in nca.groupby("analyte"):
        covered = part[part["auc_0_28_covered"].astype(bool)]
        row = summary[(summary["analyte"] == analyte) & (summary["group"] == "dose level 2")]
        row = row[row["parameter"] == "auc_0_28"].iloc[0]
        level2 = covered[covered["dose_level"] == 2]
        assert (row["n"], row["n_not_covered"]) == (len(level2), 2)  # CT-011 and CT-012, both level 2
        assert row["geometric_mean"] == pytest.approx(math.exp(np.log(level2["auc_0_28"]).mean()), rel=1e-12)
