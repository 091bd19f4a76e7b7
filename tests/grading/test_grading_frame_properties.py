"""Property-based checks of the frame-level derivations and the issue-12 episode and ICAHT rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartrial.columns import RowProblems, text_frame
from cartrial.grading import (
    EpisodeOptions,
    GradingUnit,
    IcahtOptions,
    MaskedResolution,
    ResolutionRule,
    UnsampledDays,
    crs_episodes,
    derive_crs_episodes,
    derive_crs_grades,
    grade_icaht,
)
from cartrial.grading.tables import parse_crs_frame

INFUSED = datetime(2024, 3, 10, 9, 0, tzinfo=UTC)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ASSESSMENT = st.fixed_dictionaries(
    {
        "hours": st.integers(min_value=-72, max_value=14 * 24),
        "temperature_c": st.sampled_from([36.5, 37.4, 38.0, 38.6, 39.8]),
        "fever_masked": st.booleans(),
        "hypotension": st.booleans(),
        "vasopressors": st.sampled_from([0, 0, 1, 2]),
        "oxygen": st.sampled_from(["none", "none", "nasal_cannula", "facemask", "bipap"]),
        "crs_resolved": st.sampled_from([False, False, False, True]),
    }
)


def crs_frame(assessments: list[dict[str, object]]) -> pd.DataFrame:
    rows = []
    seen: set[object] = set()
    for a in assessments:
        if a["hours"] in seen:  # one assessment per time (duplicates are a separate rule)
            continue
        seen.add(a["hours"])
        hypotension = bool(a["hypotension"])
        rows.append(
            {
                "subject_id": "S1",
                "assessed_at": INFUSED + timedelta(hours=int(a["hours"])),  # type: ignore[call-overload]
                "temperature_c": a["temperature_c"],
                "fever_masked": a["fever_masked"],
                "hypotension": hypotension,
                "vasopressors": a["vasopressors"] if hypotension else 0,
                "vasopressin": False,
                "oxygen": a["oxygen"],
                "oxygen_l_min": 3.0 if a["oxygen"] == "nasal_cannula" else None,
                "crs_resolved": a["crs_resolved"],
            }
        )
    return pd.DataFrame(rows)


EPISODE_OPTIONS = st.builds(
    EpisodeOptions,
    grading_unit=st.sampled_from(list(GradingUnit)),
    resolution_rule=st.sampled_from(list(ResolutionRule)),
    masked_resolution=st.sampled_from(list(MaskedResolution)),
    masked_stable_hours=st.sampled_from([1.0, 24.0, 72.0]),
)


@SETTINGS
@given(st.lists(ASSESSMENT, min_size=1, max_size=14), EPISODE_OPTIONS)
def test_episodes_start_after_the_infusion_and_resolve_after_onset(
    assessments: list[dict[str, object]], options: EpisodeOptions
) -> None:
    """Whatever the options: every episode starts at or after the infusion (onset_day ≥ 0), its maximum is
    1-5, and a resolution never precedes the onset."""
    table = derive_crs_episodes(crs_frame(assessments), {"S1": INFUSED}, episode_options=options).table
    real = table[table["episode"] > 0]
    assert (real["onset_day"] >= 0).all()
    assert real["max_grade"].between(1, 5).all()
    resolved = real.dropna(subset=["duration_days"])
    assert (resolved["duration_days"] >= 0).all()


@SETTINGS
@given(st.lists(ASSESSMENT, min_size=1, max_size=14), EPISODE_OPTIONS)
def test_episode_maximum_is_the_maximum_of_its_graded_assessments(
    assessments: list[dict[str, object]], options: EpisodeOptions
) -> None:
    """Per-assessment grading: the episode maximum equals the highest per-assessment grade (with masking
    carried) among the assessments from onset to resolution (or the last assessment)."""
    options = EpisodeOptions(
        grading_unit=GradingUnit.ASSESSMENT,
        resolution_rule=options.resolution_rule,
        masked_resolution=options.masked_resolution,
        masked_stable_hours=options.masked_stable_hours,
    )
    frame = crs_frame(assessments)
    inputs = parse_crs_frame(frame, RowProblems("crs"))
    result = crs_episodes(inputs, {"S1": INFUSED}, episode_options=options)
    times = np.array(inputs.assessed_at)
    for episode in result.episodes:
        if episode.episode == 0:
            continue
        end = episode.resolved_at or episode.last_assessed_at
        inside = (times >= episode.onset_at) & (times <= end)
        assert episode.max_grade == int(result.assessment_grade[inside].max())


@SETTINGS
@given(
    st.lists(ASSESSMENT, min_size=1, max_size=10),
    st.lists(st.sampled_from([36.6, 38.5, 39.5]), min_size=1, max_size=3),
)
def test_pre_infusion_assessments_never_change_the_episodes(
    assessments: list[dict[str, object]], pre_temperatures: list[float]
) -> None:
    """Adding assessments before the infusion (lymphodepletion fever) leaves every episode unchanged and only
    counts the febrile ones as pre-infusion fever."""
    after = [a for a in assessments if int(a["hours"]) >= 0]  # type: ignore[call-overload]
    if not after:
        return
    base = crs_frame(after)
    pre = base.iloc[[0] * len(pre_temperatures)].copy()
    pre["assessed_at"] = [INFUSED - timedelta(hours=10 + 6 * k) for k in range(len(pre_temperatures))]
    pre["temperature_c"] = pre_temperatures
    pre["crs_resolved"] = False
    with_pre = pd.concat([pre, base], ignore_index=True)
    columns = ["episode", "onset_at", "max_grade", "resolved_at", "duration_days"]
    plain = derive_crs_episodes(base, {"S1": INFUSED}).table
    added = derive_crs_episodes(with_pre, {"S1": INFUSED}).table
    pd.testing.assert_frame_equal(plain[columns], added[columns])
    assert set(added["pre_infusion_fever_assessments"]) == {sum(t >= 38.0 for t in pre_temperatures)}


@SETTINGS
@given(st.lists(ASSESSMENT, min_size=1, max_size=8))
def test_typed_and_text_frames_grade_alike(assessments: list[dict[str, object]]) -> None:
    """A typed frame (numbers, booleans, datetimes, None) and the same data as CSV text give equal grades."""
    frame = crs_frame(assessments)
    typed = derive_crs_grades(frame).table
    text = derive_crs_grades(text_frame(frame)).table
    assert typed["grade"].tolist() == text["grade"].tolist()
    assert typed["grade_reason"].tolist() == text["grade_reason"].tolist()


ANC_SERIES = st.lists(
    st.tuples(st.integers(min_value=0, max_value=100), st.sampled_from([50.0, 300.0, 450.0, 800.0, 2000.0])),
    min_size=1,
    max_size=12,
)


@SETTINGS
@given(ANC_SERIES, st.sampled_from(list(UnsampledDays)), st.data())
def test_icaht_grade_never_falls_when_a_count_falls(
    series: list[tuple[int, float]], mode: UnsampledDays, data: st.DataObject
) -> None:
    """Lowering one ANC value never lowers the early or late ICAHT grade (deeper neutropenia is never
    milder), under every rule for unsampled days."""
    days = [d for d, _ in series]
    anc = [a for _, a in series]
    k = data.draw(st.integers(min_value=0, max_value=len(anc) - 1))
    lower = [*anc[:k], anc[k] / 2, *anc[k + 1 :]]
    options = IcahtOptions(unsampled_days=mode)
    before, after = grade_icaht(days, anc, options), grade_icaht(days, lower, options)
    assert (after.early_grade or 0) >= (before.early_grade or 0)
    assert (after.late_grade or 0) >= (before.late_grade or 0)


@SETTINGS
@given(ANC_SERIES, st.sampled_from(list(UnsampledDays)))
def test_icaht_extra_higher_count_on_a_sampled_day_changes_nothing(
    series: list[tuple[int, float]], mode: UnsampledDays
) -> None:
    """The lowest count of a day decides: another, higher count on the same day never changes the grade."""
    days = [d for d, _ in series]
    anc = [a for _, a in series]
    options = IcahtOptions(unsampled_days=mode)
    before = grade_icaht(days, anc, options)
    after = grade_icaht([*days, days[0]], [*anc, anc[0] + 5000.0], options)
    assert (before.early_grade, before.early_days_anc_le_500) == (
        after.early_grade,
        after.early_days_anc_le_500,
    )
    assert before.late_grade == after.late_grade
