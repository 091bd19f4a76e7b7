"""D-19.223: a simulated study wrote no lymphodepletion form, so the report of an imported virtual study read
"lymphodepleted 0 of N" for patients the protocol lymphodepletes before every infusion, and the
treatment-emergent window (from the first lymphodepletion dose) fell back to the infusion day. Each virtual
patient now gets the protocol's regimen (`Protocol.lymphodepletion`): one row per agent and protocol day,
dated from the infusion's day on the site's calendar (D-19.857), dosed by
`cartrial.protocol.lymphodepletion_doses` on the weight and height the subjects form records (BSA by the
protocol's formula).

Expected values are read from the protocol file (examples/ct103a-nmosd/protocol.yaml: cyclophosphamide 300
and fludarabine 30 mg/m²/day on days -4, -3, -2, Mosteller BSA) and Mosteller's formula written out
(sqrt(height_cm · weight_kg / 3600), Mosteller RD, N Engl J Med 1987;317:1098)."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
import yaml

from cartrial.analysis import analyse
from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare
from cartrial.simulation.study import simulate_study
from cartrial.store import init_study
from cartrial.store.importing import import_templates
from cartrial.store.snapshot import read_snapshot

from .conftest import EXAMPLE


@pytest.fixture(scope="module")
def virtual(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("ld")
    scenario = yaml.safe_load((EXAMPLE / "scenario.yaml").read_text(encoding="utf-8"))
    scenario["protocol"] = str(EXAMPLE / "protocol.yaml")
    scenario["pool_size"] = 200
    path = tmp / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    loaded, protocol_path = load_scenario(path)
    study = simulate_study(prepare(loaded, load_protocol(protocol_path), 2), 2)
    return study, protocol_path, tmp


def test_every_virtual_patient_gets_the_protocol_regimen_on_its_days(virtual) -> None:  # type: ignore[no-untyped-def]
    study, protocol_path, _tmp = virtual
    regimen = yaml.safe_load(protocol_path.read_text(encoding="utf-8"))["lymphodepletion"]
    assert "lymphodepletion" in study.forms
    ld = study.forms["lymphodepletion"]
    subjects = study.forms["subjects"].set_index("subject_id")
    infusions = study.forms["infusions"].set_index("subject_id")
    expected_rows = sum(len(agent["days"]) for agent in regimen["agents"]) * len(infusions)
    assert len(ld) == expected_rows
    assert "lymphodepletion" not in study.summary["not_simulated"]
    for agent in regimen["agents"]:
        rows = ld[ld["drug"] == agent["name"]]
        for sid, infused_at in infusions["infused_at"].items():
            # the infusion's day on the site's calendar (D-19.857; UTC before, when the site had no zone)
            zone = study.forms["sites"]["time_zone"].iloc[0]
            day0 = pd.Timestamp(infused_at).tz_convert(zone).date()
            mine = rows[rows["subject_id"] == sid]
            assert sorted(mine["day_relative_to_infusion"]) == sorted(agent["days"])
            for _, row in mine.iterrows():
                assert (
                    row["administered_on"]
                    == (day0 + dt.timedelta(days=int(row["day_relative_to_infusion"]))).isoformat()
                )
                bsa = math.sqrt(subjects.loc[sid, "height_cm"] * subjects.loc[sid, "weight_kg"] / 3600)
                assert row["body_surface_area_m2"] == pytest.approx(bsa, abs=0.005)
                assert row["dose_mg_per_m2"] == agent["dose_mg_per_m2_per_day"]
                assert row["dose_mg"] == pytest.approx(agent["dose_mg_per_m2_per_day"] * bsa, abs=0.05)


def test_an_imported_virtual_study_is_lymphodepleted_without_a_data_query(virtual) -> None:  # type: ignore[no-untyped-def]
    study, protocol_path, tmp = virtual
    out = tmp / "study"
    out.mkdir()
    for name, frame in study.forms.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    url = f"sqlite:///{tmp / 'virtual.db'}"
    init_study(url, protocol_path, "admin")
    report = import_templates(url, out, "admin")  # raises InputError on any rejected row
    assert sum(f.read for f in report.forms) == sum(study.summary["rows"].values())
    about_ld = [
        f.check.id
        for f in report.edit_checks
        if f.check.id
        in {
            "LYMPHODEPLETION-DAY",
            "PROCEDURE-BEFORE-CONSENT",
            "RECORD-AFTER-DEATH",
            "RECORD-AFTER-END-OF-STUDY",
            "DATE-FUTURE",
        }
    ]
    assert about_ld == []
    analysis = analyse(read_snapshot(url, dt.date.fromisoformat(study.summary["data_cutoff"])))
    populations = analysis.datasets["populations"].table
    assert populations["lymphodepleted"].astype(bool).all()
    summary = analysis.datasets["disposition_summary"].table
    row = summary[(summary["measure"] == "lymphodepleted") & (summary["group"] == "all")].iloc[0]
    assert int(row["n"]) == len(study.forms["infusions"]) == int(row["n_enrolled"])


def test_a_protocol_without_lymphodepletion_writes_no_form(make_scenario) -> None:  # type: ignore[no-untyped-def]
    path = make_scenario({"pool_size": 200}, protocol_changes={"lymphodepletion": None})
    loaded, protocol_path = load_scenario(path)
    study = simulate_study(prepare(loaded, load_protocol(protocol_path), 2), 2)
    assert "lymphodepletion" not in study.forms
