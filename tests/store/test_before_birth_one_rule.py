"""The edit checks read "before birth" from the one rule, `cartrial.protocol.birth.before_birth`
(D-19.1206): INFUSION-BEFORE-BIRTH compared `day < born` inline, and the under-30-kg check compared the
consent with the birth date inline (review of simfix, finding 3). The rule is replaced by a spy that says
"before birth" for every day: a check with its own comparison does not see it.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cartrial.protocol.birth import before_birth
from cartrial.store import edit_checks
from cartrial.store.edit_checks import Record, SubjectRecords, run_edit_checks

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def _spy(calls: list[tuple[dt.date, dt.date | None]]) -> object:
    def always(day: dt.date, born: dt.date | None) -> bool:
        calls.append((day, born))
        return born is not None

    return always


def test_infusion_before_birth_asks_the_one_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    subject = Record("subject", {"subject_id": "S-1", "birth_date": dt.date(1980, 5, 1)}, True)
    infusion = Record(
        "infusion", {"subject_id": "S-1", "infused_at": dt.datetime(2020, 1, 1, 12, tzinfo=dt.UTC)}, True
    )
    tables = {"subject": [subject], "infusion": [infusion]}
    found = run_edit_checks([SubjectRecords("S-1", tables, None)], None, now=NOW)
    assert "INFUSION-BEFORE-BIRTH" not in [f.check.id for f in found]
    calls: list[tuple[dt.date, dt.date | None]] = []
    monkeypatch.setattr(edit_checks, "before_birth", _spy(calls))
    found = run_edit_checks([SubjectRecords("S-1", tables, None)], None, now=NOW)
    assert "INFUSION-BEFORE-BIRTH" in [f.check.id for f in found]
    assert (dt.date(2020, 1, 1), dt.date(1980, 5, 1)) in calls


def test_the_consent_before_birth_is_asked_of_the_one_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    subject = Record(
        "subject",
        {"subject_id": "S-1", "birth_date": dt.date(1980, 5, 1), "consent_date": dt.date(2020, 1, 1)},
        True,
    )
    calls: list[tuple[dt.date, dt.date | None]] = []
    monkeypatch.setattr(edit_checks, "before_birth", _spy(calls))
    run_edit_checks([SubjectRecords("S-1", {"subject": [subject]}, None)], None, now=NOW)
    assert (dt.date(2020, 1, 1), dt.date(1980, 5, 1)) in calls


def test_the_rule_keeps_the_birthday() -> None:
    assert not before_birth(dt.date(1980, 5, 1), dt.date(1980, 5, 1))
    assert before_birth(dt.date(1980, 4, 30), dt.date(1980, 5, 1))
