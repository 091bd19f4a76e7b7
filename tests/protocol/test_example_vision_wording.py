"""The example protocol's vision responder text states the current rule (D-19.740): a change and the
baseline eligibility are reached exactly or in whole ETDRS letters on the chart (D-19.683, D-19.684);
off-chart levels by their order. Before: the text said only "falls by >= 0.2 ... baseline logMAR was
>= 0.2" (exact reading)."""

from __future__ import annotations

from cartrial import examples
from cartrial.protocol import load_protocol


def test_the_example_vision_endpoint_states_the_whole_letter_rule() -> None:
    protocol = load_protocol(examples.path("ct103a-nmosd") / "protocol.yaml")
    text = " ".join(str(protocol.endpoints["visual_acuity_response"].description).split())
    assert "exactly or in whole ETDRS letters" in text
    assert "D-19.683" in text and "D-19.684" in text
    assert "off-chart levels" in text
