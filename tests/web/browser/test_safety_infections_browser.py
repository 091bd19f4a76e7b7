"""The safety page in a browser shows the analysis layer's infections by onset period (D-19.1310, D-19.1350):
the same header and cells as the interim report built from the same snapshot. The example study has 7
infections (adverse_events.csv, category infection: CT-002, -004, -006, -007, -009, -011, -012), one of
grade >= 3 (CT-006's pneumonia, grade 3), all after the infusion."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any


def test_the_safety_page_shows_the_reports_infections_by_period(mon: Any, served: Any) -> None:
    from cartrial.analysis import analyse
    from cartrial.report.render import build_report
    from cartrial.store.snapshot import read_snapshot

    mon.goto(f"{served.url}/safety")
    heading = mon.locator("h2#infections")
    assert heading.inner_text() == "Infections by onset period"
    table = mon.locator("#infections-table")
    header = [c.strip() for c in table.locator("thead th").all_inner_texts()]
    rows = [
        [c.strip() for c in row.locator("th, td").all_inner_texts()]
        for row in table.locator("tbody tr").all()
    ]
    found = re.search(r"Snapshot at (\d{4}-\d{2}-\d{2})", mon.locator("main").inner_text())
    assert found
    cutoff = dt.date.fromisoformat(found.group(1))
    url = served.app.state.service.engine.url.render_as_string(hide_password=False)
    snapshot = read_snapshot(url, cutoff)
    report = build_report(
        analyse(snapshot), snapshot.tables, cartrial_version="test", generated_at=dt.datetime(2026, 1, 1)
    )
    (expected,) = [t for s in report.sections for t in s.tables if t.name == "infections_by_period"]
    assert (header, rows) == (expected.header, expected.rows)
    assert sum(int(r[header.index("n_events")]) for r in rows) == 7
    assert sum(int(r[header.index("n_subjects_grade_ge3")]) for r in rows) == 1
    assert mon.locator("#infections-none").count() == 0
    assert not mon.errors
