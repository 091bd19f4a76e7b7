"""A statistician in a notebook reaches the TITE-CRM history as of a date from the package root
(`cartrial.escalation.TitePatient`, `tite_history`; D-19.748): the one rule of the replay and the page."""

from __future__ import annotations

from datetime import date

import cartrial.escalation as escalation


def test_tite_history_is_public_at_the_package_root() -> None:
    assert {"TitePatient", "tite_history"} <= set(escalation.__all__)
    patient = escalation.TitePatient(1, 1, date(2021, 6, 1), True, 9.0)
    # infused 06-01, DLT on day 9: not seen on 06-05 (followed 4 days), seen on 06-30 at its onset day
    assert [
        (p.dlt, p.followup_days) for p in escalation.tite_history([patient], date(2021, 6, 5), 28).patients
    ] == [(False, 4.0)]
    assert escalation.tite_history([patient], date(2021, 6, 30), 28).patients[0].followup_days == 9.0
    assert escalation.tite_history.__doc__ and escalation.TitePatient.__doc__
