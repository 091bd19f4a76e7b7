"""Silent wrong decisions and operating characteristics found in review (decisions D-19.693 onwards).

Expected values come from the rules of docs/science/dose-escalation.md and hand calculation, never from
running the code."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.escalation import Crm, DontSkipDoses, TiteCrm, parse_outcomes, simulate, with_behaviours

from .conftest import tite_decisions, tite_infusions, tite_protocol

SKELETON = [0.02, 0.05, 0.10, 0.20, 0.30, 0.40]
LOW_TRUTH = [0.01, 0.02, 0.03, 0.05, 0.10, 0.25]


def test_tite_simulation_keeps_the_final_mtd_admissible_as_the_live_design() -> None:
    """§10 invariant, D-19.390: with the no-skipping rule the final MTD is never a level the rule makes
    inadmissible — more than one level above the last dose given. Three patients, one per cohort, fully
    followed before each decision (accrual 28 days = the window): at most levels 1, 2, 3 are treated, so
    the MTD is at most level 4 in every simulated trial, as the live fit says after ``1N 2N 3N`` (the
    CRM's unrestricted choice is level 6). The TITE-CRM simulation selected level 6 in most trials."""
    tite = with_behaviours(TiteCrm(SKELETON, 0.25, window_days=28, cohort_size=1), DontSkipDoses())
    live = tite.fit(parse_outcomes("1N 2N 3N", 6).with_followup([28, 28, 28])).select_mtd().dose_level
    assert live == 4  # the cap: last dose 3 + 1
    oc = simulate(tite, LOW_TRUTH, cohorts=3, trials=400, seed=1, accrual_days=28, keep_trials=True)
    assert oc.per_trial is not None
    n, mtd = oc.per_trial["n"], oc.per_trial["mtd"]
    highest = np.where(n > 0, np.arange(6)[None, :], -1).max(axis=1)
    assert (mtd <= highest + 1).all()
    assert oc.selection_pct[5] == 0.0
    # with complete follow-up every weight is 1: the TITE-CRM is the CRM (§8), selection included
    crm = with_behaviours(Crm(SKELETON, 0.25, cohort_size=1), DontSkipDoses())
    assert simulate(crm, LOW_TRUTH, cohorts=3, trials=400, seed=1).selection_pct == oc.selection_pct


def test_tite_replay_weighs_follow_up_at_the_decision_and_allows_deciding_before_the_window() -> None:
    """§8: a TITE-CRM decides while earlier patients are still inside the DLT window, each weighing
    min(u / T, 1) at the decision. Patients A, B (level 1) and C (level 2, DLT) complete; D (level 2) infused
    on 2021-05-29 and the decision taken on 2021-06-01: D weighs 3/28 and the design gives level 1
    (de-escalate); as a complete window it would give level 2 (stay). A decision before D's window closes is
    the design's rule, not a protocol deviation. The replay compared with full follow-up and called it one."""
    from cartrial.escalation import replay_decisions

    infusions = tite_infusions()
    decisions = tite_decisions()
    # by quadrature of the weighted empiric likelihood, N(0, 1.34) prior (independent of the engine): with D
    # at day 3 beta-hat -0.367497, p (0.230, 0.383): level 1; D fully followed beta-hat -0.175675: level 2
    design = TiteCrm([0.12, 0.25], 0.25, window_days=28, cohort_size=1)
    history = parse_outcomes("1N 1N 2T 2N", 2)
    assert design.fit(history.with_followup([28, 28, 28, 3])).next_dose == 1  # the rule, D at day 3
    assert design.fit(history).next_dose == 2  # D taken as fully followed (the quadrature's level 2)
    row = replay_decisions(decisions, infusions, None, tite_protocol()).table.iloc[3]
    assert row.design_decision == "de-escalate"
    assert int(row.design_next_dose) == 1
    assert row.deviation == ""


def _rank(fit: Any) -> int:
    """A decision as a dose rank: the next dose; when the trial stops, the level it declares (0: none)."""
    if fit.continue_ and fit.next_dose is not None:
        return int(fit.next_dose)
    return int(fit.select_mtd().dose_level or 0)


@settings(max_examples=property_examples(60), deadline=None)
@given(
    st.sampled_from(["3+3 B", "3+3 A", "boin", "mtpi2", "i3+3"]),
    st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=6),
)
def test_one_more_dlt_in_the_last_cohort_never_gives_a_higher_next_dose(name: str, dlts: list[int]) -> None:
    """Coherence (Cheung 2005; §3, §4.2, §5, §6): with everything else equal, one more DLT in the latest
    cohort never leads to a higher next dose. Histories are grown by the design itself (cohorts of 3)."""
    from cartrial.escalation import Boin, I3plus3, Mtpi2, ThreePlusThree

    designs = {
        "3+3 B": ThreePlusThree(4),
        "3+3 A": ThreePlusThree(4, variant="escalation_only"),
        "boin": Boin(4, 0.3),
        "mtpi2": Mtpi2(4, 0.3),
        "i3+3": I3plus3(4, 0.3),
    }
    design = designs[name]
    history = ""
    for count in dlts:
        fit = design.fit(history)
        if not fit.continue_ or fit.next_dose is None:
            break
        level = fit.next_dose
        fewer = f"{history} {level}{'T' * min(count, 2)}{'N' * (3 - min(count, 2))}".strip()
        more = f"{history} {level}{'T' * (min(count, 2) + 1)}{'N' * (2 - min(count, 2))}".strip()
        assert _rank(design.fit(more)) <= _rank(design.fit(fewer)), (fewer, more)
        history = fewer


@settings(max_examples=property_examples(40), deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=5), st.booleans())
def test_exact_three_plus_three_probabilities_sum_to_one_and_escalation_is_storer(
    truth: list[float], escalation_only: bool
) -> None:
    """Exact 3+3 enumeration: selection % and no-MTD % sum to 100; the mean number treated at level 2 is 3
    times the probability of clearing level 1, P = (1-p)^3 + 3p(1-p)^2 (1-p)^3 (Storer 1989; Lin & Shih
    2001), and level 1 treats 3 + 3 x 3p(1-p)^2 patients on average when nothing can bring the trial back to
    it (escalation only; likewise level 2 when no level above can send the trial back to it)."""
    from cartrial.escalation import ThreePlusThree, exact_three_plus_three

    variant = "escalation_only" if escalation_only else "deescalation"
    oc = exact_three_plus_three(ThreePlusThree(len(truth), variant=variant), truth)
    assert abs(sum(oc.selection_pct) + oc.no_mtd_pct - 100.0) < 1e-9
    p = truth[0]
    clear = (1 - p) ** 3 + 3 * p * (1 - p) ** 2 * (1 - p) ** 3
    if len(truth) == 2 or (len(truth) > 2 and escalation_only):  # level 2 is never re-entered from above
        first_visit = 3 * clear  # level 2's first cohort; its second cohort adds 3 x P(1/3 there)
        q = truth[1]
        assert abs(oc.mean_n[1] - first_visit * (1 + 3 * q * (1 - q) ** 2)) < 1e-9
    if escalation_only:
        assert abs(oc.mean_n[0] - (3 + 9 * p * (1 - p) ** 2)) < 1e-9
