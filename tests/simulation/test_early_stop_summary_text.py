"""A trial-simulation summary written before D-19.478 has no `safety_stop` key. The callers read it with
`s.get("safety_stop", "not stated")` — a truthy placeholder, so such a summary was printed as a design that
can stop ("early stop for toxicity 0.0 %"). Now it says the summary does not state it (D-19.482)."""

from __future__ import annotations

from cartrial.simulation.oc import early_stop_summary_text

BASE = {"early_stop_pct": 0.0, "early_stop_se_pct": 0.0, "trials": 100}


def test_a_summary_without_the_key_is_not_read_as_a_design_that_can_stop() -> None:
    text = early_stop_summary_text(BASE)
    assert "not state" in text and "none possible" not in text


def test_a_design_without_a_stop_says_none_possible() -> None:
    assert "none possible" in early_stop_summary_text({**BASE, "safety_stop": None})


def test_a_design_with_a_stop_gives_its_rate() -> None:
    text = early_stop_summary_text({**BASE, "early_stop_pct": 12.0, "safety_stop": "3+3 rule"})
    assert text.startswith("early stop for toxicity 12") and "not state" not in text


def _printed(summary: dict) -> str:  # type: ignore[type-arg]
    """What `cartrial simulate trial` prints for a run with `summary` (its caller of the sentence)."""
    import pandas as pd
    from rich.console import Console

    from cartrial.commands.simulation_commands import print_oc
    from cartrial.simulation.oc import TrialOc

    console = Console(record=True, width=400)
    print_oc(console, TrialOc(pd.DataFrame(), pd.DataFrame(), summary), "title")
    return console.export_text()


def test_the_printed_summary_does_not_invent_a_safety_stop() -> None:
    """Behavioural (replaces a grep for one spelling of the placeholder): the CLI's printed
    summary of a summary without the key says so, and one without a stop says "none possible"."""
    base = {**BASE, "no_mtd_pct": 0.0, "no_mtd_se_pct": 0.0}
    base |= {"p_any_crs_grade3plus_pct": 0.0, "p_any_crs_grade3plus_se_pct": 0.0}
    text = _printed(base)
    assert "does not state whether the design has a safety stop" in text
    assert "none possible" in _printed({**base, "safety_stop": None})
    stated = _printed({**base, "early_stop_pct": 12.0, "safety_stop": "P(p_1 > 0.3) > 0.9"})
    assert "early stop for toxicity 12.0 %" in stated and "not state" not in stated
