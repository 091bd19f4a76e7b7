"""Every rule between fields of one record declares the fields it reads (`RecordRule.reads`): the live
check runs a rule on a record in part only when each of them is given (D-19.705). The declaration is held
to what each rule reads on a row, written from the rule's text, that makes it fire; a rule declaring none
is refused at its definition (it would never run in the live check)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cartrial.errors import InternalError
from cartrial.store.fields import RECORD_RULES, RecordRule

UTC = dt.UTC

FIRING: dict[str, dict[str, Any]] = {
    "AE-END-BEFORE-START": {"ended_on": dt.date(2021, 1, 1), "started_on": dt.date(2021, 1, 5)},
    "BIRTH-YEAR-AFTER-CONSENT": {"birth_year": 2022, "consent_date": dt.date(2021, 1, 1)},
    "BIRTH-DATE-AFTER-CONSENT": {"birth_date": dt.date(2022, 1, 1), "consent_date": dt.date(2021, 1, 1)},
    "DISPOSITION-UNDATED": {"disposition_date": None, "disposition": "death"},
    "DISPOSITION-DATE-WITHOUT-END": {"disposition_date": dt.date(2021, 1, 1), "disposition": "ongoing"},
    "DISPOSITION-BEFORE-CONSENT": {
        "disposition_date": dt.date(2020, 1, 1),
        "consent_date": dt.date(2021, 1, 1),
    },
    "DIAGNOSIS-AFTER-CONSENT": {"diagnosis_date": dt.date(2022, 1, 1), "consent_date": dt.date(2021, 1, 1)},
    "THERAPY-STOP-BEFORE-START": {
        "stopped_at": dt.datetime(2021, 1, 1, 10, tzinfo=UTC),
        "given_at": dt.datetime(2021, 1, 5, 10, tzinfo=UTC),
    },
    "SITE-COUNTRY-ISO": {"country": "Atlantis"},
    "SITE-TIME-ZONE-IANA": {"time_zone": "Mars/Olympus_Mons"},
    "LEUKAPHERESIS-AFTER-INFUSION": {
        "infused_at": dt.datetime(2021, 1, 1, 10, tzinfo=UTC),
        "leukapheresis_on": dt.date(2021, 2, 1),
    },
    "PK-BLQ-AT-OR-ABOVE-LLOQ": {"blq": True, "value": 5.0, "lloq": 1.0},
    "CRS-FIO2-WITHOUT-OXYGEN": {"oxygen": "none", "fio2_pct": 40.0},
    "EDSS-NEUROSTATUS-AMBULATION": {"method": None, "ambulation": None},
    "EDSS-KURTZKE-ASSISTANCE": {"method": "kurtzke", "assistance": None},
    "EDSS-KURTZKE-WALKING": {"method": "kurtzke", "assistance": "unilateral", "walking_distance_m": None},
    "TREATMENT-HISTORY-DATE": {"treatment_history": [{"drug": "rituximab", "started_on": "2019--07-01"}]},
    "RELAPSE-HISTORY-DATE": {"relapse_history": [{"onset_date": "2019-07-15-03"}]},
}
"""A row of each rule's table that breaks it, from the rule's message and allowed text."""


class _Tracing(dict[str, Any]):
    """A row noting each key a rule reads (`get`, `[]`, `in`)."""

    read: set[str]

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


def test_every_rule_declares_the_fields_it_reads_on_a_row_it_fires_on() -> None:
    assert {rule.id for rule in RECORD_RULES} == set(FIRING)  # a new rule needs its firing row here
    for rule in RECORD_RULES:
        row = _Tracing(FIRING[rule.id])
        row.read = set()
        assert rule.violated(row), rule.id
        assert row.read == set(rule.reads), (rule.id, row.read, rule.reads)
        assert rule.field in rule.reads, rule.id


def test_a_rule_declaring_no_field_is_refused_at_its_definition() -> None:
    with pytest.raises(InternalError, match="X-RULE"):
        RecordRule("X-RULE", "subject", "birth_year", "m", "a", lambda r: False)
