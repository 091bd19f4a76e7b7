"""The CRS/ICANS heat map's days (report figure and web safety page) and the swimmer plot's CRS bars: each
episode's peak grade fills its whole calendar days on the site's calendar (day 0 = the infusion's date,
D-19.607, as the follow-up is counted) from onset to resolution; an episode still unresolved at its last
assessment fills through the day of that assessment, not only its onset day (D-19.767). Expected values by
hand.

The frames carry the instants (``infused_at``, ``onset_at``, ``resolved_at``, ``last_ongoing_at``) the rule
reads (and ``last_assessed_at``, the subject's last assessment of any kind, which it no longer reads) and
also the elapsed-day columns of the same episode (``onset_day``, ``duration_days``, ``ongoing_at_day``),
which the first version counted from: changed by design (D-19.767 amended), the same expectations where the
two agree."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cartrial.analysis.toxicity import UNGRADED, episode_grade_days, episode_span, observed_days

U = UNGRADED  # an unresolved episode's day after its last graded day: unresolved, not graded (D-19.767)

UTC0 = dt.datetime(2021, 4, 27, tzinfo=dt.UTC)  # a UTC site's infusion at midnight: day d = elapsed d


def _at(days: float | None, base: dt.datetime = UTC0) -> str | None:
    return None if days is None else (base + dt.timedelta(days=days)).isoformat()


def _episode(
    subject: str,
    grade: int,
    onset: float,
    resolved: float | None = None,
    last: float | None = None,
    base: dt.datetime = UTC0,
) -> dict[str, object]:
    """An episode `onset` days after an infusion at `base`, resolved or last assessed so many days after."""
    return {
        "subject_id": subject,
        "max_grade": grade,
        "infused_at": base.isoformat(),
        "onset_at": _at(onset, base),
        "resolved_at": _at(resolved, base),
        "last_assessed_at": _at(last if last is not None else resolved, base),
        "last_ongoing_at": None if resolved is not None else _at(last, base),
        "onset_day": onset,
        "duration_days": None if resolved is None else resolved - onset,
        "ongoing_at_day": None if resolved is not None else last,
    }


def _episodes(*rows: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_resolved_episode_fills_onset_to_resolution() -> None:
    # onset day 3.333, resolved on day 6.343: days 3, 4, 5, 6
    grid = episode_grade_days(_episodes(_episode("A", 1, 3.333, resolved=6.343)), ["A"], 10)
    assert grid["A"] == [None, None, None, 1, 1, 1, 1, None, None, None]


def test_unresolved_episode_fills_through_last_assessment() -> None:
    # onset day 2.5, unresolved, last assessed on day 5.4 (still grade 3): days 2, 3, 4, 5 (was day 2 only);
    # days 6, 7 (observed: no `observed` given, all 8 days) unresolved, not graded (were None; changed by
    # design, D-19.767 amended)
    grid = episode_grade_days(_episodes(_episode("A", 3, 2.5, last=5.4)), ["A", "B"], 8)
    assert grid["A"] == [None, None, 3, 3, 3, 3, U, U]
    assert grid["B"] == [None] * 8


def test_overlap_keeps_the_higher_grade_and_the_span_is_capped() -> None:
    grid = episode_grade_days(
        _episodes(
            _episode("A", 1, 1.0, resolved=6.0),
            _episode("A", 2, 3.2, last=40.0),
            _episode("Z", 4, 1.0, resolved=2.0),  # not listed
        ),
        ["A"],
        6,
    )
    assert grid == {"A": [None, 1, 1, 2, 2, 2]}


def test_neither_resolved_nor_assessed_after_onset_is_the_onset_day() -> None:
    grid = episode_grade_days(_episodes(_episode("A", 2, 0.4)), ["A"], 3)
    assert grid["A"] == [2, U, U]  # unresolved: days 1, 2 not graded (were None; changed by design)


# Asia/Shanghai (UTC+08:00, no daylight saving): infused 2021-04-27 07:30 +08 (2021-04-26T23:30Z) -> day 0 is
# 2021-04-27 on the site's calendar.
SHANGHAI = dt.datetime(2021, 4, 26, 23, 30, tzinfo=dt.UTC)


def _shanghai(hours_after_infusion: float) -> float:
    return hours_after_infusion / 24


def test_days_are_the_sites_calendar_days_not_elapsed_24_hour_periods() -> None:
    """The review's example: onset 2021-05-01 02:00 +08 (calendar day 4; 90.5 h after the infusion, elapsed
    day 3), still grade 3 at the last assessment 2021-05-05 06:00 +08 (calendar day 8; 190.5 h, elapsed day
    7). Follow-up to a 2021-05-05 cut-off: 8 calendar days, days 0-8 observed. Grade 3 on days 4-8 (the
    elapsed count showed days 3-7 and day 8, observed, blank)."""
    episode = _episode("A", 3, _shanghai(90.5), last=_shanghai(190.5), base=SHANGHAI)
    assert episode_span(episode, "Asia/Shanghai") == (4, 8)
    grid = episode_grade_days(_episodes(episode), ["A"], 29, {"A": "Asia/Shanghai"})
    assert grid["A"][:9] == [None, None, None, None, 3, 3, 3, 3, 3]
    assert observed_days(8, 29) == 9 and grid["A"][8] == 3  # the last observed day is filled
    # day 9 on, no `observed` given: unresolved, not graded (was None; changed by design, D-19.767 amended)
    assert grid["A"][9:] == [U] * 20
    observed = episode_grade_days(_episodes(episode), ["A"], 29, {"A": "Asia/Shanghai"}, {"A": 9})
    assert observed["A"] == [None] * 4 + [3] * 5 + [None] * 20  # days 9-28 not observed: no state
    # the same instants on a UTC site: infused 2021-04-26 23:30Z (day 0 = 04-26), onset 04-30 18:00Z
    # (day 4), last assessed 05-04 22:00Z (day 8)
    assert episode_span(episode, None) == (4, 8)


def test_an_evening_onset_is_its_own_calendar_day() -> None:
    """Infused 07:30 +08 on 04-27; onset 23:00 +08 on 04-27 (15.5 h: day 0 on both counts); resolved 01:00
    +08 on 04-29 (41.5 h after the infusion: calendar day 2, elapsed 1.73 days). Days 0, 1, 2."""
    episode = _episode("A", 2, _shanghai(15.5), resolved=_shanghai(41.5), base=SHANGHAI)
    assert episode_span(episode, "Asia/Shanghai") == (0, 2)
    grid = episode_grade_days(_episodes(episode), ["A"], 5, {"A": "Asia/Shanghai"})
    assert grid["A"] == [2, 2, 2, None, None]


def test_resolution_on_the_onset_day_is_one_day() -> None:
    # onset 09:00 +08 on 04-29 (49.5 h), resolved 20:00 +08 the same day (60.5 h): day 2 only
    episode = _episode("A", 1, _shanghai(49.5), resolved=_shanghai(60.5), base=SHANGHAI)
    assert episode_span(episode, "Asia/Shanghai") == (2, 2)
    grid = episode_grade_days(_episodes(episode), ["A"], 5, {"A": "Asia/Shanghai"})
    assert grid["A"] == [None, None, 1, None, None]


def test_onset_after_the_span_is_not_shown_and_a_late_end_is_capped() -> None:
    grid = episode_grade_days(
        _episodes(
            _episode("A", 2, 30.2, resolved=33.0),  # onset day 30: after days 0-28
            _episode("B", 3, 27.5, last=45.0),  # last assessed on day 45: days 27, 28 of the figure
        ),
        ["A", "B"],
        29,
    )
    assert grid["A"] == [None] * 29
    assert grid["B"] == [None] * 27 + [3, 3]


def test_an_end_after_the_follow_up_fills_the_grid_and_only_observed_days_are_shown() -> None:
    # resolved on day 12 of a patient followed 10 days (observed days 0-10): the grid holds days 5-12 (whole
    # grid: days 0-4 none, 5-12 grade 1, 13-28 none); the page and the figure show the first 11 days
    # (`observed_days`) and mark days 11-28 not observed, so the episode is shown on days 5-10 only
    grid = episode_grade_days(_episodes(_episode("A", 1, 5.1, resolved=12.3)), ["A"], 29)
    assert grid["A"][5:13] == [1] * 8 and grid["A"][13] is None
    assert grid["A"] == [None] * 5 + [1] * 8 + [None] * 16
    shown = observed_days(10, 29)
    assert shown == 11
    assert grid["A"][:shown] == [None] * 5 + [1] * 6


def test_an_episode_over_before_day_0_is_not_shown() -> None:
    # onset 1.5 days before the infusion, resolved 1 day before it (day -1): nothing on day 0 (it was painted)
    episode = _episode("A", 2, -1.5, resolved=-1.0)
    assert episode_span(episode, None) == (-2, -1)
    assert episode_grade_days(_episodes(episode), ["A"], 3)["A"] == [None, None, None]
    # one that starts before day 0 and ends on day 1 shows on days 0 and 1
    assert episode_grade_days(_episodes(_episode("A", 2, -0.5, resolved=1.5)), ["A"], 3)["A"] == [2, 2, None]


def test_unknown_follow_up_observes_no_day() -> None:
    assert observed_days(None, 29) == 0


def test_an_unresolved_icans_episode_is_not_filled_through_not_assessable_rows() -> None:
    # ICANS grade 2 (ICE 5, alert) on day 2, then only "not assessable" rows (unarousable from sedation, ICE
    # 0, no other finding: neither grade 0 nor ≥ 1, D-19.675) on days 3, 6 and 9: the episode is unresolved
    # and was last graded on day 2, so it fills day 2 only, not days 2-9. Infusion 2024-01-10 09:00 UTC (day
    # 0 = 10 January): 12 January = day 2, 19 January = day 9. The subject's last assessment of any kind stays
    # `last_assessed_at` (19 January); the episode's own last graded assessment is `last_ongoing_at`.
    from cartrial.grading.frames import derive_icans_episodes

    rows = pd.DataFrame(
        {
            "subject_id": ["S1"] * 4,
            "assessed_at": [
                "2024-01-12T10:00Z",
                "2024-01-13T10:00Z",
                "2024-01-16T10:00Z",
                "2024-01-19T10:00Z",
            ],
            "consciousness": ["alert", "unarousable", "unarousable", "unarousable"],
            "seizure": ["none"] * 4,
            "motor": ["none"] * 4,
            "cerebral_edema": ["none"] * 4,
            "ice_total": [5, 0, 0, 0],
            "consciousness_other_cause": ["false", "true", "true", "true"],
        }
    )
    table = derive_icans_episodes(rows, {"S1": dt.datetime(2024, 1, 10, 9, tzinfo=dt.UTC)}).table
    (episode,) = table.to_dict("records")
    assert (episode["max_grade"], episode["resolved_at"]) == (2, None)
    assert pd.Timestamp(episode["last_assessed_at"]) == pd.Timestamp("2024-01-19T10:00Z")
    assert pd.Timestamp(episode["last_ongoing_at"]) == pd.Timestamp("2024-01-12T10:00Z")
    assert episode_span(episode, None) == (2, 2)
    # followed to day 9 (observed days 0-9): days 3-9 are unresolved, not graded, days 10, 11 not observed;
    # they were None, read as "no episode" (grade 0 in the report) while the engine says unresolved (changed
    # by design, D-19.767 amended)
    assert episode_grade_days(table, ["S1"], 12, observed={"S1": 10})["S1"] == [None, None, 2] + [U] * 7 + [
        None,
        None,
    ]


def test_an_unresolved_episode_is_unresolved_not_graded_after_its_last_graded_day() -> None:
    # grade 2, onset day 2.5, last graded on day 3.4, unresolved; observed days 0-7: days 2, 3 grade 2; days
    # 4-7 unresolved, not graded; days 8, 9 not observed (nothing)
    grid = episode_grade_days(_episodes(_episode("A", 2, 2.5, last=3.4)), ["A"], 10, observed={"A": 8})
    assert grid["A"] == [None, None, 2, 2, U, U, U, U, None, None]
    # a resolved episode has no such days
    grid = episode_grade_days(_episodes(_episode("A", 2, 2.5, resolved=3.4)), ["A"], 10, observed={"A": 8})
    assert grid["A"] == [None, None, 2, 2] + [None] * 6


def test_the_not_graded_days_stop_at_the_next_episodes_onset() -> None:
    # episode 1: grade 1, days 1-2, unresolved; episode 2: grade 3, onset day 5.5, resolved day 6.2; observed
    # days 0-9: days 3, 4 not graded, 5, 6 grade 3, 7-9 nothing (the first episode's state does not resume)
    grid = episode_grade_days(
        _episodes(_episode("A", 1, 1.2, last=2.0), _episode("A", 3, 5.5, resolved=6.2)),
        ["A"],
        10,
        observed={"A": 10},
    )
    assert grid["A"] == [None, 1, 1, U, U, 3, 3, None, None, None]
    assert UNGRADED < 0  # never a grade: below grade 0
