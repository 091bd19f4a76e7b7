"""`tables.restates`: the one test of "this row restates the stored record unchanged" used by the single
write, `Transaction.upsert_rows`, the bulk write and the import's checks (D-19.836). A refactor: the four
copies it replaces answered alike; these properties are the rule they shared."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cartrial.store.tables import restates

names = st.sampled_from(["a", "b", "c", "d"])
values = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=3), st.booleans())
records = st.dictionaries(names, values, max_size=4)


def test_no_stored_record_is_never_restated() -> None:
    assert not restates(None, {})
    assert not restates(None, {"a": 1})


@given(records, st.data())
def test_any_part_of_the_stored_record_restates_it(before: dict[str, Any], data: st.DataObject) -> None:
    part = data.draw(st.sets(st.sampled_from(sorted(before)) if before else st.nothing()))
    assert restates(before, {k: before[k] for k in part})


@given(records, names, values)
def test_a_field_given_another_value_does_not(before: dict[str, Any], name: str, value: Any) -> None:
    stored = before.get(name)  # a field the record lacks is stored as nothing (None)
    same = (stored is None and value is None) or (
        stored is not None and value is not None and type(stored) is type(value) and stored == value
    )
    if not same and not (isinstance(stored, int) and isinstance(value, int) and stored == value):
        assert not restates(before, {**before, name: value})


def test_an_integer_restates_its_float_and_a_blank_is_not_nothing() -> None:
    assert restates({"dose": 2}, {"dose": 2.0})
    assert not restates({"note": None}, {"note": ""})
    assert restates({"note": None}, {"note": None})
