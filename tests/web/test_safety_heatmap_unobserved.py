"""The web safety page's heat map tells a day after a patient's follow-up (not observed) from a day without
an episode, as the report's heat map hatches it (D-19.210, D-19.768): CT-012, infused on 2021-12-07, has 8
days of follow-up at a 2021-12-15 cut-off (hand count), so days 9-28 are not observed, days 0-8 are."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cartrial.store import StudyService, connect


def test_days_after_follow_up_are_not_shown_as_no_episode(example_sqlite: str) -> None:
    from cartrial.web import views

    service = StudyService(connect(example_sqlite))
    try:
        view = views.safety_view(service.as_user("admin"), None, dt.date(2021, 12, 15))
    finally:
        service.engine.dispose()
    rows: dict[str, Any] = {r["subject_id"]: r for r in view.heatmap["crs"]}
    assert rows["CT-012"]["observed_days"] == 9  # days 0..8
    assert rows["CT-001"]["observed_days"] == 29  # infused 2021-04-27: all 29 days observed


def test_an_unresolved_episode_fills_through_its_last_assessment(example_sqlite: str) -> None:
    """At a 2021-05-02 cut-off CT-001's CRS (infused 2021-04-27 10:00 +08, day 0 = 04-27 on the site's
    calendar, Asia/Shanghai) began with the fever of 04-30 18:00 +08 (day 3) and is unresolved at its last
    assessment, 05-02 18:30 +08 (day 5; resolved only on 05-03): fever alone, ASTCT grade 1 on days 3, 4
    and 5 (hand count; shown on day 3 alone before D-19.767); follow-up 5 days, so days 0-5 are observed."""
    from cartrial.web import views

    service = StudyService(connect(example_sqlite))
    try:
        view = views.safety_view(service.as_user("admin"), None, dt.date(2021, 5, 2))
    finally:
        service.engine.dispose()
    (row,) = [r for r in view.heatmap["crs"] if r["subject_id"] == "CT-001"]
    assert row["grades"][:6] == [None, None, None, 1, 1, 1]
    assert row["observed_days"] == 6
    assert row["max_grade"] == 1


def test_the_episode_days_are_counted_on_the_site_calendar_not_utc(example_sqlite: str) -> None:
    """CT-001's first febrile CRS assessment moved to 2021-04-29 17:00Z = 04-30 01:00 +08 (Asia/Shanghai):
    onset on day 3 at the site (04-29 in UTC would be day 2; infused 04-27 10:00 +08, day 0 = 04-27 on both);
    unresolved at its last assessment, 05-02 18:30 +08 (day 5): days 3-5, as the report shows them."""
    import sqlite3

    from cartrial.web import views

    with sqlite3.connect(example_sqlite.removeprefix("sqlite:///")) as db:
        moved = db.execute(
            "UPDATE crs_assessment SET assessed_at = '2021-04-29 17:00:00.000000' "
            "WHERE subject_id = 'CT-001' AND assessed_at = '2021-04-30 10:00:00.000000'"
        ).rowcount
    assert moved == 1
    service = StudyService(connect(example_sqlite))
    try:
        view = views.safety_view(service.as_user("admin"), None, dt.date(2021, 5, 2))
    finally:
        service.engine.dispose()
    (row,) = [r for r in view.heatmap["crs"] if r["subject_id"] == "CT-001"]
    assert row["grades"][:7] == [None, None, None, 1, 1, 1, None]  # UTC: [None, None, 1, 1, 1, 1, None]


def _last_assessment_on_day_4(url: str) -> None:
    """CT-001's CRS assessment of 2021-05-02 10:30Z (18:30 +08, day 5) removed: at a 2021-05-02 cut-off its
    last assessment is 05-01 10:00Z = 18:00 +08 (day 4), still febrile (38.9 °C): the episode is unresolved
    and was last graded on day 4, while the patient is followed to the cut-off (day 5)."""
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        removed = db.execute(
            "DELETE FROM crs_assessment WHERE subject_id = 'CT-001' "
            "AND assessed_at = '2021-05-02 10:30:00.000000'"
        ).rowcount
    assert removed == 1


def test_days_after_an_unresolved_episodes_last_graded_day_are_not_no_episode(example_sqlite: str) -> None:
    """Days 3, 4 grade 1 (fever of 04-30 18:00 +08 and 05-01 18:00 +08); day 5, observed (follow-up 5 days),
    without an assessment while the episode is unresolved: "unresolved, not graded" (`UNGRADED`), not blank
    ("no episode", D-19.767 amended); day 6 on not observed. The Max column stays grade 1."""
    from cartrial.analysis.toxicity import UNGRADED
    from cartrial.web import views

    _last_assessment_on_day_4(example_sqlite)
    service = StudyService(connect(example_sqlite))
    try:
        view = views.safety_view(service.as_user("admin"), None, dt.date(2021, 5, 2))
    finally:
        service.engine.dispose()
    (row,) = [r for r in view.heatmap["crs"] if r["subject_id"] == "CT-001"]
    assert row["observed_days"] == 6
    assert row["grades"][:7] == [None, None, None, 1, 1, UNGRADED, None]
    assert row["max_grade"] == 1
