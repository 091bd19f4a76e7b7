"""The EDSS baseline of confirmed disability change is not taken during a relapse (D-19.864).

Source: MSoutcomes (CRAN) `CDW`/`CDI`, after Kalincik T et al., *Brain* 2015;138:3287: "If a baseline EDSS
score is not provided, it is determined as the first EDSS score recorded in the dataset outside 30 days
(the default) of a relapse" (``daysPostRelapse > tRelapse``, ``tRelapse = 30``); docs/science/
neuro-outcomes.md §5: a visit 0-30 days after a relapse onset reflects the attack, not the sustained
disability. An NMOSD patient is often infused soon after an attack: a baseline scored during it would make
the recovery from the attack a "confirmed improvement" of the treatment.

Expected values by hand (common CDI thresholds: a decrease >= 1.0 from a reference <= 5.5, confirmed at the
first visit >= 84 days later, held in between; NMOSD-trial worsening >= 1.0 from 1.0-5.0).
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import OptionError
from cartrial.neuro.derive import derive_disability
from cartrial.neuro.disability import BaselineVisit, DisabilityOptions, confirmed_disability_change
from cartrial.neuro.relapses import Phenotype, RelapseEpisode
from cartrial.protocol.edss_steps import EDSS_STEPS

DAY0 = date(2022, 3, 1)
MYELITIS = frozenset({Phenotype.MYELITIS})


def _row(
    visits: dict[int, float], relapse_days: list[int], options: DisabilityOptions | None = None
) -> pd.Series:
    edss = pd.DataFrame(
        {
            "subject_id": ["S1"] * len(visits),
            "assessed_at": [(DAY0 + timedelta(days=d)).isoformat() for d in visits],
            "edss": list(visits.values()),
        }
    )
    episodes = [RelapseEpisode("S1", DAY0 + timedelta(days=d), MYELITIS) for d in relapse_days]
    return derive_disability(edss, {"S1": DAY0}, relapses=episodes, options=options).table.iloc[0]


def test_baseline_during_an_attack_is_replaced_by_the_last_visit_outside_it() -> None:
    """Screening EDSS 3.0 on day -60, attack on day -20, EDSS 6.0 on day -5 (15 days after the onset: during
    the attack), then 3.0 on days 90 and 180. The baseline is day -60's 3.0 (the last visit on or before
    day 0 outside 30 days of a relapse): no improvement. Day -5's 6.0 as the baseline would give a confirmed
    improvement of 3.0 that is only the recovery from the attack."""
    row = _row({-60: 3.0, -5: 6.0, 90: 3.0, 180: 3.0}, [-20])
    assert row["baseline_edss"] == 3.0
    assert not row["improvement_confirmed"]
    assert not row["improvement_unconfirmed"]
    assert "day -60" in row["reason"]


def test_the_option_last_keeps_the_visit_during_the_attack() -> None:
    """``baseline_visit="last"``: the last visit on or before day 0 whatever its timing (the reading of §5's
    "fixed (baseline)" reference without the relapse rule, D-19.187): 6.0 -> 3.0 is a confirmed improvement
    (decrease 3.0 >= 0.5 above 5.5), confirmed on day 180."""
    row = _row({-60: 3.0, -5: 6.0, 90: 3.0, 180: 3.0}, [-20], DisabilityOptions(baseline_visit="last"))
    assert row["baseline_edss"] == 6.0
    assert row["improvement_confirmed"]
    assert row["improvement_confirmed_day"] == 180


def test_a_visit_exactly_30_days_after_the_onset_is_during_it_and_31_is_not() -> None:
    """MSoutcomes keeps a baseline with ``daysPostRelapse > 30``; the engine's window is 0-30 days after the
    onset inclusive (§5): day -20 after an onset on day -50 is 30 days (during), on day -51 it is 31 days."""
    during = _row({-100: 2.0, -20: 5.0, 100: 5.0, 200: 5.0}, [-50])
    assert during["baseline_edss"] == 2.0
    assert during["worsening_confirmed"]  # 2.0 -> 5.0 is >= 1.0, held to day 200
    outside = _row({-100: 2.0, -20: 5.0, 100: 5.0, 200: 5.0}, [-51])
    assert outside["baseline_edss"] == 5.0
    assert not outside["worsening_confirmed"]


def test_every_pre_infusion_visit_during_an_attack_leaves_no_baseline() -> None:
    """Only a visit during the attack before day 0: no baseline, no change evaluated (as D-19.187 for a
    subject without a visit on or before day 0), and the reason says why."""
    row = _row({-5: 6.0, 90: 3.0, 180: 3.0}, [-20])
    assert pd.isna(row["baseline_edss"])
    assert not row["improvement_evaluable"]
    assert not row["improvement_confirmed"]
    assert "relapse" in row["reason"]


def test_exclusion_window_zero_turns_the_rule_off() -> None:
    """``relapse_exclusion_days=0`` (no visit is "during a relapse"): the last visit on or before day 0."""
    row = _row({-60: 3.0, -5: 6.0, 90: 3.0, 180: 3.0}, [-20], DisabilityOptions(relapse_exclusion_days=0))
    assert row["baseline_edss"] == 6.0


def test_unknown_baseline_visit_value_is_an_option_error() -> None:
    with pytest.raises(OptionError):
        DisabilityOptions(baseline_visit="first")  # type: ignore[arg-type]
    assert DisabilityOptions().as_dict()["baseline_visit"] == BaselineVisit.OUTSIDE_RELAPSE.value


steps = st.sampled_from(EDSS_STEPS)


@settings(max_examples=property_examples(60), deadline=None)
@given(st.lists(steps, min_size=3, max_size=6), st.integers(1, 30), steps)
def test_a_score_during_the_attack_never_moves_the_baseline(
    scores: list[float], after_onset: int, during: float
) -> None:
    """Adding (or changing) an EDSS visit 1-30 days after a pre-infusion relapse onset changes neither the
    baseline nor either confirmed outcome: the attack's score is not the patient's reference disability."""
    onset = -40
    visits = {-90: scores[0], **{84 * k: s for k, s in enumerate(scores[1:], start=1)}}
    plain = _row(visits, [onset])
    with_attack = _row({**visits, onset + after_onset: during}, [onset])
    for column in ("baseline_edss", "improvement_confirmed", "worsening_confirmed"):
        assert plain[column] == with_attack[column]


def test_a_score_during_an_attack_never_becomes_the_roving_reference() -> None:
    """Roving reference for improvement (§5: reset to a higher EDSS held at the next visit): baseline 3.0,
    relapse on day 20, EDSS 6.0 on days 30 and 45 (10 and 25 days after the onset: during the attack), then
    3.0 on days 150 and 250. The attack's 6.0 is not a reference (D-19.864, as for the baseline): from 3.0
    there is no improvement. Taking 6.0 as the reference would give a confirmed "improvement" of 3.0 that is
    the recovery from the attack."""
    visits = [(0, 3.0), (30, 6.0), (45, 6.0), (150, 3.0), (250, 3.0)]
    options = DisabilityOptions(reference="roving")  # type: ignore[arg-type]
    out = confirmed_disability_change(visits, "improvement", options, relapse_days=[20])
    assert out.confirmed is None
    # outside the attack the same scores do move the roving reference: no relapse, 6.0 held at day 45
    plain = confirmed_disability_change(visits, "improvement", options)
    assert plain.confirmed is not None
    assert plain.confirmed.reference_edss == 6.0


def test_a_visit_during_an_attack_does_not_hold_a_roving_reset() -> None:
    """Worsening with a roving reference: 4.0, then 2.0 on day 30, 2.0 on day 60 during an attack
    (relapse day 40, 20 days before) and 3.0 on days 150 and 250. The lower 2.0 is held only at a visit during
    the attack, which neither confirms nor refutes (§5), so the reference stays 4.0: no worsening. Outside an
    attack the hold at day 60 resets the reference to 2.0 and 3.0 is a worsening of 1.0."""
    visits = [(0, 4.0), (30, 2.0), (60, 2.0), (150, 3.0), (250, 3.0)]
    options = DisabilityOptions(reference="roving")  # type: ignore[arg-type]
    assert confirmed_disability_change(visits, "worsening", options, relapse_days=[40]).confirmed is None
    plain = confirmed_disability_change(visits, "worsening", options)
    assert plain.confirmed is not None
    assert plain.confirmed.reference_edss == 2.0


def test_without_relapse_data_a_confirmed_worsening_is_not_called_pira() -> None:
    """§5: worsening is relapse-associated if a relapse occurred within 90 days before onset or between onset
    and confirmation, "otherwise" PIRA — a statement about the relapses, so without relapse data (``relapses``
    not given) the class is unknown (blank), not PIRA (D-19.867). With relapse data and none near it: PIRA."""
    edss = pd.DataFrame(
        {
            "subject_id": ["S1"] * 3,
            "assessed_at": [(DAY0 + timedelta(days=d)).isoformat() for d in (0, 30, 150)],
            "edss": [3.0, 4.5, 4.5],
        }
    )
    unknown = derive_disability(edss, {"S1": DAY0}).table.iloc[0]
    assert unknown["worsening_confirmed"]
    assert pd.isna(unknown["worsening_relapse_associated"])
    known = derive_disability(edss, {"S1": DAY0}, relapses=[]).table.iloc[0]
    assert not pd.isna(known["worsening_relapse_associated"])
    assert not known["worsening_relapse_associated"]
