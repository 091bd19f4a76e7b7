"""TEAEs by term count a subject once per term, however its verbatim text is cased or spelt (D-19.927).

The adverse-event term is free text (no MedDRA coding): `teae_by_term` grouped the exact text, so
"lymphocyte count decreased" was a row apart from "Lymphocyte count decreased" and a subject with both was
counted in two rows (twice for one term), while the protocol's organ lookup (`cartrial.protocol.organs`) and
the expected-cytopenia rule already read them as one term.

The example study (adverse_events.csv): all 12 infused subjects have "Lymphocyte count decreased", CT-002 at
grade 4; 6 have "Anaemia", all at worst grade 2, CT-001 among them. Added: CT-002 "lymphocyte count
decreased" grade 3 and CT-001 "ANAEMIA" grade 3. By hand: one lymphopenia row,
12 subjects, 12 + 1 = 13 events, every subject's worst grade 4 (CT-002: max(4, 3)); one anaemia row shown
"Anaemia" (6 records against 1), 6 subjects, 7 events, CT-001's worst grade now 3: worst grade 2 in 5, 3 in 1.
"""

from __future__ import annotations

import dataclasses

import hypothesis.strategies as st
import pandas as pd
from hypothesis import HealthCheck, given, settings
from tests.conftest import property_examples

from cartrial.analysis import Analysis, analyse
from cartrial.analysis.toxicity import adverse_event_datasets
from cartrial.protocol.organs import term_key
from cartrial.store.snapshot import StudySnapshot


def _ae(snapshot: StudySnapshot, **values: str) -> dict[str, str]:
    template = snapshot.tables["adverse_events"].iloc[0].to_dict()
    return template | {"ended_on": "", "serious": "false", "relatedness": "possible"} | values


def test_a_term_cased_or_spelt_otherwise_is_one_term(snapshot: StudySnapshot) -> None:
    added = pd.DataFrame(
        [
            _ae(
                snapshot,
                subject_id="CT-002",
                term="lymphocyte count decreased",
                category="hematologic",
                started_on="2021-06-20",
                grade="3",
                record_id="99001",
            ),
            _ae(
                snapshot,
                subject_id="CT-001",
                term="ANAEMIA",
                category="hematologic",
                started_on="2021-06-01",
                grade="3",
                record_id="99002",
            ),
        ]
    )
    tables = dict(snapshot.tables)
    tables["adverse_events"] = pd.concat([tables["adverse_events"], added], ignore_index=True)
    by_term = analyse(dataclasses.replace(snapshot, tables=tables)).datasets["teae_by_term"].table
    lympho = by_term[by_term["term"].str.lower() == "lymphocyte count decreased"]
    assert len(lympho) == 1  # two rows before, CT-002 in both
    row = lympho.iloc[0]
    assert (row["term"], row["n_subjects"], row["n_events"]) == ("Lymphocyte count decreased", 12, 13)
    assert (row["worst_grade_3"], row["worst_grade_4"], row["n_subjects_grade_ge3"]) == (0, 12, 12)
    anaemia = by_term[by_term["term"].str.lower() == "anaemia"]
    assert len(anaemia) == 1
    row = anaemia.iloc[0]
    assert (row["term"], row["n_subjects"], row["n_events"]) == ("Anaemia", 6, 7)
    assert (row["worst_grade_2"], row["worst_grade_3"], row["n_subjects_grade_ge3"]) == (5, 1, 1)


TERMS = ("Pyrexia", "pyrexia", "PYREXIA", "Haemorrhage", "hemorrhage", "Nausea", "nausea  vomiting")
SUBJECTS = ("CT-001", "CT-002", "CT-003", "CT-004")


@settings(
    max_examples=property_examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    records=st.lists(
        st.tuples(st.sampled_from(SUBJECTS), st.sampled_from(TERMS), st.integers(1, 5)),
        min_size=1,
        max_size=12,
    )
)
def test_each_subject_is_counted_once_per_term_at_its_worst_grade(
    snapshot: StudySnapshot, analysis: Analysis, records: list[tuple[str, str, int]]
) -> None:
    """Counted by hand from the generated records: per folded term, the set of subjects and each one's
    maximum grade; every count at most the safety population (12)."""
    frame = pd.DataFrame(
        [
            _ae(
                snapshot,
                subject_id=sid,
                term=term,
                category="non_hematologic",
                started_on="2021-08-01",
                grade=str(grade),
                record_id=str(90000 + i),
            )
            for i, (sid, term, grade) in enumerate(records)
        ]
    )
    tables = dict(snapshot.tables) | {"adverse_events": frame}
    by_term = adverse_event_datasets(tables, analysis.populations)["teae_by_term"].table
    expected: dict[str, dict[str, int]] = {}
    for sid, term, grade in records:
        worst = expected.setdefault(" ".join(term.lower().split()).replace("haem", "hem"), {})
        worst[sid] = max(worst.get(sid, 0), grade)
    assert sorted(term_key(t) for t in by_term["term"]) == sorted(expected)
    for row in by_term.to_dict("records"):
        worst = expected[term_key(row["term"])]
        assert row["n_subjects"] == len(worst) <= row["n_safety"] == 12
        assert row["n_subjects_grade_ge3"] == sum(g >= 3 for g in worst.values())
        assert [row[f"worst_grade_{g}"] for g in range(1, 6)] == [
            sum(v == g for v in worst.values()) for g in range(1, 6)
        ]
