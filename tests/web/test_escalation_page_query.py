"""The escalation page shows a replay query as a query (D-19.750, D-19.755).

The example protocol (3+3, 28-day window, expansion at level 2): ``2NNN`` expand on 05-20, 13 days after
S-6's infusion (05-07), S-6's window open. S-6's DLT is given without an onset day (its onset days removed
from the analysis's evaluation, as for a DLT whose date is unknown): seen, ``1NNN 2NNT`` gives 'stay' (1/3,
three more); not seen, ``2NNN`` at the top level gives 'expand' — the recorded 'expand' is one of the two:
a data query on S-6's onset, shown on the page as "Query: ...", not as a deviation of the design.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest

from .test_escalation_page_expansion import _client, _study


def test_an_undated_dlt_in_an_open_window_is_shown_as_a_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cartrial.analysis.dlt as dlt

    def undated(*_: Any, **__: Any) -> dict[str, int]:
        return {}

    monkeypatch.setattr(dlt, "dlt_onset_days", undated)
    client = _client(_study(tmp_path, "2021-05-20"))
    api = client.get("/api/v1/escalation?as_of=2021-08-01")
    assert api.status_code == 200
    second = next(r for r in api.json()["replay"] if int(r["cohort"]) == 2)
    assert "depends on the onset of S-6's undated DLT" in second["query"]
    assert "depends on" not in second["deviation"]
    page = client.get("/escalation?as_of=2021-08-01")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert (
        "Query: the protocol's design gives 'stay' if the DLT was seen by the decision, 'expand' if not"
        in text
    )
