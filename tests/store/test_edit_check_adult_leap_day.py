"""ADULT-WEIGHT-UNDER-30KG counts the age at consent by the one completed-years rule (D-19.1016).

The check computed the age with its own formula (a birthday is reached when (month, day) is reached), so
someone born on 29 February 2000 was 17 on 28 February 2018, while the screening of the same person
(`cartrial.protocol.completed_years`, the project's convention D-19.722, as dateutil's `relativedelta` and
SAS INTNX 'SAMEDAY': the birthday of 29 February is 28 February in a common year) says 18 and admits
them to an "aged 18 or over" trial. By hand: 2018 − 2000 = 18 years, the 2018 anniversary of 29 February
being 28 February.
"""

from __future__ import annotations

import datetime as dt

from cartrial.protocol import completed_years

from .test_edit_checks import fired, subject


def test_an_adult_born_on_29_february_is_checked_on_28_february() -> None:
    born, consent = dt.date(2000, 2, 29), dt.date(2018, 2, 28)
    assert completed_years(born, consent) == 18  # the screening's age of the same person
    record = subject(birth_date=born, birth_year=None, consent_date=consent, weight_kg=29.0)
    assert fired(record) == ["ADULT-WEIGHT-UNDER-30KG"]


def test_the_day_before_is_still_a_minor() -> None:
    """27 February 2018: 17 completed years, the check does not apply (a child's low weight)."""
    record = subject(
        birth_date=dt.date(2000, 2, 29), birth_year=None, consent_date=dt.date(2018, 2, 27), weight_kg=29.0
    )
    assert fired(record) == []
