"""A date of the subject form's treatment or relapse history that is no ISO 8601 date (D-19.1212).

The store keeps ``subjects.treatment_history`` and ``relapse_history`` as free JSON (FIELDS.md: "JSON list
or object"), so an entry's ``started_on``/``stopped_on``/``onset_date`` can be any text. The export wrote
it into CM.CMSTDTC/CMENDTC and MH.MHSTDTC and then read it as a date: ``2019/03/01`` stopped the export with
a bare ValueError whose message quoted the stored text (``Invalid isoformat string: '2019/03/01'``), naming
no record nor field; ``2019-13`` (no month 13) was written as is into CMSTDTC. Now such a date is refused
with an InputError naming the subject record, the history and the entry's key and what is allowed (an ISO
8601 date, complete or right-truncated: SDTMIG v3.4 §4.4.2), never the stored text (D-12.2); every such
date of the study at once. A right-truncated date (``2019-03``) stays a valid partial --STDTC, and a date
with an unknown part the analysis reads (``2018-05-UN``: May 2018, `cartrial.neuro.tables.onset_period`,
D-19.711) is written right-truncated (``2018-05``), never with the ``UN`` ISO 8601 does not have.
"""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

BAD = ("2019/03/01", "March 2019", "2019-13", "2019-02-30")


def _build(exported, histories: dict[str, dict[str, list[dict[str, str]]]]):  # type: ignore[no-untyped-def]
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all

    tables = dict(exported.snapshot.tables)
    subjects = tables["subjects"].copy()
    for sid, columns in histories.items():
        for column, items in columns.items():
            subjects.loc[subjects["subject_id"] == sid, column] = json.dumps(items)
    tables["subjects"] = subjects
    snapshot = dataclasses.replace(exported.snapshot, tables=tables)
    return build_all(snapshot, analyse(snapshot), {"TJH": "China"}), subjects


@pytest.mark.parametrize("bad", BAD)
def test_a_history_date_that_is_no_iso_date_is_refused_by_record_and_field(exported, bad: str) -> None:  # type: ignore[no-untyped-def]
    from cartrial.errors import InputError

    histories = {
        "CT-001": {"treatment_history": [{"drug": "rituximab", "started_on": "2019-03", "stopped_on": bad}]},
        "CT-002": {"relapse_history": [{"onset_date": "2018-05-01", "phenotype": "myelitis"},
                                       {"onset_date": bad, "phenotype": "optic_neuritis"}]},
    }  # fmt: skip
    with pytest.raises(InputError) as caught:
        _build(exported, histories)
    text = str(caught.value)
    assert bad not in text  # never the stored text (D-12.2)
    records = exported.snapshot.tables["subjects"].set_index("subject_id")["record_id"]
    problems = caught.value.problems
    assert len(problems) == 2  # every such date at once
    located = {(p.record, p.field) for p in problems}
    assert located == {
        (f"subject record {records['CT-001']}", "treatment_history (entry 1): stopped_on"),
        (f"subject record {records['CT-002']}", "relapse_history (entry 2): onset_date"),
    }
    for p in problems:
        assert p.allowed is not None and "YYYY-MM-DD" in p.allowed and "YYYY-MM" in p.allowed


def test_right_truncated_and_complete_history_dates_are_written_as_recorded(exported) -> None:  # type: ignore[no-untyped-def]
    histories = {
        "CT-001": {
            "treatment_history": [{"drug": "rituximab", "started_on": "2019", "stopped_on": "2020-01-05"}],
            "relapse_history": [
                {"onset_date": "2018-05", "phenotype": "myelitis"},
                {"onset_date": "2017-03-UN", "phenotype": "myelitis"},
                {"onset_date": "2016-UN-UN", "phenotype": "optic_neuritis"},
            ],
        }
    }
    frames, _ = _build(exported, histories)
    usubjid = frames["DM"].set_index("SUBJID").loc["CT-001", "USUBJID"]
    cm = frames["CM"][(frames["CM"]["USUBJID"] == usubjid) & (frames["CM"]["CMTRT"] == "RITUXIMAB")]
    assert cm[["CMSTDTC", "CMENDTC"]].to_numpy().tolist() == [["2019", "2020-01-05"]]
    assert pd.isna(cm["CMSTDY"].iloc[0])  # a partial date has no study day
    # 2020-01-05 is 366 + 112 = 478 days before the infusion on 2021-04-27: day -478 (no day 0, no + 1 before)
    assert cm["CMENDY"].tolist() == [-478.0]
    mh = frames["MH"][(frames["MH"]["USUBJID"] == usubjid) & (frames["MH"]["MHSPID"] == "HISTORY")]
    assert sorted(mh["MHSTDTC"].tolist()) == ["2016", "2017-03", "2018-05"]
