"""D-19.267: the report's "baseline per subject" table showed `baseline_titre` only; since D-19.233 a subject
without a pre-infusion PD titre takes the screening titre (`baseline_source` = screening, with
`baseline_assay_differs` when the screening assay differs), and a reader must see it.

By hand from the example CSVs: CT-003's only pre-infusion PD titre (day -7) removed, its screening titre 1:100
(subjects.csv) is the baseline; its screening assay set to another one than the PD samples' (live_cba)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html as html_module
import re
from pathlib import Path

import pandas as pd

from cartrial.analysis import analyse
from cartrial.report.render import build_report, render_html
from cartrial.store.snapshot import read_snapshot

CUTOFF = dt.date(2022, 3, 20)


def _rows(table_html: str) -> list[list[str]]:
    out = []
    for row in re.findall(r"<tr>(.*?)</tr>", table_html, flags=re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)
        out.append([html_module.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return out


def test_the_baseline_table_shows_where_the_aqp4_baseline_came_from(example_sqlite_template: Path) -> None:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", CUTOFF)
    tables = dict(snapshot.tables)
    pdt = tables["pd_samples"].copy()
    pre = (pdt["subject_id"] == "CT-003") & (pd.to_numeric(pdt["nominal_day"]) <= 0)
    assert pre.sum() == 1
    pdt.loc[pre, "aqp4_igg_titre"] = ""
    tables["pd_samples"] = pdt
    subjects = tables["subjects"].copy()
    subjects.loc[subjects["subject_id"] == "CT-003", "aqp4_igg_assay"] = "live_cba"
    tables["subjects"] = subjects
    changed = dataclasses.replace(snapshot, tables=tables)
    report = build_report(
        analyse(changed), tables, cartrial_version="test", generated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    table = next(t for s in report.sections for t in s.tables if t.name == "baseline_by_subject")
    assert {"baseline_titre", "baseline_source", "baseline_assay_differs"} <= set(table.header)
    assert any(note.startswith("baseline_source: pd_samples:") for note in table.notes)
    html = render_html(report)
    start = html.index('id="table-baseline_by_subject"')
    rows = _rows(html[start : html.index("</table>", start)])
    header, body = rows[0], {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert "baseline_source" in header
    assert body["CT-003"]["baseline_titre"] == "1:100"
    assert body["CT-003"]["baseline_source"] == "screening"
    assert body["CT-003"]["baseline_assay_differs"] == "True"
    assert body["CT-001"]["baseline_source"] == "pd_samples"
    assert body["CT-001"]["baseline_assay_differs"] == "False"
    assert "note: baseline_source: pd_samples" in html_module.unescape(html)
