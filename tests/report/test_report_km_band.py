"""D-19.222: the Kaplan-Meier figure drew a shaded confidence band that neither its legend nor its caption
named (level, method). The band is the analysis' ``ci_low``/``ci_high`` (cartrial.neuro
`relapse_free_survival`, lifelines' "exponential Greenwood" interval: log(-log) transformation with
Greenwood's variance); the report now reads its level and method from the relapse derivation's options
(``analysis.options["relapses"]``: ``confidence``, ``km_ci``) and states them in the legend, the caption
and the methods section, never recomputing the band.

Expected values: the log(-log) Greenwood interval written out from its textbook formula (Kalbfleisch &
Prentice 2002 §1.3; R survival ``conf.type = "log-log"``), S(t) = Π (1 - d/n),
V = Σ d / (n (n - d)), bounds exp(-exp(log(-log S) ± z sqrt(V) / log S))."""

from __future__ import annotations

import datetime as dt
import math
from datetime import date, timedelta

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from tests.conftest import property_examples

from cartrial.analysis.model import Analysis, Dataset
from cartrial.neuro.relapses import (
    KM_CI_METHOD,
    Attack,
    SubjectFollowUp,
    annualised_relapse_rates,
    relapse_free_survival,
)
from cartrial.report.figures import km_figure


def _analysis(options: dict[str, object]) -> Analysis:
    populations = pd.DataFrame(
        {
            "subject_id": ["A", "B"],
            "dose_level": [1, 1],
            "infusion_date": ["2021-01-01", "2021-01-02"],
            "follow_up_days": [100, 50],
            "safety": [True, True],
        }
    )
    km = pd.DataFrame(
        {
            "time_days": [0.0, 40.0, 100.0],
            "at_risk": [2, 2, 1],
            "events": [0, 1, 0],
            "censored": [0, 0, 1],
            "survival": [1.0, 0.5, 0.5],
            "ci_low": [1.0, 0.1, 0.1],
            "ci_high": [1.0, 0.9, 0.9],
        }
    )
    datasets = {
        "populations": Dataset("populations", "p", populations, "enrolled", "x", ()),
        "relapse_free_km": Dataset("relapse_free_km", "km", km, "safety", "x", ()),
    }
    return Analysis({}, {}, datasets, (), options=options)


@settings(max_examples=property_examples(15), deadline=None)
@given(st.integers(min_value=50, max_value=99))
def test_the_band_is_named_with_the_analysis_level_and_method(percent: int) -> None:
    figure = km_figure(_analysis({"relapses": {"confidence": percent / 100, "km_ci": KM_CI_METHOD}}), {})
    assert figure is not None
    label = f"{percent} % CI"
    assert label in figure.caption and "log(-log)" in figure.caption and "Greenwood" in figure.caption
    assert label in figure.svg  # the legend entry of the band (SVG text kept as text)
    assert "log(-log)" in figure.svg


def test_a_band_of_unrecorded_level_says_so_and_guesses_nothing() -> None:
    figure = km_figure(_analysis({}), {})
    assert figure is not None
    assert "not recorded" in figure.caption and "95" not in figure.caption


def _log_log_greenwood(
    durations: list[int], events: list[bool], confidence: float
) -> dict[float, tuple[float, float]]:
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    s, v, out = 1.0, 0.0, {}
    for t in sorted({0, *durations}):
        n = sum(d >= t for d in durations)
        d = sum(1 for x, e in zip(durations, events, strict=True) if x == t and e)
        if d:
            s *= 1 - d / n
            v += d / (n * (n - d)) if n > d else math.inf
        if s in (0.0, 1.0) or not math.isfinite(v):
            out[float(t)] = (math.nan, math.nan)
            continue
        log_s = math.log(s)
        half = z * math.sqrt(v) / log_s
        out[float(t)] = (
            math.exp(-math.exp(math.log(-log_s) - half)),
            math.exp(-math.exp(math.log(-log_s) + half)),
        )
    return out


@settings(max_examples=property_examples(40), deadline=None)
@given(
    st.lists(st.tuples(st.integers(min_value=1, max_value=400), st.booleans()), min_size=2, max_size=12),
    st.sampled_from([0.8, 0.9, 0.95]),
)
def test_the_stated_method_is_the_interval_computed(
    subjects: list[tuple[int, bool]], confidence: float
) -> None:
    day0 = date(2021, 1, 1)
    follow, attacks = [], []
    for i, (days, relapsed) in enumerate(subjects):
        sid = f"S{i}"
        follow.append(SubjectFollowUp(sid, day0, day0 + timedelta(days=days)))
        if relapsed:
            onset = day0 + timedelta(days=days)
            attacks.append(Attack(sid, onset, (onset,), frozenset(), None, (None,)))
    km = relapse_free_survival(annualised_relapse_rates(attacks, follow), confidence=confidence)
    expected = _log_log_greenwood(list(km.durations_days.values()), list(km.events.values()), confidence)
    for row in km.table:
        low, high = expected[row.time_days]
        if math.isnan(low):
            continue
        assert math.isclose(row.ci_low, low, rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(row.ci_high, high, rel_tol=1e-9, abs_tol=1e-12)


def test_the_methods_section_names_the_band(example_sqlite_template) -> None:  # type: ignore[no-untyped-def]
    from cartrial.analysis import analyse
    from cartrial.report.render import build_report
    from cartrial.store.snapshot import read_snapshot

    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    analysis = analyse(snapshot)
    report = build_report(
        analysis, snapshot.tables, cartrial_version="test", generated_at=dt.datetime(2026, 1, 1)
    )
    row = dict(report.methods)["relapses"]
    assert "confidence: 0.95" in row and "log(-log)" in row and "Greenwood" in row
    caption = report.figures["km_relapse_free"].caption
    assert "95 % CI" in caption and "log(-log)" in caption
    km_table = next(t for section in report.sections for t in section.tables if t.name == "relapse_free_km")
    assert any(n.startswith("ci_low, ci_high: 95 % CI (") and "log(-log)" in n for n in km_table.notes)
