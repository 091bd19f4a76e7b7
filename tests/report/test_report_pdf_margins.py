"""D-19.211: in the PDF a table cell or header without a space (a ;-separated subject list such as
"CT-004;CT-005;...;CT-012", a column name such as ``discontinuation_reason``) could not wrap: the
subjects column of the CRS/ICANS incidence table ran past the page's right edge (the last subjects cut
off) and the headers of the populations table printed over each other. Cells and headers may now break
after ";" and "_", so nothing is printed in the page's right margin.

The check: every page of the example study's report at 2022-03-20 rendered as PNG; the right margin
(1.5 cm of A4's 21 cm, `templates/report.typ`) holds no ink."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image

from cartrial.analysis import Analysis
from cartrial.report.pdf import compile_report
from cartrial.report.render import build_report
from cartrial.store.snapshot import StudySnapshot

PPI = 40
A4_WIDTH_CM, RIGHT_MARGIN_CM = 21.0, 1.5


def test_nothing_is_printed_in_the_right_margin(snapshot: StudySnapshot, analysis: Analysis) -> None:
    """`snapshot` and `analysis`: the module's (tests/report/conftest.py), the example study at 2022-03-20."""
    report = build_report(
        analysis, snapshot.tables, cartrial_version="test", generated_at=dt.datetime(2026, 1, 1)
    )
    pages = compile_report(report, format="png", ppi=PPI)
    pages = [pages] if isinstance(pages, bytes) else pages
    inked = []
    for number, png in enumerate(pages, 1):
        image = Image.open(io.BytesIO(png)).convert("L")
        width, height = image.size
        # 1 mm inside the margin's edge: anti-aliasing of the last character may touch the edge itself
        left = int(width * (A4_WIDTH_CM - RIGHT_MARGIN_CM + 0.1) / A4_WIDTH_CM)
        margin = image.crop((left, 0, width, height))
        if margin.getextrema()[0] < 200:  # a dark pixel (text or rule)
            inked.append(number)
    assert inked == []


def test_the_serious_event_listing_names_its_criteria_in_one_column(analysis: Analysis) -> None:
    """The six seriousness criteria (D-19.328) made the serious-TEAE listing run past the right edge: the
    listings show them as one column of the criteria met, in words."""
    from cartrial.report.render import _listing_datasets

    _title, listing, _population, _derivation = _listing_datasets(analysis)["serious_ae_listing"]
    assert "serious_death" not in listing.columns
    assert listing["seriousness_criteria"].tolist() == ["hospitalisation (new or prolonged)"]
