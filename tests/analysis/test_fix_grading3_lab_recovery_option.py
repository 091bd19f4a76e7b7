"""`analysis.options.lab_min_recovery_days` (D-19.1312): the lab run's recovery length (ICAHT option H2,
D-19.1309/D-19.1311) is a study option, as `ctcae_version` that grades the same DLT lab events; it reaches
the DLT evaluation and is refused outside 1-100 at the protocol."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

import cartrial.grading as grading
from cartrial.analysis.core import study_populations
from cartrial.analysis.options import option_sources
from cartrial.errors import CartrialError
from cartrial.protocol import parse_protocol
from cartrial.protocol.analysis_spec import AnalysisOptions
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF


def test_the_option_defaults_to_three_and_is_refused_outside_its_range() -> None:
    assert AnalysisOptions().lab_min_recovery_days == 3
    assert AnalysisOptions(lab_min_recovery_days=1).lab_min_recovery_days == 1
    for bad in (0, 101, 2.5):
        with pytest.raises((ValidationError, CartrialError)):
            AnalysisOptions(lab_min_recovery_days=bad)


def test_the_protocol_option_reaches_the_graded_events(
    snapshot: StudySnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real = grading.derive_graded_events

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["lab_min_recovery_days"])
        return real(*args, **kwargs)

    monkeypatch.setattr(grading, "derive_graded_events", spy)
    # the example protocol states the option (at its default, 3): set it to 1
    text = re.sub(r"(?m)^(\s*lab_min_recovery_days:) 3\b", r"\1 1", snapshot.protocol_yaml, count=1)
    assert "lab_min_recovery_days: 1" in text
    protocol = parse_protocol(text)
    study_populations(dict(snapshot.tables), protocol, CUTOFF)
    assert seen == [1]
    assert option_sources(protocol.analysis)["lab_min_recovery_days"]["source"] == (
        "protocol analysis.options.lab_min_recovery_days"
    )
