"""ADSL.FUPDUR ends at the end of follow-up, not at the cut-off for every subject: a death or a dated
withdrawal / completion ends it (analysis populations `follow_up_ends`, D-19.92, D-19.261), an undated end at
the last contact; only a subject on study is followed to the cut-off (TS DCUTDTC). Expected values come
from the ADSL/DM dates (TRTSDT, EOSDT, DTHDTC, RFPENDTC) and the cut-off, not from the code under test
(review: verified on the code as it was, one derivation; no rule change)."""

from __future__ import annotations

import datetime as dt

from tests.cdisc.conftest import CUTOFF
from tests.cdisc.test_cdisc_disposition import _frames


def test_fupdur_ends_at_death_withdrawal_or_last_contact(exported) -> None:  # type: ignore[no-untyped-def]
    death = {
        "subject_id": "CT-003",
        "term": "Death NOS",
        "category": "death",
        "started_on": "2021-06-18",
        "ended_on": "2021-06-18",
        "grade": "5",
        "outcome": "fatal",
        "record_id": "999999",
    }
    frames = _frames(
        exported,
        {"CT-001": ("withdrawn: moved abroad", "2021-12-01"), "CT-004": ("lost", "")},
        [death],
    )
    adsl = frames["ADSL"].set_index("SUBJID")
    dm = frames["DM"].set_index("SUBJID")

    def days(sid: str, end: dt.date) -> float:
        return float((end - adsl.loc[sid, "TRTSDT"]).days)

    assert adsl.loc["CT-001", "FUPDUR"] == days("CT-001", dt.date(2021, 12, 1))  # the withdrawal
    assert adsl.loc["CT-003", "FUPDUR"] == days("CT-003", dt.date(2021, 6, 18))  # the death
    last = dt.date.fromisoformat(str(dm.loc["CT-004", "RFPENDTC"])[:10])
    assert adsl.loc["CT-004", "FUPDUR"] == days("CT-004", last)  # undated loss: the last contact
    on_study = adsl[adsl["EOSSTT"] == "ONGOING"]
    assert len(on_study)
    for sid in on_study.index:
        assert on_study.loc[sid, "FUPDUR"] == days(str(sid), CUTOFF)  # potential follow-up to the cut-off
    assert adsl.loc["CT-001", "FUPDUR"] < days("CT-001", CUTOFF)
