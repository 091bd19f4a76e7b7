"""A virtual patient who dies on the last day of the DLT window without a DLT is not DLT-evaluable, in the
simulator's escalation as in the analysis and the replay (`cartrial.protocol.dlt.dlt_followed_days`: the
day of a death is not a day followed through, D-19.231; D-19.1322).

A protocol whose DLT rules leave out CRS and whose window is 21 days, a scenario where a CRS of latent grade
5 (a death on the last day of its episode, `death_days_at_levels`: whole days after the infusion, so on that
site day) is common: a patient infused on 1 June who dies on 22 June (site day 21) without a DLT was
followed 20 whole days (by hand: 21 days from day 0 to the death's date, less the day of death), fewer
than the window's 21; before, the simulator counted `floor(21.0) = 21` days and took him as evaluable."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

from cartrial.protocol import load_protocol
from cartrial.protocol.dlt import dlt_evaluable, dlt_followed_days
from cartrial.simulation import load_scenario, prepare
from cartrial.simulation.trials import death_days_at_levels, draw_patients, observed_dlts

from .conftest import EXAMPLE

WINDOW = 21


def test_a_death_on_the_window_s_last_day_without_a_dlt_is_not_evaluable(
    make_scenario: Callable[..., Path],
) -> None:
    escalation = yaml.safe_load((EXAMPLE / "protocol.yaml").read_text(encoding="utf-8"))["escalation"]
    rules = [rule for rule in escalation["dlt_rules"] if rule.get("category") != "crs"]
    path = make_scenario(
        {"toxicity": {"crs": {"intercepts": [3.0, 0.0, -1.0, -1.5, -2.0]}}},
        {"escalation": {"dlt_window_days": WINDOW, "dlt_rules": rules}},
    )
    scenario, protocol = load_scenario(path)
    prepared = prepare(scenario, load_protocol(protocol), 1)
    draws = draw_patients(prepared, np.random.default_rng(0), 3000, 30)
    seen, evaluable = observed_dlts(prepared, draws)
    death = death_days_at_levels(draws)
    case = (death == WINDOW) & (draws.dropout_days[..., None] > WINDOW) & ~seen
    assert case.sum() > 0  # such deaths occur: the check means something
    day0 = dt.date(2021, 6, 1)
    followed = dlt_followed_days(day0, dt.date(2021, 6, 22), died=True)
    assert followed == 20 and not dlt_evaluable(followed, False, WINDOW)
    assert not evaluable[case].any()
    # a death the day after the window's end completes it (22 whole days less the day of death: 21)
    after = (death == WINDOW + 1) & (draws.dropout_days[..., None] > WINDOW + 1) & ~seen
    assert evaluable[after].all()
