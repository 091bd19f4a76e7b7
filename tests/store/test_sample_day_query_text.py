"""The SAMPLE-DAY-MISMATCH query text says what the check compared (D-19.1369): since D-19.1347 a
``sampled_at`` typed as a date without a time (00:00:00Z at a site west of UTC) is compared as its whole
date on the site's clock, a real time as that instant; the text said "differs by more than 0.5 day from
sampled_at" in both cases. Neither text quotes a record value (the day, the date, the infusion).

Worked by hand: CT-002 infused 2021-05-18T02:30Z (22:30 EDT on 17 May in New York).
- A sample at 2021-05-21T02:30Z (a real time, 3.0 days after) with actual_day 5: 2.0 days off, queried.
- At a New York site, a sample typed as the date 2021-05-18 (stored 2021-05-18T00:00:00Z) with actual_day
  -0.5: 18 May on the New York clock runs from 0.0625 to 1.0625 days after the infusion, -0.5 is 0.5625
  day before it, queried.
- At UTC, the same 00:00:00Z with actual_day -0.5: a real time (-0.104 day), 0.396 off, not queried; with
  actual_day -1.0 (0.896 off) queried, as an instant."""

from __future__ import annotations

import datetime as dt

from cartrial.store.edit_checks import Record, SubjectRecords, _sample_day_mismatch

INFUSED = dt.datetime(2021, 5, 18, 2, 30, tzinfo=dt.UTC)
TODAY = dt.date(2030, 1, 1)


def _messages(sampled_at: dt.datetime, actual: float, zone: str | None) -> list[str]:
    infusion = Record("infusion", {"subject_id": "CT-002", "infused_at": INFUSED}, False, record_id=7)
    values = {"subject_id": "CT-002", "actual_day": actual, "sampled_at": sampled_at}
    sample = Record("pk_sample", values, True, row=2, file="pk_samples.csv")
    records = SubjectRecords("CT-002", {"infusion": [infusion], "pk_sample": [sample]})
    records.time_zone = zone
    return [message for _, _, _, message in _sample_day_mismatch(records, None, TODAY)]


def _no_values(message: str) -> None:
    for value in ("2021", "05-18", "-0.5", "-1", "5.0", "02:30", "America", "New_York"):
        assert value not in message, value


def test_a_timed_sample_is_compared_as_its_instant() -> None:
    """The text of a real time is the one the check always had (kept as it was)."""
    (message,) = _messages(dt.datetime(2021, 5, 21, 2, 30, tzinfo=dt.UTC), 5.0, None)
    assert message.startswith(
        "pk_sample.actual_day differs by more than 0.5 day from pk_sample.sampled_at counted from the "
        "subject's infusion (infusion record 7, infusion.infused_at): the NCA and ADaM read the day, SDTM "
        "the date-time"
    ), message
    assert "site's clock" not in message, message
    _no_values(message)


def test_a_date_only_sample_is_compared_with_its_whole_date_on_the_site_clock() -> None:
    (message,) = _messages(dt.datetime(2021, 5, 18, tzinfo=dt.UTC), -0.5, "America/New_York")
    assert message.startswith(
        "pk_sample.actual_day is more than 0.5 day outside pk_sample.sampled_at's date on the site's clock "
        "(a date without a time: from its 00:00 to the next day's 00:00), counted from the subject's "
        "infusion (infusion record 7, infusion.infused_at): the NCA and ADaM read the day, SDTM the date;"
    ), message
    _no_values(message)


def test_midnight_utc_at_a_utc_site_is_a_time() -> None:
    midnight = dt.datetime(2021, 5, 18, tzinfo=dt.UTC)
    assert _messages(midnight, -0.5, None) == []
    (message,) = _messages(midnight, -1.0, None)
    assert "differs by more than 0.5 day from pk_sample.sampled_at counted" in message, message
    assert "site's clock" not in message, message
    _no_values(message)
