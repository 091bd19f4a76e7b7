"""D-19.227: the simulator wrote every adverse event of grade >= 3 as serious, so the report of a virtual
study counted each grade 3 neutropenia as a serious adverse event ("5 of 12 infused patients had a serious
TEAE", the same 5 as grade >= 3). Seriousness is not severity (ICH E2A §III.B): an event is serious when it
results in death, is life-threatening or requires or prolongs hospitalisation. The simulator now writes
serious: a fatal event (grade 5); a CRS or ICANS of grade >= 3 (ASTCT 2019 grade 3: vasopressor, high-flow
oxygen or ICU-level neurological care: hospitalisation prolonged); a non-laboratory event of grade 4 (CTCAE
v5.0: "life-threatening consequences"); never a laboratory cytopenia below grade 5 (a lab value meets no
E2A criterion by itself).

Expected: the rule above, read from the sources named, checked on a scenario with fatal CRS and grade >= 3
cytopenias (test_simulated_death.DEADLY)."""

from __future__ import annotations

from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare
from cartrial.simulation.study import simulate_study

from .test_simulated_death import DEADLY


def test_seriousness_follows_ich_e2a_not_the_grade(make_scenario) -> None:  # type: ignore[no-untyped-def]
    scenario, protocol = load_scenario(make_scenario(DEADLY))
    study = simulate_study(prepare(scenario, load_protocol(protocol), 0), 2)
    events = study.forms["adverse_events"]
    serious = events["serious"] == "true"
    cytopenia = events["category"] == "hematologic"
    crs_icans = events["category"].isin(["crs", "icans"])
    grade = events["grade"].astype(int)
    assert (cytopenia & (grade >= 3)).any() and (crs_icans & (grade >= 3)).any() and (grade == 5).any()
    assert not serious[cytopenia & (grade < 5)].any()  # a grade 3-4 cytopenia is severe, not serious
    assert serious[grade == 5].all()  # death
    assert serious[crs_icans & (grade >= 3)].all()
    assert not serious[crs_icans & (grade < 3)].any()
