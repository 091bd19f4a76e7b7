"""Audit of the escalation engine against ../shared/reference/dose-escalation.md (branch audit-escal):
the no-skip option's help against its rule (D-19.390, D-19.1390), and invariants of the published rules
that no property test held yet."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.escalation import (
    Boin,
    I3plus3,
    Mtpi2,
    StopWhenTooToxic,
    TiteCrm,
    getprior,
    simulate,
    with_behaviours,
)
from cartrial.escalation.isotonic import TIE_BREAK, boin_raw_estimates, isotonic_mtd_batch, pava
from cartrial.escalation.outcomes import Outcomes, PatientOutcome
from cartrial.escalation.spec import assemble_design
from cartrial.protocol.design_options import OPTIONS

_TARGETS = st.sampled_from([0.1, 0.15, 0.2, 0.25, 0.3, 0.33, 0.4, 0.5])


def test_no_skip_help_says_the_default_keeps_the_final_mtd_admissible() -> None:
    """D-19.390: with `no_skip` not given (its default) the final MTD is kept within the admissible levels,
    as with an explicit `--no-skip` (`DontSkipDoses(restrict_mtd=True)`); only `--allow-skip` selects it
    over every level as dfcrm `crm()$mtd`. The option's help (printed by `--help`) said the opposite:
    "by default the final MTD is selected over every level ... while a given --no-skip keeps it within the
    admissible levels" (D-19.1390)."""
    skeleton = [0.05, 0.1, 0.2, 0.3, 0.4]
    options = {"target": 0.3, "skeleton": skeleton, "cohort_size": 3}
    default = assemble_design("crm", 5, options)
    given_ = assemble_design("crm", 5, {**options, "no_skip": True})
    # the rule: the same behaviour, MTD restricted, with and without the flag (after 1NNN 2NNN: level 3)
    assert default.options()["behaviours"] == given_.options()["behaviours"]
    assert default.options()["behaviours"][0]["restrict_mtd"] is True
    assert default.fit("1NNN 2NNN").select_mtd().dose_level == 3
    # the help says what the rule does
    text = " ".join(OPTIONS["no_skip"].help.split())
    assert "by default the final MTD is selected over every level" not in text
    assert "while a given --no-skip" not in text
    assert "keeps the final MTD within the admissible levels" in text


@settings(max_examples=property_examples(40), deadline=None)
@given(
    design=st.sampled_from([Boin, I3plus3, Mtpi2]),
    target=_TARGETS,
    n=st.integers(3, 60),
    data=st.data(),
)
def test_one_more_patient_without_dlt_never_gives_a_more_severe_decision(
    design: type, target: float, n: int, data: st.DataObject
) -> None:
    """Sections 4.2-4.3, 5, 6: from n >= 3 (every elimination rule applies from 3 patients), y DLTs among
    n + 1 never give a more severe decision (E < S < D < DU) than y among n: BOIN's boundaries floor(lambda_e
    n) and ceiling(lambda_d n) and the elimination count grow with n; i3+3's y/n and (y - 1)/n fall; mTPI-2's
    Beta(1 + y, 1 + n - y) posterior shifts down; P(p > target) falls."""
    y = data.draw(st.integers(0, n))
    built = design(3, target)
    assert int(built.cell(n + 1, y)) <= int(built.cell(n, y)), (n, y)


@settings(max_examples=property_examples(40), deadline=None)
@given(
    theta=st.sampled_from([0.15, 0.2, 0.25, 0.3, 0.33]),
    fraction=st.floats(0.05, 0.5),  # wider ones over 8 levels reach 0.0: refused (D-19.1392)
    n_doses=st.integers(1, 8),
    data=st.data(),
)
def test_getprior_skeleton_has_the_indifference_intervals(
    theta: float, fraction: float, n_doses: int, data: st.DataObject
) -> None:
    """Section 7.4 (Lee & Cheung, dfcrm `getprior`): s[nu] = theta, strictly increasing in (0, 1), and
    neighbouring levels meet at the ends of the indifference interval: under s^exp(beta) the beta at which
    level i is at theta - delta is the beta at which level i + 1 is at theta + delta, i.e.
    log(theta - delta) / log(s_i) = log(theta + delta) / log(s_(i+1)) (the recurrence of section 7.4)."""
    delta = fraction * min(theta, 1 - theta)
    nu = data.draw(st.integers(1, n_doses))
    s = getprior(delta, theta, nu, n_doses)
    assert math.isclose(float(s[nu - 1]), theta, rel_tol=1e-12)
    assert np.all((s > 0) & (s < 1))
    assert np.all(np.diff(s) > 0)
    for low, high in itertools.pairwise(s):
        assert math.isclose(
            math.log(theta - delta) / math.log(low), math.log(theta + delta) / math.log(high), rel_tol=1e-9
        )


@settings(max_examples=property_examples(40), deadline=None)
@given(
    patients=st.lists(st.tuples(st.booleans(), st.floats(0.0, 40.0)), min_size=1, max_size=8),
    scheme=st.sampled_from(["linear", "adaptive"]),
    extra=st.floats(0.0, 10.0),
    data=st.data(),
)
def test_tite_weights_lie_in_0_1_and_grow_with_follow_up(
    patients: list[tuple[bool, float]], scheme: str, extra: float, data: st.DataObject
) -> None:
    """Section 8: every weight lies in [0, 1]; a DLT patient weighs 1 and a fully followed one 1; a patient
    without DLT followed longer never weighs less (linear min(u / T, 1); adaptive (kappa + (u - t_kappa) /
    (t_(kappa+1) - t_kappa)) / (z + 1), continuous and increasing in u); with no DLT the adaptive scheme is
    the linear one (z = 0: w = u / T)."""
    window = 28.0
    rows = [(dlt, min(f, window) if dlt else f) for dlt, f in patients]  # a DLT is seen inside the window
    design = TiteCrm([0.1, 0.2, 0.3], 0.25, window_days=window, scheme=scheme)  # type: ignore[arg-type]

    def weights(follow: list[float]) -> np.ndarray:
        history = Outcomes(tuple(PatientOutcome(i + 1, 1, dlt) for i, (dlt, _) in enumerate(rows)))
        return design.weights(history.with_followup(follow))

    follow = [f for _, f in rows]
    w = weights(follow)
    dlt = np.array([d for d, _ in rows])
    assert np.all((w >= 0) & (w <= 1 + 1e-12))
    assert np.all(w[dlt] == 1.0)
    assert np.all(w[~dlt & (np.array(follow) >= window)] == 1.0)
    if not dlt.any():
        assert np.allclose(w, np.minimum(np.array(follow) / window, 1.0))
    j = data.draw(st.integers(0, len(rows) - 1))
    if not dlt[j]:
        longer = list(follow)
        longer[j] += extra
        assert weights(longer)[j] >= w[j] - 1e-12


@settings(max_examples=property_examples(60), deadline=None)
@given(
    counts=st.lists(st.tuples(st.integers(0, 15), st.integers(0, 15)), min_size=1, max_size=6),
    eliminated_from=st.integers(0, 6),
    target=_TARGETS,
)
def test_select_mtd_is_the_closest_isotonic_estimate_among_kept_levels(
    counts: list[tuple[int, int]], eliminated_from: int, target: float
) -> None:
    """Section 4.5 (BOIN 2.7.2 `select.mtd`): eliminated levels (and every level above one) and untreated
    levels are dropped; the estimates of the kept levels are non-decreasing; the MTD is a kept level whose
    tie-broken estimate (+ i x 1e-10 for the i-th kept level) is closest to the target, the first such;
    none when level 1 is eliminated or no level is kept."""
    n = np.array([a + b for a, b in counts])
    y = np.array([b for _, b in counts])
    k = n.size
    eliminated = np.arange(k) >= eliminated_from
    mtd, iso = isotonic_mtd_batch(n, y, eliminated, target)
    kept = (n > 0) & ~eliminated
    chosen = int(mtd[0])
    if eliminated[0] or not kept.any():
        assert chosen == -1
        return
    assert chosen >= 0 and kept[chosen]
    values = iso[0][kept]
    assert np.all(np.isnan(iso[0][~kept]))
    assert np.all(np.diff(values) >= -1e-12)
    p_hat, var = boin_raw_estimates(n[kept], y[kept])
    assert np.allclose(values, pava(p_hat, 1.0 / var))
    broken = values + np.arange(1, values.size + 1) * TIE_BREAK
    distance = np.abs(broken - target)
    assert np.flatnonzero(kept)[int(np.argmin(distance))] == chosen


def test_boin_extrasafe_stop_names_extrasafe_not_stop_when_too_toxic() -> None:
    """Section 4.3 (BOIN 2.7.2 `get.oc`): with `extrasafe`, stop when n_1 >= 3 and P(p_1 > target) >
    cutoff.eli - offset = 0.90. After 1TTN at target 0.3: P(p_1 > 0.3 | 2 of 3) = 1 - I_0.3(3, 2) = 1 -
    (4 x 0.3^3 x 0.7 + 0.3^4) = 1 - 0.0837 = 0.9163: above 0.90, below the elimination cut-off 0.95 (level 1
    is not eliminated), so the stop is extrasafe's. The fit's reason named `stop_when_too_toxic`, a behaviour
    the design does not have (D-19.1391); a `StopWhenTooToxic` behaviour's stop still names itself."""
    fit = Boin(5, 0.3, extrasafe=True).fit("1TTN")
    assert not fit.continue_ and fit.next_dose is None and fit.select_mtd().dose_level is None
    assert fit.eliminated == ()
    text = " ".join(fit.reasons)
    assert "stop_when_too_toxic" not in text
    assert "extrasafe" in text
    behaviour = with_behaviours(Boin(5, 0.3), StopWhenTooToxic(confidence=0.9)).fit("1TTN")
    assert not behaviour.continue_ and "stop_when_too_toxic" in " ".join(behaviour.reasons)
    assert "extrasafe" not in " ".join(behaviour.reasons)


def test_a_stop_when_too_toxic_at_level_2_does_not_say_lowest_dose() -> None:
    """`StopWhenTooToxic(dose=2)` stops when P(p_2 > target) > confidence under Beta(1, 1) with the data at
    level 2: after 1NNN 2TTT at target 0.3, P(p_2 > 0.3 | 3 of 3) = 1 - 0.3^4 = 0.9919 > 0.9.
    The stop's reason named "lowest dose too toxic" although level 1 had no DLT; it now names the monitored
    dose and the behaviour."""
    fit = with_behaviours(Boin(5, 0.3), StopWhenTooToxic(dose=2, confidence=0.9)).fit("1NNN 2TTT")
    text = " ".join(fit.reasons)
    assert not fit.continue_ and fit.next_dose is None
    assert "stop_when_too_toxic" in text
    assert "lowest dose too toxic" not in text


def test_boin_extrasafe_stop_has_its_own_label_in_simulated_trials() -> None:
    """The per-trial stop reason of an extrasafe stop is `lowest_dose_extrasafe` (a safety stop: no MTD,
    counted in the early-stop rate), not `lowest_dose_too_toxic` (stop_when_too_toxic) (D-19.1391). With a
    true probability of 0.7 at level 1, a first cohort of 2/3 stops by extrasafe (P = 0.9163, above) and one
    of 3/3 by elimination (P = 1 - 0.3^4 = 0.9919 > 0.95, `lowest_dose_eliminated`)."""
    oc = simulate(
        Boin(3, 0.3, extrasafe=True), [0.7, 0.8, 0.9], cohorts=3, trials=400, seed=3, keep_trials=True
    )
    table = oc.trials_table()
    labels = set(table["stop_reason"])
    assert "lowest_dose_too_toxic" not in labels
    assert "lowest_dose_extrasafe" in labels
    stopped = table[table["stop_reason"] == "lowest_dose_extrasafe"]
    assert stopped["mtd"].isna().all()


def _by_hand(design: str, target: float, n: int, y: int) -> str:
    """E/S/D/DU at the current dose from the text of sections 4.1-4.3 (BOIN) and 6 (i3+3), default options:
    elimination (both) when n >= 3 and 1 - pbeta(target, y + 1, n - y + 1) > 0.95."""
    if n >= 3 and float(stats.beta.sf(target, y + 1, n - y + 1)) > 0.95:
        return "DU"
    if design == "i3+3":
        low, high = target - 0.05, target + 0.05
        if y / n < low - 1e-12:
            return "E"
        if y / n <= high + 1e-12:
            return "S"
        return "S" if (y - 1) / n < low - 1e-12 else "D"
    phi1, phi2 = 0.6 * target, 1.4 * target
    lambda_e = math.log((1 - phi1) / (1 - target)) / math.log(target * (1 - phi1) / (phi1 * (1 - target)))
    lambda_d = math.log((1 - target) / (1 - phi2)) / math.log(phi2 * (1 - target) / (target * (1 - phi2)))
    if y <= math.floor(lambda_e * n):
        return "E"
    return "D" if y / n > lambda_d else "S"  # strict (as coded); the cap at U is the DU above


@settings(max_examples=property_examples(40), deadline=None)
@given(
    design=st.sampled_from(["boin", "i3+3"]),
    target=st.sampled_from([0.2, 0.25, 0.3]),
    n_doses=st.integers(2, 5),
    cohort_size=st.integers(1, 3),
    draws=st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=1, max_size=8),
)
def test_live_next_dose_follows_the_rule_step_by_step(
    design: str, target: float, n_doses: int, cohort_size: int, draws: list[list[bool]]
) -> None:
    """Sections 4.2-4.3 and 6 applied cohort by cohort to a history the design itself produces: E moves up
    unless at the top or into an eliminated level, D/DU move down unless at level 1, DU eliminates the
    current and every higher level for the rest of the trial, level 1 eliminated stops with no dose and no
    MTD. The fit of every prefix gives the next dose this walk gives."""
    cls = Boin if design == "boin" else I3plus3
    built = cls(n_doses, target, cohort_size=cohort_size)
    n, y = [0] * n_doses, [0] * n_doses
    eliminated = [False] * n_doses
    dose, blocks = 0, []
    for cohort in draws:
        letters = cohort[:cohort_size]
        blocks.append(f"{dose + 1}" + "".join("T" if d else "N" for d in letters))
        n[dose] += len(letters)
        y[dose] += sum(letters)
        code = _by_hand(design, target, n[dose], y[dose])
        if code == "DU":
            eliminated[dose:] = [True] * (n_doses - dose)
        fit = built.fit(" ".join(blocks))
        if eliminated[0]:
            assert not fit.continue_ and fit.next_dose is None and fit.select_mtd().dose_level is None
            return
        if code == "E" and dose < n_doses - 1 and not eliminated[dose + 1]:
            dose += 1
        elif code in ("D", "DU") and dose > 0:
            dose -= 1
        assert fit.next_dose == dose + 1, " ".join(blocks)
        assert set(fit.eliminated) == {i + 1 for i in range(n_doses) if eliminated[i]}


def test_getprior_refuses_a_skeleton_that_leaves_the_open_unit_interval() -> None:
    """Section 7.4's recurrence in logs: log s_i = log s_(i+1) x log(theta - delta) / log(theta + delta) going
    down. getprior(0.135, 0.15, 8, 8): the factor is log(0.015) / log(0.285) = 3.3456, so |log s_3| = 1.8971 x
    3.3456^5 = 805 and s_3 = exp(-805) is below the smallest double (exp(-745)): level 3 is 0.0 and the next
    step took log(0), a bare `ValueError: math domain error`. It is an `InputError` naming `half_width`
    (D-19.1392); the published check (§7.4) is unchanged to 1e-6."""
    with pytest.raises(InputError) as caught:
        getprior(0.135, 0.15, 8, 8)
    assert any(p.field == "half_width" for p in caught.value.problems)
    assert np.allclose(getprior(0.05, 0.25, 3, 5), [0.083973, 0.156741, 0.25, 0.354500, 0.460343], atol=1e-6)
