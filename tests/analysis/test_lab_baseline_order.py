"""The lab baseline is the last pre-treatment value in time order, one order for lab_shift, ADLB and SDTM
(D-19.986).

Before: `lab_shift` took the last pre-treatment value in the table's order (the snapshot's collected_at
sorted as text), ADaM ADLB's ABLFL sorted collected_at as text, and SDTM LBLOBXFL sorted by the parsed
instant: a text sort is not time order with mixed offsets (``…T09:00:00+02:00`` is 07:00Z, before
``…T08:00:00Z``) or fractional seconds (``…08:00:00.500Z`` sorts before ``…08:00:00Z``), and west of UTC a
date typed without a time (stored 00:00:00Z) is that date on the site's calendar (D-19.947), after a lab
timed 04:00Z the same UTC day (the evening before, local).

Expected values by hand: CTCAE v5.0 lymphocyte count decreased, LLN 1.0 x10^9/L: a value >= LLN is grade
0; grade 3 < 0.5 - 0.2; grade 4 < 0.2. So 1.2 -> 0, 0.1 -> 4, 0.3 -> 3.
"""

from __future__ import annotations

import types

import numpy as np
import pandas as pd

from cartrial.analysis import safety
from cartrial.analysis.model import Dataset, Population
from cartrial.analysis.populations import ENROLLED, SAFETY
from cartrial.analysis.toxicity import lab_datasets
from cartrial.cdisc.adam import build_adlb
from cartrial.cdisc.spec import dataset_specs

# rows in the order a snapshot gives them (collected_at as text); each subject's baseline by hand
LABS = [
    # A: mixed offsets; day -1 (UTC site): grade 4 at 08:00Z is after grade 0 at 09:00+02:00 = 07:00Z
    ("A", "2024-03-09T08:00:00Z", 0.1),  # grade 4, 08:00Z: the later, the baseline
    ("A", "2024-03-09T09:00:00+02:00", 1.2),  # grade 0, 07:00Z
    ("A", "2024-03-12T08:00:00Z", 0.3),  # grade 3, after the infusion
    # B: fractional seconds: "…00.500Z" sorts before "…00Z" as text but is half a second later
    ("B", "2024-03-09T08:00:00.500Z", 1.2),  # grade 0, the later, the baseline
    ("B", "2024-03-09T08:00:00Z", 0.1),  # grade 4
    ("B", "2024-03-12T08:00:00Z", 0.3),  # grade 3
    # C: Los Angeles (UTC-8 in early March): 2024-03-08 typed without a time is 03-08 there (day -2);
    # 2024-03-08T04:00Z is 03-07 20:00 local (day -3), the earlier
    ("C", "2024-03-08T00:00:00Z", 1.2),  # grade 0, day -2, the baseline
    ("C", "2024-03-08T04:00:00Z", 0.1),  # grade 4, day -3
    ("C", "2024-03-12T20:00:00Z", 0.3),  # grade 3
]
EXPECTED = {"A": "4->3", "B": "0->3", "C": "0->3"}
BASELINE_GRADE = {"A": 4, "B": 0, "C": 0}
SUBJECTS = ("A", "B", "C")
POPULATIONS = {ENROLLED: Population(ENROLLED, "", SUBJECTS), SAFETY: Population(SAFETY, "", SUBJECTS)}


def _tables() -> dict[str, pd.DataFrame]:
    labs = pd.DataFrame(
        {
            "record_id": [str(i + 1) for i in range(len(LABS))],
            "subject_id": [r[0] for r in LABS],
            "collected_at": [r[1] for r in LABS],
            "analyte": "lymphocytes",
            "value": [str(r[2]) for r in LABS],
            "unit": "10^9/L",
            "lln": "1.0",
        }
    )
    infusions = pd.DataFrame(
        {
            "subject_id": list(SUBJECTS),
            "infused_at": ["2024-03-10T09:00:00Z", "2024-03-10T09:00:00Z", "2024-03-10T17:00:00Z"],
            "dose_level": ["1", "1", "1"],
            "time_zone": ["", "", "America/Los_Angeles"],
        }
    )
    return {"labs": labs, "infusions": infusions, "lymphodepletion": pd.DataFrame(columns=["subject_id"])}


def _shift() -> tuple[pd.DataFrame, safety.Graded]:
    tables = _tables()
    labs = safety.graded_labs(tables, "5.0", "infusion")
    shift = lab_datasets(tables, POPULATIONS, "5.0", labs, treatment_emergent_start="infusion")["lab_shift"]
    return shift.table.set_index("subject_id"), labs


def test_lab_shift_baseline_is_the_last_value_in_time_order() -> None:
    table, labs = _shift()
    # the LA lab typed without a time is day -2 on the site's calendar, the timed one day -3
    days = labs.table.set_index("collected_at")["study_day"]
    assert (int(days["2024-03-08T00:00:00Z"]), int(days["2024-03-08T04:00:00Z"])) == (-2, -3)
    assert {s: table.loc[s, "shift"] for s in SUBJECTS} == EXPECTED


def test_adlb_baseline_flag_reads_the_same_order() -> None:
    shift, labs = _shift()
    analysis = types.SimpleNamespace(
        datasets={"lab_shift": Dataset("lab_shift", "", shift.reset_index(), SAFETY, "", ())},
        intermediates={},
        options={},
    )
    adsl = pd.DataFrame(
        {
            "STUDYID": "S",
            "USUBJID": ["S-A", "S-B", "S-C"],
            "TRT01A": "DL1",
            "TRT01AN": 1.0,
            "SAFFL": "Y",
            "TRTSDT": ["2024-03-10", "2024-03-10", "2024-03-10"],
        }
    )
    lb = pd.DataFrame(columns=["USUBJID", "LBTESTCD", "LBDTC", "LBSEQ"])
    adlb = build_adlb(analysis, {"LB": lb}, adsl, dataset_specs()["ADLB"], None, graded_labs=labs.table)
    for sid, grade in BASELINE_GRADE.items():
        own = adlb[adlb["USUBJID"] == f"S-{sid}"]
        assert own.loc[own["ABLFL"] == "Y", "ATOXGRN"].tolist() == [float(grade)], sid
        assert own.loc[own["ABLFL"] == "Y", "AVAL"].tolist() == own["BASE"].iloc[:1].tolist(), sid


def test_sdtm_lobxfl_reads_the_same_order() -> None:
    """SDTM LBLOBXFL: the last result before the infusion by site study day (LBDY), then instant. C's rows:
    the typed date is LBDY -2, the timed lab LBDY -3 (SDTM study days before day 1 are negative)."""
    from cartrial.cdisc.sdtm import _baseline_flag

    frame = pd.DataFrame(
        {
            "DOMAIN": "LB",
            "USUBJID": ["S-C", "S-C", "S-C"],
            "LBTESTCD": "LYMPH",
            "LBORRES": ["1.2", "0.1", "0.3"],
            "LBREFID": ["LB-7", "LB-8", "LB-9"],
            "LBDY": [-2, -3, 3],
            "_instant": ["2024-03-08T00:00:00Z", "2024-03-08T04:00:00Z", "2024-03-12T20:00:00Z"],
        }
    )
    timeline = types.SimpleNamespace(infusion=np.datetime64("2024-03-10T17:00:00"))
    ctx = types.SimpleNamespace(timelines={"C": timeline}, usubjid=lambda s: f"S-{s}")
    flagged = _baseline_flag(frame, ctx, "LB")  # type: ignore[arg-type]
    assert flagged["LBLOBXFL"].tolist() == ["Y", "", ""]


def test_site_order_breaks_ties_by_instant_then_record() -> None:
    # same day: by instant; same instant: by the record id's number (LB-9 before LB-10)
    when = pd.to_datetime(["2024-03-09T08:00Z", "2024-03-09T07:00Z", "2024-03-09T07:00Z"], utc=True)
    order = safety.site_order([["A"] * 3], [-1, -1, -1], when, ["LB-3", "LB-10", "LB-9"])
    assert order.tolist() == [2, 1, 0]
