"""The escalation page's replay reports a stored decision's design and design state that disagree with the
protocol's design and the replayed state, as the CLI does (one rule, `replay_decisions`; D-19.1086,
D-19.1088). Cohort 1 is recorded ``1N``: 1 patient at level 1, no DLT (hand count of the outcome string)."""

from __future__ import annotations

from pathlib import Path

from . import test_escalation_tite_followup as tite


def test_the_page_replay_names_the_stored_record_and_field(tmp_path: Path) -> None:
    from cartrial.web.escalation import escalation_state

    service = tite._study(tmp_path)  # the protocol's design: tite-crm
    record = service.insert_record(
        "admin",
        "escalation_decision",
        {
            "cohort": 1,
            "dose_level": 1,
            "decided_on": "2021-04-02",
            "outcomes": "1N",
            "decision": "escalate",
            "design": "boin",
            "design_state": {"n_treated": {"1": 2}, "n_dlt": {"1": 0}, "design_decision": "escalate"},
        },
        raised=[],
    )
    state = escalation_state(service, None, tite.TODAY)
    (row,) = state["replay"]
    where = f"escalation_decision record {int(record)}"
    assert f"{where}, design: the recorded design is not the protocol's (tite-crm)" in row["deviation"]
    remark = "design_state.n_treated: level 1 disagrees with the recorded outcome strings up to this cohort"
    assert row["query"] == f"{where}, {remark}"
