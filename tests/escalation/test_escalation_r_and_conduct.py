"""Escalation against R (escalation 0.2.3, dfcrm 0.2-2.1) and conduct checks (decisions §12): the no-skipping
reference, the CRM grid against scipy quadrature, 3+3 incomplete cohorts and impossible histories, Monte
Carlo standard errors and per-trial output, documented limits (decisions §19), recorded decisions against the
DLT window."""

from __future__ import annotations

import io
import json
import math
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.escalation import (
    Boin,
    Crm,
    DontSkipDoses,
    ThreePlusThree,
    TiteCrm,
    assemble_design,
    design_from_spec,
    parse_outcomes,
    replay_decisions,
    simulate,
    with_behaviours,
)

SKELETON = [0.05, 0.10, 0.20, 0.30, 0.40]
HISTORY = "1NNN 2NNN 3NNN 4TTT 2NNN"


# -- no skipping: R's rule caps at the current dose + 1 ---------------------------------------------------


def test_no_skip_caps_at_the_current_dose_plus_one_as_r() -> None:
    """R escalation 0.2.3 `dont_skip_doses(when_escalating = TRUE)` and dfcrm `crmsim(restrict = TRUE)` cap
    escalation at the dose of the last cohort + 1. After 1NNN 2NNN 3NNN 4TTT 2NNN the last cohort was at
    level 2, so the cap is level 3 (R recommends 3), whatever the model prefers above it."""
    crm = Crm(SKELETON, 0.3, cohort_size=3)
    unrestricted = crm.fit(HISTORY).next_dose
    assert unrestricted is not None and unrestricted >= 3  # the model's choice lies at or above the cap
    fit = with_behaviours(crm, DontSkipDoses()).fit(HISTORY)
    assert fit.next_dose == 3 and fit.admissible == (1, 2, 3)
    assert fit.select_mtd().dose_level == 3  # restrict_mtd: the MTD is admissible too


def test_no_skip_highest_tried_keeps_the_previous_rule() -> None:
    """`relative_to="highest_tried"`: cap at the highest level tried (4) + 1 = 5, so the model's own choice
    (level 4 here, a level with 3/3 DLTs) stands — cartrial 0.1.0's answer."""
    crm = Crm(SKELETON, 0.3, cohort_size=3)
    unrestricted = crm.fit(HISTORY).next_dose
    fit = with_behaviours(crm, DontSkipDoses(relative_to="highest_tried")).fit(HISTORY)
    assert fit.next_dose == unrestricted == 4
    assert fit.admissible == (1, 2, 3, 4, 5)


def test_no_skip_rule_from_the_cli_and_the_protocol() -> None:
    base = ["escalate", "next", "--design", "crm", "--target", "0.3", "--skeleton", "0.05,0.1,0.2,0.3,0.4",
            "--doses", "5", "--cohort-size", "3", "--outcomes", HISTORY, "--no-skip", "--json"]  # fmt: skip
    out = io.StringIO()
    from contextlib import redirect_stdout

    with redirect_stdout(out):
        assert main(base) == 0
    assert json.loads(out.getvalue())["next_dose"] == 3
    out = io.StringIO()
    with redirect_stdout(out):
        assert main([*base, "--skip-rule", "highest_tried"]) == 0
    assert json.loads(out.getvalue())["next_dose"] == 4
    spec = SimpleNamespace(design="crm", target=0.3, skeleton=SKELETON, cohort_size=3, max_n=30, no_skip=True,
                           dlt_window_days=28)  # fmt: skip
    assert design_from_spec(spec, 5).fit(HISTORY).next_dose == 3


# -- CRM: the fixed grid against scipy quadrature ----------------------------------------------------------


def _summary(design: Crm, history: str) -> tuple[float, float | None, np.ndarray]:
    state = design.replay(parse_outcomes(history, design.n_doses))
    return design.posterior_summary(state)


_history = st.lists(
    st.tuples(st.integers(1, 5), st.lists(st.booleans(), min_size=1, max_size=3)), min_size=1, max_size=8
).map(lambda cohorts: " ".join(f"{d}{''.join('T' if t else 'N' for t in c)}" for d, c in cohorts))


@settings(max_examples=property_examples(8), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=_history,
    model=st.sampled_from(["empiric", "logistic"]),
    ptox=st.sampled_from(["plugin", "posterior_mean"]),
)
def test_crm_grid_matches_quadrature(history: str, model: str, ptox: str) -> None:
    """Live decisions now use the fixed grid; they agree with the adaptive quadrature to 1e-6."""
    grid = Crm(SKELETON, 0.25, model=model, ptox=ptox)  # type: ignore[arg-type]
    quad = Crm(SKELETON, 0.25, model=model, ptox=ptox, integration="quad")  # type: ignore[arg-type]
    b_grid, v_grid, p_grid = _summary(grid, history)
    b_quad, v_quad, p_quad = _summary(quad, history)
    assert b_grid == pytest.approx(b_quad, abs=1e-6)
    assert v_grid == pytest.approx(v_quad, abs=1e-6)
    assert np.allclose(p_grid, p_quad, atol=1e-6, rtol=0)
    assert grid.fit(history).next_dose == quad.fit(history).next_dose


def test_crm_grid_matches_quadrature_for_a_narrow_posterior() -> None:
    """3,000 patients: the posterior sd falls below four grid spacings and is re-integrated locally."""
    history = " ".join(["3NNNNNNNNT"] * 300)
    grid, quad = Crm(SKELETON, 0.25), Crm(SKELETON, 0.25, integration="quad")
    b_grid, v_grid, p_grid = _summary(grid, history)
    b_quad, v_quad, p_quad = _summary(quad, history)
    assert v_quad is not None and math.sqrt(v_quad) < 4 * float(np.diff(grid._grid())[0])
    assert b_grid == pytest.approx(b_quad, abs=1e-6) and v_grid == pytest.approx(v_quad, abs=1e-6)
    assert np.allclose(p_grid, p_quad, atol=1e-6, rtol=0)


def test_tite_crm_grid_matches_quadrature() -> None:
    history = parse_outcomes("1N 1N 2T 2N 3N", 5).with_followup([28, 28, 10, 14, 3])
    grid = TiteCrm(SKELETON, 0.25, window_days=28)
    quad = TiteCrm(SKELETON, 0.25, window_days=28, integration="quad")
    a = grid.posterior_summary(grid.replay(history))
    b = quad.posterior_summary(quad.replay(history))
    assert a[0] == pytest.approx(b[0], abs=1e-6) and np.allclose(a[2], b[2], atol=1e-6, rtol=0)


# -- 3+3: incomplete cohorts, impossible histories ---------------------------------------------------------


def test_three_plus_three_two_dlts_in_an_incomplete_cohort() -> None:
    """ "1TT": cartrial decides at once by default (level 1 exceeded: stop, no MTD); `incomplete_cohort=
    "complete"` treats the third patient first, as R escalation 0.2.3 does (n < 3 at the dose: stay)."""
    decide = ThreePlusThree(3).fit("1TT")
    assert not decide.continue_ and decide.select_mtd().dose_level is None
    complete = ThreePlusThree(3, incomplete_cohort="complete").fit("1TT")
    assert complete.continue_ and complete.next_dose == 1 and complete.eliminated == ()
    after = ThreePlusThree(3, incomplete_cohort="complete").fit("1TTN")
    assert not after.continue_ and after.eliminated == (1, 2, 3)


@pytest.mark.parametrize(
    ("history", "why"),
    [
        ("1NTN 2NNN", "gives level 1"),  # escalation after 1/3
        ("1NNN 3NNN", "gives level 2"),  # skipping
        ("1NTN 1NNN 1NNN", "gives level 2"),  # more than 6 at a level
        ("1NNNNNNN", "more than 6"),
        ("2NNN", "gives level 1"),  # not the start dose
        ("1TTN 1NNN", "stopped"),  # treated after the rule stopped
    ],
)
def test_three_plus_three_refuses_histories_it_cannot_produce(history: str, why: str) -> None:
    with pytest.raises(InputError) as error:
        ThreePlusThree(3).fit(history)
    assert "not a 3+3 history" in str(error.value) and why in str(error.value)


def test_eliminations_are_remembered_across_the_history() -> None:
    """Documented: a 3+3 level with >= 2 DLTs stays eliminated even if later counts would clear it."""
    fit = ThreePlusThree(3).fit("1NNN 2NTT 1NNN")
    assert fit.eliminated == (2, 3)
    assert not fit.continue_ and fit.select_mtd().dose_level == 1


# -- simulate: standard errors and per-trial output --------------------------------------------------------


def test_monte_carlo_standard_errors_follow_from_the_per_trial_results(tmp_path: Path) -> None:
    out = tmp_path / "trials.csv"
    stdout = io.StringIO()
    from contextlib import redirect_stdout

    with redirect_stdout(stdout):
        code = main([
            "escalate", "simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,0.25,0.45",
            "--cohorts", "6", "--trials", "400", "--seed", "2", "--trials-out", str(out), "--json",
        ])  # fmt: skip
    assert code == 0
    data = json.loads(stdout.getvalue())
    trials = pd.read_csv(out)
    assert len(trials) == 400
    n_total = trials["n_total"].to_numpy(dtype=float)
    assert data["total_n"] == pytest.approx(n_total.mean())
    assert data["total_n_se"] == pytest.approx(n_total.std(ddof=1) / math.sqrt(400))
    for level in (1, 2, 3):
        n = trials[f"n_{level}"].to_numpy(dtype=float)
        assert data["mean_n_se"][level - 1] == pytest.approx(n.std(ddof=1) / math.sqrt(400))
        share = (trials["mtd"] == level).mean()
        assert data["selection_pct"][level - 1] == pytest.approx(share * 100)
        assert data["selection_se_pct"][level - 1] == pytest.approx(
            math.sqrt(share * (1 - share) / 400) * 100
        )
    no_mtd = trials["mtd"].isna().mean()
    assert data["no_mtd_se_pct"] == pytest.approx(math.sqrt(no_mtd * (1 - no_mtd) / 400) * 100)


def test_standard_errors_vanish_when_every_trial_is_the_same() -> None:
    """No toxicity anywhere: every BOIN trial escalates to the top and stays: every SE is 0."""
    oc = simulate(Boin(3, 0.3), [0.0, 0.0, 0.0], cohorts=5, trials=50, seed=1)
    assert oc.total_n_se == 0 and max(oc.mean_n_se) == 0 and oc.pct_treated_above_mtd_se == 0
    assert oc.selection_pct[2] == 100.0 and oc.selection_se_pct[2] == 0


# -- documented limits (decisions §19)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,0.2", "--trials", "2000000000"],
         ("--trials", "1000000")),
        (["table", "--design", "boin", "--target", "0.3", "--max-n", "100000"], ("--max-n", "200")),
        (["next", "--design", "boin", "--target", "0.3", "--doses", "1000000"], ("--doses", "50")),
        (["simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,0.2", "--cohorts", "100000"],
         ("--cohorts", "1000")),
        (["simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,0.2", "--cohorts", "1000",
          "--trials", "1000000"], ("--trials", "200000000")),
        (["simulate", "--design", "3+3", "--exact", "--truth", ",".join(["0.1"] * 40)],
         ("dose levels", "12")),
    ],
)  # fmt: skip
def test_limits_are_checked_first_and_named(
    args: list[str], names: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.perf_counter()
    assert main(["escalate", *args]) == 2
    err = capsys.readouterr().err
    assert all(name in err for name in names), err
    assert "Traceback" not in err
    assert time.perf_counter() - started < 5


def test_engine_limits() -> None:
    with pytest.raises(InputError, match=r"doses: out of range \(got 51\); allowed: 1 to 50"):
        assemble_design("boin", 51, {"target": 0.3})
    with pytest.raises(InputError, match="trials"):
        simulate(Boin(2, 0.3), [0.1, 0.2], cohorts=10, trials=2_000_000)


# -- recorded decisions against the DLT window ---------------------------------------------------------------

_PROTOCOL = SimpleNamespace(
    escalation=SimpleNamespace(design="3+3", variant="deescalation", dlt_window_days=28, no_skip=True),
    dose_levels=[1, 2],
    expansion=SimpleNamespace(dose_level=2, n_patients=3),
)
_INFUSIONS = pd.DataFrame(
    {
        "subject_id": ["A", "B", "C", "D", "E", "F", "G", "H", "I"],
        "dose_level": [1, 1, 1, 2, 2, 2, 2, 2, 2],
        "infused_at": ["2021-01-01", "2021-01-08", "2021-01-15", "2021-02-20", "2021-02-21", "2021-02-22",
                       "2021-04-01", "2021-04-02", "2021-04-03"],
    }
)  # fmt: skip


def _decisions(dates: list[str], decisions: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"cohort": [1, 2, 3], "dose_level": [1, 2, 2], "decided_on": dates,
         "outcomes": ["1NNN", "2NNN", "2NNN"], "decision": decisions}
    )  # fmt: skip


def test_decisions_after_the_window_are_accepted() -> None:
    """C infused 2021-01-15 + 28 days = 2021-02-12; F 2021-02-22 + 28 = 2021-03-22; I 2021-04-03 + 28 =
    2021-05-01."""
    result = replay_decisions(
        _decisions(["2021-02-12", "2021-03-22", "2021-05-01"], ["escalate", "expand", "stop"]),
        _INFUSIONS,
        None,
        _PROTOCOL,
    )
    assert result.table["deviation"].tolist() == ["", "", ""]
    assert result.table["days_after_last_infusion"].tolist() == [28, 28, 28]
    assert result.table["design_decision"].tolist() == ["escalate", "expand", "stop"]


def test_a_decision_inside_the_window_is_a_listed_deviation() -> None:
    """2021-02-04 is 20 days after C's infusion (2021-01-15) < 28; 2021-03-07 is 13 days after F's."""
    result = replay_decisions(
        _decisions(["2021-02-04", "2021-03-07", "2021-05-01"], ["escalate", "expand", "stop"]),
        _INFUSIONS,
        None,
        _PROTOCOL,
    )
    table = result.table
    assert table["days_after_last_infusion"].tolist() == [20, 13, 28]
    assert table["window_complete"].tolist() == [False, False, True]
    assert "before the 28-day DLT window" in table["deviation"][0]
    assert "before the 28-day DLT window" in table["deviation"][1] and table["deviation"][2] == ""
    assert result.metadata()["notes"] == ["2 of 3 decisions with a protocol deviation"]


def test_treatment_before_the_decision_and_a_wrong_decision_are_deviations() -> None:
    infusions = _INFUSIONS.copy()
    infusions.loc[3, "infused_at"] = "2021-02-01"  # D treated at level 2 before the 2021-02-12 decision
    dlts = pd.DataFrame({"subject_id": ["B"], "dlt": ["true"]})
    result = replay_decisions(
        _decisions(["2021-02-12", "2021-03-22", "2021-05-01"], ["escalate", "stay", "stop"]),
        infusions,
        dlts,
        _PROTOCOL,
    )
    deviations = result.table["deviation"].tolist()
    assert "D (next cohort) was infused at level 2 on 2021-02-01, before this decision" in deviations[0]
    assert "B: the outcome letter says no DLT, the DLT assessment says DLT" in deviations[0]
    # B's DLT was seen by the decision (undated: from its cohort on): the design is judged on it, `1NTN`,
    # and the recorded escalation is a deviation; the 3+3 would not have treated cohort 2 at level 2
    # (D-19.747; before, the design fitted the letters `1NNN` and the escalation passed)
    assert "recorded decision 'escalate', the protocol's design gives 'stay' after '1NTN'" in deviations[0]
    assert "the protocol's design gives no decision after '1NTN 2NNN'" in deviations[1]
    # on the letters alone (no DLT assessment) the wrong decision of cohort 2 is the deviation, as before
    letters_only = replay_decisions(
        _decisions(["2021-02-12", "2021-03-22", "2021-05-01"], ["escalate", "stay", "stop"]),
        infusions,
        None,
        _PROTOCOL,
    ).table["deviation"]
    assert "recorded decision 'stay', the protocol's design gives 'expand'" in letters_only[1]


def test_example_study_decisions_respect_the_dlt_window(examples_dir: Path) -> None:
    """The example's decisions are dated when the last patient of the cohort completed the 28-day window,
    and each next cohort is infused after its decision (decisions §12: cohorts 1 and 2 moved earlier)."""
    from cartrial.protocol import load_protocol
    from cartrial.tabular import read_csv

    study = examples_dir / "ct103a-nmosd" / "study"
    protocol = load_protocol(examples_dir / "ct103a-nmosd" / "protocol.yaml")
    result = replay_decisions(
        read_csv(study / "escalation_decisions.csv"), read_csv(study / "infusions.csv"), None, protocol
    )
    assert result.table["window_complete"].all()
    assert (result.table["recorded_decision"] == result.table["design_decision"]).all()
    assert (result.table["deviation"] == "").all()


def test_replay_refuses_bad_rows_with_a_location() -> None:
    bad = _decisions(["2021-02-12", "not a date", "2021-05-01"], ["escalate", "expand", "stop"])
    with pytest.raises(InputError) as error:
        replay_decisions(bad, _INFUSIONS, None, _PROTOCOL)
    assert "decided_on" in str(error.value) and "3" in str(error.value)


def test_replay_command_lists_the_deviations(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = examples_dir / "ct103a-nmosd" / "study"
    code = main([
        "escalate", "replay", "--decisions", str(study / "escalation_decisions.csv"),
        "--infusions", str(study / "infusions.csv"),
        "--protocol", str(examples_dir / "ct103a-nmosd" / "protocol.yaml"), "--json",
    ])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0
    data = json.loads(captured.out)
    assert [row["days_after_last_infusion"] for row in data["rows"]] == [28, 28, 28]
    assert data["derivation"] == "cartrial.escalation.replay_decisions"
    assert "0 of 3 decisions with a protocol deviation" in captured.err


def test_one_recorded_decision_is_counted_in_the_singular() -> None:
    """The deviation note counts its noun with the one wording helper (`cartrial.wording`, D-19.224):
    "1 of 1 decision", never "1 of 1 decisions"."""
    one = _decisions(["2021-02-04", "", ""], ["escalate", "", ""]).iloc[:1]
    result = replay_decisions(one, _INFUSIONS, None, _PROTOCOL)
    assert result.metadata()["notes"] == ["1 of 1 decision with a protocol deviation"]
