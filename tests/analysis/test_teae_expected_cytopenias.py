"""D-19.269: the key finding "12 of 12 infused patients had a TEAE of grade ≥ 3" counts lymphopenia, the
effect lymphodepletion is given for (every patient of the example has grade 3-4 lymphocyte count decreased,
adverse_events.csv). The finding is kept; a companion leaves out the expected lymphodepletion cytopenias —
lymphopenia only by default, every cytopenia term with ``analysis.options.teae_expected_cytopenias:
cytopenias`` — as the CT103A-style DLT definition excludes "lymphopenia from lymphodepletion"
(reference ct103a-nmosd-trial.md §4) and ICAHT / the CTCAE shift table report the cytopenias apart.

Expected subjects are counted below from adverse_events.csv by hand (grade ≥ 3, started on or after the
first lymphodepletion dose and on or before the cut-off, term not in the left-out list)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis import analyse
from cartrial.analysis.model import Analysis
from cartrial.protocol import parse_protocol
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF, rows

LYMPHOPENIA = {"lymphocyte count decreased", "lymphopenia"}
CYTOPENIAS = LYMPHOPENIA | {
    "neutrophil count decreased",
    "neutropenia",
    "white blood cell decreased",
    "leukopenia",
    "platelet count decreased",
    "thrombocytopenia",
    "anaemia",
    "anemia",
}


def _by_hand(left_out: set[str]) -> tuple[set[str], set[str]]:
    """(subjects with any grade ≥ 3 TEAE, those with one whose term is not left out) from the CSVs."""
    first_ld: dict[str, str] = {}
    for r in rows("lymphodepletion"):
        first_ld[r["subject_id"]] = min(
            first_ld.get(r["subject_id"], r["administered_on"]), r["administered_on"]
        )
    teae = [
        r
        for r in rows("adverse_events")
        if first_ld[r["subject_id"]] <= r["started_on"][:10] <= CUTOFF.isoformat()
        and r["grade"]
        and int(r["grade"]) >= 3
    ]
    return {r["subject_id"] for r in teae}, {
        r["subject_id"] for r in teae if r["term"].lower() not in left_out
    }


def _with_option(snapshot: StudySnapshot, value: str) -> Analysis:
    text = snapshot.protocol_yaml
    text = (
        text[: text.index("\nanalysis:\n")]
        + f"\nanalysis:\n  options:\n    teae_expected_cytopenias: {value}\n"
    )
    return analyse(dataclasses.replace(snapshot, protocol=parse_protocol(text)))


def _flagged(analysis: Analysis, column: str) -> set[str]:
    table = analysis.datasets["teae_by_subject"].table
    return set(table.loc[table[column].astype(bool), "subject_id"].astype(str))


def _teae_findings(analysis: Analysis) -> list[str]:
    return [f.statement for f in analysis.findings if f.source == "teae_summary"]


def test_the_companion_leaves_out_lymphopenia_by_default(analysis: Analysis) -> None:
    every, other = _by_hand(LYMPHOPENIA)
    assert _flagged(analysis, "teae_grade_ge3") == every
    assert _flagged(analysis, "teae_grade_ge3_unexpected") == other
    statements = _teae_findings(analysis)
    n = len(analysis.populations["safety"].subject_ids)
    assert f"{len(every)} of {n} infused patients" in statements[0] and statements[0].endswith("grade ≥ 3.")
    assert statements[1].startswith(f"{len(other)} of {n} infused patients")
    assert (
        "other than lymphopenia (lymphocyte count decreased), the expected effect of lymphodepletion"
        in (statements[1])
    )
    assert analysis.options["teae_expected_cytopenias"] == "lymphopenia"


@pytest.mark.parametrize(("value", "left_out"), [("lymphopenia", LYMPHOPENIA), ("cytopenias", CYTOPENIAS)])
def test_the_option_names_the_left_out_terms(snapshot: StudySnapshot, value: str, left_out: set[str]) -> None:
    changed = _with_option(snapshot, value)
    every, other = _by_hand(left_out)
    assert _flagged(changed, "teae_grade_ge3") == every  # the original count is kept
    assert _flagged(changed, "teae_grade_ge3_unexpected") == other
    assert changed.options["teae_expected_cytopenias"] == value
    assert changed.option_sources["teae_expected_cytopenias"] == (
        "protocol analysis.options.teae_expected_cytopenias"
    )
    summary = changed.datasets["teae_summary"].table
    row = summary[(summary["measure"] == "teae_grade_ge3_unexpected") & (summary["group"] == "all")].iloc[0]
    assert int(row["k"]) == len(other)
    if value == "cytopenias":
        assert "other than a cytopenia (lymphocyte, neutrophil" in _teae_findings(changed)[1]


def test_a_bad_option_value_is_refused(snapshot: StudySnapshot) -> None:
    with pytest.raises(Exception, match="teae_expected_cytopenias"):
        _with_option(snapshot, "anaemia")


@settings(max_examples=property_examples(40), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["CT-001", "CT-002"]),
            st.sampled_from(
                ["Lymphocyte count decreased", "Neutrophil count decreased", "Pneumonia", "Anaemia"]
            ),
            st.integers(1, 5),
        ),
        max_size=6,
    )
)
def test_the_companion_is_never_above_the_count(
    snapshot: StudySnapshot, events: list[tuple[str, str, int]]
) -> None:
    """Whatever the events: a patient counted by the companion is counted by the original, and leaving out
    more terms (cytopenias) never counts more patients than leaving out lymphopenia only."""
    from cartrial.analysis.core import study_populations
    from cartrial.analysis.toxicity import adverse_event_datasets

    tables = dict(snapshot.tables)
    base = tables["adverse_events"]
    template = base.iloc[0].to_dict()
    added = [
        template
        | {
            "subject_id": s,
            "term": t,
            "grade": str(g),
            "started_on": "2021-06-01",
            "ended_on": "2021-06-02",
            "record_id": str(900000 + i),
        }
        for i, (s, t, g) in enumerate(events)
    ]
    tables["adverse_events"] = pd.DataFrame(added, columns=base.columns).astype(base.dtypes.to_dict())
    populations = study_populations(tables, snapshot.protocol, CUTOFF).populations
    flags = {}
    for value in ("lymphopenia", "cytopenias"):
        by_subject = adverse_event_datasets(tables, populations, "lymphodepletion", (), value)[
            "teae_by_subject"
        ]
        flags[value] = by_subject.table.set_index("subject_id")
    for sid, row in flags["lymphopenia"].iterrows():
        assert not row["teae_grade_ge3_unexpected"] or row["teae_grade_ge3"]
        assert flags["cytopenias"].loc[sid, "teae_grade_ge3_unexpected"] <= row["teae_grade_ge3_unexpected"]
        expected = any(s == sid and g >= 3 and t != "Lymphocyte count decreased" for s, t, g in events)
        assert bool(row["teae_grade_ge3_unexpected"]) == expected
