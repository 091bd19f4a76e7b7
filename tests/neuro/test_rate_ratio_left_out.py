"""`conditional_rate_ratio` names the strata it leaves out and why (D-19.1188). A patient with 0 post-infusion
(or 0 pre-infusion) patient-years has a conditional binomial probability of 0 (or 1) whatever the ratio:
the stratum carries no information on it (Farrington CP, Biometrics 1995;51:228) and is left out — but it
was left out silently, so a reader could not tell 1 patient from 2. Hand computation: the one remaining
stratum (1 attack before in 1 year, 1 after in 1 year) gives the ratio 1."""

from __future__ import annotations

from datetime import date

import pytest

from cartrial.neuro.relapses import (
    Phenotype,
    RelapseEpisode,
    SubjectFollowUp,
    annualised_relapse_rates,
    conditional_rate_ratio,
    merge_attacks,
    pre_post_rate_ratio,
)


def test_a_stratum_without_post_infusion_time_is_listed_with_its_reason() -> None:
    ratio = conditional_rate_ratio([(2, 1.0, 0, 0.0), (1, 1.0, 1, 1.0)])
    assert ratio.ratio == pytest.approx(1.0)
    assert ratio.n_informative == 1 and ratio.pre_attacks == 1
    assert [label for label, _ in ratio.left_out] == ["strata[0]"]
    assert "0 post-infusion patient-years" in ratio.left_out[0][1]
    assert "strata[0]" in ratio.left_out_text() and "left out" in ratio.left_out_text()


def test_a_stratum_without_pre_infusion_time_is_listed() -> None:
    ratio = conditional_rate_ratio([(0, 0.0, 3, 1.0), (1, 1.0, 1, 1.0)], method="pooled_conditional")
    assert [label for label, _ in ratio.left_out] == ["strata[0]"]
    assert "0 pre-infusion patient-years" in ratio.left_out[0][1]


def test_nothing_left_out_says_nothing() -> None:
    ratio = conditional_rate_ratio([(1, 1.0, 1, 1.0)])
    assert ratio.left_out == () and ratio.left_out_text() == ""


def test_pre_post_names_the_subject() -> None:
    on = frozenset({Phenotype.OPTIC_NEURITIS})
    episodes = [RelapseEpisode("A", date(2020, 6, 1), on), RelapseEpisode("B", date(2020, 9, 1), on)]
    attacks = merge_attacks(episodes)
    follow = [
        SubjectFollowUp("A", date(2021, 1, 1), date(2022, 1, 1)),
        SubjectFollowUp("B", date(2021, 1, 1), date(2021, 1, 1)),  # no day after the infusion
    ]
    ratio = pre_post_rate_ratio(annualised_relapse_rates(attacks, follow))
    assert [label for label, _ in ratio.left_out] == ["B"]
