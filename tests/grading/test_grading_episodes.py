"""CRS/ICANS episodes (ASTCT 2019 grades; episode rules of toxicity-grading.md §1.3 and ambiguity A6 [P];
fever masking carried across time, CRS-2 / A2) and graded events for the DLT rules (cartrial.protocol.dlt)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from cartrial.columns import RowProblems
from cartrial.grading import (
    CrsOptions,
    EpisodeOptions,
    MaskingClasses,
    crs_episodes,
    episode_events,
    grade_labs_arrays,
    icans_episodes,
    lab_events,
    lab_runs,
    parse_crs_frame,
    parse_icans_frame,
    parse_labs_frame,
)
from cartrial.grading.tables import TherapyRecord
from cartrial.protocol.dlt import DltRule, ToxicityCategory

INFUSED = datetime(2021, 6, 1, 2, 0, tzinfo=UTC)
INFUSIONS = {"S1": INFUSED}
COLUMNS = [
    "subject_id",
    "assessed_at",
    "temperature_c",
    "fever_masked",
    "hypotension",
    "vasopressors",
    "vasopressin",
    "oxygen",
    "oxygen_l_min",
    "crs_resolved",
]


def crs_frame(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    """rows: (day, hour, temperature, fever_masked, hypotension, oxygen, flow, resolved)."""
    records = []
    for day, hour, temp, masked, hyp, oxygen, flow, resolved in rows:
        at = (INFUSED.replace(hour=0) + timedelta(days=day, hours=hour)).isoformat()  # type: ignore[arg-type]
        records.append(
            [
                "S1",
                at,
                str(temp),
                str(masked).lower(),
                str(hyp).lower(),
                "0",
                "false",
                oxygen,
                flow,
                str(resolved).lower(),
            ]
        )
    return pd.DataFrame(records, columns=COLUMNS)


def episodes_of(frame: pd.DataFrame, **kwargs: object) -> list:  # type: ignore[type-arg]
    problems = RowProblems("test.csv")
    inputs = parse_crs_frame(frame, problems)
    assert not problems, problems.all()
    return crs_episodes(inputs, INFUSIONS, **kwargs).episodes  # type: ignore[arg-type]


def test_masking_is_carried_across_time_from_the_therapies() -> None:
    """CRS-2 (fever masking once antipyretic/anti-cytokine therapy given) with A2 default classes: after the
    antipyretic given since fever onset, later afebrile assessments on a facemask are grade 3; without
    therapies or with masking_classes=anticytokine_corticosteroid they are grade 0."""
    frame = crs_frame(
        [
            (1, 10, 38.6, False, False, "none", "", False),
            (2, 10, 37.2, False, False, "facemask", "", False),
            (3, 10, 37.0, False, False, "none", "", True),
        ]
    )
    paracetamol = [
        TherapyRecord("S1", INFUSED + timedelta(days=1, hours=9), "antipyretic", "paracetamol", 500, "mg")
    ]
    with_therapy = episodes_of(frame, therapies=paracetamol)
    assert with_therapy[0].max_grade == 3
    assert "facemask" in with_therapy[0].max_grade_rule
    assert with_therapy[0].therapies["antipyretic"] == 1
    without = episodes_of(frame)
    assert without[0].max_grade == 1
    narrow = episodes_of(
        frame,
        therapies=paracetamol,
        options=CrsOptions(masking_classes=MaskingClasses.ANTICYTOKINE_CORTICOSTEROID),
    )
    assert narrow[0].max_grade == 1


def test_masking_flag_carries_until_recorded_resolution() -> None:
    """Masking carried across time: a row flagged fever_masked masks later rows until crs_resolved; with
    post_masking_grade=1 (A1) the episode lasts until the recorded resolution (A6 default)."""
    frame = crs_frame(
        [
            (0, 10, 37.0, False, False, "none", "", False),
            (1, 10, 38.5, False, False, "none", "", False),
            (2, 10, 37.1, True, False, "none", "", False),
            (3, 10, 37.0, False, False, "nasal_cannula", "2", False),  # flag not repeated: still masked
            (4, 10, 36.9, False, False, "none", "", True),
            (5, 10, 36.8, False, False, "none", "", False),
        ]
    )
    (episode,) = episodes_of(frame)
    assert episode.max_grade == 2
    assert episode.onset_at == INFUSED.replace(hour=10) + timedelta(days=1)
    assert episode.onset_hours == pytest.approx(24 + 8)
    assert episode.resolved_at == INFUSED.replace(hour=10) + timedelta(days=4)
    assert episode.duration_days == pytest.approx(3.0)
    assert episode.resolution_basis == "recorded"
    assert episode.max_grade_day == pytest.approx(3 + 8 / 24)


def test_resolution_rule_first_grade_0_and_post_masking_0() -> None:
    """A1 and A6 options: with post_masking_grade=0 a masked afebrile day is grade 0 and ends the episode
    under either resolution rule."""
    frame = crs_frame(
        [
            (1, 10, 38.5, False, False, "none", "", False),
            (2, 10, 37.1, True, False, "none", "", False),
            (3, 10, 38.2, True, False, "none", "", False),
            (4, 10, 36.9, False, False, "none", "", True),
        ]
    )
    default = episodes_of(frame)
    assert len(default) == 1 and default[0].duration_days == pytest.approx(3.0)
    split = episodes_of(
        frame,
        options=CrsOptions(post_masking_grade=0),
        episode_options=EpisodeOptions(resolution_rule="first_grade_0"),  # type: ignore[arg-type]
    )
    assert [e.episode for e in split] == [1, 2]
    assert split[0].duration_days == pytest.approx(1.0)
    assert split[0].resolution_basis.startswith("first grade 0")


def test_day_grading_takes_worst_values_of_the_day() -> None:
    """A6 default grading_unit=day: worst values of the calendar day (fever in the morning, low-flow oxygen in
    the evening → grade 2); per assessment the same day peaks at grade 1."""
    frame = crs_frame(
        [
            (1, 8, 38.4, False, False, "none", "", False),
            (1, 20, 37.5, False, False, "nasal_cannula", "3", False),
            (2, 10, 37.0, False, False, "none", "", False),
        ]
    )
    assert episodes_of(frame)[0].max_grade == 2
    per_assessment = episodes_of(frame, episode_options=EpisodeOptions(grading_unit="assessment"))  # type: ignore[arg-type]
    assert per_assessment[0].max_grade == 1


def test_unresolved_episode_is_ongoing() -> None:
    """An episode without resolution has no duration and is ongoing at the last assessment's day."""
    frame = crs_frame(
        [(1, 10, 38.5, False, False, "none", "", False), (2, 10, 38.7, False, False, "none", "", False)]
    )
    (episode,) = episodes_of(frame)
    assert episode.duration_days is None
    assert episode.ongoing_at_day == pytest.approx(2 + 8 / 24)
    (event,) = episode_events([episode])
    assert event.category is ToxicityCategory.CRS and event.grade == 1 and event.duration_days is None


def test_subject_without_crs_gets_a_grade_0_row() -> None:
    """No row is dropped: a subject without CRS is summarised as episode 0, grade 0 (and gives no event)."""
    frame = crs_frame([(1, 10, 37.0, False, False, "none", "", False)])
    (episode,) = episodes_of(frame)
    assert (episode.episode, episode.max_grade) == (0, 0)
    assert episode_events([episode]) == []


def test_icans_episode() -> None:
    """ICANS episodes (ASTCT 2019 ICANS grade per assessment; resolution at the first grade-0 day)."""
    frame = pd.DataFrame(
        [
            ["S1", "2021-06-02T10:00:00Z", "10", "alert", "none", "none", "none"],
            ["S1", "2021-06-03T10:00:00Z", "6", "awakens_spontaneously", "none", "none", "none"],
            ["S1", "2021-06-04T10:00:00Z", "2", "awakens_to_voice", "none", "none", "none"],
            ["S1", "2021-06-05T10:00:00Z", "10", "alert", "none", "none", "none"],
        ],
        columns=[
            "subject_id",
            "assessed_at",
            "ice_total",
            "consciousness",
            "seizure",
            "motor",
            "cerebral_edema",
        ],
    )
    problems = RowProblems("icans.csv")
    inputs = parse_icans_frame(frame, problems)
    assert not problems
    dexamethasone = [
        TherapyRecord(
            "S1", INFUSED + timedelta(days=2, hours=12), "corticosteroid", "dexamethasone", 10, "mg"
        ),
        TherapyRecord("S1", INFUSED + timedelta(days=9), "corticosteroid", "dexamethasone", 10, "mg"),
    ]
    (episode,) = icans_episodes(inputs, INFUSIONS, therapies=dexamethasone)
    assert episode.max_grade == 3 and episode.duration_days == pytest.approx(2.0)
    assert episode.therapies["corticosteroid"] == 1  # only the dose given during the episode
    (event,) = episode_events([episode])
    assert event.category is ToxicityCategory.ICANS and event.scale == "ASTCT 2019"


def test_haematological_events_duration_from_consecutive_results() -> None:
    """Graded events for the DLT rule "grade 3 haematological toxicity lasting > 7 days, excluding
    lymphopenia" (ct103a-nmosd-trial.md §4 template): a run of results at grade ≥ 3 lasts until the first
    later result below grade 3 (CTCAE v5.0 grades, §4)."""
    rows = [
        ("2021-06-02T07:00:00Z", "neutrophils", "0.9"),  # day 1 grade 3
        ("2021-06-05T07:00:00Z", "neutrophils", "0.4"),  # grade 4
        ("2021-06-11T07:00:00Z", "neutrophils", "1.2"),  # day 10 grade 2: run ends
        ("2021-06-02T07:00:00Z", "lymphocytes", "0.1"),
        ("2021-06-11T07:00:00Z", "lymphocytes", "0.1"),  # still grade 4 at the last result: ongoing
    ]
    frame = pd.DataFrame(
        [["S1", at, analyte, value, "10^9/L", "1.8"] for at, analyte, value in rows],
        columns=["subject_id", "collected_at", "analyte", "value", "unit", "lln"],
    )
    problems = RowProblems("labs.csv")
    inputs = parse_labs_frame(frame, problems)
    graded = grade_labs_arrays(inputs.analyte_code, inputs.value_canonical, inputs.lln_canonical)
    runs = lab_runs(inputs.subject_id, inputs.collected_at, inputs.analyte_code, graded.grade)
    events = lab_events(runs, INFUSIONS)
    neutro = next(e for e in events if e.term == "Neutrophil count decreased")
    assert neutro.grade == 4 and neutro.duration_days == pytest.approx(9.0)
    assert neutro.onset_day == pytest.approx(1 + 5 / 24)
    lympho = next(e for e in events if e.term == "Lymphocyte count decreased")
    assert lympho.duration_days is None and lympho.ongoing_at_day == pytest.approx(10 + 5 / 24)
    rule = DltRule(
        id="heme",
        description="grade 3 haematological toxicity lasting > 7 days excluding lymphopenia",
        category=ToxicityCategory.HEMATOLOGIC,
        min_grade=3,
        min_duration_days=7,
        exclude_terms=["Lymphocyte count decreased"],
    )
    assert rule.min_duration_days is not None and neutro.duration_days > rule.min_duration_days
    assert np.all([e.category is ToxicityCategory.HEMATOLOGIC for e in events])


def test_icans_of_a_subject_assessed_only_before_the_infusion_is_no_episode() -> None:
    """A subject whose only ICANS assessment is the day-0 baseline, taken before the infusion (then the
    subject left the study): `icans_episodes` failed with a traceback (`zip()` of no post-infusion
    assessment with one fallback time; reproduced by `simulate study` with a dropout on day 0). Such an
    assessment opens no episode: the subject has no ICANS of grade ≥ 1 (D-19.135)."""
    from datetime import UTC, datetime

    import pandas as pd

    from cartrial.columns import RowProblems
    from cartrial.grading.episodes import icans_episodes
    from cartrial.grading.tables import parse_icans_frame

    frame = pd.DataFrame(
        {
            "subject_id": ["S1"],
            "assessed_at": ["2024-01-10T08:00Z"],
            "consciousness": "alert",
            "seizure": "none",
            "motor": "none",
            "cerebral_edema": "none",
            "ice_total": [10],
        }
    )
    infused = {"S1": datetime(2024, 1, 10, 14, tzinfo=UTC)}
    (episode,) = icans_episodes(parse_icans_frame(frame, RowProblems("icans")), infused)
    assert (episode.episode, episode.max_grade, episode.n_assessments) == (0, 0, 1)
