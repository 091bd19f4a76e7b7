"""A date typed without a time is the same assessment day whether it reaches the responder engine as text
(CSV/CLI/API) or as the store's instant, 00:00:00Z (D-19.618, D-19.778).

Hand: New York (UTC-4 in June); infusion 15:00Z on 1 June = 11:00 on 1 June, day 0. Baseline EDSS typed
2021-05-31 (FS all 1 except pyramidal 3: EDSS 3.0), follow-up typed 2021-06-02 (FS all 0: 0.0), day 1:
one evaluable subject, a responder for a decrease of >= 0.5. The store keeps the follow-up as
2021-06-02T00:00:00Z (20:00 on 1 June in New York, day 0): read by its instant it became the baseline and
the subject was not evaluable (0/0) in `analyse`, 1/1 from the CSV.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd

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


def test_a_typed_date_and_its_stored_instant_give_the_same_responders() -> None:
    csv = _tables("2021-05-31", "2021-06-02")
    stored = _tables("2021-05-31T00:00:00+00:00", "2021-06-02T00:00:00+00:00")
    result = derive_responders(
        csv["infusions"], edss=csv["edss"], definitions=["edss_decrease_0_5"], cutoff=dt.date(2021, 12, 31)
    )
    (summary,) = result.summaries
    assert (summary.n_evaluable, summary.n_responders) == (1, 1)
    assert _counts(csv) == (1, 1)
    assert _counts(stored) == (1, 1)


def test_a_stored_time_other_than_midnight_utc_stays_on_the_site_clock() -> None:
    # 2021-06-02T03:00Z is 23:00 on 1 June in New York: day 0, the baseline; no follow-up, not evaluable
    assert _counts(_tables("2021-05-31T00:00:00+00:00", "2021-06-02T03:00:00+00:00")) == (0, 0)
