"""Monotonicity over time series (hypothesis): a worse observation never lowers a subject's worst CRS episode
grade, and a lower blood count never takes away a haematological DLT.

Expected behaviour from the sources, not from the code: the ASTCT 2019 CRS grade rises with fever,
vasopressor need and oxygen support (Lee DW et al. BBMT 2019;25:625-638, CRS table), and an episode's grade
is the worst of its grading units (toxicity-grading.md §1.3); the protocol's haematological DLT ("grade 3
haematological toxicity lasting > 7 days", NCT06958939) can only be met sooner by a lower count. Before
D-19.1191 a lower count before the infusion moved the run's onset before day 0 and took the DLT away.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.escalation.dlt import assess_dlt
from cartrial.grading import derive_crs_episodes, derive_graded_events
from cartrial.grading.episodes import EpisodeOptions
from cartrial.protocol import GradedEvent
from cartrial.protocol.dlt import DltRule

OXYGEN = [
    "none",
    "blow_by",
    "nasal_cannula",
    "high_flow_nasal_cannula",
    "facemask",
    "cpap",
    "mechanical_ventilation",
]
INFUSED = dt.datetime(2024, 1, 10, 7, 0, tzinfo=dt.UTC)
INFUSIONS = pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2024-01-10T07:00:00Z"]})
HAEM_RULE = DltRule(
    id="hematologic_grade_3_over_7_days",
    description="Grade >= 3 haematological toxicity lasting > 7 days",
    category="hematologic",
    min_grade=3,
    min_duration_days=7,
)

# (temperature, fever_masked, pressors incl. one without vasopressin count, oxygen, flow, resolved, hours gap)
CRS_ROW = st.tuples(
    st.sampled_from([36.8, 38.5]),
    st.booleans(),
    st.integers(0, 3),
    st.sampled_from(OXYGEN),
    st.sampled_from([2.0, 6.0, 8.0]),
    st.booleans(),
    st.integers(1, 30),
)


def _crs_frame(rows: list[tuple]) -> pd.DataFrame:  # type: ignore[type-arg]
    records, hours = [], 0
    for temperature, masked, pressors, oxygen, flow, resolved, gap in rows:
        hours += gap
        at = INFUSED + dt.timedelta(hours=hours)
        records.append(
            {
                "subject_id": "S1",
                "assessed_at": at.isoformat().replace("+00:00", "Z"),
                "temperature_c": temperature,
                "fever_masked": masked,
                "hypotension": pressors > 0,
                "vasopressors": max(pressors - 1, 0),
                "vasopressin": False,
                "oxygen": oxygen,
                "oxygen_l_min": flow if oxygen == "nasal_cannula" else None,
                "crs_resolved": resolved,
            }
        )
    return pd.DataFrame(records)


def _worst_crs(rows: list[tuple], unit: str) -> int:  # type: ignore[type-arg]
    options = EpisodeOptions(grading_unit=unit)
    table = derive_crs_episodes(_crs_frame(rows), INFUSIONS, episode_options=options).table
    return int(table["max_grade"].fillna(0).max()) if len(table) else 0


@settings(max_examples=property_examples(150), deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(CRS_ROW, min_size=1, max_size=6), st.data(), st.sampled_from(["day", "assessment"]))
def test_a_worse_observation_never_lowers_the_worst_crs_episode(
    rows: list[tuple],  # type: ignore[type-arg]
    data: st.DataObject,
    unit: str,
) -> None:
    k = data.draw(st.integers(0, len(rows) - 1))
    temperature, masked, pressors, oxygen, flow, resolved, gap = rows[k]
    what = data.draw(st.sampled_from(["fever", "pressor", "oxygen", "flow"]))
    worse = list(rows)
    if what == "fever":
        worse[k] = (38.5, masked, pressors, oxygen, flow, resolved, gap)
    elif what == "pressor":
        worse[k] = (temperature, masked, min(pressors + 1, 3), oxygen, flow, resolved, gap)
    elif what == "oxygen":
        better = OXYGEN[min(OXYGEN.index(oxygen) + 1, len(OXYGEN) - 1)]
        worse[k] = (temperature, masked, pressors, better, flow, resolved, gap)
    else:
        worse[k] = (temperature, masked, pressors, oxygen, 8.0, resolved, gap)
    assert _worst_crs(worse, unit) >= _worst_crs(rows, unit)


def _haem_dlt(days_values: list[tuple[int, float]]) -> bool:
    labs = pd.DataFrame(
        {
            "subject_id": ["S1"] * len(days_values),
            "collected_at": [
                (INFUSED + dt.timedelta(days=d, hours=1)).isoformat().replace("+00:00", "Z")
                for d, _ in days_values
            ],
            "analyte": ["neutrophils"] * len(days_values),
            "value": [v for _, v in days_values],
            "unit": ["10^9/L"] * len(days_values),
            "lln": [1.8] * len(days_values),
        }
    )
    table = derive_graded_events(INFUSIONS, labs=labs, pre_treatment=[False] * len(labs)).table
    for row in table.to_dict("records"):
        event = GradedEvent(
            "S1",
            "hematologic",
            str(row["term"]),
            int(row["grade"]),
            "CTCAE v5.0",
            float(row["onset_day"]),
            duration_days=None if pd.isna(row["duration_days"]) else float(row["duration_days"]),
            ongoing_at_day=None if pd.isna(row["ongoing_at_day"]) else float(row["ongoing_at_day"]),
        )
        if assess_dlt(event, [HAEM_RULE], 28).is_dlt:
            return True
    return False


@settings(max_examples=property_examples(150), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(st.sampled_from([0.3, 0.7, 1.2, 2.5]), min_size=2, max_size=8),
    st.data(),
)
def test_a_lower_count_never_takes_a_haematological_dlt_away(
    values: list[float], data: st.DataObject
) -> None:
    days = sorted(data.draw(st.sets(st.integers(-5, 25), min_size=len(values), max_size=len(values))))
    series = list(zip(days, values, strict=True))
    k = data.draw(st.integers(0, len(series) - 1))
    lower = list(series)
    lower[k] = (series[k][0], 0.3)
    if _haem_dlt(series):
        assert _haem_dlt(lower)
