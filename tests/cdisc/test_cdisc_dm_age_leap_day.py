"""DM.AGE is the age at consent in completed years by the screening's one rule (D-19.1016).

DM computed AGE with its own formula (a birthday is reached when (month, day) is reached): a subject born on
29 February 1964 who consented on 28 February 2021 had AGE 56, while the screening
(`cartrial.protocol.completed_years`; the project's convention D-19.722, as dateutil's `relativedelta` and
SAS INTNX 'SAMEDAY': the anniversary of 29 February is 28 February in a common year) counts 57 on that day.
(admiral's `derive_vars_aage` and lubridate's `time_length` reach that birthday on 1 March and say 56; the
project's rule is D-19.722's, D-19.1016.) By hand: 2021 − 1964 = 57, the 2021 anniversary being
28 February.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from cartrial.protocol import completed_years

NEW = "CT-098"


def test_dm_age_of_a_29_february_birthday(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all

    subjects = exported.snapshot.tables["subjects"]
    row = subjects.iloc[0].to_dict() | {
        "subject_id": NEW,
        "screening_number": "S-098",
        "record_id": "999997",
        "birth_date": "1964-02-29",
        "birth_year": None,
        "consent_date": "2021-02-28",
    }
    tables = {
        **exported.snapshot.tables,
        "subjects": pd.concat([subjects, pd.DataFrame([row])], ignore_index=True),
    }
    frames = build_all(
        dataclasses.replace(exported.snapshot, tables=tables),
        analyse(dataclasses.replace(exported.snapshot, tables=tables)),
        {"TJH": "China"},
    )
    dm = frames["DM"].set_index("SUBJID")
    assert completed_years(dt.date(1964, 2, 29), dt.date(2021, 2, 28)) == 57
    assert dm.loc[NEW, "AGE"] == 57.0
    assert dm.loc[NEW, "AGEU"] == "YEARS"
