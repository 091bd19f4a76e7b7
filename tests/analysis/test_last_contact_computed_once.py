"""The last contact of each infused subject is derived once per analysis (review of D-19.1435): the
populations dataset's ``last_contact_date`` and the relapse follow-up's default end
(``relapse_follow_up_end: last_contact``) read the one `StudyPopulations.last_contact`, as the safety
datasets read its graded CRS/ICANS episodes and labs.

By hand from the example (tests/analysis/test_relapse_after_last_contact.py): CT-002 is infused 2021-05-18
and last seen 2022-02-11, with no relapse after the infusion, so its relapse follow-up ends at its last
contact: 269 days after the infusion (2021-05-18 to 2022-02-11: 13 + 30 + 31 + 31 + 30 + 31 + 30 + 31 + 31
+ 11 = 269)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import cartrial.analysis.core as core
import cartrial.analysis.efficacy as efficacy
from cartrial.analysis import analyse
from cartrial.analysis.core import study_populations

from .conftest import CUTOFF


def test_analyse_derives_the_last_contact_once(snapshot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    derive = core.last_contact

    def counted(*args: Any, **kwargs: Any) -> dict[str, dt.date]:
        calls.append(1)
        return derive(*args, **kwargs)

    def refused(*args: Any, **kwargs: Any) -> dict[str, dt.date]:
        raise AssertionError("relapse_datasets derived the last contact again")

    monkeypatch.setattr(core, "last_contact", counted)
    monkeypatch.setattr(efficacy, "last_contact", refused)
    analysis = analyse(snapshot)
    assert len(calls) == 1
    assert "relapses_by_subject" in analysis.datasets


def test_the_last_contact_date_is_the_relapse_follow_up_end(snapshot: Any, analysis: Any) -> None:
    membership = analysis.datasets["populations"].table.set_index("subject_id")
    relapses = analysis.datasets["relapses_by_subject"].table.set_index("subject_id")
    assert membership.loc["CT-002", "last_contact_date"] == "2022-02-11"
    assert relapses.loc["CT-002", "post_attacks"] == 0
    assert relapses.loc["CT-002", "post_days"] == 269
    study = study_populations(dict(snapshot.tables), snapshot.protocol, CUTOFF)
    assert study.last_contact["CT-002"] == dt.date(2022, 2, 11)
    assert {sid: day.isoformat() for sid, day in study.last_contact.items()} == {
        sid: membership.loc[sid, "last_contact_date"] for sid in study.last_contact
    }


def test_relapse_datasets_reads_the_last_contacts_it_is_given(snapshot: Any) -> None:
    """A direct caller without them gets the same follow-up: the default branch derives them as before."""
    tables = dict(snapshot.tables)
    study = study_populations(tables, snapshot.protocol, CUTOFF)
    given, _ = efficacy.relapse_datasets(
        tables, snapshot.protocol, CUTOFF, study.populations, last_contacts=study.last_contact
    )
    derived, _ = efficacy.relapse_datasets(tables, snapshot.protocol, CUTOFF, study.populations)
    assert given["relapses_by_subject"].table.equals(derived["relapses_by_subject"].table)
