"""The report's demographics table, DLT tables and methods (options with their sources), in the HTML, the
PDF and tables/*.csv of the example report; values checked by hand against the example CSVs."""

from __future__ import annotations

import csv
import html as html_module
import re
from pathlib import Path


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", " ", html)))


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    end = html.find("<section", start + 1)
    return _text(html[start : end if end > 0 else None])


def test_demographics_table_in_html_and_csv(example_report: Path) -> None:
    with (example_report / "tables" / "demographics.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:2] == ["characteristic", "statistic"] and {
        "dose level 1",
        "dose level 2",
        "all",
    } <= set(rows[0])
    by_key = {(r["characteristic"], r["statistic"]): r for r in rows}
    # 10 women and 2 men among the 12 infused (subjects.csv); 3 at dose level 1, 9 at level 2
    assert by_key[("Sex", "F")]["all"] == "10 (83.3 %)"
    assert by_key[("Subjects (safety set)", "N")]["dose level 1"] == "3"
    assert (
        by_key[("Disease duration at infusion, years", "not captured")]["all"] == "not captured for any of 12"
    )
    section = _section((example_report / "report.html").read_text(encoding="utf-8"), "demographics")
    for text in ("Age at infusion, years", "10 (83.3 %)", "not captured for any of 12", "Baseline EDSS"):
        assert text in section, text


def test_dlt_tables_and_methods(example_report: Path) -> None:
    html = (example_report / "report.html").read_text(encoding="utf-8")
    escalation = _section(html, "escalation")
    assert "protocol rules" in escalation or "DLT rules" in escalation
    assert "agree for all 12 infused patients" in _text(html)
    with (example_report / "tables" / "dlt_listing.csv").open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert {"rules_fired", "rule_descriptions", "source"} <= set(header)
    with (example_report / "tables" / "dlt_by_subject.csv").open(encoding="utf-8", newline="") as handle:
        agreement = {r["agreement"] for r in csv.DictReader(handle)}
    assert agreement == {
        "agree"
    }  # no DLT by the rules, none flagged by the investigators (adverse_events.csv)
    methods = _section(html, "methods")
    assert "180.0 (source: protocol analysis.options.persistence_day)" in methods
    assert "relapse_follow_up_end" in methods and "(source: protocol escalation.dlt_rules)" in methods


def test_pdf_has_the_demographics_table(example_report_pdf_text: tuple[str, ...]) -> None:
    text = " ".join(example_report_pdf_text)
    text = re.sub(r"\s+", " ", text)
    assert "Age at infusion, years" in text
    assert "not captured for any of 12" in text
