"""Review of D-19.896/897 (D-19.899, D-19.902, D-19.904).

- `derive_responders(relapses=...)` reads the parameter as `derive_disability` does (`relapse_attacks`): a
  relapse form or `RelapseEpisode` records are merged into attacks, anything else is a `CartrialError`
  naming the parameter and the allowed types. Before: a DataFrame raised a pandas ValueError and an episode
  list an AttributeError (``onsets``).
- Without relapse data the options say ``relapse_data`` false and a note says nothing was excluded.
- The 30-day window is one constant (`RELAPSE_EXCLUSION_DAYS`).
- The EDSS method-switch check of a responder compares the attack-excluded baseline (D-19.896's claim).
- With ``sustained`` an unscored visit after the confirmation does not count (D-19.897's claim).

Hand values: infusion 2021-06-01 (day 0); an attack with onset on day -20 (2021-05-12); a 25-foot walk of
6.0 s on day -60, 12.0 s on day -5 (15 days after the onset: during the attack) and 6.0 s on day 90. The
outside-relapse baseline is 6.0 s (0 % faster: not a responder); 12.0 s would read as 50 % faster.
"""

from __future__ import annotations

import inspect
from datetime import date, timedelta

import pandas as pd
import pytest

from cartrial.errors import CartrialError
from cartrial.neuro.derive import (
    NO_RELAPSE_DATA_NOTE,
    derive_disability,
    derive_responders,
    relapse_attacks,
)
from cartrial.neuro.disability import (
    RELAPSE_EXCLUSION_DAYS,
    DisabilityOptions,
    confirmed_disability_change,
)
from cartrial.neuro.edss_scale import FS_NAMES
from cartrial.neuro.relapses import Phenotype, RelapseEpisode

DAY0 = date(2021, 6, 1)


def _day(n: int) -> date:
    return DAY0 + timedelta(days=n)


WALK = pd.DataFrame(
    {
        "subject_id": ["S1", "S1", "S1"],
        "assessed_at": [f"{_day(d).isoformat()}T09:00:00Z" for d in (-60, -5, 90)],
        "trial_1_seconds": [6.0, 12.0, 6.0],
        "trial_2_seconds": [6.0, 12.0, 6.0],
        "unable_to_walk": ["false"] * 3,
    }
)
RELAPSE_FORM = pd.DataFrame(
    {
        "subject_id": ["S1"],
        "onset_date": [_day(-20).isoformat()],
        "phenotype": ["myelitis"],
        "severity": ["moderate"],
        "lasted_over_24h": ["true"],
        "fever_or_infection": ["false"],
    }
)
EPISODES = [RelapseEpisode("S1", _day(-20), frozenset({Phenotype.MYELITIS}))]


def _walk_outcome(relapses: object) -> tuple[bool, bool | None, object]:
    result = derive_responders(
        {"S1": DAY0},
        timed_walk=WALK,
        definitions=["t25fw_20pct_faster"],
        relapses=relapses,  # type: ignore[arg-type]
    )
    (outcome,) = result.summaries[0].subjects
    return outcome.evaluable, outcome.responder, outcome.baseline["t25fw_seconds"]


@pytest.mark.parametrize(
    "relapses", [RELAPSE_FORM, RELAPSE_FORM.to_csv(index=False), EPISODES], ids=["frame", "csv", "episodes"]
)
def test_a_relapse_form_or_episodes_are_merged_into_attacks(relapses: object) -> None:
    assert _walk_outcome(relapses) == (True, False, 6.0)


@pytest.mark.parametrize(
    "relapses",
    [{"S1": "2021-05-12"}, 42, ["2021-05-12"], [EPISODES[0], 1]],
    ids=["dict", "int", "text", "mixed"],
)
def test_an_unsupported_relapses_argument_names_the_parameter(relapses: object) -> None:
    for call in (
        lambda: _walk_outcome(relapses),
        lambda: derive_disability(
            pd.DataFrame({"subject_id": ["S1"], "assessed_at": ["2021-05-01"], "edss": [3.0]}),
            {"S1": DAY0},
            relapses=relapses,  # type: ignore[arg-type]
        ),
    ):
        with pytest.raises(CartrialError) as caught:
            call()
        text = str(caught.value)
        assert text.startswith("relapses:")
        assert "RelapseEpisode" in text and "Attack" in text and "relapse form" in text
        assert "2021-05-12" not in text  # no record value in a message (D-12.2)


def test_one_reading_of_the_parameter() -> None:
    (attack,) = relapse_attacks(RELAPSE_FORM) or []
    assert (attack.subject_id, attack.onsets) == ("S1", (_day(-20),))
    assert relapse_attacks(None) is None
    assert relapse_attacks([]) == []


def test_without_relapse_data_the_result_says_nothing_was_excluded() -> None:
    result = derive_responders({"S1": DAY0}, timed_walk=WALK, definitions=["t25fw_20pct_faster"])
    assert result.options["baseline_visit"] == "outside_relapse"
    assert result.options["relapse_data"] is False
    assert NO_RELAPSE_DATA_NOTE in result.notes
    # 12.0 -> 6.0 s: 50 % faster, the attack not known
    (outcome,) = result.summaries[0].subjects
    assert outcome.responder is True
    given = derive_responders(
        {"S1": DAY0}, timed_walk=WALK, definitions=["t25fw_20pct_faster"], relapses=RELAPSE_FORM
    )
    assert given.options["relapse_data"] is True and NO_RELAPSE_DATA_NOTE not in given.notes
    last = derive_responders(
        {"S1": DAY0}, timed_walk=WALK, definitions=["t25fw_20pct_faster"], baseline_visit="last"
    )
    assert NO_RELAPSE_DATA_NOTE not in last.notes  # `last` excludes nothing by rule: nothing to report


def test_the_window_is_one_constant() -> None:
    assert RELAPSE_EXCLUSION_DAYS == 30  # MSoutcomes / Kappos 2020: 30 days after an onset
    assert DisabilityOptions().relapse_exclusion_days == RELAPSE_EXCLUSION_DAYS
    default = inspect.signature(derive_responders).parameters["relapse_exclusion_days"].default
    assert default == RELAPSE_EXCLUSION_DAYS


def _edss_rows() -> pd.DataFrame:
    # day -200 Neurostatus ambulation 6 (EDSS 6.0); day -10 Kurtzke unilateral aid 60 m (6.5), 10 days after
    # an attack onset on day -20; day 180 Neurostatus 6.0 (neuro-outcomes.md §1.6-§1.7)
    rows = [
        {"assessed_at": _day(-200).isoformat(), "ambulation": "6", "method": "neurostatus_16",
         "assistance": "", "walking_distance_m": ""},
        {"assessed_at": _day(-10).isoformat(), "ambulation": "", "method": "kurtzke",
         "assistance": "unilateral", "walking_distance_m": "60"},
        {"assessed_at": _day(180).isoformat(), "ambulation": "6", "method": "neurostatus_16",
         "assistance": "", "walking_distance_m": ""},
    ]  # fmt: skip
    return pd.DataFrame(
        [{"subject_id": "S1", **dict.fromkeys(FS_NAMES, "0"), **r} for r in rows], dtype=object
    )


def test_the_method_switch_check_uses_the_attack_excluded_baseline() -> None:
    # outside_relapse: baseline the day -200 Neurostatus 6.0, follow-up Neurostatus 6.0: no switch,
    # evaluable, no decrease
    result = derive_responders(
        {"S1": DAY0}, edss=_edss_rows(), definitions=["edss_decrease_0_5"], relapses=EPISODES
    )
    (outcome,) = result.summaries[0].subjects
    assert (outcome.evaluable, outcome.responder, outcome.baseline) == (True, False, {"edss": 6.0})
    # last: baseline the Kurtzke 6.5 during the attack, a switch in the walking range: not evaluable
    last = derive_responders(
        {"S1": DAY0},
        edss=_edss_rows(),
        definitions=["edss_decrease_0_5"],
        relapses=EPISODES,
        baseline_visit="last",
    )
    (outcome,) = last.summaries[0].subjects
    assert not outcome.evaluable and "D-19.746" in outcome.reason


def test_an_unscored_visit_after_the_confirmation_does_not_count() -> None:
    # 3.0 at baseline, 4.5 on days 30, 120 and 300 (>= 1.0 from 3.0, nmosd_trial): confirmed on day 120
    # and held to the end; a visit on day 200 without a score neither breaks nor holds it (D-19.897)
    visits = [(0, 3.0), (30, 4.5), (120, 4.5), (300, 4.5)]
    options = DisabilityOptions(sustained=True)
    out = confirmed_disability_change(visits, "worsening", options, unscored_days=[200])
    assert out.confirmed is not None
    assert (out.confirmed.onset_day, out.confirmed.confirmation_day) == (30, 120)
    # the same day scored 3.0 loses it: not sustained to the end of follow-up
    lost = confirmed_disability_change([*visits[:3], (200, 3.0), visits[3]], "worsening", options)
    assert lost.confirmed is None
