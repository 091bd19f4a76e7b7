"""D-19.268: the report's ICAHT table showed a late grade pending at the cut-off (D-19.230) as a blank cell
and the grade already reached as a bare number in `late_icaht_at_least`; a reader took the blank for "not
gradable" and the number for the grade. The grade cells now say "pending" or "≥ N (pending)" (the
`icaht` dataset read through `cartrial.analysis.toxicity.icaht_grade_text`); the CSV keeps every column.

By hand from the example CSVs at 2021-11-25 (tests/analysis/test_late_icaht_window_pending.py): CT-006 has
two late counts <= 1500/µL in an open late window: "≥ 1 (pending)"; CT-001's window is complete."""

from __future__ import annotations

import datetime as dt
import html as html_module
import re

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cartrial.analysis import analyse
from cartrial.analysis.toxicity import icaht_grade_text, icaht_shown
from cartrial.report.render import build_report, render_html
from cartrial.store.snapshot import read_snapshot

SECOND_COUNT = dt.date(2021, 11, 25)


def _rows(table_html: str) -> list[list[str]]:
    out = []
    for row in re.findall(r"<tr>(.*?)</tr>", table_html, flags=re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)
        out.append([html_module.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return out


def test_the_icaht_table_says_pending_and_at_least(example_sqlite: str) -> None:
    snapshot = read_snapshot(example_sqlite, SECOND_COUNT)
    analysis = analyse(snapshot)
    dataset = analysis.datasets["icaht"].table.set_index("subject_id")
    generated = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    report = build_report(analysis, snapshot.tables, cartrial_version="test", generated_at=generated)
    html = render_html(report)
    start = html.index('id="table-icaht"')
    rows = _rows(html[start : html.index("</table>", start)])
    header, body = rows[0], {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert "late_icaht_at_least" not in header and "late_icaht_grade" in header
    assert body["CT-006"]["late_icaht_grade"] == "≥ 1 (pending)"
    assert body["CT-001"]["late_icaht_grade"] == str(int(dataset.loc["CT-001", "late_icaht_grade"]))
    for subject, cells in body.items():
        pending = bool(dataset.loc[subject, "late_icaht_pending"])
        assert ("pending" in cells["late_icaht_grade"]) == pending, subject
        assert ("pending" in cells["early_icaht_grade"]) == bool(dataset.loc[subject, "early_icaht_pending"])
    assert "≥ N (pending)" in html_module.unescape(html)  # the note under the table says what it means
    assert "late_icaht_at_least" in report.csv_files["icaht.csv"].splitlines()[0]


@given(
    grade=st.one_of(st.none(), st.integers(0, 4)),
    pending=st.booleans(),
    reached=st.one_of(st.none(), st.integers(1, 4)),
)
def test_a_grade_cell_is_the_grade_unless_pending(
    grade: int | None, pending: bool, reached: int | None
) -> None:
    """Whatever the dataset row: a pending window never shows as a bare grade, a complete one shows its grade
    (blank when not gradable), a lower bound only with "≥" and "pending"."""
    frame = pd.DataFrame(
        {
            "subject_id": ["S1"],
            "late_icaht_grade": pd.array([None if pending else grade], dtype="Int64"),
            "late_icaht_pending": [pending],
            "late_icaht_at_least": pd.array([reached if pending else None], dtype="Int64"),
        }
    )
    text = icaht_grade_text(frame.iloc[0].to_dict(), "late_icaht_grade")
    shown = icaht_shown(frame)
    assert "late_icaht_at_least" not in shown
    assert shown.loc[0, "late_icaht_grade"] == (text or "")
    if pending:
        assert text == ("pending" if reached is None else f"≥ {reached} (pending)")
    else:
        assert text == (None if grade is None else str(grade))
