"""A stored study cannot tell a date typed without a time from a time typed as 00:00:00Z: the store keeps
both as 00:00:00Z. Every reader takes exactly 00:00:00Z as the date typed (D-19.947; before, `analyse` read
it on the site's clock, D-19.618's split, pinned here: changed by design); a bare date in a CSV/API file is
the date typed (D-19.719, D-19.778); any other instant is read on the site's clock.

Hand: New York (UTC-4 in June); infusion 15:00Z on 1 June = 11:00 on 1 June, day 0. Baseline EDSS
(FS all 0 except pyramidal 3: EDSS 3.0, Kurtzke 1983), follow-up FS all 0: 0.0.
- CSV: follow-up typed 2021-06-02 is day 1: one evaluable subject, a responder for a decrease >= 0.5 (1/1).
- Stored: follow-up 2021-06-02T00:00:00Z is the date 2 June typed, day 1: the same 1/1 (was 0/0, read as
  20:00 on 1 June, day 0).
- Stored 2021-06-02T03:00:00Z is 23:00 on 1 June in New York, day 0: the baseline, no follow-up (0/0).
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd
import pytest

from cartrial.analysis.efficacy import responder_datasets
from cartrial.analysis.model import Population
from cartrial.analysis.populations import SAFETY
from cartrial.neuro.derive import derive_responders
from cartrial.neuro.edss_scale import FS_NAMES

ZONE = "America/New_York"


def _tables(baseline: str, follow_up: str) -> dict[str, pd.DataFrame]:
    infusions = pd.DataFrame(
        {
            "subject_id": ["S1"],
            "infused_at": ["2021-06-01T15:00:00+00:00"],
            "dose_level": [1],
            "time_zone": [ZONE],
        }
    )
    edss = pd.DataFrame(
        [
            {"subject_id": "S1", "assessed_at": baseline, **dict.fromkeys(FS_NAMES, "0"), "ambulation": "0"},
            {"subject_id": "S1", "assessed_at": follow_up, **dict.fromkeys(FS_NAMES, "0"), "ambulation": "0"},
        ],
        dtype=object,
    )
    edss.loc[0, "pyramidal"] = "3"  # pyramidal 3, others 0: EDSS 3.0 (Kurtzke 1983)
    empty = pd.DataFrame(
        {"subject_id": pd.Series([], dtype=object), "assessed_at": pd.Series([], dtype=object)}
    )
    return {"infusions": infusions, "edss": edss, "visual_acuity": empty, "osis": empty, "timed_walk": empty}


def _counts(tables: dict[str, pd.DataFrame]) -> tuple[int, int]:
    protocol = SimpleNamespace(
        endpoints={"edss": SimpleNamespace(definition="edss_decrease_0_5", parameters={})}, dose_levels=()
    )
    populations = {SAFETY: Population(SAFETY, "infused", ("S1",))}
    datasets = responder_datasets(tables, protocol, dt.date(2021, 12, 31), populations)
    rows = datasets["responders_by_subject"].table
    return int(rows["evaluable"].sum()), int((rows["responder"] == True).sum())  # noqa: E712


def test_a_typed_date_and_a_stored_midnight_utc_are_the_date_typed() -> None:
    # changed by design (D-19.947): the stored form gave 0/0, read as 20:00 EDT on 1 June (day 0)
    csv = _tables("2021-05-31", "2021-06-02")
    stored = _tables("2021-05-31T00:00:00+00:00", "2021-06-02T00:00:00+00:00")
    result = derive_responders(
        csv["infusions"], edss=csv["edss"], definitions=["edss_decrease_0_5"], cutoff=dt.date(2021, 12, 31)
    )
    (summary,) = result.summaries
    assert (summary.n_evaluable, summary.n_responders) == (1, 1)
    assert _counts(csv) == (1, 1)
    assert _counts(stored) == (1, 1)


def test_a_stored_midnight_utc_after_the_cutoff_is_after_it_as_the_snapshot_leaves_it_out() -> None:
    # changed by design (D-19.947): cut-off 1 June; 2021-06-02T00:00Z is the date 2 June typed: the snapshot
    # leaves it out, and the responders, handed it anyway, refuse it as after the data cut-off (it was kept
    # by both as 20:00 on 1 June in New York)
    from cartrial.errors import InputError
    from cartrial.store.snapshot import on_or_before_cutoff

    assert on_or_before_cutoff(
        ["2021-06-02T00:00:00Z"], ["S1"], {"S1": ZONE}, dt.date(2021, 6, 1)
    ).tolist() == [False]
    stored = _tables("2021-05-31T00:00:00+00:00", "2021-06-02T00:00:00+00:00")
    protocol = SimpleNamespace(
        endpoints={"edss": SimpleNamespace(definition="edss_decrease_0_5", parameters={})}, dose_levels=()
    )
    populations = {SAFETY: Population(SAFETY, "infused", ("S1",))}
    with pytest.raises(InputError, match="after the data cut-off"):
        responder_datasets(stored, protocol, dt.date(2021, 6, 1), populations)


def test_a_stored_time_other_than_midnight_utc_stays_on_the_site_clock() -> None:
    # 2021-06-02T03:00Z is 23:00 on 1 June in New York: day 0, the baseline; no follow-up, not evaluable
    assert _counts(_tables("2021-05-31T00:00:00+00:00", "2021-06-02T03:00:00+00:00")) == (0, 0)
