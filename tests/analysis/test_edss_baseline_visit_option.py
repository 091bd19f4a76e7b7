"""The protocol chooses the EDSS baseline visit (D-19.869) and a study without relapse data labels no
worsening RAW or PIRA (D-19.870).

D-19.864 made the baseline the last EDSS on or before day 0 that is not within 30 days after a relapse onset,
but the analysis called `derive_disability` with its default options, so no protocol could choose it:
``analysis.options.edss_baseline_visit`` (``outside_relapse`` | ``last``) now does. The example's CT-002
(infusions.csv: infused 2021-05-18) has one EDSS visit before its infusion, 2021-05-15 (day -3, edss.csv);
a relapse onset added on 2021-05-01 (14 days before it) makes that visit one during an attack. With
``outside_relapse`` CT-002 has no baseline and is out of ``efficacy:edss_change`` as "baseline EDSS only
during an attack"; with ``last`` its baseline is that visit (day -3).

D-19.867 blanks the RAW/PIRA class without relapse data, but the analysis always passed the relapse
derivation's attacks ([] when relapses are not collected), so a confirmed worsening read as PIRA.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import yaml

from cartrial.analysis import analyse
from cartrial.analysis.model import Analysis
from cartrial.errors import CartrialError
from cartrial.protocol import parse_protocol
from cartrial.protocol.model import MEASURE_ASSESSMENT
from cartrial.store.snapshot import StudySnapshot

from .conftest import analyse_with_ct002_attack, protocol_with_option

SUBJECT = "CT-002"
OPTION = "edss_baseline_visit"


def test_the_example_protocol_states_last_for_its_screening_value(analysis: Analysis) -> None:
    assert analysis.options["edss_baseline_visit"] == "last"
    assert analysis.option_sources["edss_baseline_visit"] == "protocol analysis.options.edss_baseline_visit"


@pytest.mark.parametrize("value", [None, "outside_relapse"])
def test_outside_relapse_leaves_a_baseline_during_an_attack_out(
    snapshot: StudySnapshot, value: str | None
) -> None:
    analysis = analyse_with_ct002_attack(snapshot, OPTION, value)
    assert analysis.options["edss_baseline_visit"] == "outside_relapse"
    population = analysis.populations["efficacy:edss_change"]
    assert SUBJECT not in population.subject_ids
    assert population.excluded == {"baseline EDSS only during an attack": (SUBJECT,)}
    row = analysis.datasets["edss_change"].table.set_index("subject_id").loc[SUBJECT]
    assert pd.isna(row["baseline_edss"]) and pd.isna(row["baseline_day"])


def test_last_keeps_the_baseline_during_an_attack(snapshot: StudySnapshot) -> None:
    analysis = analyse_with_ct002_attack(snapshot, OPTION, "last")
    population = analysis.populations["efficacy:edss_change"]
    assert SUBJECT in population.subject_ids and population.excluded == {}
    row = analysis.datasets["edss_change"].table.set_index("subject_id").loc[SUBJECT]
    assert row["baseline_day"] == -3  # 2021-05-15, three days before the infusion on 2021-05-18
    assert not pd.isna(row["baseline_edss"])


def test_a_bad_value_names_the_field_and_the_allowed_values(snapshot: StudySnapshot) -> None:
    with pytest.raises(CartrialError) as caught:
        parse_protocol(protocol_with_option(snapshot, OPTION, "first"))
    text = str(caught.value)
    assert "edss_baseline_visit" in text
    assert "outside_relapse" in text and "last" in text


def test_no_relapse_data_no_relapse_class(snapshot: StudySnapshot) -> None:
    # no relapse_review in the schedule and no relapse rows: the study does not collect relapses
    data = yaml.safe_load(snapshot.protocol_yaml)
    data["endpoints"] = {
        key: e
        for key, e in data["endpoints"].items()
        if MEASURE_ASSESSMENT.get(e["measure"]) != "relapse_review"
    }
    for visit in data["schedule"]["visits"] + data["schedule"].get("unscheduled", []):
        visit["assessments"] = [a for a in visit["assessments"] if a != "relapse_review"]
    text = yaml.safe_dump(data, sort_keys=False)
    edss = snapshot.tables["edss"].copy()
    later = (edss["subject_id"] == SUBJECT) & (edss["assessed_at"].astype(str) > "2021-06")
    edss.loc[later, "ambulation"] = "6"  # every visit from day 90 on: a sustained worsening from 3.0
    relapses = snapshot.tables["relapses"].iloc[0:0]
    tables = dict(snapshot.tables) | {"edss": edss, "relapses": relapses}
    analysis = analyse(dataclasses.replace(snapshot, tables=tables, protocol=parse_protocol(text)))
    assert "relapses_by_subject" not in analysis.datasets
    row = analysis.datasets["edss_change"].table.set_index("subject_id").loc[SUBJECT]
    assert row["worsening_confirmed"] is True or bool(row["worsening_confirmed"])
    assert pd.isna(row["worsening_relapse_associated"])  # neither relapse-associated nor PIRA (D-19.867)
