"""design_from_spec (protocol escalation section) and the `cartrial escalate` CLI contract (decisions §5)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from cartrial import templates as cartrial_templates
from cartrial.escalation import BehavingDesign, Boin, ThreePlusThree, design_from_spec, parse_outcomes

from ..conftest import run_cartrial


def _spec(**fields: object) -> SimpleNamespace:
    base: dict[str, object] = {
        "design": "boin",
        "variant": "escalation_only",
        "target": 0.3,
        "skeleton": None,
        "prior_var": 1.34,
        "model": "empiric",
        "method": "bayes",
        "cutoff_eliminate": 0.95,
        "cohort_size": 3,
        "max_n": 30,
        "stop_n_at_dose": 12,
        "no_skip": True,
        "dlt_window_days": 28,
        "stagger_days": 0,
        "dlt_rules": [],
    }
    base.update(fields)
    return SimpleNamespace(**base)


def test_design_from_duck_typed_spec() -> None:
    """The protocol's escalation section configures the design and its behaviours (decisions §5)."""
    design = design_from_spec(_spec(), 5)
    assert isinstance(design, BehavingDesign) and isinstance(design.inner, Boin)
    names = [b["behaviour"] for b in design.options()["behaviours"]]
    assert names == ["stop_at_n", "stop_when_n_at_dose", "dont_skip_doses"]
    assert design.options()["behaviours"][1]["requires_stay"] is True  # BOIN n.earlystop (section 4.3)
    three = design_from_spec(_spec(design="3+3", max_n=None, stop_n_at_dose=None, no_skip=False), 2)
    assert isinstance(three, ThreePlusThree) and three.variant == "escalation_only"


def test_design_from_real_protocol(examples_dir: Path) -> None:
    """The shipped CT103A protocol configures a two-level 3+3 with expansion of 6 at level 2."""
    from cartrial.protocol import load_protocol

    protocol = load_protocol(examples_dir / "ct103a-nmosd" / "protocol.yaml")
    design = design_from_spec(protocol.escalation, len(protocol.dose_levels), expansion=protocol.expansion)
    fit = design.fit(parse_outcomes("1NNN 2NNN", 2))
    assert fit.next_dose == 2 and fit.continue_
    assert fit.select_mtd().dose_level == 2


def _run(*args: str) -> tuple[int, str]:
    result = run_cartrial(*args)
    return result.exit_code, result.output


def test_next_json_keys() -> None:
    """JSON keys next_dose, continue, admissible, mtd (decisions §5 CLI contract); 1-based levels."""
    code, out = _run(
        "escalate",
        "next",
        "--design",
        "boin",
        "--target",
        "0.3",
        "--doses",
        "5",
        "--outcomes",
        "1NNN 2NTN",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["next_dose"] == 2 and data["continue"] is True
    # the default no-skipping rule (D-19.390): the last cohort was at level 2, so levels above 3 are not
    # admissible (as under the protocol's no_skip: true); the decision itself is unchanged
    assert data["admissible"] == [1, 2, 3]
    assert "mtd" in data


def test_next_crm_dfcrm_example_via_cli() -> None:
    """CRM through the CLI: dfcrm example (section 7.3) recommends level 2."""
    code, out = _run(
        "escalate",
        "next",
        "--design",
        "crm",
        "--target",
        "0.2",
        "--skeleton",
        "0.05,0.10,0.20,0.35,0.50,0.70",
        "--doses",
        "6",
        "--outcomes",
        "3N 4N 4T 3N 3N 4T 3T 2N 2N 2N",
        "--json",
    )
    assert code == 0 and json.loads(out)["next_dose"] == 2


def test_tite_next_via_cli() -> None:
    """TITE-CRM via --followup and --window."""
    code, out = _run(
        "escalate",
        "next",
        "--design",
        "tite-crm",
        "--target",
        "0.25",
        "--skeleton",
        "0.1,0.2,0.3",
        "--doses",
        "3",
        "--outcomes",
        "1N 1N 1N",
        "--followup",
        "28,14,3",
        "--window",
        "28",
        "--json",
    )
    assert code == 0, out
    assert json.loads(out)["options"]["window_days"] == 28


@pytest.mark.parametrize("scheme", ["linear", "adaptive"])
def test_tite_time_to_dlt_after_the_window_is_refused(scheme: str) -> None:
    """A DLT is observed inside the DLT window: a time to DLT of 40 days with `--window 28` (days typed
    for another window, or weeks for days) was taken as a DLT at day 28 without a word, and under the
    adaptive scheme it set the other patients' weights (D-19.151). Refused at `--followup`, naming the
    window; a DLT on the window's last day is taken."""
    args = [
        *("escalate", "next", "--design", "tite-crm", "--target", "0.25", "--skeleton", "0.1,0.2,0.3"),
        *("--doses", "3", "--outcomes", "1N 1T", "--window", "28", "--tite-scheme", scheme),
    ]
    code, out = _run(*args, "--followup", "14,40")
    assert code == 2, out
    assert "--followup: time to DLT after the DLT window (got 40" in out, out
    assert "allowed: at most 28 days (the DLT window) for a patient with a DLT" in out, out
    code, out = _run(*args, "--followup", "14,28", "--json")
    assert code == 0, out


def test_table_json() -> None:
    """escalate table reproduces the BOIN get.boundary example (section 4.4)."""
    code, out = _run(
        "escalate",
        "table",
        "--design",
        "boin",
        "--target",
        "0.3",
        "--max-n",
        "30",
        "--cohort-size",
        "3",
        "--json",
    )
    assert code == 0
    rows = json.loads(out)["rows"]
    assert [r["eliminate_min"] for r in rows] == [3, 4, 5, 7, 8, 9, 10, 11, 12, 14]


def test_paths_json() -> None:
    """escalate paths: (cohort size + 1)^k paths when nothing stops; JSON has
    next_dose/continue/admissible/mtd."""
    code, out = _run(
        "escalate",
        "paths",
        "--design",
        "boin",
        "--target",
        "0.3",
        "--doses",
        "5",
        "--outcomes",
        "1NNN",
        "--cohorts",
        "2",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["next_dose"] == 2 and len(data["paths"]) == 16
    assert {"next_dose", "continue", "admissible", "mtd"} <= set(data)


def test_simulate_json_keys_and_exact() -> None:
    """simulate JSON keys (decisions §5); --exact for 3+3."""
    code, out = _run(
        "escalate",
        "simulate",
        "--design",
        "boin",
        "--target",
        "0.3",
        "--truth",
        "0.05,0.15,0.30,0.45,0.60",
        "--cohorts",
        "10",
        "--cohort-size",
        "3",
        "--trials",
        "500",
        "--seed",
        "6",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    for key in (
        "selection_pct",
        "no_mtd_pct",
        "mean_n",
        "mean_dlt",
        "early_stop_pct",
        "total_n",
        "trials",
        "seconds",
    ):
        assert key in data
    assert len(data["selection_pct"]) == 5
    code, out = _run(
        "escalate", "simulate", "--design", "3+3", "--truth", "0.05,0.15,0.30,0.45,0.60", "--exact", "--json"
    )
    assert code == 0 and json.loads(out)["method"] == "exact"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["next", "--design", "boin", "--target", "1.3", "--doses", "5"], "--target"),
        (["next", "--design", "boin", "--target", "0.3", "--doses", "5", "--outcomes", "1NNX"], "--outcomes"),
        (["next", "--design", "boin", "--target", "0.3", "--doses", "5", "--outcomes", "0NNN"], "--outcomes"),
        (["next", "--design", "boin", "--target", "0.3", "--doses", "5", "--outcomes", "6NNN"], "--outcomes"),
        (
            ["next", "--design", "crm", "--target", "0.3", "--doses", "3", "--skeleton", "0.1,0.3,0.2"],
            "--skeleton",
        ),
        (
            ["next", "--design", "crm", "--target", "0.3", "--doses", "3", "--skeleton", "0.1,0.3,1.2"],
            "--skeleton",
        ),
        (["next", "--design", "boin", "--doses", "3"], "--target"),
        (["next", "--design", "3+3", "--doses", "3", "--variant", "storer"], "--variant"),
        (
            [
                "next",
                "--design",
                "crm",
                "--target",
                "0.3",
                "--doses",
                "2",
                "--skeleton",
                "0.1,0.2",
                "--model",
                "x",
            ],
            "--model",
        ),
        (
            [
                "next",
                "--design",
                "crm",
                "--target",
                "0.3",
                "--doses",
                "2",
                "--skeleton",
                "0.1,0.2",
                "--prior-var",
                "0",
            ],
            "--prior-var",
        ),
        (
            ["next", "--design", "boin", "--target", "0.3", "--doses", "3", "--cutoff-eliminate", "1"],
            "--cutoff-eliminate",
        ),
        (["next", "--design", "boin", "--target", "0.3", "--doses", "3", "--max-n", "0"], "--max-n"),
        (
            ["next", "--design", "boin", "--target", "0.3", "--doses", "3", "--stop-n-at-dose", "0"],
            "--stop-n-at-dose",
        ),
        (["simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,1.2"], "--truth"),
        (
            ["simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,0.2", "--cohorts", "0"],
            "--cohorts",
        ),
        (["table", "--design", "crm", "--target", "0.3", "--max-n", "6"], "--design"),
        (["next", "--design", "3+3", "--doses", "3", "--target", "0.3"], "--target"),
        (
            [
                "paths",
                "--design",
                "boin",
                "--target",
                "0.3",
                "--doses",
                "3",
                "--cohorts",
                "6",
                "--cohort-size",
                "9",
            ],
            "--cohorts",
        ),
        (
            [
                "paths",
                "--design",
                "boin",
                "--target",
                "0.3",
                "--doses",
                "3",
                "--cohorts",
                "1",
                "--cohort-size",
                "0",
            ],
            "--cohort-size",
        ),
        (
            ["next", "--design", "boin", "--target", "0.3", "--doses", "3", "--skeleton", "0.1,0.2,0.3"],
            "--skeleton",
        ),
        (
            ["next", "--design", "boin", "--target", "0.3", "--doses", "3", "--variant", "deescalation"],
            "--variant",
        ),
        (
            [
                "next",
                "--design",
                "crm",
                "--target",
                "0.3",
                "--doses",
                "2",
                "--skeleton",
                "0.1,0.2",
                "--cutoff-eliminate",
                "0.9",
            ],
            "--cutoff-eliminate",
        ),
        (["simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,0.2", "--seed", "-1"], "--seed"),
        (
            ["simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,0.2", "--mtd-target", "5"],
            "--mtd-target",
        ),
        (
            ["simulate", "--design", "3+3", "--truth", "0.1,0.2", "--exact", "--mtd-target", "0"],
            "--mtd-target",
        ),
        (
            [
                "paths",
                "--design",
                "boin",
                "--target",
                "0.3",
                "--doses",
                "3",
                "--cohorts",
                "1",
                "--window",
                "28",
            ],
            "--window",
        ),
        (
            ["simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,0.2", "--trials", "0"],
            "--trials",
        ),
        (
            [
                "simulate",
                "--design",
                "crm",
                "--target",
                "0.3",
                "--skeleton",
                "0.1,0.2,0.3",
                "--truth",
                "0.1,0.2",
            ],
            "--truth",
        ),
        (["simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,0.2", "--exact"], "--exact"),
        (["next", "--design", "foo", "--doses", "3"], "--design"),
        (["next", "--design", "boin", "--target", "0.3", "--doses", "3", "--window", "28"], "--window"),
        (
            [
                "next",
                "--design",
                "tite-crm",
                "--target",
                "0.25",
                "--skeleton",
                "0.1,0.2",
                "--doses",
                "2",
                "--outcomes",
                "1NN",
                "--followup",
                "3",
                "--window",
                "28",
            ],
            "--followup",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_argument(args: list[str], fragment: str) -> None:
    """Bad input: a clear message naming the argument as the user typed it (``--target``, not the engine's
    ``target``) and what is allowed, exit 2 (decisions §5); plain numbers, no numpy reprs."""
    result = run_cartrial("escalate", *args)
    assert result.exit_code == 2
    message = result.stderr
    assert f"{fragment}:" in message
    assert "np.float64" not in message


def test_paths_for_tite_crm_takes_window_and_followup() -> None:
    """`paths` accepts the TITE-CRM options (decisions §5: [design options] include --followup, --window)."""
    code, out = _run(
        "escalate",
        "paths",
        "--design",
        "tite-crm",
        "--target",
        "0.2",
        "--skeleton",
        "0.1,0.2,0.3",
        "--doses",
        "3",
        "--outcomes",
        "1N 1N",
        "--followup",
        "28,3",
        "--window",
        "28",
        "--cohorts",
        "1",
        "--cohort-size",
        "1",
        "--no-skip",
        "--json",
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["options"]["window_days"] == 28 and len(data["paths"]) == 2
    assert {"next_dose", "continue", "admissible", "mtd"} <= set(data)


def test_demo_step(tmp_path: Path, examples_dir: Path) -> None:
    """Demo: replays 1NNN, 2NNN, expansion with the protocol's design and writes exact OCs (JSON + CSV)."""
    from rich.console import Console

    from cartrial.demo import DemoContext
    from cartrial.demo.escalation import run

    ctx = DemoContext(examples_dir, cartrial_templates.path(), tmp_path, Console(width=100))
    run(ctx)
    replay = json.loads((tmp_path / "escalation" / "replay.json").read_text())
    assert [s["next_dose"] for s in replay["steps"]] == [1, 2, 2, None]
    ocs = json.loads((tmp_path / "escalation" / "operating_characteristics.json").read_text())
    assert all(oc["method"] == "exact" for oc in ocs)
    assert (tmp_path / "escalation" / "operating_characteristics.csv").read_text().startswith("scenario,")


def test_table_for_crm_is_refused_with_exit_2() -> None:
    """CRM decisions depend on every dose's data: no (n, DLT) table; the CLI says so and exits 2."""
    from cartrial.cli import main

    assert main(["escalate", "table", "--design", "crm", "--target", "0.3", "--max-n", "6"]) == 2


def test_simulate_3plus3_takes_target_as_the_true_mtd_definition() -> None:
    """simulate --design 3+3 --target t: 3+3 has no target of its own; t defines the true MTD of the report
    (an option that applies, so it is accepted and recorded)."""
    code, out = _run(
        "escalate",
        "simulate",
        "--design",
        "3+3",
        "--truth",
        "0.1,0.2,0.4",
        "--exact",
        "--target",
        "0.25",
        "--json",
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["mtd_target"] == 0.25 and data["true_mtd"] == 2
