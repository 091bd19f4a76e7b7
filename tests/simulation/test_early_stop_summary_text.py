"""A trial-simulation summary written before D-19.478 has no `safety_stop` key. The callers read it with
`s.get("safety_stop", "not stated")` — a truthy placeholder, so such a summary was printed as a design that
can stop ("early stop for toxicity 0.0 %"). Now it says the summary does not state it (D-19.482)."""

from __future__ import annotations

from pathlib import Path

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


def test_no_caller_keeps_a_truthy_placeholder() -> None:
    root = Path(__file__).resolve().parents[2] / "src" / "cartrial"
    for path in root.rglob("*.py"):
        assert '"safety_stop", "not stated"' not in path.read_text(encoding="utf-8"), path
