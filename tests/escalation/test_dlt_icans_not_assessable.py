"""D-19.787: the DLT duration rule reads an unresolved ICANS episode as lasting through later "not assessable"
assessments (unarousable from sedation, D-19.675), as the heat map shows those days "unresolved, not graded"
(D-19.767) and as a resolved episode's duration spans them; a rule met only through such rows fires with a
query naming the days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis.toxicity import UNGRADED, episode_grade_days
from cartrial.escalation.dlt import assess_dlt, duration_query, query_days
from cartrial.grading import derive_graded_events, derive_icans_episodes
from cartrial.protocol.dlt import DltRule, GradedEvent

INFUSED = datetime(2024, 3, 10, 9, 0, tzinfo=UTC)
# a protocol rule with a duration: "ICANS grade >= 3 lasting > 3 days"
RULE = DltRule(
    id="icans_3_gt_3d",
    description="ICANS grade >= 3 lasting > 3 days",
    category="icans",
    min_grade=3,
    min_duration_days=3,
)


def _rows(sedated_days: list[int]) -> pd.DataFrame:
    """ICE 2 (alert: ASTCT ICE 0-2 = grade 3) on day 1 at 09:00 (24 h after the infusion), then one row a day
    at 09:00 on `sedated_days`: unarousable from sedation, ICE 0, no other finding (not assessable)."""
    rows = [
        {
            "assessed_at": INFUSED + timedelta(days=1),
            "consciousness": "alert",
            "ice_total": 2,
            "consciousness_other_cause": "false",
        },
        *(
            {
                "assessed_at": INFUSED + timedelta(days=d),
                "consciousness": "unarousable",
                "ice_total": 0,
                "consciousness_other_cause": "true",
            }
            for d in sedated_days
        ),
    ]
    frame = pd.DataFrame(rows)
    frame.insert(0, "subject_id", "S1")
    for column in ("seizure", "motor", "cerebral_edema"):
        frame[column] = "none"
    return frame


INFUSIONS = pd.DataFrame({"subject_id": ["S1"], "infused_at": [INFUSED.isoformat()]})


def test_sedated_rows_extend_the_unresolved_icans_duration_and_the_dlt_says_to_query() -> None:
    """Grade 3 on day 1, sedated (not assessable) on days 2-6, no grade-0 row: the episode is unresolved; by
    hand onset day 1, graded to day 1, known unresolved to day 6: 5 days > 3 → DLT (conservative), with a
    query naming day 1 and day 6."""
    (row,) = derive_graded_events(INFUSIONS, icans=_rows([2, 3, 4, 5, 6])).table.to_dict("records")
    assert (row["grade"], row["onset_day"], row["ongoing_at_day"], row["graded_to_day"]) == (3, 1.0, 6.0, 1.0)
    event = GradedEvent(
        "S1", "icans", row["term"], 3, "ASTCT 2019", 1.0, ongoing_at_day=6.0, graded_to_day=1.0
    )
    verdict = assess_dlt(event, [RULE], window_days=28)
    assert verdict.is_dlt
    # the engine names the days as numbers (the analysis renders them on the site's calendar, D-19.699)
    assert "only through assessments that could not grade it" in verdict.queries[RULE.id]
    assert query_days(event) == (1.0, 6.0)


def test_without_the_sedated_rows_the_duration_is_unknown_and_no_dlt() -> None:
    """The same grade 3 on day 1 alone: unresolved at day 1, 0 days known (not > 3): no DLT, no query."""
    (row,) = derive_graded_events(INFUSIONS, icans=_rows([])).table.to_dict("records")
    assert (row["ongoing_at_day"], row["graded_to_day"]) == (1.0, 1.0)
    event = GradedEvent(
        "S1", "icans", row["term"], 3, "ASTCT 2019", 1.0, ongoing_at_day=1.0, graded_to_day=1.0
    )
    verdict = assess_dlt(event, [RULE], window_days=28)
    assert not verdict.is_dlt and not verdict.queries


def test_the_heat_map_shows_the_same_days_unresolved() -> None:
    """One rule: the days the DLT reading counts (2-6) are the heat map's "unresolved, not graded" days, day 1
    its graded day (peak grade 3), observed to day 6 (7 days observed)."""
    table = derive_icans_episodes(_rows([2, 3, 4, 5, 6]), INFUSIONS).table
    grid = episode_grade_days(table, ["S1"], 8, observed={"S1": 7})["S1"]
    assert grid == [None, 3, UNGRADED, UNGRADED, UNGRADED, UNGRADED, UNGRADED, None]


def test_a_graded_duration_over_the_limit_needs_no_query() -> None:
    """Graded to day 5 (onset day 1: 4 days > 3): the rule fires on graded rows, no query."""
    event = GradedEvent("S1", "icans", "ICANS", 3, "ASTCT 2019", 1.0, ongoing_at_day=6.0, graded_to_day=5.0)
    verdict = assess_dlt(event, [RULE], window_days=28)
    assert verdict.is_dlt and not verdict.queries


DAYS = st.floats(min_value=0, max_value=40, allow_nan=False)


@settings(max_examples=property_examples(200), deadline=None)
@given(DAYS, DAYS, DAYS, st.floats(min_value=0, max_value=14, allow_nan=False))
def test_query_exactly_when_only_ungraded_days_meet_the_limit(
    onset: float, graded_extra: float, ungraded_extra: float, limit: float
) -> None:
    """For an unresolved event graded to `graded` ≤ known unresolved to `ongoing`: the rule fires iff
    ongoing − onset > limit (the DLT rule's "> N days"); it carries a query iff it fires and graded − onset
    ≤ limit; a rule that fires on the graded days alone fires on the longer reading too (never fewer DLTs)."""
    graded, ongoing = onset + graded_extra, onset + graded_extra + ungraded_extra
    rule = RULE.model_copy(update={"min_duration_days": limit})
    event = GradedEvent(
        "S1", "icans", "ICANS", 3, "ASTCT 2019", onset, ongoing_at_day=ongoing, graded_to_day=graded
    )
    verdict = assess_dlt(event, [rule], window_days=100)
    assert verdict.is_dlt == (ongoing - onset > limit)
    assert (rule.id in verdict.queries) == (verdict.is_dlt and not graded - onset > limit)
    assert (duration_query(event, rule) is not None) == (rule.id in verdict.queries)
    stricter = GradedEvent("S1", "icans", "ICANS", 3, "ASTCT 2019", onset, ongoing_at_day=graded)
    if assess_dlt(stricter, [rule], window_days=100).is_dlt:
        assert verdict.is_dlt


def test_a_resolved_episode_lasting_only_through_sedated_days_is_queried() -> None:
    """ICE 2 (alert: grade 3, ASTCT 2019) on day 1, sedated (not assessable) on days 2-6, ICE 10 (alert, no
    other finding: grade 0) on day 7: resolved on day 7, duration 6 days > 3 → DLT; its last graded row is day
    1 and the first sedated row day 2 (a grade 0 there: 1 day, not > 3): the duration exceeds 3 only through
    the sedated days → a query (D-19.787 as amended). Without the sedated rows (day 1 then day 7) nothing is
    ungraded: no query. (`graded_to_day` was the last graded row, day 1; it is the first sedated row, day 2,
    since the round-2 review, changed by design.)"""
    resolved = {
        "subject_id": "S1",
        "assessed_at": INFUSED + timedelta(days=7),
        "consciousness": "alert",
        "ice_total": 10,
        "consciousness_other_cause": "false",
        "seizure": "none",
        "motor": "none",
        "cerebral_edema": "none",
    }
    for sedated, queried in (([2, 3, 4, 5, 6], True), ([], False)):
        rows = pd.concat([_rows(sedated), pd.DataFrame([resolved])], ignore_index=True)
        (row,) = derive_graded_events(INFUSIONS, icans=rows).table.to_dict("records")
        assert (row["grade"], row["onset_day"], row["duration_days"]) == (3, 1.0, 6.0)
        graded_to = row["graded_to_day"]
        assert (graded_to == 2.0) if queried else pd.isna(graded_to)
        event = GradedEvent(
            "S1",
            "icans",
            row["term"],
            3,
            "ASTCT 2019",
            1.0,
            duration_days=6.0,
            graded_to_day=None if pd.isna(graded_to) else float(graded_to),
        )
        verdict = assess_dlt(event, [RULE], window_days=28)
        assert verdict.is_dlt
        assert (RULE.id in verdict.queries) is queried
        if queried:
            assert query_days(event) == (2.0, 7.0)  # first sedated row (was last graded, by design)


def _ice_row(at: datetime, ice: int, sedated: bool = False) -> dict[str, object]:
    return {
        "subject_id": "S1",
        "assessed_at": at,
        "consciousness": "unarousable" if sedated else "alert",
        "ice_total": 0 if sedated else ice,
        "consciousness_other_cause": "true" if sedated else "false",
        "seizure": "none",
        "motor": "none",
        "cerebral_edema": "none",
    }


def test_a_sedated_row_that_changes_nothing_raises_no_query() -> None:
    """Round-2 review (D-19.787): ICE 2 (grade 3) at 09:00 on days 1-4, a sedated row at 12:00 on day 4,
    ICE 10 (grade 0) at 09:00 on day 5: resolved on day 5, duration 4 days > 3 → DLT with or without the
    sedated row. Had the sedated row graded 0 the episode would have resolved on day 4.125 (3.125 days > 3):
    still a DLT, so the verdict does not hinge on it: no query. With the sedated rows at 12:00 on days 1-3
    instead (ICE 2 only on day 1 at 09:00), a grade 0 at the first would have ended it on day 1.125 (0.125
    days): queried."""
    rule = RULE
    for graded_days, sedated_at, queried in (
        ([1, 2, 3, 4], [INFUSED + timedelta(days=4, hours=3)], False),
        ([1], [INFUSED + timedelta(days=d, hours=3) for d in (1, 2, 3)], True),
    ):
        rows = [_ice_row(INFUSED + timedelta(days=d), 2) for d in graded_days]
        rows += [_ice_row(at, 0, sedated=True) for at in sedated_at]
        rows.append(_ice_row(INFUSED + timedelta(days=5), 10))
        (row,) = derive_graded_events(INFUSIONS, icans=pd.DataFrame(rows)).table.to_dict("records")
        assert (row["grade"], row["onset_day"], row["duration_days"]) == (3, 1.0, 4.0)
        graded_to = row["graded_to_day"]
        event = GradedEvent(
            "S1",
            "icans",
            row["term"],
            3,
            "ASTCT 2019",
            1.0,
            duration_days=4.0,
            graded_to_day=None if pd.isna(graded_to) else float(graded_to),
        )
        verdict = assess_dlt(event, [rule], window_days=28)
        assert verdict.is_dlt
        assert (rule.id in verdict.queries) is queried
