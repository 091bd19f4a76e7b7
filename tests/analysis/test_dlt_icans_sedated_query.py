"""D-19.787 through the analysis: a protocol ICANS rule with a duration ("> 3 days") read by `evaluate_dlts`
on the example study, CT-003 (infused 2021-06-08T01:45Z) given an ICANS grade 3 (alert, every ICE item 0: ICE
0-2, ASTCT 2019) on day 1 and then only "not assessable" assessments (unarousable from sedation, no other
finding) on days 2-6. By hand: onset day 1, last graded day 1, unresolved through day 6: 5 days > 3, a DLT
counted through sedated days, so `dlt_assessments` carries a query and its notes name CT-003; without a
duration in the rule nothing is queried."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cartrial.analysis.dlt import evaluate_dlts
from cartrial.protocol import parse_protocol
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF

SUBJECT = "CT-003"
INFUSED = dt.datetime(2021, 6, 8, 1, 45, tzinfo=dt.UTC)
RULE = """      category: icans
      min_grade: 3
      min_relatedness: possible
"""


def _tables(snapshot: StudySnapshot) -> dict[str, pd.DataFrame]:
    tables = dict(snapshot.tables)
    icans = tables["icans_assessments"]
    template = icans[icans["subject_id"] == SUBJECT].iloc[0].to_dict()
    items = ("ice_orientation", "ice_naming", "ice_command", "ice_writing", "ice_attention")
    rows = []
    for day in range(1, 7):
        sedated = day > 1
        row = dict(template) | {
            "assessed_at": (INFUSED + dt.timedelta(days=day)).isoformat().replace("+00:00", "Z"),
            "consciousness": "unarousable" if sedated else "alert",
            "consciousness_other_cause": "true" if sedated else "false",
            "seizure": "none",
            "motor": "none",
            "cerebral_edema": "none",
            "ice_total": "" if sedated else "0",
        }
        row |= {item: "" if sedated else "0" for item in items if item in row}
        if "record_id" in row:
            row["record_id"] = str(990000 + day)
        rows.append(row)
    kept = icans[icans["subject_id"] != SUBJECT]
    tables["icans_assessments"] = pd.concat([kept, pd.DataFrame(rows)], ignore_index=True)
    return tables


def _evaluate(snapshot: StudySnapshot, extra: str):  # type: ignore[no-untyped-def]
    assert RULE in snapshot.protocol_yaml
    protocol = parse_protocol(snapshot.protocol_yaml.replace(RULE, RULE + extra, 1))
    return evaluate_dlts(_tables(snapshot), protocol, CUTOFF)


def test_a_duration_met_through_sedated_days_is_a_dlt_with_a_query(snapshot: StudySnapshot) -> None:
    evaluation = _evaluate(snapshot, "      min_duration_days: 3\n")
    table = evaluation.assessments
    icans = table[(table["subject_id"] == SUBJECT) & (table["category"] == "icans")].reset_index(drop=True)
    assert len(icans) == 1
    row = icans.iloc[0]
    assert (row["grade"], row["onset_day"], row["graded_to_day"], row["ongoing_at_day"]) == (3, 1.0, 1.0, 6.0)
    assert bool(row["is_dlt"])
    assert "icans_grade_3_related: duration > 3 days only through assessments" in row["query"]
    assert any("to query: CT-003" in note for note in evaluation.notes)


def test_without_a_duration_condition_nothing_is_queried(snapshot: StudySnapshot) -> None:
    table = _evaluate(snapshot, "").assessments
    icans = table[(table["subject_id"] == SUBJECT) & (table["category"] == "icans")]
    assert icans["is_dlt"].astype(bool).all()
    assert (icans["query"] == "").all()


def test_the_query_names_site_calendar_days(snapshot: StudySnapshot) -> None:
    """Infusion 2021-06-08T01:45Z (09:45 in Asia/Shanghai, UTC+8: study day 0 is 8 June); ICANS rows at
    22:15Z: grade 3 on 8 June 22:15Z (06:15 on 9 June in Shanghai: study day 1), sedated on 9-13 June 22:15Z
    (Shanghai 10-14 June: days 2-6). By hand the query says "last graded on study day 1, unresolved to study
    day 6", as the heat map's days, never a fraction of a day (0.854...)."""
    tables = _tables(snapshot)
    icans = tables["icans_assessments"].copy()
    mine = icans["subject_id"] == SUBJECT
    icans.loc[mine, "assessed_at"] = [
        (INFUSED + dt.timedelta(days=day, hours=20, minutes=30)).isoformat().replace("+00:00", "Z")
        for day in range(6)
    ]
    tables["icans_assessments"] = icans
    infusions = tables["infusions"].copy()
    infusions["time_zone"] = ["Asia/Shanghai" if s == SUBJECT else "" for s in infusions["subject_id"]]
    tables["infusions"] = infusions
    assert RULE in snapshot.protocol_yaml
    protocol = parse_protocol(snapshot.protocol_yaml.replace(RULE, RULE + "      min_duration_days: 3\n", 1))
    table = evaluate_dlts(tables, protocol, CUTOFF).assessments
    (query,) = table[(table["subject_id"] == SUBJECT) & (table["category"] == "icans")]["query"]
    assert "last graded on study day 1, unresolved to study day 6, site calendar" in query
    assert "0.85" not in query and "5.85" not in query


def test_a_resolved_episode_query_names_the_sedated_days(snapshot: StudySnapshot) -> None:
    """Round-2 review (D-19.787 amended): CT-003 grade 3 on day 1, sedated on days 2-6 (as above), ICE 10
    (alert, no finding: grade 0) on day 7: resolved on day 7, 6 days > 3 → DLT; a grade 0 at the first sedated
    row (day 2) would have left 1 day: queried; by hand the query says "not assessable from study day 2,
    resolved on study day 7" (UTC study days: infusion 01:45Z, rows at 01:45Z)."""
    tables = _tables(snapshot)
    icans = tables["icans_assessments"]
    template = icans[icans["subject_id"] == SUBJECT].iloc[0].to_dict()
    resolved = dict(template) | {
        "assessed_at": (INFUSED + dt.timedelta(days=7)).isoformat().replace("+00:00", "Z"),
        "ice_total": "10",
    }
    # ICE 10 of 10 (orientation 4, naming 3, command 1, writing 1, attention 1) where the form has the items
    ice = {
        "ice_orientation": "4",
        "ice_naming": "3",
        "ice_command": "1",
        "ice_writing": "1",
        "ice_attention": "1",
    }
    resolved |= {item: value for item, value in ice.items() if item in resolved}
    if "record_id" in resolved:
        resolved["record_id"] = "990099"
    tables["icans_assessments"] = pd.concat([icans, pd.DataFrame([resolved])], ignore_index=True)
    assert RULE in snapshot.protocol_yaml
    protocol = parse_protocol(snapshot.protocol_yaml.replace(RULE, RULE + "      min_duration_days: 3\n", 1))
    table = evaluate_dlts(tables, protocol, CUTOFF).assessments
    (row,) = table[(table["subject_id"] == SUBJECT) & (table["category"] == "icans")].to_dict("records")
    assert (row["onset_day"], row["duration_days"], row["graded_to_day"]) == (1.0, 6.0, 2.0)
    assert bool(row["is_dlt"])
    assert "not assessable from study day 2, resolved on study day 7, site calendar" in row["query"]
