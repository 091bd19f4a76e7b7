"""The protocol chooses the responder baseline visit (D-19.896).

The responder endpoints (vision, walking, bladder) took the last value on or before day 0 as baseline whatever
its timing, while the EDSS baseline skips a visit during an attack (D-19.864, D-19.869).
``analysis.options.responder_baseline_visit`` (``outside_relapse`` default | ``last``) now chooses. The
example's CT-002 (infusions.csv: infused 2021-05-18) has one timed 25-foot walk before its infusion,
2021-05-15 (timed_walk.csv, 5.1 and 5.0 s), and one after, 2022-02-07 (5.0 and 4.9 s); a relapse onset added
on 2021-05-01 (14 days before the walk) makes that walk one during an attack. With ``outside_relapse`` CT-002
has no walking baseline and is out of ``efficacy:walking_response`` as "baseline only during an attack";
with ``last`` (the example's value, its responder measures coming from the same screening visit as
``edss_change``) it is evaluable (5.05 -> 4.95 s, 2 % faster: not a responder).
"""

from __future__ import annotations

import pandas as pd
import pytest

from cartrial.analysis.model import Analysis
from cartrial.errors import CartrialError
from cartrial.neuro.responders import BASELINE_ONLY_DURING_ATTACK
from cartrial.protocol import parse_protocol
from cartrial.store.snapshot import StudySnapshot

from .conftest import analyse_with_ct002_attack, protocol_with_option

SUBJECT = "CT-002"
OPTION = "responder_baseline_visit"


def _walking(analysis: Analysis) -> pd.Series:
    rows = analysis.datasets["responders_by_subject"].table
    return rows[(rows["endpoint"] == "walking_response") & (rows["subject_id"] == SUBJECT)].iloc[0]


def test_the_example_protocol_states_last(analysis: Analysis) -> None:
    assert analysis.options["responder_baseline_visit"] == "last"
    assert analysis.option_sources["responder_baseline_visit"] == (
        "protocol analysis.options.responder_baseline_visit"
    )


@pytest.mark.parametrize("value", [None, "outside_relapse"])
def test_outside_relapse_leaves_a_walk_during_an_attack_out(
    snapshot: StudySnapshot, value: str | None
) -> None:
    analysis = analyse_with_ct002_attack(snapshot, OPTION, value)
    assert analysis.options["responder_baseline_visit"] == "outside_relapse"
    row = _walking(analysis)
    assert not row["evaluable"] and pd.isna(row["responder"])
    assert str(row["reason"]).startswith(BASELINE_ONLY_DURING_ATTACK)
    assert SUBJECT not in analysis.populations["efficacy:walking_response"].subject_ids


def test_last_keeps_the_walk_during_the_attack(snapshot: StudySnapshot) -> None:
    analysis = analyse_with_ct002_attack(snapshot, OPTION, "last")
    row = _walking(analysis)
    assert bool(row["evaluable"]) and not bool(row["responder"])  # 5.05 -> 4.95 s: 2 % faster
    assert SUBJECT in analysis.populations["efficacy:walking_response"].subject_ids


def test_a_bad_value_names_the_field_and_the_allowed_values(snapshot: StudySnapshot) -> None:
    with pytest.raises(CartrialError) as caught:
        parse_protocol(protocol_with_option(snapshot, OPTION, "first"))
    text = str(caught.value)
    assert "responder_baseline_visit" in text
    assert "outside_relapse" in text and "last" in text


# CT-002's only pre-infusion OSIS (osis.csv) is on 2021-05-15, like its walk: during the added attack.
def test_osis_change_follows_the_same_baseline(snapshot: StudySnapshot) -> None:
    outside = (
        analyse_with_ct002_attack(snapshot, OPTION, "outside_relapse")
        .datasets["osis_change"]
        .table.set_index("subject_id")
    )
    assert not bool(outside.loc[SUBJECT, "evaluable"])
    assert pd.isna(outside.loc[SUBJECT, "motor_baseline"])
    last = (
        analyse_with_ct002_attack(snapshot, OPTION, "last")
        .datasets["osis_change"]
        .table.set_index("subject_id")
    )
    assert bool(last.loc[SUBJECT, "evaluable"])
    assert not pd.isna(last.loc[SUBJECT, "motor_baseline"])
