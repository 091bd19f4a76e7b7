"""A date of the subject form's treatment or relapse history is read in one form at entry (D-19.1214,
D-19.1216).

The store kept ``subjects.treatment_history`` / ``relapse_history`` as free JSON and accepted any text in an
entry's ``started_on``, ``stopped_on`` or ``onset_date``; the analysis then skipped such an onset with a note
(D-19.711) and the CDISC export refused it (D-19.1212): three layers, three answers. Now the store refuses
it on every write path (import and web entry: `validate_record`, the import's frame path), naming the row
and the field, never the value (a whole history); a record already stored is queried by the soft edit check
HISTORY-DATE naming the entry and key. The one form (`cartrial.neuro.tables.HISTORY_DATE_RE`): ``YYYY``,
``YYYY-MM`` or ``YYYY-MM-DD`` (ISO 8601 right truncation, SDTMIG v3.4 §4.4.2), an unknown month or day
written ``UN``, a complete date optionally followed by a valid ISO 8601 time.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cartrial.neuro.tables import history_date_faults
from cartrial.store.edit_checks import Record, SubjectRecords, run_edit_checks
from cartrial.store.fields import validate_record

SUBJECT = {"subject_id": "CT-900", "site_id": "TJH", "consent_date": dt.date(2021, 4, 1)}
NO_DATES = (
    "2019-07-15-03",  # a fourth part: was read as the year 2019
    "2019--07-01",  # an empty month: was read as the year 2019
    "2019-07-01Tgarbage",  # no time after the T: was read as 2019-07-01
    "2019-07-01T25:00",  # no hour 25: was read as 2019-07-01
    "2019-07-UNT10:00",  # a time after a partial date
    "2019/07/01",
    "2019-13",
    "2019-02-30",
    "July 2019",
)
DATES = (
    "2019",
    "2019-07",
    "2019-07-UN",
    "2019-UN-UN",
    "2019-07-01",
    "2019-07-01T02:00+08:00",
    "2019-07-01T23:59:59Z",
)


@pytest.mark.parametrize("bad", NO_DATES)
@pytest.mark.parametrize(
    ("column", "key"), [("treatment_history", "stopped_on"), ("relapse_history", "onset_date")]
)
def test_a_history_date_that_is_no_date_is_refused_by_field_without_its_value(
    bad: str, column: str, key: str
) -> None:
    history = [{"drug": "rituximab", "phenotype": "myelitis", key: "2019-03"}, {"drug": "x", key: bad}]
    problems = validate_record("subject", SUBJECT | {column: json.dumps(history)}, protocol=None)
    assert [p.field for p in problems] == [column]
    (problem,) = problems
    assert problem.value is None
    assert bad not in str(problem) and "rituximab" not in str(problem)
    assert "YYYY-MM-DD" in str(problem.allowed) and key in str(problem.allowed)


@pytest.mark.parametrize("good", DATES)
def test_a_history_date_of_the_one_form_is_accepted(good: str) -> None:
    history = json.dumps([{"drug": "rituximab", "started_on": good, "stopped_on": ""}])
    relapses = json.dumps([{"onset_date": good, "phenotype": "myelitis"}])
    values = SUBJECT | {"treatment_history": history, "relapse_history": relapses}
    assert validate_record("subject", values, protocol=None) == []


def test_a_stored_history_date_that_is_no_date_is_queried_by_entry_and_key() -> None:
    history = [{"onset_date": "2019-07"}, {"onset_date": "2019--07-01"}]
    # a stored subject whose history an earlier release accepted, written again (another field edited: the
    # partial write checks the fields given, so the store rule does not run; the data query does)
    subject = Record("subject", SUBJECT | {"relapse_history": history}, new=True, record_id=7)
    findings = run_edit_checks([SubjectRecords("CT-900", {"subject": [subject]})], None, dt.date(2026, 1, 1))
    (finding,) = [f for f in findings if f.check.id == "HISTORY-DATE"]
    assert finding.check.severity.value == "soft"
    assert finding.field == "relapse_history" and finding.value is None
    assert "entry 2: onset_date" in finding.message and "2019--07-01" not in finding.message
    assert history_date_faults(history, "relapse_history") == [(2, "onset_date")]
