"""report.pdf says what report.html says under each table: its notes (what a cell means, who is left out)
and "selected columns; the CSV has all" (D-19.1055).

Before, `typst_data` dropped every table's notes and the template printed neither them nor the
selected-columns mark: the PDF's ICAHT table showed "pending" and "≥ N" with no key, the KM table its
ci_low/ci_high without the interval's method, the NCA tables their n without the profiles left out, while
the HTML (and docs/report.md) gave each note. The methods' dataset table also lost its notes column.

Oracle: the notes as report.html prints them (autoescaped text unescaped), looked up in pypdf's text of
report.pdf, whitespace-insensitive (a note wraps over lines)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

pypdf = pytest.importorskip("pypdf")


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_every_table_note_of_the_html_is_in_the_pdf(
    example_report: Path, example_report_pdf_text: tuple[str, ...]
) -> None:
    page = (example_report / "report.html").read_text(encoding="utf-8")
    notes = [html.unescape(n) for n in re.findall(r'<p class="meta">note: (.*?)</p>', page)]
    # the example's tables carry notes (ICAHT grades, the KM band, at least)
    assert any("pending = the window" in n for n in notes) and any("ci_low, ci_high" in n for n in notes)
    whole = squeeze("".join(example_report_pdf_text))
    missing = [n for n in notes if squeeze(f"note: {n}") not in whole]
    assert not missing, missing


def test_the_pdf_marks_tables_that_show_selected_columns(
    example_report: Path, example_report_pdf_text: tuple[str, ...]
) -> None:
    page = (example_report / "report.html").read_text(encoding="utf-8")
    marked = page.count("(selected columns; the CSV has all)")
    assert marked > 0
    whole = squeeze("".join(example_report_pdf_text))
    assert whole.count(squeeze("(selected columns; the CSV has all)")) == marked


def test_the_methods_dataset_table_prints_each_datasets_notes(
    example_report: Path, example_report_pdf_text: tuple[str, ...]
) -> None:
    """The methods' "Datasets" table of report.pdf has the notes column report.html has (review finding 6,
    D-19.1055): every dataset's notes, as the HTML's last cell of its row gives them, are in the PDF's text
    (whitespace and the template's zero-width break points ignored)."""
    page = (example_report / "report.html").read_text(encoding="utf-8")
    methods = page.split("<h3>Datasets: derivation, population, sources</h3>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>([^<]*)</td>(?:<td>[^<]*</td>){4}<td>([^<]*)</td></tr>", methods)
    notes = {html.unescape(name): html.unescape(text) for name, text in rows if text.strip()}
    # the example's datasets carry notes (the ICAHT grades' key, the KM band's method, at least)
    assert len(notes) >= 3, notes

    def comparable(text: str) -> str:
        # whitespace, the template's zero-width break points and hyphens (Typst hyphenates a word at the
        # end of a line of this narrow column: "be-\nfore") do not count
        return squeeze(text).replace("\u200b", "").replace("-", "").replace("\u00ad", "")

    # a row broken across pages goes on after the next page's running header and the table's repeated
    # column heads, which are not its text (the page number and header lines, then the heads, are dropped)
    heads = "dataset title population derivation source tables notes"
    running = re.compile(rf"\d+ / \d+|.* — data cut-off .*|{heads}")

    def body(text: str) -> str:
        lines = text.split("\n")
        while lines and running.fullmatch(lines[0].strip()):
            lines.pop(0)
        while lines and running.fullmatch(lines[-1].strip()):
            lines.pop()
        return "\n".join(lines)

    whole = comparable("\n".join(body(page) for page in example_report_pdf_text))
    missing = [name for name, text in notes.items() if comparable(text) not in whole]
    assert not missing, missing
