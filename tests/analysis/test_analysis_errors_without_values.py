"""An error the analysis finds in the study's stored records never quotes a value (D-12.2, D-19.500).

Before: a stored PK concentration the kinetics reader refuses (1e300, which `db edit` accepted before
D-19.499) stopped `analyse` / `report` / `export cdisc` with "pk_samples, row 14, value: out of range
(got '1e+300')": the record's value on the terminal. The snapshot here is changed in memory, as any
disagreement between a store rule and an engine's reader would leave it.
"""

from __future__ import annotations

import dataclasses

import pytest

from cartrial.analysis import analyse
from cartrial.errors import InputError
from cartrial.store.snapshot import StudySnapshot

SENTINEL = "7.77e+300"


def test_a_refused_stored_value_is_named_by_table_row_and_field_only(snapshot: StudySnapshot) -> None:
    tables = dict(snapshot.tables)
    pk = tables["pk_samples"].copy()
    row = int(pk.index[pk["value"].astype(str).str.strip() != ""][0])
    pk["value"] = pk["value"].astype(object)
    pk.loc[row, "value"] = SENTINEL
    tables["pk_samples"] = pk
    changed = dataclasses.replace(snapshot, tables=tables)
    with pytest.raises(InputError) as caught:
        analyse(changed)
    text = str(caught.value)
    assert "7.77" not in text and "got" not in text
    (problem,) = caught.value.problems
    assert problem.field == "value" and problem.value is None and problem.allowed
    # by the record id `db edit pk_sample N` takes, not a row of a filtered frame (D-19.507)
    record = int(pk.loc[row, "record_id"])
    assert problem.record == f"pk_sample record {record}" and problem.row is None
    assert f"pk_sample record {record}, value: out of range" in text
