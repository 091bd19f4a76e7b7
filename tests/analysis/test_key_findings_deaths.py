"""D-19.208: the key findings (the first page of the interim report) said how many patients were infused but
not how many died or left the study: a DSMB reading the first page could not see a death or a dropout.
The deaths and the discontinuations (by reason) of the disposition summary are now key findings, right
after the infusion count, and say "No patient died" when none did.

Counted by hand from the example study with the changes of `test_disposition_summary.summary`: CT-003
withdrawn on day 5, CT-005 lost to follow-up, CT-007 completed, CT-008 dead by the subjects form, CT-009
completed then dead of a fatal adverse event, CT-098 lymphodepleted only, CT-099 consented only (14
enrolled)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from cartrial.analysis import Analysis, analyse
from cartrial.store.snapshot import StudySnapshot

from .test_disposition import LAST_SEEN, _left_on_day_5
from .test_disposition_summary import _fatal_event, _set
from .test_not_infused_adverse_events import with_ld_only_subject


def _changed(snapshot: StudySnapshot) -> Analysis:
    base = with_ld_only_subject(snapshot)
    tables = _left_on_day_5(base, "withdrawn", LAST_SEEN.isoformat())
    subjects = tables["subjects"].copy()
    _set(subjects, "CT-005", "lost", "2022-01-10")
    _set(subjects, "CT-007", "completed", "2022-03-01")
    _set(subjects, "CT-008", "death", "2022-02-01")
    _set(subjects, "CT-009", "completed", "2022-02-15")
    tables["subjects"] = subjects
    events = tables["adverse_events"]
    tables["adverse_events"] = pd.concat(
        [events, pd.DataFrame([_fatal_event("CT-009", "2022-03-01", events.columns)])], ignore_index=True
    )
    return analyse(dataclasses.replace(base, tables=tables))


def test_deaths_and_discontinuations_are_key_findings(snapshot: StudySnapshot) -> None:
    findings = list(_changed(snapshot).findings)
    sources = [f.source for f in findings]
    infused = next(
        i for i, f in enumerate(findings) if f.domain == "disposition" and "infused" in f.statement
    )
    deaths = findings[infused + 1]
    assert deaths.source == "disposition_summary"
    assert (deaths.numerator, deaths.denominator) == (2, 14)
    assert deaths.statement.startswith("2 of 14 enrolled patients (14 %) died by the cut-off: CT-008, CT-009")
    stopped = findings[infused + 2]
    assert (stopped.numerator, stopped.denominator) == (3, 14)
    assert stopped.statement == (
        "3 of 14 enrolled patients (21 %) discontinued the study: withdrawal by subject 1 (CT-003); "
        "lost to follow-up 1 (CT-005); death 1 (CT-008)."
    )
    assert sources.count("disposition_summary") == 2


def test_no_death_is_said_in_words(analysis: Analysis) -> None:
    """The example study as recorded: nobody died or left (12 enrolled)."""
    texts = [f.statement for f in analysis.findings if f.source == "disposition_summary"]
    assert texts == [
        "No patient died by the cut-off (0 of 12 enrolled).",
        "No patient discontinued the study (0 of 12 enrolled).",
    ]
