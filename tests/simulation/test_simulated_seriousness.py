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


CRITERIA = (
    "serious_death",
    "serious_life_threatening",
    "serious_hospitalisation",
    "serious_disability",
    "serious_congenital_anomaly",
    "serious_medically_important",
)


def test_serious_events_carry_their_e2a_criteria(make_scenario) -> None:  # type: ignore[no-untyped-def]
    """D-19.328: each serious virtual event is written with the E2A criteria that make it serious, each
    answered true or false; a non-serious event leaves them blank (not applicable). A fatal event results in
    death; a CRS or ICANS of grade >= 3 prolongs hospitalisation (ASTCT grade 3), and at grade 4 is also
    life-threatening (CTCAE v5.0 grade 4); any other grade 4 event but a cytopenia is life-threatening."""
    scenario, protocol = load_scenario(make_scenario(DEADLY))
    study = simulate_study(prepare(scenario, load_protocol(protocol), 0), 2)
    events = study.forms["adverse_events"]
    assert set(CRITERIA) <= set(events.columns)
    serious = events["serious"] == "true"
    ticked = events[list(CRITERIA)] == "true"
    assert (ticked.any(axis=1) == serious).all()  # serious exactly when a criterion is met
    assert (events.loc[serious, list(CRITERIA)].isin(["true", "false"])).all().all()
    assert (events.loc[~serious, list(CRITERIA)] == "").all().all()
    grade = events["grade"].astype(int)
    crs_icans = events["category"].isin(["crs", "icans"])
    assert (events.loc[grade == 5, "serious_death"] == "true").all()
    assert (events.loc[grade < 5, "serious_death"] != "true").all()
    assert (events.loc[crs_icans & grade.between(3, 4), "serious_hospitalisation"] == "true").all()
    cytopenia = events["category"] == "hematologic"
    assert (events.loc[(grade == 4) & ~cytopenia, "serious_life_threatening"] == "true").all()
    assert not ticked[["serious_disability", "serious_congenital_anomaly"]].any().any()
