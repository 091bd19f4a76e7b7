"""D-19.210: the swimmer plot ended every patient's bar with the same arrow, so a death or a patient who had
left the study looked like a patient on study at the cut-off; a grade 4 or 5 CRS episode was drawn in its
own colour (dark red, black) while the legend had only "CRS grade ≥ 3" (red); and with few patients (an
early cut-off) the legends of the swimmer plot and of the CRS/ICANS heat map lay over the x-axis label and
tick labels; the heat map drew the days after a patient's follow-up as white, the colour of grade 0. The
bar's end marker now reads the populations dataset (died; study ended; on study), each
CRS grade drawn has its legend entry, the legends sit below the axes whatever the figure's height, and the
heat map hatches the days after the follow-up (not observed).

Example study (examples/ct103a-nmosd/study), counted by hand: at 2021-05-10 only CT-001 is infused; at
2022-03-20 CT-001..012 are infused, nobody has a disposition."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cartrial.analysis import analyse
from cartrial.analysis.model import Analysis
from cartrial.report.figures import END_MARKERS, crs_heatmap_plot, swimmer_plot
from cartrial.store.snapshot import StudySnapshot, read_snapshot

from ..analysis.test_key_findings_deaths import _changed


def _snapshot(template: Path, day: dt.date) -> StudySnapshot:
    return read_snapshot(f"sqlite:///{template}", day)


Analysed = Callable[[dt.date], tuple[StudySnapshot, Analysis]]


@pytest.fixture(scope="module")
def analysed(example_sqlite_template: Path) -> Analysed:
    """The example's snapshot and analysis at a cut-off, each cut-off analysed once for the module (read
    only: a test that changes one replaces it with `dataclasses.replace`)."""
    cache: dict[dt.date, tuple[StudySnapshot, Analysis]] = {}

    def at(day: dt.date) -> tuple[StudySnapshot, Analysis]:
        if day not in cache:
            snapshot = _snapshot(example_sqlite_template, day)
            cache[day] = (snapshot, analyse(snapshot))
        return cache[day]

    return at


def _overlaps(fig: Any, legend: Any, texts: list[Any]) -> list[str]:
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    return [t.get_text() for t in texts if t.get_text() and box.overlaps(t.get_window_extent(renderer))]


def _axis_texts(ax: Any) -> list[Any]:
    return [ax.xaxis.label, *ax.get_xticklabels()]


@pytest.mark.parametrize("day", [dt.date(2021, 5, 10), dt.date(2022, 3, 20)])
def test_legends_do_not_cover_the_axes(analysed: Analysed, day: dt.date) -> None:
    snapshot, analysis = analysed(day)
    swimmer = swimmer_plot(analysis, snapshot.tables)
    swimmer.canvas.draw()
    (legend,) = swimmer.legends
    assert _overlaps(swimmer, legend, _axis_texts(swimmer.axes[0])) == []
    heatmap = crs_heatmap_plot(analysis, snapshot.tables)
    heatmap.canvas.draw()
    (legend,) = heatmap.legends
    assert _overlaps(heatmap, legend, [t for ax in heatmap.axes for t in _axis_texts(ax)]) == []
    unobserved = ["not observed (after follow-up)"] if day == dt.date(2021, 5, 10) else []
    assert [t.get_text() for t in legend.get_texts()] == [f"grade {g}" for g in range(6)] + unobserved


def test_the_heat_map_marks_days_not_yet_observed(analysed: Analysed) -> None:
    """At 2021-05-10 CT-001 (infused 2021-04-27) is followed 13 days: days 14-28 are not observed, in both
    panels (not white, grade 0). At 2022-03-20 every patient is followed beyond day 28 (CT-012, the last,
    infused 2021-12-07)."""
    early, early_analysis = analysed(dt.date(2021, 5, 10))
    fig = crs_heatmap_plot(early_analysis, early.tables)
    for ax in fig.axes:
        (patch,) = [p for p in ax.patches if p.get_gid() == "unobserved-CT-001"]
        assert patch.get_x() == 13.5  # cell d spans d-0.5..d+0.5: day 13 observed, day 14 not
        assert patch.get_x() + patch.get_width() == 28.5
    late, late_analysis = analysed(dt.date(2022, 3, 20))
    fig = crs_heatmap_plot(late_analysis, late.tables)
    assert [p.get_gid() for ax in fig.axes for p in ax.patches if p.get_gid()] == []


def _end_markers(fig: Any) -> dict[str, str]:
    """Subject → marker of the bar's end (the only one-point lines with that marker)."""
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_yticklabels()]
    markers = {m for m, _c, _l in END_MARKERS.values()}
    out = {}
    for line in ax.get_lines():
        if line.get_marker() in markers and len(line.get_ydata()) == 1:
            out[names[int(line.get_ydata()[0])]] = line.get_marker()
    return out


def test_the_bar_end_says_died_left_or_on_study(example_sqlite_template: Path) -> None:
    """CT-003 withdrawn, CT-005 lost, CT-007 completed, CT-008 died (form), CT-009 completed then died
    (test_key_findings_deaths); the others are on study."""
    snapshot = _snapshot(example_sqlite_template, dt.date(2022, 3, 20))
    analysis = _changed(snapshot)
    fig = swimmer_plot(analysis, snapshot.tables)
    ends = _end_markers(fig)
    assert {s: m for s, m in ends.items() if m == "s"} == {"CT-008": "s", "CT-009": "s"}
    assert {s for s, m in ends.items() if m == "|"} == {"CT-003", "CT-005", "CT-007"}
    assert {s for s, m in ends.items() if m == ">"} == {
        "CT-001", "CT-002", "CT-004", "CT-006", "CT-010", "CT-011", "CT-012"
    }  # fmt: skip
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert [label for _m, _c, label in END_MARKERS.values()] == [x for x in labels if x in {
        label for _m, _c, label in END_MARKERS.values()}]  # fmt: skip


def test_each_crs_grade_drawn_has_its_legend_entry(analysed: Analysed) -> None:
    """CT-005's CRS episode (grade 2 in the example) made grade 4: the legend shows grades 1, 2, 3 (the
    scale) and 4 (drawn)."""
    snapshot, analysis = analysed(dt.date(2022, 3, 20))
    episodes = analysis.datasets["crs_episodes"]
    table = episodes.table.copy()
    table.loc[table["subject_id"] == "CT-005", "max_grade"] = 4
    changed: Analysis = dataclasses.replace(
        analysis, datasets={**analysis.datasets, "crs_episodes": dataclasses.replace(episodes, table=table)}
    )
    fig = swimmer_plot(changed, snapshot.tables)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert [x for x in labels if x.startswith("CRS grade")] == [f"CRS grade {g}" for g in (1, 2, 3, 4)]


def test_the_bar_ends_where_the_label_says_for_a_relapse_after_the_last_contact(analysed: Analysed) -> None:
    """D-19.587: a relapse after the last contact extends the relapse follow-up to its onset, so the bar
    (`relapses_by_subject.post_days`) no longer ends at the last contact; the axis label said "bar ends at
    last contact". CT-002 (infused 2021-05-18, last contact 2022-02-11, day 269) with a relapse on
    2022-03-15: by hand its bar ends at day 301 and the label names the end of the relapse follow-up."""
    from tests.conftest import with_relapse

    snapshot, _ = analysed(dt.date(2022, 3, 20))
    changed = with_relapse(snapshot, "CT-002", "2022-03-15")
    fig = swimmer_plot(analyse(changed), changed.tables)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "days after infusion (bar ends at the end of the relapse follow-up)"
    position = [t.get_text() for t in ax.get_yticklabels()].index("CT-002")
    widths = [p.get_width() for p in ax.patches if abs(p.get_y() + p.get_height() / 2 - position) < 1e-9]
    assert 301.0 in widths
