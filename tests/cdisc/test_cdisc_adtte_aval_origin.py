"""ADTTE AVAL counts the time-to-event origin as day 0 (D-19.1269): AVAL = ADT - STARTDT, not the
ADT - STARTDT + 1 of the CDISC pilot ADTTE, because the protocol's time origin is the infusion on day 0
(reference ct103a-nmosd-trial.md: "single IV infusion on day 0"; neuro-outcomes.md: relapse-free survival
"Kaplan-Meier from day 0"). define.xml must say which count AVAL uses: a reviewer recomputing AVAL from
STARTDT and ADT cannot tell "+ 1" from "no + 1" by a text "days from the infusion".
Hand values from the example: CT-003's first attack after its 2021-06-08 infusion is on 2021-10-06,
22 + 31 + 31 + 30 + 6 = 120 days later; CT-001's last contact 2022-02-01 is 280 days after 2021-04-27."""

from __future__ import annotations

import re


def test_whole_day_aval_is_adt_minus_startdt(exported) -> None:  # type: ignore[no-untyped-def]
    adtte = exported.frames["ADTTE"]
    relapse = adtte[adtte["PARAMCD"] == "TTRELAP"].set_index("USUBJID")
    assert relapse.loc["CT103A-NMOSD-CT-003", "AVAL"] == 120.0
    assert relapse.loc["CT103A-NMOSD-CT-003", "CNSR"] == 0.0
    assert relapse.loc["CT103A-NMOSD-CT-001", "AVAL"] == 280.0
    for _, r in relapse.iterrows():
        assert r["AVAL"] == (r["ADT"] - r["STARTDT"]).days


def test_define_states_the_aval_count(exported) -> None:  # type: ignore[no-untyped-def]
    define = (exported.out / "adam" / "define.xml").read_text(encoding="utf-8")
    method = re.search(r'<MethodDef OID="MT\.ADTTE\.AVAL".*?</MethodDef>', define, re.S)
    assert method is not None
    text = method.group(0)
    assert "AVAL = ADT - STARTDT" in text and "no + 1" in text
    assert "AVAL = (ADTM - STARTDTM)" in text
