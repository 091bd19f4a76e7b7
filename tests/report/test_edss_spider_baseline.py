"""The EDSS spider plot draws the change from the analysis' baseline (D-19.1136).

The figure took its own baseline, the last EDSS on or before day 0, while the analysis takes the last one
not within 30 days after a relapse onset (``analysis.options.edss_baseline_visit: outside_relapse``,
D-19.864): a second implementation that disagreed with ``edss_change`` and ADEDSS. The example's CT-002
(infused 2021-05-18) has one EDSS before its infusion, 2021-05-15 (EDSS 3.0; edss.csv). Here it is given an
earlier visit, 2021-04-01 (EDSS 2.0, the example's CT-005 row of 2021-07-31 moved to CT-002), and a relapse
onset on 2021-05-01, 14 days before the day -3 visit, so that visit is during the attack: the analysis'
baseline is the day -47 visit, EDSS 2.0. CT-002's later visits are all EDSS 3.0 (edss.csv), so its change is
+1.0 at every one of them (hand: 3.0 - 2.0), not 0 as from the visit during the attack.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import pytest
from tests.analysis.conftest import protocol_with_option

from cartrial.analysis import analyse
from cartrial.protocol import parse_protocol
from cartrial.store.snapshot import StudySnapshot

SUBJECT = "CT-002"


def _drawn(analysis: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[float], list[float]]]:
    """The (x, y) of every line the spider figure draws with `Axes.plot`."""
    from matplotlib.axes import Axes

    from cartrial.report.figures import edss_spider_figure

    drawn: list[tuple[list[float], list[float]]] = []
    original = Axes.plot

    def plot(self: Any, *args: Any, **kwargs: Any) -> Any:
        if len(args) >= 2:
            drawn.append(([float(x) for x in args[0]], [float(y) for y in args[1]]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Axes, "plot", plot)
    assert edss_spider_figure(analysis, {}) is not None
    return drawn


def _with_attack_and_earlier_visit(snapshot: StudySnapshot, baseline_visit: str) -> Any:
    relapses = snapshot.tables["relapses"]
    attack = relapses[relapses["subject_id"] == SUBJECT].iloc[[-1]].copy()
    attack["onset_date"] = "2021-05-01"
    attack["record_id"] = str(int(pd.to_numeric(relapses["record_id"]).max()) + 1)
    edss = snapshot.tables["edss"]
    earlier = edss[
        (edss["subject_id"] == "CT-005") & edss["assessed_at"].astype(str).str.startswith("2021-07-31")
    ]
    assert len(earlier) == 1
    earlier = earlier.copy()
    earlier["subject_id"] = SUBJECT
    earlier["assessed_at"] = "2021-04-01T09:00:00Z"
    earlier["record_id"] = str(int(pd.to_numeric(edss["record_id"]).max()) + 1)
    tables = dict(snapshot.tables) | {
        "relapses": pd.concat([relapses, attack], ignore_index=True),
        "edss": pd.concat([edss, earlier], ignore_index=True),
    }
    protocol = parse_protocol(protocol_with_option(snapshot, "edss_baseline_visit", baseline_visit))
    return analyse(dataclasses.replace(snapshot, tables=tables, protocol=protocol))


def test_the_spider_plot_draws_the_change_from_the_analysis_baseline(
    snapshot: StudySnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    analysis = _with_attack_and_earlier_visit(snapshot, "outside_relapse")
    change = analysis.datasets["edss_change"].table.set_index("subject_id")
    assert (change.loc[SUBJECT, "baseline_edss"], change.loc[SUBJECT, "baseline_day"]) == (2.0, -47)
    assert change.loc[SUBJECT, "edss_change"] == 1.0
    lines = _drawn(analysis, monkeypatch)
    # one line per subject with a baseline (the 12 of the example), each starting at (0, 0)
    subjects = [line for line in lines if line[0][:1] == [0.0] and line[1][:1] == [0.0]]
    assert len(subjects) == 12
    # every line ends at the subject's last change of edss_change (the analysis' one number)
    assert sorted(line[1][-1] for line in subjects) == sorted(float(v) for v in change["edss_change"])
    # CT-002: +1.0 at each post-infusion visit (3.0 - 2.0), never 0 from the visit during the attack
    ct002 = [line for line in subjects if len(line[1]) > 1 and set(line[1][1:]) == {1.0}]
    assert len(ct002) == 1


def test_last_draws_the_change_from_the_last_visit(
    snapshot: StudySnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``last`` the baseline is the day -3 visit (EDSS 3.0): CT-002's change is 0 throughout."""
    analysis = _with_attack_and_earlier_visit(snapshot, "last")
    change = analysis.datasets["edss_change"].table.set_index("subject_id")
    assert (change.loc[SUBJECT, "baseline_edss"], change.loc[SUBJECT, "edss_change"]) == (3.0, 0.0)
    lines = _drawn(analysis, monkeypatch)
    subjects = [line for line in lines if line[0][:1] == [0.0] and line[1][:1] == [0.0]]
    assert sorted(line[1][-1] for line in subjects) == sorted(float(v) for v in change["edss_change"])
