"""D-19.860: the day-0 assessments of a virtual patient were timed by wall-clock arithmetic on the site's
clock (`study.assessment_time`), which ignores a DST change: on a spring-forward day a baseline lab one hour
before an infusion at 02:20 BST (Europe/London, 2021-03-28) was 01:20 local, a time in the gap read as
01:20 GMT, the infusion instant itself, not before it (America/Havana, 2021-03-14 01:20 CDT likewise). The
gap arithmetic is now on elapsed (UTC) time. The rule (D-19.856): on the infusion's site day the baseline
lab is strictly before the infusion instant and CRS/ICANS monitoring strictly after it, all on that day."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from cartrial.simulation.study import HOURS, assessment_time

TRANSITIONS = [
    ("Europe/London", dt.date(2021, 3, 28)),  # 01:00 GMT → 02:00 BST
    ("Europe/London", dt.date(2021, 10, 31)),  # 02:00 BST → 01:00 GMT
    ("America/Havana", dt.date(2021, 3, 14)),  # 00:00 CST → 01:00 CDT
    ("America/Havana", dt.date(2021, 11, 7)),  # 01:00 CDT → 00:00 CST
]
TIMES = [dt.time(0, 5), dt.time(23, 55), dt.time(1, 20), dt.time(2, 20), dt.time(7, 0), dt.time(11, 30)]


def _instant(zone: str, day: dt.date, at: dt.time) -> dt.datetime:
    """The site's wall time `at` on `day` as a real instant on the site's clock (a time in a gap: the first
    instant after it)."""
    tz = zoneinfo.ZoneInfo(zone)
    return dt.datetime.combine(day, at, tzinfo=tz).astimezone(dt.UTC).astimezone(tz)


@pytest.mark.parametrize(("zone", "day"), TRANSITIONS)
@pytest.mark.parametrize("at", TIMES)
def test_day0_assessments_are_on_the_right_side_of_the_infusion(zone: str, day: dt.date, at: dt.time) -> None:
    infused = _instant(zone, day, at)
    site_day = infused.date()
    utc = infused.astimezone(dt.UTC)
    lab = assessment_time(infused, 0, HOURS["labs"], pre_infusion=True)
    assert lab.astimezone(dt.UTC) < utc
    assert lab.astimezone(zoneinfo.ZoneInfo(zone)).date() == site_day
    for hour in (HOURS["crs"], HOURS["icans"]):
        after = assessment_time(infused, 0, hour)
        assert after.astimezone(dt.UTC) > utc
        assert after.astimezone(zoneinfo.ZoneInfo(zone)).date() == site_day
    # a later study day is the site date + k at the assessment's hour
    later = assessment_time(infused, 2, HOURS["crs"]).astimezone(zoneinfo.ZoneInfo(zone))
    assert later.date() == site_day + dt.timedelta(days=2)
    assert later.time() == dt.time(HOURS["crs"])


@pytest.mark.parametrize(
    ("zone", "wall"),
    [("Europe/London", dt.datetime(2021, 3, 28, 2, 20)), ("America/Havana", dt.datetime(2021, 3, 14, 1, 20))],
)
def test_the_reviewers_spring_forward_infusions(zone: str, wall: dt.datetime) -> None:
    infused = _instant(zone, wall.date(), wall.time())
    assert infused.replace(tzinfo=None) == wall  # a real time, just after the gap
    lab = assessment_time(infused, 0, HOURS["labs"], pre_infusion=True)
    assert lab.astimezone(dt.UTC) < infused.astimezone(dt.UTC)
