"""Every hard edit check declares the tables it compares (`EditCheck.reads`): a single new record whose
checks left out a record of one of them is refused, the check could not run (D-19.651). The declaration is
held to what each check reads, on the sentinel records that make every check fire."""

from __future__ import annotations

import dataclasses

from cartrial.store.edit_checks import EDIT_CHECKS, Severity, SubjectRecords, blind_hard_checks

from .test_edit_check_messages import REFERENCE, TODAY, sentinel_subjects


class _Tracing(SubjectRecords):
    """The records of a subject, noting each table a check reads (`of`; `subject` and `birth` read it)."""

    read: set[str]

    def of(self, table: str) -> list:  # type: ignore[type-arg]
        self.read.add(table)
        return super().of(table)


def test_every_hard_check_declares_the_tables_it_reads_and_fires_on() -> None:
    hard = [(check, function) for check, function in EDIT_CHECKS if check.severity is Severity.HARD]
    assert hard and all(check.reads for check, _ in hard)
    assert all(not check.reads for check, _ in EDIT_CHECKS if check.severity is Severity.SOFT)
    for check, function in hard:
        fired: set[str] = set()
        for subject in sentinel_subjects():
            fields = {f.name: getattr(subject, f.name) for f in dataclasses.fields(subject) if f.init}
            traced = _Tracing(**fields)
            traced.read = set()
            fired |= {record.table for record, *_ in function(traced, REFERENCE, TODAY)}
            assert traced.read <= set(check.reads), (check.id, traced.read)
        assert fired and fired <= set(check.reads), (check.id, fired)


def test_the_blind_hard_checks_of_a_write() -> None:
    """INFUSION-ONCE needs the other infusions; INFUSION-BEFORE-CONSENT/-BIRTH the subject row; an adverse
    event has no hard check (its checks skipped are soft: a query, D-19.652)."""
    assert [c.id for c in blind_hard_checks("infusion", {"infusion"})] == ["INFUSION-ONCE"]
    assert blind_hard_checks("subject", {"subject"}) == []  # only the written subject row itself
    assert [c.id for c in blind_hard_checks("infusion", {"subject"})] == [
        "INFUSION-BEFORE-CONSENT",
        "INFUSION-BEFORE-BIRTH",
    ]
    assert blind_hard_checks("adverse_event", {"subject", "infusion"}) == []
    assert [c.id for c in blind_hard_checks("relapse", {"subject"})] == ["RELAPSE-BEFORE-BIRTH"]
