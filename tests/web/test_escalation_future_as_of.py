"""`/api/v1/escalation?as_of=` after today is bad input: a located 422 naming `as_of` (the data cut-off rule,
D-19.380, D-19.386), not a 200 "not available" answer."""

from __future__ import annotations

import datetime as dt

from cartrial.columns import utc_today


def test_a_future_as_of_is_a_422_naming_as_of(example_web) -> None:  # type: ignore[no-untyped-def]
    dm = example_web.bearer("admin")
    tomorrow = (utc_today() + dt.timedelta(days=1)).isoformat()
    answer = dm.get(f"/api/v1/escalation?as_of={tomorrow}")
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["field"] == "as_of"
    assert "cannot be in the future" in body["error"] and "today" in body["allowed"]


def test_as_of_today_is_still_answered(example_web) -> None:  # type: ignore[no-untyped-def]
    answer = example_web.bearer("admin").get(f"/api/v1/escalation?as_of={utc_today().isoformat()}")
    assert answer.status_code == 200 and answer.json()["available"] is True
