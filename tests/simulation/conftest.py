"""Shared helpers of the simulation tests: scenario files derived from the shipped reference scenario."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cartrial import examples

EXAMPLE = examples.path("ct103a-nmosd")


def deep_update(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = value
    return out


@pytest.fixture
def make_scenario(tmp_path: Path) -> Callable[..., Path]:
    """Write a scenario (the reference one with `changes` deep-merged) and, when `protocol_changes` are
    given, a modified copy of the reference protocol next to it; returns the scenario path."""

    def make(changes: dict[str, Any] | None = None, protocol_changes: dict[str, Any] | None = None) -> Path:
        scenario = yaml.safe_load((EXAMPLE / "scenario.yaml").read_text(encoding="utf-8"))
        protocol_path = EXAMPLE / "protocol.yaml"
        if protocol_changes is not None:
            protocol = yaml.safe_load(protocol_path.read_text(encoding="utf-8"))
            protocol = deep_update(protocol, protocol_changes)
            protocol_path = tmp_path / "protocol.yaml"
            protocol_path.write_text(yaml.safe_dump(protocol, sort_keys=False), encoding="utf-8")
        scenario["protocol"] = str(protocol_path)
        scenario = deep_update(scenario, changes or {})
        path = tmp_path / "scenario.yaml"
        path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
        return path

    return make
