"""The same seed gives the same files, `summary.html` included (D-19.293): its inline SVG figures carried a
creation date and random element ids, so two runs of `simulate trial` with the same seed wrote different
pages (a checksum of the protocol's archived OC output could not confirm a re-run)."""

from __future__ import annotations

import re

from cartrial.protocol import load_protocol
from cartrial.simulation import html_summary, load_scenario, prepare, simulate_trials, summarise


def test_the_same_seed_writes_the_same_page(make_scenario):
    scenario, protocol = load_scenario(make_scenario({"pool_size": 200}))
    prepared = prepare(scenario, load_protocol(protocol), 0)
    pages = []
    for _ in range(2):
        batch = simulate_trials(prepared, 40, seed=7)
        pages.append(html_summary(summarise(batch), batch, "t"))
    assert pages[0] == pages[1]
    assert "<dc:date>" not in pages[0]
    # the two figures of one page do not share a hashed id (clip paths and markers: one salt per figure)
    ids = re.findall(r'\bid="([mp][0-9a-f]{10})"', pages[0])
    assert ids
    assert len(ids) == len(set(ids))
