"""A site's IANA time zone (decisions D-19.285): validated with zoneinfo on every path a site enters (the
import's sites form, `db site add --time-zone`, an edit), and the reading of a clinic time typed without an
offset in an explicitly given zone (`localize_datetime`). The import still refuses such a time."""

from __future__ import annotations

import datetime as dt
import shutil
import zoneinfo
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.store import StudyService, connect
from cartrial.store.fields import clinic_time, localize_datetime, time_zone_of, validate_record
from cartrial.store.importing import import_templates

# the keys zoneinfo lists that name a place's zone (Factory and localtime name none: refused, D-19.607)
ZONES = sorted(zoneinfo.available_timezones() - {"Factory", "localtime", "posixrules"})


@pytest.fixture
def sqlite_study(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "study.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


def test_a_site_time_zone_is_an_iana_zone_on_every_path(sqlite_study: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "sites.csv").write_text(
        "site_id,name,country,time_zone\nMGH,Boston,USA,America/New_York\nTOR,Toronto,Canada,Mars/Olympus\n",
        "utf-8",
    )
    with pytest.raises(InputError) as caught:
        import_templates(sqlite_study, folder, "admin", dry_run=True)
    (problem,) = caught.value.problems
    assert (problem.row, problem.field) == (3, "time_zone")
    assert "IANA" in str(problem.allowed)
    service = StudyService(connect(sqlite_study))
    record = service.add_site("admin", "UKB", "Bonn", "DE", "Europe/Berlin")
    with pytest.raises(InputError, match="IANA"):
        service.add_site("admin", "XXX", "Nowhere", "DE", "Europe/Nowhere")
    with pytest.raises(InputError, match="IANA"):
        service.update_record("admin", "site", record, {"time_zone": "../etc/passwd"}, 1, "typo", "cli")
    for key in ("posix/Asia/Shanghai", "right/Europe/Berlin", "Factory", "localtime", "posixrules"):
        with pytest.raises(InputError, match="IANA") as caught:  # loads in zoneinfo, names no place's zone
            service.add_site("admin", "XXX", "Nowhere", "DE", key)
        assert [p.field for p in caught.value.problems] == ["site.time_zone"]
        with pytest.raises(InputError, match="IANA"):
            service.update_record("admin", "site", record, {"time_zone": key}, 1, "typo", "cli")


@pytest.mark.parametrize("text", ["", " UTC", "Mars/Olympus", "../../etc/passwd", "/usr/share/zoneinfo/UTC"])
def test_what_the_zone_database_does_not_know_is_none(text: str) -> None:
    assert time_zone_of(text) is None


def test_the_import_still_refuses_a_time_without_an_offset() -> None:
    problems = validate_record(
        "crs_assessment", {"subject_id": "CT-001", "assessed_at": "2026-11-30 10:00"}, protocol=None
    )
    assert any(p.field and p.field.endswith("assessed_at") for p in problems)


@given(
    moment=st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2060, 12, 31)),
    zone=st.sampled_from(ZONES),
)
@settings(max_examples=property_examples(300), deadline=None)
def test_a_clinic_time_read_in_its_zone_is_that_time_there(moment: dt.datetime, zone: str) -> None:
    """The UTC value read back in the zone is the clinic time typed; a time the zone skips or repeats (a
    daylight-saving change) is not read (None) rather than guessed."""
    typed = moment.replace(second=0, microsecond=0)
    converted = localize_datetime(typed.strftime("%Y-%m-%d %H:%M"), zone)
    place = zoneinfo.ZoneInfo(zone)
    early, late = typed.replace(tzinfo=place, fold=0), typed.replace(tzinfo=place, fold=1)
    exists = early.astimezone(dt.UTC).astimezone(place).replace(tzinfo=None) == typed
    if early.utcoffset() != late.utcoffset() or not exists:
        assert converted is None
        return
    assert converted is not None and converted.endswith("Z")
    back = dt.datetime.fromisoformat(converted).astimezone(place).replace(tzinfo=None)
    assert back == typed
    assert validate_record("crs_assessment", {"assessed_at": converted}, protocol=None, partial=True) == []


@pytest.mark.parametrize(
    "typed",
    ["2026-02-30 10:00", "2026-03-01 25:00", "2026-03-01T10:61", "2026-13-01 10:00", "2026-03-01 10:00:60"],
)
@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "Europe/Berlin"])
def test_an_impossible_clinic_time_is_not_a_clinic_time_and_the_rules_say_what_it_is(
    typed: str, zone: str
) -> None:
    """An impossible date or time typed without an offset was, for the field rules, "without a time zone"
    (and, in the web form, "skipped or repeated" at a daylight-saving change, D-19.296): it is an invalid
    date-time, whatever the zone, on the one validation path."""
    assert clinic_time(typed) is None
    assert localize_datetime(typed, zone) is None
    (problem,) = validate_record("crs_assessment", {"assessed_at": typed}, protocol=None, partial=True)
    assert problem.message == "not a real calendar date and time"
    assert "real calendar date" in str(problem.allowed)


@pytest.mark.parametrize("typed", ["2026-02-30T10:00:00Z", "2026-03-01T25:00+08:00", "2026-02-29"])
def test_an_impossible_date_time_with_its_offset_is_said_the_same(typed: str) -> None:
    (problem,) = validate_record("crs_assessment", {"assessed_at": typed}, protocol=None, partial=True)
    assert problem.message == "not a real calendar date and time"


@pytest.mark.parametrize(
    "typed", ["2021-06-01T08:30+2400", "2021-06-01T08:30-24:00", "2021-06-01T08:30+08:60"]
)
def test_a_real_date_time_with_an_impossible_offset_is_not_said_an_impossible_date(typed: str) -> None:
    """The date and time are real, only the offset is not (Python reads offsets strictly within 24 h, with
    minutes 00-59): the message must not send the user to the month or the hour."""
    (problem,) = validate_record("crs_assessment", {"assessed_at": typed}, protocol=None, partial=True)
    assert problem.message == "not an ISO 8601 date-time"
    assert "real calendar" not in str(problem.allowed)
    assert "-23:59 to +23:59" in str(problem.allowed)


def test_an_impossible_date_time_with_an_impossible_offset_is_said_impossible() -> None:
    (problem,) = validate_record(
        "crs_assessment", {"assessed_at": "2026-02-30T10:00+2400"}, protocol=None, partial=True
    )
    assert problem.message == "not a real calendar date and time"


def test_a_real_time_without_an_offset_is_still_without_a_time_zone() -> None:
    (problem,) = validate_record(
        "crs_assessment", {"assessed_at": "2026-02-28 10:00"}, protocol=None, partial=True
    )
    assert problem.message == "date-time without a time zone (ambiguous)"


@given(
    moment=st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 12, 31)),
    zone=st.sampled_from(["UTC", "Asia/Shanghai"]),
    seconds=st.booleans(),
)
@settings(max_examples=property_examples(300), deadline=None)
def test_in_a_zone_without_daylight_saving_every_real_clinic_time_round_trips(
    moment: dt.datetime, zone: str, seconds: bool
) -> None:
    """No time is skipped or repeated where the clocks never change (UTC; China since 1991): every real
    naive time is read, and read back in the zone it is the time typed (D-19.296)."""
    if zone == "Asia/Shanghai":
        assume(moment.year >= 1992)  # China observed daylight-saving time in 1986-1991
    typed = moment.replace(microsecond=0) if seconds else moment.replace(second=0, microsecond=0)
    text = typed.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%dT%H:%M")
    assert clinic_time(text) == typed
    converted = localize_datetime(text, zone)
    assert converted is not None
    place = zoneinfo.ZoneInfo(zone)
    assert dt.datetime.fromisoformat(converted).astimezone(place).replace(tzinfo=None) == typed


def test_the_shipped_example_site_has_its_iana_zone(tmp_path: Path) -> None:
    """The example study's site (Tongji Hospital, Wuhan) had no zone, so its web forms refused every clinic
    time typed without an offset until an administrator set one (D-19.298): both demo databases (the
    templates' and the REDCap export's) now carry it, through the import's sites form and `add_site`; the
    import itself still refuses a time without an offset."""
    from rich.console import Console

    from cartrial import examples as cartrial_examples
    from cartrial import templates as cartrial_templates
    from cartrial.demo import DemoContext
    from cartrial.demo import importing as importing_demo

    ctx = DemoContext(
        examples_dir=cartrial_examples.path("ct103a-nmosd").parent,
        templates_dir=cartrial_templates.path(),
        out_dir=tmp_path,
        console=Console(record=True, width=140),
    )
    importing_demo.run(ctx)
    for name in ("study.db", "redcap-study.db"):
        service = StudyService(connect(f"sqlite:///{tmp_path / name}"))
        sites = service.find_records("admin", "site")
        assert [(s["site_id"], s["time_zone"]) for s in sites] == [("TJH", "Asia/Shanghai")], name
        service.engine.dispose()


@settings(max_examples=property_examples(200), deadline=None)
@given(text=st.text(alphabet=st.sampled_from("EuropeParisUTC/._ -+0\x00"), max_size=20))
def test_a_zone_is_found_only_by_its_exact_key(text: str) -> None:
    """What `time_zone_of` finds is the zone named exactly `text` (no stripping, no path outside the
    database); the rest is None, never an exception."""
    zone = time_zone_of(text)
    assert zone is None or zone.key == text


@pytest.mark.parametrize("text", ["Europe", "Europe/", "Europe//Paris", "a/../UTC", "UTC ", "UTC\x00"])
def test_folders_and_unnormalised_names_are_none(text: str) -> None:
    assert time_zone_of(text) is None
    assert time_zone_of("Europe/Paris") is not None and time_zone_of("Etc/GMT+5") is not None
