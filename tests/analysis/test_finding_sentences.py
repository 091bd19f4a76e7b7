"""D-19.225: key-finding sentences a DSMB member reads as sentences. Before: "… 4 of 12 infused (33 %). not
evaluable: 4 — …" (a sentence starting in lower case after a full stop), "Relapse-free at last follow-up: 11
of 12; median follow-up 5.5 months (reverse_km)" (no noun after the count, and a program token where the
method's name belongs).

Expected: the example study at the 2022-03-20 cut-off (examples/ct103a-nmosd, 12 infused, 1 relapse after
infusion: tests/analysis fixtures) and the method names of docs/science/neuro-outcomes.md §4.3 (reverse
Kaplan-Meier, Schemper & Smith 1996; the median of the observed follow-up)."""

from __future__ import annotations

import re
from datetime import date

from cartrial.neuro.relapses import (
    SubjectFollowUp,
    annualised_relapse_rates,
    median_follow_up_text,
    relapse_free_survival,
)


def test_no_finding_sentence_starts_in_lower_case(analysis) -> None:  # type: ignore[no-untyped-def]
    """`analysis`: the example study's default analysis at 2022-03-20 (tests/analysis/conftest.py)."""
    for finding in analysis.findings:
        assert not re.search(r"[.!?] [a-z]", finding.statement), finding.statement
        assert "reverse_km" not in finding.statement and "observed_median" not in finding.statement
    relapse_free = next(f for f in analysis.findings if f.source == "relapse_free_km")
    assert relapse_free.statement.startswith(
        f"{relapse_free.numerator} of {relapse_free.denominator} infused patients "
    ), relapse_free.statement
    assert "relapse-free at last follow-up" in relapse_free.statement
    assert "(reverse Kaplan-Meier)" in relapse_free.statement


def test_the_median_follow_up_names_its_method_in_words() -> None:
    fu = [
        SubjectFollowUp("A", date(2021, 1, 1), date(2021, 4, 11)),
        SubjectFollowUp("B", date(2021, 1, 1), date(2021, 7, 20)),
        SubjectFollowUp("C", date(2021, 1, 1), date(2021, 10, 28)),
    ]
    arr = annualised_relapse_rates([], fu)
    reverse = median_follow_up_text(relapse_free_survival(arr))
    observed = median_follow_up_text(relapse_free_survival(arr, follow_up_method="observed_median"))
    assert reverse.endswith("(reverse Kaplan-Meier)") and observed.endswith(
        "(median of the observed follow-up)"
    )


def test_a_pk_finding_names_its_analyte_in_words() -> None:
    """D-19.228: "car_t_cells: quantifiable beyond day 180 …" began a key finding with a program token; it
    names the analyte as the CDISC PCTEST does (`cartrial.protocol.lab_tests.PK_ANALYTES`: "CAR-T Cells",
    "CAR Transgene Copies"), the form's analyte name in parentheses (the CSV's key)."""
    import pandas as pd

    from cartrial.analysis.findings import pk_pd_findings
    from cartrial.analysis.kinetics import PERSISTENCE_EVALUABLE, persistence_column
    from cartrial.analysis.model import Dataset, Population

    rows = [
        {"subject_id": "S1", "analyte": analyte, PERSISTENCE_EVALUABLE: True, persistence_column(180.0): True}
        for analyte in ("car_t_cells", "car_transgene", "vector_rna")
    ]
    datasets = {"persistence": Dataset("persistence", "t", pd.DataFrame(rows), "pk", "x", ())}
    statements = [
        f.statement for f in pk_pd_findings(datasets, {"pk": Population("pk", "d", ("S1",))}, 180.0, ())
    ]
    assert statements[0].startswith("CAR-T Cells (car_t_cells): quantifiable beyond day 180 in 1 of 1 ")
    assert statements[1].startswith("CAR Transgene Copies (car_transgene): quantifiable")
    assert statements[2].startswith("vector_rna: quantifiable")  # no label known: the form's name alone


def test_the_edss_improvement_finding_names_the_switch_per_direction() -> None:
    """Review 4 case B (D-19.746): CT-001's improvement was confirmed before the walking-range method switch
    and stands (counted: hand 2 of 3 confirmed among those who can improve); only its worsening is not
    evaluable. CT-003 has no improvement confirmed before the switch (not evaluable for improvement, out of
    the denominator). The sentence must not name CT-001 as not evaluable for improvement."""
    import pandas as pd

    from cartrial.analysis.findings import efficacy_findings
    from cartrial.analysis.model import Dataset, Population

    ids = ("CT-001", "CT-002", "CT-003", "CT-004")
    table = pd.DataFrame(
        {
            "subject_id": list(ids),
            "edss_change": [1.5, -1.0, 0.5, 0.0],
            "improvement_evaluable": [True, True, False, True],
            "improvement_confirmed": [True, True, pd.NA, False],
            "worsening_confirmed": [pd.NA, False, pd.NA, False],
            "method_switch_excluded": [True, False, True, False],
            "improvement_switch_excluded": [False, False, True, False],
            "worsening_switch_excluded": [True, False, True, False],
        }
    )
    datasets = {"edss_change": Dataset("edss_change", "EDSS change", table, "safety", "test", ("edss",))}
    populations = {"efficacy:edss_change": Population("efficacy:edss_change", "test", ids, {})}
    texts = [f.statement for f in efficacy_findings(datasets, populations, None, ("edss",))]
    (text,) = [t for t in texts if t.startswith("Confirmed EDSS improvement")]
    assert text.startswith("Confirmed EDSS improvement in 2 of 3 evaluable patients (67 %).")
    improvement = text.split("Confirmed improvement not evaluable: ")[1].split(" Confirmed worsening")[0]
    worsening = text.split("Confirmed worsening not evaluable: ")[1]
    assert improvement.startswith("1 ") and improvement.endswith(": CT-003.")
    assert worsening.startswith("2 ") and worsening.endswith(": CT-001, CT-003.")
    assert "no room to improve" not in text


def test_the_edss_finding_names_a_subject_not_evaluable_both_ways_in_both_sentences() -> None:
    """Review 4 case A (D-19.746): no change confirmed before the switch, so CT-001's improvement and
    worsening are both not evaluable: out of the improvement denominator (hand: 1 of 1 among CT-002) and
    named in both sentences."""
    import pandas as pd

    from cartrial.analysis.findings import efficacy_findings
    from cartrial.analysis.model import Dataset, Population

    ids = ("CT-001", "CT-002")
    table = pd.DataFrame(
        {
            "subject_id": list(ids),
            "edss_change": [1.5, -1.0],
            "improvement_evaluable": [False, True],
            "improvement_confirmed": [pd.NA, True],
            "worsening_confirmed": [pd.NA, False],
            "method_switch_excluded": [True, False],
            "improvement_switch_excluded": [True, False],
            "worsening_switch_excluded": [True, False],
        }
    )
    datasets = {"edss_change": Dataset("edss_change", "EDSS change", table, "safety", "test", ("edss",))}
    populations = {"efficacy:edss_change": Population("efficacy:edss_change", "test", ids, {})}
    texts = [f.statement for f in efficacy_findings(datasets, populations, None, ("edss",))]
    (text,) = [t for t in texts if t.startswith("Confirmed EDSS improvement")]
    assert text.startswith("Confirmed EDSS improvement in 1 of 1 evaluable patient")
    assert (
        text.split("Confirmed improvement not evaluable: ")[1]
        .split(" Confirmed worsening")[0]
        .endswith(": CT-001.")
    )
    assert text.split("Confirmed worsening not evaluable: ")[1].endswith(": CT-001.")
    assert "no room to improve" not in text
