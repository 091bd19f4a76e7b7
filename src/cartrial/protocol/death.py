"""A subject's death: which adverse event records it and its date (D-19.83), the one rule (D-19.93).

A death is recorded as a fatal adverse event: CTCAE v5.0 grade 5 ("death related to AE"), or category
``death``, or outcome ``fatal``. Its date is the event's end date when recorded, else its onset; a subject
with several fatal events died on the earliest such date. The analysis (`cartrial.analysis.populations.
death_dates`, on the snapshot's text) and the store's edit checks (`cartrial.store.edit_checks`, on typed
records) both call `is_fatal` and `death_day`, so the two read the same death. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from cartrial.columns import trim_blanks

DEATH_SOURCE = (
    "the recorded fatal adverse event: CTCAE v5.0 grade 5 (death related to AE), category death or outcome "
    "fatal; the date of death is the event's end date when recorded, else its onset (D-19.83)"
)
"""`is_fatal` and `death_day` in words (shown as the source of every death the analysis reads)."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN: a blank cell of a data frame
        return ""
    return trim_blanks(str(value))


def is_fatal(grade: Any, category: Any, outcome: Any) -> bool:
    """Whether an adverse event records a death: grade 5 (the number or its text ``5``/``5.0``), category
    ``death`` or outcome ``fatal`` (case-insensitive).

    >>> is_fatal(5, "crs", "recovered"), is_fatal("", "Death", ""), is_fatal("3", "crs", "not recovered")
    (True, True, False)
    """
    return (
        _text(grade) in ("5", "5.0")
        or _text(category).lower() == "death"
        or _text(outcome).lower() == "fatal"
    )


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)[:10]
    if len(text) != 10:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def death_day(started: Any, ended: Any) -> dt.date | None:
    """The date of death a fatal adverse event gives: its end date when recorded, else its onset (dates,
    date-times or ISO text; None when neither is a date).

    >>> death_day("2021-06-01", ""), death_day(dt.date(2021, 6, 1), dt.date(2021, 6, 4))
    (datetime.date(2021, 6, 1), datetime.date(2021, 6, 4))
    """
    return _date(ended) if _text(ended) or isinstance(ended, dt.date) else _date(started)


def is_after_death(date: str, death: str) -> bool:
    """True when an ISO 8601 date — complete or right-truncated (YYYY, YYYY-MM, YYYY-MM-DD; a date-time by
    its date) — is wholly after the date of death: its earliest possible day is later than the death's
    latest, compared on the precision both have (SDTMIG 3.4 §4.4.2). A date on the death's day, or a
    truncated one that may be (``2022-03`` against 2022-03-01), is not; text that is no such date is not
    (D-19.653, D-19.659).

    >>> is_after_death("2022-04", "2022-03-01"), is_after_death("2022-03", "2022-03-01")
    (True, False)
    >>> is_after_death("2022-03-05T10:00+08:00", "2022-03-01"), is_after_death("2022-03-01", "2022-03-01")
    (True, False)
    """
    a, b = date[:10], death[:10]
    if not (_ISO_DAY.match(a) and _ISO_DAY.match(b)):
        return False
    n = min(len(a), len(b))
    return a[:n] > b[:n]


_ISO_DAY = re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?\Z")


__all__ = ["DEATH_SOURCE", "death_day", "is_after_death", "is_fatal"]
