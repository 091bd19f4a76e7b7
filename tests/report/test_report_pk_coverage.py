"""The report's PK table states how many subjects' samples stop before a partial-AUC interval end and
names them (docs/science/decisions.md D-19.95)."""

from __future__ import annotations

import datetime as dt
import html as html_module
import re
from pathlib import Path

from cartrial.analysis import analyse
from cartrial.report.render import build_report, render_html
from cartrial.store.snapshot import read_snapshot


def _pk_section(html: str) -> str:
    start = html.index('id="pk"')
    end = html.find("<section", start + 1)
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html[start:end])))


def _nca_summary(report: object) -> tuple[list[str], list[list[str]]]:
    table = next(t for s in report.sections for t in s.tables if t.name == "nca_summary")  # type: ignore[attr-defined]
    return table.header, table.rows


def test_interim_report_counts_and_names_the_subject_not_covering_day_28(report_sqlite: str) -> None:
    snapshot = read_snapshot(report_sqlite, dt.date(2021, 12, 20))
    report = build_report(
        analyse(snapshot),
        snapshot.tables,
        cartrial_version="test",
        generated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    header, rows = _nca_summary(report)
    assert header.index("n_not_covered") == header.index("n") + 1
    auc = [dict(zip(header, r, strict=True)) for r in rows if r[header.index("parameter")] == "auc_0_28"]
    assert {(r["analyte"], r["group"], r["n"], r["n_not_covered"]) for r in auc} == {
        (analyte, group, n, k)
        for analyte in ("car_t_cells", "car_transgene")
        for group, n, k in (("dose level 1", "3", "0"), ("dose level 2", "7", "2"), ("all", "10", "2"))
    }
    # CT-011's day-28 and CT-012's day-14 samples (2021-12-20 23:26Z and 23:17Z) fall on 21 December in
    # Wuhan: after the cut-off on the site's calendar (D-19.729), so both stop before day 28
    text = _pk_section(render_html(report))
    assert "CT-012 (car_t_cells, last sample day 9.88)" in text
    assert "CT-011 (car_t_cells, last sample day 20.93)" in text
    assert "left out of its geometric statistics (D-19.95)" in text


def test_example_report_shows_every_subject_covered(example_report: Path) -> None:
    html = (example_report / "report.html").read_text(encoding="utf-8")
    text = _pk_section(html)
    assert "n_not_covered" in text and "sampled only to before the interval end" not in text
