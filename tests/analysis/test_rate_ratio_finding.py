"""D-19.226: the relapse-rate finding gave the post/pre rate ratio as "Rate ratio 0.13 (0.00–0.77)": a DSMB
member could not tell an interval from a range, nor which interval. It now reads "Rate ratio after/before
0.13 (95 % CI 0.00–0.77, exact conditional, stratified by patient)", the method read from the
``relapse_rates`` dataset's ``method`` column (`cartrial.neuro.RateRatioMethod`: stratified_conditional |
pooled_conditional, both worded).

Expected values: hand-rounded to 2 decimals from the rows given below."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from cartrial.analysis.findings import efficacy_findings
from cartrial.analysis.model import Dataset


def _statement(method: str) -> str:
    rates = pd.DataFrame(
        [
            {
                "measure": "ARR before infusion",
                "events": 31,
                "estimate": 1.2908,
                "ci_low": 0.877,
                "ci_high": 1.8322,
            },
            {
                "measure": "ARR after infusion",
                "events": 1,
                "estimate": 0.1682,
                "ci_low": 0.0043,
                "ci_high": 0.9374,
            },
            {
                "measure": "ARR ratio after/before",
                "events": 1,
                "estimate": 0.1281,
                "ci_low": 0.0031,
                "ci_high": 0.7744,
                "method": f"{method}; regression to the mean",
            },
        ]
    )
    datasets = {"relapse_rates": Dataset("relapse_rates", "t", rates, "safety", "x", ())}
    findings = efficacy_findings(datasets, {}, SimpleNamespace(endpoints={}), outcomes=("relapses",))
    return next(f.statement for f in findings if f.source == "relapse_rates")


@pytest.mark.parametrize(
    ("method", "words"),
    [
        ("stratified_conditional", "exact conditional, stratified by patient"),
        ("pooled_conditional", "exact conditional, patients pooled"),
    ],
)
def test_the_rate_ratio_names_its_interval_and_method(method: str, words: str) -> None:
    statement = _statement(method)
    assert f"Rate ratio after/before 0.13 (95 % CI 0.00–0.77, {words})" in statement, statement
    assert "1.29 (95 % CI 0.88–1.83) before infusion" in statement
