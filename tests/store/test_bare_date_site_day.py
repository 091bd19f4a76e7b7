"""A date typed without a time in a date-time field is stored as 00:00:00Z of that date (D-19.618): every
reader takes it as that DATE on the site's calendar (D-19.947). Before, only the edit checks did; the
snapshot cut-off, the store's day reads (Python and SQL), the study days, the analysis and the CDISC
export read 00:00Z on the site's clock, so at a site west of UTC a lab dated ``2021-08-02`` read as 1 August
(17:00 PDT, 13:00 SST): kept by the 2021-08-01 cut-off, and its study day one short.

Expected values by hand: CT-003 (example study, site TJH) infused 2021-06-08T01:45:00Z = 2021-06-07 18:45 PDT
(UTC-7) = 2021-06-07 14:45 SST (Pago Pago, UTC-11) = 2021-06-08 09:45 CST (Shanghai, UTC+8): day 0 is 7 June
west of UTC, 8 June in Shanghai. A lab typed ``2021-08-02``: 2 August everywhere, protocol day 56 (7 June +
56 days), SDTM LBDY 57; in Shanghai day 55, LBDY 56. A real instant 2021-08-02T20:00:00-07:00
(2021-08-03T03:00:00Z): 2 August in Los Angeles, 2 August 16:00 in Pago Pago, 3 August 11:00 in Shanghai.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

SUBJECT = "CT-003"
BARE = dt.datetime(2021, 8, 2, tzinfo=dt.UTC)  # "2021-08-02" typed without a time
TIMED = dt.datetime(2021, 8, 3, 3, 0, tzinfo=dt.UTC)  # 2021-08-02T20:00:00-07:00
AUG1, AUG2, AUG3 = dt.date(2021, 8, 1), dt.date(2021, 8, 2), dt.date(2021, 8, 3)
# zone -> (site day of the bare lab, site day of the timed lab)
EXPECTED = {
    "America/Los_Angeles": (AUG2, AUG2),
    "Pacific/Pago_Pago": (AUG2, AUG2),
    "Asia/Shanghai": (AUG2, AUG3),
}
WEST = ["America/Los_Angeles", "Pacific/Pago_Pago"]


def _prepare(url: str, zone: str, ids: dict[str, int] | None = None) -> dict[str, int]:
    """The example's site TJH moved to `zone`, two CT-003 labs moved to the bare date and the real instant
    above (direct writes: the edit checks are not what is tested)."""
    from cartrial.store import connect
    from cartrial.store.models import LabResult, Site

    engine = connect(url)
    with engine.begin() as connection:
        connection.execute(update(Site).where(Site.site_id == "TJH").values(time_zone=zone))
        if ids is None:  # the labs are moved once
            labs = [
                r[0]
                for r in connection.execute(
                    select(LabResult.id)
                    .where(LabResult.subject_id == SUBJECT, LabResult.analyte == "neutrophils")
                    .order_by(LabResult.collected_at.desc())
                ).all()
            ]
            ids = {"bare": labs[0], "timed": labs[1]}
            for key, when in (("bare", BARE), ("timed", TIMED)):
                connection.execute(
                    update(LabResult).where(LabResult.id == ids[key]).values(collected_at=when)
                )
    engine.dispose()
    return ids


def _check_store(url: str, zone: str, ids: dict[str, int]) -> None:
    from cartrial.store import connect
    from cartrial.store.reads import record_days, subject_days
    from cartrial.store.snapshot import read_snapshot

    bare_day, timed_day = EXPECTED[zone]
    # the cut-off 2021-08-01 leaves the lab dated 2 August out (and the evening of 2 August PDT)
    snapshot = read_snapshot(url, AUG1)
    kept = set(snapshot.tables["labs"]["record_id"].astype(int))
    assert ids["bare"] not in kept
    assert ids["timed"] not in kept
    assert SUBJECT in snapshot.after_cutoff_subjects["labs"]
    kept = set(read_snapshot(url, AUG2).tables["labs"]["record_id"].astype(int))
    assert ids["bare"] in kept
    assert (ids["timed"] in kept) is (timed_day <= AUG2)
    # the store's day reads: Python (`record_days`) and the SQL moment expression (`subject_days`)
    engine = connect(url)
    with engine.connect() as connection:
        days = dict(record_days(connection, "lab_result", equals={"subject_id": SUBJECT}, time_zone=zone))
        pairs = set(subject_days(connection, "lab_result", time_zones={SUBJECT: zone}))
    engine.dispose()
    assert days[ids["bare"]] == bare_day
    assert days[ids["timed"]] == timed_day
    assert (SUBJECT, bare_day) in pairs and (SUBJECT, timed_day) in pairs
    if zone in WEST:
        assert (SUBJECT, AUG1) not in pairs  # no lab of CT-003 is dated 1 August


@pytest.mark.parametrize("zone", sorted(EXPECTED))
def test_sqlite_bare_date_is_its_date_at_the_site(example_sqlite: str, zone: str) -> None:
    ids = _prepare(example_sqlite, zone)
    _check_store(example_sqlite, zone, ids)


@pytest.mark.slow  # builds the example study on PostgreSQL (several seconds)
@pytest.mark.postgres
def test_postgres_bare_date_is_its_date_at_the_site(postgres_url: str) -> None:
    from ..conftest import build_example

    build_example(postgres_url)
    ids = None
    for zone in sorted(EXPECTED):
        ids = _prepare(postgres_url, zone, ids)
        _check_store(postgres_url, zone, ids)


@pytest.mark.slow  # the analysis and SDTM of the example study (several seconds)
@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Shanghai"])
def test_sqlite_sdtm_lb_dates_a_bare_lab_by_its_date(example_sqlite: str, zone: str) -> None:
    """SDTM LB: west of UTC the bare lab's LBDTC is the date typed (no invented time: on the site's clock it
    would be the day before) and LBDY counts from day 1 = the infusion's site date; east of UTC 00:00:00Z
    keeps its time (same date); the real instant keeps its local time and offset."""
    from cartrial.analysis import analyse
    from cartrial.cdisc.sdtm import build_sdtm
    from cartrial.store.snapshot import read_snapshot

    _prepare(example_sqlite, zone)
    snapshot = read_snapshot(example_sqlite, dt.date(2021, 8, 31))
    lb = build_sdtm(snapshot, analyse(snapshot), dict(snapshot.sites))["LB"]
    rows = lb[lb["USUBJID"].str.endswith(SUBJECT) & (lb["LBTESTCD"] == "NEUT")]
    by_dtc = {str(d): float(y) for d, y in zip(rows["LBDTC"], rows["LBDY"], strict=True)}
    if zone == "America/Los_Angeles":
        assert by_dtc["2021-08-02"] == 57.0
        assert by_dtc["2021-08-02T20:00-07:00"] == 57.0
        assert not any(d.startswith("2021-08-01") for d in by_dtc)
    else:
        # east of UTC the date is the same either way, and the stored instant may be a real 08:00:00 in
        # Wuhan (a morning draw): it keeps its time there (D-19.947)
        assert by_dtc["2021-08-02T08:00+08:00"] == 56.0
        assert by_dtc["2021-08-03T11:00+08:00"] == 57.0


@pytest.mark.parametrize(
    ("zone", "expected"),
    [("America/Los_Angeles", AUG2), ("Pacific/Pago_Pago", AUG2), ("Asia/Shanghai", AUG2), (None, AUG2)],
)
def test_every_reader_takes_a_bare_date_as_its_date(zone: str | None, expected: dt.date) -> None:
    """The pure readers: the analysis' site date (one and many), the study-day arithmetic, the CDISC
    site date and wall clock, the neuro engine's visit day, the casebook's day 0."""
    import pandas as pd

    from cartrial.analysis.populations import site_date, site_date_texts, site_days
    from cartrial.cdisc.common import site_date_of, site_wall_clock
    from cartrial.columns import calendar_days, site_day, typed_site_moment
    from cartrial.neuro.derive import _visit_day
    from cartrial.web.views import _first_infusion

    cell = "2021-08-02T00:00:00Z"
    assert site_date(cell, zone) == expected
    frame = pd.DataFrame({"subject_id": ["A"], "at": [cell]})
    assert site_date_texts(frame, "at", {"A": zone} if zone else {}).tolist() == ["2021-08-02"]
    when = pd.to_datetime(pd.Series([cell]), utc=True)
    assert site_days(when, pd.Series([zone or ""])).dt.strftime("%Y-%m-%d").tolist() == ["2021-08-02"]
    assert site_day(BARE, zone) == expected
    assert site_date_of(BARE.replace(tzinfo=None), zone) == expected
    # the wall clock: west of UTC the start of the date typed; at UTC and east of it the stored instant's own
    # time (the same date either way, and it may be a real 08:00:00 in Wuhan; D-19.947)
    wall = {"Asia/Shanghai": dt.datetime(2021, 8, 2, 8)}.get(str(zone), dt.datetime(2021, 8, 2))
    assert site_wall_clock(BARE.replace(tzinfo=None), zone) == wall
    assert _visit_day(pd.Timestamp(cell), zone) == expected
    assert _first_infusion([{"infused_at": BARE, "dose_level": 1}], zone) == (expected, 1)
    # day 0 typed 2021-08-01 (bare); a lab typed 2021-08-02: study day 1 on every calendar
    day0 = typed_site_moment(dt.datetime(2021, 8, 1, tzinfo=dt.UTC), zone)
    assert calendar_days(BARE, day0) == 1


@pytest.mark.parametrize("zone", WEST)
def test_a_real_instant_is_still_read_on_the_site_clock(zone: str) -> None:
    """Any instant but exactly 00:00:00Z: its date on the site's clock, as before (00:30Z on 2 August is 1
    August in Los Angeles and Pago Pago)."""
    import pandas as pd

    from cartrial.analysis.populations import site_date, site_days
    from cartrial.cdisc.common import dtc
    from cartrial.columns import site_day

    assert site_day(TIMED, zone) == AUG2
    assert site_day(dt.datetime(2021, 8, 2, 0, 30, tzinfo=dt.UTC), zone) == AUG1
    assert site_date("2021-08-02T00:00:01Z", zone) == AUG1
    when = pd.to_datetime(pd.Series(["2021-08-02T00:00:00.5Z"]), utc=True)
    assert site_days(when, pd.Series([zone])).dt.strftime("%Y-%m-%d").tolist() == ["2021-08-01"]
    assert dtc("2021-08-02T00:00:00Z", zone) == "2021-08-02"
    assert dtc("2021-08-03T03:00:00Z", "America/Los_Angeles") == "2021-08-02T20:00-07:00"


def test_episode_span_and_dlt_onset_count_from_the_bare_infusion_date() -> None:
    """The heat map's span and the DLT onset day: infusion typed 2021-08-01 (bare) at Los Angeles, onset at
    2021-08-03T03:00:00Z (20:00 PDT on 2 August): day 1 (was 2, counted from 31 July 17:00 PDT)."""
    import pandas as pd

    from cartrial.analysis.dlt import dlt_onset_days
    from cartrial.analysis.toxicity import episode_span

    episode = {"infused_at": "2021-08-01", "onset_at": "2021-08-03T03:00:00Z", "resolved_at": None}
    assert episode_span(episode, "America/Los_Angeles") == (1, 1)
    infusions = pd.DataFrame(
        {"subject_id": ["A"], "infused_at": ["2021-08-01"], "time_zone": ["America/Los_Angeles"]}
    )
    # the engine counts from the infusion as it reads it, 00:00 PDT on 1 August (07:00Z; grading's
    # `site_cell_moment`): 1 day 20 hours later is 20:00 PDT on 2 August, the same onset, day 1 (D-19.948)
    assert dlt_onset_days(infusions, {"A": (44 / 24,)}) == {"A": 1}


def test_a_real_0800_in_wuhan_keeps_its_time() -> None:
    """East of UTC, 00:00:00Z is also a real 08:00:00 in Wuhan (a morning PK draw): both readings give the
    same date, so it keeps its time in SDTM --DTC, the ADaM wall clock and the elapsed day (D-19.947)."""
    from cartrial.cdisc.common import dtc, site_wall_clock
    from cartrial.columns import typed_site_moment

    assert dtc("2021-08-02T00:00:00Z", "Asia/Shanghai") == "2021-08-02T08:00+08:00"
    assert site_wall_clock(dt.datetime(2021, 8, 2), "Asia/Shanghai") == dt.datetime(2021, 8, 2, 8)
    assert typed_site_moment(BARE, "Asia/Shanghai").hour == 8
