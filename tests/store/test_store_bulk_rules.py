"""The documented bulk write (`Transaction.upsert_rows`, `StudyService.upsert_rows`) applies the field
rules and edit checks of a single-record write (`insert_record`), D-19.430.

Requirement: issue 19 §1 ("the same field rules (types, units, ranges, enumerations, protocol-derived
sets) must apply to import, edit, the web forms and the API — declared once"); docs/store.md.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import CartrialError, InputError
from cartrial.store import StudyService


def _write(service: StudyService, table: str, rows: list[dict[str, Any]], user: str = "dm") -> None:
    with service.as_user(user).transaction(source="lab feed", reason="feed") as tx:
        tx.upsert_rows(table, rows)


def test_out_of_range_subject_row_is_refused_with_its_row_and_field(study) -> None:
    """A birth year before 1900 and a sex outside F | M: refused as `insert_record` refuses them, every
    problem located by row and field, nothing written."""
    service: StudyService = study.service
    before = service.table_counts()
    rows = [
        {"subject_id": "CT-003", "site_id": "TJH", "consent_date": "2021-07-01", "sex": "F"},
        {"subject_id": "CT-004", "site_id": "TJH", "consent_date": "2021-07-01", "birth_year": 1800}
        | {"sex": "X"},
    ]
    with pytest.raises(InputError) as caught:
        _write(service, "subject", rows)
    located = {(p.row, p.field) for p in caught.value.problems}
    assert located == {(2, "subject.birth_year"), (2, "subject.sex")}
    assert "nothing was written" in str(caught.value)
    assert "row 2, subject.birth_year: out of range" in str(caught.value)
    assert service.table_counts() == before


def test_negative_lab_value_is_refused_through_the_legacy_alias(study) -> None:
    """`StudyService.upsert_rows(tx, ...)` (the legacy spelling) runs the same rules."""
    service: StudyService = study.service
    row = {
        "subject_id": "CT-001",
        "analyte": "wbc",
        "collected_at": "2021-07-02T08:00:00Z",
        "value": -5,
        "unit": "10^9/l",
        "lln": 4.0,
    }
    with pytest.raises(InputError) as caught, service.transaction("dm", "lab feed") as tx:
        service.upsert_rows(tx, "lab_result", [row])
    assert [(p.row, p.field) for p in caught.value.problems] == [(1, "lab_result.value")]
    assert service.table_counts()["lab_result"] == 0
    _write(service, "lab_result", [{**row, "value": 5.0}])  # the corrected row is stored
    assert service.table_counts()["lab_result"] == 1


def test_update_is_judged_like_update_record(study) -> None:
    """An update changing a value into a refused one is refused; unchanged rows pass untouched."""
    service: StudyService = study.service
    row = {"subject_id": "CT-001", "infused_at": "2021-06-01T02:00:00Z", "dose_level": 1, "weight_kg": 58.0}
    _write(service, "infusion", [row])
    with pytest.raises(InputError) as caught:
        _write(service, "infusion", [{**row, "weight_kg": 900.0}])
    assert [(p.row, p.field) for p in caught.value.problems] == [(1, "infusion.weight_kg")]
    assert service.find_records("dm", "infusion")[0]["weight_kg"] == 58.0


def test_hard_edit_check_refuses_and_soft_one_raises_a_query(study) -> None:
    """Edit checks across forms as for a single write: an infusion before consent (hard) is refused, a lab
    dated in the future (soft) is stored with a data query."""
    service: StudyService = study.service
    infusion = {"subject_id": "CT-001", "infused_at": "2021-05-01T02:00:00Z", "dose_level": 1}
    with pytest.raises(InputError) as caught:
        _write(service, "infusion", [infusion])
    assert "INFUSION-BEFORE-CONSENT" in str(caught.value) or "consent" in str(caught.value)
    assert caught.value.problems[0].row == 1
    assert service.table_counts()["infusion"] == 0
    lab = {"subject_id": "CT-001", "analyte": "crp", "collected_at": "2099-01-01T08:00:00Z", "value": 3.0}
    _write(service, "lab_result", [{**lab, "unit": "mg/l", "lln": 0.0}])
    queries = service.find_records("dm", "data_query")
    assert [(q["table_name"], q["field"], q["status"]) for q in queries] == [
        ("lab_result", "collected_at", "open")
    ]
    assert "DATE-FUTURE" in queries[0]["text"]


# -- the same verdict as insert_record -------------------------------------------------------------------


class _Rollback(Exception):
    """Raised inside a transaction to leave the database as it was."""


def _verdict(
    service: StudyService, table: str, row: dict[str, Any], bulk: bool
) -> frozenset[tuple[Any, ...]]:
    """Empty when the write is accepted; otherwise the refused (field, message) pairs."""
    try:
        with service.as_user("dm").transaction(source="property", reason="r") as tx:
            if bulk:
                tx.upsert_rows(table, [row])
            else:
                tx.insert_record(table, row)
            raise _Rollback
    except _Rollback:
        return frozenset()
    except InputError as exc:
        return frozenset((p.field, p.message) for p in exc.problems) or frozenset({("?", str(exc))})
    except CartrialError as exc:
        return frozenset({(type(exc).__name__, "")})


_ROWS = st.one_of(
    st.fixed_dictionaries(
        {
            "subject_id": st.just("CT-009"),
            "site_id": st.just("TJH"),
            "consent_date": st.sampled_from(["2021-07-01", "2099-01-01"]),
            "birth_year": st.one_of(st.none(), st.integers(1850, 2150)),
            "sex": st.sampled_from(["F", "M", "X", None]),
        }
    ).map(lambda r: ("subject", r)),
    st.fixed_dictionaries(
        {
            "subject_id": st.just("CT-001"),
            "analyte": st.sampled_from(["wbc", "crp", "platelets"]),
            "collected_at": st.sampled_from(["2021-07-02T08:00:00Z", "2021-05-01T08:00:00Z"]),
            "value": st.one_of(st.none(), st.floats(-10, 500)),
            "unit": st.sampled_from(["10^9/l", "mg/l", "", None]),
            "lln": st.one_of(st.none(), st.floats(-1, 10)),
        }
    ).map(lambda r: ("lab_result", r)),
    st.fixed_dictionaries(
        {
            "subject_id": st.just("CT-002"),
            "infused_at": st.sampled_from(["2021-06-22T02:30:00Z", "2021-05-01T02:30:00Z"]),
            "dose_level": st.integers(-1, 6),
            "weight_kg": st.one_of(st.none(), st.floats(-5, 500)),
            "viability_pct": st.one_of(st.none(), st.floats(-5, 120)),
        }
    ).map(lambda r: ("infusion", r)),
)


@settings(
    max_examples=property_examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=_ROWS)
def test_upsert_rows_and_insert_record_give_the_same_verdict(sqlite_study, case) -> None:
    """Any row `upsert_rows` accepts `insert_record` accepts, and a refused row is refused by both for the
    same fields and reasons (each write rolled back: the fixture's database is unchanged between examples)."""
    table, row = case
    service: StudyService = sqlite_study.service
    assert _verdict(service, table, row, bulk=True) == _verdict(service, table, row, bulk=False)


# -------------------------------------------------------------------------------------------------------
# One pass over the rows of one call (D-19.431): the same verdicts as judging each row alone
# -------------------------------------------------------------------------------------------------------


def test_rows_of_one_call_are_not_judged_against_each_other() -> None:
    """Two relapses of one subject, the second dated earlier (the import refuses such a file: "dates out
    of order") and the same date twice: each is a valid record on its own, as `insert_record` judges it,
    so the one pass over the call reports nothing, and a bad row is still named alone."""
    from cartrial.store.fields import record_write_problems, records_write_problems

    rows: list[dict[str, Any]] = [
        {"subject_id": "CT-001", "onset_date": day, "phenotype": "myelitis"}
        for day in ("2021-09-01", "2021-08-01", "2021-08-01", "2021-02-30")
    ]
    writes = [(None, row) for row in rows]
    expected = [record_write_problems("relapse", None, row, None) for row in rows]
    assert expected[:3] == [[], [], []] and [p.field for p in expected[3]] == ["onset_date"]
    assert records_write_problems("relapse", writes, None) == expected


_BATCH_LABS = st.lists(
    st.fixed_dictionaries(
        {
            "subject_id": st.sampled_from(["CT-001", "CT-002", ""]),
            "analyte": st.sampled_from(["wbc", "crp", "platelets", "hemoglobin"]),
            "collected_at": st.sampled_from(["2021-07-02T08:00:00Z", "2021-05-01", "2021-07-02T08:00", "x"]),
            "value": st.one_of(st.none(), st.floats(-10, 500), st.just(float("nan"))),
            "unit": st.sampled_from(["10^9/l", "mg/l", "g/dl", "", None]),
            "lln": st.one_of(st.none(), st.floats(-1, 10)),
        },
        optional={"uln": st.one_of(st.none(), st.floats(-1, 600)), "notes": st.just("n")},
    ),
    max_size=8,
)
_BATCH_RELAPSES = st.lists(
    st.fixed_dictionaries(
        {
            "subject_id": st.sampled_from(["CT-001", "CT-002"]),
            "onset_date": st.sampled_from(["2021-09-01", "2021-08-01", "2021-02-30", ""]),
            "phenotype": st.sampled_from(["myelitis", "optic_neuritis", "other", ""]),
        },
        optional={"lasted_over_24h": st.sampled_from([True, False, "maybe", None])},
    ),
    max_size=8,
)


@settings(max_examples=property_examples(60), deadline=None)
@given(
    case=st.one_of(
        _BATCH_LABS.map(lambda rows: ("lab_result", rows)),
        _BATCH_RELAPSES.map(lambda rows: ("relapse", rows)),
    ),
    edits=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_one_pass_gives_each_rows_own_verdict(case, edits) -> None:
    """`records_write_problems` over the rows of one call equals `record_write_problems` of each row
    alone — the same problems, fields, messages and allowed text, in the same order — for new records and
    for edits (each row then edits the previous one), whatever the mix of good and bad rows."""
    from cartrial.store.fields import record_write_problems, records_write_problems

    table, rows = case
    writes = [
        (rows[i - 1] if edits[i] and i else None, {**(rows[i - 1] if edits[i] and i else {}), **row})
        for i, row in enumerate(rows)
    ]
    expected = [record_write_problems(table, before, after, None) for before, after in writes]
    assert records_write_problems(table, writes, None) == expected
