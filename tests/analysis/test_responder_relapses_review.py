"""Review of D-19.896/898 in the analysis (D-19.900, D-19.901, D-19.903).

- `responders_by_subject` lists ``relapses`` among its inputs and carries the engine metadata (baseline
  rule, ``relapse_data``) and its notes; each ``efficacy:<endpoint>`` population states the attack rule, as
  ``efficacy:edss_change`` does. Before: inputs without ``relapses``, no engine metadata, a population text
  silent on the rule.
- A study that does not collect relapses: ``analysis.options`` no longer lists
  ``responder_baseline_visit`` (it excluded nothing, D-19.71 `OPTION_OUTCOME`), and the dataset's note says
  no relapse data were given. Before: listed as ``outside_relapse`` with no note.
- `osis_change` and the OSIS responders take a subscore's baseline by one rule (`baseline_and_follow_up`);
  a blank subscore cell, the only case where the old last-row rule and the responders' last-recorded-value
  rule could differ, is refused by the OSIS form with its record and field (checked here).
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from cartrial.analysis import analyse
from cartrial.analysis.model import Analysis
from cartrial.errors import InputError
from cartrial.neuro.derive import NO_RELAPSE_DATA_NOTE
from cartrial.protocol import parse_protocol
from cartrial.protocol.model import MEASURE_ASSESSMENT
from cartrial.store.snapshot import StudySnapshot

OUTSIDE = "    responder_baseline_visit: last"


def _outside_relapse(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(OUTSIDE)) + "\n"


def test_responders_name_relapses_and_the_rule(snapshot: StudySnapshot) -> None:
    protocol = parse_protocol(_outside_relapse(snapshot.protocol_yaml))
    analysis = analyse(dataclasses.replace(snapshot, protocol=protocol))
    dataset = analysis.datasets["responders_by_subject"]
    assert "relapses" in dataset.source_tables
    (engine,) = dataset.engine
    assert engine["options"]["baseline_visit"] == "outside_relapse"
    assert engine["options"]["relapse_data"] is True
    assert analysis.options["responder_baseline_visit"] == "outside_relapse"
    texts = [p.definition for name, p in analysis.populations.items() if name.startswith("efficacy:walking")]
    assert texts and all("not within 30 days after an attack onset" in t for t in texts)


def _without_relapses(snapshot: StudySnapshot) -> Analysis:
    data = yaml.safe_load(_outside_relapse(snapshot.protocol_yaml))
    data["endpoints"] = {
        key: e
        for key, e in data["endpoints"].items()
        if MEASURE_ASSESSMENT.get(e["measure"]) != "relapse_review"
    }
    for visit in data["schedule"]["visits"] + data["schedule"].get("unscheduled", []):
        visit["assessments"] = [a for a in visit["assessments"] if a != "relapse_review"]
    tables = dict(snapshot.tables) | {"relapses": snapshot.tables["relapses"].iloc[0:0]}
    protocol = parse_protocol(yaml.safe_dump(data, sort_keys=False))
    return analyse(dataclasses.replace(snapshot, tables=tables, protocol=protocol))


def test_without_relapse_data_nothing_is_claimed(snapshot: StudySnapshot) -> None:
    analysis = _without_relapses(snapshot)
    assert "responder_baseline_visit" not in analysis.options
    dataset = analysis.datasets["responders_by_subject"]
    assert NO_RELAPSE_DATA_NOTE in dataset.notes
    assert dataset.engine[0]["options"]["relapse_data"] is False
    texts = [p.definition for name, p in analysis.populations.items() if name.startswith("efficacy:walking")]
    assert texts and all("no relapse data, so none excluded as during an attack" in t for t in texts)


def test_a_blank_osis_subscore_is_refused_for_both_readers(snapshot: StudySnapshot) -> None:
    # every OSIS subscore is a required grade (neuro.tables.parse_osis_table): a blank motor cell in CT-001's
    # pre-infusion row is refused with its record and field, so `osis_change` and the OSIS responders, one
    # rule (`baseline_and_follow_up` on each subscore's recorded values), never read a blank baseline
    osis = snapshot.tables["osis"].copy()
    index = osis.index[osis["subject_id"] == "CT-001"][0]
    osis.loc[index, "motor"] = None
    tables = dict(snapshot.tables) | {"osis": osis}
    with pytest.raises(InputError) as caught:
        analyse(dataclasses.replace(snapshot, tables=tables))
    text = str(caught.value)
    assert f"osis_assessment record {osis.loc[index, 'record_id']}, motor: value is required" in text
