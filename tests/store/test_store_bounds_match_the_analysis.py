"""A value the store accepts is one the analysis reads (D-19.499).

Before: `db edit pk_sample N --set value=1e300` (and the import, and the API: one field rule) stored a
concentration that the kinetics readers refuse (at most 1e15 in the table's unit); `analyse`, `report` and
`export cdisc` of the study then stopped with "pk_samples, row 14, value: out of range (got '1e+300')",
quoting the stored value.
"""

from __future__ import annotations

import pytest

from cartrial.errors import InputError
from cartrial.store.fields import typed_record_values

ENGINE_MAXIMUM = 1e15  # cartrial.kinetics.templates.MAX_CONCENTRATION, the readers' bound (D-19.37)


@pytest.mark.parametrize("value", ["1e300", "1.000001e15", "1e16"])
def test_a_pk_value_beyond_what_the_analysis_reads_is_refused_where_it_enters(value: str) -> None:
    with pytest.raises(InputError) as caught:
        typed_record_values("pk_sample", {"value": value})
    (problem,) = caught.value.problems
    assert problem.field == "pk_sample.value" and problem.message == "out of range"
    assert "1e+15" in str(problem.allowed)


@pytest.mark.parametrize("value", ["0", "12.5", "1e15"])
def test_a_pk_value_up_to_the_bound_is_stored(value: str) -> None:
    assert typed_record_values("pk_sample", {"value": value}) == {"value": float(value)}
    assert float(value) <= ENGINE_MAXIMUM


def test_the_kinetics_reader_refuses_what_the_store_now_refuses() -> None:
    import pandas as pd

    from cartrial.kinetics.frames import validate_profiles

    frame = pd.DataFrame({"subject_id": ["S1"] * 3, "day": ["1", "2", "3"], "value": ["10", "1e15", "1e16"]})
    with pytest.raises(InputError) as caught:
        validate_profiles(frame, subject="subject_id", time="day", conc="value", source="pk.csv")
    assert [p.row for p in caught.value.problems] == [4]
