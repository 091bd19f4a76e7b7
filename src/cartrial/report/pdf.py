"""The PDF of the report: the same `Report` as the HTML, laid out on A4 by Typst (the `typst` PyPI package
bundles the compiler and its fonts: no system library, no download at run time).

The report's data are written as ``report.json`` next to a copy of the Typst template
(``templates/report.typ``) and the figures' SVG files in a temporary folder, which `typst.compile`
renders; the PDF bytes are returned. Text reaches Typst only as JSON strings, never as markup, so no value
can be read as a Typst command.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

from cartrial.report.render import DRAFT_TEXT, Report


def typst_data(report: Report) -> dict[str, Any]:
    """The JSON document the Typst template reads (figures referenced by file name)."""
    return {
        "title": report.title,
        "unlocked": report.unlocked,
        "draft_text": DRAFT_TEXT,
        "generated_at": report.generated_at,
        "findings": [
            {
                **finding,
                "fraction": ""
                if finding["denominator"] is None
                else f"{finding['numerator']}/{finding['denominator']}",
            }
            for finding in report.findings
        ],
        "sections": [
            {
                "anchor": section.anchor,
                "title": section.title,
                "intro": section.intro,
                "findings": section.findings,
                "figures": [
                    {"file": f"figures/{figure.name}.svg", "caption": figure.caption}
                    for figure in section.figures
                ],
                # every field of the table, its notes too: the PDF says what the HTML says (D-19.1055)
                "tables": [asdict(table) for table in section.tables],
            }
            for section in report.sections
        ],
        "methods": [list(item) for item in report.methods],
        "populations": report.populations,
        "datasets_methods": report.datasets_methods,
    }


def render_pdf(report: Report) -> bytes:
    """The report as PDF bytes (A4, page numbers, running header with study, cut-off and the DRAFT mark
    when the data are not locked)."""
    pdf = compile_report(report)
    if not isinstance(pdf, bytes):
        raise TypeError("typst.compile did not return the PDF bytes")
    return pdf


def compile_report(report: Report, **options: Any) -> Any:
    """`typst.compile` of the report's Typst document with `options` (e.g. ``format="png", ppi=50`` for
    one PNG per page, as the layout tests read them); the PDF bytes by default."""
    import typst

    from cartrial.tabular import dumps_json

    template = resources.files("cartrial.report").joinpath("templates/report.typ").read_text("utf-8")
    with tempfile.TemporaryDirectory(prefix="cartrial-report-") as folder:
        root = Path(folder)
        (root / "figures").mkdir()
        for name, figure in report.figures.items():
            (root / "figures" / f"{name}.svg").write_text(figure.svg, encoding="utf-8")
        (root / "report.json").write_text(dumps_json(typst_data(report)), encoding="utf-8")
        (root / "report.typ").write_text(template, encoding="utf-8")
        return typst.compile(str(root / "report.typ"), root=str(root), **options)


__all__ = ["compile_report", "render_pdf", "typst_data"]
