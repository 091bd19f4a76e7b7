"""Dose skipping is forbidden by default on every path (decisions D-19.390): the protocol's `no_skip`
defaults to true (docs/protocol.md), R dfcrm 0.2-2.1 `crmsim(restrict = TRUE)` and R escalation 0.2.3
`dont_skip_doses` cap escalation at the current dose + 1, so `cartrial escalate` and `assemble_design`
without a protocol must do the same; `--allow-skip` (``no_skip=False``) gives the unrestricted model
recommendation of dfcrm `crm`."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import typer
from tests.conftest import Cli

from cartrial.escalation import Crm, assemble_design, design_from_spec

SKELETON = "0.05,0.1,0.2,0.3,0.4"
CRM_ARGS = ("--design", "crm", "--doses", "5", "--skeleton", SKELETON, "--target", "0.3",
            "--cohort-size", "3", "--max-n", "30")  # fmt: skip


def _next(cli: Cli, *extra: str) -> int:
    result = cli("escalate", "next", *CRM_ARGS, "--outcomes", "1NNN", "--json", *extra)
    assert result.exit_code == 0, result.stderr
    return int(json.loads(result.stdout)["next_dose"])


def test_crm_without_protocol_does_not_skip_by_default(cli: Cli) -> None:
    """After 1NNN the last cohort was at level 1, so the cap is level 2 (current + 1), while the bare model
    (dfcrm `crm`, no restriction) recommends a level two or more above it."""
    unrestricted = Crm([0.05, 0.1, 0.2, 0.3, 0.4], 0.3, cohort_size=3).fit("1NNN").next_dose
    assert unrestricted is not None and unrestricted >= 3
    assert _next(cli) == 2
    assert _next(cli, "--no-skip") == 2
    assert _next(cli, "--allow-skip") == unrestricted


def test_python_api_default_is_no_skip_and_false_allows_skipping() -> None:
    options = {"skeleton": [0.05, 0.1, 0.2, 0.3, 0.4], "target": 0.3, "cohort_size": 3, "max_n": 30}
    assert assemble_design("crm", 5, options).fit("1NNN").next_dose == 2
    allowed = assemble_design("crm", 5, {**options, "no_skip": False})
    assert "dont_skip_doses" not in [b["behaviour"] for b in allowed.options().get("behaviours", [])]
    assert (
        allowed.fit("1NNN").next_dose
        == Crm([0.05, 0.1, 0.2, 0.3, 0.4], 0.3, cohort_size=3).fit("1NNN").next_dose
    )


@pytest.mark.parametrize(
    ("design", "options"),
    [
        ("3+3", {}),
        ("boin", {"target": 0.3, "max_n": 30}),
        ("mtpi2", {"target": 0.3, "max_n": 30}),
        ("i3+3", {"target": 0.3, "max_n": 30}),
        ("crm", {"target": 0.3, "max_n": 30, "skeleton": [0.05, 0.1, 0.2, 0.3, 0.4], "cohort_size": 3}),
    ],
)
def test_default_behaviours_are_the_protocols(design: str, options: dict[str, object]) -> None:
    """The protocol's escalation section (no_skip left at its default, true) and the option registry's
    default build the same design with the same behaviours, for every design, the final MTD kept admissible
    on both paths (D-19.390)."""
    from cartrial.protocol.escalation_spec import EscalationSpec

    spec = EscalationSpec.model_validate({"design": design, "dlt_window_days": 28, **options})
    assert spec.no_skip is True
    from_protocol = design_from_spec(spec, 5).options()
    from_api = assemble_design(design, 5, {**options}).options()

    assert from_api["behaviours"] == from_protocol["behaviours"]
    assert "dont_skip_doses" in [b["behaviour"] for b in from_api["behaviours"]]


def test_simulate_default_equals_no_skip_and_differs_from_allow_skip(cli: Cli) -> None:
    def run(*extra: str) -> dict[str, object]:
        truth = ("--truth", "0.02,0.04,0.06,0.3,0.5", "--trials", "200", "--seed", "3", "--json")
        result = cli("escalate", "simulate", *CRM_ARGS[:2], *CRM_ARGS[4:], *truth, *extra)
        assert result.exit_code == 0, result.stderr
        out = json.loads(result.stdout)
        return {k: out[k] for k in ("selection_pct", "mean_n")}

    assert run() == run("--no-skip")
    assert run() != run("--allow-skip")


def test_exact_three_plus_three_still_works_under_the_default(cli: Cli) -> None:
    """A 3+3 escalates one level at a time by its rule, so the default no-skipping rule changes none of its
    decisions: exact enumeration (bcrm `threep3`) stays available and equals the bare design's."""
    from cartrial.escalation import ThreePlusThree, exact_three_plus_three

    result = cli("escalate", "simulate", "--design", "3+3", "--truth", "0.05,0.15,0.5", "--exact", "--json")
    assert result.exit_code == 0, result.stderr
    bare = exact_three_plus_three(ThreePlusThree(3), [0.05, 0.15, 0.5])
    assert json.loads(result.stdout)["selection_pct"] == pytest.approx(list(bare.selection_pct))


def test_help_words_the_skipping_choice() -> None:
    from cartrial.commands.escalation_commands import escalate_app

    group = typer.main.get_group(escalate_app)
    for name in ("next", "paths", "simulate"):
        params = {o: p for p in group.commands[name].params for o in (*p.opts, *p.secondary_opts)}
        assert params["--no-skip"] is params["--allow-skip"]
        assert "--no-skip (default" in (params["--no-skip"].help or "")
        assert " | --allow-skip" in (params["--no-skip"].help or "")


def test_spec_namespace_without_no_skip_is_no_skip() -> None:
    """An object without `no_skip` (a partial spec) gets the registry default too."""
    spec = SimpleNamespace(
        design="crm", target=0.3, skeleton=[0.05, 0.1, 0.2, 0.3, 0.4], cohort_size=3, max_n=30
    )
    assert design_from_spec(spec, 5).fit("1NNN").next_dose == 2


def test_skip_rule_with_allow_skip_is_refused_in_words(cli: Cli) -> None:
    """`--skip-rule` only shapes the no-skipping rule: with `--allow-skip` it is refused, and the message says
    how to keep it (the default), not "with no_skip", a flag the command line no longer needs (D-19.390)."""
    code, _, err = cli("escalate", "next", *CRM_ARGS, "--allow-skip", "--skip-rule", "highest_tried")
    assert code == 2
    assert "--skip-rule: skip_rule applies only when dose skipping is forbidden (no_skip, the default)" in err
    assert "not with no_skip: false or --allow-skip" in err
