"""Composable behaviours (``dose-escalation.md`` section 10) and their invariants."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.escalation import (
    Boin,
    Crm,
    DontSkipDoses,
    ExpansionCohort,
    StopAtN,
    StopWhenNAtDose,
    StopWhenTooToxic,
    ThreePlusThree,
    parse_outcomes,
    simulate,
    with_behaviours,
)


def test_stop_at_n_counts_every_patient() -> None:
    """stop_at_n: stop when the total reaches n, counting a truncated last cohort (section 10)."""
    design = with_behaviours(Boin(3, 0.3), StopAtN(7))
    assert design.fit(parse_outcomes("1NNN 2NNN", 3)).continue_
    fit = design.fit(parse_outcomes("1NNN 2NNN 3N", 3))
    assert not fit.continue_ and fit.next_dose is None
    assert fit.select_mtd().dose_level is not None  # stopping for sample size still selects an MTD


def test_simulation_truncates_last_cohort_to_max_n() -> None:
    """Section 4.3: the last cohort is truncated so the total is exactly max_n (here 10 with cohorts of 3)."""
    oc = simulate(
        with_behaviours(Boin(3, 0.3), StopAtN(10)), [0.01, 0.02, 0.03], cohorts=10, trials=200, seed=1
    )
    assert abs(oc.total_n - 10) < 1e-9


def test_stop_when_n_at_recommended_dose_and_requires_stay() -> None:
    """stop_when_n_at_dose('recommended'); requires_stay=True is BOIN get.oc n.earlystop (section 4.3)."""
    history = parse_outcomes("1NNN 2NTN 2NNN", 3)  # 1/6 at 2: BOIN escalates to 3 (n3 = 0)
    assert with_behaviours(Boin(3, 0.3), StopWhenNAtDose(6)).fit(history).continue_
    stay = parse_outcomes("1NNN 2NTT 2NNN", 3)  # 2/6 at 2: BOIN stays
    assert not with_behaviours(Boin(3, 0.3), StopWhenNAtDose(6, requires_stay=True)).fit(stay).continue_
    back = parse_outcomes("1NNN 1NNN 2TTN", 3)  # de-escalate to 1 which has 6
    assert not with_behaviours(Boin(3, 0.3), StopWhenNAtDose(6)).fit(back).continue_
    assert with_behaviours(Boin(3, 0.3), StopWhenNAtDose(6, requires_stay=True)).fit(back).continue_


def test_stop_when_too_toxic_recommends_no_dose() -> None:
    """A trial stopped for toxicity recommends no dose, as next dose or MTD (section 10 invariant)."""
    design = with_behaviours(
        Crm([0.1, 0.2, 0.3], 0.25), StopWhenTooToxic(dose=1, threshold=0.25, confidence=0.8)
    )
    fit = design.fit(parse_outcomes("1TTT", 3))
    assert not fit.continue_ and fit.next_dose is None
    assert fit.select_mtd().dose_level is None
    assert fit.admissible == ()


def test_dont_skip_doses() -> None:
    """dont_skip_doses: never more than one level above the highest tried (CRM would skip here)."""
    crm = Crm([0.02, 0.04, 0.06, 0.3, 0.5], 0.3)
    history = parse_outcomes("1NNN", 5)
    assert crm.fit(history).next_dose > 2
    restricted = with_behaviours(crm, DontSkipDoses())
    fit = restricted.fit(history)
    assert fit.next_dose == 2
    assert fit.admissible == (1, 2)


def test_dont_skip_doses_restricts_the_final_mtd_by_default_and_dfcrm_option() -> None:
    """dose-escalation.md section 10 invariant: an inadmissible level is never recommended as next dose
    *or as MTD* (default `restrict_mtd=True`: after 1NNN the CRM's estimate, level 4, is two above the
    highest admissible level 2, so the MTD is 2). `restrict_mtd=False` is R dfcrm's `crm()$mtd` and R
    escalation: the MTD over every non-eliminated level, the same as without the rule."""
    crm = Crm([0.02, 0.04, 0.06, 0.3, 0.5], 0.3)
    history = parse_outcomes("1NNN", 5)
    unrestricted = crm.fit(history).select_mtd().dose_level
    assert unrestricted is not None and unrestricted > 2
    assert with_behaviours(crm, DontSkipDoses()).fit(history).select_mtd().dose_level == 2
    dfcrm_like = with_behaviours(crm, DontSkipDoses(restrict_mtd=False)).fit(history)
    assert dfcrm_like.select_mtd().dose_level == unrestricted and dfcrm_like.next_dose == 2
    tried_up_to_4 = parse_outcomes("1NNN 2NNN 3NNN 4NNN", 5)
    assert with_behaviours(crm, DontSkipDoses()).fit(tried_up_to_4).select_mtd().dose_level == (
        crm.fit(tried_up_to_4).select_mtd().dose_level
    )


def test_expansion_cohort_after_3plus3() -> None:
    """Expansion at a chosen dose after escalation ends; MTD from the escalation phase."""
    design = with_behaviours(ThreePlusThree(2, variant="escalation_only"), ExpansionCohort(6, 2))
    assert design.fit(parse_outcomes("1NNN 2NNN", 2)).next_dose == 2
    partial = design.fit(parse_outcomes("1NNN 2NNN 2NNN", 2))
    assert partial.continue_ and partial.n_per_dose == (3, 6)
    done = design.fit(parse_outcomes("1NNN 2NNN 2NNNNNN", 2))
    assert not done.continue_ and done.n_per_dose == (3, 9)
    assert done.select_mtd().dose_level == 2


def test_expansion_never_above_the_mtd() -> None:
    """With cap_at_mtd (default), a fixed expansion level above the MTD is lowered to the MTD."""
    design = with_behaviours(ThreePlusThree(2, variant="escalation_only"), ExpansionCohort(6, 2))
    assert design.fit(parse_outcomes("1NNN 2TTN", 2)).next_dose == 1


BEHAVIOURS = [
    StopAtN(12),
    StopWhenNAtDose(6),
    StopWhenTooToxic(dose=1, threshold=0.3, confidence=0.9),
    DontSkipDoses(),
]


@settings(max_examples=property_examples(8), deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(0, 3)), min_size=1, max_size=5))
def test_behaviours_compose_in_any_order(cohorts: list[tuple[int, int]]) -> None:
    """Section 10 invariant: stopping behaviours compose in any order with the same result."""
    text = " ".join(f"{lv}" + "T" * y + "N" * (3 - y) for lv, y in cohorts)
    history = parse_outcomes(text, 4)
    results = set()
    for order in itertools.permutations(BEHAVIOURS):
        fit = with_behaviours(Boin(4, 0.3), *order).fit(history)
        results.add((fit.next_dose, fit.continue_, fit.reasons))
    assert len(results) == 1


@settings(max_examples=property_examples(20), deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(0, 3)), min_size=1, max_size=6))
def test_eliminated_never_recommended(cohorts: list[tuple[int, int]]) -> None:
    """Section 10 invariant: an eliminated level is never recommended, as next dose or as MTD."""
    text = " ".join(f"{lv}" + "T" * y + "N" * (3 - y) for lv, y in cohorts)
    fit = Boin(4, 0.3).fit(parse_outcomes(text, 4))
    if fit.next_dose is not None:
        assert fit.next_dose not in fit.eliminated
    mtd = fit.select_mtd().dose_level
    assert mtd is None or mtd not in fit.eliminated


@settings(max_examples=property_examples(20), deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(0, 3)), min_size=1, max_size=5))
def test_crm_with_dont_skip_never_names_an_inadmissible_mtd(cohorts: list[tuple[int, int]]) -> None:
    """Section 10 invariant for the model-based design: with dont_skip_doses (default `restrict_mtd`), the
    final MTD is admissible, whatever the outcomes so far."""
    text = " ".join(f"{lv}" + "T" * y + "N" * (3 - y) for lv, y in cohorts)
    crm = Crm([0.02, 0.04, 0.06, 0.3, 0.5], 0.3, integration="grid")
    fit = with_behaviours(crm, DontSkipDoses()).fit(parse_outcomes(text, 5))
    mtd = fit.select_mtd().dose_level
    assert mtd is None or mtd in fit.admissible


def test_simulated_trials_never_select_eliminated_levels() -> None:
    """Same invariant over 2,000 simulated BOIN trials with a toxic scenario."""
    oc = simulate(Boin(3, 0.3), [0.5, 0.7, 0.9], cohorts=10, trials=2000, seed=3)
    assert oc.early_stop_pct > 0
    assert np.isclose(sum(oc.selection_pct) + oc.no_mtd_pct, 100)


def test_coherent_escalation_blocks_escalation_after_a_dlt() -> None:
    """Coherence (Cheung 2005; dfcrm crmsim restrict rule 2): no escalation right after a cohort with a DLT.
    With a flat low skeleton the CRM alone escalates from level 2 to 4 after 2NNT."""
    from cartrial.escalation import CoherentEscalation

    crm = Crm([0.02, 0.04, 0.06, 0.10, 0.3], 0.3, integration="grid")
    history = parse_outcomes("1NNN 2NNT", 5)
    assert crm.fit(history).next_dose == 4
    assert with_behaviours(crm, CoherentEscalation()).fit(history).next_dose == 2
    clean = parse_outcomes("1NNN 2NNN", 5)
    assert with_behaviours(crm, CoherentEscalation()).fit(clean).next_dose == crm.fit(clean).next_dose
    oc = simulate(
        with_behaviours(crm, CoherentEscalation(), DontSkipDoses()),
        [0.05, 0.1, 0.2, 0.3, 0.5],
        cohorts=6,
        trials=300,
        seed=2,
    )
    assert (
        sum(oc.selection_pct) + oc.no_mtd_pct == 100
        or abs(sum(oc.selection_pct) + oc.no_mtd_pct - 100) < 1e-9
    )
