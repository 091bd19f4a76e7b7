"""`cartrial.grading.episodes.therapies_by_subject`: each subject's therapies in one pass, exactly what the
per-subject filter ``[t for t in therapies if t.subject_id == sid]`` the CRS and ICANS episode builders
used gives (same records, same order), for every subject and for a subject without therapies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.grading.episodes import therapies_by_subject
from cartrial.grading.tables import TherapyRecord

START = datetime(2024, 1, 1, tzinfo=UTC)

records = st.lists(
    st.builds(
        TherapyRecord,
        subject_id=st.sampled_from(["S1", "S2", "S3", "s1", "S10"]),
        given_at=st.integers(0, 10_000).map(lambda m: START + timedelta(minutes=m)),
        therapy=st.sampled_from(["tocilizumab", "corticosteroid", "vasopressor"]),
        agent=st.sampled_from(["", "dexamethasone"]),
        dose=st.one_of(st.none(), st.floats(0, 100, allow_nan=False)),
        unit=st.sampled_from(["", "mg"]),
    ),
    max_size=40,
)


@settings(max_examples=property_examples(200), deadline=None)
@given(records)
def test_groups_equal_the_per_subject_filter(therapies: list[TherapyRecord]) -> None:
    grouped = therapies_by_subject(therapies)
    for sid in ["S1", "S2", "S3", "s1", "S10", "S4"]:
        expected = [t for t in therapies if t.subject_id == sid]
        assert grouped.get(sid, []) == expected
    # every record lands in exactly one group, none invented
    assert sum(len(v) for v in grouped.values()) == len(therapies)
    assert all(v for v in grouped.values())


def test_order_and_case_kept() -> None:
    a = TherapyRecord("S1", START + timedelta(hours=2), "tocilizumab", "", 8.0, "mg/kg")
    b = TherapyRecord("s1", START, "corticosteroid", "dexamethasone", 10.0, "mg")
    c = TherapyRecord("S1", START, "vasopressor", "", None, "")
    assert therapies_by_subject([a, b, c]) == {"S1": [a, c], "s1": [b]}
    assert therapies_by_subject([]) == {}
