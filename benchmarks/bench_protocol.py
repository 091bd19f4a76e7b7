"""Protocol benchmarks: validating the reference protocol and screening candidates.

Decisions §2 sets no performance target; these numbers are recorded so that regressions are visible (a
protocol is validated on every command that reads it, and screening may run over a registry export).
"""

from __future__ import annotations

from typing import Any

from benchmarks.timing import best_seconds
from cartrial import examples as cartrial_examples
from cartrial.protocol import load_candidate, parse_protocol, screen

EXAMPLE = cartrial_examples.path("ct103a-nmosd")


def run() -> list[dict[str, Any]]:
    text = (EXAMPLE / "protocol.yaml").read_text(encoding="utf-8")
    parse_seconds = best_seconds(lambda: parse_protocol(text, "protocol.yaml"), repeat=5)
    protocol = parse_protocol(text)
    candidates = [load_candidate(p) for p in sorted((EXAMPLE / "candidates").iterdir())]
    batch = candidates * 334  # about 1000 screenings

    def screen_all() -> None:
        for candidate in batch:
            screen(protocol, candidate)

    screen_seconds = best_seconds(screen_all, repeat=3)
    return [
        {
            "name": "protocol_parse_reference",
            "value": parse_seconds * 1000,
            "unit": "ms",
            "target": "none set by decisions §2 (informational)",
            "meets_target": True,
        },
        {
            "name": "protocol_screen_throughput",
            "value": len(batch) / screen_seconds,
            "unit": "candidates/s",
            "target": "none set by decisions §2 (informational)",
            "meets_target": True,
            "criteria_per_candidate": len(protocol.eligibility.criteria),
        },
    ]
