"""The report's swimmer plot drew an unresolved CRS episode as one day (its own copy of the span rule,
``width = duration if known else 1``) while the heat map filled it through its last assessment; both now draw
`cartrial.analysis.toxicity.episode_span` (D-19.767): the episode's whole calendar days on the site's
calendar, from onset to resolution or through its last assessment while unresolved.

Example study at a 2021-05-02 cut-off, counted by hand: only CT-001 is infused (2021-04-27 10:00 +08,
Asia/Shanghai: day 0 = 04-27). Its CRS began with the fever of 04-30 18:00 +08 (day 3) and is unresolved at
its last assessment, 05-02 18:30 +08 (day 5; it resolves on 05-03): fever alone, ASTCT grade 1, on days 3, 4
and 5. Follow-up to the cut-off: 5 days (days 0-5 observed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path

from cartrial.analysis import analyse
from cartrial.analysis.model import Analysis
from cartrial.report.figures import crs_heatmap_figure, crs_heatmap_plot, swimmer_figure, swimmer_plot
from cartrial.store.snapshot import read_snapshot


def test_an_unresolved_crs_is_drawn_through_its_last_assessment(example_sqlite_template: Path) -> None:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2021, 5, 2))
    analysis = analyse(snapshot)
    (episode,) = analysis.datasets["crs_episodes"].table.to_dict("records")
    assert episode["subject_id"] == "CT-001" and episode["resolved_at"] is None  # the case under test

    swimmer = swimmer_plot(analysis, snapshot.tables)
    ax = swimmer.axes[0]
    bars = [p for p in ax.patches if p.get_linewidth() == 0.5]  # the CRS episodes' bars (black edge)
    # days 3, 4, 5, each centred on its day as the follow-up bar's end and the relapse marks are (points
    # x = day): [2.5, 5.5], clipped to the follow-up bar, which ends at day 5 (the cut-off): [2.5, 5.0].
    # Changed by design (was the cells [3, 6): the bar ran a day past the cut-off; D-19.767 amended)
    assert [(b.get_x(), b.get_width()) for b in bars] == [(2.5, 2.5)]
    (follow_up,) = [p for p in ax.patches if p.get_linewidth() != 0.5]
    assert (follow_up.get_x(), follow_up.get_width()) == (0.0, 5.0)  # follow-up: days 0-5
    assert bars[0].get_x() + bars[0].get_width() <= follow_up.get_x() + follow_up.get_width()

    heatmap = crs_heatmap_plot(analysis, snapshot.tables)
    crs = heatmap.axes[0]
    row = [int(v) for v in crs.images[0].get_array()[0]]
    assert row[:7] == [0, 0, 0, 1, 1, 1, 0]
    assert sum(row) == 3
    (patch,) = [p for p in crs.patches if p.get_gid() == "unobserved-CT-001"]
    assert patch.get_x() == 5.5  # day 5 observed (and filled), day 6 on not observed

    # the captions say what a cell and a bar are: the episode's peak grade over its days, not each day's
    heatmap_figure, swimmer = (
        crs_heatmap_figure(analysis, snapshot.tables),
        swimmer_figure(analysis, snapshot.tables),
    )
    assert heatmap_figure is not None and swimmer is not None
    assert "each episode's peak grade over its days" in heatmap_figure.caption
    # (wording changed by design: "through the day of its last graded assessment", D-19.767 amended)
    assert "through the day of its last graded assessment while unresolved" in heatmap_figure.caption
    assert "from the day of onset through the day of resolution" in heatmap_figure.caption
    assert "not each day's own grade" in heatmap_figure.caption
    assert "through the day of its last graded assessment while unresolved" in swimmer.caption
    assert "through the day of resolution" in swimmer.caption
    # "day" is a calendar day here, not the elapsed days of the datasets' onset_day
    for caption in (heatmap_figure.caption, swimmer.caption):
        assert "calendar days on the site's calendar, day 0 = infusion date" in caption


def _onset_at_01_00_on_the_site_calendar(url: str) -> None:
    """CT-001's first febrile CRS assessment moved from 04-30 10:00Z to 04-29 17:00Z: 04-29 in UTC but
    04-30 01:00 +08 at its site (Asia/Shanghai), so the onset's day differs by calendar."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        moved = db.execute(
            "UPDATE crs_assessment SET assessed_at = '2021-04-29 17:00:00.000000' "
            "WHERE subject_id = 'CT-001' AND assessed_at = '2021-04-30 10:00:00.000000'"
        ).rowcount
    assert moved == 1


def test_the_episode_days_are_counted_on_the_site_calendar_not_utc(example_sqlite: str) -> None:
    # infused 2021-04-27 02:00Z (10:00 +08): day 0 = 04-27 on both calendars. Onset 04-29 17:00Z =
    # 04-30 01:00 +08: day 3 at the site (day 2 in UTC); elapsed 2 d 15 h = 2.625 days (onset_day, not a
    # calendar day). Unresolved at the last assessment, 05-02 10:30Z = 18:30 +08: day 5 on both. So days
    # 3-5 at the site; read in UTC it would be days 2-5.
    _onset_at_01_00_on_the_site_calendar(example_sqlite)
    snapshot = read_snapshot(example_sqlite, dt.date(2021, 5, 2))
    analysis = analyse(snapshot)
    (episode,) = analysis.datasets["crs_episodes"].table.to_dict("records")
    assert episode["onset_day"] == 2.625 and episode["resolved_at"] is None

    row = [int(v) for v in crs_heatmap_plot(analysis, snapshot.tables).axes[0].images[0].get_array()[0]]
    assert row[:7] == [0, 0, 0, 1, 1, 1, 0]  # UTC: [0, 0, 1, 1, 1, 1, 0]

    ax = swimmer_plot(analysis, snapshot.tables).axes[0]
    bars = [p for p in ax.patches if p.get_linewidth() == 0.5]
    assert [(b.get_x(), b.get_width()) for b in bars] == [(2.5, 2.5)]  # UTC: (1.5, 3.5)


def test_an_unresolved_episodes_days_after_its_last_graded_day_are_hatched_not_grade_0(
    example_sqlite: str,
) -> None:
    """CT-001's CRS assessment of 05-02 10:30Z (day 5) removed: at the 2021-05-02 cut-off its CRS (grade 1
    from day 3) is unresolved at its last assessment, 05-01 18:00 +08 (day 4), and followed to day 5. Days 3,
    4 grade 1; day 5 "unresolved, not graded": one hatched cell [4.5, 5.5], not grade 0 (D-19.767 amended);
    day 6 on not observed; the legend names both."""
    with sqlite3.connect(example_sqlite.removeprefix("sqlite:///")) as db:
        removed = db.execute(
            "DELETE FROM crs_assessment WHERE subject_id = 'CT-001' "
            "AND assessed_at = '2021-05-02 10:30:00.000000'"
        ).rowcount
    assert removed == 1
    snapshot = read_snapshot(example_sqlite, dt.date(2021, 5, 2))
    analysis = analyse(snapshot)
    (episode,) = analysis.datasets["crs_episodes"].table.to_dict("records")
    assert episode["resolved_at"] is None
    fig = crs_heatmap_plot(analysis, snapshot.tables)
    crs = fig.axes[0]
    (patch,) = [p for p in crs.patches if p.get_gid() == "ungraded-CT-001"]
    assert (patch.get_x(), patch.get_width()) == (4.5, 1.0)
    assert patch.get_hatch()
    (unobserved,) = [p for p in crs.patches if p.get_gid() == "unobserved-CT-001"]
    assert unobserved.get_x() == 5.5
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert "unresolved, not graded (after its last graded assessment)" in labels


def _with(analysis: Analysis, name: str, column: str, value: float) -> Analysis:
    """`analysis` with CT-001's `column` of dataset `name` set to `value`."""
    dataset = analysis.datasets[name]
    table = dataset.table.copy()
    table.loc[table["subject_id"] == "CT-001", column] = value
    return dataclasses.replace(
        analysis, datasets={**analysis.datasets, name: dataclasses.replace(dataset, table=table)}
    )


def test_the_swimmer_clips_an_episode_to_the_safety_follow_up_not_the_relapse_bar(
    example_sqlite_template: Path,
) -> None:
    """CT-001's CRS at the 2021-05-02 cut-off: days 3-5, drawn [2.5, 5.5] before clipping; safety follow-up
    (populations.follow_up_days) 5 days. The bar is the relapse follow-up (relapses_by_subject.post_days):
    whatever day it ends on, the episode is clipped to the safety follow-up, x <= 5 (D-19.767 amended):
    - relapse bar ends on day 2 (before the episode): [2.5, 5.0] (was drawn whole, [2.5, 5.5]);
    - relapse bar ends on day 4 (inside it): [2.5, 5.0] (was cut to [2.5, 4.0]);
    - relapse bar ends on day 9 but the safety follow-up on day 4: [2.5, 4.0] (was [2.5, 5.5]);
    - safety follow-up ends on day 2 (before the episode): not drawn (observed days 0-2 only)."""
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2021, 5, 2))
    analysis = analyse(snapshot)
    assert "relapses_by_subject" in analysis.datasets

    def bars(relapse_end: float, follow_up: float) -> list[tuple[float, float]]:
        changed = _with(analysis, "relapses_by_subject", "post_days", relapse_end)
        changed = _with(changed, "populations", "follow_up_days", follow_up)
        ax = swimmer_plot(changed, snapshot.tables).axes[0]
        return [(b.get_x(), b.get_x() + b.get_width()) for b in ax.patches if b.get_linewidth() == 0.5]

    assert bars(2.0, 5.0) == [(2.5, 5.0)]
    assert bars(4.0, 5.0) == [(2.5, 5.0)]
    assert bars(9.0, 4.0) == [(2.5, 4.0)]
    assert bars(9.0, 2.0) == []
