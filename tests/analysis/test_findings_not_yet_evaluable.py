"""D-19.209: at an early cut-off the key findings stated rates over nobody: "Visual acuity response: 0 of 0
evaluable patients responded; 0 of 1 infused (0 %)", "Confirmed EDSS improvement in 0 of 0 evaluable
patients", "quantifiable beyond day 180 in 0 of 0 patients". A DSMB reads "0 of 1 (0 %)" as "no response"
when the truth is "not yet evaluable". A finding whose denominator is 0 now says that the measure is not yet
evaluable, and never gives a percentage or an "of 0".

The example study at 2021-05-10 (counted by hand from examples/ct103a-nmosd/study): CT-001 infused on
2021-04-27 (13 days of follow-up, no post-baseline EDSS, visual acuity, walk or bladder score, no PK sample
after day 180, DLT window of 28 days and ICAHT day 30 not reached, and no AQP4-IgG titre after baseline: its
day-14 PD sample, 2021-05-10 22:38Z, is 11 May in Wuhan, after the cut-off on the site's calendar, D-19.729);
CT-002 consented, not infused."""

from __future__ import annotations

import datetime as dt

import pytest

from cartrial.analysis import analyse
from cartrial.analysis.model import Analysis
from cartrial.store.snapshot import read_snapshot

EARLY = dt.date(2021, 5, 10)


@pytest.fixture(scope="module")
def early(example_sqlite_template: object) -> Analysis:
    return analyse(read_snapshot(f"sqlite:///{example_sqlite_template}", EARLY))


def test_no_finding_states_a_rate_over_nobody(early: Analysis) -> None:
    empty = [f for f in early.findings if f.denominator == 0]
    # EDSS fell, confirmed EDSS, 3 responder endpoints, 2 persistence analytes, ICAHT, DLT, AQP4-IgG titre
    assert len(empty) == 10, [f.statement for f in empty]
    for finding in empty:
        assert "not yet evaluable" in finding.statement, finding.statement
        assert " of 0 " not in finding.statement, finding.statement
        assert "%" not in finding.statement, finding.statement


def test_the_responder_finding_names_the_reason(early: Analysis) -> None:
    visual = next(f for f in early.findings if f.statement.startswith("Visual acuity response"))
    assert visual.statement == (
        "Visual acuity response: not yet evaluable (the 1 infused patient is not evaluable). "
        "Not evaluable: 1 — no eye evaluable (missing or no room to improve at baseline): CT-001."
    )
