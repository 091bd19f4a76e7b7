"""D-19.314: a protocol with a lymphodepletion regimen but no lymphodepletion form in its schedule gets no
lymphodepletion form from `simulate study` — and none is computed (its rows were built for every patient and
dropped at the end), as for the other forms the protocol does not collect (D-19.62, D-19.64)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare
from cartrial.simulation import study as study_module
from cartrial.simulation.study import simulate_study

from .conftest import EXAMPLE


def _scenario(tmp_path: Path, collect: bool) -> Path:
    protocol = yaml.safe_load((EXAMPLE / "protocol.yaml").read_text(encoding="utf-8"))
    if not collect:
        for visit in protocol["schedule"]["visits"]:
            visit["assessments"] = [a for a in visit["assessments"] if a != "lymphodepletion"]
    assert protocol["lymphodepletion"] is not None  # the regimen stays: only the form is not collected
    (tmp_path / "protocol.yaml").write_text(yaml.safe_dump(protocol, sort_keys=False), encoding="utf-8")
    scenario = yaml.safe_load((EXAMPLE / "scenario.yaml").read_text(encoding="utf-8"))
    scenario["protocol"] = "protocol.yaml"
    scenario["pool_size"] = 200
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return path


def _simulate(path: Path) -> Any:
    loaded, protocol_path = load_scenario(path)
    protocol = load_protocol(protocol_path)
    return protocol, simulate_study(prepare(loaded, protocol, 2), 2)


def test_uncollected_lymphodepletion_is_neither_computed_nor_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = study_module.lymphodepletion_rows

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append("called")
        return real(*args, **kwargs)

    monkeypatch.setattr(study_module, "lymphodepletion_rows", spy)
    protocol, study = _simulate(_scenario(tmp_path, collect=False))
    assert "lymphodepletion" not in protocol.collected_assessments
    assert "lymphodepletion" not in study.forms
    assert "lymphodepletion" not in study.summary["rows"]
    assert "lymphodepletion" not in study.summary["not_simulated"]
    assert calls == []


def test_collected_lymphodepletion_is_written(tmp_path: Path) -> None:
    _protocol, study = _simulate(_scenario(tmp_path, collect=True))
    assert len(study.forms["lymphodepletion"]) > 0
