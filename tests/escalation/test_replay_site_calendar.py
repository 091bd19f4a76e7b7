"""The escalation replay counts the DLT window from the infusion's day on the site's calendar
(docs/science/decisions.md D-19.607), in the engine (`replay_decisions`, the infusions' optional
`time_zone` column the analysis hands it) and in the store's DECISION-BEFORE-DLT-WINDOW check.

A New York evening infusion: 2024-03-01T01:00Z is 2024-02-29 20:00 EST, day 0 = 29 February on the ward.
A decision on 2024-03-28 is 28 days later (hand count: 29 Feb → 28 Mar, 2024 a leap year): the 28-day
window is complete; counted from the UTC day (1 March) it would be 27 days, incomplete."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from cartrial.escalation import replay_decisions
from cartrial.store.edit_checks import Record, decision_window_findings

PROTOCOL = SimpleNamespace(
    escalation=SimpleNamespace(design="3+3", variant="deescalation", dlt_window_days=28, no_skip=True),
    dose_levels=[1, 2],
    expansion=None,
)
INFUSED = "2024-03-01T01:00:00Z"
DECIDED = "2024-03-28"
SUBJECTS = ("A", "B", "C")


def _decision() -> pd.DataFrame:
    """Cohort 1 at dose level 1, decided on `DECIDED`: stay, no DLT in three."""
    row = {"cohort": 1, "dose_level": 1, "decided_on": DECIDED, "outcomes": "1NNN", "decision": "stay"}
    return pd.DataFrame([row])


def _replay(zone: str | None) -> pd.Series:
    decisions = _decision()
    infusions = pd.DataFrame(
        {"subject_id": list(SUBJECTS), "dose_level": [1] * 3, "infused_at": [INFUSED] * 3}
    )
    if zone is not None:
        infusions["time_zone"] = zone
    return replay_decisions(decisions, infusions, None, PROTOCOL).table.iloc[0]


def test_the_replay_counts_from_the_new_york_day() -> None:
    row = _replay("America/New_York")
    assert (int(row.days_after_last_infusion), bool(row.window_complete)) == (28, True)
    assert "DLT window" not in row.deviation


def test_without_a_zone_the_utc_day_is_kept() -> None:
    for zone in (None, ""):
        row = _replay(zone)
        assert (int(row.days_after_last_infusion), bool(row.window_complete)) == (27, False)


def _store_findings(zones: dict[str, str] | None) -> list:
    import datetime as dt

    at = dt.datetime(2024, 3, 1, 1, 0, tzinfo=dt.UTC)
    decision = Record(
        "escalation_decision",
        {
            "cohort": 1,
            "dose_level": 1,
            "decided_on": dt.date(2024, 3, 28),
            "outcomes": "1NNN",
            "decision": "stay",
        },
        True,
        record_id=1,
    )
    infusions = [
        Record("infusion", {"subject_id": s, "dose_level": 1, "infused_at": at}, False, record_id=i)
        for i, s in enumerate(SUBJECTS, 1)
    ]
    subjects = [
        Record("subject", {"subject_id": s, "site_id": "NYC"}, False, record_id=i)
        for i, s in enumerate(SUBJECTS, 1)
    ]
    return decision_window_findings([decision], infusions, PROTOCOL, [], subjects, zones)  # type: ignore[arg-type]


def test_the_store_check_agrees_with_the_replay() -> None:
    assert _store_findings({"NYC": "America/New_York"}) == []
    assert [f.check.id for f in _store_findings(None)] == ["DECISION-BEFORE-DLT-WINDOW"]


def test_a_bare_infusion_date_is_day_0_at_a_site_west_of_utc() -> None:
    """An infusion typed 2024-03-01 without a time (stored 00:00:00Z, 19:00 EST on 29 February): day 0 is 1
    March, the date typed (D-19.947). Hand count: 1 → 28 March is 27 days, the 28-day window incomplete
    (read on the clock, 29 February, it was 28 days: complete)."""
    decisions = _decision()
    for zone in ("America/New_York", "Pacific/Pago_Pago"):
        infusions = pd.DataFrame(
            {
                "subject_id": list(SUBJECTS),
                "dose_level": [1] * 3,
                "infused_at": ["2024-03-01"] * 3,
                "time_zone": [zone] * 3,
            }
        )
        row = replay_decisions(decisions, infusions, None, PROTOCOL).table.iloc[0]
        assert (int(row.days_after_last_infusion), bool(row.window_complete)) == (27, False)


def test_a_bare_infusion_date_is_queued_after_the_evening_before() -> None:
    """At a New York site, C and D infused 1 March 10:00 EST, B 1 March 21:00 EST (02:00Z on 2 March) and A
    typed 2 March without a time (stored 00:00:00Z on 2 March, 19:00 EST on the 1st). In infusion order
    (D-19.947) the first cohort of three is C, D, B, its last infusion 1 March: 1 → 28 March is 27 days
    (hand count); A, infused on 2 March, is the next cohort's. Queued by the stored instants, A went before
    B: the cohort's last infusion was A's 2 March (26 days)."""
    decisions = _decision()
    infusions = pd.DataFrame(
        {
            "subject_id": ["A", "B", "C", "D"],
            "dose_level": [1] * 4,
            "infused_at": [
                "2024-03-02",
                "2024-03-02T02:00:00Z",
                "2024-03-01T15:00:00Z",
                "2024-03-01T15:00:00Z",
            ],
            "time_zone": ["America/New_York"] * 4,
        }
    )
    row = replay_decisions(decisions, infusions, None, PROTOCOL).table.iloc[0]
    assert int(row.days_after_last_infusion) == 27
