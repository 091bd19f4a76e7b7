"""Design options declared once (decisions §11 item 4): the registry, the one assembly point, every API option
reachable from the CLI, options that do not apply refused by name, `fit("1NNN 2NTN")`, Result tables."""

from __future__ import annotations

import inspect
import json
import math
import subprocess
import sys
from types import SimpleNamespace

import pytest
import typer

from cartrial.commands.escalation_commands import escalate_app
from cartrial.escalation import (
    DESIGN_OPTIONS,
    OPTIONS,
    Boin,
    Crm,
    I3plus3,
    Mtpi2,
    ThreePlusThree,
    TiteCrm,
    assemble_design,
    decision_table,
    design_from_spec,
    dose_pathways,
    parse_outcomes,
    simulate,
)

from ..conftest import run_cartrial

# API keyword -> registry name where they differ
_API_ALIASES = {"window_days": "window", "scheme": "tite_scheme"}
# numerical method of the CRM posterior (quadrature or grid): not a design choice, but reachable too
_POSITIONAL = {"self", "n_doses", "skeleton", "target", "kwargs"}


def _run(*args: str) -> tuple[int, str]:
    result = run_cartrial(*args)
    return result.exit_code, result.output


def _flags(command: str) -> set[str]:
    click_group = typer.main.get_command(escalate_app)
    params = click_group.commands[command].params  # type: ignore[attr-defined]
    return {opt for p in params for opt in p.opts}


@pytest.mark.parametrize("cls", [ThreePlusThree, Boin, Mtpi2, I3plus3, Crm, TiteCrm])
def test_every_api_design_option_is_in_the_registry(cls: type) -> None:
    """Every keyword of every design constructor is a registry option (so it reaches the CLI)."""
    names = set(inspect.signature(cls.__init__).parameters) - _POSITIONAL
    if cls is TiteCrm:
        names |= set(inspect.signature(Crm.__init__).parameters) - _POSITIONAL
    missing = {_API_ALIASES.get(n, n) for n in names} - set(OPTIONS)
    assert not missing, missing


@pytest.mark.parametrize("command", ["next", "paths", "simulate"])
def test_every_registry_option_is_a_flag(command: str) -> None:
    flags = _flags(command)
    assert {o.flag for o in DESIGN_OPTIONS} <= flags


def test_table_takes_the_interval_design_options() -> None:
    flags = _flags("table")
    for name in ("exclusion_min_n", "eps1", "eps2", "phi1", "phi2", "extrasafe", "variant", "start_dose"):
        assert OPTIONS[name].flag in flags
    assert "--skeleton" not in flags  # CRM has no decision table


def test_registry_ranges() -> None:
    assert OPTIONS["target"].problem(0.3) is None
    assert OPTIONS["target"].problem(1.0) is not None
    assert OPTIONS["exclusion_min_n"].problem(0) is None
    assert OPTIONS["exclusion_min_n"].problem(-1) is not None
    assert OPTIONS["skeleton"].problem([0.1, 1.2]) is not None
    assert OPTIONS["variant"].problem("banana") is not None


def test_mtpi2_exclusion_min_n_zero_reaches_r_behaviour_from_the_cli() -> None:
    """2 DLTs in 2 patients at level 2, target 0.3: P(p > 0.3 | Beta(3, 1)) = 1 - 0.3^3 = 0.973 > 0.95.
    With --exclusion-min-n 0 (R escalation 0.2.3 mtpi2_selector) level 2 and above are eliminated; with
    the default 3 they are not (n = 2 < 3)."""
    assert 1 - 0.3**3 > 0.95
    base = (
        "escalate",
        "next",
        "--design",
        "mtpi2",
        "--target",
        "0.3",
        "--doses",
        "4",
        "--outcomes",
        "1NNN 2TT",
    )
    code, out = _run(*base, "--exclusion-min-n", "0", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["eliminated"] == [2, 3, 4] and data["next_dose"] == 1
    assert data["options"]["exclusion_min_n"] == 0
    code, out = _run(*base, "--json")
    assert code == 0, out
    assert json.loads(out)["eliminated"] == []


def test_boin_phi_options_from_the_cli() -> None:
    """lambda_e = log((1 - phi1)/(1 - phi)) / log(phi (1 - phi1) / (phi1 (1 - phi))) (Liu & Yuan 2015)."""
    code, out = _run(
        "escalate", "next", "--design", "boin", "--target", "0.3", "--doses", "3",
        "--phi1", "0.2", "--phi2", "0.4", "--extrasafe", "--bound-mtd", "--json",
    )  # fmt: skip
    assert code == 0, out
    options = json.loads(out)["options"]
    expected = math.log(0.8 / 0.7) / math.log(0.3 * 0.8 / (0.2 * 0.7))
    assert options["lambda_e"] == pytest.approx(expected, abs=1e-12)
    assert options["extrasafe"] is True and options["bound_mtd"] is True


def test_start_dose_from_the_cli() -> None:
    code, out = _run(
        "escalate", "next", "--design", "boin", "--target", "0.3", "--doses", "4",
        "--start-dose", "2", "--json",
    )  # fmt: skip
    assert code == 0, out
    assert json.loads(out)["next_dose"] == 2


@pytest.mark.parametrize(
    ("design", "flag", "value"),
    [("boin", "--eps1", "0.1"), ("crm", "--phi1", "0.1"), ("boin", "--exclusion-min-n", "0"),
     ("mtpi2", "--variant", "deescalation"), ("3+3", "--target", "0.3")],
)  # fmt: skip
def test_an_option_that_does_not_apply_is_refused_by_name(
    design: str, flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from cartrial.cli import main

    extra = ["--skeleton", "0.1,0.2,0.3"] if design == "crm" else []
    target = [] if design == "3+3" else ["--target", "0.25"]
    code = main(["escalate", "next", "--design", design, "--doses", "3", *target, *extra, flag, value])
    err = capsys.readouterr().err
    assert code == 2
    assert flag in err and "does not apply" in err


def test_fit_accepts_the_outcome_string() -> None:
    design = Boin(5, 0.3)
    assert design.fit("1NNN 2NTN").as_dict() == design.fit(parse_outcomes("1NNN 2NTN", 5)).as_dict()


def test_spec_and_options_assemble_the_same_design() -> None:
    """One assembly point: a protocol spec and the same options give the same design (BOIN n.earlystop
    with requires_stay from the one place)."""
    spec = SimpleNamespace(
        design="boin", target=0.3, cohort_size=3, max_n=30, stop_n_at_dose=12, no_skip=True,
        variant="deescalation", dlt_window_days=28, phi1=0.2,
    )  # fmt: skip
    from_spec = design_from_spec(spec, 5)
    direct = assemble_design(
        "boin",
        5,
        {"target": 0.3, "cohort_size": 3, "max_n": 30, "stop_n_at_dose": 12, "no_skip": True, "phi1": 0.2},
    )
    assert from_spec.options() == direct.options()
    assert direct.options()["behaviours"][1]["requires_stay"] is True


def test_results_follow_the_result_convention() -> None:
    table = decision_table(Boin(5, 0.3), 12)
    assert list(table.table["n"]) == [3, 6, 9, 12]
    assert table.metadata()["options"]["target"] == 0.3
    paths = dose_pathways(Boin(5, 0.3), "1NNN", 1)
    assert len(paths.table) == 4 and paths.metadata()["cohorts"] == 1
    oc = simulate(Boin(3, 0.3), [0.1, 0.3, 0.5], cohorts=4, trials=100, seed=3)
    assert len(oc.table) == 3 and "mean_n_se" in oc.table.columns
    assert oc.metadata()["trials"] == 100


def test_the_option_registry_loads_without_numpy() -> None:
    """The CLI reads the registry at start-up: it must not pull numpy or scipy (decisions §11, fast start)."""
    code = (
        "import sys, cartrial.protocol.design_options; "
        "print('numpy' in sys.modules or 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_protocol_spec_takes_the_registry_options() -> None:
    """The protocol's escalation section accepts every registry option under its name and refuses one
    that does not apply to its design, naming it."""
    from cartrial.protocol import EscalationSpec

    spec = EscalationSpec(design="mtpi2", target=0.3, max_n=30, dlt_window_days=28, exclusion_min_n=0)
    assert design_from_spec(spec, 5).options()["exclusion_min_n"] == 0
    assert "exclusion_min_n" in spec.parameters()
    assert "extrasafe" not in spec.parameters()  # unset new options stay out of the summary
    with pytest.raises(Exception, match="exclusion_min_n"):
        EscalationSpec(design="boin", target=0.3, max_n=30, dlt_window_days=28, exclusion_min_n=0)
    skip = EscalationSpec(design="boin", target=0.3, max_n=30, dlt_window_days=28, skip_rule="highest_tried")
    behaviours = design_from_spec(skip, 5).options()["behaviours"]
    assert {"behaviour": "dont_skip_doses", "relative_to": "highest_tried"}.items() <= behaviours[-1].items()


def test_simulate_refuses_an_infinite_accrual_interval(capsys: pytest.CaptureFixture[str]) -> None:
    from cartrial.cli import main

    code = main([
        "escalate", "simulate", "--design", "tite-crm", "--target", "0.25", "--skeleton", "0.1,0.2,0.3",
        "--truth", "0.1,0.2,0.3", "--window", "28", "--accrual-days", "inf", "--trials", "10",
    ])  # fmt: skip
    assert code == 2 and "--accrual-days" in capsys.readouterr().err
