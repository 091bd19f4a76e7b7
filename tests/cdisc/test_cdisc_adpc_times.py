"""ADPC.AFRLT of a sample drawn before the infusion is negative (ADaMIG-NCA: elapsed actual time from the
reference dose), from the one derivation the NCA reads too (`cartrial.analysis.kinetics.sample_actual_days`;
D-19.304)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples


def _elapsed_days(sampled_at: str, infused_at: str) -> float:
    start = dt.datetime.fromisoformat(infused_at.replace("Z", "+00:00"))
    return (dt.datetime.fromisoformat(sampled_at.replace("Z", "+00:00")) - start) / dt.timedelta(days=1)


def test_example_pre_dose_samples_have_negative_afrlt(exported) -> None:  # type: ignore[no-untyped-def]
    """The example study draws its day-0 sample an hour before the infusion (stored ``actual_day`` 0): its
    AFRLT is the elapsed time from PCDTC to the infusion (DM.RFSTDTC), -1/24 day, independent of the code."""
    adpc, pc, dm = exported.frames["ADPC"], exported.frames["PC"], exported.frames["DM"]
    merged = adpc.merge(pc[["USUBJID", "PCSEQ", "PCDTC"]], on=["USUBJID", "PCSEQ"], validate="one_to_one")
    merged = merged.merge(dm[["USUBJID", "RFSTDTC"]], on="USUBJID", validate="many_to_one")
    pre = merged[merged["PCDTC"].astype(str) < merged["RFSTDTC"].astype(str)]
    assert len(pre) > 0
    assert (pre["AFRLT"] < 0).all()
    expected = [_elapsed_days(str(s), str(i)) for s, i in zip(pre["PCDTC"], pre["RFSTDTC"], strict=True)]
    assert pre["AFRLT"].to_numpy() == pytest.approx(expected, abs=1e-6)
    assert (pre["NFRLT"] <= 0).all()  # nominal: at or before the dose
    post = merged[merged["PCDTC"].astype(str) >= merged["RFSTDTC"].astype(str)]
    assert (post["AFRLT"] >= 0).all()


def test_nca_counts_the_example_pre_dose_samples_as_pre_dose(exported) -> None:  # type: ignore[no-untyped-def]
    """The NCA reads the same times as ADPC: the samples ADPC places before the infusion are the NCA's
    `n_pre_dose` (not a concentration at time 0 of the profile)."""
    adpc = exported.frames["ADPC"]
    nca = exported.analysis.datasets["nca_by_subject"].table
    pre = adpc[adpc["AFRLT"] < 0].groupby(["USUBJID"]).size()
    assert int(nca["n_pre_dose"].sum()) == int(pre.sum()) > 0


@settings(max_examples=property_examples(60), deadline=None)
@given(
    hours=st.floats(min_value=-24 * 30, max_value=24 * 200, allow_nan=False),
    stored=st.one_of(st.none(), st.floats(min_value=-30, max_value=200, allow_nan=False)),
    zone=st.sampled_from(["", "Asia/Shanghai", "America/New_York"]),
)
def test_sample_days_property(hours: float, stored: float | None, zone: str) -> None:
    """Before the infusion by its date-time: the elapsed (negative) time; otherwise the stored day, and the
    elapsed time when no day is stored (D-19.1279). Exactly 00:00:00Z west of UTC is a date typed without a
    time (D-19.947): the stored day, else none (D-19.1282, D-19.1341, D-19.1342)."""
    from cartrial.analysis.kinetics import sample_actual_days

    infused = dt.datetime(2021, 5, 1, 10, 0, tzinfo=dt.UTC)
    moment = (infused + dt.timedelta(hours=hours)).replace(microsecond=0)
    samples = pd.DataFrame(
        {
            "subject_id": ["S1", "S2"],
            "actual_day": [stored, stored],
            "sampled_at": [moment.strftime("%Y-%m-%dT%H:%M:%SZ"), ""],
        }
    )
    infusions = pd.DataFrame(
        {"subject_id": ["S1"], "infused_at": [infused.strftime("%Y-%m-%dT%H:%M:%SZ")], "time_zone": [zone]}
    )
    days = sample_actual_days(samples, infusions)
    elapsed = (moment - infused) / dt.timedelta(days=1)
    # a date typed without a time is stored as 00:00:00Z; it is a date only west of UTC (D-19.947), where
    # 00:00:00Z is on the previous day (New York: always)
    date_only = moment.time() == dt.time(0) and zone == "America/New_York"
    if date_only and stored is None:  # no day stored and no time of day: no elapsed time (D-19.1282)
        assert pd.isna(days.iloc[0])
    elif date_only:  # a date cannot show the sample was before the infusion: the stored day (D-19.1342)
        assert days.iloc[0] == stored
    elif elapsed < 0 or stored is None:  # before the infusion, or no day stored: the elapsed time
        assert days.iloc[0] == elapsed
    else:
        assert days.iloc[0] == stored
    # S2: no date-time and no infusion: the stored day as it is
    assert (pd.isna(days.iloc[1]) and stored is None) or days.iloc[1] == stored
