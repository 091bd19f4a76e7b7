"""D-19.787: a DLT counted through assessments that could not grade the event carries a query in the
analysis's `dlt_assessments`; the escalation page shows it beside the patient's DLT, reading that column (no
rule in the web layer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import test_escalation_tite_followup as tite

QUERY = "rule_x: counted through assessments that could not grade it (D-19.787)"


def _inject(monkeypatch: Any, subject: str) -> None:
    import cartrial.analysis.core as core

    real = core.study_populations

    def with_query(*args: Any, **kwargs: Any) -> Any:
        study = real(*args, **kwargs)
        table = study.evaluation.assessments
        mine = table["subject_id"].astype(str) == subject
        if not mine.any():  # a row of the subject's, as evaluate_dlts writes one per graded event
            table.loc[len(table)] = {column: "" for column in table.columns} | {"subject_id": subject}
            mine = table["subject_id"].astype(str) == subject
        table.loc[mine, "query"] = QUERY
        return study

    monkeypatch.setattr(core, "study_populations", with_query)


def test_the_escalation_state_carries_the_analysis_query(tmp_path: Path, monkeypatch: Any) -> None:
    from cartrial.web.escalation import escalation_state

    _inject(monkeypatch, "S-1")
    service = tite._study(tmp_path)
    tite._dlt_of_s1(service)
    state = escalation_state(service, None, tite.TODAY)
    by_id = {p["subject_id"]: p for p in state["patients"]}
    assert by_id["S-1"]["dlt_query"] == QUERY
    assert by_id["S-2"]["dlt_query"] == ""


def test_the_escalation_page_shows_the_query(tmp_path: Path, monkeypatch: Any) -> None:
    """The page's template renders the patient's query beside the DLT cell (the view the page builds)."""
    from types import SimpleNamespace

    from cartrial.web.templating import templates
    from cartrial.web.views import escalation_view

    _inject(monkeypatch, "S-1")
    service = tite._study(tmp_path)
    tite._dlt_of_s1(service)
    handle = SimpleNamespace(check=lambda *_args: None, service=service)
    view = escalation_view(handle, None, tite.TODAY)  # type: ignore[arg-type]
    html = templates.env.get_template("escalation.html").render(view=view, request=None, user=None)
    assert "to query with the site: " + QUERY in html


def test_the_query_is_read_on_the_patients_site_day(tmp_path: Path, monkeypatch: Any) -> None:
    """Round-2 review: the DLT status beside the query is read as of the patient's site today (D-19.607); the
    query too. Site in Asia/Shanghai, now 2021-06-01 20:00Z = 2021-06-02 04:00 there: the analysis as of
    2021-06-02 has the query (injected only on that day), the one as of `today` (06-01) has none."""
    import datetime as dt
    import sqlite3

    import cartrial.analysis.core as core

    real = core.study_populations
    site_day = dt.date(2021, 6, 2)

    def on_site_day(tables: Any, protocol: Any, day: dt.date, *args: Any, **kwargs: Any) -> Any:
        study = real(tables, protocol, day, *args, **kwargs)
        if day == site_day:
            table = study.evaluation.assessments
            mine = table["subject_id"].astype(str) == "S-1"
            table.loc[mine[mine].index[:1], "query"] = QUERY  # S-1's DLT row (tite._dlt_of_s1)
        return study

    service = tite._study(tmp_path)
    tite._dlt_of_s1(service)
    with sqlite3.connect(str(tmp_path / "study.db")) as db:
        db.execute("UPDATE site SET time_zone = 'Asia/Shanghai'")
    monkeypatch.setattr(core, "study_populations", on_site_day)
    from cartrial.web.escalation import escalation_state

    now = dt.datetime(2021, 6, 1, 20, 0, tzinfo=dt.UTC)
    state = escalation_state(service, None, tite.TODAY, now=now)
    by_id = {p["subject_id"]: p for p in state["patients"]}
    assert by_id["S-1"]["dlt_query"] == QUERY
