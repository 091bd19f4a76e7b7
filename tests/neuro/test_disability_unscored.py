"""Unscored EDSS visits and confirmation (D-19.688, D-19.690). Expected values by hand from
docs/science/neuro-outcomes.md §5 (NMOSD-trial thresholds, 84-day confirmation): from a baseline of 2.0 an
EDSS of 5.0 is a worsening (>= 1.0); from 5.0 an EDSS of 2.0 is an improvement (>= 1.0, CDI common)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.neuro.derive import derive_disability
from cartrial.neuro.disability import UNSCORED_BEFORE_CONFIRMATION, confirmed_disability_change

DAY0 = date(2021, 1, 1)


def _table(visits: dict[int, float | None], bad_days: tuple[int, ...] = ()) -> pd.DataFrame:
    """A keep-going scored EDSS table: a None score is an unscored row with an error; `bad_days` add an
    unscored row on a day that may also have a scored visit."""
    rows = [(d, e) for d, e in visits.items()] + [(d, None) for d in bad_days]
    return pd.DataFrame(
        {
            "subject_id": ["S1"] * len(rows),
            "assessed_at": [(DAY0 + timedelta(days=d)).isoformat() for d, _ in rows],
            "edss": [e for _, e in rows],
            "error": ["" if e is not None else "pyramidal: out of range" for _, e in rows],
        }
    )


def _row(visits: dict[int, float | None], bad_days: tuple[int, ...] = ()) -> tuple[pd.Series, list[str]]:
    result = derive_disability(_table(visits, bad_days), {"S1": DAY0})
    return result.table.iloc[0], list(result.notes)


def test_engine_unscored_visit_after_the_last_scored_one_is_named() -> None:
    """Onset day 31; no scored visit >= 84 days later, but a visit took place (unscored) on day 120: follow-up
    did not end before confirmation, the confirming visit has no score."""
    out = confirmed_disability_change([(0, 2.0), (31, 5.0)], "worsening", unscored_days=[120])
    assert out.confirmed is None
    assert [u.reason for u in out.unconfirmed] == [UNSCORED_BEFORE_CONFIRMATION]


def test_derive_unscored_visit_after_the_last_scored_one_gives_a_reason() -> None:
    row, notes = _row({0: 2.0, 31: 5.0, 120: None})
    assert not row["worsening_confirmed"] and row["worsening_unconfirmed"]
    assert "worsening from day 31 not confirmed" in row["reason"]
    assert any("S1" in n and "a worsening is not confirmed" in n for n in notes)


def test_an_unscored_visit_within_84_days_with_no_later_visit_is_follow_up_ended() -> None:
    out = confirmed_disability_change([(0, 2.0), (31, 5.0)], "worsening", unscored_days=[60])
    assert [u.reason for u in out.unconfirmed] == ["follow-up ended before confirmation"]


def test_a_later_onset_confirmed_reason_says_so() -> None:
    """Onset 31 blocked by the unscored day 59; onset 134 confirmed on day 230 (96 days later)."""
    row, _ = _row({0: 2.0, 31: 5.0, 59: None, 134: 5.0, 230: 5.0})
    assert row["worsening_confirmed"]
    assert "confirmed from day 134" in row["reason"]
    assert "worsening from day 31 not confirmed: " not in row["reason"]


def test_improvement_blocked_reads_an_improvement() -> None:
    row, notes = _row({0: 5.0, 31: 2.0, 59: None, 134: 2.0})
    assert not row["improvement_confirmed"] and row["improvement_unconfirmed"]
    assert "improvement from day 31 not confirmed" in row["reason"]
    assert any("an improvement is not confirmed" in n for n in notes)
    assert not any("a improvement" in n for n in notes)


def test_a_same_day_scored_visit_wins_over_an_unscored_row() -> None:
    """Day 59 has a scored 5.0 and an unscored row: the scored visit shows the change held (as a scored
    visit wins for the baseline), so 31 -> 134 is confirmed."""
    row, _ = _row({0: 2.0, 31: 5.0, 59: 5.0, 134: 5.0}, bad_days=(59,))
    assert row["worsening_confirmed"]
    out = confirmed_disability_change(
        [(0, 2.0), (31, 5.0), (59, 5.0), (134, 5.0)], "worsening", unscored_days=[59]
    )
    assert out.confirmed is not None and out.confirmed.onset_day == 31


def test_unscored_before_onset_or_after_confirmation_does_not_block() -> None:
    visits = [(0, 2.0), (31, 5.0), (134, 5.0)]
    for day in (10, 31, 200):
        out = confirmed_disability_change(visits, "worsening", unscored_days=[day])
        assert out.confirmed is not None and out.confirmed.confirmation_day == 134, day
    row, _ = _row({0: 2.0, 10: None, 31: 5.0, 134: 5.0, 200: None})
    assert row["worsening_confirmed"] and row["reason"] == ""


def test_engine_blocks_across_an_unscored_day() -> None:
    """Onset 31 blocked by the unscored day 59; day 134 (5.0) is itself an onset with no later visit."""
    out = confirmed_disability_change([(0, 2.0), (31, 5.0), (134, 5.0)], "worsening", unscored_days=[59])
    assert out.confirmed is None
    assert [u.reason for u in out.unconfirmed] == [
        UNSCORED_BEFORE_CONFIRMATION,
        "follow-up ended before confirmation",
    ]


def test_unscored_day_in_the_relapse_exclusion_window_does_not_block() -> None:
    """Relapse on day 50, exclusion 30 days: a visit on day 59 neither confirms nor refutes (§5)."""
    out = confirmed_disability_change(
        [(0, 2.0), (31, 5.0), (134, 5.0)], "worsening", relapse_days=[50], unscored_days=[59]
    )
    assert out.confirmed is not None and out.confirmed.confirmation_day == 134
    after = confirmed_disability_change(
        [(0, 2.0), (31, 5.0)], "worsening", relapse_days=[100], unscored_days=[120]
    )
    assert [u.reason for u in after.unconfirmed] == ["follow-up ended before confirmation"]


@settings(max_examples=property_examples(60), deadline=None)
@given(
    st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, 4.5, 5.0, 6.0]), min_size=2, max_size=6),
    st.sampled_from(["worsening", "improvement"]),
    st.integers(min_value=-5, max_value=800),
)
def test_an_unscored_day_outside_onset_to_confirmation_changes_nothing(
    scores: list[float], direction: str, extra: int
) -> None:
    visits = [(i * 40, s) for i, s in enumerate(scores)]
    base = confirmed_disability_change(visits, direction)
    if base.confirmed is None:
        return
    if base.confirmed.onset_day < extra <= base.confirmed.confirmation_day:
        return
    assert confirmed_disability_change(visits, direction, unscored_days=[extra]) == base


def test_a_plain_table_pd_na_blank_shows_no_got() -> None:
    from cartrial.errors import InputError

    edss = pd.DataFrame({"subject_id": ["S1", "S1"], "assessed_at": ["2021-01-01", "2021-06-01"]})
    edss["edss"] = pd.array([2.0, pd.NA], dtype="Float64")
    with pytest.raises(InputError) as caught:
        derive_disability(edss, {"S1": DAY0})
    assert "<NA>" not in str(caught.value)


def test_the_neuro_demo_prints_the_disability_notes(
    tmp_path: Path, examples_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo prints each of derive_disability's notes (D-19.685): a note added to the real result is
    on the console."""
    import dataclasses

    from rich.console import Console

    import cartrial.neuro
    from cartrial import templates as cartrial_templates
    from cartrial.demo import DemoContext
    from cartrial.demo.neuro import run

    real = cartrial.neuro.derive_disability

    def with_note(*args: object, **kwargs: object) -> object:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        return dataclasses.replace(result, notes=(*result.notes, "S9: 1 EDSS visit without a score"))

    monkeypatch.setattr(cartrial.neuro, "derive_disability", with_note)
    ctx = DemoContext(examples_dir, cartrial_templates.path(), tmp_path, Console(record=True, width=200))
    run(ctx)
    assert "note: S9: 1 EDSS visit without a score" in ctx.console.export_text()
