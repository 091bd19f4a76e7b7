"""One declaration of where each schedule assessment is recorded (`cartrial.protocol.records`, D-19.80),
read by the casebook, the analysis's outcomes and the simulator; the simulator says which collected values
it does not simulate (D-19.81)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cartrial.protocol import load_protocol
from cartrial.protocol.records import ASSESSMENT_RECORDS, form_columns, visit_forms
from cartrial.protocol.schedule import Assessment
from cartrial.simulation import load_scenario, prepare
from cartrial.simulation.study import SIMULATED_PD_COLUMNS, simulate_study

GMG = "tests/data/indication-gmg/scenario.yaml"
NMOSD = "examples/ct103a-nmosd/scenario.yaml"
PD_ANALYTES = ("bcma_plasma_cells_per_ul", "cd19_b_cells_per_ul", "igg_g_per_l", "iga_g_per_l", "igm_g_per_l")


def _study(path: str, seed: int = 2):
    scenario, protocol_path = load_scenario(path)
    protocol = load_protocol(protocol_path)
    return protocol, simulate_study(prepare(scenario, protocol, seed), seed)


def test_the_declaration_names_real_assessments_forms_and_columns():
    from cartrial.store.fields import field_rules
    from cartrial.store.importing.forms import FORMS_BY_NAME

    assessments = {a.value for a in Assessment}
    for assessment, recorded in ASSESSMENT_RECORDS.items():
        assert assessment in assessments, assessment
        for form, column in (*recorded.data, *recorded.describing):
            assert form in FORMS_BY_NAME, (assessment, form)
            if column is not None:
                assert column in field_rules(FORMS_BY_NAME[form].table), (assessment, form, column)


def test_the_three_users_read_the_one_declaration():
    """No second map from forms to assessments: the casebook, the analysis and the simulator derive theirs."""
    from cartrial.analysis import outcomes
    from cartrial.simulation import study
    from cartrial.web import views

    assert not hasattr(views, "ASSESSMENT_FORMS") and not hasattr(study, "FORM_ASSESSMENT")
    for name, (assessment, sources) in outcomes.OUTCOMES.items():
        assert sources == ASSESSMENT_RECORDS[assessment].data, name

    from cartrial.store.importing.forms import FORMS_BY_NAME

    protocol = load_protocol("examples/ct103a-nmosd/protocol.yaml")
    visits, _ = views.schedule_cells(protocol, {}, None, dt.date(2024, 1, 1))
    for visit, planned in zip(visits, protocol.schedule.visits, strict=True):
        recorded = [ASSESSMENT_RECORDS.get(a.value) for a in planned.assessments]
        tables = [FORMS_BY_NAME[r.form].table for r in recorded if r is not None and r.cell]
        assert [c.table for c in visit.cells] == list(dict.fromkeys(tables)), visit.name
        assert len(visit.cells) == len(visit_forms(a.value for a in planned.assessments))
    # an event form is reviewed at a visit, not expected: no relapse cell although visits list the review
    assert not any(c.table == "relapse" for v in visits for c in v.cells)


@pytest.mark.parametrize("path", [GMG, NMOSD])
def test_the_simulated_pd_form_follows_what_the_protocol_collects(path: str):
    protocol, study = _study(path)
    collected = protocol.collected_assessments
    wanted = form_columns("pd_samples", collected, describing=False)
    simulated = [c for c in wanted if c in SIMULATED_PD_COLUMNS]
    not_simulated = [c for c in wanted if c not in SIMULATED_PD_COLUMNS]
    assert study.summary["not_simulated"].get("pd_samples", []) == not_simulated
    if simulated:
        assert set(simulated) <= set(study.forms["pd_samples"].columns)
        assert study.forms["pd_samples"][simulated].notna().all().all()
    else:  # no collected analyte the simulator models: no form of sample times without values
        assert "pd_samples" not in study.forms
    from cartrial.analysis.outcomes import COLUMN_OUTCOME, OUTCOMES

    for form, frame in study.forms.items():  # never a column of an assessment the protocol leaves out
        for column in frame.columns:
            outcome = COLUMN_OUTCOME.get((form, column))
            assert outcome is None or OUTCOMES[outcome][0] in collected, (form, column)


def test_a_gmg_run_names_the_pd_analytes_it_does_not_simulate(tmp_path):
    from ..conftest import run_cartrial

    _protocol, study = _study(GMG)
    assert study.summary["not_simulated"]["pd_samples"] == list(PD_ANALYTES)
    result = run_cartrial("simulate", "study", "--scenario", GMG, "--seed", "2", "--out", tmp_path / "s")
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "not simulated" in said and "pd_samples: " + ", ".join(PD_ANALYTES) in said


def test_a_protocol_without_pd_gets_no_pd_form_and_no_note(tmp_path):
    """Neither AQP4-IgG nor any PD analyte collected: no PD form (as before), nothing said about PD."""
    import re

    from cartrial.protocol import parse_protocol
    from cartrial.simulation.scenario import parse_scenario

    text = Path("tests/data/indication-gmg/protocol.yaml").read_text(encoding="utf-8")
    text = re.sub(r",\s*\b(pd|b_cells|immunoglobulins)\b(?=[,\]])", "", text)
    protocol = parse_protocol(text, "no-pd.yaml")
    assert not {"pd", "b_cells", "immunoglobulins", "aqp4_igg"} & protocol.collected_assessments
    scenario = parse_scenario(Path(GMG).read_text(encoding="utf-8"))
    study = simulate_study(prepare(scenario, protocol, 2), 2)
    assert "pd_samples" not in study.forms and "pd_samples" not in study.summary["not_simulated"]
