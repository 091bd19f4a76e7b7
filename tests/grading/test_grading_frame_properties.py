"""Property-based checks of the frame-level derivations and the issue-12 episode and ICAHT rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

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
SETTINGS = settings(
    max_examples=property_examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

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


ICANS_ASSESSMENT = st.fixed_dictionaries(
    {
        "hours": st.integers(min_value=1, max_value=14 * 24),
        # alert with an ICE score: graded 0-2; unarousable from sedation, ICE 0: "not assessable" (D-19.675)
        "sedated": st.sampled_from([False, False, True]),
        "ice_total": st.sampled_from([10, 8, 5, 2]),
    }
)


def icans_frame(assessments: list[dict[str, object]]) -> pd.DataFrame:
    rows, seen = [], set()
    for a in assessments:
        if a["hours"] in seen:
            continue
        seen.add(a["hours"])
        sedated = bool(a["sedated"])
        rows.append(
            {
                "subject_id": "S1",
                "assessed_at": INFUSED + timedelta(hours=int(a["hours"])),  # type: ignore[call-overload]
                "consciousness": "unarousable" if sedated else "alert",
                "seizure": "none",
                "motor": "none",
                "cerebral_edema": "none",
                "ice_total": 0 if sedated else a["ice_total"],
                "consciousness_other_cause": "true" if sedated else "false",
            }
        )
    return pd.DataFrame(rows)


def _last_ongoing_holds(table: pd.DataFrame, *, crs: bool) -> None:
    for episode in table[table["episode"] > 0].to_dict("records"):
        resolved, last_ongoing = episode["resolved_at"], episode["last_ongoing_at"]
        assert (last_ongoing is None) == (resolved is not None)  # blank exactly when resolved
        if last_ongoing is None:
            continue
        onset, last = pd.Timestamp(episode["onset_at"]), pd.Timestamp(episode["last_assessed_at"])
        assert onset <= pd.Timestamp(last_ongoing) <= last
        if crs:  # every CRS row grades: the subject's last assessment
            assert pd.Timestamp(last_ongoing) == last


@SETTINGS
@given(st.lists(ASSESSMENT, min_size=1, max_size=14), EPISODE_OPTIONS)
def test_crs_last_ongoing_at_is_blank_once_resolved_else_the_last_assessment(
    assessments: list[dict[str, object]], options: EpisodeOptions
) -> None:
    """D-19.767: `last_ongoing_at` is blank exactly when the episode resolved; otherwise onset ≤ it ≤
    `last_assessed_at`, and for CRS (every row grades) it is `last_assessed_at`."""
    table = derive_crs_episodes(crs_frame(assessments), {"S1": INFUSED}, episode_options=options).table
    _last_ongoing_holds(table, crs=True)


@SETTINGS
@given(st.lists(ICANS_ASSESSMENT, min_size=1, max_size=12), EPISODE_OPTIONS)
def test_icans_last_ongoing_at_is_blank_once_resolved_else_within_onset_and_last_assessment(
    assessments: list[dict[str, object]], options: EpisodeOptions
) -> None:
    """As for CRS, except that a later "not assessable" (sedated) row may make `last_assessed_at` later."""
    from cartrial.grading.frames import derive_icans_episodes

    table = derive_icans_episodes(icans_frame(assessments), {"S1": INFUSED}, episode_options=options).table
    _last_ongoing_holds(table, crs=False)


def test_crs_last_ongoing_at_is_the_last_assessment() -> None:
    """Fever 38.6 °C at 30 h and 54 h, no other finding (ASTCT grade 1), never resolved: one unresolved
    episode; `last_ongoing_at` = `last_assessed_at` = the 54 h assessment (2024-03-12 15:00Z), by hand."""
    base = {"temperature_c": 38.6, "fever_masked": False, "hypotension": False, "vasopressors": 0}
    rows = [{**base, "hours": h, "oxygen": "none", "crs_resolved": False} for h in (30, 54)]
    (episode,) = derive_crs_episodes(crs_frame(rows), {"S1": INFUSED}).table.to_dict("records")
    assert (episode["episode"], episode["max_grade"], episode["resolved_at"]) == (1, 1, None)
    assert pd.Timestamp(episode["last_ongoing_at"]) == pd.Timestamp("2024-03-12T15:00Z")
    assert pd.Timestamp(episode["last_assessed_at"]) == pd.Timestamp("2024-03-12T15:00Z")


def test_icans_day_unit_last_graded_row_may_be_grade_0() -> None:
    """Day unit (default): ICE 5 (grade 2) at 25 h and ICE 10 (grade 0) at 35 h, both on 2024-03-11: the
    day's grade is its maximum, 2; no grade-0 day follows, so the episode is unresolved, and its last graded
    row, `last_ongoing_at`, is the grade-0 row of that day (2024-03-11 20:00Z), by hand."""
    from cartrial.grading.frames import derive_icans_episodes

    rows = [{"hours": 25, "sedated": False, "ice_total": 5}, {"hours": 35, "sedated": False, "ice_total": 10}]
    (episode,) = derive_icans_episodes(icans_frame(rows), {"S1": INFUSED}).table.to_dict("records")
    assert (episode["episode"], episode["max_grade"], episode["resolved_at"]) == (1, 2, None)
    assert pd.Timestamp(episode["last_ongoing_at"]) == pd.Timestamp("2024-03-11T20:00Z")


def test_icans_assessment_unit_last_ongoing_at_skips_not_assessable_rows() -> None:
    """Assessment unit: ICE 5 (grade 2) at 25 h, sedated at 49 h, ICE 8 (grade 1) at 73 h, sedated at 97 h:
    unresolved; last graded row 73 h (2024-03-13 10:00Z), last assessment 97 h (2024-03-14 10:00Z)."""
    from cartrial.grading.frames import derive_icans_episodes

    rows = [
        {"hours": 25, "sedated": False, "ice_total": 5},
        {"hours": 49, "sedated": True, "ice_total": 0},
        {"hours": 73, "sedated": False, "ice_total": 8},
        {"hours": 97, "sedated": True, "ice_total": 0},
    ]
    options = EpisodeOptions(grading_unit=GradingUnit.ASSESSMENT)
    table = derive_icans_episodes(icans_frame(rows), {"S1": INFUSED}, episode_options=options).table
    (episode,) = table.to_dict("records")
    assert (episode["max_grade"], episode["resolved_at"]) == (2, None)
    assert pd.Timestamp(episode["last_ongoing_at"]) == pd.Timestamp("2024-03-13T10:00Z")
    assert pd.Timestamp(episode["last_assessed_at"]) == pd.Timestamp("2024-03-14T10:00Z")
