"""D-19.857: the lymphodepletion form of a virtual study was dated from the infusion's UTC day while the
store's LYMPHODEPLETION-DAY check (D-19.607) reads day 0 on the site's calendar: at an Asia/Shanghai site
(UTC+8) an infusion after 16:00 UTC is on the next site day, so every row of that patient was one day early
and raised a data query on import. The rule (the check's own): administered_on = the infusion's site date +
day_relative_to_infusion."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import pandas as pd
import pytest

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare
from cartrial.simulation.study import SimulatedStudy, simulate_study
from cartrial.store import init_study
from cartrial.store.importing import import_templates

from .conftest import EXAMPLE

ZONE = "Asia/Shanghai"


@pytest.fixture(scope="module")
def study() -> tuple[SimulatedStudy, Path]:
    scenario, protocol = load_scenario(EXAMPLE / "scenario.yaml")
    accrual = {"candidates_per_month": 30.0, "site_time_zone": ZONE}
    design = scenario.design.model_copy(update={"expansion_patients": 20})
    scenario = scenario.model_copy(
        update={"accrual": scenario.accrual.model_copy(update=accrual), "design": design, "pool_size": 100}
    )
    return simulate_study(prepare(scenario, load_protocol(protocol), 5), 5), protocol


def test_lymphodepletion_is_dated_on_the_sites_calendar(study: tuple[SimulatedStudy, Path]) -> None:
    forms = study[0].forms
    tz = zoneinfo.ZoneInfo(ZONE)
    assert forms["sites"]["time_zone"].tolist() == [ZONE]
    infused = {
        sid: pd.Timestamp(at).tz_convert(tz)
        for sid, at in zip(forms["infusions"]["subject_id"], forms["infusions"]["infused_at"], strict=True)
    }
    # the check means something: some infusions are on a later site day than their UTC day
    assert sum(t.date() != t.tz_convert("UTC").date() for t in infused.values()) >= 2
    ld = forms["lymphodepletion"]
    assert set(ld["subject_id"]) == set(infused)
    for _, row in ld.iterrows():
        day0 = infused[row["subject_id"]].date()
        expected = day0 + dt.timedelta(days=int(row["day_relative_to_infusion"]))
        assert row["administered_on"] == expected.isoformat(), row["subject_id"]


def test_an_imported_shanghai_study_raises_no_lymphodepletion_day_query(
    study: tuple[SimulatedStudy, Path], tmp_path: Path
) -> None:
    simulated, protocol = study
    out = tmp_path / "study"
    out.mkdir()
    for name, frame in simulated.forms.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    url = f"sqlite:///{tmp_path / 'virtual.db'}"
    init_study(url, protocol, "admin")
    report = import_templates(url, out, "admin")
    assert [f.check.id for f in report.edit_checks if f.check.id == "LYMPHODEPLETION-DAY"] == []
