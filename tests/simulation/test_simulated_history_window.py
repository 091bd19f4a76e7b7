"""The pre-treatment relapse history of a virtual study is the one the analysis reads (D-19.854, D-19.876).

The protocol's ARR compares the post-infusion rate with "the 24 months before" the infusion (example
protocol, endpoint ``annualized_relapse_rate``; docs/science/neuro-outcomes.md §4.3: the ``pre_window_months``
calendar months before the infusion). The simulator's pre-treatment rate is the attacks of the 730 drawn days
of history / 2 (`Prepared.pre_attacks_24m`, docs/simulation.md §5). Before D-19.854 the written history ended
at the consent (vein-to-vein + 14 days before the infusion): the oldest onsets fell out of the analysis's
window and none was written after the consent, so the analysis recovered 5-6 % fewer attacks than drawn.
D-19.854 then dated it back from the infusion, which the eligibility screen had not judged; since D-19.876
it is dated back from the consent (the screen's date) and the days between the consent and the infusion
get attacks drawn at the patient's rate after selection (× `regression_to_mean`, D-19.880, D-19.882), so the
window's expected count is the drawn one's share (730 − gap + rtm × (gap − 1)) / 730.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartrial.neuro.derive import derive_relapses, relapse_options_from_protocol
from cartrial.protocol import load_protocol
from cartrial.simulation import load_scenario, prepare
from cartrial.simulation.study import simulate_study
from cartrial.simulation.trials import Prepared

DAYS_PER_YEAR = 365.25
#: a fast accrual and a large expansion: many patients, all infused before the cut-off (nightly)
LARGE = {"accrual": {"candidates_per_month": 200}, "design": {"expansion_patients": 1200}}


def _prepared(make_scenario: Callable[..., Path], seed: int, changes: dict, pool: int) -> Prepared:
    scenario, protocol = load_scenario(make_scenario(changes))
    return prepare(scenario.model_copy(update={"pool_size": pool}), load_protocol(protocol), seed)


def _analysed_pre(prepared: Prepared, seed: int) -> pd.DataFrame:
    """The per-subject pre-infusion ARR table of the analysis's relapse derivation (neuro engine) on the
    written relapses and infusions, on the site's calendar, with the protocol's relapse options."""
    forms = simulate_study(prepared, seed).forms
    infusions = forms["infusions"].copy()
    zone = forms["sites"]["time_zone"].iloc[0] if "time_zone" in forms["sites"] else ""
    infusions["time_zone"] = zone
    result = derive_relapses(
        forms["relapses"],
        infusions,
        cutoff=dt.date(2100, 1, 1),
        last_assessment={s: dt.date(2100, 1, 1) for s in infusions["subject_id"]},
        options=relapse_options_from_protocol(prepared.protocol),
    )
    return result.table


def _months_before(day: dt.date, months: int) -> dt.date:
    """`day` moved back `months` calendar months (the last day of a shorter month), by hand."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError(day)


def test_history_is_dated_from_the_consent_and_the_window_reads_it(
    make_scenario: Callable[..., Path],
) -> None:
    """Every patient with the drawn onsets 728, 695, 400 and 100 days before the consent (no two less than
    30 days apart) has them written on those days before its written consent date (the screen's date,
    D-19.876), then the onsets drawn between the consent and the infusion. The analysis's pre-infusion
    window (24 calendar months before the infusion's site day) counts, by hand from the written dates, the
    drawn onsets inside it — never the one 728 days before the consent (the consent is at least 15 days
    before the infusion: 743 days), the one 695 days before when the consent is at most 35-36 days before
    the infusion — plus the interval's (more than 100 days after the last drawn one: no merge). Changed by
    design from D-19.854's anchor at the infusion, under which all four were counted for everyone."""
    prepared = _prepared(make_scenario, 5, {}, 100)
    n = len(prepared.eligible)
    days = [728, 695, 400, 100]
    history = dataclasses.replace(
        prepared.eligible,
        relapses_24m=np.full(n, 4, dtype=np.int64),
        relapses_12m=np.full(n, 1, dtype=np.int64),
        relapse_days_before=[list(days) for _ in range(n)],
    )
    forms = simulate_study(dataclasses.replace(prepared, eligible=history), 5).forms
    table = _analysed_pre(dataclasses.replace(prepared, eligible=history), 5).set_index("subject_id")
    zone = forms["sites"]["time_zone"].iloc[0]
    interval_total = 0
    for subject in forms["subjects"].to_dict("records"):
        sid = subject["subject_id"]
        consent = dt.date.fromisoformat(subject["consent_date"])
        infused = pd.Timestamp(forms["infusions"].set_index("subject_id").loc[sid, "infused_at"])
        day0 = infused.tz_convert(zone).date()
        onsets = sorted(
            dt.date.fromisoformat(str(d))
            for d in forms["relapses"].loc[forms["relapses"]["subject_id"] == sid, "onset_date"]
        )
        before = [d for d in onsets if d <= consent]
        interval = [d for d in onsets if consent < d < day0]
        assert before == [consent - dt.timedelta(days=d) for d in days], sid
        start = _months_before(day0, 24)
        expected = sum(start <= d for d in before) + len(interval)
        assert consent - dt.timedelta(days=728) < start, sid
        assert int(table.loc[sid, "pre_attacks"]) == expected, sid
        interval_total += len(interval)
    assert interval_total > 0  # the interval's onsets are written (4 attacks / 730 days over 40-70 days)


@pytest.mark.nightly
def test_analysis_recovers_the_simulated_pre_treatment_rate(make_scenario: Callable[..., Path]) -> None:
    """Statistical: the patients of a virtual study are drawn with replacement from the eligible pool, so
    the mean of their simulated pre-treatment rates (attacks / 2 years) estimates the pool's mean with the
    sampling SD sd_pool / sqrt(n). The analysis's mean per-patient pre-infusion ARR of the written study must
    lie within 4 such SEs of the pool's mean (of 730 or 731 days per patient: at most 0.14 % apart, well
    inside). Before D-19.854 it was 5-6 % low: with 1,200 patients (pool SD of the rate ≈ 0.8 on a mean ≈
    2.0, SE ≈ 0.023) a bias of ≈ 0.11 is ≈ 5 SEs. Since D-19.880 the consent-to-infusion days (gap − 1 of
    the window's 730, the consent day without an onset) are at the rate after selection (×
    `efficacy.regression_to_mean`), so the reference is the pool's mean × the written patients' mean share
    (730 − gap + rtm × (gap − 1)) / 730, by hand from the written consent and infusion dates (changed by
    design: ≈ 2.5 % below the pool's mean; gap is independent of the drawn history)."""
    seed = 7
    prepared = _prepared(make_scenario, seed, LARGE, 1000)
    truth = prepared.pre_attacks_24m / 2.0  # the simulator's pre-treatment rate of each pool candidate
    forms = simulate_study(prepared, seed).forms
    zone = forms["sites"]["time_zone"].iloc[0]
    consent = forms["subjects"].set_index("subject_id")["consent_date"]
    rtm = prepared.scenario.efficacy.regression_to_mean
    gaps = np.array(
        [
            (pd.Timestamp(at).tz_convert(zone).date() - dt.date.fromisoformat(consent[sid])).days
            for sid, at in zip(
                forms["infusions"]["subject_id"], forms["infusions"]["infused_at"], strict=True
            )
        ],
        dtype=float,
    )
    share = float(np.mean((730 - gaps + rtm * (gaps - 1)) / 730))
    table = _analysed_pre(prepared, seed)
    n = len(table)
    assert n >= 1000
    recovered = pd.to_numeric(table["pre_arr"]).to_numpy(float)
    se = float(truth.std(ddof=1)) / np.sqrt(n)
    reference = truth.mean() * share
    assert abs(recovered.mean() - reference) <= 4 * se, (recovered.mean(), reference, se)
    # and the pooled rate (attacks / patient-years) likewise
    pooled = table["pre_attacks"].sum() / (table["pre_days"].sum() / DAYS_PER_YEAR)
    assert abs(pooled - reference) <= 4 * se
