"""Review of branch kineff, finding 4 (D-19.1187, D-19.1188 as amended).

- The report's finding on a not-estimable (infinite) post/pre rate ratio gives the interval's lower limit,
  as `format_ratio` does. By hand for 0 attacks before in 1 year and 3 after in 1 year: the exact lower 95 %
  limit solves p**3 = 0.025, p = 0.2924, theta = p/(1 - p) = 0.41.
- `conditional_rate_ratio` with `labels` of another length than `strata` is an `InputError` naming
  ``labels`` (was a bare ValueError from zip(strict=True))."""

from __future__ import annotations

import pandas as pd
import pytest

from cartrial.errors import InputError
from cartrial.neuro.relapses import conditional_rate_ratio


def test_the_not_estimable_finding_gives_the_lower_limit() -> None:
    from cartrial.analysis.findings import efficacy_findings
    from cartrial.analysis.model import Dataset

    reason = "no attack before infusion (3 after): the ratio is infinite"
    rows = [
        {"measure": "ARR before infusion", "events": 0, "patient_years": 1.0, "estimate": 0.0,
         "ci_low": 0.0, "ci_high": 3.69, "method": "exact", "not_estimable": ""},
        {"measure": "ARR after infusion", "events": 3, "patient_years": 1.0, "estimate": 3.0,
         "ci_low": 0.62, "ci_high": 8.77, "method": "exact", "not_estimable": ""},
        {"measure": "ARR ratio after/before", "events": 3, "patient_years": None, "estimate": None,
         "ci_low": 0.4124, "ci_high": None, "method": "stratified_conditional; x", "not_estimable": reason},
    ]  # fmt: skip
    data = {"relapse_rates": Dataset("relapse_rates", "t", pd.DataFrame(rows), "safety", "d", ())}
    text = " ".join(f.statement for f in efficacy_findings(data, {}, None, outcomes=("relapses",)))
    assert f"Rate ratio after/before not estimable ({reason})." in text
    assert "The rate ratio's 95 % CI lower limit is 0.41." in text


def test_no_attack_at_all_has_no_lower_limit_to_give() -> None:
    from cartrial.analysis.findings import efficacy_findings
    from cartrial.analysis.model import Dataset

    reason = "no attack before or after infusion in a patient followed in both periods"
    rows = [
        {"measure": "ARR before infusion", "events": 0, "patient_years": 1.0, "estimate": 0.0,
         "ci_low": 0.0, "ci_high": 3.69, "method": "exact", "not_estimable": ""},
        {"measure": "ARR after infusion", "events": 0, "patient_years": 1.0, "estimate": 0.0,
         "ci_low": 0.0, "ci_high": 3.69, "method": "exact", "not_estimable": ""},
        {"measure": "ARR ratio after/before", "events": 0, "patient_years": None, "estimate": None,
         "ci_low": None, "ci_high": None, "method": "stratified_conditional; note", "not_estimable": reason},
    ]  # fmt: skip
    data = {"relapse_rates": Dataset("relapse_rates", "t", pd.DataFrame(rows), "safety", "d", ())}
    text = " ".join(f.statement for f in efficacy_findings(data, {}, None, outcomes=("relapses",)))
    assert f"not estimable ({reason})." in text and "lower limit" not in text


@pytest.mark.parametrize("labels", [["A"], ["A", "B", "C"]])
def test_labels_of_the_wrong_length_name_labels(labels: list[str]) -> None:
    with pytest.raises(InputError) as caught:
        conditional_rate_ratio([(1, 1.0, 1, 1.0), (2, 1.0, 0, 1.0)], labels=labels)
    assert "labels" in str(caught.value) and "2" in str(caught.value)
