"""D-19.129: the report's disposition section showed the populations per subject only; it now shows the
disposition summary by dose level and overall (n and % of the enrolled) read from the analysis layer, and
the subject listing shows the disposition date. The example study at 2021-07-10 (counted by hand):
CT-001..003 infused at level 1; CT-004 lymphodepleted on 2021-07-09, infused after the cut-off; CT-005
consented on 2021-07-08, lymphodepleted after the cut-off; dose level 2 undosed."""

from __future__ import annotations

import datetime as dt
import html as html_module
import re
from pathlib import Path

from cartrial.analysis import analyse
from cartrial.report.render import build_report, render_html
from cartrial.store.snapshot import read_snapshot


def _rows(table_html: str) -> list[list[str]]:
    out = []
    for row in re.findall(r"<tr>(.*?)</tr>", table_html, flags=re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)
        out.append([html_module.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return out


def test_the_disposition_section_shows_the_summary(example_sqlite_template: Path) -> None:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2021, 7, 10))
    report = build_report(
        analyse(snapshot),
        snapshot.tables,
        cartrial_version="test",
        generated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    section = next(s for s in report.sections if s.anchor == "disposition")
    assert [t.name for t in section.tables][:2] == ["disposition_summary", "populations"]
    html = render_html(report)
    start = html.index('id="table-disposition_summary"')
    rows = _rows(html[start : html.index("</table>", start)])
    assert rows[0] == ["group", "description", "n", "n_enrolled", "percent_of_enrolled"]
    cells = {(r[0], r[1]): r[2:] for r in rows[1:]}
    assert cells[("all", "enrolled (consented by the cut-off)")] == ["5", "5", "100.0"]
    assert cells[("all", "infused with CAR-T cells (safety set)")] == ["3", "5", "60.0"]
    assert cells[("all", "lymphodepleted, not infused by the cut-off")] == ["1", "5", "20.0"]
    assert cells[("dose level 1", "DLT-evaluable")] == ["3", "3", "100.0"]
    assert cells[("dose level 2", "enrolled (consented by the cut-off)")] == ["0", "0", ""]
    # D-19.266: the patients not infused are counted in a group of their own; a dose level shows no row
    # that could only read 0 there
    assert cells[("not infused", "enrolled (consented by the cut-off)")] == ["2", "2", "100.0"]
    assert cells[("not infused", "lymphodepleted, not infused by the cut-off")] == ["1", "2", "50.0"]
    assert cells[("not infused", "neither lymphodepleted nor infused by the cut-off")] == ["1", "2", "50.0"]
    assert not any(g.startswith("dose level") and "not infused" in d for g, d in cells)
    assert ("not infused", "infused with CAR-T cells (safety set)") not in cells
    assert "patients not infused" in section.intro
    assert "disposition_summary.csv" in report.csv_files
    listing = next(t for s in report.sections for t in s.tables if t.name == "records_subjects")
    assert "disposition_date" in listing.header
