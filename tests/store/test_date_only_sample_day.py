"""SAMPLE-DAY-MISMATCH on a PK sample whose ``sampled_at`` is a date typed without a time (D-19.1347).

Before: the check (`_sample_day_mismatch`) and the import's pre-filter (`_day_mismatch_rows`) compared
``actual_day`` with the stored 00:00:00Z instant whatever the site's zone. With the example's site in
America/New_York, CT-002 infused 2021-05-18T02:30Z (22:30 EDT on 17 May) and a sample typed as the date
2021-05-18 with actual_day 0.89 (19:51 EDT on 18 May, the date typed) was queried: 00:00Z is −0.104 days.
A sample typed 2021-05-18 with actual_day −0.5 (17 May, local) was not, though 18 May on the New York
clock runs from 0.0625 to 1.0625 days after the infusion.

Expected (D-19.947, D-19.1342): a date without a time is any moment of that date on the site's clock, from
its 00:00 to the next day's 00:00 (local), counted from the infusion; the check's tolerance (0.5 day)
around that span. East of UTC 00:00:00Z is a real time (08:00 in Shanghai) and is compared as before."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.commands.store_commands import parse_assignments
from cartrial.store import StudyService, connect
from cartrial.store.edit_checks import Record, SubjectRecords, _day_mismatch_rows, _sample_day_mismatch
from cartrial.store.importing import import_templates

from .test_death_checks import small_study
from .test_store_data_quality import PK_HEADER, located, system_queries

INFUSED = dt.datetime(2021, 5, 18, 2, 30, tzinfo=dt.UTC)
"""CT-002's infusion in the example study (22:30 EDT on 17 May in New York, 10:30 CST in Shanghai)."""
CASES = [
    ("America/New_York", 0.89, False),  # 19:51 EDT on 18 May: inside the date typed
    ("America/New_York", -0.5, True),  # 17 May local: 0.56 day before 18 May 00:00 EDT
    ("Asia/Shanghai", 0.89, True),  # 00:00Z is 08:00 CST, a real time 0.10 day before the infusion
]


def _sample(actual: float, sampled_at: str) -> str:
    where = f"CT-002,car_transgene,ddPCR,peripheral_blood,{round(actual)},{actual},{sampled_at}"
    return f"{where},120,copies/ug gDNA,50,false"


def _study_at(url: str, folder: Path, zone: str) -> StudyService:
    """The example's sites, subjects and infusions imported, then its site's zone edited to `zone` (as
    ``db edit site 1 --set time_zone=...``)."""
    import_templates(url, small_study(folder), "admin")
    service = StudyService(connect(url))
    (site,) = service.find_records("admin", "site")
    service.update_record("admin", "site", int(site["id"]), {"time_zone": zone}, int(site["version"]), "zone")
    return service


@pytest.mark.parametrize(("zone", "actual", "queried"), CASES)
def test_a_date_only_sample_imported_is_compared_with_its_date_on_the_site_clock(
    empty_study_url: str, tmp_path: Path, zone: str, actual: float, queried: bool
) -> None:
    """The bulk import: the pre-filter and the check both read the subject's site zone."""
    _study_at(empty_study_url, tmp_path / "in", zone)
    folder = tmp_path / "pk"
    folder.mkdir()
    (folder / "pk_samples.csv").write_text(f"{PK_HEADER}\n{_sample(actual, '2021-05-18')}\n", "utf-8")
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    expected = [("pk_samples.csv", 2, "actual_day")] if queried else []
    assert located(planned, "SAMPLE-DAY-MISMATCH") == expected


@pytest.mark.parametrize(("zone", "actual", "queried"), CASES)
def test_a_sample_edited_to_a_date_only_is_compared_with_its_date_on_the_site_clock(
    empty_study_url: str, tmp_path: Path, zone: str, actual: float, queried: bool
) -> None:
    """The single-record edit (``db edit pk_sample N --set sampled_at=2021-05-18``): a sample stored with
    its time (consistent, no query) edited to the date alone."""
    service = _study_at(empty_study_url, tmp_path / "in", zone)
    timed = (INFUSED + dt.timedelta(days=actual)).strftime("%Y-%m-%dT%H:%M:%SZ")
    folder = tmp_path / "pk"
    folder.mkdir()
    (folder / "pk_samples.csv").write_text(f"{PK_HEADER}\n{_sample(actual, timed)}\n", "utf-8")
    import_templates(empty_study_url, folder, "admin")
    assert system_queries(empty_study_url, "SAMPLE-DAY-MISMATCH") == []
    (sample,) = service.find_records("admin", "pk_sample", subject_id="CT-002")
    changes = parse_assignments(service, "pk_sample", ["sampled_at=2021-05-18"])  # as `db edit` reads it
    service.update_record("admin", "pk_sample", int(sample["id"]), changes, int(sample["version"]), "date")
    assert len(system_queries(empty_study_url, "SAMPLE-DAY-MISMATCH")) == (1 if queried else 0)


ZONES = [
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "Asia/Shanghai",
    "Pacific/Kiritimati",
]


@settings(max_examples=property_examples(200), deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    infused_at=st.datetimes(dt.datetime(2021, 1, 1), dt.datetime(2021, 12, 31), timezones=st.just(dt.UTC)),
    offset_h=st.integers(-72, 72),
    midnight=st.booleans(),
    actual=st.floats(-5, 5, allow_nan=False),
)
def test_the_import_pre_filter_keeps_every_row_the_check_queries(
    zone: str, infused_at: dt.datetime, offset_h: int, midnight: bool, actual: float
) -> None:
    """The pre-filter of a large import (`_day_mismatch_rows`) keeps every sample row the check
    (`_sample_day_mismatch`) queries, with the subject's zone, a date-only 00:00:00Z and DST changes
    included (the rows it drops never reach the check)."""
    moment = infused_at + dt.timedelta(hours=offset_h)
    if midnight:
        moment = dt.datetime.combine(moment.date(), dt.time(0), dt.UTC)
    infusion = Record("infusion", {"subject_id": "S", "infused_at": infused_at}, False, record_id=1)
    sample = Record("pk_sample", {"subject_id": "S", "actual_day": actual, "sampled_at": moment}, True, row=2)
    records = SubjectRecords("S", {"infusion": [infusion], "pk_sample": [sample]})
    records.time_zone = zone
    queried = list(_sample_day_mismatch(records, None, dt.date(2030, 1, 1)))
    kept = _day_mismatch_rows(["S"], [moment], [actual], {"S": infused_at}, {"S": zone})
    assert kept == ([0] if queried else [])


@settings(max_examples=property_examples(200), deadline=None)
@given(
    zone=st.sampled_from(["America/New_York", "America/Los_Angeles", "Pacific/Honolulu"]),
    typed=st.dates(dt.date(2021, 1, 1), dt.date(2021, 12, 31)),
    infused_h=st.integers(-48, 48),
    within=st.floats(0, 1, allow_nan=False),
    outside=st.floats(0.51, 3, allow_nan=False),
    after=st.booleans(),
)
def test_a_date_only_sample_west_of_utc_is_any_moment_of_its_date_on_the_site_clock(
    zone: str, typed: dt.date, infused_h: int, within: float, outside: float, after: bool
) -> None:
    """Oracle: the site's own clock (zoneinfo). An actual_day whose moment (infusion + actual_day) falls
    on the typed date at the site is never queried; one more than the tolerance (0.5 day) before the
    date's 00:00 or after the next day's 00:00 on the site's clock always is (DST days included)."""
    tz = ZoneInfo(zone)
    start = dt.datetime.combine(typed, dt.time(0), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(typed + dt.timedelta(days=1), dt.time(0), tz).astimezone(dt.UTC)
    infused_at = start + dt.timedelta(hours=infused_h)
    stored = dt.datetime.combine(typed, dt.time(0), dt.UTC)  # the store's form of the date typed

    def queried(actual: float) -> bool:
        infusion = Record("infusion", {"subject_id": "S", "infused_at": infused_at}, False, record_id=1)
        values = {"subject_id": "S", "actual_day": actual, "sampled_at": stored}
        records = SubjectRecords(
            "S", {"infusion": [infusion], "pk_sample": [Record("pk_sample", values, True)]}
        )
        records.time_zone = zone
        return bool(list(_sample_day_mismatch(records, None, dt.date(2030, 1, 1))))

    day = dt.timedelta(days=1)
    inside = (start + within * (end - start) - infused_at) / day
    assert not queried(inside)
    beyond = (end - infused_at) / day + outside if after else (start - infused_at) / day - outside
    assert queried(beyond)
