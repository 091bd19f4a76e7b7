"""An infinite post/pre rate ratio (no attack before infusion) is shown as not estimable with the reason and
the interval's lower limit, never as "inf" (D-19.1187). Hand computation for 0 attacks before in 1 year and 3
after in 1 year: the conditional MLE is infinite; the exact lower 95 % limit solves
P(S >= 3 | n = 3, p = theta/(1 + theta)) = 0.025, i.e. p**3 = 0.025, p = 0.2924, theta = p/(1 - p) = 0.41."""

from __future__ import annotations

import json
import math
import re

from cartrial.neuro.derive import format_ratio
from cartrial.neuro.relapses import conditional_rate_ratio


def test_infinite_ratio_is_not_estimable_with_its_reason_and_lower_limit() -> None:
    ratio = conditional_rate_ratio([(0, 1.0, 3, 1.0)])
    p = 0.025 ** (1 / 3)
    assert math.isclose(ratio.ci_low or 0.0, p / (1 - p), rel_tol=1e-6)
    text = format_ratio(ratio)
    assert not re.search(r"\binf\b", text)
    assert text.startswith("not estimable (no attack before infusion (3 after)")
    assert "lower limit 0.41" in text


def test_no_attack_at_all_says_why() -> None:
    text = format_ratio(conditional_rate_ratio([(0, 1.0, 0, 1.0)]))
    assert text.startswith("not estimable (no attack")


def test_finite_ratio_unchanged() -> None:
    ratio = conditional_rate_ratio([(4, 2.0, 1, 1.0)], method="pooled_conditional")
    assert format_ratio(ratio) == "0.50 (95% CI 0.01-5.05, pooled_conditional)"


def test_relapses_payload_is_valid_json_without_inf() -> None:
    from datetime import date

    from cartrial.neuro.derive import derive_relapses

    csv = "subject_id,onset_date,phenotype,severity\nS1,2021-03-01,optic_neuritis,moderate\n"
    result = derive_relapses(csv, {"S1": date(2021, 1, 1)}, cutoff=date(2021, 7, 1))
    block = result.payload()["rate_ratio_post_vs_pre"]
    json.dumps(block, allow_nan=False)  # Infinity is not JSON
    assert block["ratio"] is None and block["ci_high"] is None
    assert "no attack before infusion" in block["not_estimable"]
    assert not re.search(r"\binf\b", result.summary_text())


def test_report_finding_says_not_estimable_with_the_reason() -> None:
    """The report's finding reads the analysis' relapse_rates row: its estimate was inf and the finding wrote
    "Rate ratio after/before inf (95 % CI 0.41–inf ...)"."""
    import pandas as pd

    from cartrial.analysis.findings import efficacy_findings
    from cartrial.analysis.model import Dataset

    reason = "no attack before infusion (3 after): the ratio is infinite"
    rows = [
        {"measure": "ARR before infusion", "events": 0, "patient_years": 1.0, "estimate": 0.0,
         "ci_low": 0.0, "ci_high": 3.69, "method": "exact", "not_estimable": ""},
        {"measure": "ARR after infusion", "events": 3, "patient_years": 1.0, "estimate": 3.0,
         "ci_low": 0.62, "ci_high": 8.77, "method": "exact", "not_estimable": ""},
        {"measure": "ARR ratio after/before", "events": 3, "patient_years": None, "estimate": None,
         "ci_low": 0.41, "ci_high": None, "method": "stratified_conditional; note", "not_estimable": reason},
    ]  # fmt: skip
    data = {"relapse_rates": Dataset("relapse_rates", "t", pd.DataFrame(rows), "safety", "d", ())}
    findings = efficacy_findings(data, {}, None, outcomes=("relapses",))
    text = " ".join(f.statement for f in findings)
    assert f"Rate ratio after/before not estimable ({reason})." in text
    assert not re.search(r"\binf\b", text.replace("infinite", ""))
