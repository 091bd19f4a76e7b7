"""Both eyes are paired per day on the site's calendar (D-19.778), so one table must give each subject's eye
once a day, and a pre-built acuity table keeps the calendar it was read on.

Hand: New York is UTC-4 in June. OD typed ``2021-06-01`` and OD ``2021-06-01T21:00-04:00`` (01:00Z on 2
June) are different instants but the same site day, 1 June: the second row overwrote the first in the
pairing, silently. An acuity table read with UTC (no zones) handed to an engine with New York zones paired
eyes on one calendar and the EDSS visit on another.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cartrial.columns import RowProblems
from cartrial.errors import InputError
from cartrial.neuro import derive_edss, derive_visual_acuity
from cartrial.neuro.edss_scale import FS_NAMES
from cartrial.neuro.tables import parse_va_table

ZONES = {"S1": "America/New_York"}


def _acuity() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": ["S1", "S1", "S1"],
            "assessed_at": ["2021-06-01", "2021-06-01", "2021-06-01T21:00:00-04:00"],
            "eye": ["OD", "OS", "OD"],
            "acuity": ["0.0", "0.0", "1.0"],
            "notation": ["logmar", "logmar", "logmar"],
        }
    )


def test_a_repeated_eye_on_one_site_day_is_a_located_problem() -> None:
    problems = RowProblems("va.csv")
    parse_va_table(_acuity(), problems, zones=ZONES)
    found = [(p.row, p.field, p.message) for p in problems.all()]
    assert len(found) == 1, found
    row, field, message = found[0]
    # the third data row (file row 4) names the first (file row 2), and no value
    assert (row, field) == (4, "assessed_at")
    assert "row 2" in message and "same eye" in message
    assert "1.0" not in message and "21:00" not in message
    with pytest.raises(InputError, match="row 2"):
        derive_visual_acuity(_acuity(), zones=ZONES)


def test_a_prebuilt_acuity_table_read_on_another_calendar_is_refused() -> None:
    acuity = _acuity().iloc[:2]
    table = parse_va_table(acuity, RowProblems("va.csv"))  # UTC: no zones
    edss = pd.DataFrame(
        [{"subject_id": "S1", "assessed_at": "2021-06-01", **dict.fromkeys(FS_NAMES, "0"), "ambulation": "0"}]
    )
    edss["visual"] = ""
    with pytest.raises(InputError, match="other site time zones"):
        derive_edss(edss, visual_acuity=table, zones=ZONES)
    # read with the same zones it is used as given: both eyes 0.0 logMAR, visual FS 0
    same = parse_va_table(acuity, RowProblems("va.csv"), zones=ZONES)
    assert float(derive_edss(edss, visual_acuity=same, zones=ZONES).table["visual"].iloc[0]) == 0.0
