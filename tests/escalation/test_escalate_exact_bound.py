"""`escalate simulate` printed "no MTD 0.00%" as the Monte Carlo SE of a 0 % proportion, an SE of 0 that
says nothing; it prints the count and the exact (Clopper-Pearson) 95 % interval instead (decisions
D-19.393), in the one display rule of `cartrial.simulation.oc.proportion_text`. At k = 0 of n the upper
end is 1 - 0.025^(1/n) (closed form of the beta quantile)."""

from __future__ import annotations

from tests.conftest import Cli


def test_no_mtd_at_zero_shows_the_exact_interval(cli: Cli) -> None:
    args = ["--design", "boin", "--target", "0.3", "--truth", "0.01,0.02,0.05", "--trials", "200"]
    code, out, err = cli("escalate", "simulate", *args, env={"COLUMNS": "250"})
    assert code == 0, err
    flat = " ".join(out.split())
    assert "no MTD: 0.0%" in flat  # every trial selects a level in this scenario
    upper = 100 * (1 - 0.025 ** (1 / 200))
    assert f"no MTD 0.0 % (0 of 200; exact 95 % CI 0.0–{upper:.1f})" in flat


def test_selection_at_zero_and_all_shows_the_exact_interval(cli: Cli) -> None:
    """Every trial selects level 3 here: the per-level selection % are 100, 0 and 0 with binomial SEs of 0,
    which printed "selected % ≤ 0.00"; the count and exact interval are printed instead."""
    args = ["--design", "boin", "--target", "0.3", "--truth", "0.01,0.02,0.05", "--trials", "200"]
    code, out, err = cli("escalate", "simulate", *args, env={"COLUMNS": "250"})
    assert code == 0, err
    flat = " ".join(out.split())
    assert "selected % ≤ 0.00" not in flat
    upper = 100 * (1 - 0.025 ** (1 / 200))
    for level in (1, 2):
        assert f"level {level} selected 0.0 % (0 of 200; exact 95 % CI 0.0–{upper:.1f})" in flat
    assert f"level 3 selected 100.0 % (200 of 200; exact 95 % CI {100 - upper:.1f}–100.0)" in flat
