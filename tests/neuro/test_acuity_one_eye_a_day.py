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


def _refused_repeat() -> pd.DataFrame:
    # hand: OD 0.0 at 09:00, OS 0.0 at 09:05, OD 1.3 at 11:00 the same UTC day: the third row is refused (the
    # same eye twice a day), so both eyes are 0.0 logMAR: visual FS 0 (docs/science/neuro-outcomes.md §1.2:
    # acuity better than 20/30 in both eyes); with the refused 1.3 (worse than 20/200) it would be 5
    return pd.DataFrame(
        {
            "subject_id": ["S1", "S1", "S1"],
            "assessed_at": ["2021-06-01T09:00:00Z", "2021-06-01T09:05:00Z", "2021-06-01T11:00:00Z"],
            "eye": ["OD", "OS", "OD"],
            "acuity": ["0.0", "0.0", "1.3"],
            "notation": ["logmar", "logmar", "logmar"],
        }
    )


def test_a_refused_repeated_eye_does_not_feed_the_pairing_under_keep_going() -> None:
    result = derive_visual_acuity(_refused_repeat(), keep_going=True)
    assert result.table["visual_fs_from_acuity"].tolist()[:2] == [0, 0]
    assert pd.isna(result.table["visual_fs_from_acuity"].tolist()[2])
    assert [(p.row, p.field) for p in result.problems] == [(4, "assessed_at")]


def test_derive_edss_passes_the_acuity_problems_on_under_keep_going() -> None:
    edss = pd.DataFrame(
        [{"subject_id": "S1", "assessed_at": "2021-06-01T10:00:00Z", **dict.fromkeys(FS_NAMES, "0")}]
    )
    edss["ambulation"] = "0"
    edss["visual"] = ""
    result = derive_edss(edss, visual_acuity=_refused_repeat(), keep_going=True)
    assert result.table["visual"].tolist() == ["0"]
    assert [(p.file, p.row, p.field) for p in result.problems] == [("visual_acuity", 4, "assessed_at")]


def test_the_repeated_eye_problem_shows_no_empty_value() -> None:
    problems = RowProblems("va.csv")
    parse_va_table(_acuity(), problems, zones=ZONES)
    (problem,) = problems.all()
    assert problem.value is None
    assert "(got" not in str(problem)


def test_a_prebuilt_table_is_compared_on_its_own_subjects_and_a_blank_zone_is_utc() -> None:
    # the table has S1 only, read in New York; the engine's zones add S2 (another site) and give S1 the same
    # zone: the same calendar for every subject of the table, so accepted. A table read without zones and an
    # engine told S1 is "" (blank: UTC) is the same calendar too.
    acuity = _acuity().iloc[:2]
    edss = pd.DataFrame(
        [{"subject_id": "S1", "assessed_at": "2021-06-01", **dict.fromkeys(FS_NAMES, "0"), "ambulation": "0"}]
    )
    edss["visual"] = ""
    ny = parse_va_table(acuity, RowProblems("va.csv"), zones=ZONES)
    wider = {**ZONES, "S2": "Asia/Shanghai"}
    assert derive_edss(edss, visual_acuity=ny, zones=wider).table["visual"].tolist() == ["0"]
    utc = parse_va_table(acuity, RowProblems("va.csv"))
    assert derive_edss(edss, visual_acuity=utc, zones={"S1": ""}).table["visual"].tolist() == ["0"]
