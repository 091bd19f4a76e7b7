"""An ICANS assessment dated without a time on the infusion day (audit of toxicity-grading.md §2).

ASTCT 2019 ICANS (Lee DW et al., BBMT 2019;25:625-638; PMC9327779 Table 2; toxicity-grading.md §2.2): the
grade is the most severe domain; the illustrative example of §2.2, ICE 6/10 and awakening spontaneously, is
ICE grade 2, consciousness grade 1, so ICANS grade 2. Episodes open from the infusion instant
(`derive_icans_episodes`): an assessment timed before it, even on the infusion's site day, stays out.
FIELDS.md allows ``assessed_at`` as a date without a time, which is that whole date on the site's clock
(D-19.947, D-19.1347): on the infusion's site-calendar date it may follow the infusion, so where it would fall
before the infusion instant it is taken at that instant (day 0), not before it, exactly as a CRS assessment so
dated (D-19.1372). Expected values by hand from the ASTCT table, never from the code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.grading import derive_graded_events, derive_icans_episodes

CASES = [
    # UTC site: infusion 02:00; the date typed without a time is the infusion's date
    ("", "2021-06-01T02:00:00Z", "2021-06-01", "2021-05-31"),
    # east of UTC (Shanghai, +08:00): infusion 10:00 local on 1 June
    ("Asia/Shanghai", "2021-06-01T02:00:00Z", "2021-06-01", "2021-05-31"),
    # west of UTC (Los Angeles, -07:00): infusion 18:00 local on 1 June, already 2 June in UTC
    ("America/Los_Angeles", "2021-06-02T01:00:00Z", "2021-06-01", "2021-05-31"),
]


def _frame(assessed_at: str) -> pd.DataFrame:
    # ICE 6/10, awakens spontaneously: ASTCT ICANS grade 2 (§2.2 example)
    return pd.DataFrame(
        {
            "subject_id": ["S1"],
            "assessed_at": [assessed_at],
            "consciousness": ["awakens_spontaneously"],
            "seizure": ["none"],
            "motor": ["none"],
            "cerebral_edema": ["none"],
            "ice_total": [6],
        }
    )


@pytest.mark.parametrize(("zone", "infused_at", "same_day", "day_before"), CASES)
def test_an_icans_date_typed_without_a_time_on_the_infusion_day_opens_an_episode(
    zone: str, infused_at: str, same_day: str, day_before: str
) -> None:
    infusions = pd.DataFrame({"subject_id": ["S1"], "infused_at": [infused_at], "time_zone": [zone]})
    table = derive_icans_episodes(_frame(same_day), infusions).table
    assert table["episode"].tolist() == [1], zone
    assert table["max_grade"].tolist() == [2]
    assert table["onset_day"].tolist() == [0.0]  # at the infusion: its time on that day is unknown
    # the graded events (DLT input) read the same episode
    events = derive_graded_events(infusions, icans=_frame(same_day)).table
    assert events[["category", "grade", "onset_day"]].values.tolist() == [["icans", 2, 0.0]]


@pytest.mark.parametrize(("zone", "infused_at", "same_day", "day_before"), CASES)
def test_an_icans_assessment_before_the_infusion_day_or_timed_before_it_opens_none(
    zone: str, infused_at: str, same_day: str, day_before: str
) -> None:
    # the site's day before the infusion, and a time typed before the infusion, stay before it: no episode
    infusions = pd.DataFrame({"subject_id": ["S1"], "infused_at": [infused_at], "time_zone": [zone]})
    timed_before = (pd.Timestamp(infused_at) - pd.Timedelta(minutes=90)).isoformat()  # never 00:00:00Z
    for assessed_at in (day_before, timed_before):
        table = derive_icans_episodes(_frame(assessed_at), infusions).table
        assert table["episode"].tolist() == [0], (zone, assessed_at)
        assert table["max_grade"].tolist() == [0]


@settings(max_examples=property_examples(60), deadline=None)
@given(
    st.sampled_from(["", "Asia/Shanghai", "America/Los_Angeles", "Pacific/Auckland", "Europe/London"]),
    st.integers(0, 23 * 60 + 59),
)
def test_a_date_only_icans_row_on_the_site_infusion_date_is_on_day_0(zone: str, minute: int) -> None:
    """Property: whatever the infusion's site time, an ICANS grade-2 assessment (§2.2 example) dated without a
    time on the infusion's site-calendar date opens an episode on day 0 (grade 2, onset within the infusion's
    site day: east of UTC such a date stays at 00:00Z, D-19.947, which may follow an infusion early that
    day)."""
    tz = ZoneInfo(zone) if zone else UTC
    local = datetime(2021, 6, 1, tzinfo=tz) + timedelta(minutes=minute)
    infused_at = local.astimezone(UTC).isoformat()
    infusions = pd.DataFrame({"subject_id": ["S1"], "infused_at": [infused_at], "time_zone": [zone]})
    table = derive_icans_episodes(_frame("2021-06-01"), infusions).table
    assert table[["episode", "max_grade"]].values.tolist() == [[1, 2]]
    assert 0.0 <= float(table["onset_day"].iloc[0]) < 1.0
