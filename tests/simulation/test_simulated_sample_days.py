"""D-19.229: `simulate study` dated each PK and PD sample at 09:00 on its nominal day while the infusion was
at any clock time, and wrote the nominal day as ``actual_day``: a sample of a patient infused at 23:45 was
recorded 14.75 hours before the day it claimed, and the import raised SAMPLE-DAY-MISMATCH on 60 samples of
seed 1 of the reference scenario (the store's rule: actual_day within ±0.5 day of sampled_at minus
infused_at). A sample is now taken at the infusion's clock time on its nominal day, so ``actual_day`` — the
time the concentration was simulated at — is the elapsed time the store and the NCA read.

Expected: the store's rule (src/cartrial/templates/FIELDS.md, SAMPLE-DAY-MISMATCH) and an import of the
study raising none."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare
from cartrial.simulation.study import simulate_study
from cartrial.store import init_study
from cartrial.store.importing import import_templates

from .conftest import EXAMPLE


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("days")
    scenario = yaml.safe_load((EXAMPLE / "scenario.yaml").read_text(encoding="utf-8"))
    scenario["protocol"] = str(EXAMPLE / "protocol.yaml")
    path = tmp / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    loaded, protocol_path = load_scenario(path)
    return prepare(loaded, load_protocol(protocol_path), 1), protocol_path, tmp


def _elapsed_days(forms: dict[str, pd.DataFrame], form: str) -> pd.DataFrame:
    infused = forms["infusions"].set_index("subject_id")["infused_at"].map(pd.Timestamp)
    rows = forms[form].copy()
    start = rows["subject_id"].map(infused)
    rows["elapsed"] = (rows["sampled_at"].map(pd.Timestamp) - start).dt.total_seconds() / 86400
    return rows


@settings(
    max_examples=property_examples(4),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.integers(min_value=0, max_value=50))
def test_actual_day_is_the_time_since_the_infusion(prepared, seed: int) -> None:  # type: ignore[no-untyped-def]
    study = simulate_study(prepared[0], seed)
    for form in ("pk_samples", "pd_samples"):
        rows = _elapsed_days(study.forms, form)
        assert ((rows["elapsed"] - rows["actual_day"].astype(float)).abs() <= 0.5).all(), form


def test_the_import_raises_no_sample_day_query(prepared) -> None:  # type: ignore[no-untyped-def]
    ready, protocol_path, tmp = prepared
    study = simulate_study(ready, 1)
    out = tmp / "study"
    out.mkdir()
    for name, frame in study.forms.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    url = f"sqlite:///{tmp / 'days.db'}"
    init_study(url, protocol_path, "admin")
    report = import_templates(url, out, "admin")
    assert [f.check.id for f in report.edit_checks] == []
