"""D-19.224: key findings counted nouns by hand — "not yet evaluable (none of the 1 infused patients
evaluable)", "1 record(s) dated after the cut-off", "1 of 1 DLT-evaluable patients", "agree for all 1
infused patients". One helper (`cartrial.wording`) now renders every counted noun of a finding;
these properties run the finding builders over counts 0..n and look for the wrong forms.

Expected forms: English agreement of a noun with the number before it (singular for 1, plural for 0 and
more; "k of n <noun>" agrees with n), as the Chicago Manual of Style (17th ed., 5.9, 9.2) writes counts."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial import wording
from cartrial.analysis.findings import data_status_finding, efficacy_findings, pk_pd_findings
from cartrial.analysis.kinetics import PERSISTENCE_EVALUABLE, persistence_column
from cartrial.analysis.model import Dataset, Population


def wrong_forms(text: str) -> list[str]:
    """The counted-noun errors in `text`: "1 ... patients", "0 ... patient", "none of the 0/1", "(s)"."""
    found = []
    for match in re.finditer(
        r"(?<![\d.,–-])(\d+) ((?:[A-Za-z-]+ ){0,3}?)(patients|patient|events|event|"
        r"cases|case|decisions|decision|records|record|values|value)\b",
        text,
    ):
        n, head = int(match.group(1)), match.group(3)
        plural = head.endswith("s")
        if (n == 1) == plural:
            found.append(match.group(0))
    found += re.findall(r"none of the [01]\b", text)
    found += re.findall(r"\w\(s\)", text)
    found += re.findall(r"all [01] ", text)
    return found


@given(st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=60))
def test_the_helper_agrees_with_its_count(k: int, n: int) -> None:
    for text in (
        wording.count(n, "infused patient"),
        wording.k_of_n(min(k, n), n, "infused patient"),
        wording.none_of(n, "infused patient", "is evaluable", "is not evaluable"),
        wording.all_of(n, "infused patient"),
    ):
        assert wrong_forms(text) == [], text
    assert wording.k_of_n(min(k, n), n, "infused patient").endswith("patient" if n == 1 else "patients")
    assert wording.count(n, "patient with PK samples", "patients with PK samples").startswith(
        f"{n} patient{'' if n == 1 else 's'} with"
    )
    none = wording.none_of(n, "infused patient", "is evaluable", "is not evaluable")
    assert ("none of" in none) == (n >= 2) and ("not" in none or n != 1)


def _responders(k: int, n_eval: int, n_inf: int) -> list[str]:
    summary = pd.DataFrame(
        [
            {
                "endpoint": "walk",
                "group": "all",
                "n_responders": k,
                "n_evaluable": n_eval,
                "n_infused": n_inf,
                "definition": "d",
                "parameters": "p",
                "description": "x",
            }
        ]
    )
    datasets = {"responders_summary": Dataset("responders_summary", "t", summary, "efficacy:walk", "x", ())}
    populations = {"efficacy:walk": Population("efficacy:walk", "d", tuple(f"S{i}" for i in range(n_eval)))}
    protocol = SimpleNamespace(endpoints={})
    return [f.statement for f in efficacy_findings(datasets, populations, protocol, outcomes=())]


@settings(max_examples=property_examples(60))
@given(st.integers(min_value=0, max_value=8), st.integers(min_value=0, max_value=8), st.data())
def test_responder_findings_count_their_nouns(n_inf: int, extra: int, data: st.DataObject) -> None:
    n_eval = data.draw(st.integers(min_value=0, max_value=n_inf))
    k = data.draw(st.integers(min_value=0, max_value=n_eval))
    for text in _responders(k, n_eval, n_inf):
        assert wrong_forms(text) == [], text


def _persistence(k: int, n: int, sampled: int) -> list[str]:
    rows = [
        {
            "subject_id": f"S{i}",
            "analyte": "car_transgene",
            PERSISTENCE_EVALUABLE: i < n,
            persistence_column(180.0): i < k,
        }
        for i in range(sampled)
    ]
    datasets = {"persistence": Dataset("persistence", "t", pd.DataFrame(rows), "pk", "x", ())}
    populations = {"pk": Population("pk", "d", tuple(f"S{i}" for i in range(sampled)))}
    return [f.statement for f in pk_pd_findings(datasets, populations, 180.0, outcomes=())]


@settings(max_examples=property_examples(60))
@given(st.integers(min_value=1, max_value=8), st.data())
def test_persistence_findings_count_their_nouns(sampled: int, data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=0, max_value=sampled))
    k = data.draw(st.integers(min_value=0, max_value=n))
    for text in _persistence(k, n, sampled):
        assert wrong_forms(text) == [], text


@given(st.integers(min_value=0, max_value=5), st.integers(min_value=0, max_value=5), st.integers(0, 3))
def test_the_data_status_counts_its_records(after: int, ended: int, respelled: int) -> None:
    snapshot = {
        "cutoff": "2022-03-20",
        "unlocked": True,
        "records_after_cutoff": {"labs": after},
        "records_ended_after_cutoff": {"adverse_events": ended},
        "values_read_in_spelling": {"labs": {"analyte": respelled}},
    }
    text = data_status_finding(snapshot).statement
    assert wrong_forms(text) == [], text


def test_the_checker_finds_the_old_wrong_forms() -> None:
    for text in (
        "not yet evaluable (none of the 1 infused patients evaluable)",
        "1 record(s) dated after the cut-off",
        "0 of 1 infused patients",
        "agree for all 1 infused patients",
        "1 of 4 patients sampled after day 180; 1 patients with PK samples not evaluable",
    ):
        assert wrong_forms(text), text
    assert wrong_forms("2 of 3 infused patients (67 %); 1 of 1 DLT-evaluable patient") == []
