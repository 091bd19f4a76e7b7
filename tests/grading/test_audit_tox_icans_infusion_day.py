"""An ICANS assessment dated without a time on the infusion day (audit of toxicity-grading.md §2).

ASTCT 2019 ICANS (Lee DW et al., BBMT 2019;25:625-638; PMC9327779 Table 2; toxicity-grading.md §2.2): the
grade is the most severe domain; the illustrative example of §2.2, ICE 6/10 and awakening spontaneously, is
ICE grade 2, consciousness grade 1, so ICANS grade 2. Episodes open from day 0, the infusion's date on the
site's calendar (`derive_icans_episodes`). FIELDS.md allows ``assessed_at`` as a date without a time, which is
that whole date on the site's clock (D-19.947, D-19.1347): on the infusion's date it may follow the infusion,
so it is on day 0, not before the infusion, exactly as a CRS assessment so dated (D-19.1372). Expected values
by hand from the ASTCT table, never from the code under test.
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
from cartrial.grading.crs import OxygenDevice
from cartrial.grading.legacy import (
    LegacyObservation,
    LegacyScale,
    VasopressorDoses,
    grade_legacy_crs,
    is_high_dose,
)

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


AGENTS = ("norepinephrine_ug_min", "dopamine_ug_kg_min", "phenylephrine_ug_min", "epinephrine_ug_min")


@settings(max_examples=property_examples(200), deadline=None)
@given(
    st.lists(st.floats(0, 400), min_size=4, max_size=4),
    st.booleans(),
    st.integers(0, 3),
    st.floats(0, 400),
)
def test_raising_a_given_vasopressor_dose_never_ends_high_dose(
    doses: list[float], vasopressin: bool, which: int, extra: float
) -> None:
    """Property of Lee 2014 "high-dose vasopressor" (toxicity-grading.md §3.2: single-agent thresholds, NE-
    equivalent = NE + dopamine/2 + adrenaline + phenylephrine/10 against 10 µg/min with vasopressin, 20 µg/min
    for a combination): with the same agents given, a higher dose of one of them is never a lower dose class.
    (Adding an agent changes the regime and is not covered: adrenaline 10 µg/min alone is high dose, with 0.1
    µg/min noradrenaline added the combination's NE-equivalent 10.1 is below 20 — the table as stated.)"""
    if doses[which] == 0.0:
        doses[which] = 1.0  # raise an agent that is given, so the set of agents is the same
    before = VasopressorDoses(**dict(zip(AGENTS, doses, strict=True)), vasopressin=vasopressin)
    raised = list(doses)
    raised[which] += extra
    after = VasopressorDoses(**dict(zip(AGENTS, raised, strict=True)), vasopressin=vasopressin)
    assert is_high_dose(after) >= is_high_dose(before)


@settings(max_examples=property_examples(200), deadline=None)
@given(
    st.sampled_from(list(LegacyScale)),
    st.sampled_from([OxygenDevice.NASAL_CANNULA, OxygenDevice.FACEMASK, OxygenDevice.NON_REBREATHER]),
    st.floats(21, 100),
    st.floats(21, 100),
    st.floats(36, 41),
)
def test_a_higher_fio2_never_lowers_the_legacy_crs_grade(
    scale: LegacyScale, device: OxygenDevice, a: float, b: float, temperature_c: float
) -> None:
    """Property of Lee 2014 / CARTOX (toxicity-grading.md §3.1): oxygen with FiO2 < 40% is grade 2,
    ≥ 40% grade 3, so with everything else the same a higher FiO2 never gives a lower grade; the 40% cut
    itself: 39.99 is grade 2, 40 grade 3."""
    low, high = sorted((a, b))

    def grade(fio2: float) -> int | None:
        obs = LegacyObservation(
            temperature_c=temperature_c,
            hypotension=False,
            vasopressors=0,
            vasopressin=False,
            oxygen=device,
            fio2_pct=fio2,
            organ_toxicity_grade=0,
            transaminase_grade=0,
            life_threatening_hypotension=False,
        )
        return grade_legacy_crs(obs, scale).grade

    g_low, g_high = grade(low), grade(high)
    assert g_low is not None and g_high is not None
    assert g_high >= g_low
    assert (grade(39.99), grade(40.0)) == (2, 3)
