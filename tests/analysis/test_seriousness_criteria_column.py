"""`teae_listing` carries the ICH E2A seriousness criteria met in one column, `seriousness_criteria`, the one
derivation the report's listing and the web safety page show (D-19.382)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cartrial.analysis import Analysis
from cartrial.analysis.toxicity import SERIOUSNESS_CRITERIA_COLUMN, with_seriousness_criteria
from cartrial.protocol.seriousness import SERIOUSNESS_CRITERIA

from .conftest import rows

CELLS = st.sampled_from(["true", "false", "", "TRUE", "yes", "no", "1", "0"])
YES = {"true", "yes", "1"}


@given(st.lists(st.tuples(*[CELLS] * len(SERIOUSNESS_CRITERIA)), min_size=0, max_size=20))
def test_the_column_names_exactly_the_criteria_met_in_order(cells: list[tuple[str, ...]]) -> None:
    fields = [c.field for c in SERIOUSNESS_CRITERIA]
    table = pd.DataFrame(cells, columns=fields, dtype=object).assign(term="x")
    out = with_seriousness_criteria(table)
    assert list(out.columns) == [SERIOUSNESS_CRITERIA_COLUMN, *fields, "term"]
    for row, text in zip(cells, out[SERIOUSNESS_CRITERIA_COLUMN], strict=True):
        met = [c.label for c, v in zip(SERIOUSNESS_CRITERIA, row, strict=True) if v.lower() in YES]
        assert text == "; ".join(met)
    assert with_seriousness_criteria(pd.DataFrame({"term": ["x"]})).columns.tolist() == ["term"]


def test_teae_listing_names_the_example_criteria(analysis: Analysis) -> None:
    listing = analysis.datasets["teae_listing"].table
    serious = listing[listing["serious"].str.lower() == "true"]
    expected = sorted(
        "; ".join(c.label for c in SERIOUSNESS_CRITERIA if r[c.field] == "true")
        for r in rows("adverse_events")
        if r["serious"] == "true"
    )
    assert sorted(serious[SERIOUSNESS_CRITERIA_COLUMN]) == expected
    assert set(listing.loc[listing["serious"].str.lower() != "true", SERIOUSNESS_CRITERIA_COLUMN]) <= {""}
    assert SERIOUSNESS_CRITERIA_COLUMN in analysis.datasets["teae_listing"].columns
