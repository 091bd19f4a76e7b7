"""D-19.212: the methods section named every `analysis.options` value but not the options the relapse
derivation ran with: the protocol's relapse definition (merge window, pre-treatment window, adjudication)
and the engine's rules behind the reported median follow-up and rate ratio — among them the Kaplan-Meier
median rule (`km_median`, D-19.201: midpoint | smallest), which moves the example's median follow-up from
5.0 to 5.5 months. The analysis now carries them as the option ``relapses`` and the report's methods list
it with its source; a study that collects no relapses leaves it out (D-19.71).

Expected values: the example protocol (examples/ct103a-nmosd/protocol.yaml, endpoints
relapse_free_survival: merge_window_days 30; annualized_relapse_rate: pre_window_months 24,
require_adjudicated false) and the documented defaults of `cartrial.neuro.derive_relapses` (docs/science:
reverse Kaplan-Meier median follow-up, Schemper & Smith 1996; KM median "midpoint", D-19.201)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from cartrial.analysis import analyse
from cartrial.report.render import build_report, render_html
from cartrial.store.snapshot import read_snapshot

from .conftest import PROTOCOL


def _parameters() -> dict[str, object]:
    protocol = yaml.safe_load(PROTOCOL.read_text(encoding="utf-8"))
    endpoints = protocol["endpoints"]
    items = endpoints.values() if isinstance(endpoints, dict) else endpoints
    out: dict[str, object] = {}
    for endpoint in items:
        if endpoint.get("measure") in {"relapse_free_survival", "annualized_relapse_rate"}:
            out |= endpoint.get("parameters", {})
    return out


def test_the_relapse_options_in_force_are_in_the_methods(example_sqlite_template: Path) -> None:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    analysis = analyse(snapshot)
    options = analysis.options["relapses"]
    parameters = _parameters()
    for name in ("merge_window_days", "pre_window_months", "require_adjudicated"):
        assert options[name] == parameters[name], name
    assert options["km_median"] == "midpoint"
    assert options["follow_up_method"] == "reverse_km"
    assert "protocol endpoints" in analysis.option_sources["relapses"]
    report = build_report(
        analysis, snapshot.tables, cartrial_version="test", generated_at=dt.datetime(2026, 1, 1)
    )
    row = dict(report.methods)["relapses"]
    assert "km_median: midpoint" in row and "merge_window_days: 30" in row
    assert "(source: protocol endpoints" in row
    assert "km_median: midpoint" in render_html(report)
