"""The safety page's heat map marks the days after a patient's follow-up as not observed (D-19.768), not as
blank ("no episode that day"): locked at 2021-12-15, CT-012 (infused 2021-12-07) has 8 days of follow-up,
so days 9-28 (20 cells, hand count) are not observed; CT-001 (infused 2021-04-27) has none."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any


def _crs_row(page: str, subject: str) -> str:
    table = page[page.index('id="heatmap-crs"') : page.index("</table>", page.index('id="heatmap-crs"'))]
    start = table.index(f'href="/subjects/{subject}"')
    return table[start : table.index("</tr>", start)]


def test_safety_page_marks_days_after_follow_up_not_observed(login: Any, web_app: Any) -> None:
    web_app.state.service.as_user("admin").lock(dt.date(2021, 12, 15), "interim safety review")
    page = login("stat").get("/safety").text
    assert "Snapshot at 2021-12-15" in page
    assert len(re.findall(r'class="cell unobserved"', _crs_row(page, "CT-012"))) == 20
    assert "unobserved" not in _crs_row(page, "CT-001")
    assert "not observed" in page  # the legend says what the marked cells are
    # the legend paragraph itself (the cells' own titles say "not observed" too) says what a marked cell
    # and a filled cell are; the cell names its abbreviation for a screen reader
    legend = page[page.index('id="heat-legend"') : page.index("</p>", page.index('id="heat-legend"'))]
    assert "= after the patient's follow-up (cut-off, death or end of study): not observed" in legend
    assert '<abbr title="not observed">n/o</abbr>' in legend
    assert "the episode's peak grade over its days" in legend
    assert "not that day's own grade" in legend
    assert '<abbr title="not observed: after the follow-up">n/o</abbr>' in _crs_row(page, "CT-012")


def test_safety_page_marks_an_unresolved_episodes_ungraded_days(
    login: Any, web_app: Any, pages_study: str
) -> None:
    """Locked at 2021-05-02 with CT-001's CRS assessment of 05-02 (day 5) removed: its CRS, grade 1 on days 3
    and 4, unresolved at its last assessment (day 4), is "unresolved, not graded" on day 5 (one cell, hand
    count), the last observed day; days 6-28 are not observed (23 cells)."""
    import sqlite3

    with sqlite3.connect(pages_study.removeprefix("sqlite:///")) as db:
        removed = db.execute(
            "DELETE FROM crs_assessment WHERE subject_id = 'CT-001' "
            "AND assessed_at = '2021-05-02 10:30:00.000000'"
        ).rowcount
    assert removed == 1
    web_app.state.service.as_user("admin").lock(dt.date(2021, 5, 2), "interim safety review")
    page = login("stat").get("/safety").text
    assert "Snapshot at 2021-05-02" in page
    row = _crs_row(page, "CT-001")
    assert len(re.findall(r'class="cell ungraded"', row)) == 1
    assert len(re.findall(r'class="cell unobserved"', row)) == 23
    assert '<abbr title="unresolved episode, not graded that day">?</abbr>' in row
    legend = page[page.index('id="heat-legend"') : page.index("</p>", page.index('id="heat-legend"'))]
    assert '<abbr title="unresolved, not graded">?</abbr>' in legend
    assert "= an unresolved episode after its last graded assessment: unresolved, not graded" in legend


def test_every_render_of_the_heat_map_marks_an_ungraded_day() -> None:
    """The view carries `cartrial.analysis.toxicity.UNGRADED` (D-19.780): the template rendered with the view
    alone (as tests/web/test_safety_icaht_pending.py does, no page handler) marks the day of an unresolved
    episode not graded that day "?", never a grade cell "-1". Hand: grades [2, UNGRADED, None], 3 observed
    days: one g2 cell, one ungraded cell, one empty cell."""
    import datetime as dt

    from cartrial.analysis.toxicity import UNGRADED
    from cartrial.web.templating import templates
    from cartrial.web.views import SafetyView

    row = {
        "subject_id": "S1",
        "dose_level": 1,
        "grades": [2, UNGRADED, None],
        "observed_days": 3,
        "max_grade": 2,
    }
    view = SafetyView(dt.date(2021, 6, 30), (0, 1, 2), {"crs": [row], "icans": []}, [], [], [], [], [], False)
    page = templates.env.get_template("safety.html").render(view=view, user=None, lock=None, study="CT")
    start = page.index(">S1<")
    cells = page[start : page.index("</tr>", start)]
    assert cells.count('<td class="cell ungraded">') == 1
    assert '<td class="cell g2">2</td>' in cells
    assert "-1" not in cells and "g-1" not in cells
