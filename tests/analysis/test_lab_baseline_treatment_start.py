"""The lab baseline starts where the adverse events become treatment-emergent (D-19.710).

`lab_shift` (and ADaM ADLB's ABLFL/ONTRTFL, which read the same graded-labs column) took as baseline the last
value before the CAR-T infusion, while the treatment-emergent period starts at the first lymphodepletion
dose (``analysis.options.treatment_emergent_start``, default ``lymphodepletion``): a lymphocyte count of day
-1, after lymphodepletion, was the baseline, so a lymphodepletion-induced lymphopenia showed as grade 4 -> 4
while the adverse-event tables counted it as treatment-emergent.

Expected values by hand: CTCAE v5.0 lymphocyte count decreased (LLN 1.0 x10^9/L): grade 1 < LLN - 0.8,
grade 2 < 0.8 - 0.5, grade 3 < 0.5 - 0.2, grade 4 < 0.2; a value >= LLN is grade 0. The baseline is the last
value dated before the start day of the treatment-emergent period, or on it (pre-dose, ADaM IG v1.3 / the
usual SAP convention) unless it and a timed infusion that day are both timed and it is at or after the
infusion.
"""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis import safety
from cartrial.analysis.model import Dataset, Population
from cartrial.analysis.populations import ENROLLED, SAFETY
from cartrial.analysis.toxicity import lab_datasets
from cartrial.cdisc.adam import build_adlb
from cartrial.cdisc.spec import dataset_specs

LABS = [
    # A: first lymphodepletion dose 2024-01-05, infused 2024-01-10 09:00Z
    ("A", "2024-01-04T08:00:00Z", 1.2),  # grade 0, before lymphodepletion
    ("A", "2024-01-09T08:00:00Z", 0.1),  # grade 4, day -1: after lymphodepletion, before infusion
    ("A", "2024-01-12T08:00:00Z", 0.15),  # grade 4, after infusion
    # B: first lymphodepletion dose 2024-02-05 (date only); a lab of that day typed without a time: pre-dose
    ("B", "2024-02-05", 0.9),  # grade 1
    ("B", "2024-02-06T08:00:00Z", 0.1),  # grade 4, after lymphodepletion, before infusion
    ("B", "2024-02-12T08:00:00Z", 0.6),  # grade 2, after infusion
    # C: no lymphodepletion record (start = infusion 2024-03-10 09:00Z); same-day instants compared
    ("C", "2024-03-10T08:00:00Z", 1.2),  # grade 0, before the infusion
    ("C", "2024-03-10T12:00:00Z", 0.3),  # grade 3, after the infusion
    # D: infusion typed without a time; a lab of that day without a time is pre-dose
    ("D", "2024-04-10", 0.9),  # grade 1
    ("D", "2024-04-12T08:00:00Z", 0.3),  # grade 3
]


def _tables() -> dict[str, pd.DataFrame]:
    labs = pd.DataFrame(
        {
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
            "subject_id": ["A", "B", "C", "D"],
            "infused_at": [
                "2024-01-10T09:00:00Z",
                "2024-02-10T09:00:00Z",
                "2024-03-10T09:00:00Z",
                "2024-04-10",
            ],
            "dose_level": ["1", "1", "1", "1"],
        }
    )
    lymphodepletion = pd.DataFrame(
        {
            "subject_id": ["A", "A", "B"],
            "drug": ["fludarabine", "fludarabine", "fludarabine"],
            "administered_on": ["2024-01-06", "2024-01-05", "2024-02-05"],
        }
    )
    return {"labs": labs, "infusions": infusions, "lymphodepletion": lymphodepletion}


POPULATIONS = {
    ENROLLED: Population(ENROLLED, "", ("A", "B", "C", "D")),
    SAFETY: Population(SAFETY, "", ("A", "B", "C", "D")),
}

EXPECTED = {
    # subject: (baseline grade, worst post grade, number of post values)
    "lymphodepletion": {"A": (0, 4, 2), "B": (1, 4, 2), "C": (0, 3, 1), "D": (1, 3, 1)},
    # infusion: A's and B's counts after lymphodepletion, before the infusion, are the baseline
    "infusion": {"A": (4, 4, 1), "B": (4, 2, 1), "C": (0, 3, 1), "D": (1, 3, 1)},
}


def _shift(rule: str) -> tuple[pd.DataFrame, safety.Graded]:
    tables = _tables()
    labs = safety.graded_labs(tables, "5.0", rule)
    shift = lab_datasets(tables, POPULATIONS, "5.0", labs, treatment_emergent_start=rule)["lab_shift"]
    return shift.table.set_index("subject_id"), labs


@pytest.mark.parametrize("rule", ["lymphodepletion", "infusion"])
def test_lab_shift_baseline_is_before_the_treatment_emergent_period(rule: str) -> None:
    table, _ = _shift(rule)
    got = {
        s: (int(r["baseline_grade"]), int(r["worst_post_grade"]), int(r["n_post_values"]))
        for s, r in table.iterrows()
    }
    assert got == EXPECTED[rule]
    assert table.loc["A", "shift"] == ("0->4" if rule == "lymphodepletion" else "4->4")


@pytest.mark.parametrize("rule", ["lymphodepletion", "infusion"])
def test_adlb_flags_read_the_same_baseline(rule: str) -> None:
    shift, labs = _shift(rule)
    graded = labs.table
    analysis = types.SimpleNamespace(
        datasets={"lab_shift": Dataset("lab_shift", "", shift.reset_index(), SAFETY, "", ())},
        intermediates={},
        options={},
    )
    adsl = pd.DataFrame(
        {
            "STUDYID": "S",
            "USUBJID": ["S-A", "S-B", "S-C", "S-D"],
            "TRT01A": "DL1",
            "TRT01AN": 1.0,
            "SAFFL": "Y",
            "TRTSDT": ["2024-01-10", "2024-02-10", "2024-03-10", "2024-04-10"],
        }
    )
    lb = pd.DataFrame(columns=["USUBJID", "LBTESTCD", "LBDTC", "LBSEQ"])
    adlb = build_adlb(analysis, {"LB": lb}, adsl, dataset_specs()["ADLB"], None, graded_labs=graded)
    adlb = adlb.assign(subject=adlb["USUBJID"].str[2:]).sort_values(["subject", "ADT"], kind="mergesort")
    for sid, (base, worst, n_post) in EXPECTED[rule].items():
        own = adlb[adlb["subject"] == sid]
        assert (own["ONTRTFL"] == "Y").sum() == n_post, sid
        assert own.loc[own["ABLFL"] == "Y", "ATOXGRN"].tolist() == [float(base)], sid
        assert own.loc[own["ONTRTFL"] == "Y", "ATOXGRN"].max() == float(worst), sid
        assert np.all(own["BTOXGRN"].to_numpy(dtype=float) == float(base)), sid


def test_example_study_pre_infusion_labs_all_precede_lymphodepletion() -> None:
    """The example study is unaffected: each subject's pre-infusion haematology is drawn the day before
    the first lymphodepletion dose (15:00 Asia/Shanghai of day -5), none between that dose and the
    infusion, so the baseline and the on-treatment flags are those of before (checked on its CSV rows)."""
    from .conftest import rows

    first = {}
    for r in rows("lymphodepletion"):
        first[r["subject_id"]] = min(first.get(r["subject_id"], r["administered_on"]), r["administered_on"])
    infused = {r["subject_id"]: pd.Timestamp(r["infused_at"]) for r in rows("infusions")}
    for r in rows("labs"):
        when = pd.Timestamp(r["collected_at"])
        if when < infused[r["subject_id"]]:
            assert when.tz_convert("Asia/Shanghai").date().isoformat() < first[r["subject_id"]]


@settings(max_examples=property_examples(40), deadline=None)
@given(
    ld_days_before=st.integers(min_value=0, max_value=6),
    lab_hours=st.lists(st.integers(min_value=-8 * 24, max_value=3 * 24), min_size=1, max_size=8, unique=True),
)
def test_an_earlier_start_never_adds_baseline_values(ld_days_before: int, lab_hours: list[int]) -> None:
    """Property: the lymphodepletion period starts on or before the infusion, so every value that is
    pre-treatment under ``lymphodepletion`` is pre-treatment under ``infusion``; a value more than a day
    after the infusion is never pre-treatment, one before the first dose's day always is."""
    infused = pd.Timestamp("2024-01-10T09:00:00Z")
    first = (infused - pd.Timedelta(days=ld_days_before)).date()
    when = [infused + pd.Timedelta(hours=h) for h in lab_hours]
    tables = {
        "infusions": pd.DataFrame({"subject_id": ["A"], "infused_at": ["2024-01-10T09:00:00Z"]}),
        "lymphodepletion": pd.DataFrame({"subject_id": ["A"], "administered_on": [first.isoformat()]}),
    }
    graded = pd.DataFrame({"subject_id": "A", "collected_at": [w.isoformat() for w in when]})
    ld = safety.pre_treatment(graded, tables, "lymphodepletion").tolist()
    inf = safety.pre_treatment(graded, tables, "infusion").tolist()
    for w, a, b in zip(when, ld, inf, strict=True):
        assert not a or b
        if w.date() > infused.date():
            assert not a and not b
        if w.date() < first:
            assert a and b


def _pre(labs: list[str], infused_at: str, zone: str, rule: str, ld: str = "2021-05-28") -> list[bool]:
    tables = {
        "infusions": pd.DataFrame({"subject_id": ["A"], "infused_at": [infused_at], "time_zone": [zone]}),
        "lymphodepletion": pd.DataFrame({"subject_id": ["A"], "administered_on": [ld]}),
    }
    graded = pd.DataFrame({"subject_id": ["A"] * len(labs), "collected_at": labs})
    return safety.pre_treatment(graded, tables, rule).tolist()


def test_a_lab_in_a_site_zone_is_dated_on_the_site_calendar() -> None:
    # site in Wuhan (UTC+8); first lymphodepletion dose 2021-05-28 (site date, no time): 2021-05-27T17:00Z is
    # 05-28 01:00 there, the start day: pre-dose; 2021-05-28T17:00Z is 05-29 01:00, after it (in UTC days it
    # would be the start day, pre-dose); 2021-05-27T15:00Z is 05-27 23:00, before it (D-19.607, D-19.710)
    labs = ["2021-05-27T17:00:00Z", "2021-05-28T17:00:00Z", "2021-05-27T15:00:00Z"]
    assert _pre(labs, "2021-06-01T02:00:00Z", "Asia/Shanghai", "lymphodepletion") == [True, False, True]
    assert _pre(labs, "2021-06-01T02:00:00Z", "", "lymphodepletion") == [True, True, True]  # UTC site
    # infusion 2021-06-01T02:00Z (10:00 in Wuhan): 2021-05-31T20:00Z is 06-01 04:00, before it: pre-dose;
    # 2021-06-01T03:00Z is 11:00, after it
    labs = ["2021-05-31T20:00:00Z", "2021-06-01T03:00:00Z"]
    assert _pre(labs, "2021-06-01T02:00:00Z", "Asia/Shanghai", "infusion") == [True, False]


def test_a_timed_lab_on_the_day_of_an_untimed_infusion_is_pre_dose() -> None:
    # the infusion typed without a time (stored 00:00:00Z): on its day only the date is compared, so a lab at
    # 09:00 that day is pre-dose; the next day it is not (D-19.710)
    labs = ["2021-06-01T09:00:00Z", "2021-06-02T09:00:00Z"]
    assert _pre(labs, "2021-06-01", "", "infusion") == [True, False]


def test_a_naive_lab_time_after_an_offset_one_is_utc() -> None:
    # review 3 of D-19.710: a time without an offset is UTC (`utc_moment`), whatever the row before; pandas'
    # ISO 8601 reader gave '2021-06-01T10:00' the +08:00 of the row before (02:00Z, before a 05:00Z infusion)
    labs = ["2021-06-01T10:00:00+08:00", "2021-06-01T10:00:00", "2021-06-01T04:00:00-05:00"]
    # 02:00Z pre-dose; 10:00Z after the 05:00Z infusion; 09:00Z after it
    assert _pre(labs, "2021-06-01T05:00:00Z", "", "infusion") == [True, False, False]


def test_iso_instants_reads_each_text_with_its_own_offset() -> None:
    from cartrial.columns import iso_instants

    texts = pd.Series(
        ["2021-06-01T03:00+08:00", "2021-06-01T03:00", "2021-06-01", "x", "20210601T030000-0100"]
    )
    got = iso_instants(texts)
    assert [str(t) for t in got[[0, 1, 2, 4]]] == [
        "2021-05-31 19:00:00+00:00",
        "2021-06-01 03:00:00+00:00",  # naive: UTC, as `utc_moment` (not the +08:00 of the row before)
        "2021-06-01 00:00:00+00:00",
        "2021-06-01 04:00:00+00:00",
    ]
    assert pd.isna(got[3])
