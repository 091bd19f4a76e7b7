"""TEAEs by term: a subject whose events of a term have no grade at the cut-off is counted in a column of
its own, so that the worst-grade columns add up to the subjects of the term (D-19.1241).

An adverse event open at the cut-off whose grade is 5 has no grade in the analysis (death is known only at
its end, `cartrial.store.snapshot.KNOWN_AT_THE_END`, D-19.85). `teae_by_term` counted such a subject in
``n_subjects`` and in none of ``worst_grade_1`` … ``worst_grade_5``: the row of a fatal sepsis ongoing at
the cut-off read "1 subject" with every grade column 0, nothing saying why.

Hand count from the example study (adverse_events.csv: no "Sepsis" record) plus one sepsis of CT-001 that
started 2022-03-10 and ended 2022-04-02 at grade 5 (after the cut-off 2022-03-20): one row "Sepsis",
1 subject, 1 event, worst grade 1-5 all 0, grade not known 1, grade >= 3: 0.
"""

from __future__ import annotations

import hypothesis.strategies as st
import pandas as pd
from hypothesis import HealthCheck, given, settings
from tests.conftest import property_examples

from cartrial.analysis import Analysis, analyse
from cartrial.analysis.toxicity import adverse_event_datasets
from cartrial.store.snapshot import StudySnapshot

from .test_cutoff_review_items import SEPSIS, _with_rows


def test_a_fatal_event_open_at_the_cutoff_is_counted_as_grade_not_known(snapshot: StudySnapshot) -> None:
    result = analyse(_with_rows(snapshot, "adverse_events", SEPSIS))
    by_term = result.datasets["teae_by_term"].table
    row = by_term[by_term["term"] == "Sepsis"].iloc[0]
    assert (row["n_subjects"], row["n_events"], row["n_subjects_grade_ge3"]) == (1, 1, 0)
    assert [row[f"worst_grade_{g}"] for g in range(1, 6)] == [0, 0, 0, 0, 0]
    assert row["worst_grade_not_known"] == 1
    assert "worst_grade_not_known" in result.datasets["teae_by_term"].columns
    assert any("no grade" in n for n in result.datasets["teae_by_term"].notes)


SUBJECTS = ("CT-001", "CT-002", "CT-003")


@settings(
    max_examples=property_examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    records=st.lists(
        st.tuples(
            st.sampled_from(SUBJECTS), st.sampled_from(("Pyrexia", "Nausea")), st.sampled_from("12345 ")
        ),
        min_size=1,
        max_size=10,
    )
)
def test_the_grade_columns_add_up_to_the_subjects_of_the_term(
    snapshot: StudySnapshot, analysis: Analysis, records: list[tuple[str, str, str]]
) -> None:
    """By hand from the generated records (" ": no grade): per term, each subject's highest recorded grade,
    or "not known" when none of its events of the term has one."""
    template = snapshot.tables["adverse_events"].iloc[0].to_dict()
    frame = pd.DataFrame(
        [
            template
            | {
                "subject_id": sid,
                "term": term,
                "category": "non_hematologic",
                "started_on": "2021-08-01",
                "ended_on": "",
                "grade": grade.strip(),
                "serious": "false",
                "record_id": str(90000 + i),
            }
            for i, (sid, term, grade) in enumerate(records)
        ]
    )
    tables = dict(snapshot.tables) | {"adverse_events": frame}
    by_term = adverse_event_datasets(tables, analysis.populations)["teae_by_term"].table.set_index("term")
    worst: dict[str, dict[str, int]] = {}
    for sid, term, grade in records:
        seen = worst.setdefault(term, {})
        seen[sid] = max(seen.get(sid, 0), int(grade) if grade.strip() else 0)
    for term, per_subject in worst.items():
        row = by_term.loc[term]
        assert row["n_subjects"] == len(per_subject)
        assert [row[f"worst_grade_{g}"] for g in range(1, 6)] == [
            sum(v == g for v in per_subject.values()) for g in range(1, 6)
        ]
        assert row["worst_grade_not_known"] == sum(v == 0 for v in per_subject.values())
        assert sum(row[f"worst_grade_{g}"] for g in range(1, 6)) + row["worst_grade_not_known"] == len(
            per_subject
        )


def test_the_note_says_where_an_ungraded_event_is_counted(snapshot: StudySnapshot) -> None:
    """The note read "in no worst-grade column of a subject with a graded event of the term, else in
    worst_grade_not_known", which says where the event is not counted, not where its subject is."""
    notes = analyse(_with_rows(snapshot, "adverse_events", SEPSIS)).datasets["teae_by_term"].notes
    (note,) = [n for n in notes if "no grade at the cut-off" in n]
    assert note.startswith("1 TEAE in 1 subject has no grade at the cut-off")
    assert (
        "its subject counted at the subject's highest recorded grade of the term when it has one, else in "
        "worst_grade_not_known (D-19.1241)"
    ) in note
