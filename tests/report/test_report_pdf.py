"""report.pdf: A4 pages, page numbers, the running header (study, cut-off, DRAFT mark) and the key findings
in the extracted text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cartrial.analysis import Analysis

pypdf = pytest.importorskip("pypdf")

A4_POINTS = (595.28, 841.89)


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_pdf_is_a4_paginated_with_header_and_key_findings(
    example_report: Path, example_report_pdf_text: tuple[str, ...]
) -> None:
    reader = pypdf.PdfReader(str(example_report / "report.pdf"))
    n_pages = len(reader.pages)
    assert n_pages >= 5 and len(example_report_pdf_text) == n_pages
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width - A4_POINTS[0]) < 1 and abs(height - A4_POINTS[1]) < 1
    pages = [collapse(text) for text in example_report_pdf_text]
    # running header on every page after the first; page numbers "k / n"
    for number, text in enumerate(pages[1:], start=2):
        assert "CT103A-NMOSD" in text and "2022-03-20" in text and "DRAFT — unlocked data" in text
        assert f"{number} / {n_pages}" in text
    whole = collapse(" ".join(pages))
    for statement in (
        "CRS occurred in 12 of 12 infused patients (100 %), all grade 1–2.",
        "No patient had ICANS (0 of 12 infused patients).",
        "12 of 12 enrolled patients were infused (3 at dose level 1, 9 at dose level 2).",
    ):
        assert statement in whole, statement


def test_pdf_findings_are_the_analysis_findings(
    example_report_pdf_text: tuple[str, ...], analysis: Analysis
) -> None:
    """Every key finding of the analysis (the module's analysis of the example study at the report's cut-off,
    2022-03-20) appears in the PDF text (whitespace-insensitive)."""
    assert analysis.findings
    whole = re.sub(r"\s+", "", "".join(example_report_pdf_text))
    missing = [f.statement for f in analysis.findings if re.sub(r"\s+", "", f.statement) not in whole]
    assert not missing, json.dumps(missing, ensure_ascii=False)
