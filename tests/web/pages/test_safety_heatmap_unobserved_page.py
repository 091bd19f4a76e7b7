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
