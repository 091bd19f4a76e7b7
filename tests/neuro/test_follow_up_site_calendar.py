"""D-19.615: the neuro engine's own end of follow-up (the command line, without the analysis) reads a
date-time on the subject's site calendar when the infusions form carries a ``time_zone`` column, as the
analysis does (D-19.607); without one, the UTC date. 2021-06-01T23:30Z is 07:30 on 2 June in Wuhan
(UTC+8); 2021-06-02T02:00Z is 22:00 on 1 June in New York (EDT, UTC-4)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from cartrial.errors import InputError
from cartrial.neuro.derive import end_of_follow_up

INFUSED = {"subject_id": ["S1", "S2"], "infused_at": ["2021-04-27T02:00:00Z", "2021-04-27T14:00:00Z"]}
ZONES = ["Asia/Shanghai", "America/New_York"]
LAST = ["2021-06-01T23:30:00Z", "2021-06-02T02:00:00Z"]


def test_the_last_assessments_count_on_the_site_calendar() -> None:
    """Before: {'S1': 2021-06-01, 'S2': 2021-06-02}, the UTC dates."""
    infusions = pd.DataFrame({**INFUSED, "time_zone": ZONES})
    assessments = pd.DataFrame({"subject_id": ["S1", "S2"], "assessed_at": LAST})
    end = end_of_follow_up(infusions, assessments=[assessments])
    assert end.last_assessment == {"S1": dt.date(2021, 6, 2), "S2": dt.date(2021, 6, 1)}


def test_the_last_assessment_column_counts_on_the_site_calendar() -> None:
    infusions = pd.DataFrame({**INFUSED, "time_zone": ZONES, "last_assessed_at": LAST})
    end = end_of_follow_up(infusions)
    assert end.last_assessment == {"S1": dt.date(2021, 6, 2), "S2": dt.date(2021, 6, 1)}
    # a bare date is the site's date as typed, whatever the zone (not 00:00Z read in New York: 1 June)
    bare = pd.DataFrame({**INFUSED, "time_zone": ZONES, "last_assessed_at": ["2021-06-02", "2021-06-02"]})
    assert end_of_follow_up(bare).last_assessment == {"S1": dt.date(2021, 6, 2), "S2": dt.date(2021, 6, 2)}


def test_without_a_time_zone_column_the_utc_date_is_used() -> None:
    infusions = pd.DataFrame({**INFUSED, "last_assessed_at": LAST})
    assert end_of_follow_up(infusions).last_assessment == {
        "S1": dt.date(2021, 6, 1),
        "S2": dt.date(2021, 6, 2),
    }


class _Clock(dt.datetime):
    at = dt.datetime(2026, 12, 6, 23, 0, tzinfo=dt.UTC)

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _Clock:  # type: ignore[override]
        return cls.fromtimestamp(cls.at.timestamp(), dt.UTC)


@pytest.mark.parametrize(
    ("now", "zone", "refused"),
    [
        (dt.datetime(2026, 12, 6, 23, 0, tzinfo=dt.UTC), "Asia/Shanghai", False),  # 07:00 on 7 Dec in Wuhan
        (dt.datetime(2026, 12, 6, 23, 0, tzinfo=dt.UTC), "", True),  # UTC: still 6 Dec
        (dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC), "America/New_York", True),  # 20:00 on 6 Dec there
        (dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC), "", False),
    ],
)
def test_an_infusion_after_today_is_after_the_site_s_today(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, now: dt.datetime, zone: str, refused: bool
) -> None:
    """An infusion dated 7 December 2026 (`score responders --infusions`). Before: refused in Wuhan at 07:00
    (UTC's 6th), accepted in New York at 20:00 on the 6th (UTC's 7th)."""
    import cartrial.columns as columns
    from cartrial.commands.neuro_commands import _infusions_frame

    monkeypatch.setattr(_Clock, "at", now)
    monkeypatch.setattr(
        columns, "_dt", SimpleNamespace(date=dt.date, datetime=_Clock, UTC=dt.UTC, timedelta=dt.timedelta)
    )
    path = tmp_path / "inf.csv"
    path.write_text(f"subject_id,infused_at,time_zone\nS1,2026-12-07,{zone}\n", "utf-8")
    if refused:
        with pytest.raises(InputError, match="an infusion cannot be after today"):
            _infusions_frame(path)
    else:
        _infusions_frame(path)


# -- one rule for a date typed without a time (D-19.615 as amended, D-19.618) --------------------------------


def test_day_0_and_the_last_assessment_read_the_same_bare_date_alike_in_new_york() -> None:
    """The same text, 2021-06-01, as the infusion and the last assessment of a New York subject. Before: day
    0 was 2021-05-31 (00:00Z read on the New York clock), the last assessment 2021-06-01 (a bare date)."""
    from cartrial.neuro.derive import infusion_days

    infusions = pd.DataFrame(
        {
            "subject_id": ["S2"],
            "infused_at": ["2021-06-01"],
            "time_zone": ["America/New_York"],
            "last_assessed_at": ["2021-06-01"],
        }
    )
    assert infusion_days(infusions) == {"S2": dt.date(2021, 6, 1)}
    assert end_of_follow_up(infusions).last_assessment == {"S2": dt.date(2021, 6, 1)}


@pytest.mark.parametrize("text", ["20210602", "2021-W22-3", "2021-06-02"])
def test_every_form_of_a_bare_date_is_that_date(text: str) -> None:
    """2 June 2021 typed as a basic or a week date in New York. Before: 20210602 and 2021-W22-3 were read on
    the site's clock as 20:00 on 1 June (only YYYY-MM-DD was taken as a bare date)."""
    infusions = pd.DataFrame({**INFUSED, "time_zone": ZONES, "last_assessed_at": [text, text]})
    assert end_of_follow_up(infusions).last_assessment == {
        "S1": dt.date(2021, 6, 2),
        "S2": dt.date(2021, 6, 2),
    }


def test_midnight_utc_is_the_date_typed_and_any_other_instant_the_site_clock_in_new_york() -> None:
    """Changed by design (D-19.947, amending D-19.615): 2021-06-02T00:00:00Z, the store's form of the date
    2021-06-02 typed without a time (the analysis's snapshot writes every infusion as ...T%H:%M:%SZ), is 2
    June at every site, as the store, the analysis and CDISC read it; it was 20:00 EDT on 1 June here (read
    on the site's clock), one day before the store's edit checks. Any other instant, 00:30:00Z (20:30 EDT on
    1 June), is still read on the site's clock."""
    from cartrial.neuro.derive import infusion_days

    for moment, expected in (
        ("2021-06-02T00:00:00Z", dt.date(2021, 6, 2)),
        ("2021-06-02T00:30:00Z", dt.date(2021, 6, 1)),
    ):
        infusions = pd.DataFrame(
            {
                "subject_id": ["S2"],
                "infused_at": [moment],
                "time_zone": ["America/New_York"],
                "last_assessed_at": [moment],
            }
        )
        assert infusion_days(infusions) == {"S2": expected}
        assert end_of_follow_up(infusions).last_assessment == {"S2": expected}


def _at(monkeypatch: pytest.MonkeyPatch, now: dt.datetime) -> None:
    import cartrial.columns as columns

    monkeypatch.setattr(_Clock, "at", now)
    monkeypatch.setattr(
        columns, "_dt", SimpleNamespace(date=dt.date, datetime=_Clock, UTC=dt.UTC, timedelta=dt.timedelta)
    )


@pytest.mark.parametrize(
    ("text", "refused", "day0"),
    [
        ("20261208", True, dt.date(2026, 12, 8)),  # a bare date of tomorrow
        ("2026-12-07T02:00:00Z", False, dt.date(2026, 12, 6)),  # 21:00 on 6 Dec in New York
        ("2026-12-08T04:00:00Z", False, dt.date(2026, 12, 7)),  # 23:00 on 7 Dec in New York: today
    ],
)
def test_the_infusion_after_today_check_and_day_0_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, refused: bool, day0: dt.date
) -> None:
    """`score responders --infusions` at 10:00 on 7 December in New York: an infusion is after today exactly
    when day 0 is after today. Before: 20261208 was read on the site clock (19:00 on the 7th) and accepted,
    with day 0 on the 7th."""
    from cartrial.commands.neuro_commands import _infusions_frame
    from cartrial.neuro.derive import infusion_days

    _at(monkeypatch, dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC))
    path = tmp_path / "inf.csv"
    path.write_text(f"subject_id,infused_at,time_zone\nS1,{text},America/New_York\n", "utf-8")
    assert infusion_days(pd.read_csv(path, dtype=str)) == {"S1": day0}
    assert (day0 > dt.date(2026, 12, 7)) == refused
    if refused:
        with pytest.raises(InputError, match="an infusion cannot be after today"):
            _infusions_frame(path)
    else:
        _infusions_frame(path)


def test_a_row_with_an_unknown_time_zone_is_refused_for_it_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """07:00 on 7 December in Wuhan (23:00Z on the 6th), an infusion of the 7th with a misspelt zone: one
    error, the zone. Before: a second, spurious "after today" (the row read on UTC's 6 December)."""
    from cartrial.commands.neuro_commands import _infusions_frame

    _at(monkeypatch, dt.datetime(2026, 12, 6, 23, 0, tzinfo=dt.UTC))
    path = tmp_path / "inf.csv"
    path.write_text("subject_id,infused_at,time_zone\nS1,2026-12-07,Asia/Shangai\n", "utf-8")
    with pytest.raises(InputError) as caught:
        _infusions_frame(path)
    assert [p.field for p in caught.value.problems] == ["time_zone"]
