"""The escalation page counts, for every design, a DLT seen after its cohort's letter (D-19.749).

BOIN, target 0.3, cohorts of 1, 28-day window (the example protocol with its design changed). S-1 (level 1,
infused 2021-04-01) was recorded `1N` on 2021-04-02 (an early decision); S-1's DLT came on day 9. On
2021-06-01 the page's per-dose counts are S-1 and S-2 at level 1 with 1 DLT (S-1's), S-3 (DLT on day 4)
and S-4 at level 2 with 1 DLT. Before, the page fitted the stale letter for every design but the TITE-CRM
(D-19.696): level 1 counted 0 DLTs though the page listed S-1's DLT — a known DLT left out (unsafe).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cartrial import examples as cartrial_examples

from . import test_escalation_tite_followup as tite


def _protocol(tmp_path: Path) -> Path:
    text = (cartrial_examples.path("ct103a-nmosd") / "protocol.yaml").read_text(encoding="utf-8")
    text = text.replace('design: "3+3"', 'design: "boin"\n  target: 0.3\n  max_n: 12')
    text = text.replace("  variant: deescalation\n", "").replace("cohort_size: 3 ", "cohort_size: 1 ")
    path = tmp_path / "protocol.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_dlt_after_its_cohort_s_letter_is_counted_for_a_boin(tmp_path: Path, monkeypatch: Any) -> None:
    from cartrial.web.escalation import escalation_state

    monkeypatch.setattr(tite, "_protocol", _protocol)
    service = tite._study(tmp_path)
    tite._decide(service, "2021-04-02", "1N", "escalate", raised=[])
    tite._dlt_of_s1(service)
    state = escalation_state(service, None, tite.TODAY)
    rec = state["recommendation"]
    assert rec["design"].lower().startswith("boin")
    assert [(d["n"], d["dlt"]) for d in rec["per_dose"]] == [(2, 1), (2, 1)]
    # the replay of the early decision: a window deviation, its letter N right at its date
    (row,) = state["replay"]
    assert "before the 28-day DLT window was complete" in row["deviation"]
    assert "outcome letter" not in row["deviation"]
