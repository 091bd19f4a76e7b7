"""`summary.html` draws only the metrics the run reports (D-19.295): for a protocol that does not collect
EDSS, AQP4-IgG or relapses (a myasthenia gravis protocol, D-19.64) the tables leave those metrics out, but
the page still drew their histograms — panels titled "% with EDSS improvement" over values the trial would
never measure."""

from __future__ import annotations

from cartrial.protocol import load_protocol
from cartrial.simulation import html_summary, load_scenario, prepare, simulate_trials, summarise


def _page(make_scenario, collected):
    scenario, protocol = load_scenario(make_scenario({"pool_size": 150}))
    batch = simulate_trials(prepare(scenario, load_protocol(protocol), 0), 30, seed=2)
    return html_summary(summarise(batch, collected=collected), batch, "t")


def test_a_metric_left_out_of_the_tables_has_no_panel(make_scenario):
    page = _page(make_scenario, {"crs", "icans", "pk"})
    for title in ("% with EDSS improvement", "% with AQP4-IgG falling", "ARR reduction %"):
        assert title not in page, title
    assert "% with CRS" in page and "patients treated" in page


def test_every_collected_metric_keeps_its_panel(make_scenario):
    page = _page(make_scenario, None)
    for title in ("% with EDSS improvement", "% with AQP4-IgG falling", "ARR reduction %", "% with CRS"):
        assert page.count(title) >= 2, title  # in the metrics table and as a panel title
