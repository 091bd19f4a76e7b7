"""An EDSS responder across a scoring-method switch in the walking range is not evaluable by default
(D-19.746), as the confirmed change is.

Kurtzke 1983 and the Neurostatus-EDSS differ by 0.5 at 6.0/6.5 (docs/science/neuro-outcomes.md
§1.6-§1.7): unilateral aid, 60 m is 6.5 by Kurtzke (less than about 100 m) and 6.0 by Neurostatus
(ambulation score 6: unilateral assistance >= 50 m). Hand: a Kurtzke baseline 6.5 and a Neurostatus
follow-up 6.0 of the same walking is a 0.5 decrease, an `edss_decrease_0_5` responder made by the switch
alone: not evaluable (reason naming the switch) under the default ``method_switch=exclude``; ``include``
evaluates it as scored (responder). Before: counted a responder.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cartrial.neuro.derive import derive_responders
from cartrial.neuro.edss_scale import FS_NAMES


def _edss() -> pd.DataFrame:
    rows = [
        {"assessed_at": "2021-01-01", "ambulation": "", "method": "kurtzke", "assistance": "unilateral",
         "walking_distance_m": "60"},
        {"assessed_at": "2021-07-01", "ambulation": "6", "method": "neurostatus_16", "assistance": "",
         "walking_distance_m": ""},
    ]  # fmt: skip
    return pd.DataFrame(
        [{"subject_id": "S1", **dict.fromkeys(FS_NAMES, "0"), **r} for r in rows], dtype=object
    )


def test_a_responder_across_a_walking_range_switch_is_not_evaluable() -> None:
    result = derive_responders({"S1": dt.date(2021, 1, 2)}, edss=_edss(), definitions=["edss_decrease_0_5"])
    (summary,) = result.summaries
    (subject,) = summary.subjects
    assert (subject.baseline, subject.follow_up) == ({"edss": 6.5}, {"edss": 6.0})
    assert not subject.evaluable and subject.responder is None
    assert "method" in subject.reason and "D-19.746" in subject.reason
    assert (summary.n_evaluable, summary.n_responders) == (0, 0)


def test_include_counts_the_responder_as_scored() -> None:
    result = derive_responders(
        {"S1": dt.date(2021, 1, 2)}, edss=_edss(), definitions=["edss_decrease_0_5"], method_switch="include"
    )
    (summary,) = result.summaries
    assert (summary.n_evaluable, summary.n_responders) == (1, 1)
