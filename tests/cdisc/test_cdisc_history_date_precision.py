"""A history date is written at date precision, the date the analysis reads (D-19.1220), and a history that
is no JSON list of entries is refused by record and field at the export (D-19.1218).

D-19.1215 wrote a complete history date as entered: ``2019-07-01T02:00`` went into MHSTDTC without an offset
for a subject whose other dates carry ``+08:00`` (D-19.607: one style per subject), and
``2019-07-01T02:00:00`` kept the zero seconds `dtc` drops. The analysis reads only the date
(`neuro.tables.onset_period`), so the export writes only the date: one style, no clock. A history whose text
is no JSON (or a JSON scalar) stopped the export with a bare JSONDecodeError or TypeError (a traceback);
it is now an InputError naming the subject record and the history, never the text."""

from __future__ import annotations

import dataclasses
import json

import pytest

from cartrial.cdisc.sdtm import history_dtc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-07-01T02:00+08:00", "2019-07-01"),
        ("2019-07-01T02:00", "2019-07-01"),
        ("2019-07-01T02:00:00", "2019-07-01"),
        ("2019-07-01T23:30Z", "2019-07-01"),  # the date written, not converted to another clock (D-19.1215)
        ("2019-07-01", "2019-07-01"),
    ],
)
def test_a_complete_history_date_is_written_at_date_precision(text: str, expected: str) -> None:
    assert history_dtc(text) == expected


def test_a_date_and_time_apart_by_a_space_is_refused() -> None:
    """``2019-07-01 10:00`` is no ISO 8601 date-time (the T is required): refused since D-19.1214, where it
    used to be written as 2019-07-01."""
    with pytest.raises(ValueError):
        history_dtc("2019-07-01 10:00")


def _build(exported, sid: str, column: str, text: str):  # type: ignore[no-untyped-def]
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all

    tables = dict(exported.snapshot.tables)
    subjects = tables["subjects"].copy()
    subjects.loc[subjects["subject_id"] == sid, column] = text
    tables["subjects"] = subjects
    snapshot = dataclasses.replace(exported.snapshot, tables=tables)
    return build_all(snapshot, analyse(snapshot), {"TJH": "China"})


def test_a_history_time_is_not_written_in_mh(exported) -> None:  # type: ignore[no-untyped-def]
    text = json.dumps([{"onset_date": "2018-05-03T02:00:00", "phenotype": "myelitis"}])
    frames = _build(exported, "CT-001", "relapse_history", text)
    usubjid = frames["DM"].set_index("SUBJID").loc["CT-001", "USUBJID"]
    mh = frames["MH"][(frames["MH"]["USUBJID"] == usubjid) & (frames["MH"]["MHSPID"] == "HISTORY")]
    assert mh["MHSTDTC"].tolist() == ["2018-05-03"]


@pytest.mark.parametrize(
    ("column", "text"),
    [
        ("relapse_history", '[{"onset_date": "2018-05-03"'),
        ("treatment_history", '"rituximab 2019"'),
        ("relapse_history", "5"),
    ],
)
def test_a_history_that_is_no_list_of_entries_is_refused_by_record_and_field(  # type: ignore[no-untyped-def]
    exported, column: str, text: str
) -> None:
    from cartrial.errors import InputError

    with pytest.raises(InputError) as caught:
        _build(exported, "CT-002", column, text)
    records = exported.snapshot.tables["subjects"].set_index("subject_id")["record_id"]
    (problem,) = caught.value.problems
    assert (problem.record, problem.field) == (f"subject record {records['CT-002']}", column)
    assert problem.value is None and text not in str(caught.value) and "rituximab" not in str(caught.value)
    assert problem.allowed is not None and "JSON" in problem.allowed
