"""The CI method a table states (its `ci_method` column, the report) named the software function
(scipy.stats.binomtest; since D-19.396 not even the one used) instead of the method and its source. The
text now names the method and the publication; the implementation is documented, not reported (D-19.477)."""

from __future__ import annotations

import re

import pytest

from cartrial.analysis.options import CI_METHOD_TEXT
from cartrial.analysis.stats import (
    NO_SUBJECT_CI,
    NOT_RECORDED_CI,
    PROPORTION_CI_METHOD,
    RATE_CI_METHOD,
    proportion,
)

SOFTWARE = re.compile(r"scipy|binomtest|cartrial|RateEstimate|\w+\.\w+\(", re.IGNORECASE)


@pytest.mark.parametrize(
    "text", [PROPORTION_CI_METHOD, RATE_CI_METHOD, NO_SUBJECT_CI, NOT_RECORDED_CI, *CI_METHOD_TEXT.values()]
)
def test_a_ci_method_text_names_no_software(text: str) -> None:
    assert not SOFTWARE.search(text), text


def test_the_texts_name_the_method_and_its_source() -> None:
    assert "Clopper-Pearson" in PROPORTION_CI_METHOD and "Biometrika 1934;26:404" in PROPORTION_CI_METHOD
    assert "Poisson" in RATE_CI_METHOD and "Garwood" in RATE_CI_METHOD
    assert "Biometrika 1936;28:437" in RATE_CI_METHOD
    assert proportion(1, 3).method == PROPORTION_CI_METHOD


def test_the_example_tables_state_the_method(analysis) -> None:  # type: ignore[no-untyped-def]
    stated = {
        str(v)
        for dataset in analysis.datasets.values()
        if "ci_method" in dataset.table.columns
        for v in dataset.table["ci_method"].dropna()
    }
    assert stated and not any(SOFTWARE.search(v) for v in stated)
