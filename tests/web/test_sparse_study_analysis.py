"""The analysis layer on a sparse, early study (the web tests' small study: three subjects, two infused at
level 1 on 2021-04-27, CRS assessments only — no adverse event, lab, EDSS or PK record yet): every dataset
is derived, nothing raises, and every subject without data is named as not evaluable (issue 13 §3: incomplete
data never disappears). Before the fix, empty tables lost their columns in a boolean selection and
`analyse` raised a KeyError, which the escalation dashboard showed as an error."""

from __future__ import annotations

import datetime as dt

from cartrial.analysis import analyse, study_populations
from cartrial.store.snapshot import read_snapshot

CUTOFF = dt.date(2021, 6, 30)
INFUSED = ("CT-001", "CT-101")


def test_a_study_without_adverse_events_labs_or_edss_is_analysed(web_study):
    snapshot = read_snapshot(web_study.service, CUTOFF)
    assert len(snapshot.tables["adverse_events"]) == 0 and len(snapshot.tables["edss"]) == 0
    result = analyse(snapshot)
    assert result.populations["safety"].subject_ids == INFUSED
    assert result.populations["safety"].excluded == {"not infused by the cut-off": ("CT-002",)}
    teae = result.datasets["teae_by_subject"].table
    assert list(teae["subject_id"]) == list(INFUSED) and teae["n_teae"].sum() == 0
    edss = result.populations["efficacy:edss_change"]
    assert edss.subject_ids == () and set(edss.excluded) == {"no baseline or no post-baseline EDSS"}
    assert edss.excluded["no baseline or no post-baseline EDSS"] == INFUSED
    text = " ".join(f.statement for f in result.findings)
    assert "nan" not in text


def test_study_populations_is_what_analyse_uses(web_study):
    snapshot = read_snapshot(web_study.service, CUTOFF)
    study = study_populations(snapshot.tables, snapshot.protocol, CUTOFF)
    result = analyse(snapshot)
    assert {k: p.subject_ids for k, p in study.populations.items()} == {
        k: result.populations[k].subject_ids for k in study.populations
    }
    assert study.membership.equals(result.datasets["populations"].table)
