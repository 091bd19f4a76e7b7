"""D-19.108: the report of an interim when only dose level 1 was dosed lists dose level 2 with n = 0 in the
by-dose-level tables (read from the analysis layer), so that a reader sees it was not dosed. The example
study at 2021-07-10: CT-001..003 infused at level 1, the first level-2 infusion on 2021-07-13."""

from __future__ import annotations

import datetime as dt
import html as html_module
import re
from pathlib import Path

from cartrial.analysis import analyse
from cartrial.report.render import build_report, render_html
from cartrial.store.snapshot import read_snapshot


def test_the_interim_report_lists_the_undosed_level(example_sqlite_template: Path) -> None:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2021, 7, 10))
    report = build_report(
        analyse(snapshot),
        snapshot.tables,
        cartrial_version="test",
        generated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    html = render_html(report)
    text = re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", " ", html)))
    assert "dose level 2" in text
    for name in ("crs_icans_summary", "teae_summary", "dlt_by_dose_level", "demographics"):
        start = html.index(f'id="table-{name}"') if f'id="table-{name}"' in html else html.index(name)
        table = html[start : html.index("</table>", start)]
        assert "dose level 2" in table, name
    assert "nan" not in text.lower().split()
