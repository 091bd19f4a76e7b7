"""The engines' single-value functions, as a notebook user calls them (decisions D-19.79).

A NaN, infinite, negative or fractional number, a flag that is not a boolean, or an argument of the wrong
kind is an `InputError` naming the argument, the value and what is allowed: never a grade, a rate or a
fold change computed as if it were data, and never a raw ValueError or TypeError from inside. Before,
`grade_lab("neutrophils", nan, ...)` was grade 0 ("at or above the LLN"), a negative count grade 4,
`grade_crs(temperature_c=nan, ...)` grade 0, `grade_icans(ice_total=nan)` grade 3,
`hypotension_from_sbp(nan)` False, `poisson_rate(1, nan)` a NaN rate and `fold_change(0, 5)` 1.0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.errors import InputError
from cartrial.escalation import Boin, pava, simulate
from cartrial.grading import (
    VasopressorDoses,
    grade_crs,
    grade_icaht,
    grade_icans,
    grade_lab,
    grade_t_icaht,
    hypotension_from_sbp,
    ice_score,
    is_high_dose,
    unit_factor,
)
from cartrial.kinetics import Stein2019Parameters, nca, simulate_stein2019, typical_auc
from cartrial.neuro import (
    fold_change,
    improvement_threshold,
    parse_titre_step,
    percent_of_infused,
    poisson_rate,
    titre_fell,
    titre_steps,
    worsening_threshold,
)
from cartrial.protocol import add_months, completed_years, months_before

NAN = float("nan")
INF = float("inf")
CRS = {
    "temperature_c": 38.9,
    "fever_masked": False,
    "hypotension": True,
    "vasopressors": 0,
    "vasopressin": False,
    "oxygen": "none",
}


def refused(call: Callable[[], Any], field: str) -> InputError:
    """`call` raises an `InputError` whose message names `field`."""
    with pytest.raises(InputError) as caught:
        call()
    assert field in str(caught.value)
    return caught.value


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"temperature_c": NAN}, "temperature_c"),
        ({"temperature_c": INF}, "temperature_c"),
        ({"temperature_c": 101.3}, "temperature_c"),  # °F given as °C
        ({"vasopressors": -1}, "vasopressors"),
        ({"vasopressors": 1.5}, "vasopressors"),
        ({"vasopressors": NAN}, "vasopressors"),
        ({"hypotension": "no"}, "hypotension"),  # a non-empty text is true
        ({"fever_masked": 1}, "fever_masked"),
        ({"vasopressin": None}, "vasopressin"),
        ({"oxygen": "NASAL"}, "oxygen"),
        ({"oxygen": "nasal_cannula"}, "oxygen_l_min"),
        ({"oxygen": "nasal_cannula", "oxygen_l_min": NAN}, "oxygen_l_min"),
        ({"oxygen": "nasal_cannula", "oxygen_l_min": -4.0}, "oxygen_l_min"),
        ({"oxygen": "facemask", "oxygen_l_min": INF}, "oxygen_l_min"),
    ],
)
def test_grade_crs_refuses_what_is_not_an_assessment(changes: dict[str, Any], field: str) -> None:
    refused(lambda: grade_crs(**{**CRS, **changes}), field)


def test_grade_crs_takes_numpy_values_and_whole_floats() -> None:
    """What a DataFrame row holds (numpy scalars, 1.0 from a float column) is graded as its number."""
    row = {**CRS, "temperature_c": np.float64(38.9), "vasopressors": 1.0, "hypotension": np.True_}
    assert grade_crs(**row).grade == 3
    assert grade_crs(**{**CRS, "vasopressors": np.int64(2)}).grade == 4


@pytest.mark.parametrize("sbp", [NAN, INF, -5.0, 0.0, 19.9, 301.0, "85", None])
def test_hypotension_from_sbp_refuses_what_is_not_a_blood_pressure(sbp: Any) -> None:
    refused(lambda: hypotension_from_sbp(sbp), "systolic_bp_mmhg")


@given(st.floats(min_value=20, max_value=300))
def test_hypotension_is_sbp_below_the_threshold(sbp: float) -> None:
    assert hypotension_from_sbp(sbp) is (sbp < 90)


@pytest.mark.parametrize("ice", [NAN, 5.5, -1, 11, "6", True])
def test_grade_icans_refuses_an_ice_that_is_not_a_score(ice: Any) -> None:
    refused(lambda: grade_icans(consciousness="awakens_spontaneously", ice_total=ice), "ice_total")


@pytest.mark.parametrize("domain", ["consciousness", "seizure", "motor", "cerebral_edema"])
def test_grade_icans_refuses_a_domain_value_of_no_scale(domain: str) -> None:
    arguments: dict[str, Any] = {"consciousness": "alert", "ice_total": 10, domain: "severe"}
    refused(lambda: grade_icans(**arguments), domain)


@given(ice=st.integers(0, 10))
def test_a_whole_float_ice_is_the_same_score(ice: int) -> None:
    as_int = grade_icans(consciousness="alert", ice_total=ice)
    as_float = grade_icans(consciousness="alert", ice_total=float(ice))
    assert (as_int.grade, as_int.rule, as_int.ice_score) == (
        as_float.grade,
        as_float.rule,
        as_float.ice_score,
    )


@pytest.mark.parametrize("item", [NAN, 2.5, -1, True, None])
def test_ice_score_refuses_an_item_that_is_not_its_points(item: Any) -> None:
    refused(lambda: ice_score(4, 3, 1, 1, item), "attention")


@pytest.mark.parametrize(
    ("value", "lln", "field"),
    [
        (NAN, 1.8, "value"),
        (INF, 1.8, "value"),
        (-0.1, 1.8, "value"),
        ("0.4", 1.8, "value"),
        (0.4, -1.8, "lln"),
        (0.4, 0.0, "lln"),
        (0.4, INF, "lln"),
    ],
)
def test_grade_lab_refuses_what_is_not_a_count(value: Any, lln: Any, field: str) -> None:
    refused(lambda: grade_lab("neutrophils", value, "10^9/L", lln), field)


def test_grade_lab_names_the_analyte_the_unit_and_a_missing_lln() -> None:
    refused(lambda: grade_lab("neutrophil", 0.4, "10^9/L", 1.8), "analyte")
    refused(lambda: grade_lab("neutrophils", 0.4, "mmol/L", 1.8), "unit")
    refused(lambda: grade_lab("neutrophils", 0.4, None, 1.8), "unit")  # type: ignore[arg-type]
    refused(lambda: unit_factor("platelets", "g/L"), "unit")
    # a NaN LLN is no LLN: platelets need one in v5.0
    refused(lambda: grade_lab("platelets", 50.0, "10^9/L", NAN), "lln")
    refused(lambda: grade_lab("neutrophils", 0.4, "10^9/L", 1.8, life_threatening_anemia="no"), "anemia")


@settings(max_examples=property_examples(200))
@given(
    value=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    lln=st.floats(min_value=0.01, max_value=1e3),
)
def test_grade_lab_of_a_count_is_a_grade_and_never_worse_for_a_higher_count(value: float, lln: float) -> None:
    lower = grade_lab("neutrophils", value, "10^9/L", lln).grade
    higher = grade_lab("neutrophils", value * 2 + 0.1, "10^9/L", lln).grade
    assert 0 <= higher <= lower <= 4


@pytest.mark.parametrize(
    ("days", "counts", "field"),
    [
        ([0, 7], [400.0], "anc_per_ul"),
        ([0, 7.5], [400.0, 300.0], "days"),
        ([0, NAN], [400.0, 300.0], "days"),
        ([0, 7], [NAN, 300.0], "anc_per_ul"),
        ([0, 7], [-1.0, 300.0], "anc_per_ul"),
        ([0, 7], [INF, 300.0], "anc_per_ul"),
        ([0, 7], ["a", 300.0], "anc_per_ul"),
    ],
)
def test_icaht_refuses_a_series_that_is_not_counts_by_day(
    days: list[Any], counts: list[Any], field: str
) -> None:
    refused(lambda: grade_icaht(days, counts), field)
    platelet_field = field.replace("anc_per_ul", "platelets_10e9_l")
    refused(
        lambda: grade_t_icaht(days, [c / 10 if isinstance(c, float) else c for c in counts]), platelet_field
    )


def test_icaht_refuses_a_fractional_censoring_day() -> None:
    refused(lambda: grade_icaht([0, 7, 14], [400.0, 300.0, 2000.0], censor_day=10.5), "censor_day")


@pytest.mark.parametrize(
    ("events", "patient_years", "field"),
    [
        (1, NAN, "patient_years"),
        (1, INF, "patient_years"),
        (1, -0.5, "patient_years"),
        (2.5, 1.0, "events"),
        (-1, 1.0, "events"),
        (NAN, 1.0, "events"),
    ],
)
def test_poisson_rate_refuses_what_is_not_a_count_and_an_exposure(
    events: Any, patient_years: Any, field: str
) -> None:
    refused(lambda: poisson_rate(events, patient_years), field)


@given(events=st.integers(0, 50), patient_years=st.floats(min_value=0.01, max_value=1e4))
def test_poisson_interval_holds_the_rate(events: int, patient_years: float) -> None:
    estimate = poisson_rate(events, patient_years)
    assert estimate.rate is not None and estimate.ci_low is not None and estimate.ci_high is not None
    assert estimate.ci_low <= estimate.rate <= estimate.ci_high
    assert math.isclose(estimate.rate, events / patient_years)
    assert poisson_rate(np.int64(events), float(patient_years)) == estimate


@pytest.mark.parametrize("titre", [0, 5, None, 320.0])
def test_titre_functions_refuse_what_is_not_a_titre(titre: Any) -> None:
    """An int has a `denominator` (1): fold_change(0, 5) was 1.0."""
    for function in (fold_change, titre_steps, titre_fell):
        refused(lambda f=function: f(titre, "1:100"), "before")  # type: ignore[misc]
        refused(lambda f=function: f("1:100", titre), "after")  # type: ignore[misc]


def test_titres_are_taken_as_text_too() -> None:
    assert fold_change("1:1000", "1:100") == fold_change(
        parse_titre_step("1:1000"), parse_titre_step("1:100")
    )
    assert titre_steps("1:1000", "1:100") == -2
    assert titre_fell("1:320", "negative")


@pytest.mark.parametrize(
    ("values", "weights", "field"),
    [
        ([0.1, 0.2], [1.0], "weights"),
        ([NAN, 0.2], [1.0, 1.0], "values"),
        ([0.1, 0.2], [0.0, 1.0], "weights"),
        ([0.1, 0.2], [1.0, INF], "weights"),
        ([0.1, INF], [1.0, 1.0], "values"),
    ],
)
def test_pava_refuses_what_it_cannot_pool(values: list[float], weights: list[float], field: str) -> None:
    refused(lambda: pava(values, weights), field)


@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=1), st.floats(min_value=0.01, max_value=100)),
        min_size=1,
        max_size=12,
    )
)
def test_pava_is_non_decreasing_and_keeps_the_weighted_mean(pairs: list[tuple[float, float]]) -> None:
    values = [v for v, _ in pairs]
    weights = [w for _, w in pairs]
    fitted = pava(values, weights)
    assert np.all(np.diff(fitted) >= -1e-12)
    assert math.isclose(
        float(np.dot(fitted, weights)), float(np.dot(values, weights)), rel_tol=1e-9, abs_tol=1e-9
    )


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: months_before(date(2024, 1, 1), -1), "months"),
        (lambda: add_months(date(2024, 1, 1), 1.5), "months"),
        (lambda: add_months("2024-01-01", 1), "d"),
        (lambda: add_months(date(9999, 12, 1), 1), "months"),
        (lambda: completed_years(date(2000, 1, 1), date(1999, 12, 31)), "on"),
        (lambda: completed_years(None, date(1999, 12, 31)), "born"),
    ],
)
def test_calendar_functions_name_the_bad_argument(call: Callable[[], Any], field: str) -> None:
    refused(call, field)


def _profile(**columns: list[Any]) -> pd.DataFrame:
    return pd.DataFrame({"s": ["S1"] * 3, "t": [0.0, 1.0, 2.0], "c": [1.0, 2.0, 0.5], **columns})


@pytest.mark.parametrize(
    ("frame", "arguments", "located"),
    [
        (_profile(t=[0.0, 1.0, INF]), {}, "row 4, t"),
        (_profile(c=[1.0, -INF, 0.5]), {}, "row 3, c"),
        (_profile(), {"lloq": -5.0}, "lloq"),
        (_profile(), {"lloq": NAN}, "lloq"),
        (_profile(l=[1.0, -1.0, NAN]), {"lloq_column": "l"}, "row 3, l"),
    ],
)
def test_nca_refuses_infinite_samples_and_an_lloq_out_of_range(
    frame: pd.DataFrame, arguments: dict[str, Any], located: str
) -> None:
    error = refused(
        lambda: nca(
            frame, subject="s", time="t", conc="c", time_unit="day", conc_unit="copies/ug", **arguments
        ),
        located,
    )
    assert "np.float64" not in str(error)  # a numpy value is written as its number


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"n_subjects": 0}, "n_subjects"),
        ({"n_subjects": 2.5}, "n_subjects"),
        ({"days": [1.0, NAN]}, "days"),
        ({"days": [-1.0, 7.0]}, "days"),
        ({"days": []}, "days"),
        ({"residual_sd_log": NAN}, "residual_sd_log"),
        ({"omega2": {"cmax": -1.0}}, "omega2[cmax]"),
        ({"omega2": {"cmaxx": 0.1}}, "omega2"),  # a misspelt name was ignored: no variability on Cmax
        ({"cmax_scale": NAN}, "cmax_scale"),
        ({"cmax_scale": [1.0, 2.0]}, "cmax_scale"),  # 3 subjects
        ({"rho_factor": -1.0}, "rho_factor"),
        ({"iiv": "yes"}, "iiv"),
        ({"n_subjects": 1_000_000, "days": list(range(100))}, "n_subjects"),
    ],
)
def test_simulate_stein2019_refuses_a_request_outside_its_limits(
    arguments: dict[str, Any], field: str
) -> None:
    request: dict[str, Any] = {"n_subjects": 3, "days": [0.0, 7.0, 28.0], "seed": 1, **arguments}
    refused(lambda: simulate_stein2019(request.pop("n_subjects"), request.pop("days"), **request), field)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("foldx", 0.5),
        ("foldx", NAN),
        ("tmax_days", 0.0),
        ("cmax", -24000.0),
        ("fb", 1.5),
        ("fb", 0.0),
        ("beta_per_day", INF),
    ],
)
def test_stein_parameters_are_checked_where_made(name: str, value: float) -> None:
    refused(lambda: Stein2019Parameters(**{name: value}), name)


def test_typical_auc_refuses_an_interval_that_is_not_one() -> None:
    refused(lambda: typical_auc(28, 0), "end_days")
    refused(lambda: typical_auc(0, NAN), "end_days")
    refused(lambda: typical_auc(-1, 28), "start_days")


@given(start=st.floats(0, 400), length=st.floats(0, 400))
def test_typical_auc_is_additive_over_adjacent_intervals(start: float, length: float) -> None:
    middle = start + length / 2
    whole = typical_auc(start, start + length)
    assert math.isclose(
        whole, typical_auc(start, middle) + typical_auc(middle, start + length), rel_tol=1e-9, abs_tol=1e-6
    )
    assert whole >= 0


@pytest.mark.parametrize("reference", [NAN, -1.0, 0.5, 3.3, 10.5, "3.0"])
def test_edss_thresholds_refuse_a_reference_that_is_no_edss(reference: Any) -> None:
    refused(lambda: worsening_threshold(reference, "nmosd_trial"), "reference_edss")
    refused(lambda: improvement_threshold(reference, "cdi_common"), "reference_edss")


@pytest.mark.parametrize(
    ("responders", "infused", "field"),
    [(5, 3, "n_responders"), (-1, 3, "n_responders"), (1, -3, "n_infused"), (1.5, 3, "n_responders")],
)
def test_percent_of_infused_refuses_impossible_counts(responders: Any, infused: Any, field: str) -> None:
    refused(lambda: percent_of_infused(responders, infused), field)


def test_vasopressor_doses_are_checked_where_made() -> None:
    refused(lambda: VasopressorDoses(norepinephrine_ug_min=NAN), "norepinephrine_ug_min")
    refused(lambda: VasopressorDoses(dopamine_ug_kg_min=-1.0), "dopamine_ug_kg_min")
    refused(lambda: is_high_dose(None), "doses")  # type: ignore[arg-type]


def test_escalation_simulate_refuses_accrual_days_a_design_does_not_use() -> None:
    """`accrual_days` was ignored without a word by every design but TITE-CRM (the command line refuses
    `--accrual-days` for them)."""
    boin = Boin(3, 0.3)
    refused(lambda: simulate(boin, [0.1, 0.2, 0.3], cohorts=2, trials=5, accrual_days=-1.0), "accrual_days")
    assert simulate(boin, [0.1, 0.2, 0.3], cohorts=2, trials=5).trials == 5


def test_screen_and_the_dlt_window_name_a_bad_argument() -> None:
    from cartrial import examples
    from cartrial.protocol import dlt_window_complete, load_candidate, load_protocol, screen

    folder = examples.path("ct103a-nmosd")
    protocol = load_protocol(folder / "protocol.yaml")
    candidate = load_candidate(folder / "candidates" / "cand-01-eligible.yaml")
    refused(lambda: screen(protocol, None), "candidate")  # type: ignore[arg-type]
    refused(lambda: screen(candidate, protocol), "protocol")  # type: ignore[arg-type]
    refused(lambda: screen(protocol, candidate, "2024-03-15"), "screening_date")  # type: ignore[arg-type]
    assert screen(protocol, candidate, date(2024, 3, 15)).verdict.value == "eligible"
    refused(lambda: dlt_window_complete(date(2021, 6, 1), date(2021, 6, 29), -1), "window_days")
    refused(lambda: dlt_window_complete(date(2021, 6, 1), "2021-06-29", 28), "as_of")  # type: ignore[arg-type]


def test_a_gap_where_none_is_taken_means_not_recorded() -> None:
    """A DataFrame row holds NaN where a value was not recorded: no oxygen flow, ICE not assessable."""
    assert grade_crs(**{**CRS, "oxygen_l_min": NAN}).grade == grade_crs(**CRS).grade
    unarousable = grade_icans(consciousness="unarousable", ice_total=NAN)
    assert (unarousable.grade, unarousable.ice_score) == (4, None)
    refused(lambda: grade_icans(consciousness="alert", ice_total=NAN), "ice_total")  # needed when arousable
