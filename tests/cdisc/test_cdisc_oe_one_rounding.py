"""SDTM OE: OESTRESN/OESTRESC is the visual acuity's logMAR rounded once, to 2 decimals, a tie half away
from zero (D-19.737; D-19.142 the 2-decimal representation; D-19.289/D-19.687 the one rounding of
reported numbers).

Expected by hand (logMAR = log10(denominator / numerator) for Snellen, docs/science/neuro-outcomes.md §2):
- 20/140: log10(7) = 0.845098… → 0.85 (was 0.84: the 3-decimal 0.845 rounded again, binary half-even);
- 20/57: log10(2.85) = 0.454844… → 0.45 (was 0.46: 0.455 rounded again);
- 20/77: log10(3.85) = 0.585460… → 0.59 (was 0.58);
- logMAR 0.125 entered: the 3 collected decimals kept, 0.125 (D-19.744; was 0.12, then 0.13 — an entered
  logMAR is the collected result, SDTMIG 3.4 §4.5.1 keeps its precision in --STRESC/--STRESN);
- logMAR 0.1 entered: 2 decimals at least, 0.10;
- decimal 0.5 (notation decimal): -log10(0.5) = 0.301029… → 0.30 (a converted value: 2 decimals);
- 20/25: log10(1.25) = 0.096910… → 0.10 (unchanged, a control).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from cartrial.cdisc.sdtm import SdtmContext, build_oe
from cartrial.cdisc.spec import dataset_specs
from cartrial.store.snapshot import read_snapshot

EXPECTED = {
    "20/140": "0.85",
    "20/57": "0.45",
    "20/77": "0.59",
    "logMAR 0.125": "0.125",
    "logMAR 0.1": "0.10",
    "0.5": "0.30",
    "20/25": "0.10",
}
NOTATION = {"logMAR 0.125": "logmar", "logMAR 0.1": "logmar", "0.5": "decimal"}


@pytest.fixture(scope="module")
def oe(example_sqlite_template: Path) -> pd.DataFrame:
    """`build_oe` alone on the example snapshot with the acuities above (no analysis: OE reads the
    snapshot's visual_acuity table and the subjects' timelines)."""
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    va = snapshot.tables["visual_acuity"].copy()
    texts = list(EXPECTED)
    assert len(va) >= len(texts)
    va["acuity"] = [texts[i % len(texts)] for i in range(len(va))]
    va["notation"] = [NOTATION.get(t, "snellen_20") for t in va["acuity"]]
    changed = dataclasses.replace(snapshot, tables={**snapshot.tables, "visual_acuity": va})
    return build_oe(SdtmContext(changed, None), dataset_specs()["OE"])


def test_oe_standard_result_is_the_logmar_rounded_once_half_away(oe: pd.DataFrame) -> None:
    for text, expected in EXPECTED.items():
        rows = oe[oe["OEORRES"].str.upper() == text.upper()]
        assert len(rows), text
        assert set(rows["OESTRESC"]) == {expected}, text
        assert set(rows["OESTRESN"]) == {float(expected)}, text
