"""D-19.268: the web safety page showed "–" for a late ICAHT grade pending at the cut-off (D-19.230), as for a
patient without any count, and dropped the grade already reached; the report's ICAHT table showed the grade
blank next to a bare `late_icaht_at_least` number. Both now read the `icaht` dataset through one wording
(`cartrial.analysis.toxicity.icaht_grade_text`): "pending", "≥ N (pending)", or the grade.

By hand from the example CSVs at 2021-11-25 (as tests/analysis/test_late_icaht_window_pending.py): CT-006
(infused 2021-08-24, day 93) has two late counts <= 1500/µL (labs.csv): "≥ 1 (pending)"; CT-001 (day 212)
has its late window complete: its grade; CT-009 (infused 2021-10-26, day 30) has its late window open with
no late count yet: "pending"."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cartrial.analysis import analyse
from cartrial.store import StudyService, connect
from cartrial.store.snapshot import read_snapshot
from cartrial.web.templating import templates

SECOND_COUNT = dt.date(2021, 11, 25)


def test_the_safety_page_shows_a_pending_late_grade_and_its_lower_bound(example_sqlite: str) -> None:
    from cartrial.web import views

    icaht = analyse(read_snapshot(example_sqlite, SECOND_COUNT)).datasets["icaht"].table
    icaht = icaht.set_index("subject_id")
    service = StudyService(connect(example_sqlite))
    try:
        view = views.safety_view(service.as_user("admin"), None, SECOND_COUNT)
    finally:
        service.engine.dispose()
    rows = {r["subject_id"]: r for r in view.cytopenias}
    assert rows["CT-006"]["late_icaht_grade"] == "≥ 1 (pending)"
    assert rows["CT-009"]["late_icaht_grade"] == "pending"
    assert rows["CT-001"]["late_icaht_grade"] == str(int(icaht.loc["CT-001", "late_icaht_grade"]))
    for subject, row in rows.items():  # pending exactly where the dataset says so
        late = bool(icaht.loc[subject, "late_icaht_pending"])
        assert ("pending" in str(row["late_icaht_grade"])) == late, subject
        early = bool(icaht.loc[subject, "early_icaht_pending"])
        assert (row["early_icaht_grade"] == "pending") == early, subject
        if not early:
            grade = icaht.loc[subject, "early_icaht_grade"]
            assert row["early_icaht_grade"] == (None if pd.isna(grade) else str(int(grade)))
    page = templates.env.get_template("safety.html").render(view=view, user=None, lock=None, study="CT")
    start = page.index('id="cytopenia-table"')
    table = page[start : page.index("</table>", start)]
    row = table[table.index(">CT-006<") : table.index("</tr>", table.index(">CT-006<"))]
    assert "≥ 1 (pending)" in row
