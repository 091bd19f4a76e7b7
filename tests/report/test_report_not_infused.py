"""The interim report says how many adverse events of enrolled patients not infused it leaves out of the
safety tables, and lists them (D-19.88): before, a patient lymphodepleted but never infused and their
adverse events were in no table and no statement of the report. The example study infused every enrolled
patient: its report shows nothing more."""

from __future__ import annotations

import datetime as dt
import html as html_module
import re
from pathlib import Path

from cartrial.analysis import analyse
from cartrial.report.render import build_report, render_html
from cartrial.store.snapshot import read_snapshot

from ..analysis.test_not_infused_adverse_events import AFTER, LD_ONLY, with_ld_only_subject
from .conftest import CUTOFF


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", " ", html)))


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    end = html.find("<section", start + 1)
    return _text(html[start : end if end > 0 else None])


def test_report_states_and_lists_adverse_events_of_patients_not_infused(report_sqlite: str) -> None:
    snapshot = with_ld_only_subject(read_snapshot(report_sqlite, dt.date.fromisoformat(CUTOFF)))
    report = build_report(
        analyse(snapshot),
        snapshot.tables,
        cartrial_version="test",
        generated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    html = render_html(report)
    adverse = _section(html, "adverse-events")
    # the test snapshot: 2 events of CT-098, one after the lymphodepletion; CT-099 consented only
    assert (
        "2 adverse events in 1 of 2 enrolled patients not infused (1 event on or after the first "
        "lymphodepletion dose, in 1 patient) are listed in ae_not_infused, not in the safety tables."
    ) in adverse
    assert "Adverse events of enrolled subjects not infused" in adverse and AFTER["term"] in adverse
    assert "ae_not_infused.csv" in report.csv_files
    disposition = _section(html, "disposition")
    assert f"1 more was lymphodepleted but not infused ({LD_ONLY})" in disposition
    assert "lymphodepleted, not infused by the cut-off" in disposition  # the populations table's reason


def test_example_report_has_no_not_infused_line(example_report: Path) -> None:
    """Everyone enrolled in the example was infused: no statement, listing or finding of the not infused (the
    disposition summary's rows of the not infused are there, with 0, D-19.129)."""
    text = _text((example_report / "report.html").read_text(encoding="utf-8"))
    assert "enrolled patients not infused" not in text and "listed in ae_not_infused" not in text
    assert "Adverse events of enrolled subjects not infused" not in text
    assert (
        "was lymphodepleted but not infused" not in text and "were lymphodepleted but not infused" not in text
    )
    assert not (example_report / "tables" / "ae_not_infused.csv").exists()
